"""Where the rows to score come from: the plug-in point of candidate indexes.

A :class:`CandidateSource` follows the gallery's records (``add``/``remove`` of rows), names the
rows worth scoring natively for a probe finger, and scores them. :class:`Exhaustive` names every
row at the requested positions (the reference every index is measured against) and scores them
with search forms cached on the templates; the FAISS shortlist of ``faiss_index.py`` (the only
importer of faiss) implements the same protocol.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any, Protocol

import numpy as np

from matcher.index.records import Records
from matcher.matching import Matcher
from matcher.template import FingerPosition, Template

__all__ = ["CandidateSource", "Exhaustive"]


class CandidateSource(Protocol):
    """What a gallery asks of a candidate index."""

    #: Stored in the gallery file's header; ``"exhaustive"`` needs no stored structure.
    mode: str

    def add(self, rows: Sequence[int], templates: Sequence[Template]) -> None:
        """Rows just stored (called under the gallery's lock)."""

    def remove(self, rows: Sequence[int]) -> None:
        """Rows just dropped (called under the gallery's lock)."""

    def candidates(self, probe: Template, positions: Sequence[FingerPosition] | None, *, deep: bool = False,
                   scored: Collection[int] = ()) -> tuple[list[int], list[Template]]:
        """Rows (and their templates) to score for ``probe``, at ``positions`` (None: any);
        ``deep``: those of the second pass, less the rows in ``scored`` (the first pass's)."""
        ...

    def second_pass_below(self) -> float | None:
        """The best first-pass score under which a probe finger gets a second, deeper pass of
        :meth:`candidates`; None: no second pass."""
        ...

    def score(self, matcher: Matcher, templates: list[Template], threads: int) -> np.ndarray:
        """Scores of the prepared probe against the candidates (called outside the gallery's lock)."""
        ...

    def nbytes(self) -> int:
        """Bytes held by the structure itself (0 when there is none), in RAM or mapped."""
        ...

    def mapped_nbytes(self) -> int:
        """Bytes of the loaded gallery file the structure views instead of RAM (0 when none)."""
        ...

    def retrain(self) -> None:
        """Rebuild the structure for the current size (a maintenance call; may do nothing)."""

    def stored(self) -> tuple[dict[str, Any] | None, np.ndarray | None]:
        """``(header, serialisation as uint8)`` kept in the gallery file; ``(None, None)`` when nothing
        is stored."""
        ...


class Exhaustive:
    """Every stored finger at the requested positions is a candidate."""

    mode = "exhaustive"

    def __init__(self, records: Records) -> None:
        self._records = records

    def add(self, rows: Sequence[int], templates: Sequence[Template]) -> None:
        pass

    def remove(self, rows: Sequence[int]) -> None:
        pass

    def candidates(self, probe: Template, positions: Sequence[FingerPosition] | None, *, deep: bool = False,
                   scored: Collection[int] = ()) -> tuple[list[int], list[Template]]:
        return self._records.rows_at(positions)   # no second pass (second_pass_below is None)

    def second_pass_below(self) -> float | None:
        return None  # every finger is scored in the first pass

    def score(self, matcher: Matcher, templates: list[Template], threads: int) -> np.ndarray:
        return matcher.score_many(templates, threads=threads)

    def nbytes(self) -> int:
        return 0

    def mapped_nbytes(self) -> int:
        return 0

    def retrain(self) -> None:
        pass

    def stored(self) -> tuple[dict[str, Any] | None, np.ndarray | None]:
        return None, None

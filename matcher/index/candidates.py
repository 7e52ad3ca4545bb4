"""Where the rows to score come from: the plug-in point of candidate indexes.

A :class:`CandidateSource` follows the gallery's records (``add``/``remove`` of rows) and, for a
probe finger, names the rows worth scoring natively. :class:`Exhaustive` names every row at the
requested positions: the reference every index is measured against. A FAISS shortlist (issue 6,
``faiss_index.py``, the only importer of faiss) implements the same protocol.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from matcher.index.records import Records
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

    def candidates(self, probe: Template, positions: Sequence[FingerPosition] | None
                   ) -> tuple[list[int], list[Template]]:
        """Rows (and their templates) to score for ``probe``, at ``positions`` (None: any)."""
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

    def candidates(self, probe: Template, positions: Sequence[FingerPosition] | None
                   ) -> tuple[list[int], list[Template]]:
        return self._records.rows_at(positions)

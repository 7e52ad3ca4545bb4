"""Stand-ins for extraction and the matcher, so the benchmark commands run in milliseconds.

:func:`fake_extract_one` replaces ``benchmarks._common._extract_one``: an empty file named
``<finger>_<impression>.png`` becomes a template whose ``width`` encodes the finger (``100 +
finger``) and whose size is ``impression + 2`` minutiae; a file holding ``b"broken"`` fails.
:class:`FakeMatcher` scores 0.9 for templates of the same width (same finger), else 0.1.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from matcher.template import Template


def fake_template(finger: int, minutiae: int) -> Template:
    n = np.arange(minutiae)
    return Template(x=10 + 7 * n, y=20 + 5 * n, angle=0.3 * n, kind=np.ones(minutiae, np.uint8),
                    quality=np.full(minutiae, 80, np.uint8), width=100 + finger, height=120)


def fake_extract_one(path: Path, dpi: int | None) -> tuple[Template | None, float, str]:
    if path.read_bytes() == b"broken":
        return None, 0.0, "broken image"
    finger, impression = path.stem.rsplit("_", 1)
    return fake_template(int(finger), int(impression) + 2), 2.5, ""


class FakeMatcher:
    """Same width (finger) 0.9, else 0.1; records every ``score_many`` call."""

    ALGORITHM: ClassVar[str] = "fake/1"
    calls: ClassVar[list[tuple[Template, list[Template], int | None]]] = []

    def __init__(self, probe: Template) -> None:
        self.probe = probe

    def score(self, candidate: Template) -> float:
        return 0.9 if candidate.width == self.probe.width else 0.1

    def score_many(self, candidates: Sequence[Template], *, threads: int | None = None) -> np.ndarray:
        FakeMatcher.calls.append((self.probe, list(candidates), threads))
        return np.array([self.score(c) for c in candidates], dtype=np.float32)


def fake_set(folder: Path, fingers: int, impressions: int, broken: Sequence[str] = ()) -> Path:
    """Empty image files ``1_1.png`` ... named the FVC way; the names in ``broken`` hold ``b"broken"``."""
    folder.mkdir(parents=True)
    for finger in range(1, fingers + 1):
        for impression in range(1, impressions + 1):
            name = f"{finger}_{impression}"
            (folder / f"{name}.png").write_bytes(b"broken" if name in broken else b"")
    return folder


def use_fakes(monkeypatch: pytest.MonkeyPatch, *modules: object) -> None:
    """Fake extraction everywhere and :class:`FakeMatcher` in each module's ``Matcher``."""
    monkeypatch.setattr("benchmarks._common._extract_one", fake_extract_one)
    monkeypatch.setattr(FakeMatcher, "calls", [])
    for module in modules:
        monkeypatch.setattr(module, "Matcher", FakeMatcher)

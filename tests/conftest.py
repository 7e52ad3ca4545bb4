"""Shared fixtures: where the FVC2002 sets are (``MATCHER_DATA``, default ../shared/datasets)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def data_root() -> Path:
    return Path(os.environ.get("MATCHER_DATA", REPO.parent / "shared" / "datasets"))


@pytest.fixture(scope="session")
def fvc2002() -> Path:
    """The folder holding db1_b..db4_b; the test is skipped (with the reason) when absent."""
    root = data_root() / "fvc2002"
    if not (root / "db1_b" / "101_1.tif").is_file():
        pytest.skip(f"FVC2002 sets not found under {root} (set MATCHER_DATA)")
    return root

"""Real templates for the matching tests, extracted once per session from FVC2002 db1_b."""

from __future__ import annotations

from pathlib import Path

import pytest

from matcher import extract
from matcher.template import Template

FINGERS = (101, 102, 103, 104)
IMPRESSIONS = (1, 2, 3)


@pytest.fixture(scope="session")
def db1_templates(fvc2002: Path) -> dict[tuple[int, int], Template]:
    """``{(finger, impression): template}`` for fingers 101-104, impressions 1-3 of db1_b."""
    return {(finger, impression): extract(fvc2002 / "db1_b" / f"{finger}_{impression}.tif")
            for finger in FINGERS for impression in IMPRESSIONS}

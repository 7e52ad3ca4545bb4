"""Synthetic templates for the gallery tests: impression 0 enrolled, impression 1 as probe."""

from __future__ import annotations

import pytest

from datasets.synthetic.templates import impression
from matcher.template import Template

SEED = 6
FINGERS = 200


@pytest.fixture(scope="session")
def enrolled() -> list[Template]:
    """Impression 0 of fingers 0..199."""
    return [impression(SEED, finger, 0) for finger in range(FINGERS)]


@pytest.fixture(scope="session")
def probes() -> list[Template]:
    """Impression 1 of fingers 0..199 (the mates of :func:`enrolled`)."""
    return [impression(SEED, finger, 1) for finger in range(FINGERS)]

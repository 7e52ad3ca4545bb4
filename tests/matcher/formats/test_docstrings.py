"""The examples in the formats' docstrings run and give what they show."""

from __future__ import annotations

import doctest

import pytest

from matcher import formats
from matcher.formats import _binary, _fmr, ansi378, iso19794_2, native, xyt


@pytest.mark.parametrize("module", [formats, native, iso19794_2, ansi378, xyt, _fmr, _binary],
                         ids=lambda module: module.__name__)
def test_docstring_examples(module) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0

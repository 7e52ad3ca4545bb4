"""datasets.manifest: CSV manifests, relative paths, dpi column, typed errors naming the line."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest

from datasets import DatasetError, Sample, iter_csv
from matcher.errors import MatcherError


def manifest(tmp_path: Path, text: str, images: tuple[str, ...] = ("a/1.png", "a/2.png", "b.png")) -> Path:
    for name in images:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    path = tmp_path / "set.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_rows_in_file_order_with_dpi_and_extra_columns(tmp_path: Path) -> None:
    absolute = tmp_path / "b.png"
    path = manifest(tmp_path, "\ufeffImpression, Path ,subject,finger,DPI,sensor\n"
                              "2,a/2.png,ann,RI,569,optical\n\n"
                              f"1,{absolute},bob,LI,,capacitive\n"
                              '1,"a/1.png",ann,RI,500,\n')
    samples = list(iter_csv(path))
    assert samples == [
        Sample("ann", "RI", 2, tmp_path / "a" / "2.png", 569),
        Sample("bob", "LI", 1, absolute, None),
        Sample("ann", "RI", 1, tmp_path / "a" / "1.png", 500)]
    assert {s.dpi for s in iter_csv(path, dpi=1000)} == {1000}


def test_dpi_column_is_optional(tmp_path: Path) -> None:
    path = manifest(tmp_path, "path,subject,finger,impression\nb.png,7,x,0\n")
    assert [(s.subject, s.impression, s.dpi) for s in iter_csv(path)] == [("7", 0, None)]


@pytest.mark.parametrize("text, message", [
    ("", r"set\.csv: empty, expected a header"),
    ("\n\n", "empty, expected a header"),
    ("b.png,1,x,1\n", r"set\.csv:1: the header must name .* missing path, subject, finger, impression"),
    ("path,subject,finger\nb.png,1,x\n", "missing impression"),
    ("path,subject,finger,impression,path\n", "column 'path' appears twice"),
    ("path,subject,finger,impression\nb.png,1,x\n", r"set\.csv:2: expected 4 cells .* got 3"),
    ("path,subject,finger,impression\nb.png,1,x,1,5\n", "set.csv:2: expected 4 cells"),
    ("path,subject,finger,impression\n\nb.png,1,x,one\n", r"set\.csv:3: impression must be an integer >= 0, got 'one'"),
    ("path,subject,finger,impression\nb.png,1,x,-1\n", "impression must be an integer >= 0, got '-1'"),
    ("path,subject,finger,impression,dpi\nb.png,1,x,1,0\n", r"set\.csv:2: dpi must be an integer >= 1, got '0'"),
    ("path,subject,finger,impression,dpi\nb.png,1,x,1,5.5\n", "dpi must be an integer"),
    ("path,subject,finger,impression\nb.png, ,x,1\n", r"set\.csv:2: empty subject"),
    ("path,subject,finger,impression\n,1,x,1\n", "set.csv:2: empty path"),
    ("path,subject,finger,impression\nb.png,1,,1\n", "empty finger"),
    ("path,subject,finger,impression\nmissing.png,1,x,1\n", r"set\.csv:2: no such image file .*missing\.png"),
    ("path,subject,finger,impression\na,1,x,1\n", "no such image file"),  # a folder
    ("path,subject,finger,impression\nb.png,1,x,1\na/1.png,1,x,1\n",
     r"set\.csv:3: subject '1', finger 'x', impression 1 already listed on line 2"),
])
def test_malformed_manifests_name_the_line(tmp_path: Path, text: str, message: str) -> None:
    path = manifest(tmp_path, text)
    with pytest.raises(DatasetError, match=message) as info:
        list(iter_csv(path))
    assert isinstance(info.value, MatcherError) and isinstance(info.value, ValueError)


def test_unreadable_manifests(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="cannot read the manifest .*nope.csv"):
        list(iter_csv(tmp_path / "nope.csv"))
    (tmp_path / "latin.csv").write_bytes(b"path,subject,finger,impression\n\xe9.png,1,x,1\n")
    with pytest.raises(DatasetError, match="cannot read"):
        list(iter_csv(tmp_path / "latin.csv"))


def test_docstring_examples() -> None:
    from datasets import manifest as module
    assert doctest.testmod(module).failed == 0

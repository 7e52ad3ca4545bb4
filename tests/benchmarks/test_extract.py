"""benchmarks extract: runs on a tiny folder and reports every figure (timings are not checked)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from benchmarks.__main__ import main
from tests.matcher.test_cli import fork_pattern


def image_set(folder: Path, count: int, corrupt: int = 0) -> Path:
    folder.mkdir(parents=True)
    pattern = fork_pattern()
    for i in range(count):
        Image.fromarray(pattern[:, i * 5:]).save(folder / f"1_{i + 1}.png")
    for i in range(corrupt):
        (folder / f"2_{i + 1}.png").write_bytes(b"broken")
    return folder


def test_extract_benchmark_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = image_set(tmp_path / "tiny", 3)
    out = tmp_path / "report" / "extract.json"
    assert main(["extract", "--dataset", str(folder), "--limit", "2", "--threads", "2",
                 "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert {"dataset", "dpi", "limit", "threads", "sets", "all", "first_call", "environment"} <= report.keys()
    (row,) = report["sets"]
    assert {"name", "path", "native_dpi", "images", "failures", "minutiae", "image_quality",
            "ms_per_image", "images_per_second"} <= row.keys()
    assert row["name"] == "tiny" and row["images"] == 2 and row["failures"] == 0
    assert row["minutiae"]["min"] >= 1 and set(row["minutiae"]) == {"min", "median", "max"}
    assert set(row["image_quality"]) == {"median", "min"}
    assert row["ms_per_image"]["median"] > 0 and row["ms_per_image"]["p90"] >= row["ms_per_image"]["median"]
    assert row["images_per_second"] > 0 and report["all"]["images"] == 2
    first = report["first_call"]
    assert first["ms"] > 0 and isinstance(first["cache_works"], bool)
    printed = capsys.readouterr().out
    assert "tiny" in printed and "img/s (2 thr)" in printed and "first call in a new process:" in printed


def test_folder_of_sets_counts_failures_and_adds_all_row(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    image_set(tmp_path / "db1_b", 1, corrupt=1)
    image_set(tmp_path / "db2_b", 1)
    out = tmp_path / "r.json"
    assert main(["extract", "--dataset", str(tmp_path), "--no-throughput", "--no-cache-check",
                 "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert [s["name"] for s in report["sets"]] == ["db1_b", "db2_b"]
    assert [s["failures"] for s in report["sets"]] == [1, 0]
    assert report["all"]["images"] == 3 and report["all"]["failures"] == 1
    assert report["all"]["images_per_second"] is None and report["first_call"] is None
    captured = capsys.readouterr()
    assert "2_1.png" in captured.err
    assert [line.split()[0] for line in captured.out.splitlines()[3:]] == ["db1_b", "db2_b", "all"]


@pytest.mark.parametrize("argv", [["extract"], ["extract", "--dataset", "x", "--limit", "0"],
                                  ["extract", "--dataset", "x", "--dpi", "72"], ["nope"]])
def test_usage_errors(argv: list[str]) -> None:
    assert main(argv) == 2


def test_missing_or_empty_dataset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["extract", "--dataset", str(tmp_path / "missing")]) == 2
    assert main(["extract", "--dataset", str(tmp_path)]) == 2
    assert "no images" in capsys.readouterr().err

"""benchmarks verify --layout: SOCOFing, CSV manifests and synthetic sets, with a fake matcher."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from benchmarks import verify
from benchmarks.__main__ import main
from matcher.template import Template
from tests.benchmarks._fakes import fake_template, use_fakes

#: dpi each fake extraction was asked for, by ``folder/file`` name.
DPI_SEEN: dict[str, int | None] = {}


def fake_extract_one(path: Path, dpi: int | None) -> tuple[Template | None, float, str]:
    """The file holds its finger's number: same number, same width, so FakeMatcher scores 0.9."""
    DPI_SEEN[f"{path.parent.name}/{path.name}"] = dpi
    return fake_template(int(path.read_text()), 3), 2.5, ""


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fakes(monkeypatch, verify)
    monkeypatch.setattr("benchmarks._common._extract_one", fake_extract_one)
    DPI_SEEN.clear()


def write(path: Path, finger: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(str(finger))


def run_verify(tmp_path: Path, dataset: Path, *options: str) -> dict:  # type: ignore[type-arg]
    out = tmp_path / "out"
    assert main(["verify", "--dataset", str(dataset), "--threads", "2", *options, "--out", str(out)]) == 0
    return json.loads((out / "report.json").read_text())


def test_socofing_groups_by_subject_and_finger(tmp_path: Path, fakes: None) -> None:
    root = tmp_path / "SOCOFing"
    for number, (subject, finger) in enumerate([(s, f) for s in (1, 2, 3) for f in ("Left_index", "Right_thumb")]):
        stem = f"{subject}__M_{finger}_finger"
        write(root / "Real" / f"{stem}.BMP", number)
        write(root / "Altered" / "Altered-Easy" / f"{stem}_CR.BMP", number)
        write(root / "Altered" / "Altered-Hard" / f"{stem}_Obl.BMP", number)
    report = run_verify(tmp_path, root)
    assert (report["images"], report["fingers"], report["genuine"], report["impostor"]) == (18, 6, 18, 135)
    assert report["eer"] == 0.0 and report["name"] == "SOCOFing"
    assert set(DPI_SEEN.values()) == {500}
    DPI_SEEN.clear()
    report = run_verify(tmp_path, root, "--layout", "socofing", "--limit-fingers", "2", "--dpi", "1000")
    assert (report["images"], report["genuine"], report["impostor"]) == (6, 6, 9)
    assert set(DPI_SEEN.values()) == {1000}


def test_csv_manifest_in_any_order(tmp_path: Path, fakes: None) -> None:
    rows = [("p1/ri_2.png", "p1", "RI", 2, 0, "569"), ("p2/ri_1.png", "p2", "RI", 1, 1, ""),
            ("p1/ri_1.png", "p1", "RI", 1, 0, "569"), ("p2/ri_2.png", "p2", "RI", 2, 1, ""),
            ("p1/li_1.png", "p1", "LI", 1, 2, "")]
    lines = ["path,subject,finger,impression,dpi"]
    for path, subject, finger, impression, number, dpi in rows:
        write(tmp_path / "data" / path, number)
        lines.append(f"{path},{subject},{finger},{impression},{dpi}")
    (tmp_path / "data" / "set.csv").write_text("\n".join(lines) + "\n")
    report = run_verify(tmp_path, tmp_path / "data" / "set.csv", "--impostors", "fvc")
    assert (report["images"], report["fingers"], report["genuine"], report["impostor"]) == (5, 3, 2, 3)
    assert report["eer"] == 0.0
    assert DPI_SEEN == {"p1/ri_1.png": 569, "p1/ri_2.png": 569, "p2/ri_1.png": None, "p2/ri_2.png": None,
                        "p1/li_1.png": None}
    saved = np.load(tmp_path / "out" / "scores.npz")
    assert saved["genuine_pairs"].tolist() == [["ri_1.png", "ri_2.png"]] * 2  # each subject's RI, grouped


def test_synthetic_sets_use_their_dpi(tmp_path: Path, fakes: None) -> None:
    for name in ("s1", "s2"):
        for finger in (1, 2):
            for impression in (1, 2):
                write(tmp_path / "synth" / name / f"{finger}_{impression}.png", finger)
        (tmp_path / "synth" / name / "synthetic.json").write_text(json.dumps({"dpi": 500}))
    report = run_verify(tmp_path, tmp_path / "synth")
    assert [(s["name"], s["images"], s["genuine"], s["impostor"]) for s in report["sets"]] == [
        ("s1", 4, 2, 4), ("s2", 4, 2, 4)]
    assert set(DPI_SEEN.values()) == {500}


def test_layout_errors(tmp_path: Path, fakes: None, capsys: pytest.CaptureFixture[str]) -> None:
    out = str(tmp_path / "out")
    for finger in (1, 2):
        write(tmp_path / "db1" / f"{finger}_1.png", finger)
    assert main(["verify", "--dataset", str(tmp_path / "db1"), "--layout", "synthetic", "--out", out]) == 2
    assert "synthetic.json" in capsys.readouterr().err
    assert main(["verify", "--dataset", str(tmp_path / "list.csv"), "--out", out]) == 2
    assert "cannot read the manifest" in capsys.readouterr().err
    assert main(["verify", "--dataset", str(tmp_path / "db1"), "--layout", "socofing", "--out", out]) == 2
    assert "a set needs two fingers" in capsys.readouterr().err  # no SOCOFing names: no samples
    assert main(["verify", "--dataset", str(tmp_path / "nope"), "--layout", "socofing", "--out", out]) == 2
    assert "not a directory" in capsys.readouterr().err
    write(tmp_path / "odd" / "scan.png", 1)
    assert main(["verify", "--dataset", str(tmp_path / "odd"), "--out", out]) == 2
    assert "cannot tell the layout" in capsys.readouterr().err
    assert main(["verify", "--dataset", str(tmp_path / "db1"), "--layout", "nist", "--out", out]) == 2

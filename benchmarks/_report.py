"""Files and tables of the ``verify`` benchmark: report.json, report.md, scores.npz and the figures."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

import matcher
from benchmarks._common import format_rows
from benchmarks._plots import plot_det, plot_scores

if TYPE_CHECKING:
    from benchmarks.verify import SetResult

__all__ = ["write_set", "write_summary", "format_table", "table_rows", "peer_rows", "format_peer_table",
           "BASMA"]

#: The label of Basma's rows and curves next to the peers.
BASMA = "basma"

_HEADER = ("set", "images", "FTE", "genuine", "impostor", "EER", "EER interval", "FMR100", "FMR1000",
           "ZeroFMR", "extract ms", "compare us")
_RATES = ("eer", "fmr100", "fmr1000", "zerofmr")
_PEER_HEADER = ("set", "system", "FTE", "EER", "EER interval", "FMR100", "FMR1000", "ZeroFMR", "extract ms",
                "compare us", "comparisons/s")
_SPEEDS = ("extract_ms_median", "compare_us_median", "compare_per_s")



def sample_label(path: Path, root: Path) -> str:
    """``path`` relative to the set's folder (SOCOFing's altered images share file names across
    difficulty folders), or its name when it lies elsewhere.

    Examples
    --------
    >>> sample_label(Path("/d/Altered/Altered-Hard/1__M_Left_index_finger_CR.BMP"), Path("/d"))
    'Altered/Altered-Hard/1__M_Left_index_finger_CR.BMP'
    >>> sample_label(Path("/x/101_1.tif"), Path("/d"))
    '101_1.tif'
    """
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.name

def _number(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def table_rows(summaries: Sequence[dict[str, Any]]) -> list[list[str]]:
    """One row per set (rates in percent), plus a ``mean`` row of the rates when there are several."""
    rows = [[s["name"], str(s["images"]), str(s["failures_to_extract"]), str(s["genuine"]),
             str(s["impostor"]), f"{s['eer']:.2%}", f"{s['eer_low']:.2%}-{s['eer_high']:.2%}",
             f"{s['fmr100']:.2%}", f"{s['fmr1000']:.2%}", f"{s['zerofmr']:.2%}",
             _number(s["extract_ms_median"], ".1f"), _number(s["compare_us_median"], ".1f")]
            for s in summaries]
    if len(summaries) > 1:
        means = {key: float(np.mean([s[key] for s in summaries])) for key in _RATES}
        rows.append(["mean", "", "", "", "", f"{means['eer']:.2%}", "", f"{means['fmr100']:.2%}",
                     f"{means['fmr1000']:.2%}", f"{means['zerofmr']:.2%}", "", ""])
    return rows


def _systems(summary: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """``(label, figures)`` of Basma then each peer, from one set's summary."""
    return [(BASMA, summary)] + list(summary.get("peers", {}).items())


def _mean(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return float(np.mean(known)) if known else None


def peer_rows(summaries: Sequence[dict[str, Any]]) -> list[list[str]]:
    """Side-by-side rows: per set, Basma then each peer; then per system the ``mean`` over sets.

    Rates are in percent; extract ms and compare us are medians, comparisons/s the rate of
    the set's whole scoring pass; a mean row averages them over the sets.
    """
    def row(name: str, system: str, f: dict[str, Any]) -> list[str]:
        interval = f"{f['eer_low']:.2%}-{f['eer_high']:.2%}" if "eer_low" in f else ""
        return [name, system, str(f.get("failures_to_extract", "")), f"{f['eer']:.2%}", interval,
                f"{f['fmr100']:.2%}", f"{f['fmr1000']:.2%}", f"{f['zerofmr']:.2%}",
                _number(f["extract_ms_median"], ".1f"), _number(f["compare_us_median"], ".1f"),
                _number(f["compare_per_s"], ",.0f")]
    rows = [row(s["name"], system, figures) for s in summaries for system, figures in _systems(s)]
    if len(summaries) > 1:
        rows += [row("mean", system, figures) for system, figures in _system_means(summaries).items()]
    return rows


def _system_means(summaries: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per system (Basma, then each peer of the first set), the mean of each rate and speed over sets."""
    means = {}
    for system, _ in _systems(summaries[0]):
        figures = [dict(_systems(s)).get(system) for s in summaries]
        present = [f for f in figures if f is not None]
        means[system] = {
            **{key: float(np.mean([f[key] for f in present])) for key in _RATES},
            **{key: _mean([f.get(key) for f in present]) for key in _SPEEDS},
            "failures_to_extract": int(sum(f["failures_to_extract"] for f in present)),
        }
    return means


def format_peer_table(summaries: Sequence[dict[str, Any]]) -> str:
    """The plain-text side-by-side table (:func:`peer_rows`)."""
    return format_rows(_PEER_HEADER, peer_rows(summaries))


def format_table(summaries: Sequence[dict[str, Any]]) -> str:
    """The plain-text table printed by ``python -m benchmarks verify``."""
    return format_rows(_HEADER, table_rows(summaries))


def _markdown(rows: list[list[str]], header: Sequence[str] = _HEADER) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _write_json(path: Path, report: dict[str, Any]) -> None:
    path.write_text(json.dumps(report, indent=2) + "\n")


def _side_by_side(summaries: Sequence[dict[str, Any]]) -> str:
    """The report.md section comparing Basma with the peers ("" without peers)."""
    peers = summaries[0].get("peers", {})
    if not peers:
        return ""
    versions = ", ".join(f"`{name}` ({figures['version']})" for name, figures in peers.items())
    threads = summaries[0].get("compare_threads", 1)
    return (f"## Side by side\n\nThe same pairs scored by each system: {versions}. Peers extract 500-dpi "
            f"8-bit pixels decoded by Basma and compare on one thread; Basma's comparisons/s uses "
            f"{threads} threads (its one-thread rate is about 10^6 / compare us). A failure to extract "
            f"scores the system's minimum.\n\n{_markdown(peer_rows(summaries), _PEER_HEADER)}\n\n")


def _curves(result: SetResult, prefix: str = "") -> list[tuple[str, Any, Any]]:
    """DET curves of one set: Basma, then each peer."""
    return [(f"{prefix}{BASMA}", result.genuine, result.impostor)] + \
        [(f"{prefix}{peer.name}", peer.genuine, peer.impostor) for peer in result.peers]


def write_set(result: SetResult, summary: dict[str, Any], outdir: Path) -> None:
    """Write one set's report.json, report.md, scores.npz, det.png and scores.png into ``outdir``."""
    outdir.mkdir(parents=True, exist_ok=True)
    _write_json(outdir / "report.json", summary)
    names = np.array([sample_label(s.path, result.path) for s in result.samples], dtype=str)
    peer_scores = {f"{peer.name}_{kind}": getattr(peer, kind) for peer in result.peers
                   for kind in ("genuine", "impostor")}
    np.savez_compressed(outdir / "scores.npz", genuine=result.genuine, impostor=result.impostor,
                        genuine_pairs=names[result.genuine_pairs].reshape(-1, 2),
                        impostor_pairs=names[result.impostor_pairs].reshape(-1, 2),
                        algorithm=np.array(summary["algorithm"]), **peer_scores)
    plot_det(_curves(result) if result.peers else [(result.name, result.genuine, result.impostor)],
             outdir / "det.png")
    plot_scores(result.genuine, result.impostor, outdir / "scores.png",
                title=f"{result.name}: {summary['algorithm']}", threshold=summary["threshold_at_eer"])
    failed = ", ".join(summary["failed_images"]) or "none"
    (outdir / "report.md").write_text(
        f"# Verification: {result.name}\n\n"
        f"`{summary['dataset']}`, {summary['fingers']} fingers, matcher `{summary['algorithm']}` "
        f"(basma {matcher.__version__}), {date.today().isoformat()}. Impostor protocol "
        f"`{summary['impostor_protocol']}`; failures to extract ({failed}) score 0. Threshold at "
        f"the EER: {summary['threshold_at_eer']:.4f}.\n\n"
        f"{_markdown(table_rows([summary]))}\n\n"
        "FTE: failures to extract; FMR100 / FMR1000 / ZeroFMR: lowest FNMR with FMR <= 1 %, "
        "<= 0.1 %, = 0; extract ms and compare us: medians. Scores of every pair: `scores.npz`.\n\n"
        f"{_side_by_side([summary])}![DET curve](det.png)\n\n![score distributions](scores.png)\n")


def write_summary(results: Sequence[SetResult], summaries: Sequence[dict[str, Any]], outdir: Path, *,
                  dataset: Path) -> None:
    """Write the several-set report.json (``sets``, ``mean_eer``...), report.md and a combined det.png."""
    report: dict[str, Any] = {
        "dataset": str(dataset), "algorithm": summaries[0]["algorithm"], "sets": list(summaries),
        **{f"mean_{key}": float(np.mean([s[key] for s in summaries])) for key in _RATES},
        **{key: int(sum(s[key] for s in summaries))
           for key in ("images", "genuine", "impostor", "failures_to_extract")},
    }
    means = {system: {key if key == "failures_to_extract" else f"mean_{key}": value for key, value in figures.items()}
             for system, figures in _system_means(summaries).items()}
    report.update({key: means[BASMA][key] for key in (f"mean_{k}" for k in _SPEEDS)})
    report["peers"] = {system: {"version": summaries[0].get("peers", {})[system]["version"], **figures}
                       for system, figures in means.items() if system != BASMA}
    outdir.mkdir(parents=True, exist_ok=True)
    _write_json(outdir / "report.json", report)
    if any(r.peers for r in results):
        curves = [curve for r in results for curve in _curves(r, prefix=f"{r.name} ")]
        systems = [system for r in results for system in [BASMA] + [peer.name for peer in r.peers]]
        plot_det(curves, outdir / "det.png", groups=systems)
    else:
        plot_det([(r.name, r.genuine, r.impostor) for r in results], outdir / "det.png")
    links = "\n".join(f"- [{s['name']}]({s['name']}/report.md)" for s in summaries)
    (outdir / "report.md").write_text(
        f"# Verification: {dataset}\n\nMatcher `{report['algorithm']}` (basma {matcher.__version__}), "
        f"{date.today().isoformat()}; each set scored separately (FVC protocol). Mean EER over "
        f"{len(summaries)} sets: {report['mean_eer']:.2%}.\n\n"
        f"{_markdown(table_rows(summaries))}\n\n{_side_by_side(summaries)}{links}\n\n"
        "![DET curves](det.png)\n")

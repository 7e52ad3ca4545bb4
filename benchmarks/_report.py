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

__all__ = ["write_set", "write_summary", "format_table", "table_rows"]

_HEADER = ("set", "images", "FTE", "genuine", "impostor", "EER", "EER interval", "FMR100", "FMR1000",
           "ZeroFMR", "extract ms", "compare us")
_RATES = ("eer", "fmr100", "fmr1000", "zerofmr")


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


def format_table(summaries: Sequence[dict[str, Any]]) -> str:
    """The plain-text table printed by ``python -m benchmarks verify``."""
    return format_rows(_HEADER, table_rows(summaries))


def _markdown(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(_HEADER) + " |", "|" + "---|" * len(_HEADER)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _write_json(path: Path, report: dict[str, Any]) -> None:
    path.write_text(json.dumps(report, indent=2) + "\n")


def write_set(result: SetResult, summary: dict[str, Any], outdir: Path) -> None:
    """Write one set's report.json, report.md, scores.npz, det.png and scores.png into ``outdir``."""
    outdir.mkdir(parents=True, exist_ok=True)
    _write_json(outdir / "report.json", summary)
    names = np.array([s.path.name for s in result.samples], dtype=str)
    np.savez_compressed(outdir / "scores.npz", genuine=result.genuine, impostor=result.impostor,
                        genuine_pairs=names[result.genuine_pairs].reshape(-1, 2),
                        impostor_pairs=names[result.impostor_pairs].reshape(-1, 2),
                        algorithm=np.array(summary["algorithm"]))
    plot_det([(result.name, result.genuine, result.impostor)], outdir / "det.png")
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
        "![DET curve](det.png)\n\n![score distributions](scores.png)\n")


def write_summary(results: Sequence[SetResult], summaries: Sequence[dict[str, Any]], outdir: Path, *,
                  dataset: Path) -> None:
    """Write the several-set report.json (``sets``, ``mean_eer``...), report.md and a combined det.png."""
    report: dict[str, Any] = {
        "dataset": str(dataset), "algorithm": summaries[0]["algorithm"], "sets": list(summaries),
        **{f"mean_{key}": float(np.mean([s[key] for s in summaries])) for key in _RATES},
        **{key: int(sum(s[key] for s in summaries))
           for key in ("images", "genuine", "impostor", "failures_to_extract")},
    }
    outdir.mkdir(parents=True, exist_ok=True)
    _write_json(outdir / "report.json", report)
    plot_det([(r.name, r.genuine, r.impostor) for r in results], outdir / "det.png")
    links = "\n".join(f"- [{s['name']}]({s['name']}/report.md)" for s in summaries)
    (outdir / "report.md").write_text(
        f"# Verification: {dataset}\n\nMatcher `{report['algorithm']}` (basma {matcher.__version__}), "
        f"{date.today().isoformat()}; each set scored separately (FVC protocol). Mean EER over "
        f"{len(summaries)} sets: {report['mean_eer']:.2%}.\n\n"
        f"{_markdown(table_rows(summaries))}\n\n{links}\n\n![DET curves](det.png)\n")

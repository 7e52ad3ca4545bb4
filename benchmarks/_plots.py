"""The verification report's figures: DET curves and score histograms (matplotlib, Agg canvas).

Figures are built on :class:`matplotlib.figure.Figure` with an explicit Agg canvas, never
through ``pyplot``, so no GUI backend and no global figure state are involved.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from benchmarks.metrics import det_curve, eer

__all__ = ["plot_det", "plot_scores", "plot_scale"]


def _save(figure: Figure, path: Path) -> None:
    FigureCanvasAgg(figure)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)


def plot_det(curves: Sequence[tuple[str, npt.ArrayLike, npt.ArrayLike]], path: Path, *,
             groups: Sequence[str] | None = None) -> None:
    """Draw the DET curve (FNMR against FMR, both log scale) of each ``(label, genuine, impostor)``.

    Points where either rate is 0 cannot be drawn on log axes and are left out; the EER is
    marked on each curve and the FMR100 / FMR1000 operating points by dotted lines. With
    ``groups`` (one name per curve, such as the system), curves of a group share a colour and
    the n-th curve of each group its line style (sets of several systems).
    """
    figure = Figure(figsize=(6, 5) if groups is None else (7, 6))
    axes = figure.add_subplot()
    floor_fmr = floor_fnmr = 1e-3  # axes reach at least down to 0.1 %, and to half of one error
    names = list(dict.fromkeys(groups)) if groups is not None else []
    seen: dict[str, int] = {}
    for k, (label, genuine, impostor) in enumerate(curves):
        style: dict[str, str] = {}
        if groups is not None:
            rank = seen[groups[k]] = seen.get(groups[k], -1) + 1
            style = {"color": f"C{names.index(groups[k]) % 10}",
                     "linestyle": ("-", "--", "-.", ":")[rank % 4]}
        fmr, fnmr, _ = det_curve(genuine, impostor)
        floor_fmr = min(floor_fmr, 0.5 / np.size(impostor))
        floor_fnmr = min(floor_fnmr, 0.5 / np.size(genuine))
        shown = (fmr > 0) & (fnmr > 0)
        equal = eer(genuine, impostor)
        line, = axes.plot(fmr[shown], fnmr[shown], drawstyle="steps-post",
                          label=f"{label} (EER {equal.eer:.2%})", **style)
        if equal.eer > 0:
            axes.plot([equal.eer], [equal.eer], "o", color=line.get_color())
    for rate in (1e-2, 1e-3):
        axes.axvline(rate, color="grey", linestyle=":", linewidth=0.8)
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlim(floor_fmr, 1.0)
    axes.set_ylim(floor_fnmr, 1.0)
    axes.set_xlabel("false match rate (FMR)")
    axes.set_ylabel("false non-match rate (FNMR)")
    axes.set_title("DET curve")
    axes.grid(True, which="both", alpha=0.3)
    if axes.lines:
        axes.legend(loc="upper right", fontsize="small" if groups is None else "x-small")
    _save(figure, path)


def plot_scores(genuine: npt.ArrayLike, impostor: npt.ArrayLike, path: Path, *, title: str = "",
                threshold: float | None = None) -> None:
    """Draw the genuine and impostor score histograms (densities, log count axis), and ``threshold``."""
    genuine = np.asarray(genuine, dtype=np.float64)
    impostor = np.asarray(impostor, dtype=np.float64)
    both = np.concatenate([genuine, impostor])
    low = min(float(both.min()), 0.0) if both.size else 0.0
    high = float(both.max()) if both.size else 1.0
    bins = np.linspace(low, high if high > low else low + 1.0, 101)  # 100 bins from 0 to the top score
    figure = Figure(figsize=(6, 4))
    axes = figure.add_subplot()
    for scores, label, color in ((impostor, "impostor", "tab:red"), (genuine, "genuine", "tab:green")):
        if scores.size:
            axes.hist(scores, bins=bins, histtype="stepfilled", alpha=0.45, color=color,
                      label=f"{label} ({scores.size})")
    if threshold is not None:
        axes.axvline(threshold, color="black", linestyle="--", linewidth=0.8, label="threshold at EER")
    axes.set_yscale("log")
    axes.set_xlabel("score")
    axes.set_ylabel("comparisons")
    axes.set_title(title or "score distributions")
    axes.legend(fontsize="small")
    _save(figure, path)


def plot_scale(sizes: Sequence[int], latency_ms: Sequence[tuple[str, Sequence[float | None]]],
               bytes_per_finger: Sequence[float | None], path: Path) -> None:
    """1:N scale curve: search latencies (left, log-log) and index bytes per finger (right) by gallery size."""
    figure = Figure(figsize=(9, 4))
    left, right = figure.add_subplot(1, 2, 1), figure.add_subplot(1, 2, 2)
    for label, values in latency_ms:
        points = [(n, v) for n, v in zip(sizes, values, strict=True) if v is not None]
        if points:
            left.plot(*zip(*points, strict=True), marker="o", label=label)
    left.set(xscale="log", yscale="log", xlabel="gallery fingers", ylabel="ms per probe",
             title="search latency (2 cores)")
    left.grid(True, which="both", alpha=0.3)
    left.legend()
    points = [(n, b) for n, b in zip(sizes, bytes_per_finger, strict=True) if b is not None]
    if points:
        right.plot(*zip(*points, strict=True), marker="o")
    right.axhline(2048, linestyle=":", color="grey", label="target 2 KiB")
    right.set(xscale="log", xlabel="gallery fingers", ylabel="bytes per finger", title="candidate index RAM",
              ylim=(0, 2600))
    right.grid(True, which="both", alpha=0.3)
    right.legend()
    _save(figure, path)

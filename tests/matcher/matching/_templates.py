"""Synthetic templates for the matching tests: random sets, mated copies, rigid motions, dpi."""

from __future__ import annotations

import math

import numpy as np

from matcher.template import Template

WIDTH, HEIGHT = 300, 400


def random_template(rng: np.random.Generator, n: int, layout: str = "uniform", *,
                    width: int = WIDTH, height: int = HEIGHT) -> Template:
    """``n`` minutiae placed uniformly, in one tight cluster, or on one line of the image."""
    if layout == "uniform":
        x, y = rng.integers(0, width, n), rng.integers(0, height, n)
    elif layout == "clustered":
        x = np.clip(np.round(rng.normal(width / 2, 25, n)), 0, width - 1).astype(int)
        y = np.clip(np.round(rng.normal(height / 2, 25, n)), 0, height - 1).astype(int)
    elif layout == "collinear":
        step = rng.integers(0, 120, n)
        x, y = 30 + 2 * step, 60 + step
    else:
        raise ValueError(layout)
    return Template(x=x, y=y, angle=rng.uniform(0, 2 * math.pi, n), kind=rng.integers(0, 3, n),
                    quality=rng.integers(0, 101, n), width=width, height=height)


def mated(rng: np.random.Generator, t: Template, *, jitter_px: int = 3, drop: float = 0.2,
          spurious: int = 5) -> Template:
    """Another "impression" of ``t``: positions and angles jittered, some minutiae lost, some added."""
    keep = rng.random(len(t)) >= drop
    k = int(keep.sum())
    x = np.clip(t.x[keep] + rng.integers(-jitter_px, jitter_px + 1, k), 0, t.width - 1)
    y = np.clip(t.y[keep] + rng.integers(-jitter_px, jitter_px + 1, k), 0, t.height - 1)
    angle = t.angle[keep] + rng.normal(0.0, 0.1, k)
    x = np.concatenate([x, rng.integers(0, t.width, spurious)])
    y = np.concatenate([y, rng.integers(0, t.height, spurious)])
    angle = np.concatenate([angle, rng.uniform(0, 2 * math.pi, spurious)])
    n = len(x)
    return Template(x=x, y=y, angle=angle, kind=np.ones(n, int), quality=np.full(n, 60),
                    width=t.width, height=t.height)


def rotated(t: Template, degrees: float, *, shift_px: tuple[int, int] = (60, 40), pad_px: int = 200) -> Template:
    """``t`` turned by ``degrees`` counter-clockwise *as viewed* about its image centre, then
    shifted by ``shift_px``, on a canvas grown by ``pad_px + shift_px`` so that no minutia is lost.

    In the as-viewed frame (X = x, Y = -y) the rotation is the ordinary one, and every minutia
    direction turns by the same angle (matcher/template.py).
    """
    theta = math.radians(degrees)
    cx, cy = (t.width - 1) / 2.0, (t.height - 1) / 2.0
    dx, dy = t.x - cx, t.y - cy
    x = cx + dx * math.cos(theta) + dy * math.sin(theta) + shift_px[0] + pad_px / 2
    y = cy - dx * math.sin(theta) + dy * math.cos(theta) + shift_px[1] + pad_px / 2
    return Template(x=np.round(x).astype(int), y=np.round(y).astype(int),
                    angle=t.angle.astype(np.float64) + theta, kind=t.kind, quality=t.quality,
                    width=t.width + pad_px + shift_px[0], height=t.height + pad_px + shift_px[1])


def at_1000_dpi(t: Template) -> Template:
    """The same minutiae expressed at 1000 dpi (every coordinate and the image size doubled)."""
    return Template(x=t.x.astype(int) * 2, y=t.y.astype(int) * 2, angle=t.angle, kind=t.kind,
                    quality=t.quality, width=t.width * 2, height=t.height * 2, dpi=1000)

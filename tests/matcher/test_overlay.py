"""matcher.overlay.draw_overlay: colours, directions, clipping at the border, mask outline."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest

from matcher.errors import InvalidParameterError
from matcher.image import FingerprintImage
from matcher.overlay import CIRCLE_RADIUS_PX, KIND_COLOURS, MASK_COLOUR, draw_overlay
from matcher.template import MinutiaKind, Template

GREY = 128
RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


def grey(height: int = 100, width: int = 120) -> np.ndarray:
    return np.full((height, width), GREY, np.uint8)


def template(x: list[int], y: list[int], angle: list[float], kind: list[int], quality: list[int] | None = None,
             width: int = 120, height: int = 100) -> Template:
    return Template(x=x, y=y, angle=angle, kind=kind, quality=quality or [80] * len(x),
                    width=width, height=height)


def test_colour_by_kind_at_circle_and_tick() -> None:
    up = math.pi / 2  # counter-clockwise as viewed: the tick goes towards smaller rows
    t = template(x=[20, 60, 100], y=[50, 50, 50], angle=[up] * 3,
                 kind=[MinutiaKind.ENDING, MinutiaKind.BIFURCATION, MinutiaKind.OTHER])
    rgb = draw_overlay(grey(), t)
    assert rgb.shape == (100, 120, 3) and rgb.dtype == np.uint8
    for x, colour in zip((20, 60, 100), (RED, GREEN, BLUE), strict=True):
        assert tuple(rgb[50, x + CIRCLE_RADIUS_PX]) == colour      # circle
        assert tuple(rgb[50 - 10, x]) == colour                    # tick, above
        assert tuple(rgb[50 + 10, x]) == (GREY,) * 3               # nothing below
    assert KIND_COLOURS[MinutiaKind.ENDING] == RED


def test_tick_follows_template_angle() -> None:
    t = template(x=[60], y=[50], angle=[math.pi], kind=[MinutiaKind.ENDING])  # pointing left
    rgb = draw_overlay(grey(), t)
    assert tuple(rgb[50, 60 - 12]) == RED
    assert tuple(rgb[50, 60 + 12]) == (GREY,) * 3


def test_strong_minutiae_get_a_thicker_circle() -> None:
    t = template(x=[30, 90], y=[50, 50], angle=[0.0, 0.0], kind=[1, 1], quality=[90, 20])
    rgb = draw_overlay(grey(), t)
    assert tuple(rgb[50 + CIRCLE_RADIUS_PX + 1, 30]) == RED
    assert tuple(rgb[50 + CIRCLE_RADIUS_PX + 1, 90]) == (GREY,) * 3


def test_minutiae_at_the_border_are_clipped() -> None:
    t = template(x=[0, 119, 0, 119], y=[0, 99, 99, 0],
                 angle=[math.pi * 0.75, math.pi * 1.75, math.pi * 1.25, math.pi * 0.25], kind=[1, 2, 0, 1])
    rgb = draw_overlay(grey(), t)
    assert tuple(rgb[0, 0]) == RED and tuple(rgb[99, 119]) == GREEN and tuple(rgb[99, 0]) == BLUE


def test_mask_outline_is_cyan_under_the_minutiae() -> None:
    mask = np.zeros((100, 120), bool)
    mask[20:80, 30:90] = True
    rgb = draw_overlay(grey(), template(x=[60], y=[50], angle=[0.0], kind=[1]), mask=mask)
    assert tuple(rgb[20, 50]) == MASK_COLOUR and tuple(rgb[79, 50]) == MASK_COLOUR
    assert tuple(rgb[30, 50]) == (GREY,) * 3 and tuple(rgb[10, 50]) == (GREY,) * 3
    assert tuple(rgb[50, 60]) == RED


def test_input_is_not_modified_and_empty_template_gives_grey() -> None:
    pixels = grey()
    rgb = draw_overlay(pixels, Template.empty(width=120, height=100))
    assert (rgb == GREY).all() and (pixels == GREY).all()


def test_fingerprint_image_is_resampled_to_the_template_dpi() -> None:
    image = FingerprintImage(np.full((200, 240), GREY, np.uint8), dpi=1000)
    rgb = draw_overlay(image, template(x=[60], y=[50], angle=[0.0], kind=[2]))
    assert rgb.shape == (100, 120, 3) and tuple(rgb[50, 60]) == GREEN


@pytest.mark.parametrize("image, mask, match", [
    (grey(100, 121), None, "121x100"),
    (grey().astype(np.float32), None, "uint8"),
    (np.full((100, 120, 3), GREY, np.uint8), None, "2-D"),
    (grey(), np.zeros((100, 120), np.uint8), "mask"),
    (grey(), np.zeros((99, 120), bool), "mask"),
])
def test_bad_inputs_raise(image: np.ndarray, mask: np.ndarray | None, match: str) -> None:
    with pytest.raises(InvalidParameterError, match=match):
        draw_overlay(image, template(x=[1], y=[1], angle=[0.0], kind=[1]), mask=mask)


def test_template_must_be_a_template() -> None:
    with pytest.raises(InvalidParameterError, match="Template"):
        draw_overlay(grey(), [(1, 2, 0.0)])  # type: ignore[arg-type]


def test_docstring_examples() -> None:
    from matcher import overlay
    assert doctest.testmod(overlay, optionflags=doctest.ELLIPSIS).failed == 0

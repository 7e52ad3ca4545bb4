"""Template serialisation: Basma's native format and the interchange formats.

=========  ======================================  ===================================
name       module                                  what
=========  ======================================  ===================================
native     :mod:`matcher.formats.native`           versioned, checksummed, lossless
iso        :mod:`matcher.formats.iso19794_2`       ISO/IEC 19794-2:2005 minutiae record
ansi       :mod:`matcher.formats.ansi378`          ANSI/INCITS 378-2004 minutiae record
xyt        :mod:`matcher.formats.xyt`              NIST NBIS ``mindtct``/``bozorth3`` text
=========  ======================================  ===================================

:func:`dumps` and :func:`loads` dispatch on the format name; the modules also offer the
multi-view API of the interchange records (``loads`` returning every
:class:`~matcher.template.FingerView`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from matcher.errors import InvalidParameterError, InvalidTemplateError
from matcher.formats import _fmr, ansi378, iso19794_2, native, xyt
from matcher.formats._binary import as_bytes
from matcher.template import FingerView, Template

__all__ = ["FORMATS", "detect_format", "dumps", "loads"]

#: Format names accepted by :func:`dumps`, :func:`loads` and returned by :func:`detect_format`.
FORMATS = ("native", "iso", "ansi", "xyt")
#: Keyword options of each format: (allowed, required).
_DUMPS_OPTIONS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "native": (frozenset(), frozenset()),
    "iso": (frozenset(), frozenset()),
    "ansi": (frozenset(), frozenset()),
    "xyt": (frozenset({"representation"}), frozenset()),
}
_LOADS_OPTIONS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "native": (frozenset(), frozenset()),
    "iso": (frozenset(), frozenset()),
    "ansi": (frozenset(), frozenset()),
    "xyt": (frozenset({"width", "height", "dpi", "representation"}), frozenset({"width", "height"})),
}
_XYT_TEXT = re.compile(rb"[0-9 \t\r\n+-]+")
_DIGIT = re.compile(rb"[0-9]")


def _check_options(table: dict[str, tuple[frozenset[str], frozenset[str]]], format: str,
                   options: dict[str, Any]) -> None:
    if format not in FORMATS:
        raise InvalidParameterError(f"format must be one of {FORMATS}, got {format!r}")
    allowed, required = table[format]
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise InvalidParameterError(f"format {format!r} takes no option {', '.join(unknown)}")
    missing = sorted(required - set(options))
    if missing:
        raise InvalidParameterError(f"format {format!r} needs option {', '.join(missing)}")


def dumps(template_or_views: Template | FingerView | Sequence[FingerView], format: str = "native",
          **options: Any) -> bytes:
    """Serialise a template (or, for ``"iso"``/``"ansi"``, finger views) to ``format``.

    Parameters
    ----------
    template_or_views : Template, FingerView or sequence of FingerView
        ``"native"`` and ``"xyt"`` take one Template.
    format : {"native", "iso", "ansi", "xyt"}
    **options
        ``"xyt"``: ``representation`` (``"nist"`` or ``"m1"``).

    Returns
    -------
    bytes

    Raises
    ------
    InvalidParameterError
        For an unknown format or option, or an input the format cannot hold.

    Examples
    --------
    >>> from matcher.template import Template
    >>> t = Template(x=[10], y=[20], angle=[0.0], kind=[1], quality=[90], width=64, height=64)
    >>> [detect_format(dumps(t, name)) for name in FORMATS]
    ['native', 'iso', 'ansi', 'xyt']
    """
    _check_options(_DUMPS_OPTIONS, format, options)
    if format == "iso":
        return iso19794_2.dumps(template_or_views)
    if format == "ansi":
        return ansi378.dumps(template_or_views)
    if not isinstance(template_or_views, Template):
        raise InvalidParameterError(
            f"format {format!r} stores one Template, got {type(template_or_views).__name__}")
    if format == "native":
        return native.dumps(template_or_views)
    return xyt.dumps(template_or_views, **options)


def loads(data: bytes, format: str, **options: Any) -> Template:
    """Parse ``data`` in ``format`` into one template.

    Parameters
    ----------
    data : bytes-like
    format : {"native", "iso", "ansi", "xyt"}
        See :func:`detect_format` when unknown.
    **options
        ``"xyt"``: ``width`` and ``height`` (required), ``dpi``, ``representation``.

    Returns
    -------
    Template
        For ``"iso"``/``"ansi"`` the first finger view's template (use
        :func:`matcher.formats.iso19794_2.loads` for all views).

    Raises
    ------
    InvalidParameterError
        For an unknown format or option, or a missing required option.
    InvalidTemplateError
        If ``data`` is not a valid record of ``format`` (:class:`TemplateVersionError` for a
        native template of another version), or an ISO/ANSI record holds no finger view.

    Examples
    --------
    >>> from matcher.template import Template
    >>> t = Template(x=[10], y=[20], angle=[0.0], kind=[1], quality=[90], width=64, height=64)
    >>> loads(dumps(t, "iso"), "iso") == t
    True
    """
    _check_options(_LOADS_OPTIONS, format, options)
    if format == "native":
        return native.loads(data)
    if format == "xyt":
        return xyt.loads(data, **options)
    views = iso19794_2.loads(data) if format == "iso" else ansi378.loads(data)
    if not views:
        raise InvalidTemplateError(f"{format} record holds no finger view")
    return views[0].template


def detect_format(data: bytes) -> str:
    """Name the format of ``data`` from its content.

    Native templates are recognised by their magic number; ISO and ANSI records share theirs,
    so the one whose length field equals ``len(data)`` wins; non-empty text of digits, signs
    and whitespace is ``"xyt"``. Nothing is validated beyond that: call :func:`loads`.

    Parameters
    ----------
    data : bytes-like

    Returns
    -------
    str
        One of :data:`FORMATS`.

    Raises
    ------
    InvalidTemplateError
        If the data matches no format.

    Examples
    --------
    >>> detect_format(b"BSMT\\x01\\x00")
    'native'
    >>> detect_format(b"10 44 180 90\\n")
    'xyt'
    """
    data = as_bytes(data)
    if data.startswith(native.MAGIC):
        return "native"
    if data.startswith(_fmr.MAGIC):
        if iso19794_2.declared_length(data) == len(data):
            return "iso"
        if ansi378.declared_length(data) == len(data):
            return "ansi"
        raise InvalidTemplateError(
            f"finger minutiae record of {len(data)} bytes whose length field matches neither "
            "ISO/IEC 19794-2 nor ANSI/INCITS 378")
    if _XYT_TEXT.fullmatch(data) and _DIGIT.search(data):
        return "xyt"
    raise InvalidTemplateError(f"unrecognised template format (starts {data[:8]!r})")

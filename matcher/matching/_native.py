"""The only importer of the compiled extension ``basma_native`` (built from ``native/``)."""

from __future__ import annotations

from typing import Any

from matcher.errors import NativeExtensionError

try:
    import basma_native as _ext
except ImportError as exc:  # pragma: no cover - exercised only on a broken install
    raise NativeExtensionError(
        "the native extension basma_native is not built; run `make install` "
        f"(or `pip install -e .`): {exc}") from exc

ABI_VERSION = 1
if getattr(_ext, "ABI_VERSION", None) != ABI_VERSION:  # pragma: no cover
    raise NativeExtensionError(
        f"basma_native ABI {getattr(_ext, 'ABI_VERSION', None)} does not match the library's "
        f"{ABI_VERSION}; rebuild with `make install`")


def build_info() -> dict[str, Any]:
    """How the native extension was compiled: ABI version and target (native or portable)."""
    return dict(_ext.build_info())


def bounding_box(x, y) -> tuple[int, int, int, int]:  # type: ignore[no-untyped-def]
    """Bounding box of minutiae coordinates computed natively (-1s for an empty set)."""
    return tuple(_ext.bounding_box(x, y))  # type: ignore[return-value]

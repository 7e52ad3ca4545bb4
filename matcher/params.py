"""Every tunable of the library, named with its unit, in frozen dataclasses.

The library never reads environment variables; callers pass these objects explicitly and
the defaults are what the benchmarks report. Lengths are pixels at the 500 dpi working
resolution (``_px``), angles radians (``_rad``), frequencies cycles per pixel (``_cpp``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

from matcher.errors import InvalidParameterError

__all__ = ["ExtractionParams", "IndexParams", "MatchingParams", "WORKING_DPI", "MIN_DPI", "MAX_DPI"]

#: Extraction works at this resolution; other images are resampled first.
WORKING_DPI = 500
#: Accepted image and template resolutions (dots per inch).
MIN_DPI = 250
MAX_DPI = 1000


def _check_positive(obj: object) -> None:
    for f in fields(obj):  # type: ignore[arg-type]
        value = getattr(obj, f.name)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not math.isfinite(value) or value < 0:
                raise InvalidParameterError(f"{type(obj).__name__}.{f.name} must be >= 0, got {value!r}")


@dataclass(frozen=True)
class SegmentationParams:
    """Foreground segmentation from smoothed gradient energy (Bazen & Gerez 2001, simplified)."""

    energy_sigma_px: float = 6.0       # Gaussian window of the gradient energy
    threshold_scale: float = 0.3       # fraction of the Otsu threshold of log-energy
    closing_radius_px: int = 8         # fills gaps between ridges and small scars
    opening_radius_px: int = 8         # removes specks and thin smudges
    min_area_px: int = 4000            # smaller foregrounds count as empty
    erosion_px: int = 4                # shrink so the mask border stays inside the print


@dataclass(frozen=True)
class OrientationParams:
    """Gradient-based orientation with coherence (Bazen & Gerez 2002; Handbook §3.2.1)."""

    gradient_sigma_px: float = 1.0     # pre-smoothing of the derivative filters
    window_sigma_px: float = 9.0       # averaging of the gradient moments (about one ridge period)
    smoothing_sigma_px: float = 8.0    # coherence-weighted smoothing of the doubled-angle field


@dataclass(frozen=True)
class FrequencyParams:
    """Ridge frequency from oriented x-signatures (Hong, Wan & Jain 1998, §2.4)."""

    block_px: int = 16                 # grid step of the estimates
    window_length_px: int = 32         # across-ridge extent of the signature
    window_width_px: int = 16          # along-ridge extent averaged into each sample
    min_period_px: float = 4.0         # valid ridge periods at 500 dpi
    max_period_px: float = 16.0
    default_period_px: float = 9.0     # used where no block is valid
    smoothing_sigma_px: float = 24.0   # normalised convolution filling invalid blocks


@dataclass(frozen=True)
class EnhancementParams:
    """Contextual filtering: an even-symmetric Gabor filter tuned to the local orientation and
    frequency (Hong, Wan & Jain 1998, eq. 13-15), applied as two oriented 1-D passes."""

    along_sigma_px: float = 3.5        # smoothing along the ridge (sigma_y of eq. 13); bridges pores
    across_sigma_px: float = 3.5       # envelope across the ridge (sigma_x of eq. 13)
    frequency_bins: int = 48           # quantisation of the kernel table
    angle_bins: int = 64               # quantised filter directions (a 2.8 degree step)


@dataclass(frozen=True)
class MinutiaeParams:
    """Detection, false-minutiae removal, direction and quality (Handbook §3.7-3.8).

    The ridge-length rules only remove skeleton artefacts (hairs and one-pixel loops at
    junctions, a few pixels long): the MCC matcher tolerates a spurious minutia far better
    than a missing one, and removing spurs / islands / bridges up to a ridge period or more
    (15 / 20 / 12 px) cost 0.5-1 point of mean EER on FVC2002 (docs/QUALITY.md).
    """

    border_distance_px: float = 9.0    # minutiae closer to the mask border are removed
    spur_length_px: int = 4            # ending->bifurcation within this ridge length: spur
    island_length_px: int = 8          # ending->ending along one ridge within this: short ridge
    bridge_length_px: int = 4          # bifurcation->bifurcation within this: bridge / lake
    break_distance_px: float = 16.0    # facing endings closer than this: broken ridge
    break_angle_rad: float = math.radians(35.0)
    cluster_radius_px: float = 7.0     # minutiae with >= cluster_count neighbours in it go
    cluster_count: int = 2
    direction_min_px: int = 5          # ridge samples used to orient a minutia
    direction_max_px: int = 14
    min_quality: int = 0               # below this a minutia is dropped (0: keep all)
    max_count: int = 120               # keep the best this many (quality order)


@dataclass(frozen=True)
class ExtractionParams:
    """All extraction parameters; ``ExtractionParams()`` are the defaults the benchmarks use."""

    segmentation: SegmentationParams = field(default_factory=SegmentationParams)
    orientation: OrientationParams = field(default_factory=OrientationParams)
    frequency: FrequencyParams = field(default_factory=FrequencyParams)
    enhancement: EnhancementParams = field(default_factory=EnhancementParams)
    minutiae: MinutiaeParams = field(default_factory=MinutiaeParams)

    def __post_init__(self) -> None:
        for f in fields(self):
            _check_positive(getattr(self, f.name))
        if not 1 <= self.minutiae.max_count <= 255:
            raise InvalidParameterError(
                f"minutiae.max_count must be in 1..255, got {self.minutiae.max_count}")


@dataclass(frozen=True)
class MatchingParams:
    """Minutia Cylinder-Code, bit-vector form, with LSS-R consolidation.

    Cappelli, Ferrara & Maltoni, "Minutia Cylinder-Code: a new representation and matching
    technique for fingerprint recognition", IEEE TPAMI 32(12), 2010 (below "MCC"): section 3
    (cylinder), 4 (local similarity), 5 (global score). Defaults are the paper's Table 1 values
    for the bit-based MCC16b variant unless a comment says otherwise.
    """

    radius_px: float = 70.0                  # R: cylinder base radius
    spatial_cells: int = 16                  # N_S: cells along the base diameter
    angular_cells: int = 6                   # N_D: cells along the height (direction)
    sigma_spatial_px: float = 28.0 / 3.0     # sigma_S
    sigma_direction_rad: float = 2.0 * math.pi / 9.0   # sigma_D
    bit_threshold: float = 0.01              # mu_psi: Psi_Bit(v) = v >= mu_psi
    bit_top_cells: int = 0                   # 0: Psi_Bit; K > 0: only the K largest cells set (index codes)
    hull_offset_px: float = 50.0             # Omega: convex-hull enlargement for cell validity
    min_valid_cells: float = 0.75            # min_VC, fraction of the cells inside the base circle
    min_contributors: int = 2                # min_M: minutiae within R + 3 sigma_S
    min_matchable_cells: float = 0.60        # min_ME, fraction of the cells inside the base circle
    max_direction_diff_rad: float = math.pi / 2.0      # delta_theta
    min_pairs: int = 4                       # min_nP
    max_pairs: int = 12                      # max_nP
    pairs_mu: float = 20.0                   # mu_P
    pairs_tau: float = 0.4                   # tau_P
    max_seeds: int = 0                       # cap on n_R (0: min(n_A, n_B), the paper's choice)
    relaxation_iterations: int = 5           # n_rel
    relaxation_weight: float = 0.5           # w_R
    distance_mu_px: float = 5.0              # mu_rho1
    distance_tau: float = -1.6               # tau_rho1
    direction_mu_rad: float = math.pi / 12.0  # mu_rho2
    direction_tau: float = -30.0             # tau_rho2
    radial_mu_rad: float = math.pi / 12.0    # mu_rho3
    radial_tau: float = -30.0                # tau_rho3

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not math.isfinite(value):
                raise InvalidParameterError(f"MatchingParams.{f.name} must be finite, got {value!r}")
        if not 2 <= self.spatial_cells <= 32 or not 1 <= self.angular_cells <= 16:
            raise InvalidParameterError(
                f"MatchingParams cells must be spatial 2..32 and angular 1..16, got "
                f"{self.spatial_cells} and {self.angular_cells}")
        if self.radius_px <= 0 or self.sigma_spatial_px <= 0 or self.sigma_direction_rad <= 0:
            raise InvalidParameterError("MatchingParams radius and sigmas must be > 0")
        if not 1 <= self.min_pairs <= self.max_pairs:
            raise InvalidParameterError(
                f"MatchingParams needs 1 <= min_pairs <= max_pairs, got {self.min_pairs}, {self.max_pairs}")
        if self.bit_top_cells < 0:
            raise InvalidParameterError(f"MatchingParams.bit_top_cells must be >= 0, got {self.bit_top_cells}")
        if self.relaxation_iterations < 0 or not 0.0 <= self.relaxation_weight <= 1.0:
            raise InvalidParameterError("MatchingParams relaxation iterations >= 0 and weight in [0, 1]")


@dataclass(frozen=True)
class IndexParams:
    """The FAISS candidate index of a 1:N gallery (``matcher.index.faiss_index``).

    MCC-based indexing (Cappelli, Ferrara & Maltoni, "Fingerprint Indexing Based on Minutia
    Cylinder-Code", IEEE TPAMI 33(5), 2011): every gallery minutia is described by a small bit
    cylinder (the ``cylinder_*`` fields; MCC eqs. 1-8 with Psi_Bit), stored in a FAISS binary
    index; each probe minutia retrieves its ``neighbours`` nearest gallery cylinders by Hamming
    distance and votes once for each finger they belong to; the ``shortlist`` fingers with the
    most votes are re-scored by the full matcher. The cylinder sizes were chosen on synthetic
    galleries (docs/RESULTS.md, "1:N"): a 50 px radius, smaller than the matcher's 70 px,
    keeps more cylinders intact when two impressions overlap only in part.
    """

    cylinder_radius_px: float = 50.0          # R of the indexing cylinder
    cylinder_spatial_cells: int = 8           # N_S
    cylinder_angular_cells: int = 6           # N_D (8 x 8 x 6 -> 312 bits inside the base circle)
    cylinder_bit_threshold: float = 0.002     # mu_psi: denser bits than matching's 0.01
    cylinder_top_cells: int = 0               # 0: every cell above the threshold; K: the K largest
    max_codes_per_finger: int = 40            # most reliable minutiae indexed per gallery finger
    neighbours: int = 20                      # gallery cylinders retrieved per probe minutia ...
    neighbours_codes: int = 1_000_000         # ... up to this many codes; beyond, x sqrt(codes / this)
    shortlist: int = 100                      # fingers re-scored natively per probe finger
    flat_max_codes: int = 200_000             # exact (flat) Hamming search up to this many codes
    lists_per_sqrt_code: float = 4.0          # IVF lists = this x sqrt(codes) when (re)trained ...
    max_lists: int = 8192                     # ... at most this many (bounds the k-means cost)
    train_codes_per_list: int = 32            # k-means sample size per list
    train_iterations: int = 12                # k-means iterations
    probe_lists: int = 32                     # nprobe: IVF lists scanned per probe cylinder (first pass)
    # The second pass: a probe finger whose best shortlisted score is not below this false match
    # rate (no candidate is a confident mate) is searched again, retrieving second_pass_depth
    # times the neighbours and re-scoring the second_pass_shortlist fingers with the most votes
    # (those not yet scored). Its neighbours are found by a native scan: exact (every code) while
    # the index holds at most second_pass_scan_codes codes, else each probe cylinder's nearest
    # IVF lists holding about that many codes, or exactly second_pass_probe_lists lists when that
    # is not 0. The same scan sums, for every finger, how much more each probe cylinder resembles
    # its nearest code of that finger than it resembles the typical finger's (Dice similarity
    # above the median); the second_pass_score_shortlist fingers with the largest sums are
    # re-scored too. Both shortlists 0: no second pass.
    second_pass_fmr: float = 1e-4
    second_pass_depth: float = 15.0
    second_pass_shortlist: int = 500
    second_pass_score_shortlist: int = 500
    second_pass_scan_codes: int = 4_000_000
    second_pass_probe_lists: int = 0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise InvalidParameterError(f"IndexParams.{f.name} must be a finite number, got {value!r}")
        positive = ("cylinder_radius_px", "cylinder_bit_threshold", "max_codes_per_finger", "neighbours", "neighbours_codes",
                    "shortlist", "flat_max_codes", "lists_per_sqrt_code", "max_lists", "train_codes_per_list",
                    "train_iterations", "probe_lists")
        for name in positive:
            if getattr(self, name) <= 0:
                raise InvalidParameterError(f"IndexParams.{name} must be > 0, got {getattr(self, name)!r}")
        if not 2 <= self.cylinder_spatial_cells <= 32 or not 1 <= self.cylinder_angular_cells <= 16:
            raise InvalidParameterError(
                f"IndexParams cylinder cells must be spatial 2..32 and angular 1..16, got "
                f"{self.cylinder_spatial_cells} and {self.cylinder_angular_cells}")
        if self.max_codes_per_finger > 255 or self.neighbours > 1024 or self.shortlist > 100_000:
            raise InvalidParameterError("IndexParams: max_codes_per_finger <= 255, neighbours <= 1024, "
                                        "shortlist <= 100000")
        if not 0 < self.second_pass_fmr <= 1 or self.second_pass_depth < 1:
            raise InvalidParameterError(
                f"IndexParams.second_pass_fmr must be in (0, 1] and second_pass_depth >= 1, got "
                f"{self.second_pass_fmr!r} and {self.second_pass_depth!r}")
        if self.second_pass_probe_lists < 0 or self.second_pass_scan_codes <= 0:
            raise InvalidParameterError(
                f"IndexParams.second_pass_probe_lists must be >= 0 and second_pass_scan_codes > 0, got "
                f"{self.second_pass_probe_lists!r} and {self.second_pass_scan_codes!r}")
        for name in ("second_pass_shortlist", "second_pass_score_shortlist"):
            value = getattr(self, name)
            if not 0 <= value <= 100_000 or int(value) != value:
                raise InvalidParameterError(f"IndexParams.{name} must be an integer in 0..100000, got {value!r}")

    def cylinder_params(self) -> MatchingParams:
        """The :class:`MatchingParams` whose cylinders are the indexing codes."""
        return MatchingParams(radius_px=self.cylinder_radius_px, spatial_cells=self.cylinder_spatial_cells,
                              angular_cells=self.cylinder_angular_cells,
                              bit_threshold=self.cylinder_bit_threshold, bit_top_cells=self.cylinder_top_cells)

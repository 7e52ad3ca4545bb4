"""1:1 and one-vs-many matching: Minutia Cylinder-Code scored by native kernels.

``_native.py`` is the only module that imports the compiled extension; ``reference.py`` is
the slow numpy oracle the kernels are tested against; ``calibration.py`` turns scores into
false match rates (thresholds, 1:1 decisions, multi-finger fusion).
"""

from matcher.matching._native import build_info
from matcher.matching.calibration import (
    CalibrationTable,
    fmr_for_score,
    fuse,
    load_table,
    threshold_for_fmr,
    verify,
)
from matcher.matching.mcc import Matcher, compare

__all__ = ["CalibrationTable", "Matcher", "build_info", "compare", "fmr_for_score", "fuse", "load_table",
           "threshold_for_fmr", "verify"]

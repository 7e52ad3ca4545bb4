"""1:1 and one-vs-many matching (scoring kernels arrive with the native matcher).

``_native.py`` is the only module that imports the compiled extension.
"""

from matcher.matching._native import build_info

__all__ = ["build_info"]

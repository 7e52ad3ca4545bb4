"""Builds the native extension ``basma_native`` from ``native/``.

By default the kernels are compiled for the build machine's CPU (``-O3 -march=native``).
Set ``BASMA_PORTABLE=1`` to build a portable binary (``-O3``, and on x86-64 the
``x86-64-v2`` baseline with POPCNT), e.g. for wheels or for deployment on other machines.
"""

import os
import platform
import sys

from pybind11.setup_helpers import Pybind11Extension, build_ext
from setuptools import setup

PORTABLE = os.environ.get("BASMA_PORTABLE", "0").lower() in ("1", "true", "yes")


def _compile_args() -> list[str]:
    if sys.platform == "win32":
        return ["/O2"]
    args = ["-O3", "-fno-math-errno"]
    if not PORTABLE:
        args.append("-march=native")
    elif platform.machine().lower() in ("x86_64", "amd64"):
        args.append("-march=x86-64-v2")   # POPCNT and SSE4.2: every x86-64 CPU since about 2009
    return args


ext_modules = [
    Pybind11Extension(
        "basma_native",
        sorted(os.path.join("native", f) for f in os.listdir("native") if f.endswith(".cpp")),
        include_dirs=["native"],
        cxx_std=17,
        extra_compile_args=_compile_args(),
        define_macros=[("BASMA_PORTABLE", "1" if PORTABLE else "0")],
    ),
]

setup(ext_modules=ext_modules, cmdclass={"build_ext": build_ext})

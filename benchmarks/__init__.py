"""The researchers' command line: ``python -m benchmarks COMMAND`` (accuracy, speed, calibration).

Each command is a module with ``add_parser(subparsers)``, which registers its arguments and
sets ``run`` (``args -> exit status``); :mod:`benchmarks.__main__` lists the modules. Timings
live here, never in the tests.
"""

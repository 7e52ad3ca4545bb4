"""``python -m benchmarks COMMAND ...``: see ``python -m benchmarks --help``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from benchmarks import calibrate, extract, speed, synthetic, verify

#: Command modules, in help order; each has ``add_parser(subparsers)``.
COMMANDS = (extract, verify, speed, calibrate, synthetic)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``) and run the chosen command; return its exit status."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks",
                                     description="Basma benchmarks: extraction speed, 1:1 accuracy (FVC protocol), "
                                                 "matching speed and score calibration.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.add_parser(commands)
    try:
        args = parser.parse_args(argv)
        return int(args.run(args))
    except SystemExit as exc:
        return 0 if exc.code is None else exc.code if isinstance(exc.code, int) else 2
    except KeyboardInterrupt:
        print("benchmarks: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())

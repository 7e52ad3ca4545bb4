"""``python -m benchmarks COMMAND ...``: see ``python -m benchmarks --help``."""

from __future__ import annotations

from collections.abc import Sequence

from benchmarks import calibrate, extract, gallery_file, identify, service, sim, speed, synthetic, verify
from datasets._cli import run_commands

#: Command modules, in help order; each has ``add_parser(subparsers)``.
COMMANDS = (extract, verify, speed, calibrate, synthetic, identify, gallery_file, service, sim)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``) and run the chosen command; return its exit status."""
    return run_commands("python -m benchmarks",
                        "Basma benchmarks: extraction speed, 1:1 accuracy (FVC protocol), matching speed, "
                        "score calibration, synthetic galleries, 1:N search and the gallery file.", COMMANDS, argv)


if __name__ == "__main__":
    raise SystemExit(main())

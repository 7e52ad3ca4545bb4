"""``python -m datasets COMMAND ...``: see ``python -m datasets --help``."""

from __future__ import annotations

from collections.abc import Sequence

from datasets._cli import run_commands
from datasets.synthetic import cli as synth

#: Command modules, in help order; each has ``add_parser(subparsers)``.
COMMANDS = (synth,)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``) and run the chosen command; return its exit status."""
    return run_commands("python -m datasets", "Basma datasets: the synthetic fingerprint generator.", COMMANDS,
                        argv)


if __name__ == "__main__":
    raise SystemExit(main())

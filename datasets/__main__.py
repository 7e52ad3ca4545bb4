"""``python -m datasets COMMAND ...``: see ``python -m datasets --help``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from datasets.synthetic import cli as synth

#: Command modules, in help order; each has ``add_parser(subparsers)``.
COMMANDS = (synth,)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``) and run the chosen command; return its exit status."""
    parser = argparse.ArgumentParser(prog="python -m datasets",
                                     description="Basma datasets: the synthetic fingerprint generator.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.add_parser(commands)
    try:
        args = parser.parse_args(argv)
        return int(args.run(args))
    except SystemExit as exc:
        return 0 if exc.code is None else exc.code if isinstance(exc.code, int) else 2
    except KeyboardInterrupt:
        print("datasets: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())

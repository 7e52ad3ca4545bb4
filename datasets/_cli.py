"""The shape shared by the project's command lines (``python -m datasets``, ``python -m
benchmarks``): sub-command modules with ``add_parser(subparsers)``, and argument types."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from types import ModuleType


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1.

    Examples
    --------
    >>> positive_int("3")
    3
    """
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def non_negative_int(text: str) -> int:
    """argparse type: an integer >= 0.

    Examples
    --------
    >>> non_negative_int("0")
    0
    """
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def seconds(text: str) -> float:
    """argparse type: a duration in seconds, in ``(0, 3600]``."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, got {text!r}") from None
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"must be in (0, 3600], got {value}")
    return value


def run_commands(prog: str, description: str, commands: Sequence[ModuleType],
                 argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``) into one of ``commands`` and run it.

    Each command module registers itself with ``add_parser(subparsers)``, which sets ``run``
    (``args -> exit status``). Returns the exit status: argparse's for ``--help`` or a usage
    error, 130 when interrupted.
    """
    parser = argparse.ArgumentParser(prog=prog, description=description)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in commands:
        module.add_parser(subparsers)
    try:
        args = parser.parse_args(argv)
        return int(args.run(args))
    except SystemExit as exc:
        return 0 if exc.code is None else exc.code if isinstance(exc.code, int) else 2
    except KeyboardInterrupt:
        print(f"{prog.split()[-1]}: interrupted", file=sys.stderr)
        return 130

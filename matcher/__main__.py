"""``python -m matcher``: the same as the ``matcher`` command (:mod:`matcher.cli`)."""

from matcher.cli import main

if __name__ == "__main__":
    raise SystemExit(main())

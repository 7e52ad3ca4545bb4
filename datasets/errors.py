"""The error the dataset loaders raise on purpose."""

from __future__ import annotations

from matcher.errors import MatcherError

__all__ = ["DatasetError"]


class DatasetError(MatcherError, ValueError):
    """A dataset on disk cannot be read as asked: unknown layout, malformed manifest row, missing file.

    Messages name the file (and the line, for a manifest) and the offending value.
    """

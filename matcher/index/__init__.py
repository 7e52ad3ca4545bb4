"""1:N identification: the gallery of enrolled subjects, its search and its file.

``gallery.py`` holds :class:`Gallery` and :class:`Candidate`; ``records.py`` the subject ->
finger -> template bookkeeping; ``candidates.py`` the plug-in point of candidate indexes
(exhaustive now); ``store.py`` the versioned, checksummed, atomically written gallery file.
"""

from matcher.errors import CorruptGalleryError, DuplicateIdError, UnknownIdError
from matcher.index.gallery import MODES, Candidate, Gallery

__all__ = ["MODES", "Candidate", "CorruptGalleryError", "DuplicateIdError", "Gallery", "UnknownIdError"]

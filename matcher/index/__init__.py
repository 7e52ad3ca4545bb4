"""1:N identification: the gallery of enrolled subjects, its search and its file.

``gallery.py`` holds :class:`Gallery` and :class:`Candidate`; ``records.py`` the subject ->
finger -> template bookkeeping; ``candidates.py`` the plug-in point of candidate sources
(exhaustive); ``faiss_index.py`` the FAISS candidate index (MCC-based indexing, the only
importer of faiss); ``store.py`` the versioned, checksummed, atomically written gallery file
(version 3: columns memory-mapped on load, ``columns.py``; their invariants, ``store_check.py``;
version 2 still read, ``store_v2.py``; the prefix every version shares, ``_prefix.py``).
"""

from matcher.errors import CorruptGalleryError, DuplicateIdError, UnknownIdError
from matcher.index.gallery import MODES, Candidate, Gallery
from matcher.index.records import MAX_FINGERS, MAX_SUBJECT_CHARS, check_fingers, check_position, check_subject
from matcher.params import IndexParams

__all__ = ["MAX_FINGERS", "MAX_SUBJECT_CHARS", "MODES", "Candidate", "CorruptGalleryError", "DuplicateIdError",
           "Gallery", "IndexParams", "UnknownIdError", "check_fingers", "check_position", "check_subject"]

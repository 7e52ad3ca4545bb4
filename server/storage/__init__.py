"""The service's durable template store: subjects and their encrypted templates.

SQLite (embedded default, WAL + ``synchronous=FULL``) or PostgreSQL (psycopg 3 + a pool),
chosen by :func:`open_store` from the target; same schema, versioned migrations; templates
AES-256-GCM encrypted at rest. See ``docs/STORAGE.md``.

Examples
--------
>>> import tempfile, pathlib
>>> import matcher
>>> t = matcher.Template(x=[10], y=[20], angle=[0.5], kind=[1], quality=[90], width=64, height=64)
>>> with open_store(pathlib.Path(tempfile.mkdtemp()) / "basma.db", key=bytes(32)) as store:
...     record = store.put_finger("subject-1", matcher.FingerPosition.RIGHT_INDEX, t)
...     store.get_subject("subject-1").fingers[matcher.FingerPosition.RIGHT_INDEX] == t
True
"""

from server.storage.base import Store, SubjectRecord
from server.storage.crypto import TemplateCipher, load_key, write_dev_key
from server.storage.errors import CorruptRecordError, StoreError, StoreUnavailableError, mask_subject
from server.storage.factory import open_store

__all__ = [
    "CorruptRecordError",
    "Store",
    "StoreError",
    "StoreUnavailableError",
    "SubjectRecord",
    "TemplateCipher",
    "load_key",
    "mask_subject",
    "open_store",
    "write_dev_key",
]

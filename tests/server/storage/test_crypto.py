"""Encryption at rest: the cipher, key loading, and tampering with stored blobs."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

import matcher
from server.storage import (
    CorruptRecordError,
    TemplateCipher,
    load_key,
    mask_subject,
    open_store,
    write_dev_key,
)
from tests.server.storage.conftest import KEY

AAD = b"subject/finger"


def test_round_trip_and_fresh_nonce():
    cipher = TemplateCipher(KEY)
    first, second = cipher.encrypt(b"payload", aad=AAD), cipher.encrypt(b"payload", aad=AAD)
    assert first != second and first[0] == 1 and len(first) == 1 + 12 + len(b"payload") + 16
    assert cipher.decrypt(first, aad=AAD) == cipher.decrypt(second, aad=AAD) == b"payload"
    assert cipher.decrypt(cipher.encrypt(b"", aad=b""), aad=b"") == b""
    assert "KEY" not in repr(cipher) and KEY.hex() not in repr(cipher)


@pytest.mark.parametrize("key", [b"", bytes(16), bytes(31), bytes(33), "0" * 64, None, bytes(64)])
def test_key_must_be_32_bytes(key):
    with pytest.raises(matcher.InvalidParameterError, match="32 bytes"):
        TemplateCipher(key)


def test_every_tampered_byte_and_wrong_context_fail_authentication():
    cipher = TemplateCipher(KEY)
    blob = cipher.encrypt(b"minutiae bytes", aad=AAD)
    for i in range(len(blob)):
        damaged = bytearray(blob)
        damaged[i] ^= 0x01
        with pytest.raises(CorruptRecordError):
            cipher.decrypt(bytes(damaged), aad=AAD)
    for truncated in (b"", blob[:1], blob[:28], blob[:-1]):
        with pytest.raises(CorruptRecordError):
            cipher.decrypt(truncated, aad=AAD)
    with pytest.raises(CorruptRecordError, match="authentication"):
        cipher.decrypt(blob, aad=b"other/finger")
    with pytest.raises(CorruptRecordError, match="authentication"):
        TemplateCipher(bytes(32)).decrypt(blob, aad=AAD)


def test_load_key_from_raw_file_hex_file_and_env(tmp_path, monkeypatch):
    raw, hexed = tmp_path / "raw.key", tmp_path / "hex.key"
    raw.write_bytes(KEY)
    hexed.write_text("  " + KEY.hex().upper() + "\n")
    assert load_key(raw) == load_key(str(hexed)) == KEY
    monkeypatch.setenv("BASMA_TEMPLATE_KEY", KEY.hex())
    assert load_key() == KEY
    monkeypatch.setenv("OTHER_KEY_VAR", bytes(32).hex())
    assert load_key(env="OTHER_KEY_VAR") == bytes(32)
    assert load_key(raw, env="OTHER_KEY_VAR") == KEY  # the file wins


def test_load_key_errors_name_the_source_not_the_key(tmp_path, monkeypatch):
    monkeypatch.delenv("BASMA_TEMPLATE_KEY", raising=False)
    with pytest.raises(matcher.InvalidParameterError, match="BASMA_TEMPLATE_KEY"):
        load_key()
    secret = "ab" * 31 + "zz"  # 64 characters, not hex
    monkeypatch.setenv("BASMA_TEMPLATE_KEY", secret)
    with pytest.raises(matcher.InvalidParameterError, match="environment variable BASMA_TEMPLATE_KEY") as info:
        load_key()
    assert secret not in str(info.value)
    with pytest.raises(matcher.InvalidParameterError, match="does not exist"):
        load_key(tmp_path / "missing.key")
    short = tmp_path / "short.key"
    short.write_text(KEY.hex()[:-2])
    with pytest.raises(matcher.InvalidParameterError, match="short.key") as info:
        load_key(short)
    assert KEY.hex()[:-2] not in str(info.value)
    with pytest.raises(matcher.InvalidParameterError, match="cannot be read"):
        load_key(tmp_path)  # a folder


def test_write_dev_key_creates_0600_and_never_overwrites(tmp_path):
    path = tmp_path / "keys" / "dev.key"
    key = write_dev_key(path)
    assert len(key) == 32 and load_key(path) == key
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert write_dev_key(path) == key  # existing file kept
    assert write_dev_key(tmp_path / "other.key") != key


def test_mask_subject():
    assert mask_subject("1234567890") == "12******90"
    assert mask_subject("abcd") == "****"
    assert mask_subject("") == ""


def _blob(cur, subject, position):
    cur.execute("SELECT template FROM fingers WHERE subject = ? AND position = ?", (subject, position))
    return bytes(cur.fetchone()[0])


def test_tampered_or_moved_blobs_raise_corrupt_record_naming_the_finger(store, make_template):
    store.put_subject("1234567890", {1: make_template(), 2: make_template()})
    store.put_subject("9876543210", {1: make_template()})
    with store.transaction() as cur:
        moved = _blob(cur, "1234567890", 1)
        flipped = bytearray(_blob(cur, "9876543210", 1))
        flipped[20] ^= 0xFF
        cur.execute("UPDATE fingers SET template = ? WHERE subject = ? AND position = ?",
                    (moved, "1234567890", 2))  # another finger of the same subject
        cur.execute("UPDATE fingers SET template = ? WHERE subject = ? AND position = ?",
                    (bytes(flipped), "9876543210", 1))
    with pytest.raises(CorruptRecordError) as info:
        store.get_subject("1234567890")
    assert (info.value.subject, info.value.position) == ("1234567890", 2)
    assert "12******90 finger 2" in str(info.value) and "1234567890" not in str(info.value)
    assert KEY.hex() not in str(info.value)
    with pytest.raises(CorruptRecordError) as info:
        store.get_subject("9876543210")
    assert info.value.position == 1
    with store.transaction() as cur:  # a blob moved to another subject
        cur.execute("UPDATE fingers SET template = ? WHERE subject = ? AND position = ?",
                    (moved, "9876543210", 1))
        cur.execute("UPDATE fingers SET template = ? WHERE subject = ? AND position = ?",
                    (moved[:20], "1234567890", 2))
    with pytest.raises(CorruptRecordError, match="authentication"):
        store.get_subject("9876543210")
    with pytest.raises(CorruptRecordError, match="truncated"):
        list(store.iter_subjects())


def test_wrong_key_cannot_read(target, make_template):
    with open_store(target, key=KEY) as store:
        store.put_finger("s", 1, make_template())
    with open_store(target, key=bytes(32)) as store:
        assert store.counts() == (1, 1)
        with pytest.raises(CorruptRecordError, match="authentication"):
            store.get_subject("s")


def test_authentic_blob_with_undecodable_template_is_corrupt(store):
    from server.storage import codec  # the store's own sealing, applied to bytes that are no template

    blob = TemplateCipher(KEY).encrypt(b"BSMT garbage", aad=codec.finger_aad("s", 3))
    store.put_finger("s", 4, matcher.Template.empty(width=10, height=10))
    with store.transaction() as cur:
        cur.execute("INSERT INTO fingers (subject, position, template) VALUES (?, ?, ?)", ("s", 3, blob))
    with pytest.raises(CorruptRecordError, match="cannot be decoded"):
        store.get_subject("s")


def test_no_plaintext_template_on_disk(sqlite_target, make_template):
    template = make_template(200)
    plain = matcher.formats.dumps(template, format="native")
    with open_store(sqlite_target, key=KEY) as store:
        store.put_finger("on-disk", 1, template)
        with store.transaction(readonly=True) as cur:
            stored = _blob(cur, "on-disk", 1)
    assert plain[16:] not in stored and b"BSMT" not in stored
    on_disk = Path(sqlite_target).read_bytes()  # the closed store left one self-contained file
    assert b"on-disk" in on_disk  # subject ids are stored in clear (the lookup key) ...
    assert plain[16:48] not in on_disk and b"BSMT" not in on_disk  # ... templates never are
    with sqlite3.connect(sqlite_target) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)

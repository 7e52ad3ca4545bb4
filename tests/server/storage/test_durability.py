"""An acknowledged write survives ``kill -9`` of the process that made it."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from server.storage import open_store
from tests.server.storage.conftest import KEY

REPO = Path(__file__).resolve().parents[3]
#: The writer: one subject per transaction, "ok <subject> <seed>" printed only after it returned.
WRITER = """
import sys
import numpy as np
from server.storage import open_store
from tests.server.storage.conftest import random_template
store = open_store(sys.argv[1], key=bytes.fromhex(sys.argv[2]))
print("ready", flush=True)
for i in range(100000):
    rng = np.random.default_rng(i)
    store.put_subject(f"crash-{i:05d}", {1: random_template(rng, 30), 2: random_template(rng, 30)})
    print(f"ok crash-{i:05d} {i}", flush=True)
"""
ACKS_BEFORE_KILL = 25


def _expected(seed: int):
    import numpy as np

    from tests.server.storage.conftest import random_template

    rng = np.random.default_rng(seed)
    return {1: random_template(rng, 30), 2: random_template(rng, 30)}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_kill_9_loses_no_acknowledged_write(request, backend):
    target = request.getfixturevalue("sqlite_target" if backend == "sqlite" else "pg_dsn")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    child = subprocess.Popen([sys.executable, "-c", WRITER, target, KEY.hex()], cwd=REPO, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    acknowledged: list[tuple[str, int]] = []
    try:
        deadline = time.monotonic() + 60
        assert child.stdout.readline().strip() == "ready", child.stderr.read()
        while len(acknowledged) < ACKS_BEFORE_KILL and time.monotonic() < deadline:
            line = child.stdout.readline().split()
            assert line and line[0] == "ok", child.stderr.read() if child.poll() is not None else line
            acknowledged.append((line[1], int(line[2])))
        os.kill(child.pid, signal.SIGKILL)  # mid-stream: the writer is inside its next transaction
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(30)
        child.stdout.close()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL
    assert len(acknowledged) == ACKS_BEFORE_KILL
    if backend == "sqlite":
        with sqlite3.connect(target) as raw:  # the file left by the killed process is sound
            assert raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    with open_store(target, key=KEY) as store:
        subjects, fingers = store.counts()
        assert subjects >= ACKS_BEFORE_KILL and fingers == 2 * subjects  # no half-written subject
        for subject, seed in acknowledged:
            assert store.get_subject(subject).fingers == _expected(seed)
        for record in store.iter_subjects():  # any write past the last acknowledgement is whole
            assert record.fingers == _expected(int(record.subject.split("-")[1]))

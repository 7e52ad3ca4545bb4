"""``make run``: dev credentials, the demo gallery, ready-to-paste client commands, then the server.

``python -m server.demo --dev-dir .dev --dataset DIR [--grpc-port N] [--metrics-port M]``:

1. creates (once) the dev key, certificates and principals (:mod:`server.devsetup`);
2. enrols impression 1 of every FVC2002 B finger found under ``DIR/db{1..4}_b`` as a demo
   subject with a made-up, deterministic national id that passes the Saudi check digit
   (subjects already stored are skipped);
3. prints the ports and client commands that verify impression 2 of a demo finger (accept)
   and of another finger (reject), register a SIM with impression 2 of a demo finger and
   show the queued SMS;
4. runs the server on 127.0.0.1 with TLS in the foreground (Ctrl-C stops it gracefully).
"""

from __future__ import annotations

import argparse
import hashlib
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

import matcher
from matcher import FingerPosition
from server import devsetup
from server.__main__ import main as serve
from server.sim.ids import with_check_digit
from server.storage import load_key, open_store

__all__ = ["demo_subject_id", "demo_fingers", "enrol_demo", "DEMO_MSISDN", "DEMO_OPERATOR"]

#: Finger position the demo fingers are enrolled at (FVC does not say which finger it is).
DEMO_POSITION = FingerPosition.RIGHT_INDEX
#: The number the printed ``sim register`` command binds, and the dev operator principal's operator.
DEMO_MSISDN = "0551234567"
DEMO_OPERATOR = "dev"


def demo_subject_id(set_name: str, finger: str) -> str:
    """A made-up national ID (leading 1 like a citizen's, Luhn check digit last), fixed per finger.

    Examples
    --------
    >>> demo_subject_id("db1_b", "101")
    '1492564552'
    """
    digest = hashlib.sha256(f"basma-demo/{set_name}/{finger}".encode()).hexdigest()
    return with_check_digit("1" + str(int(digest, 16))[:8])


def demo_fingers(dataset: Path) -> list[tuple[str, Path, Path]]:
    """``(subject id, impression 1, impression 2)`` of each FVC2002 B finger under ``dataset``."""
    found = []
    for set_dir in sorted(dataset.glob("db[1-4]_b")):
        for first in sorted(set_dir.glob("*_1.tif")):
            finger = first.name.split("_")[0]
            second = set_dir / f"{finger}_2.tif"
            if second.is_file():
                found.append((demo_subject_id(set_dir.name, finger), first, second))
    return found


def enrol_demo(store_path: Path, key_path: Path, fingers: Sequence[tuple[str, Path, Path]]) -> int:
    """Enrol impression 1 of each finger not yet stored; returns how many were added."""
    added = 0
    with open_store(store_path, key=load_key(key_path)) as store:
        for subject, first, _ in fingers:
            if store.has_subject(subject):
                continue
            store.put_subject(subject, {DEMO_POSITION: matcher.extract(matcher.load_image(first))})
            added += 1
    return added


def _client_command(port: int, files: devsetup.DevFiles, api_key: str, *args: str) -> str:
    return shlex.join([".venv/bin/python", "-m", "server.client", "--target", f"127.0.0.1:{port}",
                       "--ca", str(files.ca), "--api-key", api_key, *args])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m server.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--dev-dir", type=Path, default=Path(".dev"))
    parser.add_argument("--dataset", type=Path, required=True, help="folder holding db1_b..db4_b (FVC2002)")
    parser.add_argument("--grpc-port", type=int, default=50051)
    parser.add_argument("--metrics-port", type=int, default=9464)
    args = parser.parse_args(argv)
    files, keys = devsetup.create(args.dev_dir)
    data_dir = args.dev_dir / "data"
    fingers = demo_fingers(args.dataset)
    if fingers:
        print(f"enrolling the demo gallery ({len(fingers)} FVC2002 B fingers, impression 1) ...", flush=True)
        added = enrol_demo(data_dir / "basma.db", files.key, fingers)
        print(f"  {added} new demo subjects ({len(fingers) - added} already enrolled)")
    else:
        print(f"no FVC2002 B sets under {args.dataset}: the demo gallery stays empty (set MATCHER_DATA)")
    print(f"\nBasma dev service: gRPC 127.0.0.1:{args.grpc_port} (TLS, CA {files.ca}), "
          f"metrics http://127.0.0.1:{args.metrics_port}/metrics")
    print(f"dev API keys (also in {files.api_keys}):")
    for role, key in keys.items():
        print(f"  {role:10s} {key}")
    if len(fingers) >= 2:
        (subject, _, genuine), (_, _, impostor) = fingers[0], fingers[1]
        print("\nverify impression 2 of a demo finger (expect \"decision\": \"accept\"):")
        print("  " + _client_command(args.grpc_port, files, keys["operator"], "verify", "--subject", subject,
                                     str(genuine)))
        print("verify impression 2 of another finger against the same subject (expect \"reject\"):")
        print("  " + _client_command(args.grpc_port, files, keys["operator"], "verify", "--subject", subject,
                                     str(impostor)))
        print("identify it among all demo subjects:")
        print("  " + _client_command(args.grpc_port, files, keys["researcher"], "identify", str(genuine),
                                     "--k", "3"))
        print("\nregister a SIM to that subject in a store, verified with the same capture (expect "
              "\"decision\": \"approved\", \"reason\": \"VERIFIED\"; docs/SIM.md):")
        print("  " + _client_command(args.grpc_port, files, keys["operator"], "sim", "register", "--national-id",
                                     subject, "--msisdn", DEMO_MSISDN, "--operator", DEMO_OPERATOR, "--sim-type",
                                     "prepaid", "--channel", "store", "--finger", str(int(DEMO_POSITION)),
                                     str(genuine)))
        print("the queued confirmation SMS (Arabic and English; delivered to "
              f"{data_dir / 'sms' / 'sms.jsonl'}):")
        print("  " + _client_command(args.grpc_port, files, keys["admin"], "sim", "outbox", "--limit", "5"))
    print(f"mTLS instead of an API key: --ca {files.ca} --cert {files.client} --key {files.client_key} "
          f"(start the server with --client-ca {files.ca}; see docs/SERVICE.md)\n", flush=True)
    return serve(["--data-dir", str(data_dir), "--grpc-port", str(args.grpc_port), "--metrics-port",
                  str(args.metrics_port), "--principals", str(files.principals), "--key-file", str(files.key),
                  "--host", "127.0.0.1", "--tls-cert", str(files.server), "--tls-key", str(files.server_key)])


if __name__ == "__main__":
    sys.exit(main())

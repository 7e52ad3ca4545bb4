"""A Python client of the Basma service and its command line.

``python -m server.client --target HOST:PORT [--plaintext | --ca F [--cert F --key F]]
[--api-key K] COMMAND ...`` with COMMAND one of ``extract``, ``enroll``, ``verify``,
``identify``, ``delete``, ``get``. Each prints one JSON object on stdout; a failed call prints
``{"code": "NOT_FOUND", "message": ...}`` and exits with status 1 (2 for a usage error).

Examples
--------
>>> client = Client("127.0.0.1:1", plaintext=True, api_key="k")
>>> image_sample(b"not read here", finger=2).finger_position
2
>>> client.close()
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import grpc

from server.api import pb, rpc

__all__ = ["Client", "image_sample", "template_sample", "main"]

_FORMATS = {"native": pb.TEMPLATE_FORMAT_NATIVE, "iso": pb.TEMPLATE_FORMAT_ISO, "ansi": pb.TEMPLATE_FORMAT_ANSI}


def image_sample(image: bytes | str | Path, *, finger: int = 0, dpi: int = 0) -> pb.FingerSample:
    """A FingerSample carrying an image (bytes, or a path to read)."""
    data = image if isinstance(image, bytes) else Path(image).read_bytes()
    return pb.FingerSample(finger_position=finger, image=pb.Image(data=data, dpi=dpi))


def template_sample(template: bytes, *, format: str = "native", finger: int = 0) -> pb.FingerSample:
    """A FingerSample carrying a serialised template (``format``: native, iso or ansi)."""
    if format not in _FORMATS:
        raise ValueError(f"format must be one of {sorted(_FORMATS)}, got {format!r}")
    return pb.FingerSample(finger_position=finger, **{f"{format}_template": template})


class Client:
    """A connection to the service.

    Parameters
    ----------
    target : str
        ``host:port``.
    api_key : str, optional
        Sent as ``x-api-key`` metadata.
    plaintext : bool
        No TLS (only against a ``--plaintext-localhost`` server).
    ca, cert, key : bytes or path, optional
        PEM: the CA that signed the server certificate (default: system roots), and for mTLS the
        client certificate chain and key.
    timeout : float
        Deadline of each call, seconds.
    """

    def __init__(self, target: str, *, api_key: str | None = None, plaintext: bool = False,
                 ca: bytes | str | Path | None = None, cert: bytes | str | Path | None = None,
                 key: bytes | str | Path | None = None, timeout: float = 30.0,
                 options: Sequence[tuple[str, Any]] = ()) -> None:
        def pem(value: bytes | str | Path | None) -> bytes | None:
            return value if value is None or isinstance(value, bytes) else Path(value).read_bytes()

        if plaintext:
            self.channel = grpc.insecure_channel(target, options=list(options))
        else:
            credentials = grpc.ssl_channel_credentials(pem(ca), pem(key), pem(cert))
            self.channel = grpc.secure_channel(target, credentials, options=list(options))
        self.stub = rpc.BiometricsStub(self.channel)
        self.metadata: tuple[tuple[str, str], ...] = (("x-api-key", api_key),) if api_key else ()
        self.timeout = timeout

    def _call(self, method: str, request: Any, request_id: str | None = None) -> Any:
        metadata = self.metadata + ((("x-request-id", request_id),) if request_id else ())
        return getattr(self.stub, method)(request, timeout=self.timeout, metadata=metadata)

    def extract(self, image: bytes, *, dpi: int = 0, format: str = "native") -> pb.ExtractResponse:
        return self._call("Extract", pb.ExtractRequest(image=pb.Image(data=image, dpi=dpi), format=_FORMATS[format]))

    def enroll(self, subject: str, fingers: Sequence[pb.FingerSample], **options: Any) -> pb.EnrollResponse:
        """Options: replace, check_duplicates, reject_duplicates, duplicate_fmr."""
        return self._call("Enroll", pb.EnrollRequest(subject_id=subject, fingers=list(fingers), **options))

    def verify(self, subject: str, probes: Sequence[pb.FingerSample], *, fmr: float = 0.0) -> pb.VerifyResponse:
        return self._call("Verify", pb.VerifyRequest(subject_id=subject, probes=list(probes), fmr=fmr))

    def identify(self, probes: Sequence[pb.FingerSample], *, k: int = 0, same_finger_only: bool = False,
                 max_fmr: float = 0.0) -> pb.IdentifyResponse:
        return self._call("Identify", pb.IdentifyRequest(probes=list(probes), k=k, same_finger_only=same_finger_only,
                                                         max_fmr=max_fmr))

    def delete(self, subject: str) -> pb.DeleteSubjectResponse:
        return self._call("DeleteSubject", pb.DeleteSubjectRequest(subject_id=subject))

    def get(self, subject: str, *, include_templates: bool = False) -> pb.GetSubjectResponse:
        return self._call("GetSubject", pb.GetSubjectRequest(subject_id=subject, include_templates=include_templates))

    def close(self) -> None:
        self.channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- command line ------------------------------------------------------------------------------

def _position_name(code: int) -> str:
    return pb.FingerPosition.Name(code).removeprefix("FINGER_POSITION_")


def _match(m: pb.Match) -> dict[str, Any]:
    return {"subject_id": m.subject_id, "finger": _position_name(m.finger_position), "score": round(m.score, 6),
            "fmr": m.fmr}


def _samples(args: argparse.Namespace, paths: Sequence[Path]) -> list[pb.FingerSample]:
    fingers = list(args.finger or [])
    if len(fingers) not in (0, 1, len(paths)):
        raise SystemExit(f"give --finger once, or once per file ({len(paths)} files, {len(fingers)} --finger)")
    positions = fingers * len(paths) if len(fingers) == 1 else fingers or [0] * len(paths)
    if args.template:
        return [template_sample(Path(p).read_bytes(), format=args.template, finger=f) for p, f in zip(paths, positions, strict=True)]
    return [image_sample(p, finger=f, dpi=args.dpi) for p, f in zip(paths, positions, strict=True)]


def _run(client: Client, args: argparse.Namespace) -> dict[str, Any]:
    if args.command == "extract":
        r = client.extract(Path(args.image).read_bytes(), dpi=args.dpi, format=args.format)
        out: dict[str, Any] = {"minutiae": r.minutiae, "quality": r.quality, "width": r.width, "height": r.height,
                               "dpi": r.dpi, "format": args.format, "template_bytes": len(r.template)}
        if args.out:
            Path(args.out).write_bytes(r.template)
            out["written"] = str(args.out)
        return out
    if args.command == "enroll":
        r = client.enroll(args.subject, _samples(args, args.images), replace=args.replace,
                          check_duplicates=args.check_duplicates, reject_duplicates=args.reject_duplicates)
        return {"enrolled": r.enrolled, "fingers": [_position_name(p) for p in r.finger_positions],
                "qualities": list(r.qualities), "duplicates": [_match(m) for m in r.duplicates]}
    if args.command == "verify":
        r = client.verify(args.subject, _samples(args, args.images), fmr=args.fmr)
        return {"decision": "accept" if r.match else "reject", "score": round(r.score, 6), "fmr": r.fmr,
                "threshold": round(r.threshold, 6), "finger_scores": [round(s, 6) for s in r.finger_scores]}
    if args.command == "identify":
        r = client.identify(_samples(args, args.images), k=args.k, same_finger_only=args.same_finger)
        return {"candidates": [_match(m) for m in r.candidates], "gallery_subjects": r.gallery_subjects}
    if args.command == "delete":
        return {"deleted": True, "fingers_deleted": client.delete(args.subject).fingers_deleted}
    r = client.get(args.subject, include_templates=args.templates)
    return {"subject_id": r.subject_id, "created_at_unix_ms": r.created_at_unix_ms,
            "updated_at_unix_ms": r.updated_at_unix_ms,
            "fingers": [{"finger": _position_name(f.finger_position), "minutiae": f.minutiae, "quality": f.quality,
                         "width": f.width, "height": f.height, "dpi": f.dpi,
                         "native_template_bytes": len(f.native_template)} for f in r.fingers]}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m server.client", description="Call a Basma service; prints JSON.")
    p.add_argument("--target", required=True, help="HOST:PORT")
    tls = p.add_mutually_exclusive_group()
    tls.add_argument("--plaintext", action="store_true", help="no TLS (a --plaintext-localhost server)")
    tls.add_argument("--ca", type=Path, help="CA certificate of the server (PEM)")
    p.add_argument("--cert", type=Path, help="client certificate for mTLS (PEM)")
    p.add_argument("--key", type=Path, help="client key for mTLS (PEM)")
    p.add_argument("--api-key", help="API key (x-api-key metadata)")
    p.add_argument("--timeout", type=float, default=30.0, help="deadline per call, seconds")
    sub = p.add_subparsers(dest="command", required=True)

    def samples(q: argparse.ArgumentParser, many: bool) -> None:
        q.add_argument("images", type=Path, nargs="+" if many else 1, metavar="IMAGE")
        q.add_argument("--finger", type=int, action="append", help="finger position 0-10 (once, or once per file)")
        q.add_argument("--dpi", type=int, default=0, help="image resolution (0: from the file)")
        q.add_argument("--template", choices=sorted(_FORMATS), help="the files are templates of this format")

    q = sub.add_parser("extract", help="image -> template")
    q.add_argument("image", type=Path)
    q.add_argument("--dpi", type=int, default=0)
    q.add_argument("--format", choices=sorted(_FORMATS), default="native")
    q.add_argument("--out", type=Path, help="write the template here")
    q = sub.add_parser("enroll", help="enrol fingers of a subject")
    q.add_argument("--subject", required=True)
    samples(q, many=True)
    q.add_argument("--replace", action="store_true")
    q.add_argument("--check-duplicates", action="store_true")
    q.add_argument("--reject-duplicates", action="store_true")
    q = sub.add_parser("verify", help="1:1 against a subject")
    q.add_argument("--subject", required=True)
    samples(q, many=True)
    q.add_argument("--fmr", type=float, default=0.0, help="false match rate (default 1e-4)")
    q = sub.add_parser("identify", help="1:N search")
    samples(q, many=True)
    q.add_argument("--k", type=int, default=10)
    q.add_argument("--same-finger", action="store_true")
    q = sub.add_parser("delete", help="delete a subject")
    q.add_argument("--subject", required=True)
    q = sub.add_parser("get", help="a subject's metadata")
    q.add_argument("--subject", required=True)
    q.add_argument("--templates", action="store_true", help="include templates (admin only)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; print its JSON; 0 on success, 1 for a failed call, 2 for a usage error."""
    parser = _parser()
    args = parser.parse_args(argv)
    if (args.cert is None) != (args.key is None):
        parser.error("--cert and --key go together")
    try:
        with Client(args.target, api_key=args.api_key, plaintext=args.plaintext, ca=args.ca, cert=args.cert,
                    key=args.key, timeout=args.timeout) as client:
            result = _run(client, args)
    except grpc.RpcError as exc:
        print(json.dumps({"code": exc.code().name, "message": exc.details() or ""}))
        return 1
    except OSError as exc:
        print(json.dumps({"code": "LOCAL_ERROR", "message": f"{exc.filename or ''}: {exc.strerror}"}))
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""A Python client of the Basma service and its command line.

``python -m server.client --target HOST:PORT [--plaintext | --ca F [--cert F --key F]]
[--api-key K] COMMAND ...`` with COMMAND one of ``extract``, ``enroll``, ``verify``,
``identify``, ``delete``, ``get``, or ``sim ACTION`` (SIM registration: ``register``,
``transfer``, ``list``, ``deactivate``, ``otp-request``, ``otp-confirm``, ``outbox``, ``audit``,
``business-add``, ``delegate-add``, ``business-user-add``, ``business-users``). Each prints one JSON object on stdout; a failed call prints
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
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import grpc

from server.api import pb, rpc
from server.sim.wire import simpb, simrpc

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
        #: The SimRegistration stub: ``client.sim_call("RegisterSim", request)``.
        self.sim_stub = simrpc.SimRegistrationStub(self.channel)
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

    def sim_call(self, method: str, request: Any, request_id: str | None = None) -> Any:
        """Call ``method`` of the SimRegistration service with this client's credentials and deadline."""
        metadata = self.metadata + ((("x-request-id", request_id),) if request_id else ())
        return getattr(self.sim_stub, method)(request, timeout=self.timeout, metadata=metadata)

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


def _enum(enum: Any, value: int, prefix: str) -> str:
    return enum.Name(value).removeprefix(prefix).lower()


def _binding(b: Any) -> dict[str, Any]:
    return {"registration_id": b.registration_id, "msisdn": b.msisdn, "operator": b.operator,
            "sim_type": _enum(simpb.SimType, b.sim_type, "SIM_TYPE_"),
            "channel": _enum(simpb.Channel, b.channel, "CHANNEL_"), "active": b.active, "business": b.business,
            "created_at_unix_ms": b.created_at_unix_ms, "verified_at_unix_ms": b.verified_at_unix_ms,
            "deactivated_at_unix_ms": b.deactivated_at_unix_ms}


def _run_sim(client: Client, args: argparse.Namespace) -> dict[str, Any]:
    action = args.sim_command
    channel = simpb.Channel.Value("CHANNEL_" + args.channel.upper()) if getattr(args, "channel", None) else 0
    if action in ("register", "transfer"):
        key = args.idempotency_key or uuid.uuid4().hex
        common = dict(national_id=args.national_id, msisdn=args.msisdn, operator=args.operator, channel=channel,
                      captures=_samples(args, args.images), idempotency_key=key, otp_id=args.otp_id or "")
        if action == "register":
            request: Any = simpb.RegisterSimRequest(
                sim_type=simpb.SimType.Value("SIM_TYPE_" + args.sim_type.upper()), **common)
            r = client.sim_call("RegisterSim", request)
        else:
            r = client.sim_call("TransferSim", simpb.TransferSimRequest(**common))
        out = {"decision": _enum(simpb.Decision, r.decision, "DECISION_"),
               "reason": simpb.Reason.Name(r.reason).removeprefix("REASON_"), "score": round(r.score, 6),
               "registration_id": r.registration_id, "msisdn": r.msisdn, "idempotency_key": key,
               "replayed": r.replayed, "detail": r.detail}
        if r.fraud_flag_id:
            out["fraud_flag_id"] = r.fraud_flag_id
        return out
    if action == "list":
        r = client.sim_call("ListSims", simpb.ListSimsRequest(national_id=args.national_id))
        return {"sims": [_binding(b) for b in r.sims]}
    if action == "deactivate":
        r = client.sim_call("DeactivateSim", simpb.DeactivateSimRequest(msisdn=args.msisdn))
        return {"deactivated": True, "registration_id": r.registration_id}
    if action == "otp-request":
        r = client.sim_call("RequestOtp", simpb.RequestOtpRequest(national_id=args.national_id, msisdn=args.msisdn,
                                                                  operator=args.operator))
        return {"otp_id": r.otp_id, "expires_at_unix_ms": r.expires_at_unix_ms}
    if action == "otp-confirm":
        r = client.sim_call("ConfirmOtp", simpb.ConfirmOtpRequest(otp_id=args.otp_id, code=args.code))
        return {"outcome": _enum(simpb.OtpOutcome, r.outcome, "OTP_OUTCOME_"), "attempts_left": r.attempts_left}
    if action == "outbox":
        r = client.sim_call("ListOutbox", simpb.ListOutboxRequest(status=args.status, limit=args.limit))
        return {"messages": [{"id": m.id, "kind": m.kind, "to": m.msisdn_masked, "status": m.status,
                              "attempts": m.attempts, "text_ar": m.text_ar, "text_en": m.text_en,
                              "created_at_unix_ms": m.created_at_unix_ms,
                              "delivered_at_unix_ms": m.delivered_at_unix_ms} for m in r.messages]}
    if action == "audit":
        reason = simpb.Reason.Value("REASON_" + args.reason.upper()) if args.reason else 0
        r = client.sim_call("ListAudit", simpb.ListAuditRequest(action=args.action, operator=args.operator,
                                                                channel=channel, reason=reason,
                                                                after_seq=args.after_seq, limit=args.limit))
        return {"entries": [{"seq": e.seq, "at_unix_ms": e.at_unix_ms, "action": e.action, "principal": e.principal,
                             "operator": e.operator, "business": e.business,
                             "channel": _enum(simpb.Channel, e.channel, "CHANNEL_") if e.channel else "",
                             "national_id": e.national_id_masked, "msisdn": e.msisdn_masked,
                             "decision": _enum(simpb.Decision, e.decision, "DECISION_") if e.decision else "",
                             "reason": simpb.Reason.Name(e.reason).removeprefix("REASON_") if e.reason else "",
                             "registration_id": e.registration_id, "request_id": e.request_id} for e in r.entries]}
    if action == "business-add":
        r = client.sim_call("RegisterBusiness", simpb.RegisterBusinessRequest(cr_number=args.cr, name=args.name))
        return {"created": r.created}
    if action == "delegate-add":
        r = client.sim_call("RegisterDelegate", simpb.RegisterDelegateRequest(
            cr_number=args.cr, national_id=args.national_id, principal=args.principal))
        return {"created": r.created}
    if action == "business-user-add":
        r = client.sim_call("AddBusinessUser", simpb.AddBusinessUserRequest(cr_number=args.cr,
                                                                            national_id=args.national_id))
        return {"created": r.created}
    r = client.sim_call("ListBusinessUsers", simpb.ListBusinessUsersRequest(cr_number=args.cr))
    return {"users": [{"national_id": u.national_id, "enrolled": u.enrolled, "sims": [_binding(b) for b in u.sims]}
                      for u in r.users]}


def _run(client: Client, args: argparse.Namespace) -> dict[str, Any]:
    if args.command == "sim":
        return _run_sim(client, args)
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


def add_connection_arguments(parser: argparse.ArgumentParser, *, target: str | None = None) -> None:
    """``--target`` (required unless a default is given), ``--plaintext | --ca``, ``--cert``, ``--key``."""
    if target is None:
        parser.add_argument("--target", required=True, help="HOST:PORT")
    else:
        parser.add_argument("--target", default=target, help="HOST:PORT (default: %(default)s)")
    tls = parser.add_mutually_exclusive_group()
    tls.add_argument("--plaintext", action="store_true", help="no TLS (a --plaintext-localhost server)")
    tls.add_argument("--ca", type=Path, help="CA certificate of the server (PEM, e.g. .dev/ca.pem)")
    parser.add_argument("--cert", type=Path, help="client certificate for mTLS (PEM)")
    parser.add_argument("--key", type=Path, help="client key for mTLS (PEM)")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m server.client", description="Call a Basma service; prints JSON.")
    add_connection_arguments(p)
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
    _sim_parser(sub.add_parser("sim", help="SIM registration (docs/SIM.md)"), samples)
    return p


def _sim_parser(p: argparse.ArgumentParser, samples: Any) -> None:
    channels = ["store", "kiosk", "online", "delegate"]
    sub = p.add_subparsers(dest="sim_command", required=True)
    for name in ("register", "transfer"):
        q = sub.add_parser(name, help="verify the captures and bind the MSISDN" if name == "register"
                           else "move an active MSISDN to a new holder (verifies the new holder)")
        q.add_argument("--national-id", required=True, help="10-digit national id or iqama number")
        q.add_argument("--msisdn", required=True, help="+9665XXXXXXXX or 05XXXXXXXX")
        q.add_argument("--operator", required=True)
        if name == "register":
            q.add_argument("--sim-type", required=True, choices=["prepaid", "postpaid", "data"])
        q.add_argument("--channel", required=True, choices=channels)
        q.add_argument("--idempotency-key", help="reuse to retry safely (default: a new random key)")
        q.add_argument("--otp-id", help="online channel: the confirmed one-time code")
        samples(q, many=True)
    q = sub.add_parser("list", help="a subject's SIMs")
    q.add_argument("--national-id", required=True)
    q = sub.add_parser("deactivate", help="end the active binding of an MSISDN")
    q.add_argument("--msisdn", required=True)
    q = sub.add_parser("otp-request", help="online channel: send a one-time code")
    q.add_argument("--national-id", required=True)
    q.add_argument("--msisdn", required=True)
    q.add_argument("--operator", required=True)
    q = sub.add_parser("otp-confirm", help="online channel: check a one-time code")
    q.add_argument("--otp-id", required=True)
    q.add_argument("--code", required=True)
    q = sub.add_parser("outbox", help="queued and delivered SMS (admin)")
    q.add_argument("--status", choices=["pending", "delivered"], default="")
    q.add_argument("--limit", type=int, default=20)
    q = sub.add_parser("audit", help="the audit log (admin)")
    q.add_argument("--action", default="")
    q.add_argument("--operator", default="")
    q.add_argument("--channel", choices=channels)
    q.add_argument("--reason", default="", help="e.g. VERIFIED, NOT_MATCHED")
    q.add_argument("--after-seq", type=int, default=0)
    q.add_argument("--limit", type=int, default=100)
    q = sub.add_parser("business-add", help="register a business (admin)")
    q.add_argument("--cr", required=True, help="commercial registration number")
    q.add_argument("--name", required=True)
    q = sub.add_parser("delegate-add", help="register a delegate of a business (admin)")
    q.add_argument("--cr", required=True)
    q.add_argument("--national-id", required=True)
    q.add_argument("--principal", required=True, help="the delegate's principal name")
    q = sub.add_parser("business-user-add", help="add a user to a business (admin)")
    q.add_argument("--cr", required=True)
    q.add_argument("--national-id", required=True)
    q = sub.add_parser("business-users", help="verification status of a business's users (delegate, admin)")
    q.add_argument("--cr", required=True)


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
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

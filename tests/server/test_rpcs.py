"""Every RPC against a real server (plaintext localhost, SQLite store in tmp_path)."""

from __future__ import annotations

import io

import grpc
import pytest
from PIL import Image

import matcher
from server.api import pb
from server.biometrics import _check_deadline
from server.client import image_sample, template_sample
from server.errors import DeadlineExceededError
from tests.matcher.test_cli import fork_pattern
from tests.server.conftest import native, random_template

RIGHT_INDEX = pb.FINGER_POSITION_RIGHT_INDEX
LEFT_INDEX = pb.FINGER_POSITION_LEFT_INDEX


def code_of(call, *args, **kwargs) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as info:
        call(*args, **kwargs)
    assert "Traceback" not in (info.value.details() or "")
    return info.value.code()


def test_enroll_verify_identify_get_delete_with_templates(service, connect):
    admin = connect(service)
    reply = admin.enroll("1000000001", [template_sample(native(1), finger=RIGHT_INDEX),
                                        template_sample(native(2), finger=LEFT_INDEX)])
    assert reply.enrolled and list(reply.finger_positions) == [RIGHT_INDEX, LEFT_INDEX]
    admin.enroll("1000000002", [template_sample(native(3), finger=RIGHT_INDEX)])

    operator = connect(service, "operator")
    genuine = operator.verify("1000000001", [template_sample(native(1), finger=RIGHT_INDEX)])
    assert genuine.match and genuine.score > 0.9 and genuine.fmr == pytest.approx(1e-4)
    assert genuine.threshold == pytest.approx(matcher.threshold_for_fmr(1e-4))
    impostor = operator.verify("1000000001", [template_sample(native(3), finger=RIGHT_INDEX)])
    assert not impostor.match and impostor.score < impostor.threshold
    # Unknown position: the best of the subject's fingers; two fingers fuse.
    assert operator.verify("1000000001", [template_sample(native(2))]).match
    two = operator.verify("1000000001", [template_sample(native(1), finger=RIGHT_INDEX),
                                         template_sample(native(2), finger=LEFT_INDEX)], fmr=1e-3)
    assert two.match and len(two.finger_scores) == 2 and two.fmr == pytest.approx(1e-3)

    found = operator.identify([template_sample(native(3))], k=5)
    assert found.candidates[0].subject_id == "1000000002" and found.gallery_subjects == 2
    assert found.candidates[0].finger_position == RIGHT_INDEX
    same = operator.identify([template_sample(native(2), finger=LEFT_INDEX)], same_finger_only=True, max_fmr=1e-3)
    assert [c.subject_id for c in same.candidates] == ["1000000001"]

    record = operator.get("1000000001")
    assert [f.finger_position for f in record.fingers] == [RIGHT_INDEX, LEFT_INDEX]
    assert record.fingers[0].minutiae == 40 and record.fingers[0].native_template == b""
    assert record.created_at_unix_ms > 0
    full = admin.get("1000000001", include_templates=True)
    assert matcher.formats.loads(full.fingers[0].native_template, "native") == random_template(1)

    assert admin.delete("1000000001").fingers_deleted == 2
    assert code_of(operator.verify, "1000000001", [template_sample(native(1))]) == grpc.StatusCode.NOT_FOUND
    assert [c.subject_id for c in operator.identify([template_sample(native(1))]).candidates] == ["1000000002"]


def test_iso_and_ansi_templates_are_accepted(service, connect):
    admin = connect(service)
    iso = matcher.formats.dumps(random_template(5), format="iso")
    ansi = matcher.formats.dumps(random_template(5), format="ansi")
    admin.enroll("iso-subject", [template_sample(iso, format="iso", finger=RIGHT_INDEX)])
    assert admin.verify("iso-subject", [template_sample(ansi, format="ansi", finger=RIGHT_INDEX)]).match


def test_enroll_adds_fingers_refuses_a_taken_position_and_replaces_on_request(service, connect):
    admin = connect(service)
    admin.enroll("s1", [template_sample(native(1), finger=RIGHT_INDEX)])
    assert list(admin.enroll("s1", [template_sample(native(2), finger=LEFT_INDEX)]).finger_positions) == \
        [RIGHT_INDEX, LEFT_INDEX]
    assert code_of(admin.enroll, "s1", [template_sample(native(3), finger=RIGHT_INDEX)]) == \
        grpc.StatusCode.ALREADY_EXISTS
    assert admin.verify("s1", [template_sample(native(1), finger=RIGHT_INDEX)]).match
    admin.enroll("s1", [template_sample(native(3), finger=RIGHT_INDEX)], replace=True)
    assert admin.verify("s1", [template_sample(native(3), finger=RIGHT_INDEX)]).match
    assert not admin.verify("s1", [template_sample(native(1), finger=RIGHT_INDEX)]).match


def test_duplicate_check_reports_and_optionally_rejects(service, connect):
    admin = connect(service)
    admin.enroll("original", [template_sample(native(7), finger=RIGHT_INDEX)])
    rejected = admin.enroll("impostor", [template_sample(native(7), finger=LEFT_INDEX)], check_duplicates=True,
                            reject_duplicates=True)
    assert not rejected.enrolled and [d.subject_id for d in rejected.duplicates] == ["original"]
    assert list(rejected.finger_positions) == [] and rejected.duplicates[0].finger_position == RIGHT_INDEX
    assert code_of(admin.get, "impostor") == grpc.StatusCode.NOT_FOUND
    reported = admin.enroll("twin", [template_sample(native(7), finger=LEFT_INDEX)], check_duplicates=True)
    assert reported.enrolled and reported.duplicates[0].subject_id == "original"
    clean = admin.enroll("fresh", [template_sample(native(8), finger=LEFT_INDEX)], check_duplicates=True)
    assert clean.enrolled and not clean.duplicates


@pytest.mark.dataset
def test_real_images_extract_enroll_and_verify(service, connect, fvc2002):
    folder = fvc2002 / "db1_b"
    admin = connect(service)
    extracted = admin.extract((folder / "101_1.tif").read_bytes(), format="iso")
    assert extracted.format == pb.TEMPLATE_FORMAT_ISO and extracted.minutiae > 10 and 0 < extracted.quality <= 100
    assert len(matcher.formats.loads(extracted.template, "iso")) == extracted.minutiae
    reply = admin.enroll("1000000101", [image_sample(folder / "101_1.tif", finger=RIGHT_INDEX)])
    assert reply.enrolled and reply.qualities[0] > 0
    operator = connect(service, "delegate")
    assert operator.verify("1000000101", [image_sample(folder / "101_2.tif", finger=RIGHT_INDEX)]).match
    assert not operator.verify("1000000101", [image_sample(folder / "102_2.tif", finger=RIGHT_INDEX)]).match


@pytest.mark.parametrize("sample, expected", [
    (pb.FingerSample(image=pb.Image(data=b"definitely not an image")), grpc.StatusCode.INVALID_ARGUMENT),
    (pb.FingerSample(image=pb.Image(data=b"")), grpc.StatusCode.INVALID_ARGUMENT),
    (pb.FingerSample(native_template=b""), grpc.StatusCode.INVALID_ARGUMENT),
    (pb.FingerSample(native_template=b"BSMT\x00garbage"), grpc.StatusCode.INVALID_ARGUMENT),
    (pb.FingerSample(iso_template=b"FMR\x00short"), grpc.StatusCode.INVALID_ARGUMENT),
    (pb.FingerSample(), grpc.StatusCode.INVALID_ARGUMENT),
    (pb.FingerSample(finger_position=11, native_template=native(1)), grpc.StatusCode.INVALID_ARGUMENT),
])
def test_bad_samples_are_invalid_argument_and_store_nothing(service, connect, sample, expected):
    admin = connect(service)
    assert code_of(admin.enroll, "bad-input", [sample]) == expected
    assert code_of(admin.get, "bad-input") == grpc.StatusCode.NOT_FOUND


def test_invalid_requests(service, connect):
    admin = connect(service)
    admin.enroll("s1", [template_sample(native(1), finger=RIGHT_INDEX)])
    invalid = grpc.StatusCode.INVALID_ARGUMENT
    empty = matcher.formats.dumps(matcher.Template.empty(width=300, height=400))
    assert code_of(admin.enroll, "s2", [template_sample(empty, finger=RIGHT_INDEX)]) == invalid
    assert code_of(admin.enroll, "", [template_sample(native(1))]) == invalid
    assert code_of(admin.enroll, "bad\nid", [template_sample(native(1))]) == invalid
    assert code_of(admin.enroll, "s2", []) == invalid
    assert code_of(admin.enroll, "s2", [template_sample(native(i), finger=i % 11) for i in range(11)]) == invalid
    assert code_of(admin.enroll, "s2", [template_sample(native(1), finger=2), template_sample(native(2), finger=2)]) \
        == invalid
    assert code_of(admin.verify, "s1", [template_sample(native(1))], fmr=2.0) == invalid
    assert code_of(admin.verify, "s1", [template_sample(native(1))], fmr=1e-12) == invalid
    assert code_of(admin.identify, [template_sample(native(1))], k=101) == invalid
    assert code_of(admin.identify, [template_sample(native(1))], same_finger_only=True) == invalid
    assert code_of(admin.extract, b"") == invalid
    assert code_of(admin.verify, "s1", [template_sample(native(1), finger=LEFT_INDEX)]) == \
        grpc.StatusCode.FAILED_PRECONDITION
    assert code_of(admin.delete, "nobody") == grpc.StatusCode.NOT_FOUND
    assert code_of(admin.get, "nobody") == grpc.StatusCode.NOT_FOUND
    assert code_of(admin.verify, "nobody", [template_sample(native(1))]) == grpc.StatusCode.NOT_FOUND


def test_oversized_message_is_resource_exhausted(start_service, connect):
    service = start_service(max_message_bytes=64 * 1024)
    admin = connect(service)
    big = pb.FingerSample(image=pb.Image(data=bytes(100 * 1024)))
    assert code_of(admin.enroll, "s1", [big]) == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_oversized_image_is_invalid_argument(service, connect):
    import io

    import numpy as np
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.zeros((4100, 70), np.uint8)).save(buffer, format="PNG")
    assert code_of(connect(service).extract, buffer.getvalue()) == grpc.StatusCode.INVALID_ARGUMENT


def test_passed_deadline_is_deadline_exceeded(service, connect):
    # The probe is an image: its extraction takes milliseconds, far past the deadline (which gRPC
    # sends rounded up: a template-only call for an unknown id sometimes came back NOT_FOUND
    # inside it), so the client's deadline, or the server's check before matching, answers.
    client = connect(service)
    client.timeout = 1e-6
    pixels = io.BytesIO()
    Image.fromarray(fork_pattern()).save(pixels, format="PNG")
    assert code_of(client.verify, "s1", [image_sample(pixels.getvalue())]) == grpc.StatusCode.DEADLINE_EXCEEDED


class _Context:
    def __init__(self, remaining: float | None) -> None:
        self.remaining = remaining

    def time_remaining(self) -> float | None:
        return self.remaining


@pytest.mark.parametrize("remaining", [0.0, -0.5])
def test_the_servicer_refuses_work_once_the_deadline_passed(remaining: float) -> None:
    with pytest.raises(DeadlineExceededError, match="before matching"):
        _check_deadline(_Context(remaining), "matching")


@pytest.mark.parametrize("remaining", [None, 1e-3, 30.0])
def test_the_servicer_works_while_time_remains(remaining: float | None) -> None:
    _check_deadline(_Context(remaining), "matching")     # no deadline, or time left: no error

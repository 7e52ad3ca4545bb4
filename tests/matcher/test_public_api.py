"""The public API is exactly matcher.__all__ (pinned) and the library stays free of the
server's dependencies."""

import subprocess
import sys

import matcher

EXPECTED = {
    "ExtractionParams", "FingerPosition", "FingerView", "FingerprintImage", "InvalidImageError",
    "InvalidParameterError", "InvalidTemplateError", "MatcherError", "MinutiaKind",
    "NativeExtensionError", "Template", "TemplateVersionError", "__version__", "extract",
    "formats", "load_image", "transparency", "Matcher", "MatchingParams", "matching", "fuse",
    "threshold_for_fmr", "verify", "UnknownIdError", "DuplicateIdError", "CorruptGalleryError",
}


def test_public_api_is_pinned():
    assert set(matcher.__all__) == EXPECTED
    for name in matcher.__all__:
        assert hasattr(matcher, name), name


def test_every_error_derives_from_matcher_error():
    for name in matcher.__all__:
        value = getattr(matcher, name)
        if isinstance(value, type) and issubclass(value, Exception):
            assert issubclass(value, matcher.MatcherError), name


def test_library_does_not_import_grpc_prometheus_or_protobuf():
    code = ("import sys, matcher, matcher.features, matcher.formats, matcher.matching; "
            "bad = [m for m in sys.modules if m.split('.')[0] in "
            "('grpc', 'prometheus_client', 'google')]; print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr

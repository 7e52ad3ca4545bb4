"""Generate the gRPC stubs of ``proto/basma/v1/*.proto`` into the git-ignored ``server/_proto/``.

``python -m server.protogen`` (what ``make proto`` and ``make install`` run). ``protoc`` writes
absolute imports (``from basma.v1 import biometrics_pb2``); they are rewritten to
``server._proto.basma.v1`` so the stubs import as a private sub-package of ``server``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "proto"
OUT_DIR = ROOT / "server" / "_proto"
_IMPORT = re.compile(r"^from basma\.v1 import", re.MULTILINE)


def generate(proto_dir: Path = PROTO_DIR, out_dir: Path = OUT_DIR) -> list[Path]:
    """Run protoc on every ``.proto`` under ``proto_dir``; return the generated Python files.

    Raises
    ------
    RuntimeError
        When protoc fails (its exit status is in the message; protoc prints the reason).
    """
    from grpc_tools import protoc  # build-time dependency only

    sources = sorted(proto_dir.rglob("*.proto"))
    if not sources:
        raise RuntimeError(f"no .proto files under {proto_dir}")
    out_dir.mkdir(parents=True, exist_ok=True)
    include = Path(protoc.__file__).resolve().parent / "_proto"
    status = protoc.main(["grpc_tools.protoc", f"-I{proto_dir}", f"-I{include}", f"--python_out={out_dir}",
                          f"--pyi_out={out_dir}", f"--grpc_python_out={out_dir}",
                          *(str(p.relative_to(proto_dir)) for p in sources)])
    if status != 0:
        raise RuntimeError(f"protoc failed with status {status} on {[str(p) for p in sources]}")
    written = sorted(out_dir.rglob("*_pb2*.py")) + sorted(out_dir.rglob("*_pb2*.pyi"))
    for path in written:
        text = path.read_text()
        fixed = _IMPORT.sub("from server._proto.basma.v1 import", text)
        if fixed != text:
            path.write_text(fixed)
    for folder in [out_dir, *(p for p in out_dir.rglob("*") if p.is_dir())]:
        (folder / "__init__.py").touch()
    return written


def main() -> int:
    files = generate()
    print(f"generated {len(files)} stub files into {OUT_DIR.relative_to(ROOT)}/", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

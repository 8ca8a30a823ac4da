"""Regenerate the Python modules of alambic's .proto files (committed; never edited).

Usage:
    python scripts/generate_protos.py            # into src/ (what is committed)
    python scripts/generate_protos.py --out DIR  # elsewhere (the staleness test)

Each ``src/alambic/**/_proto/*.proto`` gets its ``_pb2.py``, ``_pb2.pyi`` and
``_pb2_grpc.py`` beside it, written by grpcio-tools (the ``dev`` extra). The messages
are built in a descriptor pool of their own, not protobuf's default one: KServe's and
Triton's stubs (``tritonclient.grpc``) define the same ``inference.*`` names, and a
process that imports both would fail with "duplicate symbol" otherwise.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"


def protos() -> list[Path]:
    """The .proto files, relative to ``src/`` (their import path)."""
    return sorted(p.relative_to(SRC) for p in SRC.glob("alambic/**/_proto/*.proto"))


def generate(out: Path) -> list[Path]:
    """Write the modules of every .proto under ``out`` (a tree like ``src/``)."""
    from grpc_tools import protoc

    out.mkdir(parents=True, exist_ok=True)
    written = []
    for proto in protos():
        args = [
            "grpc_tools.protoc",
            f"-I{SRC}",
            f"--python_out={out}",
            f"--pyi_out={out}",
            f"--grpc_python_out={out}",
            str(proto),
        ]
        if protoc.main(args) != 0:
            raise SystemExit(f"protoc failed on {proto}")
        stem = proto.with_suffix("")
        _private_pool(out / f"{stem}_pb2.py")
        written += [out / f"{stem}_pb2.py", out / f"{stem}_pb2.pyi", out / f"{stem}_pb2_grpc.py"]
    return written


def _private_pool(module: Path) -> None:
    """Build the module's messages in a pool of its own (see the module docstring)."""
    text = module.read_text()
    default = "DESCRIPTOR = _descriptor_pool.Default().AddSerializedFile("
    if text.count(default) != 1:
        raise SystemExit(f"{module}: protoc's output changed; expected one {default}")
    text = text.replace(
        default,
        "# scripts/generate_protos.py: a pool of its own (Triton's stubs share the names)\n"
        "DESCRIPTOR = _descriptor_pool.DescriptorPool().AddSerializedFile(",
    )
    module.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=SRC, help="root to write under (src/)")
    args = parser.parse_args(argv)
    for path in generate(args.out):
        sys.stdout.write(f"wrote {path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

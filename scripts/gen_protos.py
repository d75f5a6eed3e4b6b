"""Regenerate the Python code of protos/ into the repository (or into --out for the diff check).

Usage: python scripts/gen_protos.py [--out DIR]
Writes cosim/v1/splitfed_pb2.py, splitfed_pb2.pyi and splitfed_pb2_grpc.py under DIR (default: repo root).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROTOS = ROOT / "protos"
PROTO_FILES = ("cosim/v1/splitfed.proto",)


def generate(out: Path) -> list[Path]:
    """Run grpc_tools.protoc on every proto file; return the generated files."""
    import grpc_tools
    from grpc_tools import protoc

    include = Path(grpc_tools.__file__).parent / "_proto"
    out.mkdir(parents=True, exist_ok=True)
    args = [
        "protoc",
        f"-I{PROTOS}",
        f"-I{include}",
        f"--python_out={out}",
        f"--pyi_out={out}",
        f"--grpc_python_out={out}",
        *(str(PROTOS / p) for p in PROTO_FILES),
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    files = []
    for p in PROTO_FILES:
        stem = Path(p).with_suffix("")
        files += [out / f"{stem}_pb2.py", out / f"{stem}_pb2.pyi", out / f"{stem}_pb2_grpc.py"]
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT, help="output root (default: the repository)")
    args = parser.parse_args(argv)
    for f in generate(args.out):
        print(f.relative_to(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())

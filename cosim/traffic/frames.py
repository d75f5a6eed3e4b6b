"""Frames between the traffic process and the co-simulation: a kind, a small JSON header and raw numpy arrays.

A frame is ``len(header) (4 bytes, little-endian) | header (UTF-8 JSON) | array bytes``; the header holds
the kind, plain metadata and each array's name, dtype and shape. Arrays travel as their raw bytes and are
read back with :func:`numpy.frombuffer` (no pickling), so floats arrive bit for bit.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from typing import Any

import numpy as np

_LEN = struct.Struct("<I")


def encode(kind: str, meta: Mapping[str, Any] | None = None, arrays: Mapping[str, np.ndarray] | None = None) -> bytes:
    """One frame of ``kind`` with JSON-ready ``meta`` and ``arrays`` (C-contiguous copies are made as needed)."""
    parts: list[bytes] = []
    spec = []
    for name, a in (arrays or {}).items():
        a = np.ascontiguousarray(a)
        spec.append([name, a.dtype.str, list(a.shape)])
        parts.append(a.tobytes())
    header = json.dumps({"kind": kind, "meta": dict(meta or {}), "arrays": spec}, separators=(",", ":")).encode()
    return b"".join([_LEN.pack(len(header)), header, *parts])


def decode(frame: bytes) -> tuple[str, dict[str, Any], dict[str, np.ndarray]]:
    """``(kind, meta, arrays)`` of a frame written by :func:`encode` (arrays are read-only views of it)."""
    (n,) = _LEN.unpack_from(frame, 0)
    header = json.loads(frame[_LEN.size : _LEN.size + n])
    offset = _LEN.size + n
    arrays: dict[str, np.ndarray] = {}
    for name, dtype, shape in header["arrays"]:
        dt = np.dtype(dtype)
        count = int(np.prod(shape, dtype=np.int64))
        arrays[name] = np.frombuffer(frame, dtype=dt, count=count, offset=offset).reshape(shape)
        offset += count * dt.itemsize
    return header["kind"], header["meta"], arrays


__all__ = ["decode", "encode"]

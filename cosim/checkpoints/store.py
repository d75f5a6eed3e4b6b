"""A run's checkpoint file: a tree of plain values and numpy arrays, written atomically, read without pickle.

``checkpoint.npz`` in the run folder holds one tree (nested dicts and lists of strings, numbers, booleans,
None and numpy arrays): every array is an entry of the ``.npz`` and the rest is one JSON document in the
entry ``tree`` (arrays appear in it as ``{"__array__": "<entry>"}``). It is written to a temporary file,
flushed to disk, then renamed over the previous checkpoint, so a crash leaves the old one or the new one,
never a mixture. Reading uses ``allow_pickle=False``: a run folder cannot make cosim run code.

What the tree holds is decided by the writer (:mod:`cosim.checkpoints.run`); this module only stores it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from cosim.errors import RunFolderError, writing

CHECKPOINT = "checkpoint.npz"
"""File name of a run's checkpoint inside its folder."""
FORMAT = 1
_ARRAY = "__array__"


def save(folder: str | Path, tree: Mapping[str, Any]) -> Path:
    """Write ``tree`` as ``folder/checkpoint.npz`` atomically (temporary file, fsync, rename, fsync of the folder)."""
    arrays: dict[str, np.ndarray] = {}
    doc = {"format": FORMAT, "tree": _encode(tree, arrays, "t")}
    text = json.dumps(doc, allow_nan=True)
    folder = Path(folder)
    path = folder / CHECKPOINT
    tmp = folder / f".{CHECKPOINT}.tmp"
    try:
        with writing(path), open(tmp, "wb") as fh:
            np.savez(fh, allow_pickle=False, tree=np.frombuffer(text.encode(), dtype=np.uint8), **arrays)
            fh.flush()
            os.fsync(fh.fileno())
        with writing(path):
            os.replace(tmp, path)
    except BaseException:
        try:
            tmp.unlink(missing_ok=True)  # the previous checkpoint stays
        except OSError:
            pass
        raise
    _fsync_dir(folder)
    return path


def load(folder: str | Path) -> dict[str, Any] | None:
    """The tree of ``folder/checkpoint.npz``, or None when there is none; a damaged file is one RunFolderError."""
    path = Path(folder) / CHECKPOINT
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: np.array(data[k]) for k in data.files}
        doc = json.loads(bytes(arrays.pop("tree")).decode())
    except (OSError, ValueError, KeyError, EOFError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RunFolderError(f"{path}: not a readable checkpoint ({exc})") from None
    fmt = doc.get("format") if isinstance(doc, dict) else None
    if fmt != FORMAT:
        raise RunFolderError(f"{path}: checkpoint format {fmt!r}, this cosim reads {FORMAT}")
    return _decode(doc["tree"], arrays, path)


def _encode(value: Any, arrays: dict[str, np.ndarray], key: str) -> Any:
    if isinstance(value, np.ndarray):
        arrays[key] = value
        return {_ARRAY: key}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        if any(not isinstance(k, str) for k in value):
            raise TypeError(f"checkpoint: keys must be strings at {key}")
        return {k: _encode(v, arrays, f"{key}/{k}") for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(v, arrays, f"{key}/{i}") for i, v in enumerate(value)]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"checkpoint: cannot store a {type(value).__name__} at {key}")


def _decode(value: Any, arrays: Mapping[str, np.ndarray], path: Path) -> Any:
    if isinstance(value, dict):
        if set(value) == {_ARRAY}:
            try:
                return arrays[value[_ARRAY]]
            except KeyError:
                raise RunFolderError(f"{path}: array {value[_ARRAY]!r} is missing") from None
        return {k: _decode(v, arrays, path) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v, arrays, path) for v in value]
    return value


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)

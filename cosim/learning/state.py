"""The server's state as a value, its checkpoint file, and the one line naming two models' differences.

A server checkpoint (``checkpoint.npz`` in the server's own folder, replaced atomically after every
round is aggregated) holds the server part's weights, the optimizer's state (Adam's step count and
moments, in the optimizer's variable order), every tier's client model, the round state (the last round
released and the participants of the rounds still open, not those expired) and the RSUs the server knows
(only the scenario's, when it names RSUs: :class:`cosim.learning.guards.KnownRsus`). ``cosim serve
--resume`` loads it into a server built from the same model (the fingerprints must match).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cosim.errors import RunFolderError
from cosim.learning.limits import MAX_DETAIL_CHARS, shown
from cosim.learning.models import Weights

CHECKPOINT = "checkpoint.npz"
"""File name of the server checkpoint inside the server's folder."""
FORMAT = 1


@dataclass(frozen=True)
class ServerState:
    """What a server checkpoint keeps."""

    fingerprint: str
    server: Weights
    optimizer: list[np.ndarray]
    tiers: dict[str, Weights]
    rounds: Mapping[str, Any]
    """``{"last_released": int, "open": {round: {rsu: tier}}}``."""
    known: tuple[str, ...]

    @property
    def last_round(self) -> int:
        """The last round aggregated before the checkpoint (-1: none)."""
        return int(self.rounds.get("last_released", -1))

    def to_tree(self) -> dict[str, Any]:
        """As plain values and arrays (a run's checkpoint keeps its in-process server this way)."""
        return {
            "fingerprint": self.fingerprint,
            "server": dict(self.server),
            "optimizer": list(self.optimizer),
            "tiers": {t: dict(ws) for t, ws in self.tiers.items()},
            "rounds": dict(self.rounds),
            "known": list(self.known),
        }

    @classmethod
    def from_tree(cls, t: Mapping[str, Any]) -> ServerState:
        """Read :meth:`to_tree`'s output back."""
        return cls(
            fingerprint=str(t["fingerprint"]),
            server={str(k): np.asarray(v) for k, v in dict(t["server"]).items()},
            optimizer=[np.asarray(a) for a in t["optimizer"]],
            tiers={str(k): {str(n): np.asarray(w) for n, w in dict(ws).items()} for k, ws in dict(t["tiers"]).items()},
            rounds=dict(t.get("rounds", {})),
            known=tuple(t.get("known", ())),
        )


def save_checkpoint(state: ServerState, folder: Path) -> Path:
    """Write ``folder/checkpoint.npz`` atomically (a temporary file, flushed, then renamed over the old one)."""
    arrays: dict[str, np.ndarray] = {}
    for name, w in state.server.items():
        arrays[f"server/{name}"] = w
    for i, a in enumerate(state.optimizer):
        arrays[f"optimizer/{i:05d}"] = np.asarray(a)
    for tier, ws in state.tiers.items():
        for name, w in ws.items():
            arrays[f"tier/{tier}/{name}"] = w
    meta = {
        "format": FORMAT,
        "fingerprint": state.fingerprint,
        "rounds": state.rounds,
        "known": list(state.known),
        "tiers": list(state.tiers),
    }
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / CHECKPOINT
    tmp = folder / f".{CHECKPOINT}.tmp"
    with open(tmp, "wb") as fh:
        np.savez(fh, allow_pickle=False, **arrays)  # as it is read: numbers only
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path


def load_checkpoint(folder: Path) -> ServerState:
    """Read ``folder/checkpoint.npz``; a missing or unreadable file is one :class:`RunFolderError` line."""
    path = folder / CHECKPOINT
    if not path.is_file():
        raise RunFolderError(f"{folder}: no server checkpoint ({CHECKPOINT}) to resume from")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: np.array(data[k]) for k in data.files}
        meta = json.loads(bytes(arrays.pop("meta")).decode())
    except (OSError, ValueError, KeyError, json.JSONDecodeError) as exc:
        raise RunFolderError(f"{path}: not a readable server checkpoint ({exc})") from None
    if meta.get("format") != FORMAT:
        raise RunFolderError(f"{path}: checkpoint format {meta.get('format')!r}, this version reads {FORMAT}")
    server: Weights = {}
    optimizer: dict[str, np.ndarray] = {}
    tiers: dict[str, Weights] = {t: {} for t in meta.get("tiers", [])}
    for key, a in arrays.items():
        kind, _, rest = key.partition("/")
        if kind == "server":
            server[rest] = a
        elif kind == "optimizer":
            optimizer[rest] = a
        elif kind == "tier":
            tier, _, name = rest.partition("/")
            tiers.setdefault(tier, {})[name] = a
    return ServerState(
        fingerprint=str(meta.get("fingerprint", "")),
        server=server,
        optimizer=[optimizer[k] for k in sorted(optimizer)],
        tiers=tiers,
        rounds=dict(meta.get("rounds", {})),
        known=tuple(meta.get("known", ())),
    )


def model_difference(server: Mapping[str, object], client_json: str) -> str:
    """One line naming what differs between the server's model and a client's (``describe()`` dicts)."""
    try:
        client = json.loads(client_json) if client_json else {}
    except (json.JSONDecodeError, RecursionError):
        client = {}
    if not isinstance(client, Mapping) or not client:
        return f"server {json.dumps(server, sort_keys=True)}; the client sent no model description"
    diffs = []
    for key in sorted(set(server) | {str(k) for k in client})[:32]:
        a, b = server.get(key), client.get(key)
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            for sub in sorted({str(k) for k in a} | {str(k) for k in b})[:32]:
                if a.get(sub) != b.get(sub):
                    diffs.append(
                        f"{shown(key)[1:-1]}.{shown(sub)[1:-1]}: server {a.get(sub)!r}, client {shown(b.get(sub))}"
                    )
        elif a != b:
            diffs.append(f"{shown(key)[1:-1]}: server {a!r}, client {shown(b)}")
    text = "; ".join(diffs) or "fingerprints differ"
    return text if len(text) <= MAX_DETAIL_CHARS else text[: MAX_DETAIL_CHARS - 1] + "…"

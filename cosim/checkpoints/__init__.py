"""A run's checkpoints: ``checkpoint.npz`` in its folder, written every round, and ``cosim run --resume``.

- :mod:`~cosim.checkpoints.run`: what a run's checkpoint holds (the engine's state, the in-process
  server's, how far each trace table was written), writing and reading it, and checking and taking over
  a folder to resume;
- :mod:`~cosim.checkpoints.store`: the file itself, a tree of plain values and arrays written
  atomically and read without pickle.

Two parts of checkpointing live below this package, because the layers put them there (the contracts in
pyproject.toml): this package imports the engine, the learning core and the traces, never the reverse.

- The engine's own state and its capture and restore (:mod:`cosim.engine.state`,
  :mod:`cosim.engine.restore`) stay in the engine: ``Engine.state()`` and an engine built with
  ``resume=`` call them, and the engine may import no higher layer.
- The server's state (:class:`cosim.learning.state.ServerState`) and the server's own checkpoint file
  (``cosim serve --resume``) stay in the learning core, which the rpc server below this package uses.
"""

from __future__ import annotations

from cosim.checkpoints.run import (
    RESUMABLE,
    RunCheckpoint,
    inspect,
    open_folder,
    read,
    restore_server,
    resume_note,
    write,
)
from cosim.checkpoints.store import CHECKPOINT

__all__ = [
    "CHECKPOINT",
    "RESUMABLE",
    "RunCheckpoint",
    "inspect",
    "open_folder",
    "read",
    "restore_server",
    "resume_note",
    "write",
]

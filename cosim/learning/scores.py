"""What a run's summary says about its task: how much the RSUs' labels differ, and the final model's whole-set scores.

:func:`task_summary` is called once, after the final models are saved: it returns ``label_jsd`` (a
classification workload) or ``label_eta2`` (regression), from every label each RSU received
(:mod:`cosim.traces.spread`), and, for a workload whose ``spec.scores`` names some, ``final_<name>`` of each:
the final model -- each RSU's client part as the run left it, and the saved server part -- predicts every
RSU's held-out samples, and the workload's :meth:`~cosim.plugins.Workload.scores` scores them all at once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cosim.plugins import Workload
from cosim.ports import ClientPool, RsuDataset
from cosim.traces.spread import label_spread
from cosim.types import RsuId

PREDICT_ROWS = 8192
"""Held-out rows per prediction call (bounds the memory of a large held-out set)."""


def task_summary(
    workload: Workload, datasets: Mapping[RsuId, RsuDataset], clients: ClientPool, models: Sequence[Path]
) -> dict[str, float]:
    """The label spread of the run's RSUs and the final model's whole-set scores (see the module docstring)."""
    spec = workload.spec
    out = label_spread({rsu: d.labels_seen() for rsu, d in datasets.items()}, len(spec.classes))
    if spec.scores:
        out.update(final_scores(workload, datasets, clients, _server_model(models)))
    return out


def _server_model(models: Sequence[Path]) -> Path | None:
    return next((Path(p) for p in models if Path(p).name == "server.keras"), None)


def final_scores(
    workload: Workload, datasets: Mapping[RsuId, RsuDataset], clients: ClientPool, server_model: Path | None
) -> dict[str, float]:
    """``final_<name>`` of each of the workload's scores on every RSU's held-out samples (NaN: none to score)."""
    names = workload.spec.scores
    nothing = {f"final_{n}": math.nan for n in names}
    if server_model is None or not server_model.is_file():
        return nothing
    import keras

    server: Any = keras.saving.load_model(server_model, compile=False)
    ys, preds = [], []
    for rsu, data in datasets.items():
        x, y = data.held_out()
        if not len(y):
            continue
        client = clients.get(rsu)
        for a in range(0, len(y), PREDICT_ROWS):
            act = client.forward(x[a : a + PREDICT_ROWS])
            preds.append(np.asarray(server(act, training=False)))
        ys.append(np.asarray(y))
    if not ys:
        return nothing
    scores = workload.scores(np.concatenate(ys), np.concatenate(preds))
    return {f"final_{n}": float(scores.get(n, math.nan)) for n in names}


__all__ = ["PREDICT_ROWS", "final_scores", "task_summary"]

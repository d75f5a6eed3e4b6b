"""Baselines: where a run's final model stands against four references, on the same held-out set.

Computed at the end of every run (``learning.baselines = true``, the default) from the run's own data --
the training samples its rounds took (:meth:`cosim.ports.RsuDataset.trained_on`) and the run's held-out
set (:meth:`~cosim.ports.RsuDataset.all_held_out`, the same for every strategy of a seed) -- and scored
with the workload's own loss and metric, in its units:

- **trivial** -- the mean training label (regression), or the class frequencies (classification: the
  majority class for the metric);
- **linear** -- ridge regression (alpha 1, or logistic regression for classification) on the workload's
  encoded input, sequences flattened (scikit-learn);
- **local** -- per RSU, the run's split model (client part at the depth the RSU trained most samples at,
  plus the server part, from the run's initial weights) trained on that RSU's data only, with the budget
  the run gave it: as many optimizer steps and samples as it trained over all rounds. Each RSU's model
  is scored on its own held-out samples: the **lower reference** (no federation);
- **central** -- the same model (at the deepest client depth the run used) trained on the pooled data of
  all RSUs with the run's total budget (every RSU's steps and samples): the **upper reference**.

Both trained baselines take one pass of compiled steps (one trace per client depth), so they cost about
what the run's own training costs without links or RPCs. The results go to ``baselines.csv`` in the run
folder and to run.json's summary (``baseline_<name>_loss`` / ``_metric``); :func:`baselines_table` puts
runs between them. The computation (:mod:`cosim.baselines.compute`, TensorFlow and scikit-learn) is
imported only when a run computes them; this package's top level and the table are light.
"""

from __future__ import annotations

from cosim.baselines.table import BASELINES, CSV, baselines_table, read_baselines

__all__ = ["BASELINES", "CSV", "baselines_table", "read_baselines"]

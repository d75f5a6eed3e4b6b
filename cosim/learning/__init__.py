"""Split Federated Learning: workloads, split models, compiled client/server steps, two-level aggregation.

- :mod:`cosim.learning.workloads` -- the built-in workloads (``speed-mlp``, ``speed-seq``), registered by name.
- :mod:`cosim.learning.models` -- :class:`ModelSpec` (workload + tiers + seed), weights by name.
- :mod:`cosim.learning.client` -- :class:`TierPrograms` (one compiled program per tier), :class:`RsuClients`.
- :mod:`cosim.learning.core` -- :class:`SplitServer`, the transport-free server core.
- :mod:`cosim.learning.rounds` -- the round barrier (timeout, late submissions).
- :mod:`cosim.learning.aggregation` -- FedAvg within tiers, shared layers across tiers (pure numpy).
- :mod:`cosim.learning.data` -- per-RSU data (encode, split, batches); compute models are in :mod:`cosim.compute`.
"""

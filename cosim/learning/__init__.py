"""Split Federated Learning: split models, compiled client/server steps, two-level aggregation.

- :mod:`cosim.learning.models` -- :class:`ModelSpec`, client part per tier, server part, weights by name.
- :mod:`cosim.learning.client` -- :class:`ClientPool` (one compiled program per tier), :class:`SplitClient`.
- :mod:`cosim.learning.core` -- :class:`SplitServer`, the transport-free server core.
- :mod:`cosim.learning.rounds` -- the round barrier (timeout, late submissions).
- :mod:`cosim.learning.aggregation` -- FedAvg within tiers, shared layers across tiers (pure numpy).
- :mod:`cosim.learning.evaluation` -- per-RSU results and their sample-weighted combination.
- :mod:`cosim.learning.data`, :mod:`cosim.learning.driver` -- seeded batches, synthetic data, a plain round loop.
"""

"""The built-in workloads (each registers itself in :data:`cosim.registry.WORKLOADS`).

========== ===================================================================================
speed-mlp  a vehicle's speed ``samples.horizon`` ahead from one observation (Dense layers, ~4k
           parameters): light, the default
speed-seq  the same label from the vehicle's last ``history`` observations at the RSU (causal
           1-D convolutions on the RSU, a GRU on the server; ~10^5 parameters): realistic
           message sizes and compute
next-move  which way a vehicle turns at the RSU's junction (straight / left / right /
           turnaround) from its kinematics, lane and position (Dense layers, cross-entropy,
           accuracy; macro-F1 in the run's summary): a task whose labels depend on the place
========== ===================================================================================

Modules here stay light to import: Keras is imported inside the methods that build models.
"""

from cosim.learning.workloads import next_move, speed_mlp, speed_seq  # noqa: F401

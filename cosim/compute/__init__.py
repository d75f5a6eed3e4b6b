"""Simulated compute time of the split-learning steps: the compute models (``compute.mode``).

- :mod:`cosim.compute.models` -- ``flops`` (FLOPs on device profiles, the default), ``model`` (work per
  sample and layer), ``measured`` (the real step's wall time); each registered by name.
- :mod:`cosim.compute.flops` -- forward FLOPs and parameters of a Keras model, layer by layer.
- :mod:`cosim.compute.devices` -- device profiles (peak FLOP/s, efficiency, per-step overhead) with sources.
"""

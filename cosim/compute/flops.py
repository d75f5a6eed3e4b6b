"""FLOPs of a Keras model's forward pass, layer by layer, from the layers' own types and shapes.

Per sample (the batch dimension left out), one multiply-add = 2 FLOPs. With ``d`` the input features
(channels), ``u`` the units (filters), ``P`` the positions a layer is applied at (the product of its
output's non-feature dimensions: time steps, pixels; 1 for a flat output) and ``T`` the time steps:

==========================  ===================================================================
layer                       forward FLOPs per sample
==========================  ===================================================================
Dense                       ``P * (2 d u + u)``  (+ ``u`` without bias: no ``u`` term)
Conv1D / Conv2D / Conv3D    ``P * u * (2 k d / groups + 1)``, ``k`` = product of the kernel size
GRU (reset_after)           ``T * (6 u (d + u) + 6 u + 8 u)``
LSTM                        ``T * (8 u (d + u) + 4 u + 8 u)``
SimpleRNN                   ``T * (2 u (d + u) + 2 u)``
Bidirectional(layer)        twice the wrapped layer
Layer/Batch/Group norm.     ``9`` per element (mean, variance, normalise, scale, shift)
pooling                     output elements x pool size (global pooling: input elements)
element-wise (Add, ...)     one per output element (per extra input for merges)
reshaping, Embedding,       0
Input, Dropout
anything else (fallback)    ``2 * params * P + output elements``: every weight used once per
                            position in a multiply-add (exact for dense-like layers; for layers
                            that reuse weights differently it is an estimate)
==========================  ===================================================================

Activation functions (ReLU, sigmoid, tanh, ...) add one FLOP per element they are applied to (three
per GRU step and unit, five per LSTM step and unit); they are kept apart (``activations``) because
TensorFlow's own profiler does not count them: without them the formulas above equal its counts
(checked by ``tests/learning/test_flops.py``). Nested models are summed layer by layer.

Training (:class:`ModelFlops`): backward = ``BACKWARD_FACTOR`` x forward (the gradients with respect
to the inputs and to the weights each cost about one forward pass: the usual 2N forward + 4N backward
FLOPs per sample of Kaplan et al., *Scaling Laws for Neural Language Models*, 2020), plus the
optimizer update, ``UPDATE_FLOPS_PER_PARAM`` per trainable parameter per step (Adam: the two moment
updates, bias correction, square root, division and step).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

BACKWARD_FACTOR = 2.0
"""Backward FLOPs per forward FLOP."""

UPDATE_FLOPS_PER_PARAM = 10.0
"""FLOPs of one Adam update per trainable parameter."""

NORM_FLOPS_PER_ELEMENT = 9.0

_ZERO = {
    "InputLayer", "Flatten", "Reshape", "Permute", "RepeatVector", "Concatenate", "Embedding", "Identity",
    "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "AlphaDropout", "Masking",
    "Cropping1D", "Cropping2D", "Cropping3D", "ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D",
    "UpSampling1D", "UpSampling2D", "UpSampling3D", "GaussianNoise", "GaussianDropout", "ActivityRegularization",
}  # fmt: skip
_MERGES = {"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"}
_NORMS = {"LayerNormalization", "BatchNormalization", "GroupNormalization", "UnitNormalization", "RMSNormalization"}
_ACTIVATIONS = {"Activation", "ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax"}


@dataclass(frozen=True)
class LayerFlops:
    """Forward FLOPs per sample of one layer, and how they were counted."""

    name: str
    kind: str
    """The layer's class name."""
    forward: float
    """Forward FLOPs per sample, activations included."""
    activations: float
    """The part of ``forward`` spent in activation functions (not counted by TensorFlow's profiler)."""
    params: int
    """Trainable parameters."""
    rule: str
    """Which formula counted it (a layer type, or ``fallback``)."""


@dataclass(frozen=True)
class ModelFlops:
    """A model's per-sample forward FLOPs and trainable parameters, and what a training step costs."""

    layers: tuple[LayerFlops, ...]

    @property
    def forward(self) -> float:
        """Forward FLOPs per sample."""
        return sum(layer.forward for layer in self.layers)

    @property
    def params(self) -> int:
        """Trainable parameters."""
        return sum(layer.params for layer in self.layers)

    def forward_step(self, n: int) -> float:
        """FLOPs of a forward pass over ``n`` samples."""
        return n * self.forward

    def backward_step(self, n: int) -> float:
        """FLOPs of the backward pass over ``n`` samples and one optimizer update."""
        return n * BACKWARD_FACTOR * self.forward + UPDATE_FLOPS_PER_PARAM * self.params

    def training_step(self, n: int) -> float:
        """Forward, backward and update over ``n`` samples."""
        return self.forward_step(n) + self.backward_step(n)

    @property
    def fallbacks(self) -> tuple[str, ...]:
        """Names of the layers counted by the fallback rule."""
        return tuple(layer.name for layer in self.layers if layer.rule == "fallback")


def model_flops(model: Any) -> ModelFlops:
    """Per-layer forward FLOPs of a built Keras model (nested models are expanded)."""
    return ModelFlops(tuple(_layers(model)))


def _layers(model: Any) -> list[LayerFlops]:
    import keras

    out: list[LayerFlops] = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            out += _layers(layer)
        else:
            out.append(layer_flops(layer))
    return out


def layer_flops(layer: Any) -> LayerFlops:
    """Forward FLOPs per sample of one built layer (see the module's table)."""
    kind = type(layer).__name__
    params = int(sum(math.prod(v.shape) for v in layer.trainable_variables))
    ins = _shapes(layer.input)
    out = _shape(layer.output)
    flops, act, rule = _count(layer, kind, ins, out, params)
    return LayerFlops(layer.name, kind, float(flops), float(act), params, rule)


def _count(layer: Any, kind: str, ins: list[tuple[int, ...]], out: tuple[int, ...], params: int) -> tuple:
    """``(forward FLOPs, of which activations, rule)``."""
    inp = ins[0] if ins else ()
    n_out = math.prod(out) if out else 0
    if kind == "Dense":
        positions, d, u = math.prod(out[:-1]), inp[-1], layer.units
        act = _act(layer) * positions * u
        return positions * (2 * d * u + (u if layer.use_bias else 0)) + act, act, "dense"
    if kind in ("Conv1D", "Conv2D", "Conv3D"):
        first = getattr(layer, "data_format", "channels_last") == "channels_first"
        d = inp[0] if first else inp[-1]
        u = layer.filters
        positions = math.prod(out[1:] if first else out[:-1])
        k = math.prod(layer.kernel_size)
        act = _act(layer) * positions * u
        return positions * u * (2 * k * d // max(1, layer.groups) + (1 if layer.use_bias else 0)) + act, act, "conv"
    if kind in ("GRU", "LSTM", "SimpleRNN"):
        return _recurrent(layer, kind, inp)
    if kind == "Bidirectional":
        inner = _recurrent(layer.forward_layer, type(layer.forward_layer).__name__, inp)
        return 2 * inner[0], 2 * inner[1], "bidirectional"
    if kind in _NORMS:
        return NORM_FLOPS_PER_ELEMENT * math.prod(inp), 0.0, "normalisation"
    if kind in _ACTIVATIONS:
        per = 5 if kind == "Softmax" else 1
        return per * n_out, per * n_out, "activation"
    if kind in _MERGES:
        return max(1, len(ins) - 1) * n_out, 0.0, "element-wise"
    if kind.startswith("Global") and "Pooling" in kind:
        return math.prod(inp), 0.0, "pooling"
    if "Pooling" in kind:
        return n_out * math.prod(_tuple(getattr(layer, "pool_size", 1))), 0.0, "pooling"
    if kind in _ZERO:
        return 0.0, 0.0, "none"
    positions = math.prod(out[:-1]) if len(out) > 1 else 1
    return 2 * params * positions + n_out, 0.0, "fallback"


def _recurrent(layer: Any, kind: str, inp: tuple[int, ...]) -> tuple[float, float, str]:
    steps, d, u = inp[0], inp[-1], layer.units
    if kind == "GRU":
        per, act = 6 * u * (d + u) + 6 * u + 8 * u, 3 * u
    elif kind == "LSTM":
        per, act = 8 * u * (d + u) + 4 * u + 8 * u, 5 * u
    else:
        per, act = 2 * u * (d + u) + 2 * u, u
    return steps * (per + act), steps * act, kind.lower()


def _act(layer: Any) -> int:
    """1 when the layer applies a non-linear activation, else 0."""
    fn = getattr(layer, "activation", None)
    return 0 if fn is None or getattr(fn, "__name__", "") == "linear" else 1


def _tuple(value: Any) -> tuple[int, ...]:
    return tuple(value) if isinstance(value, Sequence) else (int(value),)


def _shape(tensor: Any) -> tuple[int, ...]:
    """A tensor's shape without the batch dimension (unknown dimensions count as 1)."""
    return tuple(int(d) if d is not None else 1 for d in tuple(tensor.shape)[1:])


def _shapes(inputs: Any) -> list[tuple[int, ...]]:
    if isinstance(inputs, list | tuple):
        return [_shape(t) for t in inputs]
    return [_shape(inputs)]

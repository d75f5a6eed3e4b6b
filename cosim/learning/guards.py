"""What keeps one caller from poisoning or filling the server: the RSU table, update norms, sample claims.

- **Known RSUs.** A server started from a scenario with RSUs knows their ids: only those may say Hello,
  take part in a round or be remembered, so the table holds at most the scenario's RSUs and a checkpoint
  carries nothing else (:class:`KnownRsus`, *closed*). A scenario without RSUs (a config built in code)
  makes an *open* table: any valid name, at most :data:`~cosim.learning.limits.MAX_RSUS`, the least
  recently seen forgotten first, so no caller can fill it for good.
- **Update norm.** An Aggregate whose weights are further than ``B`` from its tier's current model,
  ‖w_client − w_tier‖₂ over all its tensors, is refused. ``learning.max_update_norm = 0`` (the default)
  sets ``B`` per tier from the model: ``max(‖w_tier at start‖₂, 1) × learning_rate / 0.001``
  (:func:`auto_norm_bounds`). Adam moves each weight by about the learning rate per step, so honest
  updates scale with it; measured on the shipped scenarios they stay below 0.1 ``B`` (docs/explanation/security.md).
  ``> 0`` sets ``B`` itself; ``< 0`` turns the bound off.
- **Sample claims.** FedAvg weighs a client by the samples it claims. A claim above the rows the RSU
  trained the server on in that round's Forward calls is clipped to those rows (at least 1)
  (:func:`plausible_samples`). cosim's engine claims exactly those rows (the samples it trained, every
  local epoch counted), so the clip never binds on it. A claim from an RSU that sent
  ``learning.max_batches_per_round`` batches is kept as it is: a client that counts the samples it *had*
  rather than trained cannot be told from one that lies (the norm bound still holds).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping

import numpy as np

from cosim.learning.errors import InvalidRequest, UnknownRsu
from cosim.learning.limits import MAX_RSUS, check_name, shown
from cosim.learning.models import Weights

UPDATE_NORM_PER_LR = 1000.0
"""Automatic update-norm bound: ``‖w_tier at start‖₂ × learning_rate × UPDATE_NORM_PER_LR`` (×1 at lr 1e-3)."""


def weight_norm(weights: Mapping[str, np.ndarray]) -> float:
    """‖w‖₂ over all tensors (float64 sums, so huge finite weights give a huge, not an infinite, norm)."""
    return float(np.sqrt(sum(float(np.sum(np.square(np.asarray(w, np.float64)))) for w in weights.values())))


def update_norm(weights: Mapping[str, np.ndarray], current: Mapping[str, np.ndarray]) -> float:
    """‖weights − current‖₂ over all tensors (the names of ``weights`` are those of ``current``)."""
    return weight_norm({n: np.asarray(w, np.float64) - current[n] for n, w in weights.items()})


def auto_norm_bounds(initial: Mapping[str, Weights], learning_rate: float) -> dict[str, float]:
    """Each tier's automatic bound: its initial weights' norm (at least 1) × learning rate × 1000."""
    return {t: max(weight_norm(ws), 1.0) * learning_rate * UPDATE_NORM_PER_LR for t, ws in initial.items()}


def norm_bounds(setting: float, initial: Mapping[str, Weights], learning_rate: float) -> dict[str, float]:
    """The bound per tier for ``learning.max_update_norm``: 0 automatic, > 0 that value, < 0 none (inf)."""
    if setting < 0:
        return {t: float("inf") for t in initial}
    if setting > 0:
        return {t: float(setting) for t in initial}
    return auto_norm_bounds(initial, learning_rate)


def check_update(rsu: str, tier: str, weights: Mapping[str, np.ndarray], current: Weights, bound: float) -> None:
    """Refuse (:class:`InvalidRequest`) weights further than ``bound`` from the tier's current model."""
    if bound == float("inf"):
        return
    norm = update_norm(weights, current)
    if not norm <= bound:
        raise InvalidRequest(
            f"rsu {rsu!r} tier {tier}: update norm {norm:.4g} is above the bound {bound:.4g} (learning.max_update_norm)"
        )


def plausible_samples(claimed: int, trained: tuple[int, int] | None, max_batches: int) -> int:
    """The sample count FedAvg uses: ``claimed``, clipped to the rows trained when that is all there was.

    ``trained`` is ``(batches, rows)`` the RSU sent in the round's Forward calls (None: not known, e.g. a
    round reopened from a checkpoint). ``max_batches`` is the server's ``learning.max_batches_per_round``
    (0: none); an RSU that sent that many batches may have had more samples than it sent.
    """
    if trained is None:
        return claimed
    batches, rows = trained
    if max_batches and batches >= max_batches:
        return claimed
    return min(claimed, max(rows, 1))


class KnownRsus:
    """The RSUs the server knows: a scenario's (closed), or any names, bounded and least recent first out (open)."""

    def __init__(self, allowed: Iterable[str] = (), limit: int = MAX_RSUS) -> None:
        self.allowed = frozenset(allowed)
        self.limit = len(self.allowed) if self.allowed else limit
        self._seen: OrderedDict[str, None] = OrderedDict()

    @property
    def closed(self) -> bool:
        """Whether only the scenario's RSUs are accepted."""
        return bool(self.allowed)

    def check(self, rsu: str, field: str = "rsu") -> None:
        """A valid name that the server may know (closed: one of the scenario's RSUs)."""
        check_name(rsu, field)
        if self.allowed and rsu not in self.allowed:
            raise UnknownRsu(f"{field} = {shown(rsu)}: not an RSU of the server's scenario ({self._listed()})")

    def add(self, rsus: Iterable[str]) -> None:
        """Remember these (already checked) names; an open table forgets its least recent ones beyond the limit."""
        for rsu in rsus:
            self._seen[rsu] = None
            self._seen.move_to_end(rsu)
        while len(self._seen) > self.limit:
            self._seen.popitem(last=False)

    def __contains__(self, rsu: object) -> bool:
        return rsu in self._seen

    def __len__(self) -> int:
        return len(self._seen)

    def names(self) -> tuple[str, ...]:
        """The names a checkpoint keeps (sorted)."""
        return tuple(sorted(self._seen))

    def restore(self, names: Iterable[str]) -> None:
        """Load a checkpoint's names; a closed table drops any that is not a scenario RSU."""
        self._seen.clear()
        self.add(n for n in names if isinstance(n, str) and (not self.allowed or n in self.allowed))

    def _listed(self) -> str:
        names = sorted(self.allowed)
        shown_names = ", ".join(names[:8]) + (", …" if len(names) > 8 else "")
        return f"{len(names)} RSUs: {shown_names}"

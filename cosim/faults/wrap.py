"""What every fault wrapper shares: its inner model's checkpoint state passes through it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class Wrapper:
    """A model wrapped by a fault (``self.inner``); the faults themselves are fixed by the config, not state."""

    inner: Any

    def state_dict(self) -> Mapping[str, Any]:
        """The inner model's state."""
        hook = getattr(self.inner, "state_dict", None)
        return {"inner": hook()} if hook is not None else {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore the inner model's state."""
        hook = getattr(self.inner, "load_state_dict", None)
        if hook is not None and "inner" in state:
            hook(state["inner"])

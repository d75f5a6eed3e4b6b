"""What every fault wrapper shares: its inner model's checkpoint state passes through it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cosim.plugins import Plugin


class Wrapper:
    """A plug-in wrapped by a fault (``self.inner``); the faults themselves are fixed by the config, not state."""

    inner: Plugin

    def state_dict(self) -> Mapping[str, Any]:
        """The inner model's state."""
        return {"inner": self.inner.state_dict()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore the inner model's state."""
        if "inner" in state:
            self.inner.load_state_dict(state["inner"])

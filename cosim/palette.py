"""Colours and hatches readers with colour-vision deficiencies can tell apart, shared by every figure and sumo-gui.

- Strategies (unordered categories) take the **Okabe-Ito** colours in order (Okabe & Ito, *Color Universal
  Design*, 2008), yellow last because it is weakest on white.
- Tiers (ordered, busiest first) take evenly spaced colours of **cividis** (Nuñez et al., PLoS ONE 13(7),
  2018: a colour map whose lightness rises monotonically and that looks the same to deuteranopes), the
  busiest tier brightest; each tier also gets a **hatch** pattern, so tiers stay apart in grey print.

Pure constants (no matplotlib), so the traffic layer can colour sumo-gui with the same tiers.
"""

from __future__ import annotations

OKABE_ITO: tuple[str, ...] = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")
"""Okabe-Ito colours in the order strategies take them."""

MARKERS: tuple[str, ...] = ("o", "s", "^", "D", "v", "P", "X", "*")
"""Marker per strategy position, so lines stay apart without colour."""

TIER_HATCHES: tuple[str, ...] = ("", "//", "..", "xx", "\\\\", "++", "oo", "--")
"""Hatch per tier position (busiest first: no hatch)."""

_CIVIDIS: tuple[str, ...] = (
    "#00224e",
    "#083370",
    "#35456c",
    "#4f576c",
    "#666970",
    "#7d7c78",
    "#948e77",
    "#aea371",
    "#c8b866",
    "#e5cf52",
    "#fee838",
)
"""matplotlib's cividis at 0, 0.1, ..., 1 (interpolated linearly in between)."""


def color(position: int) -> str:
    """The Okabe-Ito colour of the strategy at ``position`` (cycles after eight)."""
    return OKABE_ITO[position % len(OKABE_ITO)]


def cividis(x: float) -> str:
    """The cividis colour at ``x`` in [0, 1], as ``#rrggbb``."""
    x = min(1.0, max(0.0, float(x))) * (len(_CIVIDIS) - 1)
    i = min(int(x), len(_CIVIDIS) - 2)
    a, b = _rgb(_CIVIDIS[i]), _rgb(_CIVIDIS[i + 1])
    f = x - i
    return "#" + "".join(f"{round(p + (q - p) * f):02x}" for p, q in zip(a, b, strict=True))


def tier_colors(n: int) -> list[str]:
    """``n`` tier colours, busiest (first) brightest: cividis from 0.95 down to 0.1 (0.6 for one tier)."""
    if n <= 1:
        return [cividis(0.6)] * max(n, 0)
    return [cividis(0.95 - (0.95 - 0.1) * i / (n - 1)) for i in range(n)]


def tier_hatch(position: int) -> str:
    """The hatch of the tier at ``position`` (busiest first)."""
    return TIER_HATCHES[position % len(TIER_HATCHES)]


def rgba(hex_color: str, alpha: int = 255) -> tuple[int, int, int, int]:
    """``#rrggbb`` as 0-255 integers (SUMO's colour type)."""
    r, g, b = _rgb(hex_color)
    return r, g, b, alpha


def _rgb(hex_color: str) -> tuple[int, int, int]:
    h = hex_color.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)

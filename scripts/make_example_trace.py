"""Write examples/traces/drive-5g.csv: a small synthetic capacity trace in cosim's trace format.

Not a measurement: a seeded series shaped like a 5G drive test (log-normal throughput around 60 Mbit/s
down and 12 Mbit/s up, correlated from second to second, a few handover outages of 1-2 s with zero
capacity, RTT 25-60 ms). Regenerate with: python scripts/make_example_trace.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "examples" / "traces" / "drive-5g.csv"


def main() -> None:
    rng = np.random.default_rng(2020)
    n = 300
    z = np.zeros(n)
    for i in range(1, n):  # AR(1) in log space: throughput varies smoothly
        z[i] = 0.9 * z[i - 1] + rng.normal(0.0, 0.25)
    down = 60.0 * np.exp(z - 0.3)
    up = 12.0 * np.exp(0.8 * z + rng.normal(0.0, 0.1, n) - 0.3)
    rtt = 35.0 + 10.0 * np.abs(rng.normal(0.0, 1.0, n))
    for start in rng.choice(np.arange(20, n - 5), size=4, replace=False):  # handover outages
        length = int(rng.integers(1, 3))
        down[start : start + length] = 0.0
        up[start : start + length] = 0.0
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", encoding="utf-8") as fh:
        fh.write("# synthetic 5G drive-test-like capacity trace (scripts/make_example_trace.py); not a measurement\n")
        fh.write("time_s,uplink_mbps,downlink_mbps,rtt_ms\n")
        for i in range(n):
            fh.write(f"{i},{up[i]:.3f},{down[i]:.3f},{rtt[i]:.1f}\n")
    print(OUT)


if __name__ == "__main__":
    main()

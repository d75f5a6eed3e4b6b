"""docs/schedules.md: the three round schedules compared on grid-rush-sync, its numbers generated.

Usage:
    python scripts/schedules_doc.py collect COMPARE_FOLDER   # take numbers, update counts and figures from a compare
    python scripts/schedules_doc.py render                   # (re)write docs/schedules.md from docs/schedules/

``collect`` copies from a ``cosim compare grid-rush-sync --schedules synchronous,deadline,async`` folder (the
command is :data:`COMMAND`) what the page shows -- ``numbers.csv`` (every measure, every statistic), one row
per async run of what became of its updates (``async_updates.csv``, from the runs' run.json summaries) and
the figures with their CSVs -- into ``docs/schedules/``, then renders. ``render`` builds the page from those
files only, so ``tests/test_docs.py`` checks that the page's numbers are the files' (no number is typed).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "schedules.md"
FILES = ROOT / "docs" / "schedules"
FIGURES = ("loss_vs_time", "energy_per_round", "differences", "time_to_target")
COMMAND = (
    "cosim compare grid-rush-sync --strategies dynamic --schedules synchronous,deadline,async --seeds 1-5 "
    "--set learning.round_period=120 --set learning.round_gap=100 --set learning.barrier_timeout=10"
)
MEASURES = (
    "final_eval_loss",
    "prequential_loss",
    "time_to_target_s",
    "energy_to_target",
    "energy_per_round",
    "bytes_total",
    "mean_round_s",
    "min_participation",
)
"""The measures of the page's table (numbers.csv has them all)."""
BASELINE = "synchronous"

INTRO = f"""# Round schedules compared: synchronous, deadline and async

What each round schedule does to time, energy and accuracy on `grid-rush-sync` (15 RSUs on LTE-class links,
the `speed-seq` workload, rounds of tens of simulated seconds), over 5 paired seeds, with the statistics of
every comparison report. The schedules are explained in [the loop](explanation/loop.md#round-schedules).

```bash
{COMMAND}
```

The settings give the three schedules the same ten rounds over about the same 20 minutes of traffic:

- **synchronous** -- round 0 at 120 s; each next round starts 100 s (`round_gap`) after every RSU has
  the previous aggregate, so rounds come every ~115 s and each waits for its slowest RSU;
- **deadline** -- rounds on the 120 s slots; the barrier releases 10 s (`barrier_timeout`) after the
  start, and RSUs still missing are left out of that round's average (their work is lost);
- **async** -- the strategy re-tiers every 120 s, and in between nobody waits: each RSU trains whenever it
  has a batch of new samples and its update is merged on arrival, weighted by its staleness (defaults:
  polynomial, a = 0.5, mixing rate 0.6, a buffer of 1 per tier, staleness bound 8).

Energy counts each RSU board's idle draw over all of this time, whatever the schedule (a round owns its
time until the next starts: [energy](explanation/energy.md)), so the schedules differ in energy through
the radio and the client steps, and through how long they take to reach the target.

"""

OUTRO = """
Reading it (the verdicts are the table's; this page's text names no number of its own):

- A round is not the same thing in every arm: synchronous and deadline rounds last seconds (the time to
  aggregate), an async round is the 120 s tier period. Compare them on simulated time
  (`loss_vs_time.png`, time and energy to target), not on round counts.
- **Synchronous** reaches the target first here. Each round waits for its slowest RSU -- the busiest RSU
  pushing its activations up an LTE uplink -- but every RSU's work counts.
- **Deadline** rounds release sooner, but the RSUs with the most data are the slow ones, and they are left
  out of most rounds (its minimum participation): each round learns less, the final model is worse and
  the target comes later, which also costs energy to target, since the boards draw power all along.
- **Async** ends as accurate as synchronous (no significant difference; not shown equivalent either), but
  its models score worse on the samples arriving during the run (prequential), it sends about twice the
  bytes (every RSU trains whenever it has a batch), and it spends more energy per round -- more radio,
  and its last round is a whole 120 s period while the other schedules' runs end with their last round
  (`energy_per_round.png`) -- and about a third of its updates are dropped as too stale: with 15 RSUs and a buffer of
  one, the global version moves on at every merge, so an update that took a few merges' time is several
  versions old (the table of updates). A larger `learning.buffer_size` or `learning.staleness_bound`
  trades staleness for waiting or for staler models; quiet RSUs, which rarely have a batch of new
  samples, rarely contribute (its minimum participation).

The numbers come from `docs/schedules/numbers.csv` and `async_updates.csv` (regenerate the page with
`python scripts/schedules_doc.py render`; `collect` takes them from a new comparison's folder).
"""


def collect(folder: Path) -> None:
    """Copy the compare's numbers, the async runs' update counts and the figures into docs/schedules/."""
    FILES.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(folder / "numbers.csv", FILES / "numbers.csv")
    rows = []
    for run in sorted(folder.glob("s*/async/run.json")):
        s = json.loads(run.read_text())["summary"]
        rows.append(
            {
                "seed": int(run.parent.parent.name[1:]),
                "updates": s["async_updates"],
                "dropped_share": s["async_dropped_share"],
                "mean_staleness": s["mean_staleness"],
                "max_staleness": s["max_staleness"],
                "forwards": s["forwards"],
            }
        )
    pd.DataFrame(rows).to_csv(FILES / "async_updates.csv", index=False)
    for name in FIGURES:
        for ext in ("png", "csv"):
            shutil.copyfile(folder / f"{name}.{ext}", FILES / f"{name}.{ext}")


def page() -> str:
    """The page, from the files in docs/schedules/ only."""
    from cosim.report.markdown import numbers_markdown, sentences
    from cosim.report.numbers import fewest_seeds

    numbers = pd.read_csv(FILES / "numbers.csv")
    seeds = fewest_seeds(numbers)
    shown = numbers[numbers["metric"].isin(MEASURES)]
    shown = shown.assign(order=shown["metric"].map(MEASURES.index)).sort_values("order", kind="stable")
    updates = pd.read_csv(FILES / "async_updates.csv")
    lines = [INTRO, f"## What the {seeds} seeds show", ""]
    lines += [f"- {s}" for s in sentences(numbers, BASELINE, seeds)]
    lines += ["", "## The numbers", "", *numbers_markdown(shown.drop(columns="order"), BASELINE, seeds), ""]
    lines += [
        "Every other measure and statistic: [`numbers.csv`](schedules/numbers.csv).",
        "",
        "## What became of the async updates",
        "",
        "| seed | updates | dropped (too stale) | mean staleness | max staleness | Forwards |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in updates.itertuples():
        lines.append(
            f"| {r.seed} | {r.updates} | {r.dropped_share:.1%} | {r.mean_staleness:.2f} | {r.max_staleness} "
            f"| {r.forwards:,} |"
        )
    lines += [
        "",
        f"Over the seeds: {updates['updates'].mean():.0f} updates per run, {updates['dropped_share'].mean():.1%} "
        "of them dropped.",
        "",
        "## Figures",
        "",
    ]
    for name in FIGURES:
        lines += [f"![{name}](schedules/{name}.png)", "", f"Data: [`{name}.csv`](schedules/{name}.csv)", ""]
    return "\n".join(lines) + OUTRO


def render() -> Path:
    """Write docs/schedules.md."""
    PAGE.write_text(page())
    return PAGE


def main(argv: list[str]) -> int:
    if argv[:1] == ["collect"] and len(argv) == 2:
        collect(Path(argv[1]))
    elif argv != ["render"]:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    print(render())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

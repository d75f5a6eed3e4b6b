"""Record a traffic run once and replay it exactly: same values at the same simulated times.

A :class:`TrafficRecording` holds, for every step, the vehicles in range of every RSU and on every counted
lane region (:mod:`cosim.traffic.regions`, e.g. the cells of the ``cellular`` link model), every window
with the step at which it was handed out, and every sample with the step at which it was released.
:class:`ReplayTraffic` implements :class:`~cosim.ports.TrafficSource` from it, so two
clustering strategies can see identical traffic and tests can run without SUMO. Saved as ``.npz``
(plain arrays plus a JSON header; never pickled).
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cosim.config import Config
from cosim.errors import RunFolderError, writing
from cosim.ports import TrafficSource
from cosim.traffic.clock import Clock
from cosim.traffic.values import EXTRA_LABELS, FEATURES, feature_samples
from cosim.types import RsuId, SimTime, TierName
from cosim.values import LaneRegion, RsuSite, RsuWindow, SampleSet

FORMAT = "cosim-traffic-recording"
VERSION = 4
"""2: samples carry the observed vehicle's index. 3: vehicles per lane region every step (version 2 is read
as having no regions). 4: samples carry the extra labels (``EXTRA_LABELS``: the next move) and the feature
columns appended to ``FEATURES`` since (an older recording is read with NaN in the columns it lacks)."""
_READABLE = (2, 3, 4)

_WINDOW_FIELDS = ("window", "start", "end", "total_flown", "in_range_mean", "in_range_max", "mean_speed", "samples")


@dataclass(frozen=True)
class TrafficRecording:
    """Everything a :class:`TrafficSource` handed out during one run, indexed by step."""

    sites: tuple[RsuSite, ...]
    clock: Clock
    counts: np.ndarray
    """(n_steps, n_rsus) int32: vehicles in range after step k+1 (row k)."""
    windows: tuple[RsuWindow, ...]
    window_step: np.ndarray
    """(n_windows*n_rsus,) int64: steps taken when each window was handed out."""
    sample_rsu: np.ndarray
    """(n,) int32 index into ``sites``."""
    sample_step: np.ndarray
    """(n,) int64: steps taken when each sample was released."""
    sample_time: np.ndarray
    sample_x: np.ndarray
    sample_y: np.ndarray
    sample_vehicle: np.ndarray
    """(n,) int64: the observed vehicle of each sample."""
    sample_extra: np.ndarray | None = None
    """(n, len(EXTRA_LABELS)) float32: the other labels of each sample (None: all NaN)."""
    region_ids: tuple[str, ...] = ()
    region_counts: np.ndarray | None = None
    """(n_steps, n_regions) int32: vehicles on each lane region after step k+1 (row k)."""

    def regions_array(self) -> np.ndarray:
        """``region_counts``, or an (n_steps, 0) array when no region was counted."""
        if self.region_counts is None:
            return np.zeros((len(self.counts), 0), dtype=np.int32)
        return self.region_counts

    def extra_array(self) -> np.ndarray:
        """``sample_extra``, or NaN for every sample when the recording has none."""
        if self.sample_extra is None:
            return np.full((len(self.sample_y), len(EXTRA_LABELS)), np.nan, dtype=np.float32)
        return self.sample_extra

    def save(self, path: str | Path) -> Path:
        """Write the recording to an ``.npz`` file; return its path."""
        p = Path(path)
        with writing(p.parent, "create the folder"):
            p.parent.mkdir(parents=True, exist_ok=True)
        header = {
            "format": FORMAT,
            "version": VERSION,
            "sites": [[s.id, s.x, s.y, s.radius] for s in self.sites],
            "clock": [self.clock.begin, self.clock.end, self.clock.step, self.clock.window],
            "window_rsu": [w.rsu for w in self.windows],
            "features": list(FEATURES),
            "extra_labels": list(EXTRA_LABELS),
            "regions": list(self.region_ids),
        }
        wins = {f"win_{f}": np.array([getattr(w, f) for w in self.windows], dtype=np.float64) for f in _WINDOW_FIELDS}
        with writing(p), p.open("wb") as fh:
            np.savez_compressed(
                fh,
                header=np.array(json.dumps(header)),
                counts=self.counts,
                window_step=self.window_step,
                sample_rsu=self.sample_rsu,
                sample_step=self.sample_step,
                sample_time=self.sample_time,
                sample_x=self.sample_x,
                sample_y=self.sample_y,
                sample_vehicle=self.sample_vehicle,
                sample_extra=self.extra_array(),
                region_counts=self.regions_array(),
                allow_pickle=False,  # as it is read: numbers only
                **wins,
            )
        return p

    @classmethod
    def load(cls, path: str | Path) -> TrafficRecording:
        """Read a recording written by :meth:`save`; a missing or foreign file -> :class:`RunFolderError`."""
        p = Path(path)
        if not p.exists():
            raise RunFolderError(f"{p}: traffic recording not found")
        try:
            with np.load(p, allow_pickle=False) as z:
                header = json.loads(str(z["header"]))
                if header.get("format") != FORMAT or header.get("version") not in _READABLE:
                    raise RunFolderError(
                        f"{p}: not a cosim traffic recording of version {' or '.join(map(str, _READABLE))}"
                    )
                features, extra = header.get("features"), header.get("extra_labels", [])
                if not _known(features, FEATURES) or not _known(extra, EXTRA_LABELS):
                    raise RunFolderError(f"{p}: recorded with other features ({features}) or labels ({extra})")
                arrays = {k: z[k] for k in z.files if k != "header"}
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, json.JSONDecodeError) as exc:
            raise RunFolderError(f"{p}: not a readable traffic recording ({exc})") from None
        sites = tuple(RsuSite(id=str(i), x=float(x), y=float(y), radius=float(r)) for i, x, y, r in header["sites"])
        n = len(arrays["sample_y"])
        windows = tuple(
            RsuWindow(
                window=int(arrays["win_window"][j]),
                start=float(arrays["win_start"][j]),
                end=float(arrays["win_end"][j]),
                rsu=str(rsu),
                total_flown=int(arrays["win_total_flown"][j]),
                in_range_mean=float(arrays["win_in_range_mean"][j]),
                in_range_max=int(arrays["win_in_range_max"][j]),
                mean_speed=float(arrays["win_mean_speed"][j]),
                samples=int(arrays["win_samples"][j]),
            )
            for j, rsu in enumerate(header["window_rsu"])
        )
        return cls(
            sites=sites,
            clock=Clock(*[float(v) for v in header["clock"]]),
            counts=arrays["counts"],
            windows=windows,
            window_step=arrays["window_step"],
            sample_rsu=arrays["sample_rsu"],
            sample_step=arrays["sample_step"],
            sample_time=arrays["sample_time"],
            sample_x=_columns(arrays["sample_x"], features, FEATURES, n),
            sample_y=arrays["sample_y"],
            sample_vehicle=arrays["sample_vehicle"],
            sample_extra=_columns(arrays.get("sample_extra", np.zeros(0)), extra, EXTRA_LABELS, n),
            region_ids=tuple(str(r) for r in header.get("regions", [])),
            region_counts=arrays.get("region_counts"),
        )


def _known(names: object, known: tuple[str, ...]) -> bool:
    """Whether ``names`` is a list of distinct column names, each one of ``known``."""
    return isinstance(names, list) and len(set(names)) == len(names) and all(n in known for n in names)


def _columns(a: np.ndarray, names: list[str], want: tuple[str, ...], n: int) -> np.ndarray:
    """``a`` (``n`` rows of the columns ``names``) laid out as the columns ``want``, NaN in those it lacks."""
    a = np.asarray(a, dtype=np.float32).reshape(n, len(names))
    if list(names) == list(want):
        return a
    out = np.full((n, len(want)), np.nan, dtype=np.float32)
    for j, name in enumerate(names):
        out[:, want.index(name)] = a[:, j]
    return out


def record_source(source: TrafficSource, clock: Clock) -> TrafficRecording:
    """Step ``source`` one step at a time to the end and keep everything it hands out."""
    sites = source.sites
    index = {s.id: j for j, s in enumerate(sites)}
    counts = np.zeros((clock.n_steps, len(sites)), dtype=np.int32)
    region_ids = tuple(source.region_counts()) if hasattr(source, "region_counts") else ()
    regions = np.zeros((clock.n_steps, len(region_ids)), dtype=np.int32)
    windows: list[RsuWindow] = []
    window_step: list[int] = []
    parts: list[tuple[int, int, SampleSet]] = []
    for k in range(1, clock.n_steps + 1):
        source.advance(clock.now(k))
        now_in_range = source.in_range()
        counts[k - 1] = [now_in_range[s.id] for s in sites]
        if region_ids:
            now_regions = source.region_counts()
            regions[k - 1] = [now_regions[r] for r in region_ids]
        new = source.take_windows()
        windows += new
        window_step += [k] * len(new)
        for rsu, ss in source.take_samples().items():
            if len(ss):
                parts.append((index[rsu], k, ss))
    return TrafficRecording(
        sites=tuple(sites),
        clock=clock,
        counts=counts,
        windows=tuple(windows),
        window_step=np.array(window_step, dtype=np.int64),
        sample_rsu=_cat([np.full(len(ss), j, np.int32) for j, _, ss in parts], np.int32),
        sample_step=_cat([np.full(len(ss), k, np.int64) for _, k, ss in parts], np.int64),
        sample_time=_cat([ss.time for _, _, ss in parts], np.float64),
        sample_x=_cat([ss.x for _, _, ss in parts], np.float32).reshape(-1, len(FEATURES)),
        sample_y=_cat([ss.y for _, _, ss in parts], np.float32),
        sample_vehicle=_cat([ss.vehicle for _, _, ss in parts], np.int64),
        sample_extra=_cat([ss.extra for _, _, ss in parts], np.float32).reshape(-1, len(EXTRA_LABELS)),
        region_ids=region_ids,
        region_counts=regions,
    )


def _cat(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)


def record(
    cfg: Config, *, gui: bool = False, output_dir: Path | None = None, regions: Sequence[LaneRegion] = ()
) -> TrafficRecording:
    """Run the scenario's traffic live from begin to end and record it.

    ``output_dir`` receives the SUMO scenario's own outputs (see :func:`cosim.traffic.open_traffic`);
    ``regions`` are lane regions whose vehicles are counted and recorded every step.
    """
    from cosim.traffic.live import LiveTraffic

    with LiveTraffic(cfg, gui=gui, output_dir=output_dir, regions=regions) as live:
        return record_source(live, live.clock)


class ReplayTraffic:
    """A :class:`~cosim.ports.TrafficSource` that replays a :class:`TrafficRecording` (no SUMO)."""

    def __init__(self, recording: TrafficRecording) -> None:
        self._rec = recording
        self._k = 0
        self._next_window = 0
        self._next_sample = 0
        order = np.argsort(recording.sample_step, kind="stable")
        self._s_rsu = recording.sample_rsu[order]
        self._s_step = recording.sample_step[order]
        self._s_time = recording.sample_time[order]
        self._s_x = recording.sample_x[order]
        self._s_y = recording.sample_y[order]
        self._s_v = recording.sample_vehicle[order]
        self._s_extra = recording.extra_array()[order]

    @classmethod
    def from_file(cls, path: str | Path) -> ReplayTraffic:
        """Replay a recording saved with :meth:`TrafficRecording.save`."""
        return cls(TrafficRecording.load(path))

    @property
    def sites(self) -> tuple[RsuSite, ...]:
        """The recorded RSUs."""
        return self._rec.sites

    @property
    def now(self) -> SimTime:
        """Simulated time reached."""
        return self._rec.clock.now(self._k)

    def advance(self, until: SimTime) -> None:
        """Move to the first step at or after ``until`` (never beyond the recording's end)."""
        self._k = max(self._k, self._rec.clock.steps_until(until))

    def in_range(self) -> dict[RsuId, int]:
        """Vehicles in range of each RSU at ``now``, as recorded."""
        row = self._rec.counts[self._k - 1] if self._k > 0 else np.zeros(len(self.sites), dtype=np.int32)
        return {s.id: int(row[j]) for j, s in enumerate(self.sites)}

    def region_counts(self) -> dict[str, int]:
        """Vehicles on each recorded lane region at ``now``."""
        rec = self._rec
        if not rec.region_ids:
            return {}
        row = rec.regions_array()[self._k - 1] if self._k > 0 else np.zeros(len(rec.region_ids), dtype=np.int32)
        return {r: int(row[j]) for j, r in enumerate(rec.region_ids)}

    def missing_regions(self, regions: Sequence[LaneRegion]) -> list[str]:
        """Ids of ``regions`` this recording did not count (a link model asking for them would see 0 vehicles)."""
        have = set(self._rec.region_ids)
        return [r.id for r in regions if r.id not in have]

    def take_windows(self) -> list[RsuWindow]:
        """Windows handed out up to ``now`` since the last call."""
        end = int(np.searchsorted(self._rec.window_step, self._k, side="right"))
        out = list(self._rec.windows[self._next_window : end])
        self._next_window = max(end, self._next_window)
        return out

    def take_samples(self) -> dict[RsuId, SampleSet]:
        """Samples released up to ``now`` since the last call, per RSU (empty sets included)."""
        a = self._next_sample
        b = int(np.searchsorted(self._s_step, self._k, side="right"))
        self._next_sample = max(a, b)
        rsu = self._s_rsu[a:b]
        out = {}
        for j, s in enumerate(self.sites):
            m = rsu == j
            out[s.id] = feature_samples(
                s.id,
                self._s_time[a:b][m],
                self._s_x[a:b][m],
                self._s_y[a:b][m],
                self._s_v[a:b][m],
                self._s_extra[a:b][m],
            )
        return out

    def peek_windows(self, t0: SimTime, t1: SimTime) -> list[RsuWindow]:
        """The recorded windows inside ``[t0, t1]``, whether or not the replay has reached them."""
        return [w for w in self._rec.windows if w.start >= t0 - 1e-9 and w.end <= t1 + 1e-9]

    def show_tiers(self, tiers: Mapping[RsuId, TierName]) -> None:
        """No GUI in a replay: nothing to colour."""

    def close(self) -> None:
        """Nothing to release."""

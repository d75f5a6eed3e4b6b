"""Is a run's task IID across RSUs, and does the split model beat a linear model on held-out vehicles?

    python scripts/workload_baselines.py RUN_FOLDER [RUN_FOLDER ...]        # a finished cosim run each
    python scripts/workload_baselines.py --scenario NAME [--workload W] [--set field=value ...]  # no model

For each run (or scenario) it runs the traffic again (same scenario, same seed: the samples the run saw),
encodes every RSU's samples with the run's workload (one encoder per RSU, in arrival order, as the run did)
and splits them by vehicle as the run did (``samples.split = "vehicle"``: the same hash of seed and vehicle).
Then it prints, on the samples of the held-out vehicles released until the run ended (the run itself scores
the most recent 4096 of each RSU after each round):

- how much the RSUs' labels differ (``cosim.traces.spread``): the mean pairwise Jensen-Shannon divergence of
  the RSUs' move distributions (next-move) or the between-RSU share of the label variance, eta squared
  (speed-mlp, speed-seq);
- the final split model of the run (each RSU's tier's client part of its last round, and the server part,
  from the run's ``models`` folder);
- a linear model of the same inputs (the workload's encoded input, flattened) fitted with scikit-learn on
  every sample of the training vehicles over the whole run (more data than any round saw, in one place):
  multinomial logistic regression for next-move, ridge regression for speed; and the trivial model (the most
  common move / the mean speed of the training samples);
- the margin: split model minus linear model (accuracy and macro-F1: higher is better; MSE: lower).

Prints one JSON object per run as the last lines (``--json FILE`` also writes them), so docs/workloads.md can
quote the numbers.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cosim.config import Config, from_dict  # noqa: E402
from cosim.config.raw import parse_override  # noqa: E402
from cosim.learning.data import held_out_vehicles  # noqa: E402
from cosim.learning.workloads.next_move import macro_f1  # noqa: E402
from cosim.scenario.resolve import load_scenario  # noqa: E402
from cosim.traces.spread import label_spread  # noqa: E402
from cosim.traffic.recording import ReplayTraffic, record  # noqa: E402


def encoded(cfg: Config, until: float | None = None) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per RSU ``(x, y, vehicle)`` as the run's workload encodes them (rows without a label dropped).

    Only the samples released by ``until`` (simulated seconds; default: the traffic's end).
    """
    workload = cfg.workload.plugin(cfg.workload)
    replay = ReplayTraffic(record(cfg))
    parts: dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {s.id: [] for s in replay.sites}
    encoders = {s.id: workload.encoder() for s in replay.sites}
    t, end = cfg.traffic.begin, min(cfg.traffic.end, until if until is not None else math.inf)
    while t < end:  # hand the samples out in release order, a window at a time, as the run adds them
        t = min(t + cfg.traffic.window, end)
        replay.advance(t)
        for rsu, s in replay.take_samples().items():
            if len(s):
                x, y = encoders[rsu].encode(s)
                keep = ~np.isnan(np.asarray(y, dtype=np.float64).reshape(len(y), -1)).any(axis=1)
                parts[rsu].append((x[keep], y[keep], s.vehicle[keep]))
    out = {}
    for rsu, p in parts.items():
        if p:
            out[rsu] = (np.concatenate([a for a, _, _ in p]), np.concatenate([b for _, b, _ in p]),
                        np.concatenate([c for _, _, c in p]))  # fmt: skip
        else:
            out[rsu] = (np.zeros((0, 1), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64))
    return out


def final_tiers(run: Path) -> dict[str, str]:
    """Each RSU's tier in the run's last round."""
    import pandas as pd

    rounds = pd.read_csv(run / "rounds.csv")
    last = rounds[rounds["round"] == rounds["round"].max()]
    return {str(r): str(t) for r, t in zip(last["rsu"], last["tier"], strict=True)}


def model_predictions(run: Path, test: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, np.ndarray]:
    """The run's final split model's outputs for each RSU's held-out inputs."""
    import keras

    server = keras.saving.load_model(run / "models" / "server.keras", compile=False)
    clients: dict[str, Any] = {}
    out = {}
    for rsu, tier in final_tiers(run).items():
        x, _ = test[rsu]
        if not len(x):
            continue
        if tier not in clients:
            clients[tier] = keras.saving.load_model(run / "models" / f"client_{tier}.keras", compile=False)
        out[rsu] = np.asarray(server(clients[tier](x, training=False), training=False))
    return out


def classification(y_train, x_train, x_test, y_test, pred_model, classes: int) -> dict[str, float]:
    """Logistic regression and the majority move against the split model (accuracy, macro-F1, log loss)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score, log_loss

    labels = list(range(classes))
    yt, ye = y_train.astype(int), y_test.astype(int)
    lr = LogisticRegression(max_iter=3000).fit(x_train, yt)
    proba = np.zeros((len(ye), classes))
    proba[:, lr.classes_] = lr.predict_proba(x_test)
    p_lr = lr.classes_[np.argmax(lr.predict_proba(x_test), axis=1)]
    majority = np.bincount(yt, minlength=classes).argmax()
    out = {
        "linear_accuracy": float(np.mean(p_lr == ye)),
        "linear_macro_f1": macro_f1(ye, p_lr, classes),
        "linear_macro_f1_sklearn": float(f1_score(ye, p_lr, average="macro", labels=sorted(set(ye) | set(p_lr)))),
        "linear_log_loss": float(log_loss(ye, np.clip(proba, 1e-12, 1), labels=labels)),
        "majority_accuracy": float(np.mean(ye == majority)),
        "majority_macro_f1": macro_f1(ye, np.full_like(ye, majority), classes),
    }
    if pred_model is not None:
        p = np.argmax(pred_model, axis=1)
        z = pred_model - pred_model.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        out.update(
            model_accuracy=float(np.mean(p == ye)),
            model_macro_f1=macro_f1(ye, p, classes),
            model_log_loss=float(-np.mean(logp[np.arange(len(ye)), ye])),
        )
        out["margin_accuracy"] = out["model_accuracy"] - out["linear_accuracy"]
        out["margin_macro_f1"] = out["model_macro_f1"] - out["linear_macro_f1"]
    return out


def regression(y_train, x_train, x_test, y_test, pred_model, scale: float) -> dict[str, float]:
    """Ridge regression and the mean against the split model (MSE in the workload's reported unit)."""
    from sklearn.linear_model import Ridge

    ridge = Ridge(alpha=1.0).fit(x_train, y_train)
    out = {
        "linear_mse": float(np.mean((ridge.predict(x_test) - y_test) ** 2) * scale),
        "mean_mse": float(np.mean((y_train.mean() - y_test) ** 2) * scale),
    }
    if pred_model is not None:
        out["model_mse"] = float(np.mean((pred_model.reshape(-1) - y_test) ** 2) * scale)
        out["margin_mse"] = out["model_mse"] - out["linear_mse"]
    return out


def evaluate(cfg: Config, run: Path | None) -> dict[str, Any]:
    """Every number of the module docstring for one scenario (and run: the samples released while it ran)."""
    spec = cfg.workload.plugin.spec
    until = json.loads((run / "run.json").read_text()).get("sim_end_s") if run is not None else None
    data = encoded(cfg, until)
    fraction = cfg.samples.test_fraction
    train, test = {}, {}
    for rsu, (x, y, v) in data.items():
        held = held_out_vehicles(v, cfg.seed, fraction) if len(v) else np.zeros(0, bool)
        train[rsu] = (x[~held], y[~held])
        test[rsu] = (x[held], y[held])
    rsus = [r for r in data if len(test[r][1])]
    flat = lambda a: a.reshape(len(a), -1)  # noqa: E731
    x_train = np.concatenate([flat(train[r][0]) for r in data if len(train[r][1])])
    y_train = np.concatenate([train[r][1] for r in data if len(train[r][1])])
    x_test = np.concatenate([flat(test[r][0]) for r in rsus])
    y_test = np.concatenate([test[r][1] for r in rsus])
    preds = None
    if run is not None:
        by_rsu = model_predictions(run, test)
        preds = np.concatenate([by_rsu[r] for r in rsus])
    out: dict[str, Any] = {
        "scenario": cfg.name,
        "workload": cfg.workload.name,
        "run": str(run) if run else None,
        "until_s": until if until is not None else cfg.traffic.end,
        "rsus": len(data),
        "train_samples": int(len(y_train)),
        "test_samples": int(len(y_test)),
        **label_spread({r: d[1] for r, d in data.items()}, len(spec.classes)),
    }
    if spec.classes:
        counts = np.bincount(np.concatenate([d[1] for d in data.values()]).astype(int), minlength=len(spec.classes))
        out["class_shares"] = {c: round(float(n / counts.sum()), 4) for c, n in zip(spec.classes, counts, strict=True)}
        out.update(classification(y_train, x_train, x_test, y_test, preds, len(spec.classes)))
    else:
        out.update(regression(y_train, x_train, x_test, y_test, preds, spec.loss_scale))
    if run is not None:
        summary = json.loads((run / "run.json").read_text())["summary"]
        out["run_final_eval_loss"] = summary.get("final_eval_loss")
        out["run_final_eval_metric"] = summary.get("final_eval_metric")
    return out


def main() -> None:
    """Command line (see the module docstring)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="*", type=Path, help="finished cosim run folders")
    ap.add_argument("--scenario", help="a scenario (name or path) instead of a run: no split model")
    ap.add_argument("--workload", help="with --scenario: the workload to encode for (default: the scenario's)")
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help="with --scenario")
    ap.add_argument("--json", type=Path, help="also write the results here (a JSON list)")
    args = ap.parse_args()
    jobs: list[tuple[Config, Path | None]] = []
    for run in args.runs:
        info = json.loads((run / "run.json").read_text())
        jobs.append((from_dict(info["config"], source=run / "run.json", where=str(run / "run.json")), run))
    if args.scenario:
        cfg = load_scenario(args.scenario)
        sets = dict(parse_override(s) for s in args.set)
        if args.workload:
            sets["workload.name"] = args.workload
        jobs.append((cfg.with_overrides(**sets) if sets else cfg, None))
    results = []
    for cfg, run in jobs:
        if cfg.samples.split != "vehicle":
            raise SystemExit(f"{cfg.name}: samples.split = {cfg.samples.split!r}: the script splits by vehicle")
        res = evaluate(cfg, run)
        results.append(res)
        print(json.dumps(res, default=lambda v: None if isinstance(v, float) and math.isnan(v) else str(v)))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()

"""Command line: ``cosim run|traffic|serve|compare|sweep|study|scenario|export``.

The only module that prints errors and chooses exit codes: library code raises
:class:`cosim.errors.CosimError`, which becomes one line on stderr and the error's exit code.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from cosim.errors import ConfigError, CosimError, Interrupted

if TYPE_CHECKING:  # both import heavy modules: the CLI imports them when a command needs them
    from cosim.ports import DataSpec
    from cosim.rpc.security import ClientSecurity

_CLIENT_FLAGS = ("tls_ca", "tls", "tls_cert", "tls_key", "token_file", "insecure")

Handler = Callable[[argparse.Namespace], int]

DEBUG_ENV = "COSIM_DEBUG"
"""Set to 1 to see the traceback of an unexpected error instead of its one line."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (``cosim: error: ...``) like every other error."""

    def error(self, message: str) -> NoReturn:  # noqa: D102
        self.exit(2, f"cosim: error: {self.prog}: {' '.join(message.split())} (see {self.prog} --help)\n")


def _strategy_help() -> str:
    from cosim.registry import STRATEGIES

    return f"clustering strategy: {STRATEGIES.choices()} (default: the scenario's)"


def _add_overrides(p: argparse.ArgumentParser) -> None:
    """``--set section.key=value`` (repeatable), shared by every command that loads a scenario."""
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set any scenario.toml field, e.g. --set network.rsu_uplink_mbps=10 "
        "--set learning.tiers.high.batch_size=256 (repeatable; values are read as TOML, bare words as strings; "
        "validated like the file)",
    )


def overrides_of(args: argparse.Namespace) -> list[tuple[str, object]]:
    """``--set`` values, then the shortcut options, as ordered dotted overrides."""
    from cosim.config import parse_override

    pairs = [parse_override(text) for text in getattr(args, "set", [])]
    shortcuts = (
        ("clustering.strategy", "clustering"),
        ("learning.rounds", "rounds"),
        ("seed", "seed"),
        ("server", "server"),
    )
    for dotted, name in shortcuts:
        value = getattr(args, name, None)
        if value is not None:
            pairs.append((dotted, value))
    return pairs


def _add_style(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument(
        "--style",
        default="screen",
        metavar="STYLE",
        help=f"{what}: screen (default; sized to their content) or paper (each one column, 3.5 in, or the page, "
        "7.16 in, wide; 8 pt text, 7 pt ticks and legends; 300-dpi PNG)",
    )


def _add_scenario_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("scenario", help="list shipped scenarios or import a SUMO scenario")
    ssub = p.add_subparsers(dest="scenario_cmd", required=True)
    lst = ssub.add_parser("list", help="show the shipped scenarios with a one-line description")
    lst.set_defaults(handler=_scenario_list)
    imp = ssub.add_parser("import", help="write a scenario.toml for an existing .sumocfg")
    imp.add_argument("sumocfg", help="path to a SUMO .sumocfg file, or a folder holding one")
    imp.add_argument("--rsus", type=int, default=8, help="number of RSUs to place (default 8)")
    imp.add_argument("--radius", type=float, default=100.0, help="RSU range in metres (default 100)")
    imp.add_argument("--out", help="output folder (default: scenarios/<name>)")
    imp.add_argument("--name", help="scenario name (default: the .sumocfg's stem, or its folder if generic)")
    imp.add_argument("--force", action="store_true", help="replace an existing scenario.toml in the output folder")
    imp.add_argument(
        "--copy", action="store_true", help="copy the SUMO files into the output folder, so it stands alone"
    )
    imp.set_defaults(handler=_scenario_import)


def _scenario_list(args: argparse.Namespace) -> int:
    from cosim.scenario.commands import list_command

    return list_command(args)


def _scenario_import(args: argparse.Namespace) -> int:
    from cosim.scenario.commands import import_command

    return import_command(args)


def _add_traffic_command(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("traffic", help="run traffic only and write the per-window RSU table")
    p.add_argument("scenario", nargs="?", default="quickstart", help="scenario name, folder or scenario.toml")
    p.add_argument("--out", help="output folder (default: runs/<scenario>-traffic)")
    p.add_argument("--seed", type=int, help="override the scenario's seed")
    _add_overrides(p)
    p.add_argument("--gui", action="store_true", help="show the run in sumo-gui (TraCI backend)")
    p.add_argument("--no-progress", action="store_true", help="do not draw a progress bar")
    p.set_defaults(handler=_traffic)


def _traffic(args: argparse.Namespace) -> int:
    from cosim.traffic.commands import traffic_command

    return traffic_command(args)


def _add_serve_command(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        help="run the SplitFed server standalone (loopback only unless --host; see the docs: Security)",
    )
    p.add_argument(
        "scenario", nargs="?", help="scenario whose learning settings to use (default: quickstart, or the --resume's)"
    )
    p.add_argument("--port", type=int, default=50051, help="TCP port, 1-65535 (default 50051)")
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default 127.0.0.1: this host only); another host needs TLS or --insecure",
    )
    p.add_argument(
        "--out", help="the server's own folder: server.json, checkpoint, models (default: runs/serve-<scenario>-<time>)"
    )
    p.add_argument("--resume", metavar="DIR", help="continue from the checkpoint in an earlier server's folder")
    p.add_argument("--tls-cert", metavar="PEM", help="TLS: the server's certificate chain")
    p.add_argument("--tls-key", metavar="PEM", help="TLS: the key of --tls-cert")
    p.add_argument("--tls-client-ca", metavar="PEM", help="mutual TLS: clients must present a certificate of this CA")
    p.add_argument("--token-file", metavar="FILE", help="every call must carry this bearer token (16+ characters)")
    p.add_argument("--insecure", action="store_true", help="allow a bind reachable from other hosts without TLS")
    _add_overrides(p)
    p.set_defaults(handler=_serve)


def _add_client_security(p: argparse.ArgumentParser) -> None:
    """``cosim run``'s options for a remote server (``--server``)."""
    p.add_argument(
        "--server", metavar="HOST:PORT", help="drive a cosim serve running elsewhere (or server = in the toml)"
    )
    p.add_argument("--tls-ca", metavar="PEM", help="TLS: the CA that signed the server's certificate")
    p.add_argument("--tls", action="store_true", help="TLS trusting the system's root certificates")
    p.add_argument("--tls-cert", metavar="PEM", help="mutual TLS: this client's certificate")
    p.add_argument("--tls-key", metavar="PEM", help="mutual TLS: the key of --tls-cert")
    p.add_argument("--token-file", metavar="FILE", help="the bearer token the server expects")
    p.add_argument("--insecure", action="store_true", help="allow a server on another host without TLS")


def client_security_of(args: argparse.Namespace) -> ClientSecurity:
    """The :class:`cosim.rpc.security.ClientSecurity` of ``cosim run``'s options."""
    from pathlib import Path

    from cosim.rpc.security import ClientSecurity

    def path(name: str) -> Path | None:
        value = getattr(args, name, None)
        return Path(value).expanduser() if value else None

    return ClientSecurity(
        tls_ca=path("tls_ca"),
        tls=bool(getattr(args, "tls", False)),
        tls_cert=path("tls_cert"),
        tls_key=path("tls_key"),
        token_file=path("token_file"),
        insecure=bool(getattr(args, "insecure", False)),
    )


def _serve(args: argparse.Namespace) -> int:
    from cosim.rpc.commands import serve_command

    return serve_command(args)


def _add_export_command(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export a run folder as tables, per-link time series or a pcap")
    p.add_argument("run_dir", help="a run folder (holds run.json)")
    p.add_argument("--format", choices=("csv", "parquet", "pcap"), default="csv", help="output format (default csv)")
    p.add_argument("--out", help="output folder (default: RUN_DIR/export)")
    p.add_argument(
        "--window", type=float, help="window of the per-link series, simulated seconds (default: traffic.window)"
    )
    p.add_argument("--active-only", action="store_true", help="per-link series: only the windows with traffic")
    p.add_argument("--per-round", action="store_true", help="per-link series: one window per round, not --window")
    p.set_defaults(handler=_export)


def _export(args: argparse.Namespace) -> int:
    from cosim.export.commands import export_command

    return export_command(args)


def _add_compare_command(sub: argparse._SubParsersAction) -> None:
    def strategies_help() -> str:
        from cosim.registry import STRATEGIES

        default = ",".join(STRATEGIES.flagged("compare"))
        return f"comma-separated clustering strategies: {STRATEGIES.choices()} (default: {default})"

    def baseline_help() -> str:
        from cosim.registry import STRATEGIES

        default = ",".join(STRATEGIES.flagged("baseline"))
        return f"the strategy differences are taken against (default: {default} if compared, else the first listed)"

    def schedules_help() -> str:
        from cosim.experiments.schedules import schedule_choices

        return (
            f"comma-separated round schedules (learning.schedule): {', '.join(schedule_choices())}; the arms are "
            "then strategies x schedules, named by the schedule (one strategy), the strategy (one schedule) or "
            "strategy/schedule, the baseline's first schedule the reference (default: every run keeps the scenario's)"
        )

    p = sub.add_parser(
        "compare",
        help="run several clustering strategies over several seeds on paired traffic and write a comparison report",
    )
    p.add_argument("scenario", nargs="?", default="quickstart", help="scenario name, folder or scenario.toml")
    p.add_argument("--strategies", metavar="A,B,...", help=strategies_help())
    p.add_argument(
        "--schedules",
        metavar="X,Y,...",
        help=schedules_help(),
    )
    p.add_argument("--baseline", metavar="NAME", help=baseline_help())
    p.add_argument(
        "--seeds",
        metavar="SEEDS",
        help="seeds to replicate on, e.g. 1-5 or 1,3,7 (each seed's traffic is recorded once and replayed for "
        "every strategy; default: the scenario's seed)",
    )
    p.add_argument("--seed", type=int, help="one seed (a shortcut for --seeds S)")
    p.add_argument("--rounds", type=int, help="override learning.rounds")
    _add_overrides(p)
    p.add_argument(
        "--margin",
        action="append",
        default=[],
        metavar="MEASURE=VALUE",
        help="equivalence margin of a measure, in its unit, e.g. --margin final_eval_loss=0.5 (repeatable): the "
        "report tests whether the difference lies within ±VALUE (TOST) and can then say 'equivalent'",
    )
    p.add_argument(
        "--out",
        help="output folder (default: runs/<scenario>-compare-s<seeds>-<digest of the configs>; "
        "a rerun into the same folder skips finished runs)",
    )
    _add_style(p, "the report's figures (a rerun into the same folder redraws them)")
    p.add_argument("--address", help="address of an existing Ray cluster (default: local Ray when installed)")
    p.add_argument("--num-cpus", type=int, help="CPUs of the local Ray instance, i.e. runs at once (default: all)")
    p.add_argument("--no-ray", action="store_true", help="run one after the other in this process, even with Ray")
    p.add_argument("--no-progress", action="store_true", help="do not draw a progress display")
    p.set_defaults(handler=_compare)


def _compare(args: argparse.Namespace) -> int:
    from cosim.experiments.commands import compare_command

    return compare_command(args)


def _add_study_command(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "study", help="run a study: a paired comparison per scenario, written up with its tables and plots"
    )
    p.add_argument("study", nargs="?", help="study file (default: docs/study.toml of this checkout)")
    p.add_argument("--only", metavar="SCENARIO", help="run only this scenario of the study (the doc shows all)")
    p.add_argument("--doc-only", action="store_true", help="rewrite the document from the finished runs; run nothing")
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="run nothing: list each arm's runs, how many are on disk (reused), and estimate the wall time on "
        "--num-cpus cores from the arms' recorded job timings (study.json), else from a per-run model",
    )
    _add_style(p, "the figures of each scenario's report (finished runs are reused, their reports redrawn)")
    p.add_argument("--address", help="address of an existing Ray cluster (default: local Ray when installed)")
    p.add_argument("--num-cpus", type=int, help="CPUs of the local Ray instance, i.e. runs at once (default: all)")
    p.add_argument("--no-ray", action="store_true", help="run one after the other in this process, even with Ray")
    p.add_argument("--no-progress", action="store_true", help="do not draw a progress display")
    p.set_defaults(handler=_study)


def _study(args: argparse.Namespace) -> int:
    from cosim.experiments.study.commands import study_command

    return study_command(args)


def _add_sweep_command(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sweep", help="run a grid of scenarios x strategies x seeds x config values on Ray")
    p.add_argument("config", help="sweep TOML file ([grid] table, rounds, out)")
    p.add_argument("--address", help="address of an existing Ray cluster (default: start Ray locally)")
    p.add_argument("--num-cpus", type=int, help="CPUs of the local Ray instance (default: all)")
    p.add_argument("--out", help="output folder (overrides the file's out)")
    _add_style(p, "the sweep's plots")
    p.set_defaults(handler=_sweep)


def _sweep(args: argparse.Namespace) -> int:
    from cosim.experiments.sweep.commands import sweep_command

    return sweep_command(args)


def _add_run_command(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run one co-simulation (default: scenarios/quickstart, dynamic clustering)")
    p.add_argument("scenario", nargs="?", help="scenario name, folder or scenario.toml (default: quickstart)")
    p.add_argument(
        "--resume",
        metavar="RUN_DIR",
        help="continue a run that died, was interrupted or failed, from its last checkpoint (its own config)",
    )
    p.add_argument("--clustering", metavar="STRATEGY", help=_strategy_help())
    p.add_argument("--rounds", type=int, help="number of rounds (default: scenario's)")
    p.add_argument("--seed", type=int, help="seed for SUMO, data splits, TF and link jitter (default: scenario's)")
    _add_overrides(p)
    p.add_argument("--out", help="run folder (default: runs/<scenario>-<strategy>-s<seed>-<time>)")
    p.add_argument("--gui", action="store_true", help="show the run in sumo-gui, RSUs coloured by tier")
    p.add_argument("--local", action="store_true", help="call the server in process instead of over gRPC")
    p.add_argument(
        "--loopback",
        choices=("uds", "tcp"),
        help="how the run reaches the server it starts itself: TCP on 127.0.0.1 (default), or a Unix-domain socket "
        "in a folder only this user can enter",
    )
    p.add_argument("--no-progress", action="store_true", help="do not draw progress bars")
    _add_client_security(p)
    p.set_defaults(handler=_run)


_NOT_WITH_RESUME = ("scenario", "clustering", "rounds", "seed", "set", "out", "gui", "local", "server")


def _run(args: argparse.Namespace) -> int:
    from cosim.console import RunProgress, console, import_quietly, summary_table
    from cosim.registry import STRATEGIES
    from cosim.runner import check_files, check_schedule, resolve_config

    if args.resume:
        from cosim.checkpoints import inspect

        given = [n for n in _NOT_WITH_RESUME if getattr(args, n, None)]
        if given:
            flag = "SCENARIO" if given[0] == "scenario" else f"--{given[0]}"
            raise ConfigError(f"--resume = {args.resume}: {flag}: a resumed run continues with its own config")
        _, cfg = inspect(args.resume)  # bad input fails before TensorFlow loads
    else:
        cfg = resolve_config(args.scenario or "quickstart", args.overrides)  # bad input fails before TensorFlow loads
        check_schedule(cfg)
        check_files(cfg)
    security = None
    flags = [f"--{n.replace('_', '-')}" for n in _CLIENT_FLAGS if getattr(args, n, None)]
    if cfg.server:
        from cosim.rpc.security import check_client

        if args.local:
            raise ConfigError(f"--server = {cfg.server}: a remote server and --local exclude each other")
        if args.loopback:
            raise ConfigError(f"--loopback = {args.loopback}: only for the server a run starts itself, not --server")
        security = client_security_of(args)
        check_client(cfg.server, security)
    elif flags:
        raise ConfigError(f"{flags[0]}: only for a remote server (--server HOST:PORT)")
    if args.loopback and args.local:
        raise ConfigError(f"--loopback = {args.loopback}: --local calls the server without gRPC")
    import_quietly()
    from cosim.runner import resume, run

    label = STRATEGIES.entry(cfg.clustering.strategy).label
    spec = getattr(cfg.workload.plugin, "spec", None)
    what = f"resumes {args.resume}" if args.resume else cfg.name
    console.print(
        f"[bold]cosim run[/] {what}: {len(cfg.rsus)} RSUs, {cfg.learning.rounds} rounds, "
        f"{label} clustering, workload {cfg.workload.name}, seed {cfg.seed}"
    )
    unit = getattr(spec, "loss_unit", "")
    with RunProgress(cfg.traffic.begin, cfg.traffic.end, cfg.learning.rounds, not args.no_progress, unit) as bar:
        if args.resume:
            result = resume(args.resume, on_round=bar.round, on_time=bar.time, security=security)
        else:
            result = run(
                cfg,
                out=args.out,
                gui=args.gui,
                transport="local" if args.local else "grpc",
                on_round=bar.round,
                on_time=bar.time,
                security=security,
                loopback=args.loopback,
            )
    s = result.summary
    summary_table(f"{cfg.name} · {label} · seed {cfg.seed}", run_rows(s, result.data_spec))
    if s.get("stop_reason"):
        console.print(f"[yellow]stopped after {s['rounds']} of {s['rounds_planned']} rounds: {s['stop_reason']}[/]")
    for line in next_steps(result.folder, cfg.name):
        console.print(line, soft_wrap=True, highlight=False)
    return 0


def next_steps(folder: Path, scenario: str) -> list[str]:
    """What to do with a finished run: where it is, and the commands that read it (each line under 100 columns)."""
    where = str(folder)
    return [
        f"run folder: {where}  (traces: messages, rounds, traffic; per-RSU delays: rsu_delays.csv)",
        "next:",
        f"  cosim export {where} --format csv      # tables for pandas / spreadsheets",
        f"  cosim export {where} --format pcap     # open in Wireshark",
        f"  cosim compare {scenario} --seeds 1-5   # static vs dynamic over 5 paired seeds",
    ]


def run_rows(s: dict[str, Any], spec: DataSpec) -> dict[str, object]:
    """The rows of ``cosim run``'s summary table, from a run summary (run.json ``summary``)."""
    from cosim.console import MIGRATIONS

    nan = float("nan")
    loss = f"{spec.loss_name}, {spec.loss_unit}".rstrip(", ")
    metric = f"{spec.metric_name}, {spec.metric_unit}".rstrip(", ")
    rounds = (
        s["rounds"]
        if s["rounds"] == s.get("rounds_planned", s["rounds"])
        else f"{s['rounds']} of {s['rounds_planned']}"
    )
    rows: dict[str, object] = {
        "schedule": s.get("schedule", ""),
        "rounds": rounds,
        f"final eval {loss} (held-out)": s["final_eval_loss"],
        f"final eval {metric} (held-out)": s["final_eval_metric"],
        f"prequential {loss}, all rounds": s.get("prequential_loss", nan),
        f"latest prequential {loss}": s.get("final_prequential_loss", nan),
        f"target {loss} ({s.get('target_source', '')})": s.get("target_loss", nan),
        "time to target, s (simulated)": s.get("time_to_target_s", nan),
        "rounds to target": _count(s.get("rounds_to_target", nan)),
        "bytes to target": _count(s.get("bytes_to_target", nan)),
        "mean round, s (simulated)": s.get("mean_round_s", nan),
        "straggler per round, mean s (simulated)": s.get("mean_straggler_s", nan),
        "straggler per round, max s (simulated)": s.get("max_straggler_s", nan),
        "server busy fraction": s.get("server_busy_frac", nan),
    }
    for name in ("trivial", "linear", "local", "central"):  # cosim.baselines, on the same held-out set
        if f"baseline_{name}_loss" in s:
            rows[f"baseline {name}, {loss} (held-out)"] = s[f"baseline_{name}_loss"]
    if "baseline_linear_loss" in s:  # > 0: the split model beats a linear model on its own input
        rows[f"margin over linear, {loss} (linear - final)"] = s["baseline_linear_loss"] - s["final_eval_loss"]
    if "label_jsd" in s:  # cosim.traces.spread: do the RSUs see different labels (0: the same)
        rows["label spread between RSUs, mean pairwise JSD (bits)"] = s["label_jsd"]
    elif "label_eta2" in s:
        rows["label spread between RSUs, eta squared (share of variance)"] = s["label_eta2"]
    if "cap_binding_share" in s:
        rows["batch cap binding, share of RSU-rounds"] = s["cap_binding_share"]
    if "energy_per_round_j" in s:  # cosim.traces.metrics: all RSUs' joules per round (docs: energy)
        rows["energy per round, all RSUs, J (simulated)"] = s["energy_per_round_j"]
    if "async_updates" in s:  # cosim.traces.metrics.async_metrics: the async schedule's updates
        rows["async updates that reached the server"] = s["async_updates"]
        rows["async updates dropped as too stale, share"] = s["async_dropped_share"]
        rows["async update staleness, mean versions (max)"] = f"{s['mean_staleness']:.2f} ({s['max_staleness']})"
    for tier, wait in s.get("mean_barrier_wait_s", {}).items():
        rows[f"barrier wait, {tier}, mean s (simulated)"] = wait
    rows.update(
        {
            f"{MIGRATIONS}, all rounds": s["tier_migrations"],
            "late RSUs (deadline)": s["late_rsus"],
            "Forward calls": s["forwards"],
            "bytes on the wire": s["bytes_total"],
            "Forward uplink, mean ms (simulated)": s.get("mean_uplink_ms", nan),
            "Forward downlink, mean ms (simulated)": s.get("mean_downlink_ms", nan),
            "Forward server queue, mean ms (simulated)": s.get("mean_queue_ms", nan),
            "gRPC call, median ms (wall clock)": s.get("median_wall_rpc_ms", nan),
            "gRPC call, p95 ms (wall clock)": s.get("p95_wall_rpc_ms", nan),
            "simulated time of the rounds, s": s["sim_time_s"],
        }
    )
    return rows


def _count(value: object) -> object:
    """A count kept as a float only so it can be NaN (never reached) shown as an integer."""
    return int(value) if isinstance(value, float) and math.isfinite(value) else value


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (exposed for tests and docs)."""
    from cosim.version import __version__

    parser = _Parser(
        prog="cosim",
        description="Co-simulate SUMO traffic and Split Federated Learning among road-side units.",
    )
    parser.add_argument("--version", action="version", version=f"cosim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_run_command(sub)
    _add_scenario_commands(sub)
    _add_traffic_command(sub)
    _add_serve_command(sub)
    _add_compare_command(sub)
    _add_sweep_command(sub)
    _add_study_command(sub)
    _add_export_command(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``cosim`` command; returns the process exit code."""
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")  # gRPC's own INFO lines (e.g. a refused TLS handshake) stay quiet
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        args.overrides = overrides_of(args)
        return handler(args)
    except CosimError as exc:
        print(f"cosim: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except Interrupted as exc:
        if exc.folder is not None:
            print(
                f"cosim: stopped by {exc.signal_name}: {exc.rounds} finished round{'s' if exc.rounds != 1 else ''} "
                f"kept in {exc.folder}; continue with: cosim run --resume {exc.folder}",
                file=sys.stderr,
            )
        else:
            print(f"cosim: stopped by {exc.signal_name}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("cosim: interrupted; traces of finished rounds are kept", file=sys.stderr)
        return 130
    except MemoryError:
        print("cosim: error: out of memory (a smaller scenario, model or --window?)", file=sys.stderr)
        return 75
    except OSError as exc:  # the machine's trouble (disk full, permissions), not cosim's
        if os.environ.get(DEBUG_ENV):
            raise
        print(f"cosim: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 74
    except Exception as exc:  # noqa: BLE001 - a bug: still one line for the user, the traceback on request
        if os.environ.get(DEBUG_ENV):
            raise
        detail = " ".join(str(exc).split())[:300]
        print(
            f"cosim: internal error: {type(exc).__name__}: {detail} "
            f"(a bug in cosim; {DEBUG_ENV}=1 shows the traceback)",
            file=sys.stderr,
        )
        return 70


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

"""Sweeps and the multi-seed compare on a real two-node Ray cluster on this machine: ``ray start --head``, a
second node joined with ``ray start --address``, then ``cosim sweep --address`` and ``cosim compare --seeds
... --address``.

The nodes run in a temporary folder, on free ports, with token authentication (a token made for the
test and handed to every process in ``RAY_AUTH_TOKEN``, so the user's own ``~/.ray`` is never read), and
are stopped by their process groups. Which node ran each co-simulation is recorded by strategy plug-ins
that read a variable only that node's processes have: each test fails unless both nodes ran some.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[3]
SHIFT = ROOT / "tests" / "fixtures" / "shift"
RAY = Path(sys.executable).with_name("ray")

pytestmark = [pytest.mark.ray, pytest.mark.sumo, pytest.mark.tf, pytest.mark.grpc, pytest.mark.slow]

PLUGIN = '''
import os
from pathlib import Path

from cosim.clustering.builtin import DynamicClustering, StaticClustering


def tag(ctx):
    """Write which cluster node runs this co-simulation (from the node's own environment)."""
    tags = Path(os.environ["COSIM_TEST_TAGS"])
    (tags / f"{os.getpid()}-{ctx.round}-{ctx.t_start_s}").write_text(os.environ.get("COSIM_TEST_NODE", "unknown"))


class TaggedStatic(StaticClustering):
    def assign(self, ctx):
        tag(ctx)
        return super().assign(ctx)


class TaggedDynamic(DynamicClustering):
    def assign(self, ctx):
        tag(ctx)
        return super().assign(ctx)
'''


def free_ports(n: int) -> list[int]:
    """``n`` distinct TCP ports free on 127.0.0.1 now."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def node_ports() -> list[str]:
    """Every port a Ray node opens, chosen free (another Ray on this machine keeps its defaults)."""
    p = free_ports(6)
    return [
        "--node-manager-port", str(p[0]), "--object-manager-port", str(p[1]),
        "--dashboard-agent-listen-port", str(p[2]), "--dashboard-agent-grpc-port", str(p[3]),
        "--runtime-env-agent-port", str(p[4]), "--metrics-export-port", str(p[5]),
        "--min-worker-port", "0", "--max-worker-port", "0",
    ]  # fmt: skip


def stop(proc: subprocess.Popen) -> None:
    """Stop a ``ray start --block`` node: SIGTERM to its process group, SIGKILL if it lingers."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)


@contextmanager
def cluster(folder: Path, env: dict[str, str]) -> Iterator[str]:
    """A head node and a second node, one CPU each, in ``folder``; yields the head's address."""
    gcs, client, dashboard = free_ports(3)
    common = ["--num-cpus", "1", "--block", "--disable-usage-stats", "--include-log-monitor", "false"]
    head_cmd = [
        str(RAY), "start", "--head", "--port", str(gcs), "--node-ip-address", "127.0.0.1",
        "--temp-dir", str(folder / "ray"), "--include-dashboard", "false", "--dashboard-port", str(dashboard),
        "--ray-client-server-port", str(client), *node_ports(), *common,
    ]  # fmt: skip
    nodes: list[subprocess.Popen] = []
    try:
        with open(folder / "head.log", "wb") as log:
            nodes.append(subprocess.Popen(head_cmd, env={**env, "COSIM_TEST_NODE": "head"}, stdout=log, stderr=log,
                                          start_new_session=True))  # fmt: skip
        wait_for_port(gcs, nodes[0], folder / "head.log")
        address = f"127.0.0.1:{gcs}"
        worker_cmd = [str(RAY), "start", "--address", address, *node_ports(), *common]
        with open(folder / "worker.log", "wb") as log:
            nodes.append(subprocess.Popen(worker_cmd, env={**env, "COSIM_TEST_NODE": "worker"}, stdout=log,
                                          stderr=log, start_new_session=True))  # fmt: skip
        wait_for_nodes(address, 2, env)
        yield address
    finally:
        for node in reversed(nodes):
            stop(node)


def wait_for_port(port: int, proc: subprocess.Popen, log: Path, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"ray start --head exited ({proc.returncode}): {log.read_text()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"the head node did not listen on {port} within {timeout:.0f} s")


def wait_for_nodes(address: str, n: int, env: dict[str, str], timeout: float = 180.0) -> None:
    code = (
        "import ray, sys, time\n"
        f"ray.init(address={address!r}, logging_level='ERROR', log_to_driver=False)\n"
        f"deadline = time.monotonic() + {timeout}\n"
        f"while len([x for x in ray.nodes() if x['Alive']]) < {n} and time.monotonic() < deadline:\n"
        "    time.sleep(0.5)\n"
        f"sys.exit(0 if len([x for x in ray.nodes() if x['Alive']]) >= {n} else 1)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=timeout + 60)
    assert done.returncode == 0, f"the second node did not join: {done.stderr[-2000:]}"


Cluster = tuple[str, dict[str, str], Path]
"""The head's address, the environment of drivers (the token, the plug-in's path), the tags folder."""


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A two-node cluster for this module's tests: (address, the drivers' environment, the tags folder)."""
    pytest.importorskip("ray")
    if not RAY.exists():
        pytest.skip(f"no ray command beside {sys.executable}")
    if not (SHIFT / "scenario.toml").exists():
        pytest.skip("tests/fixtures/shift not present")
    work = tmp_path_factory.mktemp("cluster")
    plugins, tags = work / "plugins", work / "tags"
    plugins.mkdir()
    tags.mkdir()
    (plugins / "nodetag.py").write_text(PLUGIN)
    env = {
        **os.environ,
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN": secrets.token_hex(32),  # this cluster's own; the user's ~/.ray is not used
        "RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S": "0",  # stop at once (no tasks left to drain)
        "COSIM_TEST_TAGS": str(tags),
        "PYTHONPATH": os.pathsep.join([str(plugins), str(ROOT)]),  # the driver's path goes to every task
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "COLUMNS": "200",
    }
    base = Path(tempfile.mkdtemp(prefix="cosim-ray-", dir="/tmp" if Path("/tmp").is_dir() else None))
    try:  # Ray's socket paths must be short: its folder is not under pytest's
        with cluster(base, env) as address:
            yield address, env, tags
    finally:
        shutil.rmtree(base, ignore_errors=True)


def nodes_that_ran(tags: Path) -> set[str]:
    """The nodes whose processes ran a tagging strategy since the folder was emptied."""
    return {p.read_text() for p in tags.iterdir()}


def cosim(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "cosim", *args]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)


def test_a_sweep_runs_on_both_nodes_of_the_cluster(ray_cluster: Cluster, tmp_path: Path) -> None:
    address, env, tags = ray_cluster
    for old in tags.iterdir():
        old.unlink()
    spec = tmp_path / "sweep.toml"
    grid = f'scenarios = ["{SHIFT}"]\nstrategies = ["nodetag:TaggedStatic"]\nseeds = [1, 2]\n'
    spec.write_text("rounds = 1\n[grid]\n" + grid)
    r = cosim(env, "sweep", str(spec), "--address", address, "--out", str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr[-3000:]
    assert "2 finished, 0 failed" in r.stdout
    runs = pd.read_csv(tmp_path / "out" / "runs.csv")
    assert sorted(runs["seed"]) == [1, 2] and set(runs["status"]) == {"finished"}
    assert runs["final_eval_loss"].notna().all() and (runs["forwards"] > 0).all()
    assert all((Path(f) / "run.json").exists() for f in runs["folder"])
    assert nodes_that_ran(tags) == {"head", "worker"}  # each node ran a co-simulation


def test_compare_over_seeds_runs_on_both_nodes_of_the_cluster(ray_cluster: Cluster, tmp_path: Path) -> None:
    address, env, tags = ray_cluster
    for old in tags.iterdir():
        old.unlink()
    out = tmp_path / "cmp"
    r = cosim(
        env, "compare", str(SHIFT), "--strategies", "nodetag:TaggedStatic,nodetag:TaggedDynamic", "--seeds", "1,2",
        "--rounds", "1", "--address", address, "--out", str(out), "--no-progress",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    assert "seeds 1,2: same traffic for every strategy, paired seed by seed" in " ".join(r.stdout.split())
    values = pd.read_csv(out / "values.csv")
    loss = values[values["metric"] == "final_eval_loss"]
    assert len(loss) == 4 and set(loss["seed"]) == {1, 2} and loss["value"].notna().all()
    assert nodes_that_ran(tags) == {"head", "worker"}  # the seeds' runs were spread over both nodes

"""``cosim serve``: run the SplitFed server standalone until interrupted, safe by default.

Everything a user can get wrong is checked before TensorFlow loads, each as one line: the port range,
the host (it must resolve; a non-loopback bind needs TLS or ``--insecure``), the TLS and token files,
a taken port, the output folder (not a file, creatable, writable, and holding no checkpoint unless
``--resume``). The server's folder holds ``server.json`` (what it serves, where, how it is secured),
``checkpoint.npz`` (after every round) and ``models/`` (written by Finish): the server writes nowhere else.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cosim.config import Config, from_dict
from cosim.errors import ConfigError, RunFolderError
from cosim.learning.state import CHECKPOINT  # numpy only: bad input still fails before TensorFlow loads
from cosim.scenario.resolve import load_scenario

SERVER_JSON = "server.json"


def security_of(args: argparse.Namespace) -> Any:
    """The server's :class:`~cosim.rpc.security.ServerSecurity` from the command line."""
    from cosim.rpc.security import ServerSecurity

    def path(name: str) -> Path | None:
        value = getattr(args, name, None)
        return Path(value).expanduser() if value else None

    return ServerSecurity(
        tls_cert=path("tls_cert"),
        tls_key=path("tls_key"),
        tls_client_ca=path("tls_client_ca"),
        token_file=path("token_file"),
        insecure=bool(getattr(args, "insecure", False)),
    )


def _config(args: argparse.Namespace, resume: Path | None) -> Config:
    if resume is None or args.scenario is not None:
        return load_scenario(args.scenario or "quickstart", overrides=args.overrides)
    info = read_server_json(resume)
    try:
        source = Path(info["source"]) if info.get("source") else None
        cfg = from_dict(info["config"], source=source, where=str(resume / SERVER_JSON))
    except (KeyError, TypeError) as exc:
        raise RunFolderError(f"{resume / SERVER_JSON}: has no usable config ({exc})") from None
    return cfg.with_overrides(*args.overrides) if args.overrides else cfg


def read_server_json(folder: Path) -> dict[str, Any]:
    """A server folder's ``server.json``; missing or unreadable is one line."""
    path = folder / SERVER_JSON
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunFolderError(f"{folder}: not a cosim serve folder (no {SERVER_JSON})") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunFolderError(f"{path}: unreadable ({exc})") from None
    if not isinstance(info, dict):
        raise RunFolderError(f"{path}: not a JSON object")
    return info


def prepare_folder(folder: Path, resume: bool) -> None:
    """The server's own folder: a folder (not a file), created if needed, writable; a checkpoint only on resume."""
    option = "--resume" if resume else "--out"
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"{option} = {folder}: is a file, not a folder")
    if resume and not folder.is_dir():
        raise ConfigError(f"--resume = {folder}: no such folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(f"{option} = {folder}: cannot write there ({exc.strerror or exc})") from None
    if not resume and (folder / CHECKPOINT).exists():
        raise ConfigError(
            f"--out = {folder}: holds a server checkpoint; continue it with --resume {folder}, or choose another --out"
        )
    if resume and not (folder / CHECKPOINT).exists():
        raise ConfigError(f"--resume = {folder}: holds no server checkpoint ({CHECKPOINT})")


def serve_command(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C or SIGTERM; prints the bound address on stdout (one line)."""
    from cosim.rpc.security import check_bind, check_free, read_token, server_credentials

    if isinstance(args.port, bool) or not 1 <= args.port <= 65535:
        raise ConfigError(f"--port = {args.port}: must be within 1-65535")
    resume = Path(args.resume).expanduser() if args.resume else None
    if resume is not None and args.out and Path(args.out).expanduser().resolve() != resume.resolve():
        raise ConfigError(f"--out = {args.out}: with --resume the server continues in its own folder ({resume})")
    security = security_of(args)
    loopback = check_bind(args.host, security)  # before TensorFlow loads: bad input fails fast
    server_credentials(security)
    if security.token_file:
        read_token(security.token_file)
    check_free(args.host, args.port)
    cfg = _config(args, resume)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    folder = resume or (Path(args.out).expanduser() if args.out else Path("runs") / f"serve-{cfg.name}-{stamp}")
    prepare_folder(folder, resume is not None)

    from cosim.console import import_quietly

    import_quietly()
    from cosim.learning.models import ModelSpec
    from cosim.rpc.server import start_server

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    handle = start_server(
        cfg,
        host=args.host,
        port=args.port,
        out_dir=folder / "models",
        security=security,
        state_dir=folder,
        resume=resume is not None,
    )
    spec = ModelSpec.from_config(cfg)
    info: dict[str, Any] = {
        "status": "serving",
        "scenario": cfg.name,
        "source": str(cfg.source) if cfg.source else None,
        "fingerprint": spec.fingerprint(),
        "model": spec.describe(),
        "address": handle.address,
        "tls": security.tls,
        "mutual_tls": security.tls_client_ca is not None,
        "token": security.token_file is not None,
        "pid": os.getpid(),
        "started_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "resumed_after_round": handle.resumed.last_round if handle.resumed else None,
        "config": cfg.to_dict(),
    }
    _write_json(folder / SERVER_JSON, info)
    how = ", ".join(
        w
        for w, on in (("TLS", security.tls), ("mutual TLS", security.tls_client_ca), ("token", security.token_file))
        if on
    )
    resumed = f", resumed after round {handle.resumed.last_round}" if handle.resumed else ""
    print(
        f"cosim serve: {cfg.name} listening on {handle.address} ({how or 'plaintext'}{resumed}; folder {folder})",
        flush=True,
    )
    if not loopback and not (security.token_file or security.tls_client_ca):
        print(
            f"cosim serve: warning: no --token-file or --tls-client-ca: anyone who reaches {handle.address} can "
            "train this model",
            file=sys.stderr,
            flush=True,
        )
    previous = signal.signal(signal.SIGTERM, _interrupt)
    # SIGINT stops the server even when it was started in the background, whose shell ignores SIGINT for it
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        handle.wait()
    except KeyboardInterrupt:
        print("cosim serve: stopped", file=sys.stderr)
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)
        handle.stop()
        info.update(status="stopped", stopped_utc=datetime.now(UTC).isoformat(timespec="seconds"))
        _write_json(folder / SERVER_JSON, info)
    return 0


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _write_json(path: Path, info: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(info, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, path)

"""Running ``archive serve``: the replay server as a child process, the viewer here."""

from __future__ import annotations

import importlib.util
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from types import FrameType
from urllib.parse import urlsplit

from werkzeug.serving import make_server

from archive.store.db import Store
from archive.web.app import Viewer
from archive.web.hosts import origin
from archive.web.replay import COLLECTION

STARTUP_TIMEOUT = 60.0


class ServeError(RuntimeError):
    pass


def replay_available() -> bool:
    return importlib.util.find_spec("pywb") is not None


def _reachable(host: str) -> str:
    return {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)


def ensure_free(host: str, port: int, option: str) -> None:
    """Refuse a port something else listens on before starting: the replay server would
    fail in its own process, and the viewer would frame whatever answers there."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as probe:
        # As the servers themselves bind: a port left in TIME_WAIT is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ServeError(
                f"port {port} on {host} is in use ({exc.strerror}); choose another with {option}"
            ) from exc


def _wait_listening(host: str, port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServeError(f"the replay server exited with status {process.returncode}")
        try:
            with socket.create_connection((_reachable(host), port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise ServeError(f"the replay server did not listen on port {port} in {STARTUP_TIMEOUT:.0f} s")


def start_replay(
    store: Store, host: str, port: int, hostnames: list[str]
) -> subprocess.Popen[bytes]:
    config = store.config
    allow = [arg for name in hostnames if name for arg in ("--allow-host", name)]
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "archive.web.replay_server",
            "--warcs",
            str(config.warc_dir),
            "--state",
            str(config.home / "replay"),
            "--host",
            host,
            "--port",
            str(port),
            *allow,
        ]
    )
    try:
        _wait_listening(host, port, process)
    except BaseException:
        stop(process)
        raise
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)  # unwinds through serve()'s finally, which stops the replay server


def serve(
    store: Store, host: str, port: int, replay_port: int, announce: Callable[[str], None] = print
) -> None:
    """Serve until interrupted. The replay server gets its own port: another origin."""
    if port == replay_port:
        raise ServeError("the viewer and the replay server need two different ports")
    ensure_free(host, port, "--port")
    ensure_free(host, replay_port, "--replay-port")
    names = [host, urlsplit(store.config.viewer_url).hostname or ""]
    replay = start_replay(store, host, replay_port, names) if replay_available() else None
    try:
        viewer = Viewer(store, replay_port, hostnames=names, replay=replay is not None)
        server = make_server(host, port, viewer, threaded=True)
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
        shown = _reachable(host)
        announce(f"viewer: {origin(shown, port)}/")
        if replay is None:
            announce("replay: off (pywb is not installed: pip install 'cited-archive[replay]')")
        else:
            announce(f"replay: {origin(shown, replay_port)}/{COLLECTION}/")
        try:
            server.serve_forever()
        finally:
            server.server_close()
    finally:
        if replay is not None:
            stop(replay)

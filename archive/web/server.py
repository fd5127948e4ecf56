"""Running ``archive serve``: the replay server as a child process, the viewer here."""

from __future__ import annotations

import importlib.util
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
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


#: where the replay server's own environment is made (pywb pins a redis that
#: scrapy-redis cannot use, so the two never share one): next to the project
REPLAY_VENV = Path(__file__).resolve().parents[2] / ".venv-replay"
MAKE_REPLAY_VENV = (
    "python3 -m venv .venv-replay && .venv-replay/bin/pip install -e '.[replay]' "
    "in the project's folder, or set ARCHIVE_REPLAY_PYTHON"
)


def replay_python(setting: str = "") -> str:
    """The Python that runs the replay server: ARCHIVE_REPLAY_PYTHON, else this
    interpreter when it imports pywb, else the project's ``.venv-replay``; a ServeError
    saying how to make one when there is none."""
    if setting:
        return setting
    if importlib.util.find_spec("pywb") is not None:
        return sys.executable
    beside = REPLAY_VENV / "bin" / "python"
    if beside.exists():
        return str(beside)
    raise ServeError(f"pywb is not installed here, nor in {REPLAY_VENV}: {MAKE_REPLAY_VENV}")


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
    store: Store, host: str, port: int, hostnames: list[str], python: str | None = None
) -> subprocess.Popen[bytes]:
    config = store.config
    allow = [arg for name in hostnames if name for arg in ("--allow-host", name)]
    process = subprocess.Popen(
        [
            python or replay_python(config.replay_python),
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
    try:
        python: str | None = replay_python(store.config.replay_python)
    except ServeError as exc:
        python, missing = None, str(exc)
    replay = start_replay(store, host, replay_port, names, python) if python else None
    try:
        viewer = Viewer(store, replay_port, hostnames=names, replay=replay is not None)
        server = make_server(host, port, viewer, threaded=True)
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
        shown = _reachable(host)
        announce(f"viewer: {origin(shown, port)}/")
        if replay is None:
            announce(f"replay: off ({missing})")
        else:
            announce(f"replay: {origin(shown, replay_port)}/{COLLECTION}/")
        try:
            server.serve_forever()
        finally:
            server.server_close()
    finally:
        if replay is not None:
            stop(replay)

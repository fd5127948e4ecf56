"""The benchmark's web server: nginx on a free loopback port when it is installed, else
the tests' LocalSite (a Python thread in the bench's own process, far slower).

Files are given as {path: bytes}; the content type follows the extension.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from sites import Fixed, LocalSite  # noqa: E402

TYPES = {
    "html": "text/html",
    "css": "text/css",
    "js": "application/javascript",
    "png": "image/png",
    "woff2": "font/woff2",
    "txt": "text/plain",
}

CONF = """\
daemon off;
worker_processes auto;
{user}
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    types {{ {types} }}
    default_type application/octet-stream;
    access_log {tmp}/access.log combined buffer=64k;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 60s;
    keepalive_requests 100000;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {tmp}/site;
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def nginx(files: Mapping[str, bytes]) -> Iterator[tuple[str, str]]:
    with tempfile.TemporaryDirectory(prefix="bench-nginx-") as name:
        tmp = Path(name)
        for path, body in files.items():
            target = tmp / "site" / path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(body)
        port = free_port()
        types = " ".join(f"{mime} {ext};" for ext, mime in TYPES.items())
        # Workers of a root master would run as nobody, who cannot read the 0700 folder.
        user = "user root;" if os.geteuid() == 0 else ""
        conf = CONF.format(tmp=tmp, port=port, types=types, user=user)
        (tmp / "nginx.conf").write_text(conf)
        cmd = ["nginx", "-p", str(tmp), "-c", "nginx.conf", "-e", str(tmp / "error.log")]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 10
            while True:
                if proc.poll() is not None:
                    errors = proc.stderr.read().decode() if proc.stderr else ""
                    log = (tmp / "error.log").read_text() if (tmp / "error.log").exists() else ""
                    sys.exit(f"nginx did not start:\n{errors}{log}")
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port)):
                    break
                if time.monotonic() > deadline:
                    sys.exit("nginx did not answer within 10 s")
                time.sleep(0.05)
            version = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr
            yield f"http://127.0.0.1:{port}", version.strip().split(": ")[-1]
        finally:
            proc.terminate()
            proc.wait(timeout=10)


@contextlib.contextmanager
def python_site(files: Mapping[str, bytes]) -> Iterator[tuple[str, str]]:
    routes = {
        path: Fixed(body, content_type=TYPES.get(path.rsplit(".", 1)[-1], "text/html"))
        for path, body in files.items()
    }
    with LocalSite(routes) as site:
        yield site.url(""), "LocalSite (Python, in the bench process)"


def serve(files: Mapping[str, bytes]) -> contextlib.AbstractContextManager[tuple[str, str]]:
    """Serve ``files``: yields the base URL and the server's name."""
    if shutil.which("nginx"):
        return nginx(files)
    print("note: nginx is not installed (apt-get install nginx-light); serving with LocalSite,")
    print("      a Python server in this process, which caps every tool's pages/s")
    return python_site(files)

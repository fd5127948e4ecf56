"""Which Host headers the viewer and the replay server answer.

Both listen on loopback by default, where a page on any web site could reach them by
DNS rebinding (its own name, re-pointed at 127.0.0.1) and read the archive. Such a
request carries the attacker's name in ``Host``; an IP literal, ``localhost`` or a name
the operator chose cannot be one, so only those are served.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

LOCAL_NAMES = frozenset({"localhost"})


def hostname_of(host_header: str) -> str | None:
    """``127.0.0.1:8600`` → ``127.0.0.1``; ``[::1]:8600`` → ``::1``; None if malformed."""
    try:
        return urlsplit("//" + host_header.strip()).hostname
    except ValueError:
        return None


def is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class HostCheck:
    def __init__(self, names: Iterable[str] = ()) -> None:
        self.names = LOCAL_NAMES | {n.lower().strip("[]") for n in names if n}

    def allows(self, host_header: str | None) -> bool:
        name = hostname_of(host_header or "")
        if not name:
            return False
        return is_ip(name) or name in self.names


def origin(hostname: str, port: int) -> str:
    """``http://host:port``, with brackets around an IPv6 literal."""
    host = f"[{hostname}]" if ":" in hostname else hostname
    return f"http://{host}:{port}"

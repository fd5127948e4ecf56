"""Running a command for a benchmark: its wall time and the peak RSS of its whole process tree.

The tree is the process and every descendant it has at the moment of each poll (every 50 ms),
found by parent id in ``/proc/*/stat``; its RSS is the sum of their resident sets
(``/proc/PID/statm``, the same count as ``VmRSS``). A descendant that lives less than one
poll may be missed. Linux only.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")
POLL = 0.05


@dataclass
class Run:
    seconds: float
    peak_rss: int  # bytes
    stdout: str


def _children() -> dict[int, list[int]]:
    found: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", "rb") as f:
                    stat = f.read()
            except OSError:  # gone since the listing
                continue
            parent = int(stat.rsplit(b")", 1)[1].split()[1])  # the name may hold spaces
            found.setdefault(parent, []).append(int(name))
    return found


def tree_rss(root: int) -> int:
    """Resident bytes of ``root`` and all its descendants now."""
    children, todo, total = _children(), [root], 0
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        try:
            with open(f"/proc/{pid}/statm", "rb") as f:
                total += int(f.read().split()[1]) * PAGE
        except OSError:
            pass
    return total


def run(cmd: list[str], env: dict[str, str], cwd: Path, ok: tuple[int, ...] = (0,)) -> Run:
    """Run ``cmd`` to its end, polling its tree's RSS; exit with its stderr if it fails."""
    out, err = cwd / ".stdout", cwd / ".stderr"
    peak = 0
    started = time.perf_counter()
    with out.open("wb") as o, err.open("wb") as e:
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=o, stderr=e)
        while proc.poll() is None:
            peak = max(peak, tree_rss(proc.pid))
            time.sleep(POLL)
    seconds = time.perf_counter() - started
    if proc.returncode not in ok:
        tail = err.read_text(errors="replace")[-3000:]
        sys.exit(f"{' '.join(cmd[:3])} failed ({proc.returncode}):\n{tail}")
    return Run(seconds, peak, out.read_text(errors="replace"))

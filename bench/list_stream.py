"""Memory and time of `archive list` over a large registry (target: --jsonl under 100 MB RSS).

    .venv/bin/python bench/list_stream.py [--resources 100000] [--home DIR]

Imports N resources (a text list, through the real `archive import`) into a fresh SQLite
store, then runs `archive list` with --jsonl, --json and plain text, each writing to
/dev/null, and reads each child's peak RSS from wait4(2). The peer is SQLite's own shell
printing the same table as JSON (`sqlite3 -json`), measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ARCHIVE = str(Path(sys.executable).parent / "archive")
TARGET_MB = 100


def run(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of one command, its output discarded."""
    started = time.perf_counter()
    with open(os.devnull, "wb") as null:
        proc = subprocess.Popen(args, stdout=null, stderr=subprocess.PIPE, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(args)} failed: {proc.stderr.read().decode()[-2000:]}")
    return time.perf_counter() - started, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resources", type=int, default=100_000)
    parser.add_argument("--home", type=Path, help="keep the store here (reused if filled)")
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="list-bench-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVE_")}
    env["ARCHIVE_HOME"] = str(home)
    db = home / "archive.sqlite3"
    if not db.exists():
        listing = home / "list.txt"
        home.mkdir(parents=True, exist_ok=True)
        with listing.open("w") as fh:
            for n in range(args.resources):
                fh.write(
                    f"https://site{n % 5000}.example.org/articles/{n}/a-title-of-some-length\n"
                )
        seconds, _ = run([ARCHIVE, "import", str(listing)], env)
        print(f"imported {args.resources:,} resources in {seconds:.1f} s")

    rows = [
        ("archive list --jsonl", [ARCHIVE, "list", "--jsonl"]),
        ("archive list --json", [ARCHIVE, "list", "--json"]),
        ("archive list", [ARCHIVE, "list"]),
        (
            "sqlite3 -json (peer)",
            ["sqlite3", "-json", str(db), "SELECT * FROM resources ORDER BY url"],
        ),
    ]
    print(f"{'command':<24} {'seconds':>8} {'peak RSS MB':>12}")
    results = {}
    for name, command in rows:
        seconds, rss = run(command, env)
        results[name] = (seconds, rss)
        print(f"{name:<24} {seconds:>8.2f} {rss:>12.1f}")
    ours, peer = results["archive list --jsonl"], results["sqlite3 -json (peer)"]
    verdict = "met" if ours[1] < TARGET_MB else "missed"
    print(f"--jsonl: {ours[1]:.0f} MB (target < {TARGET_MB} MB: {verdict}); ", end="")
    print(f"{ours[0] / peer[0]:.1f}x the peer's time, {ours[1] / peer[1]:.1f}x its memory")


if __name__ == "__main__":
    main()

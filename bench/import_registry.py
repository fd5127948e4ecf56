"""Time ``archive import`` of a 6,000-entry registry in the wiki's format (target: < 10 s).

    .venv/bin/python bench/import_registry.py [--entries 6000]

Runs the real CLI in a subprocess on a fresh SQLite store: first import, then the
idempotent re-import. There is no peer tool to compare with, so it prints the
times against the target.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from test_registry import make_registry  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=6000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        registry = Path(tmp) / "registry.yaml"
        make_registry(registry, args.entries)
        home = str(Path(tmp) / "home")
        env = {**os.environ, "ARCHIVE_HOME": home, "ARCHIVE_DATABASE_URL": ""}
        archive = [sys.executable, "-m", "archive.cli", "import", str(registry)]
        for label in ("first import", "re-import"):
            started = time.perf_counter()
            done = subprocess.run(archive, env=env, capture_output=True, text=True, check=True)
            seconds = time.perf_counter() - started
            verdict = "ok" if seconds < 10 else "OVER TARGET"
            print(f"{label:13s} {args.entries} entries: {seconds:5.2f} s (< 10 s: {verdict})")
            print("   ", done.stdout.strip())


if __name__ == "__main__":
    main()

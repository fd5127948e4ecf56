"""The crontab entry that runs ``archive crawl --due`` periodically (docs/design.md §9).

One entry per archive home, found again by its marker comment, so installing twice
replaces rather than duplicates, and another home's entry is left alone.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from crontab import CronItem, CronTab

MARKER = "cited-archive crawl"
_PERIOD = re.compile(r"^(\d+)([mhdw])$")


class BadPeriod(ValueError):
    pass


def cron_schedule(period: str) -> str:
    """``30m`` → ``*/30 * * * *``; only periods cron can keep exactly are accepted.

    python-crontab writes hourly, daily and weekly ones as ``@hourly`` and so on, which
    Vixie cron and cronie both read.

    ``*/7`` minutes would fire at :56 and again at :00, so the step must divide the hour
    (or, for hours, the day); longer periods than a day are only ``1w``.
    """
    match = _PERIOD.match(period.strip().lower())
    if not match:
        raise BadPeriod(f"period {period!r} is not like 30m, 6h, 1d or 1w")
    count, unit = int(match.group(1)), match.group(2)
    if unit == "m" and count > 0 and 60 % count == 0:
        return {1: "* * * * *", 60: "0 * * * *"}.get(count, f"*/{count} * * * *")
    if unit == "h" and count > 0 and 24 % count == 0:
        return {1: "0 * * * *", 24: "0 0 * * *"}.get(count, f"0 */{count} * * *")
    if unit == "d" and count == 1:
        return "0 0 * * *"
    if unit == "w" and count == 1:
        return "0 0 * * 0"
    allowed = {
        "m": "minutes must divide 60 (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60)",
        "h": "hours must divide 24 (1, 2, 3, 4, 6, 8, 12, 24)",
        "d": "days: only 1d",
        "w": "weeks: only 1w",
    }[unit]
    raise BadPeriod(f"period {period!r} cannot be kept by cron: {allowed}")


def marker(home: Path) -> str:
    return f"{MARKER} {home}"


def archive_executable() -> str:
    """Absolute path of the ``archive`` script of this installation.

    cron runs with a bare PATH, so the entry names the script next to this Python
    (the virtualenv's), not whatever ``archive`` a login shell would find.
    """
    beside = Path(sys.executable).parent / "archive"
    if beside.exists():
        return os.path.abspath(beside)
    found = shutil.which("archive")
    if found:
        return os.path.abspath(found)
    return f"{shlex.quote(os.path.abspath(sys.executable))} -m archive.cli"


def crawl_command(home: Path, cwd: Path, executable: str | None = None) -> str:
    home = home.absolute()
    exe = executable or archive_executable()
    if not exe.endswith(" -m archive.cli"):
        exe = shlex.quote(exe)
    log = shlex.quote(str(home / "logs" / "cron.log"))
    return (
        f"cd {shlex.quote(str(cwd.absolute()))} && "
        f"ARCHIVE_HOME={shlex.quote(str(home))} {exe} crawl --due >> {log} 2>&1"
    )


def open_tab(tabfile: Path | None = None) -> CronTab:
    """The user's crontab, or a tab file (which need not exist yet)."""
    if tabfile is None:
        return CronTab(user=True)
    if not tabfile.exists():
        tab = CronTab()
        tab.filen = str(tabfile)  # where write() puts it
        return tab
    return CronTab(tabfile=str(tabfile))


@dataclass(frozen=True)
class Entry:
    schedule: str
    command: str
    line: str


def _entries(tab: CronTab, home: Path) -> list[CronItem]:
    return list(tab.find_comment(marker(home.absolute())))


def install(
    tab: CronTab, period: str, home: Path, cwd: Path, executable: str | None = None
) -> Entry:
    """Install or replace this home's entry and write the tab; returns what was written."""
    schedule = cron_schedule(period)
    home = home.absolute()
    # The shell opens the log before archive runs; a missing folder would lose the output.
    (home / "logs").mkdir(parents=True, exist_ok=True)
    tab.remove(*_entries(tab, home))
    job = tab.new(command=crawl_command(home, cwd, executable), comment=marker(home))
    job.setall(schedule)
    tab.write()
    return Entry(schedule, job.command, job.render())


def show(tab: CronTab, home: Path) -> Entry | None:
    jobs = _entries(tab, home)
    if not jobs:
        return None
    job = jobs[0]
    return Entry(job.slices.clean_render(), job.command, job.render())


def remove(tab: CronTab, home: Path) -> int:
    """Remove this home's entries; returns how many there were."""
    jobs = _entries(tab, home)
    if jobs:
        tab.remove(*jobs)
        tab.write()
    return len(jobs)

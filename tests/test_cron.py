"""``archive schedule``: one crontab entry per archive home that runs ``crawl --due``.

The user's own crontab is never touched: every test points python-crontab at a tab
file, and the installed command line is run by a real shell to prove it works as cron
would run it.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result
from crontab import CronTab

from archive.cli.context import Context
from archive.cli.rot import schedule
from archive.rot import cron

OTHER_LINE = "15 4 * * * /usr/local/bin/backup --quiet # nightly backup"


@click.group()
@click.option("--home")
@click.pass_context
def app(ctx: click.Context, home: str | None) -> None:
    ctx.obj = Context(home)


app.add_command(schedule)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.startswith("ARCHIVE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path / "my archive" / "home"  # spaces: the command must quote


@pytest.fixture
def tabfile(tmp_path: Path) -> Path:
    path = tmp_path / "crontab.txt"
    path.write_text(f"MAILTO=ops@example.org\n{OTHER_LINE}\n", encoding="utf-8")
    return path


def run(home: Path, tabfile: Path, *args: str) -> Result:
    return CliRunner().invoke(
        app, ["--home", str(home), "schedule", "--tabfile", str(tabfile), *args]
    )


def ours(tabfile: Path, home: Path) -> list[str]:
    marker = cron.marker(home.absolute())
    return [line for line in tabfile.read_text().splitlines() if line.endswith(f"# {marker}")]


@pytest.mark.parametrize(
    ("period", "schedule_"),
    [
        ("1m", "* * * * *"),
        ("5m", "*/5 * * * *"),
        ("30m", "*/30 * * * *"),
        ("60m", "0 * * * *"),
        ("1h", "0 * * * *"),
        ("6h", "0 */6 * * *"),
        ("24h", "0 0 * * *"),
        ("1d", "0 0 * * *"),
        ("1D", "0 0 * * *"),
        ("1w", "0 0 * * 0"),
    ],
)
def test_periods_cron_can_keep(period: str, schedule_: str) -> None:
    assert cron.cron_schedule(period) == schedule_
    assert CronTab(tab=f"{schedule_} true").crons[0].is_valid()


@pytest.mark.parametrize(
    ("period", "why"),
    [
        ("7m", "minutes must divide 60"),
        ("45m", "minutes must divide 60"),
        ("90m", "minutes must divide 60"),
        ("0m", "minutes must divide 60"),
        ("5h", "hours must divide 24"),
        ("48h", "hours must divide 24"),
        ("2d", "only 1d"),
        ("2w", "only 1w"),
        ("daily", "not like 30m"),
        ("1.5h", "not like 30m"),
        ("", "not like 30m"),
    ],
)
def test_periods_cron_cannot_keep_are_refused(period: str, why: str) -> None:
    with pytest.raises(cron.BadPeriod, match=why):
        cron.cron_schedule(period)


def test_install_show_replace_remove(home: Path, tabfile: Path, tmp_path: Path) -> None:
    installed = run(home, tabfile, "--every", "1d")
    assert installed.exit_code == 0, installed.output
    (line,) = ours(tabfile, home)
    exe = str(Path(sys.executable).parent / "archive")
    assert line == (
        f"@daily cd {tmp_path} && ARCHIVE_HOME='{home}' {exe} crawl --due"
        f" >> '{home}/logs/cron.log' 2>&1 # cited-archive crawl {home}"
    )
    assert installed.stdout == f"installed: {line}\n"
    assert (home / "logs").is_dir()  # the shell opens the log before archive runs

    shown = run(home, tabfile, "--show")
    assert (shown.exit_code, shown.stdout) == (0, f"{line}\n")

    replaced = run(home, tabfile, "--every", "6h", "--show")
    assert replaced.exit_code == 0, replaced.output
    (line,) = ours(tabfile, home)  # still exactly one
    assert line.startswith("0 */6 * * * cd ")
    assert replaced.stdout.splitlines() == [f"installed: {line}", line]
    assert OTHER_LINE in tabfile.read_text() and "MAILTO=ops@example.org" in tabfile.read_text()

    removed = run(home, tabfile, "--remove")
    assert (removed.exit_code, removed.stdout) == (0, "removed the crawl entry\n")
    assert ours(tabfile, home) == []
    assert tabfile.read_text().splitlines() == ["MAILTO=ops@example.org", OTHER_LINE]
    again = run(home, tabfile, "--remove")
    assert again.exit_code == 0 and "no crawl scheduled" in again.stdout
    none = run(home, tabfile, "--show")
    assert none.exit_code == 1 and "no crawl scheduled" in none.stdout


def test_each_home_has_its_own_entry(home: Path, tabfile: Path, tmp_path: Path) -> None:
    other = tmp_path / "second-archive"
    assert run(home, tabfile, "--every", "30m").exit_code == 0
    assert run(other, tabfile, "--every", "1w").exit_code == 0
    assert run(home, tabfile, "--every", "15m").exit_code == 0
    assert [line.split(" cd ")[0] for line in ours(tabfile, home)] == ["*/15 * * * *"]
    assert [line.split(" cd ")[0] for line in ours(tabfile, other)] == ["@weekly"]
    assert run(home, tabfile, "--remove").exit_code == 0
    assert len(ours(tabfile, other)) == 1


def test_duplicates_made_by_hand_collapse_to_one(home: Path, tabfile: Path) -> None:
    tab = CronTab(tabfile=str(tabfile))
    for _ in range(2):  # e.g. a line copied while editing with crontab -e
        tab.new(command="archive crawl --due", comment=cron.marker(home.absolute())).setall(
            "0 3 * * *"
        )
    tab.write()
    assert run(home, tabfile, "--every", "1h").exit_code == 0
    assert [line.split(" cd ")[0] for line in ours(tabfile, home)] == ["@hourly"]


def test_bad_requests_leave_the_tab_alone(home: Path, tabfile: Path) -> None:
    before = tabfile.read_text()
    bad = run(home, tabfile, "--every", "7m")
    assert bad.exit_code == 2
    assert "cannot be kept by cron" in bad.output and "minutes must divide 60" in bad.output
    assert run(home, tabfile, "--every", "1d", "--remove").exit_code == 2
    nothing = run(home, tabfile)
    assert nothing.exit_code == 2 and "--every PERIOD, --show or --remove" in nothing.output
    assert tabfile.read_text() == before


def test_a_missing_tab_file_is_created(home: Path, tmp_path: Path) -> None:
    fresh = tmp_path / "new-tab"
    assert run(home, fresh, "--show").exit_code == 1 and not fresh.exists()
    assert run(home, fresh, "--every", "12h").exit_code == 0
    (line,) = fresh.read_text().splitlines()
    assert line.startswith("0 */12 * * * cd ")


def test_the_installed_line_runs_in_a_shell(home: Path, tmp_path: Path) -> None:
    """Run the command exactly as cron would (``sh -c``), with a stand-in executable."""
    fake = tmp_path / "bin dir" / "archive"
    fake.parent.mkdir()
    fake.write_text('#!/bin/sh\necho "cwd=$(pwd) home=$ARCHIVE_HOME args=$*"\necho oops >&2\n')
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    tabfile = tmp_path / "tab"
    tab = cron.open_tab(tabfile)
    entry = cron.install(tab, "1h", home, tmp_path, executable=str(fake))
    assert entry.schedule == "0 * * * *"
    shown = cron.show(cron.open_tab(tabfile), home)
    assert shown is not None and shown.command == entry.command
    subprocess.run(["sh", "-c", shown.command], check=True, cwd="/", env={"PATH": "/usr/bin:/bin"})
    log = (home / "logs" / "cron.log").read_text()
    assert log == f"cwd={tmp_path} home={home} args=crawl --due\noops\n"


@pytest.mark.skipif(shutil.which("crontab") is not None, reason="would touch the user's crontab")
def test_without_crontab_the_user_tab_fails_clearly(home: Path) -> None:
    result = CliRunner().invoke(app, ["--home", str(home), "schedule", "--every", "1d"])
    assert result.exit_code == 1
    assert "crontab:" in result.output and "No crontab program" in result.output

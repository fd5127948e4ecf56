"""Weeks of link rot, simulated: real crawls of a local site with the crawl clock set forward."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sites import Drop, Fixed, LocalSite, Redirect, Sequence, html_page
from sqlalchemy import select

from archive.config import load_config
from archive.rot.linkstate import DEAD_SPACING
from archive.store.db import Store
from archive.store.models import LinkEvent, Resource

ARCHIVE = str(Path(sys.executable).parent / "archive")
T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def page(title: str) -> Fixed:
    return Fixed(html_page(title, f"The article called {title}.").encode())


def crawl_at(when: datetime, *args: str) -> None:
    env = {**os.environ, "ARCHIVE_CLOCK": when.isoformat()}
    done = subprocess.run(
        [ARCHIVE, "crawl", "-s", "RETRY_TIMES=0", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]


class Watch:
    def __init__(self, home: Path, site: LocalSite) -> None:
        self.store = Store(load_config(home=home, database_url=""))
        self.site = site

    def resource(self, path: str) -> Resource:
        with self.store.session() as s:
            return s.scalars(select(Resource).where(Resource.url == self.site.url(path))).one()

    def state(self, path: str) -> str:
        return self.resource(path).link_state

    def due(self, path: str) -> datetime:
        due = self.resource(path).next_due_at
        assert due is not None
        return due

    def events(self, path: str) -> list[tuple[str, str]]:
        rid = self.resource(path).resource_id
        with self.store.session() as s:
            rows = s.scalars(
                select(LinkEvent).where(LinkEvent.resource_id == rid).order_by(LinkEvent.id)
            )
            return [(e.from_state, e.to_state) for e in rows]


def near(actual: datetime, expected: datetime) -> bool:
    """The crawl clock starts at the given instant and then runs for the seconds a crawl takes."""
    return expected <= actual <= expected + timedelta(minutes=2)


@pytest.mark.slow
def test_weeks_of_link_rot(site: LocalSite, archive_home: Path, tmp_path: Path) -> None:
    site.set("/flaky", Sequence([page("Flaky"), Fixed(b"oops", status=500), page("Flaky")]))
    site.set("/vanish", Drop())
    site.set("/removed", Fixed(b"no such page", status=404))
    site.set("/moved", Redirect("/", status=301))
    site.set("/back", Sequence([Fixed(b"", status=404), Fixed(b"", status=404), page("Back")]))
    paths = ["/flaky", "/vanish", "/removed", "/moved", "/back"]
    listing = tmp_path / "list.txt"
    listing.write_text("".join(site.url(p) + "\n" for p in paths))
    w = Watch(archive_home, site)

    crawl_at(T0, "--source", str(listing))
    assert [w.state(p) for p in paths] == ["alive", "unknown", "unknown", "redirected", "unknown"]
    assert near(w.due("/flaky"), T0 + 30 * DAY)  # alive: the refresh interval
    assert near(w.due("/vanish"), T0 + DEAD_SPACING)  # unreachable: back when it can count
    assert near(w.due("/removed"), T0 + DAY)  # one 404: confirm tomorrow
    assert near(w.due("/moved"), T0 + 30 * DAY)

    hour = timedelta(hours=1)  # each crawl starts a little after what it should find due
    t1 = T0 + DAY + hour
    crawl_at(t1)  # due: /removed, /back
    assert w.state("/removed") == "gone" and w.state("/back") == "gone"  # 404 twice
    assert near(w.due("/removed"), t1 + 2 * DAY)  # backoff doubles
    crawl_at(t1, "--ids", w.resource("/flaky").resource_id)  # an extra check hits the 500
    assert w.state("/flaky") == "alive"  # one bad check never condemns a good link
    assert near(w.due("/flaky"), t1 + DEAD_SPACING)

    t3 = T0 + 3 * DAY + 2 * hour
    crawl_at(t3)  # due: /vanish (72 h on), /removed, /back
    assert w.state("/vanish") == "unknown"  # two failures are not yet dead
    assert w.state("/back") == "alive"  # recovered
    assert w.events("/back") == [("unknown", "gone"), ("gone", "alive")]
    assert near(w.due("/back"), t3 + 30 * DAY)

    t4 = T0 + 4 * DAY + 3 * hour
    crawl_at(t4)  # /flaky answers 200 again
    assert w.state("/flaky") == "alive" and w.events("/flaky") == [("unknown", "alive")]
    assert near(w.due("/flaky"), t4 + 30 * DAY)

    t6 = T0 + 6 * DAY + 3 * hour
    crawl_at(t6)  # the third failure, each 72 h after the last
    assert w.state("/vanish") == "dead"
    assert w.events("/vanish") == [("unknown", "dead")]
    assert near(w.due("/vanish"), t6 + 4 * DAY)

    site.set("/vanish", page("Vanish"))
    crawl_at(t6 + 4 * DAY + hour)
    assert w.state("/vanish") == "alive"
    assert w.events("/vanish")[-1] == ("dead", "alive")

    # The editors' report: what broke, who cites it, where its last good copy is.
    done = subprocess.run(
        [ARCHIVE, "report", "--json"], capture_output=True, text=True, check=True, timeout=60
    )
    rows = {row["url"].removeprefix(site.url("/")[:-1]): row for row in json.loads(done.stdout)}
    assert set(rows) == {"/removed", "/moved"}
    assert rows["/removed"]["state"] == "gone" and rows["/removed"]["last_good_capture"] is None
    assert rows["/moved"]["state"] == "redirected"
    assert rows["/moved"]["final_url"] == site.url("/")

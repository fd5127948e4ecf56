"""Link rot over weeks of simulated time: which checks condemn a link, which don't, and
when each resource is looked at again (docs/design.md §8, archive/linkstate.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from archive.capture.preview import Preview
from archive.capture.record import FetchOutcome, new_capture_id, record_capture
from archive.registry.importer import Importer
from archive.rot.due import due_refs
from archive.rot.linkstate import BACKOFF_MAX, DEAD_SPACING, backoff
from archive.store.db import Store
from archive.store.models import LinkEvent, Resource

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
REFRESH = 30 * DAY
STORY = "https://news.example.org/2025/12/story-about-models"
REGISTRY = f"""
- id: story
  url: {STORY}
  title: A story about models
  cited_by: [ai-safety-overview]
- id: plain
  url: http://example.org/report
- id: paper
  url: https://papers.example.org/abs/1234
  type: paper
"""


@pytest.fixture
def registry(store: Store, tmp_path: Path) -> Store:
    path = tmp_path / "resources.yaml"
    path.write_text(REGISTRY, encoding="utf-8")
    report = Importer(store, now=T0).import_file(path)
    assert report.new == 3, report.summary()
    return store


def check(
    store: Store,
    rid: str,
    when: datetime,
    status: int | None = 200,
    *,
    final: str | None = None,
    error: str | None = None,
    text: str | None = None,
    by_type: dict[str, float] | None = None,
) -> Resource:
    """Record one fetch attempt at ``when`` (the clock) and return the resource after it."""
    with store.session() as s:
        res = s.get(Resource, rid)
        assert res is not None
        outcome = FetchOutcome(
            capture_id=new_capture_id(s, res, when, store.config.hashids_salt),
            resource_id=rid,
            requested_url=res.url,
            fetched_at=when,
            final_url=final or (res.url if status is not None else None),
            http_status=status,
            error_class=error,
            error_message=f"{error} failure" if error else None,
            preview=Preview(full_text=text) if text else None,
        )
        record_capture(s, outcome, refresh_days=30, refresh_by_type=by_type, now=when)
    return resource(store, rid)


def resource(store: Store, rid: str) -> Resource:
    with store.session() as s:
        res = s.get(Resource, rid)
        assert res is not None
        return res


def events(store: Store, rid: str) -> list[tuple[str, str, datetime, str | None]]:
    with store.session() as s:
        rows = s.scalars(
            select(LinkEvent).where(LinkEvent.resource_id == rid).order_by(LinkEvent.id)
        ).all()
        return [(e.from_state, e.to_state, e.at, e.capture_id) for e in rows]


def capture_ids(store: Store, rid: str) -> list[str]:
    with store.session() as s:
        res = s.get(Resource, rid)
        assert res is not None
        return [c.capture_id for c in res.captures]


def test_backoff_policy() -> None:
    assert [backoff(n) / DAY for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]
    assert backoff(0) == DAY and BACKOFF_MAX == 30 * DAY and DEAD_SPACING == 3 * DAY


def test_never_captured_is_due_from_import(registry: Store) -> None:
    with registry.session() as s:
        assert [rid for rid, _ in due_refs(s, T0 - timedelta(seconds=1))] == []
        assert sorted(rid for rid, _ in due_refs(s, T0)) == ["paper", "plain", "story"]
    res = check(registry, "story", T0 + DAY)
    assert res.next_due_at == T0 + DAY + REFRESH
    with registry.session() as s:
        assert "story" not in {rid for rid, _ in due_refs(s, T0 + 2 * DAY)}


def test_refresh_interval_by_type_and_per_resource(registry: Store) -> None:
    res = check(registry, "paper", T0, by_type={"paper": 90})
    assert res.next_due_at == T0 + 90 * DAY
    with registry.session() as s:
        s.get(Resource, "story").refresh_seconds = 6 * 3600  # type: ignore[union-attr]
    assert check(registry, "story", T0).next_due_at == T0 + timedelta(hours=6)


def test_a_page_that_flips_200_500_200_stays_alive(registry: Store) -> None:
    first = check(registry, "story", T0)
    assert (first.link_state, first.next_due_at) == ("alive", T0 + REFRESH)
    t1 = first.next_due_at
    broken = check(registry, "story", t1, 500)
    assert (broken.link_state, broken.consecutive_failures) == ("alive", 1)
    # The next look must be far enough away to count towards "dead".
    assert broken.next_due_at == t1 + DEAD_SPACING
    back = check(registry, "story", broken.next_due_at)
    assert (back.link_state, back.consecutive_failures, back.failure_kind) == ("alive", 0, None)
    assert back.next_due_at == t1 + DEAD_SPACING + REFRESH
    assert back.state_since == T0
    assert events(registry, "story") == [
        ("unknown", "alive", T0, capture_ids(registry, "story")[0])
    ]


@pytest.mark.parametrize("error", ["dns", "refused", "timeout"])
def test_unreachable_on_three_checks_72h_apart_is_dead(registry: Store, error: str) -> None:
    check(registry, "story", T0)
    t1 = T0 + REFRESH
    when, dues = t1, []
    for _ in range(3):
        res = check(registry, "story", when, None, error=error)
        dues.append(res.next_due_at - when)
        when = res.next_due_at
    # Waits: max(backoff, 72 h) - 72 h, 72 h, then 4 days once dead.
    assert dues == [3 * DAY, 3 * DAY, 4 * DAY]
    assert (res.link_state, res.state_since, res.consecutive_failures) == (
        "dead",
        t1 + 6 * DAY,
        3,
    )
    assert res.last_ok_capture_id == capture_ids(registry, "story")[0]
    for expected in (8, 16, 30, 30):  # the backoff keeps growing while dead, up to 30 days
        res = check(registry, "story", when, None, error=error)
        assert (res.link_state, res.next_due_at - when) == ("dead", expected * DAY)
        when = res.next_due_at
    dead_capture = capture_ids(registry, "story")[3]
    assert events(registry, "story")[1:] == [("alive", "dead", t1 + 6 * DAY, dead_capture)]
    with registry.session() as s:
        reason = s.scalars(select(LinkEvent.reason).where(LinkEvent.to_state == "dead")).one()
    assert reason == error


def test_three_failures_within_72h_are_not_dead(registry: Store) -> None:
    check(registry, "story", T0)
    t1 = T0 + REFRESH
    for hours in (0, 24, 48, 71):  # e.g. manual recrawls: all inside one 72 h window
        res = check(registry, "story", t1 + timedelta(hours=hours), None, error="dns")
        assert (res.link_state, res.consecutive_failures) == ("alive", 1)
        assert res.next_due_at == t1 + timedelta(hours=hours) + DEAD_SPACING
    # Spacing counts from the last *counted* failure, t1, not from the latest one.
    res = check(registry, "story", t1 + timedelta(hours=72), None, error="dns")
    assert (res.link_state, res.consecutive_failures) == ("alive", 2)
    res = check(registry, "story", t1 + timedelta(hours=100), None, error="refused")
    assert (res.link_state, res.consecutive_failures) == ("alive", 2)
    res = check(registry, "story", t1 + timedelta(hours=144), None, error="timeout")
    assert (res.link_state, res.consecutive_failures) == ("dead", 3)
    assert [e[1] for e in events(registry, "story")] == ["alive", "dead"]


def test_404_twice_is_gone_once_is_not(registry: Store) -> None:
    check(registry, "story", T0)
    t1 = T0 + REFRESH
    once = check(registry, "story", t1, 404)
    assert (once.link_state, once.next_due_at) == ("alive", t1 + DAY)
    twice = check(registry, "story", t1 + DAY, 404)
    assert (twice.link_state, twice.state_since, twice.next_due_at) == (
        "gone",
        t1 + DAY,
        t1 + 3 * DAY,
    )
    third = check(registry, "story", t1 + 3 * DAY, 410)
    assert (third.link_state, third.next_due_at) == ("gone", t1 + 7 * DAY)
    gone_capture = capture_ids(registry, "story")[2]
    assert events(registry, "story")[1:] == [("alive", "gone", t1 + DAY, gone_capture)]


def test_failures_of_different_kinds_do_not_add_up(registry: Store) -> None:
    check(registry, "story", T0)
    t1 = T0 + REFRESH
    assert check(registry, "story", t1, 404).consecutive_failures == 1
    res = check(registry, "story", t1 + DAY, None, error="dns")
    assert (res.failure_kind, res.consecutive_failures) == ("network", 1)
    res = check(registry, "story", t1 + 4 * DAY, 404)
    assert (res.link_state, res.failure_kind, res.consecutive_failures) == ("alive", "gone", 1)
    # A good answer in between starts the count again.
    check(registry, "story", t1 + 5 * DAY)
    assert check(registry, "story", t1 + 6 * DAY, 404).link_state == "alive"


def test_redirect_to_the_home_page_is_redirected(registry: Store) -> None:
    check(registry, "story", T0)
    t1 = T0 + REFRESH
    res = check(registry, "story", t1, final="https://news.example.org/")
    assert (res.link_state, res.state_since, res.next_due_at) == ("redirected", t1, t1 + REFRESH)
    with registry.session() as s:
        event = s.scalars(select(LinkEvent).where(LinkEvent.to_state == "redirected")).one()
    assert event.reason == "HTTP 200 at https://news.example.org/"
    assert event.capture_id == capture_ids(registry, "story")[1]


@pytest.mark.parametrize(
    "final",
    [
        "https://example.org/report",  # http → https
        "http://example.org/report/",  # trailing slash
        "https://www.example.org/report/",  # all three at once
        "http://example.org/report?utm_source=feed#top",  # tracking and fragment
    ],
)
def test_cosmetic_redirects_stay_alive(registry: Store, final: str) -> None:
    res = check(registry, "plain", T0, final=final)
    assert (res.link_state, res.next_due_at) == ("alive", T0 + REFRESH)


@pytest.mark.parametrize("status", [401, 403, 451])
def test_refusals_are_paywalled(registry: Store, status: int) -> None:
    res = check(registry, "story", T0, status)
    assert (res.link_state, res.consecutive_failures, res.next_due_at) == (
        "paywalled",
        0,
        T0 + REFRESH,
    )
    assert events(registry, "story") == [
        ("unknown", "paywalled", T0, capture_ids(registry, "story")[0])
    ]


def test_a_login_wall_is_paywalled(registry: Store) -> None:
    res = check(registry, "story", T0, final="https://news.example.org/account/login?next=/2025")
    assert res.link_state == "paywalled"


def test_robots_blocked_is_blocked(registry: Store) -> None:
    res = check(registry, "story", T0, None, error="robots-blocked")
    assert (res.link_state, res.consecutive_failures, res.next_due_at) == (
        "blocked",
        0,
        T0 + REFRESH,
    )
    assert events(registry, "story")[0][:3] == ("unknown", "blocked", T0)


def test_recovery_from_dead_and_gone(registry: Store) -> None:
    check(registry, "story", T0)
    when = T0 + REFRESH
    for _ in range(3):
        when = check(registry, "story", when, None, error="refused").next_due_at
    assert resource(registry, "story").link_state == "dead"
    back = check(registry, "story", when, text="The story, still there.")
    assert (back.link_state, back.state_since, back.consecutive_failures) == ("alive", when, 0)
    assert back.next_due_at == when + REFRESH
    assert back.last_ok_capture_id == capture_ids(registry, "story")[-1]

    t2 = back.next_due_at
    check(registry, "story", t2, 404)
    assert check(registry, "story", t2 + DAY, 410).link_state == "gone"
    again = check(registry, "story", t2 + 3 * DAY)
    assert (again.link_state, again.next_due_at) == ("alive", t2 + 3 * DAY + REFRESH)

    ids = capture_ids(registry, "story")
    assert events(registry, "story") == [
        ("unknown", "alive", T0, ids[0]),
        ("alive", "dead", T0 + REFRESH + 6 * DAY, ids[3]),
        ("dead", "alive", when, ids[4]),
        ("alive", "gone", t2 + DAY, ids[6]),
        ("gone", "alive", t2 + 3 * DAY, ids[7]),
    ]


@pytest.mark.parametrize("error", ["too-large", "private-address", "ignored"])
def test_our_own_limits_never_condemn_a_link(registry: Store, error: str) -> None:
    """A 300 MB PDF stopped by the size cap, or a host our address guard refused, was
    not checked at all: state and failure count stay, however often it happens."""
    check(registry, "paper", T0)
    t1 = T0 + REFRESH
    failing = check(registry, "paper", t1, None, error="dns")
    when = failing.next_due_at
    for _ in range(4):
        res = check(registry, "paper", when, None, error=error)
        assert (res.link_state, res.consecutive_failures, res.failure_kind) == (
            "alive",
            1,
            "network",
        )
        assert (res.next_due_at, res.last_failure_at) == (when + REFRESH, t1)
        when = res.next_due_at
    assert [e[1] for e in events(registry, "paper")] == ["alive"]
    fresh = check(registry, "story", T0, None, error=error)
    assert (fresh.link_state, fresh.consecutive_failures) == ("unknown", 0)


def test_an_unchanged_payload_reuses_the_preview_its_first_capture_made(registry: Store) -> None:
    from archive.capture.preview import repeated_preview
    from archive.extract import EXTRACTOR, EXTRACTOR_VERSION
    from archive.store.models import Capture

    current = f"{EXTRACTOR}/{EXTRACTOR_VERSION}"
    made: dict[str, str] = {}  # record id -> capture id
    with registry.session() as s:
        res = s.get(Resource, "story")
        assert res is not None
        for n, (record, extractor, text) in enumerate(
            [
                ("<urn:uuid:a>", current, "The text of the story."),
                ("<urn:uuid:b>", "cited-archive-extract/0.9", "Older rules, older text."),
                ("<urn:uuid:c>", current, None),  # an image: no text, still a preview
            ]
        ):
            outcome = FetchOutcome(
                capture_id=new_capture_id(s, res, T0 + n * DAY, registry.config.hashids_salt),
                resource_id="story",
                requested_url=STORY,
                fetched_at=T0 + n * DAY,
                final_url=STORY,
                http_status=200,
                content_type="text/html",
                warc_record_id=record,
                preview=Preview(page_title="A story", full_text=text or "", extractor=extractor),
            )
            record_capture(s, outcome, refresh_days=30, now=T0 + n * DAY)
            made[record] = outcome.capture_id
        again = repeated_preview(s, made["<urn:uuid:a>"], "text/html")
        assert again is not None
        assert (again.page_title, again.full_text) == ("A story", "The text of the story.")
        # other rules or another content type may read the same bytes differently: extract again
        assert repeated_preview(s, made["<urn:uuid:b>"], "text/html") is None
        assert repeated_preview(s, made["<urn:uuid:a>"], "application/pdf") is None
        assert repeated_preview(s, "cap_unknown", "text/html") is None
        empty = repeated_preview(s, made["<urn:uuid:c>"], "text/html")
        assert empty is not None and empty.full_text == ""
        assert s.scalar(select(Capture).where(Capture.warc_record_id == "<urn:uuid:c>"))

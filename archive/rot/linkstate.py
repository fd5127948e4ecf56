"""Link rot: what one check says about a link, and when to look again (docs/design.md §8).

The rules follow InternetArchiveBot's, which have held up over millions of
links: a link is *dead* only after network failures on 3 checks at least 72 h
apart, *gone* only after a second 404/410, so one flaky check never condemns a
good link. Every transition is returned as a LinkEvent with its cause.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from archive.registry.urls import url_key
from archive.store.models import LinkEvent, LinkState, Resource

DEAD_CHECKS = 3
DEAD_SPACING = timedelta(hours=72)
GONE_CHECKS = 2
BACKOFF_BASE = timedelta(days=1)
BACKOFF_MAX = timedelta(days=30)

#: Fetches stopped by our own limits or guards: they say nothing about the link, so they
#: must never count towards dead (a healthy 300 MB PDF is not rot).
NOT_A_CHECK = {"too-large", "private-address", "ignored"}
PAYWALL_STATUSES = {401, 402, 403, 451}
GONE_STATUSES = {404, 410}
#: Final URLs that are a login or subscription wall rather than the page.
#: Paths of a site's front page, where dead deep links are often sent.
_FRONT_PAGES = {"", "index.html", "index.htm", "index.php", "home", "en", "en-us"}
_LOGIN_WALL = re.compile(
    r"/(log-?in|sign-?in|signup|subscribe|subscription|paywall|account/login)\b", re.I
)


@dataclass(frozen=True)
class Check:
    """One fetch attempt, as link rot sees it."""

    requested_url: str
    final_url: str | None
    status: int | None
    error_class: str | None = None
    capture_id: str | None = None


def verdict(check: Check) -> str:
    """ok, redirected, paywalled, gone, blocked, failing or unchecked."""
    if check.error_class == "robots-blocked":
        return "blocked"
    if check.error_class in NOT_A_CHECK:
        return "unchecked"
    if check.status is None:
        return "failing"
    final = check.final_url or check.requested_url
    if _LOGIN_WALL.search(urlsplit(final).path) and not _LOGIN_WALL.search(
        urlsplit(check.requested_url).path
    ):
        return "paywalled"
    if check.status in PAYWALL_STATUSES:
        return "paywalled"
    if check.status in GONE_STATUSES:
        return "gone"
    if check.status >= 400 or check.status < 200:
        return "failing"
    if check.status >= 300:  # a redirect we did not (or could not) follow
        return "redirected"
    if moved_materially(check.requested_url, final):
        return "redirected"
    return "ok"


def is_good_copy(check: Check) -> bool:
    """Whether the capture holds the cited page: a 2xx from the page itself, or from the
    place it moved to (an editor citing a moved article still has its text). A deep link
    sent to the site's front page is not a copy of it (a "soft 404")."""
    outcome = verdict(check)
    if outcome == "ok":
        return True
    if outcome != "redirected" or check.status is None or not 200 <= check.status < 300:
        return False
    return not sent_home(check.requested_url, check.final_url or check.requested_url)


def sent_home(requested: str, final: str) -> bool:
    """A redirect from a page below the root to the front page of a site."""
    return urlsplit(final).path.strip("/") in _FRONT_PAGES and bool(
        urlsplit(requested).path.strip("/")
    )


def moved_materially(requested: str, final: str) -> bool:
    """Scheme, ``www.``, trailing slash, fragment and tracking parameters don't count."""
    try:
        return url_key(requested) != url_key(final)
    except ValueError:
        return requested != final


def refresh_interval(
    resource: Resource, default_days: float, by_type: dict[str, float]
) -> timedelta:
    if resource.refresh_seconds:
        return timedelta(seconds=resource.refresh_seconds)
    return timedelta(days=by_type.get(resource.type or "", default_days))


def backoff(failures: int) -> timedelta:
    """1, 2, 4, 8 ... days, at most 30."""
    return min(BACKOFF_BASE * (2 ** max(0, failures - 1)), BACKOFF_MAX)


def apply_check(
    resource: Resource,
    check: Check,
    now: datetime,
    refresh: timedelta,
) -> LinkEvent | None:
    """Update the resource's link state, failure counters and due time from one check."""
    outcome = verdict(check)
    old = resource.link_state
    new = old
    resource.last_checked_at = now
    if outcome == "unchecked":  # state and failure count stay as the last real check left them
        resource.next_due_at = now + refresh
        return None
    if outcome in ("gone", "failing"):
        kind = "gone" if outcome == "gone" else "network"
        spaced = resource.last_failure_at is None or now - resource.last_failure_at >= DEAD_SPACING
        if resource.failure_kind != kind:
            resource.failure_kind, resource.consecutive_failures = kind, 1
            resource.last_failure_at = now
        elif kind == "gone" or spaced:
            resource.consecutive_failures += 1
            resource.last_failure_at = now
        count = resource.consecutive_failures
        if kind == "gone":
            new = LinkState.GONE if count >= GONE_CHECKS else old
            wait = backoff(count)
        else:
            new = LinkState.DEAD if count >= DEAD_CHECKS else old
            # The next check must be far enough away to count towards "dead".
            wait = max(backoff(count), DEAD_SPACING)
        resource.next_due_at = now + min(wait, max(refresh, BACKOFF_MAX))
    else:
        resource.failure_kind, resource.consecutive_failures = None, 0
        resource.last_failure_at = None
        new = {
            "ok": LinkState.ALIVE,
            "redirected": LinkState.REDIRECTED,
            "paywalled": LinkState.PAYWALLED,
            "blocked": LinkState.BLOCKED,
        }[outcome]
        resource.next_due_at = now + refresh
    if check.capture_id and is_good_copy(check):
        resource.last_ok_capture_id = check.capture_id
    if new == old:
        return None
    resource.link_state = str(new)
    resource.state_since = now
    return LinkEvent(
        resource_id=resource.resource_id,
        at=now,
        from_state=str(old),
        to_state=str(new),
        capture_id=check.capture_id,
        reason=_reason(check),
    )


def _reason(check: Check) -> str:
    if check.error_class:
        return check.error_class
    if check.final_url and check.final_url != check.requested_url:
        return f"HTTP {check.status} at {check.final_url}"
    return f"HTTP {check.status}"

"""The crawler middlewares' small rules, without a crawl: which addresses are public,
what a ``Retry-After`` asks, and how long ``RetryDelayMiddleware`` waits before a retry."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.utils.test import get_crawler

from crawler import middlewares
from crawler.middlewares import (
    RetryDelayMiddleware,
    is_public,
    retry_after_seconds,
    retry_backoff,
    retry_wait,
)

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def http_date(when: datetime) -> bytes:
    return format_datetime(when, usegmt=True).encode("latin-1")


# -- is_public ------------------------------------------------------------------------


@pytest.mark.parametrize("address", ["8.8.8.8", "93.184.215.14", "2606:4700::1111"])
def test_global_addresses_are_public(address: str) -> None:
    assert is_public(address)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",  # loopback
        "::1",
        "10.1.2.3",  # private
        "172.16.0.1",
        "192.168.1.1",
        "fc00::1",
        "169.254.169.254",  # link-local (cloud metadata)
        "fe80::1",
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",  # unspecified
        "::",
        "240.0.0.1",  # reserved
        "192.0.2.1",  # documentation
    ],
)
def test_loopback_private_link_local_and_reserved_are_not(address: str) -> None:
    assert not is_public(address)


@pytest.mark.parametrize("address", ["224.0.0.1", "233.252.0.1", "ff0e::1"])
def test_multicast_is_not_public_even_when_global(address: str) -> None:
    assert not is_public(address)


def test_ipv4_mapped_ipv6_is_judged_by_its_ipv4_address() -> None:
    assert not is_public("::ffff:127.0.0.1")
    assert not is_public("::ffff:10.0.0.1")
    assert is_public("::ffff:8.8.8.8")


def test_is_public_refuses_what_is_not_an_address() -> None:
    with pytest.raises(ValueError):
        is_public("example.org")


# -- retry_after_seconds --------------------------------------------------------------


def test_retry_after_in_seconds() -> None:
    assert retry_after_seconds(b"120") == 120.0
    assert retry_after_seconds(b" 7 ") == 7.0
    assert retry_after_seconds(b"0") == 0.0


def test_retry_after_as_an_http_date_counts_from_now() -> None:
    assert retry_after_seconds(http_date(NOW + timedelta(seconds=90)), NOW) == 90.0
    assert retry_after_seconds(b"Sun, 01 Mar 2026 12:05:00 GMT", NOW) == 300.0


def test_retry_after_with_an_unknown_zone_is_utc() -> None:
    # RFC 5322's "-0000": a UTC time; it parses without a zone and must not crash the crawl.
    assert retry_after_seconds(b"Sun, 01 Mar 2026 12:05:00 -0000", NOW) == 300.0


def test_retry_after_without_now_counts_from_the_clock() -> None:
    asked = retry_after_seconds(http_date(datetime.now(UTC) + timedelta(seconds=60)))
    assert asked is not None and 55 <= asked <= 60


def test_retry_after_in_the_past_is_zero() -> None:
    assert retry_after_seconds(http_date(NOW - timedelta(hours=1)), NOW) == 0.0


@pytest.mark.parametrize("value", [None, b"", b"soon", b"-5", b"1.5", b"Sun, 99 Foo"])
def test_retry_after_absent_or_unreadable_is_none(value: bytes | None) -> None:
    assert retry_after_seconds(value, NOW) is None


# -- the retry decision ---------------------------------------------------------------


def test_backoff_doubles_per_retry_up_to_the_maximum() -> None:
    assert [retry_backoff(n, 2.0, 120.0) for n in range(8)] == [2, 4, 8, 16, 32, 64, 120, 120]
    assert retry_backoff(0, 0.5, 120.0) == 0.5


def test_retry_wait_without_retry_after_is_the_backoff() -> None:
    assert retry_wait(503, None, 0, 2.0, 120.0) == 2.0
    assert retry_wait(429, None, 2, 2.0, 120.0) == 8.0
    assert retry_wait(500, None, 1, 2.0, 120.0) == 4.0


def test_retry_after_longer_than_the_backoff_is_waited() -> None:
    assert retry_wait(503, b"30", 0, 2.0, 120.0) == 30.0
    assert retry_wait(429, b"120", 0, 2.0, 120.0) == 120.0  # the maximum itself is waited


def test_retry_after_shorter_than_the_backoff_keeps_the_backoff() -> None:
    assert retry_wait(503, b"1", 3, 2.0, 120.0) == 16.0
    assert retry_wait(429, b"0", 1, 2.0, 120.0) == 4.0


def test_retry_after_past_the_maximum_is_not_retried() -> None:
    assert retry_wait(503, b"121", 0, 2.0, 120.0) is None
    assert retry_wait(429, b"86400", 0, 2.0, 120.0) is None


def test_retry_after_as_a_date_past_the_maximum_is_not_retried() -> None:
    far = http_date(datetime.now(UTC) + timedelta(hours=1))
    assert retry_wait(503, far, 0, 2.0, 120.0) is None
    past = http_date(datetime.now(UTC) - timedelta(hours=1))
    assert retry_wait(503, past, 1, 2.0, 120.0) == 4.0


def test_retry_after_counts_only_on_429_and_503() -> None:
    assert retry_wait(500, b"86400", 0, 2.0, 120.0) == 2.0
    assert retry_wait(502, b"30", 1, 2.0, 120.0) == 4.0


# -- RetryDelayMiddleware -------------------------------------------------------------


@pytest.fixture
def slept(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(middlewares, "_sleep", record)
    return waits


def middleware(**settings: Any) -> RetryDelayMiddleware:
    values = {"ARCHIVE_RETRY_BACKOFF": 2.0, "ARCHIVE_RETRY_AFTER_MAX": 120.0, "RETRY_TIMES": 2}
    return RetryDelayMiddleware.from_crawler(get_crawler(settings_dict={**values, **settings}))


def respond(
    mw: RetryDelayMiddleware, status: int, retry_after: str | None = None, **meta: Any
) -> Request:
    request = Request("http://site.test/", meta=meta)
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    response = Response(request.url, status=status, headers=headers, request=request)
    assert asyncio.run(mw.process_response(request, response)) is response
    return request


def test_a_retried_status_waits_the_backoff_of_its_attempt(slept: list[float]) -> None:
    mw = middleware()
    respond(mw, 500)
    respond(mw, 502, retry_times=1)
    assert slept == [2.0, 4.0]


def test_a_503_waits_what_retry_after_asks(slept: list[float]) -> None:
    request = respond(middleware(), 503, "30")
    assert slept == [30.0]
    assert not request.meta.get("dont_retry")


def test_a_429_asking_too_long_is_not_retried_in_this_run(slept: list[float]) -> None:
    request = respond(middleware(), 429, "600")
    assert slept == []
    assert request.meta["dont_retry"] is True


def test_the_maximum_comes_from_the_settings(slept: list[float]) -> None:
    request = respond(middleware(ARCHIVE_RETRY_AFTER_MAX=10.0), 503, "30")
    assert slept == [] and request.meta["dont_retry"] is True
    respond(middleware(ARCHIVE_RETRY_BACKOFF=5.0), 503, retry_times=1)
    assert slept == [10.0]


def test_no_wait_when_no_retry_follows(slept: list[float]) -> None:
    mw = middleware()
    respond(mw, 404)  # not a retried status
    respond(mw, 503, "5", retry_times=2)  # retries used up
    respond(mw, 503, "5", retry_times=0, max_retry_times=0)
    respond(mw, 503, "5", dont_retry=True)
    respond(middleware(RETRY_ENABLED=False), 503, "5")
    assert slept == []


def test_exceptions_wait_the_backoff_unless_ignored(slept: list[float]) -> None:
    mw = middleware()
    request = Request("http://site.test/", meta={"retry_times": 2, "max_retry_times": 5})
    asyncio.run(mw.process_exception(request, TimeoutError()))
    asyncio.run(mw.process_exception(request, IgnoreRequest()))
    used_up = Request("http://site.test/", meta={"retry_times": 2})  # RETRY_TIMES is 2
    asyncio.run(mw.process_exception(used_up, OSError()))
    assert slept == [8.0]

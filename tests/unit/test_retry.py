"""The retry policy (moodle_sync.delivery.policy): classification of answers, jittered backoff, Retry-After, budget."""

from __future__ import annotations

import datetime as dt
import email.utils
import random

import pytest

from moodle_sync.outbox.db import utcnow
from moodle_sync.delivery.policy import RETRY_AFTER_GRACE, RETRY_AFTER_MAX, RetryPolicy, classify, parse_retry_after


@pytest.mark.parametrize("status, error_class, kind, cls", [
    (200, None, "sent", None), (204, None, "sent", None),
    (408, None, "retry", "http_4xx"), (425, None, "retry", "http_4xx"), (429, None, "retry", "throttled"),
    (500, None, "retry", "http_5xx"), (502, None, "retry", "http_5xx"), (503, None, "retry", "throttled"),
    (301, None, "retry", "http_3xx"), (410, None, "pause", "gone"), (401, None, "pause", "auth"),
    (403, None, "pause", "auth"), (400, None, "dead", "http_4xx"), (404, None, "dead", "http_4xx"),
    (422, None, "dead", "http_4xx"), (None, "timeout", "retry", "timeout"), (None, "tls", "retry", "tls"),
    (None, None, "retry", "network"),
])
def test_classification(status, error_class, kind, cls):
    assert classify(status, error_class) == (kind, cls) or (classify(status, error_class).kind,
                                                             classify(status, error_class).error_class) == (kind, cls)


@pytest.mark.parametrize("attempt", range(1, 15))
def test_backoff_is_exponential_jittered_and_the_cap_holds_after_jitter(attempt):
    policy = RetryPolicy()
    rng = random.Random(attempt)
    for _ in range(200):
        seconds = policy.delay(attempt, rng).total_seconds()
        raw = 60 * 2 ** (attempt - 1)
        assert min(raw * 0.8, 3600) <= seconds <= min(raw * 1.2, 3600)


def test_retry_after_is_read_as_seconds_or_http_date_and_bounded():
    now = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.timezone.utc)
    assert parse_retry_after("120", now) == dt.timedelta(seconds=120)
    date = email.utils.format_datetime(now + dt.timedelta(minutes=5), usegmt=True)
    assert parse_retry_after(date, now) == dt.timedelta(minutes=5)
    assert parse_retry_after("soon", now) is None and parse_retry_after(None, now) is None
    policy = RetryPolicy()
    assert policy.next_attempt_at(now, 1, dt.timedelta(seconds=300), random.Random(1)) == now + dt.timedelta(seconds=300)
    far = policy.next_attempt_at(now, 1, dt.timedelta(days=2))
    assert far == now + policy.cap + RETRY_AFTER_GRACE


def test_budget_is_spent_by_attempts_or_age():
    policy = RetryPolicy(max_attempts=3, max_age=dt.timedelta(hours=72))
    now = utcnow()
    assert not policy.exhausted(2, now, now) and policy.exhausted(3, now, now)
    assert policy.exhausted(1, now - dt.timedelta(hours=73), now)


@pytest.mark.parametrize("value", ["99999999999999", "9" * 400, "²", "١٢٠", "-5", "1e9", "Fri, 31 Dec 9999 23:59:59 GMT",
                                   "Mon, 99 Foo 0000 99:99:99 GMT", "\x00", "12 0"])
def test_a_hostile_retry_after_never_raises_and_stays_within_a_day(value):
    now = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.timezone.utc)
    wait = parse_retry_after(value, now)
    assert wait is None or dt.timedelta(0) <= wait <= RETRY_AFTER_MAX
    policy = RetryPolicy()
    assert now < policy.next_attempt_at(now, 1, wait) <= now + policy.cap + RETRY_AFTER_GRACE


def test_a_retry_after_past_the_limit_is_clamped_not_dropped():
    now = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.timezone.utc)
    assert parse_retry_after("99999999999999", now) == RETRY_AFTER_MAX
    assert parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", now) == RETRY_AFTER_MAX

"""What a delivery attempt's answer means, and when to try again.

Classification: 2xx sent; 408, 425, 429, 5xx, timeouts, connection and TLS errors and 3xx (no redirect is
followed) are retried; 410 Gone pauses the endpoint without consuming the event, and so do 401 and 403 (a
wrong or expired token is the endpoint's problem, not the event's: dead-lettering every event would only
make work); any other 4xx is dead at once (the same body can never succeed).

Backoff after attempt n: base * 2^(n-1), +-jitter, then capped, so the cap holds after jitter (the old plugin
jittered after capping and waited up to ~72 min). ``Retry-After`` on 429/503 (seconds or an HTTP date) is
honoured up to cap + RETRY_AFTER_GRACE. An event that has used ``max_attempts`` or is older than ``max_age``
(since it was created or last replayed) goes ``dead``.

A 2xx whose JSON body says ``"action": "deduplicated"`` is no success: the legacy backend remembered the key
(10 s from the start of its previous request of that key, even a failed one) and did not apply this content.
It is retried after that window (``dedup_window`` + DEDUP_MARGIN after the answer came back; from the second
one of an event on, after the usual backoff if that is longer) and does not spend the attempt budget, only
its age: within ``max_age`` an event never goes dead for being deduplicated.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import random
import re
from dataclasses import dataclass

#: How far past the cap a server's Retry-After may push the next attempt.
RETRY_AFTER_GRACE = dt.timedelta(minutes=15)
#: The longest Retry-After read as such; a longer one (or a date further off) is clamped to it.
RETRY_AFTER_MAX = dt.timedelta(days=1)
_MAX_SECONDS = int(RETRY_AFTER_MAX.total_seconds())
_SECONDS = re.compile(r"[0-9]{1,400}", re.ASCII)

RETRYABLE_STATUS = {408, 425, 429}

#: Added to a backend's key-memory window: its clock starts when it gets the request, a bit after ours.
DEDUP_MARGIN = dt.timedelta(seconds=2)


@dataclass(frozen=True)
class Outcome:
    kind: str  # 'sent' | 'retry' | 'dead' | 'pause'
    error_class: str | None  # network, timeout, tls, http_3xx, http_4xx, http_5xx, throttled, gone, auth,
    #                          deduplicated, payload


def classify(status: int | None, error_class: str | None = None, action: str | None = None) -> Outcome:
    """Outcome of one attempt: ``status`` is the HTTP status, None when no answer came (then ``error_class``);
    ``action`` the ``action`` of the JSON answer, if any."""
    if status is None:
        # a stored payload that cannot be opened or encoded never will be: dead, without a request
        return Outcome("dead", error_class) if error_class == "payload" else Outcome("retry", error_class or "network")
    if 200 <= status < 300:
        return Outcome("retry", "deduplicated") if action == "deduplicated" else Outcome("sent", None)
    if status == 410:
        return Outcome("pause", "gone")
    if status in (401, 403):
        return Outcome("pause", "auth")
    if status == 429:
        return Outcome("retry", "throttled")
    if status in RETRYABLE_STATUS:
        return Outcome("retry", "http_4xx")
    if 300 <= status < 400:
        return Outcome("retry", "http_3xx")
    if 400 <= status < 500:
        return Outcome("dead", "http_4xx")
    return Outcome("retry", "throttled" if status == 503 else "http_5xx")


@dataclass(frozen=True)
class RetryPolicy:
    base: dt.timedelta = dt.timedelta(seconds=60)
    cap: dt.timedelta = dt.timedelta(hours=1)
    jitter: float = 0.2
    max_attempts: int = 10
    max_age: dt.timedelta = dt.timedelta(hours=72)
    #: how long the backend remembers a key (0: it does not); see ``after_deduplicated`` and ``not_before``
    dedup_window: dt.timedelta = dt.timedelta(seconds=10)

    def delay(self, attempt: int, rng: random.Random | None = None) -> dt.timedelta:
        """Wait after the ``attempt``-th failed attempt (1-based): exponential, jittered, then capped."""
        rng = rng or random
        raw = self.base.total_seconds() * 2 ** min(attempt - 1, 40)
        jittered = raw * (1 + rng.uniform(-self.jitter, self.jitter))
        return dt.timedelta(seconds=min(jittered, self.cap.total_seconds()))

    def next_attempt_at(self, now: dt.datetime, attempt: int, retry_after: dt.timedelta | None = None,
                        rng: random.Random | None = None) -> dt.datetime:
        wait = self.delay(attempt, rng)
        if retry_after is not None:
            wait = min(max(wait, retry_after), self.cap + RETRY_AFTER_GRACE)
        return now + wait

    def exhausted(self, attempts: int, budget_started_at: dt.datetime | None, now: dt.datetime) -> bool:
        """True when no retry is left: ``attempts`` made (answers ``deduplicated`` not counted), or the event's
        retry window is over."""
        if attempts >= self.max_attempts:
            return True
        return self.too_old(budget_started_at, now)

    def too_old(self, budget_started_at: dt.datetime | None, now: dt.datetime) -> bool:
        return budget_started_at is not None and now - budget_started_at >= self.max_age

    def not_before(self, answered_at: dt.datetime) -> dt.datetime:
        """The earliest moment a request of the same key escapes the backend's memory of one that got its
        answer at ``answered_at`` (the memory started before the answer came, even when it is a failure)."""
        return answered_at + self.dedup_window + DEDUP_MARGIN

    def after_deduplicated(self, answered_at: dt.datetime, times: int, rng: random.Random | None = None) -> dt.datetime:
        """When to resend an event answered ``deduplicated`` for the ``times``-th time: after the window; from
        the second time on (the backend's window is longer than configured, or something else keeps sending
        that key) after the usual backoff for ``times - 1`` if that is longer, so it never hammers."""
        floor = self.not_before(answered_at)
        return floor if times <= 1 else max(floor, answered_at + self.delay(times - 1, rng))


def parse_retry_after(value: str | None, now: dt.datetime) -> dt.timedelta | None:
    """``Retry-After`` as a duration: delta-seconds (ASCII digits) or an HTTP date, clamped to RETRY_AFTER_MAX;
    None when absent or unreadable. Never raises: it is a server's word, not ours."""
    if not value:
        return None
    value = value.strip()
    if _SECONDS.fullmatch(value):
        # compared as an integer first: timedelta() of a 14-digit value overflows
        return min(dt.timedelta(seconds=min(int(value), _MAX_SECONDS)), RETRY_AFTER_MAX)
    try:
        when = email.utils.parsedate_to_datetime(value)
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.timezone.utc)
        return min(max(when - now, dt.timedelta(0)), RETRY_AFTER_MAX)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None

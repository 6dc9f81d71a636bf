"""The default lease against the worst case of a batch that times out (README: ``lease_seconds`` "by default long
enough for a whole batch to time out"). The live check, a batch hanging on a real socket: tests/integration/
test_promises.py."""

from __future__ import annotations

import math

import pytest

from moodle_sync.delivery.webhook import WebhookSettings


@pytest.mark.parametrize("batch_size, concurrency, timeout, rate", [
    (500, 32, 30, None), (500, 1, 30, None), (40, 1, 10, None), (500, 32, 30, 1.0), (40, 40, 10, 0.1),
    (1000, 8, 5, 2.5), (7, 3, 1, None),
])
def test_the_default_lease_covers_every_request_of_a_batch_timing_out_one_round_after_another(
        batch_size, concurrency, timeout, rate):
    """Protects WebhookSettings.lease: its rounds of ``concurrency`` requests and its rate-limit term. Worst case:
    the requests go ``concurrency`` at a time, each taking its whole ``timeout``; with a rate limit, the last
    request starts ``(batch_size - 1) / rate`` seconds after the first and then takes its timeout too."""
    s = WebhookSettings(base_url="http://127.0.0.1:1", batch_size=batch_size, concurrency=concurrency,
                        timeout=timeout, connect_timeout=10, rate_limit_per_second=rate)
    worst = math.ceil(batch_size / concurrency) * timeout
    if rate:
        worst = max(worst, (batch_size - 1) / rate + timeout)
    assert s.lease.total_seconds() >= worst


def test_an_explicit_lease_seconds_is_what_the_claim_gets():
    assert WebhookSettings(base_url="http://x", lease_seconds=42).lease.total_seconds() == 42

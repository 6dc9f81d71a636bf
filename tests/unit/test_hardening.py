"""Findings of the review (issue 16) that need no server: nonces under threads, the table prefix check."""

from __future__ import annotations

import sys
import threading

import pytest

from moodle_sync.config import ConfigError
from moodle_sync.outbox import crypto
from moodle_sync.outbox.sql import validate_prefix


def test_no_nonce_is_taken_twice_by_threads_racing_for_the_block(monkeypatch):
    """AES-GCM must never reuse a nonce: with the slice taken after the lock, a thread could read a block another
    thread had just replaced (19 and 11 reused nonces in two runs of 4 x 300,000)."""
    monkeypatch.setattr(crypto._Nonces, "BLOCK", 64)  # many refills: many chances for the race
    nonces = crypto._Nonces()
    taken: list[list[bytes]] = [[] for _ in range(4)]
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as the interpreter can
    try:
        threads = [threading.Thread(target=lambda out=out: out.extend(nonces.take() for _ in range(100_000)))
                   for out in taken]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(previous)
    every = [n for out in taken for n in out]
    assert len(every) == 400_000 and all(len(n) == 12 for n in every)
    assert len(set(every)) == len(every), f"{len(every) - len(set(every))} nonces reused"


@pytest.mark.parametrize("prefix", ["mdl_\n", "mdl_\r\n", "mdl_ ", "1mdl", "mdl-", "m" * 31])
def test_a_table_prefix_with_anything_after_it_is_refused(prefix):
    with pytest.raises(ConfigError, match="table_prefix"):
        validate_prefix(prefix)


@pytest.mark.parametrize("prefix", ["mdl_", "", "m2_", "M" + "x" * 29])
def test_a_valid_table_prefix_is_accepted(prefix):
    assert validate_prefix(prefix) == prefix


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "yesterday", "2026-13-01"])
def test_a_since_outside_what_a_datetime_holds_is_a_bad_query_not_a_crash(value):
    from moodle_sync.ui.queries import BadQuery, parse_time

    with pytest.raises(BadQuery, match="ISO 8601"):
        parse_time(value)


def test_a_since_with_a_zone_is_read_as_utc():
    import datetime as dt

    from moodle_sync.ui.queries import parse_time

    assert parse_time("2026-11-20T01:00:00+01:00") == dt.datetime(2026, 11, 20, tzinfo=dt.timezone.utc)
    assert parse_time("2026-11-20T00:00:00") == dt.datetime(2026, 11, 20, tzinfo=dt.timezone.utc)

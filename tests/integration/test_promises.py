"""Promises of the README and docs/ that had no test of their own (issue 16), each against the real parts: the
receiver of demo/receiver.py (or a raw socket server) on loopback, the event log on MariaDB and PostgreSQL, a
tiny SMTP server on loopback. Each test names the line of code it protects."""

from __future__ import annotations

import datetime as dt

import pytest

from support.helpers import add_events, events
from moodle_sync.outbox import eventlog
from moodle_sync.delivery.webhook import WebhookSettings, deliver_due


def settings_for(receiver, **over):
    return WebhookSettings(base_url=receiver.url, token="test-token-123", **over)


# --- docs/delivery.md: "429, 503: failed, Retry-After honoured; this run stops claiming more" ---------------------
# (and docs/event-log.md: moodle_sync_endpoint_state is `ok`, `throttled` or `paused`)

@pytest.mark.parametrize("status", [429, 503])
def test_a_throttling_answer_stops_the_run_claiming_more_and_marks_the_endpoint_throttled(store, receiver, status):
    """Protects webhook._deliver: ``stop = bool(pause_reason or throttled)`` and the endpoint state it records
    (``throttled``; ``ok`` again once the next run is served: it started from "ok" each run and never wrote it back,
    so the health stayed degraded after the backend recovered)."""
    add_events(store, "user", [(k, 1) for k in range(1, 11)])
    receiver.state.control(fail_status=status, fail_next=1, retry_after="120")
    settings = settings_for(receiver, concurrency=1, batch_size=2)
    result = deliver_due(store, settings, entity="user", owner="t")
    # the first batch (2 events) went out, one answered 429/503: no further batch was claimed
    assert receiver.state.requests == 2 and (result.attempted, result.sent, result.failed) == (2, 1, 1)
    rows = events(store, "user")
    assert sorted(r["status"] for r in rows) == ["failed"] + ["pending"] * 8 + ["sent"]
    assert all(r["attempts"] == 0 for r in rows if r["status"] == "pending")
    assert eventlog.endpoint_state(store, settings.endpoint_id) == ("throttled", "429/503 answers")
    # the next run that gets answers clears it
    deliver_due(store, settings, entity="user", owner="t")
    assert eventlog.endpoint_state(store, settings.endpoint_id)[0] == "ok"
    assert sorted(r["status"] for r in events(store, "user")) == ["failed"] + ["sent"] * 9


# --- docs/delivery.md: "A key's later event waits while an earlier one is pending or failed [...] Dead events
# release their key." ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("coalesce", [True, False])
def test_a_dead_event_releases_its_key_for_the_later_events_of_that_key(store, receiver, coalesce):
    """Protects claim_due.sql's per-key check (``p.status IN ('pending', 'failed')``: a dead event is no
    earlier event waiting)."""
    [first] = add_events(store, "user", [(1, 1)])
    receiver.state.control(fail_status=400, fail_next=1)  # another 4xx: dead at once
    settings = settings_for(receiver, concurrency=1, coalesce=coalesce)
    deliver_due(store, settings, entity="user", owner="t")
    assert [(r["sequence"], r["status"]) for r in events(store, "user")] == [(1, "dead")]
    later = add_events(store, "user", [(1, 2), (1, 3)])
    receiver.state.control()
    for _ in range(3):  # coalesce=False: one event of a key per claim, in order
        deliver_due(store, settings, entity="user", owner="t")
    state = {r["sequence"]: r["status"] for r in events(store, "user")}
    if coalesce:  # the newest of the waiting ones goes; the dead one stays dead, never "superseded"
        assert state == {1: "dead", 2: "superseded", 3: "sent"}
        assert [d["event_id"] for d in receiver.state.deliveries] == [later[1]]
    else:
        assert state == {1: "dead", 2: "sent", 3: "sent"}
        assert [d["event_id"] for d in receiver.state.deliveries] == later
    assert first not in {d["event_id"] for d in receiver.state.deliveries}

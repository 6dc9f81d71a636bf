"""The webhook settings read from the ``moodle_sync_webhook`` connection."""

from __future__ import annotations

import json
import os

import pytest

from moodle_sync.delivery.webhook import settings_from_connection


def test_a_bad_webhook_setting_stops_with_a_message_that_says_what_to_fix(monkeypatch):
    from moodle_sync.config import ConfigError

    monkeypatch.setenv("AIRFLOW_CONN_MOODLE_SYNC_WEBHOOK", json.dumps(
        {"conn_type": "http", "host": "127.0.0.1", "extra": {"timeout": "soon"}}))
    with pytest.raises(ConfigError, match="'timeout' must be a number"):
        settings_from_connection("moodle_sync_webhook")
    monkeypatch.delenv("AIRFLOW_CONN_MOODLE_SYNC_WEBHOOK")
    os.environ.pop("AIRFLOW_CONN_MOODLE_SYNC_WEBHOOK", None)
    with pytest.raises(ConfigError, match="AIRFLOW_CONN_MOODLE_SYNC_WEBHOOK"):
        settings_from_connection("moodle_sync_webhook")


def test_a_stored_reason_keeps_the_status_and_field_paths_never_the_answer_text():
    from moodle_sync.delivery.webhook import answer_reason

    echoed = json.dumps({"detail": [
        {"type": "missing", "loc": ["body", "webhook_version"], "msg": "Field required",
         "input": {"event_data": {"email": "jane@example.org", "firstname": "Jane"}}},
        {"type": "string_type", "loc": ["body", "event_data", "jane@example.org", 0], "input": 5},
    ], "code": "E_VALIDATION", "message": "Jane Doe is invalid"}).encode()
    reason = answer_reason(422, echoed, "application/json; charset=utf-8")
    assert reason == ("HTTP 422: validation error at body.webhook_version (missing), body.event_data.0 (string_type) "
                      f"[code E_VALIDATION] (answer of {len(echoed)} bytes of application/json not kept: it may echo "
                      "the payload)")
    assert answer_reason(500, b"Error: Jane \x00", "text/plain; charset=base64", capped=True) == (
        "HTTP 500 (answer of over 13 bytes of text/plain not kept: it may echo the payload)")
    assert "Jane" not in answer_reason(400, b'{"detail": "Unsupported event type: Jane"}', "<Jane>")


def test_clean_text_drops_nul_control_and_lone_surrogates_and_cuts_whole_characters():
    from moodle_sync.delivery.webhook import clean_text

    assert clean_text("a\x00b\x1b[31m\u202ec\udc80") == "a b [31m c "
    cut = clean_text("é" * 2000)
    assert len(cut.encode()) == 2048 and cut == "é" * 1024
    assert clean_text("€" * 1000, 10) == "€" * 3  # 9 bytes: a fourth would not fit whole

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

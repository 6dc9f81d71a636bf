"""A refused database is reported in one line that names the connection and its server, never its password,
without the driver's traceback, and stays retryable (a database that is down may come back)."""

from __future__ import annotations

import traceback

import pytest

from support.sinks import free_port

PASSWORD = "Wr0ng-Pa55word-for-test"


def test_a_wrong_moodle_password_names_the_connection_and_hides_the_password(monkeypatch):
    from moodle_sync.outbox import db

    # MariaDB's root has no password here: any password is a real refusal (1045)
    monkeypatch.setenv("AIRFLOW_CONN_MOODLE_DB", f"mysql://root:{PASSWORD}@127.0.0.1:3306/mysql")
    with pytest.raises(db.DatabaseUnavailable) as caught:
        db.connect("moodle_db")
    message = str(caught.value)
    assert message.startswith("connection `moodle_db` (127.0.0.1:3306/mysql) refused: Access denied for user "), message
    assert "(error 1045)" in message and PASSWORD not in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__  # no chained driver traceback


def test_an_unreachable_event_log_on_postgres_is_named_too(monkeypatch):
    from moodle_sync.outbox import db

    port = free_port()
    monkeypatch.setenv("AIRFLOW_CONN_MOODLE_SYNC_DB", f"postgres://postgres:{PASSWORD}@127.0.0.1:{port}/nothing")
    with pytest.raises(db.DatabaseUnavailable) as caught:
        db.connect("moodle_sync_db")
    message = str(caught.value)
    assert message.startswith(f"connection `moodle_sync_db` (127.0.0.1:{port}/nothing) refused: "), message
    assert "Connection refused" in message and "\n" not in message and PASSWORD not in message


def test_a_task_fails_its_try_with_the_short_message_and_may_be_retried(monkeypatch):
    from airflow.sdk.exceptions import AirflowFailException
    from moodle_sync import tasks
    from moodle_sync.outbox.db import DatabaseUnavailable

    monkeypatch.setenv("AIRFLOW_CONN_MOODLE_SYNC_DB", f"mysql://root:{PASSWORD}@127.0.0.1:3306/mysql")
    monkeypatch.setenv("MOODLE_SYNC_ALERT_CONN_IDS", "")
    with pytest.raises(Exception) as caught:
        tasks.monitor_check()
    assert isinstance(caught.value, DatabaseUnavailable) and not isinstance(caught.value, AirflowFailException)
    frames = traceback.extract_tb(caught.value.__traceback__)
    assert len(frames) <= 2, [f.name for f in frames]  # the task wrapper's frame, not the driver's 18
    assert PASSWORD not in "".join(traceback.format_exception(caught.value))

"""A Moodle on PostgreSQL: the table prefix its connection must give."""

from __future__ import annotations

import json

import pytest


def test_an_empty_table_prefix_on_postgresql_is_refused_with_a_clear_error(monkeypatch):
    from moodle_sync.outbox.db import table_prefix
    from moodle_sync.config import ConfigError

    for conn_type, expected in (("mysql", ""), ("postgres", None)):
        monkeypatch.setenv("AIRFLOW_CONN_MZS_PREFIX_CHECK", json.dumps({
            "conn_type": conn_type, "host": "127.0.0.1", "schema": "moodle", "extra": {"table_prefix": ""}}))
        if expected is None:
            with pytest.raises(ConfigError, match="empty table_prefix cannot work on PostgreSQL"):
                table_prefix("mzs_prefix_check")
        else:
            assert table_prefix("mzs_prefix_check") == expected

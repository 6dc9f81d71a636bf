"""Alert channels read from Airflow connections: the channel each connection type gives, and a clear error for a
wrong one."""

from __future__ import annotations

import json

import pytest


def connection(conn_id, **fields):
    from airflow.sdk import Connection

    extra = fields.pop("extra", {})
    return Connection(conn_id=conn_id, extra=json.dumps(extra), **fields)


@pytest.mark.parametrize("fields, kind, url", [
    ({"conn_type": "smtp", "host": "mail", "extra": {"to": "a@b"}}, "email", None),
    ({"conn_type": "email", "host": "mail", "port": 465, "extra": {"to": ["a@b", "c@d"]}}, "email", None),
    ({"conn_type": "slackwebhook", "password": "T1/B2/xyzxyz"}, "slack", "https://hooks.slack.com/services/T1/B2/xyzxyz"),
    ({"conn_type": "slack", "password": "https://hooks.example.org/x/T1/B2/xyz"}, "slack",
     "https://hooks.example.org/x/T1/B2/xyz"),
    ({"conn_type": "http", "host": "ops.example.org", "extra": {"endpoint": "/in"}}, "webhook",
     "https://ops.example.org/in"),
    ({"conn_type": "http", "host": "ops", "port": 8080, "schema": "http"}, "webhook", "http://ops:8080/"),
    ({"conn_type": "generic", "host": "hooks.slack.com/services", "password": "T/B/abcdef",
      "extra": {"channel": "slack"}}, "slack", "https://hooks.slack.com/services/T/B/abcdef"),
])
def test_the_channel_follows_the_connection_type_or_the_channel_extra(fields, kind, url):
    from moodle_sync.ops.alerts import channel_from_connection

    channel = channel_from_connection(connection("c", **fields))
    assert channel.kind == kind
    if url:
        assert channel.url == url
    if fields.get("port") == 465:
        assert channel.use_ssl and not channel.starttls and channel.recipients == ("a@b", "c@d")
    elif kind == "email":
        assert channel.port == 25 and channel.starttls and not channel.use_ssl  # STARTTLS unless told otherwise


@pytest.mark.parametrize("fields, message", [
    ({"conn_type": "smtp", "host": "mail"}, "'to'"),
    ({"conn_type": "smtp", "extra": {"to": "a@b"}}, "host"),
    ({"conn_type": "slackwebhook"}, "password"),
    ({"conn_type": "http"}, "host"),
    ({"conn_type": "postgres", "host": "db"}, "no alert channel"),
    ({"conn_type": "http", "host": "h", "extra": {"timeout": "soon"}}, "'timeout'"),
])
def test_a_wrong_alert_connection_gets_a_clear_error(fields, message):
    from moodle_sync.ops.alerts import channel_from_connection
    from moodle_sync.config import ConfigError

    with pytest.raises(ConfigError, match=message):
        channel_from_connection(connection("c", **fields))

"""What the demo runs with: its database names, its homes, its secrets and its Airflow connections.

One place for `make demo` and the tests, and the reference docker-compose.yaml is checked against
(tests/integration/test_compose.py): the same connection ids and shapes, only hosts, ports and secrets differ.
Names and homes can be overridden by environment variables, so a test can run the whole demo beside
another one. The secrets are made fresh for every run (or taken from the environment, which is how a test
learns them to grep for them afterwards) and reach the Airflow processes only through the connections in the
demo's metadata database, encrypted with a key that lives only in their environment: never a file, never a
command line.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: environment variable -> what it overrides (default)
ENVIRONMENT = {
    "DEMO_HOME": "the demo's working directory: task output, Airflow home (.demo)",
    "DEMO_AIRFLOW_HOME": "AIRFLOW_HOME of the demo's Airflow processes ($DEMO_HOME/airflow)",
    "DEMO_DB_PORT": "the port of the MariaDB on 127.0.0.1 the demo writes to, as root without a password (3306)",
    "DEMO_MOODLE_DB": "the demo Moodle database on the local MariaDB (moodle_demo)",
    "DEMO_EVENTLOG_DB": "the event-log database on the local MariaDB (moodle_sync_demo)",
    "DEMO_PG_PORT": "the port of the PostgreSQL on 127.0.0.1 holding Airflow's metadata, as postgres with trust auth "
                    "(5432)",
    "DEMO_AIRFLOW_DB": "Airflow's metadata database on that PostgreSQL, made anew every run (mzs_demo_airflow)",
    "DEMO_WEBHOOK_TOKEN": "the receiver's bearer token (fresh per run)",
    "DEMO_SIGNING_SECRET": "the Standard Webhooks signing secret, whsec_<base64> (fresh per run)",
    "DEMO_ENCRYPTION_KEY": "the payload encryption key, Fernet format (fresh per run)",
    "DEMO_ALERT_TOKEN": "the bearer token of the alert webhook (fresh per run)",
}

#: Secrets field -> the environment variable that can give it (make demo) or must (docker-compose.yaml's .env)
SECRET_ENV = {"webhook_token": "DEMO_WEBHOOK_TOKEN", "signing_secret": "DEMO_SIGNING_SECRET",
              "encryption_key": "DEMO_ENCRYPTION_KEY", "alert_token": "DEMO_ALERT_TOKEN"}

MOODLE_DB_DEFAULT, EVENTLOG_DB_DEFAULT, AIRFLOW_DB_DEFAULT = "moodle_demo", "moodle_sync_demo", "mzs_demo_airflow"
TABLE_PREFIX = "mdl_"
ALERTS_ENDPOINT = "/alerts"
_DB_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


def _db_name(var: str, default: str) -> str:
    name = os.environ.get(var) or default
    if not _DB_NAME.match(name):
        raise SystemExit(f"{var}={name!r}: a database name of letters, digits and underscores (at most 64)")
    return name


@dataclass(frozen=True)
class Secrets:
    """The demo's four secrets; repr shows none of them."""

    webhook_token: str = field(repr=False)
    signing_secret: str = field(repr=False)
    encryption_key: str = field(repr=False)
    alert_token: str = field(repr=False)

    @classmethod
    def fresh(cls) -> "Secrets":
        """New random values (the standard library only: `python3 -m demo.compose_env` needs no venv)."""
        return cls(webhook_token=secrets.token_urlsafe(32),
                   signing_secret="whsec_" + base64.b64encode(secrets.token_bytes(32)).decode(),
                   encryption_key=base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),  # Fernet format
                   alert_token=secrets.token_urlsafe(32))

    @classmethod
    def fresh_or_from_env(cls) -> "Secrets":
        """Fresh values, except those the environment gives (DEMO_*), which are checked."""
        fresh = cls.fresh()
        values = cls(**{name: os.environ.get(var) or getattr(fresh, name) for name, var in SECRET_ENV.items()})
        from moodle_sync.outbox.crypto import parse_keys
        from moodle_sync.delivery.signing import parse_secrets

        parse_keys(values.encryption_key)  # a wrong value from the environment fails here, clearly
        parse_secrets(values.signing_secret)
        return values


@dataclass(frozen=True)
class Settings:
    home: Path
    airflow_home: Path
    moodle_db: str
    eventlog_db: str
    airflow_db: str

    @classmethod
    def from_env(cls) -> "Settings":
        home = Path(os.environ.get("DEMO_HOME") or ROOT / ".demo").resolve()
        return cls(home=home, airflow_home=Path(os.environ.get("DEMO_AIRFLOW_HOME") or home / "airflow").resolve(),
                   moodle_db=_db_name("DEMO_MOODLE_DB", MOODLE_DB_DEFAULT),
                   eventlog_db=_db_name("DEMO_EVENTLOG_DB", EVENTLOG_DB_DEFAULT),
                   airflow_db=_db_name("DEMO_AIRFLOW_DB", AIRFLOW_DB_DEFAULT))


def connections(*, moodle_db: str, eventlog_db: str, db_host: str, db_port: int, db_user: str, db_password: str,
                receiver_host: str, receiver_port: int, secrets: Secrets) -> dict[str, dict]:
    """conn_id -> the connection as Airflow's JSON form (docker-compose.yaml holds the same shapes).

    Airflow masks every value of a connection's extra in task logs, so extras hold only what must be there
    (the webhook's endpoint is the default one)."""

    def mysql(schema: str, **extra) -> dict:
        conn = {"conn_type": "mysql", "host": db_host, "port": db_port, "login": db_user, "password": db_password,
                "schema": schema}
        return {**conn, "extra": extra} if extra else conn

    receiver = {"conn_type": "http", "host": receiver_host, "port": receiver_port, "schema": "http"}
    return {
        "moodle_db": mysql(moodle_db, table_prefix=TABLE_PREFIX),
        "moodle_sync_db": mysql(eventlog_db),
        "moodle_sync_webhook": {**receiver, "password": secrets.webhook_token,
                                "extra": {"signing_secrets": secrets.signing_secret}},
        "moodle_sync_encryption": {"conn_type": "generic", "password": secrets.encryption_key},
        "moodle_sync_alerts": {**receiver, "password": secrets.alert_token, "extra": {"endpoint": ALERTS_ENDPOINT}},
    }


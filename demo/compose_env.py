"""Make the `.env` that docker-compose.yaml requires: fresh random values for every secret of the stack.

    python3 -m demo.compose_env            # writes .env beside docker-compose.yaml (mode 600), never over one
    python3 -m demo.compose_env --stdout   # prints it instead

docker-compose.yaml commits no secret: each is a required variable (`${VAR:?...}`) that Compose reads from
this file, and the same value goes to every service that needs it. The demo's four secrets have the names
`make demo` takes them by (demo/settings.py). The standard library only: no venv needed.
"""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from demo.settings import SECRET_ENV, Secrets  # noqa: E402

#: variable -> what it is; every one is required by docker-compose.yaml (tests/integration/test_compose.py checks both ways)
STACK_SECRETS = {
    "AIRFLOW_FERNET_KEY": "Airflow's Fernet key: encrypts connections and variables in its metadata database",
    "AIRFLOW_JWT_SECRET": "signs the tokens between Airflow's api-server, scheduler, workers and triggerer",
    "AIRFLOW_WWW_PASSWORD": "the password of the UI's admin user 'airflow'",
    "POSTGRES_PASSWORD": "Airflow's metadata database (PostgreSQL)",
    "MOODLE_DB_PASSWORD": "root of the MariaDB holding the demo Moodle and the event log",
    "DEMO_WEBHOOK_TOKEN": "bearer token of the webhook (connection moodle_sync_webhook, the demo receiver)",
    "DEMO_SIGNING_SECRET": "Standard Webhooks signing secret (moodle_sync_webhook's signing_secrets extra)",
    "DEMO_ENCRYPTION_KEY": "payload encryption key (connection moodle_sync_encryption)",
    "DEMO_ALERT_TOKEN": "bearer token of the alert webhook (connection moodle_sync_alerts)",
}


def render() -> str:
    demo = Secrets.fresh()
    values = {
        "AIRFLOW_FERNET_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "AIRFLOW_JWT_SECRET": secrets.token_urlsafe(48),
        "AIRFLOW_WWW_PASSWORD": secrets.token_urlsafe(12),
        "POSTGRES_PASSWORD": secrets.token_urlsafe(24),
        "MOODLE_DB_PASSWORD": secrets.token_urlsafe(24),
        **{var: getattr(demo, name) for name, var in SECRET_ENV.items()},
    }
    assert values.keys() == STACK_SECRETS.keys()
    uid = os.getuid() if hasattr(os, "getuid") else 50000
    lines = ["# docker-compose.yaml's secrets, made by `python3 -m demo.compose_env`. Keep this file to yourself",
             "# (.gitignore lists it). New values on a stack that ran: `docker compose down -v` first (the volumes",
             "# hold data under the old ones).", f"AIRFLOW_UID={uid}"]
    for var, text in STACK_SECRETS.items():
        lines += [f"# {text}", f"{var}={values[var]}"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m demo.compose_env", description=__doc__.splitlines()[0])
    parser.add_argument("--stdout", action="store_true", help="print the file instead of writing .env")
    parser.add_argument("--path", type=Path, default=ROOT / ".env", help="where to write (default: .env)")
    args = parser.parse_args(argv)
    text = render()
    if args.stdout:
        sys.stdout.write(text)
        return 0
    try:
        fd = os.open(args.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        print(f"{args.path} exists: kept as it is (delete it for new secrets, after `docker compose down -v`)",
              file=sys.stderr)
        return 1
    with os.fdopen(fd, "w") as out:
        out.write(text)
    print(f"wrote {args.path} (mode 600): `docker compose up`, then http://localhost:8080, user airflow, "
          f"password AIRFLOW_WWW_PASSWORD from that file")
    return 0


if __name__ == "__main__":
    sys.exit(main())

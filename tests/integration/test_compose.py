"""docker-compose.yaml: valid for Compose (Debian's docker-compose resolves it without an engine: no container
runs here), no secret committed, every service that needs a secret gets the same one, and it runs what
`make demo` runs: the same connections (ids and shapes, from demo/settings.py), databases, modules, Airflow."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from demo.compose_env import STACK_SECRETS, render
from demo.settings import EVENTLOG_DB_DEFAULT, MOODLE_DB_DEFAULT, SECRET_ENV, Secrets, connections

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yaml"
AIRFLOW_SERVICES = ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-worker",
                    "airflow-triggerer", "airflow-init")


def docker_compose(env_file: Path, *args: str) -> subprocess.CompletedProcess:
    tool = shutil.which("docker-compose")
    if not tool:
        pytest.fail("docker-compose is not installed: run `bash scripts/bootstrap.sh packages` as root "
                    "(Debian: apt-get install docker-compose)")
    # the variables come from env_file only, never from this process (nor from a developer's .env)
    env = {k: v for k, v in os.environ.items() if k not in STACK_SECRETS and not k.startswith("AIRFLOW")}
    return subprocess.run([tool, "--project-directory", str(ROOT), "-f", str(COMPOSE), "--env-file", str(env_file),
                           *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)


def parse_env(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))


@pytest.fixture(scope="module")
def env_file(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """A .env as `python3 -m demo.compose_env` writes it."""
    path = tmp_path_factory.mktemp("compose") / ".env"
    text = render()
    path.write_text(text)
    return path, parse_env(text)


@pytest.fixture(scope="module")
def resolved(env_file) -> dict:
    """The stack as Compose runs it: `docker-compose config` with the variables of the .env."""
    out = docker_compose(env_file[0], "config")
    assert out.returncode == 0, out.stderr
    return yaml.safe_load(out.stdout)


@pytest.fixture(scope="module")
def raw() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def conns(service: dict) -> dict[str, dict]:
    env = service["environment"]
    return {k[len("AIRFLOW_CONN_"):].lower(): json.loads(v) for k, v in env.items() if k.startswith("AIRFLOW_CONN_")}


def test_compose_file_is_valid_with_the_env_file_and_refused_without_it(env_file, tmp_path):
    ok = docker_compose(env_file[0], "config", "-q")
    assert ok.returncode == 0, ok.stderr
    empty = tmp_path / "empty.env"
    empty.write_text("")
    refused = docker_compose(empty, "config", "-q")
    assert refused.returncode != 0 and "run python3 -m demo.compose_env to create .env" in refused.stderr


def test_every_secret_is_a_required_variable_and_none_is_committed(raw):
    text = "\n".join(line for line in COMPOSE.read_text().splitlines() if not line.lstrip().startswith("#"))
    used = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", text))
    required = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*):\?", text))
    assert required == set(STACK_SECRETS)  # what compose_env writes is exactly what the file requires
    assert not {v for v in used - required if re.search("PASSWORD|SECRET|TOKEN|KEY", v)}
    for name, service in raw["services"].items():
        env = service.get("environment") or {}
        for key, value in env.items():
            if re.search("PASSWORD|SECRET|TOKEN|KEY", key) and value:
                assert str(value).startswith("${") and ":?" in str(value), (name, key)
    for conn_id, conn in conns(raw["x-airflow-common"]).items():
        if "password" in conn:
            assert re.fullmatch(r"\$\{[A-Z_]+:\?[^}]*\}", conn["password"]), conn_id
        for key, value in (conn.get("extra") or {}).items():
            if "secret" in key:
                assert re.fullmatch(r"\$\{[A-Z_]+:\?[^}]*\}", value), (conn_id, key)


def test_every_service_that_needs_a_secret_gets_the_same_one(resolved, env_file):
    values = env_file[1]
    services = resolved["services"]
    airflow = [services[name]["environment"] for name in AIRFLOW_SERVICES]
    for env in airflow:
        assert env["AIRFLOW__CORE__FERNET_KEY"] == values["AIRFLOW_FERNET_KEY"]
        assert env["AIRFLOW__API_AUTH__JWT_SECRET"] == values["AIRFLOW_JWT_SECRET"]
        for key in ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CELERY__RESULT_BACKEND"):
            assert f"airflow:{values['POSTGRES_PASSWORD']}@postgres/airflow" in env[key]
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"] == values["POSTGRES_PASSWORD"]
    assert services["airflow-init"]["environment"]["_AIRFLOW_WWW_USER_PASSWORD"] == values["AIRFLOW_WWW_PASSWORD"]
    # the same connections in every Airflow component and in the seed job
    first = conns(services["airflow-apiserver"])
    for name in (*AIRFLOW_SERVICES, "moodle-demo-seed"):
        assert conns(services[name]) == first, name
    assert services["moodle-db"]["environment"]["MARIADB_ROOT_PASSWORD"] == first["moodle_db"]["password"] \
        == first["moodle_sync_db"]["password"] == values["MOODLE_DB_PASSWORD"]
    receiver = services["demo-receiver"]["environment"]
    assert receiver["RECEIVER_TOKEN"] == first["moodle_sync_webhook"]["password"] == values["DEMO_WEBHOOK_TOKEN"]
    assert receiver["RECEIVER_SIGNING_SECRETS"] == first["moodle_sync_webhook"]["extra"]["signing_secrets"]
    assert receiver["RECEIVER_ALERT_TOKEN"] == first["moodle_sync_alerts"]["password"] == values["DEMO_ALERT_TOKEN"]
    assert first["moodle_sync_encryption"]["password"] == values["DEMO_ENCRYPTION_KEY"]


def test_compose_connections_are_the_demos_with_the_stacks_hosts(resolved, env_file):
    """demo/settings.py connections() makes the demo's connections; given the stack's hosts, ports and .env
    secrets it makes exactly the stack's: same ids, types, databases, extras."""
    values = env_file[1]
    stack = conns(resolved["services"]["airflow-worker"])
    receiver_port = int(resolved["services"]["demo-receiver"]["command"][-1])
    demo = connections(moodle_db=MOODLE_DB_DEFAULT, eventlog_db=EVENTLOG_DB_DEFAULT, db_host="moodle-db", db_port=3306,
                       db_user="root", db_password=values["MOODLE_DB_PASSWORD"], receiver_host="demo-receiver",
                       receiver_port=receiver_port,
                       secrets=Secrets(**{name: values[var] for name, var in SECRET_ENV.items()}))
    assert stack == demo
    from moodle_sync.config import ALERTS_CONN_ID, ENCRYPTION_CONN_ID, EVENTLOG_CONN_ID, MOODLE_CONN_ID, WEBHOOK_CONN_ID

    assert set(stack) == {MOODLE_CONN_ID, EVENTLOG_CONN_ID, WEBHOOK_CONN_ID, ENCRYPTION_CONN_ID, ALERTS_CONN_ID}
    # the MariaDB creates the databases the connections name, on its first start
    init = (ROOT / "include/sql/demo/mysql/compose_databases.sql").read_text()
    assert set(re.findall(r"CREATE DATABASE IF NOT EXISTS (\w+)", init)) == {MOODLE_DB_DEFAULT, EVENTLOG_DB_DEFAULT}
    mounts = resolved["services"]["moodle-db"]["volumes"]
    assert any(str(m).find("compose_databases.sql") >= 0 and "/docker-entrypoint-initdb.d/" in str(m) for m in mounts)


def test_compose_has_the_official_components_and_the_demo_services(raw):
    services = set(raw["services"])
    assert {*AIRFLOW_SERVICES, "postgres", "redis", "moodle-db", "demo-receiver", "moodle-demo-seed"} <= services
    assert "8080:8080" in raw["services"]["airflow-apiserver"]["ports"]
    assert raw["services"]["airflow-worker"]["command"] == "celery worker"
    assert raw["x-airflow-common"]["environment"]["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"


def test_compose_commands_run_the_demos_modules_without_secrets_on_the_command_line(resolved, env_file):
    import importlib

    for name in ("demo-receiver", "moodle-demo-seed"):
        command = resolved["services"][name]["command"]
        module = command[command.index("-m") + 1]
        assert importlib.util.find_spec(module) is not None, module
        assert not set(command) & set(env_file[1].values()), name
    assert resolved["services"]["moodle-demo-seed"]["command"][-3:] == ["--conn-id", "moodle_db", "--keep-existing"]
    for name in ("demo-receiver", "moodle-demo-seed"):  # the demo tools are mounted beside, not in, the plugins
        service = resolved["services"][name]
        targets = {str(v["target"] if isinstance(v, dict) else v.split(":")[1]) for v in service["volumes"]}
        assert f"{service['working_dir']}/demo" in targets and "/opt/airflow/plugins" in targets, name


def test_compose_runs_the_pinned_airflow_and_the_projects_requirements():
    pinned = re.search(r"^apache-airflow==(\S+)$", (ROOT / "requirements.txt").read_text(), re.M).group(1)
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert f"FROM apache/airflow:{pinned}" in dockerfile
    assert "requirements.txt" in dockerfile and "constraints.txt" in dockerfile


def test_compose_env_writes_a_private_file_once(tmp_path):
    from demo.compose_env import main

    path = tmp_path / ".env"
    assert main(["--path", str(path)]) == 0
    assert path.stat().st_mode & 0o777 == 0o600
    first = path.read_text()
    assert set(parse_env(first)) == {"AIRFLOW_UID", *STACK_SECRETS}
    assert main(["--path", str(path)]) == 1 and path.read_text() == first  # never over an existing one
    assert parse_env(render())["DEMO_ENCRYPTION_KEY"] != parse_env(first)["DEMO_ENCRYPTION_KEY"]

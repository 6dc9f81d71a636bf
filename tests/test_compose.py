"""docker-compose.yaml: valid against the Compose schema (Debian's docker-compose checks it without an engine)
and in step with the code `make demo` runs: same Airflow version, same connection ids, modules that exist."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yaml").read_text())


def test_compose_file_is_valid():
    tool = shutil.which("docker-compose")
    if not tool:
        pytest.skip("docker-compose (Debian package) is not installed: .ci/run installs it")
    out = subprocess.run([tool, "-f", str(ROOT / "docker-compose.yaml"), "config", "-q"], capture_output=True,
                         text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr


def test_compose_runs_the_pinned_airflow_and_the_projects_requirements():
    pinned = re.search(r"^apache-airflow==(\S+)$", (ROOT / "requirements.txt").read_text(), re.M).group(1)
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert f"FROM apache/airflow:{pinned}" in dockerfile
    assert "requirements.txt" in dockerfile and "constraints.txt" in dockerfile


def test_compose_has_the_official_components_and_the_demo_services(compose):
    services = set(compose["services"])
    assert {"airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer",
            "airflow-worker", "airflow-init", "postgres", "redis", "moodle-db", "demo-receiver",
            "moodle-demo-seed"} <= services
    assert "8080:8080" in compose["services"]["airflow-apiserver"]["ports"]


def test_every_airflow_component_shares_connections_and_secrets(compose):
    from moodle_sync.dag_factory import EVENTLOG_CONN_ID, MOODLE_CONN_ID, WEBHOOK_CONN_ID

    airflow = [s for name, s in compose["services"].items() if name.startswith("airflow-")]
    envs = [s["environment"] for s in airflow]
    for conn_id in (MOODLE_CONN_ID, EVENTLOG_CONN_ID, WEBHOOK_CONN_ID):
        assert all(f"AIRFLOW_CONN_{conn_id.upper()}" in env for env in envs), conn_id
    for key in ("AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET"):
        assert len({env[key] for env in envs}) == 1, key


def test_compose_commands_name_modules_that_exist(compose):
    import importlib

    for name in ("demo-receiver", "moodle-demo-seed"):
        command = compose["services"][name]["command"]
        module = command[command.index("-m") + 1]
        assert importlib.util.find_spec(module) is not None, module

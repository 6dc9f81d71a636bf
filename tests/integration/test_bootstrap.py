"""scripts/bootstrap.sh, which `make demo`, `make test` and .ci/run call first: it finds each missing package, installs
it (as root on Debian), is idempotent, and otherwise prints the command to run. Run against a dpkg database and an
apt-get of the test's own, so that no package of this machine is touched."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "bootstrap.sh"
NEEDED = ["pkg-config", "libmariadb-dev", "chromium", "docker-compose"]

FAKE_APT_GET = """#!/usr/bin/env bash
# apt-get as far as the bootstrap uses it: logs the call; install marks the packages installed in $ADMINDIR
echo "$*" >> "$APT_LOG"
if [ "$1" = install ]; then
  for pkg in "$@"; do
    case "$pkg" in install|-y|-qq) ;; *)
      printf 'Package: %s\\nStatus: install ok installed\\nVersion: 1\\nArchitecture: amd64\\nMaintainer: t\\nDescription: t\\n\\n' \
        "$pkg" >> "$ADMINDIR/status" ;;
    esac
  done
fi
"""


def _stanza(pkg: str) -> str:
    return f"Package: {pkg}\nStatus: install ok installed\nVersion: 1\nArchitecture: amd64\nMaintainer: t\nDescription: t\n\n"


@pytest.fixture
def machine(tmp_path):
    """A Debian 'machine' of the test's own: a dpkg database with only pkg-config, and a logging apt-get."""
    admindir = tmp_path / "dpkg"
    (admindir / "updates").mkdir(parents=True)
    (admindir / "info").mkdir()
    (admindir / "status").write_text(_stanza("pkg-config"))
    apt = tmp_path / "apt-get"
    apt.write_text(FAKE_APT_GET)
    apt.chmod(0o755)
    os_release = tmp_path / "os-release"
    os_release.write_text('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n')
    log = tmp_path / "apt.log"
    env = {**os.environ, "BOOTSTRAP_DPKG_ADMINDIR": str(admindir), "BOOTSTRAP_APT_GET": str(apt),
           "BOOTSTRAP_OS_RELEASE": str(os_release), "APT_LOG": str(log), "ADMINDIR": str(admindir)}

    def run(*args, uid="0", **extra):
        return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=60,
                              env={**env, "BOOTSTRAP_UID": uid, **extra})

    run.log = log
    run.os_release = os_release
    return run


def test_as_root_it_installs_exactly_the_missing_packages_once(machine):
    first = machine("packages")
    assert first.returncode == 0, first.stderr
    calls = machine.log.read_text().splitlines()
    assert calls[0] == "update -qq"
    assert calls[1].split() == ["install", "-y", "-qq", "libmariadb-dev", "chromium", "docker-compose"]
    again = machine("packages")  # idempotent: nothing missing, apt-get not called
    assert again.returncode == 0 and machine.log.read_text().splitlines() == calls


def test_not_root_it_prints_the_command_instead_of_failing_in_a_build(machine):
    out = machine("packages", uid="1000")
    assert out.returncode == 1
    assert "sudo apt-get update && sudo apt-get install -y libmariadb-dev chromium docker-compose" in out.stderr
    assert "mysqlclient builds against pkg-config and libmariadb-dev" in out.stderr
    assert not machine.log.exists()  # nothing was run


def test_on_another_system_it_names_what_to_install(machine, tmp_path):
    machine.os_release.write_text('ID=fedora\n')
    empty = tmp_path / "bin"
    empty.mkdir()
    for tool in ("bash", "grep", "id", "cat"):  # a PATH without pkg-config
        (empty / tool).symlink_to(subprocess.run(["which", tool], capture_output=True, text=True).stdout.strip())
    out = machine("packages", PATH=str(empty))
    assert out.returncode == 1 and "not Debian or Ubuntu" in out.stderr and "pkg-config" in out.stderr


def test_services_answer_when_the_database_servers_run(machine):
    """This machine's MariaDB and PostgreSQL are up (the suite needs them): the check passes and starts nothing."""
    out = machine("services")
    assert out.returncode == 0 and "starting" not in out.stderr, out.stderr


def test_a_stopped_database_server_is_named_with_the_command_that_starts_it(machine, tmp_path):
    """Not root and nothing answers (the client tools are stand-ins that fail): it says what to run."""
    tools = tmp_path / "tools"
    tools.mkdir()
    for tool in ("mariadb", "pg_isready"):
        (tools / tool).write_text("#!/bin/sh\nexit 1\n")
        (tools / tool).chmod(0o755)
    out = machine("services", uid="1000", PATH=f"{tools}:{os.environ['PATH']}")
    assert out.returncode == 1
    assert "MariaDB does not answer on 127.0.0.1:3306" in out.stderr and "start-stop-daemon" in out.stderr


def test_make_and_ci_call_the_bootstrap():
    makefile = (ROOT / "Makefile").read_text()
    assert "bash scripts/bootstrap.sh packages" in makefile and "bash scripts/bootstrap.sh services" in makefile
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci and "apt-get" not in ci  # no set-up of its own that a user's make test lacks

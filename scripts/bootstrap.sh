#!/usr/bin/env bash
# What `make demo`, `make test` and .ci/run need from the machine, checked before it is needed.
#   scripts/bootstrap.sh packages   the system packages the Python requirements build against, and the test tools
#   scripts/bootstrap.sh services   MariaDB and PostgreSQL answering on 127.0.0.1 (started when installed but stopped)
# On Debian/Ubuntu as root it installs and starts what is missing; anywhere else it stops at once and prints the
# command to run. For its own test: BOOTSTRAP_DPKG_ADMINDIR (a dpkg database to read), BOOTSTRAP_APT_GET (the
# apt-get to run), BOOTSTRAP_OS_RELEASE (the os-release file), BOOTSTRAP_UID (who we are).
set -euo pipefail

# pkg-config + libmariadb-dev: mysqlclient builds against them; chromium: the operator's page test in a real
# browser; docker-compose: validates docker-compose.yaml (no engine needed)
PACKAGES=(pkg-config libmariadb-dev chromium docker-compose)

admindir=${BOOTSTRAP_DPKG_ADMINDIR:-/var/lib/dpkg}
apt_get=${BOOTSTRAP_APT_GET:-apt-get}
os_release=${BOOTSTRAP_OS_RELEASE:-/etc/os-release}
uid=${BOOTSTRAP_UID:-$(id -u)}

say() { echo "bootstrap: $*" >&2; }

debian_like() {
  [ -r "$os_release" ] && grep -Eq '^(ID|ID_LIKE)=.*(debian|ubuntu)' "$os_release"
}

installed() {
  [ "$(dpkg-query --admindir="$admindir" -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

packages() {
  local missing=() pkg
  if ! debian_like; then  # no package names to check here: check what the build needs
    if command -v pkg-config >/dev/null 2>&1 && { pkg-config --exists libmariadb || pkg-config --exists mariadb ||
                                                 pkg-config --exists mysqlclient; }; then
      return 0
    fi
    say "not Debian or Ubuntu, and pkg-config finds no MariaDB/MySQL client library: mysqlclient cannot build."
    say "Install your system's equivalents of: ${PACKAGES[*]} (e.g. on Fedora: pkg-config mariadb-connector-c-devel"
    say "chromium docker-compose; on macOS: brew install pkg-config mariadb-connector-c), then run make again."
    exit 1
  fi
  for pkg in "${PACKAGES[@]}"; do
    installed "$pkg" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$uid" != 0 ]; then
    say "missing system packages: ${missing[*]} (mysqlclient builds against pkg-config and libmariadb-dev;"
    say "the tests use chromium and docker-compose). Install them as root, then run make again:"
    echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  say "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive "$apt_get" update -qq
  DEBIAN_FRONTEND=noninteractive "$apt_get" install -y -qq "${missing[@]}"
  for pkg in "${missing[@]}"; do
    installed "$pkg" || { say "$pkg is still not installed after apt-get install"; exit 1; }
  done
}

mariadb_up() { mariadb -h 127.0.0.1 -u root -e 'SELECT 1' >/dev/null 2>&1; }
postgres_up() { pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1; }

services() {
  if ! mariadb_up; then
    if [ "$uid" = 0 ] && [ -x /usr/sbin/mariadbd ]; then
      say "starting MariaDB"
      start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql
    else
      say "MariaDB does not answer on 127.0.0.1:3306 as root without a password. Start it, e.g. as root:"
      echo "  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql" >&2
      say "(or install it: apt-get install -y mariadb-server)"
      exit 1
    fi
  fi
  if ! postgres_up; then
    if [ "$uid" = 0 ] && command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
      say "starting PostgreSQL"
      pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start
    else
      say "PostgreSQL does not answer on 127.0.0.1:5432 (user postgres, trust auth). Start it, e.g. as root:"
      echo "  pg_ctlcluster --skip-systemctl-redirect \$(ls /etc/postgresql) main start" >&2
      say "(or install it: apt-get install -y postgresql)"
      exit 1
    fi
  fi
  for _ in $(seq 1 60); do
    mariadb_up && postgres_up && return 0
    sleep 1
  done
  mariadb_up || { say "MariaDB was started but does not answer on 127.0.0.1:3306"; exit 1; }
  postgres_up || { say "PostgreSQL was started but does not answer on 127.0.0.1:5432"; exit 1; }
}

case "${1:-}" in
  packages) packages ;;
  services) services ;;
  *) echo "usage: $0 packages|services" >&2; exit 2 ;;
esac

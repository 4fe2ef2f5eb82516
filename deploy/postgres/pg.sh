#!/usr/bin/env bash
# Local PostgreSQL for development and tests, from Debian's server binaries. No Docker.
#
#   deploy/postgres/pg.sh fetch|up|down|status|reset
#
# fetch   makes sure the server binaries are there (/usr/lib/postgresql/<N>/bin; installs Debian's
#         `postgresql` package with apt-get when missing, as root, never starting its service).
# up      initialises the cluster on first use, starts it on 127.0.0.1:$PG_PORT and returns once a
#         real connection runs a query; then makes sure the roles and the database exist.
# down    stops it (fast shutdown). reset: stop and remove the data directory.
# status  exits 0 when running, 3 when not.
#
# Environment:
#   PG_PORT=5432               TCP port, bound on 127.0.0.1 only (the unix socket is in the data dir)
#   PG_DATA_DIR=<repo>/.pg     cluster, socket, log and pid of this server
#   PG_START_TIMEOUT=60        seconds `up` waits for the server to answer
#   PG_BIN                     a directory with initdb/pg_ctl/postgres/psql (default: newest Debian one)
#   PG_OS_USER                 the unprivileged OS user that runs the server when this script runs as
#                              root (default: `postgres`, created by Debian's package; else `anpr-pg`)
#
# PostgreSQL refuses to run as root. As root, initdb and the server run as PG_OS_USER through
# `runuser` (util-linux), and the data directory is given to that user; the directory and its
# parents must be reachable by it (the test fixture uses a fresh directory under /tmp).
#
# Roles and database made by `up` (a development cluster: loopback only, `trust` authentication,
# never a production set-up; see docs/operations.md):
#   postgres     superuser (administration, the tests' throw-away databases)
#   anpr_owner   owns database `anpr` and every table in it: runs the migrations
#   anpr_app     what the API and the archive log in as: no DDL, no UPDATE/DELETE on the audit log
# URLs: postgresql://anpr_app@127.0.0.1:$PG_PORT/anpr (ANPR_DATABASE_URL) and
#       postgresql://anpr_owner@127.0.0.1:$PG_PORT/anpr (ANPR_DATABASE_MIGRATE_URL).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
DATA="$(realpath -m "${PG_DATA_DIR:-$ROOT/.pg}")"
PORT="${PG_PORT:-5432}"
TIMEOUT="${PG_START_TIMEOUT:-60}"
CLUSTER="$DATA/cluster"
LOG="$DATA/server.log"

die() { echo "pg.sh: $*" >&2; exit 1; }

find_bin() {
  if [[ -n "${PG_BIN:-}" ]]; then echo "$PG_BIN"; return 0; fi
  local d best=""
  for d in /usr/lib/postgresql/*/bin; do
    [[ -x "$d/postgres" && -x "$d/initdb" ]] || continue
    best="$d"   # the glob sorts by version for one- and two-digit majors alike within a machine
  done
  [[ -n "$best" ]] || return 1
  echo "$best"
}

fetch() {
  find_bin >/dev/null && return 0
  command -v apt-get >/dev/null 2>&1 \
    || die "PostgreSQL server binaries are missing and apt-get is not available: install PostgreSQL and set PG_BIN"
  [[ "$(id -u)" == 0 ]] \
    || die "PostgreSQL server binaries are missing: run 'sudo apt-get install postgresql' (or this script as root)"
  # Never start the Debian service from a package install (its cluster would take port 5432).
  local policy=/usr/sbin/policy-rc.d created=0
  if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod 0755 "$policy"; created=1
  fi
  local log; log="$(mktemp)"
  export DEBIAN_FRONTEND=noninteractive
  echo "pg.sh: installing Debian's postgresql package..." >&2
  if ! apt-get install -y -q --no-install-recommends postgresql >"$log" 2>&1; then
    apt-get update -q >"$log" 2>&1 || true   # a fresh machine has no package lists yet
    if ! apt-get install -y -q --no-install-recommends postgresql >"$log" 2>&1; then
      ((created)) && rm -f "$policy"
      tail -n 20 "$log" >&2; rm -f "$log"
      die "apt-get install postgresql failed"
    fi
  fi
  ((created)) && rm -f "$policy"
  rm -f "$log"
  find_bin >/dev/null || die "the postgresql package is installed but no /usr/lib/postgresql/*/bin/postgres was found"
}

os_user() {
  if [[ "$(id -u)" != 0 ]]; then id -un; return 0; fi
  local user="${PG_OS_USER:-}"
  if [[ -z "$user" ]]; then
    if id postgres >/dev/null 2>&1; then user=postgres; else user=anpr-pg; fi
  fi
  if ! id "$user" >/dev/null 2>&1; then
    useradd --system --no-create-home --shell /usr/sbin/nologin "$user" \
      || die "could not create the unprivileged user $user to run PostgreSQL"
  fi
  echo "$user"
}

# Run a command as the server's OS user (directly when not root).
as_user() {
  if [[ "$(id -u)" == 0 ]]; then runuser -u "$USER_NAME" -- "$@"; else "$@"; fi
}

running_pid() {
  local pid
  [[ -f "$CLUSTER/postmaster.pid" ]] || return 1
  pid="$(head -n 1 "$CLUSTER/postmaster.pid" 2>/dev/null)" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  ps -ww -o args= -p "$pid" 2>/dev/null | grep -qF -- "$CLUSTER" || return 1
  echo "$pid"
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

psql_super() {
  as_user "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres -d "${2:-postgres}" -tAc "$1"
}

# Ready = a real connection over TCP runs a query.
probe() { psql_super "SELECT 1" >/dev/null 2>&1; }

init_cluster() {
  mkdir -p "$DATA"
  if [[ "$(id -u)" == 0 ]]; then chown "$USER_NAME" "$DATA"; fi
  as_user test -w "$DATA" \
    || die "$DATA is not writable by $USER_NAME (the OS user that runs PostgreSQL): give it a directory it can reach, e.g. PG_DATA_DIR=/tmp/anpr-pg"
  [[ -f "$CLUSTER/PG_VERSION" ]] && return 0
  local out
  out="$(as_user "$BIN/initdb" -D "$CLUSTER" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 2>&1)" \
    || out="$(as_user "$BIN/initdb" -D "$CLUSTER" -U postgres --auth=trust -E UTF8 --locale=C 2>&1)" \
    || die "initdb failed: $(tail -n 20 <<<"$out")"
  cat >>"$CLUSTER/postgresql.conf" <<EOF
# Appended by deploy/postgres/pg.sh: a small development/test server.
listen_addresses = '127.0.0.1'
unix_socket_directories = '$DATA'
max_connections = 200
shared_buffers = 256MB
fsync = on
synchronous_commit = off
logging_collector = off
EOF
}

ensure_roles() {
  psql_super "DO \$\$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'anpr_owner') THEN CREATE ROLE anpr_owner LOGIN CREATEDB; END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'anpr_app') THEN CREATE ROLE anpr_app LOGIN; END IF;
  END \$\$;"
  if [[ "$(psql_super "SELECT 1 FROM pg_database WHERE datname = 'anpr'")" != 1 ]]; then
    psql_super "CREATE DATABASE anpr OWNER anpr_owner"
  fi
}

up() {
  fetch
  BIN="$(find_bin)"
  USER_NAME="$(os_user)"
  local pid
  if pid="$(running_pid)"; then
    probe || die "a server from $DATA is running (pid $pid) but does not answer on 127.0.0.1:$PORT; run 'down' first"
  else
    port_busy "$PORT" && die "PostgreSQL did not come up on 127.0.0.1:$PORT: the port is already in use by another process"
    init_cluster
    : >"$LOG" && { [[ "$(id -u)" != 0 ]] || chown "$USER_NAME" "$LOG"; }
    as_user "$BIN/pg_ctl" -D "$CLUSTER" -l "$LOG" -o "-p $PORT" -w -t "$TIMEOUT" start >/dev/null 2>&1 \
      || { tail -n 30 "$LOG" >&2; die "PostgreSQL did not start on 127.0.0.1:$PORT (log: $LOG)"; }
  fi
  local deadline=$((SECONDS + TIMEOUT + 1))
  until probe; do
    if ((SECONDS >= deadline)); then
      tail -n 30 "$LOG" >&2 || true
      stop
      die "PostgreSQL did not answer a query on 127.0.0.1:$PORT within $TIMEOUT s"
    fi
    sleep 0.2
  done
  ensure_roles
  echo "PostgreSQL $("$BIN/postgres" --version | awk '{print $3}') up on 127.0.0.1:$PORT (data $DATA)"
}

stop() {
  running_pid >/dev/null || return 0
  BIN="${BIN:-$(find_bin)}"
  USER_NAME="${USER_NAME:-$(os_user)}"
  as_user "$BIN/pg_ctl" -D "$CLUSTER" -m fast -w -t 60 stop >/dev/null 2>&1 || true
}

case "${1:-}" in
  fetch) fetch; echo "PostgreSQL binaries in $(find_bin)" ;;
  up) up ;;
  down) stop; echo "PostgreSQL stopped ($DATA)" ;;
  status)
    if pid="$(running_pid)"; then echo "running (pid $pid, data $DATA)"; else echo "not running (data $DATA)"; exit 3; fi ;;
  reset) stop; rm -rf "$DATA"; echo "PostgreSQL data removed ($DATA)" ;;
  *) echo "usage: $0 fetch|up|down|status|reset" >&2; exit 2 ;;
esac

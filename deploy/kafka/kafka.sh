#!/usr/bin/env bash
# Local single-node Apache Kafka (KRaft, combined broker+controller) for development and tests.
# No Docker, no root: the broker jars come from Maven Central via deploy/kafka/pom.xml.
#
#   deploy/kafka/kafka.sh fetch|up|down|status|reset
#
# Environment:
#   KAFKA_PORT=9092             client (PLAINTEXT) port, bound on 127.0.0.1
#   KAFKA_CONTROLLER_PORT       controller port (default KAFKA_PORT+1)
#   KAFKA_DATA_DIR=<repo>/.kafka  config, storage, logs and pid file of this broker
#   KAFKA_START_TIMEOUT=90      seconds `up` waits for the broker to answer
#   KAFKA_GC_OPTS="-XX:+UseSerialGC"  the broker JVM's collector (its pauses: <data>/logs/gc.log)
#   KAFKA_EXTRA_CONFIG="k=v k=v"  broker settings added to (and overriding) the written config
#   ANPR_KAFKA_CACHE=~/.cache/anpr-kafka  where the jars are cached
#   KAFKA_PYTHON=<repo>/.venv/bin/python  interpreter with aiokafka, used for the readiness probe
# Brokers with different KAFKA_DATA_DIR and ports can run side by side.
# `status` exits 0 when running, 3 when not.
set -euo pipefail

KAFKA_VERSION=4.1.1
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
DATA="$(realpath -m "${KAFKA_DATA_DIR:-$ROOT/.kafka}")"   # absolute: used to recognise our process
PORT="${KAFKA_PORT:-9092}"
CPORT="${KAFKA_CONTROLLER_PORT:-$((PORT + 1))}"
TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
LIBS="${ANPR_KAFKA_CACHE:-$HOME/.cache/anpr-kafka}/$KAFKA_VERSION/libs"
PIDFILE="$DATA/kafka.pid"
CONF="$DATA/server.properties"
LOG="$DATA/logs/server.log"
ADDR="127.0.0.1:$PORT"

die() { echo "kafka.sh: $*" >&2; exit 1; }

fetch() {
  [[ -f "$LIBS/.complete" ]] && return 0
  command -v mvn >/dev/null || die "could not fetch Apache Kafka $KAFKA_VERSION from Maven Central with mvn: mvn is not on PATH"
  echo "Fetching Apache Kafka $KAFKA_VERSION into $LIBS ..." >&2
  mkdir -p "$(dirname "$LIBS")"
  # Download into a private temp dir and rename it into place, so concurrent `up`s never see half a classpath.
  local tmp out
  tmp="$(mktemp -d "$LIBS.tmp.XXXXXX")"
  if ! out="$(mvn -B -q -Dstyle.color=never -f "$HERE/pom.xml" dependency:copy-dependencies -DoutputDirectory="$tmp" 2>&1)"; then
    rm -rf "$tmp"
    die "could not fetch Apache Kafka $KAFKA_VERSION from Maven Central with mvn: $(sed 's/\x1b\[[0-9;]*m//g' <<<"$out" | tail -n 20)"
  fi
  touch "$tmp/.complete"   # the marker; not a .jar, so the libs/* classpath wildcard ignores it
  [[ -d "$LIBS" && ! -f "$LIBS/.complete" ]] && rm -rf "$LIBS"
  mv -T "$tmp" "$LIBS" 2>/dev/null || rm -rf "$tmp"   # lost a race with a concurrent fetch: keep theirs
  [[ -f "$LIBS/.complete" ]] || die "could not fetch Apache Kafka $KAFKA_VERSION from Maven Central with mvn: $LIBS is incomplete"
}

# Pid of the broker started from this data dir, if it is still alive (guards against a recycled pid).
running_pid() {
  local pid
  pid="$(cat "$PIDFILE" 2>/dev/null)" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] && ps -ww -o args= -p "$pid" 2>/dev/null | grep -qF -- "kafka.Kafka $CONF" || return 1
  echo "$pid"
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

cluster_id() { sed -n 's/^cluster.id=//p' "$DATA/data/meta.properties"; }

# Succeeds only when the broker answers a Metadata request listing itself as a live broker of
# *our* cluster id. An open TCP port is not enough: KRaft binds its sockets long before it serves.
probe() {
  local py="${KAFKA_PYTHON:-$ROOT/.venv/bin/python}"
  [[ -x "$py" ]] || py=python3
  if "$py" -c 'import aiokafka' 2>/dev/null; then
    timeout 10 "$py" - "$ADDR" "$(cluster_id)" >/dev/null 2>&1 <<'EOF'
import asyncio, sys
from aiokafka.admin import AIOKafkaAdminClient

async def main():
    admin = AIOKafkaAdminClient(bootstrap_servers=sys.argv[1], request_timeout_ms=3000)
    try:
        await admin.start()
        meta = await admin.describe_cluster()
        return 0 if meta["brokers"] and meta["cluster_id"] == sys.argv[2] else 1
    finally:
        await admin.close()

sys.exit(asyncio.run(main()))
EOF
  else
    # Fallback without aiokafka: a Kafka admin round trip from the broker's own jars (~1.5 s per try).
    printf 'request.timeout.ms=3000\ndefault.api.timeout.ms=5000\n' >"$DATA/probe-client.properties"
    timeout 15 java -cp "$LIBS/*" kafka.admin.ConfigCommand --bootstrap-server "$ADDR" \
      --command-config "$DATA/probe-client.properties" --describe --entity-type brokers --entity-name 1 >/dev/null 2>&1
  fi
}

write_config() {
  cat >"$CONF" <<EOF
# Written by deploy/kafka/kafka.sh on every 'up'; edit the script, not this file.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$CPORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CPORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CPORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$DATA/data
num.partitions=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
# Single-node test broker: 1 partition for the internal topics (default 50) makes the first
# consumer group / transaction much faster to set up.
offsets.topic.num.partitions=1
transaction.state.log.num.partitions=1
# The controller appends a no-op record to the metadata log every 500 ms by default, and the
# broker wakes to apply each one: the largest part of an idle single-node broker's CPU.
metadata.max.idle.interval.ms=5000
EOF
  local kv
  for kv in ${KAFKA_EXTRA_CONFIG:-}; do
    [[ "$kv" == *=* ]] || die "KAFKA_EXTRA_CONFIG: '$kv' is not key=value"
    printf '%s\n' "$kv" >>"$CONF"
  done
}

up() {
  fetch
  local pid
  if pid="$(running_pid)"; then
    local cur; cur="$(sed -n 's#^listeners=PLAINTEXT://127.0.0.1:\([0-9]*\),.*#\1#p' "$CONF")"
    [[ "$cur" == "$PORT" ]] || die "a broker from $DATA is already running on port $cur (asked for $PORT); run 'down' first"
  else
    rm -f "$PIDFILE"
    local p; for p in "$PORT" "$CPORT"; do
      port_busy "$p" && die "Kafka broker did not come up on $ADDR: port $p is already in use by another process"
    done
    mkdir -p "$DATA/logs"
    : >"$DATA/logs/kafka.out"   # only this start's JVM output, so a failure shows the relevant lines
    write_config
    local jvm=(java -cp "$LIBS/*" -Dlog4j2.configurationFile="$HERE/log4j2.properties" -Dkafka.logs.dir="$DATA/logs")
    if [[ ! -f "$DATA/data/meta.properties" ]]; then
      # Kafka 4.x: dynamic KRaft quorum; --standalone makes this node the sole initial voter.
      # The id is a base64url UUID; --cluster-id=... because an id may start with '-'.
      local cid; cid="$(head -c16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
      "${jvm[@]}" kafka.tools.StorageTool format --cluster-id="$cid" -c "$CONF" --standalone \
        >>"$DATA/logs/kafka.out" 2>&1 || { tail -n 20 "$DATA/logs/kafka.out" >&2; die "formatting storage in $DATA/data failed"; }
    fi
    # nohup + background: the broker outlives this script; stdout/stderr (JVM errors before log4j
    # is up) go to kafka.out, everything else to server.log via log4j2.properties.
    # Serial GC: on a 2-core machine shared with the services, G1's concurrent threads cost idle
    # CPU for nothing (measured: 0.039 -> 0.027 cores with no clients).
    local gc; read -r -a gc <<<"${KAFKA_GC_OPTS:--XX:+UseSerialGC}"
    nohup "${jvm[@]}" -Xms256m -Xmx1g "${gc[@]}" -XX:-UsePerfData -Djava.awt.headless=true \
      -Xlog:gc:file="$DATA/logs/gc.log":uptime:filecount=2,filesize=10m kafka.Kafka "$CONF" \
      </dev/null >>"$DATA/logs/kafka.out" 2>&1 &
    pid=$!
    echo "$pid" >"$PIDFILE"
  fi
  local deadline=$((SECONDS + TIMEOUT + 1))   # +1: $SECONDS ticks in whole seconds
  until probe; do
    local why=""
    kill -0 "$pid" 2>/dev/null || why=" (the broker process exited)"
    if [[ -n "$why" ]] || ((SECONDS >= deadline)); then
      echo "---- last 40 lines of $LOG ----" >&2
      tail -n 40 "$LOG" >&2 2>/dev/null || true
      [[ -s "$DATA/logs/kafka.out" ]] && { echo "---- tail of $DATA/logs/kafka.out ----" >&2; tail -n 10 "$DATA/logs/kafka.out" >&2; }
      grep -E '^\[[^]]*\] (ERROR|FATAL) ' "$LOG" 2>/dev/null | tail -n 1 | sed 's/^/last ERROR: /' >&2 || true
      stop
      die "Kafka broker did not come up on $ADDR within $TIMEOUT s$why"
    fi
    sleep 0.3
  done
  echo "Kafka $KAFKA_VERSION up on $ADDR (pid $pid, data $DATA)"
}

stop() {
  local pid i
  if pid="$(running_pid)"; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 300; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && { echo "kafka.sh: broker $pid ignored SIGTERM for 30 s, killing it" >&2; kill -KILL "$pid" || true; }
  fi
  rm -f "$PIDFILE"
}

case "${1:-}" in
  fetch) fetch ;;
  up) up ;;
  down) stop; echo "Kafka stopped ($DATA)" ;;
  status)
    if pid="$(running_pid)"; then echo "running (pid $pid, data $DATA)"; else echo "not running (data $DATA)"; exit 3; fi ;;
  reset) stop; rm -rf "$DATA"; echo "Kafka data removed ($DATA)" ;;
  *) echo "usage: $0 fetch|up|down|status|reset" >&2; exit 2 ;;
esac

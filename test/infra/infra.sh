#!/usr/bin/env bash
# Real servers for integration tests, with no Docker engine: an Apache Kafka broker in KRaft mode
# (jars from Maven Central) and an S3-compatible server (moto's server mode, from PyPI).
#
#   test/infra/infra.sh up [kafka|s3]     start both, or one (idempotent: running servers are left alone)
#   test/infra/infra.sh down [kafka|s3]   stop both, or one (idempotent)
#   test/infra/infra.sh status            print what runs where
#
# Downloads and state live under .cache/ (git-ignored). Ports: Kafka 127.0.0.1:19092 (controller
# 19093), S3 127.0.0.1:19000; override with KAFKA_PORT / S3_PORT.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
cache="$root/.cache"
kafka_port="${KAFKA_PORT:-19092}"
controller_port="$((kafka_port + 1))"
s3_port="${S3_PORT:-19000}"
kafka_dir="$cache/kafka"
s3_dir="$cache/s3"
mkdir -p "$cache"

log() { printf '[infra] %s\n' "$*" >&2; }
fail() { printf '[infra] error: %s\n' "$*" >&2; exit 1; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

wait_for() { # name port pidfile logfile seconds
  local name=$1 port=$2 pidfile=$3 logfile=$4 deadline=$((SECONDS + $5))
  until port_open "$port"; do
    pid_alive "$pidfile" || { tail -n 30 "$logfile" >&2 || true; fail "$name exited during start-up (log: $logfile)"; }
    [ "$SECONDS" -lt "$deadline" ] || { tail -n 30 "$logfile" >&2 || true; fail "$name did not open port $port within $5 s (log: $logfile)"; }
    sleep 0.5
  done
}

stop() { # name pidfile
  local name=$1 pidfile=$2
  if pid_alive "$pidfile"; then
    local pid; pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
    log "$name stopped (pid $pid)"
  fi
  rm -f "$pidfile"
}

kafka_up() {
  local pidfile="$kafka_dir/kafka.pid" logfile="$kafka_dir/kafka.log"
  if pid_alive "$pidfile" && port_open "$kafka_port"; then log "kafka already running on 127.0.0.1:$kafka_port"; return; fi
  port_open "$kafka_port" && fail "port $kafka_port is taken by another process (set KAFKA_PORT)"
  command -v java >/dev/null || fail "java is required (Java 17)"
  if [ ! -f "$kafka_dir/libs/.complete" ]; then
    command -v mvn >/dev/null || fail "mvn is required to fetch the Kafka jars"
    log "fetching Kafka jars from Maven Central"
    mvn -q -B -f "$root/test/infra/kafka/pom.xml" dependency:copy-dependencies \
      -DoutputDirectory="$kafka_dir/libs" -DincludeScope=runtime >&2 || fail "mvn could not fetch the Kafka jars"
    touch "$kafka_dir/libs/.complete"
  fi
  mkdir -p "$kafka_dir/data"
  cat > "$kafka_dir/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$kafka_port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$kafka_port
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$kafka_dir/data
num.partitions=3
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
log.retention.hours=-1
EOF
  cat > "$kafka_dir/log4j.properties" <<'EOF'
log4j.rootLogger=WARN, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaServer=INFO
log4j.logger.kafka.server.BrokerServer=INFO
EOF
  local cp="$kafka_dir/libs/*"
  if [ ! -f "$kafka_dir/data/meta.properties" ]; then
    java -cp "$cp" -Dlog4j.configuration="file:$kafka_dir/log4j.properties" kafka.tools.StorageTool format \
      -t "$(java -cp "$cp" kafka.tools.StorageTool random-uuid 2>/dev/null)" -c "$kafka_dir/server.properties" >&2 \
      || fail "could not format the Kafka storage in $kafka_dir/data"
  fi
  log "starting kafka on 127.0.0.1:$kafka_port"
  nohup java -Xms256m -Xmx768m -XX:+UseG1GC -cp "$cp" -Dlog4j.configuration="file:$kafka_dir/log4j.properties" \
    kafka.Kafka "$kafka_dir/server.properties" > "$logfile" 2>&1 9>&- &
  echo $! > "$pidfile"
  wait_for kafka "$kafka_port" "$pidfile" "$logfile" 90
  log "kafka ready (pid $(cat "$pidfile"))"
}

s3_up() {
  local pidfile="$s3_dir/s3.pid" logfile="$s3_dir/s3.log" venv="$s3_dir/venv"
  if pid_alive "$pidfile" && port_open "$s3_port"; then log "s3 already running on 127.0.0.1:$s3_port"; return; fi
  port_open "$s3_port" && fail "port $s3_port is taken by another process (set S3_PORT)"
  mkdir -p "$s3_dir"
  # The stamp names the pin, so changing the pin reinstalls.
  local moto='moto[server]==5.2.5' stamp="$venv/.tributary-moto"
  if [ ! -x "$venv/bin/moto_server" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$moto" ]; then
    log "installing moto's S3 server from PyPI into $venv"
    python3 -m venv "$venv" || fail "python3 -m venv failed"
    "$venv/bin/pip" install -q "$moto" >&2 || fail "pip could not install $moto"
    echo "$moto" > "$stamp"
  fi
  log "starting s3 (moto) on 127.0.0.1:$s3_port"
  nohup "$venv/bin/moto_server" -H 127.0.0.1 -p "$s3_port" > "$logfile" 2>&1 9>&- &
  echo $! > "$pidfile"
  wait_for s3 "$s3_port" "$pidfile" "$logfile" 60
  log "s3 ready (pid $(cat "$pidfile"))"
}

status() {
  if pid_alive "$kafka_dir/kafka.pid"; then echo "kafka: running, pid $(cat "$kafka_dir/kafka.pid"), 127.0.0.1:$kafka_port"; else echo "kafka: stopped"; fi
  if pid_alive "$s3_dir/s3.pid"; then echo "s3:    running, pid $(cat "$s3_dir/s3.pid"), http://127.0.0.1:$s3_port"; else echo "s3:    stopped"; fi
}

# One `up` or `down` at a time: test runs in several checkouts share .cache, and a start racing
# another start would find the port closed and start a second server.
exec 9>"$cache/.infra.lock"
case "${1:-}" in
  up)
    flock -w 600 9 || fail "another up or down has held .cache/.infra.lock for 10 minutes"
    case "${2:-all}" in
      kafka) kafka_up ;;
      s3) s3_up ;;
      all) kafka_up; s3_up ;;
      *) echo "usage: $0 up [kafka|s3]" >&2; exit 2 ;;
    esac
    status ;;
  down)
    flock -w 600 9 || fail "another up or down has held .cache/.infra.lock for 10 minutes"
    case "${2:-all}" in
      kafka) stop kafka "$kafka_dir/kafka.pid" ;;
      s3) stop s3 "$s3_dir/s3.pid" ;;
      all) stop kafka "$kafka_dir/kafka.pid"; stop s3 "$s3_dir/s3.pid" ;;
      *) echo "usage: $0 down [kafka|s3]" >&2; exit 2 ;;
    esac ;;
  status) status ;;
  *) echo "usage: $0 up|down [kafka|s3]|status" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# A real CDC source for the tests, with no Docker engine: PostgreSQL from Debian's packages
# (wal_level=logical, its own data folder) and Kafka Connect (standalone) running the Debezium
# PostgreSQL connector (jars from Maven Central, test/infra/cdc/pom.xml) against the test broker.
#
#   test/infra/cdc.sh up       start both (idempotent: running servers are left alone)
#   test/infra/cdc.sh down     stop both (idempotent)
#   test/infra/cdc.sh status   print what runs where
#
# PostgreSQL is installed from Debian's packages when missing (test/infra/tools.sh). Each server
# takes a free loopback port when it starts; the ports are recorded in .cache/cdc/state.json, which
# the tests read (test/integration/cdc-support.ts). Downloads and state live under .cache/ (git-ignored).
# The broker is TRIBUTARY_TEST_KAFKA, or 127.0.0.1:$KAFKA_PORT (19092), started by infra.sh.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
dir="$root/.cache/cdc"
state="$dir/state.json"
kafka="${TRIBUTARY_TEST_KAFKA:-127.0.0.1:${KAFKA_PORT:-19092}}"
connect_dir="$dir/connect"
mkdir -p "$dir"

log() { printf '[cdc] %s\n' "$*" >&2; }
fail() { printf '[cdc] error: %s\n' "$*" >&2; exit 1; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pid_alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
# A recorded value of state.json (empty when absent).
recorded() { [ -f "$state" ] && node -e 'const s=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));const v=process.argv[2].split(".").reduce((o,k)=>o?.[k],s);if(v!==undefined)console.log(v)' "$state" "$1" || true; }
sudo_() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# ---------------------------------------------------------------- PostgreSQL

pg_bindir() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [ -x "$d/postgres" ] && { echo "$d"; return; }
  done
}

pg_install() {
  log "installing PostgreSQL from Debian's packages"
  # Debian's package would create and start a cluster of its own on 5432; the tests need only theirs.
  sudo_ mkdir -p /etc/postgresql-common/createcluster.d
  echo 'create_main_cluster = false' | sudo_ tee /etc/postgresql-common/createcluster.d/tributary-tests.conf >/dev/null
  bash "$root/test/infra/tools.sh" install postgresql
}

# The server refuses to run as root: as root it runs as the `postgres` user the package creates.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# The data folder lives under .cache unless the server's user cannot reach it there (a checkout
# under a private home folder); then under /var/tmp, named after this checkout.
pg_datadir() {
  if [ "$(id -u)" != 0 ] || runuser -u postgres -- test -x "$dir"; then echo "$dir/pg"
  else echo "/var/tmp/tributary-cdc-$(printf '%s' "$root" | cksum | cut -d' ' -f1)/pg"; fi
}

pg_pid() { local data; data="$(pg_datadir)/data"; [ -f "$data/postmaster.pid" ] && sed -n 1p "$data/postmaster.pid" || true; }

pg_up() {
  local port; port=$(recorded postgres.port)
  if pid_alive "$(pg_pid)" && [ -n "$port" ] && port_open "$port"; then log "postgres already running on 127.0.0.1:$port"; return; fi
  local bin; bin=$(pg_bindir)
  if [ -z "$bin" ]; then pg_install; bin=$(pg_bindir); [ -n "$bin" ] || fail "no PostgreSQL server under /usr/lib/postgresql after installing"; fi
  local pgdir; pgdir=$(pg_datadir)
  local data="$pgdir/data"
  mkdir -p "$pgdir"
  [ "$(id -u)" = 0 ] && chown postgres: "$pgdir"
  if [ ! -f "$data/PG_VERSION" ]; then
    log "creating a PostgreSQL cluster in $data"
    rm -rf "$data"
    as_pg "$bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$pgdir/initdb.log" 2>&1 \
      || { cat "$pgdir/initdb.log" >&2; fail "initdb failed"; }
    # Logical decoding for Debezium (pgoutput); durability off, since the cluster is scratch.
    as_pg tee -a "$data/postgresql.conf" >/dev/null <<EOF
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
wal_level = logical
max_wal_senders = 20
max_replication_slots = 20
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 64MB
EOF
  fi
  # A stale pid file of a killed server is removed by the server itself at start.
  port=$(free_port)
  log "starting postgres ($bin) on 127.0.0.1:$port"
  # 9>&-: the server must not inherit (and so hold) the lock.
  as_pg "$bin/pg_ctl" -D "$data" -l "$pgdir/postgres.log" -w -t 60 -o "-p $port" start >&2 9>&- \
    || { tail -n 30 "$pgdir/postgres.log" >&2 || true; fail "postgres did not start (log: $pgdir/postgres.log)"; }
  write_state postgres.port "$port"
  log "postgres ready (pid $(pg_pid))"
}

pg_down() {
  local bin data; bin=$(pg_bindir); data="$(pg_datadir)/data"
  if pid_alive "$(pg_pid)"; then
    local pid; pid=$(pg_pid)
    as_pg "$bin/pg_ctl" -D "$data" -m fast -t 60 stop >&2 || kill -9 "$pid" 2>/dev/null || true
    log "postgres stopped (pid $pid)"
  fi
}

# ---------------------------------------------------------------- Kafka Connect

connect_pid() { cat "$connect_dir/connect.pid" 2>/dev/null || true; }

connect_up() {
  local port; port=$(recorded connect.port)
  if pid_alive "$(connect_pid)" && [ -n "$port" ] && port_open "$port"; then log "kafka connect already running on 127.0.0.1:$port"; return; fi
  local host=${kafka%:*} kport=${kafka##*:}
  [ "$host" = 127.0.0.1 ] || [ "$host" = localhost ] || fail "the test broker must be local (got $kafka)"
  port_open "$kport" || fail "no Kafka broker at $kafka: start it first (test/infra/infra.sh up)"
  command -v java >/dev/null || fail "java is required (Java 17)"
  mkdir -p "$connect_dir"
  if [ ! -f "$connect_dir/libs/.complete" ]; then
    command -v mvn >/dev/null || fail "mvn is required to fetch the Kafka Connect and Debezium jars"
    log "fetching Kafka Connect and Debezium jars from Maven Central"
    rm -rf "$connect_dir/libs"
    mvn -q -B -f "$root/test/infra/cdc/pom.xml" dependency:copy-dependencies \
      -DoutputDirectory="$connect_dir/libs" -DincludeScope=runtime >&2 || fail "mvn could not fetch the Kafka Connect jars"
    touch "$connect_dir/libs/.complete"
  fi
  port=$(free_port)
  # Standalone: connectors are created over REST by each test (with its own slot, publication and
  # topic prefix) and their offsets kept in a local file. Converters are set per connector.
  cat > "$connect_dir/worker.properties" <<EOF
bootstrap.servers=$kafka
listeners=http://127.0.0.1:$port
rest.advertised.host.name=127.0.0.1
rest.advertised.port=$port
key.converter=org.apache.kafka.connect.json.JsonConverter
value.converter=org.apache.kafka.connect.json.JsonConverter
offset.storage.file.filename=$connect_dir/offsets.dat
offset.flush.interval.ms=1000
plugin.discovery=only_scan
EOF
  cat > "$connect_dir/log4j.properties" <<'EOF'
log4j.rootLogger=WARN, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.org.apache.kafka.connect.runtime.Connect=INFO
log4j.logger.io.debezium.connector.postgresql.PostgresConnectorTask=INFO
EOF
  log "starting kafka connect on 127.0.0.1:$port (broker $kafka)"
  nohup java -Xms128m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -cp "$connect_dir/libs/*" \
    -Dlog4j.configuration="file:$connect_dir/log4j.properties" \
    org.apache.kafka.connect.cli.ConnectStandalone "$connect_dir/worker.properties" > "$connect_dir/connect.log" 2>&1 9>&- &
  echo $! > "$connect_dir/connect.pid"
  # Ready when the REST API lists the Debezium connector (the port opens before plugins are loaded).
  local deadline=$((SECONDS + 120))
  until curl -sf "http://127.0.0.1:$port/connector-plugins" 2>/dev/null | grep -q PostgresConnector; do
    pid_alive "$(connect_pid)" || { tail -n 30 "$connect_dir/connect.log" >&2; fail "kafka connect exited during start-up (log: $connect_dir/connect.log)"; }
    [ "$SECONDS" -lt "$deadline" ] || { tail -n 30 "$connect_dir/connect.log" >&2; fail "kafka connect was not ready within 120 s (log: $connect_dir/connect.log)"; }
    sleep 0.5
  done
  write_state connect.port "$port"
  log "kafka connect ready (pid $(connect_pid))"
}

connect_down() {
  local pid; pid=$(connect_pid)
  if pid_alive "$pid"; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
    log "kafka connect stopped (pid $pid)"
  fi
  rm -f "$connect_dir/connect.pid"
}

# ---------------------------------------------------------------- state

write_state() { # key value
  node -e 'const fs=require("fs");const [f,k,v]=process.argv.slice(1);let s={};try{s=JSON.parse(fs.readFileSync(f,"utf8"))}catch{}
const [a,b]=k.split(".");s[a]={...s[a],[b]:Number(v)};s.kafka=process.argv[4];s.postgres={host:"127.0.0.1",user:"postgres",...s.postgres}
fs.writeFileSync(f+".tmp",JSON.stringify(s,null,2));fs.renameSync(f+".tmp",f)' "$state" "$1" "$2" "$kafka"
}

status() {
  local p; p=$(recorded postgres.port)
  if pid_alive "$(pg_pid)"; then echo "postgres: running, pid $(pg_pid), 127.0.0.1:$p"; else echo "postgres: stopped"; fi
  p=$(recorded connect.port)
  if pid_alive "$(connect_pid)"; then echo "connect:  running, pid $(connect_pid), http://127.0.0.1:$p"; else echo "connect:  stopped"; fi
}

# One `up` or `down` at a time: test runs in several checkouts share .cache.
exec 9>"$dir/.lock"
case "${1:-}" in
  up) flock -w 600 9 || fail "another up or down has held .cache/cdc/.lock for 10 minutes"; pg_up; connect_up; status ;;
  down)
    flock -w 600 9 || fail "another up or down has held .cache/cdc/.lock for 10 minutes"
    case "${2:-all}" in
      postgres) pg_down ;;
      connect) connect_down ;;
      all) connect_down; pg_down ;;
      *) echo "usage: $0 down [postgres|connect]" >&2; exit 2 ;;
    esac ;;
  status) status ;;
  *) echo "usage: $0 up|down [postgres|connect]|status" >&2; exit 2 ;;
esac

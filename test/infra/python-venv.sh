#!/usr/bin/env bash
# Python clients for the interop tests, in .cache/venv: the lake readers (and a foreign writer) pyiceberg
# with pyiceberg-core (its Rust partition transforms, which writes to partitioned tables need), duckdb with its
# iceberg extension (from the duckdb-extension-* wheels; httpfs for ATTACH … TYPE iceberg against
# a REST catalog), pyarrow and pytz (duckdb needs it to return TIMESTAMPTZ values); and confluent-kafka with its schema-registry and Avro extras (httpx2, attrs,
# cachetools, authlib, fastavro) for the registry and Kafka interop tests. .cache/ is git-ignored.
# Idempotent: when the pinned versions are already installed it touches nothing and
# needs no network. Prints the venv's python path on stdout (everything else goes to stderr).
#
#   test/infra/python-venv.sh            create or check the venv, print its python
#   VENV=/path test/infra/python-venv.sh use another location
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
venv="${VENV:-$root/.cache/venv}"
# Pinned so that a second run can tell it is done without asking PyPI.
# duckdb stays at the version its iceberg/avro extension wheels are built for (extensions are
# version-locked and DuckDB cannot download them here).
# confluent-kafka stays at 2.16.0: 2.16.1 requires certifi>=2026.10.19, which PyPI did not serve yet.
requirements=("pyiceberg==0.12.0" "pyiceberg-core==0.10.1" "duckdb==1.5.5" "duckdb-extension-iceberg==1.5.5" "duckdb-extension-avro==1.5.5" "duckdb-extension-httpfs==1.5.5" "pyarrow==25.0.1" "pytz==2026.6"
  "confluent-kafka[schemaregistry,avro]==2.16.0")
stamp="$venv/.tributary-requirements"
wanted="${requirements[*]}"

log() { printf '[python-venv] %s\n' "$*" >&2; }
fail() { printf '[python-venv] error: %s\n' "$*" >&2; exit 1; }

if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
  echo "$venv/bin/python"
  exit 0
fi

command -v python3 >/dev/null || fail "python3 is required"
if [ ! -x "$venv/bin/python" ]; then
  log "creating $venv"
  python3 -m venv "$venv" || fail "python3 -m venv failed"
fi
log "installing ${requirements[*]} from PyPI"
"$venv/bin/python" -m pip install -q "${requirements[@]}" >&2 || fail "pip could not install ${requirements[*]}"
"$venv/bin/python" -c 'import pyiceberg, pyiceberg_core, duckdb, pyarrow, pytz, duckdb_extension_iceberg, duckdb_extension_avro, duckdb_extension_httpfs, fastavro
import confluent_kafka.schema_registry.avro' || fail "the installed packages do not import"
printf '%s' "$wanted" > "$stamp"
echo "$venv/bin/python"

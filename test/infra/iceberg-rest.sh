#!/usr/bin/env bash
# Apache Iceberg's REST catalog server (org.apache.iceberg.rest.RESTCatalogServer, the test fixture
# behind the apache/iceberg-rest-fixture image) as jars in .cache/iceberg-rest/libs, from Maven
# Central (needs Java 17 and Maven). Idempotent: once resolved it needs no network. Prints the libs
# folder on stdout (everything else goes to stderr); run it with
#   java -cp '<libs>/*' org.apache.iceberg.rest.RESTCatalogServer
# and CATALOG_WAREHOUSE, CATALOG_URI (jdbc:sqlite::memory:) and CATALOG_REST_PORT in the environment.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
dir="$root/.cache/iceberg-rest"
pom="$root/test/infra/iceberg-rest/pom.xml"
stamp="$dir/.resolved"
fail() { printf '[iceberg-rest] error: %s\n' "$*" >&2; exit 1; }

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$(sha256sum "$pom" | cut -d' ' -f1)" ]; then
  echo "$dir/libs"
  exit 0
fi
command -v mvn >/dev/null || fail "mvn is required to fetch the Iceberg REST catalog jars"
command -v java >/dev/null || fail "java (17) is required to run the Iceberg REST catalog"
printf '[iceberg-rest] resolving %s from Maven Central\n' "$pom" >&2
rm -rf "$dir/libs"
mkdir -p "$dir"
mvn -q -B -f "$pom" dependency:copy-dependencies -DoutputDirectory="$dir/libs" -DincludeScope=runtime >&2 || fail "mvn could not fetch the Iceberg REST catalog jars"
sha256sum "$pom" | cut -d' ' -f1 > "$stamp"
echo "$dir/libs"

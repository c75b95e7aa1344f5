#!/usr/bin/env bash
# Debian tools the tests call, installed when missing, the way infra.sh fetches Kafka's jars: a
# user who runs `npm test` installs nothing by hand. Needs apt-get and root (or sudo without a
# password); anything else is an error naming the command to run.
#
#   test/infra/tools.sh ensure kcat promtool docker-compose   install the packages of missing commands
#   test/infra/tools.sh plan kcat promtool                    print the packages `ensure` would install
#   test/infra/tools.sh install postgresql                    install Debian packages (cdc.sh uses it)
#
# Idempotent: a command already on PATH costs one lookup and no network. `apt-get update` runs only
# when a package has no install candidate yet (a fresh container's empty lists), once per call.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"

log() { printf '[tools] %s\n' "$*" >&2; }
fail() { printf '[tools] error: %s\n' "$*" >&2; exit 1; }

# The Debian package that provides a command the tests call.
package_of() {
  case "$1" in
    kcat) echo kcat ;;
    promtool) echo prometheus ;;
    docker-compose) echo docker-compose ;;
    psql) echo postgresql-client ;;
    *) fail "no Debian package known for the command '$1' (add it to package_of in $0)" ;;
  esac
}

present() {
  case "$1" in
    # The Compose v2 plugin (`docker compose`) serves as well as the standalone client.
    docker-compose) command -v docker-compose >/dev/null 2>&1 || docker compose version >/dev/null 2>&1 ;;
    *) command -v "$1" >/dev/null 2>&1 ;;
  esac
}

# The packages of the commands that are missing, one per line.
plan() {
  local tool
  for tool in "$@"; do present "$tool" || package_of "$tool"; done
}

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo -n "$@"
  else return 126; fi
}

# Not `apt-cache … | grep -q`: grep quitting early fails the pipe under pipefail.
has_candidate() { local policy; policy=$(apt-cache policy "$1" 2>/dev/null); [[ $policy =~ Candidate:\ [^\(] ]]; }

install() {
  [ $# -gt 0 ] || return 0
  command -v apt-get >/dev/null 2>&1 || fail "apt-get is not available to install $*: install them with this system's package manager"
  as_root true || fail "installing $* needs root or sudo without a password: run \`sudo apt-get install $*\`"
  # One installer at a time across test runs in several checkouts (they share .cache); apt's own
  # lock would make the second fail instead of wait.
  mkdir -p "$root/.cache"
  exec 8>"$root/.cache/.tools.lock"
  flock -w 900 8 || fail "another install has held .cache/.tools.lock for 15 minutes"
  local pkg
  for pkg in "$@"; do
    if ! has_candidate "$pkg"; then
      log "apt-get update (no install candidate for $pkg yet)"
      as_root apt-get update -qq >&2 || fail "apt-get update failed"
      break
    fi
  done
  log "installing $* from Debian's packages"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 "$@" >&2 \
    || fail "apt-get install $* failed"
}

case "${1:-}" in
  plan) shift; plan "$@" ;;
  ensure)
    shift
    for tool in "$@"; do package_of "$tool" >/dev/null; done
    mapfile -t packages < <(plan "$@")
    install "${packages[@]}"
    for tool in "$@"; do present "$tool" || fail "$tool is still missing after installing $(package_of "$tool")"; done ;;
  install) shift; install "$@" ;;
  *) echo "usage: $0 ensure|plan <command>... | install <package>..." >&2; exit 2 ;;
esac

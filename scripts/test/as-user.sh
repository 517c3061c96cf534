#!/usr/bin/env bash
# Run test files as an ordinary user (root only): some users are not root, and the tests that
# start processes, apply faults or clean up (marked "// test: as-user") must pass for them too.
# The user runs them on a copy of this checkout it owns, made once per `make test` (a stamp in
# the copy; `scripts/test/as-user.sh --clean USER` removes it).
#   scripts/test/as-user.sh USER [tap options] FILE...
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
if [[ ${1:-} == --clean ]]; then
  rm -rf "/tmp/mlbench-as-${2:?--clean USER}"
  exit 0
fi
user=${1:?usage: as-user.sh USER [tap options] FILE...}
shift
[[ $(id -u) -eq 0 ]] || { echo "as-user: switching to $user needs root" >&2; exit 2; }
id -u "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$user" \
  || { echo "as-user: useradd $user failed" >&2; exit 2; }
copy="/tmp/mlbench-as-$user"
# One copy for every caller of a run (the timed and the other files): made under a lock.
exec 8>"/tmp/mlbench-as-$user.lock"
flock 8
if [[ ! -e $copy/.made ]]; then
  rm -rf "$copy"
  mkdir -p "$copy"
  cp -a "$root/." "$copy/repo"
  rm -rf "$copy/repo/.test-logs"
  chown -R "$user": "$copy"
  chmod 755 "$copy"
  touch "$copy/.made"
fi
flock -u 8
echo "# as $user (uid $(id -u "$user")): $*"
cd "$copy/repo"
exec runuser -u "$user" -- env CI="${CI:-}" HOME="/home/$user" PATH="$PATH" \
  TS_NODE_PROJECT="$copy/repo/tsconfig.test.json" npx tap "$@"

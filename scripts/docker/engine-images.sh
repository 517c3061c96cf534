#!/usr/bin/env bash
# Every image the engine lane's tests run, built here without a registry (root): the three
# service images on their offline Node base, the nginx-light and Prometheus images of the
# Compose and Swarm stacks, and the Swarm cluster's node image. Their debootstraps run side
# by side: each mostly waits on Debian's mirror, and one after another they took about six
# minutes of a CI run. What exists already is kept (every step is idempotent).
#   scripts/docker/engine-images.sh          # prints one line per image set, non-zero if any failed
set -uo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

docker info >/dev/null 2>&1 || die "no Docker engine answers (scripts/docker/ensure-engine.sh starts one)"
[[ $(id -u) -eq 0 ]] || die "building images without a registry needs root (debootstrap)"

# One build at a time: a second caller (CI starts one early, make test another) waits here,
# then finds every image made and returns at once.
exec 9>/tmp/mlbench-engine-images.lock
flock 9

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
declare -A jobs
OFFLINE=1 scripts/docker/images.sh >"$logs/services" 2>&1 & jobs[services]=$!
(choose_nginx) >"$logs/nginx" 2>&1 & jobs[nginx]=$!
(choose_prometheus) >"$logs/prometheus" 2>&1 & jobs[prometheus]=$!
scripts/docker/swarm-cluster.sh image >"$logs/swarm-node" 2>&1 & jobs[swarm-node]=$!

started=$(date +%s)
status=0
for name in services nginx prometheus swarm-node; do
  if wait "${jobs[$name]}"; then
    log "$name: ready ($(( $(date +%s) - started )) s)"
  else
    status=1
    log "$name: failed"
    tail -n 20 "$logs/$name" >&2
  fi
done
exit "$status"

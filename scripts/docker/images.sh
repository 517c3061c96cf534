#!/usr/bin/env bash
# Build the three service images and print their sizes and build times.
#   scripts/docker/images.sh            # FROM $NODE_IMAGE (pulled from a registry)
#   OFFLINE=1 scripts/docker/images.sh  # FROM a base made here without any registry
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

docker info >/dev/null 2>&1 || die "no Docker engine answers (scripts/docker/ensure-engine.sh starts one)"
if [[ ${OFFLINE:-0} == 1 ]]; then
  NODE_IMAGE="$(scripts/docker/offline-base.sh --tag "$OFFLINE_NODE_IMAGE" | tail -n 1)"
fi
log "base image: $NODE_IMAGE"

printf '%-12s %-34s %8s %8s\n' service image size build >&2
for service in monolith prediction gateway; do
  tag="${IMAGE_PREFIX}${service}:${MLBENCH_TAG}"
  started=$(date +%s)
  if ! out=$(DOCKER_BUILDKIT=0 docker build -q --build-arg "NODE_IMAGE=$NODE_IMAGE" \
        --build-arg "SERVICE=$service" -f services/Dockerfile -t "$tag" . 2>&1); then
    echo "$out" | tail -n 30 >&2
    die "building $tag failed"
  fi
  size=$(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1/1e6}')
  printf '%-12s %-34s %8s %6s s\n' "$service" "$tag" "$size" "$(( $(date +%s) - started ))" >&2
done

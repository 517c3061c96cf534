#!/usr/bin/env bash
# Deploy a topology as a Docker Swarm stack (compose/swarm/TOPOLOGY.yaml) and wait until every
# service has all its tasks running and healthy; remove stacks; join or leave a swarm.
#   scripts/docker/swarm.sh init                          single-node swarm if this engine is in none
#   scripts/docker/swarm.sh up monolith|microservices [SCALE]   OBS=1 adds Prometheus; PUBLISH=1 publishes
#                                                          the entry tier (and Prometheus) on every interface
#   scripts/docker/swarm.sh down [TOPOLOGY]                 removes the stacks; leaves the swarm if init made it
#   IMAGE_PREFIX=registry.example.com/mlbench/ scripts/docker/swarm.sh push   the images, for other nodes
# Other nodes pull the images: build them with IMAGE_PREFIX=registry.example.com/mlbench/ and push
# them first (see the README); a prefix that names a registry makes `deploy` pin their digests.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

CONVERGE_TIMEOUT_S=${CONVERGE_TIMEOUT_S:-180}
# Written by `init` when it created the swarm, so `down` leaves only a swarm of our own making.
MARKER=${SWARM_MARKER:-compose/.swarm-created-by-mlbench}

swarm_state() { docker info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null || echo none; }

init() {
  docker info >/dev/null 2>&1 || die "no Docker engine answers (scripts/docker/ensure-engine.sh starts one)"
  case $(swarm_state) in
    active) return 0 ;;
    inactive)
      # The manager's API (2377) on loopback unless asked: swarm init would listen on 0.0.0.0.
      docker swarm init --advertise-addr "${SWARM_ADVERTISE_ADDR:-127.0.0.1}" \
        --listen-addr "${SWARM_LISTEN_ADDR:-127.0.0.1:2377}" >/dev/null
      : > "$MARKER"
      log "initialised a single-node swarm (advertise ${SWARM_ADVERTISE_ADDR:-127.0.0.1}); 'make swarm-down' leaves it" ;;
    *) die "this engine's swarm state is '$(swarm_state)'; fix it with 'docker swarm leave --force' or join it" ;;
  esac
}

# "registry.example.com/…" or "localhost:5000/…": a registry the other nodes can ask for digests.
names_registry() { [[ ${IMAGE_PREFIX%%/*} == *[.:]* ]]; }

# Every node pulls the images itself: they must be in a registry under IMAGE_PREFIX. Images built
# under another prefix (the default mlbench/) are tagged into it first.
push() {
  names_registry || die "IMAGE_PREFIX=$IMAGE_PREFIX names no registry (e.g. registry.example.com/mlbench/ or localhost:5000/mlbench/)"
  local s image source
  for s in monolith prediction gateway; do
    image="${IMAGE_PREFIX}$s:${MLBENCH_TAG}"
    if ! image_present "$image"; then
      source="${SOURCE_PREFIX:-mlbench/}$s:${MLBENCH_TAG}"
      image_present "$source" || die "neither $image nor $source is here: run 'make images' first"
      docker tag "$source" "$image"
    fi
    docker push -q "$image" >&2 || die "docker push $image failed (logged in? 'docker login ${IMAGE_PREFIX%%/*}')"
    log "pushed $image"
  done
}

# Nodes pull from the registry, so that is where the images must be (not necessarily here).
require_registry_images() {
  local s
  for s in monolith prediction gateway; do
    docker manifest inspect --insecure "${IMAGE_PREFIX}$s:${MLBENCH_TAG}" >/dev/null 2>&1 ||
      die "${IMAGE_PREFIX}$s:${MLBENCH_TAG} is not in the registry: run 'make push-images' (with the same IMAGE_PREFIX)"
  done
}

wait_converged() { # stack
  local started=$SECONDS lines updates
  while (( SECONDS - started < CONVERGE_TIMEOUT_S )); do
    lines=$(docker service ls --filter "label=com.docker.stack.namespace=$1" --format '{{.Name}} {{.Replicas}}')
    # A re-deploy rolls tasks over one by one (start-first): counts alone look done too early.
    updates=$(docker service inspect --format '{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}' \
      $(awk '{print $1}' <<<"$lines") 2>/dev/null | sort -u | tr '\n' ' ')
    [[ $updates == *rollback_completed* || $updates == *paused* ]] && die "$1: the update failed ($updates); see: docker stack ps $1 --no-trunc"
    if [[ -n $lines && $updates != *updating* && $updates != *rollback_started* ]] &&
       ! awk '{ split($2, r, "/"); if (r[1] != r[2]) bad = 1 } END { exit !bad }' <<<"$lines"; then
      return 0
    fi
    sleep 1
  done
  echo "$lines" >&2
  docker stack ps "$1" --no-trunc --format '  {{.Name}} {{.CurrentState}} {{.Error}}' >&2 || true
  die "$1: not converged after ${CONVERGE_TIMEOUT_S} s"
}

up() { # topology [scale]
  check_topology "$1"
  init
  if names_registry; then require_registry_images; else require_images; fi
  local stack="${PROJECT_PREFIX:-mlbench}-$1" scale=${2:-1} started=$SECONDS
  export PREDICTION_REPLICAS=$scale MONOLITH_REPLICAS=$scale
  if [[ ${PUBLISH:-0} == 1 && $1 == monolith && $scale -gt 1 && ${SWARM_MONOLITH_PORT:-8080} != 0 ]]; then
    log "monolith×$scale: one host port per task (SWARM_MONOLITH_PORT=0); 'docker ps' shows them"
    export SWARM_MONOLITH_PORT=0
  fi
  local resolve=(--resolve-image never)
  names_registry && resolve=(--resolve-image always --with-registry-auth)
  local files=(-c "compose/swarm/$1.yaml")
  # Swarm publishes on every interface of a node or not at all: only when asked (PUBLISH=1).
  [[ ${PUBLISH:-0} == 1 ]] && files+=(-c "compose/swarm/publish-$1.yaml")
  if [[ ${OBS:-0} == 1 ]]; then
    choose_prometheus
    files+=(-c compose/swarm/observability.yaml)
    [[ ${PUBLISH:-0} == 1 ]] && files+=(-c compose/swarm/publish-observability.yaml)
  fi
  docker stack deploy --prune "${resolve[@]}" "${files[@]}" "$stack" >&2
  wait_converged "$stack"
  log "$stack converged $(( SECONDS - started )) s after 'deploy'"
  docker ps --filter "label=com.docker.stack.namespace=$stack" --format '  {{.Names}}\t{{.Status}}\t{{.Ports}}' >&2
  [[ ${PUBLISH:-0} == 1 ]] || print_local_addresses "$stack"
}

# Unpublished, a task on this node answers at its docker_gwbridge address, reachable from this
# host only: say where, so `curl` works without publishing on every interface.
print_local_addresses() { # stack
  local id name ip
  for id in $(docker ps -q --filter "label=com.docker.stack.namespace=$1"); do
    name=$(docker inspect --format '{{index .Config.Labels "com.docker.swarm.service.name"}}' "$id")
    [[ $name == *_prediction ]] && continue
    ip=$(docker network inspect docker_gwbridge --format "{{with index .Containers \"$(docker inspect --format '{{.Id}}' "$id")\"}}{{.IPv4Address}}{{end}}" 2>/dev/null)
    ip=${ip%/*}
    [[ -n $ip ]] && log "  ${name#"$1"_}: http://$ip:$([[ $name == *_prometheus ]] && echo 9090 || echo 8080) (this host only; PUBLISH=1 publishes on every interface)"
  done
}

# Containers outlive `docker stack rm` by the stop grace period; the network goes once they do.
wait_removed() { # stack
  local started=$SECONDS
  while (( SECONDS - started < 60 )); do
    if [[ -z $(docker ps -aq --filter "label=com.docker.stack.namespace=$1") ]] &&
       [[ -z $(docker network ls -q --filter "label=com.docker.stack.namespace=$1") ]]; then return 0; fi
    docker network ls -q --filter "label=com.docker.stack.namespace=$1" | xargs -r docker network rm >/dev/null 2>&1 || true
    sleep 1
  done
  die "$1: containers or networks still there 60 s after 'docker stack rm'"
}

down() { # [topology]
  local t stack
  [[ $(swarm_state) == active ]] || { rm -f "$MARKER"; return 0; }
  for t in "${@:-${TOPOLOGIES[@]}}"; do
    check_topology "$t"
    stack="${PROJECT_PREFIX:-mlbench}-$t"
    [[ -n $(docker service ls -q --filter "label=com.docker.stack.namespace=$stack") ]] || continue
    docker stack rm "$stack" >&2
    wait_removed "$stack"
  done
  if [[ -e $MARKER && -z $(docker service ls -q) ]]; then
    docker swarm leave --force >/dev/null
    rm -f "$MARKER"
    log "left the swarm 'init' created"
  fi
}

case "${1:-}" in
  init) init ;;
  up) shift; up "$@" ;;
  down) shift; down "$@" ;;
  push) push ;;
  *) die "usage: swarm.sh init | up TOPOLOGY [SCALE] | down [TOPOLOGY] | push" ;;
esac

#!/usr/bin/env bash
# Bring a topology's Compose stack up (and wait until every container is healthy),
# take stacks down, or validate every layering the Makefile uses.
#   scripts/docker/stack.sh up monolith|microservices [SCALE]   OBS=1 adds Prometheus (+ Grafana)
#                                                               GATEWAY=nginx: nginx as the gateway
#   scripts/docker/stack.sh down [monolith|microservices]
#   scripts/docker/stack.sh config
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

COMPOSE=$(compose_cmd)
HEALTH_TIMEOUT_S=${HEALTH_TIMEOUT_S:-120}

files_for() { # topology [obs] [gateway]
  local f="-f compose/$1.yaml"
  [[ $1 == microservices && ${3:-fastify} == nginx ]] && f+=" -f compose/gateway-nginx.yaml"
  [[ ${2:-0} == 1 ]] && f+=" -f compose/observability.yaml"
  echo "$f"
}

# Grafana has no registry-less path: run it only when its image is here or pullable.
choose_grafana() {
  if image_present "$GRAFANA_IMAGE" || docker pull -q "$GRAFANA_IMAGE" >/dev/null 2>&1; then
    export COMPOSE_PROFILES=grafana
    if [[ -z ${GRAFANA_ADMIN_PASSWORD:-} ]]; then
      local file=compose/.grafana-admin-password
      [[ -s $file ]] || (umask 077 && head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$file")
      GRAFANA_ADMIN_PASSWORD=$(cat "$file")
      log "Grafana admin password: in $file"
    fi
  else
    log "skipping Grafana: $GRAFANA_IMAGE is not here and cannot be pulled (no registry-less build exists for it)"
    GRAFANA_ADMIN_PASSWORD=${GRAFANA_ADMIN_PASSWORD:-unused-grafana-not-started}
  fi
  export GRAFANA_ADMIN_PASSWORD
}

wait_healthy() { # project
  local started=$SECONDS states bad
  while (( SECONDS - started < HEALTH_TIMEOUT_S )); do
    states=$(docker ps -a --filter "label=com.docker.compose.project=$1" --format '{{.Names}} {{.Status}}')
    bad=$(grep -E 'unhealthy|Exited|Dead' <<<"$states" || true)
    if [[ -n $bad ]]; then
      echo "$states" >&2
      die "not healthy: $(head -n 1 <<<"$bad") (see: docker logs ${bad%% *})"
    fi
    if [[ -n $states ]] && ! grep -qv '(healthy)' <<<"$states"; then return 0; fi
    sleep 0.5
  done
  echo "$states" >&2
  die "not healthy after ${HEALTH_TIMEOUT_S} s"
}

up() { # topology [scale]
  check_topology "$1"
  docker info >/dev/null 2>&1 || die "no Docker engine answers (scripts/docker/ensure-engine.sh starts one)"
  local obs=${OBS:-0} project="${PROJECT_PREFIX:-mlbench}-$1" service scale=${2:-1}
  service=$(replica_service "$1")
  require_images
  if [[ $1 == monolith && $scale -gt 1 && $MONOLITH_PUBLISH != *: ]]; then
    log "monolith×$scale: publishing each replica on its own port (MONOLITH_PUBLISH=127.0.0.1:)"
    export MONOLITH_PUBLISH=127.0.0.1:
  fi
  if [[ $obs == 1 ]]; then choose_prometheus; choose_grafana; fi
  local gateway=${GATEWAY:-fastify}
  [[ $gateway == fastify || $gateway == nginx ]] || die "unknown GATEWAY '$gateway' (fastify or nginx)"
  [[ $gateway == nginx && $1 == microservices ]] && choose_nginx
  local started=$SECONDS
  # shellcheck disable=SC2046
  $COMPOSE -p "$project" $(files_for "$1" "$obs" "$gateway") up -d --no-build --remove-orphans --scale "$service=$scale" >&2
  wait_healthy "$project"
  log "$project healthy $(( SECONDS - started )) s after 'up'"
  docker ps --filter "label=com.docker.compose.project=$project" --format '  {{.Names}}\t{{.Status}}\t{{.Ports}}' >&2
}

down() { # [topology]
  local t
  for t in "${@:-${TOPOLOGIES[@]}}"; do
    check_topology "$t"
    GRAFANA_ADMIN_PASSWORD=${GRAFANA_ADMIN_PASSWORD:-unused} COMPOSE_PROFILES=grafana \
      $COMPOSE -p "${PROJECT_PREFIX:-mlbench}-$t" $(files_for "$t" 1) down --remove-orphans --volumes --timeout 15 >&2
  done
}

config() {
  local layering files
  export GRAFANA_ADMIN_PASSWORD=${GRAFANA_ADMIN_PASSWORD:-config-check}
  # topology obs gateway: every layering the Makefile uses.
  for layering in "monolith 0" "monolith 1" "microservices 0" "microservices 1" "microservices 0 nginx"; do
    # shellcheck disable=SC2086
    files=$(files_for $layering)
    # shellcheck disable=SC2086
    $COMPOSE $files config -q || die "invalid: $files"
    echo "valid: $COMPOSE $files config"
  done
  $COMPOSE config -q || die "invalid: the default stack (COMPOSE_FILE in .env)"
  echo "valid: $COMPOSE config (default stack: $COMPOSE_FILE)"
}

case "${1:-}" in
  up) shift; up "$@" ;;
  down) shift; down "$@" ;;
  config) config ;;
  *) die "usage: stack.sh up TOPOLOGY [SCALE] | down [TOPOLOGY] | config" ;;
esac

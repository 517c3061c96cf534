# Shared by the scripts in scripts/docker: repository root, pins from .env, compose command.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# Pins from .env, without overriding what the caller exported.
while IFS='=' read -r key value; do
  [[ $key =~ ^[A-Z_][A-Z0-9_]*$ ]] || continue
  [[ -n ${!key+x} ]] || export "$key=$value"
done < "$ROOT/.env"

die() { echo "$(basename "$0"): $*" >&2; exit 1; }
log() { echo "$(basename "$0"): $*" >&2; }

compose_cmd() {
  if docker compose version >/dev/null 2>&1; then echo "docker compose"
  elif command -v docker-compose >/dev/null 2>&1; then echo "docker-compose"
  else die "neither 'docker compose' nor 'docker-compose' is installed (scripts/docker/ensure-engine.sh installs one)"
  fi
}

image_present() { docker image inspect "$1" >/dev/null 2>&1; }

TOPOLOGIES=(monolith microservices)
replica_service() { [[ $1 == monolith ]] && echo monolith || echo prediction; }
check_topology() { [[ " ${TOPOLOGIES[*]} " == *" $1 "* ]] || die "unknown topology '$1' (monolith or microservices)"; }

require_images() {
  local s
  for s in monolith prediction gateway; do
    image_present "${IMAGE_PREFIX}$s:${MLBENCH_TAG}" || die "image ${IMAGE_PREFIX}$s:${MLBENCH_TAG} is missing: run 'make images' (OFFLINE=1 without a registry)"
  done
}

# Prometheus: the pinned image if present or pullable, else the registry-less build.
choose_prometheus() {
  image_present "$PROMETHEUS_IMAGE" && return
  if docker pull -q "$PROMETHEUS_IMAGE" >/dev/null 2>&1; then return; fi
  log "cannot pull $PROMETHEUS_IMAGE; using $OFFLINE_PROMETHEUS_IMAGE (Debian's prometheus on a local base)"
  scripts/docker/offline-base.sh --tag "$OFFLINE_PROMETHEUS_IMAGE" --include prometheus --no-node >/dev/null
  export PROMETHEUS_IMAGE=$OFFLINE_PROMETHEUS_IMAGE
}

# nginx as the Compose gateway: the pinned image if present or pullable, else Debian's
# nginx-light on a registry-less base (the same way as Prometheus's).
choose_nginx() {
  image_present "$NGINX_IMAGE" && return
  if docker pull -q "$NGINX_IMAGE" >/dev/null 2>&1; then return; fi
  log "cannot pull $NGINX_IMAGE; using $OFFLINE_NGINX_IMAGE (Debian's nginx-light on a local base)"
  scripts/docker/offline-base.sh --tag "$OFFLINE_NGINX_IMAGE" --include nginx-light --no-node >/dev/null
  export NGINX_IMAGE=$OFFLINE_NGINX_IMAGE
}

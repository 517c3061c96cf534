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

# An image the stacks use: the pinned one (${!1}) if present or pullable, else the
# registry-less build (${!2}) of Debian's package $3 on a local base; exports the choice in $1.
choose_image() { # PIN_VAR OFFLINE_VAR PACKAGE
  local pinned=${!1} offline=${!2}
  image_present "$pinned" && return
  if docker pull -q "$pinned" >/dev/null 2>&1; then return; fi
  log "cannot pull $pinned; using $offline (Debian's $3 on a local base)"
  scripts/docker/offline-base.sh --tag "$offline" --include "$3" --no-node >/dev/null
  export "$1=$offline"
}
choose_prometheus() { choose_image PROMETHEUS_IMAGE OFFLINE_PROMETHEUS_IMAGE prometheus; }
# nginx as the Compose gateway (GATEWAY=nginx).
choose_nginx() { choose_image NGINX_IMAGE OFFLINE_NGINX_IMAGE nginx-light; }

#!/usr/bin/env bash
# A multi-node Docker Swarm on this one machine, for tests and demos: each node is its own
# Docker engine (Debian's docker.io) in a privileged Docker-in-Docker container of its own, on a
# bridge network the cluster makes (internal: nothing routes beyond it). Node 1 is the manager
# and runs the cluster's registry (Debian's docker-registry), from which every node pulls the
# images by digest. Nodes carry zone labels (mlbench.zone=a|b|c…) so spread placement is exercised.
#
#   scripts/docker/swarm-cluster.sh up [NODES]     3 by default; prints the env to use on its last lines
#   scripts/docker/swarm-cluster.sh image          build the node image only (no registry: debootstrap)
#   scripts/docker/swarm-cluster.sh env            DOCKER_HOST (the manager), IMAGE_PREFIX, MLBENCH_SWARM_NODES
#   scripts/docker/swarm-cluster.sh stop-node N    stop node N's engine (a node lost); start-node N brings it back
#   scripts/docker/swarm-cluster.sh down           remove nodes, their data volumes, the network, the state dir
#   scripts/docker/swarm-cluster.sh leftovers      what of the cluster is still there (nothing after down)
#
# Why Docker-in-Docker and not engines in `ip netns`: a DinD node's engine, containerd, mounts,
# cgroups and data root all end with its container, so `docker rm -f` is a clean node loss and a
# clean teardown; engines sharing this host's mount namespace and /run would need each path of
# dockerd and containerd kept apart by hand, and leak mounts when killed.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

CLUSTER=${SWARM_CLUSTER:-mlbench-cluster}
[[ $CLUSTER =~ ^[a-z0-9][a-z0-9-]{0,30}$ ]] || die "SWARM_CLUSTER must be lower-case letters, digits and '-' (got '$CLUSTER')"
# Each node's engine socket, bind-mounted out of its container: the host talks to the nodes
# over unix sockets only, never over TCP.
STATE=${SWARM_CLUSTER_STATE:-/run/mlbench-swarm/$CLUSTER}
# After `eval "$(… env)"` DOCKER_HOST names a node's engine; this script manages the nodes
# themselves, on this host's engine.
[[ ${DOCKER_HOST:-} == unix:///run/mlbench-swarm/* || ${DOCKER_HOST:-} == "unix://$STATE/"* ]] && unset DOCKER_HOST
LABEL=mlbench.cluster
REGISTRY_PORT=5000
NODE_IMAGE=${SWARM_NODE_IMAGE:-mlbench/swarm-node-offline:bookworm}
ZONES=(a b c d e f g h)

node_name() { echo "$CLUSTER-node$1"; }
node_sock() { echo "$STATE/node$1/docker.sock"; }
on_node() { local n=$1; shift; DOCKER_HOST="unix://$(node_sock "$n")" docker "$@"; }
node_ip() { docker inspect -f "{{(index .NetworkSettings.Networks \"$CLUSTER\").IPAddress}}" "$(node_name "$1")"; }
nodes_here() { docker ps -a --filter "label=$LABEL=$CLUSTER" --format '{{.Names}}' | sed -n "s/^$CLUSTER-node//p" | sort -n; }

ensure_image() {
  image_present "$NODE_IMAGE" && return
  [[ $NODE_IMAGE == mlbench/swarm-node-offline:* ]] || die "node image $NODE_IMAGE is not here"
  log "building the node image $NODE_IMAGE (Debian's docker.io and docker-registry on a local base)"
  scripts/docker/offline-base.sh --tag "$NODE_IMAGE" --no-node \
    --include docker.io,docker-registry,iptables,ca-certificates,procps,iproute2 >/dev/null
}

wait_engine() { # node
  local i
  for i in $(seq 1 60); do
    on_node "$1" info >/dev/null 2>&1 && return 0
    sleep 1
  done
  docker logs --tail 20 "$(node_name "$1")" >&2 || true
  die "node $1's engine did not answer within 60 s"
}

start_node() { # n subnet
  local n=$1 name
  name=$(node_name "$n")
  mkdir -p "$STATE/node$n"
  # --init: dockerd is no init and would leave zombies. The data root is a named volume (overlay2
  # cannot sit on the container's own overlay), labelled so `leftovers` finds it.
  docker volume create --label "$LABEL=$CLUSTER" "$name-data" >/dev/null
  # Not --privileged: see scripts/docker/swarm-node-init.sh for why, and what it does instead.
  docker run -d --init --name "$name" --hostname "$name" \
    --cap-add ALL --cap-drop SYS_RESOURCE --device-cgroup-rule 'a *:* rwm' \
    --security-opt seccomp=unconfined --security-opt apparmor=unconfined --security-opt systempaths=unconfined \
    --label "$LABEL=$CLUSTER" --label "$LABEL.node=$n" \
    --network "$CLUSTER" \
    -v "$name-data:/var/lib/docker" -v "$STATE/node$n:/run/mlbench" \
    -v "$ROOT/scripts/docker/swarm-node-init.sh:/usr/local/sbin/mlbench-node-init:ro" \
    "$NODE_IMAGE" \
    mlbench-node-init dockerd --host unix:///var/run/docker.sock --host unix:///run/mlbench/docker.sock \
      --insecure-registry "$2" --log-level warn >/dev/null
  wait_engine "$n"
}

up() { # [nodes]
  local nodes=${1:-3} n subnet manager_ip token started=$SECONDS
  [[ $nodes =~ ^[0-9]+$ ]] && (( nodes >= 1 && nodes <= ${#ZONES[@]} )) || die "NODES must be 1–${#ZONES[@]} (got '$nodes')"
  [[ $(id -u) -eq 0 ]] || die "the cluster's nodes are privileged containers: run as root"
  docker info >/dev/null 2>&1 || die "no Docker engine answers (scripts/docker/ensure-engine.sh starts one)"
  [[ -z $(nodes_here) ]] && ! docker network inspect "$CLUSTER" >/dev/null 2>&1 ||
    die "cluster '$CLUSTER' is already up (or half there): 'make swarm-cluster-down' first"
  require_images
  ensure_image
  # On any failure (or Ctrl-C), leave nothing half-made.
  trap 'if [[ ${UP_DONE:-0} != 1 ]]; then log "up did not finish; tearing down"; down >/dev/null 2>&1 || true; fi' EXIT
  docker network create --internal --label "$LABEL=$CLUSTER" "$CLUSTER" >/dev/null
  subnet=$(docker network inspect -f '{{(index .IPAM.Config 0).Subnet}}' "$CLUSTER")
  for n in $(seq 1 "$nodes"); do start_node "$n" "$subnet" & done
  wait
  for n in $(seq 1 "$nodes"); do on_node "$n" info >/dev/null 2>&1 || die "node $n did not start"; done
  manager_ip=$(node_ip 1)
  on_node 1 swarm init --advertise-addr "$manager_ip" --listen-addr "$manager_ip:2377" >/dev/null
  token=$(on_node 1 swarm join-token -q worker)
  for n in $(seq 2 "$nodes"); do on_node "$n" swarm join --token "$token" "$manager_ip:2377" >/dev/null & done
  wait
  for n in $(seq 1 "$nodes"); do
    on_node 1 node update --label-add "mlbench.zone=${ZONES[$(( (n - 1) % ${#ZONES[@]} ))]}" "$(node_name "$n")" >/dev/null
  done
  registry_up "$manager_ip"
  push_images "$manager_ip"
  write_nodes_file
  UP_DONE=1
  log "cluster '$CLUSTER': $nodes nodes ($subnet), manager $(node_name 1) at $manager_ip, up in $(( SECONDS - started )) s"
  on_node 1 node ls --format '  {{.Hostname}}\t{{.Status}}\t{{.ManagerStatus}}' >&2
  env_lines
}

# The registry listens inside the manager's container only: on the cluster network and its loopback.
# Its data lives in that container, so it goes with the cluster.
registry_up() { # manager ip
  printf 'version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: /var/lib/mlbench-registry\n  delete:\n    enabled: true\nhttp:\n  addr: :%s\n' \
    "$REGISTRY_PORT" > "$STATE/node1/registry.yml"
  docker exec -d "$(node_name 1)" docker-registry serve /run/mlbench/registry.yml
  local i
  for i in $(seq 1 50); do
    docker exec "$(node_name 1)" bash -c "exec 3<>/dev/tcp/127.0.0.1/$REGISTRY_PORT" 2>/dev/null && return 0
    sleep 0.2
  done
  die "the cluster registry did not listen on $1:$REGISTRY_PORT"
}

# The images go to the manager's engine once (docker save | load), from there into the registry;
# every node, the manager too, then pulls them by the digest `docker stack deploy` resolves.
push_images() { # manager ip
  local prefix="$1:$REGISTRY_PORT/mlbench/" s refs=()
  for s in monolith prediction gateway; do refs+=("${IMAGE_PREFIX}$s:${MLBENCH_TAG}"); done
  docker save "${refs[@]}" | on_node 1 load -q >/dev/null
  for s in monolith prediction gateway; do
    on_node 1 tag "${IMAGE_PREFIX}$s:${MLBENCH_TAG}" "$prefix$s:${MLBENCH_TAG}"
    on_node 1 push -q "$prefix$s:${MLBENCH_TAG}" >/dev/null
    # Untagged on the manager, so it pulls like every other node.
    on_node 1 rmi -f "$prefix$s:${MLBENCH_TAG}" "${IMAGE_PREFIX}$s:${MLBENCH_TAG}" >/dev/null
  done
  log "pushed monolith, prediction and gateway to the cluster registry ${prefix}"
}

# What mlbench's swarm backend needs to sample and fault other nodes: each node's engine and how
# to stop and start it (here: its container; on a real cluster, e.g. ssh NODE systemctl stop docker).
write_nodes_file() {
  local n name tmp="$STATE/nodes.json.tmp" first=1 host
  # The commands address this host's engine by name: mlbench runs them with DOCKER_HOST at the manager.
  host=${DOCKER_HOST:-unix:///var/run/docker.sock}
  {
    echo '{'
    for n in $(nodes_here); do
      name=$(node_name "$n")
      (( first )) || echo ','
      first=0
      printf '  "%s": {"engine": "unix://%s", "zone": "%s", "stop": ["docker", "-H", "%s", "stop", "-t", "10", "%s"], "start": ["docker", "-H", "%s", "start", "%s"]}' \
        "$name" "$(node_sock "$n")" "${ZONES[$(( (n - 1) % ${#ZONES[@]} ))]}" "$host" "$name" "$host" "$name"
    done
    echo
    echo '}'
  } > "$tmp"
  mv "$tmp" "$STATE/nodes.json"
}

env_lines() {
  [[ -S $(node_sock 1) ]] || die "cluster '$CLUSTER' is not up ('make swarm-cluster-up')"
  echo "export DOCKER_HOST=unix://$(node_sock 1)"
  echo "export IMAGE_PREFIX=$(node_ip 1):$REGISTRY_PORT/mlbench/"
  echo "export MLBENCH_SWARM_NODES=$STATE/nodes.json"
  echo "export MLBENCH_SWARM_PUBLISH=all"
}

stop_node() { docker stop -t 10 "$(node_name "${1:?stop-node needs a node number}")" >/dev/null; log "stopped $(node_name "$1")"; }
restart_node() {
  docker start "$(node_name "${1:?start-node needs a node number}")" >/dev/null
  wait_engine "$1"
  log "started $(node_name "$1")"
}

down() {
  local n
  for n in $(nodes_here); do docker rm -f -v "$(node_name "$n")" >/dev/null 2>&1 || true; done
  docker volume ls -q --filter "label=$LABEL=$CLUSTER" | xargs -r docker volume rm -f >/dev/null
  docker network rm "$CLUSTER" >/dev/null 2>&1 || true
  rm -rf "$STATE"
  rmdir "$(dirname "$STATE")" 2>/dev/null || true
  log "cluster '$CLUSTER' removed"
}

leftovers() {
  docker ps -a --filter "label=$LABEL=$CLUSTER" --format 'container {{.Names}}'
  docker volume ls --filter "label=$LABEL=$CLUSTER" --format 'volume {{.Name}}'
  docker network ls --filter "label=$LABEL=$CLUSTER" --format 'network {{.Name}}'
  [[ ! -e $STATE ]] || echo "state $STATE"
}

case ${1:-} in
  image) ensure_image ;;
  up) up "${2:-3}" ;;
  down) down ;;
  env) env_lines ;;
  stop-node) stop_node "${2:-}" ;;
  start-node) restart_node "${2:-}" ;;
  leftovers) leftovers ;;
  *) die "usage: $0 image | up [NODES] | down | env | stop-node N | start-node N | leftovers" ;;
esac

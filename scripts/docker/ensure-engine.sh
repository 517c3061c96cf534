#!/usr/bin/env bash
# Make a Docker engine answer on this machine: use the running one, else start an
# installed dockerd, else (Debian, root) install docker.io + docker-compose from apt.
# Prints the compose command to use on its last line ("docker compose" or "docker-compose").
set -euo pipefail

log() { echo "ensure-engine: $*" >&2; }

engine_up() { docker info >/dev/null 2>&1; }

if ! engine_up; then
  if ! command -v dockerd >/dev/null 2>&1; then
    if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
      log "no Docker engine and no dockerd; install Docker (https://docs.docker.com/engine/install/) and retry"
      exit 1
    fi
    log "installing docker.io and docker-compose from apt"
    export DEBIAN_FRONTEND=noninteractive
    if [[ ! -f /var/lib/apt/periodic/mlbench-updated ]]; then
      apt-get update -qq
      mkdir -p /var/lib/apt/periodic && touch /var/lib/apt/periodic/mlbench-updated
    fi
    apt-get install -y -qq --no-install-recommends docker.io docker-compose iptables >/dev/null
  fi
  if [[ $(id -u) -ne 0 ]]; then
    log "dockerd is installed but not running, and starting it needs root"
    exit 1
  fi
  # A dockerd killed with its machine leaves containerd's pid file behind; the next dockerd
  # then trusts whatever process holds that pid now and waits 60 s for a socket that never
  # comes (seen here: "libcontainerd: containerd is still running pid=14352", then
  # "timeout waiting for containerd to start"). With no containerd running, it is stale.
  stale=/var/run/docker/containerd/containerd.pid
  if [[ -f $stale ]] && ! pgrep -x containerd >/dev/null 2>&1; then
    log "removing a stale $stale (pid $(cat "$stale" 2>/dev/null), no containerd running)"
    rm -f "$stale"
  fi
  log "starting dockerd (log: /var/log/mlbench-dockerd.log)"
  # setsid: the daemon must outlive this script and not take the caller's Ctrl-C.
  setsid dockerd >/var/log/mlbench-dockerd.log 2>&1 < /dev/null &
  for _ in $(seq 1 60); do
    engine_up && break
    sleep 1
  done
  if ! engine_up; then
    log "dockerd did not answer within 60 s; last log lines:"
    tail -n 20 /var/log/mlbench-dockerd.log >&2 || true
    exit 1
  fi
fi

if docker compose version >/dev/null 2>&1; then
  echo "docker compose"
elif command -v docker-compose >/dev/null 2>&1; then
  echo "docker-compose"
else
  log "neither 'docker compose' (v2) nor 'docker-compose' (v1) is installed"
  exit 1
fi

#!/usr/bin/env bash
# Build a Debian base image without any registry: debootstrap (minbase) + optional
# Debian packages + the host's Node.js, npm and CA bundle, then `docker import`.
# The project's Dockerfiles stay standard and take the result as NODE_IMAGE.
#
#   scripts/docker/offline-base.sh [--tag TAG] [--include pkg,pkg] [--no-node] [--force]
#
# Needs root, a running engine and Debian's mirrors (deb.debian.org or the host's
# apt sources). Prints the image tag on its last line.
set -euo pipefail

TAG="mlbench/node-offline:20-bookworm"
INCLUDE=""
WITH_NODE=1
FORCE=0
SUITE="${SUITE:-bookworm}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

die() { echo "offline-base: $*" >&2; exit 1; }
log() { echo "offline-base: $*" >&2; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --tag) TAG="${2:?--tag needs a value}"; shift 2 ;;
    --include) INCLUDE="${2:?--include needs a value}"; shift 2 ;;
    --no-node) WITH_NODE=0; shift ;;
    --force) FORCE=1; shift ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done

[[ $(id -u) -eq 0 ]] || die "debootstrap needs root; run as root or use an official image (NODE_IMAGE)"
docker info >/dev/null 2>&1 || die "no Docker engine answers; run scripts/docker/ensure-engine.sh first"

if [[ $FORCE -eq 0 ]] && docker image inspect "$TAG" >/dev/null 2>&1; then
  log "$TAG exists (use --force to rebuild)"
  echo "$TAG"
  exit 0
fi

if ! command -v debootstrap >/dev/null 2>&1; then
  command -v apt-get >/dev/null 2>&1 || die "debootstrap is not installed and there is no apt-get"
  log "installing debootstrap from apt"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null; }
fi

if [[ $WITH_NODE -eq 1 ]]; then
  NODE_BIN="$(command -v node)" || die "no node on PATH to copy into the image"
  NPM_DIR="$(npm root -g)/npm"
  [[ -f "$NPM_DIR/bin/npm-cli.js" ]] || die "npm not found at $NPM_DIR"
fi
CA_BUNDLE="/etc/ssl/certs/ca-certificates.crt"
[[ -f $CA_BUNDLE ]] || die "no CA bundle at $CA_BUNDLE"

ROOTFS="$(mktemp -d /var/tmp/mlbench-rootfs.XXXXXX)"
# The rootfs holds device nodes and root-owned files: remove it whatever happens.
trap 'rm -rf --one-file-system "$ROOTFS"' EXIT INT TERM

started=$(date +%s)
log "debootstrap --variant=minbase $SUITE (${INCLUDE:-no extra packages})"
debootstrap --variant=minbase ${INCLUDE:+--include="$INCLUDE"} "$SUITE" "$ROOTFS" "$MIRROR" >/dev/null \
  || die "debootstrap failed (is $MIRROR reachable?)"

install -D -m 0644 "$CA_BUNDLE" "$ROOTFS/etc/ssl/certs/ca-certificates.crt"
if [[ $WITH_NODE -eq 1 ]]; then
  install -D -m 0755 "$NODE_BIN" "$ROOTFS/usr/local/bin/node"
  mkdir -p "$ROOTFS/usr/local/lib/node_modules"
  cp -a "$NPM_DIR" "$ROOTFS/usr/local/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$ROOTFS/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$ROOTFS/usr/local/bin/npx"
  # Same user as the official node images, so Dockerfiles can say `USER node` on either.
  chroot "$ROOTFS" groupadd --gid 1000 node
  chroot "$ROOTFS" useradd --uid 1000 --gid node --create-home --shell /bin/sh node
fi
rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/* "$ROOTFS"/usr/share/doc/* \
  "$ROOTFS"/usr/share/man/* "$ROOTFS"/usr/share/locale/* "$ROOTFS"/var/log/*

changes=(--change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt'
         --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin')
if [[ $WITH_NODE -eq 1 ]]; then
  changes+=(--change "ENV NODE_VERSION=$(node -p process.versions.node)" --change 'CMD ["node"]')
else
  changes+=(--change 'CMD ["/bin/bash"]')
fi
tar -C "$ROOTFS" --numeric-owner -c . | docker import "${changes[@]}" - "$TAG" >/dev/null
log "built $TAG in $(( $(date +%s) - started )) s ($(docker image inspect -f '{{.Size}}' "$TAG" | awk '{printf "%.0f MB", $1/1e6}'))"
echo "$TAG"

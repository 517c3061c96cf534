#!/bin/sh
# Entry point of a swarm-cluster node (scripts/docker/swarm-cluster.sh): make the container fit to
# run an engine of its own, then exec dockerd with the given arguments.
#
# The nodes cannot be --privileged here: this machine's root lacks CAP_SYS_RESOURCE (CapBnd
# 0x1fffeffffff) and runc refuses a privileged container ("unable to apply caps"). So a node
# gets every other capability, and re-does the two things --privileged would have given it:
# - a writable /sys (a fresh sysfs of its own network namespace);
# - writable cgroups (v1): each hierarchy mounted again and its own subtree bound over the
#   read-only one Docker gave it, so the nested engine's containers nest under this node's
#   cgroup and count in its figures, as on a real host's.
set -eu
# root, mount point and super options (rw,cpuset) of each v1 hierarchy, before /sys goes.
own_cgroups=$(grep ' - cgroup ' /proc/self/mountinfo | awk '{print $4, $5, $NF}')
umount -R /sys 2>/dev/null || umount -l /sys
mount -t sysfs sysfs /sys
mount -t tmpfs -o mode=755 cgroup /sys/fs/cgroup
if [ -n "$own_cgroups" ]; then
  echo "$own_cgroups" | while read -r root mountpoint opts; do
    name=${mountpoint##*/}
    mkdir -p "/run/cgroup-all/$name" "$mountpoint"
    # Keep what names the hierarchy ("cpuset", "name=systemd"): the same options find the same one.
    mount -t cgroup -o "$(echo "$opts" | sed 's/^r[ow],//')" cgroup "/run/cgroup-all/$name"
    mount --bind "/run/cgroup-all/$name$root" "$mountpoint"
    umount -l "/run/cgroup-all/$name"
  done
else
  # cgroup v2: a namespaced cgroup2 mount is writable once remounted.
  mount -t cgroup2 cgroup2 /sys/fs/cgroup
fi
exec "$@"

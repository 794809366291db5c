#!/usr/bin/env bash
# Runs inside the cgv2 VM (see lane.sh): checks that this is a pure cgroup v2
# host, then runs the test files matching the given words.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] || { echo "inside.sh: /sys/fs/cgroup is not cgroup2" >&2; exit 1; }
! grep -q '^cgroup ' /proc/mounts || { echo "inside.sh: a cgroup v1 hierarchy is mounted" >&2; exit 1; }
echo "cgroup-v2 VM: kernel $(uname -r), controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
exec node scripts/run-tests.mjs "$@"

#!/usr/bin/env bash
# Runs inside the cgv2 VM (see lane.sh): checks that this is a pure cgroup v2
# host, mounts securityfs (apparmor_parser loads profiles through it; Debian's
# kernel runs AppArmor), then runs the test files matching the given words.
# BERTH_LANE tells tests they run in the lane, where AppArmor must be there:
# its tests fail, not skip, when it is missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] || { echo "inside.sh: /sys/fs/cgroup is not cgroup2" >&2; exit 1; }
! grep -q '^cgroup ' /proc/mounts || { echo "inside.sh: a cgroup v1 hierarchy is mounted" >&2; exit 1; }
mountpoint -q /sys/kernel/security || mount -t securityfs securityfs /sys/kernel/security
export BERTH_LANE=cgroup-v2
echo "cgroup-v2 VM: kernel $(uname -r), controllers: $(cat /sys/fs/cgroup/cgroup.controllers), AppArmor: $(cat /sys/module/apparmor/parameters/enabled 2>/dev/null || echo none)"
exec node scripts/run-tests.mjs "$@"

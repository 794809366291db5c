#!/usr/bin/env bash
# Runs inside the systemd lane's VM (see lane.sh), as a service of systemd:
# checks that this is the host it should be (systemd as PID 1, pure cgroup v2,
# the system bus up), then runs the test files matching the given words.
set -euo pipefail
cd "$(dirname "$0")/../.."
fail() { echo "inside.sh: $*" >&2; exit 1; }
[ "$(cat /proc/1/comm)" = systemd ] || fail "PID 1 is $(cat /proc/1/comm), not systemd"
[ -d /run/systemd/system ] || fail "no /run/systemd/system"
[ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] || fail "/sys/fs/cgroup is not cgroup2"
! grep -q '^cgroup ' /proc/mounts || fail "a cgroup v1 hierarchy is mounted"
systemctl start dbus.service || fail "the system bus does not start"
echo "systemd VM: kernel $(uname -r), $(systemctl --version | head -n 1), controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
# test/systemd/ fails rather than skips when it finds no systemd here
export BERTH_SYSTEMD_LANE=1
exec node scripts/run-tests.mjs "$@"

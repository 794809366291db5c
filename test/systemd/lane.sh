#!/usr/bin/env bash
# The systemd lane: a throwaway QEMU VM like the cgroup v2 lane's (Debian's
# kernel, pure cgroup v2, the host's root read-only under a tmpfs overlay, this
# tree read-write), but with systemd as PID 1 and the system D-Bus: the host
# engines run on. The test files matching the words (default: systemd, i.e.
# test/systemd/) run inside, as a service of that systemd.
#
#   bash test/systemd/lane.sh [words...]
#
# Build happens here, on the host. Needs root, qemu-system-x86, systemd and
# dbus (scripts/setup.sh installs them). When the lane cannot run it fails; it
# is never skipped.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$(pwd -P)

cannot() {
  echo "systemd lane: cannot run: $*" >&2
  exit 1
}
[ "$(id -u)" = 0 ] || cannot "needs root"
command -v qemu-system-x86_64 >/dev/null || cannot "qemu-system-x86_64 is not installed (bash scripts/setup.sh)"
[ -x /lib/systemd/systemd ] || cannot "systemd is not installed (bash scripts/setup.sh)"
command -v dbus-daemon >/dev/null || cannot "dbus is not installed (bash scripts/setup.sh)"

words=("$@")
[ ${#words[@]} -gt 0 ] || words=(systemd)

node scripts/build.mjs --quiet
# the kernel and initramfs (first run only), outside the measured time
CGV2_VM_INIT=systemd bash test/cgroup-v2/cgv2-vm.sh --prepare 2>&1 | tail -n 1 >&2

start=$(date +%s)
rc=0
CGV2_VM_INIT=systemd CGV2_VM_SHARE=$repo CGV2_VM_QUIET=1 CGV2_VM_TIMEOUT=${CGV2_VM_TIMEOUT:-2400} \
  bash test/cgroup-v2/cgv2-vm.sh bash test/systemd/inside.sh "${words[@]}" || rc=$?
echo "systemd lane: $(( $(date +%s) - start )) s in the VM, exit code $rc" >&2
[ $rc != 125 ] || echo "systemd lane: the VM itself failed (see above)" >&2
exit $rc

#!/usr/bin/env bash
# The cgroup v2 lane: the cgroup-sensitive tests (test/**/cgroups*.test.ts) run
# inside a throwaway QEMU VM whose kernel has only the unified hierarchy
# (cgv2-vm.sh, a copy of ../shared/cgv2-vm so tests do not depend on it).
# This host is hybrid; the lane is where berth meets a pure cgroup v2 host. Its
# Debian kernel also runs AppArmor, which this host's kernel lacks: the
# AppArmor tests (test/**/apparmor*.test.ts) run here too.
#
#   bash test/cgroup-v2/lane.sh [words...]    default words: cgroups apparmor checkpoint
#
# Build happens here, on the host (everything is ~20x slower in the VM); the VM
# sees this repository read-write at the same path. Needs root and
# qemu-system-x86 (scripts/setup.sh installs it). When the lane cannot run it
# fails, on CI and off it; BERTH_SKIP_CGROUP_V2=1 skips it loudly, except under
# CI=true, where nothing is skipped.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$(pwd -P)

cannot() {
  echo "cgroup-v2 lane: cannot run: $*" >&2
  exit 1
}
if [ -n "${BERTH_SKIP_CGROUP_V2:-}" ]; then
  [ "${CI:-}" != true ] || cannot "BERTH_SKIP_CGROUP_V2 is set, but CI=true runs every lane"
  echo "cgroup-v2 lane: SKIPPED (BERTH_SKIP_CGROUP_V2 is set)" >&2
  exit 0
fi
[ "$(id -u)" = 0 ] || cannot "needs root"
command -v qemu-system-x86_64 >/dev/null || cannot "qemu-system-x86_64 is not installed (bash scripts/setup.sh)"

words=("$@")
[ ${#words[@]} -gt 0 ] || words=(cgroups apparmor checkpoint)

node scripts/build.mjs --quiet
# the kernel and initramfs (first run only), outside the measured time
bash test/cgroup-v2/cgv2-vm.sh --prepare 2>&1 | tail -n 1 >&2

start=$(date +%s)
rc=0
CGV2_VM_SHARE=$repo CGV2_VM_QUIET=1 CGV2_VM_TIMEOUT=${CGV2_VM_TIMEOUT:-2400} \
  bash test/cgroup-v2/cgv2-vm.sh bash test/cgroup-v2/inside.sh "${words[@]}" || rc=$?
echo "cgroup-v2 lane: $(( $(date +%s) - start )) s in the VM, exit code $rc" >&2
[ $rc != 125 ] || echo "cgroup-v2 lane: the VM itself failed (see above)" >&2
exit $rc

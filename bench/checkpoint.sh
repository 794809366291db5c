#!/usr/bin/env bash
# checkpoint and restore with CRIU, berth vs runc (bench/checkpoint-v2.mjs), in
# the cgroup v2 VM of the test lane (test/cgroup-v2/cgv2-vm.sh: Debian's kernel,
# where CRIU works; QEMU, so times are only comparable within one run).
#   bash bench/checkpoint.sh [--runs N]
set -euo pipefail
cd "$(dirname "$0")/.."
node scripts/build.mjs --quiet
bash test/cgroup-v2/cgv2-vm.sh --prepare 2>&1 | tail -n 1 >&2
CGV2_VM_SHARE=$(pwd -P) CGV2_VM_QUIET=1 CGV2_VM_TIMEOUT=${CGV2_VM_TIMEOUT:-1200} \
  bash test/cgroup-v2/cgv2-vm.sh node bench/checkpoint-v2.mjs "$@"

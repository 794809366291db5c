#!/usr/bin/env bash
# `run` on a pure cgroup v2 host, berth vs runc vs crun (bench/run-v2.mjs), in the
# cgroup v2 VM of the test lane (test/cgroup-v2/cgv2-vm.sh; QEMU, so times are
# only comparable within one run).   bash bench/cgroup-v2.sh [--runs N]
set -euo pipefail
cd "$(dirname "$0")/.."
node scripts/build.mjs --quiet
bash test/cgroup-v2/cgv2-vm.sh --prepare 2>&1 | tail -n 1 >&2
CGV2_VM_SHARE=$(pwd -P) CGV2_VM_QUIET=1 CGV2_VM_TIMEOUT=${CGV2_VM_TIMEOUT:-1200} \
  bash test/cgroup-v2/cgv2-vm.sh node bench/run-v2.mjs "$@"

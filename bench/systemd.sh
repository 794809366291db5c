#!/usr/bin/env bash
# `run --systemd-cgroup` on a systemd + cgroup v2 host, berth vs runc vs crun, and
# `podman run --rm` in podman's default (systemd) configuration with each
# (bench/run-v2.mjs with BENCH_SYSTEMD=1), in the systemd lane's VM
# (test/systemd/lane.sh; QEMU, so times are only comparable within one run).
#   bash bench/systemd.sh [--runs N]
set -euo pipefail
cd "$(dirname "$0")/.."
node scripts/build.mjs --quiet
CGV2_VM_INIT=systemd bash test/cgroup-v2/cgv2-vm.sh --prepare 2>&1 | tail -n 1 >&2
CGV2_VM_INIT=systemd CGV2_VM_SHARE=$(pwd -P) CGV2_VM_QUIET=1 CGV2_VM_TIMEOUT=${CGV2_VM_TIMEOUT:-1800} \
  CGV2_VM_ENV=BENCH_SYSTEMD BENCH_SYSTEMD=1 bash test/cgroup-v2/cgv2-vm.sh node bench/run-v2.mjs "$@"

#!/usr/bin/env bash
# Installs what berth's build, demo and tests need on a Debian 12 machine (as root):
# Debian's busybox-static (the demo and test rootfs), runc (the reference in tests
# and benchmarks), iproute2 (network namespaces in tests), libseccomp-dev (linked
# statically into the addon), strace (a test watches the init's clone3), apparmor
# (apparmor_parser: the cgroup v2 lane's kernel runs AppArmor and its tests load a
# profile; the host root is the VM's, so it is installed here), criu (checkpoint
# and restore; it works in that VM's kernel, where its tests run, not
# necessarily on the host's); then the npm packages, which also builds berth
# (native parts and the bundled CLI).
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq busybox-static runc iproute2 util-linux g++ make python3 libseccomp-dev strace criu >/dev/null
# The engine tests (test/engines/) drive Debian's podman, containerd and docker
# against berth; crun is the third runtime of the cgroup v2 benchmark. Their
# packages would start daemons on the host: policy-rc.d forbids that while
# they install (the tests start private ones). apparmor's package would start
# its profile loader: the same.
policy=/usr/sbin/policy-rc.d
own_policy=
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && own_policy=1
fi
apt-get install -y -qq podman containerd docker.io conmon crun apparmor >/dev/null
[ -z "$own_policy" ] || rm -f "$policy"
npm ci --no-audit --no-fund
# The cgroup v2 lane (npm run test:cgroup-v2) boots a VM with QEMU.
command -v qemu-system-x86_64 >/dev/null \
  || apt-get install -y -qq --no-install-recommends qemu-system-x86 xz-utils >/dev/null

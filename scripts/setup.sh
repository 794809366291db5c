#!/usr/bin/env bash
# Installs what berth's build, demo and tests need on a Debian 12 machine (as root):
# Debian's busybox-static (the demo and test rootfs), runc (the reference in tests
# and benchmarks), iproute2 (network namespaces in tests), libseccomp-dev (linked
# statically into the addon), strace (a test watches the init's clone3), uidmap
# (newuidmap/newgidmap: rootless berth maps subordinate ids with them), apparmor
# (apparmor_parser: the cgroup v2 lane's kernel runs AppArmor and its tests load a
# profile; the host root is the VM's, so it is installed here), criu (checkpoint
# and restore; it works in that VM's kernel, where its tests run, not
# necessarily on the host's); then the npm packages, which also builds berth
# (native parts and the bundled CLI).
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq busybox-static runc iproute2 util-linux g++ make python3 libseccomp-dev strace uidmap criu >/dev/null
# The engine tests (test/engines/) drive Debian's podman, containerd and docker
# against berth; crun is the third runtime of the cgroup v2 benchmark; systemd
# and dbus are the systemd lane's PID 1 and system bus (and dbus-daemon serves
# the D-Bus client's unit tests). Their packages would start daemons on the
# host: policy-rc.d forbids that while they install (the tests start private
# ones). apparmor's package would start its profile loader: the same.
policy=/usr/sbin/policy-rc.d
own_policy=
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && own_policy=1
fi
apt-get install -y -qq podman containerd docker.io conmon crun apparmor systemd dbus >/dev/null
[ -z "$own_policy" ] || rm -f "$policy"
npm ci --no-audit --no-fund
# The cgroup v2 lane (npm run test:cgroup-v2) and the systemd lane (npm run
# test:systemd) boot a VM with QEMU.
command -v qemu-system-x86_64 >/dev/null \
  || apt-get install -y -qq --no-install-recommends qemu-system-x86 xz-utils >/dev/null
# The package test (test/package/) builds the linux-arm64 prebuilds with Debian's cross
# toolchain against libseccomp's arm64 static library, and runs the arm64 berth-init
# under qemu-user (no binfmt registration: it is called by name).
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  dpkg --add-architecture arm64
  apt-get update -qq
fi
apt-get install -y -qq --no-install-recommends g++-aarch64-linux-gnu libseccomp-dev:arm64 qemu-user >/dev/null

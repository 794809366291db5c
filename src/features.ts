// `berth features` (features.md): what this berth implements on this host, each
// item probed where the host decides it (namespaces, capabilities, cgroup
// versions, seccomp flags and architectures, AppArmor), never a copy of a list.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { hierarchies } from './cgroups/hierarchies';
import { checkpointSupport } from './checkpoint/support';
import { appArmorEnabled } from './lsm';
import { native } from './native/addon';
import { CAPS, MOUNT_FLAGS, PROPAGATION, RECURSIVE_MOUNT_FLAGS } from './plan/tables';
import { readKernelFile } from './state/proc';

const NS_NAMES: Record<string, string> = {
  mnt: 'mount', pid: 'pid', net: 'network', ipc: 'ipc', uts: 'uts', user: 'user', cgroup: 'cgroup', time: 'time',
};

const SPEC_ARCHS = [
  'X86', 'X86_64', 'X32', 'ARM', 'AARCH64', 'MIPS', 'MIPS64', 'MIPS64N32', 'MIPSEL', 'MIPSEL64', 'MIPSEL64N32',
  'PPC', 'PPC64', 'PPC64LE', 'S390', 'S390X', 'PARISC', 'PARISC64', 'RISCV64', 'LOONGARCH64', 'M68K', 'SH',
];

declare const BERTH_VERSION: string;

/** root: berth's --root, where the verdict of `criu check` is kept. */
export function features(root: string): Record<string, unknown> {
  const lastCap = Number(readKernelFile('/proc/sys/kernel/cap_last_cap'));
  const hs = hierarchies();
  return {
    ociVersionMin: '1.0.0',
    ociVersionMax: '1.3.0',
    hooks: ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'],
    mountOptions: [...Object.keys(MOUNT_FLAGS), ...Object.keys(RECURSIVE_MOUNT_FLAGS), ...Object.keys(PROPAGATION)].sort(),
    linux: {
      namespaces: readdirSync('/proc/self/ns').map((n) => NS_NAMES[n]).filter(Boolean).sort(),
      capabilities: CAPS.slice(0, lastCap + 1),
      cgroup: {
        v1: hs.some((h) => h.version === 1),
        v2: hs.some((h) => h.version === 2),
        systemd: systemdWorks(),
        // The user's own systemd: the same driver on the user's session bus.
        systemdUser: systemdWorks(true),
        rdma: hs.some((h) => h.controllers.includes('rdma')) || controllersV2(hs).includes('rdma'),
      },
      seccomp: seccompFeatures(),
      apparmor: { enabled: appArmorEnabled() },
      selinux: { enabled: false },
      intelRdt: { enabled: false },
      // Bind mounts only; whether a filesystem can be id-mapped is known at create.
      mountExtensions: { idmap: { enabled: native().mountSetattrSupported() } },
    },
    annotations: {
      'org.opencontainers.berth.version': typeof BERTH_VERSION === 'string' ? BERTH_VERSION : '0.0.0-dev',
      // As runc's annotation, but true only where CRIU works on this kernel (checkpoint/support.ts).
      'org.opencontainers.berth.checkpoint.enabled': String(checkpointSupport(root).ok),
    },
  };
}

function controllersV2(hs: ReturnType<typeof hierarchies>): string[] {
  const u = hs.find((h) => h.version === 2);
  if (!u) return [];
  try {
    return readFileSync(`${u.mountpoint}/cgroup.controllers`, 'latin1').trim().split(/\s+/);
  } catch {
    return [];
  }
}

function seccompFeatures(): Record<string, unknown> {
  // The kernel has seccomp filters when /proc/self/status shows a Seccomp line.
  if (!/^Seccomp:/m.test(readKernelFile('/proc/self/status')) || !existsSync('/proc/sys/kernel/seccomp')) {
    return { enabled: false };
  }
  const sc = require('./seccomp/compile') as typeof import('./seccomp/compile');
  const addon = require('./native/addon').native() as { seccompFlagSupported(f: number): boolean; seccompCompile(d: object): unknown };
  const archs = SPEC_ARCHS.filter((a) => {
    try {
      addon.seccompCompile({ defaultAction: sc.ACTION.SCMP_ACT_ALLOW, arches: [a.toLowerCase()], optimize: false, rules: [] });
      return true;
    } catch {
      return false;
    }
  }).map((a) => `SCMP_ARCH_${a}`);
  const knownFlags = Object.keys(sc.CONFIG_FLAGS);
  return {
    enabled: true,
    actions: Object.keys(sc.ACTION),
    operators: Object.keys(sc.OPERATOR),
    archs,
    knownFlags,
    supportedFlags: knownFlags.filter((f) => addon.seccompFlagSupported(sc.CONFIG_FLAGS[f])),
  };
}

/** The systemd driver works here: systemd is init, the host is pure cgroup v2, the system bus is there
 * (user: the user's own systemd, on the caller's session bus, which only the caller can tell). */
function systemdWorks(user = false): boolean {
  const { systemdUnavailable } = require('./cgroups/manager') as typeof import('./cgroups/manager');
  const dbus = require('./cgroups/systemd/dbus') as typeof import('./cgroups/systemd/dbus');
  try {
    return systemdUnavailable() === undefined && (user || existsSync(dbus.systemBusPath()));
  } catch {
    return false;
  }
}

// The starter config.json that `berth spec` writes. Its content follows what
// `runc spec` produces, so a bundle prepared for one runtime works with the
// other: a shell as the process, a read-only rootfs at ./rootfs, the usual
// pseudo-filesystems, a minimal capability set and deny-all device access.
// Key order follows the OCI runtime-spec structs, which is also runc's order.
import { statfsSync } from 'node:fs';

export const OCI_VERSION = '1.3.0';

export interface DefaultSpecOptions {
  /** Produce a config for an unprivileged user (user namespace, no netns, no cgroup limits). */
  rootless: boolean;
  /** Process arguments; ["sh"] when not given. */
  args?: string[];
  /**
   * Whether to add a cgroup namespace. runc adds one only when the host runs the
   * unified cgroup v2 hierarchy; by default we detect that the same way.
   */
  cgroupns?: boolean;
}

const CAPS = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];

const CGROUP2_SUPER_MAGIC = 0x63677270;

/** True when /sys/fs/cgroup is a cgroup2 filesystem (unified hierarchy). */
export function isCgroup2Unified(): boolean {
  try {
    return statfsSync('/sys/fs/cgroup').type === CGROUP2_SUPER_MAGIC;
  } catch {
    return false;
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type SpecObject = Record<string, any>;

export function defaultSpec(opts: DefaultSpecOptions): SpecObject {
  const cgroupns = opts.cgroupns ?? isCgroup2Unified();
  const namespaces: { type: string }[] = ['pid', 'network', 'ipc', 'uts', 'mount'].map((type) => ({ type }));
  if (cgroupns) namespaces.push({ type: 'cgroup' });

  const spec: SpecObject = {
    ociVersion: OCI_VERSION,
    process: {
      terminal: true,
      user: { uid: 0, gid: 0 },
      args: opts.args ? [...opts.args] : ['sh'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      cwd: '/',
      capabilities: {
        bounding: [...CAPS],
        effective: [...CAPS],
        permitted: [...CAPS],
      },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: 'berth',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      {
        destination: '/dev',
        type: 'tmpfs',
        source: 'tmpfs',
        options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
      },
      {
        destination: '/dev/pts',
        type: 'devpts',
        source: 'devpts',
        options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
      },
      {
        destination: '/dev/shm',
        type: 'tmpfs',
        source: 'shm',
        options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'],
      },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      {
        destination: '/sys/fs/cgroup',
        type: 'cgroup',
        source: 'cgroup',
        options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'],
      },
    ],
    linux: {
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      namespaces,
      maskedPaths: [
        '/proc/acpi',
        '/proc/asound',
        '/proc/kcore',
        '/proc/keys',
        '/proc/latency_stats',
        '/proc/timer_list',
        '/proc/timer_stats',
        '/proc/sched_debug',
        '/sys/firmware',
        '/proc/scsi',
      ],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
  if (opts.rootless) toRootless(spec);
  return spec;
}

/**
 * Turn a config into one an unprivileged user can run: a user namespace mapping
 * root in the container to the calling user, no network namespace (creating
 * one would leave it without connectivity anyway), /sys bound from the host
 * since sysfs cannot be mounted without owning the network namespace, no
 * uid=/gid= mount options (those ids are not mapped) and no cgroup resources.
 */
export function toRootless(spec: SpecObject): void {
  const linux = spec.linux;
  const kept = (linux.namespaces as { type: string }[]).filter((n) => n.type !== 'network' && n.type !== 'user');
  kept.push({ type: 'user' });

  const rest = { ...linux };
  delete rest.resources;
  delete rest.namespaces;
  // uidMappings and gidMappings come first, as in the spec's struct order.
  spec.linux = {
    uidMappings: [{ containerID: 0, hostID: process.geteuid!(), size: 1 }],
    gidMappings: [{ containerID: 0, hostID: process.getegid!(), size: 1 }],
    namespaces: kept,
    ...rest,
  };

  spec.mounts = (spec.mounts as SpecObject[]).map((m) => {
    if (m.destination.replace(/\/+$/, '') === '/sys') {
      return { destination: '/sys', type: 'none', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] };
    }
    if (!m.options) return m;
    return { ...m, options: (m.options as string[]).filter((o) => !o.startsWith('uid=') && !o.startsWith('gid=')) };
  });
}

/** The config as `berth spec` writes it: tab-indented JSON, as runc does. */
export function formatSpec(spec: SpecObject): string {
  return JSON.stringify(spec, null, '\t');
}

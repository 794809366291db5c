// config.json -> plan. Every decision about what the container gets is made here;
// berth-init only carries it out. Fields berth cannot apply fail here, by name.
import { existsSync } from 'node:fs';
import { isAbsolute, posix, resolve } from 'node:path';
import { BerthError } from '../errors';
import { dirFor, type Hierarchy } from '../cgroups/hierarchies';
import { logDebug, logWarnQuietly } from '../log/log';
import { appArmorEnabled } from '../lsm';
import type { Hook, Mount, Spec } from '../spec/types';
import * as K from './generated';
import { type ContainerUserns, idMapText, mountIdmap } from './idmap';
import type { Plan, PlanDevice, PlanHook, PlanMount } from './plan';
import { rootlessIdMappers } from '../rootless';
import { compileSeccomp } from '../seccomp/compile';
import { CAPS, CLONE, DEFAULT_DEVICES, MOUNT_FLAGS, MS, PROPAGATION, RECURSIVE_MOUNT_FLAGS, RLIMITS, S_IF } from './tables';
import { readKernelFile } from '../state/proc';

export interface BuildOptions {
  bundle: string;
  execFifo: string;
  preserveFds: number;
  noPivot: boolean;
  /** The name of a new session keyring to join (runc's default), or none with --no-new-keyring. */
  sessionKeyring?: string;
  hierarchies: Hierarchy[];
  /** The console socket's fd in berth-init (3 + preserveFds), when there is one. */
  consoleFd?: number;
  /** Where compiled seccomp filters are cached (under --root); none: always compile. */
  seccompCache?: string;
}

const fail = (field: string, why: string): never => {
  throw new BerthError(`${field}: ${why}`);
};

export function rootfsPath(spec: Spec, bundle: string): string {
  return resolve(bundle, spec.root.path);
}

export function buildPlan(spec: Spec, o: BuildOptions): Plan {
  const linux = spec.linux ?? {};
  // config.md: process is "REQUIRED when start is called", not at create. Without
  // it the init waits like any other and `start` refuses (no args: nothing to exec).
  const p: NonNullable<Spec['process']> = spec.process ?? { cwd: '/', args: [] as unknown as [string] };
  const rootfs = rootfsPath(spec, o.bundle);
  if (!existsSync(rootfs)) fail('root.path', `${rootfs}: no such file or directory`);

  // Namespaces
  let cloneFlags = 0;
  const joins: Plan['joins'] = [];
  const seen = new Set<string>();
  (linux.namespaces ?? []).forEach((ns, i) => {
    const field = `linux.namespaces[${i}]`;
    if (seen.has(ns.type)) fail(field, `namespace type ${ns.type} is given twice`);
    seen.add(ns.type);
    const flag = CLONE[ns.type as keyof typeof CLONE];
    if (ns.path) joins.push({ type: flag, path: ns.path, field: `${field}.path` });
    else cloneFlags |= flag;
  });
  // Without a mount namespace of its own, the rootfs, mounts and /dev would be set up
  // in the host's namespace and outlive the container: berth refuses that config.
  if (!seen.has('mount')) fail('linux.namespaces', 'berth needs a mount namespace (type "mount") for the container; sharing the host\'s is not supported');
  const newUser = (cloneFlags & CLONE.user) !== 0;
  if (newUser && !linux.uidMappings?.length) fail('linux.uidMappings', 'a new user namespace needs uid mappings');
  if (newUser && !linux.gidMappings?.length) fail('linux.gidMappings', 'a new user namespace needs gid mappings');
  if (!seen.has('user') && (linux.uidMappings?.length || linux.gidMappings?.length))
    fail('linux.uidMappings', 'mappings are given but there is no user namespace');
  if (spec.hostname !== undefined && spec.hostname !== '' && !seen.has('uts')) fail('hostname', 'setting a hostname needs a uts namespace');
  if (spec.domainname && !seen.has('uts')) fail('domainname', 'setting a domain name needs a uts namespace');
  let timeOffsets: string | undefined;
  if (linux.timeOffsets) {
    if (!(cloneFlags & CLONE.time)) fail('linux.timeOffsets', 'offsets need a new time namespace');
    timeOffsets = Object.entries(linux.timeOffsets)
      .map(([clock, o]) => `${clock} ${o?.secs ?? 0} ${o?.nanosecs ?? 0}\n`).join('');
  }

  const devIsBind = (spec.mounts ?? []).some((m) => posix.normalize(m.destination) === '/dev' && isBind(m));
  const plan: Plan = {
    cloneFlags,
    joins,
    uidMap: newUser ? idMapText(linux.uidMappings) : undefined,
    gidMap: newUser ? idMapText(linux.gidMappings) : undefined,
    idMappers: rootlessIdMappers(spec),
    timeOffsets,
    hostname: seen.has('uts') ? spec.hostname : undefined,
    sessionKeyring: o.sessionKeyring,
    domainname: seen.has('uts') ? spec.domainname : undefined,
    rootfs: {
      path: rootfs,
      readonly: !!spec.root.readonly,
      propagation: rootfsPropagation(linux.rootfsPropagation, o.noPivot),
      noPivot: o.noPivot,
    },
    mounts: buildMounts(spec.mounts ?? [], o, !!(cloneFlags & CLONE.cgroup), containerUserns(newUser, joins, linux)),
    devices: devIsBind ? [] : defaultDevices(),
    symlinks: devIsBind ? [] : DEV_SYMLINKS.map(([target, path]) => ({ target, path })),
    masked: linux.maskedPaths ?? [],
    readonly: linux.readonlyPaths ?? [],
    execFifo: o.execFifo,
    sysctls: Object.entries(linux.sysctl ?? {}).map(([k, v]) => sysctl(k, String(v), seen)),
    oomScoreAdj: p.oomScoreAdj,
    personality: personality(linux.personality),
    ...processOf(p, o.preserveFds),
    hooks: [
      ...hooks(spec.hooks?.createContainer, K.HOOK_CREATE_CONTAINER, 'hooks.createContainer'),
      ...hooks(spec.hooks?.startContainer, K.HOOK_START_CONTAINER, 'hooks.startContainer'),
    ],
  };
  if (linux.seccomp) {
    const c = compileSeccomp(linux.seccomp, { cacheDir: o.seccompCache });
    plan.seccomp = { bpf: c.bpf, flags: c.flags, listener: c.listener };
  }
  if (spec.process && !isAbsolute(p.cwd)) fail('process.cwd', `must be an absolute path, not ${JSON.stringify(p.cwd)}`);
  plan.apparmor = securityLabels(p, linux.mountLabel);
  if (p.terminal) {
    if (o.consoleFd === undefined) fail('process.terminal', 'a terminal needs --console-socket, or a run in the foreground');
    plan.console = { fd: o.consoleFd!, rows: p.consoleSize?.height ?? 0, cols: p.consoleSize?.width ?? 0 };
  }

  // Devices from the config replace the defaults at the same path.
  (linux.devices ?? []).forEach((d, i) => {
    const field = `linux.devices[${i}] (${d.path})`;
    if (d.type !== 'p' && (d.major === undefined || d.minor === undefined)) fail(field, 'major and minor are required');
    const dev: PlanDevice = {
      path: d.path, type: S_IF[d.type], major: d.major ?? 0, minor: d.minor ?? 0,
      mode: d.fileMode ?? 0o666, uid: d.uid ?? 0, gid: d.gid ?? 0, field,
    };
    const at = plan.devices.findIndex((x) => x.path === d.path);
    if (at >= 0) plan.devices[at] = dev;
    else plan.devices.push(dev);
  });
  return plan;
}

// JSON numbers are doubles: 2^64-1 (RLIM_INFINITY as configs write it) arrives
// rounded up to 2^64. Anything that large means unlimited.
function u64(n: number): bigint {
  return n >= 18446744073709551615 ? 0xffffffffffffffffn : BigInt(n);
}

// AppArmor and SELinux, as runc treats them: a profile or process label the host
// cannot apply is an error (never silently dropped); a mount label without
// SELinux is ignored (SELinux labels only mean something where SELinux runs).
export function securityLabels(p: NonNullable<Spec['process']>, mountLabel: string | undefined): string | undefined {
  if (p.selinuxLabel) {
    if (!existsSync('/sys/fs/selinux/enforce')) fail('process.selinuxLabel', 'SELinux is not enabled on this host');
    // Never pretend: where SELinux runs, berth cannot apply a label yet.
    fail('process.selinuxLabel', 'SELinux process labels are not supported by berth yet');
  }
  if (mountLabel && existsSync('/sys/fs/selinux/enforce'))
    fail('linux.mountLabel', 'SELinux mount labels are not supported yet');
  if (!p.apparmorProfile) return undefined;
  if (!appArmorEnabled()) fail('process.apparmorProfile', `AppArmor is not enabled on this host (profile ${JSON.stringify(p.apparmorProfile)})`);
  return p.apparmorProfile;
}

/** What the init and an exec'd process alike become (src/plan/message.ts processRecords). */
export function processOf(p: NonNullable<Spec['process']>, preserveFds: number): Pick<Plan, 'rlimits' | 'user' | 'caps' | 'noNewPrivileges' | 'cwd' | 'args' | 'env' | 'preserveFds'> {
  return {
    rlimits: rlimitsOf(p),
    user: { uid: p.user?.uid ?? 0, gid: p.user?.gid ?? 0, umask: p.user?.umask, additionalGids: p.user?.additionalGids ?? [] },
    caps: p.capabilities ? capSets(p.capabilities) : undefined,
    noNewPrivileges: !!p.noNewPrivileges,
    cwd: p.cwd,
    args: p.args,
    env: p.env ?? [],
    preserveFds,
  };
}

function rlimitsOf(p: NonNullable<Spec['process']>): Plan['rlimits'] {
  return (p.rlimits ?? []).map((r, i, all) => {
    const res = RLIMITS[r.type];
    if (res === undefined) fail(`process.rlimits[${i}].type`, `unknown rlimit ${r.type}`);
    const first = all.findIndex((o) => o.type === r.type);
    if (first !== i) fail(`process.rlimits[${i}] (${r.type})`, `duplicates process.rlimits[${first}]`);
    return { resource: res, soft: u64(r.soft), hard: u64(r.hard), field: `process.rlimits[${i}] (${r.type})` };
  });
}

// All eight forms, as runc takes them ("slave" is the rootfs mount alone, "rslave"
// the whole tree). runc refuses [r]private with --no-pivot: the host's mounts stay
// under the chroot, and private, the namespace would hold them after the host let
// them go.
function rootfsPropagation(value: string | undefined, noPivot: boolean): number {
  if (!value) return 0;
  const flags = PROPAGATION[value];
  if (noPivot && flags & MS.PRIVATE) fail('linux.rootfsPropagation', `${value} is not safe without pivot_root (--no-pivot)`);
  return flags;
}

function isBind(m: Mount): boolean {
  return m.type === 'bind' || (m.options ?? []).some((o) => o === 'bind' || o === 'rbind');
}

function containerUserns(newUser: boolean, joins: Plan['joins'], linux: NonNullable<Spec['linux']>): ContainerUserns | undefined {
  if (newUser) return { uidMap: idMapText(linux.uidMappings), gidMap: idMapText(linux.gidMappings) };
  const joined = joins.find((j) => j.type === CLONE.user);
  return joined && { path: joined.path };
}

function buildMounts(mounts: Mount[], o: BuildOptions, cgroupNs: boolean, userns: ContainerUserns | undefined): PlanMount[] {
  const out: PlanMount[] = [];
  mounts.forEach((m, i) => {
    const field = `mounts[${i}] (${m.destination})`;
    let flags = 0, propagation = 0, recursiveSet = 0, recursiveClear = 0;
    const data: string[] = [];
    for (const opt of m.options ?? []) {
      const f = MOUNT_FLAGS[opt];
      const r = RECURSIVE_MOUNT_FLAGS[opt];
      if (f) {
        flags = (flags | f[0]) & ~f[1];
      } else if (r) {
        recursiveSet = (recursiveSet | r[0]) & ~r[1];
        recursiveClear = (recursiveClear | r[1]) & ~r[0];
      } else if (PROPAGATION[opt] !== undefined) {
        propagation |= PROPAGATION[opt];
      } else if (opt === 'idmap' || opt === 'ridmap') {
        // mountIdmap below
      } else if (opt === 'tmpcopyup') {
        logWarnQuietly(`${field}: mount option tmpcopyup is not supported; ignored`);
      } else {
        data.push(opt);
      }
    }
    const bind = isBind(m);
    if (bind) flags |= MS.BIND;
    const type = m.type ?? (bind ? 'bind' : '');
    if ((recursiveSet || recursiveClear) && !bind) fail(field, 'recursive mount options (rro, rnosuid, ...) need a bind mount');
    if (type === 'cgroup' && !bind) {
      out.push(...cgroupMounts(m.destination, flags, o.hierarchies, field, cgroupNs));
      return;
    }
    // Mount points and device nodes are made in a tmpfs (or /dev) after it is
    // mounted: as runc, it is mounted writable and made read-only at the end.
    let extra = bind ? K.MOUNT_BIND : flags & MS.REMOUNT ? K.MOUNT_REMOUNT : 0;
    if (!extra && flags & MS.RDONLY && (type === 'tmpfs' || posix.resolve('/', m.destination) === '/dev')) {
      flags &= ~MS.RDONLY;
      extra = K.MOUNT_READONLY_LATE;
    }
    let source = m.source ?? '';
    if (bind) {
      if (!source) fail(field, 'a bind mount needs a source');
      source = resolve(o.bundle, source);
    }
    out.push({
      source, destination: m.destination, type: bind ? '' : type, flags: flags & ~MS.REMOUNT, propagation,
      extra, data: data.join(','), field,
      recursiveSet, recursiveClear, idmap: mountIdmap(m, field, bind, userns),
    });
  });
  return out;
}

// The container's /sys/fs/cgroup: cgroup2 on a unified host; on v1 and hybrid hosts
// a tmpfs holding one mount per hierarchy (and the unified one), as runc lays it out.
// With a cgroup namespace of its own, each is a fresh mount of the hierarchy (its
// root is the container's cgroup). Without one, a fresh mount would show the host's
// whole tree (and cannot be made at all from a user namespace): the container gets
// its own cgroup of each hierarchy instead, bound from the host's mount of it, as
// runc does. MOUNT_CGROUP_V1 marks those binds: the source is the host's mountpoint
// until the placement is known, then the container's own cgroup (bindOwnCgroups).
function cgroupMounts(dest: string, flags: number, hs: Hierarchy[], field: string, cgroupNs: boolean): PlanMount[] {
  const mk = (destination: string, type: string, f: number, data: string, extra = 0): PlanMount =>
    ({ source: type, destination, type, flags: f, propagation: 0, extra, data, field, recursiveSet: 0, recursiveClear: 0 });
  const hierarchy = (destination: string, h: Hierarchy): PlanMount => {
    const type = h.version === 2 ? 'cgroup2' : 'cgroup';
    const controllers = h.version === 2 ? '' : h.controllers.join(',');
    if (cgroupNs) return mk(destination, type, flags, controllers);
    return { source: h.mountpoint, destination, type, flags: flags | MS.BIND, propagation: 0,
      extra: K.MOUNT_BIND | K.MOUNT_CGROUP_V1, data: controllers, field, recursiveSet: 0, recursiveClear: 0 };
  };
  if (hs.length === 0) return [mk(dest, 'cgroup2', flags, '')];
  if (hs.every((h) => h.version === 2)) return [hierarchy(dest, hs[0])];
  const out: PlanMount[] = [mk(dest, 'tmpfs', (flags & ~MS.RDONLY) | MS.NOSUID | MS.NODEV | MS.NOEXEC, 'mode=755')];
  for (const h of hs) {
    const name = h.version === 2 ? 'unified' : h.mountpoint.split('/').pop()!;
    out.push(hierarchy(posix.join(dest, name), h));
  }
  if (flags & MS.RDONLY) out.push(mk(dest, 'tmpfs', flags | MS.NOSUID | MS.NODEV | MS.NOEXEC, 'mode=755', K.MOUNT_REMOUNT));
  return out;
}

/** The container's own cgroup of each hierarchy its cgroup mounts bind
 * (MOUNT_CGROUP_V1), once the placement is known: its directory there, or in a
 * hierarchy the placement leaves out (rootless), berth's own, which it inherits. */
export function bindOwnCgroups(plan: Plan, dirs: string[], hs: Hierarchy[]): void {
  for (const m of plan.mounts) {
    const h = m.extra & K.MOUNT_CGROUP_V1 ? hs.find((x) => x.mountpoint === m.source) : undefined;
    if (h) m.source = dirs.find((d) => d === h.mountpoint || d.startsWith(`${h.mountpoint}/`)) ?? dirFor(h, h.own);
  }
}

function defaultDevices(): PlanDevice[] {
  return DEFAULT_DEVICES.map(({ path, major, minor }) =>
    ({ path, type: S_IF.c, major, minor, mode: 0o666, uid: 0, gid: 0, field: `default device ${path}` }));
}

const DEV_SYMLINKS: [string, string][] = [
  ['/proc/self/fd', '/dev/fd'], ['/proc/self/fd/0', '/dev/stdin'], ['/proc/self/fd/1', '/dev/stdout'],
  ['/proc/self/fd/2', '/dev/stderr'], ['pts/ptmx', '/dev/ptmx'],
];

function sysctl(key: string, value: string, ns: Set<string>): Plan['sysctls'][number] {
  const field = `linux.sysctl[${JSON.stringify(key)}]`;
  const path = key.includes('/') ? key : key.replace(/\./g, '/');
  if (path.split('/').includes('..')) fail(field, 'invalid sysctl name');
  const ipc = /^(kernel\/(msg|sem|shm)|fs\/mqueue\/)/.test(path);
  if (ipc && !ns.has('ipc')) fail(field, 'this sysctl needs an ipc namespace');
  if (path.startsWith('net/') && !ns.has('network')) fail(field, 'this sysctl needs a network namespace');
  if (/^kernel\/(hostname|domainname)$/.test(path) && !ns.has('uts')) fail(field, 'this sysctl needs a uts namespace');
  return { path, value, field };
}

function personality(p: { domain: string; flags?: string[] } | undefined): number | undefined {
  if (!p) return undefined;
  if (p.domain === 'LINUX') return 0;
  if (p.domain === 'LINUX32') return 0x0008;
  return fail('linux.personality.domain', `unsupported domain ${p.domain}`);
}

let lastCap: number | undefined;
function capLast(): number {
  if (lastCap === undefined) {
    try {
      lastCap = Number(readKernelFile('/proc/sys/kernel/cap_last_cap'));
    } catch {
      lastCap = CAPS.length - 1;
    }
  }
  return lastCap;
}

// The capabilities berth itself may hold: no process it starts can get one outside
// its bounding set (the container's init inherits it, in a new user namespace too).
let ownBounding: bigint | undefined;
function capBounding(): bigint {
  if (ownBounding === undefined) {
    const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(readKernelFile('/proc/self/status'));
    ownBounding = m ? BigInt('0x' + m[1]) : (1n << BigInt(capLast() + 1)) - 1n;
  }
  return ownBounding;
}

// config.md: a capability that "cannot be mapped to a relevant kernel interface, or
// cannot be granted otherwise MUST be logged as a warning"; runtimes "SHOULD NOT
// fail". Unknown names and capabilities outside berth's own bounding set are left
// out of every set, with one warning.
export function capSets(c: NonNullable<NonNullable<Spec['process']>['capabilities']>): NonNullable<Plan['caps']> {
  const unknown = new Set<string>();
  const bits = (names: string[] | undefined): bigint => {
    let v = 0n;
    for (const n of names ?? []) {
      const i = CAPS.indexOf(n as (typeof CAPS)[number]);
      if (i < 0 || i > capLast() || !(capBounding() & (1n << BigInt(i)))) unknown.add(n);
      else v |= 1n << BigInt(i);
    }
    return v;
  };
  const r = {
    bounding: bits(c.bounding), effective: bits(c.effective), permitted: bits(c.permitted),
    inheritable: bits(c.inheritable), ambient: bits(c.ambient),
  };
  if (unknown.size) logWarnQuietly(`ignoring unknown or unavailable capabilities: ${[...unknown].join(', ')}`);
  // The kernel raises an ambient capability only if it is permitted and inheritable;
  // others cannot be granted. runc leaves them out silently, and `runc spec`'s
  // default config asks for three such: a debug line, not output on stderr that
  // tools would take for the container's.
  const ambient = r.ambient & r.permitted & r.inheritable;
  if (ambient !== r.ambient) {
    const lost = CAPS.filter((_, i) => (r.ambient & ~ambient) & (1n << BigInt(i)));
    logDebug(`ambient capabilities need to be permitted and inheritable too; ignoring ${lost.join(', ')}`);
    r.ambient = ambient;
  }
  return r;
}

function hooks(list: Hook[] | undefined, kind: number, name: string): PlanHook[] {
  return (list ?? []).map((h, i) => ({
    kind, timeout: h.timeout ?? 0, path: h.path, args: h.args ?? [], env: h.env ?? [], field: `${name}[${i}] (${h.path})`,
  }));
}


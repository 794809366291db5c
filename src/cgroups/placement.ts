// The container's cgroup directories (its placement) with cgroupfs: planned, made,
// limited, joined, listed, killed and removed. Policy (which files get which values)
// lives here; on hybrid hosts every v1 hierarchy and the unified one get the
// container, as runc does.
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { BerthError, errnoText } from '../errors';
import type { Hierarchy } from './hierarchies';
import { dirFor, hierarchies, isUnified } from './hierarchies';
import { native } from '../native/addon';
import { applyResourceWrites, planResourceWrites } from './resources';
import type { LinuxResources, Spec } from '../spec/types';
import { sleepSync } from '../sleep';
import { readKernelFile } from '../state/proc';
import { DEFAULT_DEVICES } from '../plan/tables';

export interface DeviceRule { allow: boolean; type?: string; major?: number; minor?: number; access?: string }

export type Limits = Omit<LinuxResources, 'devices'> & { devices?: DeviceRule[] };

// What every container may use besides the config's rules (runc appends the same):
// mknod of anything, the default devices berth creates, /dev/console, /dev/ptmx and ptys.
export const DEFAULT_ALLOWED_DEVICES: DeviceRule[] = [
  { allow: true, type: 'c', access: 'm' }, { allow: true, type: 'b', access: 'm' },
  ...[...DEFAULT_DEVICES, { major: 5, minor: 1 }, { major: 5, minor: 2 }].map(({ major, minor }) => ({ allow: true, type: 'c', major, minor, access: 'rwm' })),
  { allow: true, type: 'c', major: 136, access: 'rwm' },
];

export { deviceRuleText } from './resources';

export interface Placement {
  dirs: string[];
  made: string[];
  /** berth's own parents (the /berth of the default path): removed when empty, whoever made them. */
  shared?: string[];
  freezer?: string;
  unified?: string;
  /** The systemd unit holding the cgroup (the systemd driver, ./systemd/manager.ts); user: the user's own systemd's. */
  systemd?: { unit: string; slice: string; user?: boolean };
}

/** Where the container's cgroups will be, and which directories creating them makes.
 * Saved before anything is made, so a killed create leaves nothing unknown. */
export function planCgroups(cgroupPath: string): Placement {
  const hs = hierarchies();
  const out: Placement = { dirs: [], made: [] };
  for (const h of hs) {
    const dir = dirFor(h, cgroupPath);
    // On hybrid hosts the unified hierarchy gets the container too (as in runc).
    out.dirs.push(dir);
    for (let d = dir; d !== h.mountpoint && d.startsWith(h.mountpoint) && !existsSync(d); d = dirname(d)) out.made.push(d);
    if (h.controllers.includes('freezer')) out.freezer = dir;
    if (h.version === 2) out.unified = dir;
  }
  return out;
}

/** Makes the planned cgroup directories. */
export function makeCgroups(p: Placement): void {
  const hs = hierarchies();
  for (const h of hs) {
    const dir = p.dirs.find((d) => d === h.mountpoint || d.startsWith(h.mountpoint + '/'));
    if (!dir) continue;
    for (let i = 0; ; i++) {
      try {
        mkdirs(h, dir, p.made);
        break;
      } catch (e) {
        // Another container's delete may remove a shared parent (/berth) between our
        // check and our mkdir: make it again.
        if ((e as NodeJS.ErrnoException).code === 'ENOENT' && i < 5) continue;
        throw new BerthError(`creating cgroup ${dir} (linux.cgroupsPath): ${errnoText(e)}`);
      }
    }
  }
}

/** dir and its parents; missing: those the plan found missing, made parents first
 * (each mkdir refused for want of a parent costs an exception). */
function mkdirs(h: Hierarchy, dir: string, missing: string[]): void {
  if (!dir.startsWith(h.mountpoint + '/')) return;
  const cpuset = h.controllers.includes('cpuset');
  // A cpuset dir that exists may be one another container's create has just made
  // and not yet filled (a shared parent such as /berth): check it too, as runc does.
  if (cpuset || missing.includes(dirname(dir))) mkdirs(h, dirname(dir), missing);
  try {
    mkdirSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // Elsewhere the mkdir itself says whether the parents are there (one removed
    // since the plan, by the last other container's delete): no check before it.
    if (code === 'ENOENT' && !cpuset) {
      mkdirs(h, dirname(dir), missing);
      try {
        mkdirSync(dir);
      } catch (e2) {
        if ((e2 as NodeJS.ErrnoException).code !== 'EEXIST') throw e2; // ENOENT again: makeCgroups retries
      }
    } else if (code !== 'EEXIST') throw e;
  }
  // A new v1 cpuset has no cpus or mems: no task could join it. Inherit the parent's.
  if (cpuset) {
    for (const f of ['cpuset.cpus', 'cpuset.mems']) {
      if (readKernelFile(join(dir, f)).trim() === '') writeFileSync(join(dir, f), readKernelFile(join(dirname(dir), f)));
    }
  }
}

/** Applies linux.resources (with device rules) where the host has the controllers. */
export function applyLimits(p: Placement, limits: Limits | undefined): void {
  if (!limits) return;
  const hs = hierarchies();
  applyResourceWrites(hs, planResourceWrites(hs, p.dirs, limits as LinuxResources));
  // cgroup v2 has no devices files: the rules become an eBPF program.
  if (limits.devices && isUnified(hs) && p.unified) {
    const { deviceFilterProgram } = require('./devices-bpf') as typeof import('./devices-bpf');
    try {
      native().attachDeviceFilter(p.unified, deviceFilterProgram(limits.devices));
    } catch (e) {
      throw new BerthError(`setting linux.resources.devices (eBPF device filter on ${p.unified}): ${(e as Error).message}`);
    }
  }
}

/**
 * The cgroups of a process exec'd without --cgroup: the container's, but in the
 * unified hierarchy a cgroup that enables controllers for its sub-cgroups (systemd
 * in the container did) may hold no process (EBUSY); then, as runc, the init's own
 * cgroup, when that is below the container's.
 */
export function execDefaultCgroups(p: Placement, initPid: number): Placement {
  const dir = p.unified;
  if (!dir) return p;
  try {
    // The common case decided before the hierarchies are read (mountinfo: ~1 ms).
    if (!readKernelFile(join(dir, 'cgroup.subtree_control')).trim()) return p;
    const h = hierarchies().find((x) => x.version === 2);
    if (!h) return p;
    const line = readKernelFile(`/proc/${initPid}/cgroup`).split('\n').find((l) => l.startsWith('0::'));
    const leaf = line && dirFor(h, line.slice(3));
    if (!leaf || !leaf.startsWith(`${dir}/`)) return p;
    return { ...p, dirs: p.dirs.map((d) => (d === dir ? leaf : d)), made: [], unified: leaf };
  } catch {
    return p; // gone meanwhile: the exec fails on its own
  }
}

/**
 * The cgroups of a process exec'd with --cgroup (runc 1.1): an existing sub-cgroup
 * of the container's, as PATH (alone: in every hierarchy) or
 * CONTROLLER[,CONTROLLER]:PATH (in those controllers' v1 hierarchies; the others
 * stay the container's). A path is taken below the container's cgroup ("/" is
 * the cgroup itself) and may not leave it.
 */
export function execCgroups(p: Placement, args: string[]): Placement {
  if (!args.length) return p;
  const hs = hierarchies();
  const sub = new Map<string, { path: string; arg: string }>();
  for (const arg of args) {
    const colon = arg.indexOf(':');
    if (colon < 0) {
      if (args.length > 1) throw new BerthError(`exec --cgroup ${arg}: a path without CONTROLLER: must be the only --cgroup`);
      for (const d of p.dirs) sub.set(d, { path: arg, arg });
      continue;
    }
    const path = arg.slice(colon + 1);
    for (const ctl of arg.slice(0, colon).split(',')) {
      const h = hs.find((x) => x.version === 1 && x.controllers.includes(ctl));
      if (!h) throw new BerthError(`exec --cgroup ${arg}: no cgroup v1 hierarchy has the controller "${ctl}"${isUnified(hs) ? ' (on cgroup v2, give the path alone)' : ''}`);
      const dir = p.dirs.find((d) => d === h.mountpoint || d.startsWith(h.mountpoint + '/'));
      if (!dir) throw new BerthError(`exec --cgroup ${arg}: the container has no cgroup in the hierarchy of "${ctl}"`);
      if (sub.has(dir) && sub.get(dir)!.path !== path) throw new BerthError(`exec --cgroup ${arg}: ${dir} is already given another path (${sub.get(dir)!.arg})`);
      sub.set(dir, { path, arg });
    }
  }
  const to = new Map<string, string>();
  for (const [dir, { path, arg }] of sub) {
    const target = posix.join(dir, path);
    if (target !== dir && !target.startsWith(dir + '/')) throw new BerthError(`exec --cgroup ${arg}: ${path} is not below the container's cgroup ${dir}`);
    if (!existsSync(join(target, 'cgroup.procs'))) throw new BerthError(`exec --cgroup ${arg}: no such sub-cgroup ${target} (it must exist)`);
    to.set(dir, target);
  }
  const map = (d: string | undefined) => (d === undefined ? d : (to.get(d) ?? d));
  return { dirs: p.dirs.map((d) => map(d)!), made: [], freezer: map(p.freezer), unified: map(p.unified) };
}

/** Moves a process into all the container's cgroups (field: where they come from, for errors). */
export function joinCgroups(p: Placement, pid: number, field = 'linux.cgroupsPath'): void {
  for (const dir of p.dirs) {
    try {
      writeFileSync(join(dir, 'cgroup.procs'), String(pid));
    } catch (e) {
      throw new BerthError(`joining cgroup ${dir} (${field}): ${errnoText(e)}`);
    }
  }
}

/** The cgroups below dir, deepest first: sub-cgroups the container made itself. */
function descendants(dir: string): string[] {
  const out: string[] = [];
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return out; // gone already
  }
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const d = join(dir, e.name);
    out.push(...descendants(d), d);
  }
  return out;
}

/** Every process in the container's cgroups, sub-cgroups included (as runc's GetAllPids). */
export function cgroupPids(p: Placement): number[] {
  const pids = new Set<number>();
  for (const dir of p.dirs) {
    for (const d of [dir, ...descendants(dir)]) {
      try {
        for (const l of readKernelFile(join(d, 'cgroup.procs')).split('\n')) if (l) pids.add(Number(l));
      } catch {
        // gone already
      }
    }
  }
  return [...pids];
}

function tryWrite(path: string, value: string): boolean {
  try {
    writeFileSync(path, value);
    return true;
  } catch {
    return false; // gone, or a kernel without the file
  }
}

/**
 * SIGKILL to every process in the container's cgroups and their sub-cgroups, so
 * that no fork escapes: cgroup.kill (Linux 5.14) kills the unified subtree at
 * once; otherwise the freezer holds them (the v1 freezer, or cgroup.freeze)
 * while each is killed. Then everything is thawed, sub-cgroups the container
 * froze itself too: v1 frozen tasks die only once thawed. One whose freezer
 * stays frozen (a frozen parent) is moved to the hierarchy's root, which thaws it.
 */
export function killCgroups(p: Placement): void {
  const killed = !!p.unified && tryWrite(join(p.unified, 'cgroup.kill'), '1');
  const v2Freeze = !killed && !p.freezer && !!p.unified;
  if (p.freezer) tryWrite(join(p.freezer, 'freezer.state'), 'FROZEN');
  if (v2Freeze) tryWrite(join(p.unified!, 'cgroup.freeze'), '1');
  const pids = cgroupPids(p);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  if (p.freezer) {
    for (const d of [p.freezer, ...descendants(p.freezer)].reverse()) tryWrite(join(d, 'freezer.state'), 'THAWED');
    let state = '';
    try {
      state = readKernelFile(join(p.freezer, 'freezer.state')).trim();
    } catch {
      // gone
    }
    const root = hierarchies().find((h) => h.controllers.includes('freezer'))?.mountpoint;
    if (state && state !== 'THAWED' && root) {
      for (const pid of cgroupPids({ dirs: [p.freezer], made: [] })) tryWrite(join(root, 'cgroup.procs'), String(pid));
    }
  }
  if (v2Freeze) for (const d of [p.unified!, ...descendants(p.unified!)]) tryWrite(join(d, 'cgroup.freeze'), '0');
}

/**
 * Removes the container's sub-cgroups (whoever made them, as runc) and the
 * directories berth made, deepest first; busy ones are retried briefly.
 */
export function removeCgroups(p: Placement): void {
  removeAll(p, true);
}

/**
 * The same removal with no wait and no kill, for a container whose init has ended:
 * true when every cgroup was removed, so none held a process (the kernel refuses
 * to rmdir a populated cgroup, atomically), false at the first busy one (or a
 * cgroup berth did not make, which it would not remove): then the caller kills.
 */
export function removeCgroupsIfEmpty(p: Placement): boolean {
  return p.dirs.every((d) => p.made.includes(d)) && removeAll(p, false);
}

function removeAll(p: Placement, waitBusy: boolean): boolean {
  const removed = new Set<string>();
  for (const dir of p.dirs) {
    const r = removeSubCgroups(dir, p.made.includes(dir), waitBusy);
    if (!r) return false;
    if (r === 'removed') removed.add(dir);
  }
  // Then what else berth made (parents), and the shared ones, deepest first; not
  // the container's own again (each a failed rmdir, and an exception, in delete).
  const dirs = [...new Set([...p.made, ...(p.shared ?? [])])].filter((d) => !removed.has(d)).sort((a, b) => b.length - a.length);
  for (const dir of dirs) if (!removeDir(dir, p.dirs.includes(dir), waitBusy)) return false;
  return true;
}

/** dir's sub-cgroups, deepest first; one of berth's own goes with them ('removed'). It is tried
 * first with one rmdir, which the kernel refuses (EBUSY) while it has sub-cgroups or
 * processes: only then are its entries read (a readdir of a v1 cgroup lists dozens
 * of files, and a container has one per hierarchy). */
function removeSubCgroups(dir: string, own: boolean, waitBusy: boolean): boolean | 'removed' {
  if (own) {
    try {
      rmdirSync(dir);
      return 'removed';
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'removed';
    }
  }
  for (const d of descendants(dir)) if (!removeDir(d, true, waitBusy)) return false;
  return true;
}

/** A cgroup and its sub-cgroups, deepest first (a unit's cgroup systemd did not remove). */
export function removeCgroupTree(dir: string): void {
  for (const d of descendants(dir)) removeDir(d, true, true);
  removeDir(dir, true, true);
}

/** rmdir; a cgroup of the container's own that is still busy (its last processes
 * exiting) is retried if waitBusy, else false is returned. */
function removeDir(dir: string, own: boolean, waitBusy: boolean): boolean {
  for (let i = 0; ; i++) {
    try {
      rmdirSync(dir);
      return true;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return true;
      // A parent shared with another container stays, and one this user may not remove.
      if (code === 'ENOTEMPTY' || (!own && (code === 'EBUSY' || code === 'EACCES' || code === 'EPERM'))) return true;
      if (!waitBusy) return false; // busy, or unexpected: the caller's kill and destroy() follow
      if (code === 'EBUSY' && i < 200) {
        sleepSync(10);
        continue;
      }
      throw new BerthError(`removing cgroup ${dir}: ${errnoText(e)}`);
    }
  }
}

/**
 * The host uid that gets the container's cgroup2 directory, as runc's OwnerUID: on
 * a pure v2 host, a container with user and cgroup namespaces of its own and
 * /sys/fs/cgroup mounted read-write is delegated its cgroup (systemd or another
 * manager inside may then make sub-cgroups), owned by the host id of the process's
 * user. Otherwise undefined: the cgroup stays root's.
 */
export function cgroupOwner(spec: Spec, hs: Hierarchy[]): number | undefined {
  const namespaces = spec.linux?.namespaces ?? [];
  const own = (type: string) => namespaces.some((n) => n.type === type && !n.path);
  if (!isUnified(hs) || !own('user') || !own('cgroup')) return undefined;
  const rw = (spec.mounts ?? []).some((m) => m.type === 'cgroup' && posix.normalize(m.destination).replace(/\/+$/, '') === '/sys/fs/cgroup' && !(m.options ?? []).includes('ro'));
  if (!rw) return undefined;
  const uid = spec.process?.user?.uid ?? 0;
  const m = (spec.linux?.uidMappings ?? []).find((x) => uid >= x.containerID && uid < x.containerID + x.size);
  return m && m.hostID + (uid - m.containerID);
}

/** Hands dir to uid: the directory and the files a delegatee writes (the kernel lists them in /sys/kernel/cgroup/delegate). */
export function delegateCgroup(dir: string, uid: number): void {
  let files = ['cgroup.procs', 'cgroup.subtree_control', 'cgroup.threads'];
  try {
    files = readFileSync('/sys/kernel/cgroup/delegate', 'latin1').split('\n').filter(Boolean);
  } catch {
    // before Linux 5.x's list: cgroup-v2.rst's three files
  }
  for (const path of [dir, ...files.map((f) => join(dir, f))]) {
    try {
      chownSync(path, uid, -1);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' && path !== dir) continue;
      throw new BerthError(`delegating the container's cgroup to its user (linux.cgroupsPath, a read-write /sys/fs/cgroup with user and cgroup namespaces): chown ${path} to ${uid}: ${errnoText(e)}`);
    }
  }
}

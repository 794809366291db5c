// Placing a container in its cgroups and applying limits. Policy (which files get
// which values) lives here; on hybrid hosts every v1 hierarchy and the unified one
// get the container, as runc does.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { BerthError, errnoText } from '../errors';
import type { Hierarchy } from './hierarchies';
import { dirFor, hierarchies, isUnified } from './hierarchies';
import { native } from '../native/addon';
import { applyResourceWrites, planResourceWrites } from './resources';
import type { LinuxResources } from '../spec/types';
import { sleepSync } from '../sleep';

export interface DeviceRule { allow: boolean; type?: string; major?: number; minor?: number; access?: string }

export type Limits = Omit<LinuxResources, 'devices'> & { devices?: DeviceRule[] };

// What every container may use besides the config's rules (runc appends the same):
// mknod of anything, and the default devices berth creates plus ptys and console.
export const DEFAULT_ALLOWED_DEVICES: DeviceRule[] = [
  { allow: true, type: 'c', access: 'm' }, { allow: true, type: 'b', access: 'm' },
  ...([[1, 3], [1, 5], [1, 7], [1, 8], [1, 9], [5, 0], [5, 1], [5, 2]] as const).map(([major, minor]) => ({ allow: true, type: 'c', major, minor, access: 'rwm' })),
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
        mkdirs(h, dir);
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

function mkdirs(h: Hierarchy, dir: string): void {
  if (!dir.startsWith(h.mountpoint + '/')) return;
  const cpuset = h.controllers.includes('cpuset');
  // A cpuset dir that exists may be one another container's create has just made
  // and not yet filled (a shared parent such as /berth): check it too, as runc does.
  if (existsSync(dir) && !cpuset) return;
  mkdirs(h, dirname(dir));
  try {
    mkdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  // A new v1 cpuset has no cpus or mems: no task could join it. Inherit the parent's.
  if (cpuset) {
    for (const f of ['cpuset.cpus', 'cpuset.mems']) {
      if (readFileSync(join(dir, f), 'latin1').trim() === '') writeFileSync(join(dir, f), readFileSync(join(dirname(dir), f)));
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

/** Moves a process into all the container's cgroups. */
export function joinCgroups(p: Placement, pid: number): void {
  for (const dir of p.dirs) {
    try {
      writeFileSync(join(dir, 'cgroup.procs'), String(pid));
    } catch (e) {
      throw new BerthError(`joining cgroup ${dir} (linux.cgroupsPath): ${errnoText(e)}`);
    }
  }
}

export function cgroupPids(p: Placement): number[] {
  const pids = new Set<number>();
  for (const dir of p.dirs) {
    try {
      for (const l of readFileSync(join(dir, 'cgroup.procs'), 'latin1').split('\n')) if (l) pids.add(Number(l));
    } catch {
      // gone already
    }
  }
  return [...pids];
}

/** Removes the directories berth made, deepest first; busy ones are retried briefly. */
export function removeCgroups(p: Placement): void {
  const dirs = [...new Set([...p.made, ...(p.shared ?? [])])].sort((a, b) => b.length - a.length);
  for (const dir of dirs) {
    for (let i = 0; ; i++) {
      try {
        rmdirSync(dir);
        break;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') break;
        // A parent shared with another container stays.
        if (code === 'ENOTEMPTY' || (code === 'EBUSY' && !p.dirs.includes(dir))) break;
        if (code === 'EBUSY' && i < 200) {
          sleepSync(10);
          continue;
        }
        throw new BerthError(`removing cgroup ${dir}: ${errnoText(e)}`);
      }
    }
  }
}

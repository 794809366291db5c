// Placing a container in its cgroups and applying limits. Policy (which files get
// which values) lives here; on hybrid hosts every v1 hierarchy and the unified one
// get the container, as runc does.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { BerthError, errnoText } from '../errors';
import type { Hierarchy } from './hierarchies';
import { dirFor, hierarchies, isUnified } from './hierarchies';
import { sleepSync } from '../sleep';

export interface DeviceRule { allow: boolean; type?: string; major?: number; minor?: number; access?: string }

export interface Limits {
  memory?: { limit?: number; reservation?: number; swap?: number };
  pids?: { limit?: number };
  devices?: DeviceRule[];
}

// What every container may use besides the config's rules (runc appends the same):
// mknod of anything, and the default devices berth creates plus ptys and console.
export const DEFAULT_ALLOWED_DEVICES: DeviceRule[] = [
  { allow: true, type: 'c', access: 'm' }, { allow: true, type: 'b', access: 'm' },
  ...([[1, 3], [1, 5], [1, 7], [1, 8], [1, 9], [5, 0], [5, 1], [5, 2]] as const).map(([major, minor]) => ({ allow: true, type: 'c', major, minor, access: 'rwm' })),
  { allow: true, type: 'c', major: 136, access: 'rwm' },
];

/** A rule as the v1 devices controller takes it: "c 1:3 rwm". */
export function deviceRuleText(r: DeviceRule): string {
  const num = (n: number | undefined) => (n === undefined || n < 0 ? '*' : String(n));
  return `${r.type ?? 'a'} ${num(r.major)}:${num(r.minor)} ${r.access || 'rwm'}`;
}

export interface Placement {
  dirs: string[];
  made: string[];
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
    try {
      mkdirs(h, dir);
    } catch (e) {
      throw new BerthError(`creating cgroup ${dir} (linux.cgroupsPath): ${errnoText(e)}`);
    }
  }
}

function mkdirs(h: Hierarchy, dir: string): void {
  if (existsSync(dir)) return;
  if (dir !== h.mountpoint) mkdirs(h, dirname(dir));
  try {
    mkdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  // A new v1 cpuset has no cpus or mems: no task could join it. Inherit the parent's.
  if (h.controllers.includes('cpuset')) {
    for (const f of ['cpuset.cpus', 'cpuset.mems']) {
      if (readFileSync(join(dir, f), 'latin1').trim() === '') writeFileSync(join(dir, f), readFileSync(join(dirname(dir), f)));
    }
  }
}

function write(dir: string, file: string, value: string | number, field: string): void {
  try {
    writeFileSync(join(dir, file), String(value));
  } catch (e) {
    throw new BerthError(`setting ${field} (${join(dir, file)} = ${value}): ${errnoText(e)}`);
  }
}

/** Applies memory and pids limits where the host has those controllers. */
export function applyLimits(p: Placement, limits: Limits | undefined): void {
  if (!limits) return;
  const hs = hierarchies();
  const unified = isUnified(hs);
  for (const h of hs) {
    const dir = p.dirs.find((d) => d === h.mountpoint || d.startsWith(h.mountpoint + '/'));
    if (!dir) continue;
    if (h.version === 1) {
      const m = limits.memory;
      if (m && h.controllers.includes('memory')) {
        if (m.limit !== undefined) write(dir, 'memory.limit_in_bytes', m.limit, 'linux.resources.memory.limit');
        if (m.reservation !== undefined) write(dir, 'memory.soft_limit_in_bytes', m.reservation, 'linux.resources.memory.reservation');
        if (m.swap !== undefined && existsSync(join(dir, 'memory.memsw.limit_in_bytes')))
          write(dir, 'memory.memsw.limit_in_bytes', m.swap, 'linux.resources.memory.swap');
      }
      if (limits.pids?.limit !== undefined && h.controllers.includes('pids'))
        write(dir, 'pids.max', limits.pids.limit <= 0 ? 'max' : limits.pids.limit, 'linux.resources.pids.limit');
      // Rules apply in the listed order, each as an allow or a deny.
      if (limits.devices && h.controllers.includes('devices'))
        limits.devices.forEach((r, i) =>
          write(dir, r.allow ? 'devices.allow' : 'devices.deny', deviceRuleText(r), `linux.resources.devices[${i}]`));
    } else if (unified) {
      const m = limits.memory;
      enableControllers(h, dir, [m ? 'memory' : '', limits.pids ? 'pids' : ''].filter(Boolean));
      if (m?.limit !== undefined) write(dir, 'memory.max', m.limit < 0 ? 'max' : m.limit, 'linux.resources.memory.limit');
      if (m?.reservation !== undefined) write(dir, 'memory.low', m.reservation, 'linux.resources.memory.reservation');
      if (m?.swap !== undefined && m.limit !== undefined && existsSync(join(dir, 'memory.swap.max')))
        // v1 swap counts memory+swap; v2 swap.max counts swap alone.
        write(dir, 'memory.swap.max', m.swap < 0 ? 'max' : Math.max(0, m.swap - m.limit), 'linux.resources.memory.swap');
      if (limits.pids?.limit !== undefined) write(dir, 'pids.max', limits.pids.limit <= 0 ? 'max' : limits.pids.limit, 'linux.resources.pids.limit');
    }
  }
}

function enableControllers(h: Hierarchy, dir: string, wanted: string[]): void {
  if (!wanted.length) return;
  const chain: string[] = [];
  for (let d = dirname(dir); d.startsWith(h.mountpoint); d = dirname(d)) {
    chain.unshift(d);
    if (d === h.mountpoint) break;
  }
  for (const d of chain) {
    const have = readFileSync(join(d, 'cgroup.subtree_control'), 'latin1');
    const missing = wanted.filter((c) => !have.split(/\s+/).includes(c));
    if (missing.length) write(d, 'cgroup.subtree_control', missing.map((c) => '+' + c).join(' '), 'linux.resources');
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
  const dirs = [...new Set([...p.made])].sort((a, b) => b.length - a.length);
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

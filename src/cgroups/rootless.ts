// Cgroups when berth cannot count on managing them: run by a user without root,
// or as root in a user namespace (rootless podman), as runc's rootless cgroup
// manager. A hierarchy where the container's cgroup can be made and joined (a
// subtree delegated to the user: chowned to it, as systemd's Delegate= does) is
// used as any other; the others are left out, and the container runs without
// them, unless the config asks for their limits or names a cgroupsPath: then
// create fails and says so (runc: "rootless needs no limits + no cgrouppath when
// no permission is granted for cgroups").
import { accessSync, constants as C, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { BerthError } from '../errors';
import type { LinuxResources } from '../spec/types';
import type { Placement } from './placement';
import { dirFor, type Hierarchy, hierarchies } from './hierarchies';
import { planResourceWrites } from './resources';

/** Where a container without a cgroupsPath goes: below berth's own cgroup (as runc). */
export const rootlessCgroupPath = (id: string): string => id;

function writable(path: string): boolean {
  try {
    accessSync(path, C.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** The longest common ancestor of two directories. */
function commonAncestor(a: string, b: string): string {
  const x = a.split('/'), y = b.split('/');
  let i = 0;
  while (i < x.length && i < y.length && x[i] === y[i]) i++;
  return x.slice(0, i).join('/') || '/';
}

/**
 * Whether berth can make dir (or use it, when it is there) and move processes into
 * it. cgroup2 also wants the writer to own the cgroup.procs of the common ancestor
 * of the process's cgroup and the target (the delegation containment rule).
 */
function usable(h: Hierarchy, dir: string): boolean {
  let there = dir;
  while (!existsSync(there)) there = dirname(there);
  if (!writable(there === dir ? join(dir, 'cgroup.procs') : there)) return false;
  return h.version === 1 || writable(join(commonAncestor(dirFor(h, h.own), dir), 'cgroup.procs'));
}

/**
 * Leaves out of p (changed in place) the hierarchies berth cannot use; throws when
 * the config needs one of them. Device rules are never applied without root
 * (runc ignores them; the user namespace keeps the container from making device
 * nodes anyway): the resources to apply come back without them.
 */
export function rootlessPlacement(p: Placement, resources: LinuxResources | undefined, explicitPath: boolean): LinuxResources | undefined {
  const hs = hierarchies();
  const dropped: string[] = [];
  for (const dir of p.dirs) {
    const h = hs.find((x) => dir === x.mountpoint || dir.startsWith(x.mountpoint + '/'));
    if (h && !usable(h, dir)) dropped.push(dir);
  }
  const limits = resources && { ...resources, devices: undefined };
  if (dropped.length) {
    const why = `berth runs without root privileges over cgroups (rootless) and cannot make or join the cgroup ${dropped[0]} (permission denied)`;
    if (explicitPath) throw new BerthError(`linux.cgroupsPath: ${why}; leave cgroupsPath out to run without cgroups, or delegate the cgroup to the user`);
    const needed = limits ? planResourceWrites(hs, dropped, limits) : [];
    if (needed.length) {
      const w = needed[0];
      throw new BerthError(`${w.field}: cannot set this limit: ${why.replace(dropped[0], w.dir)}; without root, limits need a cgroup delegated to the user`);
    }
  }
  const kept = (d: string | undefined) => (d !== undefined && !dropped.includes(d) ? d : undefined);
  p.dirs = p.dirs.filter((d) => kept(d));
  p.made = p.made.filter((m) => !dropped.some((d) => d === m || d.startsWith(m + '/')));
  p.freezer = kept(p.freezer);
  p.unified = kept(p.unified);
  return limits;
}

/**
 * Throws when r sets limits in a hierarchy where the container has no cgroup (one
 * berth could not make without root), as runc: "cannot set memory limit: container
 * could not join or create cgroup".
 */
export function checkLimitsHaveCgroups(dirs: string[], r: LinuxResources): void {
  const hs = hierarchies();
  const missing = hs.filter((h) => !dirs.some((d) => d === h.mountpoint || d.startsWith(h.mountpoint + '/'))).map((h) => join(h.mountpoint, '(none)'));
  const needed = missing.length ? planResourceWrites(hs, missing, { ...r, devices: undefined }, { forUpdate: true }) : [];
  if (needed.length)
    throw new BerthError(`${needed[0].field}: cannot set this limit: the container has no cgroup in ${dirname(needed[0].dir)} (berth could not make one without root)`);
}

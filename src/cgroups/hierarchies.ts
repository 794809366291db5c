// The cgroup hierarchies of this host, read from /proc/self/mountinfo every time
// (hierarchies can be mounted while berth runs; no list is hard-coded), and where
// berth itself sits in each (/proc/self/cgroup).
import { readKernelFile } from '../state/proc';
import { join, posix } from 'node:path';

export interface Hierarchy {
  version: 1 | 2;
  mountpoint: string;
  /** The cgroup path the mount shows at its mountpoint. */
  mountRoot: string;
  /** v1: the controllers (and name=...) of the hierarchy, e.g. ['cpu', 'cpuacct']. */
  controllers: string[];
  /** berth's own cgroup in this hierarchy. */
  own: string;
}

function unescape(s: string): string {
  return s.includes('\\') ? s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))) : s;
}

/** Options of a v1 cgroup mount that name no controller. */
const NOT_CONTROLLERS = new Set(['rw', 'ro', 'relatime', 'noatime', 'nosuid', 'nodev', 'noexec', 'xattr', 'clone_children', 'noprefix', 'cpuset_v2_mode']);

let cached: Hierarchy[] | undefined;

/** The hierarchies as they are when a command first asks (one read per run). */
export function hierarchies(): Hierarchy[] {
  return (cached ??= readHierarchies());
}

// Plain string work: this runs on every create, once, cold.
function readHierarchies(): Hierarchy[] {
  // berth's own cgroup in each hierarchy ("ID:CONTROLLERS:PATH"), by its controllers sorted ('' on cgroup2).
  const own = new Map<string, string>();
  for (const line of readKernelFile('/proc/self/cgroup').split('\n')) {
    const a = line.indexOf(':');
    const b = line.indexOf(':', a + 1);
    if (a > 0 && b > 0) own.set(line.slice(a + 1, b).split(',').sort().join(','), line.slice(b + 1));
  }
  const out: Hierarchy[] = [];
  const seen = new Set<string>();
  for (const line of readKernelFile('/proc/self/mountinfo').split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const [fstype, , superOpts] = line.slice(sep + 3).split(' ');
    if (fstype !== 'cgroup' && fstype !== 'cgroup2') continue;
    const f = line.slice(0, sep).split(' ');
    const mountRoot = unescape(f[3]);
    const mountpoint = unescape(f[4]);
    if (fstype === 'cgroup2') {
      if (seen.has('unified')) continue;
      seen.add('unified');
      out.push({ version: 2, mountpoint, mountRoot, controllers: [], own: own.get('') ?? '/' });
    } else {
      const controllers = superOpts.split(',').filter((o) => !NOT_CONTROLLERS.has(o) && !o.startsWith('release_agent='));
      const key = controllers.slice().sort().join(',');
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ version: 1, mountpoint, mountRoot, controllers, own: own.get(key) ?? '/' });
    }
  }
  return out;
}

/** Pure v2 host: the unified hierarchy is the only one. */
export function isUnified(hs: Hierarchy[]): boolean {
  return hs.length > 0 && hs.every((h) => h.version === 2);
}

/** The directory in a hierarchy for a cgroup path (absolute, or relative to berth's own). */
export function dirFor(h: Hierarchy, cgroupPath: string): string {
  const abs = cgroupPath.startsWith('/') ? cgroupPath : posix.join(h.own, cgroupPath);
  const rel = abs === h.mountRoot || abs.startsWith(h.mountRoot === '/' ? '/' : h.mountRoot + '/')
    ? posix.relative(h.mountRoot, abs)
    : abs.replace(/^\/+/, '');
  return join(h.mountpoint, rel);
}

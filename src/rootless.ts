// berth run by a user without root ("rootless", as runc names it): where its state
// goes, what a config must have, and who writes the container's id maps. berth
// has no setuid helper of its own: mappings of more than the user's own id are
// written by Debian's newuidmap/newgidmap (package uidmap) from the ranges in
// /etc/subuid and /etc/subgid, as runc has them written. Cgroups: ./cgroups/rootless.ts.
import { accessSync, chmodSync, constants as C, mkdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { BerthError } from './errors';
import type { Spec } from './spec/types';
import { readKernelFile } from './state/proc';

/** berth runs with an effective uid other than 0 (runc's RootlessEUID). */
export function rootlessEuid(): boolean {
  return process.geteuid!() !== 0;
}

let inUserns: boolean | undefined;
/** berth runs in a user namespace other than the initial one (as under rootless podman, as its root). */
export function runningInUserns(): boolean {
  if (inUserns === undefined) {
    try {
      inUserns = !/^\s*0\s+0\s+4294967295\s*$/.test(readKernelFile('/proc/self/uid_map'));
    } catch {
      inUserns = false;
    }
  }
  return inUserns;
}

let cgroupsFlag: 'auto' | 'true' | 'false' = 'auto';
/** The global --rootless flag, as runc's: whether cgroup permission errors are borne ('auto': decided below). */
export function setRootlessCgroups(flag: 'auto' | 'true' | 'false' | undefined): void {
  cgroupsFlag = flag ?? 'auto';
}

/** berth cannot count on managing cgroups (runc's rootless cgroup manager rule), unless --rootless says. */
export function rootlessCgroups(): boolean {
  if (cgroupsFlag !== 'auto') return cgroupsFlag === 'true';
  return rootlessEuid() || runningInUserns();
}

/**
 * The default --root: $XDG_RUNTIME_DIR/berth for a user without root, and for root
 * in a user namespace other than a "root" user's (runc's shouldHonorXDGRuntimeDir);
 * /run/berth otherwise.
 */
export function defaultRoot(): string {
  const xdg = process.env.XDG_RUNTIME_DIR;
  if (xdg && (rootlessEuid() || (runningInUserns() && process.env.USER !== 'root'))) return join(xdg, 'berth');
  return '/run/berth';
}

/**
 * A --root under $XDG_RUNTIME_DIR is made 0700 with the sticky bit, as runc does:
 * the XDG spec lets a session's cleanup remove files there that are not sticky.
 */
export function prepareRoot(root: string): void {
  if (root !== defaultRoot() || root === '/run/berth') return;
  try {
    mkdirSync(root, { recursive: true, mode: 0o700 });
    chmodSync(root, 0o1700);
  } catch {
    // the command that needs it says why it cannot have it
  }
}

/** The id-map writers berth-init runs for a rootless config ('' where it writes the map itself). */
export interface IdMappers { uid: string; gid: string }

type Mapping = { containerID: number; hostID: number; size: number };

/**
 * Checks what a config needs when berth runs without root, and says who writes the
 * id maps: a single mapping of the user's own id (what `berth spec --rootless`
 * writes) berth-init writes itself; any other needs newuidmap/newgidmap, which
 * allow the ranges /etc/subuid and /etc/subgid give the user.
 */
export function rootlessIdMappers(spec: Spec): IdMappers | undefined {
  if (!rootlessEuid()) return undefined;
  const linux = spec.linux ?? {};
  const userns = (linux.namespaces ?? []).find((n) => n.type === 'user');
  if (!userns)
    throw new BerthError('linux.namespaces: berth runs without root (rootless) and the config has no user namespace; add one with uidMappings and gidMappings (`berth spec --rootless` writes such a config)');
  if (userns.path) return undefined; // joined: its maps are written
  const own = (m: Mapping[] | undefined, id: number) => m?.length === 1 && m[0].size === 1 && m[0].hostID === id;
  const mapper = (m: Mapping[] | undefined, id: number, tool: string, field: string): string => {
    if (own(m, id)) return '';
    const path = findTool(tool);
    if (!path) throw new BerthError(`${field}: berth runs without root, and mapping more than the user's own id (${id}) needs ${tool} (Debian package uidmap) with ranges for the user in /etc/sub${tool.slice(3, 6)}; it is not installed`);
    return path;
  };
  return {
    uid: mapper(linux.uidMappings, process.geteuid!(), 'newuidmap', 'linux.uidMappings'),
    gid: mapper(linux.gidMappings, process.getegid!(), 'newgidmap', 'linux.gidMappings'),
  };
}

function findTool(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/bin', '/usr/sbin', '/bin', '/sbin'];
  for (const d of dirs) {
    try {
      accessSync(join(d, name), C.X_OK);
      return join(d, name);
    } catch {
      // not here
    }
  }
  return undefined;
}

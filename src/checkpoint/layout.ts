// What CRIU must be told about a container, as runc tells it: the mounts whose
// source is outside the container (bind mounts, cgroup hierarchies bound from
// the host, devices, masked files) are external, named by their destination at
// dump and given their host source at restore; namespaces joined by path are
// external too. create keeps the config's part of it in the state, so a
// checkpoint describes the container as it was created, whatever config.json
// says later (as runc, which keeps its whole config).
import { lstatSync, readlinkSync } from 'node:fs';
import { posix } from 'node:path';
import type { Hierarchy } from '../cgroups/hierarchies';
import type { Placement } from '../cgroups/placement';
import type { Spec } from '../spec/types';

export interface CriuLayout {
  /** Bind mounts: destination in the container, source on the host. */
  binds: { destination: string; source: string }[];
  /** The container's cgroup of a hierarchy bound from the host (no cgroup namespace): destination, and the hierarchy's mountpoint. */
  cgroupBinds: { destination: string; hierarchy: string }[];
  maskedPaths: string[];
  /** Device nodes (linux.devices and the default ones), which may be bind mounts of the host's. */
  devices: string[];
  /** Namespaces joined by path. */
  joined: { type: string; path: string }[];
  /** The org.criu.config annotation: CRIU's configuration file ("" for none); absent: runc's default. */
  criuConfig?: string;
}

// runc's default devices (they are bind mounts in a user namespace).
const DEFAULT_DEVICES = ['/dev/null', '/dev/zero', '/dev/full', '/dev/tty', '/dev/urandom', '/dev/random'];

export function isBind(m: { type?: string; options?: string[] }): boolean {
  return m.type === 'bind' || (m.options ?? []).some((o) => o === 'bind' || o === 'rbind');
}

export function layoutOf(spec: Spec, bundle: string, hs: Hierarchy[]): CriuLayout {
  const namespaces = spec.linux?.namespaces ?? [];
  const cgroupNs = namespaces.some((n) => n.type === 'cgroup' && !n.path);
  const out: CriuLayout = {
    binds: [],
    cgroupBinds: [],
    maskedPaths: spec.linux?.maskedPaths ?? [],
    devices: [...new Set([...(spec.linux?.devices ?? []).map((d) => d.path), ...DEFAULT_DEVICES])],
    joined: namespaces.filter((n) => !!n.path).map((n) => ({ type: n.type, path: n.path! })),
  };
  const annotation = spec.annotations?.['org.criu.config'];
  if (annotation !== undefined) out.criuConfig = annotation;
  for (const m of spec.mounts ?? []) {
    if (isBind(m)) {
      out.binds.push({ destination: m.destination, source: posix.resolve(bundle, m.source ?? '') });
    } else if (m.type === 'cgroup' && !cgroupNs && hs.length) {
      // As berth-init lays them out (plan/build.ts cgroupMounts): the hierarchy
      // itself on a unified host, one per hierarchy below a tmpfs otherwise.
      if (hs.every((h) => h.version === 2)) out.cgroupBinds.push({ destination: m.destination, hierarchy: hs[0].mountpoint });
      else {
        for (const h of hs) {
          const name = h.version === 2 ? 'unified' : h.mountpoint.split('/').pop()!;
          out.cgroupBinds.push({ destination: posix.join(m.destination, name), hierarchy: h.mountpoint });
        }
      }
    }
  }
  return out;
}

/**
 * The path a destination really is inside the rootfs, its symlinks followed as
 * berth-init follows them (inside the root: RESOLVE_IN_ROOT), as runc's
 * securejoin: the mount point CRIU sees. Nothing is opened or changed; a missing
 * component ends the walk (the rest is taken as written).
 */
export function resolveInRoot(rootfs: string, dest: string): string {
  let done = '/';
  const todo = posix.normalize('/' + dest).split('/').filter(Boolean);
  for (let links = 0; todo.length; ) {
    const name = todo.shift()!;
    if (name === '.') continue;
    if (name === '..') {
      done = posix.dirname(done);
      continue;
    }
    const next = posix.join(done, name);
    let target: string | undefined;
    try {
      if (lstatSync(rootfs + next).isSymbolicLink()) target = readlinkSync(rootfs + next);
    } catch {
      return posix.join(next, ...todo);
    }
    if (target === undefined) {
      done = next;
      continue;
    }
    if (++links > 255) return posix.join(next, ...todo);
    if (target.startsWith('/')) done = '/';
    todo.unshift(...target.split('/').filter(Boolean));
  }
  return done;
}

/** ext_mnt at dump: every external mount by its destination (masked files as /dev/null). */
export function dumpMounts(l: CriuLayout, rootfs: string, maskedFiles: string[]): { key: string; val: string }[] {
  const same = (d: string) => {
    const key = resolveInRoot(rootfs, d);
    return { key, val: key };
  };
  return [
    ...l.binds.map((b) => same(b.destination)),
    ...l.cgroupBinds.map((b) => same(b.destination)),
    ...maskedFiles.map((p) => ({ key: p, val: '/dev/null' })),
    ...l.devices.map(same),
  ];
}

/** ext_mnt at restore: each external mount's host source, by the key it was dumped under. */
export function restoreMounts(l: CriuLayout, rootfs: string, p: Placement): { key: string; val: string }[] {
  const out = l.binds.map((b) => ({ key: resolveInRoot(rootfs, b.destination), val: b.source }));
  for (const b of l.cgroupBinds) {
    const dir = p.dirs.find((d) => d === b.hierarchy || d.startsWith(b.hierarchy + '/'));
    if (dir) out.push({ key: resolveInRoot(rootfs, b.destination), val: dir });
  }
  if (l.maskedPaths.length) out.push({ key: '/dev/null', val: '/dev/null' });
  for (const d of l.devices) out.push({ key: resolveInRoot(rootfs, d), val: d });
  return out;
}

/** CRIU's names of namespace types (runc's NsName). */
export const CRIU_NS: Record<string, string> = {
  network: 'net', mount: 'mnt', pid: 'pid', ipc: 'ipc', uts: 'uts', user: 'user', cgroup: 'cgroup', time: 'time',
};

/** The key CRIU knows an external namespace by: extRootNetNS, extRootPidNS. */
export function externalNsKey(type: string): string {
  const n = CRIU_NS[type];
  return `extRoot${n[0].toUpperCase()}${n.slice(1)}NS`;
}

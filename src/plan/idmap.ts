// Id-mapped bind mounts (config.md "POSIX-platform Mounts", runtime-spec 1.2):
// which mounts are id-mapped and with which user namespace, as runc 1.2 reads
// the config. berth-init's bind source opener, which keeps berth's credentials,
// makes the mapping's user namespace and the id-mapped clone of the source
// (addon/berth-init/idmap.cc): MOUNT_ATTR_IDMAP needs CAP_SYS_ADMIN over the source's
// filesystem, which the root of a container's user namespace lacks.
import { BerthError } from '../errors';
import type { LinuxIDMapping, Mount } from '../spec/types';
import type { PlanMount } from './plan';

/** The container's user namespace: made with these maps, or joined by path. */
export interface ContainerUserns {
  uidMap?: string;
  gidMap?: string;
  path?: string;
}

export const idMapText = (m: LinuxIDMapping[] | undefined): string | undefined =>
  m?.map((e) => `${e.containerID} ${e.hostID} ${e.size}\n`).join('');

/**
 * The idmap of mounts[i], or undefined when it is not id-mapped. It is when the
 * mount has uidMappings/gidMappings or the option idmap or ridmap (runc: the last
 * of the two counts; ridmap maps every mount of an rbind's tree, idmap and
 * mappings alone the top one). Without mappings of its own the mount takes the
 * container's user namespace: its mappings, or the namespace joined by path.
 */
export function mountIdmap(m: Mount, field: string, bind: boolean, userns: ContainerUserns | undefined): PlanMount['idmap'] {
  const option = (m.options ?? []).filter((o) => o === 'idmap' || o === 'ridmap').pop();
  const mapped = m.uidMappings !== undefined || m.gidMappings !== undefined;
  if (!option && !mapped) return undefined;
  const fail = (why: string): never => {
    throw new BerthError(`${field}: ${why}`);
  };
  if (!bind) fail('id-mapped mounts (uidMappings, gidMappings, idmap, ridmap) need a bind mount');
  // As runc: the kernel wants CAP_SYS_ADMIN over the source's filesystem, which a
  // user without privileges has not for the host's.
  if (process.geteuid!() !== 0) fail('id-mapped mounts are not supported when berth runs without root (rootless)');
  const recursive = option === 'ridmap';
  if (mapped) {
    if (!m.uidMappings?.length || !m.gidMappings?.length) fail('an id-mapped mount needs both uidMappings and gidMappings, neither empty');
    return { recursive, uidMap: idMapText(m.uidMappings)!, gidMap: idMapText(m.gidMappings)!, usernsPath: '' };
  }
  if (userns?.path) return { recursive, uidMap: '', gidMap: '', usernsPath: userns.path };
  if (!userns?.uidMap || !userns.gidMap)
    fail(`mount option ${option} without uidMappings and gidMappings takes the container's user namespace mappings, and there is no user namespace`);
  return { recursive, uidMap: userns!.uidMap!, gidMap: userns!.gidMap!, usernsPath: '' };
}

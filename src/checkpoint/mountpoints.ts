// The config's mount points, made in the rootfs before CRIU restores: CRIU mounts
// on them but makes none, and a checkpoint restored into a fresh rootfs (as a
// migration does) lacks those create made. As runc (makeCriuRestoreMountpoints):
// a directory, an empty file for a bind mount of a file; none for cgroup mounts
// (they appear with /sys/fs/cgroup) nor below a tmpfs (CRIU restores its content).
// Made through berth-init's resolution inside the root: the rootfs is hostile.
import { statSync } from 'node:fs';
import { posix } from 'node:path';
import { BerthError, errnoText } from '../errors';
import { native } from '../native/addon';
import type { Spec } from '../spec/types';
import { isBind } from './layout';

export function makeMountPoints(spec: Spec, bundle: string, rootfs: string): void {
  const mounts = spec.mounts ?? [];
  const tmpfs = mounts.filter((m) => m.type === 'tmpfs').map((m) => posix.normalize(m.destination));
  mounts.forEach((m, i) => {
    const dest = posix.normalize(m.destination);
    if (m.type === 'cgroup' || tmpfs.some((t) => dest.startsWith(t === '/' ? t : t + '/'))) return;
    let file = false;
    if (isBind(m)) {
      const source = posix.resolve(bundle, m.source ?? '');
      try {
        file = !statSync(source).isDirectory();
      } catch (e) {
        throw new BerthError(`restore: mounts[${i}].source ${source}: ${errnoText(e)}`);
      }
    }
    try {
      native().makeMountPoint(rootfs, dest, file);
    } catch (e) {
      throw new BerthError(`restore: making the mount point of mounts[${i}].destination ${m.destination} in the rootfs: ${errnoText(e)}`);
    }
  });
}

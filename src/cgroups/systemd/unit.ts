// Which systemd unit holds a container, and where its cgroup is: runc's reading
// of linux.cgroupsPath under --systemd-cgroup ("slice:prefix:name").
import { posix } from 'node:path';
import { BerthError } from '../../errors';

export interface UnitPlace {
  /** The unit berth asks systemd for: prefix-name.scope, or name when it ends in .slice. */
  unit: string;
  /** The slice it goes in (a scope's Slice=, a slice's parent). */
  slice: string;
  /** The unit's cgroup below the cgroup2 root: /a.slice/a-b.slice/unit.scope. */
  cgroup: string;
}

const FIELD = 'linux.cgroupsPath';

/** a-b-c.slice -> /a.slice/a-b.slice/a-b-c.slice, as systemd nests slices ("-.slice" is the root). */
export function expandSlice(slice: string): string {
  const bad = () => new BerthError(`${FIELD}: invalid slice name ${JSON.stringify(slice)} (a name ending in .slice, parts separated by single dashes, no /)`);
  if (!slice.endsWith('.slice') || slice.length <= '.slice'.length || slice.includes('/')) throw bad();
  const name = slice.slice(0, -'.slice'.length);
  if (name === '-') return '/';
  let path = '';
  let prefix = '';
  for (const part of name.split('-')) {
    if (!part) throw bad();
    path += `/${prefix}${part}.slice`;
    prefix += `${part}-`;
  }
  return path;
}

/**
 * The unit for a container. An empty cgroupsPath is ":berth:ID" (runc's is
 * ":runc:ID"); an empty slice is system.slice, as runc's for root, and
 * user.slice with the user's own systemd. An empty prefix or name is left as
 * runc leaves it (systemd then refuses the name).
 */
export function unitPlace(cgroupsPath: string | undefined, id: string, defaultSlice = 'system.slice'): UnitPlace {
  let slice = '';
  let prefix = 'berth';
  let name = id;
  if (cgroupsPath) {
    const parts = cgroupsPath.split(':');
    if (parts.length !== 3)
      throw new BerthError(`${FIELD}: expected "slice:prefix:name" with --systemd-cgroup, got ${JSON.stringify(cgroupsPath)}`);
    [slice, prefix, name] = parts;
  }
  slice ||= defaultSlice;
  const unit = name.endsWith('.slice') ? name : `${prefix}-${name}.scope`;
  if (unit.includes('/') || !/^[\w:.\\-]+$/.test(unit) || unit.length > 255)
    throw new BerthError(`${FIELD}: ${JSON.stringify(unit)} is not a valid systemd unit name`);
  // A slice's place comes from its own name (systemd nests it so), a scope's from its slice.
  const cgroup = name.endsWith('.slice') ? expandSlice(name) : posix.join(expandSlice(slice), unit);
  return { unit, slice, cgroup };
}

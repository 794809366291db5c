// The processes of a container: those in its cgroups (sub-cgroups too, as runc's
// GetAllPids). A container without cgroups (rootless, where the user cannot make
// them: ../cgroups/rootless.ts) is found by its pid namespace instead, when it has
// its own; else only its init is known.
import { readdirSync, readlinkSync } from 'node:fs';
import { cgroupManager } from '../cgroups/manager';
import { isAlive } from '../state/proc';
import type { Saved } from '../state/store';

export function containerPids(s: Saved): number[] {
  if (s.cgroups.dirs.length) return cgroupManager(s.cgroups).pids();
  if (!isAlive(s.pid, s.pidStartTime)) return [];
  const ns = (pid: number | string) => {
    try {
      return readlinkSync(`/proc/${pid}/ns/pid`);
    } catch {
      return undefined; // gone, or not ours to look at
    }
  };
  const own = s.ownPidNs ? ns(s.pid) : undefined;
  if (!own) return [s.pid];
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p) && ns(p) === own).map(Number);
}

// The plan for `exec`: join every namespace of the container's init, then become
// the process described (the same process records as create's: processRecords).
import { readlinkSync } from 'node:fs';
import type { Process } from '../spec/types';
import { processOf, securityLabels } from './build';
import * as K from './generated';
import { type ProcessPlan, processRecords } from './message';
import { CLONE } from './tables';

// /proc/PID/ns names, with the CLONE_NEW* flag setns wants. User first: the others
// are joined with its privileges (berth-init also orders them so).
const NAMESPACES: [string, number][] = [
  ['user', CLONE.user], ['ipc', CLONE.ipc], ['uts', CLONE.uts], ['net', CLONE.network], ['pid', CLONE.pid],
  ['cgroup', CLONE.cgroup], ['time', CLONE.time], ['mnt', CLONE.mount],
];

export function encodeExecPlan(
  proc: Process,
  o: { pid: number; preserveFds: number; seccomp?: ProcessPlan['seccomp']; consoleFd?: number; cgroups1: K.Cgroup1Record[] },
): Buffer {
  const joins: K.NsJoinRecord[] = [];
  for (const [name, flag] of NAMESPACES) {
    let theirs: string;
    try {
      theirs = readlinkSync(`/proc/${o.pid}/ns/${name}`);
    } catch {
      continue; // a kernel without this namespace type
    }
    // Only namespaces the container does not share with us (joining our own user
    // namespace is an error).
    if (theirs !== readlinkSync(`/proc/self/ns/${name}`)) joins.push({ type: flag, path: `/proc/${o.pid}/ns/${name}`, field: `container namespace ${name}` });
  }
  return K.encodePlanMessage({
    cgroups1: o.cgroups1,
    joins,
    ...processRecords({
      ...processOf(proc, o.preserveFds),
      apparmor: securityLabels(proc, undefined),
      console: o.consoleFd === undefined ? undefined : { fd: o.consoleFd, rows: proc.consoleSize?.height ?? 0, cols: proc.consoleSize?.width ?? 0 },
      seccomp: o.seccomp,
    }),
  });
}

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

/** The namespaces of the container's init (pid) that an exec joins: those it does not share with us (joining our own user namespace is an error). */
export function namespaceJoins(pid: number): K.NsJoinRecord[] {
  const joins: K.NsJoinRecord[] = [];
  for (const [name, flag] of NAMESPACES) {
    let theirs: string;
    try {
      theirs = readlinkSync(`/proc/${pid}/ns/${name}`);
    } catch {
      continue; // a kernel without this namespace type
    }
    if (theirs !== readlinkSync(`/proc/self/ns/${name}`)) joins.push({ type: flag, path: `/proc/${pid}/ns/${name}`, field: `container namespace ${name}` });
  }
  return joins;
}

/** Joins their namespaces (namespaceJoins), then is cloned into cgroup2 if given, with cgroups1 joined. */
export function encodeExecPlan(
  proc: Process,
  o: {
    joins: K.NsJoinRecord[]; preserveFds: number; seccomp?: ProcessPlan['seccomp']; consoleFd?: number;
    cgroups1: K.Cgroup1Record[]; cgroup2?: string;
  },
): Buffer {
  return K.encodePlanMessage({
    cgroups1: o.cgroups1,
    cgroup2: o.cgroup2 === undefined ? undefined : { path: o.cgroup2 },
    joins: o.joins,
    ...processRecords({
      ...processOf(proc, o.preserveFds),
      apparmor: securityLabels(proc, undefined),
      console: o.consoleFd === undefined ? undefined : { fd: o.consoleFd, rows: proc.consoleSize?.height ?? 0, cols: proc.consoleSize?.width ?? 0 },
      seccomp: o.seccomp,
    }),
  });
}

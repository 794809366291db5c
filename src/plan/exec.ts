// The plan for `exec`: join every namespace of the container's init, then become
// the process described (user, groups, capabilities, rlimits, no_new_privs, cwd,
// args, env) and exec it. The same message format as create, fewer records.
import { readlinkSync } from 'node:fs';
import type { Process } from '../spec/types';
import { capSets, rlimitsOf, securityLabels } from './build';
import * as K from './generated';
import { Writer } from './message';
import { CLONE } from './tables';

// /proc/PID/ns names, with the CLONE_NEW* flag setns wants. User first: the others
// are joined with its privileges (berth-init also orders them so).
const NAMESPACES: [string, number][] = [
  ['user', CLONE.user], ['ipc', CLONE.ipc], ['uts', CLONE.uts], ['net', CLONE.network], ['pid', CLONE.pid],
  ['cgroup', CLONE.cgroup], ['time', CLONE.time], ['mnt', CLONE.mount],
];

export function encodeExecPlan(proc: Process, o: { pid: number; preserveFds: number; seccomp?: { bpf: Buffer; flags: number; listener: boolean }; consoleFd?: number }): Buffer {
  const w = new Writer();
  for (const [name, flag] of NAMESPACES) {
    let theirs: string;
    try {
      theirs = readlinkSync(`/proc/${o.pid}/ns/${name}`);
    } catch {
      continue; // a kernel without this namespace type
    }
    // Only namespaces the container does not share with us (joining our own user
    // namespace is an error).
    if (theirs !== readlinkSync(`/proc/self/ns/${name}`)) w.rec(K.REC_NS_JOIN, flag, `/proc/${o.pid}/ns/${name}`, `container namespace ${name}`);
  }
  for (const l of rlimitsOf(proc)) w.rec(K.REC_RLIMIT, l.resource, l.soft, l.hard, l.field);
  const u = proc.user;
  w.rec(K.REC_USER, u?.uid ?? 0, u?.gid ?? 0, u?.umask ?? 0xffffffff);
  for (const g of u?.additionalGids ?? []) w.rec(K.REC_ADD_GID, g);
  if (proc.capabilities) {
    const c = capSets(proc.capabilities);
    w.rec(K.REC_CAPS, c.bounding, c.effective, c.permitted, c.inheritable, c.ambient);
  }
  if (proc.noNewPrivileges) w.rec(K.REC_NO_NEW_PRIVS, 1);
  w.rec(K.REC_CWD, proc.cwd);
  for (const a of proc.args) w.rec(K.REC_ARG, a);
  for (const e of proc.env ?? []) w.rec(K.REC_ENV, e);
  w.rec(K.REC_PRESERVE_FDS, o.preserveFds);
  const apparmor = securityLabels(proc, undefined);
  if (apparmor) w.rec(K.REC_APPARMOR, apparmor);
  if (o.consoleFd !== undefined) w.rec(K.REC_CONSOLE, o.consoleFd, proc.consoleSize?.height ?? 0, proc.consoleSize?.width ?? 0);
  if (o.seccomp) w.rec(K.REC_SECCOMP, o.seccomp.bpf, o.seccomp.flags, o.seccomp.listener ? 1 : 0);
  return w.finish();
}

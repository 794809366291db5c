// The plan as the message berth-init reads: the plan's fields as the records
// declared in addon/message/plan.def, encoded by the generated encoder. create
// and exec write the process records with the one function, processRecords.
import * as K from './generated';
import type { Plan } from './plan';

export { decodeItems, encodeMessage, u32At } from './wire';

/** The process to become, as create (the init) and exec describe it alike. */
export type ProcessPlan = Pick<Plan, 'rlimits' | 'user' | 'caps' | 'noNewPrivileges' | 'cwd' | 'args' | 'env' | 'preserveFds' | 'apparmor' | 'console'> & {
  seccomp?: { bpf: Buffer; flags: number; listener: boolean };
};

export function processRecords(p: ProcessPlan): K.PlanMessage {
  return {
    rlimits: p.rlimits,
    user: { uid: p.user.uid, gid: p.user.gid, umask: p.user.umask ?? 0xffffffff },
    additionalGids: p.user.additionalGids.map((gid) => ({ gid })),
    caps: p.caps,
    noNewPrivs: p.noNewPrivileges ? { set: true } : undefined,
    cwd: { path: p.cwd },
    args: { values: p.args },
    env: { values: p.env },
    preserveFds: { count: p.preserveFds },
    apparmor: p.apparmor ? { profile: p.apparmor } : undefined,
    console: p.console && { socket: p.console.fd, rows: p.console.rows, cols: p.console.cols },
    seccomp: p.seccomp && { program: p.seccomp.bpf, flags: p.seccomp.flags, listener: p.seccomp.listener, when: seccompWhen(p) },
  };
}

/** When berth-init installs the filter, in runc's order: without no_new_privs the
 * kernel wants CAP_SYS_ADMIN, so before the identity drops it; with a listener
 * while the sync socket is open (its fd goes to berth); else just before execve. */
function seccompWhen(p: ProcessPlan): number {
  if (!p.noNewPrivileges) return K.SECCOMP_BEFORE_IDENTITY;
  return p.seccomp?.listener ? K.SECCOMP_BEFORE_READY : K.SECCOMP_BEFORE_EXEC;
}

export function encodePlan(p: Plan): Buffer {
  return K.encodePlanMessage(planMessage(p));
}

/** The records of a create plan. */
export function planMessage(p: Plan): K.PlanMessage {
  const text = (v: string | undefined) => (v === undefined ? undefined : { map: v });
  const name = (v: string | undefined) => (v === undefined ? undefined : { name: v });
  return {
    nsClone: { flags: p.cloneFlags },
    joins: p.joins,
    uidMap: text(p.uidMap),
    gidMap: text(p.gidMap),
    idMappers: p.idMappers,
    timeOffsets: p.timeOffsets === undefined ? undefined : { offsets: p.timeOffsets },
    hostname: name(p.hostname),
    domainname: name(p.domainname),
    sessionKeyring: name(p.sessionKeyring),
    cgroup2: p.cgroup2 === undefined ? undefined : { path: p.cgroup2 },
    cgroups1: p.cgroups1,
    rootfs: p.rootfs,
    mounts: p.mounts.map((m) => ({
      source: m.source,
      destination: m.destination,
      fstype: m.type,
      flags: m.flags,
      propagation: m.propagation,
      extra: m.extra,
      data: m.data,
      field: m.field,
      recursiveSet: m.recursiveSet,
      recursiveClear: m.recursiveClear,
      idmap: m.idmap ? (m.idmap.recursive ? K.IDMAP_RECURSIVE : K.IDMAP_TOP) : K.IDMAP_NONE,
      uidMap: m.idmap?.uidMap ?? '',
      gidMap: m.idmap?.gidMap ?? '',
      usernsPath: m.idmap?.usernsPath ?? '',
    })),
    devices: p.devices,
    symlinks: p.symlinks,
    masked: p.masked.map((path) => ({ path })),
    readonly: p.readonly.map((path) => ({ path })),
    execFifo: { path: p.execFifo },
    sysctls: p.sysctls,
    oomScoreAdj: p.oomScoreAdj === undefined ? undefined : { value: p.oomScoreAdj },
    personality: p.personality === undefined ? undefined : { persona: p.personality },
    hooks: p.hooks,
    ...processRecords({ ...p, seccomp: p.seccomp && { ...p.seccomp, listener: !!p.seccomp.listener } }),
  };
}

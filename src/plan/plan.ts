// The plan: everything berth-init will do, as plain data. Built from the config by
// ./build.ts (policy), encoded by ./message.ts, carried out by addon/berth-init (mechanism).

export interface PlanMount {
  source: string;
  destination: string;
  type: string;
  flags: number;
  propagation: number;
  extra: number;
  data: string;
  field: string;
  /** Bind mounts: flags set / cleared on every mount of the tree (rro, rnosuid, ...). */
  recursiveSet: number;
  recursiveClear: number;
  /** An id-mapped bind mount (./idmap.ts): the user namespace of its mapping, given
   * as uid_map/gid_map text or as the path of an existing one. */
  idmap?: { recursive: boolean; uidMap: string; gidMap: string; usernsPath: string };
}

export interface PlanDevice {
  path: string;
  type: number;
  major: number;
  minor: number;
  mode: number;
  uid: number;
  gid: number;
  field: string;
}

export interface PlanHook {
  kind: number;
  timeout: number;
  path: string;
  args: string[];
  env: string[];
  field: string;
}

export interface Plan {
  cloneFlags: number;
  joins: { type: number; path: string; field: string }[];
  uidMap?: string;
  gidMap?: string;
  /** Without root: newuidmap/newgidmap write maps beyond the user's own id (../rootless.ts). */
  idMappers?: { uid: string; gid: string };
  timeOffsets?: string;
  hostname?: string;
  sessionKeyring?: string;
  domainname?: string;
  rootfs: { path: string; readonly: boolean; propagation: number; noPivot: boolean };
  mounts: PlanMount[];
  devices: PlanDevice[];
  symlinks: { target: string; path: string }[];
  masked: string[];
  readonly: string[];
  /** The container's cgroup2 directory, which berth-init clones the init into
   * (unset: berth has put berth-init in every hierarchy, and the init inherits them). */
  cgroup2?: string;
  /** The cgroup v1 directories berth-init joins itself, first of all (see cgroups1 in container/sync.ts). */
  cgroups1?: { path: string; field: string }[];
  execFifo: string;
  sysctls: { path: string; value: string; field: string }[];
  oomScoreAdj?: number;
  rlimits: { resource: number; soft: bigint; hard: bigint; field: string }[];
  personality?: number;
  user: { uid: number; gid: number; umask?: number; additionalGids: number[] };
  caps?: { bounding: bigint; effective: bigint; permitted: bigint; inheritable: bigint; ambient: bigint };
  noNewPrivileges: boolean;
  cwd: string;
  args: string[];
  env: string[];
  preserveFds: number;
  /** process.apparmorProfile, where the host has AppArmor. */
  apparmor?: string;
  /** process.terminal: the fd (in berth-init) of the connected console socket. */
  console?: { fd: number; rows: number; cols: number };
  hooks: PlanHook[];
  /** linux.seccomp compiled (src/seccomp): installed by berth-init just before execve. */
  seccomp?: {
    bpf: Buffer;
    flags: number;
    /** SCMP_ACT_NOTIFY: where berth sends the listener fd with the container process state. */
    listener?: { path: string; metadata: string };
  };
}

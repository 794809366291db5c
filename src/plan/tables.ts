// Name -> number tables of the kernel ABI that config.json speaks in.

/** config-linux.md "Default Devices": the character devices every container gets
 * (berth-init makes them, the device cgroup allows them). */
export const DEFAULT_DEVICES = [
  { path: '/dev/null', major: 1, minor: 3 }, { path: '/dev/zero', major: 1, minor: 5 },
  { path: '/dev/full', major: 1, minor: 7 }, { path: '/dev/random', major: 1, minor: 8 },
  { path: '/dev/urandom', major: 1, minor: 9 }, { path: '/dev/tty', major: 5, minor: 0 },
] as const;

export const CLONE = {
  mount: 0x00020000,
  cgroup: 0x02000000,
  uts: 0x04000000,
  ipc: 0x08000000,
  user: 0x10000000,
  pid: 0x20000000,
  network: 0x40000000,
  time: 0x00000080,
} as const;

// capabilities(7), in bit order.
export const CAPS = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL',
  'CAP_SETGID', 'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER',
  'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
] as const;

export const RLIMITS: Record<string, number> = {
  RLIMIT_CPU: 0, RLIMIT_FSIZE: 1, RLIMIT_DATA: 2, RLIMIT_STACK: 3, RLIMIT_CORE: 4, RLIMIT_RSS: 5,
  RLIMIT_NPROC: 6, RLIMIT_NOFILE: 7, RLIMIT_MEMLOCK: 8, RLIMIT_AS: 9, RLIMIT_LOCKS: 10,
  RLIMIT_SIGPENDING: 11, RLIMIT_MSGQUEUE: 12, RLIMIT_NICE: 13, RLIMIT_RTPRIO: 14, RLIMIT_RTTIME: 15,
};

export const MS = {
  RDONLY: 1, NOSUID: 2, NODEV: 4, NOEXEC: 8, SYNCHRONOUS: 16, REMOUNT: 32, MANDLOCK: 64,
  DIRSYNC: 128, NOSYMFOLLOW: 256, NOATIME: 1024, NODIRATIME: 2048, BIND: 4096, MOVE: 8192,
  REC: 16384, SILENT: 32768, UNBINDABLE: 1 << 17, PRIVATE: 1 << 18, SLAVE: 1 << 19,
  SHARED: 1 << 20, RELATIME: 1 << 21, STRICTATIME: 1 << 24, LAZYTIME: 1 << 25,
} as const;

/** Mount options that are flags: [set, clear]. Anything else goes to the fs as data. */
export const MOUNT_FLAGS: Record<string, [number, number]> = {
  ro: [MS.RDONLY, 0], rw: [0, MS.RDONLY],
  nosuid: [MS.NOSUID, 0], suid: [0, MS.NOSUID],
  nodev: [MS.NODEV, 0], dev: [0, MS.NODEV],
  noexec: [MS.NOEXEC, 0], exec: [0, MS.NOEXEC],
  sync: [MS.SYNCHRONOUS, 0], async: [0, MS.SYNCHRONOUS],
  dirsync: [MS.DIRSYNC, 0],
  remount: [MS.REMOUNT, 0],
  mand: [MS.MANDLOCK, 0], nomand: [0, MS.MANDLOCK],
  noatime: [MS.NOATIME, 0], atime: [0, MS.NOATIME],
  nodiratime: [MS.NODIRATIME, 0], diratime: [0, MS.NODIRATIME],
  relatime: [MS.RELATIME, 0], norelatime: [0, MS.RELATIME],
  strictatime: [MS.STRICTATIME, 0], nostrictatime: [0, MS.STRICTATIME],
  lazytime: [MS.LAZYTIME, 0], nolazytime: [0, MS.LAZYTIME],
  nosymfollow: [MS.NOSYMFOLLOW, 0], symfollow: [0, MS.NOSYMFOLLOW],
  bind: [MS.BIND, 0], rbind: [MS.BIND | MS.REC, 0],
};

/** config.md's recursive options (mount_setattr with AT_RECURSIVE): [set, clear]. */
export const RECURSIVE_MOUNT_FLAGS: Record<string, [number, number]> = {
  rro: [MS.RDONLY, 0], rrw: [0, MS.RDONLY], rnosuid: [MS.NOSUID, 0], rsuid: [0, MS.NOSUID],
  rnodev: [MS.NODEV, 0], rdev: [0, MS.NODEV], rnoexec: [MS.NOEXEC, 0], rexec: [0, MS.NOEXEC],
  rnoatime: [MS.NOATIME, 0], ratime: [0, MS.NOATIME], rnodiratime: [MS.NODIRATIME, 0],
  rdiratime: [0, MS.NODIRATIME], rrelatime: [MS.RELATIME, 0], rnorelatime: [0, MS.RELATIME],
  rstrictatime: [MS.STRICTATIME, 0], rnostrictatime: [0, MS.STRICTATIME],
  rnosymfollow: [MS.NOSYMFOLLOW, 0], rsymfollow: [0, MS.NOSYMFOLLOW],
};

export const PROPAGATION: Record<string, number> = {
  private: MS.PRIVATE, rprivate: MS.PRIVATE | MS.REC,
  shared: MS.SHARED, rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE, rslave: MS.SLAVE | MS.REC,
  unbindable: MS.UNBINDABLE, runbindable: MS.UNBINDABLE | MS.REC,
};

export const S_IF = { c: 0o020000, u: 0o020000, b: 0o060000, p: 0o010000 } as const;

// Loads the native parts lazily: the N-API module and the path of berth-init,
// which sits beside it. node-gyp-build picks the directory: build/Release when the
// parts were compiled here (a source tree, or an install no prebuild fitted), else
// prebuilds/<platform>-<arch>/ of the package (scripts/prebuild.mjs).
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { BerthError } from '../errors';

export interface ExitStatus { pid: number; code?: number; signal?: number }
export interface Addon {
  flock(fd: number, exclusive: boolean, wait: boolean): void;
  /** Whether path names the file open at fd (same device and inode); false when path is gone. */
  sameFile(fd: number, path: string): boolean;
  pidfdOpen(pid: number): number;
  pidfdSendSignal(pidfd: number, signal: number): void;
  /** start's side of the exec fifo at path (addon.cc): what the init left to read, "" once it took the byte and exec'd. */
  releaseInit(fifo: string): string;
  /** _exit(2): no teardown of Node's (src/cli/run-command.ts says when). */
  exitNow(code: number): never;
  /** Waits until fd is readable (writable), or hung up; false on timeout. Nothing is read. */
  waitFd(fd: number, writable: boolean, timeoutMs: number): boolean;
  setChildSubreaper(): void;
  reap(pid: number, wait?: boolean): ExitStatus | null;
  /** A connected pair of stream sockets (seqpacket ones when asked: CRIU's RPC). */
  socketpair(seqpacket?: boolean): [number, number];
  /** [read end, write end], close-on-exec. */
  pipe(): [number, number];
  /**
   * Copies from -> to on a thread of its own until from ends, writing fails or
   * `to` reports an error (a pipe without readers); then closes closeAtEnd.
   * With wait, a promise for the end that keeps Node running until then.
   */
  relay(from: number, to: number, closeAtEnd: number, wait: true): Promise<void>;
  relay(from: number, to: number, closeAtEnd: number, wait: false): undefined;
  connectUnix(path: string): number;
  /** The fd that came with the next message on a unix socket (SCM_RIGHTS). */
  recvFd(sock: number): number;
  /** The next message (at most size bytes) and the fds that came with it; empty data at EOF. */
  recvMsg(sock: number, size: number): { data: Buffer; fds: number[] };
  /** A recursive bind mount. */
  bindMount(source: string, target: string): void;
  /** Makes what is missing of destination inside rootfs (symlinks followed inside it): a directory, or with file an empty file. */
  makeMountPoint(rootfs: string, destination: string, file: boolean): void;
  /** umount2(MNT_DETACH); false when target is no mount point. */
  detachMount(target: string): boolean;
  /** The filesystem mounted at path gets exactly these superblock flags (fspick, fsconfig). */
  reconfigureSuper(path: string, flags: string[]): void;
  setWindowSize(fd: number, rows: number, cols: number): void;
  /** An fd readable on the memory cgroup's OOM events (inotify on v2, eventfd on v1). */
  oomNotifier(dir: string, unified: boolean): number;
  /** Which fds are readable after waiting up to timeoutMs; pending data is dropped. */
  pollIn(fds: number[], timeoutMs: number): boolean[];
  /** A sealed memfd copy of a file (close-on-exec). */
  sealedCopy(path: string): number;
  /** Runs path with fds[i] as fd i; returns the pid. */
  spawn(path: string, argv: string[], fds: number[]): number;
  waitExit(pid: number): Promise<ExitStatus>;
  /** A copy of fd of the process behind pidfd (pidfd_getfd). */
  pidfdGetfd(pidfd: number, fd: number): number;
  /** Connects to the unix socket at path (or uses the connected socket given) and sends data with fds (SCM_RIGHTS). */
  sendFds(path: string | number, data: Buffer, fds: number[]): void;
  /** Loads a BPF_PROG_TYPE_CGROUP_DEVICE program and attaches it to the cgroup directory,
   * detaching the device programs attached there before; returns how many it replaced. */
  attachDeviceFilter(cgroupDir: string, insns: Buffer): number;
  /** Whether the kernel has mount_setattr(2), and with it id-mapped mounts. */
  mountSetattrSupported(): boolean;
  // seccompCompile, seccompFlagSupported, seccompVersion: see src/seccomp/compile.ts
}

/** The package root: dist/berth.js lives one level below it (tests run deeper). Found when first needed: every call loads this module, fewer load the addon. */
function packageRoot(): string {
  const start = resolve(__dirname, '..');
  for (let d = start; ; d = dirname(d)) {
    if (existsSync(join(d, 'binding.gyp'))) return d;
    if (dirname(d) === d) return start;
  }
}

const BUILD_HINT = '`npm rebuild --build-from-source berth` compiles them; in a source tree `npm run build:native`';

let nativeFile: string | undefined;
/** The .node file to load; berth-init is beside it. */
export function nativePath(): string {
  if (nativeFile) return nativeFile;
  // node-gyp-build's own choices, found without loading it (~5 ms of CPU on every
  // call that loads the addon): the build/Release made here, unless its environment
  // variables point elsewhere; else the prebuild by the name it looks for
  // (prebuilds/PLATFORM-ARCH/berth.LIBC.node; LIBC from $LIBC, else musl where
  // /etc/alpine-release is), which `npm install` checked loads here.
  const root = packageRoot();
  const local = join(root, 'build/Release/berth.node');
  if (!process.env.BERTH_PREBUILD && !process.env.PREBUILDS_ONLY && existsSync(local)) nativeFile = local;
  if (!nativeFile && !process.env.BERTH_PREBUILD) {
    const libc = process.env.LIBC || (existsSync('/etc/alpine-release') ? 'musl' : 'glibc');
    const prebuild = join(root, 'prebuilds', `${process.platform}-${process.arch}`, `berth.${libc}.node`);
    if (existsSync(prebuild)) nativeFile = prebuild;
  }
  if (!nativeFile) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      nativeFile = (require('node-gyp-build') as { path(dir: string): string }).path(root);
    } catch (e) {
      throw new BerthError(`loading berth's native addon: ${(e as Error).message.split('\n')[0]} (${BUILD_HINT})`);
    }
  }
  return nativeFile;
}

let addon: Addon | undefined;
/** The addon if a call loaded it already (each load costs ~0.4 ms). */
export function nativeIfLoaded(): Addon | undefined {
  return addon;
}

export function native(): Addon {
  if (!addon) {
    const file = nativePath();
    try {
      // process.dlopen is what require() ends in for a .node file, without its
      // path resolution (stat, realpath): the addon is berth's alone, loaded once.
      const m = { exports: {} as Addon };
      process.dlopen(m, file);
      addon = m.exports;
    } catch (e) {
      throw new BerthError(`loading berth's native addon ${file}: ${(e as Error).message.split('\n')[0]} (${BUILD_HINT})`);
    }
  }
  return addon;
}

let sealed: string | undefined;

/**
 * What to exec for berth-init: a sealed in-memory copy (/proc/self/fd/N of this
 * process, which a spawned child resolves to its inherited copy of the fd), so a
 * container process reaching its /proc/PID/exe finds nothing on the host to
 * overwrite (the CVE-2019-5736 class).
 */
export function berthInitExe(): string {
  if (!sealed) sealed = `/proc/self/fd/${native().sealedCopy(berthInitPath())}`;
  return sealed;
}

export function berthInitPath(): string {
  const p = join(dirname(nativePath()), 'berth-init');
  if (!existsSync(p)) throw new BerthError(`berth-init not found beside the native addon (${p}): ${BUILD_HINT}`);
  return p;
}

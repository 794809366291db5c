// The sync socket between berth and berth-init, read and written synchronously:
// messages are u32 type, u32 payload length, payload (addon/message/plan.def).
import { closeSync, readSync, writeSync } from 'node:fs';
import { BerthError, errnoCode, errnoText, SetupError } from '../errors';
import { berthInitExe, native } from '../native/addon';
import { joinCgroups, type Placement } from '../cgroups/placement';
import { frozenBy } from '../cgroups/freeze';
import { decodeItems, u32At } from '../plan/message';
import { procStat } from '../state/proc';

/**
 * Called while berth waits on berth-init and hears nothing for WATCH_MS; throws
 * to stop waiting. There is no deadline (berth-init and the init run hooks, which
 * take their time), but a process in a frozen cgroup (a pod being frozen, a
 * paused container's leftover) or a stopped one makes no progress, and berth
 * would wait for it for ever.
 */
export type Watch = () => void;
const WATCH_MS = 100;
/** A stop this long is not a passing one (job control stops and continues a whole group at once). */
const STOPPED_MS = 1000;

/**
 * Starts berth-init with its fds laid out: stdio (berth's own, or the pipes of
 * ./stdio.ts), the preserved fds (3 on), the console socket if any (next), the
 * sync socket (last; berth-init closes every fd above it). Returns its pid and
 * our end of the sync socket.
 */
function spawnBerthInit(mode: 'create' | 'exec', preserveFds: number, consoleFd: number | undefined, stdio: number[]): { pid: number; sock: number } {
  const addon = native();
  const [mine, theirs] = addon.socketpair();
  const fds = [...stdio, ...Array.from({ length: preserveFds }, (_, i) => 3 + i), ...(consoleFd === undefined ? [] : [consoleFd]), theirs];
  try {
    const pid = addon.spawn(berthInitExe(), ['berth-init', mode, String(fds.length - 1), String(process.pid)], fds);
    return { pid, sock: mine };
  } catch (e) {
    closeSync(mine);
    throw new BerthError(`starting berth-init: ${(e as Error).message}`);
  } finally {
    closeSync(theirs);
  }
}

export interface BerthInit {
  pid: number;
  sock: number;
  /** The cgroups berth-init was put in. */
  cgroups: Placement;
}

/**
 * The cgroup v1 directories of a placement, which berth-init joins itself as the
 * first step of its plan (join_cgroups_v1): it moves its one thread, without the
 * kernel's global lock that moving a process by pid takes, whose first taking
 * waits for an RCU grace period (13-19 ms per create or exec on this v1 host).
 */
export function cgroups1(p: Placement, field = 'linux.cgroupsPath'): { path: string; field: string }[] {
  return p.dirs.filter((d) => d !== p.unified).map((path) => ({ path, field }));
}

/**
 * Starts berth-init for create or exec: connects the console socket first (when
 * there is a terminal: `console` is the engine's socket path, or the fd of berth's
 * own socket when it proxies the terminal), then puts berth-init in the
 * container's cgroup2 directory by pid before it gets its plan, so nothing it
 * starts runs outside it; unless it clones its child into that one
 * (CLONE_INTO_CGROUP). The v1 directories it joins itself (cgroups1 in its plan).
 */
export function startBerthInit(
  mode: 'create' | 'exec',
  preserveFds: number,
  console: string | number | undefined,
  cgroups: Placement,
  o: { clonedInto?: string; field?: string; stdio?: number[] } = {},
): BerthInit {
  const consoleFd = typeof console === 'string' ? connectConsole(console) : console;
  let h: BerthInit;
  try {
    h = { ...spawnBerthInit(mode, preserveFds, consoleFd, o.stdio ?? [0, 1, 2]), cgroups };
  } finally {
    if (typeof console === 'string' && consoleFd !== undefined) closeSync(consoleFd);
  }
  try {
    // Only the cgroup2 directory, and not the one berth-init clones its child into.
    joinCgroups({ ...cgroups, dirs: cgroups.dirs.filter((d) => d === cgroups.unified && d !== o.clonedInto) }, h.pid, o.field);
  } catch (e) {
    process.kill(h.pid, 'SIGKILL');
    endBerthInit(h);
    throw e;
  }
  return h;
}

/**
 * Closes our end of the sync socket and reaps berth-init. It has exited when
 * create or exec got all they waited for; after a failure it may still run and
 * is killed. One that cannot die yet is left for reapLeftBerthInits() (see killAndReap).
 */
export function endBerthInit(h: BerthInit | undefined): void {
  if (!h) return;
  closeSync(h.sock);
  if (!killAndReap(h.pid, h.cgroups)) leftBerthInits.add(h.pid);
}

/**
 * SIGKILL to a child of ours that may still run, and reaps it; false when it
 * cannot die yet: frozen in a v1 cgroup, SIGKILL waits for the thaw, and berth
 * does not wait for that (after a failed create, its cleanup thaws and kills
 * everything in the container's cgroups; a paused container's waits for resume).
 */
export function killAndReap(pid: number, cgroups: Placement): boolean {
  const addon = native();
  try {
    if (addon.reap(pid, false)) return true;
    process.kill(pid, 'SIGKILL');
  } catch {
    return true; // reaped already
  }
  let pidfd: number | undefined;
  try {
    pidfd = addon.pidfdOpen(pid);
    while (!addon.waitFd(pidfd, false, WATCH_MS)) if (frozenBy(cgroups)) return false;
  } catch {
    // gone meanwhile: reaped below
  } finally {
    if (pidfd !== undefined) closeSync(pidfd);
  }
  try {
    addon.reap(pid, true);
  } catch {
    // reaped already
  }
  return true;
}

const leftBerthInits = new Set<number>();

/** Reaps the berth-inits endBerthInit left frozen, once the cleanup has killed them (any not dead yet go to init when berth exits). */
export function reapLeftBerthInits(): void {
  for (const pid of leftBerthInits) {
    try {
      if (!native().reap(pid, false)) continue;
    } catch {
      // not ours any more
    }
    leftBerthInits.delete(pid);
  }
}

/** The watch for berth-init and the processes it starts (pids: those known so far). */
export function watchBerthInit(cgroups: Placement, pids: () => number[]): Watch {
  const stoppedSince = new Map<number, number>();
  return () => {
    const frozen = frozenBy(cgroups);
    if (frozen) throw new BerthError(`waiting for berth-init (linux.cgroupsPath): the container's cgroup was frozen meanwhile: cgroup ${frozen}`);
    for (const pid of pids()) {
      // 'T' is a stop by signal; a tracer's stops ('t') come and go.
      if (pid <= 0 || procStat(pid)?.state !== 'T') {
        stoppedSince.delete(pid);
        continue;
      }
      const since = stoppedSince.get(pid) ?? Date.now();
      stoppedSince.set(pid, since);
      if (Date.now() - since >= STOPPED_MS) throw new BerthError(`waiting for berth-init: process ${pid} is stopped (SIGSTOP) and cannot go on`);
    }
  };
}

/** Waits until fd is readable (writable), asking watch every WATCH_MS; without a watch the read or write itself waits. */
function waitFd(fd: number, writable: boolean, watch: Watch | undefined): void {
  if (watch) while (!native().waitFd(fd, writable, WATCH_MS)) watch();
}

/** A connection to the engine's console socket (--console-socket), for the pty master. */
function connectConsole(path: string): number {
  try {
    return native().connectUnix(path);
  } catch (e) {
    const err = e as { errno?: number; message: string };
    throw new BerthError(`connecting to the console socket ${path} (--console-socket): ${errnoText(e) || err.message}`);
  }
}

// A socket that polls writable has at least half its buffer free: a write of
// this much then never blocks.
const WRITE_CHUNK = 16 << 10;

export function writeAll(fd: number, b: Buffer, watch?: Watch): void {
  for (let off = 0; off < b.length; ) {
    waitFd(fd, true, watch);
    off += writeSync(fd, b, off, watch ? Math.min(WRITE_CHUNK, b.length - off) : b.length - off);
  }
}

function readFull(fd: number, n: number, watch: Watch | undefined): Buffer | undefined {
  const b = Buffer.alloc(n);
  for (let off = 0; off < n; ) {
    let got: number;
    waitFd(fd, false, watch);
    try {
      got = readSync(fd, b, off, n - off, null);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN' || code === 'EINTR') continue;
      if (code === 'ECONNRESET') return undefined;
      throw e;
    }
    if (got === 0) return undefined;
    off += got;
  }
  return b;
}

/** One message, or undefined at EOF. */
export function readMessage(fd: number, watch?: Watch): { type: number; payload: Buffer } | undefined {
  const h = readFull(fd, 8, watch);
  if (!h) return undefined;
  return { type: u32At(h, 0), payload: readFull(fd, u32At(h, 4), watch) ?? Buffer.alloc(0) };
}

/** The error berth-init reported (MSG_ERROR items), worded as Go (and so runc) words it. */
export function initError(payload: Buffer, prefix = ''): SetupError {
  const [step, field, errno, detail, text] = decodeItems(payload) as [string, string, bigint, string, string];
  const cause = [detail, text && text[0].toLowerCase() + text.slice(1)].filter(Boolean).join(': ');
  return new SetupError(`${prefix}${step}${field ? ` (${field})` : ''}: ${cause}`, step, { field: field || undefined, code: errno ? errnoCode(Number(errno)) : undefined, errno: Number(errno) || undefined });
}

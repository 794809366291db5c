// The sync socket between berth and berth-init, read and written synchronously:
// messages are u32 type, u32 payload length, payload (addon/message/plan.def).
import { closeSync, readSync, writeSync } from 'node:fs';
import { BerthError, errnoText } from '../errors';
import { helperExe, native } from '../native/addon';
import { joinCgroups, type Placement } from '../cgroups/cgroups';
import { decodeItems } from '../plan/message';

/**
 * Starts berth-init with its fds laid out: stdio (berth's own, or the pipes of
 * ./stdio.ts), the preserved fds (3 on), the console socket if any (next), the
 * sync socket (last; berth-init closes every fd above it). Returns its pid and
 * our end of the sync socket.
 */
function spawnHelper(mode: 'create' | 'exec', preserveFds: number, consoleFd: number | undefined, stdio: number[]): { pid: number; sock: number } {
  const addon = native();
  const [mine, theirs] = addon.socketpair();
  const fds = [...stdio, ...Array.from({ length: preserveFds }, (_, i) => 3 + i), ...(consoleFd === undefined ? [] : [consoleFd]), theirs];
  try {
    const pid = addon.spawn(helperExe(), ['berth-init', mode, String(fds.length - 1), String(process.pid)], fds);
    return { pid, sock: mine };
  } catch (e) {
    closeSync(mine);
    throw new BerthError(`starting berth-init: ${(e as Error).message}`);
  } finally {
    closeSync(theirs);
  }
}

export interface Helper {
  pid: number;
  sock: number;
}

/**
 * Starts berth-init for create or exec: connects the console socket first (when
 * there is a terminal: `console` is the engine's socket path, or the fd of berth's
 * own socket when it proxies the terminal), then puts berth-init in the
 * container's cgroups before it gets its plan, so nothing it starts runs outside
 * them; except the one it clones the init into (CLONE_INTO_CGROUP).
 */
export function startHelper(
  mode: 'create' | 'exec',
  preserveFds: number,
  console: string | number | undefined,
  cgroups: Placement,
  o: { clonedInto?: string; stdio?: number[] } = {},
): Helper {
  const consoleFd = typeof console === 'string' ? connectConsole(console) : console;
  let h: Helper;
  try {
    h = spawnHelper(mode, preserveFds, consoleFd, o.stdio ?? [0, 1, 2]);
  } finally {
    if (typeof console === 'string' && consoleFd !== undefined) closeSync(consoleFd);
  }
  try {
    // berth-init clones the init straight into `clonedInto` (the cgroup2 dir) itself.
    joinCgroups({ ...cgroups, dirs: cgroups.dirs.filter((d) => d !== o.clonedInto) }, h.pid);
  } catch (e) {
    process.kill(h.pid, 'SIGKILL');
    endHelper(h);
    throw e;
  }
  return h;
}

/** Closes our end of the sync socket and reaps berth-init (which exits early on). */
export function endHelper(h: Helper | undefined): void {
  if (!h) return;
  closeSync(h.sock);
  try {
    native().reap(h.pid, true);
  } catch {
    // reaped already
  }
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

export function writeAll(fd: number, b: Buffer): void {
  for (let off = 0; off < b.length; ) off += writeSync(fd, b, off);
}

function readFull(fd: number, n: number): Buffer | undefined {
  const b = Buffer.alloc(n);
  for (let off = 0; off < n; ) {
    let got: number;
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
export function readMessage(fd: number): { type: number; payload: Buffer } | undefined {
  const h = readFull(fd, 8);
  if (!h) return undefined;
  return { type: h.readUInt32LE(0), payload: readFull(fd, h.readUInt32LE(4)) ?? Buffer.alloc(0) };
}

/** The error berth-init reported (MSG_ERROR items), worded as Go (and so runc) words it. */
export function initError(payload: Buffer, prefix = ''): BerthError {
  const [step, field, , detail, text] = decodeItems(payload) as [string, string, bigint, string, string];
  const cause = [detail, text && text[0].toLowerCase() + text.slice(1)].filter(Boolean).join(': ');
  return new BerthError(`${prefix}${step}${field ? ` (${field})` : ''}: ${cause}`);
}

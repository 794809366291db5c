// Foreground `run` and `exec`: the container's stdio are pipes, never berth's own
// (as runc). Whatever berth was given (the user's terminal, a host file, a socket)
// stays with berth: a container holding the caller's terminal could push input
// into the caller's shell (TIOCSTI), and one holding a host file could change it
// (fchmod, ftruncate) or reopen it through /proc/self/fd. berth copies its stdin
// to the container's (its EOF too) and the container's stdout and stderr to its
// own, until the last writer is gone. Detached runs, create and --preserve-fds
// pass fds as they are: engines hand over pipes and fifos of their own.
// A program using berth as a library (src/lib/) chooses per stream where it goes:
// a fd of its own (copied, never handed over), nothing, or (output) collected in
// memory; the CLI's choice is its own stdio.
import { closeSync, fchownSync, openSync, readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { errnoText } from '../errors';
import { logDebug } from '../log/log';
import { native } from '../native/addon';

/** Where the process's stdin comes from: berth's fd 0, nothing (EOF at once), a fd, or these bytes. */
export type StdinSource = 'inherit' | 'ignore' | number | string | Uint8Array;
/** Where its stdout or stderr goes: berth's fd 1 (2), nowhere, a fd, or collected (`pipe`). */
export type OutputTarget = 'inherit' | 'ignore' | 'pipe' | number;
export interface StdioSpec { stdin: StdinSource; stdout: OutputTarget; stderr: OutputTarget }
export const INHERIT: StdioSpec = { stdin: 'inherit', stdout: 'inherit', stderr: 'inherit' };

/** What `pipe` targets collected. */
export interface Collected { stdout?: Buffer; stderr?: Buffer }

export interface StdioPipes {
  /** The container's ends (its stdin, stdout, stderr): berth-init's fds 0-2. */
  readonly theirs: [number, number, number];
  /**
   * Gives the pipes to the container's root (the host ids of uid/gid 0 of the
   * init's user namespace), as runc does, so it can reopen them through
   * /proc/self/fd.
   */
  ownedBy(initPid: number): void;
  /**
   * Once berth-init has its copies: closes berth's copies of the container's ends
   * (so its exit ends the copying) and copies stdin on, unless the process has a
   * terminal instead.
   */
  handedOver(o: { stdin: boolean }): void;
  /**
   * Resolves once the container's stdout and stderr ended (no writer left) and
   * all they had was written out (or collected). Closes what is left of berth's ends first.
   */
  finish(): Promise<Collected>;
}

export function openStdioPipes(spec: StdioSpec = INHERIT): StdioPipes {
  const addon = native();
  const made: number[] = [];
  let pipes: [number, number][];
  try {
    pipes = [0, 1, 2].map(() => {
      const p = addon.pipe();
      made.push(...p);
      return p;
    });
  } catch (e) {
    for (const fd of made) closeSync(fd);
    throw e;
  }
  const [[inR, inW], [outR, outW], [errR, errW]] = pipes;
  const theirs: [number, number, number] = [inR, outW, errW];
  // Output is copied from the start: createContainer hooks write to the init's
  // stderr while berth is busy talking to berth-init.
  const collected: Collected = {};
  const drained = Promise.all([
    drain(outR, spec.stdout, 1, (b) => (collected.stdout = b)),
    drain(errR, spec.stderr, 2, (b) => (collected.stderr = b)),
  ]);
  let handed = false;
  let stdinOpen = true;
  let stdinSocket: Socket | undefined;
  const closeTheirs = () => {
    if (handed) return;
    handed = true;
    for (const fd of theirs) closeSync(fd);
  };
  return {
    theirs,
    ownedBy(initPid) {
      const root = hostRoot(initPid);
      if (!root) return;
      try {
        for (const fd of theirs) fchownSync(fd, root.uid, root.gid);
      } catch (e) {
        // A convenience, not a guarantee (an unprivileged berth cannot give them away).
        logDebug(`giving the stdio pipes to uid ${root.uid}: ${errnoText(e)}`);
      }
    },
    handedOver(o) {
      closeTheirs();
      stdinOpen = false;
      const src = spec.stdin;
      if (!o.stdin || src === 'ignore') {
        closeSync(inW);
      } else if (src === 'inherit' || typeof src === 'number') {
        // Never keeps berth running: it ends when the process's stdin has no reader left.
        addon.relay(src === 'inherit' ? 0 : src, inW, inW, false);
      } else {
        // The bytes given, then EOF; a process that stops reading early is no error.
        stdinSocket = new (netSocket())({ fd: inW, readable: false, writable: true });
        stdinSocket.on('error', () => stdinSocket?.destroy());
        stdinSocket.end(src);
      }
    },
    async finish() {
      closeTheirs();
      if (stdinOpen) {
        stdinOpen = false;
        closeSync(inW);
      }
      await drained;
      stdinSocket?.destroy();
      return collected;
    },
  };
}

/** Copies (or collects) a container's output pipe until its last writer is gone; closes it then. */
async function drain(fd: number, target: OutputTarget, own: number, keep: (b: Buffer) => void): Promise<void> {
  if (target === 'pipe') {
    const chunks: Buffer[] = [];
    await new Promise<void>((done) => {
      const s = new (netSocket())({ fd, readable: true, writable: false });
      s.on('data', (d: Buffer) => chunks.push(d));
      s.on('error', () => s.destroy());
      s.on('close', () => done());
    });
    keep(Buffer.concat(chunks));
    return;
  }
  if (target !== 'ignore') return native().relay(fd, target === 'inherit' ? own : target, fd, true);
  const devNull = openSync('/dev/null', 'w'); // close-on-exec, as every fd Node opens
  try {
    await native().relay(fd, devNull, fd, true);
  } finally {
    closeSync(devNull);
  }
}

/** The host ids of root in the init's user namespace, when they are not berth's own. */
function hostRoot(pid: number): { uid: number; gid: number } | undefined {
  const map = (file: string): number | undefined => {
    for (const line of readFileSync(`/proc/${pid}/${file}`, 'utf8').split('\n')) {
      const [inside, outside, count] = line.trim().split(/\s+/).map(Number);
      if (inside === 0 && count > 0) return outside;
    }
    return undefined;
  };
  const uid = map('uid_map');
  const gid = map('gid_map');
  if (uid === undefined || gid === undefined || (uid === process.getuid!() && gid === process.getgid!())) return undefined;
  return { uid, gid };
}

/** node:net (with node:stream) is not in Node's startup snapshot (~5 ms to load): only
 * a library's 'pipe' output and bytes for stdin need a Socket; the CLI relays in the addon. */
function netSocket(): typeof Socket {
  return (require('node:net') as typeof import('node:net')).Socket;
}

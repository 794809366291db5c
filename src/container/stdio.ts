// Foreground `run` and `exec`: the container's stdio are pipes, never berth's own
// (as runc). Whatever berth was given (the user's terminal, a host file, a socket)
// stays with berth: a container holding the caller's terminal could push input
// into the caller's shell (TIOCSTI), and one holding a host file could change it
// (fchmod, ftruncate) or reopen it through /proc/self/fd. berth copies its stdin
// to the container's (its EOF too) and the container's stdout and stderr to its
// own, until the last writer is gone. Detached runs, create and --preserve-fds
// pass fds as they are: engines hand over pipes and fifos of their own.
import { closeSync, fchownSync, readFileSync } from 'node:fs';
import { errnoText } from '../errors';
import { logDebug } from '../log/log';
import { native } from '../native/addon';

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
   * all they had was written out. Closes what is left of berth's ends first.
   */
  finish(): Promise<void>;
}

export function openStdioPipes(): StdioPipes {
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
  const drained = Promise.all([addon.relay(outR, 1, outR, true), addon.relay(errR, 2, errR, true)]);
  let handed = false;
  let stdinOpen = true;
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
      // Never keeps berth running: it ends when the process's stdin has no reader left.
      if (o.stdin) addon.relay(0, inW, inW, false);
      else closeSync(inW);
    },
    async finish() {
      closeTheirs();
      if (stdinOpen) {
        stdinOpen = false;
        closeSync(inW);
      }
      await drained;
    },
  };
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

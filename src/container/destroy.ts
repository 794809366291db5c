// Removing a container: every process in its cgroups is killed, the cgroups and
// the state directory are removed, and poststop hooks run.
import { closeSync, existsSync, rmSync } from 'node:fs';
import { cgroupManager } from '../cgroups/manager';
import { NotFoundError, StateError } from '../errors';
import { runHooks } from '../hooks/run';
import { containerPids } from './pids';
import { isAlive } from '../state/proc';
import { type Container, containerDir, loadContainer, lockDir } from '../state/store';
import { sleepSync } from '../sleep';
import { mark } from '../trace';

/** `delete ID [--force]`: a stopped container (with force, any: its processes are killed), its cgroups and state; poststop hooks. */
export function deleteById(root: string, id: string, o: { force?: boolean }): void {
  const dir = containerDir(root, id);
  // Locked before the state is read: a create of the id in flight is waited for,
  // and what it left is what is deleted (never a state read before it finished).
  const unlock = lockDir(dir);
  // As runc: force succeeds for a container that does not exist.
  if (!unlock) {
    if (o.force) return;
    throw new NotFoundError(id);
  }
  try {
    // Under the lock, a directory without a state file is a create killed at its
    // first step: force removes it.
    if (o.force && !existsSync(`${dir}/state.json`)) {
      rmSync(dir, { recursive: true, force: true });
      return;
    }
    const c = loadContainer(root, id);
    const status = c.status();
    // runtime.md: deleting a container that is not stopped MUST fail (runc deletes
    // created ones; engines always pass --force for those).
    if (status !== 'stopped' && !o.force) throw new StateError(`cannot delete container ${id} that is not stopped: ${status}`, id, status);
    mark('locked, status');
    destroy(c, { runPoststop: status !== 'creating' });
  } finally {
    unlock();
  }
}

/** signal to the init and every process in the container's cgroups (sub-cgroups too); SIGKILL so that none escapes. */
export function killAll(c: Container, signal: number): void {
  const s = c.saved;
  if (signal === 9) cgroupManager(s.cgroups).killAll();
  const pids = new Set(signal === 9 && s.cgroups.dirs.length ? [] : containerPids(s));
  if (isAlive(s.pid, s.pidStartTime)) pids.add(s.pid);
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

export function destroy(c: Container, opts: { runPoststop: boolean }): void {
  const s = c.saved;
  const cg = cgroupManager(s.cgroups);
  // A stopped container with a pid namespace of its own: the kernel killed the rest
  // of it before its init ended, so its cgroups are empty unless something joined
  // them since; rmdir tells (refusing a populated one), with no kill and no re-read.
  const emptied = s.ownPidNs && !isAlive(s.pid, s.pidStartTime) && cg.removeIfEmpty();
  const initEnd = emptied ? undefined : initWaiter(s.pid, s.pidStartTime);
  try {
    for (let i = 0; !emptied && i < 500; i++) {
      killAll(c, 9);
      if (!isAlive(s.pid, s.pidStartTime) && cg.pids().length === 0) break;
      reapIfOurs(s.pid);
      // While the init dies the kernel says when (its pidfd); then the rest's exits.
      if (!initEnd?.wait(i < 50 ? 20 : 100)) sleepSync(i < 50 ? 2 : 20);
    }
  } finally {
    initEnd?.close();
  }
  reapIfOurs(s.pid);
  mark('processes killed');
  if (!emptied) cg.destroy();
  mark('cgroups removed');
  if (opts.runPoststop) {
    runHooks('poststop', s.hooks.poststop, { ociVersion: s.ociVersion, id: s.id, status: 'stopped', pid: s.pid, bundle: s.bundle, annotations: s.annotations ?? {} }, { warnOnly: true });
  }
  mark('poststop');
  c.remove();
  mark('state removed');
}

// In `run` and a failed `create`, the init is our own child; reap it so it does
// not linger as a zombie.
function reapIfOurs(pid: number): void {
  if (pid <= 0) return;
  try {
    (require('../native/addon') as typeof import('../native/addon')).native().reap(pid);
  } catch {
    // not our child
  }
}

/** A pidfd of the init while it runs (pid and start time: never a reused pid), to wait
 * on for its end; wait() is false once there is nothing to wait for. */
function initWaiter(pid: number, startTime: string): { wait(ms: number): boolean; close(): void } | undefined {
  if (!isAlive(pid, startTime)) return undefined;
  const addon = (require('../native/addon') as typeof import('../native/addon')).native();
  let fd: number;
  try {
    fd = addon.pidfdOpen(pid);
  } catch {
    return undefined; // gone meanwhile
  }
  // Opened before this check: the fd is the init's, not a successor's.
  let ended = !isAlive(pid, startTime);
  return {
    wait(ms) {
      if (ended) return false;
      ended = addon.waitFd(fd, false, ms);
      return true;
    },
    close: () => closeSync(fd),
  };
}

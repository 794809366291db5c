// Signalling the init through a pidfd that is checked against the saved start
// time, so a recycled pid is never signalled.
import { closeSync } from 'node:fs';
import { BerthError, errnoText, StateError } from '../errors';
import { native } from '../native/addon';
import { isAlive } from '../state/proc';
import { type Container, loadContainer } from '../state/store';
import { parseSignal } from '../signals';

/** `kill ID SIGNAL [--all]`. */
export function killById(root: string, id: string, signal: string | number, o: { all?: boolean }): void {
  const sig = parseSignal(String(signal));
  const c = loadContainer(root, id);
  if (o.all) {
    // runc accepts --all on a stopped container (the shim sends it after exit).
    (require('./destroy') as typeof import('./destroy')).killAll(c, sig);
    return;
  }
  // status() without what only a SIGKILL needs (paused: the freezer's state), nor
  // the exec fifo (created and running are alike here).
  const s = c.saved;
  if (s.phase === 'creating') throw new StateError('container not running', id, c.status());
  if (!isAlive(s.pid, s.pidStartTime)) throw new StateError('container not running', id, 'stopped');
  const paused = sig === 9 && (require('../cgroups/freeze') as typeof import('../cgroups/freeze')).isFrozen(s.cgroups);
  signalInit(c, sig);
  // As runc: other signals wait in the frozen cgroup until resume; SIGKILL thaws
  // it, since v1 frozen tasks would not die before that.
  if (paused) {
    try {
      (require('../cgroups/manager') as typeof import('../cgroups/manager')).cgroupManager(s.cgroups).setFrozen(false);
    } catch {
      // the cgroup went with the container
    }
  }
}

export function signalInit(c: Container, signal: number): void {
  const { pid, pidStartTime } = c.saved;
  let fd: number;
  try {
    fd = native().pidfdOpen(pid);
  } catch {
    throw new StateError(`container ${c.id} is not running`, c.id, 'stopped');
  }
  try {
    if (!isAlive(pid, pidStartTime)) throw new StateError(`container ${c.id} is not running`, c.id, 'stopped');
    native().pidfdSendSignal(fd, signal);
  } catch (e) {
    if (e instanceof BerthError) throw e;
    throw new BerthError(`sending signal ${signal} to container ${c.id}: ${errnoText(e)}`);
  } finally {
    closeSync(fd);
  }
}

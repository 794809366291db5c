// Signalling the init through a pidfd that is checked against the saved start
// time, so a recycled pid is never signalled.
import { closeSync } from 'node:fs';
import { BerthError, errnoText, StateError } from '../errors';
import { native } from '../native/addon';
import { isAlive } from '../state/proc';
import type { Container } from '../state/store';

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

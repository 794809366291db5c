// `start`: release the init waiting on the exec fifo, then run poststart hooks.
import { BerthError, errnoText, StateError } from '../errors';
import { poststartFailureStops, runHooks } from '../hooks/run';
import { type Container, withContainer } from '../state/store';
import { native } from '../native/addon';
import { isAlive } from '../state/proc';
import { sleepSync } from '../sleep';
import { mark } from '../trace';

/** `start ID`: under the container's lock. */
export function startById(root: string, id: string): void {
  withContainer(root, id, startContainer);
}

export function startContainer(c: Container): void {
  const status = c.status();
  if (status === 'stopped') throw new StateError(`cannot start a container that has stopped`, c.id, status);
  if (status !== 'created') throw new StateError(`cannot start a container in the ${status} state`, c.id, status);
  if (c.saved.noProcess) throw new BerthError(`cannot start container ${c.id}: its config.json has no process`);
  mark('status');
  // The byte the init waits for, then a wait for its execve (addon.cc releaseInit):
  // start returns, and poststart hooks run, only after the user process was
  // executed, as the spec says.
  let report: string;
  try {
    report = native().releaseInit(c.fifo).trim();
  } catch (e) {
    // Non-blocking: with no reader (the init died) the write end fails at once with ENXIO.
    if ((e as { syscall?: string }).syscall === 'open') throw new BerthError(`starting container ${c.id}: the init process is not waiting (${errnoText(e)})`);
    throw new BerthError(`starting container ${c.id}: ${errnoText(e)}`);
  }
  mark('process executed');
  // The byte still there means the init died before it could take it; after
  // taking it, the init reports a failure (a startContainer hook's) here.
  if (report === '0') throw new BerthError(`starting container ${c.id}: the init process exited before it was started`);
  if (report) throw new BerthError(report);
  const s = c.saved;
  const stops = poststartFailureStops(s.ociVersion);
  try {
    runHooks('poststart', s.hooks.poststart, { ociVersion: s.ociVersion, id: s.id, status: 'running', pid: s.pid, bundle: s.bundle, annotations: s.annotations ?? {} }, { warnOnly: !stops });
  } catch (e) {
    // runtime.md 1.3: a failed poststart hook stops the container (delete then runs poststop).
    // Loaded only here: destroy brings the cgroup drivers, which a start does not need.
    (require('./destroy') as typeof import('./destroy')).killAll(c, 9);
    for (let i = 0; i < 100 && isAlive(s.pid, s.pidStartTime); i++) sleepSync(10);
    throw e;
  }
}

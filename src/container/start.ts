// `start`: release the init waiting on the exec fifo, then run poststart hooks.
import { closeSync, constants as C, openSync, unlinkSync, writeSync } from 'node:fs';
import { BerthError, errnoText } from '../errors';
import { runHooks } from '../hooks/run';
import type { Container } from '../state/store';

export function startContainer(c: Container): void {
  const status = c.status();
  if (status === 'stopped') throw new BerthError(`cannot start a container that has stopped`);
  if (status !== 'created') throw new BerthError(`cannot start a container in the ${status} state`);
  let fd: number;
  try {
    // Non-blocking: with no reader (the init died) this fails at once with ENXIO.
    fd = openSync(c.fifo, C.O_WRONLY | C.O_NONBLOCK);
  } catch (e) {
    throw new BerthError(`starting container ${c.id}: the init process is not waiting (${errnoText(e)})`);
  }
  try {
    writeSync(fd, '0');
  } finally {
    closeSync(fd);
  }
  unlinkSync(c.fifo);
  const s = c.saved;
  runHooks('poststart', s.hooks.poststart, { ociVersion: s.ociVersion, id: s.id, status: 'running', pid: s.pid, bundle: s.bundle, annotations: s.annotations ?? {} }, { warnOnly: true });
}

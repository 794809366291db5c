// `run`: create + start; in the foreground, forward signals to the init and exit
// with its status (128+N when a signal ended it), then delete the container.
import { native } from '../native/addon';
import { createContainer, type CreateOptions } from './create';
import { destroy } from './destroy';
import { signalInit } from './signal';
import { startContainer } from './start';

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'];

export async function runContainer(o: CreateOptions, r: { detach: boolean; keep: boolean }): Promise<number> {
  const c = await createContainer(o);
  if (r.detach) {
    startContainer(c);
    return 0;
  }
  const handlers = FORWARDED.map((sig) => {
    const h = () => {
      try {
        signalInit(c, require('node:os').constants.signals[sig]);
      } catch {
        // the init is gone; its exit is on its way
      }
    };
    process.on(sig, h);
    return [sig, h] as const;
  });
  // The init is our child (berth-init clones it with CLONE_PARENT).
  const exited = native().waitExit(c.saved.pid);
  try {
    startContainer(c);
  } catch (e) {
    destroy(c, { runPoststop: true });
    throw e;
  }
  const st = await exited;
  for (const [sig, h] of handlers) process.off(sig, h);
  if (!r.keep) {
    const unlock = c.lock();
    try {
      destroy(c, { runPoststop: true });
    } finally {
      unlock();
    }
  }
  return st.signal !== undefined ? 128 + st.signal : (st.code ?? 1);
}

// poll(2) for the library's async iterators (events): the addon's pollIn is
// synchronous, and a long-lived program's event loop must never sleep in it, so
// it runs on a worker thread of its own. A wake pipe ends a wait at once (an
// abort, or the iterator's return()).
import { closeSync, constants as C, openSync, writeSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { native, nativePath } from '../native/addon';

const WORKER = `const { parentPort, workerData } = require('node:worker_threads');
const addon = require(workerData);
parentPort.on('message', (m) => parentPort.postMessage(addon.pollIn(m.fds, m.timeout)));`;

export class Poller {
  private readonly worker: Worker;
  private readonly wakeRead: number;
  private readonly wakeWrite: number;

  constructor() {
    const [r, w] = native().pipe();
    try {
      // pollIn drains what is readable until it would block: the read end must not
      // block. Reopened through /proc it is a description of its own, non-blocking.
      this.wakeRead = openSync(`/proc/self/fd/${r}`, C.O_RDONLY | C.O_NONBLOCK);
    } catch (e) {
      closeSync(w);
      throw e;
    } finally {
      closeSync(r);
    }
    this.wakeWrite = w;
    this.worker = new Worker(WORKER, { eval: true, workerData: nativePath() });
  }

  /** Which of fds are readable after up to timeoutMs, or undefined when woken. */
  wait(fds: number[], timeoutMs: number): Promise<boolean[] | undefined> {
    return new Promise((resolve, reject) => {
      const onError = (e: Error) => reject(e);
      this.worker.once('error', onError);
      this.worker.once('message', (ready: boolean[]) => {
        this.worker.off('error', onError);
        resolve(ready[fds.length] ? undefined : ready.slice(0, fds.length));
      });
      this.worker.postMessage({ fds: [...fds, this.wakeRead], timeout: timeoutMs });
    });
  }

  /** Ends the current (or next) wait. */
  wake(): void {
    try {
      writeSync(this.wakeWrite, '.');
    } catch {
      // closed: nothing waits any more
    }
  }

  async close(): Promise<void> {
    this.wake();
    await this.worker.terminate();
    closeSync(this.wakeRead);
    closeSync(this.wakeWrite);
  }
}

// Foreground `run` and `exec`: signals berth gets go to the container's process
// (which may have exited already: then there is nothing to do).
import { SIGNALS } from '../signals';

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'];

/**
 * Forwards signals with send(number) until the returned function is called.
 * With a proxied terminal SIGWINCH is not sent on: resizing the pty signals the
 * container's foreground process group itself.
 */
export function forwardSignals(send: (signal: number) => void, o: { proxiedTerminal?: boolean } = {}): () => void {
  const handlers = FORWARDED.filter((sig) => !(o.proxiedTerminal && sig === 'SIGWINCH')).map((sig) => {
    const h = () => {
      try {
        send(SIGNALS[sig]);
      } catch {
        // the process is gone; its exit is on its way
      }
    };
    process.on(sig, h);
    return [sig, h] as const;
  });
  return () => {
    for (const [sig, h] of handlers) process.off(sig, h);
  };
}

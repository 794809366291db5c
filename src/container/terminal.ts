// A terminal proxied by berth itself: `run` (and `exec`) in the foreground with
// process.terminal and no --console-socket, as runc does. berth-init sends the
// pty master over a socket pair instead of the engine's socket; berth copies its
// own stdin to the master and the master to its stdout, with its terminal in raw
// mode and the pty sized like it (and resized with it).
import { closeSync } from 'node:fs';
import type { ReadStream } from 'node:tty';
import { native } from '../native/addon';

export interface TerminalProxy {
  /** The fd berth-init gets as its console socket (the other end stays with berth). */
  readonly theirs: number;
  /** Takes the master berth-init sent, sizes it and starts copying. */
  attach(): void;
  /**
   * After the process exited: waits until the output it left in the pty has been
   * written, then gives the terminal back as it was.
   */
  finish(): Promise<void>;
  /** Gives everything back at once (a failure, or no terminal after all). */
  close(): void;
}

export function openTerminalProxy(): TerminalProxy {
  const addon = native();
  // Only a socket pair until the config turns out to want a terminal: berth's own
  // stdin and stdout (whose getters set up streams) are touched in attach().
  const [mine, theirs] = addon.socketpair();
  let pty: ReadStream | undefined;
  let master = -1;
  let closed: Promise<void> = Promise.resolve();
  let wasRaw = false;
  const resize = () => {
    if (master >= 0 && process.stdout.isTTY) addon.setWindowSize(master, process.stdout.rows, process.stdout.columns);
  };
  const forward = (d: Buffer) => pty?.write(d);

  const release = () => {
    const stdin = process.stdin;
    process.stdout.off('resize', resize);
    stdin.off('data', forward);
    if (stdin.isTTY) stdin.setRawMode(wasRaw);
    stdin.pause();
    stdin.unref?.();
    pty?.destroy();
  };

  return {
    theirs,
    attach() {
      closeSync(theirs);
      try {
        master = addon.recvFd(mine);
      } finally {
        closeSync(mine);
      }
      // The pty starts at process.consoleSize; a terminal of our own wins, as with runc.
      const stdin = process.stdin;
      const stdout = process.stdout;
      resize();
      stdout.on('resize', resize);
      // A TTY stream (net.Socket refuses tty fds); its handle writes as well as reads.
      // node:tty (with node:net) only when a terminal is proxied: not in Node's startup snapshot.
      const { ReadStream } = require('node:tty') as typeof import('node:tty');
      pty = new ReadStream(master);
      closed = new Promise((done) => {
        pty!.on('data', (d: Buffer) => stdout.write(d));
        // The master reads EIO once no process holds the slave any more: the end.
        pty!.on('error', () => done());
        pty!.on('close', () => done());
      });
      wasRaw = stdin.isTTY ? stdin.isRaw : false;
      if (stdin.isTTY) stdin.setRawMode(true);
      stdin.on('data', forward);
      stdin.resume();
    },
    async finish() {
      // A process of the container that outlives the init may hold the slave
      // (no pid namespace): stop waiting for its EOF after a moment.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([closed, new Promise<void>((r) => (timer = setTimeout(r, 1000)))]);
      clearTimeout(timer);
      await new Promise<void>((r) => (process.stdout.writableNeedDrain ? process.stdout.once('drain', () => r()) : r()));
      release();
    },
    close() {
      if (master >= 0) return release();
      for (const fd of [mine, theirs]) {
        try {
          closeSync(fd);
        } catch {
          // closed by attach
        }
      }
    },
  };
}

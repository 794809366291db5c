// `run`: create + start; in the foreground, forward signals to the init and exit
// with its status (128+N when a signal ended it), then delete the container. A
// failure after create removes the container again: run leaves nothing half-made.
import { native } from '../native/addon';
import { createContainer, type CreateOptions } from './create';
import { destroy, killAll } from './destroy';
import { forwardSignals } from './forward';
import { signalInit } from './signal';
import { startContainer } from './start';
import { type Collected, INHERIT, openStdioPipes, type StdioSpec } from './stdio';
import { openTerminalProxy, type TerminalProxy } from './terminal';
import { mark } from '../trace';

export interface RunOptions {
  detach: boolean;
  keep: boolean;
  /** The foreground process's stdio (default: berth's own, copied). */
  stdio?: StdioSpec;
  /** berth's own terminal is the other end of a process.terminal (the CLI; needs berth's stdio). */
  proxyTerminal?: boolean;
  /** Signals berth gets go to the container (the CLI; a library never takes a process's signals). */
  forwardSignals?: boolean;
  /** Ends the wait: the container is killed, removed (unless keep), and the run rejects with the reason. */
  signal?: AbortSignal;
}

export interface RunResult extends Collected {
  /** The exit code, or 128+N when signal N ended the process (0 when detached). */
  status: number;
}

export async function runContainer(o: CreateOptions, r: RunOptions): Promise<RunResult> {
  r.signal?.throwIfAborted();
  // In the foreground without --console-socket berth is the terminal's other end
  // (used only when the config asks for a terminal).
  let proxy: TerminalProxy | undefined = !r.detach && r.proxyTerminal && o.consoleSocket === undefined ? openTerminalProxy() : undefined;
  // In the foreground the container gets pipes that berth copies, not berth's own
  // stdio (which it keeps when detached, as the caller asked).
  const pipes = r.detach ? undefined : openStdioPipes(r.stdio ?? INHERIT);
  mark('stdio pipes (loads the addon)');
  let c;
  try {
    const created = await createContainer({ ...o, proxyConsole: proxy?.theirs, stdio: pipes?.theirs });
    created.unlock();
    c = created.c;
  } catch (e) {
    proxy?.close();
    await pipes?.finish();
    throw e;
  }
  if (proxy && !c.saved.process?.terminal) {
    proxy.close();
    proxy = undefined;
  }
  let stopForwarding = () => {};
  const kill = () => killAll(c, 9);
  let status: number;
  try {
    if (r.detach) {
      startContainer(c);
      return { status: 0 };
    }
    pipes?.ownedBy(c.saved.pid);
    pipes?.handedOver({ stdin: !c.saved.process?.terminal });
    proxy?.attach();
    if (r.forwardSignals) stopForwarding = forwardSignals((sig) => signalInit(c, sig), { proxiedTerminal: !!proxy });
    // The init is our child (berth-init clones it with CLONE_PARENT).
    r.signal?.throwIfAborted();
    const exited = native().waitExit(c.saved.pid);
    // When start fails, destroy() below reaps the init and this wait ends in ECHILD:
    // handled here, so the start error is what the caller sees.
    exited.catch(() => {});
    r.signal?.addEventListener('abort', kill, { once: true });
    startContainer(c);
    const st = await exited;
    mark('process exited');
    // From here a signal is berth's own again (^C while the output drains ends berth).
    stopForwarding();
    status = st.signal !== undefined ? 128 + st.signal : (st.code ?? 1);
    await proxy?.finish();
  } catch (e) {
    proxy?.close();
    destroy(c, { runPoststop: true });
    await pipes?.finish();
    throw e;
  } finally {
    stopForwarding();
    r.signal?.removeEventListener('abort', kill);
  }
  if (!r.keep) {
    const unlock = c.lock();
    try {
      destroy(c, { runPoststop: true });
    } finally {
      unlock();
    }
  }
  // What the container wrote before it ended, up to the last writer (with --keep
  // and no pid namespace of its own, processes it left may still hold them).
  const collected = (await pipes?.finish()) ?? {};
  mark('stdio drained');
  r.signal?.throwIfAborted();
  return { status, ...collected };
}

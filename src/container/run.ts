// `run`: create + start; in the foreground, forward signals to the init and exit
// with its status (128+N when a signal ended it), then delete the container. A
// failure after create removes the container again: run leaves nothing half-made.
import { native } from '../native/addon';
import { createContainer, type CreateOptions } from './create';
import { destroy } from './destroy';
import { forwardSignals } from './forward';
import { signalInit } from './signal';
import { startContainer } from './start';
import { openStdioPipes } from './stdio';
import { openTerminalProxy, type TerminalProxy } from './terminal';
import { mark } from '../trace';

export async function runContainer(o: CreateOptions, r: { detach: boolean; keep: boolean }): Promise<number> {
  // In the foreground without --console-socket berth is the terminal's other end
  // (used only when the config asks for a terminal).
  let proxy: TerminalProxy | undefined = !r.detach && o.consoleSocket === undefined ? openTerminalProxy() : undefined;
  // In the foreground the container gets pipes that berth copies, not berth's own
  // stdio (which it keeps when detached, as the caller asked).
  const pipes = r.detach ? undefined : openStdioPipes();
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
  let status: number;
  try {
    if (r.detach) {
      startContainer(c);
      return 0;
    }
    pipes?.ownedBy(c.saved.pid);
    pipes?.handedOver({ stdin: !c.saved.process?.terminal });
    proxy?.attach();
    stopForwarding = forwardSignals((sig) => signalInit(c, sig), { proxiedTerminal: !!proxy });
    // The init is our child (berth-init clones it with CLONE_PARENT).
    const exited = native().waitExit(c.saved.pid);
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
  await pipes?.finish();
  mark('stdio drained');
  return status;
}

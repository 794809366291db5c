// `exec`: run another process in a running (or created) container. berth-init
// joins the init's namespaces and cgroups, then forks the process (its parent is
// berth, CLONE_PARENT) which takes on the user, capabilities, rlimits, seccomp
// profile and cwd asked for and execs. In the foreground berth forwards signals and
// exits with the process's status; with --detach it leaves it to its new parent.
import { resolve } from 'node:path';
import { execCgroups, execDefaultCgroups } from '../cgroups/placement';
import { frozenBy } from '../cgroups/freeze';
import { BerthError, errnoText, StateError } from '../errors';
import { native } from '../native/addon';
import { encodeExecPlan, namespaceJoins } from '../plan/exec';
import { CLONE } from '../plan/tables';
import * as K from '../plan/generated';
import { decodeItems, encodeMessage } from '../plan/message';
import { sendSeccompListener } from '../seccomp/listener';
import type { Process } from '../spec/types';
import { loadContainer, writeAtomic } from '../state/store';
import { forwardSignals } from './forward';
import { type Collected, INHERIT, openStdioPipes, type StdioPipes, type StdioSpec } from './stdio';
import { cgroups1, endBerthInit, type BerthInit, initError, killAndReap, readMessage, startBerthInit, watchBerthInit, writeAll } from './sync';
import { openTerminalProxy } from './terminal';
import { mark } from '../trace';

export interface ExecOptions {
  root: string;
  id: string;
  processFile?: string;
  args: string[];
  detach: boolean;
  pidFile?: string;
  tty: boolean;
  consoleSocket?: string;
  preserveFds: number;
  cwd?: string;
  env: string[];
  user?: string;
  additionalGids: string[];
  caps: string[];
  noNewPrivs: boolean;
  apparmor?: string;
  processLabel?: string;
  ignorePaused: boolean;
  /** --cgroup: sub-cgroups of the container's to run in (runc 1.1). */
  cgroups?: string[];
  /** The process to run as it is (a library's), instead of --process FILE or args. */
  process?: Process;
  /** The foreground process's stdio (default: berth's own, copied). */
  stdio?: StdioSpec;
  /** berth's own terminal is the other end of a process.terminal without a console socket (the CLI). */
  proxyTerminal?: boolean;
  /** Signals berth gets go to the process (the CLI; a library never takes a process's signals). */
  forwardSignals?: boolean;
  /** Ends the wait: the process is killed and the exec rejects with the reason. */
  signal?: AbortSignal;
}

export interface ExecResult extends Collected {
  /** The exit code, or 128+N when signal N ended the process (0 when detached). */
  status: number;
}


/** The process to run: --process FILE (with the container's AppArmor profile if it has none), or the container's own process with the flags applied (as runc). */
export function execProcess(base: Process | undefined, o: ExecOptions): Process {
  if (o.processFile || o.process) {
    const v: typeof import('../spec/validate') = require('../spec/validate');
    let p: Process;
    if (o.process) {
      const copy: unknown = JSON.parse(JSON.stringify(o.process));
      v.validate('process', copy, 'process');
      p = copy;
    } else {
      p = v.loadProcess(resolve(o.processFile!));
    }
    // As runc: a process without a profile of its own runs under the container's.
    if (!p.apparmorProfile && base?.apparmorProfile) p.apparmorProfile = base.apparmorProfile;
    return p;
  }
  if (!o.args.length) throw new BerthError('exec: a command to run is required (or --process FILE)');
  const p: Process = JSON.parse(JSON.stringify(base ?? { cwd: '/', args: ['sh'] }));
  p.args = o.args as [string, ...string[]];
  p.terminal = o.tty;
  if (o.cwd) p.cwd = o.cwd;
  if (o.env.length) p.env = [...(p.env ?? []), ...o.env];
  if (o.user) {
    const m = /^(\d+)(?::(\d+))?$/.exec(o.user);
    if (!m) throw new BerthError(`--user: expected UID[:GID], got ${JSON.stringify(o.user)}`);
    p.user = { ...(p.user ?? { uid: 0, gid: 0 }), uid: Number(m[1]), gid: m[2] !== undefined ? Number(m[2]) : (p.user?.gid ?? 0) };
  }
  if (o.additionalGids.length) {
    const gids = o.additionalGids.map(Number);
    if (gids.some((g) => !Number.isInteger(g) || g < 0)) throw new BerthError('--additional-gids: expected numbers');
    p.user = { ...(p.user ?? { uid: 0, gid: 0 }), additionalGids: gids };
  }
  if (o.caps.length) {
    const c = (p.capabilities ??= {});
    for (const set of ['bounding', 'effective', 'permitted'] as const) c[set] = [...new Set([...(c[set] ?? []), ...o.caps])];
  }
  if (o.noNewPrivs) p.noNewPrivileges = true;
  if (o.apparmor) p.apparmorProfile = o.apparmor;
  if (o.processLabel) p.selinuxLabel = o.processLabel;
  return p;
}

export async function execInContainer(o: ExecOptions): Promise<ExecResult> {
  o.signal?.throwIfAborted();
  const c = loadContainer(o.root, o.id);
  const status = c.status();
  if (status === 'stopped' || status === 'creating') throw new StateError(`cannot exec in a ${status} container`, c.id, status);
  if (status === 'paused' && !o.ignorePaused) throw new StateError('cannot exec in a paused container (pass --ignore-paused to try anyway)', c.id, status);
  const proc = execProcess(c.saved.process, o);
  const cgroups = o.cgroups?.length ? execCgroups(c.saved.cgroups, o.cgroups) : execDefaultCgroups(c.saved.cgroups, c.saved.pid);
  // A frozen (sub-)cgroup would freeze berth-init and keep exec waiting.
  const frozen = o.ignorePaused ? undefined : frozenBy(cgroups);
  if (frozen) throw new BerthError(`cannot exec in a frozen cgroup: ${frozen} (pass --ignore-paused to wait for the thaw)`);
  if (proc.terminal && !o.consoleSocket && o.detach) throw new BerthError('exec: a detached terminal needs --console-socket');
  if (proc.terminal && !o.consoleSocket && !o.proxyTerminal) throw new BerthError('exec: a terminal needs a console socket (consoleSocket)');
  let seccomp: { bpf: Buffer; flags: number; listener: boolean } | undefined;
  let listener: { path: string; metadata: string } | undefined;
  if (c.saved.seccomp) {
    const { CACHE_DIR, compileSeccomp } = require('../seccomp/compile') as typeof import('../seccomp/compile');
    const s = compileSeccomp(c.saved.seccomp, { cacheDir: resolve(o.root, CACHE_DIR) });
    // With SCMP_ACT_NOTIFY the exec'd process gets a listener of its own, sent to
    // listenerPath as runc sends it (its notifications are not the init's).
    listener = s.listener;
    seccomp = { bpf: s.bpf, flags: s.flags, listener: !!s.listener };
  }
  const consoleFd = proc.terminal ? 3 + o.preserveFds : undefined;
  // A terminal berth proxies starts at the size of berth's own (resizes follow
  // later): the process runs at once, and would otherwise see 0x0 until berth sizes it.
  if (proc.terminal && !o.consoleSocket && !o.detach && o.proxyTerminal && process.stdout.isTTY) proc.consoleSize = { height: process.stdout.rows, width: process.stdout.columns };
  mark('state, checks');
  const field = o.cgroups?.length ? 'exec --cgroup' : undefined;
  const joins = namespaceJoins(c.saved.pid);
  // The process is cloned into the cgroup2 directory (CLONE_INTO_CGROUP: no process
  // moved by pid, so no wait for the kernel's global lock; see cgroups1), but not
  // through a joined user namespace: its root may not move a process into a host
  // cgroup (EACCES). berth puts berth-init there by pid then.
  const cloneInto = joins.some((j) => j.type === CLONE.user) ? undefined : cgroups.unified;
  const msg = encodeExecPlan(proc, { joins, preserveFds: o.preserveFds, seccomp, consoleFd, cgroups1: cgroups1(cgroups, field), cgroup2: cloneInto });

  const addon = native();
  // In the foreground without --console-socket berth is the terminal's other end.
  const proxy = proc.terminal && !o.consoleSocket ? openTerminalProxy() : undefined;
  let h: BerthInit | undefined;
  let pid = 0;
  let pipes: StdioPipes | undefined;
  // Caught from before the process exists: it may run (and be signalled) before
  // berth is done with berth-init, and a TERM then must reach it, not end berth.
  // The handlers run once berth is back in its event loop, with pid known.
  const stopForwarding = o.detach || !o.forwardSignals ? () => {} : forwardSignals((sig) => pid && process.kill(pid, sig), { proxiedTerminal: !!proxy });
  try {
    // In the foreground the process gets pipes that berth copies, not berth's own
    // stdio (which it keeps when detached, as the caller asked).
    if (!o.detach && !proc.terminal) {
      pipes = openStdioPipes(o.stdio ?? INHERIT);
      pipes.ownedBy(c.saved.pid);
    }
    h = startBerthInit('exec', o.preserveFds, proc.terminal ? (o.consoleSocket ?? proxy?.theirs) : undefined, cgroups, {
      field,
      clonedInto: cloneInto,
      stdio: pipes?.theirs,
    });
    mark('berth-init spawned');
    const mine = h.sock;
    const berthInitPid = h.pid;
    // With --ignore-paused, exec waits for the thaw, as asked.
    const watch = o.ignorePaused ? undefined : watchBerthInit(cgroups, () => [berthInitPid, pid]);
    writeAll(mine, msg, watch);
    mark('plan sent');
    // PID, then EOF once the process has exec'd (the socket is close-on-exec), or
    // an error from any step before.
    // The process waits for MSG_COMMIT after it reported its listener (which may
    // come before berth-init's MSG_PID): berth copies the fd out first.
    let listenerFd: number | undefined;
    const sendListener = () => {
      if (!pid || listenerFd === undefined) return;
      sendSeccompListener(c.saved, { pid, fd: listenerFd }, listener!, 'running');
      listenerFd = undefined;
      writeAll(mine, encodeMessage(K.MSG_COMMIT, ''), watch);
    };
    for (let m = readMessage(mine, watch); m; m = readMessage(mine, watch)) {
      const items = decodeItems(m.payload);
      if (m.type === K.MSG_PID) {
        pid = Number(items[0]);
        mark('process cloned');
      }
      else if (m.type === K.MSG_ERROR) throw initError(m.payload, 'exec: ');
      else if (m.type === K.MSG_SECCOMP_FD && listener) listenerFd = Number(items[0]);
      else throw new BerthError(`exec: unexpected message ${m.type} from berth-init`);
      sendListener();
    }
    if (!pid) throw new BerthError('exec: berth-init exited before it started the process');
    mark('process executed');
    endBerthInit(h);
    mark('berth-init reaped');
    h = undefined;
    // As runc: a pid file that cannot be written fails the exec, and the process goes.
    if (o.pidFile) writePidFile(o.pidFile, pid);
    pipes?.handedOver({ stdin: true });
    proxy?.attach();
  } catch (e) {
    stopForwarding();
    proxy?.close();
    if (pid) killAndReap(pid, cgroups);
    endBerthInit(h);
    await pipes?.finish();
    throw e;
  }
  if (o.detach) return { status: 0 };
  const kill = () => process.kill(pid, 'SIGKILL');
  o.signal?.addEventListener('abort', kill, { once: true });
  if (o.signal?.aborted) kill();
  let st;
  try {
    st = await addon.waitExit(pid);
  } finally {
    o.signal?.removeEventListener('abort', kill);
  }
  mark('process exited');
  // From here a signal is berth's own again (^C while the output drains ends berth).
  stopForwarding();
  await proxy?.finish();
  // Everything the process (and whatever it left holding its stdout and stderr) wrote.
  const collected = (await pipes?.finish()) ?? {};
  mark('stdio drained');
  o.signal?.throwIfAborted();
  return { status: st.signal !== undefined ? 128 + st.signal : (st.code ?? 1), ...collected };
}

function writePidFile(path: string, pid: number): void {
  try {
    writeAtomic(resolve(path), String(pid));
  } catch (e) {
    throw new BerthError(`writing the pid file ${path} (--pid-file): ${errnoText(e)}`);
  }
}

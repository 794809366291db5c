// berth as a library: a Runtime drives containers under one --root in the
// calling Node process, with the code the CLI runs (src/cli/ is a layer over
// this one: argument parsing, output formats, exit codes). Every call is
// self-contained: it takes no signal handlers, never exits or changes the cwd,
// umask or environment, and closes every fd it opened; the log and --rootless
// settings (process-wide in berth's modules) are set again at each call.
import { readFileSync, statSync } from 'node:fs';
import { BerthError, StateError } from '../errors';
import { setupLog } from '../log/log';
import { prepareRoot, setRootlessCgroups } from '../rootless';
import type { ContainerEvent } from '../container/events';
import type { ExecOptions } from '../container/exec';
import type { Collected, OutputTarget, StdinSource, StdioSpec } from '../container/stdio';
import type { LinuxResources, Process } from '../spec/types';
import type { Container } from '../state/store';

export type { ContainerEvent } from '../container/events';
export type { OutputTarget, StdinSource } from '../container/stdio';
export type { LinuxResources, Process, Spec } from '../spec/types';

export interface RuntimeOptions {
  /** Where container state lives (runc's --root), e.g. /run/berth. */
  root: string;
  /** A log file (runc's --log), or its settings; without one, warnings go to stderr. */
  log?: string | { file?: string; format?: 'text' | 'json'; debug?: boolean };
  /** Cgroups through systemd (runc's --systemd-cgroup). */
  systemdCgroup?: boolean;
  /** runc's --rootless: whether cgroup permission errors are borne (default auto). */
  rootless?: 'auto' | 'true' | 'false';
}

/** The state of a container, as `berth state` prints it. */
export interface State {
  ociVersion: string;
  id: string;
  pid: number;
  status: 'creating' | 'created' | 'running' | 'paused' | 'stopped';
  bundle: string;
  rootfs: string;
  created: string;
  owner: string;
  annotations?: Record<string, string>;
}

export interface CreateOptions {
  /** The bundle directory (config.json and its root filesystem). */
  bundle: string;
  pidFile?: string;
  /** An AF_UNIX socket to receive the pty master when process.terminal is set. */
  consoleSocket?: string;
  /** Hand fds 3..3+N-1 of this process to the container. */
  preserveFds?: number;
  noPivot?: boolean;
  noNewKeyring?: boolean;
}

/** stdio of a foreground process: one setting for all three, or [stdin, stdout, stderr]. */
export type Stdio = 'inherit' | 'ignore' | 'pipe' | [StdinSource, OutputTarget, OutputTarget];

export interface WaitOptions {
  /**
   * Where the process's stdio goes (default ['ignore', 'inherit', 'inherit']).
   * The process gets pipes, never these fds: berth copies a fd given (or this
   * process's own, 'inherit'), a string or Buffer is the stdin's whole content,
   * and 'pipe' collects the output into the result's stdout and stderr.
   */
  stdio?: Stdio;
  /** Aborting kills the process (run: the container) and rejects with the signal's reason. */
  signal?: AbortSignal;
}

export interface RunOptions extends CreateOptions, WaitOptions {
  /** Keep the stopped container (default: deleted once it exits). */
  keep?: boolean;
  /** Start it and return at once ({ status: 0 }): stdio is the create's (this process's own fds). */
  detach?: boolean;
  /** @internal berth's own terminal is the other end of process.terminal (the CLI). */
  proxyTerminal?: boolean;
  /** @internal signals this process gets go to the container (the CLI). */
  forwardSignals?: boolean;
}

export interface ExecCallOptions extends WaitOptions, Partial<Omit<ExecOptions, 'root' | 'id' | 'args' | 'process' | 'processFile' | 'stdio' | 'signal' | 'tty' | 'proxyTerminal' | 'forwardSignals'>> {
  /** Give the process a terminal (with consoleSocket). */
  tty?: boolean;
  /** @internal berth's own terminal is the other end of process.terminal (the CLI). */
  proxyTerminal?: boolean;
  /** @internal signals this process gets go to the process (the CLI). */
  forwardSignals?: boolean;
}

/** What a foreground process ended with. */
export interface Exit extends Collected {
  /** Its exit code, or 128+N when signal N ended it. */
  status: number;
}

export class Runtime {
  readonly root: string;
  private readonly log: { file?: string; format: 'text' | 'json'; debug: boolean };

  constructor(private readonly options: RuntimeOptions) {
    if (!options?.root) throw new BerthError('new Runtime: root is required');
    this.root = options.root;
    const log = typeof options.log === 'string' ? { file: options.log } : (options.log ?? {});
    this.log = { file: log.file, format: log.format ?? 'text', debug: !!log.debug };
    this.enter();
    prepareRoot(this.root);
  }

  /** Sets the process-wide settings berth's modules read to this runtime's. */
  private enter(): void {
    setupLog(this.log);
    setRootlessCgroups(this.options.rootless);
  }

  private load(id: string): Container {
    this.enter();
    const { loadContainer } = require('../state/store') as typeof import('../state/store');
    return loadContainer(this.root, id);
  }

  private createOptions(id: string, o: CreateOptions): import('../container/create').CreateOptions {
    if (!o?.bundle) throw new BerthError('create: bundle is required');
    return {
      root: this.root, id, bundle: o.bundle, pidFile: o.pidFile, consoleSocket: o.consoleSocket, noPivot: !!o.noPivot,
      noNewKeyring: !!o.noNewKeyring, preserveFds: o.preserveFds ?? 0, systemdCgroup: !!this.options.systemdCgroup,
    };
  }

  /** Sets the container up; its init waits in "created" for start(). */
  async create(id: string, o: CreateOptions): Promise<State> {
    this.enter();
    const { createContainer } = require('../container/create') as typeof import('../container/create');
    const { c, unlock } = await createContainer(this.createOptions(id, o));
    unlock();
    return c.publicState() as unknown as State;
  }

  /** Runs the user process of a created container (poststart hooks after). */
  async start(id: string): Promise<void> {
    this.enter();
    (require('../container/start') as typeof import('../container/start')).startById(this.root, id);
  }

  async state(id: string): Promise<State> {
    return this.load(id).publicState() as unknown as State;
  }

  /** Sends signal (a name such as 'TERM' or 'SIGKILL', or a number; default SIGTERM) to the init, or to every process with all. */
  async kill(id: string, signal: string | number = 'SIGTERM', o: { all?: boolean } = {}): Promise<void> {
    this.enter();
    (require('../container/signal') as typeof import('../container/signal')).killById(this.root, id, signal, o);
  }

  /** Removes a stopped container (with force, any: its processes are killed), its cgroups and state; poststop hooks. */
  async delete(id: string, o: { force?: boolean } = {}): Promise<void> {
    this.enter();
    (require('../container/destroy') as typeof import('../container/destroy')).deleteById(this.root, id, o);
  }

  /**
   * create + start, then waits for the container's process and deletes the
   * container (unless keep); resolves to its exit status (and collected output).
   */
  async run(id: string, o: RunOptions): Promise<Exit> {
    this.enter();
    const { runContainer } = require('../container/run') as typeof import('../container/run');
    return runContainer(this.createOptions(id, o), {
      detach: !!o.detach, keep: !!o.keep, stdio: stdioSpec(o.stdio), proxyTerminal: o.proxyTerminal,
      forwardSignals: o.forwardSignals, signal: o.signal,
    });
  }

  /**
   * Runs another process in the container and waits for it: the container's own
   * process with these args (an array), or this process (runtime-spec's process
   * object, used as it is).
   */
  async exec(id: string, process: Process | string[], o: ExecCallOptions = {}): Promise<Exit> {
    this.enter();
    const { execInContainer } = require('../container/exec') as typeof import('../container/exec');
    const given = Array.isArray(process) ? undefined : { ...process, terminal: o.tty ?? process.terminal };
    return execInContainer({
      env: [], additionalGids: [], caps: [], noNewPrivs: false, ignorePaused: false, preserveFds: 0, detach: false,
      ...o, tty: !!o.tty, root: this.root, id, args: Array.isArray(process) ? process : [], process: given,
      stdio: stdioSpec(o.stdio),
    });
  }

  /**
   * The container's events until it stops (or the signal aborts): a stats event
   * every interval (ms, or a Go duration such as '5s'; default 5 s) and an oom
   * event whenever the OOM killer acts in it.
   */
  async *events(id: string, o: { interval?: number | string; signal?: AbortSignal } = {}): AsyncGenerator<ContainerEvent, void, undefined> {
    const ev = require('../container/events') as typeof import('../container/events');
    const c = this.load(id);
    const interval = typeof o.interval === 'string' ? ev.parseDuration(o.interval) : (o.interval ?? 5000);
    ev.checkEvents(c, interval);
    o.signal?.throwIfAborted();
    const src = ev.openEvents(c, interval);
    if (!src) return;
    const { Poller } = require('./poller') as typeof import('./poller');
    const poller = new Poller();
    const wake = () => poller.wake();
    o.signal?.addEventListener('abort', wake, { once: true });
    try {
      for (;;) {
        const ready = await poller.wait(src.fds, src.timeout());
        o.signal?.throwIfAborted();
        if (!ready) continue;
        this.enter();
        const { events, done } = src.step(ready);
        for (const e of events) yield e;
        if (done) return;
      }
    } finally {
      o.signal?.removeEventListener('abort', wake);
      await poller.close();
      src.close();
    }
  }

  /** One stats event (runc's events --stats). */
  async stats(id: string): Promise<ContainerEvent> {
    const ev = require('../container/events') as typeof import('../container/events');
    const c = this.load(id);
    ev.checkEvents(c, 1);
    return ev.statsEvent(c);
  }

  /** New limits (a linux.resources document, validated); a value the kernel refuses names the field, and what was written before it is put back. */
  async update(id: string, resources: LinuxResources, o: { /** @internal the CLI's flags, checked as it parsed them */ checked?: boolean } = {}): Promise<void> {
    const v: typeof import('../spec/validate') = require('../spec/validate');
    const u = require('../container/update') as typeof import('../container/update');
    const { loadContainer } = require('../state/store') as typeof import('../state/store');
    const c = this.load(id);
    let r: LinuxResources = resources;
    if (!o.checked) {
      const copy: unknown = JSON.parse(JSON.stringify(resources ?? {}));
      v.validate('resources', copy, 'resources');
      r = copy;
    }
    const unlock = c.lock();
    try {
      // Read again under the lock: another update may have recorded its limits meanwhile.
      u.updateContainer(loadContainer(this.root, id), r);
    } finally {
      unlock();
    }
  }

  /** Freezes the container's processes (a created container too, as runc). */
  async pause(id: string): Promise<void> {
    this.frozen(id, true);
  }

  async resume(id: string): Promise<void> {
    this.frozen(id, false);
  }

  private frozen(id: string, freeze: boolean): void {
    this.enter();
    const { withContainer } = require('../state/store') as typeof import('../state/store');
    const { cgroupManager } = require('../cgroups/manager') as typeof import('../cgroups/manager');
    withContainer(this.root, id, (c) => {
      const status = c.status();
      if (freeze && status !== 'running' && status !== 'created') throw new StateError(`container not running: ${id} is ${status}`, id, status);
      if (!freeze && status !== 'paused') throw new StateError(`container not paused: ${id} is ${status}`, id, status);
      cgroupManager(c.saved.cgroups).setFrozen(freeze);
    });
  }

  /** The containers under root; owner is the user owning the state directory, as runc has it. */
  async list(): Promise<State[]> {
    this.enter();
    const { listContainers } = require('../state/store') as typeof import('../state/store');
    return listContainers(this.root).map((c) => Object.assign(c.publicState(), { owner: ownerOf(c.dir) }) as unknown as State);
  }

  /** The host pids of the container's processes (its cgroups', or its pid namespace's without cgroups), sorted. */
  async ps(id: string): Promise<number[]> {
    const { containerPids } = require('../container/pids') as typeof import('../container/pids');
    return containerPids(this.load(id).saved).sort((x, y) => x - y);
  }

  /** What berth implements on this host (runtime-spec features.md). */
  async features(): Promise<Record<string, unknown>> {
    this.enter();
    return (require('../features') as typeof import('../features')).features(this.root);
  }
}

function stdioSpec(s: Stdio | undefined): StdioSpec {
  if (s === undefined) return { stdin: 'ignore', stdout: 'inherit', stderr: 'inherit' };
  if (s === 'pipe') return { stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' };
  if (typeof s === 'string') return { stdin: s, stdout: s, stderr: s };
  if (!Array.isArray(s) || s.length !== 3) throw new BerthError("stdio: 'inherit', 'ignore', 'pipe' or [stdin, stdout, stderr]");
  return { stdin: s[0], stdout: s[1], stderr: s[2] };
}

/** The name of the user owning path (/etc/passwd), or "#UID" as runc has it. */
function ownerOf(path: string): string {
  const uid = statSync(path).uid;
  try {
    for (const line of readFileSync('/etc/passwd', 'latin1').split('\n')) {
      const f = line.split(':');
      if (f.length > 2 && Number(f[2]) === uid && f[2] !== '') return f[0];
    }
  } catch {
    // no passwd: the number
  }
  return `#${uid}`;
}

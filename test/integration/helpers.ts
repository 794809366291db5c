// Shared pieces of the integration tests: each test file opens one Session (a
// private --root for the runtime under test), creates real containers through the
// CLI, and ends with assertNoLeftovers(), which checks that every container,
// bundle and temp dir it made is gone from the host.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { makeBundle, type Bundle, type BundleOptions } from '../fixtures/bundle';
import { BERTH, runRuntime, type RunOptions, type RunResult } from '../fixtures/runtime';
import { GUARD_MS } from '../fixtures/wait';
import type { SpecObject } from '../../src/spec/defaults';

let counter = 0;

/**
 * Cleanup for t.after that never throws: a hook that throws keeps node:test from
 * running the ones after it. What a cleanup fails to remove, the leftover check
 * at the end of each file reports.
 */
export function quietly(fn: () => void): () => void {
  return () => {
    try {
      fn();
    } catch (e) {
      process.stderr.write(`# cleanup: ${(e as Error).message}\n`);
    }
  };
}

export interface RunInOptions extends BundleOptions, RunOptions {
  /** Container id; a fresh unique one by default. */
  id?: string;
}

export class Session {
  /** The runtime's private --root. */
  readonly root: string;
  /** Every container id, bundle dir and temp dir this session made, for the leftover checks. */
  readonly ids: string[] = [];
  readonly paths: string[] = [];
  private holders: ChildProcess[] = [];
  private cleanups = new WeakMap<TestContext, (() => void)[]>();

  constructor(
    readonly name: string,
    readonly bin: string = BERTH,
  ) {
    this.root = mkdtempSync(`/tmp/berth-itest-${name}-root-`);
  }

  /**
   * Runs fn when the test ends, however it ends; the last deferred runs first (a
   * container goes before its bundle, an unmount before its directory). A cleanup
   * that fails is reported and the others still run.
   */
  defer(t: TestContext, fn: () => void): void {
    let stack = this.cleanups.get(t);
    if (!stack) {
      const fns: (() => void)[] = [];
      this.cleanups.set(t, (stack = fns));
      t.after(() => {
        for (const f of fns.reverse()) quietly(f)();
      });
    }
    stack.push(fn);
  }

  /** A container id unique on this host (cgroups are host-wide). */
  newId(prefix = this.name): string {
    const id = `${prefix}-${process.pid}-${++counter}-${Math.random().toString(36).slice(2, 7)}`;
    this.ids.push(id);
    return id;
  }

  /** The runtime's CLI with this session's --root. */
  cli(args: string[], opts?: RunOptions): RunResult {
    return runRuntime(this.bin, this.root, args, opts);
  }

  /**
   * `create`, with the runtime's output going to files rather than pipes: the
   * container inherits the runtime's stdio, and would hold a pipe open (and the
   * caller waiting for its end) for as long as it lives.
   */
  create(bundle: string, id: string, extra: string[] = []): RunResult {
    const dir = mkdtempSync('/tmp/berth-itest-out-');
    try {
      const out = openSync(join(dir, 'out'), 'w');
      const err = openSync(join(dir, 'err'), 'w');
      const r = spawnSync(this.bin, ['--root', this.root, 'create', '--bundle', bundle, ...extra, id], {
        stdio: ['ignore', out, err],
        timeout: GUARD_MS,
      });
      closeSync(out);
      closeSync(err);
      return {
        code: r.status ?? (r.signal ? 128 + osConstants.signals[r.signal] : -1),
        stdout: readFileSync(join(dir, 'out'), 'utf8'),
        stderr: readFileSync(join(dir, 'err'), 'utf8'),
        signal: r.signal,
        timedOut: (r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT',
      };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** A bundle removed (with any container of the given id) when the test ends. */
  bundle(t: TestContext, opts: BundleOptions = {}): Bundle {
    const b = makeBundle(opts);
    this.paths.push(b.dir);
    this.defer(t, () => b.cleanup());
    return b;
  }

  /** A temp dir removed when the test ends. */
  tmpdir(t: TestContext, prefix = 'berth-itest-'): string {
    const d = mkdtempSync(join('/tmp', prefix));
    this.paths.push(d);
    this.defer(t, () => rmSync(d, { recursive: true, force: true }));
    return d;
  }

  /** `delete --force` of the id when the test ends (before its bundle goes). */
  deleteAfter(t: TestContext, id: string): void {
    this.defer(t, () => {
      // Only when something is left: saves a CLI start after a clean `run`.
      if (existsSync(join(this.root, id))) this.cli(['delete', '--force', id]);
    });
  }

  /**
   * A running container from a new bundle (create, then start), for tests that
   * exec into it or look at it; it and its bundle are removed when the test ends.
   */
  started(t: TestContext, opts: RunInOptions = {}): { id: string; bundle: Bundle } {
    const bundle = this.bundle(t, opts);
    const id = opts.id ?? this.newId();
    this.deleteAfter(t, id);
    const c = this.create(bundle.dir, id);
    assert.equal(c.code, 0, show(c));
    const st = this.cli(['start', id]);
    assert.equal(st.code, 0, show(st));
    return { id, bundle };
  }

  /**
   * Runs a container in the foreground (`run`) from a new bundle and returns what
   * the runtime printed and its exit status; the bundle and container are removed
   * when the test ends.
   */
  run(t: TestContext, opts: RunInOptions = {}): RunResult & { id: string; bundle: Bundle } {
    const bundle = this.bundle(t, opts);
    const id = opts.id ?? this.newId();
    this.deleteAfter(t, id);
    const r = this.cli(['run', '--bundle', bundle.dir, id], opts);
    return { ...r, id, bundle };
  }

  /** The runtime's CLI started in the background; `done` settles when it exits. */
  spawn(args: string[]): { child: ChildProcess; done: Promise<RunResult> } {
    const child = spawn(this.bin, ['--root', this.root, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const done = new Promise<RunResult>((resolve) => {
      child.on('close', (code, signal) => {
        resolve({ code: code ?? (signal ? 128 + osConstants.signals[signal] : -1), stdout, stderr, signal, timedOut: false });
      });
    });
    return { child, done };
  }

  /** The container's state as the runtime reports it, or undefined when it has none. */
  state(id: string): { status: string; pid: number; bundle: string; id: string } | undefined {
    const r = this.cli(['state', id]);
    return r.code === 0 ? JSON.parse(r.stdout) : undefined;
  }

  /** Shorthand: run `sh -c script` with the config changed by mutate. */
  sh(t: TestContext, script: string, mutate?: (spec: SpecObject) => void, extra: RunInOptions = {}) {
    return this.run(t, { ...extra, args: ['sh', '-c', script], mutate });
  }

  /**
   * Starts a host process that holds namespaces (e.g. `unshare --net sleep`) and
   * waits until it prints "ready". Killed when the test ends.
   */
  async holder(t: TestContext, argv: string[]): Promise<ChildProcess> {
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    this.holders.push(child);
    this.defer(t, () => child.kill('SIGKILL'));
    await new Promise<void>((resolve, reject) => {
      let out = '';
      let err = '';
      const timer = setTimeout(() => reject(new Error(`holder ${argv.join(' ')} did not get ready: ${err}`)), GUARD_MS);
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      child.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`holder ${argv.join(' ')} exited (${code}): ${err}`));
      });
    });
    return child;
  }

  /** Removes the --root (after assertNoLeftovers has looked at it). */
  close(): void {
    for (const h of this.holders) h.kill('SIGKILL');
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** What a container (or a failed create) left on the host; [] when nothing. */
export function leftovers(s: Session, ids = s.ids, paths = s.paths): string[] {
  const out: string[] = [];
  // State directories under the runtime's --root.
  // ('@...' is none: no container id has an '@'; berth keeps compiled seccomp filters there.)
  if (existsSync(s.root)) for (const e of readdirSync(s.root)) if (!e.startsWith('@')) out.push(`state dir ${join(s.root, e)}`);
  // Cgroups named after a container, in every hierarchy (berth's default parent
  // is /berth; runc's is the cgroup it runs in, usually the hierarchy's root).
  for (const h of cgroupMountpoints()) {
    for (const id of ids) {
      for (const d of [join(h, 'berth', id), join(h, id)]) if (existsSync(d)) out.push(`cgroup ${d}`);
    }
  }
  // Mounts on the host that mention a bundle or temp dir.
  const needles = [...paths, s.root];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    if (needles.some((p) => line.includes(p))) out.push(`mount ${line}`);
  }
  // Processes whose command line mentions one (hooks, holders, containers).
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ');
    } catch {
      continue;
    }
    if (needles.some((n) => cmd.includes(n)) || ids.some((id) => cmd.includes(id))) {
      out.push(`process ${p}: ${cmd}`);
      continue;
    }
    // A container's processes (berth-init's clone says nothing of the container in
    // its command line): in a cgroup named after one of the ids, or holding a file
    // under the runtime's --root or a bundle (the exec fifo, the rootfs).
    try {
      const cg = readFileSync(`/proc/${p}/cgroup`, 'utf8');
      if (ids.some((id) => cg.split('\n').some((l) => l.endsWith(`/${id}`)))) {
        out.push(`process ${p} in the cgroup of a container: ${cmd}`);
        continue;
      }
      for (const fd of readdirSync(`/proc/${p}/fd`)) {
        const target = readlinkSync(`/proc/${p}/fd/${fd}`);
        if (needles.some((n) => target.startsWith(n + '/'))) {
          out.push(`process ${p} holds ${target}: ${cmd}`);
          break;
        }
      }
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** The directories where cgroup hierarchies are mounted on this host. */
export function cgroupMountpoints(): string[] {
  const out: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const fstype = line.slice(sep + 3).split(' ')[0];
    if (fstype === 'cgroup' || fstype === 'cgroup2') out.push(line.slice(0, sep).split(' ')[4]);
  }
  return out;
}

/** The container's cgroup directories that exist now (berth's default placement). */
export function cgroupDirsOf(id: string): string[] {
  return cgroupMountpoints()
    .map((h) => join(h, 'berth', id))
    .filter((d) => existsSync(d));
}

/** The namespace a /proc/PID/ns/TYPE link names, e.g. "net:[4026531840]". */
export function nsOf(pid: number | 'self', type: string): string {
  return readlinkSync(`/proc/${pid}/ns/${type}`);
}

/** Formats a result for assertion messages. */
export function show(r: RunResult): string {
  return `exit ${r.code}${r.timedOut ? ' (timed out)' : ''}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}

/** The lines of /proc/self/status that start with one of the prefixes, as a map. */
export function statusFields(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^(\w+):\s*(.*)$/.exec(line);
    if (m) out[m[1]] = m[2].trim();
  }
  return out;
}

export { waitFor } from '../fixtures/wait';

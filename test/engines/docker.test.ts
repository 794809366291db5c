// docker.io 20.10 (dockerd, its own containerd and containerd-shim-runc-v2)
// driving bin/berth as an added runtime (`--add-runtime berth=...`, `run
// --runtime berth`), nothing else changed in the engine. dockerd runs privately:
// its data-root, exec-root, socket, pidfile and daemon.json are in one dir under
// /tmp, made here and removed at the end. The shim gives berth
// `--root <exec-root>/runtime-runc/moby` (docker 20.10 uses the runc root for
// every added runtime), so berth's state is private too.
//
// Each case checks what the container really did and that nothing berth made
// (state dir, cgroups, mounts, processes) outlives the container once docker
// removed it.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test, type TestContext } from 'node:test';
import { berthLeftovers, berthOnly, busyboxImage, ENGINE_RUNTIME, engineCase, findExecutable, mountsUnder, processesNaming, removePrivateDir, requireEngine, sh } from './engine';

const ENGINE = 'docker';
// /usr/local/bin/docker on the test hosts is an unrelated newer client.
const DOCKER = '/usr/bin/docker';
const IMAGE = 'localhost/berth-busybox:latest';
// berth, and no network unless the case names one.
const runFlags = (opts: string[]) => ['--runtime', 'berth', ...(opts.includes('--network') ? [] : ['--network', 'none']), ...opts];

let versionText: string | undefined;
function version(): string {
  // "Docker version 20.10.24+dfsg1, build 5d6db84"
  versionText ??= /version ([^,\s]+)/.exec(sh(findExecutable('dockerd') ?? 'dockerd', ['--version']).stdout)?.[1] ?? 'unknown';
  return versionText;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The cgroup hierarchies' mount points, each with whether it had a /docker dir before dockerd ran. */
function dockerCgroupParents(): { dir: string; existed: boolean }[] {
  return readdirSync('/sys/fs/cgroup', { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => join('/sys/fs/cgroup', e.name, 'docker'))
    .map((dir) => ({ dir, existed: existsSync(dir) }));
}

class Dockerd {
  readonly dir = mkdtempSync('/tmp/berth-engine-docker-');
  readonly sock = join(this.dir, 'docker.sock');
  readonly dataRoot = join(this.dir, 'data');
  readonly execRoot = join(this.dir, 'exec');
  /** berth's --root as the shim passes it. */
  readonly berthRoot = join(this.execRoot, 'runtime-runc/moby');
  readonly log = join(this.dir, 'dockerd.log');
  private readonly cgroupParents = dockerCgroupParents();
  private child?: ChildProcess;
  private exited?: Promise<void>;
  stopped = false;

  async start(): Promise<void> {
    // Docker's defaults leave rlimits alone, so nothing here raises the hard nofile limit.
    writeFileSync(join(this.dir, 'daemon.json'), '{}\n');
    mkdirSync(join(this.dir, 'cli'));
    const logFd = openSync(this.log, 'a');
    this.child = spawn(
      findExecutable('dockerd')!,
      [
        '--config-file', join(this.dir, 'daemon.json'),
        '--data-root', this.dataRoot,
        '--exec-root', this.execRoot,
        '--pidfile', join(this.dir, 'dockerd.pid'),
        '-H', `unix://${this.sock}`,
        '--iptables=false', '--ip6tables=false', '--ip-masq=false', '--ip-forward=false', '--bridge=none',
        '--userland-proxy=false', '--storage-driver=overlay2', '--exec-opt', 'native.cgroupdriver=cgroupfs',
        '--add-runtime', `berth=${ENGINE_RUNTIME}`,
      ],
      { stdio: ['ignore', logFd, logFd], cwd: this.dir },
    );
    closeSync(logFd);
    const child = this.child;
    this.exited = new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.once('error', () => resolve());
    });
    let gone = false;
    void this.exited.then(() => (gone = true));
    // Up when the API answers; dockerd exiting first (or never answering) is a failure with its log.
    for (let i = 0; ; i++) {
      if (gone) throw new Error(`dockerd exited while starting:\n${this.logTail()}`);
      if (i === 1200) throw new Error(`dockerd did not answer on ${this.sock}:\n${this.logTail()}`);
      if (existsSync(this.sock) && this.docker(['version', '--format', '{{.Server.Version}}']).code === 0) break;
      await sleep(100);
    }
    const load = this.docker(['load', '-i', busyboxImage(IMAGE)]);
    assert.equal(load.code, 0, `docker load: ${load.stderr}`);
  }

  logTail(): string {
    try {
      return readFileSync(this.log, 'utf8').split('\n').slice(-30).join('\n');
    } catch {
      return '';
    }
  }

  /** The docker CLI against this daemon, with a private client config. */
  docker(args: string[], opts: { input?: string; timeoutMs?: number } = {}) {
    return sh(DOCKER, ['-H', `unix://${this.sock}`, ...args], {
      env: { ...process.env, DOCKER_CONFIG: join(this.dir, 'cli') },
      input: opts.input,
      timeoutMs: opts.timeoutMs ?? 60_000,
    });
  }

  /** The same under a real pty (util-linux script), for -t. */
  dockerInPty(args: string[]) {
    const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
    const line = [DOCKER, '-H', `unix://${this.sock}`, ...args].map(quote).join(' ');
    return sh('script', ['-qec', line, '/dev/null'], { env: { ...process.env, DOCKER_CONFIG: join(this.dir, 'cli') } });
  }

  /** `docker run -d` of cmd; the container is removed (rm -f) when the test ends. */
  runDetached(t: TestContext, opts: string[], cmd: string[]): string {
    const r = this.docker(['run', '-d', ...runFlags(opts), IMAGE, ...cmd]);
    assert.equal(r.code, 0, `docker run -d: ${r.stderr}`);
    const id = r.stdout.trim();
    t.after(() => {
      if (this.docker(['inspect', id]).code === 0) this.docker(['rm', '-f', id]);
    });
    return id;
  }

  /**
   * `docker run --rm` of cmd; resolves after docker removed the container, with
   * the result and the id (from --cidfile) once nothing of it is left.
   */
  async runRm(opts: string[], cmd: string[], input?: string) {
    const cidfile = join(this.dir, `cid-${Date.now()}-${Math.random().toString(36).slice(2)}`);
    // Other containers of the case (a namespace donor) keep their mounts.
    const mountsBefore = mountsUnder(this.dir);
    const r = this.docker(['run', '--rm', '--cidfile', cidfile, ...runFlags(opts), IMAGE, ...cmd], { input });
    const id = existsSync(cidfile) ? readFileSync(cidfile, 'utf8').trim() : '';
    rmSync(cidfile, { force: true });
    assert.ok(id, `docker run gave no container id: ${r.stderr}`);
    await this.assertRemoved(id, mountsBefore);
    return { ...r, id };
  }

  inspect(id: string, format: string): string {
    const r = this.docker(['inspect', '-f', format, id]);
    assert.equal(r.code, 0, `docker inspect: ${r.stderr}`);
    return r.stdout.trim();
  }

  /**
   * What is left of a container docker removed: berth's state dir, cgroups,
   * mounts and processes naming the id, and any mount under docker's dirs not
   * in mountsBefore (the data-root's own by default): the container's overlay,
   * shm, netns. The shim exits on its own after the removal, so this waits for it.
   */
  async leftoversOf(id: string, mountsBefore = [this.dataRoot]): Promise<string[]> {
    const look = () => [
      ...berthLeftovers(this.berthRoot, id),
      ...mountsUnder(this.dir).filter((m) => !mountsBefore.includes(m)).map((m) => `mount ${m}`),
    ];
    for (let i = 0; i < 200; i++) {
      if (look().length === 0) return [];
      await sleep(50);
    }
    return look();
  }

  /** Asserts the container is gone from docker and left nothing behind. */
  async assertRemoved(id: string, mountsBefore?: string[]): Promise<void> {
    assert.notEqual(this.docker(['inspect', id]).code, 0, `docker still knows ${id}`);
    assert.deepEqual(await this.leftoversOf(id, mountsBefore), []);
  }

  /**
   * SIGTERM to dockerd, which stops its containerd. Returns what outlived it
   * (processes, mounts, cgroup parents it made that are not empty); everything
   * found is cleaned up anyway, and the private dir removed.
   */
  async stop(): Promise<string[]> {
    if (this.stopped) return [];
    this.stopped = true;
    const left: string[] = [];
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      // dockerd gives its containers 15 s to stop; a daemon hung beyond a minute is killed.
      let timer: NodeJS.Timeout | undefined;
      const hung = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), 60_000)));
      if (await Promise.race([this.exited!.then(() => false), hung])) {
        left.push('dockerd did not exit on SIGTERM');
        this.child.kill('SIGKILL');
        await this.exited;
      }
      clearTimeout(timer);
    }
    // containerd and the shims exit after dockerd; give them the moment they need.
    left.push(...(await removePrivateDir(this.dir, 5000)));
    // cgroupfs driver: containers go below /docker; a parent this run made goes
    // too when empty (berth may have removed it already with the last container).
    for (const p of this.cgroupParents) {
      if (p.existed || !existsSync(p.dir)) continue;
      try {
        rmdirSync(p.dir);
      } catch (e) {
        left.push(`cgroup ${p.dir} (${(e as NodeJS.ErrnoException).code})`);
      }
    }
    return left;
  }
}

let daemon: Dockerd | undefined;
let startFailure: Error | undefined;

/** The private dockerd, started by the first case that needs it; undefined when docker is not installed. */
async function dockerd(t: TestContext): Promise<Dockerd | undefined> {
  if (!requireEngine(t, 'dockerd', DOCKER, 'containerd', 'containerd-shim-runc-v2', 'script')) return undefined;
  if (startFailure) throw startFailure;
  if (!daemon) {
    daemon = new Dockerd();
    try {
      await daemon.start();
    } catch (e) {
      startFailure = e as Error;
      throw e;
    }
  }
  return daemon;
}

after(async () => {
  // A failing case may have ended the file early; the daemon goes anyway.
  if (daemon && !daemon.stopped) await daemon.stop();
});

function docker(name: string, fn: (d: Dockerd, t: TestContext) => Promise<void>): void {
  engineCase(ENGINE, version, name, async (t) => {
    const d = await dockerd(t);
    if (d) await fn(d, t);
  });
}

docker('run --rm with the default seccomp profile', async (d) => {
  // One of docker's masked files that this kernel has (a /dev/null bind in the container).
  const masked = ['/proc/kcore', '/proc/timer_list', '/proc/sched_debug'].find((f) => existsSync(f));
  assert.ok(masked, 'the host has none of /proc/kcore, /proc/timer_list, /proc/sched_debug');
  const r = await d.runRm([], ['sh', '-c',
    'echo hello; grep "^Seccomp:" /proc/self/status; unshare -U true; echo unshare=$?; hostname; ' +
    `echo masked=$(wc -c < ${masked}); grep " /proc/sys " /proc/mounts; touch /dev/shm/x && echo shm=ok`]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^hello$/m);
  // docker's hostname (the short id), masked and read-only paths, its /dev/shm.
  assert.match(r.stdout, new RegExp(`^${r.id.slice(0, 12)}$`, 'm'));
  assert.match(r.stdout, /^masked=0$/m);
  assert.match(r.stdout, /^\S+ \/proc\/sys \S+ ro[,\s]/m);
  assert.match(r.stdout, /^shm=ok$/m);
  // 2 = filter mode: docker's profile is loaded.
  assert.match(r.stdout, /^Seccomp:\s+2$/m);
  // The profile allows unshare only with CAP_SYS_ADMIN (unconfined, the same call works: below).
  assert.match(r.stdout, /^unshare=1$/m);
  assert.match(r.stderr, /Operation not permitted/);
  const ps = d.docker(['ps', '-aq']);
  assert.equal(ps.stdout.trim(), '', 'run --rm left a container');
});

docker('--security-opt seccomp=unconfined', async (d) => {
  const r = await d.runRm(['--security-opt', 'seccomp=unconfined'], ['sh', '-c', 'grep "^Seccomp:" /proc/self/status; unshare -U true; echo unshare=$?']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Seccomp:\s+0$/m);
  assert.match(r.stdout, /^unshare=0$/m);
});

docker('run -i: stdin in, exit code out', async (d) => {
  const r = await d.runRm(['-i'], ['sh', '-c', 'read line; echo got:$line; exit 7'], 'hello\n');
  assert.equal(r.code, 7, r.stderr);
  assert.equal(r.stdout, 'got:hello\n');
});

docker('a missing executable: create fails, docker exits 127, nothing left', async (d) => {
  // docker maps the runtime's "no such file or directory" (read back from --log) to 127.
  const r = await d.runRm([], ['/nonexistent']);
  assert.equal(r.code, 127, r.stderr);
  assert.match(r.stderr, /\/nonexistent: no such file or directory/);
});

docker('run -d, exec (output, exit code), state under the shim\'s --root, rm', async (d, t) => {
  const id = d.runDetached(t, [], ['sleep', '1000']);
  assert.ok(existsSync(join(d.berthRoot, id)), `berth's state is not under ${d.berthRoot}`);
  const hi = d.docker(['exec', id, 'echo', 'hi-from-exec']);
  assert.equal(hi.code, 0, hi.stderr);
  assert.equal(hi.stdout, 'hi-from-exec\n');
  assert.equal(d.docker(['exec', id, 'sh', '-c', 'exit 5']).code, 5);
  // exec -d: the process runs in the container, docker does not wait for it.
  assert.equal(d.docker(['exec', '-d', id, 'sh', '-c', 'echo detached > /tmp/d']).code, 0);
  let out = '';
  for (let i = 0; i < 100 && out !== 'detached\n'; i++) {
    out = d.docker(['exec', id, 'cat', '/tmp/d']).stdout;
    if (out !== 'detached\n') await sleep(50);
  }
  assert.equal(out, 'detached\n');
  assert.equal(d.docker(['rm', '-f', id]).code, 0);
  await d.assertRemoved(id);
});

docker('exec -u -w -e', async (d, t) => {
  const id = d.runDetached(t, [], ['sleep', '1000']);
  const r = d.docker(['exec', '-u', '1000:1000', '-w', '/tmp', '-e', 'FOO=bar', id, 'sh', '-c', 'id -u; id -g; pwd; echo $FOO']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '1000\n1000\n/tmp\nbar\n');
  assert.equal(d.docker(['rm', '-f', id]).code, 0);
  await d.assertRemoved(id);
});

docker('kill -s USR1; stop kills a PID 1 that ignores TERM after the timeout; start again; rm', async (d, t) => {
  const id = d.runDetached(t, [], ['sh', '-c', "trap '' TERM; trap 'echo got-usr1' USR1; echo started; while true; do sleep 1; done"]);
  const pid = Number(d.inspect(id, '{{.State.Pid}}'));
  assert.ok(pid > 0);
  // kill -s USR1 reaches PID 1 (the runtime gets the signal's number).
  assert.equal(d.docker(['kill', '-s', 'USR1', id]).code, 0);
  let logs = '';
  for (let i = 0; i < 100 && !logs.includes('got-usr1'); i++) {
    logs = d.docker(['logs', id]).stdout;
    if (!logs.includes('got-usr1')) await sleep(100);
  }
  assert.match(logs, /got-usr1/);
  const stop = d.docker(['stop', '-t', '1', id]);
  assert.equal(stop.code, 0, stop.stderr);
  // 137 = SIGKILL: TERM was ignored and the KILL after the timeout ended it.
  assert.equal(d.inspect(id, '{{.State.Status}} {{.State.ExitCode}}'), 'exited 137');
  assert.ok(!existsSync(`/proc/${pid}`), `container init ${pid} still runs`);
  assert.match(d.docker(['logs', id]).stdout, /started/);
  // start again: the runtime creates the container anew under the same id.
  const start = d.docker(['start', id]);
  assert.equal(start.code, 0, start.stderr);
  assert.equal(d.docker(['exec', id, 'true']).code, 0);
  assert.equal(d.docker(['stop', '-t', '1', id]).code, 0);
  assert.equal(d.docker(['rm', id]).code, 0);
  await d.assertRemoved(id);
});

docker('run -t through a pty', async (d) => {
  const cidfile = join(d.dir, 'cid-tty');
  const r = d.dockerInPty(['run', '--rm', '-t', '--cidfile', cidfile, ...runFlags([]), IMAGE, 'sh', '-c', 'tty; [ -t 1 ] && echo stdout-is-tty; exit 3']);
  const id = readFileSync(cidfile, 'utf8').trim();
  rmSync(cidfile);
  await d.assertRemoved(id);
  assert.equal(r.code, 3, r.stdout + r.stderr);
  assert.match(r.stdout, /\/dev\/pts\/\d+/);
  assert.match(r.stdout, /stdout-is-tty/);
});

docker('exec -t through a pty', async (d, t) => {
  const id = d.runDetached(t, [], ['sleep', '1000']);
  const r = d.dockerInPty(['exec', '-t', id, 'sh', '-c', 'tty; [ -t 1 ] && echo stdout-is-tty; exit 4']);
  assert.equal(r.code, 4, r.stdout + r.stderr);
  assert.match(r.stdout, /\/dev\/pts\/\d+/);
  assert.match(r.stdout, /stdout-is-tty/);
  assert.equal(d.docker(['rm', '-f', id]).code, 0);
  await d.assertRemoved(id);
});

docker('--memory is enforced', async (d, t) => {
  // dd's buffer is bs bytes, all touched: 8 MiB fits in 32 MiB, 128 MiB does not
  // (docker's default swap limit is twice the memory, so 64 MiB in all).
  const r = await d.runRm(['--memory', '32m'], ['sh', '-c',
    'cat /sys/fs/cgroup/memory/memory.limit_in_bytes; dd if=/dev/zero of=/dev/null bs=8M count=1 2>/dev/null && echo small=ok; dd if=/dev/zero of=/dev/null bs=128M count=1 2>/dev/null; echo big=$?']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^33554432$/m);
  assert.match(r.stdout, /^small=ok$/m);
  // 137: the OOM killer's SIGKILL.
  assert.match(r.stdout, /^big=137$/m);
  // The OOM kill of PID 1 is what docker reports (the shim watches the cgroup berth made).
  const c = d.docker(['create', ...runFlags(['--memory', '32m']), IMAGE, 'dd', 'if=/dev/zero', 'of=/dev/null', 'bs=128M', 'count=1']);
  assert.equal(c.code, 0, c.stderr);
  const id = c.stdout.trim();
  t.after(() => d.docker(['rm', '-f', id]));
  assert.equal(d.docker(['start', '-a', id]).code, 137);
  assert.equal(d.inspect(id, '{{.State.ExitCode}} {{.State.OOMKilled}}'), '137 true');
  assert.equal(d.docker(['rm', id]).code, 0);
  await d.assertRemoved(id);
});

docker('--read-only', async (d) => {
  const r = await d.runRm(['--read-only'], ['sh', '-c', 'touch /x; echo touch=$?; grep " / " /proc/mounts']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^touch=1$/m);
  assert.match(r.stderr, /Read-only file system/);
  assert.match(r.stdout, /^\S+ \/ \S+ ro[,\s]/m);
});

docker('--cap-drop ALL', async (d) => {
  const r = await d.runRm(['--cap-drop', 'ALL'], ['sh', '-c', 'grep "^Cap" /proc/self/status; chown 1 /tmp; echo chown=$?']);
  assert.equal(r.code, 0, r.stderr);
  for (const set of ['CapPrm', 'CapEff', 'CapBnd', 'CapAmb']) assert.match(r.stdout, new RegExp(`^${set}:\\s+0{16}$`, 'm'));
  assert.match(r.stdout, /^chown=1$/m);
});

docker('--privileged', async (d, t) => {
  if (!berthOnly(t, "runc 1.1 fails to apply the capabilities docker asks for beyond this host's bounding set")) return;
  const r = await d.runRm(['--privileged'], ['sh', '-c', 'grep -E "^(Cap(Eff|Bnd)|Seccomp):" /proc/self/status; mount -t tmpfs none /tmp && echo mount=ok']);
  assert.equal(r.code, 0, r.stderr);
  const field = (name: string) => BigInt(`0x${new RegExp(`^${name}:\\s+([0-9a-f]+)$`, 'm').exec(r.stdout)?.[1] ?? '0'}`);
  const hostBounding = BigInt(`0x${/^CapBnd:\s+([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]}`);
  // All of docker's capabilities the host can give (CAP_SYS_ADMIN among them), all effective; no seccomp.
  assert.equal(field('CapEff'), field('CapBnd'));
  assert.equal(field('CapBnd') & ~hostBounding, 0n);
  assert.notEqual(field('CapEff') & (1n << 21n), 0n, 'no CAP_SYS_ADMIN');
  assert.match(r.stdout, /^Seccomp:\s+0$/m);
  assert.match(r.stdout, /^mount=ok$/m);
});

/** The container's cgroup dir in the v1 hierarchy with this controller, from its init's /proc/PID/cgroup. */
function cgroupDir(pid: number, controller: string): string {
  const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8')
    .split('\n')
    .find((l) => l.split(':')[1]?.split(',').includes(controller));
  assert.ok(line, `no ${controller} cgroup for ${pid}`);
  return join('/sys/fs/cgroup', controller, line.split(':').slice(2).join(':'));
}

docker('pause / unpause', async (d, t) => {
  const id = d.runDetached(t, [], ['sleep', '1000']);
  const freezer = join(cgroupDir(Number(d.inspect(id, '{{.State.Pid}}')), 'freezer'), 'freezer.state');
  assert.equal(d.docker(['pause', id]).code, 0);
  assert.equal(d.inspect(id, '{{.State.Status}}'), 'paused');
  assert.equal(readFileSync(freezer, 'utf8').trim(), 'FROZEN');
  assert.equal(d.docker(['unpause', id]).code, 0);
  assert.equal(d.inspect(id, '{{.State.Status}}'), 'running');
  assert.equal(readFileSync(freezer, 'utf8').trim(), 'THAWED');
  assert.equal(d.docker(['exec', id, 'true']).code, 0);
  assert.equal(d.docker(['rm', '-f', id]).code, 0);
  await d.assertRemoved(id);
});

docker('update --memory', async (d, t) => {
  const id = d.runDetached(t, ['--memory', '32m'], ['sleep', '1000']);
  const memory = cgroupDir(Number(d.inspect(id, '{{.State.Pid}}')), 'memory');
  const limit = join(memory, 'memory.limit_in_bytes');
  const softLimit = readFileSync(join(memory, 'memory.soft_limit_in_bytes'), 'utf8');
  const grab64m = ['exec', id, 'dd', 'if=/dev/zero', 'of=/dev/null', 'bs=64M', 'count=1'];
  // 64 MiB is more than 32 MiB: the OOM killer ends dd...
  assert.equal(d.docker(grab64m).code, 137);
  const u = d.docker(['update', '--memory', '160m', '--memory-swap', '320m', id]);
  assert.equal(u.code, 0, u.stderr);
  assert.equal(readFileSync(limit, 'utf8').trim(), String(160 * 1024 * 1024));
  // docker sends reservation 0 for "none": the soft limit stays as it was.
  assert.equal(readFileSync(join(memory, 'memory.soft_limit_in_bytes'), 'utf8'), softLimit);
  // ...and fits once the limit is 160 MiB.
  const r = d.docker(grab64m);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(d.docker(['rm', '-f', id]).code, 0);
  await d.assertRemoved(id);
});

docker('update --pids-limit --cpus of a container without a memory limit', async (d, t) => {
  const id = d.runDetached(t, [], ['sleep', '1000']);
  const pid = Number(d.inspect(id, '{{.State.Pid}}'));
  const memoryLimit = readFileSync(join(cgroupDir(pid, 'memory'), 'memory.limit_in_bytes'), 'utf8');
  // docker sends memory.limit 0 for "no limit": it must not become a limit of 0.
  const u = d.docker(['update', '--pids-limit', '20', '--cpus', '0.5', id]);
  assert.equal(u.code, 0, u.stderr);
  assert.equal(readFileSync(join(cgroupDir(pid, 'pids'), 'pids.max'), 'utf8').trim(), '20');
  assert.equal(readFileSync(join(cgroupDir(pid, 'cpu'), 'cpu.cfs_quota_us'), 'utf8').trim(), '50000');
  assert.equal(readFileSync(join(cgroupDir(pid, 'memory'), 'memory.limit_in_bytes'), 'utf8'), memoryLimit);
  // The pids limit is enforced: the 30 background sleeps cannot all start.
  const r = d.docker(['exec', id, 'sh', '-c', 'i=0; while [ $i -lt 30 ]; do sleep 100 & i=$((i+1)); done']);
  assert.match(r.stderr, /can't fork/);
  assert.ok(Number(readFileSync(join(cgroupDir(pid, 'pids'), 'pids.current'), 'utf8')) <= 20);
  assert.equal(d.docker(['rm', '-f', id]).code, 0);
  await d.assertRemoved(id);
});

const NS_LINKS = 'for n in net ipc pid; do readlink /proc/self/ns/$n; done';

docker('--network/--pid/--ipc container:<id> join the other container\'s namespaces', async (d, t) => {
  const id = d.runDetached(t, ['--ipc', 'shareable'], ['sleep', '1000']);
  const ns = (out: string) => out.split('\n').filter((l) => /^(net|ipc|pid):/.test(l)).sort();
  const own = d.docker(['exec', id, 'sh', '-c', NS_LINKS]);
  assert.equal(own.code, 0, own.stderr);
  const r = await d.runRm(
    ['--network', `container:${id}`, '--pid', `container:${id}`, '--ipc', `container:${id}`],
    ['sh', '-c', `${NS_LINKS}; ps -o pid,args`],
  );
  assert.equal(r.code, 0, r.stderr);
  assert.equal(ns(r.stdout).length, 3);
  assert.deepEqual(ns(r.stdout), ns(own.stdout));
  // The other container's PID 1 is visible: one pid namespace.
  assert.match(r.stdout, /^\s*1\s+sleep 1000$/m);
  assert.equal(d.docker(['rm', '-f', id]).code, 0);
  await d.assertRemoved(id);
});

docker('top', async (d, t) => {
  const id = d.runDetached(t, [], ['sleep', '1000']);
  const pid = d.inspect(id, '{{.State.Pid}}');
  const r = d.docker(['top', id]);
  assert.equal(r.code, 0, r.stderr);
  // docker top asks the runtime (ps --format json) for the host pids.
  const rows = r.stdout.trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/));
  assert.ok(rows.some((c) => c[1] === pid && c.slice(7).join(' ') === 'sleep 1000'), r.stdout);
  assert.equal(d.docker(['rm', '-f', id]).code, 0);
  await d.assertRemoved(id);
});

docker('rm -f of a running container', async (d, t) => {
  const id = d.runDetached(t, [], ['sleep', '1000']);
  const pid = Number(d.inspect(id, '{{.State.Pid}}'));
  const r = d.docker(['rm', '-f', id]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!existsSync(`/proc/${pid}`), `container init ${pid} still runs`);
  await d.assertRemoved(id);
});

test('docker: the engine stops and leaves nothing under its private dirs', async (t) => {
  if (!daemon) {
    t.skip('dockerd was not started');
    return;
  }
  assert.equal(daemon.docker(['ps', '-aq']).stdout.trim(), '', 'containers left in docker');
  const dir = daemon.dir;
  const left = await daemon.stop();
  assert.deepEqual(left, []);
  assert.deepEqual(mountsUnder(dir), []);
  assert.ok(!existsSync(dir), `${dir} not removed`);
  assert.deepEqual(processesNaming(dir), []);
});

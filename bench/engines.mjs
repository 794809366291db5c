#!/usr/bin/env node
// Benchmark: berth vs runc under real engines, side by side: podman 4.3 (with
// conmon), containerd 1.6 (ctr, io.containerd.runc.v2 shim) and docker 20.10.
//
//   npm run bench [-- --runs N]   (after bench/bench.mjs; both take the same flags)
//   node bench/engines.mjs [--runs N (default 10)] [--json] [--timeout SECONDS]
//
// Environment: BERTH (default bin/berth of this repo), RUNC (default /usr/sbin/runc),
// BENCH_ENGINES (default podman,containerd,docker: which engines, comma-separated),
// BENCH_CALLS=1 (also report the runtime calls each engine makes, see below),
// BENCH_INHERIT_ENV=1 (keep NODE_EXTRA_CA_CERTS in the engines' environment, see below).
//
// The engines run as services do, without NODE_EXTRA_CA_CERTS: a login session's
// (this host sets it) would reach berth through dockerd and containerd (not through
// podman's conmon), and with it every Node start reads and parses the CA bundle,
// about 90 ms of CPU per berth call here and nothing per runc call.
//
// Each engine runs privately, one instance for both runtimes, under one mkdtemp dir;
// the image is a busybox rootfs (scripts/make-rootfs.sh), no network needed:
//   podman      its own containers.conf (cgroupfs, events to a file, nofile/nproc
//               ulimits this host can grant), storage and --tmpdir; the rootfs
//               brought in with `podman import`; the runtimes differ only in
//               `--runtime`. Each keeps its state in its default root (/run/berth,
//               /run/runc): podman does not hand --runtime-flag on to the cleanup
//               process conmon starts when a container exits.
//   containerd  a private daemon (own root, state, sockets, TMPDIR; CRI plugin off),
//               a ctr namespace of its own, the image from `ctr images import` (an
//               OCI archive, bench/oci-image.mjs); the runtimes differ only in
//               `ctr run --runc-binary` (each with its own --runc-root).
//   docker      a private dockerd (own data-root, exec-root, socket; cgroupfs,
//               no bridge, no iptables) with both runtimes added (`--add-runtime
//               berth=... --add-runtime bench-runc=...`); the image from `docker
//               load` of the same archive; the runtimes differ only in `--runtime`.
//
// Metrics (each: one untimed warm-up, then N timed runs, runtimes interleaved;
// wall-clock time from spawn to exit of the engine's CLI; median and p90):
//   podman run --rm     `podman run --rm --network none IMG true`
//   podman exec         `podman exec C true` into a running container
//   ctr run --rm        `ctr run --rm IMG ID true` (until the task and container are deleted)
//   ctr task exec       `ctr task exec --exec-id E C true` into a running task
//   docker run --rm     `docker run --rm --network none IMG true` (the CLI waits for the removal)
//   docker exec         `docker exec C true` into a running container
// The exec metrics use one running container per runtime (`sleep 1000`), removed afterwards.
//
// With BENCH_CALLS=1 each runtime is run through a wrapper (a bash script of the
// runtime's own name) that logs every call's argv, exit status, wall time from its
// start to its exit and CPU time (user + system of the runtime and the children it
// waited for; a container's init is not among them); the report then lists, per
// metric, which runtime commands the engine ran per timed engine command (warm-up
// included) and their median wall and CPU time with each runtime. The wrapper is
// the same for both (bash, a few ms).
//
// Everything made here (containers, images, daemons and their shims, storage and
// its mounts, the temp dir, cgroup parents and runtime roots the engines or the
// runtimes created) is removed at the end, on failure and on Ctrl-C. An engine
// that is not installed is reported as skipped; with none the benchmark exits 0.
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { chmodSync, closeSync, mkdtempSync, mkdirSync, openSync, writeFileSync, readFileSync, rmSync, existsSync, readdirSync, rmdirSync } from 'node:fs';
import { release } from 'node:os';
import { basename, join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchCleanup, compareRows, failure, firstLine, metricsOf, parseBenchArgs, removeTmp, reportAsJson, stats, table, timedRun, useServiceEnvironment } from './common.mjs';
import { imageArchive } from './oci-image.mjs';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');

// ---------------------------------------------------------------- options
const opts = parseBenchArgs(process.argv.slice(2), { name: 'engines', runs: 10, timeout: 60 });
const log = (m) => process.stderr.write(`bench-engines: ${m}\n`);
const wanted = (process.env.BENCH_ENGINES || 'podman,containerd,docker').split(',').map((s) => s.trim()).filter(Boolean);

function which(name) {
  if (name.startsWith('/')) return existsSync(name) ? name : null;
  for (const d of [...(process.env.PATH || '').split(':'), '/usr/sbin', '/usr/bin']) if (d && existsSync(join(d, name))) return join(d, name);
  return null;
}
const RUNC = process.env.RUNC || (existsSync('/usr/sbin/runc') ? '/usr/sbin/runc' : which('runc'));
const BERTH = process.env.BERTH || join(repo, 'bin/berth');
const droppedEnv = useServiceEnvironment().length > 0;
const baseEnv = { ...process.env };
if (!RUNC) {
  process.stdout.write('engine benchmark skipped: runc not installed\n');
  process.exit(0);
}

const runtimes = [
  { name: 'berth', bin: BERTH, root: '/run/berth', dockerName: 'berth' },
  { name: 'runc', bin: RUNC, root: '/run/runc', dockerName: 'bench-runc' },
];
const cgroupHierarchies = readdirSync('/sys/fs/cgroup').map((h) => join('/sys/fs/cgroup', h));
/** The cgroup dirs named name in every hierarchy that do not exist yet: this run's to remove. */
const newCgroupParents = (name) => cgroupHierarchies.map((h) => join(h, name)).filter((d) => !existsSync(d));
function removeCgroupDirs(dirs) {
  // Children first (conmon's below libpod_parent); a symlinked hierarchy (cpu -> cpu,cpuacct) shows one twice.
  for (const d of [...dirs].sort((a, b) => b.length - a.length)) {
    try { if (existsSync(d)) rmdirSync(d); } catch (e) { log(`cleanup: could not remove cgroup ${d}: ${e.message}`); }
  }
}
for (const rt of runtimes) rt.rootExisted = existsSync(rt.root);

const tmp = mkdtempSync('/tmp/berth-bench-engines-');
mkdirSync(join(tmp, 'out'));
const { children, cleanup, stopping } = benchCleanup({ cleanup: removeAll, log, graceMs: 30000 });

// ---------------------------------------------------------------- runtime calls (BENCH_CALLS=1)
const CALLS = process.env.BENCH_CALLS === '1';
const VERBS = new Set(['create', 'start', 'run', 'state', 'kill', 'delete', 'exec', 'pause', 'resume', 'update', 'ps', 'events', 'features', 'list', 'checkpoint', 'restore', 'spec']);
if (CALLS) {
  for (const rt of runtimes) {
    const dir = join(tmp, 'calls', rt.name);
    mkdirSync(dir, { recursive: true });
    rt.callLog = join(dir, 'log');
    mkdirSync(rt.callLog);
    const wrapper = join(dir, basename(rt.bin));
    const q = (x) => `'${x.replace(/'/g, `'\\''`)}'`;
    // One file per call (calls run at once); `times` prints the shell's and then its children's CPU time.
    writeFileSync(wrapper, `#!/bin/bash\nt0=$EPOCHREALTIME\n${q(rt.bin)} "$@"\nrc=$?\nt1=$EPOCHREALTIME\n` +
      `{ echo "$t0 $t1 $rc $*"; times; } > ${q(rt.callLog)}/$$-$t0\nexit $rc\n`);
    chmodSync(wrapper, 0o755);
    rt.bin = wrapper;
  }
}
const callMarks = () => Object.fromEntries(runtimes.map((rt) => [rt.name, new Set(readdirSync(rt.callLog))]));
const seconds = (t) => { const m = /^(\d+)m([\d.]+)s$/.exec(t); return m ? Number(m[1]) * 60 + Number(m[2]) : NaN; };
/** The calls each runtime logged since marks, by verb: { verb: { ms: [...], cpuMs: [...] } }. */
function callsSince(marks) {
  const out = {};
  for (const rt of runtimes) {
    const by = (out[rt.name] = {});
    for (const f of readdirSync(rt.callLog).filter((n) => !marks[rt.name].has(n))) {
      const [head, , children] = readFileSync(join(rt.callLog, f), 'utf8').split('\n');
      if (!children) continue; // still being written
      const [t0, t1, rc, ...argv] = head.split(' ');
      const verb = (argv.find((a) => VERBS.has(a)) ?? argv.join(' ')) + (rc === '0' ? '' : ` (exit ${rc})`);
      const [user, sys] = children.split(' ').map(seconds);
      const v = (by[verb] ??= { ms: [], cpuMs: [] });
      v.ms.push((Number(t1) - Number(t0)) * 1000);
      v.cpuMs.push((user + sys) * 1000);
    }
  }
  return out;
}
const calls = {}; // calls[metric] = { commands, berth: { verb: { ms, cpuMs } }, runc: ... }

class StepError extends Error {}
/** A timed command of an engine's CLI; never starts one once a signal arrived (the handler exits). */
function timed(bin, args, env, cwd = tmp) {
  if (stopping()) return new Promise(() => {});
  return timedRun(bin, args, { outDir: join(tmp, 'out'), children, timeoutMs: opts.timeout * 1000, cwd, env });
}
async function must(what, rt, bin, args, env, cwd) {
  const r = await timed(bin, args, env, cwd);
  if (r.code !== 0) throw new StepError(`${rt.name}: ${what} ${args.join(' ')}: ${failure(r, opts.timeout * 1000)}`);
  return r;
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** Blocks for ms: cleanup runs in the exit handler, where nothing asynchronous runs. */
const sleepSync = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
function alive(pid) {
  try { return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8')); } catch { return false; }
}
/** Host processes whose command line names dir (a daemon's containerd, its shims). */
function processesNaming(dir) {
  const out = [];
  for (const p of readdirSync('/proc').filter((n) => /^\d+$/.test(n) && Number(n) !== process.pid)) {
    try { if (readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ').includes(dir) && alive(Number(p))) out.push(Number(p)); } catch { /* gone */ }
  }
  return out;
}

/** A daemon in its own process group (a Ctrl-C reaches the bench, which stops it in order), logging to dir/name.log. */
function startDaemon(bin, args, dir, name, env = baseEnv) {
  const fd = openSync(join(dir, `${name}.log`), 'a');
  const proc = spawn(bin, args, { stdio: ['ignore', fd, fd], cwd: dir, env, detached: true });
  closeSync(fd);
  proc.on('error', () => {});
  return proc;
}
async function waitUp(proc, dir, name, up) {
  for (let i = 0; i < 600; i++) {
    if (proc.exitCode !== null || proc.signalCode !== null) break;
    if (up()) return;
    await sleep(100);
  }
  const tail = (() => { try { return readFileSync(join(dir, `${name}.log`), 'utf8').split('\n').slice(-15).join('\n'); } catch { return ''; } })();
  throw new Error(`${name} did not come up:\n${tail}`);
}
/** SIGTERM to the daemon and up to 30 s for it; then what still names dir (shims) is killed, and dir unmounted and removed. */
function stopDaemon(proc, dir, name) {
  if (proc?.pid && alive(proc.pid)) {
    try { process.kill(proc.pid, 'SIGTERM'); } catch { /* gone */ }
    for (let i = 0; i < 300 && alive(proc.pid); i++) sleepSync(100);
    if (alive(proc.pid)) { log(`cleanup: ${name} did not exit on SIGTERM; killing it`); try { process.kill(proc.pid, 'SIGKILL'); } catch { /* gone */ } }
  }
  for (let i = 0; i < 50 && processesNaming(dir).length; i++) sleepSync(100);
  for (const pid of processesNaming(dir)) {
    log(`cleanup: killing process ${pid} left by ${name}`);
    try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  }
  removeTmp(dir, log);
}

// ---------------------------------------------------------------- statistics
const results = {};
const slot = (metric, rt) => ((results[metric] ??= {})[rt.name] ??= { samples: [] });
function fail(metric, rt, e) {
  if (!(e instanceof StepError)) throw e;
  log(`n/a: ${e.message}`);
  slot(metric, rt).error ??= e.message;
}
// One untimed warm-up, then n timed runs, the runtimes interleaved.
async function measure(metric, n, body) {
  const marks = CALLS && callMarks();
  for (let i = -1; i < n; i++) {
    for (const rt of runtimes) {
      if (slot(metric, rt).error) continue;
      try {
        const ms = await body(rt, i);
        if (i >= 0) slot(metric, rt).samples.push(ms);
      } catch (e) { fail(metric, rt, e); }
    }
  }
  if (CALLS) calls[metric] = { commands: n + 1, ...callsSince(marks) };
}
/** The exec metric: one running container per runtime (start), n execs into it (exec), removed after (remove). */
async function measureExec(metric, { start, exec, remove }) {
  const ids = new Map();
  for (const rt of runtimes) {
    try { ids.set(rt.name, await start(rt)); } catch (e) { fail(metric, rt, e); }
  }
  try {
    await measure(metric, opts.runs, async (rt, i) => exec(rt, ids.get(rt.name), i));
  } finally {
    for (const rt of runtimes) if (ids.has(rt.name)) await remove(rt, ids.get(rt.name));
  }
}

// ---------------------------------------------------------------- podman
const podman = {
  name: 'podman',
  tools: ['podman', 'conmon'],
  metrics: [['podman-run', 'podman run --rm (true)', 'ms'], ['podman-exec', 'podman exec (true)', 'ms']],
  version: () => `${firstLine('podman', ['--version'])} (${firstLine('conmon', ['--version'])})`,
  IMAGE: 'localhost/berth-bench:latest',
  CGROUP_PARENT: 'libpod_parent',
  async setup(layer) {
    const dir = (this.dir = join(tmp, 'podman'));
    for (const d of ['', 'root', 'runroot', 'tmp']) mkdirSync(join(dir, d), { recursive: true });
    this.cgroups = newCgroupParents(this.CGROUP_PARENT).flatMap((p) => [join(p, 'conmon'), p]);
    writeFileSync(join(dir, 'containers.conf'),
      '[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n');
    writeFileSync(join(dir, 'storage.conf'),
      `[storage]\ndriver = "overlay"\nrunroot = "${join(dir, 'runroot')}"\ngraphroot = "${join(dir, 'root')}"\n`);
    this.env = { ...baseEnv, CONTAINERS_CONF: join(dir, 'containers.conf'), CONTAINERS_STORAGE_CONF: join(dir, 'storage.conf') };
    const imported = this.sync(['import', layer, this.IMAGE]);
    if (imported.status !== 0) throw new Error(`podman import: ${imported.stderr}`);
  },
  args(rt, args) { return ['--tmpdir', join(this.dir, 'tmp'), '--runtime', rt.bin, ...args]; },
  // conmon inherits the working directory (and drops an "oom" file there on an OOM kill).
  sync(args, rt = runtimes[0]) {
    return spawnSync('podman', this.args(rt, args), { cwd: this.dir, env: this.env, encoding: 'utf8', timeout: opts.timeout * 1000 });
  },
  run(rt, args) { return must('podman', rt, 'podman', this.args(rt, args), this.env, this.dir); },
  async bench() {
    log('podman run --rm');
    await measure('podman-run', opts.runs, async (rt) => (await this.run(rt, ['run', '--rm', '--network', 'none', this.IMAGE, 'true'])).ms);
    log('podman exec');
    await measureExec('podman-exec', {
      start: async (rt) => (await this.run(rt, ['run', '-d', '--network', 'none', this.IMAGE, 'sleep', '1000'])).stdout.trim(),
      exec: async (rt, id) => (await this.run(rt, ['exec', id, 'true'])).ms,
      remove: (rt, id) => timed('podman', this.args(rt, ['rm', '-f', '-t', '0', id]), this.env, this.dir),
    });
  },
  teardown() {
    if (!this.env) return;
    // Containers are removed through the runtime that made each of them.
    for (const rt of runtimes) { try { this.sync(['rm', '-a', '-f', '-t', '0'], rt); } catch { /* ignore */ } }
    try { this.sync(['rmi', '-a', '-f']); } catch { /* ignore */ }
    removeTmp(this.dir, log);
    removeCgroupDirs(this.cgroups);
  },
};

// ---------------------------------------------------------------- containerd
const containerd = {
  name: 'containerd',
  tools: ['containerd', 'ctr', 'containerd-shim-runc-v2'],
  metrics: [['ctr-run', 'ctr run --rm (true)', 'ms'], ['ctr-exec', 'ctr task exec (true)', 'ms']],
  version: () => firstLine('containerd', ['--version']).split(/\s+/).slice(0, 3).join(' '),
  IMAGE: 'localhost/berth-bench:latest',
  async setup(archive) {
    const dir = (this.dir = join(tmp, 'containerd'));
    mkdirSync(join(dir, 'tmp'), { recursive: true });
    this.socket = join(dir, 'containerd.sock');
    this.namespace = `berth-bench-${process.pid}`;
    // ctr's containers live in /<namespace>/<id> of every hierarchy.
    this.cgroups = newCgroupParents(this.namespace);
    writeFileSync(join(dir, 'config.toml'), [
      'version = 2',
      `root = "${dir}/root"`,
      `state = "${dir}/state"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      '[grpc]', `  address = "${this.socket}"`,
      '[ttrpc]', `  address = "${this.socket}.ttrpc"`,
      '[debug]', '  address = ""',
      '[metrics]', '  address = ""',
      '[plugins."io.containerd.internal.v1.opt"]', `  path = "${dir}/opt"`, '',
    ].join('\n'));
    // TMPDIR reaches the shims too: their exec process files stay in here.
    this.proc = startDaemon('containerd', ['--config', join(dir, 'config.toml')], dir, 'containerd', { ...baseEnv, TMPDIR: join(dir, 'tmp') });
    await waitUp(this.proc, dir, 'containerd', () => existsSync(this.socket) && this.ctr(['version']).status === 0);
    const imported = this.ctr(['images', 'import', archive]);
    if (imported.status !== 0) throw new Error(`ctr images import: ${imported.stderr}`);
  },
  base() { return ['--address', this.socket, '--namespace', this.namespace]; },
  ctr(args) { return spawnSync('ctr', [...this.base(), ...args], { env: baseEnv, encoding: 'utf8', timeout: opts.timeout * 1000 }); },
  // The shim runs the runtime binary with --root <runc-root>/<namespace>.
  runtimeFlags(rt) { return ['--runc-binary', rt.bin, '--runc-root', join(this.dir, `runc-root-${rt.name}`)]; },
  run(rt, args) { return must('ctr', rt, 'ctr', [...this.base(), ...args], baseEnv); },
  async bench() {
    log('ctr run --rm');
    await measure('ctr-run', opts.runs, async (rt, i) =>
      (await this.run(rt, ['run', '--rm', ...this.runtimeFlags(rt), this.IMAGE, `bench-${rt.name}-${i + 1}`, 'true'])).ms);
    log('ctr task exec');
    await measureExec('ctr-exec', {
      start: async (rt) => {
        const id = `bench-${rt.name}-exec`;
        await this.run(rt, ['run', '-d', ...this.runtimeFlags(rt), this.IMAGE, id, 'sleep', '1000']);
        return id;
      },
      exec: async (rt, id, i) => (await this.run(rt, ['task', 'exec', '--exec-id', `e${i + 1}`, id, 'true'])).ms,
      remove: async (rt, id) => this.removeContainer(id),
    });
  },
  removeContainer(id) {
    this.ctr(['task', 'kill', '--all', '--signal', 'KILL', id]);
    this.ctr(['task', 'delete', '--force', id]);
    this.ctr(['container', 'rm', id]);
  },
  teardown() {
    if (!this.proc) return;
    // containerd leaves its shims and their containers running when it stops: remove them first.
    if (alive(this.proc.pid)) {
      for (const id of this.ctr(['container', 'ls', '-q']).stdout?.split('\n').filter(Boolean) ?? []) this.removeContainer(id);
    }
    stopDaemon(this.proc, this.dir, 'containerd');
    removeCgroupDirs(this.cgroups);
  },
};

// ---------------------------------------------------------------- docker
const docker = {
  name: 'docker',
  // /usr/local/bin/docker on the test hosts is an unrelated newer client.
  tools: ['dockerd', '/usr/bin/docker', 'containerd', 'containerd-shim-runc-v2'],
  metrics: [['docker-run', 'docker run --rm (true)', 'ms'], ['docker-exec', 'docker exec (true)', 'ms']],
  version: () => firstLine('dockerd', ['--version']),
  IMAGE: 'localhost/berth-bench:latest',
  async setup(archive) {
    const dir = (this.dir = join(tmp, 'docker'));
    mkdirSync(join(dir, 'cli'), { recursive: true });
    this.sock = join(dir, 'docker.sock');
    this.cgroups = newCgroupParents('docker');
    this.env = { ...baseEnv, DOCKER_CONFIG: join(dir, 'cli') };
    writeFileSync(join(dir, 'daemon.json'), '{}\n');
    this.proc = startDaemon(which('dockerd'), [
      '--config-file', join(dir, 'daemon.json'),
      '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'), '--pidfile', join(dir, 'dockerd.pid'),
      '-H', `unix://${this.sock}`,
      '--iptables=false', '--ip6tables=false', '--ip-masq=false', '--ip-forward=false', '--bridge=none',
      '--userland-proxy=false', '--storage-driver=overlay2', '--exec-opt', 'native.cgroupdriver=cgroupfs',
      ...runtimes.flatMap((rt) => ['--add-runtime', `${rt.dockerName}=${rt.bin}`]),
    ], dir, 'dockerd');
    await waitUp(this.proc, dir, 'dockerd', () => existsSync(this.sock) && this.docker(['version', '--format', '{{.Server.Version}}']).status === 0);
    const loaded = this.docker(['load', '-i', archive]);
    if (loaded.status !== 0) throw new Error(`docker load: ${loaded.stderr}`);
  },
  docker(args) { return spawnSync('/usr/bin/docker', ['-H', `unix://${this.sock}`, ...args], { env: this.env, encoding: 'utf8', timeout: opts.timeout * 1000 }); },
  run(rt, args) { return must('docker', rt, '/usr/bin/docker', ['-H', `unix://${this.sock}`, ...args], this.env); },
  async bench() {
    log('docker run --rm');
    await measure('docker-run', opts.runs, async (rt) =>
      (await this.run(rt, ['run', '--rm', '--runtime', rt.dockerName, '--network', 'none', this.IMAGE, 'true'])).ms);
    log('docker exec');
    await measureExec('docker-exec', {
      start: async (rt) => (await this.run(rt, ['run', '-d', '--runtime', rt.dockerName, '--network', 'none', this.IMAGE, 'sleep', '1000'])).stdout.trim(),
      exec: async (rt, id) => (await this.run(rt, ['exec', id, 'true'])).ms,
      remove: async (rt, id) => this.docker(['rm', '-f', id]),
    });
  },
  teardown() {
    if (!this.proc) return;
    if (alive(this.proc.pid)) {
      const ids = this.docker(['ps', '-aq']).stdout?.split('\n').filter(Boolean) ?? [];
      if (ids.length) this.docker(['rm', '-f', ...ids]);
    }
    // dockerd stops its containerd; the shims exit after it.
    stopDaemon(this.proc, this.dir, 'dockerd');
    removeCgroupDirs(this.cgroups);
  },
};

const ENGINES = [podman, containerd, docker].filter((e) => wanted.includes(e.name));
const unknown = wanted.filter((w) => !ENGINES.some((e) => e.name === w));
if (unknown.length) { log(`unknown engine(s) in BENCH_ENGINES: ${unknown.join(', ')} (podman, containerd, docker)`); process.exit(2); }
const skipped = [];
for (const e of ENGINES) {
  const missing = e.tools.filter((t) => !which(t));
  if (missing.length) skipped.push(`${e.name}: ${missing.join(', ')} not installed`);
  e.available = !missing.length;
}

function removeAll() {
  for (const e of ENGINES) {
    try { e.teardown(); } catch (err) { log(`cleanup of ${e.name}: ${err.message}`); }
  }
  removeTmp(tmp, log);
  // A runtime root this run created (podman's runtimes use their default roots): removed
  // when no container state is left in it (berth's "@..." entries are its caches).
  for (const rt of runtimes) {
    if (rt.rootExisted || !existsSync(rt.root)) continue;
    const states = readdirSync(rt.root).filter((n) => !n.startsWith('@'));
    if (states.length) log(`cleanup: ${rt.root} still holds ${states.join(', ')}`);
    else rmSync(rt.root, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- report
async function main() {
  const active = ENGINES.filter((e) => e.available);
  for (const s of skipped) log(`skipped: ${s}`);
  if (!active.length) {
    process.stdout.write(`engine benchmark skipped: ${skipped.join('; ') || 'no engine selected'}\n`);
    return;
  }
  const envInfo = {
    date: new Date().toISOString(),
    runs: opts.runs,
    kernel: release(),
    engines: Object.fromEntries(active.map((e) => [e.name, e.version()])),
    skipped,
    nodeExtraCaCertsDropped: droppedEnv,
    berth: { bin: BERTH, version: firstLine(BERTH, ['--version']) },
    runc: { bin: RUNC, version: firstLine(RUNC, ['--version']) },
  };
  log(`berth=${BERTH}; runc=${RUNC}; runs=${opts.runs}; engines=${active.map((e) => e.name).join(',')}; tmp=${tmp}`);
  const rootfs = join(tmp, 'rootfs');
  mkdirSync(rootfs);
  execFileSync('sh', [join(repo, 'scripts/make-rootfs.sh'), rootfs], { stdio: ['ignore', 'ignore', 'inherit'] });
  const layer = join(tmp, 'rootfs.tar');
  execFileSync('tar', ['-C', rootfs, '--numeric-owner', '-cf', layer, '.']);
  const archive = join(tmp, 'image.tar');
  imageArchive(rootfs, 'localhost/berth-bench:latest', ['/bin/sh'], archive);

  const metricList = [];
  for (const e of active) {
    metricList.push(...e.metrics);
    try {
      log(`${e.name}: setting up`);
      await e.setup(e === podman ? layer : archive);
      await e.bench();
    } catch (err) {
      if (!(err instanceof Error) || err instanceof StepError) throw err;
      // The engine itself would not start: every metric of it is n/a, the others go on.
      log(`${e.name}: ${err.message}`);
      for (const [k] of e.metrics) for (const rt of runtimes) slot(k, rt).error ??= `${e.name}: ${err.message.split('\n')[0]}`;
    }
    // Each engine is gone before the next one is measured.
    try { e.teardown(); } catch (err) { log(`cleanup of ${e.name}: ${err.message}`); }
    e.teardown = () => {};
  }

  const out = { env: envInfo, metrics: metricsOf(metricList, runtimes, results), ...(CALLS && { calls }) };
  if (reportAsJson(out, opts, log)) return;
  const { rows, notes } = compareRows(out.metrics, metricList);
  const lines = [];
  for (const [name, v] of Object.entries(envInfo.engines)) lines.push(`${name}: ${v}`);
  for (const s of skipped) lines.push(`skipped: ${s}`);
  lines.push(`cgroupfs, overlay, no network${droppedEnv ? '; NODE_EXTRA_CA_CERTS removed from the engines\' environment' : ''}`);
  lines.push(`berth: ${BERTH} (${envInfo.berth.version})`);
  lines.push(`runc:  ${RUNC} (${envInfo.runc.version})`);
  lines.push(`kernel ${envInfo.kernel}, N=${opts.runs} timed runs per metric after 1 warm-up, runtimes interleaved`);
  lines.push('');
  lines.push(table(rows));
  if (notes.length) { lines.push(''); lines.push('n/a because:'); for (const n of notes) lines.push(`  ${n}`); }
  if (CALLS) { lines.push(''); lines.push(callTable(metricList)); }
  process.stdout.write(lines.join('\n') + '\n');
}

/** Per metric and verb: calls per engine command and the median wall and CPU time of a call with each runtime. */
function callTable(metricList) {
  const med = (xs) => (xs?.length ? stats(xs).median : null);
  const fmt = (v) => (v == null ? '-' : `${v.toFixed(1)} ms`);
  const ratio = (b, r) => (b != null && r ? `${(b / r).toFixed(2)}x` : 'n/a');
  const rows = [['metric: runtime call', 'berth calls', 'berth wall', 'berth CPU', 'runc calls', 'runc wall', 'runc CPU', 'wall ratio', 'CPU ratio']];
  for (const [key, label] of metricList) {
    const c = calls[key];
    if (!c) continue;
    const verbs = [...new Set(runtimes.flatMap((rt) => Object.keys(c[rt.name])))];
    for (const v of verbs) {
      const b = c.berth[v], r = c.runc[v];
      const n = (x) => (x ? (x.ms.length / c.commands).toFixed(1) : '0');
      rows.push([`${label}: ${v}`, n(b), fmt(med(b?.ms)), fmt(med(b?.cpuMs)), n(r), fmt(med(r?.ms)), fmt(med(r?.cpuMs)),
        ratio(med(b?.ms), med(r?.ms)), ratio(med(b?.cpuMs), med(r?.cpuMs))]);
    }
  }
  return `runtime calls per engine command (warm-up included), median wall and CPU time of a call:\n${table(rows)}`;
}

main().then(() => { cleanup(); }, (e) => { log(`fatal: ${e.stack || e}`); cleanup(); process.exit(1); });

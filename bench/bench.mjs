#!/usr/bin/env node
// Benchmark: berth vs runc, side by side in one run.
//
//   npm run bench [-- --runs N] [--json] [--timeout SECONDS]
//   node bench/bench.mjs [--runs N] [--json] [--timeout SECONDS]
//
// Environment:
//   BERTH  the berth binary (default: bin/berth of this repo). Set BERTH=/usr/sbin/runc
//          to check the benchmark itself with runc on both sides.
//   RUNC   the runc binary (default: /usr/sbin/runc, else runc on PATH).
//
// Preparation: a busybox rootfs per bundle (scripts/make-rootfs.sh, or a fallback
// built here from /bin/busybox), bundles whose config.json is `runc spec` edited to
// process.terminal=false, root.readonly=true and process.args ["true"] or
// ["sleep","1000"]; a private --root directory per runtime under one mkdtemp
// directory, and a unique id for every container.
//
// Metrics (each: one untimed warm-up, then N timed runs, runtimes interleaved;
// wall-clock time from spawn to exit of the CLI call; median and p90):
//   run           `run` of the ["true"] bundle in the foreground, until it exits
//   create/start/delete
//                 separate CLI calls on the ["true"] bundle, each timed, plus their
//                 sum. Between `start` and `delete` the benchmark polls `state`
//                 (untimed) until the status is "stopped", so `delete` is the plain
//                 delete of a stopped container (no --force, no kill).
//   state         `state` of one running container (["sleep","1000"] bundle,
//                 created and started once, removed with `delete --force` after)
//   kill          `kill ID CONT` to that container (a signal its init survives)
//   exec          `exec ID true` in the foreground into that container, until it exits
//   run (seccomp) `run` of the ["true"] bundle with Docker's default seccomp profile
//                 (linux.seccomp of ../shared/oracle/engine-configs/docker-run-default-seccomp.json)
//   seccomp compile
//                 berth only, in this process: Docker's default profile through
//                 src/seccomp/compile.ts (libseccomp in the addon), uncached and
//                 from berth's cache of compiled filters (runc compiles inside its
//                 init, where it cannot be timed apart)
//   node -e 0     the floor: what starting any Node program costs on this machine;
//                 berth's state, kill, start and delete over it are also given paired:
//                 each timed call followed by a `node -e 0`, the median of the
//                 differences (the floor drifts by ~2 ms over a run here)
//   init RSS      VmRSS of the container's init process (pid from `state`) while the
//                 container is "created" (["sleep","1000"] bundle, min(N,10)
//                 containers); processes other than init that mention the container
//                 id or the runtime's root (a monitor, say) are summed separately.
//   phases        berth's timed run, create, start, delete and exec calls, split by
//                 the marks berth records with BERTH_TRACE=FILE (src/trace.ts): each
//                 phase from the previous mark to its own (the first from the process's
//                 start), the last one from the exit mark to the end of the CLI call
//                 as timed here; medians of each phase, beside runc's total, and the
//                 CPU time berth's process spent in each (less sensitive to a busy machine).
//
// A step that fails for one runtime prints its error and is reported as n/a; the
// other metrics go on, and the benchmark exits 1. Everything the benchmark creates (containers, state dirs,
// bundles, the temp dir) is removed at the end, on failure and on Ctrl-C.
import { spawnSync, execFileSync } from 'node:child_process';
import {
  mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync, existsSync, copyFileSync, symlinkSync, chmodSync, readdirSync, readlinkSync, rmdirSync,
} from 'node:fs';
import { tmpdir, release } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cleanUpOnExit, COMPARE_HEADER, useServiceEnvironment, failure, firstLine, parseBenchArgs, removeTmp, reportAsJson, stats, table, timedRun } from './common.mjs';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');

// ---------------------------------------------------------------- options
const opts = parseBenchArgs(process.argv.slice(2), { name: 'bench', runs: 20, timeout: 30 });
const log = (m) => process.stderr.write(`bench: ${m}\n`);

function findRunc() {
  if (process.env.RUNC) return process.env.RUNC;
  if (existsSync('/usr/sbin/runc')) return '/usr/sbin/runc';
  for (const d of (process.env.PATH || '').split(':')) if (d && existsSync(join(d, 'runc'))) return join(d, 'runc');
  return 'runc';
}
const RUNC = findRunc();
const BERTH = process.env.BERTH || join(repo, 'bin/berth');

// ---------------------------------------------------------------- state for cleanup
const tmp = mkdtempSync(join(tmpdir(), 'berth-bench-'));
const runtimes = [
  { name: 'berth', bin: BERTH, root: join(tmp, 'root-berth'), ids: new Set(), pids: new Set() },
  { name: 'runc', bin: RUNC, root: join(tmp, 'root-runc'), ids: new Set(), pids: new Set() },
];
for (const rt of runtimes) mkdirSync(rt.root, { recursive: true, mode: 0o700 });
const children = new Set(); // CLI calls in flight (each in its own process group)
const hostMntNs = readlinkSync('/proc/self/ns/mnt');
let cleanedUp = false;
let stopping = null; // the signal that asked us to stop
let seq = 0;
const idPrefix = `bench-${process.pid}-`;
const newId = (rt, what) => `${idPrefix}${what}-${rt.name}-${++seq}`;

// cgroup directories named after our containers (a runtime killed half-way through
// `create` may leave them): walk /sys/fs/cgroup a few levels deep
function ourCgroups() {
  const found = [];
  const walk = (dir, depth) => {
    let ents;
    try { ents = readdirSync(dir, { withFileTypes: true }); } catch { return; }
    for (const e of ents) {
      if (!e.isDirectory()) continue;
      const p = join(dir, e.name);
      if (e.name.startsWith(idPrefix)) found.push(p);
      else if (depth < 5) walk(p, depth + 1);
    }
  };
  walk('/sys/fs/cgroup', 0);
  return found;
}
function removeCgroup(dir) {
  // children first
  try {
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) removeCgroup(join(dir, e.name));
  } catch { return; }
  for (let i = 0; i < 50; i++) {
    let procs = [];
    try { procs = readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean); } catch { /* no procs file */ }
    // a cgroup named after one of our containers holds only processes we started
    for (const pid of procs) { try { process.kill(Number(pid), 'SIGKILL'); } catch { /* gone */ } }
    try { rmdirSync(dir); return true; } catch (e) { if (e.code === 'ENOENT') return true; }
    spawnSync('sleep', ['0.1']);
  }
  log(`cleanup: could not remove cgroup ${dir}`);
  return false;
}

function cleanup() {
  if (cleanedUp) return;
  cleanedUp = true;
  for (const c of children) { try { process.kill(-c.pid, 'SIGKILL'); } catch { /* gone */ } }
  for (const rt of runtimes) {
    const ids = new Set(rt.ids);
    try { // whatever else is left in this runtime's private root, if it has `list`
      const r = spawnSync(rt.bin, ['--root', rt.root, 'list', '-q'], { encoding: 'utf8', timeout: 10000 });
      if (r.status === 0) for (const l of r.stdout.split('\n')) if (l.trim()) ids.add(l.trim());
    } catch { /* no list */ }
    for (const id of ids) {
      try { spawnSync(rt.bin, ['--root', rt.root, 'delete', '--force', id], { stdio: 'ignore', timeout: 10000 }); } catch { /* ignore */ }
    }
    // init processes we saw, if their container could not be deleted: only while the
    // pid still is a process in another mount namespace (not a reused pid of ours)
    for (const pid of rt.pids) {
      try {
        if (readlinkSync(`/proc/${pid}/ns/mnt`) !== hostMntNs) {
          process.kill(pid, 'SIGKILL');
          log(`cleanup: killed leftover ${rt.name} container process ${pid}`);
        }
      } catch { /* gone */ }
    }
  }
  try {
    const cgs = ourCgroups();
    let n = 0;
    for (const d of cgs) if (removeCgroup(d)) n++;
    if (n) log(`cleanup: removed ${n} leftover cgroup dir(s) named after our containers`);
  } catch { /* ignore */ }
  removeTmp(tmp, log);
}
cleanUpOnExit({ stop: (sig) => (stopping = sig), inFlight: () => children.size, cleanup, log, graceMs: 15000 });

// ---------------------------------------------------------------- running commands
function execTimed(bin, args) {
  if (stopping) return new Promise(() => {}); // the signal handler exits the process
  return timedRun(bin, args, { outDir: tmp, children, timeoutMs: opts.timeout * 1000 });
}
class StepError extends Error {}
async function must(rt, args, what) {
  const r = await execTimed(rt.bin, ['--root', rt.root, ...args]);
  if (r.code !== 0) throw new StepError(`${rt.name} ${what || args[0]}: ${failure(r, opts.timeout * 1000)}`);
  return r;
}
// A timed call whose phases berth records (BERTH_TRACE) into r.phases: [name, ms][].
let traceSeq = 0;
async function traced(rt, args, what) {
  if (rt.name !== 'berth') return must(rt, args, what);
  const file = join(tmp, `trace-${++traceSeq}.jsonl`);
  if (stopping) return new Promise(() => {});
  const r = await timedRun(rt.bin, ['--root', rt.root, ...args], { outDir: tmp, children, timeoutMs: opts.timeout * 1000, env: { ...process.env, BERTH_TRACE: file } });
  if (r.code !== 0) throw new StepError(`${rt.name} ${what || args[0]}: ${failure(r, opts.timeout * 1000)}`);
  try {
    const { marks } = JSON.parse(readFileSync(file, 'utf8').split('\n')[0]);
    rmSync(file);
    let prev = 0, prevCpu = 0;
    r.phases = marks.map(([name, t, cpu]) => { const d = [name, t - prev, cpu - prevCpu]; prev = t; prevCpu = cpu; return d; });
    r.phases.push(['exit to end of call', r.ms - prev, null]);
  } catch (e) {
    throw new StepError(`${rt.name} ${what || args[0]}: no trace from BERTH_TRACE (${e.message})`);
  }
  return r;
}
// phaseSamples[metric] = Map(phase name -> samples), phases in the order first seen
const phaseSamples = {};
function addPhases(metric, r) {
  if (!r.phases) return;
  const m = (phaseSamples[metric] ??= new Map());
  for (const [name, ms, cpu] of r.phases) {
    if (!m.has(name)) m.set(name, { ms: [], cpu: [] });
    m.get(name).ms.push(ms);
    if (cpu != null) m.get(name).cpu.push(cpu);
  }
}
async function stateOf(rt, id) {
  const r = await must(rt, ['state', id], 'state');
  try { return JSON.parse(r.stdout); } catch { throw new StepError(`${rt.name} state: output is not JSON: ${r.stdout.slice(0, 200)}`); }
}
async function waitStatus(rt, id, status, limitMs = 10000) {
  const end = Date.now() + limitMs;
  let st;
  for (;;) {
    st = await stateOf(rt, id);
    if (st.status === status) return st;
    if (Date.now() > end) throw new StepError(`${rt.name}: container ${id} still "${st.status}" after ${limitMs} ms, expected "${status}"`);
    await new Promise((r) => setTimeout(r, 2));
  }
}
async function forceDelete(rt, id) {
  const r = await execTimed(rt.bin, ['--root', rt.root, 'delete', '--force', id]);
  if (r.code === 0) rt.ids.delete(id);
  return r;
}

// ---------------------------------------------------------------- preparation
function makeRootfs(dir) {
  const script = join(repo, 'scripts/make-rootfs.sh');
  if (existsSync(script)) {
    execFileSync('sh', [script, dir], { stdio: ['ignore', 'ignore', 'inherit'] });
    return;
  }
  // fallback: busybox and one symlink per applet
  const bb = process.env.BUSYBOX || '/bin/busybox';
  for (const d of ['bin', 'proc', 'sys', 'dev', 'etc', 'tmp', 'root']) mkdirSync(join(dir, d), { recursive: true });
  copyFileSync(bb, join(dir, 'bin/busybox'));
  chmodSync(join(dir, 'bin/busybox'), 0o755);
  const applets = execFileSync(bb, ['--list'], { encoding: 'utf8' }).split('\n').filter((a) => a && a !== 'busybox');
  for (const a of applets) symlinkSync('busybox', join(dir, 'bin', a));
  symlinkSync('bin', join(dir, 'sbin'));
  writeFileSync(join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  writeFileSync(join(dir, 'etc/group'), 'root:x:0:\n');
}
function makeBundle(name, args) {
  const dir = join(tmp, name);
  mkdirSync(dir);
  execFileSync(RUNC, ['spec', '--bundle', dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  const cfgPath = join(dir, 'config.json');
  const cfg = JSON.parse(readFileSync(cfgPath, 'utf8'));
  cfg.process.terminal = false;
  cfg.process.args = args;
  cfg.root = { path: 'rootfs', readonly: true };
  writeFileSync(cfgPath, JSON.stringify(cfg, null, 2));
  makeRootfs(join(dir, 'rootfs'));
  return dir;
}


// ---------------------------------------------------------------- results

// results[metric][runtime] = { samples: [...], error?: string }
const results = {};
const METRICS = [
  ['run', 'run (true, foreground)', 'ms'],
  ['create', 'create', 'ms'],
  ['start', 'start', 'ms'],
  ['delete', 'delete (stopped)', 'ms'],
  ['lifecycle', 'create+start+delete', 'ms'],
  ['runSeccomp', 'run (true, docker seccomp profile)', 'ms'],
  ['seccompCompile', 'seccomp compile, docker profile', 'ms'],
  ['seccompCached', 'seccomp compile, docker profile, cached', 'ms'],
  ['state', 'state (running)', 'ms'],
  ['kill', 'kill (running, SIGCONT)', 'ms'],
  ['exec', 'exec (true, foreground)', 'ms'],
  ['node', 'node -e 0 (floor)', 'ms'],
  ['rss', 'init VmRSS (created)', 'KiB'],
  ['rssOther', 'other runtime procs RSS (created)', 'KiB'],
];
for (const [k] of METRICS) results[k] = {};
const FLOOR_METRICS = ['state', 'kill', 'start', 'delete'];
// berth's short calls less a `node -e 0` timed right after each: ms over the floor, paired.
const pairedOverFloor = {};
async function pairWithFloor(metric, rt, ms) {
  if (rt.name !== 'berth') return;
  const f = await execTimed(process.execPath, ['-e', '0']);
  if (f.code === 0) (pairedOverFloor[metric] ??= []).push(ms - f.ms);
}
const slot = (metric, rt) => (results[metric][rt.name] ??= { samples: [] });
function fail(metrics, rt, e) {
  if (!(e instanceof StepError)) throw e;
  log(`n/a: ${e.message}`);
  for (const m of metrics) slot(m, rt).error ??= e.message;
}
const alive = (metrics, rt) => !metrics.some((m) => slot(m, rt).error);

// Runs `body(rt, timed)` once untimed (warm-up) then `n` times, interleaving the
// runtimes; a runtime whose step throws is dropped from these metrics.
async function measure(metrics, n, body) {
  for (let i = -1; i < n; i++) {
    for (const rt of runtimes) {
      if (!alive(metrics, rt)) continue;
      try { await body(rt, i >= 0); } catch (e) { fail(metrics, rt, e); }
    }
  }
}

// ---------------------------------------------------------------- measurements
async function benchRun(bundleTrue) {
  await measure(['run'], opts.runs, async (rt, timed) => {
    const id = newId(rt, 'run');
    rt.ids.add(id);
    const r = await traced(rt, ['run', '--bundle', bundleTrue, id], 'run');
    // `run` removes the container when it exits; if it did not, do it untimed
    const left = await execTimed(rt.bin, ['--root', rt.root, 'state', id]);
    if (left.code === 0) await forceDelete(rt, id); else rt.ids.delete(id);
    if (timed) { slot('run', rt).samples.push(r.ms); addPhases('run', r); }
  });
}

async function benchLifecycle(bundleTrue) {
  const ms = ['create', 'start', 'delete', 'lifecycle'];
  await measure(ms, opts.runs, async (rt, timed) => {
    const id = newId(rt, 'csd');
    rt.ids.add(id);
    try {
      const c = await traced(rt, ['create', '--bundle', bundleTrue, id], 'create');
      const s = await traced(rt, ['start', id], 'start');
      if (timed) await pairWithFloor('start', rt, s.ms);
      await waitStatus(rt, id, 'stopped');
      const d = await traced(rt, ['delete', id], 'delete');
      rt.ids.delete(id);
      if (timed) await pairWithFloor('delete', rt, d.ms);
      if (timed) {
        slot('create', rt).samples.push(c.ms);
        slot('start', rt).samples.push(s.ms);
        slot('delete', rt).samples.push(d.ms);
        slot('lifecycle', rt).samples.push(c.ms + s.ms + d.ms);
        addPhases('create', c); addPhases('start', s); addPhases('delete', d);
      }
    } finally {
      if (rt.ids.has(id)) await forceDelete(rt, id);
    }
  });
}

async function benchState(bundleSleep) {
  const ids = new Map();
  try {
    for (const rt of runtimes) {
      const id = newId(rt, 'state');
      rt.ids.add(id);
      ids.set(rt.name, id);
      try {
        await must(rt, ['create', '--bundle', bundleSleep, id], 'create (for state)');
        const st = await stateOf(rt, id);
        if (st.pid) rt.pids.add(st.pid);
        await must(rt, ['start', id], 'start (for state)');
        await waitStatus(rt, id, 'running');
      } catch (e) { fail(['state'], rt, e); }
    }
    await measure(['state'], opts.runs, async (rt, timed) => {
      const r = await must(rt, ['state', ids.get(rt.name)], 'state');
      let st;
      try { st = JSON.parse(r.stdout); } catch { throw new StepError(`${rt.name} state: output is not JSON`); }
      if (st.status !== 'running') throw new StepError(`${rt.name} state: status "${st.status}", expected "running"`);
      if (timed) { slot('state', rt).samples.push(r.ms); await pairWithFloor('state', rt, r.ms); }
    });
    // A signal the sleeping init survives (engines send TERM and KILL; the runtime's work is the same).
    await measure(['kill'], opts.runs, async (rt, timed) => {
      const r = await traced(rt, ['kill', ids.get(rt.name), 'CONT'], 'kill');
      if (timed) { slot('kill', rt).samples.push(r.ms); addPhases('kill', r); await pairWithFloor('kill', rt, r.ms); }
    });
    await measure(['exec'], opts.runs, async (rt, timed) => {
      const r = await traced(rt, ['exec', ids.get(rt.name), 'true'], 'exec');
      if (timed) { slot('exec', rt).samples.push(r.ms); addPhases('exec', r); }
    });
  } finally {
    for (const rt of runtimes) {
      const id = ids.get(rt.name);
      if (!id || !rt.ids.has(id)) continue;
      const r = await forceDelete(rt, id);
      if (r.code !== 0) log(`${rt.name} delete --force ${id} failed: ${(r.stderr || '').trim()}`);
      else rt.pids.clear();
    }
  }
}

const DOCKER_PROFILE = join(repo, '../shared/oracle/engine-configs/docker-run-default-seccomp.json');
function dockerSeccomp() {
  if (!existsSync(DOCKER_PROFILE)) throw new StepError(`${DOCKER_PROFILE} not found`);
  return JSON.parse(readFileSync(DOCKER_PROFILE, 'utf8')).linux.seccomp;
}

async function benchRunSeccomp(bundle) {
  await measure(['runSeccomp'], opts.runs, async (rt, timed) => {
    const id = newId(rt, 'runsc');
    rt.ids.add(id);
    const r = await must(rt, ['run', '--bundle', bundle, id], 'run (seccomp)');
    const left = await execTimed(rt.bin, ['--root', rt.root, 'state', id]);
    if (left.code === 0) await forceDelete(rt, id); else rt.ids.delete(id);
    if (timed) slot('runSeccomp', rt).samples.push(r.ms);
  });
}

// berth's compiler, bundled from source for this process (esbuild is a dev dependency).
async function benchSeccompCompile() {
  const berth = runtimes[0];
  try {
    const profile = dockerSeccomp();
    const esbuild = await import('esbuild');
    // Inside the repository, so it finds the addon as dist/berth.js does.
    const out = join(repo, `build/bench-seccomp-${process.pid}/compile.cjs`);
    await esbuild.build({ entryPoints: [join(repo, 'src/seccomp/compile.ts')], outfile: out, bundle: true, platform: 'node', format: 'cjs', logLevel: 'warning' });
    const { createRequire } = await import('node:module');
    const { compileSeccomp } = createRequire(import.meta.url)(out);
    rmSync(dirname(out), { recursive: true, force: true });
    const cacheDir = join(tmp, 'seccomp-cache');
    for (let i = -1; i < opts.runs; i++) {
      let t0 = process.hrtime.bigint();
      compileSeccomp(profile);
      const plain = Number(process.hrtime.bigint() - t0) / 1e6;
      rmSync(cacheDir, { recursive: true, force: true });
      compileSeccomp(profile, { cacheDir });
      t0 = process.hrtime.bigint();
      compileSeccomp(profile, { cacheDir });
      const cached = Number(process.hrtime.bigint() - t0) / 1e6;
      if (i >= 0) {
        slot('seccompCompile', berth).samples.push(plain);
        slot('seccompCached', berth).samples.push(cached);
      }
    }
  } catch (e) {
    fail(['seccompCompile', 'seccompCached'], berth, e instanceof StepError ? e : new StepError(`seccomp compile: ${e.message}`));
  }
}

const nodeCpu = [];
async function benchNodeFloor() {
  const pseudo = { name: 'node' };
  for (let i = -1; i < opts.runs; i++) {
    const r = await execTimed(process.execPath, ['-e', '0']);
    if (r.code !== 0) throw new Error(`node -e 0 failed: ${r.stderr}`);
    if (i >= 0) slot('node', pseudo).samples.push(r.ms);
    // its CPU time, as berth's phases count theirs (untimed)
    const c = await execTimed(process.execPath, ['-e', 'const c = process.cpuUsage(); process.stdout.write(String((c.user + c.system) / 1e3))']);
    if (i >= 0 && c.code === 0) nodeCpu.push(Number(c.stdout));
  }
}

function readKiB(pid, field) {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : null;
}
// processes other than init that mention the container id or the runtime's root
function otherRuntimeProcs(rt, id, initPid) {
  const found = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p) || Number(p) === initPid || Number(p) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(id) || cmd.includes(rt.root)) found.push({ pid: Number(p), cmd: cmd.trim(), rssKiB: readKiB(p, 'VmRSS') ?? 0 });
    } catch { /* gone */ }
  }
  return found;
}
const rssDetails = {};
async function benchRss(bundleSleep) {
  const n = Math.min(opts.runs, 10);
  await measure(['rss', 'rssOther'], n, async (rt, timed) => {
    const id = newId(rt, 'rss');
    rt.ids.add(id);
    let pid = null;
    try {
      await must(rt, ['create', '--bundle', bundleSleep, id], 'create (for RSS)');
      const st = await stateOf(rt, id);
      if (st.status !== 'created') throw new StepError(`${rt.name} state after create: "${st.status}", expected "created"`);
      if (!Number.isInteger(st.pid) || st.pid <= 0) throw new StepError(`${rt.name} state after create: no pid`);
      pid = st.pid;
      rt.pids.add(pid);
      const rss = readKiB(st.pid, 'VmRSS');
      if (rss == null) throw new StepError(`${rt.name}: no VmRSS for init pid ${st.pid}`);
      const others = otherRuntimeProcs(rt, id, st.pid);
      if (timed) {
        slot('rss', rt).samples.push(rss);
        slot('rssOther', rt).samples.push(others.reduce((a, o) => a + o.rssKiB, 0));
        rssDetails[rt.name] = {
          initPid: st.pid,
          initCmd: readFileSync(`/proc/${st.pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim(),
          others,
        };
      }
    } finally {
      if (rt.ids.has(id)) await forceDelete(rt, id);
      if (pid && !rt.ids.has(id)) rt.pids.delete(pid);
    }
  });
}

// ---------------------------------------------------------------- report
const fmt = (v, unit) => (v == null ? 'n/a' : unit === 'KiB' ? `${(v / 1024).toFixed(2)} MiB` : `${v.toFixed(1)} ms`);

async function main() {
  const env = {
    date: new Date().toISOString(),
    runs: opts.runs,
    node: process.version,
    kernel: release(),
    berth: { bin: BERTH, version: firstLine(BERTH, ['--version']) },
    runc: { bin: RUNC, version: firstLine(RUNC, ['--version']) },
    droppedEnv: useServiceEnvironment(),
  };
  log(`berth=${BERTH} (${env.berth.version}); runc=${RUNC} (${env.runc.version}); runs=${opts.runs}; tmp=${tmp}`);
  const bundleTrue = makeBundle('bundle-true', ['true']);
  const bundleSleep = makeBundle('bundle-sleep', ['sleep', '1000']);

  log('node -e 0 (floor)'); await benchNodeFloor();
  log('run'); await benchRun(bundleTrue);
  log('create / start / delete'); await benchLifecycle(bundleTrue);
  let bundleSeccomp = null;
  try {
    const seccomp = dockerSeccomp();
    bundleSeccomp = makeBundle('bundle-seccomp', ['true']);
    const cfgPath = join(bundleSeccomp, 'config.json');
    const cfg = JSON.parse(readFileSync(cfgPath, 'utf8'));
    cfg.linux.seccomp = seccomp;
    writeFileSync(cfgPath, JSON.stringify(cfg, null, 2));
  } catch (e) {
    for (const rt of runtimes) fail(['runSeccomp'], rt, e instanceof StepError ? e : new StepError(e.message));
  }
  if (bundleSeccomp) { log('run with docker seccomp profile'); await benchRunSeccomp(bundleSeccomp); }
  log('seccomp compile'); await benchSeccompCompile();
  log('state, exec'); await benchState(bundleSleep);
  log('init RSS in "created"'); await benchRss(bundleSleep);

  const out = { env, metrics: {} };
  for (const [key, label, unit] of METRICS) {
    out.metrics[key] = { label, unit };
    const names = key === 'node' ? ['node'] : key.startsWith('seccompC') ? ['berth'] : runtimes.map((r) => r.name);
    for (const nm of names) {
      const s = results[key][nm];
      out.metrics[key][nm] = s?.error ? { error: s.error } : { ...stats(s?.samples ?? []), samples: s?.samples ?? [] };
    }
  }
  out.rssDetails = rssDetails;
  out.nodeCpu = stats(nodeCpu);
  out.phases = {};
  for (const [metric, m] of Object.entries(phaseSamples)) {
    out.phases[metric] = [...m].map(([phase, { ms, cpu }]) => ({ phase, ...stats(ms), cpu: stats(cpu), samples: ms, cpuSamples: cpu }));
  }
  const floor = out.metrics.node.node?.median;
  // The issue's targets for the short calls are in ms over the floor.
  out.overFloor = {};
  for (const metric of FLOOR_METRICS) {
    out.overFloor[metric] = {};
    for (const rt of runtimes) {
      const m = out.metrics[metric][rt.name]?.median;
      out.overFloor[metric][rt.name] = m == null || !floor ? null : { ratio: m / floor, overMs: m - floor };
    }
    if (out.overFloor[metric].berth && pairedOverFloor[metric]) out.overFloor[metric].berth.pairedOverMs = stats(pairedOverFloor[metric]).median;
  }

  if (reportAsJson(out, opts, log)) return;

  const rows = [COMPARE_HEADER];
  const notes = [];
  for (const [key, label, unit] of METRICS) {
    const m = out.metrics[key];
    if (key === 'seccompCompile' || key === 'seccompCached') {
      const b = m.berth;
      if (b.error) notes.push(`${label} / berth: ${b.error}`);
      rows.push([label, fmt(b.median, unit), fmt(b.p90, unit), '-', '-', '-']);
      continue;
    }
    if (key === 'node') {
      const f = m.node;
      rows.push([label, fmt(f.median, unit), fmt(f.p90, unit), fmt(f.median, unit), fmt(f.p90, unit), '-']);
      continue;
    }
    const b = m.berth, r = m.runc;
    for (const [nm, v] of [['berth', b], ['runc', r]]) if (v.error) notes.push(`${label} / ${nm}: ${v.error}`);
    const ratio = b.median != null && r.median ? `${(b.median / r.median).toFixed(2)}x` : 'n/a';
    rows.push([label, fmt(b.median, unit), fmt(b.p90, unit), fmt(r.median, unit), fmt(r.p90, unit), ratio]);
  }
  const lines = [];
  lines.push(`berth: ${BERTH} (${env.berth.version})`);
  lines.push(`runc:  ${RUNC} (${env.runc.version})`);
  lines.push(`node ${process.version}, kernel ${env.kernel}, N=${opts.runs} timed runs per metric after 1 warm-up (RSS: ${Math.min(opts.runs, 10)} containers)`);
  if (env.droppedEnv.length) lines.push(`environment as services have it: without ${env.droppedEnv.join(', ')} (BENCH_INHERIT_ENV=1 keeps it)`);
  lines.push('');
  lines.push(table(rows));
  lines.push('');
  for (const metric of FLOOR_METRICS) {
    const v = out.overFloor[metric].berth;
    const sign = (x) => `${x >= 0 ? '+' : ''}${x.toFixed(1)} ms`;
    lines.push(v ? `${metric} vs node -e 0 floor, berth: ${v.ratio.toFixed(2)}x the floor (${sign(v.overMs)}; paired with a node -e 0 after each call: ${v.pairedOverMs == null ? 'n/a' : sign(v.pairedOverMs)})`
      : `${metric} vs node -e 0 floor, berth: n/a`);
  }
  for (const rt of runtimes) {
    const d = rssDetails[rt.name];
    if (d) lines.push(`${rt.name} init in "created": ${d.initCmd || '(no cmdline)'}${d.others.length ? `; other processes: ${d.others.map((o) => `${o.pid} ${o.cmd.slice(0, 60)} (${o.rssKiB} KiB)`).join(', ')}` : ''}`);
  }
  lines.push('(create/start/delete: ["true"] bundle; state polled untimed until "stopped" before a plain delete)');
  if (out.nodeCpu) lines.push(`node -e 0: CPU median ${fmt(out.nodeCpu.median, 'ms')} (the floor of "CPU median" below)`);
  for (const metric of ['run', 'create', 'start', 'delete', 'exec']) {
    const ph = out.phases[metric];
    if (!ph) continue;
    const total = out.metrics[metric];
    lines.push('');
    lines.push(`berth ${metric}, by phase (BERTH_TRACE marks; median of ${ph[0].n}): total ${fmt(total.berth?.median, 'ms')}, runc ${metric} total ${fmt(total.runc?.median, 'ms')}`);
    const sum = ph.reduce((a, p) => a + p.median, 0);
    const cpuSum = ph.reduce((a, p) => a + (p.cpu?.median ?? 0), 0);
    lines.push(table([['phase (each ends at its mark)', 'median', 'p90', 'share', 'CPU median'],
      ...ph.map((p) => [p.phase, fmt(p.median, 'ms'), fmt(p.p90, 'ms'), `${((100 * p.median) / sum).toFixed(0)}%`, p.cpu ? fmt(p.cpu.median, 'ms') : '-']),
      ['sum of medians', fmt(sum, 'ms'), '', '', fmt(cpuSum, 'ms')]]));
  }
  if (notes.length) { lines.push(''); lines.push('n/a because:'); for (const n of notes) lines.push(`  ${n}`); }
  process.stdout.write(lines.join('\n') + '\n');
}

main().then(() => { cleanup(); }, (e) => { log(`fatal: ${e.stack || e}`); cleanup(); process.exit(1); });

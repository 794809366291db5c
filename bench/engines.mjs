#!/usr/bin/env node
// Benchmark: berth vs runc under a real engine (podman 4.3 with conmon), side by side.
//
//   npm run bench [-- --runs N]   (after bench/bench.mjs; both take the same flags)
//   node bench/engines.mjs [--runs N (default 10)] [--json] [--timeout SECONDS]
//
// Environment: BERTH (default bin/berth of this repo), RUNC (default /usr/sbin/runc).
//
// One private podman for both runtimes: its own containers.conf (cgroupfs,
// events to a file, nofile/nproc ulimits this host can grant), storage
// (graphroot/runroot) and --tmpdir under one mkdtemp dir; a busybox rootfs
// (scripts/make-rootfs.sh) brought in with `podman import`. The runtimes differ
// only in `--runtime`. Each keeps its state in its default root (/run/berth,
// /run/runc): podman does not hand --runtime-flag on to the cleanup process
// conmon starts when a container exits.
//
// Metrics (each: one untimed warm-up, then N timed runs, runtimes interleaved;
// wall-clock time from spawn to exit of the podman command; median and p90):
//   podman run --rm     `podman run --rm --network none IMG true`, until podman exits
//   podman exec         `podman exec C true` into a running container (one per
//                       runtime, `run -d ... sleep 1000`, removed afterwards)
//
// Everything made here (containers, image, storage and its mounts, the temp dir,
// cgroup parents and runtime roots podman or the runtimes created) is removed at
// the end, on failure and on Ctrl-C. Without podman the benchmark says so and exits 0.
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync, existsSync, openSync, closeSync, readdirSync, rmdirSync, unlinkSync } from 'node:fs';
import { release } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');

// ---------------------------------------------------------------- options
function parseArgs(argv) {
  const o = { runs: 10, json: false, timeout: 60 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const eq = a.indexOf('=');
      if (eq >= 0) return a.slice(eq + 1);
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--json') o.json = true;
    else if (a === '--runs' || a.startsWith('--runs=')) o.runs = Number(val());
    else if (a === '--timeout' || a.startsWith('--timeout=')) o.timeout = Number(val());
    else if (a === '-h' || a === '--help') usage();
    else usage(`unknown argument: ${a}`);
  }
  if (!Number.isInteger(o.runs) || o.runs < 1) usage('--runs must be a positive integer');
  if (!(o.timeout > 0)) usage('--timeout must be a positive number of seconds');
  return o;
}
function usage(err) {
  const text = 'usage: node bench/engines.mjs [--runs N (default 10)] [--json] [--timeout SECONDS (default 60)]\n' +
    '  env BERTH=<binary> (default bin/berth), RUNC=<binary> (default /usr/sbin/runc)\n';
  if (err) { process.stderr.write(`bench-engines: ${err}\n${text}`); process.exit(2); }
  process.stdout.write(text); process.exit(0);
}
const opts = parseArgs(process.argv.slice(2));
const log = (m) => process.stderr.write(`bench-engines: ${m}\n`);

function which(name) {
  for (const d of [...(process.env.PATH || '').split(':'), '/usr/sbin', '/usr/bin']) if (d && existsSync(join(d, name))) return join(d, name);
  return null;
}
const PODMAN = which('podman');
const RUNC = process.env.RUNC || (existsSync('/usr/sbin/runc') ? '/usr/sbin/runc' : which('runc'));
const BERTH = process.env.BERTH || join(repo, 'bin/berth');
if (!PODMAN || !which('conmon') || !RUNC) {
  process.stdout.write(`engine benchmark skipped: ${[!PODMAN && 'podman', !which('conmon') && 'conmon', !RUNC && 'runc'].filter(Boolean).join(', ')} not installed\n`);
  process.exit(0);
}

const runtimes = [
  { name: 'berth', bin: BERTH, root: '/run/berth' },
  { name: 'runc', bin: RUNC, root: '/run/runc' },
];
const CGROUP_PARENT = 'libpod_parent';
const cgroupHierarchies = readdirSync('/sys/fs/cgroup').map((h) => join('/sys/fs/cgroup', h));
// What existed before, so cleanup removes only what this run created.
const cgroupParentsBefore = new Set(cgroupHierarchies.filter((h) => existsSync(join(h, CGROUP_PARENT))));
for (const rt of runtimes) rt.rootExisted = existsSync(rt.root);

// ---------------------------------------------------------------- private podman
const tmp = mkdtempSync('/tmp/berth-bench-engines-');
for (const d of ['root', 'runroot', 'tmp', 'out']) mkdirSync(join(tmp, d));
writeFileSync(join(tmp, 'containers.conf'),
  '[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n');
writeFileSync(join(tmp, 'storage.conf'),
  `[storage]\ndriver = "overlay"\nrunroot = "${join(tmp, 'runroot')}"\ngraphroot = "${join(tmp, 'root')}"\n`);
const env = { ...process.env, CONTAINERS_CONF: join(tmp, 'containers.conf'), CONTAINERS_STORAGE_CONF: join(tmp, 'storage.conf') };
const IMAGE = 'localhost/berth-bench:latest';
const podmanArgs = (rt, args) => ['--tmpdir', join(tmp, 'tmp'), '--runtime', rt.bin, ...args];
// conmon inherits the working directory (and drops an "oom" file there on an OOM kill).
const podmanSync = (args, rt = runtimes[0]) =>
  spawnSync(PODMAN, podmanArgs(rt, args), { cwd: tmp, env, encoding: 'utf8', timeout: opts.timeout * 1000 });

const children = new Set();
let cleanedUp = false;
let stopping = null;

function cleanup() {
  if (cleanedUp) return;
  cleanedUp = true;
  for (const c of children) { try { process.kill(-c.pid, 'SIGKILL'); } catch { /* gone */ } }
  // Containers are removed through the runtime that made each of them.
  for (const rt of runtimes) {
    try { podmanSync(['rm', '-a', '-f', '-t', '0'], rt); } catch { /* ignore */ }
  }
  try { podmanSync(['rmi', '-a', '-f']); } catch { /* ignore */ }
  // never recurse through a mount into the host's files
  try {
    const mps = readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
      .map((l) => l.split(' ')[4]).filter((p) => p && (p === tmp || p.startsWith(tmp + '/')))
      .sort().reverse();
    for (const mp of mps) spawnSync('umount', ['-l', mp], { stdio: 'ignore' });
    if (mps.length) log(`cleanup: unmounted ${mps.length} leftover mount(s) under ${tmp}`);
  } catch { /* ignore */ }
  try { rmSync(tmp, { recursive: true, force: true }); } catch (e) { log(`cleanup: could not remove ${tmp}: ${e.message}`); }
  for (const h of cgroupHierarchies) {
    const parent = join(h, CGROUP_PARENT);
    if (cgroupParentsBefore.has(h) || !existsSync(parent)) continue;
    for (const d of [join(parent, 'conmon'), parent]) {
      try { if (existsSync(d)) rmdirSync(d); } catch (e) { log(`cleanup: could not remove cgroup ${d}: ${e.message}`); }
    }
  }
  // A runtime root this run created: removed when no container state is left in it
  // (berth's "@..." entries are its caches).
  for (const rt of runtimes) {
    if (rt.rootExisted || !existsSync(rt.root)) continue;
    const states = readdirSync(rt.root).filter((n) => !n.startsWith('@'));
    if (states.length) log(`cleanup: ${rt.root} still holds ${states.join(', ')}`);
    else rmSync(rt.root, { recursive: true, force: true });
  }
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    const code = sig === 'SIGINT' ? 130 : 143;
    if (stopping) { cleanup(); process.exit(code); }
    stopping = sig;
    log(`${sig}: waiting for ${children.size} command(s) in flight, then cleaning up`);
    const end = Date.now() + 30000;
    const tick = () => {
      if (children.size && Date.now() < end) { setTimeout(tick, 20); return; }
      cleanup(); process.exit(code);
    };
    tick();
  });
}
process.on('uncaughtException', (e) => { log(`fatal: ${e.stack || e}`); cleanup(); process.exit(1); });
process.on('unhandledRejection', (e) => { log(`fatal: ${e?.stack || e}`); cleanup(); process.exit(1); });

// ---------------------------------------------------------------- running podman
// Output to files rather than pipes: conmon inherits them and outlives `run -d`.
let outSeq = 0;
function podmanTimed(rt, args) {
  if (stopping) return new Promise(() => {}); // the signal handler exits the process
  const outPath = join(tmp, 'out', `out-${++outSeq}`), errPath = join(tmp, 'out', `err-${outSeq}`);
  const outFd = openSync(outPath, 'w'), errFd = openSync(errPath, 'w');
  return new Promise((res) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(PODMAN, podmanArgs(rt, args), { cwd: tmp, env, stdio: ['ignore', outFd, errFd], detached: true });
    children.add(child);
    const timer = setTimeout(() => { child.timedOut = true; try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } }, opts.timeout * 1000);
    const finish = (code, signal, spawnErr) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      clearTimeout(timer);
      children.delete(child);
      closeSync(outFd); closeSync(errFd);
      const stdout = readFileSync(outPath, 'utf8'), stderr = readFileSync(errPath, 'utf8');
      unlinkSync(outPath); unlinkSync(errPath);
      res({ ms, code, signal, stdout, stderr, spawnErr, timedOut: child.timedOut });
    };
    child.on('error', (e) => finish(null, null, e));
    child.on('exit', (code, signal) => finish(code, signal));
  });
}
class StepError extends Error {}
async function must(rt, args) {
  const r = await podmanTimed(rt, args);
  if (r.code !== 0) {
    const why = r.spawnErr ? r.spawnErr.message : r.timedOut ? `timed out after ${opts.timeout}s` : r.signal ? `killed by ${r.signal}` : `exit ${r.code}`;
    const msg = (r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ');
    throw new StepError(`${rt.name}: podman ${args.join(' ')}: ${why}${msg ? `: ${msg}` : ''}`);
  }
  return r;
}

// ---------------------------------------------------------------- statistics
function stats(samples) {
  if (!samples.length) return null;
  const s = [...samples].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
  const median = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  return { n: s.length, median, p90: q(0.9), min: s[0], max: s[s.length - 1] };
}
const METRICS = [
  ['run', 'podman run --rm (true)', 'ms'],
  ['exec', 'podman exec (true)', 'ms'],
];
const results = {};
for (const [k] of METRICS) results[k] = {};
const slot = (metric, rt) => (results[metric][rt.name] ??= { samples: [] });
function fail(metric, rt, e) {
  if (!(e instanceof StepError)) throw e;
  log(`n/a: ${e.message}`);
  slot(metric, rt).error ??= e.message;
}
// One untimed warm-up, then n timed runs, the runtimes interleaved.
async function measure(metric, n, body) {
  for (let i = -1; i < n; i++) {
    for (const rt of runtimes) {
      if (slot(metric, rt).error) continue;
      try {
        const ms = await body(rt);
        if (i >= 0) slot(metric, rt).samples.push(ms);
      } catch (e) { fail(metric, rt, e); }
    }
  }
}

// ---------------------------------------------------------------- measurements
async function benchRun() {
  await measure('run', opts.runs, async (rt) => (await must(rt, ['run', '--rm', '--network', 'none', IMAGE, 'true'])).ms);
}

async function benchExec() {
  const ids = new Map();
  for (const rt of runtimes) {
    try {
      ids.set(rt.name, (await must(rt, ['run', '-d', '--network', 'none', IMAGE, 'sleep', '1000'])).stdout.trim());
    } catch (e) { fail('exec', rt, e); }
  }
  try {
    await measure('exec', opts.runs, async (rt) => (await must(rt, ['exec', ids.get(rt.name), 'true'])).ms);
  } finally {
    for (const rt of runtimes) if (ids.has(rt.name)) await podmanTimed(rt, ['rm', '-f', '-t', '0', ids.get(rt.name)]);
  }
}

// ---------------------------------------------------------------- report
const fmt = (v) => (v == null ? 'n/a' : `${v.toFixed(1)} ms`);
function table(rows) {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  return rows.map((r, ri) => r.map((c, i) => (i === 0 ? String(c).padEnd(w[i]) : String(c).padStart(w[i]))).join('  ')
    + (ri === 0 ? `\n${w.map((x) => '-'.repeat(x)).join('  ')}` : '')).join('\n');
}
function firstLine(bin, args) {
  try {
    const r = spawnSync(bin, args, { encoding: 'utf8', timeout: 10000 });
    return (r.stdout || r.stderr || '').split('\n')[0].trim() || `exit ${r.status}`;
  } catch (e) { return `unavailable: ${e.message}`; }
}

async function main() {
  const envInfo = {
    date: new Date().toISOString(),
    runs: opts.runs,
    kernel: release(),
    podman: { bin: PODMAN, version: firstLine(PODMAN, ['--version']) },
    conmon: firstLine('conmon', ['--version']),
    berth: { bin: BERTH, version: firstLine(BERTH, ['--version']) },
    runc: { bin: RUNC, version: firstLine(RUNC, ['--version']) },
  };
  log(`${envInfo.podman.version}; berth=${BERTH}; runc=${RUNC}; runs=${opts.runs}; tmp=${tmp}`);
  const rootfs = join(tmp, 'rootfs');
  mkdirSync(rootfs);
  execFileSync('sh', [join(repo, 'scripts/make-rootfs.sh'), rootfs], { stdio: ['ignore', 'ignore', 'inherit'] });
  const layer = join(tmp, 'rootfs.tar');
  execFileSync('tar', ['-C', rootfs, '--numeric-owner', '-cf', layer, '.']);
  const imported = podmanSync(['import', layer, IMAGE]);
  if (imported.status !== 0) throw new Error(`podman import: ${imported.stderr}`);

  log('podman run --rm'); await benchRun();
  log('podman exec'); await benchExec();

  const out = { env: envInfo, metrics: {} };
  for (const [key, label, unit] of METRICS) {
    out.metrics[key] = { label, unit };
    for (const rt of runtimes) {
      const s = results[key][rt.name];
      out.metrics[key][rt.name] = s?.error ? { error: s.error } : { ...stats(s?.samples ?? []), samples: s?.samples ?? [] };
    }
  }
  if (opts.json) {
    const round = (k, v) => (typeof v === 'number' && !Number.isInteger(v) ? Math.round(v * 1000) / 1000 : v);
    process.stdout.write(JSON.stringify(out, round, 2) + '\n');
    return;
  }
  const rows = [['metric', 'berth median', 'berth p90', 'runc median', 'runc p90', 'berth/runc']];
  const notes = [];
  for (const [key, label] of METRICS) {
    const b = out.metrics[key].berth, r = out.metrics[key].runc;
    for (const [nm, v] of [['berth', b], ['runc', r]]) if (v.error) notes.push(`${label} / ${nm}: ${v.error}`);
    const ratio = b.median != null && r.median ? `${(b.median / r.median).toFixed(2)}x` : 'n/a';
    rows.push([label, fmt(b.median), fmt(b.p90), fmt(r.median), fmt(r.p90), ratio]);
  }
  const lines = [];
  lines.push(`engine: ${envInfo.podman.version} (${envInfo.conmon}), cgroupfs, overlay, --network none`);
  lines.push(`berth: ${BERTH} (${envInfo.berth.version})`);
  lines.push(`runc:  ${RUNC} (${envInfo.runc.version})`);
  lines.push(`kernel ${envInfo.kernel}, N=${opts.runs} timed runs per metric after 1 warm-up, runtimes interleaved`);
  lines.push('');
  lines.push(table(rows));
  if (notes.length) { lines.push(''); lines.push('n/a because:'); for (const n of notes) lines.push(`  ${n}`); }
  process.stdout.write(lines.join('\n') + '\n');
}

main().then(() => { cleanup(); }, (e) => { log(`fatal: ${e.stack || e}`); cleanup(); process.exit(1); });

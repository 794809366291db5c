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
import { spawnSync, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync, existsSync, readdirSync, rmdirSync } from 'node:fs';
import { release } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchCleanup, compareRows, failure, firstLine, metricsOf, parseBenchArgs, removeTmp, reportAsJson, table, timedRun } from './common.mjs';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');

// ---------------------------------------------------------------- options
const opts = parseBenchArgs(process.argv.slice(2), { name: 'engines', runs: 10, timeout: 60 });
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

const { children, cleanup, stopping } = benchCleanup({ cleanup: removeAll, log, graceMs: 30000 });

function removeAll() {
  // Containers are removed through the runtime that made each of them.
  for (const rt of runtimes) {
    try { podmanSync(['rm', '-a', '-f', '-t', '0'], rt); } catch { /* ignore */ }
  }
  try { podmanSync(['rmi', '-a', '-f']); } catch { /* ignore */ }
  removeTmp(tmp, log);
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

// ---------------------------------------------------------------- running podman
// Output to files (timedRun): conmon inherits them and outlives `run -d`.
function podmanTimed(rt, args) {
  if (stopping()) return new Promise(() => {}); // the signal handler exits the process
  return timedRun(PODMAN, podmanArgs(rt, args), { outDir: join(tmp, 'out'), children, timeoutMs: opts.timeout * 1000, cwd: tmp, env });
}
class StepError extends Error {}
async function must(rt, args) {
  const r = await podmanTimed(rt, args);
  if (r.code !== 0) throw new StepError(`${rt.name}: podman ${args.join(' ')}: ${failure(r, opts.timeout * 1000)}`);
  return r;
}

// ---------------------------------------------------------------- statistics
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

  const out = { env: envInfo, metrics: metricsOf(METRICS, runtimes, results) };
  if (reportAsJson(out, opts, log)) return;
  const { rows, notes } = compareRows(out.metrics, METRICS);
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

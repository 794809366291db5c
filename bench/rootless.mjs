#!/usr/bin/env node
// Benchmark: rootless berth vs rootless runc, side by side in one run.
//
//   npm run bench [-- --runs N]   (after the others; all take the same flags)
//   node bench/rootless.mjs [--runs N (default 20)] [--json] [--timeout SECONDS]
//
// Environment: BERTH (default bin/berth of this repo), RUNC (default /usr/sbin/runc).
//
// Both runtimes run as an ordinary user: run as root, the benchmark makes one
// (berth-bench-PID, no home, its own /etc/subuid and /etc/subgid range through
// usermod) and removes it at the end; run as a user, it is that user. Bundles are
// `runc spec --rootless` made by that user, edited to process.args ["true"],
// terminal false and a busybox rootfs (scripts/make-rootfs.sh); each runtime has a
// private --root owned by the user. No cgroups: the user may write none.
//
// Metrics (each: one untimed warm-up, then N timed runs, runtimes interleaved;
// wall-clock time from spawn to exit of `run` in the foreground; median and p90):
//   run (own id)        the spec's mapping: the user at 0, size 1 (written directly)
//   run (subuid range)  the user at 0 and 65536 ids of its /etc/subuid range from 1
//                       (written by newuidmap and newgidmap, setuid helpers)
// Everything made here (containers, state, bundles, the user and its ranges) is
// removed at the end, on failure and on Ctrl-C.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchCleanup, compareRows, failure, firstLine, metricsOf, parseBenchArgs, removeTmp, reportAsJson, table, timedRun } from './common.mjs';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const opts = parseBenchArgs(process.argv.slice(2), { name: 'rootless', runs: 20, timeout: 30 });
const log = (m) => process.stderr.write(`bench-rootless: ${m}\n`);

const RUNC = process.env.RUNC || '/usr/sbin/runc';
const BERTH = process.env.BERTH || join(repo, 'bin/berth');
const SUB = 65536;

// ---------------------------------------------------------------- the user
const asRoot = process.geteuid() === 0;
let user = null; // { name, uid, gid, subBase, made }
function makeUser() {
  if (!asRoot) {
    const name = process.env.USER || String(process.getuid());
    const line = readFileSync('/etc/subuid', 'utf8').split('\n').find((l) => l.startsWith(`${name}:`) || l.startsWith(`${process.getuid()}:`));
    return { name, uid: process.getuid(), gid: process.getgid(), subBase: line ? Number(line.split(':')[1]) : null, made: false };
  }
  const name = `berth-bench-${process.pid}`;
  const subBase = 600_000_000 + (process.pid % 1000) * SUB;
  const u = { name, uid: -1, gid: -1, subBase, made: true };
  execFileSync('useradd', ['--no-create-home', '--shell', '/usr/sbin/nologin', '--user-group', '-K', 'SUB_UID_COUNT=0', '-K', 'SUB_GID_COUNT=0', name]);
  user = u;
  const range = `${subBase}-${subBase + SUB - 1}`;
  execFileSync('usermod', ['--add-subuids', range, '--add-subgids', range, name]);
  const f = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${name}:`)).split(':');
  u.uid = Number(f[2]);
  u.gid = Number(f[3]);
  return u;
}
const asUser = (argv) => (asRoot ? ['setpriv', '--reuid', String(user.uid), '--regid', String(user.gid), '--clear-groups', '--', ...argv] : argv);

// ---------------------------------------------------------------- cleanup
const tmp = mkdtempSync(join(tmpdir(), 'berth-bench-rootless-'));
const runtimes = [
  { name: 'berth', bin: BERTH, root: join(tmp, 'root-berth'), ids: new Set() },
  { name: 'runc', bin: RUNC, root: join(tmp, 'root-runc'), ids: new Set() },
];
const { children, cleanup, stopping } = benchCleanup({ cleanup: removeAll, log, graceMs: 15000 });
function removeAll() {
  if (user) {
    for (const rt of runtimes) {
      for (const id of rt.ids) {
        const [bin, ...args] = asUser([rt.bin, '--root', rt.root, 'delete', '--force', id]);
        spawnSync(bin, args, { stdio: 'ignore', timeout: 10000 });
      }
    }
  }
  removeTmp(tmp, log);
  if (user?.made) {
    const range = `${user.subBase}-${user.subBase + SUB - 1}`;
    spawnSync('usermod', ['--del-subuids', range, '--del-subgids', range, user.name], { stdio: 'ignore' });
    const r = spawnSync('userdel', [user.name], { encoding: 'utf8' });
    if (r.status !== 0) log(`cleanup: userdel ${user.name}: ${r.stderr.trim()}`);
  }
}

// ---------------------------------------------------------------- steps
class StepError extends Error {}
function execTimed(argv) {
  if (stopping()) return new Promise(() => {});
  const [bin, ...args] = asUser(argv);
  const env = { PATH: process.env.PATH, XDG_RUNTIME_DIR: join(tmp, 'xdg'), HOME: tmp };
  return timedRun(bin, args, { outDir: join(tmp, 'out'), children, timeoutMs: opts.timeout * 1000, env });
}

function makeBundle(name, subordinate) {
  const dir = join(tmp, name);
  mkdirSync(dir);
  if (asRoot) chownSync(dir, user.uid, user.gid);
  const [bin, ...args] = asUser([RUNC, 'spec', '--rootless', '--bundle', dir]);
  execFileSync(bin, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  const cfgPath = join(dir, 'config.json');
  const cfg = JSON.parse(readFileSync(cfgPath, 'utf8'));
  cfg.process.terminal = false;
  cfg.process.args = ['true'];
  cfg.root = { path: join(tmp, 'rootfs'), readonly: true };
  if (subordinate) {
    cfg.linux.uidMappings = [{ containerID: 0, hostID: user.uid, size: 1 }, { containerID: 1, hostID: user.subBase, size: SUB }];
    cfg.linux.gidMappings = [{ containerID: 0, hostID: user.gid, size: 1 }, { containerID: 1, hostID: user.subBase, size: SUB }];
  }
  writeFileSync(cfgPath, JSON.stringify(cfg, null, 2));
  return dir;
}

const METRICS = [
  ['run', 'run (true, own id mapped)', 'ms'],
  ['runSub', 'run (true, subuid range: newuidmap)', 'ms'],
];
const results = Object.fromEntries(METRICS.map(([k]) => [k, {}]));
const slot = (m, rt) => (results[m][rt.name] ??= { samples: [] });

async function benchRun(metric, bundle) {
  for (let i = -1; i < opts.runs; i++) {
    for (const rt of runtimes) {
      if (slot(metric, rt).error) continue;
      const id = `bench-rl-${process.pid}-${metric}-${rt.name}-${i + 1}`;
      rt.ids.add(id);
      const r = await execTimed([rt.bin, '--root', rt.root, 'run', '--bundle', bundle, id]);
      if (r.code !== 0) {
        slot(metric, rt).error = `${rt.name} run: ${failure(r, opts.timeout * 1000)}`;
        log(`n/a: ${slot(metric, rt).error}`);
        await execTimed([rt.bin, '--root', rt.root, 'delete', '--force', id]);
      }
      rt.ids.delete(id);
      if (r.code === 0 && i >= 0) slot(metric, rt).samples.push(r.ms);
    }
  }
}

// ---------------------------------------------------------------- main
async function main() {
  user = makeUser();
  chmodSync(tmp, 0o755);
  for (const d of ['out', 'xdg', 'rootfs', ...runtimes.map((rt) => rt.root)]) mkdirSync(d.startsWith('/') ? d : join(tmp, d));
  for (const d of ['xdg', ...runtimes.map((rt) => rt.root)]) if (asRoot) chownSync(d.startsWith('/') ? d : join(tmp, d), user.uid, user.gid);
  execFileSync('sh', [join(repo, 'scripts/make-rootfs.sh'), join(tmp, 'rootfs')], { stdio: ['ignore', 'ignore', 'inherit'] });
  chmodSync(join(tmp, 'rootfs'), 0o755);
  const env = {
    date: new Date().toISOString(), runs: opts.runs, node: process.version, kernel: release(), user: user.name,
    berth: { bin: BERTH, version: firstLine(BERTH, ['--version']) }, runc: { bin: RUNC, version: firstLine(RUNC, ['--version']) },
  };
  log(`as ${user.name} (uid ${user.uid}); berth=${BERTH}; runc=${RUNC}; runs=${opts.runs}; tmp=${tmp}`);
  log('run (own id)'); await benchRun('run', makeBundle('bundle-own', false));
  if (user.subBase != null && existsSync('/usr/bin/newuidmap')) {
    log('run (subuid range)'); await benchRun('runSub', makeBundle('bundle-sub', true));
  } else {
    for (const rt of runtimes) slot('runSub', rt).error = 'no /etc/subuid range for the user, or no newuidmap';
  }

  const out = { env, metrics: metricsOf(METRICS, runtimes, results) };
  if (reportAsJson(out, opts, log)) return;
  const { rows, notes } = compareRows(out.metrics, METRICS);
  const lines = [`rootless, as ${user.name}: berth ${env.berth.version}; runc ${env.runc.version}`,
    `node ${process.version}, kernel ${env.kernel}, N=${opts.runs} timed runs per metric after 1 warm-up`, '', table(rows)];
  if (notes.length) lines.push('', 'n/a because:', ...notes.map((n) => `  ${n}`));
  process.stdout.write(lines.join('\n') + '\n');
}

main().then(() => cleanup(), (e) => { log(`fatal: ${e.stack || e}`); cleanup(); process.exit(1); });

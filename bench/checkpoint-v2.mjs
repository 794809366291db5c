#!/usr/bin/env node
// checkpoint and restore with CRIU: berth and runc side by side, interleaved.
// CRIU needs a kernel it works on: this runs in the cgroup v2 VM
// (bench/checkpoint.sh boots it and runs this inside) and refuses to run where
// `criu check` fails.
//
//   node bench/checkpoint-v2.mjs [--runs N]     (default 5)
//
// Each run, for each runtime: `run -d` a busybox loop (untimed), then timed from
// spawn to exit: `checkpoint --image-path DIR` (CRIU dumps it; the container
// goes) and `restore -d --image-path DIR` (a new container from the images);
// then `delete --force` (untimed). One untimed warm-up round first; median and
// p90. Under QEMU's TCG: compare the runtimes within a run, not absolute times.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseBenchArgs, stats } from './common.mjs';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = parseBenchArgs(process.argv.slice(2), { name: 'checkpoint-v2', runs: 5, timeout: 120 }).runs;
const check = spawnSync('criu', ['check'], { encoding: 'utf8' });
if (check.status !== 0) {
  process.stderr.write(`checkpoint-v2: criu check fails here (${(check.stderr || check.error || '').toString().trim().split('\n')[0]}); run it in the VM: bash bench/checkpoint.sh\n`);
  process.exit(1);
}

const runtimes = [
  ['berth', process.env.BERTH ?? join(repo, 'bin/berth')],
  ['runc', process.env.RUNC ?? '/usr/sbin/runc'],
].filter(([name, bin]) => {
  if (existsSync(bin)) return true;
  process.stderr.write(`checkpoint-v2: ${name} (${bin}) is not installed; left out\n`);
  return false;
});

// stdio on /dev/null: a container inherits it (a pipe would keep us waiting, a
// file outside the container would keep CRIU from dumping it), and both runtimes
// reopen it on the container's own. Errors are read from the --log file.
let logFile;
function sh(bin, args) {
  const rt = runtimes.some(([, b]) => b === bin);
  const r = spawnSync(bin, rt ? ['--log', logFile, ...args] : args, { stdio: 'ignore' });
  if (r.status !== 0) {
    const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').trim().split('\n').slice(-3).join('\n') : '';
    throw new Error(`${bin} ${args.join(' ')}: exit ${r.status}${r.error ? `: ${r.error}` : ''}\n${log}`);
  }
}

function timed(bin, args) {
  const t = process.hrtime.bigint();
  sh(bin, args);
  return Number(process.hrtime.bigint() - t) / 1e6;
}

const work = mkdtempSync(join(tmpdir(), 'berth-bench-cr-'));
logFile = join(work, 'runtime.log');
let seq = 0;
try {
  const bundle = join(work, 'bundle');
  mkdirSync(join(bundle, 'rootfs'), { recursive: true });
  sh('sh', [join(repo, 'scripts/make-rootfs.sh'), join(bundle, 'rootfs')]);
  sh('/usr/sbin/runc', ['spec', '--bundle', bundle]);
  const spec = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
  spec.process.terminal = false;
  spec.process.args = ['sh', '-c', 'i=0; while :; do i=$((i+1)); usleep 100000; done'];
  spec.root = { path: 'rootfs', readonly: true };
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
  const res = Object.fromEntries(runtimes.map(([n]) => [n, { checkpoint: [], restore: [] }]));
  const versions = runtimes.map(([name, bin]) => `${name}: ${spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0]}`);
  console.log(`checkpoint/restore (CRIU ${spawnSync('criu', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0].replace(/^Version: /, '')}, kernel ${release()}), ${RUNS} runs each, ms median / p90`);
  console.log(versions.join('; '));
  for (let i = -1; i < RUNS; i++) {
    for (const [name, bin] of runtimes) {
      const root = join(work, `root-${name}`);
      const id = `bench-cr-${process.pid}-${name}-${++seq}`;
      const img = join(work, `img-${id}`);
      sh(bin, ['--root', root, 'run', '-d', '--bundle', bundle, id]);
      try {
        const c = timed(bin, ['--root', root, 'checkpoint', '--image-path', img, id]);
        const r = timed(bin, ['--root', root, 'restore', '-d', '--bundle', bundle, '--image-path', img, id]);
        if (i >= 0) res[name].checkpoint.push(c), res[name].restore.push(r);
      } finally {
        spawnSync(bin, ['--root', root, 'delete', '--force', id], { stdio: 'ignore' });
        rmSync(img, { recursive: true, force: true });
      }
    }
  }
  console.log(`${'metric'.padEnd(12)}${runtimes.map(([n]) => n.padEnd(20)).join('')}`);
  for (const metric of ['checkpoint', 'restore']) {
    const cell = (xs) => `${stats(xs).median.toFixed(0)} / ${stats(xs).p90.toFixed(0)}`.padEnd(20);
    console.log(`${metric.padEnd(12)}${runtimes.map(([n]) => cell(res[n][metric])).join('')}`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

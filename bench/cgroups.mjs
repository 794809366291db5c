#!/usr/bin/env node
// Benchmark of the cgroup commands: berth vs runc, interleaved.
//
//   node bench/cgroups.mjs [--runs N]          (npm run bench:cgroups)
//
// One running container (["sleep","1000"], a busybox rootfs from
// scripts/make-rootfs.sh) per runtime, each under a private --root; then, N times
// each after one untimed warm-up, wall-clock time from spawn to exit of:
//   events --stats ID                 the one-shot stats event
//   update --memory M --pids-limit P ID   (M, P alternate so every call writes)
//   update --resources FILE ID        a document with memory, cpu and pids
//   pause ID + resume ID              the pair, until each returns
// Median and p90 in ms. Everything is removed at the end, on failure too.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseBenchArgs, stats } from './common.mjs';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = parseBenchArgs(process.argv.slice(2), { name: 'cgroups', runs: 30, timeout: 60 }).runs;
const BERTH = process.env.BERTH ?? join(repo, 'bin/berth');
const RUNC = process.env.RUNC ?? '/usr/sbin/runc';
const work = mkdtempSync(join(tmpdir(), 'berth-bench-cg-'));

function sh(bin, args, opts = {}) {
  const r = spawnSync(bin, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  if (r.status !== 0) throw new Error(`${bin} ${args.join(' ')}: ${r.stderr ?? ''}${r.error ?? ''}`);
  return r.stdout;
}
function timed(bin, args) {
  const t = process.hrtime.bigint();
  sh(bin, args);
  return Number(process.hrtime.bigint() - t) / 1e6;
}

const rootfs = join(work, 'rootfs');
mkdirSync(rootfs);
sh('sh', [join(repo, 'scripts/make-rootfs.sh'), rootfs]);
const bundle = join(work, 'bundle');
mkdirSync(bundle);
sh(RUNC, ['spec', '--bundle', bundle]);
const spec = JSON.parse(sh('cat', [join(bundle, 'config.json')]));
spec.process.terminal = false;
spec.process.args = ['sleep', '1000'];
spec.root = { path: rootfs, readonly: true };
writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
const resFile = join(work, 'resources.json');

const rts = { berth: BERTH, runc: RUNC };
const roots = {};
const id = `bench-cg-${process.pid}`;
try {
  for (const [name, bin] of Object.entries(rts)) {
    roots[name] = join(work, `root-${name}`);
    // The detached container keeps the stdio it was given: no pipes to wait on.
    sh(bin, ['--root', roots[name], 'run', '-d', '--bundle', bundle, `${id}-${name}`], { stdio: 'ignore' });
  }
  const metrics = {
    'events --stats': (bin, r, c) => timed(bin, ['--root', r, 'events', '--stats', c]),
    'update flags': (bin, r, c, i) => timed(bin, ['--root', r, 'update', '--memory', `${100 + (i % 2)}m`, '--pids-limit', String(100 + (i % 2)), c]),
    'update --resources': (bin, r, c, i) => {
      writeFileSync(resFile, JSON.stringify({ memory: { limit: (200 + (i % 2)) << 20 }, cpu: { shares: 512 + (i % 2), quota: 50000, period: 100000 }, pids: { limit: 200 + (i % 2) } }));
      return timed(bin, ['--root', r, 'update', '--resources', resFile, c]);
    },
    'pause+resume': (bin, r, c) => timed(bin, ['--root', r, 'pause', c]) + timed(bin, ['--root', r, 'resume', c]),
  };
  console.log(`cgroup commands, ${RUNS} runs each (ms, median / p90)`);
  console.log(`${'metric'.padEnd(22)}${'berth'.padEnd(18)}runc`);
  for (const [m, f] of Object.entries(metrics)) {
    const res = { berth: [], runc: [] };
    for (let i = -1; i < RUNS; i++)
      for (const [name, bin] of Object.entries(rts)) {
        const t = f(bin, roots[name], `${id}-${name}`, i);
        if (i >= 0) res[name].push(t);
      }
    const cell = (xs) => `${stats(xs).median.toFixed(1)} / ${stats(xs).p90.toFixed(1)}`.padEnd(18);
    console.log(`${m.padEnd(22)}${cell(res.berth)}${cell(res.runc)}`);
  }
} finally {
  for (const [name, bin] of Object.entries(rts)) spawnSync(bin, ['--root', roots[name] ?? '/nonexistent', 'delete', '--force', `${id}-${name}`]);
  rmSync(work, { recursive: true, force: true });
}

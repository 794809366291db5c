// Benchmark: berth as a library beside the CLIs, in one run. `Runtime.run` of a
// busybox ["true"] bundle in this long-lived Node process (the library loaded
// once), beside spawning `runc run` and `berth run` for the same bundle; the
// three take turns, each sample is one container from create to deleted.
//   node bench/library.mjs [--runs N] [--json] [--timeout SECONDS]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseBenchArgs, stats, table } from './common.mjs';

const repo = join(fileURLToPath(import.meta.url), '../..');
const opts = parseBenchArgs(process.argv.slice(2), { name: 'library', runs: 20, timeout: 60 });
const BERTH = process.env.BERTH ?? join(repo, 'bin/berth');
const RUNC = process.env.RUNC ?? '/usr/sbin/runc';
const { Runtime } = createRequire(import.meta.url)(join(repo, 'dist/index.js'));
const log = (m) => process.stderr.write(`bench library: ${m}\n`);

const work = mkdtempSync('/tmp/berth-bench-lib-');
const roots = { library: join(work, 'root-lib'), berth: join(work, 'root-berth'), runc: join(work, 'root-runc') };
const bundle = join(work, 'bundle');
let n = 0;
const ids = [];
const newId = (what) => {
  const id = `bench-lib-${what}-${process.pid}-${n++}`;
  ids.push([what, id]);
  return id;
};

// Whatever a failed sample left (the library's containers through the CLI on its root).
function cleanup() {
  for (const [what, id] of ids) if (existsSync(join(roots[what], id))) spawnSync(what === 'runc' ? RUNC : BERTH, ['--root', roots[what], 'delete', '--force', id], { stdio: 'ignore' });
  rmSync(work, { recursive: true, force: true });
}
process.on('exit', cleanup);

const spawned = (bin, root) => () => {
  const id = newId(bin === RUNC ? 'runc' : 'berth');
  const t = performance.now();
  const r = spawnSync(bin, ['--root', root, 'run', '--bundle', bundle, id], { stdio: ['ignore', 'ignore', 'pipe'], timeout: opts.timeout * 1000 });
  const ms = performance.now() - t;
  if (r.status !== 0) throw new Error(`${bin} run: ${r.error?.message ?? `exit ${r.status}`} ${r.stderr}`);
  return ms;
};

const main = async () => {
  const rootfs = join(bundle, 'rootfs');
  const mk = spawnSync('sh', [join(repo, 'scripts/make-rootfs.sh'), rootfs], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (mk.status !== 0) throw new Error('make-rootfs.sh failed');
  spawnSync(BERTH, ['spec', '--bundle', bundle], { stdio: 'inherit' });
  const spec = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
  spec.process.args = ['true'];
  spec.process.terminal = false;
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));

  const rt = new Runtime({ root: roots.library });
  const library = async () => {
    const id = newId('library');
    const t = performance.now();
    const r = await rt.run(id, { bundle, stdio: 'ignore', signal: AbortSignal.timeout(opts.timeout * 1000) });
    const ms = performance.now() - t;
    if (r.status !== 0) throw new Error(`Runtime.run: status ${r.status}`);
    return ms;
  };
  const cases = [
    ['library', 'Runtime.run (true), one process', library],
    ['runc', 'runc run (true), spawned', spawned(RUNC, roots.runc)],
    ['berth', 'berth run (true), spawned', spawned(BERTH, roots.berth)],
  ];
  const samples = Object.fromEntries(cases.map(([k]) => [k, []]));
  const errors = {};
  // One untimed round: the library loads its addon, page caches warm for all.
  for (const [k, , fn] of cases) await Promise.resolve().then(fn).catch((e) => (errors[k] = e.message));
  for (let i = 0; i < opts.runs; i++) {
    for (const [k, , fn] of cases) {
      if (errors[k]) continue;
      try {
        samples[k].push(await fn());
      } catch (e) {
        errors[k] = e.message;
      }
    }
  }
  const result = Object.fromEntries(cases.map(([k, label]) => [k, { label, ...(stats(samples[k]) ?? {}), error: errors[k] }]));
  if (opts.json) {
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  } else {
    const f = (x) => (x === undefined ? 'n/a' : x.toFixed(1));
    const rows = [['container, create to deleted (ms)', 'median', 'p90', 'min', 'max'],
      ...cases.map(([k, label]) => [label, f(result[k].median), f(result[k].p90), f(result[k].min), f(result[k].max)])];
    process.stdout.write(`\n${table(rows)}\n`);
    const lib = result.library.median, runc = result.runc.median;
    if (lib && runc) process.stdout.write(`Runtime.run / runc run: ${(lib / runc).toFixed(2)} (median, ${opts.runs} runs each)\n`);
    for (const [k, e] of Object.entries(errors)) process.stdout.write(`${k}: n/a: ${e}\n`);
  }
  if (Object.keys(errors).length) process.exitCode = 1;
};

main().catch((e) => {
  log(`fatal: ${e.stack ?? e}`);
  process.exitCode = 1;
});

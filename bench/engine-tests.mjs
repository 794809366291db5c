#!/usr/bin/env node
// Benchmark: the engine tests' wall time with berth vs with runc as the runtime.
//
//   npm run bench [-- --runs N]   (part of the chain; long: about 2x the engine tests)
//   node bench/engine-tests.mjs [--runs N (default 1)] [--json] [--timeout SECONDS]
//
// Environment: BERTH (default bin/berth of this repo), RUNC (default /usr/sbin/runc),
// BENCH_ENGINE_TESTS (default podman,docker,containerd,podman-rootless: which files
// of test/engines/, comma-separated).
//
// Each round runs every engine test file (test/engines/<name>.test.ts) through
// scripts/run-tests.mjs once with each runtime, one after the other (the order of
// the runtimes alternates from round to round): BERTH_ENGINE_RUNTIME points the
// engines at the runtime (test/engines/engine.ts). Reported per file: the wall time
// of the whole run (bundling included, the same for both), the sum of its cases'
// durations (node --test's duration_ms), the ratio berth/runc of each, and the
// cases that did not pass; with --json also every case's duration and result.
// The engine-matrix rows these runs record are kept in a temp dir, not in
// build/engine-matrix/: the bench never changes what `npm run engine-matrix` writes.
// As in bench/engines.mjs the runs get the environment without NODE_EXTRA_CA_CERTS
// (services have none; with it every Node start, berth's included, parses the CA
// bundle: ~90 ms of CPU here), unless BENCH_INHERIT_ENV=1.
// The tests clean up after themselves; a Ctrl-C or SIGTERM is passed on to the run
// in flight (its process group), which is waited for.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { release } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { firstLine, parseBenchArgs, printJson, table, useServiceEnvironment } from './common.mjs';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const opts = parseBenchArgs(process.argv.slice(2), { name: 'engine-tests', runs: 1, timeout: 1800 });
const log = (m) => process.stderr.write(`bench-engine-tests: ${m}\n`);
const RUNC = process.env.RUNC || '/usr/sbin/runc';
const BERTH = process.env.BERTH || join(repo, 'bin/berth');
const FILES = (process.env.BENCH_ENGINE_TESTS || 'podman,docker,containerd,podman-rootless').split(',').map((s) => s.trim()).filter(Boolean);
for (const f of FILES) if (!existsSync(join(repo, 'test/engines', `${f}.test.ts`))) { log(`no test/engines/${f}.test.ts`); process.exit(2); }
if (!existsSync(RUNC)) { process.stdout.write(`engine-tests benchmark skipped: ${RUNC} not installed\n`); process.exit(0); }
const runtimes = [{ name: 'berth', bin: BERTH }, { name: 'runc', bin: RUNC }];
const droppedEnv = useServiceEnvironment().length > 0;
const baseEnv = { ...process.env };

const tmp = mkdtempSync('/tmp/berth-bench-engine-tests-');
let current = null;
let stopping = null;
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = sig;
    log(`${sig}: passing it on to the test run in flight, then stopping`);
    if (current) { try { process.kill(-current.pid, sig); } catch { /* gone */ } } else process.exit(130);
  });
}

/**
 * The top-level cases of a TAP report: name, result (pass/fail/skip) and duration_ms.
 * node --test prints `ok N - name [# SKIP why]` and then a YAML block with duration_ms.
 */
function casesOfTap(tap) {
  const lines = tap.split('\n');
  const out = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^(ok|not ok) \d+ - (.*?)(?: # (SKIP|TODO)\b.*)?$/.exec(lines[i]);
    if (!m) continue;
    let ms = null, why = m[3] ? lines[i].replace(/.* # (SKIP|TODO) */, '') : '';
    for (let j = i + 1; j < lines.length && !/^ {2}\.\.\.$/.test(lines[j]); j++) {
      const d = /^ {2}duration_ms: ([\d.]+)/.exec(lines[j]);
      if (d) ms = Number(d[1]);
      // A failure's message: the first line of its `error: |-` block.
      if (/^ {2}error: /.test(lines[j]) && !why) why = (/^ {2}error: \|-$/.test(lines[j]) ? lines[j + 1] ?? '' : lines[j].slice(9)).trim();
    }
    out.push({ name: m[2], result: m[3] ? 'skip' : m[1] === 'ok' ? 'pass' : 'fail', ms, why });
  }
  return out;
}

/** One run of a test file with a runtime: its wall time, exit status and cases. */
function runFile(file, rt) {
  const outPath = join(tmp, `${file}-${rt.name}.tap`), errPath = join(tmp, `${file}-${rt.name}.err`);
  const outFd = openSync(outPath, 'w'), errFd = openSync(errPath, 'w');
  return new Promise((res) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(process.execPath, [join(repo, 'scripts/run-tests.mjs'), '--test-reporter=tap', `engines/${file}.test`], {
      cwd: repo,
      stdio: ['ignore', outFd, errFd],
      detached: true,
      env: { ...baseEnv, BERTH_ENGINE_RUNTIME: rt.bin, BERTH_ENGINE_MATRIX_KEEP: join(tmp, `matrix-${rt.name}`) },
    });
    current = child;
    const timer = setTimeout(() => { child.timedOut = true; try { process.kill(-child.pid, 'SIGTERM'); } catch { /* gone */ } }, opts.timeout * 1000);
    child.on('exit', (code, signal) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      clearTimeout(timer);
      current = null;
      closeSync(outFd); closeSync(errFd);
      const cases = casesOfTap(readFileSync(outPath, 'utf8'));
      const stderr = readFileSync(errPath, 'utf8');
      res({ ms, code, signal, timedOut: !!child.timedOut, cases, stderrTail: stderr.trim().split('\n').slice(-5).join('\n') });
    });
  });
}

const fmtS = (ms) => (ms == null ? 'n/a' : `${(ms / 1000).toFixed(1)} s`);
const ratio = (a, b) => (a != null && b ? `${(a / b).toFixed(2)}x` : 'n/a');
const sum = (cases) => cases.reduce((s, c) => s + (c.ms ?? 0), 0);
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };

async function main() {
  log(`berth=${BERTH}; runc=${RUNC}; rounds=${opts.runs}; files=${FILES.join(',')}`);
  const runs = {}; // runs[file][rt] = [result per round]
  for (let round = 0; round < opts.runs; round++) {
    const order = round % 2 ? [...runtimes].reverse() : runtimes;
    for (const file of FILES) {
      for (const rt of order) {
        if (stopping) break;
        log(`round ${round + 1}: ${file} with ${rt.name}`);
        const r = await runFile(file, rt);
        const bad = r.cases.filter((c) => c.result !== 'pass');
        log(`  ${fmtS(r.ms)}, exit ${r.code ?? r.signal}${r.timedOut ? ' (timed out)' : ''}; ${r.cases.length - bad.length}/${r.cases.length} passed`);
        if (r.code !== 0 && !r.cases.length) log(`  ${r.stderrTail}`);
        ((runs[file] ??= {})[rt.name] ??= []).push(r);
      }
    }
  }
  if (stopping) process.exit(130);

  const files = {};
  for (const file of FILES) {
    files[file] = {};
    for (const rt of runtimes) {
      const rs = runs[file]?.[rt.name] ?? [];
      files[file][rt.name] = {
        wallMs: median(rs.map((r) => r.ms)),
        casesMs: median(rs.map((r) => sum(r.cases))),
        runs: rs.map((r) => ({ wallMs: r.ms, exit: r.code ?? r.signal, timedOut: r.timedOut, cases: r.cases })),
        notPassed: [...new Set(rs.flatMap((r) => r.cases.filter((c) => c.result !== 'pass').map((c) => `${c.name}: ${c.result}${c.why ? `: ${c.why}` : ''}`)))],
      };
    }
  }
  const total = (rt, k) => FILES.reduce((s, f) => s + files[f][rt][k], 0);
  const env = { date: new Date().toISOString(), rounds: opts.runs, nodeExtraCaCertsDropped: droppedEnv, kernel: release(), berth: firstLine(BERTH, ['--version']), runc: firstLine(RUNC, ['--version']) };
  if (opts.json) { printJson({ env, files }); return; }

  const rows = [['engine test file', 'berth wall', 'runc wall', 'berth/runc', 'berth cases', 'runc cases', 'berth/runc']];
  for (const f of FILES) {
    const b = files[f].berth, r = files[f].runc;
    rows.push([`${f}.test.ts`, fmtS(b.wallMs), fmtS(r.wallMs), ratio(b.wallMs, r.wallMs), fmtS(b.casesMs), fmtS(r.casesMs), ratio(b.casesMs, r.casesMs)]);
  }
  rows.push(['all', fmtS(total('berth', 'wallMs')), fmtS(total('runc', 'wallMs')), ratio(total('berth', 'wallMs'), total('runc', 'wallMs')),
    fmtS(total('berth', 'casesMs')), fmtS(total('runc', 'casesMs')), ratio(total('berth', 'casesMs'), total('runc', 'casesMs'))]);
  const lines = [`berth: ${env.berth}; runc: ${env.runc}; kernel ${env.kernel}; ${opts.runs} round(s), median per file`,
    'wall: the whole run-tests.mjs run of the file; cases: the sum of its cases\' durations' +
    (droppedEnv ? '; NODE_EXTRA_CA_CERTS removed from the environment' : ''), '', table(rows)];
  const notes = [];
  for (const f of FILES) for (const rt of runtimes) for (const c of files[f][rt.name].notPassed) notes.push(`${f} / ${rt.name}: ${c}`);
  if (notes.length) lines.push('', 'cases that did not pass:', ...notes.map((n) => `  ${n}`));
  process.stdout.write(lines.join('\n') + '\n');
  if (FILES.some((f) => runtimes.some((rt) => files[f][rt.name].runs.some((r) => r.code !== 0 && files[f][rt.name].runs.every((x) => !x.cases.length))))) process.exitCode = 1;
}

main().catch((e) => { log(`fatal: ${e.stack || e}`); process.exit(1); });

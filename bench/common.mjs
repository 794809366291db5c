// What the benchmark scripts share: their command line, timed commands, cleanup
// on exit, the statistics and the table they print.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Parses `--runs N --json --timeout SECONDS` (also `--flag=value`); prints the
 * usage and exits on -h or a bad argument. `name` is the script, for messages.
 */
/**
 * The environment services run with: without NODE_EXTRA_CA_CERTS, which makes
 * every Node start parse the CA bundle it names (~90 ms of CPU here). bin/berth
 * drops it itself; the floor (`node -e 0`) must not pay it either. Takes it out of
 * this process's environment (children inherit that) unless BENCH_INHERIT_ENV=1;
 * returns what was dropped, for the report.
 */
export function useServiceEnvironment() {
  if (process.env.BENCH_INHERIT_ENV === '1' || !('NODE_EXTRA_CA_CERTS' in process.env)) return [];
  delete process.env.NODE_EXTRA_CA_CERTS;
  return ['NODE_EXTRA_CA_CERTS'];
}

export function parseBenchArgs(argv, { name, runs, timeout }) {
  const text = `usage: node bench/${name}.mjs [--runs N (default ${runs})] [--json] [--timeout SECONDS (default ${timeout})]\n` +
    '  env BERTH=<binary> (default bin/berth), RUNC=<binary> (default /usr/sbin/runc)\n';
  const usage = (err) => {
    if (err) { process.stderr.write(`bench ${name}: ${err}\n${text}`); process.exit(2); }
    process.stdout.write(text); process.exit(0);
  };
  const o = { runs, json: false, timeout };
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

/** Median, p90 (nearest rank), min and max of the samples; null without any. */
export function stats(samples) {
  if (!samples.length) return null;
  const s = [...samples].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
  const median = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  return { n: s.length, median, p90: q(0.9), min: s[0], max: s[s.length - 1] };
}

/** Rows as aligned columns: the first left-aligned, the others right; a rule under the header. */
export function table(rows) {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  return rows.map((r, ri) => r.map((c, i) => (i === 0 ? String(c).padEnd(w[i]) : String(c).padStart(w[i]))).join('  ')
    + (ri === 0 ? `\n${w.map((x) => '-'.repeat(x)).join('  ')}` : '')).join('\n');
}

/**
 * Cleanup on exit and on SIGINT/SIGTERM/SIGHUP: stop(sig) tells the script to
 * start nothing new; the calls in flight (inFlight() of them) get up to graceMs
 * to finish (each runs in its own process group, so a Ctrl-C does not kill one
 * half-way and leave a half-made container); then cleanup() and exit. A second
 * signal cleans up at once; an uncaught error cleans up too.
 */
export function cleanUpOnExit({ stop, inFlight, cleanup, log, graceMs }) {
  let stopping = false;
  process.on('exit', cleanup);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      const code = sig === 'SIGINT' ? 130 : 143;
      if (stopping) { log(`${sig} again: cleaning up now`); cleanup(); process.exit(code); }
      stopping = true;
      stop(sig);
      log(`${sig}: waiting for ${inFlight()} command(s) in flight, then cleaning up`);
      const end = Date.now() + graceMs;
      const tick = () => {
        if (inFlight() && Date.now() < end) { setTimeout(tick, 20); return; }
        cleanup(); process.exit(code);
      };
      tick();
    });
  }
  process.on('uncaughtException', (e) => { log(`fatal: ${e.stack || e}`); cleanup(); process.exit(1); });
  process.on('unhandledRejection', (e) => { log(`fatal: ${e?.stack || e}`); cleanup(); process.exit(1); });
}

/**
 * Runs a command and times it from spawn to exit. Its stdout/stderr go to files
 * in outDir, not pipes: a container's init (or conmon) inherits them, and a pipe
 * would keep us waiting until it exits. It runs in its own process group (added
 * to `children` while it runs), killed after timeoutMs.
 * Resolves to { ms, code, signal, stdout, stderr, spawnErr, timedOut }.
 */
let outSeq = 0;
export function timedRun(bin, args, { outDir, children, timeoutMs, cwd, env }) {
  const outPath = join(outDir, `out-${++outSeq}`), errPath = join(outDir, `err-${outSeq}`);
  const outFd = openSync(outPath, 'w'), errFd = openSync(errPath, 'w');
  return new Promise((res) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(bin, args, { cwd, env, stdio: ['ignore', outFd, errFd], detached: true });
    children.add(child);
    const timer = setTimeout(() => { child.timedOut = true; try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } }, timeoutMs);
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

/** Why a timedRun result failed, with the last lines it printed. */
export function failure(r, timeoutMs) {
  const why = r.spawnErr ? r.spawnErr.message
    : r.timedOut ? `timed out after ${timeoutMs / 1000}s`
    : r.signal ? `killed by ${r.signal}` : `exit ${r.code}`;
  const msg = (r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ');
  return `${why}${msg ? `: ${msg}` : ''}`;
}

/** Removes dir, lazily unmounting what is mounted below it first: never recurse through a mount into the host's files. */
export function removeTmp(dir, log) {
  try {
    const mps = readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
      .map((l) => l.split(' ')[4]).filter((p) => p && (p === dir || p.startsWith(dir + '/')))
      .sort().reverse();
    for (const mp of mps) spawnSync('umount', ['-l', mp], { stdio: 'ignore' });
    if (mps.length) log(`cleanup: unmounted ${mps.length} leftover mount(s) under ${dir}`);
  } catch { /* ignore */ }
  try { rmSync(dir, { recursive: true, force: true }); } catch (e) { log(`cleanup: could not remove ${dir}: ${e.message}`); }
}

/** The first line a command prints (its version, say), or why there is none. */
export function firstLine(bin, args) {
  try {
    const r = spawnSync(bin, args, { encoding: 'utf8', timeout: 10000 });
    return (r.stdout || r.stderr || '').split('\n')[0].trim() || `exit ${r.status}`;
  } catch (e) { return `unavailable: ${e.message}`; }
}

/** The --json report: numbers rounded to microseconds. */
export function printJson(out) {
  const round = (k, v) => (typeof v === 'number' && !Number.isInteger(v) ? Math.round(v * 1000) / 1000 : v);
  process.stdout.write(JSON.stringify(out, round, 2) + '\n');
}

/**
 * A benchmark with a failed step is no result: lists the failed steps of a
 * report's metrics ({ key: { label, <runtime>: { error } } }), and sets a
 * non-zero exit status when there is any. The report still prints them as n/a.
 */
export function exitStatusOnFailure(metrics, log) {
  const failed = [];
  for (const m of Object.values(metrics))
    for (const [rt, v] of Object.entries(m)) if (v && typeof v === 'object' && v.error) failed.push(`${m.label} / ${rt}`);
  if (failed.length) {
    log(`${failed.length} step(s) failed, reported as n/a: ${failed.join('; ')}`);
    process.exitCode = 1;
  }
}

/** Sets the exit status for failed steps; with --json prints the report and returns true (no table then). */
export function reportAsJson(out, opts, log) {
  exitStatusOnFailure(out.metrics, log);
  if (!opts.json) return false;
  printJson(out);
  return true;
}

/**
 * A benchmark's commands in flight (`children`, each in its own process group, for
 * timedRun) and its cleanup, run once: on exit, on a signal (cleanUpOnExit) or when
 * the script calls it, killing the commands still running first.
 */
export function benchCleanup({ cleanup, log, graceMs }) {
  const children = new Set();
  let stopping = null;
  let done = false;
  const once = () => {
    if (done) return;
    done = true;
    for (const c of children) { try { process.kill(-c.pid, 'SIGKILL'); } catch { /* gone */ } }
    cleanup();
  };
  cleanUpOnExit({ stop: (sig) => (stopping = sig), inFlight: () => children.size, cleanup: once, log, graceMs });
  return { children, cleanup: once, stopping: () => stopping };
}

/** The header of a berth-vs-runc table. */
export const COMPARE_HEADER = ['metric', 'berth median', 'berth p90', 'runc median', 'runc p90', 'berth/runc'];

/** The berth-vs-runc table of a report's timed metrics ([key, label] each, in ms), and why a cell is n/a. */
export function compareRows(metrics, list) {
  const fmt = (v) => (v == null ? 'n/a' : `${v.toFixed(1)} ms`);
  const rows = [COMPARE_HEADER];
  const notes = [];
  for (const [key, label] of list) {
    const b = metrics[key].berth, r = metrics[key].runc;
    for (const [name, v] of [['berth', b], ['runc', r]]) if (v.error) notes.push(`${label} / ${name}: ${v.error}`);
    const ratio = b.median != null && r.median ? `${(b.median / r.median).toFixed(2)}x` : 'n/a';
    rows.push([label, fmt(b.median), fmt(b.p90), fmt(r.median), fmt(r.p90), ratio]);
  }
  return { rows, notes };
}

/** A report's metrics: each [key, label, unit] of list, per runtime, from results[key][name] ({ samples } or { error }). */
export function metricsOf(list, runtimes, results) {
  const metrics = {};
  for (const [key, label, unit] of list) {
    metrics[key] = { label, unit };
    for (const rt of runtimes) {
      const s = results[key][rt.name];
      metrics[key][rt.name] = s?.error ? { error: s.error } : { ...stats(s?.samples ?? []), samples: s?.samples ?? [] };
    }
  }
  return metrics;
}

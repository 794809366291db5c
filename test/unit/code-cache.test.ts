// The V8 code caches the build makes (scripts/build.mjs) and bin/berth loads: a
// cache V8 rejects (made under other flags, or for other source) costs every call
// its compile, silently, so each must be accepted by a plain `node` as bin/berth
// runs it. The commands engines call each run from a bundle of their own
// (berth-COMMAND.js), with a cache made from a call of that command.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BERTH, repoRoot, requireTool } from '../fixtures/runtime';

const OWN_BUNDLE = ['create', 'run', 'exec', 'state', 'kill', 'start', 'delete'];

const CACHES: [string, string][] = [
  ['berth.js', 'berth.cache'],
  ...OWN_BUNDLE.map((c): [string, string] => [`berth-${c}.js`, `berth-${c}.cache`]),
  ['validators.js', 'validators.cache'],
  ['validators-errors.js', 'validators-errors.cache'],
  ['yargs-cli.js', 'yargs-cli.cache'],
  ['criu-rpc.js', 'criu-rpc.cache'],
];

// Compiles each file as bin/berth does (the CommonJS wrapper, the file's own path)
// with its cache, in a node without flags; prints whether V8 took the cache.
const CHECK = `
const { readFileSync } = require('fs');
const { Script } = require('vm');
const { wrap } = require('module');
const [file, cache] = process.argv.slice(1);
const s = new Script(wrap(readFileSync(file, 'utf8')), { filename: file, cachedData: readFileSync(cache) });
process.stdout.write(s.cachedDataRejected ? 'rejected' : 'accepted');
`;

test("every code cache of the build is accepted by V8 for its file (the commands' own bundles' included)", () => {
  const dist = join(repoRoot(), 'dist');
  for (const [file, cache] of CACHES) {
    const out = execFileSync(process.execPath, ['-e', CHECK, join(dist, file), join(dist, cache)], { encoding: 'utf8' });
    assert.equal(out, 'accepted', `dist/${cache} for dist/${file}`);
  }
});

// One character beyond ASCII makes V8 hold a whole file as a two-byte string: twice
// the bytes to decode, hash and scan on every call.
test('the bundles bin/berth loads are ASCII only', () => {
  const dist = join(repoRoot(), 'dist');
  for (const file of ['berth.js', ...OWN_BUNDLE.map((c) => `berth-${c}.js`), 'yargs-cli.js', 'criu-rpc.js', 'validators.js', 'validators-errors.js']) {
    const text = readFileSync(join(dist, file), 'latin1');
    const at = text.search(/[^\x00-\x7f]/);
    assert.equal(at, -1, `dist/${file} has a byte beyond ASCII at ${at}: ${JSON.stringify(text.slice(Math.max(0, at - 40), at + 10))}`);
  }
});

// A short command's bundle runs a well-formed call alone, and hands any other call
// line to the whole CLI before doing anything: yargs' help and messages, as before.
test('the commands engines call run from their own bundle; a call line it does not parse goes to dist/berth.js', (t) => {
  if (!requireTool('strace', t)) return;
  const root = mkdtempSync(join(tmpdir(), 'berth-short-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const dist = join(repoRoot(), 'dist');
  // The bundles bin/berth opened, and how the call ended.
  const call = (...args: string[]) => {
    const trace = join(root, 'strace.txt');
    const r = spawnSync('strace', ['-f', '-e', 'trace=openat', '-e', 'signal=none', '-o', trace, BERTH, '--root', root, ...args], { encoding: 'utf8' });
    const opened = [...readFileSync(trace, 'utf8').matchAll(/openat\(AT_FDCWD, "([^"]+\.js)"/g)].map((m) => m[1]).filter((f) => f.startsWith(`${dist}/`)).map((f) => f.slice(dist.length + 1));
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, opened };
  };
  for (const c of OWN_BUNDLE) {
    const own = c === 'create' || c === 'run' ? call(c, '--bundle', join(root, 'none'), 'nosuch') : call(c, 'nosuch');
    assert.deepEqual(own.opened, [`berth-${c}.js`], `${c} nosuch: ${own.stderr}`);
    assert.equal(own.status, c === 'exec' ? 255 : 1);
    if (c === 'create' || c === 'run') assert.match(own.stderr, /^berth: .*none.*\n$/);
    else assert.match(own.stderr, /^berth: container nosuch does not exist\n$/);
    const help = call(c, '--help');
    assert.deepEqual(help.opened, [`berth-${c}.js`, 'berth.js', 'yargs-cli.js'], `${c} --help`);
    assert.equal(help.status, 0);
    assert.match(help.stdout, new RegExp(`^berth ${c} <id>`));
  }
  const missing = call('state');
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /Not enough non-option arguments/);
});

// As root the build makes create's, run's and exec's caches, and the validators',
// from calls on a real container: only the functions those calls ran, where a
// cache of every function (the fallback) is about twice the size or more, and
// costs a `run` ~5 ms of CPU more.
test("as root, create's, run's, exec's and the validators' caches come from real calls, not from compiling every function", (t) => {
  if (process.getuid?.() !== 0) return t.skip('the build makes them from real calls only as root');
  const dist = join(repoRoot(), 'dist');
  const EAGER = `
const { readFileSync } = require('fs');
const { Script } = require('vm');
const { setFlagsFromString } = require('v8');
const file = process.argv[1];
setFlagsFromString('--no-lazy');
const s = new Script(require('module').wrap(readFileSync(file, 'utf8')), { filename: file });
process.stdout.write(String(s.createCachedData().length));
`;
  for (const name of ['berth-create', 'berth-run', 'berth-exec', 'validators']) {
    const eager = Number(execFileSync(process.execPath, ['-e', EAGER, join(dist, `${name}.js`)], { encoding: 'utf8' }));
    const made = readFileSync(join(dist, `${name}.cache`)).length;
    assert.ok(made < eager * 0.8, `dist/${name}.cache is ${made} bytes, every function's ${eager}`);
  }
});

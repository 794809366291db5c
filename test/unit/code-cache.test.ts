// The V8 code caches the build makes (scripts/build.mjs) and bin/berth loads: a
// cache V8 rejects (made under other flags, or for other source) costs every call
// its compile, silently, so each must be accepted by a plain `node` as bin/berth
// runs it. berth.eager.cache is the bundle's cache for create, run and exec; state,
// kill, start and delete each have their own (berth.COMMAND.cache).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../fixtures/runtime';

const CACHES: [string, string][] = [
  ['berth.js', 'berth.cache'],
  ['berth.js', 'berth.eager.cache'],
  ['berth.js', 'berth.state.cache'],
  ['berth.js', 'berth.kill.cache'],
  ['berth.js', 'berth.start.cache'],
  ['berth.js', 'berth.delete.cache'],
  ['validators.js', 'validators.cache'],
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

test("every code cache of the build is accepted by V8 for its file (the bundle's six included)", () => {
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
  for (const file of ['berth.js', 'yargs-cli.js', 'criu-rpc.js', 'validators.js']) {
    const text = readFileSync(join(dist, file), 'latin1');
    const at = text.search(/[^\x00-\x7f]/);
    assert.equal(at, -1, `dist/${file} has a byte beyond ASCII at ${at}: ${JSON.stringify(text.slice(Math.max(0, at - 40), at + 10))}`);
  }
});

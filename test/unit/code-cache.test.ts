// The V8 code caches the build makes (scripts/build.mjs) and bin/berth loads: a
// cache V8 rejects (made under other flags, or for other source) costs every call
// its compile, silently, so each must be accepted by a plain `node` as bin/berth
// runs it. berth.eager.cache is the bundle's second cache, for create, run and exec.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../fixtures/runtime';

const CACHES: [string, string][] = [
  ['berth.js', 'berth.cache'],
  ['berth.js', 'berth.eager.cache'],
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

test("every code cache of the build is accepted by V8 for its file (the bundle's two included)", () => {
  const dist = join(repoRoot(), 'dist');
  for (const [file, cache] of CACHES) {
    const out = execFileSync(process.execPath, ['-e', CHECK, join(dist, file), join(dist, cache)], { encoding: 'utf8' });
    assert.equal(out, 'accepted', `dist/${cache} for dist/${file}`);
  }
});

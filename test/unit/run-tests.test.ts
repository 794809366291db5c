// scripts/run-tests.mjs and scripts/engine-matrix.mjs: a test run never changes a
// tracked file; the engine tests' matrix rows are kept for `npm run engine-matrix`,
// which alone writes README's table.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { repoRoot } from '../fixtures/runtime';

const repo = repoRoot();
const tmp = mkdtempSync('/tmp/berth-run-tests-');
after(() => rmSync(tmp, { recursive: true, force: true }));

// An engine test as test/engines/engine.ts records its rows.
const FAKE_ENGINE_TEST = `
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
test('records a matrix row', () => {
  const dir = process.env.BERTH_ENGINE_MATRIX_DIR;
  if (!dir) throw new Error('run-tests gave no BERTH_ENGINE_MATRIX_DIR');
  mkdirSync(dir, { recursive: true });
  appendFileSync(join(dir, 'fakeengine.jsonl'), JSON.stringify({ engine: 'fakeengine', version: '9.9', case: 'a case', result: 'pass' }) + '\\n');
});
`;

test('a run of engine tests leaves README.md as it was and keeps their rows; engine-matrix writes them into the table', () => {
  const tests = join(tmp, 'tests');
  const keep = join(tmp, 'kept');
  require('node:fs').mkdirSync(join(tests, 'engines'), { recursive: true });
  writeFileSync(join(tests, 'engines/fake.test.ts'), FAKE_ENGINE_TEST);
  const readme = join(repo, 'README.md');
  const before = { text: readFileSync(readme, 'utf8'), mtime: statSync(readme).mtimeMs };

  const r = spawnSync(process.execPath, [join(repo, 'scripts/run-tests.mjs'), 'engines'], {
    cwd: repo,
    // Without NODE_TEST_CONTEXT: it would make the inner node --test report to us.
    env: { ...process.env, NODE_TEST_CONTEXT: undefined, BERTH_TEST_DIR: tests, BERTH_ENGINE_MATRIX_KEEP: keep },
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.equal(readFileSync(readme, 'utf8'), before.text, 'README.md is unchanged');
  assert.equal(statSync(readme).mtimeMs, before.mtime, 'README.md was not rewritten');
  assert.match(r.stdout, /npm run engine-matrix/);
  const kept = JSON.parse(readFileSync(join(keep, 'fakeengine.jsonl'), 'utf8'));
  assert.equal(kept.case, 'a case');
  assert.match(kept.run, /^\d{4}-\d\d-\d\d, kernel /);

  // engine-matrix renders the kept rows into (a copy of) README; other engines' rows stay.
  const copy = join(tmp, 'README.md');
  copyFileSync(readme, copy);
  const m = spawnSync(process.execPath, [join(repo, 'scripts/engine-matrix.mjs'), keep, copy], { encoding: 'utf8' });
  assert.equal(m.status, 0, m.stderr);
  const table = readFileSync(copy, 'utf8');
  assert.ok(table.includes(`| fakeengine | 9.9 | a case | pass | ${kept.run} |`), table);
  for (const line of before.text.split('\n').filter((l) => /^\| (containerd|docker|podman) \|/.test(l)))
    assert.ok(table.includes(line), `kept: ${line}`);
  assert.equal(readFileSync(readme, 'utf8'), before.text);
});

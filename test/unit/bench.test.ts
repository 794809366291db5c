// bench/: a benchmark whose steps fail is no result. It still prints the table
// (the failed steps as n/a, with why) but exits non-zero, so `npm run bench`
// fails.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { repoRoot, RUNC } from '../fixtures/runtime';

const dir = mkdtempSync('/tmp/berth-bench-test-');
after(() => rmSync(dir, { recursive: true, force: true }));

test('bench/bench.mjs exits non-zero when its steps fail (runtimes that fail every command)', () => {
  // `spec` works (the bench makes its bundles with it); every other command fails.
  const broken = join(dir, 'broken-runtime');
  writeFileSync(broken, `#!/bin/sh\ncase " $* " in *" spec "*) exec ${RUNC} "$@";; esac\necho "broken runtime" >&2\nexit 1\n`);
  chmodSync(broken, 0o755);
  const r = spawnSync(process.execPath, [join(repoRoot(), 'bench/bench.mjs'), '--runs', '1'], {
    env: { ...process.env, BERTH: broken, RUNC: broken },
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.match(r.stdout, /n\/a because:[\s\S]*broken runtime/, r.stdout + r.stderr);
  assert.match(r.stderr, /step\(s\) failed/);
  assert.equal(r.status, 1, r.stderr);
});

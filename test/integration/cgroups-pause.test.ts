// pause/resume: the container's cgroup is frozen (v1 freezer on hybrid hosts,
// cgroup.freeze on v2; the v2 lane runs this file too), state says paused, a
// frozen container gets no CPU time, and kill of a paused container works as runc's.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { useValidators } from '../../src/spec/validate';
import { makeBundle } from '../fixtures/bundle';
import { leftovers } from '../fixtures/leftovers';
import { BERTH, repoRoot, runRuntime } from '../fixtures/runtime';
import { waitUntil } from '../fixtures/wait';

let root: string;
const berth = (...args: string[]) => runRuntime(BERTH, root, args);
let n = 0;
const newId = () => `pz-${process.pid}-${n++}`;
const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
const stopped = (id: string) => waitUntil(() => status(id) === 'stopped', `${id} stopped`);

before(() => {
  root = mkdtempSync('/tmp/berth-root-');
  useValidators(require(join(repoRoot(), 'dist/validators.js')));
});
after(() => rmSync(root, { recursive: true, force: true }));

/** utime + stime of a process, in clock ticks. */
function cpuTicks(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1].split(' ');
  return Number(f[11]) + Number(f[12]);
}

/** The signals pending for the whole process (ShdPnd), as a bit set. */
function pendingSignals(pid: number): bigint {
  return BigInt(`0x${/^ShdPnd:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'))![1]}`);
}

const status = (id: string) => JSON.parse(berth('state', id).stdout).status as string;

describe('pause and resume', () => {
  test('a paused container is frozen and gets no CPU time; resume lets it go on', () => {
    const b = makeBundle({ args: ['sh', '-c', 'while :; do :; done'] });
    const id = newId();
    try {
      assert.equal(berth('run', '-d', '--bundle', b.dir, id).code, 0);
      const pid = JSON.parse(berth('state', id).stdout).pid as number;
      assert.equal(berth('resume', id).code, 1, 'resume of a running container fails');
      const p = berth('pause', id);
      assert.equal(p.code, 0, p.stderr);
      assert.equal(status(id), 'paused');
      assert.match(readFileSync(`/proc/${pid}/status`, 'latin1'), /^State:\s+[SD]/m);
      const t0 = cpuTicks(pid);
      // A window to look in, not a wait: frozen, it gains nothing however long we look.
      sleep(500);
      assert.equal(cpuTicks(pid), t0, 'no CPU time while frozen');
      assert.equal(berth('pause', id).code, 1, 'pause of a paused container fails');
      const r = berth('resume', id);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(status(id), 'running');
      waitUntil(() => cpuTicks(pid) > t0, 'it runs again after resume');
      assert.equal(berth('delete', '--force', id).code, 0);
      assert.deepEqual(leftovers(root, id, b.dir), []);
    } finally {
      berth('delete', '--force', id);
      b.cleanup();
    }
  });

  test('kill of a paused container: SIGKILL stops it; other signals wait for resume', () => {
    const b = makeBundle({ args: ['sh', '-c', 'trap "exit 3" TERM; while :; do sleep 0.1; done'] });
    const id = newId();
    const id2 = newId();
    try {
      assert.equal(berth('run', '-d', '--bundle', b.dir, id).code, 0);
      const pid = JSON.parse(berth('state', id).stdout).pid as number;
      assert.equal(berth('pause', id).code, 0);
      assert.equal(berth('kill', id, 'TERM').code, 0);
      // The frozen init has it pending (ShdPnd), and does not act on it.
      waitUntil(() => (pendingSignals(pid) & (1n << 14n)) !== 0n, 'TERM is pending in the frozen init');
      assert.equal(status(id), 'paused', 'TERM is pending while frozen');
      assert.equal(berth('resume', id).code, 0);
      stopped(id); // TERM delivered after resume
      assert.equal(berth('delete', id).code, 0);

      assert.equal(berth('run', '-d', '--bundle', b.dir, id2).code, 0);
      assert.equal(berth('pause', id2).code, 0);
      assert.equal(berth('delete', id2).code, 1, 'delete without --force refuses a paused container');
      const k = berth('kill', id2, 'KILL');
      assert.equal(k.code, 0, k.stderr);
      stopped(id2);
      assert.equal(berth('delete', id2).code, 0);
      assert.deepEqual(leftovers(root, id2, b.dir), []);
    } finally {
      berth('delete', '--force', id);
      berth('delete', '--force', id2);
      b.cleanup();
    }
  });

  test('delete --force of a paused container removes everything', () => {
    const b = makeBundle({ args: ['sh', '-c', 'sleep 1000 & sleep 1000'] });
    const id = newId();
    try {
      assert.equal(berth('run', '-d', '--bundle', b.dir, id).code, 0);
      assert.equal(berth('pause', id).code, 0);
      const d = berth('delete', '--force', id);
      assert.equal(d.code, 0, d.stderr);
      assert.deepEqual(leftovers(root, id, b.dir), []);
    } finally {
      berth('delete', '--force', id);
      b.cleanup();
    }
  });
});

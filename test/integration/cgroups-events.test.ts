// events (--stats one-shot, the stream with its oom events) and ps, read from the
// container's cgroups on v1 or v2 (the v2 lane runs this file too).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { useValidators } from '../../src/spec/validate';
import { makeBundle } from '../fixtures/bundle';
import { BERTH, repoRoot, runRuntime } from '../fixtures/runtime';
import { GUARD_MS, waitUntil } from '../fixtures/wait';

let root: string;
const berth = (...args: string[]) => runRuntime(BERTH, root, args);
const status = (id: string): string => JSON.parse(berth('state', id).stdout || '{}').status ?? 'gone';
let n = 0;
const newId = () => `ev-${process.pid}-${n++}`;

before(() => {
  root = mkdtempSync('/tmp/berth-root-');
  useValidators(require(join(repoRoot(), 'dist/validators.js')));
});
after(() => rmSync(root, { recursive: true, force: true }));

describe('events and ps', () => {
  test('events --stats prints one stats event in runc\'s shape; ps lists the container\'s host pids', () => {
    const b = makeBundle({
      args: ['sh', '-c', 'sleep 1000 & sleep 1000 & wait'],
      mutate: (s) => (s.linux.resources = { ...s.linux.resources, memory: { limit: 64 << 20 }, pids: { limit: 30 } }),
    });
    const id = newId();
    try {
      assert.equal(berth('run', '-d', '--bundle', b.dir, id).code, 0);
      const pid = JSON.parse(berth('state', id).stdout).pid as number;
      const r = berth('events', '--stats', id);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trim().split('\n');
      assert.equal(lines.length, 1);
      const e = JSON.parse(lines[0]);
      assert.equal(e.type, 'stats');
      assert.equal(e.id, id);
      assert.deepEqual(Object.keys(e.data), ['cpu', 'cpuset', 'memory', 'pids', 'blkio', 'hugetlb', 'intel_rdt', 'network_interfaces']);
      assert.ok(e.data.cpu.usage.total > 0, 'cpu time used');
      assert.equal(e.data.memory.usage.limit, 64 << 20);
      assert.ok(e.data.memory.usage.usage > 0);
      assert.equal(e.data.pids.current, 3);
      assert.equal(e.data.pids.limit, 30);

      const ps = berth('ps', '--format', 'json', id);
      assert.equal(ps.code, 0, ps.stderr);
      const pids = JSON.parse(ps.stdout) as number[];
      assert.equal(pids.length, 3);
      assert.ok(pids.includes(pid));
      const table = berth('ps', id);
      assert.equal(table.code, 0, table.stderr);
      const rows = table.stdout.trim().split('\n');
      assert.match(rows[0], /\bPID\b/);
      assert.equal(rows.length, 4, table.stdout);
      const custom = berth('ps', id, '--', '-o', 'pid,comm');
      assert.equal(custom.code, 0, custom.stderr);
      assert.match(custom.stdout, /^\s*PID\s+COMMAND\n/);
    } finally {
      berth('delete', '--force', id);
      b.cleanup();
    }
  });

  test('an OOM kill in the container reaches the stream at once, while the container runs on', async () => {
    const b = makeBundle({
      // OOM kills over and over, whenever the stream begins to watch (one that
      // comes while it sets up may count as before it): the kernel kills the
      // biggest process, tail, and the shell starts the next.
      args: ['sh', '-c', 'while :; do tail /dev/zero; done'],
      mutate: (s) => (s.linux.resources = { ...s.linux.resources, memory: { limit: 16 << 20, swap: 16 << 20 } }),
    });
    const id = newId();
    try {
      assert.equal(berth('run', '-d', '--bundle', b.dir, id).code, 0);
      // No stats for an hour: the first line can only be an OOM.
      const child = spawn(BERTH, ['--root', root, 'events', '--interval', '1h', id], { stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      child.stderr.on('data', (d) => (err += d));
      const first = new Promise<{ line: string; status: string }>((res) => {
        let out = '';
        child.stdout.on('data', (d) => {
          out += d;
          if (out.includes('\n')) res({ line: out.split('\n')[0], status: status(id) });
        });
        child.on('exit', () => res({ line: `(events exited: ${err})`, status: '' }));
      });
      // A guard against a stream that never reports, not a time limit for it.
      const guard = setTimeout(() => child.kill('SIGKILL'), GUARD_MS);
      const got = await first;
      clearTimeout(guard);
      assert.deepEqual(JSON.parse(got.line.startsWith('{') ? got.line : '{}'), { type: 'oom', id }, got.line);
      assert.equal(got.status, 'running', 'reported while the container runs, not when it ends');
      assert.equal(berth('kill', id, 'KILL').code, 0);
      await new Promise((r) => child.on('exit', r));
    } finally {
      berth('delete', '--force', id);
      b.cleanup();
    }
  });

  test('the event stream: stats every interval, an oom event, and the end when the container stops', async () => {
    const b = makeBundle({
      args: ['tail', '/dev/zero'],
      mutate: (s) => (s.linux.resources = { ...s.linux.resources, memory: { limit: 16 << 20, swap: 16 << 20 } }),
    });
    const id = newId();
    try {
      // Created first, started once the stream runs: the OOM comes after it began.
      assert.equal(berth('create', '--bundle', b.dir, id).code, 0);
      const child = spawn(BERTH, ['--root', root, 'events', '--interval', '200ms', id], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      let started = false;
      child.stderr.on('data', (d) => (err += d));
      child.stdout.on('data', (d) => {
        out += d;
        if (!started) {
          started = true;
          assert.equal(berth('start', id).code, 0);
        }
      });
      const code = await new Promise<number | null>((res) => {
        const t = setTimeout(() => child.kill('SIGKILL'), GUARD_MS);
        child.on('exit', (c) => (clearTimeout(t), res(c)));
      });
      assert.equal(code, 0, `the stream ends with the container: ${err}`);
      const events = out.trim().split('\n').map((l) => JSON.parse(l));
      assert.ok(events.some((e) => e.type === 'stats' && e.id === id));
      assert.ok(events.some((e) => e.type === 'oom' && e.id === id), out);
    } finally {
      berth('delete', '--force', id);
      b.cleanup();
    }
  });

  test('events of a stopped container fails as runc', () => {
    const b = makeBundle({ args: ['true'] });
    const id = newId();
    try {
      assert.equal(berth('create', '--bundle', b.dir, id).code, 0);
      assert.equal(berth('start', id).code, 0);
      waitUntil(() => status(id) === 'stopped', 'the container stopped');
      const r = berth('events', '--stats', id);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /is not running/);
    } finally {
      berth('delete', '--force', id);
      b.cleanup();
    }
  });
});

// berth as a library (src/lib/, `require('berth')`): the built package entry
// drives real containers in this test's own process; what a long-lived program
// needs of it: no fds, listeners or children left behind between calls.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type * as Lib from '../../src/lib/index';
import { repoRoot } from '../fixtures/runtime';
import { leftovers, Session, waitFor } from './helpers';

// The bundle users load (dist/index.js, built by scripts/build.mjs), not the sources.
const lib = require(join(repoRoot(), 'dist/index.js')) as typeof Lib;
const s = new Session('lib');
const rt = new lib.Runtime({ root: s.root });

after(() => {
  assert.deepEqual(leftovers(s), []);
  s.close();
});

const fds = () => readdirSync('/proc/self/fd').length;
const children = () =>
  readdirSync('/proc').filter((p) => {
    if (!/^\d+$/.test(p)) return false;
    try {
      const st = readFileSync(`/proc/${p}/stat`, 'latin1');
      return Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]) === process.pid;
    } catch {
      return false;
    }
  }).length;
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH', 'SIGCHLD'] as const;
const listeners = () => SIGNALS.map((sig) => process.listenerCount(sig)).join(',');

describe('run', () => {
  test('collects the output and the exit status; stdin is the bytes given', async (t) => {
    const b = s.bundle(t, { args: ['sh', '-c', 'read line; echo "got $line"; echo oops >&2; exit 3'] });
    const id = s.newId();
    s.deleteAfter(t, id);
    const r = await rt.run(id, { bundle: b.dir, stdio: ['hello\n', 'pipe', 'pipe'] });
    assert.equal(r.status, 3);
    assert.equal(r.stdout?.toString(), 'got hello\n');
    assert.equal(r.stderr?.toString(), 'oops\n');
    assert.equal(existsSync(join(s.root, id)), false, 'the container is deleted after run');
  });

  test('output to a fd of the caller is copied there; stderr ignored', async (t) => {
    const dir = s.tmpdir(t);
    const out = join(dir, 'out');
    const fd = require('node:fs').openSync(out, 'w');
    t.after(() => require('node:fs').closeSync(fd));
    const b = s.bundle(t, { args: ['sh', '-c', 'echo to-file; echo gone >&2; exit 4'] });
    const id = s.newId();
    s.deleteAfter(t, id);
    const r = await rt.run(id, { bundle: b.dir, stdio: ['ignore', fd, 'ignore'] });
    assert.equal(r.status, 4);
    assert.equal(r.stdout, undefined);
    assert.equal(r.stderr, undefined);
    assert.equal(readFileSync(out, 'utf8'), 'to-file\n');
  });

  test('an AbortSignal kills the container, removes it and rejects with its reason', async (t) => {
    const b = s.bundle(t, { args: ['sleep', '1000'] });
    const id = s.newId();
    s.deleteAfter(t, id);
    const ac = new AbortController();
    const running = rt.run(id, { bundle: b.dir, signal: ac.signal, stdio: 'pipe' });
    assert.ok(await waitFor(() => existsSync(join(s.root, id)) && !existsSync(join(s.root, id, 'exec.fifo'))), 'the container started');
    const reason = new Error('enough');
    ac.abort(reason);
    await assert.rejects(running, (e) => e === reason);
    assert.equal(existsSync(join(s.root, id)), false);
  });

  test('runs at once in one process each get their own output and status', async (t) => {
    const b = s.bundle(t, { args: ['sh', '-c', 'read n; echo "n=$n"; exit $n'] });
    const ids = [1, 2, 3].map(() => s.newId());
    for (const id of ids) s.deleteAfter(t, id);
    const results = await Promise.all(ids.map((id, i) => rt.run(id, { bundle: b.dir, stdio: [`${i + 1}\n`, 'pipe', 'pipe'] })));
    assert.deepEqual(results.map((r) => [r.status, r.stdout?.toString()]), [[1, 'n=1\n'], [2, 'n=2\n'], [3, 'n=3\n']]);
  });

  test('50 runs in one process leave no fds, signal listeners or children behind', async (t) => {
    const b = s.bundle(t, { args: ['true'] });
    // The first run loads the addon and keeps berth-init's sealed copy (one fd for good).
    const first = s.newId();
    s.deleteAfter(t, first);
    assert.equal((await rt.run(first, { bundle: b.dir, stdio: 'pipe' })).status, 0);
    const before = { fds: fds(), listeners: listeners(), children: children() };
    for (let i = 0; i < 50; i++) {
      const id = s.newId();
      s.deleteAfter(t, id);
      const r = await rt.run(id, { bundle: b.dir, stdio: i % 2 ? 'pipe' : 'ignore' });
      assert.equal(r.status, 0);
    }
    assert.deepEqual({ fds: fds(), listeners: listeners(), children: children() }, before);
  });
});

describe('create, start, exec, state, pause, kill, delete', () => {
  test('the lifecycle through the library, with typed errors', async (t) => {
    const b = s.bundle(t, { args: ['sleep', '1000'] });
    const id = s.newId();
    s.deleteAfter(t, id);
    const created = await rt.create(id, { bundle: b.dir });
    assert.equal(created.status, 'created');
    assert.equal(created.id, id);
    await assert.rejects(rt.create(id, { bundle: b.dir }), (e) => e instanceof lib.ExistsError && e instanceof lib.BerthError);
    await rt.start(id);
    const st = await rt.state(id);
    assert.equal(st.status, 'running');
    assert.ok(st.pid > 0);
    assert.deepEqual((await rt.list()).map((c) => c.id), [id]);
    assert.deepEqual(await rt.ps(id), [st.pid]);

    const e = await rt.exec(id, ['sh', '-c', 'echo $((6 * 7)); exit 5'], { stdio: 'pipe' });
    assert.equal(e.status, 5);
    assert.equal(e.stdout?.toString(), '42\n');
    const p = await rt.exec(id, { args: ['cat'], cwd: '/', env: ['PATH=/bin'], user: { uid: 0, gid: 0 } }, { stdio: [Buffer.from('as given'), 'pipe', 'pipe'] });
    assert.equal(p.stdout?.toString(), 'as given');
    // A signal that ends the process is 128+N (the init, pid 1 of its namespace, ignores its own).
    assert.equal((await rt.exec(id, ['sh', '-c', 'kill -9 $$'])).status, 137);

    const ac = new AbortController();
    const waiting = rt.exec(id, ['sleep', '1000'], { signal: ac.signal });
    // exec has started the process when it returns its promise (its setup is synchronous).
    ac.abort();
    await assert.rejects(waiting, { name: 'AbortError' });

    await assert.rejects(rt.delete(id), (e) => e instanceof lib.StateError && e.status === 'running');
    await rt.pause(id);
    assert.equal((await rt.state(id)).status, 'paused');
    await assert.rejects(rt.pause(id), lib.StateError);
    await rt.resume(id);
    await rt.kill(id, 'KILL');
    assert.ok(await waitFor(() => JSON.stringify(readdirSync(s.root)).includes(id) && isStopped(id)));
    await rt.delete(id);
    await assert.rejects(rt.state(id), (e) => e instanceof lib.NotFoundError && e.id === id);
    await rt.delete(id, { force: true }); // as runc: force on a missing container is no error
  });

  test('an invalid config is a ConfigError listing its problems; a field that cannot be applied a SetupError naming it and its errno', async (t) => {
    const bad = s.bundle(t);
    const cfg = JSON.parse(readFileSync(bad.config, 'utf8'));
    cfg.process.args = 'not an array';
    writeFileSync(bad.config, JSON.stringify(cfg));
    const id = s.newId();
    s.deleteAfter(t, id);
    await assert.rejects(rt.create(id, { bundle: bad.dir }), (e) => e instanceof lib.ConfigError && e.problems.length > 0 && /process\/args|args/.test(e.problems.join()));

    const ns = s.bundle(t, {
      mutate: (spec) => {
        spec.linux!.namespaces = [...spec.linux!.namespaces!.filter((n: { type: string }) => n.type !== 'network'), { type: 'network', path: '/proc/self/ns/nope' }];
      },
    });
    await assert.rejects(rt.create(id, { bundle: ns.dir }), (e) => {
      assert.ok(e instanceof lib.SetupError, String(e));
      assert.match(e.field ?? '', /^linux\.namespaces\[\d+\]\.path$/);
      assert.equal(e.code, 'ENOENT');
      assert.equal(e.errno, 2);
      return true;
    });
    assert.equal(existsSync(join(s.root, id)), false, 'a failed create leaves nothing');
  });
});

describe('events', () => {
  test('an async iterator of stats events that ends when the container stops, or on abort', async (t) => {
    const b = s.bundle(t, { args: ['sleep', '1000'] });
    const id = s.newId();
    s.deleteAfter(t, id);
    await rt.create(id, { bundle: b.dir });
    await rt.start(id);
    const seen: Lib.ContainerEvent[] = [];
    for await (const e of rt.events(id, { interval: 50 })) {
      seen.push(e);
      if (seen.length === 2) await rt.kill(id, 'KILL');
    }
    assert.ok(seen.length >= 2);
    assert.equal(seen[0].type, 'stats');
    assert.equal(seen[0].id, id);
    await rt.delete(id);

    const id2 = s.newId();
    s.deleteAfter(t, id2);
    await rt.create(id2, { bundle: b.dir });
    const ac = new AbortController();
    const it = rt.events(id2, { interval: '1h', signal: ac.signal });
    const next = it.next();
    setImmediate(() => ac.abort());
    await assert.rejects(next, { name: 'AbortError' });
    await rt.delete(id2, { force: true });
  });
});

function isStopped(id: string): boolean {
  try {
    const st = JSON.parse(readFileSync(join(s.root, id, 'state.json'), 'utf8'));
    return !existsSync(`/proc/${st.pid}`) || /\) Z /.test(readFileSync(`/proc/${st.pid}/stat`, 'latin1'));
  } catch {
    return false;
  }
}

describe('the README example (examples/sandbox.mjs)', () => {
  const file = join(repoRoot(), 'examples/sandbox.mjs');

  test('the README shows the file as it is', () => {
    const readme = readFileSync(join(repoRoot(), 'README.md'), 'utf8');
    const blocks = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]);
    assert.ok(blocks.includes(readFileSync(file, 'utf8')), 'a ```js block of README.md equals examples/sandbox.mjs');
  });

  test('runs a snippet: its output and status, the limits and the seccomp profile hold, nothing is left', () => {
    const { sharedRootfs } = require('../fixtures/bundle') as typeof import('../fixtures/bundle');
    const before = readdirSync('/tmp').filter((d) => d.startsWith('sandbox-'));
    const snippet = 'echo hello from $(hostname); id -u; grep Seccomp: /proc/self/status; unshare -n true; for i in $(seq 40); do sleep 1000 & done; echo unreached';
    const r = require('node:child_process').spawnSync(process.execPath, [file, sharedRootfs(), snippet], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    // seccomp mode 2 (a filter); unshare refused; the 33rd process cannot be made (pids.limit 32): sh exits 2.
    assert.equal(r.stdout, [
      'stdout:', 'hello from sandbox', '65534', 'Seccomp:\t2',
      'stderr:', 'unshare: unshare(0x40000000): Operation not permitted', "sh: can't fork: Resource temporarily unavailable",
      'exit status: 2', '',
    ].join('\n'));
    assert.deepEqual(readdirSync('/tmp').filter((d) => d.startsWith('sandbox-')), before);
  });
});

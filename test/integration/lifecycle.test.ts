// runtime.md "Lifecycle" and "Operations": create, start, state, kill, delete, as
// runc's CLI does them, and what is left after each (nothing, once deleted).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeBundle, type Bundle } from '../fixtures/bundle';
import { leftovers } from '../fixtures/leftovers';
import { BERTH, runRuntime } from '../fixtures/runtime';
import { waitFor as waitForAsync, waitUntil } from '../fixtures/wait';

let root: string;
let sleeper: Bundle;
const berth = (...args: string[]) => runRuntime(BERTH, root, args);
const state = (id: string) => JSON.parse(berth('state', id).stdout) as Record<string, unknown>;
let n = 0;
const newId = () => `lc-${process.pid}-${n++}`;

const waitFor = (pred: () => boolean) => waitUntil(pred, 'the condition holds');

before(() => {
  root = mkdtempSync('/tmp/berth-root-');
  sleeper = makeBundle({ args: ['sleep', '1000'] });
});
after(() => {
  for (const id of readdirIds()) berth('delete', '--force', id);
  sleeper.cleanup();
  rmSync(root, { recursive: true, force: true });
});
function readdirIds(): string[] {
  try {
    return require('node:fs').readdirSync(root);
  } catch {
    return [];
  }
}

describe('lifecycle', () => {
  test('create waits in "created", start runs it, kill stops it, delete removes it', () => {
    const id = newId();
    const pidFile = join(sleeper.dir, 'pid');
    let r = berth('create', '--bundle', sleeper.dir, '--pid-file', pidFile, id);
    assert.equal(r.code, 0, r.stderr);
    const s = state(id);
    assert.equal(s.status, 'created');
    assert.equal(s.id, id);
    assert.equal(s.bundle, sleeper.dir);
    assert.equal(Number(readFileSync(pidFile, 'utf8')), s.pid);
    // The user process has not started: the init is still berth-init.
    assert.match(readFileSync(`/proc/${s.pid}/cmdline`, 'utf8'), /berth-init/);

    r = berth('start', id);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(state(id).status, 'running');
    // start returns once the user process was executed (poststart hooks come after it).
    assert.match(readFileSync(`/proc/${s.pid}/cmdline`, 'utf8'), /^sleep/);

    r = berth('start', id);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /running/);

    r = berth('delete', id);
    assert.notEqual(r.code, 0, 'delete of a running container needs --force');
    assert.match(r.stderr, /not stopped: running/);

    r = berth('kill', id, 'KILL');
    assert.equal(r.code, 0, r.stderr);
    waitFor(() => state(id).status === 'stopped');
    assert.equal(state(id).pid, 0);

    // The shim sends kill --all after the init exited; runc accepts it.
    assert.equal(berth('kill', '--all', id, '9').code, 0);
    assert.match(berth('kill', id, '15').stderr, /not running/);

    r = berth('delete', id);
    assert.equal(r.code, 0, r.stderr);
    assert.match(berth('state', id).stderr, /does not exist/);
    assert.deepEqual(leftovers(root, id, sleeper.dir), []);
  });

  test('signals by name, with or without SIG, and by number', () => {
    // pid 1 of a pid namespace only gets signals it handles.
    const trapper = makeBundle({ args: ['sh', '-c', 'trap "exit 0" TERM; while :; do sleep 0.05; done'] });
    after(() => trapper.cleanup());
    for (const sig of ['TERM', 'SIGTERM', '15']) {
      const id = newId();
      assert.equal(berth('run', '--detach', '--bundle', trapper.dir, id).code, 0);
      assert.equal(berth('kill', id, sig).code, 0);
      waitFor(() => state(id).status === 'stopped');
      assert.equal(berth('delete', id).code, 0);
    }
    const id = newId();
    assert.equal(berth('create', '--bundle', sleeper.dir, id).code, 0);
    assert.match(berth('kill', id, 'SIGNOPE').stderr, /invalid signal/);
    assert.equal(berth('delete', '--force', id).code, 0);
  });

  test('delete --force removes a running container and everything it holds', () => {
    const id = newId();
    assert.equal(berth('run', '-d', '--bundle', sleeper.dir, id).code, 0);
    const pid = state(id).pid as number;
    assert.equal(berth('delete', '--force', id).code, 0);
    assert.equal(existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z'), false);
    assert.deepEqual(leftovers(root, id, sleeper.dir), []);
  });

  // delete unlinks the state directory's files and removes it with one rmdir; what
  // else is there (a directory) goes by the recursive removal behind it.
  test('delete removes a state directory holding more than files', () => {
    const id = newId();
    assert.equal(berth('create', '--bundle', sleeper.dir, id).code, 0);
    mkdirSync(join(root, id, 'extra', 'deeper'), { recursive: true });
    writeFileSync(join(root, id, 'extra', 'deeper', 'file'), 'x');
    assert.equal(berth('delete', '--force', id).code, 0);
    assert.equal(existsSync(join(root, id)), false);
    assert.deepEqual(leftovers(root, id, sleeper.dir), []);
  });

  // runtime.md: "Attempting to delete a container that is not stopped MUST have no
  // effect on the container and MUST generate an error" (runc deletes created ones).
  test('a created container is deleted only with --force', () => {
    const id = newId();
    assert.equal(berth('create', '--bundle', sleeper.dir, id).code, 0);
    const r = berth('delete', id);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /not stopped: created/);
    assert.equal(state(id).status, 'created');
    assert.equal(berth('delete', '--force', id).code, 0);
    assert.deepEqual(leftovers(root, id, sleeper.dir), []);
  });

  // config.md: process is "REQUIRED when start is called".
  test('a config without process can be created; start refuses it', () => {
    const b = makeBundle({ mutate: (s) => delete s.process });
    try {
      const id = newId();
      assert.equal(berth('create', '--bundle', b.dir, id).code, 0, berth('state', id).stderr);
      assert.equal(state(id).status, 'created');
      const r = berth('start', id);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /no process/);
      assert.equal(state(id).status, 'created');
      assert.equal(berth('delete', '--force', id).code, 0);
      assert.deepEqual(leftovers(root, id, b.dir), []);
    } finally {
      b.cleanup();
    }
  });

  test('delete of a missing container: an error, except with --force (as runc)', () => {
    assert.match(berth('delete', 'no-such-container').stderr, /does not exist/);
    assert.equal(berth('delete', '--force', 'no-such-container').code, 0);
  });

  test('an id can be used once at a time, even by concurrent creates', async () => {
    const id = newId();
    const runs = await Promise.all([0, 1, 2, 3].map((i) => new Promise<{ code: number; stderr: string }>((res) => {
      // stderr to a file: the winner's container keeps its stdio open.
      const errFile = join(sleeper.dir, `err-${i}`);
      const fd = openSync(errFile, 'w');
      const p = spawn(BERTH, ['--root', root, 'create', '--bundle', sleeper.dir, id], { stdio: ['ignore', 'ignore', fd] });
      closeSync(fd);
      p.on('exit', (code) => res({ code: code ?? -1, stderr: readFileSync(errFile, 'utf8') }));
    })));
    assert.equal(runs.filter((r) => r.code === 0).length, 1, JSON.stringify(runs));
    for (const r of runs.filter((x) => x.code !== 0)) assert.match(r.stderr, /already exists/);
    assert.equal(state(id).status, 'created');
    assert.equal(berth('delete', '--force', id).code, 0);
    assert.deepEqual(leftovers(root, id, sleeper.dir), []);
  });

  test('the shared /berth cgroup parent goes with the last container below it', (t) => {
    const parents = () => readdirSync('/sys/fs/cgroup').map((h) => join('/sys/fs/cgroup', h, 'berth')).filter((d) => existsSync(d));
    if (parents().length) return t.skip('another user of /berth on this host');
    const [a, b] = [newId(), newId()];
    assert.equal(berth('create', '--bundle', sleeper.dir, a).code, 0);
    assert.equal(berth('create', '--bundle', sleeper.dir, b).code, 0);
    assert.ok(parents().length > 0);
    assert.equal(berth('delete', '--force', a).code, 0);
    assert.ok(parents().length > 0, 'b still needs it');
    assert.equal(berth('delete', '--force', b).code, 0);
    assert.deepEqual(parents(), []);
  });

  test('invalid ids are refused', () => {
    for (const id of ['../x', 'a/b', '.', '']) {
      const r = berth('create', '--bundle', sleeper.dir, id);
      assert.notEqual(r.code, 0);
    }
  });

  test('list shows containers in table, json and quiet form', () => {
    const id = newId();
    assert.equal(berth('create', '--bundle', sleeper.dir, id).code, 0);
    assert.match(berth('list').stdout, new RegExp(`^${id}\\s+\\d+\\s+created\\s`, 'm'));
    const json = JSON.parse(berth('list', '--format', 'json').stdout) as { id: string; status: string }[];
    assert.equal(json.find((c) => c.id === id)?.status, 'created');
    assert.match(berth('list', '-q').stdout, new RegExp(`^${id}$`, 'm'));
    assert.equal(berth('delete', '--force', id).code, 0);
  });
});

describe('run in the foreground', () => {
  test('exits with the status of the container process, and deletes the container', () => {
    const b = makeBundle({ args: ['sh', '-c', 'echo out; echo err >&2; exit 7'] });
    try {
      const id = newId();
      const r = runRuntime(BERTH, root, ['run', '--bundle', b.dir, id]);
      assert.equal(r.code, 7);
      assert.equal(r.stdout, 'out\n');
      assert.equal(r.stderr, 'err\n');
      assert.deepEqual(leftovers(root, id, b.dir), []);
    } finally {
      b.cleanup();
    }
  });

  test('a container ended by a signal gives 128+N', () => {
    const b = makeBundle({ args: ['sh', '-c', 'kill -USR1 $$; sleep 5'] });
    try {
      const r = runRuntime(BERTH, root, ['run', '--bundle', b.dir, newId()]);
      // pid 1 ignores signals it has no handler for; SIGKILL from outside is the way.
      assert.ok([0, 138].includes(r.code), `code ${r.code}`);
    } finally {
      b.cleanup();
    }
  });

  test('signals sent to berth run are forwarded to the container', async () => {
    const b = makeBundle({ args: ['sh', '-c', 'trap "echo got TERM; exit 3" TERM; echo ready; while :; do sleep 0.05; done'] });
    try {
      const id = newId();
      const p = spawn(BERTH, ['--root', root, 'run', '--bundle', b.dir, id]);
      let out = '';
      p.stdout.on('data', (d) => (out += d));
      // The trap is set, and berth forwards signals (from before it started the process).
      assert.ok(await waitForAsync(() => out.includes('ready')), `the container got ready: ${out}`);
      p.kill('SIGTERM');
      const code = await new Promise<number>((res) => p.on('close', (c) => res(c ?? -1)));
      assert.equal(code, 3);
      assert.match(out, /got TERM/);
      assert.deepEqual(leftovers(root, id, b.dir), []);
    } finally {
      b.cleanup();
    }
  });
});

describe('create flags', () => {
  // runc joins a new session keyring named after the container unless --no-new-keyring.
  test('a new session keyring, or none with --no-new-keyring', () => {
    const b = makeBundle({
      args: ['sh', '-c', 'grep -o "_ses[^:]*" /proc/keys'],
      mutate: (s) => (s.linux.maskedPaths = s.linux.maskedPaths.filter((p: string) => p !== '/proc/keys')),
    });
    try {
      const id = newId();
      assert.ok(berth('run', '--bundle', b.dir, id).stdout.split('\n').includes(`_ses.${id}`));
      const id2 = newId();
      assert.ok(!berth('run', '--no-new-keyring', '--bundle', b.dir, id2).stdout.split('\n').includes(`_ses.${id2}`));
    } finally {
      b.cleanup();
    }
  });

  test('--no-pivot moves the rootfs to / and chroots', () => {
    const b = makeBundle({ args: ['sh', '-c', 'cat /proc/self/mountinfo | head -1'] });
    try {
      const pivot = berth('run', '--bundle', b.dir, newId());
      const noPivot = berth('run', '--no-pivot', '--bundle', b.dir, newId());
      assert.equal(pivot.code, 0, pivot.stderr);
      assert.equal(noPivot.code, 0, noPivot.stderr);
      // pivot_root leaves the rootfs as the namespace's root mount; MS_MOVE keeps the old root below it.
      assert.notEqual(pivot.stdout, noPivot.stdout);
    } finally {
      b.cleanup();
    }
  });
});

describe('bad bundles fail clearly and leave nothing behind', () => {
  const cases: [string, (dir: string) => void, RegExp][] = [
    ['missing config.json', (d) => rmSync(join(d, 'config.json')), /config\.json/],
    ['malformed JSON', (d) => writeFileSync(join(d, 'config.json'), '{"ociVersion": '), /config\.json/],
    ['wrong type', (d) => edit(d, (c) => (c.process.user.uid = 'root')), /\/process\/user\/uid/],
    ['missing rootfs', (d) => edit(d, (c) => (c.root.path = join(d, 'nope'))), /root\.path.*no such file/],
    ['missing executable', (d) => edit(d, (c) => (c.process.args = ['/no/such/binary'])), /process\.args.*\/no\/such\/binary/],
    ['missing cwd', (d) => edit(d, (c) => (c.process.cwd = '/no/such/dir')), /process\.cwd/],
    ['non-existent namespace path', (d) => edit(d, (c) => (c.linux.namespaces = c.linux.namespaces.map((ns: { type: string }) => (ns.type === 'network' ? { type: 'network', path: '/proc/self/ns/nope' } : ns)))), /linux\.namespaces\[\d\]\.path.*no such file/],
  ];
  for (const [name, breakIt, expected] of cases) {
    test(name, () => {
      const b = makeBundle({ args: ['true'] });
      try {
        breakIt(b.dir);
        const id = newId();
        const r = berth('create', '--bundle', b.dir, id);
        assert.notEqual(r.code, 0);
        assert.match(r.stderr, expected);
        assert.doesNotMatch(r.stderr, /EOF|at .*\.js:\d+/, 'one clear line, no stack trace');
        assert.deepEqual(leftovers(root, id, b.dir), []);
      } finally {
        b.cleanup();
      }
    });
  }
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function edit(dir: string, f: (c: any) => void): void {
  const p = join(dir, 'config.json');
  const c = JSON.parse(readFileSync(p, 'utf8'));
  f(c);
  writeFileSync(p, JSON.stringify(c));
}

describe('a create killed with SIGKILL at any moment', () => {
  test('leaves nothing that delete --force cannot remove', async () => {
    // Kill points spread over the whole create (about 100-200 ms here).
    for (const delay of [0, 20, 40, 60, 80, 100, 120, 140, 160, 200, 300]) {
      const id = newId();
      const p = spawn(BERTH, ['--root', root, 'create', '--bundle', sleeper.dir, id], { stdio: 'ignore' });
      const exited = new Promise((r) => p.on('exit', r));
      await new Promise((r) => setTimeout(r, delay));
      p.kill('SIGKILL');
      await exited;
      const r = berth('delete', '--force', id);
      assert.equal(r.code, 0, `delay ${delay}: ${r.stderr}`);
      waitFor(() => leftovers(root, id, sleeper.dir).length === 0);
    }
  });
});

describe('delete --force racing a create of the same id', () => {
  test('a delete that comes while the create runs waits for it, then deletes the created container (and runs its poststop hooks)', async () => {
    const dir = mkdtempSync('/tmp/berth-itest-race-');
    // The create stops in its createRuntime hook (it holds the id then) until the
    // test lets it go.
    const b = makeBundle({
      args: ['sleep', '1000'],
      mutate: (spec) => (spec.hooks = {
        createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', `touch ${dir}/in-hook; until [ -e ${dir}/go ]; do sleep 0.05; done`], timeout: 120 }],
        poststop: [{ path: '/bin/sh', args: ['sh', '-c', `cat > ${dir}/poststop`] }],
      }),
    });
    const id = newId();
    try {
      const create = spawn(BERTH, ['--root', root, 'create', '--bundle', b.dir, id], { stdio: 'ignore' });
      const created = new Promise<number>((r) => create.on('exit', (code) => r(code ?? -1)));
      assert.ok(await waitForAsync(() => existsSync(join(dir, 'in-hook'))), 'the create reached its hook');
      const del = spawn(BERTH, ['--root', root, 'delete', '--force', id], { stdio: 'ignore' });
      let deleted: number | undefined;
      const delDone = new Promise<number>((r) => del.on('exit', (code) => r((deleted = code ?? -1))));
      // The delete waits on the container's lock (a blocked flock in /proc/locks).
      assert.ok(await waitForAsync(() => deleted !== undefined || blockedOnLock(del.pid!)), 'the delete waits or is done');
      assert.equal(deleted, undefined, 'delete did not wait for the create in flight');
      writeFileSync(join(dir, 'go'), '');
      assert.equal(await created, 0, 'the create went on');
      assert.equal(await delDone, 0);
      // The delete saw the container as the create left it: created, with an init,
      // so its poststop hooks ran; and nothing of it is left.
      assert.ok(existsSync(join(dir, 'poststop')), 'the delete ran the poststop hooks of the created container');
      assert.equal(JSON.parse(readFileSync(join(dir, 'poststop'), 'utf8')).id, id);
      assert.notEqual(berth('state', id).code, 0);
      waitFor(() => leftovers(root, id, b.dir).length === 0);
    } finally {
      berth('delete', '--force', id);
      b.cleanup();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('is linearizable: the delete waits for the create and removes what it made, or the create fails; a created container is never lost', async () => {
    const log = mkdtempSync('/tmp/berth-itest-race-');
    // poststop records which containers a delete saw as created.
    const b = makeBundle({
      args: ['sleep', '1000'],
      mutate: (spec) => (spec.hooks = { poststop: [{ path: '/bin/sh', args: ['sh', '-c', `(cat; echo) >> ${log}/poststop`] }] }),
    });
    try {
      // Where the delete starts: before the create claims the id, once the id's
      // directory exists, once the state is written, once the init exists.
      const triggers: Record<string, (dir: string) => boolean> = {
        now: () => true,
        dir: (dir) => existsSync(dir),
        state: (dir) => existsSync(join(dir, 'state.json')),
        init: (dir) => {
          try {
            return JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')).pid > 0;
          } catch {
            return false;
          }
        },
      };
      const outcomes: string[] = [];
      for (let round = 0; round < 4; round++) {
        for (const [name, ready] of Object.entries(triggers)) {
          const id = newId();
          const dir = join(root, id);
          const create = spawn(BERTH, ['--root', root, 'create', '--bundle', b.dir, id], { stdio: 'ignore' });
          let createCode: number | null | undefined;
          const created = new Promise<number>((r) => create.on('exit', (code) => r((createCode = code) ?? -1)));
          while (createCode === undefined && !ready(dir)) await new Promise((r) => setTimeout(r, 1));
          const del = runRuntimeAsync(['delete', '--force', id]);
          const [cc, dc] = await Promise.all([created, del]);
          const what = `round ${round}, delete ${name}: create ${cc}, delete ${dc.code} ${dc.stderr}`;
          assert.equal(dc.code, 0, what);
          const st = berth('state', id);
          const sawCreated = existsSync(join(log, 'poststop')) && readFileSync(join(log, 'poststop'), 'utf8').includes(`"id":"${id}"`);
          if (cc === 0) {
            // Made and reported: either it is still there, created and alive, or the
            // delete removed it as a created container (and ran its poststop hooks).
            if (st.code === 0) assert.equal(JSON.parse(st.stdout).status, 'created', what);
            else assert.ok(sawCreated, `${what}: the container create reported is gone, and no delete saw it created`);
          } else {
            assert.notEqual(st.code, 0, `${what}: a failed create left a container`);
          }
          outcomes.push(`${name}:${cc === 0 ? (st.code === 0 ? 'kept' : 'deleted') : 'create-failed'}`);
          berth('delete', '--force', id);
          waitFor(() => leftovers(root, id, b.dir).length === 0);
        }
      }
      process.stdout.write(`# outcomes: ${[...new Set(outcomes)].sort().join(' ')}\n`);
    } finally {
      b.cleanup();
      rmSync(log, { recursive: true, force: true });
    }
  });
});

function runRuntimeAsync(args: string[]): Promise<{ code: number; stderr: string }> {
  const p = spawn(BERTH, ['--root', root, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  p.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((r) => p.on('close', (code) => r({ code: code ?? -1, stderr })));
}

/** Whether the process waits for a lock (its request shows as "->" in /proc/locks). */
function blockedOnLock(pid: number): boolean {
  return readFileSync('/proc/locks', 'utf8').split('\n').some((l) => l.includes('->') && l.split(/\s+/).includes(String(pid)));
}

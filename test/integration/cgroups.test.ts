// config-linux.md "Control groups": cgroupsPath (absolute, relative, absent),
// membership from inside, memory and pids limits, and removal on delete. On a
// hybrid host the limits go to the v1 hierarchies; the v2 lane (test/cgroup-v2)
// runs this file on a pure cgroup2 host.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { dirFor, hierarchies, isUnified } from '../../src/cgroups/hierarchies';
import { useValidators, validate } from '../../src/spec/validate';
import { makeBundle } from '../fixtures/bundle';
import { leftovers } from '../fixtures/leftovers';
import { BERTH, repoRoot, requireTool, runRuntime } from '../fixtures/runtime';

let root: string;
const berth = (...args: string[]) => runRuntime(BERTH, root, args);
let n = 0;
const newId = () => `cg-${process.pid}-${n++}`;

before(() => {
  root = mkdtempSync('/tmp/berth-root-');
  useValidators(require(join(repoRoot(), 'dist/validators.js')));
});
after(() => rmSync(root, { recursive: true, force: true }));

const unified = isUnified(hierarchies());

/** The directory of a cgroup path in the hierarchy holding controller (the unified one on v2). */
function cgDir(controller: string, path: string): string | undefined {
  const h = hierarchies().find((x) => (unified ? x.version === 2 : x.controllers.includes(controller)));
  return h && dirFor(h, path);
}

/** The line of /proc/PID/cgroup for controller's hierarchy, as a regexp source. */
function cgLine(controller: string, path: string): RegExp {
  const p = path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(unified ? `^0::${p}$` : `:${controller}:${p}$`, 'm');
}

describe('cgroups', () => {
  test('absent cgroupsPath: /berth/<id>; the init is in it; limits applied; state is valid; all removed on delete', () => {
    const b = makeBundle({
      args: ['sleep', '1000'],
      mutate: (s) => (s.linux.resources = { ...s.linux.resources, memory: { limit: 64 * 1024 * 1024 }, pids: { limit: 42 } }),
    });
    const id = newId();
    try {
      assert.equal(berth('create', '--bundle', b.dir, id).code, 0);
      const st = JSON.parse(berth('state', id).stdout);
      validate('state', st, 'berth state');
      const cg = readFileSync(`/proc/${st.pid}/cgroup`, 'utf8');
      assert.match(cg, cgLine('pids', `/berth/${id}`));
      assert.match(cg, cgLine('memory', `/berth/${id}`));
      const mem = cgDir('memory', `/berth/${id}`);
      if (mem) assert.equal(readFileSync(join(mem, unified ? 'memory.max' : 'memory.limit_in_bytes'), 'utf8').trim(), String(64 * 1024 * 1024));
      const pids = cgDir('pids', `/berth/${id}`);
      if (pids) assert.equal(readFileSync(join(pids, 'pids.max'), 'utf8').trim(), '42');
      assert.equal(berth('delete', '--force', id).code, 0);
      if (mem) assert.equal(existsSync(mem), false);
      assert.deepEqual(leftovers(root, id, b.dir), []);
    } finally {
      berth('delete', '--force', id);
      b.cleanup();
    }
  });

  test('a pids limit is enforced: fork beyond it fails inside the container', () => {
    // ash gives up on the script when it cannot fork.
    for (const [limit, forks] of [[4, false], [20, true]] as const) {
      const b = makeBundle({
        args: ['sh', '-c', 'for i in 1 2 3 4 5 6 7 8; do sleep 5 & done; echo all started'],
        mutate: (s) => (s.linux.resources = { ...s.linux.resources, pids: { limit } }),
      });
      try {
        const r = berth('run', '--bundle', b.dir, newId());
        assert.equal(r.stdout.includes('all started'), forks, `limit ${limit}: ${r.stdout} ${r.stderr}`);
        if (!forks) assert.match(r.stderr, /can't fork/);
      } finally {
        b.cleanup();
      }
    }
  });

  test('absolute and relative cgroupsPath', () => {
    const own = readFileSync('/proc/self/cgroup', 'utf8').match(unified ? /^0::(.*)$/m : /:pids:(.*)$/m)![1];
    for (const [path, expect] of [[`/berth-abs-${process.pid}/x`, `/berth-abs-${process.pid}/x`], [`berth-rel-${process.pid}/y`, `${own.replace(/\/$/, '')}/berth-rel-${process.pid}/y`]]) {
      const b = makeBundle({
        args: ['cat', '/proc/self/cgroup'],
        mutate: (s) => {
          s.linux.cgroupsPath = path;
          s.linux.namespaces = s.linux.namespaces.filter((n: { type: string }) => n.type !== 'cgroup');
        },
      });
      try {
        const id = newId();
        const r = berth('run', '--bundle', b.dir, id);
        assert.equal(r.code, 0, r.stderr);
        // No cgroup namespace in this config: the container sees the host's paths.
        assert.match(r.stdout, cgLine('pids', expect));
        assert.equal(existsSync(cgDir('pids', expect)!), false, 'removed after run');
        assert.equal(existsSync(cgDir('pids', expect.split('/').slice(0, -1).join('/'))!), false, 'parents berth made are removed too');
      } finally {
        b.cleanup();
      }
    }
  });

  test('v1 cpuset: a parent another create has made but not filled yet (empty cpus/mems) is filled, as runc does', (t) => {
    const cpuset = hierarchies().find((h) => h.version === 1 && h.controllers.includes('cpuset'));
    if (!cpuset) return t.skip('no v1 cpuset hierarchy on this host (a v2 cpuset is not filled by hand)');
    // What a concurrent create leaves for a moment: the shared parent made, its cpus and mems not yet copied.
    const parent = `/berth-cpuset-${process.pid}`;
    const parentDir = dirFor(cpuset, parent);
    mkdirSync(parentDir);
    const b = makeBundle({ args: ['cat', '/sys/fs/cgroup/cpuset/cpuset.cpus'], mutate: (s) => (s.linux.cgroupsPath = `${parent}/c`) });
    try {
      assert.equal(readFileSync(join(parentDir, 'cpuset.cpus'), 'utf8').trim(), '');
      const r = berth('run', '--bundle', b.dir, newId());
      assert.equal(r.code, 0, r.stderr);
      assert.equal(readFileSync(join(parentDir, 'cpuset.cpus'), 'utf8'), readFileSync(join(cpuset.mountpoint, 'cpuset.cpus'), 'utf8'));
      assert.equal(readFileSync(join(parentDir, 'cpuset.mems'), 'utf8'), readFileSync(join(cpuset.mountpoint, 'cpuset.mems'), 'utf8'));
    } finally {
      b.cleanup();
      rmdirSync(parentDir);
    }
  });

  test('with a cgroup namespace the container sees itself at /', () => {
    const b = makeBundle({
      args: ['cat', '/proc/self/cgroup'],
      // runc spec (and so berth spec) already adds one on a pure v2 host.
      mutate: (s) => s.linux.namespaces.some((n: { type: string }) => n.type === 'cgroup') || s.linux.namespaces.push({ type: 'cgroup' }),
    });
    try {
      const r = berth('run', '--bundle', b.dir, newId());
      assert.equal(r.code, 0, r.stderr);
      // Every hierarchy, v1 and the unified one (which the init is cloned into).
      const lines = r.stdout.trim().split('\n');
      assert.ok(lines.length > 0 && lines.every((l) => l.endsWith(':/')), r.stdout);
      assert.ok(lines.some((l) => l.startsWith('0::')), r.stdout);
    } finally {
      b.cleanup();
    }
  });

  test("with user and cgroup namespaces and a read-write /sys/fs/cgroup the container's root owns its cgroup and makes sub-cgroups, removed on delete; read-only, root keeps it (runc's OwnerUID)", (t) => {
    if (!unified) return t.skip('a pure cgroup v2 host only: the cgroup v2 lane runs this file (bash test/cgroup-v2/lane.sh cgroups)');
    for (const rw of [true, false]) {
      const b = makeBundle({
        args: ['sh', '-c', 'stat -c %u /sys/fs/cgroup /sys/fs/cgroup/cgroup.procs; mkdir /sys/fs/cgroup/sub && echo made; true'],
        mutate: (s) => {
          s.linux.namespaces = [...s.linux.namespaces.filter((n: { type: string }) => n.type !== 'user' && n.type !== 'cgroup'), { type: 'user' }, { type: 'cgroup' }];
          s.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
          s.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
          const m = s.mounts.find((x: { destination: string }) => x.destination === '/sys/fs/cgroup')!;
          m.options = (m.options ?? []).filter((o: string) => o !== 'ro').concat(rw ? [] : ['ro']);
        },
      });
      const id = newId();
      const id2 = newId();
      try {
        // Inside: who owns the cgroup, and whether its root can make a sub-cgroup (run
        // then deletes the container, sub-cgroup and all).
        const r = berth('run', '--bundle', b.dir, id);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, rw ? '0\n0\nmade\n' : '65534\n65534\n', `inside (read-write ${rw}): ${r.stderr}`);
        assert.equal(existsSync(cgDir('pids', `/berth/${id}`)!), false, 'delete removes the cgroup and the sub-cgroup the container made');
        assert.deepEqual(leftovers(root, id, b.dir), []);
        // On the host: the directory's owner, while the container exists.
        assert.equal(berth('create', '--bundle', b.dir, id2).code, 0);
        assert.equal(statSync(cgDir('pids', `/berth/${id2}`)!).uid, rw ? 100000 : 0, `the cgroup's owner on the host (read-write ${rw})`);
        assert.equal(berth('delete', '--force', id2).code, 0);
      } finally {
        berth('delete', '--force', id);
        berth('delete', '--force', id2);
        b.cleanup();
      }
    }
  });

  test('no process is moved into a cgroup by pid: berth-init writes "0" to each v1 tasks file, an exec is cloned into its cgroup2 directory (strace; run and exec)', (t) => {
    // Moving a process by pid takes the kernel's global threadgroup lock, whose first
    // taking waits for an RCU grace period (13-19 ms per call here); a thread moving
    // itself, or a clone into a cgroup, does not.
    if (!requireTool('strace', t)) return;
    const v1 = hierarchies().filter((h) => h.version === 1);
    const v2 = hierarchies().find((h) => h.version === 2);
    const once = makeBundle({ args: ['true'] });
    const long = makeBundle({ args: ['sleep', '1000'] });
    const [id, id2] = [newId(), newId()];
    // strace -f follows every child to its end: only calls whose processes all exit.
    const traced = (args: string[]) => {
      const trace = join(once.dir, 'strace.txt');
      const r = spawnSync('strace', ['-f', '-y', '-e', 'trace=write,clone3', '-e', 'signal=none', '-o', trace, BERTH, '--root', root, ...args], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return readFileSync(trace, 'utf8');
    };
    const check = (what: string, id: string, calls: string) => {
      for (const h of v1) {
        const d = dirFor(h, `/berth/${id}`);
        const esc = d.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        assert.match(calls, new RegExp(`write\\(\\d+<${esc}/tasks>, "0", 1\\) = 1`), `${what}: "0" written to ${d}/tasks`);
        assert.ok(!calls.includes(`${d}/cgroup.procs>`), `${what}: nothing written to ${d}/cgroup.procs\n${calls}`);
      }
      if (v2) {
        assert.match(calls, /clone3\(\{flags=CLONE_PARENT\|[^}]*CLONE_INTO_CGROUP[^}]*cgroup=\d+\}, 88\) = \d+/, `${what}: cloned into its cgroup2 directory`);
        assert.ok(!calls.includes(`${dirFor(v2, `/berth/${id}`)}/cgroup.procs>`), `${what}: nothing written to its cgroup2 directory's cgroup.procs\n${calls}`);
      }
    };
    try {
      check('run', id, traced(['run', '--bundle', once.dir, id]));
      assert.equal(berth('run', '--detach', '--bundle', long.dir, id2).code, 0);
      check('exec', id2, traced(['exec', id2, 'true']));
    } finally {
      berth('delete', '--force', id);
      berth('delete', '--force', id2);
      once.cleanup();
      long.cleanup();
    }
  });

  test('an exec reads no mountinfo: the hierarchies are read only when the container\'s cgroup2 directory enables controllers (strace)', (t) => {
    if (!requireTool('strace', t)) return;
    const b = makeBundle({ args: ['sleep', '1000'] });
    const id = newId();
    try {
      assert.equal(berth('run', '--detach', '--bundle', b.dir, id).code, 0);
      const trace = join(b.dir, 'strace.txt');
      const r = spawnSync('strace', ['-f', '-e', 'trace=openat', '-o', trace, BERTH, '--root', root, 'exec', id, 'true'], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const reads = readFileSync(trace, 'utf8').split('\n').filter((l) => l.includes('/mountinfo"'));
      assert.deepEqual(reads, []);
    } finally {
      berth('delete', '--force', id);
      b.cleanup();
    }
  });

  test('delete removes each of the container\'s cgroups once: no rmdir of one already gone (strace)', (t) => {
    if (!requireTool('strace', t)) return;
    const b = makeBundle({ args: ['true'] });
    const id = newId();
    try {
      assert.equal(berth('run', '--keep', '--bundle', b.dir, id).code, 0);
      const trace = join(b.dir, 'strace.txt');
      const r = spawnSync('strace', ['-f', '-e', 'trace=rmdir', '-o', trace, BERTH, '--root', root, 'delete', id], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const calls = readFileSync(trace, 'utf8');
      const dirs = hierarchies().map((h) => dirFor(h, `/berth/${id}`));
      for (const d of dirs) assert.equal(calls.split('\n').filter((l) => l.includes(`rmdir("${d}")`)).length, 1, `one rmdir of ${d}\n${calls}`);
      assert.doesNotMatch(calls, /ENOENT/, calls);
    } finally {
      berth('delete', '--force', id);
      b.cleanup();
    }
  });

  test('the init is cloned straight into its cgroup2 directory (clone3 CLONE_INTO_CGROUP, seen with strace)', (t) => {
    if (!requireTool('strace', t)) return;
    const b = makeBundle({ args: ['true'] });
    const id = newId();
    const trace = join(b.dir, 'strace.txt');
    try {
      const r = spawnSync('strace', ['-f', '-e', 'trace=clone,clone3', '-o', trace, BERTH, '--root', root, 'run', '--bundle', b.dir, id], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const calls = readFileSync(trace, 'utf8');
      assert.match(calls, /clone3\(\{flags=CLONE_PARENT\|[^}]*CLONE_INTO_CGROUP[^}]*cgroup=\d+\}, 88\) = \d+/, calls);
    } finally {
      berth('delete', '--force', id);
      b.cleanup();
    }
  });
});

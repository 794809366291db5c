// The container's cgroups over its life, where they meet the rest of the host: a
// cgroup frozen before or during create (refused at once, nothing left), a
// stopped berth-init, sub-cgroups the container made itself (delete --force
// removes them with their processes), a cgroup that already holds processes
// (runc's warning, in the log). The v2 lane runs this file on a pure cgroup2 host;
// here the v1 freezer and the hybrid host's unified hierarchy are both tried.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, test } from 'node:test';
import { dirFor, type Hierarchy, hierarchies, isUnified } from '../../src/cgroups/hierarchies';
import type { SpecObject } from '../../src/spec/defaults';
import { leftovers, Session, show, waitFor } from './helpers';

const s = new Session('cglife');
after(() => s.close());

const hs = hierarchies();
const unified = isUnified(hs);

/** The freezers of this host: the v1 freezer hierarchy, and the unified one (cgroup.freeze), which hybrid hosts have too. */
const freezers: { name: string; h: Hierarchy; freeze: (dir: string) => void; thaw: (dir: string) => void }[] = [];
const v1Freezer = hs.find((h) => h.version === 1 && h.controllers.includes('freezer'));
if (v1Freezer) {
  freezers.push({
    name: 'v1 freezer', h: v1Freezer,
    freeze: (d) => writeFileSync(join(d, 'freezer.state'), 'FROZEN'),
    thaw: (d) => writeFileSync(join(d, 'freezer.state'), 'THAWED'),
  });
}
const v2 = hs.find((h) => h.version === 2);
if (v2) {
  freezers.push({
    name: 'cgroup2 cgroup.freeze', h: v2,
    freeze: (d) => writeFileSync(join(d, 'cgroup.freeze'), '1'),
    thaw: (d) => writeFileSync(join(d, 'cgroup.freeze'), '0'),
  });
}

/** The directories of a cgroup path that exist, in every hierarchy. */
const existing = (path: string) => hs.map((h) => dirFor(h, path)).filter((d) => existsSync(d));

/** A cgroup directory the test makes (parents first) and removes at the end, thawed. */
function makeDir(t: import('node:test').TestContext, dir: string, thaw?: (d: string) => void): void {
  mkdirSync(dir, { recursive: true });
  s.defer(t, () => {
    if (!existsSync(dir)) return;
    thaw?.(dir);
    rmdirSync(dir);
  });
}

test('preconditions: this host has a freezer (v1 or cgroup2)', () => {
  assert.ok(freezers.length > 0, `no freezer among ${hs.map((h) => h.mountpoint).join(' ')}`);
});

for (const f of freezers) {
  test(`${f.name}: create into a frozen cgroup, or one below a frozen parent, fails at once naming it; nothing is left`, (t) => {
    for (const below of [false, true]) {
      const id = s.newId();
      const top = `/${id}-frozen`;
      const path = below ? `${top}/c` : top;
      const b = s.bundle(t, { args: ['true'], mutate: (spec) => (spec.linux.cgroupsPath = path) });
      s.deleteAfter(t, id);
      const frozenDir = dirFor(f.h, top);
      makeDir(t, frozenDir, f.thaw);
      f.freeze(frozenDir);
      const r = s.create(b.dir, id);
      assert.equal(r.timedOut, false, `create waited for a frozen berth-init: ${show(r)}`);
      assert.equal(r.code, 1, show(r));
      assert.match(r.stderr, new RegExp(`\\(linux\\.cgroupsPath\\): cgroup ${frozenDir} is frozen`), show(r));
      assert.equal(s.state(id), undefined, 'no state');
      assert.deepEqual(existing(path).filter((d) => d !== frozenDir), [], 'no cgroup made');
      assert.deepEqual(leftovers(s, [id], [b.dir]), []);
    }
  });

  test(`${f.name}: a cgroup frozen while create runs (by a prestart hook): create fails naming it and removes everything`, (t) => {
    const id = s.newId();
    const dir = dirFor(f.h, `/berth/${id}`);
    const file = f.h.version === 2 ? 'cgroup.freeze' : 'freezer.state';
    const value = f.h.version === 2 ? '1' : 'FROZEN';
    const b = s.bundle(t, {
      args: ['true'],
      mutate: (spec) => (spec.hooks = { prestart: [{ path: '/bin/sh', args: ['sh', '-c', `cat >/dev/null; echo ${value} > ${dir}/${file}`] }] }),
    });
    s.deleteAfter(t, id);
    // Should it hang, thaw it, so the cleanup can go on.
    s.defer(t, () => existsSync(dir) && f.thaw(dir));
    const r = s.create(b.dir, id);
    assert.equal(r.timedOut, false, `create waited for a frozen init: ${show(r)}`);
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, new RegExp(`cgroup was frozen meanwhile: cgroup ${dir} is frozen`), show(r));
    assert.equal(s.state(id), undefined, 'no state');
    assert.deepEqual(existing(`/berth/${id}`), []);
    assert.deepEqual(leftovers(s, [id], [b.dir]), []);
  });
}

test('a container init stopped (SIGSTOP) while create waits for it: create fails saying so, and removes everything', (t) => {
  const id = s.newId();
  const b = s.bundle(t, {
    args: ['true'],
    // The hook gets the state on stdin: {"pid":N,...}.
    mutate: (spec) => (spec.hooks = { prestart: [{ path: '/bin/sh', args: ['sh', '-c', 'kill -STOP $(sed \'s/.*"pid":\\([0-9]*\\).*/\\1/\')'] }] }),
  });
  s.deleteAfter(t, id);
  const r = s.create(b.dir, id);
  assert.equal(r.timedOut, false, `create waited for a stopped init: ${show(r)}`);
  assert.equal(r.code, 1, show(r));
  assert.match(r.stderr, /waiting for berth-init: process \d+ is stopped \(SIGSTOP\)/, show(r));
  assert.equal(s.state(id), undefined, 'no state');
  assert.deepEqual(leftovers(s, [id], [b.dir]), []);
});

/** The container's view of its cgroup hierarchies with a cgroup namespace: /sys/fs/cgroup on v2, one directory per hierarchy on v1. */
const insideDirs = unified ? ['/sys/fs/cgroup'] : hs.map((h) => `/sys/fs/cgroup/${h.version === 2 ? 'unified' : basename(h.mountpoint)}`);

/** A cgroup namespace and a writable /sys/fs/cgroup: the container manages its own sub-cgroups (as systemd or docker inside do). */
function ownCgroups(spec: SpecObject): void {
  if (!spec.linux.namespaces.some((n: { type: string }) => n.type === 'cgroup')) spec.linux.namespaces.push({ type: 'cgroup' });
  for (const m of spec.mounts) if (m.destination === '/sys/fs/cgroup') m.options = m.options.filter((o: string) => o !== 'ro');
}

test('delete --force of a container that made sub-cgroups (a process in each, some frozen) removes them all, depth first', async (t) => {
  const id = s.newId();
  // A process moved two levels down in every hierarchy; the sub-cgroup frozen by
  // each freezer the host has (a frozen v1 task dies only once thawed).
  const freeze = [
    ...(insideDirs.includes('/sys/fs/cgroup/freezer') ? ['echo FROZEN > /sys/fs/cgroup/freezer/a/b/freezer.state'] : []),
    ...(unified ? ['echo 1 > /sys/fs/cgroup/a/b/cgroup.freeze'] : insideDirs.includes('/sys/fs/cgroup/unified') ? ['echo 1 > /sys/fs/cgroup/unified/a/b/cgroup.freeze'] : []),
  ];
  const script = [
    'set -e', 'sleep 1000 & c=$!',
    ...insideDirs.map((d) => [
      `mkdir -p ${d}/a/b ${d}/a/empty`,
      // A new v1 cpuset has no cpus or mems: fill them, as systemd inside does.
      ...(d.endsWith('/cpuset') ? ['a', 'a/b'].map((x) => `cat ${d}/cpuset.cpus > ${d}/${x}/cpuset.cpus; cat ${d}/cpuset.mems > ${d}/${x}/cpuset.mems`) : []),
      `echo $c > ${d}/a/b/cgroup.procs`,
    ].join('\n')),
    ...freeze,
    'exec sleep 1000',
  ].join('\n');
  const b = s.bundle(t, { args: ['sh', '-c', script], mutate: ownCgroups });
  s.deleteAfter(t, id);
  const r = s.cli(['run', '-d', '--bundle', b.dir, id]);
  assert.equal(r.code, 0, show(r));
  const pid = s.state(id)!.pid;
  const cmdline = () => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'latin1');
    } catch {
      return 'gone';
    }
  };
  assert.ok(await waitFor(() => cmdline() === 'sleep\x001000\x00' || cmdline() === 'gone'), 'the script did not get to its end');
  assert.equal(cmdline(), 'sleep\x001000\x00', 'the script failed');
  const subs = existing(`/berth/${id}/a/b`);
  assert.equal(subs.length, hs.length, `a/b in every hierarchy: ${subs.join(' ')}`);
  for (const d of subs) assert.notEqual(readFileSync(join(d, 'cgroup.procs'), 'latin1').trim(), '', `a process in ${d}`);
  const d = s.cli(['delete', '--force', id]);
  assert.equal(d.code, 0, show(d));
  assert.equal(s.state(id), undefined, 'no state');
  assert.deepEqual(existing(`/berth/${id}`), []);
  assert.deepEqual(leftovers(s, [id], [b.dir]), []);
});

test('a cgroup that already holds processes: create goes on with runc\'s warning, in the log (not on stderr)', async (t) => {
  // A host process in the container's cgroup (in one hierarchy).
  const h = hs.find((x) => x.version === 2 && unified) ?? hs.find((x) => x.controllers.includes('pids')) ?? hs[0];
  for (const withLog of [true, false]) {
    const id = s.newId();
    const dir = dirFor(h, `/${id}`);
    makeDir(t, dir);
    const other = spawn('sleep', ['1000'], { stdio: 'ignore' });
    s.defer(t, () => other.kill('SIGKILL'));
    writeFileSync(join(dir, 'cgroup.procs'), String(other.pid));
    const b = s.bundle(t, { args: ['true'], mutate: (spec) => (spec.linux.cgroupsPath = `/${id}`) });
    const log = join(s.tmpdir(t), 'log');
    s.deleteAfter(t, id);
    const r = s.cli([...(withLog ? ['--log', log] : []), 'create', '--bundle', b.dir, id]);
    assert.equal(r.code, 0, show(r));
    assert.doesNotMatch(r.stderr, /not empty/, 'engines take stderr for the container\'s output');
    if (withLog) assert.match(readFileSync(log, 'utf8'), /level=warning msg="container's cgroup is not empty: 1 process\(es\) found"/);
    // delete kills whatever is in the container's cgroup, as runc's does.
    const d = s.cli(['delete', '--force', id]);
    assert.equal(d.code, 0, show(d));
    assert.ok(await waitFor(() => other.exitCode !== null || other.signalCode !== null), 'the other process went with the container');
  }
});

test('delete of a stopped container whose cgroups host processes joined after its init ended: they are killed, every cgroup removed', async (t) => {
  // A stopped container with its own pid namespace has empty cgroups unless
  // something joined them since: delete removes them without a kill when rmdir
  // may, and must still find and kill what did join (here one process in the
  // container's cgroup of one hierarchy, one in a sub-cgroup of another).
  const id = s.newId();
  const b = s.bundle(t, { args: ['true'] });
  s.deleteAfter(t, id);
  assert.equal(s.cli(['create', '--bundle', b.dir, id]).code, 0);
  const r = s.cli(['start', id]);
  assert.equal(r.code, 0, show(r));
  assert.ok(await waitFor(() => s.state(id)?.status === 'stopped'), 'the container did not stop');
  const plain = hs.filter((h) => !h.controllers.includes('cpuset'));
  assert.ok(plain.length >= 1, 'a hierarchy without cpuset');
  const into = [dirFor(plain[plain.length - 1], `/berth/${id}`), join(dirFor(plain[0], `/berth/${id}`), 'sub')];
  const others = into.map((dir) => {
    if (!existsSync(dir)) mkdirSync(dir);
    const other = spawn('sleep', ['1000'], { stdio: 'ignore' });
    s.defer(t, () => other.kill('SIGKILL'));
    writeFileSync(join(dir, 'cgroup.procs'), String(other.pid));
    return other;
  });
  const d = s.cli(['delete', id]);
  assert.equal(d.code, 0, show(d));
  for (const other of others) assert.ok(await waitFor(() => other.exitCode !== null || other.signalCode !== null), 'a process that joined went with the container');
  assert.equal(s.state(id), undefined, 'no state');
  assert.deepEqual(existing(`/berth/${id}`), []);
  assert.deepEqual(leftovers(s, [id], [b.dir]), []);
});

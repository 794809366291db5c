// exec --cgroup (runc 1.1): the exec'd process runs in an existing sub-cgroup of
// the container's: PATH in every hierarchy, CONTROLLER[,CONTROLLER]:PATH in
// those controllers' v1 hierarchies; a path that leaves the container's cgroup, or
// one that does not exist, is refused before anything runs. The v2 lane runs
// this file on a pure cgroup2 host.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { dirFor, hierarchies, isUnified } from '../../src/cgroups/hierarchies';
import { leftovers, Session, show } from './helpers';

const s = new Session('cgexec');
after(() => s.close());

const hs = hierarchies();
const unified = isUnified(hs);

/** Makes a sub-cgroup of the container's in the hierarchies given (all by default), as the host sees it. */
function makeSub(id: string, sub: string, only?: (c: string[]) => boolean): void {
  for (const h of hs) {
    if (only && (h.version === 2 || !only(h.controllers))) continue;
    const dir = dirFor(h, `/berth/${id}/${sub}`);
    mkdirSync(dir);
    // A new v1 cpuset has no cpus or mems: no process could join it.
    if (h.controllers.includes('cpuset')) for (const f of ['cpuset.cpus', 'cpuset.mems']) writeFileSync(join(dir, f), readFileSync(join(dir, '..', f)));
  }
}

/** The lines of /proc/self/cgroup of a process exec'd with these --cgroup arguments (no cgroup namespace: host paths). */
function cgroupsOf(id: string, args: string[]): string[] {
  const r = s.cli(['exec', ...args.flatMap((a) => ['--cgroup', a]), id, 'cat', '/proc/self/cgroup']);
  assert.equal(r.code, 0, show(r));
  return r.stdout.trim().split('\n');
}

function container(t: import('node:test').TestContext): string {
  return s.started(t, {
    args: ['sleep', '1000'],
    mutate: (spec) => (spec.linux.namespaces = spec.linux.namespaces.filter((n: { type: string }) => n.type !== 'cgroup')),
  }).id;
}

test('exec --cgroup PATH runs the process in that sub-cgroup in every hierarchy; "/" is the container\'s own', (t) => {
  const id = container(t);
  makeSub(id, 'sub');
  const lines = cgroupsOf(id, ['sub']);
  assert.equal(lines.length, hs.length, lines.join('\n'));
  for (const l of lines) assert.ok(l.endsWith(`:/berth/${id}/sub`), l);
  for (const l of cgroupsOf(id, ['/'])) assert.ok(l.endsWith(`:/berth/${id}`), l);
  for (const l of cgroupsOf(id, ['/sub/'])) assert.ok(l.endsWith(`:/berth/${id}/sub`), l);
  // delete --force takes the sub-cgroups with the container.
  assert.equal(s.cli(['delete', '--force', id]).code, 0);
  assert.deepEqual(leftovers(s, [id], []), []);
});

test('exec --cgroup CONTROLLER[,CONTROLLER]:PATH (v1): those controllers\' hierarchies only; on cgroup v2 the path goes alone', (t) => {
  const id = container(t);
  if (unified) {
    makeSub(id, 'sub');
    const r = s.cli(['exec', '--cgroup', 'memory:sub', id, 'true']);
    assert.equal(r.code, 255, show(r));
    assert.match(r.stderr, /exec --cgroup memory:sub: no cgroup v1 hierarchy has the controller "memory" \(on cgroup v2, give the path alone\)/);
    return;
  }
  const has = (c: string) => hs.some((h) => h.controllers.includes(c));
  assert.ok(has('memory') && has('pids') && has('cpu'), 'v1 memory, pids and cpu hierarchies');
  makeSub(id, 'm', (c) => c.includes('memory'));
  makeSub(id, 'p', (c) => c.includes('pids'));
  makeSub(id, 'c', (c) => c.includes('cpu') || c.includes('cpuacct'));
  const lines = cgroupsOf(id, ['memory:m', 'pids:p', 'cpu,cpuacct:c']);
  for (const l of lines) {
    const ctls = l.split(':')[1].split(',');
    const want = ctls.includes('memory') ? 'm' : ctls.includes('pids') ? 'p' : ctls.includes('cpu') || ctls.includes('cpuacct') ? 'c' : '';
    assert.ok(l.endsWith(`:/berth/${id}${want && '/' + want}`), `${l} (want ${want || 'the container\'s own'})`);
  }
});

test('exec --cgroup refuses a path that leaves the container\'s cgroup, one that does not exist, an unknown controller; nothing runs', (t) => {
  const id = container(t);
  makeSub(id, 'sub');
  // A sibling whose name starts with the container's: a prefix test on strings would let "../<id>x" through.
  const sibling = hs.map((h) => dirFor(h, `/berth/${id}x`));
  for (const d of sibling) mkdirSync(d);
  s.defer(t, () => sibling.forEach((d) => existsSync(d) && rmdirSync(d)));
  const cases: [string[], RegExp][] = [
    [['..'], /exec --cgroup \.\.: \.\. is not below the container's cgroup/],
    [[`../${id}x`], /is not below the container's cgroup/],
    [['/../..'], /is not below the container's cgroup/],
    [['sub/../../..'], /is not below the container's cgroup/],
    [['nosuch'], /exec --cgroup nosuch: no such sub-cgroup .*\/berth\/[^ ]*\/nosuch \(it must exist\)/],
    [['whaat:/'], /no cgroup v1 hierarchy has the controller "whaat"/],
    [['sub', 'sub'], /a path without CONTROLLER: must be the only --cgroup/],
  ];
  if (!unified) cases.push([['memory:nosuch'], /no such sub-cgroup .*\/nosuch/]);
  for (const [args, error] of cases) {
    const r = s.cli(['exec', ...args.flatMap((a) => ['--cgroup', a]), id, 'echo', 'ran']);
    assert.notEqual(r.code, 0, `${args.join(' ')}: ${show(r)}`);
    assert.match(r.stderr, error, args.join(' '));
    assert.doesNotMatch(r.stdout, /ran/, args.join(' '));
  }
});

test('exec into a frozen sub-cgroup fails at once, naming it, instead of waiting for a frozen berth-init', (t) => {
  const id = container(t);
  makeSub(id, 'frz');
  const freezer = hs.find((h) => h.controllers.includes('freezer')) ?? hs.find((h) => h.version === 2);
  assert.ok(freezer, 'a freezer: the v1 hierarchy or cgroup2');
  const dir = dirFor(freezer, `/berth/${id}/frz`);
  const [file, frozen, thawed] = freezer.version === 2 ? ['cgroup.freeze', '1', '0'] : ['freezer.state', 'FROZEN', 'THAWED'];
  writeFileSync(join(dir, file), frozen);
  s.defer(t, () => existsSync(dir) && writeFileSync(join(dir, file), thawed));
  const r = s.cli(['exec', '--cgroup', 'frz', id, 'echo', 'ran']);
  assert.equal(r.timedOut, false, `exec waited for a frozen berth-init: ${show(r)}`);
  assert.equal(r.code, 255, show(r)); // exec itself failed (as runc)
  assert.match(r.stderr, new RegExp(`cannot exec in a frozen cgroup: ${dir} is frozen`));
  assert.doesNotMatch(r.stdout, /ran/);
});

test('cgroup v2: a container whose cgroup enables controllers for its sub-cgroups (systemd inside) takes an exec in the init\'s own cgroup, as runc (the kernel refuses a process in such a cgroup)', (t) => {
  if (!unified) return t.skip('a pure cgroup v2 host only: the cgroup v2 lane runs this file');
  // A pids limit: berth enables the pids controller for the container's cgroup.
  const id = s.started(t, {
    args: ['sleep', '1000'],
    mutate: (spec) => {
      spec.linux.namespaces = spec.linux.namespaces.filter((n: { type: string }) => n.type !== 'cgroup');
      spec.linux.resources = { ...spec.linux.resources, pids: { limit: 100 } };
    },
  }).id;
  const h = hs.find((x) => x.version === 2)!;
  const dir = dirFor(h, `/berth/${id}`);
  const controller = readFileSync(join(dir, 'cgroup.controllers'), 'utf8').trim().split(' ').find((c) => c === 'pids' || c === 'memory');
  assert.ok(controller, `a controller to enable below ${dir}: ${readFileSync(join(dir, 'cgroup.controllers'), 'utf8')}`);
  // What systemd as the init does: itself into a leaf, then controllers for the leaves.
  mkdirSync(join(dir, 'init.scope'));
  const st = JSON.parse(s.cli(['state', id]).stdout);
  writeFileSync(join(dir, 'init.scope', 'cgroup.procs'), String(st.pid));
  writeFileSync(join(dir, 'cgroup.subtree_control'), `+${controller}`);
  s.defer(t, () => existsSync(dir) && writeFileSync(join(dir, 'cgroup.subtree_control'), `-${controller}`));
  const r = s.cli(['exec', id, 'cat', '/proc/self/cgroup']);
  assert.equal(r.code, 0, show(r));
  assert.equal(r.stdout.trim(), `0::/berth/${id}/init.scope`);
  // delete --force takes the sub-cgroup with the container.
  assert.equal(s.cli(['delete', '--force', id]).code, 0);
  assert.deepEqual(leftovers(s, [id], []), []);
});

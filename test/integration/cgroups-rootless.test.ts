// A cgroup subtree delegated to an ordinary user (chowned to it, as systemd's
// Delegate= leaves it) is used by a rootless berth with the full driver: limits,
// pause and resume, update, events, delete. The test user is made for this file
// and removed with it. cgroup2 lets a process move between cgroups only for a
// writer of their common ancestor's cgroup.procs, so berth is started inside the
// subtree (root moves the launcher there), as a user's session is under systemd.
// Runs on this hybrid host (every v1 hierarchy and the unified one delegated) and
// in the cgroup v2 lane (the unified hierarchy, with its controllers).
import assert from 'node:assert/strict';
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { hierarchies, isUnified } from '../../src/cgroups/hierarchies';
import { sharedRootfs } from '../fixtures/bundle';
import { BERTH } from '../fixtures/runtime';
import { makeTestUser, type TestUser } from '../fixtures/test-user';
import { leftovers, Session, show } from './helpers';

const s = new Session('cgrootless');
let u: TestUser;
before(() => {
  u = makeTestUser();
});
after(() => {
  u?.remove();
  s.close();
});

const berth = (args: string[], opts?: Parameters<TestUser['run']>[1]) => u.run([BERTH, ...args], opts);

function bundle(args: string[], cgroupsPath: string, resources: object): string {
  const dir = u.dir('berth-itest-cgrl-bundle-');
  s.paths.push(dir);
  const r = berth(['spec', '--rootless'], { cwd: dir });
  assert.equal(r.code, 0, show(r));
  const spec = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  spec.root = { path: sharedRootfs(), readonly: true };
  Object.assign(spec.process, { terminal: false, args });
  Object.assign(spec.linux, { cgroupsPath, resources });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(spec, null, 2));
  return dir;
}

/** NAME made in every hierarchy and chowned to the user, with `launch` beside in cgroup2; removed when the test ends. */
function delegate(t: TestContext, name: string): { subtrees: string[]; launchProcs?: string } {
  const hs = hierarchies();
  const subtrees = hs.map((h) => join(h.mountpoint, name));
  for (const [i, d] of subtrees.entries()) {
    mkdirSync(d);
    s.defer(t, () => {
      for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) rmdirSync(join(d, e.name));
      rmdirSync(d);
    });
    // A v1 cpuset starts empty: the admin gives it the parent's cpus and mems.
    for (const f of ['cpuset.cpus', 'cpuset.mems'])
      if (hs[i].version === 1 && existsSync(join(d, f)) && !readFileSync(join(d, f), 'utf8').trim()) writeFileSync(join(d, f), readFileSync(join(d, '..', f)));
    for (const f of ['', ...readdirSync(d)]) chownSync(join(d, f), u.uid, u.gid);
  }
  const v2 = hs.find((h) => h.version === 2);
  if (!v2) return { subtrees };
  const launch = join(v2.mountpoint, name, 'launch');
  mkdirSync(launch);
  chownSync(launch, u.uid, u.gid);
  return { subtrees, launchProcs: join(launch, 'cgroup.procs') };
}

/** The container's cgroup file for a controller: its v1 hierarchy's, or the unified one's. */
function cgroupFile(name: string, controller: string, file: string): string {
  const hs = hierarchies();
  const h = isUnified(hs) ? hs[0] : hs.find((x) => x.controllers.includes(controller));
  assert.ok(h, `a hierarchy with ${controller}`);
  return join(h.mountpoint, name, 'ctr', file);
}

test('a delegated cgroup subtree: limits, pause and resume, update, events, delete, as the user', (t) => {
  const name = `berth-rl-deleg-${process.pid}`;
  const { subtrees, launchProcs } = delegate(t, name);
  const as = { cgroupProcs: launchProcs };
  const v2 = isUnified(hierarchies());
  const dir = bundle(['sleep', '300'], `/${name}/ctr`, { memory: { limit: 64 << 20 }, pids: { limit: 64 } });
  const id = s.newId('cgrl');
  s.defer(t, () => void berth(['delete', '--force', id]));
  const r = berth(['run', '-d', '--bundle', dir, id], as);
  assert.equal(r.code, 0, show(r));
  const pid = JSON.parse(berth(['state', id]).stdout).pid;
  assert.equal(readFileSync(cgroupFile(name, 'pids', 'pids.max'), 'utf8').trim(), '64');
  assert.equal(readFileSync(cgroupFile(name, 'memory', v2 ? 'memory.max' : 'memory.limit_in_bytes'), 'utf8').trim(), String(64 << 20));
  const cg = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
  if (!v2) assert.match(cg, new RegExp(`:pids:/${name}/ctr$`, 'm'));
  if (launchProcs) assert.match(cg, new RegExp(`^0::/${name}/ctr$`, 'm'));

  assert.equal(berth(['pause', id]).code, 0);
  assert.equal(JSON.parse(berth(['state', id]).stdout).status, 'paused');
  assert.equal(berth(['resume', id]).code, 0);
  assert.equal(JSON.parse(berth(['state', id]).stdout).status, 'running');
  const up = berth(['update', '--pids-limit', '32', id]);
  assert.equal(up.code, 0, show(up));
  assert.equal(readFileSync(cgroupFile(name, 'pids', 'pids.max'), 'utf8').trim(), '32');
  const ev = berth(['events', '--stats', id]);
  assert.equal(ev.code, 0, show(ev));
  assert.equal(JSON.parse(ev.stdout).data.pids.limit, 32);
  const ps = JSON.parse(berth(['ps', '--format', 'json', id]).stdout);
  assert.deepEqual(ps, [pid]);
  assert.equal(berth(['delete', '--force', id]).code, 0);
  for (const d of subtrees) assert.equal(existsSync(join(d, 'ctr')), false, `${d}/ctr removed`);
});

test('nothing is left behind', () => {
  assert.deepEqual(leftovers(s), []);
  assert.deepEqual(u.processes(), []);
  const root = join(u.xdg, 'berth');
  assert.deepEqual(existsSync(root) ? readdirSync(root).filter((e) => !e.startsWith('@')) : [], []);
});

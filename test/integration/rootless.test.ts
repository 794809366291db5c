// berth run by an ordinary user (rootless, as runc): a test user made for this
// file (and removed with it) runs `berth spec --rootless` bundles and the whole
// lifecycle; its state is under $XDG_RUNTIME_DIR/berth; mappings beyond its own
// id go through newuidmap/newgidmap and its /etc/subuid range; without a cgroup it
// may write, a container runs without cgroups unless it asks for limits (a
// delegated cgroup subtree: cgroups-rootless.test.ts).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { sharedRootfs } from '../fixtures/bundle';
import { BERTH, RUNC, repoRoot } from '../fixtures/runtime';
import { makeTestUser, type TestUser } from '../fixtures/test-user';
import type { SpecObject } from '../../src/spec/defaults';
import { leftovers, Session, show, waitFor } from './helpers';

const s = new Session('rootless');
let u: TestUser;
before(() => {
  u = makeTestUser();
});
after(() => {
  u?.remove();
  s.close();
});

const berth = (args: string[], opts?: Parameters<TestUser['run']>[1]) => u.run([BERTH, ...args], opts);
/** A directory of the user's, removed with it (and known to the leftover checks). */
const userDir = (prefix: string) => {
  const d = u.dir(prefix);
  s.paths.push(d);
  return d;
};
const stateRoot = () => join(u.xdg, 'berth');

/** A bundle the user made with `berth spec --rootless`, pointed at the shared rootfs. */
function bundle(t: TestContext, args: string[], mutate?: (spec: SpecObject) => void): string {
  const dir = userDir('berth-itest-rl-bundle-');
  const r = berth(['spec', '--rootless'], { cwd: dir });
  assert.equal(r.code, 0, show(r));
  const spec = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  spec.root = { path: sharedRootfs(), readonly: true };
  spec.process.terminal = false;
  spec.process.args = args;
  mutate?.(spec);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(spec, null, 2));
  return dir;
}

function newId(t: TestContext): string {
  const id = s.newId('rl');
  s.defer(t, () => {
    if (existsSync(join(stateRoot(), id))) berth(['delete', '--force', id]);
  });
  return id;
}

/** The user's own id at 0 and its subordinate range from 1 (what rootless podman maps). */
function subordinate(spec: SpecObject): void {
  spec.linux.uidMappings = [{ containerID: 0, hostID: u.uid, size: 1 }, { containerID: 1, hostID: u.subBase, size: u.subSize }];
  spec.linux.gidMappings = [{ containerID: 0, hostID: u.gid, size: 1 }, { containerID: 1, hostID: u.subBase, size: u.subSize }];
}

test('spec --rootless and run as the user: its own id alone, written without a helper; no cgroups; the same as runc', (t) => {
  const script = 'cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups; id; echo ok > /dev/null';
  const dir = bundle(t, ['sh', '-c', script]);
  const spec = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  assert.deepEqual(spec.linux.uidMappings, [{ containerID: 0, hostID: u.uid, size: 1 }]);
  assert.deepEqual(spec.linux.gidMappings, [{ containerID: 0, hostID: u.gid, size: 1 }]);
  assert.ok(spec.linux.namespaces.some((n: { type: string }) => n.type === 'user'));
  assert.ok(!spec.linux.namespaces.some((n: { type: string }) => n.type === 'network'));
  assert.equal(spec.linux.resources, undefined);

  const r = berth(['run', '--bundle', dir, newId(t)]);
  assert.equal(r.code, 0, show(r));
  const lines = r.stdout.split('\n').map((l) => l.trim().split(/\s+/).join(' '));
  assert.deepEqual(lines.slice(0, 3), [`0 ${u.uid} 1`, `0 ${u.gid} 1`, 'deny']);
  assert.match(lines[3], /^uid=0\(root\) gid=0\(root\)/);
  // The state root is the user's, as runc's: $XDG_RUNTIME_DIR/berth, 0700 and sticky.
  const st = statSync(stateRoot());
  assert.deepEqual([st.uid, st.mode & 0o7777], [u.uid, 0o1700]);
  assert.deepEqual(readdirSync(stateRoot()).filter((e) => !e.startsWith('@')), []);

  const rc = u.run([RUNC, 'run', '--bundle', dir, newId(t)]);
  assert.equal(rc.code, 0, show(rc));
  assert.equal(rc.stdout.replace(/ groups=\S+/, ''), r.stdout.replace(/ groups=\S+/, ''));
});

test('subordinate ids through newuidmap and newgidmap: create, state, start, list, exec, ps, kill, delete, and hooks, as the user', (t) => {
  const hookOut = join(userDir('berth-itest-rl-hook-'), 'hook-state');
  const dir = bundle(t, ['sleep', '300'], (spec) => {
    subordinate(spec);
    spec.hooks = { createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', `id -u > ${hookOut}; cat >> ${hookOut}`] }] };
  });
  const id = newId(t);
  const c = berth(['create', '--bundle', dir, id]);
  assert.equal(c.code, 0, show(c));
  const state = JSON.parse(berth(['state', id]).stdout);
  assert.equal(state.status, 'created');
  const pid = state.pid as number;
  assert.deepEqual(readFileSync(`/proc/${pid}/uid_map`, 'utf8').trim().split('\n').map((l) => l.trim().split(/\s+/).join(' ')),
    [`0 ${u.uid} 1`, `1 ${u.subBase} ${u.subSize}`]);
  assert.equal(readFileSync(`/proc/${pid}/setgroups`, 'utf8').trim(), 'allow', 'newgidmap leaves setgroups allowed');
  // The hook ran as the user and got the state.
  const hook = readFileSync(hookOut, 'utf8');
  assert.equal(hook.split('\n')[0], String(u.uid));
  assert.equal(JSON.parse(hook.slice(hook.indexOf('\n') + 1)).id, id);

  assert.equal(berth(['start', id]).code, 0);
  const list = berth(['list']);
  assert.match(list.stdout, new RegExp(`^${id}\\s+${pid}\\s+running\\s+${dir}\\s+\\S+\\s+${u.name}$`, 'm'), list.stdout);
  // exec as container uid 1000: host uid subBase + 999; -d leaves it running.
  const e = berth(['exec', '-u', '1000:1000', id, 'sh', '-c', 'id -u; grep ^Uid: /proc/self/status']);
  assert.equal(e.code, 0, show(e));
  assert.match(e.stdout, /^1000\nUid:\s+1000\s/);
  assert.equal(berth(['exec', '-d', '-u', '1000:1000', id, 'sleep', '200']).code, 0);
  const ps = JSON.parse(berth(['ps', '--format', 'json', id]).stdout) as number[];
  assert.equal(ps.length, 2, `ps: ${ps}`);
  assert.ok(ps.includes(pid));
  const other = ps.find((p) => p !== pid)!;
  assert.match(readFileSync(`/proc/${other}/status`, 'utf8'), new RegExp(`^Uid:\\s+${u.subBase + 999}\\s`, 'm'));
  // kill --all reaches the exec'd process too.
  assert.equal(berth(['kill', '--all', id, 'KILL']).code, 0);
  assert.ok(await0(() => JSON.parse(berth(['state', id]).stdout).status === 'stopped'));
  assert.equal(berth(['delete', id]).code, 0);
  assert.equal(existsSync(join(stateRoot(), id)), false);
  assert.deepEqual(u.processes(), []);
});

// Synchronous wait: the CLI calls are synchronous anyway.
function await0(pred: () => boolean): boolean {
  for (let i = 0; i < 250; i++) {
    if (pred()) return true;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  }
  return pred();
}

test('a terminal: the pty master goes to the console socket, the slave is the process\'s terminal', async (t) => {
  const sockDir = userDir('berth-itest-rl-console-');
  const sock = join(sockDir, 'console.sock');
  const receiver = spawn('setpriv', ['--reuid', String(u.uid), '--regid', String(u.gid), '--clear-groups', '--',
    '/usr/bin/python3', join(repoRoot(), 'test/fixtures/console-receiver.py'), sock, '10'], { stdio: ['ignore', 'pipe', 'inherit'] });
  s.defer(t, () => receiver.kill());
  let out = '';
  receiver.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((res) => receiver.on('exit', () => res()));
  assert.ok(await waitFor(() => out.includes('ready')), 'the receiver listens');
  const dir = bundle(t, ['sh', '-c', 'tty; echo "in the terminal: $(ls -ln $(tty) | cut -c1-10)"'], (spec) => (spec.process.terminal = true));
  const id = newId(t);
  const c = berth(['create', '--bundle', dir, '--console-socket', sock, id]);
  assert.equal(c.code, 0, show(c));
  assert.equal(berth(['start', id]).code, 0);
  await exited;
  assert.match(out, /^name \/dev\/pts\/0$/m);
  assert.match(out, /^\/dev\/pts\/0\r?$/m);
  assert.match(out, /^in the terminal: crw--w----\r?$/m);
});

test('seccomp: Docker\'s default profile denies what it denies, to the user\'s container', (t) => {
  const seccomp = JSON.parse(readFileSync(join(repoRoot(), '../shared/oracle/engine-configs/docker-run-default-seccomp.json'), 'utf8')).linux.seccomp;
  const dir = bundle(t, ['sh', '-c', 'echo hello; unshare -U true; echo "unshare $?"; grep ^Seccomp: /proc/self/status'], (spec) => {
    spec.linux.seccomp = seccomp;
  });
  const r = berth(['run', '--bundle', dir, newId(t)]);
  assert.equal(r.code, 0, show(r));
  assert.match(r.stdout, /^hello\nunshare 1\nSeccomp:\s+2\n$/);
  assert.match(r.stderr, /Operation not permitted/);
});

test('without a cgroup the user can write: limits, or a cgroupsPath, fail create saying so; nothing is left', (t) => {
  const cases: [string, (spec: SpecObject) => void, RegExp][] = [
    ['memory', (spec) => (spec.linux.resources = { memory: { limit: 64 << 20 } }),
      /^berth: linux\.resources\.memory\.limit: cannot set this limit: berth runs without root privileges over cgroups \(rootless\) and cannot make or join the cgroup \/sys\/fs\/cgroup\/\S+ \(permission denied\); without root, limits need a cgroup delegated to the user\n$/],
    ['pids', (spec) => (spec.linux.resources = { pids: { limit: 10 } }), /^berth: linux\.resources\.pids\.limit: cannot set this limit: /],
    ['path', (spec) => (spec.linux.cgroupsPath = `/berth-rl-${process.pid}`), /^berth: linux\.cgroupsPath: berth runs without root privileges over cgroups \(rootless\) and cannot make or join the cgroup \S+ \(permission denied\); leave cgroupsPath out/],
  ];
  for (const [name, mutate, error] of cases) {
    const r = berth(['run', '--bundle', bundle(t, ['true'], mutate), newId(t)]);
    assert.notEqual(r.code, 0, name);
    assert.match(r.stderr, error, name);
  }
  // --rootless=false (runc's global flag): cgroup permission errors are errors again.
  const strict = berth(['--rootless=false', 'run', '--bundle', bundle(t, ['true']), newId(t)]);
  assert.match(strict.stderr, /^berth: creating cgroup \S+ \(linux\.cgroupsPath\): permission denied\n$/);
  // Device rules alone are no limit (runc ignores them without root, as berth).
  const d = berth(['run', '--bundle', bundle(t, ['sh', '-c', 'grep -c /rl- /proc/self/cgroup || true'], (spec) => (spec.linux.resources = { devices: [{ allow: false, access: 'rwm' }] })), newId(t)]);
  assert.equal(d.code, 0, show(d));
  assert.equal(d.stdout, '0\n', 'in no cgroup of its own');
  assert.deepEqual(readdirSync(stateRoot()).filter((e) => !e.startsWith('@')), []);
});

test('configs a user cannot have: no user namespace, ids outside its subordinate ranges, id-mapped mounts', (t) => {
  const nouserns = berth(['run', '--bundle', bundle(t, ['true'], (spec) => {
    spec.linux.namespaces = spec.linux.namespaces.filter((n: { type: string }) => n.type !== 'user');
    delete spec.linux.uidMappings;
    delete spec.linux.gidMappings;
  }), newId(t)]);
  assert.match(nouserns.stderr, /^berth: linux\.namespaces: berth runs without root \(rootless\) and the config has no user namespace/);
  const outside = berth(['run', '--bundle', bundle(t, ['true'], (spec) => {
    subordinate(spec);
    spec.linux.uidMappings[1].hostID = u.subBase + u.subSize;
  }), newId(t)]);
  assert.match(outside.stderr, /^berth: writing the id mappings \(linux\.uidMappings\): \/usr\/bin\/newuidmap failed: newuidmap: uid range \[1-65537\) -> \[\d+-\d+\) not allowed/);
  const idmap = berth(['run', '--bundle', bundle(t, ['true'], (spec) => spec.mounts.push({ destination: '/tmp', type: 'bind', source: '/tmp', options: ['rbind', 'idmap'] })), newId(t)]);
  assert.match(idmap.stderr, /^berth: mounts\[\d+\] \(\/tmp\): id-mapped mounts are not supported when berth runs without root \(rootless\)\n$/);
  assert.deepEqual(readdirSync(stateRoot()).filter((e) => !e.startsWith('@')), []);
  assert.deepEqual(u.processes(), []);
});

test('nothing is left behind: no state, processes, cgroups or mounts, and nothing of the user\'s outside its own directories', () => {
  assert.deepEqual(leftovers(s), []);
  assert.deepEqual(readdirSync(stateRoot()).filter((e) => !e.startsWith('@')), []);
  assert.deepEqual(u.processes(), []);
  const find = (require('node:child_process') as typeof import('node:child_process')).spawnSync('find', ['/tmp', '/var/tmp', '/dev/shm', '/run', '-xdev', '-uid', String(u.uid)], { encoding: 'utf8' });
  const stray = find.stdout.split('\n').filter((f) => f && !s.paths.some((p) => f === p || f.startsWith(p + '/')) && !f.startsWith(u.xdg));
  assert.deepEqual(stray, []);
});

// Rootless podman (what every podman user who is not root runs) driving bin/berth
// as a test user made for this file: podman runs conmon and berth as root of its
// own user namespace (the user's id and its /etc/subuid range), berth's state goes
// to the user's $XDG_RUNTIME_DIR/berth, and with cgroup v1 and no delegation the
// containers run without cgroups, as under runc. Storage is vfs in a private dir;
// the user, its processes (podman's pause process too) and the dir go at the end.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, type TestContext } from 'node:test';
import { makeTestUser, type TestUser } from '../fixtures/test-user';
import { berthLeftovers, busyboxImage, ENGINE_RUNTIME, ENGINE_RUNTIME_NAME, engineCase, requireEngine, sh } from './engine';
import { waitFor } from '../fixtures/wait';

const ENGINE = 'podman (rootless)';
const IMAGE = 'localhost/berth-busybox:latest';
const version = () => sh('podman', ['--version']).stdout.replace(/^podman version /, '').trim() || 'not installed';

let u: TestUser | undefined;
let dir = '';
after(() => u?.remove());

/** The test user with a loaded image, made by the first case; undefined when podman is missing (skipped). */
function user(t: TestContext): TestUser | undefined {
  if (!requireEngine(t, 'podman', 'conmon', 'newuidmap')) return undefined;
  if (u) return u;
  u = makeTestUser();
  dir = u.dir('berth-podman-rl-');
  for (const d of ['root', 'runroot', 'tmp', 'home']) podmanDir(d);
  writeFileSync(join(dir, 'containers.conf'), '[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n');
  writeFileSync(join(dir, 'storage.conf'), `[storage]\ndriver = "vfs"\nrunroot = "${join(dir, 'runroot')}"\ngraphroot = "${join(dir, 'root')}"\n`);
  const load = podman(['load', '-i', busyboxImage(IMAGE)]);
  assert.equal(load.code, 0, `podman load: ${load.stderr}`);
  return u;
}

function podmanDir(name: string): string {
  const d = join(dir, name);
  const r = u!.run(['mkdir', d]);
  assert.equal(r.code, 0, r.stderr);
  chmodSync(d, 0o700);
  return d;
}

function podman(args: string[]) {
  return u!.run(['podman', '--tmpdir', join(dir, 'tmp'), '--runtime', ENGINE_RUNTIME, ...args], {
    env: { HOME: join(dir, 'home'), CONTAINERS_CONF: join(dir, 'containers.conf'), CONTAINERS_STORAGE_CONF: join(dir, 'storage.conf') },
    cwd: dir,
    timeoutMs: 120_000,
  });
}

function ok(args: string[]): string {
  const r = podman(args);
  assert.equal(r.code, 0, `podman ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}


/** Nothing of the container is left: berth's state in the user's root, cgroups, mounts, processes. */
async function assertGone(id: string): Promise<void> {
  const root = join(u!.xdg, ENGINE_RUNTIME_NAME);
  await waitFor(() => berthLeftovers(root, id).length === 0);
  assert.deepEqual(berthLeftovers(root, id), []);
}

const norm = (map: string) => map.trim().split('\n').map((l) => l.trim().split(/\s+/).join(' '));

engineCase(ENGINE, version, 'run --rm: the user\'s id and subuid range mapped, output and exit code reach podman; berth\'s state in $XDG_RUNTIME_DIR', async (t) => {
  const usr = user(t);
  if (!usr) return;
  const cid = join(dir, 'tmp', 'cid');
  const r = podman(['run', '--rm', '--cidfile', cid, '--network', 'none', IMAGE, 'sh', '-c', 'id -u; cat /proc/self/uid_map; exit 3']);
  assert.equal(r.code, 3, r.stderr);
  const [uid, ...map] = r.stdout.trim().split('\n');
  assert.equal(uid, '0');
  // podman's own namespace: the user at 0, its range after.
  assert.deepEqual(norm(map.join('\n')), [`0 ${usr.uid} 1`, `1 ${usr.subBase} ${usr.subSize}`]);
  // berth ran there: its state root is the user's, now empty of containers.
  assert.ok(existsSync(join(usr.xdg, ENGINE_RUNTIME_NAME)), 'berth\'s state root under $XDG_RUNTIME_DIR');
  await assertGone(usr.run(['cat', cid]).stdout.trim());
});

engineCase(ENGINE, version, 'run -d, exec (output, exit code), top, stop (TERM reaches PID 1), rm', async (t) => {
  if (!user(t)) return;
  const id = ok(['run', '-d', '--network', 'none', IMAGE, 'sh', '-c', 'trap "echo got TERM; exit 0" TERM; while :; do sleep 0.1; done']).trim();
  t.after(() => void podman(['rm', '-f', '-t', '0', id]));
  assert.match(id, /^[0-9a-f]{64}$/);
  assert.ok(existsSync(join(u!.xdg, ENGINE_RUNTIME_NAME, id)), 'the container\'s state is in the user\'s berth root');
  assert.equal(ok(['exec', id, 'sh', '-c', 'echo from exec; id -u']), 'from exec\n0\n');
  assert.equal(podman(['exec', id, 'sh', '-c', 'exit 7']).code, 7);
  assert.match(ok(['top', id]), /sh -c trap/);
  ok(['stop', '-t', '10', id]);
  assert.match(ok(['logs', id]), /got TERM/);
  assert.match(ok(['inspect', '--format', '{{.State.ExitCode}}', id]), /^0$/m);
  ok(['rm', id]);
  await assertGone(id);
});

engineCase(ENGINE, version, 'teardown: no container state left, the user\'s processes and storage removed', async (t) => {
  if (!user(t)) return;
  assert.deepEqual(readdirSync(join(u!.xdg, ENGINE_RUNTIME_NAME)).filter((e) => !e.startsWith('@')), []);
  // podman's pause process holds its user namespace; nothing else of the user's runs.
  assert.deepEqual(u!.processes().filter((p) => !/catatonit|podman pause/.test(p)), []);
  // podman's own lock file for the user (its shm lock manager) goes with the user;
  // nothing else of the user's is outside its directories.
  const uid = u!.uid;
  rmSync(`/dev/shm/libpod_rootless_lock_${uid}`, { force: true });
  const find = sh('find', ['/tmp', '/var/tmp', '/dev/shm', '/run', '-xdev', '-uid', String(uid), '-prune']);
  const stray = find.stdout.split('\n').filter((f) => f && !f.startsWith(dir) && !f.startsWith(u!.xdg));
  u!.remove();
  u = undefined;
  assert.deepEqual(stray, []);
});

// --systemd-cgroup without root (runc's systemdUser): berth run by an ordinary
// user asks that user's own systemd (user@UID.service, on the user's session
// bus) for the container's unit. The systemd lane runs this file: a test user
// gets a running user manager (loginctl enable-linger; undone, and the user
// removed, at the end). Elsewhere (no systemd) it is skipped, saying so; inside
// the lane (BERTH_SYSTEMD_LANE=1) a missing systemd fails.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { busyboxImage } from '../engines/engine';
import { sharedRootfs } from '../fixtures/bundle';
import { BERTH } from '../fixtures/runtime';
import { makeTestUser, type TestUser } from '../fixtures/test-user';

const lane = process.env.BERTH_SYSTEMD_LANE === '1';
const skip = !existsSync('/run/systemd/system') && !lane ? 'systemd is not running here: this file runs in the systemd lane (npm run test:systemd)' : false;
const IMAGE = 'localhost/berth-busybox:latest';
const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

function waitFor(what: string, cond: () => boolean): void {
  for (let i = 0; i < 3000; i++) {
    if (cond()) return;
    sleep(20);
  }
  assert.fail(`waiting for ${what}: not within 60 s`);
}

function sh(argv: string[]): string {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  assert.equal(r.status, 0, `${argv.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

describe('--systemd-cgroup without root: the user\'s own systemd', { skip }, () => {
  let u: TestUser;
  let env: NodeJS.ProcessEnv;
  const run = (argv: string[]) => u.run(argv, { env });
  const berth = (...args: string[]) => run([BERTH, ...args]);
  const userShow = (unit: string, props: string[]) => {
    const r = run(['systemctl', '--user', 'show', unit, '--no-pager', '-p', props.join(',')]);
    assert.equal(r.code, 0, r.stderr);
    return Object.fromEntries(r.stdout.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  };

  before(() => {
    u = makeTestUser();
    const xdg = `/run/user/${u.uid}`;
    env = { XDG_RUNTIME_DIR: xdg, HOME: u.xdg, DBUS_SESSION_BUS_ADDRESS: `unix:path=${xdg}/bus` };
    sh(['loginctl', 'enable-linger', u.name]);
    waitFor(`user@${u.uid}.service and its session bus`, () =>
      spawnSync('systemctl', ['is-active', '--quiet', `user@${u.uid}.service`]).status === 0 && existsSync(`${xdg}/bus`));
  });
  after(() => {
    if (!u) return;
    spawnSync('loginctl', ['disable-linger', u.name]);
    spawnSync('loginctl', ['terminate-user', u.name]);
    for (let i = 0; i < 1500 && spawnSync('systemctl', ['is-active', '--quiet', `user@${u.uid}.service`]).status === 0; i++) sleep(20);
    u.remove();
  });

  test('a scope in the user manager\'s user.slice: limits in systemctl --user show and in the files; update, pause/resume; delete leaves no unit', () => {
    const id = `sdu${process.pid}`;
    const unit = `berth-${id}.scope`;
    const dir = u.dir('berth-sdu-bundle-');
    assert.equal(run([BERTH, 'spec', '--rootless', '--bundle', dir]).code, 0);
    const spec = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    spec.root = { path: sharedRootfs(), readonly: true };
    spec.process.terminal = false;
    spec.process.args = ['sleep', '1000'];
    // the controllers user@.service delegates: memory, pids (and cpu)
    spec.linux.resources = { memory: { limit: 64 << 20 }, pids: { limit: 42 } };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(spec));
    const cg = `/user.slice/user-${u.uid}.slice/user@${u.uid}.service/user.slice/${unit}`;
    try {
      const f = JSON.parse(berth('features').stdout);
      assert.equal(f.linux.cgroup.systemdUser, true);

      const c = berth('--systemd-cgroup', 'run', '-d', '--bundle', dir, id);
      assert.equal(c.code, 0, c.stderr);
      const { pid } = JSON.parse(berth('state', id).stdout);
      assert.equal(readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim(), `0::${cg}`);
      assert.deepEqual(userShow(unit, ['ActiveState', 'Slice', 'Delegate', 'MemoryMax', 'TasksMax', 'ControlGroup']), {
        ActiveState: 'active', Slice: 'user.slice', Delegate: 'yes', MemoryMax: String(64 << 20), TasksMax: '42', ControlGroup: cg,
      });
      const file = (name: string) => readFileSync(join('/sys/fs/cgroup', cg, name), 'utf8').trim();
      assert.deepEqual([file('memory.max'), file('pids.max')], [String(64 << 20), '42']);

      const up = berth('update', '--memory', '128m', '--pids-limit', '50', id);
      assert.equal(up.code, 0, up.stderr);
      assert.deepEqual(userShow(unit, ['MemoryMax', 'TasksMax']), { MemoryMax: String(128 << 20), TasksMax: '50' });
      assert.deepEqual([file('memory.max'), file('pids.max')], [String(128 << 20), '50']);

      assert.equal(berth('pause', id).code, 0);
      assert.equal(JSON.parse(berth('state', id).stdout).status, 'paused');
      assert.equal(berth('resume', id).code, 0);
      assert.equal(JSON.parse(berth('state', id).stdout).status, 'running');

      const d = berth('delete', '--force', id);
      assert.equal(d.code, 0, d.stderr);
      assert.equal(userShow(unit, ['LoadState']).LoadState, 'not-found');
      assert.ok(!existsSync(join('/sys/fs/cgroup', cg)), `${cg} is left`);
      assert.ok(!existsSync(join(env.XDG_RUNTIME_DIR!, 'berth', id)), 'the state is left');
    } finally {
      berth('delete', '--force', id);
    }
  });

  test('rootless podman in its default cgroup manager (systemd): run --rm in the user manager\'s libpod-ID.scope; run -d --memory (the unit has it), exec, rm', () => {
    const dir = u.dir('berth-sdu-podman-');
    const sub = (name: string) => {
      const d = join(dir, name);
      assert.equal(run(['mkdir', '-m', '700', d]).code, 0);
      return d;
    };
    const [root, runroot, tmp, home] = ['root', 'runroot', 'tmp', 'home'].map(sub);
    writeFileSync(join(dir, 'containers.conf'), '[engine]\nevents_logger = "file"\n');
    writeFileSync(join(dir, 'storage.conf'), `[storage]\ndriver = "vfs"\nrunroot = "${runroot}"\ngraphroot = "${root}"\n`);
    const podman = (args: string[]) => {
      const r = u.run(['podman', '--tmpdir', tmp, '--runtime', BERTH, ...args], {
        env: { ...env, HOME: home, CONTAINERS_CONF: join(dir, 'containers.conf'), CONTAINERS_STORAGE_CONF: join(dir, 'storage.conf') },
        cwd: dir,
        timeoutMs: 180_000,
      });
      assert.equal(r.code, 0, `podman ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
      return r.stdout.trim();
    };
    assert.equal(podman(['info', '--format', '{{.Host.CgroupManager}} {{.Host.CgroupsVersion}}']), 'systemd v2');
    podman(['load', '-i', busyboxImage(IMAGE)]);
    const scope = `/user.slice/user-${u.uid}.slice/user@${u.uid}.service/user.slice/libpod-`;
    const cgroup = podman(['run', '--rm', '--network', 'none', '--cgroupns', 'host', IMAGE, 'cat', '/proc/self/cgroup']);
    assert.ok(cgroup.startsWith(`0::${scope}`) && cgroup.endsWith('.scope'), cgroup);
    const id = podman(['run', '-d', '--network', 'none', '--memory', '64m', IMAGE, 'sleep', '1000']);
    try {
      assert.equal(userShow(`libpod-${id}.scope`, ['MemoryMax']).MemoryMax, String(64 << 20));
      assert.equal(podman(['exec', id, 'sh', '-c', 'echo exec ok']), 'exec ok');
    } finally {
      podman(['rm', '-f', '-t', '0', id]);
    }
    assert.equal(userShow(`libpod-${id}.scope`, ['LoadState']).LoadState, 'not-found');
  });
});

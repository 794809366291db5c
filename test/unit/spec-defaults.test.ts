import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { defaultSpec, formatSpec, type SpecObject } from '../../src/spec/defaults';
import { RUNC, requireTool } from '../fixtures/runtime';

const nsTypes = (s: SpecObject) => (s.linux.namespaces as { type: string }[]).map((n) => n.type);
const mount = (s: SpecObject, dest: string) => (s.mounts as SpecObject[]).find((m) => m.destination === dest);

test('default spec: process, root and hostname', () => {
  const s = defaultSpec({ rootless: false, cgroupns: true });
  assert.equal(s.ociVersion, '1.3.0');
  assert.equal(s.hostname, 'berth');
  assert.deepEqual(s.root, { path: 'rootfs', readonly: true });
  assert.equal(s.process.terminal, true);
  assert.deepEqual(s.process.user, { uid: 0, gid: 0 });
  assert.deepEqual(s.process.args, ['sh']);
  assert.equal(s.process.cwd, '/');
  assert.ok(s.process.env.some((e: string) => e.startsWith('PATH=')));
  assert.ok(s.process.env.includes('TERM=xterm'));
  assert.equal(s.process.noNewPrivileges, true);
  const caps = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];
  assert.deepEqual(s.process.capabilities, { bounding: caps, effective: caps, permitted: caps });
  assert.deepEqual(s.process.rlimits, [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }]);
});

test('default spec: mounts, namespaces, devices, masked and read-only paths', () => {
  const s = defaultSpec({ rootless: false, cgroupns: true });
  assert.deepEqual(
    (s.mounts as SpecObject[]).map((m) => `${m.destination} ${m.type}`),
    ['/proc proc', '/dev tmpfs', '/dev/pts devpts', '/dev/shm tmpfs', '/dev/mqueue mqueue', '/sys sysfs', '/sys/fs/cgroup cgroup'],
  );
  assert.ok(mount(s, '/sys')!.options.includes('ro'));
  assert.ok(mount(s, '/sys/fs/cgroup')!.options.includes('ro'));
  assert.ok(mount(s, '/dev/pts')!.options.includes('gid=5'));
  assert.deepEqual(nsTypes(s), ['pid', 'network', 'ipc', 'uts', 'mount', 'cgroup']);
  assert.deepEqual(s.linux.resources, { devices: [{ allow: false, access: 'rwm' }] });
  assert.ok(s.linux.maskedPaths.includes('/proc/kcore'));
  assert.ok(s.linux.maskedPaths.includes('/sys/firmware'));
  assert.ok(s.linux.readonlyPaths.includes('/proc/sys'));
  assert.equal(s.linux.uidMappings, undefined);
});

test('cgroup namespace only when asked (or on a cgroup v2 host)', () => {
  assert.deepEqual(nsTypes(defaultSpec({ rootless: false, cgroupns: false })), ['pid', 'network', 'ipc', 'uts', 'mount']);
});

test('args are used and copied', () => {
  const args = ['echo', 'hi'];
  const s = defaultSpec({ rootless: false, args });
  assert.deepEqual(s.process.args, args);
  assert.notEqual(s.process.args, args);
});

test('each call returns a fresh object', () => {
  const a = defaultSpec({ rootless: false });
  a.process.capabilities.bounding.push('CAP_SYS_ADMIN');
  a.mounts.pop();
  const b = defaultSpec({ rootless: false });
  assert.equal(b.process.capabilities.bounding.length, 3);
  assert.equal(b.mounts.length, 7);
});

test('rootless spec: user namespace mapping the current user, no netns, /sys bound, no resources', () => {
  const s = defaultSpec({ rootless: true, cgroupns: true });
  assert.deepEqual(nsTypes(s), ['pid', 'ipc', 'uts', 'mount', 'cgroup', 'user']);
  assert.deepEqual(s.linux.uidMappings, [{ containerID: 0, hostID: process.geteuid!(), size: 1 }]);
  assert.deepEqual(s.linux.gidMappings, [{ containerID: 0, hostID: process.getegid!(), size: 1 }]);
  assert.equal(process.getuid!(), process.geteuid!());
  assert.deepEqual(mount(s, '/sys'), {
    destination: '/sys',
    type: 'none',
    source: '/sys',
    options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'],
  });
  assert.ok(!mount(s, '/dev/pts')!.options.some((o: string) => o.startsWith('gid=') || o.startsWith('uid=')));
  assert.equal(s.linux.resources, undefined);
  assert.ok(s.linux.maskedPaths.length > 0);
  assert.deepEqual(Object.keys(s.linux), ['uidMappings', 'gidMappings', 'namespaces', 'maskedPaths', 'readonlyPaths']);
});

// The content must match what runc writes, apart from what we choose to differ
// in. Older runc (1.1) also fills the ambient set and never adds a cgroup
// namespace, so those are left out of the comparison.
for (const rootless of [false, true]) {
  test(`same content as runc spec${rootless ? ' --rootless' : ''}`, (t) => {
    if (!requireTool(RUNC, t)) return;
    const dir = mkdtempSync('/tmp/berth-test-');
    try {
      const r = spawnSync(RUNC, ['spec', ...(rootless ? ['--rootless'] : [])], { cwd: dir, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const theirs = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
      const ours = defaultSpec({ rootless, cgroupns: false });
      for (const s of [theirs, ours]) {
        delete s.ociVersion;
        delete s.hostname;
        delete s.process.capabilities.ambient;
        s.linux.namespaces = s.linux.namespaces.filter((n: { type: string }) => n.type !== 'cgroup');
      }
      assert.deepEqual(ours, theirs);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('formatSpec writes tab-indented JSON', () => {
  const text = formatSpec(defaultSpec({ rootless: false }));
  assert.ok(text.startsWith('{\n\t"ociVersion": "1.3.0",\n\t"process": {'));
  assert.deepEqual(JSON.parse(text), defaultSpec({ rootless: false }));
});

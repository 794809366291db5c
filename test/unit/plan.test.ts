// config.json -> plan (src/plan/build.ts) and the message berth-init reads
// (src/plan/message.ts, decoded by addon/berth-init/plan.cc).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import { after, describe, test } from 'node:test';
import type { Hierarchy } from '../../src/cgroups/hierarchies';
import { berthInitPath } from '../../src/native/addon';
import { buildPlan } from '../../src/plan/build';
import * as K from '../../src/plan/generated';
import { decodeItems, encodePlan } from '../../src/plan/message';
import { CLONE, MS } from '../../src/plan/tables';
import { defaultSpec, type SpecObject } from '../../src/spec/defaults';
import type { Spec } from '../../src/spec/types';
import { GUARD_MS } from '../fixtures/wait';

const HYBRID: Hierarchy[] = [
  { version: 1, mountpoint: '/sys/fs/cgroup/cpu', mountRoot: '/', controllers: ['cpu'], own: '/' },
  { version: 1, mountpoint: '/sys/fs/cgroup/memory', mountRoot: '/', controllers: ['memory'], own: '/' },
  { version: 1, mountpoint: '/sys/fs/cgroup/systemd', mountRoot: '/', controllers: ['name=systemd'], own: '/' },
  { version: 2, mountpoint: '/sys/fs/cgroup/unified', mountRoot: '/', controllers: [], own: '/' },
];
const UNIFIED: Hierarchy[] = [{ version: 2, mountpoint: '/sys/fs/cgroup', mountRoot: '/', controllers: [], own: '/' }];

// An empty rootfs: nothing a (corrupted) plan does can reach the host's tree.
const ROOTFS = mkdtempSync('/tmp/berth-plan-rootfs-');
after(() => rmSync(ROOTFS, { recursive: true, force: true }));

function plan(mutate: (s: SpecObject) => void = () => {}, hierarchies = HYBRID, noPivot = false) {
  const s = defaultSpec({ rootless: false, cgroupns: false, args: ['true'] });
  s.process.terminal = false;
  s.root = { path: ROOTFS, readonly: true };
  mutate(s);
  return buildPlan(s as Spec, { bundle: '/b', execFifo: '/run/x/exec.fifo', preserveFds: 0, noPivot, hierarchies });
}

describe('plan from config', () => {
  test('namespaces without a path are created, with a path joined', () => {
    const p = plan((s) => s.linux.namespaces.push({ type: 'user' }, { type: 'time' }) && (s.linux.uidMappings = s.linux.gidMappings = [{ containerID: 0, hostID: 1000, size: 10 }]));
    assert.equal(p.cloneFlags, CLONE.pid | CLONE.network | CLONE.ipc | CLONE.uts | CLONE.mount | CLONE.user | CLONE.time);
    assert.equal(p.uidMap, '0 1000 10\n');
    const q = plan((s) => (s.linux.namespaces[1] = { type: 'network', path: '/run/netns/x' }));
    assert.equal(q.cloneFlags & CLONE.network, 0);
    assert.deepEqual(q.joins, [{ type: CLONE.network, path: '/run/netns/x', field: 'linux.namespaces[1].path' }]);
  });

  test('fields that cannot be applied fail by name', () => {
    assert.throws(() => plan((s) => s.linux.namespaces.push({ type: 'pid' })), /linux\.namespaces\[5\]: namespace type pid is given twice/);
    assert.throws(() => plan((s) => (s.linux.namespaces = s.linux.namespaces.filter((n: { type: string }) => n.type !== 'uts'))), /^Error: hostname|hostname: setting a hostname needs a uts namespace/);
    assert.throws(() => plan((s) => s.linux.namespaces.push({ type: 'user' })), /linux\.uidMappings/);
    assert.throws(() => plan((s) => (s.linux.sysctl = { 'net.ipv4.ip_forward': '1' }) && (s.linux.namespaces = s.linux.namespaces.filter((n: { type: string }) => n.type !== 'network'))), /linux\.sysctl\["net\.ipv4\.ip_forward"\]: this sysctl needs a network namespace/);
    assert.throws(() => plan((s) => (s.process.cwd = 'relative')), /process\.cwd/);
    assert.throws(() => plan((s) => (s.linux.namespaces = [])), /needs a mount namespace/);
  });

  test('mount options become flags, propagation and data, in config order', () => {
    const p = plan((s) => s.mounts.push({ destination: '/data', type: 'bind', source: 'vol', options: ['rbind', 'ro', 'nosuid', 'rslave'] }));
    const dev = p.mounts.find((m) => m.destination === '/dev')!;
    assert.equal(dev.type, 'tmpfs');
    assert.equal(dev.flags, MS.NOSUID | MS.STRICTATIME);
    assert.equal(dev.data, 'mode=755,size=65536k');
    const data = p.mounts.at(-1)!;
    assert.equal(data.source, '/b/vol', 'a relative bind source is relative to the bundle');
    assert.equal(data.extra, K.MOUNT_BIND);
    assert.equal(data.flags, MS.BIND | MS.REC | MS.RDONLY | MS.NOSUID);
    assert.equal(data.propagation, MS.SLAVE | MS.REC);
    assert.deepEqual(p.mounts.map((m) => m.destination).slice(0, 3), ['/proc', '/dev', '/dev/pts']);
  });

  test('rootfsPropagation: all eight forms, as runc maps them (the plain ones not recursive); [r]private refused with --no-pivot', () => {
    const prop = (v: string | undefined, noPivot = false) => plan((s) => (s.linux.rootfsPropagation = v), HYBRID, noPivot).rootfs.propagation;
    assert.equal(prop(undefined), 0, 'none asked: berth-init uses rslave, as runc');
    assert.equal(prop('slave'), MS.SLAVE);
    assert.equal(prop('rslave'), MS.SLAVE | MS.REC);
    assert.equal(prop('shared'), MS.SHARED);
    assert.equal(prop('rshared'), MS.SHARED | MS.REC);
    assert.equal(prop('private'), MS.PRIVATE);
    assert.equal(prop('rprivate'), MS.PRIVATE | MS.REC);
    assert.equal(prop('unbindable'), MS.UNBINDABLE);
    assert.equal(prop('runbindable'), MS.UNBINDABLE | MS.REC);
    assert.equal(prop('rslave', true), MS.SLAVE | MS.REC);
    assert.throws(() => prop('private', true), /linux\.rootfsPropagation: private is not safe without pivot_root/);
    assert.throws(() => prop('rprivate', true), /linux\.rootfsPropagation: rprivate is not safe without pivot_root/);
  });

  test('a read-only tmpfs or /dev is mounted writable and made read-only at the end (runc\'s finalizeRootfs); other mounts keep ro', () => {
    const p = plan((s) => {
      s.mounts.find((m: { destination: string }) => m.destination === '/dev').options.push('ro');
      s.mounts.push(
        { destination: '/run', type: 'tmpfs', source: 'tmpfs', options: ['ro', 'nosuid'] },
        { destination: '/data', type: 'bind', source: 'vol', options: ['rbind', 'ro'] },
        { destination: '/run', type: 'tmpfs', source: 'tmpfs', options: ['remount', 'ro'] },
      );
    });
    const of = (dest: string) => p.mounts.filter((m) => m.destination === dest).map((m) => [m.flags, m.extra]);
    assert.deepEqual(of('/dev'), [[MS.NOSUID | MS.STRICTATIME, K.MOUNT_READONLY_LATE]]);
    assert.deepEqual(of('/run'), [[MS.NOSUID, K.MOUNT_READONLY_LATE], [MS.RDONLY, K.MOUNT_REMOUNT]]);
    assert.deepEqual(of('/data'), [[MS.BIND | MS.REC | MS.RDONLY, K.MOUNT_BIND]]);
    assert.deepEqual(of('/proc'), [[0, 0]]);
  });

  test('a cgroup mount is one cgroup2 on unified hosts, a tmpfs of hierarchies on hybrid ones', () => {
    const u = plan(() => {}, UNIFIED).mounts.filter((m) => m.destination.startsWith('/sys/fs/cgroup'));
    assert.deepEqual(u.map((m) => [m.destination, m.type]), [['/sys/fs/cgroup', 'cgroup2']]);
    const h = plan().mounts.filter((m) => m.destination.startsWith('/sys/fs/cgroup'));
    assert.deepEqual(h.map((m) => [m.destination, m.type, m.data]), [
      ['/sys/fs/cgroup', 'tmpfs', 'mode=755'],
      ['/sys/fs/cgroup/cpu', 'cgroup', 'cpu'],
      ['/sys/fs/cgroup/memory', 'cgroup', 'memory'],
      ['/sys/fs/cgroup/systemd', 'cgroup', 'name=systemd'],
      ['/sys/fs/cgroup/unified', 'cgroup2', ''],
      ['/sys/fs/cgroup', 'tmpfs', 'mode=755'],
    ]);
    assert.equal(h[0].flags & MS.RDONLY, 0, 'the tmpfs is filled while writable');
    assert.equal(h.at(-1)!.extra, K.MOUNT_REMOUNT, 'then remounted read-only');
  });

  test('default devices, replaced by config devices of the same path', () => {
    const p = plan((s) => (s.linux.devices = [{ path: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 0o600, uid: 5 }, { path: '/dev/fuse', type: 'c', major: 10, minor: 229 }]));
    assert.deepEqual(p.devices.map((d) => d.path), ['/dev/null', '/dev/zero', '/dev/full', '/dev/random', '/dev/urandom', '/dev/tty', '/dev/fuse']);
    assert.equal(p.devices[0].mode, 0o600);
    assert.equal(p.devices[0].uid, 5);
    assert.ok(p.symlinks.some((s) => s.path === '/dev/ptmx' && s.target === 'pts/ptmx'));
  });

  test('capabilities become bit sets; unknown names are ignored', () => {
    const p = plan((s) => (s.process.capabilities = { bounding: ['CAP_KILL', 'CAP_SYS_ADMIN', 'CAP_NOPE'], effective: ['CAP_KILL'] }));
    assert.equal(p.caps!.bounding, (1n << 5n) | (1n << 21n));
    assert.equal(p.caps!.effective, 1n << 5n);
    assert.equal(p.caps!.ambient, 0n);
  });

  test('ambient capabilities that are not also permitted and inheritable are left out (runc spec lists them so)', () => {
    const p = plan((s) => (s.process.capabilities = { permitted: ['CAP_KILL', 'CAP_CHOWN'], inheritable: ['CAP_KILL'], ambient: ['CAP_KILL', 'CAP_CHOWN'] }));
    assert.equal(p.caps!.ambient, 1n << 5n);
  });

  test('rlimits: 2^64-1 (unlimited) survives JSON number rounding', () => {
    const p = plan((s) => (s.process.rlimits = [{ type: 'RLIMIT_CORE', soft: 18446744073709551615, hard: 18446744073709551615 }]));
    assert.equal(p.rlimits[0].soft, 0xffffffffffffffffn);
    assert.equal(p.rlimits[0].resource, 4);
  });
});

describe('plan message', () => {
  test('has a versioned, length-checked header and typed items', () => {
    const msg = encodePlan(plan());
    assert.equal(msg.toString('latin1', 0, 4), 'BRTP');
    assert.equal(msg.readUInt32LE(4), K.PLAN_VERSION);
    assert.equal(msg.readUInt32LE(8), msg.length);
    // First record: NS_CLONE with one u64 item.
    assert.equal(msg.readUInt16LE(16), K.REC_NS_CLONE);
    assert.equal(msg.readUInt32LE(20), 9);
    assert.deepEqual(decodeItems(msg.subarray(24, 33)), [BigInt(plan().cloneFlags)]);
  });

  test('the seccomp filter travels as raw bytes, NUL included', () => {
    const p = plan((s) => (s.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] }));
    const msg = encodePlan(p);
    const at = findRecord(msg, K.REC_SECCOMP);
    const items = decodeItems(msg.subarray(at + 8, at + 8 + msg.readUInt32LE(at + 4)));
    assert.ok(Buffer.isBuffer(items[0]) && (items[0] as Buffer).equals(p.seccomp!.bpf));
    assert.ok(p.seccomp!.bpf.includes(0));
    assert.deepEqual(items.slice(1, 3), [0n, 0n]); // flags, listener (then when: SECCOMP_BEFORE_*)
  });

  test('strings with a NUL byte are refused', () => {
    assert.throws(() => encodePlan(plan((s) => (s.process.args = ['a\0b']))), /NUL/);
  });

  // berth-init must answer any malformed message with an error, never a crash or a
  // hang: feed it truncations and byte flips of a real plan.
  test('berth-init rejects corrupted plans with an error message', async () => {
    const good = encodePlan(plan());
    const cases: Buffer[] = [Buffer.from('BRTP'), Buffer.alloc(16), good.subarray(0, good.length - 3)];
    let seed = 42;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
    for (let i = 0; i < 60; i++) {
      const b = Buffer.from(good);
      // Corrupt the header or a record header (lengths, types, item kinds).
      for (let k = 0; k < 1 + rnd(3); k++) b[rnd(Math.min(b.length, 200))] ^= 1 << rnd(8);
      if (b.readUInt32LE(8) === b.length && b.equals(good)) continue;
      b.writeUInt32LE(b.length, 8);
      cases.push(b);
    }
    // A plan with a seccomp filter (raw bytes, kind 3): corrupt its record header
    // and item headers, which sit right before the filter bytes.
    const sec = encodePlan(plan((s) => (s.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] })));
    const at = findRecord(sec, K.REC_SECCOMP);
    assert.ok(at > 0);
    for (let i = 0; i < 30; i++) {
      const b = Buffer.from(sec);
      b[at + rnd(8 + 5 + 4)] ^= 1 << rnd(8);
      cases.push(b);
    }
    cases.push(sec.subarray(0, sec.length - 10));
    {
      for (const msg of cases) {
        const r = await feed(msg);
        // Either it refused the plan, or the corruption was harmless and it went on
        // to an error of a later step (we give it no real rootfs), but never a signal.
        assert.equal(r.signal, null, `berth-init died of ${r.signal}`);
        assert.notEqual(r.code, 0);
      }
    }
  });
});

/** The offset of the first record of a type in a plan message. */
function findRecord(msg: Buffer, type: number): number {
  let p = 16;
  for (let i = 0; i < msg.readUInt32LE(12); i++) {
    if (msg.readUInt16LE(p) === type) return p;
    p += 8 + msg.readUInt32LE(p + 4);
  }
  return -1;
}

function feed(msg: Buffer): Promise<{ code: number | null; signal: NodeJS.Signals | null; reply: Buffer }> {
  return new Promise((resolve) => {
    const child = spawn(berthInitPath(), ['create', '3', String(process.pid)], { stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
    const sock = child.stdio[3] as unknown as Socket;
    const chunks: Buffer[] = [];
    sock.on('data', (d: Buffer) => chunks.push(d));
    sock.on('error', () => {});
    sock.end(msg);
    // A guard against a hang (which the test would then report as a SIGKILL).
    const t = setTimeout(() => child.kill('SIGKILL'), GUARD_MS);
    child.on('exit', (code, signal) => {
      clearTimeout(t);
      resolve({ code, signal, reply: Buffer.concat(chunks) });
    });
  });
}

// berth-init's side of the plan: the decoder (the only reader of the message) and
// its steps, run by build/Release/berth-init-test against a fake of their system
// calls (test/unit/berth-init/fake_sys.cc), which prints each call. No root needed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { Hierarchy } from '../../src/cgroups/hierarchies';
import { bindOwnCgroups, buildPlan } from '../../src/plan/build';
import * as K from '../../src/plan/generated';
import { encodePlan, planMessage } from '../../src/plan/message';
import { defaultSpec, type SpecObject } from '../../src/spec/defaults';
import type { Spec } from '../../src/spec/types';
import { repoRoot } from '../fixtures/runtime';

const BIN = join(repoRoot(), 'build/Release/berth-init-test');
// The rootfs must exist for buildPlan; the fake never touches it.
const R = mkdtempSync('/tmp/berth-init-test-');
after(() => rmSync(R, { recursive: true, force: true }));
const UNIFIED: Hierarchy[] = [{ version: 2, mountpoint: '/sys/fs/cgroup', mountRoot: '/', controllers: [], own: '/' }];

function plan(mutate: (s: SpecObject) => void = () => {}) {
  const s = defaultSpec({ rootless: false, cgroupns: true, args: ['true'] });
  s.process.terminal = false;
  s.root = { path: R, readonly: false };
  mutate(s);
  return buildPlan(s as Spec, { bundle: '/b', execFifo: '/run/x/exec.fifo', preserveFds: 0, noPivot: false, hierarchies: UNIFIED });
}

/** Runs a step on a plan message: its stdout lines (the calls made), exit status, stderr. */
function run(step: string, msg: Buffer) {
  const r = spawnSync(BIN, [step], { input: msg, encoding: 'latin1' });
  assert.equal(r.error, undefined, `${BIN}: ${r.error} (scripts/build.mjs builds it)`);
  return { calls: r.stdout.split('\n').filter(Boolean), status: r.status, signal: r.signal, stderr: r.stderr };
}

/** The records as berth-init-test prints them: numbers as strings, bytes as hex, no empty lists. */
function normalize(v: unknown): unknown {
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  if (Buffer.isBuffer(v)) return v.toString('hex');
  if (Array.isArray(v)) return v.map(normalize);
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined && !(Array.isArray(x) && x.length === 0) || typeof x === 'string').map(([k, x]) => [k, normalize(x)]).filter(([, x]) => x !== undefined));
  }
  return v;
}

describe('the decoder', () => {
  test('decodes every record as it was encoded (both sides generated from plan.def)', () => {
    const p = plan((s) => {
      s.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 18446744073709551615, hard: 1024 }];
      s.process.oomScoreAdj = -500;
      s.process.user = { uid: 1000, gid: 1000, additionalGids: [5, 6], umask: 0o27 };
      s.hooks = { createContainer: [{ path: '/bin/h', args: ['h', 'a b'], env: ['X=1'], timeout: 3 }] };
      s.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] };
      s.linux.sysctl = { 'kernel.msgmax': '8192' };
      s.mounts.push({ destination: '/data', type: 'bind', source: 'vol', options: ['rbind', 'ro'] });
    });
    const r = run('decode', encodePlan(p));
    assert.equal(r.status, 0, r.calls.join('\n'));
    const want = normalize(JSON.parse(JSON.stringify(planMessage(p), (_, v) => (typeof v === 'bigint' ? String(v) : v && v.type === 'Buffer' ? Buffer.from(v.data).toString('hex') : v))));
    assert.deepEqual(JSON.parse(r.calls[0]), want);
  });

  test('decodes strings of any UTF-8 and a plan larger than the encoder\'s first buffer', () => {
    const p = plan((s) => {
      s.process.args = ['echo', 'é', '日本語', '\u{1F600}', ''];
      s.process.env.push(`BIG=${'ü'.repeat(12000)}`, `MORE=${'x'.repeat(9000)}`);
    });
    const msg = encodePlan(p);
    assert.ok(msg.length > 32768, `the plan is ${msg.length} bytes`);
    const r = spawnSync(BIN, ['decode'], { input: msg, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const decoded = JSON.parse(r.stdout.split('\n')[0]);
    assert.deepEqual(decoded.args, { values: p.args });
    assert.deepEqual(decoded.env, { values: p.env });
  });

  // Any malformed message gets an error from the decoder, before any step runs:
  // never a crash. Truncations and bit flips of real plans, in the header, record
  // headers and item headers (the seccomp record's raw bytes among them).
  test('refuses corrupted plans with an error, never a crash', () => {
    const good = [encodePlan(plan()), encodePlan(plan((s) => (s.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] })))];
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
    let refused = 0;
    for (let i = 0; i < 400; i++) {
      const g = good[i % 2];
      const b = i % 10 === 0 ? g.subarray(0, rnd(g.length)) : Buffer.from(g);
      for (let k = 0; k < 1 + rnd(3) && i % 10 !== 0; k++) b[rnd(b.length)] ^= 1 << rnd(8);
      if (i % 3 === 0 && b.length >= 16) b.writeUInt32LE(b.length, 8); // keep the length right: reach the records
      const r = run('decode', b);
      assert.equal(r.signal, null, `the decoder died of ${r.signal}`);
      if (r.status !== 0) {
        assert.equal(r.status, 1);
        assert.match(r.calls[0], /^error: /);
        refused++;
      }
    }
    assert.ok(refused > 200, `only ${refused} of 400 corrupted plans were refused`);
  });

  // The same, in-process and many more (BERTH_DECODER_FUZZ, default 20000), under
  // AddressSanitizer and UBSan: a read out of bounds aborts.
  test('survives many more corruptions under the sanitizers', () => {
    const n = Number(process.env.BERTH_DECODER_FUZZ ?? 20000);
    for (const msg of [encodePlan(plan()), encodePlan(plan((s) => (s.hooks = { createContainer: [{ path: '/bin/h', args: ['h'], env: ['A=1'] }] })))]) {
      const r = spawnSync(BIN, ['fuzz', String(n)], { input: msg, encoding: 'utf8' });
      assert.equal(r.signal, null, r.stderr);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`^\\d+ of ${n} refused\n$`));
    }
  });

  test('refuses a record given twice that may be given once, an unknown record, a bool that is not 0 or 1', () => {
    const twice = K.encodePlanMessage({ cwd: { path: '/' } });
    const msg = Buffer.concat([twice, twice.subarray(16)]);
    msg.writeUInt32LE(msg.length, 8);
    msg.writeUInt32LE(2, 12);
    assert.match(run('decode', msg).calls[0], /error: CWD record given twice/);
    const unknown = Buffer.from(twice);
    unknown.writeUInt16LE(999, 16);
    assert.match(run('decode', unknown).calls[0], /error: unknown record type/);
    const nnp = K.encodePlanMessage({ noNewPrivs: { set: true } });
    nnp[16 + 8 + 1] = 2;
    assert.match(run('decode', nnp).calls[0], /error: malformed item in a NO_NEW_PRIVS record/);
  });
});

describe('berth-init steps, with a fake of their system calls', () => {
  test('rootfs and mounts: rslave /, the rootfs bound onto itself, then every mount in config order', () => {
    const p = plan((s) => s.mounts.push({ destination: '/data', type: 'bind', source: '/vol', options: ['rbind', 'ro'] }, { destination: '/data', type: 'none', source: '', options: ['rshared'] }));
    const r = run('rootfs', encodePlan(p));
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.calls.slice(0, 3), ['mount - / - 0x84000 -', `mount - ${R} - 0x40000 -`, `mount ${R} ${R} - 0x5000 -`]);
    // Where each mount lands, in order: fs mounts by mount(2), binds by move_mount.
    const targets = r.calls.filter((c) => new RegExp(`^(mount \\S+ ${R}/|move_mount )`).test(c)).map((c) => (c.startsWith('mount ') ? c.split(' ')[2] : c.split(' ').at(-1)));
    assert.deepEqual(targets, [...p.mounts.map((m) => `${R}${m.destination}`).slice(0, -1), `${R}/data`]);
    assert.ok(r.calls.includes('open_tree /vol recursive'), 'a bind clones its source tree');
    assert.ok(r.calls.includes('mount_setattr tree:/vol set=0x1 clr=0x0'), 'ro is set on the detached tree, before it is attached');
    assert.equal(r.calls.at(-1), `mount - ${R}/data - 0x104000 -`, 'propagation of the last mount: MS_SHARED|MS_REC');
  });

  test('devices: each default node made with its exact mode and owner, then the /dev symlinks', () => {
    const r = run('devices', encodePlan(plan((s) => (s.linux.devices = [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 0o620, uid: 7, gid: 8 }]))));
    assert.equal(r.status, 0, r.stderr);
    const made = r.calls.filter((c) => new RegExp(`^(mknod|chown|chmod|symlink) ${R}/dev`).test(c));
    assert.deepEqual(made.slice(0, 2), [`mknod ${R}/dev/null 20666 1:3`, `chown ${R}/dev/null 0:0`]);
    assert.ok(made.includes(`mknod ${R}/dev/fuse 20620 10:229`));
    assert.equal(made[made.indexOf(`mknod ${R}/dev/fuse 20620 10:229`) + 1], `chown ${R}/dev/fuse 7:8`);
    assert.ok(made.includes(`symlink ${R}/dev/ptmx -> pts/ptmx`));
    assert.ok(made.findIndex((c) => c.startsWith('symlink')) > made.findIndex((c) => c.includes('/dev/fuse')), 'symlinks after the nodes');
  });

  test('pivot: pivot_root(".", "."), the old root made a slave and detached; then read-only and masked paths', () => {
    const r = run('pivot', encodePlan(plan((s) => (s.linux.readonlyPaths = ['/proc/sys']) && (s.linux.maskedPaths = ['/proc/kcore']))));
    assert.equal(r.status, 0, r.stderr);
    const from = r.calls.indexOf(`fchdir ${R}`);
    assert.deepEqual(r.calls.slice(from, from + 5), [`fchdir ${R}`, 'pivot_root . .', 'fchdir /', 'mount - / - 0x84000 -', 'umount / 0x2']);
    assert.ok(r.calls.indexOf('mount_setattr tree:/proc/sys set=0x1 clr=0x0 recursive') > from);
  });

  test('identity: bounding set dropped, groups and ids set with KEEPCAPS, then the capability sets, ambient, umask, no_new_privs last', () => {
    const r = run('identity', encodePlan(plan((s) => {
      s.process.user = { uid: 1000, gid: 100, additionalGids: [5], umask: 0o27 };
      s.process.capabilities = { bounding: ['CAP_KILL', 'CAP_NET_BIND_SERVICE'], effective: ['CAP_KILL'], permitted: ['CAP_KILL', 'CAP_NET_BIND_SERVICE'], inheritable: ['CAP_NET_BIND_SERVICE'], ambient: ['CAP_NET_BIND_SERVICE'] };
      s.process.noNewPrivileges = true;
      s.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 100, hard: 200 }];
    })));
    assert.equal(r.status, 0, r.stderr);
    const drops = r.calls.filter((c) => c.startsWith('prctl CAPBSET_DROP')).map((c) => Number(c.split(' ')[2]));
    assert.ok(!drops.includes(5) && !drops.includes(10) && drops.includes(21), 'every capability but the bounding set is dropped from it');
    assert.deepEqual(r.calls.filter((c) => !c.startsWith('prctl CAPBSET_DROP')), [
      'setrlimit 7 100 200',
      'chdir /',
      'prctl SET_KEEPCAPS 1',
      'setgroups 5',
      'setresgid 100 100 100',
      'setresuid 1000 1000 1000',
      'prctl SET_KEEPCAPS 0',
      'capset 0x20 0x420 0x400',
      'prctl CAP_AMBIENT 4',
      'prctl CAP_AMBIENT 2',
      'prctl SET_DUMPABLE 0',
      'umask 27',
      'prctl SET_NO_NEW_PRIVS 1',
    ]);
    assert.ok(r.calls.indexOf('prctl CAPBSET_DROP 21') < r.calls.indexOf('setresuid 1000 1000 1000'), 'the bounding set goes while CAP_SETPCAP is held');
  });
});

describe('decisions made in TypeScript', () => {
  test('the seccomp filter\'s moment: before the identity without no_new_privs, before ready with a listener, else before execve (runc\'s order)', () => {
    const when = (nnp: boolean, notify: boolean) => planMessage(plan((s) => {
      s.process.noNewPrivileges = nnp;
      s.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', listenerPath: notify ? '/run/l.sock' : undefined, syscalls: [{ names: ['mkdir'], action: notify ? 'SCMP_ACT_NOTIFY' : 'SCMP_ACT_ERRNO' }] };
    })).seccomp!.when;
    assert.equal(when(false, false), K.SECCOMP_BEFORE_IDENTITY);
    assert.equal(when(false, true), K.SECCOMP_BEFORE_IDENTITY);
    assert.equal(when(true, true), K.SECCOMP_BEFORE_READY);
    assert.equal(when(true, false), K.SECCOMP_BEFORE_EXEC);
  });

  test('the cgroup mounts of a container without a cgroup namespace bind its own cgroups: the placement\'s, or berth\'s own where it has none', () => {
    const hs: Hierarchy[] = [
      { version: 1, mountpoint: '/sys/fs/cgroup/cpu,cpuacct', mountRoot: '/', controllers: ['cpu', 'cpuacct'], own: '/user.slice' },
      { version: 1, mountpoint: '/sys/fs/cgroup/memory', mountRoot: '/', controllers: ['memory'], own: '/user.slice' },
      { version: 2, mountpoint: '/sys/fs/cgroup/unified', mountRoot: '/', controllers: [], own: '/user.slice/s.scope' },
    ];
    const s = defaultSpec({ rootless: false, cgroupns: false, args: ['true'] });
    s.process.terminal = false;
    s.root = { path: R, readonly: false };
    const p = buildPlan(s as Spec, { bundle: '/b', execFifo: '/run/x/exec.fifo', preserveFds: 0, noPivot: false, hierarchies: hs });
    bindOwnCgroups(p, ['/sys/fs/cgroup/cpu,cpuacct/berth/x', '/sys/fs/cgroup/unified/berth/x'], hs);
    assert.deepEqual(p.mounts.filter((m) => m.extra & K.MOUNT_CGROUP_V1).map((m) => [m.destination, m.source]), [
      ['/sys/fs/cgroup/cpu,cpuacct', '/sys/fs/cgroup/cpu,cpuacct/berth/x'],
      ['/sys/fs/cgroup/memory', '/sys/fs/cgroup/memory/user.slice'],
      ['/sys/fs/cgroup/unified', '/sys/fs/cgroup/unified/berth/x'],
    ]);
  });
});

// linux.seccomp -> the description libseccomp is given (src/seccomp/compile.ts)
// and the compiled BPF (addon/napi/seccomp.cc).
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { compileSeccomp, describeSeccomp, FILTER_FLAG, MAX_RULES } from '../../src/seccomp/compile';
import type { LinuxSeccomp } from '../../src/spec/types';
import { repoRoot } from '../fixtures/runtime';

const profile = (file: string): LinuxSeccomp =>
  JSON.parse(readFileSync(join(repoRoot(), '../shared/oracle/engine-configs', file), 'utf8')).linux.seccomp;

const ERRNO = 0x00050000;
const ALLOW = 0x7fff0000;

describe('seccomp description', () => {
  test('actions: errnoRet defaults to EPERM; KILL is KILL_THREAD; rules with the default action are left out', () => {
    const d = describeSeccomp({
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [
        { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' },
        { names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 },
        { names: ['rmdir'], action: 'SCMP_ACT_ERRNO' },
        { names: ['sync'], action: 'SCMP_ACT_KILL' },
        { names: ['syncfs'], action: 'SCMP_ACT_TRACE' },
      ],
    });
    assert.equal(d.defaultAction, ERRNO | 1);
    assert.deepEqual(d.rules.map((r) => [r.names, r.action]), [
      [['read', 'write'], ALLOW], [['mkdir'], ERRNO | 13], [['sync'], 0], [['syncfs'], 0x7ff00001],
    ]);
    assert.equal(describeSeccomp({ defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 38 }).defaultAction, ERRNO | 38);
  });

  test('several conditions on one argument are alternatives (one rule each), on different arguments all must hold', () => {
    const d = describeSeccomp({
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [
        { names: ['setpriority'], action: 'SCMP_ACT_ERRNO', args: [{ index: 2, value: 13, op: 'SCMP_CMP_EQ' }, { index: 2, value: 14, op: 'SCMP_CMP_EQ' }] },
        { names: ['setpriority'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 0, op: 'SCMP_CMP_EQ' }, { index: 2, value: 16, op: 'SCMP_CMP_GT' }] },
        { names: ['clone'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 2114060288, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }] },
      ],
    });
    assert.deepEqual(d.rules.map((r) => r.conds), [
      [[2, 4, 13n, 0n]], [[2, 4, 14n, 0n]], [[0, 4, 0n, 0n], [2, 6, 16n, 0n]], [[0, 7, 2114060288n, 0n]],
    ]);
  });

  test('flags: NEW_LISTENER with NOTIFY rules; WAIT_KILLABLE_RECV only with a listener', () => {
    const n = describeSeccomp({
      defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/run/agent.sock', listenerMetadata: 'm',
      flags: ['SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'],
      syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }],
    });
    assert.equal(n.flags, FILTER_FLAG.TSYNC | FILTER_FLAG.TSYNC_ESRCH | FILTER_FLAG.NEW_LISTENER | FILTER_FLAG.WAIT_KILLABLE_RECV);
    assert.deepEqual(n.listener, { path: '/run/agent.sock', metadata: 'm' });
    const p = describeSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'] });
    assert.equal(p.flags, FILTER_FLAG.LOG);
    assert.equal(p.listener, undefined);
  });

  test('malformed or hostile sections are refused by field', () => {
    const bad: [LinuxSeccomp, RegExp][] = [
      [{ defaultAction: 'SCMP_ACT_NOPE' as never }, /linux\.seccomp\.defaultAction: unknown action "SCMP_ACT_NOPE"/],
      [{ defaultAction: 'SCMP_ACT_NOTIFY' }, /cannot be the default action/],
      [{ defaultAction: 'SCMP_ACT_ALLOW', defaultErrnoRet: 1 }, /defaultAction: SCMP_ACT_ALLOW takes no errnoRet/],
      [{ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['x86' as never] }, /architectures\[0\]: unknown architecture/],
      [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ERRNO', args: [{ index: 6, value: 0, op: 'SCMP_CMP_EQ' }] }] }, /syscalls\[0\]\.args\[0\]\.index: a syscall has arguments 0 to 5, not 6/],
      [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 0, op: 'SCMP_CMP_XX' as never }] }] }, /args\[0\]\.op: unknown operator/],
      [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] }, /listenerPath: SCMP_ACT_NOTIFY needs a listenerPath/],
      [{ defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/x', syscalls: [{ names: ['write'], action: 'SCMP_ACT_NOTIFY' }] }, /cannot be used for the write syscall/],
      [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_LOG', errnoRet: 5 }] }, /syscalls\[0\]\.action: SCMP_ACT_LOG takes no errnoRet/],
      [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: [], action: 'SCMP_ACT_ERRNO' }] }, /names: must name at least one syscall/],
      [{ defaultAction: 'SCMP_ACT_ERRNO', syscalls: Array.from({ length: 10000 }, (_, i) => ({ names: ['personality'], action: 'SCMP_ACT_ALLOW' as const, args: [{ index: 0, value: i, op: 'SCMP_CMP_EQ' as const }] })) }, new RegExp(`more than ${MAX_RULES} rules`)],
    ];
    for (const [s, re] of bad) assert.throws(() => describeSeccomp(s), re);
  });
});

// A classic BPF interpreter for what libseccomp and the ENOSYS stub emit, run on a
// struct seccomp_data: nr, arch, ip, args[6] (little-endian).
function runFilter(bpf: Buffer, arch: number, nr: number, args: bigint[] = []): number {
  const data = Buffer.alloc(64);
  data.writeUInt32LE(nr >>> 0, 0);
  data.writeUInt32LE(arch >>> 0, 4);
  args.forEach((a, i) => data.writeBigUInt64LE(BigInt.asUintN(64, a), 16 + 8 * i));
  let A = 0;
  let X = 0;
  const mem = new Array(16).fill(0);
  for (let pc = 0, steps = 0; pc * 8 < bpf.length && steps < 100000; steps++) {
    const code = bpf.readUInt16LE(pc * 8);
    const jt = bpf[pc * 8 + 2];
    const jf = bpf[pc * 8 + 3];
    const k = bpf.readUInt32LE(pc * 8 + 4);
    pc++;
    switch (code) {
      case 0x20: A = data.readUInt32LE(k); break; // ld w abs
      case 0x00: A = k; break; // ld imm
      case 0x60: A = mem[k]; break; // ld mem
      case 0x61: X = mem[k]; break; // ldx mem
      case 0x02: mem[k] = A; break; // st
      case 0x03: mem[k] = X; break; // stx
      case 0x07: X = A; break; // tax
      case 0x87: A = X; break; // txa
      case 0x54: A = (A & k) >>> 0; break; // and k
      case 0x05: pc += k; break; // ja
      case 0x15: pc += A === k ? jt : jf; break;
      case 0x25: pc += A > k ? jt : jf; break;
      case 0x35: pc += A >= k ? jt : jf; break;
      case 0x45: pc += (A & k) !== 0 ? jt : jf; break;
      case 0x06: return k >>> 0; // ret k
      case 0x16: return A >>> 0; // ret a
      default: throw new Error(`opcode 0x${code.toString(16)} at ${pc - 1}`);
    }
  }
  throw new Error('ran off the program');
}

const AUDIT = { X86_64: 0xc000003e, I386: 0x40000003, AARCH64: 0xc00000b7 };
const X32 = 0x40000000;
const RET = { ALLOW: 0x7fff0000, EPERM: 0x00050001, ENOSYS: 0x00050026, KILL: 0 };

describe('seccomp compile (libseccomp)', () => {
  test("Docker's profile as BPF: allowed, denied, newer than the profile (ENOSYS, as runc), other arches", () => {
    const { bpf } = compileSeccomp(profile('docker-run-default-seccomp.json'));
    const run = (arch: number, nr: number, args?: bigint[]) => runFilter(bpf, arch, nr, args);
    assert.equal(run(AUDIT.X86_64, 0), RET.ALLOW, 'read');
    assert.equal(run(AUDIT.X86_64, 272), RET.EPERM, 'unshare');
    assert.equal(run(AUDIT.X86_64, 250), RET.EPERM, 'keyctl');
    assert.equal(run(AUDIT.X86_64, 435), RET.ENOSYS, 'clone3: errnoRet 38 in the profile');
    assert.equal(run(AUDIT.X86_64, 600), RET.ENOSYS, 'a syscall newer than the profile');
    assert.equal(run(AUDIT.X86_64, X32 | 0), RET.ALLOW, 'x32 read');
    assert.equal(run(AUDIT.X86_64, X32 | 600), RET.ENOSYS);
    assert.equal(run(AUDIT.I386, 3), RET.ALLOW, 'i386 read');
    assert.equal(run(AUDIT.I386, 1000), RET.ENOSYS);
    assert.equal(run(AUDIT.AARCH64, 63), RET.KILL, 'an architecture the profile does not list');
    // Argument conditions: personality(2) values, clone(2) namespace flags (MASKED_EQ).
    assert.equal(run(AUDIT.X86_64, 135, [8n]), RET.ALLOW);
    assert.equal(run(AUDIT.X86_64, 135, [0xffffffffn]), RET.ALLOW);
    assert.equal(run(AUDIT.X86_64, 135, [0x40000n]), RET.EPERM);
    assert.equal(run(AUDIT.X86_64, 56, [0x11n]), RET.ALLOW, 'clone(SIGCHLD)');
    assert.equal(run(AUDIT.X86_64, 56, [0x10000011n]), RET.EPERM, 'clone(CLONE_NEWUSER)');
  });

  test('no ENOSYS stub when the default lets calls through or is ENOSYS already', () => {
    const allow = compileSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] }).bpf;
    assert.equal(runFilter(allow, AUDIT.X86_64, 600), RET.ALLOW);
    assert.equal(runFilter(allow, AUDIT.X86_64, 83), RET.EPERM);
    const podman = compileSeccomp(profile('podman-init.json')).bpf;
    assert.equal(runFilter(podman, AUDIT.X86_64, 600), RET.ENOSYS);
    assert.equal(runFilter(podman, AUDIT.X86_64, 170), RET.EPERM, 'sethostname');
    assert.equal(runFilter(podman, AUDIT.X86_64, 0), RET.ALLOW);
  });

  test("Docker's and podman's default profiles compile to BPF programs the kernel takes", () => {
    for (const f of ['docker-run-default-seccomp.json', 'podman-init.json']) {
      const c = compileSeccomp(profile(f));
      assert.equal(c.bpf.length % 8, 0);
      assert.ok(c.bpf.length / 8 > 100 && c.bpf.length / 8 <= 4096, `${f}: ${c.bpf.length / 8} instructions`);
      // First instructions check the architecture: ld [4] (seccomp_data.arch).
      assert.equal(c.bpf.readUInt16LE(0), 0x20);
      assert.equal(c.bpf.readUInt32LE(4), 4);
    }
  });

  test('unknown syscall names are skipped (as runc), unknown architectures refused', () => {
    const c = compileSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['no_such_call', 'mkdir'], action: 'SCMP_ACT_ERRNO' }] });
    assert.deepEqual(c.skipped, ['no_such_call']);
    assert.throws(() => compileSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_SHEB'] }), /linux\.seccomp: architecture sheb is not known to libseccomp/);
  });

  test('the cache returns the same program without compiling again', () => {
    const dir = mkdtempSync('/tmp/berth-seccomp-cache-');
    after(() => rmSync(dir, { recursive: true, force: true }));
    const s = profile('docker-run-default-seccomp.json');
    const a = compileSeccomp(s, { cacheDir: dir });
    assert.equal(readdirSync(dir).length, 1);
    const b = compileSeccomp(s, { cacheDir: dir });
    assert.ok(a.bpf.equals(b.bpf));
    // A different profile is a different entry.
    compileSeccomp({ ...s, defaultErrnoRet: 38 }, { cacheDir: dir });
    assert.equal(readdirSync(dir).length, 2);
  });

  test('a cache entry is used only if it was compiled from the same profile (a colliding or damaged file is compiled over)', () => {
    const dir = mkdtempSync('/tmp/berth-seccomp-cache-');
    after(() => rmSync(dir, { recursive: true, force: true }));
    const s = profile('docker-run-default-seccomp.json');
    const a = compileSeccomp(s, { cacheDir: dir });
    const [name] = readdirSync(dir);
    // An entry under this profile's name holding another program: one instruction, "allow".
    const allowAll = Buffer.from([0x06, 0, 0, 0, 0, 0, 0xff, 0x7f]);
    for (const planted of [allowAll, Buffer.concat([Buffer.from('berth-seccomp-cache-3 libseccomp 0\n{}\0'), allowAll])]) {
      writeFileSync(join(dir, name), planted);
      const b = compileSeccomp(s, { cacheDir: dir });
      assert.ok(b.bpf.equals(a.bpf), `the planted entry (${planted.length} bytes) was used`);
      // ... and the entry is the right one again.
      assert.ok(compileSeccomp(s, { cacheDir: dir }).bpf.equals(a.bpf));
    }
  });

  test('the cached path does not load node:crypto (not in Node\'s startup snapshot: milliseconds per create)', () => {
    const dir = mkdtempSync('/tmp/berth-seccomp-cache-');
    after(() => rmSync(dir, { recursive: true, force: true }));
    // Node's list of the built-in modules this process loaded (not in its typings).
    const loaded = () => (process as unknown as { moduleLoadList: string[] }).moduleLoadList.includes('NativeModule crypto');
    assert.ok(!loaded(), 'node:crypto was loaded before the test (by the test runner or an import of this file): this test cannot tell');
    const s = profile('docker-run-default-seccomp.json');
    compileSeccomp(s, { cacheDir: dir });
    compileSeccomp(s, { cacheDir: dir });
    assert.ok(!loaded(), 'compileSeccomp with a cache loaded node:crypto');
  });
});

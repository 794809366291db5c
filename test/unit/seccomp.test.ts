// linux.seccomp -> the description libseccomp is given (src/seccomp/compile.ts)
// and the compiled BPF (addon/napi/seccomp.cc).
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
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

describe('seccomp compile (libseccomp)', () => {
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
});

// The npm package: test/package/install.sh packs it and installs it without a compiler
// (the CLI then runs a busybox container), and the arm64 prebuild's berth-init, made
// with Debian's cross toolchain, runs under qemu-aarch64 and refuses corrupted plans.
// Missing tools skip these tests, visibly; on CI (CI=true) they fail.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { buildPlan } from '../../src/plan/build';
import { encodePlan } from '../../src/plan/message';
import { defaultSpec } from '../../src/spec/defaults';
import type { Spec } from '../../src/spec/types';
import { repoRoot, requireTool } from '../fixtures/runtime';

const ARM64_SECCOMP = '/usr/lib/aarch64-linux-gnu/libseccomp.a';

/** The cross toolchain and the arm64 libseccomp the arm64 prebuild needs. */
function requireCrossBuild(t: TestContext): boolean {
  if (!requireTool('aarch64-linux-gnu-g++', t)) return false;
  if (existsSync(ARM64_SECCOMP)) return true;
  const msg = `${ARM64_SECCOMP} is missing (libseccomp-dev:arm64)`;
  if (process.env.CI === 'true') throw new Error(`${msg} (required on CI)`);
  t.skip(msg);
  return false;
}

test('the packed package installs without a compiler and its CLI runs a container', (t) => {
  assert.equal(process.getuid?.(), 0, 'the package test runs containers: run it as root');
  if (!requireCrossBuild(t) || !requireTool('busybox', t)) return;
  const r = spawnSync('bash', [join(repoRoot(), 'test/package/install.sh')], { encoding: 'utf8', maxBuffer: 64 << 20 });
  // The summaries (pack size, install log lines, container output) go to the test output.
  for (const line of r.stdout.split('\n')) if (line.startsWith('# ')) t.diagnostic(line.slice(2));
  assert.equal(r.status, 0, `install.sh failed:\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /^# all passed$/m);
});

test('the arm64 berth-init runs under qemu-aarch64 and refuses corrupted plans', async (t) => {
  if (!requireCrossBuild(t) || !requireTool('qemu-aarch64', t)) return;
  const root = repoRoot();
  const init = join(root, 'prebuilds/linux-arm64/berth-init');
  // The prebuild of the test above, or a fresh one when it is missing or stale.
  if (spawnSync(process.execPath, [join(root, 'scripts/prebuild.mjs'), '--check', 'arm64']).status !== 0) {
    const b = spawnSync(process.execPath, [join(root, 'scripts/prebuild.mjs'), 'arm64'], { encoding: 'utf8' });
    assert.equal(b.status, 0, b.stderr);
  }

  // Run by hand, it says it is not a command.
  const usage = spawnSync('qemu-aarch64', [init], { encoding: 'utf8' });
  assert.equal(usage.status, 2, usage.stderr);
  assert.match(usage.stderr, /berth-init is run by berth; it is not a command/);

  // Every case fails the decoder's checks (only those: a plan it accepted would go on to
  // clone and mount, which qemu-user does not emulate faithfully) and must come back as
  // its error message, not a crash.
  const rootfs = mkdtempSync('/tmp/berth-arm64-rootfs-');
  t.after(() => rmSync(rootfs, { recursive: true, force: true }));
  const s = defaultSpec({ rootless: false, cgroupns: false, args: ['true'] });
  s.process.terminal = false;
  s.root = { path: rootfs, readonly: true };
  const good = encodePlan(buildPlan(s as Spec, { bundle: '/b', execFifo: '/nonexistent/exec.fifo', preserveFds: 0, noPivot: false, hierarchies: [{ version: 2, mountpoint: '/sys/fs/cgroup', mountRoot: '/', controllers: [], own: '/' }] }));
  const edit = (f: (b: Buffer) => Buffer | void) => {
    const b = Buffer.from(good);
    return f(b) ?? b;
  };
  const cases: [string, Buffer][] = [
    ['', Buffer.alloc(16)],
    ['bad magic', edit((b) => void (b[0] ^= 0xff))],
    ['unsupported plan version', edit((b) => void b.writeUInt32LE(b.readUInt32LE(4) + 1, 4))],
    ['truncated record header', edit((b) => void b.writeUInt32LE(b.readUInt32LE(12) + 1, 12))],
    ['record overruns message', edit((b) => void b.writeUInt32LE(0xffffff, 16 + 4))],
    ['malformed item', edit((b) => void (b[16 + 8] = 9))],
    ['trailing bytes', edit((b) => {
      const c = Buffer.concat([b, Buffer.alloc(1)]);
      c.writeUInt32LE(c.length, 8);
      return c;
    })],
  ];
  for (const [why, msg] of cases) {
    const r = await feed(init, msg);
    assert.equal(r.signal, null, `${why || 'zero header'}: berth-init died of ${r.signal}`);
    assert.equal(r.code, 1, why || 'zero header');
    assert.ok(r.reply.includes('reading the plan') && r.reply.includes(why), `${why || 'zero header'}: reply ${JSON.stringify(r.reply.toString('latin1'))}`);
  }
});

/** Runs berth-init create under qemu-aarch64 with msg on its sync socket (fd 3); its reply. */
function feed(init: string, msg: Buffer): Promise<{ code: number | null; signal: NodeJS.Signals | null; reply: Buffer }> {
  return new Promise((resolve) => {
    // qemu-user runs the guest in its own process: berth-init's parent is this process.
    const child = spawn('qemu-aarch64', [init, 'create', '3', String(process.pid)], { stdio: ['ignore', 'ignore', 'inherit', 'pipe'] });
    const sock = child.stdio[3] as unknown as Socket;
    const chunks: Buffer[] = [];
    sock.on('data', (d: Buffer) => chunks.push(d));
    sock.on('error', () => {});
    sock.end(msg);
    child.on('exit', (code, signal) => {
      // The socket may still hold the reply's last bytes.
      if (sock.readableEnded || sock.destroyed) resolve({ code, signal, reply: Buffer.concat(chunks) });
      else sock.on('close', () => resolve({ code, signal, reply: Buffer.concat(chunks) }));
    });
  });
}

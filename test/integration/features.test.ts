// features.md: `berth features` is valid against the features schema and tells the
// truth about this host.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { useValidators, validate } from '../../src/spec/validate';
import { BERTH, repoRoot, runRuntime } from '../fixtures/runtime';

const root = mkdtempSync('/tmp/berth-features-');
after(() => rmSync(root, { recursive: true, force: true }));

test('features: valid, and what it claims matches the host', () => {
  useValidators(require(join(repoRoot(), 'dist/validators.js')));
  const r = runRuntime(BERTH, root, ['features']);
  assert.equal(r.code, 0, r.stderr);
  const f = JSON.parse(r.stdout);
  validate('features', f, 'berth features');
  const linux = f.linux;
  assert.ok(linux?.namespaces && linux.capabilities && linux.cgroup && linux.seccomp?.archs && linux.seccomp.supportedFlags && linux.seccomp.knownFlags && f.mountOptions, r.stdout);
  assert.equal(f.ociVersionMax, '1.3.0');
  // Namespaces: exactly the kinds /proc/self/ns has.
  assert.equal(linux.namespaces.length, readdirSync('/proc/self/ns').filter((n) => !n.endsWith('_for_children')).length);
  // Capabilities up to the kernel's last one.
  assert.equal(linux.capabilities.length, Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8')) + 1);
  // cgroup versions as mounted.
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8');
  assert.equal(linux.cgroup.v1, / - cgroup /.test(mounts));
  assert.equal(linux.cgroup.v2, / - cgroup2 /.test(mounts));
  // The systemd driver: systemd is init, pure cgroup v2, the system bus is there.
  assert.equal(linux.cgroup.systemd, existsSync('/run/systemd/system') && !/ - cgroup /.test(mounts) && existsSync('/run/dbus/system_bus_socket'));
  // The user's own systemd: the same host conditions (the caller's session bus is the caller's to have).
  assert.equal(linux.cgroup.systemdUser, existsSync('/run/systemd/system') && !/ - cgroup /.test(mounts));
  // AppArmor as the kernel runs it (none here; the cgroup v2 lane's kernel has it: apparmor.test.ts).
  let apparmor = false;
  try {
    apparmor = readFileSync('/sys/module/apparmor/parameters/enabled', 'utf8').trim() === 'Y';
  } catch {
    // no AppArmor in this kernel
  }
  assert.deepEqual(linux.apparmor, { enabled: apparmor });
  // Seccomp: the native architecture can be compiled, flags supported are known ones.
  assert.equal(linux.seccomp.enabled, true);
  assert.ok(linux.seccomp.archs.includes('SCMP_ARCH_X86_64'));
  for (const flag of linux.seccomp.supportedFlags) assert.ok(linux.seccomp.knownFlags.includes(flag));
  // Id-mapped mounts where the kernel has mount_setattr (Linux 5.12; idmap.test.ts proves them).
  const [major, minor] = readFileSync('/proc/sys/kernel/osrelease', 'utf8').split('.').map(Number);
  assert.deepEqual(linux.mountExtensions, { idmap: { enabled: major > 5 || (major === 5 && minor >= 12) } });
  // Every mount option it lists is one berth's plan builder takes.
  for (const o of ['ro', 'rbind', 'rro', 'rprivate', 'nosymfollow']) assert.ok(f.mountOptions.includes(o), o);
});

// The systemd lane's VM is the host it claims to be: systemd as PID 1 on pure
// cgroup v2, with systemd's manager on the system bus, and this test running as
// a service of it. Skipped, saying so, off the lane; failed in the lane
// (BERTH_SYSTEMD_LANE=1) when any of it is missing.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';

const lane = process.env.BERTH_SYSTEMD_LANE === '1';
const skip = !existsSync('/run/systemd/system') && !lane ? 'systemd is not running here: this file runs in the systemd lane (npm run test:systemd)' : false;

test('systemd is PID 1 on pure cgroup v2, on the system bus, and runs this test as a service', { skip }, () => {
  assert.equal(readFileSync('/proc/1/comm', 'utf8').trim(), 'systemd');
  assert.ok(existsSync('/run/systemd/system'));
  assert.doesNotMatch(readFileSync('/proc/self/mountinfo', 'utf8'), / - cgroup /, 'no v1 hierarchy');
  assert.match(readFileSync('/proc/self/cgroup', 'utf8'), /^0::\/system\.slice\/[^/]+\.service$/m);
  const v = spawnSync('busctl', ['get-property', 'org.freedesktop.systemd1', '/org/freedesktop/systemd1', 'org.freedesktop.systemd1.Manager', 'Version'], { encoding: 'utf8' });
  assert.equal(v.status, 0, v.stderr);
  assert.match(v.stdout, /^s "\d+/);
});

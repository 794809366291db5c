// Cgroup path resolution and device rules (src/cgroups).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { deviceRuleText } from '../../src/cgroups/placement';
import { dirFor, type Hierarchy } from '../../src/cgroups/hierarchies';

const h = (mountpoint: string, mountRoot = '/', own = '/user.slice'): Hierarchy => ({ version: 1, mountpoint, mountRoot, controllers: ['pids'], own });

describe('cgroup paths', () => {
  test('absolute paths hang off the hierarchy root; relative ones off berth\'s own cgroup', () => {
    assert.equal(dirFor(h('/sys/fs/cgroup/pids'), '/berth/x'), '/sys/fs/cgroup/pids/berth/x');
    assert.equal(dirFor(h('/sys/fs/cgroup/pids'), 'berth/x'), '/sys/fs/cgroup/pids/user.slice/berth/x');
  });
  test('a mount that shows a subtree (nested containers) maps paths below its root', () => {
    assert.equal(dirFor(h('/sys/fs/cgroup/pids', '/outer'), '/outer/berth/x'), '/sys/fs/cgroup/pids/berth/x');
  });
});

describe('device rules', () => {
  test('as the v1 devices controller writes them', () => {
    assert.equal(deviceRuleText({ allow: false, access: 'rwm' }), 'a *:* rwm');
    assert.equal(deviceRuleText({ allow: true, type: 'c', major: 1, minor: 3, access: 'rw' }), 'c 1:3 rw');
    assert.equal(deviceRuleText({ allow: true, type: 'c', major: 136 }), 'c 136:* rwm');
    assert.equal(deviceRuleText({ allow: true, type: 'b', major: -1, minor: -1, access: 'm' }), 'b *:* m');
  });
});

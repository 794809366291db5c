// Cgroup path resolution and device rules (src/cgroups).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cgroupOwner, deviceRuleText } from '../../src/cgroups/placement';
import type { Spec } from '../../src/spec/types';
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

describe("the cgroup's owner (runc's OwnerUID)", () => {
  const v2: Hierarchy[] = [{ version: 2, mountpoint: '/sys/fs/cgroup', mountRoot: '/', controllers: [], own: '/' }];
  const hybrid: Hierarchy[] = [{ version: 1, mountpoint: '/sys/fs/cgroup/pids', mountRoot: '/', controllers: ['pids'], own: '/' }, { ...v2[0], mountpoint: '/sys/fs/cgroup/unified' }];
  const spec = (o: { ro?: boolean; cgroupns?: boolean; userns?: boolean; uid?: number } = {}): Spec =>
    ({
      ociVersion: '1.2.0',
      process: { cwd: '/', args: ['sh'], user: { uid: o.uid ?? 0, gid: 0 } },
      mounts: [{ destination: '/sys/fs/cgroup/', type: 'cgroup', source: 'cgroup', options: o.ro ? ['nosuid', 'ro'] : ['nosuid'] }],
      linux: {
        namespaces: [...(o.userns === false ? [] : [{ type: 'user' }]), ...(o.cgroupns === false ? [] : [{ type: 'cgroup' }])],
        uidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
      },
    }) as unknown as Spec;
  test('a pure v2 host, user and cgroup namespaces, /sys/fs/cgroup read-write: the host id of the process user', () => {
    assert.equal(cgroupOwner(spec(), v2), 100000);
    assert.equal(cgroupOwner(spec({ uid: 1000 }), v2), 101000);
  });
  test('otherwise none: read-only, no cgroup or user namespace, a hybrid host, an unmapped user', () => {
    assert.equal(cgroupOwner(spec({ ro: true }), v2), undefined);
    assert.equal(cgroupOwner(spec({ cgroupns: false }), v2), undefined);
    assert.equal(cgroupOwner(spec({ userns: false }), v2), undefined);
    assert.equal(cgroupOwner(spec(), hybrid), undefined);
    assert.equal(cgroupOwner(spec({ uid: 70000 }), v2), undefined);
  });
});

// What checkpoint and restore tell CRIU, without CRIU: the RPC messages on the
// wire (src/checkpoint/rpc.ts), mount destinations resolved inside the rootfs and
// the external mounts and namespaces of a config (src/checkpoint/layout.ts).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { Hierarchy } from '../../src/cgroups/hierarchies';
import { dumpMounts, externalNsKey, layoutOf, resolveInRoot, restoreMounts } from '../../src/checkpoint/layout';
import { CG_MODE, decodeResponse, encodeRequest, REQ } from '../../src/checkpoint/rpc';
import { defaultSpec } from '../../src/spec/defaults';
import type { Spec } from '../../src/spec/types';

describe('CRIU RPC messages', () => {
  test('a request is encoded with rpc.proto\'s field numbers, absent fields left out', () => {
    assert.equal(encodeRequest({ type: REQ.VERSION }).toString('hex'), '080a');
    // criu_req{type=DUMP, opts{images_dir_fd=5, pid=42, leave_running=true, root="/r", ext_mnt[{key:"/a", val:"/b"}], manage_cgroups_mode=SOFT}}
    const hex = encodeRequest({
      type: REQ.DUMP,
      opts: { images_dir_fd: 5, pid: 42, leave_running: true, root: '/r', ext_mnt: [{ key: '/a', val: '/b' }], manage_cgroups_mode: CG_MODE.soft },
    }).toString('hex');
    assert.equal(hex, '0801' + '1218' + '0805' + '102a' + '1801' + '6a022f72' + 'ba0108' + '0a022f61' + '12022f62' + '900203');
    assert.equal(encodeRequest({ type: REQ.NOTIFY, notify_success: true }).toString('hex'), '08061801');
  });

  test('a response is decoded to the fields CRIU sent', () => {
    // criu_resp{type=RESTORE, success=true, restore{pid=42}}
    assert.deepEqual(decodeResponse(Buffer.from('08021001220208' + '2a', 'hex')), { type: 2, success: true, restore: { pid: 42 } });
    // criu_resp{type=NOTIFY, success=true, notify{script="post-restore", pid=7}}
    const script = Buffer.from('post-restore').toString('hex');
    assert.deepEqual(decodeResponse(Buffer.from(`08061001${'2a'}${(2 + 12 + 2).toString(16).padStart(2, '0')}0a0c${script}1007`, 'hex')), {
      type: 6, success: true, notify: { script: 'post-restore', pid: 7 },
    });
    // criu_resp{type=DUMP, success=false, cr_errno=2, cr_errmsg="x"}
    assert.deepEqual(decodeResponse(Buffer.from('080110003802' + '4a0178', 'hex')), { type: 1, success: false, cr_errno: 2, cr_errmsg: 'x' });
  });

  test('--manage-cgroups-mode names map to criu_cg_mode', () => {
    assert.deepEqual(CG_MODE, { '': 6, soft: 3, full: 4, strict: 5, ignore: 0 });
  });
});

const root = mkdtempSync('/tmp/berth-unit-cr-');
after(() => rmSync(root, { recursive: true, force: true }));

describe('mount destinations inside the rootfs', () => {
  mkdirSync(join(root, 'real/conf'), { recursive: true });
  symlinkSync('/real/conf', join(root, 'conf'));
  symlinkSync('../real', join(root, 'rel'));
  symlinkSync('../../../../etc', join(root, 'up'));
  symlinkSync('loop', join(root, 'loop'));

  test('symlinks are followed inside the root, never out of it', () => {
    assert.equal(resolveInRoot(root, '/conf'), '/real/conf');
    assert.equal(resolveInRoot(root, '/conf/x/y'), '/real/conf/x/y');
    assert.equal(resolveInRoot(root, '/rel/conf'), '/real/conf');
    assert.equal(resolveInRoot(root, '/up/passwd'), '/etc/passwd');
    assert.equal(resolveInRoot(root, '/a/../../conf'), '/real/conf');
    assert.equal(resolveInRoot(root, 'missing/dir'), '/missing/dir');
    assert.equal(resolveInRoot(root, '/loop/x'), '/loop/x');
  });
});

describe('what CRIU is told about a config', () => {
  const UNIFIED: Hierarchy[] = [{ version: 2, mountpoint: '/sys/fs/cgroup', mountRoot: '/', controllers: [], own: '/' }];
  const HYBRID: Hierarchy[] = [
    { version: 1, mountpoint: '/sys/fs/cgroup/memory', mountRoot: '/', controllers: ['memory'], own: '/' },
    { version: 2, mountpoint: '/sys/fs/cgroup/unified', mountRoot: '/', controllers: [], own: '/' },
  ];
  const spec = (cgroupns: boolean) => {
    const s = defaultSpec({ rootless: false, cgroupns, args: ['true'] });
    s.mounts.push({ destination: '/conf', type: 'bind', source: 'data', options: ['rbind'] });
    s.linux.namespaces = s.linux.namespaces.map((n: { type: string }) => (n.type === 'network' ? { type: 'network', path: '/run/netns/x' } : n));
    s.linux.devices = [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229 }];
    return s as unknown as Spec;
  };

  test('bind mounts, cgroups bound from the host, devices, masked paths and joined namespaces', () => {
    const l = layoutOf(spec(false), '/bundle', UNIFIED);
    assert.deepEqual(l.binds, [{ destination: '/conf', source: '/bundle/data' }]);
    assert.deepEqual(l.cgroupBinds, [{ destination: '/sys/fs/cgroup', hierarchy: '/sys/fs/cgroup' }]);
    assert.deepEqual(l.devices, ['/dev/fuse', '/dev/null', '/dev/zero', '/dev/full', '/dev/tty', '/dev/urandom', '/dev/random']);
    assert.deepEqual(l.joined, [{ type: 'network', path: '/run/netns/x' }]);
    assert.equal(l.criuConfig, undefined);
    // With a cgroup namespace the hierarchy is mounted afresh: CRIU restores it itself.
    assert.deepEqual(layoutOf(spec(true), '/bundle', UNIFIED).cgroupBinds, []);
    assert.deepEqual(layoutOf(spec(false), '/bundle', HYBRID).cgroupBinds, [
      { destination: '/sys/fs/cgroup/memory', hierarchy: '/sys/fs/cgroup/memory' },
      { destination: '/sys/fs/cgroup/unified', hierarchy: '/sys/fs/cgroup/unified' },
    ]);
  });

  test('dump names each external mount by its destination; restore gives its host source', () => {
    const l = layoutOf(spec(false), '/bundle', UNIFIED);
    const dump = dumpMounts(l, root, ['/proc/kcore']);
    assert.deepEqual(dump.slice(0, 3), [{ key: '/real/conf', val: '/real/conf' }, { key: '/sys/fs/cgroup', val: '/sys/fs/cgroup' }, { key: '/proc/kcore', val: '/dev/null' }]);
    const placement = { dirs: ['/sys/fs/cgroup/berth/c2'], made: [], unified: '/sys/fs/cgroup/berth/c2' };
    const restore = restoreMounts(l, root, placement);
    assert.deepEqual(restore.slice(0, 3), [
      { key: '/real/conf', val: '/bundle/data' },
      { key: '/sys/fs/cgroup', val: '/sys/fs/cgroup/berth/c2' },
      { key: '/dev/null', val: '/dev/null' },
    ]);
    assert.deepEqual(restore.find((m) => m.key === '/dev/fuse'), { key: '/dev/fuse', val: '/dev/fuse' });
  });

  test('org.criu.config names CRIU\'s configuration file, "" none; external namespaces have runc\'s keys', () => {
    const s = spec(false);
    s.annotations = { 'org.criu.config': '' };
    assert.equal(layoutOf(s, '/b', UNIFIED).criuConfig, '');
    assert.equal(externalNsKey('network'), 'extRootNetNS');
    assert.equal(externalNsKey('pid'), 'extRootPidNS');
  });
});

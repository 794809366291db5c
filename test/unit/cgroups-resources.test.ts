// linux.resources -> cgroup files (src/cgroups/resources.ts): runc's v2
// conversions, which files each field reaches on v1 and v2, and clear errors.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Hierarchy } from '../../src/cgroups/hierarchies';
import { blkioToIOWeight, planResourceWrites, sharesToWeight, swapToV2 } from '../../src/cgroups/resources';
import { mergeResources, parseBytes, resourcesFromFlags } from '../../src/container/update';

const v2: Hierarchy[] = [{ version: 2, mountpoint: '/nonexistent/cg', mountRoot: '/', controllers: [], own: '/' }];
const v1: Hierarchy[] = ['memory', 'cpu', 'pids', 'blkio', 'cpuset'].map((c) => ({ version: 1 as const, mountpoint: `/nonexistent/${c}`, mountRoot: '/', controllers: [c], own: '/' }));
const files = (ws: { file: string; value: string }[]) => ws.map((w) => `${w.file}=${w.value}`);

describe('runc conversions for cgroup v2', () => {
  test('cpu.shares -> cpu.weight', () => {
    assert.equal(sharesToWeight(2), 1);
    assert.equal(sharesToWeight(1024), 39);
    assert.equal(sharesToWeight(262144), 10000);
  });
  test('blkio weight -> io.weight', () => {
    assert.equal(blkioToIOWeight(10), 1);
    assert.equal(blkioToIOWeight(500), 4950);
    assert.equal(blkioToIOWeight(1000), 10000);
  });
  test('memory+swap -> swap alone', () => {
    assert.equal(swapToV2(200, 100), 100);
    assert.equal(swapToV2(-1, 100), -1);
    assert.equal(swapToV2(0, -1), -1);
    assert.throws(() => swapToV2(50, 100), /linux.resources.memory.swap: memory\+swap \(50\) must be at least/);
    assert.throws(() => swapToV2(50, undefined), /needs a memory limit/);
  });
});

describe('resource writes', () => {
  const dir = ['/nonexistent/cg/berth/x'];
  test('v2: every field to its file, with the controller to enable', () => {
    const ws = planResourceWrites(v2, dir, {
      memory: { limit: 1 << 20, reservation: 1 << 19 },
      cpu: { shares: 1024, quota: 50000, period: 100000, cpus: '0', mems: '0', burst: 1000, idle: 0 },
      pids: { limit: 10 },
      blockIO: { weight: 500, throttleReadBpsDevice: [{ major: 254, minor: 0, rate: 1048576 }] },
      hugepageLimits: [{ pageSize: '2MB', limit: 0 }],
      rdma: { mlx5_0: { hcaHandles: 3 } },
      unified: { 'memory.high': '1000000' },
    });
    assert.deepEqual(files(ws), [
      'memory.max=1048576', 'memory.low=524288',
      'cpu.weight=39', 'cpu.max=50000 100000', 'cpu.max.burst=1000', 'cpu.idle=0', 'cpuset.cpus=0', 'cpuset.mems=0',
      'pids.max=10', 'io.weight=default 4950', 'io.max=254:0 rbps=1048576', 'hugetlb.2MB.max=0', 'rdma.max=mlx5_0 hca_handle=3',
      'memory.high=1000000',
    ]);
    assert.deepEqual([...new Set(ws.map((w) => w.controller))], ['memory', 'cpu', 'cpuset', 'pids', 'io', 'hugetlb', 'rdma']);
    assert.deepEqual(files(planResourceWrites(v2, dir, { memory: { limit: -1 }, cpu: { quota: -1 } })), ['memory.max=max', 'memory.swap.max=max', 'cpu.max=max']);
  });
  test('v2: clear errors for what cgroup v2 cannot do', () => {
    assert.throws(() => planResourceWrites(v2, dir, { cpu: { realtimeRuntime: 1000 } }), /linux.resources.cpu.realtimeRuntime: realtime scheduling limits do not exist on cgroup v2/);
    assert.throws(() => planResourceWrites(v2, dir, { unified: { '../x.y': '1' } }), /linux.resources.unified\["..\/x.y"\]: not the name of a cgroup file/);
    assert.throws(() => planResourceWrites(v1, ['/nonexistent/memory/x'], { unified: { 'memory.high': '1' } }), /linux.resources.unified: needs a cgroup v2 host/);
  });
  test('v1: the v1 files, memory+swap ordered so memory never exceeds it', () => {
    const dirs = v1.map((h) => `${h.mountpoint}/berth/x`);
    const ws = planResourceWrites(v1, dirs, { memory: { limit: 1 << 20, reservation: 1 }, cpu: { shares: 512, quota: 1000, period: 10000, cpus: '0' }, pids: { limit: 0 } });
    assert.deepEqual(files(ws), ['memory.limit_in_bytes=1048576', 'memory.soft_limit_in_bytes=1', 'cpu.shares=512', 'cpu.cfs_period_us=10000', 'cpu.cfs_quota_us=1000', 'pids.max=max', 'cpuset.cpus=0']);
    // runc's order: a period refused with the old quota is written again after the new quota.
    assert.equal(ws.find((w) => w.file === 'cpu.cfs_period_us')?.againAfterNext, true);
    const alone = planResourceWrites(v1, dirs, { cpu: { period: 10000 } });
    assert.equal(alone.find((w) => w.file === 'cpu.cfs_period_us')?.againAfterNext, false, 'without a quota, nothing comes after it');
  });
  test('v1: a memory limit or reservation of 0 is unset and left as it is (docker update sends 0s; runc skips them)', () => {
    const dirs = v1.map((h) => `${h.mountpoint}/berth/x`);
    // What `docker update --pids-limit 20 --cpus 0.5` sends for a container without memory limits.
    const ws = planResourceWrites(v1, dirs, { memory: { limit: 0, reservation: 0, swap: 0, kernel: 0 }, cpu: { shares: 0, quota: 50000, period: 100000 }, pids: { limit: 20 }, blockIO: { weight: 0 } }, { forUpdate: true });
    assert.deepEqual(files(ws), ['cpu.cfs_period_us=100000', 'cpu.cfs_quota_us=50000', 'pids.max=20']);
  });
});

describe('update flags', () => {
  test('sizes as runc takes them', () => {
    assert.equal(parseBytes('512m', 'memory'), 512 * 1024 * 1024);
    assert.equal(parseBytes('1.5G', 'memory'), 1.5 * 1024 ** 3);
    assert.equal(parseBytes('4096', 'memory'), 4096);
    assert.equal(parseBytes('-1', 'memory'), -1);
    assert.throws(() => parseBytes('lots', 'memory'), /--memory: invalid size "lots"/);
  });
  test('flags become resources, over the --resources document', () => {
    const r = resourcesFromFlags({ memory: '1m', 'cpu-share': '100', 'cpu-quota': '-1', 'pids-limit': '5', 'cpuset-cpus': '0-1' });
    assert.deepEqual(r, { memory: { limit: 1048576 }, cpu: { shares: 100, quota: -1, cpus: '0-1' }, pids: { limit: 5 } });
    assert.deepEqual(mergeResources({ memory: { limit: 1, reservation: 2 }, pids: { limit: 3 } }, { memory: { limit: 5 } }), { memory: { limit: 5, reservation: 2 }, pids: { limit: 3 } });
    assert.throws(() => resourcesFromFlags({ 'cpu-quota': 'x' }), /--cpu-quota: not an integer/);
  });
});

describe('device filter for cgroup v2', () => {
  const { deviceAllowed, deviceFilterProgram } = require('../../src/cgroups/devices-bpf') as typeof import('../../src/cgroups/devices-bpf');
  const { DEFAULT_ALLOWED_DEVICES } = require('../../src/cgroups/placement') as typeof import('../../src/cgroups/placement');
  const rules = [{ allow: false, access: 'rwm' }, { allow: true, type: 'b', major: 254, minor: 0, access: 'r' }, ...DEFAULT_ALLOWED_DEVICES];
  test('later rules override earlier ones; an allow must grant every access asked for', () => {
    assert.equal(deviceAllowed(rules, 'c', 1, 3, 'rw'), true, '/dev/null');
    assert.equal(deviceAllowed(rules, 'c', 1, 1, 'r'), false, '/dev/mem');
    assert.equal(deviceAllowed(rules, 'b', 254, 0, 'r'), true);
    assert.equal(deviceAllowed(rules, 'b', 254, 0, 'rw'), false, 'write was not granted');
    assert.equal(deviceAllowed(rules, 'b', 8, 0, 'm'), true, 'mknod of anything (runc default)');
    assert.equal(deviceAllowed([...rules, { allow: false, type: 'c', major: 1, minor: 3, access: 'w' }], 'c', 1, 3, 'rw'), false, 'a later deny of w');
    assert.equal(deviceAllowed([{ allow: true, access: 'rwm' }], 'b', 8, 0, 'rw'), true, 'allow all');
  });
  test('as on v1: rules on one device combine, a deny takes access off, an "all" rule starts over', () => {
    const null_ = (access: string) => ({ allow: true, type: 'c', major: 1, minor: 3, access });
    const deny = { allow: false, access: 'rwm' };
    assert.equal(deviceAllowed([deny, null_('r'), null_('w')], 'c', 1, 3, 'rw'), true, 'r then w: rw');
    assert.equal(deviceAllowed([deny, null_('rw'), { ...null_('w'), allow: false }], 'c', 1, 3, 'r'), true);
    assert.equal(deviceAllowed([deny, null_('rw'), { ...null_('w'), allow: false }], 'c', 1, 3, 'w'), false);
    assert.equal(deviceAllowed([deny, null_('rw'), deny], 'c', 1, 3, 'r'), false, 'deny all clears');
    const allowAll = [{ allow: true, access: 'rwm' }, { ...null_('w'), allow: false }];
    assert.equal(deviceAllowed(allowAll, 'c', 1, 3, 'r'), true, 'allow by default');
    assert.equal(deviceAllowed(allowAll, 'c', 1, 3, 'rw'), false, 'unless a deny names any of it');
    assert.equal(deviceAllowed(allowAll, 'c', 1, 5, 'rw'), true);
  });
  test('the program decides as the model does, request by request (run by a small BPF interpreter)', () => {
    // The instructions the generator uses: ldx w, and32/rsh32 k, mov64 x/k, jne/jeq k, exit.
    const run = (prog: Buffer, type: number, access: number, major: number, minor: number): number => {
      const ctx = [(access << 16) | type, major, minor];
      const r = new Array<number>(11).fill(0);
      for (let pc = 0; ; pc++) {
        const code = prog.readUInt8(pc * 8), regs = prog.readUInt8(pc * 8 + 1);
        const dst = regs & 0xf, src = regs >> 4, off = prog.readInt16LE(pc * 8 + 2), imm = prog.readInt32LE(pc * 8 + 4);
        if (code === 0x61) r[dst] = ctx[off / 4] >>> 0;
        else if (code === 0x54) r[dst] = (r[dst] & imm) >>> 0;
        else if (code === 0x74) r[dst] = r[dst] >>> imm;
        else if (code === 0xbf) r[dst] = r[src];
        else if (code === 0xb7) r[dst] = imm;
        else if (code === 0x55) pc += r[dst] !== imm >>> 0 ? off : 0;
        else if (code === 0x15) pc += r[dst] === imm >>> 0 ? off : 0;
        else if (code === 0x95) return r[0];
        else throw new Error(`unknown instruction 0x${code.toString(16)}`);
      }
    };
    const ruleSets = [
      rules,
      [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'r' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'w' }],
      [{ allow: true, access: 'rwm' }, { allow: false, type: 'c', major: 1, access: 'w' }, { allow: false, type: 'b', access: 'm' }],
      [{ allow: true, type: 'c', access: 'rwm' }, { allow: false, type: 'c', major: 5, minor: 1, access: 'rw' }],
    ];
    for (const set of ruleSets) {
      const prog = deviceFilterProgram(set);
      for (const [t, tn] of [['b', 1], ['c', 2]] as const)
        for (const [major, minor] of [[1, 3], [1, 9], [5, 1], [254, 0], [8, 0], [136, 4]])
          for (let acc = 1; acc < 8; acc++) {
            const access = ['m', 'r', 'w'].filter((_, i) => acc & (1 << i)).join('');
            assert.equal(run(prog, tn, acc, major, minor) === 1, deviceAllowed(set, t, major, minor, access), `${JSON.stringify(set)}: ${t} ${major}:${minor} ${access}`);
          }
    }
  });

  test('the program: a prologue, one block per rule, deny at the end', () => {
    const p = deviceFilterProgram(rules);
    assert.equal(p.length % 8, 0);
    assert.equal(p.readUInt8(p.length - 8), 0x95, 'ends in exit');
    assert.equal(p.readInt32LE(p.length - 12), 0, 'r0 = 0 (deny) before it');
  });
});

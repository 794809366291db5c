// Resources the kernel enforces, on whichever cgroup version the host has (the v2
// lane runs this file on a pure cgroup2 host): update with flags and --resources,
// refused values name the field and leave nothing half-applied, an OOM kill at the
// memory limit, a device outside the allowlist cannot be opened.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { dirFor, hierarchies, isUnified } from '../../src/cgroups/hierarchies';
import { useValidators } from '../../src/spec/validate';
import { makeBundle } from '../fixtures/bundle';
import { leftovers } from '../fixtures/leftovers';
import { BERTH, repoRoot, runRuntime } from '../fixtures/runtime';
import { waitUntil } from '../fixtures/wait';

let root: string;
const berth = (...args: string[]) => runRuntime(BERTH, root, args);
let n = 0;
const newId = () => `rs-${process.pid}-${n++}`;
const unified = isUnified(hierarchies());

before(() => {
  root = mkdtempSync('/tmp/berth-root-');
  useValidators(require(join(repoRoot(), 'dist/validators.js')));
});
after(() => rmSync(root, { recursive: true, force: true }));

/** A cgroup file of container id: v1 name in the controller's hierarchy, or the v2 name. */
function cgFile(id: string, controller: string, v1: string, v2: string): string {
  const h = hierarchies().find((x) => (unified ? x.version === 2 : x.controllers.includes(controller)))!;
  return join(dirFor(h, `/berth/${id}`), unified ? v2 : v1);
}
const read = (id: string, controller: string, v1: string, v2: string) => readFileSync(cgFile(id, controller, v1, v2), 'latin1').trim();
const memLimit = (id: string) => read(id, 'memory', 'memory.limit_in_bytes', 'memory.max');
const status = (id: string) => JSON.parse(berth('state', id).stdout).status as string;

describe('update', () => {
  test('flags, --resources FILE, --resources=FILE and --resources - (stdin) change the limits', () => {
    const b = makeBundle({ args: ['sleep', '1000'] });
    const id = newId();
    const file = join(b.dir, 'resources.json');
    try {
      assert.equal(berth('create', '--bundle', b.dir, id).code, 0);
      let r = berth('update', '--memory', '100m', '--pids-limit', '50', '--cpu-quota', '50000', '--cpu-period', '100000', '--cpu-share', '512', '--cpuset-cpus', '0', id);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(memLimit(id), String(100 * 1024 * 1024));
      assert.equal(read(id, 'pids', 'pids.max', 'pids.max'), '50');
      assert.equal(read(id, 'cpu', 'cpu.cfs_quota_us', 'cpu.max'), unified ? '50000 100000' : '50000');
      assert.equal(read(id, 'cpu', 'cpu.shares', 'cpu.weight'), unified ? '20' : '512');
      assert.equal(read(id, 'cpuset', 'cpuset.cpus', 'cpuset.cpus'), '0');
      writeFileSync(file, JSON.stringify({ memory: { limit: 64 * 1024 * 1024 }, pids: { limit: 60 } }));
      r = berth('update', '--resources', file, id);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(memLimit(id), String(64 * 1024 * 1024));
      r = berth('update', `--resources=${file}`, '--pids-limit', '61', id);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(read(id, 'pids', 'pids.max', 'pids.max'), '61', 'flags go over the document');
      r = runRuntime(BERTH, root, ['update', '-r', '-', id], { input: JSON.stringify({ pids: { limit: 62 } }) });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(read(id, 'pids', 'pids.max', 'pids.max'), '62');
      r = runRuntime(BERTH, root, ['update', '-r', '-', id], { input: '{"pids":{"limit":"many"}}' });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /\/pids\/limit: must be integer/);
    } finally {
      berth('delete', '--force', id);
      b.cleanup();
    }
  });

  test('an update builds on the limits in force: a swap limit alone is memory+swap over the last memory limit', () => {
    const b = makeBundle({ args: ['sleep', '1000'] });
    const id = newId();
    try {
      assert.equal(berth('create', '--bundle', b.dir, id).code, 0);
      let r = berth('update', '--memory', '64m', id);
      assert.equal(r.code, 0, r.stderr);
      r = berth('update', '--memory-swap', '96m', id);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(memLimit(id), String(64 * 1024 * 1024));
      // v1 counts memory+swap; v2's memory.swap.max is the swap alone.
      assert.equal(read(id, 'memory', 'memory.memsw.limit_in_bytes', 'memory.swap.max'), String((unified ? 32 : 96) * 1024 * 1024));
    } finally {
      berth('delete', '--force', id);
      b.cleanup();
    }
  });

  test('a value the kernel refuses names the field, and the earlier values are put back', () => {
    const b = makeBundle({ args: ['sleep', '1000'], mutate: (s) => (s.linux.resources = { ...s.linux.resources, memory: { limit: 100 * 1024 * 1024 } }) });
    const id = newId();
    try {
      assert.equal(berth('run', '-d', '--bundle', b.dir, id).code, 0);
      const r = berth('update', '--memory', '200m', '--pids-limit', '9', '--cpuset-cpus', '999', id);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /setting linux\.resources\.cpu\.cpus \(.*cpuset\.cpus = "999"\): /);
      assert.equal(memLimit(id), String(100 * 1024 * 1024), 'memory back to its old limit');
      assert.notEqual(read(id, 'pids', 'pids.max', 'pids.max'), '9', 'pids back to its old limit');
      assert.equal(berth('kill', id, 'KILL').code, 0);
      waitUntil(() => status(id) === 'stopped', 'the container stopped');
      const s = berth('update', '--memory', '1g', id);
      assert.equal(s.code, 1);
      assert.match(s.stderr, /cannot update container .*: it is stopped/);
    } finally {
      berth('delete', '--force', id);
      b.cleanup();
    }
  });

  test('v1: cpu period and quota in a pod cgroup whose parent has a quota: written in runc\'s order, so a shorter period applies', (t) => {
    const cpu = hierarchies().find((h) => h.version === 1 && h.controllers.includes('cpu'));
    if (!cpu) return t.skip('v1 cpu only: cgroup v2 writes quota and period together (cpu.max) and caps a child by its parent');
    const id = newId();
    const pod = dirFor(cpu, `/${id}-pod`);
    mkdirSync(pod);
    // The pod may use half a CPU; the container asks for all of it.
    writeFileSync(join(pod, 'cpu.cfs_quota_us'), '50000');
    const b = makeBundle({
      args: ['sleep', '1000'],
      mutate: (s) => {
        s.linux.cgroupsPath = `/${id}-pod/c`;
        s.linux.resources = { ...s.linux.resources, cpu: { quota: 50000, period: 100000 } };
      },
    });
    const cg = (f: string) => readFileSync(join(pod, 'c', f), 'latin1').trim();
    try {
      assert.equal(berth('create', '--bundle', b.dir, id).code, 0);
      // A shorter period first would be 50000/50000, a whole CPU, over the pod's half (EINVAL).
      let r = berth('update', '--cpu-period', '50000', '--cpu-quota', '25000', id);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual([cg('cpu.cfs_quota_us'), cg('cpu.cfs_period_us')], ['25000', '50000']);
      r = berth('update', '--cpu-period', '200000', '--cpu-quota', '100000', id);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual([cg('cpu.cfs_quota_us'), cg('cpu.cfs_period_us')], ['100000', '200000']);
      // Over the pod's quota is refused, named, and nothing changes.
      r = berth('update', '--cpu-period', '100000', '--cpu-quota', '100000', id);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /setting linux\.resources\.cpu\.(period|quota) .*: invalid argument/);
      assert.deepEqual([cg('cpu.cfs_quota_us'), cg('cpu.cfs_period_us')], ['100000', '200000']);
    } finally {
      berth('delete', '--force', id);
      b.cleanup();
      rmdirSync(pod);
    }
  });
});

describe('create with resources', () => {
  test('linux.resources.unified on a host with v1 hierarchies fails create naming the field; nothing is left', (t) => {
    if (unified) return t.skip('hosts with cgroup v1 hierarchies only (on v2 the field applies; see the v2 test below)');
    const b = makeBundle({ args: ['true'], mutate: (s) => (s.linux.resources = { ...s.linux.resources, unified: { 'memory.high': '100000000' } }) });
    const id = newId();
    try {
      const r = berth('create', '--bundle', b.dir, id);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^berth: linux\.resources\.unified: needs a cgroup v2 host/m);
      assert.deepEqual(leftovers(root, id, b.dir), []);
    } finally {
      berth('delete', '--force', id);
      b.cleanup();
    }
  });

  test('a refused value fails create with the field named; nothing is left', () => {
    const b = makeBundle({ args: ['true'], mutate: (s) => (s.linux.resources = { ...s.linux.resources, cpu: { cpus: '999' } }) });
    const id = newId();
    try {
      const r = berth('create', '--bundle', b.dir, id);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /linux\.resources\.cpu\.cpus/);
      assert.deepEqual(leftovers(root, id, b.dir), []);
    } finally {
      berth('delete', '--force', id);
      b.cleanup();
    }
  });

  test('v2: blockIO, cpu, unified and swap reach their cgroup2 files (io.max on the VM\'s /dev/vda)', (t) => {
    if (!unified) return t.skip('cgroup v2 only (the v2 lane runs it)');
    const vda = existsSync('/dev/vda') ? statSync('/dev/vda').rdev : undefined;
    const dev = vda === undefined ? undefined : { major: Math.floor(vda / 256) & 0xfff, minor: (vda & 0xff) | ((vda >> 12) & 0xfff00) };
    const b = makeBundle({
      args: ['sleep', '1000'],
      mutate: (s) =>
        (s.linux.resources = {
          ...s.linux.resources,
          memory: { limit: 64 << 20, swap: 96 << 20, reservation: 16 << 20 },
          cpu: { shares: 2048, quota: 20000, period: 100000, burst: 5000 },
          blockIO: { weight: 500, ...(dev && { throttleReadBpsDevice: [{ ...dev, rate: 1 << 20 }], throttleWriteIOPSDevice: [{ ...dev, rate: 100 }] }) },
          unified: { 'memory.high': String(48 << 20), 'pids.max': '33' },
        }),
    });
    const id = newId();
    try {
      const r = berth('create', '--bundle', b.dir, id);
      assert.equal(r.code, 0, r.stderr);
      const f = (name: string) => read(id, '', '', name);
      assert.equal(f('memory.swap.max'), String(32 << 20), 'swap = memory+swap - memory');
      assert.equal(f('memory.low'), String(16 << 20));
      assert.equal(f('memory.high'), String(48 << 20), 'unified');
      assert.equal(f('pids.max'), '33', 'unified');
      assert.equal(f('cpu.weight'), '79');
      assert.equal(f('cpu.max'), '20000 100000');
      assert.equal(f('cpu.max.burst'), '5000');
      if (dev) assert.match(f('io.max'), new RegExp(`^${dev.major}:${dev.minor} rbps=1048576 wbps=max riops=max wiops=100$`, 'm'));
      const bad = makeBundle({ args: ['true'], mutate: (s) => (s.linux.resources = { ...s.linux.resources, unified: { 'nosuch.knob': '1' } }) });
      try {
        const e = berth('create', '--bundle', bad.dir, `${id}-bad`);
        assert.equal(e.code, 1);
        assert.match(e.stderr, /linux\.resources\.unified\["nosuch\.knob"\]: the cgroup2 controller "nosuch" is not available/);
        assert.deepEqual(leftovers(root, `${id}-bad`, bad.dir), []);
      } finally {
        berth('delete', '--force', `${id}-bad`);
        bad.cleanup();
      }
    } finally {
      berth('delete', '--force', id);
      b.cleanup();
    }
  });

  test('the kernel kills a container over its memory limit (OOM)', () => {
    const b = makeBundle({
      args: ['tail', '/dev/zero'],
      mutate: (s) => (s.linux.resources = { ...s.linux.resources, memory: { limit: 16 * 1024 * 1024, swap: 16 * 1024 * 1024 } }),
    });
    const id = newId();
    try {
      assert.equal(berth('run', '-d', '--bundle', b.dir, id).code, 0);
      waitUntil(() => status(id) === 'stopped', 'the container is OOM-killed');
      const events = unified ? read(id, 'memory', '', 'memory.events') : read(id, 'memory', 'memory.oom_control', '');
      assert.match(events, /^oom_kill [1-9]/m);
    } finally {
      berth('delete', '--force', id);
      b.cleanup();
    }
  });

  test('a device node without an allow rule cannot be opened (v1 devices.deny, v2 eBPF)', () => {
    const b = makeBundle({
      args: ['sh', '-c', 'head -c 1 /dev/kmem-like >/dev/null && echo opened; head -c 1 /dev/null; echo null-ok'],
      mutate: (s) => {
        s.linux.devices = [{ path: '/dev/kmem-like', type: 'c', major: 1, minor: 1, fileMode: 0o600 }];
        s.linux.resources = { ...s.linux.resources, devices: [{ allow: false, access: 'rwm' }] };
      },
    });
    try {
      const r = berth('run', '--bundle', b.dir, newId());
      assert.doesNotMatch(r.stdout, /opened/);
      assert.match(r.stderr, /Operation not permitted/);
      assert.match(r.stdout, /null-ok/);
    } finally {
      b.cleanup();
    }
  });
});

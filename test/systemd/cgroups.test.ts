// The systemd cgroup driver (--systemd-cgroup) against a real systemd: the
// systemd lane (npm run test:systemd) runs this file in a VM with systemd as
// PID 1 on pure cgroup v2. Each container's unit must show the limits
// (systemctl show) that its cgroup files hold, follow update and pause, and be
// gone with everything else after delete. Elsewhere (no systemd) it is skipped,
// saying so; inside the lane (BERTH_SYSTEMD_LANE=1) a missing systemd fails.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Connection, systemBusPath } from '../../src/cgroups/systemd/dbus';
import { systemdVersion } from '../../src/cgroups/systemd/driver';
import type { SpecObject } from '../../src/spec/defaults';
import { useValidators } from '../../src/spec/validate';
import { makeBundle, type Bundle } from '../fixtures/bundle';
import { criuProblem } from '../fixtures/criu';
import { findCgroupDirs, leftovers } from '../fixtures/leftovers';
import { BERTH, repoRoot, runRuntime, type RunOptions } from '../fixtures/runtime';

const lane = process.env.BERTH_SYSTEMD_LANE === '1';
const systemdHere = existsSync('/run/systemd/system');
const skip = !systemdHere && !lane ? 'systemd is not running here: this file runs in the systemd lane (npm run test:systemd)' : false;

let root: string;
const berth = (args: string[], o?: RunOptions) => runRuntime(BERTH, root, ['--systemd-cgroup', ...args], o);
const plain = (...args: string[]) => runRuntime(BERTH, root, args);
let n = 0;
const newId = () => `sd${process.pid}x${n++}`;
const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, SYSTEMD_PAGER: 'cat', PAGER: 'cat', SYSTEMD_COLORS: '0' } });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** systemctl show UNIT -p A,B,...: the values by name (a list's entries one a line). */
function show(unit: string, props: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of sh('systemctl', ['show', unit, '--no-pager', '-p', props.join(',')]).split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) out[line.slice(0, i)] = out[line.slice(0, i)] === undefined ? line.slice(i + 1) : `${out[line.slice(0, i)]}\n${line.slice(i + 1)}`;
  }
  return out;
}

/** Units systemd has loaded whose name mentions the id. */
function unitsOf(id: string): string[] {
  return sh('systemctl', ['list-units', '--all', '--plain', '--no-legend', '--no-pager'])
    .split('\n')
    .filter((l) => l.includes(id))
    .map((l) => l.trim());
}

/** Everything of a container left on the host: state, units, cgroups, processes. */
function nothingLeft(id: string, b?: Bundle): void {
  const left = [...leftovers(root, id, b?.dir), ...unitsOf(id).map((u) => `unit ${u}`)];
  for (const d of findCgroupDirs((name) => name.includes(id))) left.push(`cgroup ${d}`);
  for (const p of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      if (readFileSync(`/proc/${p}/cgroup`, 'utf8').includes(id)) left.push(`process ${p} in a cgroup of ${id}`);
    } catch {
      // gone
    }
  }
  assert.deepEqual(left, []);
}

const cgroupOf = (pid: number) => readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim();
const file = (dir: string, f: string) => readFileSync(join('/sys/fs/cgroup', dir, f), 'utf8').trim();
const state = (id: string) => JSON.parse(plain('state', id).stdout) as { status: string; pid: number };

/** A config without a cgroup namespace, so the container's /proc/self/cgroup shows the host's path. */
function noCgroupNs(s: SpecObject): void {
  s.linux.namespaces = s.linux.namespaces.filter((x: { type: string }) => x.type !== 'cgroup');
}

function setCgroupsPath(b: Bundle, path: string): void {
  const spec = JSON.parse(readFileSync(b.config, 'utf8'));
  spec.linux.cgroupsPath = path;
  writeFileSync(b.config, JSON.stringify(spec));
}

describe('the systemd cgroup driver', { skip }, () => {
  before(() => {
    root = mkdtempSync('/tmp/berth-sd-root-');
    useValidators(require(join(repoRoot(), 'dist/validators.js')));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test('features says the driver works here', () => {
    const f = JSON.parse(plain('features').stdout);
    assert.equal(f.linux.cgroup.systemd, true);
  });

  test('the version probe reads what systemctl --version says (the properties that depend on it, below, need it)', () => {
    const bus = new Connection(systemBusPath(), () => Date.now() + 10_000);
    try {
      assert.equal(systemdVersion(bus), Number(/^systemd (\d+)/.exec(sh('systemctl', ['--version']))![1]));
    } finally {
      bus.close();
    }
  });

  test('a scope in its slice: limits in systemctl show and in the files; exec, ps, events, update, pause/resume; delete leaves no unit', () => {
    const id = newId();
    const unit = `berthtest-${id}.scope`;
    const cg = `system.slice/${unit}`;
    const b = makeBundle({
      args: ['sleep', '1000'],
      mutate: (s) => {
        noCgroupNs(s);
        s.linux.cgroupsPath = `system.slice:berthtest:${id}`;
        s.linux.resources = {
          ...s.linux.resources,
          memory: { limit: 64 << 20, reservation: 32 << 20 },
          cpu: { shares: 1024, quota: 12345, period: 100000, cpus: '0' },
          pids: { limit: 42 },
        };
      },
    });
    try {
      const c = berth(['create', '--bundle', b.dir, id]);
      assert.equal(c.code, 0, c.stderr);
      const { pid } = state(id);
      assert.equal(cgroupOf(pid), `0::/${cg}`);
      const p = show(unit, ['ActiveState', 'Slice', 'Delegate', 'Description', 'MemoryMax', 'MemoryLow', 'TasksMax', 'CPUWeight', 'CPUQuotaPerSecUSec', 'CPUQuotaPeriodUSec', 'AllowedCPUs', 'DevicePolicy', 'DeviceAllow']);
      assert.deepEqual({ ...p, DeviceAllow: undefined }, {
        ActiveState: 'active', Slice: 'system.slice', Delegate: 'yes', Description: `berth container ${id}`,
        MemoryMax: String(64 << 20), MemoryLow: String(32 << 20), TasksMax: '42', CPUWeight: '39',
        CPUQuotaPerSecUSec: '130ms', CPUQuotaPeriodUSec: '100ms', AllowedCPUs: '0', DevicePolicy: 'strict', DeviceAllow: undefined,
      });
      // the config's rules (runc's spec: deny all) and berth's defaults, as runc words them
      assert.deepEqual(p.DeviceAllow.split('\n').sort(), ['/dev/char/1:3 rwm', '/dev/char/1:5 rwm', '/dev/char/1:7 rwm', '/dev/char/1:8 rwm', '/dev/char/1:9 rwm',
        '/dev/char/5:0 rwm', '/dev/char/5:1 rwm', '/dev/char/5:2 rwm', 'block-* m', 'char-* m', 'char-pts rwm']);
      // berth writes what systemd rounds or cannot say: the exact quota.
      assert.deepEqual(['memory.max', 'memory.low', 'pids.max', 'cpu.weight', 'cpu.max', 'cpuset.cpus'].map((f) => file(cg, f)),
        [String(64 << 20), String(32 << 20), '42', '39', '12345 100000', '0']);

      assert.equal(plain('start', id).code, 0);
      const ex = plain('exec', id, 'cat', '/proc/self/cgroup');
      assert.equal(ex.code, 0, ex.stderr);
      assert.equal(ex.stdout.trim(), `0::/${cg}`);
      assert.deepEqual(JSON.parse(plain('ps', '--format', 'json', id).stdout), [pid]);
      const ev = JSON.parse(plain('events', '--stats', id).stdout);
      assert.equal(ev.data.pids.limit, 42);
      assert.equal(ev.data.memory.usage.limit, 64 << 20);

      const u = plain('update', '--memory', '128m', '--pids-limit', '50', '--cpu-quota', '20000', id);
      assert.equal(u.code, 0, u.stderr);
      assert.deepEqual(show(unit, ['MemoryMax', 'TasksMax', 'CPUQuotaPerSecUSec']), { MemoryMax: String(128 << 20), TasksMax: '50', CPUQuotaPerSecUSec: '200ms' });
      assert.deepEqual(['memory.max', 'pids.max', 'cpu.max'].map((f) => file(cg, f)), [String(128 << 20), '50', '20000 100000']);

      assert.equal(plain('pause', id).code, 0);
      assert.equal(state(id).status, 'paused');
      assert.match(file(cg, 'cgroup.events'), /^frozen 1$/m);
      assert.equal(plain('resume', id).code, 0);
      assert.equal(state(id).status, 'running');

      assert.equal(plain('kill', id, 'KILL').code, 0);
      for (let i = 0; i < 200 && state(id).status !== 'stopped'; i++) sleep(20);
      const d = plain('delete', id);
      assert.equal(d.code, 0, d.stderr);
      assert.equal(show(unit, ['LoadState']).LoadState, 'not-found');
      nothingLeft(id, b);
    } finally {
      plain('delete', '--force', id);
      b.cleanup();
    }
  });

  test('no cgroupsPath: berth-ID.scope in system.slice; annotations become unit properties; no device rules, no policy; run returns the exit code', () => {
    const id = newId();
    const b = makeBundle({
      args: ['sh', '-c', 'cat /proc/self/cgroup; exit 3'],
      mutate: (s) => {
        noCgroupNs(s);
        delete s.linux.cgroupsPath;
        delete s.linux.resources?.devices;
        s.annotations = { 'org.systemd.property.CollectMode': "'inactive-or-failed'", 'org.systemd.property.TimeoutStopSec': '7' };
      },
    });
    try {
      // created: the init waits, so the unit is there to look at
      const r = berth(['create', '--bundle', b.dir, id]);
      assert.equal(r.code, 0, r.stderr);
      const unit = `berth-${id}.scope`;
      // (an empty DeviceAllow is no line at all)
      assert.deepEqual(show(unit, ['CollectMode', 'TimeoutStopUSec', 'DevicePolicy', 'DeviceAllow']), { CollectMode: 'inactive-or-failed', TimeoutStopUSec: '7s', DevicePolicy: 'auto' });
      assert.equal(plain('delete', '--force', id).code, 0);
      nothingLeft(id, b);
      const fg = berth(['run', '--bundle', b.dir, id]);
      assert.equal(fg.code, 3, fg.stderr);
      assert.equal(fg.stdout.trim(), `0::/system.slice/${unit}`);
      nothingLeft(id, b);
    } finally {
      plain('delete', '--force', id);
      b.cleanup();
    }
  });

  test('a nested slice is made where systemd nests it; a name ending in .slice makes a slice', () => {
    const id = newId();
    // (the parent slices stay, as under runc: named apart from the id, so nothingLeft does not see them)
    const slice = `berthtest-nest${process.pid}.slice`;
    const sliceUnit = `berthtest${id}.slice`;
    const b = makeBundle({ args: ['cat', '/proc/self/cgroup'], mutate: noCgroupNs });
    try {
      setCgroupsPath(b, `${slice}:p:${id}`);
      const r = berth(['run', '--bundle', b.dir, id]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim(), `0::/berthtest.slice/${slice}/p-${id}.scope`);
      nothingLeft(id, b);
      setCgroupsPath(b, `system.slice::${sliceUnit}`);
      const s2 = berth(['run', '--bundle', b.dir, id]);
      assert.equal(s2.code, 0, s2.stderr);
      assert.equal(s2.stdout.trim(), `0::/${sliceUnit}`);
      nothingLeft(id, b);
    } finally {
      plain('delete', '--force', id);
      // The parent slices systemd made for the scope stay, as under runc: ours to remove.
      spawnSync('systemctl', ['stop', slice, 'berthtest.slice', sliceUnit]);
      b.cleanup();
    }
  });

  test('checkpoint, then restore --systemd-cgroup: CRIU starts in a new unit, the restored init is in it with the limits; delete leaves no unit', () => {
    const why = criuProblem();
    assert.equal(why, '', 'CRIU must work in the lane');
    const id = newId();
    const unit = `berthtest-${id}.scope`;
    const cg = `system.slice/${unit}`;
    const b = makeBundle({
      // stdio on the container's own /dev/null: nothing of the host's for CRIU to dump
      args: ['sh', '-c', 'exec sleep 1000 </dev/null >/dev/null 2>&1'],
      mutate: (s) => {
        noCgroupNs(s);
        s.linux.cgroupsPath = `system.slice:berthtest:${id}`;
        s.linux.resources = { ...s.linux.resources, memory: { limit: 64 << 20 }, pids: { limit: 42 } };
      },
    });
    const img = mkdtempSync('/tmp/berth-sd-img-');
    try {
      const r = berth(['run', '-d', '--bundle', b.dir, id]);
      assert.equal(r.code, 0, r.stderr);
      const cp = plain('checkpoint', '--image-path', img, '--work-path', img, id);
      assert.equal(cp.code, 0, cp.stderr);
      assert.equal(show(unit, ['LoadState']).LoadState, 'not-found');
      const rs = berth(['restore', '-d', '--bundle', b.dir, '--image-path', img, '--work-path', img, id]);
      assert.equal(rs.code, 0, rs.stderr);
      const { pid, status } = state(id);
      assert.equal(status, 'running');
      // (its host pid is new: CRIU keeps the pid in the container's own pid namespace)
      assert.equal(cgroupOf(pid), `0::/${cg}`);
      assert.deepEqual(show(unit, ['ActiveState', 'MemoryMax', 'TasksMax']), { ActiveState: 'active', MemoryMax: String(64 << 20), TasksMax: '42' });
      assert.deepEqual(['memory.max', 'pids.max'].map((f) => file(cg, f)), [String(64 << 20), '42']);
      const d = plain('delete', '--force', id);
      assert.equal(d.code, 0, d.stderr);
      assert.equal(show(unit, ['LoadState']).LoadState, 'not-found');
      nothingLeft(id, b);
    } finally {
      plain('delete', '--force', id);
      rmSync(img, { recursive: true, force: true });
      b.cleanup();
    }
  });

  test('a unit systemd refuses fails create, naming the cause; nothing is left', () => {
    const id = newId();
    const b = makeBundle({ args: ['true'], mutate: (s) => (s.annotations = { 'org.systemd.property.NoSuchProperty': 'true' }) });
    try {
      const r = berth(['create', '--bundle', b.dir, id]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`creating the systemd unit berth-${id}\\.scope \\(linux\\.cgroupsPath\\): .*NoSuchProperty`));
      nothingLeft(id, b);
    } finally {
      plain('delete', '--force', id);
      b.cleanup();
    }
  });

  test('a system bus that does not answer: create fails after a bounded time, nothing is left', () => {
    const id = newId();
    const b = makeBundle({ args: ['true'] });
    const bus = Number(show('dbus.service', ['MainPID']).MainPID);
    assert.ok(bus > 0, 'dbus.service runs');
    try {
      process.kill(bus, 'SIGSTOP');
      const r = berth(['create', '--bundle', b.dir, id], { timeoutMs: 180_000 });
      process.kill(bus, 'SIGCONT');
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`creating the systemd unit berth-${id}\\.scope \\(linux\\.cgroupsPath\\): connecting to the system bus at /run/dbus/system_bus_socket: no answer within 30 s`));
      nothingLeft(id, b);
    } finally {
      process.kill(bus, 'SIGCONT');
      plain('delete', '--force', id);
      b.cleanup();
    }
  });
});


// The systemd driver's pure parts (unit names and slices, properties from
// resources and annotations) and its D-Bus client, against a private
// dbus-daemon: the daemon checks every message it is sent against its
// signature, so a call it answers was marshalled right. The driver itself runs
// against systemd in the systemd lane (test/systemd/).
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { busUid, Connection, DBusError, DBusTimeout, decodeMessage, encodeCall, sessionBusPath, splitSignature, systemBusPath } from '../../src/cgroups/systemd/dbus';
import { annotationProperties, deviceProperties, listToMask, parseGVariant, resourceProperties, systemdVersionNumber } from '../../src/cgroups/systemd/properties';
import { expandSlice, unitPlace } from '../../src/cgroups/systemd/unit';
import { DEFAULT_ALLOWED_DEVICES } from '../../src/cgroups/placement';

const INF = 0xffffffffffffffffn;
/** The lane's systemd (Debian 12): every property berth knows. */
const SD = 252;
const props = (ps: [string, [string, unknown]][]) => Object.fromEntries(ps.map(([k, [, v]]) => [k, v]));

describe('systemd unit names (runc\'s slice:prefix:name)', () => {
  test('nested slices expand as systemd nests them', () => {
    assert.equal(expandSlice('system.slice'), '/system.slice');
    assert.equal(expandSlice('a-b-c.slice'), '/a.slice/a-b.slice/a-b-c.slice');
    assert.equal(expandSlice('-.slice'), '/');
    for (const bad of ['a--b.slice', '-a.slice', 'a.scope', '.slice', 'a/b.slice'])
      assert.throws(() => expandSlice(bad), /linux\.cgroupsPath: invalid slice name/, bad);
  });
  test('a scope prefix-name.scope in its slice; a name ending in .slice is a slice', () => {
    assert.deepEqual(unitPlace('system.slice:docker:abc', 'x'), { unit: 'docker-abc.scope', slice: 'system.slice', cgroup: '/system.slice/docker-abc.scope' });
    assert.deepEqual(unitPlace('kubepods-burstable-pod1.slice:cri-containerd:c1', 'x'), {
      unit: 'cri-containerd-c1.scope', slice: 'kubepods-burstable-pod1.slice',
      cgroup: '/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/cri-containerd-c1.scope',
    });
    assert.deepEqual(unitPlace('kubepods.slice::kubepods-pod2.slice', 'x'), { unit: 'kubepods-pod2.slice', slice: 'kubepods.slice', cgroup: '/kubepods.slice/kubepods-pod2.slice' });
  });
  test('empty parts: system.slice, berth-ID.scope', () => {
    assert.deepEqual(unitPlace(undefined, 'c1'), { unit: 'berth-c1.scope', slice: 'system.slice', cgroup: '/system.slice/berth-c1.scope' });
    assert.deepEqual(unitPlace('::c2', 'c1').unit, '-c2.scope');
    assert.equal(unitPlace(':p:n', 'c1').slice, 'system.slice');
    // the user's own systemd (rootless): user.slice, below that manager's cgroup (planSystemd adds it)
    assert.deepEqual(unitPlace(undefined, 'c1', 'user.slice'), { unit: 'berth-c1.scope', slice: 'user.slice', cgroup: '/user.slice/berth-c1.scope' });
  });
  test('anything else is refused, naming the field', () => {
    assert.throws(() => unitPlace('/system.slice/x', 'c'), /linux\.cgroupsPath: expected "slice:prefix:name"/);
    assert.throws(() => unitPlace('a:b:c:d', 'c'), /expected "slice:prefix:name"/);
    assert.throws(() => unitPlace('system.slice:p:a b', 'c'), /not a valid systemd unit name/);
  });
});

describe('unit properties from linux.resources (runc\'s conversions)', () => {
  test('memory, swap, cpu weight and quota, pids, io weight', () => {
    const p = props(resourceProperties({
      memory: { limit: 64 << 20, reservation: 32 << 20, swap: 96 << 20 },
      cpu: { shares: 1024, quota: 12345, period: 100000 },
      pids: { limit: 20 }, blockIO: { weight: 500 },
    }, undefined, SD));
    assert.deepEqual(p, {
      MemoryMax: 64n << 20n, MemoryLow: 32n << 20n, MemorySwapMax: 32n << 20n,
      CPUWeight: 39n, CPUQuotaPeriodUSec: 100000n, CPUQuotaPerSecUSec: 130000n,
      TasksMax: 20n, IOWeight: 4950n,
    });
  });
  test('unlimited is infinity; a quota without a period assumes 100 ms; -1 quota is infinity', () => {
    assert.deepEqual(props(resourceProperties({ memory: { limit: -1 }, pids: { limit: -1 }, cpu: { quota: 50000 } }, undefined, SD)), {
      MemoryMax: INF, MemorySwapMax: INF, TasksMax: INF, CPUQuotaPerSecUSec: 500000n,
    });
    assert.deepEqual(props(resourceProperties({ cpu: { quota: -1, period: 50000 } }, undefined, SD)), { CPUQuotaPeriodUSec: 50000n, CPUQuotaPerSecUSec: INF });
    assert.deepEqual(resourceProperties({ pids: { limit: 0 }, memory: { limit: 0 } }, undefined, SD), []);
  });
  test('cpusets as systemd\'s masks', () => {
    assert.deepEqual([...listToMask('0-3,8', 'f')], [0x0f, 0x01]);
    assert.deepEqual([...listToMask('1', 'f')], [0x02]);
    assert.throws(() => listToMask('3-1', 'linux.resources.cpu.cpus'), /linux\.resources\.cpu\.cpus: invalid list/);
    assert.deepEqual(props(resourceProperties({ cpu: { cpus: '0', mems: '0' } }, undefined, SD)), { AllowedCPUs: [1], AllowedMemoryNodes: [1] });
  });
  test('unified keys systemd knows become properties too', () => {
    assert.deepEqual(props(resourceProperties({ unified: { 'memory.high': '1048576', 'pids.max': 'max', 'cpu.max': '20000 100000', 'io.max': 'x' } }, undefined, SD)), {
      MemoryHigh: 1048576n, TasksMax: INF, CPUQuotaPeriodUSec: 100000n, CPUQuotaPerSecUSec: 200000n,
    });
    assert.throws(() => resourceProperties({ unified: { 'memory.high': 'lots' } }, undefined, SD), /linux\.resources\.unified\["memory\.high"\]: not a number/);
  });
  test('systemd\'s version decides, as runc: CPUQuotaPeriodUSec from 242, AllowedCPUs/AllowedMemoryNodes from 244; older or unknown (-1) leaves them to the files', () => {
    assert.equal(systemdVersionNumber('252.22-1~deb12u1'), 252);
    assert.equal(systemdVersionNumber('v245.4-4ubuntu3'), 245);
    assert.equal(systemdVersionNumber('239 (239-78.el8)'), 239);
    assert.equal(systemdVersionNumber('unknown'), -1);
    const r = { cpu: { quota: 20000, period: 50000, cpus: '0-1', mems: '0' } };
    const u = { unified: { 'cpu.max': '20000 50000', 'cpuset.cpus': '1', 'cpuset.mems': '0' } };
    const names = (v: number, res: object) => Object.keys(props(resourceProperties(res, undefined, v)));
    for (const res of [r, u]) {
      assert.deepEqual(names(244, res), ['CPUQuotaPeriodUSec', 'CPUQuotaPerSecUSec', 'AllowedCPUs', 'AllowedMemoryNodes']);
      assert.deepEqual(names(243, res), ['CPUQuotaPeriodUSec', 'CPUQuotaPerSecUSec']);
      assert.deepEqual(names(241, res), ['CPUQuotaPerSecUSec']);
      assert.deepEqual(names(-1, res), ['CPUQuotaPerSecUSec']);
    }
    // A bad list is still refused, whatever the version.
    assert.throws(() => resourceProperties({ cpu: { cpus: 'x' } }, undefined, 241), /linux\.resources\.cpu\.cpus: invalid list/);
  });
  test('device rules: an allow list for strict, auto for allow-all', () => {
    const rules = [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'rw' }, ...DEFAULT_ALLOWED_DEVICES];
    const p = deviceProperties(rules);
    assert.deepEqual(p[0], ['DevicePolicy', ['s', 'strict']]);
    assert.deepEqual(p[1], ['DeviceAllow', ['a(ss)', []]]);
    const allow = Object.fromEntries(p[2][1][1] as [string, string][]);
    assert.equal(allow['/dev/char/1:3'], 'rwm'); // rw from the config, m from the defaults
    assert.equal(allow['char-*'], 'm');
    assert.equal(allow['block-*'], 'm');
    assert.equal(allow['char-pts'] ?? allow['char-136'], 'rwm');
    assert.deepEqual(deviceProperties([{ allow: true, access: 'rwm' }]), [['DevicePolicy', ['s', 'auto']], ['DeviceAllow', ['a(ss)', []]]]);
  });
});

describe('org.systemd.property.* annotations', () => {
  test('GVariant text values, Sec names in microseconds', () => {
    assert.deepEqual(annotationProperties({
      'org.systemd.property.TimeoutStopUSec': 'uint64 123456789',
      'org.systemd.property.CollectMode': "'inactive-or-failed'",
      'org.systemd.property.TimeoutStopSec': '3',
      'org.systemd.property.CPUQuotaPeriodSec': 'double 0.5',
      'org.systemd.property.IgnoreOnIsolate': 'true',
      'org.systemd.property.Wants': "['a.service', 'b.service']",
      'other.annotation': 'x',
    }), [
      ['TimeoutStopUSec', ['t', 123456789n]],
      ['CollectMode', ['s', 'inactive-or-failed']],
      ['TimeoutStopUSec', ['t', 3000000n]],
      ['CPUQuotaPeriodUSec', ['t', 500000n]],
      ['IgnoreOnIsolate', ['b', true]],
      ['Wants', ['as', ['a.service', 'b.service']]],
    ]);
    assert.deepEqual(parseGVariant('@t 5'), ['t', 5n]);
    assert.deepEqual(parseGVariant('@as []'), ['as', []]);
    assert.deepEqual(parseGVariant('42'), ['i', 42]);
  });
  test('bad names and values are refused, naming the annotation', () => {
    assert.throws(() => annotationProperties({ 'org.systemd.property.X1': 'true' }), /annotations\["org\.systemd\.property\.X1"\]: "X1" is not a systemd property name/);
    assert.throws(() => annotationProperties({ 'org.systemd.property.CollectMode': 'inactive' }), /annotations\["org\.systemd\.property\.CollectMode"\]: cannot parse "inactive"/);
    assert.throws(() => annotationProperties({ 'org.systemd.property.TimeoutStopSec': "'x'" }), /TimeoutStopSec takes a number of seconds/);
    assert.throws(() => parseGVariant('uint32 -1'), /out of range/);
  });
});

describe('D-Bus marshalling', () => {
  test('signatures split into complete types', () => {
    assert.deepEqual(splitSignature('ssa(sv)a(sa(sv))'), ['s', 's', 'a(sv)', 'a(sa(sv))']);
    assert.deepEqual(splitSignature('a{sv}ayb'), ['a{sv}', 'ay', 'b']);
  });
  test('a call decodes back to what was encoded', () => {
    const args = ['u.scope', 'replace', [['PIDs', ['au', [1, 2]]], ['MemoryMax', ['t', 5n]], ['AllowedCPUs', ['ay', [15]]], ['DeviceAllow', ['a(ss)', [['/dev/null', 'rw']]]]], []];
    const m = decodeMessage(encodeCall(7, 'org.freedesktop.systemd1', '/org/freedesktop/systemd1', 'org.freedesktop.systemd1.Manager', 'StartTransientUnit', 'ssa(sv)a(sa(sv))', args as never));
    assert.equal(m.type, 1);
    assert.equal(m.serial, 7);
    assert.equal(m.member, 'StartTransientUnit');
    assert.equal(m.signature, 'ssa(sv)a(sa(sv))');
    assert.deepEqual(m.body, args);
  });
  test('every fixed-size basic type decodes back to what was encoded, aligned after a byte', () => {
    const args = [1, -2, 65535, -3, 4294967295, 5, -6n, 18446744073709551615n, 0.5, 255, true];
    const sig = 'ynqiuhxtdyb';
    const m = decodeMessage(encodeCall(9, 'd', '/p', 'i.f', 'M', sig, args as never));
    assert.deepEqual(m.body, args);
  });
  test('the user\'s session bus: DBUS_SESSION_BUS_ADDRESS, else $XDG_RUNTIME_DIR/bus', () => {
    assert.equal(sessionBusPath({ DBUS_SESSION_BUS_ADDRESS: 'unix:path=/run/user/1000/bus,guid=abc', XDG_RUNTIME_DIR: '/x' }), '/run/user/1000/bus');
    assert.equal(sessionBusPath({ XDG_RUNTIME_DIR: '/run/user/1001' }), '/run/user/1001/bus');
    assert.throws(() => sessionBusPath({}), /neither DBUS_SESSION_BUS_ADDRESS nor XDG_RUNTIME_DIR/);
  });
  test('EXTERNAL authentication with the uid the bus sees: ours, or in a user namespace the outside uid ours maps to', () => {
    const uid = process.getuid!();
    assert.equal(busUid(() => '         0          0 4294967295\n'), uid);
    assert.equal(busUid(() => `${uid} 1000 1\n`), 1000);
    assert.equal(busUid(() => `${uid + 1} 1000 1\n`), uid);
    assert.equal(busUid(() => { throw new Error('no /proc'); }), uid);
  });
  test('the system bus address from DBUS_SYSTEM_BUS_ADDRESS', () => {
    assert.equal(systemBusPath({}), '/run/dbus/system_bus_socket');
    assert.equal(systemBusPath({ DBUS_SYSTEM_BUS_ADDRESS: 'unix:path=/tmp/b%20us,guid=1' }), '/tmp/b us');
    assert.throws(() => systemBusPath({ DBUS_SYSTEM_BUS_ADDRESS: 'tcp:host=x' }), /no unix:path= address/);
  });
});

describe('D-Bus client against dbus-daemon', () => {
  const dir = mkdtempSync('/tmp/berth-dbus-');
  const bus = join(dir, 'bus');
  let daemon: ChildProcess | undefined;
  const haveDaemon = spawnSync('dbus-daemon', ['--version']).status === 0;
  const soon = () => Date.now() + 10_000;

  before(async () => {
    if (!haveDaemon) return;
    // A bus of our own, with no services to activate; it prints its address once it listens.
    const config = join(dir, 'bus.conf');
    writeFileSync(config, `<busconfig><type>session</type><listen>unix:path=${bus}</listen><auth>EXTERNAL</auth>
      <policy context="default"><allow send_destination="*"/><allow receive_sender="*"/><allow own="*"/></policy></busconfig>`);
    daemon = spawn('dbus-daemon', ['--nofork', '--print-address', `--config-file=${config}`], { stdio: ['ignore', 'pipe', 'ignore'] });
    await new Promise((resolve, reject) => {
      daemon!.stdout!.once('data', resolve);
      daemon!.once('exit', (code) => reject(new Error(`dbus-daemon exited (${code})`)));
    });
  });
  after(() => {
    daemon?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  test('Hello, calls, error replies, signals', (t) => {
    if (!haveDaemon) return t.skip('dbus-daemon is not installed (bash scripts/setup.sh installs dbus)');
    const c = new Connection(bus, soon);
    try {
      assert.match(c.uniqueName, /^:\d+\.\d+$/);
      const [names] = c.call('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'ListNames');
      assert.ok((names as string[]).includes(c.uniqueName));
      assert.deepEqual(c.call('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'GetConnectionUnixUser', 's', [c.uniqueName]), [process.getuid!()]);
      // The daemon validates the whole message before it finds nobody owns the name.
      assert.throws(() => c.call('org.freedesktop.systemd1', '/org/freedesktop/systemd1', 'org.freedesktop.systemd1.Manager', 'StartTransientUnit', 'ssa(sv)a(sa(sv))', [
        'x.scope', 'replace', [['PIDs', ['au', [1]]], ['MemoryMax', ['t', 1n << 40n]], ['AllowedCPUs', ['ay', [1, 2, 3]]], ['DeviceAllow', ['a(ss)', [['/dev/null', 'rw']]]], ['Delegate', ['b', true]]], [],
      ]), (e: unknown) => e instanceof DBusError && e.name === 'org.freedesktop.DBus.Error.ServiceUnknown');
      c.call('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'AddMatch', 's', ["type='signal',interface='org.freedesktop.systemd1.Manager',member='JobRemoved'"]);
      const sent = spawnSync('dbus-send', [`--bus=unix:path=${bus}`, '--type=signal', '/org/freedesktop/systemd1', 'org.freedesktop.systemd1.Manager.JobRemoved',
        'uint32:7', 'objpath:/org/freedesktop/systemd1/job/7', 'string:x.scope', 'string:done']);
      assert.equal(sent.status, 0, String(sent.stderr));
      const m = c.waitSignal((s) => s.member === 'JobRemoved');
      assert.deepEqual(m.body, [7, '/org/freedesktop/systemd1/job/7', 'x.scope', 'done']);
    } finally {
      c.close();
    }
  });

  test('a bus that does not answer ends in a timeout, not a hang', async () => {
    const path = join(dir, 'mute');
    const server = createServer(() => {}).listen(path);
    await new Promise((r) => server.once('listening', r));
    try {
      assert.throws(() => new Connection(path, () => Date.now() + 200), DBusTimeout);
    } finally {
      server.close();
    }
  });

  test('no bus: the connect error', () => {
    assert.throws(() => new Connection(join(dir, 'none'), soon), /no such file or directory/i);
  });
});

// Treating the container as hostile (issue 3's hardening list, the parts of the core
// runtime): no host fd reaches the container (CVE-2024-21626 class), a cwd through
// /proc/self/fd cannot leave the rootfs, the waiting init holds nothing it should
// not, and no container operation changes a host device node.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test, type TestContext } from 'node:test';
import { requireTool, type RunResult } from '../fixtures/runtime';
import { GUARD_MS, waitUntil } from '../fixtures/wait';
import { leftovers, Session, show } from './helpers';

const s = new Session('sec');
after(() => s.close());

const HOST_DEVICES = ['/dev/null', '/dev/zero', '/dev/full', '/dev/random', '/dev/urandom', '/dev/tty'];
const deviceStat = () =>
  HOST_DEVICES.map((p) => {
    const st = statSync(p);
    return `${p} ${st.uid}:${st.gid} ${st.mode.toString(8)} ${st.rdev}`;
  });
const before = deviceStat();

// The fds of the container's process, seen from the host (a listing from inside
// would show the lister's own fds).
function fdsOf(pid: number): string[] {
  return readdirSync(`/proc/${pid}/fd`).sort((a, b) => Number(a) - Number(b));
}

test('only stdio reaches the container process: no fd of berth or berth-init', (t) => {
  const b = s.bundle(t, { args: ['sleep', '100'] });
  const id = s.newId();
  s.deleteAfter(t, id);
  assert.equal(s.create(b.dir, id).code, 0);
  assert.equal(s.cli(['start', id]).code, 0);
  assert.deepEqual(fdsOf(s.state(id)!.pid), ['0', '1', '2']);
});

test('--preserve-fds N passes fds 3..3+N-1 as given, and nothing above them', (t) => {
  const b = s.bundle(t, { args: ['sh', '-c', 'cat <&3; cat <&4; exec sleep 100'] });
  const dir = mkdtempSync('/tmp/berth-itest-fds-');
  s.defer(t, () => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'a'), 'from fd 3\n');
  writeFileSync(join(dir, 'b'), 'from fd 4\n');
  const fds = [openSync(join(dir, 'a'), 'r'), openSync(join(dir, 'b'), 'r'), openSync(join(dir, 'c'), 'w')];
  const out = openSync(join(dir, 'out'), 'w');
  // A file, not a pipe: the container keeps berth's stderr, and spawnSync would
  // wait for the pipe's end as long as the container lives.
  const err = openSync(join(dir, 'err'), 'w');
  const id = s.newId();
  s.deleteAfter(t, id);
  try {
    // fd 5 (a third file) is open in berth too, but not preserved.
    const r = spawnSync(s.bin, ['--root', s.root, 'run', '-d', '--preserve-fds', '2', '--bundle', b.dir, id], {
      stdio: ['ignore', out, err, fds[0], fds[1], fds[2]],
      timeout: GUARD_MS,
    });
    assert.equal(r.status, 0, readFileSync(join(dir, 'err'), 'utf8'));
  } finally {
    for (const fd of [...fds, out, err]) closeSync(fd);
  }
  const pid = s.state(id)!.pid;
  waitUntil(() => readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('sleep'), 'the process execs sleep');
  assert.deepEqual(fdsOf(pid), ['0', '1', '2', '3', '4']);
  assert.equal(readFileSync(join(dir, 'out'), 'utf8'), 'from fd 3\nfrom fd 4\n');
});

// CVE-2024-21626: a cwd of /proc/self/fd/N naming an fd the runtime leaked would put
// the process in a host directory. berth-init holds no host directory fd when it
// changes directory, so each attempt fails or lands inside the container.
test('process.cwd through /proc/self/fd/N never reaches a host directory', (t) => {
  for (let n = 3; n <= 9; n++) {
    const r = s.run(t, {
      args: ['sh', '-c', 'pwd; ls / | tr "\\n" " "'],
      mutate: (spec) => (spec.process.cwd = `/proc/self/fd/${n}`),
    });
    if (r.code !== 0) {
      assert.match(r.stderr, /process\.cwd/, show(r));
      continue;
    }
    // Inside: the container's own root, whose listing is busybox's, not the host's.
    assert.doesNotMatch(r.stdout, /^\(unreachable\)/m);
    assert.match(r.stdout, /\bbin\b/);
    assert.doesNotMatch(r.stdout, /\bwork\b|\bhome\/.+|berth-itest/, `fd ${n}: ${r.stdout}`);
  }
});

// The same with the host directory handed over on purpose (--preserve-fds 1, fd 3):
// the check that the cwd is inside the container must refuse it (runc 1.1.12+),
// for exec --cwd and for process.cwd alike.
function withHostDirAsFd3(t: TestContext, args: string[]): RunResult & { hostMarker: string } {
  const hostDir = s.tmpdir(t, 'berth-itest-host-cwd-');
  const hostMarker = `host-marker-${process.pid}`;
  writeFileSync(join(hostDir, hostMarker), '');
  const outDir = s.tmpdir(t, 'berth-itest-cwd-out-');
  const dirFd = openSync(hostDir, 'r');
  const out = openSync(join(outDir, 'out'), 'w');
  const err = openSync(join(outDir, 'err'), 'w');
  try {
    const r = spawnSync(s.bin, ['--root', s.root, ...args], { stdio: ['ignore', out, err, dirFd], timeout: 30_000 });
    return {
      code: r.status ?? -1,
      signal: r.signal,
      timedOut: false,
      stdout: readFileSync(join(outDir, 'out'), 'utf8'),
      stderr: readFileSync(join(outDir, 'err'), 'utf8'),
      hostMarker,
    };
  } finally {
    for (const fd of [dirFd, out, err]) closeSync(fd);
  }
}

test('exec --cwd /proc/self/fd/3 with a host directory as fd 3 is refused naming process.cwd', (t) => {
  const { id } = s.started(t, { args: ['sleep', '100'] });
  const r = withHostDirAsFd3(t, ['exec', '--preserve-fds', '1', '--cwd', '/proc/self/fd/3', id, 'ls']);
  assert.doesNotMatch(r.stdout, new RegExp(r.hostMarker), 'the process listed the host directory');
  assert.notEqual(r.code, 0, show(r));
  assert.match(r.stderr, /process\.cwd.*outside the container/, show(r));
});

test('process.cwd /proc/self/fd/3 with a host directory as fd 3 (run --preserve-fds 1) is refused naming process.cwd', (t) => {
  const b = s.bundle(t, { args: ['ls'], mutate: (spec) => (spec.process.cwd = '/proc/self/fd/3') });
  const id = s.newId();
  s.deleteAfter(t, id);
  const r = withHostDirAsFd3(t, ['run', '--preserve-fds', '1', '--bundle', b.dir, id]);
  assert.doesNotMatch(r.stdout, new RegExp(r.hostMarker), 'the process listed the host directory');
  assert.notEqual(r.code, 0, show(r));
  assert.match(r.stderr, /process\.cwd.*outside the container/, show(r));
  assert.deepEqual(leftovers(s, [id], [b.dir]), []);
});

test('the init waiting in "created" holds only stdio, the exec fifo and the container root', (t) => {
  const b = s.bundle(t, { args: ['true'] });
  const id = s.newId();
  s.deleteAfter(t, id);
  const r = s.create(b.dir, id);
  assert.equal(r.code, 0, show(r));
  const pid = s.state(id)!.pid;
  const targets = readdirSync(`/proc/${pid}/fd`).map((fd) => [fd, readlinkSync(`/proc/${pid}/fd/${fd}`)]);
  const extra = targets.filter(([fd]) => Number(fd) > 2).map(([, l]) => l).sort();
  assert.deepEqual(extra, ['/', join(s.root, id, 'exec.fifo')].sort(), JSON.stringify(targets));
  // Not dumpable: its memory and fds are not for the container's processes to take.
  assert.match(readFileSync(`/proc/${pid}/status`, 'utf8'), /^Uid:/m);
  assert.equal(s.cli(['delete', '--force', id]).code, 0);
});

// CVE-2019-5736: a container process that reaches /proc/PID/exe of a berth process
// in its namespaces (the waiting init, an exec joining) must find no host binary
// to write to: berth-init runs from a sealed in-memory copy.
test('the init runs from a sealed memfd, not a writable host binary', (t) => {
  const b = s.bundle(t, { args: ['true'] });
  const id = s.newId();
  s.deleteAfter(t, id);
  assert.equal(s.create(b.dir, id).code, 0);
  const pid = s.state(id)!.pid;
  assert.match(readlinkSync(`/proc/${pid}/exe`), /^\/memfd:berth-init/);
  assert.throws(() => writeFileSync(`/proc/${pid}/exe`, 'x', { flag: 'a' }), /ETXTBSY|EPERM/);
  assert.equal(s.cli(['delete', '--force', id]).code, 0);
});

// As runc: an AppArmor profile or SELinux process label the host cannot apply is an
// error naming the field, never silently dropped; a mount label without SELinux
// means nothing and is ignored. (This host has neither LSM.)
test('AppArmor and SELinux fields: refused clearly where the host lacks them', (t) => {
  const hasAppArmor = existsSync('/sys/module/apparmor/parameters/enabled') && readFileSync('/sys/module/apparmor/parameters/enabled', 'utf8').trim() === 'Y';
  const hasSELinux = existsSync('/sys/fs/selinux/enforce');
  if (hasAppArmor || hasSELinux) return t.skip('this host has an LSM: the refusal cannot be shown here');
  for (const [field, mutate] of [
    ['process.apparmorProfile', (spec: { process: { apparmorProfile?: string } }) => (spec.process.apparmorProfile = 'docker-default')],
    ['process.selinuxLabel', (spec: { process: { selinuxLabel?: string } }) => (spec.process.selinuxLabel = 'system_u:system_r:container_t:s0')],
  ] as const) {
    const b = s.bundle(t, { args: ['true'], mutate: mutate as never });
    const id = s.newId();
    const r = s.create(b.dir, id);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, new RegExp(field.replace('.', '\\.') + ': .*not enabled'));
  }
  const r = s.run(t, { args: ['true'], mutate: (spec) => (spec.linux.mountLabel = 'system_u:object_r:container_file_t:s0') });
  assert.equal(r.code, 0, show(r));
});

// A crun run on this machine once left the host's /dev/null owned by 1000:1000:
// device entries and user namespaces must never chown or chmod a host node.
test('host device nodes keep their owner and mode, with device entries and user namespaces', (t) => {
  const devs = HOST_DEVICES.map((path) => {
    const st = statSync(path);
    return { path, type: 'c', major: Math.floor(st.rdev / 256), minor: st.rdev % 256, fileMode: 0o600, uid: 1000, gid: 1000 };
  });
  for (const userns of [false, true]) {
    const r = s.run(t, {
      args: ['sh', '-c', 'ls -ln /dev/null /dev/tty'],
      mutate: (spec) => {
        spec.linux.devices = devs;
        if (userns) {
          spec.linux.namespaces.push({ type: 'user' });
          spec.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
          spec.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
          spec.mounts = spec.mounts.filter((m: { type?: string }) => m.type !== 'cgroup' && m.type !== 'sysfs' && m.type !== 'mqueue');
        }
      },
    });
    assert.equal(r.code, 0, `userns ${userns}: ${show(r)}`);
    assert.deepEqual(deviceStat(), before, `userns ${userns}`);
  }
});

// CVE-2021-30465 / CVE-2025-31133 / CVE-2025-52565 class: a rootfs whose /proc or
// /dev/null is a symlink out of it must not redirect a mount or a write to the host.
test('a rootfs whose /proc and /dev/null are symlinks to host paths cannot redirect mounts or writes', (t) => {
  const hostDir = s.tmpdir(t, 'berth-itest-host-proc-');
  const hostFile = join(s.tmpdir(t, 'berth-itest-host-null-'), 'victim');
  writeFileSync(hostFile, 'untouched');
  const b = s.bundle(t, {
    copyRootfs: true,
    args: ['sh', '-c', 'cat /proc/self/stat > /dev/null && echo proc-ok'],
    // No /dev tmpfs: /dev/null is whatever the rootfs has.
    mutate: (spec) => (spec.mounts = spec.mounts.filter((m: { destination: string }) => m.destination !== '/dev' && !m.destination.startsWith('/dev/'))),
  });
  rmSync(join(b.dir, 'rootfs/proc'), { recursive: true, force: true });
  symlinkSync(`/../../../..${hostDir}`, join(b.dir, 'rootfs/proc'));
  rmSync(join(b.dir, 'rootfs/dev/null'), { force: true });
  symlinkSync(`/../../../..${hostFile}`, join(b.dir, 'rootfs/dev/null'));
  const id = s.newId();
  s.deleteAfter(t, id);
  const r = s.cli(['run', '--bundle', b.dir, id]);
  // Whether it runs or refuses, the host is untouched.
  assert.deepEqual(readdirSync(hostDir), [], `host dir: ${show(r)}`);
  assert.equal(readFileSync(hostFile, 'utf8'), 'untouched');
  assert.equal(statSync(hostFile).isFile(), true);
  assert.ok(!readFileSync('/proc/self/mountinfo', 'utf8').includes(hostDir), 'no mount on the host path');
  if (r.code !== 0) assert.match(r.stderr, /\/dev\/null|\/proc|linux\.devices|mounts/, show(r));
});

// Issue 16: an unprivileged user pointing berth at root's state got a Node stack
// trace. Every error is one line, whoever runs berth, and root's container is
// left as it was. (nobody exists on every Debian system: no user is made.)
test('an unprivileged user on root\'s state: every command fails with one line, and the container stays', (t) => {
  if (!requireTool('setpriv', t)) return;
  const b = s.bundle(t, { args: ['sleep', '100'] });
  const id = s.newId();
  s.deleteAfter(t, id);
  assert.equal(s.create(b.dir, id).code, 0);
  // As berth makes --root itself (mkdtemp's 0700 would stop nobody at the door).
  chmodSync(s.root, 0o711);
  for (const args of [['delete', '-f', id], ['delete', id], ['kill', id, 'KILL'], ['state', id], ['start', id], ['pause', id],
    ['exec', id, 'true'], ['ps', id], ['update', '--memory', '100M', id], ['create', '--bundle', b.dir, s.newId()]]) {
    const r = spawnSync('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups', s.bin, '--root', s.root, ...args], { encoding: 'utf8', timeout: 30_000 });
    assert.notEqual(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^berth: [^\n]+\n$/, `${args.join(' ')}: not one line:\n${r.stderr}`);
  }
  assert.equal(s.state(id)?.status, 'created');
});

test('nothing is left behind, and host devices are as they were', () => {
  assert.deepEqual(deviceStat(), before);
  assert.deepEqual(leftovers(s), []);
});

// The container process (config.md "Process", "POSIX process", "Linux Process";
// config-linux.md "Devices", "Default Devices", "Sysctl"), through real containers
// run by the berth CLI.
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { leftovers, Session, show, statusFields, waitFor } from './helpers';

const s = new Session('proc');
after(() => s.close());

// capabilities(7) bit numbers, independent of berth's own table.
const CAP: Record<string, number> = {
  CAP_CHOWN: 0, CAP_DAC_OVERRIDE: 1, CAP_FOWNER: 3, CAP_KILL: 5, CAP_SETGID: 6, CAP_SETUID: 7,
  CAP_NET_BIND_SERVICE: 10, CAP_NET_RAW: 13, CAP_SYS_CHROOT: 18, CAP_SYS_ADMIN: 21,
  CAP_SYS_RESOURCE: 24, CAP_MKNOD: 27, CAP_AUDIT_WRITE: 29, CAP_SETFCAP: 31,
};
const capHex = (names: string[]) =>
  names.reduce((v, n) => v | (1n << BigInt(CAP[n])), 0n).toString(16).padStart(16, '0');

test('config.md process args/env/cwd: args with execvp semantics (PATH lookup), env exactly as given, cwd as the working directory', (t) => {
  const r = s.run(t, {
    args: ['sh', '-c', 'printf "[%s]" "$0" "$@"; echo; tr "\\0" "\\n" < /proc/1/environ; echo "cwd=$(pwd)"', 'zero arg', 'one two', '', 'three'],
    mutate: (spec) => {
      spec.process.env = ['PATH=/usr/bin:/bin', 'GREETING=hello world', 'EMPTY=', 'EQ=a=b'];
      spec.process.cwd = '/home/user';
    },
  });
  assert.equal(r.code, 0, show(r));
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines[0], '[zero arg][one two][][three]');
  assert.deepEqual(lines.slice(1, 5), ['PATH=/usr/bin:/bin', 'GREETING=hello world', 'EMPTY=', 'EQ=a=b']);
  assert.equal(lines[5], 'cwd=/home/user');
});

test('config.md process args: an absolute args[0] is used as is', (t) => {
  const r = s.run(t, { args: ['/bin/echo', 'absolute'] });
  assert.equal(r.code, 0, show(r));
  assert.equal(r.stdout, 'absolute\n');
});

test('runtime.md create: "If the runtime cannot apply a property as specified ... it MUST generate an error": an executable not found fails naming process.args', (t) => {
  const b = s.bundle(t, { args: ['no-such-program'] });
  const id = s.newId();
  s.deleteAfter(t, id);
  const r = s.cli(['run', '--bundle', b.dir, id]);
  assert.notEqual(r.code, 0, show(r));
  assert.match(r.stderr, /process\.args/);
  assert.match(r.stderr, /no-such-program/);
  assert.deepEqual(leftovers(s, [id], [b.dir]), []);
});

test('config.md process cwd: a cwd that does not exist is an error naming process.cwd', (t) => {
  const b = s.bundle(t, { args: ['true'], mutate: (spec) => (spec.process.cwd = '/does/not/exist') });
  const id = s.newId();
  s.deleteAfter(t, id);
  const r = s.cli(['run', '--bundle', b.dir, id]);
  assert.notEqual(r.code, 0, show(r));
  assert.match(r.stderr, /process\.cwd/);
  assert.deepEqual(leftovers(s, [id], [b.dir]), []);
});

// runc enters the cwd before it switches to the user: a directory only root may
// enter (the rootfs's /root is 0700) works for any user, and the process really is
// there (its cwd, and a listing the user may not read).
const IN_ROOT_ONLY_DIR = 'readlink /proc/self/cwd; ls . || echo cannot-list';
test('config.md process cwd: a cwd only root may enter (/root, 0700) with a non-root process.user, as runc', (t) => {
  const r = s.sh(t, IN_ROOT_ONLY_DIR, (spec) => {
    spec.process.user = { uid: 1000, gid: 1000 };
    spec.process.cwd = '/root';
  });
  assert.equal(r.code, 0, show(r));
  assert.equal(r.stdout, '/root\ncannot-list\n', show(r));
  assert.match(r.stderr, /Permission denied/);
});

test('exec --user 1000 --cwd /root: entered as root, then the user', (t) => {
  const { id } = s.started(t, { args: ['sleep', '100'] });
  const r = s.cli(['exec', '--user', '1000:1000', '--cwd', '/root', id, 'sh', '-c', IN_ROOT_ONLY_DIR]);
  assert.equal(r.code, 0, show(r));
  assert.equal(r.stdout, '/root\ncannot-list\n', show(r));
});

// Where root of a user namespace may not enter (a directory whose group is not
// mapped) but the user may, the cwd is entered as the user after the switch.
test('config.md process cwd: a directory only the user may enter, in a user namespace', (t) => {
  const b = s.bundle(t, {
    copyRootfs: true,
    args: ['sh', '-c', 'readlink /proc/self/cwd; ls'],
    mutate: (spec) => {
      spec.process.user = { uid: 1000, gid: 1000 };
      spec.process.cwd = '/mine';
      spec.linux.namespaces.push({ type: 'user' });
      spec.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      spec.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      spec.mounts = spec.mounts.filter((m: { type?: string }) => m.type !== 'cgroup' && m.type !== 'sysfs' && m.type !== 'mqueue');
    },
  });
  chmodSync(b.dir, 0o755);  // mkdtemp's 0700 would keep the namespace's root out of its rootfs
  const mine = join(b.dir, 'rootfs/mine');
  mkdirSync(mine, { mode: 0o700 });
  writeFileSync(join(mine, 'inside'), '');
  chownSync(join(b.dir, 'rootfs'), 100000, 100000);
  chownSync(mine, 101000, 5555);  // gid 5555 is not mapped: root inside has no override
  const id = s.newId();
  s.deleteAfter(t, id);
  const r = s.cli(['run', '--bundle', b.dir, id]);
  assert.equal(r.code, 0, show(r));
  assert.equal(r.stdout, '/mine\ninside\n');
});

test('config.md process user: uid, gid and additionalGids are the process\'s identity', (t) => {
  const r = s.sh(t, 'id; grep -E "^(Uid|Gid|Groups):" /proc/self/status', (spec) => {
    spec.process.user = { uid: 1000, gid: 1000, additionalGids: [5, 65534] };
  });
  assert.equal(r.code, 0, show(r));
  const st = statusFields(r.stdout);
  assert.equal(st.Uid.split(/\s+/).join(' '), '1000 1000 1000 1000');
  assert.equal(st.Gid.split(/\s+/).join(' '), '1000 1000 1000 1000');
  assert.equal(st.Groups.split(/\s+/).sort().join(' '), '5 65534');
  assert.match(r.stdout, /^uid=1000\(user\) gid=1000\(user\) groups=5\(tty\),65534\(nogroup\)$/m);
});

test('config.md process user: without additionalGids the process has no supplementary groups', (t) => {
  const r = s.sh(t, 'grep -E "^Groups:" /proc/self/status', (spec) => {
    spec.process.user = { uid: 1000, gid: 1000 };
  });
  assert.equal(r.code, 0, show(r));
  assert.equal(statusFields(r.stdout).Groups, '');
});

test('config.md process user.umask: the process starts with the given umask; 0022 when unset', (t) => {
  let r = s.sh(t, 'umask; touch /tmp/f; stat -c %a /tmp/f', (spec) => {
    spec.process.user.umask = 0o077;
  }, { copyRootfs: true });
  assert.equal(r.code, 0, show(r));
  assert.deepEqual(r.stdout.trim().split('\n'), ['0077', '600']);
  r = s.sh(t, 'umask');
  assert.equal(r.stdout.trim(), '0022', show(r));
});

test('config.md rlimits: "rlim.rlim_cur MUST match the configured value", "rlim.rlim_max MUST match the configured value"', (t) => {
  const r = s.sh(t, 'ulimit -n; ulimit -Hn; ulimit -c; ulimit -Hc; grep -E "^Max (open files|core file size|processes)" /proc/self/limits', (spec) => {
    spec.process.rlimits = [
      { type: 'RLIMIT_NOFILE', soft: 512, hard: 4096 },
      { type: 'RLIMIT_CORE', soft: 0, hard: 1048576 },
      { type: 'RLIMIT_NPROC', soft: 300, hard: 400 },
    ];
  });
  assert.equal(r.code, 0, show(r));
  const lines = r.stdout.trim().split('\n');
  assert.deepEqual(lines.slice(0, 4), ['512', '4096', '0', '2048']);
  assert.match(r.stdout, /^Max core file size\s+0\s+1048576\s+bytes/m);
  assert.match(r.stdout, /^Max processes\s+300\s+400\s+processes/m);
  assert.match(r.stdout, /^Max open files\s+512\s+4096\s+files/m);
});

test('config.md rlimits: a hard limit the runtime cannot raise (nofile above this host\'s hard limit) is an error naming process.rlimits', (t) => {
  // The runtime runs without CAP_SYS_RESOURCE in its bounding set here, so it
  // cannot raise its hard nofile limit (20000 on this host) for the container.
  const hostHard = Number(/^Max open files\s+\d+\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))![1]);
  const capBnd = BigInt('0x' + statusFields(readFileSync('/proc/self/status', 'utf8')).CapBnd);
  if (capBnd & (1n << 24n)) {
    t.skip('this host lets the runtime raise its hard limits (CAP_SYS_RESOURCE)');
    return;
  }
  const b = s.bundle(t, { args: ['true'], mutate: (spec) => (spec.process.rlimits = [
    { type: 'RLIMIT_CORE', soft: 0, hard: 0 },
    { type: 'RLIMIT_NOFILE', soft: 1024, hard: hostHard + 1 },
  ]) });
  const id = s.newId();
  s.deleteAfter(t, id);
  const r = s.cli(['run', '--bundle', b.dir, id]);
  assert.notEqual(r.code, 0, show(r));
  assert.match(r.stderr, /process\.rlimits\[1\]/);
  assert.match(r.stderr, /RLIMIT_NOFILE/);
  assert.deepEqual(leftovers(s, [id], [b.dir]), []);
});

test('config.md rlimits: "If rlimits contains duplicated entries with same type, the runtime MUST generate an error"', (t) => {
  const b = s.bundle(t, { args: ['true'], mutate: (spec) => (spec.process.rlimits = [
    { type: 'RLIMIT_NOFILE', soft: 1024, hard: 1024 },
    { type: 'RLIMIT_CORE', soft: 0, hard: 0 },
    { type: 'RLIMIT_NOFILE', soft: 512, hard: 512 },
  ]) });
  const id = s.newId();
  s.deleteAfter(t, id);
  const r = s.cli(['run', '--bundle', b.dir, id]);
  assert.notEqual(r.code, 0, show(r));
  assert.match(r.stderr, /process\.rlimits\[2\]/);
  assert.match(r.stderr, /RLIMIT_NOFILE/);
  assert.deepEqual(leftovers(s, [id], [b.dir]), []);
});

test('config.md capabilities: the process has exactly the configured bounding, effective, permitted, inheritable and ambient sets (root)', (t) => {
  const caps = {
    bounding: ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID', 'CAP_NET_BIND_SERVICE', 'CAP_AUDIT_WRITE'],
    effective: ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_AUDIT_WRITE'],
    permitted: ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_AUDIT_WRITE'],
    inheritable: ['CAP_KILL', 'CAP_NET_BIND_SERVICE'],
    ambient: ['CAP_NET_BIND_SERVICE'],
  };
  const r = s.sh(t, 'grep -E "^(Cap|NoNewPrivs)" /proc/self/status', (spec) => {
    spec.process.capabilities = caps;
    spec.process.noNewPrivileges = true;
  });
  assert.equal(r.code, 0, show(r));
  const st = statusFields(r.stdout);
  assert.deepEqual(
    { CapBnd: st.CapBnd, CapEff: st.CapEff, CapPrm: st.CapPrm, CapInh: st.CapInh, CapAmb: st.CapAmb },
    { CapBnd: capHex(caps.bounding), CapEff: capHex(caps.effective), CapPrm: capHex(caps.permitted), CapInh: capHex(caps.inheritable), CapAmb: capHex(caps.ambient) },
  );
});

test('config.md capabilities: a non-root process keeps its ambient capabilities across execve (effective = permitted = ambient)', (t) => {
  const caps = {
    bounding: ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_NET_RAW'],
    effective: ['CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_NET_RAW'],
    permitted: ['CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_NET_RAW'],
    inheritable: ['CAP_NET_BIND_SERVICE', 'CAP_NET_RAW'],
    ambient: ['CAP_NET_BIND_SERVICE', 'CAP_NET_RAW'],
  };
  const r = s.sh(t, 'grep -E "^Cap" /proc/self/status', (spec) => {
    spec.process.capabilities = caps;
    spec.process.user = { uid: 1000, gid: 1000 };
  });
  assert.equal(r.code, 0, show(r));
  const st = statusFields(r.stdout);
  assert.equal(st.CapBnd, capHex(caps.bounding));
  assert.equal(st.CapInh, capHex(caps.inheritable));
  assert.equal(st.CapAmb, capHex(caps.ambient));
  // capabilities(7): a non-root execve of a file without file capabilities leaves
  // permitted and effective equal to the ambient set.
  assert.equal(st.CapPrm, capHex(caps.ambient));
  assert.equal(st.CapEff, capHex(caps.ambient));
});

test('config.md capabilities: "Any value which cannot be mapped to a relevant kernel interface, or cannot be granted otherwise MUST be logged as a warning ... Runtimes SHOULD NOT fail": a warning in the --log file; stderr, which a foreground run shares with the container, stays clean', (t) => {
  // CAP_SYS_RESOURCE is not in this runtime's bounding set on this host; CAP_BOGUS does not exist.
  const own = BigInt('0x' + statusFields(readFileSync('/proc/self/status', 'utf8')).CapBnd);
  const wanted = ['CAP_CHOWN', 'CAP_KILL', 'CAP_SYS_RESOURCE', 'CAP_BOGUS'];
  const b = s.bundle(t, {
    args: ['sh', '-c', 'grep -E "^Cap(Eff|Bnd)" /proc/self/status'],
    mutate: (spec) => (spec.process.capabilities = { bounding: wanted, effective: wanted, permitted: wanted }),
  });
  const log = join(s.tmpdir(t), 'log');
  const id = s.newId();
  s.deleteAfter(t, id);
  const r = s.cli(['--log', log, 'run', '--bundle', b.dir, id]);
  assert.equal(r.code, 0, show(r));
  assert.equal(r.stderr, '');
  const warning = readFileSync(log, 'utf8').split('\n').find((l) => /level=warning/.test(l) && /capabilit/.test(l)) ?? '';
  assert.match(warning, /CAP_BOGUS/, readFileSync(log, 'utf8'));
  const granted = ['CAP_CHOWN', 'CAP_KILL', ...(own & (1n << 24n) ? ['CAP_SYS_RESOURCE'] : [])];
  if (!(own & (1n << 24n))) assert.match(warning, /CAP_SYS_RESOURCE/);
  const st = statusFields(r.stdout);
  assert.equal(st.CapEff, capHex(granted));
  assert.equal(st.CapBnd, capHex(granted));
});

test('config.md noNewPrivileges: "setting noNewPrivileges to true prevents the process from gaining additional privileges" (NoNewPrivs: 1)', (t) => {
  let r = s.sh(t, 'grep NoNewPrivs /proc/self/status', (spec) => (spec.process.noNewPrivileges = true));
  assert.equal(statusFields(r.stdout).NoNewPrivs, '1', show(r));
  r = s.sh(t, 'grep NoNewPrivs /proc/self/status', (spec) => (spec.process.noNewPrivileges = false));
  assert.equal(statusFields(r.stdout).NoNewPrivs, '0', show(r));
});

test('config.md oomScoreAdj: "If oomScoreAdj is set, the runtime MUST set oom_score_adj to the given value"', (t) => {
  let r = s.sh(t, 'cat /proc/self/oom_score_adj', (spec) => (spec.process.oomScoreAdj = 500));
  assert.equal(r.stdout.trim(), '500', show(r));
  r = s.sh(t, 'cat /proc/self/oom_score_adj', (spec) => (spec.process.oomScoreAdj = 1000));
  assert.equal(r.stdout.trim(), '1000', show(r));
});

test('config.md oomScoreAdj: a value below the runtime\'s own needs CAP_SYS_RESOURCE; without it the error names process.oomScoreAdj', (t) => {
  const own = Number(readFileSync('/proc/self/oom_score_adj', 'utf8'));
  const capBnd = BigInt('0x' + statusFields(readFileSync('/proc/self/status', 'utf8')).CapBnd);
  const r = s.sh(t, 'cat /proc/self/oom_score_adj', (spec) => (spec.process.oomScoreAdj = own - 100));
  if (capBnd & (1n << 24n)) {
    assert.equal(r.stdout.trim(), String(own - 100), show(r));
  } else {
    assert.notEqual(r.code, 0, show(r));
    assert.match(r.stderr, /process\.oomScoreAdj/);
  }
});

test('config.md oomScoreAdj: "If oomScoreAdj is not set, the runtime MUST NOT change the value of oom_score_adj"', (t) => {
  const own = readFileSync('/proc/self/oom_score_adj', 'utf8').trim();
  const r = s.sh(t, 'cat /proc/self/oom_score_adj');
  assert.equal(r.stdout.trim(), own, show(r));
});

test('config-linux.md sysctl: "allows kernel parameters to be modified at runtime for the container" (in its own namespaces only)', (t) => {
  const hostFwd = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();
  const hostShm = readFileSync('/proc/sys/kernel/shmmax', 'utf8').trim();
  const r = s.sh(t, 'cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmax /proc/sys/net/core/somaxconn', (spec) => {
    spec.linux.sysctl = { 'net.ipv4.ip_forward': hostFwd === '1' ? '0' : '1', 'kernel.shmmax': '123456789', 'net.core.somaxconn': '256' };
  });
  assert.equal(r.code, 0, show(r));
  assert.deepEqual(r.stdout.trim().split('\n'), [hostFwd === '1' ? '0' : '1', '123456789', '256']);
  assert.equal(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim(), hostFwd, "the host's value is unchanged");
  assert.equal(readFileSync('/proc/sys/kernel/shmmax', 'utf8').trim(), hostShm, "the host's value is unchanged");
});

test('config-linux.md sysctl: a network sysctl without a network namespace of the container\'s own is an error naming linux.sysctl', (t) => {
  const b = s.bundle(t, { args: ['true'], mutate: (spec) => {
    spec.linux.namespaces = spec.linux.namespaces.filter((n: { type: string }) => n.type !== 'network');
    spec.linux.sysctl = { 'net.ipv4.ip_forward': '1' };
  } });
  const id = s.newId();
  s.deleteAfter(t, id);
  const hostFwd = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8');
  const r = s.cli(['run', '--bundle', b.dir, id]);
  assert.notEqual(r.code, 0, show(r));
  assert.match(r.stderr, /linux\.sysctl/);
  assert.match(r.stderr, /net\.ipv4\.ip_forward/);
  assert.equal(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8'), hostFwd);
  assert.deepEqual(leftovers(s, [id], [b.dir]), []);
});

test('config-linux.md default devices: "the runtime MUST also supply" /dev/null, zero, full, random, urandom, tty and /dev/ptmx', (t) => {
  const r = s.sh(t, [
    'for d in null zero full random urandom tty; do stat -c "%n %F %t:%T %a" /dev/$d; done',
    'echo "ptmx -> $(readlink /dev/ptmx)"',
    'echo x > /dev/null && echo null-ok',
    'head -c 4 /dev/zero | od -An -tx1 | tr -d " "',
    'echo x > /dev/full 2>/dev/null || echo full-enospc',
    'test -c /dev/pts/ptmx && echo pts-ptmx',
  ].join('; '));
  assert.equal(r.code, 0, show(r));
  assert.deepEqual(r.stdout.trim().split('\n'), [
    '/dev/null character special file 1:3 666',
    '/dev/zero character special file 1:5 666',
    '/dev/full character special file 1:7 666',
    '/dev/random character special file 1:8 666',
    '/dev/urandom character special file 1:9 666',
    '/dev/tty character special file 5:0 666',
    'ptmx -> pts/ptmx',
    'null-ok',
    '00000000',
    'full-enospc',
    'pts-ptmx',
  ]);
});

test('config-linux.md devices: "lists devices that MUST be available in the container" with their type, major:minor, fileMode, uid and gid', (t) => {
  const r = s.sh(t, 'stat -c "%n %F %t:%T %a %u:%g" /dev/mydev /dev/myfifo /dev/sub/blk', (spec) => {
    spec.linux.devices = [
      { path: '/dev/mydev', type: 'c', major: 1, minor: 5, fileMode: 0o600, uid: 1000, gid: 1000 },
      { path: '/dev/myfifo', type: 'p', fileMode: 0o640, uid: 0, gid: 5 },
      { path: '/dev/sub/blk', type: 'b', major: 7, minor: 200, fileMode: 0o660, uid: 0, gid: 0 },
    ];
  });
  assert.equal(r.code, 0, show(r));
  assert.deepEqual(r.stdout.trim().split('\n'), [
    '/dev/mydev character special file 1:5 600 1000:1000',
    '/dev/myfifo fifo 0:0 640 0:5',
    '/dev/sub/blk block special file 7:c8 660 0:0',
  ]);
});

test('config-linux.md devices: "The path MAY be anywhere in the container filesystem, notably outside of /dev"', (t) => {
  const r = s.sh(t, 'stat -c "%n %F %t:%T %a" /opt/zero', (spec) => {
    spec.linux.devices = [{ path: '/opt/zero', type: 'c', major: 1, minor: 5, fileMode: 0o644 }];
  }, { copyRootfs: true });
  assert.equal(r.code, 0, show(r));
  assert.equal(r.stdout.trim(), '/opt/zero character special file 1:5 644');
});

test('config-linux.md devices: "If a file already exists at path that does not match the requested device, the runtime MUST generate an error"', (t) => {
  const b = s.bundle(t, {
    copyRootfs: true,
    args: ['true'],
    mutate: (spec) => (spec.linux.devices = [{ path: '/opt/notadevice', type: 'c', major: 1, minor: 5 }]),
  });
  require('node:fs').mkdirSync(join(b.dir, 'rootfs/opt'));
  writeFileSync(join(b.dir, 'rootfs/opt/notadevice'), 'data\n');
  const id = s.newId();
  s.deleteAfter(t, id);
  const r = s.cli(['run', '--bundle', b.dir, id]);
  assert.notEqual(r.code, 0, show(r));
  assert.match(r.stderr, /linux\.devices\[0\]/);
  // And the file in the bundle is left as it was.
  assert.equal(readFileSync(join(b.dir, 'rootfs/opt/notadevice'), 'utf8'), 'data\n');
  assert.deepEqual(leftovers(s, [id], [b.dir]), []);
});

test('config-linux.md devices: without a /dev mount the nodes are made in the rootfs, and a second run finds them in place', (t) => {
  const b = s.bundle(t, {
    copyRootfs: true,
    args: ['sh', '-c', 'stat -c "%n %t:%T" /dev/null /dev/mydev'],
    mutate: (spec) => {
      spec.mounts = spec.mounts.filter((m: { destination: string }) => !m.destination.startsWith('/dev'));
      spec.linux.devices = [{ path: '/dev/mydev', type: 'c', major: 1, minor: 7, fileMode: 0o600 }];
    },
  });
  for (const round of [1, 2]) {
    const id = s.newId();
    s.deleteAfter(t, id);
    const r = s.cli(['run', '--bundle', b.dir, id]);
    assert.equal(r.code, 0, `run ${round}: ${show(r)}`);
    assert.equal(r.stdout, '/dev/null 1:3\n/dev/mydev 1:7\n', `run ${round}`);
  }
});

test('config-linux.md devices: in a user namespace (no mknod) the host\'s nodes are bound, also over the mount points a previous run left', (t) => {
  const b = s.bundle(t, {
    copyRootfs: true,
    args: ['sh', '-c', 'stat -c "%n %F %t:%T" /dev/null /dev/zero; echo x > /dev/null && echo null-ok'],
    mutate: (spec) => {
      spec.mounts = spec.mounts.filter((m: { destination: string }) => !m.destination.startsWith('/dev'));
      spec.linux.namespaces.push({ type: 'user' });
      spec.linux.uidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
      spec.linux.gidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
    },
  });
  // The container's root must reach its rootfs and own it to make mount points in it.
  require('node:fs').chmodSync(b.dir, 0o755);
  require('node:child_process').execFileSync('chown', ['-R', '200000:200000', join(b.dir, 'rootfs')]);
  for (const round of [1, 2]) {
    const id = s.newId();
    s.deleteAfter(t, id);
    const r = s.cli(['run', '--bundle', b.dir, id]);
    assert.equal(r.code, 0, `run ${round}: ${show(r)}`);
    assert.equal(r.stdout, '/dev/null character special file 1:3\n/dev/zero character special file 1:5\nnull-ok\n', `run ${round}`);
  }
});

test('config-linux.md allowed device list: "configures the allowed device list ... The runtime MUST apply entries in the listed order"', (t) => {
  // 240 is a major for local/experimental use: no driver answers it, so without a
  // device rule opening it gives ENXIO; denied by the device cgroup, EPERM first.
  const r = s.sh(t, 'echo x > /dev/null && echo null-ok; cat /dev/unlisted 2>&1; echo "cat=$?"', (spec) => {
    spec.linux.devices = [{ path: '/dev/unlisted', type: 'c', major: 240, minor: 0, fileMode: 0o666 }];
    spec.linux.resources = { devices: [
      { allow: false, access: 'rwm' },
      { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
    ] };
  });
  assert.equal(r.code, 0, show(r));
  assert.match(r.stdout, /^null-ok$/m);
  assert.match(r.stdout, /Operation not permitted/);
});

test('the process starts with no signal ignored or blocked (as runc): a pipe reader that goes away kills the writer with SIGPIPE', (t) => {
  const r = s.sh(t, 'grep -E "^Sig(Ign|Blk):" /proc/self/status; exec 3>&1; { yes; echo "yes: $?" >&3; } | head -c 1 >/dev/null');
  assert.equal(r.code, 0, show(r));
  assert.match(r.stdout, /^yes: 141$/m, '128 + SIGPIPE');
  assert.match(r.stdout, /^SigBlk:\s+0+$/m);
  assert.match(r.stdout, /^SigIgn:\s+0+$/m);
});

test('runtime CLI: run exits with the status of the container process', (t) => {
  for (const code of [0, 1, 7, 255]) {
    const r = s.sh(t, `exit ${code}`);
    assert.equal(r.code, code, show(r));
  }
});

test('runtime CLI: a container process killed by signal N makes run exit 128+N', async (t) => {
  // Without a pid namespace the shell is not an init and can kill itself.
  let r = s.sh(t, 'kill -TERM $$; sleep 5', (spec) => {
    spec.linux.namespaces = spec.linux.namespaces.filter((n: { type: string }) => n.type !== 'pid');
  });
  assert.equal(r.code, 128 + 15, show(r));
  r = s.sh(t, 'kill -KILL $$; sleep 5', (spec) => {
    spec.linux.namespaces = spec.linux.namespaces.filter((n: { type: string }) => n.type !== 'pid');
  });
  assert.equal(r.code, 128 + 9, show(r));

  // The init of a pid namespace, killed from outside with `kill ID KILL`.
  const b = s.bundle(t, { args: ['sleep', '30'] });
  const id = s.newId();
  s.deleteAfter(t, id);
  const run = s.spawn(['run', '--bundle', b.dir, id]);
  s.defer(t, () => run.child.kill('SIGKILL'));
  assert.ok(await waitFor(() => s.state(id)?.status === 'running'), 'the container runs');
  const k = s.cli(['kill', id, 'KILL']);
  assert.equal(k.code, 0, show(k));
  const res = await run.done;
  assert.equal(res.code, 128 + 9, show(res));
});

test('runtime CLI: signals sent to a foreground run are forwarded to the container process', async (t) => {
  const b = s.bundle(t, { args: ['sh', '-c', 'trap "echo got-term; exit 42" TERM; echo ready; while :; do sleep 0.05; done'] });
  const id = s.newId();
  s.deleteAfter(t, id);
  const run = s.spawn(['run', '--bundle', b.dir, id]);
  s.defer(t, () => run.child.kill('SIGKILL'));
  let out = '';
  run.child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  // The trap is set, and berth forwards signals (from before it started the process).
  assert.ok(await waitFor(() => out.includes('ready')), `the container got ready: ${out}`);
  run.child.kill('SIGTERM');
  const res = await run.done;
  assert.equal(res.code, 42, show(res));
  assert.match(res.stdout, /got-term/);
});

test('leftover check: it does see a container that is still there (state dir, cgroups, init process)', (t) => {
  const b = s.bundle(t, { args: ['sleep', '30'] });
  const id = s.newId();
  s.deleteAfter(t, id);
  const r = s.create(b.dir, id);
  assert.equal(r.code, 0, show(r));
  const found = leftovers(s, [id], [b.dir]).join('\n');
  assert.match(found, new RegExp(`state dir .*/${id}`));
  assert.match(found, new RegExp(`cgroup .*/berth/${id}`));
  assert.match(found, /process \d+ (in the cgroup|holds)/);
  const d = s.cli(['delete', '--force', id]);
  assert.equal(d.code, 0, show(d));
  assert.deepEqual(leftovers(s, [id], [b.dir]), []);
});

test('process: nothing is left behind', () => {
  assert.deepEqual(leftovers(s), []);
});

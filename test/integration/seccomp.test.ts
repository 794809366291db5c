// config-linux.md "Seccomp", through real containers: the engines' default
// profiles, every action seen from inside, argument conditions against runc, the
// notify listener with a supervisor of the test's own, and refused sections.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test, type TestContext } from 'node:test';
import type { LinuxSeccomp } from '../../src/spec/types';
import { native } from '../../src/native/addon';
import { repoRoot, RUNC } from '../fixtures/runtime';
import { leftovers, Session, show } from './helpers';

const s = new Session('seccomp');
const runc = new Session('seccomp-runc', RUNC);
after(() => {
  s.close();
  runc.close();
});

const profile = (file: string): LinuxSeccomp =>
  JSON.parse(readFileSync(join(repoRoot(), '../shared/oracle/engine-configs', file), 'utf8')).linux.seccomp;
const DOCKER = 'docker-run-default-seccomp.json';
const PODMAN = 'podman-init.json';

// What a program sees of a few calls the default profiles allow or forbid; each
// line is "probe: exit status" with the error text busybox prints.
const PROBES = [
  'echo hello; ls / >/dev/null',
  'unshare -U true', 'unshare -n true', 'unshare -m true',
  'mount -t tmpfs none /nope', 'umount /proc',
  'linux32 true', 'linux64 true',
  '(sync)', 'renice -n 3 -p $$ >/dev/null', 'ionice -c 3 true', 'taskset 1 true',
  'dmesg >/dev/null', 'swapoff /nope', 'hostname x', 'chroot / true',
  'mkdir /tmp/d', 'mknod /tmp/n p', 'touch /tmp/f',
];
const PROBE_SCRIPT = PROBES.map((p) => `out=$( { ${p}; } 2>&1); echo "${p.replace(/"/g, '\\"').replace(/\$/g, '\\$')}: $? $out"`).join('; ');

function withSeccomp(sec: LinuxSeccomp | undefined) {
  return (spec: any) => {
    spec.linux.seccomp = sec;
  };
}

describe('engine default profiles', () => {
  // Each profile forbids calls the kernel itself would allow this container:
  // Docker's the user namespace (unshare -U) and mount (EPERM before the path is
  // even looked up: /nope does not exist); podman's sethostname (EPERM) and the
  // calls it does not list (its defaultErrnoRet, ENOSYS).
  const FORBIDDEN: Record<string, RegExp[]> = {
    [DOCKER]: [/^unshare -U true: 1 .*Operation not permitted/m, /^mount -t tmpfs none \/nope: 1 mount: permission denied/m],
    [PODMAN]: [/^hostname x: 1 hostname: sethostname: Operation not permitted/m, /^mount -t tmpfs none \/nope: 255 .*No such file or directory/m],
  };
  for (const file of [DOCKER, PODMAN]) {
    test(`${file}: busybox runs; forbidden calls get EPERM; the process is filtered`, (t) => {
      const r = s.sh(t, `${PROBE_SCRIPT}; grep Seccomp /proc/self/status`, withSeccomp(profile(file)), { copyRootfs: true });
      assert.equal(r.code, 0, show(r));
      assert.match(r.stdout, /^echo hello; ls \/ >\/dev\/null: 0 hello$/m);
      for (const re of FORBIDDEN[file]) assert.match(r.stdout, re);
      assert.match(r.stdout, /^touch \/tmp\/f: 0/m);
      assert.match(r.stdout, /^Seccomp:\s+2$/m);
      assert.match(r.stdout, /^Seccomp_filters:\s+1$/m);
    });

    test(`${file}: berth and runc let the same calls through (personality values, clone flags, ...)`, (t) => {
      const run = (sess: Session) => sess.sh(t, PROBE_SCRIPT, withSeccomp(profile(file)), { copyRootfs: true });
      const a = run(s);
      const b = run(runc);
      assert.equal(a.code, 0, show(a));
      assert.equal(b.code, 0, show(b));
      assert.equal(a.stdout, b.stdout);
    });
  }

  test('syscalls newer than the profile get ENOSYS (runc\'s stub), in berth as in runc', (t) => {
    // Docker's profile without the calls numbered from syncfs (306) on: setns (308)
    // is then newer than anything the profile names, so nsenter sees ENOSYS, not
    // the default EPERM; unshare (272) is still refused with EPERM.
    const resolve = (native() as unknown as { seccompResolve(n: string): number }).seccompResolve;
    const p = profile(DOCKER);
    p.syscalls = p.syscalls!.map((r) => ({ ...r, names: r.names.filter((n) => resolve(n) < 306) })).filter((r) => r.names.length > 0);
    const script = 'nsenter -t 1 -u true; echo "nsenter $?"; unshare -U true; echo "unshare $?"';
    const a = s.sh(t, script, withSeccomp(p));
    const b = runc.sh(t, script, withSeccomp(p));
    assert.equal(a.code, 0, show(a));
    assert.equal(a.stdout, 'nsenter 1\nunshare 1\n', show(a));
    assert.match(a.stderr, /nsenter: setns\(\): .*Function not implemented/);
    assert.match(a.stderr, /unshare: .*Operation not permitted/);
    assert.equal(a.stdout, b.stdout);
    assert.equal(a.stderr, b.stderr);
  });

  test('defaultErrnoRet: calls outside the profile fail with the given errno', (t) => {
    const r = s.sh(t, 'unshare -U true', withSeccomp({ ...profile(DOCKER), defaultErrnoRet: 38 }));
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /Function not implemented/);
  });
});

describe('actions, seen from inside', () => {
  const rule = (action: LinuxSeccomp['defaultAction'], names: string[], extra: object = {}): LinuxSeccomp => ({
    defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
    syscalls: [{ names, action, ...extra }],
  });
  const SYNC = ['sync'];
  const MKDIR = ['mkdir', 'mkdirat'];

  test('SCMP_ACT_ERRNO: the call fails with errnoRet (EPERM without it)', (t) => {
    let r = s.sh(t, 'mkdir /tmp/x', withSeccomp(rule('SCMP_ACT_ERRNO', MKDIR, { errnoRet: 13 })), { copyRootfs: true });
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /Permission denied/);
    r = s.sh(t, 'mkdir /tmp/x', withSeccomp(rule('SCMP_ACT_ERRNO', MKDIR)), { copyRootfs: true });
    assert.match(r.stderr, /Operation not permitted/);
  });

  for (const action of ['SCMP_ACT_KILL', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_TRAP'] as const) {
    test(`${action}: the calling process dies of SIGSYS`, (t) => {
      const r = s.sh(t, '(sync); echo "status $?"', withSeccomp(rule(action, SYNC)));
      assert.equal(r.code, 0, show(r));
      assert.equal(r.stdout.trim(), `status ${128 + 31}`);
    });
  }

  test('SCMP_ACT_TRACE: without a tracer the call fails with ENOSYS', (t) => {
    const r = s.sh(t, 'mkdir /tmp/x', withSeccomp(rule('SCMP_ACT_TRACE', MKDIR)), { copyRootfs: true });
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /Function not implemented/);
  });

  for (const action of ['SCMP_ACT_LOG', 'SCMP_ACT_ALLOW'] as const) {
    test(`${action}: the call goes through (flags LOG, SPEC_ALLOW, TSYNC)`, (t) => {
      const flags = ['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW', 'SECCOMP_FILTER_FLAG_TSYNC'] as LinuxSeccomp['flags'];
      const r = s.sh(t, 'mkdir /tmp/x && echo made', withSeccomp({ ...rule(action, MKDIR), defaultAction: 'SCMP_ACT_ALLOW', flags }), { copyRootfs: true });
      assert.equal(r.code, 0, show(r));
      assert.equal(r.stdout.trim(), 'made');
    });
  }

  test('no_new_privs unset: the filter is installed before capabilities are dropped (it needs CAP_SYS_ADMIN)', (t) => {
    const r = s.sh(t, '(sync); echo "status $?"; grep -E "^(CapEff|NoNewPrivs|Seccomp):" /proc/self/status', (spec) => {
      spec.process.noNewPrivileges = false;
      spec.process.user = { uid: 1000, gid: 1000 };
      spec.linux.seccomp = rule('SCMP_ACT_KILL', SYNC);
    });
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /^status 159$/m);
    assert.match(r.stdout, /^CapEff:\s+0+$/m);
    assert.match(r.stdout, /^NoNewPrivs:\s+0$/m);
    assert.match(r.stdout, /^Seccomp:\s+2$/m);
  });
});

describe('argument conditions', () => {
  // setpriority(which, who, prio): renice sets prio (arg 2) to the value given.
  const PRIO: LinuxSeccomp = {
    defaultAction: 'SCMP_ACT_ALLOW',
    syscalls: [
      { names: ['setpriority'], action: 'SCMP_ACT_ERRNO', errnoRet: 13, args: [{ index: 2, value: 3, op: 'SCMP_CMP_EQ' }] },
      // Two conditions on one argument: alternatives (runc adds one rule per condition).
      { names: ['setpriority'], action: 'SCMP_ACT_ERRNO', errnoRet: 1, args: [{ index: 2, value: 13, op: 'SCMP_CMP_EQ' }, { index: 2, value: 14, op: 'SCMP_CMP_EQ' }] },
      // On two arguments: both must hold.
      { names: ['setpriority'], action: 'SCMP_ACT_ERRNO', errnoRet: 16, args: [{ index: 0, value: 0, op: 'SCMP_CMP_EQ' }, { index: 2, value: 16, op: 'SCMP_CMP_GT' }] },
      { names: ['setpriority'], action: 'SCMP_ACT_ERRNO', errnoRet: 22, args: [{ index: 2, value: 0x0c, valueTwo: 0x04, op: 'SCMP_CMP_MASKED_EQ' }] },
      { names: ['setpriority'], action: 'SCMP_ACT_ERRNO', errnoRet: 7, args: [{ index: 0, value: 1, op: 'SCMP_CMP_LT' }, { index: 2, value: 1, op: 'SCMP_CMP_LE' }] },
      { names: ['setpriority'], action: 'SCMP_ACT_ERRNO', errnoRet: 8, args: [{ index: 0, value: 5, op: 'SCMP_CMP_NE' }, { index: 2, value: 8, op: 'SCMP_CMP_EQ' }] },
      { names: ['setpriority'], action: 'SCMP_ACT_ERRNO', errnoRet: 33, args: [{ index: 1, value: 1, op: 'SCMP_CMP_GE' }, { index: 2, value: 9, op: 'SCMP_CMP_EQ' }] },
    ],
  };
  const script = 'for n in $(seq 0 19); do out=$(sh -c "renice -n $n -p \\$\\$" 2>&1 >/dev/null); echo "$n $? $out"; done';

  test('GT on one argument with EQ on another: both must hold', (t) => {
    const r = s.sh(t, script, withSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [PRIO.syscalls![2]] }));
    assert.equal(r.code, 0, show(r));
    const blocked = r.stdout.split('\n').filter((l) => l && l.split(' ')[1] !== '0').map((l) => l.split(' ')[0]);
    assert.deepEqual(blocked, ['17', '18', '19'], r.stdout);
    assert.match(r.stdout, /^17 1 .*busy$/m);
  });

  test('all operators, several conditions per rule: berth and runc agree value by value', (t) => {
    const a = s.sh(t, script, withSeccomp(PRIO));
    const b = runc.sh(t, script, withSeccomp(PRIO));
    assert.equal(a.code, 0, show(a));
    assert.equal(b.code, 0, show(b));
    assert.equal(a.stdout, b.stdout);
    const blocked = a.stdout.split('\n').filter((l) => l && l.split(' ')[1] !== '0').map((l) => l.split(' ')[0]);
    // 0-1 LT and LE, 3 EQ, 4-7 MASKED_EQ, 8 NE and EQ, 9 GE and EQ, 13-14 two
    // conditions on one argument (alternatives). 17-19 (arg 0 EQ 0 and arg 2 GT 16)
    // pass, under runc too: libseccomp (2.5) builds one decision tree per syscall,
    // and for arg 0 = 0 it follows the branch of "arg 0 NE 5" (the 8 rule), never
    // reaching this rule's. Alone, the rule blocks 17-19 in both runtimes.
    assert.deepEqual(blocked, ['0', '1', '3', '4', '5', '6', '7', '8', '9', '13', '14'], a.stdout);
    assert.match(a.stdout, /^3 1 .*Permission denied$/m);
    assert.match(a.stdout, /^13 1 .*Operation not permitted$/m);
    assert.match(a.stdout, /^5 1 .*Invalid argument$/m);
  });
});

describe('notify', () => {
  // A seccomp agent: takes the notify fd and the container process state from
  // the listener socket, answers every mkdir with ENOMEDIUM, writes what it got.
  const AGENT = String.raw`
import array, fcntl, json, socket, struct, sys, threading
path, out = sys.argv[1], sys.argv[2]
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path); srv.listen(4)
print("ready", flush=True)
NOTIF_RECV, NOTIF_SEND = 0xc0502100, 0xc0182101
def answer(fd):
    while True:
        buf = bytearray(80)
        try:
            fcntl.ioctl(fd, NOTIF_RECV, buf)
        except OSError:
            break
        nid, pid, fl, nr = struct.unpack_from("<QIIi", buf)
        try:
            fcntl.ioctl(fd, NOTIF_SEND, bytearray(struct.pack("<QqiI", nid, 0, -123, 0)))
        except OSError:
            pass
while True:
    conn, _ = srv.accept()
    fds = array.array("i")
    data = b""
    while True:
        msg, anc, flags, addr = conn.recvmsg(65536, socket.CMSG_SPACE(4 * 4))
        for level, typ, cdata in anc:
            if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
                fds.frombytes(cdata[: len(cdata) - (len(cdata) % 4)])
        if not msg: break
        data += msg
    conn.close()
    with open(out, "a") as f:
        f.write(json.dumps({"state": json.loads(data), "nfds": len(fds)}) + "\n")
    threading.Thread(target=answer, args=(fds[0],), daemon=True).start()
`;

  /** Starts the agent; its socket, the file it writes (a JSON line per connection), its stderr so far. */
  async function startAgent(t: TestContext): Promise<{ sock: string; out: string; err: () => string }> {
    const dir = s.tmpdir(t, 'berth-itest-agent-');
    const sock = join(dir, 'agent.sock');
    const out = join(dir, 'got.jsonl');
    writeFileSync(join(dir, 'agent.py'), AGENT);
    const agent = spawn('python3', [join(dir, 'agent.py'), sock, out], { stdio: ['ignore', 'pipe', 'pipe'] });
    let agentErr = '';
    agent.stderr!.on('data', (d) => (agentErr += d));
    s.defer(t, () => agent.kill('SIGKILL'));
    await new Promise<void>((res, rej) => {
      agent.stdout!.on('data', (d) => String(d).includes('ready') && res());
      agent.on('exit', () => rej(new Error(`agent exited: ${agentErr}`)));
    });
    return { sock, out, err: () => agentErr };
  }

  test('exec gets a listener of its own, sent to listenerPath with the state "running" (as runc)', async (t) => {
    const { sock, out, err } = await startAgent(t);
    const { id } = s.started(t, {
      args: ['sleep', '100'],
      copyRootfs: true,
      mutate: withSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', listenerPath: sock, syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_NOTIFY' }] }),
    });
    const e = s.cli(['exec', id, 'sh', '-c', 'mkdir /tmp/x; echo "mkdir $?"; echo "pid $$"']);
    assert.equal(e.code, 0, show(e) + err());
    assert.match(e.stdout, /^mkdir 1$/m);
    assert.match(e.stderr, /No medium found/);
    const got = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(got.length, 2, JSON.stringify(got));
    const [init, exec] = got;
    assert.equal(init.state.state.status, 'creating');
    assert.equal(exec.state.state.status, 'running');
    assert.equal(exec.nfds, 1);
    assert.equal(exec.state.state.pid, init.state.pid, "the state's pid is the init's");
    assert.notEqual(exec.state.pid, init.state.pid, "beside it, the exec'd process's own");
  });

  test('listenerPath: the agent gets the fd and the state, and answers the calls', async (t) => {
    const { sock, out, err } = await startAgent(t);
    const agentErr = err();
    const id = s.newId();
    const r = s.sh(t, 'mkdir /tmp/x; echo "mkdir $?"; rmdir /tmp; echo "rmdir $?"', withSeccomp({
      defaultAction: 'SCMP_ACT_ALLOW', listenerPath: sock, listenerMetadata: 'meta-data',
      flags: ['SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'],
      syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_NOTIFY' }],
    }), { copyRootfs: true, id });
    assert.equal(r.code, 0, show(r) + agentErr);
    assert.match(r.stdout, /^mkdir 1$/m);
    assert.match(r.stderr, /No medium found/);
    assert.ok(existsSync(out), agentErr);
    const got = JSON.parse(readFileSync(out, 'utf8').split('\n')[0]);
    assert.equal(got.nfds, 1);
    assert.deepEqual(got.state.fds, ['seccompFd']);
    assert.equal(got.state.metadata, 'meta-data');
    assert.equal(got.state.state.id, id);
    assert.equal(got.state.state.status, 'creating');
    assert.ok(got.state.pid > 0 && got.state.pid === got.state.state.pid);
  });

  test('an unreachable listenerPath is a create error that leaves nothing behind', (t) => {
    const b = s.bundle(t, { args: ['true'], mutate: withSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/nonexistent/agent.sock', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] }) });
    const id = s.newId();
    s.deleteAfter(t, id);
    const r = s.create(b.dir, id);
    assert.notEqual(r.code, 0, show(r));
    assert.match(r.stderr, /linux\.seccomp\.listenerPath.*connect \/nonexistent\/agent\.sock: No such file or directory/);
    assert.deepEqual(leftovers(s, [id], [b.dir]), []);
  });
});

describe('malformed or hostile sections', () => {
  const CASES: [string, LinuxSeccomp, RegExp][] = [
    ['unknown action', { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_EXPLODE' as never }] }, /\/linux\/seccomp\/syscalls\/0\/action: must be one of/],
    ['unknown arch', { defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_VAX' as never] }, /\/linux\/seccomp\/architectures\/0: must be one of/],
    ['arch unknown to libseccomp', { defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_SHEB'] }, /linux\.seccomp: architecture sheb is not known to libseccomp/],
    ['10 000 rules', { defaultAction: 'SCMP_ACT_ERRNO', syscalls: Array.from({ length: 10000 }, (_, i) => ({ names: ['personality'], action: 'SCMP_ACT_ALLOW' as const, args: [{ index: 0, value: i, op: 'SCMP_CMP_EQ' as const }] })) }, /linux\.seccomp\.syscalls: more than 4096 rules/],
    ['a condition on argument 6', { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ERRNO', args: [{ index: 6, value: 0, op: 'SCMP_CMP_EQ' }] }] }, /linux\.seccomp\.syscalls\[0\]\.args\[0\]\.index/],
    ['errnoRet on SCMP_ACT_ALLOW', { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW', errnoRet: 1 }] }, /SCMP_ACT_ALLOW takes no errnoRet/],
  ];
  for (const [name, sec, re] of CASES) {
    test(`${name}: a clear create error, nothing left behind`, (t) => {
      const b = s.bundle(t, { args: ['true'], mutate: withSeccomp(sec) });
      const id = s.newId();
      s.deleteAfter(t, id);
      const r = s.create(b.dir, id);
      assert.notEqual(r.code, 0, show(r));
      assert.match(r.stderr, re);
      assert.deepEqual(leftovers(s, [id], [b.dir]), []);
    });
  }
});

test('seccomp: nothing is left behind', () => {
  assert.deepEqual(leftovers(s), []);
  assert.deepEqual(leftovers(runc), []);
});


// The container's stdio (issue 16 item 1): in the foreground, `run` and `exec`
// give the process pipes that berth copies, never berth's own stdio, and every
// container process leads a session of its own (as runc). A container must not
// type into the caller's terminal (TIOCSTI, dev.tty.legacy_tiocsti=1 here),
// through an inherited fd or /dev/tty, in the foreground or detached. Data and
// EOF still flow both ways, statuses and signals come back; --preserve-fds and
// detached runs keep the caller's fds. And a default `berth spec` bundle runs
// with nothing on stderr that is not the container's (issue 9 item 15b).
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test, type TestContext } from 'node:test';
import { sharedRootfs } from '../fixtures/bundle';
import { repoRoot, requireTool, RUNC } from '../fixtures/runtime';
import { leftovers, Session, show, waitFor } from './helpers';
import type { SpecObject } from '../../src/spec/defaults';

const s = new Session('stdio');
after(() => s.close());

/** The TIOCSTI probe, built static (the test rootfs has no C library) into a temp dir. */
function buildProbe(t: TestContext): string | undefined {
  if (!requireTool('cc', t)) return undefined;
  const dir = s.tmpdir(t);
  execFileSync('cc', ['-static', '-O2', '-o', join(dir, 'tiocsti-probe'), join(repoRoot(), 'test/fixtures/tiocsti-probe.c')]);
  return dir;
}

/** The probe's directory as the container's /tmp (read-only). */
const withProbe = (dir: string) => (spec: SpecObject) => {
  spec.mounts.push({ destination: '/tmp', type: 'bind', source: dir, options: ['bind', 'ro'] });
};

/**
 * A user's interactive shell at a real terminal (test/fixtures/pty-driver.py):
 * the steps type into it and wait for output. Resolves to what the terminal
 * showed (\r removed) and the shell's status.
 */
async function atShell(t: TestContext, steps: [string, string][]): Promise<{ status: number; output: string }> {
  // The prompt, from the file an interactive sh reads first.
  const rc = join(s.tmpdir(t), 'shrc');
  writeFileSync(rc, "PS1='sh> '\n");
  const env = { ...process.env, ENV: rc };
  const driver = join(repoRoot(), 'test/fixtures/pty-driver.py');
  const p = spawn('python3', [driver, '40x200', '90', JSON.stringify(steps), '--', 'sh', '-i'], { stdio: ['ignore', 'pipe', 'inherit'], env });
  let out = '';
  p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise((res) => p.on('exit', res));
  const r = JSON.parse(out) as { status: number; output: string };
  return { status: r.status, output: r.output.replace(/\r/g, '') };
}

/** A command line for the shell that prints `<label>=<status>` (the typed line itself never contains that text). */
const withStatus = (cmd: string, label: string) => `${cmd}; r=$?; echo "${label.slice(0, 1)}""${label.slice(1)}=$r"\r`;
const sync = (n: number): [string, string][] => [['type', `echo "sy""nc-${n}"\r`], ['expect', `sync-${n}`]];

test('the container cannot type into the caller\'s terminal (TIOCSTI): foreground run and exec, run -d; ^C still reaches it', async (t) => {
  if (!requireTool('python3', t)) return;
  const legacy = '/proc/sys/dev/tty/legacy_tiocsti';
  if (existsSync(legacy) && readFileSync(legacy, 'utf8').trim() !== '1') {
    t.skip(`${legacy} is 0: TIOCSTI is refused to everyone on this kernel, so there is nothing to test`);
    return;
  }
  const probeDir = buildProbe(t);
  if (!probeDir) return;
  const marks = s.tmpdir(t);
  const mark = (name: string) => join(marks, name);
  const probe = '/tmp/tiocsti-probe';
  const berth = `${s.bin} --root ${s.root}`;

  const run = s.bundle(t, { args: [probe, `touch ${mark('run')}`, '0', '1', '2', 'tty'], mutate: withProbe(probeDir) });
  const runD = s.bundle(t, { args: [probe, `touch ${mark('run-d')}`, '0', '1', '2', 'tty'], mutate: withProbe(probeDir) });
  const onInt = s.bundle(t, { args: ['sh', '-c', 'trap "echo got-int; exit 7" INT; echo ready-int; while :; do sleep 0.05; done'] });
  const { id: execId } = s.started(t, { args: ['sleep', '1000'], mutate: withProbe(probeDir) });
  const [runId, runDId, intId] = [s.newId(), s.newId(), s.newId()];
  for (const id of [runId, runDId, intId]) s.deleteAfter(t, id);

  const r = await atShell(t, [
    ['expect', 'sh> '],
    // The control: the same probe run by the shell itself does inject, and the
    // shell runs what it typed. So an injection from the container would show.
    ['type', `${join(probeDir, 'tiocsti-probe')} 'touch ${mark('control')}' 0\r`],
    ['expect', `probe done: touch ${mark('control')}`],
    ...sync(1),
    ['type', withStatus(`${berth} run --bundle ${run.dir} ${runId}`, 'status-run')],
    ['expect', 'status-run='],
    ...sync(2),
    ['type', withStatus(`${berth} exec ${execId} ${probe} 'touch ${mark('exec')}' 0 1 2 tty`, 'status-exec')],
    ['expect', 'status-exec='],
    ...sync(3),
    // Detached, the container keeps the caller's terminal as its stdio (as under
    // runc), but not as its controlling terminal.
    ['type', withStatus(`${berth} run -d --bundle ${runD.dir} ${runDId}`, 'status-run-d')],
    ['expect', 'status-run-d='],
    ['expect', `probe done: touch ${mark('run-d')}`],
    ...sync(4),
    ['type', withStatus(`${berth} run --bundle ${onInt.dir} ${intId}`, 'status-int')],
    ['expect', 'ready-int'],
    ['type', '\u0003'],
    ['expect', 'status-int='],
    ...sync(5),
    ['type', 'exit\r'],
  ]);
  const out = r.output;
  assert.equal(r.status, 0, out);
  assert.ok(existsSync(mark('control')), `the control injection worked: ${out}`);
  for (const name of ['run', 'exec', 'run-d']) assert.equal(existsSync(mark(name)), false, `${name}: the shell ran what the container typed:\n${out}`);
  assert.match(out, /^status-run=0$/m, out);
  assert.match(out, /^status-exec=0$/m, out);
  assert.match(out, /^status-run-d=0$/m, out);
  // Each attempt failed: the process's stdio is pipes (ENOTTY) in the foreground,
  // a terminal not its own detached (EPERM), and it has no controlling terminal.
  // (Not anchored: the detached container's lines may follow a prompt.)
  const attempts = [...out.matchAll(/\b(0|1|2|tty): injected (\d+) \(([^)]*)\)/g)].map((m) => `${m[1]} ${m[2]} ${m[3]}`);
  assert.equal(attempts.length, 1 + 3 * 4, out);
  assert.deepEqual(attempts.filter((a) => !/^\S+ 0 /.test(a)), [`0 ${`touch ${mark('control')}`.length + 1} none`], out);
  // ^C at the terminal reaches berth, which forwards it: the container traps it.
  assert.match(out, /got-int$/m, out);
  assert.match(out, /^status-int=7$/m, out);
  assert.equal(s.cli(['state', runId]).code, 1, 'run removed its container');
});

test('run in the foreground: stdin is copied in to its EOF, stdout and stderr out to the last byte; the process holds pipes', (t) => {
  const r = s.run(t, {
    args: ['sh', '-c', 'cat; echo eof-seen; for fd in 0 1 2; do readlink /proc/self/fd/$fd; done; echo to-stderr >&2; exit 5'],
    input: 'hi\nthere\n',
  });
  assert.equal(r.code, 5, show(r));
  const lines = r.stdout.split('\n');
  assert.deepEqual(lines.slice(0, 3), ['hi', 'there', 'eof-seen'], show(r));
  for (const l of lines.slice(3, 6)) assert.match(l, /^pipe:\[\d+\]$/, show(r));
  assert.equal(r.stderr, 'to-stderr\n');

  // More than any pipe buffer, both ways; the process exits right after its last write.
  const big = Buffer.alloc(3 << 20, 'x');
  const wc = s.run(t, { args: ['wc', '-c'], input: big });
  assert.equal(wc.code, 0, show(wc));
  assert.equal(wc.stdout.trim(), String(big.length));
  const out = s.run(t, { args: ['sh', '-c', 'head -c 3145728 /dev/zero | tr "\\0" y; head -c 1048576 /dev/zero | tr "\\0" z >&2'] });
  assert.equal(out.code, 0, `exit ${out.code}: ${out.stderr.slice(0, 200)}`);
  assert.equal(out.stdout, 'y'.repeat(3 << 20));
  assert.equal(out.stderr, 'z'.repeat(1 << 20));
});

test('run in the foreground into a pipe of one page that fills up: every byte arrives before berth exits, with the status', (t) => {
  if (!requireTool('python3', t)) return;
  const bundle = s.bundle(t, { args: ['sh', '-c', 'head -c 1048576 /dev/zero | tr "\\0" y; exit 3'] });
  const id = s.newId();
  s.deleteAfter(t, id);
  // berth's stdout is a pipe of 4 KiB (F_SETPIPE_SZ, 1031): its copy of the output
  // is still under way when the container has exited, and berth (which ends its
  // process once the event loop is empty) must not end before it is done.
  const reader = [
    'import fcntl, os, subprocess, sys',
    'r, w = os.pipe()',
    'fcntl.fcntl(w, 1031, 4096)',
    'p = subprocess.Popen(sys.argv[1:], stdout=w)',
    'os.close(w)',
    'n = 0',
    'while (b := os.read(r, 512)): n += b.count(b"y")',
    'print(n, p.wait())',
  ].join('\n');
  const r = spawnSync('python3', ['-c', reader, s.bin, '--root', s.root, 'run', '--bundle', bundle.dir, id], { encoding: 'utf8' });
  assert.equal(r.stdout, `${1 << 20} 3\n`, r.stderr);
});

test("with a user namespace the pipes belong to the container's root, who can reopen them (as runc)", (t) => {
  const r = s.run(t, {
    args: ['sh', '-c', 'echo reopened > /proc/self/fd/1; stat -L -c %u /proc/self/fd/0'],
    mutate: (spec) => {
      spec.linux.namespaces.push({ type: 'user' });
      spec.linux.uidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
      spec.linux.gidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
    },
  });
  assert.equal(r.code, 0, show(r));
  assert.equal(r.stdout, 'reopened\n0\n');
});

test('exec in the foreground: stdin in to its EOF, output out, statuses back; --preserve-fds passes fd 3 as given', (t) => {
  const { id } = s.started(t, { args: ['sleep', '1000'] });
  const e = s.cli(['exec', id, 'sh', '-c', 'cat; echo eof-seen; readlink /proc/self/fd/0; echo to-stderr >&2; exit 4'], { input: 'piped\n' });
  assert.equal(e.code, 4, show(e));
  assert.match(e.stdout, /^piped\neof-seen\npipe:\[\d+\]\n$/, show(e));
  assert.equal(e.stderr, 'to-stderr\n');
  assert.equal(s.cli(['exec', id, 'sh', '-c', 'kill -9 $$']).code, 137);

  const dir = s.tmpdir(t);
  writeFileSync(join(dir, 'in'), 'from fd 3\n');
  const fd3 = openSync(join(dir, 'in'), 'r');
  const outFd = openSync(join(dir, 'out'), 'w');
  try {
    const r = spawnSync(s.bin, ['--root', s.root, 'exec', '--preserve-fds', '1', id, 'sh', '-c', 'cat <&3; readlink /proc/self/fd/1'], {
      stdio: ['ignore', outFd, 'pipe', fd3],
      timeout: 30_000,
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
  } finally {
    closeSync(fd3);
    closeSync(outFd);
  }
  assert.match(readFileSync(join(dir, 'out'), 'utf8'), /^from fd 3\npipe:\[\d+\]\n$/);
});

test('signals to a foreground exec reach its process; its last output still comes out', async (t) => {
  const { id } = s.started(t, { args: ['sleep', '1000'] });
  const e = s.spawn(['exec', id, 'sh', '-c', 'trap "echo got-term; exit 42" TERM; echo ready; while :; do sleep 0.05; done']);
  s.defer(t, () => e.child.kill('SIGKILL'));
  let seen = '';
  e.child.stdout!.on('data', (d: Buffer) => (seen += d.toString()));
  assert.ok(await waitFor(() => seen.includes('ready'), 10_000), 'the process runs');
  e.child.kill('SIGTERM');
  const res = await e.done;
  assert.equal(res.code, 42, show(res));
  assert.equal(res.stdout, 'ready\ngot-term\n');
});

test('create and a detached run keep the caller\'s stdio (engines pass pipes and files of their own)', (t) => {
  const { id } = s.started(t, { args: ['sleep', '1000'] });
  assert.match(readlinkSync(`/proc/${s.state(id)!.pid}/fd/1`), /^\/tmp\/berth-itest-out-[^/]+\/out( \(deleted\))?$/, 'create hands over the file it was given');
  const b = s.bundle(t, { args: ['sleep', '1000'] });
  // Files, not pipes: the container holds them on after berth returns.
  const [out, err] = ['out', 'err'].map((f) => join(s.tmpdir(t), f));
  const fds = [openSync(out, 'w'), openSync(err, 'w')];
  const runId = s.newId();
  s.deleteAfter(t, runId);
  try {
    const r = spawnSync(s.bin, ['--root', s.root, 'run', '-d', '--bundle', b.dir, runId], { stdio: ['ignore', ...fds], timeout: 30_000 });
    assert.equal(r.status, 0, readFileSync(err, 'utf8'));
  } finally {
    for (const fd of fds) closeSync(fd);
  }
  assert.equal(readlinkSync(`/proc/${s.state(runId)!.pid}/fd/1`), out);
  assert.equal(readlinkSync(`/proc/${s.state(runId)!.pid}/fd/2`), err);
});

/** A bundle whose config.json `spec` wrote (berth's or runc's), changed only to run `echo out` without a terminal. */
function specBundle(t: TestContext, runtime: string): string {
  const dir = s.tmpdir(t);
  symlinkSync(sharedRootfs(), join(dir, 'rootfs'));
  const spec = spawnSync(runtime, ['spec', '--bundle', dir], { encoding: 'utf8' });
  assert.equal(spec.status, 0, spec.stderr);
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as SpecObject;
  config.process.terminal = false;
  config.process.args = ['echo', 'out'];
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}

/** `run` of a specBundle (with global options before it): `out` on stdout, nothing on stderr. */
function runsQuietly(t: TestContext, dir: string, global: string[] = []): void {
  const id = s.newId();
  s.deleteAfter(t, id);
  const r = s.cli([...global, 'run', '--bundle', dir, id]);
  assert.equal(r.code, 0, show(r));
  assert.equal(r.stdout, 'out\n');
  assert.equal(r.stderr, '');
}

test('default `berth spec` and `runc spec` bundles run with an empty stderr; what is left out of ambient is a debug line in --log', (t) => {
  if (!requireTool(RUNC, t)) return;
  const bundles = [specBundle(t, s.bin), specBundle(t, RUNC)];
  // runc's default asks for ambient capabilities that are not inheritable, which
  // the kernel cannot grant: runc leaves them out silently.
  const caps = (JSON.parse(readFileSync(join(bundles[1], 'config.json'), 'utf8')) as SpecObject).process.capabilities!;
  assert.ok(caps.ambient?.some((c: string) => !caps.inheritable?.includes(c)), JSON.stringify(caps));
  for (const dir of bundles) {
    runsQuietly(t, dir);
    const id2 = s.newId();
    s.deleteAfter(t, id2);
    const c = s.create(dir, id2);
    assert.equal(c.code, 0, show(c));
    assert.equal(c.stderr, '');
    assert.equal(s.cli(['delete', '--force', id2]).code, 0);
  }
  const log = join(bundles[1], 'log');
  const id3 = s.newId();
  s.deleteAfter(t, id3);
  const d = s.cli(['--debug', '--log', log, 'run', '--bundle', bundles[1], id3]);
  assert.equal(d.code, 0, show(d));
  assert.equal(d.stderr, '');
  assert.match(readFileSync(log, 'utf8'), /level=debug msg="ambient capabilities need to be permitted and inheritable too; ignoring /);
});

test('what berth ignores in a config (an unknown capability, tmpcopyup) is a warning in --log, never on stderr (the container\'s own output in `run`)', (t) => {
  const dir = specBundle(t, s.bin);
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as SpecObject;
  config.process.capabilities!.bounding!.push('CAP_BERTH_UNKNOWN');
  config.mounts!.push({ destination: '/run', type: 'tmpfs', source: 'tmpfs', options: ['tmpcopyup'] });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  runsQuietly(t, dir);
  const log = join(dir, 'log');
  runsQuietly(t, dir, ['--log', log]);
  const lines = readFileSync(log, 'utf8');
  assert.match(lines, /level=warning msg="ignoring unknown or unavailable capabilities: CAP_BERTH_UNKNOWN"/);
  assert.match(lines, /level=warning msg="mounts\[\d+\] \(\/run\): mount option tmpcopyup is not supported; ignored"/);
});

test('nothing is left behind', () => {
  assert.deepEqual(leftovers(s), []);
});

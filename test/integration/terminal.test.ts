// process.terminal with --console-socket (runtime-spec's console socket, as
// engines use it): a pty made in the container's devpts, the master sent to the
// socket, the slave the process's controlling terminal and stdio, sized as asked.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, test, type TestContext } from 'node:test';
import { repoRoot, requireTool } from '../fixtures/runtime';
import { GUARD_MS } from '../fixtures/wait';
import { leftovers, Session, show } from './helpers';
import type { SpecObject } from '../../src/spec/defaults';

const s = new Session('tty');
after(() => s.close());

/** Starts the receiving end; resolves once it listens, and gives what it printed at exit. */
async function receiver(t: TestContext, typed = ''): Promise<{ path: string; output: Promise<string> }> {
  const dir = s.tmpdir(t);
  const path = join(dir, 'console.sock');
  const p = spawn('python3', [join(repoRoot(), 'test/fixtures/console-receiver.py'), path, '5', ...(typed ? [typed] : [])], { stdio: ['ignore', 'pipe', 'inherit'] });
  s.defer(t, () => p.kill());
  let out = '';
  const output = new Promise<string>((res) => p.on('exit', () => res(out)));
  await new Promise<void>((res) => p.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.includes('ready')) res();
  }));
  return { path, output };
}

/**
 * Creates and starts a container whose process has a terminal, sent to a
 * receiver; resolves to what the terminal showed (\r removed).
 */
async function throughConsole(t: TestContext, args: string[], mutate: (spec: SpecObject) => void = () => {}): Promise<string> {
  const r = await receiver(t);
  const b = s.bundle(t, {
    args,
    mutate: (spec) => {
      spec.process.terminal = true;
      mutate(spec);
    },
  });
  const id = s.newId();
  s.deleteAfter(t, id);
  const c = s.create(b.dir, id, ['--console-socket', r.path]);
  assert.equal(c.code, 0, show(c));
  assert.equal(s.cli(['start', id]).code, 0);
  return (await r.output).replace(/\r/g, '');
}

test('create with a terminal: the master goes to --console-socket; the process has the pty as stdio and controlling tty', async (t) => {
  if (!requireTool('python3', t)) return;
  const out = await throughConsole(t, ['sh', '-c', 'tty; stty size; readlink /proc/self/fd/0; cat /proc/self/stat | cut -d" " -f7'], (spec) => {
    spec.process.consoleSize = { height: 33, width: 99 };
  });
  assert.match(out, /^name \/dev\/pts\/\d+$/m);
  const lines = out.split('\n');
  assert.ok(lines.includes('/dev/pts/0'), `the container's own devpts: ${out}`);
  assert.ok(lines.includes('33 99'), out);
  // tty_nr (field 7 of stat) is not 0: the pty is the controlling terminal.
  assert.ok(lines.some((l) => /^\d+$/.test(l) && l !== '0'), out);
});

test('exec --tty --console-socket into a running container', async (t) => {
  if (!requireTool('python3', t)) return;
  const { id } = s.started(t, { args: ['sleep', '100'] });
  const r = await receiver(t);
  const e = s.cli(['exec', '--tty', '--console-socket', r.path, id, 'sh', '-c', 'tty; echo exec-ok']);
  assert.equal(e.code, 0, show(e));
  const out = await r.output;
  assert.match(out.replace(/\r/g, ''), /^\/dev\/pts\/\d+\nexec-ok$/m);
});

test('config-linux.md default devices: with a terminal, "/dev/console is set up ... by bind mounting the pseudoterminal pty to /dev/console" (read-only rootfs too)', async (t) => {
  if (!requireTool('python3', t)) return;
  const out = await throughConsole(
    t,
    ['sh', '-c', 'echo "console $(stat -c "%t:%T" /dev/console) tty $(stat -L -c "%t:%T" $(tty))"; grep -c " /dev/console " /proc/self/mountinfo'],
    (spec) => (spec.root!.readonly = true),
  );
  const m = out.match(/^console (\S+) tty (\S+)$/m);
  assert.ok(m, out);
  assert.equal(m[1], m[2], 'the same device');
  assert.match(out, /^1$/m, 'a mount on /dev/console');
});

test("the terminal belongs to the process's user (as runc): a non-root user can reopen its /dev/pts/N", async (t) => {
  if (!requireTool('python3', t)) return;
  const out = await throughConsole(t, ['sh', '-c', 'stat -c "owner %u" $(tty); echo by-path > $(tty) && echo reopened'], (spec) => {
    spec.process.user = { uid: 1000, gid: 1000 };
  });
  assert.match(out, /^owner 1000$/m);
  assert.match(out, /^by-path\nreopened$/m);
});

test('exec --tty into a container with a user namespace: the pty belongs to a mapped id, not to the unmapped host root', async (t) => {
  if (!requireTool('python3', t)) return;
  const { id } = s.started(t, {
    args: ['sleep', '100'],
    mutate: (spec) => {
      spec.linux.namespaces.push({ type: 'user' });
      spec.linux.uidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
      spec.linux.gidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
    },
  });
  for (const user of ['0', '1000']) {
    const r = await receiver(t);
    const e = s.cli(['exec', '--tty', '--console-socket', r.path, '--user', user, id, 'sh', '-c', 'stat -c "owner %u" $(tty); echo x > $(tty) && echo reopened']);
    assert.equal(e.code, 0, show(e));
    const out = (await r.output).replace(/\r/g, '');
    assert.match(out, new RegExp(`^owner ${user}$`, 'm'), `user ${user}: ${out}`);
    assert.match(out, /^reopened$/m, `user ${user}: ${out}`);
  }
});

test('a terminal without --console-socket is a clear error', (t) => {
  const b = s.bundle(t, { args: ['true'], mutate: (spec) => (spec.process.terminal = true) });
  const id = s.newId();
  const c = s.create(b.dir, id);
  assert.notEqual(c.code, 0);
  assert.match(c.stderr, /process\.terminal.*--console-socket/);
  assert.match(s.cli(['exec', '-t', 'no-such', 'true']).stderr, /does not exist/);
});

/** Runs berth at a real terminal (test/fixtures/pty-driver.py); the terminal's output and the status. */
async function atTerminal(size: string, steps: [string, string][], shellCmd: string): Promise<{ status: number; output: string }> {
  const driver = join(repoRoot(), 'test/fixtures/pty-driver.py');
  // The driver's limit is a guard against a hang only: it waits for output and the exit.
  const p = spawn('python3', [driver, size, String(GUARD_MS / 1000), JSON.stringify(steps), '--', 'sh', '-c', shellCmd], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise((res) => p.on('exit', res));
  return JSON.parse(out);
}

test('run in the foreground with a terminal and no socket: berth proxies its own terminal, size and resizes too', async (t) => {
  if (!requireTool('python3', t)) return;
  const b = s.bundle(t, {
    args: ['sh', '-c', 'tty; stty size; read x; echo got:$x; while :; do z=$(stty size); [ "$z" = "40 120" ] && break; sleep 0.05; done; echo resized:$z; exit 3'],
    mutate: (spec) => (spec.process.terminal = true),
  });
  const id = s.newId();
  s.deleteAfter(t, id);
  const berth = `${s.bin} --root ${s.root}`;
  // stty -g before and after: berth gives the terminal back as it found it.
  const r = await atTerminal(
    '33x100',
    [['expect', '33 100'], ['type', 'hello\r'], ['expect', 'got:hello'], ['resize', '40x120'], ['expect', 'resized:']],
    `stty -g; ${berth} run --bundle ${b.dir} ${id}; echo status=$?; stty -g`,
  );
  const out = r.output.replace(/\r/g, '');
  assert.equal(r.status, 0, out);
  assert.match(out, /^\/dev\/pts\/0$/m, 'the pty is in the container\'s own devpts');
  assert.match(out, /^33 100$/m);
  assert.match(out, /^got:hello$/m);
  assert.match(out, /^resized:40 120$/m);
  assert.match(out, /^status=3$/m);
  const modes = out.split('\n').filter((l) => /^[0-9a-f]+(:[0-9a-f]+){10,}$/.test(l));
  assert.equal(modes.length, 2, out);
  assert.equal(modes[0], modes[1], 'the terminal modes are restored');
  assert.equal(s.cli(['state', id]).code, 1, 'run removed the container');
});

test('exec -t in the foreground without a socket proxies the terminal; detached it is an error', async (t) => {
  if (!requireTool('python3', t)) return;
  const { id } = s.started(t, { args: ['sleep', '100'] });
  const berth = `${s.bin} --root ${s.root}`;
  const r = await atTerminal(
    '21x77',
    [['expect', '21 77'], ['type', 'typed\r'], ['expect', 'read:typed']],
    `${berth} exec -t ${id} sh -c 'tty; stty size; read x; echo read:$x; exit 5'; echo status=$?`,
  );
  const out = r.output.replace(/\r/g, '');
  assert.match(out, /^\/dev\/pts\/\d+$/m);
  assert.match(out, /^read:typed$/m);
  assert.match(out, /^status=5$/m);
  const d = s.cli(['exec', '-t', '-d', id, 'true']);
  assert.notEqual(d.code, 0);
  assert.match(d.stderr, /detached terminal needs --console-socket/);
  const rd = s.cli(['run', '-d', '--bundle', s.bundle(t, { args: ['true'], mutate: (spec) => (spec.process.terminal = true) }).dir, s.newId()]);
  assert.notEqual(rd.code, 0);
  assert.match(rd.stderr, /process\.terminal.*--console-socket/);
});

test('nothing is left behind', () => {
  assert.deepEqual(leftovers(s), []);
});

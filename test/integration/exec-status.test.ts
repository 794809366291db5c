// `exec`'s exit status (issue 9 item 6), as runc 1.1.5: the process's own status
// passes through (0-254, 128+N for signal N); when exec itself fails (no such
// container, a missing or unusable executable, a pid file it cannot write, a
// paused or stopped container, a bad flag value) it exits 255, so engines tell a
// failed exec from a process that exited 1. Usage errors stay 1, as in runc.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { leftovers, Session, show, waitFor } from './helpers';

const s = new Session('execst');
after(() => s.close());

test("the process's own status comes back: 0, 3, 254, 128+N", (t) => {
  const { id } = s.started(t, { args: ['sleep', '1000'] });
  for (const [script, code] of [['exit 0', 0], ['exit 3', 3], ['exit 254', 254], ['kill -9 $$', 137], ['kill -TERM $$', 143]] as const) {
    const r = s.cli(['exec', id, 'sh', '-c', script]);
    assert.equal(r.code, code, `${script}: ${show(r)}`);
    assert.equal(r.stderr, '', script);
  }
});

test('exec itself failing exits 255 with one line saying why', (t) => {
  const { id } = s.started(t, { args: ['sleep', '1000'] });
  const cases: [string[], RegExp][] = [
    [['exec', 'no-such-container', 'true'], /container no-such-container does not exist/],
    [['exec', id, '/no/such/binary'], /\/no\/such\/binary: no such file or directory/],
    [['exec', id, 'no-such-command'], /"no-such-command": executable file not found in \$PATH/],
    [['exec', id, '/etc'], /\/etc: permission denied/],
    [['exec', id], /a command to run is required/],
    [['exec', '--cwd', '/no/such/dir', id, 'true'], /process\.cwd.*no such file or directory/],
    [['exec', '--user', 'abc', id, 'true'], /--user/],
  ];
  for (const [args, why] of cases) {
    const r = s.cli(args);
    assert.equal(r.code, 255, `${args.join(' ')}: ${show(r)}`);
    assert.match(r.stderr, why, args.join(' '));
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
  // A usage error is not an exec failure (runc: 1 too).
  assert.equal(s.cli(['exec', '--no-such-flag', id, 'true']).code, 1);
});

test('a pid file exec cannot write: 255, and the process it started is gone (foreground and --detach)', (t) => {
  const { id } = s.started(t, { args: ['sleep', '1000'] });
  const init = s.state(id)!.pid;
  const pidFile = join(s.tmpdir(t), 'no-such-dir', 'exec.pid');
  for (const extra of [[], ['--detach']]) {
    const r = s.cli(['exec', ...extra, '--pid-file', pidFile, id, 'sleep', '999']);
    assert.equal(r.code, 255, show(r));
    assert.match(r.stderr, /--pid-file.*no such file or directory/);
    const ps = s.cli(['ps', '--format', 'json', id]);
    assert.equal(ps.code, 0, show(ps));
    assert.deepEqual(JSON.parse(ps.stdout), [init], `only the init is left (${extra.join(' ') || 'foreground'})`);
  }
});

test('a paused or stopped container: 255', async (t) => {
  const { id } = s.started(t, { args: ['sleep', '1000'] });
  assert.equal(s.cli(['pause', id]).code, 0);
  const p = s.cli(['exec', id, 'true']);
  assert.equal(p.code, 255, show(p));
  assert.match(p.stderr, /paused/);
  assert.equal(s.cli(['resume', id]).code, 0);
  assert.equal(s.cli(['exec', id, 'true']).code, 0);

  const { id: done } = s.started(t, { args: ['true'] });
  assert.ok(await waitFor(() => s.state(done)?.status === 'stopped', 10_000), 'the container stops');
  const r = s.cli(['exec', done, 'true']);
  assert.equal(r.code, 255, show(r));
  assert.match(r.stderr, /stopped/);
});

test('nothing is left behind', () => {
  assert.deepEqual(leftovers(s), []);
});

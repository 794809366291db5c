// How a call ends (src/cli/run-command.ts runCall): by _exit(2) when it loaded the
// addon and Node's own exit has nothing to do for it, else by Node's exit, which
// writes coverage and profiles and restores the stdio modes its streams changed.
// Node's exit stops each of its threads, which then make an exit(2) of their own;
// _exit(2) leaves them to the process's exit_group. This file is also the call:
// run by node with BERTH_EXIT_CALL set, it does what that names inside runCall,
// having loaded nothing else (node:test loads node:tty and node:net, whose streams
// Node's exit has to undo).
import { constants, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { runCall } from '../../src/cli/run-command';
import { native } from '../../src/native/addon';

const CALL = process.env.BERTH_EXIT_CALL;
if (CALL !== undefined) {
  runCall(async () => {
    if (CALL.includes('addon')) native();
    if (CALL.includes('stdout')) process.stdout.write('through process.stdout\n');
    process.exitCode = 3;
  });
} else {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const assert: typeof import('node:assert/strict') = require('node:assert/strict');
  const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
  const { tmpdir } = require('node:os') as typeof import('node:os');
  const { test } = require('node:test') as typeof import('node:test');
  const { requireTool } = require('../fixtures/runtime') as typeof import('../fixtures/runtime');
  const { Session } = require('../integration/helpers') as typeof import('../integration/helpers');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const dir = mkdtempSync(join(tmpdir(), 'berth-exit-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const env = (more: NodeJS.ProcessEnv = {}) => {
    const e = { ...process.env, ...more };
    delete e.NODE_OPTIONS;
    return e;
  };
  // How many of the call's threads made an exit(2) of their own, and its status.
  const threadExits = (argv: string[], more?: NodeJS.ProcessEnv) => {
    const trace = join(dir, 'strace.txt');
    const r = spawnSync('strace', ['-f', '-e', 'trace=exit', '-e', 'signal=none', '-o', trace, ...argv], { env: env(more), encoding: 'utf8' });
    return { status: r.status, exits: readFileSync(trace, 'utf8').split('\n').filter((l) => / exit\(/.test(l)).length, stderr: r.stderr };
  };
  const call = (what: string, more?: NodeJS.ProcessEnv) => threadExits([process.execPath, __filename], { BERTH_EXIT_CALL: what, ...more });

  test('a call that loaded the addon ends by _exit(2), with its exit code; one that did not, by Node\'s exit', (t) => {
    if (!requireTool('strace', t)) return;
    assert.deepEqual(call('addon'), { status: 3, exits: 0, stderr: '' });
    const plain = call('');
    assert.equal(plain.status, 3);
    assert.ok(plain.exits > 0, "Node's exit stops its threads");
  });

  test("through the CLI: `kill` (which loads the addon) ends by _exit(2), `state` (which does not) by Node's exit", (t) => {
    if (!requireTool('strace', t)) return;
    if (process.getuid?.() !== 0) return t.skip('makes a container');
    const s = new Session('exit');
    // Deferred first, so done last: after the container and its bundle are gone.
    s.defer(t, () => s.close());
    const { id } = s.started(t, { args: ['sleep', '1000'] });
    const cli = (...args: string[]) => threadExits([s.bin, '--root', s.root, ...args]);
    assert.deepEqual(cli('kill', id, 'CONT'), { status: 0, exits: 0, stderr: '' });
    const state = cli('state', id);
    assert.equal(state.status, 0, state.stderr);
    assert.ok(state.exits > 0);
  });

  test("with coverage being collected a call ends by Node's exit, which writes it", (t) => {
    if (!requireTool('strace', t)) return;
    const coverage = join(dir, 'coverage');
    const r = call('addon', { NODE_V8_COVERAGE: coverage });
    assert.equal(r.status, 3);
    assert.ok(r.exits > 0);
    assert.ok(readdirSync(coverage).length > 0, 'the coverage is written');
  });

  // process.stdout makes a pipe non-blocking, a mode of the open file, shared with
  // whoever else writes to it; Node's exit restores it, _exit(2) would not.
  test("a call that used Node's process.stdout ends by Node's exit: the pipe it wrote to is left blocking", () => {
    const r = spawnSync('sh', ['-c', '"$0" "$1"; grep ^flags: /proc/self/fdinfo/1', process.execPath, __filename], { env: env({ BERTH_EXIT_CALL: 'addon stdout' }), encoding: 'utf8' });
    assert.match(r.stdout, /^through process\.stdout\n/);
    const flags = parseInt(/^flags:\s+([0-7]+)$/m.exec(r.stdout)?.[1] ?? 'x', 8);
    assert.equal(flags & constants.O_NONBLOCK, 0, `left non-blocking: ${r.stdout}`);
  });
}

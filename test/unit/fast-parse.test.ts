// The fast parser takes the calls engines make (../shared/oracle/engine-argv.md)
// and leaves everything else to yargs.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { commands } from '../../src/cli/commands';
import { fastParse } from '../../src/cli/fast-parse';

// Parsed values by name (the parser's own type knows only the global options).
const parse = (...argv: string[]): Record<string, unknown> | undefined => {
  const r = fastParse(argv, commands);
  return r && { command: r.command.name, ...r.args };
};

describe('fast parser', () => {
  test('the shim: global options first, then the command', () => {
    const r = parse('--root', '/run/x', '--log', '/b/log.json', '--log-format', 'json', 'create', '--bundle', '/b', '--pid-file', '/b/init.pid', 'ID');
    assert.deepEqual(
      { command: r?.command, root: r?.root, log: r?.log, fmt: r?.['log-format'], bundle: r?.bundle, pid: r?.['pid-file'], id: r?.id },
      { command: 'create', root: '/run/x', log: '/b/log.json', fmt: 'json', bundle: '/b', pid: '/b/init.pid', id: 'ID' },
    );
    assert.equal(r?.['no-pivot'], false, 'defaults are filled in');
    assert.equal(r?.['preserve-fds'], 0);
  });

  test('--flag=value, aliases, numbers, and kill with a numeric signal after the id', () => {
    assert.equal(parse('create', '--preserve-fds=2', 'x')?.['preserve-fds'], 2);
    assert.equal(parse('create', '-b', '/b', 'x')?.bundle, '/b');
    assert.deepEqual(parse('kill', '--all', 'ID', '9'), { ...parse('kill', '--all', 'ID', '9'), all: true, id: 'ID', signal: '9' });
    assert.equal(parse('kill', 'ID')?.signal, undefined);
    assert.equal(parse('delete', '--force', 'ID')?.force, true);
    assert.equal(parse('create', '--no-pivot', '--no-new-keyring', 'x')?.['no-new-keyring'], true);
    assert.equal(parse('--debug', 'state', 'x')?.debug, true);
    assert.equal(parse('state', '--root=/r', 'x')?.root, '/r', 'global options after the command too');
  });

  test('exec: repeated options collect, and what follows the id is the command, flags included', () => {
    const r = parse('exec', '-e', 'A=1', '--env', 'B=2', '--detach', 'ID', 'sh', '-c', 'echo -n x', '--not-ours');
    assert.deepEqual(r?.env, ['A=1', 'B=2']);
    assert.equal(r?.detach, true);
    assert.equal(r?.id, 'ID');
    assert.deepEqual(r?.command, ['sh', '-c', 'echo -n x', '--not-ours']);
    assert.deepEqual(parse('exec', '--process', '/p.json', '--detach', '--pid-file', '/x.pid', 'ID')?.command, []);
  });

  test('anything unusual goes to yargs', () => {
    for (const argv of [[], ['--help'], ['state', '--help'], ['-v'], ['frob'], ['state'], ['state', 'a', 'b'],
      ['create', '--bogus', 'x'], ['create', '--preserve-fds', 'two', 'x'], ['--log-format', 'xml', 'state', 'x'],
      ['delete', '-fx', 'id'], ['create', '--bundle']]) {
      assert.equal(parse(...argv), undefined, argv.join(' '));
    }
  });
});

// errorLine: whatever ends a command is reported as one line.
import assert from 'node:assert/strict';
import { rmdirSync, renameSync } from 'node:fs';
import { test } from 'node:test';
import { BerthError, errorLine } from '../../src/errors';

const thrown = (fn: () => void): unknown => {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('did not throw');
};

test('a failed system call reads as Go words it: syscall, paths, strerror', () => {
  assert.equal(errorLine(thrown(() => rmdirSync('/nonexistent-berth-dir'))), 'rmdir /nonexistent-berth-dir: no such file or directory');
  assert.equal(errorLine(thrown(() => renameSync('/nonexistent-a', '/nonexistent-b'))), 'rename /nonexistent-a /nonexistent-b: no such file or directory');
  // A code berth has no text for keeps Node's description.
  assert.equal(errorLine(Object.assign(new Error('ENOTUNIQ: name not unique on network, open \'/x\''), { code: 'ENOTUNIQ', syscall: 'open', path: '/x' })), 'open /x: name not unique on network');
});

test('a BerthError is its message; anything else its first line, never a stack', () => {
  assert.equal(errorLine(new BerthError('creating x (field): cause')), 'creating x (field): cause');
  assert.equal(errorLine(new TypeError('cannot read properties of undefined\nmore')), 'cannot read properties of undefined');
  assert.equal(errorLine('plain'), 'plain');
});

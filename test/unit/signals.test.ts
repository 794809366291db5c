import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BerthError } from '../../src/errors';
import { constants } from 'node:os';
import { parseSignal, signalName, SIGNALS, SIGRTMIN, SIGRTMAX } from '../../src/signals';

test("the signal table is Node's for this host", () => {
  assert.deepEqual({ ...SIGNALS }, { ...constants.signals });
});

test('names with or without SIG, in any case', () => {
  for (const s of ['TERM', 'SIGTERM', 'term', 'sigterm', 'SigTerm']) assert.equal(parseSignal(s), 15, s);
  assert.equal(parseSignal('kill'), 9);
  assert.equal(parseSignal('HUP'), 1);
  assert.equal(parseSignal('SIGUSR1'), 10);
  assert.equal(parseSignal('chld'), 17);
  assert.equal(parseSignal('IOT'), 6);
  assert.equal(parseSignal('WINCH'), 28);
});

test('numbers', () => {
  assert.equal(parseSignal('9'), 9);
  assert.equal(parseSignal('15'), 15);
  assert.equal(parseSignal('0'), 0);
  assert.equal(parseSignal('64'), 64);
});

test('real-time signals', () => {
  assert.equal(SIGRTMIN, 34);
  assert.equal(SIGRTMAX, 64);
  assert.equal(parseSignal('RTMIN'), 34);
  assert.equal(parseSignal('RTMIN+3'), 37);
  assert.equal(parseSignal('sigrtmin+0'), 34);
  assert.equal(parseSignal('SIGRTMAX-1'), 63);
  assert.equal(parseSignal('SIGRTMAX'), 64);
  assert.equal(parseSignal('RTMIN+30'), 64);
});

test('anything else is an invalid signal', () => {
  for (const s of ['', 'FOO', 'SIG', 'SIGTERMX', '65', '-1', '1.5', 'RTMIN+31', 'RTMAX+1', 'RTMIN-1', 'RTMAX-31', 'TERM+1']) {
    assert.throws(() => parseSignal(s), (e: unknown) => e instanceof BerthError && e.message === `invalid signal: ${s}`, s);
  }
});

test('signalName', () => {
  assert.equal(signalName(15), 'SIGTERM');
  assert.equal(signalName(9), 'SIGKILL');
  assert.equal(signalName(6), 'SIGABRT');
  assert.equal(signalName(29), 'SIGIO');
  assert.equal(signalName(34), 'SIGRTMIN');
  assert.equal(signalName(37), 'SIGRTMIN+3');
  assert.equal(signalName(49), 'SIGRTMIN+15');
  assert.equal(signalName(50), 'SIGRTMAX-14');
  assert.equal(signalName(63), 'SIGRTMAX-1');
  assert.equal(signalName(64), 'SIGRTMAX');
  assert.equal(signalName(99), '99');
});

test('signalName and parseSignal agree', () => {
  for (let n = 1; n <= 64; n++) {
    if (n === 32 || n === 33) continue; // taken by glibc, unnamed
    assert.equal(parseSignal(signalName(n)), n, `${n} ${signalName(n)}`);
  }
});

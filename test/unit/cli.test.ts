// Parsing the command line the way engines write it (../shared/oracle/engine-argv.md):
// global flags before the command, --flag VALUE and --flag=VALUE, numeric signals
// after the id. Run against the built CLI with a private --root.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { BERTH, runRuntime } from '../fixtures/runtime';

const root = mkdtempSync('/tmp/berth-cli-');
after(() => rmSync(root, { recursive: true, force: true }));
const berth = (...args: string[]) => runRuntime(BERTH, root, args);

describe('CLI', () => {
  test('--version prints runc-like lines that both go-runc parsers take', () => {
    const r = runRuntime(BERTH, root, ['--version']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^berth version \S+\n/);
    assert.match(r.stdout, /^spec: 1\.3\.0$/m);
    // go-runc's older parser (containerd 1.4/1.5): exactly three lines after
    // trimming, the first split on "version " and the others on ": " into two.
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 3, r.stdout);
    assert.equal(lines[0].split('version ').length, 2);
    assert.equal(lines[1].split(': ').length, 2);
    assert.match(lines[1], /^commit: ([0-9a-f]{40}(-dirty)?|none)$/);
    assert.equal(lines[2].split(': ').length, 2);
  });

  test('Node starts without NODE_EXTRA_CA_CERTS (parsing a CA bundle costs every call; berth makes no TLS connection)', () => {
    // Node warns on stderr when the file it names cannot be read: it did not try.
    const r = runRuntime(BERTH, root, ['list'], { env: { ...process.env, NODE_EXTRA_CA_CERTS: join(root, 'no-such-bundle.pem') } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
  });

  test('the shim prefix: --root --log --log-format json before the command', () => {
    const log = join(root, 'log.json');
    const r = runRuntime(BERTH, root, ['--log', log, '--log-format', 'json', 'state', 'nope']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /container nope does not exist/);
    const line = JSON.parse(readFileSync(log, 'utf8').trim().split('\n').at(-1)!);
    assert.equal(line.level, 'error');
    assert.match(line.msg, /container nope does not exist/);
    assert.ok(!Number.isNaN(Date.parse(line.time)));
  });

  test('text log lines as logrus writes them', () => {
    const log = join(root, 'log.txt');
    runRuntime(BERTH, root, ['--log', log, 'state', 'nope']);
    assert.match(readFileSync(log, 'utf8'), /^time="[^"]+" level=error msg="container nope does not exist"$/m);
  });

  test('--flag=value and --flag value are the same', () => {
    assert.match(berth('create', '--bundle=/nonexistent', 'x').stderr, /\/nonexistent/);
    assert.match(berth('create', '--bundle', '/nonexistent', 'x').stderr, /\/nonexistent/);
  });

  test('unknown commands and missing ids fail with usage, exit 1', () => {
    const r = berth('frobnicate');
    assert.notEqual(r.code, 0);
    assert.notEqual(berth('state').code, 0);
  });

  test('--systemd-cgroup fails clearly where it cannot work', () => {
    const r = runRuntime(BERTH, root, ['--systemd-cgroup', 'create', '--bundle', '/nonexistent', 'x']);
    assert.notEqual(r.code, 0);
    if (!existsSync('/run/systemd/system')) assert.match(r.stderr, /--systemd-cgroup: systemd is not running on this host/);
    else if (/ - cgroup /.test(readFileSync('/proc/self/mountinfo', 'utf8'))) assert.match(r.stderr, /--systemd-cgroup: this host has cgroup v1 hierarchies; berth's systemd driver needs a pure cgroup v2 host/);
    else assert.match(r.stderr, /nonexistent/, 'on a systemd + cgroup v2 host the driver works: the missing bundle is the error');
  });
});

// runc's `exec` as engines call it (../shared/oracle/engine-argv.md): a process
// joins a running container's namespaces and cgroups with the user, env, cwd and
// capabilities asked for; foreground exec returns its status; --detach with
// --pid-file leaves it running; --process takes a process.json.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { makeBundle, type Bundle } from '../fixtures/bundle';
import { leftovers, Session, show } from './helpers';

const s = new Session('exec');
let id = '';
let initPid = 0;
let bundle: Bundle | undefined;

before(() => {
  bundle = makeBundle({ args: ['sleep', '1000'], mutate: (spec) => (spec.hostname = 'exec-test') });
  s.paths.push(bundle.dir);
  id = s.newId();
  const r = s.create(bundle.dir, id);
  assert.equal(r.code, 0, show(r));
  assert.equal(s.cli(['start', id]).code, 0);
  initPid = s.state(id)!.pid;
});
after(() => {
  if (id) s.cli(['delete', '--force', id]);
  bundle?.cleanup();
  s.close();
});

const ns = (pid: number | string, type: string) => readlinkSync(`/proc/${pid}/ns/${type}`);

test('exec runs in the container: its namespaces, hostname, cgroup; the status comes back', () => {
  const r = s.cli(['exec', id, 'sh', '-c', 'hostname; echo pid=$$; cat /proc/self/cgroup; echo init; cat /proc/1/cgroup; exit 3']);
  assert.equal(r.code, 3, show(r));
  assert.match(r.stdout, /^exec-test$/m);
  assert.match(r.stdout, /^pid=\d+$/m);
  assert.doesNotMatch(r.stdout, /^pid=1$/m, 'pid 1 is the init');
  // Its cgroups are the init's, in every hierarchy (as the container sees them: with
  // a cgroup namespace, as on a v2 host, each is "/").
  const [own, init] = r.stdout.split('\ninit\n').map((part) => part.split('\n').filter((l) => /^\d+:/.test(l)));
  assert.ok(own.length > 0, show(r));
  assert.deepEqual(own, init);
});

test('the exec\'d process starts with no signal ignored or blocked (as runc)', () => {
  const r = s.cli(['exec', id, 'grep', '-E', '^Sig(Ign|Blk):', '/proc/self/status']);
  assert.equal(r.code, 0, show(r));
  assert.match(r.stdout, /^SigBlk:\s+0+$/m);
  assert.match(r.stdout, /^SigIgn:\s+0+$/m);
});

test('flags after the id belong to the command; -e, --cwd, -u, --cap', () => {
  const r = s.cli(['exec', '-e', 'FOO=bar', '--cwd', '/tmp', '-u', '1000:1000', id, 'sh', '-c', 'echo $FOO; pwd; id -u; id -g', '-ignored-by-sh']);
  assert.equal(r.code, 0, show(r));
  assert.deepEqual(r.stdout.trim().split('\n'), ['bar', '/tmp', '1000', '1000']);
  // --cap adds to the bounding, effective and permitted sets (as root: a non-root
  // user keeps no capability across execve without ambient ones, in runc too).
  const c = s.cli(['exec', '--cap', 'CAP_SYS_CHROOT', id, 'grep', '-E', '^Cap(Eff|Bnd)', '/proc/self/status']);
  assert.equal(c.code, 0, show(c));
  for (const line of c.stdout.trim().split('\n')) assert.equal(BigInt('0x' + line.split(/\s+/)[1]) & (1n << 18n), 1n << 18n, line);
});

test('--process takes a process.json (how every engine calls exec)', (t) => {
  const dir = s.tmpdir(t);
  const file = join(dir, 'process.json');
  writeFileSync(file, JSON.stringify({ args: ['sh', '-c', 'echo from-json $X; pwd'], env: ['X=1', 'PATH=/bin'], cwd: '/etc', user: { uid: 0, gid: 0 } }));
  const r = s.cli(['exec', '--process', file, id]);
  assert.equal(r.code, 0, show(r));
  assert.equal(r.stdout, 'from-json 1\n/etc\n');
  writeFileSync(file, JSON.stringify({ args: 'not-an-array', cwd: '/' }));
  const bad = s.cli(['exec', '--process', file, id]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /\/args/);
});

test('--detach --pid-file: the process runs on in the container, reparented away from berth', (t) => {
  const pidFile = join(s.tmpdir(t), 'exec.pid');
  const r = s.cli(['exec', '--detach', '--pid-file', pidFile, id, 'sleep', '30']);
  assert.equal(r.code, 0, show(r));
  const pid = Number(readFileSync(pidFile, 'utf8'));
  for (const type of ['pid', 'mnt', 'uts', 'ipc', 'net']) assert.equal(ns(pid, type), ns(initPid, type), type);
  assert.deepEqual(readdirSync(`/proc/${pid}/fd`).sort(), ['0', '1', '2'], 'no fd of berth or berth-init');
  process.kill(pid, 'SIGKILL');
});

test('clear errors: a missing command, a stopped or missing container', () => {
  const r = s.cli(['exec', id, 'no-such-command']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /no-such-command.*executable file not found/);
  assert.match(s.cli(['exec', 'no-such-container', 'true']).stderr, /does not exist/);
});

test('a foreground exec and run load none of Node\'s child_process, net or os (each costs every call its load)', (t) => {
  const dir = s.tmpdir(t);
  const modules = join(dir, 'modules');
  // Preloaded into berth's Node: at exit, the built-in modules it loaded.
  const preload = join(dir, 'preload.js');
  writeFileSync(preload, `process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(modules)}, process.moduleLoadList.join('\\n')));\n`);
  const env = { ...process.env, NODE_OPTIONS: `--require ${preload}` };
  const loadedBy = (args: string[]) => {
    const r = s.cli(args, { env });
    assert.equal(r.code, 0, show(r));
    const loaded = readFileSync(modules, 'utf8').split('\n');
    assert.ok(loaded.includes('NativeModule fs'), `the preload did not see berth's modules: ${loaded.length} lines`);
    return loaded.filter((m) => /^NativeModule (child_process|net|os)$/.test(m));
  };
  assert.deepEqual(loadedBy(['exec', id, 'true']), [], 'exec');
  const once = makeBundle({ args: ['true'] });
  t.after(() => once.cleanup());
  assert.deepEqual(loadedBy(['run', '--bundle', once.dir, s.newId()]), [], 'run');
});

test('nothing is left behind', () => {
  assert.equal(s.cli(['delete', '--force', id]).code, 0);
  bundle?.cleanup();
  assert.deepEqual(leftovers(s), []);
});

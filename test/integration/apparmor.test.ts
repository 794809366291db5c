// process.apparmorProfile where the kernel runs AppArmor: the init and an exec'd
// process run confined by the profile (its label in /proc/self/attr/current, a
// path it denies denied), `exec --process` without a profile keeps the
// container's (as runc), a profile the kernel does not know fails create and exec
// naming the field, and `features` says AppArmor is there. This machine's kernel
// has no AppArmor; the cgroup v2 lane's Debian kernel has it (test/cgroup-v2
// mounts securityfs and runs this file), and there a missing AppArmor fails.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { findTool } from '../fixtures/runtime';
import { leftovers, quietly, Session, show } from './helpers';

const s = new Session('apparmor');
const PROFILE = `berth-test-${process.pid}`;
const NOT_LOADED = `${PROFILE}-not-loaded`;
const inLane = process.env.BERTH_LANE === 'cgroup-v2';

/** Why AppArmor cannot be shown on this host, or '' when it can. */
function missing(): string {
  let enabled = '';
  try {
    enabled = readFileSync('/sys/module/apparmor/parameters/enabled', 'latin1').trim();
  } catch {
    // no AppArmor in this kernel
  }
  if (enabled !== 'Y') return 'the kernel runs no AppArmor';
  if (!existsSync('/sys/kernel/security/apparmor')) return 'securityfs is not mounted at /sys/kernel/security';
  if (!findTool('apparmor_parser')) return 'apparmor_parser is not installed (apt-get install apparmor)';
  return '';
}
const why = missing();

/** True when the test can run; outside the lane a host without AppArmor skips it, visibly. */
function needAppArmor(t: TestContext): boolean {
  if (!why) return true;
  if (inLane) throw new Error(`${why}: the cgroup v2 lane must prove AppArmor`);
  t.skip(`${why}; the cgroup v2 lane runs this file (bash test/cgroup-v2/lane.sh apparmor)`);
  return false;
}

// Everything a container process needs, except reading (or writing) /data/denied.
// attach_disconnected, as engines' profiles: paths outside the container's root
// (fds from before pivot_root) still get a name.
const work = mkdtempSync('/tmp/berth-itest-apparmor-');
s.paths.push(work);
const profileFile = join(work, `${PROFILE}.apparmor`);
const parser = () => findTool('apparmor_parser')!;
const loaded = () => readFileSync('/sys/kernel/security/apparmor/profiles', 'utf8').split('\n').some((l) => l.startsWith(`${PROFILE} (`));

before(() => {
  if (why) return;
  writeFileSync(
    profileFile,
    `profile ${PROFILE} flags=(attach_disconnected,mediate_deleted) {\n` +
      '  file,\n  capability,\n  network,\n  signal,\n  ptrace,\n  unix,\n' +
      '  deny /data/denied rw,\n}\n',
  );
  execFileSync(parser(), ['--replace', '--skip-cache', profileFile], { stdio: ['ignore', 'ignore', 'pipe'] });
});
after(
  quietly(() => {
    if (!why && loaded()) execFileSync(parser(), ['--remove', profileFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    rmSync(work, { recursive: true, force: true });
    s.close();
  }),
);

/** A directory bound at /data: `allowed` readable, `denied` only by the profile denied. */
function dataMount(t: TestContext) {
  const dir = s.tmpdir(t);
  writeFileSync(join(dir, 'allowed'), 'allowed-content\n');
  writeFileSync(join(dir, 'denied'), 'denied-content\n');
  return { destination: '/data', type: 'bind', source: dir, options: ['rbind', 'ro'] };
}

// Prints both label files, then reads the two data files.
const PROBE = 'cat /proc/self/attr/current; echo; cat /proc/self/attr/apparmor/current; echo; cat /data/allowed; cat /data/denied || echo read-denied';
const label = new RegExp(`^${PROFILE} \\(enforce\\)$`, 'm');

function assertConfined(out: string, what: string): void {
  const labels = out.split('\n').filter((l) => /\(\w+\)$|^unconfined$/.test(l));
  assert.deepEqual(labels, [`${PROFILE} (enforce)`, `${PROFILE} (enforce)`], `${what}: attr/current and attr/apparmor/current\n${out}`);
  assert.match(out, /^allowed-content$/m, what);
  assert.doesNotMatch(out, /denied-content/, what);
  assert.match(out, /^read-denied$/m, what);
}

test('the init runs confined: its label is the profile and the path the profile denies is denied', (t) => {
  if (!needAppArmor(t)) return;
  const data = dataMount(t);
  const r = s.sh(t, PROBE, (spec) => {
    spec.process.apparmorProfile = PROFILE;
    spec.mounts.push(data);
  });
  assert.equal(r.code, 0, show(r));
  assertConfined(r.stdout, 'run');
  assert.match(r.stderr, /can't open '\/data\/denied': Permission denied/, show(r));
});

test('exec runs confined too: with the container profile, with --process and none of its own; --apparmor overrides it', (t) => {
  if (!needAppArmor(t)) return;
  const data = dataMount(t);
  const { id } = s.started(t, {
    args: ['sleep', '1000'],
    mutate: (spec) => {
      spec.process.apparmorProfile = PROFILE;
      spec.mounts.push(data);
    },
  });
  const pid = s.state(id)!.pid;
  assert.match(readFileSync(`/proc/${pid}/attr/current`, 'utf8'), label, 'the init, seen from the host');

  const e = s.cli(['exec', id, 'sh', '-c', PROBE]);
  assert.equal(e.code, 0, show(e));
  assertConfined(e.stdout, 'exec');

  // As runc: a process.json without apparmorProfile gets the container's profile.
  const file = join(s.tmpdir(t), 'process.json');
  writeFileSync(file, JSON.stringify({ args: ['sh', '-c', PROBE], env: ['PATH=/bin'], cwd: '/', user: { uid: 0, gid: 0 } }));
  const p = s.cli(['exec', '--process', file, id]);
  assert.equal(p.code, 0, show(p));
  assertConfined(p.stdout, 'exec --process');

  const u = s.cli(['exec', '--apparmor', 'unconfined', id, 'sh', '-c', 'cat /proc/self/attr/current; echo; cat /data/denied']);
  assert.equal(u.code, 0, show(u));
  assert.match(u.stdout, /^unconfined$/m, show(u));
  assert.match(u.stdout, /^denied-content$/m, show(u));

  const m = s.cli(['exec', '--apparmor', NOT_LOADED, id, 'true']);
  assert.notEqual(m.code, 0, show(m));
  assert.match(m.stderr, /\(process\.apparmorProfile\): .*no such file or directory/i, show(m));
});

test('a profile the kernel has not loaded fails create, naming process.apparmorProfile', (t) => {
  if (!needAppArmor(t)) return;
  const b = s.bundle(t, { args: ['true'], mutate: (spec) => (spec.process.apparmorProfile = NOT_LOADED) });
  const id = s.newId();
  s.deleteAfter(t, id);
  const c = s.create(b.dir, id);
  assert.notEqual(c.code, 0, show(c));
  assert.match(c.stderr, /\(process\.apparmorProfile\): .*no such file or directory/i, show(c));
  assert.equal(c.stderr.trim().split('\n').length, 1, `one line: ${c.stderr}`);
  assert.equal(s.state(id), undefined, 'a failed create leaves no container');
});

test('features: linux.apparmor.enabled where the kernel runs AppArmor', (t) => {
  if (!needAppArmor(t)) return;
  const r = s.cli(['features']);
  assert.equal(r.code, 0, show(r));
  assert.deepEqual(JSON.parse(r.stdout).linux.apparmor, { enabled: true });
});

test('nothing is left behind, and the profile can be removed', (t) => {
  assert.deepEqual(leftovers(s), []);
  if (!needAppArmor(t)) return;
  execFileSync(parser(), ['--remove', profileFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  assert.equal(loaded(), false, `${PROFILE} is still loaded`);
});

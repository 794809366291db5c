// checkpoint and restore with CRIU, as runc's flags have them: a busybox counter
// is dumped and brought back (it counts on, not from 1), with its stdio pipes
// handed over, with a terminal through the console socket, with a bind mount,
// into a fresh rootfs that lacks the mount points, with its cgroup limits;
// pre-dump, --leave-running, a new id, the foreground.
//
// CRIU must work on the kernel: it does in the cgroup v2 lane (Debian's kernel;
// `bash test/cgroup-v2/lane.sh checkpoint`), where these tests fail if it does
// not; on a kernel where `criu check` fails (this machine's: "Unexpected rt vDSO
// area bounds") they are skipped, saying so.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test, type TestContext } from 'node:test';
import { makeMountPoints } from '../../src/checkpoint/mountpoints';
import type { Spec } from '../../src/spec/types';
import type { BundleOptions } from '../fixtures/bundle';
import { criuProblem, criuWorks } from '../fixtures/criu';
import { findTool, repoRoot } from '../fixtures/runtime';
import { cgroupDirsOf, leftovers, Session, show, waitFor } from './helpers';

const s = new Session('cr');
after(() => s.close());

const LANE = !!process.env.BERTH_LANE;
// Under TCG in the lane a dump takes seconds; these are only limits for a hang.
const LONG = 180_000;
const COUNTER = ['sh', '-c', 'i=0; while :; do i=$((i+1)); echo $i; usleep 100000; done'];

/**
 * berth with its stdio on pipes (a restored process takes them over), and what
 * comes out of its stdout. Real pipes, as CRIU hands pipes over: Node's own
 * 'pipe' stdio are unix sockets, which CRIU would find connected outside the
 * container. bash puts a pipe between berth and each of Node's sockets (a cat).
 */
interface Piped {
  child: ChildProcess;
  /** Exit status of berth itself. */
  exited: Promise<number>;
  out(): string;
  /** Resolves when every writer of the stdout pipe is gone (the container's processes too). */
  eof: Promise<void>;
  stderr(): string;
}

function piped(t: TestContext, args: string[]): Piped {
  const child = spawn('bash', ['-c', 'exec "$@" < <(exec cat) > >(exec cat) 2> >(exec cat >&2)', 'berth', join(repoRoot(), 'bin/berth'), '--root', s.root, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  s.defer(t, () => {
    child.stdin!.destroy();
    child.stdout!.destroy();
    child.stderr!.destroy();
  });
  return {
    child,
    exited: new Promise((res) => child.on('exit', (code, sig) => res(code ?? 128 + (sig ? 9 : 0)))),
    out: () => out,
    eof: new Promise((res) => child.stdout!.on('end', () => res())),
    stderr: () => err,
  };
}

const numbers = (text: string) => text.split(/\r?\n/).filter((l) => /^\d+$/.test(l)).map(Number);

const lastOf = (n: number[]) => n[n.length - 1] ?? 0;

/**
 * The restored counter goes on from where it was dumped: its first line comes
 * after the last one read before the checkpoint began (`before`), and at most one
 * after the last the original printed (`upTo`; lines still in the pipe at the
 * dump come out again, as CRIU restores the pipe's content), then it counts on
 * past that, one by one. Never from 1 again.
 */
async function assertCountsOn(p: Piped, before: number, upTo: number): Promise<void> {
  const n = await countsUntil(p, (x) => lastOf(x) > upTo + 1);
  assert.ok(n[0] > before && n[0] > 1, `the restored counter starts at ${n[0]}, not after ${before}: ${n.slice(0, 5).join(' ')}`);
  assert.ok(n[0] <= upTo + 1, `a gap: up to ${upTo} before, ${n[0]} after`);
  for (let i = 1; i < n.length; i++) assert.equal(n[i], n[i - 1] + 1, n.join(' '));
}

/** The cgroup2 superblock flags (nsdelegate, ...): CRIU must not leave them changed. */
function cgroup2Flags(): string {
  const line = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.includes(' - cgroup2 '));
  return line ? line.split(' - ')[1].split(' ')[2] : '';
}

function logOf(dir: string, name: string): string {
  const p = join(dir, name);
  return existsSync(p) ? `\n--- ${p} (tail)\n${readFileSync(p, 'utf8').split('\n').slice(-15).join('\n')}` : '';
}

function checkpoint(id: string, img: string, work: string, extra: string[] = []) {
  const r = s.cli(['checkpoint', '--image-path', img, '--work-path', work, ...extra, id], { timeoutMs: LONG });
  assert.equal(r.code, 0, show(r) + logOf(work, 'dump.log'));
}

/** restore -d with fresh pipes; resolves once berth returned, with the container's output from then on. */
async function restoreDetached(t: TestContext, id: string, bundle: string, img: string, work: string, extra: string[] = []): Promise<Piped> {
  const p = piped(t, ['restore', '-d', '--bundle', bundle, '--image-path', img, '--work-path', work, ...extra, id]);
  const code = await p.exited;
  assert.equal(code, 0, `restore: exit ${code}\n${p.stderr()}${logOf(work, 'restore.log')}`);
  return p;
}

async function countsUntil(p: Piped, pred: (n: number[]) => boolean): Promise<number[]> {
  assert.ok(await waitFor(() => pred(numbers(p.out())), LONG), `output so far: ${p.out().slice(-200)}`);
  return numbers(p.out());
}

/**
 * Runs bundle dir detached with its output piped (id: a fresh one, deleted after
 * the test) until it has counted to 3; with the image and work dirs to dump into.
 */
async function runCounting(t: TestContext, dir: string): Promise<{ id: string; img: string; work: string; first: Piped; counts: number[] }> {
  const id = s.newId();
  s.deleteAfter(t, id);
  const img = s.tmpdir(t);
  const work = s.tmpdir(t);
  const first = piped(t, ['run', '-d', '--bundle', dir, id]);
  assert.equal(await first.exited, 0, first.stderr());
  return { id, img, work, first, counts: await countsUntil(first, (n) => n.length >= 3) };
}

function assertRunning(id: string): number {
  const st = s.state(id);
  assert.equal(st?.status, 'running', JSON.stringify(st));
  return st!.pid;
}

/** kill, wait for stopped, delete: the restored container behaves like any other. */
async function killAndDelete(id: string): Promise<void> {
  const k = s.cli(['kill', id, 'KILL']);
  assert.equal(k.code, 0, show(k));
  assert.ok(await waitFor(() => s.state(id)?.status === 'stopped', LONG), JSON.stringify(s.state(id)));
  const d = s.cli(['delete', id]);
  assert.equal(d.code, 0, show(d));
  assert.deepEqual(cgroupDirsOf(id), []);
}

test('a busybox counter checkpointed and restored counts on; state, exec, ps, kill and delete work on it; cgroup2 keeps its flags', async (t) => {
  if (!criuWorks(t)) return;
  const b = s.bundle(t, { args: COUNTER });
  const flags = cgroup2Flags();

  const { id, img, work, first, counts } = await runCounting(t, b.dir);
  const before = lastOf(counts);
  const oldPid = assertRunning(id);

  checkpoint(id, img, work);
  // Dumped without --leave-running: the container is gone, as after delete.
  assert.equal(s.state(id), undefined);
  assert.deepEqual(cgroupDirsOf(id), []);
  await first.eof;
  assert.ok(existsSync(join(img, 'descriptors.json')) && existsSync(join(img, 'inventory.img')));
  assert.equal(cgroup2Flags(), flags, 'criu dump changed the cgroup2 mount options');

  const second = await restoreDetached(t, id, b.dir, img, work);
  const pid = assertRunning(id);
  assert.notEqual(pid, 0);
  await assertCountsOn(second, before, lastOf(numbers(first.out())));
  assert.equal(cgroup2Flags(), flags, 'criu restore changed the cgroup2 mount options');
  // The restored init is the state's pid, in the container's cgroup; exec and ps find it.
  assert.ok(readFileSync(`/proc/${pid}/cgroup`, 'utf8').includes(`/berth/${id}`), readFileSync(`/proc/${pid}/cgroup`, 'utf8'));
  const e = s.cli(['exec', id, 'sh', '-c', 'echo exec-ok; cat /proc/1/cmdline']);
  assert.equal(e.code, 0, show(e));
  assert.match(e.stdout, /^exec-ok\nsh\0-c\0i=0/);
  const ps = s.cli(['ps', '--format', 'json', id]);
  assert.equal(ps.code, 0, show(ps));
  assert.ok((JSON.parse(ps.stdout) as number[]).includes(pid), ps.stdout);
  assert.notEqual(oldPid, 0);
  await killAndDelete(id);
  await second.eof;
});

test('checkpoint --leave-running keeps the container; its images restore into a new id, beside it', async (t) => {
  if (!criuWorks(t)) return;
  const b = s.bundle(t, { args: COUNTER });
  const copy = s.newId();
  s.deleteAfter(t, copy);

  const { id, img, work, first, counts } = await runCounting(t, b.dir);
  const before = lastOf(counts);
  const pid = assertRunning(id);
  checkpoint(id, img, work, ['--leave-running']);
  // What the counter printed before the dump is what comes before a mark written after it.
  const mark = s.cli(['exec', id, 'sh', '-c', 'echo mark > /proc/1/fd/1']);
  assert.equal(mark.code, 0, show(mark));
  assert.ok(await waitFor(() => first.out().includes('mark\n'), LONG));
  const upTo = lastOf(numbers(first.out().slice(0, first.out().indexOf('mark\n'))));
  // Still the same container, still counting.
  assert.equal(assertRunning(id), pid);
  await countsUntil(first, (n) => lastOf(n) > upTo + 2);

  const second = await restoreDetached(t, copy, b.dir, img, work);
  const copyPid = assertRunning(copy);
  assert.notEqual(copyPid, pid);
  assert.ok(readFileSync(`/proc/${copyPid}/cgroup`, 'utf8').includes(`/berth/${copy}`));
  // The copy counts on from where the checkpoint was taken.
  await assertCountsOn(second, before, upTo);
  assert.equal(assertRunning(id), pid);
  await killAndDelete(copy);
  await killAndDelete(id);
});

test('pre-dump, then dump with --parent-path; restore in the foreground forwards its exit status and deletes the container', async (t) => {
  if (!criuWorks(t)) return;
  const b = s.bundle(t, { args: COUNTER });
  const { id, img, work, first } = await runCounting(t, b.dir);
  mkdirSync(join(img, 'pre'));
  mkdirSync(join(img, 'final'));
  const pid = assertRunning(id);
  // As runc: the parent path must be relative to the image path, and there.
  const abs = s.cli(['checkpoint', '--image-path', join(img, 'final'), '--parent-path', join(img, 'pre'), id]);
  assert.notEqual(abs.code, 0);
  assert.match(abs.stderr, /--parent-path must be relative/);
  const missing = s.cli(['checkpoint', '--image-path', join(img, 'final'), '--parent-path', '../none', id]);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /invalid --parent-path .*none: no such file or directory/);

  checkpoint(id, join(img, 'pre'), work, ['--pre-dump']);
  // A pre-dump leaves the container running.
  assert.equal(assertRunning(id), pid);
  const seen = numbers(first.out()).length;
  const before = lastOf(await countsUntil(first, (n) => n.length >= seen + 2));
  checkpoint(id, join(img, 'final'), work, ['--parent-path', '../pre']);
  assert.equal(s.state(id), undefined);
  // CRIU linked the dump to its parent's pages.
  assert.ok(lstatSync(join(img, 'final', 'parent')).isSymbolicLink());
  await first.eof;

  const fg = piped(t, ['restore', '--bundle', b.dir, '--image-path', join(img, 'final'), '--work-path', work, id]);
  await assertCountsOn(fg, before, lastOf(numbers(first.out())));
  assertRunning(id);
  const k = s.cli(['kill', id, 'KILL']);
  assert.equal(k.code, 0, show(k));
  assert.equal(await fg.exited, 137, fg.stderr());
  // As run: the foreground restore deleted the container once it ended.
  assert.equal(s.state(id), undefined);
  assert.deepEqual(cgroupDirsOf(id), []);
});

/** The console socket's other end (test/fixtures/console-receiver.py): what the terminal shows, \r removed. */
async function receiver(t: TestContext): Promise<{ path: string; out(): string }> {
  const dir = s.tmpdir(t);
  const path = join(dir, 'console.sock');
  const p = spawn('python3', [join(repoRoot(), 'test/fixtures/console-receiver.py'), path, '600'], { stdio: ['ignore', 'pipe', 'inherit'] });
  s.defer(t, () => p.kill());
  let out = '';
  p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  assert.ok(await waitFor(() => out.includes('ready'), LONG));
  return { path, out: () => out.replace(/\r/g, '') };
}

test('a container with a terminal: restore sends the new pty master to --console-socket, and the process counts on there', async (t) => {
  if (!criuWorks(t)) return;
  if (!findTool('python3')) return void t.skip('python3 is not installed');
  const b = s.bundle(t, { args: COUNTER, mutate: (spec) => (spec.process.terminal = true) });
  const id = s.newId();
  s.deleteAfter(t, id);
  const img = s.tmpdir(t);
  const work = s.tmpdir(t);

  const before = await receiver(t);
  const r = s.cli(['run', '-d', '--console-socket', before.path, '--bundle', b.dir, id]);
  assert.equal(r.code, 0, show(r));
  assert.ok(await waitFor(() => numbers(before.out()).length >= 3, LONG), before.out());
  const last = lastOf(numbers(before.out()));
  checkpoint(id, img, work);

  // Detached with a terminal needs a socket to send the pty to.
  const none = s.cli(['restore', '-d', '--bundle', b.dir, '--image-path', img, '--work-path', work, id]);
  assert.notEqual(none.code, 0);
  assert.match(none.stderr, /needs --console-socket/);
  assert.equal(s.state(id), undefined);

  const afterRestore = await receiver(t);
  const rr = s.cli(['restore', '-d', '--console-socket', afterRestore.path, '--bundle', b.dir, '--image-path', img, '--work-path', work, id], { timeoutMs: LONG });
  assert.equal(rr.code, 0, show(rr) + logOf(work, 'restore.log'));
  assertRunning(id);
  assert.ok(await waitFor(() => lastOf(numbers(afterRestore.out())) > lastOf(numbers(before.out())) + 1, LONG), afterRestore.out());
  assert.match(afterRestore.out(), /^name orphan-pts-master$/m);
  // A pty keeps no output for the new master: the restored counter's first line comes after the old last.
  const n = numbers(afterRestore.out());
  assert.ok(n[0] > last && n[0] <= lastOf(numbers(before.out())) + 1, `${numbers(before.out()).slice(-3).join(' ')} | ${n.slice(0, 3).join(' ')}`);
  // Its stdio is still a terminal.
  const e = s.cli(['exec', id, 'sh', '-c', 'readlink /proc/1/fd/1']);
  assert.equal(e.code, 0, show(e));
  assert.match(e.stdout, /^\/dev\/pts\/\d+$/m);
  await killAndDelete(id);
});

test('a bind mount (its destination a symlink in the rootfs) is restored from its host source', async (t) => {
  if (!criuWorks(t)) return;
  const data = s.tmpdir(t, 'berth-cr-data-');
  const b = s.bundle(t, {
    copyRootfs: true,
    args: ['sh', '-c', 'i=0; while :; do i=$((i+1)); echo $i; echo $i > /conf/count; usleep 100000; done'],
    mutate: (spec) => spec.mounts.push({ destination: '/conf', type: 'bind', source: data, options: ['rbind', 'rw'] }),
  });
  // As runc's test: /conf is a symlink to /real/conf, so the mount is at /real/conf.
  mkdirSync(join(b.dir, 'rootfs/real/conf'), { recursive: true });
  symlinkSync('/real/conf', join(b.dir, 'rootfs/conf'));

  const { id, img, work, first } = await runCounting(t, b.dir);
  assert.ok(existsSync(join(data, 'count')));
  checkpoint(id, img, work);
  await first.eof;
  const stopped = Number(readFileSync(join(data, 'count'), 'utf8'));
  writeFileSync(join(data, 'from-host'), 'hello\n');

  const second = await restoreDetached(t, id, b.dir, img, work);
  await countsUntil(second, (n) => n.length >= 3);
  // The restored process writes to the host directory again, and sees what the host put there.
  assert.ok(await waitFor(() => Number(readFileSync(join(data, 'count'), 'utf8')) > stopped, LONG));
  const e = s.cli(['exec', id, 'sh', '-c', 'cat /conf/from-host; grep -c " /real/conf " /proc/self/mountinfo']);
  assert.equal(e.code, 0, show(e));
  assert.equal(e.stdout, 'hello\n1\n');
  await killAndDelete(id);
  await second.eof;
});

test('restore into a fresh copy of the rootfs makes the missing mount points (a bind dir, a bind file, a tmpfs), inside the root even through a symlink that points out of it', async (t) => {
  if (!criuWorks(t)) return;
  const data = s.tmpdir(t, 'berth-cr-data-');
  const conf = join(s.tmpdir(t, 'berth-cr-conf-'), 'app.conf');
  writeFileSync(conf, 'from-a-file\n');
  // /out in the rootfs is a symlink to this host directory: the mount point must be made inside the root.
  const outside = s.tmpdir(t, 'berth-cr-outside-');
  const config: BundleOptions = {
    copyRootfs: true,
    args: ['sh', '-c', 'echo kept > /scratch/tmp/mark; i=0; while :; do i=$((i+1)); echo $i; echo $i > /out/data/count; usleep 100000; done'],
    mutate: (spec) => void spec.mounts.push(
      { destination: '/out/data', type: 'bind', source: data, options: ['rbind', 'rw'] },
      { destination: '/etc/app/app.conf', type: 'bind', source: conf, options: ['bind', 'ro'] },
      { destination: '/scratch/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev'] },
    ),
  };
  const first = s.bundle(t, config);
  symlinkSync(outside, join(first.dir, 'rootfs/out'));
  // The same config, a rootfs that has none of the mount points (as after a migration); /out the same symlink.
  const fresh = s.bundle(t, config);
  symlinkSync(outside, join(fresh.dir, 'rootfs/out'));

  const { id, img, work, first: run } = await runCounting(t, first.dir);
  checkpoint(id, img, work);
  await run.eof;
  const stopped = Number(readFileSync(join(data, 'count'), 'utf8'));
  for (const p of ['etc/app', 'scratch', outside.slice(1)]) assert.ok(!existsSync(join(fresh.dir, 'rootfs', p)), p);

  const second = await restoreDetached(t, id, fresh.dir, img, work);
  await countsUntil(second, (n) => n.length >= 3);
  assert.ok(await waitFor(() => Number(readFileSync(join(data, 'count'), 'utf8')) > stopped, LONG));
  // Made as runc makes them: a directory, an empty file for the file's bind, the tmpfs's directory.
  const made = join(fresh.dir, 'rootfs', outside, 'data');
  assert.ok(lstatSync(made).isDirectory(), made);
  assert.ok(lstatSync(join(fresh.dir, 'rootfs/etc/app/app.conf')).isFile());
  assert.ok(lstatSync(join(fresh.dir, 'rootfs/scratch/tmp')).isDirectory());
  // Nothing on the host where the symlink points.
  assert.ok(!existsSync(join(outside, 'data')), `${outside}/data was made on the host`);
  // The mounts are there again: the host's file, and the tmpfs with what the process wrote to it.
  const e = s.cli(['exec', id, 'sh', '-c', 'cat /etc/app/app.conf /scratch/tmp/mark']);
  assert.equal(e.code, 0, show(e));
  assert.equal(e.stdout, 'from-a-file\nkept\n');
  await killAndDelete(id);
  await second.eof;
});

test('restore\'s mount points are made inside the rootfs, whatever its symlinks say (no CRIU needed)', (t) => {
  const rootfs = join(s.tmpdir(t), 'rootfs');
  mkdirSync(rootfs);
  const outside = s.tmpdir(t, 'berth-cr-outside-');
  const source = join(s.tmpdir(t), 'file');
  writeFileSync(source, '');
  // Absolute, relative and dangling symlinks out of the root, as a hostile rootfs has them.
  symlinkSync(outside, join(rootfs, 'abs'));
  symlinkSync('../../../../../..' + outside, join(rootfs, 'rel'));
  symlinkSync(join(outside, 'none'), join(rootfs, 'dangling'));
  const spec = {
    ociVersion: '1.0.2',
    mounts: [
      { destination: '/abs/a', type: 'bind', source: outside, options: ['rbind'] },
      { destination: '/rel/b/c', type: 'tmpfs', source: 'tmpfs' },
      { destination: '/dangling', type: 'bind', source, options: ['bind'] },
      { destination: '/rel/b/c/below-a-tmpfs', type: 'proc', source: 'proc' },
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup' },
    ],
  } as Spec;
  makeMountPoints(spec, '/', rootfs);
  assert.ok(lstatSync(join(rootfs, outside, 'a')).isDirectory());
  assert.ok(lstatSync(join(rootfs, outside, 'b/c')).isDirectory());
  assert.ok(lstatSync(join(rootfs, outside, 'none')).isFile());
  assert.ok(!existsSync(join(rootfs, outside, 'b/c/below-a-tmpfs')));
  assert.ok(!existsSync(join(rootfs, 'sys')));
  assert.deepEqual(readdirSync(outside), [], 'made on the host');
  // A bind source that is not there is named as the config names it.
  spec.mounts!.push({ destination: '/x', type: 'bind', source: join(outside, 'gone'), options: ['bind'] });
  assert.throws(() => makeMountPoints(spec, '/', rootfs), { message: new RegExp(`^restore: mounts\\[5\\]\\.source ${outside}/gone: no such file or directory$`) });
});

test('the restored container gets the config\'s cgroup limits (memory, pids) and its processes are in that cgroup', async (t) => {
  if (!criuWorks(t)) return;
  const b = s.bundle(t, {
    args: COUNTER,
    mutate: (spec) => (spec.linux.resources = { ...spec.linux.resources, memory: { limit: 64 << 20 }, pids: { limit: 42 } }),
  });
  const { id, img, work, first } = await runCounting(t, b.dir);
  checkpoint(id, img, work);
  await first.eof;

  const second = await restoreDetached(t, id, b.dir, img, work);
  await countsUntil(second, (n) => n.length >= 2);
  const pid = assertRunning(id);
  const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((l) => l.startsWith('0::'))!;
  const dir = join('/sys/fs/cgroup', line.slice(3));
  assert.ok(dir.endsWith(`/berth/${id}`), line);
  assert.equal(readFileSync(join(dir, 'memory.max'), 'utf8').trim(), String(64 << 20));
  assert.equal(readFileSync(join(dir, 'pids.max'), 'utf8').trim(), '42');
  // update works on it as on any container.
  const u = s.cli(['update', '--pids-limit', '43', id]);
  assert.equal(u.code, 0, show(u));
  assert.equal(readFileSync(join(dir, 'pids.max'), 'utf8').trim(), '43');
  await killAndDelete(id);
  await second.eof;
});

test('errors name the step and CRIU\'s reason, and a failed restore leaves nothing', async (t) => {
  if (!criuWorks(t)) return;
  const b = s.bundle(t, { args: ['sleep', '1000'] });
  const id = s.newId();
  s.deleteAfter(t, id);
  const img = s.tmpdir(t);
  const work = s.tmpdir(t);
  // A created container has no process to dump yet (runc refuses it too).
  const c = s.create(b.dir, id);
  assert.equal(c.code, 0, show(c));
  const cp = s.cli(['checkpoint', '--image-path', img, id]);
  assert.notEqual(cp.code, 0);
  assert.match(cp.stderr, /^berth: container cannot be checkpointed in created state\n$/);
  assert.equal(s.cli(['delete', '--force', id]).code, 0);

  // No images: CRIU's own reason, and where its log is.
  const r = s.cli(['restore', '-d', '--bundle', b.dir, '--image-path', img, '--work-path', work, id], { timeoutMs: LONG });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, new RegExp(`^berth: restore \\(criu restore\\): criu failed: .+; log: ${work}/restore\\.log\\n$`), r.stderr);
  assert.equal(s.state(id), undefined);
  assert.deepEqual(leftovers(s, [id], [b.dir, img]), []);
  const missing = s.cli(['restore', '-d', '--bundle', b.dir, '--image-path', join(img, 'none'), id]);
  assert.match(missing.stderr, /^berth: restore: image path \(--image-path\) .*none: no such file or directory\n$/);
});

test('features says checkpoint works exactly where criu check passes', (t) => {
  const r = s.cli(['features']);
  assert.equal(r.code, 0, show(r));
  const enabled = JSON.parse(r.stdout).annotations['org.opencontainers.berth.checkpoint.enabled'];
  assert.equal(enabled, String(criuProblem() === ''), criuProblem());
  if (LANE) assert.equal(enabled, 'true');
  t.diagnostic(`checkpoint.enabled: ${enabled}${criuProblem() ? ` (${criuProblem()})` : ''}`);
});

test('nothing is left behind', () => {
  assert.deepEqual(leftovers(s), []);
});

// podman 4.3 (with conmon) driving bin/berth: each case runs a real container
// through the engine, checks what the container really did, and that nothing
// berth made outlives the engine's removal of it. podman runs privately: its own
// containers.conf, storage (graphroot/runroot) and --tmpdir under one /tmp dir,
// all removed by the last case.
//
// berth's state lives in its default --root (/run/berth), not a private one:
// podman's `--runtime-flag root=DIR` reaches the runtime from podman itself, but
// not from the `podman container cleanup` that conmon runs when the container
// exits (its exit command drops --runtime-flag), so that cleanup's
// `delete --force` would look in the wrong root and leave the state dir and the
// cgroups behind (runc leaves its state the same way). Nothing else on this host
// uses /run/berth; the last case removes it if this file created it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, type TestContext } from 'node:test';
import { berthLeftovers, berthOnly, busyboxImage, ENGINE_RUNTIME, ENGINE_RUNTIME_ROOT, engineCase, requireEngine, sh } from './engine';
import { waitFor } from '../fixtures/wait';

const ENGINE = 'podman';
const IMAGE = 'localhost/berth-busybox:latest';
const BERTH_ROOT = ENGINE_RUNTIME_ROOT;
// Where podman's cgroupfs manager puts containers (cgroupsPath /libpod_parent/libpod-<id>)
// and conmon (libpod_parent/conmon).
const CGROUP_PARENT = 'libpod_parent';

const version = () => sh('podman', ['--version']).stdout.replace(/^podman version /, '').trim() || 'not installed';

interface Podman {
  dir: string;
  env: NodeJS.ProcessEnv;
  /** The podman command line up to the subcommand. */
  argv: string[];
}

let podmanEnv: Podman | undefined;
let tornDown = false;
const berthRootExisted = existsSync(BERTH_ROOT);
const cgroupHierarchies = readdirSync('/sys/fs/cgroup').map((h) => join('/sys/fs/cgroup', h));
const cgroupParentsBefore = new Set(cgroupHierarchies.filter((h) => existsSync(join(h, CGROUP_PARENT))));

/** The private podman, set up by the first case that needs it; undefined when podman is missing (skipped). */
function podman(t: TestContext): Podman | undefined {
  if (!requireEngine(t, 'podman', 'conmon')) return undefined;
  if (podmanEnv) return podmanEnv;
  const dir = mkdtempSync('/tmp/berth-podman-');
  for (const d of ['root', 'runroot', 'tmp', 'host']) mkdirSync(join(dir, d));
  // default_ulimits: podman's defaults raise the hard nofile/nproc limits, which
  // needs CAP_SYS_RESOURCE (not in this host's bounding set); berth rightly refuses.
  writeFileSync(
    join(dir, 'containers.conf'),
    '[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n',
  );
  writeFileSync(
    join(dir, 'storage.conf'),
    `[storage]\ndriver = "overlay"\nrunroot = "${join(dir, 'runroot')}"\ngraphroot = "${join(dir, 'root')}"\n`,
  );
  const env = { ...process.env, CONTAINERS_CONF: join(dir, 'containers.conf'), CONTAINERS_STORAGE_CONF: join(dir, 'storage.conf') };
  podmanEnv = { dir, env, argv: ['podman', '--tmpdir', join(dir, 'tmp'), '--runtime', ENGINE_RUNTIME] };
  const load = run(podmanEnv, ['load', '-i', busyboxImage(IMAGE)]);
  assert.equal(load.code, 0, `podman load: ${load.stderr}`);
  return podmanEnv;
}

/**
 * Runs a command of the private podman from its own dir: conmon inherits the
 * working directory and drops an "oom" file there when the container sees an OOM kill.
 */
function inPodmanDir(p: Podman, cmd: string, args: string[], input?: string) {
  const r = spawnSync(cmd, args, { cwd: p.dir, env: p.env, input, encoding: 'utf8', timeout: 120_000, maxBuffer: 1 << 26 });
  return { code: r.status ?? (r.signal ? 128 : -1), stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

function run(p: Podman, args: string[], input?: string) {
  return inPodmanDir(p, p.argv[0], [...p.argv.slice(1), ...args], input);
}

/** A podman command that must succeed; its stdout. */
function ok(p: Podman, args: string[]): string {
  const r = run(p, args);
  assert.equal(r.code, 0, `podman ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** `podman run -d`; the container is removed when the test ends, however it ends. */
function runDetached(t: TestContext, p: Podman, args: string[]): string {
  const id = ok(p, ['run', '-d', '--network', 'none', ...args]).trim();
  assert.match(id, /^[0-9a-f]{64}$/);
  t.after(() => void run(p, ['rm', '-f', '-t', '0', id]));
  return id;
}

/** `podman run --rm` in the foreground; the id comes back through --cidfile. */
function runRm(p: Podman, args: string[], input?: string) {
  const cidfile = join(p.dir, 'tmp', `cid-${Math.random().toString(36).slice(2)}`);
  const r = run(p, ['run', '--rm', '--cidfile', cidfile, '--network', 'none', ...args], input);
  const id = existsSync(cidfile) ? readFileSync(cidfile, 'utf8').trim() : '';
  rmSync(cidfile, { force: true });
  return { ...r, id };
}


/**
 * Nothing of the container is left: berth's state dir, cgroups, mounts,
 * processes (conmon and podman's cleanup process finish just after podman
 * returns, so this waits for them).
 */
async function assertGone(id: string): Promise<void> {
  assert.ok(id, 'no container id');
  await waitFor(() => berthLeftovers(BERTH_ROOT, id).length === 0);
  assert.deepEqual(berthLeftovers(BERTH_ROOT, id), []);
}

function containerPid(p: Podman, id: string): number {
  const pid = Number(ok(p, ['inspect', '--format', '{{.State.Pid}}', id]).trim());
  assert.ok(pid > 0, `container ${id} has no pid`);
  return pid;
}

/** A file of the v1 cgroup the host process is in, read from the host side. */
function cgroupFile(pid: number, controller: string, file: string): string {
  const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8')
    .split('\n')
    .find((l) => l.split(':')[1]?.split(',').includes(controller));
  assert.ok(line, `pid ${pid} is in no ${controller} cgroup`);
  return readFileSync(join('/sys/fs/cgroup', controller, line.split(':')[2], file), 'utf8').trim();
}

const capField = (status: string, name: string) => status.match(new RegExp(`^${name}:\\s*([0-9a-f]+)$`, 'm'))?.[1];

function shellQuote(args: string[]): string {
  return args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** A podman command line run under util-linux script(1), i.e. on a real pty, with `input` typed in. */
function onPty(p: Podman, args: string[], input: string) {
  return inPodmanDir(p, 'script', ['-qec', shellQuote([...p.argv, ...args]), '/dev/null'], input);
}

engineCase(ENGINE, version, 'run --rm: output reaches podman', async (t) => {
  const p = podman(t);
  if (!p) return;
  const r = runRm(p, [IMAGE, 'echo', 'hello from berth']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'hello from berth\n');
  await assertGone(r.id);
});

engineCase(ENGINE, version, 'exit codes: run, exec-not-found 127, not executable 126', async (t) => {
  const p = podman(t);
  if (!p) return;
  const seven = runRm(p, [IMAGE, 'sh', '-c', 'exit 7']);
  assert.equal(seven.code, 7, seven.stderr);
  await assertGone(seven.id);
  // podman maps the runtime's error text to 127 / 126, as with runc.
  const missing = runRm(p, [IMAGE, '/no/such/program']);
  assert.equal(missing.code, 127, missing.stderr);
  await assertGone(missing.id);
  const notExecutable = runRm(p, [IMAGE, '/etc/passwd']);
  assert.equal(notExecutable.code, 126, notExecutable.stderr);
  await assertGone(notExecutable.id);
});

engineCase(ENGINE, version, 'run -d, exec, stop (TERM reaches PID 1), rm', async (t) => {
  const p = podman(t);
  if (!p) return;
  const id = runDetached(t, p, [IMAGE, 'sh', '-c', 'trap "exit 0" TERM; while :; do usleep 50000; done']);
  assert.equal(ok(p, ['inspect', '--format', '{{.State.Status}}', id]).trim(), 'running');
  assert.equal(ok(p, ['exec', id, 'sh', '-c', 'echo in $(hostname); cat /proc/1/cmdline | tr "\\0" " "']).trim(), `in ${id.slice(0, 12)}\nsh -c trap "exit 0" TERM; while :; do usleep 50000; done`);
  ok(p, ['stop', id]);
  // 0: the trap ran, so PID 1 got the TERM (not the KILL after the timeout).
  assert.equal(ok(p, ['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', id]).trim(), 'exited 0');
  ok(p, ['rm', id]);
  await assertGone(id);
});

engineCase(ENGINE, version, 'exec exit codes', async (t) => {
  const p = podman(t);
  if (!p) return;
  const id = runDetached(t, p, [IMAGE, 'sleep', '1000']);
  assert.equal(run(p, ['exec', id, 'sh', '-c', 'exit 3']).code, 3);
  assert.equal(run(p, ['exec', id, 'sh', '-c', 'kill -9 $$']).code, 137);
  assert.equal(run(p, ['exec', id, '/no/such/program']).code, 127);
  assert.equal(run(p, ['exec', id, '/etc/passwd']).code, 126);
  // A failed exec leaves the container running.
  assert.equal(ok(p, ['exec', id, 'echo', 'still here']), 'still here\n');
  ok(p, ['rm', '-f', '-t', '0', id]);
  await assertGone(id);
});

engineCase(ENGINE, version, 'run -it through a pty (/dev/console is the pty)', async (t) => {
  const p = podman(t);
  if (!p) return;
  const cidfile = join(p.dir, 'tmp', 'cid-tty');
  const r = onPty(
    p,
    ['run', '--rm', '-it', '--cidfile', cidfile, '--network', 'none', IMAGE, 'sh'],
    'tty; echo typed-$((6*7)); echo "console=$(stat -c %t:%T /dev/console) pty=$(stat -L -c %t:%T $(tty))"\nexit 5\n',
  );
  const id = readFileSync(cidfile, 'utf8').trim();
  rmSync(cidfile);
  assert.equal(r.code, 5, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /\/dev\/pts\/\d+/);
  assert.match(r.stdout, /typed-42/);
  // config-linux.md: /dev/console is a bind mount of the pty.
  const devs = r.stdout.match(/^console=(\S+) pty=(\S+)\r?$/m);
  assert.ok(devs, r.stdout);
  assert.equal(devs[1], devs[2]);
  await assertGone(id);
});

engineCase(ENGINE, version, 'exec -it through a pty (and as a non-root user, who owns it)', async (t) => {
  const p = podman(t);
  if (!p) return;
  const id = runDetached(t, p, [IMAGE, 'sleep', '1000']);
  const r = onPty(p, ['exec', '-it', id, 'sh'], 'tty; echo typed-$((2+3))\nexit 4\n');
  assert.equal(r.code, 4, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /\/dev\/pts\/\d+/);
  assert.match(r.stdout, /typed-5/);
  // A non-root user owns its pty and can reopen it by name.
  const u = onPty(p, ['exec', '-it', '-u', '1000', id, 'sh'], 'stat -c "owner %u" $(tty); echo x > $(tty) && echo reopened\nexit\n');
  assert.equal(u.code, 0, `${u.stdout}\n${u.stderr}`);
  assert.match(u.stdout, /^owner 1000\r?$/m);
  assert.match(u.stdout, /^reopened\r?$/m);
  ok(p, ['rm', '-f', '-t', '0', id]);
  await assertGone(id);
});

engineCase(ENGINE, version, '--read-only: / refuses writes, /tmp is a writable tmpfs', async (t) => {
  const p = podman(t);
  if (!p) return;
  const r = runRm(p, ['--read-only', IMAGE, 'sh', '-c', 'touch /x 2>&1; echo "root=$?"; touch /tmp/y && echo tmp=ok; grep " /tmp " /proc/mounts | cut -d" " -f3']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Read-only file system/);
  assert.match(r.stdout, /root=1\ntmp=ok\ntmpfs\n$/);
  await assertGone(r.id);
});

engineCase(ENGINE, version, '--memory: the limit is in the cgroup and an allocation beyond it is OOM-killed (137)', async (t) => {
  const p = podman(t);
  if (!p) return;
  const id = runDetached(t, p, ['--memory', '32m', IMAGE, 'sleep', '1000']);
  const pid = containerPid(p, id);
  assert.equal(cgroupFile(pid, 'memory', 'memory.limit_in_bytes'), String(32 << 20));
  // A 200 MB shell string; the kernel kills the shell when the cgroup runs out. The
  // shell and its pipeline are the OOM killer's first choice (oom_score_adj 1000): on
  // a busy machine a second OOM can come before the first victim's memory is freed,
  // and must not take the container's init (seen once: the sleep was killed too).
  const r = run(p, ['exec', id, 'sh', '-c', 'echo 1000 > /proc/self/oom_score_adj; x=$(head -c 200000000 /dev/zero | tr "\\0" a); echo survived']);
  assert.equal(r.code, 137, `${r.stdout} ${r.stderr}`);
  assert.doesNotMatch(r.stdout, /survived/);
  assert.match(cgroupFile(pid, 'memory', 'memory.oom_control'), /^oom_kill [1-9]/m);
  ok(p, ['rm', '-f', '-t', '0', id]);
  await assertGone(id);
});

engineCase(ENGINE, version, '--pids-limit: forking beyond it fails', async (t) => {
  const p = podman(t);
  if (!p) return;
  const id = runDetached(t, p, ['--pids-limit', '6', IMAGE, 'sleep', '1000']);
  assert.equal(cgroupFile(containerPid(p, id), 'pids', 'pids.max'), '6');
  const r = run(p, ['exec', id, 'sh', '-c', 'i=0; while [ $i -lt 20 ]; do sleep 1000 & i=$((i+1)); done; echo all forked']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /can't fork|Resource temporarily unavailable/);
  assert.doesNotMatch(r.stdout, /all forked/);
  assert.ok(Number(cgroupFile(containerPid(p, id), 'pids', 'pids.current')) <= 6);
  ok(p, ['rm', '-f', '-t', '0', id]);
  await assertGone(id);
});

engineCase(ENGINE, version, '--uidmap: uid_map inside, files owned by the mapped host uid', async (t) => {
  const p = podman(t);
  if (!p) return;
  const vol = mkdtempSync(join(p.dir, 'host', 'uidmap-'));
  chmodSync(vol, 0o1777);
  const r = runRm(p, ['--uidmap', '0:100000:65536', '--gidmap', '0:100000:65536', '-v', `${vol}:/vol`, IMAGE, 'sh', '-c', 'cat /proc/self/uid_map; touch /vol/made-inside; stat -c "%u:%g" /vol/made-inside']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^\s*0\s+100000\s+65536\n0:0\n$/);
  const st = statSync(join(vol, 'made-inside'));
  assert.equal(`${st.uid}:${st.gid}`, '100000:100000');
  await assertGone(r.id);
});

engineCase(ENGINE, version, '-v SRC:DST:idmap with --uidmap: an id-mapped volume, its files keep their host owners inside', async (t) => {
  if (!berthOnly(t, 'runc 1.1 has no id-mapped mounts (it ignores the option)')) return;
  const p = podman(t);
  if (!p) return;
  const vol = mkdtempSync(join(p.dir, 'host', 'idmap-'));
  writeFileSync(join(vol, 'owned'), '');
  chownSync(join(vol, 'owned'), 1000, 1000);
  const r = runRm(p, ['--uidmap', '0:100000:65536', '--gidmap', '0:100000:65536', '-v', `${vol}:/vol:idmap`, IMAGE, 'sh', '-c',
    'stat -c "%u:%g" /vol/owned; grep -c " /vol .*idmapped" /proc/self/mountinfo']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '1000:1000\n1\n');
  await assertGone(r.id);
});

engineCase(ENGINE, version, '--cap-drop ALL: no capabilities', async (t) => {
  const p = podman(t);
  if (!p) return;
  const r = runRm(p, ['--cap-drop', 'ALL', IMAGE, 'cat', '/proc/self/status']);
  assert.equal(r.code, 0, r.stderr);
  for (const f of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb']) assert.equal(capField(r.stdout, f), '0000000000000000', f);
  await assertGone(r.id);
});

engineCase(ENGINE, version, '--privileged: every capability of the host, host devices visible', async (t) => {
  const p = podman(t);
  if (!p) return;
  // Devices a default container does not get.
  const hostDevices = ['loop-control', 'loop0', 'kmsg', 'mem', 'fuse', 'vda', 'sda'].filter((d) => existsSync(`/dev/${d}`));
  assert.ok(hostDevices.length > 0, 'none of the probe devices exists on this host');
  const r = runRm(p, ['--privileged', IMAGE, 'sh', '-c', 'cat /proc/self/status; ls /dev']);
  assert.equal(r.code, 0, r.stderr);
  // Full = this host's bounding set (which lacks CAP_SYS_RESOURCE here).
  assert.equal(capField(r.stdout, 'CapEff'), capField(readFileSync('/proc/self/status', 'utf8'), 'CapBnd'));
  const devs = r.stdout.split('\n');
  for (const d of hostDevices) assert.ok(devs.includes(d), `/dev/${d} missing in the privileged container`);
  await assertGone(r.id);
  const plain = runRm(p, [IMAGE, 'ls', '/dev']);
  assert.equal(plain.code, 0, plain.stderr);
  for (const d of hostDevices) assert.ok(!plain.stdout.split('\n').includes(d), `/dev/${d} visible without --privileged`);
  await assertGone(plain.id);
});

engineCase(ENGINE, version, 'pause / unpause: frozen makes no progress, then resumes', async (t) => {
  const p = podman(t);
  if (!p) return;
  const vol = mkdtempSync(join(p.dir, 'host', 'pause-'));
  const counter = join(vol, 'n');
  const id = runDetached(t, p, ['-v', `${vol}:/w`, IMAGE, 'sh', '-c', 'i=0; while :; do i=$((i+1)); echo $i > /w/n.new; mv /w/n.new /w/n; usleep 20000; done']);
  const count = () => (existsSync(counter) ? Number(readFileSync(counter, 'utf8')) : 0);
  assert.ok(await waitFor(() => count() > 2), 'the counter never ran');
  ok(p, ['pause', id]);
  const pid = containerPid(p, id);
  assert.equal(cgroupFile(pid, 'freezer', 'freezer.state'), 'FROZEN');
  assert.equal(ok(p, ['inspect', '--format', '{{.State.Status}}', id]).trim(), 'paused');
  const frozenAt = count();
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(count(), frozenAt, 'the counter moved while paused');
  ok(p, ['unpause', id]);
  assert.equal(cgroupFile(pid, 'freezer', 'freezer.state'), 'THAWED');
  assert.ok(await waitFor(() => count() > frozenAt + 2), 'the counter did not resume');
  ok(p, ['rm', '-f', '-t', '0', id]);
  await assertGone(id);
});

engineCase(ENGINE, version, "top: lists the container's processes", async (t) => {
  const p = podman(t);
  if (!p) return;
  const id = runDetached(t, p, [IMAGE, 'sh', '-c', 'sleep 1001 & sleep 1002 & wait']);
  let out = '';
  assert.ok(
    await waitFor(() => {
      out = ok(p, ['top', id, 'pid', 'args']);
      return out.includes('sleep 1001') && out.includes('sleep 1002');
    }),
    out,
  );
  assert.match(out, /^\s*1\s+sh -c sleep 1001/m);
  ok(p, ['rm', '-f', '-t', '0', id]);
  await assertGone(id);
});

engineCase(ENGINE, version, 'update: new memory and cpu limits reach the cgroup', async (t) => {
  const p = podman(t);
  if (!p) return;
  const id = runDetached(t, p, ['--memory', '64m', IMAGE, 'sleep', '1000']);
  const pid = containerPid(p, id);
  assert.equal(cgroupFile(pid, 'memory', 'memory.limit_in_bytes'), String(64 << 20));
  ok(p, ['update', '--memory', '96m', '--cpus', '0.5', id]);
  assert.equal(cgroupFile(pid, 'memory', 'memory.limit_in_bytes'), String(96 << 20));
  const quota = Number(cgroupFile(pid, 'cpu', 'cpu.cfs_quota_us'));
  const period = Number(cgroupFile(pid, 'cpu', 'cpu.cfs_period_us'));
  assert.equal(quota / period, 0.5);
  ok(p, ['rm', '-f', '-t', '0', id]);
  await assertGone(id);
});

engineCase(ENGINE, version, 'rm -f of a running container (PID 1 ignores TERM)', async (t) => {
  const p = podman(t);
  if (!p) return;
  const id = runDetached(t, p, [IMAGE, 'sleep', '1000']);
  const pid = containerPid(p, id);
  ok(p, ['rm', '-f', '-t', '1', id]);
  assert.ok(!existsSync(`/proc/${pid}`) || !readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('sleep'), 'the container process is still alive');
  assert.equal(run(p, ['inspect', id]).code, 125);
  await assertGone(id);
});

engineCase(ENGINE, version, 'kill -s USR1 reaches PID 1; restart runs it again', async (t) => {
  const p = podman(t);
  if (!p) return;
  const id = runDetached(t, p, [IMAGE, 'sh', '-c', 'trap "echo got-usr1" USR1; echo started; while :; do usleep 50000; done']);
  assert.ok(await waitFor(() => ok(p, ['logs', id]).includes('started')));
  ok(p, ['kill', '-s', 'USR1', id]);
  assert.ok(await waitFor(() => ok(p, ['logs', id]).includes('got-usr1')), ok(p, ['logs', id]));
  const pidBefore = containerPid(p, id);
  // PID 1 ignores TERM: restart goes on to KILL, delete, create, start.
  ok(p, ['restart', '-t', '1', id]);
  const pidAfter = containerPid(p, id);
  assert.notEqual(pidAfter, pidBefore);
  assert.ok(await waitFor(() => ok(p, ['logs', id]).split('started').length === 3), ok(p, ['logs', id]));
  assert.equal(ok(p, ['exec', id, 'echo', 'after restart']), 'after restart\n');
  ok(p, ['rm', '-f', '-t', '0', id]);
  await assertGone(id);
});

engineCase(ENGINE, version, 'stop with --pid host (kill --all): every process of the container gets the TERM', async (t) => {
  const p = podman(t);
  if (!p) return;
  const vol = mkdtempSync(join(p.dir, 'host', 'killall-'));
  // A background shell that records the TERM it gets; without --all only PID 1 would get it.
  // (`wait` returns to run the trap at once.)
  const bg = 'trap "echo term > /w/bg; exit 0" TERM; echo up > /w/bg; sleep 1000 & wait';
  const id = runDetached(t, p, ['--pid', 'host', '-v', `${vol}:/w`, IMAGE, 'sh', '-c', `sh -c '${bg}' & sleep 1002`]);
  const marker = () => (existsSync(join(vol, 'bg')) ? readFileSync(join(vol, 'bg'), 'utf8').trim() : '');
  assert.ok(await waitFor(() => marker() === 'up'), 'the background shell never started');
  ok(p, ['stop', '-t', '10', id]);
  assert.equal(marker(), 'term');
  // 143: PID 1 got the TERM too, not the KILL after the timeout.
  assert.equal(ok(p, ['inspect', '--format', '{{.State.ExitCode}}', id]).trim(), '143');
  ok(p, ['rm', id]);
  await assertGone(id);
});

/** Stops everything the private podman made and removes its dirs; returns what could not be removed. */
function teardown(): string[] {
  if (tornDown || !podmanEnv) return [];
  tornDown = true;
  const p = podmanEnv;
  const problems: string[] = [];
  run(p, ['rm', '-a', '-f', '-t', '0']);
  run(p, ['rmi', '-a', '-f']);
  // Storage may keep its own mounts (overlay home, shm); unmount deepest first.
  const mounted = () =>
    readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[4])
      .filter((m): m is string => !!m && (m === p.dir || m.startsWith(`${p.dir}/`)));
  const storageMounts = mounted();
  if (storageMounts.length) process.stderr.write(`# podman storage left mounted (unmounting): ${storageMounts.join(', ')}\n`);
  for (const m of storageMounts.reverse()) sh('umount', ['-l', m]);
  if (mounted().length) problems.push(`still mounted: ${mounted().join(', ')}`);
  rmSync(p.dir, { recursive: true, force: true });
  if (existsSync(p.dir)) problems.push(`${p.dir} not removed`);
  // libpod_parent (and its conmon child) if podman created them here and they are empty.
  for (const h of cgroupHierarchies) {
    const parent = join(h, CGROUP_PARENT);
    if (cgroupParentsBefore.has(h) || !existsSync(parent)) continue;
    for (const d of [join(parent, 'conmon'), parent]) {
      try {
        if (existsSync(d)) rmdirSync(d);
      } catch (e) {
        problems.push(`cgroup ${d}: ${(e as Error).message}`);
      }
    }
  }
  if (!berthRootExisted && existsSync(BERTH_ROOT)) {
    const states = readdirSync(BERTH_ROOT).filter((n) => !n.startsWith('@'));
    if (states.length) problems.push(`berth state left in ${BERTH_ROOT}: ${states.join(', ')}`);
    else rmSync(BERTH_ROOT, { recursive: true, force: true });
  }
  return problems;
}

engineCase(ENGINE, version, 'teardown: private dirs unmounted and removed, cgroup parents gone', (t) => {
  if (!requireEngine(t, 'podman', 'conmon')) return;
  const dir = podmanEnv?.dir;
  assert.deepEqual(teardown(), []);
  if (dir) assert.ok(!readFileSync('/proc/self/mountinfo', 'utf8').includes(dir), `${dir} still mounted`);
  for (const h of cgroupHierarchies) if (!cgroupParentsBefore.has(h)) assert.ok(!existsSync(join(h, CGROUP_PARENT)), `${join(h, CGROUP_PARENT)} left`);
});

// A case that failed before the last one still gets everything stopped and removed.
after(() => {
  const problems = teardown();
  if (problems.length) process.stderr.write(`# podman teardown: ${problems.join('; ')}\n`);
});

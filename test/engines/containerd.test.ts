// containerd 1.6 driven through ctr, with the io.containerd.runc.v2 shim running
// bin/berth (`ctr run --runc-binary berth --runc-root <private dir>`). The daemon
// runs privately: its own root, state, sockets and TMPDIR under one /tmp dir, and a
// ctr namespace of its own (so the containers' cgroups live under /<namespace>/<id>
// and nobody else's). Its CRI plugin has one runtime handler, "berth" (BinaryName =
// bin/berth, Root = a private dir), for the Kubernetes-style case, driven over the
// same socket by a small gRPC client (./cri). Each case asserts what the container
// really did and that nothing of it is left once the engine removed it; the last
// case stops the daemon and checks that its private dirs and cgroup parents go too.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, type TestContext } from 'node:test';
import { waitFor } from '../integration/helpers';
import { CriClient, decode, pb } from './cri';
import { berthLeftovers, berthOnly, busyboxImage, ENGINE_RUNTIME, engineCase, requireEngine, sh } from './engine';

const ENGINE = 'containerd';
const TOOLS = ['containerd', 'ctr', 'containerd-shim-runc-v2', 'script'];
const IMAGE = 'localhost/berth-busybox:latest';
// The CRI plugin's sandbox ("pause") image: the same rootfs, sleeping.
const PAUSE_IMAGE = 'localhost/berth-pause:latest';
const CRI_HANDLER = 'berth';

const version = (): string => {
  // "containerd github.com/containerd/containerd 1.6.20~ds1 <package version>"
  const out = spawnSync('containerd', ['--version'], { encoding: 'utf8' });
  if (out.status !== 0) throw new Error('containerd not installed');
  return out.stdout.trim().split(/\s+/)[2];
};

/** The private daemon: its dirs, its socket, and the ctr invocation bound to them. */
interface Daemon {
  dir: string;
  socket: string;
  /** berth's --root as the shim passes it: <runc-root>/<namespace>. */
  berthRoot: string;
  /** The same for the CRI plugin's containers (its namespace is k8s.io). */
  criBerthRoot: string;
  namespace: string;
  /** The pods' cgroup parent (relative to each hierarchy), under a name of this file's own. */
  podCgroupParent: string;
  proc: ChildProcess;
  exited: Promise<void>;
  /** The cgroup parents berth creates for this file's containers (ctr's /<namespace>, the pods' parent), in every hierarchy. */
  cgroupParents: string[];
}

let daemon: Daemon | undefined;
let daemonStarting: Promise<Daemon> | undefined;
let counter = 0;

function cgroupHierarchies(): string[] {
  return readdirSync('/sys/fs/cgroup', { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => join('/sys/fs/cgroup', e.name));
}

async function startDaemon(): Promise<Daemon> {
  const dir = mkdtempSync('/tmp/berth-engine-containerd-');
  const socket = join(dir, 'containerd.sock');
  const namespace = `berth-${process.pid}`;
  const podCgroupParent = `berth-${process.pid}-cripods`;
  const cgroupParents = cgroupHierarchies().flatMap((h) => [join(h, namespace), join(h, podCgroupParent)]);
  // A parent that exists already is not ours to remove at the end.
  assert.deepEqual(cgroupParents.filter((p) => existsSync(p)), [], 'a cgroup parent of this file exists already');
  mkdirSync(join(dir, 'tmp'));
  writeFileSync(
    join(dir, 'config.toml'),
    [
      'version = 2',
      `root = "${dir}/root"`,
      `state = "${dir}/state"`,
      '[grpc]',
      `  address = "${socket}"`,
      '[ttrpc]',
      `  address = "${socket}.ttrpc"`,
      '[debug]',
      '  address = ""',
      '[metrics]',
      '  address = ""',
      '[plugins]',
      '  [plugins."io.containerd.grpc.v1.cri"]',
      // Streaming (CRI Exec/Attach) stays on loopback; the tests use ExecSync only.
      '    disable_tcp_service = true',
      '    stream_server_address = "127.0.0.1"',
      '    stream_server_port = "0"',
      `    sandbox_image = "${PAUSE_IMAGE}"`,
      // Without CAP_SYS_RESOURCE the sandbox's default oomScoreAdj of -998 cannot be applied.
      '    restrict_oom_score_adj = true',
      '    [plugins."io.containerd.grpc.v1.cri".cni]',
      `      bin_dir = "${dir}/cni-bin"`,
      `      conf_dir = "${dir}/cni-conf"`,
      '    [plugins."io.containerd.grpc.v1.cri".containerd]',
      `      default_runtime_name = "${CRI_HANDLER}"`,
      `      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.${CRI_HANDLER}]`,
      '        runtime_type = "io.containerd.runc.v2"',
      `        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.${CRI_HANDLER}.options]`,
      `          BinaryName = "${ENGINE_RUNTIME}"`,
      `          Root = "${dir}/runc-root-cri"`,
      '  [plugins."io.containerd.internal.v1.opt"]',
      `    path = "${dir}/opt"`,
      '',
    ].join('\n'),
  );
  const log = openSync(join(dir, 'containerd.log'), 'a');
  // TMPDIR reaches the shims too: their exec process files and pty sockets stay in here.
  const proc = spawn('containerd', ['--config', join(dir, 'config.toml')], {
    env: { ...process.env, TMPDIR: join(dir, 'tmp') },
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const d: Daemon = {
    dir,
    socket,
    berthRoot: join(dir, 'runc-root', namespace),
    criBerthRoot: join(dir, 'runc-root-cri', 'k8s.io'),
    namespace,
    podCgroupParent,
    proc,
    exited,
    cgroupParents,
  };
  daemon = d;
  const up = await waitFor(() => proc.exitCode === null && existsSync(socket) && ctr(d, ['version']).code === 0, 30_000);
  assert.ok(up, `containerd did not come up:\n${daemonLog(d)}`);
  const imported = ctr(d, ['images', 'import', busyboxImage(IMAGE)]);
  assert.equal(imported.code, 0, `ctr images import: ${imported.stderr}`);
  // The CRI plugin sees the images of the k8s.io namespace only.
  for (const tar of [busyboxImage(IMAGE), busyboxImage(PAUSE_IMAGE, ['/bin/sleep', '2147483647'])]) {
    const r = sh('ctr', ['--address', socket, '--namespace', 'k8s.io', 'images', 'import', tar]);
    assert.equal(r.code, 0, `ctr -n k8s.io images import: ${r.stderr}`);
  }
  return d;
}

/** The daemon, started by the first case that needs it. */
function engine(): Promise<Daemon> {
  daemonStarting ??= startDaemon();
  return daemonStarting;
}

function daemonLog(d: Daemon): string {
  try {
    return readFileSync(join(d.dir, 'containerd.log'), 'utf8').split('\n').slice(-30).join('\n');
  } catch {
    return '(no log)';
  }
}

function ctr(d: Daemon, args: string[], opts: { namespace?: string } = {}) {
  return sh('ctr', ['--address', d.socket, '--namespace', opts.namespace ?? d.namespace, ...args], { input: '', timeoutMs: 60_000 });
}

/** `ctr run`'s flags that point the shim at this worktree's berth and its private root. */
function runtimeFlags(d: Daemon): string[] {
  return ['--runc-binary', ENGINE_RUNTIME, '--runc-root', join(d.dir, 'runc-root')];
}

/** The ctr command line as one shell string, for `script -c`. */
function ctrShell(d: Daemon, args: string[]): string {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  return ['ctr', '--address', d.socket, '--namespace', d.namespace, ...args].map(q).join(' ');
}

/** Runs a ctr command through a real pty (util-linux script), returning its status and output. */
function ctrWithPty(d: Daemon, args: string[]) {
  return sh('script', ['-qec', ctrShell(d, args), '/dev/null'], { input: '', timeoutMs: 60_000 });
}

function newId(name: string): string {
  return `bctr-${process.pid}-${++counter}-${name}`;
}

/** Removes the container however the case ended: kill everything, delete the task, remove the container. */
function removeWhenDone(t: TestContext, d: Daemon, id: string): void {
  t.after(() => {
    if (!ctr(d, ['container', 'ls', '-q']).stdout.split('\n').includes(id)) return;
    ctr(d, ['task', 'kill', '--all', '--signal', 'KILL', id]);
    ctr(d, ['task', 'delete', '--force', id]);
    ctr(d, ['container', 'rm', id]);
  });
}

type TaskStatus = 'RUNNING' | 'PAUSED' | 'STOPPED' | 'CREATED' | 'UNKNOWN' | undefined;

/** The task's pid and status as `ctr task ls` shows them. */
function task(d: Daemon, id: string): { pid: number; status: TaskStatus } | undefined {
  for (const line of ctr(d, ['task', 'ls']).stdout.split('\n').slice(1)) {
    const [name, pid, status] = line.trim().split(/\s+/);
    if (name === id) return { pid: Number(pid), status: status as TaskStatus };
  }
  return undefined;
}

/** A detached container running cmd; removed when the case ends. */
function runDetached(t: TestContext, d: Daemon, id: string, cmd: string[], extra: string[] = []): number {
  removeWhenDone(t, d, id);
  const r = ctr(d, ['run', '-d', ...runtimeFlags(d), ...extra, IMAGE, id, ...cmd]);
  assert.equal(r.code, 0, `ctr run -d: ${r.stderr}`);
  const info = task(d, id);
  assert.equal(info?.status, 'RUNNING', `task ${id} after run -d`);
  // The shim ran this worktree's berth with the private root, not runc from PATH.
  assert.ok(existsSync(join(d.berthRoot, id, 'state.json')), `berth's state for ${id} under ${d.berthRoot}`);
  return info!.pid;
}

/** A foreground `ctr run --rm` that the case signals while it runs. */
function runForeground(d: Daemon, id: string, cmd: string[]) {
  const child = spawn('ctr', ['--address', d.socket, '--namespace', d.namespace, 'run', '--rm', ...runtimeFlags(d), IMAGE, id, ...cmd], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const exit = new Promise<number>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : -1))));
  return { child, exit, out: () => stdout, err: () => stderr };
}

function alive(pid: number): boolean {
  try {
    // A zombie has an empty cmdline and is as good as gone.
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8') !== '';
  } catch {
    return false;
  }
}

/** What still mentions the container: berth's leftovers, a shim serving it, the engine's bundle and records. */
function leftovers(d: Daemon, id: string): string[] {
  const out = berthLeftovers(d.berthRoot, id);
  const bundle = join(d.dir, 'state/io.containerd.runtime.v2.task', d.namespace, id);
  if (existsSync(bundle)) out.push(`shim bundle ${bundle}`);
  if (ctr(d, ['task', 'ls', '-q']).stdout.split('\n').includes(id)) out.push('task still listed');
  if (ctr(d, ['container', 'ls', '-q']).stdout.split('\n').includes(id)) out.push('container still listed');
  if (ctr(d, ['snapshot', 'ls']).stdout.split('\n').some((l) => l.startsWith(`${id} `))) out.push('snapshot still listed');
  return out;
}

/** The shim exits shortly after the task is deleted, so this waits for the host to settle before asserting. */
async function assertNothingLeft(d: Daemon, id: string): Promise<void> {
  await waitFor(() => leftovers(d, id).length === 0, 15_000);
  assert.deepEqual(leftovers(d, id), [], `left behind by ${id}`);
}

function removeContainer(d: Daemon, id: string): void {
  const del = ctr(d, ['task', 'delete', id]);
  assert.equal(del.code, 0, `ctr task delete: ${del.stderr}`);
  const rm = ctr(d, ['container', 'rm', id]);
  assert.equal(rm.code, 0, `ctr container rm: ${rm.stderr}`);
}

/** The host's view of the container's cgroup file in a v1 hierarchy. */
function cgroupFile(d: Daemon, id: string, controller: string, file: string): string {
  return readFileSync(join('/sys/fs/cgroup', controller, d.namespace, id, file), 'utf8').trim();
}

engineCase(ENGINE, version, 'ctr run --rm: output and exit status', async (t) => {
  if (!requireEngine(t, ...TOOLS)) return;
  const d = await engine();
  const id = newId('rm');
  removeWhenDone(t, d, id);
  const r = ctr(d, ['run', '--rm', ...runtimeFlags(d), IMAGE, id, 'sh', '-c', 'echo "hello from pid $$"; echo to-stderr >&2; exit 3']);
  assert.equal(r.code, 3, `ctr run exit status (stderr: ${r.stderr})`);
  // pid 1: the container has its own PID namespace.
  assert.equal(r.stdout, 'hello from pid 1\n');
  assert.match(r.stderr, /to-stderr/);
  await assertNothingLeft(d, id);
});

engineCase(ENGINE, version, 'ctr run --rm --tty through a pty', async (t) => {
  if (!requireEngine(t, ...TOOLS)) return;
  const d = await engine();
  const id = newId('tty');
  removeWhenDone(t, d, id);
  const r = ctrWithPty(d, ['run', '--rm', '--tty', ...runtimeFlags(d), IMAGE, id, 'sh', '-c', 'tty; [ -t 1 ] && echo stdout-is-a-tty; exit 4']);
  assert.equal(r.code, 4, `exit status through script (output: ${r.stdout}${r.stderr})`);
  // The container's stdin is a pty slave of its own (the shim holds the master).
  assert.match(r.stdout, /\/dev\/pts\/\d+\r*\n/);
  assert.match(r.stdout, /stdout-is-a-tty/);
  await assertNothingLeft(d, id);
});

/** A capability set from /proc/<pid>/status as a bigint mask. */
function capMask(status: string, set: 'CapBnd' | 'CapEff'): bigint {
  const m = new RegExp(`^${set}:\\s*([0-9a-f]+)$`, 'm').exec(status);
  assert.ok(m, `${set} in ${status}`);
  return BigInt(`0x${m[1]}`);
}
const CAP_CHOWN = 0n;
const CAP_NET_ADMIN = 12n;
const has = (mask: bigint, cap: bigint) => ((mask >> cap) & 1n) === 1n;

engineCase(ENGINE, version, 'ctr run options: --read-only, ro bind --mount, --env, --cwd, --cap-add/--cap-drop, --net-host', async (t) => {
  if (!requireEngine(t, ...TOOLS)) return;
  const d = await engine();
  const id = newId('opts');
  removeWhenDone(t, d, id);
  const hostDir = join(d.dir, 'hostdir');
  mkdirSync(hostDir, { recursive: true });
  writeFileSync(join(hostDir, 'file.txt'), 'from the host\n');
  const script = [
    'echo "env=$FOO cwd=$(pwd)"',
    'cat /data/file.txt',
    'touch /rootfs-write 2>/dev/null && echo rootfs-writable || echo rootfs-readonly',
    'touch /data/new 2>/dev/null && echo bind-writable || echo bind-readonly',
    // Host network: the host's interfaces, not just lo.
    'echo "links=$(ls /sys/class/net | wc -l)"',
    // Without --seccomp there is no profile: the --seccomp case below is refused this.
    'unshare -U true && echo unshare-allowed',
    'cat /proc/self/status',
  ].join('; ');
  const r = ctr(d, [
    'run', '--rm', ...runtimeFlags(d),
    '--read-only', '--net-host', '--env', 'FOO=bar', '--cwd', '/tmp',
    '--cap-add', 'CAP_NET_ADMIN', '--cap-drop', 'CAP_CHOWN',
    '--mount', `type=bind,src=${hostDir},dst=/data,options=rbind:ro`,
    IMAGE, id, 'sh', '-c', script,
  ]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n');
  assert.deepEqual(lines.slice(0, 4), ['env=bar cwd=/tmp', 'from the host', 'rootfs-readonly', 'bind-readonly']);
  assert.equal(lines[4], `links=${readdirSync('/sys/class/net').length}`);
  assert.equal(lines[5], 'unshare-allowed');
  const bounding = capMask(r.stdout, 'CapBnd');
  assert.ok(has(bounding, CAP_NET_ADMIN), 'CAP_NET_ADMIN added');
  assert.ok(!has(bounding, CAP_CHOWN), 'CAP_CHOWN dropped');
  assert.ok(!existsSync(join(hostDir, 'new')));
  await assertNothingLeft(d, id);
});

engineCase(ENGINE, version, 'ctr run --privileged and --seccomp', async (t) => {
  if (!requireEngine(t, ...TOOLS)) return;
  const d = await engine();
  const priv = newId('priv');
  removeWhenDone(t, d, priv);
  const p = ctr(d, ['run', '--rm', ...runtimeFlags(d), '--privileged', IMAGE, priv, 'sh', '-c', 'cat /proc/self/status; ls /dev']);
  assert.equal(p.code, 0, p.stderr);
  // Every capability this host can grant (its bounding set lacks CAP_SYS_RESOURCE), no seccomp, the host's devices.
  const hostStatus = readFileSync('/proc/self/status', 'utf8');
  assert.equal(capMask(p.stdout, 'CapEff'), capMask(hostStatus, 'CapBnd'));
  assert.match(p.stdout, /^Seccomp:\s*0$/m);
  if (existsSync('/dev/kmsg')) assert.match(p.stdout, /^kmsg$/m, 'host devices are passed to a privileged container');
  await assertNothingLeft(d, priv);

  const sec = newId('seccomp');
  removeWhenDone(t, d, sec);
  // The default profile refuses unshare(2) to a process without CAP_SYS_ADMIN (allowed in the options case).
  const s = ctr(d, ['run', '--rm', ...runtimeFlags(d), '--seccomp', IMAGE, sec, 'sh', '-c', 'grep -E "^(Seccomp|NoNewPrivs):" /proc/self/status; unshare -U true && echo unshared || echo refused']);
  assert.equal(s.code, 0, s.stderr);
  assert.match(s.stdout, /^NoNewPrivs:\s*1$/m);
  assert.match(s.stdout, /^Seccomp:\s*2$/m);
  assert.match(s.stdout, /^refused$/m);
  await assertNothingLeft(d, sec);
});

engineCase(ENGINE, version, 'ctr run -d, task exec (plain and --tty), task delete, container rm', async (t) => {
  if (!requireEngine(t, ...TOOLS)) return;
  const d = await engine();
  const id = newId('exec');
  const initPid = runDetached(t, d, id, ['sleep', '1000']);
  assert.ok(alive(initPid), 'the init process runs on the host');

  const e1 = ctr(d, ['task', 'exec', '--exec-id', 'e1', id, 'sh', '-c', 'echo "exec beside $(cat /proc/1/comm) as $(id -u)"; exit 5']);
  assert.equal(e1.code, 5, `task exec exit status (stderr: ${e1.stderr})`);
  assert.equal(e1.stdout, 'exec beside sleep as 0\n', "the exec joined the container's PID namespace");

  const e2 = ctr(d, ['task', 'exec', '--exec-id', 'e2', '--user', '1000', '--cwd', '/tmp', id, 'sh', '-c', 'id -u; pwd']);
  assert.equal(e2.code, 0, e2.stderr);
  assert.equal(e2.stdout, '1000\n/tmp\n');

  const e3 = ctrWithPty(d, ['task', 'exec', '--tty', '--exec-id', 'e3', id, 'sh', '-c', 'tty; exit 6']);
  assert.equal(e3.code, 6, `task exec --tty exit status (output: ${e3.stdout}${e3.stderr})`);
  assert.match(e3.stdout, /\/dev\/pts\/\d+\r*\n/);

  // The exec'd processes are gone; the container still runs.
  assert.equal(task(d, id)?.status, 'RUNNING');
  const kill = ctr(d, ['task', 'kill', '--signal', 'KILL', id]);
  assert.equal(kill.code, 0, kill.stderr);
  assert.ok(await waitFor(() => task(d, id)?.status === 'STOPPED', 15_000), 'task stopped after SIGKILL');
  removeContainer(d, id);
  await assertNothingLeft(d, id);
  assert.ok(!alive(initPid), 'the init process is gone');
});

engineCase(ENGINE, version, 'task kill: default SIGTERM reaches the container init', async (t) => {
  if (!requireEngine(t, ...TOOLS)) return;
  const d = await engine();
  const id = newId('term');
  removeWhenDone(t, d, id);
  // PID 1 of a PID namespace ignores signals it has no handler for, so it traps TERM.
  const run = runForeground(d, id, ['sh', '-c', "trap 'echo got TERM; exit 7' TERM; echo ready; while :; do sleep 1; done"]);
  t.after(() => run.child.kill('SIGKILL'));
  assert.ok(await waitFor(() => run.out().includes('ready\n'), 30_000), `container did not start: ${run.err()}`);
  const kill = ctr(d, ['task', 'kill', id]);
  assert.equal(kill.code, 0, kill.stderr);
  assert.equal(await run.exit, 7, `ctr run exit status (stderr: ${run.err()})`);
  assert.equal(run.out(), 'ready\ngot TERM\n');
  await assertNothingLeft(d, id);
});

engineCase(ENGINE, version, 'task kill --signal KILL ends a foreground ctr run with 137', async (t) => {
  if (!requireEngine(t, ...TOOLS)) return;
  const d = await engine();
  const id = newId('kill');
  removeWhenDone(t, d, id);
  const run = runForeground(d, id, ['sh', '-c', "trap '' TERM; echo ready; while :; do sleep 1; done"]);
  t.after(() => run.child.kill('SIGKILL'));
  assert.ok(await waitFor(() => run.out().includes('ready\n'), 30_000), `container did not start: ${run.err()}`);
  const kill = ctr(d, ['task', 'kill', '--signal', 'KILL', id]);
  assert.equal(kill.code, 0, kill.stderr);
  assert.equal(await run.exit, 137, `ctr run exit status (stderr: ${run.err()})`);
  await assertNothingLeft(d, id);
});

engineCase(ENGINE, version, 'task kill --all kills exec processes too; task ps lists them', async (t) => {
  if (!requireEngine(t, ...TOOLS)) return;
  const d = await engine();
  const id = newId('all');
  const initPid = runDetached(t, d, id, ['sleep', '1000']);
  const bg = ctr(d, ['task', 'exec', '--detach', '--exec-id', 'bg', id, 'sleep', '999']);
  assert.equal(bg.code, 0, bg.stderr);

  // The shim runs `ps --format json`: host pids of every process in the container.
  const ps = ctr(d, ['task', 'ps', id]);
  assert.equal(ps.code, 0, ps.stderr);
  const pids = ps.stdout.split('\n').slice(1).map((l) => Number(l.trim().split(/\s+/)[0])).filter((p) => p > 0);
  assert.ok(pids.includes(initPid), `task ps lists the init pid ${initPid}: ${ps.stdout}`);
  assert.equal(pids.length, 2, `task ps lists init and the exec process: ${ps.stdout}`);
  const execPid = pids.find((p) => p !== initPid)!;
  assert.equal(readFileSync(`/proc/${execPid}/cmdline`, 'utf8'), 'sleep\x00999\x00');
  assert.match(ps.stdout, /ExecID:bg/, 'the exec process is attributed to its exec id');

  const kill = ctr(d, ['task', 'kill', '--all', '--signal', 'KILL', id]);
  assert.equal(kill.code, 0, kill.stderr);
  assert.ok(await waitFor(() => task(d, id)?.status === 'STOPPED', 15_000), 'task stopped');
  assert.ok(await waitFor(() => !alive(initPid) && !alive(execPid), 15_000), 'init and exec process both killed');
  removeContainer(d, id);
  await assertNothingLeft(d, id);
});

engineCase(ENGINE, version, 'task pause / resume freeze and thaw the container; task delete --force', async (t) => {
  if (!requireEngine(t, ...TOOLS)) return;
  const d = await engine();
  const id = newId('pause');
  runDetached(t, d, id, ['sleep', '1000']);

  const pause = ctr(d, ['task', 'pause', id]);
  assert.equal(pause.code, 0, pause.stderr);
  assert.equal(task(d, id)?.status, 'PAUSED');
  assert.equal(cgroupFile(d, id, 'freezer', 'freezer.state'), 'FROZEN');
  // Nothing runs in a frozen container: an exec cannot start.
  const frozenExec = ctr(d, ['task', 'exec', '--exec-id', 'frozen', id, 'true']);
  assert.notEqual(frozenExec.code, 0, 'exec into a paused container fails');

  const resume = ctr(d, ['task', 'resume', id]);
  assert.equal(resume.code, 0, resume.stderr);
  assert.equal(task(d, id)?.status, 'RUNNING');
  assert.equal(cgroupFile(d, id, 'freezer', 'freezer.state'), 'THAWED');
  const e = ctr(d, ['task', 'exec', '--exec-id', 'thawed', id, 'echo', 'running again']);
  assert.equal(e.code, 0, e.stderr);
  assert.equal(e.stdout, 'running again\n');

  // delete --force on a running task: the shim kills everything, then deletes.
  const del = ctr(d, ['task', 'delete', '--force', id]);
  assert.equal(del.code, 0, del.stderr);
  const rm = ctr(d, ['container', 'rm', id]);
  assert.equal(rm.code, 0, rm.stderr);
  await assertNothingLeft(d, id);
});

engineCase(ENGINE, version, 'ctr run --memory-limit is enforced', async (t) => {
  if (!requireEngine(t, ...TOOLS)) return;
  const d = await engine();
  const id = newId('mem');
  const limit = 32 * 1024 * 1024;
  runDetached(t, d, id, ['sleep', '1000'], ['--memory-limit', String(limit)]);
  assert.equal(cgroupFile(d, id, 'memory', 'memory.limit_in_bytes'), String(limit));

  // The shell alone (builtins only, so the OOM killer has one candidate) doubles a
  // string to 2^n bytes: 1 MiB fits, 64 MiB does not (this host has no swap).
  const hold = (log2: number) => `x=a; i=0; while [ $i -lt ${log2} ]; do x="$x$x"; i=$((i+1)); done; echo held \${#x}`;
  const small = ctr(d, ['task', 'exec', '--exec-id', 'small', id, 'sh', '-c', hold(20)]);
  assert.equal(small.code, 0, `small exec: ${small.stdout}${small.stderr}`);
  assert.equal(small.stdout, `held ${1 << 20}\n`);
  const big = ctr(d, ['task', 'exec', '--exec-id', 'big', id, 'sh', '-c', hold(26)]);
  const oomControl = cgroupFile(d, id, 'memory', 'memory.oom_control');
  assert.equal(big.code, 137, `the memory hog is OOM-killed (output: ${big.stdout}${big.stderr}; ${oomControl})`);
  assert.match(oomControl, /^oom_kill 1$/m, 'the kill was the cgroup OOM killer');
  assert.equal(task(d, id)?.status, 'RUNNING', `the container itself survives (${oomControl})`);

  const kill = ctr(d, ['task', 'kill', '--signal', 'KILL', id]);
  assert.equal(kill.code, 0, kill.stderr);
  assert.ok(await waitFor(() => task(d, id)?.status === 'STOPPED', 15_000), 'task stopped');
  removeContainer(d, id);
  await assertNothingLeft(d, id);
});

const NODE = 2; // CRI NamespaceMode
const CONTAINER = 1;
const CONTAINER_EXITED = 2n; // CRI ContainerState
const LOOP = "echo started; trap 'echo got TERM; exit 0' TERM; while :; do sleep 1; done";

type Reply = Map<number, bigint | Buffer>;
const text = (m: Reply, f: number) => (m.get(f) as Buffer | undefined)?.toString() ?? '';

/**
 * A pod on the private daemon's CRI plugin, run by the berth handler, with host
 * network (there is no CNI here) and a cgroup parent of this file's own. It and
 * its containers are stopped and removed when the case ends, however it ends.
 */
async function criPod(t: TestContext, d: Daemon, name: string, opts: { privileged?: boolean; sysctls?: Record<string, string> } = {}) {
  const cri = new CriClient(d.socket);
  const rt = (method: string, ...fields: Buffer[]) => cri.call('RuntimeService', method, Buffer.concat(fields));
  const logDir = join(d.dir, 'pod-logs', name);
  const cgroupParent = `/${d.podCgroupParent}/${name}`;
  // PodSandboxConfig: metadata, log_directory, linux { cgroup_parent, security_context { namespace_options, privileged }, sysctls }.
  const config = Buffer.concat([
    pb.msg(1, pb.str(1, name), pb.str(2, `uid-${name}-${process.pid}`), pb.str(3, 'default')),
    pb.str(3, logDir),
    pb.msg(
      8,
      pb.str(1, cgroupParent),
      pb.msg(2, pb.msg(1, pb.int(1, NODE), pb.int(2, CONTAINER)), opts.privileged ? pb.int(6, 1) : Buffer.alloc(0)),
      pb.map(3, opts.sysctls ?? {}),
    ),
  ]);
  const containers: string[] = [];
  let id = '';
  t.after(async () => {
    // All idempotent in the CRI: whatever is left goes.
    for (const c of containers) {
      await rt('StopContainer', pb.str(1, c), pb.int(2, 0)).catch(() => {});
      await rt('RemoveContainer', pb.str(1, c)).catch(() => {});
    }
    if (id) {
      await rt('StopPodSandbox', pb.str(1, id)).catch(() => {});
      await rt('RemovePodSandbox', pb.str(1, id)).catch(() => {});
    }
    cri.close();
  });
  id = text(await rt('RunPodSandbox', pb.msg(1, config), pb.str(2, CRI_HANDLER)), 1);
  assert.match(id, /^[0-9a-f]{64}$/);
  // The sandbox is berth's container: its state is under the handler's Root.
  assert.ok(existsSync(join(d.criBerthRoot, id, 'state.json')), 'the sandbox is a berth container');
  return {
    id,
    rt,
    logDir,
    /** The host's view of a container's cgroup file in a v1 hierarchy (this host's layout). */
    cgroupFile: (container: string, controller: string, file: string) =>
      readFileSync(join('/sys/fs/cgroup', controller, cgroupParent, container, file), 'utf8').trim(),
    /** Creates and starts a container running `sh -c script`; `linux` is its LinuxContainerConfig. */
    async start(container: string, linux: Buffer = Buffer.alloc(0), script = LOOP): Promise<string> {
      // ContainerConfig: metadata, image, command, log_path, linux.
      const cc = pb.msg(2, pb.msg(1, pb.str(1, container)), pb.msg(2, pb.str(1, IMAGE)), pb.strs(3, ['sh', '-c', script]), pb.str(11, `${container}.log`), pb.msg(15, linux));
      const cid = text(await rt('CreateContainer', pb.str(1, id), cc, pb.msg(3, config)), 1);
      assert.match(cid, /^[0-9a-f]{64}$/);
      containers.push(cid);
      await rt('StartContainer', pb.str(1, cid));
      assert.ok(existsSync(join(d.criBerthRoot, cid, 'state.json')), 'the container is a berth container');
      return cid;
    },
    async execSync(cid: string, cmd: string): Promise<{ stdout: string; stderr: string; exitCode: number }> {
      const r = await rt('ExecSync', pb.str(1, cid), pb.strs(2, ['sh', '-c', cmd]), pb.int(3, 30));
      return { stdout: text(r, 1), stderr: text(r, 2), exitCode: Number(r.get(3) ?? 0n) };
    },
    /** StopContainer, RemoveContainer for each container, StopPodSandbox, RemovePodSandbox; then nothing of them is left. */
    async remove(): Promise<void> {
      for (const c of containers) {
        await rt('StopContainer', pb.str(1, c), pb.int(2, 30));
        await rt('RemoveContainer', pb.str(1, c));
      }
      await rt('StopPodSandbox', pb.str(1, id));
      await rt('RemovePodSandbox', pb.str(1, id));
      for (const x of [...containers, id]) {
        await waitFor(() => berthLeftovers(d.criBerthRoot, x).length === 0, 15_000);
        assert.deepEqual(berthLeftovers(d.criBerthRoot, x), [], `left behind by ${x === id ? 'the sandbox' : 'a container'}`);
      }
    },
  };
}

engineCase(ENGINE, version, 'CRI: pod sandbox with a sysctl, container with resources, ExecSync, UpdateContainerResources, StopContainer', async (t) => {
  if (!requireEngine(t, ...TOOLS)) return;
  const d = await engine();
  // kernel.shm_rmid_forced belongs to the pod's IPC namespace, which its containers join.
  const hostShmRmidForced = readFileSync('/proc/sys/kernel/shm_rmid_forced', 'utf8').trim();
  const podShmRmidForced = hostShmRmidForced === '1' ? '0' : '1';
  const pod = await criPod(t, d, 'pod1', { sysctls: { 'kernel.shm_rmid_forced': podShmRmidForced } });
  // LinuxContainerConfig { resources { cpu_shares, memory_limit_in_bytes } }.
  const c = await pod.start('c1', pb.msg(1, pb.int(3, 256), pb.int(4, 64 << 20)));
  assert.equal(pod.cgroupFile(c, 'memory', 'memory.limit_in_bytes'), String(64 << 20), 'the pod cgroup parent and the memory limit');
  assert.equal(pod.cgroupFile(c, 'cpu', 'cpu.shares'), '256');

  const exec = await pod.execSync(c, 'echo "execsync as $(id -u) beside $(cat /proc/1/comm)"; cat /proc/sys/kernel/shm_rmid_forced; exit 3');
  // The container shares the pod's PID namespace (CRI's default, POD): PID 1 is the sandbox's sleep.
  assert.equal(exec.stdout, `execsync as 0 beside sleep\n${podShmRmidForced}\n`, "the pod's sysctl in its IPC namespace");
  assert.equal(readFileSync('/proc/sys/kernel/shm_rmid_forced', 'utf8').trim(), hostShmRmidForced, "the host's own is untouched");
  assert.equal(exec.exitCode, 3, 'ExecSync exit code');

  // UpdateContainerResources: the shim pipes the resources to `berth update --resources -`.
  await pod.rt('UpdateContainerResources', pb.str(1, c), pb.msg(2, pb.int(3, 512), pb.int(4, 128 << 20)));
  assert.equal(pod.cgroupFile(c, 'memory', 'memory.limit_in_bytes'), String(128 << 20));
  assert.equal(pod.cgroupFile(c, 'cpu', 'cpu.shares'), '512');

  // StopContainer sends SIGTERM (the trap ends the loop with 0) before any SIGKILL.
  await pod.rt('StopContainer', pb.str(1, c), pb.int(2, 30));
  const status = decode((await pod.rt('ContainerStatus', pb.str(1, c))).get(1) as Buffer);
  assert.equal(status.get(3), CONTAINER_EXITED, 'container exited');
  assert.equal(status.get(7) ?? 0n, 0n, 'exit code 0 from the TERM trap');
  const log = readFileSync(join(pod.logDir, 'c1.log'), 'utf8');
  assert.match(log, / stdout F started\n/);
  assert.match(log, / stdout F got TERM\n/);
  await pod.remove();
});

engineCase(ENGINE, version, 'CRI: StopContainer of a container ignoring SIGTERM kills it, and only it, in a shared PID namespace', async (t) => {
  if (!requireEngine(t, ...TOOLS)) return;
  const d = await engine();
  const pod = await criPod(t, d, 'pod4');
  const sandboxPid = pidOfContainer(d, pod.id);
  const c = await pod.start('stubborn', Buffer.alloc(0), "trap '' TERM; echo started; while :; do sleep 1; done");
  const containerPid = pidOfContainer(d, c);
  // After the grace period the shim sends `kill --all <id> 9`: the container's cgroup only, not the pod's sleep.
  await pod.rt('StopContainer', pb.str(1, c), pb.int(2, 1));
  const status = decode((await pod.rt('ContainerStatus', pb.str(1, c))).get(1) as Buffer);
  assert.equal(status.get(3), CONTAINER_EXITED, 'container exited');
  assert.equal(status.get(7), 137n, 'killed by SIGKILL');
  assert.ok(!alive(containerPid), 'the container init is gone');
  assert.ok(alive(sandboxPid), 'the sandbox in the same PID namespace still runs');
  // PodSandboxStatusResponse { status { state } }: SANDBOX_READY is 0, the default.
  const sandbox = decode((await pod.rt('PodSandboxStatus', pb.str(1, pod.id))).get(1) as Buffer);
  assert.equal(sandbox.get(3) ?? 0n, 0n, 'the sandbox is still ready');
  await pod.remove();
});

engineCase(ENGINE, version, 'CRI: restricted container (runAsUser, read-only rootfs, no_new_privs, RuntimeDefault seccomp, dropped cap)', async (t) => {
  if (!requireEngine(t, ...TOOLS)) return;
  const d = await engine();
  const pod = await criPod(t, d, 'pod2');
  // LinuxContainerConfig { security_context { capabilities { drop }, run_as_user, readonly_rootfs, no_new_privs, seccomp RuntimeDefault } }.
  const c = await pod.start(
    'restricted',
    pb.msg(2, pb.msg(1, pb.strs(2, ['NET_RAW'])), pb.msg(5, pb.int(1, 1000)), pb.int(7, 1), pb.int(11, 1), pb.msg(15)),
  );
  const r = await pod.execSync(c, 'id -u; touch /x 2>/dev/null && echo rootfs-writable || echo rootfs-readonly; unshare -U true 2>/dev/null && echo unshare-allowed || echo unshare-refused; cat /proc/self/status');
  assert.equal(r.exitCode, 0, r.stderr);
  const lines = r.stdout.split('\n');
  assert.deepEqual(lines.slice(0, 3), ['1000', 'rootfs-readonly', 'unshare-refused']);
  assert.match(r.stdout, /^NoNewPrivs:\s*1$/m);
  assert.match(r.stdout, /^Seccomp:\s*2$/m);
  assert.equal(capMask(r.stdout, 'CapEff'), 0n, 'a non-root user has no effective capabilities');
  assert.ok(!has(capMask(r.stdout, 'CapBnd'), 13n), 'CAP_NET_RAW dropped from the bounding set');
  // The container's own process runs as that user too.
  assert.match(readFileSync(`/proc/${pidOfContainer(d, c)}/status`, 'utf8'), /^Uid:\s+1000\s/m);
  await pod.remove();
});

engineCase(ENGINE, version, 'CRI: privileged pod and container', async (t) => {
  if (!requireEngine(t, ...TOOLS)) return;
  const d = await engine();
  const pod = await criPod(t, d, 'pod3', { privileged: true });
  // LinuxContainerConfig { security_context { privileged } }.
  const c = await pod.start('priv', pb.msg(2, pb.int(2, 1)));
  const r = await pod.execSync(c, 'cat /proc/self/status; ls /dev');
  assert.equal(r.exitCode, 0, r.stderr);
  assert.equal(capMask(r.stdout, 'CapEff'), capMask(readFileSync('/proc/self/status', 'utf8'), 'CapBnd'), "every capability this host's bounding set has");
  assert.match(r.stdout, /^Seccomp:\s*0$/m);
  if (existsSync('/dev/kmsg')) assert.match(r.stdout, /^kmsg$/m, 'host devices are passed to a privileged container');
  await pod.remove();
});

/** The host pid of a CRI container's init, from berth's state (runc's names it init_process_pid). */
function pidOfContainer(d: Daemon, id: string): number {
  const state = JSON.parse(readFileSync(join(d.criBerthRoot, id, 'state.json'), 'utf8'));
  return state.pid ?? state.init_process_pid;
}

/** The cgroup dirs below dir, parents before children. */
function cgroupTree(dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.filter((e) => e.isDirectory()).flatMap((e) => [join(dir, e.name), ...cgroupTree(join(dir, e.name))]);
}

function tryRmdir(dir: string, problems: string[]): void {
  try {
    rmdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') problems.push(`cgroup ${dir}: ${(e as Error).message}`);
  }
}

/** Stops the daemon, its shims, and removes what it and berth made for this file. Returns what it could not remove. */
async function teardown(d: Daemon): Promise<string[]> {
  const problems: string[] = [];
  for (const namespace of [d.namespace, 'k8s.io']) {
    for (const id of ctr(d, ['container', 'ls', '-q'], { namespace }).stdout.split('\n').filter(Boolean)) {
      problems.push(`container ${namespace}/${id} still there at the end`);
      ctr(d, ['task', 'kill', '--all', '--signal', 'KILL', id], { namespace });
      ctr(d, ['task', 'delete', '--force', id], { namespace });
      ctr(d, ['container', 'rm', id], { namespace });
    }
  }
  if (d.proc.exitCode === null) {
    d.proc.kill('SIGTERM');
    await d.exited;
  }
  // Shims outlive the daemon by design; ours name our socket in their argv.
  const shims = () =>
    readdirSync('/proc')
      .filter((p) => /^\d+$/.test(p))
      .filter((p) => {
        try {
          const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8');
          return cmd.startsWith('/usr/bin/containerd-shim') && cmd.includes(d.socket);
        } catch {
          return false;
        }
      });
  await waitFor(() => shims().length === 0, 15_000);
  for (const pid of shims()) {
    problems.push(`shim ${pid} still running`);
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  const ourMounts = () =>
    readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[4])
      .filter((m) => m?.startsWith(`${d.dir}/`));
  for (const m of ourMounts().reverse()) {
    problems.push(`mount ${m} still there`);
    spawnSync('umount', ['-l', m]);
  }
  rmSync(d.dir, { recursive: true, force: true });
  if (existsSync(d.dir)) problems.push(`${d.dir} not removed`);
  // berth made the cgroup parents for this file's containers and removes them once
  // empty; anything below one now is a container that was not deleted (killed first).
  for (const p of d.cgroupParents) {
    for (const leftover of cgroupTree(p).reverse()) {
      problems.push(`cgroup ${leftover} still there`);
      for (const pid of readFileSync(join(leftover, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // gone meanwhile
        }
      }
      await waitFor(() => readFileSync(join(leftover, 'cgroup.procs'), 'utf8') === '', 15_000);
      tryRmdir(leftover, problems);
    }
    tryRmdir(p, problems);
  }
  return problems;
}

engineCase(ENGINE, version, 'daemon stopped: shims gone, private dirs unmounted and removed', async (t) => {
  if (!requireEngine(t, ...TOOLS)) return;
  // Skipped, the after() hook below still stops the daemon and removes everything.
  if (!berthOnly(t, "runc leaves the pods' empty cgroup parents (the kubelet removes them)")) return;
  const d = await engine();
  daemon = undefined;
  assert.deepEqual(await teardown(d), []);
  assert.equal(d.proc.exitCode !== null || d.proc.signalCode !== null, true, 'containerd exited');
  assert.ok(!existsSync(d.dir), 'private dir removed');
  assert.deepEqual(d.cgroupParents.filter((p) => existsSync(p)), [], 'cgroup parents removed');
});

// When a case failed before the last one ran, the daemon still has to go.
after(async () => {
  if (daemon) await teardown(daemon);
});

// docker, podman and containerd's CRI driving berth on a systemd host in their
// default (systemd) cgroup configuration: nothing is configured but berth as
// the runtime, so each engine passes --systemd-cgroup and a slice:prefix:name
// cgroupsPath, as it does with runc on Debian 12, Fedora or a Kubernetes node.
// Runs in the systemd lane (npm run test:systemd); skipped, saying so, where
// systemd is not running, failed in the lane when an engine is missing. After
// each case no unit, cgroup, state or process of the container is left.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test, type TestContext } from 'node:test';
import { findCgroupDirs } from '../fixtures/leftovers';
import { BERTH } from '../fixtures/runtime';
import { CriClient, decode, pb } from '../engines/cri';
import { berthLeftovers, busyboxImage, engineCase, findExecutable, removePrivateDir, sh } from '../engines/engine';
import { waitFor } from '../fixtures/wait';

const lane = process.env.BERTH_SYSTEMD_LANE === '1';
const skip = !existsSync('/run/systemd/system') && !lane ? 'systemd is not running here: this file runs in the systemd lane (npm run test:systemd)' : false;
const IMAGE = 'localhost/berth-busybox:latest';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A case of the engine matrix, or (off the lane) one skipped test that records no row. */
function systemdCase(engine: string, version: () => string, name: string, fn: (t: TestContext) => Promise<void>): void {
  if (skip) test(`${engine}: ${name}`, { skip }, () => {});
  else engineCase(engine, version, name, fn);
}

/** The engine's tools: a missing one fails the case (the lane is where they must be). */
function need(...tools: string[]): void {
  const missing = tools.filter((x) => !findExecutable(x));
  assert.deepEqual(missing, [], `not installed: ${missing.join(', ')} (bash scripts/setup.sh)`);
}


function systemctl(args: string[]): string {
  const r = sh('systemctl', ['--no-pager', ...args], { env: { ...process.env, SYSTEMD_PAGER: 'cat', SYSTEMD_COLORS: '0' } });
  assert.equal(r.code, 0, `systemctl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** systemctl show UNIT -p A,B: the values by name. */
function show(unit: string, props: string[]): Record<string, string> {
  return Object.fromEntries(systemctl(['show', unit, '-p', props.join(',')]).trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

/** What is left of a container the engine removed: berth's state and cgroups, units, processes in its cgroups. */
function leftovers(berthRoot: string, id: string): string[] {
  const out = berthLeftovers(berthRoot, id);
  for (const l of systemctl(['list-units', '--all', '--plain', '--no-legend']).split('\n')) if (l.includes(id)) out.push(`unit ${l.trim()}`);
  for (const d of findCgroupDirs((n) => n.includes(id))) if (!out.includes(`cgroup ${d}`)) out.push(`cgroup ${d}`);
  return out;
}

/** Nothing of the container is left (the engine's shim and cleanup finish just after the CLI returns). */
async function assertGone(berthRoot: string, id: string): Promise<void> {
  assert.ok(id, 'no container id');
  await waitFor(() => leftovers(berthRoot, id).length === 0);
  assert.deepEqual(leftovers(berthRoot, id), []);
}

const cgroupFile = (cgroup: string, f: string) => readFileSync(join('/sys/fs/cgroup', cgroup, f), 'utf8').trim();

/**
 * A daemon started in the background; `up` polls until it answers. dockerd gives
 * the containerd it starts a fixed time to answer, which a loaded machine's
 * emulated VM can exceed: that one failure is retried once.
 */
async function startDaemon(cmd: string, args: string[], log: string, up: () => boolean, env = process.env, retry = true): Promise<ChildProcess> {
  const fd = openSync(log, 'a');
  const child = spawn(cmd, args, { stdio: ['ignore', fd, fd], env });
  closeSync(fd);
  const ok = await waitFor(() => child.exitCode !== null || child.signalCode !== null || up(), 180_000);
  const tail = readFileSync(log, 'utf8').split('\n').slice(-30).join('\n');
  if (ok && child.exitCode !== null && retry && /timeout waiting for containerd to start/.test(tail)) return startDaemon(cmd, args, log, up, env, false);
  assert.ok(ok && child.exitCode === null && child.signalCode === null, `${cmd} did not come up:\n${tail}`);
  return child;
}

async function stopDaemon(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  if (!(await Promise.race([exited.then(() => true), sleep(60_000).then(() => false)]))) {
    child.kill('SIGKILL');
    await exited;
  }
}

// ---------------------------------------------------------------- docker

const DOCKER = '/usr/bin/docker';
const dockerVersion = () => /version ([^,\s]+)/.exec(sh('dockerd', ['--version']).stdout)?.[1] ?? 'unknown';

interface Docker {
  dir: string;
  berthRoot: string;
  proc: ChildProcess;
  run(args: string[], input?: string): ReturnType<typeof sh>;
}
let docker: Docker | undefined;

/** dockerd with a daemon.json that only makes berth the default runtime; private dirs under /tmp. */
async function dockerd(): Promise<Docker> {
  if (docker) return docker;
  need('dockerd', DOCKER, 'containerd', 'containerd-shim-runc-v2');
  const dir = mkdtempSync('/tmp/berth-sd-docker-');
  mkdirSync(join(dir, 'cli'));
  writeFileSync(join(dir, 'daemon.json'), JSON.stringify({ 'default-runtime': 'berth', runtimes: { berth: { path: BERTH } } }));
  const sock = join(dir, 'docker.sock');
  const run = (args: string[], input?: string) =>
    sh(DOCKER, ['-H', `unix://${sock}`, ...args], { env: { ...process.env, DOCKER_CONFIG: join(dir, 'cli') }, input, timeoutMs: 180_000 });
  const proc = await startDaemon('dockerd', [
    '--config-file', join(dir, 'daemon.json'), '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'),
    '--pidfile', join(dir, 'dockerd.pid'), '-H', `unix://${sock}`,
    // no networking of its own: containers run with --network none
    '--iptables=false', '--ip6tables=false', '--ip-masq=false', '--ip-forward=false', '--bridge=none', '--userland-proxy=false',
  ], join(dir, 'dockerd.log'), () => existsSync(sock) && run(['version']).code === 0);
  docker = { dir, berthRoot: join(dir, 'exec/runtime-runc/moby'), proc, run };
  const load = run(['load', '-i', busyboxImage(IMAGE)]);
  assert.equal(load.code, 0, `docker load: ${load.stderr}`);
  return docker;
}

systemdCase('docker (systemd host)', dockerVersion, 'docker info: cgroup driver systemd (its default here), cgroup v2, berth the default runtime; run --rm in a docker-ID.scope', async () => {
  const d = await dockerd();
  const info = d.run(['info', '--format', '{{.CgroupDriver}} {{.CgroupVersion}} {{.DefaultRuntime}}']);
  assert.equal(info.stdout.trim(), 'systemd 2 berth', info.stderr);
  const cidfile = join(d.dir, 'cid1');
  const r = d.run(['run', '--rm', '--cidfile', cidfile, '--network', 'none', '--cgroupns', 'host', IMAGE, 'sh', '-c', 'cat /proc/self/cgroup; exit 3']);
  const id = readFileSync(cidfile, 'utf8').trim();
  assert.equal(r.code, 3, r.stderr);
  assert.equal(r.stdout.trim(), `0::/system.slice/docker-${id}.scope`);
  await assertGone(d.berthRoot, id);
});

// The lane's Debian kernel runs AppArmor: dockerd loads its docker-default profile
// itself and asks the runtime for it (process.apparmorProfile) in every container.
systemdCase('docker (systemd host)', dockerVersion, 'AppArmor: docker-default confines the container (its label in /proc/self/attr/current)', async () => {
  const d = await dockerd();
  const info = d.run(['info', '--format', '{{json .SecurityOptions}}']);
  assert.match(info.stdout, /name=apparmor/, `docker sees no AppArmor: ${info.stdout} ${info.stderr}`);
  const r = d.run(['run', '--rm', '--network', 'none', IMAGE, 'cat', '/proc/self/attr/current']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'docker-default (enforce)');
});

systemdCase('docker (systemd host)', dockerVersion, 'run -d --memory --cpus --pids-limit: the docker-ID.scope unit and its files; exec; update; pause/unpause; stop; rm', async (t) => {
  const d = await dockerd();
  const r = d.run(['run', '-d', '--network', 'none', '--memory', '64m', '--cpus', '0.5', '--pids-limit', '30', IMAGE, 'sleep', '1000']);
  assert.equal(r.code, 0, r.stderr);
  const id = r.stdout.trim();
  t.after(() => void d.run(['rm', '-f', id]));
  const unit = `docker-${id}.scope`;
  const cg = `system.slice/${unit}`;
  assert.deepEqual(show(unit, ['ActiveState', 'MemoryMax', 'TasksMax', 'CPUQuotaPerSecUSec']), { ActiveState: 'active', MemoryMax: String(64 << 20), TasksMax: '30', CPUQuotaPerSecUSec: '500ms' });
  assert.deepEqual(['memory.max', 'pids.max', 'cpu.max'].map((f) => cgroupFile(cg, f)), [String(64 << 20), '30', '50000 100000']);
  const ex = d.run(['exec', id, 'sh', '-c', 'echo exec ok; exit 4']);
  assert.equal(ex.code, 4, ex.stderr);
  assert.equal(ex.stdout, 'exec ok\n');
  const u = d.run(['update', '--memory', '128m', '--memory-swap', '-1', '--pids-limit', '40', id]);
  assert.equal(u.code, 0, u.stderr);
  assert.deepEqual(show(unit, ['MemoryMax', 'TasksMax']), { MemoryMax: String(128 << 20), TasksMax: '40' });
  assert.deepEqual(['memory.max', 'pids.max'].map((f) => cgroupFile(cg, f)), [String(128 << 20), '40']);
  assert.equal(d.run(['pause', id]).code, 0);
  assert.equal(d.run(['inspect', '-f', '{{.State.Status}}', id]).stdout.trim(), 'paused');
  assert.match(cgroupFile(cg, 'cgroup.events'), /^frozen 1$/m);
  assert.equal(d.run(['unpause', id]).code, 0);
  assert.match(cgroupFile(cg, 'cgroup.events'), /^frozen 0$/m);
  assert.equal(d.run(['stop', '-t', '1', id]).code, 0);
  assert.equal(d.run(['rm', id]).code, 0);
  await assertGone(d.berthRoot, id);
});

// ---------------------------------------------------------------- podman

const podmanVersion = () => sh('podman', ['--version']).stdout.replace(/^podman version /, '').trim() || 'not installed';
let podmanDir: string | undefined;

/** podman with its own storage and nothing configured but the runtime; its cgroup manager is its default. */
function podman(args: string[]) {
  need('podman', 'conmon');
  if (!podmanDir) {
    podmanDir = mkdtempSync('/tmp/berth-sd-podman-');
    for (const d of ['root', 'runroot', 'tmp']) mkdirSync(join(podmanDir, d));
    writeFileSync(join(podmanDir, 'containers.conf'), '[engine]\nevents_logger = "file"\n');
    writeFileSync(join(podmanDir, 'storage.conf'), `[storage]\ndriver = "overlay"\nrunroot = "${podmanDir}/runroot"\ngraphroot = "${podmanDir}/root"\n`);
  }
  const env = { ...process.env, CONTAINERS_CONF: join(podmanDir, 'containers.conf'), CONTAINERS_STORAGE_CONF: join(podmanDir, 'storage.conf') };
  return sh('podman', ['--tmpdir', join(podmanDir, 'tmp'), '--runtime', BERTH, ...args], { env, timeoutMs: 180_000 });
}
// podman passes berth no --root
const PODMAN_BERTH_ROOT = '/run/berth';

systemdCase('podman (systemd host)', podmanVersion, 'cgroup manager systemd (its default); run --rm in machine.slice/libpod-ID.scope: output, exit code', async () => {
  assert.equal(podman(['info', '--format', '{{.Host.CgroupManager}} {{.Host.CgroupsVersion}}']).stdout.trim(), 'systemd v2');
  const load = podman(['load', '-i', busyboxImage(IMAGE)]);
  assert.equal(load.code, 0, load.stderr);
  const cidfile = join(podmanDir!, 'tmp', 'cid1');
  const r = podman(['run', '--rm', '--cidfile', cidfile, '--network', 'none', '--cgroupns', 'host', IMAGE, 'sh', '-c', 'cat /proc/self/cgroup; exit 4']);
  const id = readFileSync(cidfile, 'utf8').trim();
  assert.equal(r.code, 4, r.stderr);
  assert.equal(r.stdout.trim(), `0::/machine.slice/libpod-${id}.scope`);
  await assertGone(PODMAN_BERTH_ROOT, id);
});

systemdCase('podman (systemd host)', podmanVersion, 'run -d --memory: the libpod-ID.scope unit has it; exec; stop; rm -f', async (t) => {
  const r = podman(['run', '-d', '--network', 'none', '--memory', '64m', IMAGE, 'sleep', '1000']);
  assert.equal(r.code, 0, r.stderr);
  const id = r.stdout.trim();
  t.after(() => void podman(['rm', '-f', '-t', '0', id]));
  const unit = `libpod-${id}.scope`;
  assert.deepEqual(show(unit, ['ActiveState', 'Slice', 'MemoryMax']), { ActiveState: 'active', Slice: 'machine.slice', MemoryMax: String(64 << 20) });
  assert.equal(cgroupFile(`machine.slice/${unit}`, 'memory.max'), String(64 << 20));
  const ex = podman(['exec', id, 'sh', '-c', 'echo exec ok']);
  assert.equal(ex.code, 0, ex.stderr);
  assert.equal(ex.stdout, 'exec ok\n');
  // `sleep` as PID 1 ignores TERM: stop waits its timeout, then kills
  assert.equal(podman(['stop', '-t', '1', id]).code, 0);
  assert.equal(podman(['rm', '-f', '-t', '0', id]).code, 0);
  await assertGone(PODMAN_BERTH_ROOT, id);
});

// ---------------------------------------------------------------- containerd's CRI

const containerdVersion = () => sh('containerd', ['--version']).stdout.trim().split(/\s+/)[2] ?? 'not installed';
const PAUSE_IMAGE = 'localhost/berth-pause:latest';
let ctd: { dir: string; socket: string; proc: ChildProcess; berthRoot: string } | undefined;

/** containerd with one CRI runtime handler, berth, with SystemdCgroup = true (what kubelet's systemd driver wants). */
async function containerd() {
  if (ctd) return ctd;
  need('containerd', 'ctr', 'containerd-shim-runc-v2');
  const dir = mkdtempSync('/tmp/berth-sd-containerd-');
  const socket = join(dir, 'containerd.sock');
  const h = '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.berth';
  writeFileSync(join(dir, 'config.toml'), [
    'version = 2', `root = "${dir}/root"`, `state = "${dir}/state"`,
    '[grpc]', `  address = "${socket}"`, '[ttrpc]', `  address = "${socket}.ttrpc"`,
    '[plugins]', '  [plugins."io.containerd.grpc.v1.cri"]',
    '    disable_tcp_service = true', '    stream_server_address = "127.0.0.1"', '    stream_server_port = "0"',
    `    sandbox_image = "${PAUSE_IMAGE}"`,
    '    [plugins."io.containerd.grpc.v1.cri".cni]', `      bin_dir = "${dir}/cni-bin"`, `      conf_dir = "${dir}/cni-conf"`,
    '    [plugins."io.containerd.grpc.v1.cri".containerd]', '      default_runtime_name = "berth"',
    `      ${h}]`, '        runtime_type = "io.containerd.runc.v2"',
    `      ${h}.options]`, `          BinaryName = "${BERTH}"`, `          Root = "${dir}/runc-root"`, '          SystemdCgroup = true',
    '  [plugins."io.containerd.internal.v1.opt"]', `    path = "${dir}/opt"`, '',
  ].join('\n'));
  mkdirSync(join(dir, 'tmp'));
  const proc = await startDaemon('containerd', ['--config', join(dir, 'config.toml')], join(dir, 'containerd.log'),
    () => existsSync(socket) && sh('ctr', ['--address', socket, 'version']).code === 0, { ...process.env, TMPDIR: join(dir, 'tmp') });
  ctd = { dir, socket, proc, berthRoot: join(dir, 'runc-root', 'k8s.io') };
  for (const tar of [busyboxImage(IMAGE), busyboxImage(PAUSE_IMAGE, ['/bin/sleep', '2147483647'])]) {
    const r = sh('ctr', ['--address', socket, '--namespace', 'k8s.io', 'images', 'import', tar]);
    assert.equal(r.code, 0, `ctr images import: ${r.stderr}`);
  }
  return ctd;
}

const text = (m: Map<number, bigint | Buffer>, f: number) => (m.get(f) as Buffer | undefined)?.toString() ?? '';

systemdCase('containerd CRI (systemd host)', containerdVersion, 'SystemdCgroup = true: pod and container scopes in a kubepods slice, resources, ExecSync, UpdateContainerResources, stop, remove', async (t) => {
  const d = await containerd();
  const cri = new CriClient(d.socket);
  const rt = (method: string, ...fields: Buffer[]) => cri.call('RuntimeService', method, Buffer.concat(fields));
  // what kubelet's systemd driver gives a BestEffort pod
  const slice = `kubepods-besteffort-podberth${process.pid}.slice`;
  const sliceDir = `kubepods.slice/kubepods-besteffort.slice/${slice}`;
  // PodSandboxConfig: metadata, log_directory, linux { cgroup_parent, security_context { namespace_options { network NODE, pid CONTAINER } } }
  const config = Buffer.concat([
    pb.msg(1, pb.str(1, 'pod1'), pb.str(2, `uid-pod1-${process.pid}`), pb.str(3, 'default')),
    pb.str(3, join(d.dir, 'pod-logs')),
    pb.msg(8, pb.str(1, slice), pb.msg(2, pb.msg(1, pb.int(1, 2), pb.int(2, 1)))),
  ]);
  let pod = '';
  let c = '';
  t.after(async () => {
    if (c) await rt('StopContainer', pb.str(1, c), pb.int(2, 0)).catch(() => {});
    if (c) await rt('RemoveContainer', pb.str(1, c)).catch(() => {});
    if (pod) await rt('StopPodSandbox', pb.str(1, pod)).catch(() => {});
    if (pod) await rt('RemovePodSandbox', pb.str(1, pod)).catch(() => {});
    cri.close();
    // kubelet removes the pod's slices; here the test does
    spawnSync('systemctl', ['stop', slice, 'kubepods-besteffort.slice', 'kubepods.slice']);
  });
  pod = text(await rt('RunPodSandbox', pb.msg(1, config), pb.str(2, 'berth')), 1);
  assert.match(pod, /^[0-9a-f]{64}$/);
  assert.equal(show(`cri-containerd-${pod}.scope`, ['Slice']).Slice, slice, 'the sandbox is a scope in the pod slice');
  // ContainerConfig: metadata, image, command, log_path, linux { resources { cpu_shares, memory_limit_in_bytes } }
  const cc = pb.msg(2, pb.msg(1, pb.str(1, 'c1')), pb.msg(2, pb.str(1, IMAGE)), pb.strs(3, ['sh', '-c', 'trap "exit 0" TERM; while :; do sleep 1; done']),
    pb.str(11, 'c1.log'), pb.msg(15, pb.msg(1, pb.int(3, 256), pb.int(4, 64 << 20))));
  c = text(await rt('CreateContainer', pb.str(1, pod), cc, pb.msg(3, config)), 1);
  await rt('StartContainer', pb.str(1, c));
  const unit = `cri-containerd-${c}.scope`;
  assert.deepEqual(show(unit, ['ActiveState', 'Slice', 'MemoryMax', 'CPUWeight']), { ActiveState: 'active', Slice: slice, MemoryMax: String(64 << 20), CPUWeight: '10' });
  assert.deepEqual(['memory.max', 'cpu.weight'].map((f) => cgroupFile(`${sliceDir}/${unit}`, f)), [String(64 << 20), '10']);
  const ex = await rt('ExecSync', pb.str(1, c), pb.strs(2, ['sh', '-c', 'cat /proc/self/cgroup; exit 3']), pb.int(3, 60));
  assert.equal(Number(ex.get(3) ?? 0n), 3, 'ExecSync exit code');
  assert.match(text(ex, 1), new RegExp(`^0::/(|${sliceDir}/${unit})\n$`), 'in its own cgroup (namespace)');
  await rt('UpdateContainerResources', pb.str(1, c), pb.msg(2, pb.int(3, 512), pb.int(4, 128 << 20)));
  assert.deepEqual(show(unit, ['MemoryMax', 'CPUWeight']), { MemoryMax: String(128 << 20), CPUWeight: '20' });
  assert.deepEqual(['memory.max', 'cpu.weight'].map((f) => cgroupFile(`${sliceDir}/${unit}`, f)), [String(128 << 20), '20']);
  await rt('StopContainer', pb.str(1, c), pb.int(2, 30));
  const status = decode((await rt('ContainerStatus', pb.str(1, c))).get(1) as Buffer);
  assert.equal(status.get(3), 2n, 'container exited');
  await rt('RemoveContainer', pb.str(1, c));
  await rt('StopPodSandbox', pb.str(1, pod));
  await rt('RemovePodSandbox', pb.str(1, pod));
  for (const x of [c, pod]) await assertGone(d.berthRoot, x);
  c = pod = '';
});

after(async () => {
  const left: string[] = [];
  if (docker) {
    await stopDaemon(docker.proc);
    left.push(...(await removePrivateDir(docker.dir, 15_000)));
  }
  if (podmanDir) left.push(...(await removePrivateDir(podmanDir, 15_000)));
  if (ctd) {
    await stopDaemon(ctd.proc);
    left.push(...(await removePrivateDir(ctd.dir, 15_000)));
  }
  assert.deepEqual(left, [], 'what the engines left behind once stopped');
});

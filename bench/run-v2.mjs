#!/usr/bin/env node
// `run` on a pure cgroup v2 host: berth, runc and crun side by side, interleaved.
// Meant for the cgroup v2 VM (bench/cgroup-v2.sh boots it and runs this inside);
// it refuses to run where /sys/fs/cgroup is not cgroup2. With BENCH_SYSTEMD=1
// (bench/systemd.sh: the systemd lane's VM) every run has --systemd-cgroup, and
// `podman run --rm` in podman's default (systemd) configuration is timed with
// each runtime too.
//
//   node bench/run-v2.mjs [--runs N]     (default 10)
//
// Metrics (one untimed warm-up each, then N timed runs; wall-clock from spawn to
// exit of `run` of a busybox ["true"] bundle in the foreground; median and p90):
//   run           no resources
//   run + limits  memory, pids, cpu and a device rule: the cgroup writes and the
//                 eBPF device program on v2
// The VM runs under QEMU's TCG here: compare runtimes within a run, not its
// absolute times with the host's.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseBenchArgs, stats } from './common.mjs';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = parseBenchArgs(process.argv.slice(2), { name: 'run-v2', runs: 10, timeout: 60 }).runs;
const CGROUP2_MAGIC = 0x63677270;
if (statfsSync('/sys/fs/cgroup').type !== CGROUP2_MAGIC) {
  process.stderr.write('run-v2: /sys/fs/cgroup is not cgroup2; run it in the VM: bash bench/cgroup-v2.sh\n');
  process.exit(1);
}
const systemd = process.env.BENCH_SYSTEMD === '1';
if (systemd && !existsSync('/run/systemd/system')) {
  process.stderr.write('run-v2: BENCH_SYSTEMD=1 but systemd is not running; run it in the VM: bash bench/systemd.sh\n');
  process.exit(1);
}

const runtimes = [
  ['berth', process.env.BERTH ?? join(repo, 'bin/berth')],
  ['runc', process.env.RUNC ?? '/usr/sbin/runc'],
  ['crun', process.env.CRUN ?? '/usr/bin/crun'],
].filter(([name, bin]) => {
  if (existsSync(bin)) return true;
  process.stderr.write(`run-v2: ${name} (${bin}) is not installed; left out\n`);
  return false;
});

function sh(bin, args) {
  const r = spawnSync(bin, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`${bin} ${args.join(' ')}: exit ${r.status}: ${r.stderr ?? ''}${r.error ?? ''}`);
  return r.stdout;
}

const work = mkdtempSync(join(tmpdir(), 'berth-bench-v2-'));
const cell = (xs) => `${stats(xs).median.toFixed(1)} / ${stats(xs).p90.toFixed(1)}`.padEnd(20);
let seq = 0;
try {
  const rootfs = join(work, 'rootfs');
  mkdirSync(rootfs);
  sh('sh', [join(repo, 'scripts/make-rootfs.sh'), rootfs]);
  const bundle = (name, resources) => {
    const dir = join(work, name);
    mkdirSync(dir);
    sh('/usr/sbin/runc', ['spec', '--bundle', dir]);
    const spec = JSON.parse(sh('cat', [join(dir, 'config.json')]));
    spec.process.terminal = false;
    spec.process.args = ['true'];
    spec.root = { path: rootfs, readonly: true };
    if (resources) spec.linux.resources = resources;
    writeFileSync(join(dir, 'config.json'), JSON.stringify(spec));
    return dir;
  };
  const bundles = {
    run: bundle('plain'),
    'run + limits': bundle('limits', {
      memory: { limit: 64 << 20 },
      pids: { limit: 64 },
      cpu: { shares: 512, quota: 50000, period: 100000 },
      devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }],
    }),
  };
  const versions = runtimes.map(([name, bin]) => `${name}: ${sh(bin, ['--version']).split('\n')[0]}`);
  console.log(`run${systemd ? ' --systemd-cgroup' : ''} on cgroup v2 (kernel ${release()}), ${RUNS} runs each, ms median / p90`);
  console.log(versions.join('; '));
  console.log(`${'metric'.padEnd(16)}${runtimes.map(([n]) => n.padEnd(20)).join('')}`);
  for (const [metric, dir] of Object.entries(bundles)) {
    const res = Object.fromEntries(runtimes.map(([n]) => [n, []]));
    for (let i = -1; i < RUNS; i++)
      for (const [name, bin] of runtimes) {
        const root = join(work, `root-${name}`);
        const t = process.hrtime.bigint();
        sh(bin, [...(systemd ? ['--systemd-cgroup'] : []), '--root', root, 'run', '--bundle', dir, `bench-v2-${process.pid}-${name}-${++seq}`]);
        if (i >= 0) res[name].push(Number(process.hrtime.bigint() - t) / 1e6);
      }
    console.log(`${metric.padEnd(16)}${runtimes.map(([n]) => cell(res[n])).join('')}`);
  }
  if (systemd && existsSync('/usr/bin/podman')) {
    // podman with its own storage, nothing configured but the runtime (cgroup manager: its default, systemd)
    for (const d of ['root', 'runroot', 'tmp']) mkdirSync(join(work, `podman-${d}`));
    writeFileSync(join(work, 'containers.conf'), '[engine]\nevents_logger = "file"\n');
    writeFileSync(join(work, 'storage.conf'), `[storage]\ndriver = "overlay"\nrunroot = "${work}/podman-runroot"\ngraphroot = "${work}/podman-root"\n`);
    process.env.CONTAINERS_CONF = join(work, 'containers.conf');
    process.env.CONTAINERS_STORAGE_CONF = join(work, 'storage.conf');
    const podman = (bin, args) => sh('podman', ['--tmpdir', join(work, 'podman-tmp'), '--runtime', bin, ...args]);
    sh('tar', ['-C', rootfs, '-cf', join(work, 'rootfs.tar'), '.']);
    podman(runtimes[0][1], ['import', join(work, 'rootfs.tar'), 'localhost/bench:latest']);
    const res = Object.fromEntries(runtimes.map(([n]) => [n, []]));
    for (let i = -1; i < RUNS; i++)
      for (const [name, bin] of runtimes) {
        const t = process.hrtime.bigint();
        podman(bin, ['run', '--rm', '--network', 'none', 'localhost/bench:latest', 'true']);
        if (i >= 0) res[name].push(Number(process.hrtime.bigint() - t) / 1e6);
      }
    console.log(`${'podman run --rm'.padEnd(16)}${runtimes.map(([n]) => cell(res[n])).join('')}`);
    podman(runtimes[0][1], ['rmi', '-a', '-f']);
    sh('sh', ['-c', `umount -R ${work}/podman-root/overlay 2>/dev/null; true`]);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

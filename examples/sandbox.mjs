// Runs an untrusted shell snippet in a throwaway busybox container: no network,
// a read-only root, 64 MiB of memory, 32 processes, Docker's default seccomp
// profile, no capabilities, a 10 s deadline; prints what it wrote and its exit
// status, and leaves nothing behind. As root:
//   node examples/sandbox.mjs ROOTFS 'echo hello from $(hostname)'
// ROOTFS is a busybox root filesystem (bash scripts/make-rootfs.sh DIR makes one).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Runtime } from 'berth';

const [rootfs, snippet = 'echo hello; exit 3'] = process.argv.slice(2);
const seccomp = JSON.parse(readFileSync(new URL('./docker-default-seccomp.json', import.meta.url), 'utf8'));

const dir = mkdtempSync(join(tmpdir(), 'sandbox-'));
try {
  // The bundle (config.json; the rootfs stays where it is, read-only) and the
  // runtime's state live in one temporary directory.
  writeFileSync(join(dir, 'config.json'), JSON.stringify({
    ociVersion: '1.2.0',
    process: {
      args: ['sh', '-c', snippet], cwd: '/', env: ['PATH=/bin'],
      user: { uid: 65534, gid: 65534 }, noNewPrivileges: true, capabilities: {},
    },
    root: { path: rootfs, readonly: true },
    hostname: 'sandbox',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'mode=755', 'size=64k'] },
      { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'size=8m'] },
    ],
    linux: {
      namespaces: ['pid', 'network', 'ipc', 'uts', 'mount', 'cgroup'].map((type) => ({ type })),
      resources: { memory: { limit: 64 << 20, swap: 64 << 20 }, pids: { limit: 32 } },
      maskedPaths: ['/proc/kcore', '/proc/keys', '/proc/timer_list', '/sys/firmware'],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
      seccomp,
    },
  }));
  const runtime = new Runtime({ root: join(dir, 'state') });
  const { status, stdout, stderr } = await runtime.run(`sandbox-${process.pid}`, {
    bundle: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    signal: AbortSignal.timeout(10_000), // then killed and removed: run rejects
  });
  process.stdout.write(`stdout:\n${stdout}stderr:\n${stderr}exit status: ${status}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

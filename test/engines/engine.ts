// Shared pieces of the engine tests: real podman, containerd and dockerd from
// Debian's packages, each pointed at bin/berth with nothing changed in the engine
// but the runtime path. Each engine runs privately (its own root, state and
// socket under /tmp) and is stopped when its test file ends.
//
// Every case goes through engineCase(), which records pass or fail for the
// README's engine matrix (kept by scripts/run-tests.mjs; `npm run engine-matrix` writes it).
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { sharedRootfs } from '../fixtures/bundle';
import { BERTH } from '../fixtures/runtime';
import { findCgroupDirs } from '../fixtures/leftovers';
import { waitFor } from '../fixtures/wait';

/**
 * The runtime binary the engines are pointed at: bin/berth, or the one named by
 * BERTH_ENGINE_RUNTIME (bench/engine-tests.mjs times the same cases with runc).
 */
export const ENGINE_RUNTIME = process.env.BERTH_ENGINE_RUNTIME || BERTH;
/** Its name (berth, runc), which also names its default --root: /run/<name>, $XDG_RUNTIME_DIR/<name> rootless. */
export const ENGINE_RUNTIME_NAME = basename(ENGINE_RUNTIME);
/** Its default --root as root: where podman's containers keep their state. */
export const ENGINE_RUNTIME_ROOT = `/run/${ENGINE_RUNTIME_NAME}`;

/** One row of the engine matrix. */
export interface MatrixRow {
  engine: string;
  version: string;
  case: string;
  result: 'pass' | 'fail' | 'skip';
}

/**
 * Registers a test that is also a row of the matrix. `version` is read lazily
 * (the engine may be missing, and then the case fails on CI or is skipped).
 */
export function engineCase(
  engine: string,
  version: () => string,
  name: string,
  fn: (t: TestContext) => Promise<void> | void,
): void {
  test(`${engine}: ${name}`, async (t) => {
    let result: MatrixRow['result'] = 'fail';
    try {
      await fn(t);
      // node:test has no public "was skipped" flag; requireEngine marks it here.
      result = skipped.has(t) ? 'skip' : 'pass';
    } finally {
      let v = '';
      try {
        v = version();
      } catch {
        v = 'not installed';
      }
      recordRow({ engine, version: v, case: name, result });
    }
  });
}

const skipped = new WeakSet<TestContext>();

/**
 * A case of berth's that runc 1.1 does not pass on this host: skipped, with why,
 * when the engines run another runtime (BERTH_ENGINE_RUNTIME); returns false then.
 */
export function berthOnly(t: TestContext, why: string): boolean {
  if (ENGINE_RUNTIME === BERTH) return true;
  skipped.add(t);
  t.skip(`berth only (${ENGINE_RUNTIME_NAME} runs the engine): ${why}`);
  return false;
}

/**
 * The engine's binaries must be installed: on CI (CI=true) a missing one fails
 * the case, elsewhere it is skipped (returns false so the case can return).
 */
export function requireEngine(t: TestContext, ...tools: string[]): boolean {
  const missing = tools.filter((b) => !findExecutable(b));
  if (missing.length === 0) return true;
  const msg = `${missing.join(', ')} not installed (apt-get install -y podman containerd docker.io)`;
  if (process.env.CI === 'true') throw new Error(`${msg}; required on CI`);
  skipped.add(t);
  t.skip(msg);
  return false;
}

/** An executable by absolute path, or looked up in PATH and the sbin dirs. */
export function findExecutable(name: string): string | undefined {
  const dirs = name.startsWith('/') ? [''] : [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/sbin', '/usr/bin'];
  for (const d of dirs) {
    const p = d ? join(d, name) : name;
    try {
      if (statSync(p).isFile()) return p;
    } catch {
      // next
    }
  }
  return undefined;
}

function recordRow(row: MatrixRow): void {
  // scripts/run-tests.mjs names the directory; a test run outside it records nothing,
  // nor does one with another runtime: the matrix is berth's.
  const dir = process.env.BERTH_ENGINE_MATRIX_DIR;
  if (!dir || ENGINE_RUNTIME !== BERTH) return;
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${row.engine}.jsonl`);
  writeFileSync(file, `${JSON.stringify(row)}\n`, { flag: 'a' });
}

/**
 * A one-layer busybox image (the tests' shared rootfs) as a tar that is both an
 * OCI image layout and a docker-archive, so `podman load`, `docker load` and
 * `ctr images import` all take it. Built once per rootfs into /tmp and reused.
 * `cmd` is the image's default command.
 */
export function busyboxImage(ref = 'localhost/berth-busybox:latest', cmd: string[] = ['/bin/sh']): string {
  const rootfs = sharedRootfs();
  const key = createHash('sha256').update(rootfs).update(ref).update(JSON.stringify(cmd)).digest('hex').slice(0, 16);
  const out = `/tmp/berth-engine-image-${key}.tar`;
  if (existsSync(out)) return out;
  const work = mkdtempSync('/tmp/berth-engine-image-');
  try {
    const blobs = join(work, 'blobs/sha256');
    mkdirSync(blobs, { recursive: true });
    const blob = (data: Buffer): { digest: string; size: number } => {
      const hex = createHash('sha256').update(data).digest('hex');
      writeFileSync(join(blobs, hex), data);
      return { digest: `sha256:${hex}`, size: data.length };
    };
    // A reproducible layer: sorted names, numeric root owner, fixed mtime.
    const layer = execFileSync(
      'tar',
      ['-C', rootfs, '--numeric-owner', '--owner=0', '--group=0', '--sort=name', '--mtime=@0', '--exclude=./.berth-rootfs-complete', '-cf', '-', '.'],
      { maxBuffer: 1 << 28 },
    );
    const l = blob(layer);
    const config = blob(
      Buffer.from(
        JSON.stringify({
          architecture: 'amd64',
          os: 'linux',
          config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: cmd },
          rootfs: { type: 'layers', diff_ids: [l.digest] },
        }),
      ),
    );
    const manifest = blob(
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
          layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...l }],
        }),
      ),
    );
    writeFileSync(
      join(work, 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        manifests: [
          {
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            ...manifest,
            annotations: { 'io.containerd.image.name': ref, 'org.opencontainers.image.ref.name': ref.replace(/.*:/, '') },
          },
        ],
      }),
    );
    writeFileSync(join(work, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    const hexOf = (d: string) => d.slice('sha256:'.length);
    writeFileSync(
      join(work, 'manifest.json'),
      JSON.stringify([{ Config: `blobs/sha256/${hexOf(config.digest)}`, RepoTags: [ref], Layers: [`blobs/sha256/${hexOf(l.digest)}`] }]),
    );
    const tmp = `${out}.tmp-${process.pid}`;
    execFileSync('tar', ['-C', work, '-cf', tmp, 'oci-layout', 'index.json', 'manifest.json', 'blobs']);
    renameSync(tmp, out);
    return out;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * What a berth container left on the host after the engine removed it: its
 * state dir under the engine's berth --root, cgroup dirs whose name holds the
 * id, mounts and processes that mention it.
 */
export function berthLeftovers(berthRoot: string, id: string): string[] {
  const out: string[] = [];
  if (existsSync(join(berthRoot, id))) out.push(`state dir ${join(berthRoot, id)}`);
  for (const d of findCgroupDirs((n) => n.includes(id))) out.push(`cgroup ${d}`);
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n'))
    if (line.includes(id)) out.push(`mount ${line}`);
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(id)) out.push(`process ${pid}: ${cmd}`);
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** Runs a command, returning its status and output; never throws. */
export function sh(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}) {
  const r = spawnSync(cmd, args, {
    env: opts.env ?? process.env,
    input: opts.input,
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 120_000,
    maxBuffer: 1 << 26,
  });
  return { code: r.status ?? (r.signal ? 128 : -1), stdout: r.stdout ?? '', stderr: r.stderr ?? '', error: r.error };
}

/** Mount points at or below dir, deepest first. */
export function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m): m is string => !!m && (m === dir || m.startsWith(`${dir}/`)))
    .sort((a, b) => b.length - a.length);
}

/** Host processes whose command line names dir (an engine's daemons, shims, helpers). */
export function processesNaming(dir: string): { pid: number; cmd: string }[] {
  const out: { pid: number; cmd: string }[] = [];
  for (const p of readdirSync('/proc').filter((n) => /^\d+$/.test(n) && Number(n) !== process.pid)) {
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(dir)) out.push({ pid: Number(p), cmd });
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/**
 * An engine's private dir, once the engine has stopped: waits (up to waitMs) for the
 * processes naming it to exit, kills those that do not, unmounts what is mounted
 * below it and removes it. Returns what was left (what had to be killed or unmounted).
 */
export async function removePrivateDir(dir: string, waitMs: number): Promise<string[]> {
  const left: string[] = [];
  await waitFor(() => processesNaming(dir).length === 0, waitMs);
  for (const p of processesNaming(dir)) {
    left.push(`process ${p.pid}: ${p.cmd}`);
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  for (const m of mountsUnder(dir)) {
    left.push(`mount ${m}`);
    spawnSync('umount', ['-l', m]);
  }
  rmSync(dir, { recursive: true, force: true });
  return left;
}

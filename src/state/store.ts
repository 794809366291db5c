// The container store under --root: one directory per container holding state.json
// (written atomically: temp file, fsync, rename) and, between create and start, the
// exec fifo. Status is never stored: it is derived from the live init process.
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync, unlinkSync, writeSync, constants as C } from 'node:fs';
import { join } from 'node:path';
import { BerthError, errnoText, ExistsError, NotFoundError } from '../errors';
import { isFrozen } from '../cgroups/freeze';
import { isAlive } from './proc';

export type Status = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

export interface HookSpec { path: string; args?: string[]; env?: string[]; timeout?: number }

/** What berth keeps about a container (state.json in its directory). */
export interface Saved {
  ociVersion: string;
  id: string;
  bundle: string;
  rootfs: string;
  created: string;
  owner: string;
  annotations?: Record<string, string>;
  /** 'creating' until the init is set up and committed; then 'created'. */
  phase: 'creating' | 'created';
  pid: number;
  pidStartTime: string;
  /** Cgroup directories holding the container, and those berth made (removed on delete). */
  cgroups: { dirs: string[]; made: string[]; freezer?: string; unified?: string; systemd?: { unit: string; slice: string; user?: boolean } };
  hooks: { poststart?: HookSpec[]; poststop?: HookSpec[] };
  /** The init has its own pid namespace: killing it ends every process. */
  ownPidNs: boolean;
  /** The config has no process: start must refuse (config.md). */
  noProcess?: boolean;
  /** What `exec` takes from the config as it was at create (later edits of config.json
   * must not affect the container): the process as defaults, the seccomp profile. */
  process?: import('../spec/types').Process;
  seccomp?: NonNullable<import('../spec/types').Spec['linux']>['seccomp'];
  /** linux.resources as created, then as each `update` left them. */
  resources?: import('../spec/types').LinuxResources;
  /** What checkpoint describes to CRIU (external mounts, namespaces), as created. */
  criu?: import('../checkpoint/layout').CriuLayout;
}

const ID_RE = /^[\w+\-.]+$/;

export function checkId(id: string): void {
  if (!ID_RE.test(id) || id === '.' || id === '..' || id.length > 1024)
    throw new BerthError(`invalid container id ${JSON.stringify(id)}: use letters, digits, '_', '+', '-' and '.'`);
}

export function containerDir(root: string, id: string): string {
  checkId(id);
  return join(root, id);
}

export class Container {
  constructor(
    readonly dir: string,
    public saved: Saved,
  ) {}

  get id(): string {
    return this.saved.id;
  }
  get fifo(): string {
    return join(this.dir, 'exec.fifo');
  }

  status(): Status {
    const s = this.saved;
    if (s.phase === 'creating') return isAlive(s.pid, s.pidStartTime) || s.pid === 0 ? 'creating' : 'stopped';
    if (!isAlive(s.pid, s.pidStartTime)) return 'stopped';
    // As runc: a frozen container is paused, even one not started yet.
    if (isFrozen(s.cgroups)) return 'paused';
    if (existsSync(this.fifo)) return 'created';
    return 'running';
  }

  /** The state as `berth state` prints it: the OCI fields plus runc's extras. */
  publicState(): Record<string, unknown> {
    const s = this.saved;
    const status = this.status();
    const out: Record<string, unknown> = {
      ociVersion: s.ociVersion,
      id: s.id,
      pid: status === 'stopped' ? 0 : s.pid,
      status,
      bundle: s.bundle,
      rootfs: s.rootfs,
      created: s.created,
      owner: s.owner,
    };
    if (s.annotations && Object.keys(s.annotations).length) out.annotations = s.annotations;
    return out;
  }

  save(): void {
    writeAtomic(join(this.dir, 'state.json'), JSON.stringify(this.saved));
  }

  /** Holds an flock on the container directory until release() (blocks if taken). */
  lock(): () => void {
    const unlock = lockDir(this.dir);
    if (!unlock) throw new NotFoundError(this.id);
    return unlock;
  }

  remove(): void {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return; // gone already
    }
    // A restore killed midway leaves the rootfs bound at criu-root: detach it, never delete through it.
    if (names.includes('criu-root')) (require('../native/addon') as typeof import('../native/addon')).native().detachMount(join(this.dir, 'criu-root'));
    // Its files, then itself; rmSync (whose recursion Node loads on first use) only for what else is there.
    try {
      for (const n of names) unlinkSync(join(this.dir, n));
      rmdirSync(this.dir);
    } catch {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}

/**
 * Now as Date's toISOString() has it (UTC, milliseconds), computed from Date.now():
 * a process's first Date object reads the local time zone (/etc/localtime, ~0.2 ms),
 * which a UTC time does not need. Days to a civil date: H. Hinnant's algorithm.
 */
export function isoTime(ms = Date.now()): string {
  const days = Math.floor(ms / 86_400_000);
  const z = days + 719_468; // days since 0000-03-01
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  const t = ms - days * 86_400_000;
  const two = (n: number) => (n < 10 ? `0${n}` : `${n}`);
  const ms3 = t % 1000;
  return `${year}-${two(month)}-${two(doy - Math.floor((153 * mp + 2) / 5) + 1)}T${two(Math.floor(t / 3_600_000))}:${two(Math.floor(t / 60_000) % 60)}:${two(Math.floor(t / 1000) % 60)}.${ms3 < 10 ? '00' : ms3 < 100 ? '0' : ''}${ms3}Z`;
}

// Readers see the old file or the new one, never a part: rename is atomic. No
// fsync: state lives on tmpfs (/run) and no container outlives a reboot anyway.
export function writeAtomic(path: string, data: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, data);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/**
 * Takes the flock on a container's directory (waiting for whoever holds it: a
 * create in flight holds it from the moment it claims the id) and returns its
 * release, or undefined when there is no such directory. A directory removed
 * while we waited (by the create or delete that held it) is not the container's
 * any more: then we look again.
 */
export function lockDir(dir: string): (() => void) | undefined {
  for (;;) {
    let fd: number;
    try {
      fd = openSync(dir, C.O_RDONLY | C.O_DIRECTORY);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new BerthError(`opening the state directory ${dir}: ${errnoText(e)}`);
    }
    try {
      const addon = (require('../native/addon') as typeof import('../native/addon')).native();
      addon.flock(fd, true, true);
      // By the addon: Node's first fstatSync and statSync in a process cost ~0.3 ms of CPU.
      if (addon.sameFile(fd, dir)) return () => closeSync(fd);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
    closeSync(fd);
  }
}

/** Locks the container, then loads it, and runs fn while holding the lock (start, pause, resume, ...). */
export function withContainer<T>(root: string, id: string, fn: (c: Container) => T): T {
  const unlock = lockDir(containerDir(root, id));
  if (!unlock) throw new NotFoundError(id);
  try {
    return fn(loadContainer(root, id));
  } finally {
    unlock();
  }
}

export function loadContainer(root: string, id: string): Container {
  const dir = containerDir(root, id);
  let text: string;
  try {
    text = readFileSync(join(dir, 'state.json'), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(id);
    throw new BerthError(`reading the state of container ${id}: ${errnoText(e)}`);
  }
  return new Container(dir, JSON.parse(text) as Saved);
}

/**
 * Claims the id (mkdir is atomic, so two creates of one id cannot both win) and
 * locks it before its state is written: a `delete` of the id waits for the create
 * to finish, and never sees a directory without state unless a create died there.
 */
export function claimContainer(root: string, saved: Saved): { c: Container; unlock: () => void } {
  const dir = containerDir(root, saved.id);
  mkdirSync(root, { recursive: true, mode: 0o711 });
  try {
    mkdirSync(dir, { mode: 0o711 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new ExistsError(saved.id);
    throw new BerthError(`creating the state directory ${dir}: ${errnoText(e)}`);
  }
  // A `delete --force` between the mkdir and the lock took it for a dead create's.
  const unlock = lockDir(dir);
  if (!unlock) throw new BerthError(`container ${saved.id} was deleted while it was being created`);
  const c = new Container(dir, saved);
  try {
    c.save();
  } catch (e) {
    c.remove();
    unlock();
    throw e;
  }
  return { c, unlock };
}

export function listContainers(root: string): Container[] {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return [];
  }
  const out: Container[] = [];
  for (const n of names) {
    try {
      out.push(loadContainer(root, n));
    } catch {
      // a directory being created or removed right now
    }
  }
  return out;
}

// Freezing a container's cgroup: the v1 freezer where the host has one (hybrid
// hosts, as runc), cgroup.freeze on the unified hierarchy otherwise. Both return
// only once the kernel reports the whole cgroup frozen (or thawed).
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { BerthError, errnoText } from '../errors';
import { sleepSync } from '../sleep';
import { readKernelFile } from '../state/proc';

export interface FreezeTarget { freezer?: string; unified?: string }

const TIMEOUT_MS = 10_000;

function read(path: string): string {
  return readKernelFile(path);
}

function put(path: string, value: string): void {
  try {
    writeFileSync(path, value);
  } catch (e) {
    throw new BerthError(`writing ${value} to ${path}: ${errnoText(e)}`);
  }
}

/** Freezes (true) or thaws (false) and waits until the kernel says it is done. */
export function setFrozen(t: FreezeTarget, frozen: boolean): void {
  const start = Date.now();
  if (t.freezer) {
    const want = frozen ? 'FROZEN' : 'THAWED';
    const file = join(t.freezer, 'freezer.state');
    for (let i = 0; ; i++) {
      // FREEZING can stall on a task in an uninterruptible sleep; writing FROZEN
      // again retries it.
      put(file, want);
      if (read(file).trim() === want) return;
      if (Date.now() - start > TIMEOUT_MS) {
        if (frozen) put(file, 'THAWED');
        throw new BerthError(`${frozen ? 'freezing' : 'thawing'} ${t.freezer}: still ${read(file).trim()} after ${TIMEOUT_MS / 1000} s`);
      }
      sleepSync(Math.min(1 + i, 20));
    }
  }
  if (t.unified) {
    put(join(t.unified, 'cgroup.freeze'), frozen ? '1' : '0');
    const want = frozen ? /^frozen 1$/m : /^frozen 0$/m;
    for (let i = 0; !want.test(read(join(t.unified, 'cgroup.events'))); i++) {
      if (Date.now() - start > TIMEOUT_MS) {
        if (frozen) put(join(t.unified, 'cgroup.freeze'), '0');
        throw new BerthError(`${frozen ? 'freezing' : 'thawing'} ${t.unified}: not done after ${TIMEOUT_MS / 1000} s`);
      }
      sleepSync(Math.min(1 + i, 20));
    }
    return;
  }
  throw new BerthError('the container has no freezer cgroup (no v1 freezer hierarchy and no cgroup2)');
}

/** Whether the container's cgroup is frozen (FREEZING counts as not yet). */
export function isFrozen(t: FreezeTarget): boolean {
  try {
    if (t.freezer) return read(join(t.freezer, 'freezer.state')).trim() === 'FROZEN';
    if (t.unified) return /^frozen 1$/m.test(read(join(t.unified, 'cgroup.events')));
  } catch {
    // the cgroup is gone
  }
  return false;
}

/**
 * Why a process placed in these cgroups now would be frozen, or undefined: the v1
 * freezer's state (FREEZING or FROZEN, a parent's freeze included) or, in the
 * unified hierarchy, cgroup.freeze of the cgroup or a parent, or frozen in its
 * cgroup.events. A cgroup not made yet is judged by its nearest existing parent,
 * whose state it would inherit. The root cgroups cannot be frozen (no such files).
 */
export function frozenBy(t: FreezeTarget): string | undefined {
  if (t.freezer) {
    const dir = nearestExisting(t.freezer);
    const state = readOr(join(dir, 'freezer.state'));
    if (state && state !== 'THAWED') return `${dir} is frozen (freezer.state ${state})`;
  }
  if (t.unified) {
    const dir = nearestExisting(t.unified);
    if (/^frozen 1$/m.test(readOr(join(dir, 'cgroup.events')))) return `${dir} is frozen (cgroup.events)`;
    for (let d = dir, v = readOr(join(d, 'cgroup.freeze')); v !== ''; d = dirname(d), v = readOr(join(d, 'cgroup.freeze'))) {
      if (v === '1') return `${d} is frozen (cgroup.freeze 1)`;
    }
  }
  return undefined;
}

function nearestExisting(dir: string): string {
  let d = dir;
  while (!existsSync(d) && dirname(d) !== d) d = dirname(d);
  return d;
}

function readOr(path: string): string {
  try {
    // Looked for first: a hierarchy's root cgroup has none of these files, and a
    // failed read costs an exception (~25 us, the first in a process ~0.15 ms).
    return existsSync(path) ? read(path).trim() : '';
  } catch {
    return '';
  }
}

// `create`: validate, plan, claim the id, make cgroups, start berth-init and talk
// to it until the container waits in "created". What exists at each moment is
// recorded first, so a failure (or a SIGKILL of this process) leaves nothing that
// `delete --force` cannot find; on an error we remove it all ourselves.
import { closeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { cgroupOwner, type Placement } from '../cgroups/placement';
import { planCgroupfs } from '../cgroups/cgroupfs';
import { hierarchies } from '../cgroups/hierarchies';
import { type CgroupManager, systemdUnavailable } from '../cgroups/manager';
import { BerthError } from '../errors';
import { type HookState, runHooks } from '../hooks/run';
import { logDebug, logWarnQuietly } from '../log/log';
import { native } from '../native/addon';
import { bindOwnCgroups, buildPlan, rootfsPath } from '../plan/build';
import * as K from '../plan/generated';
import { decodeItems, encodeMessage, encodePlan } from '../plan/message';
import { layoutOf } from '../checkpoint/layout';
import { CACHE_DIR } from '../seccomp/compile';
import { sendSeccompListener } from '../seccomp/listener';
import type { Spec } from '../spec/types';
import { loadConfig } from '../spec/validate';
import { rootlessCgroups } from '../rootless';
import { procStat } from '../state/proc';
import { claimContainer, containerDir, type Container, isoTime, type Saved, writeAtomic } from '../state/store';
import { destroy } from './destroy';
import { mark } from '../trace';
import { cgroups1, endBerthInit, type BerthInit, initError, readMessage, reapLeftBerthInits, startBerthInit, watchBerthInit, writeAll } from './sync';

export interface CreateOptions {
  root: string;
  id: string;
  bundle?: string;
  pidFile?: string;
  consoleSocket?: string;
  /** berth's own console socket when it proxies the terminal (run in the foreground). */
  proxyConsole?: number;
  /** The container's stdio in place of berth's (run in the foreground: pipes, see ./stdio.ts). */
  stdio?: [number, number, number];
  noPivot: boolean;
  noNewKeyring: boolean;
  preserveFds: number;
  systemdCgroup: boolean;
}

/**
 * Returns the container still locked, and the lock's release: the caller keeps
 * it until it has reported the container it made (the pid file is written
 * before), so a `delete` of the id that raced it waits until then.
 */
export async function createContainer(o: CreateOptions): Promise<{ c: Container; unlock: () => void }> {
  const bundle = resolve(o.bundle ?? process.cwd());
  const dir = containerDir(o.root, o.id);
  if (o.systemdCgroup) {
    const why = systemdUnavailable();
    if (why) throw new BerthError(`--systemd-cgroup: ${why}; leave it out to use cgroupfs (the config's cgroupsPath as a path)`);
  }
  const spec = loadConfig(bundle);
  mark('config');
  const hs = hierarchies();
  mark('hierarchies');
  const plan = buildPlan(spec, {
    bundle, execFifo: join(dir, 'exec.fifo'), preserveFds: o.preserveFds, noPivot: o.noPivot, hierarchies: hs,
    consoleFd: spec.process?.terminal && (o.consoleSocket ?? o.proxyConsole) !== undefined ? 3 + o.preserveFds : undefined,
    sessionKeyring: o.noNewKeyring ? undefined : `_ses.${o.id}`, seccompCache: join(o.root, CACHE_DIR),
  });
  mark('plan');
  const cg = planCgroupManager(spec, o.id, o.systemdCgroup, rootlessCgroups());
  const placement = cg.placement;
  checkCgroupsInUse(cg);
  bindOwnCgroups(plan, placement.dirs, hs);
  // The init is cloned into its cgroup2 directory, never running outside it.
  // Not when it joins a cgroup namespace by path: from inside one, a cgroup
  // outside it may not be reachable (nsdelegate); berth places berth-init then.
  if (!namespacesJoined(spec, 'cgroup')) plan.cgroup2 = placement.unified;
  // A driver that places berth-init by its pid (systemd) joins it to them all.
  if (!cg.needsPid) plan.cgroups1 = cgroups1(placement);
  const saved = newState(spec, o.id, bundle, placement);
  mark('cgroup plan, checks');

  const { c, unlock } = claimContainer(o.root, saved);
  mark('state claimed');
  try {
    // systemd: the unit is started with berth-init in it (a scope needs a process),
    // before berth-init has its plan; the limits follow once systemd has made it.
    let place: ((pid: number) => void) | undefined;
    if (cg.needsPid) {
      place = (pid) => {
        cg.create(pid);
        if (!plan.cgroup2) cg.join(pid);
      };
    } else {
      cg.create();
      mark('cgroups made');
    }
    runInit(c, encodePlan(plan), o, spec.hooks, plan.seccomp?.listener, plan.cgroup2, place);
    if (o.pidFile) writeAtomic(resolve(o.pidFile), String(c.saved.pid));
    return { c, unlock };
  } catch (e) {
    try {
      // runtime.md: after a failed hook the lifecycle goes on at poststop; as runc,
      // berth runs them whenever the container's init had come to exist.
      destroy(c, { runPoststop: c.saved.pid > 0 });
      reapLeftBerthInits();
    } catch (cleanupError) {
      logDebug(`cleanup after a failed create: ${(cleanupError as Error).message}`);
    }
    unlock();
    throw e;
  }
}

/**
 * The driver of a new container's cgroups and where they go (create, restore):
 * systemd's unit with --systemd-cgroup (its code loaded only then; rootless: the
 * user's own systemd), else cgroupfs (rootless: what the user may use).
 */
export function planCgroupManager(spec: Spec, id: string, systemd: boolean, rootless: boolean): CgroupManager {
  const made = {
    id, resources: spec.linux?.resources, annotations: spec.annotations as Record<string, string> | undefined,
    // With root's cgroups only: an ordinary user's delegated subtree is already the user's own.
    owner: rootless ? undefined : cgroupOwner(spec, hierarchies()),
  };
  if (systemd) return (require('../cgroups/systemd/manager') as typeof import('../cgroups/systemd/manager')).planSystemdManager(spec.linux?.cgroupsPath, made, rootless);
  return planCgroupfs(spec.linux?.cgroupsPath, made, rootless);
}

/** The state of a container being made from spec (create, restore). */
export function newState(spec: Spec, id: string, bundle: string, placement: Placement): Saved {
  const namespaces = spec.linux?.namespaces ?? [];
  return {
    ociVersion: spec.ociVersion,
    id,
    bundle,
    rootfs: rootfsPath(spec, bundle),
    created: isoTime(),
    owner: '',
    annotations: spec.annotations as Record<string, string> | undefined,
    phase: 'creating',
    pid: 0,
    pidStartTime: '',
    cgroups: placement,
    hooks: { poststart: spec.hooks?.poststart, poststop: spec.hooks?.poststop },
    ownPidNs: namespaces.some((n) => n.type === 'pid' && !n.path),
    noProcess: spec.process ? undefined : true,
    process: spec.process,
    seccomp: spec.linux?.seccomp,
    resources: spec.linux?.resources,
    criu: layoutOf(spec, bundle, hierarchies()),
  };
}

type Hooks = NonNullable<ReturnType<typeof loadConfig>['hooks']>;

function ociState(c: Container, status: string): HookState {
  const s = c.saved;
  return { ociVersion: s.ociVersion, id: s.id, status, pid: s.pid, bundle: s.bundle, annotations: s.annotations ?? {} };
}

// The conversation with berth-init, synchronously over a socket pair: nothing
// here needs the event loop, and Node's child_process and stream machinery would
// cost more than the rest of create.
function runInit(
  c: Container,
  planMsg: Buffer,
  o: CreateOptions,
  hooks: Hooks | undefined,
  listener: { path: string; metadata: string } | undefined,
  cgroup2: string | undefined,
  place?: (pid: number) => void,
): void {
  let h: BerthInit | undefined;
  try {
    // With `place`, berth-init is put in its cgroup by that, not by startBerthInit.
    const cgroups = place ? { ...c.saved.cgroups, dirs: [] } : c.saved.cgroups;
    h = startBerthInit('create', o.preserveFds, c.saved.process?.terminal ? (o.consoleSocket ?? o.proxyConsole) : undefined, cgroups, {
      clonedInto: cgroup2,
      stdio: o.stdio,
    });
    mark('berth-init spawned');
    const mine = h.sock;
    const berthInitPid = h.pid;
    const watch = watchBerthInit(c.saved.cgroups, () => [berthInitPid, c.saved.pid]);
    if (place) {
      try {
        place(h.pid);
      } catch (e) {
        process.kill(h.pid, 'SIGKILL');
        throw e;
      }
    }
    writeAll(mine, planMsg, watch);
    mark('plan sent');
    let ready = false;
    for (let m = readMessage(mine, watch); m; m = readMessage(mine, watch)) {
      const items = decodeItems(m.payload);
      switch (m.type) {
        case K.MSG_PID: {
          const pid = Number(items[0]);
          c.saved.pid = pid;
          c.saved.pidStartTime = procStat(pid)?.startTime ?? '';
          c.save();
          logDebug(`container init has pid ${pid}`);
          mark('init cloned, pid saved');
          break;
        }
        case K.MSG_ERROR:
          throw initError(m.payload);
        case K.MSG_HOOKS: {
          // Lifecycle steps 3-5 come after the environment was created (step 2), so
          // the hooks see "created" (runtime.md; runc passes "creating").
          const st = ociState(c, 'created');
          runHooks('prestart', hooks?.prestart, st);
          runHooks('createRuntime', hooks?.createRuntime, st);
          mark('init set up, hooks');
          writeAll(mine, encodeMessage(K.MSG_HOOKS_DONE, JSON.stringify(st)), watch);
          break;
        }
        case K.MSG_SECCOMP_FD: {
          if (!listener) throw new BerthError('unexpected seccomp listener fd from berth-init');
          sendSeccompListener(c.saved, { pid: c.saved.pid, fd: Number(items[0]) }, listener, 'creating');
          break;
        }
        case K.MSG_READY: {
          mark('init ready');
          c.saved.phase = 'created';
          c.save();
          mark('state saved');
          ready = true;
          // The init clears its parent-death signal on this message, then closes
          // the socket: the loop ends at that EOF, and only then do we return.
          writeAll(mine, encodeMessage(K.MSG_COMMIT, JSON.stringify(ociState(c, 'created'))), watch);
          break;
        }
        default:
          throw new BerthError(`unexpected message ${m.type} from berth-init`);
      }
    }
    if (!ready) throw new BerthError('berth-init exited before the container was ready (see the messages above)');
    mark('commit, berth-init exit');
  } finally {
    endBerthInit(h);
    mark('berth-init reaped');
  }
}

/**
 * Before anything is made, as runc: a frozen cgroup is refused (the init would
 * freeze in it, and create wait for it), and one that already holds processes
 * gets runc's warning (they share the container's limits, and its deletion kills them).
 */
export function checkCgroupsInUse(cg: CgroupManager): void {
  const frozen = cg.frozenBy();
  if (frozen) throw new BerthError(`placing the container in its cgroup (linux.cgroupsPath): cgroup ${frozen}; thaw it first`);
  // Cgroups that did not exist when planned hold no process (the usual case): not read.
  const p = cg.placement;
  const pids = p.dirs.every((d) => p.made.includes(d)) ? [] : cg.pids();
  if (pids.length) logWarnQuietly(`container's cgroup is not empty: ${pids.length} process(es) found`);
}

function namespacesJoined(spec: { linux?: { namespaces?: { type: string; path?: string }[] } }, type: string): boolean {
  return (spec.linux?.namespaces ?? []).some((n) => n.type === type && !!n.path);
}

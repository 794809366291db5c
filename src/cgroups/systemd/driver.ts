// The systemd cgroup driver (--systemd-cgroup): the container's cgroup is a
// transient unit systemd makes (a scope, or a slice), asked for over D-Bus as
// runc does; berth then writes what systemd cannot express to the unit's cgroup
// files itself (the cgroupfs writers of ../resources.ts), and freezes, reads
// and kills through the files as on cgroupfs. Pure cgroup v2 hosts only.
// Without root privileges over cgroups (rootless, as runc's systemdUser) the
// unit is the user's own systemd's, asked on the user's session bus; its
// cgroup is below that manager's (user@UID.service).
import { existsSync, mkdirSync } from 'node:fs';
import { posix } from 'node:path';
import { BerthError, errnoText } from '../../errors';
import { logDebug } from '../../log/log';
import { sleepSync } from '../../sleep';
import type { LinuxResources } from '../../spec/types';
import { applyLimits, DEFAULT_ALLOWED_DEVICES, type DeviceRule, type Limits, type Placement, removeCgroupTree } from '../placement';
import { dirFor, hierarchies, isUnified } from '../hierarchies';
import { Connection, DBusError, DBusTimeout, sessionBusPath, SIGNAL, systemBusPath, type Value } from './dbus';
import { annotationProperties, type Property, resourceProperties, systemdVersionNumber } from './properties';
import { unitPlace } from './unit';

/** How long systemd gets for one step (a call, or a job to finish), as runc's 30 s. */
const TIMEOUT_MS = 30_000;

export type SystemdUnit = NonNullable<Placement['systemd']>;

export type SystemdPlacement = Placement & { systemd: SystemdUnit };

const SYSTEMD = 'org.freedesktop.systemd1';
const MANAGER_PATH = '/org/freedesktop/systemd1';
const MANAGER = 'org.freedesktop.systemd1.Manager';

/** Why the driver cannot work on this host, or undefined when it can. */
export function unavailable(): string | undefined {
  // sd_booted(3)'s test: systemd runs as init where this directory exists.
  if (!existsSync('/run/systemd/system')) return 'systemd is not running on this host (no /run/systemd/system)';
  if (!isUnified(hierarchies()))
    return "this host has cgroup v1 hierarchies; berth's systemd driver needs a pure cgroup v2 host (leave --systemd-cgroup out to use cgroupfs)";
  return undefined;
}

/**
 * Where the container's unit and cgroup will be (saved before anything is made).
 * user: the user's own systemd, whose cgroup (ControlGroup, e.g.
 * /user.slice/user-1000.slice/user@1000.service) holds its slices.
 */
export function planSystemd(cgroupsPath: string | undefined, id: string, user = false): SystemdPlacement {
  const why = unavailable();
  if (why) throw new BerthError(`--systemd-cgroup: ${why}`);
  const place = unitPlace(cgroupsPath, id, user ? 'user.slice' : 'system.slice');
  let cgroup = place.cgroup;
  if (user) {
    const step = `finding the cgroup of the user's systemd (--systemd-cgroup without root)`;
    const { bus } = connect(step, true);
    try {
      const [v] = bus.call(SYSTEMD, MANAGER_PATH, 'org.freedesktop.DBus.Properties', 'Get', 'ss', [MANAGER, 'ControlGroup']) as [[string, Value]];
      cgroup = posix.join(String(v[1]), place.cgroup);
    } catch (e) {
      throw new BerthError(`${step}: ${busText(e)}`);
    } finally {
      bus.close();
    }
  }
  const dir = dirFor(hierarchies()[0], cgroup);
  return { dirs: [dir], made: [], unified: dir, systemd: { unit: place.unit, slice: place.slice, ...(user ? { user } : {}) } };
}

/** A connection to the system bus (the user's session bus for the user's systemd), with every wait bounded. */
function connect(step: string, user = false): { bus: Connection; deadline: { at: number } } {
  const deadline = { at: Date.now() + TIMEOUT_MS };
  const which = user ? "the user's session bus" : 'the system bus';
  let path = user ? '' : '/run/dbus/system_bus_socket';
  try {
    path = user ? sessionBusPath() : systemBusPath();
    const bus = new Connection(path, () => deadline.at);
    return { bus, deadline };
  } catch (e) {
    throw new BerthError(`${step}: connecting to ${which}${path ? ` at ${path}` : ''}: ${busText(e)}`);
  }
}

function busText(e: unknown): string {
  if (e instanceof DBusTimeout) return `no answer within ${TIMEOUT_MS / 1000} s`;
  if (e instanceof DBusError) return `${e.name}: ${e.message}`;
  const err = e as { errno?: number; message?: string; code?: string };
  return err.code ? errnoText(e) : (err.message ?? String(e)).replace(/^connect: /, '');
}

function callManager(bus: Connection, member: string, sig: string, args: Value[]): Value[] {
  return bus.call(SYSTEMD, MANAGER_PATH, MANAGER, member, sig, args);
}

/** Waits for the job's JobRemoved signal and returns its result ("done", "failed", ...). */
function waitJob(bus: Connection, job: string): string {
  const m = bus.waitSignal((s) => s.type === SIGNAL && s.member === 'JobRemoved' && s.body[1] === job);
  return String(m.body[3]);
}

function watchJobs(bus: Connection): void {
  bus.call('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'AddMatch', 's', [
    `type='signal',sender='${SYSTEMD}',path='${MANAGER_PATH}',interface='${MANAGER}',member='JobRemoved'`,
  ]);
}

/** The device rules systemd is told: the config's and berth's defaults, as the eBPF
 * program has them; none (no policy) when the config has none, as on cgroupfs. */
function deviceRules(r: LinuxResources | undefined): DeviceRule[] | undefined {
  return r?.devices && [...(r.devices as DeviceRule[]), ...DEFAULT_ALLOWED_DEVICES];
}

/**
 * Starts the container's unit with pid in it (a scope must have one; a slice
 * takes none), waits for systemd to finish the job, then writes the limits to
 * the cgroup files as on cgroupfs. Fails naming the cause, with the unit reset,
 * so destroy() leaves nothing.
 */
export function startUnit(p: SystemdPlacement, pid: number | undefined, id: string, resources: LinuxResources | undefined, annotations: Record<string, string> | undefined): void {
  const { unit, slice } = p.systemd;
  const step = `creating the systemd unit ${unit} (linux.cgroupsPath)`;
  const isSlice = unit.endsWith('.slice');
  const user = !!p.systemd.user;
  const { bus } = connect(step, user);
  try {
    startJob(bus, step, unit, [
      ['Description', ['s', `berth container ${id}`]],
      isSlice ? ['Wants', ['as', [slice]]] : ['Slice', ['s', slice]],
      ...(isSlice ? [] : [['Delegate', ['b', true]] as Property]),
      ...(pid !== undefined && !isSlice ? [['PIDs', ['au', [pid]]] as Property] : []),
      // as runc: accounting on, so systemd keeps these controllers enabled above the unit
      ['MemoryAccounting', ['b', true]], ['CPUAccounting', ['b', true]], ['IOAccounting', ['b', true]], ['TasksAccounting', ['b', true]],
      ['DefaultDependencies', ['b', false]],
      ...resourceProperties(resources, user ? undefined : deviceRules(resources), systemdVersion(bus)),
      ...annotationProperties(annotations),
    ]);
  } finally {
    bus.close();
  }
  const dir = p.unified!;
  try {
    // A slice's cgroup may be made only once something is in it (runc makes it too).
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new BerthError(`${step}: creating ${dir}: ${errnoText(e)}`);
  }
  // Without root no device rules, as runc (the user namespace keeps the container from making devices).
  const limits: Limits | undefined = resources && { ...(resources as object), devices: user ? undefined : deviceRules(resources) };
  applyLimits(p, limits);
}

/** StartTransientUnit, and the wait for its job. */
function startJob(bus: Connection, step: string, unit: string, props: Property[]): void {
  try {
    watchJobs(bus);
    let job: string | undefined;
    try {
      job = callManager(bus, 'StartTransientUnit', 'ssa(sv)a(sa(sv))', [unit, 'replace', props, []])[0] as string;
    } catch (e) {
      // As runc: a unit of that name that is there already is joined.
      if (!(e instanceof DBusError && e.name === `${SYSTEMD}.UnitExists`)) throw e;
      logDebug(`systemd unit ${unit} exists already: joining it`);
    }
    if (job) {
      const result = waitJob(bus, job);
      if (result !== 'done') {
        resetFailed(bus, unit);
        throw new Error(`systemd's job ended "${result}" (journalctl -u ${unit} says why)`);
      }
    }
  } catch (e) {
    throw new BerthError(`${step}: ${busText(e)}`);
  }
}

let version: number | undefined;

/**
 * systemd's version (its manager's Version property), asked once per process:
 * the unit properties that depend on it (./properties.ts) are left to the files
 * where it is too old or unknown (-1), as runc does when it cannot tell.
 */
export function systemdVersion(bus: Connection): number {
  if (version === undefined) {
    try {
      const [v] = bus.call(SYSTEMD, MANAGER_PATH, 'org.freedesktop.DBus.Properties', 'Get', 'ss', [MANAGER, 'Version']) as [[string, Value]];
      version = systemdVersionNumber(String(v[1]));
    } catch (e) {
      logDebug(`asking systemd for its version: ${busText(e)}`);
      version = -1;
    }
    logDebug(`systemd version ${version}`);
  }
  return version;
}

function resetFailed(bus: Connection, unit: string): void {
  try {
    callManager(bus, 'ResetFailedUnit', 's', [unit]);
  } catch {
    // not failed, or gone
  }
}

/** update: the new resources to the unit (runtime properties), before berth writes the files. */
export function setUnitResources(s: { systemd: SystemdUnit }, resources: LinuxResources): void {
  const { unit } = s.systemd;
  const step = `updating the systemd unit ${unit}`;
  // Device rules stay as created (update leaves them, as runc's does).
  if (!resourceProperties(resources, undefined, Infinity).length) return;
  const { bus } = connect(step, !!s.systemd.user);
  try {
    const props = resourceProperties(resources, undefined, systemdVersion(bus));
    if (props.length) callManager(bus, 'SetUnitProperties', 'sba(sv)', [unit, true, props]);
  } catch (e) {
    throw new BerthError(`${step}: ${busText(e)}`);
  } finally {
    bus.close();
  }
}

/**
 * delete: stops the unit and waits until systemd has let it go, then removes
 * what is left of its cgroup (sub-cgroups the container made under Delegate=).
 * The caller has killed every process, so a systemd that fails to answer only
 * delays what it does by itself (a scope with no process left ends); that is
 * logged, and the cgroup and the container's state go all the same.
 */
export function stopUnit(p: { systemd: SystemdUnit; unified?: string }): void {
  const { unit } = p.systemd;
  try {
    const { bus, deadline } = connect(`stopping the systemd unit ${unit}`, !!p.systemd.user);
    try {
      watchJobs(bus);
      try {
        const job = callManager(bus, 'StopUnit', 'ss', [unit, 'replace'])[0] as string;
        const result = waitJob(bus, job);
        if (result !== 'done') logDebug(`stopping ${unit}: systemd's job ended "${result}"`);
      } catch (e) {
        if (!(e instanceof DBusError && e.name === `${SYSTEMD}.NoSuchUnit`)) throw e;
      }
      resetFailed(bus, unit);
      // Gone means systemd has unloaded it (GetUnit: NoSuchUnit).
      deadline.at = Date.now() + TIMEOUT_MS;
      for (let i = 0; ; i++) {
        try {
          callManager(bus, 'GetUnit', 's', [unit]);
        } catch (e) {
          if (e instanceof DBusError && e.name === `${SYSTEMD}.NoSuchUnit`) break;
          throw e;
        }
        if (Date.now() > deadline.at) throw new DBusTimeout();
        sleepSync(Math.min(5 * (i + 1), 50));
      }
    } catch (e) {
      throw new BerthError(`stopping the systemd unit ${unit}: ${busText(e)}`);
    } finally {
      bus.close();
    }
  } catch (e) {
    logDebug((e as Error).message);
  }
  if (p.unified) removeCgroupTree(p.unified);
}

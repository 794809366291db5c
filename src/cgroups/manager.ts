// The cgroup driver seam, as runc's cgroups.Manager and youki's libcgroups: what a
// container's life asks of its cgroups, behind one interface with two drivers.
// cgroupfs (./cgroupfs.ts) makes and writes the cgroup directories itself, on v1,
// hybrid and v2 hosts alike (one list of hierarchies), rootless too; systemd
// (./systemd/manager.ts, --systemd-cgroup) has systemd make a transient unit and
// works on its cgroup as cgroupfs does for the rest. Which driver a container has
// is in its state (cgroups.systemd); the systemd one is loaded only for such a
// container, and its D-Bus client only when systemd must be asked.
import type { LinuxResources } from '../spec/types';
import type { Placement } from './placement';
import { CgroupfsManager } from './cgroupfs';

export interface CgroupManager {
  /** Where the container's cgroups are: saved in its state before anything is made. */
  readonly placement: Placement;
  /** The cgroups can be made only with a process in them (a systemd scope): create()
   * then gets berth-init's pid, before berth-init has its plan. Otherwise create()
   * comes first and the init is cloned into the cgroup2 directory. */
  readonly needsPid: boolean;
  /** Makes the cgroups and applies the config's limits (create, restore). */
  create(pid?: number): void;
  /** Moves a process into every cgroup of the container (field: for errors). */
  join(pid: number, field?: string): void;
  /** New limits (update); a write the kernel refuses puts the earlier ones back. */
  update(r: LinuxResources): void;
  /** Freezes or thaws, and returns once the kernel says it is done (pause, resume). */
  setFrozen(frozen: boolean): void;
  isFrozen(): boolean;
  /** Why a process placed in these cgroups now would be frozen, or undefined. */
  frozenBy(): string | undefined;
  /** Every process in the cgroups, sub-cgroups included (ps, delete). */
  pids(): number[];
  /** SIGKILL to every process, no fork escaping. */
  killAll(): void;
  /** Removes the cgroups (a systemd unit: stopped, and waited for). */
  destroy(): void;
  /** Removes the cgroups if no process is left in them, with no kill and no wait
   * (a container whose init has ended); false, having removed perhaps some, when
   * destroy() must do it (a busy cgroup, a systemd unit). */
  removeIfEmpty(): boolean;
  /** runc's events --stats data. */
  stats(): Record<string, unknown>;
  /** The memory cgroup the kernel's OOM notifications come from (events), and the OOM kills so far. */
  oomWatch(): { dir: string | undefined; unified: boolean; kills(): bigint };
}

/** What create() applies: the config's resources (as the driver may apply them), and for a unit its name and properties. */
export interface NewCgroups {
  id: string;
  resources?: LinuxResources;
  annotations?: Record<string, string>;
  /** The host uid the cgroup2 directory is delegated to (runc's OwnerUID: ./placement.ts cgroupOwner). */
  owner?: number;
}

/** The driver of a container's cgroups as its state has them. */
export function cgroupManager(p: Placement, made?: NewCgroups): CgroupManager {
  if (p.systemd) {
    const { SystemdManager } = require('./systemd/manager') as typeof import('./systemd/manager');
    return new SystemdManager(p, made);
  }
  return new CgroupfsManager(p, made);
}

/** Why the systemd driver cannot work on this host, or undefined when it can (create, features). */
export function systemdUnavailable(): string | undefined {
  return (require('./systemd/driver') as typeof import('./systemd/driver')).unavailable();
}

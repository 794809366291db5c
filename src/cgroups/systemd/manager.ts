// The systemd driver behind the cgroup seam (../manager.ts): the container's
// cgroup is a transient unit's (./driver.ts asks systemd for it over D-Bus); what
// systemd cannot express, freezing, reading and killing work on the unit's cgroup
// files as cgroupfs does. ./driver.ts (and its D-Bus client) is loaded only when
// systemd must be asked: create, update, delete; not for state, kill, ps, pause.
import type { LinuxResources } from '../../spec/types';
import type { Placement } from '../placement';
import { CgroupfsManager } from '../cgroupfs';
import { hierarchies } from '../hierarchies';
import type { NewCgroups } from '../manager';
import { applyResourceWrites } from '../resources';

type Driver = typeof import('./driver');
const driver = (): Driver => require('./driver') as Driver;

/** Where the container's unit and cgroup will be (saved before anything is made); user: the user's own systemd (rootless). */
export function planSystemdManager(cgroupsPath: string | undefined, made: NewCgroups, user: boolean): SystemdManager {
  return new SystemdManager(driver().planSystemd(cgroupsPath, made.id, user), made);
}

export class SystemdManager extends CgroupfsManager {
  // A scope must start with a process in it.
  override readonly needsPid = true;

  constructor(placement: Placement, made?: NewCgroups) {
    super(placement, made);
  }

  /** Starts the unit with pid in it, waits for systemd, then writes the limits to the files. */
  override create(pid?: number): void {
    const m = this.made!;
    driver().startUnit({ ...this.placement, systemd: this.placement.systemd! }, pid, m.id, m.resources, m.annotations);
    this.delegate();
  }

  /** systemd's unit is told first: it rewrites the files from its properties whenever it re-applies them. */
  override update(r: LinuxResources): void {
    const writes = this.planUpdate(r);
    driver().setUnitResources({ systemd: this.placement.systemd! }, r);
    applyResourceWrites(hierarchies(), writes, { rollback: true });
  }

  /** Stops the unit and waits until systemd has let it go, then removes what is left. */
  override destroy(): void {
    driver().stopUnit({ ...this.placement, systemd: this.placement.systemd! });
    super.destroy();
  }

  /** The unit must be stopped: destroy() does it. */
  override removeIfEmpty(): boolean {
    return false;
  }
}

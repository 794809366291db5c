// The cgroupfs driver: berth makes the container's cgroup directories in every
// hierarchy the host has (v1, hybrid or pure v2) and writes the limits to their
// files itself; run without root, only the hierarchies the user may use
// (./rootless.ts).
import { dirname } from 'node:path';
import type { LinuxResources } from '../spec/types';
import {
  applyLimits, cgroupPids, DEFAULT_ALLOWED_DEVICES, delegateCgroup, type DeviceRule, joinCgroups, killCgroups, type Limits, makeCgroups, type Placement, planCgroups, removeCgroups, removeCgroupsIfEmpty,
} from './placement';
import { frozenBy, isFrozen, setFrozen } from './freeze';
import { hierarchies, isUnified } from './hierarchies';
import type { CgroupManager, NewCgroups } from './manager';
import { applyResourceWrites, type CgroupWrite, planResourceWrites } from './resources';
import { checkLimitsHaveCgroups, rootlessCgroupPath, rootlessPlacement } from './rootless';

/** The config's resources with the devices every container may use (as the eBPF program or devices.allow get them). */
export function withDefaultDevices(r: LinuxResources | undefined): Limits | undefined {
  return r && { ...(r as object), devices: r.devices && [...(r.devices as DeviceRule[]), ...DEFAULT_ALLOWED_DEVICES] };
}

/**
 * Where a new container's cgroups go. As root, cgroupsPath or /berth/ID (berth's
 * own /berth is removed by the last container to go, whichever made it); without
 * root privileges over cgroups, only what the user may use, and the resources
 * without device rules (./rootless.ts).
 */
export function planCgroupfs(cgroupsPath: string | undefined, made: NewCgroups, rootless: boolean): CgroupfsManager {
  if (rootless) {
    const p = planCgroups(cgroupsPath ?? rootlessCgroupPath(made.id));
    return new CgroupfsManager(p, { ...made, resources: rootlessPlacement(p, made.resources, !!cgroupsPath) });
  }
  const p = planCgroups(cgroupsPath ?? `/berth/${made.id}`);
  if (!cgroupsPath) p.shared = p.dirs.map((d) => dirname(d));
  return new CgroupfsManager(p, made);
}

export class CgroupfsManager implements CgroupManager {
  readonly needsPid: boolean = false;

  /** made: what create() applies (a container being made). */
  constructor(readonly placement: Placement, protected readonly made?: NewCgroups) {}

  create(): void {
    makeCgroups(this.placement);
    applyLimits(this.placement, withDefaultDevices(this.made?.resources));
    this.delegate();
  }

  /** Hands the cgroup2 directory to the container's user, where the config delegates it. */
  protected delegate(): void {
    if (this.made?.owner !== undefined && this.placement.unified) delegateCgroup(this.placement.unified, this.made.owner);
  }

  join(pid: number, field?: string): void {
    joinCgroups(this.placement, pid, field);
  }

  /** The writes r makes, all planned (and checked) before any is made. */
  protected planUpdate(r: LinuxResources): CgroupWrite[] {
    checkLimitsHaveCgroups(this.placement.dirs, r);
    return planResourceWrites(hierarchies(), this.placement.dirs, r, { forUpdate: true });
  }

  update(r: LinuxResources): void {
    applyResourceWrites(hierarchies(), this.planUpdate(r), { rollback: true });
  }

  setFrozen(frozen: boolean): void {
    setFrozen(this.placement, frozen);
  }

  isFrozen(): boolean {
    return isFrozen(this.placement);
  }

  frozenBy(): string | undefined {
    return frozenBy(this.placement);
  }

  pids(): number[] {
    return cgroupPids(this.placement);
  }

  killAll(): void {
    killCgroups(this.placement);
  }

  destroy(): void {
    removeCgroups(this.placement);
  }

  removeIfEmpty(): boolean {
    return removeCgroupsIfEmpty(this.placement);
  }

  stats(): Record<string, unknown> {
    const { collectStats } = require('./stats') as typeof import('./stats');
    return collectStats(hierarchies(), this.placement.dirs);
  }

  oomWatch(): { dir: string | undefined; unified: boolean; kills(): bigint } {
    const { memoryDir, oomKills } = require('./stats') as typeof import('./stats');
    const hs = hierarchies();
    return { dir: memoryDir(hs, this.placement.dirs), unified: isUnified(hs), kills: () => oomKills(hs, this.placement.dirs) };
  }
}

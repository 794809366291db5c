// linux.resources -> the cgroup files to write, for v1 hierarchies (hybrid hosts)
// and the unified v2 hierarchy, with runc's conversions where v2 counts
// differently. Planning (which file, which value, which config field) is separate
// from writing, so create and update share it, and update can read the old values
// first and put them back when the kernel refuses a later one.
import { closeSync, existsSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { BerthError, errnoText } from '../errors';
import type { LinuxResources } from '../spec/types';
import type { Hierarchy } from './hierarchies';
import { isUnified } from './hierarchies';

export interface CgroupWrite {
  dir: string;
  file: string;
  value: string;
  /** The config field the value comes from, for errors. */
  field: string;
  /** v2: the controller that must be enabled in the parents' subtree_control. */
  controller?: string;
  /** A file holding one entry per key (io.max, devices.allow ...): not restored by reading it back. */
  multi?: boolean;
  /**
   * Refused with EINVAL, written again after the next write (as runc's v1 cpu):
   * a shorter cpu.cfs_period_us with the old quota can exceed a parent's quota
   * until the new quota is in.
   */
  againAfterNext?: boolean;
}

/** runc's cpu.shares (2..262144) -> cpu.weight (1..10000), linear (runc 1.1). */
export function sharesToWeight(shares: number): number {
  return shares === 0 ? 0 : 1 + Math.floor(((shares - 2) * 9999) / 262142);
}

/** runc's blkio.weight (10..1000) -> io.weight (1..10000). */
export function blkioToIOWeight(w: number): number {
  return w === 0 ? 0 : 1 + Math.floor(((w - 10) * 9999) / 990);
}

/** runc's memory.swap (memory+swap, as v1 counts) -> memory.swap.max (swap alone); -1 is max, 0 unset. */
export function swapToV2(swap: number, limit: number | undefined): number {
  const mem = limit ?? 0;
  if (mem === -1 && swap === 0) return -1;
  if (swap === -1 || swap === 0) return swap;
  if (mem === 0 || mem === -1) throw new BerthError('linux.resources.memory.swap: a swap limit needs a memory limit');
  if (mem < 0) throw new BerthError(`linux.resources.memory.limit: invalid value ${mem}`);
  if (swap < mem) throw new BerthError(`linux.resources.memory.swap: memory+swap (${swap}) must be at least the memory limit (${mem})`);
  return swap - mem;
}

const max = (n: number) => (n < 0 ? 'max' : String(n));

function dirIn(h: Hierarchy, dirs: string[]): string | undefined {
  return dirs.find((d) => d === h.mountpoint || d.startsWith(h.mountpoint + '/'));
}

function readTrim(path: string): string | undefined {
  try {
    return readFileSync(path, 'latin1').trim();
  } catch {
    return undefined;
  }
}

/**
 * The writes for resources r, in order. forUpdate: device rules are left alone
 * (as runc update), and v1 memory limits are ordered against the current ones.
 */
export function planResourceWrites(hs: Hierarchy[], dirs: string[], r: LinuxResources, opts: { forUpdate?: boolean } = {}): CgroupWrite[] {
  const out: CgroupWrite[] = [];
  const unified = isUnified(hs);
  if (!unified && r.unified && Object.keys(r.unified).length)
    throw new BerthError('linux.resources.unified: needs a cgroup v2 host (this host has cgroup v1 hierarchies)');
  for (const h of hs) {
    const dir = dirIn(h, dirs);
    if (!dir) continue;
    const add = (file: string, value: string | number, field: string, extra: Partial<CgroupWrite> = {}) =>
      out.push({ dir, file, value: String(value), field, ...extra });
    if (h.version === 1) planV1(h, dir, r, add, opts);
    else if (unified) planV2(dir, r, add);
  }
  return out;
}

type Add = (file: string, value: string | number, field: string, extra?: Partial<CgroupWrite>) => void;

function planV1(h: Hierarchy, dir: string, r: LinuxResources, add: Add, opts: { forUpdate?: boolean }): void {
  const has = (c: string) => h.controllers.includes(c);
  const F = 'linux.resources';
  const m = r.memory;
  if (m && has('memory')) {
    const memsw = join(dir, 'memory.memsw.limit_in_bytes');
    let swap = m.swap;
    // Unlimited memory with swap unset: swap unlimited too (runc), or the kernel
    // refuses a memory limit above memory+swap.
    if (m.limit === -1 && (swap === undefined || swap === 0) && existsSync(memsw)) swap = -1;
    const swapWrite = () => {
      if (swap !== undefined && swap !== 0 && existsSync(memsw)) add('memory.memsw.limit_in_bytes', swap, `${F}.memory.swap`);
    };
    // A limit or reservation of 0 means unset (as runc, and as on v2 below): docker's
    // update sends 0 for the ones the container does not have.
    const limit = m.limit === 0 ? undefined : m.limit;
    // memory <= memory+swap at every step: raise memsw first when the new limit exceeds it.
    const curSw = Number(readTrim(memsw) ?? 'NaN');
    const swapFirst = limit !== undefined && (limit === -1 || limit > curSw);
    if (swapFirst) swapWrite();
    if (limit !== undefined) add('memory.limit_in_bytes', limit, `${F}.memory.limit`);
    if (!swapFirst) swapWrite();
    if (m.reservation !== undefined && m.reservation !== 0) add('memory.soft_limit_in_bytes', m.reservation, `${F}.memory.reservation`);
    if (m.swappiness !== undefined) add('memory.swappiness', m.swappiness, `${F}.memory.swappiness`);
    if (m.disableOOMKiller) add('memory.oom_control', 1, `${F}.memory.disableOOMKiller`);
    // kernel and kernelTCP: deprecated; the files are gone in Linux 6.x (runc ignores them too).
  }
  const c = r.cpu;
  if (c && has('cpu')) {
    if (c.shares) add('cpu.shares', c.shares, `${F}.cpu.shares`);
    if (c.period) add('cpu.cfs_period_us', c.period, `${F}.cpu.period`, { againAfterNext: !!c.quota });
    if (c.quota) add('cpu.cfs_quota_us', c.quota, `${F}.cpu.quota`);
    if (c.burst !== undefined) add('cpu.cfs_burst_us', c.burst, `${F}.cpu.burst`);
    if (c.realtimePeriod) add('cpu.rt_period_us', c.realtimePeriod, `${F}.cpu.realtimePeriod`);
    if (c.realtimeRuntime) add('cpu.rt_runtime_us', c.realtimeRuntime, `${F}.cpu.realtimeRuntime`);
    if (c.idle !== undefined) add('cpu.idle', c.idle, `${F}.cpu.idle`);
  }
  if (c && has('cpuset')) {
    if (c.cpus) add('cpuset.cpus', c.cpus, `${F}.cpu.cpus`);
    if (c.mems) add('cpuset.mems', c.mems, `${F}.cpu.mems`);
  }
  if (r.pids?.limit !== undefined && has('pids')) add('pids.max', r.pids.limit <= 0 ? 'max' : r.pids.limit, `${F}.pids.limit`);
  const b = r.blockIO;
  if (b && has('blkio')) {
    const bfq = !existsSync(join(dir, 'blkio.weight')) && existsSync(join(dir, 'blkio.bfq.weight'));
    const p = bfq ? 'blkio.bfq.' : 'blkio.';
    if (b.weight) add(`${p}weight`, b.weight, `${F}.blockIO.weight`);
    if (b.leafWeight) add('blkio.leaf_weight', b.leafWeight, `${F}.blockIO.leafWeight`);
    b.weightDevice?.forEach((d, i) => {
      if (d.weight) add(`${p}weight_device`, `${d.major}:${d.minor} ${d.weight}`, `${F}.blockIO.weightDevice[${i}]`, { multi: true });
      if (d.leafWeight) add('blkio.leaf_weight_device', `${d.major}:${d.minor} ${d.leafWeight}`, `${F}.blockIO.weightDevice[${i}]`, { multi: true });
    });
    for (const [key, file] of [
      ['throttleReadBpsDevice', 'read_bps_device'], ['throttleWriteBpsDevice', 'write_bps_device'],
      ['throttleReadIOPSDevice', 'read_iops_device'], ['throttleWriteIOPSDevice', 'write_iops_device'],
    ] as const)
      b[key]?.forEach((d, i) => add(`blkio.throttle.${file}`, `${d.major}:${d.minor} ${d.rate}`, `${F}.blockIO.${key}[${i}]`, { multi: true }));
  }
  if (r.hugepageLimits && has('hugetlb'))
    r.hugepageLimits.forEach((l, i) => add(`hugetlb.${l.pageSize}.limit_in_bytes`, l.limit, `${F}.hugepageLimits[${i}]`));
  if (r.rdma && has('rdma')) for (const [dev, l] of Object.entries(r.rdma)) if (l) add('rdma.max', rdmaLine(dev, l), `${F}.rdma.${dev}`, { multi: true });
  if (r.network?.classID !== undefined && has('net_cls')) add('net_cls.classid', r.network.classID, `${F}.network.classID`);
  if (r.network?.priorities && has('net_prio'))
    r.network.priorities.forEach((p, i) => add('net_prio.ifpriomap', `${p.name} ${p.priority}`, `${F}.network.priorities[${i}]`, { multi: true }));
  if (r.devices && has('devices') && !opts.forUpdate)
    r.devices.forEach((d, i) => add(d.allow ? 'devices.allow' : 'devices.deny', deviceRuleText(d), `${F}.devices[${i}]`, { multi: true }));
}

/** A rule as the v1 devices controller takes it: "c 1:3 rwm". */
export function deviceRuleText(r: { allow?: boolean; type?: string; major?: number; minor?: number; access?: string }): string {
  const num = (n: number | undefined) => (n === undefined || n < 0 ? '*' : String(n));
  return `${r.type ?? 'a'} ${num(r.major)}:${num(r.minor)} ${r.access || 'rwm'}`;
}

function rdmaLine(dev: string, l: { hcaHandles?: number; hcaObjects?: number }): string {
  return [dev, l.hcaHandles !== undefined && `hca_handle=${l.hcaHandles}`, l.hcaObjects !== undefined && `hca_object=${l.hcaObjects}`].filter(Boolean).join(' ');
}

function planV2(dir: string, r: LinuxResources, add: Add): void {
  const F = 'linux.resources';
  const m = r.memory;
  if (m) {
    const mem = { controller: 'memory' };
    if (m.limit !== undefined && m.limit !== 0) add('memory.max', max(m.limit), `${F}.memory.limit`, mem);
    if (m.swap !== undefined || m.limit === -1) {
      const sw = swapToV2(m.swap ?? 0, m.limit);
      if (sw !== 0) {
        if (!existsSync(join(dir, 'memory.swap.max')) && existsSync(join(dir, 'memory.max')))
          throw new BerthError(`${F}.memory.swap: this kernel has no swap accounting (no memory.swap.max)`);
        add('memory.swap.max', max(sw), `${F}.memory.swap`, mem);
      }
    }
    if (m.reservation !== undefined && m.reservation !== 0) add('memory.low', max(m.reservation), `${F}.memory.reservation`, mem);
    // disableOOMKiller, swappiness, useHierarchy, kernel*: no v2 counterpart (runc ignores them).
  }
  const c = r.cpu;
  if (c) {
    const cpu = { controller: 'cpu' };
    if (c.realtimeRuntime || c.realtimePeriod)
      throw new BerthError(`${F}.cpu.${c.realtimeRuntime ? 'realtimeRuntime' : 'realtimePeriod'}: realtime scheduling limits do not exist on cgroup v2`);
    if (c.shares) add('cpu.weight', sharesToWeight(c.shares), `${F}.cpu.shares`, cpu);
    if (c.quota || c.period) {
      const q = c.quota && c.quota > 0 ? String(c.quota) : 'max';
      add('cpu.max', c.period ? `${q} ${c.period}` : q, `${F}.cpu.${c.quota ? 'quota' : 'period'}`, cpu);
    }
    if (c.burst !== undefined) add('cpu.max.burst', c.burst, `${F}.cpu.burst`, cpu);
    if (c.idle !== undefined) add('cpu.idle', c.idle, `${F}.cpu.idle`, cpu);
    if (c.cpus) add('cpuset.cpus', c.cpus, `${F}.cpu.cpus`, { controller: 'cpuset' });
    if (c.mems) add('cpuset.mems', c.mems, `${F}.cpu.mems`, { controller: 'cpuset' });
  }
  if (r.pids?.limit !== undefined) add('pids.max', r.pids.limit <= 0 ? 'max' : r.pids.limit, `${F}.pids.limit`, { controller: 'pids' });
  const b = r.blockIO;
  if (b) {
    const io = { controller: 'io' };
    const bfq = existsSync(join(dir, 'io.bfq.weight'));
    if (b.weight) {
      if (bfq) add('io.bfq.weight', b.weight, `${F}.blockIO.weight`, io);
      else add('io.weight', `default ${blkioToIOWeight(b.weight)}`, `${F}.blockIO.weight`, io);
    }
    b.weightDevice?.forEach((d, i) => {
      if (!d.weight) return;
      if (bfq) add('io.bfq.weight', `${d.major}:${d.minor} ${d.weight}`, `${F}.blockIO.weightDevice[${i}]`, { ...io, multi: true });
      else add('io.weight', `${d.major}:${d.minor} ${blkioToIOWeight(d.weight)}`, `${F}.blockIO.weightDevice[${i}]`, { ...io, multi: true });
    });
    for (const [key, name] of [
      ['throttleReadBpsDevice', 'rbps'], ['throttleWriteBpsDevice', 'wbps'],
      ['throttleReadIOPSDevice', 'riops'], ['throttleWriteIOPSDevice', 'wiops'],
    ] as const)
      b[key]?.forEach((d, i) => add('io.max', `${d.major}:${d.minor} ${name}=${d.rate === 0 ? 'max' : d.rate}`, `${F}.blockIO.${key}[${i}]`, { ...io, multi: true }));
  }
  r.hugepageLimits?.forEach((l, i) => add(`hugetlb.${l.pageSize}.max`, max(l.limit), `${F}.hugepageLimits[${i}]`, { controller: 'hugetlb' }));
  if (r.rdma) for (const [dev, l] of Object.entries(r.rdma)) if (l) add('rdma.max', rdmaLine(dev, l), `${F}.rdma.${dev}`, { controller: 'rdma', multi: true });
  for (const [key, value] of Object.entries(r.unified ?? {})) {
    if (value === undefined) continue;
    const field = `${F}.unified[${JSON.stringify(key)}]`;
    // A key names one file of the container's own cgroup, nothing else.
    if (!key || key.includes('/') || key === '.' || key === '..' || !key.includes('.'))
      throw new BerthError(`${field}: not the name of a cgroup file`);
    const ctl = key.slice(0, key.indexOf('.'));
    add(key, value, field, ctl === 'cgroup' ? {} : { controller: ctl, multi: true });
  }
  // devices: an eBPF program on v2, not a file (./devices-bpf.ts, attached in placement.ts).
}

/** v2: turn on the controllers the writes need in every parent's cgroup.subtree_control. */
export function enableControllers(h: Hierarchy, dir: string, writes: CgroupWrite[]): void {
  const wanted = [...new Set(writes.map((w) => w.controller).filter((c): c is string => !!c))];
  if (!wanted.length) return;
  const available = (readTrim(join(h.mountpoint, 'cgroup.controllers')) ?? '').split(/\s+/);
  for (const c of wanted) {
    if (!available.includes(c)) {
      const w = writes.find((x) => x.controller === c)!;
      throw new BerthError(`${w.field}: the cgroup2 controller "${c}" is not available on this host (cgroup.controllers: ${available.join(' ') || 'none'})`);
    }
  }
  const chain: string[] = [];
  for (let d = dirname(dir); d.startsWith(h.mountpoint); d = dirname(d)) {
    chain.unshift(d);
    if (d === h.mountpoint) break;
  }
  for (const d of chain) {
    const have = (readTrim(join(d, 'cgroup.subtree_control')) ?? '').split(/\s+/);
    const missing = wanted.filter((c) => !have.includes(c));
    if (!missing.length) continue;
    try {
      writeFileSync(join(d, 'cgroup.subtree_control'), missing.map((c) => '+' + c).join(' '));
    } catch (e) {
      throw new BerthError(`enabling the cgroup2 controllers ${missing.join(' ')} in ${d}/cgroup.subtree_control: ${errnoText(e)}`);
    }
  }
}

/**
 * The files of one batch of writes, each opened once: a v1 devices.allow takes one
 * rule per write(2), and engines pass a dozen or more (Docker's defaults and ours),
 * each otherwise an open, a write and a close of its own.
 */
class OpenFiles {
  private readonly fds = new Map<string, number>();

  write(path: string, value: string): void {
    let fd = this.fds.get(path);
    if (fd === undefined) this.fds.set(path, (fd = openSync(path, 'w')));
    // A cgroup file takes a write whole or refuses it.
    if (writeSync(fd, value) !== Buffer.byteLength(value)) throw new Error('short write');
  }

  close(): void {
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
  }
}

/** Writes w; false when the kernel refused it with EINVAL and einvalOk. */
function writeOne(files: OpenFiles, w: CgroupWrite, einvalOk = false): boolean {
  try {
    files.write(join(w.dir, w.file), w.value);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EINVAL' && einvalOk) return false;
    let why = errnoText(e);
    if (code === 'ENOENT' || code === 'EACCES') {
      // A file that is not there: a controller the hierarchy lacks, or a knob this kernel does not have.
      why = existsSync(w.dir) ? `this kernel has no ${w.file} (${why})` : `the cgroup is gone (${why})`;
    }
    throw new BerthError(`setting ${w.field} (${join(w.dir, w.file)} = ${JSON.stringify(w.value)}): ${why}`);
  }
}

/**
 * Writes in order. With rollback, the old value of every single-valued file is
 * read first and written back, newest first, when a later write fails, so a
 * refused update leaves the limits as they were (multi-entry files such as io.max
 * cannot be restored by reading them back and stay as written).
 */
export function applyResourceWrites(hs: Hierarchy[], writes: CgroupWrite[], opts: { rollback?: boolean } = {}): void {
  if (isUnified(hs)) {
    const h = hs[0];
    for (const dir of new Set(writes.map((w) => w.dir))) enableControllers(h, dir, writes.filter((w) => w.dir === dir));
  }
  const undo: CgroupWrite[] = [];
  let again: CgroupWrite | undefined;
  const files = new OpenFiles();
  try {
    for (const w of writes) {
      if (opts.rollback && !w.multi) {
        const old = readTrim(join(w.dir, w.file));
        if (old !== undefined) undo.push({ ...w, value: old });
      }
      if (!writeOne(files, w, w.againAfterNext)) {
        again = w;
        continue;
      }
      if (again) writeOne(files, again);
      again = undefined;
    }
    if (again) writeOne(files, again);
  } catch (e) {
    // Old values can meet the same order constraints: what fails is tried once more after the rest.
    const failed = undo.reverse().filter((u) => !tryWrite(files, u));
    for (const u of failed) tryWrite(files, u);
    throw e;
  } finally {
    files.close();
  }
}

function tryWrite(files: OpenFiles, w: CgroupWrite): boolean {
  try {
    return writeOne(files, w);
  } catch {
    return false; // best effort: the error that matters is the first one
  }
}

// `update`: new limits for a running (or created, or paused) container, from a
// resources document (--resources FILE or - for stdin, validated against the
// resources schema) and/or runc's flags. The writes are planned in full before
// any is made, and a write the kernel refuses puts the earlier ones back.
import { BerthError } from '../errors';
import { cgroupManager } from '../cgroups/manager';
import type { LinuxResources } from '../spec/types';
import type { Container } from '../state/store';

/** runc's units.RAMInBytes: "512m", "1.5G", "1024", base 1024; "-1" is unlimited. */
export function parseBytes(text: string, flag: string): number {
  if (text.trim() === '-1') return -1;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgtp])?i?b?\s*$/i.exec(text);
  if (!m) throw new BerthError(`--${flag}: invalid size ${JSON.stringify(text)} (e.g. 512m, 2g, 1048576, -1)`);
  const exp = m[2] ? 'kmgtp'.indexOf(m[2].toLowerCase()) + 1 : 0;
  return Math.floor(Number(m[1]) * 1024 ** exp);
}

function int(v: unknown, flag: string): number {
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isInteger(n)) throw new BerthError(`--${flag}: not an integer: ${String(v)}`);
  return n;
}

/** The resources runc's update flags describe (flags not given are left out). */
export function resourcesFromFlags(a: Record<string, unknown>): LinuxResources {
  const r: LinuxResources = {};
  const has = (k: string) => a[k] !== undefined && a[k] !== '';
  const mem = (r.memory ??= {});
  if (has('memory')) mem.limit = parseBytes(String(a.memory), 'memory');
  if (has('memory-swap')) mem.swap = parseBytes(String(a['memory-swap']), 'memory-swap');
  if (has('memory-reservation')) mem.reservation = parseBytes(String(a['memory-reservation']), 'memory-reservation');
  if (has('kernel-memory')) mem.kernel = parseBytes(String(a['kernel-memory']), 'kernel-memory');
  if (has('kernel-memory-tcp')) mem.kernelTCP = parseBytes(String(a['kernel-memory-tcp']), 'kernel-memory-tcp');
  const cpu = (r.cpu ??= {});
  if (has('cpu-share')) cpu.shares = int(a['cpu-share'], 'cpu-share');
  if (has('cpu-period')) cpu.period = int(a['cpu-period'], 'cpu-period');
  if (has('cpu-quota')) cpu.quota = int(a['cpu-quota'], 'cpu-quota');
  if (has('cpu-burst')) cpu.burst = int(a['cpu-burst'], 'cpu-burst');
  if (has('cpu-rt-period')) cpu.realtimePeriod = int(a['cpu-rt-period'], 'cpu-rt-period');
  if (has('cpu-rt-runtime')) cpu.realtimeRuntime = int(a['cpu-rt-runtime'], 'cpu-rt-runtime');
  if (has('cpu-idle')) cpu.idle = int(a['cpu-idle'], 'cpu-idle');
  if (has('cpuset-cpus')) cpu.cpus = String(a['cpuset-cpus']);
  if (has('cpuset-mems')) cpu.mems = String(a['cpuset-mems']);
  if (has('blkio-weight')) r.blockIO = { weight: int(a['blkio-weight'], 'blkio-weight') };
  if (has('pids-limit')) r.pids = { limit: int(a['pids-limit'], 'pids-limit') };
  if (!Object.keys(mem).length) delete r.memory;
  if (!Object.keys(cpu).length) delete r.cpu;
  for (const f of ['l3-cache-schema', 'mem-bw-schema']) if (has(f)) throw new BerthError(`--${f}: Intel RDT is not supported`);
  return r;
}

/** Merges flag values over a resources document, one level deep (as flags name single fields). */
export function mergeResources(base: LinuxResources, over: LinuxResources): LinuxResources {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = b && typeof b === 'object' && !Array.isArray(b) && v && typeof v === 'object' && !Array.isArray(v) ? { ...b, ...v } : v;
  }
  return out as LinuxResources;
}

/**
 * Applies r to the container's cgroups and records the resources now in force in
 * its state (as runc keeps its config's), so a later update can build on them:
 * a swap limit alone is memory+swap over the memory limit already set.
 * The caller holds the container's lock and loaded c under it.
 */
export function updateContainer(c: Container, r: LinuxResources): void {
  const status = c.status();
  if (status === 'stopped' || status === 'creating') throw new BerthError(`cannot update container ${c.id}: it is ${status}`);
  const merged = mergeResources(c.saved.resources ?? {}, r);
  const limit = merged.memory?.limit;
  const apply = r.memory?.swap !== undefined && r.memory.limit === undefined && limit !== undefined ? { ...r, memory: { ...r.memory, limit } } : r;
  cgroupManager(c.saved.cgroups).update(apply);
  c.saved.resources = merged;
  c.save();
}

// Container statistics from its cgroups, in the shape runc's `events` prints
// (runc types/events.go: cpu, cpuset, memory, pids, blkio, hugetlb, ...), for v1
// hierarchies and cgroup2. Counters are uint64 in runc and can exceed 2^53 (an
// unlimited memory.max is 2^64-1), so values are bigints, written by toJson.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Hierarchy } from './hierarchies';
import { isUnified } from './hierarchies';

const MAX_U64 = 18446744073709551615n;
type U64 = bigint;

function read(dir: string | undefined, file: string): string | undefined {
  if (!dir) return undefined;
  try {
    return readFileSync(join(dir, file), 'latin1').trim();
  } catch {
    return undefined;
  }
}

function num(dir: string | undefined, file: string, maxIs: bigint = MAX_U64): U64 {
  const t = read(dir, file);
  if (t === undefined || t === '') return 0n;
  if (t === 'max') return maxIs;
  try {
    return BigInt(t.split(/\s+/)[0]);
  } catch {
    return 0n;
  }
}

/** "key value" lines (memory.stat, cpu.stat, memory.events ...). */
function keyed(dir: string | undefined, file: string): Record<string, U64> {
  const out: Record<string, U64> = {};
  // Sorted, as Go writes a map.
  for (const line of (read(dir, file) ?? '').split('\n').sort()) {
    const [k, v] = line.split(/\s+/);
    if (k && v && /^\d+$/.test(v)) out[k] = BigInt(v);
  }
  return out;
}

/** "0-2,5" -> [0,1,2,5] */
function cpuList(text: string | undefined): number[] {
  const out: number[] = [];
  for (const part of (text ?? '').split(',')) {
    if (!part) continue;
    const [a, b] = part.split('-').map(Number);
    for (let i = a; i <= (b ?? a); i++) out.push(i);
  }
  return out;
}

/** Hugepage sizes as the cgroup files name them: 2MB, 1GB. */
function hugepageSizes(): string[] {
  try {
    return readdirSync('/sys/kernel/mm/hugepages').map((d) => {
      const kb = Number(/hugepages-(\d+)kB/.exec(d)?.[1] ?? 0);
      return kb >= 1 << 20 ? `${kb >> 20}GB` : kb >= 1 << 10 ? `${kb >> 10}MB` : `${kb}KB`;
    }).sort();
  } catch {
    return [];
  }
}

// Go's omitempty: zero numbers, empty strings, empty lists and maps are left out.
function omit(o: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  for (const k of keys) {
    const v = o[k];
    if (v === 0n || v === 0 || v === '' || v === undefined || (Array.isArray(v) && !v.length) || (v && typeof v === 'object' && !Array.isArray(v) && !Object.keys(v).length)) delete o[k];
  }
  return o;
}

function memEntry(limit: U64, usage: U64, max: U64, failcnt: U64) {
  return omit({ limit, usage, max, failcnt }, ['usage', 'max']);
}

interface Blk { major: U64; minor: U64; op: string; value: U64 }
const blk = (major: U64, minor: U64, op: string, value: U64) => omit({ major, minor, op, value }, ['major', 'minor', 'op', 'value']) as unknown as Blk;

export function collectStats(hs: Hierarchy[], dirs: string[]): Record<string, unknown> {
  const dirOf = (pred: (h: Hierarchy) => boolean) => {
    const h = hs.find(pred);
    return h && dirs.find((d) => d === h.mountpoint || d.startsWith(h.mountpoint + '/'));
  };
  return isUnified(hs) ? statsV2(dirOf((h) => h.version === 2)!) : statsV1((c) => dirOf((h) => h.controllers.includes(c)));
}

function statsV2(dir: string): Record<string, unknown> {
  const cs = keyed(dir, 'cpu.stat');
  const cpu = {
    usage: omit({ total: (cs.usage_usec ?? 0n) * 1000n, kernel: (cs.system_usec ?? 0n) * 1000n, user: (cs.user_usec ?? 0n) * 1000n }, ['total']),
    throttling: omit({ periods: cs.nr_periods ?? 0n, throttledPeriods: cs.nr_throttled ?? 0n, throttledTime: (cs.throttled_usec ?? 0n) * 1000n }, ['periods', 'throttledPeriods', 'throttledTime']),
  };
  const cpuset = omit({
    cpus: cpuList(read(dir, 'cpuset.cpus.effective')), cpu_exclusive: 0n, mems: cpuList(read(dir, 'cpuset.mems.effective')),
    mem_hardwall: 0n, mem_exclusive: 0n, memory_migrate: 0n, memory_spread_page: 0n, memory_spread_slab: 0n, memory_pressure: 0n, sched_load_balance: 0n, sched_relax_domain_level: 0n,
  }, ['cpus', 'mems']);
  const raw = keyed(dir, 'memory.stat');
  const events = keyed(dir, 'memory.events');
  const usage = num(dir, 'memory.current');
  const limit = num(dir, 'memory.max');
  const swapUsage = num(dir, 'memory.swap.current');
  const swapMax = num(dir, 'memory.swap.max');
  // As runc: v1 counted swap as memory+swap; v2 reports it that way too.
  const memory = omit({
    cache: raw.file ?? 0n,
    usage: memEntry(limit, usage, num(dir, 'memory.peak'), events.max ?? 0n),
    swap: memEntry(swapMax === MAX_U64 ? MAX_U64 : swapMax + limit, swapUsage + usage, num(dir, 'memory.swap.peak'), events.max ?? 0n),
    kernel: memEntry(0n, 0n, 0n, 0n),
    kernelTCP: memEntry(0n, 0n, 0n, 0n),
    raw,
  }, ['cache', 'raw']);
  const pids = omit({ current: num(dir, 'pids.current'), limit: num(dir, 'pids.max', 0n) }, ['current', 'limit']);
  const bytes: Blk[] = [];
  const ios: Blk[] = [];
  for (const line of (read(dir, 'io.stat') ?? '').split('\n')) {
    const m = /^(\d+):(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const f: Record<string, U64> = {};
    for (const kv of m[3].split(/\s+/)) {
      const [k, v] = kv.split('=');
      if (v && /^\d+$/.test(v)) f[k] = BigInt(v);
    }
    const [ma, mi] = [BigInt(m[1]), BigInt(m[2])];
    bytes.push(blk(ma, mi, 'Read', f.rbytes ?? 0n), blk(ma, mi, 'Write', f.wbytes ?? 0n));
    ios.push(blk(ma, mi, 'Read', f.rios ?? 0n), blk(ma, mi, 'Write', f.wios ?? 0n));
  }
  const blkio = omit({ ioServiceBytesRecursive: bytes, ioServicedRecursive: ios }, ['ioServiceBytesRecursive', 'ioServicedRecursive']);
  const hugetlb: Record<string, unknown> = {};
  for (const size of hugepageSizes()) {
    if (read(dir, `hugetlb.${size}.current`) === undefined) continue;
    hugetlb[size] = omit({ usage: num(dir, `hugetlb.${size}.current`), max: 0n, failcnt: keyed(dir, `hugetlb.${size}.events`).max ?? 0n }, ['usage', 'max']);
  }
  return { cpu, cpuset, memory, pids, blkio, hugetlb, intel_rdt: {}, network_interfaces: null };
}

function statsV1(dirOf: (controller: string) => string | undefined): Record<string, unknown> {
  const acct = dirOf('cpuacct');
  // cpuacct.stat counts USER_HZ (100/s) ticks.
  const st = keyed(acct, 'cpuacct.stat');
  const percpu = (read(acct, 'cpuacct.usage_percpu') ?? '').split(/\s+/).filter(Boolean).map(BigInt);
  const all = (read(acct, 'cpuacct.usage_all') ?? '').split('\n').slice(1).map((l) => l.trim().split(/\s+/)).filter((f) => f.length === 3);
  const cs = keyed(dirOf('cpu'), 'cpu.stat');
  const cpu = {
    usage: omit({
      total: num(acct, 'cpuacct.usage'), percpu, percpu_kernel: all.map((f) => BigInt(f[2])), percpu_user: all.map((f) => BigInt(f[1])),
      kernel: (st.system ?? 0n) * 10_000_000n, user: (st.user ?? 0n) * 10_000_000n,
    }, ['total', 'percpu', 'percpu_kernel', 'percpu_user']),
    throttling: omit({ periods: cs.nr_periods ?? 0n, throttledPeriods: cs.nr_throttled ?? 0n, throttledTime: cs.throttled_time ?? 0n }, ['periods', 'throttledPeriods', 'throttledTime']),
  };
  const cd = dirOf('cpuset');
  const cpuset = omit({
    cpus: cpuList(read(cd, 'cpuset.cpus')), cpu_exclusive: num(cd, 'cpuset.cpu_exclusive'), mems: cpuList(read(cd, 'cpuset.mems')),
    mem_hardwall: num(cd, 'cpuset.mem_hardwall'), mem_exclusive: num(cd, 'cpuset.mem_exclusive'), memory_migrate: num(cd, 'cpuset.memory_migrate'),
    memory_spread_page: num(cd, 'cpuset.memory_spread_page'), memory_spread_slab: num(cd, 'cpuset.memory_spread_slab'),
    memory_pressure: num(cd, 'cpuset.memory_pressure'), sched_load_balance: num(cd, 'cpuset.sched_load_balance'),
    sched_relax_domain_level: BigInt(read(cd, 'cpuset.sched_relax_domain_level') || '0'),
  }, ['cpus', 'mems']);
  const md = dirOf('memory');
  const entry = (p: string) => memEntry(num(md, `${p}.limit_in_bytes`), num(md, `${p}.usage_in_bytes`), num(md, `${p}.max_usage_in_bytes`), num(md, `${p}.failcnt`));
  const raw = keyed(md, 'memory.stat');
  const memory = omit({
    cache: raw.cache ?? 0n, usage: entry('memory'), swap: entry('memory.memsw'), kernel: entry('memory.kmem'), kernelTCP: entry('memory.kmem.tcp'), raw,
  }, ['cache', 'raw']);
  const pd = dirOf('pids');
  const pids = omit({ current: num(pd, 'pids.current'), limit: num(pd, 'pids.max', 0n) }, ['current', 'limit']);
  const bd = dirOf('blkio');
  const entries = (file: string): Blk[] => (read(bd, file) ?? '').split('\n').flatMap((l) => {
    const m = /^(\d+):(\d+)\s+(\S+)\s+(\d+)$/.exec(l);
    return m ? [blk(BigInt(m[1]), BigInt(m[2]), m[3], BigInt(m[4]))] : [];
  });
  const bytes = entries('blkio.io_service_bytes_recursive');
  const blkio = omit({
    ioServiceBytesRecursive: bytes.length ? bytes : entries('blkio.throttle.io_service_bytes_recursive'),
    ioServicedRecursive: bytes.length ? entries('blkio.io_serviced_recursive') : entries('blkio.throttle.io_serviced_recursive'),
  }, ['ioServiceBytesRecursive', 'ioServicedRecursive']);
  const hd = dirOf('hugetlb');
  const hugetlb: Record<string, unknown> = {};
  if (hd)
    for (const size of hugepageSizes())
      hugetlb[size] = omit({ usage: num(hd, `hugetlb.${size}.usage_in_bytes`), max: num(hd, `hugetlb.${size}.max_usage_in_bytes`), failcnt: num(hd, `hugetlb.${size}.failcnt`) }, ['usage', 'max']);
  return { cpu, cpuset, memory, pids, blkio, hugetlb, intel_rdt: {}, network_interfaces: null };
}

/** The container's directory in the hierarchy with the memory controller (the unified one on v2). */
export function memoryDir(hs: Hierarchy[], dirs: string[]): string | undefined {
  const h = isUnified(hs) ? hs[0] : hs.find((x) => x.controllers.includes('memory'));
  return h && dirs.find((d) => d === h.mountpoint || d.startsWith(h.mountpoint + '/'));
}

/** How many times the kernel's OOM killer acted in the container's memory cgroup. */
export function oomKills(hs: Hierarchy[], dirs: string[]): bigint {
  const dir = memoryDir(hs, dirs);
  if (!dir) return 0n;
  return keyed(dir, isUnified(hs) ? 'memory.events' : 'memory.oom_control').oom_kill ?? 0n;
}

/** JSON with bigints written as plain numbers (as Go writes uint64). */
export function toJson(v: unknown): string {
  return JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? `\u0000${x}\u0000` : x)).replace(/"\\u0000(-?\d+)\\u0000"/g, '$1');
}

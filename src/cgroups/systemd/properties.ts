// linux.resources and org.systemd.property.* annotations -> the properties of a
// transient systemd unit, with runc's conversions. systemd writes these to the
// unit's cgroup itself (and again whenever it re-applies the unit), so they must
// agree with what berth then writes to the files (../resources.ts) for the rest.
import { existsSync } from 'node:fs';
import { BerthError } from '../../errors';
import type { LinuxResources } from '../../spec/types';
import type { DeviceRule } from '../placement';
import { emulateV1 } from '../devices-bpf';
import { blkioToIOWeight, sharesToWeight, swapToV2 } from '../resources';
import type { Value } from './dbus';
import { readKernelFile } from '../../state/proc';

/** One entry of a(sv): name, [signature, value]. */
export type Property = [string, [string, Value]];

const INFINITY = 0xffffffffffffffffn; // systemd's CGROUP_LIMIT_MAX and USEC_INFINITY
// The first systemd versions that know these properties (as runc checks them);
// an older one would refuse the unit: berth then leaves them to the files it writes.
const CPU_QUOTA_PERIOD_SINCE = 242;
const ALLOWED_CPUS_SINCE = 244;

/** systemd's version number from its manager's Version property ("252.22-1~deb12u1", "v245.4-4ubuntu3"), or -1 when it has none. */
export function systemdVersionNumber(text: string): number {
  const m = /^v?(\d+)/.exec(text.trim());
  return m ? Number(m[1]) : -1;
}
const DEFAULT_CPU_PERIOD = 100000;
const F = 'linux.resources';

const t = (name: string, v: number | bigint): Property => [name, ['t', typeof v === 'bigint' ? v : v < 0 ? INFINITY : BigInt(v)]];

/** "0-3,8" -> systemd's CPU/NUMA node mask: byte i, bit j is number 8i+j. */
export function listToMask(list: string, field: string): Buffer {
  const bits: number[] = [];
  for (const part of list.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m || (m[2] !== undefined && Number(m[2]) < Number(m[1])) || Number(m[2] ?? m[1]) > 65535)
      throw new BerthError(`${field}: invalid list ${JSON.stringify(list)} (e.g. 0-3,8)`);
    for (let i = Number(m[1]); i <= Number(m[2] ?? m[1]); i++) bits.push(i);
  }
  const mask = Buffer.alloc(bits.length ? (Math.max(...bits) >> 3) + 1 : 0);
  for (const b of bits) mask[b >> 3] |= 1 << (b & 7);
  return mask;
}

/** CPUQuotaPerSecUSec for quota/period, rounded up to whole percents of a CPU as runc does
 * (systemd keeps a percentage; berth writes the exact cpu.max afterwards). */
function cpuQuota(quota: number | undefined, period: number | undefined, version: number): Property[] {
  const out: Property[] = [];
  if (period && version >= CPU_QUOTA_PERIOD_SINCE) out.push(t('CPUQuotaPeriodUSec', period));
  if (quota || period) {
    let perSec = INFINITY;
    if (quota && quota > 0) {
      let us = Math.floor((quota * 1_000_000) / (period || DEFAULT_CPU_PERIOD));
      if (us % 10000) us = (Math.floor(us / 10000) + 1) * 10000;
      perSec = BigInt(us);
    }
    out.push(['CPUQuotaPerSecUSec', ['t', perSec]]);
  }
  return out;
}

/** The resources systemd (of that version, -1: unknown) can express. */
export function resourceProperties(r: LinuxResources | undefined, devices: DeviceRule[] | undefined, version: number): Property[] {
  const out: Property[] = [];
  const m = r?.memory;
  if (m) {
    if (m.limit !== undefined && m.limit !== 0) out.push(t('MemoryMax', m.limit));
    if (m.reservation !== undefined && m.reservation !== 0) out.push(t('MemoryLow', m.reservation));
    if (m.swap !== undefined || m.limit === -1) {
      const sw = swapToV2(m.swap ?? 0, m.limit);
      if (sw !== 0) out.push(t('MemorySwapMax', sw));
    }
  }
  const c = r?.cpu;
  if (c) {
    if (c.shares) out.push(t('CPUWeight', sharesToWeight(c.shares)));
    out.push(...cpuQuota(c.quota, c.period, version));
    const cpus = c.cpus && listToMask(c.cpus, `${F}.cpu.cpus`);
    const mems = c.mems && listToMask(c.mems, `${F}.cpu.mems`);
    if (cpus && version >= ALLOWED_CPUS_SINCE) out.push(['AllowedCPUs', ['ay', [...cpus]]]);
    if (mems && version >= ALLOWED_CPUS_SINCE) out.push(['AllowedMemoryNodes', ['ay', [...mems]]]);
  }
  const pids = r?.pids?.limit;
  if (pids !== undefined && (pids > 0 || pids === -1)) out.push(t('TasksMax', pids));
  if (r?.blockIO?.weight) out.push(t('IOWeight', blkioToIOWeight(r.blockIO.weight)));
  out.push(...unifiedProperties(r?.unified, version));
  if (devices) out.push(...deviceProperties(devices));
  return out;
}

/** The linux.resources.unified keys systemd has properties for (runc converts the same). */
function unifiedProperties(u: Record<string, string | undefined> | undefined, version: number): Property[] {
  const out: Property[] = [];
  for (const [key, value] of Object.entries(u ?? {})) {
    if (value === undefined) continue;
    const field = `${F}.unified[${JSON.stringify(key)}]`;
    const num = (v: string, inf = 'max'): bigint => {
      if (v.trim() === inf) return INFINITY;
      if (!/^\s*\d+\s*$/.test(v)) throw new BerthError(`${field}: not a number: ${JSON.stringify(value)}`);
      return BigInt(v.trim());
    };
    switch (key) {
      case 'cpu.weight': out.push(['CPUWeight', ['t', num(value, '')]]); break;
      case 'cpu.max': {
        const [q, p] = value.trim().split(/\s+/);
        out.push(...cpuQuota(q === 'max' ? -1 : Number(num(q)), p === undefined ? undefined : Number(num(p)), version));
        break;
      }
      case 'cpuset.cpus':
      case 'cpuset.mems': {
        const mask = listToMask(value, field);
        if (version >= ALLOWED_CPUS_SINCE) out.push([key === 'cpuset.cpus' ? 'AllowedCPUs' : 'AllowedMemoryNodes', ['ay', [...mask]]]);
        break;
      }
      case 'memory.min': out.push(['MemoryMin', ['t', num(value)]]); break;
      case 'memory.low': out.push(['MemoryLow', ['t', num(value)]]); break;
      case 'memory.high': out.push(['MemoryHigh', ['t', num(value)]]); break;
      case 'memory.max': out.push(['MemoryMax', ['t', num(value)]]); break;
      case 'memory.swap.max': out.push(['MemorySwapMax', ['t', num(value)]]); break;
      case 'pids.max': out.push(['TasksMax', ['t', num(value)]]); break;
      default: // written to the file only
    }
  }
  return out;
}

const ACCESS: [number, string][] = [[2, 'r'], [4, 'w'], [1, 'm']];

/** The major's group name in /proc/devices ("char-pts"), for a major:* rule. */
function deviceGroup(type: number, major: number): string | undefined {
  let section = 0;
  for (const line of readKernelFile('/proc/devices').split('\n')) {
    if (line.startsWith('Character devices:')) section = 2;
    else if (line.startsWith('Block devices:')) section = 1;
    const m = /^\s*(\d+)\s+(\S+)$/.exec(line);
    if (m && section === type && Number(m[1]) === major) return `${type === 2 ? 'char' : 'block'}-${m[2]}`;
  }
  return undefined;
}

/**
 * Device rules as DevicePolicy/DeviceAllow, as runc words them: strict with an
 * allow list; allow-all as auto; rules systemd cannot say (a deny list, *:N) are
 * left to berth's own eBPF program, which replaces systemd's on the cgroup.
 */
export function deviceProperties(rules: DeviceRule[]): Property[] {
  const { allowAll, exceptions } = emulateV1(rules);
  if (allowAll) return exceptions.length ? [['DevicePolicy', ['s', 'strict']], ['DeviceAllow', ['a(ss)', []]]] : [['DevicePolicy', ['s', 'auto']], ['DeviceAllow', ['a(ss)', []]]];
  const allow: [string, string][] = [];
  for (const e of exceptions) {
    const kind = e.type === 1 ? 'block' : 'char';
    let path: string | undefined;
    if (e.major < 0) path = e.minor < 0 ? `${kind}-*` : undefined;
    else if (e.minor < 0) path = deviceGroup(e.type, e.major);
    else {
      path = `/dev/${kind}/${e.major}:${e.minor}`;
      // systemd warns about a path that is not there; the eBPF program covers it anyway.
      if (!existsSync(path) && !existsSync(`/sys${path}`)) path = undefined;
    }
    if (path) allow.push([path, ACCESS.filter(([bit]) => e.access & bit).map(([, ch]) => ch).join('')]);
  }
  // An empty DeviceAllow first clears what the unit had: a list only adds to it.
  return [['DevicePolicy', ['s', 'strict']], ['DeviceAllow', ['a(ss)', []]], ['DeviceAllow', ['a(ss)', allow]]];
}

const PREFIX = 'org.systemd.property.';

/**
 * org.systemd.property.NAME annotations as unit properties (runc's
 * docs/systemd-properties.md): the value in GVariant text form ("uint64 123",
 * "true", "'text'", "['a', 'b']"); a NAME ending in a lowercase letter and "Sec"
 * takes seconds and becomes NAMEUSec in microseconds.
 */
export function annotationProperties(annotations: Record<string, string> | undefined): Property[] {
  const out: Property[] = [];
  for (const [k, v] of Object.entries(annotations ?? {})) {
    if (!k.startsWith(PREFIX)) continue;
    let name = k.slice(PREFIX.length);
    const field = `annotations[${JSON.stringify(k)}]`;
    if (name.length < 3 || !/^[A-Za-z]+$/.test(name)) throw new BerthError(`${field}: ${JSON.stringify(name)} is not a systemd property name (letters only, at least 3)`);
    let value: [string, Value];
    try {
      value = parseGVariant(v);
    } catch (e) {
      throw new BerthError(`${field}: cannot parse ${JSON.stringify(v)} as a GVariant value: ${(e as Error).message}`);
    }
    if (/[a-z]Sec$/.test(name)) {
      if (!'ynqiuxtd'.includes(value[0])) throw new BerthError(`${field}: ${name} takes a number of seconds`);
      name = name.slice(0, -3) + 'USec';
      value = ['t', BigInt(Math.round(Number(value[1]) * 1_000_000))];
    }
    out.push([name, value]);
  }
  return out;
}

const TYPE_WORDS: Record<string, string> = { boolean: 'b', byte: 'y', int16: 'n', uint16: 'q', int32: 'i', uint32: 'u', int64: 'x', uint64: 't', double: 'd', string: 's', objectpath: 'o', signature: 'g' };

/** A subset of GVariant's text format: scalars (with or without a type word or @T),
 * quoted strings, and arrays of them. */
export function parseGVariant(text: string): [string, Value] {
  let s = text.trim();
  let type: string | undefined;
  const word = /^([a-z]+[0-9]*)\s+/.exec(s);
  if (word && TYPE_WORDS[word[1]]) {
    type = TYPE_WORDS[word[1]];
    s = s.slice(word[0].length);
  } else if (s.startsWith('@')) {
    const m = /^@(\S+)\s*/.exec(s)!;
    type = m[1];
    s = s.slice(m[0].length);
  }
  if (s.startsWith('[')) {
    if (!s.endsWith(']')) throw new Error('unterminated array');
    const items = splitItems(s.slice(1, -1));
    const elemType = type?.startsWith('a') ? type.slice(1) : undefined;
    const parsed = items.map((it) => scalar(it, elemType));
    const et = elemType ?? parsed[0]?.[0];
    if (!et) throw new Error('an empty array needs a type (@as [])');
    if (parsed.some(([pt]) => pt !== et)) throw new Error('array items of different types');
    return ['a' + et, parsed.map(([, pv]) => pv)];
  }
  return scalar(s, type);
}

function splitItems(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (quote) {
      cur += ch;
      if (ch === '\\') cur += s[++i] ?? '';
      else if (ch === quote) quote = '';
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      cur += ch;
    } else if (ch === ',') {
      out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (quote) throw new Error('unterminated string');
  if (cur.trim()) out.push(cur.trim());
  return out;
}

function scalar(s: string, type: string | undefined): [string, Value] {
  if (/^(['"]).*\1$/s.test(s)) {
    if (type && !'sog'.includes(type)) throw new Error(`a string where ${type} is wanted`);
    return [type ?? 's', s.slice(1, -1).replace(/\\(.)/g, '$1')];
  }
  if (s === 'true' || s === 'false') {
    if (type && type !== 'b') throw new Error(`a boolean where ${type} is wanted`);
    return ['b', s === 'true'];
  }
  if (/^-?\d+$/.test(s)) {
    const ty = type ?? 'i';
    if (ty === 'd') return ['d', Number(s)];
    if (!'ynqiuxt'.includes(ty)) throw new Error(`a number where ${ty} is wanted`);
    const n = BigInt(s);
    const bits = { y: 8, n: 16, q: 16, i: 32, u: 32, x: 64, t: 64 }[ty]!;
    const signed = 'nix'.includes(ty);
    const lo = signed ? -(1n << BigInt(bits - 1)) : 0n;
    const hi = signed ? (1n << BigInt(bits - 1)) - 1n : (1n << BigInt(bits)) - 1n;
    if (n < lo || n > hi) throw new Error(`${s} is out of range for ${ty}`);
    return [ty, ty === 'x' || ty === 't' ? n : Number(n)];
  }
  if (/^-?\d*\.\d+(e-?\d+)?$/i.test(s) && (!type || type === 'd')) return ['d', Number(s)];
  throw new Error('not a boolean, number, quoted string or array');
}

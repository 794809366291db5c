// linux.seccomp -> a BPF program for berth-init, compiled here in the CLI process.
//
// Policy (this file): what each config string means, what is refused, which rules
// runc would leave out or split. Mechanism (addon/napi/seccomp.cc): libseccomp
// builds the filter and exports it as BPF. Why libseccomp rather than a compiler
// of our own: its syscall tables per architecture (x86's multiplexed socketcall and
// ipc, x32's numbers) and its argument comparison code are what runc, crun and the
// engines' profiles are written against, so a filter behaves exactly as under runc;
// and it is fast enough (Docker's default profile compiles in about 10 ms, and a
// compiled filter is cached by its content, under 1 ms from there), so a compiler of our own would only add risk.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BerthError } from '../errors';
import { logDebug } from '../log/log';
import { native } from '../native/addon';
import type { LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg } from '../spec/types';

/** seccomp(2) filter flags (linux/seccomp.h). */
export const FILTER_FLAG = {
  TSYNC: 1,
  LOG: 2,
  SPEC_ALLOW: 4,
  NEW_LISTENER: 8,
  TSYNC_ESRCH: 16,
  WAIT_KILLABLE_RECV: 32,
} as const;

export const CONFIG_FLAGS: Record<string, number> = {
  SECCOMP_FILTER_FLAG_TSYNC: FILTER_FLAG.TSYNC,
  SECCOMP_FILTER_FLAG_LOG: FILTER_FLAG.LOG,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: FILTER_FLAG.SPEC_ALLOW,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: FILTER_FLAG.WAIT_KILLABLE_RECV,
};

/** The kernel's limit on a classic BPF program (BPF_MAXINSNS). */
export const MAX_INSNS = 4096;
/** Rules (names x entries) berth compiles at most: far above any real profile. */
export const MAX_RULES = 4096;

// libseccomp's action values (seccomp.h): SCMP_ACT_ERRNO(x) and SCMP_ACT_TRACE(x)
// carry their 16-bit data in the low bits.
export const ACTION: Record<LinuxSeccompAction, number> = {
  // runc: SCMP_ACT_KILL kills the thread, as libseccomp's SCMP_ACT_KILL does.
  SCMP_ACT_KILL: 0x00000000,
  SCMP_ACT_KILL_THREAD: 0x00000000,
  SCMP_ACT_KILL_PROCESS: 0x80000000,
  SCMP_ACT_TRAP: 0x00030000,
  SCMP_ACT_ERRNO: 0x00050000,
  SCMP_ACT_TRACE: 0x7ff00000,
  SCMP_ACT_LOG: 0x7ffc0000,
  SCMP_ACT_NOTIFY: 0x7fc00000,
  SCMP_ACT_ALLOW: 0x7fff0000,
};
const EPERM = 1;
const ENOSYS = 38;

export const OPERATOR: Record<string, number> = {
  SCMP_CMP_NE: 1,
  SCMP_CMP_LT: 2,
  SCMP_CMP_LE: 3,
  SCMP_CMP_EQ: 4,
  SCMP_CMP_GE: 5,
  SCMP_CMP_GT: 6,
  SCMP_CMP_MASKED_EQ: 7,
};

/** What the addon compiles: libseccomp's numbers and names. */
export interface FilterDescription {
  defaultAction: number;
  arches: string[];
  optimize: boolean;
  rules: { names: string[]; action: number; conds: [number, number, bigint, bigint][] }[];
  /**
   * runc's -ENOSYS stub: every syscall name of the profile (the rules left out
   * too); on each architecture, calls numbered above the largest of them get
   * ENOSYS. Empty when the default action lets calls through or is ENOSYS already.
   */
  enosysNames: string[];
}

export interface CompiledSeccomp {
  /** The BPF program: an array of struct sock_filter (8 bytes each). */
  bpf: Buffer;
  /** seccomp(2) flags berth-init passes, SECCOMP_FILTER_FLAG_NEW_LISTENER included when there is a listener. */
  flags: number;
  /** Where the notify fd goes (SCMP_ACT_NOTIFY rules only). */
  listener?: { path: string; metadata: string };
  /** Syscall names unknown to libseccomp, left out (runc does the same). */
  skipped: string[];
}

const fail = (field: string, why: string): never => {
  throw new BerthError(`${field}: ${why}`);
};

function action(name: LinuxSeccompAction, errnoRet: number | undefined, field: string): number {
  const base = ACTION[name];
  if (base === undefined) fail(field, `unknown action ${JSON.stringify(name)}`);
  if (name === 'SCMP_ACT_ERRNO' || name === 'SCMP_ACT_TRACE') {
    const e = errnoRet ?? EPERM;
    if (!Number.isInteger(e) || e < 0 || e > 0xffff) fail(field, `errno ${e} does not fit a seccomp return value (0-65535)`);
    return (base | e) >>> 0;
  }
  // config-linux.md: "When the action doesn't support an errno, the runtime MUST
  // print and error and fail."
  if (errnoRet !== undefined) fail(field, `${name} takes no errnoRet (only SCMP_ACT_ERRNO and SCMP_ACT_TRACE do)`);
  return base;
}

// JSON numbers are doubles: 2^64-1 arrives rounded up to 2^64.
function u64(n: number, field: string): bigint {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) fail(field, `${n} is not an unsigned 64-bit value`);
  return n >= 18446744073709551615 ? 0xffffffffffffffffn : BigInt(n);
}

const ARCH_PREFIX = 'SCMP_ARCH_';

/** Checks the section and turns it into what libseccomp is given. */
export function describeSeccomp(s: LinuxSeccomp, field = 'linux.seccomp'): FilterDescription & { flags: number; listener?: CompiledSeccomp['listener'] } {
  const defaultAction = action(s.defaultAction, s.defaultErrnoRet, `${field}.defaultAction`);
  // runc refuses it too: the listener could not get the fd before the first call.
  if (s.defaultAction === 'SCMP_ACT_NOTIFY') fail(`${field}.defaultAction`, 'SCMP_ACT_NOTIFY cannot be the default action');
  const arches = (s.architectures ?? []).map((a, i) => {
    if (typeof a !== 'string' || !a.startsWith(ARCH_PREFIX)) fail(`${field}.architectures[${i}]`, `unknown architecture ${JSON.stringify(a)}`);
    return a.slice(ARCH_PREFIX.length).toLowerCase();
  });
  let flags = 0;
  (s.flags ?? []).forEach((f, i) => {
    const bit = CONFIG_FLAGS[f];
    if (bit === undefined) fail(`${field}.flags[${i}]`, `unknown flag ${JSON.stringify(f)}`);
    flags |= bit;
  });
  if (s.listenerMetadata !== undefined && s.listenerPath === undefined)
    fail(`${field}.listenerMetadata`, 'is set without listenerPath');

  const rules: FilterDescription['rules'] = [];
  const allNames = new Set<string>();
  let count = 0;
  let notify = false;
  (s.syscalls ?? []).forEach((sc, i) => {
    const f = `${field}.syscalls[${i}]`;
    if (!Array.isArray(sc.names) || sc.names.length === 0) fail(`${f}.names`, 'must name at least one syscall');
    sc.names.forEach((n, k) => {
      if (typeof n !== 'string' || n === '') fail(`${f}.names[${k}]`, 'an empty syscall name');
    });
    const act = action(sc.action, sc.errnoRet, `${f}.action`);
    for (const n of sc.names) allNames.add(n);
    if (sc.action === 'SCMP_ACT_NOTIFY') {
      notify = true;
      // berth-init reports the notify fd with write(2): a write that waits for the
      // listener would never return (runc refuses this too).
      if (sc.names.includes('write')) fail(`${f}.names`, 'SCMP_ACT_NOTIFY cannot be used for the write syscall');
    }
    const args = sc.args ?? [];
    const conds = args.map((a: LinuxSeccompArg, k): [number, number, bigint, bigint] => {
      const af = `${f}.args[${k}]`;
      if (!Number.isInteger(a.index) || a.index < 0 || a.index > 5) fail(`${af}.index`, `a syscall has arguments 0 to 5, not ${a.index}`);
      const op = OPERATOR[a.op];
      if (op === undefined) fail(`${af}.op`, `unknown operator ${JSON.stringify(a.op)}`);
      return [a.index, op, u64(a.value, `${af}.value`), u64(a.valueTwo ?? 0, `${af}.valueTwo`)];
    });
    // As runc: a rule with the default's action changes nothing and is left out.
    if (act === defaultAction) return;
    count += sc.names.length;
    if (count > MAX_RULES) fail(`${field}.syscalls`, `more than ${MAX_RULES} rules (syscall names over all entries)`);
    // As runc: several conditions on one argument are alternatives (one rule each);
    // conditions on different arguments must all hold (one rule).
    const perIndex = new Set(conds.map((c) => c[0]));
    if (perIndex.size < conds.length) for (const c of conds) rules.push({ names: sc.names, action: act, conds: [c] });
    else rules.push({ names: sc.names, action: act, conds });
  });

  let listener: CompiledSeccomp['listener'];
  if (notify) {
    if (!s.listenerPath) fail(`${field}.listenerPath`, 'SCMP_ACT_NOTIFY needs a listenerPath to send the notify fd to');
    listener = { path: s.listenerPath!, metadata: s.listenerMetadata ?? '' };
    flags |= FILTER_FLAG.NEW_LISTENER;
    // TSYNC and a listener together need TSYNC_ESRCH (seccomp(2)).
    if (flags & FILTER_FLAG.TSYNC) flags |= FILTER_FLAG.TSYNC_ESRCH;
  } else if (flags & FILTER_FLAG.WAIT_KILLABLE_RECV) {
    // The kernel takes it only with a listener; without one it means nothing.
    logDebug('seccomp: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV without SCMP_ACT_NOTIFY rules is ignored');
    flags &= ~FILTER_FLAG.WAIT_KILLABLE_RECV;
  }
  // As runc: no stub when the default lets calls through (a tracer handles new
  // calls itself) or already answers ENOSYS.
  const passes = ['SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_TRACE'].includes(s.defaultAction);
  const enosysNames = passes || (s.defaultAction === 'SCMP_ACT_ERRNO' && s.defaultErrnoRet === ENOSYS) ? [] : [...allNames];
  // runc turns on libseccomp's binary tree of syscalls for larger profiles.
  return { defaultAction, arches, optimize: (s.syscalls?.length ?? 0) > 32, rules, enosysNames, flags, listener };
}

interface SeccompAddon {
  seccompCompile(d: FilterDescription): { bpf: Buffer; skipped: string[] };
  seccompFlagSupported(flags: number): boolean;
  seccompVersion(): string;
  /** The file name of a cache entry for key (a hash: the entry's text is compared). */
  seccompCacheName(key: Buffer): string;
}

/**
 * Where compiled filters are kept: a directory under --root whose name no
 * container id can have ('@' is not allowed in ids), so `list` never sees it.
 */
export const CACHE_DIR = '@seccomp-cache';

const flagChecked = new Map<number, boolean>();

/**
 * A cache entry is the full text of what libseccomp was given (this version line,
 * then the description as JSON), a NUL byte, then the BPF program. The file name
 * is only a hash of that text, so an entry is used only when its text is the
 * same, byte for byte: a colliding or damaged file is compiled over, never run.
 */
const CACHE_VERSION = 'berth-seccomp-cache-3';

/** The BPF program of the entry in file if it was compiled from key, else undefined. */
function readCached(file: string, key: Buffer): Buffer | undefined {
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch {
    return undefined; // not compiled yet
  }
  const bpf = data.subarray(key.length + 1);
  const same = data.length > key.length && data[key.length] === 0 && key.compare(data, 0, key.length) === 0;
  return same && bpf.length > 0 && bpf.length % 8 === 0 && bpf.length <= MAX_INSNS * 8 ? bpf : undefined;
}

/**
 * Compiles linux.seccomp; every problem is a BerthError naming the field. With a
 * cache directory (under --root), a filter compiled before is read back when what
 * libseccomp would be given is the same: libseccomp takes about 10 ms for
 * Docker's default profile, reading the file a few hundredths of that.
 */
export function compileSeccomp(s: LinuxSeccomp, opts: { field?: string; cacheDir?: string } = {}): CompiledSeccomp {
  const field = opts.field ?? 'linux.seccomp';
  const d = describeSeccomp(s, field);
  const addon = native() as unknown as SeccompAddon;
  // The kernel checks the flags together (WAIT_KILLABLE_RECV only with a listener,
  // TSYNC with a listener only with TSYNC_ESRCH): probe the set, then name the flag.
  const supported = (flags: number) => {
    if (!flagChecked.has(flags)) flagChecked.set(flags, addon.seccompFlagSupported(flags));
    return flagChecked.get(flags)!;
  };
  if (d.flags && !supported(d.flags)) {
    for (const [name, bit] of Object.entries<number>({ ...CONFIG_FLAGS, SECCOMP_FILTER_FLAG_NEW_LISTENER: FILTER_FLAG.NEW_LISTENER })) {
      const alone = bit === FILTER_FLAG.WAIT_KILLABLE_RECV ? bit | FILTER_FLAG.NEW_LISTENER : bit;
      if (d.flags & bit && !supported(alone)) fail(`${field}.flags`, `${name} is not supported by this kernel`);
    }
    fail(`${field}.flags`, `this kernel does not take these flags together (seccomp(2) flags 0x${d.flags.toString(16)})`);
  }
  let file: string | undefined;
  let key: Buffer | undefined;
  if (opts.cacheDir) {
    const { flags: _f, listener: _l, ...what } = d;
    // The conditions' bigints as strings beforehand: a replacer would be called for every value.
    const rules = what.rules.map((r) => (r.conds.length ? { ...r, conds: r.conds.map(([i, op, a, b]) => [i, op, String(a), String(b)]) } : r));
    key = Buffer.from(`${CACHE_VERSION} libseccomp ${addon.seccompVersion()}\n${JSON.stringify({ ...what, rules })}`);
    file = join(opts.cacheDir, addon.seccompCacheName(key));
    const bpf = readCached(file, key);
    if (bpf) return { bpf, flags: d.flags, listener: d.listener, skipped: [] };
  }
  let out: { bpf: Buffer; skipped: string[] };
  try {
    out = addon.seccompCompile(d);
  } catch (e) {
    return fail(field, (e as Error).message);
  }
  if (out.skipped.length) logDebug(`seccomp: syscalls unknown to libseccomp ignored: ${[...new Set(out.skipped)].join(', ')}`);
  const insns = out.bpf.length / 8;
  if (insns > MAX_INSNS) fail(field, `the compiled filter has ${insns} instructions; the kernel takes at most ${MAX_INSNS}`);
  if (file) {
    try {
      mkdirSync(opts.cacheDir!, { recursive: true, mode: 0o700 });
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, Buffer.concat([key!, Buffer.of(0), out.bpf]), { mode: 0o600 });
      renameSync(tmp, file);
    } catch (e) {
      logDebug(`seccomp: not cached: ${(e as Error).message}`);
    }
  }
  return { bpf: out.bpf, flags: d.flags, listener: d.listener, skipped: out.skipped };
}

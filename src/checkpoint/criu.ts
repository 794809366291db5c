// Talking to CRIU as runc does: `criu swrk 3` with one end of a seqpacket socket
// pair as its fd 3, one protobuf message per packet (./rpc.ts). Each request gets
// a CRIU of its own; notifications (notify_scripts) are answered until the final
// response. Synchronous: nothing here needs the event loop.
import { closeSync, readFileSync, writeSync } from 'node:fs';
import { BerthError, errnoText } from '../errors';
import { logDebug } from '../log/log';
import { native } from '../native/addon';
import { findCriu } from './support';
import type * as Rpc from './rpc';
import { readKernelFile } from '../state/proc';

let rpc: typeof Rpc | undefined;

/** The message codec with protobufjs: a chunk of its own beside dist/berth.js, loaded only here. */
export function criuRpc(): typeof Rpc {
  if (!rpc) {
    try {
      // Resolved at run time next to dist/berth.js (kept external by scripts/build.mjs).
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      rpc = require('./criu-rpc.js') as typeof Rpc;
    } catch (e) {
      throw new BerthError(`cannot load CRIU's RPC messages (criu-rpc.js next to the berth bundle): ${(e as Error).message.split('\n')[0]}`);
    }
  }
  return rpc;
}

/** For tests that do not run from dist/. */
export function useCriuRpc(r: typeof Rpc): void {
  rpc = r;
}

// CRIU's responses are small; runc reads them into 40 KiB.
const RESPONSE_MAX = 10 * 4096;

export interface SwrkOptions {
  /** What the caller is doing, first in every error ("checkpoint (criu dump)"). */
  step: string;
  /** CRIU's stdin, stdout and stderr (a restored process gets its pipes from them: inherit_fd). */
  stdio?: [number, number, number];
  /** More fds for CRIU, from 4 on (external namespaces for inherit_fd). */
  extraFds?: number[];
  /** CRIU's log, quoted in errors ("" when the request writes none). */
  logPath?: string;
  /** The request does not touch cgroups (version, feature check): the cgroup2 options are not watched. */
  keepsCgroup2?: boolean;
  /** Runs once CRIU exists, before it gets the request (restore puts it in the container's cgroups). */
  started?(pid: number): void;
  /** A notification (notify_scripts); fds came with it (orphan-pts-master). */
  notify?(script: string, pid: number | undefined, fds: number[]): void;
}

/** Sends req to a new CRIU and returns its final response; a failure is a BerthError naming the step and CRIU's reason. */
export function criuSwrk(req: Rpc.Request, o: SwrkOptions): Rpc.Response {
  const r = criuRpc();
  const addon = native();
  const criu = findCriu();
  if (!criu) throw new BerthError(`${o.step}: criu is not installed (no criu in PATH or /usr/sbin, /sbin)`);
  const cgroup2 = o.keepsCgroup2 ? undefined : cgroup2Options();
  const [mine, theirs] = addon.socketpair(true);
  let pid: number;
  try {
    pid = addon.spawn(criu, ['criu', 'swrk', '3'], [...(o.stdio ?? [0, 1, 2]), theirs, ...(o.extraFds ?? [])]);
  } catch (e) {
    closeSync(mine);
    throw new BerthError(`${o.step}: starting ${criu}: ${errnoText(e)}`);
  } finally {
    closeSync(theirs);
  }
  let exited = false;
  const reap = () => {
    if (exited) return undefined;
    exited = true;
    try {
      return addon.reap(pid, true);
    } catch {
      return undefined;
    }
  };
  try {
    o.started?.(pid);
    logDebug(`criu ${pid}: request ${JSON.stringify(req)}`);
    writeSync(mine, r.encodeRequest(req));
    for (;;) {
      const { data, fds } = addon.recvMsg(mine, RESPONSE_MAX);
      if (data.length === 0) {
        closeSync(mine);
        const st = reap();
        const how = st?.signal !== undefined ? `killed by signal ${st.signal}` : `exit status ${st?.code}`;
        throw new BerthError(`${o.step}: criu ended without an answer (${how})${criuReason(o.logPath)}`);
      }
      const resp = r.decodeResponse(data);
      if (!resp.success) {
        for (const fd of fds) closeSync(fd);
        // CRIU's own message is its first error line; else the log has it.
        const why = resp.cr_errmsg ? `: ${errorText(resp.cr_errmsg)}; log: ${o.logPath}` : criuReason(o.logPath);
        throw new BerthError(`${o.step}: criu failed${why || (resp.cr_errno ? `: ${errnoName(resp.cr_errno)}` : '')}`);
      }
      if (resp.type !== r.REQ.NOTIFY) {
        for (const fd of fds) closeSync(fd);
        logDebug(`criu ${pid}: response ${JSON.stringify(resp)}`);
        if (resp.type !== req.type) throw new BerthError(`${o.step}: criu answered a request of type ${resp.type}, not ${req.type}`);
        return resp;
      }
      const script = resp.notify?.script ?? '';
      logDebug(`criu ${pid}: notify ${script}${resp.notify?.pid ? ` (pid ${resp.notify.pid})` : ''}`);
      try {
        o.notify?.(script, resp.notify?.pid, fds);
      } finally {
        for (const fd of fds) closeSync(fd);
      }
      writeSync(mine, r.encodeRequest({ type: r.REQ.NOTIFY, notify_success: true }));
    }
  } finally {
    try {
      closeSync(mine);
    } catch {
      // closed at EOF
    }
    // A pre-dump's CRIU waits for the next request and ends with a failure once
    // the socket closes (runc ignores that status too); otherwise CRIU is done.
    const st = reap();
    if (st && st.code !== 0 && req.type !== r.REQ.PRE_DUMP) logDebug(`criu ${pid} ended with ${JSON.stringify(st)}`);
    if (cgroup2) restoreCgroup2Options(cgroup2, o.step);
  }
}

// The superblock flags of cgroup2 (one superblock for every mount of it).
const CGROUP2_FLAGS = ['nsdelegate', 'favordynmods', 'memory_localevents', 'memory_recursiveprot', 'memory_hugetlb_accounting', 'pids_localevents'];

/** Where cgroup2 is mounted and its superblock flags, from mountinfo. */
function cgroup2Options(): { mountpoint: string; flags: string[] } | undefined {
  for (const line of readKernelFile('/proc/self/mountinfo').split('\n')) {
    const sep = line.indexOf(' - cgroup2 ');
    if (sep < 0) continue;
    const superOpts = line.slice(sep + 3).split(' ')[2] ?? '';
    return { mountpoint: line.slice(0, sep).split(' ')[4], flags: superOpts.split(',').filter((f) => CGROUP2_FLAGS.includes(f)) };
  }
  return undefined;
}

/**
 * CRIU 3.17 mounts cgroup2 afresh to read the container's cgroups, without
 * options, and so clears the host's flags (nsdelegate, memory_recursiveprot: CRIU
 * issue 3029). They are set back as they were: a checkpoint leaves the host as it found it.
 */
function restoreCgroup2Options(before: { mountpoint: string; flags: string[] }, step: string): void {
  const now = cgroup2Options();
  if (!now || now.flags.join(',') === before.flags.join(',')) return;
  logDebug(`criu changed the cgroup2 options from ${before.flags.join(',') || '(none)'} to ${now.flags.join(',') || '(none)'}: setting them back`);
  try {
    native().reconfigureSuper(before.mountpoint, before.flags);
  } catch (e) {
    throw new BerthError(`${step}: setting back the cgroup2 mount options ${before.flags.join(',')} that criu cleared: ${errnoText(e)}`);
  }
}

/** "; <CRIU's first error line> (log: PATH)" from its log, or "" without one. */
export function criuReason(logPath: string | undefined): string {
  if (!logPath) return '';
  let text: string;
  try {
    text = readFileSync(logPath, 'utf8');
  } catch {
    return ` (no criu log at ${logPath})`;
  }
  const lines = text.split('\n');
  const i = lines.findIndex((l) => /\bError \(/.test(l));
  if (i < 0) return ` (log: ${logPath})`;
  // Quoted with a few lines before, as runc does, in berth's own log.
  logDebug(`criu log ${logPath}:\n${lines.slice(Math.max(0, i - 5), i + 6).join('\n')}`);
  return `: ${errorText(lines[i])}; log: ${logPath}`;
}

/** "(00.004567) Error (criu/mount.c:1234): mnt: Can't ...\n" -> "mnt: Can't ... (criu/mount.c:1234)" */
function errorText(line: string): string {
  const m = /Error \(([^)]*)\):\s*(.*)$/m.exec(line);
  return m ? `${m[2].trim()} (${m[1]})` : line.trim().split('\n')[0];
}

function errnoName(n: number): string {
  const { errno } = require('node:os').constants as { errno: Record<string, number> };
  const code = Object.keys(errno).find((k) => errno[k] === n);
  return code ? errnoText({ code }) : `errno ${n}`;
}

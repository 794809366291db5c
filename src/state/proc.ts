// Facts about host processes read from /proc. A pid alone can be reused; a pid with
// its start time (field 22 of /proc/PID/stat) names one process for good.
import { readFileSync } from 'node:fs';

export interface ProcStat { state: string; ppid: number; startTime: string }

/**
 * The text of a /proc or cgroupfs file (throws as readFileSync), decoded as UTF-8:
 * cgroup and mount paths are the kernel's bytes, which Node's paths encode as UTF-8
 * (numbers and states are ASCII either way). readFileSync with 'utf8' reads it in one
 * call into Node's C++ (open, read to the end, close: these files report size 0),
 * as fast as a read into a reused buffer, and without the first-call cost of
 * openSync, readSync and toString's JavaScript (~0.7 ms of CPU in a fresh process).
 */
export function readKernelFile(path: string): string {
  return readFileSync(path, 'utf8');
}

export function procStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readKernelFile(`/proc/${pid}/stat`);
  } catch {
    return undefined;
  }
  // comm may contain spaces and parentheses: fields start after the last ')'.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: f[0], ppid: Number(f[1]), startTime: f[19] };
}

/** True while the process started at startTime still runs (a zombie has ended). */
export function isAlive(pid: number, startTime: string): boolean {
  if (pid <= 0) return false;
  const s = procStat(pid);
  return !!s && s.startTime === startTime && s.state !== 'Z' && s.state !== 'X';
}

// Facts about host processes read from /proc. A pid alone can be reused; a pid with
// its start time (field 22 of /proc/PID/stat) names one process for good.
import { closeSync, openSync, readSync } from 'node:fs';

export interface ProcStat { state: string; ppid: number; startTime: string }

let buf = Buffer.allocUnsafe(4096);

/**
 * The text of a /proc or cgroupfs file (throws as readFileSync). Such files report
 * size 0, which sends readFileSync down its unknown-size path (fstat, 64 KiB
 * chunks, concat): twice the CPU of reading into one reused buffer. Decoded as
 * UTF-8: cgroup and mount paths are the kernel's bytes, which Node's paths encode
 * as UTF-8 (numbers and states are ASCII either way).
 */
export function readKernelFile(path: string): string {
  const fd = openSync(path, 'r');
  try {
    let n = 0;
    for (;;) {
      if (n === buf.length) buf = Buffer.concat([buf, Buffer.allocUnsafe(buf.length)]);
      const r = readSync(fd, buf, n, buf.length - n, null);
      if (r === 0) return buf.toString('utf8', 0, n);
      n += r;
    }
  } finally {
    closeSync(fd);
  }
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

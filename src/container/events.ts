// `events`: the container's statistics as runc prints them, once (--stats) or
// every --interval, plus an "oom" event whenever the kernel's OOM killer acts in
// the container's memory cgroup; the stream ends when the container stops.
import { closeSync } from 'node:fs';
import { BerthError } from '../errors';
import { cgroupManager } from '../cgroups/manager';
import { toJson } from '../cgroups/stats';
import { writeOut } from '../cli/output';
import { native } from '../native/addon';
import type { Container } from '../state/store';

const UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go duration ("5s", "500ms", "1m30s") in milliseconds. */
export function parseDuration(text: string): number {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
  if (!parts.length || parts.map((p) => p[0]).join('') !== text) throw new BerthError(`--interval: invalid duration ${JSON.stringify(text)} (e.g. 5s, 500ms)`);
  return parts.reduce((ms, p) => ms + Number(p[1]) * UNITS[p[2]], 0);
}

export function statsEvent(c: Container): string {
  return toJson({ type: 'stats', id: c.id, data: cgroupManager(c.saved.cgroups).stats() }) + '\n';
}

export function streamEvents(c: Container, intervalMs: number, stats: boolean): void {
  if (!(intervalMs > 0)) throw new BerthError('duration interval must be greater than 0');
  if (c.status() === 'stopped') throw new BerthError(`container with id ${c.id} is not running`);
  if (stats) {
    writeOut(statsEvent(c));
    return;
  }
  const addon = native();
  // Nothing is polled: berth sleeps in poll(2) on the init's pidfd (readable when
  // it exits), the memory cgroup's OOM notifier and the next stats tick.
  let pidfd: number;
  try {
    pidfd = addon.pidfdOpen(c.saved.pid);
  } catch {
    return; // the init ended after the status check: so does the stream
  }
  const oom = cgroupManager(c.saved.cgroups).oomWatch();
  const oomFd = oom.dir ? addon.oomNotifier(oom.dir, oom.unified) : -1;
  try {
    let ooms = oom.kills();
    let next = Date.now() + intervalMs;
    for (;;) {
      const [exited, notified] = addon.pollIn(oomFd >= 0 ? [pidfd, oomFd] : [pidfd], Math.max(0, next - Date.now()));
      if (notified || exited) {
        // v2 signals any change of memory.events: an OOM kill is what counts. v1
        // signals an OOM itself, which may kill nothing (oom_kill_disable): still
        // one event; but not for the signal the cgroup's removal sends.
        const now = oom.kills();
        let n = now > ooms ? Number(now - ooms) : 0;
        if (notified && !n && !exited && !oom.unified) n = 1;
        for (let i = 0; i < n; i++) writeOut(toJson({ type: 'oom', id: c.id }) + '\n');
        if (now > ooms) ooms = now;
      }
      if (exited) return;
      if (Date.now() >= next) {
        writeOut(statsEvent(c));
        next += intervalMs;
      }
    }
  } finally {
    closeSync(pidfd);
    if (oomFd >= 0) closeSync(oomFd);
  }
}

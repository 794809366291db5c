// `events`: the container's statistics as runc prints them, once (--stats) or
// every --interval, plus an "oom" event whenever the kernel's OOM killer acts in
// the container's memory cgroup; the stream ends when the container stops.
import { closeSync } from 'node:fs';
import { BerthError, StateError } from '../errors';
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

/** An event as `berth events` prints it (the stats' counters are bigints, printed as plain numbers). */
export type ContainerEvent = { type: 'stats'; id: string; data: Record<string, unknown> } | { type: 'oom'; id: string };

export function statsEvent(c: Container): ContainerEvent {
  return { type: 'stats', id: c.id, data: cgroupManager(c.saved.cgroups).stats() };
}

/**
 * The event stream of a running container, driven by whoever waits: the CLI in
 * poll(2) itself, the library on a thread (src/lib/poller.ts). Nothing is
 * polled: the waiter sleeps on `fds` (the init's pidfd, readable when it exits;
 * the memory cgroup's OOM notifier) until `timeout()`, the next stats tick.
 */
export interface EventSource {
  readonly fds: number[];
  timeout(): number;
  /** What the wait found (readiness of each of fds): the events, and whether the stream ended. */
  step(ready: boolean[]): { events: ContainerEvent[]; done: boolean };
  close(): void;
}

export function checkEvents(c: Container, intervalMs: number): void {
  if (!(intervalMs > 0)) throw new BerthError('duration interval must be greater than 0');
  if (c.status() === 'stopped') throw new StateError(`container with id ${c.id} is not running`, c.id, 'stopped');
}

/** undefined when the init ended after the status check: so does the stream. */
export function openEvents(c: Container, intervalMs: number): EventSource | undefined {
  const addon = native();
  let pidfd: number;
  try {
    pidfd = addon.pidfdOpen(c.saved.pid);
  } catch {
    return undefined;
  }
  const oom = cgroupManager(c.saved.cgroups).oomWatch();
  let oomFd = -1;
  try {
    oomFd = oom.dir ? addon.oomNotifier(oom.dir, oom.unified) : -1;
  } catch (e) {
    closeSync(pidfd);
    throw e;
  }
  let ooms = oom.kills();
  let next = Date.now() + intervalMs;
  return {
    fds: oomFd >= 0 ? [pidfd, oomFd] : [pidfd],
    timeout: () => Math.max(0, next - Date.now()),
    step([exited, notified]) {
      const events: ContainerEvent[] = [];
      if (notified || exited) {
        // v2 signals any change of memory.events: an OOM kill is what counts. v1
        // signals an OOM itself, which may kill nothing (oom_kill_disable): still
        // one event; but not for the signal the cgroup's removal sends.
        const now = oom.kills();
        let n = now > ooms ? Number(now - ooms) : 0;
        if (notified && !n && !exited && !oom.unified) n = 1;
        for (let i = 0; i < n; i++) events.push({ type: 'oom', id: c.id });
        if (now > ooms) ooms = now;
      }
      if (exited) return { events, done: true };
      if (Date.now() >= next) {
        events.push(statsEvent(c));
        next += intervalMs;
      }
      return { events, done: false };
    },
    close() {
      closeSync(pidfd);
      if (oomFd >= 0) closeSync(oomFd);
    },
  };
}

/** `berth events`: JSON lines on stdout until the container stops (one stats line with --stats). */
export function streamEvents(c: Container, intervalMs: number, stats: boolean): void {
  checkEvents(c, intervalMs);
  if (stats) {
    writeOut(toJson(statsEvent(c)) + '\n');
    return;
  }
  const src = openEvents(c, intervalMs);
  if (!src) return;
  try {
    for (;;) {
      const { events, done } = src.step(native().pollIn(src.fds, src.timeout()));
      for (const e of events) writeOut(toJson(e) + '\n');
      if (done) return;
    }
  } finally {
    src.close();
  }
}

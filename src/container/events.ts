// `events`: the container's statistics as runc prints them, once (--stats) or
// every --interval, plus an "oom" event whenever the kernel's OOM killer acts in
// the container's memory cgroup; the stream ends when the container stops.
import { BerthError } from '../errors';
import { hierarchies } from '../cgroups/hierarchies';
import { collectStats, oomKills, toJson } from '../cgroups/stats';
import { writeOut } from '../cli/output';
import { sleepSync } from '../sleep';
import type { Container } from '../state/store';

const UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go duration ("5s", "500ms", "1m30s") in milliseconds. */
export function parseDuration(text: string): number {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
  if (!parts.length || parts.map((p) => p[0]).join('') !== text) throw new BerthError(`--interval: invalid duration ${JSON.stringify(text)} (e.g. 5s, 500ms)`);
  return parts.reduce((ms, p) => ms + Number(p[1]) * UNITS[p[2]], 0);
}

export function statsEvent(c: Container): string {
  return toJson({ type: 'stats', id: c.id, data: collectStats(hierarchies(), c.saved.cgroups.dirs) }) + '\n';
}

export function streamEvents(c: Container, intervalMs: number, stats: boolean): void {
  if (!(intervalMs > 0)) throw new BerthError('duration interval must be greater than 0');
  if (c.status() === 'stopped') throw new BerthError(`container with id ${c.id} is not running`);
  if (stats) {
    writeOut(statsEvent(c));
    return;
  }
  const hs = hierarchies();
  let ooms = oomKills(hs, c.saved.cgroups.dirs);
  let next = Date.now() + intervalMs;
  // OOM kills are polled (a tenth of a second) between stats.
  for (;;) {
    const now = oomKills(hs, c.saved.cgroups.dirs);
    if (now > ooms) writeOut(toJson({ type: 'oom', id: c.id }) + '\n');
    ooms = now;
    if (c.status() === 'stopped') return;
    if (Date.now() >= next) {
      writeOut(statsEvent(c));
      next += intervalMs;
    }
    sleepSync(Math.max(1, Math.min(100, next - Date.now())));
  }
}

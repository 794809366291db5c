// Per-call phase timings for the benchmark: with BERTH_TRACE=FILE each call
// appends one JSON line to FILE: its argv and [phase, ms, cpu ms] marks, each the
// time since the process started (Node's monotonic clock) at which that phase
// ended, and the CPU time (user + system) this process had used by then, which a
// busy machine inflates far less than the time. Without the variable a mark is
// one comparison.
import { appendFileSync } from 'node:fs';

const file = process.env.BERTH_TRACE;
const marks: [string, number, number][] = [];

/** Records that `phase` ended now. */
export function mark(phase: string): void {
  if (!file) return;
  const cpu = process.cpuUsage();
  marks.push([phase, Math.round(process.uptime() * 1e6) / 1e3, (cpu.user + cpu.system) / 1e3]);
}

if (file) {
  mark('node start, bundle loaded');
  process.on('exit', () => {
    mark('exit');
    try {
      appendFileSync(file, `${JSON.stringify({ argv: process.argv.slice(2), marks })}\n`);
    } catch {
      // a trace is no reason to fail the call
    }
  });
}

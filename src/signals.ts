// Signal names and numbers as `berth kill` accepts them: a number ("9"), a name
// with or without the SIG prefix in any case ("TERM", "sigterm", "kill"), or a
// real-time signal relative to either end ("RTMIN+3", "SIGRTMAX-1").
import { BerthError } from './errors';

// glibc reserves the first two kernel real-time signals for its own threads, so
// the SIGRTMIN programs see is 34; the kernel's last signal is 64.
export const SIGRTMIN = 34;
export const SIGRTMAX = 64;

// Linux's numbers (x86-64 and arm64 alike), as node:os's constants.signals has them:
// loading node:os (not in Node's startup snapshot) cost `kill` ~0.5 ms of CPU.
// test/unit/signals.test.ts checks the table against it.
export const SIGNALS: Readonly<Record<string, number>> = {
  SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGILL: 4, SIGTRAP: 5, SIGABRT: 6, SIGIOT: 6, SIGBUS: 7, SIGFPE: 8, SIGKILL: 9,
  SIGUSR1: 10, SIGSEGV: 11, SIGUSR2: 12, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15, SIGSTKFLT: 16, SIGCHLD: 17,
  SIGCONT: 18, SIGSTOP: 19, SIGTSTP: 20, SIGTTIN: 21, SIGTTOU: 22, SIGURG: 23, SIGXCPU: 24, SIGXFSZ: 25,
  SIGVTALRM: 26, SIGPROF: 27, SIGWINCH: 28, SIGIO: 29, SIGPOLL: 29, SIGPWR: 30, SIGSYS: 31,
};
const byName: Record<string, number> = SIGNALS;

// Preferred names where two share a number.
const ALIASES = new Set(['SIGIOT', 'SIGPOLL']);

const byNumber = new Map<number, string>();
for (const [name, n] of Object.entries(byName)) {
  if (!ALIASES.has(name) && !byNumber.has(n)) byNumber.set(n, name);
}

export function parseSignal(s: string): number {
  const raw = s.trim();
  if (/^\d+$/.test(raw)) {
    const n = Number(raw);
    // 0 sends nothing but checks that the process exists, as kill(2) does.
    if (n <= SIGRTMAX) return n;
    throw new BerthError(`invalid signal: ${s}`);
  }
  let name = raw.toUpperCase();
  if (!name.startsWith('SIG')) name = 'SIG' + name;
  const known = byName[name];
  if (known !== undefined) return known;

  const rt = /^SIGRT(MIN|MAX)(?:([+-])(\d+))?$/.exec(name);
  if (rt) {
    const base = rt[1] === 'MIN' ? SIGRTMIN : SIGRTMAX;
    const off = rt[3] === undefined ? 0 : Number(rt[3]) * (rt[2] === '+' ? 1 : -1);
    const n = base + off;
    if (n >= SIGRTMIN && n <= SIGRTMAX) return n;
  }
  throw new BerthError(`invalid signal: ${s}`);
}

/** "SIGTERM" for 15; real-time signals as "SIGRTMIN+n" / "SIGRTMAX-n"; else the number. */
export function signalName(n: number): string {
  const name = byNumber.get(n);
  if (name) return name;
  if (Number.isInteger(n) && n >= SIGRTMIN && n <= SIGRTMAX) {
    if (n === SIGRTMIN) return 'SIGRTMIN';
    if (n === SIGRTMAX) return 'SIGRTMAX';
    // The nearer end names it, the way kill -l does.
    return n - SIGRTMIN <= SIGRTMAX - n ? `SIGRTMIN+${n - SIGRTMIN}` : `SIGRTMAX-${SIGRTMAX - n}`;
  }
  return String(n);
}

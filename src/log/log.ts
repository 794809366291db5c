// Logging as runc does it: with --log FILE, lines go to that file in text
// (`time="..." level=error msg="..."`) or json (`{"level":"error","msg":"...","time":"..."}`)
// form, which containerd's shim reads back; errors are also printed on stderr, which
// conmon and podman read.
import { appendFileSync, writeSync } from 'node:fs';

type Level = 'debug' | 'info' | 'warning' | 'error';
interface LogSetup { file?: string; format: 'text' | 'json'; debug: boolean }

let setup: LogSetup = { format: 'text', debug: false };

export function setupLog(s: LogSetup): void {
  setup = s;
}

export function formatLine(level: Level, msg: string, format: 'text' | 'json', now = new Date()): string {
  const time = now.toISOString();
  if (format === 'json') return JSON.stringify({ level, msg, time }) + '\n';
  return `time="${time}" level=${level} msg=${quote(msg)}\n`;
}

function quote(s: string): string {
  return JSON.stringify(s);
}

function write(level: Level, msg: string): void {
  if (setup.file) {
    try {
      appendFileSync(setup.file, formatLine(level, msg, setup.format));
    } catch {
      // The log is best effort; stderr below still carries errors.
    }
  } else if (level !== 'error') {
    toStderr(formatLine(level, msg, setup.format));
  }
}

export function logDebug(msg: string): void {
  if (setup.debug) write('debug', msg);
}
export function logWarn(msg: string): void {
  write('warning', msg);
}
/**
 * A warning about the container that is not an error (runc logs it at warning
 * level): a warning line in the --log file; without one a debug line, as tools
 * take berth's stderr for the container's own output.
 */
export function logWarnQuietly(msg: string): void {
  if (setup.file) write('warning', msg);
  else logDebug(msg);
}
/** An error ends the command: one line on stderr, and one in the log file if any. */
export function logError(msg: string): void {
  write('error', msg);
  toStderr(`berth: ${msg}\n`);
}

// fd 2 directly: no stream machinery to load, and nothing buffered at exit.
function toStderr(s: string): void {
  try {
    writeSync(2, s);
  } catch {
    // stderr closed: nowhere to say it
  }
}

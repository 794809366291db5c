// What every CLI entry shares: the global options' setup, one command's run, and
// how a call ends (./main.ts, the whole CLI; ./one-command.ts, one command alone).
import { BerthError, errorLine } from '../errors';
import { logDebug, logError, setupLog } from '../log/log';
import { prepareRoot, setRootlessCgroups } from '../rootless';
import type { Args, Command } from './command';
import { mark } from '../trace';
import { nativeIfLoaded } from '../native/addon';

export async function runCommand(command: Command, args: Args): Promise<void> {
  mark('parse');
  setupLog({ file: args.log, format: args['log-format'], debug: args.debug });
  prepareRoot(args.root);
  setRootlessCgroups(args.rootless);
  mark('setup');
  await command.run(args);
}

/** Runs main as the call: its errors end it, and it exits once nothing is left to do. */
export function runCall(main: () => Promise<void>): void {
  process.on('uncaughtException', fatal);
  // Once nothing is left to do (every write, child and timer done: the event loop is
  // empty), exit as process.exit does, with the 'exit' handlers and process.exitCode,
  // and skip the teardown of Node's environment and V8's heap that would follow.
  process.once('beforeExit', () => process.exit());
  exitQuicklyWhenSafe();
  main().catch(fatal);
}

// Node's own exit, after the 'exit' handlers, tears V8's heap and threads down (0.3-0.9
// ms of wall per call here: 60-100 paired runs of `features`), which nothing of a call
// needs but for two things: it writes what --cpu-prof, NODE_V8_COVERAGE and the like
// collected, and restores the modes its process.stdin, stdout and stderr streams
// changed: a pipe or socket made non-blocking (Node loads node:net for such a stream),
// a terminal's raw mode (node:tty). A file's stream (a synchronous one) changes none.
// Without those, a call that loaded the addon ends by _exit(2). Most calls write to
// fd 1 and 2 directly (./output.ts, ../log/log.ts), and load neither module.
function exitQuicklyWhenSafe(): void {
  if (process.execArgv.length || process.env.NODE_OPTIONS || process.env.NODE_V8_COVERAGE) return;
  // What process.exit calls last (Node's lib/internal/process/per_thread.js).
  const p = process as unknown as { reallyExit(code: number): void; moduleLoadList?: string[] };
  const reallyExit = p.reallyExit;
  p.reallyExit = (code) => {
    // Entries as "NativeModule net"; by the name alone, should the kind's word change.
    const streams = p.moduleLoadList?.some((m) => m.endsWith(' net') || m.endsWith(' tty')) ?? true;
    // The addon not loaded for this: loading it costs about what _exit saves.
    if (!streams) nativeIfLoaded()?.exitNow(code);
    reallyExit.call(process, code);
  };
}

// Every error is one line on stderr (and in the log); the stack of an unexpected
// one only with --debug.
function fatal(e: unknown): never {
  if (!(e instanceof BerthError) && e instanceof Error && e.stack) logDebug(e.stack);
  logError(errorLine(e));
  process.exit(e instanceof BerthError ? e.exitCode : 1);
}

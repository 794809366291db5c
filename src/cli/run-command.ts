// What every CLI entry shares: the global options' setup, one command's run, and
// how a call ends (./main.ts, the whole CLI; ./one-command.ts, one command alone).
import { BerthError, errorLine } from '../errors';
import { logDebug, logError, setupLog } from '../log/log';
import { prepareRoot, setRootlessCgroups } from '../rootless';
import type { Args, Command } from './command';
import { mark } from '../trace';

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
  main().catch(fatal);
}

// Every error is one line on stderr (and in the log); the stack of an unexpected
// one only with --debug.
function fatal(e: unknown): never {
  if (!(e instanceof BerthError) && e instanceof Error && e.stack) logDebug(e.stack);
  logError(errorLine(e));
  process.exit(e instanceof BerthError ? e.exitCode : 1);
}

// Entry point of the berth CLI. Global flags match runc's; each command lives in
// its own module under ./commands. Well-formed calls (what engines send) are
// parsed by ./fast-parse; yargs is loaded for everything else (help, errors).
import { BerthError, errorLine } from '../errors';
import { logDebug, logError, setupLog } from '../log/log';
import { prepareRoot, setRootlessCgroups } from '../rootless';
import type { Args, Command } from './command';
import { commands } from './commands';
import { mark } from '../trace';

export async function runCommand(command: Command, args: Args): Promise<void> {
  mark('parse');
  setupLog({ file: args.log, format: args['log-format'], debug: args.debug });
  prepareRoot(args.root);
  setRootlessCgroups(args.rootless);
  mark('setup');
  await command.run(args);
}

async function main(argv: string[]): Promise<void> {
  // What engines ask (`docker info`, go-runc's Version()): without loading yargs.
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-v')) return (require('./version') as typeof import('./version')).printVersion();
  const fast = (require('./fast-parse') as typeof import('./fast-parse')).fastParse(argv, commands);
  if (fast) return runCommand(fast.command, fast.args);
  // A separate bundle (yargs is large): external to this one, beside it in dist/.
  const { runYargs } = require('./yargs-cli.js') as typeof import('./yargs-cli');
  const { printVersion } = require('./version') as typeof import('./version');
  await runYargs(argv, { commands, runCommand, BerthError, printVersion });
}

// Every error is one line on stderr (and in the log); the stack of an unexpected
// one only with --debug.
function fatal(e: unknown): never {
  if (!(e instanceof BerthError) && e instanceof Error && e.stack) logDebug(e.stack);
  logError(errorLine(e));
  process.exit(e instanceof BerthError ? e.exitCode : 1);
}

process.on('uncaughtException', fatal);
// Once nothing is left to do (every write, child and timer done: the event loop is
// empty), exit as process.exit does, with the 'exit' handlers and process.exitCode,
// and skip the teardown of Node's environment and V8's heap that would follow.
process.once('beforeExit', () => process.exit());
main(process.argv.slice(2)).catch(fatal);

// Entry point of the berth CLI (dist/berth.js). Global flags match runc's; each
// command lives in its own module under ./commands. Well-formed calls (what engines
// send) are parsed by ./fast-parse; yargs is loaded for everything else (help, errors).
// The commands engines call have entries of their own as well (./one-command.ts).
import { BerthError } from '../errors';
import { commands } from './commands';
import { runCall, runCommand } from './run-command';

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

runCall(() => main(process.argv.slice(2)));

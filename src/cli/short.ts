// The entry of dist/berth-COMMAND.js, a bundle of one short command (state, kill,
// start, delete: what engines call most, each paying for all it loads on every
// call). bin/berth picks it when the command line names that command. A call it
// does not parse as well-formed (help, an error, another command after all) goes to
// the whole CLI, dist/berth.js, before anything is done: same behaviour, more cost.
import type { Command } from './command';
import { fastParse } from './fast-parse';
import { runCall, runCommand } from './run-command';

export function runOnly(command: Command): void {
  const fast = fastParse(process.argv.slice(2), [command]);
  if (!fast) {
    require('./berth.js');
    return;
  }
  runCall(() => runCommand(fast.command, fast.args));
}

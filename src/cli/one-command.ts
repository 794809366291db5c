// The entry of dist/berth-COMMAND.js, a bundle of one of the commands engines call
// (create, start, state, kill, delete, run, exec): each call pays for all it loads,
// and for its code cache, so it loads only what that command reaches. bin/berth
// picks it when the command line names that command. A call line it does not parse
// as well-formed (help, an error, another command after all) goes to the whole CLI,
// dist/berth.js, before anything is done: same behaviour, more cost.
import type { Command } from './command';
import { fastParse } from './fast-parse';
import { runCall, runCommand } from './run-command';

export function runOneCommand(command: Command): void {
  const fast = fastParse(process.argv.slice(2), [command]);
  if (!fast) {
    require('./berth.js');
    return;
  }
  runCall(() => runCommand(fast.command, fast.args));
}

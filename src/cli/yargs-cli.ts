// The full command line interface through yargs: help, usage errors, and any
// form the fast parser leaves to it. Built from the same command declarations.
import type { Argv, Options } from 'yargs';
import yargs from 'yargs/yargs';
import type { BerthError } from '../errors';
import type { Args, Command } from './command';
import { GLOBAL_OPTIONS } from './command';

// This file is bundled on its own (dist/yargs-cli.js, loaded only when needed), so
// what it shares with the main bundle comes in as arguments, not imports.
export interface Deps {
  commands: Command[];
  runCommand(c: Command, a: Args): Promise<void>;
  BerthError: typeof BerthError;
  printVersion(): void;
}

export async function runYargs(argv: string[], { commands, runCommand, BerthError, printVersion }: Deps): Promise<void> {
  const cli: Argv = yargs(argv)
    .scriptName('berth')
    .usage('berth [global options] <command> [command options]')
    .options(Object.fromEntries(Object.entries(GLOBAL_OPTIONS).map(([k, o]) => [k, { ...o, global: true } as Options])))
    .version(false)
    .option('version', { alias: 'v', type: 'boolean', describe: 'print the version' })
    .strictCommands()
    // runc's flags include --no-pivot and --no-new-keyring: they are names, not negations.
    .parserConfiguration({ 'boolean-negation': false })
    .fail((msg, err) => {
      if (err) throw err;
      throw new BerthError(msg);
    })
    .help('help')
    .alias('help', 'h')
    .wrap(Math.min(100, process.stdout.columns || 100));
  for (const c of commands) {
    const pos = c.positionals.map((p) => (p.rest ? `[${p.name}..]` : p.required ? `<${p.name}>` : `[${p.name}]`)).join(' ');
    cli.command({
      command: `${c.name}${pos ? ' ' + pos : ''}`,
      aliases: c.aliases,
      describe: c.describe,
      builder: (y) => {
        for (const p of c.positionals) y.positional(p.name, { type: 'string', describe: p.describe });
        // yargs collects a repeated string option into an array by itself.
        const opts = Object.fromEntries(Object.entries(c.options).map(([k, o]) => [k, { ...o, repeat: undefined } as Options]));
        return y.options(opts).strictOptions();
      },
      handler: (a) => runCommand(c, a as unknown as Args),
    });
  }
  const parsed = (await cli.parseAsync()) as unknown as { version?: boolean; _: unknown[] };
  if (parsed.version && parsed._.length === 0) {
    printVersion();
  } else if (parsed._.length === 0) {
    cli.showHelp();
    process.exitCode = 1;
  }
}

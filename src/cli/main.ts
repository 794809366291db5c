// Entry point of the berth CLI. Global flags match runc's; each command lives in
// its own module under ./commands and is only evaluated when it runs.
import yargs from 'yargs/yargs';
import type { Argv } from 'yargs';
import { BerthError } from '../errors';
import { setupLog, logError } from '../log/log';
import { commands } from './commands';

export interface GlobalOptions {
  root: string;
  log?: string;
  'log-format': 'text' | 'json';
  debug: boolean;
  'systemd-cgroup': boolean;
}

async function main(argv: string[]): Promise<void> {
  const cli: Argv = yargs(argv)
    .scriptName('berth')
    .usage('berth [global options] <command> [command options]')
    .option('root', { type: 'string', default: '/run/berth', describe: 'root directory for storage of container state', global: true })
    .option('log', { type: 'string', describe: 'set the log file to write berth logs to (default is stderr)', global: true })
    .option('log-format', { type: 'string', choices: ['text', 'json'], default: 'text', describe: 'set the log format', global: true })
    .option('debug', { type: 'boolean', default: false, describe: 'enable debug logging', global: true })
    .option('systemd-cgroup', { type: 'boolean', default: false, describe: 'use systemd for cgroups (systemd must be running)', global: true })
    .middleware((a) => setupLog({ file: a.log as string | undefined, format: a['log-format'] as 'text' | 'json', debug: a.debug as boolean }))
    .version(false)
    .option('version', { alias: 'v', type: 'boolean', describe: 'print the version' })
    .strictCommands()
    .parserConfiguration({ 'halt-at-non-option': false, 'unknown-options-as-args': false, 'boolean-negation': false })
    .fail((msg, err) => {
      if (err) throw err;
      throw new BerthError(msg);
    })
    .help('help')
    .alias('help', 'h')
    .wrap(Math.min(100, process.stdout.columns || 100));
  for (const c of commands) cli.command(c);
  const parsed = (await cli.parseAsync()) as unknown as { version?: boolean; _: unknown[] };
  if (parsed.version && parsed._.length === 0) {
    require('./version').printVersion();
  } else if (parsed._.length === 0) {
    cli.showHelp();
    process.exitCode = 1;
  }
}

process.on('uncaughtException', fatal);
main(process.argv.slice(2)).catch(fatal);

function fatal(e: unknown): never {
  const msg = e instanceof BerthError ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e);
  logError(msg);
  process.exit(e instanceof BerthError ? e.exitCode : 1);
}

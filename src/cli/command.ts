// A command declares its positionals and options once; both the fast parser
// (./fast-parse.ts, used for well-formed engine calls) and yargs (help, errors,
// everything else) read the same declaration.
import { defaultRoot } from '../rootless';

export interface OptionSpec {
  type: 'string' | 'boolean' | 'number';
  alias?: string;
  default?: string | boolean | number;
  describe: string;
  choices?: readonly string[];
  /** May be given several times; the values are collected in an array. */
  repeat?: boolean;
}

export interface PositionalSpec {
  name: string;
  required: boolean;
  describe?: string;
  /** Takes all the remaining arguments. */
  rest?: boolean;
}

export interface GlobalOptions {
  root: string;
  log?: string;
  'log-format': 'text' | 'json';
  debug: boolean;
  'systemd-cgroup': boolean;
  rootless: 'auto' | 'true' | 'false';
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Args = GlobalOptions & Record<string, any>;

export interface Command {
  name: string;
  aliases?: string[];
  describe: string;
  positionals: PositionalSpec[];
  options: Record<string, OptionSpec>;
  /** Does the work; heavy modules are required inside, so unused ones cost nothing. */
  run(args: Args): void | Promise<void>;
}

export const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  root: { type: 'string', default: defaultRoot(), describe: 'root directory for storage of container state (default: $XDG_RUNTIME_DIR/berth without root, as runc)' },
  log: { type: 'string', describe: 'set the log file to write berth logs to (default is stderr)' },
  'log-format': { type: 'string', choices: ['text', 'json'], default: 'text', describe: 'set the log format' },
  debug: { type: 'boolean', default: false, describe: 'enable debug logging' },
  'systemd-cgroup': { type: 'boolean', default: false, describe: 'use systemd for cgroups (systemd must be running)' },
  rootless: { type: 'string', choices: ['auto', 'true', 'false'], default: 'auto', describe: "ignore cgroup permission errors ('true', 'false', or 'auto': without root, or in a user namespace)" },
};

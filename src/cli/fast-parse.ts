// The parser for well-formed command lines, which is what engines send on every
// call: global options, a command, its options and positionals, from the same
// declarations yargs uses. It gives up (returns undefined) on anything else —
// help, version, unknown or malformed options, missing arguments — and yargs then
// handles it with its full messages. Loading yargs costs more than the rest of a
// `berth state`, so the common path never does.
import type { Args, Command, OptionSpec } from './command';
import { GLOBAL_OPTIONS } from './command';

export function fastParse(argv: string[], commands: Command[]): { command: Command; args: Args } | undefined {
  const args: Record<string, unknown> = {};
  let command: Command | undefined;
  const positionals: string[] = [];
  const lookup = (name: string): [string, OptionSpec] | undefined => {
    const tables = command ? [command.options, GLOBAL_OPTIONS] : [GLOBAL_OPTIONS];
    for (const t of tables)
      for (const [key, spec] of Object.entries(t)) if (key === name || spec.alias === name) return [key, spec];
    return undefined;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      if (!command) return undefined;
      positionals.push(...argv.slice(i + 1));
      break;
    }
    // `ps ID -ef`: after the fixed positionals of a command that takes the rest,
    // everything is the rest, options included (as runc's CLI parses it).
    if (command && a.startsWith('-') && a !== '--' && command.positionals.some((p) => p.rest)) {
      const fixed = command.positionals.filter((p) => !p.rest).length;
      if (fixed > 0 && positionals.length >= fixed) {
        positionals.push(...argv.slice(i));
        break;
      }
    }
    if (a.startsWith('-') && a !== '-') {
      const m = /^--?([^=]+)(?:=(.*))?$/s.exec(a);
      if (!m || (a[1] !== '-' && m[1].length !== 1)) return undefined; // no bundled short flags
      const found = lookup(m[1]);
      if (!found) return undefined;
      const [key, spec] = found;
      let value: unknown = m[2];
      if (spec.type === 'boolean') {
        if (value === undefined) value = true;
        else if (value === 'true' || value === 'false') value = value === 'true';
        else return undefined;
      } else {
        if (value === undefined) {
          if (i + 1 >= argv.length) return undefined;
          value = argv[++i];
        }
        if (spec.type === 'number') {
          value = Number(value);
          if (!Number.isFinite(value)) return undefined;
        }
        if (spec.choices && !spec.choices.includes(value as string)) return undefined;
      }
      if (spec.repeat) args[key] = [...((args[key] as unknown[]) ?? []), value];
      else args[key] = value;
    } else if (!command) {
      command = commands.find((c) => c.name === a || c.aliases?.includes(a));
      if (!command) return undefined;
    } else {
      positionals.push(a);
      // `exec ID cmd -l`: once the fixed positionals are there, the rest is the
      // command, options included (as runc parses it).
      const fixed = command.positionals.filter((p) => !p.rest).length;
      if (command.positionals.some((p) => p.rest) && positionals.length > fixed) {
        positionals.push(...argv.slice(i + 1));
        break;
      }
    }
  }
  if (!command) return undefined;
  for (const p of command.positionals) {
    if (p.rest) {
      args[p.name] = positionals.splice(0);
    } else if (positionals.length) {
      args[p.name] = positionals.shift();
    } else if (p.required) {
      return undefined;
    }
  }
  if (positionals.length) return undefined;
  for (const t of [GLOBAL_OPTIONS, command.options])
    for (const [key, spec] of Object.entries(t)) if (args[key] === undefined && spec.default !== undefined) args[key] = spec.default;
  return { command, args: args as Args };
}

// Reading and checking the JSON documents of the OCI runtime-spec: config.json of a bundle,
// `exec --process` files, `update --resources` input, state and features.
//
// The checks are ajv validators compiled at build time from spec-schemas/ into
// dist/validators.js (scripts/build-validators.mjs); nothing is compiled at run time.
// That file is loaded lazily, the first time something is validated, by a require that
// the bundler leaves alone: dist/berth.js and dist/validators.js sit side by side.
//
// Every failure is a BerthError whose message names the document, then lists every
// problem found (not only the first), one per line, as a JSON pointer and what is wrong:
//
//   invalid config.json in /path/bundle: 3 errors
//     /: missing required property "ociVersion"
//     /process/user/uid: must be integer (found "abc")
//     /linux/namespaces/0/type: must be one of pid, network, ... (found "foo")
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BerthError, ConfigError, errnoText } from '../errors';
import type { DocumentKind, LinuxResources, Process, Spec, SpecDocuments } from './types';

export type { DocumentKind };

/** One error as ajv reports it (the subset we use). */
export interface SchemaError {
  instancePath: string;
  schemaPath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
  propertyName?: string;
}

/** A compiled ajv validate function. */
export interface ValidateFunction {
  (data: unknown): boolean;
  errors?: SchemaError[] | null;
}

export type Validators = Record<DocumentKind, ValidateFunction>;

let validators: Validators | undefined;

/**
 * Use these validators instead of loading ./validators.js next to the bundle. For tests
 * and tools that do not run from dist/ (pass `require('<repo>/dist/validators.js')`).
 */
export function useValidators(v: Validators): void {
  validators = v;
}

function loadValidators(): Validators {
  if (!validators) {
    try {
      // Resolved at run time next to dist/berth.js (kept external by scripts/build.mjs).
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      validators = require('./validators.js') as Validators;
    } catch (e) {
      throw new BerthError(`cannot load the schema validators (validators.js next to the berth bundle): ${(e as Error).message}`);
    }
  }
  return validators;
}

/**
 * Check `value` against the schema of `kind`; throws a BerthError listing every problem,
 * headed "invalid <what>". On success `value` is known to have the document's type.
 */
export function validate<K extends DocumentKind>(kind: K, value: unknown, what: string): asserts value is SpecDocuments[K] {
  const fn = loadValidators()[kind];
  if (typeof fn !== 'function') throw new BerthError(`no schema validator for ${kind}`);
  let valid: boolean;
  try {
    valid = fn(value);
  } catch (e) {
    // A refused document loads validators-errors.js beside validators.js for its errors.
    throw new BerthError(`cannot list the schema errors of ${what} (validators-errors.js next to the berth bundle): ${(e as Error).message}`);
  }
  if (valid) return;
  const lines = formatSchemaErrors(fn.errors ?? [], value);
  if (lines.length === 0) lines.push('/: does not match the schema');
  throw new ConfigError(`invalid ${what}: ${lines.length} error${lines.length === 1 ? '' : 's'}\n${lines.map((l) => `  ${l}`).join('\n')}`, lines);
}

/** Read `<bundle>/config.json`, parse and validate it. */
export function loadConfig(bundleDir: string): Spec {
  const bundle = resolve(bundleDir);
  const what = `config.json in ${bundle}`;
  const value = parseJson(readText(join(bundle, 'config.json'), what), what);
  validate('config', value, what);
  return value;
}

/** Read and validate a process JSON file (exec --process). */
export function loadProcess(file: string): Process {
  const what = `process file ${file}`;
  const value = parseJson(readText(file, what), what);
  validate('process', value, what);
  return value;
}

/** Read and validate a LinuxResources JSON file (update --resources), or stdin for "-". */
export function loadResources(fileOrDash: string): LinuxResources {
  const stdin = fileOrDash === '-';
  const what = stdin ? 'resources from standard input' : `resources file ${fileOrDash}`;
  const value = parseJson(stdin ? readStdin(what) : readText(fileOrDash, what), what);
  validate('resources', value, what);
  return value;
}

function readText(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read ${what}: ${errnoText(e)}`, [], { code: (e as NodeJS.ErrnoException).code });
  }
}

function readStdin(what: string): string {
  try {
    return readFileSync(0, 'utf8');
  } catch (e) {
    // A non-blocking stdin (some terminals and pipes) gives EAGAIN; the device file blocks.
    if ((e as NodeJS.ErrnoException).code === 'EAGAIN') {
      try {
        return readFileSync('/dev/stdin', 'utf8');
      } catch (e2) {
        throw new ConfigError(`cannot read ${what}: ${errnoText(e2)}`, [], { code: (e2 as NodeJS.ErrnoException).code });
      }
    }
    throw new ConfigError(`cannot read ${what}: ${errnoText(e)}`, [], { code: (e as NodeJS.ErrnoException).code });
  }
}

/** JSON.parse, failing with a BerthError that says where the text is malformed. */
export function parseJson(text: string, what: string): unknown {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    return JSON.parse(body);
  } catch (e) {
    const where = locateJsonError(body);
    const detail = where ? `${where.problem} at line ${where.line}, column ${where.column}` : (e as Error).message;
    throw new ConfigError(`invalid ${what}: malformed JSON: ${detail}`);
  }
}

// ---- messages ---------------------------------------------------------------------------

/** Limits that are not exact as JavaScript numbers, printed the way the spec means them. */
const LIMIT_TEXT = new Map<number, string>([
  [2 ** 64, '18446744073709551615'],
  [2 ** 63, '9223372036854775807'],
  [-(2 ** 63), '-9223372036854775808'],
]);

/** What the patterns of spec-schemas/ mean, in words. */
const PATTERN_TEXT: Record<string, string> = {
  '^/': 'must be an absolute path',
  '^[rwm]*$': 'must be made of the letters r, w and m',
  '^[1-9][0-9]*[KMGTPE]B$': 'must be a page size such as 64KB, 2MB or 1GB',
  '^MB:[^\\n]*$': 'must start with "MB:" and be a single line',
  '^[^\\n]*$': 'must not contain a newline',
  '^CAP_[A-Z0-9_]+$': 'must be a capability name such as CAP_CHOWN',
};

function patternText(pattern: string): string {
  if (PATTERN_TEXT[pattern]) return PATTERN_TEXT[pattern];
  if (pattern.startsWith('^(0|[1-9][0-9]*)\\.')) return 'must be a SemVer 2.0.0 version such as 1.2.0';
  if (pattern.startsWith('^ *([0-9]+')) return 'must be a list of CPUs such as 0-3,7';
  return `must match the pattern ${pattern}`;
}

/** Turn ajv errors into one line each ("<pointer>: <problem>"), deduplicated, in order. */
export function formatSchemaErrors(errors: readonly SchemaError[], data: unknown): string[] {
  const lines: string[] = [];
  const seen = new Set<string>();
  const add = (path: string, text: string): void => {
    const line = `${path === '' ? '/' : path}: ${text}`;
    if (!seen.has(line)) {
      seen.add(line);
      lines.push(line);
    }
  };
  // "At least one of" constraints (anyOf of `required` branches), grouped by location.
  const oneOf = new Map<string, string[]>();
  for (const e of errors) {
    if (e.keyword === 'required' && /(^|\/)anyOf\/\d+\/required$/.test(e.schemaPath)) {
      const list = oneOf.get(e.instancePath) ?? [];
      list.push(String(e.params.missingProperty));
      oneOf.set(e.instancePath, list);
    }
  }
  for (const e of errors) {
    const value = () => found(resolvePointer(data, e.instancePath));
    switch (e.keyword) {
      case 'if': // the failing "then" branch reports the actual problem
      case 'propertyNames': // reported by the error on the name itself
        break;
      case 'anyOf': {
        const names = oneOf.get(e.instancePath);
        if (names) add(e.instancePath, `must have at least one of the properties ${names.map((n) => `"${n}"`).join(', ')}`);
        else if (!errors.some((o) => o !== e && o.instancePath.startsWith(e.instancePath))) add(e.instancePath, 'does not match any allowed form');
        break;
      }
      case 'required':
        if (!/(^|\/)anyOf\/\d+\/required$/.test(e.schemaPath)) add(e.instancePath, `missing required property "${String(e.params.missingProperty)}"`);
        break;
      case 'dependencies':
        add(e.instancePath, `missing property "${String(e.params.missingProperty)}", required when "${String(e.params.property)}" is set`);
        break;
      case 'type': {
        const t = e.params.type;
        const types = Array.isArray(t) ? t : String(t).split(',');
        add(e.instancePath, `must be ${types.join(' or ')} (found ${value()})`);
        break;
      }
      case 'enum':
        add(e.instancePath, `must be one of ${(e.params.allowedValues as unknown[]).map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(', ')} (found ${value()})`);
        break;
      case 'const':
        add(e.instancePath, `must be ${JSON.stringify(e.params.allowedValue)} (found ${value()})`);
        break;
      case 'minimum':
      case 'maximum':
      case 'exclusiveMinimum':
      case 'exclusiveMaximum': {
        const limit = Number(e.params.limit);
        add(e.instancePath, `must be ${String(e.params.comparison)} ${LIMIT_TEXT.get(limit) ?? String(limit)} (found ${value()})`);
        break;
      }
      case 'pattern':
        if (e.propertyName !== undefined) add(e.instancePath, `property name ${JSON.stringify(e.propertyName)} ${patternText(String(e.params.pattern))}`);
        else add(e.instancePath, `${patternText(String(e.params.pattern))} (found ${value()})`);
        break;
      case 'minLength': {
        const n = Number(e.params.limit);
        const text = n === 1 ? 'must not be empty' : `must have at least ${n} characters`;
        if (e.propertyName !== undefined) add(e.instancePath, `property name ${JSON.stringify(e.propertyName)} ${text}`);
        else add(e.instancePath, text);
        break;
      }
      case 'minItems': {
        const n = Number(e.params.limit);
        add(e.instancePath, `must have at least ${n} item${n === 1 ? '' : 's'}`);
        break;
      }
      default:
        add(e.instancePath, e.propertyName !== undefined ? `property name ${JSON.stringify(e.propertyName)} ${e.message ?? 'is invalid'}` : (e.message ?? `fails ${e.keyword}`));
    }
  }
  return lines;
}

/** The value at a JSON pointer ("" is the whole document). */
function resolvePointer(data: unknown, pointer: string): unknown {
  if (pointer === '') return data;
  let cur: unknown = data;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

/** A short description of a value for "(found ...)". */
function found(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  switch (typeof v) {
    case 'object':
      return 'an object';
    case 'string': {
      const s = JSON.stringify(v);
      return s.length > 60 ? `${s.slice(0, 56)}..."` : s;
    }
    case 'undefined':
      return 'nothing';
    default:
      return String(v);
  }
}

// ---- where JSON is malformed ------------------------------------------------------------

interface JsonProblem {
  problem: string;
  line: number;
  column: number;
}

/**
 * Find the first syntax error of a JSON text (JSON.parse does not always say where).
 * Only used after JSON.parse failed; returns undefined if it finds nothing wrong.
 */
export function locateJsonError(text: string): JsonProblem | undefined {
  let i = 0;
  class Stop extends Error {}
  let problem = '';
  const fail = (what: string): never => {
    problem = what;
    throw new Stop();
  };
  const describe = (): string => (i >= text.length ? 'end of input' : `unexpected ${JSON.stringify(text[i])}`);
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  };
  const literal = (word: string): void => {
    if (text.startsWith(word, i)) i += word.length;
    else fail(describe());
  };
  const string = (): void => {
    i++; // opening quote
    for (;;) {
      if (i >= text.length) fail('unterminated string');
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return;
      }
      if (c < 0x20) fail('control character in string');
      if (c === 0x5c) {
        const n = text[i + 1];
        if (n === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
            i++;
            fail('invalid \\u escape in string');
          }
          i += 6;
        } else if (n !== undefined && '"\\/bfnrt'.includes(n)) {
          i += 2;
        } else {
          i++;
          fail('invalid escape in string');
        }
      } else {
        i++;
      }
    }
  };
  const number = (): void => {
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i));
    if (!m || m[0] === '' || m[0] === '-') fail(`invalid number`);
    i += m![0].length;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail(`expected a property name in double quotes, ${describe()}`);
        string();
        ws();
        if (text[i] !== ':') fail(`expected ":", ${describe()}`);
        i++;
        value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return;
        }
        fail(`expected "," or "}", ${describe()}`);
      }
    } else if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return;
        }
        fail(`expected "," or "]", ${describe()}`);
      }
    } else if (c === '"') string();
    else if (c === 't') literal('true');
    else if (c === 'f') literal('false');
    else if (c === 'n') literal('null');
    else if (c === '-' || (c >= '0' && c <= '9')) number();
    else fail(`expected a value, ${describe()}`);
  };
  try {
    value();
    ws();
    if (i < text.length) fail(`unexpected ${JSON.stringify(text[i])} after the end of the document`);
    return undefined;
  } catch (e) {
    if (!(e instanceof Stop)) throw e;
  }
  let line = 1;
  let lineStart = 0;
  for (let k = 0; k < i && k < text.length; k++) {
    if (text[k] === '\n') {
      line++;
      lineStart = k + 1;
    }
  }
  return { problem, line, column: i - lineStart + 1 };
}

// Compile berth's JSON Schemas of the OCI runtime-spec (spec-schemas/*.json) at build time:
//  1. dist/validators.js: one self-contained CommonJS file with the validate functions
//     `config`, `state`, `features`, `process`, `resources` (the CLI never compiles a
//     schema at run time; it requires this file lazily, see src/spec/validate.ts). Each
//     first asks a validator that only says whether the document is valid: ajv's
//     standalone code stopping at the first error, without error objects (checksOnly),
//     half the code to load on every create. Only a document it refuses loads dist/validators-errors.js: ajv's
//     validators of the same schemas with every error (allErrors), for the message.
//  2. src/spec/types.generated.ts: TypeScript types of the same schemas
//     (json-schema-to-typescript), re-exported under stable names by src/spec/types.ts.
// Nothing is done when the outputs are newer than every input. `--force` rebuilds.
import { appendFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const quiet = process.argv.includes('--quiet');
const force = process.argv.includes('--force');
const log = (m) => { if (!quiet) process.stderr.write(`build-validators: ${m}\n`); };

const schemaDir = join(root, 'spec-schemas');
const validatorsOut = join(root, 'dist/validators.js');
const errorsOut = join(root, 'dist/validators-errors.js');
const typesOut = join(root, 'src/spec/types.generated.ts');

/** The exported validators and the schema file each one starts from. */
const ENTRIES = {
  config: 'config.json',
  state: 'state.json',
  features: 'features.json',
  process: 'process.json',
  resources: 'resources.json',
};
const ID_BASE = 'https://berth.invalid/spec-schemas/';

function schemaFiles() {
  return readdirSync(schemaDir).filter((f) => f.endsWith('.json')).sort();
}

function loadSchemas() {
  return schemaFiles().map((f) => {
    const schema = JSON.parse(readFileSync(join(schemaDir, f), 'utf8'));
    if (schema.$id !== ID_BASE + f) throw new Error(`spec-schemas/${f}: $id must be ${ID_BASE + f}`);
    return { file: f, schema };
  });
}

function isStale() {
  if (force) return true;
  const inputs = [
    ...schemaFiles().map((f) => join(schemaDir, f)),
    fileURLToPath(import.meta.url),
    require.resolve('ajv/package.json'),
    require.resolve('json-schema-to-typescript/package.json'),
  ];
  const newest = Math.max(...inputs.map((f) => statSync(f).mtimeMs));
  return [validatorsOut, errorsOut, typesOut].some((o) => !existsSync(o) || statSync(o).mtimeMs < newest);
}

// 1. validators
function standaloneSource(schemas, options) {
  const Ajv = require('ajv').default;
  const standaloneCode = require('ajv/dist/standalone').default;
  const ajv = new Ajv({ code: { source: true, esm: false }, strict: false, inlineRefs: false, ...options });
  for (const { schema } of schemas) ajv.addSchema(schema);
  return standaloneCode(ajv, Object.fromEntries(Object.entries(ENTRIES).map(([name, file]) => [name, ID_BASE + file])));
}

/**
 * ajv's code made to give verdicts only: every error object literal ({instancePath,
 * schemaPath, keyword, params, ...}) becomes `{}`, what ajv itself emits where it
 * discards errors (createErrors: false, in `not` and `if`); its verdicts only count
 * errors, never read them. Then the context each validate function takes and passes
 * on ({instancePath, parentData, parentDataProperty, rootData}), which only those
 * objects used, is dropped from their heads and calls (a quarter of the code left).
 */
function checksOnly(source) {
  const ts = require('typescript');
  const file = ts.createSourceFile('validators.js', source, ts.ScriptTarget.ES2022, true, ts.ScriptKind.JS);
  const names = (o) => new Set(o.properties.map((p) => (p.name && ts.isIdentifier(p.name) ? p.name.text : '')));
  const edits = []; // [start, end, replacement]
  let errorObjects = 0;
  const visit = (node) => {
    if (ts.isObjectLiteralExpression(node) && ['instancePath', 'schemaPath', 'keyword', 'params'].every((n) => names(node).has(n))) {
      edits.push([node.getStart(file), node.end, '{}']);
      errorObjects++;
      return;
    }
    if (ts.isCallExpression(node) && node.arguments.length === 2 && ts.isObjectLiteralExpression(node.arguments[1]) && names(node.arguments[1]).has('rootData')) {
      edits.push([node.arguments[0].end, node.arguments[1].end, '']);
    }
    if (ts.isFunctionDeclaration(node) && node.parameters.length === 2 && ts.isObjectBindingPattern(node.parameters[1].name)) {
      edits.push([node.parameters[0].end, node.parameters[1].end, '']);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  edits.sort((a, b) => a[0] - b[0]);
  let out = '';
  let at = 0;
  for (const [start, end, text] of edits) {
    if (start < at) throw new Error('overlapping edits of ajv\'s code');
    out += source.slice(at, start) + text;
    at = end;
  }
  out += source.slice(at);
  if (errorObjects < 100 || /\b(schemaPath|instancePath|parentData|parentDataProperty|rootData)\b/.test(out)) {
    throw new Error(`ajv's code is not as expected: ${errorObjects} error objects replaced, and its context still used`);
  }
  return out;
}

async function buildValidators(schemas) {
  const tmpDir = join(root, 'build/validators');
  mkdirSync(tmpDir, { recursive: true });
  const checks = join(tmpDir, 'checks.raw.js');
  writeFileSync(checks, checksOnly(standaloneSource(schemas, { allErrors: false, messages: false })));
  const full = join(tmpDir, 'validators-errors.raw.js');
  writeFileSync(full, standaloneSource(schemas, { allErrors: true }));
  // dist/validators.js: the checks, and the errors file required (beside it) only for a refused document.
  const entry = join(tmpDir, 'validators.raw.js');
  writeFileSync(entry, `'use strict';
const checks = require('./checks.raw.js');
let withErrors;
for (const name of ${JSON.stringify(Object.keys(ENTRIES))}) {
  const check = checks[name];
  const validate = (data) => {
    validate.errors = null;
    if (check(data)) return true;
    withErrors ??= require('./validators-errors.js');
    const full = withErrors[name];
    if (!full(data)) validate.errors = full.errors;
    return false;
  };
  exports[name] = validate;
}
`);

  // The generated code may require ajv's small run-time helpers (ucs2length, equal, ...):
  // bundle them in so that neither file needs anything else at run time.
  const esbuild = await import('esbuild');
  mkdirSync(dirname(validatorsOut), { recursive: true });
  for (const [input, output] of [[entry, validatorsOut], [full, errorsOut]]) {
    await esbuild.build({
      entryPoints: [input],
      outfile: output,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      minify: true,
      legalComments: 'none',
      logLevel: 'warning',
      external: ['./validators-errors.js'],
      nodePaths: [join(root, 'node_modules')],
      banner: { js: '// Generated by scripts/build-validators.mjs from spec-schemas/. Do not edit.' },
    });
  }
  // Padded past V8's largest young object (128 KiB): bin/berth reads the file into a
  // string and wraps it, each copy as large, and below that size both land in the young
  // generation, whose filling past 80% of its first 1 MiB on the way through create
  // makes V8 run a scavenge (~1 ms of CPU) before the call can exit. Above it they go
  // to the large-object space; the padding costs the read of a comment.
  const minSize = 129 * 1024;
  const size = statSync(validatorsOut).size;
  if (size < minSize) appendFileSync(validatorsOut, `//${' '.repeat(minSize - size - 3)}\n`);
  // Check the result loads and exports what the CLI expects.
  for (const out of [validatorsOut, errorsOut]) {
    delete require.cache[out];
    const mod = require(out);
    for (const name of Object.keys(ENTRIES)) {
      if (typeof mod[name] !== 'function') throw new Error(`${relative(root, out)} does not export ${name}`);
    }
    log(`wrote ${relative(root, out)} (${statSync(out).size} bytes)`);
  }
}

// 2. TypeScript types
/**
 * Keywords that only constrain values (conditional requirements, "at least one of",
 * property names) carry no type information; json-schema-to-typescript would turn some
 * of them into odd unions, so they are removed from the copy the types are made from.
 */
function stripForTypes(node) {
  if (Array.isArray(node)) return node.map(stripForTypes);
  if (!node || typeof node !== 'object') return node;
  // Siblings of a $ref (descriptions) would make json-schema-to-typescript declare
  // numbered copies of the referenced type.
  if (typeof node.$ref === 'string') return { $ref: node.$ref };
  const out = {};
  for (const [k, v] of Object.entries(node)) {
    if (['if', 'then', 'else', 'dependencies', 'propertyNames', '$id', '$schema', 'pattern'].includes(k)) continue;
    if (k === 'anyOf' && v.every((b) => Object.keys(b).length === 1 && Array.isArray(b.required))) continue;
    out[k] = stripForTypes(v);
  }
  return out;
}

async function buildTypes(schemas) {
  const { compile } = require('json-schema-to-typescript');
  const tmpDir = join(root, 'build/schema-types');
  rmSync(tmpDir, { recursive: true, force: true });
  mkdirSync(tmpDir, { recursive: true });
  for (const { file, schema } of schemas) {
    writeFileSync(join(tmpDir, file), JSON.stringify(stripForTypes(schema), null, 2));
  }
  // One root that references every entry, so that shared definitions are declared once.
  const rootSchema = {
    title: 'SpecDocuments',
    description: 'Every document berth validates, by validator name.',
    type: 'object',
    required: Object.keys(ENTRIES),
    properties: Object.fromEntries(Object.entries(ENTRIES).map(([name, file]) => [name, { $ref: file }])),
  };
  const ts = await compile(rootSchema, 'SpecDocuments', {
    cwd: tmpDir,
    additionalProperties: false,
    ignoreMinAndMaxItems: true,
    unknownAny: true,
    strictIndexSignatures: true,
    format: true,
    style: { singleQuote: true, printWidth: 110 },
    bannerComment:
      '/* eslint-disable */\n// Generated by scripts/build-validators.mjs from spec-schemas/ (json-schema-to-typescript). Do not edit.\n// Use the stable names exported by ./types instead of importing this file directly.',
  });
  mkdirSync(dirname(typesOut), { recursive: true });
  writeFileSync(typesOut, ts);
  log(`wrote ${relative(root, typesOut)}`);
}

if (isStale()) {
  const schemas = loadSchemas();
  await buildValidators(schemas);
  await buildTypes(schemas);
}

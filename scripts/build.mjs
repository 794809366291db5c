// Build everything the CLI needs at run time, so nothing is compiled when it runs:
//  1. both sides of the plan message, generated from addon/message/plan.def
//     (scripts/gen-plan.mjs: the TS encoder, berth-init's struct Plan and decoder)
//  2. standalone ajv validators from spec-schemas/ (scripts/build-validators.mjs)
//  3. the native addon and berth-init (node-gyp, scripts/native.mjs), unless already built
//  4. one bundled CLI file, dist/berth.js, plus lazily loaded chunks, and their V8 code caches
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { setFlagsFromString } from 'node:v8';
import { Script } from 'node:vm';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatePlan, generatePlanDump } from './gen-plan.mjs';
import { buildNative } from './native.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const quiet = process.argv.includes('--quiet');
const log = (m) => { if (!quiet) process.stderr.write(`build: ${m}\n`); };

// 4. bundle
async function bundle() {
  const esbuild = await import('esbuild');
  mkdirSync(join(root, 'dist'), { recursive: true });
  const common = {
    bundle: true, platform: 'node', target: 'node20', format: 'cjs',
    minifySyntax: true, minifyWhitespace: true, legalComments: 'none', logLevel: 'warning',
    // Lazily loaded chunks are separate files, required by path at run time;
    // node-gyp-build is a dependency the install script uses too: one copy of it.
    external: ['./validators.js', './yargs-cli.js', './criu-rpc.js', 'node-gyp-build'],
    define: {
      BERTH_VERSION: JSON.stringify(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version),
      BERTH_COMMIT: JSON.stringify(gitCommit()),
    },
  };
  await esbuild.build({ ...common, entryPoints: [join(root, 'src/cli/main.ts')], outfile: join(root, 'dist/berth.js') });
  await esbuild.build({ ...common, entryPoints: [join(root, 'src/cli/yargs-cli.ts')], outfile: join(root, 'dist/yargs-cli.js') });
  // The library (require('berth')), its ESM face, and its types (src/lib/).
  await esbuild.build({ ...common, entryPoints: [join(root, 'src/lib/index.ts')], outfile: join(root, 'dist/index.js') });
  writeFileSync(join(root, 'dist/index.mjs'), LIBRARY_ESM);
  libraryTypes();
  // CRIU's messages with protobufjs: loaded by checkpoint and restore only.
  await esbuild.build({ ...common, entryPoints: [join(root, 'src/checkpoint/rpc.ts')], outfile: join(root, 'dist/criu-rpc.js') });
}

const LIBRARY_NAMES = ['Runtime', 'BerthError', 'ConfigError', 'ExistsError', 'NotFoundError', 'SetupError', 'StateError'];
const LIBRARY_ESM = `// ESM entry of the library: the CommonJS bundle's exports.
import lib from './index.js';
export const { ${LIBRARY_NAMES.join(', ')} } = lib;
export default lib;
`;

// dist/types/: the declarations of src/lib/index.ts and of the modules its types
// name (tsc emits them all; only those reachable from the entry are kept).
function libraryTypes() {
  const tmp = mkdtempSync(join(root, 'build', 'types-'));
  try {
    const tsc = join(root, 'node_modules/typescript/bin/tsc');
    execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.lib.json'), '--outDir', tmp], { stdio: 'inherit' });
    const out = join(root, 'dist/types');
    rmSync(out, { recursive: true, force: true });
    const todo = ['src/lib/index.d.ts'];
    for (const seen = new Set(); todo.length; ) {
      const rel = todo.pop();
      if (seen.has(rel)) continue;
      seen.add(rel);
      const text = readFileSync(join(tmp, rel), 'utf8');
      mkdirSync(dirname(join(out, rel)), { recursive: true });
      writeFileSync(join(out, rel), text);
      for (const m of text.matchAll(/(?:from |import\()['"](\.[^'"]+)['"]/g)) todo.push(join(dirname(rel), `${m[1]}.d.ts`));
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

// 5. berth-init's steps against a fake of their system calls, for the unit tests
// (test/unit/berth-init.test.ts, its C++ in test/unit/berth-init/): never
// installed, so not a node-gyp target.
function buildInitTest() {
  const out = join(root, 'build/Release/berth-init-test');
  const dir = join(root, 'build/init-test');
  mkdirSync(dir, { recursive: true });
  generatePlanDump(root, dir);
  const helper = readdirSync(join(root, 'addon/berth-init')).filter((f) => f.endsWith('.cc') && f !== 'main.cc').map((f) => join(root, 'addon/berth-init', f));
  const tests = join(root, 'test/unit/berth-init');
  const sources = [...helper, ...readdirSync(tests).filter((f) => f.endsWith('.cc')).map((f) => join(tests, f)), join(dir, 'plan_dump.gen.cc')];
  const inputs = [...sources, ...[join(root, 'addon/berth-init'), tests].flatMap((d) => readdirSync(d).map((f) => join(d, f)))];
  if (existsSync(out) && inputs.every((f) => statSync(f).mtimeMs <= statSync(out).mtimeMs)) return;
  log('compiling berth-init-test');
  execFileSync(process.env.CXX ?? 'c++', ['-std=c++17', '-O1', '-g', '-Wall', '-Wextra', '-fno-exceptions', '-fsanitize=address,undefined', '-fno-sanitize-recover=all', '-I', join(root, 'addon'), '-I', tests, '-o', out, ...sources], { stdio: 'inherit' });
}

if (process.argv.includes('--native-only')) {
  buildNative({ quiet, log });
  process.exit(0);
}
// V8 code caches (dist/NAME.cache, read by bin/berth). The bundle's comes from a
// typical short command run through bin/berth: it holds the functions that ran, and
// stays small, since every short call (state above all) deserializes all of it.
// The chunks' hold every function (V8 compiles eagerly while --no-lazy is set; the
// flag is reset before the cache is made, as V8 rejects a cache made under other
// flags): only the commands that use a chunk load it, and it saves them compiling
// the functions of their own path (the validators: ~11 ms of CPU to ~4 ms). So does
// the bundle's second cache, berth.eager.cache, which bin/berth loads for create,
// run and exec (`run`: ~10 ms of CPU less).
function makeCodeCaches() {
  const tmp = mkdtempSync(join(root, 'build', 'cache-root-'));
  try {
    execFileSync(process.execPath, [join(root, 'bin/berth'), '--root', tmp, 'list'], {
      env: { ...process.env, BERTH_MAKE_CODE_CACHE: join(root, 'dist/berth.cache') },
      stdio: 'ignore',
    });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const { wrap } = createRequire(import.meta.url)('node:module');
  for (const [name, cache] of [['berth', 'berth.eager'], ['validators'], ['yargs-cli'], ['criu-rpc']]) {
    const file = join(root, 'dist', `${name}.js`);
    if (!existsSync(file)) continue;
    setFlagsFromString('--no-lazy');
    const script = new Script(wrap(readFileSync(file, 'utf8')), { filename: file });
    setFlagsFromString('--lazy');
    writeFileSync(join(root, 'dist', `${cache ?? name}.cache`), script.createCachedData());
  }
}

generatePlan(root);
if (existsSync(join(root, 'scripts/build-validators.mjs'))) {
  execFileSync(process.execPath, [join(root, 'scripts/build-validators.mjs')], { cwd: root, stdio: 'inherit' });
}
if (!process.argv.includes('--no-native')) {
  buildNative({ quiet, log });
  buildInitTest();
}
await bundle();
mkdirSync(join(root, 'build'), { recursive: true });
makeCodeCaches();
log('done');

/** The checkout's commit for `berth --version` ("-dirty" with local changes), or "none" outside git. */
function gitCommit() {
  const git = (...args) => spawnSync('git', ['-C', root, ...args], { encoding: 'utf8' });
  const head = git('rev-parse', 'HEAD');
  if (head.status !== 0) return 'none';
  const dirty = git('status', '--porcelain', '--untracked-files=no').stdout.trim() !== '';
  return `${head.stdout.trim()}${dirty ? '-dirty' : ''}`;
}

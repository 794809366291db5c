// Build everything the CLI needs at run time, so nothing is compiled when it runs:
//  1. both sides of the plan message, generated from addon/message/plan.def
//     (scripts/gen-plan.mjs: the TS encoder, berth-init's struct Plan and decoder)
//  2. standalone ajv validators from spec-schemas/ (scripts/build-validators.mjs)
//  3. the native addon and berth-init (node-gyp, scripts/native.mjs), unless already built
//  4. one bundled CLI file, dist/berth.js, plus lazily loaded chunks, and their V8 code caches
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
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
// The commands engines call, which bin/berth runs from a bundle of their own
// (dist/berth-NAME.js, src/cli/one-command.ts): create, run and exec, whose code caches
// come from real calls (realCallCaches), and the short ones (shortCommandCaches).
const REAL_CALL_COMMANDS = ['create', 'run', 'exec'];
const SHORT_COMMANDS = ['state', 'kill', 'start', 'delete'];
const OWN_BUNDLE_COMMANDS = [...REAL_CALL_COMMANDS, ...SHORT_COMMANDS];

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
  // One bundle per command engines call, with only what that command reaches.
  for (const name of OWN_BUNDLE_COMMANDS) {
    await esbuild.build({
      ...common, external: [...common.external, './berth.js'], outfile: join(root, `dist/berth-${name}.js`),
      stdin: { contents: `import c from './commands/${name}';\nimport { runOneCommand } from './one-command';\nrunOneCommand(c);\n`, resolveDir: join(root, 'src/cli'), sourcefile: `berth-${name}.ts`, loader: 'ts' },
    });
  }
  await esbuild.build({ ...common, entryPoints: [join(root, 'src/cli/yargs-cli.ts')], outfile: join(root, 'dist/yargs-cli.js') });
  // The library (require('berth')), its ESM face, and its types (src/lib/).
  await esbuild.build({ ...common, entryPoints: [join(root, 'src/lib/index.ts')], outfile: join(root, 'dist/index.js') });
  writeFileSync(join(root, 'dist/index.mjs'), LIBRARY_ESM);
  libraryTypes();
  // CRIU's messages with protobufjs: loaded by checkpoint and restore only.
  await esbuild.build({ ...common, entryPoints: [join(root, 'src/checkpoint/rpc.ts')], outfile: join(root, 'dist/criu-rpc.js') });
  for (const name of ['berth', ...OWN_BUNDLE_COMMANDS.map((c) => `berth-${c}`), 'yargs-cli', 'criu-rpc', 'validators', 'validators-errors']) asciiOnly(join(root, 'dist', `${name}.js`));
}

// esbuild escapes what is not ASCII in strings, not in regular expression
// literals; one such character makes V8 hold the whole bundle as a two-byte
// string (decoded, hashed and scanned at twice the size on every call). \uXXXX
// means the same character in a string, a regular expression or an identifier.
function asciiOnly(file) {
  if (!existsSync(file)) return;
  const text = readFileSync(file, 'utf8');
  // eslint-disable-next-line no-control-regex
  const ascii = text.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (ascii !== text) writeFileSync(file, ascii);
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
// V8 code caches (dist/NAME.cache, read by bin/berth). The bundles' come from
// commands run through bin/berth: each holds the functions that ran, and stays
// small, since a call deserializes all of it every time. The short commands'
// bundles (dist/berth-COMMAND.js) each have one made on a container faked for them
// (shortCommandCaches); create, run and exec each one from a real call
// (realCallCaches); the rest of the commands (dist/berth.js) that of a `list` run
// (dist/berth.cache).
// The chunks' hold every function (V8 compiles eagerly while --no-lazy is set; the
// flag is reset before the cache is made, as V8 rejects a cache made under other
// flags): only the commands that use a chunk load it, and it saves them compiling
// the functions of their own path (the validators: ~11 ms of CPU to ~4 ms). So do
// create's, run's and exec's where no container could run for them here.
async function makeCodeCaches() {
  // None is kept from an earlier build: V8 takes a cache for any source of the same
  // length, and calls below add to the chunks' caches.
  for (const f of readdirSync(join(root, 'dist'))) if (f.endsWith('.cache')) rmSync(join(root, 'dist', f));
  const tmp = mkdtempSync(join(root, 'build', 'cache-root-'));
  try {
    cacheOf(['--root', tmp, 'list'], 'berth.cache');
    await shortCommandCaches(tmp);
    realCallCaches(tmp);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const { wrap } = createRequire(import.meta.url)('node:module');
  const made = (name) => existsSync(join(root, 'dist', `${name}.cache`));
  for (const name of [...REAL_CALL_COMMANDS.map((c) => `berth-${c}`), 'validators', 'validators-errors', 'yargs-cli', 'criu-rpc'].filter((n) => !made(n))) {
    const file = join(root, 'dist', `${name}.js`);
    if (!existsSync(file)) continue;
    setFlagsFromString('--no-lazy');
    const script = new Script(wrap(readFileSync(file, 'utf8')), { filename: file });
    setFlagsFromString('--lazy');
    writeFileSync(join(root, 'dist', `${name}.cache`), script.createCachedData());
  }
}

/** Runs bin/berth with args, saving the bundle's code cache as it exits (an error exit too) to dist/NAME; returns its exit status. */
function cacheOf(args, name) {
  return spawnSync(process.execPath, [join(root, 'bin/berth'), ...args], {
    env: { ...process.env, BERTH_MAKE_CODE_CACHE: join(root, 'dist', name) },
    stdio: 'ignore',
  }).status;
}

// create's, run's and exec's caches, each from a call on a real container (what it
// runs on this host: `run` ~4 ms of CPU less than with every function compiled),
// whose process is a copy of berth-init (static; run as a command it exits with 2);
// exec is given a process.json, as engines do. The validators' cache is what
// create's and exec's validation ran (~1.5 ms of CPU less per `run` than all of it).
// Only as root, and a cache whose call failed is not kept: makeCodeCaches then
// compiles every function of that bundle instead.
function realCallCaches(tmp) {
  const init = join(root, 'build/Release/berth-init');
  if (process.getuid() !== 0 || !existsSync(init)) return log('create, run and exec: caches of every function (no container runs here without root and berth-init)');
  const bundle = join(tmp, 'bundle');
  mkdirSync(join(bundle, 'rootfs'), { recursive: true });
  copyFileSync(init, join(bundle, 'rootfs/true'));
  const berth = (...args) => spawnSync(process.execPath, [join(root, 'bin/berth'), '--root', join(tmp, 'state'), ...args], { stdio: 'ignore' }).status;
  berth('spec', '--bundle', bundle);
  const config = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
  const proc = { ...config.process, terminal: false, args: ['/true'] };
  writeFileSync(join(bundle, 'config.json'), JSON.stringify({ ...config, process: proc, root: { path: 'rootfs', readonly: true } }));
  writeFileSync(join(tmp, 'process.json'), JSON.stringify(proc));
  const id = `berth-build-${process.pid}`;
  const R = ['--root', join(tmp, 'state')];
  // The cache of a call that ended otherwise than wanted is not kept.
  const kept = (name, args, want) => {
    const status = args ? cacheOf([...R, name, ...args], `berth-${name}.cache`) : undefined;
    if (status === want) return true;
    rmSync(join(root, 'dist', `berth-${name}.cache`), { force: true });
    log(`${name}: a cache of every function (${status === undefined ? 'no container to call it on' : `its call here ended with ${status}`})`);
    return false;
  };
  try {
    const created = kept('create', ['--bundle', bundle, id], 0);
    kept('exec', created && ['--process', join(tmp, 'process.json'), id], 2);
    kept('run', ['--bundle', bundle, `${id}-run`], 2);
  } finally {
    berth('delete', '--force', id);
    berth('delete', '--force', `${id}-run`);
  }
}

// The short commands' caches, each from a run of that command on a container whose
// init is a shell of this build, waiting in "created" (its state, an exec fifo, a
// freezer.state, cgroup directories that are plain ones under tmp): state, kill (a
// SIGCONT), start (the shell takes the fifo's byte and closes its end, as berth-init
// does at its execve, then sleeps), then, with the shell killed, delete (its
// "cgroups" removed). Each cache holds what its command ran: a call that failed
// would leave the success path to be compiled on every call.
async function shortCommandCaches(tmp) {
  const id = 'cache';
  const dir = join(tmp, id);
  const cgroups = ['freezer', 'memory'].map((c) => join(tmp, 'cgroup', c, id));
  for (const d of [dir, ...cgroups]) mkdirSync(d, { recursive: true });
  writeFileSync(join(cgroups[0], 'freezer.state'), 'THAWED\n');
  execFileSync('mkfifo', [join(dir, 'exec.fifo')]);
  const init = spawn('sh', ['-c', 'exec 3<>"$0"; head -c1 <&3 >/dev/null; exec sleep 600 3>&-', join(dir, 'exec.fifo')], { stdio: 'ignore' });
  const ended = new Promise((res) => init.once('exit', res));
  try {
    await new Promise((res, rej) => init.once('spawn', res).once('error', rej));
    // The shell holds the fifo (fd 3) before start writes to it.
    while (!existsSync(`/proc/${init.pid}/fd/3`)) {
      if (init.exitCode !== null || init.signalCode !== null) throw new Error('the stand-in init of the short commands\' caches ended');
      await new Promise((res) => setTimeout(res, 5));
    }
    const stat = readFileSync(`/proc/${init.pid}/stat`, 'utf8');
    const saved = {
      ociVersion: '1.2.0', id, bundle: tmp, rootfs: join(tmp, 'rootfs'), created: new Date().toISOString(), owner: '',
      phase: 'created', pid: init.pid, pidStartTime: stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19],
      cgroups: { dirs: cgroups, made: cgroups, freezer: cgroups[0] }, hooks: {}, ownPidNs: true,
    };
    writeFileSync(join(dir, 'state.json'), JSON.stringify(saved));
    // Kept when its call fails (these bundles have no cache of every function to fall back to), and said.
    const cacheOfCall = (...args) => {
      const status = cacheOf(['--root', tmp, ...args], `berth-${args[0]}.cache`);
      if (status !== 0) log(`${args[0]}: its cache is of a call that ended with ${status}`);
    };
    cacheOfCall('state', id);
    cacheOfCall('kill', id, 'CONT');
    cacheOfCall('start', id);
    rmSync(join(cgroups[0], 'freezer.state'));
    init.kill('SIGKILL');
    await ended;
    cacheOfCall('delete', id);
  } finally {
    init.kill('SIGKILL');
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
await makeCodeCaches();
log('done');

/** The checkout's commit for `berth --version` ("-dirty" with local changes), or "none" outside git. */
function gitCommit() {
  const git = (...args) => spawnSync('git', ['-C', root, ...args], { encoding: 'utf8' });
  const head = git('rev-parse', 'HEAD');
  if (head.status !== 0) return 'none';
  const dirty = git('status', '--porcelain', '--untracked-files=no').stdout.trim() !== '';
  return `${head.stdout.trim()}${dirty ? '-dirty' : ''}`;
}

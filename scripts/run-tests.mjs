// Run the test suite: bundle every test/**/*.test.ts with esbuild into
// build/test/ (same relative paths, .js) and hand them to `node --test`, one file
// at a time since many tests create containers and share the host.
//   node scripts/run-tests.mjs                 all tests
//   node scripts/run-tests.mjs unit signals    only files whose path contains a word
//   node scripts/run-tests.mjs --test-name-pattern=rootless   flags go to node
// A run never changes tracked files: the engine tests' matrix rows are kept in
// build/engine-matrix/ and `npm run engine-matrix` writes them into README.md.
// BERTH_TEST_DIR (default test/) and BERTH_ENGINE_MATRIX_KEEP (default
// build/engine-matrix/) are for the tests of this script (test/unit/run-tests.test.ts).
import { spawnSync } from 'node:child_process';
import { readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KEPT_DIR, keepRows } from './engine-matrix.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const testDir = process.env.BERTH_TEST_DIR ?? join(root, 'test');
// A directory per run: two runs at once (two developers, one tree) must not
// delete each other's bundles.
const outDir = join(root, `build/test-${process.pid}`);

const nodeFlags = process.argv.slice(2).filter((a) => a.startsWith('--'));
const filters = process.argv.slice(2).filter((a) => !a.startsWith('--'));

const sources = readdirSync(testDir, { recursive: true, withFileTypes: true })
  .filter((e) => e.isFile() && e.name.endsWith('.test.ts'))
  .map((e) => join(e.parentPath ?? e.path, e.name))
  .filter((f) => filters.length === 0 || filters.some((w) => relative(testDir, f).includes(w)))
  .sort();
if (sources.length === 0) {
  process.stderr.write(`run-tests: no test files${filters.length ? ` matching ${filters.join(', ')}` : ''}\n`);
  process.exit(1);
}

const esbuild = await import('esbuild');
rmSync(outDir, { recursive: true, force: true });
await esbuild.build({
  entryPoints: sources,
  outbase: testDir,
  outdir: outDir,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  packages: 'external',
  // src/spec/validate.ts requires the build's dist/validators.js beside the bundle at run
  // time; tests hand it the file explicitly (useValidators).
  external: ['./validators.js'],
  sourcemap: 'inline',
  logLevel: 'warning',
});

// Host device nodes must come out of the whole run as they went in: no container
// operation may chown or chmod them (a crun run here once left /dev/null 1000:1000).
const HOST_DEVICES = ['/dev/null', '/dev/zero', '/dev/full', '/dev/random', '/dev/urandom', '/dev/tty'];
const devices = () => HOST_DEVICES.map((d) => {
  const st = statSync(d);
  return `${d} ${st.uid}:${st.gid} ${st.mode.toString(8)} ${st.rdev}`;
}).join('\n');
const devicesBefore = devices();

const files = sources.map((f) => join(outDir, relative(testDir, f)).replace(/\.ts$/, '.js'));
// The engine tests (test/engines/) record one row per case here; they are kept
// for `npm run engine-matrix` after the run.
const matrixDir = join(outDir, 'engine-matrix');
const r = spawnSync(process.execPath, ['--enable-source-maps', '--test', '--test-concurrency=1', ...nodeFlags, ...files], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, BERTH_ENGINE_MATRIX_DIR: matrixDir },
});
const keepDir = process.env.BERTH_ENGINE_MATRIX_KEEP ?? KEPT_DIR;
const kept = keepRows(matrixDir, keepDir);
if (kept.length) process.stdout.write(`# engine matrix rows of ${kept.join(', ')} kept in ${relative(root, keepDir) || keepDir}; \`npm run engine-matrix\` writes them into README.md\n`);
rmSync(outDir, { recursive: true, force: true });
if (devices() !== devicesBefore) {
  process.stderr.write(`run-tests: host device nodes changed during the run:\nbefore:\n${devicesBefore}\nafter:\n${devices()}\n`);
  process.exit(1);
}
process.exit(r.status ?? 1);

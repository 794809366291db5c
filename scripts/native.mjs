// Compiles the native parts (the N-API module and berth-init) with node-gyp into
// build/Release, unless they are newer than every source. Used by scripts/build.mjs
// (a source tree) and scripts/install.mjs (an installed package no prebuild fits).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export function buildNative({ quiet = false, log = () => {} } = {}) {
  const products = ['build/Release/berth.node', 'build/Release/berth-init'];
  const sources = [join(root, 'binding.gyp'), ...listFiles(join(root, 'addon'))];
  const newest = Math.max(...sources.map((f) => statSync(f).mtimeMs));
  const stale = products.some((p) => !existsSync(join(root, p)) || statSync(join(root, p)).mtimeMs < newest);
  if (!stale) return;
  log('compiling addon and berth-init (node-gyp)');
  // Incremental once configured: `rebuild` would empty build/ while the CLI may be in use.
  const step = existsSync(join(root, 'build/Makefile')) ? 'build' : 'rebuild';
  // Under flock(1): two builds in one tree at once would race in build/.
  mkdirSync(join(root, 'build'), { recursive: true });
  execFileSync('flock', [join(root, 'build/.lock'), process.execPath, gypBin(), step, '--loglevel=warn', ...(step === 'rebuild' ? nodedirArgs() : [])],
    { cwd: root, stdio: quiet ? 'ignore' : ['ignore', 'ignore', 'inherit'] });
}

/** Build against this Node's own headers when it has them: node-gyp must not download them. */
export function nodedirArgs() {
  const nodedir = join(dirname(process.execPath), '..');
  return existsSync(join(nodedir, 'include/node/node.h')) ? [`--nodedir=${nodedir}`] : [];
}

export function gypBin() {
  // The project's own node-gyp, the one npm names to install scripts, or npm's bundled one.
  for (const c of [join(root, 'node_modules/node-gyp/bin/node-gyp.js'), process.env.npm_config_node_gyp,
                   join(dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js')]) {
    if (c && existsSync(c)) return c;
  }
  throw new Error('node-gyp not found');
}

function listFiles(dir) {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile()).map((e) => join(e.parentPath ?? e.path, e.name));
}

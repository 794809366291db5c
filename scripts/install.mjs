// npm's install step: use the prebuilt native parts (prebuilds/<platform>-<arch>/, made
// by scripts/prebuild.mjs) when one fits this machine, else compile them (node-gyp;
// needs a C++ compiler, make, python3 and libseccomp's static library).
// `npm install --build-from-source` compiles even when a prebuild fits.
import { spawnSync } from 'node:child_process';
import { dirname, relative } from 'node:path';
import { buildNative, root } from './native.mjs';

const log = (m) => process.stderr.write(`berth: ${m}\n`);

// Resolve and load as the CLI does (node-gyp-build), in a child process: a prebuild
// built against a newer glibc than this one fails to load and is then no fit; and
// berth-init must be beside it.
const probe = `
  const { accessSync, constants } = require('node:fs');
  const { dirname, join } = require('node:path');
  try {
    const file = require('node-gyp-build').path(process.argv[1]);
    require(file);
    accessSync(join(dirname(file), 'berth-init'), constants.X_OK);
    console.log(file);
  } catch (e) {
    console.error(e.message.split('\\n')[0]);
    process.exit(1);
  }`;

function prebuildThatFits() {
  // Only the prebuilds: a build/Release of an earlier compile is not what is asked about.
  const r = spawnSync(process.execPath, ['-e', probe, root], {
    cwd: root, encoding: 'utf8', env: { ...process.env, PREBUILDS_ONLY: '1' },
  });
  return r.status === 0 ? { file: r.stdout.trim() } : { why: r.stderr.trim() || `status ${r.status}` };
}

const fromSource = process.env.npm_config_build_from_source === 'true';
const prebuilt = fromSource ? {} : prebuildThatFits();
if (prebuilt.file) {
  log(`using the prebuilt native parts in ${relative(root, dirname(prebuilt.file))}`);
} else {
  log(fromSource ? 'compiling the native parts (--build-from-source)'
    : `no prebuilt native parts fit (${prebuilt.why}); compiling them`);
  buildNative({ log });
}

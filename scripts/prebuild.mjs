// The prebuilt native parts the npm package ships, so that installing it needs no
// compiler: prebuilds/linux-<arch>/berth.glibc.node (prebuildify --napi --tag-libc;
// node-gyp-build loads it) with the static berth-init beside it, for x64 and arm64.
// An arch other than this machine's is cross-compiled with Debian's toolchain for it
// (g++-aarch64-linux-gnu) against its libseccomp static library (libseccomp-dev:arm64).
// Each arch builds in its own copy of the native sources (build/prebuild/<arch>/), so
// the tree's build/Release stays this machine's.
//   node scripts/prebuild.mjs               both arches
//   node scripts/prebuild.mjs arm64         only the arches named
//   node scripts/prebuild.mjs --check       fail unless every arch's prebuild is there and
//                                           newer than the sources (npm pack's prepack)
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, openSync, readSync, closeSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { arch as hostArch } from 'node:os';
import { gypBin, nodedirArgs, root } from './native.mjs';

/** GNU triplet (the cross tools' prefix) and ELF e_machine of each arch. */
const ARCHES = {
  x64: { triplet: 'x86_64-linux-gnu', machine: 62 },
  arm64: { triplet: 'aarch64-linux-gnu', machine: 183 },
};
const NATIVE_NAME = 'berth.glibc.node';
const log = (m) => process.stderr.write(`prebuild: ${m}\n`);

const args = process.argv.slice(2);
const wanted = args.filter((a) => !a.startsWith('--'));
for (const a of wanted) if (!ARCHES[a]) throw new Error(`unknown arch ${a} (known: ${Object.keys(ARCHES).join(', ')})`);
const arches = wanted.length ? wanted : Object.keys(ARCHES);

const dirOf = (arch) => join(root, 'prebuilds', `linux-${arch}`);
const products = (arch) => [join(dirOf(arch), NATIVE_NAME), join(dirOf(arch), 'berth-init')];

if (args.includes('--check')) {
  const sources = [join(root, 'binding.gyp'), ...readdirSync(join(root, 'addon'), { recursive: true }).map((f) => join(root, 'addon', f))];
  const newest = Math.max(...sources.map((f) => statSync(f).mtimeMs));
  const missing = arches.flatMap(products).filter((p) => !existsSync(p) || statSync(p).mtimeMs < newest);
  if (missing.length) {
    log(`missing or older than the native sources: ${missing.map((p) => p.slice(root.length + 1)).join(', ')}; run \`npm run prebuild\``);
    process.exit(1);
  }
  process.exit(0);
}

for (const arch of arches) build(arch);
rmSync(join(root, 'build/prebuild'), { recursive: true, force: true });

function build(arch) {
  const { triplet } = ARCHES[arch];
  const cross = arch !== hostArch();
  const tool = (name) => (cross ? `${triplet}-${name}` : name);
  log(`linux-${arch}${cross ? ` (cross-compiled with ${tool('g++')})` : ''}`);
  // A scratch copy under build/: binding.gyp's node-addon-api lookup still finds the
  // tree's node_modules.
  const work = join(root, 'build/prebuild', arch);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  cpSync(join(root, 'binding.gyp'), join(work, 'binding.gyp'));
  cpSync(join(root, 'addon'), join(work, 'addon'), { recursive: true });
  rmSync(dirOf(arch), { recursive: true, force: true });

  const nodedir = nodedirArgs()[0]?.slice('--nodedir='.length);
  const env = {
    ...process.env,
    CC: tool('gcc'), CXX: tool('g++'), LINK: tool('g++'), AR: tool('ar'),
    // node-gyp takes npm_config_* as options: build against this Node's headers, no download.
    ...(nodedir ? { npm_config_nodedir: nodedir } : {}), npm_config_loglevel: 'warn',
  };
  execFileSync(process.execPath, [
    join(root, 'node_modules/prebuildify/bin.js'), '--napi', '--tag-libc', '--name', 'berth',
    '--target', `node@${process.versions.node}`, '--arch', arch, '--platform', 'linux',
    '--strip', '--strip-bin', tool('strip'), '--node-gyp', gypBin(), '--out', root, '--cwd', work,
  ], { cwd: work, env, stdio: ['ignore', 'ignore', 'inherit'] });
  copyFileSync(join(work, 'build/Release/berth-init'), join(dirOf(arch), 'berth-init'));
  // A cross build that silently used the host compiler would ship the wrong machine code.
  for (const p of products(arch)) {
    const m = elfMachine(p);
    if (m !== ARCHES[arch].machine) throw new Error(`${p}: ELF machine ${m}, not ${arch}'s ${ARCHES[arch].machine}`);
  }
  rmSync(work, { recursive: true, force: true });
  log(`linux-${arch}: ${products(arch).map((p) => `${p.slice(root.length + 1)} (${Math.round(statSync(p).size / 1024)} KiB)`).join(', ')}`);
}

function elfMachine(file) {
  const b = Buffer.alloc(20);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, b, 0, 20, 0);
  } finally {
    closeSync(fd);
  }
  return b.toString('latin1', 0, 4) === '\x7fELF' ? b.readUInt16LE(18) : -1;
}

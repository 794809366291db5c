#!/usr/bin/env bash
# The npm package installs and runs without a compiler (run by test/package/package.test.ts;
# alone: bash test/package/install.sh, as root). It
#  1. builds the prebuilds of both arches (scripts/prebuild.mjs) and packs the package;
#  2. checks the tarball holds what runs and nothing else;
#  3. installs it with a PATH that has node, npm and a few basic tools but no cc, c++, make
#     or python3: globally into a fresh prefix, and as a dependency of a fresh project;
#     each install must take the prebuilt parts, and each installed CLI runs a busybox
#     container whose output is checked; once more with --ignore-scripts;
#  4. installs it once more where no prebuild fits (LIBC=musl tells node-gyp-build it is a
#     musl host; the prebuilds are glibc's), with the full PATH: the compile fallback.
# Everything it makes is under one temp dir (state root included), removed at the end.
# Prints "# " lines: the pack and install summaries. Exit status 0 when all passed.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/berth-package-XXXXXX)
state=$work/state
clis=()

cleanup() {
  for cli in "${clis[@]}"; do
    for id in $("$cli" --root "$state" list -q 2>/dev/null); do "$cli" --root "$state" delete --force "$id" || true; done
  done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "install.sh: $*" >&2; exit 1; }
say() { echo "# $*"; }

# 1. prebuilds and the tarball (npm pack runs prepack: the prebuilds are checked; prepare: dist/)
node "$repo/scripts/prebuild.mjs"
(cd "$repo" && npm pack --pack-destination "$work" --foreground-scripts) >"$work/pack.log" 2>&1 \
  || { cat "$work/pack.log" >&2; fail "npm pack failed"; }
tarball=$(ls "$work"/berth-*.tgz)
grep -E 'npm notice (filename|package size|unpacked size|total files):' "$work/pack.log" | sed 's/^npm notice /# pack: /'

# 2. contents: the CLI, its bundle, both arches' prebuilds, the sources of the compile fallback
tar tzf "$tarball" | sed 's|^package/||' | sort >"$work/files"
for f in bin/berth dist/berth.js dist/validators.js dist/yargs-cli.js dist/index.js dist/index.mjs dist/types/src/lib/index.d.ts \
         binding.gyp addon/berth-init/main.cc \
         scripts/install.mjs scripts/native.mjs \
         prebuilds/linux-x64/berth.glibc.node prebuilds/linux-x64/berth-init \
         prebuilds/linux-arm64/berth.glibc.node prebuilds/linux-arm64/berth-init; do
  grep -qx "$f" "$work/files" || fail "the tarball lacks $f"
done
if grep -E '^(src|test|bench|build|spec-schemas|node_modules)/|^scripts/(build|prebuild|run-tests)' "$work/files"; then
  fail "the tarball holds files the CLI does not need (above)"
fi
node -e '
  const p = require(process.argv[1]);
  if (p.private) throw new Error("package.json: private");
  for (const d of Object.keys(p.dependencies ?? {})) if (!["node-gyp-build", "node-addon-api"].includes(d)) throw new Error(`runtime dependency ${d}: bundled into dist/, a devDependency`);
' "$repo/package.json"

# 3. a PATH without a compiler
bin=$work/bin
mkdir -p "$bin"
for t in node npm sh env cat ls mkdir rm cp mv ln chmod grep sed tar gzip id uname dirname basename readlink; do
  ln -s "$(command -v "$t")" "$bin/$t"
done
for t in cc c++ gcc g++ make python3 python; do
  if PATH=$bin command -v "$t" >/dev/null; then fail "$t is on the compiler-less PATH"; fi
done
npm_install() { npm install --prefer-offline --no-audit --no-fund --foreground-scripts "$@"; }

mkdir -p "$work/bundle/rootfs" "$state"
sh "$repo/scripts/make-rootfs.sh" "$work/bundle/rootfs" >/dev/null

# The container prints its pid, uid and hostname from inside: pid 1, root, the config's.
run_container() {  # CLI ID PATH
  local cli=$1 id=$2 out
  clis+=("$cli")
  out=$(cd "$work/bundle" && rm -f config.json && PATH=$3 "$cli" spec && PATH=$3 node -e '
    const fs = require("fs"), c = JSON.parse(fs.readFileSync("config.json"));
    c.process.terminal = false; c.hostname = "pkgtest";
    c.process.args = ["sh", "-c", "echo package-ok $$ $(id -u) $(hostname)"];
    fs.writeFileSync("config.json", JSON.stringify(c));' && PATH=$3 "$cli" --root "$state" run "$id") \
    || fail "$cli: spec or run $id failed"
  [ "$out" = "package-ok 1 0 pkgtest" ] || fail "$cli run $id printed '$out'"
  say "$id: $out"
}
installed_with_prebuild() {  # LOG DIR: the install took the prebuild and compiled nothing
  grep -q '^berth: using the prebuilt native parts in prebuilds/linux-x64$' "$1" || { cat "$1" >&2; fail "the install did not take the prebuild"; }
  [ ! -e "$2/build" ] || fail "the install compiled into $2/build"
  grep -E '^(berth:|added)' "$1" | sed 's/^/# install: /'
}

# global, into a fresh prefix
(cd "$work" && PATH=$bin npm_install -g --prefix "$work/prefix" "$tarball") >"$work/global.log" 2>&1 \
  || { cat "$work/global.log" >&2; fail "npm install -g failed"; }
installed_with_prebuild "$work/global.log" "$work/prefix/lib/node_modules/berth"
PATH=$bin "$work/prefix/bin/berth" --version | head -1 | sed 's/^/# /'
run_container "$work/prefix/bin/berth" global "$bin"
# The CLI finds the prebuild without loading node-gyp-build (~5 ms of CPU a call).
echo "process.on('exit', () => { if (Object.keys(require.cache).some((f) => f.includes('node-gyp-build'))) require('fs').writeFileSync('$work/ngb-loaded', ''); });" >"$work/ngb.js"
(cd "$work/bundle" && PATH=$bin NODE_OPTIONS="--require $work/ngb.js" "$work/prefix/bin/berth" --root "$state" run global-ngb >/dev/null) \
  || fail "run global-ngb failed"
[ ! -e "$work/ngb-loaded" ] || fail "the CLI loaded node-gyp-build to find its prebuild"

# as a dependency of a fresh project
mkdir -p "$work/project"
(cd "$work/project" && PATH=$bin npm init -y >/dev/null && PATH=$bin npm_install "$tarball") >"$work/dep.log" 2>&1 \
  || { cat "$work/dep.log" >&2; fail "npm install (as a dependency) failed"; }
installed_with_prebuild "$work/dep.log" "$work/project/node_modules/berth"
run_container "$work/project/node_modules/.bin/berth" dependency "$bin"
# ... and the library of that dependency: require (a container run in this node), import
out=$(cd "$work/project" && PATH=$bin node -e '
  const { Runtime } = require("berth");
  new Runtime({ root: process.argv[1] }).run("library", { bundle: process.argv[2], stdio: ["ignore", "pipe", "pipe"] })
    .then((r) => process.stdout.write(`${r.status} ${r.stdout}`));' "$state" "$work/bundle") || fail "the library run failed"
[ "$out" = "0 package-ok 1 0 pkgtest" ] || fail "the library run printed '$out'"
say "library: $out"
(cd "$work/project" && PATH=$bin node --input-type=module -e 'import { Runtime, NotFoundError } from "berth"; if (typeof Runtime !== "function" || typeof NotFoundError !== "function") process.exit(1);') \
  || fail "import { Runtime } from \"berth\" failed"

# with --ignore-scripts (npm 11 asks to approve install scripts): a prebuild needs none
mkdir -p "$work/no-scripts"
(cd "$work/no-scripts" && PATH=$bin npm init -y >/dev/null && PATH=$bin npm_install --ignore-scripts "$tarball") >"$work/no-scripts.log" 2>&1 \
  || { cat "$work/no-scripts.log" >&2; fail "npm install --ignore-scripts failed"; }
run_container "$work/no-scripts/node_modules/.bin/berth" no-scripts "$bin"

# 4. the compile fallback, where no prebuild fits
mkdir -p "$work/source"
(cd "$work/source" && npm init -y >/dev/null && LIBC=musl npm_install "$tarball") >"$work/source.log" 2>&1 \
  || { cat "$work/source.log" >&2; fail "npm install where no prebuild fits failed"; }
grep -q '^berth: no prebuilt native parts fit (.*libc=musl.*); compiling them$' "$work/source.log" \
  || { cat "$work/source.log" >&2; fail "the install where no prebuild fits did not compile"; }
grep -E '^(berth:|added)' "$work/source.log" | sed 's/^/# compile fallback: /'
for f in berth.node berth-init; do
  [ -x "$work/source/node_modules/berth/build/Release/$f" ] || fail "the compile fallback made no build/Release/$f"
done
# Without its prebuilds, so the container runs on what was compiled.
rm -rf "$work/source/node_modules/berth/prebuilds"
run_container "$work/source/node_modules/.bin/berth" compiled "$PATH"
say "all passed"

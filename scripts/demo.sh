#!/bin/sh
# The README demo: run a command in a busybox container with berth.
#   npm run demo        (or: bash scripts/demo.sh, as root)
# It builds berth if needed, makes a bundle under /tmp/berth-demo (a busybox
# rootfs and a config.json from `berth spec`), runs the container, prints what
# it printed and removes everything again.
# BERTH=/usr/sbin/runc scripts/demo.sh runs the same demo with runc, to compare.
set -eu

repo=$(cd "$(dirname "$0")/.." && pwd)
berth=${BERTH:-$repo/bin/berth}
demo=/tmp/berth-demo
bundle=$demo/bundle
state=$demo/state
id=demo-$$

# Build when the bundle is missing or older than a source file. build.mjs
# itself only recompiles the native parts when they changed.
if [ ! -f "$repo/dist/berth.js" ] || [ ! -f "$repo/build/Release/berth.node" ] ||
   [ -n "$(find "$repo/src" "$repo/addon" "$repo/scripts/build.mjs" -newer "$repo/dist/berth.js" -print 2>/dev/null | head -n 1)" ]; then
  echo "demo: building berth" >&2
  node "$repo/scripts/build.mjs" --quiet
fi

cleanup() {
  "$berth" --root "$state" delete --force "$id" >/dev/null 2>&1 ||
    "$berth" --root "$state" delete "$id" >/dev/null 2>&1 || true
  rm -rf "$demo"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rm -rf "$demo"
mkdir -p "$bundle" "$state"
sh "$repo/scripts/make-rootfs.sh" "$bundle/rootfs"

rootless=
[ "$(id -u)" = 0 ] || rootless=--rootless
"$berth" spec --bundle "$bundle" $rootless
node -e '
  const fs = require("fs");
  const file = process.argv[1];
  const spec = JSON.parse(fs.readFileSync(file, "utf8"));
  spec.process.terminal = false;
  spec.process.args = ["sh", "-c", "echo hello from berth; hostname; id; cat /proc/1/cmdline | tr \"\\0\" \" \"; echo"];
  fs.writeFileSync(file, JSON.stringify(spec, null, "\t"));
' "$bundle/config.json"

echo "\$ cd $bundle && berth --root $state run $id"
cd "$bundle"
status=0
"$berth" --root "$state" run "$id" || status=$?
cd /
echo "(exit status $status)"
exit $status

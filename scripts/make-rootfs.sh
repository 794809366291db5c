#!/bin/sh
# Build a minimal busybox root filesystem into DIR, for tests, the demo and the
# benchmark. It needs Debian's busybox-static (a statically linked /bin/busybox):
#   apt-get install -y busybox-static
# Running it again on the same DIR is cheap and leaves the same result.
# BUSYBOX=/path/to/busybox overrides the binary used.
set -eu

usage() { echo "usage: $0 DIR" >&2; exit 2; }
[ $# -eq 1 ] || usage
dir=$1
[ -n "$dir" ] || usage

bb=${BUSYBOX:-/bin/busybox}
if [ ! -x "$bb" ]; then
  echo "make-rootfs: $bb not found; install it with: apt-get install -y busybox-static" >&2
  exit 1
fi
# The rootfs has no C library, so the binary must be static.
if command -v ldd >/dev/null 2>&1 && ldd "$bb" >/dev/null 2>&1; then
  echo "make-rootfs: $bb is dynamically linked; install busybox-static instead of busybox" >&2
  exit 1
fi

mkdir -p "$dir"
cd "$dir"
mkdir -p bin proc sys dev etc root tmp home/user usr
chmod 1777 tmp
chmod 700 root

if ! cmp -s "$bb" bin/busybox 2>/dev/null; then
  rm -f bin/busybox
  cp "$bb" bin/busybox
  chmod 755 bin/busybox
fi

# Every applet in /bin; /sbin, /usr/bin and /usr/sbin lead there too, so
# absolute paths such as /usr/bin/env resolve.
for applet in $(bin/busybox --list); do
  [ "$applet" = busybox ] && continue
  [ -L "bin/$applet" ] || ln -sf busybox "bin/$applet"
done
for l in sbin:bin usr/bin:../bin usr/sbin:../bin; do
  link=${l%%:*} target=${l#*:}
  [ -L "$link" ] || [ -e "$link" ] || ln -s "$target" "$link"
done

cat > etc/passwd <<'EOF'
root:x:0:0:root:/root:/bin/sh
user:x:1000:1000:user:/home/user:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat > etc/group <<'EOF'
root:x:0:
tty:x:5:
user:x:1000:
nogroup:x:65534:
EOF
chmod 644 etc/passwd etc/group
# Only root can hand the home directory to its user; elsewhere it stays ours.
chown 1000:1000 home/user 2>/dev/null || true

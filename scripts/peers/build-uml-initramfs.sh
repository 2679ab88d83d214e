#!/usr/bin/env bash
# Builds the initramfs of the User-Mode Linux test guest, once per set of inputs:
#   scripts/peers/build-uml-initramfs.sh      prints the path of initramfs.cpio.gz
#
# Contents: Debian's static busybox (busybox-static: sh, mount, i2cdetect/i2cget/i2cset/
# i2ctransfer, stty, ...), our static guest tools tools/peers/uml/guest/*.c (rpmsg-ept, gpio-v2,
# i2c-bench: what busybox lacks), our /init (tools/peers/uml/init.sh), the test scripts baked in
# from tools/peers/uml/scripts/*.sh (if any) as /etc/amp/<name>.sh, and /dev/console.
#
# Output: ${AMP_PEERS_CACHE:-~/.cache/amp-peers}/uml-initramfs-<key>/initramfs.cpio.gz, <key> a
# hash of busybox, the guest sources, init.sh, the baked scripts, this script and the compiler
# version. A flock makes concurrent callers build once. Build output goes to stderr.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
uml_dir="$root/tools/peers/uml"
cache="${AMP_PEERS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/amp-peers}"

step="start"
trap 'echo "build-uml-initramfs.sh: FAILED at step: $step (output above)" >&2' ERR

for tool in cc cpio gzip flock sha256sum; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "build-uml-initramfs.sh: $tool is missing (run scripts/install-system-deps.sh as root)" >&2; exit 2; }
done
busybox="${AMP_BUSYBOX:-/bin/busybox}"
if [ ! -x "$busybox" ] || ! "$busybox" --list 2>/dev/null | grep -x i2ctransfer >/dev/null \
   || ldd "$busybox" >/dev/null 2>&1; then # ldd fails on a static executable
  echo "build-uml-initramfs.sh: a static busybox with the i2c applets is needed at $busybox (Debian: busybox-static; or set AMP_BUSYBOX)" >&2
  exit 2
fi
[ -f /usr/include/linux/rpmsg.h ] && [ -f /usr/include/linux/gpio.h ] || {
  echo "build-uml-initramfs.sh: <linux/rpmsg.h> and <linux/gpio.h> are needed (Debian: linux-libc-dev)" >&2; exit 2; }

step="compute cache key"
key="$(
  {
    sha256sum "$0" "$busybox" "$uml_dir/init.sh" | cut -d' ' -f1
    (cd "$uml_dir" && find guest scripts -type f 2>/dev/null | LC_ALL=C sort | xargs -r sha256sum)
    cc --version | head -n1
  } | sha256sum | cut -c1-16
)"
out="$cache/uml-initramfs-$key"
mkdir -p "$cache"
exec 9>"$out.lock"
flock 9
if [ -f "$out/.complete" ]; then
  echo "$out/initramfs.cpio.gz"
  exit 0
fi
rm -rf "$out" "$out.tmp"
mkdir -p "$out.tmp/root/bin" "$out.tmp/root/etc/amp"
r="$out.tmp/root"

step="guest tools"
for src in "$uml_dir"/guest/*.c; do
  name="$(basename "$src" .c)"
  cc -static -Os -std=gnu11 -Wall -Wextra -Werror -o "$r/bin/$name" "$src" >&2
  strip "$r/bin/$name"
done

step="tree"
cp "$busybox" "$r/bin/busybox"
ln -s busybox "$r/bin/sh"
install -m 0755 "$uml_dir/init.sh" "$r/init"
if [ -d "$uml_dir/scripts" ]; then
  for s in "$uml_dir"/scripts/*.sh; do [ -f "$s" ] && cp "$s" "$r/etc/amp/"; done
fi

# One newc entry (header fields in hex, name NUL-terminated and padded to 4 bytes, no data):
# the kernel needs /dev/console before /init runs, and cpio could only copy a real device
# node (which needs root to create). The kernel unpacks concatenated archives one after another.
newc() { # name mode rdevmajor rdevminor
  local name="$1" mode="$2" maj="$3" min="$4" n
  n=$(( ${#name} + 1 ))
  printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
    0 "$mode" 0 0 1 0 0 0 0 "$maj" "$min" "$n" 0
  printf '%s\0' "$name"
  local pad=$(( (4 - (110 + n) % 4) % 4 ))
  [ "$pad" -eq 0 ] || head -c "$pad" /dev/zero
}

step="cpio archive"
{
  newc dev $((0040755)) 0 0
  newc dev/console $((0020600)) 5 1
  newc TRAILER!!! 0 0 0
  (cd "$r" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --owner=0:0 --quiet)
} | gzip -9n >"$out.tmp/initramfs.cpio.gz"
rm -rf "$r"
mv "$out.tmp" "$out"
touch "$out/.complete"
echo "build-uml-initramfs.sh: built $out/initramfs.cpio.gz ($(stat -c %s "$out/initramfs.cpio.gz") bytes)" >&2
echo "$out/initramfs.cpio.gz"

#!/usr/bin/env bash
# Builds our OpenAMP test peer (tools/peers/openamp-peer/amp-openamp-peer.c) against the native
# OpenAMP 1.10 build of scripts/peers/build-openamp.sh, once per set of inputs:
#   scripts/peers/build-openamp-peer.sh       prints the path of the amp-openamp-peer binary
#
# The binary goes to ${AMP_PEERS_CACHE:-~/.cache/amp-peers}/openamp-peer-<key>/, <key> a hash of
# the OpenAMP prefix (itself keyed by the pinned sources), the program's sources, this script and
# the compiler version. A flock makes concurrent callers build once; a warm cache returns at once.
# Build output goes to stderr; a failure exits non-zero and names the step.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
src_dir="$root/tools/peers/openamp-peer"
cache="${AMP_PEERS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/amp-peers}"

step="start"
trap 'echo "build-openamp-peer.sh: FAILED at step: $step (output above)" >&2' ERR

for tool in cc flock sha256sum; do
  command -v "$tool" >/dev/null 2>&1 || { echo "build-openamp-peer.sh: $tool is missing (run scripts/install-system-deps.sh as root)" >&2; exit 2; }
done

step="OpenAMP library (build-openamp.sh)"
prefix="$("$here/build-openamp.sh" | tail -n1)"
[ -f "$prefix/lib/libopen_amp.a" ] || { echo "build-openamp-peer.sh: build-openamp.sh printed $prefix, which has no lib/libopen_amp.a" >&2; exit 1; }

step="compute cache key"
key="$(
  {
    echo "$prefix"
    sha256sum "$0" | cut -d' ' -f1
    (cd "$src_dir" && find . -type f -name '*.[ch]' | LC_ALL=C sort | xargs sha256sum)
    cc --version | head -n1
  } | sha256sum | cut -c1-16
)"
out="$cache/openamp-peer-$key"
mkdir -p "$cache"
exec 9>"$out.lock"
flock 9 # concurrent test processes: the first builds, the others wait and reuse it
if [ -f "$out/.complete" ]; then
  echo "$out/amp-openamp-peer"
  exit 0
fi

step="compile amp-openamp-peer.c"
rm -rf "$out"
mkdir -p "$out"
# The library was built with both virtio roles; the headers' role macros must agree.
cc -O2 -g -std=gnu11 -Wall -Wextra -Werror \
  -DVIRTIO_DRIVER_SUPPORT=1 -DVIRTIO_DEVICE_SUPPORT=1 \
  -I"$prefix/include" "$src_dir/amp-openamp-peer.c" \
  "$prefix/lib/libopen_amp.a" "$prefix/lib/libmetal.a" -lsysfs -lpthread -lrt \
  -o "$out/amp-openamp-peer" >&2
touch "$out/.complete"
echo "build-openamp-peer.sh: built $out/amp-openamp-peer" >&2
echo "$out/amp-openamp-peer"

#!/usr/bin/env bash
# Builds the C side of `pnpm bench:openamp` (tools/peers/openamp-bench/openamp-bench.c) against
# the native OpenAMP 1.10 build of scripts/peers/build-openamp.sh, once per set of inputs:
#   scripts/peers/build-openamp-bench.sh      prints the path of the openamp-bench binary
#
# The binary goes to ${AMP_PEERS_CACHE:-~/.cache/amp-peers}/openamp-bench-<key>/, <key> a hash of
# the OpenAMP prefix (itself keyed by the pinned sources), the program's sources, this script and
# the compiler version. A flock makes concurrent callers build once; a warm cache returns at once.
# Builds run under nice 19 (they share the machine with whatever else runs). Build output goes to
# stderr; a failure exits non-zero and names the step.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
src_dir="$root/tools/peers/openamp-bench"
cache="${AMP_PEERS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/amp-peers}"

step="start"
trap 'echo "build-openamp-bench.sh: FAILED at step: $step (output above)" >&2' ERR

for tool in cc nice flock sha256sum; do
  command -v "$tool" >/dev/null 2>&1 || { echo "build-openamp-bench.sh: $tool is missing (run scripts/install-system-deps.sh as root)" >&2; exit 2; }
done

step="OpenAMP library (build-openamp.sh)"
prefix="$(nice -n 19 "$here/build-openamp.sh" | tail -n1)"
[ -f "$prefix/lib/libopen_amp.a" ] || { echo "build-openamp-bench.sh: build-openamp.sh printed $prefix, which has no lib/libopen_amp.a" >&2; exit 1; }

step="compute cache key"
key="$(
  {
    echo "$prefix"
    sha256sum "$0" | cut -d' ' -f1
    (cd "$src_dir" && find . -type f -name '*.[ch]' | LC_ALL=C sort | xargs sha256sum)
    cc --version | head -n1
  } | sha256sum | cut -c1-16
)"
out="$cache/openamp-bench-$key"
mkdir -p "$cache"
exec 9>"$out.lock"
flock 9 # concurrent callers: the first builds, the others wait and reuse it
if [ -f "$out/.complete" ]; then
  echo "$out/openamp-bench"
  exit 0
fi

step="compile openamp-bench.c"
rm -rf "$out"
mkdir -p "$out"
# The library was built with both virtio roles; the headers' role macros must agree.
nice -n 19 cc -O2 -std=gnu11 -Wall -Wextra -Werror \
  -DVIRTIO_DRIVER_SUPPORT=1 -DVIRTIO_DEVICE_SUPPORT=1 \
  -I"$prefix/include" "$src_dir/openamp-bench.c" \
  "$prefix/lib/libopen_amp.a" "$prefix/lib/libmetal.a" -lsysfs -lpthread -lrt \
  -o "$out/openamp-bench" >&2
touch "$out/.complete"
echo "build-openamp-bench.sh: built $out/openamp-bench" >&2
echo "$out/openamp-bench"

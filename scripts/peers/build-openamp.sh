#!/usr/bin/env bash
# Builds OpenAMP natively (Linux userspace) from the pinned sources, once per set of inputs:
#   scripts/peers/build-openamp.sh            prints the install prefix on stdout
#
# What it builds (Release, cmake + make -j2), into one prefix:
#   libmetal (static)           <prefix>/lib/libmetal.a,    <prefix>/include/metal/
#   open-amp (static, both roles)  <prefix>/lib/libopen_amp.a, <prefix>/include/openamp/
#   openamp-system-reference's Linux-machine sample apps (examples/legacy_apps, machine
#   "generic": the "remote processor" is a Linux process sharing /dev/shm/openamp.shm and the
#   UNIX socket /tmp/openamp.event.0), each role in its own build directory:
#     <prefix>/bin/rpmsg-echo   the remote (virtio device role; argv[1] = 0: socket server)
#     <prefix>/bin/rpmsg-ping   the host (virtio driver role, the sample's rpmsg-echo-ping;
#                               run it with argv[1] = 1 to be the socket client)
#   Both apps get our polling platform_poll() (tools/peers/openamp/linux-sample-poll.c; why:
#   see that file) without any change to the sample's files.
#
# STABLE LAYOUT: other tests link their own C programs against this prefix with
#   cc -I<prefix>/include prog.c <prefix>/lib/libopen_amp.a <prefix>/lib/libmetal.a -lsysfs -lpthread -lrt
# and run <prefix>/bin/rpmsg-echo and <prefix>/bin/rpmsg-ping. Keep lib/, include/ and bin/ as
# they are; add, do not rename.
#
# The prefix is ${AMP_PEERS_CACHE:-~/.cache/amp-peers}/openamp-native-<key>, <key> a hash of
# every input (the three source hashes, this script, tools/peers/openamp/*, the compiler and
# cmake versions). A flock makes concurrent callers build once; a warm cache returns at once.
# Build output goes to stderr; any failure exits non-zero with the step that failed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
port="$root/tools/peers/openamp"
cache="${AMP_PEERS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/amp-peers}"

step="start"
trap 'echo "build-openamp.sh: FAILED at step: $step (output above)" >&2' ERR

for tool in cmake make gcc flock sha256sum; do
  command -v "$tool" >/dev/null 2>&1 || { echo "build-openamp.sh: $tool is missing (run scripts/install-system-deps.sh as root)" >&2; exit 2; }
done
[ -f /usr/include/sysfs/libsysfs.h ] || { echo "build-openamp.sh: libsysfs-dev is missing (libmetal's Linux build needs it; run scripts/install-system-deps.sh as root)" >&2; exit 2; }

step="find sources"
libmetal_src="$("$here/source.sh" libmetal)"
openamp_src="$("$here/source.sh" open-amp)"
osr_src="$("$here/source.sh" openamp-system-reference)"

step="compute cache key"
key="$(
  {
    grep -E '^(libmetal|open-amp|openamp-system-reference)-v' "$here/SOURCES"
    sha256sum "$0" | cut -d' ' -f1
    (cd "$port" && find . -type f | LC_ALL=C sort | xargs sha256sum)
    gcc --version | head -n1
    cmake --version | head -n1
  } | sha256sum | cut -c1-16
)"
prefix="$cache/openamp-native-$key"
mkdir -p "$cache"
exec 9>"$prefix.lock"
flock 9 # concurrent test processes: the first builds, the others wait and reuse it
if [ -f "$prefix/.complete" ]; then
  echo "$prefix"
  exit 0
fi

echo "build-openamp.sh: building into $prefix" >&2
rm -rf "$prefix" "$prefix.build"
build="$prefix.build"
mkdir -p "$prefix" "$build"
started=$SECONDS

step="libmetal: configure"
cmake -S "$libmetal_src" -B "$build/libmetal" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$prefix" \
  -DWITH_SHARED_LIB=OFF -DWITH_TESTS=OFF -DWITH_TESTS_EXEC=OFF -DWITH_DOC=OFF -DWITH_EXAMPLES=OFF >&2
step="libmetal: build and install"
make -C "$build/libmetal" -j2 install >&2

step="open-amp: configure"
cmake -S "$openamp_src" -B "$build/open-amp" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$prefix" \
  -DCMAKE_INCLUDE_PATH="$prefix/include" -DCMAKE_LIBRARY_PATH="$prefix/lib" \
  -DWITH_SHARED_LIB=OFF -DWITH_APPS=OFF -DWITH_DOC=OFF >&2
step="open-amp: build and install"
make -C "$build/open-amp" -j2 install >&2

# The sample's CMake builds one role per build directory (it refuses both at once).
build_sample() { # <role dir> <cmake role switch> <sample target> <installed name>
  local dir="$build/$1" switch="$2" target="$3" name="$4"
  step="sample $name: configure"
  cmake -S "$osr_src/examples/legacy_apps" -B "$dir" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_INCLUDE_PATH="$prefix/include" -DCMAKE_LIBRARY_PATH="$prefix/lib" \
    -DWITH_SHARED_LIB=OFF "$switch" \
    -DCMAKE_PROJECT_INCLUDE="$port/linux-sample-poll.cmake" -DAMP_SAMPLE_POLL_C="$port/linux-sample-poll.c" >&2
  step="sample $name: build"
  make -C "$dir" -j2 "$target" >&2
  local bin
  bin="$(find "$dir" -type f -name "$target" -perm -u+x | head -n1)"
  [ -n "$bin" ] || { echo "build-openamp.sh: $target was not produced in $dir" >&2; exit 1; }
  step="sample $name: check the polling platform_poll is linked"
  local syms
  syms="$(nm "$bin")"
  for sym in amp_sample_irq_register amp_sample_platform_poll platform_poll; do
    grep -q " T $sym\$" <<<"$syms" || { echo "build-openamp.sh: $bin has no $sym: our platform_poll replacement is not linked" >&2; exit 1; }
  done
  install -m 0755 "$bin" "$prefix/bin/$name"
}
mkdir -p "$prefix/bin"
build_sample echo -DWITH_VIRTIO_DRIVER=OFF rpmsg-echo-static rpmsg-echo
build_sample ping -DWITH_VIRTIO_DEVICE=OFF rpmsg-echo-ping-static rpmsg-ping

step="check the layout"
for f in lib/libmetal.a lib/libopen_amp.a include/metal/sys.h include/openamp/open_amp.h bin/rpmsg-echo bin/rpmsg-ping; do
  [ -e "$prefix/$f" ] || { echo "build-openamp.sh: $prefix/$f is missing after the build" >&2; exit 1; }
done
rm -rf "$build"
touch "$prefix/.complete"
echo "build-openamp.sh: built in $((SECONDS - started)) s" >&2
echo "$prefix"

#!/usr/bin/env bash
# Builds the User-Mode Linux 6.1 kernel that the Linux tests boot, once per set of inputs:
#   scripts/peers/build-uml-kernel.sh        prints the path of the stripped `linux` binary
#
# Source: Debian's linux-source-6.1 package (/usr/src/linux-source-6.1.tar.xz; override with
# AMP_LINUX_SOURCE=<tarball>). Configuration: `make ARCH=um tinyconfig`, our fragment
# tools/peers/uml/uml.config merged over it, `olddefconfig`, then every option the fragment asks
# for is checked in the final .config. Our patches tools/peers/uml/*.patch are applied first.
#
# Output: ${AMP_PEERS_CACHE:-~/.cache/amp-peers}/uml-<key>/linux (+ .config, build.log), <key> a
# hash of the fragment, the patches, the package version (or tarball hash), this script and the
# compiler version. A flock makes concurrent callers build once; a warm cache returns at once.
# The build runs at nice 19 with -j2 (AMP_UML_JOBS overrides): the machines are shared.
# Build output goes to stderr; a failure exits non-zero and names the step.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
uml_dir="$root/tools/peers/uml"
fragment="$uml_dir/uml.config"
cache="${AMP_PEERS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/amp-peers}"
jobs="${AMP_UML_JOBS:-2}"

step="start"
trap 'echo "build-uml-kernel.sh: FAILED at step: $step (output above)" >&2' ERR

for tool in cc make flex bison bc xz tar patch strip flock sha256sum nice; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "build-uml-kernel.sh: $tool is missing (run scripts/install-system-deps.sh as root)" >&2; exit 2; }
done

step="find the kernel source"
tarball="${AMP_LINUX_SOURCE:-/usr/src/linux-source-6.1.tar.xz}"
if [ ! -f "$tarball" ]; then
  echo "build-uml-kernel.sh: $tarball not found: install Debian's linux-source-6.1" \
       "(scripts/install-system-deps.sh as root) or set AMP_LINUX_SOURCE to a linux-6.1 tarball" >&2
  exit 2
fi
if [ -z "${AMP_LINUX_SOURCE:-}" ] && command -v dpkg-query >/dev/null 2>&1; then
  source_id="linux-source-6.1 $(dpkg-query -W -f='${Version}' linux-source-6.1)"
else
  source_id="$(sha256sum "$tarball" | cut -d' ' -f1)" # not from a package: key on its content
fi

step="compute cache key"
patches=()
while IFS= read -r p; do patches+=("$p"); done < <(find "$uml_dir" -maxdepth 1 -name '*.patch' | LC_ALL=C sort)
key="$(
  {
    echo "$source_id"
    sha256sum "$0" "$fragment" | cut -d' ' -f1
    for p in "${patches[@]}"; do sha256sum "$p" | cut -d' ' -f1; done
    cc --version | head -n1
  } | sha256sum | cut -c1-16
)"
out="$cache/uml-$key"
mkdir -p "$cache"
exec 9>"$out.lock"
flock 9 # concurrent test processes: the first builds, the others wait and reuse it
if [ -f "$out/.complete" ]; then
  echo "$out/linux"
  exit 0
fi

started=$(date +%s)
work="$out.build"
rm -rf "$out" "$out.tmp" "$work"
mkdir -p "$work"

step="unpack $tarball"
echo "build-uml-kernel.sh: unpacking $tarball ($source_id)" >&2
nice -n 19 tar xJf "$tarball" -C "$work"
src="$(find "$work" -mindepth 1 -maxdepth 1 -type d | head -n1)"
[ -f "$src/Makefile" ] || { echo "build-uml-kernel.sh: $tarball holds no kernel tree" >&2; exit 1; }

for p in "${patches[@]}"; do
  step="apply $(basename "$p")"
  patch -d "$src" -p1 --forward --batch <"$p" >&2
done

k() { nice -n 19 make -C "$src" ARCH=um "$@"; }

step="configure (tinyconfig + uml.config + olddefconfig)"
k tinyconfig >&2
(cd "$src" && ARCH=um scripts/kconfig/merge_config.sh -m .config "$fragment") >&2
k olddefconfig >&2

step="verify the configuration"
missing=()
while IFS= read -r line; do
  case "$line" in
    CONFIG_*=*) grep -qxF -- "$line" "$src/.config" || missing+=("$line") ;;
    "# CONFIG_"*" is not set")
      opt="${line#\# }"; opt="${opt%% *}"
      ! grep -q "^$opt=" "$src/.config" || missing+=("$line") ;;
  esac
done <"$fragment"
if [ ${#missing[@]} -gt 0 ]; then
  echo "build-uml-kernel.sh: after olddefconfig these fragment lines do not hold (a dependency is off or the option is gone):" >&2
  printf '  %s\n' "${missing[@]}" >&2
  false
fi

# Our patched driver first: a patch that does not compile fails in seconds, not at the end.
if [ ${#patches[@]} -gt 0 ]; then
  step="compile arch/um/drivers/virtio_uml.o"
  k -j"$jobs" arch/um/drivers/virtio_uml.o >&2
fi

step="make ARCH=um linux (-j$jobs, nice 19)"
k -j"$jobs" linux >&2

step="install"
mkdir -p "$out.tmp"
strip -o "$out.tmp/linux" "$src/linux"
cp "$src/.config" "$out.tmp/config"
elapsed=$(( $(date +%s) - started ))
printf 'source %s\nkey %s\nbuild seconds %s\n' "$source_id" "$key" "$elapsed" >"$out.tmp/build-info"
mv "$out.tmp" "$out"
touch "$out/.complete"
rm -rf "$work"
echo "build-uml-kernel.sh: built $out/linux in ${elapsed}s" >&2
echo "$out/linux"

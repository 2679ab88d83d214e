#!/usr/bin/env bash
# Installs the Debian packages that the conformance and end-to-end tests need, when missing.
# Locally without root these tests skip with a message naming the missing tool; CI (root) installs.
set -euo pipefail
need=()
for pair in "arm-none-eabi-gcc:gcc-arm-none-eabi" "aarch64-linux-gnu-gcc:gcc-aarch64-linux-gnu" \
            "gdb-multiarch:gdb-multiarch" "qemu-system-arm:qemu-system-arm" "readelf:binutils" "gcc:gcc" "gdb:gdb"; do
  tool=${pair%%:*}; pkg=${pair#*:}
  command -v "$tool" >/dev/null 2>&1 || need+=("$pkg")
done
[ -f /usr/include/linux/virtio_ring.h ] || need+=(linux-libc-dev)
# The C peers (scripts/peers/): OpenAMP's libmetal wants cmake and libsysfs; bare-metal
# firmware against newlib-nano wants the cross C library.
command -v cmake >/dev/null 2>&1 || need+=(cmake)
[ -f /usr/include/sysfs/libsysfs.h ] || need+=(libsysfs-dev)
[ -f /usr/lib/arm-none-eabi/newlib/libc_nano.a ] || [ -f /usr/lib/arm-none-eabi/lib/libc_nano.a ] || need+=(libnewlib-arm-none-eabi)
# A real Linux kernel as the driver of @amp's vhost-user devices (scripts/peers/build-uml-kernel.sh,
# build-uml-initramfs.sh): Debian's kernel source, the kernel build tools, a static busybox for
# the guest, and the static C library for our guest tools.
[ -f /usr/src/linux-source-6.1.tar.xz ] || need+=(linux-source-6.1)
for pair in "flex:flex" "bison:bison" "bc:bc" "cpio:cpio" "make:make" "patch:patch" "xz:xz-utils"; do
  tool=${pair%%:*}; pkg=${pair#*:}
  command -v "$tool" >/dev/null 2>&1 || need+=("$pkg")
done
# (static: `ldd` fails on a static executable; Debian's plain busybox package is dynamic)
{ [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1 && /bin/busybox --list 2>/dev/null | grep -x i2ctransfer >/dev/null; } || need+=(busybox-static)
[ -f /usr/lib/x86_64-linux-gnu/libc.a ] || [ -f /usr/lib/aarch64-linux-gnu/libc.a ] || need+=(libc6-dev)
# The live view's browser test (packages/cli/test/ui): Debian's chromium, driven by playwright-core.
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [ ${#need[@]} -eq 0 ]; then echo "system deps: all present"; exit 0; fi
if [ "$(id -u)" != 0 ]; then echo "system deps missing (${need[*]}); not root, tests that need them will skip"; exit 0; fi
echo "system deps: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
# A mirror hiccup should not fail a CI run: three tries, a short pause between them.
for try in 1 2 3; do
  if apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; then exit 0; fi
  echo "system deps: apt-get failed (try $try of 3)"; sleep $((try * 5))
done
echo "system deps: could not install ${need[*]}" >&2
exit 1

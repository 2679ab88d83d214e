#!/bin/sh
# Builds amp-echo.elf for QEMU mps2-an386 with Debian's gcc-arm-none-eabi (no libc needed).
# Usage: build.sh [out-dir]   (default: ../../fixtures-build/qemu, which is gitignored)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-"$here/../../fixtures-build/qemu"}
mkdir -p "$out"
arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -mfloat-abi=soft -O2 -g3 -std=c11 \
  -ffreestanding -fno-builtin -nostdlib -nostartfiles -fno-common \
  -Wall -Wextra -Werror \
  -I"$here" -T"$here/mps2-an386.ld" -Wl,--gc-sections -Wl,--no-warn-rwx-segments \
  -o "$out/amp-echo.elf.$$" "$here/echo.c" "$here/clock.c" -lgcc
# Several test workers may build at once: publish the file with an atomic rename.
mv -f "$out/amp-echo.elf.$$" "$out/amp-echo.elf"
echo "$out/amp-echo.elf"

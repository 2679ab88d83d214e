#!/usr/bin/env bash
# Cross-builds OpenAMP for a bare-metal Cortex-M4 (libmetal's "generic" system + open-amp, device
# role only) from the pinned sources, then our OpenAMP echo firmware for QEMU mps2-an386 against it.
#   scripts/peers/build-openamp-cm4.sh
# stdout, two lines:
#   1. the install prefix: include/{metal,openamp}, lib/libmetal.a, lib/libopen_amp.a and
#      lib/libamp_metal_cm4.a (our Cortex-M machine layer, tools/peers/openamp-cm4/metal-machine.c);
#   2. the firmware ELF (packages/node/firmware/openamp), built against that prefix.
# Both are cached under ${AMP_PEERS_CACHE:-~/.cache/amp-peers}/openamp-cm4-<key>, the key a hash
# of every input (source hashes, toolchain file, machine layer, flags, compiler and cmake
# versions, this script); a flock makes concurrent callers build once. Build logs go to stderr
# only when a step fails.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
tc_dir="$root/tools/peers/openamp-cm4"
fw_dir="$root/packages/node/firmware/openamp"
qemu_fw_dir="$root/packages/node/firmware/qemu"

for tool in arm-none-eabi-gcc arm-none-eabi-ar cmake flock sha256sum; do
  command -v "$tool" >/dev/null 2>&1 || { echo "build-openamp-cm4: $tool not found (run scripts/install-system-deps.sh as root)" >&2; exit 2; }
done

metal_src="$("$here/source.sh" libmetal)"
openamp_src="$("$here/source.sh" open-amp)"
cache="${AMP_PEERS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/amp-peers}"
mkdir -p "$cache"

# One set of flags for the libraries, the machine layer and the firmware: the virtio role
# switches are compile-time definitions that open-amp's headers read too, so they must agree.
cpu_flags=(-mcpu=cortex-m4 -mthumb -mfloat-abi=soft)
role_defs=(-DVIRTIO_DRIVER_SUPPORT=0 -DVIRTIO_DEVICE_SUPPORT=1)
metal_opts=(-DCMAKE_BUILD_TYPE=MinSizeRel -DMACHINE=cortexm -DWITH_DOC=OFF -DWITH_DEFAULT_LOGGER=OFF)
openamp_opts=(-DCMAKE_BUILD_TYPE=MinSizeRel -DWITH_VIRTIO_DRIVER=OFF -DWITH_VIRTIO_DEVICE=ON -DWITH_PROXY=OFF -DWITH_DOC=OFF)

hash_of() { sha256sum | cut -c1-16; }
lib_key="$({
  grep -E '^(libmetal|open-amp)-v' "$here/SOURCES"
  cat "$tc_dir/cortex-m4.cmake" "$tc_dir/metal-machine.c" "$0"
  echo "${cpu_flags[*]} ${role_defs[*]} ${metal_opts[*]} ${openamp_opts[*]}"
  arm-none-eabi-gcc --version | head -n1
  cmake --version | head -n1
} | hash_of)"
prefix="$cache/openamp-cm4-$lib_key"

# Runs a build step with its output in a log; shows the log only when the step fails.
step() {
  local log="$1"; shift
  if ! "$@" >>"$log" 2>&1; then
    echo "build-openamp-cm4: failed: $*" >&2
    tail -n 60 "$log" >&2
    exit 1
  fi
}

exec 9>"$cache/.openamp-cm4.lock"
flock 9

if [ ! -f "$prefix/.built" ]; then
  rm -rf "$prefix"
  work="$prefix/.work"
  mkdir -p "$work"
  log="$work/build.log"
  started=$(date +%s)
  # The pinned libmetal has no lib/system/generic/cortexm: MACHINE=cortexm adds nothing and
  # leaves the machine functions (interrupt save/restore, cache hooks, default poll, io_mem_map)
  # undefined; libamp_metal_cm4.a below provides them.
  step "$log" cmake -S "$metal_src" -B "$work/libmetal" -DCMAKE_TOOLCHAIN_FILE="$tc_dir/cortex-m4.cmake" \
    -DCMAKE_INSTALL_PREFIX="$prefix" "${metal_opts[@]}"
  step "$log" cmake --build "$work/libmetal" -j2
  step "$log" cmake --install "$work/libmetal"
  step "$log" cmake -S "$openamp_src" -B "$work/open-amp" -DCMAKE_TOOLCHAIN_FILE="$tc_dir/cortex-m4.cmake" \
    -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_INCLUDE_PATH="$prefix/include" -DCMAKE_LIBRARY_PATH="$prefix/lib" \
    "${openamp_opts[@]}"
  step "$log" cmake --build "$work/open-amp" -j2
  step "$log" cmake --install "$work/open-amp"
  step "$log" arm-none-eabi-gcc "${cpu_flags[@]}" -Os -DNDEBUG -std=gnu11 -ffunction-sections -fdata-sections \
    -Wall -Wextra -Werror -I"$prefix/include" -c "$tc_dir/metal-machine.c" -o "$work/metal-machine.o"
  step "$log" arm-none-eabi-ar rcs "$prefix/lib/libamp_metal_cm4.a" "$work/metal-machine.o"
  {
    echo "libmetal: $metal_src ${metal_opts[*]}"
    echo "open-amp: $openamp_src ${openamp_opts[*]}"
    echo "flags: ${cpu_flags[*]} -Os (MinSizeRel) -ffunction-sections -fdata-sections --specs=nano.specs"
    arm-none-eabi-gcc --version | head -n1
    cmake --version | head -n1
    echo "build seconds: $(( $(date +%s) - started ))"
  } >"$prefix/amp-build.txt"
  mv "$log" "$prefix/build.log"
  rm -rf "$work"
  touch "$prefix/.built"
fi

# The firmware: our sources, the project's mps2-an386 header and linker script, this prefix.
fw_sources=("$fw_dir"/*.c)
fw_key="$({
  echo "$lib_key"
  cat "${fw_sources[@]}" "$fw_dir"/*.h "$qemu_fw_dir/amp-qemu.h" "$qemu_fw_dir/mps2-an386.ld" "$0"
} | hash_of)"
fw_out="$prefix/firmware-$fw_key"
if [ ! -f "$fw_out/openamp-echo.elf" ]; then
  mkdir -p "$fw_out"
  log="$fw_out/build.log"
  : >"$log"
  # -nostartfiles: the firmware's reset handler is the entry (no crt0); newlib-nano still
  # supplies memcpy/memset/strncmp/malloc, and nosys the syscall stubs nothing here calls.
  step "$log" arm-none-eabi-gcc "${cpu_flags[@]}" -Os -g3 -DNDEBUG -std=gnu11 "${role_defs[@]}" \
    -ffunction-sections -fdata-sections -fno-common -Wall -Wextra -Werror \
    -I"$fw_dir" -I"$qemu_fw_dir" -I"$prefix/include" \
    --specs=nano.specs --specs=nosys.specs -nostartfiles \
    -T"$qemu_fw_dir/mps2-an386.ld" -Wl,--gc-sections -Wl,--no-warn-rwx-segments -Wl,-Map="$fw_out/openamp-echo.map" \
    -o "$fw_out/openamp-echo.elf.tmp" "${fw_sources[@]}" \
    -L"$prefix/lib" -Wl,--start-group -lopen_amp -lmetal -lamp_metal_cm4 -Wl,--end-group
  mv -f "$fw_out/openamp-echo.elf.tmp" "$fw_out/openamp-echo.elf"
fi

echo "$prefix"
echo "$fw_out/openamp-echo.elf"

#!/usr/bin/env bash
# Builds NXP rpmsg-lite (pinned source, scripts/peers/SOURCES) as bare-metal Cortex-M4 firmware
# for QEMU mps2-an386: rpmsg-lite's core sources and its bare-metal environment, our platform
# layer (tools/peers/rpmsg-lite-cm4) and our echo application (packages/node/firmware/rpmsg-lite).
#   scripts/peers/build-rpmsg-lite-cm4.sh [NAME=VALUE ...]
# NAME is one of the configuration values below (passed as -DNAME=VALUE), e.g. the i.MX layout:
#   scripts/peers/build-rpmsg-lite-cm4.sh VRING_ALIGN=0x1000 VRING_SIZE=0x8000 RL_BUFFER_COUNT=256
# Prints the ELF's path. Beside it: rpmsg-lite-echo.bin (raw image), .map, and sizes.txt
# (per-object code size, image bytes, gzip -9 bytes).
# rpmsg-lite's CMakeLists.txt only works inside NXP's MCUXpresso build, so the sources are
# compiled directly. Output is cached under ${AMP_PEERS_CACHE:-~/.cache/amp-peers}, keyed by a
# hash of every input (source, our files, flags, configuration, compiler, this script), and
# built under flock so that concurrent test processes build once.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
port="$root/tools/peers/rpmsg-lite-cm4"
app="$root/packages/node/firmware/rpmsg-lite"
abi="$root/packages/node/firmware/qemu"
cc="${ARM_CC:-arm-none-eabi-gcc}"

allowed=" VRING_ALIGN VRING_SIZE RL_BUFFER_COUNT RL_BUFFER_PAYLOAD_SIZE RL_ALLOW_CONSUMED_BUFFERS_NOTIFICATION RL_USE_STATIC_API AMPRL_SHMEM_DA AMPRL_LINK_ID AMPRL_ZERO_COPY_TX "
defines=()
for arg in "$@"; do
  name="${arg%%=*}"
  value="${arg#*=}"
  if [ "$name" = "$arg" ] || [[ "$allowed" != *" $name "* ]]; then
    echo "build-rpmsg-lite-cm4.sh: unknown setting '$arg' (expected NAME=VALUE, NAME one of:$allowed)" >&2
    exit 2
  fi
  if ! [[ "$value" =~ ^(0x[0-9a-fA-F]+|[0-9]+)$ ]]; then
    echo "build-rpmsg-lite-cm4.sh: $name must be a number (decimal or 0x hex), got '$value'" >&2
    exit 2
  fi
  defines+=("-D$name=$value")
done
# One key for one configuration, whatever order the settings came in.
if [ ${#defines[@]} -gt 0 ]; then
  mapfile -t defines < <(printf '%s\n' "${defines[@]}" | sort)
fi

command -v "$cc" >/dev/null 2>&1 || { echo "build-rpmsg-lite-cm4.sh: $cc not found (scripts/install-system-deps.sh)" >&2; exit 2; }
src="$("$here/source.sh" rpmsg-lite)"
lib="$src/lib"

cflags=(-mcpu=cortex-m4 -mthumb -mfloat-abi=soft -Os -g -std=gnu11 -ffunction-sections -fdata-sections -fno-common)
ldflags=(--specs=nano.specs --specs=nosys.specs -nostartfiles -Wl,--gc-sections -Wl,--no-warn-rwx-segments)
includes=(-I"$port" -I"$app" -I"$abi" -I"$lib/include" -I"$lib/include/environment/bm")
peer_sources=(rpmsg_lite/rpmsg_lite.c rpmsg_lite/rpmsg_ns.c virtio/virtqueue.c common/llist.c rpmsg_lite/porting/environment/rpmsg_env_bm.c)
our_sources=("$port/rpmsg_platform.c" "$app/rpmsg-lite-echo.c")

# Bytes per input file in the linked image, split into image (what the host loads) and ram (bss).
linked_sizes() {
  awk '
    /^Linker script and memory map/ { on = 1; next }
    !on { next }
    /^ \.(text|rodata|data|bss|vectors)[^ ]*$/ { kind = ($1 ~ /^\.bss/) ? "ram" : "image"; held = 1; next }
    held && /^ +0x[0-9a-f]+ +0x[0-9a-f]+ / { print kind, $2, $3; held = 0; next }
    /^ \.(text|rodata|data|bss|vectors)[^ ]* +0x[0-9a-f]+ +0x[0-9a-f]+ / { print (($1 ~ /^\.bss/) ? "ram" : "image"), $3, $4; held = 0; next }
    { held = 0 }' "$1" |
    while read -r kind size file; do echo "$kind $((size)) ${file##*/}"; done |
    awk '{ s[$3 " " $1] += $2; f[$3] = 1 } END { for (x in f) if (s[x " image"] + s[x " ram"] > 0) printf "image %6d  ram %6d  %s\n", s[x " image"], s[x " ram"], x }' |
    sort -k2,2nr
}

key="$({
  echo "$(basename "$src")"
  "$cc" --version | head -n1
  printf '%s\n' "${cflags[@]}" "${ldflags[@]}" "${defines[@]+"${defines[@]}"}"
  cat "$0" "$port"/* "$app"/*.c "$app"/*.h "$app"/*.ld "$abi/amp-qemu.h"
} | sha256sum | cut -c1-16)"
cache="${AMP_PEERS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/amp-peers}"
out="$cache/rpmsg-lite-cm4-$key"
elf="$out/rpmsg-lite-echo.elf"
mkdir -p "$cache"
exec 9>"$out.lock"
flock 9
if [ ! -f "$out/.done" ]; then
  tmp="$(mktemp -d "$cache/.rpmsg-lite-cm4.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  objs=()
  for s in "${peer_sources[@]}"; do
    o="$tmp/$(basename "${s%.c}").o"
    # rpmsg-lite's own code: its warnings are not ours to fix.
    "$cc" "${cflags[@]}" "${defines[@]+"${defines[@]}"}" "${includes[@]}" -w -c "$lib/$s" -o "$o"
    objs+=("$o")
  done
  for s in "${our_sources[@]}"; do
    o="$tmp/$(basename "${s%.c}").o"
    "$cc" "${cflags[@]}" "${defines[@]+"${defines[@]}"}" "${includes[@]}" -Wall -Wextra -Werror -c "$s" -o "$o"
    objs+=("$o")
  done
  "$cc" "${cflags[@]}" "${ldflags[@]}" -T"$app/mps2-an386-rpmsg-lite.ld" -Wl,-Map="$tmp/rpmsg-lite-echo.map" \
    -o "$tmp/rpmsg-lite-echo.elf" "${objs[@]}" -lc -lgcc
  arm-none-eabi-objcopy -O binary "$tmp/rpmsg-lite-echo.elf" "$tmp/rpmsg-lite-echo.bin"
  {
    echo "# bytes each input keeps in the linked image (after --gc-sections), from the map:"
    echo "# image = vectors, code, read-only data, data; ram = bss"
    linked_sizes "$tmp/rpmsg-lite-echo.map"
    echo "# the linked ELF"
    arm-none-eabi-size "$tmp/rpmsg-lite-echo.elf" | sed "s|$tmp/||"
    echo "image_bytes $(stat -c %s "$tmp/rpmsg-lite-echo.bin")"
    echo "image_gzip9_bytes $(gzip -9 -c "$tmp/rpmsg-lite-echo.bin" | wc -c)"
    echo "defines ${defines[*]-}"
  } >"$tmp/sizes.txt"
  rm -f "$tmp"/*.o
  rm -rf "$out"
  mv "$tmp" "$out"
  trap - EXIT
  touch "$out/.done"
fi
echo "$elf"

#!/usr/bin/env bash
# Builds NXP rpmsg-lite (pinned source, scripts/peers/source.sh) for Linux userspace with our
# environment + platform port (tools/peers/rpmsg-lite/port) and the two test applications
# (tools/peers/rpmsg-lite/apps): rl-master and rl-remote, one pair per configuration variant.
#
#   scripts/peers/build-rpmsg-lite.sh [--self-test] [VARIANT...]
#
# rpmsg-lite's configuration is compile-time, so each variant is its own build. A variant is
#   b<RL_BUFFER_COUNT>-a<VRING_ALIGN, hex>-v<VRING_SIZE, hex | auto>-n<RL_ALLOW_CONSUMED_BUFFERS_NOTIFICATION>-s<RL_USE_STATIC_API>
# e.g. b256-a1000-v8000-n0-s0 (an i.MX layout) or b2-a10-vauto-n0-s0 (an MCU layout: VRING_SIZE
# computed from three separately aligned parts). Without variants it builds those two.
#
# Output: prints the bin directory; the binaries are <bin>/<variant>/rl-master and rl-remote.
# The bin directory is ${AMP_PEERS_CACHE:-~/.cache/amp-peers}/rpmsg-lite-<key>, where the key
# hashes every input (source, port, apps, this script, compiler, flags); a warm cache builds
# nothing. Concurrent runs are serialised with flock, so two test processes build once.
#
# --self-test: after building, runs rl-master against rl-remote (992 echoes of 1..496 bytes, NS
# create and destroy, copy and zero-copy) in every variant built; fails unless all pass.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
port_dir="$root/tools/peers/rpmsg-lite"
self_test=0
variants=()
for arg in "$@"; do
  case "$arg" in
    --self-test) self_test=1 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    b*-a*-v*-n*-s*) variants+=("$arg") ;;
    *) echo "build-rpmsg-lite.sh: bad variant '$arg' (want b<count>-a<align hex>-v<size hex|auto>-n<0|1>-s<0|1>)" >&2; exit 2 ;;
  esac
done
[ ${#variants[@]} -gt 0 ] || variants=(b256-a1000-v8000-n0-s0 b2-a10-vauto-n0-s0)

src="$("$here/source.sh" rpmsg-lite)"
cc="${CC:-gcc}"
command -v "$cc" >/dev/null || { echo "build-rpmsg-lite.sh: no C compiler ($cc)" >&2; exit 2; }
cflags=(-O2 -g -std=gnu11 -fno-strict-aliasing -DRL_BUFFER_PAYLOAD_SIZE=496U)
# rpmsg-lite's sources are not ours: build them warning-clean where we can, but never fail on a
# warning a newer gcc invents in them. Our port and apps must be clean.
ours_warn=(-Wall -Wextra -Werror -Wno-unused-parameter)

cache="${AMP_PEERS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/amp-peers}"
key="$( {
  basename "$src"
  "$cc" --version | head -n1
  echo "${cflags[*]} ${ours_warn[*]}"
  sha256sum "$0"
  (cd "$port_dir" && find port apps -type f \( -name '*.c' -o -name '*.h' \) -print0 | sort -z | xargs -0 sha256sum)
} | sha256sum | cut -c1-16)"
bin="$cache/rpmsg-lite-$key"
mkdir -p "$cache"
exec 8>"$cache/rpmsg-lite-$key.lock"
flock 8

core=("$src/lib/rpmsg_lite/rpmsg_lite.c" "$src/lib/rpmsg_lite/rpmsg_ns.c" "$src/lib/rpmsg_lite/rpmsg_queue.c"
      "$src/lib/virtio/virtqueue.c" "$src/lib/common/llist.c")
ours=("$port_dir/port/env_linux.c" "$port_dir/port/platform_linux.c" "$port_dir/apps/common.c")
includes=(-I"$port_dir/port" -I"$port_dir/apps" -I"$src/lib/include")

build_variant() {
  local v="$1" count align size notify static
  if [[ ! "$v" =~ ^b([0-9]+)-a([0-9a-fA-F]+)-v([0-9a-fA-F]+|auto)-n([01])-s([01])$ ]]; then
    echo "build-rpmsg-lite.sh: bad variant '$v'" >&2; return 2
  fi
  count="${BASH_REMATCH[1]}"; align="0x${BASH_REMATCH[2]}"; size="${BASH_REMATCH[3]}"
  notify="${BASH_REMATCH[4]}"; static="${BASH_REMATCH[5]}"
  [ -f "$bin/$v/.built" ] && return 0
  local defs=(-DRL_BUFFER_COUNT="${count}U" -DVRING_ALIGN="${align}U"
              -DRL_ALLOW_CONSUMED_BUFFERS_NOTIFICATION="$notify" -DRL_USE_STATIC_API="$static")
  [ "$size" = auto ] || defs+=(-DVRING_SIZE="0x${size}UL")
  local tmp; tmp="$(mktemp -d "$cache/.rpmsg-lite-build.XXXXXX")"
  local o=() f
  for f in "${core[@]}"; do
    "$cc" "${cflags[@]}" "${defs[@]}" "${includes[@]}" -c "$f" -o "$tmp/$(basename "$f" .c).o"
    o+=("$tmp/$(basename "$f" .c).o")
  done
  for f in "${ours[@]}"; do
    "$cc" "${cflags[@]}" "${ours_warn[@]}" "${defs[@]}" "${includes[@]}" -c "$f" -o "$tmp/$(basename "$f" .c).o"
    o+=("$tmp/$(basename "$f" .c).o")
  done
  "$cc" "${cflags[@]}" "${ours_warn[@]}" "${defs[@]}" "${includes[@]}" -o "$tmp/rl-master" "$port_dir/apps/master_echo.c" "${o[@]}"
  "$cc" "${cflags[@]}" "${ours_warn[@]}" "${defs[@]}" "${includes[@]}" -o "$tmp/rl-remote" "$port_dir/apps/remote_echo.c" "${o[@]}"
  rm -f "$tmp"/*.o
  touch "$tmp/.built"
  mkdir -p "$bin"
  rm -rf "${bin:?}/$v"
  mv "$tmp" "$bin/$v"
}

start=$(date +%s)
for v in "${variants[@]}"; do build_variant "$v" || exit $?; done
echo "build-rpmsg-lite.sh: ${#variants[@]} variant(s) ready in $(( $(date +%s) - start )) s" >&2

if [ "$self_test" = 1 ]; then
  work="$(mktemp -d "${TMPDIR:-/tmp}/rl-self-test.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
  for v in "${variants[@]}"; do
    for mode in copy zero-copy; do
      zc=(); [ "$mode" = zero-copy ] && zc=(--zero-copy)
      shm="$work/$v-$mode.shm"; sock="$work/$v-$mode.sock"
      # The remote connects (retrying) to the master's socket and waits for the master's kick.
      # setsid: each peer in its own process group, so a failure kills both and nothing else.
      setsid timeout -k 2 60 "$bin/$v/rl-remote" --shm "$shm" --shm-size 1048576 --doorbell "connect:$sock" \
        --count 992 --ns-destroy "${zc[@]}" >"$work/remote.out" 2>"$work/remote.err" &
      rpid=$!
      if ! setsid timeout -k 2 60 "$bin/$v/rl-master" --shm "$shm" --shm-size 1048576 --doorbell "listen:$sock" \
           --count 992 --window 4 --expect-ns-destroy "${zc[@]}" >"$work/master.out" 2>"$work/master.err"; then
        cat "$work/master.out" "$work/master.err" >&2
        kill -- -"$rpid" 2>/dev/null || true
        echo "self-test FAILED: $v $mode" >&2; exit 1
      fi
      wait "$rpid" || { cat "$work/remote.out" "$work/remote.err" >&2; echo "self-test FAILED (remote): $v $mode" >&2; exit 1; }
      echo "self-test $v $mode: $(grep -o 'sent=[0-9]* echoed=[0-9]* bad=[0-9]*' "$work/master.out")" >&2
    done
  done
fi
echo "$bin"

#!/usr/bin/env bash
# Finds the pinned source tarball of a C peer and unpacks it (once) into the peer cache.
#   scripts/peers/source.sh <stem-prefix>     e.g. scripts/peers/source.sh open-amp
# Prints the unpacked source directory on stdout. Looks for <stem>.tar.gz in $AMP_PEERS_DIR,
# then $AMP_PEERS_CACHE/sources, then ../shared/peers beside the repository, and refuses a
# tarball whose sha256 is not the one in scripts/peers/SOURCES.
# The cache ($AMP_PEERS_CACHE, default ~/.cache/amp-peers) lives outside the clone so that CI
# on a warm machine reuses builds; every build under it is keyed by its inputs.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
prefix="${1:?usage: source.sh <peer name, e.g. open-amp>}"
line="$(grep -v '^#' "$here/SOURCES" | awk -v p="$prefix" '$1 ~ "^"p"-v" {print; exit}')"
[ -n "$line" ] || { echo "source.sh: no pinned source named $prefix in scripts/peers/SOURCES" >&2; exit 2; }
read -r stem repo commit sha <<<"$line"
cache="${AMP_PEERS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/amp-peers}"
tarball=""
for dir in "${AMP_PEERS_DIR:-}" "$cache/sources" "$root/../shared/peers"; do
  [ -n "$dir" ] && [ -f "$dir/$stem.tar.gz" ] && { tarball="$dir/$stem.tar.gz"; break; }
done
dest="$cache/src/$stem-${sha:0:12}"
# A tree unpacked earlier from the verified tarball (its name carries the hash) serves as well:
# a clone elsewhere on the same machine needs no tarball beside it.
if [ -z "$tarball" ] && [ -f "$dest/.unpacked" ]; then echo "$dest"; exit 0; fi
if [ -z "$tarball" ]; then
  echo "source.sh: $stem.tar.gz not found in \$AMP_PEERS_DIR, $cache/sources or ../shared/peers." >&2
  echo "  fetch $repo at commit $commit as $stem.tar.gz (sha256 $sha) into \$AMP_PEERS_DIR" >&2
  exit 2
fi
got="$(sha256sum "$tarball" | cut -d' ' -f1)"
[ "$got" = "$sha" ] || { echo "source.sh: $tarball has sha256 $got, expected $sha" >&2; exit 2; }
mkdir -p "$cache/src"
exec 9>"$cache/src/.lock"
flock 9 # two builds at once (turbo runs two packages' tests) unpack it once
if [ ! -f "$dest/.unpacked" ]; then
  tmp="$(mktemp -d "$cache/src/.unpack.XXXXXX")"
  tar xzf "$tarball" -C "$tmp"
  inner="$(find "$tmp" -mindepth 1 -maxdepth 1 -type d | head -n1)"
  [ -n "$inner" ] || { echo "source.sh: $tarball holds no directory" >&2; exit 2; }
  rm -rf "$dest"; mv "$inner" "$dest"; rm -rf "$tmp"
  touch "$dest/.unpacked"
fi
echo "$dest"

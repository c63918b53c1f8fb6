#!/usr/bin/env bash
# Fetch the training/validation corpus from Debian packages into data/ (git-ignored), then render what is not
# plain audio (scripts/data/render_corpus.py): tracker modules to FLAC beside them, and the band-validation
# full mixes (the sum of each validation song's stems) into DEST/band/. docs/CORPUS.md describes the result.
# Usage: scripts/data/fetch_corpus.sh [DEST]   (DEST defaults to data/; PYTHON defaults to .venv/bin/python)
# Needs apt-get (Debian/Ubuntu). Idempotent: packages already unpacked and files already rendered are skipped.
set -euo pipefail
dest=${1:-data}
packages=(wesnoth-1.16-music nexuiz-music singularity-music drascula-music planetblupi-music-ogg
          fretsonfire-songs-muldjord asc-music fb-music-high)
tools=(libxmp4)  # the tracker-module player that renders fb-music-high's .xm (loaded with ctypes; not installed)
mkdir -p "$dest/debs" "$dest/raw" "$dest/tools/debs"
dest=$(cd "$dest" && pwd)
fetch() {  # fetch DIR PACKAGE...
  local dir=$1; shift
  (cd "$dir" && for pkg in "$@"; do
    if ls "${pkg}"_*.deb >/dev/null 2>&1; then continue; fi
    apt-get download "$pkg" || { echo "fetch_corpus: apt-get download $pkg failed (run 'apt-get update' first?)" >&2; exit 1; }
  done)
}
fetch "$dest/debs" "${packages[@]}"
fetch "$dest/tools/debs" "${tools[@]}"
for deb in "$dest"/debs/*.deb; do
  pkg=$(basename "$deb" | cut -d_ -f1)
  [ -d "$dest/raw/$pkg" ] && continue
  dpkg-deb -x "$deb" "$dest/raw/$pkg.tmp" && mv "$dest/raw/$pkg.tmp" "$dest/raw/$pkg"
done
for deb in "$dest"/tools/debs/*.deb; do
  pkg=$(basename "$deb" | cut -d_ -f1)
  [ -d "$dest/tools/$pkg" ] && continue
  dpkg-deb -x "$deb" "$dest/tools/$pkg.tmp" && mv "$dest/tools/$pkg.tmp" "$dest/tools/$pkg"
done
# nexuiz keeps its music inside .pk3 (zip) archives.
for pk3 in $(find "$dest/raw/nexuiz-music" -name '*.pk3' 2>/dev/null); do
  out="$dest/raw/nexuiz-music/unpacked/$(basename "$pk3" .pk3)"
  [ -d "$out" ] || { mkdir -p "$out" && python3 -m zipfile -e "$pk3" "$out"; }
done
repo=$(cd "$(dirname "$0")/../.." && pwd)
py=${PYTHON:-$repo/.venv/bin/python}
[ -x "$py" ] || py=python3  # needs numpy and soundfile (make install)
(cd "$repo" && "$py" -m scripts.data.render_corpus --raw "$dest/raw" --band "$dest/band" --tools "$dest/tools")
echo "corpus in $dest/raw:"
find "$dest/raw" -type f \( -iname '*.ogg' -o -iname '*.wav' -o -iname '*.flac' -o -iname '*.mp3' \) | wc -l

#!/usr/bin/env bash
# Fetch the training/validation corpus from Debian packages into data/ (git-ignored).
# Usage: scripts/data/fetch_corpus.sh [DEST]   (DEST defaults to data/)
# Needs apt-get (Debian/Ubuntu). Idempotent: packages already unpacked are skipped.
set -euo pipefail
dest=${1:-data}
packages=(wesnoth-1.16-music nexuiz-music singularity-music drascula-music planetblupi-music-ogg)
mkdir -p "$dest/debs" "$dest/raw"
cd "$dest/debs"
for pkg in "${packages[@]}"; do
  if ls "${pkg}"_*.deb >/dev/null 2>&1; then continue; fi
  apt-get download "$pkg" || { echo "fetch_corpus: apt-get download $pkg failed (run 'apt-get update' first?)" >&2; exit 1; }
done
cd - >/dev/null
for deb in "$dest"/debs/*.deb; do
  pkg=$(basename "$deb" | cut -d_ -f1)
  [ -d "$dest/raw/$pkg" ] && continue
  dpkg-deb -x "$deb" "$dest/raw/$pkg.tmp" && mv "$dest/raw/$pkg.tmp" "$dest/raw/$pkg"
done
# nexuiz keeps its music inside .pk3 (zip) archives.
for pk3 in $(find "$dest/raw/nexuiz-music" -name '*.pk3' 2>/dev/null); do
  out="$dest/raw/nexuiz-music/unpacked/$(basename "$pk3" .pk3)"
  [ -d "$out" ] || { mkdir -p "$out" && python3 -m zipfile -e "$pk3" "$out"; }
done
echo "corpus in $dest/raw:"
find "$dest/raw" -type f \( -iname '*.ogg' -o -iname '*.wav' -o -iname '*.flac' -o -iname '*.mp3' \) | wc -l

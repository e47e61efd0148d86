#!/usr/bin/env bash
# Read by id under load: wrk, 32 connections, against `tillit demo` on SQLite and against
# a constant-response axum handler in the same run. Prints requests/s and the ratio.
#   tests/perf/read_load.sh [seconds]
source "$(dirname "$0")/common.sh"
SECONDS_EACH=${1:-15}
build
rm -rf "$WORK/read" && mkdir -p "$WORK/read"
TILLIT_LOG=warn "$TILLIT" --listen 127.0.0.1:18181 --data-dir "$WORK/read" demo >/dev/null 2>&1 &
T=$!
trap 'kill $T $C 2>/dev/null || true' EXIT
wait_ready http://127.0.0.1:18181/readyz
URL=http://127.0.0.1:18181/fhir/Patient/demo-patient-001
curl -s "$URL" > "$WORK/read/body.json"
"$ROOT/target/release/examples/constant_handler" 127.0.0.1:18182 "$WORK/read/body.json" &
C=$!
wait_ready http://127.0.0.1:18182/fhir/Patient/x
wrk -t2 -c32 -d2s "$URL" >/dev/null   # warm up
tillit=$(wrk -t2 -c32 -d"${SECONDS_EACH}s" "$URL" | awk '/Requests\/sec/ {print $2}')
constant=$(wrk -t2 -c32 -d"${SECONDS_EACH}s" http://127.0.0.1:18182/fhir/Patient/demo-patient-001 | awk '/Requests\/sec/ {print $2}')
echo "tillit read by id (SQLite): $tillit req/s"
echo "constant axum handler:      $constant req/s"
awk -v a="$tillit" -v b="$constant" 'BEGIN { printf "ratio: %.1f%%\n", 100 * a / b }'

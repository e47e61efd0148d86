#!/usr/bin/env bash
# $validate-code over HTTP: wrk with one connection (latency, not throughput) against
# `tillit demo` on SQLite, a code of R4's administrative-gender value set by GET.
# Prints wrk's latency percentiles.
#   tests/perf/terminology.sh [seconds]
source "$(dirname "$0")/common.sh"
SECONDS_EACH=${1:-15}
build
rm -rf "$WORK/tx" && mkdir -p "$WORK/tx"
TILLIT_LOG=warn "$TILLIT" --listen 127.0.0.1:18191 --data-dir "$WORK/tx" demo >/dev/null 2>&1 &
T=$!
trap 'kill $T 2>/dev/null || true' EXIT
wait_ready http://127.0.0.1:18191/readyz
URL='http://127.0.0.1:18191/fhir/ValueSet/$validate-code?url=http://hl7.org/fhir/ValueSet/administrative-gender&system=http://hl7.org/fhir/administrative-gender&code=female'
curl -sf "$URL" | grep -q '"valueBoolean":true' || { echo "validate-code did not answer true" >&2; exit 1; }
wrk -t1 -c1 -d2s "$URL" >/dev/null   # warm up (loads the packages' terminology)
echo "GET ValueSet/\$validate-code, one connection:"
wrk -t1 -c1 -d"${SECONDS_EACH}s" --latency "$URL" | sed -n '/Latency Distribution/,/99%/p'

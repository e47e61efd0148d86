#!/usr/bin/env bash
# Ingest of transaction Bundles: the synthetic demo data set (1,000 patients, about
# 14,000 resources in 30 Bundles) posted over HTTP to a fresh server, on SQLite and on
# PostgreSQL, then the same files through `tillit import`. Prints resources per second.
#   tests/perf/ingest.sh [patients]
source "$(dirname "$0")/common.sh"
PATIENTS=${1:-1000}
build
rm -rf "$WORK/bundles" && "$ROOT/target/release/examples/write_bundles" "$PATIENTS" "$WORK/bundles"
RESOURCES=$(cat "$WORK"/bundles/*.json | grep -o '"request":' | wc -l)

http_ingest() { # LABEL DATABASE_URL
  rm -rf "$WORK/ingest" && mkdir -p "$WORK/ingest"
  TILLIT_LOG=warn "$TILLIT" --listen 127.0.0.1:18183 --data-dir "$WORK/ingest" --database-url "$2" serve >/dev/null 2>&1 &
  local pid=$!
  wait_ready http://127.0.0.1:18183/readyz
  local start end
  start=$(date +%s.%N)
  for f in "$WORK"/bundles/*.json; do
    code=$(curl -s -o /dev/null -w '%{http_code}' -H 'content-type: application/fhir+json' \
      -H 'prefer: return=minimal' --data-binary @"$f" http://127.0.0.1:18183/fhir)
    [ "$code" = 200 ] || { echo "bundle $f: HTTP $code" >&2; kill $pid; return 1; }
  done
  end=$(date +%s.%N)
  kill $pid; wait $pid 2>/dev/null || true
  awk -v n="$RESOURCES" -v s="$start" -v e="$end" -v l="$1" \
    'BEGIN { printf "%s: %d resources in %.2f s = %.0f resources/s\n", l, n, e - s, n / (e - s) }'
}

http_ingest "HTTP transactions, SQLite" "sqlite://$WORK/ingest/tillit.db"
http_ingest "HTTP transactions, PostgreSQL" "$(fresh_pg tillit_perf_ingest)"
rm -rf "$WORK/import"
echo -n "tillit import, SQLite: "
TILLIT_LOG=warn "$TILLIT" --data-dir "$WORK/import" import "$WORK/bundles" | tail -n1
echo -n "tillit import, PostgreSQL: "
TILLIT_LOG=warn "$TILLIT" --database-url "$(fresh_pg tillit_perf_import)" import "$WORK/bundles" | tail -n1

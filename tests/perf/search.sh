#!/usr/bin/env bash
# Search at scale: the demo data set of PATIENTS patients (46,000 give about 1,000,000
# resources) is ingested over HTTP as transaction Bundles into a fresh server (indexing
# every resource as it is written), on SQLite and on PostgreSQL; then the index size is
# compared with the stored JSON, and search_bench measures latency (concurrency 1) and
# throughput (concurrency 32) of a fixed query mix, checking every answer.
#   tests/perf/search.sh [patients] [seconds]
# QUERIES_ONLY=1 skips the ingest and queries the SQLite database a previous run left in
# target/perf/search (after a change to the query code); DATABASES=sqlite (or postgres)
# runs one database only.
source "$(dirname "$0")/common.sh"
PATIENTS=${1:-46000}
SECONDS_MIX=${2:-60}
build
(cd "$ROOT" && cargo build --release -q -p tillit --example search_bench)
BENCH="$ROOT/target/release/examples/search_bench"
BUNDLES="$WORK/bundles-$PATIENTS"
if [ ! -d "$BUNDLES" ]; then
  "$ROOT/target/release/examples/write_bundles" "$PATIENTS" "$BUNDLES.tmp" && mv "$BUNDLES.tmp" "$BUNDLES"
fi
RESOURCES=$(cat "$BUNDLES"/*.json | grep -o '"request":' | wc -l)
PORT=18184

run() { # LABEL DATABASE_URL
  local label=$1 url=$2
  rm -rf "$WORK/search" && mkdir -p "$WORK/search"
  TILLIT_LOG=warn "$TILLIT" --listen 127.0.0.1:$PORT --data-dir "$WORK/search" --database-url "$url" serve >"$WORK/search.log" 2>&1 &
  local pid=$!
  wait_ready http://127.0.0.1:$PORT/readyz
  local start end
  start=$(date +%s.%N)
  for f in "$BUNDLES"/*.json; do
    code=$(curl -s -o /dev/null -w '%{http_code}' -H 'content-type: application/fhir+json' \
      -H 'prefer: return=minimal' --data-binary @"$f" http://127.0.0.1:$PORT/fhir)
    [ "$code" = 200 ] || { echo "bundle $f: HTTP $code" >&2; kill $pid; return 1; }
  done
  end=$(date +%s.%N)
  awk -v n="$RESOURCES" -v s="$start" -v e="$end" -v l="$label" \
    'BEGIN { printf "%s ingest with indexing: %d resources in %.1f s = %.0f resources/s\n", l, n, e - s, n / (e - s) }'
  # What autovacuum does after a bulk load, at once: statistics for the planner
  # and the visibility map that lets index-only scans skip the heap.
  if [[ $url == postgres* ]]; then psql "$url" -qc "VACUUM (ANALYZE)"; fi
  index_size "$label" "$url"
  "$BENCH" http://127.0.0.1:$PORT/fhir "$PATIENTS" "$SECONDS_MIX"
  kill $pid; wait $pid 2>/dev/null || true
}

index_size() { # LABEL DATABASE_URL
  if [[ $2 == sqlite* ]]; then
    python3 - "$WORK/search/tillit.db" "$1" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
index = db.execute("SELECT SUM(pgsize) FROM dbstat WHERE name LIKE 'search_%'").fetchone()[0]
json = db.execute("SELECT SUM(LENGTH(v.content)) FROM resource r JOIN resource_version v ON v.seq = r.seq WHERE NOT r.deleted").fetchone()[0]
print(f"{sys.argv[2]} index: {index / 1e6:.0f} MB for {json / 1e6:.0f} MB of current JSON = {index / json:.2f}x")
PY
  else
    psql "$2" -Atc "SELECT '$1 index: ' || round(SUM(pg_total_relation_size(c.oid)) / 1e6) || ' MB for ' ||
      round((SELECT SUM(octet_length(v.content::text)) FROM resource r JOIN resource_version v ON v.seq = r.seq WHERE NOT r.deleted) / 1e6) || ' MB of current JSON = ' ||
      round(SUM(pg_total_relation_size(c.oid)) / (SELECT SUM(octet_length(v.content::text)) FROM resource r JOIN resource_version v ON v.seq = r.seq WHERE NOT r.deleted), 2) || 'x'
      FROM pg_class c WHERE c.relname LIKE 'search_%' AND c.relkind = 'r'"
  fi
}

if [ "${QUERIES_ONLY:-}" = 1 ]; then
  TILLIT_LOG=warn "$TILLIT" --listen 127.0.0.1:$PORT --data-dir "$WORK/search" serve >"$WORK/search.log" 2>&1 &
  pid=$!
  wait_ready http://127.0.0.1:$PORT/readyz
  "$BENCH" http://127.0.0.1:$PORT/fhir "$PATIENTS" "$SECONDS_MIX"
  kill $pid; wait $pid 2>/dev/null || true
  exit
fi
for database in ${DATABASES:-sqlite postgres}; do
  case $database in
    sqlite) run "SQLite" "sqlite://$WORK/search/tillit.db" ;;
    postgres) run "PostgreSQL" "$(fresh_pg tillit_perf_search)" ;;
  esac
done

# Shared by the load scripts: build once, start and stop servers on loopback only.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TILLIT="$ROOT/target/release/tillit"
WORK="$ROOT/target/perf"
mkdir -p "$WORK"
PG_BASE=${TILLIT_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432}

build() {
  (cd "$ROOT" && cargo build --release -p tillit -p tillit-http --example constant_handler -p tillit-demo --example write_bundles --bins -q)
}

# wait_ready URL: polls until it answers 200 (at most 120 s).
wait_ready() {
  for _ in $(seq 1 1200); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$1")" = 200 ] && return 0
    sleep 0.1
  done
  echo "not ready: $1" >&2; return 1
}

# fresh_pg NAME: an empty PostgreSQL database, echoing its URL.
fresh_pg() {
  psql "$PG_BASE/postgres" -qc "DROP DATABASE IF EXISTS $1" >/dev/null
  psql "$PG_BASE/postgres" -qc "CREATE DATABASE $1" >/dev/null
  echo "$PG_BASE/$1"
}

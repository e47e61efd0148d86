#!/usr/bin/env bash
# Start-up with all packages loaded (time from exec to /readyz answering 200) on a fresh
# database (packages installed into it) and on an existing one, and idle memory (RSS).
#   tests/perf/startup.sh [runs]
source "$(dirname "$0")/common.sh"
RUNS=${1:-5}
build
now() { date +%s%N; }
start_once() { # DATA_DIR -> sets MS (milliseconds to ready) and PID
  local t0 t1
  t0=$(now)
  TILLIT_LOG=warn "$TILLIT" --listen 127.0.0.1:18184 --data-dir "$1" serve >/dev/null 2>&1 &
  PID=$!
  wait_ready http://127.0.0.1:18184/readyz
  t1=$(now)
  MS=$(( (t1 - t0) / 1000000 ))
}
rm -rf "$WORK/startup"
start_once "$WORK/startup"; kill $PID; wait $PID 2>/dev/null || true
echo "first start (fresh database, installs 4,600 definitions): ${MS} ms"
for i in $(seq 1 "$RUNS"); do
  start_once "$WORK/startup"; ms=$MS
  if [ "$i" = "$RUNS" ]; then
    sleep 2
    rss=$(awk '/VmRSS/ {print $2}' /proc/$PID/status)
  fi
  kill $PID; wait $PID 2>/dev/null || true
  echo "start $i (existing database): ${ms} ms"
done
echo "idle RSS after start: $((rss / 1024)) MB"

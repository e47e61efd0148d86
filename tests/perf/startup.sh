#!/usr/bin/env bash
# Start-up with all packages loaded (time from exec to /readyz answering 200) on a fresh
# database (packages installed into it) and on an existing one, and idle memory (RSS).
#   tests/perf/startup.sh [runs]
source "$(dirname "$0")/common.sh"
RUNS=${1:-5}
build
now() { date +%s%N; }
start_once() { # DATA_DIR -> prints milliseconds to ready and leaves the server's pid in PID
  local t0 t1
  t0=$(now)
  TILLIT_LOG=warn "$TILLIT" --listen 127.0.0.1:18184 --data-dir "$1" serve >/dev/null 2>&1 &
  PID=$!
  wait_ready http://127.0.0.1:18184/readyz
  t1=$(now)
  echo $(( (t1 - t0) / 1000000 ))
}
rm -rf "$WORK/startup"
first=$(start_once "$WORK/startup"); kill $PID; wait $PID 2>/dev/null || true
echo "first start (fresh database, installs 4,600 definitions): ${first} ms"
for i in $(seq 1 "$RUNS"); do
  ms=$(start_once "$WORK/startup")
  if [ "$i" = "$RUNS" ]; then
    sleep 2
    rss=$(awk '/VmRSS/ {print $2}' /proc/$PID/status)
  fi
  kill $PID; wait $PID 2>/dev/null || true
  echo "start $i (existing database): ${ms} ms"
done
echo "idle RSS after start: $((rss / 1024)) MB"

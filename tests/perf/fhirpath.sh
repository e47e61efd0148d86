#!/usr/bin/env bash
# FHIRPath evaluation speed, Tillit's engine against fhirpath.js, on the cases of
# fhirpath-cases.json: each engine compiles every expression once, warms up, and times rounds
# of at least FHIRPATH_BENCH_SECONDS (0.3) seconds, FHIRPATH_BENCH_ROUNDS (3) times, keeping the
# fastest. Prints a markdown table with the speed-up per case, whether the engines return the
# same number of items (and the same items), the geometric mean and the median speed-up.
#   tests/perf/fhirpath.sh [cases.json]
# fhirpath.js (the newest on npm) is installed once into target/perf/node; set
# FHIRPATH_JS_UPDATE=1 to install the newest again.
source "$(dirname "$0")/common.sh"
CASES=$(realpath "${1:-$ROOT/tests/perf/fhirpath-cases.json}")
NODE_DIR="$WORK/node"

if [ ! -d "$NODE_DIR/node_modules/fhirpath" ] || [ "${FHIRPATH_JS_UPDATE:-0}" = 1 ]; then
  npm install --prefix "$NODE_DIR" --no-audit --no-fund fhirpath@latest >&2
fi
(cd "$ROOT" && cargo build --release -q -p tillit-fhirpath --example fhirpath_bench)

echo "fhirpath.js:" >&2
FHIRPATH_NODE_DIR="$NODE_DIR" node "$ROOT/tests/perf/fhirpath_bench.js" "$CASES" | tee "$WORK/fhirpath-js.out" >&2
echo "tillit-fhirpath:" >&2
"$ROOT/target/release/examples/fhirpath_bench" "$CASES" | tee "$WORK/fhirpath-tillit.out" >&2

python3 - "$WORK/fhirpath-js.out" "$WORK/fhirpath-tillit.out" <<'PY'
import json, math, statistics, sys

js_run, rs_run = (json.loads(open(p).read().strip().splitlines()[-1]) for p in sys.argv[1:3])

def short(case):
    resource = case["resource"].rsplit("/", 1)[-1].removesuffix(".json")
    text = case["expression"].replace("|", "&#124;")
    fence = "``" if "`" in text else "`"
    return f"{fence} {text} {fence} ({resource})" if fence == "``" else f"`{text}` ({resource})"

def same(a, b):
    # Both results as JSON; numbers compare by value (185 and 185.0 are the same item).
    return json.loads(json.dumps(a)) == json.loads(json.dumps(b))

rows, ratios, notes = [], [], []
print(f"{js_run['engine']} ({js_run['node']}) against tillit-fhirpath; µs per evaluation, "
      f"fastest of {rs_run['rounds']} rounds of at least {rs_run['seconds']} s\n")
print("| # | case | fhirpath.js µs | Tillit µs | speed-up | counts agree |")
print("|--:|---|--:|--:|--:|---|")
for js, rs in zip(js_run["cases"], rs_run["cases"]):
    assert js["expression"] == rs["expression"], "both engines ran the same cases"
    def cell(r):
        return "error" if "error" in r else f"{r['us']:.2f}"
    if "error" in js or "error" in rs:
        speed, agree = "—", "—"
        for name, r in (("fhirpath.js", js), ("Tillit", rs)):
            if "error" in r:
                notes.append(f"- #{js['index']} {name} error: {r['error']}")
    else:
        ratio = js["us"] / rs["us"]
        ratios.append(ratio)
        speed = f"{ratio:.1f}×"
        if js["count"] != rs["count"]:
            agree = f"**no** ({js['count']} vs {rs['count']})"
        elif not same(js["result"], rs["result"]):
            agree = f"yes ({rs['count']}), **values differ**"
        else:
            agree = f"yes ({rs['count']})"
        if js["count"] != rs["count"] or not same(js["result"], rs["result"]):
            notes.append(f"- #{js['index']} results differ:\n"
                         f"  - fhirpath.js: `{json.dumps(js['result'])[:400]}`\n"
                         f"  - Tillit:      `{json.dumps(rs['result'])[:400]}`")
    print(f"| {js['index']} | {short(js)} | {cell(js)} | {cell(rs)} | {speed} | {agree} |")

if ratios:
    geomean = math.exp(sum(map(math.log, ratios)) / len(ratios))
    print(f"\nSpeed-up over {len(ratios)} cases that both engines evaluate: "
          f"geometric mean {geomean:.1f}×, median {statistics.median(ratios):.1f}×, "
          f"range {min(ratios):.1f}×–{max(ratios):.1f}×")
if notes:
    print("\nErrors (excluded from the mean) and disagreements:\n")
    print("\n".join(notes))
PY

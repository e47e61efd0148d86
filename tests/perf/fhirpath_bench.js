// Evaluation speed of compiled FHIRPath expressions in fhirpath.js, case by case: the
// counterpart of server/fhirpath/examples/fhirpath_bench.rs, measured the same way
// (tests/perf/fhirpath.sh runs both and prints the table).
//
//   node tests/perf/fhirpath_bench.js [CASES.json]
//
// CASES.json (default tests/perf/fhirpath-cases.json) is a list of {resource, expression};
// resource is relative to the repository root. fhirpath.js is loaded from target/perf/node
// (or FHIRPATH_NODE_DIR), where fhirpath.sh installs it. Each expression is compiled once with
// the R4 model; then, per case, evaluation runs for a warm-up and for FHIRPATH_BENCH_ROUNDS
// (default 3) timed rounds of at least FHIRPATH_BENCH_SECONDS (default 0.3) each, and the
// fastest round counts. The last line printed is JSON with every timing, count and result.
'use strict';

const fs = require('fs');
const path = require('path');
const { createRequire } = require('module');

const ROOT = path.resolve(__dirname, '..', '..');
const NODE_DIR = process.env.FHIRPATH_NODE_DIR || path.join(ROOT, 'target', 'perf', 'node');
const nodeRequire = createRequire(path.join(NODE_DIR, 'package.json'));
const fhirpath = nodeRequire('fhirpath');
const r4 = nodeRequire('fhirpath/fhir-context/r4');
const version = nodeRequire('fhirpath/package.json').version;

const WARM_UP_NS = 100_000_000n;
// Evaluations between two looks at the clock aim at about this long.
const BATCH_NS = 5_000_000;

function envNumber(name, fallback) {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && process.env[name] !== '' && process.env[name] !== undefined
    ? value
    : fallback;
}

// Runs evaluations in batches of `batch` until `atLeastNs` has passed; returns the time taken
// (ns, a BigInt) and the number of evaluations. `sink` keeps every result observable.
let sink = 0;
function timedRounds(compiled, resource, atLeastNs, batch) {
  const start = process.hrtime.bigint();
  let n = 0;
  for (;;) {
    for (let i = 0; i < batch; i++) {
      sink += compiled(resource).length;
    }
    n += batch;
    const elapsed = process.hrtime.bigint() - start;
    if (elapsed >= atLeastNs) return [elapsed, n];
  }
}

function measure(compiled, resource, minRoundNs, rounds) {
  const first = compiled(resource);
  if (first && typeof first.then === 'function') {
    throw new Error('evaluation returned a Promise (asynchronous function)');
  }
  const result = JSON.parse(JSON.stringify(first));

  const [warmUp, warmUpCount] = timedRounds(compiled, resource, WARM_UP_NS, 1);
  const perEvaluation = Number(warmUp) / warmUpCount;
  const batch = Math.max(1, Math.floor(BATCH_NS / Math.max(perEvaluation, 1)));

  let best = Infinity;
  let iterations = 0;
  for (let r = 0; r < rounds; r++) {
    const [elapsed, n] = timedRounds(compiled, resource, minRoundNs, batch);
    const us = Number(elapsed) / 1000 / n;
    if (us < best) {
      best = us;
      iterations = n;
    }
  }
  return { us: best, iterations, count: first.length, result };
}

function main() {
  const casesPath = process.argv[2] || path.join(ROOT, 'tests', 'perf', 'fhirpath-cases.json');
  const seconds = envNumber('FHIRPATH_BENCH_SECONDS', 0.3);
  const rounds = Math.max(1, Math.floor(envNumber('FHIRPATH_BENCH_ROUNDS', 3)));
  const minRoundNs = BigInt(Math.round(seconds * 1e9));
  const cases = JSON.parse(fs.readFileSync(casesPath, 'utf8'));

  const reports = cases.map((c, index) => {
    const report = { index, resource: c.resource, expression: c.expression };
    // A fresh copy per case: fhirpath.js annotates the objects it evaluates.
    const resource = JSON.parse(fs.readFileSync(path.join(ROOT, c.resource), 'utf8'));
    try {
      const compiled = fhirpath.compile(c.expression, r4);
      Object.assign(report, measure(compiled, resource, minRoundNs, rounds));
      const line = `${String(index).padStart(3)} ${report.us.toFixed(3).padStart(10)} µs`;
      console.log(`${line} ${String(report.count).padStart(4)} items  ${c.expression}`);
    } catch (error) {
      report.error = String(error && error.message ? error.message : error).split('\n')[0];
      console.log(`${String(index).padStart(3)}      error         ${c.expression}: ${report.error}`);
    }
    return report;
  });
  console.log(JSON.stringify({
    engine: `fhirpath.js ${version}`, node: process.version, seconds, rounds, cases: reports,
  }));
  if (sink < 0) console.log(sink);
}

main();

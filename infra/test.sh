#!/usr/bin/env bash
# The whole test suite (`npm test`): static checks, then every vitest suite (unit, contract, integration,
# e2e). Later services (Redis, Kafka, Nova) are started here by their own infra/ scripts and stopped on
# exit. Ends with one line `N passed, N failed` (static checks count as one test each) and exits non-zero
# when anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."

results=.test-results
mkdir -p "$results"
failed_checks=0
passed_checks=0

if [ ! -d node_modules ]; then
  echo "node_modules is missing: run 'npm ci' first" >&2
  exit 2
fi

check() {
  local name=$1
  shift
  echo "== $name: $*"
  if "$@"; then
    passed_checks=$((passed_checks + 1))
  else
    echo "!! $name failed"
    failed_checks=$((failed_checks + 1))
  fi
}

check typecheck npx tsc --noEmit
check lint npx biome check .

echo "== vitest"
npx vitest run --reporter=default --reporter=json --outputFile.json="$results/vitest.json"
vitest_rc=$?

node --input-type=module - "$results/vitest.json" "$passed_checks" "$failed_checks" "$vitest_rc" <<'NODE'
import { readFileSync, writeFileSync } from 'node:fs';
const [file, passedChecks, failedChecks, rc] = process.argv.slice(2);
let passed = Number(passedChecks);
let failed = Number(failedChecks);
let skipped = 0;
try {
  const r = JSON.parse(readFileSync(file, 'utf8'));
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  skipped += r.numPendingTests + r.numTodoTests;
  // A suite that fails to load runs no test but is a failure all the same.
  failed += r.testResults.filter((s) => s.status === 'failed' && s.assertionResults.length === 0).length;
} catch (err) {
  console.error(`could not read vitest results (${err.message})`);
  failed += 1;
}
if (Number(rc) !== 0 && failed === 0) failed += 1;
const line = `${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`;
writeFileSync(`${file}.totals`, `${line}\n`);
console.log(line);
process.exitCode = failed > 0 ? 1 : 0;
NODE

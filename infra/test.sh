#!/usr/bin/env bash
# The whole test suite (`npm test`): static checks (types, lint, `serverless package`), then every vitest
# suite (unit, contract, integration, e2e), with the services they need (Redis, a Kafka-protocol broker,
# a real OpenStack Nova) started by their own infra/ scripts and stopped on exit. Ends with one line `N passed, N failed` (static
# checks count as one test each) and exits non-zero when anything failed.
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

# What this run started is stopped on exit, quietly so the totals line stays last.
on_exit=()
run_on_exit() { for cmd in "${on_exit[@]}"; do eval "$cmd"; done; }
trap run_on_exit EXIT

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
# The Lambda deployment must package offline, with no AWS credentials (serverless v3 + esbuild).
check serverless-package env SLS_TELEMETRY_DISABLED=1 SLS_NOTIFICATIONS_MODE=off npx serverless package --stage ci

# Redis for the Redis store's tests: our own standalone server and three-master cluster on free loopback
# ports (infra/redis/up), unless REDIS_URL and REDIS_CLUSTER_NODES both name some already. What this run
# started (not what it reused from an earlier `infra/redis/up`) is stopped on exit, quietly so the totals
# line stays last. A failed start counts as a failed check; the Redis tests then fail on their own.
redis_down_args=()
stop_redis() { bash infra/redis/down "${redis_down_args[@]}" >"$results/redis-down.log" 2>&1; }
if [ -n "${REDIS_URL:-}" ] && [ -n "${REDIS_CLUSTER_NODES:-}" ]; then
  echo "== redis: using REDIS_URL=$REDIS_URL REDIS_CLUSTER_NODES=$REDIS_CLUSTER_NODES"
else
  echo "== redis: infra/redis/up"
  unset REDIS_URL REDIS_CLUSTER_NODES
  if bash infra/redis/up >/dev/null && . .infra/redis/env && [ -n "${REDIS_URL:-}" ] &&
    [ -n "${REDIS_CLUSTER_NODES:-}" ]; then
    echo "   REDIS_URL=$REDIS_URL REDIS_CLUSTER_NODES=$REDIS_CLUSTER_NODES"
    started=$(cat .infra/redis/started 2>/dev/null)
    case $started in
      *standalone*cluster* | *cluster*standalone*) on_exit+=(stop_redis) ;;
      *standalone*) redis_down_args=(--standalone-only) && on_exit+=(stop_redis) ;;
      *cluster*) redis_down_args=(--cluster-only) && on_exit+=(stop_redis) ;;
      *) echo "   (reusing the Redis of an earlier infra/redis/up: left running)" ;;
    esac
  else
    echo "!! redis failed to start"
    failed_checks=$((failed_checks + 1))
  fi
fi

# Kafka for the event tests: our own mock cluster (librdkafka's, three brokers, warmpool's topics) on free
# loopback ports (infra/kafka/up), unless KAFKA_BROKERS names one already. As for Redis: what this run
# started (not a launcher reused from an earlier `infra/kafka/up`) is stopped on exit, quietly, besides
# what the Redis block stops; a failed start counts as a failed check and the Kafka tests fail on their own.
stop_kafka() { bash infra/kafka/down >"$results/kafka-down.log" 2>&1; }
if [ -n "${KAFKA_BROKERS:-}" ]; then
  echo "== kafka: using KAFKA_BROKERS=$KAFKA_BROKERS"
else
  echo "== kafka: infra/kafka/up"
  if bash infra/kafka/up >/dev/null && . .infra/kafka/env && [ -n "${KAFKA_BROKERS:-}" ]; then
    echo "   KAFKA_BROKERS=$KAFKA_BROKERS"
    if [ "$(cat .infra/kafka/started 2>/dev/null)" = kafka ]; then
      on_exit+=(stop_kafka)
    else
      echo "   (reusing the Kafka of an earlier infra/kafka/up: left running)"
    fi
  else
    unset KAFKA_BROKERS
    echo "!! kafka failed to start"
    failed_checks=$((failed_checks + 1))
  fi
fi

# OpenStack for the provider contract and the end-to-end test on a real Nova: our own Keystone, Placement,
# Glance and Nova (two fake-driver computes) with their own MariaDB and RabbitMQ (infra/openstack/up;
# Debian's packages are installed the first time, about two minutes), unless OS_AUTH_URL and
# WARMPOOL_OS_IMAGE name one already. A stack this run started is stopped on exit (its data is kept, so
# the next run starts faster); one reused from an earlier `infra/openstack/up` is left running.
stop_openstack() { bash infra/openstack/down >"$results/openstack-down.log" 2>&1; }
if [ -n "${OS_AUTH_URL:-}" ] && [ -n "${WARMPOOL_OS_IMAGE:-}" ]; then
  echo "== openstack: using OS_AUTH_URL=$OS_AUTH_URL"
else
  echo "== openstack: infra/openstack/up"
  if bash infra/openstack/up >/dev/null 2>"$results/openstack-up.log" && set -a && . .infra/openstack/env &&
    set +a && [ -n "${OS_AUTH_URL:-}" ]; then
    echo "   OS_AUTH_URL=$OS_AUTH_URL (hosts $WARMPOOL_OS_HOSTS)"
    if [ -s .infra/openstack/started ]; then
      on_exit+=(stop_openstack)
    else
      echo "   (reusing the OpenStack of an earlier infra/openstack/up: left running)"
    fi
  else
    echo "!! openstack failed to start (see $results/openstack-up.log)"
    tail -n 20 "$results/openstack-up.log" | sed 's/^/   /'
    failed_checks=$((failed_checks + 1))
  fi
fi

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

/**
 * bench:ingest: the hot path of metric ingest, decode + validate + aggregate, as the Kafka consumer runs it
 * on each batch (decodeRecords, then the per-interval fold), with no I/O: what one process can take.
 *
 *   npm run bench:ingest -- [--events 1000000] [--batch 500] [--pools 50] [--json]
 *
 * Records are JSON samples (every tenth a CloudEvent envelope, one in a thousand poison) spread over the
 * pools. The last line printed is one JSON object.
 */
import { performance } from 'node:perf_hooks';
import { decodeRecords, type InRecord } from '../lib/ingest/index.js';
import { MetricAggregator } from '../lib/signals/index.js';
import { benchArgs } from './args.js';

const {
  json,
  ints: { events, batch: batchSize, pools: poolCount },
} = benchArgs('bench:ingest', {
  events: { default: 1_000_000 },
  batch: { default: 500 },
  pools: { default: 50 },
});

const pools = Array.from({ length: poolCount }, (_, i) => `pool-${i}`);
const known = new Set(pools);
const t0 = Date.UTC(2026, 0, 1);

/** Batches are built up front, as the broker would hand them over: Buffers, not strings. */
function makeBatch(b: number): InRecord[] {
  const records: InRecord[] = [];
  for (let j = 0; j < batchSize; j++) {
    const n = b * batchSize + j;
    const pool = pools[n % poolCount]!;
    const sample = { pool, metric: 'requests_per_s', value: (n % 997) + 0.5, ts: t0 + n };
    const body =
      n % 1000 === 999
        ? '{"pool":'
        : n % 10 === 0
          ? JSON.stringify({ specversion: '1.0', id: `e${n}`, source: 'bench', type: 'metric', data: sample })
          : JSON.stringify(sample);
    records.push({
      topic: 'warmpool.metrics',
      partition: n % 6,
      offset: String(n),
      key: pool,
      value: Buffer.from(body),
    });
  }
  return records;
}

const batches = Math.ceil(events / batchSize);
// A pool of distinct batches reused round-robin keeps the input's own memory out of the heap figure.
const distinct = Array.from({ length: Math.min(batches, 200) }, (_, b) => makeBatch(b));
globalThis.gc?.();
const heapBefore = process.memoryUsage().heapUsed;
const batchMs: number[] = [];
let accepted = 0;
let rejected = 0;
const aggregator = new MetricAggregator();
const start = performance.now();
for (let b = 0; b < batches; b++) {
  const s = performance.now();
  const decoded = decodeRecords(distinct[b % distinct.length]!, known);
  for (const x of decoded.samples) aggregator.add(x.pool, x.metric, x.value, x.ts, 10_000);
  // What the consumer hands the store: one folded series per pool, metric and interval.
  aggregator.drain();
  accepted += decoded.samples.length;
  rejected += decoded.rejected.length;
  batchMs.push(performance.now() - s);
  if (!json && b % 400 === 0) process.stderr.write(`\r${Math.round((100 * b) / batches)} %`);
}
const seconds = (performance.now() - start) / 1000;
const heapMB = Math.round(((process.memoryUsage().heapUsed - heapBefore) / 1048576) * 10) / 10;
batchMs.sort((a, b) => a - b);
const p99 = batchMs[Math.ceil(0.99 * batchMs.length) - 1]!;
if (!json) process.stderr.write(`\r${accepted} accepted, ${rejected} rejected in ${seconds.toFixed(2)} s\n`);
process.stdout.write(
  `${JSON.stringify({
    events: batches * batchSize,
    eventsPerSec: Math.round((batches * batchSize) / seconds),
    p99BatchMs: Math.round(p99 * 1000) / 1000,
    heapMB,
    batchSize,
    rejected,
  })}\n`,
);

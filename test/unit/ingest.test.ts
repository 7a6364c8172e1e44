/**
 * The ingest path: payload decoding (plain, CloudEvents, batches), Kafka records to samples with poison set
 * aside for the dead-letter topic, the Lambda Kafka event shapes, and the same decisions from the local
 * consumer's path and the Lambda handler's path on the same records.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../lib/clock/index.js';
import { embeddedConfig, parseConfig } from '../../lib/config/index.js';
import { Controller, type PoolPolicyState } from '../../lib/controller/index.js';
import { MemoryEventSink } from '../../lib/events/index.js';
import {
  DLQ_HEADERS,
  deadLetter,
  decodeRecords,
  type InRecord,
  InvalidEventError,
  type Rejected,
  recordsOfEvent,
} from '../../lib/ingest/index.js';
import { silentLogger } from '../../lib/log/index.js';
import { buildProviders, ingestBatch, ingestPartitions } from '../../lib/runtime/index.js';
import { decodePayload } from '../../lib/signals/index.js';
import { MemoryStore } from '../../lib/store/index.js';

const fixture = (name: string): unknown => JSON.parse(readFileSync(`test/fixtures/${name}`, 'utf8'));
const T = Date.UTC(2026, 0, 1);

describe('decodePayload', () => {
  it('takes a plain sample, ts in ms or RFC 3339', () => {
    expect(decodePayload({ pool: 'web', metric: 'rps', value: 1.5, ts: 5 })).toEqual({
      ok: true,
      value: [{ pool: 'web', metric: 'rps', value: 1.5, ts: 5 }],
    });
    expect(decodePayload({ pool: 'web', metric: 'rps', value: 1, ts: '2026-01-01T00:00:01+01:00' })).toEqual({
      ok: true,
      value: [{ pool: 'web', metric: 'rps', value: 1, ts: T + 1000 - 3600_000 }],
    });
  });

  it('takes a CloudEvents 1.0 structured envelope; its time stands in for a missing ts', () => {
    const ce = { specversion: '1.0', id: 'a', source: 's', type: 't', time: '2026-01-01T00:00:00Z' };
    expect(decodePayload({ ...ce, data: { pool: 'web', metric: 'rps', value: 3 } })).toEqual({
      ok: true,
      value: [{ pool: 'web', metric: 'rps', value: 3, ts: T }],
    });
    expect(decodePayload({ ...ce, data: { pool: 'web', metric: 'rps', value: 3, ts: 7 } })).toMatchObject({
      value: [{ ts: 7 }],
    });
    // Extension attributes are allowed on the envelope, as CloudEvents says.
    expect(
      decodePayload({ ...ce, traceparent: 'x', data: { pool: 'web', metric: 'rps', value: 3 } }).ok,
    ).toBe(true);
  });

  it('takes a batch of either, all or nothing, naming each bad field by index', () => {
    const good = { pool: 'web', metric: 'rps', value: 1, ts: 1 };
    expect(decodePayload([good, good])).toMatchObject({ ok: true, value: [good, good] });
    expect(
      decodePayload([good, { ...good, value: 'x' }, { specversion: '1.0', data: {} }, { ...good, extra: 1 }]),
    ).toEqual({
      ok: false,
      problems: [
        '[1].value: must be a number (got "x")',
        '[2].id: required',
        '[2].source: required',
        '[2].type: required',
        '[3].extra: unknown key',
      ],
    });
    expect(decodePayload([])).toEqual({
      ok: false,
      problems: ['(root): must have at least 1 entry (got 0)'],
    });
  });

  it('refuses what is not a sample, and names the field', () => {
    expect(decodePayload('hi')).toEqual({ ok: false, problems: ['(root): must be a map (got "hi")'] });
    expect(decodePayload({ pool: 'web', metric: 'rps', value: Number.NaN, ts: 1 })).toMatchObject({
      ok: false,
    });
    expect(decodePayload({ pool: 'web', metric: 'rps', value: 1, ts: -1 })).toEqual({
      ok: false,
      problems: ['ts: must be >= 0 (got -1)'],
    });
    expect(decodePayload({ pool: '', metric: 'rps', value: 1, ts: 1 })).toEqual({
      ok: false,
      problems: ['pool: must not be empty'],
    });
  });
});

describe('decodeRecords and the dead-letter message', () => {
  const rec = (offset: number, value: string | null, key = 'web'): InRecord => ({
    topic: 'warmpool.metrics',
    partition: 2,
    offset: String(offset),
    key,
    value: value === null ? null : Buffer.from(value),
  });

  it('sets poison aside with its reason and keeps every good record after it, in order', () => {
    const s = (v: number) => JSON.stringify({ pool: 'web', metric: 'rps', value: v, ts: 1 });
    const { samples, rejected } = decodeRecords(
      [
        rec(1, s(1)),
        rec(2, '{oops'),
        rec(3, JSON.stringify({ pool: 'web', metric: 'rps', value: 'x', ts: 1 })),
        rec(4, JSON.stringify({ pool: 'gone', metric: 'rps', value: 1, ts: 1 })),
        rec(5, null),
        rec(6, s(6)),
      ],
      new Set(['web']),
    );
    expect(samples.map((x) => x.value)).toEqual([1, 6]);
    expect(rejected.map((r) => [r.record.offset, r.reason])).toEqual([
      ['2', 'bad_json'],
      ['3', 'schema'],
      ['4', 'unknown_pool'],
      ['5', 'bad_json'],
    ]);
    expect(rejected[1]!.problems).toEqual(['value: must be a number (got "x")']);
    expect(rejected[2]!.problems).toEqual(['pool: unknown pool "gone"']);
  });

  it('a dead letter keeps key and value and carries the reason and source coordinates in headers', () => {
    const r: Rejected = { record: rec(42, '{oops'), reason: 'bad_json', problems: ['(root): not JSON'] };
    expect(deadLetter(r)).toEqual({
      key: 'web',
      value: Buffer.from('{oops'),
      headers: {
        [DLQ_HEADERS.reason]: 'bad_json',
        [DLQ_HEADERS.problems]: '(root): not JSON',
        [DLQ_HEADERS.topic]: 'warmpool.metrics',
        [DLQ_HEADERS.partition]: '2',
        [DLQ_HEADERS.offset]: '42',
      },
    });
  });
});

describe('Lambda Kafka events', () => {
  it('reads MSK and self-managed events alike: records by topic-partition, base64 decoded', () => {
    const msk = recordsOfEvent(fixture('msk-event.json'));
    const selfManaged = recordsOfEvent(fixture('self-managed-kafka-event.json'));
    expect(selfManaged).toEqual(msk);
    expect(msk.map((p) => [p.topic, p.partition, p.records.map((r) => r.offset)])).toEqual([
      ['warmpool.metrics', 0, ['101', '102', '103']],
      ['warmpool.metrics', 3, ['7', '8']],
    ]);
    expect(msk[0]!.records[0]!.key?.toString()).toBe('web');
    expect(JSON.parse(msk[0]!.records[0]!.value!.toString())).toMatchObject({ pool: 'web', value: 2500 });
  });

  it('refuses an event of another shape, naming the field', () => {
    expect(() => recordsOfEvent({ eventSource: 'aws:sqs', records: {} })).toThrow(InvalidEventError);
    expect(() => recordsOfEvent({ eventSource: 'aws:kafka', records: { 'a-0': [{ topic: 'a' }] } })).toThrow(
      'records.a-0[0].partition: required',
    );
  });
});

/** A controller over the embedded default's pools on a virtual clock; time starts at T. */
function controller() {
  const clock = new VirtualClock(T);
  const loaded = parseConfig(embeddedConfig(), 'embedded default');
  const events = new MemoryEventSink();
  const ctl = new Controller({
    pools: loaded.pools,
    providers: buildProviders(loaded.config, clock),
    store: new MemoryStore(clock),
    clock,
    events,
    log: silentLogger(),
    owner: 'ctl',
  });
  return { clock, ctl, events };
}

describe('the local consumer and the Lambda handler decide alike', () => {
  it('gives the same decisions and the same dead letters on the same records', async () => {
    const parts = recordsOfEvent(fixture('msk-event.json'));
    const sinks = { local: [] as Rejected[], lambda: [] as Rejected[] };

    // The local consumer: one ingestBatch per fetched batch, as kafkajs hands them over.
    const local = controller();
    await local.clock.run(async () => {
      for (const part of parts) {
        const records = part.records.map((r) => ({ ...r, value: r.value ? Buffer.from(r.value) : null }));
        await ingestBatch(
          local.ctl,
          { ...part, records },
          { send: async (r) => void sinks.local.push(...r) },
        );
      }
      await local.ctl.idle();
    });

    // The Lambda handler's path: the whole event at once.
    const lambda = controller();
    const summary = await lambda.clock.run(async () => {
      const s = await ingestPartitions(lambda.ctl, parts, {
        send: async (r) => void sinks.lambda.push(...r),
      });
      await lambda.ctl.idle();
      return s;
    });
    expect(summary).toEqual({ records: 5, samples: 3, rejected: 2, duplicates: 0 });

    const decisions = async (c: ReturnType<typeof controller>) =>
      Promise.all(
        ['web', 'batch'].map(
          async (pool) => (await c.ctl.context(pool).store.getPoolState<PoolPolicyState>(pool))?.data.desired,
        ),
      );
    // 2500 and 2600 requests/s (avg 2550, 100 per instance) → 26; 900 queued (50 per instance) → 18.
    expect(await decisions(local)).toEqual([26, 18]);
    expect(await decisions(lambda)).toEqual([26, 18]);
    const promoted = (c: ReturnType<typeof controller>) =>
      c.events.of('promoted').map((e) => [e.pool, e.data.requested]);
    expect(promoted(lambda)).toEqual(promoted(local));
    expect(sinks.lambda.map((r) => [r.record.offset, r.reason])).toEqual([
      ['103', 'bad_json'],
      ['8', 'unknown_pool'],
    ]);
    expect(sinks.local.map((r) => [r.record.offset, r.reason])).toEqual(
      sinks.lambda.map((r) => [r.record.offset, r.reason]),
    );
  });

  it('a batch delivered twice is ingested once', async () => {
    const parts = recordsOfEvent(fixture('msk-event.json'));
    const { clock, ctl } = controller();
    const none = { send: async () => undefined };
    const [first, again, interval] = await clock.run(async () => {
      const a = await ingestPartitions(ctl, parts, none);
      const b = await ingestPartitions(ctl, parts, none);
      const merged = await ctl.context('web').store.getInterval('web', 'requests_per_s', T);
      await ctl.idle();
      return [a, b, merged] as const;
    });
    expect(first.duplicates).toBe(0);
    expect(again.duplicates).toBe(2);
    expect(interval).toMatchObject({ count: 2, sum: 5100 });
  });
});

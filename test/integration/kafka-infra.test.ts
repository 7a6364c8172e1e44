/**
 * Proves the Kafka test wiring that warmpool's Kafka event sources and sinks stand on: infra/test.sh starts
 * our own Kafka (infra/kafka/up: librdkafka's mock cluster, three brokers on loopback, warmpool's topics) and
 * exports KAFKA_BROKERS. These tests fail, never skip, when it is unset, so a broken start shows up as a
 * failure. The broker outage goes through infra/kafka/ctl, so that test needs the mock of infra/kafka/up.
 *
 * Two quirks of the mock (librdkafka 2.0) shape the timings: a consumer group's first join completes only
 * after ~3 s (its initial rebalance delay), and a join into a group that a member has just left waits out
 * that member's session timeout less ~1 s, hence the short session timeout of the group consumers here.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type Admin, type Consumer, Kafka, logLevel, Partitioners, type Producer } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';

const HOW = 'run the tests with `npm test` (it starts Kafka), or `infra/kafka/up` then `. .infra/kafka/env`';
const CTL = fileURLToPath(new URL('../../infra/kafka/ctl', import.meta.url));
const METRICS = 'warmpool.metrics';
const TOPICS = { 'warmpool.metrics': 6, 'warmpool.metrics.dlq': 1, 'warmpool.events': 3 };
const POOLS = Array.from({ length: 20 }, (_, i) => `pool-${String.fromCharCode(97 + i)}`);

function brokers(): string[] {
  const value = process.env.KAFKA_BROKERS;
  if (!value) throw new Error(`KAFKA_BROKERS is not set: ${HOW}`);
  return value.split(',').map((b) => b.trim());
}

/** infra/kafka/ctl WORDS…: its answer, or an error that says what went wrong. */
function ctl(...words: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('bash', [CTL, ...words], { timeout: 15_000 }, (err, stdout, stderr) => {
      if (err)
        reject(
          new Error(
            `infra/kafka/ctl ${words.join(' ')}: ${(stdout + stderr).trim() || err.message} ` +
              '(the outage test needs the mock cluster of infra/kafka/up)',
          ),
        );
      else resolve(stdout.trim());
    });
  });
}

// Every client a test opens is closed after it, whatever happened.
const opened: { disconnect(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.allSettled(opened.splice(0).map((c) => c.disconnect()));
});

const runId = `${process.pid}-${Date.now()}`;
let clients = 0;

function kafka(): Kafka {
  return new Kafka({
    clientId: `warmpool-kafka-infra-${++clients}`,
    brokers: brokers(),
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3_000,
    // Enough for a broker that is down a couple of seconds: 100 ms, then doubling up to 1 s, ten times.
    retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1_000 },
  });
}

async function admin(): Promise<Admin> {
  const a = kafka().admin();
  opened.push(a);
  await a.connect();
  return a;
}

async function producer(): Promise<Producer> {
  const p = kafka().producer({ createPartitioner: Partitioners.DefaultPartitioner });
  opened.push(p);
  await p.connect();
  return p;
}

interface Seen {
  partition: number;
  offset: bigint;
  key: string;
  value: string;
}

/** A group consumer of warmpool.metrics, from the beginning where the group has no committed offset. */
async function groupConsumer(groupId: string, autoCommit = true) {
  const consumer: Consumer = kafka().consumer({
    groupId,
    sessionTimeout: 4_000,
    heartbeatInterval: 500,
    maxWaitTimeInMs: 200,
  });
  opened.push(consumer);
  const seen: Seen[] = [];
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  await consumer.connect();
  await consumer.subscribe({ topic: METRICS, fromBeginning: true });
  await consumer.run({
    autoCommit,
    eachMessage: async ({ partition, message }) => {
      seen.push({
        partition,
        offset: BigInt(message.offset),
        key: message.key?.toString() ?? '',
        value: message.value?.toString() ?? '',
      });
    },
  });
  return { consumer, seen, joined };
}

async function until(what: string, ms: number, done: () => boolean): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const ours = (run: string) => (s: Seen) => s.value.startsWith(`${run}:`);

describe('kafka test infrastructure', () => {
  it("KAFKA_BROKERS names three brokers that serve warmpool's topics", async () => {
    expect(brokers()).toHaveLength(3);
    const a = await admin();
    const cluster = await a.describeCluster();
    expect(cluster.brokers.map((b) => `${b.host}:${b.port}`).sort()).toEqual([...brokers()].sort());
    const { topics } = await a.fetchTopicMetadata({ topics: Object.keys(TOPICS) });
    expect(Object.fromEntries(topics.map((t) => [t.name, t.partitions.length]))).toEqual(TOPICS);
  });

  it('100 records keyed by pool come back through a consumer group, whose commit a new member resumes from', async () => {
    const run = `offsets-${runId}`;
    const groupId = `warmpool-kafka-infra-${run}`;
    const a = await admin();
    const p = await producer();
    await p.send({
      topic: METRICS,
      messages: Array.from({ length: 100 }, (_, i) => ({
        key: POOLS[i % POOLS.length]!,
        value: `${run}:${i}`,
      })),
    });
    // Earlier runs left records in the topic too: the group reads up to these ends, ours among them.
    const ends = new Map((await a.fetchTopicOffsets(METRICS)).map((o) => [o.partition, BigInt(o.high)]));

    const first = await groupConsumer(groupId, false);
    const next = new Map<number, bigint>();
    await until('the group read all 100 records and every partition to its end', 15_000, () => {
      for (const s of first.seen) next.set(s.partition, s.offset + 1n);
      return (
        first.seen.filter(ours(run)).length >= 100 &&
        [...ends].every(([partition, end]) => (next.get(partition) ?? 0n) >= end)
      );
    });
    const mine = first.seen.filter(ours(run));
    expect(mine.map((s) => s.value).sort()).toEqual(
      Array.from({ length: 100 }, (_, i) => `${run}:${i}`).sort(),
    );
    // Keyed by pool: all of one pool's records went to one partition.
    const partitionOf = new Map<string, Set<number>>();
    for (const s of mine) partitionOf.set(s.key, (partitionOf.get(s.key) ?? new Set()).add(s.partition));
    expect([...partitionOf.values()].every((set) => set.size === 1)).toBe(true);
    expect(partitionOf.size).toBe(POOLS.length);

    const commit = Object.fromEntries([...next].map(([partition, offset]) => [partition, String(offset)]));
    await first.consumer.commitOffsets(
      Object.entries(commit).map(([partition, offset]) => ({
        topic: METRICS,
        partition: Number(partition),
        offset,
      })),
    );
    await first.consumer.disconnect();

    // What the group committed (every partition up to at least the ends above; another producer may have
    // added more since) is what the coordinator hands out.
    const [committed] = await a.fetchOffsets({ groupId, topics: [METRICS] });
    expect(
      Object.fromEntries(committed!.partitions.map((c) => [c.partition, c.offset])),
      'committed offsets (admin fetchOffsets)',
    ).toEqual(commit);
    expect(Object.keys(commit).map(Number).sort()).toEqual(
      [...ends]
        .filter(([, end]) => end > 0n)
        .map(([partition]) => partition)
        .sort(),
    );

    // A new member of the group starts at the committed offsets: it reads only what is produced after.
    const second = await groupConsumer(groupId);
    await second.joined;
    await p.send({
      topic: METRICS,
      messages: POOLS.slice(0, 5).map((pool, i) => ({ key: pool, value: `${run}:after-${i}` })),
    });
    await until('the new member read the 5 records produced after the commit', 10_000, () => {
      return second.seen.filter(ours(run)).length >= 5;
    });
    expect(second.seen.filter((s) => s.offset < BigInt(commit[s.partition] ?? 0))).toEqual([]);
    expect(
      second.seen
        .filter(ours(run))
        .map((s) => s.value)
        .sort(),
    ).toEqual(POOLS.slice(0, 5).map((_, i) => `${run}:after-${i}`));
  }, 30_000);

  it('a broker goes down and comes back while producing: the producer retries and every record arrives', async () => {
    // The broker list of the mock that ctl drives must be the one the tests use.
    const driven = (await ctl('bootstraps')).replace(/^OK /, '');
    expect(
      driven.split(',').sort(),
      `infra/kafka/ctl drives the mock on ${driven}, not KAFKA_BROKERS=${brokers().join(',')}`,
    ).toEqual([...brokers()].sort());
    const run = `outage-${runId}`;
    const a = await admin();
    const { topics } = await a.fetchTopicMetadata({ topics: [METRICS] });
    const victim = topics[0]!.partitions.find((p) => p.partitionId === 0)!.leader;
    const p = await producer();

    let seq = 0;
    const sends: Promise<number>[] = [];
    const send = () => {
      const i = seq++;
      const promise = p
        .send({ topic: METRICS, messages: [{ key: POOLS[i % POOLS.length]!, value: `${run}:${i}` }] })
        .then(() => Date.now());
      sends.push(promise);
      return promise;
    };

    for (let i = 0; i < 20; i++) await send();
    let upAt = 0;
    try {
      expect(await ctl('down', String(victim))).toBe('OK');
      const during: Promise<number>[] = [];
      for (let i = 0; i < 40; i++) {
        during.push(send());
        await new Promise((r) => setTimeout(r, 30));
      }
      await new Promise((r) => setTimeout(r, 500));
      expect(await ctl('up', String(victim))).toBe('OK');
      upAt = Date.now();
      for (let i = 0; i < 20; i++) await send();
      const doneAt = await Promise.all(during);
      // The outage was real: records for the downed broker's partitions waited for it to come back.
      expect(doneAt.filter((t) => t >= upAt).length).toBeGreaterThan(0);
    } finally {
      await ctl('up', String(victim)).catch(() => undefined);
    }
    await Promise.all(sends);

    const reader = await groupConsumer(`warmpool-kafka-infra-${run}`);
    await until('all 80 records produced across the outage were read back', 15_000, () => {
      return new Set(reader.seen.filter(ours(run)).map((s) => s.value)).size >= 80;
    });
    expect(new Set(reader.seen.filter(ours(run)).map((s) => s.value))).toEqual(
      new Set(Array.from({ length: 80 }, (_, i) => `${run}:${i}`)),
    );
  }, 30_000);
});

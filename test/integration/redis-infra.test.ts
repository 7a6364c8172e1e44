/**
 * Proves the Redis test wiring that the Redis StateStore's tests stand on: infra/test.sh starts our own Redis
 * (infra/redis/up) and exports REDIS_URL, a standalone server, and REDIS_CLUSTER_NODES, a three-master Redis
 * Cluster. These tests fail, never skip, when either is unset, so a broken start shows up as a failure.
 *
 * Talks RESP over node:net for the checks of the servers themselves; the round trip through a cluster client
 * uses ioredis when it is installed and routes by hand (CLUSTER KEYSLOT / CLUSTER SLOTS) when it is not.
 */
import net from 'node:net';
import { describe, expect, it } from 'vitest';

const HOW = 'run the tests with `npm test` (it starts Redis), or `infra/redis/up` then `. .infra/redis/env`';

interface Addr {
  host: string;
  port: number;
}

function required(name: 'REDIS_URL' | 'REDIS_CLUSTER_NODES'): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: ${HOW}`);
  return value;
}

function standalone(): Addr {
  const url = new URL(required('REDIS_URL'));
  if (url.protocol !== 'redis:' || !url.port)
    throw new Error(`REDIS_URL must be redis://HOST:PORT, not ${url}`);
  return { host: url.hostname, port: Number(url.port) };
}

function clusterNodes(): Addr[] {
  return required('REDIS_CLUSTER_NODES')
    .split(',')
    .map((node) => {
      const at = node.lastIndexOf(':');
      const port = Number(node.slice(at + 1));
      if (at <= 0 || !Number.isInteger(port)) throw new Error(`REDIS_CLUSTER_NODES: bad node '${node}'`);
      return { host: node.slice(0, at), port };
    });
}

type Reply = string | number | null | Reply[];

/** Parses one RESP2 reply at `at`; undefined while the buffer does not hold all of it yet. */
function parse(buf: Buffer, at: number): { value: Reply; next: number } | undefined {
  const eol = buf.indexOf('\r\n', at);
  if (eol < 0) return undefined;
  const line = buf.toString('utf8', at + 1, eol);
  switch (String.fromCharCode(buf[at]!)) {
    case '+':
      return { value: line, next: eol + 2 };
    case '-':
      throw new Error(`redis error: ${line}`);
    case ':':
      return { value: Number(line), next: eol + 2 };
    case '$': {
      const len = Number(line);
      if (len < 0) return { value: null, next: eol + 2 };
      if (buf.length < eol + 2 + len + 2) return undefined;
      return { value: buf.toString('utf8', eol + 2, eol + 2 + len), next: eol + 2 + len + 2 };
    }
    case '*': {
      const count = Number(line);
      if (count < 0) return { value: null, next: eol + 2 };
      const items: Reply[] = [];
      let next = eol + 2;
      for (let i = 0; i < count; i++) {
        const item = parse(buf, next);
        if (!item) return undefined;
        items.push(item.value);
        next = item.next;
      }
      return { value: items, next };
    }
    default:
      throw new Error(`not a RESP reply: ${JSON.stringify(buf.toString('utf8', at, eol))}`);
  }
}

/** Sends one command on a fresh connection and resolves with its reply. */
function send({ host, port }: Addr, ...args: string[]): Promise<Reply> {
  const request = `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    let buf = Buffer.alloc(0);
    const fail = (err: Error) => {
      socket.destroy();
      reject(new Error(`${host}:${port} ${args[0]}: ${err.message} (${HOW})`));
    };
    socket.setTimeout(5_000, () => fail(new Error('no reply within 5 s')));
    socket.on('error', fail);
    socket.on('connect', () => socket.write(request));
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      try {
        const reply = parse(buf, 0);
        if (!reply) return;
        socket.end();
        resolve(reply.value);
      } catch (err) {
        fail(err as Error);
      }
    });
  });
}

function infoFields(text: Reply): Record<string, string> {
  expect(typeof text).toBe('string');
  return Object.fromEntries(
    (text as string)
      .split('\r\n')
      .filter((l) => l.includes(':'))
      .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1)]),
  );
}

const KEYS = Array.from({ length: 30 }, (_, i) => `warmpool:redis-infra:${i}`);

// ioredis when installed (it is a dependency of the Redis store), else the round trip routes by hand.
const ioredis = await import('ioredis').catch(() => null);

describe('redis test infrastructure', () => {
  it('REDIS_URL names a standalone redis that answers PING', async () => {
    const addr = standalone();
    expect(await send(addr, 'PING')).toBe('PONG');
    expect(infoFields(await send(addr, 'INFO', 'server')).redis_mode).toBe('standalone');
  });

  it('REDIS_CLUSTER_NODES names a three-master redis cluster whose state is ok', async () => {
    const nodes = clusterNodes();
    expect(nodes).toHaveLength(3);
    for (const node of nodes) {
      const info = infoFields(await send(node, 'CLUSTER', 'INFO'));
      expect(info, `CLUSTER INFO of ${node.host}:${node.port}`).toMatchObject({
        cluster_state: 'ok',
        cluster_known_nodes: '3',
        cluster_size: '3',
        cluster_slots_assigned: '16384',
      });
    }
  });

  it(`a cluster client writes and reads keys on all three masters (${ioredis ? 'ioredis' : 'node:net'})`, async () => {
    const nodes = clusterNodes();
    const value = `pid-${process.pid}-${Date.now()}`;
    // Which master owns each key, from the cluster's own slot map.
    const slots = (await send(nodes[0]!, 'CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
    const owner = async (key: string): Promise<Addr> => {
      const slot = (await send(nodes[0]!, 'CLUSTER', 'KEYSLOT', key)) as number;
      const range = slots.find(([from, to]) => from <= slot && slot <= to);
      if (!range) throw new Error(`no master owns slot ${slot}`);
      return { host: range[2][0], port: range[2][1] };
    };
    const owners = await Promise.all(KEYS.map(owner));
    expect(new Set(owners.map((o) => `${o.host}:${o.port}`)).size).toBe(3);

    // Through the client, then checked on the owning master itself, then removed through the client.
    const readOnOwners = async () => Promise.all(KEYS.map((key, i) => send(owners[i]!, 'GET', key)));
    if (ioredis) {
      const cluster = new ioredis.Cluster(nodes, {
        clusterRetryStrategy: () => null,
        redisOptions: { maxRetriesPerRequest: 2, connectTimeout: 5_000 },
      });
      const errors: Error[] = [];
      cluster.on('error', (err: Error) => errors.push(err));
      try {
        for (const key of KEYS) await cluster.set(key, value, 'EX', 60);
        expect(await Promise.all(KEYS.map((key) => cluster.get(key)))).toEqual(KEYS.map(() => value));
        expect(await readOnOwners()).toEqual(KEYS.map(() => value));
        expect(cluster.nodes('master')).toHaveLength(3);
        for (const key of KEYS) await cluster.del(key);
      } finally {
        await cluster.quit();
      }
      expect(errors).toEqual([]);
    } else {
      for (const [i, key] of KEYS.entries())
        expect(await send(owners[i]!, 'SET', key, value, 'EX', '60')).toBe('OK');
      expect(await readOnOwners()).toEqual(KEYS.map(() => value));
      for (const [i, key] of KEYS.entries()) await send(owners[i]!, 'DEL', key);
    }
    expect(await readOnOwners()).toEqual(KEYS.map(() => null));
  });
});

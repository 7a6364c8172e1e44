import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ScaledClock, SystemClock, VirtualClock } from '../../lib/clock/index.js';

/** Lets queued continuations run, the way a real event loop turn would. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('VirtualClock', () => {
  it('starts at its origin and stands still until advanced', async () => {
    const clock = new VirtualClock(500);
    expect(clock.now()).toBe(500);
    await turn();
    expect(clock.now()).toBe(500);
    await clock.advance(250);
    expect(clock.now()).toBe(750);
    expect(new VirtualClock().now()).toBe(0);
  });

  it('sleep resolves only once the clock has been advanced far enough', async () => {
    const clock = new VirtualClock();
    let woke = false;
    const sleeping = clock.sleep(100).then(() => {
      woke = true;
    });
    await turn();
    expect(woke).toBe(false);
    await clock.advance(99);
    expect(woke).toBe(false);
    expect(clock.now()).toBe(99);
    await clock.advance(1);
    expect(woke).toBe(true);
    expect(clock.now()).toBe(100);
    await sleeping;
  });

  it('a sleep of zero or less is due at once, but still only when the clock runs', async () => {
    const clock = new VirtualClock(10);
    const order: string[] = [];
    const a = clock.sleep(0).then(() => order.push('zero'));
    const b = clock.sleep(-5).then(() => order.push('negative'));
    await turn();
    expect(order).toEqual([]);
    await clock.advance(0);
    expect(order).toEqual(['zero', 'negative']);
    expect(clock.now()).toBe(10);
    await Promise.all([a, b]);
  });

  it('timers fire in time order, and in the order they were set when due at the same instant', async () => {
    const clock = new VirtualClock();
    const fired: string[] = [];
    const at = (ms: number, name: string) => clock.sleep(ms).then(() => fired.push(`${name}@${clock.now()}`));
    const all = Promise.all([
      at(30, 'c'),
      at(10, 'a1'),
      at(20, 'b'),
      at(10, 'a2'),
      at(30, 'd'),
      at(10, 'a3'),
      at(0, 'z'),
    ]);
    await clock.advance(30);
    await all;
    expect(fired).toEqual(['z@0', 'a1@10', 'a2@10', 'a3@10', 'b@20', 'c@30', 'd@30']);
  });

  it('property: any set of timers fires sorted by due time, ties in the order set', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 60 }), async (delays) => {
        const clock = new VirtualClock();
        const fired: number[] = [];
        const sleeps = delays.map((ms, i) => clock.sleep(ms).then(() => fired.push(i)));
        await clock.advance(20);
        await Promise.all(sleeps);
        const expected = delays.map((ms, i) => ({ ms, i })).sort((x, y) => x.ms - y.ms || x.i - y.i);
        expect(fired).toEqual(expected.map((x) => x.i));
        expect(clock.pending).toBe(0);
      }),
      { numRuns: 100 },
    );
  });

  it('advance moves time to each timer as it fires, and fires timers set by continuations when due', async () => {
    const clock = new VirtualClock();
    const seen: number[] = [];
    const chain = (async () => {
      await clock.sleep(10);
      seen.push(clock.now());
      await clock.sleep(15);
      seen.push(clock.now());
      await clock.sleep(100);
      seen.push(clock.now());
    })();
    await clock.advance(50);
    expect(seen).toEqual([10, 25]);
    expect(clock.now()).toBe(50);
    expect(clock.pending).toBe(1);
    await clock.advance(75);
    expect(seen).toEqual([10, 25, 125]);
    await chain;
  });

  it('every repeats at its interval until cancelled', async () => {
    const clock = new VirtualClock();
    const ticks: number[] = [];
    const cancel = clock.every(100, () => ticks.push(clock.now()));
    await clock.advance(99);
    expect(ticks).toEqual([]);
    await clock.advance(251);
    expect(ticks).toEqual([100, 200, 300]);
    cancel();
    expect(clock.pending).toBe(0);
    await clock.advance(1_000);
    expect(ticks).toEqual([100, 200, 300]);
  });

  it('every can be cancelled from inside its own tick', async () => {
    const clock = new VirtualClock();
    let n = 0;
    const cancel = clock.every(10, () => {
      n += 1;
      if (n === 2) cancel();
    });
    await clock.advance(100);
    expect(n).toBe(2);
    expect(clock.pending).toBe(0);
  });

  it('every refuses an interval that is not positive', () => {
    const clock = new VirtualClock();
    expect(() => clock.every(0, () => undefined)).toThrow(RangeError);
    expect(() => clock.every(-1, () => undefined)).toThrow(RangeError);
    expect(() => clock.every(Number.NaN, () => undefined)).toThrow(RangeError);
    expect(clock.pending).toBe(0);
  });

  it('an abort signal rejects the sleep with its reason and cancels the timer', async () => {
    const clock = new VirtualClock();
    const ac = new AbortController();
    const reason = new Error('shutting down');
    const sleeping = clock.sleep(1_000, ac.signal);
    const outcome = sleeping.then(
      () => 'resolved',
      (err: unknown) => err,
    );
    await clock.advance(10);
    expect(clock.pending).toBe(1);
    ac.abort(reason);
    expect(await outcome).toBe(reason);
    expect(clock.pending).toBe(0);
    await clock.advance(5_000);
    expect(clock.now()).toBe(5_010);
  });

  it('an already aborted signal rejects at once and schedules nothing', async () => {
    const clock = new VirtualClock();
    const reason = new Error('too late');
    await expect(clock.sleep(10, AbortSignal.abort(reason))).rejects.toBe(reason);
    expect(clock.pending).toBe(0);
  });

  it('aborting after the sleep resolved changes nothing', async () => {
    const clock = new VirtualClock();
    const ac = new AbortController();
    const sleeping = clock.sleep(5, ac.signal);
    await clock.advance(5);
    await expect(sleeping).resolves.toBeUndefined();
    ac.abort(new Error('late'));
    expect(clock.pending).toBe(0);
  });

  it('pending counts timers still due, not cancelled or fired ones', async () => {
    const clock = new VirtualClock();
    expect(clock.pending).toBe(0);
    const ac = new AbortController();
    const a = clock.sleep(10);
    const b = clock.sleep(20, ac.signal).catch(() => 'aborted');
    const cancel = clock.every(15, () => undefined);
    expect(clock.pending).toBe(3);
    ac.abort();
    expect(clock.pending).toBe(2);
    await clock.advance(10);
    await a;
    expect(clock.pending).toBe(1);
    cancel();
    expect(clock.pending).toBe(0);
    expect(await b).toBe('aborted');
  });

  describe('run', () => {
    it('drives nested sleeps to completion and returns the value', async () => {
      const clock = new VirtualClock(1_000);
      const child = async (ms: number, v: number) => {
        await clock.sleep(ms);
        return v * 2;
      };
      const value = await clock.run(async () => {
        const [a, b] = await Promise.all([child(300, 1), child(100, 2)]);
        await clock.sleep(50);
        const c = await child(3_600_000, 3);
        return a + b + c;
      });
      expect(value).toBe(12);
      expect(clock.now()).toBe(1_000 + 300 + 50 + 3_600_000);
    });

    it('waits a few event-loop turns for continuations that hop through macrotasks', async () => {
      const clock = new VirtualClock();
      const hop = () => new Promise<void>((resolve) => setImmediate(resolve));
      const value = await clock.run(async () => {
        await hop();
        await hop();
        await hop();
        await clock.sleep(40);
        await hop();
        return clock.now();
      });
      expect(value).toBe(40);
    });

    it('runs every ticks interleaved with the task', async () => {
      const clock = new VirtualClock();
      const ticks: number[] = [];
      const cancel = clock.every(40, () => ticks.push(clock.now()));
      await clock.run(() => clock.sleep(130));
      cancel();
      expect(ticks).toEqual([40, 80, 120]);
      expect(clock.now()).toBe(130);
    });

    it('throws the error the task threw, at the virtual time it threw', async () => {
      const clock = new VirtualClock();
      const boom = new Error('boom');
      await expect(
        clock.run(async () => {
          await clock.sleep(70);
          throw boom;
        }),
      ).rejects.toBe(boom);
      expect(clock.now()).toBe(70);
    });

    it('returns a task that needs no timer at all', async () => {
      const clock = new VirtualClock();
      await expect(clock.run(async () => 'now')).resolves.toBe('now');
      expect(clock.now()).toBe(0);
    });

    it('throws when the task waits on something the clock does not drive', async () => {
      const clock = new VirtualClock();
      await expect(clock.run(() => new Promise<never>(() => undefined))).rejects.toThrow(
        'VirtualClock.run: the task is pending but no timer is due',
      );
      await expect(
        clock.run(async () => {
          await clock.sleep(10);
          await new Promise<never>(() => undefined);
        }),
      ).rejects.toThrow('VirtualClock.run: the task is pending but no timer is due');
      expect(clock.now()).toBe(10);
    });

    it('throws when the task is still pending after limitMs of virtual time', async () => {
      const clock = new VirtualClock();
      await expect(clock.run(() => clock.sleep(1_000), 500)).rejects.toThrow(
        'VirtualClock.run: still pending after 500 ms',
      );
      expect(clock.now()).toBeLessThanOrEqual(500);
      expect(clock.pending).toBe(1);
      const ticking = new VirtualClock();
      const cancel = ticking.every(100, () => undefined);
      await expect(ticking.run(() => new Promise<never>(() => undefined), 350)).rejects.toThrow(
        'VirtualClock.run: still pending after 350 ms',
      );
      expect(ticking.now()).toBe(300);
      cancel();
    });

    it('a task that finishes exactly at limitMs is not cut short', async () => {
      const clock = new VirtualClock();
      const task = async () => {
        await clock.sleep(500);
        return 'done';
      };
      await expect(clock.run(task, 500)).resolves.toBe('done');
      expect(clock.now()).toBe(500);
    });
  });
});

describe('ScaledClock', () => {
  it('runs faster than the wall clock by its speed', async () => {
    const clock = new ScaledClock(1_000);
    const wallStart = Date.now();
    const start = clock.now();
    await clock.sleep(20_000);
    const wall = Date.now() - wallStart;
    const scaled = clock.now() - start;
    expect(wall).toBeLessThan(1_000);
    expect(scaled).toBeGreaterThanOrEqual(20_000 - 1_000);
    expect(clock.speed).toBe(1_000);
  });

  it('starts at the real now', () => {
    const before = Date.now();
    const clock = new ScaledClock(100);
    expect(clock.now()).toBeGreaterThanOrEqual(before);
    expect(clock.now()).toBeLessThan(before + 60_000);
  });

  it('rejects a speed that is not positive', () => {
    for (const speed of [0, -1, Number.NaN]) {
      expect(() => new ScaledClock(speed)).toThrow(RangeError);
    }
    expect(() => new ScaledClock(0)).toThrow('speed must be > 0 (got 0)');
  });

  it('a sleep rejects with the abort reason', async () => {
    const clock = new ScaledClock(10);
    const ac = new AbortController();
    const reason = new Error('stop');
    const sleeping = clock.sleep(60_000, ac.signal);
    ac.abort(reason);
    await expect(sleeping).rejects.toBe(reason);
  });
});

describe('SystemClock', () => {
  it('reads the wall clock', () => {
    const before = Date.now();
    const now = new SystemClock().now();
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(Date.now());
  });

  it('an already aborted sleep rejects with the reason', async () => {
    const reason = new Error('gone');
    await expect(new SystemClock().sleep(60_000, AbortSignal.abort(reason))).rejects.toBe(reason);
  });
});

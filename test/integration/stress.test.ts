// Many clients spread over three worker threads hammer overlapping keys in different slots.
// Invariants: no client ever sees half of an MSET, counters are exact, a token moved around by
// RENAMENX never doubles or vanishes; afterwards the structure checker finds nothing wrong.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import Redis from 'ioredis';
import { startShardis, type Server } from '../helpers/server';

let srv: Server;
const clients: Redis[] = [];
const N = 12;

beforeAll(async () => {
  srv = await startShardis({ threads: 3 });
  for (let i = 0; i < N; i++) clients.push(new Redis({ port: srv.port, lazyConnect: false, maxRetriesPerRequest: 0 }));
  await Promise.all(clients.map((c) => c.ping()));
});

afterAll(async () => {
  for (const c of clients) c.disconnect();
  await srv?.stop();
});

// Keys chosen to fall in many different slots (no hashtags).
const mkeys = Array.from({ length: 10 }, (_, i) => `stress:m:${i}`);

describe('concurrent invariants across threads', () => {
  it('is served by every worker thread', async () => {
    const list = await clients[0].client('LIST');
    expect(String(list).split('\n').filter((l) => l.startsWith('id=')).length).toBeGreaterThanOrEqual(N);
  });

  it('never shows a torn MSET to MGET readers', async () => {
    await clients[0].mset(...mkeys.flatMap((k) => [k, 'init']));
    let torn = 0;
    let reads = 0;
    const writers = clients.slice(0, 6).map(async (c, w) => {
      for (let i = 0; i < 300; i++) {
        const v = `w${w}-${i}`;
        await c.mset(...mkeys.flatMap((k) => [k, v]));
      }
    });
    const readers = clients.slice(6).map(async (c) => {
      for (let i = 0; i < 300; i++) {
        const vals = await c.mget(...mkeys);
        reads++;
        if (new Set(vals).size !== 1) torn++;
      }
    });
    await Promise.all([...writers, ...readers]);
    expect(reads).toBe(6 * 300);
    expect(torn).toBe(0);
  });

  it('keeps INCR and INCRBY exact under contention', async () => {
    await clients[0].del('stress:counter', 'stress:counter2');
    await Promise.all(
      clients.map(async (c) => {
        const p = c.pipeline();
        for (let i = 0; i < 500; i++) {
          p.incr('stress:counter');
          p.incrby('stress:counter2', 3);
        }
        await p.exec();
      }),
    );
    expect(await clients[0].get('stress:counter')).toBe(String(N * 500));
    expect(await clients[0].get('stress:counter2')).toBe(String(N * 500 * 3));
  });

  it('moves one token with RENAMENX without losing or duplicating it', async () => {
    const tkeys = Array.from({ length: 5 }, (_, i) => `stress:token:${i}`);
    await clients[0].del(...tkeys);
    await clients[0].set(tkeys[0], 'token');
    let bad = 0;
    const movers = clients.slice(0, 8).map(async (c, w) => {
      for (let i = 0; i < 200; i++) {
        const from = tkeys[(w + i) % 5];
        const to = tkeys[(w + i + 1 + (i % 3)) % 5];
        if (from === to) continue;
        try {
          await c.renamenx(from, to);
        } catch (e) {
          if (!String(e).includes('no such key')) throw e;
        }
      }
    });
    const checkers = clients.slice(8).map(async (c) => {
      for (let i = 0; i < 200; i++) {
        if ((await c.exists(...tkeys)) !== 1) bad++;
      }
    });
    await Promise.all([...movers, ...checkers]);
    expect(bad).toBe(0);
    const vals = await clients[0].mget(...tkeys);
    expect(vals.filter((v) => v === 'token').length).toBe(1);
    expect(vals.filter((v) => v !== null).length).toBe(1);
  });

  it('leaves consistent shared structures', async () => {
    await expect(srv.check()).resolves.toBeUndefined();
  });
});

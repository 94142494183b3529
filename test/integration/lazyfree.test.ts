// UNLINK removes keys at once and hands big values to the main thread to free, off the
// command path: the keys are gone, the memory comes back, the structures stay consistent.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import Redis from 'ioredis';
import { startShardis, type Server } from '../helpers/server';

let srv: Server;
let r: Redis;
beforeAll(async () => {
  srv = await startShardis({ threads: 2 });
  r = new Redis({ port: srv.port, maxRetriesPerRequest: 0 });
});
afterAll(async () => {
  r?.disconnect();
  await srv?.stop();
});

const infoField = async (section: string, field: string): Promise<number> =>
  Number(new RegExp(`${field}:(\\d+)`).exec(await r.info(section))?.[1] ?? NaN);

describe('UNLINK', () => {
  it('unlinks every type, frees collections in the background and returns the memory', async () => {
    const before = await infoField('memory', 'used_memory');
    for (let i = 0; i < 20; i++) {
      await r.sadd('lf:set', ...Array.from({ length: 5000 }, (_, j) => `m${i * 5000 + j}`));
      await r.hset('lf:hash', ...Array.from({ length: 1000 }, (_, j) => [`f${i * 1000 + j}`, 'v']).flat());
      await r.zadd('lf:zset', ...Array.from({ length: 1000 }, (_, j) => [i * 1000 + j, `z${i * 1000 + j}`]).flat());
      await r.rpush('lf:list', ...Array.from({ length: 1000 }, (_, j) => `e${j}`));
    }
    await r.set('lf:str', 'x'.repeat(100000));
    const loaded = await infoField('memory', 'used_memory');
    expect(loaded - before).toBeGreaterThan(5_000_000);
    const freedBefore = await infoField('memory', 'lazyfreed_objects');
    expect(await r.unlink('lf:set', 'lf:hash', 'lf:zset', 'lf:list', 'lf:str', 'lf:missing')).toBe(5);
    expect(await r.exists('lf:set', 'lf:hash', 'lf:zset', 'lf:list', 'lf:str')).toBe(0);
    // The main thread frees the four collections (the string went at once).
    for (let i = 0; i < 100 && (await infoField('memory', 'lazyfreed_objects')) < freedBefore + 4; i++) await new Promise((res) => setTimeout(res, 20));
    expect(await infoField('memory', 'lazyfreed_objects')).toBe(freedBefore + 4);
    expect(await infoField('memory', 'lazyfree_pending_objects')).toBe(0);
    // Per-thread counters are published on the cron tick.
    await new Promise((res) => setTimeout(res, 300));
    const after = await infoField('memory', 'used_memory');
    expect(after - before).toBeLessThan((loaded - before) / 10);
    // The fixed shared tables are the startup memory, so an empty server's used_memory is not 0
    // and a dataset that came and went leaves it under twice the start (Redis's TCL lazyfree check).
    const startup = await infoField('memory', 'used_memory_startup');
    expect(startup).toBeGreaterThan(100_000);
    expect(before).toBeGreaterThanOrEqual(startup);
    expect(after).toBeLessThan(before * 2);
    await expect(srv.check()).resolves.toBeUndefined();
  });
});

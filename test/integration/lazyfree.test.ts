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
  it('frees small values at once, as Redis under its free-effort threshold; CONFIG RESETSTAT zeroes lazyfreed_objects', async () => {
    await r.unlink('lf:big');
    await r.rpush('lf:big', ...Array.from({ length: 20000 }, (_, j) => `e${j}`.padEnd(100, '.')));
    for (let i = 0; i < 100 && (await infoField('memory', 'lazyfree_pending_objects')) > 0; i++) await new Promise((res) => setTimeout(res, 20));
    await r.config('RESETSTAT');
    expect(await infoField('memory', 'lazyfreed_objects')).toBe(0);
    // Listpack-encoded hash and zset, an intset, a one-node list, a stream with one entry and a
    // destroyed group: one allocation or a few, freed by the command itself.
    await r.hset('lf:h', 'a', '1');
    await r.zadd('lf:z', 1, 'a');
    await r.sadd('lf:s', 1, 2, 3);
    await r.rpush('lf:l', 'a');
    await r.xadd('lf:x', '*', 'a', 'b');
    await r.xgroup('CREATE', 'lf:x', 'g', '$');
    await r.xgroup('DESTROY', 'lf:x', 'g');
    expect(await r.unlink('lf:h', 'lf:z', 'lf:s', 'lf:l', 'lf:x')).toBe(5);
    // A quicklist of some 250 nodes goes to the main thread.
    expect(await r.unlink('lf:big')).toBe(1);
    for (let i = 0; i < 100 && (await infoField('memory', 'lazyfreed_objects')) < 1; i++) await new Promise((res) => setTimeout(res, 20));
    expect(await infoField('memory', 'lazyfree_pending_objects')).toBe(0);
    expect(await infoField('memory', 'lazyfreed_objects')).toBe(1);
    await expect(srv.check()).resolves.toBeUndefined();
  });

  it('unlinks every type, frees collections in the background and returns the memory', async () => {
    const before = await infoField('memory', 'used_memory');
    for (let i = 0; i < 20; i++) {
      await r.sadd('lf:set', ...Array.from({ length: 5000 }, (_, j) => `m${i * 5000 + j}`));
      await r.hset('lf:hash', ...Array.from({ length: 1000 }, (_, j) => [`f${i * 1000 + j}`, 'v']).flat());
      await r.zadd('lf:zset', ...Array.from({ length: 1000 }, (_, j) => [i * 1000 + j, `z${i * 1000 + j}`]).flat());
      await r.rpush('lf:list', ...Array.from({ length: 1000 }, (_, j) => `e${j}`.padEnd(100, '.')));
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

describe('FLUSHALL / FLUSHDB ASYNC', () => {
  it('empty the keyspace at once and free it on the main thread; new writes are kept', async () => {
    const watcher = new Redis({ port: srv.port, maxRetriesPerRequest: 0 });
    try {
      const load = async (db: number, n: number): Promise<void> => {
        await r.select(db);
        const p = r.pipeline();
        for (let i = 0; i < n; i++) {
          p.set(`s${i}`, 'v'.repeat(i % 50), 'EX', 1000);
          if (i % 10 === 0) p.sadd(`set${i % 100}`, `m${i}`);
          if (i % 10 === 1) p.rpush(`list${i % 100}`, `e${i}`);
          if (i % 10 === 2) p.zadd(`z${i % 100}`, i, `m${i}`);
          if (i % 10 === 3) p.hset(`h${i % 100}`, `f${i}`, 'v');
        }
        await p.exec();
      };
      await load(0, 20000);
      await load(5, 5000);
      await r.select(0);
      const keys0 = Number(await r.dbsize());
      const freedBefore = await infoField('memory', 'lazyfreed_objects');
      await watcher.watch('s1');
      expect(await r.flushall('ASYNC')).toBe('OK');
      // Gone at once, in every db; a write right after survives the background free.
      expect(await r.dbsize()).toBe(0);
      await r.set('after', '1');
      await r.select(5);
      expect(await r.dbsize()).toBe(0);
      await r.select(0);
      expect(await watcher.multi().get('s1').exec()).toBeNull();
      for (let i = 0; i < 100 && (await infoField('memory', 'lazyfree_pending_objects')) > 0; i++) await new Promise((res) => setTimeout(res, 20));
      expect(await infoField('memory', 'lazyfree_pending_objects')).toBe(0);
      expect(await infoField('memory', 'lazyfreed_objects')).toBeGreaterThanOrEqual(freedBefore + keys0);
      expect(await r.get('after')).toBe('1');
      await new Promise((res) => setTimeout(res, 300));
      expect(await infoField('memory', 'used_memory')).toBeLessThan(2 * (await infoField('memory', 'used_memory_startup')));
      // FLUSHDB with lazyfree-lazy-user-flush yes goes the same way; a syntax error flushes nothing.
      await load(3, 2000);
      await expect(r.call('FLUSHDB', 'BOGUS')).rejects.toThrow('ERR syntax error');
      expect(await r.dbsize()).toBeGreaterThan(0);
      await r.config('SET', 'lazyfree-lazy-user-flush', 'yes');
      expect(await r.flushdb()).toBe('OK');
      expect(await r.dbsize()).toBe(0);
      await r.config('SET', 'lazyfree-lazy-user-flush', 'no');
      await r.select(0);
      expect(await r.get('after')).toBe('1');
      for (let i = 0; i < 100 && (await infoField('memory', 'lazyfree_pending_objects')) > 0; i++) await new Promise((res) => setTimeout(res, 20));
      await expect(srv.check()).resolves.toBeUndefined();
    } finally {
      watcher.disconnect();
      await r.select(0);
    }
  });
});

// A listpack entry of 128 bytes or more has a multi-byte backlen (lowest 7 bits in its last byte):
// RDB loading must read it as Redis's lpDecodeBacklen does. DUMP payloads from redis-server with
// such entries (hash, set, zset listpacks and quicklist nodes) RESTORE on shardis with the same
// contents, and a shardis RDB holding them loads back (DEBUG RELOAD).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { againstRedis, startRedis, startShardis, type Server } from '../helpers/server';
import { RawClient, show } from '../helpers/resp';

let shardis: Server;
let redis: Server;

beforeAll(async () => {
  [shardis, redis] = await Promise.all([startShardis({ threads: 1 }), startRedis()]);
});

afterAll(async () => {
  await Promise.all([shardis?.stop(), redis?.stop()]);
});

describe.skipIf(againstRedis())('listpack backlens past 127 bytes', () => {
  it('DUMP from redis-server RESTOREs on shardis; DEBUG RELOAD keeps them', async () => {
    const long = (n: number, ch: string): string => ch.repeat(n);
    const setup: (string | number)[][] = [
      ['RPUSH', 'l', 'a', long(130, 'x'), 'b', long(300, 'y'), long(20000, 'z')],
      ['HSET', 'h', 'f', long(200, 'v'), long(129, 'k'), 'w'],
      ['ZADD', 'z', 1, long(140, 'm'), 2, 'n'],
    ];
    const r = await RawClient.connect(redis.port);
    const s = await RawClient.connect(shardis.port);
    try {
      // Listpack-encoded hashes and sorted sets with long entries, on both sides.
      for (const c of [r, s]) {
        await c.call('CONFIG', 'SET', 'hash-max-listpack-value', '1024');
        await c.call('CONFIG', 'SET', 'zset-max-listpack-value', '1024');
      }
      for (const c of setup) await r.call(...c);
      expect(show(await r.call('OBJECT', 'ENCODING', 'h'))).toContain('listpack');
      for (const key of ['l', 'h', 'z']) {
        const payload = await r.call('DUMP', key);
        expect(payload.t).toBe('bulk');
        const restored = await s.call('RESTORE', key, '0', (payload as { v: Buffer }).v);
        expect(show(restored), key).toBe('OK');
      }
      const read = async (c: RawClient): Promise<string[]> => [
        show(await c.call('LRANGE', 'l', '0', '-1')), show(await c.call('HGETALL', 'h')), show(await c.call('ZRANGE', 'z', '0', '-1', 'WITHSCORES')),
      ];
      const want = await read(r);
      expect(await read(s)).toEqual(want);
      expect(show(await s.call('DEBUG', 'RELOAD'))).toBe('OK');
      expect(await read(s)).toEqual(want);
    } finally {
      await Promise.all([r.close(), s.close()]);
    }
  });
});

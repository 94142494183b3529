// ioredis 6 (RESP3 by default) and node-redis (RESP3 and RESP2) against a real shardis: connect,
// the handshake each client sends (HELLO 3 / CLIENT SETINFO / SELECT), and basic commands.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Redis6 from 'ioredis6';
import { createClient } from 'redis';
import { startShardis, type Server } from '../helpers/server';

let srv: Server;
beforeAll(async () => {
  srv = await startShardis({ threads: 2 });
});
afterAll(async () => {
  await srv?.stop();
});

describe('ioredis 6', () => {
  it('speaks RESP3 by default and runs basic commands', async () => {
    const r = new Redis6({ port: srv.port, lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await r.connect();
      // ioredis 6 flattens maps by default ("legacy" replyMapping): HELLO's proto field says 3.
      const hello = (await r.call('HELLO')) as unknown[];
      expect(hello[hello.indexOf('proto') + 1]).toBe(3);
      expect(await r.set('io6:k', 'v')).toBe('OK');
      expect(await r.get('io6:k')).toBe('v');
      expect(await r.incrbyfloat('io6:f', '1.5')).toBe('1.5');
      await r.hset('io6:h', { a: '1', b: '2' });
      expect(await r.hgetall('io6:h')).toEqual({ a: '1', b: '2' });
      await r.sadd('io6:s', 'x', 'y');
      expect((await r.smembers('io6:s')).sort()).toEqual(['x', 'y']);
      expect(await r.del('io6:k', 'io6:f', 'io6:h', 'io6:s')).toBe(4);
    } finally {
      r.disconnect();
    }
  });
});

describe('node-redis', () => {
  for (const RESP of [2, 3] as const) {
    it(`RESP${RESP}: connects and runs basic commands`, async () => {
      const c = createClient({ socket: { port: srv.port, host: '127.0.0.1', reconnectStrategy: false }, RESP });
      c.on('error', () => {});
      await c.connect();
      try {
        const hello = (await c.sendCommand(['HELLO'])) as unknown;
        if (RESP === 3) expect(hello).toMatchObject({ proto: 3 });
        else expect(Array.isArray(hello)).toBe(true);
        const k = `nr${RESP}`;
        expect(await c.set(`${k}:k`, 'v')).toBe('OK');
        expect(await c.get(`${k}:k`)).toBe('v');
        await c.hSet(`${k}:h`, { a: '1', b: '2' });
        expect(await c.hGetAll(`${k}:h`)).toEqual({ a: '1', b: '2' });
        await c.zAdd(`${k}:z`, [
          { score: 1.5, value: 'a' },
          { score: 2, value: 'b' },
        ]);
        expect(await c.zScore(`${k}:z`, 'a')).toBe(1.5);
        expect(await c.del([`${k}:k`, `${k}:h`, `${k}:z`])).toBe(3);
      } finally {
        c.destroy();
      }
    });
  }
});

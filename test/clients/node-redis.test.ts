// node-redis (the `redis` package) with RESP: 3 and RESP: 2 against shardis and redis-server side
// by side: the same calls must give the same JavaScript values. node-redis parses each RESP3 type
// and then applies per-command transforms written for Redis's exact RESP3 shapes (nested
// WITHSCORES pairs, maps, doubles), so a shape that differs shows up as a different value or a
// hang. clientSideCache (CLIENT TRACKING) is tested with the tracking work, not here.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type RedisClientType } from 'redis';
import { startRedis, startShardis, type Server } from '../helpers/server';

let redis: Server;
let shardis: Server;
beforeAll(async () => {
  [redis, shardis] = await Promise.all([startRedis(), startShardis({ threads: 2 })]);
});
afterAll(async () => {
  await Promise.allSettled([redis?.stop(), shardis?.stop()]);
});

type Resp = 2 | 3;
// The client type differs per RESP version; the tests use the RESP3 one's typings for both.
type Client = RedisClientType<Record<string, never>, Record<string, never>, Record<string, never>, 3>;

async function connect(port: number, RESP: Resp): Promise<Client> {
  const c = createClient({ socket: { port, host: '127.0.0.1', reconnectStrategy: false }, RESP }) as unknown as Client;
  c.on('error', () => {}); // a refused command rejects its promise; nothing to log here
  await c.connect();
  return c;
}

/** Per-command limit: a reply that never comes (a framing bug) fails instead of hanging. */
function timed<T>(p: Promise<T>, what: string, ms = 5000): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<T>((_, reject) => {
      t = setTimeout(() => reject(new Error(`${what}: no reply within ${ms} ms`)), ms);
    }),
  ]);
}

async function same<T>(RESP: Resp, fn: (c: Client, port: number) => Promise<T>): Promise<T> {
  const out: T[] = [];
  for (const s of [redis, shardis]) {
    const c = await connect(s.port, RESP);
    try {
      await c.flushAll();
      out.push(await timed(fn(c, s.port), `${s === redis ? 'redis' : 'shardis'} RESP${RESP}`, 15_000));
    } finally {
      c.destroy();
    }
  }
  expect(out[1]).toEqual(out[0]);
  return out[1];
}

async function collect<T>(it: AsyncIterable<T[]>): Promise<T[]> {
  const all: T[] = [];
  for await (const batch of it) all.push(...batch);
  return all;
}
const byJson = <T>(a: T[]): T[] => [...a].sort((x, y) => (JSON.stringify(x) < JSON.stringify(y) ? -1 : 1));

for (const RESP of [3, 2] as const) {
  describe(`node-redis RESP${RESP}`, () => {
    it('handshake: HELLO answers with the protocol asked for', () =>
      same(RESP, async (c) => {
        const hello = (await c.sendCommand(['HELLO'])) as unknown;
        const proto = Array.isArray(hello) ? hello[hello.indexOf('proto') + 1] : (hello as { proto: number }).proto;
        expect(proto).toBe(RESP);
        return proto;
      }));

    it('strings', () =>
      same(RESP, async (c) => [
        await c.set('s', 'v'),
        await c.get('s'),
        await c.get('missing'),
        await c.mGet(['s', 'missing']),
        await c.incrByFloat('f', 1.5),
        await c.set('s', 'w', { GET: true }),
        await c.getEx('s', { type: 'PX', value: 100000 }),
        await c.set('a', 'ohmytext'),
        await c.set('b', 'mynewtext'),
        await c.lcsIdxWithMatchLen('a', 'b'),
        await c.lcsIdx('a', 'b', { MINMATCHLEN: 4 }),
        await c.bitField('bf', [{ operation: 'OVERFLOW', behavior: 'FAIL' }, { operation: 'INCRBY', encoding: 'u2', offset: 0, increment: 5 }]),
      ]));

    it('hashes: hGetAll (map), hRandField with values, hScanIterator over listpack and hashtable', () =>
      same(RESP, async (c) => {
        await c.hSet('h', { a: '1', b: '2.5', c: 'x' });
        const out: unknown[] = [
          await c.hGetAll('h'),
          await c.hGetAll('missing'),
          await c.hmGet('h', ['a', 'nope']),
          await c.hIncrByFloat('h', 'b', 0.25),
        ];
        await c.hSet('one', 'f', 'v');
        out.push(await c.hRandFieldCountWithValues('one', 1), await c.hRandFieldCountWithValues('one', -2));
        out.push(byJson(await collect(c.hScanIterator('h'))));
        const big: Record<string, string> = {};
        for (let i = 0; i < 300; i++) big[`f${i}`] = `v${i}`;
        await c.hSet('big', big);
        out.push(await c.objectEncoding('big'));
        out.push(byJson(await collect(c.hScanIterator('big', { COUNT: 20 }))));
        out.push(byJson(await collect(c.hScanIterator('big', { MATCH: 'f1?' }))));
        out.push(await c.ping());
        return out;
      }));

    it('sets: sMembers (set), sInter, sPop count, smIsMember, sScanIterator', () =>
      same(RESP, async (c) => {
        await c.sAdd('s', ['a', 'b', 'c']);
        await c.sAdd('t', ['b', 'c', 'd']);
        await c.sAdd('n', ['1', '2', '3']);
        await c.sAdd('bigs', Array.from({ length: 200 }, (_, i) => `m${i}`));
        return [
          [...(await c.sMembers('s'))].sort(),
          [...(await c.sInter(['s', 't']))].sort(),
          [...(await c.sUnion(['s', 't']))].sort(),
          await c.sDiff(['s', 't']),
          await c.smIsMember('s', ['a', 'z']),
          await c.sPopCount('missing', 2),
          (await collect(c.sScanIterator('bigs', { COUNT: 15 }))).sort(),
          (await collect(c.sScanIterator('n'))).sort(),
          await c.ping(),
        ];
      }));

    it('sorted sets: WITHSCORES pairs, doubles, pops, zRandMember, zScanIterator', () =>
      same(RESP, async (c) => {
        await c.zAdd('z', [
          { score: 1, value: 'a' },
          { score: 2.5, value: 'b' },
          { score: 3, value: 'c' },
          { score: -Infinity, value: 'd' },
          { score: Infinity, value: 'e' },
        ]);
        const out: unknown[] = [
          await c.zRangeWithScores('z', 0, -1),
          await c.zRangeByScoreWithScores('z', '(1', '+inf', { LIMIT: { offset: 0, count: 2 } }),
          await c.zRangeWithScores('z', 0, 1, { REV: true }),
          await c.zScore('z', 'b'),
          await c.zScore('z', 'nope'),
          await c.zmScore('z', ['a', 'nope', 'e']),
          await c.zIncrBy('z', 0.2, 'a'),
          await c.zAddIncr('z', { score: 1, value: 'b' }),
          await c.zPopMin('z'),
          await c.zPopMaxCount('z', 2),
          await c.zPopMin('missing'),
          await c.zmPop('z', 'MIN', { COUNT: 2 }),
          await c.zmPop('missing', 'MIN'),
        ];
        await c.zAdd('one', { score: 1.5, value: 'x' });
        out.push(await c.zRandMemberCountWithScores('one', 1), await c.zRandMemberCountWithScores('one', -2));
        await c.zAdd('w', [{ score: 1, value: 'a' }, { score: 2, value: 'b' }]);
        await c.zAdd('v', [{ score: 3, value: 'b' }, { score: 4, value: 'c' }]);
        out.push(await c.zUnionWithScores(['w', 'v']), await c.zInterWithScores(['w', 'v']));
        await c.zAdd('bigz', Array.from({ length: 200 }, (_, i) => ({ score: i / 4, value: `m${i}` })));
        out.push(byJson(await collect(c.zScanIterator('bigz', { COUNT: 25 }))));
        out.push(byJson(await collect(c.zScanIterator('w'))));
        out.push(await c.ping());
        return out;
      }));

    it('lists and blocking pops (served and timed out)', () =>
      same(RESP, async (c) => {
        await c.rPush('l', ['a', 'b', 'c']);
        const out: unknown[] = [
          await c.lPopCount('missing', 2),
          await c.lPopCount('l', 2),
          await c.lPos('l', 'nope'),
          await c.lmPop('l', 'LEFT'),
          await c.blPop('missing', 0.01),
          await c.bzPopMin('missing', 0.01),
          await c.blmPop(0.01, 'missing', 'LEFT'),
          await c.bzmPop(0.01, 'missing', 'MIN'),
        ];
        await c.rPush('l', ['x', 'y']);
        await c.zAdd('z', [{ score: 1.5, value: 'm' }, { score: 2, value: 'n' }]);
        out.push(await c.blPop('l', 0), await c.bzPopMin('z', 0), await c.bzPopMax('z', 0));
        await c.zAdd('z', [{ score: 1, value: 'p' }, { score: 2, value: 'q' }]);
        out.push(await c.bzmPop(0, 'z', 'MAX', { COUNT: 5 }));
        return out;
      }));

    it('a blocked pop is served by a push from another client', () =>
      same(RESP, async (c, port) => {
        const other = await connect(port, RESP);
        try {
          const popped = c.bzPopMax('bz', 5);
          for (let i = 0; i < 200; i++) {
            if (/blocked_clients:1\r/.test(await other.info('clients'))) break;
            await new Promise((res) => setTimeout(res, 5));
          }
          await other.zAdd('bz', { score: 2.5, value: 'm' });
          return await popped;
        } finally {
          other.destroy();
        }
      }));

    it('keys: scanIterator with MATCH and TYPE', () =>
      same(RESP, async (c) => {
        const m = c.multi();
        for (let i = 0; i < 150; i++) m.set(`k${i}`, String(i));
        m.hSet('hk', 'f', 'v');
        m.zAdd('zk', { score: 1, value: 'm' });
        await m.exec();
        return [
          (await collect(c.scanIterator({ COUNT: 30 }))).sort(),
          (await collect(c.scanIterator({ MATCH: 'k1*' }))).sort(),
          (await collect(c.scanIterator({ TYPE: 'zset' }))).sort(),
          await c.type('hk'),
          await c.ttl('hk'),
          await c.dbSize(),
        ];
      }));

    it('MULTI/EXEC carries maps, sets and doubles; a failed WATCH rejects', () =>
      same(RESP, async (c, port) => {
        const res = await c
          .multi()
          .hSet('h', 'a', '1')
          .hGetAll('h')
          .zAdd('z', { score: 1.5, value: 'm' })
          .zScore('z', 'm')
          .zRangeWithScores('z', 0, -1)
          .sAdd('s', 'x')
          .sMembers('s')
          .get('missing')
          .exec();
        await c.watch('h');
        const other = await connect(port, RESP);
        await other.hSet('h', 'a', '2');
        other.destroy();
        const failed = await c
          .multi()
          .hGet('h', 'a')
          .exec()
          .then(
            () => 'committed',
            (e: Error) => e.constructor.name,
          );
        return [res, failed];
      }));

    it('server replies: CONFIG GET (map), COMMAND INFO, PUBSUB NUMSUB', () =>
      same(RESP, async (c) => [
        await c.configGet('maxmemory'),
        await c.configGet('nosuchconfig'),
        await c.sendCommand(['COMMAND', 'INFO', 'get', 'nosuchcommand']),
        await c.commandGetKeys(['set', 'a', 'b']),
        await c.pubSubNumSub(['x', 'y']),
        typeof (await c.info('server')),
        typeof (await c.clientInfo()),
      ]));

    it('pub/sub: messages and pattern messages', () =>
      same(RESP, async (c) => {
        const sub = c.duplicate();
        sub.on('error', () => {});
        await sub.connect();
        try {
          const got: string[] = [];
          await sub.subscribe(['news', 'other'], (msg, ch) => got.push(`message ${ch} ${msg}`));
          await sub.pSubscribe('n*', (msg, ch) => got.push(`pmessage n* ${ch} ${msg}`));
          const receivers = [await c.publish('news', 'one'), await c.publish('nothing', 'two'), await c.publish('x', 'three')];
          for (let i = 0; i < 200 && got.length < 3; i++) await new Promise((res) => setTimeout(res, 5));
          await sub.unsubscribe('news');
          await sub.pUnsubscribe();
          const after = await c.pubSubNumSub(['news', 'other']);
          return [receivers, got.sort(), after, await c.pubSubNumPat()];
        } finally {
          sub.destroy();
        }
      }));
  });
}

// Regressions for the gaps Redis 7.0.15's own TCL suite (external mode) found in the collection
// types (hash, set, zset, list, sort) and blocking: each test runs the same steps against
// redis-server and shardis (2 threads, so blocked clients and pushers sit on different threads)
// and compares what the clients see.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startPair, type Pair } from '../helpers/diff';
import { RawClient, show, type Reply } from '../helpers/resp';

let d: Pair;
beforeAll(async () => {
  d = await startPair({ threads: 2, redisArgs: ['--enable-debug-command', 'yes'] });
});
afterAll(async () => {
  await d?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function text(r: Reply): string {
  if (r.t === 'bulk' && r.v !== null) return r.v.toString();
  if (r.t === 'verbatim') return r.v.toString();
  return '';
}

/** Wait until INFO says n clients are blocked (wait_for_blocked_clients_count). */
async function blocked(c: RawClient, n: number): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const m = /blocked_clients:(\d+)/.exec(text(await c.call('INFO', 'clients')));
    if (m !== null && Number(m[1]) === n) return;
    await sleep(5);
  }
  throw new Error(`never saw ${n} blocked clients`);
}

/** Open n more connections to port; closed by the returned function. */
async function clients(port: number, n: number): Promise<{ cs: RawClient[]; close: () => Promise<void> }> {
  const cs: RawClient[] = [];
  for (let i = 0; i < n; i++) cs.push(await RawClient.connect(port));
  return { cs, close: async () => { await Promise.all(cs.map((x) => x.close())); } };
}

describe('sets', () => {
  it('SMOVE of a member the destination already has does not touch a WATCHed destination', async () => {
    const r = await d.each(async (c, _side, port) => {
      const { cs: [c2], close } = await clients(port, 1);
      await c.call('SADD', 'src{t}', 'a', 'b');
      await c.call('SADD', 'dst{t}', 'a');
      await c.call('WATCH', 'dst{t}');
      await c.call('MULTI');
      await c.call('SADD', 'dst{t}', 'c');
      const moved = await c2.call('SMOVE', 'src{t}', 'dst{t}', 'a');
      const exec = await c.call('EXEC');
      const card = await c.call('SCARD', 'dst{t}');
      // A real addition still aborts the transaction.
      await c.call('WATCH', 'dst{t}');
      await c.call('MULTI');
      await c.call('SADD', 'dst{t}', 'd');
      await c2.call('SMOVE', 'src{t}', 'dst{t}', 'b');
      const exec2 = await c.call('EXEC');
      await close();
      return [moved, exec, card, exec2, await c.call('SMEMBERS', 'src{t}')].map(show);
    });
    expect(r.shardis).toEqual(r.redis);
    expect(r.shardis[2]).toBe('(integer) 2');
  });
});

describe('sorted sets', () => {
  it('ZPOPMIN/ZPOPMAX with count 0 still check the type', async () => {
    await d.expectSame([
      ['SET', 'foo', 'bar'],
      ['ZPOPMIN', 'foo', '0'],
      ['ZPOPMAX', 'foo', '0'],
      ['ZPOPMIN', 'nokey', '0'],
      ['ZADD', 'z', '1', 'a'],
      ['ZPOPMIN', 'z', '0'],
      ['ZPOPMAX', 'z', '-1'],
      ['ZCARD', 'z'],
    ]);
  });
});

describe('sort', () => {
  it('COMMAND GETKEYS SORT names only the last STORE', async () => {
    await d.expectSame([
      ['COMMAND', 'GETKEYS', 'SORT', 'abc', 'STORE', 'invalid', 'STORE', 'stillbad', 'STORE', 'def'],
      ['COMMAND', 'GETKEYS', 'SORT', 'abc', 'LIMIT', '0', '1', 'BY', 'w_*', 'GET', '#', 'STORE', 'dst'],
      ['COMMAND', 'GETKEYS', 'SORT', 'abc', 'ALPHA'],
    ]);
  });
});

describe('blocking', () => {
  it('a client blocked on two keys is served from the first made ready (BZMPOP and BLMPOP after MULTI)', async () => {
    // Repeated: the blocked clients land on both threads in different mixes.
    for (let round = 0; round < 10; round++) {
      const r = await d.each(async (c, _side, port) => {
        const { cs, close } = await clients(port, 4);
        const out: string[] = [];
        const [rd1, rd2, rd3, rd4] = cs;
        rd1.send('BZMPOP', '0', '2', 'z{t}', 'z2{t}', 'MIN', 'COUNT', '1');
        await blocked(c, 1);
        rd2.send('BZMPOP', '0', '2', 'z{t}', 'z2{t}', 'MAX', 'COUNT', '10');
        await blocked(c, 2);
        rd3.send('BZMPOP', '0', '2', 'z{t}', 'z2{t}', 'MIN', 'COUNT', '10');
        await blocked(c, 3);
        rd4.send('BLMPOP', '0', '2', 'l{t}', 'l2{t}', 'LEFT', 'COUNT', '2');
        await blocked(c, 4);
        await c.call('MULTI');
        await c.call('ZADD', 'z{t}', '1', 'a', '2', 'b', '3', 'c', '4', 'd', '5', 'e');
        await c.call('ZADD', 'z2{t}', '1', 'a', '2', 'b', '3', 'c', '4', 'd', '5', 'e');
        await c.call('RPUSH', 'l{t}', 'x');
        await c.call('RPUSH', 'l2{t}', 'y', 'z');
        await c.call('EXEC');
        for (const x of cs) out.push(show(await x.read()));
        out.push(show(await c.call('ZRANGE', 'z2{t}', '0', '-1')), show(await c.call('LRANGE', 'l2{t}', '0', '-1')));
        await close();
        return out;
      });
      expect(r.shardis).toEqual(r.redis);
    }
  });

  it('linked and circular BLMOVEs are done before the pushing client\'s next command', async () => {
    for (let round = 0; round < 3; round++) {
      const r = await d.each(async (c, _side, port) => {
        const { cs: [rd1, rd2], close } = await clients(port, 2);
        rd1.send('BLMOVE', 'list1{t}', 'list2{t}', 'RIGHT', 'LEFT', '0');
        await blocked(c, 1);
        rd2.send('BLMOVE', 'list2{t}', 'list3{t}', 'LEFT', 'RIGHT', '0');
        await blocked(c, 2);
        const out = [await c.call('RPUSH', 'list1{t}', 'foo')];
        out.push(await c.call('LRANGE', 'list1{t}', '0', '-1'), await c.call('LRANGE', 'list2{t}', '0', '-1'), await c.call('LRANGE', 'list3{t}', '0', '-1'));
        out.push(await rd1.read(), await rd2.read());
        // Circular: a -> b, b -> a.
        rd1.send('BRPOPLPUSH', 'a{t}', 'b{t}', '0');
        await blocked(c, 1);
        rd2.send('BRPOPLPUSH', 'b{t}', 'a{t}', '0');
        await blocked(c, 2);
        out.push(await c.call('RPUSH', 'a{t}', 'foo'));
        out.push(await c.call('LRANGE', 'a{t}', '0', '-1'), await c.call('LRANGE', 'b{t}', '0', '-1'));
        out.push(await rd1.read(), await rd2.read());
        await close();
        return out.map(show);
      });
      expect(r.shardis).toEqual(r.redis);
    }
  });

  it('a push served to BRPOPLPUSH on another client aborts a transaction WATCHing the destination', async () => {
    for (let round = 0; round < 3; round++) {
      const r = await d.each(async (c, _side, port) => {
        const { cs: [blk, wch], close } = await clients(port, 2);
        await c.call('SET', 'somekey{t}', 'somevalue');
        blk.send('BRPOPLPUSH', 'srclist{t}', 'dstlist{t}', '0');
        await blocked(c, 1);
        await wch.call('WATCH', 'dstlist{t}');
        await wch.call('MULTI');
        await wch.call('GET', 'somekey{t}');
        await c.call('LPUSH', 'srclist{t}', 'element');
        const res = await wch.call('EXEC');
        const got = await blk.read();
        await close();
        return [res, got].map(show);
      });
      expect(r.shardis).toEqual(r.redis);
    }
  });

  it('SWAPDB wakes clients blocked on keys the swapped-in db has', async () => {
    const r = await d.each(async (c, _side, port) => {
      const { cs, close } = await clients(port, 3);
      await c.call('SELECT', '1');
      await c.call('RPUSH', 'k', 'hello');
      await c.call('ZADD', 'zk', '1', 'm');
      await c.call('SELECT', '9');
      for (const x of cs) await x.call('SELECT', '9');
      cs[0].send('BRPOP', 'k', '5');
      await blocked(c, 1);
      cs[1].send('BZPOPMIN', 'zk', '5');
      await blocked(c, 2);
      cs[2].send('BLPOP', 'nothere', '0.5');
      await blocked(c, 3);
      await c.call('SWAPDB', '1', '9');
      const out = [await cs[0].read(), await cs[1].read(), await cs[2].read()];
      await c.call('SELECT', '1');
      await c.call('FLUSHDB');
      await c.call('SELECT', '9');
      await close();
      return out.map(show);
    });
    expect(r.shardis).toEqual(r.redis);
  });
});

describe('DEBUG DIGEST-VALUE and DEBUG OBJECT', () => {
  it('DIGEST-VALUE gives Redis\'s digests for every type and encoding, copies included', async () => {
    const big = 'x'.repeat(100);
    await d.expectSame([
      ['RPUSH', 'l', 'a', 'b', '1', '-5', big],
      ['SADD', 's', '1', '2', '3'],
      ['SADD', 's2', 'a', 'b', '3'],
      ['ZADD', 'z', '1', 'a', '2.5', 'b', '-3', '7'],
      ['ZADD', 'z2', '1e300', big, '0.1', 'm', '-inf', 'n'],
      ['HSET', 'h', 'f', 'v', 'g', '12'],
      ['HSET', 'h2', 'f', big, big, '12'],
      ['SET', 'str', 'hello'],
      ['SET', 'n', '12', 'EX', '100'],
      ['COPY', 'z2', 'z3'],
      ['DEBUG', 'DIGEST-VALUE', 'l', 's', 's2', 'z', 'z2', 'z3', 'h', 'h2', 'str', 'n', 'nokey'],
      ['DEBUG', 'DIGEST-VALUE'],
    ]);
  });

  it('DEBUG DIGEST: the whole dataset as Redis digests it (dbs, TTLs, every encoding, SWAPDB)', async () => {
    const many = (p: string, n: number) => Array.from({ length: n }, (_, i) => `${p}${i}`);
    await d.expectSame([
      ['FLUSHALL'],
      ['DEBUG', 'DIGEST'],
      ['RPUSH', 'l', 'a', 'b', '1', '-5'],
      ['SADD', 's', '1', '2', '3'],
      ['SADD', 'sbig', ...many('m', 600)],
      ['ZADD', 'z', '1', 'a', '2.5', 'b'],
      ['ZADD', 'zbig', ...many('', 200).flatMap((x) => [x, `z${x}`])],
      ['HSET', 'h', 'f', 'v'],
      ['HSET', 'hbig', ...many('f', 200).flatMap((x) => [x, 'v'])],
      ['SET', 'str', 'hello', 'EX', '100'],
      ['DEBUG', 'DIGEST'],
      ['SELECT', '3'],
      ['SET', 'other', '12'],
      ['DEBUG', 'DIGEST'],
      ['SWAPDB', '0', '3'],
      ['DEBUG', 'DIGEST'],
      ['PERSIST', 'str'],
      ['DEBUG', 'DIGEST'],
      ['DEBUG', 'DIGEST', 'extra'],
      ['SELECT', '0'],
      ['FLUSHALL'],
    ]);
  });

  it('DEBUG OBJECT: Redis\'s shape, the encoding, an address that INCR keeps, no such key', async () => {
    const r = await d.each(async (c) => {
      await c.call('HSET', 'h', 'f', 'v');
      await c.call('RPUSH', 'l', 'a', 'b');
      await c.call('SET', 'foo', '20000');
      await c.call('INCR', 'foo');
      const a = text2(await c.call('DEBUG', 'OBJECT', 'foo'));
      await c.call('INCR', 'foo');
      const b = text2(await c.call('DEBUG', 'OBJECT', 'foo'));
      const h = text2(await c.call('DEBUG', 'OBJECT', 'h'));
      const l = text2(await c.call('DEBUG', 'OBJECT', 'l'));
      const shape = (x: string) => x.replace(/:[^ ]+/g, ':_');
      return [a.split(' ')[1] === b.split(' ')[1], shape(a), shape(h), /encoding:listpack/.test(h), shape(l), show(await c.call('DEBUG', 'OBJECT', 'nokey'))];
    });
    expect(r.shardis).toEqual(r.redis);
  });
});

function text2(r: Reply): string {
  return r.t === 'simple' ? r.v : show(r);
}

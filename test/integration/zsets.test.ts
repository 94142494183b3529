// Sorted sets: differential tests against redis-server 7.0 (replies and errors byte for byte),
// encodings and conversions, and a randomized sequence followed by DEBUG CHECK.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { script, startPair, type Pair, type Step } from '../helpers/diff';
import { RawClient, show } from '../helpers/resp';

let d: Pair;
beforeAll(async () => {
  d = await startPair({ threads: 2 });
});
afterAll(async () => {
  await d?.stop();
});

const same = (text: string, opts?: { resp3?: boolean; timeoutMs?: number }) => d.expectSame(script(text), opts);

const FILL = `
  ZADD z 1 a 2 b 3 c 1.5 d 0.1 e 2 bb 2 ba -5 neg
  ZADD lx 0 a 0 b 0 c 0 d 0 e 0 bb 0 ba 0 neg 0 "" 0 "\xff"
`;
/** The same commands on a listpack and on a skiplist zset (long member forces skiplist). */
const both = (body: string) => `
  ${FILL}
  ${body}
  DEL z lx
  ${FILL}
  ZADD z 100 ${'x'.repeat(70)}
  ZREM z ${'x'.repeat(70)}
  ZADD lx 0 ${'x'.repeat(70)}
  ZREM lx ${'x'.repeat(70)}
  OBJECT ENCODING z
  OBJECT ENCODING lx
  ${body}
`;

describe('ZADD / ZINCRBY / ZSCORE', () => {
  it('options and errors', () =>
    same(`
      ZADD z 1 a 2 b 3 c
      ZADD z 1 a
      ZADD z CH 5 a 2 b 9 new
      ZADD z NX 100 a 7 n2
      ZADD z XX 100 a 7 n3
      ZADD z XX CH 100 a 7 n3
      ZADD z GT CH 50 a 200 b
      ZADD z LT CH 60 a 1 b
      ZADD z GT XX CH 1000 c 5 n4
      ZADD z INCR 5 a
      ZADD z INCR NX 5 a
      ZADD z INCR XX 5 missing
      ZADD z INCR GT -100 a
      ZADD z INCR LT -100 a
      ZADD z NX XX 1 a
      ZADD z GT LT 1 a
      ZADD z GT NX 1 a
      ZADD z LT NX 1 a
      ZADD z INCR 1 a 2 b
      ZADD z abc a
      ZADD z 1 a nan b
      ZADD z nan a
      ZADD z 1
      ZADD z 1 a 2
      ZADD z NX
      ZADD z " 1" a
      ZADD z "1 " a
      ZADD z 1e400 a
      ZADD z 1e-400 a
      ZADD z 0x10 hex
      ZADD z +inf pinf -inf ninf inf pinf2 -infinity ninf2
      ZADD z INCR -inf pinf
      ZADD z INCR +inf ninf
      ZRANGE z 0 -1 WITHSCORES
      ZINCRBY z 1.5 a
      ZINCRBY z -inf pinf
      ZINCRBY z inf pinf
      ZINCRBY z abc a
      ZINCRBY z 1 brandnew
      ZINCRBY z nx a
      ZSCORE z a
      ZSCORE z nosuch
      ZSCORE nokey a
      ZMSCORE z a nosuch pinf ninf
      ZMSCORE nokey a b
      ZADD nokey XX 1 a
      ZADD nokey XX INCR 1 a
      EXISTS nokey
      SET str v
      ZADD str 1 a
      ZINCRBY str 1 a
      ZSCORE str a
      ZMSCORE str a
      ZCARD str
      ZADD
      ZSCORE z
      ZMSCORE z
    `));

  it('score formatting (RESP2 and RESP3)', async () => {
    const text = `
      ZADD f 1.5 a 0.1 b 1e+20 c 1e20 c2 -0 d 0 e 3.0 f 1e-5 g 123456789012345678 h 0.3333333333333333 i 1e17 j 2.5e-310 k
      ZADD f inf pi -inf ni 4503599627370496 big 4503599627370495 big2 -4503599627370495 big3
      ZRANGE f 0 -1 WITHSCORES
      ZSCORE f b
      ZSCORE f d
      ZSCORE f k
      ZSCORE f pi
      ZSCORE f ni
      ZINCRBY f 0.2 b
      ZADD f INCR 0.1 b
      ZMSCORE f a b nosuch c
      ZSCAN f 0
      ZPOPMIN f
      ZPOPMAX f 2
      ZRANDMEMBER f -1 WITHSCORES
      ZUNION 1 f WITHSCORES
    `;
    await same(text.replace('ZRANDMEMBER f -1 WITHSCORES', ''));
    await same(text.replace('ZRANDMEMBER f -1 WITHSCORES', ''), { resp3: true });
    // The same on a skiplist.
    const sk = text.replace('ZRANDMEMBER f -1 WITHSCORES', '').replace('ZRANGE f 0 -1 WITHSCORES', `ZADD f 0 ${'y'.repeat(80)}\nZREM f ${'y'.repeat(80)}\nZRANGE f 0 -1 WITHSCORES`).replace('ZSCAN f 0', '');
    await same(sk);
    await same(sk, { resp3: true });
  });

  it('binary members and ordering of equal scores', () =>
    same(`
      ZADD b 1 "\\x00" 1 "" 1 "\\xff" 1 "a\\x00b" 1 a 1 A 1 "\\x80" 0 10 0 9 0 -1 0 100
      ZRANGE b 0 -1 WITHSCORES
      ZRANGEBYLEX b - +
      ZSCORE b ""
      ZRANK b "\\xff"
      ZREM b ""
      ZRANGE b 0 -1
      ZADD n 1 12 1 -3 1 9223372036854775807 1 -9223372036854775808 1 18446744073709551616 1 0 1 01 1 -0
      ZRANGE n 0 -1
      ZSCORE n 9223372036854775807
      ZRANK n 01
      ZREM n 0 -0
      ZRANGE n 0 -1
    `));
});

describe('reads', () => {
  it('ZCARD ZRANK ZREVRANK ZCOUNT ZLEXCOUNT', () =>
    same(both(`
      ZCARD z
      ZCARD nokey
      ZRANK z a
      ZRANK z neg
      ZREVRANK z neg
      ZREVRANK z a
      ZRANK z nosuch
      ZRANK nokey a
      ZCOUNT z -inf +inf
      ZCOUNT z 1 2
      ZCOUNT z (1 (2
      ZCOUNT z (1 2
      ZCOUNT z 2 1
      ZCOUNT z (2 2
      ZCOUNT z "" ""
      ZCOUNT z ( 5
      ZCOUNT z " 1" 5
      ZCOUNT z "1 " 5
      ZCOUNT z abc 5
      ZCOUNT z nan 5
      ZCOUNT z 1 +infinity
      ZCOUNT z -1e400 1e400
      ZCOUNT nokey 1 2
      ZLEXCOUNT lx - +
      ZLEXCOUNT lx [b +
      ZLEXCOUNT lx (b [c
      ZLEXCOUNT lx + -
      ZLEXCOUNT lx - -
      ZLEXCOUNT lx [b [b
      ZLEXCOUNT lx (b (b
      ZLEXCOUNT lx b c
      ZLEXCOUNT lx "" +
      ZLEXCOUNT lx -x +
      ZLEXCOUNT nokey - +
    `)));

  it('ZRANGE by rank, score and lex, and the legacy forms', () =>
    same(both(`
      ZRANGE z 0 -1
      ZRANGE z 0 -1 WITHSCORES
      ZRANGE z 2 4 WITHSCORES
      ZRANGE z -3 -1
      ZRANGE z -100 100
      ZRANGE z 5 2
      ZRANGE z 100 200
      ZRANGE z 0 -1 REV WITHSCORES
      ZRANGE z 1 3 REV
      ZRANGE z 0 0 rev withscores
      ZRANGE z 1 2 BYSCORE
      ZRANGE z (1 2 BYSCORE WITHSCORES
      ZRANGE z 2 (1 BYSCORE REV WITHSCORES
      ZRANGE z -inf +inf BYSCORE LIMIT 1 3
      ZRANGE z -inf +inf BYSCORE LIMIT 1 -1
      ZRANGE z -inf +inf BYSCORE LIMIT -1 3
      ZRANGE z -inf +inf BYSCORE LIMIT 0 0
      ZRANGE z -inf +inf BYSCORE LIMIT 100 3
      ZRANGE z +inf -inf BYSCORE REV LIMIT 2 2 WITHSCORES
      ZRANGE lx - + BYLEX
      ZRANGE lx [b (c BYLEX
      ZRANGE lx + - BYLEX REV LIMIT 1 2
      ZRANGE lx - + BYLEX WITHSCORES
      ZRANGE z 0 -1 LIMIT 0 1
      ZRANGE z 0 -1 BYSCORE BYLEX
      ZRANGE z 0 -1 REV REV
      ZRANGE z 0 -1 foo
      ZRANGE z a b
      ZRANGE z 0 -1 LIMIT a 1
      ZRANGE z 0 -1 BYSCORE LIMIT 1
      ZRANGE z x y BYSCORE
      ZRANGE z x y BYLEX
      ZRANGE nokey 0 -1
      ZRANGE nokey x y BYLEX
      ZREVRANGE z 0 2 WITHSCORES
      ZREVRANGE z 0 -1 BYSCORE
      ZREVRANGE z 0 -1 REV
      ZRANGEBYSCORE z -inf +inf WITHSCORES
      ZRANGEBYSCORE z (0.1 (3 LIMIT 1 2
      ZRANGEBYSCORE z 3 1
      ZRANGEBYSCORE z 1 3 REV
      ZRANGEBYSCORE z 1 3 BYLEX
      ZREVRANGEBYSCORE z +inf -inf WITHSCORES LIMIT 0 3
      ZREVRANGEBYSCORE z 2 (1
      ZRANGEBYLEX lx - +
      ZRANGEBYLEX lx [b [c LIMIT 1 1
      ZRANGEBYLEX lx - + WITHSCORES
      ZREVRANGEBYLEX lx + - LIMIT 0 3
      ZREVRANGEBYLEX lx (c [a
      ZRANGE z 0
      ZRANGEBYSCORE z 1
    `)));

  it('lex ranges over mixed scores (listpack walks)', () =>
    same(`
      ${FILL}
      ZLEXCOUNT z [b +
      ZLEXCOUNT z - (c
      ZRANGEBYLEX z [b +
      ZREVRANGEBYLEX z (c [a
      ZREVRANGEBYLEX z + [b
      ZREMRANGEBYLEX z [b +
      ZRANGE z 0 -1
    `));

  it('RESP3 shapes', () =>
    same(both(`
      ZRANGE z 0 -1 WITHSCORES
      ZRANGE z 0 1
      ZRANGEBYSCORE z -inf +inf WITHSCORES LIMIT 1 2
      ZREVRANGE z 0 1 WITHSCORES
      ZSCORE z a
      ZSCORE z nosuch
      ZMSCORE z a nosuch
      ZRANK z nosuch
      ZPOPMIN z
      ZPOPMIN z 2
      ZPOPMAX z 0
      ZPOPMAX nokey
      ZPOPMAX nokey 2
      ZMPOP 1 z MAX COUNT 2
      ZMPOP 1 nokey MIN
      ZUNION 1 z WITHSCORES
      ZINTER 1 z WITHSCORES
      ZDIFF 1 z WITHSCORES
      ZRANDMEMBER nokey
      ZRANDMEMBER nokey 3 WITHSCORES
    `), { resp3: true }));
});

describe('writes', () => {
  it('ZREM and ZREMRANGEBY*', () =>
    same(both(`
      ZREM z a nosuch b
      ZREM z nosuch
      ZREM nokey a
      ZREMRANGEBYRANK z 0 0
      ZREMRANGEBYRANK z -2 -1
      ZREMRANGEBYRANK z 5 2
      ZREMRANGEBYRANK z 100 200
      ZRANGE z 0 -1 WITHSCORES
      ZREMRANGEBYSCORE z (1 2
      ZREMRANGEBYSCORE z 5 1
      ZREMRANGEBYSCORE z x 1
      ZREMRANGEBYRANK z x 1
      ZRANGE z 0 -1 WITHSCORES
      ZREMRANGEBYLEX lx [a [c
      ZREMRANGEBYLEX lx a c
      ZRANGE lx 0 -1
      ZRANGE z 0 -1 WITHSCORES
      ZREMRANGEBYRANK z 0 -1
      EXISTS z
      ZADD z 1 a 2 b
      ZREM z a b
      EXISTS z
      ZADD z 1 a 2 b
      ZREMRANGEBYSCORE z -inf +inf
      EXISTS z
      ZADD z 1 a 2 b
      ZREMRANGEBYLEX z - +
      EXISTS z
      ZREMRANGEBYLEX nokey - +
      SET str v
      ZREM str a
      ZREMRANGEBYRANK str 0 1
    `)));

  it('ZPOPMIN ZPOPMAX ZMPOP', () =>
    same(both(`
      ZPOPMIN z
      ZPOPMAX z
      ZPOPMIN z 2
      ZPOPMAX z 2
      ZPOPMIN z 0
      ZPOPMIN z -1
      ZPOPMIN z abc
      ZPOPMIN z 1 2
      ZPOPMAX nokey
      ZPOPMAX nokey 3
      ZMPOP 2 nokey z MIN
      ZMPOP 2 nokey z MAX COUNT 2
      ZMPOP 1 nokey MIN
      ZMPOP 0 z MIN
      ZMPOP -1 z MIN
      ZMPOP x z MIN
      ZMPOP 1 z
      ZMPOP 1 z LEFT
      ZMPOP 1 z MIN COUNT 0
      ZMPOP 1 z MIN COUNT -1
      ZMPOP 1 z MIN COUNT x
      ZMPOP 1 z MIN COUNT 1 COUNT 1
      ZMPOP 1 z MIN foo
      ZMPOP 5 z MIN
      ZMPOP 1 z MIN COUNT 100
      EXISTS z
      SET str v
      ZPOPMIN str
      ZMPOP 2 nokey str MIN
    `)));

  it('ZRANGESTORE', () =>
    same(both(`
      ZRANGESTORE dst z 0 -1
      ZRANGE dst 0 -1 WITHSCORES
      OBJECT ENCODING dst
      ZRANGESTORE dst z 0 1 REV
      ZRANGE dst 0 -1 WITHSCORES
      ZRANGESTORE dst z (1 +inf BYSCORE LIMIT 1 2
      ZRANGE dst 0 -1 WITHSCORES
      ZRANGESTORE dst z + - BYLEX REV
      ZRANGE dst 0 -1 WITHSCORES
      ZRANGESTORE dst z 5 1
      EXISTS dst
      ZRANGESTORE dst nokey 0 -1
      ZRANGESTORE dst z 0 -1 WITHSCORES
      SET str v
      ZRANGESTORE str z 0 0
      TYPE str
      ZRANGESTORE dst str 0 0
      ZRANGESTORE z z 0 1
      ZRANGE z 0 -1 WITHSCORES
    `)));
});

describe('set operations', () => {
  it('ZUNION ZINTER ZDIFF and STORE forms', () =>
    same(`
      ZADD a 1 x 2 y 3 z
      ZADD b 10 y 20 z 30 w
      SADD s x w q
      SADD si 1 2 3
      ZADD n 1 1 5 5
      ZUNION 2 a b
      ZUNION 2 a b WITHSCORES
      ZUNION 3 a b s WITHSCORES
      ZUNION 2 a b WEIGHTS 2 3 WITHSCORES
      ZUNION 2 a b AGGREGATE MIN WITHSCORES
      ZUNION 2 a b AGGREGATE MAX WITHSCORES
      ZUNION 2 a b WEIGHTS 1 WITHSCORES
      ZUNION 2 a b WEIGHTS 1 x
      ZUNION 2 a b AGGREGATE avg
      ZUNION 2 a b AGGREGATE
      ZUNION 0 a
      ZUNION -1 a
      ZUNION x a
      ZUNION 3 a b
      ZUNION 2 a nokey WITHSCORES
      ZUNION 2 si n WITHSCORES
      ZUNION 1 a WEIGHTS inf WITHSCORES
      ZUNION 2 a a WEIGHTS inf -inf WITHSCORES
      ZUNION 1 a WEIGHTS 0 WITHSCORES
      ZINTER 2 a b WITHSCORES
      ZINTER 2 a b WEIGHTS 1 -1 AGGREGATE MIN WITHSCORES
      ZINTER 3 a b s WITHSCORES
      ZINTER 2 a s WITHSCORES
      ZINTER 2 a nokey
      ZINTER 2 a a WITHSCORES
      ZINTER 2 si n WITHSCORES
      ZINTERCARD 2 a b
      ZINTERCARD 2 a b LIMIT 1
      ZINTERCARD 2 a b LIMIT 0
      ZINTERCARD 2 a b LIMIT -1
      ZINTERCARD 2 a b LIMIT x
      ZINTERCARD 2 a b WITHSCORES
      ZINTERCARD 2 a b WEIGHTS 1 2
      ZINTERCARD 0 a
      ZINTERCARD 1 nokey
      ZDIFF 2 a b WITHSCORES
      ZDIFF 2 a s WITHSCORES
      ZDIFF 3 a b s
      ZDIFF 1 a
      ZDIFF 2 a a
      ZDIFF 2 nokey a
      ZDIFF 2 a b WEIGHTS 1 2
      ZDIFF 2 a b AGGREGATE SUM
      ZUNIONSTORE dst 2 a b
      ZRANGE dst 0 -1 WITHSCORES
      OBJECT ENCODING dst
      ZUNIONSTORE dst 2 a b WITHSCORES
      ZINTERSTORE dst 2 a b WEIGHTS 2 2 AGGREGATE SUM
      ZRANGE dst 0 -1 WITHSCORES
      ZINTERSTORE dst 2 a nokey
      EXISTS dst
      ZDIFFSTORE dst 2 a b
      ZRANGE dst 0 -1 WITHSCORES
      ZDIFFSTORE dst 2 a a
      EXISTS dst
      ZUNIONSTORE a 2 a b
      ZRANGE a 0 -1 WITHSCORES
      SET str v
      ZUNION 2 a str
      ZUNIONSTORE str 1 a
      TYPE str
      ZINTERSTORE dst 0 a
      ZDIFFSTORE dst 0 a
      ZUNIONSTORE dst 3 a b
    `));

  it('stored results convert to skiplist when large', async () => {
    const steps: Step[] = [];
    const args1 = ['ZADD', 'big'];
    for (let i = 0; i < 150; i++) args1.push(String(i), `m${i}`);
    steps.push(args1, ['OBJECT', 'ENCODING', 'big'], ['ZUNIONSTORE', 'u', '1', 'big'], ['OBJECT', 'ENCODING', 'u']);
    steps.push(['ZRANGESTORE', 'r', 'big', '0', '127'], ['OBJECT', 'ENCODING', 'r'], ['ZRANGESTORE', 'r', 'big', '0', '128'], ['OBJECT', 'ENCODING', 'r']);
    steps.push(['ZINTERSTORE', 'i', '2', 'big', 'r'], ['OBJECT', 'ENCODING', 'i'], ['ZREMRANGEBYRANK', 'i', '0', '100'], ['OBJECT', 'ENCODING', 'i']);
    steps.push(['ZUNIONSTORE', 'i2', '1', 'i'], ['OBJECT', 'ENCODING', 'i2'], ['ZRANGE', 'i2', '0', '-1', 'WITHSCORES']);
    steps.push(['ZADD', 'lv', '1', 'a'.repeat(64)], ['OBJECT', 'ENCODING', 'lv'], ['ZADD', 'lv', '1', 'b'.repeat(65)], ['OBJECT', 'ENCODING', 'lv']);
    steps.push(['ZADD', 'lv2', '1', 'a'.repeat(65)], ['OBJECT', 'ENCODING', 'lv2'], ['ZREM', 'lv2', 'a'.repeat(65)], ['ZADD', 'lv2', '1', 'a'], ['OBJECT', 'ENCODING', 'lv2']);
    steps.push(['ZINCRBY', 'inc', '1', 'b'.repeat(65)], ['OBJECT', 'ENCODING', 'inc']);
    const a2 = ['ZADD', 'c128'];
    for (let i = 0; i < 128; i++) a2.push(String(i), `m${i}`);
    steps.push(a2, ['OBJECT', 'ENCODING', 'c128'], ['ZADD', 'c128', '1', 'one-more'], ['OBJECT', 'ENCODING', 'c128']);
    steps.push(['ZRANGE', 'big', '0', '-1', 'WITHSCORES'], ['ZRANGE', 'big', '10', '20', 'REV'], ['ZRANK', 'big', 'm77'], ['ZREVRANK', 'big', 'm77']);
    await d.expectSame(steps);
  });
});

describe('ZRANDMEMBER and ZSCAN', () => {
  it('ZRANDMEMBER errors and deterministic cases', () =>
    same(both(`
      ZRANDMEMBER z 0
      ZRANDMEMBER z 100
      ZRANDMEMBER z 100 WITHSCORES
      ZRANDMEMBER z x
      ZRANDMEMBER z 1 foo
      ZRANDMEMBER z 1 WITHSCORES foo
      ZRANDMEMBER z -9223372036854775808 WITHSCORES
      ZRANDMEMBER z 9223372036854775807 WITHSCORES
      ZRANDMEMBER nokey
      ZRANDMEMBER nokey 5
      [shape] ZRANDMEMBER z
      [shape] ZRANDMEMBER z 3
      [shape] ZRANDMEMBER z -20 WITHSCORES
      [shape] ZRANDMEMBER z 3 WITHSCORES
      SET str v
      ZRANDMEMBER str
    `)));

  it('ZRANDMEMBER returns members of the set, distinct for positive counts', async () => {
    const r = await d.each(async (c) => {
      await c.call('ZADD', 'r', '1', 'a', '2', 'b', '3', 'c', '4', 'd', '5', 'e');
      const pos = await c.call('ZRANDMEMBER', 'r', '3');
      const neg = await c.call('ZRANDMEMBER', 'r', '-30');
      return { pos, neg };
    });
    for (const side of [r.redis, r.shardis]) {
      const pos = (side.pos as { v: { v: Buffer }[] }).v.map((x) => x.v.toString());
      expect(new Set(pos).size).toBe(3);
      for (const m of pos) expect(['a', 'b', 'c', 'd', 'e']).toContain(m);
      const neg = (side.neg as { v: { v: Buffer }[] }).v.map((x) => x.v.toString());
      expect(neg.length).toBe(30);
      for (const m of neg) expect(['a', 'b', 'c', 'd', 'e']).toContain(m);
    }
  });

  it('ZSCAN', async () => {
    await same(`
      ZADD z 1 a 2.5 b 3 c 1e20 d inf e
      ZSCAN z 0
      ZSCAN z 0 MATCH a*
      ZSCAN z 0 MATCH *
      ZSCAN z 0 COUNT 1
      ZSCAN z 0 COUNT 0
      ZSCAN z 0 COUNT x
      ZSCAN z 0 FOO
      ZSCAN z x
      ZSCAN z -1
      ZSCAN nokey 0
      ZSCAN nokey x
      SET str v
      ZSCAN str 0
    `);
    // Skiplist: iterate to the end; the union of all batches is the whole set.
    const r = await d.each(async (c) => {
      const args = ['ZADD', 'big'];
      for (let i = 0; i < 300; i++) args.push(String(i / 4), `m${i}`);
      await c.call(...args);
      const seen = new Map<string, string>();
      let cursor = '0';
      do {
        const rep = (await c.call('ZSCAN', 'big', cursor, 'COUNT', '20')) as { v: { v: Buffer | { v: Buffer }[] }[] };
        cursor = (rep.v[0].v as Buffer).toString();
        const items = rep.v[1].v as { v: Buffer }[];
        for (let i = 0; i < items.length; i += 2) seen.set(items[i].v.toString(), items[i + 1].v.toString());
      } while (cursor !== '0');
      return [...seen.entries()].sort();
    });
    expect(r.shardis.length).toBe(300);
    expect(r.shardis).toEqual(r.redis);
  });
});

describe('member hash resizing', () => {
  it('lookups, ranks and complete ZSCANs while the skiplist hash grows and shrinks incrementally', async () => {
    const r = await d.each(async (c) => {
      const out: unknown[] = [];
      const scanAll = async () => {
        const seen = new Set<string>();
        let cursor = '0';
        let step = 0;
        do {
          const rep = (await c.call('ZSCAN', 'h', cursor, 'COUNT', '50')) as { v: { v: Buffer | { v: Buffer }[] }[] };
          cursor = (rep.v[0].v as Buffer).toString();
          const items = rep.v[1].v as { v: Buffer }[];
          for (let i = 0; i < items.length; i += 2) seen.add(items[i].v.toString());
          // writes between scan steps move the rehash along (the members scanned stay present)
          if (step++ % 3 === 0) await c.call('ZADD', 'h', '1', `tmp${step}`);
          await c.call('ZREM', 'h', `tmp${step}`);
        } while (cursor !== '0');
        return seen;
      };
      for (let round = 0; round < 6; round++) {
        const add = ['ZADD', 'h'];
        for (let i = 0; i < 700; i++) add.push(String((round * 700 + i) % 997), `m${round * 700 + i}`);
        await c.call(...add);
        const all = ((await c.call('ZRANGE', 'h', '0', '-1')) as { v: { v: Buffer }[] }).v.map((x) => x.v.toString());
        const seen = await scanAll();
        out.push(all.length, all.every((m) => seen.has(m)));
        out.push(await c.call('ZSCORE', 'h', `m${round * 350}`), await c.call('ZRANK', 'h', `m${round * 350}`));
      }
      for (let round = 0; round < 6; round++) {
        const rem = ['ZREM', 'h'];
        for (let i = 0; i < 650; i++) rem.push(`m${round * 700 + i}`);
        out.push(await c.call(...rem));
        const all = ((await c.call('ZRANGE', 'h', '0', '-1')) as { v: { v: Buffer }[] }).v.map((x) => x.v.toString());
        const seen = await scanAll();
        out.push(all.length, all.every((m) => seen.has(m)), await c.call('ZRANK', 'h', `m${round * 700 + 680}`));
      }
      return out;
    });
    expect(r.shardis).toEqual(r.redis);
    await d.shardis.check();
  });
});

describe('blocking pops', () => {
  it('immediate replies and errors', () =>
    same(`
      ZADD z 1 a 2 b 3 c 4 d 5 e 6 f
      BZPOPMIN z 0
      BZPOPMAX nokey z 0
      BZPOPMIN z x
      BZPOPMIN z -1
      BZMPOP 0 1 z MIN
      BZMPOP 0 1 z MAX COUNT 5
      BZMPOP 0 0 z MIN
      BZMPOP x 1 z MIN
      BZMPOP 0 1 z FOO
      BZMPOP 0 1 z MIN COUNT 0
      BZMPOP -1 1 z MIN
      SET str v
      BZPOPMIN str 0
      BZMPOP 0 2 nokey str MIN
      MULTI
      BZPOPMIN nokey 0
      BZMPOP 0 1 nokey MIN
      EXEC
      BZPOPMIN nokey 0.01
      BZMPOP 0.01 1 nokey MAX
      ZCARD z
    `, { timeoutMs: 2000 }));

  it('block, then wake on ZADD / *STORE from another connection', async () => {
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    for (const resp3 of [false, true]) {
      const r = await d.each(async (c, _side, port) => {
        const out: string[] = [];
        const c2 = await RawClient.connect(port);
        try {
          const p1 = c.call('BZPOPMAX', 'bz', 'other', '5');
          await sleep(50);
          await c2.call('ZADD', 'bz', '1', 'a', '2', 'b', '3', 'c');
          out.push(show(await p1));
          const p2 = c.call('BZMPOP', '5', '2', 'nokey', 'bz2', 'MIN', 'COUNT', '2');
          await sleep(50);
          await c2.call('ZUNIONSTORE', 'bz2', '1', 'bz');
          out.push(show(await p2));
          const p3 = c.call('BZPOPMIN', 'bz3', '5');
          await sleep(50);
          await c2.call('ZINCRBY', 'bz3', '7', 'x');
          out.push(show(await p3));
          out.push(show(await c.call('ZRANGE', 'bz2', '0', '-1', 'WITHSCORES')));
          out.push(show(await c.call('EXISTS', 'bz3')));
        } finally {
          await c2.close();
        }
        return out;
      }, { resp3 });
      expect(r.shardis).toEqual(r.redis);
    }
  });
});

describe('randomized', () => {
  it('random command sequences match redis, then DEBUG CHECK passes', async () => {
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const member = () => (rnd(10) === 0 ? 'long-' + 'q'.repeat(60 + rnd(10)) : `m${rnd(200)}`);
    const score = () => {
      const k = rnd(10);
      if (k === 0) return String(rnd(5));
      if (k === 1) return '-inf';
      if (k === 2) return String((rnd(2000) - 1000) / 8);
      return String(rnd(100));
    };
    const keys = ['k1', 'k2', 'k3'];
    const key = () => keys[rnd(keys.length)];
    const steps: Step[] = [];
    for (let i = 0; i < 700; i++) {
      const k = key();
      switch (rnd(18)) {
        case 0:
        case 1:
        case 2: {
          const a = ['ZADD', k];
          const n = 1 + rnd(20);
          for (let j = 0; j < n; j++) a.push(score(), member());
          steps.push(a);
          break;
        }
        case 3: steps.push(['ZINCRBY', k, score(), member()]); break;
        case 4: steps.push(['ZREM', k, member(), member(), member()]); break;
        case 5: steps.push(['ZRANGE', k, String(rnd(50) - 10), String(rnd(200) - 50), 'WITHSCORES']); break;
        case 6: steps.push(['ZRANGEBYSCORE', k, String(rnd(60)), `(${rnd(100)}`, 'WITHSCORES', 'LIMIT', String(rnd(5)), String(rnd(20) - 2)]); break;
        case 7: steps.push(['ZREVRANGEBYLEX', k, `[m${rnd(200)}`, '-', 'LIMIT', '0', String(rnd(10))]); break;
        case 8: steps.push(['ZRANK', k, member()], ['ZREVRANK', k, member()], ['ZSCORE', k, member()]); break;
        case 9: steps.push(['ZREMRANGEBYSCORE', k, String(rnd(100)), String(rnd(100))]); break;
        case 10: steps.push(['ZREMRANGEBYRANK', k, String(rnd(10)), String(rnd(10))]); break;
        case 11: steps.push(['ZPOPMIN', k, String(rnd(4))], ['ZPOPMAX', k]); break;
        case 12: steps.push(['ZUNIONSTORE', key(), '2', k, key(), 'WEIGHTS', '1', String(rnd(3)), 'AGGREGATE', ['SUM', 'MIN', 'MAX'][rnd(3)]]); break;
        case 13: steps.push(['ZINTERSTORE', key(), '2', k, key()]); break;
        case 14: steps.push(['ZDIFFSTORE', key(), '2', k, key()]); break;
        case 15: steps.push(['ZCOUNT', k, String(rnd(50)), String(rnd(100))], ['ZLEXCOUNT', k, `(m${rnd(200)}`, '+']); break;
        case 16: steps.push(['ZRANGESTORE', key(), k, String(rnd(10)), String(rnd(150))]); break;
        default: steps.push(['ZCARD', k], ['OBJECT', 'ENCODING', k]); break;
      }
    }
    for (const k of keys) steps.push(['ZRANGE', k, '0', '-1', 'WITHSCORES'], ['OBJECT', 'ENCODING', k]);
    await d.expectSame(steps);
    await d.shardis.check();
  });
});

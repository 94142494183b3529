// List commands: differential against redis-server 7.0 (replies, errors, OBJECT ENCODING),
// randomized sequences of list operations compared reply by reply and then DEBUG CHECK.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { script, startPair, type Pair, type Step } from '../helpers/diff';
import { RawClient } from '../helpers/resp';
import { rng } from '../helpers/util';

let d: Pair;
beforeAll(async () => {
  d = await startPair({ threads: 2 });
});
afterAll(async () => {
  await d?.stop();
});

const same = (text: string, opts?: { resp3?: boolean }) => d.expectSame(script(text), opts);

describe('list commands vs redis-server', () => {
  it('push, pop, length, index, range, encoding', () =>
    same(`
      RPUSH l a b c
      LPUSH l 1 2 3
      LRANGE l 0 -1
      LLEN l
      LLEN missing
      OBJECT ENCODING l
      TYPE l
      LINDEX l 0
      LINDEX l -1
      LINDEX l 100
      LINDEX l -100
      LINDEX l x
      LINDEX missing x
      LRANGE l -100 100
      LRANGE l 2 1
      LRANGE l -2 -1
      LRANGE l 5 100
      LRANGE l a 1
      LRANGE missing 0 -1
      LPUSHX missing a
      RPUSHX missing a
      LPUSHX l x y
      RPUSHX l z
      LPOP l
      RPOP l
      LPOP l 2
      RPOP l 0
      LPOP l -1
      LPOP l x
      LPOP l 1 2
      LPOP missing
      LPOP missing 0
      LPOP missing 3
      RPOP l 100
      EXISTS l
      RPUSH
      LPUSH l
    `));

  it('integers and big integers keep their text', () =>
    same(`
      RPUSH n 9223372036854775807 -9223372036854775808 9223372036854775808 12345678901234567 -100 100000 0 -0 007 +5 1.5 " 1"
      LRANGE n 0 -1
      LPOS n 9223372036854775807
      LPOS n 9223372036854775808
      LREM n 1 -9223372036854775808
      LINSERT n BEFORE 0 -1
      LSET n 0 4294967296
      LRANGE n 0 -1
      OBJECT ENCODING n
    `));

  it('LSET, LINSERT, LREM, LTRIM', () =>
    same(`
      LSET missing 0 a
      RPUSH l a b c a b c a
      LSET l 0 A
      LSET l -1 Z
      LSET l 7 x
      LSET l -8 x
      LSET l x y
      LRANGE l 0 -1
      LINSERT l BEFORE b X
      LINSERT l AFTER c Y
      LINSERT l AFTER nope Y
      LINSERT l MIDDLE b X
      LINSERT missing BEFORE a b
      LRANGE l 0 -1
      LREM l 1 b
      LREM l -1 c
      LREM l 0 a
      LREM l 0 nope
      LREM l x a
      LREM missing 0 a
      LRANGE l 0 -1
      LTRIM l 1 -2
      LRANGE l 0 -1
      LTRIM l 5 1
      EXISTS l
      LTRIM missing 0 1
      LTRIM missing x 1
      RPUSH t 1 2 3 4 5
      LTRIM t -100 100
      LTRIM t -3 -2
      LRANGE t 0 -1
    `));

  it('LPOS with RANK, COUNT, MAXLEN and errors', () =>
    same(`
      RPUSH l a b c a b c a
      LPOS l a
      LPOS l a RANK 2
      LPOS l a RANK -1
      LPOS l a RANK -3
      LPOS l a RANK 4
      LPOS l a COUNT 0
      LPOS l a COUNT 2
      LPOS l a COUNT 2 RANK -1
      LPOS l a COUNT 0 MAXLEN 4
      LPOS l c MAXLEN 2
      LPOS l a RANK 0
      LPOS l a RANK x
      LPOS l a COUNT -1
      LPOS l a COUNT x
      LPOS l a MAXLEN -1
      LPOS l a FOO
      LPOS l a RANK
      LPOS missing a
      LPOS missing a COUNT 1
      LPOS l zz COUNT 0
      LPOS l a RANK -9223372036854775808
      LPOS l a RANK 9223372036854775807
    `));

  it('RPOPLPUSH, LMOVE, LMPOP', () =>
    same(`
      RPUSH src a b c
      RPOPLPUSH src dst
      LMOVE src dst LEFT RIGHT
      LMOVE src src LEFT RIGHT
      LMOVE src dst MIDDLE RIGHT
      LRANGE src 0 -1
      LRANGE dst 0 -1
      RPOPLPUSH src src
      LMOVE src dst RIGHT LEFT
      EXISTS src
      RPOPLPUSH missing dst
      LMOVE missing dst LEFT LEFT
      RPUSH l 1 2 3 4 5
      LMPOP 2 missing l LEFT
      LMPOP 2 missing l RIGHT COUNT 2
      LMPOP 1 l LEFT COUNT 10
      LMPOP 1 l LEFT
      LMPOP 0 l LEFT
      LMPOP -1 l LEFT
      LMPOP x l LEFT
      LMPOP 3 l LEFT
      LMPOP 1 l MIDDLE
      LMPOP 1 l LEFT COUNT 0
      LMPOP 1 l LEFT COUNT 1 COUNT 1
      LMPOP 1 l LEFT FOO
      LMPOP 1 l
    `));

  it('WRONGTYPE everywhere', () =>
    same(`
      SET s x
      RPUSH l a
      LPUSH s a
      RPUSH s a
      LPUSHX s a
      RPUSHX s a
      LPOP s
      RPOP s 2
      LLEN s
      LINDEX s 0
      LRANGE s 0 -1
      LSET s 0 a
      LINSERT s BEFORE a b
      LREM s 0 a
      LTRIM s 0 1
      LPOS s a
      RPOPLPUSH s l
      RPOPLPUSH l s
      LMOVE l s LEFT LEFT
      LMPOP 2 missing s LEFT
      BLPOP missing s 0
      BRPOP s 0
      BRPOPLPUSH s l 0
      BRPOPLPUSH l s 0
      BLMOVE l s LEFT LEFT 0
      BLMPOP 0 2 missing s LEFT
      LRANGE l 0 -1
    `));

  it('blocking commands that need not block, and their errors', () =>
    same(`
      RPUSH a 1 2 3 4 5 6
      RPUSH b x
      BLPOP missing a 0
      BRPOP missing a 0
      BLPOP b a 1
      EXISTS b
      BRPOPLPUSH a b 0
      BLMOVE a b LEFT RIGHT 0
      BLMOVE a b LEFT MIDDLE 0
      LRANGE b 0 -1
      BLMPOP 0 2 missing b RIGHT COUNT 5
      BLPOP missing 0.01
      BRPOP missing 0.01
      BRPOPLPUSH missing dst 0.01
      BLMOVE missing dst LEFT RIGHT 0.01
      BLMPOP 0.01 1 missing LEFT
      BLPOP missing -1
      BLPOP missing abc
      BLPOP missing 1e400
      BLPOP missing inf
      BLPOP missing 0x1p-8
      BLPOP missing nan
      BLPOP missing " 1"
      BLMPOP x 1 missing LEFT
      BLMPOP 0 0 missing LEFT
      BLMPOP -1 1 missing LEFT
      BLMPOP 0 1 missing LEFT COUNT 0
      BLMPOP 0 1 missing
      MULTI
      BLPOP missing 0
      BRPOP missing 0
      BRPOPLPUSH missing dst 0
      BLMOVE missing dst LEFT LEFT 0
      BLMPOP 0 1 missing LEFT
      LPUSH missing v
      BLPOP missing 0
      EXEC
    `));

  it('RESP3 replies', () =>
    same(`
      RPUSH l a b
      LPOP missing
      LPOP missing 2
      LMPOP 1 missing LEFT
      LPOS missing a
      BLPOP missing 0.01
      LPOP l 5
    `, { resp3: true }));

  it('big elements and small nodes (several quicklist nodes)', async () => {
    const big = 'x'.repeat(3000);
    const steps: Step[] = [];
    for (let i = 0; i < 40; i++) steps.push(['RPUSH', 'l', `${big}${i}`, String(i), `s${i}`]);
    steps.push(['LLEN', 'l'], ['LINDEX', 'l', '50'], ['LRANGE', 'l', '30', '40'], ['LINSERT', 'l', 'BEFORE', '20', 'ins']);
    steps.push(['LSET', 'l', '61', 'y'.repeat(9000)], ['LRANGE', 'l', '55', '65'], ['LREM', 'l', '0', 's7']);
    steps.push(['LTRIM', 'l', '3', '-4'], ['LRANGE', 'l', '0', '-1'], ['OBJECT', 'ENCODING', 'l']);
    await d.expectSame(steps);
    await d.shardis.check();
  });
});

describe('multi-node lists built from both ends', () => {
  it('LPUSH-built and RPUSH-built lists, popped from both ends, edited in the middle', async () => {
    const steps: Step[] = [];
    const r = rng(99);
    for (let i = 0; i < 30; i++) {
      const args = ['LPUSH', 'q'];
      for (let j = 0; j < 100; j++) args.push(r() < 0.5 ? String(i * 1000 + j) : `v${i}-${j}-${'p'.repeat(Math.floor(r() * 40))}`);
      steps.push(args, ['RPUSH', 'q', ...args.slice(2, 40)]);
      if (i % 3 === 0) steps.push(['LPOP', 'q', String(1 + Math.floor(r() * 50))], ['RPOP', 'q', '7']);
      if (i % 5 === 0) steps.push(['LINDEX', 'q', String(Math.floor(r() * 500))], ['LSET', 'q', '3', 'set3'], ['LINSERT', 'q', 'AFTER', 'set3', 'after3']);
    }
    steps.push(['LLEN', 'q'], ['LRANGE', 'q', '0', '-1'], ['LRANGE', 'q', '-20', '-1'], ['LREM', 'q', '-3', 'set3']);
    for (let i = 0; i < 40; i++) steps.push(['LPOP', 'q', '60'], ['RPUSH', 'q', `t${i}`], ['LPUSH', 'q', `h${i}`], ['LINDEX', 'q', '-2']);
    steps.push(['LRANGE', 'q', '0', '-1'], ['LTRIM', 'q', '100', '-100'], ['LRANGE', 'q', '0', '-1'], ['RPOPLPUSH', 'q', 'q'], ['LMOVE', 'q', 'q2', 'LEFT', 'LEFT']);
    steps.push(['COPY', 'q', 'q3'], ['LRANGE', 'q3', '0', '-1'], ['LPOP', 'q', '100000'], ['EXISTS', 'q']);
    await d.expectSame(steps);
    await d.shardis.check();
  });
});

describe('randomized list sequences', () => {
  const elems = (r: () => number): string => {
    const x = r();
    if (x < 0.3) return String(Math.floor((r() - 0.5) * 2 ** Math.floor(r() * 40)));
    if (x < 0.35) return 'e'.repeat(Math.floor(r() * 5000));
    return ['a', 'b', 'c', 'd', 'hello', '', '-1', '0'][Math.floor(r() * 8)];
  };

  function randomScript(seed: number, n: number): Step[] {
    const r = rng(seed);
    const keys = ['k1', 'k2', '{t}a', '{t}b'];
    const key = () => keys[Math.floor(r() * keys.length)];
    const idx = () => String(Math.floor((r() - 0.5) * 30));
    const side = () => (r() < 0.5 ? 'LEFT' : 'RIGHT');
    const steps: Step[] = [];
    for (let i = 0; i < n; i++) {
      const op = Math.floor(r() * 16);
      const k = key();
      switch (op) {
        case 0: case 1: case 2: {
          const args = [r() < 0.5 ? 'LPUSH' : 'RPUSH', k];
          const m = 1 + Math.floor(r() * 6);
          for (let j = 0; j < m; j++) args.push(elems(r));
          steps.push(args);
          break;
        }
        case 3: steps.push([r() < 0.5 ? 'LPOP' : 'RPOP', k, ...(r() < 0.5 ? [String(Math.floor(r() * 4))] : [])]); break;
        case 4: steps.push(['LRANGE', k, idx(), idx()]); break;
        case 5: steps.push(['LINDEX', k, idx()]); break;
        case 6: steps.push(['LSET', k, idx(), elems(r)]); break;
        case 7: steps.push(['LINSERT', k, r() < 0.5 ? 'BEFORE' : 'AFTER', elems(r), elems(r)]); break;
        case 8: steps.push(['LREM', k, String(Math.floor((r() - 0.5) * 6)), elems(r)]); break;
        case 9: steps.push(['LTRIM', k, idx(), idx()]); break;
        case 10: steps.push(['LPOS', k, elems(r), 'RANK', String(r() < 0.5 ? 1 : -1), 'COUNT', String(Math.floor(r() * 3))]); break;
        case 11: steps.push(['LMOVE', k, key(), side(), side()]); break;
        case 12: steps.push(['LMPOP', '2', k, key(), side(), 'COUNT', String(1 + Math.floor(r() * 3))]); break;
        case 13: steps.push(['LLEN', k]); break;
        case 14: steps.push(['RPUSHX', k, elems(r)]); break;
        default: steps.push(['LRANGE', k, '0', '-1']); break;
      }
    }
    for (const k of keys) steps.push(['LRANGE', k, '0', '-1']);
    return steps;
  }

  it('matches redis-server, default node size', async () => {
    for (let seed = 1; seed <= 4; seed++) await d.expectSame(randomScript(seed, 300), { label: `seed ${seed}` });
    await d.shardis.check();
  });

  it('matches redis-server with list-max-listpack-size 3 and -1', async () => {
    for (const size of ['3', '-1']) {
      const c = await RawClient.connect(d.shardis.port);
      const r = await RawClient.connect(d.redis.port);
      await c.call('CONFIG', 'SET', 'list-max-listpack-size', size);
      await r.call('CONFIG', 'SET', 'list-max-listpack-size', size);
      for (let seed = 10; seed <= 12; seed++) await d.expectSame(randomScript(seed * 7 + size.length, 250), { label: `size ${size} seed ${seed}` });
      await d.shardis.check();
      await c.call('CONFIG', 'SET', 'list-max-listpack-size', '-2');
      await r.call('CONFIG', 'SET', 'list-max-listpack-size', '-2');
      c.close();
      r.close();
    }
  });

  it('long lists: O(1) ends, LINDEX/LRANGE near both ends', async () => {
    const c = await RawClient.connect(d.shardis.port);
    await c.call('DEL', 'long');
    const batch: string[] = [];
    for (let i = 0; i < 1000; i++) batch.push(String(i));
    for (let j = 0; j < 200; j++) await c.call('RPUSH', 'long', ...batch);
    const t0 = performance.now();
    for (let i = 0; i < 200; i++) {
      await c.call('LINDEX', 'long', '-1');
      await c.call('LRANGE', 'long', '-3', '-1');
      await c.call('LPUSH', 'long', 'h');
      await c.call('RPOP', 'long');
    }
    const ms = performance.now() - t0;
    expect(await c.call('LLEN', 'long')).toEqual({ t: 'int', v: 200000n });
    expect(ms).toBeLessThan(2000);
    await c.call('DEL', 'long');
    c.close();
  });
});

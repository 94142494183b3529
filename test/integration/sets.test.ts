// Set commands: differential against redis-server (replies, errors, OBJECT ENCODING), randomized
// sequences checked with DEBUG CHECK, properties of the random commands, and atomicity of
// multi-key commands under concurrent clients on several threads.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { script, startPair, type Pair, type Step } from '../helpers/diff';
import { RawClient, show, type Reply } from '../helpers/resp';
import { startShardis, type Server } from '../helpers/server';
import { rng, strings } from '../helpers/util';

let d: Pair;
beforeAll(async () => {
  d = await startPair({ threads: 2 });
});
afterAll(async () => {
  await d?.stop();
});

const same = (text: string, opts?: { resp3?: boolean }) => d.expectSame(script(text), opts);

describe('single-key set commands', () => {
  it('SADD / SREM / SISMEMBER / SMISMEMBER / SCARD / SMEMBERS', () =>
    same(`
      SADD s 1 2 3
      SADD s 3 4 4
      [unordered] SMEMBERS s
      OBJECT ENCODING s
      SISMEMBER s 3
      SISMEMBER s 03
      SISMEMBER s x
      SISMEMBER missing x
      SMISMEMBER s 1 x 4 -0 +1
      SMISMEMBER missing a b
      SCARD s
      SCARD missing
      SREM s 1 x 01
      SREM s 2 3 4
      EXISTS s
      SREM missing a
      SADD big 9223372036854775807 -9223372036854775808 0 70000 -3 32767 -32768 2147483648
      [unordered] SMEMBERS big
      OBJECT ENCODING big
      SISMEMBER big 9223372036854775807
      SISMEMBER big 9223372036854775808
      SREM big 9223372036854775807 -9223372036854775808
      [unordered] SMEMBERS big
      SADD big 9223372036854775808
      OBJECT ENCODING big
      [unordered] SMEMBERS big
      SADD str a
      SET str x
      SADD str a
      SREM str a
      SISMEMBER str a
      SMISMEMBER str a
      SCARD str
      SMEMBERS str
      SMEMBERS missing
      SADD s
      SREM s
      SISMEMBER s
      SMISMEMBER s
      SCARD
      SADD "" ""
      SISMEMBER "" ""
      SCARD ""
    `));

  it('encodings: intset -> hashtable on a non-integer member or beyond set-max-intset-entries', async () => {
    const ints = Array.from({ length: 512 }, (_, i) => String(i * 7 - 1000));
    const steps: Step[] = [
      ['SADD', 'a', ...ints],
      ['OBJECT', 'ENCODING', 'a'],
      ['SCARD', 'a'],
      ['SADD', 'a', '-1000'],
      ['OBJECT', 'ENCODING', 'a'],
      ['SADD', 'a', '99999'],
      ['OBJECT', 'ENCODING', 'a'],
      ['SCARD', 'a'],
      { cmd: ['SMEMBERS', 'a'], unordered: true },
      ['SREM', 'a', '99999'],
      ['OBJECT', 'ENCODING', 'a'],
      ['SADD', 'b', 'x', '1', '2'],
      ['OBJECT', 'ENCODING', 'b'],
      ['SADD', 'c', '1', 'x'],
      ['OBJECT', 'ENCODING', 'c'],
      ['SADD', 'e', '1', '2'],
      ['SADD', 'e', '1.5'],
      ['OBJECT', 'ENCODING', 'e'],
      ['SADD', 'f', '007'],
      ['OBJECT', 'ENCODING', 'f'],
      ['SADD', 'g', '-0'],
      ['OBJECT', 'ENCODING', 'g'],
      ['SADD', 'h', ' 1'],
      ['OBJECT', 'ENCODING', 'h'],
      ['CONFIG', 'SET', 'set-max-intset-entries', '3'],
      ['SADD', 'i', '1', '2', '3'],
      ['OBJECT', 'ENCODING', 'i'],
      ['SADD', 'i', '4'],
      ['OBJECT', 'ENCODING', 'i'],
      ['SADD', 'j', '1', '2', '3', '4'],
      ['OBJECT', 'ENCODING', 'j'],
      ['SADD', 'k', '1', '2', '3'],
      ['SADD', 'l', '3', '4', '5'],
      ['SUNIONSTORE', 'm', 'k', 'l'],
      ['OBJECT', 'ENCODING', 'm'],
      ['SINTERSTORE', 'n', 'k', 'l'],
      ['OBJECT', 'ENCODING', 'n'],
      ['SMOVE', 'k', 'newset', '1'],
      ['OBJECT', 'ENCODING', 'newset'],
      ['SMOVE', 'b', 'newset2', 'x'],
      ['OBJECT', 'ENCODING', 'newset2'],
      ['CONFIG', 'SET', 'set-max-intset-entries', '512'],
      ['SADD', 'o', 'x'],
      ['SREM', 'o', 'x'],
      ['SADD', 'o', '1'],
      ['OBJECT', 'ENCODING', 'o'],
    ];
    await d.expectSame(steps);
  });

  it('binary and large members', async () => {
    const bin = Buffer.from([0, 255, 13, 10, 0x80, 0x7f]);
    const large = Buffer.alloc(200_000, 0x61);
    const steps: Step[] = [
      { cmd: ['SADD', 'b', bin, large, Buffer.from('1'), Buffer.alloc(0)] },
      ['SCARD', 'b'],
      { cmd: ['SISMEMBER', 'b', bin] },
      { cmd: ['SISMEMBER', 'b', large] },
      { cmd: ['SISMEMBER', 'b', Buffer.concat([large, Buffer.from('x')])] },
      { cmd: ['SMEMBERS', 'b'], unordered: true },
      { cmd: ['SREM', 'b', large] },
      { cmd: ['SMEMBERS', 'b'], unordered: true },
      { cmd: ['SMOVE', 'b', 'c', bin] },
      { cmd: ['SMEMBERS', 'c'] },
      ['MULTI'],
      ['SADD', 'm', '1', '2'],
      ['SADD', 'n', '2', '3'],
      ['SINTERSTORE', 'o', 'm', 'n'],
      { cmd: ['SUNION', 'm', 'n'] },
      ['EXEC'],
      { cmd: ['SMEMBERS', 'o'] },
    ];
    await d.expectSame(steps);
  });

  it('SPOP / SRANDMEMBER: errors, empty and whole-set cases', () =>
    same(`
      SADD s 1 2 3
      SPOP missing
      SPOP missing 3
      SPOP s -1
      SPOP s abc
      SPOP s 0
      SPOP s 1 2
      SRANDMEMBER missing
      SRANDMEMBER missing 5
      SRANDMEMBER missing -5
      SRANDMEMBER s 0
      [unordered] SRANDMEMBER s 3
      [unordered] SRANDMEMBER s 10
      SRANDMEMBER s -9223372036854775808
      SRANDMEMBER s 9223372036854775808
      SRANDMEMBER s abc
      SRANDMEMBER s 1 2
      SET str x
      SPOP str
      SPOP str 2
      SPOP str abc
      SRANDMEMBER str
      SRANDMEMBER str 2
      [unordered] SPOP s 3
      EXISTS s
      SADD t a b c
      [unordered] SPOP t 100
      EXISTS t
      SADD u only
      SPOP u
      EXISTS u
      SADD v only
      SRANDMEMBER v
      SRANDMEMBER v -3
      SRANDMEMBER v 1
    `));

  it('SPOP / SRANDMEMBER in RESP3', () =>
    same(
      `
      SADD s 1 2 3
      SADD t a b c
      SPOP missing 3
      SPOP s 0
      SRANDMEMBER missing 5
      [unordered] SRANDMEMBER s 10
      [unordered] SRANDMEMBER t 10
      [unordered] SPOP s 10
      [unordered] SPOP t 3
      SRANDMEMBER x
      SPOP x
      SADD v only
      SRANDMEMBER v -2
      SPOP v 1
    `,
      { resp3: true },
    ));

  it('SPOP / SRANDMEMBER pick distinct members of the set', async () => {
    const c = await RawClient.connect(d.shardis.port);
    try {
      for (const [key, members] of [
        ['ints', Array.from({ length: 40 }, (_, i) => String(i * 3))],
        ['strs', Array.from({ length: 700 }, (_, i) => `m${i}`)],
      ] as const) {
        await c.call('DEL', key);
        await c.call('SADD', key, ...members);
        const all = new Set<string>(members);
        for (const n of [1, 2, 5, 13, 30, 39, 300]) {
          const got = strings(await c.call('SRANDMEMBER', key, n));
          expect(got.length).toBe(Math.min(n, members.length));
          expect(new Set(got).size).toBe(got.length);
          for (const m of got) expect(all.has(m)).toBe(true);
        }
        const rep = strings(await c.call('SRANDMEMBER', key, -100));
        expect(rep.length).toBe(100);
        for (const m of rep) expect(all.has(m)).toBe(true);
        // SPOP removes what it returns
        const popped = strings(await c.call('SPOP', key, 7));
        expect(new Set(popped).size).toBe(7);
        for (const m of popped) {
          expect(all.has(m)).toBe(true);
          expect(await c.call('SISMEMBER', key, m)).toEqual({ t: 'int', v: 0n });
        }
        expect(await c.call('SCARD', key)).toEqual({ t: 'int', v: BigInt(members.length - 7) });
        const one = await c.call('SPOP', key);
        expect(one.t).toBe('bulk');
        const rest = strings(await c.call('SMEMBERS', key));
        expect(rest.length).toBe(members.length - 8);
        // every member is drawn eventually by SRANDMEMBER
        const seen = new Set<string>();
        for (let i = 0; i < 100 && seen.size < rest.length; i++) {
          for (const m of strings(await c.call('SRANDMEMBER', key, -200))) seen.add(m);
        }
        expect(seen.size).toBe(rest.length);
      }
      await d.shardis.check();
    } finally {
      await c.close();
    }
  });
});

describe('multi-key set commands', () => {
  it('SMOVE', () =>
    same(`
      SADD s 1 2 3
      SADD t a b
      SET str x
      SMOVE s t 1
      [unordered] SMEMBERS t
      OBJECT ENCODING t
      SMOVE s t 1
      SMOVE s d 2
      OBJECT ENCODING d
      SMOVE s d2 3
      EXISTS s
      SMOVE missing t a
      SMOVE t str a
      SMOVE str t a
      SMOVE t t a
      SMOVE t t zz
      SMOVE missing str a
      SMOVE t missing2 zz
      EXISTS missing2
      SADD i 1 2
      SMOVE t i a
      OBJECT ENCODING i
      SMOVE d i 2
      SCARD i
      SMOVE s
    `));

  it('SINTER / SINTERSTORE / SINTERCARD', () =>
    same(`
      SADD a 1 2 3 4 x y
      SADD b 2 3 4 5 y z
      SADD c 3 4 y
      SADD i1 1 2 3 4 5 6
      SADD i2 4 5 6 7
      SET str v
      [unordered] SINTER a b
      [unordered] SINTER a b c
      [unordered] SINTER i1 i2
      [unordered] SINTER i1 a
      [unordered] SINTER a i1
      [unordered] SINTER a a
      SINTER a missing
      SINTER missing a
      SINTER a str
      SINTER missing str
      SINTER str missing
      SINTERSTORE d a b c
      [unordered] SMEMBERS d
      OBJECT ENCODING d
      SINTERSTORE d i1 i2
      OBJECT ENCODING d
      [unordered] SMEMBERS d
      SINTERSTORE d a missing
      EXISTS d
      SINTERSTORE str a b
      TYPE str
      SET str v
      SINTERSTORE d a str
      SINTERSTORE a a b
      [unordered] SMEMBERS a
      SINTERSTORE e i1 a
      SETEX ttl 100 v
      SINTERSTORE ttl i1 i2
      TTL ttl
      SINTERCARD 2 a b
      SINTERCARD 3 a b c
      SINTERCARD 2 a b LIMIT 1
      SINTERCARD 2 a b LIMIT 0
      SINTERCARD 2 a b limit 100
      SINTERCARD 1 missing
      SINTERCARD 2 a missing
      SINTERCARD 2 a str
      SINTERCARD 0 a
      SINTERCARD -1 a
      SINTERCARD abc a
      SINTERCARD 3 a b
      SINTERCARD 2 a b LIMIT -1
      SINTERCARD 2 a b LIMIT abc
      SINTERCARD 2 a b LIMIT
      SINTERCARD 2 a b foo 1
      SINTERCARD 2 a b LIMIT 1 LIMIT 2
      SINTER
      SINTERSTORE d
      SINTERCARD 1
    `));

  it('SUNION / SUNIONSTORE / SDIFF / SDIFFSTORE', () =>
    same(`
      SADD a 1 2 3 4 x y
      SADD b 2 3 4 5 y z
      SADD c 3 4 y
      SADD i1 1 2 3
      SADD i2 3 4 5
      SET str v
      [unordered] SUNION a b
      [unordered] SUNION i1 i2
      [unordered] SUNION a missing c
      SUNION missing
      SUNION a str
      SUNION missing str
      SUNIONSTORE u i1 i2
      OBJECT ENCODING u
      [unordered] SMEMBERS u
      SUNIONSTORE u a i1
      OBJECT ENCODING u
      SUNIONSTORE u missing missing2
      EXISTS u
      SUNIONSTORE a a i2
      [unordered] SMEMBERS a
      [unordered] SDIFF a b
      [unordered] SDIFF a b c
      [unordered] SDIFF i1 i2
      [unordered] SDIFF a missing
      SDIFF missing a
      SDIFF a a
      SDIFF a b a
      SDIFF a str
      SDIFF str a
      SDIFFSTORE dd a b
      [unordered] SMEMBERS dd
      OBJECT ENCODING dd
      SDIFFSTORE dd i1 i2
      OBJECT ENCODING dd
      SDIFFSTORE dd a a
      EXISTS dd
      SDIFFSTORE str a b
      TYPE str
      SUNION
      SDIFF
      SUNIONSTORE x
      SDIFFSTORE x
    `));

  it('SDIFF with a big first set and small others, and the reverse', async () => {
    const big = Array.from({ length: 300 }, (_, i) => `e${i}`);
    const steps: Step[] = [
      ['SADD', 'big', ...big],
      ['SADD', 's1', 'e1', 'e2', 'zz'],
      ['SADD', 's2', 'e3', 'e299', 'yy'],
      { cmd: ['SDIFF', 'big', 's1', 's2'], unordered: true },
      { cmd: ['SDIFF', 's1', 'big', 's2'], unordered: true },
      { cmd: ['SDIFF', 's2', 's1', 'big'], unordered: true },
      ['SDIFFSTORE', 'out', 'big', 's1', 's2'],
      ['SCARD', 'out'],
      ['SDIFFSTORE', 'out', 's1', 'big'],
      { cmd: ['SMEMBERS', 'out'], unordered: true },
    ];
    await d.expectSame(steps);
  });

  it('RESP3 replies', () =>
    same(
      `
      SADD a 1 2 3 x
      SADD b 2 3 y
      [unordered] SMEMBERS a
      SMEMBERS missing
      [unordered] SINTER a b
      SINTER a missing
      [unordered] SUNION a b
      [unordered] SDIFF a b
      SMISMEMBER a 1 q
      SINTERCARD 2 a b
      SSCAN missing 0
    `,
      { resp3: true },
    ));
});

describe('SSCAN', () => {
  it('errors, options and small sets', () =>
    same(`
      SADD s 1 2 3 10 20 30
      SADD h a b c ab ac bc
      SET str v
      [unordered] SSCAN s 0
      [unordered] SSCAN s 0 MATCH 1*
      [unordered] SSCAN s 0 MATCH *0 COUNT 1
      [unordered] SSCAN s 123
      SSCAN s abc
      SSCAN s -1
      SSCAN s 18446744073709551616
      SSCAN s " 0"
      SSCAN s 0 COUNT 0
      SSCAN s 0 COUNT -1
      SSCAN s 0 COUNT abc
      SSCAN s 0 MATCH
      SSCAN s 0 TYPE string
      SSCAN s 0 foo bar
      SSCAN missing 0
      SSCAN missing 0 COUNT 0
      SSCAN missing abc
      SSCAN str 0
      SSCAN str 0 COUNT 0
      [unordered] SSCAN h 0 MATCH a*
      [unordered] SSCAN h 0 MATCH *c COUNT 100
      [unordered] SSCAN h 0 match [ab]c
      SSCAN s
    `));

  it('a full scan of a big set returns every member, across growth and shrinking', async () => {
    const c = await RawClient.connect(d.shardis.port);
    try {
      const members = Array.from({ length: 3000 }, (_, i) => `member:${i}`);
      await c.call('DEL', 'big');
      for (let i = 0; i < members.length; i += 500) await c.call('SADD', 'big', ...members.slice(i, i + 500));
      const scanAll = async (during?: (round: number) => Promise<void>): Promise<Set<string>> => {
        const got = new Set<string>();
        let cursor = '0';
        let round = 0;
        do {
          const r = await c.call('SSCAN', 'big', cursor, 'COUNT', 50);
          if (r.t !== 'array' || r.v === null) throw new Error(show(r));
          cursor = (r.v[0] as { v: Buffer }).v.toString();
          for (const m of strings(r.v[1])) got.add(m);
          if (during) await during(round++);
        } while (cursor !== '0');
        return got;
      };
      const all = await scanAll();
      expect(all.size).toBe(members.length);
      // members present for the whole scan are returned even while the table grows
      const extra = Array.from({ length: 5000 }, (_, i) => `extra:${i}`);
      const seen = await scanAll(async (round) => {
        if (round < 10) await c.call('SADD', 'big', ...extra.slice(round * 500, round * 500 + 500));
      });
      for (const m of members) expect(seen.has(m)).toBe(true);
      // ... and while it shrinks
      const seen2 = await scanAll(async (round) => {
        if (round < 10) await c.call('SREM', 'big', ...extra.slice(round * 500, round * 500 + 500));
      });
      for (const m of members) expect(seen2.has(m)).toBe(true);
      expect(await c.call('SCARD', 'big')).toEqual({ t: 'int', v: 3000n });
      // a MATCH scan
      let cursor = '0';
      const matched: string[] = [];
      do {
        const r = await c.call('SSCAN', 'big', cursor, 'MATCH', 'member:1??', 'COUNT', 100);
        if (r.t !== 'array' || r.v === null) throw new Error(show(r));
        cursor = (r.v[0] as { v: Buffer }).v.toString();
        matched.push(...strings(r.v[1]));
      } while (cursor !== '0');
      expect(new Set(matched)).toEqual(new Set(members.filter((m) => /^member:1..$/.test(m))));
      // shrink to a few members: still consistent
      await c.call('SREM', 'big', ...members.slice(5));
      expect(new Set(strings(await c.call('SMEMBERS', 'big')))).toEqual(new Set(members.slice(0, 5)));
      await d.shardis.check();
    } finally {
      await c.close();
    }
  });
});

describe('randomized sequences against redis-server', () => {
  const keys = ['s1', 's2', 's3', 's4', 'str'];
  const pool = [
    '0', '1', '2', '-1', '7', '100', '32767', '32768', '-32769', '2147483647', '2147483648', '-2147483649',
    '9223372036854775807', '-9223372036854775808', '9223372036854775808', '01', 'a', 'b', 'c', 'hello', '', '1.5',
  ];
  const gen = (seed: number, n: number): Step[] => {
    const r = rng(seed);
    const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)];
    const members = (): string[] => Array.from({ length: 1 + Math.floor(r() * 6) }, () => (r() < 0.7 ? pick(pool) : `m${Math.floor(r() * 40)}`));
    const steps: Step[] = [['CONFIG', 'SET', 'set-max-intset-entries', pick(['4', '8', '512'])], ['SET', 'str', 'x']];
    for (let i = 0; i < n; i++) {
      const k = pick(keys);
      const k2 = pick(keys);
      const x = r();
      if (x < 0.3) steps.push(['SADD', k, ...members()]);
      else if (x < 0.42) steps.push(['SREM', k, ...members()]);
      else if (x < 0.5) steps.push(['SMOVE', k, k2, pick(pool)]);
      else if (x < 0.55) steps.push(['SINTERSTORE', pick(keys), k, k2]);
      else if (x < 0.6) steps.push(['SUNIONSTORE', pick(keys), k, k2]);
      else if (x < 0.65) steps.push(['SDIFFSTORE', pick(keys), k, k2, pick(keys)]);
      else if (x < 0.7) steps.push({ cmd: ['SMEMBERS', k], unordered: true });
      else if (x < 0.74) steps.push({ cmd: ['SINTER', k, k2], unordered: true });
      else if (x < 0.78) steps.push({ cmd: ['SUNION', k, k2], unordered: true });
      else if (x < 0.82) steps.push({ cmd: ['SDIFF', k, k2], unordered: true });
      else if (x < 0.86) steps.push(['SMISMEMBER', k, ...members()]);
      else if (x < 0.89) steps.push(['SCARD', k]);
      else if (x < 0.92) steps.push(['OBJECT', 'ENCODING', k]);
      else if (x < 0.94) steps.push(['SINTERCARD', '2', k, k2, 'LIMIT', String(Math.floor(r() * 4))]);
      else if (x < 0.96) steps.push({ cmd: ['SPOP', k, '1000'], unordered: true });
      else if (x < 0.98) steps.push(['CONFIG', 'SET', 'set-max-intset-entries', pick(['4', '8', '512'])]);
      else steps.push(['SET', 'str', 'x']);
    }
    steps.push(['CONFIG', 'SET', 'set-max-intset-entries', '512']);
    for (const k of keys) steps.push({ cmd: ['SMEMBERS', k], unordered: true }, ['OBJECT', 'ENCODING', k]);
    return steps;
  };

  // SHARDIS_FUZZ_SEEDS=100 runs seeds 1..100 instead (a longer local fuzz).
  const seeds = process.env.SHARDIS_FUZZ_SEEDS ? Array.from({ length: Number(process.env.SHARDIS_FUZZ_SEEDS) }, (_, i) => i + 1) : [1, 2, 3, 4];
  for (const seed of seeds) {
    it(`seed ${seed}`, async () => {
      await d.expectSame(gen(seed, 400), { label: `seed ${seed}` });
      await d.shardis.check();
    });
  }
});

describe('atomicity with concurrent clients on 3 threads', () => {
  let s: Server;
  beforeAll(async () => {
    s = await startShardis({ threads: 3 });
  });
  afterAll(async () => {
    await s?.stop();
  });

  it('SMOVE and SINTERSTORE / SUNIONSTORE never show a half-done move', async () => {
    // Big enough that SUNIONSTORE / SINTERSTORE iterate for a while: without slot locks, a move
    // landing mid-iteration would be seen twice or not at all.
    const N = 3000;
    const setup = await RawClient.connect(s.port);
    // Keys in different slots, so every command locks several slots.
    const A = 'left-set';
    const B = 'right-set';
    const members = Array.from({ length: N }, (_, i) => (i % 2 === 0 ? String(i) : `m${i}`));
    await setup.call('SADD', A, ...members.slice(0, N / 2));
    await setup.call('SADD', B, ...members.slice(N / 2));
    // Put movers and checkers on different worker threads: DEBUG THREAD-SLEEP blocks the thread of
    // conns[0], and a connection whose PING still answers at once runs on another thread.
    const conns = await Promise.all(Array.from({ length: 12 }, () => RawClient.connect(s.port)));
    const same: RawClient[] = [conns[0]];
    const other: RawClient[] = [];
    for (const c of conns.slice(1)) {
      const sleeping = conns[0].call('DEBUG', 'THREAD-SLEEP', '0.1');
      await new Promise((r) => setTimeout(r, 10));
      const t0 = Date.now();
      await c.call('PING');
      (Date.now() - t0 < 50 ? other : same).push(c);
      await sleeping;
    }
    const crossThread = other.length > 0 && same.length > 0;
    const movers = crossThread ? other.slice(0, 4) : conns.slice(0, 4);
    const checkers = crossThread ? same.slice(0, 3) : conns.slice(4, 7);
    let stop = false;
    const bad: string[] = [];
    let moves = 0;
    let checks = 0;
    const moveLoop = async (c: RawClient, seed: number): Promise<void> => {
      const r = rng(seed);
      while (!stop) {
        // a pipeline of moves per round trip (some with the same source and destination)
        for (let i = 0; i < 64; i++) c.send('SMOVE', r() < 0.5 ? A : B, r() < 0.5 ? A : B, members[Math.floor(r() * N)]);
        for (let i = 0; i < 64; i++) {
          const rep = await c.read();
          if (rep.t !== 'int') bad.push(`SMOVE: ${show(rep)}`);
        }
        moves += 64;
      }
    };
    const checkLoop = async (c: RawClient, i: number): Promise<void> => {
      const dst1 = `inter-${i}`;
      const dst2 = `union-${i}`;
      while (!stop) {
        c.send('SINTERSTORE', dst1, A, B);
        c.send('SUNIONSTORE', dst2, A, B);
        c.send('SINTERCARD', '2', A, B);
        c.send('SUNION', A, B);
        c.send('SDIFFSTORE', dst1, A, B);
        const inter = await c.read();
        const union = await c.read();
        const card = await c.read();
        const sun = await c.read();
        const diff = await c.read();
        if (inter.t !== 'int' || inter.v !== 0n) bad.push(`SINTERSTORE saw a member in both sets: ${show(inter)}`);
        if (union.t !== 'int' || union.v !== BigInt(N)) bad.push(`SUNIONSTORE saw ${show(union)} members`);
        if (card.t !== 'int' || card.v !== 0n) bad.push(`SINTERCARD: ${show(card)}`);
        if (strings(sun).length !== N) bad.push(`SUNION saw ${strings(sun).length} members`);
        if (diff.t !== 'int') bad.push(`SDIFFSTORE: ${show(diff)}`);
        checks++;
      }
    };
    const runs = [...movers.map((c, i) => moveLoop(c, i + 1)), ...checkers.map((c, i) => checkLoop(c, i))];
    // At least 1.5 s, and until enough moves and checks ran (a loaded machine runs fewer per second).
    const t0 = Date.now();
    while (Date.now() - t0 < 1500 || ((checks <= 20 || moves <= 100) && Date.now() - t0 < 20000)) {
      await new Promise((r) => setTimeout(r, 100));
    }
    stop = true;
    await Promise.all(runs);
    expect(bad.slice(0, 5)).toEqual([]);
    expect(moves).toBeGreaterThan(100);
    expect(checks).toBeGreaterThan(20);
    const a = strings(await setup.call('SMEMBERS', A));
    const b = strings(await setup.call('SMEMBERS', B));
    expect(new Set([...a, ...b])).toEqual(new Set(members));
    expect(a.length + b.length).toBe(N);
    await Promise.all([...conns, setup].map((c) => c.close()));
    await s.check();
  }, 60000);
});

// ---- the structures underneath, driven directly on a heap ---------------------------------

describe('dict and intset structures (in-process)', () => {
  const mk = async () => {
    const { Heap } = await import('../../src/store/heap');
    return new Heap(Heap.create(64 * 1024 * 1024), 0);
  };

  it('dict: all three kinds, growth, shrink, scan, random, copy, free without leaks', async () => {
    const dict = await import('../../src/store/dict');
    const heap = await mk();
    const r = rng(7);
    for (const kind of [dict.DICT_SET, dict.DICT_HASH, dict.DICT_ZSET]) {
      const before = heap.usedBytes();
      const d = dict.dictCreate(heap, kind);
      const model = new Map<string, string | number>();
      const key = (i: number) => Buffer.from(`k${i}`);
      for (let step = 0; step < 20000; step++) {
        const i = Math.floor(r() * 3000);
        const k = key(i);
        const x = r();
        if (x < 0.6) {
          if (kind === dict.DICT_HASH) {
            const v = 'v'.repeat(Math.floor(r() * 90));
            expect(dict.dictSet(heap, d, k, Buffer.from(v))).toBe(!model.has(k.toString()));
            model.set(k.toString(), v);
          } else if (kind === dict.DICT_ZSET) {
            const score = r() * 100 - 50;
            const e = dict.dictAddScore(heap, d, k, score);
            if (e === 0) dict.dictSetScore(heap, dict.dictExisting, score);
            model.set(k.toString(), score);
          } else {
            expect(dict.dictAdd(heap, d, k) !== 0).toBe(!model.has(k.toString()));
            model.set(k.toString(), 1);
          }
        } else {
          expect(dict.dictDelete(heap, d, k)).toBe(model.delete(k.toString()));
        }
        if (step === 15000) {
          // shrink hard
          for (const mk of [...model.keys()].slice(20)) {
            expect(dict.dictDelete(heap, d, Buffer.from(mk))).toBe(true);
            model.delete(mk);
          }
        }
      }
      expect(dict.dictSize(heap, d)).toBe(model.size);
      for (const [k, v] of model) {
        const e = dict.dictFind(heap, d, Buffer.from(k));
        expect(e).not.toBe(0);
        if (kind === dict.DICT_HASH) expect(Buffer.from(dict.dictVal(heap, e)).toString()).toBe(v);
        if (kind === dict.DICT_ZSET) expect(dict.dictScore(heap, e)).toBe(v);
        expect(Buffer.from(dict.dictKey(heap, kind, e)).toString()).toBe(k);
      }
      // iteration and scan see every member once
      const it = new dict.DictIter().init(heap, d);
      const seen: string[] = [];
      for (let e = it.next(); e !== 0; e = it.next()) seen.push(Buffer.from(dict.dictKey(heap, kind, e)).toString());
      expect(seen.sort()).toEqual([...model.keys()].sort());
      const scanned = new Set<string>();
      let cursor = 0;
      const out: number[] = [];
      do {
        out.length = 0;
        cursor = dict.dictScan(heap, d, cursor, out);
        for (const e of out) scanned.add(Buffer.from(dict.dictKey(heap, kind, e)).toString());
      } while (cursor !== 0);
      expect(scanned).toEqual(new Set(model.keys()));
      for (let i = 0; i < 50; i++) {
        const e = dict.dictRandom(heap, d);
        expect(model.has(Buffer.from(dict.dictKey(heap, kind, e)).toString())).toBe(true);
      }
      const problems: string[] = [];
      dict.dictCheck(heap, d, problems);
      const cp = dict.dictCopy(heap, d);
      dict.dictCheck(heap, cp, problems);
      expect(problems).toEqual([]);
      expect(dict.dictSize(heap, cp)).toBe(model.size);
      dict.dictFree(heap, cp);
      dict.dictFree(heap, d);
      expect(heap.usedBytes()).toBe(before);
    }
  });

  it('intset: int16/int32/int64 upgrades, sorted, find/remove, free without leaks', async () => {
    const is = await import('../../src/store/intset');
    const heap = await mk();
    const before = heap.usedBytes();
    const r = rng(3);
    let p = is.intsetNew(heap);
    const model = new Set<bigint>();
    const edge = [0n, 1n, -1n, 32767n, -32768n, 32768n, -32769n, 2147483647n, -2147483648n, 2147483648n, -2147483649n,
      9007199254740993n, -9007199254740993n, 9223372036854775807n, -9223372036854775808n];
    const val = (): bigint => {
      const x = r();
      if (x < 0.2) return edge[Math.floor(r() * edge.length)];
      if (x < 0.6) return BigInt(Math.floor(r() * 200) - 100);
      if (x < 0.8) return BigInt(Math.floor(r() * 2 ** 40) - 2 ** 39);
      return BigInt.asIntN(64, BigInt(Math.floor(r() * 2 ** 32)) * 4294967296n + BigInt(Math.floor(r() * 2 ** 32)));
    };
    const arg = (v: bigint): number | bigint => (v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v);
    for (let i = 0; i < 4000; i++) {
      const v = val();
      if (r() < 0.65) {
        p = is.intsetAdd(heap, p, arg(v));
        expect(is.intsetChanged).toBe(!model.has(v));
        model.add(v);
      } else {
        p = is.intsetRemove(heap, p, arg(v));
        expect(is.intsetChanged).toBe(model.delete(v));
      }
      if (i % 500 === 0) {
        const problems: string[] = [];
        is.intsetCheck(heap, p, problems);
        expect(problems).toEqual([]);
      }
    }
    const sorted = [...model].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    expect(is.intsetLen(heap, p)).toBe(sorted.length);
    const buf = Buffer.alloc(24);
    for (let i = 0; i < sorted.length; i++) {
      expect(BigInt(is.intsetGet(heap, p, i))).toBe(sorted[i]);
      expect(buf.toString('latin1', 0, is.intsetFormat(heap, p, i, buf, 0))).toBe(sorted[i].toString());
      expect(is.intsetFind(heap, p, arg(sorted[i]))).toBe(true);
    }
    expect(is.intsetEncoding(heap, p)).toBe(8);
    const cp = is.intsetCopy(heap, p);
    expect(is.intsetLen(heap, cp)).toBe(sorted.length);
    is.intsetFree(heap, cp);
    // Redis's blob layout: encoding u32, length u32, values little endian
    const blob = Buffer.from(is.intsetBlob(heap, p));
    expect(blob.readUInt32LE(0)).toBe(8);
    expect(blob.readUInt32LE(4)).toBe(sorted.length);
    expect(blob.readBigInt64LE(8)).toBe(sorted[0]);
    const loaded = is.intsetLoad(heap, blob);
    expect(loaded).not.toBe(0);
    expect(Buffer.from(is.intsetBlob(heap, loaded)).equals(blob)).toBe(true);
    is.intsetFree(heap, loaded);
    const bad = Buffer.from(blob);
    bad.writeBigInt64LE(sorted[1], 8 + 16); // breaks the order
    expect(is.intsetLoad(heap, bad)).toBe(0);
    expect(is.intsetLoad(heap, Buffer.from([2, 0, 0, 0, 1, 0, 0, 0, 5]))).toBe(0);
    const small = is.intsetLoad(heap, Buffer.from([2, 0, 0, 0, 2, 0, 0, 0, 0xff, 0xff, 5, 0]));
    expect([is.intsetGet(heap, small, 0), is.intsetGet(heap, small, 1)]).toEqual([-1, 5]);
    is.intsetFree(heap, small);
    is.intsetFree(heap, p);
    expect(heap.usedBytes()).toBe(before);
  });
});

describe('helpers for other modules (in-process)', () => {
  it('createSetFrom / setMembersOf', async () => {
    const { Heap } = await import('../../src/store/heap');
    const { E_INTSET, E_HASHTABLE } = await import('../../src/store/keyspace');
    const st = await import('../../src/store/set');
    const heap = new Heap(Heap.create(16 * 1024 * 1024), 0);
    const b = (xs: string[]) => xs.map((x) => Buffer.from(x));
    const a = st.createSetFrom(heap, b(['3', '1', '2', '1']), 512);
    expect(a.enc).toBe(E_INTSET);
    expect(st.setMembersOf(heap, a.enc, a.ptr).map(String)).toEqual(['1', '2', '3']);
    const c = st.createSetFrom(heap, b(['1', 'x']), 512);
    expect(c.enc).toBe(E_HASHTABLE);
    expect(new Set(st.setMembersOf(heap, c.enc, c.ptr).map(String))).toEqual(new Set(['1', 'x']));
    const d2 = st.createSetFrom(heap, b(['1', '2', '3']), 2);
    expect(d2.enc).toBe(E_HASHTABLE);
    expect(st.setMembersOf(heap, d2.enc, d2.ptr).length).toBe(3);
  });
});

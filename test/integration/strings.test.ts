// String family, beyond test/diff/strings.test.ts: randomized differential runs against
// redis-server (INCRBYFLOAT's long double arithmetic, bit ranges on binary data, BITFIELD),
// OBJECT ENCODING after every writer, WRONGTYPE, COMMAND metadata, in-place APPEND growth,
// and exact INCR totals from parallel clients on a multi-threaded server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Redis from 'ioredis';
import { script, startPair, type Pair, type Step } from '../helpers/diff';
import { RawClient, show, type Reply } from '../helpers/resp';
import { startShardis, type Server } from '../helpers/server';
import { commands } from '../../src/commands/strings';
import { rng } from '../helpers/util';

let d: Pair;
beforeAll(async () => {
  d = await startPair({ threads: 2 });
});
afterAll(async () => {
  await d?.stop();
});

const same = (text: string, opts?: { resp3?: boolean }) => d.expectSame(script(text), opts);

describe('INCRBYFLOAT (x87 long double, "%.17Lf" human format)', () => {
  it('fixed cases', () =>
    same(`
      INCRBYFLOAT f 0.1
      INCRBYFLOAT f 0.2
      INCRBYFLOAT f 0.3
      INCRBYFLOAT g 1e20
      INCRBYFLOAT h 5.0e3
      OBJECT ENCODING h
      INCRBYFLOAT i 1e400
      OBJECT ENCODING i
      INCRBYFLOAT i -1e400
      INCRBYFLOAT j 1e300
      INCRBYFLOAT j 1
      INCRBYFLOAT k 3.0000000000000004
      INCRBYFLOAT k 1.1
      INCRBYFLOAT l 1e-20
      INCRBYFLOAT l -1e-20
      INCRBYFLOAT m 0x1.8p3
      INCRBYFLOAT m 0X10
      INCRBYFLOAT n 1.18e4932
      INCRBYFLOAT n 1e4932
      INCRBYFLOAT o 1.5e-4940
      INCRBYFLOAT p 0.000000000000000005
      INCRBYFLOAT q 0.000000000000000015
      INCRBYFLOAT r -0.000000000000000015
      INCRBYFLOAT s 9223372036854775807
      INCRBYFLOAT s 1
      INCRBYFLOAT t +.5
      INCRBYFLOAT t 5.
      INCRBYFLOAT u 3.14159265358979323846264338327950288
      INCRBYFLOAT v inf
      INCRBYFLOAT v -Infinity
      INCRBYFLOAT v nan
      INCRBYFLOAT v 1e
      INCRBYFLOAT v " 1"
      INCRBYFLOAT v "1 "
      INCRBYFLOAT v 1e5000
      INCRBYFLOAT v 1e-5000
      INCRBYFLOAT v 0x
      INCRBYFLOAT v ""
      EXISTS v
      SET w 10
      INCRBYFLOAT w 1.5
      OBJECT ENCODING w
      SET w abc
      INCRBYFLOAT w 1
      SET w 1e400
      INCRBYFLOAT w -1e400
      SET x 5 EX 100
      INCRBYFLOAT x 1
      [approx] TTL x
      INCRBYFLOAT x
      INCRBYFLOAT x 1 2
    `));

  it('random sums match redis-server digit for digit', async () => {
    const r = rng(7);
    const num = (): string => {
      const kind = Math.floor(r() * 6);
      const sign = r() < 0.3 ? '-' : '';
      const digits = (n: number) => Array.from({ length: n }, () => Math.floor(r() * 10)).join('');
      switch (kind) {
        case 0: return `${sign}${digits(1 + Math.floor(r() * 3))}.${digits(1 + Math.floor(r() * 4))}`;
        case 1: return `${sign}0.${digits(1 + Math.floor(r() * 20))}`;
        case 2: return `${sign}${digits(1 + Math.floor(r() * 25))}`;
        case 3: return `${sign}${1 + Math.floor(r() * 9)}.${digits(3)}e${Math.floor(r() * 60) - 30}`;
        case 4: return `${sign}${(r() * 1000).toString()}`;
        default: return `${sign}${1 + Math.floor(r() * 9)}e${Math.floor(r() * 700) - 350}`;
      }
    };
    const steps: Step[] = [];
    for (let k = 0; k < 12; k++) {
      for (let i = 0; i < 25; i++) steps.push(['INCRBYFLOAT', `f${k}`, num()]);
      steps.push(['GET', `f${k}`]);
    }
    await d.expectSame(steps);
  });
});

describe('64-bit integer counters', () => {
  it('exact beyond 2^53, overflow errors', () =>
    same(`
      SET n 9007199254740991
      INCR n
      INCR n
      INCRBY n 9007199254740993
      DECRBY n 18014398509481987
      INCRBY n -9007199254740993
      GET n
      SET n 9223372036854775806
      INCR n
      INCR n
      GET n
      OBJECT ENCODING n
      DECRBY n 9223372036854775807
      DECRBY n 9223372036854775807
      DECR n
      DECR n
      INCRBY n -1
      DECRBY n -9223372036854775808
      INCRBY n 9223372036854775808
      SET n -9223372036854775808
      DECR n
      INCRBY n 9223372036854775807
      INCRBY n 9223372036854775807
      INCRBY n 9223372036854775807
      SET n 99999999999999999999
      INCR n
      SET n 12345678901234567
      DECRBY n -1
      OBJECT ENCODING n
      INCRBY fresh -42
      OBJECT ENCODING fresh
    `));
});

describe('OBJECT ENCODING after each writer', () => {
  it('int / embstr / raw as Redis decides', () =>
    same(`
      SET a 123
      OBJECT ENCODING a
      SET a -9223372036854775808
      OBJECT ENCODING a
      SET a 9223372036854775808
      OBJECT ENCODING a
      SET a 0123
      OBJECT ENCODING a
      SET a 01234567890123456789012345678901234567890123
      OBJECT ENCODING a
      SET a 012345678901234567890123456789012345678901234
      OBJECT ENCODING a
      SETNX b 42
      OBJECT ENCODING b
      SETEX c 100 hello
      OBJECT ENCODING c
      PSETEX c 100000 77
      OBJECT ENCODING c
      GETSET c 88
      OBJECT ENCODING c
      MSET d 1 e hello f 012345678901234567890123456789012345678901234
      OBJECT ENCODING d
      OBJECT ENCODING e
      OBJECT ENCODING f
      MSETNX g 5 h x
      OBJECT ENCODING g
      OBJECT ENCODING h
      APPEND i 12
      OBJECT ENCODING i
      APPEND i 3
      OBJECT ENCODING i
      APPEND j hello
      OBJECT ENCODING j
      APPEND j ""
      OBJECT ENCODING j
      SET k 5
      INCR k
      OBJECT ENCODING k
      SET k abcdef
      SETRANGE k 0 ""
      OBJECT ENCODING k
      SETRANGE k 1 x
      OBJECT ENCODING k
      SETRANGE l 2 ab
      OBJECT ENCODING l
      SET m 12
      SETBIT m 0 0
      OBJECT ENCODING m
      SETBIT n 7 1
      OBJECT ENCODING n
      SET o 7
      BITFIELD o GET u8 0
      OBJECT ENCODING o
      BITFIELD o SET u8 0 55
      OBJECT ENCODING o
      BITOP NOT p o
      OBJECT ENCODING p
      SET q 10
      INCRBYFLOAT q 1
      OBJECT ENCODING q
      SET r 5
      GETEX r PERSIST
      OBJECT ENCODING r
    `));
});

/** Random bytes biased towards 0x00 / 0xff runs so BITPOS has something to skip. */
function randomBits(r: () => number, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) {
    const x = r();
    b[i] = x < 0.3 ? 0 : x < 0.6 ? 0xff : Math.floor(r() * 256);
  }
  return b;
}

describe('bitmaps on binary data', () => {
  it('BITCOUNT / BITPOS / GETBIT with random ranges (BYTE and BIT)', async () => {
    const r = rng(11);
    const steps: Step[] = [];
    const idx = (len: number) => String(Math.floor(r() * (len * 2 + 6)) - len - 3);
    for (let k = 0; k < 8; k++) {
      const len = Math.floor(r() * 9);
      const v = randomBits(r, len);
      steps.push(['SET', 'b', v]);
      steps.push(['BITCOUNT', 'b']);
      steps.push(['BITPOS', 'b', '0']);
      steps.push(['BITPOS', 'b', '1']);
      for (let i = 0; i < 20; i++) {
        const mode = r() < 0.5 ? 'BIT' : 'BYTE';
        const scale = mode === 'BIT' ? len * 8 : len;
        const bit = r() < 0.5 ? '0' : '1';
        steps.push(['BITCOUNT', 'b', idx(scale), idx(scale), mode]);
        steps.push(['BITCOUNT', 'b', idx(len), idx(len)]);
        steps.push(['BITPOS', 'b', bit, idx(len)]);
        steps.push(['BITPOS', 'b', bit, idx(len), idx(len)]);
        steps.push(['BITPOS', 'b', bit, idx(scale), idx(scale), mode]);
        steps.push(['GETBIT', 'b', String(Math.floor(r() * (len * 8 + 10)))]);
      }
    }
    await d.expectSame(steps);
  });

  it('SETBIT / BITOP on random binary strings', async () => {
    const r = rng(23);
    const steps: Step[] = [];
    for (let k = 0; k < 6; k++) {
      steps.push(['SET', 'x', randomBits(r, Math.floor(r() * 12))]);
      steps.push(['SET', 'y', randomBits(r, Math.floor(r() * 12))]);
      for (let i = 0; i < 10; i++) steps.push(['SETBIT', r() < 0.5 ? 'x' : 'y', String(Math.floor(r() * 120)), r() < 0.5 ? '0' : '1']);
      for (const op of ['AND', 'OR', 'XOR']) {
        steps.push(['BITOP', op, 'dest', 'x', 'y', 'missing']);
        steps.push(['GET', 'dest']);
        steps.push(['BITOP', op, 'x', 'x', 'y']);
        steps.push(['GET', 'x']);
      }
      steps.push(['BITOP', 'NOT', 'dest', 'y']);
      steps.push(['GET', 'dest']);
      steps.push(['STRLEN', 'x']);
    }
    await d.expectSame(steps);
  });

  it('BITFIELD / BITFIELD_RO: random ops, every type and overflow mode', async () => {
    const r = rng(5);
    const steps: Step[] = [];
    const type = () => (r() < 0.5 ? `i${1 + Math.floor(r() * 64)}` : `u${1 + Math.floor(r() * 63)}`);
    const val = () => {
      const x = r();
      if (x < 0.1) return '9223372036854775807';
      if (x < 0.2) return '-9223372036854775808';
      if (x < 0.5) return String(Math.floor(r() * 600) - 300);
      return String(BigInt(Math.floor(r() * 2 ** 31)) * BigInt(Math.floor(r() * 2 ** 31)) * (r() < 0.5 ? -1n : 1n));
    };
    for (let k = 0; k < 40; k++) {
      const args: string[] = ['BITFIELD', 'bf'];
      const n = 1 + Math.floor(r() * 5);
      for (let i = 0; i < n; i++) {
        const x = r();
        const off = r() < 0.2 ? `#${Math.floor(r() * 6)}` : String(Math.floor(r() * 100));
        if (x < 0.2) args.push('OVERFLOW', ['WRAP', 'SAT', 'FAIL'][Math.floor(r() * 3)]);
        else if (x < 0.45) args.push('GET', type(), off);
        else if (x < 0.7) args.push('SET', type(), off, val());
        else args.push('INCRBY', type(), off, val());
      }
      steps.push(args);
    }
    steps.push(['GET', 'bf']);
    steps.push(['BITFIELD_RO', 'bf', 'GET', 'i64', '0', 'GET', 'u63', '1', 'GET', 'i7', '#3']);
    await d.expectSame(steps);
  });

  it('BITFIELD errors and corner cases', () =>
    same(`
      SET k abc
      BITFIELD k GET u64 0
      BITFIELD k GET i8 #1
      BITFIELD k GET I8 0
      BITFIELD k GET i0 0
      BITFIELD k GET i65 0
      BITFIELD k GET u8 -1
      BITFIELD k GET u8 #-1
      BITFIELD k GET u8 4294967296
      BITFIELD k OVERFLOW foo
      BITFIELD k OVERFLOW
      BITFIELD k SET u8
      BITFIELD k SET u8 0 abc
      BITFIELD k INCRBY u8 0 1.5
      BITFIELD k FOO
      BITFIELD k
      BITFIELD_RO k SET u8 0 1
      BITFIELD_RO k GET u8 0 OVERFLOW SAT
      BITFIELD_RO k INCRBY u8 0 1
      BITFIELD_RO missing GET i16 3
      BITFIELD missing GET u8 0
      EXISTS missing
      BITFIELD missing SET u8 0 255 GET u8 0
      GET missing
      SET t 1 EX 100
      BITFIELD t INCRBY u8 0 1
      [approx] TTL t
      BITFIELD
    `));
});

describe('WRONGTYPE for non-string keys', () => {
  it('every string command', async () => {
    // Other types come from other families: use whichever one this build supports.
    const c = await RawClient.connect(d.shardis.port);
    let maker: string[] | null = null;
    for (const m of [['RPUSH', 'w', 'a'], ['SADD', 'w', 'a'], ['HSET', 'w', 'f', 'v'], ['ZADD', 'w', '1', 'a']]) {
      await c.call('DEL', 'w');
      const rep = await c.call(...m);
      if (rep.t === 'int') {
        maker = m;
        break;
      }
    }
    await c.close();
    expect(maker, 'no other data type available yet').not.toBeNull();
    const m = (maker as string[]).join(' ');
    await same(`
      SET s abc
      ${m}
      GET w
      SET w v GET
      GETSET w v
      GETDEL w
      GETEX w
      GETEX w EX 10
      MGET s w
      STRLEN w
      APPEND w x
      INCR w
      DECR w
      INCRBY w 2
      DECRBY w 2
      INCRBYFLOAT w 1.5
      GETRANGE w 0 1
      SUBSTR w 0 1
      SETRANGE w 0 x
      SETRANGE w 0 ""
      GETBIT w 0
      SETBIT w 0 1
      BITCOUNT w
      BITPOS w 1
      BITOP AND d s w
      BITOP NOT w s
      TYPE w
      ${m}
      BITFIELD w GET u8 0
      BITFIELD_RO w GET u8 0
      BITFIELD w SET u8 0 1
      LCS s w
      LCS w s LEN
      SETNX w v
      SET w v NX
      SET w v
      TYPE w
    `);
  });
});

describe('APPEND grows in place', () => {
  it('many appends give the exact string', async () => {
    const c = await RawClient.connect(d.shardis.port);
    try {
      await c.call('DEL', 'ap');
      const parts: Buffer[] = [];
      for (let i = 0; i < 3000; i++) {
        const p = Buffer.from(`<${i}:${'x'.repeat(i % 17)}>`);
        parts.push(p);
        c.send('APPEND', 'ap', p);
      }
      let last: Reply | null = null;
      for (let i = 0; i < 3000; i++) last = await c.read();
      const whole = Buffer.concat(parts);
      expect(last).toEqual({ t: 'int', v: BigInt(whole.length) });
      const got = await c.call('GET', 'ap');
      expect(got.t === 'bulk' && got.v !== null && got.v.equals(whole)).toBe(true);
      const s = await c.call('SETRANGE', 'ap', String(whole.length + 5), 'tail');
      expect(s).toEqual({ t: 'int', v: BigInt(whole.length + 9) });
      const r = await c.call('GETRANGE', 'ap', String(whole.length - 3), '-1');
      expect(r.t === 'bulk' && r.v?.equals(Buffer.concat([whole.subarray(-3), Buffer.alloc(5), Buffer.from('tail')]))).toBe(true);
      expect(show(await c.call('OBJECT', 'ENCODING', 'ap'))).toBe('"raw"');
    } finally {
      await c.close();
    }
    await d.shardis.check();
  });
});

describe('COMMAND metadata equals Redis 7.0', () => {
  it('arity, flags, key positions, ACL categories, group, since, summary, complexity', async () => {
    const c = await RawClient.connect(d.redis.port);
    try {
      for (const spec of commands) {
        const info = await c.call('COMMAND', 'INFO', spec.name);
        expect(info.t).toBe('array');
        const row = (info as { v: Reply[] }).v[0] as { t: 'array'; v: Reply[] };
        const v = row.v;
        const str = (x: Reply) => (x.t === 'bulk' ? (x.v as Buffer).toString() : x.t === 'simple' ? x.v : show(x));
        const list = (x: Reply) => (x as { v: Reply[] }).v.map(str);
        expect({ name: spec.name, arity: spec.arity, flags: spec.flags, keys: [spec.firstKey, spec.lastKey, spec.step], acl: (spec.acl ?? []).map((a) => `@${a}`) }).toEqual({
          name: str(v[0]),
          arity: Number((v[1] as { v: bigint }).v),
          flags: list(v[2]),
          keys: [Number((v[3] as { v: bigint }).v), Number((v[4] as { v: bigint }).v), Number((v[5] as { v: bigint }).v)],
          acl: list(v[6]),
        });
        const docs = await c.call('COMMAND', 'DOCS', spec.name);
        const kv = (docs as { v: Reply[] }).v[1] as { v: Reply[] };
        const m = new Map<string, string>();
        for (let i = 0; i + 1 < kv.v.length; i += 2) m.set(str(kv.v[i]), str(kv.v[i + 1]));
        expect({ name: spec.name, group: spec.group, since: spec.since, summary: spec.summary, complexity: spec.complexity }).toEqual({
          name: spec.name,
          group: m.get('group'),
          since: m.get('since'),
          summary: m.get('summary'),
          complexity: m.get('complexity'),
        });
      }
    } finally {
      await c.close();
    }
  });
});

describe('parallel INCR on --threads 3', () => {
  let srv: Server;
  beforeAll(async () => {
    srv = await startShardis({ threads: 3 });
  });
  afterAll(async () => {
    await srv?.stop();
  });

  it('exact total from many clients, pipelined, across threads', async () => {
    const clients = Array.from({ length: 9 }, () => new Redis({ port: srv.port, lazyConnect: true, maxRetriesPerRequest: 1 }));
    try {
      await Promise.all(clients.map((x) => x.connect()));
      const PER = 1500;
      await Promise.all(
        clients.map(async (x, i) => {
          const p = x.pipeline();
          for (let k = 0; k < PER; k++) {
            p.incr('counter');
            p.incrby('big', 1000000007);
            if (k % 3 === i % 3) p.incrbyfloat('fl', '0.5');
            p.append('log', 'x');
          }
          const res = await p.exec();
          for (const [err] of res ?? []) expect(err).toBeNull();
        }),
      );
      const c0 = clients[0];
      expect(await c0.get('counter')).toBe(String(9 * PER));
      expect(await c0.get('big')).toBe(String(BigInt(9 * PER) * 1000000007n));
      expect(await c0.get('fl')).toBe(String(9 * 500 * 0.5));
      expect(await c0.strlen('log')).toBe(9 * PER);
      expect(await c0.object('ENCODING', 'counter')).toBe('int');
    } finally {
      clients.forEach((x) => x.disconnect());
    }
  });
});

// Generic key commands and expiry: differential against redis-server, plus active expiry and a
// multi-threaded RENAME/MSET stress run followed by DEBUG CHECK.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Redis from 'ioredis';
import { script, startPair, type Pair } from '../helpers/diff';
import { startShardis } from '../helpers/server';
import { RawClient, show, type Reply } from '../helpers/resp';

let d: Pair;
beforeAll(async () => {
  d = await startPair({ threads: 2 });
});
afterAll(async () => {
  await d?.stop();
});

const same = (text: string) => d.expectSame(script(text));
const nowS = (): number => Math.floor(Date.now() / 1000);

describe('differential: generic key commands', () => {
  it('DEL / UNLINK / EXISTS / TYPE / TOUCH / DBSIZE', () =>
    same(`
      SET a 1
      SET b 2
      SET c 3
      DBSIZE
      TYPE a
      TYPE nokey
      TOUCH a b nokey
      UNLINK a nokey
      UNLINK a
      DEL b c
      EXISTS a b c
      DBSIZE
      TYPE
      UNLINK
      TOUCH
      DBSIZE x
    `));

  it('RENAME / RENAMENX (TTL moves, same key, errors)', () =>
    same(`
      SET a 1 EX 100
      RENAME a b
      EXISTS a
      GET b
      [approx] TTL b
      RENAME b b
      RENAMENX b b
      RENAME nokey x
      RENAME nokey nokey
      RENAMENX nokey x
      SET c 3
      RENAMENX b c
      RENAME b c
      GET c
      [approx] TTL c
      SET d 4
      RENAME d c
      TTL c
      GET c
      RENAMENX c "{tag}other"
      GET "{tag}other"
      RENAME "{tag}other" "{tag}x"
      GET "{tag}x"
      SET n 12345
      RENAME n m
      OBJECT ENCODING m
      RENAME a
    `));

  it('COPY / MOVE / SWAPDB', () =>
    same(`
      SET a hello EX 100
      COPY a b
      GET b
      [approx] TTL b
      COPY a b
      SET a world
      COPY a b REPLACE
      GET b
      TTL b
      COPY a a
      COPY a a DB 0
      COPY nokey b
      COPY a c DB 2
      SELECT 2
      GET c
      SELECT 0
      COPY a c DB 16
      COPY a c DB x
      COPY a c DB
      COPY a c FOO
      MOVE a 3
      MOVE a 3
      SET a again
      MOVE a 3
      MOVE a 0
      MOVE a 16
      MOVE a x
      MOVE nokey 1
      SELECT 3
      GET a
      SELECT 0
      SWAPDB 0 3
      GET a
      DBSIZE
      SWAPDB 0 0
      SWAPDB 0 16
      SWAPDB x 0
      SWAPDB 0 x
      SWAPDB 3 0
      DBSIZE
    `));

  it('collections: TYPE / COPY / RENAME / MOVE / OBJECT ENCODING / SCAN TYPE on sets', () =>
    same(`
      SADD small 1 2 3
      SADD mixed a b c
      SADD big ${Array.from({ length: 140 }, (_, i) => `m${i}`).join(' ')}
      TYPE small
      TYPE mixed
      OBJECT ENCODING small
      OBJECT ENCODING mixed
      OBJECT ENCODING big
      OBJECT REFCOUNT big
      COPY small small2
      COPY mixed mixed2
      COPY big big2
      OBJECT ENCODING small2
      OBJECT ENCODING big2
      SADD small2 4
      [unordered] SMEMBERS small
      [unordered] SMEMBERS small2
      SCARD big2
      SREM big m1
      SCARD big
      SCARD big2
      EXPIRE mixed 100
      RENAME mixed m
      [approx] TTL m
      [unordered] SMEMBERS m
      RENAME big small
      TYPE small
      SCARD small
      COPY small m REPLACE
      SCARD m
      TTL m
      MOVE m 4
      SELECT 4
      SCARD m
      OBJECT ENCODING m
      SELECT 0
      SET str v
      [unordered] SCAN 0 TYPE set COUNT 1000
      [unordered] SCAN 0 TYPE string COUNT 1000
      [unordered] KEYS *
      FLUSHALL
      DBSIZE
    `));

  it('KEYS (unordered), RANDOMKEY, FLUSHDB / FLUSHALL', () =>
    same(`
      MSET hello 1 hallo 2 hxllo 3 foo 4 "a*b" 5 user:1 6 user:2 7 {x}y 8
      [unordered] KEYS *
      [unordered] KEYS h?llo
      [unordered] KEYS h[ae]llo
      [unordered] KEYS h[^e]llo
      [unordered] KEYS user:*
      [unordered] KEYS "a\\\\*b"
      [unordered] KEYS nomatch*
      KEYS
      SELECT 1
      RANDOMKEY
      SET only v
      RANDOMKEY
      FLUSHDB
      DBSIZE
      SELECT 0
      DBSIZE
      FLUSHDB ASYNC
      DBSIZE
      SET a 1
      FLUSHDB SYNC
      SET a 1
      SELECT 5
      SET b 1
      FLUSHALL
      DBSIZE
      SELECT 0
      DBSIZE
      FLUSHALL sync
      FLUSHALL async
      FLUSHALL foo
      FLUSHALL sync x
      FLUSHDB foo
      RANDOMKEY
    `));

  it('OBJECT', () =>
    same(`
      SET n 123
      SET big 1234567
      SET s hello
      SET r aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
      OBJECT ENCODING n
      OBJECT ENCODING big
      OBJECT ENCODING s
      OBJECT ENCODING r
      OBJECT ENCODING nokey
      OBJECT REFCOUNT n
      OBJECT REFCOUNT big
      OBJECT REFCOUNT s
      OBJECT REFCOUNT nokey
      OBJECT FREQ s
      OBJECT FREQ nokey
      [approx] OBJECT IDLETIME s
      OBJECT IDLETIME nokey
      OBJECT HELP
      OBJECT HELP x
      OBJECT FOO
      OBJECT
      OBJECT ENCODING
      OBJECT ENCODING a b
    `));

  it('EXPIRE family with NX / XX / GT / LT, TTL, PERSIST', () =>
    same(`
      SET k v
      TTL k
      PTTL k
      EXPIRE k 100 XX
      EXPIRE k 100 GT
      EXPIRE k 100 LT
      [approx] TTL k
      EXPIRE k 200 NX
      EXPIRE k 200 XX
      EXPIRE k 150 GT
      EXPIRE k 300 GT
      EXPIRE k 400 LT
      EXPIRE k 50 LT
      [approx] TTL k
      [approx] PTTL k
      PEXPIRE k 100000 GT
      [approx] PTTL k
      PERSIST k
      PERSIST k
      PERSIST nokey
      TTL k
      EXPIRE k 10 NX XX
      EXPIRE k 10 NX GT
      EXPIRE k 10 GT LT
      EXPIRE k 10 FOO
      EXPIRE k abc
      EXPIRE k abc FOO
      EXPIRE k 9223372036854775807
      EXPIRE k -9223372036854775807
      PEXPIRE k 9223372036854775807
      EXPIRE nokey 10
      TTL nokey
      PTTL nokey
      EXPIRE k 0
      EXISTS k
      SET k v
      PEXPIRE k -5
      EXISTS k
      SET k v
      EXPIRE k -1 LT
      EXISTS k
      EXPIRE
      TTL
    `));

  it('EXPIREAT / PEXPIREAT / EXPIRETIME / PEXPIRETIME', () => {
    const t = nowS();
    return same(`
      SET k v
      EXPIRETIME k
      PEXPIRETIME k
      EXPIRETIME nokey
      EXPIREAT k ${t + 1000}
      EXPIRETIME k
      PEXPIRETIME k
      PEXPIREAT k ${(t + 2000) * 1000 + 123}
      PEXPIRETIME k
      EXPIRETIME k
      EXPIREAT k ${t + 500} GT
      EXPIREAT k ${t + 500} LT
      EXPIRETIME k
      EXPIREAT k 9223372036854775807
      PEXPIREAT k 9223372036854775807
      PEXPIRETIME k
      EXPIRETIME k
      EXPIREAT k 9223372036854775
      EXPIRETIME k
      PEXPIRETIME k
      [approx] TTL k
      EXPIREAT k 1
      EXISTS k
      SET k v
      PEXPIREAT k ${t * 1000 - 5000}
      GET k
    `);
  });

  it('expired keys are gone for every command; TTL rounds', () =>
    same(`
      SET k v PX 50
      SET j v PX 1500
      [sleep 120]
      EXISTS k
      TYPE k
      TTL k
      RENAME k x
      MOVE k 1
      COPY k x
      OBJECT ENCODING k
      PERSIST k
      [unordered] KEYS *
      TTL j
    `));
});

describe('WATCH sees key-level writes from another connection', () => {
  const cases: string[][][] = [
    [['SET', 'w', '1']],
    [['RENAME', 'w', 'w2']],
    [['SET', 'w0', '0'], ['RENAME', 'w0', 'w']],
    [['EXPIRE', 'w', '100']],
    [['PERSIST', 'w']],
    [['MOVE', 'w', '1']],
    [['COPY', 'w0', 'w', 'REPLACE']],
    [['UNLINK', 'w']],
    [['FLUSHDB']],
    [['FLUSHALL']],
    [['SELECT', '1'], ['SET', 'w', 'x'], ['SWAPDB', '0', '1']],
    [['PEXPIRE', 'w', '-1']],
    [['TTL', 'w'], ['TYPE', 'w'], ['OBJECT', 'ENCODING', 'w'], ['KEYS', '*'], ['SCAN', '0']],
  ];
  it.each(cases.map((c, i) => [i, c] as const))('case %i', async (_i, other) => {
    const res = await d.each(async (c, _side, port) => {
      await c.call('SET', 'w', 'v', 'EX', '1000');
      await c.call('SET', 'w0', 'v0');
      await c.call('WATCH', 'w');
      const o = await RawClient.connect(port);
      try {
        for (const cmd of other) await o.call(...cmd);
      } finally {
        await o.close();
      }
      await c.call('MULTI');
      await c.call('PING');
      return show(await c.call('EXEC'));
    });
    expect(res.shardis).toBe(res.redis);
  });
});

async function scanAll(c: RawClient, extra: string[]): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  let calls = 0;
  do {
    const r = await c.call('SCAN', cursor, ...extra);
    if (r.t !== 'array' || !r.v || r.v.length !== 2) throw new Error('bad SCAN reply');
    const [cur, list] = r.v as [Reply, Reply];
    if (cur.t !== 'bulk' || !cur.v || list.t !== 'array' || !list.v) throw new Error('bad SCAN reply');
    cursor = cur.v.toString();
    for (const k of list.v) if (k.t === 'bulk' && k.v) keys.push(k.v.toString());
    if (++calls > 5000) throw new Error('SCAN did not terminate');
  } while (cursor !== '0');
  return [...new Set(keys)].sort();
}

describe('RANDOMKEY', () => {
  // With keys in a share of the slots it probes random slots; with few, it weighs slots by count.
  it('returns keys of the database spread over the keyspace, with many keys and with few', async () => {
    const res = await d.each(async (c) => {
      await c.call('SELECT', '9');
      for (let i = 0; i < 20000; i++) c.send('SET', `rk:${i}`, 'x');
      for (let i = 0; i < 20000; i++) await c.read();
      const many = new Set<string>();
      for (let i = 0; i < 300; i++) many.add(show(await c.call('RANDOMKEY')));
      await c.call('FLUSHDB');
      for (const k of ['a', 'b', 'c']) await c.call('SET', k, '1');
      const few = new Set<string>();
      for (let i = 0; i < 200; i++) few.add(show(await c.call('RANDOMKEY')));
      await c.call('FLUSHDB');
      await c.call('SELECT', '0');
      return { many: [...many], few: [...few].sort() };
    });
    for (const side of [res.redis, res.shardis]) {
      expect(side.many.length).toBeGreaterThan(250);
      expect(side.many.every((k) => /^"rk:\d+"$/.test(k))).toBe(true);
      expect(side.few).toEqual(['"a"', '"b"', '"c"']);
    }
  });
});

describe('SCAN', () => {
  it('iterates to completion with MATCH / COUNT / TYPE (compared as sets)', async () => {
    const variants = [[], ['COUNT', '3'], ['COUNT', '500'], ['MATCH', 'u:1*'], ['TYPE', 'string'], ['TYPE', 'list'], ['MATCH', 'i:*', 'COUNT', '7', 'TYPE', 'STRING']];
    const res = await d.each(async (c) => {
      for (let i = 0; i < 200; i++) c.send('SET', `u:${i}`, i);
      for (let i = 0; i < 100; i++) c.send('SET', `i:${i}`, `v${i}`);
      for (let i = 0; i < 300; i++) await c.read();
      const out: string[][] = [];
      for (const v of variants) out.push(await scanAll(c, v));
      return out;
    });
    expect(res.redis[0].length).toBe(300);
    res.redis.forEach((keys, i) => expect(res.shardis[i], variants[i].join(' ')).toEqual(keys));
  });

  it('returns about COUNT keys per call and a stable cursor while keys are added', async () => {
    const res = await d.each(async (c) => {
      for (let i = 0; i < 1000; i++) c.send('SET', `k${i}`, 'x');
      for (let i = 0; i < 1000; i++) await c.read();
      const r = await c.call('SCAN', '0', 'COUNT', '50');
      const batch = r.t === 'array' && r.v && r.v[1].t === 'array' && r.v[1].v ? r.v[1].v.length : -1;
      // Keys present for the whole scan are returned even though others are added meanwhile.
      const seen = new Set<string>();
      let cursor = '0';
      let n = 0;
      do {
        const s = await c.call('SCAN', cursor, 'COUNT', '20');
        if (s.t !== 'array' || !s.v) throw new Error('bad reply');
        const cur = s.v[0];
        const list = s.v[1];
        cursor = cur.t === 'bulk' && cur.v ? cur.v.toString() : '0';
        if (list.t === 'array' && list.v) for (const k of list.v) if (k.t === 'bulk' && k.v) seen.add(k.v.toString());
        c.send('SET', `new${n++}`, 'x');
        await c.read();
      } while (cursor !== '0');
      let missing = 0;
      for (let i = 0; i < 1000; i++) if (!seen.has(`k${i}`)) missing++;
      return { batch, missing };
    });
    expect(res.shardis.missing).toBe(0);
    expect(res.shardis.batch).toBeGreaterThanOrEqual(40);
    expect(res.shardis.batch).toBeLessThanOrEqual(200);
  });

  it('argument errors', () =>
    same(`
      SCAN abc
      SCAN " 1"
      SCAN 0 COUNT 0
      SCAN 0 COUNT x
      SCAN 0 MATCH
      SCAN 0 FOO bar
      SCAN 0 TYPE nosuchtype
      SCAN 0
    `));
});

describe('active expiry', () => {
  it('reclaims keys that are never read again within seconds', async () => {
    const c = new Redis(d.shardis.port, { lazyConnect: true, maxRetriesPerRequest: 1, enableReadyCheck: false });
    await c.connect();
    try {
      await c.flushall();
      const p = c.pipeline();
      for (let i = 0; i < 500; i++) p.set(`vol:${i}`, 'x', 'PX', 100 + (i % 200));
      for (let db = 1; db < 3; db++) {
        p.select(db);
        for (let i = 0; i < 100; i++) p.set(`vol:${i}`, 'x', 'PX', 150);
      }
      p.select(0);
      p.set('keep', 'y');
      await p.exec();
      expect(await c.dbsize()).toBe(501);
      const deadline = Date.now() + 5000;
      let size = 501;
      while (Date.now() < deadline) {
        size = await c.dbsize();
        if (size === 1) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(size).toBe(1);
      await c.select(1);
      expect(await c.dbsize()).toBe(0);
      await c.select(0);
      expect(await c.get('keep')).toBe('y');
      await d.shardis.check();
    } finally {
      c.disconnect();
    }
  });
});

describe('concurrency', () => {
  it('--threads 3: RENAME / MSET on overlapping keys from many clients, then DEBUG CHECK', async () => {
    const srv = await startShardis({ threads: 3 });
    const clients = Array.from({ length: 6 }, () => new Redis(srv.port, { maxRetriesPerRequest: 1, enableReadyCheck: false }));
    try {
      // Phase 1: RENAME only, among keys holding distinct values: a value may vanish (the
      // destination is overwritten) but never be duplicated, if every RENAME is atomic.
      const N = 20;
      await clients[0].flushall();
      await clients[0].mset(...Array.from({ length: N }, (_, i) => [`{r}k${i}`, `v${i}`]).flat());
      const renames = clients.map(async (c) => {
        for (let round = 0; round < 20; round++) {
          const p = c.pipeline();
          for (let j = 0; j < 25; j++) {
            const a = Math.floor(Math.random() * N);
            const b = Math.floor(Math.random() * N);
            // Half of them cross slots (no hash tag on the destination).
            p.rename(`{r}k${a}`, j % 2 === 0 ? `{r}k${b}` : `k${b}`);
            p.rename(`k${b}`, `{r}k${a}`);
          }
          await p.exec(); // "no such key" errors are expected and ignored
        }
      });
      await Promise.all(renames);
      const names = await clients[0].keys('*');
      const values = await Promise.all(names.map((k) => clients[0].get(k)));
      expect(new Set(values).size).toBe(values.length);
      expect(values.every((v) => v !== null && /^v\d+$/.test(v))).toBe(true);

      // Phase 2: RENAME and MSET mixed on the same keys, with TTLs, across slots and dbs.
      const mixed = clients.map(async (c, ci) => {
        for (let round = 0; round < 20; round++) {
          const p = c.pipeline();
          for (let j = 0; j < 20; j++) {
            const a = Math.floor(Math.random() * N);
            const b = Math.floor(Math.random() * N);
            switch ((ci + j) % 4) {
              case 0:
                p.mset(`k${a}`, `c${ci}`, `k${b}`, `c${ci}`, `{r}k${a}`, `c${ci}`);
                break;
              case 1:
                p.rename(`k${a}`, `k${b}`);
                break;
              case 2:
                p.renamenx(`{r}k${a}`, `k${b}`);
                break;
              default:
                p.set(`k${a}`, 'big'.repeat(50), 'PX', 50);
                p.copy(`k${a}`, `k${b}`, 'REPLACE');
                p.move(`k${b}`, 1);
            }
          }
          await p.exec();
        }
      });
      // Walkers and whole-keyspace commands run alongside the writers.
      const walker = (async () => {
        const c = clients[0];
        for (let round = 0; round < 20; round++) {
          await c.keys('*');
          await c.scan('0', 'COUNT', '5');
          await c.dbsize();
          await c.randomkey();
          if (round % 5 === 4) await c.swapdb(0, 1);
          if (round === 10) await c.flushdb();
        }
      })();
      await Promise.all([...mixed, walker]);
      await srv.check();
      const size = await clients[0].dbsize();
      const all = await clients[0].keys('*');
      expect(all.length).toBeLessThanOrEqual(size);
    } finally {
      for (const c of clients) c.disconnect();
      await srv.stop();
    }
  });
});

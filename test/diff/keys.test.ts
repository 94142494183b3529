// Differential tests (redis-server vs shardis) for the keyspace commands.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { script, startPair, type Pair } from '../helpers/diff';
import { show, type RawClient, type Reply } from '../helpers/resp';

let d: Pair;
beforeAll(async () => {
  d = await startPair();
});
afterAll(async () => {
  await d?.stop();
});

const nowS = () => Math.floor(Date.now() / 1000);
const same = (text: string, opts?: { resp3?: boolean }) => d.expectSame(script(text), opts);

describe('DEL / UNLINK / EXISTS / TYPE / TOUCH', () => {
  it('DEL / UNLINK / EXISTS', () =>
    same(`
      MSET a 1 b 2 c 3
      DEL a
      DEL a
      DEL b c missing
      MSET a 1 b 2
      EXISTS a b missing
      EXISTS a a a
      EXISTS a missing a missing
      EXISTS missing
      DEL a a
      UNLINK b x
      UNLINK b
      MSET a 1 b 2 c 3
      UNLINK a b c a
      DBSIZE
      SET "" v
      EXISTS ""
      DEL ""
      DEL
      UNLINK
      EXISTS
    `));

  it('TYPE / TOUCH', () =>
    same(`
      SET s v
      SET n 123
      TYPE s
      TYPE n
      TYPE missing
      TYPE
      TYPE a b
      MSET a 1 b 2
      TOUCH a b c
      TOUCH a a
      TOUCH missing
      TOUCH
    `));
});

describe('RENAME / RENAMENX / COPY / MOVE / SWAPDB', () => {
  it('RENAME / RENAMENX', () =>
    same(`
      SET a 1
      RENAME a b
      GET a
      GET b
      RENAME missing x
      RENAME missing missing
      RENAME b b
      GET b
      SET a 1 EX 100
      RENAME a c
      [approx] TTL c
      EXISTS a
      SET x 1
      SET y 2 EX 100
      RENAME x y
      GET y
      TTL y
      RENAMENX y z
      GET z
      RENAMENX z z
      SET w 1
      RENAMENX z w
      GET w
      RENAMENX missing q
      RENAMENX missing missing
      SET n 123
      RENAME n m
      GET m
      OBJECT ENCODING m
      RENAME a
      RENAME a b c
      RENAMENX a
    `));

  it('COPY', () =>
    same(`
      SET a 1
      COPY a b
      GET b
      COPY a b
      SET a 2
      COPY a b REPLACE
      GET b
      COPY a b replace
      COPY a a
      COPY a a REPLACE
      COPY a a DB 0
      COPY missing b
      COPY missing b REPLACE
      GET b
      COPY a c DB 1
      EXISTS c
      COPY a a DB 1
      COPY a c DB 1
      COPY a c DB 1 REPLACE
      SELECT 1
      GET c
      GET a
      SELECT 0
      COPY a b DB 16
      COPY a b DB -1
      COPY a b DB abc
      COPY a b DB
      COPY a b FOO
      COPY a b REPLACE FOO
      SET t v EX 100
      COPY t t2
      [approx] TTL t2
      SET n 123
      COPY n n2
      OBJECT ENCODING n2
      GET n2
      COPY a
      COPY
    `));

  it('MOVE', () =>
    same(`
      SET a 1
      MOVE a 1
      EXISTS a
      SELECT 1
      GET a
      SELECT 0
      MOVE missing 1
      SET a 2
      MOVE a 1
      GET a
      MOVE a 0
      MOVE a 16
      MOVE a -1
      MOVE a abc
      SET t v EX 100
      MOVE t 2
      SELECT 2
      [approx] TTL t
      MOVE t 0
      SELECT 0
      [approx] TTL t
      MOVE a
      MOVE a 1 2
    `));

  it('SWAPDB', () =>
    same(`
      SET a 0
      SELECT 1
      SET a 1
      SET b 1
      SELECT 0
      SWAPDB 0 1
      GET a
      DBSIZE
      SELECT 1
      GET a
      DBSIZE
      SWAPDB 1 0
      GET a
      SWAPDB 0 0
      GET a
      SWAPDB 0 15
      DBSIZE
      SWAPDB 0 16
      SWAPDB 16 0
      SWAPDB -1 0
      SWAPDB abc 1
      SWAPDB 0 abc
      SWAPDB abc abc
      SWAPDB 0
      SWAPDB 0 1 2
    `));
});

describe('KEYS / SCAN / RANDOMKEY', () => {
  it('KEYS patterns', () =>
    same(`
      MSET hello 1 hallo 2 hxllo 3 hllo 4 heeeello 5 "h*llo" 6 foo 7 "foo\\nbar" 8 "a[b" 9 "a\\\\b" 10 x 11 Hello 12
      [unordered] KEYS *
      [unordered] KEYS h?llo
      [unordered] KEYS h*llo
      [unordered] KEYS h[ae]llo
      [unordered] KEYS h[^e]llo
      [unordered] KEYS h[a-b]llo
      [unordered] KEYS h[b-a]llo
      [unordered] KEYS "h\\\\*llo"
      [unordered] KEYS *o
      [unordered] KEYS f*
      [unordered] KEYS foo?bar
      [unordered] KEYS ?
      [unordered] KEYS ??
      [unordered] KEYS nomatch
      [unordered] KEYS ""
      [unordered] KEYS "a\\\\[b"
      [unordered] KEYS a[[]b
      [unordered] KEYS "a\\\\\\\\b"
      [unordered] KEYS *[
      [unordered] KEYS "h[a-"
      [unordered] KEYS [Hh]ello
      [unordered] KEYS ***llo
      [unordered] KEYS h*l*o
      KEYS
      KEYS a b
    `));

  it('KEYS in another db, and on an empty db', () =>
    same(`
      KEYS *
      SET a 1
      SELECT 3
      KEYS *
      SET b 1
      KEYS *
      SELECT 0
      KEYS *
    `));

  async function scanAll(c: RawClient, extra: string[]): Promise<{ keys: string[]; calls: number }> {
    const keys: string[] = [];
    let cursor = '0';
    let calls = 0;
    do {
      const r = await c.call('SCAN', cursor, ...extra);
      calls++;
      if (r.t !== 'array' || !r.v || r.v.length !== 2) throw new Error(`bad SCAN reply: ${show(r)}`);
      const [cur, list] = r.v as [Reply, Reply];
      if (cur.t !== 'bulk' || !cur.v) throw new Error(`bad SCAN cursor: ${show(cur)}`);
      if (list.t !== 'array' || !list.v) throw new Error(`bad SCAN key list: ${show(list)}`);
      cursor = cur.v.toString();
      for (const k of list.v) {
        if (k.t !== 'bulk' || !k.v) throw new Error(`bad SCAN key: ${show(k)}`);
        keys.push(k.v.toString());
      }
      if (calls > 10_000) throw new Error('SCAN did not terminate');
    } while (cursor !== '0');
    return { keys: [...new Set(keys)].sort(), calls };
  }

  it('SCAN iterates to completion (MATCH / COUNT / TYPE)', async () => {
    const variants: string[][] = [
      [],
      ['COUNT', '1'],
      ['COUNT', '7'],
      ['COUNT', '1000'],
      ['MATCH', 'user:*'],
      ['MATCH', 'user:1?'],
      ['MATCH', '*:2*', 'COUNT', '3'],
      ['MATCH', 'nomatch*'],
      ['TYPE', 'string'],
      ['TYPE', 'STRING'],
      ['TYPE', 'list'],
      ['TYPE', 'hash'],
      ['MATCH', 'item:*', 'TYPE', 'string', 'COUNT', '5'],
      ['match', 'user:*', 'count', '20'],
    ];
    const res = await d.each(async (c) => {
      for (let i = 0; i < 150; i++) c.send('SET', `user:${i}`, i);
      for (let i = 0; i < 150; i++) c.send('SET', `item:${i}`, `v${i}`);
      c.send('SET', 'lonely', 'x');
      for (let i = 0; i < 301; i++) await c.read();
      const out: string[][] = [];
      for (const v of variants) out.push((await scanAll(c, v)).keys);
      // Another db holds other keys; SCAN only sees the selected one.
      await c.call('SELECT', '5');
      await c.call('SET', 'db5key', '1');
      out.push((await scanAll(c, [])).keys);
      await c.call('SELECT', '0');
      // Expired keys are not returned.
      await c.call('SET', 'shortlived', '1', 'PX', '20');
      await new Promise((r) => setTimeout(r, 60));
      out.push((await scanAll(c, ['MATCH', 'short*'])).keys);
      return out;
    });
    expect(res.redis.length).toBe(variants.length + 2);
    res.redis.forEach((keys, i) => {
      const label = i < variants.length ? `SCAN ... ${variants[i].join(' ')}` : `extra check ${i - variants.length}`;
      expect(res.shardis[i], label).toEqual(keys);
    });
    expect(res.redis[0].length).toBe(301); // sanity: the script did what we think
  });

  it('SCAN on an empty db and argument errors', () =>
    same(`
      SCAN 0
      SCAN 0 COUNT 10
      SCAN 0 MATCH *
      SCAN abc
      SCAN -1
      SCAN 1.5
      SCAN ""
      SCAN 0 COUNT 0
      SCAN 0 COUNT -1
      SCAN 0 COUNT abc
      SCAN 0 COUNT
      SCAN 0 MATCH
      SCAN 0 TYPE
      SCAN 0 FOO bar
      SCAN 0 MATCH * extra
      SCAN
      SET a 1
      SCAN 0 COUNT 100
      SCAN 0 MATCH a
      SCAN 0 MATCH b
      SCAN 0 TYPE string
      SCAN 0 TYPE list
    `));

  it('RANDOMKEY', () =>
    same(`
      RANDOMKEY
      SET only v
      RANDOMKEY
      RANDOMKEY
      SELECT 1
      RANDOMKEY
      SELECT 0
      DEL only
      RANDOMKEY
      RANDOMKEY extra
    `));
});

describe('OBJECT', () => {
  it('ENCODING transitions', () =>
    same(`
      SET n 123
      OBJECT ENCODING n
      SET n -123
      OBJECT ENCODING n
      SET n 0
      OBJECT ENCODING n
      SET n 9999
      OBJECT ENCODING n
      SET n 10000
      OBJECT ENCODING n
      SET n 9223372036854775807
      OBJECT ENCODING n
      SET n -9223372036854775808
      OBJECT ENCODING n
      SET n 9223372036854775808
      OBJECT ENCODING n
      SET n 0123
      OBJECT ENCODING n
      SET n +1
      OBJECT ENCODING n
      SET n " 1"
      OBJECT ENCODING n
      SET n 1.5
      OBJECT ENCODING n
      SET s hello
      OBJECT ENCODING s
      SET s ""
      OBJECT ENCODING s
      SET s 12345678901234567890123456789012345678901234
      OBJECT ENCODING s
      SET s 123456789012345678901234567890123456789012345
      OBJECT ENCODING s
      SET s aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
      OBJECT ENCODING s
      SET s aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
      OBJECT ENCODING s
      SET n 123
      APPEND n 4
      OBJECT ENCODING n
      GET n
      SET s abc
      APPEND s d
      OBJECT ENCODING s
      SET n 123
      SETRANGE n 0 9
      OBJECT ENCODING n
      SET s abc
      SETRANGE s 1 x
      OBJECT ENCODING s
      SET c 10
      INCR c
      OBJECT ENCODING c
      INCRBY c 100000
      OBJECT ENCODING c
      SET c abc
      SET c 5
      DECR c
      OBJECT ENCODING c
      SET s ab
      APPEND s c
      SET s 77
      OBJECT ENCODING s
      INCR fresh
      OBJECT ENCODING fresh
      SET f 1.5
      INCRBYFLOAT f 1
      OBJECT ENCODING f
      SET i 100
      INCRBYFLOAT i 1
      OBJECT ENCODING i
      GET i
      SETBIT b 0 1
      OBJECT ENCODING b
      SET n 5
      SETBIT n 0 1
      OBJECT ENCODING n
      BITOP NOT d b
      OBJECT ENCODING d
      MSET m1 1 m2 hello
      OBJECT ENCODING m1
      OBJECT ENCODING m2
      GETSET g 42
      OBJECT ENCODING g
      SETRANGE sr 0 12
      OBJECT ENCODING sr
      SET x 12 EX 100
      OBJECT ENCODING x
      COPY n ncopy
      OBJECT ENCODING ncopy
      OBJECT ENCODING missing
      OBJECT ENCODING
      OBJECT ENCODING a b
      object encoding x
    `));

  it('REFCOUNT / FREQ / IDLETIME / HELP / errors', () =>
    same(`
      SET n 123
      OBJECT REFCOUNT n
      SET big 100000
      OBJECT REFCOUNT big
      SET s hello
      OBJECT REFCOUNT s
      OBJECT REFCOUNT missing
      OBJECT FREQ s
      OBJECT FREQ missing
      [approx] OBJECT IDLETIME s
      OBJECT IDLETIME missing
      OBJECT HELP
      object help
      OBJECT HELP extra
      OBJECT FOO
      OBJECT FOO bar
      OBJECT
      OBJECT REFCOUNT
      OBJECT FREQ
    `));
});

describe('EXPIRE family / TTL / PERSIST', () => {
  it('EXPIRE / PEXPIRE with NX / XX / GT / LT', () =>
    same(`
      SET k v
      EXPIRE k 100
      [approx] TTL k
      EXPIRE k 100 NX
      EXPIRE k 200 XX
      [approx] TTL k
      EXPIRE k 50 GT
      EXPIRE k 300 GT
      [approx] TTL k
      EXPIRE k 400 LT
      EXPIRE k 100 LT
      [approx] TTL k
      EXPIRE k 100 nx
      PERSIST k
      EXPIRE k 100 XX
      EXPIRE k 100 GT
      TTL k
      EXPIRE k 100 LT
      [approx] TTL k
      PERSIST k
      EXPIRE k 100 NX
      [approx] TTL k
      PEXPIRE k 500000 GT
      [approx] PTTL k
      PEXPIRE k 1000 LT
      [approx] PTTL k
      PEXPIRE k 100000 NX
      PEXPIRE k 100000 XX
      [approx] PTTL k
      EXPIRE k 100 NX XX
      EXPIRE k 100 XX NX
      EXPIRE k 100 NX GT
      EXPIRE k 100 NX LT
      EXPIRE k 100 GT LT
      EXPIRE k 100 LT GT
      EXPIRE k 200 XX GT
      EXPIRE k 100 FOO
      EXPIRE k 100 NX FOO
      PEXPIRE k 100 GT LT
      PEXPIRE k 100 NX XX
      PEXPIRE k 100 BAR
      EXPIRE k 100 NX NX
      EXPIRE missing 100
      EXPIRE missing 100 XX
      PEXPIRE missing 100
      EXPIRE k abc
      EXPIRE k 1.5
      EXPIRE k ""
      EXPIRE k 9223372036854775807
      EXPIRE k 92233720368547758
      EXPIRE k -9223372036854775808
      PEXPIRE k 9223372036854775807
      PEXPIRE k abc
      [approx] TTL k
      EXPIRE k
      EXPIRE
      PEXPIRE k
    `));

  it('EXPIREAT / PEXPIREAT / EXPIRETIME / PEXPIRETIME', () => {
    const t = nowS();
    return same(`
      SET k v
      EXPIREAT k ${t + 1000}
      EXPIRETIME k
      PEXPIRETIME k
      [approx] TTL k
      PEXPIREAT k ${(t + 2000) * 1000 + 123}
      PEXPIRETIME k
      EXPIRETIME k
      EXPIREAT k ${t + 500} GT
      EXPIREAT k ${t + 500} LT
      EXPIRETIME k
      EXPIREAT k ${t + 600} NX
      EXPIREAT k ${t + 600} XX
      EXPIRETIME k
      PEXPIREAT k ${(t + 700) * 1000} GT
      PEXPIRETIME k
      EXPIREAT k ${t + 100} GT LT
      EXPIREAT k ${t + 100} NX XX
      EXPIREAT k ${t + 100} FOO
      PEXPIREAT k ${t * 1000} FOO
      EXPIREAT k abc
      PEXPIREAT k abc
      EXPIREAT k 9223372036854775807
      PEXPIREAT k 9223372036854775807
      EXPIREAT missing ${t + 100}
      PEXPIREAT missing ${t * 1000}
      EXPIRETIME missing
      PEXPIRETIME missing
      SET p v
      EXPIRETIME p
      PEXPIRETIME p
      EXPIREAT p 1
      EXISTS p
      SET p v
      PEXPIREAT p 1
      EXISTS p
      SET p v
      EXPIREAT p ${t - 10}
      GET p
      SET p v
      EXPIREAT p 1 GT
      EXISTS p
      EXPIREAT k
      PEXPIREAT k
      EXPIRETIME
      PEXPIRETIME
      EXPIRETIME a b
    `);
  });

  it('non-positive TTLs delete; TTL / PTTL / PERSIST edge cases', () =>
    same(`
      SET k v
      EXPIRE k 0
      EXISTS k
      SET k v
      EXPIRE k -10
      GET k
      SET k v
      PEXPIRE k 0
      EXISTS k
      SET k v
      PEXPIRE k -1
      EXISTS k
      TTL missing
      PTTL missing
      SET k v
      TTL k
      PTTL k
      PERSIST missing
      PERSIST k
      EXPIRE k 100
      PERSIST k
      TTL k
      PERSIST k
      SET k v PX 1500
      [approx] TTL k
      [approx] PTTL k
      TTL
      PTTL
      TTL a b
      PERSIST
      PERSIST a b
    `));

  it('expired keys are invisible', () =>
    same(`
      SET k v
      PEXPIRE k 50
      SET k2 v PX 50
      SET k3 v
      EXPIRE k3 100
      SET k4 123
      PEXPIRE k4 50
      SETEX never 100 v
      PSETEX k5 50 v
      [sleep 120]
      GET k
      EXISTS k k2 k4 k5
      TTL k
      PTTL k2
      GET k2
      STRLEN k4
      GETRANGE k5 0 -1
      TYPE k4
      [unordered] KEYS *
      [unordered] KEYS k*
      SET k2 fresh NX
      GET k2
      TTL k2
      INCR k4
      APPEND k5 x
      GET k5
      RENAME k missing
      MGET k k2 k3
    `));
});

describe('SELECT / DBSIZE / FLUSHDB / FLUSHALL', () => {
  it('SELECT', () =>
    same(`
      ${Array.from({ length: 16 }, (_, i) => `SELECT ${i}`).join('\n')}
      SELECT 0
      SELECT 16
      SELECT -1
      SELECT abc
      SELECT 1.5
      SELECT ""
      SELECT 9223372036854775808
      SELECT
      SELECT 1 2
      SET a 0
      SELECT 1
      GET a
      SET a 1
      DBSIZE
      SELECT 15
      SET a 15
      SELECT 0
      GET a
      SELECT 1
      GET a
      SELECT 15
      GET a
    `));

  it('DBSIZE / FLUSHDB / FLUSHALL', () =>
    same(`
      DBSIZE
      MSET a 1 b 2 c 3
      DBSIZE
      SELECT 1
      SET x 1
      DBSIZE
      SELECT 0
      FLUSHDB
      DBSIZE
      SELECT 1
      DBSIZE
      GET x
      SELECT 0
      MSET a 1 b 2
      FLUSHDB ASYNC
      DBSIZE
      MSET a 1 b 2
      FLUSHDB SYNC
      DBSIZE
      FLUSHDB sync
      FLUSHDB FOO
      FLUSHDB SYNC ASYNC
      SET a 1
      FLUSHALL
      DBSIZE
      SELECT 1
      DBSIZE
      SET y 1
      FLUSHALL ASYNC
      DBSIZE
      SET y 1
      FLUSHALL SYNC
      DBSIZE
      FLUSHALL FOO
      FLUSHALL SYNC extra
      DBSIZE extra
    `));
});

// Reply shapes in RESP2 and RESP3 (maps, sets, doubles, nulls, big numbers, verbatim strings,
// pushes), family by family: every script runs under both protocols (expectSame's default) and
// must match redis-server byte for byte. The call sites come from Redis's src/*.c
// (addReplyMapLen / addReplySetLen / addReplyDouble / addReplyNull / addReplyNullArray /
// addReplyVerbatim / addReplyPushLen and the `c->resp > 2` branches that nest pairs).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, script, startPair, type Pair } from '../helpers/diff';
import { RawClient, canon, show } from '../helpers/resp';

let d: Pair;
beforeAll(async () => {
  // DEBUG PROTOCOL needs DEBUG on both sides.
  d = await startPair({ threads: 2, redisArgs: ['--enable-debug-command', 'yes'] });
});
afterAll(async () => {
  await d?.stop();
});

const same = (text: string, opts?: { resp3?: boolean }) => d.expectSame(script(text), opts);

describe('hashes', () => {
  it('HGETALL map, HMGET nulls, HRANDFIELD WITHVALUES pairs, HINCRBYFLOAT bulk', () =>
    same(`
      HSET h a 1 b 2.5 c hello
      HGETALL h
      HGETALL missing
      HMGET h a nope c
      HGET h nope
      HKEYS h
      HVALS h
      HINCRBYFLOAT h b 0.25
      HINCRBYFLOAT h n 1e3
      HRANDFIELD missing
      HRANDFIELD missing 2 WITHVALUES
      HSET one f v
      HRANDFIELD one
      HRANDFIELD one 1
      HRANDFIELD one 1 WITHVALUES
      HRANDFIELD one -3 WITHVALUES
      HRANDFIELD one 0 WITHVALUES
      [unordered] HRANDFIELD h 10
      [shape] HRANDFIELD h 10 WITHVALUES
      [shape] HRANDFIELD h -5 WITHVALUES
      [shape] HRANDFIELD h 2 WITHVALUES
    `));

  it('HGETALL / HSCAN on a hashtable-encoded hash', () =>
    same(`
      CONFIG SET hash-max-listpack-entries 2
      HSET big a 1 b 2 c 3 d 4
      OBJECT ENCODING big
      [unordered] HGETALL big
      [unordered] HSCAN big 0 COUNT 100
      [unordered] HSCAN big 0 COUNT 100 MATCH [ab]
      CONFIG SET hash-max-listpack-entries 128
    `));

  it('HSCAN on a listpack-encoded hash is a flat field/value array', () =>
    same(`
      HSET h a 1 b 2 c 3
      OBJECT ENCODING h
      HSCAN h 0
      HSCAN h 0 MATCH a*
      HSCAN h 0 COUNT 1
      HSCAN missing 0
      HGET h a
    `));
});

describe('sets', () => {
  it('SMEMBERS / SINTER / SUNION / SDIFF are sets; SRANDMEMBER, SMISMEMBER arrays; SPOP count', () =>
    same(`
      SADD s a b c
      SADD t b c d
      SADD n 1 2 3
      [unordered] SMEMBERS s
      SMEMBERS missing
      [unordered] SMEMBERS n
      [unordered] SINTER s t
      SINTER s missing
      [unordered] SUNION s t
      [unordered] SDIFF s t
      SDIFF missing s
      SMISMEMBER s a z
      SISMEMBER s a
      SRANDMEMBER missing
      SRANDMEMBER missing 3
      [unordered] SRANDMEMBER s 10
      [shape] SRANDMEMBER s -5
      [shape] SRANDMEMBER s
      SADD one x
      SPOP one 5
      SPOP one
      SPOP missing
      SPOP missing 2
      SADD one x
      SPOP one 0
      [unordered] SPOP t 10
      SINTERCARD 2 s n
      [unordered] SSCAN s 0
      SSCAN missing 0
      [unordered] SSCAN n 0 MATCH 1*
    `));
});

describe('sorted sets', () => {
  it('WITHSCORES replies pair member and score in RESP3', () =>
    same(`
      ZADD z 1 a 2.5 b 3 c -inf d inf e
      ZRANGE z 0 -1
      ZRANGE z 0 -1 WITHSCORES
      ZRANGE z 0 1 WITHSCORES REV
      ZRANGE z (1 +inf BYSCORE WITHSCORES LIMIT 0 2
      ZRANGE z [a [c BYLEX
      ZREVRANGE z 0 -1 WITHSCORES
      ZRANGEBYSCORE z -inf +inf WITHSCORES
      ZREVRANGEBYSCORE z +inf 2 WITHSCORES
      ZRANGEBYLEX z - +
      ZRANGE missing 0 -1 WITHSCORES
      ZRANGE z 5 10 WITHSCORES
      ZADD w 1 a 2 b
      ZUNION 2 z w WITHSCORES
      ZINTER 2 z w WITHSCORES
      ZINTER 2 z w WITHSCORES AGGREGATE MAX WEIGHTS 1 0.5
      ZDIFF 2 z w WITHSCORES
      ZUNION 2 z w
      ZSCAN z 0
      ZSCAN missing 0
    `));

  it('ZSCORE / ZMSCORE / ZINCRBY / ZADD INCR doubles and nulls', () =>
    same(`
      ZADD z 1.5 a 0.1 b 1e20 c -0 d 3 e
      ZSCORE z a
      ZSCORE z b
      ZSCORE z c
      ZSCORE z d
      ZSCORE z nope
      ZSCORE missing a
      ZMSCORE z a nope b
      ZMSCORE missing a b
      ZINCRBY z 1 a
      ZINCRBY z 0.2 b
      ZINCRBY z -inf e
      ZINCRBY z 1 new
      ZADD z INCR 2.25 a
      ZADD z NX INCR 1 a
      ZADD z XX INCR 1 nope
      ZADD z INCR inf f
      ZSCORE z f
      ZRANK z a
      ZRANK z nope
      ZREVRANK z a
    `));

  it('ZPOPMIN / ZPOPMAX (flat without count, pairs with count), ZMPOP', () =>
    same(`
      ZADD z 1 a 2 b 3 c 4 d 5 e
      ZPOPMIN z
      ZPOPMAX z
      ZPOPMIN z 1
      ZPOPMAX z 0
      ZPOPMIN z 10
      ZPOPMIN z
      ZPOPMIN z 2
      ZPOPMAX missing
      ZPOPMAX missing 3
      ZADD z 1 a 2 b 3 c
      ZMPOP 1 z MIN
      ZMPOP 2 missing z MAX COUNT 5
      ZMPOP 1 z MIN
      ZMPOP 1 missing MIN COUNT 2
    `));

  it('ZRANDMEMBER WITHSCORES', () =>
    same(`
      ZADD one 1.5 x
      ZRANDMEMBER one
      ZRANDMEMBER one 1 WITHSCORES
      ZRANDMEMBER one -2 WITHSCORES
      ZRANDMEMBER one 0 WITHSCORES
      ZRANDMEMBER missing
      ZRANDMEMBER missing 2 WITHSCORES
      ZADD z 1 a 2 b 3 c
      [shape] ZRANDMEMBER z 2 WITHSCORES
      [shape] ZRANDMEMBER z -6 WITHSCORES
      [unordered] ZRANDMEMBER z 10
    `));

  it('BZPOPMIN / BZPOPMAX / BZMPOP (ready and timed out)', () =>
    same(`
      ZADD z 1 a 2.5 b 3 c
      BZPOPMIN z 0
      BZPOPMAX z 0
      BZPOPMIN missing 0.01
      BZPOPMAX missing 0.01
      BZMPOP 0 1 z MIN
      BZMPOP 0.01 1 z MIN
      ZADD z 1 a 2 b
      BZMPOP 0 2 missing z MAX COUNT 3
    `));
});

describe('lists', () => {
  it('null replies: LPOP count on a missing key, BLPOP timeout, LPOS, LMPOP', () =>
    same(`
      LPOP missing
      LPOP missing 2
      RPOP missing 0
      RPUSH l a b c
      LPOP l 0
      LPOP l 2
      LINDEX l 5
      LPOS l nope
      LPOS l c
      LPOS l c COUNT 0
      LMPOP 1 missing LEFT
      LMPOP 2 missing l RIGHT COUNT 5
      BLPOP missing 0.01
      BRPOP missing 0.01
      BLMPOP 0.01 1 missing LEFT
      BRPOPLPUSH missing x 0.01
      BLMOVE missing x LEFT RIGHT 0.01
      RPUSH l x y
      BLPOP l 0
      BLMPOP 0 1 l RIGHT COUNT 2
    `));
});

describe('blocked clients served later', () => {
  /** Until INFO says n clients are blocked. */
  async function waitBlocked(c: RawClient, n: number): Promise<void> {
    for (let i = 0; i < 1000; i++) {
      const r = await c.call('INFO', 'clients');
      const text = r.t === 'bulk' || r.t === 'verbatim' ? (r.v ?? Buffer.alloc(0)).toString() : '';
      if (new RegExp(`blocked_clients:${n}\\b`).test(text)) return;
      await new Promise((res) => setTimeout(res, 5));
    }
    throw new Error('the client never blocked');
  }

  // The reply of a pop parked on an empty key is written when another client's push serves it,
  // on whichever thread: it must still have the waiter's protocol's shape.
  const cases: [string[], string[]][] = [
    [['BZPOPMIN', 'z', '5'], ['ZADD', 'z', '1.5', 'a', '2', 'b']],
    [['BZPOPMAX', 'z', '5'], ['ZADD', 'z', '1.5', 'a', '2', 'b']],
    [['BZMPOP', '5', '1', 'z', 'MIN', 'COUNT', '5'], ['ZADD', 'z', '1.5', 'a', '2', 'b']],
    [['BLPOP', 'l', '5'], ['RPUSH', 'l', 'a', 'b']],
    [['BLMPOP', '5', '1', 'l', 'RIGHT', 'COUNT', '5'], ['RPUSH', 'l', 'a', 'b']],
    [['BLMOVE', 'l', 'dst', 'LEFT', 'RIGHT', '5'], ['RPUSH', 'l', 'a', 'b']],
  ];
  for (const resp3 of [false, true]) {
    it(`${resp3 ? 'RESP3' : 'RESP2'}: BZPOPMIN / BZPOPMAX / BZMPOP / BLPOP / BLMPOP / BLMOVE`, async () => {
      const r = await d.each(
        async (pusher, _side, port) => {
          const out: string[] = [];
          for (const [pop, push] of cases) {
            const waiter = await RawClient.connect(port);
            if (resp3) await waiter.call('HELLO', '3');
            waiter.send(...pop);
            await waitBlocked(pusher, 1);
            out.push(show(await pusher.call(...push)));
            out.push(`${pop.join(' ')} -> ${canon(await waiter.read())}`);
            await waiter.close();
            await pusher.call('FLUSHALL');
          }
          return out;
        },
        { resp3 },
      );
      expect(r.shardis).toEqual(r.redis);
    });
  }
});

describe('strings and keys', () => {
  it('nulls, INCRBYFLOAT, LCS IDX map, BITFIELD nulls, SCAN, RANDOMKEY', () =>
    same(`
      GET missing
      MGET a missing
      SET a 1.5
      INCRBYFLOAT a 0.1
      INCRBYFLOAT b 5.0e3
      SET a x GET
      SET new x GET
      SET new y NX GET
      GETDEL missing
      GETEX missing
      FLUSHALL
      RANDOMKEY
      SET only 1
      RANDOMKEY
      SET k1 ohmytext
      SET k2 mynewtext
      LCS k1 k2
      LCS k1 k2 LEN
      LCS k1 k2 IDX
      LCS k1 k2 IDX MINMATCHLEN 4 WITHMATCHLEN
      BITFIELD bf OVERFLOW FAIL INCRBY u2 0 5
      BITFIELD bf SET u8 0 255 GET u8 0 OVERFLOW FAIL INCRBY u8 0 1
      [unordered] SCAN 0
      SCAN 0 MATCH nomatch*
      [unordered] SCAN 0 TYPE string COUNT 100
      OBJECT ENCODING missing
      OBJECT FREQ missing
      TYPE k1
      TTL k1
    `));

  it('SORT with GET patterns that miss', () =>
    same(`
      RPUSH l 3 1 2
      SET w_1 10
      SET w_3 30
      SORT l
      SORT l GET w_*
      SORT l GET # GET w_*
      SORT l BY nosort GET w_* ALPHA
      SORT missing
      SORT_RO l GET w_*
    `));
});

describe('transactions and server replies', () => {
  it('EXEC carries RESP3 shapes; a failed WATCH returns a null array', () =>
    same(`
      MULTI
      HSET h a 1
      HGETALL h
      ZADD z 1.5 a
      ZSCORE z a
      SADD s x
      SMEMBERS s
      GET missing
      EXEC
      WATCH h
      HSET h a 2
      MULTI
      HGET h a
      EXEC
      MULTI
      SET str v
      LPUSH str x
      BLPOP missing 0
      BZPOPMIN missing 0
      ZPOPMIN z 5
      HRANDFIELD h 1 WITHVALUES
      INCRBYFLOAT f 1.25
      EXEC
    `));

  it('SLOWLOG GET entries', () =>
    same(`
      CONFIG SET slowlog-log-slower-than 0
      SLOWLOG RESET
      HSET h a 1
      [shape] SLOWLOG GET 2
      CONFIG SET slowlog-log-slower-than 10000
      SLOWLOG RESET
    `));

  it('CONFIG GET map, HELLO map, COMMAND INFO / DOCS / COUNT / GETKEYS', () =>
    same(`
      CONFIG GET maxmemory
      [unordered] CONFIG GET maxmemory*
      CONFIG GET nosuchconfig
      [unordered] CONFIG GET hash-max-listpack-entries zset-max-listpack-entries
      [shape] HELLO
      HELLO 4
      COMMAND INFO get hgetall zadd nosuchcommand
      COMMAND DOCS dbsize lastsave
      COMMAND GETKEYS set a b
      COMMAND GETKEYSANDFLAGS set a b
    `));

  it('INFO, CLIENT INFO / LIST are verbatim strings in RESP3; MEMORY; SLOWLOG; PUBSUB NUMSUB', () =>
    same(`
      [shape] INFO server
      [shape] CLIENT INFO
      [shape] CLIENT LIST
      [shape] MEMORY DOCTOR
      [shape] MEMORY STATS
      MEMORY USAGE missing
      CONFIG SET slowlog-log-slower-than 10000000
      SLOWLOG RESET
      SLOWLOG GET
      SLOWLOG LEN
      CONFIG SET slowlog-log-slower-than 10000
      PUBSUB NUMSUB a b
      PUBSUB SHARDNUMSUB a
      PUBSUB CHANNELS
      PUBSUB NUMPAT
      [shape] TIME
      ROLE
      CLIENT GETNAME
      CLIENT SETNAME x
      CLIENT GETNAME
    `));

  it('HELLO, HELLO 3, HELLO 2: the whole reply (the client id aside)', async () => {
    const r = await d.each(async (c) => {
      const out: string[] = [];
      for (const args of [['HELLO'], ['HELLO', '3'], ['HELLO'], ['HELLO', '3', 'SETNAME', 'me'], ['HELLO', '2'], ['HELLO', '1'], ['HELLO', 'x']]) {
        // The id is the nth connection of each server: not comparable.
        out.push(canon(await c.call(...args)).replace(/\$2\r\nid\r\n:\d+\r\n/, '$2\r\nid\r\n:ID\r\n'));
      }
      return out;
    });
    expect(r.shardis).toEqual(r.redis);
    expect(r.redis.join('')).toContain(':ID');
  });

  it('DEBUG PROTOCOL: one of each RESP3 type', () =>
    same(`
      DEBUG PROTOCOL string
      DEBUG PROTOCOL integer
      DEBUG PROTOCOL double
      DEBUG PROTOCOL bignum
      DEBUG PROTOCOL null
      DEBUG PROTOCOL array
      DEBUG PROTOCOL set
      DEBUG PROTOCOL map
      DEBUG PROTOCOL attrib
      DEBUG PROTOCOL push
      DEBUG PROTOCOL true
      DEBUG PROTOCOL false
      DEBUG PROTOCOL verbatim
      DEBUG PROTOCOL nosuch
      PING
    `));
});

describe('pub/sub', () => {
  it('subscribe confirmations and messages are pushes in RESP3; commands keep working', () =>
    same(`
      SUBSCRIBE ch
      PING
      PING hello
      SET k v
      GET k
      PSUBSCRIBE p*
      PUBLISH ch m
      UNSUBSCRIBE ch
      PUNSUBSCRIBE
      UNSUBSCRIBE
    `, { resp3: true }));
});

describe('pub/sub with RESP2 and RESP3 subscribers of one channel', () => {
  it('each gets its own framing (one message encoded per protocol)', async () => {
    const r = await d.each(async (pub, _side, port) => {
      const subs: RawClient[] = [];
      const out: string[] = [];
      // Several of each protocol, so that shardis's threads get a mix (and some have two).
      for (let i = 0; i < 6; i++) {
        const s = await RawClient.connect(port);
        if (i % 2 === 1) await s.call('HELLO', '3');
        out.push(canon(await s.call('SUBSCRIBE', 'mix')));
        out.push(canon(await s.call('PSUBSCRIBE', 'mi*')));
        subs.push(s);
      }
      out.push(show(await pub.call('PUBLISH', 'mix', 'hello')));
      for (const s of subs) out.push(canon(await s.read()), canon(await s.read()));
      // A RESP3 subscriber publishing to itself gets its pushes before its PUBLISH reply.
      out.push(canon(await subs[1].call('PUBLISH', 'mix', 'self')));
      out.push(canon(await subs[1].read()), canon(await subs[1].read()));
      for (const s of subs) await s.close();
      return out;
    });
    expect(r.shardis).toEqual(r.redis);
  });
});

describe('redis-cli -3', () => {
  it('prints the same as against redis-server (HSCAN on a listpack hash used to hang it)', async () => {
    const cmds = [
      'HSET h a 1 b 2',
      'HSCAN h 0',
      'HGETALL h',
      'ZADD z 1.5 m 2 n',
      'ZRANGE z 0 -1 WITHSCORES',
      'ZSCORE z m',
      'SADD s x',
      'SMEMBERS s',
      'HSET one f v',
      'HRANDFIELD one -2 WITHVALUES',
      'CONFIG GET maxmemory',
      'GET missing',
      'DEL h z s one',
    ];
    // One redis-cli per server, the commands on its stdin (it runs them one by one, in order).
    const [a, b] = await Promise.all([d.redis.port, d.shardis.port].map((p) => cli(p, ['-3'], cmds.join('\n') + '\n')));
    expect(b.split('\n')).toEqual(a.split('\n'));
    expect(a).toContain('maxmemory');
  });
});

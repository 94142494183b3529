// Keyspace notifications (notify-keyspace-events) compared with redis-server 7.0: a subscriber
// PSUBSCRIBEs `__key*__:*`, another connection runs a script, and the exact sequence of messages
// (and the script's replies) must be the same. Covers every event of the implemented families,
// no event when nothing changed, "new", "keymiss", lazy and active "expired", blocking pops
// served later, a RESP3 client subscribed to its own keys, and publishers and subscribers on
// different threads.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startPair, type Pair } from '../helpers/diff';
import { RawClient, show, type Reply } from '../helpers/resp';

type Side = 'redis' | 'shardis';
/** A command; a first element '~' means: run it but do not compare its reply (random). */
type Cmd = string[];

const SENTINEL = '__keyend__:done';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let d: Pair;
let mt: Pair;
beforeAll(async () => {
  // DEBUG SET-ACTIVE-EXPIRE (lazy expiry tests) and DEBUG SLEEP need the DEBUG command.
  const redisArgs = ['--enable-debug-command', 'yes'];
  [d, mt] = await Promise.all([startPair({ threads: 1, redisArgs }), startPair({ threads: 2, redisArgs })]);
});
afterAll(async () => {
  await Promise.all([d?.stop(), mt?.stop()]);
});

/** The next reply, or an error naming what was collected so far. */
/** Until INFO says one client is blocked (a push before that would not be a served pop). */
async function waitBlocked(c: RawClient): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const r = await c.call('INFO', 'clients');
    if (r.t === 'bulk' && r.v !== null && /blocked_clients:1\r/.test(r.v.toString())) return;
    await sleep(5);
  }
  throw new Error('the client never blocked');
}

async function readOrFail(c: RawClient, got: string[], ms = 5000): Promise<Reply> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      c.read(),
      new Promise<Reply>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no message within ${ms} ms; got:\n${got.join('\n')}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** One pub/sub message as `pattern channel payload` (or `channel payload`). */
function msgText(r: Reply): string {
  if ((r.t !== 'array' && r.t !== 'push') || r.v === null) return `? ${show(r)}`;
  const parts = r.v.map((x) => (x.t === 'bulk' && x.v !== null ? x.v.toString('latin1') : show(x)));
  return parts.slice(1).join(' ');
}

async function subscriber(port: number): Promise<RawClient> {
  const sub = await RawClient.connect(port);
  const r = await sub.call('PSUBSCRIBE', '__key*__:*');
  if (show(r).indexOf('psubscribe') < 0) throw new Error(`PSUBSCRIBE failed: ${show(r)}`);
  return sub;
}

/** Read a subscriber's messages up to the sentinel. */
async function collect(sub: RawClient): Promise<string[]> {
  const got: string[] = [];
  for (;;) {
    const m = msgText(await readOrFail(sub, got));
    if (m.startsWith(`__key*__:* ${SENTINEL}`)) return got;
    got.push(m);
  }
}

/** Run cmds on c; returns `> cmd` and reply lines (a reply marked '~' is not shown). */
async function runCmds(c: RawClient, cmds: Array<Cmd | number>): Promise<string[]> {
  const out: string[] = [];
  for (const cmd of cmds) {
    if (typeof cmd === 'number') {
      await sleep(cmd);
      continue;
    }
    const ignore = cmd[0] === '~';
    const args = ignore ? cmd.slice(1) : cmd;
    const r = await c.call(...args);
    out.push(`> ${args.join(' ')}`, ignore ? '(not compared)' : show(r));
  }
  return out;
}

/**
 * Set the event classes, subscribe, run the script, publish the sentinel from the same
 * connection (same path, so it comes last), and return replies + messages.
 */
async function events(pair: Pair, flags: string, cmds: Array<Cmd | number>, opts: { subs?: number; before?: Cmd[] } = {}): Promise<string[]> {
  const r = await pair.each(async (c, _side, port) => {
    for (const b of opts.before ?? []) {
      const br = await c.call(...b);
      if (br.t === 'error') throw new Error(`${b.join(' ')}: ${br.v}`);
    }
    await c.call('CONFIG', 'SET', 'notify-keyspace-events', flags);
    const subs: RawClient[] = [];
    for (let i = 0; i < (opts.subs ?? 1); i++) subs.push(await subscriber(port));
    try {
      const out = await runCmds(c, cmds);
      await c.call('PUBLISH', SENTINEL, 'x');
      for (const s of subs) out.push('--- messages', ...(await collect(s)));
      return out;
    } finally {
      await c.call('CONFIG', 'SET', 'notify-keyspace-events', '');
      await Promise.all(subs.map((s) => s.close()));
    }
  });
  expect(r.shardis.join('\n')).toBe(r.redis.join('\n'));
  return r.shardis;
}

const FUTURE = '4102444800'; // 2100-01-01, seconds

describe('keyspace notifications match redis-server', () => {
  it('string events (KEA)', async () => {
    const out = await events(d, 'KEA', [
      ['SET', 's1', 'v'],
      ['SET', 's1', 'v2', 'EX', '100'],
      ['SET', 's1', 'v3', 'KEEPTTL'],
      ['SET', 's1', 'v', 'NX'],
      ['SET', 'nos', 'v', 'XX'],
      ['SET', 's1', 'x', 'GET'],
      ['SET', 's1', 'y', 'PXAT', '4102444800000'],
      ['SETNX', 's1', 'y'],
      ['SETNX', 's3', 'y'],
      ['SETEX', 's4', '100', 'v'],
      ['PSETEX', 's5', '100000', 'v'],
      ['GETSET', 's1', 'z'],
      ['GETDEL', 's1'],
      ['GETDEL', 's1'],
      ['GETEX', 's4', 'PERSIST'],
      ['GETEX', 's4', 'PERSIST'],
      ['GETEX', 's4'],
      ['GETEX', 's4', 'EX', '100'],
      ['GETEX', 's4', 'PXAT', '1'],
      ['MSET', 'a', '1', 'b', '2'],
      ['MSETNX', 'a', '1', 'c', '3'],
      ['MSETNX', 'c', '3', 'd', '4'],
      ['APPEND', 'a', 'x'],
      ['APPEND', 'n1', 'hello'],
      ['APPEND', 'n1', ''],
      ['SETRANGE', 'n1', '2', 'XX'],
      ['SETRANGE', 'n1', '0', ''],
      ['SETRANGE', 'n2', '0', ''],
      ['SETRANGE', 'n2', '3', 'abc'],
      ['INCR', 'i'],
      ['INCRBY', 'i', '5'],
      ['DECR', 'i'],
      ['DECRBY', 'i', '2'],
      ['INCRBY', 'i', '9223372036854775800'],
      ['INCRBYFLOAT', 'f', '1.5'],
      ['INCRBYFLOAT', 'a', '1'],
      ['RPUSH', 'lst', 'x'],
      ['INCR', 'lst'],
      ['APPEND', 'lst', 'x'],
      ['SETBIT', 'b', '7', '1'],
      ['SETBIT', 'b', '7', '1'],
      ['SETBIT', 'b', '100', '0'],
      ['BITFIELD', 'bf', 'SET', 'u8', '0', '255'],
      ['BITFIELD', 'bf', 'SET', 'u8', '0', '255'],
      ['BITFIELD', 'bf', 'GET', 'u8', '0'],
      ['BITFIELD', 'bf', 'OVERFLOW', 'FAIL', 'INCRBY', 'u8', '0', '1'],
      ['BITFIELD_RO', 'bf', 'GET', 'u8', '0'],
      ['BITOP', 'OR', 'dest', 'a', 'b'],
      ['BITOP', 'AND', 'dest2', 'nokey1', 'nokey2'],
      ['BITOP', 'AND', 'dest', 'nokey1'],
    ]);
    expect(out).toContain('__key*__:* __keyevent@0__:setrange n2');
  });

  it('generic events: del, rename, copy, move, expire, persist (KEA, Egx)', async () => {
    const script: Cmd[] = [
      ['SET', 'k1', 'v'],
      ['DEL', 'k1', 'missing'],
      ['UNLINK', 'k1'],
      ['RPUSH', 'k2', 'a'],
      ['UNLINK', 'k2'],
      ['SET', 'r1', 'v'],
      ['RENAME', 'r1', 'r2'],
      ['RENAME', 'r2', 'r2'],
      ['RENAME', 'nokey', 'r2'],
      ['RENAMENX', 'r2', 'r3'],
      ['SET', 'r4', 'v'],
      ['RENAMENX', 'r3', 'r4'],
      ['RENAME', 'r3', 'r4'],
      ['EXPIRE', 'r4', '100'],
      ['PEXPIRE', 'r4', '100000'],
      ['EXPIREAT', 'r4', FUTURE],
      ['PEXPIREAT', 'r4', `${FUTURE}000`],
      ['EXPIRE', 'r4', '100', 'NX'],
      ['EXPIRE', 'r4', '200', 'GT'],
      ['EXPIRE', 'nokey', '10'],
      ['EXPIRE', 'r4', '-1'],
      ['SET', 'p', 'v', 'EX', '100'],
      ['PERSIST', 'p'],
      ['PERSIST', 'p'],
      ['COPY', 'p', 'p2'],
      ['COPY', 'p', 'p2'],
      ['COPY', 'p', 'p2', 'REPLACE'],
      ['COPY', 'p', 'p3', 'DB', '1'],
      ['MOVE', 'p', '2'],
      ['MOVE', 'p', '2'],
      ['SELECT', '2'],
      ['RPUSH', 'p', 'x'],
      ['MOVE', 'p', '0'],
      ['SET', 'q', 'v'],
      ['SELECT', '0'],
      ['SWAPDB', '0', '2'],
      ['FLUSHDB'],
      ['FLUSHALL'],
    ];
    await events(d, 'KEA', script);
    await events(d, 'Egx', script);
  });

  it('list events, and masks (KEA, Kl)', async () => {
    const script: Cmd[] = [
      ['LPUSH', 'l', 'a', 'b', 'c'],
      ['RPUSH', 'l', 'd'],
      ['LPUSHX', 'nol', 'a'],
      ['RPUSHX', 'l', 'e'],
      ['LINSERT', 'l', 'BEFORE', 'a', 'x'],
      ['LINSERT', 'l', 'BEFORE', 'zz', 'y'],
      ['LSET', 'l', '0', 'q'],
      ['LREM', 'l', '1', 'q'],
      ['LREM', 'l', '0', 'nothing'],
      ['LTRIM', 'l', '0', '-1'],
      ['LTRIM', 'nol', '0', '-1'],
      ['LPOP', 'l'],
      ['RPOP', 'l', '2'],
      ['LPOP', 'l', '0'],
      ['LPOP', 'nol'],
      ['SET', 'str', 'v'],
      ['LMOVE', 'l', 'l2', 'LEFT', 'RIGHT'],
      ['LMOVE', 'l', 'str', 'LEFT', 'RIGHT'],
      ['RPOPLPUSH', 'l2', 'l2'],
      ['RPUSH', 'l', 'm1', 'm2', 'm3'],
      ['LMPOP', '2', 'nol', 'l', 'LEFT', 'COUNT', '10'],
      ['RPUSH', 'l3', 'a', 'b', 'c', 'd'],
      ['BLPOP', 'nol', 'l3', '0'],
      ['BRPOP', 'l3', '0'],
      ['BLMPOP', '0', '1', 'l3', 'RIGHT', 'COUNT', '1'],
      ['BLMOVE', 'l3', 'l4', 'RIGHT', 'LEFT', '0'],
      ['BRPOPLPUSH', 'l4', 'l5', '0'],
      ['RPUSH', 'l6', 'a', 'b'],
      ['LTRIM', 'l6', '5', '10'],
      ['RPUSH', 'l7', 'a', 'a', 'b'],
      ['LREM', 'l7', '0', 'a'],
      ['LREM', 'l7', '0', 'b'],
      ['LSET', 'nol', '0', 'x'],
    ];
    await events(d, 'KEA', script);
    await events(d, 'Kl', script);
  });

  it('hash events (KEA)', async () => {
    await events(d, 'KEA', [
      ['HSET', 'h', 'f', 'v'],
      ['HSET', 'h', 'f', 'v'],
      ['HMSET', 'h', 'a', '1', 'b', '2'],
      ['HSETNX', 'h', 'f', 'x'],
      ['HSETNX', 'h', 'g', 'y'],
      ['HSETNX', 'h2', 'g', 'y'],
      ['HINCRBY', 'h', 'n', '5'],
      ['HINCRBY', 'h', 'f', '5'],
      ['HINCRBYFLOAT', 'h', 'fl', '1.5'],
      ['HINCRBY', 'h3', 'n', '1'],
      ['HINCRBYFLOAT', 'h4', 'n', '1'],
      ['HDEL', 'h', 'nosuch'],
      ['HDEL', 'h', 'f', 'g'],
      ['HDEL', 'h', 'a', 'b', 'n', 'fl', 'zz'],
      ['HDEL', 'nokey', 'a'],
    ]);
  });

  it('set events (KEA, Ks)', async () => {
    const script: Cmd[] = [
      ['SADD', 's', 'a', 'b'],
      ['SADD', 's', 'a'],
      ['SREM', 's', 'x'],
      ['SREM', 's', 'a'],
      ['SMOVE', 's', 's2', 'b'],
      ['SMOVE', 's2', 's3', 'nosuch'],
      ['SADD', 's3', 'b'],
      ['SMOVE', 's2', 's3', 'b'],
      ['SADD', 's2', 'c'],
      ['SMOVE', 's3', 's2', 'b'],
      ['SADD', 'one', 'only'],
      ['SPOP', 'one'],
      ['SPOP', 'one'],
      ['SADD', 'n', '1', '2', '3'],
      ['SPOP', 'n', '10'],
      ['SADD', 's4', '1', '2', '3', '4', '5'],
      ['~', 'SPOP', 's4', '2'],
      ['SPOP', 's4', '0'],
      ['SINTERSTORE', 'dst', 's4', 's4'],
      ['SUNIONSTORE', 'dst', 's4', 'nokey'],
      ['SDIFFSTORE', 'dst2', 's4', 'nokey'],
      ['SDIFFSTORE', 'dst', 's4', 's4'],
      ['SINTERSTORE', 'dst2', 'nokey', 's4'],
      ['SINTERSTORE', 'dst3', 'nokey', 's4'],
      ['SUNIONSTORE', 'dst3', 'nokey'],
      ['SINTERCARD', '1', 's4'],
      ['SINTER', 's4', 'dst2'],
      ['SREM', 's2', 'b', 'c'],
    ];
    await events(d, 'KEA', script);
    await events(d, 'Ks', script);
  });

  it('sorted set events (KEA, Kz)', async () => {
    const script: Cmd[] = [
      ['ZADD', 'z', '1', 'a', '2', 'b'],
      ['ZADD', 'z', '1', 'a'],
      ['ZADD', 'z', 'XX', '5', 'a'],
      ['ZADD', 'z', 'NX', '5', 'a'],
      ['ZADD', 'z', 'XX', '1', 'new'],
      ['ZADD', 'noz', 'XX', '1', 'new'],
      ['ZINCRBY', 'z', '1', 'a'],
      ['ZADD', 'z', 'INCR', '1', 'b'],
      ['ZADD', 'z', 'GT', '0', 'a'],
      ['ZADD', 'z', 'GT', 'CH', '10', 'a'],
      ['ZREM', 'z', 'x'],
      ['ZREM', 'z', 'a'],
      ['ZADD', 'z', '1', 'x', '2', 'y', '3', 'w'],
      ['ZREMRANGEBYRANK', 'z', '0', '0'],
      ['ZREMRANGEBYRANK', 'z', '10', '20'],
      ['ZREMRANGEBYSCORE', 'z', '2', '2'],
      ['ZREMRANGEBYSCORE', 'z', '100', '200'],
      ['ZREMRANGEBYLEX', 'z', '-', '+'],
      ['ZADD', 'z2', '1', 'a', '2', 'b', '3', 'c'],
      ['ZPOPMIN', 'z2'],
      ['ZPOPMAX', 'z2', '5'],
      ['ZPOPMIN', 'z2'],
      ['ZADD', 'z3', '1', 'a', '2', 'b', '3', 'c'],
      ['ZMPOP', '2', 'noz', 'z3', 'MAX', 'COUNT', '2'],
      ['BZPOPMIN', 'noz', 'z3', '0'],
      ['ZADD', 'z4', '1', 'a', '2', 'b'],
      ['BZPOPMAX', 'z4', '0'],
      ['BZMPOP', '0', '1', 'z4', 'MIN'],
      ['ZADD', 'z5', '1', 'a', '2', 'b'],
      ['ZUNIONSTORE', 'u', '2', 'z5', 'noz'],
      ['ZUNIONSTORE', 'u', '1', 'z5'],
      ['ZINTERSTORE', 'i', '2', 'z5', 'u'],
      ['ZDIFFSTORE', 'df', '2', 'z5', 'noz'],
      ['ZDIFFSTORE', 'df', '2', 'z5', 'z5'],
      ['ZINTERSTORE', 'i2', '2', 'z5', 'noz'],
      ['ZRANGESTORE', 'rs', 'z5', '0', '-1'],
      ['ZRANGESTORE', 'rs', 'z5', '10', '20'],
      ['ZRANGESTORE', 'rs2', 'noz', '0', '-1'],
      ['ZADD', 'zinf', 'inf', 'a'],
      ['ZINCRBY', 'zinf', '-inf', 'a'],
      ['ZUNION', '2', 'z5', 'noz'],
    ];
    await events(d, 'KEA', script);
    await events(d, 'Kz', script);
  });

  it('stream events (KEA, Kt)', async () => {
    const script: Cmd[] = [
      ['XADD', 'x', '1-1', 'a', '1'],
      ['XADD', 'x', '1-2', 'a', '2'],
      ['XADD', 'x', '1-1', 'a', '3'],
      ['XADD', 'nox', 'NOMKSTREAM', '*', 'a', '1'],
      ['XADD', 'x', 'MAXLEN', '1', '2-0', 'b', '1'],
      ['XADD', 'x', 'MAXLEN', '5', '3-0', 'b', '1'],
      ['XDEL', 'x', '9-9'],
      ['XDEL', 'x', '2-0'],
      ['XTRIM', 'x', 'MAXLEN', '5'],
      ['XTRIM', 'x', 'MAXLEN', '0'],
      ['XSETID', 'x', '10-0'],
      ['XSETID', 'x', '1-0'],
      ['XTRIM', 'nox', 'MAXLEN', '0'],
    ];
    await events(d, 'KEA', script);
    await events(d, 'Kt', script);
  });

  it('SORT STORE events (KEA)', async () => {
    await events(d, 'KEA', [
      ['RPUSH', 'sl', '3', '1', '2'],
      ['SORT', 'sl', 'STORE', 'dst'],
      ['SORT', 'sl', 'STORE', 'dst'],
      ['SORT', 'nokey', 'STORE', 'dst'],
      ['SORT', 'nokey', 'STORE', 'dst'],
      ['SORT', 'sl', 'BY', 'w_*', 'GET', 'o_*', 'STORE', 'dst2'],
    ]);
  });

  it('HyperLogLog events (KEA, K$)', async () => {
    const script: Cmd[] = [
      ['PFADD', 'h', 'a', 'b'],
      ['PFADD', 'h', 'a'],
      ['PFADD', 'h2'],
      ['PFCOUNT', 'h'],
      ['PFCOUNT', 'h'],
      ['PFMERGE', 'h3', 'h', 'h2'],
      ['PFMERGE', 'h3'],
      ['PFDEBUG', 'TODENSE', 'h3'],
      ['PFCOUNT', 'h', 'h2'],
    ];
    await events(d, 'KEA', script);
    await events(d, 'K$', script);
  });

  it('GEO events (KEA, Kz)', async () => {
    const script: Cmd[] = [
      ['GEOADD', 'g', '13.361389', '38.115556', 'Palermo', '15.087269', '37.502669', 'Catania'],
      ['GEOADD', 'g', 'NX', '13.361389', '38.115556', 'Palermo'],
      ['GEOADD', 'g', '200', '38', 'bad'],
      ['GEORADIUS', 'g', '15', '37', '200', 'km', 'STORE', 'dst'],
      ['GEORADIUS', 'g', '15', '37', '1', 'km', 'STORE', 'dst'],
      ['GEORADIUS', 'g', '15', '37', '1', 'km', 'STORE', 'dst'],
      ['GEORADIUSBYMEMBER', 'g', 'Palermo', '200', 'km', 'STOREDIST', 'dst'],
      ['GEOSEARCHSTORE', 'dst2', 'g', 'FROMLONLAT', '15', '37', 'BYBOX', '400', '400', 'km'],
      ['GEOSEARCHSTORE', 'dst2', 'nokey', 'FROMLONLAT', '15', '37', 'BYBOX', '400', '400', 'km'],
      ['GEOSEARCH', 'g', 'FROMLONLAT', '15', '37', 'BYBOX', '400', '400', 'km'],
    ];
    await events(d, 'KEA', script);
    await events(d, 'Kz', script);
  });

  it('"new" events (En)', async () => {
    await events(d, 'En', [
      ['SET', 'foo', 'bar'],
      ['SET', 'foo', 'baz'],
      ['SET', 'bar', 'bar'],
      ['LPUSH', 'l', 'a'],
      ['LPUSH', 'l', 'b'],
      ['RENAME', 'l', 'l2'],
      ['SET', 'l3', 'x'],
      ['RENAME', 'l2', 'l3'],
      ['SADD', 's', 'a'],
      ['SINTERSTORE', 's', 's'],
      ['SINTERSTORE', 's3', 's'],
      ['ZADD', 'z', '1', 'a'],
      ['ZUNIONSTORE', 'zu', '1', 'z'],
      ['ZUNIONSTORE', 'zu', '1', 'z'],
      ['ZRANGESTORE', 'zr', 'z', '0', '-1'],
      ['HSET', 'h', 'f', 'v'],
      ['HINCRBY', 'h2', 'f', '1'],
      ['COPY', 'foo', 'foo2'],
      ['COPY', 'foo', 'foo2', 'REPLACE'],
      ['MOVE', 'foo', '1'],
      ['APPEND', 'ap', 'x'],
      ['APPEND', 'ap', 'x'],
      ['INCR', 'cnt'],
      ['INCRBYFLOAT', 'fl', '1'],
      ['SETRANGE', 'sr', '0', 'x'],
      ['SETBIT', 'sb', '1', '1'],
      ['BITFIELD', 'bff', 'SET', 'u8', '0', '1'],
      ['BITOP', 'NOT', 'bo', 'sb'],
      ['MSET', 'm1', '1', 'foo2', '2'],
      ['GETSET', 'gs', '1'],
      ['RPUSH', 'sl', '2', '1'],
      ['SORT', 'sl', 'STORE', 'sorted'],
      ['SORT', 'sl', 'STORE', 'sorted'],
      ['LMOVE', 'sl', 'sl2', 'LEFT', 'LEFT'],
      ['SMOVE', 's', 'smv', 'a'],
      ['SADD', 'n1', '1'],
      ['SUNIONSTORE', 'n1', 'n1', 'nokey'],
    ]);
  });

  it('"keymiss" events (KEAm, Em) only for read lookups', async () => {
    const script: Cmd[] = [
      ['SET', 'a', '1'],
      ['GET', 'nokey'],
      ['GET', 'a'],
      ['MGET', 'a', 'nokey', 'nokey2'],
      ['EXISTS', 'nokey', 'a'],
      ['TYPE', 'nokey'],
      ['TTL', 'nokey'],
      ['PTTL', 'nokey'],
      ['OBJECT', 'ENCODING', 'nokey'],
      ['TOUCH', 'nokey'],
      ['STRLEN', 'nokey'],
      ['GETRANGE', 'nokey', '0', '1'],
      ['GETEX', 'nokey'],
      ['BITCOUNT', 'nokey'],
      ['BITPOS', 'nokey', '1'],
      ['GETBIT', 'nokey', '1'],
      ['LCS', 'a', 'nokey'],
      ['BITOP', 'AND', 'd', 'nokey'],
      ['SET', 'nokey9', 'v', 'GET'],
      ['LRANGE', 'nokey', '0', '-1'],
      ['LLEN', 'nokey'],
      ['LINDEX', 'nokey', '0'],
      ['LPOS', 'nokey', 'a'],
      ['HGET', 'nokey', 'f'],
      ['HMGET', 'nokey', 'f'],
      ['HGETALL', 'nokey'],
      ['HLEN', 'nokey'],
      ['HEXISTS', 'nokey', 'f'],
      ['HSTRLEN', 'nokey', 'f'],
      ['HRANDFIELD', 'nokey'],
      ['HSCAN', 'nokey', '0'],
      ['SMEMBERS', 'nokey'],
      ['SISMEMBER', 'nokey', 'a'],
      ['SMISMEMBER', 'nokey', 'a'],
      ['SCARD', 'nokey'],
      ['SRANDMEMBER', 'nokey'],
      ['SINTER', 'nokey', 'a2'],
      ['SINTERSTORE', 'd', 'nokey'],
      ['SUNION', 'nokey'],
      ['SSCAN', 'nokey', '0'],
      ['ZRANGE', 'nokey', '0', '-1'],
      ['ZRANGESTORE', 'd', 'nokey', '0', '-1'],
      ['ZSCORE', 'nokey', 'm'],
      ['ZMSCORE', 'nokey', 'm'],
      ['ZRANK', 'nokey', 'm'],
      ['ZCARD', 'nokey'],
      ['ZCOUNT', 'nokey', '0', '1'],
      ['ZRANDMEMBER', 'nokey'],
      ['ZUNIONSTORE', 'd', '1', 'nokey'],
      ['ZINTER', '1', 'nokey'],
      ['ZSCAN', 'nokey', '0'],
      ['SORT', 'nokey'],
      ['RPUSH', 'sl', '2', '1'],
      ['SORT', 'sl', 'BY', 'w_*', 'GET', 'o_*', 'GET', '#'],
      ['COPY', 'nokey', 'x'],
      // Write lookups: no keymiss.
      ['DEL', 'nokey'],
      ['LPUSHX', 'nokey', 'a'],
      ['EXPIRE', 'nokey', '10'],
      ['PERSIST', 'nokey'],
      ['RENAME', 'nokey', 'x'],
      ['INCR', 'cnt'],
      ['HSET', 'h', 'f', 'v'],
      ['SADD', 's', 'a'],
      ['ZADD', 'z', '1', 'a'],
      ['LPOP', 'nokey'],
      ['SPOP', 'nokey'],
      ['ZPOPMIN', 'nokey'],
      ['SET', 'nokey8', 'v', 'NX'],
    ];
    await events(d, 'KEAm', script);
    await events(d, 'Em', script);
  });

  it('"expired" events from lazy expiry, with keymiss and new', async () => {
    const script: Array<Cmd | number> = [
      ['SET', 'e1', 'v', 'PX', '1'],
      ['SET', 'e2', 'v', 'PX', '1'],
      ['SET', 'e3', 'v', 'PX', '1'],
      ['SET', 'e4', 'v', 'PX', '1'],
      ['RPUSH', 'e5', 'a'],
      ['PEXPIRE', 'e5', '1'],
      ['SET', 'e6', 'v', 'PX', '1'],
      ['SET', 'e7', 'v', 'PX', '1'],
      ['SET', 'e8', 'v', 'PX', '1'],
      30,
      ['GET', 'e1'],
      ['DEL', 'e2'],
      ['SET', 'e3', 'new'],
      ['EXISTS', 'e4'],
      ['LPUSH', 'e5', 'b'],
      ['RENAME', 'e6', 'x'],
      ['TTL', 'e7'],
      ['INCR', 'e8'],
    ];
    const before: Cmd[] = [['DEBUG', 'SET-ACTIVE-EXPIRE', '0']];
    try {
      await events(d, 'KEAmn', script, { before });
      await events(d, 'Ex', script, { before });
      await events(d, 'Kg', script, { before });
    } finally {
      await d.each((c) => c.call('DEBUG', 'SET-ACTIVE-EXPIRE', '1'), { flush: false });
    }
  });

  it('"expired" events from active expiry', async () => {
    const r = await d.each(async (c, _side, port) => {
      await c.call('CONFIG', 'SET', 'notify-keyspace-events', 'Ex');
      const sub = await subscriber(port);
      try {
        await c.call('SET', 'a1', 'v', 'PX', '50');
        await c.call('SET', 'a2', 'v', 'PX', '50');
        await c.call('SELECT', '3');
        await c.call('SET', 'a3', 'v', 'PX', '50');
        const got: string[] = [];
        // Nobody touches the keys: only the background cycle can expire them.
        for (let i = 0; i < 3; i++) got.push(msgText(await readOrFail(sub, got, 5000)));
        await c.call('PUBLISH', SENTINEL, 'x');
        got.push(...(await collect(sub)));
        return got.sort();
      } finally {
        await c.call('CONFIG', 'SET', 'notify-keyspace-events', '');
        await sub.close();
      }
    });
    expect(r.shardis).toEqual(r.redis);
    expect(r.shardis).toEqual([
      '__key*__:* __keyevent@0__:expired a1',
      '__key*__:* __keyevent@0__:expired a2',
      '__key*__:* __keyevent@3__:expired a3',
    ]);
  });

  it('blocked clients served later notify their pops', async () => {
    const r = await d.each(async (c, _side, port) => {
      await c.call('CONFIG', 'SET', 'notify-keyspace-events', 'KEA');
      const sub = await subscriber(port);
      const blocker = await RawClient.connect(port);
      const out: string[] = [];
      try {
        const cases: Array<[Cmd, Cmd]> = [
          [['BLPOP', 'bl', '0'], ['RPUSH', 'bl', 'x']],
          [['BRPOP', 'bl', 'bl2', '0'], ['RPUSH', 'bl2', 'x', 'y']],
          [['BLMPOP', '0', '1', 'bl3', 'LEFT', 'COUNT', '5'], ['RPUSH', 'bl3', 'x', 'y']],
          [['BLMOVE', 'src', 'dst', 'LEFT', 'RIGHT', '0'], ['RPUSH', 'src', 'x']],
          [['BRPOPLPUSH', 'src2', 'dst', '0'], ['LPUSH', 'src2', 'x', 'y']],
          [['BZPOPMIN', 'bz', '0'], ['ZADD', 'bz', '1', 'a']],
          [['BZPOPMAX', 'bz', '0'], ['ZADD', 'bz', '1', 'a', '2', 'b']],
          [['BZMPOP', '0', '1', 'bz2', 'MIN', 'COUNT', '5'], ['ZADD', 'bz2', '1', 'a', '2', 'b']],
        ];
        for (const [block, push] of cases) {
          blocker.send(...block);
          await waitBlocked(c);
          out.push(`> ${push.join(' ')}`, show(await c.call(...push)));
          out.push(`> ${block.join(' ')}`, show(await readOrFail(blocker, out)));
        }
        await c.call('PUBLISH', SENTINEL, 'x');
        out.push(...(await collect(sub)));
        return out;
      } finally {
        await c.call('CONFIG', 'SET', 'notify-keyspace-events', '');
        await Promise.all([sub.close(), blocker.close()]);
      }
    });
    expect(r.shardis.join('\n')).toBe(r.redis.join('\n'));
  });

  it('a RESP3 client subscribed to its own keys gets the events in its reply stream', async () => {
    const r = await d.each(async (c) => {
      expect(show(await c.call('DEBUG', 'SET-ACTIVE-EXPIRE', '0'))).toBe('OK');
      await c.call('CONFIG', 'SET', 'notify-keyspace-events', 'KEAmn');
      await c.call('HELLO', '3');
      const out = [show(await c.call('SUBSCRIBE', '__keyspace@0__:k'))];
      out.push(show(await c.call('PSUBSCRIBE', '__keyevent@0__:*')));
      const cmds: Cmd[] = [
        ['SET', 'k', 'v'],
        ['GET', 'nokey'],
        ['SET', 'k', 'v2', 'GET'],
        ['EXPIRE', 'k', '100'],
        ['PERSIST', 'k'],
        ['HSET', 'h', 'f', 'v'],
        ['LPUSH', 'l', 'a', 'b'],
        ['LPOP', 'l'],
        ['LMOVE', 'l', 'l2', 'LEFT', 'RIGHT'],
        ['SADD', 's', 'a'],
        ['SPOP', 's'],
        ['ZADD', 'z', '1', 'a', '2', 'b'],
        ['ZPOPMIN', 'z', '2'],
        ['INCR', 'k2'],
        ['SET', 'k3', 'v', 'PX', '1'],
        ['PING'],
      ];
      for (const cmd of cmds) {
        c.send(...cmd);
        out.push(`> ${cmd.join(' ')}`);
        // Pushes may come before the reply (and after: they then show up before the next one).
        for (;;) {
          const x = await readOrFail(c, out);
          out.push(show(x));
          if (x.t !== 'push') break;
        }
      }
      await sleep(20);
      c.send('GET', 'k3');
      out.push('> GET k3');
      for (;;) {
        const x = await readOrFail(c, out);
        out.push(show(x));
        if (x.t !== 'push') break;
      }
      c.send('PING');
      out.push('> PING');
      for (;;) {
        const x = await readOrFail(c, out);
        out.push(show(x));
        if (x.t !== 'push') break;
      }
      await c.call('CONFIG', 'SET', 'notify-keyspace-events', '');
      await c.call('DEBUG', 'SET-ACTIVE-EXPIRE', '1');
      return out;
    });
    expect(r.shardis.join('\n')).toBe(r.redis.join('\n'));
  });

  it('no events unless K or E is set with a class; mask strings', async () => {
    for (const flags of ['A', 'K', 'E', 'Kg', 'E$', 'Egx', 'Kl', 'AK', 'AE', 'KEA']) {
      await events(d, flags, [
        ['SET', 'k', 'v', 'EX', '100'],
        ['LPUSH', 'l', 'a'],
        ['DEL', 'k', 'l'],
        ['SADD', 's', 'a'],
      ]);
    }
  });

  it('events of other databases carry their number', async () => {
    await events(d, 'KEA', [
      ['SELECT', '5'],
      ['SET', 'k', 'v'],
      ['LPUSH', 'l', 'a'],
      ['COPY', 'k', 'k2', 'DB', '9'],
      ['MOVE', 'k', '11'],
      ['SELECT', '11'],
      ['DEL', 'k'],
      ['SELECT', '0'],
    ]);
  });
});

describe('keyspace notifications across threads (shardis --threads 2)', () => {
  /** A connection accepted by another thread than `busy`'s (shardis: proven by DEBUG THREAD-SLEEP, which stalls one thread). */
  async function onOtherThread(busy: RawClient, port: number, side: Side): Promise<RawClient> {
    if (side === 'redis') return subscriber(port);
    for (let attempt = 0; attempt < 10; attempt++) {
      const sleeping = busy.call('DEBUG', 'THREAD-SLEEP', '0.3');
      await sleep(50);
      const sub = await RawClient.connect(port);
      const answered = sub.call('PSUBSCRIBE', '__key*__:*').then(() => 'sub');
      const first = await Promise.race([answered, sleeping.then(() => 'slept')]);
      await Promise.all([answered, sleeping]);
      if (first === 'sub') return sub;
      await sub.close();
    }
    throw new Error('could not place a subscriber on another thread');
  }

  it('subscribers on other threads get every event in order', async () => {
    const script: Cmd[] = [
      ['SET', 'k', 'v', 'EX', '100'],
      ['SET', 'k', 'v2'],
      ['INCR', 'n'],
      ['LPUSH', 'l', 'a', 'b'],
      ['LMOVE', 'l', 'l2', 'LEFT', 'RIGHT'],
      ['RPOP', 'l'],
      ['HSET', 'h', 'f', 'v'],
      ['SADD', 's', 'a', 'b'],
      ['SREM', 's', 'a', 'b'],
      ['ZADD', 'z', '1', 'a'],
      ['ZPOPMIN', 'z'],
      ['RENAME', 'k', 'k2'],
      ['GET', 'nokey'],
      ['DEL', 'k2', 'n'],
    ];
    const r = await mt.each(async (c, side, port) => {
      await c.call('CONFIG', 'SET', 'notify-keyspace-events', 'KEAmn');
      const far = await onOtherThread(c, port, side);
      const near = await subscriber(port);
      try {
        const out = await runCmds(c, script);
        await c.call('PUBLISH', SENTINEL, 'x');
        out.push('--- other thread', ...(await collect(far)));
        out.push('--- any thread', ...(await collect(near)));
        return out;
      } finally {
        await c.call('CONFIG', 'SET', 'notify-keyspace-events', '');
        await Promise.all([far.close(), near.close()]);
      }
    });
    expect(r.shardis.join('\n')).toBe(r.redis.join('\n'));
  });

  it('CONFIG SET on one thread turns events on and off on every thread', async () => {
    const r = await mt.each(async (c, side, port) => {
      const far = await onOtherThread(c, port, side);
      const other = await RawClient.connect(port);
      const out: string[] = [];
      try {
        await c.call('CONFIG', 'SET', 'notify-keyspace-events', 'E$');
        out.push(show(await other.call('SET', 'a', '1')));
        await c.call('CONFIG', 'SET', 'notify-keyspace-events', '');
        out.push(show(await other.call('SET', 'b', '1')));
        await c.call('CONFIG', 'SET', 'notify-keyspace-events', 'Kg');
        out.push(show(await other.call('DEL', 'a', 'b')));
        await other.call('PUBLISH', SENTINEL, 'x');
        out.push(...(await collect(far)));
        return out;
      } finally {
        await c.call('CONFIG', 'SET', 'notify-keyspace-events', '');
        await Promise.all([far.close(), other.close()]);
      }
    });
    expect(r.shardis.join('\n')).toBe(r.redis.join('\n'));
  });

  it('active expiry on the main thread reaches subscribers on every thread', async () => {
    const r = await mt.each(async (c, side, port) => {
      await c.call('CONFIG', 'SET', 'notify-keyspace-events', 'Ex');
      const far = await onOtherThread(c, port, side);
      const near = await subscriber(port);
      try {
        await c.call('SET', 'x1', 'v', 'PX', '30');
        await c.call('SET', 'x2', 'v', 'PX', '30');
        const got: string[] = [];
        for (const s of [far, near]) {
          const mine: string[] = [];
          for (let i = 0; i < 2; i++) mine.push(msgText(await readOrFail(s, got, 5000)));
          got.push(...mine.sort());
        }
        return got;
      } finally {
        await c.call('CONFIG', 'SET', 'notify-keyspace-events', '');
        await Promise.all([far.close(), near.close()]);
      }
    });
    expect(r.shardis).toEqual(r.redis);
  });
});

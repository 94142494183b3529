// The write-path replay workload (issue 9's contract), shared by the tests that replay what
// shardis propagated elsewhere: the captured stream and a PSYNC replica (replay.test.ts), the
// AOF loaded by redis-server (aof-replay.test.ts). Random concurrent commands of every type,
// MULTI/EXEC, blocking pops, short and long TTLs, eviction, FLUSHDB ASYNC, SWAPDB, MOVE, SORT STORE,
// scripts whose effects depend on time and randomness.
import type { RawClient } from './resp';
import { rng } from './util';

export const DBS = 3;
export const CONNS = 6;

// Every key name the workload can produce (the settle step visits them all).
const STR = ['s0', 's1', 's2', 's3', 's4', 'n0', 'n1', 'f0'];
const LIST = ['l0', 'l1', 'l2', 'l3'];
const HASH = ['h0', 'h1', 'h2'];
const SET = ['S0', 'S1', 'S2', 'S3'];
const ZSET = ['z0', 'z1', 'z2', 'z3'];
const HLL = ['p0', 'p1'];
const XS = ['x0', 'x1', 'x2'];
const GEO = ['g0', 'g1'];
export const ALL_KEYS = [...STR, ...LIST, ...HASH, ...SET, ...ZSET, ...HLL, ...GEO, ...XS, 'sorted', 'copy', 'marker'];

export type Cmd = (string | number)[];

export function workload(r: () => number, streams = false): () => Cmd[] {
  const pick = <T>(a: T[]): T => a[Math.floor(r() * a.length)];
  const int = (n: number): number => Math.floor(r() * n);
  const val = (): string => (r() < 0.5 ? String(int(100)) : `v${int(1000)}${'x'.repeat(int(3) * 20)}`);
  // Short TTLs (lazy and active expiry fire while the seed runs) or long ones (still set at the
  // digest): never in between, so the replay, run a moment later, means the same.
  const shortMs = (): string => String(1 + int(150));
  const longS = (): string => String(1000 + int(1000));
  const gens: Array<[number, () => Cmd[]]> = [
    // strings
    [6, () => [['SET', pick(STR), val()]]],
    [3, () => [['SET', pick(STR), val(), 'EX', longS()]]],
    [3, () => [['SET', pick(STR), val(), 'PX', shortMs()]]],
    [1, () => [['SET', pick(STR), val(), 'EXAT', String(Math.floor(Date.now() / 1000) + 5000), 'GET']]],
    [1, () => [['SETEX', pick(STR), longS(), val()]]],
    [1, () => [['PSETEX', pick(STR), shortMs(), val()]]],
    [1, () => [['GETEX', pick(STR), 'EX', longS()]]],
    [1, () => [['GETEX', pick(STR), 'PX', shortMs()]]],
    [1, () => [['GETEX', pick(STR), 'PERSIST']]],
    [1, () => [['GETEX', pick(STR), 'PXAT', String(Date.now() - 10)]]],
    [1, () => [['GETDEL', pick(STR)]]],
    [1, () => [['GETSET', pick(STR), val()]]],
    [3, () => [['INCR', pick(['n0', 'n1'])]]],
    [3, () => [['INCRBYFLOAT', pick(['n0', 'n1', 'f0']), (r() * 10 - 3).toFixed(int(4))]]],
    [2, () => [['APPEND', pick(STR), 'ab']]],
    [1, () => [['SETRANGE', pick(STR), String(int(10)), 'zz']]],
    [1, () => [['MSET', pick(STR), val(), pick(STR), val()]]],
    [1, () => [['SETNX', pick(STR), val()]]],
    [1, () => [['EXPIRE', pick(ALL_KEYS), longS()]]],
    [1, () => [['PEXPIRE', pick(ALL_KEYS), shortMs()]]],
    [1, () => [['EXPIREAT', pick(ALL_KEYS), String(Math.floor(Date.now() / 1000) - 5)]]],
    [1, () => [['PEXPIRE', pick(ALL_KEYS), String(5000000), pick(['NX', 'XX', 'GT', 'LT'])]]],
    [1, () => [['PERSIST', pick(ALL_KEYS)]]],
    [2, () => [['DEL', pick(ALL_KEYS)]]],
    [1, () => [['UNLINK', pick(ALL_KEYS), pick(ALL_KEYS)]]],
    // lists
    [6, () => [[pick(['LPUSH', 'RPUSH']), pick(LIST), val(), val()]]],
    [2, () => [[pick(['LPOP', 'RPOP']), pick(LIST)]]],
    [1, () => [['RPOP', pick(LIST), String(1 + int(3))]]],
    [2, () => [['LMOVE', pick(LIST), pick(LIST), pick(['LEFT', 'RIGHT']), pick(['LEFT', 'RIGHT'])]]],
    [1, () => [['RPOPLPUSH', pick(LIST), pick(LIST)]]],
    [1, () => [['LMPOP', '2', pick(LIST), pick(LIST), pick(['LEFT', 'RIGHT']), 'COUNT', String(1 + int(3))]]],
    [1, () => [['LTRIM', pick(LIST), '0', String(int(6))]]],
    [1, () => [['LSET', pick(LIST), '0', val()]]],
    [1, () => [['LREM', pick(LIST), '0', val()]]],
    [1, () => [['LINSERT', pick(LIST), 'BEFORE', val(), val()]]],
    [3, () => [['BLPOP', pick(LIST), pick(LIST), '0.1']]],
    [2, () => [['BRPOP', pick(LIST), '0.1']]],
    [2, () => [['BLMOVE', pick(LIST), pick(LIST), pick(['LEFT', 'RIGHT']), pick(['LEFT', 'RIGHT']), '0.1']]],
    [1, () => [['BRPOPLPUSH', pick(LIST), pick(LIST), '0.1']]],
    [2, () => [['BLMPOP', '0.1', '2', pick(LIST), pick(LIST), pick(['LEFT', 'RIGHT']), 'COUNT', String(1 + int(3))]]],
    // hashes
    [4, () => [['HSET', pick(HASH), `f${int(8)}`, val(), `f${int(8)}`, val()]]],
    [1, () => [['HDEL', pick(HASH), `f${int(8)}`]]],
    [2, () => [['HINCRBY', pick(HASH), `i${int(3)}`, String(int(10))]]],
    [2, () => [['HINCRBYFLOAT', pick(HASH), `d${int(3)}`, (r() * 5).toFixed(1 + int(3))]]],
    // sets
    [4, () => [['SADD', pick(SET), ...Array.from({ length: 1 + int(4) }, () => (r() < 0.5 ? String(int(50)) : `m${int(30)}`))]]],
    [1, () => [['SREM', pick(SET), `m${int(30)}`]]],
    [2, () => [['SPOP', pick(SET)]]],
    [2, () => [['SPOP', pick(SET), String(1 + int(4))]]],
    [1, () => [['SMOVE', pick(SET), pick(SET), `m${int(30)}`]]],
    [1, () => [[pick(['SINTERSTORE', 'SUNIONSTORE', 'SDIFFSTORE']), pick(SET), pick(SET), pick(SET)]]],
    // sorted sets
    [4, () => [['ZADD', pick(ZSET), String(int(20)), `e${int(15)}`, (r() * 10).toFixed(2), `e${int(15)}`]]],
    [1, () => [['ZINCRBY', pick(ZSET), '1.5', `e${int(15)}`]]],
    [1, () => [['ZREM', pick(ZSET), `e${int(15)}`]]],
    [2, () => [[pick(['ZPOPMIN', 'ZPOPMAX']), pick(ZSET)]]],
    [1, () => [['ZPOPMAX', pick(ZSET), String(1 + int(3))]]],
    [1, () => [['ZMPOP', '2', pick(ZSET), pick(ZSET), pick(['MIN', 'MAX']), 'COUNT', String(1 + int(3))]]],
    [2, () => [[pick(['BZPOPMIN', 'BZPOPMAX']), pick(ZSET), pick(ZSET), '0.1']]],
    [1, () => [['BZMPOP', '0.1', '1', pick(ZSET), pick(['MIN', 'MAX']), 'COUNT', '2']]],
    [1, () => [['ZUNIONSTORE', pick(ZSET), '2', pick(ZSET), pick(ZSET)]]],
    [1, () => [['ZRANGESTORE', pick(ZSET), pick(ZSET), '0', '2']]],
    [1, () => [['ZREMRANGEBYSCORE', pick(ZSET), '0', '3']]],
    // HyperLogLog (a PFCOUNT that refreshes the cached cardinality changes the value and is
    // propagated, as in Redis 7.0)
    [2, () => [['PFADD', pick(HLL), ...Array.from({ length: int(r() < 0.1 ? 300 : 6) }, () => `e${int(5000)}`)]]],
    [1, () => [['PFMERGE', pick(HLL), pick(HLL), pick(HLL)]]],
    [1, () => [['PFCOUNT', pick(HLL)]]],
    [0.3, () => [['PFCOUNT', pick(HLL), pick(HLL)]]],
    // GEO (GEOADD propagates as the ZADD it becomes; the STORE forms as themselves)
    [2, () => [['GEOADD', pick(GEO), ...Array.from({ length: 1 + int(4) }, () => [(10 + r()).toFixed(5), (40 + r()).toFixed(5), `g${int(30)}`]).flat()]]],
    [0.5, () => [['GEOADD', pick(GEO), pick(['NX', 'XX', 'CH']), (10 + r()).toFixed(5), (40 + r()).toFixed(5), `g${int(30)}`]]],
    [1, () => [['GEORADIUS', pick(GEO), '10.5', '40.5', String(10 + int(60)), 'km', ...(r() < 0.5 ? ['COUNT', String(1 + int(5))] : []), pick(['STORE', 'STOREDIST']), pick(GEO)]]],
    [1, () => [['GEOSEARCHSTORE', pick(GEO), pick(GEO), 'FROMLONLAT', '10.5', '40.5', 'BYBOX', String(20 + int(80)), String(20 + int(80)), 'km', ...(r() < 0.5 ? ['STOREDIST'] : [])]]],
    // keys and dbs
    [1, () => [['RENAME', pick(ALL_KEYS), pick(ALL_KEYS)]]],
    [1, () => [['COPY', pick(ALL_KEYS), 'copy', 'DB', String(int(DBS)), 'REPLACE']]],
    [1, () => [['MOVE', pick(ALL_KEYS), String(int(DBS))]]],
    [1, () => [['SORT', pick([...LIST, ...SET, ...ZSET]), 'ALPHA', 'STORE', 'sorted']]],
    [1, () => [['SORT', pick([...LIST, ...SET]), 'BY', 'nosort', 'ALPHA', 'LIMIT', '0', '5', 'STORE', 'sorted']]],
    [0.2, () => [['SWAPDB', String(int(DBS)), String(int(DBS))]]],
    [0.15, () => [['FLUSHDB', 'ASYNC']]],
    [2, () => [['SELECT', String(int(DBS))]]],
    // scripts: effects propagation (each write of the script as itself, in one MULTI/EXEC; a
    // time- or random-dependent script must replay as the values it wrote, not as the script)
    [1, () => [['EVAL', "redis.call('incr', KEYS[1]); redis.call('rpush', KEYS[2], ARGV[1]); return 1", '2', pick(['n0', 'n1']), pick(LIST), val()]]],
    [1, () => [['EVAL', "return redis.call('set', KEYS[1], redis.call('time')[2] .. ':' .. math.random(1000000))", '1', pick(STR)]]],
    [1, () => [['EVAL', "local m = redis.call('spop', KEYS[1]); if m then redis.call('sadd', KEYS[2], m) end; return m", '2', pick(SET), pick(SET)]]],
    [1, () => [['EVAL', "redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2]); redis.call('hincrbyfloat', KEYS[2], 'd0', '0.5'); return 1", '2', pick(STR), pick(HASH), val(), shortMs()]]],
    [0.5, () => [['EVAL', "redis.call('set', 's4', ARGV[1]); return redis.call('zadd', 'z3', ARGV[2], 'e1')", '0', val(), String(int(50))]]],
    // reads (lazy expiry)
    [4, () => [[pick(['GET', 'EXISTS', 'TTL', 'TYPE', 'STRLEN']), pick(ALL_KEYS)]]],
    [1, () => [['SCAN', '0', 'COUNT', '50']]],
    [0.5, () => [['RANDOMKEY']]],
    [0.3, () => [['KEYS', '*']]],
    [1, () => [['SRANDMEMBER', pick(SET), '2']]],
  ];
  if (streams) {
    // streams (propagated as Redis 7.0 does: `*` and `<ms>-*` as the ID made, `~` trims as `=`
    // with the length or first ID reached). Small explicit IDs so XDEL and MINID hit entries.
    const xid = (): string => `${int(60)}-${int(3)}`;
    gens.push(
      [3, () => [['XADD', pick(XS), '*', `f${int(3)}`, val()]]],
      [2, () => [['XADD', pick(XS), `${int(60)}-*`, 'a', val(), 'b', val()]]],
      [1, () => [['XADD', pick(XS), xid(), 'a', val()]]],
      [1, () => [['XADD', pick(XS), 'MAXLEN', '~', String(int(8)), '*', 'a', val()]]],
      [1, () => [['XADD', pick(XS), 'MINID', '=', xid(), `${int(60)}-*`, 'a', val()]]],
      [1, () => [['XADD', pick(XS), 'NOMKSTREAM', 'MAXLEN', '~', String(int(4)), 'LIMIT', String(int(3)), '*', 'a', val()]]],
      [1, () => [['XDEL', pick(XS), xid(), xid()]]],
      [1, () => [['XTRIM', pick(XS), 'MAXLEN', pick(['~', '=']), String(int(10))]]],
      [1, () => [['XTRIM', pick(XS), 'MINID', '~', xid()]]],
      [0.2, () => [['XSETID', pick(XS), `${1e13 + int(10)}-0`, 'ENTRIESADDED', String(1000 + int(10))]]],
      [1, () => [['XRANGE', pick(XS), '-', '+', 'COUNT', '3']]],
      // consumer groups (XREADGROUP / XCLAIM / XAUTOCLAIM propagate as XCLAIM ... FORCE JUSTID
      // LASTID, XGROUP SETID ... ENTRIESREAD and XGROUP CREATECONSUMER, as Redis 7.0)
      [0.5, () => [['XGROUP', 'CREATE', pick(XS), `g${int(2)}`, pick(['0', '$']), 'MKSTREAM']]],
      [1, () => [['XREADGROUP', 'GROUP', `g${int(2)}`, `c${int(3)}`, 'COUNT', String(1 + int(3)), 'STREAMS', pick(XS), '>']]],
      [0.3, () => [['XREADGROUP', 'GROUP', `g${int(2)}`, `c${int(3)}`, 'NOACK', 'STREAMS', pick(XS), '>']]],
      [0.3, () => [['XREADGROUP', 'GROUP', `g${int(2)}`, `c${int(3)}`, 'STREAMS', pick(XS), '0']]],
      [0.5, () => [['XACK', pick(XS), `g${int(2)}`, xid(), xid()]]],
      [0.3, () => [['XCLAIM', pick(XS), `g${int(2)}`, `c${int(3)}`, '0', xid(), xid()]]],
      [0.3, () => [['XAUTOCLAIM', pick(XS), `g${int(2)}`, `c${int(3)}`, '0', '0', 'COUNT', '3']]],
      [0.1, () => [['XGROUP', 'SETID', pick(XS), `g${int(2)}`, '0']]],
      [0.1, () => [['XGROUP', 'DELCONSUMER', pick(XS), `g${int(2)}`, `c${int(3)}`]]],
      [0.05, () => [['XGROUP', 'DESTROY', pick(XS), `g${int(2)}`]]],
    );
  }
  let total = 0;
  for (const [w] of gens) total += w;
  const one = (): Cmd[] => {
    let x = r() * total;
    for (const [w, g] of gens) {
      x -= w;
      if (x < 0) return g();
    }
    return gens[0][1]();
  };
  return () => {
    // A transaction of 2-4 commands now and then (blocking ones do not block inside it).
    if (r() < 0.08) {
      const body: Cmd[] = [];
      const n = 2 + int(3);
      for (let i = 0; i < n; i++) body.push(...one());
      return [['MULTI'], ...body, ['EXEC']];
    }
    return one();
  };
}

/**
 * One seed's workload on every connection for workMs (every fourth seed under a small
 * maxmemory: evicted keys propagate as DEL), then the keyspace settled.
 */
export async function runSeed(seed: number, conns: RawClient[], admin: RawClient, baseUsed: number, workMs: number, opts: { streams?: boolean } = {}): Promise<void> {
  const evict = seed % 4 === 3;
  if (evict) {
    await admin.call('CONFIG', 'SET', 'maxmemory-policy', 'allkeys-random');
    await admin.call('CONFIG', 'SET', 'maxmemory', String(baseUsed + 48 * 1024));
  }
  const until = Date.now() + workMs;
  await Promise.all(
    conns.map(async (c, i) => {
      const next = workload(rng(seed * 1000 + i), opts.streams === true);
      await c.call('SELECT', i % DBS);
      while (Date.now() < until) {
        const cmds = next();
        for (const cmd of cmds) c.send(...cmd);
        for (let k = 0; k < cmds.length; k++) await c.read();
      }
    }),
  );
  if (evict) await admin.call('CONFIG', 'SET', 'maxmemory', '0');
  await new Promise((r) => setTimeout(r, 250));
  await settle(admin);
}

export async function settle(c: RawClient): Promise<void> {
  // Short TTLs have passed: visit every key name in every db so stale entries are deleted (and,
  // on shardis, propagated) rather than left for either side's active expiry to race on.
  for (let db = 0; db < DBS; db++) {
    c.send('SELECT', db);
    for (const k of ALL_KEYS) c.send('EXISTS', k);
    for (let i = 0; i <= ALL_KEYS.length; i++) await c.read();
  }
  await c.call('SELECT', 0);
}

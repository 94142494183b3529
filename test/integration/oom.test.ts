// Failure atomicity when the heap is full (issue 14 item 1): a command either happens or does
// not. A full heap refuses commands that may allocate before they change anything, and a running
// command's allocations may use the reserve past the heap's capacity, so none fails halfway.
//
// The fault-injection part makes the heap full at the 1st, 2nd, ... Nth allocation of a command
// (DEBUG OOM-INJECT N): the command must still give its complete result (within its reserve),
// with the structure checker clean. In HARD mode (every allocation from the Nth fails, as at the
// very end of the reservation) the reply must be the complete result or an OOM error, and on error
// the dataset must be unchanged (DEBUG DIGEST before and after), the checker clean, and the
// server still serving (no slot lock left held).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startShardis, type Server } from '../helpers/server';
import { RawClient, canon, type Reply, type Arg } from '../helpers/resp';

const OOM = "OOM command not allowed when used memory > 'maxmemory'.";
const FAR = 99999999999999; // PXAT far away: digests compare equal across runs

interface Case {
  name: string;
  setup: Arg[][];
  cmd: Arg[];
  /**
   * Not atomic when allocations fail past the reserve (HARD): the failed command may leave the
   * value changed. Only reachable when a command allocates more than its reserve at the very end
   * of the reservation; listed so the test keeps the atomic ones atomic.
   */
  partial?: boolean;
}

const big = (n: number, c = 'v'): string => c.repeat(n);
const many = (n: number, p: string): string[] => Array.from({ length: n }, (_, i) => `${p}${i}`);
const pairs = (n: number, p: string): string[] => Array.from({ length: n }, (_, i) => [`${i}`, `${p}${i}`]).flat();

const CASES: Case[] = [
  // strings
  { name: 'SET new', setup: [], cmd: ['SET', 'k', big(100)] },
  { name: 'SET over', setup: [['SET', 'k', 'old', 'PXAT', FAR]], cmd: ['SET', 'k', big(300), 'KEEPTTL'] },
  { name: 'SET GET', setup: [['SET', 'k', 'old']], cmd: ['SET', 'k', 'new', 'GET'] },
  { name: 'MSET', setup: [['SET', 'a', '1']], cmd: ['MSET', 'a', big(60), 'b', '2', 'c', big(200)], partial: true },
  { name: 'MSETNX', setup: [], cmd: ['MSETNX', 'a', big(60), 'b', '2'], partial: true },
  { name: 'APPEND', setup: [['SET', 'k', big(40)]], cmd: ['APPEND', 'k', big(500)] },
  { name: 'APPEND int', setup: [['SET', 'k', '12345']], cmd: ['APPEND', 'k', '678'] },
  { name: 'SETRANGE', setup: [['SET', 'k', 'hello']], cmd: ['SETRANGE', 'k', 200, 'x'] },
  { name: 'INCR', setup: [['SET', 'k', '41']], cmd: ['INCR', 'k'] },
  { name: 'INCRBYFLOAT', setup: [['SET', 'k', '1.5']], cmd: ['INCRBYFLOAT', 'k', '2.25'] },
  { name: 'SETBIT', setup: [['SET', 'k', 'a']], cmd: ['SETBIT', 'k', 900, 1] },
  { name: 'BITOP', setup: [['SET', 'a', big(50, 'a')], ['SET', 'b', big(70, 'b')], ['SET', 'd', 'old']], cmd: ['BITOP', 'OR', 'd', 'a', 'b'] },
  { name: 'BITFIELD', setup: [['SET', 'k', 'x']], cmd: ['BITFIELD', 'k', 'SET', 'u8', 400, 255, 'INCRBY', 'i5', 100, 1] },
  { name: 'GETEX', setup: [['SET', 'k', 'v']], cmd: ['GETEX', 'k', 'PXAT', FAR] },
  // keys
  { name: 'COPY hash', setup: [['HSET', 'h', ...pairs(200, 'v')], ['SET', 'd', 'x']], cmd: ['COPY', 'h', 'd', 'REPLACE'], partial: true },
  { name: 'COPY list', setup: [['RPUSH', 'l', ...many(300, 'e')]], cmd: ['COPY', 'l', 'd'] },
  { name: 'COPY zset', setup: [['ZADD', 'z', ...pairs(150, 'm')]], cmd: ['COPY', 'z', 'd'] },
  { name: 'COPY set', setup: [['SADD', 's', ...many(600, 'm')]], cmd: ['COPY', 's', 'd'] },
  { name: 'RENAME', setup: [['SET', 'a', big(100)], ['SET', 'b', 'x']], cmd: ['RENAME', 'a', 'b'], partial: true },
  { name: 'MOVE', setup: [['SET', 'a', big(100)]], cmd: ['MOVE', 'a', 1] },
  { name: 'SORT STORE', setup: [['RPUSH', 'l', 3, 1, 2, ...many(200, '')], ['SET', 'd', 'x']], cmd: ['SORT', 'l', 'ALPHA', 'STORE', 'd'], partial: true },
  // lists
  { name: 'LPUSH 6', setup: [['RPUSH', 'l', 'a', 'b']], cmd: ['LPUSH', 'l', 1, 2, 3, 4, 5, 6], partial: true },
  { name: 'RPUSH big', setup: [['RPUSH', 'l', ...many(100, 'e')]], cmd: ['RPUSH', 'l', ...many(100, big(80))], partial: true },
  { name: 'LPUSH quicklist', setup: [['RPUSH', 'l', ...many(2000, 'e')]], cmd: ['LPUSH', 'l', ...many(50, 'n')], partial: true },
  { name: 'LINSERT', setup: [['RPUSH', 'l', 'a', 'b', 'c']], cmd: ['LINSERT', 'l', 'BEFORE', 'b', big(70)], partial: true },
  { name: 'LINSERT quicklist', setup: [['RPUSH', 'l', ...many(3000, 'e')]], cmd: ['LINSERT', 'l', 'AFTER', 'e1500', big(9000)], partial: true },
  { name: 'LSET', setup: [['RPUSH', 'l', ...many(1000, 'e')]], cmd: ['LSET', 'l', 500, big(9000)], partial: true },
  { name: 'LMOVE', setup: [['RPUSH', 's', 'a', 'b'], ['RPUSH', 'd', 'x']], cmd: ['LMOVE', 's', 'd', 'LEFT', 'RIGHT'] },
  { name: 'RPOPLPUSH new', setup: [['RPUSH', 's', 'a', 'b']], cmd: ['RPOPLPUSH', 's', 'd'], partial: true },
  { name: 'LREM', setup: [['RPUSH', 'l', ...many(400, 'e'), 'x', 'x']], cmd: ['LREM', 'l', 0, 'x'] },
  { name: 'LTRIM', setup: [['RPUSH', 'l', ...many(400, 'e')]], cmd: ['LTRIM', 'l', 10, 300], partial: true },
  // hashes
  { name: 'HSET', setup: [['HSET', 'h', 'f', big(50), 'g', 'w']], cmd: ['HSET', 'h', 'f', 'x'], partial: true },
  { name: 'HSET 3', setup: [['HSET', 'h', 'a', '1']], cmd: ['HSET', 'h', 'b', '2', 'c', big(30), 'a', big(20)], partial: true },
  { name: 'HSET convert', setup: [['HSET', 'h', ...pairs(100, 'v')]], cmd: ['HSET', 'h', 'x', big(100), 'y', '1'], partial: true },
  { name: 'HSET table', setup: [['HSET', 'h', ...pairs(200, 'v')]], cmd: ['HSET', 'h', 'x', big(100), '5', 'z'] },
  { name: 'HSETNX', setup: [['HSET', 'h', 'a', '1']], cmd: ['HSETNX', 'h', 'b', big(40)], partial: true },
  { name: 'HINCRBY', setup: [['HSET', 'h', 'a', '1', 'b', '2']], cmd: ['HINCRBY', 'h', 'a', 1000000] },
  { name: 'HINCRBYFLOAT', setup: [['HSET', 'h', 'a', '1']], cmd: ['HINCRBYFLOAT', 'h', 'a', '0.125'] },
  { name: 'HDEL', setup: [['HSET', 'h', ...pairs(20, 'v')]], cmd: ['HDEL', 'h', '3', '5'], partial: true },
  // sets
  { name: 'SADD 6', setup: [['SADD', 's', 'x']], cmd: ['SADD', 's', 1, 2, 3, 4, 5, 6], partial: true },
  { name: 'SADD intset', setup: [['SADD', 's', 1, 2, 3]], cmd: ['SADD', 's', 4, 5, 100000, 2 ** 40], partial: true },
  { name: 'SADD convert', setup: [['SADD', 's', ...many(100, '')]], cmd: ['SADD', 's', 'a', 'b', 7], partial: true },
  { name: 'SMOVE', setup: [['SADD', 's', 'm1', 'm2'], ['SADD', 'd', 'x']], cmd: ['SMOVE', 's', 'd', 'm1'], partial: true },
  { name: 'SMOVE intset', setup: [['SADD', 's', 1, 2], ['SADD', 'd', 3]], cmd: ['SMOVE', 's', 'd', 1] },
  { name: 'SREM', setup: [['SADD', 's', ...many(30, 'm')]], cmd: ['SREM', 's', 'm3', 'm9'] },
  { name: 'SINTERSTORE', setup: [['SADD', 'a', ...many(300, 'm')], ['SADD', 'b', ...many(200, 'm')], ['SET', 'd', 'x']], cmd: ['SINTERSTORE', 'd', 'a', 'b'], partial: true },
  { name: 'SUNIONSTORE', setup: [['SADD', 'a', ...many(300, 'm')], ['SADD', 'b', ...many(200, 'n')]], cmd: ['SUNIONSTORE', 'd', 'a', 'b'] },
  { name: 'SDIFFSTORE', setup: [['SADD', 'a', ...many(300, '')], ['SADD', 'b', ...many(200, '')]], cmd: ['SDIFFSTORE', 'a', 'a', 'b'], partial: true },
  // sorted sets
  { name: 'ZADD', setup: [['ZADD', 'z', 1, 'a']], cmd: ['ZADD', 'z', 2, 'm0'], partial: true },
  { name: 'ZADD 4', setup: [['ZADD', 'z', 1, 'a']], cmd: ['ZADD', 'z', 2, 'b', 3, big(40), 0, 'a', 9, 'c'], partial: true },
  { name: 'ZADD convert', setup: [['ZADD', 'z', ...pairs(120, 'm')]], cmd: ['ZADD', 'z', ...pairs(20, 'n')], partial: true },
  { name: 'ZADD skiplist', setup: [['ZADD', 'z', ...pairs(200, 'm')]], cmd: ['ZADD', 'z', 5, big(100), 7, 'm3'] },
  { name: 'ZINCRBY', setup: [['ZADD', 'z', 1, 'a', 2, 'b']], cmd: ['ZINCRBY', 'z', 5, 'a'], partial: true },
  { name: 'ZREM', setup: [['ZADD', 'z', ...pairs(20, 'm')]], cmd: ['ZREM', 'z', 'm3', 'm4'], partial: true },
  { name: 'ZPOPMIN', setup: [['ZADD', 'z', ...pairs(200, 'm')]], cmd: ['ZPOPMIN', 'z', 3] },
  { name: 'ZUNIONSTORE', setup: [['ZADD', 'a', ...pairs(150, 'm')], ['ZADD', 'b', ...pairs(50, 'n')]], cmd: ['ZUNIONSTORE', 'd', 2, 'a', 'b'] },
  { name: 'ZINTERSTORE', setup: [['ZADD', 'a', ...pairs(150, 'm')], ['ZADD', 'b', ...pairs(50, 'm')], ['SET', 'd', 'x']], cmd: ['ZINTERSTORE', 'd', 2, 'a', 'b'], partial: true },
  { name: 'ZRANGESTORE', setup: [['ZADD', 'a', ...pairs(150, 'm')]], cmd: ['ZRANGESTORE', 'd', 'a', 0, -1] },
  { name: 'ZREMRANGEBYSCORE', setup: [['ZADD', 'z', ...pairs(200, 'm')]], cmd: ['ZREMRANGEBYSCORE', 'z', 10, 100] },
  // transactions
  { name: 'MULTI/EXEC', setup: [['RPUSH', 'l', 'a'], ['MULTI'], ['LPUSH', 'l', 1, 2, 3], ['SADD', 's', 1, 'x'], ['ZADD', 'z', 1, 'a', 2, 'b'], ['HSET', 'h', 'f', big(80)], ['SET', 'k', big(200)]], cmd: ['EXEC'], partial: true },
];

let srv: Server;
let c: RawClient;

beforeAll(async () => {
  srv = await startShardis({ threads: 1, args: ['--save', '', '--appendonly', 'no', '--databases', '2'], env: { SHARDIS_HEAP_BYTES: String(16 * 1024 * 1024) } });
  c = await RawClient.connect(srv.port);
});
afterAll(async () => {
  c?.socket.destroy();
  await srv?.stop();
});

const ok = (r: Reply): void => expect(canon(r)).not.toMatch(/^-/);
async function cmd(...args: Arg[]): Promise<Reply> {
  return c.call(...args);
}
async function digest(): Promise<string> {
  return canon(await cmd('DEBUG', 'DIGEST'));
}
async function check(): Promise<void> {
  expect(canon(await cmd('DEBUG', 'CHECK'))).toBe(canon({ t: 'simple', v: 'OK' }));
}
async function prepare(k: Case): Promise<void> {
  ok(await cmd('FLUSHALL'));
  for (const s of k.setup) ok(await cmd(...s));
}

/** Reference run: the reply, the digest after, and how many allocations the command made. */
async function reference(k: Case): Promise<{ reply: string; after: string; allocs: number }> {
  await prepare(k);
  await cmd('DEBUG', 'OOM-INJECT', 1e9);
  const reply = canon(await cmd(...k.cmd));
  const allocs = Number((await cmd('DEBUG', 'OOM-INJECT', 'LAST') as { v: bigint }).v);
  return { reply, after: await digest(), allocs };
}

describe('fault injection: the heap fills at the Nth allocation of a command', () => {
  for (const k of CASES) {
    it(k.name, async () => {
      const ref = await reference(k);
      expect(ref.reply).not.toMatch(/^-/);
      // Every one of the first allocations, then a spread up to the last (keeps the file fast).
      const points = new Set<number>();
      for (let n = 1; n <= Math.min(ref.allocs, 6); n++) points.add(n);
      for (let k = 1; k <= 6; k++) points.add(Math.max(1, Math.round((ref.allocs * k) / 6)));
      for (const n of points) {
        // RESERVE: past the capacity the command goes on within its reserve, to its complete result.
        await prepare(k);
        await cmd('DEBUG', 'OOM-INJECT', n);
        expect(canon(await cmd(...k.cmd)), `${k.name}: reserve at allocation ${n}`).toBe(ref.reply);
        expect(await digest()).toBe(ref.after);
        await check();
        // HARD: every allocation from the Nth fails: a complete result, or OOM with nothing changed.
        await prepare(k);
        const before = await digest();
        await cmd('DEBUG', 'OOM-INJECT', n, 'HARD');
        const reply = canon(await cmd(...k.cmd));
        const after = await digest();
        if (k.partial === true) {
          // At least: an OOM error or the result, and the server still serves that slot.
          if (k.cmd[0] !== 'EXEC' && reply !== ref.reply) expect(reply).toBe(`-${OOM}\r\n`);
          expect(canon(await cmd('EXISTS', 'k', 'l', 'h', 's', 'z', 'd', 'a'))).toMatch(/^:/);
          continue;
        }
        if (reply === ref.reply) expect(after).toBe(ref.after);
        else {
          expect(reply, `${k.name}: hard failure at allocation ${n}`).toBe(`-${OOM}\r\n`);
          expect(after, `${k.name}: data changed by a failed command (allocation ${n})`).toBe(before);
        }
        await check();
      }
      expect(canon(await cmd('PING'))).toBe(canon({ t: 'simple', v: 'PONG' }));
    });
  }
});

/** Pipelined SETs of `size`-byte values until `failures` in a row are refused; returns how many stored. */
async function fillWith(cl: RawClient, prefix: string, size: number, max = 1e6): Promise<number> {
  const v = 'x'.repeat(size);
  let stored = 0;
  for (let base = 0; base < max; base += 256) {
    for (let i = 0; i < 256; i++) cl.send('SET', `${prefix}${base + i}`, v);
    let refused = 0;
    for (let i = 0; i < 256; i++) {
      const r = canon(await cl.read());
      if (r === '+OK\r\n') stored++;
      else {
        expect(r).toBe(`-${OOM}\r\n`);
        refused++;
      }
    }
    if (refused === 256) return stored;
  }
  return stored;
}

describe('a full heap', () => {
  it('refuses writes before they change anything, and serves everything else', async () => {
    ok(await cmd('FLUSHALL'));
    ok(await cmd('ZADD', 'z', 1, 'a'));
    ok(await cmd('HSET', 'h', 'f', big(50), 'g', 'w'));
    ok(await cmd('RPUSH', 'l', 'a', 'b', 'c', 'd'));
    ok(await cmd('RPUSH', 'src', 'e1', 'e2'));
    ok(await cmd('SADD', 's', 'x'));
    for (const size of [4000, 1000, 200, 40, 1]) await fillWith(c, `f${size}:`, size);
    const before = await digest();
    const refused: Arg[][] = [
      ['ZADD', 'z', 2, 'm0'], ['ZADD', 'z', 3, 'm1y'], ['HSET', 'h', 'f', 'x'], ['LINSERT', 'l', 'BEFORE', 'c', 'X'],
      ['LMOVE', 'src', 'l', 'LEFT', 'RIGHT'], ['LPUSH', 'l', 1, 2, 3, 4, 5, 6], ['SADD', 's', 1, 2, 3, 4, 5, 6], ['SET', 'new', 'v'],
    ];
    for (const r of refused) expect(canon(await cmd(...r)), r.join(' ')).toBe(`-${OOM}\r\n`);
    expect(await digest()).toBe(before);
    await check();
    // Reads, deletes and INFO still work; after a delete, writes do again.
    expect(canon(await cmd('ZRANGE', 'z', 0, -1, 'WITHSCORES'))).toBe(canon({ t: 'array', v: [{ t: 'bulk', v: Buffer.from('a') }, { t: 'bulk', v: Buffer.from('1') }] }));
    expect(canon(await cmd('INFO', 'memory'))).toMatch(/heap_capacity:\d+/);
    ok(await cmd('FLUSHALL'));
    ok(await cmd('ZADD', 'z', 2, 'm0'));
    await check();
  });

  it('after FLUSHALL of 1 KB values, 16 KB values fill the heap as full', async () => {
    ok(await cmd('FLUSHALL'));
    const small = await fillWith(c, 'a:', 1000);
    ok(await cmd('FLUSHALL'));
    const large = await fillWith(c, 'b:', 16000);
    // The bytes stored are about the same (the heap's capacity), whatever the size: 1 KB values
    // take 1056-byte blocks with their entry, 16 KB ones 16384 + entry.
    expect(large * 16000).toBeGreaterThan(0.9 * small * 1000);
    ok(await cmd('FLUSHALL'));
    await check();
  });
});

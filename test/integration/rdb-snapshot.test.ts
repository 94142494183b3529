// Point-in-time BGSAVE without fork, the hard cases (issue 10 item 4 and the deletions):
//  - big collections (written in chunks with their slot released in between) changed, renamed,
//    deleted and overwritten by writers while the save is half way through them: the file holds
//    them as they were when the save began (redis-server loads it with the same DEBUG DIGEST);
//  - keys deleted during the save by active expiry, lazy expiry and eviction are in the file as
//    they were at the point in time (redis-check-rdb counts them; the expired ones are dropped
//    when a master loads the file).
// Timing is never asserted (bench/rdb.mjs --parts probe measures the latencies).
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Redis from 'ioredis';
import { startRedis, startShardis } from '../helpers/server';
import { keySlot } from '../../src/store/crc16';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const tmp = (prefix: string): string => fs.mkdtempSync(path.join(os.tmpdir(), prefix));
const client = (port: number): Redis => new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0, retryStrategy: () => null });
const REDIS_CHECK_RDB = process.env.REDIS_CHECK_RDB || 'redis-check-rdb';

function args(dir: string, extra: string[]): string[] {
  return ['--dir', dir, '--save', '', '--appendonly', 'no', '--enable-protected-configs', 'yes', ...extra];
}

async function saving(r: Redis): Promise<boolean> {
  return /rdb_bgsave_in_progress:1/.test(String(await r.info('persistence')));
}

async function waitSaved(r: Redis): Promise<void> {
  for (let i = 0; i < 1200 && (await saving(r)); i++) await sleep(50);
  expect(await saving(r)).toBe(false);
  expect(String(await r.info('persistence'))).toContain('rdb_last_bgsave_status:ok');
  // Every heap block the save held (not counted for eviction meanwhile) was given back: test
  // servers run with SHARDIS_DEBUG=1, which keeps a leak visible here.
  expect(infoNum(String(await r.info('memory')), 'mem_not_counted_for_evict')).toBe(0);
}

function infoNum(info: string, field: string): number {
  return Number(new RegExp(`^${field}:(\\d+)`, 'm').exec(info)?.[1] ?? NaN);
}

/** What redis-check-rdb says about a file: keys read, with expiry, already expired. */
function checkCounts(file: string): { keys: number; expires: number; expired: number } {
  const out = execFileSync(REDIS_CHECK_RDB, [file], { encoding: 'utf8' });
  expect(out).toContain('RDB looks OK');
  const n = (what: string): number => Number(new RegExp(`\\[info\\] (\\d+) ${what}`).exec(out)?.[1] ?? NaN);
  return { keys: n('keys read'), expires: n('expires'), expired: n('already expired') };
}

/** Load a file into redis-server and return its DEBUG DIGEST (and run fn against it). */
async function redisDigestOf(dir: string, fn?: (r: Redis) => Promise<void>): Promise<string> {
  const red = await startRedis({ args: ['--dir', dir, '--enable-debug-command', 'yes'] });
  const r = client(red.port);
  try {
    if (fn !== undefined) await fn(r);
    return String(await r.call('DEBUG', 'DIGEST'));
  } finally {
    r.disconnect();
    await red.stop();
  }
}

async function fill(r: Redis, cmd: string, key: string, n: number, item: (i: number) => (string | number)[]): Promise<void> {
  for (let i = 0; i < n; i += 1000) {
    const a: (string | number)[] = [];
    for (let j = i; j < Math.min(n, i + 1000); j++) a.push(...item(j));
    await r.call(cmd, key, ...a);
  }
}

describe('BGSAVE of big values in chunks', () => {
  it('values changed, renamed, deleted and overwritten mid-save are saved as they were; other keys of the slot stay writable', async () => {
    const dir = tmp('shardis-bigsave-');
    // 30 ms per key and per chunk of a big value: the save lasts seconds, big values stay half
    // written for a while.
    const sh = await startShardis({ threads: 2, args: args(dir, ['--rdb-key-save-delay', '30000']) });
    const r = client(sh.port);
    try {
      // In one slot ({s}): every big type next to small keys.
      await fill(r, 'ZADD', '{s}:z', 60000, (i) => [i * 0.5, `m${i}`]);
      await fill(r, 'RPUSH', '{s}:l', 60000, (i) => [`e${i}`]);
      await fill(r, 'HSET', '{s}:h', 20000, (i) => [`f${i}`, `v${i}`]);
      await fill(r, 'SADD', '{s}:s', 20000, (i) => [`x${i}`]);
      for (let i = 0; i < 10; i++) await r.set(`{s}:k${i}`, `v${i}`);
      // Elsewhere: big values that get deleted, renamed, overwritten, expired; and a big set of integers.
      await fill(r, 'ZADD', 'gone:z', 20000, (i) => [i, `g${i}`]);
      await fill(r, 'HSET', 'moved:h', 20000, (i) => [`f${i}`, `w${i}`]);
      await fill(r, 'RPUSH', 'over:l', 20000, (i) => [`o${i}`]);
      await fill(r, 'SADD', 'ints:s', 20000, (i) => [i * 3]);
      for (let i = 0; i < 20; i++) await r.set(`small:${i}`, `s${i}`);
      expect(await r.object('ENCODING', '{s}:z')).toBe('skiplist');
      expect(await r.object('ENCODING', 'ints:s')).toBe('hashtable');
      await r.call('DEBUG', 'SET-ACTIVE-EXPIRE', '1');
      const before = String(await r.call('DEBUG', 'DIGEST'));

      expect(await r.bgsave()).toBe('Background saving started');
      // Writers change everything while the save runs (some before the walker reaches a value,
      // some while it is half written, some after).
      let round = 0;
      let sameSlotWritesDuringSave = 0;
      while (await saving(r)) {
        round++;
        await r.zadd('{s}:z', round, `new${round}`);
        await r.zrem('{s}:z', `m${round}`);
        await r.lpush('{s}:l', `new${round}`);
        await r.hset('{s}:h', `f${round}`, 'changed');
        await r.srem('{s}:s', `x${round}`);
        await r.set(`{s}:k${round % 10}`, `changed${round}`);
        if (await saving(r)) sameSlotWritesDuringSave++;
        await r.sadd('ints:s', -round);
        if (round === 3) await r.del('gone:z');
        if (round === 5) await r.rename('moved:h', 'moved:h2');
        if (round === 7) await r.set('over:l', 'now a string');
        if (round === 9) await r.zadd('gone:z', 1, 'reborn');
        await sleep(40);
      }
      expect(round).toBeGreaterThan(3);
      expect(sameSlotWritesDuringSave).toBeGreaterThan(0);
      await waitSaved(r);
      const pitDir = tmp('shardis-bigsave-pit-');
      fs.copyFileSync(path.join(dir, 'dump.rdb'), path.join(pitDir, 'dump.rdb'));
      const info = String(await r.info('persistence'));
      expect(Number(/rdb_last_cow_size:(\d+)/.exec(info)?.[1])).toBeGreaterThan(0);
      expect(info).toMatch(/current_cow_size:0/);
      // The live keys took every change.
      expect(String(await r.call('DEBUG', 'DIGEST'))).not.toBe(before);
      expect(await r.exists('moved:h', 'moved:h2')).toBe(1);
      expect(await r.type('over:l')).toBe('string');
      // A second save: nothing pinned was left behind by the first.
      expect(await r.save()).toBe('OK');
      const now = String(await r.call('DEBUG', 'DIGEST'));
      expect(await redisDigestOf(dir)).toBe(now);
      // The BGSAVE's file: the dataset as it was when the save began.
      const counts = checkCounts(path.join(pitDir, 'dump.rdb'));
      expect(counts.keys).toBe(38);
      expect(await redisDigestOf(pitDir, async (x) => {
        expect(await x.zcard('{s}:z')).toBe(60000);
        expect(await x.zcard('gone:z')).toBe(20000);
        expect(await x.exists('moved:h2')).toBe(0);
        expect(await x.type('over:l')).toBe('list');
      })).toBe(before);
      fs.rmSync(pitDir, { recursive: true, force: true });
    } finally {
      r.disconnect();
      await sh.stop();
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }, 180_000);
});

describe('sorted sets, hashes and sets half written by a BGSAVE are tracked element by element', () => {
  it('writes to them copy only the elements they change; the file holds them as they were', async () => {
    const dir = tmp('shardis-zsettrack-');
    // 100 ms per chunk of a big value: the zset stays half written for seconds.
    const sh = await startShardis({ threads: 2, args: args(dir, ['--rdb-key-save-delay', '100000']) });
    const r = client(sh.port);
    try {
      const N = 200000;
      await fill(r, 'ZADD', '{t}:z', N, (i) => [i, `member-${String(i).padStart(8, '0')}`]);
      await fill(r, 'HSET', '{t}:h', 50000, (i) => [`field-${i}`, `value-${i}`]);
      await fill(r, 'SADD', '{t}:s', 50000, (i) => [`smember-${i}`]);
      await r.set('{t}:k', 'v');
      await r.set('other', 'o');
      const before = String(await r.call('DEBUG', 'DIGEST'));
      expect(await r.bgsave()).toBe('Background saving started');
      // Changes at both ends (the walker starts at the highest scores), in the middle, members
      // moving across the walker's position both ways, the TTL, pops and range deletions.
      let round = 0;
      while (await saving(r)) {
        round++;
        const m = (i: number): string => `member-${String(i).padStart(8, '0')}`;
        await r.zadd('{t}:z', -round, `low${round}`, N + round, `high${round}`, round * 997 + 0.5, `mid${round}`);
        await r.zadd('{t}:z', -1000 - round, m(round * 13));
        await r.zincrby('{t}:z', N, m(round * 29 + 1));
        await r.zincrby('{t}:z', -N, m(N - round * 31));
        await r.zrem('{t}:z', m(round * 7 + 3), m(N - round * 5 - 2), `low${round - 1}`);
        if (round % 4 === 0) {
          await r.zpopmin('{t}:z');
          await r.zpopmax('{t}:z');
          await r.zremrangebyscore('{t}:z', round * 1000, round * 1000 + 3);
        }
        if (round === 3) await r.expire('{t}:z', 100000);
        // Fields and members anywhere in their tables (the walker goes bucket by bucket).
        for (let j = 0; j < 5; j++) {
          const i = round * 101 + j * 7919;
          await r.hset('{t}:h', `field-${i}`, `changed-${round}`, `newfield-${round}-${j}`, 'n');
          await r.hset('{t}:h', `field-${i + 1}`, `a much longer value that does not fit the old block ${round}`);
          await r.hdel('{t}:h', `field-${i + 2}`, `newfield-${round - 1}-${j}`);
          await r.hincrby('{t}:h', `counter-${j}`, 1);
          await r.sadd('{t}:s', `snew-${round}-${j}`);
          await r.srem('{t}:s', `smember-${i}`, `snew-${round - 1}-${j}`);
        }
        await r.spop('{t}:s');
        await r.smove('{t}:s', '{t}:s2', `smember-${round * 3 + 1}`);
        await sleep(30);
      }
      expect(round).toBeGreaterThan(2);
      await waitSaved(r);
      // The writes copied the elements they touched, not the rest of the values (~6 MB in the file).
      const cow = Number(/rdb_last_cow_size:(\d+)/.exec(String(await r.info('persistence')))?.[1]);
      expect(cow).toBeGreaterThan(0);
      expect(cow).toBeLessThan(512 * 1024);
      expect(await r.ttl('{t}:z')).toBeGreaterThan(0);
      const pitDir = tmp('shardis-zsettrack-pit-');
      fs.copyFileSync(path.join(dir, 'dump.rdb'), path.join(pitDir, 'dump.rdb'));
      expect(checkCounts(path.join(pitDir, 'dump.rdb')).keys).toBe(5);
      expect(await redisDigestOf(pitDir, async (x) => {
        expect(await x.zcard('{t}:z')).toBe(N);
        expect(await x.hlen('{t}:h')).toBe(50000);
        expect(await x.scard('{t}:s')).toBe(50000);
        expect(await x.ttl('{t}:z')).toBe(-1);
      })).toBe(before);
      // The live zset took every change, and a second save (nothing left pinned) matches it.
      expect(await r.save()).toBe('OK');
      expect(await redisDigestOf(dir)).toBe(String(await r.call('DEBUG', 'DIGEST')));
      fs.rmSync(pitDir, { recursive: true, force: true });
    } finally {
      r.disconnect();
      await sh.stop();
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }, 180_000);
});

/** Start shardis on a file and return its DEBUG DIGEST once loaded (and run fn against it). */
async function shardisDigestOf(dir: string, fn?: (r: Redis) => Promise<void>): Promise<string> {
  const sh = await startShardis({ threads: 2, args: args(dir, []) });
  const r = client(sh.port);
  try {
    for (let i = 0; ; i++) {
      try {
        await r.ping();
        break;
      } catch (e) {
        if (!/LOADING/.test(String(e)) || i > 600) throw e;
        await sleep(50);
      }
    }
    if (fn !== undefined) await fn(r);
    return String(await r.call('DEBUG', 'DIGEST'));
  } finally {
    r.disconnect();
    await sh.stop();
  }
}

describe('lists half written by a BGSAVE are tracked node by node', () => {
  it('every kind of list write copies only the nodes it changes; the file holds the lists as they were', async () => {
    const dir = tmp('shardis-listtrack-');
    // 100 ms per chunk of a big value: the lists stay half written for seconds. Small nodes (16
    // elements) so that writes cross node boundaries, split full nodes and unlink whole nodes.
    const sh = await startShardis({ threads: 2, args: args(dir, ['--rdb-key-save-delay', '100000', '--list-max-listpack-size', '16']) });
    const r = client(sh.port);
    try {
      const N = 120000;
      await fill(r, 'RPUSH', '{t}:l', N, (i) => [i % 3 === 0 ? i : `e${i}${i % 7 === 0 ? '-a-longer-element-'.repeat(i % 5) : ''}`]);
      await fill(r, 'RPUSH', '{t}:m', 40000, (i) => [`m${i}`]);
      await r.set('{t}:k', 'v');
      const before = String(await r.call('DEBUG', 'DIGEST'));
      expect(await r.bgsave()).toBe('Background saving started');
      // Writes at both ends, in the middle, on both sides of the walker (which starts at the head).
      // At most 80 rounds: the indices below grow with the round and must stay inside the list
      // (a slow machine's save lasts more rounds; the rest of the save then runs untouched).
      let round = 0;
      while (round < 80 && (await saving(r))) {
        round++;
        await r.lpush('{t}:l', `head${round}`, round);
        await r.rpush('{t}:l', `tail${round}`, `tail${round}b`);
        await r.lset('{t}:l', round * 997, `set${round}`);
        await r.lset('{t}:l', -(round * 1009), `set-from-tail${round}`);
        await r.lset('{t}:l', Math.floor(N / 2) + round * 3, 'x'.repeat(round * 50));
        await r.linsert('{t}:l', 'BEFORE', `e${round * 3001 + 1}`, `ins-before${round}`);
        await r.linsert('{t}:l', 'AFTER', `e${N - round * 2003 - 1}`, `ins-after${round}`);
        await r.linsert('{t}:l', 'AFTER', `e${round * 11 + 1}`, 'y'.repeat(9000));
        await r.lpop('{t}:l');
        await r.rpop('{t}:l', 20);
        await r.lpop('{t}:l', 17);
        await r.lrem('{t}:l', 1, `e${N - round * 509 - 2}`);
        await r.lrem('{t}:l', -1, `e${round * 409 + 2}`);
        await r.lmove('{t}:l', '{t}:l', 'RIGHT', 'LEFT');
        await r.lmove('{t}:l', '{t}:m', 'LEFT', 'RIGHT');
        await r.rpoplpush('{t}:m', '{t}:l');
        if (round % 3 === 0) await r.ltrim('{t}:l', 33, -40);
        if (round % 4 === 0) await r.ltrim('{t}:m', 0, 39000 - round * 100);
        if (round === 2) await r.expire('{t}:l', 100000);
        expect(await r.lpos('{t}:l', `set${round}`)).not.toBeNull();
        await sleep(30);
      }
      expect(round).toBeGreaterThan(2);
      await waitSaved(r);
      // The writes copied the few nodes they changed, not the rest of the lists (~2 MB in the file).
      const cow = Number(/rdb_last_cow_size:(\d+)/.exec(String(await r.info('persistence')))?.[1]);
      expect(cow).toBeGreaterThan(0);
      expect(cow).toBeLessThan(round * 40 * 1024);
      expect(await r.ttl('{t}:l')).toBeGreaterThan(0);
      const pitDir = tmp('shardis-listtrack-pit-');
      fs.copyFileSync(path.join(dir, 'dump.rdb'), path.join(pitDir, 'dump.rdb'));
      expect(checkCounts(path.join(pitDir, 'dump.rdb')).keys).toBe(3);
      const atPit = async (x: Redis): Promise<void> => {
        expect(await x.llen('{t}:l')).toBe(N);
        expect(await x.llen('{t}:m')).toBe(40000);
        expect(await x.ttl('{t}:l')).toBe(-1);
        expect(await x.lindex('{t}:l', -1)).toBe(`e${N - 1}`);
      };
      expect(await redisDigestOf(pitDir, atPit)).toBe(before);
      expect(await shardisDigestOf(pitDir, atPit)).toBe(before);
      // The live lists took every change, and a second save (nothing left pinned) matches them.
      expect(await r.save()).toBe('OK');
      expect(await redisDigestOf(dir)).toBe(String(await r.call('DEBUG', 'DIGEST')));
      fs.rmSync(pitDir, { recursive: true, force: true });
    } finally {
      r.disconnect();
      await sh.stop();
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }, 180_000);
});

describe('half written collections deleted, renamed, overwritten or flushed mid-save', () => {
  it('the snapshot takes the value instead of copying it; the file holds every one as it was', async () => {
    const dir = tmp('shardis-bigtake-');
    // 50 ms per chunk: the values of slot {d} are pinned together and written one after the
    // other, so the commands below find some not started, some half written, some done.
    const sh = await startShardis({ threads: 2, args: args(dir, ['--rdb-key-save-delay', '50000', '--list-max-listpack-size', '32']) });
    const r = client(sh.port);
    try {
      const M = 20000;
      const types: [string, string, (k: string, i: number) => (string | number)[]][] = [
        ['l', 'RPUSH', (k, i) => [`${k}-${i}`]],
        ['z', 'ZADD', (k, i) => [i, `${k}-${i}`]],
        ['h', 'HSET', (k, i) => [`${k}-${i}`, i]],
        ['s', 'SADD', (k, i) => [`${k}-${i}`]],
      ];
      const ops = ['del', 'unlink', 'rename', 'renamefar', 'over', 'set', 'expire', 'move', 'flush'];
      for (const op of ops) {
        for (const [t, cmd, item] of types) await fill(r, cmd, `{d}:${t}:${op}`, M, (i) => item(`${t}${op}`, i));
      }
      await r.set('{d}:small', 'x');
      await r.set('elsewhere', 'y');
      await r.call('DEBUG', 'SET-ACTIVE-EXPIRE', '1');
      const before = String(await r.call('DEBUG', 'DIGEST'));
      const usedBefore = infoNum(String(await r.info('memory')), 'used_memory');
      expect(await r.bgsave()).toBe('Background saving started');
      const writeTo = async (t: string, k: string, n: number): Promise<void> => {
        if (t === 'l') await r.lpush(k, `new${n}`);
        else if (t === 'z') await r.zadd(k, -n, `new${n}`);
        else if (t === 'h') await r.hset(k, `new${n}`, n);
        else await r.sadd(k, `new${n}`);
      };
      let n = 0;
      for (const op of ops.slice(0, -1)) {
        for (const [t] of types) {
          const k = `{d}:${t}:${op}`;
          n++;
          if (op === 'del') await r.del(k);
          else if (op === 'unlink') await r.unlink(k);
          else if (op === 'rename') {
            // The pin follows the value; writes to it and its deletion later are tracked.
            await r.rename(k, `{d}:${t}:renamed`);
            await writeTo(t, `{d}:${t}:renamed`, n);
          } else if (op === 'renamefar') {
            await r.rename(k, `far:${t}`);
            await writeTo(t, `far:${t}`, n);
            await r.expire(`far:${t}`, 5000);
          } else if (op === 'over') await r.rename(`{d}:${t}:rename`.replace(':rename', ':renamed'), k);
          else if (op === 'set') await r.set(k, 'now a string');
          else if (op === 'expire') await r.pexpire(k, 1);
          else if (op === 'move') {
            await r.move(k, 1);
            await r.select(1);
            await writeTo(t, k, n);
            await r.select(0);
          }
          await sleep(20);
        }
      }
      for (const [t] of types) await writeTo(t, `far:${t}`, 1000);
      await r.del('far:l', 'far:z');
      // Whatever is still pinned goes with the flush (the walker finishes and frees it). FLUSHDB
      // of each db used, not FLUSHALL, which kills the save as Redis's killRDBChild.
      const stillSaving = await saving(r);
      for (const db of [1, 0]) {
        await r.select(db);
        await r.flushdb();
      }
      expect(stillSaving).toBe(true);
      // What the snapshot took is in use until written, but not counted for eviction (a fork's
      // child would hold it): what counts is about an empty server, not the ~30 MB of before.
      const mem = String(await r.info('memory'));
      expect(infoNum(mem, 'used_memory') - infoNum(mem, 'mem_not_counted_for_evict')).toBeLessThan(usedBefore / 4);
      await waitSaved(r);
      expect(await r.dbsize()).toBe(0);
      const pitDir = tmp('shardis-bigtake-pit-');
      fs.copyFileSync(path.join(dir, 'dump.rdb'), path.join(pitDir, 'dump.rdb'));
      expect(checkCounts(path.join(pitDir, 'dump.rdb')).keys).toBe(ops.length * 4 + 2);
      const atPit = async (x: Redis): Promise<void> => {
        expect(await x.llen('{d}:l:flush')).toBe(M);
        expect(await x.zcard('{d}:z:del')).toBe(M);
        expect(await x.hlen('{d}:h:over')).toBe(M);
        expect(await x.scard('{d}:s:move')).toBe(M);
        expect(await x.exists('far:l', '{d}:l:renamed')).toBe(0);
      };
      expect(await redisDigestOf(pitDir, atPit)).toBe(before);
      expect(await shardisDigestOf(pitDir, atPit)).toBe(before);
      // Nothing was left pinned or owned: a second save of the (empty) dataset, and the checker.
      expect(await r.save()).toBe('OK');
      await sh.check();
      fs.rmSync(pitDir, { recursive: true, force: true });
    } finally {
      r.disconnect();
      await sh.stop();
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }, 240_000);
});

describe('big streams in a BGSAVE', () => {
  it('are written a few nodes at a time; a change of any kind (group commands too) keeps the point in time', async () => {
    const dir = tmp('shardis-bigstream-');
    // 100 ms per chunk, small nodes: each stream takes several chunks.
    const sh = await startShardis({ threads: 2, args: args(dir, ['--rdb-key-save-delay', '100000', '--stream-node-max-entries', '8']) });
    const r = client(sh.port);
    try {
      const ops = ['xadd', 'xdel', 'xtrim', 'xsetid', 'xreadgroup', 'xack', 'xclaim', 'xautoclaim', 'xgroup', 'del', 'rename', 'set'];
      const keys = ops.map((op) => `{x}:${op}`);
      for (const k of keys) {
        const p = r.pipeline();
        for (let i = 1; i <= 3000; i++) p.xadd(k, `${i}-1`, 'f', `v${i}`, 'g', i % 5 === 0 ? 'x'.repeat(40) : String(i));
        await p.exec();
        await r.xgroup('CREATE', k, 'grp', '0');
        // 200 pending entries of consumer c1, some read twice.
        await r.xreadgroup('GROUP', 'grp', 'c1', 'COUNT', 200, 'STREAMS', k, '>');
        await r.xclaim(k, 'grp', 'c1', 0, '5-1', '6-1');
      }
      await r.set('{x}:small', 'v');
      const full = async (x: Redis): Promise<string[]> => {
        const out: string[] = [];
        for (const k of keys) out.push(JSON.stringify(await x.call('XINFO', 'STREAM', k, 'FULL', 'COUNT', 0)));
        return out;
      };
      const before = String(await r.call('DEBUG', 'DIGEST'));
      const infos = await full(r);
      expect(await r.bgsave()).toBe('Background saving started');
      await sleep(50);
      for (const op of ops) {
        const k = `{x}:${op}`;
        if (op === 'xadd') await r.xadd(k, '*', 'new', 'entry');
        else if (op === 'xdel') await r.xdel(k, '2999-1', '10-1', '1500-1');
        else if (op === 'xtrim') await r.xtrim(k, 'MAXLEN', 1000);
        else if (op === 'xsetid') await r.call('XSETID', k, '99999-1', 'ENTRIESADDED', 5000, 'MAXDELETEDID', '3-1');
        else if (op === 'xreadgroup') await r.xreadgroup('GROUP', 'grp', 'c2', 'COUNT', 50, 'STREAMS', k, '>');
        else if (op === 'xack') await r.xack(k, 'grp', '1-1', '2-1', '3-1');
        else if (op === 'xclaim') await r.xclaim(k, 'grp', 'c3', 0, '7-1', '8-1');
        else if (op === 'xautoclaim') await r.call('XAUTOCLAIM', k, 'grp', 'c4', 0, '0-0', 'COUNT', 30);
        else if (op === 'xgroup') await r.xgroup('SETID', k, 'grp', '$');
        else if (op === 'del') await r.del(k);
        else if (op === 'rename') {
          await r.rename(k, '{x}:renamed');
          await r.xadd('{x}:renamed', '*', 'after', 'rename');
        } else await r.set(k, 'a string now');
        await sleep(20);
      }
      const stillSaving = await saving(r);
      await waitSaved(r);
      expect(stillSaving).toBe(true);
      const pitDir = tmp('shardis-bigstream-pit-');
      fs.copyFileSync(path.join(dir, 'dump.rdb'), path.join(pitDir, 'dump.rdb'));
      expect(checkCounts(path.join(pitDir, 'dump.rdb')).keys).toBe(keys.length + 1);
      expect(await redisDigestOf(pitDir, async (x) => {
        expect(await full(x)).toEqual(infos);
      })).toBe(before);
      expect(await shardisDigestOf(pitDir, async (x) => {
        expect(await full(x)).toEqual(infos);
      })).toBe(before);
      expect(await r.save()).toBe('OK');
      expect(await redisDigestOf(dir)).toBe(String(await r.call('DEBUG', 'DIGEST')));
      fs.rmSync(pitDir, { recursive: true, force: true });
    } finally {
      r.disconnect();
      await sh.stop();
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }, 180_000);
});

describe('huge strings in a BGSAVE', () => {
  /** A hash tag whose slot is at least `min` (the walker goes slot by slot, lowest first). */
  const tagAbove = (min: number): string => {
    for (let i = 0; ; i++) if (keySlot(Buffer.from(`t${i}`)) >= min) return `{t${i}}`;
  };
  it('are compressed in pieces outside a long lock hold; writes to them or their slot keep the point in time', async () => {
    const dir = tmp('shardis-bigstr-');
    const sh = await startShardis({ threads: 2, args: args(dir, ['--rdb-key-save-delay', '30000']) });
    const r = client(sh.port);
    try {
      const late = tagAbove(15000);
      const mid = tagAbove(9000);
      // 30 small keys the walker meets first (30 ms each), then the big strings.
      for (let i = 0; i < 30; i++) await r.set(`{a}:k${i}`, `v${i}`);
      const text = (n: number, seed: number): string => {
        const words = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta'];
        const a: string[] = [];
        for (let i = 0, len = 0; len < n; i++) {
          const w = `${words[(i * 7 + seed) % 6]}${(i * 31 + seed) % 1000} `;
          a.push(w);
          len += w.length;
        }
        return a.join('').slice(0, n);
      };
      await r.set(`${late}:text`, text(24 << 20, 1));
      await r.set(`${late}:small`, 'x');
      await r.set(`${mid}:random`, randomBytes(3 << 20));
      await r.set(`${mid}:text`, text(6 << 20, 2), 'EX', 100000);
      const before = String(await r.call('DEBUG', 'DIGEST'));
      expect(await r.bgsave()).toBe('Background saving started');
      // A write to a small key of the huge string's slot before the walker gets there: the slot is
      // copied, but the huge string is only pinned (nothing of it copied).
      await r.set(`${late}:small`, 'changed');
      expect(Number(/current_cow_size:(\d+)/.exec(String(await r.info('persistence')))?.[1])).toBeLessThan(1 << 20);
      // The middle strings change before the walker reaches them (TTL too), the late one while it
      // compresses it.
      await r.setrange(`${mid}:text`, 100, 'CHANGED');
      await r.persist(`${mid}:text`);
      await r.append(`${mid}:random`, 'more');
      let rounds = 0;
      while (await saving(r)) {
        rounds++;
        await r.setrange(`${late}:text`, rounds * 1000, `write-${rounds}`);
        await sleep(100);
      }
      expect(rounds).toBeGreaterThan(0);
      await waitSaved(r);
      const pitDir = tmp('shardis-bigstr-pit-');
      fs.copyFileSync(path.join(dir, 'dump.rdb'), path.join(pitDir, 'dump.rdb'));
      expect(checkCounts(path.join(pitDir, 'dump.rdb'))).toEqual({ keys: 34, expires: 1, expired: 0 });
      // Compressed as well as redis-server compresses the same data (LZF in 64 KB blocks).
      const ours = fs.statSync(path.join(pitDir, 'dump.rdb')).size;
      let theirs = 0;
      expect(await redisDigestOf(pitDir, async (x) => {
        await x.save();
        theirs = fs.statSync(path.join(pitDir, 'dump.rdb')).size;
      })).toBe(before);
      expect(ours).toBeLessThan(theirs * 1.02);
      expect(ours).toBeLessThan(28 << 20);
      // With rdbcompression off, and a second save of the changed data: redis-server agrees.
      await r.config('SET', 'rdbcompression', 'no');
      expect(await r.save()).toBe('OK');
      expect(await redisDigestOf(dir)).toBe(String(await r.call('DEBUG', 'DIGEST')));
      fs.rmSync(pitDir, { recursive: true, force: true });
    } finally {
      r.disconnect();
      await sh.stop();
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }, 180_000);
});

describe('a huge string changed while it is half compressed', () => {
  it('the writer copies only the part not compressed yet; the file holds the string as it was', async () => {
    const dir = tmp('shardis-halfstr-');
    // 100 ms between lock holds: the only key, compressed ~1 ms at a time, stays half done.
    const sh = await startShardis({ threads: 2, args: args(dir, ['--rdb-key-save-delay', '100000']) });
    const r = client(sh.port);
    try {
      const parts: string[] = [];
      for (let i = 0, len = 0; len < 16 << 20; i++) {
        const w = `word${(i * 7919) % 100003} `;
        parts.push(w);
        len += w.length;
      }
      const value = parts.join('').slice(0, 16 << 20);
      await r.set('big', value);
      const before = String(await r.call('DEBUG', 'DIGEST'));
      expect(await r.bgsave()).toBe('Background saving started');
      await sleep(1000);
      expect(await saving(r)).toBe(true);
      await r.setrange('big', 5, 'CHANGED');
      await r.append('big', 'tail');
      await waitSaved(r);
      const cow = Number(/rdb_last_cow_size:(\d+)/.exec(String(await r.info('persistence')))?.[1]);
      expect(cow).toBeGreaterThan(0);
      expect(cow).toBeLessThan(value.length);
      expect(checkCounts(path.join(dir, 'dump.rdb')).keys).toBe(1);
      expect(await redisDigestOf(dir, async (x) => {
        expect(await x.strlen('big')).toBe(value.length);
      })).toBe(before);
    } finally {
      r.disconnect();
      await sh.stop();
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }, 120_000);
});

describe("a master's replication position in its saves", () => {
  const field = async (r: Redis, section: string, name: string): Promise<string> =>
    new RegExp(`^${name}:(.*)\\r?$`, 'm').exec(String(await r.info(section)))?.[1] ?? '';
  it('repl-stream-db/repl-id/repl-offset as Redis 7.0 writes them; restarted from the file, its replica continues with +CONTINUE', async () => {
    const dir = tmp('shardis-masteraux-');
    let sh = await startShardis({ threads: 2, args: args(dir, []) });
    const red = await startRedis({ args: ['--enable-debug-command', 'yes'] });
    let m = client(sh.port);
    const x = client(red.port);
    try {
      // No backlog yet (no replica ever): no replication fields, as Redis.
      await m.set('k0', 'v');
      expect(await m.save()).toBe('OK');
      expect(execFileSync(REDIS_CHECK_RDB, [path.join(dir, 'dump.rdb')], { encoding: 'utf8' })).not.toContain('repl-id');
      await x.replicaof('127.0.0.1', String(sh.port));
      for (let i = 0; i < 600 && (await field(x, 'replication', 'master_link_status')) !== 'up'; i++) await sleep(50);
      for (let i = 0; i < 50; i++) await m.set(`k${i}`, `v${i}`);
      await m.select(1);
      await m.set('in-db-1', 'x');
      expect(await m.call('WAIT', '1', '20000')).toBe(1);
      const id = await field(m, 'replication', 'master_replid');
      const off = Number(await field(m, 'replication', 'master_repl_offset'));
      expect(await m.save()).toBe('OK');
      const check = execFileSync(REDIS_CHECK_RDB, [path.join(dir, 'dump.rdb')], { encoding: 'utf8' });
      expect(check).toContain('RDB looks OK');
      expect(check).toMatch(new RegExp(`repl-stream-db = '1'`));
      expect(check).toContain(`repl-id = '${id}'`);
      expect(check).toMatch(new RegExp(`repl-offset = '${off}'`));
      // redis-server restarted from it (as a master) takes it as its replid2.
      const copy = tmp('shardis-masteraux-redis-');
      fs.copyFileSync(path.join(dir, 'dump.rdb'), path.join(copy, 'dump.rdb'));
      const other = await startRedis({ args: ['--dir', copy] });
      const o = client(other.port);
      expect(await field(o, 'replication', 'master_replid2')).toBe(id);
      expect(Number(await field(o, 'replication', 'second_repl_offset'))).toBe(off + 1);
      o.disconnect();
      await other.stop();
      fs.rmSync(copy, { recursive: true, force: true });
      const digest = String(await m.call('DEBUG', 'DIGEST'));
      // NOW: a SIGTERM would wait for the replica's ACK of anything appended since the WAIT (a
      // PING every 10 s), with a GETACK that moves the replica past the file's offset.
      await m.call('SHUTDOWN', 'NOW', 'NOSAVE').catch(() => undefined);
      m.disconnect();
      await sh.stop().catch(() => undefined);
      // shardis restarted from it does the same, and its replica continues partially.
      sh = await startShardis({ threads: 2, args: args(dir, []) });
      m = client(sh.port);
      expect(await field(m, 'replication', 'master_replid2')).toBe(id);
      expect(Number(await field(m, 'replication', 'second_repl_offset'))).toBe(off + 1);
      expect(Number(await field(m, 'replication', 'master_repl_offset'))).toBe(off);
      await x.replicaof('127.0.0.1', String(sh.port));
      for (let i = 0; i < 600 && (await field(x, 'replication', 'master_link_status')) !== 'up'; i++) await sleep(50);
      expect(await field(m, 'stats', 'sync_partial_ok')).toBe('1');
      expect(await field(m, 'stats', 'sync_full')).toBe('0');
      await m.set('after-restart', 'y');
      expect(await m.call('WAIT', '1', '20000')).toBe(1);
      expect(await x.get('after-restart')).toBe('y');
      expect(String(await x.call('DEBUG', 'DIGEST'))).toBe(String(await m.call('DEBUG', 'DIGEST')));
      expect(digest).not.toBe(String(await m.call('DEBUG', 'DIGEST')));
    } finally {
      m.disconnect();
      x.disconnect();
      await red.stop();
      await sh.stop();
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }, 120_000);
});

describe('deletions during a BGSAVE are copied first', () => {
  it('keys removed by active expiry, lazy expiry and eviction mid-save are in the file as at the point in time', async () => {
    const dir = tmp('shardis-delsave-');
    const sh = await startShardis({ threads: 2, args: args(dir, ['--rdb-key-save-delay', '30000', '--maxmemory-policy', 'allkeys-random']) });
    const r = client(sh.port);
    try {
      // No expiry until the save runs (a slow machine could expire them before it starts).
      await r.call('DEBUG', 'SET-ACTIVE-EXPIRE', '0');
      const value = 'v'.repeat(2000);
      for (let i = 0; i < 60; i++) await r.set(`active:${i}`, `a${i}`, 'PX', 1500);
      for (let i = 0; i < 60; i++) await r.set(`lazy:${i}`, `l${i}`, 'PX', 1500);
      for (let i = 0; i < 150; i++) await r.set(`evict:${i}`, `${i}:${value}`);
      const before = String(await r.call('DEBUG', 'DIGEST'));
      expect(await r.bgsave()).toBe('Background saving started');
      await sleep(1700);
      expect(await saving(r)).toBe(true);
      // Lazy expiry: reads of expired keys delete them (on the workers).
      let misses = 0;
      for (let i = 0; i < 60; i++) if ((await r.get(`lazy:${i}`)) === null) misses++;
      expect(misses).toBe(60);
      // Active expiry (the main thread's cycle) for the others.
      await r.call('DEBUG', 'SET-ACTIVE-EXPIRE', '1');
      for (let i = 0; i < 100 && (await r.dbsize()) > 150; i++) await sleep(50);
      // Eviction: a maxmemory below what is counted (the save's own bookkeeping is not), then writes.
      const mem = String(await r.info('memory'));
      const counted = infoNum(mem, 'used_memory') - infoNum(mem, 'mem_not_counted_for_evict');
      expect(infoNum(mem, 'mem_not_counted_for_evict')).toBeGreaterThan(0);
      await r.config('SET', 'maxmemory', String(counted - 150000));
      for (let i = 0; i < 20; i++) await r.set(`after:${i}`, 'x');
      expect(await saving(r)).toBe(true);
      const stats = String(await r.info('stats'));
      expect(Number(/expired_keys:(\d+)/.exec(stats)?.[1])).toBe(120);
      expect(Number(/evicted_keys:(\d+)/.exec(stats)?.[1])).toBeGreaterThan(10);
      await r.config('SET', 'maxmemory', '0');
      await waitSaved(r);
      expect(await r.dbsize()).toBeLessThan(160);
      // Redis's own checker: every key of the point in time, the 120 volatile ones already expired.
      expect(checkCounts(path.join(dir, 'dump.rdb'))).toEqual({ keys: 270, expires: 120, expired: 120 });
      // Loaded by a master (redis-server): the expired ones are dropped, every evicted key is back.
      await redisDigestOf(dir, async (x) => {
        expect(await x.dbsize()).toBe(150);
        for (let i = 0; i < 150; i += 7) expect(await x.get(`evict:${i}`)).toBe(`${i}:${value}`);
        expect(await x.exists('after:0')).toBe(0);
      });
      expect(before).not.toBe('');
    } finally {
      r.disconnect();
      await sh.stop();
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }, 120_000);
});

describe('maxmemory while a BGSAVE runs', () => {
  it("the save's bookkeeping is not counted for eviction (a fork's child holds its copies outside used_memory)", async () => {
    const dir = tmp('shardis-evictsave-');
    const sh = await startShardis({ threads: 2, args: args(dir, ['--rdb-key-save-delay', '30000', '--maxmemory-policy', 'allkeys-lru']) });
    const r = client(sh.port);
    try {
      const value = 'v'.repeat(20000);
      const p = r.pipeline();
      for (let i = 0; i < 150; i++) p.set(`big:${i}`, value);
      await p.exec();
      const used = infoNum(String(await r.info('memory')), 'used_memory');
      await r.config('SET', 'maxmemory', String(used + 300000));
      expect(await r.bgsave()).toBe('Background saving started');
      expect(await saving(r)).toBe(true);
      // The save's flags and pin table alone pass the 300 KB of room left.
      const mem = String(await r.info('memory'));
      expect(infoNum(mem, 'used_memory')).toBeGreaterThan(used + 300000);
      expect(infoNum(mem, 'mem_not_counted_for_evict')).toBeGreaterThan(300000);
      // Writes while it runs: the first half before the walker reaches their slots (each copies
      // its slot first), nothing is evicted, as Redis evicts nothing when it forks.
      for (let i = 0; i < 40; i++) await r.set(`big:${i}`, `${value}${i}`);
      for (let i = 0; i < 20; i++) await r.set(`small:${i}`, 'x');
      expect(await saving(r)).toBe(true);
      expect(infoNum(String(await r.info('stats')), 'evicted_keys')).toBe(0);
      expect(await r.dbsize()).toBe(170);
      await r.config('SET', 'maxmemory', '0');
      await waitSaved(r);
      expect(checkCounts(path.join(dir, 'dump.rdb')).keys).toBe(150);
    } finally {
      r.disconnect();
      await sh.stop();
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }, 120_000);
});

describe('rdb-del-sync-files', () => {
  async function synced(r: Redis, key: string, want: string): Promise<void> {
    // -LOADING while the replica loads: try again.
    const get = (): Promise<string | null> => r.get(key).catch(() => null);
    for (let i = 0; i < 300 && (await get()) !== want; i++) await sleep(50);
    expect(await get()).toBe(want);
  }
  async function gone(file: string): Promise<boolean> {
    for (let i = 0; i < 60 && fs.existsSync(file); i++) await sleep(100);
    return !fs.existsSync(file);
  }

  it('a persistence-less master drops the RDB it wrote for a replica; a persistence-less replica drops the one it received', async () => {
    const mdir = tmp('shardis-delsync-m-');
    const rdir = tmp('shardis-delsync-r-');
    const common = ['--save', '', '--appendonly', 'no', '--rdb-del-sync-files', 'yes', '--repl-diskless-sync', 'no', '--repl-diskless-load', 'disabled'];
    const master = await startShardis({ threads: 2, args: ['--dir', mdir, ...common] });
    const red = await startRedis({ args: ['--dir', rdir] });
    const m = client(master.port);
    const rr = client(red.port);
    try {
      await m.set('k', 'v1');
      await rr.replicaof('127.0.0.1', String(master.port));
      await synced(rr, 'k', 'v1');
      expect(await gone(path.join(mdir, 'dump.rdb'))).toBe(true);
      // With the setting off the file stays.
      await m.config('SET', 'rdb-del-sync-files', 'no');
      await rr.replicaof('NO', 'ONE');
      await rr.config('SET', 'repl-diskless-load', 'disabled');
      await m.call('DEBUG', 'CHANGE-REPL-ID');
      await rr.replicaof('127.0.0.1', String(master.port));
      await m.set('k', 'v2');
      await synced(rr, 'k', 'v2');
      await sleep(1500);
      expect(fs.existsSync(path.join(mdir, 'dump.rdb'))).toBe(true);
    } finally {
      m.disconnect();
      rr.disconnect();
      await red.stop();
    }
    // The replica side: shardis loads its master's RDB from disk, then removes it.
    const redm = await startRedis({ args: ['--repl-diskless-sync', 'no'] });
    const replica = await startShardis({ threads: 2, args: ['--dir', rdir, ...common] });
    const a = client(redm.port);
    const b = client(replica.port);
    try {
      await a.set('x', 'from-redis');
      await b.replicaof('127.0.0.1', String(redm.port));
      await synced(b, 'x', 'from-redis');
      expect(await gone(path.join(rdir, 'dump.rdb'))).toBe(true);
    } finally {
      a.disconnect();
      b.disconnect();
      await replica.stop();
      await redm.stop();
      await master.stop();
      fs.rmSync(mdir, { recursive: true, force: true });
      fs.rmSync(rdir, { recursive: true, force: true });
    }
  }, 120_000);
});

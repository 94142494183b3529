// maxmemory and eviction (evict.c): over the limit, keys are evicted by the policy before a command
// runs; with nothing to evict, commands that would use memory get Redis's OOM error. Two threads:
// the writers, and the memory they allocate, sit on both.
import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import Redis from 'ioredis';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startShardis, startRedis, againstRedis, type Server } from '../helpers/server';

const OOM = "OOM command not allowed when used memory > 'maxmemory'.";

let srv: Server;
let r: Redis;
let r2: Redis;
beforeAll(async () => {
  srv = await startShardis({ threads: 2 });
  r = new Redis({ port: srv.port, maxRetriesPerRequest: 0 });
  r2 = new Redis({ port: srv.port, maxRetriesPerRequest: 0 });
});
afterAll(async () => {
  r?.disconnect();
  r2?.disconnect();
  await srv?.stop();
});
afterEach(async () => {
  await r.config('SET', 'maxmemory', '0');
  await r.config('SET', 'maxmemory-policy', 'noeviction');
  await r.flushall();
});

const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));
const info = async (field: string): Promise<number> => Number(new RegExp(`\\r\\n${field}:(\\d+)`).exec(`\r\n${await r.info()}`)?.[1] ?? NaN);
const value = 'v'.repeat(1000);

async function fill(c: Redis, prefix: string, n: number, opts: string[] = []): Promise<void> {
  const p = c.pipeline();
  for (let i = 0; i < n; i++) p.set(`${prefix}${i}`, value, ...(opts as []));
  await p.exec();
}

/** Set maxmemory to what is used now plus `extraMb`. */
async function limit(extraMb: number, policy: string): Promise<number> {
  await sleep(300); // per-thread usage is published on the cron tick
  const max = (await info('used_memory')) + extraMb * 1024 * 1024;
  await r.config('SET', 'maxmemory-policy', policy);
  await r.config('SET', 'maxmemory', String(max));
  return max;
}

describe('maxmemory', () => {
  it('noeviction: writes get the OOM error, reads and deletes go on, MULTI is refused as Redis does', async () => {
    await limit(1, 'noeviction');
    let refused = '';
    for (let i = 0; i < 5000 && refused === ''; i++) {
      try {
        await (i % 2 ? r : r2).set(`k${i}`, value);
      } catch (e) {
        refused = (e as Error).message;
      }
    }
    expect(refused).toBe(OOM);
    await expect(r.set('x', 'y')).rejects.toThrow(OOM);
    await expect(r.lpush('l', 'a')).rejects.toThrow(OOM);
    expect(await r.get('k0')).toBe(value);
    expect(await r.exists('k0')).toBe(1);
    // In MULTI everything queued is refused; EXEC then aborts.
    const tx = await r.multi().get('k0').set('x', 'y').exec().catch((e: Error) => e.message);
    expect(String(tx)).toContain('EXECABORT Transaction discarded because of previous errors.');
    // Deleting makes room again.
    for (let i = 0; i < 5000; i += 100) await r.del(...Array.from({ length: 100 }, (_, j) => `k${i + j}`));
    await sleep(300);
    expect(await r.set('x', 'y')).toBe('OK');
    expect(await info('evicted_keys')).toBe(0);
  });

  it('allkeys-lru keeps memory under the limit and evicts the keys idle longest', async () => {
    const before = await info('evicted_keys');
    await fill(r, 'cold', 2000);
    await sleep(1100); // the LRU clock counts seconds, as Redis's
    const max = await limit(1, 'allkeys-lru');
    await fill(r2, 'hot', 100);
    for (let i = 0; i < 100; i++) await r.get(`hot${i}`);
    // About 1.7 MB more than the limit allows: some 700 keys must go, fewer than the cold ones.
    await fill(r, 'new', 800);
    await fill(r2, 'new2', 800);
    await sleep(300);
    expect(await info('used_memory')).toBeLessThanOrEqual(max + 64 * 1024);
    expect(await info('evicted_keys')).toBeGreaterThan(before + 300);
    let hot = 0;
    for (let i = 0; i < 100; i++) hot += await r.exists(`hot${i}`);
    let cold = 0;
    for (let i = 0; i < 2000; i++) cold += await r.exists(`cold${i}`);
    let fresh = 0;
    for (let i = 0; i < 800; i++) fresh += (await r.exists(`new${i}`)) + (await r.exists(`new2${i}`));
    // Random eviction would take ~1 in 4 of the recent keys; LRU takes the idle ones.
    expect(hot).toBeGreaterThanOrEqual(97);
    expect(fresh).toBeGreaterThanOrEqual(1560);
    expect(cold).toBeLessThan(1700);
    await expect(srv.check()).resolves.toBeUndefined();
  });

  it('allkeys-lfu: Redis\'s counters (OBJECT FREQ) and the least used keys go first', async () => {
    await r.config('SET', 'maxmemory-policy', 'allkeys-lfu');
    await r.set('foo', 'bar');
    // A new key starts at LFU_INIT_VAL; the first access always counts, later ones less and less.
    expect(await r.object('FREQ', 'foo')).toBe(5);
    await r.get('foo');
    expect(await r.object('FREQ', 'foo')).toBe(6);
    for (let i = 0; i < 200; i++) await r2.get('foo');
    const f = Number(await r.object('FREQ', 'foo'));
    expect(f).toBeGreaterThan(6);
    expect(f).toBeLessThan(40);
    await expect(r.object('IDLETIME', 'foo')).rejects.toThrow('ERR An LFU maxmemory policy is selected, idle time not tracked.');
    await r.del('foo');
    await fill(r, 'rare', 2000);
    await fill(r2, 'hot', 100);
    for (let round = 0; round < 20; round++) {
      const p = r.pipeline();
      for (let i = 0; i < 100; i++) p.get(`hot${i}`);
      await p.exec();
    }
    await limit(1, 'allkeys-lfu');
    // Some 1200 keys must go: the rare and the new ones share the lowest counter.
    await fill(r, 'new', 2000);
    await sleep(300);
    let hot = 0;
    for (let i = 0; i < 100; i++) hot += await r.exists(`hot${i}`);
    let rare = 0;
    for (let i = 0; i < 2000; i++) rare += await r.exists(`rare${i}`);
    expect(hot).toBeGreaterThanOrEqual(97);
    expect(rare).toBeLessThan(1900);
  });

  it('volatile policies only take keys with a TTL, then refuse writes', async () => {
    await fill(r, 'keep', 1000);
    await fill(r, 'ttl', 1000, ['EX', '1000']);
    await limit(1, 'volatile-ttl');
    await fill(r2, 'more', 1500, ['EX', '5000']);
    await sleep(300);
    let keep = 0;
    for (let i = 0; i < 1000; i++) keep += await r.exists(`keep${i}`);
    expect(keep).toBe(1000);
    // volatile-ttl takes the soonest to expire first: the 1000 s keys before the 5000 s ones.
    let ttl = 0;
    for (let i = 0; i < 1000; i++) ttl += await r.exists(`ttl${i}`);
    let more = 0;
    for (let i = 0; i < 1500; i++) more += await r.exists(`more${i}`);
    expect(ttl).toBeLessThan(more);
    // No volatile key left to take: writes are refused.
    await r.config('SET', 'maxmemory-policy', 'volatile-lru');
    await r.del(...Array.from({ length: 1500 }, (_, i) => `more${i}`), ...Array.from({ length: 1000 }, (_, i) => `ttl${i}`));
    await r.config('SET', 'maxmemory', '1');
    await expect(r.set('x', 'y')).rejects.toThrow(OOM);
    expect(await r.dbsize()).toBe(1000);
  });

  it('CONFIG SET maxmemory below the data evicts at once, without another command (TCL unit/pubsub "evicted events")', async () => {
    await r.config('SET', 'notify-keyspace-events', 'Ee');
    const sub = new Redis({ port: srv.port, maxRetriesPerRequest: 0 });
    try {
      const got = new Promise<string>((res) => sub.on('pmessage', (_p: string, ch: string, msg: string) => res(`${ch} ${msg}`)));
      await sub.psubscribe('*');
      await r.set('foo', 'bar');
      await r.config('SET', 'maxmemory-policy', 'allkeys-lru');
      await r.config('SET', 'maxmemory', '1');
      const timeout = sleep(3000).then(() => 'no event');
      expect(await Promise.race([got, timeout])).toBe('__keyevent@0__:evicted foo');
    } finally {
      sub.disconnect();
      await r.config('SET', 'maxmemory', '0');
      await r.config('SET', 'notify-keyspace-events', '');
    }
  });

  it('threads over the limit at once evict the excess once between them, not once each', async () => {
    // 200 keys of 20 KB; a limit ~240 KB under what is used: about 12 keys must go.
    const big = 'b'.repeat(20000);
    const p = r.pipeline();
    for (let i = 0; i < 200; i++) p.set(`big:${i}`, big);
    await p.exec();
    const clients = Array.from({ length: 6 }, () => new Redis({ port: srv.port, maxRetriesPerRequest: 0 }));
    try {
      await Promise.all(clients.map((c) => c.ping()));
      const before = await info('evicted_keys');
      await r.config('SET', 'maxmemory-policy', 'allkeys-lru');
      const used = await info('used_memory');
      // Every connection (on both threads) writes at once right after the limit drops.
      const writes = Promise.all(clients.map(async (c, k) => {
        for (let i = 0; i < 30; i++) await c.set(`w:${k}:${i}`, 'x');
      }));
      await r.config('SET', 'maxmemory', String(used - 240000));
      await writes;
      const evicted = (await info('evicted_keys')) - before;
      expect(evicted).toBeGreaterThanOrEqual(11);
      // Each thread re-reads the others' counters as it evicts: one blind to the other's frees
      // would take the same excess again (24+). Once: 12 keys for the 240 KB, up to 5 more for
      // the 180 writes' own memory (100 KB measured on an empty server; 15 evicted is usual
      // here), and a key past the limit per thread: 19 (seen once in CI on a loaded machine).
      expect(evicted).toBeLessThanOrEqual(20);
    } finally {
      for (const c of clients) c.disconnect();
    }
  });

  it('allkeys-random over several dbs; evictions raise "evicted" keyspace events', async () => {
    // No ready check: ioredis may send PSUBSCRIBE (a "loading" command) before its INFO, which a
    // subscribed RESP2 connection then refuses (redis-server too).
    const sub = new Redis({ port: srv.port, maxRetriesPerRequest: 0, enableReadyCheck: false });
    const subErrors: string[] = [];
    sub.on('error', (e: Error) => subErrors.push(e.message));
    try {
      await r.config('SET', 'notify-keyspace-events', 'Ee');
      const events: string[] = [];
      sub.on('pmessage', (_p, ch, key) => events.push(`${ch} ${key}`));
      await sub.psubscribe('__keyevent@*__:evicted');
      await r.select(3);
      await fill(r, 'd3:', 1000);
      await r.select(0);
      const max = await limit(1, 'allkeys-random');
      await fill(r2, 'd0:', 3000);
      await sleep(300);
      expect(await info('used_memory')).toBeLessThanOrEqual(max + 64 * 1024);
      for (let i = 0; i < 50 && events.length === 0; i++) await sleep(20);
      expect(events.length).toBeGreaterThan(0);
      expect(events.filter((e) => !/^__keyevent@[03]__:evicted d[03]:\d+$/.test(e))).toEqual([]);
      expect(events.some((e) => e.startsWith('__keyevent@3__'))).toBe(true);
      expect(subErrors).toEqual([]);
    } finally {
      await r.config('SET', 'notify-keyspace-events', '');
      sub.disconnect();
      await r.select(0);
    }
  });
});

describe('maxmemory warnings in the log', () => {
  /** The WARNING lines of a log, without the pid/role/time prefix. */
  const warnings = (file: string): string[] =>
    fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.includes('WARNING')).map((l) => l.replace(/^\d+:[A-Z] [^#*]* [#*] /, ''));

  it('below 1MB at start, and a CONFIG SET below what is used: the lines redis-server logs', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shardis-mmwarn-'));
    const logs = [path.join(dir, 'redis.log'), path.join(dir, 'shardis.log')];
    const servers: Server[] = [];
    try {
      servers.push(await startRedis({ args: ['--maxmemory', '100', '--logfile', logs[0]] }));
      servers.push(await startShardis({ threads: 1, args: ['--save', '', '--maxmemory', '100', '--logfile', logs[1]] }));
      for (const sv of servers) {
        const c = new Redis({ port: sv.port, maxRetriesPerRequest: 0 });
        await c.config('SET', 'maxmemory', '0');
        await c.mset(...Array.from({ length: 2000 }, (_, i) => [`k${i}`, 'v']).flat());
        expect(await c.config('SET', 'maxmemory', '1000')).toBe('OK');
        await c.config('SET', 'maxmemory', '0');
        c.disconnect();
      }
      // The used figure differs between the servers: compare the lines with it masked. shardis's
      // main thread logs the CONFIG SET one after the reply: wait for it.
      const read = (): string[][] => logs.map((f) => warnings(f).filter((l) => l.includes('maxmemory')).map((l) => l.replace(/usage \(\d+\)/, 'usage (N)')));
      let masked = read();
      for (let i = 0; i < 100 && masked[1].length < 2; i++, await sleep(20)) masked = read();
      expect(masked[0]).toEqual([
        'WARNING: You specified a maxmemory value that is less than 1MB (current value is 100 bytes). Are you sure this is what you really want?',
        'WARNING: the new maxmemory value set via CONFIG SET (1000) is smaller than the current memory usage (N). This will result in key eviction and/or the inability to accept new write commands depending on the maxmemory-policy.',
      ]);
      expect(masked[1]).toEqual(masked[0]);
    } finally {
      for (const sv of servers) await sv.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(againstRedis())('a maxmemory past what the keyspace heap can hold is logged at start and on CONFIG SET', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shardis-mmwarn-'));
    const log = path.join(dir, 'shardis.log');
    const sv = await startShardis({ threads: 1, args: ['--save', '', '--maxmemory', '64mb', '--logfile', log], env: { SHARDIS_HEAP_BYTES: String(32 * 1024 * 1024) } });
    try {
      const c = new Redis({ port: sv.port, maxRetriesPerRequest: 0 });
      await c.config('SET', 'maxmemory', '16mb');
      await c.config('SET', 'maxmemory', '128mb');
      c.disconnect();
      // The main thread logs it after the reply: wait for the line.
      let lines: string[] = [];
      for (let i = 0; i < 100 && lines.length < 2; i++, await sleep(20)) lines = warnings(log).filter((l) => l.includes('keyspace heap'));
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/^WARNING: maxmemory \(67108864 bytes\) is above what the keyspace heap can hold \(\d+ bytes, SHARDIS_HEAP_BYTES\)\. Keys are evicted, or writes refused, from there\.$/);
      expect(lines[1]).toContain('maxmemory (134217728 bytes)');
    } finally {
      await sv.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

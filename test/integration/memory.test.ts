// Memory reused across sizes and returned to the OS (issue 14, item 2), against redis-server
// under the same cap: memory freed by 1 KB values serves 16 KB ones, an LRU cache whose value
// sizes shift keeps serving without OOM errors, and RSS falls back after FLUSHALL and DEL.
import { describe, it, expect, afterEach } from 'vitest';
import * as fs from 'node:fs';
import { startShardis, startRedis, type Server } from '../helpers/server';
import { RawClient, canon } from '../helpers/resp';
import { connectOnThreads } from '../helpers/threads';
import { info } from '../helpers/replication';

const MiB = 1024 * 1024;
const OOM = "OOM command not allowed when used memory > 'maxmemory'.";

const servers: Server[] = [];
const clients: RawClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.socket.destroy();
  for (const s of servers.splice(0)) await s.stop();
});

async function shardis(env: Record<string, string>, args: string[] = []): Promise<RawClient> {
  const s = await startShardis({ threads: 2, env, args: ['--save', '', '--appendonly', 'no', ...args] });
  servers.push(s);
  const c = await RawClient.connect(s.port);
  clients.push(c);
  return c;
}
async function redis(args: string[]): Promise<RawClient> {
  const s = await startRedis({ args });
  servers.push(s);
  const c = await RawClient.connect(s.port);
  clients.push(c);
  return c;
}

function rss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (m === null) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) * 1024;
}

/** RSS once it is below `limit`, or after 5 s. */
async function rssBelow(pid: number, limit: number): Promise<number> {
  for (let i = 0; i < 50 && rss(pid) >= limit; i++) await new Promise((r) => setTimeout(r, 100));
  return rss(pid);
}

/** Pipelined SETs of `size`-byte values; stops after a batch all refused. Returns [stored, refused]. */
async function fill(cl: RawClient, prefix: string, size: number, max: number, untilFull: boolean): Promise<[number, number]> {
  const v = 'x'.repeat(size);
  let stored = 0;
  let refusedAll = 0;
  const batch = 128;
  for (let base = 0; base < max; base += batch) {
    const n = Math.min(batch, max - base);
    for (let i = 0; i < n; i++) cl.send('SET', `${prefix}${base + i}`, v);
    let refused = 0;
    for (let i = 0; i < n; i++) {
      const r = canon(await cl.read());
      if (r === '+OK\r\n') stored++;
      else {
        expect(r).toBe(`-${OOM}\r\n`);
        refused++;
      }
    }
    refusedAll += refused;
    if (untilFull && refused === n) break;
  }
  return [stored, refusedAll];
}

describe('memory reused across sizes', () => {
  it('after FLUSHALL of 1 KB values, 16 KB values fill the heap as on redis-server under the same cap', async () => {
    // One database on both: shardis's fixed tables (per-database slot directories, 4 MB with 16)
    // count against its capacity, and at 64 MB they alone would cost 5% (1.5% at 256 MB).
    const cap = 64 * MiB;
    const counts: number[] = [];
    for (const c of [await shardis({ SHARDIS_HEAP_BYTES: String(cap) }, ['--databases', '1']), await redis(['--maxmemory', String(cap), '--maxmemory-policy', 'noeviction', '--databases', '1'])]) {
      const [small] = await fill(c, 'a:', 1000, 1e6, true);
      expect(small).toBeGreaterThan(30000);
      expect(canon(await c.call('FLUSHALL'))).toBe('+OK\r\n');
      const [large] = await fill(c, 'b:', 16000, 1e6, true);
      counts.push(large);
    }
    expect(counts[0]).toBeGreaterThanOrEqual(Math.floor(counts[1] * 0.95));
    expect(canon(await clients[0].call('DEBUG', 'CHECK'))).toBe('+OK\r\n');
  }, 90_000);

  it('an LRU cache whose values grow from 1 KB to 16 KB evicts and never refuses', async () => {
    const c = await shardis({ SHARDIS_HEAP_BYTES: String(64 * MiB) }, ['--maxmemory', String(40 * MiB), '--maxmemory-policy', 'allkeys-lru']);
    const [, refusedSmall] = await fill(c, 'a:', 1000, 60000, false);
    expect(refusedSmall).toBe(0);
    const [stored, refused] = await fill(c, 'b:', 16000, 6000, false);
    expect(refused).toBe(0);
    expect(stored).toBe(6000);
    expect(canon(await c.call('DEBUG', 'CHECK'))).toBe('+OK\r\n');
  }, 90_000);

  it('RSS falls back after a burst of big replies (300 GETs of 1 MB in one pipeline)', async () => {
    const c = await shardis({ SHARDIS_DEBUG: '0' });
    const pid = servers[0].pid;
    // 100 values of 1 MB, made by SETRANGE (no big argument on the JS side).
    for (let i = 0; i < 100; i++) c.send('SETRANGE', `big:${i}`, String(MiB - 1), 'x');
    for (let i = 0; i < 100; i++) expect(canon(await c.read())).toBe(`:${MiB}\r\n`);
    await new Promise((r) => setTimeout(r, 1500));
    const before = rss(pid);
    for (let round = 0; round < 3; round++) for (let i = 0; i < 100; i++) c.send('GET', `big:${i}`);
    for (let i = 0; i < 300; i++) {
      const r = await c.read();
      expect(r.t === 'bulk' && r.v !== null && r.v.length === MiB).toBe(true);
    }
    // The replies' buffers are garbage once written: collected (and trimmed) once the burst is
    // over, about two seconds later. Before, ~300 MB stayed resident.
    const after = await rssBelow(pid, before + 64 * MiB);
    expect(after - before, `RSS ${before} before the GETs, ${after} after`).toBeLessThan(64 * MiB);
  }, 60_000);
});

describe('memory returned to the OS', () => {
  it('RSS falls back after FLUSHALL of many small keys and after DEL of a big value', async () => {
    // A release build: debug builds keep JS-side copies of big arguments a while (RSS outside
    // the heap, which this test is not about).
    const c = await shardis({ SHARDIS_DEBUG: '0' });
    const pid = servers[0].pid;
    const active = async (): Promise<number> => Number(/allocator_active:(\d+)/.exec(canon(await c.call('INFO', 'memory')))![1]);
    const active0 = await active();
    // 150k small keys in pipelined MSETs.
    const v = 'v'.repeat(60);
    for (let base = 0; base < 150000; base += 5000) {
      for (let i = base; i < base + 5000; i += 50) {
        const args: string[] = [];
        for (let k = i; k < i + 50; k++) args.push(`key:${k}`, v);
        c.send('MSET', ...args);
      }
      for (let i = base; i < base + 5000; i += 50) expect(canon(await c.read())).toBe('+OK\r\n');
    }
    const full = rss(pid);
    const grown = (await active()) - active0;
    expect(grown).toBeGreaterThan(12 * MiB);
    expect(canon(await c.call('FLUSHALL'))).toBe('+OK\r\n');
    // Within a few seconds (idle threads hand their allocator caches back once a second, the
    // main thread gives free pages back once a second), the heap's pages are back to their
    // start-up count, and RSS fell by (nearly) all of them. (The rest of RSS is the JS side: V8's heaps grow
    // with the traffic and are not the allocator's.)
    for (let i = 0; i < 50 && (await active()) - active0 > MiB; i++) await new Promise((r) => setTimeout(r, 100));
    expect((await active()) - active0).toBeLessThanOrEqual(MiB);
    // Freed pages go back to the OS once a second (the main thread).
    const after = await rssBelow(pid, full - grown + 4 * MiB);
    expect(full - after, `RSS ${full} with the keys (heap +${grown}), ${after} after FLUSHALL`).toBeGreaterThan(grown - 4 * MiB);
    // One 64 MB value, then DEL. Made by SETRANGE (zero-filled, so every page is written): a 64 MB
    // argument would leave its JS-side copies to V8's garbage collector, outside the heap.
    const before = rss(pid);
    expect(canon(await c.call('SETRANGE', 'big', 64 * MiB - 1, 'x'))).toBe(`:${64 * MiB}\r\n`);
    expect(rss(pid) - before).toBeGreaterThan(60 * MiB);
    expect(canon(await c.call('DEL', 'big'))).toBe(':1\r\n');
    const afterDel = await rssBelow(pid, before + 4 * MiB);
    expect(afterDel - before, `RSS ${before} before SETRANGE, ${afterDel} after DEL`).toBeLessThan(4 * MiB);
    expect(canon(await c.call('DEBUG', 'CHECK'))).toBe('+OK\r\n');
  }, 90_000);
});

describe('memory peak', () => {
  it('INFO used_memory_peak and MEMORY STATS peak.allocated keep the server-wide peak after a DEL', async () => {
    const s = await startShardis({ threads: 2 });
    servers.push(s);
    const { on, all } = await connectOnThreads(s.port, [1, 1]);
    for (const c of all) clients.push(c);
    const [writer, reader] = [on[0][0], on[1][0]];
    const field = async (name: string): Promise<number> => Number((await info(reader, 'memory'))[name]);
    const before = await field('used_memory');
    expect(canon(await writer.call('SET', 'big', Buffer.alloc(8 * MiB, 120)))).toBe('+OK\r\n');
    await new Promise((r) => setTimeout(r, 400)); // a cron tick (hz 10) on each thread samples it
    expect(canon(await writer.call('DEL', 'big'))).toBe(':1\r\n');
    const used = await field('used_memory');
    const peak = await field('used_memory_peak');
    expect(peak).toBeGreaterThanOrEqual(before + 8 * MiB);
    expect(used).toBeLessThan(peak - 7 * MiB);
    // MEMORY STATS, from the other thread, reports the same peak and the percentage it implies.
    const stats = (await reader.call('MEMORY', 'STATS')) as { t: string; v: Array<{ t: string; v: unknown }> };
    const flat = stats.v.map((x) => (Buffer.isBuffer(x.v) ? x.v.toString() : x.v));
    const at = (k: string): number => Number(flat[flat.indexOf(k) + 1]);
    expect(at('peak.allocated')).toBe(peak);
    expect(at('peak.percentage')).toBeLessThan(50);
    expect(at('total.allocated')).toBeLessThan(peak - 7 * MiB);
    // CONFIG RESETSTAT starts the peak over (Redis's resetServerStats).
    expect(canon(await reader.call('CONFIG', 'RESETSTAT'))).toBe('+OK\r\n');
    expect(await field('used_memory_peak')).toBeLessThan(peak - 7 * MiB);
  });
});

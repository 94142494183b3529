// Client-side caching (CLIENT TRACKING) against a real shardis with 2 worker threads: RESP3
// invalidation pushes over raw sockets, RESP2 redirection to a `__redis__:invalidate`
// subscriber through ioredis, node-redis's clientSideCache, BCAST/OPTIN/OPTOUT/NOLOOP, expiry,
// eviction, FLUSHALL, tracking-table-max-keys, INFO counters. Several connections per role, so
// that readers and writers land on different threads (connections are spread by the kernel).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Redis from 'ioredis';
import { createClient, BasicClientSideCache } from 'redis';
import { RawClient, type Reply } from '../helpers/resp';
import { startShardis, type Server } from '../helpers/server';

let srv: Server;
beforeAll(async () => {
  srv = await startShardis({ threads: 2, args: ['--save', '', '--appendonly', 'no', '--enable-debug-command', 'yes'] });
});
afterAll(async () => {
  await srv?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The keys of an invalidation push (null: "everything"), or undefined when r is not one. */
function invalidated(r: Reply): string[] | null | undefined {
  if (r.t !== 'push' || r.v.length !== 2) return undefined;
  const [kind, keys] = r.v;
  if (kind.t !== 'bulk' || kind.v?.toString() !== 'invalidate') return undefined;
  if (keys.t === 'null') return null;
  if (keys.t === 'array' && keys.v !== null) return keys.v.map((k) => (k.t === 'bulk' && k.v !== null ? k.v.toString() : '?'));
  return undefined;
}

function text(r: Reply): string | null {
  if (r.t === 'bulk') return r.v === null ? null : r.v.toString();
  if (r.t === 'simple' || r.t === 'error') return r.v;
  if (r.t === 'int') return String(r.v);
  if (r.t === 'null') return null;
  if (r.t === 'verbatim') return r.v.toString();
  return r.t;
}

async function resp3Tracking(...opts: string[]): Promise<RawClient> {
  const c = await RawClient.connect(srv.port);
  await c.call('HELLO', '3');
  expect(text(await c.call('CLIENT', 'TRACKING', 'on', ...opts))).toBe('OK');
  return c;
}

async function connectMany(n: number): Promise<RawClient[]> {
  return Promise.all(Array.from({ length: n }, () => RawClient.connect(srv.port)));
}

/** Read replies until a non-push one; returns the pushes seen and that reply. */
async function readReply(c: RawClient): Promise<{ pushes: Reply[]; reply: Reply }> {
  const pushes: Reply[] = [];
  for (;;) {
    const r = await c.read();
    if (r.t === 'push') pushes.push(r);
    else return { pushes, reply: r };
  }
}

describe('RESP3 invalidation pushes', () => {
  it('a key read is invalidated once when any connection writes it, before the reply that sees the new value', async () => {
    const reader = await resp3Tracking();
    const writers = await connectMany(6);
    try {
      for (let i = 0; i < writers.length; i++) {
        for (let j = 0; j < 5; j++) {
          const key = `t:basic:${i}`;
          const before = await readReply((reader.send('GET', key), reader));
          expect(before.pushes).toEqual([]);
          expect(text(await writers[i].call('SET', key, `v${j}`))).toBe('OK');
          // The writer has its reply: the reader's next read of the key gets the push first.
          const after = await readReply((reader.send('GET', key), reader));
          expect(after.pushes.map(invalidated)).toEqual([[key]]);
          expect(text(after.reply)).toBe(`v${j}`);
        }
      }
      // A key not read is not invalidated; one invalidated is forgotten until read again.
      await writers[0].call('SET', 't:basic:unread', 'x');
      await writers[0].call('SET', 't:basic:0', 'again');
      const pong = await readReply((reader.send('PING'), reader));
      expect(pong.pushes.map(invalidated)).toEqual([['t:basic:0']]);
      await writers[1].call('SET', 't:basic:0', 'again2');
      const pong2 = await readReply((reader.send('PING'), reader));
      expect(pong2.pushes).toEqual([]);
    } finally {
      await reader.close();
      for (const w of writers) await w.close();
    }
  });

  it('while writers race the reader, a changed value is never served before its invalidation', async () => {
    const readers = await Promise.all(Array.from({ length: 3 }, () => resp3Tracking()));
    const writers = await connectMany(3);
    const key = 't:race';
    await writers[0].call('SET', key, '0');
    let stop = false;
    const writing = (async () => {
      let n = 1;
      while (!stop) {
        await writers[n % writers.length].call('SET', key, String(n));
        n++;
      }
    })();
    try {
      await Promise.all(
        readers.map(async (r) => {
          let last: string | null | undefined;
          let invalidatedSince = true;
          let changes = 0;
          for (let i = 0; i < 300; i++) {
            const { pushes, reply } = await readReply((r.send('GET', key), r));
            if (pushes.some((p) => (invalidated(p) ?? []).includes(key))) invalidatedSince = true;
            const v = text(reply);
            if (v !== last) {
              // The value changed since this client read (and cached) it: the push came first.
              expect(invalidatedSince).toBe(true);
              changes++;
            }
            last = v;
            invalidatedSince = false;
          }
          expect(changes).toBeGreaterThan(1);
        }),
      );
    } finally {
      stop = true;
      await writing;
      for (const c of [...readers, ...writers]) await c.close();
    }
  });

  it('FLUSHALL and FLUSHDB send "invalidate nil" to every tracking client', async () => {
    const readers = await Promise.all(Array.from({ length: 4 }, () => resp3Tracking()));
    const w = await RawClient.connect(srv.port);
    try {
      await w.call('SET', 't:fl', '1');
      for (const r of readers) await r.call('GET', 't:fl');
      for (const cmd of [['FLUSHALL'], ['FLUSHDB'], ['FLUSHALL', 'ASYNC']]) {
        expect(text(await w.call(...cmd))).toBe('OK');
        for (const r of readers) {
          const { pushes } = await readReply((r.send('PING'), r));
          expect(pushes.map(invalidated)).toEqual([null]);
        }
      }
      const info = text(await w.call('INFO', 'stats')) ?? '';
      expect(info).toContain('tracking_total_keys:0');
    } finally {
      for (const c of [...readers, w]) await c.close();
    }
  });

  it('a client writing a key it reads gets the push after its own reply; NOLOOP gets none', async () => {
    const c = await resp3Tracking();
    const n = await resp3Tracking('NOLOOP');
    try {
      await c.call('HSET', 't:self', 'f', '1');
      for (const cl of [c, n]) await cl.call('HGET', 't:self', 'f');
      expect(text(await c.call('HDEL', 't:self', 'f'))).toBe('1');
      expect(invalidated(await c.read())).toEqual(['t:self']);
      // n read the key too: c's HDEL invalidated it for n, which sees the push before its PONG.
      const { pushes } = await readReply((n.send('PING'), n));
      expect(pushes.map(invalidated)).toEqual([['t:self']]);
      await n.call('GET', 't:self2');
      await n.call('SET', 't:self2', 'mine');
      const after = await readReply((n.send('PING'), n));
      expect(after.pushes).toEqual([]);
    } finally {
      await c.close();
      await n.close();
    }
  });

  it('OPTIN tracks only after CLIENT CACHING yes; OPTOUT stops with CLIENT CACHING no', async () => {
    const optin = await resp3Tracking('OPTIN');
    const optout = await resp3Tracking('OPTOUT');
    const w = await RawClient.connect(srv.port);
    try {
      await optin.call('GET', 't:oi:no');
      expect(text(await optin.call('CLIENT', 'CACHING', 'yes'))).toBe('OK');
      await optin.call('GET', 't:oi:yes');
      await optout.call('GET', 't:oo:yes');
      expect(text(await optout.call('CLIENT', 'CACHING', 'no'))).toBe('OK');
      await optout.call('GET', 't:oo:no');
      for (const k of ['t:oi:no', 't:oi:yes', 't:oo:yes', 't:oo:no']) await w.call('SET', k, '1');
      expect((await readReply((optin.send('PING'), optin))).pushes.map(invalidated)).toEqual([['t:oi:yes']]);
      expect((await readReply((optout.send('PING'), optout))).pushes.map(invalidated)).toEqual([['t:oo:yes']]);
    } finally {
      for (const c of [optin, optout, w]) await c.close();
    }
  });

  it('BCAST with prefixes: one push per prefix per turn, NOLOOP leaves out the own writes', async () => {
    const b = await resp3Tracking('BCAST', 'PREFIX', 'user:', 'PREFIX', 'item:');
    const nl = await resp3Tracking('BCAST', 'PREFIX', 'user:', 'NOLOOP');
    const writers = await connectMany(4);
    try {
      expect(text(await b.call('CLIENT', 'TRACKING', 'on', 'BCAST', 'PREFIX', 'use'))).toMatch(/^ERR Prefix 'use' overlaps with an existing prefix 'user:'/);
      for (let i = 0; i < writers.length; i++) {
        await writers[i].call('MSET', `user:${i}`, 'a', `item:${i}`, 'b', `other:${i}`, 'c');
        const got: string[] = [];
        while (got.length < 2) {
          const keys = invalidated(await b.read());
          expect(keys).toBeTruthy();
          got.push(...(keys as string[]));
        }
        expect(got.sort()).toEqual([`item:${i}`, `user:${i}`]);
        expect(invalidated(await nl.read())).toEqual([`user:${i}`]);
      }
      await nl.call('SET', 'user:mine', '1');
      expect(invalidated(await b.read())).toEqual(['user:mine']);
      expect((await readReply((nl.send('PING'), nl))).pushes).toEqual([]);
      const info = text(await writers[0].call('INFO', 'stats')) ?? '';
      expect(info).toContain('tracking_total_prefixes:2');
      const list = text(await writers[0].call('CLIENT', 'LIST')) ?? '';
      expect(list).toMatch(/flags=tB /);
    } finally {
      for (const c of [b, nl, ...writers]) await c.close();
    }
  });

  it('expiry (active and lazy) invalidates', async () => {
    const r = await resp3Tracking();
    const w = await RawClient.connect(srv.port);
    try {
      await w.call('SET', 't:exp:active', 'v', 'PX', '30');
      await r.call('GET', 't:exp:active');
      // Active expiry runs on the main thread: the push arrives without any command.
      expect(invalidated(await r.read())).toEqual(['t:exp:active']);
      await w.call('DEBUG', 'SET-ACTIVE-EXPIRE', '0');
      await w.call('SET', 't:exp:lazy', 'v', 'PX', '20');
      await r.call('GET', 't:exp:lazy');
      await sleep(40);
      // Lazy expiry by another client: the reader hears of it.
      expect(text(await w.call('GET', 't:exp:lazy'))).toBe(null);
      expect((await readReply((r.send('PING'), r))).pushes.map(invalidated)).toEqual([['t:exp:lazy']]);
    } finally {
      await w.call('DEBUG', 'SET-ACTIVE-EXPIRE', '1');
      await r.close();
      await w.close();
    }
  });

  it('redirect to a client that is gone: tracking-redir-broken and the R flag', async () => {
    const target = await RawClient.connect(srv.port);
    const id = text(await target.call('CLIENT', 'ID')) as string;
    const r = await resp3Tracking('REDIRECT', id);
    const w = await RawClient.connect(srv.port);
    try {
      expect(text(await r.call('CLIENT', 'GETREDIR'))).toBe(id);
      await r.call('GET', 't:broken');
      await target.close();
      // The server must have seen the close (under load 50 ms was not always enough).
      for (let i = 0; i < 200 && (text(await w.call('CLIENT', 'LIST', 'ID', id)) ?? '') !== ''; i++) await sleep(25);
      await w.call('SET', 't:broken', '1');
      const { pushes } = await readReply((r.send('PING'), r));
      // The message comes from the writer's thread: it may follow the PONG of this one.
      if (pushes.length === 0) pushes.push(await r.read());
      expect(pushes).toHaveLength(1);
      expect(pushes[0]).toEqual({ t: 'push', v: [{ t: 'bulk', v: Buffer.from('tracking-redir-broken') }, { t: 'int', v: BigInt(id) }] });
      const info = await r.call('CLIENT', 'TRACKINGINFO');
      expect(info.t).toBe('map');
      expect(info.t === 'map' && info.v[0][1].t === 'set' && info.v[0][1].v.map(text)).toEqual(['on', 'broken_redirect']);
      expect(text(await r.call('CLIENT', 'INFO'))).toMatch(/flags=tR /);
    } finally {
      await r.close();
      await w.close();
    }
  });

  it('tracking-table-max-keys evicts tracked keys with invalidations', async () => {
    const r = await resp3Tracking();
    const w = await RawClient.connect(srv.port);
    try {
      await w.call('FLUSHALL');
      expect(invalidated(await r.read())).toBe(null);
      for (let i = 0; i < 20; i++) await r.call('GET', `t:max:${i}`);
      expect(text(await w.call('INFO', 'stats'))).toContain('tracking_total_keys:20');
      await w.call('CONFIG', 'SET', 'tracking-table-max-keys', '5');
      // The next command (or the cron) brings the table back under the limit.
      const seen = new Set<string>();
      while (seen.size < 15) {
        const keys = invalidated(await r.read());
        for (const k of keys ?? []) seen.add(k);
      }
      expect(seen.size).toBe(15);
      expect(text(await w.call('INFO', 'stats'))).toContain('tracking_total_keys:5');
    } finally {
      await w.call('CONFIG', 'SET', 'tracking-table-max-keys', '1000000');
      await r.close();
      await w.close();
    }
  });
});

describe('the tracking table', () => {
  it('stores a key once however many clients track it; every reader is invalidated, in read order', async () => {
    const w = await RawClient.connect(srv.port);
    const readers = await Promise.all(Array.from({ length: 10 }, () => resp3Tracking()));
    try {
      await w.call('FLUSHALL');
      for (const r of readers) expect(invalidated(await r.read())).toBe(null);
      const keys = Array.from({ length: 100 }, (_, i) => `t:big:${i}:${'k'.repeat(1000)}`);
      for (const k of keys) await w.call('SET', k, 'v');
      const used = async (): Promise<number> => Number(/used_memory:(\d+)/.exec(text(await w.call('INFO', 'memory')) ?? '')?.[1]);
      const before = await used();
      for (const r of readers) for (const k of keys) expect(text(await r.call('GET', k))).toBe('v');
      const stats = text(await w.call('INFO', 'stats')) ?? '';
      expect(stats).toContain('tracking_total_keys:100');
      expect(stats).toContain('tracking_total_items:1000');
      // 100 keys of 1 KB read by 10 clients: the names once (~100 KB), not once per reader (~1 MB).
      expect((await used()) - before).toBeLessThan(300_000);
      await w.call('DEL', keys[0]);
      for (const r of readers) expect(invalidated(await r.read())).toEqual([keys[0]]);
      expect(text(await w.call('INFO', 'stats'))).toContain('tracking_total_items:990');
    } finally {
      for (const r of readers) await r.close();
      await w.close();
    }
  });
});

describe('eviction of tracked keys', () => {
  /** n RESP3 tracking clients accepted by another thread than `busy`'s (proven by DEBUG THREAD-SLEEP). */
  async function trackersBeside(busy: RawClient, n: number): Promise<RawClient[]> {
    const out: RawClient[] = [];
    for (let attempt = 0; attempt < 20 && out.length < n; attempt++) {
      const sleeping = busy.call('DEBUG', 'THREAD-SLEEP', '0.3');
      await sleep(50);
      const cands = await connectMany(n - out.length);
      const first = await Promise.all(cands.map((c) => Promise.race([c.call('HELLO', '3').then(() => true), sleeping.then(() => false)])));
      await sleeping;
      for (let i = 0; i < cands.length; i++) {
        if (!first[i]) {
          await cands[i].close();
          continue;
        }
        expect(text(await cands[i].call('CLIENT', 'TRACKING', 'on'))).toBe('OK');
        out.push(cands[i]);
      }
    }
    if (out.length < n) throw new Error('could not place the trackers on another thread');
    return out;
  }

  it("invalidations on their way to another thread's clients do not feed eviction (Redis's feedback loop)", async () => {
    const w = await RawClient.connect(srv.port);
    const trackers = await trackersBeside(w, 10);
    const info = async (f: string): Promise<number> => Number(new RegExp(`${f}:(\\d+)`).exec(text(await w.call('INFO')) ?? '')?.[1]);
    try {
      await w.call('FLUSHALL');
      for (const t of trackers) expect(invalidated(await t.read())).toBe(null);
      await w.call('CONFIG', 'SET', 'maxmemory-policy', 'volatile-lru');
      await w.call('CONFIG', 'RESETSTAT');
      const keys = Array.from({ length: 300 }, (_, i) => `${i}${'x'.repeat(1000)}`);
      for (const k of keys) {
        await w.call('SET', k, 'x', 'EX', '1000');
        for (const t of trackers) expect(text(await t.call('GET', k))).toBe('x');
      }
      await w.call('CONFIG', 'SET', 'maxmemory', String((await info('used_memory')) + 60000));
      // The trackers' thread stalls; writes on w's thread go 40 KB over the limit. Each key
      // evicted posts ten ~1 KB invalidations to the stalled thread's inbox, more than the key
      // frees: counted, they would make eviction go on and on.
      const stalled = trackers[0].call('DEBUG', 'THREAD-SLEEP', '1');
      await sleep(100);
      for (let i = 0; i < 25; i++) await w.call('SET', `pad:${i}`, 'p'.repeat(4000));
      await w.call('PING');
      // Background eviction would go on meanwhile (DBSIZE, unlike INFO, does not wait for the
      // stalled thread).
      await sleep(300);
      const evicted = 325 - Number(text(await w.call('DBSIZE')));
      expect(evicted).toBeGreaterThanOrEqual(10);
      // About 40 KB / 2.5 KB a key (its entry and its tracking record); counted, all 300 went.
      expect(evicted).toBeLessThanOrEqual(100);
      await stalled;
      await w.call('CONFIG', 'SET', 'maxmemory', '0');
      // Once drained, they are the trackers' pushes, and nothing is in flight.
      for (const t of trackers) {
        const got = new Set<string>();
        while (got.size < evicted) for (const k of invalidated(await t.read()) ?? []) got.add(k);
      }
      expect(await info('mem_not_counted_for_evict')).toBe(0);
      expect(await info('evicted_keys')).toBeGreaterThanOrEqual(evicted);
    } finally {
      await w.call('CONFIG', 'SET', 'maxmemory', '0');
      await w.call('CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
      for (const t of trackers) await t.close();
      await w.close();
    }
  });
});

describe('RESP2 redirection through ioredis', () => {
  it('invalidations arrive as __redis__:invalidate messages on the subscriber', async () => {
    const sub = new Redis({ port: srv.port, lazyConnect: true });
    const trackers = Array.from({ length: 4 }, () => new Redis({ port: srv.port, lazyConnect: true }));
    const writer = new Redis({ port: srv.port, lazyConnect: true });
    try {
      await Promise.all([sub, writer, ...trackers].map((c) => c.connect()));
      const id = (await sub.client('ID')) as number;
      const messages: unknown[] = [];
      sub.on('message', (channel: string, message: unknown) => {
        if (channel === '__redis__:invalidate') messages.push(message);
      });
      await sub.subscribe('__redis__:invalidate');
      for (const [i, t] of trackers.entries()) {
        expect(await t.client('TRACKING', 'on', 'REDIRECT', String(id))).toBe('OK');
        expect(await t.call('CLIENT', 'GETREDIR')).toBe(id);
        await t.set(`r2:${i}`, 'a');
        await t.get(`r2:${i}`);
      }
      for (let i = 0; i < trackers.length; i++) await writer.set(`r2:${i}`, 'b');
      while (messages.length < trackers.length) await sleep(10);
      // ioredis hands a one-element payload over as the element itself.
      expect(messages.map((m) => String(m)).sort()).toEqual(trackers.map((_, i) => `r2:${i}`).sort());
      // FLUSHALL: one message per tracking client, with a null payload ($-1, which ioredis hands
      // over as '').
      messages.length = 0;
      await writer.flushall();
      while (messages.length < trackers.length) await sleep(10);
      expect(messages).toEqual(trackers.map(() => ''));
      const info = await writer.info('clients');
      expect(info).toMatch(/tracking_clients:4\r\n/);
      const list = await writer.client('LIST');
      expect(String(list).match(new RegExp(`redir=${id} `, 'g'))).toHaveLength(4);
    } finally {
      for (const c of [sub, writer, ...trackers]) c.disconnect();
    }
  });
});

describe('node-redis clientSideCache (RESP3)', () => {
  it('serves repeated reads from its cache and drops entries other connections change', async () => {
    const cache = new BasicClientSideCache({ ttl: 0, maxEntries: 0, evictPolicy: 'LRU' });
    const c = createClient({ socket: { port: srv.port, host: '127.0.0.1', reconnectStrategy: false }, RESP: 3, clientSideCache: cache });
    const w = createClient({ socket: { port: srv.port, host: '127.0.0.1', reconnectStrategy: false } });
    c.on('error', () => {});
    w.on('error', () => {});
    await c.connect();
    await w.connect();
    try {
      await w.set('nr:csc', 'v1');
      expect(await c.get('nr:csc')).toBe('v1');
      expect(await c.get('nr:csc')).toBe('v1');
      expect(cache.stats().hitCount).toBe(1);
      expect(cache.size()).toBe(1);
      await w.set('nr:csc', 'v2');
      for (let i = 0; i < 200 && cache.size() > 0; i++) await sleep(5);
      expect(cache.size()).toBe(0);
      expect(await c.get('nr:csc')).toBe('v2');
      expect(cache.stats().missCount).toBe(2);
      await w.flushAll();
      for (let i = 0; i < 200 && cache.size() > 0; i++) await sleep(5);
      expect(cache.size()).toBe(0);
      expect(await c.get('nr:csc')).toBe(null);
    } finally {
      c.destroy();
      w.destroy();
    }
  });
});

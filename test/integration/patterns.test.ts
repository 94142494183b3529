// The classic Redis patterns under many concurrent ioredis clients spread over three threads:
// optimistic locking (a market), locks with expiry, a WATCH counter, pipelines; plus WATCH
// invalidation and EXEC atomicity seen from other connections.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import Redis from 'ioredis';
import { startShardis, type Server } from '../helpers/server';

let srv: Server;
const clients: Redis[] = [];
const N = 9;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  srv = await startShardis({ threads: 3 });
  for (let i = 0; i < N; i++) clients.push(new Redis({ port: srv.port, maxRetriesPerRequest: 0 }));
  await Promise.all(clients.map((c) => c.ping()));
});

afterAll(async () => {
  for (const c of clients) c.disconnect();
  await srv?.stop();
});

describe('WATCH and EXEC across connections and threads', () => {
  it('a write from any other connection makes EXEC return null', async () => {
    for (let other = 1; other < N; other++) {
      const a = clients[0];
      await a.set('wk', '0');
      await a.watch('wk');
      await clients[other].set('wk', String(other));
      const r = await a.multi().set('wk', 'mine').exec();
      expect(r).toBeNull();
      expect(await a.get('wk')).toBe(String(other));
    }
  });

  it('DEL, RENAME, EXPIRE, FLUSHALL and SWAPDB by others invalidate a WATCH', async () => {
    const a = clients[0];
    const b = clients[4];
    const touches: Array<() => Promise<unknown>> = [
      () => b.del('wk'),
      () => b.rename('wk', 'wk2'),
      () => b.expire('wk', 100),
      () => b.flushall(),
      () => b.swapdb(0, 1),
    ];
    for (const touch of touches) {
      await b.select(0);
      await a.flushall();
      await a.set('wk', '1');
      await a.watch('wk');
      await touch();
      expect(await a.multi().get('wk').exec()).toBeNull();
    }
    await b.swapdb(0, 1);
  });

  it('an unrelated write does not invalidate a WATCH', async () => {
    const a = clients[0];
    await a.set('wk', '1');
    await a.watch('wk');
    await clients[5].set('unrelated', '1');
    expect(await a.multi().get('wk').exec()).toEqual([[null, '1']]);
  });

  it('readers never see part of an EXEC over many slots', async () => {
    const keys = Array.from({ length: 8 }, (_, i) => `atomic:${i}`);
    await clients[0].mset(...keys.flatMap((k) => [k, '0']));
    let partial = 0;
    const writers = clients.slice(0, 4).map(async (c, w) => {
      for (let i = 0; i < 150; i++) {
        const m = c.multi();
        for (const k of keys) m.set(k, `${w}:${i}`);
        await m.exec();
      }
    });
    const readers = clients.slice(4).map(async (c) => {
      for (let i = 0; i < 150; i++) {
        const m = c.multi();
        for (const k of keys) m.get(k);
        const r = (await m.exec()) as Array<[Error | null, string]>;
        if (new Set(r.map((x) => x[1])).size !== 1) partial++;
        const g = await c.mget(...keys);
        if (new Set(g).size !== 1) partial++;
      }
    });
    await Promise.all([...writers, ...readers]);
    expect(partial).toBe(0);
  });
});

describe('the seed patterns', () => {
  it('a counter incremented through WATCH/MULTI/EXEC retries ends exact', async () => {
    await clients[0].set('cas:counter', '0');
    let retries = 0;
    await Promise.all(
      clients.map(async (c) => {
        for (let i = 0; i < 40; i++) {
          for (;;) {
            await c.watch('cas:counter');
            const v = Number(await c.get('cas:counter'));
            const r = await c.multi().set('cas:counter', String(v + 1)).exec();
            if (r !== null) break;
            retries++;
          }
        }
      }),
    );
    expect(await clients[0].get('cas:counter')).toBe(String(N * 40));
    expect(retries).toBeGreaterThanOrEqual(0);
  });

  it('market: optimistic locking conserves money and sells each item once', async () => {
    const a = clients[0];
    await a.flushall();
    const sellers = 3;
    const buyers = N - sellers;
    const items = 10;
    // Each seller lists items from its inventory; buyers buy what is listed.
    for (let s = 0; s < sellers; s++) {
      await a.hset(`user:s${s}`, 'funds', '0');
      await a.sadd(`inventory:s${s}`, ...Array.from({ length: items }, (_, i) => `item${s}-${i}`));
    }
    for (let b = 0; b < buyers; b++) await a.hset(`user:b${b}`, 'funds', '1000');
    const list = async (c: Redis, s: number, item: string, price: number): Promise<boolean> => {
      for (;;) {
        await c.watch(`inventory:s${s}`);
        if (!(await c.sismember(`inventory:s${s}`, item))) {
          await c.unwatch();
          return false;
        }
        const r = await c.multi().zadd('market', price, `${item}.s${s}`).srem(`inventory:s${s}`, item).exec();
        if (r !== null) return true;
      }
    };
    const buy = async (c: Redis, b: number, entry: string): Promise<boolean> => {
      const seller = entry.split('.')[1];
      for (;;) {
        await c.watch('market', `user:b${b}`);
        const price = await c.zscore('market', entry);
        const funds = Number(await c.hget(`user:b${b}`, 'funds'));
        if (price === null || Number(price) > funds) {
          await c.unwatch();
          return false;
        }
        const r = await c
          .multi()
          .hincrby(`user:${seller}`, 'funds', Number(price))
          .hincrby(`user:b${b}`, 'funds', -Number(price))
          .sadd(`inventory:b${b}`, entry.split('.')[0])
          .zrem('market', entry)
          .exec();
        if (r !== null) return true;
      }
    };
    await Promise.all(
      clients.slice(0, sellers).map(async (c, s) => {
        for (let i = 0; i < items; i++) await list(c, s, `item${s}-${i}`, 10 + i);
      }),
    );
    expect(await a.zcard('market')).toBe(sellers * items);
    const bought: string[][] = Array.from({ length: buyers }, () => []);
    await Promise.all(
      clients.slice(sellers).map(async (c, b) => {
        for (;;) {
          const listed = await c.zrange('market', 0, -1);
          if (listed.length === 0) return;
          const entry = listed[(b * 7) % listed.length];
          if (await buy(c, b, entry)) bought[b].push(entry);
        }
      }),
    );
    const all = bought.flat();
    expect(all.length).toBe(sellers * items);
    expect(new Set(all).size).toBe(sellers * items);
    let total = 0;
    for (let s = 0; s < sellers; s++) total += Number(await a.hget(`user:s${s}`, 'funds'));
    for (let b = 0; b < buyers; b++) total += Number(await a.hget(`user:b${b}`, 'funds'));
    expect(total).toBe(buyers * 1000);
    let owned = 0;
    for (let b = 0; b < buyers; b++) owned += await a.scard(`inventory:b${b}`);
    expect(owned).toBe(sellers * items);
  });

  it('locks with SET NX PX and with SETNX+EXPIRE: never two holders; expired locks are taken over', async () => {
    const holders = new Map<string, number>();
    let maxHolders = 0;
    let acquired = 0;
    const release = async (c: Redis, lock: string, token: string): Promise<void> => {
      for (;;) {
        await c.watch(lock);
        if ((await c.get(lock)) !== token) {
          await c.unwatch();
          return;
        }
        if ((await c.multi().del(lock).exec()) !== null) return;
      }
    };
    const worker = async (c: Redis, id: number, useSetnx: boolean): Promise<void> => {
      for (let i = 0; i < 15; i++) {
        const token = `${id}:${i}`;
        const lock = useSetnx ? 'lock:b' : 'lock:a';
        for (;;) {
          let ok: boolean;
          if (useSetnx) {
            ok = (await c.setnx(lock, token)) === 1;
            if (ok) await c.expire(lock, 10);
          } else {
            ok = (await c.set(lock, token, 'PX', 10000, 'NX')) === 'OK';
          }
          if (ok) break;
          await sleep(1);
        }
        holders.set(lock, (holders.get(lock) ?? 0) + 1);
        maxHolders = Math.max(maxHolders, holders.get(lock) as number);
        acquired++;
        await sleep(0);
        holders.set(lock, (holders.get(lock) as number) - 1);
        await release(c, lock, token);
      }
    };
    await Promise.all(clients.map((c, i) => worker(c, i, i % 2 === 0)));
    expect(acquired).toBe(N * 15);
    // Never two holders of the same lock at once.
    expect(maxHolders).toBe(1);
    // An abandoned lock with a short expiry is taken over once it expires.
    await clients[0].set('lock:c', 'dead', 'PX', 50, 'NX');
    expect(await clients[1].set('lock:c', 'alive', 'PX', 1000, 'NX')).toBeNull();
    await sleep(120);
    expect(await clients[1].set('lock:c', 'alive', 'PX', 1000, 'NX')).toBe('OK');
  });

  it('login token update: a plain pipeline and a transactional one', async () => {
    const c = clients[2];
    const p = c.pipeline();
    for (let i = 0; i < 100; i++) {
      p.hset('login:', `token${i}`, `user${i}`);
      p.zadd('recent:', Date.now(), `token${i}`);
      p.zadd(`viewed:token${i}`, Date.now(), 'item1');
      p.zremrangebyrank(`viewed:token${i}`, 0, -26);
    }
    const res = await p.exec();
    expect(res?.every(([e]) => e === null)).toBe(true);
    expect(await c.hlen('login:')).toBe(100);
    expect(await c.zcard('recent:')).toBe(100);
    const t = await c.multi().hget('login:', 'token7').zscore('recent:', 'token7').exec();
    expect(t?.[0]).toEqual([null, 'user7']);
    expect(t?.[1][1]).not.toBeNull();
  });
});

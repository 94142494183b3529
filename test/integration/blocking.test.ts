// Blocking list pops on a 3-thread server with ioredis clients: wake-ups from pushes made by
// connections on any thread, first-blocked-first-served order, timeouts, BLMOVE across slots,
// clients that leave while blocked, CLIENT UNBLOCK, and INFO blocked_clients.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Redis from 'ioredis';
import { startShardis, type Server } from '../helpers/server';

let srv: Server;
const conns: Redis[] = [];

beforeAll(async () => {
  srv = await startShardis({ threads: 3 });
});
afterAll(async () => {
  for (const c of conns) c.disconnect();
  await srv?.stop();
});

function client(): Redis {
  const c = new Redis({ port: srv.port, host: '127.0.0.1', maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: false });
  conns.push(c);
  return c;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function blockedClients(c: Redis): Promise<number> {
  const info = await c.info('clients');
  const m = /blocked_clients:(\d+)/.exec(info);
  return m ? Number(m[1]) : -1;
}

async function waitBlocked(c: Redis, n: number): Promise<void> {
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    if ((await blockedClients(c)) === n) return;
    await sleep(10);
  }
  throw new Error(`blocked_clients never reached ${n} (now ${await blockedClients(c)})`);
}

describe('blocking pops across threads', () => {
  it('a push from another connection wakes BLPOP / BRPOP, whatever the threads', async () => {
    const admin = client();
    await admin.flushall();
    const waiters = Array.from({ length: 9 }, () => client());
    await Promise.all(waiters.map((w) => w.ping()));
    const replies = waiters.map((w, i) => (i % 2 === 0 ? w.blpop(`wk${i}`, 0) : w.brpop(`wk${i}`, 0)));
    await waitBlocked(admin, 9);
    const pushers = Array.from({ length: 3 }, () => client());
    await Promise.all(waiters.map((_, i) => pushers[i % 3].rpush(`wk${i}`, `a${i}`, `b${i}`)));
    const got = await Promise.all(replies);
    got.forEach((r, i) => expect(r).toEqual([`wk${i}`, i % 2 === 0 ? `a${i}` : `b${i}`]));
    for (let i = 0; i < 9; i++) expect(await admin.lrange(`wk${i}`, 0, -1)).toEqual([i % 2 === 0 ? `b${i}` : `a${i}`]);
    expect(await blockedClients(admin)).toBe(0);
  });

  it('first blocked, first served among waiters on several threads', async () => {
    const admin = client();
    await admin.del('fifo');
    for (let round = 0; round < 2; round++) {
      const waiters = Array.from({ length: 6 }, () => client());
      await Promise.all(waiters.map((w) => w.ping()));
      const replies: Promise<[string, string] | null>[] = [];
      for (let i = 0; i < 6; i++) {
        replies.push(waiters[i].blpop('fifo', 0));
        await waitBlocked(admin, i + 1);
      }
      if (round === 0) {
        await admin.rpush('fifo', 'v0', 'v1', 'v2', 'v3', 'v4', 'v5');
      } else {
        const pusher = client();
        for (let i = 0; i < 6; i++) await pusher.rpush('fifo', `v${i}`);
      }
      const got = await Promise.all(replies);
      expect(got.map((r) => r?.[1])).toEqual(['v0', 'v1', 'v2', 'v3', 'v4', 'v5']);
      expect(await admin.exists('fifo')).toBe(0);
    }
  });

  it('timeouts reply nil after about the timeout; 0 waits until served', async () => {
    const w = client();
    let t0 = Date.now();
    expect(await w.blpop('never', 0.3)).toBeNull();
    let dt = Date.now() - t0;
    expect(dt).toBeGreaterThanOrEqual(280);
    expect(dt).toBeLessThan(1500);
    t0 = Date.now();
    expect(await w.blmove('never', 'dst', 'LEFT', 'RIGHT', 0.2)).toBeNull();
    dt = Date.now() - t0;
    expect(dt).toBeGreaterThanOrEqual(180);
    expect(dt).toBeLessThan(1500);
    // A forever-blocked client is still waiting after a while, and gets the element.
    const admin = client();
    const p = w.brpop('later', 0);
    await waitBlocked(admin, 1);
    await sleep(400);
    expect(await blockedClients(admin)).toBe(1);
    await admin.lpush('later', 'x');
    expect(await p).toEqual(['later', 'x']);
  });

  it('BLMOVE / BRPOPLPUSH across slots is atomic, and wakes the next waiter', async () => {
    const admin = client();
    await admin.flushall();
    // src and dst in different slots; chain: a -> b (BRPOPLPUSH), then BLPOP on b.
    const w1 = client();
    const w2 = client();
    const moved = w1.brpoplpush('chain-a', 'chain-b', 0);
    await waitBlocked(admin, 1);
    const popped = w2.blpop('chain-b', 0);
    await waitBlocked(admin, 2);
    await admin.rpush('chain-a', 'm');
    expect(await moved).toBe('m');
    expect(await popped).toEqual(['chain-b', 'm']);
    expect(await admin.exists('chain-a', 'chain-b')).toBe(0);

    // Many movers, concurrent pushers: every element ends in dst exactly once.
    const movers = Array.from({ length: 8 }, () => client());
    const res = movers.map((m) => m.blmove('msrc', 'mdst', 'LEFT', 'RIGHT', 5));
    await waitBlocked(admin, 8);
    const pushers = Array.from({ length: 4 }, () => client());
    await Promise.all(pushers.map((p, i) => p.rpush('msrc', `e${2 * i}`, `e${2 * i + 1}`)));
    const vals = (await Promise.all(res)) as string[];
    expect(new Set(vals).size).toBe(8);
    const dst = await admin.lrange('mdst', 0, -1);
    expect([...dst].sort()).toEqual([...vals].sort());
    expect(await admin.exists('msrc')).toBe(0);
  });

  it('BLMPOP / BLPOP on keys in different slots take exactly one element', async () => {
    const admin = client();
    await admin.flushall();
    for (let round = 0; round < 5; round++) {
      const w = client();
      const p = round % 2 === 0 ? w.blpop('x1', 'y2', 'z3', 0) : w.call('BLMPOP', '0', '3', 'x1', 'y2', 'z3', 'LEFT', 'COUNT', '1');
      await waitBlocked(admin, 1);
      const a = client();
      const b = client();
      const c = client();
      await Promise.all([a.rpush('x1', 'p'), b.rpush('y2', 'q'), c.rpush('z3', 'r')]);
      const got = await p;
      expect(got).not.toBeNull();
      const left = (await admin.llen('x1')) + (await admin.llen('y2')) + (await admin.llen('z3'));
      expect(left).toBe(2);
      await admin.del('x1', 'y2', 'z3');
      w.disconnect();
    }
  });

  it('RENAME, COPY and MOVE that create the awaited key wake the waiter', async () => {
    const a = client();
    const b = client();
    for (const [setup, make] of [
      [() => b.rpush('wk:src', 'x', 'y'), () => b.rename('wk:src', 'wk:dst')],
      [() => b.rpush('wk:src', 'x', 'y'), () => b.copy('wk:src', 'wk:dst')],
      [async () => { await b.select(1); await b.rpush('wk:dst', 'x', 'y'); }, async () => { await b.move('wk:dst', 0); await b.select(0); }],
    ] as Array<[() => Promise<unknown>, () => Promise<unknown>]>) {
      await b.del('wk:src', 'wk:dst');
      const popped = a.blpop('wk:dst', 5);
      await waitBlocked(b, 1);
      await setup();
      await make();
      expect(await popped).toEqual(['wk:dst', 'x']);
      await b.select(0);
    }
  });

  it('a client that disconnects while blocked takes nothing', async () => {
    const admin = client();
    await admin.del('gone');
    const w = client();
    await w.ping();
    w.blpop('gone', 0).catch(() => {});
    await waitBlocked(admin, 1);
    w.disconnect();
    await waitBlocked(admin, 0);
    const w2 = client();
    const p = w2.blpop('gone', 0);
    await waitBlocked(admin, 1);
    await admin.rpush('gone', 'v1', 'v2');
    expect(await p).toEqual(['gone', 'v1']);
    expect(await admin.lrange('gone', 0, -1)).toEqual(['v2']);
  });

  it('CLIENT UNBLOCK with TIMEOUT and ERROR, flag b in CLIENT LIST', async () => {
    const admin = client();
    const w = client();
    const id = Number(await w.client('ID'));
    const p1 = w.blpop('ub', 0);
    await waitBlocked(admin, 1);
    expect(await admin.client('LIST')).toMatch(new RegExp(`id=${id} .*flags=b`));
    expect(await admin.call('CLIENT', 'UNBLOCK', String(id))).toBe(1);
    expect(await p1).toBeNull();
    const p2 = w.brpoplpush('ub', 'ub2', 0).then(() => 'no error', (e: Error) => e.message);
    await waitBlocked(admin, 1);
    expect(await admin.call('CLIENT', 'UNBLOCK', String(id), 'ERROR')).toBe(1);
    expect(await p2).toBe('UNBLOCKED client unblocked via CLIENT UNBLOCK');
    expect(await admin.call('CLIENT', 'UNBLOCK', String(id))).toBe(0);
    expect(await blockedClients(admin)).toBe(0);
  });

  it('a blocked client keeps its pipeline: later commands run after the wake-up', async () => {
    const admin = client();
    await admin.del('pipe');
    const w = client();
    const pl = w.pipeline().blpop('pipe', 0).set('after', '1').get('after').exec();
    await waitBlocked(admin, 1);
    expect(await admin.get('after')).toBeNull();
    await admin.rpush('pipe', 'z');
    const out = await pl;
    expect(out?.map((r) => r[1])).toEqual([['pipe', 'z'], 'OK', '1']);
  });
});

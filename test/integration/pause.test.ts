// CLIENT PAUSE / UNPAUSE across threads: the covered commands wait (as blocked clients) wherever
// their connection lives and run in order once the pause ends; keys neither expire nor get evicted
// meanwhile. Errors and the held/served behaviour are compared with redis-server.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startPair, type Pair } from '../helpers/diff';
import { RawClient, show, type Reply } from '../helpers/resp';

let d: Pair;
beforeAll(async () => {
  d = await startPair({ threads: 2 });
});
afterAll(async () => {
  await d?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function text(r: Reply): string {
  return r.t === 'bulk' && r.v !== null ? r.v.toString() : r.t === 'verbatim' ? r.v.toString() : '';
}

async function blocked(c: RawClient): Promise<number> {
  return Number(/blocked_clients:(\d+)/.exec(text(await c.call('INFO', 'clients')))?.[1]);
}

/** Resolves with the reply, or 'pending' if none came within ms. */
async function within(p: Promise<Reply>, ms: number): Promise<string> {
  return Promise.race([p.then(show), sleep(ms).then(() => 'pending')]);
}

describe('CLIENT PAUSE', () => {
  it('argument errors as Redis', async () => {
    await d.expectSame([
      ['CLIENT', 'PAUSE', '10', 'bogus'],
      ['CLIENT', 'PAUSE', '-1'],
      ['CLIENT', 'PAUSE', 'abc'],
      ['CLIENT', 'PAUSE', '1', 'write', 'x'],
      ['CLIENT', 'PAUSE'],
      ['CLIENT', 'UNPAUSE', 'x'],
      ['CLIENT', 'UNPAUSE'],
    ]);
  });

  it('WRITE holds writes (and EXEC of a write) from every thread, not reads; UNPAUSE runs them', async () => {
    const r = await d.each(async (c, _side, port) => {
      const cs = await Promise.all([0, 1, 2, 3, 4].map(() => RawClient.connect(port)));
      try {
        await c.call('SET', 'k', '0');
        // A transaction with a write, queued before the pause: its EXEC is held.
        await cs[4].call('MULTI');
        await cs[4].call('SET', 'k', 'tx');
        const out = [show(await c.call('CLIENT', 'PAUSE', '100000', 'WRITE'))];
        out.push(show(await cs[0].call('GET', 'k')));
        // Held clients on different threads are released by each thread: distinct keys, so the
        // result does not depend on which goes first.
        const w1 = cs[1].call('INCR', 'n');
        await sleep(30);
        const w2 = cs[2].call('APPEND', 's', 'x');
        await sleep(30);
        const w3 = cs[4].call('EXEC');
        // A read-only transaction goes through.
        await cs[3].call('MULTI');
        await cs[3].call('GET', 'k');
        out.push(show(await cs[3].call('EXEC')));
        out.push(await within(w1, 100), await within(w3, 10));
        for (let i = 0; i < 500 && (await blocked(c)) < 3; i++) await sleep(10); // up to 5 s on a loaded machine
        out.push(`blocked ${await blocked(c)}`);
        // Held clients stay counted while the pause lasts (they were once released and held again
        // every 10 ms, and INFO could read 2 in between).
        let steady = true;
        for (let i = 0; i < 30; i++) {
          if ((await blocked(c)) !== 3) steady = false;
          await sleep(5);
        }
        out.push(`steady ${steady}`);
        out.push(show(await cs[0].call('GET', 'k')));
        out.push(show(await c.call('CLIENT', 'UNPAUSE')));
        out.push(show(await w1), show(await w2), show(await w3), show(await c.call('MGET', 'k', 'n', 's')));
        out.push(`blocked ${await blocked(c)}`);
        return out;
      } finally {
        await c.call('CLIENT', 'UNPAUSE');
        await Promise.all(cs.map((x) => x.close()));
      }
    });
    expect(r.shardis).toEqual(r.redis);
    expect(r.shardis).toContain('blocked 3');
  });

  it('WRITE holds may-replicate commands (PFCOUNT, PUBLISH, EVAL) and scripts by their declared flags', async () => {
    const r = await d.each(async (c, _side, port) => {
      const cs = await Promise.all([0, 1, 2, 3, 4].map(() => RawClient.connect(port)));
      try {
        await c.call('PFADD', 'hll', 'a');
        await cs[4].call('MULTI');
        await cs[4].call('EVAL', '#!lua flags=no-writes\nreturn 12', '0');
        const out = [show(await c.call('CLIENT', 'PAUSE', '100000', 'WRITE'))];
        const held = [cs[0].call('PFCOUNT', 'hll'), cs[1].call('EVAL', 'return 1', '0'), cs[2].call('EVAL', '#!lua\nreturn 2', '0')];
        // A script declaring no-writes, alone or queued, is not held.
        out.push(show(await cs[3].call('EVAL', '#!lua flags=no-writes\nreturn 3', '0')));
        out.push(show(await cs[4].call('EXEC')));
        for (let i = 0; i < 500 && (await blocked(c)) < 3; i++) await sleep(10); // up to 5 s on a loaded machine
        out.push(`blocked ${await blocked(c)}`);
        out.push(show(await c.call('CLIENT', 'UNPAUSE')));
        for (const h of held) out.push(show(await h));
        return out;
      } finally {
        await c.call('CLIENT', 'UNPAUSE');
        await Promise.all(cs.map((x) => x.close()));
      }
    });
    expect(r.shardis).toEqual(r.redis);
    expect(r.shardis).toContain('blocked 3');
  });

  it('ALL holds reads too and ends by itself; keys do not expire meanwhile', async () => {
    const r = await d.each(async (c, _side, port) => {
      const [a, b] = await Promise.all([RawClient.connect(port), RawClient.connect(port)]);
      try {
        await c.call('SET', 'gone', 'v', 'PX', '100');
        const out = [show(await c.call('CLIENT', 'PAUSE', '400', 'ALL'))];
        const t0 = Date.now();
        const g = a.call('GET', 'k2');
        const p = b.call('PING');
        out.push(await within(g, 150));
        await sleep(100);
        out.push(show(await g), show(await p));
        out.push(`waited ${Date.now() - t0 >= 300}`);
        // The 100 ms key expired during the pause but was not deleted: it reads as missing and
        // goes when the pause ends (expired_keys grows only then).
        out.push(show(await a.call('EXISTS', 'gone')));
        return out;
      } finally {
        await c.call('CLIENT', 'UNPAUSE');
        await Promise.all([a.close(), b.close()]);
      }
    });
    expect(r.shardis).toEqual(r.redis);
    expect(r.shardis).toContain('waited true');
  });
});

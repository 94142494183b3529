// XREAD BLOCK, redis-server vs shardis (2 threads): timeouts (nil array / RESP3 null), wake-ups by
// XADD from another connection (several streams, $, COUNT, a MULTI that adds several entries),
// readers whose ID is ahead of the stream, several readers of one key, a key of another type,
// BLOCK inside MULTI and scripts; and a reader on thread 1 woken by an XADD on thread 2.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPair, type Pair } from '../helpers/diff';
import { RawClient, show, type Reply } from '../helpers/resp';
import { connectOnThreads } from '../helpers/threads';

let d: Pair;
beforeAll(async () => {
  d = await startPair({ threads: 2 });
});
afterAll(async () => {
  await d?.stop();
});

async function waitBlocked(c: RawClient, n: number): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const info = show(await c.call('INFO', 'clients'));
    if (new RegExp(`blocked_clients:${n}\\b`).test(info)) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`blocked_clients never reached ${n}`);
}

/** Open a reader connection in the same protocol as c's side of the test. */
async function reader(port: number, resp3: boolean): Promise<RawClient> {
  const r = await RawClient.connect(port);
  if (resp3) await r.call('HELLO', '3');
  return r;
}

for (const resp3 of [false, true]) {
  describe(`XREAD BLOCK (${resp3 ? 'RESP3' : 'RESP2'})`, () => {
    const each = <T>(fn: (c: RawClient, port: number) => Promise<T>) =>
      d.each((c, _side, port) => fn(c, port), { resp3 }).then((r) => expect(r.shardis).toEqual(r.redis));

    it('times out with a nil reply; errors and immediate replies', () =>
      each(async (c) => {
        const out: string[] = [];
        out.push(show(await c.call('XREAD', 'BLOCK', '50', 'STREAMS', 's', '$')));
        out.push(show(await c.call('XADD', 's', '1-1', 'a', '1')));
        out.push(show(await c.call('XREAD', 'BLOCK', '50', 'STREAMS', 's', '$')));
        out.push(show(await c.call('XREAD', 'BLOCK', '50', 'STREAMS', 's', '0')));
        out.push(show(await c.call('XREAD', 'BLOCK', '-1', 'STREAMS', 's', '$')));
        out.push(show(await c.call('XREAD', 'BLOCK', 'abc', 'STREAMS', 's', '$')));
        out.push(show(await c.call('XREAD', 'BLOCK', '10', 'STREAMS', 's', '$', '$')));
        out.push(show(await c.call('XREAD', 'COUNT', '1', 'BLOCK', '10', 'STREAMS', 's', 'nokey', '0', '$')));
        out.push(show(await c.call('EVAL', "return redis.call('xread','block',0,'streams','s','$')", '0')));
        return out;
      }));

    it('an XADD from another connection wakes the reader of several streams, before its next command', () =>
      each(async (c, port) => {
        const w = await reader(port, resp3);
        await c.call('XADD', 's1', '1-1', 'x', 'y');
        w.send('XREAD', 'BLOCK', '5000', 'STREAMS', 's1', 's2', '$', '$');
        await waitBlocked(c, 1);
        c.send('XADD', 's2', '5-1', 'f', 'v');
        c.send('XADD', 's2', '5-2', 'f', 'w');
        const out = [show(await c.read()), show(await c.read()), show(await w.read())];
        // The new stream made by XADD serves too (its $ was 0-0).
        w.send('XREAD', 'BLOCK', '0', 'STREAMS', 'fresh', '$');
        await waitBlocked(c, 1);
        out.push(show(await c.call('XADD', 'fresh', '7-7', 'k', 'v')));
        out.push(show(await w.read()));
        await w.close();
        return out;
      }));

    it('COUNT, and a MULTI that adds several entries serves the reader once, after EXEC', () =>
      each(async (c, port) => {
        const w1 = await reader(port, resp3);
        const w2 = await reader(port, resp3);
        w1.send('XREAD', 'COUNT', '2', 'BLOCK', '0', 'STREAMS', 'q', '0-0');
        w2.send('XREAD', 'BLOCK', '0', 'STREAMS', 'q', '$');
        await waitBlocked(c, 2);
        const out = [show(await c.call('MULTI'))];
        for (let i = 1; i <= 3; i++) out.push(show(await c.call('XADD', 'q', `${i}-0`, 'n', String(i))));
        out.push(show(await c.call('EXEC')));
        out.push(show(await w1.read()), show(await w2.read()));
        await w1.close();
        await w2.close();
        return out;
      }));

    it('a reader ahead of the stream stays blocked; another type of key does not serve it', () =>
      each(async (c, port) => {
        const w = await reader(port, resp3);
        const v = await reader(port, resp3);
        await c.call('XADD', 'a', '1-0', 'f', 'v');
        w.send('XREAD', 'BLOCK', '300', 'STREAMS', 'a', '100-0');
        v.send('XREAD', 'BLOCK', '5000', 'STREAMS', 'l', '$');
        await waitBlocked(c, 2);
        const out = [show(await c.call('XADD', 'a', '50-0', 'f', 'v'))];
        out.push(show(await c.call('RPUSH', 'l', 'x')));
        out.push(show(await w.read()));
        out.push(show(await c.call('DEL', 'l')));
        out.push(show(await c.call('XADD', 'l', '3-3', 'f', 'v')));
        out.push(show(await v.read()));
        await w.close();
        await v.close();
        return out;
      }));

    it('BLOCK inside MULTI answers at once', () =>
      each(async (c) => {
        const out = [show(await c.call('MULTI'))];
        out.push(show(await c.call('XREAD', 'BLOCK', '0', 'STREAMS', 's', '$')));
        out.push(show(await c.call('XADD', 's', '1-1', 'a', 'b')));
        out.push(show(await c.call('XREAD', 'BLOCK', '0', 'STREAMS', 's', '0')));
        out.push(show(await c.call('EXEC')));
        return out;
      }));
  });
}

describe('XREAD BLOCK across threads (shardis)', () => {
  it('a reader on thread 1 is woken by an XADD on thread 2; readers of one key on both threads all get it', async () => {
    const { on, all } = await connectOnThreads(d.shardis.port, [2, 2]);
    try {
      const [r1, r1b] = on[0];
      const [w2, r2] = on[1];
      await w2.call('DEL', 'xt');
      r1.send('XREAD', 'BLOCK', '5000', 'STREAMS', 'other', 'xt', '$', '$');
      r2.send('XREAD', 'COUNT', '1', 'BLOCK', '5000', 'STREAMS', 'xt', '0');
      await waitBlocked(w2, 2);
      expect(await w2.call('XADD', 'xt', '9-1', 'from', 'two')).toEqual({ t: 'bulk', v: Buffer.from('9-1') });
      const b = (s: string): Reply => ({ t: 'bulk', v: Buffer.from(s) });
      const entry: Reply = { t: 'array', v: [b('9-1'), { t: 'array', v: [b('from'), b('two')] }] };
      const want: Reply = { t: 'array', v: [{ t: 'array', v: [b('xt'), { t: 'array', v: [entry] }] }] };
      expect(show(await r1.read())).toBe(show(want));
      expect(show(await r2.read())).toBe(show(want));
      // A timeout on thread 1 while thread 2 writes elsewhere: a nil array.
      r1.send('XREAD', 'BLOCK', '100', 'STREAMS', 'xt', '$');
      await waitBlocked(w2, 1);
      await w2.call('XADD', 'elsewhere', '*', 'a', 'b');
      expect(await r1.read()).toEqual({ t: 'array', v: null });
      expect(show(await r1b.call('PING'))).toBe('PONG');
      await waitBlocked(w2, 0);
    } finally {
      for (const c of all) await c.close();
    }
  });
});

// Pub/sub on single connections, compared with redis-server: subscribe/unsubscribe replies,
// subscribed-mode restrictions and PING, RESP3 pushes, PUBSUB introspection, message formats;
// each exchange runs on a RESP2 connection and again on a RESP3 one.
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

/** Send a command and read `n` replies. */
async function replies(c: RawClient, n: number, ...args: string[]): Promise<string[]> {
  c.send(...args);
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(show(await c.read()));
  return out;
}

/** The same exchange on both servers, in RESP2 and again on a RESP3 connection (pushes). */
async function same<T>(fn: (c: RawClient, port: number) => Promise<T>): Promise<T> {
  let last: T | undefined;
  for (const resp3 of [false, true]) {
    const r = await d.each((c, _side, port) => fn(c, port), { resp3 });
    expect(r.shardis, resp3 ? 'RESP3' : 'RESP2').toEqual(r.redis);
    last = r.shardis;
  }
  return last as T;
}

describe('pub/sub matches redis-server', () => {
  it('subscribe, unsubscribe and their counts', async () => {
    await same(async (c) => [
      ...(await replies(c, 2, 'SUBSCRIBE', 'a', 'b')),
      ...(await replies(c, 1, 'PSUBSCRIBE', 'x*')),
      ...(await replies(c, 1, 'SUBSCRIBE', 'a')),
      ...(await replies(c, 1, 'UNSUBSCRIBE', 'zzz')),
      // Redis walks a dict here: the channels come in its hash order; compare them as a set,
      // and the count after the last one.
      ...(await replies(c, 2, 'UNSUBSCRIBE')).map((r, i, all) => (i === 0 ? all.map((x) => x.split('\n')[1]).sort().join(',') : r.split('\n')[2])),
      ...(await replies(c, 1, 'PUNSUBSCRIBE')),
      ...(await replies(c, 1, 'UNSUBSCRIBE')),
      ...(await replies(c, 1, 'PUNSUBSCRIBE')),
      ...(await replies(c, 1, 'SUNSUBSCRIBE')),
    ]);
  });

  it('only allows subscriber commands in RESP2 subscribed mode; PING answers as a message', async () => {
    await same(async (c) => [
      ...(await replies(c, 1, 'SUBSCRIBE', 'a')),
      ...(await replies(c, 1, 'GET', 'k')),
      ...(await replies(c, 1, 'PING')),
      ...(await replies(c, 1, 'PING', 'hi')),
      ...(await replies(c, 1, 'UNSUBSCRIBE', 'a')),
      ...(await replies(c, 1, 'GET', 'k')),
    ]);
  });

  it('delivers messages, pattern messages and shard messages in order', async () => {
    await same(async (sub, port) => {
      const pub = await RawClient.connect(port);
      const out = [
        ...(await replies(sub, 1, 'SUBSCRIBE', 'news')),
        ...(await replies(sub, 1, 'PSUBSCRIBE', 'n*')),
        ...(await replies(sub, 1, 'SSUBSCRIBE', 'shard')),
      ];
      out.push(show(await pub.call('PUBLISH', 'news', 'm1')));
      out.push(show(await pub.call('PUBLISH', 'news', 'm2')));
      out.push(show(await pub.call('PUBLISH', 'nothing', 'm3')));
      out.push(show(await pub.call('PUBLISH', 'other', 'm4')));
      out.push(show(await pub.call('SPUBLISH', 'shard', 'm5')));
      for (let i = 0; i < 6; i++) out.push(show(await sub.read()));
      out.push(show(await pub.call('PUBSUB', 'NUMSUB', 'news', 'none')));
      out.push(show(await pub.call('PUBSUB', 'NUMPAT')));
      out.push(show(await pub.call('PUBSUB', 'CHANNELS')));
      out.push(show(await pub.call('PUBSUB', 'CHANNELS', 'ne*')));
      out.push(show(await pub.call('PUBSUB', 'SHARDCHANNELS')));
      out.push(show(await pub.call('PUBSUB', 'SHARDNUMSUB', 'shard')));
      out.push(show(await pub.call('PUBSUB', 'NOPE')));
      out.push(show(await pub.call('PUBLISH', 'a')));
      pub.close();
      return out;
    });
  });

  it('PUNSUBSCRIBE of many patterns, some shared with another client, and that client closing', async () => {
    // More than 8 patterns go out of the shared registry in one walk (pubsub.ts dropPatterns):
    // the counts, the patterns the other client keeps, and their removal when it closes.
    await same(async (c, port) => {
      const other = await RawClient.connect(port);
      const admin = await RawClient.connect(port);
      const out: string[] = [];
      out.push(...(await replies(c, 12, 'PSUBSCRIBE', ...Array.from({ length: 12 }, (_, i) => `p${i}:*`))));
      for (let i = 6; i < 16; i++) out.push(show(await other.call('PSUBSCRIBE', `p${i}:*`)));
      out.push(show(await admin.call('PUBSUB', 'NUMPAT')));
      out.push(...(await replies(c, 12, 'PUNSUBSCRIBE')));
      out.push(show(await admin.call('PUBSUB', 'NUMPAT')));
      for (const ch of ['p1:x', 'p7:x', 'p15:x']) out.push(`${ch} ${show(await admin.call('PUBLISH', ch, 'm'))}`);
      for (let i = 0; i < 2; i++) out.push(show(await other.read()));
      out.push(...(await replies(c, 1, 'PUNSUBSCRIBE')));
      other.close();
      let numpat = '';
      for (let i = 0; i < 50 && numpat !== '0'; i++) {
        numpat = show(await admin.call('PUBSUB', 'NUMPAT'));
        if (numpat !== '0') await new Promise((r) => setTimeout(r, 20));
      }
      out.push(numpat);
      admin.close();
      return out;
    });
  });

  it('matches glob patterns as Redis does', async () => {
    await same(async (sub, port) => {
      const pub = await RawClient.connect(port);
      const pats = ['h?llo', 'h*llo', 'h[ae]llo', 'h[^e]llo', 'h[a-b]llo', 'h\\*llo'];
      const out: string[] = [];
      for (const p of pats) out.push(...(await replies(sub, 1, 'PSUBSCRIBE', p)));
      for (const ch of ['hello', 'hallo', 'hxllo', 'hllo', 'heeeello', 'h*llo']) {
        const n = (await pub.call('PUBLISH', ch, 'x')) as Reply & { v: bigint };
        out.push(`${ch}:${show(n)}`);
        // Pattern messages come in the order of Redis's pattern dict: compare them as a set.
        const got: string[] = [];
        for (let i = 0; i < Number(n.v); i++) got.push(show(await sub.read()));
        out.push(...got.sort());
      }
      pub.close();
      return out;
    });
  });

  it('uses RESP3 pushes, and allows other commands while subscribed', async () => {
    await same(async (c, port) => {
      const out = [show(await c.call('HELLO', '3')).includes('proto') ? 'hello' : 'no'];
      out.push(...(await replies(c, 1, 'SUBSCRIBE', 'r3')));
      out.push(...(await replies(c, 1, 'GET', 'k')));
      const pub = await RawClient.connect(port);
      out.push(show(await pub.call('PUBLISH', 'r3', 'hi')));
      out.push(show(await c.read()));
      out.push(...(await replies(c, 2, 'PUBLISH', 'r3', 'self')));
      out.push(...(await replies(c, 1, 'PING')));
      pub.close();
      return out;
    });
  });
});

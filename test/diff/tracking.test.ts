// Differential tests (redis-server vs shardis) for CLIENT TRACKING / CACHING / GETREDIR /
// TRACKINGINFO: error texts and reply shapes, in RESP2 and RESP3.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { script, startPair, type Pair } from '../helpers/diff';
import { RawClient, canon, show, type Reply } from '../helpers/resp';

let d: Pair;
beforeAll(async () => {
  d = await startPair({ threads: 2 });
});
afterAll(async () => {
  await d?.stop();
});

const ERRORS = `
  CLIENT TRACKING
  CLIENT TRACKING maybe
  CLIENT TRACKING on foo
  CLIENT TRACKING on PREFIX a
  CLIENT TRACKING on BCAST OPTIN
  CLIENT TRACKING on BCAST OPTOUT
  CLIENT TRACKING on OPTIN OPTOUT
  CLIENT TRACKING on REDIRECT
  CLIENT TRACKING on REDIRECT abc
  CLIENT TRACKING on REDIRECT 987654321
  CLIENT TRACKING on REDIRECT 0
  CLIENT TRACKING on REDIRECT -3
  CLIENT TRACKING on BCAST PREFIX FOOBAR PREFIX FOO
  CLIENT TRACKING on BCAST PREFIX FOO PREFIX FOOBAR
  CLIENT TRACKING on BCAST PREFIX a PREFIX b PREFIX ab
  CLIENT TRACKING off BCAST PREFIX a PREFIX a
  CLIENT CACHING yes
  CLIENT CACHING no
  CLIENT CACHING maybe
  CLIENT CACHING
  CLIENT GETREDIR
  CLIENT GETREDIR x
  CLIENT TRACKINGINFO
  CLIENT TRACKINGINFO x
`;

const STATES = `
  CLIENT TRACKING on
  CLIENT TRACKINGINFO
  CLIENT GETREDIR
  CLIENT CACHING yes
  CLIENT CACHING no
  CLIENT TRACKING on BCAST
  CLIENT TRACKING on OPTIN
  CLIENT TRACKINGINFO
  CLIENT CACHING yes
  CLIENT TRACKINGINFO
  CLIENT TRACKING on OPTOUT
  CLIENT CACHING no
  CLIENT TRACKINGINFO
  CLIENT TRACKINGINFO
  CLIENT TRACKING off
  CLIENT TRACKING on OPTOUT NOLOOP
  CLIENT TRACKINGINFO
  CLIENT CACHING no
  CLIENT TRACKINGINFO
  CLIENT TRACKING off
  CLIENT TRACKINGINFO
  CLIENT TRACKING on BCAST PREFIX user: PREFIX item: NOLOOP
  CLIENT TRACKINGINFO
  CLIENT TRACKING on BCAST PREFIX us
  CLIENT TRACKING on BCAST PREFIX users:
  CLIENT TRACKING on BCAST PREFIX order:
  CLIENT TRACKING on
  CLIENT TRACKING on OPTIN
  CLIENT GETREDIR
  CLIENT TRACKING off
  CLIENT TRACKINGINFO
  CLIENT GETREDIR
  CLIENT TRACKING on BCAST
  CLIENT TRACKINGINFO
  CLIENT TRACKING off
  CLIENT TRACKING off
  CLIENT TRACKINGINFO
`;

describe('CLIENT TRACKING errors and TRACKINGINFO shapes', () => {
  for (const resp3 of [false, true]) {
    const proto = resp3 ? 'RESP3' : 'RESP2';
    it(`errors (${proto})`, () => d.expectSame(script(ERRORS), { resp3 }));
    it(`flags, redirect and prefixes as the mode changes (${proto})`, () => d.expectSame(script(STATES), { resp3 }));
  }

  it('the flags set is unordered-equal as Redis lists it, and RESET turns tracking off', () =>
    d.expectSame(
      script(`
        CLIENT TRACKING on BCAST PREFIX x PREFIX y
        RESET
        CLIENT TRACKINGINFO
        CLIENT GETREDIR
      `),
      { resp3: true },
    ));
});

/**
 * The BCAST client's invalidation of `n` keys written by one command. Redis sends one push per
 * event-loop turn; shardis may split one MSET's keys over two pushes when the keys' invalidations
 * reach the client's thread in two turns (the keys are the same): merged here into one push.
 */
async function bcastPush(bc: RawClient, n: number): Promise<string> {
  const first = await bc.read();
  if (first.t !== 'push' || first.v[1]?.t !== 'array' || first.v[1].v === null || first.v[1].v.length >= n) return canon(first);
  const keys: Reply[] = [...first.v[1].v];
  while (keys.length < n) {
    const next = await bc.read();
    if (next.t !== 'push' || next.v[1]?.t !== 'array' || next.v[1].v === null) return `${canon(first)} then ${canon(next)}`;
    keys.push(...next.v[1].v);
  }
  return canon({ t: 'push', v: [first.v[0], { t: 'array', v: keys }] });
}

describe('invalidation messages are the same bytes as redis-server sends', () => {
  /** One scenario on a server; returns everything the subscriber and the RESP3 client received. */
  async function scenario(port: number): Promise<string[]> {
    const sub = await RawClient.connect(port);
    const tracker = await RawClient.connect(port);
    const r3 = await RawClient.connect(port);
    const bc = await RawClient.connect(port);
    const w = await RawClient.connect(port);
    const out: string[] = [];
    try {
      await w.call('FLUSHALL');
      const id = await sub.call('CLIENT', 'ID');
      await sub.call('SUBSCRIBE', '__redis__:invalidate');
      out.push(show(await tracker.call('CLIENT', 'TRACKING', 'on', 'REDIRECT', String(id.t === 'int' ? id.v : 0))));
      await r3.call('HELLO', '3');
      out.push(show(await r3.call('CLIENT', 'TRACKING', 'on')));
      await bc.call('HELLO', '3');
      out.push(show(await bc.call('CLIENT', 'TRACKING', 'on', 'BCAST', 'PREFIX', 'k:')));
      await w.call('MSET', 'k:1', 'a', 'k:2', 'b');
      out.push(await bcastPush(bc, 2));
      for (const c of [tracker, r3]) await c.call('MGET', 'k:1', 'k:2');
      await w.call('DEL', 'k:1');
      out.push(canon(await sub.read()), canon(await r3.read()), canon(await bc.read()));
      await w.call('FLUSHALL');
      out.push(canon(await sub.read()), canon(await r3.read()), canon(await bc.read()));
    } finally {
      for (const c of [sub, tracker, r3, bc, w]) await c.close();
    }
    return out;
  }

  it('RESP2 redirect messages, RESP3 pushes, BCAST arrays, FLUSHALL nil', async () => {
    const theirs = await scenario(d.redis.port);
    const ours = await scenario(d.shardis.port);
    expect(ours.join('\n')).toBe(theirs.join('\n'));
  });
});

// MULTI/EXEC/DISCARD/WATCH/UNWATCH on one connection, compared with redis-server reply by reply.
import { describe, it, beforeAll, afterAll } from 'vitest';
import { startPair, type Pair } from '../helpers/diff';

let d: Pair;
beforeAll(async () => {
  d = await startPair({ threads: 2 });
});
afterAll(async () => {
  await d?.stop();
});

describe('transactions match redis-server', () => {
  it('queues and executes, replies in order', async () => {
    await d.expectSame([
      ['MULTI'],
      ['SET', 'a', '1'],
      ['INCR', 'a'],
      ['GET', 'a'],
      ['MSET', 'b', '2', 'c', '3'],
      ['MGET', 'a', 'b', 'c'],
      ['EXEC'],
      ['GET', 'a'],
    ]);
  });

  it('gives Redis errors for misuse', async () => {
    await d.expectSame([
      ['EXEC'],
      ['DISCARD'],
      ['MULTI'],
      ['MULTI'],
      ['WATCH', 'x'],
      ['DISCARD'],
      ['MULTI', 'extra'],
      ['EXEC', 'extra'],
      ['WATCH'],
      ['UNWATCH', 'x'],
    ]);
  });

  it('aborts EXEC after a queueing error (EXECABORT)', async () => {
    await d.expectSame([
      ['MULTI'],
      ['SET', 'k', 'v'],
      ['NOSUCHCOMMAND', 'x'],
      ['GET'],
      ['EXEC'],
      ['EXISTS', 'k'],
    ]);
  });

  it('does not roll back on runtime errors inside EXEC', async () => {
    await d.expectSame([
      ['SET', 's', 'notanumber'],
      ['MULTI'],
      ['INCR', 's'],
      ['SET', 't', '1'],
      ['LPUSH', 's', 'x'],
      ['INCR', 't'],
      ['EXEC'],
      ['GET', 't'],
    ]);
  });

  it('DISCARD drops the queue and the watches', async () => {
    await d.expectSame([
      ['WATCH', 'w'],
      ['MULTI'],
      ['SET', 'w', '1'],
      ['DISCARD'],
      ['EXISTS', 'w'],
      ['MULTI'],
      ['SET', 'w', '2'],
      ['EXEC'],
      ['GET', 'w'],
    ]);
  });

  it('WATCH of a key changed by this same connection fails the EXEC', async () => {
    await d.expectSame([
      ['SET', 'w', '1'],
      ['WATCH', 'w'],
      ['SET', 'w', '2'],
      ['MULTI'],
      ['SET', 'w', '3'],
      ['EXEC'],
      ['GET', 'w'],
      ['WATCH', 'w'],
      ['UNWATCH'],
      ['SET', 'w', '4'],
      ['MULTI'],
      ['GET', 'w'],
      ['EXEC'],
    ]);
  });

  it('WATCH sees FLUSHDB, DEL, EXPIRE and an expired key', async () => {
    await d.expectSame([
      ['SET', 'f', '1'],
      ['WATCH', 'f'],
      ['FLUSHDB'],
      ['MULTI'],
      ['PING'],
      ['EXEC'],
      ['SET', 'g', '1'],
      ['WATCH', 'g'],
      ['DEL', 'g'],
      ['MULTI'],
      ['PING'],
      ['EXEC'],
      ['SET', 'h', '1'],
      ['WATCH', 'h'],
      ['EXPIRE', 'h', '100'],
      ['MULTI'],
      ['PING'],
      ['EXEC'],
      ['SET', 'x', '1', 'PX', '30'],
      ['WATCH', 'x'],
      { sleep: 80 },
      ['MULTI'],
      ['PING'],
      ['EXEC'],
    ]);
  });

  it('WATCH of a missing key that stays missing lets EXEC run', async () => {
    await d.expectSame([
      ['WATCH', 'nokey'],
      ['SET', 'other', '1'],
      ['MULTI'],
      ['GET', 'nokey'],
      ['EXEC'],
    ]);
  });

  it('works in RESP3 too (null reply on abort)', async () => {
    await d.expectSame(
      [
        ['SET', 'r', '1'],
        ['WATCH', 'r'],
        ['SET', 'r', '2'],
        ['MULTI'],
        ['GET', 'r'],
        ['EXEC'],
        ['MULTI'],
        ['GET', 'r'],
        ['GET', 'missing'],
        ['EXEC'],
      ],
      { resp3: true },
    );
  });
});

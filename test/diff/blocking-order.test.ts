// A blocked client is served right after the command that made its key ready, before the
// pushing client's next command, exactly as redis-server does.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startPair, type Pair } from '../helpers/diff';
import { RawClient, show } from '../helpers/resp';

let d: Pair;
beforeAll(async () => {
  d = await startPair({ threads: 2 });
});
afterAll(async () => {
  await d?.stop();
});

async function waitBlocked(c: RawClient, n: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const info = show(await c.call('INFO', 'clients'));
    if (new RegExp(`blocked_clients:${n}\\b`).test(info)) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('client never blocked');
}

describe('wake-up order matches redis-server', () => {
  it('BLPOP is served before the pusher pipelines its next command', async () => {
    const r = await d.each(async (pusher, _side, port) => {
      const waiter = await RawClient.connect(port);
      waiter.send('BLPOP', 'q', '5');
      await waitBlocked(pusher, 1);
      pusher.send('RPUSH', 'q', 'a');
      pusher.send('LPOP', 'q');
      pusher.send('LLEN', 'q');
      const out = [show(await pusher.read()), show(await pusher.read()), show(await pusher.read()), show(await waiter.read())];
      await waiter.close();
      return out;
    });
    expect(r.shardis).toEqual(r.redis);
  });

  it('a BRPOPLPUSH served by a push invalidates a WATCH on its destination', async () => {
    const r = await d.each(async (c, _side, port) => {
      const waiter = await RawClient.connect(port);
      const watcher = await RawClient.connect(port);
      await watcher.call('WATCH', 'dst');
      waiter.send('BRPOPLPUSH', 'src', 'dst', '5');
      await waitBlocked(c, 1);
      const out = [show(await c.call('LPUSH', 'src', 'x'))];
      out.push(show(await waiter.read()));
      await watcher.call('MULTI');
      await watcher.call('PING');
      out.push(show(await watcher.call('EXEC')));
      out.push(show(await c.call('LRANGE', 'dst', '0', '-1')));
      await waiter.close();
      await watcher.close();
      return out;
    });
    expect(r.shardis).toEqual(r.redis);
  });
});

// A peer's behaviour never stops the server: connections reset (SO_LINGER 0 -> RST) right after
// connect, while refused at maxclients, mid-pipeline and with replies still queued are all
// survived, and the server keeps serving on every thread.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as net from 'node:net';
import { startShardis, type Server } from '../helpers/server';
import { RawClient } from '../helpers/resp';

let srv: Server;
beforeAll(async () => {
  srv = await startShardis({ threads: 2, args: ['--save', '', '--appendonly', 'no', '--maxclients', '3'] });
});
afterAll(async () => {
  await srv?.stop();
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Open n connections; once each is connected (and after `before` ran on it), reset it. */
async function resetStorm(n: number, before: (s: net.Socket) => Promise<void> | void): Promise<void> {
  const one = (): Promise<void> =>
    new Promise<void>((resolve) => {
      const s = net.connect(srv.port, '127.0.0.1');
      s.on('error', () => resolve());
      s.on('close', () => resolve());
      s.once('connect', async () => {
        await before(s);
        s.resetAndDestroy();
      });
    });
  await Promise.all(Array.from({ length: n }, one));
}

async function pingOnFreshConnections(k: number): Promise<void> {
  // Several connections so both worker threads (round-robin accept) are probed. The reset
  // clients are released asynchronously: a refusal at maxclients is retried for a while.
  for (let i = 0; i < k; i++) {
    for (let tries = 0; ; tries++) {
      const c = await RawClient.connect(srv.port);
      const r = await c.call('PING');
      await c.close();
      if (r.t === 'error' && String(r.v).includes('max number of clients') && tries < 50) {
        await new Promise((res) => setTimeout(res, 100));
        continue;
      }
      expect(r).toEqual({ t: 'simple', v: 'PONG' });
      break;
    }
  }
}

describe('peer resets', () => {
  it('survives 10 connections reset at maxclients 3 (accepted and refused ones)', async () => {
    for (let round = 0; round < 3; round++) {
      await resetStorm(10, () => new Promise((r) => setTimeout(r, 20)));
      await resetStorm(10, () => undefined);
    }
    await new Promise((r) => setTimeout(r, 200));
    expect(alive(srv.pid)).toBe(true);
    await pingOnFreshConnections(4);
  });

  it('survives resets with a pipeline in flight and replies queued', async () => {
    const setup = await RawClient.connect(srv.port);
    expect((await setup.call('SET', 'big', 'x'.repeat(1 << 20))).t).toBe('simple');
    await setup.close();
    const gets = Buffer.from('*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n'.repeat(50));
    await resetStorm(3, (s) => new Promise((r) => s.write(gets, () => setTimeout(r, 30))));
    await resetStorm(3, (s) => new Promise((r) => s.write('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10\r\nhalf', () => r())));
    await new Promise((r) => setTimeout(r, 200));
    expect(alive(srv.pid)).toBe(true);
    await pingOnFreshConnections(4);
  });
});

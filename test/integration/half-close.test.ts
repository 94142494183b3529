// A peer that sends its commands and then closes its side (shutdown(SHUT_WR), `nc -N`, a script
// writing a file of commands) gets every reply, as from redis-server, and the client is gone at
// once: its subscriptions and blocked waits end with the read that sees the end.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as net from 'node:net';
import { startShardis, type Server } from '../helpers/server';
import { RawClient, text } from '../helpers/resp';

let srv: Server;
beforeAll(async () => {
  srv = await startShardis({ threads: 2, args: ['--save', '', '--appendonly', 'no'] });
});
afterAll(async () => {
  await srv?.stop();
});

/** A raw connection, with what it has received so far and its close. */
interface Conn { s: net.Socket; got: () => string; closed: Promise<void> }

function rawConnect(port: number): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    s.on('data', (d: Buffer) => (got += d.toString('latin1')));
    const closed = new Promise<void>((r) => s.on('close', () => r()));
    s.once('error', reject);
    s.once('connect', () => resolve({ s, got: () => got, closed }));
  });
}

/** The worker thread serving a raw connection (INFO threads), its reply consumed. */
async function rawThreadOf(c: Conn): Promise<string> {
  const start = c.got().length;
  c.s.write('*2\r\n$4\r\nINFO\r\n$7\r\nthreads\r\n');
  for (let i = 0; i < 400; i++) {
    const b = c.got().slice(start);
    const m = /^\$(\d+)\r\n/.exec(b);
    if (m !== null && b.length >= m[0].length + Number(m[1]) + 2) return /this_thread:(\d+)/.exec(b)?.[1] ?? '?';
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error('no INFO reply');
}

async function threadOf(c: RawClient): Promise<string> {
  return /this_thread:(\d+)/.exec(text(await c.call('INFO', 'threads')))?.[1] ?? '?';
}

async function waitBlocked(ctl: RawClient, n: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (text(await ctl.call('INFO', 'clients')).includes(`blocked_clients:${n}\r\n`)) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`blocked_clients never reached ${n}`);
}

describe('half-closed connections', () => {
  it('a pipeline whose push wakes a client on another thread gets all its replies', async () => {
    const ctl = await RawClient.connect(srv.port);
    for (let i = 0; i < 20; i++) {
      const waiter = await RawClient.connect(srv.port);
      const wt = await threadOf(waiter);
      waiter.send('BLPOP', 'hc:list', '0');
      await waitBlocked(ctl, 1);
      // The pusher is on the other thread: its LPUSH waits for that thread to serve the waiter,
      // and the end of its input arrives meanwhile.
      let pusher = await rawConnect(srv.port);
      for (let k = 0; (await rawThreadOf(pusher)) === wt; k++) {
        expect(k).toBeLessThan(20);
        pusher.s.destroy();
        pusher = await rawConnect(srv.port);
      }
      const before = pusher.got().length;
      pusher.s.end('LPUSH hc:list a\r\nSET hc:k 1\r\nGET hc:k\r\nINCR hc:n\r\nDEL hc:k\r\n');
      await pusher.closed;
      expect(pusher.got().slice(before), `round ${i}`).toBe(`:1\r\n+OK\r\n$1\r\n1\r\n:${i + 1}\r\n:1\r\n`);
      expect(await waiter.read()).toEqual({ t: 'array', v: [{ t: 'bulk', v: Buffer.from('hc:list') }, { t: 'bulk', v: Buffer.from('a') }] });
      await waiter.close();
    }
    await ctl.close();
  });

  it('a subscriber that ends its side is gone once the server has closed it', async () => {
    const ctl = await RawClient.connect(srv.port);
    for (let i = 0; i < 10; i++) {
      const sub = await rawConnect(srv.port);
      sub.s.end('SUBSCRIBE hc:chan\r\n');
      await sub.closed;
      expect(sub.got()).toBe('*3\r\n$9\r\nsubscribe\r\n$7\r\nhc:chan\r\n:1\r\n');
      expect(text(await ctl.call('PUBLISH', 'hc:chan', 'm'))).toBe('0');
    }
    await ctl.close();
  });

  it('a blocked client that ends its side is freed: the next push stays in the list', async () => {
    const ctl = await RawClient.connect(srv.port);
    await ctl.call('DEL', 'hc:q');
    const s = net.connect(srv.port, '127.0.0.1');
    await new Promise((r) => s.once('connect', r));
    s.write('BLPOP hc:q 0\r\n');
    await waitBlocked(ctl, 1);
    const closed = new Promise((r) => s.once('close', r));
    s.end();
    await closed;
    await waitBlocked(ctl, 0);
    expect(text(await ctl.call('RPUSH', 'hc:q', 'x'))).toBe('1');
    expect(text(await ctl.call('LLEN', 'hc:q'))).toBe('1');
    await ctl.close();
  });

  it('a client that ends its side with a big unfinished command gives its memory back at once', async () => {
    const ctl = await RawClient.connect(srv.port);
    // Client shares follow clients live with maxmemory set; the cron's recount once a second only.
    await ctl.call('CONFIG', 'SET', 'maxmemory', '1gb');
    await ctl.call('CONFIG', 'SET', 'hz', '1');
    const clientsMem = async (): Promise<number> => Number(/mem_clients_normal:(\d+)/.exec(text(await ctl.call('INFO', 'memory')))?.[1]);
    try {
      for (let round = 0; round < 3; round++) {
        const c = await rawConnect(srv.port);
        c.s.write(`*3\r\n$3\r\nSET\r\n$2\r\nhk\r\n$2000000\r\n${'x'.repeat(800_000)}`);
        let held = 0;
        for (let i = 0; i < 200 && held < 700_000; i++) {
          held = await clientsMem();
          if (held < 700_000) await new Promise((r) => setTimeout(r, 5));
        }
        expect(held).toBeGreaterThanOrEqual(700_000);
        c.s.end();
        await c.closed;
        expect(await clientsMem(), `round ${round}`).toBeLessThan(100_000);
      }
    } finally {
      await ctl.call('CONFIG', 'SET', 'hz', '10');
      await ctl.call('CONFIG', 'SET', 'maxmemory', '0');
      await ctl.close();
    }
  });
});

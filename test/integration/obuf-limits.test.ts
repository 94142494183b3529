// client-output-buffer-limit (normal and pubsub classes) enforced while replies are produced, as in
// Redis 7.0: a client over its hard limit is closed without any of its pending output, a command
// that could write without end stops, a transaction still runs completely, a client that never
// reads is closed (the socket's queue counts), the soft limit closes after its seconds even with
// no traffic. Big replies stream out while produced, with no limit. Each scenario whose outcome
// a client sees runs against redis-server too, so the expectations are Redis's.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as net from 'node:net';
import Redis from 'ioredis';
import { startRedis, startShardis, type Server } from '../helpers/server';
import { RawClient, encodeCommand, type Reply } from '../helpers/resp';

let redis: Server;
let shardis: Server;
beforeAll(async () => {
  [redis, shardis] = await Promise.all([startRedis(), startShardis({ threads: 2 })]);
});
afterAll(async () => {
  const res = await Promise.allSettled([redis?.stop(), shardis?.stop()]);
  for (const r of res) if (r.status === 'rejected') throw r.reason;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const both = (): Array<[string, Server]> => [['redis', redis], ['shardis', shardis]];

const cmd = (port: number, ...args: string[]): Promise<Reply> => RawClient.once(port, ...args);

function text(r: Reply): string {
  if (r.t === 'bulk') return r.v === null ? '' : r.v.toString();
  return String((r as { v: unknown }).v);
}

async function clientList(port: number): Promise<string> {
  return text(await cmd(port, 'CLIENT', 'LIST'));
}

/** Wait until no client named `name` is listed (the server closed it); throws after ~10 s. */
async function waitGone(port: number, name: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (!(await clientList(port)).includes(`name=${name} `)) return;
    await sleep(50);
  }
  throw new Error(`client ${name} was never closed`);
}

/** Raw socket that reads everything it gets (or nothing, when paused). */
async function rawSocket(port: number): Promise<{ s: net.Socket; got: () => Buffer; closed: Promise<void> }> {
  const s = net.connect(port, '127.0.0.1');
  await new Promise((r) => s.once('connect', r));
  const chunks: Buffer[] = [];
  s.on('data', (d) => chunks.push(d));
  s.on('error', () => undefined);
  const closed = new Promise<void>((r) => s.once('close', () => r()));
  return { s, got: () => Buffer.concat(chunks), closed };
}

describe('normal class hard limit', () => {
  it('HRANDFIELD with a huge count is stopped mid-run and its client closed', async () => {
    for (const [side, srv] of both()) {
      expect(text(await cmd(srv.port, 'CONFIG', 'SET', 'client-output-buffer-limit', 'normal 1000000 0 0')), side).toBe('OK');
      await cmd(srv.port, 'HSET', 'myhash', 'a', 'b');
      for (const args of [['myhash', '-999999999'], ['myhash', '-6000000000', 'WITHVALUES']]) {
        const c = await rawSocket(srv.port);
        c.s.write(encodeCommand(['HRANDFIELD', ...args]));
        await c.closed;
        // Over the limit before anything is sent: the client gets nothing.
        expect(c.got().length, `${side} HRANDFIELD ${args.join(' ')}`).toBe(0);
      }
      expect(text(await cmd(srv.port, 'PING')), side).toBe('PONG');
      await cmd(srv.port, 'CONFIG', 'SET', 'client-output-buffer-limit', 'normal 0 0 0');
    }
  });

  it('KEYS is stopped mid-run', async () => {
    for (const [side, srv] of both()) {
      const c = await RawClient.connect(srv.port);
      const prefix = 'long-key-name-prefix-of-100-chars-'.padEnd(100, '-');
      for (let i = 0; i < 1000; i++) c.send('SET', `${prefix}${i}`, 'v');
      for (let i = 0; i < 1000; i++) await c.read();
      await c.close();
      await cmd(srv.port, 'CONFIG', 'SET', 'client-output-buffer-limit', 'normal 100000 0 0');
      const k = await rawSocket(srv.port);
      k.s.write(encodeCommand(['KEYS', '*']));
      await k.closed;
      expect(k.got().length, side).toBe(0);
      await cmd(srv.port, 'CONFIG', 'SET', 'client-output-buffer-limit', 'normal 0 0 0');
      await cmd(srv.port, 'FLUSHALL');
    }
  });

  it('no response for a single command over the limit; pipelined replies are dropped together', async () => {
    for (const [side, srv] of both()) {
      await cmd(srv.port, 'CONFIG', 'SET', 'client-output-buffer-limit', 'normal 100000 0 0');
      const c = await RawClient.connect(srv.port);
      for (let i = 0; i < 150; i++) c.send('LPUSH', 'mylist', 'x'.repeat(1000));
      for (let i = 0; i < 150; i++) await c.read();
      await c.call('SET', 'bigkey', 'x'.repeat(10000));
      await c.close();
      const one = await rawSocket(srv.port);
      one.s.write(encodeCommand(['CLIENT', 'SETNAME', 'mybiglist']));
      one.s.write(encodeCommand(['LRANGE', 'mylist', '0', '-1']));
      await one.closed;
      // CLIENT SETNAME's +OK may have gone out before the LRANGE was read; nothing of LRANGE did.
      expect(one.got().toString(), side).toMatch(/^(\+OK\r\n)?$/);
      let pipeline = '';
      for (let i = 0; i < 15; i++) pipeline += `set ${i} ${i}\r\nget ${i}\r\ndel ${i}\r\nget bigkey\r\n`;
      const many = await rawSocket(srv.port);
      many.s.write(pipeline);
      await many.closed;
      expect(many.got().length, side).toBe(0);
      expect(text(await cmd(srv.port, 'PING')), side).toBe('PONG');
      await cmd(srv.port, 'CONFIG', 'SET', 'client-output-buffer-limit', 'normal 0 0 0');
      await cmd(srv.port, 'FLUSHALL');
    }
  });

  it('a transaction runs completely even when its client is closed for its output', async () => {
    for (const [side, srv] of both()) {
      await cmd(srv.port, 'CONFIG', 'SET', 'client-output-buffer-limit', 'normal 100000 0 0');
      const c = await RawClient.connect(srv.port);
      for (let i = 0; i < 150; i++) c.send('LPUSH', 'mylist2', 'x'.repeat(1000));
      for (let i = 0; i < 150; i++) await c.read();
      await c.call('SET', 'k1', 'v1');
      await c.call('MULTI');
      for (const q of [['SET', 'k2', 'v2'], ['GET', 'k2'], ['LRANGE', 'mylist2', '0', '-1'], ['SET', 'k3', 'v3'], ['DEL', 'k1']]) {
        expect((await c.call(...q)).t).toBe('simple');
      }
      c.send('EXEC');
      await expect(c.read()).rejects.toThrow(/closed/);
      expect(text(await cmd(srv.port, 'GET', 'k1')), side).toBe('');
      expect(text(await cmd(srv.port, 'GET', 'k2')), side).toBe('v2');
      expect(text(await cmd(srv.port, 'GET', 'k3')), side).toBe('v3');
      await cmd(srv.port, 'CONFIG', 'SET', 'client-output-buffer-limit', 'normal 0 0 0');
      await cmd(srv.port, 'FLUSHALL');
    }
  });

  it('a client that never reads is closed at the hard limit (what its socket holds counts)', async () => {
    for (const [side, srv] of both()) {
      await cmd(srv.port, 'SET', 'v100k', 'x'.repeat(100_000));
      await cmd(srv.port, 'CONFIG', 'SET', 'client-output-buffer-limit', 'normal 10mb 0 0');
      const c = await rawSocket(srv.port);
      c.s.pause();
      c.s.write(encodeCommand(['CLIENT', 'SETNAME', 'noreader']));
      // Far more than the kernel's socket buffers take: the rest waits in the server.
      const get = encodeCommand(['GET', 'v100k']);
      for (let i = 0; i < 100; i++) {
        c.s.write(Buffer.concat(Array.from({ length: 10 }, () => get)));
        await sleep(5);
        if (c.s.destroyed || c.s.readableEnded) break;
      }
      await waitGone(srv.port, 'noreader');
      c.s.destroy();
      await cmd(srv.port, 'CONFIG', 'SET', 'client-output-buffer-limit', 'normal 0 0 0');
      await cmd(srv.port, 'DEL', 'v100k');
    }
  });
});

describe('soft limits', () => {
  it('a normal client over the soft limit is closed after its seconds, with no more traffic', async () => {
    for (const [side, srv] of both()) {
      await cmd(srv.port, 'SET', 'v1m', 'x'.repeat(1_000_000));
      await cmd(srv.port, 'CONFIG', 'SET', 'client-output-buffer-limit', 'normal 0 1000000 1');
      const c = await rawSocket(srv.port);
      c.s.pause();
      c.s.write(encodeCommand(['CLIENT', 'SETNAME', 'softy']));
      const get = encodeCommand(['GET', 'v1m']);
      c.s.write(Buffer.concat(Array.from({ length: 30 }, () => get)));
      // The client stays connected past the first check, then the cron closes it.
      await waitGone(srv.port, 'softy');
      c.s.destroy();
      await cmd(srv.port, 'CONFIG', 'SET', 'client-output-buffer-limit', 'normal 0 0 0');
      await cmd(srv.port, 'DEL', 'v1m');
      void side;
    }
  });

  it('a pubsub subscriber that stops reading is closed by the soft limit when publishing stops', async () => {
    for (const [side, srv] of both()) {
      await cmd(srv.port, 'CONFIG', 'SET', 'client-output-buffer-limit', 'pubsub 0 100000 1');
      const sub = await rawSocket(srv.port);
      sub.s.write(encodeCommand(['CLIENT', 'SETNAME', 'slowsub']));
      sub.s.write(encodeCommand(['SUBSCRIBE', 'foo']));
      for (let i = 0; i < 100 && !sub.got().toString().includes('subscribe'); i++) await sleep(20);
      sub.s.pause();
      const pub = await RawClient.connect(srv.port);
      const msg = 'x'.repeat(10_000);
      // Enough to fill the kernel buffers and pass the soft limit, then silence.
      for (let i = 0; i < 1500; i++) pub.send('PUBLISH', 'foo', msg);
      for (let i = 0; i < 1500; i++) await pub.read();
      await pub.close();
      await waitGone(srv.port, 'slowsub');
      sub.s.destroy();
      await cmd(srv.port, 'CONFIG', 'SET', 'client-output-buffer-limit', 'pubsub 32mb 8mb 60');
      void side;
    }
  });
});

describe('unauthenticated clients', () => {
  it('one that sends without ever reading cannot make the server buffer without limit', async () => {
    const srv = shardis;
    expect(text(await cmd(srv.port, 'CONFIG', 'SET', 'requirepass', 'secret'))).toBe('OK');
    try {
      const c = await rawSocket(srv.port);
      c.s.pause();
      // 34-byte NOAUTH errors for 6-byte PINGs: ~90 MB of replies if nothing stopped it.
      const chunk = Buffer.from('PING\r\n'.repeat(10_000));
      for (let i = 0; i < 300 && !c.s.destroyed; i++) {
        const ok = c.s.write(chunk);
        if (!ok) await Promise.race([new Promise((r) => c.s.once('drain', r)), c.closed, sleep(200)]);
      }
      const done = await Promise.race([c.closed.then(() => 'closed'), sleep(10_000).then(() => 'open')]);
      expect(done).toBe('closed');
      c.s.destroy();
    } finally {
      const a = await RawClient.connect(srv.port);
      await a.call('AUTH', 'secret');
      await a.call('CONFIG', 'SET', 'requirepass', '');
      await a.close();
    }
  });
});

describe('big replies with no limit stream out whole', () => {
  it('a 10 MB LRANGE reply and a 10 MB ZRANGEBYSCORE LIMIT reply (deferred length) arrive intact', async () => {
    const r = new Redis(shardis.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0 });
    await r.connect();
    try {
      const n = 1000;
      const val = (i: number) => `${i}:`.padEnd(10_000, String.fromCharCode(97 + (i % 26)));
      const p = r.pipeline();
      for (let i = 0; i < n; i++) p.rpush('biglist', val(i)).zadd('bigz', i, val(i));
      await p.exec();
      const lists = [await r.lrange('biglist', 0, -1), await r.zrangebyscore('bigz', '-inf', '+inf', 'LIMIT', 0, -1)];
      for (const got of lists) {
        expect(got.length).toBe(n);
        for (let i = 0; i < n; i++) if (got[i] !== val(i)) throw new Error(`element ${i} differs`);
      }
      // The connection is still in step.
      expect(await r.ping()).toBe('PONG');
      await r.del('biglist', 'bigz');
    } finally {
      r.disconnect();
    }
  }, 60_000);
});

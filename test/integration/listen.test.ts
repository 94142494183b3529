// CONFIG SET port / bind rebind the listeners of every thread, as Redis 7.0's changeListenPort /
// changeBindAddr, and roll the whole CONFIG SET back when the new ones cannot be bound; `bind ""`
// listens on no TCP address. Error texts compared with redis-server's.
import { afterAll, describe, expect, it } from 'vitest';
import * as net from 'node:net';
import { freePort, startRedis, startShardis, type Server } from '../helpers/server';
import { RawClient, show, text } from '../helpers/resp';
import { connectOnThreads } from '../helpers/threads';

const servers: Server[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

async function call(port: number, ...args: string[]): Promise<string> {
  const c = await RawClient.connect(port);
  try {
    return show(await c.call(...args));
  } finally {
    c.close();
  }
}

/** A port held by another listener for the test's length. */
async function occupied(): Promise<[number, net.Server]> {
  const holder = net.createServer();
  await new Promise<void>((resolve) => holder.listen(0, '::', () => resolve()));
  return [(holder.address() as net.AddressInfo).port, holder];
}

describe('CONFIG SET port / bind', () => {
  it('moves every thread to the new port; the old one is closed', async () => {
    const s = await startShardis({ threads: 2 });
    servers.push(s);
    const old = s.port;
    const next = await freePort();
    expect(await call(old, 'CONFIG', 'SET', 'port', String(next))).toBe(show({ t: 'simple', v: 'OK' }));
    expect(await refused(old)).toBe(true);
    // Both threads accept on the new port (each has its own descriptor of the new socket).
    const { all } = await connectOnThreads(next, [2, 2]);
    for (const c of all) expect(text(await c.call('PING'))).toBe('PONG');
    for (const c of all) c.close();
    expect(await call(next, 'CONFIG', 'GET', 'port')).toBe(show({ t: 'array', v: [{ t: 'bulk', v: Buffer.from('port') }, { t: 'bulk', v: Buffer.from(String(next)) }] }));
    expect(await call(next, 'INFO', 'server')).toContain(`tcp_port:${next}`);
    // Back, so that stop() finds it.
    expect(text(await (await RawClient.connect(next)).call('CONFIG', 'SET', 'port', String(old)))).toBe('OK');
    expect(await call(old, 'PING')).toContain('PONG');
  });

  it('a port in use fails with Redis 7.0 text, rolls back every pair, and keeps listening', async () => {
    const [s, r] = await Promise.all([startShardis({ threads: 2 }), startRedis()]);
    servers.push(s, r);
    const [busy, holder] = await occupied();
    try {
      const a = await call(s.port, 'CONFIG', 'SET', 'maxmemory', '10mb', 'port', String(busy));
      const b = await call(r.port, 'CONFIG', 'SET', 'maxmemory', '10mb', 'port', String(busy));
      expect(a).toBe(b);
      expect(a).toContain('Unable to listen on this port');
      for (const srv of [s, r]) {
        expect(await call(srv.port, 'PING')).toContain('PONG');
        expect(await call(srv.port, 'CONFIG', 'GET', 'maxmemory')).toContain('"0"');
      }
      const { all } = await connectOnThreads(s.port, [1, 1]);
      for (const c of all) c.close();
    } finally {
      holder.close();
    }
  });

  it('bind: a bad address fails as redis-server, the old binding stays; bind "" listens nowhere', async () => {
    const [s, r] = await Promise.all([startShardis({ threads: 2 }), startRedis()]);
    servers.push(s, r);
    const before = await call(s.port, 'CONFIG', 'GET', 'bind');
    const a = await call(s.port, 'CONFIG', 'SET', 'bind', '999.999.999.999');
    expect(a).toBe(await call(r.port, 'CONFIG', 'SET', 'bind', '999.999.999.999'));
    expect(a).toContain('Failed to bind to specified addresses');
    expect(await call(s.port, 'CONFIG', 'GET', 'bind')).toBe(before);
    expect(await call(s.port, 'CONFIG', 'SET', 'bind', '127.0.0.1')).toContain('OK');
    expect(await call(s.port, 'PING')).toContain('PONG');
    // `bind ""`: the TCP listeners close; this connection stays, and brings them back.
    const keep = await RawClient.connect(s.port);
    expect(text(await keep.call('CONFIG', 'SET', 'bind', ''))).toBe('OK');
    expect(await refused(s.port)).toBe(true);
    expect(text(await keep.call('CONFIG', 'SET', 'bind', '* -::*'))).toBe('OK');
    keep.close();
    expect(await call(s.port, 'PING')).toContain('PONG');
  });
});

// maxclients: 10,000 concurrent connections are accepted (spread over the worker threads); the
// next one gets Redis's error and is closed, while the others keep working.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as net from 'node:net';
import { readFileSync } from 'node:fs';
import { startShardis, type Server } from '../helpers/server';
import { RawClient } from '../helpers/resp';

function openFilesLimit(): number {
  const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
  return m === null || m[1] === 'unlimited' ? Infinity : Number(m[1]);
}

// This process holds one end of every connection and the server the other: both need the fds.
// .ci/run raises the limit; on a machine with a low one the test proves the same at a smaller size.
const LIMIT = openFilesLimit();
const MAX = LIMIT >= 10100 ? 10000 : Math.max(50, Math.floor((LIMIT - 200) / 2));

let srv: Server;
const sockets: net.Socket[] = [];

beforeAll(async () => {
  srv = await startShardis({ threads: 2, args: ['--save', '', '--appendonly', 'no', '--maxclients', String(MAX)] });
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await srv?.stop();
});

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

describe(`maxclients ${MAX}${MAX < 10000 ? ` (open files limit ${LIMIT} here)` : ''}`, () => {
  it('accepts maxclients connections and refuses the next with the Redis error', async () => {
    const probe = await RawClient.connect(srv.port);
    // The probe counts as one client.
    for (let i = 0; i < MAX - 1; i += 250) {
      const batch = await Promise.all(Array.from({ length: Math.min(250, MAX - 1 - i) }, () => connect(srv.port)));
      sockets.push(...batch);
    }
    // Wait until the server has registered all of them.
    let connected = 0;
    for (let i = 0; i < 200; i++) {
      const info = (await probe.call('INFO', 'clients')) as { t: string; v: Buffer };
      connected = Number(/connected_clients:(\d+)/.exec(info.v.toString())?.[1] ?? 0);
      if (connected >= MAX) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(connected).toBe(MAX);
    const extra = await connect(srv.port);
    const reply = await new Promise<string>((resolve) => {
      let got = '';
      extra.on('data', (d) => (got += d.toString()));
      extra.on('close', () => resolve(got));
    });
    expect(reply).toBe('-ERR max number of clients reached\r\n');
    // Everyone else is still served: a sample of the accepted sockets answer PING.
    const sample = [sockets[0], sockets[Math.floor(sockets.length / 2)], sockets[sockets.length - 1]];
    for (const s of sample) {
      const pong = await new Promise<string>((resolve) => {
        s.once('data', (d) => resolve(d.toString()));
        s.write('PING\r\n');
      });
      expect(pong).toBe('+PONG\r\n');
    }
    expect((await probe.call('SET', 'still', 'ok')).t).toBe('simple');
    await probe.close();
  }, 120_000);
});

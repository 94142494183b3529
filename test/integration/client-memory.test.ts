// Connections' memory counts in used_memory (mem_clients_normal), and maxmemory-clients closes a
// client whose unread replies pass the limit (evicted_clients), as Redis 7.0's client eviction.
import { afterAll, describe, expect, it } from 'vitest';
import { startShardis, type Server } from '../helpers/server';
import { RawClient, text } from '../helpers/resp';

const servers: Server[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

async function field(c: RawClient, section: string, name: string): Promise<number> {
  return Number(new RegExp(`${name}:(\\d+)`).exec(text(await c.call('INFO', section)))?.[1]);
}

describe('client memory', () => {
  it('unread replies count in mem_clients_normal; maxmemory-clients evicts the client', async () => {
    const s = await startShardis({ threads: 2, args: ['--save', '', '--maxmemory-clients', '4mb'] });
    servers.push(s);
    const admin = await RawClient.connect(s.port);
    await admin.call('SET', 'big', Buffer.alloc(100_000, 120));
    const base = await field(admin, 'memory', 'mem_clients_normal');
    const hog = await RawClient.connect(s.port);
    hog.socket.pause(); // never reads
    let closed = false;
    hog.socket.on('close', () => (closed = true));
    for (let i = 0; i < 400 && !closed; i++) {
      hog.send('GET', 'big');
      if (i % 20 === 19) await new Promise((r) => setTimeout(r, 50));
    }
    for (let i = 0; i < 100 && (await field(admin, 'stats', 'evicted_clients')) === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await field(admin, 'stats', 'evicted_clients')).toBe(1);
    expect(await field(admin, 'memory', 'mem_clients_normal')).toBeLessThan(base + 1024 * 1024);
    expect(text(await admin.call('PING'))).toBe('PONG');
    await admin.close();
    hog.socket.destroy();
  }, 60_000);
});

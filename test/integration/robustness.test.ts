// Clients that misbehave: one that vanishes mid-pipeline loses nothing that was acknowledged;
// garbage from one client closes it while the others carry on with their data intact.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as net from 'node:net';
import { startShardis, type Server } from '../helpers/server';
import { RawClient } from '../helpers/resp';

let srv: Server;
beforeAll(async () => {
  srv = await startShardis({ threads: 2 });
});
afterAll(async () => {
  await srv?.stop();
});

describe('misbehaving clients', () => {
  it('keeps every acknowledged write of a client that vanishes mid-pipeline', async () => {
    const n = 5000;
    let pipeline = '';
    for (let i = 0; i < n; i++) pipeline += `*3\r\n$3\r\nSET\r\n$${`vanish:${i}`.length}\r\nvanish:${i}\r\n$1\r\n${i % 10}\r\n`;
    const s = net.connect(srv.port, '127.0.0.1');
    await new Promise((r) => s.once('connect', r));
    let acked = 0;
    await new Promise<void>((resolve) => {
      s.on('data', (d) => {
        acked += d.toString().split('+OK\r\n').length - 1;
        if (acked >= 1000) {
          s.destroy();
          resolve();
        }
      });
      s.write(pipeline);
    });
    const c = await RawClient.connect(srv.port);
    for (let i = 0; i < acked; i++) {
      const r = (await c.call('GET', `vanish:${i}`)) as { t: string; v: Buffer | null };
      if (r.v === null || r.v.toString() !== String(i % 10)) throw new Error(`acknowledged write vanish:${i} lost`);
    }
    const size = (await c.call('DBSIZE')) as { t: string; v: bigint };
    expect(Number(size.v)).toBeGreaterThanOrEqual(acked);
    await c.close();
  });

  it('closes a client sending garbage; a client mid-command elsewhere carries on', async () => {
    const good = await RawClient.connect(srv.port);
    expect((await good.call('SET', 'safe', 'value')).t).toBe('simple');
    // Half a command from the good client, then garbage from a bad one, then the rest.
    await good.writeRaw('*3\r\n$3\r\nSET\r\n$4\r\nsafe');
    const bad = await RawClient.connect(srv.port);
    await bad.writeRaw('*1\r\n+garbage\r\n');
    const err = await bad.read();
    expect(err).toEqual({ t: 'error', v: "ERR Protocol error: expected '$', got '+'" });
    await bad.closed();
    await good.writeRaw('\r\n$6\r\nvalue2\r\n');
    expect(await good.read()).toEqual({ t: 'simple', v: 'OK' });
    const v = (await good.call('GET', 'safe')) as { t: string; v: Buffer };
    expect(v.v.toString()).toBe('value2');
    await good.close();
  });

  it('answers errors and keeps the connection for bad arguments', async () => {
    const c = await RawClient.connect(srv.port);
    expect(await c.call('GET')).toEqual({ t: 'error', v: "ERR wrong number of arguments for 'get' command" });
    await c.call('SET', 'n', 'abc');
    expect(await c.call('INCR', 'n')).toEqual({ t: 'error', v: 'ERR value is not an integer or out of range' });
    await c.call('SET', 'n', '9223372036854775807');
    expect(await c.call('INCR', 'n')).toEqual({ t: 'error', v: 'ERR increment or decrement would overflow' });
    expect(await c.call('SELECT', '99')).toEqual({ t: 'error', v: 'ERR DB index is out of range' });
    expect(await c.call('PING')).toEqual({ t: 'simple', v: 'PONG' });
    await c.close();
  });
});

describe('a log file that cannot be written', () => {
  it('drops the line, never the server (its directory removed while it runs)', async () => {
    const fs = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shardis-logdir-'));
    const s = await startShardis({ threads: 2, args: ['--save', '', '--logfile', path.join(dir, 'log')] });
    const c = await RawClient.connect(s.port);
    try {
      fs.rmSync(dir, { recursive: true, force: true });
      // BGSAVE logs at its start and end (into a missing directory, and its file cannot be written either).
      await c.call('CONFIG', 'SET', 'dir', os.tmpdir());
      await c.call('CONFIG', 'SET', 'dbfilename', `shardis-logdir-${process.pid}.rdb`);
      await c.call('BGSAVE');
      await new Promise((r) => setTimeout(r, 300));
      expect(await c.call('PING')).toEqual({ t: 'simple', v: 'PONG' });
    } finally {
      await c.close();
      await s.stop();
      fs.rmSync(path.join(os.tmpdir(), `shardis-logdir-${process.pid}.rdb`), { force: true });
    }
  });
});

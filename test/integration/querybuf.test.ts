// Bounded input buffers, as Redis 7.0: client-query-buffer-limit closes a client whose unparsed
// input passes it, proto-max-bulk-len (CONFIG SET at run time) refuses bigger bulks, and before
// AUTH a client may send at most 10 arguments of at most 16 KiB. Big multibulks (kept as offsets
// until complete) arrive intact however they are cut, and an unfinished one with millions of
// arguments costs no more memory than redis-server spends on it.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as net from 'node:net';
import { readFileSync } from 'node:fs';
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

/** Write `parts` (pausing between them), collect what comes back until close or `ms` of quiet. */
async function exchange(port: number, parts: Buffer[], ms = 1500): Promise<{ out: string; closed: boolean }> {
  const s = net.connect(port, '127.0.0.1');
  await new Promise((r) => s.once('connect', r));
  let out = '';
  let closed = false;
  s.on('data', (d) => (out += d.toString('latin1')));
  s.on('error', () => undefined);
  const gone = new Promise<void>((r) => s.once('close', () => ((closed = true), r())));
  for (const p of parts) {
    if (closed) break;
    s.write(p);
    await sleep(10);
  }
  await Promise.race([gone, sleep(ms)]);
  s.destroy();
  return { out, closed };
}

async function sameOnBoth(parts: Buffer[], ms?: number): Promise<{ out: string; closed: boolean }> {
  const [r, s] = await Promise.all([exchange(redis.port, parts, ms), exchange(shardis.port, parts, ms)]);
  expect(s).toEqual(r);
  return r;
}

describe('client-query-buffer-limit', () => {
  it('closes a client whose unparsed input passes the limit (a bulk still arriving)', async () => {
    for (const [, srv] of both()) await cmd(srv.port, 'CONFIG', 'SET', 'client-query-buffer-limit', '1mb');
    try {
      const head = Buffer.from('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3000000\r\n');
      const body = Buffer.alloc(256 * 1024, 'x');
      const r = await sameOnBoth([head, ...Array.from({ length: 8 }, () => body)], 3000);
      expect(r.closed).toBe(true);
      // Below the limit nothing happens: a 900 KB value still goes through.
      for (const [side, srv] of both()) {
        const c = await RawClient.connect(srv.port);
        expect((await c.call('SET', 'k', 'y'.repeat(900_000))).t, side).toBe('simple');
        await c.close();
      }
    } finally {
      for (const [, srv] of both()) await cmd(srv.port, 'CONFIG', 'SET', 'client-query-buffer-limit', '1gb');
    }
  });
});

describe('CLIENT LIST qbuf', () => {
  // Decided: shardis parses straight from the socket's chunks and keeps only what an unfinished
  // command left, so an idle client holds no query buffer: qbuf=0 qbuf-free=0, as Redis 7.4 and
  // later show with their shared reusable query buffer. redis-server 7.0 keeps a 16 KB+ buffer
  // per client and frees it after 2 s idle (TCL unit/querybuf's two tests read that).
  it('qbuf counts unparsed bytes as redis-server does; qbuf-free is 0 except for a big bulk arriving', async () => {
    const phases = [
      Buffer.from('*3\r\n$6\r\nCLIENT\r\n$7\r\nSETNAME\r\n$2\r\ntc\r\n'),
      Buffer.from('*3\r\n$3\r\nset\r\n$2\r\na'),
      Buffer.from('a\r\n$1\r\nb\r\n'),
      Buffer.from('*3\r\n$3\r\nset\r\n$1\r\na\r\n$1000000\r\n'),
      Buffer.from('a'),
    ];
    const seen: Record<string, Array<[number, number]>> = {};
    for (const [side, srv] of both()) {
      const s = net.connect(srv.port, '127.0.0.1');
      await new Promise((r) => s.once('connect', r));
      const c = await RawClient.connect(srv.port);
      const got: Array<[number, number]> = [];
      for (const p of phases) {
        s.write(p);
        await sleep(100);
        const list = (await c.call('CLIENT', 'LIST')) as { v: Buffer };
        const line = list.v.toString().split('\n').find((l) => l.includes(' name=tc ')) as string;
        got.push([Number(/ qbuf=(\d+)/.exec(line)?.[1]), Number(/ qbuf-free=(\d+)/.exec(line)?.[1])]);
      }
      seen[side] = got;
      s.destroy();
      await c.close();
    }
    // Idle, a command cut after one byte of its last argument, idle again, a 1 MB bulk announced, its first byte.
    expect(seen.shardis.map((x) => x[0])).toEqual(seen.redis.map((x) => x[0]));
    expect(seen.shardis.map((x) => x[0])).toEqual([0, 1, 0, 0, 1]);
    expect(seen.shardis.slice(0, 3).map((x) => x[1])).toEqual([0, 0, 0]);
    expect(seen.redis[0][1]).toBeGreaterThanOrEqual(16384);
    // The big bulk is allocated whole when its length is read, by both.
    for (const side of ['redis', 'shardis']) expect(seen[side][3][0] + seen[side][3][1]).toBeGreaterThanOrEqual(1000000);
  });
});

describe('proto-max-bulk-len', () => {
  it('CONFIG SET applies to the next bulk header, with Redis error text', async () => {
    for (const [, srv] of both()) await cmd(srv.port, 'CONFIG', 'SET', 'proto-max-bulk-len', '1mb');
    try {
      const r = await sameOnBoth([Buffer.from('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1048577\r\n')]);
      expect(r).toEqual({ out: '-ERR Protocol error: invalid bulk length\r\n', closed: true });
      await sameOnBoth([Buffer.from('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1048576\r\n'), Buffer.alloc(1048576, 'z'), Buffer.from('\r\n')]);
    } finally {
      for (const [, srv] of both()) await cmd(srv.port, 'CONFIG', 'SET', 'proto-max-bulk-len', '512mb');
    }
  });
});

describe('unauthenticated clients', () => {
  it('may send at most 10 arguments of at most 16 KiB; after AUTH, anything', async () => {
    for (const [, srv] of both()) await cmd(srv.port, 'CONFIG', 'SET', 'requirepass', 'pw');
    try {
      let r = await sameOnBoth([encodeCommand(['PING', ...Array.from({ length: 9 }, () => 'a')])]);
      expect(r.out).toBe('-NOAUTH Authentication required.\r\n');
      r = await sameOnBoth([Buffer.from('*11\r\n')]);
      expect(r).toEqual({ out: '-ERR Protocol error: unauthenticated multibulk length\r\n', closed: true });
      r = await sameOnBoth([Buffer.from('*2\r\n$4\r\nPING\r\n$16385\r\n')]);
      expect(r).toEqual({ out: '-ERR Protocol error: unauthenticated bulk length\r\n', closed: true });
      await sameOnBoth([encodeCommand(['ECHO', 'x'.repeat(16384)])]);
      // Authenticated: the same requests are fine.
      await sameOnBoth([encodeCommand(['AUTH', 'pw']), encodeCommand(['ECHO', 'x'.repeat(16385)]), encodeCommand(['DEL', ...Array.from({ length: 11 }, (_, i) => `k${i}`)])]);
    } finally {
      for (const [, srv] of both()) {
        const c = await RawClient.connect(srv.port);
        await c.call('AUTH', 'pw');
        await c.call('CONFIG', 'SET', 'requirepass', '');
        await c.close();
      }
    }
  });
});

describe('big multibulks', () => {
  it('arrive intact however they are cut (many small arguments, some of 40 KB and more)', async () => {
    const n = 20_000;
    const vals: Buffer[] = [];
    for (let i = 0; i < n; i++) {
      const len = i % 997 === 0 ? 40_000 + (i % 5000) : i % 13;
      vals.push(Buffer.alloc(len, 97 + (i % 26)));
    }
    const req = encodeCommand(['RPUSH', 'bigmb', ...vals]);
    const c = await RawClient.connect(shardis.port);
    // Cut at odd places: headers, bulks and CRLFs split across writes.
    for (let p = 0, k = 1; p < req.length; k++) {
      const step = 1 + ((k * 7919) % 65_537);
      await c.writeRaw(req.subarray(p, p + step));
      p += step;
    }
    const r = await c.read();
    expect(r).toEqual({ t: 'int', v: BigInt(n) });
    const all = await c.call('LRANGE', 'bigmb', '0', '-1');
    if (all.t !== 'array' || all.v === null) throw new Error('LRANGE: not an array');
    expect(all.v.length).toBe(n);
    for (let i = 0; i < n; i++) {
      const e = all.v[i];
      if (e.t !== 'bulk' || e.v === null || !e.v.equals(vals[i])) throw new Error(`element ${i} differs`);
    }
    await c.call('DEL', 'bigmb');
    await c.close();
  }, 60_000);

  it('an unfinished multibulk of 4M arguments costs at most 1.5x what redis-server spends', async () => {
    const rss = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
    const n = 4_000_000;
    const growth = async (srv: Server): Promise<number> => {
      const s = net.connect(srv.port, '127.0.0.1');
      s.on('error', () => undefined);
      await new Promise((r) => s.once('connect', r));
      const before = rss(srv.pid);
      s.write(`*${n}\r\n`);
      const unit = Buffer.from('$1\r\nx\r\n'.repeat(100_000));
      // n - 100k arguments: the command stays unfinished.
      for (let sent = 0; sent + 100_000 < n; sent += 100_000) {
        if (!s.write(unit)) await new Promise((r) => s.once('drain', r));
      }
      // Until the server has parsed everything sent (its RSS stops growing).
      let last = -1;
      for (let i = 0; i < 100; i++) {
        await sleep(200);
        const now = rss(srv.pid);
        if (now === last) break;
        last = now;
      }
      s.destroy();
      return last - before;
    };
    const r = await growth(redis);
    const s = await growth(shardis);
    expect(r).toBeGreaterThan(50 * 1024 * 1024);
    expect(s).toBeLessThanOrEqual(1.5 * r);
  }, 120_000);
});

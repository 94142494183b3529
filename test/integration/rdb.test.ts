// RDB persistence, proven by round trips with a real redis-server and redis-check-rdb: shardis's
// file loads into redis-server with the same DEBUG DIGEST and encodings, redis-server's file loads
// into shardis, DUMP payloads go both ways, kill -9 after a save keeps the data, SHUTDOWN and
// SIGTERM save when they should, a save rule fires, a corrupt file stops start-up untouched, and
// a BGSAVE taken while transactions move value between keys is a consistent point in time.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import Redis from 'ioredis';
import { startRedis, startShardis, type Server } from '../helpers/server';
import { crc64 } from '../../src/persistence/crc64';
import { lzfCompress, lzfDecompress } from '../../src/persistence/lzf';
import { lenBytes } from '../../src/scripting/fdump';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function tmp(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

function client(port: number): Redis {
  return new Redis({ port, host: '127.0.0.1', lazyConnect: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
}

const REDIS_CHECK_RDB = process.env.REDIS_CHECK_RDB || 'redis-check-rdb';

function checkRdb(file: string): string {
  // Throws (non-zero exit) when redis-check-rdb rejects the file.
  return execFileSync(REDIS_CHECK_RDB, [file], { encoding: 'utf8' });
}

function shardisArgs(dir: string, extra: string[] = []): string[] {
  return ['--dir', dir, '--save', '', '--appendonly', 'no', '--enable-debug-command', 'yes', '--enable-protected-configs', 'yes', ...extra];
}

/** Every type in every encoding, TTLs, several dbs. */
async function populate(r: Redis): Promise<void> {
  await r.select(0);
  await r.set('str:embstr', 'hello');
  await r.set('str:int', '12345');
  await r.set('str:bigint', '9223372036854775807');
  await r.set('str:neg', '-70000');
  await r.set('str:raw', 'x'.repeat(200)); // LZF-compressible
  await r.set('str:rand', Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 7919) & 255)));
  await r.set('str:ttl', 'v', 'PX', 600000);
  await r.rpush('list:small', 'a', 'b', '1', '2', '-3', '100000', 'x'.repeat(70));
  for (let i = 0; i < 3; i++) await r.rpush('list:big', ...Array.from({ length: 500 }, (_, j) => `e${i}-${j}`));
  await r.sadd('set:intset', 1, 2, 3, -5, 1000000);
  await r.sadd('set:ht', 'a', 'b', 'c');
  await r.sadd('set:bigint', ...Array.from({ length: 600 }, (_, i) => i));
  await r.zadd('zset:lp', 1, 'a', 2.5, 'b', -3, 'c', 1e10, 'd');
  await r.zadd('zset:sl', ...Array.from({ length: 300 }, (_, i) => [i * 1.5, `m${i}`]).flat());
  await r.zadd('zset:inf', 'inf', 'p', '-inf', 'n');
  await r.hset('hash:lp', 'f1', 'v1', 'f2', '2', 'f3', 'x'.repeat(30));
  await r.hset('hash:ht', ...Array.from({ length: 300 }, (_, i) => [`f${i}`, `v${i}`]).flat());
  await r.hset('hash:longval', 'f', 'y'.repeat(100));
  await r.expire('hash:ht', 5000);
  await r.select(2);
  await r.set('db2:k', 'v2');
  await r.lpush('db2:l', 'z');
  await r.select(15);
  await r.set('db15:k', 'v15');
  await r.pexpire('db15:k', 900000);
  await r.select(0);
}

const KEYS0 = [
  'str:embstr', 'str:int', 'str:bigint', 'str:neg', 'str:raw', 'str:rand', 'str:ttl', 'list:small', 'list:big',
  'set:intset', 'set:ht', 'set:bigint', 'zset:lp', 'zset:sl', 'zset:inf', 'hash:lp', 'hash:ht', 'hash:longval',
];

async function encodings(r: Redis): Promise<string[]> {
  const out: string[] = [];
  for (const k of KEYS0) out.push(`${k}=${String(await r.type(k))}/${String(await r.object('ENCODING', k))}`);
  return out;
}

describe('CRC64 and LZF', () => {
  it("CRC64 matches Redis's test vector (crc64.c: 123456789 -> e9c6d914c4b8d9ca)", () => {
    expect(crc64(Buffer.from('123456789')).value().toString(16)).toBe('e9c6d914c4b8d9ca');
  });

  it('LZF round trips and refuses corrupt input', () => {
    const inputs = [Buffer.from('a'.repeat(1000)), Buffer.from('abcabcabcabcabcabcabcabc hello hello hello hello'), Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 31) % 251))];
    for (const s of inputs) {
      const out = Buffer.alloc(s.length + 64);
      const n = lzfCompress(s, out);
      if (n === 0) continue;
      expect(lzfDecompress(out.subarray(0, n), s.length).equals(s)).toBe(true);
    }
    expect(() => lzfDecompress(Buffer.from([0xe0, 0xff, 0xff]), 100)).toThrow();
  });
});

describe('RDB round trips with redis-server', () => {
  let dir: string;
  beforeAll(() => {
    dir = tmp('shardis-rdb-');
  });
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('INFO total_forks counts background saves and AOF rewrites (not SAVE), latest_fork_usec times the last, CONFIG RESETSTAT zeroes both, as redis-server', async () => {
    const seen: number[][] = [];
    for (const kind of ['redis', 'shardis'] as const) {
      const dir = tmp('shardis-forks-');
      const srv = kind === 'redis' ? await startRedis({ args: ['--dir', dir] }) : await startShardis({ threads: 2, args: shardisArgs(dir) });
      const r = client(srv.port);
      const forks = async (): Promise<number> => Number(/total_forks:(\d+)/.exec(String(await r.info('stats')))?.[1]);
      const idle = async (): Promise<void> => {
        for (let i = 0; i < 200; i++) {
          const p = String(await r.info('persistence'));
          if (/rdb_bgsave_in_progress:0/.test(p) && /aof_rewrite_in_progress:0/.test(p)) return;
          await sleep(25);
        }
        throw new Error('background job still running');
      };
      try {
        await r.set('k', 'v');
        const row = [await forks()];
        await r.save();
        row.push(await forks());
        await r.bgsave();
        await idle();
        row.push(await forks());
        await r.bgrewriteaof();
        await idle();
        row.push(await forks());
        // latest_fork_usec: the pause of the last one (fork(); here the point in time under every slot lock).
        const usec = async (): Promise<number> => Number(/latest_fork_usec:(\d+)/.exec(String(await r.info('stats')))?.[1]);
        row.push((await usec()) > 0 ? 1 : 0);
        await r.config('RESETSTAT');
        row.push(await forks(), await usec());
        seen.push(row);
      } finally {
        r.disconnect();
        await srv.stop();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
    expect(seen[0]).toEqual([0, 0, 1, 2, 1, 0, 0]);
    expect(seen[1]).toEqual(seen[0]);
  });

  it('CONFIG RESETSTAT zeroes rdb_saves, aof_rewrites, sync_full / sync_partial_ok / sync_partial_err, as redis-server', async () => {
    const fields = ['rdb_saves', 'aof_rewrites', 'sync_full', 'sync_partial_ok', 'sync_partial_err'];
    const seen: string[][] = [];
    for (const kind of ['redis', 'shardis'] as const) {
      const dir = tmp('shardis-resetstat-');
      const extra = ['--repl-diskless-sync-delay', '0'];
      const srv = kind === 'redis' ? await startRedis({ args: ['--dir', dir, ...extra] }) : await startShardis({ threads: 2, args: shardisArgs(dir, extra) });
      const r = client(srv.port);
      const read = async (): Promise<string[]> => {
        const all = String(await r.info('all'));
        return fields.map((f) => new RegExp(`\r\n${f}:(\\d+)`).exec(all)?.[1] ?? 'missing');
      };
      /** A replica's first words (PSYNC with an unknown id: a full sync, counted as a partial one refused), then gone. */
      const psync = async (): Promise<void> => {
        const sock = net.createConnection(srv.port, '127.0.0.1');
        await new Promise<void>((res, rej) => {
          sock.once('error', rej);
          sock.once('data', () => res());
          sock.write('PSYNC 0123456789012345678901234567890123456789 1\r\n');
        });
        sock.destroy();
      };
      try {
        await r.set('k', 'v');
        await r.save();
        await r.bgrewriteaof();
        await psync();
        for (let i = 0; i < 200 && (await read())[0] === '0'; i++) await sleep(25);
        // Every counter moved...
        for (let i = 0; i < 200; i++) {
          const v = await read();
          if (v[1] !== '0' && v[2] !== '0') break;
          await sleep(25);
        }
        const before = (await read()).map((v) => (v === '0' ? '0' : v === 'missing' ? v : '>0'));
        // Nothing still running that would count after the reset (the sync's snapshot, the rewrite).
        for (let i = 0; i < 400; i++) {
          const all = String(await r.info('all'));
          if (/connected_slaves:0\r\n/.test(all) && /rdb_bgsave_in_progress:0/.test(all) && /aof_rewrite_in_progress:0/.test(all)) break;
          await sleep(25);
        }
        // ... and RESETSTAT zeroes them.
        await r.config('RESETSTAT');
        const after = await read();
        seen.push([...before, '|', ...after]);
      } finally {
        r.disconnect();
        await srv.stop();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
    expect(seen[0]).toEqual(['>0', '>0', '>0', '0', '>0', '|', '0', '0', '0', '0', '0']);
    expect(seen[1]).toEqual(seen[0]);
  });

  it('shardis SAVE -> redis-check-rdb OK -> redis-server loads the same digest and encodings; and back', async () => {
    const sh = await startShardis({ threads: 2, args: shardisArgs(dir) });
    const a = client(sh.port);
    let digest: string;
    let encs: string[];
    try {
      await populate(a);
      digest = String(await a.call('DEBUG', 'DIGEST'));
      encs = await encodings(a);
      expect(await a.save()).toBe('OK');
      expect(Number(await a.lastsave())).toBeGreaterThan(0);
      const info = String(await a.info('persistence'));
      expect(info).toContain('rdb_changes_since_last_save:0');
      expect(info).toContain('rdb_last_bgsave_status:ok');
    } finally {
      a.disconnect();
      await sh.stop();
    }
    const file = path.join(dir, 'dump.rdb');
    const report = checkRdb(file);
    expect(report).toContain('RDB looks OK');
    expect(report).toContain('Checksum OK');

    // redis-server loads shardis's file: same dataset digest, same encodings.
    const red = await startRedis({ args: ['--dir', dir, '--enable-debug-command', 'yes'] });
    const b = client(red.port);
    try {
      expect(String(await b.call('DEBUG', 'DIGEST'))).toBe(digest);
      expect(await encodings(b)).toEqual(encs);
      // Now redis-server writes a file of its own (with one more key) for shardis to load.
      await b.set('from:redis', 'yes');
      await b.call('DEBUG', 'POPULATE', '2000', 'pop', '20');
      digest = String(await b.call('DEBUG', 'DIGEST'));
      encs = await encodings(b);
      expect(await b.save()).toBe('OK');
    } finally {
      b.disconnect();
      await red.stop();
    }
    const sh2 = await startShardis({ threads: 2, args: shardisArgs(dir) });
    const c = client(sh2.port);
    try {
      expect(String(await c.call('DEBUG', 'DIGEST'))).toBe(digest);
      expect(await encodings(c)).toEqual(encs);
      expect(await c.pttl('str:ttl')).toBeGreaterThan(500000);
      await c.select(15);
      expect(await c.get('db15:k')).toBe('v15');
      const info = String(await c.info('persistence'));
      expect(info).toMatch(/rdb_last_load_keys_loaded:20\d\d/);
    } finally {
      c.disconnect();
      await sh2.stop();
    }
  }, 120_000);

  it('rdbcompression no and rdbchecksum no write files redis-server still loads', async () => {
    const d = tmp('shardis-rdb-nc-');
    const sh = await startShardis({ args: shardisArgs(d, ['--rdbcompression', 'no', '--rdbchecksum', 'no']) });
    const a = client(sh.port);
    let digest: string;
    try {
      await populate(a);
      digest = String(await a.call('DEBUG', 'DIGEST'));
      await a.save();
    } finally {
      a.disconnect();
      await sh.stop();
    }
    const bytes = fs.readFileSync(path.join(d, 'dump.rdb'));
    expect(bytes.subarray(bytes.length - 8).every((x) => x === 0)).toBe(true);
    expect(bytes.includes(Buffer.from('x'.repeat(200)))).toBe(true);
    const red = await startRedis({ args: ['--dir', d, '--enable-debug-command', 'yes'] });
    const b = client(red.port);
    try {
      expect(String(await b.call('DEBUG', 'DIGEST'))).toBe(digest);
    } finally {
      b.disconnect();
      await red.stop();
      fs.rmSync(d, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('DUMP / RESTORE', () => {
  let sh: Server;
  let red: Server;
  let a: Redis;
  let b: Redis;
  beforeAll(async () => {
    [sh, red] = await Promise.all([startShardis({ args: shardisArgs(tmp('shardis-dump-')) }), startRedis({ args: ['--enable-debug-command', 'yes'] })]);
    a = client(sh.port);
    b = client(red.port);
    await populate(a);
    await populate(b);
  }, 60_000);
  afterAll(async () => {
    a.disconnect();
    b.disconnect();
    await Promise.all([sh.stop(), red.stop()]);
  }, 60_000);

  it('payloads move both ways with the same value, type and encoding', async () => {
    for (const k of KEYS0) {
      for (const [from, to] of [[a, b], [b, a]] as const) {
        const p = await from.dumpBuffer(k);
        expect(p).not.toBeNull();
        const ttl = Math.max(0, await from.pttl(k));
        await to.call('RESTORE', `copy:${k}`, String(ttl), p as Buffer, 'REPLACE');
        expect(await to.type(`copy:${k}`)).toBe(await from.type(k));
        expect(await to.object('ENCODING', `copy:${k}`)).toBe(await from.object('ENCODING', k));
        const d1 = await to.call('DEBUG', 'DIGEST-VALUE', `copy:${k}`);
        const d2 = await from.call('DEBUG', 'DIGEST-VALUE', k);
        expect(d1).toEqual(d2);
      }
    }
    // Identical payloads for the packed encodings (written from the same bytes).
    for (const k of ['zset:lp', 'hash:lp', 'set:intset', 'str:int', 'str:raw']) {
      expect((await a.dumpBuffer(k))?.equals((await b.dumpBuffer(k)) as Buffer)).toBe(true);
    }
  });

  it('REPLACE, ABSTTL, IDLETIME, FREQ and the errors are as in Redis', async () => {
    for (const r of [a, b]) {
      const p = (await r.dumpBuffer('str:embstr')) as Buffer;
      await expect(r.call('RESTORE', 'str:embstr', '0', p)).rejects.toThrow('BUSYKEY Target key name already exists.');
      await expect(r.call('RESTORE', 'nk', '-1', p)).rejects.toThrow('ERR Invalid TTL value, must be >= 0');
      await expect(r.call('RESTORE', 'nk', '0', p, 'IDLETIME', '-1')).rejects.toThrow('ERR Invalid IDLETIME value, must be >= 0');
      await expect(r.call('RESTORE', 'nk', '0', p, 'FREQ', '300')).rejects.toThrow('ERR Invalid FREQ value, must be >= 0 and <= 255');
      await expect(r.call('RESTORE', 'nk', '0', p, 'BOGUS')).rejects.toThrow('ERR syntax error');
      const bad = Buffer.from(p);
      bad[1] ^= 0xff;
      await expect(r.call('RESTORE', 'nk', '0', bad)).rejects.toThrow('ERR DUMP payload version or checksum are wrong');
      await expect(r.call('RESTORE', 'nk', '0', 'short')).rejects.toThrow('ERR DUMP payload version or checksum are wrong');
      expect(await r.call('RESTORE', 'nk', '0', p, 'IDLETIME', '1000')).toBe('OK');
      expect(Number(await r.object('IDLETIME', 'nk'))).toBeGreaterThanOrEqual(1000);
      const at = Date.now() + 100000;
      expect(await r.call('RESTORE', 'nk', String(at), p, 'ABSTTL', 'REPLACE')).toBe('OK');
      const pttl = await r.pttl('nk');
      expect(pttl).toBeGreaterThan(90000);
      expect(pttl).toBeLessThanOrEqual(100000);
      // An absolute TTL in the past: OK, and the key is gone.
      expect(await r.call('RESTORE', 'nk', '1', p, 'ABSTTL', 'REPLACE')).toBe('OK');
      expect(await r.exists('nk')).toBe(0);
      expect(await r.dump('missing')).toBeNull();
    }
  });

  it('a corrupt payload with a valid checksum is refused and changes nothing', async () => {
    // A hash listpack whose element count lies; the CRC is recomputed so only the content is bad.
    const p = (await a.dumpBuffer('hash:lp')) as Buffer;
    const body = Buffer.from(p.subarray(0, p.length - 8));
    body[1 + 1 + 4] ^= 0x01; // inside the listpack header (after type byte, length byte, total bytes)
    const fixed = Buffer.concat([body, crc64(body).bytes()]);
    for (const r of [a, b]) {
      await expect(r.call('RESTORE', 'corrupt', '0', fixed)).rejects.toThrow(/Bad data format/);
      expect(await r.exists('corrupt')).toBe(0);
    }
    await sh.check();
  });
});

describe('corrupt payloads and files: refused with Redis\'s reasons', () => {
  let sh: Server;
  let red: Server;
  let a: Redis;
  let b: Redis;
  let dir: string;
  beforeAll(async () => {
    dir = tmp('shardis-corrupt-payload-');
    const logs = (who: string): string[] => ['--loglevel', 'verbose', '--logfile', path.join(dir, `${who}.log`)];
    [sh, red] = await Promise.all([
      startShardis({ args: shardisArgs(dir, logs('shardis')) }),
      // Redis checks payloads as deeply as shardis always does only with sanitize-dump-payload yes.
      startRedis({ args: ['--enable-debug-command', 'yes', '--enable-protected-configs', 'yes', '--sanitize-dump-payload', 'yes', ...logs('redis')] }),
    ]);
    a = client(sh.port);
    b = client(red.port);
  }, 60_000);
  afterAll(async () => {
    a.disconnect();
    b.disconnect();
    await Promise.all([sh.stop(), red.stop()]);
    fs.rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  const len = lenBytes;
  /** A payload of body (type byte and value) with RDB version 10 and a correct CRC64. */
  const payload = (body: Buffer): Buffer => {
    const withVer = Buffer.concat([body, Buffer.from([10, 0])]);
    return Buffer.concat([withVer, crc64(withVer).bytes()]);
  };
  /** A ziplist of short strings; `tail` overrides the tail offset. */
  const ziplist = (items: string[], tail?: number): Buffer => {
    const entries: Buffer[] = [];
    let prev = 0;
    let last = 10;
    let at = 10;
    for (const it of items) {
      const e = Buffer.concat([Buffer.from([prev, it.length]), Buffer.from(it, 'latin1')]);
      last = at;
      at += e.length;
      prev = e.length;
      entries.push(e);
    }
    const head = Buffer.alloc(10);
    const total = 10 + entries.reduce((n, e) => n + e.length, 0) + 1;
    head.writeUInt32LE(total, 0);
    head.writeUInt32LE(tail ?? last, 4);
    head.writeUInt16LE(items.length, 8);
    return Buffer.concat([head, ...entries, Buffer.from([0xff])]);
  };
  const restoreBoth = async (key: string, p: Buffer): Promise<Array<string>> =>
    Promise.all([a, b].map((r) => r.call('RESTORE', key, '0', p, 'REPLACE').then(String, (e: Error) => e.message)));
  const logHas = (who: string, text: string): boolean => fs.readFileSync(path.join(dir, `${who}.log`), 'utf8').includes(text);

  it('a well-formed ziplist loads in both; a wrong tail offset, an empty zipmap, a quicklist node of no bytes are refused by both', async () => {
    const zset = (zl: Buffer): Buffer => payload(Buffer.concat([Buffer.from([12]), len(zl.length), zl]));
    expect(await restoreBoth('z', zset(ziplist(['a', '1', 'b', '2'])))).toEqual(['OK', 'OK']);
    expect(await a.zrange('z', 0, -1, 'WITHSCORES')).toEqual(['a', '1', 'b', '2']);
    expect(await restoreBoth('z:bad', zset(ziplist(['a', '1', 'b', '2'], 12)))).toEqual(['ERR Bad data format', 'ERR Bad data format']);
    expect(logHas('shardis', 'Zset ziplist integrity check failed.')).toBe(true);
    expect(logHas('redis', 'Zset ziplist integrity check failed.')).toBe(true);
    // A zipmap of no pairs: zmlen 0, then the end marker.
    expect(await restoreBoth('zm', payload(Buffer.from([9, 2, 0, 0xff])))).toEqual(['ERR Bad data format', 'ERR Bad data format']);
    expect(logHas('shardis', 'Zipmap integrity check failed.')).toBe(true);
    // Quicklist 2, one plain node of zero bytes.
    expect(await restoreBoth('ql', payload(Buffer.from([18, 1, 1, 0])))).toEqual(['ERR Bad data format', 'ERR Bad data format']);
    expect(await a.exists('z:bad', 'zm', 'ql')).toBe(0);
    await sh.check();
  });

  it('a hash listpack with a repeated field and a stream whose pending entry has no consumer are refused by both', async () => {
    for (const r of [a, b]) await r.hset('h', 'a', '1', 'b', '2');
    const p = (await a.dumpBuffer('h')) as Buffer;
    const body = Buffer.from(p.subarray(0, p.length - 10));
    // The field "b" (a 1-byte string entry 0x81 'b') becomes "a".
    const at = body.indexOf(Buffer.from([0x81, 0x62]));
    expect(at).toBeGreaterThan(0);
    body[at + 1] = 0x61;
    expect(await restoreBoth('h:dup', payload(body))).toEqual(['ERR Bad data format', 'ERR Bad data format']);
    expect(logHas('shardis', 'Hash listpack integrity check failed.')).toBe(true);

    for (const r of [a, b]) {
      await r.del('s');
      await r.xadd('s', '1-1', 'f', 'v');
      await r.xgroup('CREATE', 's', 'g', '0');
      await r.xreadgroup('GROUP', 'g', 'alice', 'STREAMS', 's', '>');
    }
    const sp = (await a.dumpBuffer('s')) as Buffer;
    const sbody = sp.subarray(0, sp.length - 10);
    // The payload ends with alice's PEL: its length (1) and the 16-byte id. Make it empty.
    expect(sbody[sbody.length - 17]).toBe(1);
    const orphan = Buffer.concat([sbody.subarray(0, sbody.length - 17), Buffer.from([0])]);
    expect(await restoreBoth('s:bad', payload(orphan))).toEqual(['ERR Bad data format', 'ERR Bad data format']);
    expect(logHas('shardis', 'Stream CG PEL entry without consumer')).toBe(true);
    expect(logHas('redis', 'Stream CG PEL entry without consumer')).toBe(true);
    // The untouched payload still loads in both.
    expect(await restoreBoth('s:copy', sp)).toEqual(['OK', 'OK']);
    expect(await a.exists('h:dup', 's:bad')).toBe(0);
    await sh.check();
  });

  it('DEBUG SET-SKIP-CHECKSUM-VALIDATION 1 lets a payload with a wrong checksum in, as in Redis', async () => {
    for (const r of [a, b]) await r.set('k', 'value');
    const p = Buffer.from((await a.dumpBuffer('k')) as Buffer);
    p[p.length - 1] ^= 0xff;
    const refused = 'ERR DUMP payload version or checksum are wrong';
    expect(await restoreBoth('k2', p)).toEqual([refused, refused]);
    for (const r of [a, b]) expect(await r.call('DEBUG', 'SET-SKIP-CHECKSUM-VALIDATION', '1')).toBe('OK');
    expect(await restoreBoth('k2', p)).toEqual(['OK', 'OK']);
    expect(await a.get('k2')).toBe('value');
    // It changes what is read, never what is written: SAVE still ends with the file's CRC64; a
    // file whose CRC is then spoiled reloads only while the switch is on, in both servers.
    const files = [path.join(dir, 'dump.rdb'), path.join(dir, 'redis-dump.rdb')];
    await b.config('SET', 'dir', dir);
    await b.config('SET', 'dbfilename', 'redis-dump.rdb');
    for (const [r, f] of [[a, files[0]], [b, files[1]]] as const) {
      await r.save();
      const file = fs.readFileSync(f);
      expect(crc64(file.subarray(0, file.length - 8)).bytes().equals(file.subarray(file.length - 8))).toBe(true);
      checkRdb(f);
      file[file.length - 1] ^= 0xff;
      fs.writeFileSync(f, file);
      expect(await r.call('DEBUG', 'RELOAD', 'NOSAVE')).toBe('OK');
      expect(await r.get('k2')).toBe('value');
    }
    for (const r of [a, b]) expect(await r.call('DEBUG', 'SET-SKIP-CHECKSUM-VALIDATION', '0')).toBe('OK');
    expect(await restoreBoth('k3', p)).toEqual([refused, refused]);
    for (const r of [a, b]) await expect(r.call('DEBUG', 'RELOAD', 'NOSAVE')).rejects.toThrow();
    // What failed to load changed nothing it held.
    expect(await a.get('k2')).toBe('value');
  });

  it("a corrupt value in an RDB file stops start-up naming the key and its type, as redis-check-rdb's report", async () => {
    const d = tmp('shardis-corrupt-key-');
    const zl = ziplist(['a', '1', 'b', '2'], 12);
    const body = Buffer.concat([
      Buffer.from('REDIS0010', 'latin1'),
      Buffer.from([0xfe, 0]),
      Buffer.from([0, 1]), Buffer.from('k'), Buffer.from([1]), Buffer.from('v'),
      Buffer.from([12, 4]), Buffer.from('zbad'), len(zl.length), zl,
      Buffer.from([0xff]),
    ]);
    fs.writeFileSync(path.join(d, 'dump.rdb'), Buffer.concat([body, crc64(body).bytes()]));
    await expect(startShardis({ args: shardisArgs(d) })).rejects.toThrow(
      /Zset ziplist integrity check failed\.[^]*--- RDB ERROR DETECTED ---[^]*integrity check failed[^]*Reading key 'zbad'[^]*Reading type 12 \(zset-ziplist\)[^]*Terminating server after rdb file reading failure\./,
    );
    fs.rmSync(d, { recursive: true, force: true });
  }, 60_000);

  it('an RDB file with empty collections loads without them and says so, as Redis', async () => {
    const d = tmp('shardis-empty-keys-');
    const body = Buffer.concat([
      Buffer.from('REDIS0010', 'latin1'),
      Buffer.from([0xfe, 0]),
      Buffer.from([2, 3]), Buffer.from('set'), Buffer.from([0]),
      Buffer.from([4, 4]), Buffer.from('hash'), Buffer.from([0]),
      Buffer.from([0, 1]), Buffer.from('k'), Buffer.from([1]), Buffer.from('v'),
      Buffer.from([0xff]),
    ]);
    fs.writeFileSync(path.join(d, 'dump.rdb'), Buffer.concat([body, crc64(body).bytes()]));
    const log = path.join(d, 'shardis.log');
    const s2 = await startShardis({ args: shardisArgs(d, ['--logfile', log]) });
    const c = client(s2.port);
    try {
      expect(await c.dbsize()).toBe(1);
      const text = fs.readFileSync(log, 'utf8');
      expect(text).toContain('rdbLoadObject skipping empty key: set');
      expect(text).toContain('rdbLoadObject skipping empty key: hash');
      expect(text).toContain('Done loading RDB, keys loaded: 1, keys expired: 0, empty keys skipped: 2.');
    } finally {
      c.disconnect();
      await s2.stop();
      fs.rmSync(d, { recursive: true, force: true });
    }
  });
});

describe('start-up loading, SHUTDOWN, signals, save rules, kill -9', () => {
  it('kill -9 after a completed SAVE keeps everything saved', async () => {
    const dir = tmp('shardis-kill-');
    const sh = await startShardis({ threads: 2, args: shardisArgs(dir) });
    const a = client(sh.port);
    await populate(a);
    const digest = String(await a.call('DEBUG', 'DIGEST'));
    await a.save();
    await a.set('after-save', 'lost');
    a.disconnect();
    process.kill(sh.pid, 'SIGKILL');
    await sh.stop().catch(() => undefined);
    const sh2 = await startShardis({ threads: 2, args: shardisArgs(dir) });
    const b = client(sh2.port);
    try {
      expect(String(await b.call('DEBUG', 'DIGEST'))).toBe(digest);
      expect(await b.exists('after-save')).toBe(0);
    } finally {
      b.disconnect();
      await sh2.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('SHUTDOWN saves with save rules, SHUTDOWN NOSAVE does not, SIGTERM saves, a failed save aborts SHUTDOWN', async () => {
    const dir = tmp('shardis-shutdown-');
    const file = path.join(dir, 'dump.rdb');
    const withRules = shardisArgs(dir).map((x, i, arr) => (arr[i - 1] === '--save' ? '3600 1' : x));
    // SHUTDOWN with save rules: saves.
    let sh = await startShardis({ args: withRules });
    let a = client(sh.port);
    await a.set('k1', 'v1');
    await a.call('SHUTDOWN').catch(() => undefined);
    a.disconnect();
    await sh.stop().catch(() => undefined);
    expect(fs.existsSync(file)).toBe(true);
    checkRdb(file);
    // SHUTDOWN NOSAVE: the file stays as it was.
    sh = await startShardis({ args: withRules });
    a = client(sh.port);
    expect(await a.get('k1')).toBe('v1');
    await a.set('k2', 'v2');
    await a.call('SHUTDOWN', 'NOSAVE').catch(() => undefined);
    a.disconnect();
    await sh.stop().catch(() => undefined);
    // SIGTERM with save rules: saves (k2 missing since NOSAVE, k3 saved now).
    sh = await startShardis({ args: withRules });
    a = client(sh.port);
    expect(await a.exists('k2')).toBe(0);
    await a.set('k3', 'v3');
    a.disconnect();
    await sh.stop(); // SIGTERM
    // SHUTDOWN SAVE without rules saves; a failed save (dir gone read-only) refuses to exit.
    sh = await startShardis({ args: shardisArgs(dir) });
    a = client(sh.port);
    try {
      expect(await a.get('k3')).toBe('v3');
      await a.config('SET', 'dbfilename', 'sub.rdb');
      fs.mkdirSync(path.join(dir, 'sub.rdb')); // rename onto a directory fails
      await expect(a.call('SHUTDOWN', 'SAVE')).rejects.toThrow('ERR Errors trying to SHUTDOWN. Check logs.');
      expect(await a.ping()).toBe('PONG');
    } finally {
      a.disconnect();
      await sh.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 150_000);

  it("a signal's shutdown starts at the cron (DEBUG PAUSE-CRON holds it, SHUTDOWN ABORT cancels it); a second SIGINT during the final save exits at once and removes its temp file", async () => {
    const dir = tmp('shardis-signal-');
    const log = path.join(dir, 'server.log');
    const sh = await startShardis({ args: shardisArgs(dir, ['--logfile', log]).map((x, i, arr) => (arr[i - 1] === '--save' ? '3600 1' : x)) });
    const a = client(sh.port);
    const alive = (): boolean => {
      try {
        process.kill(sh.pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    try {
      await a.call('DEBUG', 'PAUSE-CRON', '1');
      process.kill(sh.pid, 'SIGTERM');
      await sleep(50);
      expect(await a.call('SHUTDOWN', 'ABORT')).toBe('OK');
      await a.call('DEBUG', 'PAUSE-CRON', '0');
      await sleep(300);
      expect(await a.ping()).toBe('PONG');
      await expect(a.call('SHUTDOWN', 'ABORT')).rejects.toThrow('ERR No shutdown in progress.');
      // The final save takes 20 x 100 ms; the second SIGINT does not wait for it.
      for (let i = 0; i < 20; i++) await a.set(`k${i}`, 'v');
      await a.config('SET', 'rdb-key-save-delay', '100000');
      const temp = path.join(dir, `temp-${sh.pid}.rdb`);
      process.kill(sh.pid, 'SIGINT');
      for (let i = 0; i < 200 && !fs.existsSync(temp); i++) await sleep(10);
      expect(fs.existsSync(temp)).toBe(true);
      process.kill(sh.pid, 'SIGINT');
      for (let i = 0; i < 200 && alive(); i++) await sleep(10);
      expect(alive()).toBe(false);
      expect(fs.existsSync(temp)).toBe(false);
      expect(fs.existsSync(path.join(dir, 'dump.rdb'))).toBe(false);
      const lines = fs.readFileSync(log, 'utf8');
      for (const l of ['Received SIGTERM scheduling shutdown...', 'Shutdown manually aborted.', 'Received SIGINT scheduling shutdown...', 'You insist... exiting now.']) {
        expect(lines).toContain(l);
      }
    } finally {
      a.disconnect();
      await sh.stop().catch(() => undefined);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('a save rule triggers a background save; a failed save gives MISCONF', async () => {
    const dir = tmp('shardis-rules-');
    const sh = await startShardis({ args: shardisArgs(dir).map((x, i, arr) => (arr[i - 1] === '--save' ? '1 2' : x)) });
    const a = client(sh.port);
    try {
      await a.set('a', '1');
      await a.set('b', '2');
      await a.set('c', '3');
      let saved = false;
      for (let i = 0; i < 60 && !saved; i++) {
        await sleep(100);
        saved = /rdb_saves:[1-9]/.test(String(await a.info('persistence'))) && fs.existsSync(path.join(dir, 'dump.rdb'));
      }
      expect(saved).toBe(true);
      // Make saves fail: the target name is a directory.
      await a.config('SET', 'dbfilename', 'blocked.rdb');
      fs.mkdirSync(path.join(dir, 'blocked.rdb'));
      expect(await a.bgsave()).toBe('Background saving started');
      let status = '';
      for (let i = 0; i < 50 && status !== 'err'; i++) {
        await sleep(100);
        status = /rdb_last_bgsave_status:(\w+)/.exec(String(await a.info('persistence')))?.[1] ?? '';
      }
      expect(status).toBe('err');
      await expect(a.set('x', 'y')).rejects.toThrow(/^MISCONF Redis is configured to save RDB snapshots/);
      expect(await a.get('a')).toBe('1');
      await a.config('SET', 'stop-writes-on-bgsave-error', 'no');
      expect(await a.set('x', 'y')).toBe('OK');
    } finally {
      a.disconnect();
      await sh.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('a failed SAVE answers ERR and leaves rdb_last_bgsave_status ok: writes and PING go on (no MISCONF), as redis-server', async () => {
    const seen: string[][] = [];
    for (const kind of ['redis', 'shardis'] as const) {
      const dir = tmp('shardis-failsave-');
      const srv = kind === 'redis' ? await startRedis({ args: ['--dir', dir] }) : await startShardis({ threads: 2, args: shardisArgs(dir) });
      const a = client(srv.port);
      try {
        await a.set('a', '1');
        fs.mkdirSync(path.join(dir, 'dump.rdb')); // the rename onto it fails
        const row: string[] = [await a.save().then(String, (e: Error) => e.message)];
        row.push(/rdb_last_bgsave_status:(\w+)/.exec(String(await a.info('persistence')))?.[1] ?? '');
        row.push(await a.set('b', '2').then(String, (e: Error) => e.message.slice(0, 7)));
        row.push(await a.ping().then(String, (e: Error) => e.message.slice(0, 7)));
        seen.push(row);
      } finally {
        a.disconnect();
        await srv.stop();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
    expect(seen[0]).toEqual(['ERR', 'ok', 'OK', 'PONG']);
    expect(seen[1]).toEqual(seen[0]);
  });

  it('FLUSHALL with save rules saves the empty dataset: the changes counter restarts from 0', async () => {
    const dir = tmp('shardis-flushall-');
    const sh = await startShardis({ args: shardisArgs(dir).map((x, i, arr) => (arr[i - 1] === '--save' ? '3600 1 300 100 60 10000' : x)) });
    const a = client(sh.port);
    try {
      await a.set('key', 'value');
      expect(String(await a.info('persistence'))).toMatch(/rdb_changes_since_last_save:1\r/);
      expect(await a.flushall()).toBe('OK');
      expect(String(await a.info('persistence'))).toMatch(/rdb_changes_since_last_save:0\r/);
      expect(checkRdb(path.join(dir, 'dump.rdb'))).toContain('RDB looks OK');
    } finally {
      a.disconnect();
      await sh.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('a corrupt or truncated file stops start-up with file, offset and reason, and stays untouched', async () => {
    const dir = tmp('shardis-corrupt-');
    const sh = await startShardis({ args: shardisArgs(dir) });
    const a = client(sh.port);
    await populate(a);
    await a.save();
    a.disconnect();
    await sh.stop();
    const file = path.join(dir, 'dump.rdb');
    const good = fs.readFileSync(file);
    const truncated = good.subarray(0, good.length - 40);
    fs.writeFileSync(file, truncated);
    await expect(startShardis({ args: shardisArgs(dir) })).rejects.toThrow(
      /Internal error in RDB reading offset \d+ of .*dump\.rdb -> [^]*--- RDB ERROR DETECTED ---[^]*Terminating server after rdb file reading failure\./,
    );
    expect(fs.readFileSync(file).equals(truncated)).toBe(true);
    // A flipped byte: the checksum catches it.
    const flipped = Buffer.from(good);
    flipped[200] ^= 0x55;
    fs.writeFileSync(file, flipped);
    await expect(startShardis({ args: shardisArgs(dir) })).rejects.toThrow(/RDB CRC error|Internal error in RDB/);
    expect(fs.readFileSync(file).equals(flipped)).toBe(true);
    fs.rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('DEBUG RELOAD keeps the dataset', async () => {
    const dir = tmp('shardis-reload-');
    const sh = await startShardis({ threads: 2, args: shardisArgs(dir) });
    const a = client(sh.port);
    try {
      await populate(a);
      const d = String(await a.call('DEBUG', 'DIGEST'));
      const encs = await encodings(a);
      expect(await a.call('DEBUG', 'RELOAD')).toBe('OK');
      expect(String(await a.call('DEBUG', 'DIGEST'))).toBe(d);
      expect(await encodings(a)).toEqual(encs);
    } finally {
      a.disconnect();
      await sh.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('BGSAVE is a point in time while clients write', () => {
  it('transfers between keys in different slots inside MULTI/EXEC: the saved file holds a consistent total', async () => {
    const dir = tmp('shardis-pit-');
    const N = 200;
    const START = 1000;
    const sh = await startShardis({ threads: 3, args: shardisArgs(dir, ['--rdb-key-save-delay', '20000']) });
    const setup = client(sh.port);
    const accounts = Array.from({ length: N }, (_, i) => `acct:${i}`);
    try {
      for (const k of accounts) await setup.set(k, String(START));
      expect(await setup.bgsave()).toBe('Background saving started');
      // Writers on several connections (several threads) move value around while the save runs.
      let stop = false;
      let moves = 0;
      const writers = Array.from({ length: 4 }, async (_, w) => {
        const r = client(sh.port);
        let x = w + 1;
        while (!stop) {
          x = (x * 1103515245 + 12345) & 0x7fffffff;
          const from = accounts[x % N];
          const to = accounts[(x >> 8) % N];
          if (from === to) continue;
          const amt = (x >> 16) % 50;
          await r.multi().decrby(from, amt).incrby(to, amt).exec();
          moves++;
        }
        r.disconnect();
      });
      // About 4 s of saving (20 ms per key): the writers run during all of it.
      let done = false;
      for (let i = 0; i < 1200 && !done; i++) {
        await sleep(50);
        done = /rdb_bgsave_in_progress:0/.test(String(await setup.info('persistence')));
      }
      stop = true;
      await Promise.all(writers);
      expect(done).toBe(true);
      expect(moves).toBeGreaterThan(0);
      const info = String(await setup.info('persistence'));
      expect(info).toContain('rdb_last_bgsave_status:ok');
      expect(Number(/rdb_last_cow_size:(\d+)/.exec(info)?.[1])).toBeGreaterThan(0);
    } finally {
      setup.disconnect();
      await sh.stop();
    }
    checkRdb(path.join(dir, 'dump.rdb'));
    // Load the file into redis-server: the total is exactly what it was (no half transfer).
    const red = await startRedis({ args: ['--dir', dir] });
    const r = client(red.port);
    try {
      const vals = await r.mget(...accounts);
      expect(vals.every((v) => v !== null)).toBe(true);
      expect(vals.reduce((s, v) => s + Number(v), 0)).toBe(N * START);
    } finally {
      r.disconnect();
      await red.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

// Redis's own legacy test files (zipmap, ziplist, quicklist v1, intset...): opt-in, read from a
// Redis source tree (REDIS_SRC) or REDIS_TEST_ASSETS; never copied into this repository.
const ASSETS = process.env.REDIS_TEST_ASSETS ?? (process.env.REDIS_SRC ? path.join(process.env.REDIS_SRC, 'tests', 'assets') : '');
describe.skipIf(ASSETS === '' || !fs.existsSync(ASSETS))("Redis's test asset RDB files", () => {
  const files = ASSETS === '' || !fs.existsSync(ASSETS) ? [] : fs.readdirSync(ASSETS).filter((f) => f.endsWith('.rdb'));
  for (const f of files) {
    it(`${f} loads as redis-server loads it (or both refuse it)`, async () => {
      const dir = tmp('shardis-asset-');
      fs.copyFileSync(path.join(ASSETS, f), path.join(dir, f));
      fs.chmodSync(path.join(dir, f), 0o644);
      const digestOf = async (start: () => Promise<Server>): Promise<string> => {
        let s: Server;
        try {
          s = await start();
        } catch {
          return 'refused';
        }
        const c = client(s.port);
        try {
          return `${String(await c.call('DEBUG', 'DIGEST'))}/${await c.dbsize()}`;
        } finally {
          c.disconnect();
          await s.stop();
        }
      };
      const want = await digestOf(() => startRedis({ args: ['--dir', dir, '--dbfilename', f, '--enable-debug-command', 'yes', '--sanitize-dump-payload', 'yes'] }));
      const got = await digestOf(() => startShardis({ args: shardisArgs(dir, ['--dbfilename', f]) }));
      expect(got).toBe(want);
      fs.rmSync(dir, { recursive: true, force: true });
    }, 120_000);
  }
});

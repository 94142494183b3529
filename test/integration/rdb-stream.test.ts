// Streams in RDB files and DUMP payloads (RDB_TYPE_STREAM_LISTPACKS_2, and _LISTPACKS from older
// files), proven against redis-server 7.0: shardis SAVE -> redis-check-rdb -> redis-server loads
// the same DEBUG DIGEST and XINFO STREAM; redis-server's file -> shardis, the same; DUMP/RESTORE
// both ways (identical payloads for identical streams); a type-15 payload restored by both alike;
// a BGSAVE that keeps a stream as it was while XADD/XDEL/XTRIM change it mid-save; and AOF
// rewrites (RDB preamble, and rewriteStreamObject's XADD/XSETID base) loaded by both servers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Redis from 'ioredis';
import { startRedis, startShardis, type Server } from '../helpers/server';
import { crc64 } from '../../src/persistence/crc64';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const tmp = (prefix: string): string => fs.mkdtempSync(path.join(os.tmpdir(), prefix));
const client = (port: number): Redis => new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0, retryStrategy: () => null });
const REDIS_CHECK_RDB = process.env.REDIS_CHECK_RDB || 'redis-check-rdb';

function args(dir: string, extra: string[] = []): string[] {
  return ['--dir', dir, '--save', '', '--appendonly', 'no', '--enable-debug-command', 'yes', '--enable-protected-configs', 'yes', ...extra];
}

const KEYS = ['st:many', 'st:mixed', 'st:empty', 'st:zero', 'st:huge', 'st:setid', 'st:big', 'st:trimmed'];

/** Streams of every shape: many nodes, same and different fields, tombstones, empty, edge IDs. */
async function fillStreams(r: Redis, prefix = 'st'): Promise<void> {
  const k = (n: string): string => `${prefix}:${n}`;
  for (let i = 1; i <= 700; i += 50) {
    const batch = r.pipeline();
    for (let j = i; j < i + 50; j++) batch.xadd(k('many'), `${j}-${j % 3}`, 'a', String(j), 'b', `v${j}`);
    await batch.exec();
  }
  await r.xdel(k('many'), '1-1', '2-2', '300-0', '301-1', '699-0');
  for (let j = 1; j <= 120; j++) {
    if (j % 3 === 0) await r.xadd(k('mixed'), `5-${j}`, 'x', String(-j * 1000), 'y', 'yy');
    else if (j % 3 === 1) await r.xadd(k('mixed'), `5-${j}`, 'a', String(j), 'b', `v${j}`);
    else await r.xadd(k('mixed'), `5-${j}`, 'only', '9223372036854775807');
  }
  for (let j = 10; j <= 100; j += 10) await r.xdel(k('mixed'), `5-${j}`);
  await r.xadd(k('empty'), '7-7', 'a', 'b');
  await r.xdel(k('empty'), '7-7');
  await r.xadd(k('zero'), 'MAXLEN', '0', '3-3', 'x', 'y');
  await r.xadd(k('huge'), '18446744073709551615-1', 'edge', 'id');
  await r.xadd(k('huge'), '18446744073709551615-18446744073709551615', 'last', 'one');
  await r.xadd(k('setid'), '1-1', 'f', 'v');
  await r.call('XSETID', k('setid'), '99-99', 'ENTRIESADDED', '1000', 'MAXDELETEDID', '50-0');
  for (let j = 1; j <= 30; j++) await r.xadd(k('big'), `${j}-0`, 'payload', 'z'.repeat(300 + j), 'n', String(j));
  for (let j = 1; j <= 400; j++) await r.xadd(k('trimmed'), `${j}-1`, 'f', String(j));
  await r.xtrim(k('trimmed'), 'MAXLEN', '250');
  await r.xtrim(k('trimmed'), 'MINID', '~', '300');
}

async function infos(r: Redis, keys = KEYS): Promise<string[]> {
  const out: string[] = [];
  for (const k of keys) out.push(`${k}=${JSON.stringify(await r.call('XINFO', 'STREAM', k))}`);
  return out;
}

describe('streams in RDB files', () => {
  let dir: string;
  beforeAll(() => {
    dir = tmp('shardis-rdbstream-');
  });
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('shardis SAVE -> redis-check-rdb OK -> redis-server loads the same digest and XINFO; and back', async () => {
    const sh = await startShardis({ threads: 2, args: args(dir) });
    const a = client(sh.port);
    let digest: string;
    let info: string[];
    try {
      await fillStreams(a);
      digest = String(await a.call('DEBUG', 'DIGEST'));
      info = await infos(a);
      expect(await a.save()).toBe('OK');
    } finally {
      a.disconnect();
      await sh.stop();
    }
    const report = execFileSync(REDIS_CHECK_RDB, [path.join(dir, 'dump.rdb')], { encoding: 'utf8' });
    expect(report).toContain('RDB looks OK');
    expect(report).toContain(`${KEYS.length} keys read`);

    const red = await startRedis({ args: ['--dir', dir, '--enable-debug-command', 'yes'] });
    const b = client(red.port);
    try {
      expect(String(await b.call('DEBUG', 'DIGEST'))).toBe(digest);
      expect(await infos(b)).toEqual(info);
      // redis-server's own streams (and an XADD * one) for shardis to load.
      await fillStreams(b, 'rs');
      await b.xadd('rs:now', '*', 'a', 'b');
      digest = String(await b.call('DEBUG', 'DIGEST'));
      info = await infos(b, [...KEYS, ...KEYS.map((k) => k.replace('st:', 'rs:')), 'rs:now']);
      expect(await b.save()).toBe('OK');
    } finally {
      b.disconnect();
      await red.stop();
    }
    const sh2 = await startShardis({ threads: 2, args: args(dir) });
    const c = client(sh2.port);
    try {
      expect(String(await c.call('DEBUG', 'DIGEST'))).toBe(digest);
      expect(await infos(c, [...KEYS, ...KEYS.map((k) => k.replace('st:', 'rs:')), 'rs:now'])).toEqual(info);
      // The loaded stream is a live one: it grows, and XREAD sees it.
      expect(await c.xadd('rs:many', '800-0', 'a', 'b')).toBe('800-0');
      expect(await c.call('XREAD', 'COUNT', '1', 'STREAMS', 'rs:many', '749-2')).toEqual([['rs:many', [['800-0', ['a', 'b']]]]]);
    } finally {
      c.disconnect();
      await sh2.stop();
    }
  }, 120_000);

  it('BGSAVE keeps a stream as it was while writers change it mid-save', async () => {
    const d2 = tmp('shardis-rdbstream-bg-');
    const sh = await startShardis({ threads: 2, args: args(d2, ['--rdb-key-save-delay', '20000']) });
    const r = client(sh.port);
    try {
      await fillStreams(r, '{t}');
      for (let i = 0; i < 30; i++) await r.set(`{t}:k${i}`, `v${i}`);
      for (let i = 0; i < 30; i++) await r.set(`other${i}`, `v${i}`);
      const before = String(await r.call('DEBUG', 'DIGEST'));
      expect(await r.bgsave()).toBe('Background saving started');
      let rounds = 0;
      while (/rdb_bgsave_in_progress:1/.test(String(await r.info('persistence')))) {
        rounds++;
        await r.xadd('{t}:many', '*', 'during', String(rounds));
        await r.xdel('{t}:mixed', `5-${rounds}`);
        await r.xtrim('{t}:trimmed', 'MAXLEN', String(Math.max(0, 200 - rounds)));
        await sleep(5);
      }
      expect(rounds).toBeGreaterThan(0);
      expect(String(await r.info('persistence'))).toContain('rdb_last_bgsave_status:ok');
      const red = await startRedis({ args: ['--dir', d2, '--enable-debug-command', 'yes'] });
      const b = client(red.port);
      try {
        expect(String(await b.call('DEBUG', 'DIGEST'))).toBe(before);
      } finally {
        b.disconnect();
        await red.stop();
      }
    } finally {
      r.disconnect();
      await sh.stop();
      fs.rmSync(d2, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('streams in full syncs', () => {
  it('a redis-server replica of shardis, and a shardis replica of redis-server, get the streams with the same digest', async () => {
    const sh = await startShardis({ threads: 2, args: ['--save', '', '--repl-diskless-sync-delay', '0', '--enable-debug-command', 'yes'] });
    const red = await startRedis({ args: ['--enable-debug-command', 'yes', '--repl-diskless-sync-delay', '0'] });
    const a = client(sh.port);
    const b = client(red.port);
    const up = async (r: Redis): Promise<void> => {
      for (let i = 0; i < 400 && !/master_link_status:up/.test(String(await r.info('replication'))); i++) await sleep(25);
      expect(String(await r.info('replication'))).toContain('master_link_status:up');
    };
    try {
      await fillStreams(a);
      const digest = String(await a.call('DEBUG', 'DIGEST'));
      await b.replicaof('127.0.0.1', String(sh.port));
      await up(b);
      for (let i = 0; i < 100 && String(await b.call('DEBUG', 'DIGEST')) !== digest; i++) await sleep(25);
      expect(String(await b.call('DEBUG', 'DIGEST'))).toBe(digest);
      expect(await infos(b)).toEqual(await infos(a));
      // And the other way: redis-server as master, shardis its replica.
      await b.replicaof('NO', 'ONE');
      await b.xadd('st:many', '1000-0', 'from', 'redis');
      const d2 = String(await b.call('DEBUG', 'DIGEST'));
      await a.replicaof('127.0.0.1', String(red.port));
      await up(a);
      for (let i = 0; i < 100 && String(await a.call('DEBUG', 'DIGEST')) !== d2; i++) await sleep(25);
      expect(String(await a.call('DEBUG', 'DIGEST'))).toBe(d2);
      expect(await infos(a)).toEqual(await infos(b));
    } finally {
      a.disconnect();
      b.disconnect();
      await Promise.all([sh.stop(), red.stop()]);
    }
  }, 120_000);
});

describe('streams in AOF rewrites', () => {
  for (const preamble of ['no', 'yes']) {
    it(`aof-use-rdb-preamble ${preamble}: the rewritten base rebuilds the streams in redis-server and shardis alike`, async () => {
      const dir = tmp('shardis-aofstream-');
      try {
        const sh = await startShardis({ threads: 2, args: args(dir, ['--appendonly', 'yes', '--aof-use-rdb-preamble', preamble]) });
        const a = client(sh.port);
        let digest: string;
        const adir = path.join(dir, 'appendonlydir');
        try {
          await fillStreams(a);
          await a.call('XGROUP', 'CREATE', 'st:mixed', 'grp', '0');
          await a.call('XREADGROUP', 'GROUP', 'grp', 'c1', 'COUNT', '4', 'STREAMS', 'st:mixed', '>');
          await a.call('XGROUP', 'CREATECONSUMER', 'st:mixed', 'grp', 'c2');
          expect(String(await a.bgrewriteaof())).toMatch(/rewriting started/);
          for (let i = 0; i < 200; i++) {
            if (/aof_rewrite_in_progress:0/.test(String(await a.info('persistence'))) && fs.existsSync(path.join(adir, 'appendonly.aof.2.base.' + (preamble === 'no' ? 'aof' : 'rdb')))) break;
            await sleep(50);
          }
          await a.xadd('st:many', '900-0', 'after', 'rewrite');
          digest = String(await a.call('DEBUG', 'DIGEST'));
        } finally {
          a.disconnect();
          await sh.stop();
        }
        const base = fs.readFileSync(path.join(adir, 'appendonly.aof.2.base.' + (preamble === 'no' ? 'aof' : 'rdb')), 'latin1');
        if (preamble === 'no') {
          expect(base).toContain('$6\r\nXSETID\r\n$8\r\nst:empty\r\n$3\r\n7-7\r\n$12\r\nENTRIESADDED\r\n$1\r\n1\r\n$12\r\nMAXDELETEDID\r\n$3\r\n7-7\r\n');
          expect(base).toContain('$4\r\nXADD\r\n$7\r\nst:zero\r\n$6\r\nMAXLEN\r\n$1\r\n0\r\n$3\r\n0-1\r\n$1\r\nx\r\n$1\r\ny\r\n');
        } else expect(base.startsWith('REDIS0010')).toBe(true);
        expect(execFileSync('redis-check-aof', [path.join(adir, 'appendonly.aof.manifest')], { encoding: 'utf8' })).toMatch(/All AOF files and manifest are valid/);
        const rdir = tmp('shardis-aofstream-redis-');
        fs.cpSync(adir, path.join(rdir, 'appendonlydir'), { recursive: true });
        const red = await startRedis({ args: ['--dir', rdir, '--appendonly', 'yes', '--enable-debug-command', 'yes'] });
        const sh2 = await startShardis({ threads: 2, args: args(dir, ['--appendonly', 'yes']) });
        const b = client(red.port);
        const c = client(sh2.port);
        try {
          expect(String(await b.call('DEBUG', 'DIGEST'))).toBe(digest);
          expect(String(await c.call('DEBUG', 'DIGEST'))).toBe(digest);
          expect(await infos(c)).toEqual(await infos(b));
          expect(await c.call('XINFO', 'GROUPS', 'st:mixed')).toEqual(await b.call('XINFO', 'GROUPS', 'st:mixed'));
          // Entries, owners and delivery counts (the idle times are the clocks' own).
          const pend = async (r: Redis): Promise<unknown[]> => ((await r.call('XPENDING', 'st:mixed', 'grp', '-', '+', '10')) as unknown[][]).map((e) => [e[0], e[1], e[3]]);
          expect(await pend(c)).toEqual(await pend(b));
          expect((await pend(c)).length).toBe(4);
          expect((await c.call('XINFO', 'CONSUMERS', 'st:mixed', 'grp') as unknown[]).length).toBe(2);
        } finally {
          b.disconnect();
          c.disconnect();
          await Promise.all([red.stop(), sh2.stop()]);
          fs.rmSync(rdir, { recursive: true, force: true });
        }
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }, 120_000);
  }
});

describe('stream DUMP / RESTORE with redis-server', () => {
  let sh: Server;
  let red: Server;
  let a: Redis;
  let b: Redis;
  beforeAll(async () => {
    [sh, red] = await Promise.all([startShardis({ threads: 2, args: ['--enable-debug-command', 'yes'] }), startRedis({ args: ['--enable-debug-command', 'yes'] })]);
    a = client(sh.port);
    b = client(red.port);
    await Promise.all([fillStreams(a), fillStreams(b)]);
  }, 60_000);
  afterAll(async () => {
    a?.disconnect();
    b?.disconnect();
    await Promise.all([sh?.stop(), red?.stop()]);
  }, 60_000);

  it('payloads are identical for identical streams and restore both ways', async () => {
    for (const k of KEYS) {
      const pa = (await a.dumpBuffer(k)) as Buffer;
      const pb = (await b.dumpBuffer(k)) as Buffer;
      expect(pa.equals(pb), k).toBe(true);
      for (const [from, to] of [[a, b], [b, a]] as const) {
        const p = (await from.dumpBuffer(k)) as Buffer;
        await to.call('RESTORE', `copy:${k}`, '0', p, 'REPLACE');
        expect(await to.type(`copy:${k}`)).toBe('stream');
        expect(await to.call('DEBUG', 'DIGEST-VALUE', `copy:${k}`)).toEqual(await from.call('DEBUG', 'DIGEST-VALUE', k));
        expect(await to.call('XINFO', 'STREAM', `copy:${k}`)).toEqual(await from.call('XINFO', 'STREAM', k));
      }
    }
  });

  it('consumer groups (PELs, consumers, entries_read) move both ways in payloads', async () => {
    for (const r of [a, b]) {
      await r.call('XGROUP', 'CREATE', 'st:many', 'g1', '0');
      await r.call('XGROUP', 'CREATE', 'st:many', 'g0', '$', 'ENTRIESREAD', '5');
      await r.call('XREADGROUP', 'GROUP', 'g1', 'alice', 'COUNT', '3', 'STREAMS', 'st:many', '>');
      await r.call('XREADGROUP', 'GROUP', 'g1', 'bob', 'COUNT', '2', 'STREAMS', 'st:many', '>');
      await r.call('XGROUP', 'CREATECONSUMER', 'st:many', 'g1', 'idle');
      await r.call('XACK', 'st:many', 'g1', '3-0');
    }
    for (const [from, to] of [[a, b], [b, a]] as const) {
      const p = (await from.dumpBuffer('st:many')) as Buffer;
      await to.call('RESTORE', 'grp:copy', '0', p, 'REPLACE');
      expect(await to.call('XINFO', 'STREAM', 'grp:copy', 'FULL')).toEqual(await from.call('XINFO', 'STREAM', 'st:many', 'FULL'));
      expect(await to.call('XINFO', 'GROUPS', 'grp:copy')).toEqual(await from.call('XINFO', 'GROUPS', 'st:many'));
    }
    // The groups survive a save and load too (DEBUG RELOAD on shardis).
    const before = await a.call('XINFO', 'STREAM', 'st:many', 'FULL');
    expect(await a.call('DEBUG', 'RELOAD')).toBe('OK');
    expect(await a.call('XINFO', 'STREAM', 'st:many', 'FULL')).toEqual(before);
    for (const r of [a, b]) await r.call('XGROUP', 'DESTROY', 'st:many', 'g1');
    for (const r of [a, b]) await r.call('XGROUP', 'DESTROY', 'st:many', 'g0');
  });

  it('a RDB_TYPE_STREAM_LISTPACKS (type 15) payload restores as in redis-server', async () => {
    for (const k of ['st:many', 'st:empty', 'st:trimmed']) {
      // The type-19 value without first_id, max_deleted_entry_id and entries_added, as 6.2 wrote it.
      const p19 = (await a.dumpBuffer(k)) as Buffer;
      const p15 = toType15(p19.subarray(0, p19.length - 10));
      for (const r of [a, b]) {
        await r.call('RESTORE', `old:${k}`, '0', p15, 'REPLACE');
      }
      expect(await a.call('XINFO', 'STREAM', `old:${k}`)).toEqual(await b.call('XINFO', 'STREAM', `old:${k}`));
      expect(await a.call('DEBUG', 'DIGEST-VALUE', `old:${k}`)).toEqual(await b.call('DEBUG', 'DIGEST-VALUE', `old:${k}`));
    }
  });

  it('a type 15 payload with consumer groups: entries-read estimated as redis-server does', async () => {
    // As Redis's legacy-load test: entries deleted and trimmed, one group ahead, one at the start.
    for (const r of [a, b]) {
      for (let i = 1; i <= 6; i++) await r.call('XADD', 'legacy:g', `${i}-0`, 'data', 'v');
      await r.call('XDEL', 'legacy:g', '3-0');
      await r.call('XGROUP', 'CREATE', 'legacy:g', 'ga', '0');
      await r.call('XGROUP', 'CREATE', 'legacy:g', 'gb', '0');
      await r.call('XREADGROUP', 'GROUP', 'ga', 'c11', 'COUNT', '4', 'STREAMS', 'legacy:g', '>');
      await r.call('XTRIM', 'legacy:g', 'MAXLEN', '=', '2');
    }
    const p15 = toType15(((await b.dumpBuffer('legacy:g')) as Buffer).subarray(0, -10));
    for (const r of [a, b]) await r.call('RESTORE', 'legacy:old', '0', p15, 'REPLACE');
    const full = await a.call('XINFO', 'STREAM', 'legacy:old', 'FULL');
    expect(full).toEqual(await b.call('XINFO', 'STREAM', 'legacy:old', 'FULL'));
    expect(await a.call('XINFO', 'GROUPS', 'legacy:old')).toEqual(await b.call('XINFO', 'GROUPS', 'legacy:old'));
    // Redis's figures: the group past the trim point read 1 of the 2 entries left (lag 1), the other 0 (lag 2).
    expect(JSON.stringify(full)).toContain('"entries-read",1,"lag",1');
  });

  it('a stream payload with a broken listpack is refused, nothing changes', async () => {
    await a.config('SET', 'rdbcompression', 'no');
    const p = Buffer.from((await a.dumpBuffer('st:mixed')) as Buffer);
    await a.config('SET', 'rdbcompression', 'yes');
    const bad = corruptFirstNode(p.subarray(0, p.length - 10));
    await expect(a.call('RESTORE', 'bad:s', '0', withFooter(bad, 10))).rejects.toThrow('ERR Bad data format');
    expect(await a.exists('bad:s')).toBe(0);
  });
});

/** Footer of a DUMP payload: RDB version (2 bytes LE) and CRC-64 of everything before it. */
function withFooter(body: Buffer, version: number): Buffer {
  const v = Buffer.from([version & 0xff, version >> 8]);
  const all = Buffer.concat([body, v]);
  const crc = Buffer.alloc(8);
  crc.writeBigUInt64LE(crc64(all).value());
  return Buffer.concat([all, crc]);
}

/** rdbLoadLen's encoding: [value, bytes used]. */
function readLen(b: Buffer, at: number): [bigint, number] {
  const f = b[at];
  const t = f >> 6;
  if (t === 0) return [BigInt(f & 0x3f), 1];
  if (t === 1) return [BigInt(((f & 0x3f) << 8) | b[at + 1]), 2];
  if (f === 0x80) return [BigInt(b.readUInt32BE(at + 1)), 5];
  if (f === 0x81) return [b.readBigUInt64BE(at + 1), 9];
  // A string encoding (LZF: 0xc3 clen len data): its total size.
  if (f === 0xc3) {
    const [clen, n1] = readLen(b, at + 1);
    const [, n2] = readLen(b, at + 1 + n1);
    return [-1n, 1 + n1 + n2 + Number(clen)];
  }
  throw new Error(`length encoding ${f}`);
}

/** Skip an RDB string at `at`; returns the offset after it. */
function skipStr(b: Buffer, at: number): number {
  const [v, n] = readLen(b, at);
  if (v === -1n) return at + n;
  return at + n + Number(v);
}

/** The offset just after the nodes of a type-19 stream value starting at `at` (after the type byte). */
function afterNodes(b: Buffer, at: number): number {
  const [nodes, n] = readLen(b, at);
  let p = at + n;
  for (let i = 0; i < Number(nodes); i++) p = skipStr(b, skipStr(b, p));
  return p;
}

function toType15(body19: Buffer): Buffer {
  let p = afterNodes(body19, 1);
  const nodesPart = body19.subarray(1, p);
  const start = p;
  for (let i = 0; i < 3; i++) p += readLen(body19, p)[1]; // length, last_id ms, seq
  const head = body19.subarray(start, p);
  for (let i = 0; i < 5; i++) p += readLen(body19, p)[1]; // first_id, max_deleted, entries_added
  // Groups as 6.2 wrote them: the same, without each group's entries_read.
  const parts: Buffer[] = [];
  const [ngroups, gn] = readLen(body19, p);
  parts.push(body19.subarray(p, p + gn));
  p += gn;
  for (let g = 0; g < Number(ngroups); g++) {
    const from = p;
    p = skipStr(body19, p); // name
    for (let i = 0; i < 2; i++) p += readLen(body19, p)[1]; // last_id ms, seq
    parts.push(body19.subarray(from, p));
    p += readLen(body19, p)[1]; // entries_read: dropped
    const pelFrom = p;
    const [npel, pn] = readLen(body19, p);
    p += pn;
    for (let i = 0; i < Number(npel); i++) p += 16 + 8 + readLen(body19, p + 24)[1]; // raw id, delivery time, count
    const [ncons, cn] = readLen(body19, p);
    p += cn;
    for (let i = 0; i < Number(ncons); i++) {
      p = skipStr(body19, p) + 8; // name, seen time
      const [n, k] = readLen(body19, p);
      p += k + 16 * Number(n);
    }
    parts.push(body19.subarray(pelFrom, p));
  }
  return withFooter(Buffer.concat([Buffer.from([15]), nodesPart, head, ...parts]), 9);
}

/** The same payload body with its first node's listpack damaged (a byte of its last entry flipped). */
function corruptFirstNode(body: Buffer): Buffer {
  const b = Buffer.from(body);
  const [, n] = readLen(b, 1);
  const lpAt = skipStr(b, 1 + n); // the first node's listpack string
  const [len, m] = readLen(b, lpAt);
  if (len === -1n) throw new Error('compressed listpack: pick an uncompressed key');
  const lpStart = lpAt + m;
  // The element before the listpack's end byte is the last entry's lp-count: make it wrong.
  const endAt = lpStart + Number(len) - 1;
  b[endAt - 2] = (b[endAt - 2] + 1) & 0x7f;
  return b;
}

// The AOF beside replication: a master's PINGs and REPLCONF GETACKs travel in the stream replicas
// read but never reach its AOF (redis-check-aof accepts it, redis-server loads it with the same
// DEBUG DIGEST, the replica's offset still equals the master's); a replica with appendonly yes
// restarts its AOF after a full sync (a rewrite of the loaded dataset), so that after kill -9 and a
// restart without replicaof it holds what its master had when the replica last acknowledged.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Redis from 'ioredis';
import { startRedis, startShardis, type Server } from '../helpers/server';

const REDIS_CHECK_AOF = process.env.REDIS_CHECK_AOF || 'redis-check-aof';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function client(port: number): Redis {
  return new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0, retryStrategy: () => null });
}

async function infoField(r: Redis, section: string, field: string): Promise<string> {
  const m = new RegExp(`^${field}:(.*)$`, 'm').exec(String(await r.info(section)));
  return m === null ? '' : m[1].trim();
}

async function until(what: string, fn: () => Promise<boolean>, ms = 20000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

function incrFiles(dir: string): Buffer {
  const d = path.join(dir, 'appendonlydir');
  return Buffer.concat(fs.readdirSync(d).filter((f) => f.endsWith('.incr.aof')).map((f) => fs.readFileSync(path.join(d, f))));
}

/** Stop what a test started (whatever is still running) and remove its folder. */
async function cleanUp(dir: string, ...servers: Array<Server | null>): Promise<void> {
  for (const s of servers) await s?.stop().catch(() => undefined);
  fs.rmSync(dir, { recursive: true, force: true });
}

describe('AOF and replication', () => {
  it("a master's PINGs and GETACKs reach its replica but not its AOF", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shardis-aof-ping-'));
    let master: Server | null = null;
    let replica: Server | null = null;
    let rs: Server | null = null;
    try {
      master = await startShardis({
        threads: 2,
        args: ['--dir', dir, '--save', '', '--appendonly', 'yes', '--repl-ping-replica-period', '1', '--appendfsync', 'everysec'],
      });
      replica = await startRedis({ args: ['--enable-debug-command', 'yes'] });
      const m = client(master.port);
      const r = client(replica.port);
      await m.set('before', '1');
      await r.replicaof('127.0.0.1', String(master.port));
      await until('the replica in sync', async () => (await infoField(r, 'replication', 'master_link_status')) === 'up');
      for (let i = 0; i < 50; i++) {
        await m.incr('n');
        await m.select(i % 3);
        await m.rpush(`l${i % 3}`, String(i));
        await m.select(0);
        // WAIT appends REPLCONF GETACK * to the stream.
        if (i % 10 === 0) expect(await m.call('WAIT', '1', '2000')).toBe(1);
      }
      await m.multi().incr('n').set('tx', 'y').exec();
      // Let a few of the once-a-second PINGs through.
      await sleep(2500);
      await m.set('last', 'z');
      expect(await m.call('WAIT', '1', '2000')).toBe(1);
      // Replicas still get every byte: the offsets agree and the data is the same.
      const off = await infoField(m, 'replication', 'master_repl_offset');
      await until('the replica at the master offset', async () => (await infoField(r, 'replication', 'slave_repl_offset')) === off);
      const digest = String(await m.call('DEBUG', 'DIGEST'));
      expect(String(await r.call('DEBUG', 'DIGEST'))).toBe(digest);
      m.disconnect();
      r.disconnect();
      await master.stop();
      master = null;
      const incr = incrFiles(dir).toString('latin1');
      expect(incr).toMatch(/\$4\r\nincr\r\n/i);
      expect(incr).not.toMatch(/\$4\r\nPING\r\n/i);
      expect(incr).not.toMatch(/REPLCONF/i);
      expect(execFileSync(REDIS_CHECK_AOF, [path.join(dir, 'appendonlydir', 'appendonly.aof.manifest')], { encoding: 'utf8' }))
        .toMatch(/All AOF files and manifest are valid/);
      rs = await startRedis({ args: ['--dir', dir, '--appendonly', 'yes', '--enable-debug-command', 'yes'] });
      const c = client(rs.port);
      expect(String(await c.call('DEBUG', 'DIGEST'))).toBe(digest);
      c.disconnect();
    } finally {
      await cleanUp(dir, master, replica, rs);
    }
  }, 60_000);

  it('a replica with appendonly yes rewrites its AOF after a full sync: after kill -9 it restarts with its master\'s data', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shardis-aof-replica-'));
    let master: Server | null = null;
    let replica: Server | null = null;
    try {
      master = await startRedis({ args: ['--enable-debug-command', 'yes'] });
      const m = client(master.port);
      // Data the replica only gets through the full sync's RDB, in two dbs.
      for (let i = 0; i < 200; i++) await m.set(`k${i}`, `v${i}`);
      await m.select(4);
      await m.sadd('s', 'a', 'b', 'c');
      await m.select(0);
      // The replica had an AOF of its own before: the sync replaces it.
      replica = await startShardis({ threads: 2, args: ['--dir', dir, '--save', '', '--appendonly', 'yes'] });
      const r = client(replica.port);
      await r.set('mine', 'gone after the sync');
      await r.replicaof('127.0.0.1', String(master.port));
      await until('the replica in sync', async () => (await infoField(r, 'replication', 'master_link_status')) === 'up');
      await until('the AOF rewrite after the sync', async () =>
        (await infoField(r, 'persistence', 'aof_rewrite_in_progress')) === '0' &&
        (await infoField(r, 'persistence', 'aof_rewrite_scheduled')) === '0' &&
        fs.readFileSync(path.join(dir, 'appendonlydir', 'appendonly.aof.manifest'), 'utf8').includes('seq 2 type b'));
      // The stream after the sync, in a db the master selects once.
      await m.select(4);
      for (let i = 0; i < 100; i++) await m.sadd('s', `m${i}`);
      await m.select(2);
      await m.incrby('c', 5);
      await m.multi().incr('c').lpush('l', 'x').exec();
      expect(await m.call('WAIT', '1', '5000')).toBe(1);
      const digest = String(await m.call('DEBUG', 'DIGEST'));
      expect(String(await r.call('DEBUG', 'DIGEST'))).toBe(digest);
      r.disconnect();
      process.kill(replica.pid, 'SIGKILL');
      await replica.stop().catch(() => undefined);
      replica = await startShardis({ threads: 2, args: ['--dir', dir, '--save', '', '--appendonly', 'yes'] });
      const r2 = client(replica.port);
      expect(String(await r2.call('DEBUG', 'DIGEST'))).toBe(digest);
      expect(await r2.get('mine')).toBeNull();
      r2.disconnect();
      m.disconnect();
      const manifest = fs.readFileSync(path.join(dir, 'appendonlydir', 'appendonly.aof.manifest'), 'utf8');
      expect(manifest).toMatch(/seq 2 type b/);
      expect(execFileSync(REDIS_CHECK_AOF, [path.join(dir, 'appendonlydir', 'appendonly.aof.manifest')], { encoding: 'utf8' }))
        .toMatch(/All AOF files and manifest are valid/);
    } finally {
      await cleanUp(dir, master, replica);
    }
  }, 60_000);
  it("a shardis replica's AOF holds its master's writes but not the PINGs and GETACKs it proxies", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shardis-aof-chain-'));
    let master: Server | null = null;
    let replica: Server | null = null;
    try {
      master = await startShardis({ threads: 2, args: ['--save', '', '--appendonly', 'no', '--repl-ping-replica-period', '1'] });
      replica = await startShardis({ threads: 2, args: ['--dir', dir, '--save', '', '--appendonly', 'yes'] });
      const m = client(master.port);
      const r = client(replica.port);
      await m.set('before', '1');
      await r.replicaof('127.0.0.1', String(master.port));
      await until('the replica in sync', async () => (await infoField(r, 'replication', 'master_link_status')) === 'up');
      await until('the AOF rewrite after the sync', async () =>
        (await infoField(r, 'persistence', 'aof_rewrite_in_progress')) === '0' && (await infoField(r, 'persistence', 'aof_rewrites')) === '1');
      for (let i = 0; i < 30; i++) {
        await m.select(i % 2);
        await m.rpush('l', String(i));
        if (i % 10 === 0) expect(await m.call('WAIT', '1', '2000')).toBe(1);
      }
      await sleep(2500);
      await m.select(1);
      await m.incr('last');
      expect(await m.call('WAIT', '1', '2000')).toBe(1);
      const digest = String(await m.call('DEBUG', 'DIGEST'));
      r.disconnect();
      m.disconnect();
      process.kill(replica.pid, 'SIGKILL');
      await replica.stop().catch(() => undefined);
      const incr = incrFiles(dir).toString('latin1');
      expect(incr).toMatch(/rpush/i);
      expect(incr).not.toMatch(/\$4\r\nPING\r\n/i);
      expect(incr).not.toMatch(/REPLCONF/i);
      replica = await startShardis({ threads: 2, args: ['--dir', dir, '--save', '', '--appendonly', 'yes'] });
      const r2 = client(replica.port);
      expect(String(await r2.call('DEBUG', 'DIGEST'))).toBe(digest);
      r2.disconnect();
    } finally {
      await cleanUp(dir, master, replica);
    }
  }, 60_000);
  it('PUBLISH reaches the AOF neither alone nor inside MULTI, and wraps an EXEC only with a replica attached: the same INCR file as redis-server', async () => {
    // Redis propagates PUBLISH to replicas only, and only with a backlog (shouldPropagate): with no
    // replica an EXEC of SET + PUBLISH is one op (no MULTI/EXEC); with one it is two, and the AOF
    // gets MULTI SET EXEC (a PUBLISH-only EXEC leaves an empty MULTI/EXEC).
    const files: string[] = [];
    for (const withReplica of [false, true]) {
      for (const kind of ['redis', 'shardis'] as const) {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shardis-aof-pub-'));
        let m: Server | null = null;
        let r: Server | null = null;
        try {
          const args = ['--dir', dir, '--save', '', '--appendonly', 'yes'];
          m = kind === 'redis' ? await startRedis({ args }) : await startShardis({ threads: 2, args });
          const c = client(m.port);
          if (withReplica) {
            r = await startRedis();
            const rc = client(r.port);
            await rc.replicaof('127.0.0.1', String(m.port));
            await until('the replica in sync', async () => (await infoField(rc, 'replication', 'master_link_status')) === 'up');
            rc.disconnect();
          }
          expect(await c.multi().set('a', '1').publish('ch', 'm').exec()).toEqual([[null, 'OK'], [null, 0]]);
          await c.multi().publish('ch', 'x').publish('ch', 'y').exec();
          await c.publish('ch', 'top');
          await c.set('b', '2');
          c.disconnect();
          await sleep(300);
          await m.stop();
          m = null;
          files.push(incrFiles(dir).toString('latin1'));
          expect(execFileSync(REDIS_CHECK_AOF, [path.join(dir, 'appendonlydir', 'appendonly.aof.manifest')], { encoding: 'utf8' })).toMatch(/valid/);
        } finally {
          await cleanUp(dir, m, r);
        }
      }
    }
    expect(files[1]).toBe(files[0]);
    expect(files[3]).toBe(files[2]);
    expect(files[0]).not.toMatch(/MULTI|PUBLISH/i);
    expect(files[2]).toMatch(/MULTI/);
    expect(files[2]).not.toMatch(/PUBLISH/i);
  }, 60_000);
  it("redis.set_repl(): REPL_AOF writes reach the AOF but not the replica, REPL_REPLICA the replica but not the AOF, offsets equal", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shardis-aof-setrepl-'));
    let master: Server | null = null;
    let replica: Server | null = null;
    let rs: Server | null = null;
    try {
      // appendfsync always: a script's reply waits for its AOF part, which is not in the stream.
      master = await startShardis({ threads: 2, args: ['--dir', dir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'always'] });
      replica = await startRedis({ args: ['--enable-debug-command', 'yes'] });
      const m = client(master.port);
      const r = client(replica.port);
      await r.replicaof('127.0.0.1', String(master.port));
      await until('the replica in sync', async () => (await infoField(r, 'replication', 'master_link_status')) === 'up');
      // TCL unit/scripting's "Test selective replication of certain Redis commands from Lua".
      await m.eval(`redis.call('set','a','1')
        redis.set_repl(redis.REPL_NONE)
        redis.call('set','b','2')
        redis.set_repl(redis.REPL_AOF)
        redis.call('set','c','3')
        redis.set_repl(redis.REPL_ALL)
        redis.call('set','d','4')`, 0);
      // One effect for the AOF alone (the stream gets a PING), one for the replica alone, in db 3.
      await m.eval("redis.set_repl(redis.REPL_AOF) redis.call('set','aof-only','x')", 0);
      await m.select(3);
      await m.eval("redis.set_repl(redis.REPL_REPLICA) redis.call('set','replica-only','y') redis.call('incr','n')", 0);
      await m.incr('n');
      await m.select(0);
      await m.set('last', 'z');
      expect(await m.call('WAIT', '1', '5000')).toBe(1);
      const off = await infoField(m, 'replication', 'master_repl_offset');
      await until('the replica at the master offset', async () => (await infoField(r, 'replication', 'slave_repl_offset')) === off);
      expect(await r.mget('a', 'b', 'c', 'd', 'aof-only', 'last')).toEqual(['1', null, null, '4', null, 'z']);
      await r.select(3);
      expect(await r.mget('replica-only', 'n')).toEqual(['y', '2']);
      expect(await m.mget('a', 'b', 'c', 'd', 'aof-only')).toEqual(['1', '2', '3', '4', 'x']);
      // The AOF: a, c and d (c inside the script's MULTI/EXEC), aof-only; not b, not the db 3 script.
      const incr = incrFiles(dir).toString('latin1');
      expect(incr).toContain('*3\r\n$3\r\nset\r\n$1\r\nc\r\n$1\r\n3\r\n');
      expect(incr).toContain('aof-only');
      expect(incr).not.toContain('replica-only');
      expect(incr).not.toMatch(/\$4\r\nPING\r\n/i);
      expect(execFileSync(REDIS_CHECK_AOF, [path.join(dir, 'appendonlydir', 'appendonly.aof.manifest')], { encoding: 'utf8' }))
        .toMatch(/All AOF files and manifest are valid/);
      // DEBUG LOADAOF: what the AOF holds, as redis-server's test expects.
      expect(await m.call('DEBUG', 'LOADAOF')).toBe('OK');
      expect(await m.mget('a', 'b', 'c', 'd', 'aof-only', 'last')).toEqual(['1', null, '3', '4', 'x', 'z']);
      await m.select(3);
      expect(await m.mget('replica-only', 'n')).toEqual([null, '1']);
      m.disconnect();
      r.disconnect();
      await master.stop();
      master = null;
      // redis-server loads the same AOF.
      rs = await startRedis({ args: ['--dir', dir, '--appendonly', 'yes'] });
      const c = client(rs.port);
      expect(await c.mget('a', 'b', 'c', 'd', 'aof-only')).toEqual(['1', null, '3', '4', 'x']);
      c.disconnect();
    } finally {
      await cleanUp(dir, master, replica, rs);
    }
  }, 60_000);

  it('redis.set_repl() with the AOF alone attached: the AOF gets its part in the stream, REPL_REPLICA writes stay out', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shardis-aof-setrepl1-'));
    let master: Server | null = null;
    try {
      master = await startShardis({ threads: 2, args: ['--dir', dir, '--save', '', '--appendonly', 'yes'] });
      const m = client(master.port);
      await m.eval("redis.set_repl(redis.REPL_AOF) redis.call('set','p','1') redis.set_repl(redis.REPL_REPLICA) redis.call('set','q','2')", 0);
      expect(await m.call('DEBUG', 'LOADAOF')).toBe('OK');
      expect(await m.mget('p', 'q')).toEqual(['1', null]);
      m.disconnect();
    } finally {
      await cleanUp(dir, master);
    }
  }, 30_000);
});

// Replication, master side (issue 12): a stock redis-server replica of a shardis master, through
// the real handshake (PING, REPLCONF, PSYNC): full resyncs disk-based and diskless under
// concurrent writes on 2 threads (same DEBUG DIGEST afterwards), partial resync after CLIENT KILL
// TYPE replica, WAIT, min-replicas-to-write, the replica output buffer limit, redis-cli --rdb.
import { afterEach, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { againstRedis, startRedis, startShardis, type Server } from '../helpers/server';
import { RawClient, show, type Reply } from '../helpers/resp';
import { rng } from '../helpers/util';

const started: Server[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.stop()));
});

async function master(args: string[]): Promise<Server> {
  const s = await startShardis({ threads: 2, args: ['--save', '', '--appendonly', 'no', ...args] });
  started.push(s);
  return s;
}

/**
 * A master that logs into a folder of its own (its dir too), with `keys` keys (DEBUG POPULATE)
 * and a client on it; the caller closes the client and removes the folder.
 */
async function loggedMaster(args: string[], keys = 0): Promise<{ m: Server; c: RawClient; dir: string; log: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shardis-rm-'));
  const log = path.join(dir, 'log');
  const m = await master([...args, '--logfile', log, '--dir', dir]);
  const c = await RawClient.connect(m.port);
  if (keys > 0) expect(text(await c.call('DEBUG', 'POPULATE', String(keys)))).toBe('OK');
  return { m, c, dir, log };
}

async function replicaOf(m: Server, args: string[] = []): Promise<Server> {
  const r = await startRedis({ args: ['--enable-debug-command', 'yes', '--replicaof', '127.0.0.1', String(m.port), ...args] });
  started.push(r);
  return r;
}

function text(r: Reply): string {
  return r.t === 'bulk' && r.v !== null ? r.v.toString('latin1') : r.t === 'simple' || r.t === 'error' ? r.v : show(r);
}

async function info(port: number, section: string): Promise<Map<string, string>> {
  const m = new Map<string, string>();
  for (const line of text(await RawClient.once(port, 'INFO', section)).split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) m.set(line.slice(0, i), line.slice(i + 1));
  }
  return m;
}

async function until(what: string, cond: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The replica's link is up and it has processed everything the master had appended. */
/** A replica that registers (PSYNC) and then never reads: its socket is paused. */
async function stalledReplica(m: Server): Promise<RawClient> {
  const fake = await RawClient.connect(m.port);
  fake.send('REPLCONF', 'listening-port', '1');
  fake.send('PSYNC', '?', '-1');
  await until('the replica to be registered', async () => (await info(m.port, 'replication')).get('connected_slaves') === '1');
  fake.socket.pause();
  return fake;
}

/** n pipelined SETs of value over ten keys, every reply read. */
async function setMany(c: RawClient, n: number, value: string): Promise<void> {
  for (let i = 0; i < n; i++) c.send('SET', `big${i % 10}`, value);
  for (let i = 0; i < n; i++) await c.read();
}

async function caughtUp(m: Server, r: Server): Promise<void> {
  await until('the replica to catch up', async () => {
    const mo = Number((await info(m.port, 'replication')).get('master_repl_offset'));
    const ri = await info(r.port, 'replication');
    return ri.get('master_link_status') === 'up' && Number(ri.get('slave_repl_offset')) >= mo && mo > 0;
  });
}

/** The process is gone (a master that shut down). */
async function exited(pid: number): Promise<void> {
  await until('the process to exit', async () => {
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true;
    }
  });
}

/** The replica's link to its master is up. */
async function linkUp(r: Server): Promise<void> {
  await until('the replica link', async () => (await info(r.port, 'replication')).get('master_link_status') === 'up');
}

async function digests(m: Server, r: Server): Promise<[string, string]> {
  return [text(await RawClient.once(m.port, 'DEBUG', 'DIGEST')), text(await RawClient.once(r.port, 'DEBUG', 'DIGEST'))];
}

/** Random writes over a few types and dbs, from `conns` connections, for `ms`. */
async function writeLoad(port: number, seed: number, conns: number, ms: number): Promise<number> {
  const clients = await Promise.all(Array.from({ length: conns }, () => RawClient.connect(port)));
  let n = 0;
  const stopAt = Date.now() + ms;
  await Promise.all(
    clients.map(async (c, i) => {
      const r = rng(seed * 100 + i);
      const int = (k: number): number => Math.floor(r() * k);
      await c.call('SELECT', i % 3);
      while (Date.now() < stopAt) {
        const batch: (string | number)[][] = [];
        for (let j = 0; j < 16; j++) {
          const k = `k${int(200)}`;
          switch (int(9)) {
            case 0: batch.push(['SET', `s:${k}`, `v${int(1e6)}`]); break;
            case 1: batch.push(['INCRBY', `n:${k}`, int(100)]); break;
            case 2: batch.push(['LPUSH', `l:${k}`, int(1000), int(1000)]); break;
            case 3: batch.push(['HSET', `h:${k}`, `f${int(20)}`, int(1e4)]); break;
            case 4: batch.push(['SADD', `S:${k}`, `m${int(50)}`]); break;
            case 5: batch.push(['ZADD', `z:${k}`, int(100), `e${int(30)}`]); break;
            case 6: batch.push(['DEL', `s:${k}`]); break;
            case 7: batch.push(['EXPIRE', `l:${k}`, 10000 + int(1000)]); break;
            default: batch.push(['MULTI'], ['INCR', `n:${k}`], ['RPOP', `l:${k}`], ['EXEC']);
          }
        }
        for (const cmd of batch) c.send(...cmd);
        for (let j = 0; j < batch.length; j++) await c.read();
        n += batch.length;
      }
    }),
  );
  await Promise.all(clients.map((c) => c.close()));
  return n;
}

async function preload(port: number): Promise<void> {
  const c = await RawClient.connect(port);
  for (let db = 0; db < 3; db++) {
    c.send('SELECT', db);
    for (let i = 0; i < 2000; i++) c.send('SET', `pre:${i}`, `value-${db}-${i}`);
    c.send('RPUSH', 'pre:list', ...Array.from({ length: 500 }, (_, i) => i));
    for (let i = 0; i < 2002; i++) await c.read();
  }
  await c.close();
}

describe.skipIf(againstRedis())('replication: shardis master, redis-server replica', () => {
  for (const diskless of [false, true]) {
    it(`full resync (${diskless ? 'diskless' : 'disk-based'}) under concurrent writes on 2 threads gives the same digest`, async () => {
      const m = await master(['--repl-diskless-sync', diskless ? 'yes' : 'no', '--repl-diskless-sync-delay', '0']);
      await preload(m.port);
      // The replica syncs while 4 connections write.
      const load = writeLoad(m.port, diskless ? 2 : 1, 4, 2500);
      await new Promise((r) => setTimeout(r, 300));
      const r = await replicaOf(m);
      const writes = await load;
      expect(writes).toBeGreaterThan(100);
      await caughtUp(m, r);
      const [a, b] = await digests(m, r);
      expect(a).not.toBe('0'.repeat(40));
      expect(b).toBe(a);
      const mi = await info(m.port, 'replication');
      expect(mi.get('connected_slaves')).toBe('1');
      expect(mi.get('slave0')).toMatch(/^ip=127\.0\.0\.1,port=\d+,state=online,offset=\d+,lag=\d+$/);
      expect(mi.get('repl_backlog_active')).toBe('1');
      const st = await info(m.port, 'stats');
      expect(st.get('sync_full')).toBe('1');
      // The replica's own view: same replication id and offset as the master.
      const ri = await info(r.port, 'replication');
      expect(ri.get('master_replid')).toBe(mi.get('master_replid'));
      // ROLE lists the online replica with its port and acked offset.
      const role = await RawClient.once(m.port, 'ROLE');
      const rv = (role as { v: Reply[] }).v;
      expect(text(rv[0])).toBe('master');
      expect(((rv[2] as { v: Reply[] }).v).length).toBe(1);
    }, 60_000);
  }

  it('a master restarted from its RDB continues partially with its replica, whose expired keys it DELs through the backlog', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shardis-master-restart-'));
    const args = ['--dir', dir, '--save', '3600 1', '--repl-diskless-sync-delay', '0'];
    let m = await master(args);
    try {
      const r = await replicaOf(m);
      await linkUp(r);
      const c = await RawClient.connect(m.port);
      // Keys that expire while the master is down (not before: no active expiry), in two dbs,
      // beside keys that live on.
      await c.call('DEBUG', 'SET-ACTIVE-EXPIRE', '0');
      for (const db of [0, 3]) {
        c.send('SELECT', db);
        for (let i = 0; i < 100; i++) c.send('SET', `short:${i}`, 'v', 'PX', '400');
        for (let i = 0; i < 100; i++) c.send('SET', `long:${i}`, 'v');
        for (let i = 0; i < 201; i++) await c.read();
      }
      await caughtUp(m, r);
      const before = await info(m.port, 'replication');
      // SHUTDOWN saves the file with the replication id and offset (the backlog is on); NOW: no
      // wait for the replica's ACK, whose GETACK would move the offset.
      c.send('SHUTDOWN', 'NOW');
      await c.read().catch(() => undefined);
      await c.close();
      await exited(m.pid);
      started.splice(started.indexOf(m), 1);
      await m.stop().catch(() => undefined); // it exited: only its files go
      await new Promise((res) => setTimeout(res, 500));
      m = await master(args);
      const mi = await info(m.port, 'replication');
      expect(mi.get('master_replid2')).toBe(before.get('master_replid'));
      expect(mi.get('second_repl_offset')).toBe(String(Number(before.get('master_repl_offset')) + 1));
      expect((await info(m.port, 'persistence')).get('rdb_last_load_keys_expired')).toBe('200');
      // The 200 DELs (with their SELECTs) are in the backlog, past the offset the file recorded.
      expect(Number(mi.get('master_repl_offset'))).toBeGreaterThan(Number(before.get('master_repl_offset')) + 200 * 20);
      // The replica follows the master to its new port and continues from its cached state.
      await RawClient.once(r.port, 'REPLICAOF', '127.0.0.1', String(m.port));
      await until('a partial resync', async () => Number((await info(m.port, 'stats')).get('sync_partial_ok')) === 1);
      expect((await info(m.port, 'stats')).get('sync_full')).toBe('0');
      await caughtUp(m, r);
      for (const db of ['0', '3']) {
        const sizes = await Promise.all([m.port, r.port].map(async (p) => {
          const k = await RawClient.connect(p);
          await k.call('SELECT', db);
          const n = text(await k.call('DBSIZE'));
          await k.close();
          return n;
        }));
        expect(sizes).toEqual(['(integer) 100', '(integer) 100']);
      }
      const [a, b] = await digests(m, r);
      expect(b).toBe(a);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('SHUTDOWN waits for a lagging replica (writes paused, blocked, shutdown_in_milliseconds), ABORT cancels it, and it exits once the replica caught up', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shardis-shutdown-wait-'));
    const logfile = path.join(dir, 'm.log');
    const m = await master(['--logfile', logfile, '--shutdown-timeout', '60', '--repl-diskless-sync-delay', '0']);
    const r = await replicaOf(m);
    const a = await RawClient.connect(m.port);
    const b = await RawClient.connect(m.port);
    const replicaPid = r.pid;
    try {
      await linkUp(r);
      await a.call('SET', 'k', '1');
      await caughtUp(m, r);
      // connected_clients leaves replicas out, as redis-server's: a, b and info()'s own.
      expect((await info(m.port, 'clients')).get('connected_clients')).toBe('3');
      process.kill(replicaPid, 'SIGSTOP');
      await a.call('INCR', 'k');
      a.send('SHUTDOWN');
      await until('the shutdown to wait', async () => Number((await info(m.port, 'server')).get('shutdown_in_milliseconds')) > 0);
      expect((await info(m.port, 'clients')).get('blocked_clients')).toBe('1');
      // Writes wait meanwhile (reads do not).
      b.send('SET', 'x', 'y');
      const setReply = b.read();
      const held = await Promise.race([setReply.then(() => 'replied'), new Promise((res) => setTimeout(() => res('held'), 300))]);
      expect(held).toBe('held');
      expect(text(await RawClient.once(m.port, 'GET', 'k'))).toBe('2');
      expect(text(await RawClient.once(m.port, 'SHUTDOWN', 'ABORT'))).toBe('OK');
      expect(text(await a.read())).toBe('ERR Errors trying to SHUTDOWN. Check logs.');
      expect(text(await setReply)).toBe('OK');
      expect((await info(m.port, 'server')).has('shutdown_in_milliseconds')).toBe(false);
      expect(text(await RawClient.once(m.port, 'SHUTDOWN', 'ABORT'))).toBe('ERR No shutdown in progress.');
      // Again, and the replica wakes up: the master exits once it acknowledged everything.
      await a.call('INCR', 'k');
      a.send('SHUTDOWN');
      await until('the shutdown to wait', async () => Number((await info(m.port, 'server')).get('shutdown_in_milliseconds')) > 0);
      process.kill(replicaPid, 'SIGCONT');
      await exited(m.pid);
      expect(text(await RawClient.once(r.port, 'GET', 'k'))).toBe('3');
      const lines = fs.readFileSync(logfile, 'utf8');
      expect(lines).toContain('Waiting for replicas before shutting down.');
      expect(lines).toContain('Shutdown manually aborted.');
      expect(lines).toContain('1 of 1 replicas are in sync when shutting down.');
      expect(lines).not.toContain('Lagging replica');
    } finally {
      try {
        process.kill(replicaPid, 'SIGCONT');
      } catch {
        /* gone */
      }
      await a.close().catch(() => undefined);
      await b.close().catch(() => undefined);
      started.splice(started.indexOf(m), 1);
      await m.stop().catch(() => undefined); // it exited: only its files go
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('SHUTDOWN gives up on a replica that stays behind after shutdown-timeout, naming it in the log', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shardis-shutdown-timeout-'));
    const logfile = path.join(dir, 'm.log');
    const m = await master(['--logfile', logfile, '--shutdown-timeout', '1', '--repl-diskless-sync-delay', '0']);
    const r = await replicaOf(m);
    try {
      await linkUp(r);
      await RawClient.once(m.port, 'SET', 'k', '1');
      await caughtUp(m, r);
      process.kill(r.pid, 'SIGSTOP');
      await RawClient.once(m.port, 'INCR', 'k');
      process.kill(m.pid, 'SIGTERM');
      await exited(m.pid);
      const lines = fs.readFileSync(logfile, 'utf8');
      expect(lines).toMatch(/Lagging replica 127\.0\.0\.1:\d+ reported offset \d+ behind master, lag=\d+, state=online\./);
      expect(lines).toContain('0 of 1 replicas are in sync when shutting down.');
    } finally {
      process.kill(r.pid, 'SIGCONT');
      started.splice(started.indexOf(m), 1);
      await m.stop().catch(() => undefined);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('master_repl_offset stands still without a backlog (the AOF alone does not move it), as Redis; a backlog goes on from there', async () => {
    const { m, c, dir } = await loggedMaster(['--appendonly', 'yes', '--repl-diskless-sync', 'no']);
    try {
      await preload(m.port);
      let mi = await info(m.port, 'replication');
      expect(mi.get('repl_backlog_active')).toBe('0');
      expect(mi.get('master_repl_offset')).toBe('0');
      const r = await replicaOf(m);
      await writeLoad(m.port, 11, 2, 300);
      await caughtUp(m, r);
      mi = await info(m.port, 'replication');
      expect(mi.get('repl_backlog_first_byte_offset')).toBe('1');
      const [a, b] = await digests(m, r);
      expect(b).toBe(a);
      // No replica for repl-backlog-ttl: the backlog goes, the offset stands where it was.
      expect(text(await c.call('CONFIG', 'SET', 'repl-backlog-ttl', '1'))).toBe('OK');
      await r.stop();
      started.splice(started.indexOf(r), 1);
      await until('the backlog to be freed', async () => (await info(m.port, 'replication')).get('repl_backlog_active') === '0');
      const frozen = (await info(m.port, 'replication')).get('master_repl_offset');
      expect(Number(frozen)).toBeGreaterThan(0);
      await writeLoad(m.port, 12, 2, 200);
      expect((await info(m.port, 'replication')).get('master_repl_offset')).toBe(frozen);
      expect(Number((await info(m.port, 'persistence')).get('aof_current_size'))).toBeGreaterThan(0);
    } finally {
      await c.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('partial resync after CLIENT KILL TYPE replica sends only the missing part', async () => {
    const m = await master(['--repl-diskless-sync', 'no']);
    await preload(m.port);
    const r = await replicaOf(m);
    await caughtUp(m, r);
    const before = await info(m.port, 'stats');
    expect(before.get('sync_partial_ok')).toBe('0');
    // CLIENT KILL reaches the threads one after the other: the replica, which reconnects at once,
    // may be killed a second time on another thread (then it resyncs partially twice).
    const kill = await RawClient.once(m.port, 'CLIENT', 'KILL', 'TYPE', 'replica');
    expect(kill.t === 'int' && kill.v >= 1n, show(kill)).toBe(true);
    // Writes while the replica reconnects: they come from the backlog.
    await writeLoad(m.port, 7, 2, 500);
    await until('a partial resync', async () => Number((await info(m.port, 'stats')).get('sync_partial_ok')) >= 1);
    await caughtUp(m, r);
    const st = await info(m.port, 'stats');
    expect(st.get('sync_full')).toBe('1');
    const [a, b] = await digests(m, r);
    expect(b).toBe(a);
  }, 60_000);

  it('WAIT counts the replicas that acknowledged; times out with fewer', async () => {
    const m = await master(['--repl-diskless-sync', 'no']);
    const r = await replicaOf(m);
    await caughtUp(m, r);
    const c = await RawClient.connect(m.port);
    try {
      await c.call('SET', 'w', '1');
      expect(await c.call('WAIT', '1', '5000')).toEqual({ t: 'int', v: 1n });
      const t0 = Date.now();
      expect(await c.call('WAIT', '2', '300')).toEqual({ t: 'int', v: 1n });
      expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
      expect(await c.call('WAIT', '0', '0')).toEqual({ t: 'int', v: 1n });
      expect(text(await c.call('WAIT', 'x', '0'))).toBe('ERR value is not an integer or out of range');
      expect(text(await c.call('WAIT', '1', '-1'))).toBe('ERR timeout is negative');
      // A replica that sleeps does not acknowledge.
      await RawClient.once(r.port, 'DEBUG', 'SLEEP', '0');
      const sleeper = RawClient.once(r.port, 'DEBUG', 'SLEEP', '1');
      await new Promise((res) => setTimeout(res, 100));
      await c.call('SET', 'w', '2');
      expect(await c.call('WAIT', '1', '300')).toEqual({ t: 'int', v: 0n });
      await sleeper;
      expect(await c.call('WAIT', '1', '5000')).toEqual({ t: 'int', v: 1n });
      // DEBUG REPLICATE: a command for the replicas only.
      expect(text(await c.call('DEBUG', 'REPLICATE', 'SET', 'only-on-replica', 'yes'))).toBe('OK');
      expect(await c.call('WAIT', '1', '5000')).toEqual({ t: 'int', v: 1n });
      expect(text(await c.call('EXISTS', 'only-on-replica'))).toBe(show({ t: 'int', v: 0n }));
      expect(text(await RawClient.once(r.port, 'GET', 'only-on-replica'))).toBe('yes');
    } finally {
      await c.close();
    }
  }, 60_000);

  it('min-replicas-to-write refuses writes without enough good replicas (NOREPLICAS)', async () => {
    const m = await master(['--repl-diskless-sync', 'no']);
    const c = await RawClient.connect(m.port);
    try {
      await c.call('FUNCTION', 'LOAD', "#!lua name=t\nredis.register_function{function_name='f', callback=function(keys, args) return redis.call('get',keys[1]) end, flags={}}");
      await c.call('CONFIG', 'SET', 'min-replicas-to-write', '1');
      expect(text(await c.call('FUNCTION', 'DELETE', 't'))).toBe('NOREPLICAS Not enough good replicas to write.');
      expect(text(await c.call('SET', 'a', '1'))).toBe('NOREPLICAS Not enough good replicas to write.');
      expect(text(await c.call('GET', 'a'))).toContain('(nil)');
      await c.call('MULTI');
      expect(text(await c.call('SET', 'a', '1'))).toBe('NOREPLICAS Not enough good replicas to write.');
      expect(text(await c.call('EXEC'))).toBe('EXECABORT Transaction discarded because of previous errors.');
      // Scripts: a write from redis.call, a function that may write, a shebang script that may.
      expect(text(await c.call('EVAL', "return redis.call('set','foo','bar')", '0'))).toContain('NOREPLICAS');
      expect(text(await c.call('EVAL', "#!lua\nreturn redis.call('set','foo','bar')", '0'))).toContain('NOREPLICAS');
      expect(text(await c.call('EVAL', "#!lua flags=no-writes\nreturn redis.call('get','foo')", '0'))).toContain('(nil)');
      expect(text(await c.call('EVAL', "return redis.call('get','foo')", '0'))).toContain('(nil)');
      expect(text(await c.call('FCALL', 'f', '1', 'foo'))).toContain('NOREPLICAS');
      const r = await replicaOf(m);
      await until('a good replica', async () => (await info(m.port, 'replication')).get('min_slaves_good_slaves') === '1');
      expect(text(await c.call('SET', 'a', '1'))).toBe('OK');
      await c.call('CONFIG', 'SET', 'min-replicas-to-write', '2');
      await c.call('MULTI');
      expect(text(await c.call('GET', 'a'))).toBe('QUEUED');
      expect(text(await c.call('EXEC'))).toContain('1');
      expect(text(await c.call('INCR', 'a'))).toBe('NOREPLICAS Not enough good replicas to write.');
      void r;
    } finally {
      await c.close();
    }
  }, 60_000);

  it('a script that has written is not refused when the replicas drop under it', async () => {
    // scriptVerifyWriteCommandAllow: once a script wrote, the server's state can no longer fail
    // it (a script is atomic). TCL scripting "not enough good replicas state change during long
    // script": the script writes, waits in a loop for the replica to go, and writes again.
    const m = await master(['--repl-diskless-sync', 'no']);
    const c = await RawClient.connect(m.port);
    const r = await replicaOf(m);
    try {
      await c.call('CONFIG', 'SET', 'min-replicas-to-write', '1');
      // As the TCL test's lua-time-limit 10: a busy script's thread still sees its sockets close.
      await c.call('CONFIG', 'SET', 'busy-reply-threshold', '10');
      await until('a good replica', async () => (await info(m.port, 'replication')).get('min_slaves_good_slaves') === '1');
      const run = c.call('EVAL', [
        "redis.call('set', KEYS[1], 'script value')",
        'while true do',
        "  local info = redis.call('info', 'replication')",
        "  if string.match(info, 'connected_slaves:0') then redis.call('set', KEYS[1], info) break end",
        'end',
        'return 1',
      ].join('\n'), '1', 'x');
      // Once the script is past the threshold (it has written by then), the replica goes.
      const probe = await RawClient.connect(m.port);
      await until('the script to be busy', async () => text(await probe.call('PING')).startsWith('BUSY'));
      await probe.close();
      const rc = await RawClient.connect(r.port);
      expect(text(await rc.call('REPLICAOF', 'NO', 'ONE'))).toBe('OK');
      await rc.close();
      const res = await run;
      expect(res, show(res)).toEqual({ t: 'int', v: 1n });
      expect(text(await c.call('GET', 'x'))).toContain('connected_slaves:0');
    } finally {
      await c.close();
    }
  }, 60_000);

  it('a replica that does not read is cut by client-output-buffer-limit replica', async () => {
    const m = await master(['--repl-diskless-sync', 'no', '--client-output-buffer-limit', 'replica 1mb 0 0']);
    const fake = await stalledReplica(m);
    const c = await RawClient.connect(m.port);
    await setMany(c, 400, 'x'.repeat(64 * 1024));
    await until('the replica to be cut', async () => (await info(m.port, 'replication')).get('connected_slaves') === '0');
    await c.close();
    fake.socket.destroy();
  }, 60_000);

  it('a replica limit under repl-backlog-size counts as repl-backlog-size (Redis 7.0)', async () => {
    const m = await master(['--repl-diskless-sync', 'no', '--client-output-buffer-limit', 'replica 512kb 0 0', '--repl-backlog-size', '16mb']);
    const fake = await stalledReplica(m);
    const big = 'x'.repeat(64 * 1024);
    const c = await RawClient.connect(m.port);
    // 6.4 MB for it: past 512 KB, within the 16 MB backlog. It stays.
    await setMany(c, 100, big);
    await new Promise((r) => setTimeout(r, 500));
    expect((await info(m.port, 'replication')).get('connected_slaves')).toBe('1');
    // 25 MB more: past the backlog's size, it is cut.
    await setMany(c, 400, big);
    await until('the replica to be cut', async () => (await info(m.port, 'replication')).get('connected_slaves') === '0');
    await c.close();
    fake.socket.destroy();
  }, 60_000);

  it("mem_clients_slaves follows a replica's buffer as the writes feed it, not only at the cron (maxmemory set)", async () => {
    // DEBUG PAUSE-CRON 1 while the writes go in: no cron recount, so what shows is the live count.
    const m = await master(['--repl-diskless-sync', 'no', '--hz', '1', '--maxmemory', '1gb', '--client-output-buffer-limit', 'replica 0 0 0', '--enable-debug-command', 'yes']);
    const fake = await stalledReplica(m);
    const c = await RawClient.connect(m.port);
    expect(text(await c.call('DEBUG', 'PAUSE-CRON', '1'))).toBe('OK');
    const v = 'x'.repeat(4096);
    const slaves = async (): Promise<number> => Number((await info(m.port, 'memory')).get('mem_clients_slaves'));
    // Past what the kernel's socket buffers take, the rest waits in the link's output.
    for (let i = 0; i < 4000; i++) c.send('SET', `k${i % 10}`, v);
    for (let i = 0; i < 4000; i++) await c.read();
    // The replication thread's hop to the link takes milliseconds (more on a loaded machine).
    // Until it holds them all: the same figure twice in a row.
    let now = 0;
    await until('the link to hold the writes', async () => {
      const v = await slaves();
      const settled = v > 2_000_000 && v === now;
      now = v;
      return settled;
    });
    expect(now).toBeGreaterThan(2_000_000);
    expect(text(await c.call('DEBUG', 'PAUSE-CRON', '0'))).toBe('OK');
    await new Promise((r) => setTimeout(r, 1200));
    // The cron has run since: it finds what was already counted.
    expect(Math.abs((await slaves()) - now)).toBeLessThan(64 * 1024);
    await c.close();
    fake.socket.destroy();
  }, 60_000);

  it('a diskless transfer stops when its last replica leaves (rdbPipeReadHandler)', async () => {
    // 2000 keys at 100 ms each: the transfer would run for minutes if nothing stopped it.
    const { m, c, dir, log } = await loggedMaster(['--repl-diskless-sync', 'yes', '--repl-diskless-sync-delay', '0', '--rdb-key-save-delay', '100000'], 2000);
    const fake = await RawClient.connect(m.port);
    fake.send('REPLCONF', 'capa', 'eof', 'capa', 'psync2');
    fake.send('PSYNC', '?', '-1');
    await until('the transfer to start', async () => fs.readFileSync(log, 'utf8').includes('Starting BGSAVE for SYNC with target: replicas sockets'));
    // Redis's RDB child writing to sockets: a BGSAVE in progress, and another one is refused.
    await until('the transfer to be in progress', async () => (await info(m.port, 'persistence')).get('rdb_bgsave_in_progress') === '1');
    expect(fs.readFileSync(log, 'utf8')).toContain('Background RDB transfer started by pid');
    expect(text(await c.call('BGSAVE'))).toBe('ERR Background save already in progress');
    fake.socket.destroy();
    await until('the transfer to stop', async () => fs.readFileSync(log, 'utf8').includes('Diskless rdb transfer, last replica dropped'), 10_000);
    await until('the transfer to end', async () => fs.readFileSync(log, 'utf8').includes('Background transfer terminated by signal 10'), 10_000);
    // The snapshot has ended: a BGSAVE starts at once instead of waiting behind it.
    await until('a BGSAVE to start', async () => text(await c.call('BGSAVE')) === 'Background saving started', 10_000);
    await c.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('a replica that stops reading its diskless RDB is dropped after repl-timeout (full sync)', async () => {
    // ~30 MB uncompressed: far more than the socket buffers hold.
    const { m, c, dir, log } = await loggedMaster(['--repl-diskless-sync', 'yes', '--repl-diskless-sync-delay', '0', '--repl-timeout', '2', '--rdbcompression', 'no']);
    expect(text(await c.call('DEBUG', 'POPULATE', '3000', 'k', '10000'))).toBe('OK');
    const fake = await RawClient.connect(m.port);
    fake.send('REPLCONF', 'capa', 'eof', 'capa', 'psync2');
    fake.send('PSYNC', '?', '-1');
    await until('the transfer to start', async () => fs.readFileSync(log, 'utf8').includes('Background RDB transfer started by pid'));
    fake.socket.pause();
    await until('the replica to time out', async () => fs.readFileSync(log, 'utf8').includes('Disconnecting timedout replica (full sync)'), 15_000);
    await until('the transfer to end', async () => (await info(m.port, 'persistence')).get('rdb_bgsave_in_progress') === '0', 10_000);
    expect((await info(m.port, 'replication')).get('connected_slaves')).toBe('0');
    fake.socket.destroy();
    await c.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('FLUSHALL kills a diskless transfer (killRDBChild): its replica is dropped and syncs again', async () => {
    const { m, c, dir, log } = await loggedMaster(['--repl-diskless-sync', 'yes', '--repl-diskless-sync-delay', '0', '--rdb-key-save-delay', '100000'], 2000);
    const r = await replicaOf(m);
    await until('the transfer to start', async () => fs.readFileSync(log, 'utf8').includes('Background RDB transfer started by pid'));
    await until('the transfer in progress', async () => (await info(m.port, 'persistence')).get('rdb_bgsave_in_progress') === '1');
    const before = fs.readFileSync(log, 'utf8').split('Background RDB transfer started by pid').length;
    expect(text(await c.call('FLUSHALL'))).toBe('OK');
    await until('the transfer to be killed', async () => fs.readFileSync(log, 'utf8').includes('Background transfer terminated by signal 10'), 10_000)
      .catch((e: unknown) => {
        throw new Error(`${(e as Error).message}\n--- master log ---\n${fs.readFileSync(log, 'utf8').slice(-3000)}`);
      });
    // The replica comes back for a new sync, of the emptied dataset.
    await c.call('CONFIG', 'SET', 'rdb-key-save-delay', '0');
    await until('a second transfer', async () => fs.readFileSync(log, 'utf8').split('Background RDB transfer started by pid').length > before, 20_000);
    await until('the replica in sync', async () => (await info(r.port, 'replication')).get('master_link_status') === 'up', 20_000);
    expect(await RawClient.once(r.port, 'DBSIZE')).toEqual({ t: 'int', v: 0n });
    await c.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('a disk BGSAVE for a replica stops when the replica leaves, unless save rules want the file', async () => {
    const { m, c, dir, log } = await loggedMaster(['--repl-diskless-sync', 'no', '--rdb-key-save-delay', '100000'], 2000);
    const sync = async (): Promise<RawClient> => {
      const fake = await RawClient.connect(m.port);
      fake.send('PSYNC', '?', '-1');
      await until('the BGSAVE for the replica', async () => (await info(m.port, 'persistence')).get('rdb_bgsave_in_progress') === '1');
      return fake;
    };
    // No save rule: nobody wants the file once the replica is gone (Redis kills its child).
    (await sync()).socket.destroy();
    await until('the BGSAVE to stop', async () => (await info(m.port, 'persistence')).get('rdb_bgsave_in_progress') === '0', 10_000);
    expect(fs.readFileSync(log, 'utf8')).toContain('Background saving terminated by signal 10');
    // Stopped on purpose: not a failed save (no MISCONF).
    expect((await info(m.port, 'persistence')).get('rdb_last_bgsave_status')).toBe('ok');
    expect(text(await c.call('SET', 'k', 'v'))).toBe('OK');
    // With a save rule the file is wanted: the BGSAVE goes on.
    expect(text(await c.call('CONFIG', 'SET', 'save', '900 1'))).toBe('OK');
    (await sync()).socket.destroy();
    await new Promise((r) => setTimeout(r, 1500));
    expect((await info(m.port, 'persistence')).get('rdb_bgsave_in_progress')).toBe('1');
    await c.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('a replica that sends a command with a reply is disconnected, nothing written into its stream', async () => {
    const { m, c, dir, log } = await loggedMaster([]);
    // GET is refused first (a replica can't use the keyspace); SLOWLOG GET answers later.
    for (const [cmd, name] of [[['PING'], 'ping'], [['XINFO', 'HELP'], 'xinfo|help'], [['NOSUCHCMD'], '<unknown>'], [['GET', 'foo'], 'get'], [['SLOWLOG', 'GET'], 'slowlog|get']] as const) {
      const fake = await RawClient.connect(m.port);
      fake.send('SYNC');
      // The RDB arrives, then the command: its reply must not follow it on the link. Newlines
      // before it are the master's keep-alives while the RDB is made (replicationCron sends one
      // a second, as Redis's; a replica skips them).
      const rdb = await fake.readRaw(10_000, (b) => {
        const h = /^\n*\$(\d+)\r\n/.exec(b.toString('latin1', 0, 64));
        return h !== null && b.length >= h[0].length + Number(h[1]);
      });
      expect(rdb.toString('latin1')).toMatch(/^\n*\$\d+\r\nREDIS/);
      fake.send(...cmd);
      await fake.closed();
      expect((await fake.readRaw(100)).toString('latin1')).not.toMatch(/PONG|ERR|XINFO/);
      expect(fs.readFileSync(log, 'utf8')).toContain(`Replica generated a reply to command '${name}', disconnecting it: id=`);
    }
    const logText = fs.readFileSync(log, 'utf8');
    expect(logText).toContain("== CRITICAL == This master is sending an error to its replica: 'ERR Replica can't interact with the keyspace' after processing the command 'get'");
    expect(text(await c.call('PING'))).toBe('PONG');
    await c.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('replicas that ask for a disk sync while a BGSAVE for another replica runs attach to it, with the writes made since it started', async () => {
    const { m, c, dir, log } = await loggedMaster(['--repl-diskless-sync', 'no', '--rdb-key-save-delay', '50000'], 30);
    const r1 = await replicaOf(m);
    await until('the first BGSAVE', async () => (await info(m.port, 'persistence')).get('rdb_bgsave_in_progress') === '1');
    // Written after the snapshot's point in time and before the others ask: they reach the
    // late replicas only through the backlog.
    for (let i = 0; i < 200; i++) c.send('SET', `during:${i}`, `v${i}`);
    for (let i = 0; i < 200; i++) await c.read();
    const [r2, r3] = await Promise.all([replicaOf(m), replicaOf(m)]);
    await until('both to attach', async () => fs.readFileSync(log, 'utf8').split('\n').filter((l) => l.includes('Waiting for end of BGSAVE for SYNC')).length === 2);
    expect(text(await c.call('SET', 'after', 'attach'))).toBe('OK');
    expect(await c.call('LPUSH', 'list', 'a', 'b')).toEqual({ t: 'int', v: 2n });
    for (const r of [r1, r2, r3]) await caughtUp(m, r);
    for (const r of [r1, r2, r3]) expect(await RawClient.once(r.port, 'DBSIZE')).toEqual({ t: 'int', v: 232n });
    for (const r of [r1, r2, r3]) {
      const [a, b] = await digests(m, r);
      expect(b).toBe(a);
    }
    const logText = fs.readFileSync(log, 'utf8');
    expect(logText.split('\n').filter((l) => l.includes('Background saving started')).length).toBe(1);
    expect(logText).not.toContain('Waiting for next BGSAVE for SYNC');
    expect((await info(m.port, 'stats')).get('sync_full')).toBe('3');
    await c.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it("a replica attaches to a replica's BGSAVE after more than repl-backlog-size was written since it started: the waiting replica holds that part (Redis 7.0's shared buffer)", async () => {
    const { m, c, dir, log } = await loggedMaster(['--repl-diskless-sync', 'no', '--rdb-key-save-delay', '50000', '--repl-backlog-size', '16384'], 30);
    const r1 = await replicaOf(m);
    await until('the first BGSAVE', async () => (await info(m.port, 'persistence')).get('rdb_bgsave_in_progress') === '1');
    // 64 KB written since the snapshot started: more than the 16 KB backlog size.
    const value = 'x'.repeat(1000);
    for (let i = 0; i < 64; i++) c.send('SET', `big:${i}`, value);
    for (let i = 0; i < 64; i++) await c.read();
    await until('the backlog to hold them', async () => Number((await info(m.port, 'replication')).get('repl_backlog_histlen')) > 64000);
    const r2 = await replicaOf(m);
    await until('the attach', async () => fs.readFileSync(log, 'utf8').includes('Waiting for end of BGSAVE for SYNC'));
    for (const r of [r1, r2]) await caughtUp(m, r);
    for (const r of [r1, r2]) {
      const [a, b] = await digests(m, r);
      expect(b).toBe(a);
    }
    const logText = fs.readFileSync(log, 'utf8');
    expect(logText).not.toContain("Can't attach the replica to the current BGSAVE");
    expect(logText.split('\n').filter((l) => l.includes('Background saving started')).length).toBe(1);
    await c.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('replicas that ask for a disk sync while a BGSAVE of no replica runs share the next one', async () => {
    const { m, c, dir, log } = await loggedMaster(['--repl-diskless-sync', 'no', '--rdb-key-save-delay', '50000'], 30);
    expect(text(await c.call('BGSAVE'))).toBe('Background saving started');
    const [r1, r2] = await Promise.all([replicaOf(m), replicaOf(m)]);
    for (const r of [r1, r2]) await linkUp(r);
    for (const r of [r1, r2]) expect(await RawClient.once(r.port, 'DBSIZE')).toEqual({ t: 'int', v: 30n });
    const logText = fs.readFileSync(log, 'utf8');
    expect(logText.split('\n').filter((l) => l.includes('Background saving started')).length).toBe(2);
    expect(logText).toContain('Waiting for next BGSAVE for SYNC');
    expect(logText).not.toContain('Waiting for end of BGSAVE for SYNC');
    await c.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it("the stream a replica's link holds while its RDB is made counts in its omem, mem_clients_slaves and used_memory", async () => {
    const m = await master(['--repl-diskless-sync', 'no', '--rdb-key-save-delay', '100000']);
    const c = await RawClient.connect(m.port);
    expect(text(await c.call('DEBUG', 'POPULATE', '100'))).toBe('OK');
    const fake = await RawClient.connect(m.port);
    fake.send('PSYNC', '?', '-1');
    await until('the BGSAVE for the replica', async () => (await info(m.port, 'persistence')).get('rdb_bgsave_in_progress') === '1');
    const before = Number((await info(m.port, 'memory')).get('used_memory'));
    const value = 'x'.repeat(1000);
    for (let i = 0; i < 2000; i++) c.send('SET', `held:${i}`, value);
    for (let i = 0; i < 2000; i++) await c.read();
    // 2000 SETs of ~1 KB wait in the link until the RDB is through (the cron recounts clients).
    await until('the link to show what it holds', async () => {
      const line = text(await c.call('CLIENT', 'LIST')).split('\n').find((l) => l.includes('flags=S'));
      const omem = Number(/ omem=(\d+)/.exec(line ?? '')?.[1] ?? '0');
      const mi = await info(m.port, 'memory');
      return omem > 2_000_000 && Number(mi.get('mem_clients_slaves')) > 2_000_000 && Number(mi.get('used_memory')) - before > 2_000_000 * 2;
    }, 5_000);
    fake.socket.destroy();
    await c.close();
  }, 60_000);

  it('the backlog keeps what a slow replica holds past repl-backlog-size (one shared buffer): another replica continues partially from it; trimmed once it leaves', async () => {
    const m = await master(['--repl-diskless-sync', 'no', '--repl-backlog-size', '16384']);
    const c = await RawClient.connect(m.port);
    expect(text(await c.call('DEBUG', 'POPULATE', '100'))).toBe('OK');
    const r = await replicaOf(m);
    await caughtUp(m, r);
    // A replica held in wait_bgsave (a save of 100 keys that takes 10 s) holds the stream from its sync.
    expect(text(await c.call('CONFIG', 'SET', 'rdb-key-save-delay', '100000'))).toBe('OK');
    const slow = await RawClient.connect(m.port);
    slow.send('PSYNC', '?', '-1');
    await until('the BGSAVE for the slow replica', async () => (await info(m.port, 'persistence')).get('rdb_bgsave_in_progress') === '1');
    const setMany = async (prefix: string, n: number): Promise<void> => {
      for (let i = 0; i < n; i++) c.send('SET', `${prefix}:${i}`, 'x'.repeat(1000));
      for (let i = 0; i < n; i++) await c.read();
    };
    await setMany('a', 2000);
    await caughtUp(m, r);
    const held = await info(m.port, 'replication');
    expect(Number(held.get('repl_backlog_histlen'))).toBeGreaterThan(2_000_000);
    expect(Number((await info(m.port, 'memory')).get('mem_total_replication_buffers'))).toBeGreaterThan(2_000_000);
    // The other replica leaves (for a master that is not there: it keeps this one's id and
    // offset), misses 1 MB (64 times the backlog size) and comes back: partial.
    expect(text(await RawClient.once(r.port, 'REPLICAOF', '127.0.0.1', '1'))).toBe('OK');
    await until('the replica gone', async () => (await info(m.port, 'replication')).get('connected_slaves') === '1');
    await setMany('b', 1000);
    expect(text(await RawClient.once(r.port, 'REPLICAOF', '127.0.0.1', String(m.port)))).toBe('OK');
    await caughtUp(m, r);
    const st = await info(m.port, 'stats');
    expect(st.get('sync_partial_ok')).toBe('1');
    expect(st.get('sync_full')).toBe('2');
    const [a, b] = await digests(m, r);
    expect(b).toBe(a);
    // The slow replica gone, what only it held is trimmed.
    slow.socket.destroy();
    await until('the backlog back to its size', async () => Number((await info(m.port, 'replication')).get('repl_backlog_histlen')) < 1_100_000);
    expect(Number((await info(m.port, 'memory')).get('mem_total_replication_buffers'))).toBeLessThan(1_100_000);
    await c.close();
  }, 60_000);

  it('redis-cli --rdb fetches a snapshot through SYNC (REPLCONF rdb-only)', async () => {
    const m = await master(['--repl-diskless-sync', 'no']);
    await preload(m.port);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shardis-rdb-'));
    try {
      const file = path.join(dir, 'x.rdb');
      const r = spawnSync('redis-cli', ['-p', String(m.port), '--rdb', file], { encoding: 'utf8', timeout: 30_000 });
      expect(r.status, r.stderr + r.stdout).toBe(0);
      const chk = spawnSync('redis-check-rdb', [file], { encoding: 'utf8', timeout: 30_000 });
      expect(chk.status, chk.stdout).toBe(0);
      expect(chk.stdout).toContain('6003 keys read');
      // The rdb-only client is gone once it has its file.
      await until('the rdb-only client to leave', async () => (await info(m.port, 'replication')).get('connected_slaves') === '0');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('redis-cli --replica (REPLCONF rdb-filter-only) prints the commands the master propagates', async () => {
    const m = await master([]);
    const cli = spawn('redis-cli', ['-p', String(m.port), '--replica'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    cli.stdout.on('data', (d: Buffer) => (out += d.toString()));
    cli.stderr.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await until('the cli to sync', async () => out.includes('Logging commands from master'));
      await RawClient.once(m.port, 'SET', 'b', '2');
      await RawClient.once(m.port, 'LPUSH', 'l', 'x');
      await until('the commands to be printed', async () => out.toLowerCase().includes('"lpush","l","x"')).catch((e: Error) => { throw new Error(`${e.message}: ${out}`); });
      expect(out.toLowerCase()).toContain('"set","b","2"');
    } finally {
      cli.kill();
    }
  }, 60_000);
});

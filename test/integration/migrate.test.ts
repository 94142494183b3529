// MIGRATE (Redis 7.0's migrateCommand) between real servers: shardis -> redis-server,
// shardis -> shardis and redis-server -> shardis; COPY, REPLACE, KEYS, NOKEY, TTLs, AUTH and
// AUTH2, the target's errors, a timeout, the cached connection, and the DEL a replica receives.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Redis from 'ioredis';
import { startRedis, startShardis, type Server } from '../helpers/server';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const client = (port: number): Redis => new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0, retryStrategy: () => null });

async function err(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as Error).message;
  }
  return 'no error';
}

describe('MIGRATE', () => {
  let sh: Server;
  let sh2: Server;
  let red: Server;
  let a: Redis;
  let b: Redis;
  let r: Redis;
  beforeAll(async () => {
    [sh, sh2, red] = await Promise.all([startShardis({ threads: 2 }), startShardis({ threads: 2 }), startRedis({ args: ['--enable-debug-command', 'yes'] })]);
    a = client(sh.port);
    b = client(sh2.port);
    r = client(red.port);
  }, 60_000);
  afterAll(async () => {
    a.disconnect();
    b.disconnect();
    r.disconnect();
    await Promise.all([sh.stop(), sh2.stop(), red.stop()]);
  });

  it('moves keys of every type to redis-server and to shardis, with TTLs, in the target db', async () => {
    await a.set('s', 'value');
    await a.rpush('l', 'a', 'b', 'c');
    await a.zadd('z', 1, 'x', 2.5, 'y');
    await a.hset('h', 'f', 'v');
    await a.sadd('set', 1, 2, 3);
    await a.set('ttl', 'v', 'PX', 100000);
    expect(await a.call('MIGRATE', '127.0.0.1', String(red.port), 's', '0', '5000')).toBe('OK');
    expect(await a.exists('s')).toBe(0);
    expect(await r.get('s')).toBe('value');
    expect(await a.call('MIGRATE', '127.0.0.1', String(red.port), '', '3', '5000', 'KEYS', 'l', 'z', 'ttl', 'missing')).toBe('OK');
    expect(await a.exists('l', 'z', 'ttl')).toBe(0);
    await r.select(3);
    expect(await r.lrange('l', 0, -1)).toEqual(['a', 'b', 'c']);
    expect(await r.zrange('z', 0, -1, 'WITHSCORES')).toEqual(['x', '1', 'y', '2.5']);
    const ttl = await r.pttl('ttl');
    expect(ttl).toBeGreaterThan(90000);
    expect(ttl).toBeLessThanOrEqual(100000);
    await r.select(0);
    // shardis -> shardis, and redis-server -> shardis.
    expect(await a.call('MIGRATE', '127.0.0.1', String(sh2.port), '', '0', '5000', 'KEYS', 'h', 'set')).toBe('OK');
    expect(await b.hgetall('h')).toEqual({ f: 'v' });
    expect((await b.smembers('set')).sort()).toEqual(['1', '2', '3']);
    expect(await b.object('ENCODING', 'set')).toBe('intset');
    expect(await r.call('MIGRATE', '127.0.0.1', String(sh2.port), 's', '0', '5000')).toBe('OK');
    expect(await b.get('s')).toBe('value');
    expect(await r.exists('s')).toBe(0);
    // Nothing to move.
    expect(await a.call('MIGRATE', '127.0.0.1', String(red.port), 'missing', '0', '5000')).toBe('NOKEY');
  }, 30_000);

  it('COPY keeps the key, REPLACE overwrites, a busy key stays where it was and is reported', async () => {
    await a.set('c', 'one');
    expect(await a.call('MIGRATE', '127.0.0.1', String(red.port), 'c', '0', '5000', 'COPY')).toBe('OK');
    expect(await a.get('c')).toBe('one');
    expect(await r.get('c')).toBe('one');
    await a.set('c', 'two');
    expect(await err(a.call('MIGRATE', '127.0.0.1', String(red.port), 'c', '0', '5000'))).toBe('ERR Target instance replied with error: BUSYKEY Target key name already exists.');
    expect(await a.get('c')).toBe('two');
    expect(await a.call('MIGRATE', '127.0.0.1', String(red.port), 'c', '0', '5000', 'REPLACE')).toBe('OK');
    expect(await r.get('c')).toBe('two');
    expect(await a.exists('c')).toBe(0);
    // Only acknowledged keys are deleted (Redis's "delete just ack keys").
    await a.mset('k1', '1', 'k2', '2', 'k3', '3');
    await r.set('k2', 'busy');
    expect(await err(a.call('MIGRATE', '127.0.0.1', String(red.port), '', '0', '5000', 'KEYS', 'k1', 'k2', 'k3'))).toContain('BUSYKEY');
    expect(await a.exists('k1', 'k2', 'k3')).toBe(1);
    expect(await a.get('k2')).toBe('2');
    expect(await r.mget('k1', 'k3')).toEqual(['1', '3']);
  }, 30_000);

  it('argument errors are as in Redis', async () => {
    await a.set('e', 'v');
    expect(await err(a.call('MIGRATE', '127.0.0.1', String(red.port), 'e', '0', '5000', 'KEYS', 'e'))).toBe(
      'ERR When using MIGRATE KEYS option, the key argument must be set to the empty string',
    );
    expect(await err(a.call('MIGRATE', '127.0.0.1', String(red.port), 'e', '0', '5000', 'BOGUS'))).toBe('ERR syntax error');
    expect(await err(a.call('MIGRATE', '127.0.0.1', String(red.port), 'e', '0', '5000', 'AUTH'))).toBe('ERR syntax error');
    expect(await err(a.call('MIGRATE', '127.0.0.1', String(red.port), 'e', '0', 'x'))).toBe('ERR value is not an integer or out of range');
    expect(await err(a.call('MIGRATE', '127.0.0.1', String(red.port), 'e', 'x', '5000'))).toBe('ERR value is not an integer or out of range');
    expect(await err(a.call('MIGRATE', '127.0.0.1', '1', 'e', '0', '500'))).toBe('IOERR error or timeout connecting to the client');
    expect(await a.get('e')).toBe('v');
    // COMMAND GETKEYS knows both forms.
    expect(await a.call('COMMAND', 'GETKEYS', 'MIGRATE', 'h', '1', 'k', '0', '10')).toEqual(['k']);
    expect(await a.call('COMMAND', 'GETKEYS', 'MIGRATE', 'h', '1', '', '0', '10', 'KEYS', 'x', 'y')).toEqual(['x', 'y']);
  }, 30_000);

  it('AUTH and AUTH2 reach the target; a wrong password is the target error', async () => {
    await b.config('SET', 'requirepass', 'pw');
    try {
      await a.set('p', 'v');
      expect(await a.call('MIGRATE', '127.0.0.1', String(sh2.port), 'p', '0', '5000', 'AUTH', 'pw')).toBe('OK');
      await a.set('p2', 'v');
      expect(await a.call('MIGRATE', '127.0.0.1', String(sh2.port), 'p2', '0', '5000', 'AUTH2', 'default', 'pw')).toBe('OK');
      await a.set('p3', 'v');
      expect(await err(a.call('MIGRATE', '127.0.0.1', String(sh2.port), 'p3', '0', '5000', 'AUTH', 'nope'))).toMatch(/^ERR Target instance replied with error: WRONGPASS/);
      expect(await a.exists('p3')).toBe(1);
    } finally {
      const c = new Redis({ port: sh2.port, host: '127.0.0.1', password: 'pw', maxRetriesPerRequest: 0, retryStrategy: () => null });
      await c.config('SET', 'requirepass', '');
      c.disconnect();
    }
    expect(await b.mget('p', 'p2')).toEqual(['v', 'v']);
  }, 30_000);

  it('a target that does not answer in time gives IOERR and the key stays', async () => {
    await a.set('slow', 'v');
    const sleeper = client(red.port);
    const busy = sleeper.call('DEBUG', 'SLEEP', '1.5');
    await sleep(100);
    expect(await err(a.call('MIGRATE', '127.0.0.1', String(red.port), 'slow', '0', '300'))).toMatch(/^IOERR error or timeout (reading|writing) to target instance$/);
    await busy;
    sleeper.disconnect();
    expect(await a.get('slow')).toBe('v');
    // The connection was dropped; the next MIGRATE connects again and succeeds.
    expect(await a.call('MIGRATE', '127.0.0.1', String(red.port), 'slow', '0', '5000', 'REPLACE')).toBe('OK');
  }, 30_000);

  it('connections are cached (INFO migrate_cached_sockets), and a replica gets DEL of the moved keys', async () => {
    const cached = Number(/migrate_cached_sockets:(\d+)/.exec(String(await a.info('stats')))?.[1]);
    expect(cached).toBeGreaterThanOrEqual(1);
    const rep = await startRedis();
    const rc = client(rep.port);
    try {
      await a.set('rep1', 'v');
      await a.set('rep2', 'w');
      await rc.replicaof('127.0.0.1', String(sh.port));
      for (let i = 0; i < 200 && (await rc.get('rep2')) !== 'w'; i++) await sleep(50);
      expect(await rc.get('rep1')).toBe('v');
      expect(await a.call('MIGRATE', '127.0.0.1', String(red.port), '', '0', '5000', 'REPLACE', 'KEYS', 'rep1')).toBe('OK');
      await a.set('marker', 'm');
      for (let i = 0; i < 200 && (await rc.get('marker')) !== 'm'; i++) await sleep(50);
      expect(await rc.exists('rep1')).toBe(0);
      expect(await rc.get('rep2')).toBe('w');
    } finally {
      rc.disconnect();
      await rep.stop();
    }
  }, 60_000);
});

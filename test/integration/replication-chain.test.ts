// Chains (issue 12): the stream a shardis replica appends for its own replicas is its master's,
// byte for byte, so a replica of a replica holds the same data at the same offset.
//   redis-server -> shardis -> redis-server, and shardis -> shardis -> shardis.
import { afterEach, describe, expect, it } from 'vitest';
import { startRedis, startShardis, type Server } from '../helpers/server';
import { RawClient, canon, type Reply } from '../helpers/resp';
import { info, text, until as untilFor } from '../helpers/replication';

const sh = (r: Reply): string => canon(r).replace(/\r\n$/, '');

const until = (what: string, fn: () => Promise<boolean>, ms = 30000): Promise<void> => untilFor(what, fn, ms);

/** Writes of every kind on a few connections, with SELECT, MULTI and an effects-replicated EVAL. */
async function writes(port: number, n: number, tag: string): Promise<void> {
  await Promise.all([0, 1, 2].map(async (k) => {
    const c = await RawClient.connect(port);
    try {
      for (let i = 0; i < n; i++) {
        await c.call('SELECT', String(i % 3));
        await c.call('SET', `${tag}:s:${k}:${i % 50}`, `v${i}`);
        await c.call('RPUSH', `${tag}:l:${k}`, String(i));
        await c.call('HSET', `${tag}:h:${k}`, `f${i % 30}`, String(i));
        await c.call('ZADD', `${tag}:z`, String(i), `m${k}:${i % 40}`);
        if (i % 10 === 0) {
          await c.call('MULTI');
          await c.call('INCR', `${tag}:n`);
          await c.call('SADD', `${tag}:set`, String(i));
          await c.call('EXEC');
          await c.call('EVAL', "redis.call('INCRBY', KEYS[1], 2); return redis.call('LPUSH', KEYS[2], ARGV[1])", '2', `${tag}:n2`, `${tag}:l2`, String(i));
          await c.call('SET', `${tag}:ttl:${i}`, 'x', 'EX', '1000');
        }
      }
    } finally {
      await c.close();
    }
  }));
}

/** Every server of the chain has the top's digest and offset once the writes have reached them. */
async function converged(chain: RawClient[]): Promise<void> {
  const top = chain[0];
  const off = (await info(top, 'replication')).master_repl_offset;
  for (const c of chain.slice(1)) {
    await until('the offset to reach the end of the chain', async () => (await info(c, 'replication')).master_repl_offset === off);
  }
  const d = text(await top.call('DEBUG', 'DIGEST'));
  expect(d).not.toBe('0000000000000000000000000000000000000000');
  for (const c of chain.slice(1)) expect(text(await c.call('DEBUG', 'DIGEST'))).toBe(d);
}

async function linkedTo(c: RawClient, port: number): Promise<void> {
  await until(`a link to ${port}`, async () => {
    const i = await info(c, 'replication');
    return i.master_port === String(port) && i.master_link_status === 'up';
  });
}

const servers: Server[] = [];
const clients: RawClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  for (const s of servers.splice(0).reverse()) await s.stop();
});

describe('replication chains', () => {
  it('redis-server -> shardis -> redis-server: same data, same offset, partial resync down the chain', async () => {
    const top = await startRedis({ args: ['--enable-debug-command', 'yes', '--repl-diskless-sync', 'no'] });
    servers.push(top);
    const mid = await startShardis({ threads: 2, args: ['--save', '', '--replicaof', '127.0.0.1', String(top.port)] });
    servers.push(mid);
    const low = await startRedis({ args: ['--enable-debug-command', 'yes', '--replicaof', '127.0.0.1', String(mid.port)] });
    servers.push(low);
    const [a, b, c] = await Promise.all([top, mid, low].map((s) => RawClient.connect(s.port)));
    clients.push(a, b, c);
    await writes(top.port, 60, 'pre');
    await linkedTo(b, top.port);
    await linkedTo(c, mid.port);
    await writes(top.port, 120, 'live');
    await converged([a, b, c]);
    // A replica that attaches while the stream stays in one db (no SELECT after its snapshot):
    // it must apply what follows to that db (repl-stream-db in the snapshot we send).
    await a.call('SELECT', '2');
    await a.call('SET', 'db2:first', '1');
    await linkedTo(b, top.port);
    const late = await startRedis({ args: ['--enable-debug-command', 'yes', '--replicaof', '127.0.0.1', String(mid.port)] });
    servers.push(late);
    const d = await RawClient.connect(late.port);
    clients.push(d);
    await linkedTo(d, mid.port);
    await a.call('SET', 'db2:after', '1');
    await a.call('SELECT', '0');
    await converged([a, b, c, d]);
        // The lower link cut: the redis replica continues partially from shardis's backlog.
    const partial = Number((await info(b, 'stats')).sync_partial_ok);
    // Both replicas (one reconnecting at once may be counted twice: the threads are reached in turn).
    expect(sh(await b.call('CLIENT', 'KILL', 'TYPE', 'replica'))).toMatch(/^:[2-9]/);
    await writes(top.port, 30, 'cut');
    await until('the partial resync below shardis', async () => Number((await info(b, 'stats')).sync_partial_ok) > partial);
    await converged([a, b, c]);
  }, 90000);

  it('shardis -> shardis -> shardis', async () => {
    const top = await startShardis({ threads: 2, args: ['--save', ''] });
    servers.push(top);
    const a = await RawClient.connect(top.port);
    clients.push(a);
    await writes(top.port, 40, 'pre');
    const mid = await startShardis({ threads: 2, args: ['--save', '', '--replicaof', '127.0.0.1', String(top.port)] });
    servers.push(mid);
    const low = await startShardis({ threads: 2, args: ['--save', '', '--replicaof', '127.0.0.1', String(mid.port)] });
    servers.push(low);
    const [b, c] = await Promise.all([mid, low].map((s) => RawClient.connect(s.port)));
    clients.push(b, c);
    await linkedTo(b, top.port);
    await linkedTo(c, mid.port);
    await writes(top.port, 120, 'live');
    await converged([a, b, c]);
    expect(sh(await c.call('SET', 'x', '1'))).toBe("-READONLY You can't write against a read only replica.");
    // Promote the middle one: the bottom one keeps following it, partially (replid2).
    const partial = Number((await info(b, 'stats')).sync_partial_ok);
    expect(sh(await b.call('REPLICAOF', 'NO', 'ONE'))).toBe('+OK');
    await until('the bottom replica to continue with the promoted one', async () => Number((await info(b, 'stats')).sync_partial_ok) > partial);
    expect(sh(await b.call('SET', 'promoted', '1'))).toBe('+OK');
    await writes(mid.port, 20, 'after');
    await converged([b, c]);
  }, 90000);
});

describe('PUBLISH reaches replicas', () => {
  it("a message published on a shardis master reaches subscribers of its replicas (shardis and redis-server) and of a replica's replica", async () => {
    const top = await startShardis({ threads: 2, args: ['--save', ''] });
    servers.push(top);
    const mid = await startShardis({ threads: 2, args: ['--save', '', '--replicaof', '127.0.0.1', String(top.port)] });
    servers.push(mid);
    const low = await startRedis({ args: ['--replicaof', '127.0.0.1', String(mid.port)] });
    servers.push(low);
    const [a, b, c] = await Promise.all([top, mid, low].map((s) => RawClient.connect(s.port)));
    clients.push(a, b, c);
    await linkedTo(b, top.port);
    await linkedTo(c, mid.port);
    const subs = await Promise.all([mid, low].map((s) => RawClient.connect(s.port)));
    clients.push(...subs);
    for (const s of subs) await s.call('SUBSCRIBE', 'news');
    expect(sh(await a.call('PUBLISH', 'news', 'hello'))).toBe(':0');
    for (const s of subs) expect(sh(await s.read())).toBe(sh({ t: 'array', v: [{ t: 'bulk', v: Buffer.from('message') }, { t: 'bulk', v: Buffer.from('news') }, { t: 'bulk', v: Buffer.from('hello') }] }));
  }, 60000);
});

// FAILOVER (issue 12): a coordinated hand-over from a master to its replica, between shardis
// servers and with redis-server 7.0 on either side. Writes pause until the target has the whole
// stream, the old master becomes its replica (PSYNC ... FAILOVER), nothing written is lost.
import { afterEach, describe, expect, it } from 'vitest';
import { startRedis, startShardis, type Server } from '../helpers/server';
import { RawClient, type Reply } from '../helpers/resp';
import { info, text, until } from '../helpers/replication';
import { connectOnThreads } from '../helpers/threads';

const servers: Server[] = [];
const clients: RawClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close().catch(() => {});
  for (const s of servers.splice(0).reverse()) await s.stop();
});

async function connect(s: Server): Promise<RawClient> {
  const c = await RawClient.connect(s.port);
  clients.push(c);
  return c;
}

async function linked(c: RawClient, port: number): Promise<void> {
  await until(`a link to ${port}`, async () => {
    const i = await info(c, 'replication');
    return i.role === 'slave' && i.master_port === String(port) && i.master_link_status === 'up';
  });
}

const errText = (r: Reply): string => (r.t === 'error' ? r.v : `not an error: ${JSON.stringify(r)}`);

/** Writes on three connections until `stop()`; counts acknowledged INCRs per connection. */
function load(port: number): { stop: () => Promise<number[]> } {
  let running = true;
  const acked = [0, 0, 0];
  const done = acked.map(async (_, k) => {
    const c = await RawClient.connect(port);
    try {
      while (running) {
        const r = await c.call('INCR', `n:{${k}}`);
        if (r.t !== 'int') break; // READONLY once the server is a replica
        acked[k] = Number(r.v);
        await c.call('RPUSH', `l:{${k}}`, String(r.v));
      }
    } finally {
      await c.close().catch(() => {});
    }
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(done);
      return acked;
    },
  };
}

/** FAILOVER on `from` (a master with `to` as replica) under load; returns when roles swapped. */
async function failOver(from: Server, to: Server, args: string[]): Promise<void> {
  const a = await connect(from);
  const b = await connect(to);
  await linked(b, from.port);
  const w = load(from.port);
  await new Promise((r) => setTimeout(r, 300));
  expect(text(await a.call('FAILOVER', ...args))).toBe('OK');
  await until('the target to become master', async () => (await info(b, 'replication')).role === 'master');
  await linked(a, to.port);
  expect((await info(a, 'replication')).master_failover_state).toBe('no-failover');
  const acked = await w.stop();
  expect(acked.every((n) => n > 0)).toBe(true);
  // Every acknowledged INCR is on the new master; nothing was written after the hand-over.
  for (let k = 0; k < 3; k++) {
    expect(Number(text(await b.call('GET', `n:{${k}}`)))).toBe(acked[k]);
  }
  await b.call('SET', 'after', 'failover');
  await until('the old master to replicate the new one', async () => text(await a.call('GET', 'after')) === 'failover');
  expect(text(await a.call('DEBUG', 'DIGEST'))).toBe(text(await b.call('DEBUG', 'DIGEST')));
  expect(errText(await a.call('SET', 'x', '1'))).toMatch(/^READONLY/);
}

describe('FAILOVER', () => {
  it('hands a shardis master over to its shardis replica under load, then back', async () => {
    const m = await startShardis({ threads: 2, args: ['--save', '', '--repl-diskless-sync-delay', '0'] });
    servers.push(m);
    const r = await startShardis({ threads: 2, args: ['--save', '', '--repl-diskless-sync-delay', '0', '--replicaof', '127.0.0.1', String(m.port)] });
    servers.push(r);
    await failOver(m, r, []);
    const stats = await info(await connect(r), 'stats');
    expect(Number(stats.sync_partial_ok)).toBeGreaterThanOrEqual(1); // continued, no full resync
    await failOver(r, m, ['TO', '127.0.0.1', String(m.port), 'TIMEOUT', '5000']);
  });

  it('works with redis-server 7.0 on either side', async () => {
    const redis = await startRedis({ args: ['--enable-debug-command', 'yes', '--repl-diskless-sync-delay', '0'] });
    servers.push(redis);
    const sh = await startShardis({ threads: 2, args: ['--save', '', '--repl-diskless-sync-delay', '0', '--replicaof', '127.0.0.1', String(redis.port)] });
    servers.push(sh);
    // redis master -> shardis replica: shardis takes redis's PSYNC ... FAILOVER and promotes itself.
    await failOver(redis, sh, ['TO', '127.0.0.1', String(sh.port)]);
    // shardis master -> redis replica: redis takes ours.
    await failOver(sh, redis, []);
  });

  it('answers errors as Redis', async () => {
    const m = await startShardis({ threads: 2, args: ['--save', ''] });
    servers.push(m);
    const c = await connect(m);
    expect(errText(await c.call('FAILOVER'))).toBe('ERR FAILOVER requires connected replicas.');
    expect(errText(await c.call('FAILOVER', 'ABORT'))).toBe('ERR No failover in progress.');
    expect(errText(await c.call('FAILOVER', 'TIMEOUT', '0'))).toBe('ERR FAILOVER timeout must be greater than 0');
    expect(errText(await c.call('FAILOVER', 'BOGUS'))).toBe('ERR syntax error');
    const r = await startShardis({ threads: 2, args: ['--save', '', '--replicaof', '127.0.0.1', String(m.port)] });
    servers.push(r);
    const rc = await connect(r);
    await linked(rc, m.port);
    expect(errText(await rc.call('FAILOVER'))).toBe('ERR FAILOVER is not valid when server is a replica.');
    expect(errText(await c.call('FAILOVER', 'FORCE', 'TIMEOUT', '10'))).toBe('ERR FAILOVER with force option requires both a timeout and target HOST and IP.');
    expect(errText(await c.call('FAILOVER', 'TO', '127.0.0.1', '1'))).toBe('ERR FAILOVER target HOST and PORT is not a replica.');
    expect(errText(await rc.call('PSYNC', 'abc', '1', 'FAILOVER'))).toBe('ERR PSYNC FAILOVER replid must match my replid.');
    expect(errText(await c.call('PSYNC', 'abc', '1', 'FAILOVER'))).toBe("ERR PSYNC FAILOVER can't be sent to a master.");
    // A failover that cannot finish (the target is stopped) times out and writes resume.
    process.kill(r.pid, 'SIGSTOP');
    try {
      await c.call('SET', 'k', 'v');
      expect(text(await c.call('FAILOVER', 'TIMEOUT', '300'))).toBe('OK');
      expect((await info(c, 'replication')).master_failover_state).toBe('waiting-for-sync');
      expect(errText(await c.call('REPLICAOF', '127.0.0.1', '1'))).toBe('ERR REPLICAOF not allowed while failing over.');
      await until('the failover to time out', async () => (await info(c, 'replication')).master_failover_state === 'no-failover');
      expect(text(await c.call('SET', 'k', 'w'))).toBe('OK');
      expect((await info(c, 'replication')).role).toBe('master');
      // FAILOVER ABORT ends one in progress.
      expect(text(await c.call('FAILOVER'))).toBe('OK');
      expect(text(await c.call('FAILOVER', 'ABORT'))).toBe('OK');
      expect((await info(c, 'replication')).master_failover_state).toBe('no-failover');
      expect(text(await c.call('SET', 'k', 'x'))).toBe('OK');
    } finally {
      process.kill(r.pid, 'SIGCONT');
    }
  });
});

describe('a master turning replica', () => {
  it('REPLICAOF ends every blocked client on every thread with -UNBLOCKED and closes it', async () => {
    const a = await startShardis({ threads: 2, args: ['--save', ''] });
    servers.push(a);
    const b = await startShardis({ threads: 2, args: ['--save', ''] });
    servers.push(b);
    const blocked: RawClient[] = [];
    for (let i = 0; i < 4; i++) blocked.push(await connect(b));
    await (await connect(a)).call('SET', 'from', 'a');
    // BLPOPs and a WAIT (no replica will ever ack) spread over b's two threads.
    const replies = blocked.map((c, i) => (i < 3 ? c.call('BLPOP', `q${i}`, '0') : c.call('WAIT', '1', '0')));
    const admin = await connect(b);
    await until('the clients to block', async () => Number((await info(admin, 'clients')).blocked_clients) === 4);
    expect(text(await admin.call('REPLICAOF', '127.0.0.1', String(a.port)))).toBe('OK');
    for (const r of await Promise.all(replies)) {
      expect(errText(r)).toBe('UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)');
    }
    for (const c of blocked) await until('the unblocked client to be closed', async () => !c.isOpen);
    // The connection that was not blocked stays, and the replica syncs.
    await linked(admin, a.port);
    expect(text(await admin.call('GET', 'from'))).toBe('a');
  });
});

describe('REPLICAOF inside MULTI/EXEC (as Sentinel sends it)', () => {
  it('takes effect from a connection on any thread', async () => {
    const m = await startShardis({ threads: 2, args: ['--save', ''] });
    servers.push(m);
    const r = await startShardis({ threads: 2, args: ['--save', '', '--replicaof', '127.0.0.1', String(m.port)] });
    servers.push(r);
    const admin = await connect(r);
    await linked(admin, m.port);
    // A connection on thread 2: the link lives on worker 1.
    const placed = await connectOnThreads(r.port, [0, 1]);
    clients.push(...placed.all);
    const [, [c]] = placed.on;
    await c.call('MULTI');
    await c.call('SLAVEOF', 'NO', 'ONE');
    await c.call('CONFIG', 'REWRITE');
    const exec = await c.call('EXEC');
    expect(exec.t === 'array' && exec.v !== null && exec.v[0]).toEqual({ t: 'simple', v: 'OK' });
    await until('the replica to become a master', async () => (await info(admin, 'replication')).role === 'master');
  });

  it('INFO after SLAVEOF in the same EXEC says slave with the link down (TCL integration/replication)', async () => {
    const m = await startShardis({ threads: 2, args: ['--save', ''] });
    servers.push(m);
    const r = await startShardis({ threads: 2, args: ['--save', ''] });
    servers.push(r);
    // From thread 2, where the request to the link thread is only posted inside EXEC.
    const placed = await connectOnThreads(r.port, [0, 1]);
    clients.push(...placed.all);
    const [, [c]] = placed.on;
    await c.call('MULTI');
    await c.call('SLAVEOF', '127.0.0.1', String(m.port));
    await c.call('INFO', 'replication');
    const exec = await c.call('EXEC');
    const infoText = exec.t === 'array' && exec.v !== null ? text(exec.v[1]) : '';
    expect(infoText).toContain('role:slave');
    expect(infoText).toContain('master_link_status:down');
    expect(infoText).toContain(`master_port:${m.port}`);
    await linked(c, m.port);
  });
});

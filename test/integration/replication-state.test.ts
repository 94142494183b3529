// Replication state (src/replication/state.ts): INFO replication's fields as redis-server 7.0
// prints them for a master, ROLE, HELLO's role, and the replication ids (DEBUG CHANGE-REPL-ID).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, startShardis, type Server } from '../helpers/server';
import { RawClient, show, type Reply } from '../helpers/resp';

let shardis: Server;
let redis: Server;

beforeAll(async () => {
  [shardis, redis] = await Promise.all([startShardis({ threads: 2 }), startRedis()]);
});

afterAll(async () => {
  await Promise.all([shardis?.stop(), redis?.stop()]);
});

/** A reply's value as text (bulk, simple) or as it is. */
function v(r: Reply): unknown {
  return 'v' in r ? r.v : null;
}

function fields(info: Reply): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of String(v(info)).split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) m.set(line.slice(0, i), line.slice(i + 1));
  }
  return m;
}

describe('replication state', () => {
  it('INFO replication of a master has the fields redis-server prints, in its order', async () => {
    const [a, b] = await Promise.all([RawClient.once(shardis.port, 'INFO', 'replication'), RawClient.once(redis.port, 'INFO', 'replication')]);
    const fa = fields(a);
    const fb = fields(b);
    expect([...fa.keys()]).toEqual([...fb.keys()]);
    expect(fa.get('role')).toBe('master');
    expect(fa.get('connected_slaves')).toBe('0');
    expect(fa.get('master_replid')).toMatch(/^[0-9a-f]{40}$/);
    expect(fa.get('master_replid2')).toBe('0'.repeat(40));
    expect(fa.get('second_repl_offset')).toBe('-1');
    expect(fa.get('repl_backlog_active')).toBe('0');
    // The replication id is not the run id (Redis draws both at random).
    const server = fields(await RawClient.once(shardis.port, 'INFO', 'server'));
    expect(server.get('run_id')).not.toBe(fa.get('master_replid'));
  });

  it('min_slaves_good_slaves appears with min-replicas-to-write, as in redis', async () => {
    for (const s of [shardis, redis]) expect(v(await RawClient.once(s.port, 'CONFIG', 'SET', 'min-replicas-to-write', '1'))).toBe('OK');
    const [a, b] = await Promise.all([RawClient.once(shardis.port, 'INFO', 'replication'), RawClient.once(redis.port, 'INFO', 'replication')]);
    expect([...fields(a).keys()]).toEqual([...fields(b).keys()]);
    expect(fields(a).get('min_slaves_good_slaves')).toBe('0');
    for (const s of [shardis, redis]) await RawClient.once(s.port, 'CONFIG', 'SET', 'min-replicas-to-write', '0');
  });

  it('ROLE and HELLO role of a master', async () => {
    const r = await RawClient.once(shardis.port, 'ROLE');
    expect(r.t).toBe('array');
    const a = v(r) as Reply[];
    expect(String(v(a[0]))).toBe('master');
    expect(a[1].t).toBe('int');
    expect(v(a[2])).toEqual([]);
    const h = await RawClient.once(shardis.port, 'HELLO', '3');
    expect(show(h)).toContain('master');
  });

  it('DEBUG CHANGE-REPL-ID draws a new id on every thread and clears replid2', async () => {
    const id = async (): Promise<string> => fields(await RawClient.once(shardis.port, 'INFO', 'replication')).get('master_replid')!;
    const before = await id();
    expect(v(await RawClient.once(shardis.port, 'DEBUG', 'CHANGE-REPL-ID'))).toBe('OK');
    const seen = new Set<string>();
    // Several connections: with 2 threads they land on both, and all must read the shared id.
    for (let i = 0; i < 6; i++) seen.add(await id());
    expect(seen.size).toBe(1);
    const after = [...seen][0];
    expect(after).toMatch(/^[0-9a-f]{40}$/);
    expect(after).not.toBe(before);
  });
});

describe('EXEC on a replica whose link is down', () => {
  it('a transaction queued before the link went down is discarded with EXECABORT ... MASTERDOWN, as redis-server', async () => {
    const run = async (port: number): Promise<string[]> => {
      const c = await RawClient.connect(port);
      const admin = await RawClient.connect(port);
      try {
        await admin.call('CONFIG', 'SET', 'replica-serve-stale-data', 'no');
        await c.call('SET', 'xx', '1');
        await c.call('MULTI');
        await c.call('GET', 'xx');
        await admin.call('REPLICAOF', 'localhsot', '0');
        const out = [show(await c.call('EXEC'))];
        // The transaction is gone: EXEC again has no MULTI.
        out.push(show(await c.call('EXEC')));
        return out;
      } finally {
        await admin.call('REPLICAOF', 'NO', 'ONE');
        await admin.call('CONFIG', 'SET', 'replica-serve-stale-data', 'yes');
        await c.close();
        await admin.close();
      }
    };
    const a = await run(shardis.port);
    expect(a).toEqual(await run(redis.port));
    expect(a[0]).toContain('EXECABORT Transaction discarded because of: MASTERDOWN');
  });
});

// INFO commandstats / errorstats / latencystats for rejected and blocked commands, against
// redis-server: a command refused before it runs (arity, OOM, inside MULTI, subscribed context)
// counts in rejected_calls; a blocked command unblocked with an error counts as failed, and a
// served one enters the latency histogram (updateStatsOnUnblock).
import { afterAll, describe, expect, it } from 'vitest';
import { startRedis, startShardis, type Server } from '../helpers/server';
import { RawClient, show, text } from '../helpers/resp';

const servers: Server[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

/** calls / rejected_calls / failed_calls per command (usec dropped), errorstats, total_error_replies. */
async function stats(c: RawClient): Promise<string> {
  const cmd = text(await c.call('INFO', 'commandstats')).split('\r\n').filter((l) => l.startsWith('cmdstat_') && !l.startsWith('cmdstat_info:'));
  const kept = cmd.map((l) => l.replace(/usec=\d+,usec_per_call=[\d.]+,/, '')).sort();
  const err = text(await c.call('INFO', 'errorstats')).split('\r\n').filter((l) => l.startsWith('errorstat_')).sort();
  const total = /total_error_replies:(\d+)/.exec(text(await c.call('INFO', 'stats')))?.[1];
  return [...kept, ...err, `total_error_replies:${total}`].join('\n');
}

async function scenario(port: number): Promise<{ stats: string; blpop: string }> {
  const c = await RawClient.connect(port);
  const rd = await RawClient.connect(port);
  try {
    await c.call('CONFIG', 'SET', 'latency-tracking', 'yes');
    await c.call('CONFIG', 'RESETSTAT');
    await c.call('SET', 'k'); // arity: rejected
    await c.call('SET', 'k1', 'v1');
    await c.call('MULTI');
    await c.call('SET'); // rejected inside MULTI
    await c.call('EXEC'); // EXECABORT: a failed EXEC
    await c.call('CONFIG', 'SET', 'maxmemory', '1');
    await c.call('SET', 'a', 'b'); // OOM: rejected
    await c.call('CONFIG', 'SET', 'maxmemory', '0');
    // A blocked BLPOP unblocked with an error: failed; a second one served: in the histogram.
    const id = text(await rd.call('CLIENT', 'ID'));
    rd.send('BLPOP', 'list', '0');
    for (let i = 0; i < 100 && !/blocked_clients:1/.test(text(await c.call('INFO', 'clients'))); i++) await new Promise((r) => setTimeout(r, 10));
    await c.call('CLIENT', 'UNBLOCK', id, 'ERROR');
    expect(text(await rd.read())).toContain('UNBLOCKED');
    rd.send('BLPOP', 'list', '0');
    for (let i = 0; i < 100 && !/blocked_clients:1/.test(text(await c.call('INFO', 'clients'))); i++) await new Promise((r) => setTimeout(r, 10));
    await c.call('LPUSH', 'list', 'x');
    await rd.read();
    // A blocked XREADGROUP ended by XGROUP DESTROY: its NOGROUP reply is a failed call.
    await c.call('XGROUP', 'CREATE', 'st', 'g', '$', 'MKSTREAM');
    rd.send('XREADGROUP', 'GROUP', 'g', 'alice', 'BLOCK', '0', 'STREAMS', 'st', '>');
    for (let i = 0; i < 100 && !/blocked_clients:1/.test(text(await c.call('INFO', 'clients'))); i++) await new Promise((r) => setTimeout(r, 10));
    await c.call('XGROUP', 'DESTROY', 'st', 'g');
    expect(text(await rd.read())).toContain('NOGROUP');
    const lat = text(await c.call('INFO', 'latencystats')).split('\r\n').find((l) => l.startsWith('latency_percentiles_usec_blpop:')) ?? '';
    return { stats: await stats(c), blpop: lat.replace(/=[\d.]+/g, '=N') };
  } finally {
    await c.close();
    await rd.close();
  }
}

describe('commandstats for rejected and blocked commands', () => {
  it('match redis-server', async () => {
    const [s, r] = await Promise.all([startShardis({ threads: 2 }), startRedis()]);
    servers.push(s, r);
    const a = await scenario(s.port);
    const b = await scenario(r.port);
    expect(a.stats).toBe(b.stats);
    expect(a.blpop).toBe(b.blpop);
    expect(a.blpop).toBe('latency_percentiles_usec_blpop:p50=N,p99=N,p99.9=N');
    expect(show({ t: 'simple', v: a.stats })).toContain('cmdstat_set:calls=1,rejected_calls=3,failed_calls=0');
    expect(a.stats).toContain('cmdstat_xreadgroup:calls=1,rejected_calls=0,failed_calls=1');
  });
});

// REPLICAOF / SLAVEOF (replication.c's replicaofCommand). The link lives on worker 1
// (src/replication/replica.ts): the request is relayed there and the client waits for its answer.
import type { CommandSpec } from './types';
import type { Client } from '../server/client';
import { def } from './def';
import { parseI64 } from './args';
import { acrossThreads, clientInfoLine } from './connection';
import { masterHost, rget, R_FAILOVER_STATE, R_MASTER_PORT } from '../replication/state';
import { markReplica } from '../replication/replica-state';

function replicaof(c: Client, argv: Buffer[]): void {
  if (rget(c.store, R_FAILOVER_STATE) !== 0) return c.w.error('ERR REPLICAOF not allowed while failing over.');
  const host = argv[1].toString('latin1');
  let req: [string | null, number, string];
  if (host.toLowerCase() === 'no' && argv[2].toString('latin1').toLowerCase() === 'one') {
    req = [null, 0, clientInfoLine(c, Date.now())];
  } else {
    if (c.flagChars.includes('S')) return c.w.error('ERR Command is not valid when client is a replica.');
    const p = parseI64(argv[2]);
    if (p === null || typeof p === 'bigint' || p < 0 || p > 65535) return c.w.error('ERR Invalid master port');
    req = [host, p, clientInfoLine(c, Date.now())];
    // The link thread applies the request later; INFO or ROLE after SLAVEOF in the same EXEC must
    // already say replica with the link down (worker 1 applies it at once, here it is posted).
    const same = masterHost(c.store).toLowerCase() === host.toLowerCase() && rget(c.store, R_MASTER_PORT) === p;
    if (c.inExec && c.srv.threadId !== 1 && !same) markReplica(c.store, host, p);
  }
  // Inside EXEC (Sentinel sends MULTI, SLAVEOF NO ONE, CONFIG REWRITE, CLIENT KILL, EXEC) the
  // reply comes from this thread's answer (OK where the link is not), and worker 1 gets the
  // request before EXEC's reply leaves (acrossThreads).
  acrossThreads(c, { op: 'replicaof', args: req }, (c, results) => {
    const r = results.find((x) => typeof x === 'string') as string | undefined;
    c.w.simple(r ?? 'OK');
  });
}

const OPTS = { lock: 'none' as const, since: '5.0.0', acl: ['admin', 'slow', 'dangerous'], complexity: 'O(1)' };

export const commands: CommandSpec[] = [
  def('replicaof', 3, 'admin noscript stale no_async_loading', [0, 0, 0], 'server', 'Make the server a replica of another instance, or promote it as master.', replicaof, OPTS),
  def('slaveof', 3, 'admin noscript stale no_async_loading', [0, 0, 0], 'server', 'Make the server a replica of another instance, or promote it as master.', replicaof, { ...OPTS, since: '1.0.0' }),
];

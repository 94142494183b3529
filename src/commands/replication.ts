// Replication commands of the master side: SYNC, PSYNC, REPLCONF, WAIT (src/replication/master.ts),
// and FAILOVER (src/replication/failover.ts, on worker 1).
import { def } from './def';
import type { CommandSpec } from './types';
import type { Client } from '../server/client';
import { replconfCommand, syncCommand, waitCommand } from '../replication/master';
import type { FailoverRequest } from '../replication/failover';
import { isReplica, replId } from '../replication/state';
import { log } from '../server/log';
import { is, parseI64 } from './args';
import { acrossThreads, clientInfoLine } from './connection';

const ADMIN = ['admin', 'slow', 'dangerous'];

/** PSYNC: `PSYNC <replid> <offset> FAILOVER` from our master handing over promotes us first. */
function psyncCommand(c: Client, argv: Buffer[]): void {
  if (argv.length <= 3 || !is(argv[3], 'failover') || c.replica) return syncCommand(c, argv);
  const id = argv[1].toString('latin1');
  log('warning', `Failover request received for replid ${id}.`);
  if (!isReplica(c.store)) return c.w.error("ERR PSYNC FAILOVER can't be sent to a master.");
  if (id.toLowerCase() !== replId(c.store).toLowerCase()) return c.w.error('ERR PSYNC FAILOVER replid must match my replid.');
  // Promotion runs on worker 1 (it owns the link); then the PSYNC is answered as the master we are.
  acrossThreads(c, { op: 'replicaof', args: [null, 0, clientInfoLine(c, Date.now()), 'failover request'] }, (c) => syncCommand(c, argv.slice(0, 3)));
}

/** FAILOVER [TO host port [FORCE]] [ABORT] [TIMEOUT ms] (failoverCommand). */
function failoverCommand(c: Client, argv: Buffer[]): void {
  let req: FailoverRequest;
  if (argv.length === 2 && is(argv[1], 'abort')) {
    req = ['abort'];
  } else {
    let timeout = 0;
    let force = false;
    let host: string | null = null;
    let port = 0;
    for (let j = 1; j < argv.length; j++) {
      if (is(argv[j], 'timeout') && j + 1 < argv.length && timeout === 0) {
        const t = parseI64(argv[j + 1]);
        if (t === null || typeof t === 'bigint') return c.w.error('ERR value is not an integer or out of range');
        if (t <= 0) return c.w.error('ERR FAILOVER timeout must be greater than 0');
        timeout = t;
        j++;
      } else if (is(argv[j], 'to') && j + 2 < argv.length && host === null) {
        const p = parseI64(argv[j + 2]);
        if (p === null || typeof p === 'bigint') return c.w.error('ERR value is not an integer or out of range');
        host = argv[j + 1].toString('latin1');
        port = p;
        j += 2;
      } else if (is(argv[j], 'force') && !force) {
        force = true;
      } else {
        return c.w.error('ERR syntax error');
      }
    }
    req = ['start', host, port, timeout, force];
  }
  acrossThreads(c, { op: 'failover', args: req }, (c, results) => {
    const r = results.find((x) => typeof x === 'string') as string | undefined;
    if (r === undefined) c.w.error('ERR FAILOVER is not available');
    else if (r === 'OK') c.w.simple('OK');
    else c.w.error(r);
  });
}

export const commands: CommandSpec[] = [
  def('sync', 1, 'admin noscript no_async_loading no_multi', [0, 0, 0], 'server', 'Internal command used for replication', syncCommand, {
    lock: 'none', since: '1.0.0', acl: ADMIN,
  }),
  def('psync', -3, 'admin noscript no_async_loading no_multi', [0, 0, 0], 'server', 'Internal command used for replication', psyncCommand, {
    lock: 'none', since: '2.8.0', acl: ADMIN,
  }),
  def('replconf', -1, 'admin noscript loading stale allow_busy', [0, 0, 0], 'server', 'An internal command for configuring the replication stream', replconfCommand, {
    lock: 'none', since: '3.0.0', acl: ADMIN, complexity: 'O(1)',
  }),
  def('wait', 3, 'noscript', [0, 0, 0], 'generic', 'Wait for the synchronous replication of all the write commands sent in the context of the current connection', waitCommand, {
    lock: 'none', since: '3.0.0', acl: ['slow', 'connection'], complexity: 'O(1)', tips: ['request_policy:all_shards', 'response_policy:agg_min'],
  }),
  def('failover', -1, 'admin noscript stale', [0, 0, 0], 'server', 'Start a coordinated failover between this server and one of its replicas.', failoverCommand, {
    lock: 'none', since: '6.2.0', acl: ADMIN, complexity: 'O(1)',
  }),
];

// FAILOVER (Redis 6.2+, replication.c failoverCommand / updateFailoverStatus): a coordinated
// hand-over from this master to one of its replicas, without losing a write.
//   1. writes pause on every thread (a pause of its own: CLIENT UNPAUSE does not lift it);
//   2. every 100 ms: has the target (or any replica) acknowledged our whole stream?
//   3. then this server becomes a replica of it and sends `PSYNC <replid> <offset> FAILOVER`,
//      which makes the target promote itself and answer +CONTINUE with its new id;
//   4. +CONTINUE or +FULLRESYNC ends the failover (writes resume, now refused as a replica's);
//      an error reply aborts it, and this server is a master again.
// The state lives on worker 1 beside the replica link (FAILOVER is relayed there, like
// REPLICAOF); its phase is published in R_FAILOVER_STATE for INFO, SYNC and REPLICAOF.
import type { ThreadServer } from '../server/context';
import { log } from '../server/log';
import { pauseForFailover } from '../server/pause';
import { replicaLink } from './replica';
import * as state from './replica-state';
import { isReplica, replicas, replicaCount, rget, rset, R_FAILOVER_STATE, S_ONLINE, type ReplicaRow } from './state';

export const NO_FAILOVER = 0;
export const FAILOVER_WAIT_FOR_SYNC = 1;
export const FAILOVER_IN_PROGRESS = 2;

/** FAILOVER's parsed arguments, relayed to worker 1 (host null: any replica). */
export type FailoverRequest = ['abort'] | ['start', string | null, number, number, boolean];

class Failover {
  private host: string | null = null;
  private port = 0;
  private end = 0;
  private force = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly srv: ThreadServer) {}

  private get phase(): number {
    return rget(this.srv.store, R_FAILOVER_STATE);
  }

  private set phase(v: number) {
    rset(this.srv.store, R_FAILOVER_STATE, v);
  }

  /** The reply's text: "OK" or an error ("ERR ..."). */
  request(r: FailoverRequest): string {
    if (r[0] === 'abort') {
      if (this.phase === NO_FAILOVER) return 'ERR No failover in progress.';
      this.abort('Failover manually aborted');
      return 'OK';
    }
    const [, host, port, timeout, force] = r;
    const s = this.srv.store;
    if (this.phase !== NO_FAILOVER) return 'ERR FAILOVER already in progress.';
    if (isReplica(s)) return 'ERR FAILOVER is not valid when server is a replica.';
    if (replicaCount(s) === 0) return 'ERR FAILOVER requires connected replicas.';
    if (force && (timeout === 0 || host === null)) return 'ERR FAILOVER with force option requires both a timeout and target HOST and IP.';
    if (host !== null) {
      const row = find(replicas(s), host, port);
      if (row === undefined) return 'ERR FAILOVER target HOST and PORT is not a replica.';
      if (row.state !== S_ONLINE) return 'ERR FAILOVER target replica is not online.';
      log('notice', `FAILOVER requested to ${host}:${port}.`);
    } else {
      log('notice', 'FAILOVER requested to any replica.');
    }
    this.host = host;
    this.port = port;
    this.end = timeout > 0 ? Date.now() + timeout : 0;
    this.force = force;
    this.phase = FAILOVER_WAIT_FOR_SYNC;
    pauseForFailover(this.srv, true);
    if (this.timer === null) this.timer = setInterval(() => this.update(), 100);
    return 'OK';
  }

  /** updateFailoverStatus: time out, or hand over to a replica that has our whole stream. */
  private update(): void {
    if (this.phase !== FAILOVER_WAIT_FOR_SYNC) return;
    if (this.end !== 0 && this.end <= Date.now()) {
      if (this.force) {
        log('notice', `FAILOVER to ${this.host}:${this.port} time out exceeded, failing over.`);
        this.handOver();
      } else {
        this.abort('Replica never caught up before timeout');
      }
      return;
    }
    const s = this.srv.store;
    const offset = state.offset(s);
    const rows = replicas(s);
    let row: ReplicaRow | undefined;
    if (this.host !== null) row = find(rows, this.host, this.port);
    else row = rows.find((r) => r.ack === offset && r.port !== 0);
    if (row !== undefined && row.ack === offset) {
      this.host = row.ip;
      this.port = row.port;
      log('notice', `Failover target ${this.host}:${this.port} is synced, failing over.`);
      this.handOver();
    }
  }

  private handOver(): void {
    this.phase = FAILOVER_IN_PROGRESS;
    this.stopTimer();
    replicaLink()?.setMaster(this.host as string, this.port, 'failover', true);
  }

  /** The target's answer to PSYNC ... FAILOVER (replica.ts): accepted, or not. */
  psyncResult(accepted: boolean): void {
    if (this.phase !== FAILOVER_IN_PROGRESS) return;
    if (accepted) this.clear();
    else this.abort('Failover target rejected psync request');
  }

  /** abortFailover: back to master if we already turned replica, writes resume. */
  abort(why: string): void {
    if (this.phase === NO_FAILOVER) return;
    if (this.host !== null) log('notice', `FAILOVER to ${this.host}:${this.port} aborted: ${why}`);
    else log('notice', `FAILOVER to any replica aborted: ${why}`);
    if (this.phase === FAILOVER_IN_PROGRESS) replicaLink()?.unsetMaster(null);
    this.clear();
  }

  /** clearFailoverState. */
  private clear(): void {
    this.stopTimer();
    this.host = null;
    this.port = 0;
    this.end = 0;
    this.force = false;
    this.phase = NO_FAILOVER;
    pauseForFailover(this.srv, false);
  }

  private stopTimer(): void {
    if (this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }
}

/** findReplica: by the address it announced (or its peer address) and its listening port. */
function find(rows: ReplicaRow[], host: string, port: number): ReplicaRow | undefined {
  const h = host.toLowerCase();
  return rows.find((r) => r.ip.toLowerCase() === h && r.port === port);
}

let failover: Failover | null = null;

/** The failover state of worker 1 (null elsewhere). */
export function failoverState(): { psyncResult(accepted: boolean): void; abort(why: string): void } | null {
  return failover;
}

/** Worker 1 owns the failover (beside the replica link); other threads relay FAILOVER to it. */
export function installFailover(srv: ThreadServer): void {
  if (replicaLink() === null) return;
  const f = new Failover(srv);
  failover = f;
  (replicaLink() as NonNullable<ReturnType<typeof replicaLink>>).onFailoverPsync = (ok) => f.psyncResult(ok);
  srv.requestHandlers.set('failover', (args) => (failover as Failover).request(args as FailoverRequest));
}

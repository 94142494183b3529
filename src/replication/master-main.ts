// The main thread's part of the master side: it starts the replication thread on the first
// SYNC/PSYNC (with a port to every worker), relays the workers' requests to it, runs the
// snapshots of full resyncs (Persistence.snapshot: its onStart fixes the offset the replicas'
// streams start at), hands the RDB to the workers that hold the replicas' sockets (an open file
// for disk-based syncs, chunks with backpressure for diskless ones), and once a second feeds
// PING to replicas (repl-ping-replica-period) and refreshes the count of good replicas
// (min-replicas-*).
import { Worker, MessageChannel, type MessagePort } from 'worker_threads';
import * as path from 'path';
import * as fs from 'fs';
import { randomBytes } from 'crypto';
import type { Config } from '../config/config';
import type { Store } from '../store/keyspace';
import type { Stream } from '../server/stream';
import type { Persistence } from '../persistence/snapshot';
import { log } from '../server/log';
import { RdbOut, writeAux, writeFunctions, writeHeader, writeTrailer } from '../persistence/rdb';
import { Coordinator } from '../server/coordinator';
import { libraryCodes } from '../scripting/library-list';
import { goodReplicas, isReplica, replicaCount, replId, rget, rset, R_BASE, R_FAILOVER_STATE, R_GOOD_REPLICAS, R_MASTER_DB } from './state';
import type { ReplSettings, ReplThreadData } from './messages';

const PING = Buffer.from('*1\r\n$4\r\nPING\r\n');

interface Target { thread: number; clientId: number }

/** A disk snapshot's replicas: who gets the file, who still waits, attaches not yet answered. */
interface DiskBatch {
  targets: Target[];
  waiting: Set<string>;
  attaching: number;
  settled: (() => void) | null;
}

/** A disk snapshot for replicas that has started: its batch, stream offset, replid and offset. */
interface Running {
  batch: DiskBatch;
  so: number;
  off: number;
  id: string;
}

/** A replica's name in the sets of replicas a snapshot still serves ("thread:clientId"). */
function targetKey(t: Target): string {
  return `${t.thread}:${t.clientId}`;
}

export function replSettings(config: Config): ReplSettings {
  return {
    backlogSize: config.num('repl-backlog-size'),
    backlogTtl: config.num('repl-backlog-ttl'),
    diskless: config.bool('repl-diskless-sync'),
    disklessDelay: config.num('repl-diskless-sync-delay'),
    disklessMax: config.num('repl-diskless-sync-max-replicas'),
  };
}

export class ReplMaster {
  private thread: Worker | null = null;
  private nextAck = 1;
  private readonly acks = new Map<number, { waiting: number; resolve: () => void }>();
  /** Diskless transfers in progress: the replicas ("thread:clientId") each still feeds. */
  private readonly transfers = new Set<Set<string>>();
  /** Disk snapshots for replicas in progress: the replicas ("thread:clientId") still waiting. */
  private readonly diskWaits = new Set<Set<string>>();
  /**
   * A disk snapshot for replicas queued behind another snapshot and not started yet: replicas
   * that ask meanwhile join it (Redis starts one BGSAVE for every replica waiting for the next).
   */
  private nextDisk: DiskBatch | null = null;
  /**
   * The disk snapshot for replicas that has started (its point in time fixed): a replica that
   * asks for a disk sync meanwhile attaches to it (syncCommand's "BGSAVE is in progress, with
   * disk target"), its stream from the snapshot's offset taken from the backlog.
   */
  private running: Running | null = null;
  /** Attaches asked of the replication thread (its backlog from the snapshot's offset), by replica. */
  private readonly attaching = new Map<string, { target: Target; run: Running }>();
  private pingTick = 0;

  constructor(
    private readonly store: Store,
    private readonly stream: Stream,
    private readonly streamSab: SharedArrayBuffer,
    private readonly config: Config,
    private readonly persistence: Persistence,
    private readonly workers: Worker[],
  ) {}

  /** A worker's {type:'repl'} message. */
  onMessage(m: { op: string; [k: string]: unknown }): void {
    switch (m.op) {
      case 'sync':
        this.start().postMessage(m);
        break;
      case 'gone': {
        this.thread?.postMessage(m);
        const gone = targetKey({ thread: m.thread as number, clientId: m.clientId as number });
        for (const t of this.transfers) {
          // rdbPipeReadHandler: with no replica left to read it, the transfer is stopped.
          if (t.delete(gone) && t.size === 0) log('warning', 'Diskless rdb transfer, last replica dropped, killing fork child.');
        }
        for (const t of this.diskWaits) t.delete(gone);
        break;
      }
      case 'backlog':
        // A replica keeps a backlog from its sync on (replica.ts), so that its own replicas, and
        // its peers after a failover, can continue partially with it.
        this.start().postMessage(m);
        break;
      case 'file-done':
        fs.close(m.fd as number, () => {});
        break;
      case 'ack': {
        const a = this.acks.get(m.id as number);
        if (a !== undefined && --a.waiting === 0) {
          this.acks.delete(m.id as number);
          a.resolve();
        }
        break;
      }
    }
  }

  /** CONFIG SET of a repl-* setting: the replication thread follows. */
  onConfig(name: string): void {
    if (this.thread !== null && name.startsWith('repl-')) this.thread.postMessage({ op: 'config', name, settings: replSettings(this.config) });
  }

  private start(): Worker {
    if (this.thread !== null) return this.thread;
    const ports: MessagePort[] = [];
    for (let t = 0; t < this.workers.length; t++) {
      const ch = new MessageChannel();
      ports.push(ch.port1);
      this.workers[t].postMessage({ type: 'repl-port', port: ch.port2 }, [ch.port2]);
    }
    const data: ReplThreadData = {
      sab: this.store.heap.sab, layout: this.store.L, stream: this.streamSab, ports,
      settings: replSettings(this.config), loglevel: this.config.str('loglevel'), logfile: this.config.str('logfile'),
    };
    const w = new Worker(path.join(__dirname, 'repl-thread.js'), { workerData: data, transferList: ports });
    w.on('message', (m: { op: string; diskless: boolean; empty?: boolean; functions?: boolean; targets: Target[]; ok?: boolean; buf?: Uint8Array | null }) => {
      if (m.op === 'snapshot') void (m.empty === true ? this.emptySync(m.targets, m.functions === true) : this.fullSync(m.diskless, m.targets));
      else if (m.op === 'attached') this.attached(m.targets[0], m.ok === true, m.buf ?? null);
    });
    w.on('error', (e) => log('warning', `replication thread: ${e.stack ?? e.message}`));
    w.unref();
    this.thread = w;
    return w;
  }

  private post(thread: number, m: Record<string, unknown>, transfer?: ArrayBuffer[]): void {
    this.workers[thread - 1]?.postMessage(m, transfer);
  }

  /** Targets grouped by worker thread. */
  private byThread(targets: Target[]): Map<number, number[]> {
    const m = new Map<number, number[]>();
    for (const t of targets) {
      const l = m.get(t.thread);
      if (l === undefined) m.set(t.thread, [t.clientId]);
      else l.push(t.clientId);
    }
    return m;
  }

  /** startBgsaveForReplication: one snapshot for these replicas, to disk or to their sockets. */
  private async fullSync(diskless: boolean, targets: Target[], mayAttach = true): Promise<void> {
    const run = this.running;
    if (!diskless && mayAttach && run !== null && run.batch.waiting.size > 0) {
      // Another replica waits for this snapshot: the new one joins it. Its stream from the
      // snapshot's offset comes from the backlog (Redis copies the other replica's buffer).
      for (const t of targets) {
        run.batch.targets.push(t);
        run.batch.waiting.add(targetKey(t));
        run.batch.attaching++;
        this.attaching.set(targetKey(t), { target: t, run });
        this.start().postMessage({ op: 'attach', thread: t.thread, clientId: t.clientId, from: run.so });
      }
      return;
    }
    if (!diskless && this.nextDisk !== null) {
      if (mayAttach) log('notice', 'Waiting for next BGSAVE for SYNC');
      for (const t of targets) {
        this.nextDisk.targets.push(t);
        this.nextDisk.waiting.add(targetKey(t));
      }
      return;
    }
    const queued = this.persistence.busy;
    // (After a failed attach, attached() said it in Redis's words.)
    if (!(queued && !diskless)) log('notice', `Starting BGSAVE for SYNC with target: ${diskless ? 'replicas sockets' : 'disk'}`);
    else if (mayAttach) log('notice', 'Waiting for next BGSAVE for SYNC');
    // A disk snapshot's replicas: more may join until it starts (then the groups are final).
    const batch: DiskBatch = { targets: [...targets], waiting: new Set(targets.map(targetKey)), attaching: 0, settled: null };
    if (!diskless) this.nextDisk = batch;
    let groups = this.byThread(batch.targets);
    const mark = diskless ? randomBytes(20).toString('hex') : '';
    const aux: [string, string][] = [];
    const onStart = (): void => {
      if (this.nextDisk === batch) {
        this.nextDisk = null;
        groups = this.byThread(batch.targets);
        if (queued) log('notice', `Starting BGSAVE for SYNC with target: disk`);
      }
      // Every slot lock is held: the stream's offset is the snapshot's point in time. The next
      // unit starts with SELECT, so each replica's stream is self-contained from here.
      const so = this.stream.offset();
      this.stream.beginAppend();
      this.stream.db = -1;
      this.stream.endAppend();
      const off = so + rget(this.store, R_BASE);
      const id = replId(this.store);
      // A replica forwards its master's bytes as they are (no SELECT of ours after this point):
      // the db that stream is in now is where the next commands apply (rdbPopulateSaveInfo).
      const sdb = isReplica(this.store) ? rget(this.store, R_MASTER_DB) : -1;
      aux.push(['repl-stream-db', String(sdb >= 0 ? sdb : 0)], ['repl-id', id], ['repl-offset', String(off)]);
      if (!diskless) this.running = { batch, so, off, id };
      for (const [thread, ids] of groups) this.post(thread, { type: 'repl-full', ids, replid: id, offset: off, streamOff: so, diskless, mark });
    };
    if (diskless) {
      const alive = new Set(targets.map(targetKey));
      this.transfers.add(alive);
      let ok = false;
      try {
        ok = await this.persistence.snapshot({
          onStart, aux,
          write: (chunk) => this.sendChunk(groups, chunk),
          aborted: () => alive.size === 0,
          transfer: true,
        });
      } catch (e) {
        log('warning', `Diskless rdb transfer failed: ${(e as Error).message}`);
      } finally {
        this.transfers.delete(alive);
      }
      if (ok) log('notice', `Diskless rdb transfer, done reading from pipe, ${alive.size} replicas still up.`);
      for (const [thread, ids] of groups) this.post(thread, { type: 'repl-end', ids, ok, mark });
      return;
    }
    const file = this.persistence.filePath();
    let ok = false;
    // freeClient: when the last replica waiting for this BGSAVE is gone and no save rule wants
    // the file, it is stopped (Redis kills its child), not finished for nobody.
    const waiting = batch.waiting;
    this.diskWaits.add(waiting);
    try {
      ok = await this.persistence.snapshot({
        onStart, aux, path: file, stats: true,
        aborted: () => waiting.size === 0 && this.config.str('save') === '',
      });
      // rdb-del-sync-files: remember that this file exists for replicas (startBgsaveForReplication).
      if (ok && this.config.bool('rdb-del-sync-files')) this.persistence.rdbForReplication = true;
    } catch (e) {
      log('warning', `BGSAVE for replication failed: ${(e as Error).message}`);
    } finally {
      this.diskWaits.delete(waiting);
      // Never started (stopped first): later replicas start their own.
      if (this.nextDisk === batch) this.nextDisk = null;
      if (this.running?.batch === batch) this.running = null;
    }
    // Replicas attached while it ran get the file too, once their backlog part is with them.
    if (batch.attaching > 0) await new Promise<void>((resolve) => (batch.settled = resolve));
    groups = this.byThread(batch.targets);
    // Open it now, before another save can rename a newer file over it: each worker gets its own
    // descriptor of exactly this snapshot (descriptors are the process's, any thread may read).
    for (const [thread, ids] of groups) {
      let fd = -1;
      let size = 0;
      if (ok) {
        try {
          fd = fs.openSync(file, 'r');
          size = fs.fstatSync(fd).size;
        } catch (e) {
          log('warning', `SYNC failed. Can't open/stat DB after BGSAVE: ${(e as Error).message}`);
        }
      }
      this.post(thread, { type: 'repl-file', ids, fd, size });
    }
  }

  /**
   * The replication thread's answer to an attach: the backlog from the snapshot's offset for the
   * replica's worker (before the file, on the same channel), or, when the backlog no longer
   * reaches back that far, the next BGSAVE.
   */
  private attached(t: Target, ok: boolean, buf: Uint8Array | null): void {
    const key = targetKey(t);
    const a = this.attaching.get(key);
    if (a === undefined) return;
    this.attaching.delete(key);
    const { run } = a;
    const batch = run.batch;
    if (ok && buf !== null) {
      log('notice', 'Waiting for end of BGSAVE for SYNC');
      this.post(t.thread, { type: 'repl-full', ids: [t.clientId], replid: run.id, offset: run.off, streamOff: run.so, diskless: false, mark: '', head: buf });
    } else {
      batch.targets = batch.targets.filter((x) => targetKey(x) !== key);
      batch.waiting.delete(key);
      log('notice', "Can't attach the replica to the current BGSAVE. Waiting for next BGSAVE for SYNC");
      void this.fullSync(false, [t], false);
    }
    if (--batch.attaching === 0 && batch.settled !== null) batch.settled();
  }

  /**
   * A filtered replica (REPLCONF rdb-filter-only): an RDB with no keys (with the function
   * libraries for the `functions` filter), then the stream from now.
   */
  private async emptySync(targets: Target[], functions: boolean): Promise<void> {
    const groups = this.byThread(targets);
    const mark = randomBytes(20).toString('hex');
    // Under every slot lock, as a snapshot's start: the libraries of exactly this offset.
    const coord = Coordinator.of(this.store);
    coord.lockAll(false);
    let so: number;
    let libraries: Buffer[];
    try {
      so = this.stream.offset();
      libraries = functions ? libraryCodes(this.store) : [];
      this.stream.beginAppend();
      this.stream.db = -1;
      this.stream.endAppend();
    } finally {
      coord.unlockAll();
    }
    const off = so + rget(this.store, R_BASE);
    const id = replId(this.store);
    for (const [thread, ids] of groups) this.post(thread, { type: 'repl-full', ids, replid: id, offset: off, streamOff: so, diskless: true, mark });
    const out = new RdbOut();
    writeHeader(out, this.store.heap.usedBytes());
    for (const [k, v] of [['repl-stream-db', '0'], ['repl-id', id], ['repl-offset', String(off)]]) writeAux(out, k, v);
    writeFunctions(out, libraries, this.config.bool('rdbcompression'));
    writeTrailer(out, this.config.bool('rdbchecksum'));
    await this.sendChunk(groups, out.take());
    for (const [thread, ids] of groups) this.post(thread, { type: 'repl-end', ids, ok: true, mark });
  }

  /** One chunk of a diskless RDB to every worker with targets; resolves when they all took it. */
  private sendChunk(groups: Map<number, number[]>, chunk: Buffer): Promise<void> {
    const id = this.nextAck++;
    return new Promise((resolve) => {
      this.acks.set(id, { waiting: groups.size, resolve });
      for (const [thread, ids] of groups) this.post(thread, { type: 'repl-chunk', ids, buf: chunk, id });
    });
  }

  /** Once a second (replicationCron): PING into the stream, the good-replicas count. */
  cron(): void {
    const n = replicaCount(this.store);
    const maxLag = this.config.num('min-replicas-max-lag');
    rset(this.store, R_GOOD_REPLICAS, n === 0 ? 0 : goodReplicas(this.store, maxLag));
    // No PING while a FAILOVER waits for a replica to have the whole stream (as Redis with a
    // failover timeout): writes are paused, and the offset must stand still.
    if (n === 0 || isReplica(this.store) || rget(this.store, R_FAILOVER_STATE) !== 0) {
      this.pingTick = 0;
      return;
    }
    // Replicas see the master alive even when no one writes (replicas proxy their master's).
    if (++this.pingTick >= this.config.num('repl-ping-replica-period')) {
      this.pingTick = 0;
      if (this.stream.active()) {
        this.stream.beginAppend();
        this.stream.put(PING, 0, PING.length);
        this.stream.endAppend();
      }
    }
  }
}

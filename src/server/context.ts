// Per-thread server state shared by every connection of a worker thread: the store handle, the
// reply writer, config, statistics in shared memory, and messaging to the other threads.
import type { Config } from '../config/config';
import { Store, STAT_FIELDS } from '../store/keyspace';
import { ReplyWriter } from '../protocol/writer';
import type { Client } from './client';
import type { PubSub } from './pubsub';
import { Coordinator } from './coordinator';
import { Propagator } from './propagate';
import { Stream } from './stream';
import { Users } from './acl';

// Per-thread statistics, in shared memory so any thread can sum them for INFO.
export const S_CONNECTIONS = 0;       // total connections received
export const S_COMMANDS = 1;          // total commands processed
export const S_CLIENTS = 2;           // connected clients now
export const S_NET_IN = 3;
export const S_NET_OUT = 4;
export const S_REJECTED_CONN = 5;
export const S_EXPIRED = 6;
export const S_HITS = 7;
export const S_MISSES = 8;
export const S_BLOCKED = 9;           // blocked clients now
export const S_PUBSUB_CHANNELS = 10;
export const S_PUBSUB_PATTERNS = 11;
export const S_ERRORS = 12;           // total error replies
export const S_EVICTED = 13;
export const S_DIRTY = 14;            // changes since the last save (this thread's share)
export const S_PEAK_MEMORY = 15;     // the most used_memory this thread has seen (INFO / MEMORY STATS take the max)
export const S_WATCHING = 16;         // clients with WATCHed keys
export const S_PROTO_ERRORS = 17;
export const S_CLIENT_MEM = 18;       // memory of this thread's normal and pub/sub clients now (client-mem.ts)
export const S_REPLICA_MEM = 19;      // memory of this thread's replica links now (not counted for eviction)
export const S_CLIENT_MAX = 21;      // this thread's largest evictable client (client eviction takes the largest of all threads first)
export const S_CLIENT_GEN = 22;      // the client limit change (M_CLIENT_LIMIT_GEN) this thread has recounted its clients for
export const S_TICK_AT = 23;         // when (ms) this thread last ran its cron tick: the watchdog's heartbeat (watchdog.ts)
export const S_RUNNING_CMD = 24;     // commandstats index + 1 of the top-level command running now, 0 between commands
export const S_RUNNING_CLIENT = 25;  // the id of the client running it
export const S_EVICTED_CLIENTS = 20;  // clients closed by maxmemory-clients

// Words of the misc area (Int32) in shared memory.
export const M_NEXT_CLIENT_ID = 0;
export const M_CLIENTS = 1;           // connected clients, all threads (maxclients)
export const M_SHUTDOWN = 2;
export const M_LOADING = 3;
/**
 * A replica receives a full resync of its own history (repl-diskless-load swapdb) while its old
 * data keeps answering: INFO async_loading, and -LOADING for no_async_loading commands and
 * DENY_LOADING configs (Redis's server.async_loading).
 */
export const M_ASYNC_LOADING = 46;
export const M_NO_ACTIVE_EXPIRE = 4; // DEBUG SET-ACTIVE-EXPIRE 0 sets it: the main thread's cron skips active expiry
// 5 is MISC_SNAPSHOT_KILL, 6 MISC_WATCHERS, 11 MISC_SNAPSHOT, 12 MISC_SNAPSHOT_HELD (src/store/keyspace.ts); 16 M_ARRIVAL_ORDER (arrival.ts); 17 M_DEBUG_SLEEP (services.ts); 60 the slow log id (services.ts).
export const M_LAZYFREE_PENDING = 7;  // objects handed to the main thread by UNLINK, not yet freed
/** 1 while the start-up load runs: a command waits (up to 2 s) for it instead of -LOADING. */
export const M_STARTING = 15;
export const M_LAZYFREED = 8;         // objects the main thread has freed so far
export const M_MONITORS = 9;          // clients in MONITOR mode, all threads
export const M_PAUSE_TYPE = 10;       // CLIENT PAUSE in force: 0 off, 1 WRITE, 2 ALL (end: Layout.pause)
/** Bumped by the thread whose CONFIG SET changed maxmemory(-clients): no thread evicts clients until all have recounted. */
export const M_CLIENT_LIMIT_GEN = 55;
export const M_CLIENT_EVICTING = 58; // a thread is evicting clients (maxmemory-clients): one at a time, so two do not both take the excess
export const M_SKIP_CHECKSUM = 63; // DEBUG SET-SKIP-CHECKSUM-VALIDATION 1: RESTORE payloads and RDB loads skip their CRC64 (checksumSkipped)
export const M_PAUSE_CRON = 41;       // DEBUG PAUSE-CRON 1: the main thread's cron and the threads' tick do nothing

export interface CrossThreadRequest {
  op: string;
  args: unknown[];
}

export class ThreadServer {
  readonly w = new ReplyWriter();
  readonly clients = new Map<number, Client>();
  /** This thread's copy of the ACL users (server/acl.ts; commands/acl.ts keeps the copies equal). */
  acl = new Users(0);
  /** Replies collected from every thread for a broadcast request (see broadcast()). */
  broadcast: (req: CrossThreadRequest, local?: boolean) => Promise<unknown[]> = async () => [];
  /** The same, answered at once (inside a script); threads that take longer than maxMs left out. */
  broadcastSync: (req: CrossThreadRequest, maxMs: number) => unknown[] = () => [];
  /** Ask the main thread to do something (shutdown, save...). */
  toMain: (msg: Record<string, unknown>) => void = () => {};
  /** Ask the main thread to run a persistence operation (save, bgsave, reload, shutdown) and wait. */
  askMain: (op: string, args: unknown[]) => Promise<unknown> = async () => null;
  readonly startTime = Date.now();
  /** INFO process_supervised: 'no', 'upstart' or 'systemd' (server/startup.ts superviseStart). */
  supervised = 'no';
  /** INFO executable (Redis's getAbsolutePath(argv[0])): bin/shardis as run, else the CLI script. */
  executable = '';
  /** watchdog-period is set: Client.call records the command it runs for the report (watchdog.ts). */
  watched = false;
  /** This thread's pub/sub subscribers (set by the worker at start). */
  pubsub!: PubSub;
  /** Hooks that later subsystems fill (replication and AOF propagation). */
  propagate: ((db: number, argv: Buffer[]) => void) | null = null;
  /** Handlers for requests other threads broadcast to us. */
  readonly requestHandlers = new Map<string, (args: unknown[]) => unknown>();
  /** Runs on every worker when a CONFIG SET took effect (name, value; local: on the thread that ran it). */
  readonly configListeners: Array<(name: string, value: string, local: boolean) => void> = [];
  /** This thread's owner of the slot locks (every command, EXEC, serve, walker and eviction). */
  readonly coord: Coordinator;
  /** This thread's side of the propagation stream (src/server/propagate.ts). */
  readonly prop: Propagator;

  constructor(
    readonly threadId: number,
    readonly threads: number,
    readonly store: Store,
    public config: Config,
    stream: Stream,
  ) {
    this.coord = Coordinator.of(store);
    this.prop = new Propagator(stream, store);
    // A walker (SCAN, KEYS, RANDOMKEY...) that expires keys releases its slot mid-command.
    this.coord.beforeWalkUnlock = () => this.prop.flush(true);
    const lazy = (): void => {
      this.prop.lazyExpire = this.config.str('lazyfree-lazy-expire') === 'yes';
      this.prop.lazyEviction = this.config.str('lazyfree-lazy-eviction') === 'yes';
    };
    lazy();
    this.configListeners.push((name) => {
      if (name.startsWith('lazyfree-')) lazy();
    });
  }

  stat(field: number): number {
    return this.store.f64[this.store.L.stats + this.threadId * STAT_FIELDS + field];
  }

  addStat(field: number, d: number): void {
    this.store.f64[this.store.L.stats + this.threadId * STAT_FIELDS + field] += d;
  }

  setStat(field: number, v: number): void {
    this.store.f64[this.store.L.stats + this.threadId * STAT_FIELDS + field] = v;
  }

  /** A statistic of one thread (0 is main; workers are 1..threads). */
  statOf(thread: number, field: number): number {
    return this.store.f64[this.store.L.stats + thread * STAT_FIELDS + field];
  }

  /** Sum of a statistic over every thread (0 is main; workers are 1..threads). */
  sumStat(field: number): number {
    let t = 0;
    const base = this.store.L.stats;
    for (let i = 0; i <= this.threads + 4; i++) t += this.store.f64[base + i * STAT_FIELDS + field];
    return t;
  }

  misc(word: number): number {
    return Atomics.load(this.store.i32, this.store.L.misc + word);
  }

  miscAdd(word: number, d: number): number {
    return Atomics.add(this.store.i32, this.store.L.misc + word, d);
  }

  /** Store counters into the shared stats so other threads' INFO sees them. */
  publishStats(): void {
    const s = this.store;
    this.setStat(S_EXPIRED, s.expiredKeys);
    this.setStat(S_HITS, s.keyspaceHits);
    this.setStat(S_MISSES, s.keyspaceMisses);
    this.setStat(S_DIRTY, s.dirty);
    s.heap.publishUsed();
  }
}

/** DEBUG SET-SKIP-CHECKSUM-VALIDATION is on: payloads and files read skip their CRC64 (never what is written). */
export function checksumSkipped(s: Store): boolean {
  return Atomics.load(s.i32, s.L.misc + M_SKIP_CHECKSUM) !== 0;
}

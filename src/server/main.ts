// The main thread: config, the shared heap, worker threads, signals, cron (active expiry, and
// later save rules and AOF rewrite), relaying the rare cross-thread requests. Serves no clients.
import { setOomScoreAdj, setChildOomScoreAdj } from './oom';
import { onSaveChildStart } from '../persistence/child';
import * as fs from 'node:fs';
import * as v8 from 'node:v8';
import { Worker, MessageChannel } from 'worker_threads';
import * as os from 'os';
import * as path from 'path';
import { readFileSync } from 'fs';
import { Config, ConfigError } from '../config/config';
import { Heap, MAX_THREADS } from '../store/heap';
import { Store, createLayout, freeObject } from '../store/keyspace';
import '../store/types'; // every collection type's free/copy/check, registered with the keyspace
import { NSLOTS } from '../store/crc16';
import { commandByName, commandStatCount, commandStatsBytes, setCommandStatsArea } from '../commands/table';
import { configureHistograms, latencyAddSampleIfNeeded, latencyState } from './latency';
import { configureLog, log } from './log';
import type { WorkerData } from './worker';
import type { ListenFds } from './listeners';
import { createPidFile, daemonize, daemonReady, isDaemonChild, notifySystemd, removePidFile, setProcTitle, superviseStart, supervisionName, warnIgnored } from './startup';
import { SHARDIS_VERSION } from '../version';
import { unlinkSync } from 'fs';
import { installCrashHandlers, panic, setCrashInfo } from './crash';
import { Watchdog } from './watchdog';
import { REDIS_VERSION } from './info';
import { ThreadServer, S_EXPIRED, M_CLIENTS, M_NO_ACTIVE_EXPIRE, M_PAUSE_CRON, M_LAZYFREE_PENDING, M_LAZYFREED, M_PAUSE_TYPE } from './context';
import { MainPublisher } from './pubsub';
import { Coordinator } from './coordinator';
import { Propagator } from './propagate';
import { Stream, createStreamBuffer } from './stream';
import { configureNotify, type Publisher } from './notify';
import { Persistence, RdbLoader, emptyKeyspace, installCowHook } from '../persistence/snapshot';
import { loadRdbLibrary } from '../scripting/functions';
import { allowDebugSessions, endDebugSessions, stopBusyScriptForShutdown } from '../scripting/engine';
import { Aof, AofFatal } from '../persistence/aof';
import { setAofShared } from '../persistence/aof-state';
import { RDB_TYPE_NAMES, RdbError } from '../persistence/rdb';
import { pget, pset, P_LAST_BGSAVE_OK, P_LAST_BGSAVE_TIME, P_LAST_SAVE, P_SHUTDOWN_AT } from '../persistence/state';
import { M_LOADING, M_STARTING, S_DIRTY } from './context';
import { AclLog, pubsubDefaultFlags, startupUsers, type AclLogEntry } from './acl';
import { MISC_REPLICA, STAT_FIELDS } from '../store/keyspace';
import { markReplica, setStreamDb } from '../replication/replica-state';
import { isReplica, replId, replOffset, replicas, replicaStateName, rget, setReplBase, setReplId, setReplId2, appendGetack, R_BACKLOG_ACTIVE, R_MASTER_DB, S_ONLINE, S_SEND_BULK, S_WAIT_BGSAVE } from '../replication/state';
import { clientPauseWord, pauseForShutdown, PURPOSE_BITS } from './pause';
import { parseSaveRules } from '../config/directives';
import { initReplicationState } from '../replication/state';
import { ReplMaster } from '../replication/master-main';
import { installTracking, setTrackingMaxKeys, trackingClients, trackingLimitUsedSlots } from './tracking';
import { asBuffer } from '../protocol/bufview';

interface Pending { origin: Worker; originId: number; waiting: number; results: unknown[] }

export async function main(argv: string[]): Promise<void> {
  // redis-server ignores SIGHUP (a closed terminal must not stop it); Node's default would exit.
  process.on('SIGHUP', () => {});
  let config: Config;
  try {
    config = Config.load(argv, { commandExists: (n) => commandByName(n) !== undefined });
  } catch (e) {
    if (e instanceof ConfigError) {
      // A FATAL CONFIG FILE ERROR block goes to stderr as it is; the other errors through the log.
      if (e.viaLog) log('warning', e.message);
      else process.stderr.write(e.message);
      process.exit(1);
    }
    throw e;
  }
  configureLog(config.str('loglevel'), config.str('logfile'));
  // daemonize yes: the detached child carries on from here; this process waits for it and exits.
  // A supervised server stays in the foreground (systemd or upstart holds it), as Redis.
  // (The daemon child was not supervised: its parent found nothing to set up, and said so.)
  const supervised = !isDaemonChild() && superviseStart(config);
  if (config.bool('daemonize') && !supervised && !isDaemonChild()) return daemonize();
  // INFO executable, resolved before the chdir as Redis's getAbsolutePath(argv[0]).
  const executable = path.resolve(process.env.SHARDIS_EXEC_NAME || process.argv[1] || 'shardis');
  // Like redis-server, work in `dir`: RDB/AOF files and relative paths live there.
  try {
    process.chdir(config.str('dir'));
  } catch (e) {
    log('warning', `Can't chdir to '${config.str('dir')}': ${(e as Error).message}`);
    process.exit(1);
  }
  adjustOpenFilesLimit(config);
  // ACL users: requirepass, `user` directives or the aclfile; every worker starts from these.
  const aclState = startupUsers(config.str('requirepass'), config.userDirectives(), config.str('aclfile'), pubsubDefaultFlags(config.str('acl-pubsub-default')), (f) => fs.readFileSync(f, 'latin1'));
  if (typeof aclState === 'string') {
    log('warning', aclState);
    if (!aclState.startsWith('Aborting')) log('warning', 'Critical error while loading ACLs. Exiting.');
    process.exit(1);
  }
  const aclLog = new AclLog();
  // One worker per core by default, within the heap's per-thread areas (ids 1..MAX_THREADS - 1).
  const threads = config.num('threads') > 0 ? config.num('threads') : Math.min(os.availableParallelism(), MAX_THREADS - 1);
  // SHARDIS_HEAP_BYTES: bytes in use the heap allows (default: 15/16 of a reservation that follows
  // the machine's memory, or maxmemory where larger; see Heap.create). SHARDIS_HEAP_HIGH=1 (tests):
  // the heap's data starts past 4 GiB, so every address in use needs 33 bits (Node 22 and later).
  const heapEnv = process.env.SHARDIS_HEAP_BYTES;
  const heapBytes = heapEnv !== undefined && heapEnv !== '' ? Number(heapEnv) : undefined;
  const dbs = config.num('databases');

  log('notice', 'oO0OoO0OoO0Oo shardis is starting oO0OoO0OoO0Oo');
  log('notice', `shardis version=${SHARDIS_VERSION}, bits=64, pid=${process.pid}, threads=${threads}, just started`);

  const sab = Heap.create(heapBytes, { maxmemory: config.num('maxmemory'), high: process.env.SHARDIS_HEAP_HIGH === '1' });
  // V8's Maglev tier (Node 22 and later) speculates that a typed-array index fits 32 bits and, for
  // an index past 4 GiB, deoptimizes and recompiles the same way again and again (measured: a
  // 4-byte read 64 ns instead of 6; a BGSAVE of lists 7x slower). TurboFan handles such indices,
  // so a heap whose addresses can pass 4 GiB runs without Maglev (flags are process-wide: the
  // worker threads started below inherit it).
  if (sab.byteLength > 2 ** 32) v8.setFlagsFromString('--no-maglev');
  log(heapBytes !== undefined && sab.byteLength < heapBytes ? 'warning' : 'verbose', `Keyspace heap: ${Math.round(sab.byteLength / 1048576)} MB of address space reserved (committed as used)`);
  const layout = createLayout(sab, dbs);
  const commandStatsArea = Heap.reserveFixed(sab, commandStatsBytes(threads)) / 8;
  setCommandStatsArea(commandStatsArea);
  configureHistograms(threads + 8, commandStatCount);
  const heap = new Heap(sab, 0);
  const store = new Store(heap, layout);
  // watchdog-period: the main thread watches the workers' heartbeats (watchdog.ts).
  const watchdog = new Watchdog(store, threads, config);
  // Redis's maxmemory warnings (main() at start, updateMaxmemory on CONFIG SET) and one of
  // shardis's own: a maxmemory the heap cannot reach (evict.ts then evicts at the capacity).
  const warnMaxmemory = (atStart: boolean): void => {
    const mm = config.num('maxmemory');
    if (mm === 0) return;
    if (atStart && mm < 1024 * 1024) {
      log('warning', `WARNING: You specified a maxmemory value that is less than 1MB (current value is ${mm} bytes). Are you sure this is what you really want?`);
    }
    const used = store.fixedBytesInUse() + heap.usedBytes();
    if (!atStart && mm < used) {
      log('warning', `WARNING: the new maxmemory value set via CONFIG SET (${mm}) is smaller than the current memory usage (${used}). This will result in key eviction and/or the inability to accept new write commands depending on the maxmemory-policy.`);
    }
    if (mm > heap.capacity) {
      log('warning', `WARNING: maxmemory (${mm} bytes) is above what the keyspace heap can hold (${heap.capacity} bytes${heapBytes === undefined ? ': the address range reserved at start-up, at most 4 GiB on Node 20 and 32 GiB on later versions' : ', SHARDIS_HEAP_BYTES'}). Keys are evicted, or writes refused, from there.`);
    }
  };
  warnMaxmemory(true);
  // The main thread's lock owner: active expiry walks slots through it.
  const coord = Coordinator.of(store);

  // Changes over every thread (Redis's server.dirty): each thread publishes its count after each
  // command; slot 0 is this thread (loading, active expiry).
  const dirtySum = (): number => {
    store.f64[layout.stats + S_DIRTY] = store.dirty;
    let t = 0;
    for (let i = 0; i <= threads + 4; i++) t += store.f64[layout.stats + i * STAT_FIELDS + S_DIRTY];
    return t;
  };
  // Replication ids (random at start, as Redis) and the replica table, before any worker reads them.
  initReplicationState(store);
  const persistence = new Persistence(store, config, dirtySum);
  // This thread deletes keys too (active expiry, emptying for a replica's load): its deletions are
  // copied into a running snapshot first, as the workers' writes are.
  installCowHook(store, (key, bytes, logical) => persistence.onCopy(key, bytes, logical));
  // As initServer: the time the server started (LASTSAVE before any save).
  pset(store, P_LAST_SAVE, Math.floor((Date.now() - process.uptime() * 1000) / 1000));
  pset(store, P_LAST_BGSAVE_OK, 1);
  pset(store, P_LAST_BGSAVE_TIME, -1);
  // Clients that connect before the dataset is loaded wait for it, then get -LOADING when it is
  // long (Redis serves clients during a load only every 2 MB of it: a small one they never see).
  Atomics.store(store.i32, layout.misc + M_LOADING, 1);
  Atomics.store(store.i32, layout.misc + M_STARTING, 1);
  // A replica from the start (`replicaof`): read-only, no expiry of its own, until REPLICAOF NO ONE.
  const replicaOf = config.replicaOf();
  if (replicaOf !== null) markReplica(store, replicaOf.host, replicaOf.port);
  setOomScoreAdj(store, config);
  onSaveChildStart((pid) => setChildOomScoreAdj(store, config, pid));
  // The propagation stream; this thread appends the DELs of active expiry to it.
  const streamSab = createStreamBuffer();
  const stream = new Stream(streamSab);
  const prop = new Propagator(stream, store);
  const lazyExpire = (): void => {
    prop.lazyExpire = config.str('lazyfree-lazy-expire') === 'yes';
  };
  lazyExpire();
  // The AOF (src/persistence/aof.ts): loaded at start-up, then its writer thread reads the stream.
  const aof = new Aof(store, config, stream, streamSab, threads, dirtySum);
  // Function libraries read from an RDB (start-up, DEBUG RELOAD, a replica's sync, the AOF's
  // preamble) are compiled here, as rdbFunctionLoad does, before they join the server's list; a
  // context of its own (its Store object, a private stream) so nothing of it propagates.
  const fnSrv = new ThreadServer(0, threads, new Store(heap, layout), config, new Stream(createStreamBuffer(1 << 16)));
  RdbLoader.functionSink = (code, allowDup) => loadRdbLibrary(fnSrv, code, allowDup);
  setAofShared(aof.shared.sab);
  aof.setPersistence(persistence);
  aof.replicaDb = () => (isReplica(store) ? rget(store, R_MASTER_DB) : -1);
  // Test-only: capture everything propagated into a file (the replay test; see stream-capture.ts).
  const capturePath = process.env.SHARDIS_CAPTURE_STREAM;
  if (capturePath !== undefined && capturePath !== '') {
    const r = stream.attach();
    if (r !== null) {
      const cw = new Worker(path.join(__dirname, 'stream-capture.js'), { workerData: { stream: streamSab, slot: r.slot, offset: r.offset, path: capturePath } });
      cw.unref();
    }
  }

  installCrashHandlers();
  setCrashInfo(() =>
    [
      `redis_version:${REDIS_VERSION}`, `shardis_version:${SHARDIS_VERSION}`, `process_id:${process.pid}`,
      `threads:${threads}`, `uptime_in_seconds:${Math.floor(process.uptime())}`, `used_memory:${heap.usedBytes()}`,
      `used_memory_rss:${process.memoryUsage.rss()}`, `tcp_port:${config.num('port')}`,
      `connected_clients:${Atomics.load(store.i32, layout.misc + M_CLIENTS)}`,
    ].join('\n'),
  );
  const workers: Worker[] = [];
  /** Called when a worker has closed its listeners (closeWorkerListeners). */
  let listenersClosed = (): void => {};
  // The master side of replication (its thread starts with the first SYNC/PSYNC).
  const repl = new ReplMaster(store, stream, streamSab, config, persistence, workers);
  const pending = new Map<number, Pending>();
  let nextId = 1;
  const workerFile = path.join(__dirname, 'worker.js');

  const spawn = (threadId: number, fds: ListenFds | undefined): Promise<ListenFds> => {
    const data: WorkerData = { sab, layout, commandStatsArea, stream: streamSab, config: config.toJSON(), threadId, threads, fds, aof: aof.shared.sab, acl: aclState, supervised: supervisionName(config), executable };
    // A small young generation: workers' garbage is short-lived argument views, and V8's default
    // (up to 48 MB) stays resident once a burst of big commands grew it. Measured: a 1M-element
    // list load costs 29 MB of RSS instead of 46, with no throughput change (SHARDIS_YOUNG_MB overrides).
    const youngMb = Number(process.env.SHARDIS_YOUNG_MB ?? 8);
    const w = new Worker(workerFile, { workerData: data, resourceLimits: { maxYoungGenerationSizeMb: youngMb } });
    workers.push(w);
    return new Promise((resolve) => {
      w.on('message', (m: { type: string; [k: string]: unknown }) => {
        switch (m.type) {
          case 'listening':
            resolve(m.fds as ListenFds);
            break;
          case 'listeners-closed':
            listenersClosed();
            break;
          case 'fatal':
            log('warning', m.message as string);
            process.exit(1);
            break;
          case 'bcast': {
            const relay = (): void => {
              const others = workers.filter((x) => x !== w);
              const id = nextId++;
              if (others.length === 0) {
                w.postMessage({ type: 'bcast-done', id: m.id, results: [] });
                return;
              }
              pending.set(id, { origin: w, originId: m.id as number, waiting: others.length, results: [] });
              for (const o of others) o.postMessage({ type: 'req', id, op: m.op, args: m.args });
            };
            // CONFIG SET appendonly replies once the AOF is started or stopped (as Redis's
            // synchronous startAppendOnly: aof_rewrite_in_progress is 1 when the reply comes).
            if (m.op === 'config-applied') void aof.appendonlySettled().then(relay);
            else relay();
            break;
          }
          case 'resp': {
            const p = pending.get(m.id as number);
            if (p === undefined) break;
            p.results.push(m.result);
            if (--p.waiting === 0) {
              pending.delete(m.id as number);
              p.origin.postMessage({ type: 'bcast-done', id: p.originId, results: p.results });
            }
            break;
          }
          case 'track-ring':
            // A worker's doorbell for another before their direct ports exist.
            workers[(m.thread as number) - 1]?.postMessage({ type: 'track' });
            break;
          case 'config':
            config.set([[m.name as string, m.value as string]], { force: true });
            if (m.name === 'tracking-table-max-keys') setTrackingMaxKeys(config.num('tracking-table-max-keys'));
            if (m.name === 'proc-title-template') setProcTitle(config);
            if (m.name === 'watchdog-period' || m.name === 'hz') watchdog.apply();
            warnIgnored(config, m.name as string);
            if (m.name === 'maxmemory') warnMaxmemory(false);
            if (m.name === 'notify-keyspace-events') configureNotify(config.notifyKeyspaceEvents(), store, publishEvent);
            if (m.name === 'lazyfree-lazy-expire') lazyExpire();
            repl.onConfig(m.name as string);
            aof.onConfig(m.name as string);
            if (m.name === 'appendonly') void aof.onAppendonly(m.inExec === true);
            for (const o of workers) if (o !== w) o.postMessage(m);
            break;
          case 'acl-log':
            aclLog.add(m.entry as AclLogEntry, config.num('acllog-max-len'));
            break;
          case 'lazyfree':
            // UNLINK's objects: freed here, where no client waits on this thread.
            freeObject(heap, m.objType as number, m.enc as number, m.obj as number);
            Atomics.sub(store.i32, layout.misc + M_LAZYFREE_PENDING, 1);
            Atomics.add(store.i32, layout.misc + M_LAZYFREED, 1);
            break;
          case 'monitor':
            // MONITOR lines of one worker's turn: for the monitors on the others.
            for (const o of workers) if (o !== w) o.postMessage(m);
            break;
          case 'lazyfree-tables': {
            // FLUSHDB/FLUSHALL ASYNC: slot tables already out of the keyspace, freed here.
            const tables = m.tables as number[];
            for (let i = 0; i < tables.length; i++) store.freeDetachedTable(tables[i]);
            Atomics.sub(store.i32, layout.misc + M_LAZYFREE_PENDING, m.keys as number);
            Atomics.add(store.i32, layout.misc + M_LAZYFREED, m.keys as number);
            break;
          }
          case 'shutdown':
            void shutdown(0);
            break;
          case 'repl':
            repl.onMessage(m as unknown as { op: string; [k: string]: unknown });
            break;
          case 'cow':
            // A view, not a copy: the bytes were moved or cloned into this thread.
            persistence.onCopy(m.key as number, asBuffer(m.bytes as Uint8Array), m.logical as number);
            break;
          case 'persist':
            // A failed operation still answers its client (a SAVE that threw never replied).
            void persistOp(m.op as string, m.args as unknown[]).then(
              (results) => w.postMessage({ type: 'persist-done', id: m.id, results }),
              (e: unknown) => {
                log('warning', `${m.op as string} failed: ${(e as Error).message}`);
                w.postMessage({ type: 'persist-done', id: m.id, results: `ERR ${(e as Error).message}` });
              },
            );
            break;
          case 'panic':
            panic(m.message as string, m.stack as string);
        }
      });
      w.on('error', (e) => panic(`worker ${threadId}: ${e.message}`, e.stack ?? String(e)));
    });
  };

  // "expired" events of active expiry: this thread has no subscribers, so they are counted in the
  // shared registry and posted to the workers that have receivers, once per cron tick.
  const mainPub = new MainPublisher(store, threads, (t, m, transfer) => workers[t - 1]?.postMessage(m, transfer));
  const publishEvent: Publisher = (_from, channel, message) => {
    mainPub.publish(channel, message);
  };
  configureNotify(config.notifyKeyspaceEvents(), store, publishEvent);
  // Active expiry invalidates tracked keys from here: every client is on a worker's inbox.
  installTracking(store, 0, threads, null, (t) => workers[t - 1]?.postMessage({ type: 'track' }), config.num('tracking-table-max-keys'));

  const fds = await spawn(1, undefined);
  await Promise.all(Array.from({ length: threads - 1 }, (_, i) => spawn(i + 2, fds)));
  // A direct port between every pair of workers, for pub/sub messages.
  for (let a = 0; a < workers.length; a++) {
    for (let b = a + 1; b < workers.length; b++) {
      const ch = new MessageChannel();
      workers[a].postMessage({ type: 'peer', peer: b + 1, port: ch.port1 }, [ch.port1]);
      workers[b].postMessage({ type: 'peer', peer: a + 1, port: ch.port2 }, [ch.port2]);
    }
  }
  createPidFile(config);
  setProcTitle(config);
  // always-show-logo yes: Redis's logo carries " PID: <pid>" (test harnesses wait for it, then
  // connect: printed once the workers listen).
  if (config.bool('always-show-logo')) log('notice', `Running in standalone mode, port ${config.num('port')}, PID: ${process.pid}`);
  log('notice', 'Server initialized');
  // rdbPopulateSaveInfo: a replica's saves record where it is in its master's stream, a master's
  // (with a backlog) where its own stream is, so that either continues partially after a restart.
  persistence.replAux = () => {
    let sdb: number;
    if (isReplica(store)) {
      sdb = rget(store, R_MASTER_DB);
      if (sdb < 0) return null;
    } else {
      if (rget(store, R_BACKLOG_ACTIVE) !== 1) return null;
      // The db the stream's last unit selected (-1, none since a full sync: 0, as Redis's
      // slaveseldb -1; the next write selects its db anyway).
      sdb = Math.max(0, stream.db);
    }
    return [['repl-stream-db', String(sdb)], ['repl-id', replId(store)], ['repl-offset', String(replOffset(store, stream))]];
  };
  let loadedAux: Map<string, string> | null = null;
  const expiredAtLoad: Array<[number, Buffer]> | null = replicaOf === null ? [] : null;
  try {
    // appendonly yes: the AOF is the dataset (the RDB is not read), as Redis's loadDataFromDisk.
    if (config.bool('appendonly')) await aof.loadAtStartup();
    else loadedAux = await persistence.loadAtStartup(replicaOf !== null, expiredAtLoad);
    if (config.bool('appendonly')) aof.openOnStart();
  } catch (e) {
    if (e instanceof AofFatal) process.exit(1);
    if (!(e instanceof RdbError)) throw e;
    if (e.offset === 0 && e.message.startsWith("can't open")) {
      log('warning', `Fatal error loading the DB: ${e.message}. Exiting.`);
      process.exit(1);
    }
    log('warning', `Internal error in RDB reading offset ${e.offset} of ${persistence.filePath()} -> ${e.message}`);
    // redis-check-rdb's report, as Redis runs it here.
    log('warning', '--- RDB ERROR DETECTED ---');
    log('warning', `[offset ${e.offset}] ${e.message}`);
    if (e.key !== null) log('warning', `[additional info] Reading key '${e.key.toString('latin1')}'`);
    if (e.rdbType >= 0) log('warning', `[additional info] Reading type ${e.rdbType} (${RDB_TYPE_NAMES[e.rdbType] ?? 'unknown'})`);
    log('warning', 'Terminating server after rdb file reading failure.');
    process.exit(1);
  }
  // Before any client runs: a replica's PSYNC must find the restored ids and backlog.
  if (replicaOf === null) {
    // A master restarted from a file with its replication position (loadDataFromDisk): the old
    // id becomes replid2, valid up to that offset + 1, the offset goes on from there, and a
    // backlog starts now, so its replicas continue with +CONTINUE (from the new id).
    const id = loadedAux?.get('repl-id');
    const off = Number(loadedAux?.get('repl-offset') ?? NaN);
    const sdb = Number(loadedAux?.get('repl-stream-db') ?? NaN);
    if (id !== undefined && id.length === 40 && Number.isInteger(off) && off >= 0 && Number.isInteger(sdb) && sdb >= 0) {
      setReplId2(store, id, off + 1);
      setReplBase(store, stream, off);
      repl.onMessage({ op: 'backlog' });
      // The keys the file held that have expired since go to the backlog as DELs, once it
      // reads the stream (the replication thread attaches it), so that replicas continuing
      // from `off` drop them too; a backlog they overflow sends replicas to a full sync.
      if (expiredAtLoad !== null && expiredAtLoad.length > 0) {
        for (let i = 0; i < 5000 && rget(store, R_BACKLOG_ACTIVE) !== 1; i++) await new Promise((r) => setTimeout(r, 1));
        for (const [db, key] of expiredAtLoad) prop.expiredAtLoad(db, key);
        prop.flush();
      }
    }
  }
  Atomics.store(store.i32, layout.misc + M_LOADING, 0);
  Atomics.store(store.i32, layout.misc + M_STARTING, 0);
  warnIgnored(config);
  // The replication link lives on worker 1 (src/replication/replica.ts).
  if (replicaOf !== null) {
    // The file says where this replica was in its master's stream: our history, offered at PSYNC
    // (loadDataFromDisk: replid and offset restored, replicationCacheMasterUsingMyself).
    const id = loadedAux?.get('repl-id');
    const off = Number(loadedAux?.get('repl-offset') ?? NaN);
    const sdb = Number(loadedAux?.get('repl-stream-db') ?? NaN);
    let cached: { replid: string; reploff: number; db: number } | null = null;
    if (id !== undefined && id.length === 40 && Number.isInteger(off) && off >= 0 && Number.isInteger(sdb) && sdb >= 0 && sdb < dbs) {
      setReplId(store, id);
      setReplBase(store, stream, off);
      cached = { replid: id, reploff: off, db: sdb };
    }
    workers[0].postMessage({ type: 'replica-start', cached });
  }
  if (fds.tcp.length > 0) log('notice', `Ready to accept connections tcp (port ${config.num('port')}, ${threads} threads)`);
  if (fds.unix >= 0) log('notice', `The server is now ready to accept connections at ${config.str('unixsocket')}`);
  notifySystemd(config, replicaOf === null ? 'STATUS=Ready to accept connections\n'
    : 'STATUS=Ready to accept connections in read-only mode. Waiting for MASTER <-> REPLICA sync\n');
  notifySystemd(config, 'READY=1\n');
  watchdog.apply();
  daemonReady();

  /** SAVE, BGSAVE, DEBUG RELOAD and SHUTDOWN asked by a worker; the result goes back to it. */
  async function persistOp(op: string, args: unknown[]): Promise<unknown> {
    switch (op) {
      case 'acl-log':
        return aclLog.entries.slice(0, args[0] as number);
      case 'acl-log-reset':
        aclLog.entries = [];
        return null;
      case 'save':
        if (persistence.rdbChild) return 'ERR Background save already in progress';
        return (await persistence.save('save')) ? null : 'ERR';
      case 'flushall-save':
        // FLUSHALL with save rules (flushAllDataAndResetRDB): the running RDB save was stopped by
        // the flush (MISC_SNAPSHOT_KILL); a foreground save of the emptied dataset resets the dirty counter.
        while (persistence.inProgress) await new Promise((r) => setTimeout(r, 10));
        return (await persistence.save('save')) ? null : 'ERR';
      case 'bgsave':
        if (persistence.rdbChild) {
          if (args[0] === true) {
            persistence.scheduled = true;
            return 'scheduled';
          }
          return 'ERR Background save already in progress';
        }
        void persistence.save('bgsave');
        return 'started';
      case 'bgrewriteaof':
        return aof.bgrewriteaof(args[0] === true);
      case 'loadaof': {
        const r = await aof.debugLoad();
        if (r !== null) {
          // As Redis: a DEBUG LOADAOF that cannot load the AOF exits.
          log('warning', r);
          process.exit(1);
        }
        log('notice', 'Append Only File loaded by DEBUG LOADAOF');
        return null;
      }
      case 'reload':
        if (persistence.rdbChild) return 'ERR Background save already in progress';
        return persistence.reload(args[0] as boolean, args[1] as boolean, args[2] as boolean);
      case 'replica-load':
        return replicaLoad(args[0] as Uint8Array | null);
      case 'shutdown': {
        const flags = args[0] as { save: boolean; nosave: boolean; now: boolean; force: boolean };
        const ok = await shutdown(0, flags);
        return ok ? null : 'ERR Errors trying to SHUTDOWN. Check logs.';
      }
      case 'shutdown-abort':
        return abortShutdown() ? null : 'ERR No shutdown in progress.';
    }
    return null;
  }

  /**
   * A replica's full sync (readSyncBulkPayload, after the transfer): empty the dataset, load the
   * master's snapshot (from the bytes, or from dbfilename where the link renamed it), keeping
   * expired keys. Clients get -LOADING meanwhile. The db the master's stream continues in comes
   * back (AUX repl-stream-db).
   */
  async function replicaLoad(payload: Uint8Array | null): Promise<{ ok: boolean; streamDb: number }> {
    // A snapshot being written would mix the old and the new dataset: let it finish first.
    while (persistence.inProgress) await new Promise((r) => setTimeout(r, 10));
    // The AOF stops before the dataset is replaced and starts again with a rewrite of the loaded
    // one (stopAppendOnly / restartAOFAfterSYNC), in the db the master's stream continues in.
    const aofWasOn = await aof.stopForSync();
    let streamDb = -1;
    Atomics.store(store.i32, layout.misc + M_LOADING, 1);
    try {
      log('notice', 'MASTER <-> REPLICA sync: Flushing old data');
      if (config.bool('replica-lazy-flush')) lazyEmpty();
      else persistence.emptyAll();
      // A diskless transfer logged it at its first byte (the replica link, as Redis's load from the socket).
      if (payload === null) log('notice', 'MASTER <-> REPLICA sync: Loading DB in memory');
      let aux: Map<string, string>;
      try {
        const buf = payload !== null ? Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength) : readFileSync(persistence.filePath());
        aux = await persistence.loadBuffer(buf, true, true);
      } catch (e) {
        const how = payload !== null ? 'from socket' : 'from disk';
        log('warning', `Failed trying to load the MASTER synchronization DB ${how}: ${(e as Error).message}`);
        persistence.emptyAll();
        if (payload === null) persistence.removeReceivedRdb();
        return { ok: false, streamDb: 0 };
      }
      if (payload === null) persistence.removeReceivedRdb();
      const db = Number(aux.get('repl-stream-db') ?? '0');
      streamDb = Number.isInteger(db) && db >= 0 && db < dbs ? db : 0;
      return { ok: true, streamDb };
    } finally {
      Atomics.store(store.i32, layout.misc + M_LOADING, 0);
      if (aofWasOn || config.bool('appendonly')) {
        // The link sets this too once it is up; the rewrite's point in time comes first.
        if (streamDb >= 0) setStreamDb(store, streamDb);
        aof.restartAfterSync();
      }
    }
  }

  /**
   * replica-lazy-flush (emptyData with EMPTYDB_ASYNC): the old dataset leaves the keyspace at
   * once and is freed in steps between the load's, counted in lazyfree_pending_objects.
   */
  function lazyEmpty(): void {
    const tables: number[] = [];
    const keys: number[] = [];
    emptyKeyspace(store, (t, n) => {
      tables.push(t);
      keys.push(n);
    });
    Atomics.add(store.i32, layout.misc + M_LAZYFREE_PENDING, keys.reduce((a, b) => a + b, 0));
    let i = 0;
    const step = (): void => {
      for (const end = Math.min(tables.length, i + 64); i < end; i++) {
        store.freeDetachedTable(tables[i]);
        Atomics.sub(store.i32, layout.misc + M_LAZYFREE_PENDING, keys[i]);
        Atomics.add(store.i32, layout.misc + M_LAZYFREED, keys[i]);
      }
      if (i < tables.length) setImmediate(step);
    };
    setImmediate(step);
  }

  // Active expiry: sample slots with volatile keys, as Redis's activeExpireCycle does per db.
  let cursor = 0;
  const hz = Math.max(1, Math.min(500, config.num('hz')));
  const cron = setInterval(() => {
    // DEBUG PAUSE-CRON 1: no cron work at all, as Redis's serverCron returns at once.
    if (Atomics.load(store.i32, layout.misc + M_PAUSE_CRON) !== 0) return;
    // A signal's shutdown starts here; one waiting for its replicas ends when they caught up or
    // at its timeout.
    const shutdownAt = pget(store, P_SHUTDOWN_AT);
    if (shutdownAsap !== null && shutdownAt === 0 && !shuttingDown) {
      const f = config.num(shutdownAsap);
      void shutdown(0, { save: (f & 1) !== 0, nosave: (f & 2) !== 0, now: (f & 4) !== 0, force: (f & 8) !== 0 });
    } else if (shutdownAt !== 0 && !shuttingDown && (Date.now() >= shutdownAt || replicasInSync())) {
      void finishShutdown(0);
    }
    heap.publishUsed();
    heap.trimIdle();
    // Client-side caching: keep the table under tracking-table-max-keys even when idle (serverCron).
    if (trackingClients(store) > 0) trackingLimitUsedSlots();
    // The main thread is stats slot 0: INFO sums its expirations with the workers'.
    store.f64[layout.stats + S_EXPIRED] = store.expiredKeys;
    if (Atomics.load(store.i32, layout.misc + M_NO_ACTIVE_EXPIRE) !== 0) return;
    // A replica's keys expire when its master says so (its DELs), never by themselves.
    if (Atomics.load(store.i32, layout.misc + MISC_REPLICA) !== 0) return;
    // Nothing expires while a dataset loads (DEBUG LOADAOF), as Redis.
    if (Atomics.load(store.i32, layout.misc + M_LOADING) !== 0) return;
    // CLIENT PAUSE, FAILOVER and a shutdown's wait (no end time): the dataset stays as it is until they end.
    const pause = Atomics.load(store.i32, layout.misc + M_PAUSE_TYPE);
    if ((pause & PURPOSE_BITS) !== 0 || (pause !== 0 && Date.now() < store.f64[layout.pause])) return;
    let volatile = 0;
    for (let db = 0; db < dbs; db++) volatile += store.volatileCount(db);
    if (volatile === 0) return;
    // Like Redis's slow cycle: at most 25% of a tick; the clock is read every 256 slots only.
    const cycleStart = performance.now();
    const budgetEnd = Date.now() + Math.max(1, 250 / hz);
    for (let scanned = 0; scanned < NSLOTS; scanned++) {
      const slot = cursor;
      cursor = (cursor + 1) & (NSLOTS - 1);
      // DEBUG SET-ACTIVE-EXPIRE 0 during a cycle stops it: a key written after it (under the
      // slot's lock, looked at here) must stay past its TTL, as on Redis's one thread.
      if (Atomics.load(store.i32, layout.misc + M_NO_ACTIVE_EXPIRE) !== 0) break;
      if (store.slotHasVolatile(slot)) {
        coord.withSlot(slot, () => {
          if (Atomics.load(store.i32, layout.misc + M_NO_ACTIVE_EXPIRE) !== 0) return;
          store.now = Date.now();
          store.expireSlot(slot, 200);
        });
      }
      if ((scanned & 255) === 255 && Date.now() >= budgetEnd) break;
    }
    // A cycle can overrun its budget when one key is big (its free is not split).
    latencyState.threshold = config.num('latency-monitor-threshold');
    latencyAddSampleIfNeeded(store, 'expire-cycle', Math.floor(performance.now() - cycleStart));
    mainPub.flush();
    store.f64[layout.stats + S_EXPIRED] = store.expiredKeys;
  }, 1000 / hz);
  // Save rules, once a second (serverCron checks them every tick; a second is their unit).
  const saveCron = setInterval(() => {
    if (!shuttingDown) persistence.cron();
    repl.cron();
    persistence.removeSyncRdb(() => replicas(store).some((r) => r.state === S_WAIT_BGSAVE || r.state === S_SEND_BULK));
    if (!shuttingDown) aof.cron();
    // Freed heap pages kept resident for reuse go back to the OS once a second.
    heap.releaseResident();
  }, 1000);

  let shuttingDown = false;
  interface ShutdownFlags { save: boolean; nosave: boolean; now: boolean; force: boolean }
  let shutdownFlags: ShutdownFlags = { save: false, nosave: false, now: false, force: false };
  // SHUTDOWN callers (and signals) waiting with a shutdown for its replicas: false when it is
  // cancelled (ABORT, or a failed save), the server then runs on.
  let shutdownWaiters: Array<(ok: boolean) => void> = [];
  /** A signal asked for a shutdown (Redis's shutdown_asap): its shutdown-on-sig* directive. */
  let shutdownAsap: string | null = null;
  /** isReadyToShutdown: every replica acknowledged the whole stream. */
  const replicasInSync = (): boolean => {
    const off = replOffset(store, stream);
    return replicas(store).every((r) => r.ack === off);
  };
  /**
   * prepareForShutdown: with replicas behind and shutdown-timeout set (and not NOW), writes pause
   * and the shutdown waits (up to the timeout) for them to acknowledge everything, asking them
   * with REPLCONF GETACK; the cron finishes it. A SHUTDOWN while one waits joins it. True when
   * the server exits.
   */
  async function shutdown(code: number, flags: ShutdownFlags = { save: false, nosave: false, now: false, force: false }): Promise<boolean> {
    if (shuttingDown) return true;
    if (pget(store, P_SHUTDOWN_AT) !== 0) return new Promise((res) => shutdownWaiters.push(res));
    log('warning', 'User requested shutdown...');
    endDebugSessions();
    notifySystemd(config, 'STOPPING=1\n');
    shutdownFlags = flags;
    const timeout = config.num('shutdown-timeout');
    if (!flags.now && timeout !== 0 && !replicasInSync()) {
      pset(store, P_SHUTDOWN_AT, Date.now() + timeout * 1000);
      if (!clientPauseWord(store)) appendGetack(stream);
      pauseForShutdown(store, true);
      log('notice', 'Waiting for replicas before shutting down.');
      return new Promise((res) => shutdownWaiters.push(res));
    }
    return finishShutdown(code);
  }
  /** Every worker closes its listening sockets; one that does not answer within a second is ended anyway. */
  function closeWorkerListeners(): Promise<void> {
    return new Promise((resolve) => {
      let left = workers.length;
      if (left === 0) return resolve();
      const t = setTimeout(resolve, 1000);
      listenersClosed = () => {
        if (--left > 0) return;
        clearTimeout(t);
        resolve();
      };
      for (const w of workers) w.postMessage({ type: 'close-listeners' });
    });
  }
  /** cancelShutdown: writes go on; the waiting SHUTDOWN callers get their error. */
  function cancelShutdown(): void {
    shutdownAsap = null;
    allowDebugSessions();
    pset(store, P_SHUTDOWN_AT, 0);
    pauseForShutdown(store, false);
    const waiting = shutdownWaiters;
    shutdownWaiters = [];
    for (const w of waiting) w(false);
  }
  /** SHUTDOWN ABORT: true when a shutdown was waiting (abortShutdown). */
  function abortShutdown(): boolean {
    if (shuttingDown) return false;
    if (pget(store, P_SHUTDOWN_AT) !== 0) cancelShutdown();
    else if (shutdownAsap !== null) {
      shutdownAsap = null; // asked by a signal, not started yet
      allowDebugSessions();
    } else return false;
    log('notice', 'Shutdown manually aborted.');
    return true;
  }
  /**
   * finishShutdown: save first when asked (SAVE) or when save rules exist (unless NOSAVE); a
   * failed save cancels the shutdown unless FORCE. False when the server keeps running.
   */
  async function finishShutdown(code: number): Promise<boolean> {
    const flags = shutdownFlags;
    shuttingDown = true;
    const off = replOffset(store, stream);
    const rows = replicas(store);
    let lagging = 0;
    for (const r of rows) {
      if (r.ack === off) continue;
      lagging++;
      const lag = r.state === S_ONLINE ? Math.floor((Date.now() - r.ackTime) / 1000) : 0;
      log('warning', `Lagging replica ${r.ip}:${r.port} reported offset ${off - r.ack} behind master, lag=${lag}, state=${replicaStateName(r.state)}.`);
    }
    if (rows.length > 0) log('notice', `${rows.length - lagging} of ${rows.length} replicas are in sync when shutting down.`);
    const fail = (): boolean => {
      log('warning', 'Errors trying to shut down the server. Check the logs for more information.');
      shuttingDown = false;
      cancelShutdown();
      return false;
    };
    // prepareForShutdown: a running RDB save (or diskless sync) is killed, SAVE or NOSAVE, so it
    // cannot overwrite the final save; its end removes its temp file.
    if (persistence.rdbChild) {
      log('warning', 'There is a child saving an .rdb. Killing it!');
      persistence.killRdbChild();
      for (let i = 0; i < 500 && persistence.rdbChild; i++) await new Promise((r) => setTimeout(r, 10));
    }
    // Then the AOF rewrite (its temp files go): the AOF there holds the dataset anyway.
    if (!aof.killRewriteForShutdown(flags.force)) return fail();
    const rules = parseSaveRules(config.str('save'));
    if (!flags.nosave && (flags.save || rules.length > 0)) {
      notifySystemd(config, 'STATUS=Saving the final RDB snapshot\n');
      const ok = await persistence.save('shutdown');
      if (!ok) {
        if (flags.force) {
          log('warning', 'Error trying to save the DB. Exit anyway.');
        } else {
          log('warning', "Error trying to save the DB, can't exit.");
          notifySystemd(config, "STATUS=Error trying to save the DB, can't exit.\n");
          return fail();
        }
      }
    }
    // flushAppendOnlyFile(1) and an fsync: every acknowledged write is in the AOF before exiting.
    await aof.stop();
    clearInterval(cron);
    clearInterval(saveCron);
    removePidFile(config);
    if (config.str('unixsocket') !== '') {
      log('notice', 'Removing the unix socket file.');
      try {
        unlinkSync(config.str('unixsocket'));
      } catch (e) {
        log('warning', `Error removing the unix socket file: ${(e as Error).message}`);
      }
    }
    // A worker inside a script's Lua loop (SHUTDOWN NOSAVE of a script that cannot be killed)
    // never returns to JS, and terminating it (process.exit too) would wait for it for ever:
    // the script is stopped first. Should a thread still not stop, the process goes anyway.
    stopBusyScriptForShutdown(store);
    // closeListeningSockets: every thread stops accepting before any client's connection closes
    // (threads end one by one), so a client that reconnects once its connection dropped is
    // refused rather than accepted by a thread still running.
    await closeWorkerListeners();
    log('notice', 'shardis is now ready to exit, bye bye...');
    const stopped = await Promise.race([
      Promise.all(workers.map((w) => w.terminate())).then(() => true),
      new Promise<boolean>((r) => setTimeout(r, 5000, false)),
    ]);
    if (!stopped) {
      log('warning', 'A thread did not stop in 5 seconds: killing the process.');
      process.kill(process.pid, 'SIGKILL');
    }
    process.exit(code);
  }
  // SIGTERM / SIGINT (sigShutdownHandler): the shutdown is scheduled, and the hz cron starts it
  // with the signal's shutdown-on-sig* flags (so DEBUG PAUSE-CRON holds it, and SHUTDOWN ABORT
  // can cancel it before it starts). A SIGINT while one is under way exits at once, removing the
  // save's temp file.
  const onSignal = (name: string, directive: string): void => {
    if (shutdownAsap !== null && name === 'SIGINT') {
      log('warning', 'You insist... exiting now.');
      try {
        unlinkSync(path.join(path.dirname(persistence.filePath()), `temp-${process.pid}.rdb`));
      } catch {
        // no save was writing
      }
      process.exit(1);
    }
    log('warning', `Received ${name} scheduling shutdown...`);
    endDebugSessions();
    shutdownAsap = directive;
  };
  process.on('SIGINT', () => onSignal('SIGINT', 'shutdown-on-sigint'));
  process.on('SIGTERM', () => onSignal('SIGTERM', 'shutdown-on-sigterm'));
}

/**
 * Like Redis's adjustOpenFilesLimit: maxclients needs maxclients + 32 descriptors. Node cannot
 * raise its own limit (bin/shardis does, when it can), so read it and reduce maxclients to fit.
 */
function adjustOpenFilesLimit(config: Config): void {
  let soft = Infinity;
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (m !== null && m[1] !== 'unlimited') soft = Number(m[1]);
  } catch {
    return;
  }
  const want = config.num('maxclients') + 32;
  if (soft >= want) return;
  const reduced = Math.max(1, soft - 32);
  log('warning', `You requested maxclients of ${config.num('maxclients')} requiring at least ${want} max file descriptors.`);
  log('warning', `Server can't set maximum open files to ${want} because of OS error: Operation not permitted.`);
  log('warning', `Current maximum open files is ${soft}. maxclients has been reduced to ${reduced} to compensate for low ulimit. If you need higher maxclients increase 'ulimit -n'.`);
  config.set([['maxclients', String(reduced)]], { force: true });
}

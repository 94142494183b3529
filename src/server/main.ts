// The main thread: config, the shared heap, worker threads, signals, cron (active expiry, and
// later save rules and AOF rewrite), relaying the rare cross-thread requests. Serves no clients.
import { Worker, MessageChannel } from 'worker_threads';
import * as os from 'os';
import * as path from 'path';
import { readFileSync } from 'fs';
import { Config, ConfigError } from '../config/config';
import { Heap } from '../store/heap';
import { Store, createLayout, freeObject } from '../store/keyspace';
import { NSLOTS } from '../store/crc16';
import { commandStatsBytes, setCommandStatsArea } from '../commands/table';
import { configureLog, log } from './log';
import type { WorkerData } from './worker';
import { S_EXPIRED, M_NO_ACTIVE_EXPIRE, M_LAZYFREE_PENDING, M_LAZYFREED, M_PAUSE_TYPE } from './context';
import { MainPublisher } from './pubsub';
import { configureNotify, type Publisher } from './notify';

interface Pending { origin: Worker; originId: number; waiting: number; results: unknown[] }

export async function main(argv: string[]): Promise<void> {
  let config: Config;
  try {
    config = Config.load(argv);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(1);
    }
    throw e;
  }
  configureLog(config.str('loglevel'), config.str('logfile'));
  // Like redis-server, work in `dir`: RDB/AOF files and relative paths live there.
  try {
    process.chdir(config.str('dir'));
  } catch (e) {
    log('warning', `Can't chdir to '${config.str('dir')}': ${(e as Error).message}`);
    process.exit(1);
  }
  adjustOpenFilesLimit(config);
  const threads = config.num('threads') > 0 ? config.num('threads') : os.availableParallelism();
  const heapBytes = Number(process.env.SHARDIS_HEAP_BYTES ?? 2 ** 32);
  const dbs = config.num('databases');

  log('notice', 'oO0OoO0OoO0Oo shardis is starting oO0OoO0OoO0Oo');
  log('notice', `shardis version=0.1.0, bits=64, pid=${process.pid}, threads=${threads}, just started`);

  const sab = Heap.create(heapBytes);
  log(sab.byteLength < heapBytes ? 'warning' : 'verbose', `Keyspace heap: ${Math.round(sab.byteLength / 1048576)} MB of address space reserved (committed as used)`);
  const layout = createLayout(sab, dbs);
  const commandStatsArea = Heap.reserveFixed(sab, commandStatsBytes(threads)) >>> 3;
  setCommandStatsArea(commandStatsArea);
  const heap = new Heap(sab, 0);
  const store = new Store(heap, layout);

  const workers: Worker[] = [];
  const pending = new Map<number, Pending>();
  let nextId = 1;
  const workerFile = path.join(__dirname, 'worker.js');

  const spawn = (threadId: number, fds: number[] | undefined): Promise<number[]> => {
    const data: WorkerData = { sab, layout, commandStatsArea, config: config.toJSON(), threadId, threads, fds };
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
            resolve(m.fds as number[]);
            break;
          case 'fatal':
            log('warning', m.message as string);
            process.exit(1);
            break;
          case 'bcast': {
            const others = workers.filter((x) => x !== w);
            const id = nextId++;
            if (others.length === 0) {
              w.postMessage({ type: 'bcast-done', id: m.id, results: [] });
              break;
            }
            pending.set(id, { origin: w, originId: m.id as number, waiting: others.length, results: [] });
            for (const o of others) o.postMessage({ type: 'req', id, op: m.op, args: m.args });
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
          case 'config':
            config.set([[m.name as string, m.value as string]]);
            if (m.name === 'notify-keyspace-events') configureNotify(config.notifyKeyspaceEvents(), store, publishEvent);
            for (const o of workers) if (o !== w) o.postMessage(m);
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
        }
      });
      w.on('error', (e) => {
        log('warning', `worker ${threadId} crashed: ${e.stack}`);
        process.exit(1);
      });
    });
  };

  // "expired" events of active expiry: this thread has no subscribers, so they are counted in the
  // shared registry and posted to the workers that have receivers, once per cron tick.
  const mainPub = new MainPublisher(store, threads, (t, m, transfer) => workers[t - 1]?.postMessage(m, transfer));
  const publishEvent: Publisher = (_from, channel, message) => {
    mainPub.publish(channel, message);
  };
  configureNotify(config.notifyKeyspaceEvents(), store, publishEvent);

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
  log('notice', 'Server initialized');
  log('notice', `Ready to accept connections tcp (port ${config.num('port')}, ${threads} threads)`);

  // Active expiry: sample slots with volatile keys, as Redis's activeExpireCycle does per db.
  let cursor = 0;
  const hz = Math.max(1, Math.min(500, config.num('hz')));
  const cron = setInterval(() => {
    heap.publishUsed();
    // The main thread is stats slot 0: INFO sums its expirations with the workers'.
    store.f64[layout.stats + S_EXPIRED] = store.expiredKeys;
    if (Atomics.load(store.i32, layout.misc + M_NO_ACTIVE_EXPIRE) !== 0) return;
    // CLIENT PAUSE: the dataset stays as it is until the pause ends.
    if (Atomics.load(store.i32, layout.misc + M_PAUSE_TYPE) !== 0 && Date.now() < store.f64[layout.pause]) return;
    let volatile = 0;
    for (let db = 0; db < dbs; db++) volatile += store.volatileCount(db);
    if (volatile === 0) return;
    // Like Redis's slow cycle: at most 25% of a tick; the clock is read every 256 slots only.
    const budgetEnd = Date.now() + Math.max(1, 250 / hz);
    for (let scanned = 0; scanned < NSLOTS; scanned++) {
      const slot = cursor;
      cursor = (cursor + 1) & (NSLOTS - 1);
      if (store.slotHasVolatile(slot)) {
        store.withSlot(slot, () => {
          store.now = Date.now();
          store.expireSlot(slot, 200);
        });
      }
      if ((scanned & 255) === 255 && Date.now() >= budgetEnd) break;
    }
    mainPub.flush();
    store.f64[layout.stats + S_EXPIRED] = store.expiredKeys;
  }, 1000 / hz);

  let shuttingDown = false;
  async function shutdown(code: number): Promise<void> {
    if (shuttingDown) return;
    shuttingDown = true;
    clearInterval(cron);
    log('warning', 'User requested shutdown...');
    log('notice', 'shardis is now ready to exit, bye bye...');
    await Promise.all(workers.map((w) => w.terminate()));
    process.exit(code);
  }
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));
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

// The replication thread (a worker_thread that serves no clients and never takes a slot lock):
// the master side's one reader of the propagation stream. It keeps the backlog (the last
// repl-backlog-size bytes and what replicas still hold, for partial resyncs), answers the
// workers' sync requests (partial from the backlog, or a full resync it asks the main thread to
// snapshot for), and posts every chunk it reads, once, to each worker that holds replica
// sockets (src/replication/master.ts writes them out; the chunk's memory is shared, below). A
// replica that does not read costs memory up to its output buffer limit, never a stall: this
// thread copies out and releases at once, so writers wait for it only as long as a copy takes.
//
// Offsets here are STREAM offsets; replication offsets (what replicas see) add R_BASE.
import { workerData, parentPort } from 'worker_threads';
import { Stream, type StreamReader } from '../server/stream';
import {
  type ReplMem, replIds, replOffset, changeReplicationId, clearReplicationId2, rget, rset, radd, replicaCount,
  backlogKeepFrom, R_BASE, R_FROZEN, R_ROLE, R_BACKLOG_ACTIVE, R_BACKLOG_FIRST, R_BACKLOG_HISTLEN, R_SYNC_FULL, R_SYNC_PARTIAL_ERR, R_SYNC_PARTIAL_OK,
} from './state';
import { configureLog, log } from '../server/log';
import { CAPA_EOF, type ReplSettings, type ReplThreadData, type SyncRequest } from './messages';

const wd = workerData as ReplThreadData;
configureLog(wd.loglevel, wd.logfile);
const mem: ReplMem = {
  L: wd.layout,
  u8: new Uint8Array(wd.sab),
  i32: new Int32Array(wd.sab),
  f64: new Float64Array(wd.sab),
};
const stream = new Stream(wd.stream);
const main = parentPort as NonNullable<typeof parentPort>;
const settings = wd.settings;

// ---- the backlog: the stream's chunks as read, shared with the replicas' links --------------------
// Redis 7.0's shared replication buffer: each chunk is read into its own SharedArrayBuffer and
// posted to the workers as it is (a view of the same memory, not a copy), so the backlog and every
// replica's output hold one copy of it. The backlog keeps at least repl-backlog-size bytes, and
// beyond that everything a connected replica's link still holds or queues (F_HELD_FROM): a slow
// replica makes it outgrow its size (repl_backlog_histlen), and another replica that reconnects
// can continue partially from there; the replica gone, it is trimmed back.

let reader: StreamReader | null = null;
/** The chunks in stream order, contiguous; the first may begin before `start` (trimmed part). */
let chunks: Array<{ off: number; buf: Buffer }> = [];
/** Stream offsets: [start, end) is held (end is the reader's offset). */
let start = 0;
let end = 0;

function publishBacklog(): void {
  const base = rget(mem, R_BASE);
  rset(mem, R_BACKLOG_FIRST, start + base + 1);
  rset(mem, R_BACKLOG_HISTLEN, end - start);
}

function createBacklog(): void {
  reader = stream.attach();
  if (reader === null) throw new Error('no free stream reader slot for the replication backlog');
  chunks = [];
  start = end = reader.offset;
  // A master's offset goes on from where it stood without a backlog (the stream may have moved
  // for the AOF meanwhile). A replica's base is its master's, set after the sync: kept.
  if (rget(mem, R_ROLE) === 0) rset(mem, R_BASE, rget(mem, R_FROZEN) - start);
  backlogBase = rget(mem, R_BASE);
  rset(mem, R_BACKLOG_ACTIVE, 1);
  publishBacklog();
  pump();
}

function freeBacklog(): void {
  // Still active here: what replOffset shows now is where the offset stands from now on.
  rset(mem, R_FROZEN, replOffset(mem, stream));
  reader?.detach();
  reader = null;
  chunks = [];
  rset(mem, R_BACKLOG_ACTIVE, 0);
  rset(mem, R_BACKLOG_FIRST, 0);
  rset(mem, R_BACKLOG_HISTLEN, 0);
}

function appendBacklog(chunk: Buffer): void {
  chunks.push({ off: end, buf: chunk });
  end += chunk.length;
  trimBacklog();
}

/** Keep repl-backlog-size bytes, and what a replica still holds (incrementalTrimReplicationBacklog). */
function trimBacklog(): void {
  const keepFrom = backlogKeepFrom(mem, end, settings.backlogSize);
  if (keepFrom <= start) return;
  start = Math.min(keepFrom, end);
  while (chunks.length > 0 && chunks[0].off + chunks[0].buf.length <= start) chunks.shift();
}

/** The backlog's bytes from stream offset `from` to its end. */
function backlogFrom(from: number): Buffer {
  const out = Buffer.allocUnsafe(end - from);
  let p = 0;
  for (const ch of chunks) {
    const chEnd = ch.off + ch.buf.length;
    if (chEnd <= from) continue;
    const skip = Math.max(0, from - ch.off);
    p += ch.buf.copy(out, p, skip);
  }
  return out;
}

/** CONFIG SET repl-backlog-size: keep the most recent bytes that still fit. */
function resizeBacklog(size: number): void {
  settings.backlogSize = size;
  if (reader === null) return;
  trimBacklog();
  publishBacklog();
}

// ---- fan-out to the workers that hold replicas ----------------------------------------------------

/** Replicas registered per worker thread (threads with 0 get nothing). */
const perThread = new Map<number, number>();
let noReplicasSince = Date.now();

/** The base the backlog's history was read under (a replica's full sync moves it). */
let backlogBase = 0;

/** Read everything the stream has, into the backlog and out to the workers. */
function drain(): void {
  const r = reader;
  if (r === null) return;
  // A new base is a new history (a full sync from our master): nothing before it can be served.
  const base = rget(mem, R_BASE);
  if (base !== backlogBase) {
    backlogBase = base;
    start = end;
    chunks = [];
  }
  for (;;) {
    const n = Math.min(r.available(), 1 << 20);
    if (n === 0) break;
    const chunk = r.readInto(Buffer.from(new SharedArrayBuffer(n))) as Buffer;
    const off = end;
    appendBacklog(chunk);
    r.release();
    for (const [t, n] of perThread) if (n > 0) wd.ports[t - 1]?.postMessage({ type: 'data', off, buf: chunk });
  }
  publishBacklog();
}

const COALESCE_BYTES = 64 * 1024;
let pumping = false;
function pump(): void {
  if (pumping) return;
  pumping = true;
  void (async () => {
    while (reader !== null) {
      drain();
      if (reader === null) break;
      await reader.waitAsync(100);
      // Let a burst of small units pile up (up to 1 ms) so a chunk carries many of them: one
      // message per worker and one socket write per replica instead of one per unit.
      if (reader !== null && reader.available() < COALESCE_BYTES) await new Promise((r) => setTimeout(r, 1));
    }
    pumping = false;
  })();
}

// ---- sync requests ----------------------------------------------------------------------------------

interface Waiting { thread: number; clientId: number }
/** Diskless replicas waiting for the delayed snapshot (repl-diskless-sync-delay). */
let disklessWaiting: Waiting[] = [];
let disklessTimer: NodeJS.Timeout | null = null;

function onSync(m: SyncRequest): void {
  drain();
  perThread.set(m.thread, (perThread.get(m.thread) ?? 0) + 1);
  if (m.replid !== null && tryPartial(m)) {
    radd(mem, R_SYNC_PARTIAL_OK, 1);
    return;
  }
  if (m.replid !== null && m.replid !== '?') radd(mem, R_SYNC_PARTIAL_ERR, 1);
  radd(mem, R_SYNC_FULL, 1);
  if (reader === null) {
    // A backlog made from scratch starts a new history (syncCommand).
    changeReplicationId(mem);
    clearReplicationId2(mem);
    createBacklog();
    const ids = replIds(mem);
    log('notice', `Replication backlog created, my new replication IDs are '${ids.id}' and '${ids.id2}'`);
  }
  if (m.filtered) {
    // A filtered RDB holds no keys: no snapshot to wait for or share (decision: never delayed).
    main.postMessage({ type: 'repl', op: 'snapshot', diskless: true, empty: true, functions: m.functions, targets: [{ thread: m.thread, clientId: m.clientId }] });
    return;
  }
  const diskless = settings.diskless && (m.capa & CAPA_EOF) !== 0;
  if (diskless && settings.disklessDelay > 0) {
    log('notice', 'Delay next BGSAVE for diskless SYNC');
    disklessWaiting.push({ thread: m.thread, clientId: m.clientId });
    if (settings.disklessMax > 0 && disklessWaiting.length >= settings.disklessMax) startDiskless();
    else if (disklessTimer === null) disklessTimer = setTimeout(startDiskless, settings.disklessDelay * 1000);
    return;
  }
  main.postMessage({ type: 'repl', op: 'snapshot', diskless, targets: [{ thread: m.thread, clientId: m.clientId }] });
}

function startDiskless(): void {
  if (disklessTimer !== null) clearTimeout(disklessTimer);
  disklessTimer = null;
  if (disklessWaiting.length === 0) return;
  main.postMessage({ type: 'repl', op: 'snapshot', diskless: true, targets: disklessWaiting });
  disklessWaiting = [];
}

/** masterTryPartialResynchronization: +CONTINUE and the backlog from the replica's offset. */
function tryPartial(m: SyncRequest): boolean {
  const ids = replIds(mem);
  const asked = (m.replid as string).toLowerCase();
  const psyncOffset = m.offset;
  if (asked !== ids.id && (asked !== ids.id2 || psyncOffset > ids.second)) {
    if (asked[0] !== '?') {
      if (asked !== ids.id && asked !== ids.id2) {
        log('notice', `Partial resynchronization not accepted: Replication ID mismatch (Replica asked for '${m.replid}', my replication IDs are '${ids.id}' and '${ids.id2}')`);
      } else {
        log('notice', `Partial resynchronization not accepted: Requested offset for second ID was ${psyncOffset}, but I can reply up to ${ids.second}`);
      }
    } else {
      log('notice', `Full resync requested by replica ${m.name}`);
    }
    return false;
  }
  const base = rget(mem, R_BASE);
  // Redis's offsets count from 1: the byte at stream offset o is replication offset o + base + 1.
  const from = psyncOffset - 1 - base;
  if (reader === null || from < start || from > end) {
    log('notice', `Unable to partial resync with replica ${m.name} for lack of backlog (Replica request was: ${psyncOffset}).`);
    if (psyncOffset - 1 > end + base) log('warning', `Warning: replica ${m.name} tried to PSYNC with an offset that is greater than the master replication offset.`);
    return false;
  }
  const buf = backlogFrom(from);
  wd.ports[m.thread - 1]?.postMessage({ type: 'continue', clientId: m.clientId, replid: ids.id, off: from, buf });
  log('notice', `Partial resynchronization request from ${m.name} accepted. Sending ${buf.length} bytes of backlog starting from offset ${psyncOffset}.`);
  return true;
}

function onGone(thread: number, clientId: number): void {
  const n = (perThread.get(thread) ?? 0) - 1;
  if (n <= 0) perThread.delete(thread);
  else perThread.set(thread, n);
  disklessWaiting = disklessWaiting.filter((w) => w.clientId !== clientId);
  if (replicaCount(mem) === 0 && perThread.size === 0) noReplicasSince = Date.now();
  // What only it held goes now (its row is already out of the table).
  if (reader !== null) {
    trimBacklog();
    publishBacklog();
  }
}

main.on('message', (m: { op: string; [k: string]: unknown }) => {
  switch (m.op) {
    case 'sync':
      onSync(m as unknown as SyncRequest);
      break;
    case 'gone':
      onGone(m.thread as number, m.clientId as number);
      break;
    case 'attach': {
      // A replica joins a running disk snapshot: the stream from its offset, if the backlog
      // still holds it (drain() has dropped any history of an older base).
      drain();
      const from = m.from as number;
      const ok = reader !== null && from >= start && from <= end;
      main.postMessage({ type: 'repl', op: 'attached', targets: [{ thread: m.thread, clientId: m.clientId }], ok, buf: ok ? backlogFrom(from) : null });
      break;
    }
    case 'backlog':
      // A replica's backlog continues its master's history: its ids are not changed.
      if (reader === null) createBacklog();
      break;
    case 'config': {
      const name = m.name as string;
      const s = m.settings as ReplSettings;
      if (name === 'repl-backlog-size' && s.backlogSize !== settings.backlogSize) resizeBacklog(s.backlogSize);
      Object.assign(settings, s);
      break;
    }
  }
});

// Replicas drain or leave without new data coming: trim what no one holds any more.
setInterval(() => {
  if (reader === null) return;
  const was = start;
  trimBacklog();
  if (start !== was) publishBacklog();
}, 1000).unref();

// repl-backlog-ttl: a master with no replica frees its backlog after that many seconds, and
// starts a new history (replicationCron); the stream then has one reader less.
setInterval(() => {
  if (reader === null || settings.backlogTtl === 0 || perThread.size > 0 || rget(mem, R_ROLE) === 1) return;
  if (Date.now() - noReplicasSince <= settings.backlogTtl * 1000) return;
  changeReplicationId(mem);
  clearReplicationId2(mem);
  freeBacklog();
  log('notice', `Replication backlog freed after ${settings.backlogTtl} seconds without connected replicas.`);
}, 1000).unref();

// Blocking commands (blocked.c): clients waiting on keys (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH,
// BLMPOP; usable by other families, e.g. BZPOPMIN, XREAD BLOCK), woken by a write from a client on
// ANY thread. XREAD's readers are "shared" waiters: they take nothing, so every one of them is
// offered a ready key, and they stay out of the FIFO registry below.
//
// How a wake-up travels:
// - A blocking command that finds nothing registers a Waiter while it still holds its keys' slot
//   locks, and bumps a shared counter per (db, slot) (Layout.blocked).
// - The store signals a key ready when it adds a list, sorted set or stream (its dbAdd: a push that
//   creates a list, RENAME/MOVE/COPY/SORT STORE/*STORE onto the key; XADD to an existing stream
//   calls Store.signalReady), through Store.onReady, while the
//   writer holds that key's slot lock: one Atomics.load of the counter, nothing more when it is 0. So a
//   waiter that registered before the push is always seen (both sides hold the slot lock), and the
//   common path never touches another thread.
// - When the counter is not 0 the key is queued; after the current batch (a microtask, when no
//   slot lock is held) this thread serves its own waiters on that key, and if clients on other
//   threads are blocked in that slot it broadcasts 'key-ready' (db, key) to every thread, which
//   serve theirs the same way.
// - Serving takes the slot locks of the key (and of the destination for BLMOVE), like a normal
//   command, and runs the waiter's serve function; if another thread's client took the elements
//   first the waiter stays blocked.
//
// Fairness: first blocked, first served per key, across all threads. Each waiter takes a global
// ticket when it blocks and records (ticket, key hash) in a registry per (db, slot) in shared
// memory, changed only under that slot's lock. A thread serves its waiter only when no older
// ticket is registered for the key; otherwise it leaves the element to the older waiter's thread
// (which got the same key-ready broadcast). Whenever a waiter leaves (served, timed out, gone) and
// its key still holds elements while others wait, the key is signalled again, so the next in line
// is woken wherever it is.

// A blocked client is paused (its pipeline waits); its reply is written with c.w, then c.flush()
// and c.resume(). Disconnecting while blocked takes nothing. CLIENT UNBLOCK calls c.unblock.

import type { Client } from './client';
import { E_OOM } from './errors';
import { OutOfMemoryError } from '../store/heap';
import type { ThreadServer } from './context';
import { S_BLOCKED } from './context';
import { NSLOTS } from '../store/crc16';
import { parseFloatArg } from '../commands/args';
import { setNotifyClient } from './notify';
import { flushPendingSelf, trackCtx } from './tracking';

/** Serve a waiter from `key` (its slot lock, and the waiter's lockAlso keys', are held). True if it replied. */
export type ServeFn = (w: Waiter, key: Buffer) => boolean;
/** Write the reply for a timeout (or CLIENT UNBLOCK ... TIMEOUT). */
export type TimeoutFn = (w: Waiter) => void;

export class Waiter {
  done = false;
  /** Global FIFO ticket (see the registry). */
  ticket = 0;
  timer: NodeJS.Timeout | null = null;
  /** Free fields for the command family: direction, destination, count... */
  where = 0;
  whereTo = 0;
  count = 0;
  /** Extra keys whose slots are locked while serving (e.g. the BLMOVE destination). */
  lockAlso: Buffer | null = null;
  /**
   * A reader that takes nothing (XREAD): every such waiter on a ready key is offered the key, not
   * only the oldest, and it stays out of the FIFO registry (it never holds back a consumer).
   */
  readonly shared: boolean;
  /** XREAD: the ID each key (in `keys` order) is read after. */
  streamIds: { ms: bigint; seq: bigint }[] | null = null;
  constructor(
    readonly c: Client,
    readonly db: number,
    readonly keys: Buffer[],
    readonly serve: ServeFn,
    readonly onTimeout: TimeoutFn,
    shared = false,
  ) {
    this.shared = shared;
  }
}

// ---- per-thread state ---------------------------------------------------------------------

const queues = new Map<string, Waiter[]>();
const waiterOf = new Map<Client, Waiter>();
const localPerSlot = new Map<number, number>();
const hooked = new WeakSet<Client>();
let installedOn: ThreadServer | null = null;
let pendingDb: number[] = [];
let pendingKey: Buffer[] = [];
let scheduled = false;

function qid(db: number, key: Uint8Array): string {
  return `${db}:${Buffer.from(key.buffer, key.byteOffset, key.byteLength).latin1Slice(0, key.byteLength)}`;
}

function install(srv: ThreadServer): void {
  if (installedOn === srv) return;
  installedOn = srv;
  srv.requestHandlers.set('key-ready', (args) => {
    if ((args[2] as number) === srv.threadId) return null;
    serveKey(args[0] as number, Buffer.from(args[1] as string, 'latin1'));
    // Keys those clients made ready here (BLMOVE's destination) are served before this thread
    // answers, so the chain is done when the pushing thread hears back.
    drain();
    return null;
  });
  srv.requestHandlers.set('swapdb-ready', (args) => {
    if ((args[2] as number) === srv.threadId) return null;
    queueDbWaiters(args[0] as number, args[1] as number);
    drain();
    return null;
  });
}

/** Queue every key this thread's clients of db a or b wait on (their serve functions check the key). */
function queueDbWaiters(a: number, b: number): void {
  for (const w of waiterOf.values()) {
    if (w.done || (w.db !== a && w.db !== b)) continue;
    for (const k of w.keys) {
      pendingDb.push(w.db);
      pendingKey.push(k);
    }
  }
}

/**
 * SWAPDB a b (scanDatabaseForReadyKeys): clients blocked in either db may find their keys there
 * now. Call from the command, with every slot locked; they are served after it.
 */
export function signalSwappedDbs(c: Client, a: number, b: number): void {
  const srv = c.srv;
  install(srv);
  queueDbWaiters(a, b);
  if (pendingKey.length > 0 && !scheduled) {
    scheduled = true;
    queueMicrotask(drain);
  }
  if (srv.threads > 1) {
    const settled = srv.broadcast({ op: 'swapdb-ready', args: [a, b, srv.threadId] }).then(noop, noop);
    outstanding.add(settled);
    void settled.then(() => outstanding.delete(settled));
  }
}

/** Is this client blocked now? */
/** disconnectAllBlockedClients: a master turning replica ends every wait with this, then closes. */
export function stateChanged(c: Client): void {
  c.w.error('UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)');
  c.closeAfterReply();
}

export function isBlocked(c: Client): boolean {
  return waiterOf.has(c);
}

/**
 * Parse a blocking timeout in seconds (float) as Redis 7.0 does. Returns the duration in ms
 * (0 = forever), or -1 after writing the error reply.
 */
export function parseTimeout(c: Client, arg: Uint8Array): number {
  // strtold as Redis uses it: decimal or hex, inf; no leading space, no trailing junk, no nan.
  const v = parseFloatArg(arg);
  if (v === null) {
    c.w.error('ERR timeout is not a float or out of range');
    return -1;
  }
  const ms = Math.ceil(v * 1000);
  // Redis converts to long long: values past its range wrap negative.
  if (!(ms >= 0) || ms >= 9223372036854775807) {
    c.w.error('ERR timeout is negative');
    return -1;
  }
  return ms;
}

/** The slot's blocked-client count (every db: a waiter in another db only costs a needless look). */
function slotIndex(c: Client, key: Uint8Array): number {
  return c.store.L.blocked + c.store.slotOf(key);
}

// ---- the shared FIFO registry ------------------------------------------------------------
// Per slot: a heap block [n u32 | cap u32 | 8 pad] + n entries [ticket u32 | h1 u32 | h2 u32 | 0],
// h1/h2 a hash of (db, key). Offsets in Layout.blocked: counts at [0, NSLOTS), registry pointers
// after them (heap addresses in 8-byte units, 0 = none), then the ticket counter. Every access
// holds the slot's lock.

const ENTRY = 16;
const REG_HDR = 16;

function regWord(c: Client, db: number, key: Uint8Array): number {
  const s = c.store;
  return s.L.blocked + NSLOTS + s.slotOf(key);
}

let kh1 = 0;
let kh2 = 0;
function hashKey(db: number, key: Uint8Array): void {
  let a = Math.imul(0x811c9dc5 ^ db, 0x01000193);
  let b = Math.imul(0x9747b28c ^ db, 0x5bd1e995);
  for (let i = 0; i < key.length; i++) {
    a = Math.imul(a ^ key[i], 0x01000193);
    b = Math.imul(b ^ key[i], 0x5bd1e995);
    b ^= b >>> 15;
  }
  kh1 = a >>> 0;
  kh2 = (b ^ key.length) >>> 0;
}

function regAdd(c: Client, db: number, key: Uint8Array, ticket: number): void {
  const heap = c.store.heap;
  const u32 = heap.u32;
  const wi = regWord(c, db, key);
  let r = u32[wi] * 8;
  if (r === 0) {
    r = heap.calloc(REG_HDR + 4 * ENTRY);
    u32[r / 4 + 1] = 4;
    u32[wi] = r / 8;
  }
  let n = u32[r / 4];
  const cap = u32[r / 4 + 1];
  if (n === cap) {
    const nr = heap.alloc(REG_HDR + 2 * cap * ENTRY);
    heap.u8.copyWithin(nr, r, r + REG_HDR + cap * ENTRY);
    heap.free(r, REG_HDR + cap * ENTRY);
    u32[nr / 4 + 1] = cap * 2;
    u32[wi] = nr / 8;
    r = nr;
  }
  hashKey(db, key);
  const e = (r + REG_HDR + n * ENTRY) / 4;
  u32[e] = ticket;
  u32[e + 1] = kh1;
  u32[e + 2] = kh2;
  u32[e + 3] = 0;
  u32[r / 4] = ++n;
}

function regRemove(c: Client, db: number, key: Uint8Array, ticket: number): void {
  const heap = c.store.heap;
  const u32 = heap.u32;
  const wi = regWord(c, db, key);
  const r = u32[wi] * 8;
  if (r === 0) return;
  hashKey(db, key);
  const n = u32[r / 4];
  for (let i = 0; i < n; i++) {
    const e = (r + REG_HDR + i * ENTRY) / 4;
    if (u32[e] === ticket && u32[e + 1] === kh1 && u32[e + 2] === kh2) {
      const last = (r + REG_HDR + (n - 1) * ENTRY) / 4;
      u32[e] = u32[last];
      u32[e + 1] = u32[last + 1];
      u32[e + 2] = u32[last + 2];
      u32[r / 4] = n - 1;
      if (n - 1 === 0) {
        heap.free(r, REG_HDR + u32[r / 4 + 1] * ENTRY);
        u32[wi] = 0;
      }
      return;
    }
  }
}

/** Is ticket the oldest registered for key (wrap-around aware)? */
function regIsOldest(c: Client, db: number, key: Uint8Array, ticket: number): boolean {
  const u32 = c.store.heap.u32;
  const r = u32[regWord(c, db, key)] * 8;
  if (r === 0) return true;
  hashKey(db, key);
  const n = u32[r / 4];
  for (let i = 0; i < n; i++) {
    const e = (r + REG_HDR + i * ENTRY) / 4;
    if (u32[e + 1] === kh1 && u32[e + 2] === kh2 && ((u32[e] - ticket) | 0) < 0) return false;
  }
  return true;
}

/**
 * Block c on keys (call from the command handler, with the keys' slot locks held). timeoutMs 0
 * waits forever. The handler must write nothing more: the reply comes from serve or onTimeout.
 */
export function blockForKeys(c: Client, db: number, keys: Buffer[], timeoutMs: number, serve: ServeFn, onTimeout: TimeoutFn, shared = false): Waiter {
  const srv = c.srv;
  install(srv);
  const uniq: Buffer[] = [];
  for (const k of keys) if (!uniq.some((u) => u.equals(k))) uniq.push(Buffer.from(k));
  const w = new Waiter(c, db, uniq, serve, onTimeout, shared);
  const i32 = c.store.i32;
  w.ticket = Atomics.add(i32, c.store.L.blocked + 2 * NSLOTS, 1) >>> 0;
  for (const k of uniq) {
    if (!shared) regAdd(c, db, k, w.ticket);
    const id = qid(db, k);
    let q = queues.get(id);
    if (q === undefined) queues.set(id, (q = []));
    q.push(w);
    const si = slotIndex(c, k);
    Atomics.add(i32, si, 1);
    localPerSlot.set(si, (localPerSlot.get(si) ?? 0) + 1);
  }
  waiterOf.set(c, w);
  srv.addStat(S_BLOCKED, 1);
  if (!c.flagChars.includes('b')) c.flagChars += 'b';
  c.pause();
  if (!hooked.has(c)) {
    hooked.add(c);
    c.onClose.push(onClientClose);
  }
  c.unblock = (how) => {
    // Called from inside another client's command: reply after that batch is written.
    queueMicrotask(() => {
      if (w.done || c.closed) return;
      c.w.resp = c.resp;
      if (how === 'error') c.w.error('UNBLOCKED client unblocked via CLIENT UNBLOCK');
      else if (how === 'state') stateChanged(c);
      else w.onTimeout(w);
      finish(w, true, false, how !== 'timeout');
    });
  };
  if (timeoutMs > 0 && timeoutMs < 2147483647) {
    w.timer = setTimeout(onTimer, timeoutMs, w);
  }
  return w;
}

function onTimer(w: Waiter): void {
  w.timer = null;
  if (w.done || w.c.closed) return;
  w.c.w.resp = w.c.resp;
  w.onTimeout(w);
  finish(w, true);
}

function onClientClose(c: Client): void {
  const w = waiterOf.get(c);
  // The close may come from inside another command that holds slot locks (CLIENT KILL in EXEC):
  // the registry is released afterwards.
  if (w !== undefined) finish(w, false, true);
}

/** Unregister a waiter; with reply, hand its reply to the socket and let its pipeline go on. */
function finish(w: Waiter, reply: boolean, deferRelease = false, failed = false): void {
  if (w.done) return;
  w.done = true;
  const c = w.c;
  if (w.timer !== null) clearTimeout(w.timer);
  w.timer = null;
  const i32 = c.store.i32;
  for (const k of w.keys) {
    const id = qid(w.db, k);
    const q = queues.get(id);
    if (q !== undefined) {
      const i = q.indexOf(w);
      if (i >= 0) q.splice(i, 1);
      if (q.length === 0) queues.delete(id);
    }
    const si = slotIndex(c, k);
    Atomics.sub(i32, si, 1);
    const n = (localPerSlot.get(si) ?? 1) - 1;
    if (n <= 0) localPerSlot.delete(si);
    else localPerSlot.set(si, n);
  }
  waiterOf.delete(c);
  c.srv.addStat(S_BLOCKED, -1);
  c.flagChars = c.flagChars.replace('b', '');
  c.unblock = null;
  // A shared reader took nothing and holds no ticket: nothing to release or pass on.
  if (w.shared) {
    /* nothing */
  } else if (deferRelease) queueMicrotask(() => releaseRegistry(w));
  else releaseRegistry(w);
  if (!reply) return;
  c.recordUnblocked(failed);
  c.flush();
  c.resume();
}

/**
 * Take the waiter's tickets out of the registries (under the slot locks); keys that still hold
 * something while others wait there are signalled again, for the next in line.
 */
function releaseRegistry(w: Waiter): void {
  const c = w.c;
  const store = c.store;
  store.now = Date.now();
  const coord = c.srv.coord;
  const n = coord.lockSlotsOf(w.keys, false);
  try {
    for (const k of w.keys) {
      regRemove(c, w.db, k, w.ticket);
      if (store.peek(w.db, k) !== 0) signalKeyReady(c, w.db, k);
    }
  } finally {
    coord.unlockSlots(n);
  }
}

/**
 * The thread's store tells this service about keys that may now satisfy blocked clients (it has
 * checked the slot's blocked count already). Call once per thread at start.
 */
export function installBlocking(srv: ThreadServer): void {
  install(srv);
  srv.store.onReady = queueReady;
  // A deleted or replaced key is offered to its waiters (unblockDeletedStreamReadgroupClients:
  // XREADGROUP readers answer -UNBLOCKED; the others find nothing and keep waiting).
  const st = srv.store;
  st.listen('deleted', (db: number, key: Uint8Array) => st.signalReady(db, key));
  st.listen('overwritten', (db: number, key: Uint8Array) => st.signalReady(db, key));
  // REPLICAOF host port (replicationSetMaster): every blocked client of every thread is released.
  srv.requestHandlers.set('unblock-all', () => {
    let n = 0;
    for (const c of srv.clients.values()) {
      const fn = c.unblock;
      if (fn === null || c.closed) continue;
      c.unblock = null;
      fn('state');
      n++;
    }
    return n;
  });
}

/** A key may now satisfy blocked clients. Call with the key's slot lock held. */
export function signalKeyReady(c: Client, db: number, key: Uint8Array): void {
  if (Atomics.load(c.store.i32, slotIndex(c, key)) === 0) return;
  install(c.srv);
  queueReady(db, key);
}

function queueReady(db: number, key: Uint8Array): void {
  pendingDb.push(db);
  pendingKey.push(Buffer.from(key));
  if (!scheduled) {
    scheduled = true;
    queueMicrotask(drain);
  }
}

/** Keys made ready by the command that just ran, not yet served? */
export function readyPending(): boolean {
  return pendingKey.length > 0 && !deferring;
}

/**
 * Flush c's replies and serve this thread's waiters now, as Redis does right after the command
 * that made a key ready (before the pushing client's next command); waiters' replies go through
 * the same thread writer, hence the flush first. When waiters on other threads are involved, c's
 * reply and its next commands wait until those threads have served them too, as in Redis where
 * they are served before the pusher hears back (LMOVE chains, WATCH of the destination).
 */
export function serveReadyNow(c: Client): void {
  // c's reply is held (corked) until its waiters are served, here and on other threads: once the
  // pusher hears back, a client it tells (or itself) must see the served keys already changed.
  const cork = !c.paused && !c.closed;
  if (cork) c.socket.cork();
  c.flush();
  drain();
  if (outstanding.size === 0 || !cork || c.closed) {
    if (cork && !c.closed) c.socket.uncork();
    return;
  }
  c.pause();
  void Promise.all(outstanding).then(() => holdPusher(c, true, 3));
}

/** Broadcasts of ready keys this thread has sent and not yet heard back from. */
const outstanding = new Set<Promise<void>>();
function noop(): void {}

function holdPusher(c: Client, corked: boolean, rounds: number): void {
  // Serving there may have made more keys ready here (a deferred batch resumed): a few more rounds.
  if (outstanding.size > 0 && rounds > 0) {
    void Promise.all(outstanding).then(() => holdPusher(c, corked, rounds - 1));
    return;
  }
  if (corked && !c.closed) c.socket.uncork();
  c.resume();
}

function sendReady(srv: ThreadServer, db: number, key: Buffer): Promise<unknown[]> {
  const p = srv.broadcast({ op: 'key-ready', args: [db, key.latin1Slice(0, key.length), srv.threadId] });
  const settled = p.then(noop, noop);
  outstanding.add(settled);
  void settled.then(() => outstanding.delete(settled));
  return p;
}

// Redis serves ready keys in the order they became ready, so a client blocked on several keys
// takes from the first of them. When a key's older waiters are on another thread, the keys made
// ready after it wait here until every thread has handled that key's broadcast; otherwise this
// thread could hand a later key to a client that the other thread is about to make the oldest
// waiter of the earlier key. The key itself is served again first (its next waiter may be here),
// without waiting a second time, so a waiter that cannot be served never makes threads ping-pong.
let deferring = false;
let resumeDb: number[] = [];
let resumeKey: Buffer[] = [];

function resumeDeferred(): void {
  deferring = false;
  const dbs = resumeDb;
  const keys = resumeKey;
  resumeDb = [];
  resumeKey = [];
  const srv = installedOn;
  if (srv === null || keys.length === 0) return;
  // Ahead of what was signalled meanwhile: the deferred keys became ready first.
  pendingDb = dbs.slice(1).concat(pendingDb);
  pendingKey = keys.slice(1).concat(pendingKey);
  serveAndBroadcast(srv, dbs[0], keys[0]);
  drain();
}

/** Serve key here; true if another thread has waiters in its slot (a broadcast was sent). */
function serveAndBroadcast(srv: ThreadServer, db: number, key: Buffer): Promise<unknown[]> | null {
  serveKey(db, key);
  const store = srv.store;
  const si = store.L.blocked + store.slotOf(key);
  if (Atomics.load(store.i32, si) > (localPerSlot.get(si) ?? 0)) {
    return sendReady(srv, db, key);
  }
  return null;
}

function drain(): void {
  const srv = installedOn;
  scheduled = false;
  if (srv === null || deferring) return;
  while (pendingKey.length > 0) {
    const dbs = pendingDb;
    const keys = pendingKey;
    pendingDb = [];
    pendingKey = [];
    for (let i = 0; i < keys.length; i++) {
      const sent = serveAndBroadcast(srv, dbs[i], keys[i]);
      if (sent === null) continue;
      if (i + 1 === keys.length && pendingKey.length === 0) {
        sent.catch(() => {});
        continue;
      }
      deferring = true;
      resumeDb = dbs.slice(i).concat(pendingDb);
      resumeKey = keys.slice(i).concat(pendingKey);
      pendingDb = [];
      pendingKey = [];
      sent.then(resumeDeferred, resumeDeferred);
      return;
    }
  }
}

/** Serve this thread's waiters on key, first blocked first, while they can be served. */
function serveKey(db: number, key: Buffer): void {
  const q = queues.get(qid(db, key));
  if (q === undefined) return;
  const snapshot = q.slice();
  let consumersDone = false;
  for (const w of snapshot) {
    if (w.done) continue;
    if (w.c.closed) {
      finish(w, false);
      continue;
    }
    // A consumer that cannot be served means the key has nothing left for later consumers; a
    // shared reader's answer depends on its own read position, so every one is asked.
    if (consumersDone && !w.shared) continue;
    if (!tryServe(w, key) && !w.shared) consumersDone = true;
  }
}

const lockKeys: Buffer[] = [];
function tryServe(w: Waiter, key: Buffer): boolean {
  const c = w.c;
  const store = c.store;
  store.now = Date.now();
  lockKeys.length = 0;
  lockKeys.push(key);
  if (w.lockAlso !== null) lockKeys.push(w.lockAlso);
  const coord = c.srv.coord;
  const n = coord.lockSlotsOf(lockKeys, true);
  const mark = c.w.mark();
  c.w.resp = c.resp;
  let ok = false;
  let failed = false;
  // A served client is a unit of its own: the serve function rewrites it as the pop or move it
  // did (LPOP, LMOVE, ZPOPMIN...: propagateAs), appended before the locks are released.
  const prop = c.srv.prop;
  const opened = prop.begin();
  prop.beforeCommand();
  setNotifyClient(c);
  // The served client is the one running a command now (tracking: its own invalidations follow its reply).
  const prevExecuting = trackCtx.executing;
  trackCtx.executing = c;
  c.callDepth++;
  try {
    // An older waiter (on any thread) goes first: its thread got the same signal.
    if (w.shared || regIsOldest(c, w.db, key, w.ticket)) ok = w.serve(w, key);
  } catch (e) {
    c.w.rewind(mark);
    c.w.error(e instanceof OutOfMemoryError ? E_OOM : `ERR ${(e as Error).message}`);
    ok = true;
    failed = true;
  } finally {
    c.callDepth--;
    setNotifyClient(null);
    if (prop.on()) prop.afterCommand(w.db, null, ok);
    if (opened) prop.commit();
    coord.unlockSlots(n);
  }
  if (ok && c.trackState !== null) flushPendingSelf(c);
  trackCtx.executing = prevExecuting;
  if (!ok) {
    c.w.rewind(mark);
    return false;
  }
  // An error the serve function replied (NOGROUP after XGROUP DESTROY, UNBLOCKED...) is a failed call.
  finish(w, true, false, failed || c.w.byteAt(mark) === 0x2d);
  return true;
}

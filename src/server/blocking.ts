// Blocking commands (blocked.c): clients waiting on keys (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH,
// BLMPOP; usable by other families, e.g. BZPOPMIN), woken by a write from a client on ANY thread.
//
// How a wake-up travels:
// - A blocking command that finds nothing registers a Waiter while it still holds its keys' slot
//   locks, and bumps a shared counter per (db, slot) (Layout.blocked).
// - A command that makes a key ready (a push that creates a list...) calls signalKeyReady() while
//   it holds that key's slot lock: one Atomics.load of the counter, nothing more when it is 0. So a
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
// Fairness: per thread, first blocked first served on each key (exact). Across threads it is
// approximate: the thread that made the key ready serves its own waiters first, then the other
// threads race for what is left, each in its own FIFO order.
//
// A blocked client is paused (its pipeline waits); its reply is written with c.w, then c.flush()
// and c.resume(). Disconnecting while blocked takes nothing. CLIENT UNBLOCK calls c.unblock.

import type { Client } from './client';
import type { ThreadServer } from './context';
import { S_BLOCKED } from './context';
import { NSLOTS } from '../store/crc16';
import { parseFloatArg } from '../commands/args';

/** Serve a waiter from `key` (its slot lock, and the waiter's lockAlso keys', are held). True if it replied. */
export type ServeFn = (w: Waiter, key: Buffer) => boolean;
/** Write the reply for a timeout (or CLIENT UNBLOCK ... TIMEOUT). */
export type TimeoutFn = (w: Waiter) => void;

export class Waiter {
  done = false;
  timer: NodeJS.Timeout | null = null;
  /** Free fields for the command family: direction, destination, count... */
  where = 0;
  whereTo = 0;
  count = 0;
  /** Extra keys whose slots are locked while serving (e.g. the BLMOVE destination). */
  lockAlso: Buffer | null = null;
  constructor(
    readonly c: Client,
    readonly db: number,
    readonly keys: Buffer[],
    readonly serve: ServeFn,
    readonly onTimeout: TimeoutFn,
  ) {}
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
    return null;
  });
}

/** Is this client blocked now? */
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

function slotIndex(c: Client, db: number, key: Uint8Array): number {
  return c.store.L.blocked + db * NSLOTS + c.store.slotOf(key);
}

/**
 * Block c on keys (call from the command handler, with the keys' slot locks held). timeoutMs 0
 * waits forever. The handler must write nothing more: the reply comes from serve or onTimeout.
 */
export function blockForKeys(c: Client, db: number, keys: Buffer[], timeoutMs: number, serve: ServeFn, onTimeout: TimeoutFn): Waiter {
  const srv = c.srv;
  install(srv);
  const uniq: Buffer[] = [];
  for (const k of keys) if (!uniq.some((u) => u.equals(k))) uniq.push(Buffer.from(k));
  const w = new Waiter(c, db, uniq, serve, onTimeout);
  const i32 = c.store.i32;
  for (const k of uniq) {
    const id = qid(db, k);
    let q = queues.get(id);
    if (q === undefined) queues.set(id, (q = []));
    q.push(w);
    const si = slotIndex(c, db, k);
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
      else w.onTimeout(w);
      finish(w, true);
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
  if (w !== undefined) finish(w, false);
}

/** Unregister a waiter; with reply, hand its reply to the socket and let its pipeline go on. */
function finish(w: Waiter, reply: boolean): void {
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
    const si = slotIndex(c, w.db, k);
    Atomics.sub(i32, si, 1);
    const n = (localPerSlot.get(si) ?? 1) - 1;
    if (n <= 0) localPerSlot.delete(si);
    else localPerSlot.set(si, n);
  }
  waiterOf.delete(c);
  c.srv.addStat(S_BLOCKED, -1);
  c.flagChars = c.flagChars.replace('b', '');
  c.unblock = null;
  if (!reply) return;
  c.flush();
  c.resume();
}

/**
 * A key may now satisfy blocked clients (a list was created...). Call with the key's slot lock
 * held. Costs one atomic load when nobody is blocked in that slot.
 */
export function signalKeyReady(c: Client, db: number, key: Uint8Array): void {
  if (Atomics.load(c.store.i32, slotIndex(c, db, key)) === 0) return;
  install(c.srv);
  pendingDb.push(db);
  pendingKey.push(Buffer.from(key));
  if (!scheduled) {
    scheduled = true;
    queueMicrotask(drain);
  }
}

function drain(): void {
  const srv = installedOn;
  scheduled = false;
  if (srv === null) return;
  while (pendingKey.length > 0) {
    const dbs = pendingDb;
    const keys = pendingKey;
    pendingDb = [];
    pendingKey = [];
    for (let i = 0; i < keys.length; i++) {
      const db = dbs[i];
      const key = keys[i];
      serveKey(db, key);
      const store = srv.store;
      const si = store.L.blocked + db * NSLOTS + store.slotOf(key);
      if (Atomics.load(store.i32, si) > (localPerSlot.get(si) ?? 0)) {
        void srv.broadcast({ op: 'key-ready', args: [db, key.latin1Slice(0, key.length), srv.threadId] });
      }
    }
  }
}

/** Serve this thread's waiters on key, first blocked first, while they can be served. */
function serveKey(db: number, key: Buffer): void {
  const q = queues.get(qid(db, key));
  if (q === undefined) return;
  const snapshot = q.slice();
  for (const w of snapshot) {
    if (w.done) continue;
    if (w.c.closed) {
      finish(w, false);
      continue;
    }
    if (!tryServe(w, key)) break;
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
  const n = c.lockSlotsOf(lockKeys);
  const mark = c.w.mark();
  c.w.resp = c.resp;
  let ok = false;
  try {
    ok = w.serve(w, key);
  } catch (e) {
    c.w.rewind(mark);
    c.w.error(`ERR ${(e as Error).message}`);
    ok = true;
  } finally {
    c.unlockSlots(n);
  }
  if (!ok) {
    c.w.rewind(mark);
    return false;
  }
  finish(w, true);
  return true;
}

// Client-side caching (Redis's tracking.c), across threads.
//
// The tracking table lives in shared memory: per hash slot, a chain of key records, each with
// the (client id, thread) pairs that read the key, guarded by that slot's lock, which every
// reader (remembering the keys of a read-only command, before it releases its locks) and every
// writer (the store's onKeyModified hook, under the lock of the key it changes) already holds.
// Key names only, no db: as Redis's table.
//
// Invalidations for a client of another thread go to that thread's inbox, a lock-free stack of
// records in the shared heap pushed while the writer still holds the key's slot lock, with a
// doorbell message when the inbox was empty. Each thread drains its inbox when the doorbell
// rings and, before running any command, right after taking the command's slot locks. So a
// client that reads a key after another thread changed it has the invalidation written before
// that reply (the lock hand-off orders the push before the read), as in Redis where the push
// is queued before the next command runs. BCAST keys are posted the same way and sent per
// prefix at the end of the receiving thread's event-loop turn (Redis's beforeSleep), or at once
// when they arrive while a command is about to run.
import type { Store } from '../store/keyspace';
import { NSLOTS } from '../store/crc16';
import { classOf, classSize, lockWord, unlockWord } from '../store/heap';
import type { CommandSpec } from '../commands/types';
import { commandKeys } from '../commands/registry';
import type { Client } from './client';
import { Coordinator } from './coordinator';
import { clientMemChanged, clientMemChangedSoon, clientMemLive } from './client-mem';

// Client.tracking flags (Redis's CLIENT_TRACKING_*).
export const T_ON = 1;
export const T_BCAST = 2;
export const T_OPTIN = 4;
export const T_OPTOUT = 8;
export const T_CACHING = 16;
export const T_NOLOOP = 32;
export const T_BROKEN = 64;

/** Per-client tracking state beside the flags (only tracking clients have one). */
export interface TrackState {
  /** Client id invalidations are redirected to (0: none), and the thread it lives on. */
  redirect: number;
  redirectThread: number;
  /** BCAST prefixes (latin1 strings), as CLIENT TRACKINGINFO lists them. */
  prefixes: Set<string>;
  /** What its prefixes cost it (tot-mem, client eviction): names plus Redis's rax-node estimate. */
  prefixBytes: number;
  /** Keys (null: everything) it invalidated itself while its command ran: sent after the reply. */
  pending: Array<Buffer | null> | null;
}

// Words of the shared area (u32 index from Layout.tracking). Every address stored in the area
// or in its records (chain heads, next links, a key record's readers block) is in 8-byte units
// (heap addresses may pass 2^32): load `u32[w] * 8`, store `off / 8`; 0 is none.
const W_CLIENTS = NSLOTS; // clients with tracking on, every thread
const W_KEYS = NSLOTS + 1; // distinct keys in the table
const W_ITEMS = NSLOTS + 2; // (key, client) items
const W_PREFIX_ENTRIES = NSLOTS + 3; // (prefix, thread) entries in the BCAST registry
const W_PREFIX_HEAD = NSLOTS + 4;
const W_PREFIX_LOCK = NSLOTS + 5;
const W_INBOX_BYTES = NSLOTS + 6; // heap bytes of inbox records not yet drained
const W_INBOX = NSLOTS + 16; // one inbox head per thread
const W_CLIENT_HEADS = NSLOTS + 16 + 256; // registry of tracking clients: bucket heads, then locks
const CLIENT_BUCKETS = 256;
// Registry record: next, client id, flags, redirect id, redirect thread.
const CREC_BYTES = 20;

// Table record, one per tracked key (a key of Redis's TrackingTable): next, hash, key length,
// readers, capacity, readers block, key bytes. The readers block holds (client id, thread) pairs
// in the order they read the key: the key is stored once however many clients track it.
const KEY_HDR = 24;
const PAIR = 8;
// Prefix registry entry: next, thread, count, length, prefix bytes.
const PREFIX_HDR = 16;
// Inbox record: next, kind, a, b, c, length, bytes.
const REC_HDR = 24;
const R_KEY = 1; // a: tracking client; bytes: the key
const R_FLUSH = 2; // every tracking client of the thread: "invalidate nil"
const R_BCAST = 3; // a: writing client (NOLOOP); bytes: the key
const R_REDIR = 4; // a: redirect target, b: tracking client, c: its thread; bytes: the RESP value
const R_BROKEN = 5; // a: tracking client, b: the redirect id that is gone

let store: Store;
let base = 0;
let me = 0;
let clients: Map<number, Client> = new Map();
let ring: (thread: number) => void = () => {};
/** u32 index of this thread's inbox head (Client.call loads it before each command). */
export let trackInbox = 0;
/** u32 index of the table's key count, and the tracking-table-max-keys limit (Infinity: none). */
export let trackKeysWord = 0;
export let trackMaxKeys = Infinity;

/**
 * The client whose replies are in the thread's writer now (Redis's current_client), and whether
 * its command handler is running (invalidations of its own keys then wait for the reply).
 */
export const trackCtx = { executing: null as Client | null, evicting: false };

/** Install on a thread (0 is the main thread, which has no clients). */
export function installTracking(s: Store, thread: number, threads: number, threadClients: Map<number, Client> | null, doorbell: (thread: number) => void, maxKeys: number): void {
  store = s;
  threadCount = threads;
  base = s.L.tracking;
  me = thread;
  if (threadClients !== null) clients = threadClients;
  ring = doorbell;
  trackInbox = base + W_INBOX + thread;
  trackKeysWord = base + W_KEYS;
  setTrackingMaxKeys(maxKeys);
  s.onKeyModified = onKeyModified;
}

export function setTrackingMaxKeys(n: number): void {
  trackMaxKeys = n <= 0 ? Infinity : n;
}

function hashKey(b: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i], 0x01000193);
  return h >>> 0;
}

function sameBytes(at: number, b: Uint8Array): boolean {
  const u8 = store.u8;
  for (let i = 0; i < b.length; i++) if (u8[at + i] !== b[i]) return false;
  return true;
}

// ---- counters (INFO) ----------------------------------------------------------------------

export function trackingClients(s: Store): number {
  return Atomics.load(s.i32, s.L.tracking + W_CLIENTS);
}

export function trackingTotalKeys(s: Store): number {
  return Atomics.load(s.i32, s.L.tracking + W_KEYS);
}

export function trackingTotalItems(s: Store): number {
  return Atomics.load(s.i32, s.L.tracking + W_ITEMS);
}

/** Distinct BCAST prefixes over every thread (Redis's PrefixTable size). */
export function trackingTotalPrefixes(s: Store): number {
  const b = s.L.tracking;
  if (Atomics.load(s.i32, b + W_PREFIX_ENTRIES) === 0) return 0;
  const seen = new Set<string>();
  lockWord(s.i32, b + W_PREFIX_LOCK);
  try {
    for (let e = s.u32[b + W_PREFIX_HEAD] * 8; e !== 0; e = s.u32[e / 4] * 8) {
      const len = s.u32[e / 4 + 3];
      seen.add(Buffer.from(s.u8.subarray(e + PREFIX_HDR, e + PREFIX_HDR + len)).toString('latin1'));
    }
  } finally {
    unlockWord(s.i32, b + W_PREFIX_LOCK);
  }
  return seen.size;
}

// ---- the registry of tracking clients --------------------------------------------------------
// A writer on another thread reads a client's flags and redirection here, so it can post an
// invalidation straight to the thread of the redirect target: messages from one writer to one
// target then keep their order, whichever threads the tracking clients live on.

function registryPut(c: Client): void {
  const s = store;
  const u32 = s.u32;
  const b = c.id & (CLIENT_BUCKETS - 1);
  const lock = base + W_CLIENT_HEADS + CLIENT_BUCKETS + b;
  const st = c.trackState as TrackState;
  lockWord(s.i32, lock);
  try {
    let e = u32[base + W_CLIENT_HEADS + b] * 8;
    while (e !== 0 && u32[e / 4 + 1] !== c.id) e = u32[e / 4] * 8;
    if (e === 0) {
      e = s.heap.alloc(CREC_BYTES);
      u32[e / 4] = u32[base + W_CLIENT_HEADS + b];
      u32[e / 4 + 1] = c.id;
      u32[base + W_CLIENT_HEADS + b] = e / 8;
    }
    u32[e / 4 + 2] = c.tracking;
    u32[e / 4 + 3] = st.redirect;
    u32[e / 4 + 4] = st.redirectThread;
  } finally {
    unlockWord(s.i32, lock);
  }
}

function registryDelete(id: number): void {
  const s = store;
  const u32 = s.u32;
  const b = id & (CLIENT_BUCKETS - 1);
  const lock = base + W_CLIENT_HEADS + CLIENT_BUCKETS + b;
  lockWord(s.i32, lock);
  try {
    let link = base + W_CLIENT_HEADS + b;
    for (let e = u32[link] * 8; e !== 0; link = e / 4, e = u32[e / 4] * 8) {
      if (u32[e / 4 + 1] !== id) continue;
      u32[link] = u32[e / 4];
      s.heap.free(e, CREC_BYTES);
      return;
    }
  } finally {
    unlockWord(s.i32, lock);
  }
}

/** A tracking client's flags and redirection as its thread published them (null: not tracking). */
const found = { flags: 0, redirect: 0, redirectThread: 0 };
function registryGet(id: number): typeof found | null {
  const s = store;
  const u32 = s.u32;
  const b = id & (CLIENT_BUCKETS - 1);
  const lock = base + W_CLIENT_HEADS + CLIENT_BUCKETS + b;
  if (Atomics.load(u32, base + W_CLIENT_HEADS + b) === 0) return null;
  lockWord(s.i32, lock);
  try {
    for (let e = u32[base + W_CLIENT_HEADS + b] * 8; e !== 0; e = u32[e / 4] * 8) {
      if (u32[e / 4 + 1] !== id) continue;
      found.flags = u32[e / 4 + 2];
      found.redirect = u32[e / 4 + 3];
      found.redirectThread = u32[e / 4 + 4];
      return found;
    }
    return null;
  } finally {
    unlockWord(s.i32, lock);
  }
}

// ---- enabling and disabling (CLIENT TRACKING) ---------------------------------------------

/** Per-thread BCAST state: prefix -> its clients here and the keys modified this turn. */
interface Bcast {
  bytes: Buffer;
  clients: Set<Client>;
  /** key (latin1) -> id of the client that last modified it (0: none, e.g. expiry). */
  keys: Map<string, number>;
}
const prefixes = new Map<string, Bcast>();
let bcastQueued = false;

export function enableTracking(c: Client, redirect: number, redirectThread: number, options: number, pfx: Buffer[]): void {
  if ((c.tracking & T_ON) === 0) {
    Atomics.add(store.i32, base + W_CLIENTS, 1);
    if (!c.onClose.includes(disableTracking)) c.onClose.push(disableTracking);
  }
  const keepCaching = c.tracking & T_CACHING;
  c.tracking = T_ON | (options & (T_BCAST | T_OPTIN | T_OPTOUT | T_NOLOOP)) | keepCaching;
  let st = c.trackState;
  if (st === null) st = c.trackState = { redirect: 0, redirectThread: 0, prefixes: new Set(), prefixBytes: 0, pending: null };
  st.redirect = redirect;
  st.redirectThread = redirectThread;
  if ((options & T_BCAST) !== 0) {
    if (pfx.length === 0) addPrefix(c, st, Buffer.alloc(0));
    for (const p of pfx) addPrefix(c, st, p);
  }
  registryPut(c);
}

function addPrefix(c: Client, st: TrackState, p: Buffer): void {
  const name = p.toString('latin1');
  let b = prefixes.get(name);
  if (b === undefined) {
    b = { bytes: Buffer.from(p), clients: new Set(), keys: new Map() };
    prefixes.set(name, b);
    registryAdd(b.bytes, 1);
  }
  b.clients.add(c);
  if (!st.prefixes.has(name)) st.prefixBytes += name.length + 32;
  st.prefixes.add(name);
}

export function disableTracking(c: Client): void {
  const st = c.trackState;
  if (st !== null && (c.tracking & T_BCAST) !== 0) {
    for (const name of st.prefixes) {
      const b = prefixes.get(name);
      if (b === undefined) continue;
      b.clients.delete(c);
      if (b.clients.size === 0) {
        prefixes.delete(name);
        registryAdd(b.bytes, -1);
      }
    }
    st.prefixes.clear();
    st.prefixBytes = 0;
  }
  if ((c.tracking & T_ON) !== 0) {
    Atomics.sub(store.i32, base + W_CLIENTS, 1);
    c.tracking = 0;
    registryDelete(c.id);
  }
  if (st !== null) st.pending = null;
}

/**
 * Redis's checkPrefixCollisionsOrReply: returns the error text, or null when no two prefixes
 * (new ones among themselves, or new and existing) would emit an invalidation for the same key.
 */
export function prefixCollision(c: Client, pfx: Buffer[]): string | null {
  const have = c.trackState?.prefixes;
  for (let i = 0; i < pfx.length; i++) {
    if (have !== undefined && (c.tracking & T_BCAST) !== 0) {
      for (const name of [...have].sort()) {
        const old = Buffer.from(name, 'latin1');
        if (overlaps(old, pfx[i])) {
          return `ERR Prefix '${cstr(pfx[i])}' overlaps with an existing prefix '${cstr(old)}'. Prefixes for a single client must not overlap.`;
        }
      }
    }
    for (let j = i + 1; j < pfx.length; j++) {
      if (overlaps(pfx[i], pfx[j])) {
        return `ERR Prefix '${cstr(pfx[i])}' overlaps with another provided prefix '${cstr(pfx[j])}'. Prefixes for a single client must not overlap.`;
      }
    }
  }
  return null;
}

function overlaps(a: Buffer, b: Buffer): boolean {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** As Redis's %s prints an sds: up to the first NUL byte. */
function cstr(b: Buffer): string {
  const z = b.indexOf(0);
  return (z < 0 ? b : b.subarray(0, z)).toString('latin1');
}

/** Add delta to this thread's count for a prefix in the shared registry. */
function registryAdd(p: Uint8Array, delta: number): void {
  const s = store;
  const u32 = s.u32;
  lockWord(s.i32, base + W_PREFIX_LOCK);
  try {
    let link = base + W_PREFIX_HEAD;
    for (let e = u32[link] * 8; e !== 0; link = e / 4, e = u32[e / 4] * 8) {
      const w = e / 4;
      if (u32[w + 1] !== me || u32[w + 3] !== p.length || !sameBytes(e + PREFIX_HDR, p)) continue;
      const n = u32[w + 2] + delta;
      if (n > 0) {
        u32[w + 2] = n;
        return;
      }
      u32[link] = u32[w];
      s.heap.free(e, PREFIX_HDR + p.length);
      Atomics.sub(s.i32, base + W_PREFIX_ENTRIES, 1);
      return;
    }
    if (delta <= 0) return;
    const e = s.heap.alloc(PREFIX_HDR + p.length);
    const w = e / 4;
    u32[w] = u32[base + W_PREFIX_HEAD];
    u32[w + 1] = me;
    u32[w + 2] = delta;
    u32[w + 3] = p.length;
    s.u8.set(p, e + PREFIX_HDR);
    u32[base + W_PREFIX_HEAD] = e / 8;
    Atomics.add(s.i32, base + W_PREFIX_ENTRIES, 1);
  } finally {
    unlockWord(s.i32, base + W_PREFIX_LOCK);
  }
}

// ---- remembering keys (after a read-only command, its slot locks still held) ---------------

/** Redis's trackingRememberKeys: call only for a client with tracking on. */
export function rememberKeys(c: Client, spec: CommandSpec, argv: Buffer[]): void {
  const f = c.tracking;
  if ((f & T_BCAST) !== 0) return;
  if (((f & T_OPTIN) !== 0 && (f & T_CACHING) === 0) || ((f & T_OPTOUT) !== 0 && (f & T_CACHING) !== 0)) return;
  const flags = spec.flags;
  if (!flags.includes('readonly') || flags.includes('pubsub')) return;
  // EVAL_RO / EVALSHA_RO / FCALL_RO are not remembered as commands (Redis: scripts remember
  // their declared keys only when they run a read command).
  const name = spec.fullName;
  if (name === 'eval_ro' || name === 'evalsha_ro' || name === 'fcall_ro') return;
  const idx = commandKeys(spec, argv);
  for (let i = 0; i < idx.length; i++) rememberKey(argv[idx[i]], c.id);
}

/**
 * A script of a tracking client ran a read-only command: remember every key the script declared
 * (Redis's call() remembers the caller's EVAL/FCALL keys then). The declared keys' slots must be
 * locked, as they are for the whole run.
 */
export function rememberScriptKeys(c: Client, keys: Buffer[]): void {
  const f = c.tracking;
  if ((f & T_ON) === 0 || (f & T_BCAST) !== 0) return;
  if (((f & T_OPTIN) !== 0 && (f & T_CACHING) === 0) || ((f & T_OPTOUT) !== 0 && (f & T_CACHING) !== 0)) return;
  for (let i = 0; i < keys.length; i++) rememberKey(keys[i], c.id);
}

function rememberKey(key: Uint8Array, id: number): void {
  const s = store;
  const u32 = s.u32;
  const heap = s.heap;
  const head = base + s.slotOf(key);
  const h = hashKey(key);
  let e = u32[head] * 8;
  while (e !== 0 && (u32[e / 4 + 1] !== h || u32[e / 4 + 2] !== key.length || !sameBytes(e + KEY_HDR, key))) e = u32[e / 4] * 8;
  if (e !== 0) {
    const w = e / 4;
    const n = u32[w + 3];
    let cl = u32[w + 5] * 8;
    for (let i = 0; i < n; i++) if (u32[cl / 4 + 2 * i] === id) return;
    const cap = u32[w + 4];
    if (n === cap) {
      const grown = heap.alloc(2 * cap * PAIR);
      heap.u8.copyWithin(grown, cl, cl + cap * PAIR);
      heap.free(cl, cap * PAIR);
      u32[w + 4] = 2 * cap;
      cl = grown;
      u32[w + 5] = cl / 8;
    }
    u32[cl / 4 + 2 * n] = id;
    u32[cl / 4 + 2 * n + 1] = me;
    u32[w + 3] = n + 1;
    Atomics.add(s.i32, base + W_ITEMS, 1);
    return;
  }
  const cl = heap.alloc(2 * PAIR);
  try {
    e = heap.alloc(KEY_HDR + key.length);
  } catch (err) {
    heap.free(cl, 2 * PAIR);
    throw err;
  }
  const w = e / 4;
  u32[w] = u32[head];
  u32[w + 1] = h;
  u32[w + 2] = key.length;
  u32[w + 3] = 1;
  u32[w + 4] = 2;
  u32[w + 5] = cl / 8;
  u32[cl / 4] = id;
  u32[cl / 4 + 1] = me;
  s.u8.set(key, e + KEY_HDR);
  Atomics.store(u32, head, e / 8);
  Atomics.add(s.i32, base + W_ITEMS, 1);
  Atomics.add(s.i32, base + W_KEYS, 1);
}

/** Free a key record and its readers block (slot lock held, record unlinked). */
function freeKeyRecord(e: number): void {
  const heap = store.heap;
  const w = e / 4;
  heap.free(store.u32[w + 5] * 8, store.u32[w + 4] * PAIR);
  heap.free(e, KEY_HDR + store.u32[w + 2]);
}

// ---- invalidation (under the key's slot lock, on any thread) -------------------------------

function onKeyModified(_db: number, key: Uint8Array, expired: boolean): void {
  // Plain reads (every write passes here; Atomics.load is a builtin call each): the slot word
  // changes under the key's slot lock, which this writer holds; the BCAST count is read as
  // loosely as an atomic load would be (a concurrent change orders either way).
  const i32 = store.i32;
  if (i32[base + W_PREFIX_ENTRIES] !== 0) {
    const ex = trackCtx.executing;
    rememberForBroadcast(key, expired || trackCtx.evicting || ex === null ? 0 : ex.id);
  }
  const slot = store.slotOf(key);
  if (i32[base + slot] === 0) return;
  invalidateKey(key, slot);
}

/** Take every item of key out of the table and notify each client (trackingInvalidateKey). */
function invalidateKey(key: Uint8Array, slot: number): void {
  const s = store;
  const u32 = s.u32;
  const h = hashKey(key);
  let link = base + slot;
  let e = u32[link] * 8;
  while (e !== 0 && (u32[e / 4 + 1] !== h || u32[e / 4 + 2] !== key.length || !sameBytes(e + KEY_HDR, key))) {
    link = e / 4;
    e = u32[link] * 8;
  }
  if (e === 0) return;
  const w = e / 4;
  u32[link] = u32[w];
  const n = u32[w + 3];
  // Copied out before notifying: a notification may invalidate other keys (redirects).
  const cl = u32[w + 5] * 2; // u32 index of the readers block (its address in 8-byte units * 2)
  const targets = new Array<number>(2 * n);
  for (let i = 0; i < 2 * n; i++) targets[i] = u32[cl + i];
  freeKeyRecord(e);
  Atomics.sub(s.i32, base + W_ITEMS, n);
  Atomics.sub(s.i32, base + W_KEYS, 1);
  // In the order they read the key.
  for (let i = 0; i < targets.length; i += 2) {
    const id = targets[i];
    const t = targets[i + 1];
    if (t === me) keyInvalidated(id, key, true);
    else remoteKeyInvalidated(id, t, key);
  }
}

/** A key read by a client of thread t: to it, or straight to the thread of its redirect target. */
function remoteKeyInvalidated(id: number, t: number, key: Uint8Array): void {
  const r = registryGet(id);
  if (r === null || (r.flags & T_BCAST) !== 0) return;
  if (r.redirect === 0) {
    pushInbox(t, R_KEY, id, 0, 0, key);
    return;
  }
  const value = keyArray(key);
  if (r.redirectThread !== me) {
    pushInbox(r.redirectThread, R_REDIR, r.redirect, id, t, value);
    return;
  }
  const target = clients.get(r.redirect);
  if (target !== undefined && !target.closed) emitWrapped(target, value);
  else pushInbox(t, R_BROKEN, id, r.redirect, 0, EMPTY);
}

/** Send one key's invalidation to a client of this thread (local: the writer runs here). */
function keyInvalidated(id: number, key: Uint8Array, local: boolean): void {
  const c = clients.get(id);
  if (c === undefined || (c.tracking & T_ON) === 0 || (c.tracking & T_BCAST) !== 0) return;
  if (local && c === trackCtx.executing) {
    if ((c.tracking & T_NOLOOP) !== 0) return;
    // Its own command changed a key it reads: the message follows the command's reply.
    if (c.callDepth > 0) {
      const st = c.trackState as TrackState;
      (st.pending ??= []).push(Buffer.from(key));
      return;
    }
  }
  sendTracking(c, keyArray(key));
}

/** FLUSHALL / FLUSHDB (every slot lock held): "invalidate nil" to every tracking client, table emptied. */
export function trackingFlush(): void {
  if (Atomics.load(store.i32, base + W_CLIENTS) > 0) {
    flushLocal(true);
    for (let t = 1; t < 256; t++) {
      if (t === me) continue;
      if (t > threadCount) break;
      pushInbox(t, R_FLUSH, 0, 0, 0, EMPTY);
    }
  }
  const s = store;
  const u32 = s.u32;
  if (Atomics.load(s.i32, base + W_ITEMS) === 0) return;
  let items = 0;
  let keys = 0;
  for (let slot = 0; slot < NSLOTS; slot++) {
    let e = u32[base + slot] * 8;
    if (e === 0) continue;
    u32[base + slot] = 0;
    while (e !== 0) {
      const next = u32[e / 4] * 8;
      items += u32[e / 4 + 3];
      keys++;
      freeKeyRecord(e);
      e = next;
    }
  }
  Atomics.sub(s.i32, base + W_ITEMS, items);
  Atomics.sub(s.i32, base + W_KEYS, keys);
}

/** Worker threads are 1..threadCount. */
let threadCount = 0;

function flushLocal(local: boolean): void {
  for (const c of clients.values()) {
    if ((c.tracking & T_ON) === 0 || c.closed) continue;
    if (local && c === trackCtx.executing && c.callDepth > 0) {
      ((c.trackState as TrackState).pending ??= []).push(null);
      continue;
    }
    sendTracking(c, c.resp === 3 ? NULL3 : NULL2);
  }
}

// ---- BCAST -------------------------------------------------------------------------------

function rememberForBroadcast(key: Uint8Array, writer: number): void {
  const s = store;
  const u32 = s.u32;
  let threads = 0; // bit per thread < 32, else the slow list
  let more: number[] | null = null;
  lockWord(s.i32, base + W_PREFIX_LOCK);
  try {
    for (let e = u32[base + W_PREFIX_HEAD] * 8; e !== 0; e = u32[e / 4] * 8) {
      const w = e / 4;
      const len = u32[w + 3];
      if (len > key.length) continue;
      let ok = true;
      for (let i = 0; i < len && ok; i++) ok = s.u8[e + PREFIX_HDR + i] === key[i];
      if (!ok) continue;
      const t = u32[w + 1];
      if (t < 32) threads |= 1 << t;
      else if (more === null) more = [t];
      else if (!more.includes(t)) more.push(t);
    }
  } finally {
    unlockWord(s.i32, base + W_PREFIX_LOCK);
  }
  for (let t = 0; t < 32; t++) if ((threads & (1 << t)) !== 0) bcastTo(t, key, writer);
  if (more !== null) for (const t of more) bcastTo(t, key, writer);
}

function bcastTo(t: number, key: Uint8Array, writer: number): void {
  if (t === me) bcastLocal(key, writer);
  else pushInbox(t, R_BCAST, writer, 0, 0, key);
}

function bcastLocal(key: Uint8Array, writer: number): void {
  const name = Buffer.from(key.buffer, key.byteOffset, key.byteLength).latin1Slice(0, key.length);
  for (const b of prefixes.values()) {
    if (b.bytes.length > key.length) continue;
    let ok = true;
    for (let i = 0; i < b.bytes.length && ok; i++) ok = b.bytes[i] === key[i];
    if (ok) b.keys.set(name, writer);
  }
  if (!bcastQueued) {
    bcastQueued = true;
    setImmediate(flushBroadcasts);
  }
}

/** Send each prefix's keys of this turn to its clients (trackingBroadcastInvalidationMessages). */
export function flushBroadcasts(): void {
  if (!bcastQueued) return;
  bcastQueued = false;
  for (const b of prefixes.values()) {
    if (b.keys.size === 0) continue;
    let all: Buffer | null = null;
    for (const c of b.clients) {
      if (c.closed) continue;
      if ((c.tracking & T_NOLOOP) !== 0) {
        const adhoc = keysArray(b.keys, c.id);
        if (adhoc !== null) sendTracking(c, adhoc);
      } else {
        if (all === null) all = keysArray(b.keys, 0) as Buffer;
        sendTracking(c, all);
      }
    }
    b.keys.clear();
  }
}

function keysArray(keys: Map<string, number>, skip: number): Buffer | null {
  const parts: Buffer[] = [];
  for (const [k, w] of keys) {
    if (skip !== 0 && w === skip) continue;
    parts.push(Buffer.from(`$${k.length}\r\n${k}\r\n`, 'latin1'));
  }
  if (parts.length === 0) return null;
  return Buffer.concat([Buffer.from(`*${parts.length}\r\n`), ...parts]);
}

// ---- tracking-table-max-keys ----------------------------------------------------------------

let timeoutCounter = 0;

/**
 * Redis's trackingLimitUsedSlots: over tracking-table-max-keys, invalidate keys picked at random
 * (an effort that grows while the limit is still exceeded). Call holding no slot lock.
 */
export function trackingLimitUsedSlots(): void {
  const s = store;
  const max = trackMaxKeys;
  if (Atomics.load(s.i32, base + W_KEYS) <= max) {
    timeoutCounter = 0;
    return;
  }
  let effort = 100 * (timeoutCounter + 1);
  const u32 = s.u32;
  while (effort > 0) {
    effort--;
    let slot = (Math.random() * NSLOTS) | 0;
    let found = -1;
    for (let n = 0; n < NSLOTS; n++, slot = (slot + 1) & (NSLOTS - 1)) {
      if (Atomics.load(u32, base + slot) !== 0) {
        found = slot;
        break;
      }
    }
    if (found < 0) break;
    const coord = Coordinator.of(s);
    coord.lockWalk(found);
    try {
      const e = u32[base + found] * 8;
      if (e !== 0) {
        const key = Buffer.from(s.u8.subarray(e + KEY_HDR, e + KEY_HDR + u32[e / 4 + 2]));
        invalidateKey(key, found);
      }
    } finally {
      coord.unlockWalk(found);
    }
    if (Atomics.load(s.i32, base + W_KEYS) <= max) {
      timeoutCounter = 0;
      return;
    }
  }
  timeoutCounter++;
}

// ---- messages --------------------------------------------------------------------------------

const EMPTY = Buffer.alloc(0);
const NULL2 = Buffer.from('$-1\r\n');
const NULL3 = Buffer.from('_\r\n');
const PUSH_HEAD = Buffer.from('>2\r\n$10\r\ninvalidate\r\n');
const MSG_HEAD = Buffer.from('*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n');

function keyArray(key: Uint8Array): Buffer {
  const head = `*1\r\n$${key.length}\r\n`;
  const out = Buffer.allocUnsafe(head.length + key.length + 2);
  out.latin1Write(head, 0);
  out.set(key, head.length);
  out[out.length - 2] = 13;
  out[out.length - 1] = 10;
  return out;
}

/** Redis's sendTrackingMessage: `value` is the RESP of the keys array (or a null). */
function sendTracking(c: Client, value: Buffer): void {
  const st = c.trackState;
  if (st !== null && st.redirect !== 0) {
    const r = clients.get(st.redirect);
    if (r !== undefined && !r.closed) {
      emitWrapped(r, value);
    } else if (st.redirectThread !== 0 && st.redirectThread !== me) {
      pushInbox(st.redirectThread, R_REDIR, st.redirect, c.id, me, value);
    } else {
      redirectBroken(c);
    }
    return;
  }
  if (c.resp === 3) emitTo(c, Buffer.concat([PUSH_HEAD, value]));
  // RESP2 without redirection: nowhere to send it (no pushes in RESP2).
}

function emitWrapped(r: Client, value: Buffer): void {
  if (r.resp === 3) emitTo(r, Buffer.concat([PUSH_HEAD, value]));
  else if (r.subscriptions + r.psubscriptions + r.ssubscriptions > 0) emitTo(r, Buffer.concat([MSG_HEAD, value]));
}

function redirectBroken(c: Client): void {
  c.tracking |= T_BROKEN;
  if (c.resp === 3) {
    const id = (c.trackState as TrackState).redirect;
    emitTo(c, Buffer.from(`>2\r\n$21\r\ntracking-redir-broken\r\n:${id}\r\n`));
  }
}

/**
 * Write a push to a client: into the thread's writer when its replies are there now (so it goes
 * before the reply being built, or after it for pending ones), else straight to its socket.
 * Pushes bypass CLIENT REPLY OFF/SKIP as Redis's CLIENT_PUSHING does.
 */
function emitTo(c: Client, bytes: Buffer): void {
  if (c.closed) return;
  if (c === trackCtx.executing) {
    if (c.replyMode !== 0) (c.quietPushes ??= []).push(bytes);
    else c.w.rawBytes(bytes);
    return;
  }
  if (c.beforeFlush !== null) c.beforeFlush(c);
  c.deliver(bytes);
  // Its share follows the pushes it was not there to take, as after a pub/sub delivery. Closing it
  // now is safe only at the doorbell: elsewhere this runs under the written key's slot lock, and
  // client eviction waits for the end of the turn.
  if (clientMemLive.on) {
    if (atDoorbell) clientMemChanged(c.srv, c);
    else clientMemChangedSoon(c.srv, c);
  }
}

/** After a command (or a served blocked command): its own invalidations, after its reply. */
export function flushPendingSelf(c: Client): void {
  const st = c.trackState;
  if (st === null || st.pending === null) return;
  const list = st.pending;
  st.pending = null;
  if ((c.tracking & T_ON) === 0) return;
  for (const k of list) sendTracking(c, k === null ? (c.resp === 3 ? NULL3 : NULL2) : keyArray(k));
}

// ---- inboxes -------------------------------------------------------------------------------

function pushInbox(t: number, kind: number, a: number, b: number, cc: number, bytes: Uint8Array): void {
  const s = store;
  const u32 = s.u32;
  const rec = s.heap.alloc(REC_HDR + bytes.length);
  Atomics.add(s.i32, base + W_INBOX_BYTES, classSize[classOf(REC_HDR + bytes.length)]);
  const w = rec / 4;
  u32[w + 1] = kind;
  u32[w + 2] = a;
  u32[w + 3] = b;
  u32[w + 4] = cc;
  u32[w + 5] = bytes.length;
  if (bytes.length > 0) s.u8.set(bytes, rec + REC_HDR);
  const head = base + W_INBOX + t;
  for (;;) {
    const old = Atomics.load(u32, head);
    u32[w] = old;
    if (Atomics.compareExchange(u32, head, old, rec / 8) === old) {
      if (old === 0) ring(t);
      return;
    }
  }
}

/**
 * Heap bytes of invalidations on their way to another thread's clients. Eviction does not count
 * them: evicting a tracked key posts one, and counting it would make each eviction pay for the
 * next (Redis's tracking feedback loop). They become client output once drained, counted there.
 */
export function inboxBytes(s: Store): number {
  return Atomics.load(s.i32, s.L.tracking + W_INBOX_BYTES);
}

let atDoorbell = false;

/** The doorbell rang: drain outside any command and slot lock. */
export function drainInboxAtDoorbell(): void {
  atDoorbell = true;
  try {
    drainInbox();
  } finally {
    atDoorbell = false;
  }
}

/** Handle what other threads posted to this one (the doorbell, or before a command runs). */
export function drainInbox(): void {
  const s = store;
  const u32 = s.u32;
  let rec = Atomics.exchange(u32, base + W_INBOX + me, 0) * 8;
  if (rec === 0) return;
  // The inbox is a stack: reverse it to handle records in the order they were posted.
  let prev = 0;
  while (rec !== 0) {
    const next = u32[rec / 4] * 8;
    u32[rec / 4] = prev / 8;
    prev = rec;
    rec = next;
  }
  rec = prev;
  let bcast = false;
  while (rec !== 0) {
    const w = rec / 4;
    const next = u32[w] * 8;
    const kind = u32[w + 1];
    const a = u32[w + 2];
    const b = u32[w + 3];
    const cc = u32[w + 4];
    const len = u32[w + 5];
    const bytes = Buffer.from(s.u8.subarray(rec + REC_HDR, rec + REC_HDR + len));
    s.heap.free(rec, REC_HDR + len);
    Atomics.sub(s.i32, base + W_INBOX_BYTES, classSize[classOf(REC_HDR + len)]);
    rec = next;
    switch (kind) {
      case R_KEY:
        keyInvalidated(a, bytes, false);
        break;
      case R_FLUSH:
        flushLocal(false);
        break;
      case R_BCAST:
        bcastLocal(bytes, a);
        bcast = true;
        break;
      case R_REDIR: {
        const r = clients.get(a);
        if (r !== undefined && !r.closed) emitWrapped(r, bytes);
        else if (cc === me) brokenFor(b, a);
        else pushInbox(cc, R_BROKEN, b, a, 0, EMPTY);
        break;
      }
      case R_BROKEN:
        brokenFor(a, b);
        break;
    }
  }
  // Keys another thread changed before this point go out now, ahead of the reply being built.
  if (bcast) flushBroadcasts();
}

function brokenFor(id: number, redirect: number): void {
  const c = clients.get(id);
  if (c === undefined || (c.tracking & T_ON) === 0 || c.trackState?.redirect !== redirect) return;
  redirectBroken(c);
}

// Arrival order of blocking commands across threads.
//
// Redis runs commands in the order they reach its one thread. A client that sends a blocking
// command on one connection and then, on another, a command that affects it (BLPOP then LPUSH;
// XREADGROUP BLOCK then DEL, SET or SWAPDB) sees the blocked command first. Here the two
// connections may live on two threads, and the second thread can run its command while the first
// is still between reading the blocking command and running it (measured: up to ~2 ms on a busy
// 2-core machine), so the blocked client sees the wrong outcome (NOGROUP instead of "no longer
// exists", WRONGTYPE, an element it should have waited for).
//
// The fence: a thread that reads a chunk starting with a blocking command (or a SUBSCRIBE or
// UNSUBSCRIBE of any kind, which a PUBLISH on another thread must see in order) announces it before
// parsing (a ticket from a shared counter, in its own word), and withdraws it once that command
// has run (or the chunk ended before it could). Every chunk records the counter when it is read. A
// command then waits, before it takes any lock, for announcements of other threads that were made
// before its chunk was read; an announced command too (two BRPOPLPUSH keep their order). Waits go
// only to smaller tickets, so no two threads wait for each other. Waiting is
// bounded (FENCE_MAX_MS): a thread that is itself stuck must not stop the others.
// Cost when no blocking command is in flight: one Atomics.load per chunk and one per command.
//
// The fence above sees commands another thread has read. Input a thread has not read yet (the
// kernel holds it; the thread is waking up or busy) is seen through native/arrival: before an
// order-sensitive command, fenceUnread asks whether another thread has a readable client socket
// or is running a chunk it read before this one, and waits, bounded, for it to finish.
// Order-sensitive, where a client sees the order: a write to a slot with blocked clients, a write
// by a non-stream command (DEL, SET) to a stream that XREAD BLOCK or XREADGROUP use
// (coordinator.ts: an XREADGROUP BLOCK not read yet answers NOGROUP or WRONGTYPE after it, "no
// longer exists" before it), FLUSHALL, FLUSHDB and SWAPDB, a PUBLISH with receivers on other
// threads (pubsub.ts). Not every write: on
// this 2-core VM, fencing every write of a quiet thread cost redis-benchmark SET 15% and did not
// measurably help the TCL units it was meant for. Never while holding slot locks: the thread
// waited for may need them. Under load every thread is always reading, so the fence would
// wait on every sensitive command for order no client can observe: each thread spends at most
// FENCE_BUDGET_MS per second in it (looking included) and skips it for the rest of that second.
import type { Socket } from 'net';
import { fdOf } from './listeners';
import type { Store } from '../store/keyspace';
import { MAX_THREADS } from '../store/heap';
import { loadAddon } from '../store/sysaddon';
import { F_BLOCKING } from '../commands/flags';
import { lookupCommand } from '../commands/registry';

// Layout.arrival (ARRIVAL_WORDS): the counter, the number of announcements, a word per thread id.
const A_SEQ = 0;
const A_COUNT = 1;
const A_THREAD = 2;
/** The longest a command waits for an older blocking command of another thread. */
const FENCE_MAX_MS = 5;

/** The counter as this chunk was read (Client.readSeq). */
export function arrivalSeq(store: Store): number {
  return Atomics.load(store.i32, store.L.arrival + A_SEQ);
}

/**
 * This thread's announced commands not yet run: several when a poll phase's chunks run after it
 * (client.ts batch). Its word holds the oldest, the one other threads must wait for first.
 */
const outstandingOf = new WeakMap<Store, number[]>();

function outstanding(store: Store): number[] {
  let l = outstandingOf.get(store);
  if (l === undefined) outstandingOf.set(store, (l = []));
  return l;
}

function oldest(l: number[]): number {
  let m = 0;
  for (const t of l) if (m === 0 || ((t - m) | 0) < 0) m = t;
  return m;
}

/**
 * Announce a blocking command read by this thread, with its chunk's arrival number (chunkSeq),
 * or without one a ticket from the counter. Returns the ticket, for withdrawBlocking.
 */
export function announceBlocking(store: Store, threadId: number, seq = 0): number {
  const base = store.L.arrival;
  const t = seq !== 0 ? seq : Atomics.add(store.i32, base + A_SEQ, 1) + 1;
  const l = outstanding(store);
  l.push(t);
  Atomics.store(store.i32, base + A_THREAD + threadId, oldest(l));
  Atomics.add(store.i32, base + A_COUNT, 1);
  return t;
}

/** The announced command (its ticket) has run, or its chunk ended without running it. */
export function withdrawBlocking(store: Store, threadId: number, ticket: number): void {
  const base = store.L.arrival;
  const l = outstanding(store);
  const i = l.indexOf(ticket);
  if (i >= 0) l.splice(i, 1);
  Atomics.store(store.i32, base + A_THREAD + threadId, oldest(l));
  Atomics.sub(store.i32, base + A_COUNT, 1);
  Atomics.notify(store.i32, base + A_THREAD + threadId);
}

/** True when some thread has a blocking command read and not yet run (the cheap check). */
export function blockingInFlight(store: Store): boolean {
  return Atomics.load(store.i32, store.L.arrival + A_COUNT) !== 0;
}

/** Wait until no other thread holds a blocking command it read before `readSeq` was taken. */
export function fenceOlderBlocking(store: Store, threadId: number, threads: number, readSeq: number): void {
  waitAnnounced(store, threadId, threads, readSeq, 0);
}

/**
 * Wait for other threads' announcements: those made before readSeq, or (readSeq null) any. Until
 * deadline, or FENCE_MAX_MS after the first wait when it is 0. 1 if it waited, -1 if cut short.
 */
function waitAnnounced(store: Store, self: number, threads: number, readSeq: number | null, deadline: number): number {
  const i32 = store.i32;
  const base = store.L.arrival + A_THREAD;
  let waited = 0;
  for (let t = 1; t <= threads; t++) {
    if (t === self) continue;
    for (;;) {
      const ticket = Atomics.load(i32, base + t);
      // Tickets are the counter's value after the announcement: not after readSeq means announced
      // before the chunk was read. Compared by difference, so the 32-bit counter may wrap.
      if (ticket === 0 || (readSeq !== null && ((ticket - readSeq) | 0) > 0)) break;
      const now = performance.now();
      if (deadline === 0) deadline = now + FENCE_MAX_MS;
      else if (now >= deadline) return -1;
      waited = 1;
      Atomics.wait(i32, base + t, ticket, deadline - now);
    }
  }
  return waited;
}

const BLOCK = [0x62, 0x6c, 0x6f, 0x63, 0x6b]; // "block"

/**
 * Does this chunk start with a command to announce? One that can block: BL*, BR*, BZ* always;
 * XREAD and XREADGROUP only with a BLOCK argument (without one they never wait, and stream
 * consumers call them often). And the (P|S)(UN)SUBSCRIBE family, whose order a PUBLISH on another
 * thread must keep (pubsub.ts). Reads the multibulk headers in place; anything unexpected is "no".
 */
export function startsAnnounced(chunk: Buffer): boolean {
  const n = chunk.length;
  if (n < 8 || chunk[0] !== 0x2a) return false;
  let p = 1;
  let argc = 0;
  while (p < n && chunk[p] >= 0x30 && chunk[p] <= 0x39) argc = argc * 10 + chunk[p++] - 0x30;
  if (p + 2 >= n || chunk[p] !== 0x0d) return false;
  p += 2;
  let len = bulkLen(chunk, p);
  if (len <= 0) return false;
  p = skipHeader(chunk, p);
  if (p + len > n) return false;
  const first = chunk[p] | 0x20;
  if (len >= 9 && len <= 12 && endsWithSubscribe(chunk, p + len)) return lookupCommand(chunk.subarray(p, p + len)) !== undefined;
  if (first !== 0x62 && first !== 0x78) return false; // b, x
  const spec = lookupCommand(chunk.subarray(p, p + len));
  if (spec === undefined || ((spec.bits ?? 0) & F_BLOCKING) === 0) return false;
  if (first === 0x62) return true;
  // XREAD / XREADGROUP: look for a BLOCK argument among the ones in this chunk.
  p += len + 2;
  for (let i = 1; i < argc && p < n; i++) {
    len = bulkLen(chunk, p);
    if (len < 0) return false;
    p = skipHeader(chunk, p);
    if (len === 5 && p + 5 <= n && isBlockWord(chunk, p)) return true;
    p += len + 2;
  }
  return false;
}

function bulkLen(chunk: Buffer, p: number): number {
  if (chunk[p] !== 0x24) return -1;
  let v = 0;
  let q = p + 1;
  while (q < chunk.length && chunk[q] >= 0x30 && chunk[q] <= 0x39 && q - p < 12) v = v * 10 + chunk[q++] - 0x30;
  return q < chunk.length && chunk[q] === 0x0d ? v : -1;
}

function skipHeader(chunk: Buffer, p: number): number {
  while (p < chunk.length && chunk[p] !== 0x0d) p++;
  return p + 2;
}

const SUBSCRIBE = [0x73, 0x75, 0x62, 0x73, 0x63, 0x72, 0x69, 0x62, 0x65]; // "subscribe"

function endsWithSubscribe(chunk: Buffer, end: number): boolean {
  for (let i = 0; i < 9; i++) if ((chunk[end - 9 + i] | 0x20) !== SUBSCRIBE[i]) return false;
  return true;
}

function isBlockWord(chunk: Buffer, p: number): boolean {
  for (let i = 0; i < 5; i++) if ((chunk[p + i] | 0x20) !== BLOCK[i]) return false;
  return true;
}

// ---- Input other threads have not read (native/arrival) -------------------------------------

interface UnreadAddon {
  attach(threadId: number, stamps: Float64Array): number;
  watch(fd: number, threadId: number): void;
  unwatch(fd: number, threadId: number): void;
  fence(threadId: number, threads: number, maxMs: number, seq?: number): number;
  seq(fd: number): number;
  batchOpen(threadId: number): void;
  batchClose(threadId: number): void;
  activate(): void;
}

let unreadAddon: UnreadAddon | null = null;
/** Where this thread writes when it read the chunk it is running: one clock for every thread
 *  (timeOrigin + now: each worker's origin is its start, on the same monotonic clock). */
let stampF64: Float64Array | null = null;
let stampAt = 0;

let unreadSelf = 0;
let unreadThreads = 0;
let unreadStore: Store | null = null;
/** Time a thread may spend in fenceUnread per second (5%). */
const FENCE_BUDGET_MS = 50;
let budgetUntil = 0;
let budgetUsed = 0;
/** Commands of this thread that waited, those the bound cut short, those skipped (INFO threads). */
let unreadWaits = 0;
let unreadLate = 0;
let unreadSkipped = 0;
let unreadMs = 0;

/** Attach this worker's event loop (once, at start). False where the addon is missing or one thread runs. */
export function attachUnread(store: Store, threadId: number, threads: number): boolean {
  // SHARDIS_UNREAD_FENCE=0 turns it off, to measure what it costs and what it fixes.
  if (threads < 2 || process.env.SHARDIS_UNREAD_FENCE === '0') return false;
  const a = loadAddon<UnreadAddon>('arrival.node');
  const stamps = store.f64.subarray(store.L.stamps, store.L.stamps + MAX_THREADS);
  if (a === null || a.attach(threadId, stamps) !== 1) return false;
  stampAt = store.L.stamps + threadId;
  stampF64 = store.f64;
  unreadAddon = a;
  unreadSelf = threadId;
  unreadThreads = threads;
  unreadStore = store;
  return true;
}

/** A chunk was read: the fences of other threads compare it with theirs (Client.onData). */
export function stampRead(): void {
  if (stampF64 !== null) stampF64[stampAt] = performance.timeOrigin + performance.now();
}

/**
 * The kernel's arrival number of the input fd has had since it was last read (native/arrival):
 * what two threads compare to order commands they read, whichever read first. 0 where the addon
 * is off (one thread, SHARDIS_UNREAD_FENCE=0): tickets then come from the counter (arrivalSeq).
 * Stored in Int32 words, so taken as a signed 32-bit value (compared by difference).
 */
export function chunkSeq(fd: number): number {
  return unreadAddon === null || fd < 0 ? 0 : unreadAddon.seq(fd) | 0;
}

/**
 * Misc word: until when (seconds, from ORDER_EPOCH) arrival numbers are kept and a poll phase's
 * input runs in their order. Blocking commands (announced) keep it on for ORDER_SECS: with none,
 * nothing of this costs anything (measured on 2 cores: about 10% of redis-benchmark GET -P 16).
 */
export const M_ARRIVAL_ORDER = 16;
const ORDER_EPOCH = 1_700_000_000;
const ORDER_SECS = 10;

/** Is arrival ordering on (now: Date.now())? One atomic load. */
export function arrivalOrderOn(store: Store, now: number): boolean {
  return unreadAddon !== null && Atomics.load(store.i32, store.L.misc + M_ARRIVAL_ORDER) > Math.floor(now / 1000) - ORDER_EPOCH;
}

/** A blocking command was read: ordering stays on for ORDER_SECS (the addon's numbering too). */
export function keepArrivalOrder(store: Store): void {
  if (unreadAddon === null) return;
  const until = Math.floor(Date.now() / 1000) - ORDER_EPOCH + ORDER_SECS;
  const w = store.L.misc + M_ARRIVAL_ORDER;
  // Refreshed when half its time is gone: not an addon call for every blocking command.
  if (Atomics.load(store.i32, w) > until - ORDER_SECS / 2) return;
  Atomics.store(store.i32, w, until);
  unreadAddon.activate();
}

/** This poll phase set input aside to run after it (Client's batch): its end waits for batchRan. */
export function batchOpened(): void {
  if (unreadAddon !== null) unreadAddon.batchOpen(unreadSelf);
}

/** The input set aside has run: the poll phase ends (fences of other threads waiting for it go on). */
export function batchRan(): void {
  if (unreadAddon !== null) unreadAddon.batchClose(unreadSelf);
}

/** Can fenceUnread wait for anything (the cheap check before looking for a sensitive command). */
export function unreadFenceOn(): boolean {
  return unreadAddon !== null;
}

/** The socket's descriptor (-1 when it has none), recorded as a client socket of this thread. */
export function watchSocket(socket: Socket): number {
  if (unreadAddon === null) return -1;
  const fd = fdOf(socket);
  if (fd < 0) return -1;
  unreadAddon.watch(fd, unreadSelf);
  return fd;
}

/** The client is gone (its descriptor may already serve another socket, of this thread or not). */
export function unwatchSocket(fd: number): void {
  if (fd >= 0 && unreadAddon !== null) unreadAddon.unwatch(fd, unreadSelf);
}

/**
 * Wait (at most FENCE_MAX_MS) for input other threads received and have not run. Hold no slot locks.
 * blockingToo (a write that is not itself blocking, a PUBLISH): wait as well for announced
 * commands (blocking ones, (un)subscribes) other threads have read and not run, however recently
 * read. The two overlapped, so either order is one the clients could see; the announced one goes
 * first because a thread slower to wake may read later what reached the kernel first, as when a
 * client sends XREADGROUP BLOCK and then, on another connection, DEL.
 */
export function fenceUnread(blockingToo = false): void {
  if (unreadAddon === null) return;
  const t0 = performance.now();
  if (!withinBudget(t0)) return;
  const n = unreadAddon.fence(unreadSelf, unreadThreads, FENCE_MAX_MS);
  const m = blockingToo && unreadStore !== null && blockingInFlight(unreadStore) ? waitAnnounced(unreadStore, unreadSelf, unreadThreads, null, t0 + FENCE_MAX_MS) : 0;
  account(t0, n !== 0 || m !== 0, n < 0 || m < 0);
}

/** May this thread still spend time in a fence this second? (A skip is counted when not.) */
function withinBudget(t0: number): boolean {
  if (t0 >= budgetUntil) {
    budgetUntil = t0 + 1000;
    budgetUsed = 0;
  } else if (budgetUsed >= FENCE_BUDGET_MS) {
    unreadSkipped++;
    return false;
  }
  return true;
}

/** A fence that began at t0 is over: its time counts against the budget and in INFO threads. */
function account(t0: number, waited: boolean, late: boolean): void {
  const spent = performance.now() - t0;
  budgetUsed += spent;
  unreadMs += spent;
  if (waited) unreadWaits++;
  if (late) unreadLate++;
}

/**
 * A blocking command about to run (its chunk's arrival number seq): wait, bounded, for input that
 * other threads have not read and that reached the kernel before it (another blocking command, or
 * a write it should see). Then fenceOlderBlocking orders it after announced ones with smaller
 * numbers, so two threads that read two BRPOPLPUSH in the other order still run them in order.
 */
export function fenceEarlierInput(seq: number): void {
  if (unreadAddon === null || seq === 0) return;
  const t0 = performance.now();
  if (!withinBudget(t0)) return;
  const n = unreadAddon.fence(unreadSelf, unreadThreads, FENCE_MAX_MS, seq >>> 0);
  account(t0, n !== 0, n < 0);
}

/** INFO threads: this thread's unread_fence_waits, _late, _skipped and _usec (time in the fence). */
export function unreadFenceStats(): [number, number, number, number] {
  return [unreadWaits, unreadLate, unreadSkipped, Math.round(unreadMs * 1000)];
}

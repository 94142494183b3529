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
// The fence: a thread that reads a chunk starting with a blocking command announces it before
// parsing (a ticket from a shared counter, in its own word), and withdraws it once that command
// has run (or the chunk ended before it could). Every chunk records the counter when it is read. A
// command then waits, before it takes any lock, for announcements of other threads that were made
// before its chunk was read; an announced command too (two BRPOPLPUSH keep their order). Waits go
// only to smaller tickets, so no two threads wait for each other. Waiting is
// bounded (FENCE_MAX_MS): a thread that is itself stuck must not stop the others.
// Cost when no blocking command is in flight: one Atomics.load per chunk and one per command.
import type { Store } from '../store/keyspace';
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

/** Announce a blocking command read by this thread (one at a time: a thread runs one chunk at a time). */
export function announceBlocking(store: Store, threadId: number): void {
  const base = store.L.arrival;
  const t = Atomics.add(store.i32, base + A_SEQ, 1) + 1;
  Atomics.store(store.i32, base + A_THREAD + threadId, t);
  Atomics.add(store.i32, base + A_COUNT, 1);
}

/** The announced command has run (or its chunk ended without running it). */
export function withdrawBlocking(store: Store, threadId: number): void {
  const base = store.L.arrival;
  Atomics.store(store.i32, base + A_THREAD + threadId, 0);
  Atomics.sub(store.i32, base + A_COUNT, 1);
  Atomics.notify(store.i32, base + A_THREAD + threadId);
}

/** True when some thread has a blocking command read and not yet run (the cheap check). */
export function blockingInFlight(store: Store): boolean {
  return Atomics.load(store.i32, store.L.arrival + A_COUNT) !== 0;
}

/** Wait until no other thread holds a blocking command it read before `readSeq` was taken. */
export function fenceOlderBlocking(store: Store, threadId: number, threads: number, readSeq: number): void {
  const i32 = store.i32;
  const base = store.L.arrival + A_THREAD;
  let deadline = 0;
  for (let t = 1; t <= threads; t++) {
    if (t === threadId) continue;
    for (;;) {
      const ticket = Atomics.load(i32, base + t);
      // Tickets are the counter's value after the announcement: not after readSeq means announced
      // before the chunk was read. Compared by difference, so the 32-bit counter may wrap.
      if (ticket === 0 || ((ticket - readSeq) | 0) > 0) break;
      const now = performance.now();
      if (deadline === 0) deadline = now + FENCE_MAX_MS;
      else if (now >= deadline) return;
      Atomics.wait(i32, base + t, ticket, deadline - now);
    }
  }
}

const BLOCK = [0x62, 0x6c, 0x6f, 0x63, 0x6b]; // "block"

/**
 * Does this chunk start with a command that can block? BL*, BR*, BZ* always; XREAD and XREADGROUP
 * only with a BLOCK argument (without one they never wait, and stream consumers call them often).
 * Reads the multibulk headers in place; anything unexpected is "no".
 */
export function startsBlocking(chunk: Buffer): boolean {
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

function isBlockWord(chunk: Buffer, p: number): boolean {
  for (let i = 0; i < 5; i++) if ((chunk[p + i] | 0x20) !== BLOCK[i]) return false;
  return true;
}

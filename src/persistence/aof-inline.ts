// A worker thread writes the AOF itself at the end of an event-loop turn in which it appended to
// the stream, as Redis's beforeSleep calls flushAppendOnlyFile before any reply of the turn
// leaves. Handing the bytes to the writer thread cost two cross-thread wake-ups per turn (the
// worker waking the writer, the writer's durable offset waking the worker back) during which
// the held replies waited; here a worker that gets the AOF write lock (A_WLOCK) writes everything
// the stream holds up to now (every thread's units, in stream order), fsyncs under `always`,
// publishes the durable offset and so releases its own replies at once and notifies the others
// (group commit: whoever holds the lock covers what the others appended meanwhile).
//
// Only the plain case is done here; anything else is left to the writer thread (aof-writer.ts),
// which does all of it as before: a switch point not yet handled, data the writer holds (a
// postponed everysec write, a failed write), a background fsync running (Redis postpones the write
// then), timestamps, DEBUG AOF-FLUSH-SLEEP, and every error: a failed write is truncated away and
// left to the writer (which answers it with -MISCONF, or exits under always); a failed fsync is
// recorded in A_INLINE_FSYNC_ERR and nothing is published, so the writer exits as Redis does.
import * as fs from 'fs';
import { AofFilter, type AofSeg } from './aof-filter';
import { feedAof, type SideCursor } from './aof-side';
import {
  type AofShared, A_WLOCK, A_WLOCK_WORKER, A_INLINE_OK, A_FD, A_READER_SLOT, A_POLICY, A_NO_FSYNC_ON_REWRITE, A_TIMESTAMPS, A_FLUSH_SLEEP_US,
  A_WRITE_ERR, A_PENDING_FSYNC, A_SWITCH_SEQ, A_SWITCH_DONE, A_REWRITE_IN_PROGRESS, A_INLINE_FSYNC_ERR,
  F_AOF_OFF, F_FSYNCED_SIZE, F_LAST_INCR_SIZE, F_CURRENT_SIZE,
} from './aof-state';
import { tryLockWord, unlockWord } from '../store/heap';
import type { Stream } from '../server/stream';

/** This thread's filter: every write here starts and ends at a unit boundary (checked). */
let filter = new AofFilter();
const segs: AofSeg[] = [];
/** Where a write starts in the side records (aof-side.ts); freed up to where it ended once written. */
const side: SideCursor = { tail: 0, skipTo: 0 };

/** Rounds a worker writes for what others appended while it held the lock, before the writer thread takes over. */
const ROUNDS = 3;

/**
 * Write (and under always fsync) what the stream holds now, if this thread can do it here. True
 * when the writer thread need not be woken: everything appended before the call is written (the
 * durable offset published), or another worker holds the lock and looks again once it released
 * it (group commit: under always, one fsync for what every thread appended during the last).
 */
export function inlineWrite(a: AofShared, stream: Stream, durable: () => void): boolean {
  const i32 = a.i32;
  if (Atomics.load(i32, A_INLINE_OK) === 0) return false;
  for (let round = 0; ; round++) {
    if (!tryLockWord(i32, A_WLOCK)) {
      // A worker holds it (set only while one does): it reads the stream's end again after
      // unlocking, and this thread appended before that. The writer thread is woken instead.
      return Atomics.load(i32, A_WLOCK_WORKER) !== 0;
    }
    Atomics.store(i32, A_WLOCK_WORKER, 1);
    let ok: boolean;
    try {
      ok = writeLocked(a, stream);
    } finally {
      Atomics.store(i32, A_WLOCK_WORKER, 0);
      unlockWord(i32, A_WLOCK);
    }
    if (!ok) return false;
    // This thread's replies go now, not after the rounds that cover the others' appends.
    durable();
    if (stream.written() === f64lo(a.f64[F_AOF_OFF])) return true;
    if (round === ROUNDS - 1) return false;
  }
}

function f64lo(x: number): number {
  return x % 4294967296;
}

function writeLocked(a: AofShared, stream: Stream): boolean {
  const i32 = a.i32;
  const f64 = a.f64;
  const policy = Atomics.load(i32, A_POLICY);
  if (Atomics.load(i32, A_INLINE_OK) === 0 || Atomics.load(i32, A_TIMESTAMPS) !== 0 || Atomics.load(i32, A_FLUSH_SLEEP_US) !== 0 ||
      Atomics.load(i32, A_WRITE_ERR) !== 0 || Atomics.load(i32, A_INLINE_FSYNC_ERR) !== 0 ||
      (policy === 1 && Atomics.load(i32, A_PENDING_FSYNC) !== 0)) return false;
  // The end: a unit boundary, read with the switch state under the append lock (a rewrite sets
  // its switch point under it too), so no switch point lies before it unless one is pending.
  if (!stream.tryLockAppend()) return false;
  const end = stream.lastOffset();
  const switching = Atomics.load(i32, A_SWITCH_SEQ) !== Atomics.load(i32, A_SWITCH_DONE);
  stream.unlockAppend();
  if (switching) return false;
  const from = f64[F_AOF_OFF];
  if (end <= from) return true;
  segs.length = 0;
  const ring = stream.ring;
  const n = end - from;
  const at = from % stream.size;
  const first = Math.min(n, stream.size - at);
  side.tail = stream.sideTail();
  side.skipTo = 0;
  feedAof(stream, filter, Buffer.from(ring.buffer, ring.byteOffset + at, first), from, segs, side);
  if (first < n) feedAof(stream, filter, Buffer.from(ring.buffer, ring.byteOffset, n - first), from + first, segs, side);
  if (!filter.atBoundary() || side.skipTo > end) {
    // Never expected (units are whole commands): the writer thread takes it from `from`.
    filter = new AofFilter();
    return false;
  }
  const fd = Atomics.load(i32, A_FD);
  const size0 = f64[F_LAST_INCR_SIZE];
  let written = 0;
  try {
    for (let k = 0; k < segs.length; k++) {
      const b = segs[k].buf;
      let d = 0;
      while (d < b.length) {
        const w = fs.writeSync(fd, b, d, b.length - d);
        d += w;
        written += w;
      }
    }
  } catch {
    // The writer thread writes it again and answers the error as Redis does.
    if (written > 0) {
      try {
        fs.ftruncateSync(fd, size0);
      } catch {
        /* the writer's own write reports the file's state */
      }
    }
    Atomics.store(i32, A_INLINE_OK, 0);
    return false;
  } finally {
    segs.length = 0;
  }
  const size = size0 + written;
  f64[F_LAST_INCR_SIZE] = size;
  f64[F_CURRENT_SIZE] += written;
  f64[F_AOF_OFF] = end;
  stream.consumed(Atomics.load(i32, A_READER_SLOT), end);
  if (side.tail !== stream.sideTail()) stream.sideFree(side.tail);
  if (policy === 2 && !(Atomics.load(i32, A_NO_FSYNC_ON_REWRITE) !== 0 && Atomics.load(i32, A_REWRITE_IN_PROGRESS) !== 0)) {
    // Here, as Redis in beforeSleep (measured: handing the fsync to the writer thread, this
    // thread going on meanwhile, was slower at --threads 1 and no faster at 2, on this 2-core box).
    if (f64[F_FSYNCED_SIZE] !== size) {
      try {
        fs.fdatasyncSync(fd);
      } catch (e) {
        // Not durable and never to be acknowledged: the writer thread exits on it.
        const no = (e as NodeJS.ErrnoException).errno;
        Atomics.store(i32, A_INLINE_FSYNC_ERR, typeof no === 'number' && no !== 0 ? Math.abs(no) : 5);
        Atomics.store(i32, A_INLINE_OK, 0);
        return false;
      }
      f64[F_FSYNCED_SIZE] = size;
    }
  }
  a.publishDurable(end);
  return true;
}

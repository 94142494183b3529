// A stream reader thread that appends everything propagated to a file: the test-only way to
// capture the stream (SHARDIS_CAPTURE_STREAM=/path when starting shardis; the replay test plays
// the file into a real redis-server). It is also the simplest example of a stream consumer:
// the AOF writer and replication links read the same way (read, write out, release).
import { workerData } from 'worker_threads';
import * as fs from 'fs';
import { Stream } from './stream';

const wd = workerData as { stream: SharedArrayBuffer; slot: number; offset: number; path: string };
const reader = new Stream(wd.stream).reader(wd.slot, wd.offset);
const fd = fs.openSync(wd.path, 'a');
const nap = new Int32Array(new SharedArrayBuffer(4));
/** Every read lands here: written out before the next one. */
const scratch = Buffer.allocUnsafeSlow(1 << 20);
/** Below this much unread, a woken reader naps before reading (as the replication thread). */
const COALESCE_BYTES = 64 * 1024;
/**
 * The nap is 1 ms while the stream is quiet and doubles, up to MAX_NAP_MS, while each read finds
 * more than BUSY_BYTES_PER_MS per millisecond napped: under load this thread wakes a few hundred
 * times a second, not a thousand. Each wake-up is what the reader cost the workers (measured at
 * --threads 2, SET P=16: +1.2 us of worker CPU per SET napping 1 ms, +0.35 napping 50 ms: the
 * timer interrupt, the preemption of a worker on a 2-core box and the cache it evicts).
 */
const MAX_NAP_MS = 8;
const BUSY_BYTES_PER_MS = 4096;
let napMs = 1;
for (;;) {
  reader.wait(50);
  // Let a burst pile up (not counted as a waiter, so writers do not notify) before reading:
  // under load a writer then never wakes this thread (a notify that finds a reader asleep costs
  // the writer 6-30 us here), the timer does.
  if (reader.available() < COALESCE_BYTES) Atomics.wait(nap, 0, 0, napMs);
  const chunk = reader.readInto(scratch);
  if (chunk === null) continue;
  napMs = chunk.length >= napMs * BUSY_BYTES_PER_MS ? Math.min(napMs * 2, MAX_NAP_MS) : Math.max(1, napMs >> 1);
  fs.writeSync(fd, chunk);
  reader.release();
}

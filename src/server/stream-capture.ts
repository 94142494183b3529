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
/** Below this much unread, a woken reader naps before reading (as the replication thread). */
const COALESCE_BYTES = 64 * 1024;
for (;;) {
  reader.wait(50);
  // Let a burst pile up (up to 1 ms, not counted as a waiter, so writers do not notify) before
  // reading: under load a writer then wakes this thread about once a millisecond instead of once
  // per event-loop turn (a notify that finds a reader asleep costs the writer 6-30 us here).
  if (reader.available() < COALESCE_BYTES) Atomics.wait(nap, 0, 0, 1);
  const chunk = reader.read();
  if (chunk === null) continue;
  fs.writeSync(fd, chunk);
  reader.release();
}

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
for (;;) {
  reader.wait(50);
  const chunk = reader.read();
  if (chunk === null) continue;
  fs.writeSync(fd, chunk);
  reader.release();
}

// The AOF's reading of the propagation stream with its side records (stream.ts putAofSide): what
// redis.set_repl() sends to the AOF alone is in a side record, not in the stream, and what it
// sends to the replicas alone is in the stream with a record telling the AOF to skip it. Whoever
// writes the AOF (the writer thread, or a worker in aof-inline.ts; one at a time, under the AOF
// write lock) feeds stream bytes through feedAof: at each record's offset the record's bytes go
// out (covering no stream bytes, as an annotation) and the stream's bytes up to its skipTo are
// dropped. Records sit at unit boundaries, so the filter is between commands there.
import type { Stream } from '../server/stream';
import { pushDropped, type AofFilter, type AofSeg } from './aof-filter';

/** Where a consumer stands in the side ring, and the end of the stream bytes it is skipping. */
export interface SideCursor {
  tail: number;
  skipTo: number;
}

export function sideCursor(stream: Stream): SideCursor {
  return { tail: stream.sideTail(), skipTo: 0 };
}

/** filter.feed(chunk, start, out), with the side records that fall in [start, start + chunk.length). */
export function feedAof(stream: Stream, filter: AofFilter, chunk: Buffer, start: number, out: AofSeg[], cur: SideCursor): void {
  const n = chunk.length;
  let p = 0;
  while (p < n) {
    const off = start + p;
    if (cur.skipTo > off) {
      const m = Math.min(n - p, cur.skipTo - off);
      pushDropped(out, off, m);
      p += m;
      continue;
    }
    const rec = stream.sideAt(cur.tail);
    if (rec !== null && rec.at <= off) {
      // A record before this offset is one this consumer started after (never expected): dropped.
      if (rec.at === off) {
        if (rec.payload.length > 0) out.push({ buf: rec.payload, start: off, len: 0 });
        cur.skipTo = rec.skipTo;
      }
      cur.tail = rec.next;
      continue;
    }
    const to = rec === null ? n : Math.min(n, rec.at - start);
    filter.feed(p === 0 && to === n ? chunk : chunk.subarray(p, to), off, out);
    p = to;
  }
}

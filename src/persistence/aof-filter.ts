// What of the propagation stream goes into the AOF (on the AOF writer thread). The stream is
// shared with replication, so it also holds what Redis sends only to replicas: the master's PING
// (replicationCron) and REPLCONF GETACK, and on a replica the PING, REPLCONF and PUBLISH its own
// master sent (proxied as received). Redis's AOF never holds them (only dirty commands reach
// feedAppendOnlyFile), so the writer drops them here, at command boundaries (inside MULTI/EXEC
// only PUBLISH and SPUBLISH, the only ones a transaction propagates).
// It also adds `aof-timestamp-enabled`'s `#TS:<unix time>\r\n` annotations before a command when
// the second changed (genAofTimestampAnnotationIfNeeded), which replicas must never see.
//
// The stream arrives in chunks that may end anywhere (a unit bigger than the ring, a read cap), so
// this is a small incremental RESP scanner: header lines byte by byte, bulk payloads skipped by
// length. A command's first bytes are held only until its name is known (a few dozen bytes, and
// only while the rest of that command is still being appended).
// Output: segments in stream order. `len` stream bytes are covered by each; `buf` is what goes to
// the file (the chunk's bytes; empty for dropped bytes; an annotation covers no stream bytes).

export interface AofSeg {
  /** Bytes for the file. */
  buf: Buffer;
  /** Stream offset of the first stream byte covered. */
  start: number;
  /** Stream bytes covered (buf.length for copied bytes, 0 for an annotation). */
  len: number;
}

const S_ARGC = 0; // at a command boundary: '*'
const S_ARGC_NUM = 1;
const S_BULK = 2; // '$'
const S_BULK_NUM = 3;
const S_BODY = 4; // payload + CRLF
const S_RAW = 5; // not RESP multibulk (never expected): everything passes from here on

const EMPTY = Buffer.alloc(0);
const NAME_MAX = 16;
const KEEP = 0;
const DROP = 1;
/** Flag: a command outside MULTI/EXEC (an annotation may precede it). */
const TOP = 2;

/** Command names (lower case) that only replicas get. */
const DROPPED = ['ping', 'replconf', 'publish', 'spublish'].map((n) => Buffer.from(n));
const N_MULTI = Buffer.from('multi');
const N_EXEC = Buffer.from('exec');
const N_DISCARD = Buffer.from('discard');
const N_PUBLISH = Buffer.from('publish');
const N_SPUBLISH = Buffer.from('spublish');

/** Stream bytes [start, start + len) that go nowhere: joined to the segment before when it is dropped bytes just before. */
export function pushDropped(out: AofSeg[], start: number, len: number): void {
  const last = out.length > 0 ? out[out.length - 1] : null;
  if (last !== null && last.buf.length === 0 && last.len > 0 && last.start + last.len === start) last.len += len;
  else out.push({ buf: EMPTY, start, len });
}

export class AofFilter {
  /** aof-timestamp-enabled. */
  timestamps = false;
  /** aof_cur_timestamp: the second of the last annotation. */
  private lastTs = 0;
  private st = S_ARGC;
  private num = 0;
  private argsLeft = 0;
  private argIndex = 0;
  private bodyLeft = 0;
  private readonly name = Buffer.alloc(NAME_MAX);
  private nameLen = 0;
  private nameGot = 0;
  /** The current command's name is known (KEEP/DROP decided). */
  private decided = true;
  private inMulti = false;
  /** Bytes of the undecided command from earlier chunks, and the stream offset of the first. */
  private held: Buffer[] = [];
  private heldStart = 0;
  private heldBytes = 0;
  // Per feed() call:
  private runFrom = 0;
  private runKind = KEEP;
  private cmdAt = -1;
  private chunk: Buffer = EMPTY;
  private base = 0;
  private out: AofSeg[] = [];
  /** The clock (seconds); a parameter for tests. */
  now: () => number = () => Math.floor(Date.now() / 1000);

  /** Stream bytes taken in but not yet in a segment (an undecided command's first bytes). */
  get holding(): number {
    return this.heldBytes;
  }

  /** Between two commands, outside MULTI, nothing held: another filter may take over from here. */
  atBoundary(): boolean {
    return this.st === S_ARGC && this.decided && !this.inMulti && this.heldBytes === 0;
  }

  /** Scan `chunk` (stream bytes from offset `start`), appending segments to `out`. */
  feed(chunk: Buffer, start: number, out: AofSeg[]): void {
    this.chunk = chunk;
    this.base = start;
    this.out = out;
    this.runFrom = 0;
    this.cmdAt = -1;
    const n = chunk.length;
    // The scanner's state in locals for the byte loop (stored back before any method reads it).
    let st = this.st;
    let num = this.num;
    let i = 0;
    while (i < n) {
      if (st === S_BODY) {
        const m = Math.min(this.bodyLeft, n - i);
        if (!this.decided && this.argIndex === 0) {
          // Copy the name's bytes (the CRLF after it is not part of it).
          const take = Math.min(this.nameLen - this.nameGot, m);
          if (take > 0) {
            chunk.copy(this.name, this.nameGot, i, i + take);
            this.nameGot += take;
          }
        }
        i += m;
        this.bodyLeft -= m;
        if (this.bodyLeft === 0) {
          if (!this.decided && this.argIndex === 0) this.decide(this.classify());
          this.argIndex++;
          st = --this.argsLeft === 0 ? S_ARGC : S_BULK;
        }
        continue;
      }
      const ch = chunk[i];
      if (st === S_ARGC_NUM || st === S_BULK_NUM) {
        i++;
        if (ch >= 0x30 && ch <= 0x39) num = num * 10 + (ch - 0x30);
        else if (ch === 0x0a) {
          if (st === S_ARGC_NUM) {
            if (num <= 0) {
              // *0 or a negative count: nothing follows (never appended); a boundary, kept.
              this.decide(KEEP);
              st = S_ARGC;
            } else {
              this.argsLeft = num;
              this.argIndex = 0;
              st = S_BULK;
            }
          } else {
            this.bodyLeft = num + 2;
            st = S_BODY;
            if (this.argIndex === 0 && !this.decided) {
              this.nameLen = num;
              this.nameGot = 0;
              // Only names of these lengths matter (ping exec multi publish discard replconf spublish).
              if (num !== 4 && num !== 5 && num !== 7 && num !== 8) this.decide(this.inMulti ? KEEP : KEEP | TOP);
            }
          }
        } else if (ch !== 0x0d) {
          this.raw(i - 1);
          st = S_RAW;
          i = n;
        }
      } else if (st === S_ARGC) {
        if (ch !== 0x2a) {
          this.raw(i);
          st = S_RAW;
          i = n;
          continue;
        }
        this.cmdAt = i;
        this.decided = false;
        st = S_ARGC_NUM;
        num = 0;
        i++;
      } else if (st === S_BULK) {
        if (ch !== 0x24) {
          this.raw(i);
          st = S_RAW;
          i = n;
          continue;
        }
        st = S_BULK_NUM;
        num = 0;
        i++;
      } else {
        i = n; // S_RAW
      }
    }
    this.st = st;
    this.num = num;
    // End of the chunk: what is decided goes out; an undecided command's bytes wait.
    if (this.decided || this.st === S_RAW) {
      this.flushRun(n);
    } else {
      const from = this.cmdAt >= 0 ? this.cmdAt : 0;
      this.flushRun(from);
      if (from < n) {
        if (this.heldBytes === 0) this.heldStart = this.base + from;
        this.held.push(Buffer.from(chunk.subarray(from, n)));
        this.heldBytes += n - from;
      }
    }
    this.chunk = EMPTY;
    this.out = [];
  }

  /** Is the name (lower-cased on the fly) this literal? */
  private is(lit: Buffer): boolean {
    if (this.nameLen !== lit.length) return false;
    for (let k = 0; k < lit.length; k++) {
      let ch = this.name[k];
      if (ch >= 0x41 && ch <= 0x5a) ch += 0x20;
      if (ch !== lit[k]) return false;
    }
    return true;
  }

  private classify(): number {
    if (this.is(N_MULTI)) {
      const wasIn = this.inMulti;
      this.inMulti = true;
      return wasIn ? KEEP : KEEP | TOP;
    }
    if (this.inMulti) {
      if (this.is(N_EXEC) || this.is(N_DISCARD)) this.inMulti = false;
      // PUBLISH in a transaction reaches replicas only, as Redis 7.0 propagates it (target
      // PROPAGATE_REPL): MULTI and EXEC stay, so a transaction of PUBLISHes leaves an empty one,
      // as in Redis's AOF.
      else if (this.is(N_PUBLISH) || this.is(N_SPUBLISH)) return DROP;
      return KEEP;
    }
    for (const d of DROPPED) if (this.is(d)) return DROP;
    return KEEP | TOP;
  }

  /** The current command (started at cmdAt, or in held bytes) is KEEP or DROP. */
  private decide(k: number): void {
    this.decided = true;
    const kind = k & 1;
    const ts = (k & TOP) !== 0 && kind === KEEP && this.timestamps && this.tsDue();
    const from = this.cmdAt >= 0 ? this.cmdAt : 0;
    if (this.heldBytes > 0) {
      // Began in an earlier chunk: nothing of this chunk before it is pending (runFrom is 0).
      this.flushRun(0);
      if (ts) this.annotate(this.heldStart);
      const held = this.held.length === 1 ? this.held[0] : Buffer.concat(this.held);
      this.out.push({ buf: kind === KEEP ? held : EMPTY, start: this.heldStart, len: this.heldBytes });
      this.held = [];
      this.heldBytes = 0;
      this.runFrom = 0;
      this.runKind = kind;
      return;
    }
    if (kind === this.runKind && !ts) return;
    this.flushRun(from);
    if (ts) this.annotate(this.base + from);
    this.runFrom = from;
    this.runKind = kind;
  }

  private tsDue(): boolean {
    const t = this.now();
    if (t <= this.lastTs) return false;
    this.lastTs = t;
    return true;
  }

  /** An annotation the next rewrite's base or the file should start with (force). */
  annotation(): Buffer {
    this.lastTs = this.now();
    return Buffer.from(`#TS:${this.lastTs}\r\n`, 'latin1');
  }

  private annotate(at: number): void {
    this.out.push({ buf: Buffer.from(`#TS:${this.lastTs}\r\n`, 'latin1'), start: at, len: 0 });
  }

  /** Emit the run [runFrom, to) of this chunk. */
  private flushRun(to: number): void {
    if (to <= this.runFrom) return;
    const len = to - this.runFrom;
    const start = this.base + this.runFrom;
    if (this.runKind === DROP) pushDropped(this.out, start, len);
    else this.out.push({ buf: this.chunk.subarray(this.runFrom, to), start, len });
    this.runFrom = to;
  }

  /** Not RESP: pass everything through from here on (held bytes first). */
  private raw(at: number): void {
    if (this.heldBytes > 0) {
      const held = this.held.length === 1 ? this.held[0] : Buffer.concat(this.held);
      this.out.push({ buf: held, start: this.heldStart, len: this.heldBytes });
      this.held = [];
      this.heldBytes = 0;
      this.runFrom = 0;
    } else if (this.runKind === DROP) {
      this.flushRun(this.cmdAt >= 0 ? this.cmdAt : at);
    }
    this.runKind = KEEP;
    this.decided = true;
    this.st = S_RAW;
  }
}

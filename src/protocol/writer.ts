// Reply writer: RESP2/RESP3 encoded straight into a shared chunk that is handed to sockets in
// slices (never overwritten once handed off), so a batch of pipelined replies costs one write
// and no copy. One writer per worker thread; each connection flushes its slice after a batch.

const CHUNK = 64 * 1024;
/** A reply bigger than this streams to its socket while it is produced (see grow()). */
const SPILL = 8 * 1024 * 1024;
/** Output buffers from this size up are counted in bigOutput (server/output-gc.ts). */
const BIG = 1024 * 1024;

/** Bytes of big output buffers this thread allocated since its last collection (output-gc.ts). */
export const bigOutput = { bytes: 0 };
const CRLF = 0x0a0d;

const C_OK = Buffer.from('+OK\r\n');
const C_NIL = Buffer.from('$-1\r\n');
const C_NILARRAY = Buffer.from('*-1\r\n');
const C_NULL3 = Buffer.from('_\r\n');

const deferScratch = Buffer.alloc(32);
const intCache: Buffer[] = [];
for (let i = 0; i < 10000; i++) intCache.push(Buffer.from(`:${i}\r\n`));

/** Decimal digits of a non-negative safe integer. Counters are nearly always int32: compares. */
export function decimalLength(n: number): number {
  if (n <= 0x7fffffff) {
    return n < 10 ? 1 : n < 100 ? 2 : n < 1000 ? 3 : n < 10000 ? 4 : n < 100000 ? 5 : n < 1000000 ? 6 : n < 10000000 ? 7 : n < 100000000 ? 8 : n < 1000000000 ? 9 : 10;
  }
  let len = 1;
  for (let t = n; t >= 10; t = Math.floor(t / 10)) len++;
  return len;
}

/**
 * Write the digits of non-negative safe integer n into b, its last digit at `last`. Below 2^31
 * by int32 arithmetic (a multiply per digit): a double's % or division and floor cost more in V8.
 */
export function putDecimal(b: Uint8Array, last: number, n: number): void {
  let p = last;
  if (n <= 0x7fffffff) {
    let y = n | 0;
    do {
      const q = (y / 10) | 0;
      b[p--] = 0x30 + (y - q * 10);
      y = q;
    } while (y > 0);
    return;
  }
  do {
    const q = Math.floor(n / 10);
    b[p--] = 0x30 + (n - q * 10);
    n = q;
  } while (n > 0);
}

export class ReplyWriter {
  buf: Buffer = Buffer.allocUnsafe(CHUNK);
  pos = 0;
  /** Start of the bytes not yet handed to a socket. */
  private start = 0;
  resp = 2;
  /** Called with the text of every error reply (INFO errorstats counts by its first word). */
  errorHook: ((s: string) => void) | null = null;
  // Output limits of the client whose commands are running (set by Client per batch, cleared by
  // take()). Checked only where the buffer must grow, so the common write pays nothing for them.
  /** Bytes the current client may still add before its client-output-buffer-limit hard limit. */
  room = Infinity;
  /**
   * The current client passed its hard limit: what it had pending is dropped, what its command
   * still writes is dropped too, and the client is closed at flush (Redis's CLIENT_CLOSE_ASAP).
   * Loops that can write without end (HRANDFIELD, KEYS...) stop when they see it.
   */
  overLimit = false;
  /** Where a reply past SPILL bytes goes while it is produced (the client's socket), or null. */
  sink: ((b: Buffer) => void) | null = null;
  /** Bytes of the current client's output handed to sink since the last take (marks count them). */
  private spilled = 0;
  /** Deferred-length marks still open (deferMark): bytes after them cannot stream out yet. */
  private deferred = 0;

  /** Make room for n more bytes. Bytes already written but not taken move to a new chunk. */
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.grow(n);
  }

  private grow(n: number): void {
    let pending = this.pos - this.start;
    if (this.spilled + pending + n > this.room) {
      // Past the hard limit: drop the client's pending output (it gets none of it, as in Redis)
      // and keep reusing this buffer for whatever the command still writes.
      this.overLimit = true;
      this.pos = this.start;
      pending = 0;
      if (this.pos + n <= this.buf.length) return;
    } else if (pending >= SPILL && this.sink !== null && this.deferred === 0) {
      // A big reply goes out while it is produced: never one buffer of the whole reply (Buffers
      // end at 4 GiB, and a reply of gigabytes would be held twice).
      const out = this.buf.subarray(this.start, this.pos);
      this.spilled += pending;
      this.buf = Buffer.allocUnsafe(Math.max(SPILL, n) + CHUNK);
      bigOutput.bytes += this.buf.length;
      this.start = this.pos = 0;
      this.sink(out);
      return;
    }
    // Grow geometrically: a big reply written element by element must not copy itself each time;
    // but not far past the hard limit, which is checked again at the next growth.
    let size = Math.max(CHUNK, pending + n, pending * 2);
    const left = this.room - this.spilled;
    if (size > left + CHUNK) size = Math.max(CHUNK, pending + n, left + CHUNK);
    const nb = Buffer.allocUnsafe(size);
    if (size >= BIG) bigOutput.bytes += size;
    this.buf.copy(nb, 0, this.start, this.pos);
    this.buf = nb;
    this.start = 0;
    this.pos = pending;
  }

  /** Take everything written since the last take (null if nothing); ends the client's limits. */
  take(): Buffer | null {
    this.room = Infinity;
    this.overLimit = false;
    this.sink = null;
    this.spilled = 0;
    this.deferred = 0;
    if (this.pos === this.start) return null;
    const out = this.buf.subarray(this.start, this.pos);
    this.start = this.pos;
    if (this.buf.length - this.pos < 512) {
      this.buf = Buffer.allocUnsafe(CHUNK);
      this.pos = 0;
      this.start = 0;
    }
    return out;
  }

  /** Drop what was written since the last take (a reply to a client that went away). */
  discard(): void {
    this.pos = this.start;
  }

  /** Bytes written since the last take (including those streamed out meanwhile). */
  pending(): number {
    return this.pos - this.start + this.spilled;
  }

  /** Where the current reply starts: lets a caller rewind (e.g. to replace a reply). */
  mark(): number {
    return this.pos - this.start + this.spilled;
  }

  /** A mark for arrayAt: what follows is held back from streaming until arrayAt is called. */
  deferMark(): number {
    this.deferred++;
    return this.mark();
  }

  /** First byte written at a mark, or -1 if nothing was (or it already left). */
  byteAt(mark: number): number {
    const at = this.start + mark - this.spilled;
    return at >= this.start && at < this.pos ? this.buf[at] : -1;
  }

  /** The bytes written since a mark (a view: copy it before writing more). */
  since(mark: number): Buffer {
    return this.buf.subarray(Math.max(this.start, this.start + mark - this.spilled), this.pos);
  }

  /** Take back what was written since mark (never forward: a dropped reply stays dropped). */
  rewind(mark: number): void {
    const at = this.start + mark - this.spilled;
    if (at < this.start) {
      // Part of what is taken back already went out: the stream cannot be mended; close it.
      this.overLimit = true;
      this.pos = this.start;
    } else if (at < this.pos) {
      this.pos = at;
    }
  }

  raw(s: string): void {
    this.ensure(s.length * 3);
    this.pos += this.buf.latin1Write(s, this.pos);
  }

  rawBytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** The first n bytes of b (short ones by a loop: no subarray). */
  rawRange(b: Uint8Array, n: number): void {
    this.ensure(n);
    const d = this.buf;
    const p = this.pos;
    if (n <= 64) for (let i = 0; i < n; i++) d[p + i] = b[i];
    else d.set(n === b.length ? b : b.subarray(0, n), p);
    this.pos = p + n;
  }

  /** Copy the bytes written since a mark to the start of dst: their length, or -1 if too many. */
  copySince(mark: number, dst: Uint8Array): number {
    const from = Math.max(this.start, this.start + mark - this.spilled);
    const n = this.pos - from;
    if (n > dst.length) return -1;
    const b = this.buf;
    if (n <= 64) for (let i = 0; i < n; i++) dst[i] = b[from + i];
    else dst.set(b.subarray(from, this.pos));
    return n;
  }

  simple(s: string): void {
    const n = s.length;
    this.ensure(n * 3 + 3);
    const b = this.buf;
    let p = this.pos;
    b[p++] = 0x2b;
    // Status replies are short ASCII: a byte loop; anything else takes the UTF-8 writer.
    let ascii = n <= 64;
    for (let i = 0; ascii && i < n; i++) {
      const ch = s.charCodeAt(i);
      if (ch > 127) ascii = false;
      else b[p + i] = ch;
    }
    p += ascii ? n : b.utf8Write(s, p);
    b[p++] = 13;
    b[p++] = 10;
    this.pos = p;
  }

  /** Short constant replies: a byte loop beats a native string write at this size. */
  private constant(c: Uint8Array): void {
    this.ensure(c.length);
    const b = this.buf;
    let p = this.pos;
    for (let i = 0; i < c.length; i++) b[p++] = c[i];
    this.pos = p;
  }

  ok(): void {
    this.constant(C_OK);
  }

  /**
   * Error reply; text includes its code ("ERR ...", "WRONGTYPE ..."). CR and LF become spaces, as
   * Redis's addReplyErrorFormat does: errors echo client input and must never break framing.
   * With latin1, s is a binary string (one char per byte): client bytes are echoed unchanged.
   */
  error(s: string, latin1 = false): void {
    if (this.errorHook !== null) this.errorHook(s);
    this.ensure(s.length * 3 + 3);
    const b = this.buf;
    b[this.pos++] = 0x2d;
    const from = this.pos;
    // latin1: s holds raw bytes of client input, one char per byte (echoed as Redis echoes them).
    const end = from + (latin1 ? b.latin1Write(s, from) : b.utf8Write(s, from));
    // UTF-8 continuation bytes are >= 0x80: a byte scan finds only real CR/LF.
    for (let i = from; i < end; i++) if (b[i] === 13 || b[i] === 10) b[i] = 0x20;
    b[end] = 13;
    b[end + 1] = 10;
    this.pos = end + 2;
  }

  int(n: number): void {
    if (n >= 0 && n < 10000 && Number.isInteger(n)) {
      this.constant(intCache[n]);
      return;
    }
    if (Number.isSafeInteger(n)) {
      // Digits by hand (list lengths, counters...): a template string + latin1Write costs ~5x more.
      this.ensure(24);
      const b = this.buf;
      let p = this.pos;
      b[p++] = 0x3a;
      if (n < 0) {
        b[p++] = 0x2d;
        n = -n;
      }
      const len = decimalLength(n);
      putDecimal(b, p + len - 1, n);
      p += len;
      b[p] = 0x0d;
      b[p + 1] = 0x0a;
      this.pos = p + 2;
      return;
    }
    this.raw(`:${n}\r\n`);
  }

  bigint(n: bigint): void {
    this.raw(`:${n}\r\n`);
  }

  private header(type: number, n: number): void {
    this.ensure(24);
    const b = this.buf;
    b[this.pos++] = type;
    let p = this.pos;
    if (n >= 0 && n < 100000) {
      // Digits by hand: String(n) + latin1Write costs ~30x more, once per bulk of a big reply.
      if (n >= 10000) b[p++] = 0x30 + ((n / 10000) | 0);
      if (n >= 1000) b[p++] = 0x30 + (((n / 1000) | 0) % 10);
      if (n >= 100) b[p++] = 0x30 + (((n / 100) | 0) % 10);
      if (n >= 10) b[p++] = 0x30 + (((n / 10) | 0) % 10);
      b[p++] = 0x30 + (n % 10);
    } else {
      p += b.latin1Write(String(n), p);
    }
    b[p] = 0x0d;
    b[p + 1] = 0x0a;
    this.pos = p + 2;
  }

  /** Bulk string from bytes (copied once, from wherever they live: e.g. the shared heap). */
  bulk(v: Uint8Array): void {
    this.header(0x24, v.length);
    this.ensure(v.length + 2);
    this.buf.set(v, this.pos);
    this.pos += v.length;
    this.buf.writeUInt16LE(CRLF, this.pos);
    this.pos += 2;
  }

  /** Bulk string copied directly from a range of a Uint8Array (no view object). */
  bulkRange(src: Uint8Array, start: number, end: number): void {
    const n = end - start;
    this.header(0x24, n);
    this.ensure(n + 2);
    const b = this.buf;
    if (n < 64) {
      let q = this.pos;
      for (let i = start; i < end; i++) b[q++] = src[i];
    } else {
      b.set(src.subarray(start, end), this.pos);
    }
    const p = this.pos + n;
    b[p] = 0x0d;
    b[p + 1] = 0x0a;
    this.pos = p + 2;
  }

  bulkStr(s: string): void {
    const n = Buffer.byteLength(s);
    this.header(0x24, n);
    this.ensure(n + 2);
    this.pos += this.buf.utf8Write(s, this.pos);
    this.buf.writeUInt16LE(CRLF, this.pos);
    this.pos += 2;
  }

  /** Null bulk (RESP2 $-1) or RESP3 null. */
  nil(): void {
    this.constant(this.resp === 3 ? C_NULL3 : C_NIL);
  }

  /** Null array (RESP2 *-1) or RESP3 null. */
  nilArray(): void {
    this.constant(this.resp === 3 ? C_NULL3 : C_NILARRAY);
  }

  array(n: number): void {
    this.header(0x2a, n);
  }

  /**
   * Redis's deferred length: put an array header for n elements at `mark` (from deferMark()), ahead of
   * the elements written since, when the count is only known after writing them.
   */
  arrayAt(mark: number, n: number): void {
    this.headerAt(mark, 0x2a, n);
  }

  /** arrayAt for a map of n pairs (RESP3 `%n`, RESP2 an array of 2n), as setDeferredMapLen. */
  mapAt(mark: number, n: number): void {
    if (this.resp === 3) this.headerAt(mark, 0x25, n);
    else this.headerAt(mark, 0x2a, n * 2);
  }

  private headerAt(mark: number, type: number, n: number): void {
    const rel = mark - this.spilled;
    const bodyLen = this.pos - this.start - rel;
    if (this.overLimit || rel < 0 || bodyLen < 0) {
      // Dropped over the limit (or, without deferMark, already streamed): nothing to patch.
      if (this.deferred > 0) this.deferred--;
      this.rewind(mark);
      return;
    }
    this.header(type, n); // may move the pending bytes to a new chunk: offsets below are fresh
    const at = this.start + rel;
    const hdrLen = this.pos - at - bodyLen;
    const b = this.buf;
    b.copy(deferScratch, 0, at + bodyLen, this.pos);
    b.copy(b, at + hdrLen, at, at + bodyLen);
    deferScratch.copy(b, at, 0, hdrLen);
    if (this.deferred > 0) this.deferred--;
  }

  /** RESP3 map (RESP2: flat array of 2n). */
  map(n: number): void {
    if (this.resp === 3) this.header(0x25, n);
    else this.header(0x2a, n * 2);
  }

  /** RESP3 set (RESP2: array). */
  set(n: number): void {
    this.header(this.resp === 3 ? 0x7e : 0x2a, n);
  }

  push(n: number): void {
    this.header(this.resp === 3 ? 0x3e : 0x2a, n);
  }

  /** A double: RESP3 `,` type, RESP2 bulk string, formatted as Redis does. */
  double(d: number): void {
    const s = formatDouble(d);
    if (this.resp === 3) this.raw(`,${s}\r\n`);
    else this.bulkStr(s);
  }

  bool(v: boolean): void {
    if (this.resp === 3) this.raw(v ? '#t\r\n' : '#f\r\n');
    else this.int(v ? 1 : 0);
  }

  verbatim(s: string): void {
    if (this.resp === 3) {
      const n = Buffer.byteLength(s) + 4;
      this.raw(`=${n}\r\ntxt:`);
      this.ensure(n + 2);
      this.pos += this.buf.utf8Write(s, this.pos);
      this.buf.writeUInt16LE(CRLF, this.pos);
      this.pos += 2;
    } else {
      this.bulkStr(s);
    }
  }
}

/** Redis's %.17g formatting of doubles for replies (with inf / -inf). */
export function formatDouble(d: number): string {
  if (d === Infinity) return 'inf';
  if (d === -Infinity) return '-inf';
  if (Number.isNaN(d)) return 'nan';
  return g17(d);
}

/** C's printf("%.17g"). */
export function g17(d: number): string {
  if (d === 0) return Object.is(d, -0) ? '-0' : '0';
  // Safe integers have at most 16 digits, all printed exactly by %.17g: String() gives the same text.
  if (Number.isSafeInteger(d)) return String(d);
  const ex = d.toExponential(16);
  const ei = ex.indexOf('e');
  const x = parseInt(ex.slice(ei + 1), 10);
  if (x < -4 || x >= 17) {
    const m = stripZeros(ex.slice(0, ei));
    const ax = Math.abs(x);
    return `${m}e${x < 0 ? '-' : '+'}${ax < 10 ? '0' : ''}${ax}`;
  }
  return stripZeros(d.toFixed(16 - x));
}

function stripZeros(s: string): string {
  if (s.indexOf('.') < 0) return s;
  let e = s.length;
  while (s.charCodeAt(e - 1) === 0x30) e--;
  if (s.charCodeAt(e - 1) === 0x2e) e--;
  return s.slice(0, e);
}

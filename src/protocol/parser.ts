// Incremental RESP request parser: multibulk (`*N\r\n$L\r\n...`) and inline commands, fed with
// socket chunks of any size. Arguments are zero-copy views of the chunk when a whole bulk is in it;
// a big bulk that spans chunks is gathered into one buffer of its exact size (no repeated concat).
// What it accepts and refuses, and the error texts, follow Redis 7.0's processMultibulkBuffer /
// processInlineBuffer and string2ll byte for byte (headers end at the first CR, the byte after it
// is skipped unread; lengths with leading zeros or "-0" are refused).

import { BufferView } from './bufview';

const CR = 13;
const LF = 10;
const INLINE_MAX = 64 * 1024;
const BIG_BULK = 32 * 1024;
/** Above this many arguments a multibulk keeps them as offsets until it is complete. */
const OFFSET_MODE = 1024;

export class ProtocolError extends Error {}

export interface ParserLimits {
  /** proto-max-bulk-len; the object is shared per thread and updated by CONFIG SET. */
  protoMaxBulkLen: number;
}

export class RequestParser {
  private rest: Buffer | null = null;
  private argv: Buffer[] = [];
  private argc = 0;
  private need = 0;          // args still expected in the current multibulk (0: none started)
  private bulkLen = -1;      // length of the bulk being read, -1 when expecting its header
  private big: Buffer | null = null;
  private bigFill = 0;
  // Offset mode, for a multibulk of more than OFFSET_MODE arguments: each argument is an
  // (offset, length) pair into a retained chunk, and becomes a Buffer view only once the command
  // is complete. An unfinished `*40000000` costs its bytes plus 8 bytes per argument, not a JS
  // object (~100 bytes) per argument.
  private offs: Int32Array | null = null;
  private chunks: Buffer[] = [];
  /** Index of the first argument held in each retained chunk. */
  private chunkFirst: number[] = [];
  /** Bytes buffered and not yet parsed (client-query-buffer-limit). */
  pendingBytes = 0;
  /** Bytes of the arguments read so far of an unfinished multibulk (CLIENT LIST argv-mem). */
  partialArgBytes = 0;

  /** An empty inline line was read (a replica's newline while it loads refreshes its ACK time). */
  onEmptyLine: (() => void) | null = null;

  /** authenticated: unauthenticated clients may send at most 10 args of at most 16 KiB (Redis 7.0). */
  constructor(
    private readonly limits: ParserLimits,
    private readonly authenticated: () => boolean,
  ) {}

  /**
   * Bytes allocated for a big bulk still arriving and not filled yet (it is allocated whole when
   * its length is read, as Redis sizes its query buffer): CLIENT LIST qbuf-free, and tot-mem.
   */
  bulkSpareBytes(): number {
    return this.big === null ? 0 : this.big.length - this.bigFill;
  }

  /** Nothing of a command is held: the next chunk starts with a new command. */
  atCommandStart(): boolean {
    return this.rest === null && this.need === 0 && this.big === null && this.offs === null;
  }

  /** Arguments of the multibulk being read (CLIENT LIST's argv-mem and the like). */
  partialArgs(): number {
    return this.argc;
  }

  /**
   * Feed a chunk; calls onCommand for each complete command. Throws ProtocolError (message is
   * the text after "ERR ") on malformed input; commands before the error are delivered first.
   */
  feed(chunk: Buffer, onCommand: (argv: Buffer[], inline: boolean) => boolean): void {
    let buf = chunk;
    let p = 0;
    if (this.big !== null) {
      const take = Math.min(this.bulkLen + 2 - this.bigFill, buf.length);
      buf.copy(this.big, this.bigFill, 0, take);
      this.bigFill += take;
      p = take;
      if (this.bigFill < this.bulkLen + 2) {
        this.pendingBytes = this.bigFill;
        return;
      }
      const big = this.big;
      this.big = null;
      this.bulkLen = -1;
      this.addArg(big, 0, big.length - 2);
      this.partialArgBytes += big.length - 2;
      if (--this.need === 0) {
        if (!onCommand(this.complete(), false)) { this.stash(buf, p); return; }
      }
    } else if (this.rest !== null) {
      buf = Buffer.concat([this.rest, chunk]);
      this.rest = null;
    }
    const n = buf.length;
    const ab = buf.buffer;
    const base = buf.byteOffset;
    while (p < n) {
      if (this.need === 0) {
        // Start of a new command.
        if (buf[p] === 0x2a) {
          const cr = findCR(buf, p, n);
          if (cr < 0) {
            if (n - p > INLINE_MAX) throw new ProtocolError('Protocol error: too big mbulk count string');
            this.stash(buf, p);
            return;
          }
          // The line ends at CR; the byte after it must have arrived (it is skipped unread).
          if (cr + 1 >= n) { this.stash(buf, p); return; }
          const count = string2ll(buf, p + 1, cr);
          if (Number.isNaN(count) || count > 2147483647) throw new ProtocolError('Protocol error: invalid multibulk length');
          if (count > 10 && !this.authenticated()) throw new ProtocolError('Protocol error: unauthenticated multibulk length');
          p = cr + 2;
          if (count <= 0) continue;
          this.need = count;
          this.argc = 0;
          this.bulkLen = -1;
          if (count <= OFFSET_MODE) {
            // Sized once from the header: no growth while the arguments arrive.
            this.argv = new Array<Buffer>(count);
          } else {
            this.offs = new Int32Array(2 * OFFSET_MODE);
          }
          continue;
        }
        // Inline command: a line of space separated words.
        const eol = findLF(buf, p, n);
        if (eol < 0) {
          if (n - p > INLINE_MAX) throw new ProtocolError('Protocol error: too big inline request');
          this.stash(buf, p);
          return;
        }
        const end = eol > p && buf[eol - 1] === CR ? eol - 1 : eol;
        const args = splitInline(buf, p, end);
        p = eol + 1;
        if (args === null) throw new ProtocolError('Protocol error: unbalanced quotes in request');
        if (args.length === 0) {
          if (this.onEmptyLine !== null) this.onEmptyLine();
          continue;
        }
        if (!onCommand(args, true)) { this.stash(buf, p); return; }
        continue;
      }
      if (this.bulkLen < 0) {
        const cr = findCR(buf, p, n);
        if (cr < 0) {
          if (n - p > INLINE_MAX) throw new ProtocolError('Protocol error: too big bulk count string');
          this.stash(buf, p);
          return;
        }
        if (cr + 1 >= n) { this.stash(buf, p); return; }
        if (buf[p] !== 0x24) throw new ProtocolError(expectedDollar(buf[p]));
        const len = string2ll(buf, p + 1, cr);
        if (Number.isNaN(len) || len < 0 || len > this.limits.protoMaxBulkLen) throw new ProtocolError('Protocol error: invalid bulk length');
        if (len > 16384 && !this.authenticated()) throw new ProtocolError('Protocol error: unauthenticated bulk length');
        this.bulkLen = len;
        p = cr + 2;
      }
      const len = this.bulkLen;
      if (n - p >= len + 2) {
        // The two bytes after the bulk are skipped unread, as Redis does.
        if (this.offs === null) this.argv[this.argc++] = new BufferView(ab, base + p, len);
        else this.addArg(buf, p, len);
        p += len + 2;
        this.bulkLen = -1;
        this.partialArgBytes += len;
        if (--this.need === 0) {
          if (!onCommand(this.complete(), false)) { this.stash(buf, p); return; }
        }
        continue;
      }
      if (len >= BIG_BULK) {
        this.big = Buffer.allocUnsafe(len + 2);
        this.bigFill = n - p;
        buf.copy(this.big, 0, p, n);
        this.pendingBytes = this.bigFill;
        return;
      }
      this.stash(buf, p);
      return;
    }
    this.pendingBytes = 0;
  }

  /** One argument, as a view or (offset mode) as an offset into a retained chunk. */
  private addArg(buf: Buffer, off: number, len: number): void {
    let offs = this.offs;
    if (offs === null) {
      this.argv[this.argc++] = new BufferView(buf.buffer, buf.byteOffset + off, len);
      return;
    }
    const chunks = this.chunks;
    if (chunks.length === 0 || chunks[chunks.length - 1] !== buf) {
      chunks.push(buf);
      this.chunkFirst.push(this.argc);
    }
    const i = this.argc * 2;
    if (i + 2 > offs.length) {
      // Doubling, but never past what the header announced.
      const grown = new Int32Array(Math.min(offs.length * 2, (this.argc + this.need) * 2));
      grown.set(offs);
      offs = this.offs = grown;
    }
    offs[i] = off;
    offs[i + 1] = len;
    this.argc++;
  }

  /** The arguments of the command just completed (offset mode: made into views now). */
  private complete(): Buffer[] {
    this.partialArgBytes = 0;
    const offs = this.offs;
    if (offs === null) {
      const argv = this.argv;
      this.argv = [];
      return argv;
    }
    const argc = this.argc;
    const argv = new Array<Buffer>(argc);
    const chunks = this.chunks;
    const first = this.chunkFirst;
    let ci = 0;
    let ch = chunks[0];
    let ab = ch.buffer;
    let base = ch.byteOffset;
    for (let i = 0; i < argc; i++) {
      if (ci + 1 < chunks.length && first[ci + 1] === i) {
        ch = chunks[++ci];
        ab = ch.buffer;
        base = ch.byteOffset;
      }
      argv[i] = new BufferView(ab, base + offs[2 * i], offs[2 * i + 1]);
    }
    this.offs = null;
    this.chunks = [];
    this.chunkFirst = [];
    return argv;
  }

  /** Keep unparsed bytes for the next feed (or for resume() after a pause). */
  private stash(buf: Buffer, p: number): void {
    if (p < buf.length) {
      this.rest = buf.subarray(p);
      this.pendingBytes = this.rest.length;
    } else {
      this.pendingBytes = 0;
    }
  }

  /** Keep input of a paused client for later (resume parses it). */
  hold(chunk: Buffer): void {
    // A client pauses only between commands, so everything held starts at a command boundary.
    this.rest = this.rest === null ? chunk : Buffer.concat([this.rest, chunk]);
    this.pendingBytes = this.rest.length;
  }

  /** Anything buffered (a paused client's pipeline)? */
  hasPending(): boolean {
    return this.rest !== null && this.rest.length > 0;
  }

  /** Parse what was stashed while paused. */
  resume(onCommand: (argv: Buffer[], inline: boolean) => boolean): void {
    const r = this.rest;
    if (r === null) return;
    this.rest = null;
    this.feed(r, onCommand);
  }
}

/** "expected '$', got '%c'" as Redis formats it: a NUL ends the C string the text is built in. */
function expectedDollar(c: number): string {
  if (c === 0) return "Protocol error: expected '$', got '";
  return `Protocol error: expected '$', got '${String.fromCharCode(c)}'`;
}

/**
 * The next CR, as Redis's strchr(querybuf + pos, '\r') finds it: a NUL byte ends the search (the
 * query buffer is a C string to strchr), so a header with a NUL in it is never complete.
 */
function findCR(buf: Buffer, p: number, n: number): number {
  for (let i = p; i < n; i++) {
    const c = buf[i];
    if (c === CR) return i;
    if (c === 0) return -1;
  }
  return -1;
}

/** The next LF (inline commands: strchr(querybuf + pos, '\n'), which also stops at a NUL). */
function findLF(buf: Buffer, p: number, n: number): number {
  for (let i = p; i < n; i++) {
    const c = buf[i];
    if (c === LF) return i;
    if (c === 0) return -1;
  }
  return -1;
}

const LL_MAX = 9223372036854775807n;

/**
 * Redis's string2ll over buf[start, end): NaN where it fails. No sign but '-', no leading zeros
 * ("0" alone is fine, "-0" is not), only digits, fewer than 21 bytes, within a signed 64-bit.
 */
export function string2ll(buf: Uint8Array, start: number, end: number): number {
  const len = end - start;
  if (len <= 0 || len >= 21) return NaN;
  if (len === 1 && buf[start] === 0x30) return 0;
  let i = start;
  const neg = buf[i] === 0x2d;
  if (neg && ++i === end) return NaN;
  let c = buf[i] - 0x30;
  if (c < 1 || c > 9) return NaN;
  let v = c;
  for (i++; i < end; i++) {
    c = buf[i] - 0x30;
    if (c < 0 || c > 9) return NaN;
    v = v * 10 + c;
  }
  if (v >= 9e18) {
    // Near the 64-bit edge a double is not exact: decide on the exact value.
    let d = 0n;
    for (let j = neg ? start + 1 : start; j < end; j++) d = d * 10n + BigInt(buf[j] - 0x30);
    if (d > (neg ? LL_MAX + 1n : LL_MAX)) return NaN;
  }
  return neg ? -v : v;
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}

function hexVal(c: number): number {
  if (c <= 0x39) return c - 0x30;
  return (c | 0x20) - 0x61 + 10;
}

/** sdssplitargs: words, "double quoted" with escapes, 'single quoted'. null on unbalanced quotes. */
export function splitInline(buf: Uint8Array, start: number, end: number): Buffer[] | null {
  const out: Buffer[] = [];
  let p = start;
  const isSpace = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0b || c === 0x0c;
  for (;;) {
    while (p < end && isSpace(buf[p])) p++;
    if (p >= end) return out;
    const cur: number[] = [];
    let inq = false;
    let insq = false;
    let done = false;
    while (!done) {
      if (inq) {
        if (p >= end) return null;
        const c = buf[p];
        if (c === 0x5c && p + 3 < end && buf[p + 1] === 0x78 && isHex(buf[p + 2]) && isHex(buf[p + 3])) {
          cur.push(hexVal(buf[p + 2]) * 16 + hexVal(buf[p + 3]));
          p += 3;
        } else if (c === 0x5c && p + 1 < end) {
          p++;
          const e = buf[p];
          cur.push(e === 0x6e ? 10 : e === 0x72 ? 13 : e === 0x74 ? 9 : e === 0x62 ? 8 : e === 0x61 ? 7 : e);
        } else if (c === 0x22) {
          if (p + 1 < end && !isSpace(buf[p + 1])) return null;
          done = true;
        } else {
          cur.push(c);
        }
      } else if (insq) {
        if (p >= end) return null;
        const c = buf[p];
        if (c === 0x5c && p + 1 < end && buf[p + 1] === 0x27) {
          p++;
          cur.push(0x27);
        } else if (c === 0x27) {
          if (p + 1 < end && !isSpace(buf[p + 1])) return null;
          done = true;
        } else {
          cur.push(c);
        }
      } else {
        if (p >= end) { done = true; break; }
        const c = buf[p];
        if (isSpace(c)) done = true;
        else if (c === 0x22) inq = true;
        else if (c === 0x27) insq = true;
        else cur.push(c);
      }
      if (p < end) p++;
    }
    out.push(Buffer.from(cur));
  }
}

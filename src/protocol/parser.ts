// Incremental RESP request parser: multibulk (`*N\r\n$L\r\n...`) and inline commands, fed with
// socket chunks of any size. Arguments are zero-copy views of the chunk when a whole bulk is in it;
// a big bulk that spans chunks is gathered into one buffer of its exact size (no repeated concat).

import { BufferView } from './bufview';

const CR = 13;
const LF = 10;
const INLINE_MAX = 64 * 1024;
const BIG_BULK = 32 * 1024;

export class ProtocolError extends Error {}

export interface ParserLimits {
  protoMaxBulkLen: number;
  /** Unauthenticated clients may send at most 10 args of at most 16 KiB (Redis 7.0 rule). */
  authenticated: () => boolean;
}

export class RequestParser {
  private rest: Buffer | null = null;
  private argv: Buffer[] = [];
  private argc = 0;
  private need = 0;          // args still expected in the current multibulk (0: none started)
  private bulkLen = -1;      // length of the bulk being read, -1 when expecting its header
  private big: Buffer | null = null;
  private bigFill = 0;
  private inlineCmd = false;
  /** Bytes buffered and not yet parsed (client-query-buffer-limit). */
  pendingBytes = 0;

  constructor(private readonly limits: ParserLimits) {}

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
      this.argv[this.argc++] = this.big.subarray(0, this.bulkLen);
      this.big = null;
      this.bulkLen = -1;
      this.need--;
      if (this.need === 0) {
        const argv = this.argv;
        this.argv = [];
        if (!onCommand(argv, false)) { this.stash(buf, p); return; }
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
          const eol = findLF(buf, p, n);
          if (eol < 0) {
            if (n - p > INLINE_MAX) throw new ProtocolError('Protocol error: too big mbulk count string');
            this.stash(buf, p);
            return;
          }
          const count = parseLen(buf, p + 1, eol - 1);
          if (Number.isNaN(count) || count > 2147483647) throw new ProtocolError('Protocol error: invalid multibulk length');
          if (count > 10 && !this.limits.authenticated()) throw new ProtocolError('Protocol error: unauthenticated multibulk length');
          p = eol + 1;
          if (count <= 0) continue;
          this.need = count;
          // Sized once from the header: no growth while the arguments arrive.
          this.argv = count <= 1024 ? new Array<Buffer>(count) : [];
          this.argc = 0;
          this.bulkLen = -1;
          this.inlineCmd = false;
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
        if (args.length === 0) continue;
        if (!onCommand(args, true)) { this.stash(buf, p); return; }
        continue;
      }
      if (this.bulkLen < 0) {
        if (buf[p] !== 0x24) {
          throw new ProtocolError(`Protocol error: expected '$', got '${String.fromCharCode(buf[p])}'`);
        }
        const eol = findLF(buf, p, n);
        if (eol < 0) {
          if (n - p > INLINE_MAX) throw new ProtocolError('Protocol error: too big bulk count string');
          this.stash(buf, p);
          return;
        }
        const len = parseLen(buf, p + 1, eol - 1);
        if (Number.isNaN(len) || len < 0 || len > this.limits.protoMaxBulkLen) throw new ProtocolError('Protocol error: invalid bulk length');
        if (len > 16384 && !this.limits.authenticated()) throw new ProtocolError('Protocol error: unauthenticated bulk length');
        this.bulkLen = len;
        p = eol + 1;
      }
      const len = this.bulkLen;
      if (n - p >= len + 2) {
        this.argv[this.argc++] = new BufferView(ab, base + p, len);
        p += len + 2;
        this.bulkLen = -1;
        if (--this.need === 0) {
          const argv = this.argv;
          this.argv = [];
          if (!onCommand(argv, false)) { this.stash(buf, p); return; }
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

/** Position of the next LF: a JS loop beats Buffer.indexOf's native call for short headers. */
function findLF(buf: Buffer, p: number, n: number): number {
  for (let i = p; i < n; i++) if (buf[i] === LF) return i;
  return -1;
}

/** Parse a decimal length between [start, end) (end excludes the CR). NaN if malformed. */
function parseLen(buf: Buffer, start: number, end: number): number {
  if (end <= start || buf[end] !== CR) return NaN;
  let i = start;
  let neg = false;
  if (buf[i] === 0x2d) { neg = true; i++; }
  if (i >= end) return NaN;
  let v = 0;
  for (; i < end; i++) {
    const c = buf[i] - 0x30;
    if (c < 0 || c > 9) return NaN;
    v = v * 10 + c;
    if (v > 1e15) return NaN;
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

// Redis's listpack (listpack.c), byte for byte, in the shared heap.
//
// Layout: total bytes u32 LE | element count u16 LE (65535: unknown, count by walking) |
// elements | 0xFF. Each element: encoding byte(s) + data + backlen (the size of encoding+data,
// 7 bits per byte, readable from the right). Integers use the small int encodings (7-bit uint,
// 13, 16, 24, 32, 64-bit signed), strings 6-bit, 12-bit or 32-bit lengths, exactly as Redis, so
// a listpack can go into an RDB file unchanged.
//
// Memory: a listpack is one heap block allocated for exactly its total bytes; it grows in place
// while the size class is the same (heap capacity), otherwise it moves. ALWAYS free it with
// lpFree (the block size is the total-bytes field).
//
// Positions ("p") are byte offsets RELATIVE TO THE LISTPACK START, so they survive the listpack
// moving: a mutating call returns the (possibly new) listpack offset, and positions of elements
// before the change stay valid. 0 means "no element" (the header occupies bytes 0..5).
//
// The caller serialises access (slot lock). Nothing here allocates on the V8 heap in the common
// paths except the convenience copies (lpGetBuffer).

import { Heap, classOf } from './heap';

export const LP_HDR = 6;
export const LP_EOF = 0xff;
export const LP_BEFORE = 0;
export const LP_AFTER = 1;
const COUNT_UNKNOWN = 65535;

/** What lpGet reads: an integer (int, or big when outside ±2^53) or a string at u8[off, off+len). */
export class LpVal {
  isInt = false;
  int = 0;
  big: bigint | null = null;
  /** Absolute heap offset of the string bytes (strings only). */
  off = 0;
  len = 0;
}

// ---- small helpers -------------------------------------------------------------------------

function rd32(u8: Uint8Array, at: number): number {
  return (u8[at] | (u8[at + 1] << 8) | (u8[at + 2] << 16) | (u8[at + 3] << 24)) >>> 0;
}

function wr32(u8: Uint8Array, at: number, v: number): void {
  u8[at] = v & 0xff;
  u8[at + 1] = (v >>> 8) & 0xff;
  u8[at + 2] = (v >>> 16) & 0xff;
  u8[at + 3] = (v >>> 24) & 0xff;
}

/** Bytes of the backlen field for an encoding+data size of l. */
function backlenSize(l: number): number {
  if (l <= 127) return 1;
  if (l < 16383) return 2;
  if (l < 2097151) return 3;
  if (l < 268435455) return 4;
  return 5;
}

/** Write the backlen of l at `at` (left to right, as lpEncodeBacklen). Returns bytes written. */
function writeBacklen(u8: Uint8Array, at: number, l: number): number {
  const n = backlenSize(l);
  if (n === 1) {
    u8[at] = l;
  } else if (n === 2) {
    u8[at] = l >>> 7;
    u8[at + 1] = (l & 127) | 128;
  } else if (n === 3) {
    u8[at] = l >>> 14;
    u8[at + 1] = ((l >>> 7) & 127) | 128;
    u8[at + 2] = (l & 127) | 128;
  } else if (n === 4) {
    u8[at] = l >>> 21;
    u8[at + 1] = ((l >>> 14) & 127) | 128;
    u8[at + 2] = ((l >>> 7) & 127) | 128;
    u8[at + 3] = (l & 127) | 128;
  } else {
    u8[at] = Math.floor(l / 2 ** 28);
    u8[at + 1] = ((l >>> 21) & 127) | 128;
    u8[at + 2] = ((l >>> 14) & 127) | 128;
    u8[at + 3] = ((l >>> 7) & 127) | 128;
    u8[at + 4] = (l & 127) | 128;
  }
  return n;
}

/** Read a backlen whose LAST byte is at `at` (as lpDecodeBacklen). */
function readBacklen(u8: Uint8Array, at: number): number {
  let val = 0;
  let mul = 1;
  for (let i = 0; i < 5; i++) {
    const b = u8[at - i];
    val += (b & 127) * mul;
    if ((b & 128) === 0) break;
    mul *= 128;
  }
  return val;
}

/**
 * Size of encoding+data of the element at absolute offset a (without backlen); -1 if the
 * encoding byte is invalid, 0 at EOF.
 */
function encDataSize(u8: Uint8Array, a: number): number {
  const b = u8[a];
  if ((b & 0x80) === 0) return 1;
  if ((b & 0xc0) === 0x80) return 1 + (b & 0x3f);
  if ((b & 0xe0) === 0xc0) return 2;
  if ((b & 0xf0) === 0xe0) return 2 + (((b & 0x0f) << 8) | u8[a + 1]);
  switch (b) {
    case 0xf0: return 5 + rd32(u8, a + 1);
    case 0xf1: return 3;
    case 0xf2: return 4;
    case 0xf3: return 5;
    case 0xf4: return 9;
    case 0xff: return 0;
    default: return -1;
  }
}

/** Whole size (encoding + data + backlen) of the element at absolute offset a. */
function elementSize(u8: Uint8Array, a: number): number {
  const l = encDataSize(u8, a);
  return l + backlenSize(l);
}

// Integer parsing as lpStringToInt64 (string2ll): canonical decimal in int64 range.
const I64_MAX = 9223372036854775807n;
const I64_MIN = -9223372036854775808n;

let parsedBig: bigint | null = null;
/**
 * If s (u8[start,end)) is a canonical int64, return it as a number (exact when |v| <= 2^53);
 * for larger ones, returns NaN-free Number and sets parsedBig. Returns NaN when not an int.
 */
function parseInt64(u8: Uint8Array, start: number, end: number): number {
  parsedBig = null;
  const len = end - start;
  if (len === 0 || len > 20) return NaN;
  let i = start;
  let neg = false;
  if (u8[i] === 0x2d) {
    neg = true;
    i++;
    if (i === end) return NaN;
  }
  if (u8[i] === 0x30) return len === 1 ? 0 : NaN;
  let v = 0;
  for (; i < end; i++) {
    const c = u8[i] - 0x30;
    if (c < 0 || c > 9) return NaN;
    v = v * 10 + c;
  }
  if (v <= Number.MAX_SAFE_INTEGER) return neg ? -v : v;
  let s = '';
  for (let j = start; j < end; j++) s += String.fromCharCode(u8[j]);
  const big = BigInt(s);
  if (big > I64_MAX || big < I64_MIN) return NaN;
  parsedBig = big;
  return Number(big);
}

// Encoding of the element being inserted: computed once by prepare().
let encKind = 0; // 0 string, 1 int
let encInt = 0;
let encBig: bigint | null = null;
let encSrc: Uint8Array = new Uint8Array(0);
let encSize = 0; // encoding + data

function prepare(s: Uint8Array): number {
  const v = s.length <= 20 ? parseInt64(s, 0, s.length) : NaN;
  encSrc = s;
  if (!Number.isNaN(v)) {
    encKind = 1;
    encInt = v;
    encBig = parsedBig;
    encSize = intEncSize(v, parsedBig);
  } else {
    encKind = 0;
    const l = s.length;
    encSize = l < 64 ? 1 + l : l < 4096 ? 2 + l : 5 + l;
  }
  return encSize + backlenSize(encSize);
}

function prepareInt(v: number): number {
  encKind = 1;
  encInt = v;
  encBig = null;
  if (!Number.isSafeInteger(v)) encBig = BigInt(v);
  encSize = intEncSize(v, encBig);
  return encSize + backlenSize(encSize);
}

function intEncSize(v: number, big: bigint | null): number {
  if (big !== null) return 9;
  if (v >= 0 && v <= 127) return 1;
  if (v >= -4096 && v <= 4095) return 2;
  if (v >= -32768 && v <= 32767) return 3;
  if (v >= -8388608 && v <= 8388607) return 4;
  if (v >= -2147483648 && v <= 2147483647) return 5;
  return 9;
}

/** Write the prepared element at absolute offset a. Returns bytes written (with backlen). */
function writePrepared(u8: Uint8Array, a: number): number {
  if (encKind === 1) {
    let v = encInt;
    switch (encSize) {
      case 1:
        u8[a] = v;
        break;
      case 2:
        if (v < 0) v += 1 << 13;
        u8[a] = (v >>> 8) | 0xc0;
        u8[a + 1] = v & 0xff;
        break;
      case 3:
        if (v < 0) v += 1 << 16;
        u8[a] = 0xf1;
        u8[a + 1] = v & 0xff;
        u8[a + 2] = v >>> 8;
        break;
      case 4:
        if (v < 0) v += 1 << 24;
        u8[a] = 0xf2;
        u8[a + 1] = v & 0xff;
        u8[a + 2] = (v >>> 8) & 0xff;
        u8[a + 3] = v >>> 16;
        break;
      case 5:
        u8[a] = 0xf3;
        wr32(u8, a + 1, v >>> 0);
        break;
      default: {
        u8[a] = 0xf4;
        if (encBig !== null) {
          const u = BigInt.asUintN(64, encBig);
          wr32(u8, a + 1, Number(u & 0xffffffffn));
          wr32(u8, a + 5, Number(u >> 32n));
        } else {
          const lo = v >>> 0; // two's complement low word (exact for safe integers)
          const hi = Math.floor(v / 4294967296);
          wr32(u8, a + 1, lo);
          wr32(u8, a + 5, hi >>> 0);
        }
      }
    }
  } else {
    const s = encSrc;
    const l = s.length;
    let h: number;
    if (l < 64) {
      u8[a] = 0x80 | l;
      h = 1;
    } else if (l < 4096) {
      u8[a] = 0xe0 | (l >>> 8);
      u8[a + 1] = l & 0xff;
      h = 2;
    } else {
      u8[a] = 0xf0;
      wr32(u8, a + 1, l);
      h = 5;
    }
    if (l < 32) for (let i = 0; i < l; i++) u8[a + h + i] = s[i];
    else u8.set(s, a + h);
  }
  return encSize + writeBacklen(u8, a + encSize, encSize);
}

/**
 * memmove within the heap. On a SharedArrayBuffer, copyWithin takes V8's slow relaxed-atomic
 * path; set() from a view of the same buffer is about twice as fast for long moves.
 */
function move(u8: Uint8Array, dst: number, src: number, end: number): void {
  if (end - src < 256) u8.copyWithin(dst, src, end);
  else u8.set(u8.subarray(src, end), dst);
}

function setCount(u8: Uint8Array, lp: number, n: number): void {
  const v = n < COUNT_UNKNOWN ? n : COUNT_UNKNOWN;
  u8[lp + 4] = v & 0xff;
  u8[lp + 5] = v >>> 8;
}

/**
 * For a shrink: the block the smaller listpack will live in, allocated BEFORE the listpack is
 * changed (an allocation failure then leaves it whole; after, its byte count would name a smaller
 * class than its block's, and its free would go to the wrong class). lp itself when the class
 * stays.
 */
function shrinkTarget(heap: Heap, lp: number, oldBytes: number, newBytes: number): number {
  return classOf(oldBytes) === classOf(newBytes) ? lp : heap.alloc(newBytes);
}

/** Finish a shrink done in place in lp: copy its `bytes` to the target `n` and free lp. */
function shrinkInto(heap: Heap, lp: number, n: number, oldBytes: number, bytes: number): number {
  if (n === lp) return lp;
  move(heap.u8, n, lp, lp + bytes);
  heap.free(lp, oldBytes);
  return n;
}

/** Move a listpack to a block for `bytes` when the size class changes. Copies `keep` bytes. */
function resize(heap: Heap, lp: number, oldBytes: number, newBytes: number, keep: number): number {
  if (classOf(oldBytes) === classOf(newBytes)) return lp;
  const n = heap.alloc(newBytes);
  move(heap.u8, n, lp, lp + keep);
  heap.free(lp, oldBytes);
  return n;
}

// ---- public API ------------------------------------------------------------------------

/** A new empty listpack. */
export function lpNew(heap: Heap): number {
  const lp = heap.alloc(LP_HDR + 1);
  const u8 = heap.u8;
  wr32(u8, lp, LP_HDR + 1);
  u8[lp + 4] = 0;
  u8[lp + 5] = 0;
  u8[lp + LP_HDR] = LP_EOF;
  return lp;
}

/** Total bytes of the listpack (header, elements and terminator). */
export function lpBytes(heap: Heap, lp: number): number {
  return rd32(heap.u8, lp);
}

/** Number of elements. */
export function lpLength(heap: Heap, lp: number): number {
  const u8 = heap.u8;
  const n = u8[lp + 4] | (u8[lp + 5] << 8);
  if (n !== COUNT_UNKNOWN) return n;
  let c = 0;
  for (let p = lpFirst(heap, lp); p !== 0; p = lpNext(heap, lp, p)) c++;
  return c;
}

export function lpFree(heap: Heap, lp: number): void {
  heap.free(lp, rd32(heap.u8, lp));
}

/** A copy of the listpack (new block). */
export function lpDup(heap: Heap, lp: number): number {
  const bytes = rd32(heap.u8, lp);
  const n = heap.alloc(bytes);
  move(heap.u8, n, lp, lp + bytes);
  return n;
}

/** Position of the first element, 0 if empty. */
export function lpFirst(heap: Heap, lp: number): number {
  return heap.u8[lp + LP_HDR] === LP_EOF ? 0 : LP_HDR;
}

/** Position of the last element, 0 if empty. */
export function lpLast(heap: Heap, lp: number): number {
  const u8 = heap.u8;
  const eof = rd32(u8, lp) - 1;
  if (eof === LP_HDR) return 0;
  const l = readBacklen(u8, lp + eof - 1);
  return eof - l - backlenSize(l);
}

/** Position of the element after p, 0 at the end. */
export function lpNext(heap: Heap, lp: number, p: number): number {
  const u8 = heap.u8;
  const q = p + elementSize(u8, lp + p);
  return u8[lp + q] === LP_EOF ? 0 : q;
}

/** Position of the element before p, 0 at the start. */
export function lpPrev(heap: Heap, lp: number, p: number): number {
  if (p <= LP_HDR) return 0;
  const u8 = heap.u8;
  const l = readBacklen(u8, lp + p - 1);
  return p - l - backlenSize(l);
}

/** Position of the element at index (negative: from the end), 0 if out of range. */
export function lpSeek(heap: Heap, lp: number, index: number): number {
  const n = lpLength(heap, lp);
  if (index < 0) index += n;
  if (index < 0 || index >= n) return 0;
  if (index <= n >>> 1) {
    let p = LP_HDR;
    for (let i = 0; i < index; i++) p += elementSize(heap.u8, lp + p);
    return p;
  }
  let p = lpLast(heap, lp);
  for (let i = n - 1; i > index; i--) p = lpPrev(heap, lp, p);
  return p;
}

/** Size in bytes of the element at p (encoding, data, backlen). */
export function lpEntryBytes(heap: Heap, lp: number, p: number): number {
  return elementSize(heap.u8, lp + p);
}

/** Bytes that s would take as an element (for "does it fit" decisions). */
export function lpEntrySizeFor(s: Uint8Array): number {
  return prepare(s);
}

/** Read the element at p into out (and return out). String bytes stay in the heap. */
export function lpGet(heap: Heap, lp: number, p: number, out: LpVal): LpVal {
  const u8 = heap.u8;
  const a = lp + p;
  const b = u8[a];
  out.big = null;
  if ((b & 0x80) === 0) {
    out.isInt = true;
    out.int = b;
    return out;
  }
  if ((b & 0xc0) === 0x80) {
    out.isInt = false;
    out.off = a + 1;
    out.len = b & 0x3f;
    return out;
  }
  if ((b & 0xe0) === 0xc0) {
    out.isInt = true;
    const u = ((b & 0x1f) << 8) | u8[a + 1];
    out.int = u >= 1 << 12 ? u - (1 << 13) : u;
    return out;
  }
  if ((b & 0xf0) === 0xe0) {
    out.isInt = false;
    out.off = a + 2;
    out.len = ((b & 0x0f) << 8) | u8[a + 1];
    return out;
  }
  out.isInt = true;
  switch (b) {
    case 0xf0:
      out.isInt = false;
      out.off = a + 5;
      out.len = rd32(u8, a + 1);
      return out;
    case 0xf1: {
      const u = u8[a + 1] | (u8[a + 2] << 8);
      out.int = u >= 0x8000 ? u - 0x10000 : u;
      return out;
    }
    case 0xf2: {
      const u = u8[a + 1] | (u8[a + 2] << 8) | (u8[a + 3] << 16);
      out.int = u >= 0x800000 ? u - 0x1000000 : u;
      return out;
    }
    case 0xf3:
      out.int = rd32(u8, a + 1) | 0;
      return out;
    case 0xf4: {
      const lo = rd32(u8, a + 1);
      const hi = rd32(u8, a + 5) | 0;
      const v = hi * 4294967296 + lo;
      if (Number.isSafeInteger(v)) {
        out.int = v;
      } else {
        out.big = (BigInt(hi) << 32n) | BigInt(lo);
        out.int = Number(out.big);
      }
      return out;
    }
    default:
      throw new Error(`listpack: bad encoding byte ${b} at ${p}`);
  }
}

const digits = new Uint8Array(24);
/**
 * The bytes of a value read by lpGet: a heap view for strings, the decimal digits (in a scratch
 * buffer valid until the next call) for integers.
 */
export function lpValBytes(heap: Heap, v: LpVal): Uint8Array {
  if (!v.isInt) return heap.u8.subarray(v.off, v.off + v.len);
  return intBytes(v.int, v.big);
}

/** Decimal digits of an integer in a scratch buffer (valid until the next call). */
export function intBytes(n: number, big: bigint | null): Uint8Array {
  if (big !== null || !Number.isSafeInteger(n)) {
    const s = (big ?? BigInt(n)).toString();
    for (let i = 0; i < s.length; i++) digits[i] = s.charCodeAt(i);
    return digits.subarray(0, s.length);
  }
  let i = 24;
  const neg = n < 0;
  let v = neg ? -n : n;
  do {
    digits[--i] = 0x30 + (v % 10);
    v = Math.floor(v / 10);
  } while (v > 0);
  if (neg) digits[--i] = 0x2d;
  return digits.subarray(i, 24);
}

/** The element at p as a fresh Buffer. */
export function lpGetBuffer(heap: Heap, lp: number, p: number): Buffer {
  const v = lpGet(heap, lp, p, scratchVal);
  return Buffer.from(lpValBytes(heap, v));
}

/** The element at p as a number if it is stored as an integer, else null. */
export function lpGetInt(heap: Heap, lp: number, p: number): number | null {
  const v = lpGet(heap, lp, p, scratchVal);
  return v.isInt ? v.int : null;
}

const scratchVal = new LpVal();
const cmpVal = new LpVal();

/** Does the element at p equal the bytes s (as Redis's lpCompare: ints compare by value)? */
export function lpCompare(heap: Heap, lp: number, p: number, s: Uint8Array): boolean {
  const v = lpGet(heap, lp, p, cmpVal);
  if (!v.isInt) {
    if (v.len !== s.length) return false;
    const u8 = heap.u8;
    const o = v.off;
    for (let i = 0; i < s.length; i++) if (u8[o + i] !== s[i]) return false;
    return true;
  }
  if (s.length > 20) return false;
  const n = parseInt64(s, 0, s.length);
  if (Number.isNaN(n)) return false;
  if (v.big === null && parsedBig === null) return n === v.int;
  return (v.big ?? BigInt(v.int)) === (parsedBig ?? BigInt(n));
}

/**
 * Find s from position p forward, comparing every (skip+1)-th element (skip=1: the keys of a
 * key/value listpack). Returns the position or 0.
 */
export function lpFind(heap: Heap, lp: number, p: number, s: Uint8Array, skip: number): number {
  let k = 0;
  const u8 = heap.u8;
  while (p !== 0 && u8[lp + p] !== LP_EOF) {
    if (k === 0) {
      if (lpCompare(heap, lp, p, s)) return p;
      k = skip;
    } else {
      k--;
    }
    p += elementSize(u8, lp + p);
  }
  return 0;
}

/** Open a gap of `size` bytes at position at; returns the new lp. */
function openGap(heap: Heap, lp: number, at: number, size: number): number {
  const old = rd32(heap.u8, lp);
  const nb = old + size;
  const n = resize(heap, lp, old, nb, old);
  const u8 = heap.u8;
  move(u8, n + at + size, n + at, n + old);
  wr32(u8, n, nb);
  return n;
}

/** Insert the prepared element (whose full size is `sz`) at position at. */
function insertPrepared(heap: Heap, lp: number, at: number, sz: number): number {
  const n = openGap(heap, lp, at, sz);
  writePrepared(heap.u8, n + at);
  const u8 = heap.u8;
  const c = u8[n + 4] | (u8[n + 5] << 8);
  if (c !== COUNT_UNKNOWN) setCount(u8, n, c + 1);
  return n;
}

/**
 * Insert a then b as two adjacent elements before the element at p (p = 0: at the end), in one
 * move of the listpack: one allocation, so a pair (field and value, member and score) goes in
 * whole or not at all. Returns the new lp.
 */
export function lpInsertPair(heap: Heap, lp: number, a: Uint8Array, b: Uint8Array, p: number): number {
  const at = p === 0 ? rd32(heap.u8, lp) - 1 : p;
  const sa = prepare(a);
  const sb = prepare(b);
  const n = openGap(heap, lp, at, sa + sb);
  writePrepared(heap.u8, n + at + sa);
  prepare(a);
  writePrepared(heap.u8, n + at);
  const u8 = heap.u8;
  const c = u8[n + 4] | (u8[n + 5] << 8);
  if (c !== COUNT_UNKNOWN) setCount(u8, n, c + 2);
  return n;
}

/** Append s at the end; returns the new lp. */
export function lpAppend(heap: Heap, lp: number, s: Uint8Array): number {
  const sz = prepare(s);
  return insertPrepared(heap, lp, rd32(heap.u8, lp) - 1, sz);
}

/** Append an integer at the end; returns the new lp. */
export function lpAppendInt(heap: Heap, lp: number, v: number): number {
  const sz = prepareInt(v);
  return insertPrepared(heap, lp, rd32(heap.u8, lp) - 1, sz);
}

/** Insert s as the first element; returns the new lp. */
export function lpPrepend(heap: Heap, lp: number, s: Uint8Array): number {
  const sz = prepare(s);
  return insertPrepared(heap, lp, LP_HDR, sz);
}

/** Insert an integer as the first element; returns the new lp. */
export function lpPrependInt(heap: Heap, lp: number, v: number): number {
  const sz = prepareInt(v);
  return insertPrepared(heap, lp, LP_HDR, sz);
}

/**
 * Insert s before (LP_BEFORE) or after (LP_AFTER) the element at p; p = 0 with LP_BEFORE means
 * at the end. Returns the new lp; the new element is at p (BEFORE) or lpNext(p) (AFTER).
 */
export function lpInsert(heap: Heap, lp: number, s: Uint8Array, p: number, where: number): number {
  const sz = prepare(s);
  let at: number;
  if (p === 0) at = rd32(heap.u8, lp) - 1;
  else at = where === LP_AFTER ? p + elementSize(heap.u8, lp + p) : p;
  return insertPrepared(heap, lp, at, sz);
}

/** Insert s as the element at index (0..length; length appends). Returns the new lp. */
export function lpInsertAt(heap: Heap, lp: number, index: number, s: Uint8Array): number {
  const n = lpLength(heap, lp);
  if (index >= n) return lpAppend(heap, lp, s);
  return lpInsert(heap, lp, s, lpSeek(heap, lp, index), LP_BEFORE);
}

/** Replace the element at p by s; the element stays at p. Returns the new lp. */
export function lpReplace(heap: Heap, lp: number, p: number, s: Uint8Array): number {
  const sz = prepare(s);
  const old = rd32(heap.u8, lp);
  const cur = elementSize(heap.u8, lp + p);
  const d = sz - cur;
  let n = lp;
  if (d > 0) {
    n = resize(heap, lp, old, old + d, old);
    move(heap.u8, n + p + sz, n + p + cur, n + old);
  } else if (d < 0) {
    const t = shrinkTarget(heap, lp, old, old + d);
    move(heap.u8, n + p + sz, n + p + cur, n + old);
    n = shrinkInto(heap, lp, t, old, old + d);
  }
  wr32(heap.u8, n, old + d);
  writePrepared(heap.u8, n + p);
  return n;
}

/** Delete `count` elements starting at position p (fewer if the end comes first). Returns the new lp. */
export function lpDeleteRangeAt(heap: Heap, lp: number, p: number, count: number): number {
  const u8 = heap.u8;
  let q = p;
  let k = 0;
  while (k < count && u8[lp + q] !== LP_EOF) {
    q += elementSize(u8, lp + q);
    k++;
  }
  if (k === 0) return lp;
  const old = rd32(u8, lp);
  const t = shrinkTarget(heap, lp, old, old - (q - p));
  move(u8, lp + p, lp + q, lp + old);
  const nb = old - (q - p);
  wr32(u8, lp, nb);
  const c = u8[lp + 4] | (u8[lp + 5] << 8);
  if (c !== COUNT_UNKNOWN) setCount(u8, lp, c - k);
  else setCount(u8, lp, lpLength(heap, lp));
  return shrinkInto(heap, lp, t, old, nb);
}

/** Delete the element at p; the next element (if any) is then at p. Returns the new lp. */
export function lpDelete(heap: Heap, lp: number, p: number): number {
  return lpDeleteRangeAt(heap, lp, p, 1);
}

/** Delete `count` elements from index (negative: from the end). Returns the new lp. */
export function lpDeleteRange(heap: Heap, lp: number, index: number, count: number): number {
  const p = lpSeek(heap, lp, index);
  if (p === 0 || count <= 0) return lp;
  return lpDeleteRangeAt(heap, lp, p, count);
}

// ---- in-place front operations (quicklist nodes with room before the listpack) ------------

/**
 * Prepend s using free bytes just before lp (the caller owns `room` bytes before it): the header
 * moves back, nothing else moves. Returns the new lp, or 0 when the element does not fit.
 */
export function lpPrependInPlace(heap: Heap, lp: number, s: Uint8Array, room: number): number {
  const sz = prepare(s);
  if (sz > room) return 0;
  const u8 = heap.u8;
  const total = rd32(u8, lp);
  const c = u8[lp + 4] | (u8[lp + 5] << 8);
  const n = lp - sz;
  u8.copyWithin(n, lp, lp + LP_HDR);
  writePrepared(u8, n + LP_HDR);
  wr32(u8, n, total + sz);
  if (c !== COUNT_UNKNOWN) setCount(u8, n, c + 1);
  return n;
}

/**
 * Drop the first element by moving the header forward over it (the bytes before the new lp stay
 * the caller's). Returns the new lp. The listpack must not be empty.
 */
export function lpPopFrontInPlace(heap: Heap, lp: number): number {
  const u8 = heap.u8;
  const total = rd32(u8, lp);
  const c = u8[lp + 4] | (u8[lp + 5] << 8);
  const esz = elementSize(u8, lp + LP_HDR);
  const n = lp + esz;
  u8.copyWithin(n, lp, lp + LP_HDR);
  wr32(u8, n, total - esz);
  if (c !== COUNT_UNKNOWN) setCount(u8, n, c - 1);
  else setCount(u8, n, lpLength(heap, n));
  return n;
}

/** Write an empty listpack at off (7 bytes; the caller owns the memory). */
export function lpInitAt(heap: Heap, off: number): void {
  const u8 = heap.u8;
  wr32(u8, off, LP_HDR + 1);
  u8[off + 4] = 0;
  u8[off + 5] = 0;
  u8[off + LP_HDR] = LP_EOF;
}

/**
 * A listpack of a's elements then b's (a new block; a and b are left as they are).
 */
export function lpConcat(heap: Heap, a: number, b: number): number {
  const u8 = heap.u8;
  const ab = rd32(u8, a);
  const bb = rd32(u8, b);
  const nb = ab + bb - LP_HDR - 1;
  const n = heap.alloc(nb);
  const u = heap.u8;
  move(u, n, a, a + ab - 1);
  move(u, n + ab - 1, b + LP_HDR, b + bb);
  wr32(u, n, nb);
  const ca = u[a + 4] | (u[a + 5] << 8);
  const cb = u[b + 4] | (u[b + 5] << 8);
  if (ca === COUNT_UNKNOWN || cb === COUNT_UNKNOWN) setCount(u, n, COUNT_UNKNOWN);
  else setCount(u, n, ca + cb);
  if (u[n + 4] === 0xff && u[n + 5] === 0xff) setCount(u, n, lpLength(heap, n));
  return n;
}

/**
 * Structure check (DEBUG CHECK): valid encodings, backlens, count and total bytes, terminator.
 * Returns the element count it walked (or -1 on a problem).
 */
export function lpCheck(heap: Heap, lp: number, problems: string[], what: string): number {
  const u8 = heap.u8;
  if (lp === 0) {
    problems.push(`${what}: bad listpack pointer ${lp}`);
    return -1;
  }
  const total = rd32(u8, lp);
  if (total < LP_HDR + 1 || lp + total > u8.length) {
    problems.push(`${what}: listpack total bytes ${total} out of range`);
    return -1;
  }
  let p = LP_HDR;
  let n = 0;
  while (p < total - 1) {
    const l = encDataSize(u8, lp + p);
    if (l <= 0) {
      problems.push(`${what}: listpack bad encoding byte ${u8[lp + p]} at ${p}`);
      return -1;
    }
    const bl = backlenSize(l);
    if (p + l + bl > total - 1) {
      problems.push(`${what}: listpack element at ${p} overruns the end`);
      return -1;
    }
    if (readBacklen(u8, lp + p + l + bl - 1) !== l) {
      problems.push(`${what}: listpack backlen mismatch at ${p}`);
      return -1;
    }
    p += l + bl;
    n++;
  }
  if (p !== total - 1 || u8[lp + total - 1] !== LP_EOF) {
    problems.push(`${what}: listpack terminator missing`);
    return -1;
  }
  const c = u8[lp + 4] | (u8[lp + 5] << 8);
  if (c !== COUNT_UNKNOWN && c !== n) {
    problems.push(`${what}: listpack count ${c} but holds ${n}`);
    return -1;
  }
  return n;
}

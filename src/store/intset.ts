// Redis's intset in the shared heap: a sorted array of distinct integers stored as int16, int32
// or int64, upgraded (never downgraded) when a value needs a wider encoding.
//
// Layout, byte for byte Redis's intset blob (so RDB can write and load it as is):
//   0 encoding u32 LE (2, 4 or 8 bytes per value) | 4 length u32 LE | 8.. values, LE, ascending.
// The heap block is always of the size class of the blob length (it is reallocated when the
// class changes), so the class needs no field of its own.
// int64 values are handled as (hi: i32, lo: u32) pairs so that the whole int64 range is exact.
//
// Functions that may grow or shrink the block return the (possibly new) pointer: the caller
// stores it back into its key (Store.setObjPtr).

import { Heap, classOf, classSize } from './heap';

const HDR = 8;
const TWO32 = 4294967296;

let i16: Int16Array | null = null;
let i16Buf: ArrayBufferLike | null = null;
function view16(heap: Heap): Int16Array {
  if (i16Buf !== heap.sab || i16 === null) {
    i16 = new Int16Array(heap.sab);
    i16Buf = heap.sab;
  }
  return i16;
}

// The value being looked up or inserted, as a pair (set by intsetPair / parse helpers).
let PH = 0;
let PL = 0;
/** Result flag of intsetAdd / intsetRemove: whether the set changed. */
export let intsetChanged = false;

/** Split an int64 (number within ±2^53, or bigint) into the (hi, lo) pair used for lookups. */
function setPair(v: number | bigint): void {
  if (typeof v === 'number') {
    const hi = Math.floor(v / TWO32);
    PH = hi | 0;
    PL = (v - hi * TWO32) >>> 0;
  } else {
    PL = Number(BigInt.asUintN(32, v));
    PH = Number(BigInt.asIntN(32, v >> 32n));
  }
}

function pairEncoding(hi: number, lo: number): number {
  if ((hi === 0 && lo <= 0x7fff) || (hi === -1 && lo >= 0xffff8000)) return 2;
  if ((hi === 0 && lo <= 0x7fffffff) || (hi === -1 && lo >= 0x80000000)) return 4;
  return 8;
}

export function intsetNew(heap: Heap): number {
  const p = heap.alloc(HDR);
  heap.u32[p / 4] = 2;
  heap.u32[p / 4 + 1] = 0;
  return p;
}

export function intsetLen(heap: Heap, p: number): number {
  return heap.u32[p / 4 + 1];
}

export function intsetEncoding(heap: Heap, p: number): number {
  return heap.u8[p];
}

/** Bytes the intset uses (its blob length). */
export function intsetBlobLen(heap: Heap, p: number): number {
  return HDR + heap.u32[p / 4 + 1] * heap.u8[p];
}

// Read value i into (RH, RL).
let RH = 0;
let RL = 0;
function read(heap: Heap, p: number, enc: number, i: number): void {
  if (enc === 2) {
    const v = view16(heap)[(p + HDR) / 2 + i];
    RH = v < 0 ? -1 : 0;
    RL = v >>> 0;
  } else if (enc === 4) {
    const v = heap.i32[(p + HDR) / 4 + i];
    RH = v < 0 ? -1 : 0;
    RL = v >>> 0;
  } else {
    const at = (p + HDR) / 4 + i * 2;
    RL = heap.u32[at];
    RH = heap.i32[at + 1];
  }
}

function write(heap: Heap, p: number, enc: number, i: number, hi: number, lo: number): void {
  if (enc === 2) view16(heap)[(p + HDR) / 2 + i] = lo & 0xffff;
  else if (enc === 4) heap.i32[(p + HDR) / 4 + i] = lo | 0;
  else {
    const at = (p + HDR) / 4 + i * 2;
    heap.u32[at] = lo;
    heap.i32[at + 1] = hi;
  }
}

/** Binary search for (PH, PL): index if found, else -(insertion point) - 1. */
function search(heap: Heap, p: number): number {
  const enc = heap.u8[p];
  let lo = 0;
  let hi = heap.u32[p / 4 + 1] - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    read(heap, p, enc, mid);
    if (RH < PH || (RH === PH && RL < PL)) lo = mid + 1;
    else if (RH > PH || RL > PL) hi = mid - 1;
    else return mid;
  }
  return -lo - 1;
}

/**
 * Go from oldLen to newLen values: returns p, or a new block of the new blob length's size class
 * (the first min(old, new) values and the header copied).
 */
function resize(heap: Heap, p: number, oldLen: number, newLen: number): number {
  const enc = heap.u8[p];
  const cls = classOf(HDR + oldLen * enc);
  const need = HDR + newLen * enc;
  if (classOf(need) === cls) return p;
  const np = heap.alloc(need);
  heap.u8.copyWithin(np, p, p + HDR + Math.min(oldLen, newLen) * enc);
  heap.freeClass(p, cls);
  return np;
}

export function intsetFind(heap: Heap, p: number, v: number | bigint): boolean {
  setPair(v);
  if (pairEncoding(PH, PL) > heap.u8[p]) return false;
  return search(heap, p) >= 0;
}

/** Add v; returns the pointer (maybe moved). intsetChanged tells whether v was added. */
export function intsetAdd(heap: Heap, p: number, v: number | bigint): number {
  setPair(v);
  const venc = pairEncoding(PH, PL);
  const enc = heap.u8[p];
  const len = heap.u32[p / 4 + 1];
  if (venc > enc) {
    // Upgrade: v is beyond every current value, so it goes first (negative) or last.
    const np = heap.alloc(HDR + (len + 1) * venc);
    heap.u32[np / 4] = venc;
    heap.u32[np / 4 + 1] = len + 1;
    const prepend = PH < 0 ? 1 : 0;
    const h = PH, l = PL;
    for (let i = len - 1; i >= 0; i--) {
      read(heap, p, enc, i);
      write(heap, np, venc, i + prepend, RH, RL);
    }
    write(heap, np, venc, prepend ? 0 : len, h, l);
    heap.free(p, HDR + len * enc);
    intsetChanged = true;
    return np;
  }
  const pos = search(heap, p);
  if (pos >= 0) {
    intsetChanged = false;
    return p;
  }
  const at = -pos - 1;
  const h = PH, l = PL;
  const np = resize(heap, p, len, len + 1);
  const base = np + HDR;
  heap.u8.copyWithin(base + (at + 1) * enc, base + at * enc, base + len * enc);
  write(heap, np, enc, at, h, l);
  heap.u32[np / 4 + 1] = len + 1;
  intsetChanged = true;
  return np;
}

/** Remove v; returns the pointer (maybe moved). intsetChanged tells whether v was there. */
export function intsetRemove(heap: Heap, p: number, v: number | bigint): number {
  setPair(v);
  const enc = heap.u8[p];
  if (pairEncoding(PH, PL) > enc) {
    intsetChanged = false;
    return p;
  }
  const pos = search(heap, p);
  if (pos < 0) {
    intsetChanged = false;
    return p;
  }
  const len = heap.u32[p / 4 + 1];
  // The smaller block first: an allocation failure then leaves the set whole.
  const cls = classOf(HDR + len * enc);
  const np = classOf(HDR + (len - 1) * enc) === cls ? p : heap.alloc(HDR + (len - 1) * enc);
  const base = p + HDR;
  heap.u8.copyWithin(base + pos * enc, base + (pos + 1) * enc, base + len * enc);
  heap.u32[p / 4 + 1] = len - 1;
  intsetChanged = true;
  if (np === p) return p;
  heap.u8.copyWithin(np, p, p + HDR + (len - 1) * enc);
  heap.freeClass(p, cls);
  return np;
}

/** Value i as a number when exact (|v| <= 2^53), else as a bigint. */
export function intsetGet(heap: Heap, p: number, i: number): number | bigint {
  read(heap, p, heap.u8[p], i);
  if (RH >= -0x200000 && RH < 0x200000) return RH * TWO32 + RL;
  return (BigInt(RH) << 32n) | BigInt(RL);
}

/** A random index. */
export function intsetRandomIndex(heap: Heap, p: number): number {
  return Math.floor(Math.random() * heap.u32[p / 4 + 1]);
}

/** Write value i in decimal into out at `at`; returns the number of bytes written. */
export function intsetFormat(heap: Heap, p: number, i: number, out: Uint8Array, at: number): number {
  read(heap, p, heap.u8[p], i);
  return formatPair(RH, RL, out, at);
}

const digits = new Uint8Array(24);
function formatPair(hi: number, lo: number, out: Uint8Array, at: number): number {
  if (hi >= -0x200000 && hi < 0x200000) return formatInt(hi * TWO32 + lo, out, at);
  const s = ((BigInt(hi) << 32n) | BigInt(lo)).toString();
  for (let i = 0; i < s.length; i++) out[at + i] = s.charCodeAt(i);
  return s.length;
}

/** Decimal digits of a safe integer into out at `at`; returns the length. */
export function formatInt(v: number, out: Uint8Array, at: number): number {
  let n = 0;
  const neg = v < 0;
  let x = neg ? -v : v;
  do {
    const q = Math.floor(x / 10);
    digits[n++] = 0x30 + (x - q * 10);
    x = q;
  } while (x > 0);
  let k = at;
  if (neg) out[k++] = 0x2d;
  while (n > 0) out[k++] = digits[--n];
  return k - at;
}

export function intsetFree(heap: Heap, p: number): void {
  heap.free(p, intsetBlobLen(heap, p));
}

export function intsetCopy(heap: Heap, p: number): number {
  const size = intsetBlobLen(heap, p);
  const np = heap.alloc(size);
  heap.u8.copyWithin(np, p, p + size);
  return np;
}

/** The intset's bytes as Redis's intset blob (a heap view: copy before the set changes). */
export function intsetBlob(heap: Heap, p: number): Uint8Array {
  return heap.u8.subarray(p, p + intsetBlobLen(heap, p));
}

/**
 * An intset from a Redis intset blob (RDB loading), validated: encoding, length, strictly
 * ascending values. Returns the new intset, or 0 if the blob is malformed.
 */
export function intsetLoad(heap: Heap, blob: Uint8Array): number {
  if (blob.length < HDR) return 0;
  const enc = blob[0] | (blob[1] << 8) | (blob[2] << 16) | (blob[3] << 24);
  const len = (blob[4] | (blob[5] << 8) | (blob[6] << 16) | (blob[7] << 24)) >>> 0;
  if ((enc !== 2 && enc !== 4 && enc !== 8) || blob.length !== HDR + len * enc) return 0;
  const p = heap.alloc(blob.length);
  heap.u8.set(blob, p);
  const problems: string[] = [];
  intsetCheck(heap, p, problems);
  if (problems.length > 0) {
    heap.free(p, blob.length);
    return 0;
  }
  return p;
}

/** Structure check: encoding, fits its block, strictly ascending, values need this encoding. */
export function intsetCheck(heap: Heap, p: number, problems: string[], what = 'intset'): void {
  const enc = heap.u32[p / 4];
  if (enc !== 2 && enc !== 4 && enc !== 8) {
    problems.push(`${what}: bad encoding ${enc}`);
    return;
  }
  const len = heap.u32[p / 4 + 1];
  if (p + HDR + len * enc > heap.size || HDR + len * enc > classSize[classOf(HDR + len * enc)]) {
    problems.push(`${what}: length ${len} out of range`);
    return;
  }
  let ph = 0, pl = 0;
  for (let i = 0; i < len; i++) {
    read(heap, p, enc, i);
    if (i > 0 && !(ph < RH || (ph === RH && pl < RL))) {
      problems.push(`${what}: not strictly ascending at ${i}`);
      return;
    }
    ph = RH;
    pl = RL;
  }
}

// Redis's intset in the shared heap: a sorted array of distinct integers stored as int16, int32
// or int64, upgraded (never downgraded) when a value needs a wider encoding.
//
// Layout: 0 encoding u8 (2, 4 or 8 bytes per value) | 1 size class u8 | 2 spare u16 | 4 length u32
//         8.. values, little endian, ascending.
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
  heap.u8[p] = 2;
  heap.u8[p + 1] = classOf(HDR);
  heap.u8[p + 2] = 0;
  heap.u8[p + 3] = 0;
  heap.u32[(p >>> 2) + 1] = 0;
  return p;
}

export function intsetLen(heap: Heap, p: number): number {
  return heap.u32[(p >>> 2) + 1];
}

export function intsetEncoding(heap: Heap, p: number): number {
  return heap.u8[p];
}

/** Bytes the intset uses (its blob length). */
export function intsetBlobLen(heap: Heap, p: number): number {
  return HDR + heap.u32[(p >>> 2) + 1] * heap.u8[p];
}

// Read value i into (RH, RL).
let RH = 0;
let RL = 0;
function read(heap: Heap, p: number, enc: number, i: number): void {
  if (enc === 2) {
    const v = view16(heap)[((p + HDR) >>> 1) + i];
    RH = v < 0 ? -1 : 0;
    RL = v >>> 0;
  } else if (enc === 4) {
    const v = heap.i32[((p + HDR) >>> 2) + i];
    RH = v < 0 ? -1 : 0;
    RL = v >>> 0;
  } else {
    const at = ((p + HDR) >>> 2) + i * 2;
    RL = heap.u32[at];
    RH = heap.i32[at + 1];
  }
}

function write(heap: Heap, p: number, enc: number, i: number, hi: number, lo: number): void {
  if (enc === 2) view16(heap)[((p + HDR) >>> 1) + i] = lo & 0xffff;
  else if (enc === 4) heap.i32[((p + HDR) >>> 2) + i] = lo | 0;
  else {
    const at = ((p + HDR) >>> 2) + i * 2;
    heap.u32[at] = lo;
    heap.i32[at + 1] = hi;
  }
}

/** Binary search for (PH, PL): index if found, else -(insertion point) - 1. */
function search(heap: Heap, p: number): number {
  const enc = heap.u8[p];
  let lo = 0;
  let hi = heap.u32[(p >>> 2) + 1] - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    read(heap, p, enc, mid);
    if (RH < PH || (RH === PH && RL < PL)) lo = mid + 1;
    else if (RH > PH || RL > PL) hi = mid - 1;
    else return mid;
  }
  return -lo - 1;
}

/** Make room for `len` values of `enc` bytes: returns p or a new block (contents copied). */
function resize(heap: Heap, p: number, len: number): number {
  const enc = heap.u8[p];
  const need = HDR + len * enc;
  const cls = heap.u8[p + 1];
  if (need <= classSize[cls] && (cls < 8 || classOf(need) >= cls - 4)) return p;
  const np = heap.alloc(need);
  const keep = Math.min(need, HDR + heap.u32[(p >>> 2) + 1] * enc);
  heap.u8.copyWithin(np, p, p + keep);
  heap.u8[np + 1] = classOf(need);
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
  const len = heap.u32[(p >>> 2) + 1];
  if (venc > enc) {
    // Upgrade: v is beyond every current value, so it goes first (negative) or last.
    const np = heap.alloc(HDR + (len + 1) * venc);
    heap.u8[np] = venc;
    heap.u8[np + 1] = classOf(HDR + (len + 1) * venc);
    heap.u32[(np >>> 2) + 1] = len + 1;
    const prepend = PH < 0 ? 1 : 0;
    const h = PH, l = PL;
    for (let i = len - 1; i >= 0; i--) {
      read(heap, p, enc, i);
      write(heap, np, venc, i + prepend, RH, RL);
    }
    write(heap, np, venc, prepend ? 0 : len, h, l);
    heap.freeClass(p, heap.u8[p + 1]);
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
  const np = resize(heap, p, len + 1);
  const base = np + HDR;
  heap.u8.copyWithin(base + (at + 1) * enc, base + at * enc, base + len * enc);
  write(heap, np, enc, at, h, l);
  heap.u32[(np >>> 2) + 1] = len + 1;
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
  const len = heap.u32[(p >>> 2) + 1];
  const base = p + HDR;
  heap.u8.copyWithin(base + pos * enc, base + (pos + 1) * enc, base + len * enc);
  heap.u32[(p >>> 2) + 1] = len - 1;
  intsetChanged = true;
  return resize(heap, p, len - 1);
}

/** Value i as a number when exact (|v| <= 2^53), else as a bigint. */
export function intsetGet(heap: Heap, p: number, i: number): number | bigint {
  read(heap, p, heap.u8[p], i);
  if (RH >= -0x200000 && RH < 0x200000) return RH * TWO32 + RL;
  return (BigInt(RH) << 32n) | BigInt(RL);
}

/** A random index. */
export function intsetRandomIndex(heap: Heap, p: number): number {
  return Math.floor(Math.random() * heap.u32[(p >>> 2) + 1]);
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
  heap.freeClass(p, heap.u8[p + 1]);
}

export function intsetCopy(heap: Heap, p: number): number {
  const size = intsetBlobLen(heap, p);
  const np = heap.alloc(size);
  heap.u8.copyWithin(np, p, p + size);
  heap.u8[np + 1] = classOf(size);
  return np;
}

/** Structure check: encoding, fits its block, strictly ascending, values need this encoding. */
export function intsetCheck(heap: Heap, p: number, problems: string[], what = 'intset'): void {
  const enc = heap.u8[p];
  if (enc !== 2 && enc !== 4 && enc !== 8) {
    problems.push(`${what}: bad encoding ${enc}`);
    return;
  }
  const cls = heap.u8[p + 1];
  const len = heap.u32[(p >>> 2) + 1];
  if (cls >= classSize.length || HDR + len * enc > classSize[cls]) {
    problems.push(`${what}: overflows its block`);
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

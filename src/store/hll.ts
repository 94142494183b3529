// HyperLogLog, byte for byte as Redis 7.0's hyperloglog.c: an HLL is a plain string value
// ("HYLL", encoding, 3 unused bytes, the cached cardinality little endian whose top bit marks it
// invalid, then the registers), sparse (ZERO / XZERO / VAL opcodes) or dense (16384 registers of
// 6 bits). Same hash (MurmurHash64A, seed 0xadc83b19), same opcode splitting and merging, same
// promotion rules, so that an HLL written here and one written by redis-server are the same bytes
// and each server reads the other's (RDB, DUMP/RESTORE, replication, plain SET).
//
// The functions work on plain byte arrays: dense registers may be changed in place in the shared
// heap (their size never changes); a sparse value is edited in an HllWork buffer (it grows and
// shrinks) and written back by the command.

export const HLL_P = 14;
export const HLL_Q = 64 - HLL_P;
export const HLL_REGISTERS = 1 << HLL_P;
export const HLL_P_MASK = HLL_REGISTERS - 1;
export const HLL_BITS = 6;
export const HLL_REGISTER_MAX = (1 << HLL_BITS) - 1;
export const HLL_HDR_SIZE = 16;
export const HLL_DENSE_SIZE = HLL_HDR_SIZE + ((HLL_REGISTERS * HLL_BITS + 7) >> 3);
export const HLL_DENSE = 0;
export const HLL_SPARSE = 1;
export const HLL_MAX_ENCODING = 1;

const SPARSE_VAL_MAX_VALUE = 32;
const SPARSE_VAL_MAX_LEN = 4;
const SPARSE_ZERO_MAX_LEN = 64;
const SPARSE_XZERO_MAX_LEN = 16384;
const ALPHA_INF = 0.72134752044448170368; // 0.5/ln(2)

export const E_HLL_INVALID = 'INVALIDOBJ Corrupted HLL object detected';
export const E_HLL_WRONGTYPE = 'WRONGTYPE Key is not a valid HyperLogLog string value.';

// ---- MurmurHash64A on 32-bit halves (BigInt would cost ~10x per element) ---------------------

let ML = 0;
let MH = 0;

/** (ah:al) * (bh:bl) mod 2^64 into MH:ML. Every partial product stays below 2^53. */
function mul64(ah: number, al: number, bh: number, bl: number): void {
  const a0 = al & 0xffff;
  const a1 = al >>> 16;
  const b0 = bl & 0xffff;
  const b1 = bl >>> 16;
  const mid = a0 * b1 + a1 * b0;
  const lo = a0 * b0 + (mid % 65536) * 65536;
  ML = lo >>> 0;
  MH = (a1 * b1 + Math.floor(mid / 65536) + Math.floor(lo / 4294967296) + Math.imul(ah, bl) + Math.imul(al, bh)) >>> 0;
}

const M_H = 0xc6a4a793;
const M_L = 0x5bd1e995;
/** The hash of the last murmur64() call, high and low 32 bits. */
export let hashHi = 0;
export let hashLo = 0;

/** Redis's MurmurHash64A (endian neutral: blocks read little endian). */
export function murmur64(data: Uint8Array, start: number, len: number, seed: number): void {
  mul64(0, len, M_H, M_L);
  let hh = MH;
  let hl = (ML ^ seed) >>> 0;
  const end = start + len - (len & 7);
  let p = start;
  while (p !== end) {
    const kl = (data[p] | (data[p + 1] << 8) | (data[p + 2] << 16) | (data[p + 3] << 24)) >>> 0;
    const kh = (data[p + 4] | (data[p + 5] << 8) | (data[p + 6] << 16) | (data[p + 7] << 24)) >>> 0;
    mul64(kh, kl, M_H, M_L);
    let xh = MH;
    let xl = (ML ^ (xh >>> 15)) >>> 0; // k ^= k >> 47
    mul64(xh, xl, M_H, M_L);
    xh = MH;
    xl = ML;
    hh = (hh ^ xh) >>> 0;
    hl = (hl ^ xl) >>> 0;
    mul64(hh, hl, M_H, M_L);
    hh = MH;
    hl = ML;
    p += 8;
  }
  const rest = len & 7;
  if (rest !== 0) {
    // The switch of Redis's code falls through from case 7 down to case 1.
    if (rest >= 7) hh ^= data[p + 6] << 16;
    if (rest >= 6) hh ^= data[p + 5] << 8;
    if (rest >= 5) hh ^= data[p + 4];
    if (rest >= 4) hl ^= data[p + 3] << 24;
    if (rest >= 3) hl ^= data[p + 2] << 16;
    if (rest >= 2) hl ^= data[p + 1] << 8;
    hl ^= data[p];
    mul64(hh >>> 0, hl >>> 0, M_H, M_L);
    hh = MH;
    hl = ML;
  }
  hl = (hl ^ (hh >>> 15)) >>> 0;
  mul64(hh, hl, M_H, M_L);
  hh = MH;
  hl = (ML ^ (MH >>> 15)) >>> 0;
  hashHi = hh;
  hashLo = hl;
}

/** The register index of the last hllPatLen() call. */
export let patIndex = 0;

/** hllPatLen: length of the 000..1 run of the element's hash above the index bits (1..Q+1). */
export function hllPatLen(ele: Uint8Array, start = 0, len = ele.length): number {
  murmur64(ele, start, len, 0xadc83b19);
  patIndex = hashLo & HLL_P_MASK;
  const x = hashLo >>> HLL_P;
  if (x !== 0) return 32 - Math.clz32(x & -x);
  if (hashHi !== 0) return 32 - HLL_P + 32 - Math.clz32(hashHi & -hashHi);
  return HLL_Q + 1;
}

// ---- dense registers ----------------------------------------------------------------------------

/**
 * Register `reg` of the dense registers starting at p. Redis reads the byte after the last
 * register too (the sds terminator); the shift discards it, so it is not read here (in the shared
 * heap that byte belongs to someone else).
 */
export function denseGet(u8: Uint8Array, p: number, reg: number): number {
  const bit = reg * HLL_BITS;
  const byte = p + (bit >>> 3);
  const fb = bit & 7;
  const b1 = fb > 2 ? u8[byte + 1] : 0;
  return ((u8[byte] >> fb) | (b1 << (8 - fb))) & HLL_REGISTER_MAX;
}

export function denseSetRaw(u8: Uint8Array, p: number, reg: number, val: number): void {
  const bit = reg * HLL_BITS;
  const byte = p + (bit >>> 3);
  const fb = bit & 7;
  u8[byte] = (u8[byte] & ~(HLL_REGISTER_MAX << fb)) | (val << fb);
  if (fb > 2) {
    const fb8 = 8 - fb;
    u8[byte + 1] = (u8[byte + 1] & ~(HLL_REGISTER_MAX >> fb8)) | (val >> fb8);
  }
}

/** hllDenseSet: raise a register to count; 1 if it changed. */
export function denseSet(u8: Uint8Array, p: number, reg: number, count: number): number {
  if (count > denseGet(u8, p, reg)) {
    denseSetRaw(u8, p, reg, count);
    return 1;
  }
  return 0;
}

/** hllDenseAdd on the registers at p. */
export function denseAdd(u8: Uint8Array, p: number, ele: Uint8Array, start = 0, len = ele.length): number {
  const count = hllPatLen(ele, start, len);
  return denseSet(u8, p, patIndex, count);
}

function denseHisto(u8: Uint8Array, p: number, h: Int32Array): void {
  let r = p;
  for (let j = 0; j < 1024; j++) {
    const b0 = u8[r], b1 = u8[r + 1], b2 = u8[r + 2], b3 = u8[r + 3], b4 = u8[r + 4], b5 = u8[r + 5];
    const b6 = u8[r + 6], b7 = u8[r + 7], b8 = u8[r + 8], b9 = u8[r + 9], b10 = u8[r + 10], b11 = u8[r + 11];
    h[b0 & 63]++;
    h[((b0 >> 6) | (b1 << 2)) & 63]++;
    h[((b1 >> 4) | (b2 << 4)) & 63]++;
    h[(b2 >> 2) & 63]++;
    h[b3 & 63]++;
    h[((b3 >> 6) | (b4 << 2)) & 63]++;
    h[((b4 >> 4) | (b5 << 4)) & 63]++;
    h[(b5 >> 2) & 63]++;
    h[b6 & 63]++;
    h[((b6 >> 6) | (b7 << 2)) & 63]++;
    h[((b7 >> 4) | (b8 << 4)) & 63]++;
    h[(b8 >> 2) & 63]++;
    h[b9 & 63]++;
    h[((b9 >> 6) | (b10 << 2)) & 63]++;
    h[((b10 >> 4) | (b11 << 4)) & 63]++;
    h[(b11 >> 2) & 63]++;
    r += 12;
  }
}

// ---- sparse opcodes -----------------------------------------------------------------------------

const isZero = (op: number): boolean => (op & 0xc0) === 0;
const isXzero = (op: number): boolean => (op & 0xc0) === 0x40;
const isVal = (op: number): boolean => (op & 0x80) !== 0;
const valValue = (op: number): number => ((op >> 2) & 0x1f) + 1;
const valLen = (op: number): number => (op & 3) + 1;
const valOp = (val: number, len: number): number => (((val - 1) << 2) | (len - 1) | 0x80) & 0xff;

/**
 * A value being edited: bytes [0, len) of b. Like an sds string, b[len] is always 0 (Redis's code
 * reads the terminator as the second byte of a truncated XZERO opcode).
 */
export class HllWork {
  b = new Uint8Array(4096);
  len = 0;

  load(src: Uint8Array): void {
    this.reserve(src.length + 8);
    this.b.set(src, 0);
    this.len = src.length;
    this.b[this.len] = 0;
  }

  reserve(n: number): void {
    if (n <= this.b.length) return;
    const nb = new Uint8Array(Math.max(n, this.b.length * 2));
    nb.set(this.b.subarray(0, this.len + 1));
    this.b = nb;
  }

  /** createHLLObject: an empty sparse HLL (one XZERO of 16384). */
  empty(): void {
    this.reserve(64);
    const b = this.b;
    b.fill(0, 0, HLL_HDR_SIZE + 3);
    b[0] = 0x48; // H
    b[1] = 0x59; // Y
    b[2] = 0x4c; // L
    b[3] = 0x4c; // L
    b[4] = HLL_SPARSE;
    let p = HLL_HDR_SIZE;
    let aux = HLL_REGISTERS;
    while (aux) {
      const xz = Math.min(aux, SPARSE_XZERO_MAX_LEN) - 1;
      b[p] = (xz >> 8) | 0x40;
      b[p + 1] = xz & 0xff;
      p += 2;
      aux -= xz + 1;
    }
    this.len = p;
    b[p] = 0;
  }

  view(): Uint8Array {
    return this.b.subarray(0, this.len);
  }
}

/** isHLLObjectOrReply's checks on a string value. */
export function isValidHll(v: Uint8Array, start: number, len: number): boolean {
  if (len < HLL_HDR_SIZE) return false;
  if (v[start] !== 0x48 || v[start + 1] !== 0x59 || v[start + 2] !== 0x4c || v[start + 3] !== 0x4c) return false;
  const enc = v[start + 4];
  if (enc > HLL_MAX_ENCODING) return false;
  if (enc === HLL_DENSE && len !== HLL_DENSE_SIZE) return false;
  return true;
}

/** hllSparseToDense on a work value; false if the sparse representation is corrupt. */
export function sparseToDense(w: HllWork): boolean {
  const src = w.b;
  if (src[4] === HLL_DENSE) return true;
  const dense = new Uint8Array(Math.max(HLL_DENSE_SIZE + 8, 16384));
  dense.set(src.subarray(0, HLL_HDR_SIZE), 0); // magic, notused and the cached cardinality
  dense[4] = HLL_DENSE;
  const end = w.len;
  let idx = 0;
  let p = HLL_HDR_SIZE;
  while (p < end) {
    const op = src[p];
    if (isZero(op)) {
      idx += (op & 0x3f) + 1;
      p++;
    } else if (isXzero(op)) {
      idx += (((op & 0x3f) << 8) | src[p + 1]) + 1;
      p += 2;
    } else {
      let runlen = valLen(op);
      const regval = valValue(op);
      if (runlen + idx > HLL_REGISTERS) break; // overflow
      while (runlen--) denseSetRaw(dense, HLL_HDR_SIZE, idx++, regval);
      p++;
    }
  }
  if (idx !== HLL_REGISTERS) return false;
  w.b = dense;
  w.len = HLL_DENSE_SIZE;
  dense[HLL_DENSE_SIZE] = 0;
  return true;
}

const seq = new Uint8Array(5);

/**
 * hllSparseSet: raise register `index` to `count` in a sparse work value, promoting it to dense
 * when count does not fit a VAL opcode or the value would pass maxBytes. 1 changed, 0 not, -1
 * corrupt.
 */
export function sparseSet(w: HllWork, index: number, count: number, maxBytes: number): number {
  if (count > SPARSE_VAL_MAX_VALUE) return promote(w, index, count);
  w.reserve(w.len + 4);
  const b = w.b;
  let end = w.len;
  let p = HLL_HDR_SIZE;
  let first = 0;
  let prev = -1;
  let span = 0;
  while (p < end) {
    let oplen = 1;
    const op = b[p];
    if (isZero(op)) span = (op & 0x3f) + 1;
    else if (isVal(op)) span = valLen(op);
    else {
      span = (((op & 0x3f) << 8) | b[p + 1]) + 1;
      oplen = 2;
    }
    if (index <= first + span - 1) break;
    prev = p;
    p += oplen;
    first += span;
  }
  if (span === 0 || p >= end) return -1;

  const op = b[p];
  let next = isXzero(op) ? p + 2 : p + 1;
  if (next >= end) next = -1;
  const zero = isZero(op);
  const xzero = isXzero(op);
  let runlen: number;
  if (zero) runlen = (op & 0x3f) + 1;
  else if (xzero) runlen = (((op & 0x3f) << 8) | b[p + 1]) + 1;
  else runlen = valLen(op);

  let simple = false;
  if (!zero && !xzero) {
    if (valValue(op) >= count) return 0;
    if (runlen === 1) {
      b[p] = valOp(count, 1);
      simple = true;
    }
  }
  if (!simple && zero && runlen === 1) {
    b[p] = valOp(count, 1);
    simple = true;
  }
  if (!simple) {
    // Split the opcode: at worst XZERO-VAL-XZERO.
    let n = 0;
    const last = first + span - 1;
    if (zero || xzero) {
      if (index !== first) {
        const len = index - first;
        if (len > SPARSE_ZERO_MAX_LEN) {
          seq[n++] = ((len - 1) >> 8) | 0x40;
          seq[n++] = (len - 1) & 0xff;
        } else seq[n++] = len - 1;
      }
      seq[n++] = valOp(count, 1);
      if (index !== last) {
        const len = last - index;
        if (len > SPARSE_ZERO_MAX_LEN) {
          seq[n++] = ((len - 1) >> 8) | 0x40;
          seq[n++] = (len - 1) & 0xff;
        } else seq[n++] = len - 1;
      }
    } else {
      const curval = valValue(op);
      if (index !== first) seq[n++] = valOp(curval, index - first);
      seq[n++] = valOp(count, 1);
      if (index !== last) seq[n++] = valOp(curval, last - index);
    }
    const oldlen = xzero ? 2 : 1;
    const delta = n - oldlen;
    if (delta > 0 && w.len + delta > maxBytes) return promote(w, index, count);
    if (delta !== 0 && next >= 0) b.copyWithin(next + delta, next, end);
    w.len += delta;
    b[w.len] = 0;
    for (let i = 0; i < n; i++) b[p + i] = seq[i];
    end += delta;
  }

  // Merge adjacent VAL opcodes of the same value, scanning up to 5 opcodes from prev.
  p = prev >= 0 ? prev : HLL_HDR_SIZE;
  let scanlen = 5;
  while (p < end && scanlen-- !== 0) {
    const o = b[p];
    if (isXzero(o)) {
      p += 2;
      continue;
    } else if (isZero(o)) {
      p++;
      continue;
    }
    if (p + 1 < end && isVal(b[p + 1])) {
      const v1 = valValue(o);
      const v2 = valValue(b[p + 1]);
      if (v1 === v2) {
        const len = valLen(o) + valLen(b[p + 1]);
        if (len <= SPARSE_VAL_MAX_LEN) {
          b[p + 1] = valOp(v1, len);
          b.copyWithin(p, p + 1, end);
          w.len--;
          b[w.len] = 0;
          end--;
          continue;
        }
      }
    }
    p++;
  }
  b[15] |= 0x80; // invalidate the cached cardinality
  return 1;
}

function promote(w: HllWork, index: number, count: number): number {
  if (!sparseToDense(w)) return -1;
  // A register must change when promoting, so this is always 1 (Redis asserts it).
  return denseSet(w.b, HLL_HDR_SIZE, index, count);
}

/** hllAdd on a work value (dense or sparse). */
export function workAdd(w: HllWork, ele: Uint8Array, maxBytes: number): number {
  const count = hllPatLen(ele);
  if (w.b[4] === HLL_DENSE) return denseSet(w.b, HLL_HDR_SIZE, patIndex, count);
  if (w.b[4] === HLL_SPARSE) return sparseSet(w, patIndex, count, maxBytes);
  return -1;
}

// ---- counting -----------------------------------------------------------------------------------

const histo = new Int32Array(64);

function sigma(x: number): number {
  if (x === 1) return Infinity;
  let zPrime: number;
  let y = 1;
  let z = x;
  do {
    x *= x;
    zPrime = z;
    z += x * y;
    y += y;
  } while (zPrime !== z);
  return z;
}

function tau(x: number): number {
  if (x === 0 || x === 1) return 0;
  let zPrime: number;
  let y = 1.0;
  let z = 1 - x;
  do {
    x = Math.sqrt(x);
    zPrime = z;
    y *= 0.5;
    const d = 1 - x;
    z -= d * d * y; // pow(1 - x, 2) is exactly (1 - x)^2 correctly rounded
  } while (zPrime !== z);
  return z / 3;
}

function estimate(h: Int32Array): number {
  const m = HLL_REGISTERS;
  let z = m * tau((m - h[HLL_Q + 1]) / m);
  for (let j = HLL_Q; j >= 1; --j) {
    z += h[j];
    z *= 0.5;
  }
  z += m * sigma(h[0] / m);
  return Math.round((ALPHA_INF * m * m) / z); // llroundl of a positive double
}

/**
 * hllCount of the value at v[start, start+len) (already checked by isValidHll). -1: a corrupt
 * sparse representation (the registers do not add up to 16384).
 */
export function hllCount(v: Uint8Array, start: number, len: number): number {
  histo.fill(0);
  if (v[start + 4] === HLL_DENSE) {
    denseHisto(v, start + HLL_HDR_SIZE, histo);
    return estimate(histo);
  }
  let idx = 0;
  let p = start + HLL_HDR_SIZE;
  const end = start + len;
  while (p < end) {
    const op = v[p];
    if (isZero(op)) {
      const r = (op & 0x3f) + 1;
      idx += r;
      histo[0] += r;
      p++;
    } else if (isXzero(op)) {
      // The second byte of a truncated opcode is Redis's sds terminator: 0.
      const r = (((op & 0x3f) << 8) | (p + 1 < end ? v[p + 1] : 0)) + 1;
      idx += r;
      histo[0] += r;
      p += 2;
    } else {
      const r = valLen(op);
      idx += r;
      histo[valValue(op)] += r;
      p++;
    }
  }
  if (idx !== HLL_REGISTERS) return -1;
  return estimate(histo);
}

/** hllCount of HLL_RAW registers (one byte each): PFCOUNT of several keys. */
export function rawCount(max: Uint8Array): number {
  histo.fill(0);
  for (let i = 0; i < HLL_REGISTERS; i++) histo[max[i]]++;
  return estimate(histo);
}

/** hllMerge: max[i] = MAX(max[i], register i of the HLL at v[start, start+len)); false if corrupt. */
export function hllMerge(max: Uint8Array, v: Uint8Array, start: number, len: number): boolean {
  if (v[start + 4] === HLL_DENSE) {
    const p = start + HLL_HDR_SIZE;
    for (let i = 0; i < HLL_REGISTERS; i++) {
      const val = denseGet(v, p, i);
      if (val > max[i]) max[i] = val;
    }
    return true;
  }
  let i = 0;
  let p = start + HLL_HDR_SIZE;
  const end = start + len;
  while (p < end) {
    const op = v[p];
    if (isZero(op)) {
      i += (op & 0x3f) + 1;
      p++;
    } else if (isXzero(op)) {
      i += (((op & 0x3f) << 8) | (p + 1 < end ? v[p + 1] : 0)) + 1;
      p += 2;
    } else {
      let runlen = valLen(op);
      const regval = valValue(op);
      if (runlen + i > HLL_REGISTERS) break;
      while (runlen--) {
        if (regval > max[i]) max[i] = regval;
        i++;
      }
      p++;
    }
  }
  return i === HLL_REGISTERS;
}

/** The cached cardinality, or -1 when its invalid bit is set. */
export function cachedCard(v: Uint8Array, start: number): number {
  if ((v[start + 15] & 0x80) !== 0) return -1;
  let hi = 0;
  let lo = 0;
  for (let i = 3; i >= 0; i--) lo = lo * 256 + v[start + 8 + i];
  for (let i = 3; i >= 0; i--) hi = hi * 256 + v[start + 12 + i];
  return hi * 4294967296 + lo;
}

export function setCachedCard(v: Uint8Array, start: number, card: number): void {
  let lo = card % 4294967296;
  let hi = Math.floor(card / 4294967296);
  for (let i = 0; i < 4; i++) {
    v[start + 8 + i] = lo & 0xff;
    lo = Math.floor(lo / 256);
    v[start + 12 + i] = hi & 0xff;
    hi = Math.floor(hi / 256);
  }
}

/** PFDEBUG DECODE's text of a sparse value. */
export function decodeSparse(v: Uint8Array, start: number, len: number): string {
  const parts: string[] = [];
  let p = start + HLL_HDR_SIZE;
  const end = start + len;
  while (p < end) {
    const op = v[p];
    if (isZero(op)) {
      parts.push(`z:${(op & 0x3f) + 1}`);
      p++;
    } else if (isXzero(op)) {
      parts.push(`Z:${(((op & 0x3f) << 8) | (p + 1 < end ? v[p + 1] : 0)) + 1}`);
      p += 2;
    } else {
      parts.push(`v:${valValue(op)},${valLen(op)}`);
      p++;
    }
  }
  return parts.join(' ');
}

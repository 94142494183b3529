// Redis's zskiplist (t_zset.c) in the shared heap, plus the member -> node hash table that makes
// up the "skiplist" encoding of sorted sets. Nodes carry level arrays with spans, so ranks are
// O(log n). The hash table is intrusive: each node is also its own hash chain entry, so one
// allocation per element holds the member bytes, the score, the levels and the chain link.
//
// Node layout (8-aligned, bytes from the node offset):
//   0 score f64 | 8 hnext u32 | 12 hash u32 | 16 backward u32 | 20 member length u32 | 24 level u32
//   28 + 8*i: level i forward u32, span u32 | 28 + 8*level: member bytes
// Zset object (40 bytes): 0 header node | 4 tail | 8 length | 12 level | 16 buckets | 20 mask
//   | 24 new buckets (0 unless rehashing) | 28 new mask | 32 rehash index
//   | 36 snapshot pin (0, or a snapshot's pin record + 1 while it writes this zset in chunks)
// Every stored address (hnext, backward, forwards, header, tail, buckets, new buckets and the
// bucket cells) is in 8-byte units (the heap passes 4 GiB): load `u32[w] * 8`, store `off / 8`.
// JS values (function arguments and results) are byte offsets.
// The member hash resizes incrementally, as Redis's dict: while rehashing, every insert and delete
// moves a few buckets from the old table to the new one, and lookups check both, so no single
// command pays for moving a million entries.

import type { Heap } from './heap';
import { rev32 } from './dict';

export const ZSKIPLIST_MAXLEVEL = 32;
const ZSKIPLIST_P = 0.25;
const NODE_HDR = 28;
const OBJ_BYTES = 40;
/** Buckets moved per insert/delete while rehashing (each may skip up to 10 empty ones). */
const REHASH_STEPS = 4;

// Scratch for insert/delete paths (one thread runs one command at a time). Node byte offsets:
// f64, as a u32 would wrap past 4 GiB.
const update = new Float64Array(ZSKIPLIST_MAXLEVEL);
const rankScratch = new Float64Array(ZSKIPLIST_MAXLEVEL);

export function memberHash(a: Uint8Array, off: number, len: number): number {
  let h = 0x811c9dc5;
  for (let i = off, e = off + len; i < e; i++) h = Math.imul(h ^ a[i], 0x01000193);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return h >>> 0;
}

/** memcmp-then-length comparison of two byte ranges (Redis's sdscmp). */
export function cmpBytes(a: Uint8Array, ao: number, al: number, b: Uint8Array, bo: number, bl: number): number {
  const n = al < bl ? al : bl;
  for (let i = 0; i < n; i++) {
    const d = a[ao + i] - b[bo + i];
    if (d !== 0) return d;
  }
  return al - bl;
}

// ---- node accessors ---------------------------------------------------------------------

export function nodeScore(h: Heap, n: number): number {
  return h.f64[n / 8];
}
export function nodeNext(h: Heap, n: number): number {
  return h.u32[(n + NODE_HDR) / 4] * 8;
}
export function nodePrev(h: Heap, n: number): number {
  return h.u32[(n + 16) / 4] * 8;
}
export function nodeMemberLen(h: Heap, n: number): number {
  return h.u32[(n + 20) / 4];
}
/** Heap offset of the member bytes. */
export function nodeMember(h: Heap, n: number): number {
  return n + NODE_HDR + 8 * h.u32[(n + 24) / 4];
}
function level(h: Heap, n: number): number {
  return h.u32[(n + 24) / 4];
}
function fwd(h: Heap, n: number, i: number): number {
  return h.u32[(n + NODE_HDR + 8 * i) / 4] * 8;
}
function setFwd(h: Heap, n: number, i: number, v: number): void {
  h.u32[(n + NODE_HDR + 8 * i) / 4] = v / 8;
}
function span(h: Heap, n: number, i: number): number {
  return h.u32[(n + NODE_HDR + 8 * i + 4) / 4];
}
function setSpan(h: Heap, n: number, i: number, v: number): void {
  h.u32[(n + NODE_HDR + 8 * i + 4) / 4] = v;
}
function nodeBytes(lvl: number, mlen: number): number {
  return NODE_HDR + 8 * lvl + mlen;
}

// ---- zset object accessors ----------------------------------------------------------------

export function zslHeader(h: Heap, zs: number): number {
  return h.u32[zs / 4] * 8;
}
export function zslTail(h: Heap, zs: number): number {
  return h.u32[zs / 4 + 1] * 8;
}
export function zslLength(h: Heap, zs: number): number {
  return h.u32[zs / 4 + 2];
}
/** First node (lowest score), or 0. */
export function zslFirst(h: Heap, zs: number): number {
  return fwd(h, zslHeader(h, zs), 0);
}

/**
 * Element hooks of a snapshot writing this zset in chunks (snapshot.ts installs them; they run
 * only for a zset whose pin word is set): `before` runs before node x is deleted or its score
 * changed, `after` once node x was inserted or moved. They keep the snapshot's copy of the
 * members it has not written yet, at O(log n) per change instead of copying the rest.
 */
export const zslPin: {
  before: ((h: Heap, zs: number, x: number) => void) | null;
  after: ((h: Heap, zs: number, x: number) => void) | null;
} = { before: null, after: null };

/** The snapshot pin word of a skiplist zset (0: not pinned). */
export function zslPinWord(h: Heap, zs: number): number {
  return h.u32[zs / 4 + 9];
}
export function zslSetPinWord(h: Heap, zs: number, v: number): void {
  h.u32[zs / 4 + 9] = v;
}

/** Order of two nodes: <0 when a sorts before b (score, then member bytes). */
export function zslCmpNodes(h: Heap, a: number, b: number): number {
  return cmpNode(h, a, h.f64[b / 8], h.u8, nodeMember(h, b), nodeMemberLen(h, b));
}

function randomLevel(): number {
  let l = 1;
  while (l < ZSKIPLIST_MAXLEVEL && Math.random() < ZSKIPLIST_P) l++;
  return l;
}

export function zslCreate(h: Heap): number {
  const zs = h.calloc(OBJ_BYTES);
  const hdr = h.calloc(nodeBytes(ZSKIPLIST_MAXLEVEL, 0));
  h.u32[(hdr + 24) / 4] = ZSKIPLIST_MAXLEVEL;
  const w = zs / 4;
  h.u32[w] = hdr / 8;
  h.u32[w + 1] = 0;
  h.u32[w + 2] = 0;
  h.u32[w + 3] = 1;
  h.u32[w + 4] = h.calloc(4 * 4) / 8;
  h.u32[w + 5] = 3;
  return zs;
}

function freeNode(h: Heap, n: number): void {
  h.free(n, nodeBytes(level(h, n), nodeMemberLen(h, n)));
}

export function zslFree(h: Heap, zs: number): void {
  const w = zs / 4;
  const hdr = h.u32[w] * 8;
  let n = fwd(h, hdr, 0);
  while (n !== 0) {
    const next = fwd(h, n, 0);
    freeNode(h, n);
    n = next;
  }
  h.free(hdr, nodeBytes(ZSKIPLIST_MAXLEVEL, 0));
  h.free(h.u32[w + 4] * 8, (h.u32[w + 5] + 1) * 4);
  if (h.u32[w + 6] !== 0) h.free(h.u32[w + 6] * 8, (h.u32[w + 7] + 1) * 4);
  h.free(zs, OBJ_BYTES);
}

/** Compare node n with (score, member): <0 if the node sorts first. */
function cmpNode(h: Heap, n: number, score: number, m: Uint8Array, mo: number, ml: number): number {
  const s = h.f64[n / 8];
  if (s < score) return -1;
  if (s > score) return 1;
  const u8 = h.u8;
  return cmpBytes(u8, nodeMember(h, n), nodeMemberLen(h, n), m, mo, ml);
}

// ---- hash table ------------------------------------------------------------------------------

/** The node holding member, or 0. */
export function zslFind(h: Heap, zs: number, m: Uint8Array, mo: number, ml: number): number {
  const w = zs / 4;
  const hv = memberHash(m, mo, ml);
  const u32 = h.u32;
  const u8 = h.u8;
  for (let t = 4; ; t = 6) {
    let n = u32[u32[w + t] * 2 + (hv & u32[w + t + 1])] * 8;
    while (n !== 0) {
      if (u32[(n + 12) / 4] === hv && u32[(n + 20) / 4] === ml) {
        const at = nodeMember(h, n);
        let i = 0;
        while (i < ml && u8[at + i] === m[mo + i]) i++;
        if (i === ml) return n;
      }
      n = u32[(n + 8) / 4] * 8;
    }
    if (t === 6 || u32[w + 6] === 0) return 0;
  }
}

/** Start moving the member hash to a table of `size` buckets (not while a rehash runs). */
function startRehash(h: Heap, zs: number, size: number): void {
  const w = zs / 4;
  const nb = h.calloc(size * 4);
  const u32 = h.u32;
  u32[w + 6] = nb / 8;
  u32[w + 7] = size - 1;
  u32[w + 8] = 0;
}

/** Move up to n buckets (visiting at most n*10 empty ones) to the new table. */
function rehashStep(h: Heap, zs: number, n: number): void {
  const w = zs / 4;
  const u32 = h.u32;
  if (u32[w + 6] === 0) return;
  let idx = u32[w + 8];
  // Word indices of the two bucket arrays (stored in 8-byte units: 2 words per unit).
  const b0 = u32[w + 4] * 2;
  const mask0 = u32[w + 5];
  const b1 = u32[w + 6] * 2;
  const mask1 = u32[w + 7];
  let empty = n * 10;
  while (n > 0 && idx <= mask0) {
    let e = u32[b0 + idx];
    if (e === 0) {
      idx++;
      if (--empty === 0) break;
      continue;
    }
    // e and the links stay in 8-byte units here (moved, never dereferenced but for words 2, 3).
    while (e !== 0) {
      const ew = e * 2;
      const next = u32[ew + 2];
      const cell = b1 + (u32[ew + 3] & mask1);
      u32[ew + 2] = u32[cell];
      u32[cell] = e;
      e = next;
    }
    u32[b0 + idx] = 0;
    idx++;
    n--;
  }
  if (idx > mask0) {
    h.free(u32[w + 4] * 8, (mask0 + 1) * 4);
    u32[w + 4] = u32[w + 6];
    u32[w + 5] = mask1;
    u32[w + 6] = 0;
    u32[w + 7] = 0;
    u32[w + 8] = 0;
  } else {
    u32[w + 8] = idx;
  }
}

function hashAdd(h: Heap, zs: number, n: number): void {
  const w = zs / 4;
  const u32 = h.u32;
  rehashStep(h, zs, REHASH_STEPS);
  const t = u32[w + 6] !== 0 ? 6 : 4;
  const cell = u32[w + t] * 2 + (u32[(n + 12) / 4] & u32[w + t + 1]);
  u32[(n + 8) / 4] = u32[cell];
  u32[cell] = n / 8;
  // length is counted by the skiplist; grow at load factor 1.
  if (t === 4 && u32[w + 2] > u32[w + 5] + 1) startRehash(h, zs, (u32[w + 5] + 1) * 2);
}

function hashRemove(h: Heap, zs: number, n: number): void {
  const w = zs / 4;
  const u32 = h.u32;
  rehashStep(h, zs, REHASH_STEPS);
  for (let t = 4; ; t = 6) {
    let link = u32[w + t] * 2 + (u32[(n + 12) / 4] & u32[w + t + 1]);
    let p = u32[link] * 8;
    while (p !== 0) {
      if (p === n) {
        u32[link] = u32[(n + 8) / 4];
        return;
      }
      link = (p + 8) / 4;
      p = u32[link] * 8;
    }
    if (t === 6 || u32[w + 6] === 0) break;
  }
  throw new Error('skiplist: node missing from its hash table');
}

function maybeShrink(h: Heap, zs: number): void {
  const w = zs / 4;
  if (h.u32[w + 6] !== 0) return;
  const size = h.u32[w + 5] + 1;
  const used = h.u32[w + 2];
  if (size > 16 && used * 8 < size) {
    let ns = 4;
    while (ns < used) ns *= 2;
    startRehash(h, zs, ns);
  }
}

// ---- skiplist operations ---------------------------------------------------------------------

/** Link an existing node (its level and score set) into the list, as zslInsert does. */
function link(h: Heap, zs: number, x: number): void {
  const w = zs / 4;
  const u32 = h.u32;
  const hdr = u32[w] * 8;
  const score = h.f64[x / 8];
  const mo = nodeMember(h, x);
  const ml = nodeMemberLen(h, x);
  const u8 = h.u8;
  let zlevel = u32[w + 3];
  let p = hdr;
  // The walk is the cost of an insert into a big set (cache misses): arrays in locals, the rank
  // in a register.
  let rank = 0;
  for (let i = zlevel - 1; i >= 0; i--) {
    for (;;) {
      const at = (p + NODE_HDR + 8 * i) / 4;
      const f = u32[at] * 8;
      if (f === 0) break;
      if (cmpNode(h, f, score, u8, mo, ml) >= 0) break;
      rank += u32[at + 1];
      p = f;
    }
    rankScratch[i] = rank;
    update[i] = p;
  }
  const lvl = level(h, x);
  const length = u32[w + 2];
  if (lvl > zlevel) {
    for (let i = zlevel; i < lvl; i++) {
      rankScratch[i] = 0;
      update[i] = hdr;
      setSpan(h, hdr, i, length);
    }
    zlevel = lvl;
    u32[w + 3] = lvl;
  }
  for (let i = 0; i < lvl; i++) {
    const u = update[i];
    setFwd(h, x, i, fwd(h, u, i));
    setFwd(h, u, i, x);
    setSpan(h, x, i, span(h, u, i) - (rankScratch[0] - rankScratch[i]));
    setSpan(h, u, i, rankScratch[0] - rankScratch[i] + 1);
  }
  for (let i = lvl; i < zlevel; i++) setSpan(h, update[i], i, span(h, update[i], i) + 1);
  u32[(x + 16) / 4] = update[0] === hdr ? 0 : update[0] / 8;
  const next = fwd(h, x, 0);
  if (next !== 0) u32[(next + 16) / 4] = x / 8;
  else u32[w + 1] = x / 8;
  u32[w + 2] = length + 1;
}

/** Unlink node x (fills update[] by searching for it first). */
function unlink(h: Heap, zs: number, x: number): void {
  const w = zs / 4;
  const u32 = h.u32;
  const hdr = u32[w] * 8;
  const score = h.f64[x / 8];
  const mo = nodeMember(h, x);
  const ml = nodeMemberLen(h, x);
  const u8 = h.u8;
  let zlevel = u32[w + 3];
  let p = hdr;
  for (let i = zlevel - 1; i >= 0; i--) {
    for (;;) {
      const f = u32[(p + NODE_HDR + 8 * i) / 4] * 8;
      if (f === 0 || f === x || cmpNode(h, f, score, u8, mo, ml) >= 0) break;
      p = f;
    }
    update[i] = p;
  }
  for (let i = 0; i < zlevel; i++) {
    const u = update[i];
    if (fwd(h, u, i) === x) {
      setSpan(h, u, i, span(h, u, i) + span(h, x, i) - 1);
      setFwd(h, u, i, fwd(h, x, i));
    } else {
      setSpan(h, u, i, span(h, u, i) - 1);
    }
  }
  const next = fwd(h, x, 0);
  if (next !== 0) u32[(next + 16) / 4] = u32[(x + 16) / 4];
  else u32[w + 1] = u32[(x + 16) / 4];
  while (zlevel > 1 && fwd(h, hdr, zlevel - 1) === 0) zlevel--;
  u32[w + 3] = zlevel;
  u32[w + 2]--;
}

/** Insert a member that is not present. Returns the node. */
export function zslInsert(h: Heap, zs: number, score: number, m: Uint8Array, mo: number, ml: number): number {
  const lvl = randomLevel();
  const x = h.alloc(nodeBytes(lvl, ml));
  const u32 = h.u32;
  h.f64[x / 8] = score;
  u32[(x + 8) / 4] = 0;
  u32[(x + 12) / 4] = memberHash(m, mo, ml);
  u32[(x + 20) / 4] = ml;
  u32[(x + 24) / 4] = lvl;
  h.u8.set(ml === m.length && mo === 0 ? m : m.subarray(mo, mo + ml), x + NODE_HDR + 8 * lvl);
  link(h, zs, x);
  hashAdd(h, zs, x);
  if (u32[zs / 4 + 9] !== 0 && zslPin.after !== null) zslPin.after(h, zs, x);
  return x;
}

/** Remove and free a node. */
export function zslDelete(h: Heap, zs: number, x: number): void {
  if (h.u32[zs / 4 + 9] !== 0 && zslPin.before !== null) zslPin.before(h, zs, x);
  unlink(h, zs, x);
  hashRemove(h, zs, x);
  freeNode(h, x);
  maybeShrink(h, zs);
}

/** Change a node's score, moving it if the order changes. Returns the node. */
export function zslUpdateScore(h: Heap, zs: number, x: number, score: number): number {
  const pinned = h.u32[zs / 4 + 9] !== 0 && zslPin.before !== null;
  if (pinned) (zslPin.before as (h: Heap, zs: number, x: number) => void)(h, zs, x);
  const prev = nodePrev(h, x);
  const next = nodeNext(h, x);
  const u8 = h.u8;
  const mo = nodeMember(h, x);
  const ml = nodeMemberLen(h, x);
  if ((prev === 0 || cmpNode(h, prev, score, u8, mo, ml) < 0) && (next === 0 || cmpNode(h, next, score, u8, mo, ml) > 0)) {
    h.f64[x / 8] = score;
    if (pinned) (zslPin.after as (h: Heap, zs: number, x: number) => void)(h, zs, x);
    return x;
  }
  unlink(h, zs, x);
  h.f64[x / 8] = score;
  link(h, zs, x);
  if (pinned) (zslPin.after as (h: Heap, zs: number, x: number) => void)(h, zs, x);
  return x;
}

/** 1-based rank of node x. */
export function zslGetRank(h: Heap, zs: number, x: number): number {
  const w = zs / 4;
  const score = h.f64[x / 8];
  const mo = nodeMember(h, x);
  const ml = nodeMemberLen(h, x);
  const u8 = h.u8;
  const u32 = h.u32;
  let p = u32[w] * 8;
  let rank = 0;
  for (let i = u32[w + 3] - 1; i >= 0; i--) {
    for (;;) {
      const at = (p + NODE_HDR + 8 * i) / 4;
      const f = u32[at] * 8;
      if (f === 0 || (f !== x && cmpNode(h, f, score, u8, mo, ml) > 0)) break;
      rank += u32[at + 1];
      p = f;
      if (p === x) return rank;
    }
  }
  return 0;
}

/** Node at a 1-based rank, or 0. */
export function zslByRank(h: Heap, zs: number, rank: number): number {
  const w = zs / 4;
  const u32 = h.u32;
  let p = u32[w] * 8;
  let traversed = 0;
  for (let i = u32[w + 3] - 1; i >= 0; i--) {
    for (;;) {
      const at = (p + NODE_HDR + 8 * i) / 4;
      const f = u32[at] * 8;
      if (f === 0 || traversed + u32[at + 1] > rank) break;
      traversed += u32[at + 1];
      p = f;
    }
    if (traversed === rank) return p;
  }
  return 0;
}

// ---- ranges ------------------------------------------------------------------------------------

/** A score range as zslParseRange makes it. */
export class ScoreRange {
  min = 0;
  max = 0;
  minex = false;
  maxex = false;
  gteMin(v: number): boolean {
    return this.minex ? v > this.min : v >= this.min;
  }
  lteMax(v: number): boolean {
    return this.maxex ? v < this.max : v <= this.max;
  }
  empty(): boolean {
    return this.min > this.max || (this.min === this.max && (this.minex || this.maxex));
  }
}

/** A lex range: kind -1 is '-' (below everything), 1 is '+' (above everything), 0 a value. */
export class LexRange {
  minKind = 0;
  maxKind = 0;
  min: Buffer = Buffer.alloc(0);
  max: Buffer = Buffer.alloc(0);
  minex = false;
  maxex = false;
  /** Compare member with the min item. */
  private cmpMin(a: Uint8Array, o: number, l: number): number {
    if (this.minKind !== 0) return -this.minKind;
    return cmpBytes(a, o, l, this.min, 0, this.min.length);
  }
  private cmpMax(a: Uint8Array, o: number, l: number): number {
    if (this.maxKind !== 0) return -this.maxKind;
    return cmpBytes(a, o, l, this.max, 0, this.max.length);
  }
  gteMin(a: Uint8Array, o: number, l: number): boolean {
    const c = this.cmpMin(a, o, l);
    return this.minex ? c > 0 : c >= 0;
  }
  lteMax(a: Uint8Array, o: number, l: number): boolean {
    const c = this.cmpMax(a, o, l);
    return this.maxex ? c < 0 : c <= 0;
  }
  empty(): boolean {
    let c: number;
    if (this.minKind !== 0 && this.minKind === this.maxKind) c = 0;
    else if (this.minKind === -1 || this.maxKind === 1) c = -1;
    else if (this.minKind === 1 || this.maxKind === -1) c = 1;
    else c = cmpBytes(this.min, 0, this.min.length, this.max, 0, this.max.length);
    return c > 0 || (c === 0 && (this.minex || this.maxex));
  }
}

function gteMinNode(h: Heap, r: ScoreRange | LexRange, n: number): boolean {
  if (r instanceof ScoreRange) return r.gteMin(h.f64[n / 8]);
  return r.gteMin(h.u8, nodeMember(h, n), nodeMemberLen(h, n));
}
function lteMaxNode(h: Heap, r: ScoreRange | LexRange, n: number): boolean {
  if (r instanceof ScoreRange) return r.lteMax(h.f64[n / 8]);
  return r.lteMax(h.u8, nodeMember(h, n), nodeMemberLen(h, n));
}

function inRange(h: Heap, zs: number, r: ScoreRange | LexRange): boolean {
  if (r.empty()) return false;
  const tail = zslTail(h, zs);
  if (tail === 0 || !gteMinNode(h, r, tail)) return false;
  const first = zslFirst(h, zs);
  return first !== 0 && lteMaxNode(h, r, first);
}

/** 1-based rank of the node the last zslFirstInRange / zslLastInRange returned (0 if none). */
let rangeRank = 0;
export function zslRangeRank(): number {
  return rangeRank;
}

/** First node inside the range, or 0. */
export function zslFirstInRange(h: Heap, zs: number, r: ScoreRange | LexRange): number {
  rangeRank = 0;
  if (!inRange(h, zs, r)) return 0;
  const w = zs / 4;
  let p = h.u32[w] * 8;
  let rank = 0;
  for (let i = h.u32[w + 3] - 1; i >= 0; i--) {
    for (;;) {
      const f = fwd(h, p, i);
      if (f === 0 || gteMinNode(h, r, f)) break;
      rank += span(h, p, i);
      p = f;
    }
  }
  p = fwd(h, p, 0);
  if (p === 0 || !lteMaxNode(h, r, p)) return 0;
  rangeRank = rank + 1;
  return p;
}

/** Last node inside the range, or 0. */
export function zslLastInRange(h: Heap, zs: number, r: ScoreRange | LexRange): number {
  rangeRank = 0;
  if (!inRange(h, zs, r)) return 0;
  const w = zs / 4;
  let p = h.u32[w] * 8;
  let rank = 0;
  for (let i = h.u32[w + 3] - 1; i >= 0; i--) {
    for (;;) {
      const f = fwd(h, p, i);
      if (f === 0 || !lteMaxNode(h, r, f)) break;
      rank += span(h, p, i);
      p = f;
    }
  }
  if (p === h.u32[w] * 8 || !gteMinNode(h, r, p)) return 0;
  rangeRank = rank;
  return p;
}

// ---- hash scan (ZSCAN) -------------------------------------------------------------------------

/** One dictScan step over the member hash (reverse-binary cursor). Returns the next cursor. */
export function zslScan(h: Heap, zs: number, cursor: number, out: number[]): number {
  const w = zs / 4;
  const u32 = h.u32;
  let v = cursor >>> 0;
  if (u32[w + 6] === 0) {
    const mask = u32[w + 5];
    scanBucket(u32, u32[w + 4], v & mask, out);
    v = (v | ~mask) >>> 0;
    v = rev32(v);
    v = (v + 1) >>> 0;
    return rev32(v);
  }
  // Rehashing (dictScan): the smaller table's bucket, then every bucket of the larger table that
  // it expands to.
  let t0 = 4;
  let t1 = 6;
  if (u32[w + 5] > u32[w + 7]) {
    t0 = 6;
    t1 = 4;
  }
  const m0 = u32[w + t0 + 1];
  const m1 = u32[w + t1 + 1];
  scanBucket(u32, u32[w + t0], v & m0, out);
  do {
    scanBucket(u32, u32[w + t1], v & m1, out);
    v = (v | ~m1) >>> 0;
    v = rev32(v);
    v = (v + 1) >>> 0;
    v = rev32(v);
  } while ((v & (m0 ^ m1)) !== 0);
  return v;
}

/** Push the nodes of bucket b of a table (bucketsUnits: the array's address in 8-byte units). */
function scanBucket(u32: Uint32Array, bucketsUnits: number, b: number, out: number[]): void {
  for (let n = u32[bucketsUnits * 2 + b] * 8; n !== 0; n = u32[(n + 8) / 4] * 8) out.push(n);
}

// ---- copy and check ------------------------------------------------------------------------

export function zslCopy(h: Heap, zs: number): number {
  const nz = zslCreate(h);
  const u8 = h.u8;
  for (let n = zslFirst(h, zs); n !== 0; n = nodeNext(h, n)) {
    zslInsert(h, nz, nodeScore(h, n), u8, nodeMember(h, n), nodeMemberLen(h, n));
  }
  return nz;
}

export function zslCheck(h: Heap, zs: number, problems: string[]): void {
  const w = zs / 4;
  const u32 = h.u32;
  const hdr = u32[w] * 8;
  const length = u32[w + 2];
  const zlevel = u32[w + 3];
  if (zlevel < 1 || zlevel > ZSKIPLIST_MAXLEVEL) {
    problems.push(`zset skiplist: bad level ${zlevel}`);
    return;
  }
  // Level 0: order, backward links, count, hash membership.
  let prev = 0;
  let count = 0;
  const u8 = h.u8;
  for (let n = fwd(h, hdr, 0); n !== 0; n = fwd(h, n, 0)) {
    if (++count > length + 1) {
      problems.push('zset skiplist: level 0 longer than its length (cycle?)');
      return;
    }
    if (nodePrev(h, n) !== prev) problems.push('zset skiplist: bad backward link');
    const s = nodeScore(h, n);
    if (Number.isNaN(s)) problems.push('zset skiplist: NaN score');
    if (prev !== 0 && cmpNode(h, prev, s, u8, nodeMember(h, n), nodeMemberLen(h, n)) >= 0) problems.push('zset skiplist: nodes out of order');
    if (zslFind(h, zs, u8, nodeMember(h, n), nodeMemberLen(h, n)) !== n) problems.push('zset skiplist: node not found through the hash table');
    if (level(h, n) < 1 || level(h, n) > zlevel) problems.push('zset skiplist: node level out of range');
    prev = n;
  }
  if (count !== length) problems.push(`zset skiplist: length ${length} but ${count} nodes`);
  if (zslTail(h, zs) !== prev) problems.push('zset skiplist: bad tail');
  // Every level: spans add up to ranks.
  for (let i = 0; i < zlevel; i++) {
    let p = hdr;
    let rank = 0;
    for (;;) {
      const f = fwd(h, p, i);
      if (f === 0) break;
      rank += span(h, p, i);
      if (zslGetRank(h, zs, f) !== rank) {
        problems.push(`zset skiplist: span mismatch at level ${i}`);
        break;
      }
      p = f;
    }
  }
  // Hash tables hold exactly the nodes (buckets below the rehash index already moved).
  let hcount = 0;
  const rehashing = u32[w + 6] !== 0;
  for (let t = 4; t <= (rehashing ? 6 : 4); t += 2) {
    const mask = u32[w + t + 1];
    for (let b = 0; b <= mask; b++) {
      const first = u32[u32[w + t] * 2 + b] * 8;
      if (t === 4 && rehashing && b < u32[w + 8] && first !== 0) problems.push('zset skiplist: bucket left behind by the rehash');
      for (let n = first; n !== 0; n = u32[(n + 8) / 4] * 8) {
        if ((u32[(n + 12) / 4] & mask) !== b) problems.push('zset skiplist: hash entry in the wrong bucket');
        if (++hcount > length + 1) break;
      }
    }
  }
  if (hcount !== length) problems.push(`zset skiplist: hash holds ${hcount} entries, length ${length}`);
}

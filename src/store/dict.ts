// A chained hash table in the shared heap for the members of collections (Redis's dict.c):
// set members (member only), hash fields (field -> value bytes) and sorted-set members
// (member -> f64 score). Two tables while rehashing; the rehash is incremental and bounded: every
// add and delete moves a few buckets, reads never change the structure (so a read-only command
// can hold views and iterators safely) except dictRandom's one step (see there). SCAN uses Redis's reverse-binary cursor, so members
// present for a whole scan are returned at least once even across resizes.
//
// Every address stored in the heap (bucket arrays, bucket cells, entry next links) is in 8-byte
// units (address / 8; 0 = none), so addresses past 4 GiB fit a u32 word.
// Header (40 bytes):
//   0 t0 buckets (units) | 4 t0 mask | 8 t0 used | 12 t1 buckets (units) | 16 t1 mask | 20 t1 used
//   24 rehashIdx (i32, -1 when not rehashing) | 28 kind
//   32 snapshot pin (0, or a snapshot's pin record + 1 while it writes this dict in chunks: the
//      rehash pauses, so an entry stays in its table and bucket, which tells the snapshot's
//      walker whether it was written already) | 36 spare
// Entry (allocated per member):
//   0 next (units) | 4 hash | 8 key length | 12 size class of the block | then by kind:
//   DICT_SET:  key bytes at 16
//   DICT_HASH: 16 value length, key bytes at 20, value bytes right after the key
//   DICT_ZSET: 16 score (f64), key bytes at 24
//
// Entry offsets handed out are valid until the next add/delete on the same dict (or until the
// caller releases the slot lock). Views returned by dictKey/dictVal alias the heap: copy them
// before the entry may be freed.

import { Heap, HEAP_DATA_START, classOf, classSize } from './heap';

export const DICT_SET = 0;
export const DICT_HASH = 1;
export const DICT_ZSET = 2;

const HDR = 40;
const MIN_SIZE = 4;
/**
 * Buckets moved per write operation while rehashing (each may skip up to 10 empty ones): 1, as
 * Redis's _dictRehashStep, so a rehash lasts as many operations as Redis's (DEBUG HTSTATS-KEY).
 */
const REHASH_STEPS = 1;
/** Shrink when fewer than 1 in 10 buckets is used (Redis's HT_MIN_FILL). */
const MIN_FILL = 10;
/** While a save runs, resizes only past this ratio (Redis's dict_force_resize_ratio). */
const FORCE_RATIO = 5;

/**
 * Redis's resize policy follows its fork child (updateDictResizePolicy, DICT_RESIZE_AVOID): while a
 * save runs a dict does not shrink, grows only once it holds 5 times its buckets, and a rehash
 * under way moves on only between tables 5 times apart in size. Here the save is the snapshot
 * (its stand-in child lives as long): heap.i32[snapshotWord] is not 0 while one runs (the
 * store's MISC_SNAPSHOT word; Store sets the index in every thread). -1: no policy (unit tests).
 */
let snapshotWord = -1;
export function dictPolicyWord(index: number): void {
  snapshotWord = index;
}
function avoiding(heap: Heap): boolean {
  return snapshotWord >= 0 && heap.i32[snapshotWord] !== 0;
}
/** A rehash step may run (always, unless a save runs and the tables are close in size). */
function mayRehash(heap: Heap, w: number): boolean {
  if (!avoiding(heap)) return true;
  const s0 = heap.u32[w + 1] + 1;
  const s1 = heap.u32[w + 4] + 1;
  return (s0 > s1 ? s0 / s1 : s1 / s0) >= FORCE_RATIO;
}

const keyAt = [16, 20, 24];

// Where the last dictFind found its entry: the heap address of the u32 that points to it.
let lastLink = 0;
let lastTb = 0;
/** After dictAdd / dictAddRaw returned 0: the entry that already holds the key. */
export let dictExisting = 0;

/**
 * Element hooks of a snapshot writing this dict in chunks (snapshot.ts installs them; they run
 * only for a dict whose pin word is set): `before` runs before entry e (in table tb) is deleted
 * or its value replaced, `after` once entry e was linked into table tb (added, or moved by a
 * value replacement).
 */
export const dictPin: {
  before: ((heap: Heap, d: number, e: number, tb: number) => void) | null;
  after: ((heap: Heap, d: number, e: number, tb: number) => void) | null;
} = { before: null, after: null };

export function dictPinWord(heap: Heap, d: number): number {
  return heap.u32[d / 4 + 8];
}
export function dictSetPinWord(heap: Heap, d: number, v: number): void {
  heap.u32[d / 4 + 8] = v;
}

/** Hash of a byte string (FNV-1a with a final avalanche). */
export function dictHash(key: Uint8Array, start = 0, end = key.length): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ key[i], 0x01000193);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  h = Math.imul(h, 0x297a2d39);
  h ^= h >>> 15;
  return h >>> 0;
}

function nextPow2(n: number): number {
  let s = MIN_SIZE;
  while (s < n && s < 0x40000000) s *= 2;
  return s;
}

/** A new empty dict of the given kind, presized for `hint` members. */
export function dictCreate(heap: Heap, kind: number, hint = 0): number {
  const d = heap.alloc(HDR);
  const u32 = heap.u32;
  const w = d / 4;
  const size = nextPow2(hint);
  u32[w] = heap.calloc(size * 4) / 8;
  u32[w + 1] = size - 1;
  u32[w + 2] = 0;
  u32[w + 3] = 0;
  u32[w + 4] = 0;
  u32[w + 5] = 0;
  heap.i32[w + 6] = -1;
  u32[w + 7] = kind;
  u32[w + 8] = 0;
  u32[w + 9] = 0;
  return d;
}

export function dictKind(heap: Heap, d: number): number {
  return heap.u32[d / 4 + 7];
}

export function dictSize(heap: Heap, d: number): number {
  const w = d / 4;
  return heap.u32[w + 2] + heap.u32[w + 5];
}

export function dictIsRehashing(heap: Heap, d: number): boolean {
  return heap.i32[d / 4 + 6] >= 0;
}

// ---- entry accessors ------------------------------------------------------------------

/** Key length of an entry. */
export function dictKeyLen(heap: Heap, e: number): number {
  return heap.u32[e / 4 + 2];
}

/** Heap offset of an entry's key bytes, for a dict of `kind`. */
export function dictKeyOff(kind: number, e: number): number {
  return e + keyAt[kind];
}

/** A view of the key bytes (aliases the heap). */
export function dictKey(heap: Heap, kind: number, e: number): Uint8Array {
  const at = e + keyAt[kind];
  return heap.u8.subarray(at, at + heap.u32[e / 4 + 2]);
}

/** DICT_HASH: heap offset of the value bytes. */
export function dictValOff(heap: Heap, e: number): number {
  return e + 20 + heap.u32[e / 4 + 2];
}

/** DICT_HASH: value length. */
export function dictValLen(heap: Heap, e: number): number {
  return heap.u32[e / 4 + 4];
}

/** DICT_HASH: a view of the value bytes (aliases the heap). */
export function dictVal(heap: Heap, e: number): Uint8Array {
  const at = e + 20 + heap.u32[e / 4 + 2];
  return heap.u8.subarray(at, at + heap.u32[e / 4 + 4]);
}

/** DICT_ZSET: the score. */
export function dictScore(heap: Heap, e: number): number {
  return heap.f64[e / 8 + 2];
}

/** DICT_ZSET: change the score in place. */
export function dictSetScore(heap: Heap, e: number, score: number): void {
  heap.f64[e / 8 + 2] = score;
}

// ---- resizing -------------------------------------------------------------------------
// The keyspace's per-slot tables (keyspace.ts) share this header's first seven words and the
// entries' first two (next, hash), so they resize and rehash with these same two functions.

export function startResize(heap: Heap, d: number, size: number): void {
  const w = d / 4;
  heap.u32[w + 3] = heap.calloc(size * 4) / 8;
  heap.u32[w + 4] = size - 1;
  heap.u32[w + 5] = 0;
  heap.i32[w + 6] = 0;
}

/** Move up to n buckets from t0 to t1 (visiting at most n*10 empty ones). */
export function rehash(heap: Heap, d: number, n: number): void {
  const u32 = heap.u32;
  const w = d / 4;
  let idx = heap.i32[w + 6];
  if (idx < 0) return;
  // Word indices of the two bucket arrays (stored in units: * 8 / 4).
  const b0 = u32[w] * 2;
  const mask0 = u32[w + 1];
  const b1 = u32[w + 3] * 2;
  const mask1 = u32[w + 4];
  let empty = n * 10;
  while (n > 0 && idx <= mask0) {
    let e = u32[b0 + idx] * 8;
    if (e === 0) {
      idx++;
      if (--empty === 0) break;
      continue;
    }
    while (e !== 0) {
      const ew = e / 4;
      const next = u32[ew] * 8;
      const cell = b1 + (u32[ew + 1] & mask1);
      u32[ew] = u32[cell];
      u32[cell] = e / 8;
      u32[w + 2]--;
      u32[w + 5]++;
      e = next;
    }
    u32[b0 + idx] = 0;
    idx++;
    n--;
  }
  if (idx > mask0) {
    heap.free(u32[w] * 8, (mask0 + 1) * 4);
    u32[w] = u32[w + 3];
    u32[w + 1] = mask1;
    u32[w + 2] = u32[w + 5];
    u32[w + 3] = 0;
    u32[w + 4] = 0;
    u32[w + 5] = 0;
    heap.i32[w + 6] = -1;
  } else {
    heap.i32[w + 6] = idx;
  }
}

/** Finish any rehash at once. */
function rehashAll(heap: Heap, d: number): void {
  if (heap.u32[d / 4 + 8] !== 0) return; // a snapshot pauses it
  while (heap.i32[d / 4 + 6] >= 0) rehash(heap, d, 1024);
}

/** Presize for `n` members (Redis's dictExpand): a no-op if already big enough. */
export function dictExpand(heap: Heap, d: number, n: number): void {
  if (heap.u32[d / 4 + 8] !== 0) return; // a snapshot pauses rehashing: no presizing
  rehashAll(heap, d);
  const w = d / 4;
  const size = nextPow2(n);
  if (size <= heap.u32[w + 1] + 1) return;
  startResize(heap, d, size);
  rehashAll(heap, d);
}

function growIfNeeded(heap: Heap, d: number): void {
  const u32 = heap.u32;
  const w = d / 4;
  if (heap.i32[w + 6] >= 0) return;
  const size = u32[w + 1] + 1;
  if (u32[w + 2] >= size && (!avoiding(heap) || Math.floor(u32[w + 2] / size) > FORCE_RATIO)) startResize(heap, d, nextPow2(u32[w + 2] + 1));
}

function shrinkIfNeeded(heap: Heap, d: number): void {
  const u32 = heap.u32;
  const w = d / 4;
  if (heap.i32[w + 6] >= 0 || avoiding(heap)) return;
  const size = u32[w + 1] + 1;
  const used = u32[w + 2];
  if (size > MIN_SIZE && used * 100 < size * MIN_FILL) {
    const ns = nextPow2(used);
    if (ns < size) startResize(heap, d, ns);
  }
}

// ---- lookup ---------------------------------------------------------------------------

function keyEquals(u8: Uint8Array, at: number, key: Uint8Array, klen: number): boolean {
  for (let i = 0; i < klen; i++) if (u8[at + i] !== key[i]) return false;
  return true;
}

function locate(heap: Heap, d: number, key: Uint8Array, h: number): number {
  const u32 = heap.u32;
  const u8 = heap.u8;
  const w = d / 4;
  const ka = keyAt[u32[w + 7]];
  const klen = key.length;
  for (let tb = 0; tb < 2; tb++) {
    const buckets = u32[w + tb * 3] * 8;
    if (buckets === 0) break;
    let link = buckets + (h & u32[w + tb * 3 + 1]) * 4;
    let e = u32[link / 4] * 8;
    while (e !== 0) {
      const ew = e / 4;
      if (u32[ew + 1] === h && u32[ew + 2] === klen && keyEquals(u8, e + ka, key, klen)) {
        lastLink = link;
        lastTb = tb;
        return e;
      }
      link = e;
      e = u32[ew] * 8;
    }
    if (heap.i32[w + 6] < 0) break;
  }
  return 0;
}

/** The entry holding key, or 0. Never changes the dict. */
export function dictFind(heap: Heap, d: number, key: Uint8Array): number {
  return locate(heap, d, key, dictHash(key));
}

/** Find with a precomputed dictHash(key) (probing several dicts with one member). */
export function dictFindHashed(heap: Heap, d: number, key: Uint8Array, h: number): number {
  return locate(heap, d, key, h);
}

// ---- insertion ------------------------------------------------------------------------

function newEntry(heap: Heap, kind: number, key: Uint8Array, h: number, vlen: number): number {
  const ka = keyAt[kind];
  const size = ka + key.length + (kind === DICT_HASH ? vlen : 0);
  const cls = classOf(size);
  const e = heap.alloc(size);
  const u32 = heap.u32;
  const ew = e / 4;
  u32[ew + 1] = h;
  u32[ew + 2] = key.length;
  u32[ew + 3] = cls;
  if (kind === DICT_HASH) u32[ew + 4] = vlen;
  else if (kind === DICT_ZSET) heap.f64[e / 8 + 2] = 0;
  heap.u8.set(key, e + ka);
  return e;
}

function link(heap: Heap, d: number, e: number, h: number): void {
  const u32 = heap.u32;
  const w = d / 4;
  const tb = heap.i32[w + 6] >= 0 ? 1 : 0;
  const cell = u32[w + tb * 3] * 2 + (h & u32[w + tb * 3 + 1]); // bucket array in units: * 8 / 4
  u32[e / 4] = u32[cell];
  u32[cell] = e / 8;
  u32[w + tb * 3 + 2]++;
}

/**
 * Add key with room for vlen value bytes (DICT_HASH; 0 otherwise). Returns the new entry, or 0
 * when the key exists (dictExisting is then that entry).
 */
export function dictAddRaw(heap: Heap, d: number, key: Uint8Array, vlen = 0): number {
  const w = d / 4;
  const pinned = heap.u32[w + 8] !== 0;
  if (heap.i32[w + 6] >= 0 && !pinned && mayRehash(heap, w)) rehash(heap, d, REHASH_STEPS);
  const h = dictHash(key);
  const found = locate(heap, d, key, h);
  if (found !== 0) {
    dictExisting = found;
    return 0;
  }
  dictExisting = 0;
  growIfNeeded(heap, d);
  const e = newEntry(heap, heap.u32[w + 7], key, h, vlen);
  link(heap, d, e, h);
  if (pinned && dictPin.after !== null) dictPin.after(heap, d, e, heap.i32[w + 6] >= 0 ? 1 : 0);
  return e;
}

/** Add a member (sets): the new entry, or 0 if it was there (dictExisting). */
export function dictAdd(heap: Heap, d: number, key: Uint8Array): number {
  return dictAddRaw(heap, d, key, 0);
}

/** DICT_ZSET: add member with score; the new entry, or 0 if present (score unchanged). */
export function dictAddScore(heap: Heap, d: number, key: Uint8Array, score: number): number {
  const e = dictAddRaw(heap, d, key, 0);
  if (e !== 0) heap.f64[e / 8 + 2] = score;
  return e;
}

/**
 * DICT_HASH: set field to value, creating it or replacing its value. Returns true when the field
 * was created.
 */
export function dictSet(heap: Heap, d: number, key: Uint8Array, val: Uint8Array): boolean {
  const e = dictAddRaw(heap, d, key, val.length);
  if (e !== 0) {
    heap.u8.set(val, e + 20 + key.length);
    return true;
  }
  dictReplaceVal(heap, d, dictExisting, val);
  return false;
}

/**
 * DICT_HASH: replace the value of an entry (in place when it fits its block, else in a new block
 * relinked where the old one was). Returns the entry, which may have moved.
 */
export function dictReplaceVal(heap: Heap, d: number, e: number, val: Uint8Array): number {
  const u32 = heap.u32;
  // Callers found e just before (dictSet's dictAddRaw): lastTb is its table.
  const pinTb = lastTb;
  const pinned = u32[d / 4 + 8] !== 0 && dictPin.before !== null;
  if (pinned) (dictPin.before as (heap: Heap, d: number, e: number, tb: number) => void)(heap, d, e, pinTb);
  const ew = e / 4;
  const klen = u32[ew + 2];
  const need = 20 + klen + val.length;
  if (need <= classSize[u32[ew + 3]] && classOf(need) >= u32[ew + 3] - 4) {
    u32[ew + 4] = val.length;
    heap.u8.set(val, e + 20 + klen);
    return e;
  }
  const h = u32[ew + 1];
  const ne = heap.alloc(need);
  const nw = ne / 4;
  heap.u8.copyWithin(ne, e, e + 20 + klen);
  u32[nw + 3] = classOf(need);
  u32[nw + 4] = val.length;
  heap.u8.set(val, ne + 20 + klen);
  // Relink: find the word that points to e.
  const w = d / 4;
  for (let tb = 0; tb < 2; tb++) {
    const buckets = u32[w + tb * 3] * 8;
    if (buckets === 0) break;
    let at = buckets + (h & u32[w + tb * 3 + 1]) * 4;
    let p = u32[at / 4] * 8;
    while (p !== 0 && p !== e) {
      at = p;
      p = u32[p / 4] * 8;
    }
    if (p === e) {
      u32[at / 4] = ne / 8;
      break;
    }
  }
  heap.freeClass(e, u32[ew + 3]);
  if (pinned && dictPin.after !== null) dictPin.after(heap, d, ne, pinTb);
  return ne;
}

// ---- deletion -------------------------------------------------------------------------

function freeEntry(heap: Heap, e: number): void {
  heap.freeClass(e, heap.u32[e / 4 + 3]);
}

/** Delete key; true if it was there. */
export function dictDelete(heap: Heap, d: number, key: Uint8Array): boolean {
  const w = d / 4;
  const pinned = heap.u32[w + 8] !== 0;
  if (heap.i32[w + 6] >= 0 && !pinned && mayRehash(heap, w)) rehash(heap, d, REHASH_STEPS);
  const e = locate(heap, d, key, dictHash(key));
  if (e === 0) return false;
  if (pinned && dictPin.before !== null) dictPin.before(heap, d, e, lastTb);
  const u32 = heap.u32;
  u32[lastLink / 4] = u32[e / 4];
  u32[w + (lastTb === 1 ? 5 : 2)]--;
  freeEntry(heap, e);
  shrinkIfNeeded(heap, d);
  return true;
}

// ---- random ---------------------------------------------------------------------------

/**
 * A random entry (0 if empty), uniformly: draw a bucket and a position below a bound on chain
 * lengths; accept when the position exists in that chain (rejection sampling).
 */
export function dictRandom(heap: Heap, d: number): number {
  const u32 = heap.u32;
  const w = d / 4;
  const used = u32[w + 2] + u32[w + 5];
  if (used === 0) return 0;
  // The one structural change a read makes, as Redis's dictGetRandomKey: one rehash step, so a
  // set or hash that is only read after it shrank still finishes its rehash (and frees the old
  // table). It relinks chains but moves no entry: entry offsets the caller holds stay valid, and
  // no caller iterates this dict while drawing from it. Never while a snapshot writes it (pinned).
  if (heap.i32[w + 6] >= 0 && u32[w + 8] === 0 && mayRehash(heap, w)) rehash(heap, d, 1);
  const ridx = heap.i32[w + 6];
  const b0 = u32[w] * 2; // word index of the bucket array (stored in units: * 8 / 4)
  const m0 = u32[w + 1];
  // Buckets of t0 below rehashIdx are empty: draw from t0[ridx..] and all of t1.
  const b1 = ridx >= 0 ? u32[w + 3] * 2 : 0;
  const start0 = ridx >= 0 ? ridx : 0;
  const span0 = m0 + 1 - start0;
  const total = span0 + (ridx >= 0 ? u32[w + 4] + 1 : 0);
  let bound = 4;
  for (let tries = 0; ; tries++) {
    const r = Math.floor(Math.random() * total);
    const head = (r < span0 ? u32[b0 + start0 + r] : u32[b1 + r - span0]) * 8;
    if (head === 0) continue;
    let len = 0;
    for (let e = head; e !== 0; e = u32[e / 4] * 8) len++;
    if (len > bound) bound = len;
    let k = Math.floor(Math.random() * bound);
    if (k >= len) {
      // Very sparse tables or long chains: give up on exactness after many rejections.
      if (tries < 1000) continue;
      k = k % len;
    }
    let e = head;
    while (k-- > 0) e = u32[e / 4] * 8;
    return e;
  }
}

// ---- scan and iteration ---------------------------------------------------------------

/** Bit-reverse a 32-bit cursor (SCAN's reverse-binary iteration; shared with keyspace and skiplist). */
export function rev32(v: number): number {
  v = ((v >>> 1) & 0x55555555) | ((v & 0x55555555) << 1);
  v = ((v >>> 2) & 0x33333333) | ((v & 0x33333333) << 2);
  v = ((v >>> 4) & 0x0f0f0f0f) | ((v & 0x0f0f0f0f) << 4);
  v = ((v >>> 8) & 0x00ff00ff) | ((v & 0x00ff00ff) << 8);
  v = (v >>> 16) | (v << 16);
  return v >>> 0;
}

function emitBucket(u32: Uint32Array, b: number, idx: number, out: number[]): void {
  for (let e = u32[b / 4 + idx] * 8; e !== 0; e = u32[e / 4] * 8) out.push(e);
}

/**
 * One SCAN step (Redis's dictScan): pushes the entries of the bucket(s) at cursor onto `out` and
 * returns the next cursor (0 when the scan is complete). Cursors are 32-bit.
 */
export function dictScan(heap: Heap, d: number, cursor: number, out: number[]): number {
  const u32 = heap.u32;
  const w = d / 4;
  if (u32[w + 2] + u32[w + 5] === 0) return 0;
  let v = cursor >>> 0;
  if (heap.i32[w + 6] < 0) {
    const m0 = u32[w + 1];
    emitBucket(u32, u32[w] * 8, v & m0, out);
    v |= ~m0;
    v = rev32(v);
    v = (v + 1) >>> 0;
    v = rev32(v);
    return v >>> 0;
  }
  let bs = u32[w] * 8, ms = u32[w + 1];
  let bl = u32[w + 3] * 8, ml = u32[w + 4];
  if (ms > ml) {
    const tb = bs; bs = bl; bl = tb;
    const tm = ms; ms = ml; ml = tm;
  }
  emitBucket(u32, bs, v & ms, out);
  do {
    emitBucket(u32, bl, v & ml, out);
    v |= ~ml;
    v = rev32(v);
    v = (v + 1) >>> 0;
    v = rev32(v);
  } while ((v & (ms ^ ml)) !== 0);
  return v >>> 0;
}

/**
 * An iterator over every entry. The dict must not be changed while iterating, except that the
 * entry just returned may be deleted (its successor is read before returning it).
 */
export class DictIter {
  private heap!: Heap;
  private d = 0;
  private tb = 0;
  private idx = -1;
  private nextE = 0;

  init(heap: Heap, d: number): this {
    this.heap = heap;
    this.d = d;
    this.tb = 0;
    this.idx = -1;
    this.nextE = 0;
    return this;
  }

  /**
   * Save the position into i32[at..at+3) and resume from it later (a snapshot's chunked walk of a
   * big dict): valid while the dict is not changed in between (reads never change it).
   */
  saveTo(i32: Int32Array, at: number): void {
    i32[at] = this.tb;
    i32[at + 1] = this.idx;
    i32[at + 2] = this.nextE / 8; // an address: kept in 8-byte units
  }

  resumeFrom(heap: Heap, d: number, i32: Int32Array, at: number): this {
    this.heap = heap;
    this.d = d;
    this.tb = i32[at];
    this.idx = i32[at + 1];
    this.nextE = (i32[at + 2] >>> 0) * 8;
    return this;
  }

  /** The position is between buckets (a snapshot's walk stops only there: see dictPin). */
  atBucketEnd(): boolean {
    return this.nextE === 0;
  }

  /** The next entry, or 0 at the end. */
  next(): number {
    const u32 = this.heap.u32;
    const w = this.d / 4;
    while (this.nextE === 0) {
      const b = u32[w + this.tb * 3] * 8;
      const mask = u32[w + this.tb * 3 + 1];
      if (b === 0) return 0;
      this.idx++;
      if (this.idx > mask) {
        if (this.tb === 1) return 0;
        this.tb = 1;
        this.idx = -1;
        continue;
      }
      this.nextE = u32[b / 4 + this.idx] * 8;
    }
    const e = this.nextE;
    this.nextE = u32[e / 4] * 8;
    return e;
  }
}

// ---- whole-dict operations ------------------------------------------------------------

export function dictFree(heap: Heap, d: number): void {
  const u32 = heap.u32;
  const w = d / 4;
  for (let tb = 0; tb < 2; tb++) {
    const b = u32[w + tb * 3] * 8;
    if (b === 0) continue;
    const n = u32[w + tb * 3 + 1] + 1;
    const bw = b / 4;
    for (let i = 0; i < n; i++) {
      let e = u32[bw + i] * 8;
      while (e !== 0) {
        const next = u32[e / 4] * 8;
        freeEntry(heap, e);
        e = next;
      }
    }
    heap.free(b, n * 4);
  }
  heap.free(d, HDR);
}

/** A deep copy (same kind, members, values and scores), not rehashing. */
export function dictCopy(heap: Heap, d: number): number {
  const u32 = heap.u32;
  const kind = u32[d / 4 + 7];
  const nd = dictCreate(heap, kind, dictSize(heap, d));
  const it = new DictIter().init(heap, d);
  for (let e = it.next(); e !== 0; e = it.next()) {
    const ew = e / 4;
    const klen = u32[ew + 2];
    const size = keyAt[kind] + klen + (kind === DICT_HASH ? u32[ew + 4] : 0);
    const ne = heap.alloc(size);
    heap.u8.copyWithin(ne, e, e + size);
    u32[ne / 4 + 3] = classOf(size);
    link(heap, nd, ne, u32[ew + 1]);
  }
  return nd;
}

/** Bytes used by the dict (header, buckets, entry blocks), for MEMORY USAGE. */
export function dictBytes(heap: Heap, d: number): number {
  const u32 = heap.u32;
  const w = d / 4;
  let n = HDR + (u32[w + 1] + 1) * 4 + (u32[w + 3] !== 0 ? (u32[w + 4] + 1) * 4 : 0);
  const it = new DictIter().init(heap, d);
  for (let e = it.next(); e !== 0; e = it.next()) n += classSize[u32[e / 4 + 3]];
  return n;
}

/** Structure check: buckets, hashes, counts, block sizes, no duplicates, no cycles. */
export function dictCheck(heap: Heap, d: number, problems: string[], what = 'dict'): void {
  const u32 = heap.u32;
  const w = d / 4;
  const kind = u32[w + 7];
  if (kind > DICT_ZSET) {
    problems.push(`${what}: bad kind ${kind}`);
    return;
  }
  const ka = keyAt[kind];
  const ridx = heap.i32[w + 6];
  if (ridx >= 0 && (u32[w + 3] === 0 || ridx > u32[w + 1])) problems.push(`${what}: bad rehash index ${ridx}`);
  if (ridx < 0 && u32[w + 3] !== 0) problems.push(`${what}: second table while not rehashing`);
  const seen = dictSize(heap, d) <= 200000 ? new Set<string>() : null;
  for (let tb = 0; tb < 2; tb++) {
    const b = u32[w + tb * 3] * 8;
    if (b === 0) {
      if (tb === 0) problems.push(`${what}: no table`);
      continue;
    }
    const mask = u32[w + tb * 3 + 1];
    if (((mask + 1) & mask) !== 0) problems.push(`${what}: table ${tb} size ${mask + 1} not a power of two`);
    let n = 0;
    for (let i = 0; i <= mask; i++) {
      let e = u32[b / 4 + i] * 8;
      if (tb === 0 && ridx >= 0 && i < ridx && e !== 0) problems.push(`${what}: bucket ${i} below the rehash index not empty`);
      let guard = 0;
      while (e !== 0) {
        if (++guard > 1e7) {
          problems.push(`${what}: chain cycles`);
          break;
        }
        if (e < HEAP_DATA_START || e >= heap.size) {
          problems.push(`${what}: bad entry pointer ${e}`);
          break;
        }
        const ew = e / 4;
        const klen = u32[ew + 2];
        const cls = u32[ew + 3];
        const size = ka + klen + (kind === DICT_HASH ? u32[ew + 4] : 0);
        if (cls >= classSize.length || size > classSize[cls]) {
          problems.push(`${what}: entry overflows its block`);
          break;
        }
        const h = dictHash(heap.u8, e + ka, e + ka + klen);
        if (h !== u32[ew + 1]) problems.push(`${what}: entry hash mismatch`);
        if ((h & mask) !== i) problems.push(`${what}: entry in the wrong bucket`);
        if (kind === DICT_ZSET && Number.isNaN(heap.f64[e / 8 + 2])) problems.push(`${what}: NaN score`);
        if (seen !== null) {
          const k = Buffer.from(heap.u8.buffer, e + ka, klen).toString('latin1');
          if (seen.has(k)) problems.push(`${what}: duplicate member`);
          seen.add(k);
        }
        n++;
        e = u32[ew] * 8;
      }
    }
    if (n !== u32[w + tb * 3 + 2]) problems.push(`${what}: table ${tb} used ${u32[w + tb * 3 + 2]} but holds ${n}`);
  }
}

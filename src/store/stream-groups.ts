// Stream consumer groups (t_stream.c's streamCG / streamConsumer / streamNACK, Redis 7.0), in the
// shared heap, hung from the stream header's cgroups word (stream.ts H_CGROUPS). The caller holds
// the key's slot lock.
//
// Layout (sorted arrays searched by binary search instead of Redis's raxes; same orders):
//   group table (the cgroups word; 0 = no group was ever created): count u32 | cap u32 |
//     cap group pointers u32, sorted by name (memcmp order, a prefix first: rax order).
//   group block (GRP_HDR + name length): 0 last_id (ms lo, ms hi, seq lo, seq hi) |
//     16 entries_read f64 (-1 = SCG_INVALID_ENTRIES_READ) | 24 PEL array u32 | 28 PEL count u32 |
//     32 PEL cap u32 | 36 consumer array u32 | 40 consumer count u32 | 44 consumer cap u32 |
//     48 name length u32 | 52 0 | 56 name bytes.
//   group PEL (the NACKs): records of NACK_REC = 40 bytes sorted by ID: id (16) |
//     16 delivery_time f64 (ms) | 24 delivery_count f64 | 32 owning consumer block u32 (0 only
//     inside a loader between pelAdopt and consumerPelAdopt) | 36 0.
//   consumer array: consumer block pointers u32 sorted by name.
//   consumer block (CONS_HDR + name length): 0 seen_time f64 | 8 own PEL array u32 |
//     12 count u32 | 16 cap u32 | 20 name length u32 | 24 name bytes.
//   consumer PEL: IDs (16 bytes each: ms lo, ms hi, seq lo, seq hi) sorted; each is also in the
//     group PEL with this consumer as owner (Redis shares the NACK between both raxes).
// Every pointer word (the cgroups word, group and consumer pointers, the array words, a NACK's
// owner) holds its block's heap address in 8-byte units (load * 8, store / 8; 0 = none), so a
// heap past 4 GiB fits; word indices are byte offsets divided by 4, never shifted.
// Arrays grow by copying into a new block first, so an allocation failure changes nothing.
//
// Iteration for RDB / AOF rewrite: cgCount / cgAt (groups in name order), cgName, cgLastId,
// cgEntriesRead; pelCount / pelRec / nackId / nackTime / nackCount / nackConsumer (group PEL in
// ID order); consCount / consAt / consName / consSeen / consPelCount / consPelId.
// Loader: cgCreate(h, s, name, lastId, entriesRead), pelAdopt(h, g, id, time, count) (IDs in
// increasing order), consCreate(h, g, name, seenTime), consumerPelAdopt(h, g, c, id) (the
// group's NACK gets this owner). Check with cgCheck (DEBUG CHECK).

import type { Heap } from './heap';

export interface GroupID { ms: bigint; seq: bigint }

export const SCG_INVALID_ENTRIES_READ = -1;
export const H_CGROUPS = 76;
const GRP_HDR = 56;
const CONS_HDR = 24;
const NACK_REC = 40;
const ID_REC = 16;

// ---- small helpers ------------------------------------------------------------------------

function rdU64(u32: Uint32Array, w: number): bigint {
  const lo = u32[w];
  const hi = u32[w + 1];
  return hi === 0 ? BigInt(lo) : (BigInt(hi) << 32n) | BigInt(lo);
}
function wrU64(u32: Uint32Array, w: number, v: bigint): void {
  u32[w] = Number(v & 0xffffffffn);
  u32[w + 1] = Number(v >> 32n);
}
function rdId(h: Heap, at: number): GroupID {
  const w = at / 4;
  return { ms: rdU64(h.u32, w), seq: rdU64(h.u32, w + 2) };
}
function wrId(h: Heap, at: number, id: GroupID): void {
  const w = at / 4;
  wrU64(h.u32, w, id.ms);
  wrU64(h.u32, w + 2, id.seq);
}
/** Compare the ID stored at `at` with id. */
function cmpIdAt(h: Heap, at: number, id: GroupID): number {
  const u32 = h.u32;
  const w = at / 4;
  const ms = rdU64(u32, w);
  if (ms !== id.ms) return ms > id.ms ? 1 : -1;
  const seq = rdU64(u32, w + 2);
  if (seq !== id.seq) return seq > id.seq ? 1 : -1;
  return 0;
}
/** memcmp order with the shorter first on a common prefix (rax key order). */
function cmpName(h: Heap, at: number, len: number, b: Uint8Array): number {
  const u8 = h.u8;
  const n = len < b.length ? len : b.length;
  for (let i = 0; i < n; i++) {
    const d = u8[at + i] - b[i];
    if (d !== 0) return d;
  }
  return len - b.length;
}

/**
 * A growable array of fixed-size records whose (ptr in 8-byte units, count, cap) words live at
 * `hdr`. Room for one more: may move the array (the old block is freed only after the new one is
 * filled).
 */
function reserve(h: Heap, hdr: number, rec: number): void {
  const u32 = h.u32;
  const w = hdr / 4;
  const n = u32[w + 1];
  const cap = u32[w + 2];
  if (n < cap) return;
  const ncap = cap === 0 ? 4 : cap * 2;
  const arr = h.alloc(ncap * rec);
  const old = u32[w] * 8;
  if (old !== 0) {
    h.u8.copyWithin(arr, old, old + n * rec);
    h.free(old, cap * rec);
  }
  u32[w] = arr / 8;
  u32[w + 2] = ncap;
}
function insertAt(h: Heap, hdr: number, rec: number, i: number): number {
  const u32 = h.u32;
  const w = hdr / 4;
  const arr = u32[w] * 8;
  const n = u32[w + 1];
  h.u8.copyWithin(arr + (i + 1) * rec, arr + i * rec, arr + n * rec);
  u32[w + 1] = n + 1;
  return arr + i * rec;
}
function removeAt(h: Heap, hdr: number, rec: number, i: number): void {
  const u32 = h.u32;
  const w = hdr / 4;
  const arr = u32[w] * 8;
  const n = u32[w + 1];
  h.u8.copyWithin(arr + i * rec, arr + (i + 1) * rec, arr + n * rec);
  u32[w + 1] = n - 1;
  if (n === 1) {
    h.free(arr, u32[w + 2] * rec);
    u32[w] = 0;
    u32[w + 2] = 0;
  }
}
/** Binary search of IDs in records of `rec` bytes: index, or -(insertion point) - 1. */
function searchId(h: Heap, arr: number, n: number, rec: number, id: GroupID): number {
  let lo = 0;
  let hi = n - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const c = cmpIdAt(h, arr + mid * rec, id);
    if (c === 0) return mid;
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return -lo - 1;
}
/** Binary search of names in an array of block pointers (name length at lenOff, bytes after). */
function searchName(h: Heap, arr: number, n: number, lenOff: number, name: Uint8Array): number {
  let lo = 0;
  let hi = n - 1;
  const u32 = h.u32;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const b = u32[arr / 4 + mid] * 8;
    const c = cmpName(h, b + lenOff + 4 + (lenOff === 48 ? 4 : 0), u32[(b + lenOff) / 4], name);
    if (c === 0) return mid;
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return -lo - 1;
}

// ---- groups -------------------------------------------------------------------------------

function table(h: Heap, s: number): number {
  return h.u32[(s + H_CGROUPS) / 4] * 8;
}
/** Number of groups (raxSize(s->cgroups)). */
export function cgCount(h: Heap, s: number): number {
  const t = table(h, s);
  return t === 0 ? 0 : h.u32[t / 4];
}
/** Group i in name order. */
export function cgAt(h: Heap, s: number, i: number): number {
  return h.u32[(table(h, s) + 8) / 4 + i] * 8;
}
function groupIndex(h: Heap, s: number, name: Uint8Array): number {
  const t = table(h, s);
  if (t === 0) return -1;
  return searchName(h, t + 8, h.u32[t / 4], 48, name);
}
/** streamLookupCG: the group block, or 0. */
export function cgLookup(h: Heap, s: number, name: Uint8Array): number {
  const i = groupIndex(h, s, name);
  return i < 0 ? 0 : cgAt(h, s, i);
}
export function cgName(h: Heap, g: number): Uint8Array {
  const len = h.u32[(g + 48) / 4];
  return h.u8.subarray(g + GRP_HDR, g + GRP_HDR + len);
}
export function cgLastId(h: Heap, g: number): GroupID {
  return rdId(h, g);
}
export function cgSetLastId(h: Heap, g: number, id: GroupID): void {
  wrId(h, g, id);
}
export function cgEntriesRead(h: Heap, g: number): number {
  return h.f64[(g + 16) / 8];
}
export function cgSetEntriesRead(h: Heap, g: number, n: number): void {
  h.f64[(g + 16) / 8] = n;
}

/** streamCreateCG: the new group, or 0 when the name exists. Allocates before changing anything. */
export function cgCreate(h: Heap, s: number, name: Uint8Array, lastId: GroupID, entriesRead: number): number {
  const u32 = h.u32;
  let t = table(h, s);
  let i = 0;
  if (t !== 0) {
    i = searchName(h, t + 8, u32[t / 4], 48, name);
    if (i >= 0) return 0;
    i = -i - 1;
  }
  const g = h.alloc(GRP_HDR + name.length);
  h.u8.fill(0, g, g + GRP_HDR);
  wrId(h, g, lastId);
  h.f64[(g + 16) / 8] = entriesRead;
  u32[(g + 48) / 4] = name.length;
  h.u8.set(name, g + GRP_HDR);
  try {
    if (t === 0) {
      t = h.alloc(8 + 4 * 4);
      u32[t / 4] = 0;
      u32[t / 4 + 1] = 4;
      u32[(s + H_CGROUPS) / 4] = t / 8;
    } else if (u32[t / 4] === u32[t / 4 + 1]) {
      const n = u32[t / 4];
      const ncap = n * 2;
      const nt = h.alloc(8 + ncap * 4);
      h.u8.copyWithin(nt, t, t + 8 + n * 4);
      u32[nt / 4 + 1] = ncap;
      h.free(t, 8 + n * 4);
      t = nt;
      u32[(s + H_CGROUPS) / 4] = t / 8;
    }
  } catch (err) {
    h.free(g, GRP_HDR + name.length);
    throw err;
  }
  const n = u32[t / 4];
  const arr = t + 8;
  h.u8.copyWithin(arr + (i + 1) * 4, arr + i * 4, arr + n * 4);
  u32[arr / 4 + i] = g / 8;
  u32[t / 4] = n + 1;
  return g;
}

function consFree(h: Heap, c: number): void {
  const u32 = h.u32;
  const pel = u32[(c + 8) / 4] * 8;
  if (pel !== 0) h.free(pel, u32[(c + 16) / 4] * ID_REC);
  h.free(c, CONS_HDR + u32[(c + 20) / 4]);
}

/** streamFreeCG: the group's PEL, consumers and block (not its table slot). */
export function cgFree(h: Heap, g: number): void {
  const u32 = h.u32;
  const n = consCount(h, g);
  for (let i = 0; i < n; i++) consFree(h, consAt(h, g, i));
  const ca = u32[(g + 36) / 4] * 8;
  if (ca !== 0) h.free(ca, u32[(g + 44) / 4] * 4);
  const pa = u32[(g + 24) / 4] * 8;
  if (pa !== 0) h.free(pa, u32[(g + 32) / 4] * NACK_REC);
  h.free(g, GRP_HDR + u32[(g + 48) / 4]);
}

/** XGROUP DESTROY: remove and free the named group; false when there is none. */
export function cgDestroy(h: Heap, s: number, name: Uint8Array): boolean {
  const i = groupIndex(h, s, name);
  if (i < 0) return false;
  const u32 = h.u32;
  const t = table(h, s);
  const g = cgAt(h, s, i);
  const n = u32[t / 4];
  h.u8.copyWithin(t + 8 + i * 4, t + 8 + (i + 1) * 4, t + 8 + n * 4);
  u32[t / 4] = n - 1;
  cgFree(h, g);
  // The table stays (empty) as Redis keeps s->cgroups once created.
  return true;
}

/** Free every group and the table (streamFree). */
export function cgFreeAll(h: Heap, s: number): void {
  const t = table(h, s);
  if (t === 0) return;
  const n = h.u32[t / 4];
  for (let i = 0; i < n; i++) cgFree(h, h.u32[(t + 8) / 4 + i] * 8);
  h.free(t, 8 + h.u32[t / 4 + 1] * 4);
  h.u32[(s + H_CGROUPS) / 4] = 0;
}

// ---- the group PEL (NACKs) ------------------------------------------------------------------

export function pelCount(h: Heap, g: number): number {
  return h.u32[(g + 28) / 4];
}
/** Address of NACK record i (in ID order). Valid until the PEL changes. */
export function pelRec(h: Heap, g: number, i: number): number {
  return h.u32[(g + 24) / 4] * 8 + i * NACK_REC;
}
/** Index of the NACK for id, or -(insertion point) - 1. */
export function pelFind(h: Heap, g: number, id: GroupID): number {
  return searchId(h, h.u32[(g + 24) / 4] * 8, pelCount(h, g), NACK_REC, id);
}
/** First index whose ID >= id (raxSeek ">="). */
export function pelSeek(h: Heap, g: number, id: GroupID): number {
  const i = pelFind(h, g, id);
  return i >= 0 ? i : -i - 1;
}
export function nackId(h: Heap, rec: number): GroupID {
  return rdId(h, rec);
}
export function nackTime(h: Heap, rec: number): number {
  return h.f64[(rec + 16) / 8];
}
export function nackCount(h: Heap, rec: number): number {
  return h.f64[(rec + 24) / 8];
}
export function nackConsumer(h: Heap, rec: number): number {
  return h.u32[(rec + 32) / 4] * 8;
}
export function nackSet(h: Heap, rec: number, time: number, count: number): void {
  h.f64[(rec + 16) / 8] = time;
  h.f64[(rec + 24) / 8] = count;
}

/** Insert a NACK at index i (from pelFind) with no owner yet: its record address. */
function pelInsert(h: Heap, g: number, i: number, id: GroupID, time: number, count: number): number {
  reserve(h, g + 24, NACK_REC);
  const rec = insertAt(h, g + 24, NACK_REC, i);
  wrId(h, rec, id);
  nackSet(h, rec, time, count);
  h.u32[(rec + 32) / 4] = 0;
  h.u32[(rec + 36) / 4] = 0;
  return rec;
}

/** Loader: append a NACK (IDs increasing), owner set by consumerPelAdopt. */
export function pelAdopt(h: Heap, g: number, id: GroupID, time: number, count: number): void {
  pelInsert(h, g, pelCount(h, g), id, time, count);
}

// ---- consumers ----------------------------------------------------------------------------

export function consCount(h: Heap, g: number): number {
  return h.u32[(g + 40) / 4];
}
export function consAt(h: Heap, g: number, i: number): number {
  return h.u32[h.u32[(g + 36) / 4] * 2 + i] * 8; // the array's word index: units * 8 / 4
}
export function consName(h: Heap, c: number): Uint8Array {
  const len = h.u32[(c + 20) / 4];
  return h.u8.subarray(c + CONS_HDR, c + CONS_HDR + len);
}
export function consSeen(h: Heap, c: number): number {
  return h.f64[c / 8];
}
export function consSetSeen(h: Heap, c: number, t: number): void {
  h.f64[c / 8] = t;
}
export function consPelCount(h: Heap, c: number): number {
  return h.u32[(c + 12) / 4];
}
export function consPelId(h: Heap, c: number, i: number): GroupID {
  return rdId(h, h.u32[(c + 8) / 4] * 8 + i * ID_REC);
}
/** First index of the consumer's PEL whose ID >= id. */
export function consPelSeek(h: Heap, c: number, id: GroupID): number {
  const i = searchId(h, h.u32[(c + 8) / 4] * 8, consPelCount(h, c), ID_REC, id);
  return i >= 0 ? i : -i - 1;
}
/** streamLookupConsumer (no refresh): the consumer block, or 0. */
export function consLookup(h: Heap, g: number, name: Uint8Array): number {
  const i = searchName(h, h.u32[(g + 36) / 4] * 8, consCount(h, g), 20, name);
  return i < 0 ? 0 : consAt(h, g, i);
}
/** streamCreateConsumer: the new consumer, or 0 when the name exists. */
export function consCreate(h: Heap, g: number, name: Uint8Array, seenTime: number): number {
  let i = searchName(h, h.u32[(g + 36) / 4] * 8, consCount(h, g), 20, name);
  if (i >= 0) return 0;
  i = -i - 1;
  const c = h.alloc(CONS_HDR + name.length);
  h.u8.fill(0, c, c + CONS_HDR);
  h.f64[c / 8] = seenTime;
  h.u32[(c + 20) / 4] = name.length;
  h.u8.set(name, c + CONS_HDR);
  try {
    reserve(h, g + 36, 4);
  } catch (err) {
    h.free(c, CONS_HDR + name.length);
    throw err;
  }
  const at = insertAt(h, g + 36, 4, i);
  h.u32[at / 4] = c / 8;
  return c;
}

function consPelAdd(h: Heap, c: number, id: GroupID): void {
  let i = searchId(h, h.u32[(c + 8) / 4] * 8, consPelCount(h, c), ID_REC, id);
  if (i >= 0) return;
  i = -i - 1;
  reserve(h, c + 8, ID_REC);
  wrId(h, insertAt(h, c + 8, ID_REC, i), id);
}
function consPelRemove(h: Heap, c: number, id: GroupID): void {
  const i = searchId(h, h.u32[(c + 8) / 4] * 8, consPelCount(h, c), ID_REC, id);
  if (i >= 0) removeAt(h, c + 8, ID_REC, i);
}

/** Loader: the group's NACK for id (pelAdopt'ed) belongs to consumer c. False if none. */
export function consumerPelAdopt(h: Heap, g: number, c: number, id: GroupID): boolean {
  const i = pelFind(h, g, id);
  if (i < 0) return false;
  consPelAdd(h, c, id);
  h.u32[(pelRec(h, g, i) + 32) / 4] = c / 8;
  return true;
}

/** streamDelConsumer: drop its NACKs from the group PEL, then the consumer. */
export function consDelete(h: Heap, g: number, c: number): void {
  const n = consPelCount(h, c);
  for (let j = n - 1; j >= 0; j--) {
    const i = pelFind(h, g, consPelId(h, c, j));
    if (i >= 0) removeAt(h, g + 24, NACK_REC, i);
  }
  const k = searchName(h, h.u32[(g + 36) / 4] * 8, consCount(h, g), 20, consName(h, c));
  if (k >= 0) removeAt(h, g + 36, 4, k);
  consFree(h, c);
}

// ---- NACK operations used by the commands ------------------------------------------------

/**
 * Deliver id to consumer c (streamReplyWithRange's PEL update): a new NACK (count 1), or the
 * existing one moved to c with count 1. Room is reserved before anything changes.
 */
export function nackDeliver(h: Heap, g: number, c: number, id: GroupID, now: number): number {
  let i = pelFind(h, g, id);
  if (i < 0) {
    // Reserve both arrays first: a failure then leaves no half-created NACK.
    reserve(h, g + 24, NACK_REC);
    reserve(h, c + 8, ID_REC);
    i = -i - 1;
    const rec = pelInsert(h, g, i, id, now, 1);
    consPelAdd(h, c, id);
    h.u32[(rec + 32) / 4] = c / 8;
    return rec;
  }
  reserve(h, c + 8, ID_REC);
  const rec = pelRec(h, g, i);
  const old = nackConsumer(h, rec);
  if (old !== c) {
    if (old !== 0) consPelRemove(h, old, id);
    consPelAdd(h, c, id);
    h.u32[(rec + 32) / 4] = c / 8;
  }
  nackSet(h, rec, now, 1);
  return rec;
}

/** XCLAIM FORCE: a new NACK with no owner yet at insertion index i; its record. */
export function nackCreateUnowned(h: Heap, g: number, id: GroupID, now: number): number {
  const i = pelFind(h, g, id);
  if (i >= 0) return pelRec(h, g, i);
  return pelInsert(h, g, -i - 1, id, now, 1);
}

/** Move the NACK of id to consumer c (XCLAIM / XAUTOCLAIM); the record (it may have moved). */
export function nackAssign(h: Heap, g: number, c: number, id: GroupID): number {
  const i = pelFind(h, g, id);
  const rec = pelRec(h, g, i);
  const old = nackConsumer(h, rec);
  if (old !== c) {
    consPelAdd(h, c, id);
    if (old !== 0) consPelRemove(h, old, id);
    h.u32[(rec + 32) / 4] = c / 8;
  }
  return rec;
}

/** XACK / a claim of a deleted entry: remove the NACK of id from both PELs. */
export function nackRemove(h: Heap, g: number, id: GroupID): boolean {
  const i = pelFind(h, g, id);
  if (i < 0) return false;
  const c = nackConsumer(h, pelRec(h, g, i));
  if (c !== 0) consPelRemove(h, c, id);
  removeAt(h, g + 24, NACK_REC, i);
  return true;
}

// ---- whole-structure operations ------------------------------------------------------------

/** Copy every group of s into d (streamDup). d must have none. On failure d keeps what was made. */
export function cgDupAll(h: Heap, s: number, d: number): void {
  const n = cgCount(h, s);
  if (table(h, s) === 0) return;
  const u32 = h.u32;
  // An empty table is copied too: Redis's dup keeps s->cgroups when the source has one.
  const t = h.alloc(8 + 4 * 4);
  u32[t / 4] = 0;
  u32[t / 4 + 1] = 4;
  u32[(d + H_CGROUPS) / 4] = t / 8;
  for (let i = 0; i < n; i++) {
    const g = cgAt(h, s, i);
    const ng = cgCreate(h, d, cgName(h, g), cgLastId(h, g), cgEntriesRead(h, g));
    const map = new Map<number, number>();
    const nc = consCount(h, g);
    for (let k = 0; k < nc; k++) {
      const c = consAt(h, g, k);
      const cc = consCreate(h, ng, consName(h, c), consSeen(h, c));
      map.set(c, cc);
      const pn = consPelCount(h, c);
      if (pn > 0) {
        const cap = u32[(c + 16) / 4];
        const arr = h.alloc(cap * ID_REC);
        const src = u32[(c + 8) / 4] * 8;
        h.u8.copyWithin(arr, src, src + pn * ID_REC);
        u32[(cc + 8) / 4] = arr / 8;
        u32[(cc + 12) / 4] = pn;
        u32[(cc + 16) / 4] = cap;
      }
    }
    const pn = pelCount(h, g);
    if (pn > 0) {
      const cap = u32[(g + 32) / 4];
      const arr = h.alloc(cap * NACK_REC);
      const src = u32[(g + 24) / 4] * 8;
      h.u8.copyWithin(arr, src, src + pn * NACK_REC);
      u32[(ng + 24) / 4] = arr / 8;
      u32[(ng + 28) / 4] = pn;
      u32[(ng + 32) / 4] = cap;
      for (let k = 0; k < pn; k++) {
        const w = (arr + k * NACK_REC + 32) / 4;
        u32[w] = (map.get(u32[w] * 8) ?? 0) / 8;
      }
    }
  }
}

/** Bytes of the groups (MEMORY USAGE): blocks and arrays as allocated. */
export function cgBytes(h: Heap, s: number): number {
  const t = table(h, s);
  if (t === 0) return 0;
  const u32 = h.u32;
  let b = 8 + u32[t / 4 + 1] * 4;
  const n = u32[t / 4];
  for (let i = 0; i < n; i++) {
    const g = cgAt(h, s, i);
    b += GRP_HDR + u32[(g + 48) / 4] + u32[(g + 32) / 4] * NACK_REC + u32[(g + 44) / 4] * 4;
    const nc = consCount(h, g);
    for (let k = 0; k < nc; k++) {
      const c = consAt(h, g, k);
      b += CONS_HDR + u32[(c + 20) / 4] + u32[(c + 16) / 4] * ID_REC;
    }
  }
  return b;
}

function idText(id: GroupID): string {
  return `${id.ms}-${id.seq}`;
}

/** Structure check (DEBUG CHECK): orders, counts, and that both PEL views agree. */
export function cgCheck(h: Heap, s: number, problems: string[]): void {
  const t = table(h, s);
  if (t === 0) return;
  const u32 = h.u32;
  const n = u32[t / 4];
  if (n > u32[t / 4 + 1]) problems.push(`stream groups: ${n} over capacity`);
  let prev: Uint8Array | null = null;
  for (let i = 0; i < n; i++) {
    const g = cgAt(h, s, i);
    const name = cgName(h, g);
    if (prev !== null && Buffer.compare(Buffer.from(prev), Buffer.from(name)) >= 0) problems.push('stream groups: names out of order');
    prev = name;
    const gn = Buffer.from(name).toString('latin1');
    const pn = pelCount(h, g);
    if (pn > u32[(g + 32) / 4]) problems.push(`group ${gn}: PEL over capacity`);
    const nc = consCount(h, g);
    if (nc > u32[(g + 44) / 4]) problems.push(`group ${gn}: consumers over capacity`);
    const owners = new Set<number>();
    let cprev: Uint8Array | null = null;
    let owned = 0;
    for (let k = 0; k < nc; k++) {
      const c = consAt(h, g, k);
      owners.add(c);
      const cn = consName(h, c);
      if (cprev !== null && Buffer.compare(Buffer.from(cprev), Buffer.from(cn)) >= 0) problems.push(`group ${gn}: consumers out of order`);
      cprev = cn;
      const cpn = consPelCount(h, c);
      if (cpn > u32[(c + 16) / 4]) problems.push(`group ${gn}: consumer PEL over capacity`);
      owned += cpn;
      for (let j = 0; j < cpn; j++) {
        const id = consPelId(h, c, j);
        if (j > 0 && cmpIdAt(h, u32[(c + 8) / 4] * 8 + (j - 1) * ID_REC, id) >= 0) problems.push(`group ${gn}: consumer PEL out of order`);
        const pi = pelFind(h, g, id);
        if (pi < 0) problems.push(`group ${gn}: consumer PEL ${idText(id)} not in the group PEL`);
        else if (nackConsumer(h, pelRec(h, g, pi)) !== c) problems.push(`group ${gn}: NACK ${idText(id)} owned by another consumer`);
      }
    }
    for (let j = 0; j < pn; j++) {
      const rec = pelRec(h, g, j);
      if (j > 0 && cmpIdAt(h, rec - NACK_REC, nackId(h, rec)) >= 0) problems.push(`group ${gn}: PEL out of order`);
      if (!owners.has(nackConsumer(h, rec))) problems.push(`group ${gn}: NACK ${idText(nackId(h, rec))} without a consumer`);
    }
    if (owned !== pn) problems.push(`group ${gn}: PEL ${pn} but consumers own ${owned}`);
  }
}

// The stream type (t_stream.c, Redis 7.0): entries here, consumer groups in stream-groups.ts.
//
// Layout (all in the shared heap; u64 values are two u32 words, low word first):
//   header (STREAM_HDR = 96 bytes, one block):
//     0 length f64 | 8 entries_added f64 | 16 last_id (ms lo, ms hi, seq lo, seq hi)
//     32 first_id (same) | 48 max_deleted_entry_id (same)
//     64 index u32 (block of node records in 8-byte units, 0 when empty) | 68 node count u32 |
//     72 index capacity u32 | 76 cgroups u32: 0 = none, else the group table's block in 8-byte
//     units (layout in stream-groups.ts).
//     80..95 reserved for phase 2 (0).
//   index: node records of IDX_REC = 24 bytes, sorted by master ID, searched by binary search:
//     master ms lo, ms hi, seq lo, seq hi, listpack block (8-byte units), 0 (reserved).
//   nodes: Redis's own stream listpacks, byte for byte (listpack.ts format), so an RDB writer
//     (RDB_TYPE_STREAM_LISTPACKS_2) can write a node's bytes as they are and a loader can adopt
//     them (streamAdoptNode). Master entry: count | deleted | num-fields | field_1..field_N | 0;
//     then per entry: flags | ms-diff | seq-diff | [num-fields | field_1 | value_1 ...] or, with
//     STREAM_ITEM_FLAG_SAMEFIELDS, value_1..value_N | lp-count. Deleted entries keep their bytes
//     with STREAM_ITEM_FLAG_DELETED set, as Redis. A node is bounded by stream-node-max-bytes /
//     stream-node-max-entries, checked when an entry is appended (streamAppendItem's rule).
//   Heap addresses kept in words are in 8-byte units (block starts are 8-aligned: load * 8,
//   store / 8), so a heap past 4 GiB fits; word indices are byte offsets divided, not shifted.
//
// IDs are { ms, seq } bigints (uint64 each, as Redis). Node iteration in encoding order for RDB,
// DUMP and AOF rewrite: streamNodeCount / streamNodeMaster / streamNodeListpack. Entry iteration:
// StreamIter (streamIteratorStart/GetID/GetField). The caller holds the key's slot lock.

import type { Heap } from './heap';
import { T_STREAM, registerObjectType } from './keyspace';
import {
  LpVal, lpNew, lpFree, lpDup, lpBytes, lpFirst, lpLast, lpNext, lpPrev, lpGet, lpAppend, lpAppendInt, lpReplace,
  lpCheck, lpValBytes, intBytes,
} from './listpack';
import { H_CGROUPS, SCG_INVALID_ENTRIES_READ, cgFreeAll, cgDupAll, cgCheck, cgBytes, cgCount, cgAt, pelCount } from './stream-groups';

export interface StreamID { ms: bigint; seq: bigint }

export const STREAM_HDR = 96;
const IDX_REC = 24;
export const STREAM_ITEM_FLAG_NONE = 0;
export const STREAM_ITEM_FLAG_DELETED = 1;
export const STREAM_ITEM_FLAG_SAMEFIELDS = 2;
/** listpacks hold up to 32-bit sizes (STREAM_LISTPACK_MAX_SIZE). */
export const STREAM_LISTPACK_MAX_SIZE = 1 << 30;
export const U64_MAX = 0xffffffffffffffffn;

const H_LEN = 0;
const H_ADDED = 8;
const H_LAST = 16;
const H_FIRST = 32;
const H_MAXDEL = 48;
const H_IDX = 64;
const H_NODES = 68;
const H_CAP = 72;
export { H_CGROUPS };

// ---- IDs ------------------------------------------------------------------------------------

export function idCmp(a: StreamID, b: StreamID): number {
  if (a.ms !== b.ms) return a.ms > b.ms ? 1 : -1;
  if (a.seq !== b.seq) return a.seq > b.seq ? 1 : -1;
  return 0;
}

export function idStr(id: StreamID): string {
  return `${id.ms}-${id.seq}`;
}

/** streamIncrID: the successor; false (and 0-0) past the last possible ID. */
export function idIncr(id: StreamID): boolean {
  if (id.seq === U64_MAX) {
    if (id.ms === U64_MAX) {
      id.ms = 0n;
      id.seq = 0n;
      return false;
    }
    id.ms++;
    id.seq = 0n;
  } else id.seq++;
  return true;
}

/** streamDecrID: the predecessor; false (and max-max) before 0-0. */
export function idDecr(id: StreamID): boolean {
  if (id.seq === 0n) {
    if (id.ms === 0n) {
      id.ms = U64_MAX;
      id.seq = U64_MAX;
      return false;
    }
    id.ms--;
    id.seq = U64_MAX;
  } else id.seq--;
  return true;
}

function rdU64(u32: Uint32Array, w: number): bigint {
  const lo = u32[w];
  const hi = u32[w + 1];
  return hi === 0 ? BigInt(lo) : (BigInt(hi) << 32n) | BigInt(lo);
}

function wrU64(u32: Uint32Array, w: number, v: bigint): void {
  u32[w] = Number(v & 0xffffffffn);
  u32[w + 1] = Number(v >> 32n);
}

function rdId(h: Heap, at: number): StreamID {
  const w = at / 4;
  return { ms: rdU64(h.u32, w), seq: rdU64(h.u32, w + 2) };
}

function wrId(h: Heap, at: number, id: StreamID): void {
  const w = at / 4;
  wrU64(h.u32, w, id.ms);
  wrU64(h.u32, w + 2, id.seq);
}

// ---- header accessors -----------------------------------------------------------------------

export function streamNew(h: Heap): number {
  const s = h.alloc(STREAM_HDR);
  h.u8.fill(0, s, s + STREAM_HDR);
  return s;
}

export function streamLength(h: Heap, s: number): number {
  return h.f64[(s + H_LEN) / 8];
}
function setLength(h: Heap, s: number, n: number): void {
  h.f64[(s + H_LEN) / 8] = n;
}
export function streamEntriesAdded(h: Heap, s: number): number {
  return h.f64[(s + H_ADDED) / 8];
}
export function streamSetEntriesAdded(h: Heap, s: number, n: number): void {
  h.f64[(s + H_ADDED) / 8] = n;
}
export function streamLastId(h: Heap, s: number): StreamID {
  return rdId(h, s + H_LAST);
}
export function streamSetLastId(h: Heap, s: number, id: StreamID): void {
  wrId(h, s + H_LAST, id);
}
export function streamFirstId(h: Heap, s: number): StreamID {
  return rdId(h, s + H_FIRST);
}
export function streamSetFirstId(h: Heap, s: number, id: StreamID): void {
  wrId(h, s + H_FIRST, id);
}
export function streamMaxDeletedId(h: Heap, s: number): StreamID {
  return rdId(h, s + H_MAXDEL);
}
export function streamSetMaxDeletedId(h: Heap, s: number, id: StreamID): void {
  wrId(h, s + H_MAXDEL, id);
}

// ---- the node index -------------------------------------------------------------------------

/** Number of nodes (listpacks), Redis's raxSize(s->rax). */
export function streamNodeCount(h: Heap, s: number): number {
  return h.u32[(s + H_NODES) / 4];
}
function recAt(h: Heap, s: number, i: number): number {
  return h.u32[(s + H_IDX) / 4] * 8 + i * IDX_REC;
}
/** Master ID of node i (0-based, in ID order). */
export function streamNodeMaster(h: Heap, s: number, i: number): StreamID {
  return rdId(h, recAt(h, s, i));
}
/** The listpack of node i (its bytes: lpBytes). Valid until the stream changes. */
export function streamNodeListpack(h: Heap, s: number, i: number): number {
  return h.u32[(recAt(h, s, i) + 16) / 4] * 8;
}
function setNodeListpack(h: Heap, s: number, i: number, lp: number): void {
  h.u32[(recAt(h, s, i) + 16) / 4] = lp / 8;
}

/** Room for one more node record (may move the index; nothing else changes). */
function reserveNode(h: Heap, s: number): void {
  const u32 = h.u32;
  const n = u32[(s + H_NODES) / 4];
  const cap = u32[(s + H_CAP) / 4];
  if (n < cap) return;
  const ncap = cap === 0 ? 4 : cap * 2;
  const idx = h.alloc(ncap * IDX_REC);
  const old = u32[(s + H_IDX) / 4] * 8;
  if (old !== 0) {
    h.u8.copyWithin(idx, old, old + n * IDX_REC);
    h.free(old, cap * IDX_REC);
  }
  u32[(s + H_IDX) / 4] = idx / 8;
  u32[(s + H_CAP) / 4] = ncap;
}

/** Append a node record (reserveNode first). */
function pushNode(h: Heap, s: number, master: StreamID, lp: number): void {
  const u32 = h.u32;
  const n = u32[(s + H_NODES) / 4];
  const at = u32[(s + H_IDX) / 4] * 8 + n * IDX_REC;
  wrId(h, at, master);
  u32[(at + 16) / 4] = lp / 8;
  u32[(at + 20) / 4] = 0;
  u32[(s + H_NODES) / 4] = n + 1;
}

/** Remove node record i (its listpack is freed by the caller). */
function removeNode(h: Heap, s: number, i: number): void {
  const u32 = h.u32;
  const n = u32[(s + H_NODES) / 4];
  const idx = u32[(s + H_IDX) / 4] * 8;
  h.u8.copyWithin(idx + i * IDX_REC, idx + (i + 1) * IDX_REC, idx + n * IDX_REC);
  u32[(s + H_NODES) / 4] = n - 1;
  if (n === 1) {
    h.free(idx, u32[(s + H_CAP) / 4] * IDX_REC);
    u32[(s + H_IDX) / 4] = 0;
    u32[(s + H_CAP) / 4] = 0;
  }
}

/** Index of the last node whose master ID <= id, or -1 (raxSeek "<="). */
function seekLE(h: Heap, s: number, id: StreamID): number {
  let lo = 0;
  let hi = streamNodeCount(h, s) - 1;
  let ans = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (idCmp(streamNodeMaster(h, s, mid), id) <= 0) {
      ans = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return ans;
}

/**
 * Adopt a node built elsewhere (the RDB loader): its master ID must be greater than the last
 * node's. The caller sets length, IDs and entries_added from the file.
 */
export function streamAdoptNode(h: Heap, s: number, master: StreamID, lp: number): void {
  reserveNode(h, s);
  pushNode(h, s, master, lp);
}
/** Set the length (RDB loader). */
export function streamSetLength(h: Heap, s: number, n: number): void {
  setLength(h, s, n);
}

// ---- listpack helpers -----------------------------------------------------------------------

const lv = new LpVal();
function lpInt(h: Heap, lp: number, p: number): number {
  const v = lpGet(h, lp, p, lv);
  if (v.isInt) return v.int;
  return Number(Buffer.from(h.u8.subarray(v.off, v.off + v.len)).toString('latin1'));
}
function lpBig(h: Heap, lp: number, p: number): bigint {
  const v = lpGet(h, lp, p, lv);
  if (v.isInt) return v.big !== null ? v.big : BigInt(v.int);
  return BigInt(Buffer.from(h.u8.subarray(v.off, v.off + v.len)).toString('latin1'));
}
function lpAppendI64(h: Heap, lp: number, v: bigint): number {
  const n = BigInt.asIntN(64, v);
  if (n >= -9007199254740991n && n <= 9007199254740991n) return lpAppendInt(h, lp, Number(n));
  return lpAppend(h, lp, Buffer.from(n.toString(), 'latin1'));
}
function lpReplaceInt(h: Heap, lp: number, p: number, v: number): number {
  return lpReplace(h, lp, p, intBytes(v, null));
}

/** Master ID + int64 delta, wrapping as uint64 arithmetic does. */
function addDelta(base: bigint, d: bigint): bigint {
  return BigInt.asUintN(64, base + d);
}

/** Edge ID of a node (lpGetEdgeStreamID), tombstones included; null for a node with no entry. */
function nodeEdgeId(h: Heap, lp: number, master: StreamID, first: boolean): StreamID | null {
  let p: number;
  if (first) {
    p = lpFirst(h, lp);
    p = lpNext(h, lp, p);
    p = lpNext(h, lp, p);
    const mf = lpInt(h, lp, p);
    p = lpNext(h, lp, p);
    for (let i = 0; i < mf; i++) p = lpNext(h, lp, p);
    p = lpNext(h, lp, p);
    if (p === 0) return null;
  } else {
    p = lpLast(h, lp);
    let c = lpInt(h, lp, p);
    if (c === 0) return null;
    while (c-- > 0) p = lpPrev(h, lp, p);
  }
  p = lpNext(h, lp, p);
  const ms = addDelta(master.ms, lpBig(h, lp, p));
  p = lpNext(h, lp, p);
  const seq = addDelta(master.seq, lpBig(h, lp, p));
  return { ms, seq };
}

// ---- iteration ------------------------------------------------------------------------------

/**
 * streamIterator: entries between start and end (inclusive; null = the ends), forward or
 * reverse, tombstones skipped unless skipTombstones is cleared after start(). next() gives the
 * entry's id and numfields; then call field() numfields times, reading fv / vv (views valid until
 * the next listpack read: write them out at once).
 */
export class StreamIter {
  h!: Heap;
  s = 0;
  rev = false;
  skipTombstones = true;
  startId: StreamID = { ms: 0n, seq: 0n };
  endId: StreamID = { ms: U64_MAX, seq: U64_MAX };
  node = -1;
  lp = 0;
  ele = 0;
  master: StreamID = { ms: 0n, seq: 0n };
  masterFields = 0;
  masterFieldsStart = 0;
  masterFieldsPtr = 0;
  flagsPos = 0;
  entryFlags = 0;
  /** The current entry (after next()). */
  id: StreamID = { ms: 0n, seq: 0n };
  numfields = 0;
  readonly fv = new LpVal();
  readonly vv = new LpVal();

  start(h: Heap, s: number, start: StreamID | null, end: StreamID | null, rev: boolean): this {
    this.h = h;
    this.s = s;
    this.rev = rev;
    this.skipTombstones = true;
    this.startId = start ?? { ms: 0n, seq: 0n };
    this.endId = end ?? { ms: U64_MAX, seq: U64_MAX };
    const n = streamNodeCount(h, s);
    if (!rev) {
      let i = -1;
      if (start !== null && (start.ms !== 0n || start.seq !== 0n)) i = seekLE(h, s, start);
      this.node = (i < 0 ? 0 : i) - 1; // next() advances first
    } else {
      let i = -1;
      if (end !== null && (end.ms !== 0n || end.seq !== 0n)) i = seekLE(h, s, end);
      this.node = (i < 0 ? n - 1 : i) + 1;
    }
    this.lp = 0;
    this.ele = 0;
    return this;
  }

  /** streamIteratorGetID: true and id/numfields set, or false at the end of the range. */
  next(): boolean {
    const h = this.h;
    for (;;) {
      if (this.lp === 0 || this.ele === 0) {
        if (!this.rev) {
          if (++this.node >= streamNodeCount(h, this.s)) return false;
        } else if (--this.node < 0) return false;
        this.master = streamNodeMaster(h, this.s, this.node);
        const lp = (this.lp = streamNodeListpack(h, this.s, this.node));
        let p = lpFirst(h, lp);
        p = lpNext(h, lp, p);
        p = lpNext(h, lp, p);
        this.masterFields = lpInt(h, lp, p);
        p = lpNext(h, lp, p);
        this.masterFieldsStart = p;
        if (!this.rev) {
          for (let i = 0; i < this.masterFields; i++) p = lpNext(h, lp, p);
        } else p = lpLast(h, lp);
        this.ele = p;
      } else if (this.rev) {
        let c = lpInt(h, this.lp, this.ele);
        while (c-- > 0) this.ele = lpPrev(h, this.lp, this.ele);
        this.ele = lpPrev(h, this.lp, this.ele);
      }
      const lp = this.lp;
      for (;;) {
        if (!this.rev) {
          this.ele = lpNext(h, lp, this.ele);
          if (this.ele === 0) break;
        } else {
          let c = lpInt(h, lp, this.ele);
          if (c === 0) {
            this.lp = 0;
            this.ele = 0;
            break;
          }
          while (c-- > 0) this.ele = lpPrev(h, lp, this.ele);
        }
        this.flagsPos = this.ele;
        const flags = lpInt(h, lp, this.ele);
        this.ele = lpNext(h, lp, this.ele);
        const ms = addDelta(this.master.ms, lpBig(h, lp, this.ele));
        this.ele = lpNext(h, lp, this.ele);
        const seq = addDelta(this.master.seq, lpBig(h, lp, this.ele));
        this.ele = lpNext(h, lp, this.ele);
        if (flags & STREAM_ITEM_FLAG_SAMEFIELDS) this.numfields = this.masterFields;
        else {
          this.numfields = lpInt(h, lp, this.ele);
          this.ele = lpNext(h, lp, this.ele);
        }
        const id = { ms, seq };
        const live = !this.skipTombstones || (flags & STREAM_ITEM_FLAG_DELETED) === 0;
        if (!this.rev) {
          if (live && idCmp(id, this.startId) >= 0) {
            if (idCmp(id, this.endId) > 0) return false;
            this.id = id;
            this.entryFlags = flags;
            if (flags & STREAM_ITEM_FLAG_SAMEFIELDS) this.masterFieldsPtr = this.masterFieldsStart;
            return true;
          }
        } else if (live && idCmp(id, this.endId) <= 0) {
          if (idCmp(id, this.startId) < 0) return false;
          this.id = id;
          this.entryFlags = flags;
          if (flags & STREAM_ITEM_FLAG_SAMEFIELDS) this.masterFieldsPtr = this.masterFieldsStart;
          return true;
        }
        if (!this.rev) {
          const skip = flags & STREAM_ITEM_FLAG_SAMEFIELDS ? this.numfields : this.numfields * 2;
          for (let i = 0; i < skip; i++) this.ele = lpNext(h, lp, this.ele);
        } else {
          let back = flags & STREAM_ITEM_FLAG_SAMEFIELDS ? 4 : 5;
          while (back-- > 0) this.ele = lpPrev(h, lp, this.ele);
        }
      }
    }
  }

  /** streamIteratorGetField: the next field (fv) and value (vv) of the current entry. */
  field(): void {
    const h = this.h;
    if (this.entryFlags & STREAM_ITEM_FLAG_SAMEFIELDS) {
      lpGet(h, this.lp, this.masterFieldsPtr, this.fv);
      this.masterFieldsPtr = lpNext(h, this.lp, this.masterFieldsPtr);
    } else {
      lpGet(h, this.lp, this.ele, this.fv);
      this.ele = lpNext(h, this.lp, this.ele);
    }
    lpGet(h, this.lp, this.ele, this.vv);
    this.ele = lpNext(h, this.lp, this.ele);
  }

  /**
   * streamIteratorRemoveEntry: mark the current entry deleted (or drop its node when it was the
   * node's last live entry) and re-seek after it.
   */
  removeEntry(): void {
    const h = this.h;
    const s = this.s;
    let lp = this.lp;
    // Flags stay a 1-byte integer (0..3), so this replace never reallocates.
    lp = lpReplaceInt(h, lp, this.flagsPos, this.entryFlags | STREAM_ITEM_FLAG_DELETED);
    const p = lpFirst(h, lp);
    const count = lpInt(h, lp, p);
    if (count === 1) {
      lpFree(h, lp);
      removeNode(h, s, this.node);
    } else {
      lp = lpReplaceInt(h, lp, p, count - 1);
      const q = lpNext(h, lp, p);
      lp = lpReplaceInt(h, lp, q, lpInt(h, lp, q) + 1);
      setNodeListpack(h, s, this.node, lp);
    }
    setLength(h, s, streamLength(h, s) - 1);
    const cur = this.id;
    if (this.rev) this.start(h, s, this.startId, cur, true);
    else this.start(h, s, cur, this.endId, false);
  }
}

/** The bytes of a value read by the iterator (a view, or digits in a scratch buffer). */
export function iterBytes(h: Heap, v: LpVal): Uint8Array {
  return lpValBytes(h, v);
}

const scratchIter = new StreamIter();

/** streamGetEdgeID: first or last entry ID; with none, max-max (first) or 0-0 (last). */
export function streamGetEdgeId(h: Heap, s: number, first: boolean, skipTombstones: boolean): StreamID {
  const it = scratchIter.start(h, s, null, null, !first);
  it.skipTombstones = skipTombstones;
  if (it.next()) return { ms: it.id.ms, seq: it.id.seq };
  return first ? { ms: U64_MAX, seq: U64_MAX } : { ms: 0n, seq: 0n };
}

/** streamDeleteItem: true if the live entry id existed and is now deleted. */
export function streamDeleteItem(h: Heap, s: number, id: StreamID): boolean {
  const it = scratchIter.start(h, s, id, id, false);
  if (!it.next()) return false;
  it.removeEntry();
  return true;
}

// ---- appending ------------------------------------------------------------------------------

export const APPEND_OK = 0;
/** The ID is not greater than the last one (EDOM). */
export const APPEND_EDOM = 1;
/** The elements are too large (ERANGE). */
export const APPEND_ERANGE = 2;

export interface NodeLimits { maxBytes: number; maxEntries: number }

/**
 * streamAppendItem: add the entry of argv[from..from+2*numfields) (field, value pairs) with the
 * ID useId (null: generated from nowMs; seqGiven false: <ms>-*). The new ID goes to `added`.
 * Every allocation happens before the stream changes (the tail node is rebuilt in a copy), so
 * an allocation failure leaves the stream as it was.
 */
export function streamAppendItem(
  h: Heap, s: number, argv: Uint8Array[], from: number, numfields: number, useId: StreamID | null, seqGiven: boolean,
  nowMs: number, lim: NodeLimits, added: StreamID,
): number {
  const last = streamLastId(h, s);
  let id: StreamID;
  if (useId !== null) {
    if (seqGiven) id = { ms: useId.ms, seq: useId.seq };
    else if (last.ms === useId.ms) {
      if (last.seq === U64_MAX) return APPEND_EDOM;
      id = { ms: last.ms, seq: last.seq + 1n };
    } else id = { ms: useId.ms, seq: 0n };
  } else {
    const ms = BigInt(nowMs);
    if (ms > last.ms) id = { ms, seq: 0n };
    else {
      id = { ms: last.ms, seq: last.seq };
      idIncr(id);
    }
  }
  if (idCmp(id, last) <= 0) return APPEND_EDOM;
  let totelelen = 0;
  for (let i = 0; i < numfields * 2; i++) totelelen += argv[from + i].length;
  if (totelelen > STREAM_LISTPACK_MAX_SIZE) return APPEND_ERANGE;

  const nodes = streamNodeCount(h, s);
  let tail = nodes > 0 ? streamNodeListpack(h, s, nodes - 1) : 0;
  if (tail !== 0) {
    let maxBytes = lim.maxBytes;
    if (maxBytes === 0 || maxBytes > STREAM_LISTPACK_MAX_SIZE) maxBytes = STREAM_LISTPACK_MAX_SIZE;
    let newNode = false;
    if (lpBytes(h, tail) + totelelen >= maxBytes) newNode = true;
    else if (lim.maxEntries) {
      const p = lpFirst(h, tail);
      if (lpInt(h, tail, p) + lpInt(h, tail, lpNext(h, tail, p)) >= lim.maxEntries) newNode = true;
    }
    if (newNode) tail = 0;
  }

  let flags = STREAM_ITEM_FLAG_NONE;
  let master: StreamID;
  let lp = 0;
  try {
    if (tail === 0) {
      reserveNode(h, s);
      master = id;
      lp = lpNew(h);
      lp = lpAppendInt(h, lp, 1);
      lp = lpAppendInt(h, lp, 0);
      lp = lpAppendInt(h, lp, numfields);
      for (let i = 0; i < numfields; i++) lp = lpAppend(h, lp, argv[from + i * 2]);
      lp = lpAppendInt(h, lp, 0);
      flags |= STREAM_ITEM_FLAG_SAMEFIELDS;
    } else {
      master = streamNodeMaster(h, s, nodes - 1);
      lp = lpDup(h, tail);
      let p = lpFirst(h, lp);
      lp = lpReplaceInt(h, lp, p, lpInt(h, lp, p) + 1);
      p = lpNext(h, lp, p);
      p = lpNext(h, lp, p);
      const mf = lpInt(h, lp, p);
      p = lpNext(h, lp, p);
      if (mf === numfields) {
        let i = 0;
        for (; i < mf; i++) {
          if (!lpEquals(h, lp, p, argv[from + i * 2])) break;
          p = lpNext(h, lp, p);
        }
        if (i === mf) flags |= STREAM_ITEM_FLAG_SAMEFIELDS;
      }
    }
    const same = (flags & STREAM_ITEM_FLAG_SAMEFIELDS) !== 0;
    lp = lpAppendInt(h, lp, flags);
    lp = lpAppendI64(h, lp, id.ms - master.ms);
    lp = lpAppendI64(h, lp, id.seq - master.seq);
    if (!same) lp = lpAppendInt(h, lp, numfields);
    for (let i = 0; i < numfields; i++) {
      if (!same) lp = lpAppend(h, lp, argv[from + i * 2]);
      lp = lpAppend(h, lp, argv[from + i * 2 + 1]);
    }
    lp = lpAppendInt(h, lp, numfields + 3 + (same ? 0 : numfields + 1));
  } catch (err) {
    if (lp !== 0) lpFree(h, lp);
    throw err;
  }
  // Nothing below allocates.
  if (tail === 0) pushNode(h, s, master, lp);
  else {
    lpFree(h, tail);
    setNodeListpack(h, s, nodes - 1, lp);
  }
  const len = streamLength(h, s) + 1;
  setLength(h, s, len);
  streamSetEntriesAdded(h, s, streamEntriesAdded(h, s) + 1);
  streamSetLastId(h, s, id);
  if (len === 1) streamSetFirstId(h, s, id);
  added.ms = id.ms;
  added.seq = id.seq;
  return APPEND_OK;
}

/** Byte equality of a listpack element with b (memcmp of lpGet's string form, as Redis). */
function lpEquals(h: Heap, lp: number, p: number, b: Uint8Array): boolean {
  const v = lpGet(h, lp, p, lv);
  const a = lpValBytes(h, v);
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// ---- trimming -------------------------------------------------------------------------------

export const TRIM_NONE = 0;
export const TRIM_MAXLEN = 1;
export const TRIM_MINID = 2;

export interface TrimArgs {
  strategy: number;
  approx: boolean;
  /** 0: no limit on the entries removed. */
  limit: number;
  maxlen: number;
  minid: StreamID;
}

/** streamTrim: remove entries from the head; returns how many. */
export function streamTrim(h: Heap, s: number, a: TrimArgs): number {
  if (a.strategy === TRIM_NONE) return 0;
  let deleted = 0;
  while (streamNodeCount(h, s) > 0) {
    if (a.strategy === TRIM_MAXLEN && streamLength(h, s) <= a.maxlen) break;
    let lp = streamNodeListpack(h, s, 0);
    let p = lpFirst(h, lp);
    const entries = lpInt(h, lp, p);
    if (a.limit && deleted + entries > a.limit) break;
    let removeNodeWhole: boolean;
    const master = streamNodeMaster(h, s, 0);
    if (a.strategy === TRIM_MAXLEN) removeNodeWhole = streamLength(h, s) - entries >= a.maxlen;
    else {
      const lastId = nodeEdgeId(h, lp, master, false) ?? master;
      removeNodeWhole = idCmp(lastId, a.minid) < 0;
    }
    if (removeNodeWhole) {
      lpFree(h, lp);
      removeNode(h, s, 0);
      setLength(h, s, streamLength(h, s) - entries);
      deleted += entries;
      continue;
    }
    if (a.approx) break;
    let fromLp = 0;
    p = lpNext(h, lp, p);
    p = lpNext(h, lp, p);
    const mf = lpInt(h, lp, p);
    p = lpNext(h, lp, p);
    for (let j = 0; j < mf; j++) p = lpNext(h, lp, p);
    p = lpNext(h, lp, p);
    while (p !== 0) {
      const pcopy = p;
      let flags = lpInt(h, lp, p);
      p = lpNext(h, lp, p);
      const msd = lpBig(h, lp, p);
      p = lpNext(h, lp, p);
      const seqd = lpBig(h, lp, p);
      p = lpNext(h, lp, p);
      let stop: boolean;
      if (a.strategy === TRIM_MAXLEN) stop = streamLength(h, s) <= a.maxlen;
      else stop = idCmp({ ms: addDelta(master.ms, msd), seq: addDelta(master.seq, seqd) }, a.minid) >= 0;
      if (stop) break;
      let toSkip: number;
      if (flags & STREAM_ITEM_FLAG_SAMEFIELDS) toSkip = mf;
      else {
        toSkip = lpInt(h, lp, p) * 2;
        p = lpNext(h, lp, p);
      }
      while (toSkip-- > 0) p = lpNext(h, lp, p);
      p = lpNext(h, lp, p);
      if (!(flags & STREAM_ITEM_FLAG_DELETED)) {
        flags |= STREAM_ITEM_FLAG_DELETED;
        lp = lpReplaceInt(h, lp, pcopy, flags); // same size: positions stay
        fromLp++;
        setLength(h, s, streamLength(h, s) - 1);
      }
    }
    deleted += fromLp;
    p = lpFirst(h, lp);
    lp = lpReplaceInt(h, lp, p, entries - fromLp);
    p = lpNext(h, lp, p);
    const marked = lpInt(h, lp, p);
    lp = lpReplaceInt(h, lp, p, marked + fromLp);
    setNodeListpack(h, s, 0, lp);
    break;
  }
  if (streamLength(h, s) === 0) streamSetFirstId(h, s, { ms: 0n, seq: 0n });
  else if (deleted) streamSetFirstId(h, s, streamGetEdgeId(h, s, true, true));
  return deleted;
}

// ---- whole-object operations ----------------------------------------------------------------

export function streamFree(h: Heap, s: number): void {
  const n = streamNodeCount(h, s);
  for (let i = 0; i < n; i++) lpFree(h, streamNodeListpack(h, s, i));
  const idx = h.u32[(s + H_IDX) / 4] * 8;
  if (idx !== 0) h.free(idx, h.u32[(s + H_CAP) / 4] * IDX_REC);
  cgFreeAll(h, s);
  h.free(s, STREAM_HDR);
}

/** streamDup (COPY): every node copied; on an allocation failure nothing is left allocated. */
export function streamDup(h: Heap, s: number): number {
  const d = streamNew(h);
  try {
    const n = streamNodeCount(h, s);
    for (let i = 0; i < n; i++) {
      reserveNode(h, d);
      const lp = lpDup(h, streamNodeListpack(h, s, i));
      pushNode(h, d, streamNodeMaster(h, s, i), lp);
    }
    cgDupAll(h, s, d);
  } catch (err) {
    streamFree(h, d);
    throw err;
  }
  // Header fields (the node index and the groups are d's own).
  h.u8.copyWithin(d, s, s + H_IDX);
  return d;
}

/** Structure check (DEBUG CHECK): index order, listpacks, counters, length, edge IDs. */
export function streamCheck(h: Heap, s: number, problems: string[]): void {
  const n = streamNodeCount(h, s);
  const cap = h.u32[(s + H_CAP) / 4];
  if (n > cap) problems.push(`stream: ${n} nodes over capacity ${cap}`);
  let total = 0;
  let prevLast: StreamID | null = null;
  for (let i = 0; i < n; i++) {
    const lp = streamNodeListpack(h, s, i);
    const master = streamNodeMaster(h, s, i);
    if (lpCheck(h, lp, problems, `stream node ${i}`) < 0) return;
    const p = lpFirst(h, lp);
    const count = lpInt(h, lp, p);
    const deleted = lpInt(h, lp, lpNext(h, lp, p));
    if (count <= 0) problems.push(`stream node ${i}: live count ${count}`);
    // Walk the node's entries with an iterator restricted to it.
    const it = new StreamIter().start(h, s, null, null, false);
    it.node = i - 1;
    it.skipTombstones = false;
    let live = 0;
    let dead = 0;
    let prev: StreamID | null = prevLast;
    while (it.next() && it.node === i) {
      if (prev !== null && idCmp(it.id, prev) <= 0) problems.push(`stream node ${i}: entry ${idStr(it.id)} out of order`);
      if (idCmp(it.id, master) < 0) problems.push(`stream node ${i}: entry ${idStr(it.id)} below master ${idStr(master)}`);
      prev = it.id;
      if (it.entryFlags & STREAM_ITEM_FLAG_DELETED) dead++;
      else live++;
      for (let f = 0; f < it.numfields; f++) it.field();
      if (it.lp === 0) break;
    }
    prevLast = prev;
    if (live !== count || dead !== deleted) problems.push(`stream node ${i}: counts ${count}/${deleted} but holds ${live}/${dead}`);
    total += live;
  }
  if (total !== streamLength(h, s)) problems.push(`stream: length ${streamLength(h, s)} but holds ${total}`);
  if (prevLast !== null && idCmp(prevLast, streamLastId(h, s)) > 0) problems.push('stream: an entry above last_id');
  cgCheck(h, s, problems);
}

/**
 * The node count of Redis's rax holding these master IDs (XINFO STREAM radix-tree-nodes): for
 * keys of one length, a rax has a node at the root, at every key, at every branching prefix and
 * at every child of a branching prefix (compressed chains between them are one node).
 */
export function streamRaxNodes(h: Heap, s: number): number {
  const n = streamNodeCount(h, s);
  const children = new Map<string, Set<number>>();
  const keys: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const id = streamNodeMaster(h, s, i);
    const k = Buffer.alloc(16);
    k.writeBigUInt64BE(id.ms, 0);
    k.writeBigUInt64BE(id.seq, 8);
    keys.push(k);
    for (let l = 0; l < 16; l++) {
      const pre = k.toString('latin1', 0, l);
      let set = children.get(pre);
      if (set === undefined) children.set(pre, (set = new Set()));
      set.add(k[l]);
    }
  }
  const nodes = new Set<string>(['']);
  for (const k of keys) nodes.add(k.toString('latin1'));
  for (const [pre, set] of children) {
    if (set.size < 2) continue;
    nodes.add(pre);
    for (const b of set) nodes.add(pre + String.fromCharCode(b));
  }
  return nodes.size;
}

/** Bytes of the structure (MEMORY USAGE): header, index and consumer groups (not the nodes). */
export function streamIndexBytes(h: Heap, s: number): number {
  return STREAM_HDR + h.u32[(s + H_CAP) / 4] * IDX_REC + cgBytes(h, s);
}

registerObjectType(T_STREAM, {
  free(heap: Heap, obj: number): void {
    streamFree(heap, obj);
  },
  copy(heap: Heap, obj: number): number {
    return streamDup(heap, obj);
  },
  freeEffort(heap: Heap, obj: number): number {
    // Its nodes, and each group as one allocation plus its PEL (the first group's size stands
    // for all, as Redis estimates).
    const groups = cgCount(heap, obj);
    return streamNodeCount(heap, obj) + 1 + (groups === 0 ? 0 : groups * (1 + pelCount(heap, cgAt(heap, obj, 0))));
  },
  check(heap: Heap, obj: number, _enc: number, problems: string[]): void {
    streamCheck(heap, obj, problems);
  },
});

function isZero(id: StreamID): boolean {
  return id.ms === 0n && id.seq === 0n;
}

/** streamRangeHasTombstones(s, start, NULL). */
export function streamRangeHasTombstones(h: Heap, s: number, start: StreamID): boolean {
  const maxDel = streamMaxDeletedId(h, s);
  if (streamLength(h, s) === 0 || isZero(maxDel)) return false;
  if (idCmp(streamFirstId(h, s), maxDel) > 0) return false;
  return idCmp(start, maxDel) <= 0;
}

/** streamEstimateDistanceFromFirstEverEntry: a group's entries_read for its last ID, or SCG_INVALID_ENTRIES_READ. */
export function streamEstimateDistance(h: Heap, s: number, id: StreamID): number {
  const added = streamEntriesAdded(h, s);
  if (!added) return 0;
  const len = streamLength(h, s);
  const last = streamLastId(h, s);
  if (!len && idCmp(id, last) < 1) return added;
  const cmpLast = idCmp(id, last);
  if (cmpLast === 0) return added;
  if (cmpLast > 0) return SCG_INVALID_ENTRIES_READ;
  const first = streamFirstId(h, s);
  const maxDel = streamMaxDeletedId(h, s);
  const cmpFirst = idCmp(id, first);
  if (isZero(maxDel) || idCmp(maxDel, first) < 0) {
    if (cmpFirst < 0) return added - len;
    if (cmpFirst === 0) return added - len + 1;
  }
  return SCG_INVALID_ENTRIES_READ;
}

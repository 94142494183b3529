// A quicklist (quicklist.c): a doubly linked list of listpack nodes, in the shared heap.
// Compression (list-compress-depth) is not implemented: nodes are always plain listpacks.
//
// Header (24 bytes): head u32 | tail u32 | count u32 (elements) | len u32 (nodes) | fill i32 |
//   pin (0, or a snapshot's pin record + 1 while it writes this list node by node: see qlPin)
// Node (24 bytes):   prev u32 | next u32 | lp u32 | count u32 | base u32 | block u32
// head, tail, prev, next and base hold heap addresses in 8-byte units (address / 8: the heap may
// pass 4 GiB); lp as below. Functions here take and return byte offsets.
//
// Front room: base is 0 when lp is its own heap block (the usual listpack rules); lp is then that
// block's address in 8-byte units. When the node has free bytes before its listpack (after head
// pops, or a node created by a head push), base is the heap block, block a size in that block's
// size class, and lp the listpack's byte offset within the block (a listpack there starts at any
// byte); LPOP and LPUSH then move only the 6-byte header instead of the whole node. Any other
// change first "normalizes" the node (copies the listpack into an exact block), so listpack
// functions always see their own block.
//
// fill is list-max-listpack-size when the list was made: negative = a byte limit per node
// (-1 4 KB, -2 8 KB ... -5 64 KB), positive = an element count limit (with an 8 KB safety cap).
//
// A position in the list is a (node, p) pair kept in a QlPos the caller owns (p is relative to
// the node's listpack: see listpack.ts). The caller holds the key's slot lock throughout.

import { Heap } from './heap';
import {
  lpPrependInPlace, lpPopFrontInPlace, lpInitAt,
  LpVal, lpNew, lpFree, lpDup, lpBytes, lpAppend, lpPrepend, lpFirst, lpLast, lpNext, lpPrev,
  lpSeek, lpGet, lpDelete, lpDeleteRangeAt, lpInsert, lpReplace, lpCheck, LP_BEFORE, LP_AFTER, LP_HDR,
} from './listpack';

const QL_BYTES = 24;
const NODE_BYTES = 24;
const SIZE_SAFETY_LIMIT = 8192;
const OPT_LEVEL = [4096, 8192, 16384, 32768, 65536];

/**
 * Node hooks of a snapshot writing this list node by node (snapshot.ts installs them; they run
 * only for a list whose pin word is set): `before` runs before node n's listpack changes (the
 * node stays in the list), `unlink` once node n is out of the list, before it would be freed:
 * true means the snapshot keeps it (it frees it with qlFreeNode once written).
 */
export const qlPin: {
  before: ((heap: Heap, ql: number, n: number) => void) | null;
  unlink: ((heap: Heap, ql: number, n: number) => boolean) | null;
} = { before: null, unlink: null };

export function qlPinWord(heap: Heap, ql: number): number {
  return heap.u32[ql / 4 + 5];
}
export function qlSetPinWord(heap: Heap, ql: number, v: number): void {
  heap.u32[ql / 4 + 5] = v;
}

/** Node n of ql is about to change: a snapshot still to write it copies it first. */
function touch(heap: Heap, ql: number, n: number): void {
  if (heap.u32[ql / 4 + 5] !== 0 && qlPin.before !== null) qlPin.before(heap, ql, n);
}

export class QlPos {
  node = 0;
  p = 0;
}

// ---- header and node fields -------------------------------------------------------------

const head = (h: Heap, ql: number): number => h.u32[ql / 4] * 8;
const tail = (h: Heap, ql: number): number => h.u32[ql / 4 + 1] * 8;
const nPrev = (h: Heap, n: number): number => h.u32[n / 4] * 8;
const nNext = (h: Heap, n: number): number => h.u32[n / 4 + 1] * 8;
/** Node n's listpack (see "Front room": its own block, or a byte offset within base). */
function nLp(h: Heap, n: number): number {
  const u32 = h.u32;
  const w = n / 4;
  const base = u32[w + 4];
  return base === 0 ? u32[w + 2] * 8 : base * 8 + u32[w + 2];
}
const nCount = (h: Heap, n: number): number => h.u32[n / 4 + 3];

export function qlNew(heap: Heap, fill: number): number {
  const ql = heap.calloc(QL_BYTES);
  heap.i32[ql / 4 + 4] = fill;
  return ql;
}

/** Elements in the list. */
export function qlCount(heap: Heap, ql: number): number {
  return heap.u32[ql / 4 + 2];
}

/** Nodes in the list. */
export function qlNodes(heap: Heap, ql: number): number {
  return heap.u32[ql / 4 + 3];
}

function addCount(heap: Heap, ql: number, d: number): void {
  heap.u32[ql / 4 + 2] += d;
}

/** Node n's front-room block (a byte offset), 0 when its listpack is its own block. */
const nBase = (h: Heap, n: number): number => h.u32[n / 4 + 4] * 8;

/** Give node n's listpack its own exact block again (see "Front room"). */
function normalize(heap: Heap, n: number): void {
  const w = n / 4;
  const base = heap.u32[w + 4] * 8;
  if (base === 0) return;
  const nl = lpDup(heap, base + heap.u32[w + 2]);
  heap.free(base, heap.u32[w + 5]);
  heap.u32[w + 2] = nl / 8;
  heap.u32[w + 4] = 0;
  heap.u32[w + 5] = 0;
}

/** Free node n's listpack memory. */
function freeNodeLp(heap: Heap, n: number): void {
  const w = n / 4;
  if (heap.u32[w + 4] !== 0) heap.free(heap.u32[w + 4] * 8, heap.u32[w + 5]);
  else lpFree(heap, heap.u32[w + 2] * 8);
}

/** Block size for a node made by a head push: the node's byte limit, filled from the end. */
function frontBlockBytes(heap: Heap, ql: number): number {
  const fill = heap.i32[ql / 4 + 4];
  if (fill < 0) return OPT_LEVEL[Math.min(-fill - 1, OPT_LEVEL.length - 1)];
  return SIZE_SAFETY_LIMIT;
}

function newNode(heap: Heap): number {
  const n = heap.calloc(NODE_BYTES);
  setLp(heap, n, lpNew(heap));
  return n;
}

/** A new, unlinked node holding s alone; on an allocation failure nothing is left behind. */
function nodeWith(heap: Heap, s: Uint8Array): number {
  const n = heap.calloc(NODE_BYTES);
  try {
    setLp(heap, n, lpNew(heap));
    setLp(heap, n, lpAppend(heap, nLp(heap, n), s));
  } catch (e) {
    if (heap.u32[n / 4 + 2] !== 0) freeNodeLp(heap, n);
    heap.free(n, NODE_BYTES);
    throw e;
  }
  return n;
}

/** Link node n after `after` (0: as the new head). */
function linkAfter(heap: Heap, ql: number, after: number, n: number): void {
  const u32 = heap.u32;
  const q = ql / 4;
  const next = after === 0 ? u32[q] * 8 : nNext(heap, after);
  u32[n / 4] = after / 8;
  u32[n / 4 + 1] = next / 8;
  if (after === 0) u32[q] = n / 8;
  else u32[after / 4 + 1] = n / 8;
  if (next === 0) u32[q + 1] = n / 8;
  else u32[next / 4] = n / 8;
  u32[q + 3]++;
}

function unlinkNode(heap: Heap, ql: number, n: number): void {
  const u32 = heap.u32;
  const q = ql / 4;
  const prev = nPrev(heap, n);
  const next = nNext(heap, n);
  if (prev === 0) u32[q] = next / 8;
  else u32[prev / 4 + 1] = next / 8;
  if (next === 0) u32[q + 1] = prev / 8;
  else u32[next / 4] = prev / 8;
  u32[q + 3]--;
  // A snapshot that has yet to write this node takes it (no copy); otherwise it goes now.
  if (u32[q + 5] !== 0 && qlPin.unlink !== null && qlPin.unlink(heap, ql, n)) return;
  qlFreeNode(heap, n);
}

/** Free an unlinked node and its listpack (a snapshot frees the nodes it took this way). */
export function qlFreeNode(heap: Heap, n: number): void {
  freeNodeLp(heap, n);
  heap.free(n, NODE_BYTES);
}

/** Would an element of sz bytes fit into node n (Redis 7.0 _quicklistNodeAllowInsert)? */
function allowInsert(heap: Heap, ql: number, n: number, sz: number): boolean {
  if (n === 0) return false;
  const fill = heap.i32[ql / 4 + 4];
  let overhead = sz < 254 ? 1 : 5;
  overhead += sz < 64 ? 1 : sz < 16384 ? 2 : 5;
  const newSz = lpBytes(heap, nLp(heap, n)) + sz + overhead;
  if (fill < 0) {
    const lvl = -fill - 1;
    if (lvl < OPT_LEVEL.length && newSz <= OPT_LEVEL[lvl]) return true;
  }
  if (newSz > SIZE_SAFETY_LIMIT) return false;
  return nCount(heap, n) < fill;
}

/** Set node n's listpack: in 8-byte units for its own block, else its offset in base's block. */
function setLp(heap: Heap, n: number, lp: number): void {
  const w = n / 4;
  const base = heap.u32[w + 4];
  heap.u32[w + 2] = base === 0 ? lp / 8 : lp - base * 8;
}

function addNodeCount(heap: Heap, n: number, d: number): void {
  heap.u32[n / 4 + 3] += d;
}

// ---- push / pop ---------------------------------------------------------------------------

/** Push s at the head (head=true) or the tail. */
export function qlPush(heap: Heap, ql: number, s: Uint8Array, atHead: boolean): void {
  let n = atHead ? head(heap, ql) : tail(heap, ql);
  if (!allowInsert(heap, ql, n, s.length)) {
    let nn: number;
    if (atHead) {
      // A node filled from its end: the following head pushes move only the header.
      nn = heap.calloc(NODE_BYTES);
      const bytes = frontBlockBytes(heap, ql);
      const block = heap.alloc(bytes);
      const lp = block + bytes - (LP_HDR + 1);
      lpInitAt(heap, lp);
      const w = nn / 4;
      heap.u32[w + 2] = lp - block;
      heap.u32[w + 4] = block / 8;
      heap.u32[w + 5] = bytes;
    } else {
      // Built whole before it is linked: a failed allocation leaves no empty node in the list.
      nn = nodeWith(heap, s);
      linkAfter(heap, ql, n, nn);
      addNodeCount(heap, nn, 1);
      addCount(heap, ql, 1);
      return;
    }
    linkAfter(heap, ql, 0, nn);
    n = nn;
  } else {
    touch(heap, ql, n);
  }
  const lp = nLp(heap, n);
  if (atHead) {
    const base = nBase(heap, n);
    const nl = base !== 0 ? lpPrependInPlace(heap, lp, s, lp - base) : 0;
    if (nl !== 0) {
      setLp(heap, n, nl);
    } else {
      normalize(heap, n);
      setLp(heap, n, lpPrepend(heap, nLp(heap, n), s));
    }
  } else {
    normalize(heap, n);
    setLp(heap, n, lpAppend(heap, nLp(heap, n), s));
  }
  addNodeCount(heap, n, 1);
  addCount(heap, ql, 1);
}

/** Position at the head (or tail) element. False if the list is empty. */
export function qlEnd(heap: Heap, ql: number, atHead: boolean, pos: QlPos): boolean {
  const n = atHead ? head(heap, ql) : tail(heap, ql);
  pos.node = n;
  if (n === 0) {
    pos.p = 0;
    return false;
  }
  pos.p = atHead ? lpFirst(heap, nLp(heap, n)) : lpLast(heap, nLp(heap, n));
  return true;
}

/** Position at index (negative from the tail), walking from the nearer end. False if out of range. */
export function qlIndex(heap: Heap, ql: number, index: number, pos: QlPos): boolean {
  const count = qlCount(heap, ql);
  if (index < 0) index += count;
  if (index < 0 || index >= count) return false;
  if (index < count - index) {
    let n = head(heap, ql);
    let acc = 0;
    while (acc + nCount(heap, n) <= index) {
      acc += nCount(heap, n);
      n = nNext(heap, n);
    }
    pos.node = n;
    pos.p = lpSeek(heap, nLp(heap, n), index - acc);
  } else {
    let n = tail(heap, ql);
    let acc = 0; // elements after node n
    const back = count - 1 - index; // 0 = last
    while (acc + nCount(heap, n) <= back) {
      acc += nCount(heap, n);
      n = nPrev(heap, n);
    }
    pos.node = n;
    pos.p = lpSeek(heap, nLp(heap, n), -1 - (back - acc));
  }
  return true;
}

/** Read the element at pos. */
export function qlGet(heap: Heap, pos: QlPos, out: LpVal): LpVal {
  return lpGet(heap, nLp(heap, pos.node), pos.p, out);
}

/** The listpack offset and position of pos (for lpCompare and friends). */
export function qlPosLp(heap: Heap, pos: QlPos): number {
  return nLp(heap, pos.node);
}

/** Move to the next element; false at the end. */
export function qlNext(heap: Heap, pos: QlPos): boolean {
  const lp = nLp(heap, pos.node);
  const p = lpNext(heap, lp, pos.p);
  if (p !== 0) {
    pos.p = p;
    return true;
  }
  const n = nNext(heap, pos.node);
  if (n === 0) return false;
  pos.node = n;
  pos.p = lpFirst(heap, nLp(heap, n));
  return true;
}

/** Move to the previous element; false at the start. */
export function qlPrev(heap: Heap, pos: QlPos): boolean {
  const lp = nLp(heap, pos.node);
  const p = lpPrev(heap, lp, pos.p);
  if (p !== 0) {
    pos.p = p;
    return true;
  }
  const n = nPrev(heap, pos.node);
  if (n === 0) return false;
  pos.node = n;
  pos.p = lpLast(heap, nLp(heap, n));
  return true;
}

/**
 * Delete the element at pos. Afterwards pos is at the element that followed it (forward=true)
 * or preceded it (forward=false); returns false when there is none (end of iteration).
 */
export function qlDelAt(heap: Heap, ql: number, pos: QlPos, forward: boolean): boolean {
  const n = pos.node;
  addCount(heap, ql, -1);
  if (nCount(heap, n) === 1) {
    const other = forward ? nNext(heap, n) : nPrev(heap, n);
    unlinkNode(heap, ql, n);
    if (other === 0) return false;
    pos.node = other;
    const lp = nLp(heap, other);
    pos.p = forward ? lpFirst(heap, lp) : lpLast(heap, lp);
    return true;
  }
  touch(heap, ql, n);
  const p = pos.p;
  if (p === LP_HDR && forward) {
    // The first element: move the header over it, the rest stays (see "Front room").
    const w = n / 4;
    const cur = nLp(heap, n);
    if (heap.u32[w + 4] === 0) {
      heap.u32[w + 4] = cur / 8;
      heap.u32[w + 5] = lpBytes(heap, cur);
    }
    setLp(heap, n, lpPopFrontInPlace(heap, cur));
    addNodeCount(heap, n, -1);
    return true;
  }
  normalize(heap, n);
  const before = forward ? 0 : lpPrev(heap, nLp(heap, n), p);
  const lp = lpDelete(heap, nLp(heap, n), p);
  setLp(heap, n, lp);
  addNodeCount(heap, n, -1);
  if (forward) {
    if (heap.u8[lp + p] !== 0xff) return true; // the next element slid into p
    const nx = nNext(heap, n);
    if (nx === 0) return false;
    pos.node = nx;
    pos.p = lpFirst(heap, nLp(heap, nx));
    return true;
  }
  if (before !== 0) {
    pos.p = before;
    return true;
  }
  const pv = nPrev(heap, n);
  if (pv === 0) return false;
  pos.node = pv;
  pos.p = lpLast(heap, nLp(heap, pv));
  return true;
}

/** Remove the head (or tail) element. The caller reads it first (qlEnd + qlGet). */
export function qlPopEnd(heap: Heap, ql: number, atHead: boolean, pos: QlPos): void {
  if (!qlEnd(heap, ql, atHead, pos)) return;
  qlDelAt(heap, ql, pos, true);
}

/** Replace the element at pos with s (pos stays valid). */
export function qlReplaceAt(heap: Heap, ql: number, pos: QlPos, s: Uint8Array): void {
  const n = pos.node;
  touch(heap, ql, n);
  normalize(heap, n);
  const lp = nLp(heap, n);
  // Replacing within a full node may make it exceed the limits; Redis then splits. We accept a
  // slightly oversized node unless it would pass the safety limit, where we re-insert instead.
  if (lpBytes(heap, lp) + s.length > SIZE_SAFETY_LIMIT && s.length > 64 && nCount(heap, n) > 1) {
    qlInsertAt(heap, ql, pos, s, false);
    // pos is now at the new element; delete the old one (which follows it).
    const save = new QlPos();
    save.node = pos.node;
    save.p = pos.p;
    qlNext(heap, pos);
    qlDelAt(heap, ql, pos, true);
    // Re-find the inserted element: it is the one before where pos stands now (or the tail).
    pos.node = save.node;
    pos.p = save.p;
    return;
  }
  setLp(heap, n, lpReplace(heap, lp, pos.p, s));
}

/**
 * Insert s before (after=false) or after the element at pos. Afterwards pos is at the new
 * element.
 */
export function qlInsertAt(heap: Heap, ql: number, pos: QlPos, s: Uint8Array, after: boolean): void {
  insertAt(heap, ql, pos, s, after);
  // Counted once the element is in (an allocation failure on the way must not leave it counted).
  addCount(heap, ql, 1);
}

function insertAt(heap: Heap, ql: number, pos: QlPos, s: Uint8Array, after: boolean): void {
  const n = pos.node;
  normalize(heap, n);
  const lp = nLp(heap, n);
  const sz = s.length;
  if (allowInsert(heap, ql, n, sz)) {
    touch(heap, ql, n);
    const nl = lpInsert(heap, lp, s, pos.p, after ? LP_AFTER : LP_BEFORE);
    setLp(heap, n, nl);
    addNodeCount(heap, n, 1);
    if (after) pos.p = lpNext(heap, nl, pos.p);
    return;
  }
  const atTail = after && lpNext(heap, lp, pos.p) === 0;
  const atHead = !after && lpPrev(heap, lp, pos.p) === 0;
  if (atTail) {
    let nx = nNext(heap, n);
    if (allowInsert(heap, ql, nx, sz)) {
      touch(heap, ql, nx);
      normalize(heap, nx);
      setLp(heap, nx, lpPrepend(heap, nLp(heap, nx), s));
    } else {
      // Built whole before it is linked: a failed allocation leaves no empty node in the list.
      nx = nodeWith(heap, s);
      linkAfter(heap, ql, n, nx);
    }
    addNodeCount(heap, nx, 1);
    pos.node = nx;
    pos.p = LP_HDR;
    return;
  }
  if (atHead) {
    let pv = nPrev(heap, n);
    if (allowInsert(heap, ql, pv, sz)) {
      touch(heap, ql, pv);
      normalize(heap, pv);
      setLp(heap, pv, lpAppend(heap, nLp(heap, pv), s));
    } else {
      pv = nodeWith(heap, s);
      linkAfter(heap, ql, nPrev(heap, n), pv);
    }
    addNodeCount(heap, pv, 1);
    pos.node = pv;
    pos.p = lpLast(heap, nLp(heap, pv));
    return;
  }
  // In the middle of a full node: split it at the insertion point, then put s in a node of its
  // own between the halves (or at the end of the first half when it fits there).
  const splitAt = after ? lpNext(heap, lp, pos.p) : pos.p; // first element of the second half
  let k = 0;
  for (let p = lpFirst(heap, lp); p !== splitAt; p = lpNext(heap, lp, p)) k++;
  const total = nCount(heap, n);
  touch(heap, ql, n);
  const right = heap.calloc(NODE_BYTES);
  setLp(heap, right, lpDeleteRangeAt(heap, lpDup(heap, lp), LP_HDR, k));
  heap.u32[right / 4 + 3] = total - k;
  setLp(heap, n, lpDeleteRangeAt(heap, lp, splitAt, total - k));
  heap.u32[n / 4 + 3] = k;
  linkAfter(heap, ql, n, right);
  if (allowInsert(heap, ql, n, sz)) {
    setLp(heap, n, lpAppend(heap, nLp(heap, n), s));
    addNodeCount(heap, n, 1);
    pos.node = n;
    pos.p = lpLast(heap, nLp(heap, n));
    return;
  }
  const mid = nodeWith(heap, s);
  linkAfter(heap, ql, n, mid);
  addNodeCount(heap, mid, 1);
  pos.node = mid;
  pos.p = LP_HDR;
}

/** Delete count elements starting at index start (>= 0). Returns how many were deleted. */
export function qlDelRange(heap: Heap, ql: number, start: number, count: number): number {
  const pos = new QlPos();
  if (count <= 0 || !qlIndex(heap, ql, start, pos)) return 0;
  let left = count;
  let n = pos.node;
  let p = pos.p;
  let deleted = 0;
  while (left > 0 && n !== 0) {
    const nc = nCount(heap, n);
    const next = nNext(heap, n);
    if (p === LP_HDR && left >= nc) {
      unlinkNode(heap, ql, n);
      left -= nc;
      deleted += nc;
    } else {
      touch(heap, ql, n);
      normalize(heap, n);
      const lp = nLp(heap, n);
      let idx = 0;
      for (let q = lpFirst(heap, lp); q !== p; q = lpNext(heap, lp, q)) idx++;
      const take = Math.min(left, nc - idx);
      setLp(heap, n, lpDeleteRangeAt(heap, lp, p, take));
      addNodeCount(heap, n, -take);
      left -= take;
      deleted += take;
    }
    n = next;
    p = LP_HDR;
  }
  addCount(heap, ql, -deleted);
  return deleted;
}

export function qlFree(heap: Heap, ql: number): void {
  let n = head(heap, ql);
  while (n !== 0) {
    const next = nNext(heap, n);
    freeNodeLp(heap, n);
    heap.free(n, NODE_BYTES);
    n = next;
  }
  heap.free(ql, QL_BYTES);
}

export function qlDup(heap: Heap, ql: number): number {
  const nq = qlNew(heap, heap.i32[ql / 4 + 4]);
  let last = 0;
  for (let n = head(heap, ql); n !== 0; n = nNext(heap, n)) {
    const nn = heap.calloc(NODE_BYTES);
    setLp(heap, nn, lpDup(heap, nLp(heap, n)));
    heap.u32[nn / 4 + 3] = nCount(heap, n);
    linkAfter(heap, nq, last, nn);
    last = nn;
  }
  heap.u32[nq / 4 + 2] = qlCount(heap, ql);
  return nq;
}

/** Structure check: links, counts, every node's listpack. */
export function qlCheck(heap: Heap, ql: number, problems: string[]): void {
  if (ql === 0 || ql % 8 !== 0) {
    problems.push(`quicklist: bad pointer ${ql}`);
    return;
  }
  let prev = 0;
  let total = 0;
  let nodes = 0;
  for (let n = head(heap, ql); n !== 0; n = nNext(heap, n)) {
    if (nPrev(heap, n) !== prev) problems.push('quicklist: broken prev link');
    const base = nBase(heap, n);
    if (base !== 0) {
      const lp = nLp(heap, n);
      const cap = Heap.capacity(heap.u32[n / 4 + 5]);
      if (lp < base || lp + lpBytes(heap, lp) > base + cap) problems.push('quicklist: node listpack outside its block');
    }
    const c = lpCheck(heap, nLp(heap, n), problems, 'quicklist node');
    if (c === 0) problems.push('quicklist: empty node');
    if (c >= 0 && c !== nCount(heap, n)) problems.push(`quicklist: node count ${nCount(heap, n)} but listpack holds ${c}`);
    total += nCount(heap, n);
    prev = n;
    if (++nodes > 1e8) {
      problems.push('quicklist: node chain cycles');
      return;
    }
  }
  if (tail(heap, ql) !== prev) problems.push('quicklist: tail is not the last node');
  if (nodes !== qlNodes(heap, ql)) problems.push(`quicklist: len ${qlNodes(heap, ql)} but ${nodes} nodes`);
  if (total !== qlCount(heap, ql)) problems.push(`quicklist: count ${qlCount(heap, ql)} but nodes hold ${total}`);
  if (total === 0) problems.push('quicklist: empty list stored');
}

// ---- node-level access (RDB save/load, MEMORY USAGE, DEBUG OBJECT) ------------------------

/** First node (0 if the list is empty). */
export function qlFirstNode(heap: Heap, ql: number): number {
  return head(heap, ql);
}

/** Node after n (0 at the end). */
export function qlNextNode(heap: Heap, n: number): number {
  return nNext(heap, n);
}

/** The listpack of node n (read only: RDB saves it as is, QUICKLIST_2 "packed" node). */
export function qlNodeListpack(heap: Heap, n: number): number {
  return nLp(heap, n);
}

/** Elements in node n. */
export function qlNodeCount(heap: Heap, n: number): number {
  return nCount(heap, n);
}

/**
 * Append a whole listpack as a new tail node (RDB load); the quicklist takes ownership of lp.
 * An empty listpack is freed instead.
 */
export function qlAppendListpack(heap: Heap, ql: number, lp: number, count: number): void {
  if (count === 0) {
    lpFree(heap, lp);
    return;
  }
  const n = heap.calloc(NODE_BYTES);
  setLp(heap, n, lp);
  heap.u32[n / 4 + 3] = count;
  linkAfter(heap, ql, tail(heap, ql), n);
  addCount(heap, ql, count);
}

/** Bytes the list uses in the heap (header, nodes, listpacks), for MEMORY USAGE. */
export function qlMemory(heap: Heap, ql: number): number {
  let b = QL_BYTES;
  for (let n = head(heap, ql); n !== 0; n = nNext(heap, n)) b += qlNodeBytes(heap, n);
  return b;
}

/** Heap bytes of node n: its block and its listpack, as stored (compressed or not). */
export function qlNodeBytes(heap: Heap, n: number): number {
  return NODE_BYTES + (nBase(heap, n) !== 0 ? heap.u32[n / 4 + 5] : lpBytes(heap, nLp(heap, n)));
}

// The sorted set object (t_zset.c): listpack encoding (member, score, member, score... ordered by
// score then member bytes) up to zset-max-listpack-entries / zset-max-listpack-value, then the
// skiplist encoding (skiplist.ts: skiplist + member hash). Commands reach zsets only through the
// functions here; a listpack may move when it changes, so mutations take the Store and the key's
// entry and keep the entry's object pointer current.

import type { Heap } from './heap';
import { Store, T_ZSET, E_LISTPACK, E_SKIPLIST, PINNED_FULL, registerObjectType } from './keyspace';
import {
  LpVal, lpNew, lpFree, lpDup, lpLength, lpFirst, lpLast, lpNext, lpPrev, lpSeek, lpGet, lpValBytes,
  lpInsert, lpInsertPair, lpDeleteRangeAt, lpCheck, lpBytes, intBytes, LP_BEFORE,
} from './listpack';
import {
  zslCreate, zslFree, zslLength, zslInsert, zslFind, zslDelete, zslUpdateScore, zslGetRank, zslByRank,
  zslFirst, zslTail, zslFirstInRange, zslLastInRange, zslRangeRank, zslCopy, zslCheck, zslScan,
  nodeScore, nodeNext, nodePrev, nodeMember, nodeMemberLen, cmpBytes, ScoreRange, LexRange,
} from './skiplist';
import { formatDouble } from '../protocol/writer';

export { ScoreRange, LexRange } from './skiplist';

// ---- score <-> listpack bytes ---------------------------------------------------------------

const scoreBuf = new Uint8Array(64);
/** The bytes Redis's d2string writes for a score (integers as integers, else %.17g). */
export function scoreBytes(score: number): Uint8Array {
  // 7.0's d2string prints integral values inside the long long range as integers (-0 as 0).
  if (Number.isInteger(score) && score > -9223372036854775808 && score < 9223372036854775808) {
    return Number.isSafeInteger(score) ? intBytes(score === 0 ? 0 : score, null) : intBytes(score, BigInt(score));
  }
  const s = formatDouble(score);
  for (let i = 0; i < s.length; i++) scoreBuf[i] = s.charCodeAt(i);
  return scoreBuf.subarray(0, s.length);
}

/** strtod over heap bytes holding a stored score. */
function parseStoredScore(u8: Uint8Array, off: number, len: number): number {
  let s = '';
  for (let i = 0; i < len; i++) s += String.fromCharCode(u8[off + i]);
  const l = s.toLowerCase();
  if (l === 'inf' || l === '+inf' || l === 'infinity') return Infinity;
  if (l === '-inf' || l === '-infinity') return -Infinity;
  return Number(s);
}

const vm = new LpVal();
const vs = new LpVal();

function lpScoreAt(h: Heap, lp: number, sp: number): number {
  const v = lpGet(h, lp, sp, vs);
  return v.isInt ? v.int : parseStoredScore(h.u8, v.off, v.len);
}

/** Compare listpack element at p with member bytes (as zzlCompareElements: memcmp order). */
function lpCmpMember(h: Heap, lp: number, p: number, m: Uint8Array, mo: number, ml: number): number {
  const v = lpGet(h, lp, p, vm);
  if (!v.isInt) return cmpBytes(h.u8, v.off, v.len, m, mo, ml);
  const b = intBytes(v.int, v.big);
  return cmpBytes(b, 0, b.length, m, mo, ml);
}

function lpEqMember(h: Heap, lp: number, p: number, m: Uint8Array): boolean {
  const v = lpGet(h, lp, p, vm);
  if (!v.isInt) {
    if (v.len !== m.length) return false;
    const u8 = h.u8;
    for (let i = 0; i < v.len; i++) if (u8[v.off + i] !== m[i]) return false;
    return true;
  }
  if (m.length > 20 || m.length === 0) return false;
  const b = intBytes(v.int, v.big);
  if (b.length !== m.length) return false;
  for (let i = 0; i < b.length; i++) if (b[i] !== m[i]) return false;
  return true;
}

/** Position of member in a zset listpack (and its score in foundScore), or 0. */
let foundScore = 0;
function zzlFind(h: Heap, lp: number, m: Uint8Array): number {
  for (let p = lpFirst(h, lp); p !== 0; ) {
    const sp = lpNext(h, lp, p);
    if (lpEqMember(h, lp, p, m)) {
      foundScore = lpScoreAt(h, lp, sp);
      return p;
    }
    p = lpNext(h, lp, sp);
  }
  return 0;
}

/** Insert (member, score) in order; returns the new lp. */
function zzlInsert(h: Heap, lp: number, m: Uint8Array, score: number): number {
  let p = lpFirst(h, lp);
  while (p !== 0) {
    const sp = lpNext(h, lp, p);
    const s = lpScoreAt(h, lp, sp);
    if (s > score || (s === score && lpCmpMember(h, lp, p, m, 0, m.length) > 0)) break;
    p = lpNext(h, lp, sp);
  }
  // The member before p (or at the end), its score right after it: one move, all or nothing.
  return lpInsertPair(h, lp, m, scoreBytes(score), p);
}

// ---- the object -------------------------------------------------------------------------------

export interface ZsetLimits {
  maxEntries: number;
  maxValue: number;
}

export function zsetLength(h: Heap, enc: number, obj: number): number {
  return enc === E_LISTPACK ? lpLength(h, obj) >>> 1 : zslLength(h, obj);
}

/** Create a new zset key for a first member of length firstLen (ZADD's rule). */
export function zsetCreateKey(s: Store, db: number, key: Uint8Array, firstLen: number, lim: ZsetLimits): number {
  if (lim.maxEntries === 0 || lim.maxValue < firstLen) return s.createObject(db, key, T_ZSET, E_SKIPLIST, zslCreate(s.heap));
  return s.createObject(db, key, T_ZSET, E_LISTPACK, lpNew(s.heap));
}

/** Score of member, or null. */
export function zsetScore(h: Heap, enc: number, obj: number, m: Uint8Array): number | null {
  if (enc === E_LISTPACK) return zzlFind(h, obj, m) !== 0 ? foundScore : null;
  const n = zslFind(h, obj, m, 0, m.length);
  return n !== 0 ? nodeScore(h, n) : null;
}

/** 0-based rank of member (reverse: from the highest), or -1. */
export function zsetRank(h: Heap, enc: number, obj: number, m: Uint8Array, reverse: boolean): number {
  const len = zsetLength(h, enc, obj);
  let r = -1;
  if (enc === E_LISTPACK) {
    let i = 0;
    for (let p = lpFirst(h, obj); p !== 0; i++) {
      if (lpEqMember(h, obj, p, m)) {
        r = i;
        break;
      }
      p = lpNext(h, obj, lpNext(h, obj, p));
    }
  } else {
    const n = zslFind(h, obj, m, 0, m.length);
    if (n !== 0) r = zslGetRank(h, obj, n) - 1;
  }
  if (r < 0) return -1;
  return reverse ? len - 1 - r : r;
}

/** Convert the key's zset to the other encoding. */
export function zsetConvert(s: Store, e: number, to: number): void {
  const h = s.heap;
  const enc = s.encoding(e);
  if (enc === to) return;
  // A snapshot writing this zset in chunks gets the rest of it first: the skiplist goes away.
  if (s.u8[e + 19] !== 0 && s.onPinned !== null) s.onPinned(e, PINNED_FULL);
  const obj = s.objPtr(e);
  if (to === E_SKIPLIST) {
    const zs = zslCreate(h);
    for (let p = lpFirst(h, obj); p !== 0; ) {
      const sp = lpNext(h, obj, p);
      const score = lpScoreAt(h, obj, sp);
      const v = lpGet(h, obj, p, vm);
      if (v.isInt) {
        const b = intBytes(v.int, v.big);
        zslInsert(h, zs, score, b, 0, b.length);
      } else {
        zslInsert(h, zs, score, h.u8, v.off, v.len);
      }
      p = lpNext(h, obj, sp);
    }
    lpFree(h, obj);
    s.setObjPtr(e, zs);
    s.setEncoding(e, E_SKIPLIST);
  } else {
    let lp = lpNew(h);
    for (let n = zslFirst(h, obj); n !== 0; n = nodeNext(h, n)) {
      const mo = nodeMember(h, n);
      // Copy the member out first: the listpack may move within the same heap.
      const m = Buffer.from(h.u8.subarray(mo, mo + nodeMemberLen(h, n)));
      lp = lpInsert(h, lp, m, 0, LP_BEFORE);
      lp = lpInsert(h, lp, scoreBytes(nodeScore(h, n)), 0, LP_BEFORE);
    }
    zslFree(h, obj);
    s.setObjPtr(e, lp);
    s.setEncoding(e, E_LISTPACK);
  }
}

// zsetAdd flags, as Redis's ZADD_IN_* / ZADD_OUT_*.
export const ZADD_IN_INCR = 1;
export const ZADD_IN_NX = 2;
export const ZADD_IN_XX = 4;
export const ZADD_IN_GT = 8;
export const ZADD_IN_LT = 16;
export const ZADD_OUT_NOP = 1;
export const ZADD_OUT_NAN = 2;
export const ZADD_OUT_ADDED = 4;
export const ZADD_OUT_UPDATED = 8;

/** Out values of zsetAdd. */
export const zaddOut = { flags: 0, newScore: 0 };

/**
 * ZADD on a member that exists with score cur: the new score (INCR adds, NX/GT/LT may refuse) in
 * zaddOut.newScore and true, or false with ZADD_OUT_NOP (nothing to do) or ZADD_OUT_NAN set.
 */
function existingScore(cur: number, score: number, inFlags: number): boolean {
  if (inFlags & ZADD_IN_NX) {
    zaddOut.flags |= ZADD_OUT_NOP;
    return false;
  }
  if (inFlags & ZADD_IN_INCR) {
    score += cur;
    if (Number.isNaN(score)) {
      zaddOut.flags |= ZADD_OUT_NAN;
      return false;
    }
  }
  if ((inFlags & ZADD_IN_LT && score >= cur) || (inFlags & ZADD_IN_GT && score <= cur)) {
    zaddOut.flags |= ZADD_OUT_NOP;
    return false;
  }
  zaddOut.newScore = score;
  return true;
}

/**
 * Redis's zsetAdd on the key's entry e. Returns false when the result would be NaN
 * (zaddOut.flags has ZADD_OUT_NAN); else zaddOut describes what happened.
 */
export function zsetAdd(s: Store, e: number, score: number, m: Uint8Array, inFlags: number, lim: ZsetLimits): boolean {
  const h = s.heap;
  const xx = (inFlags & ZADD_IN_XX) !== 0;
  zaddOut.flags = 0;
  if (Number.isNaN(score)) {
    zaddOut.flags = ZADD_OUT_NAN;
    return false;
  }
  if (s.encoding(e) === E_LISTPACK) {
    const lp = s.objPtr(e);
    const p = zzlFind(h, lp, m);
    if (p !== 0) {
      const cur = foundScore;
      if (!existingScore(cur, score, inFlags)) return (zaddOut.flags & ZADD_OUT_NAN) === 0;
      score = zaddOut.newScore;
      if (score !== cur) {
        // Stored at once: the listpack may have moved, and the insert may fail.
        const nl = lpDeleteRangeAt(h, lp, p, 2);
        s.setObjPtr(e, nl);
        s.setObjPtr(e, zzlInsert(h, nl, m, score));
        zaddOut.flags |= ZADD_OUT_UPDATED;
      }
      return true;
    }
    if (xx) {
      zaddOut.flags |= ZADD_OUT_NOP;
      return true;
    }
    if ((lpLength(h, lp) >>> 1) + 1 > lim.maxEntries || m.length > lim.maxValue) {
      zsetConvert(s, e, E_SKIPLIST);
    } else {
      s.setObjPtr(e, zzlInsert(h, lp, m, score));
      zaddOut.newScore = score;
      zaddOut.flags |= ZADD_OUT_ADDED;
      return true;
    }
  }
  const zs = s.objPtr(e);
  const n = zslFind(h, zs, m, 0, m.length);
  if (n !== 0) {
    const cur = nodeScore(h, n);
    if (!existingScore(cur, score, inFlags)) return (zaddOut.flags & ZADD_OUT_NAN) === 0;
    score = zaddOut.newScore;
    if (score !== cur) {
      zslUpdateScore(h, zs, n, score);
      zaddOut.flags |= ZADD_OUT_UPDATED;
    }
    return true;
  }
  if (xx) {
    zaddOut.flags |= ZADD_OUT_NOP;
    return true;
  }
  zslInsert(h, zs, score, m, 0, m.length);
  zaddOut.newScore = score;
  zaddOut.flags |= ZADD_OUT_ADDED;
  return true;
}

/** Remove member; true if it was there. The caller deletes the key when it becomes empty. */
export function zsetDel(s: Store, e: number, m: Uint8Array): boolean {
  const h = s.heap;
  const obj = s.objPtr(e);
  if (s.encoding(e) === E_LISTPACK) {
    const p = zzlFind(h, obj, m);
    if (p === 0) return false;
    s.setObjPtr(e, lpDeleteRangeAt(h, obj, p, 2));
    return true;
  }
  const n = zslFind(h, obj, m, 0, m.length);
  if (n === 0) return false;
  zslDelete(h, obj, n);
  return true;
}

/** Delete elements by 0-based rank range [start, end] (already sanitized). Returns count. */
export function zsetDeleteRankRange(s: Store, e: number, start: number, end: number): number {
  const h = s.heap;
  const obj = s.objPtr(e);
  const count = end - start + 1;
  if (s.encoding(e) === E_LISTPACK) {
    const p = lpSeek(h, obj, start * 2);
    s.setObjPtr(e, lpDeleteRangeAt(h, obj, p, count * 2));
    return count;
  }
  let n = zslByRank(h, obj, start + 1);
  for (let i = 0; i < count && n !== 0; i++) {
    const next = nodeNext(h, n);
    zslDelete(h, obj, n);
    n = next;
  }
  return count;
}

/** Delete the elements inside a score or lex range. Returns count. */
export function zsetDeleteRange(s: Store, e: number, r: ScoreRange | LexRange): number {
  const h = s.heap;
  const it = rangeIter.init(h, s.encoding(e), s.objPtr(e));
  if (!it.firstInRange(r)) return 0;
  if (it.enc === E_LISTPACK) {
    const start = it.p;
    let n = 0;
    while (it.p !== 0) {
      it.load();
      if (!it.lteMax(r)) break;
      n++;
      it.next();
    }
    s.setObjPtr(e, lpDeleteRangeAt(h, it.obj, start, n * 2));
    return n;
  }
  let n = 0;
  let node = it.p;
  while (node !== 0) {
    it.p = node;
    it.load();
    if (!it.lteMax(r)) break;
    const next = nodeNext(h, node);
    zslDelete(h, it.obj, node);
    n++;
    node = next;
  }
  return n;
}

/** Remove the first (min) or last (max) element; its member/score are left in popped. */
export const popped = { member: Buffer.alloc(0), score: 0 };
export function zsetPop(s: Store, e: number, max: boolean): void {
  const h = s.heap;
  const obj = s.objPtr(e);
  const it = rangeIter.init(h, s.encoding(e), obj);
  if (max) it.last();
  else it.first();
  it.load();
  popped.member = Buffer.from(it.buf.subarray(it.off, it.off + it.len));
  popped.score = it.score;
  if (it.enc === E_LISTPACK) s.setObjPtr(e, lpDeleteRangeAt(h, obj, it.p, 2));
  else zslDelete(h, obj, it.p);
}

/**
 * Build a new zset object from members sorted by (score, member), in the encoding Redis would
 * choose for a stored result (zsetConvertToListpackIfNeeded). Returns [enc, obj].
 */
export function zsetFromSorted(h: Heap, members: Uint8Array[], scores: number[], lim: ZsetLimits): [number, number] {
  let maxLen = 0;
  for (const m of members) if (m.length > maxLen) maxLen = m.length;
  if (members.length <= lim.maxEntries && maxLen <= lim.maxValue) {
    let lp = lpNew(h);
    for (let i = 0; i < members.length; i++) {
      lp = lpInsert(h, lp, members[i], 0, LP_BEFORE);
      lp = lpInsert(h, lp, scoreBytes(scores[i]), 0, LP_BEFORE);
    }
    return [E_LISTPACK, lp];
  }
  const zs = zslCreate(h);
  for (let i = 0; i < members.length; i++) zslInsert(h, zs, scores[i], members[i], 0, members[i].length);
  return [E_SKIPLIST, zs];
}

// ---- iteration --------------------------------------------------------------------------------

/**
 * A cursor over a zset in either encoding. p is the listpack position of a member or a skiplist
 * node (0: past the end). load() fills buf/off/len (member bytes, valid until the next load)
 * and score.
 */
export class ZIter {
  h!: Heap;
  enc = 0;
  obj = 0;
  p = 0;
  buf: Uint8Array = new Uint8Array(0);
  off = 0;
  len = 0;
  score = 0;
  /** Skiplist encoding: 1-based rank of the element firstInRange / lastInRange found (0: none). */
  rank = 0;
  private readonly val = new LpVal();
  private readonly digits = new Uint8Array(24);

  init(h: Heap, enc: number, obj: number): this {
    this.h = h;
    this.enc = enc;
    this.obj = obj;
    this.p = 0;
    return this;
  }

  length(): number {
    return zsetLength(this.h, this.enc, this.obj);
  }

  first(): void {
    this.p = this.enc === E_LISTPACK ? lpFirst(this.h, this.obj) : zslFirst(this.h, this.obj);
  }

  last(): void {
    if (this.enc === E_LISTPACK) {
      const l = lpLast(this.h, this.obj);
      this.p = l === 0 ? 0 : lpPrev(this.h, this.obj, l);
    } else {
      this.p = zslTail(this.h, this.obj);
    }
  }

  /** Position at 0-based rank r (from the lowest). */
  seekRank(r: number): void {
    if (this.enc === E_LISTPACK) this.p = lpSeek(this.h, this.obj, r * 2);
    else this.p = zslByRank(this.h, this.obj, r + 1);
  }

  next(): void {
    if (this.p === 0) return;
    if (this.enc === E_LISTPACK) {
      const sp = lpNext(this.h, this.obj, this.p);
      this.p = sp === 0 ? 0 : lpNext(this.h, this.obj, sp);
    } else {
      this.p = nodeNext(this.h, this.p);
    }
  }

  prev(): void {
    if (this.p === 0) return;
    if (this.enc === E_LISTPACK) {
      const sp = lpPrev(this.h, this.obj, this.p);
      this.p = sp === 0 ? 0 : lpPrev(this.h, this.obj, sp);
    } else {
      this.p = nodePrev(this.h, this.p);
    }
  }

  load(): void {
    const h = this.h;
    if (this.enc === E_LISTPACK) {
      const v = lpGet(h, this.obj, this.p, this.val);
      if (v.isInt) {
        const b = intBytes(v.int, v.big);
        this.digits.set(b);
        this.buf = this.digits;
        this.off = 0;
        this.len = b.length;
      } else {
        this.buf = h.u8;
        this.off = v.off;
        this.len = v.len;
      }
      this.score = lpScoreAt(h, this.obj, lpNext(h, this.obj, this.p));
    } else {
      this.buf = h.u8;
      this.off = nodeMember(h, this.p);
      this.len = nodeMemberLen(h, this.p);
      this.score = nodeScore(h, this.p);
    }
  }

  /** The loaded member as a fresh Buffer. */
  member(): Buffer {
    return Buffer.from(this.buf.subarray(this.off, this.off + this.len));
  }

  gteMin(r: ScoreRange | LexRange): boolean {
    return r instanceof ScoreRange ? r.gteMin(this.score) : r.gteMin(this.buf, this.off, this.len);
  }

  lteMax(r: ScoreRange | LexRange): boolean {
    return r instanceof ScoreRange ? r.lteMax(this.score) : r.lteMax(this.buf, this.off, this.len);
  }

  /** zzlIsInRange / zzlIsInLexRange: the last element >= min and the first <= max. */
  private lpInRange(r: ScoreRange | LexRange): boolean {
    if (r.empty()) return false;
    this.last();
    if (this.p === 0) return false;
    this.load();
    if (!this.gteMin(r)) return false;
    this.first();
    this.load();
    return this.lteMax(r);
  }

  /** Position on the first element in range; false if none. */
  firstInRange(r: ScoreRange | LexRange): boolean {
    if (this.enc !== E_LISTPACK) {
      this.p = zslFirstInRange(this.h, this.obj, r);
      this.rank = zslRangeRank();
      return this.p !== 0;
    }
    this.p = 0;
    if (!this.lpInRange(r)) return false;
    for (this.first(); this.p !== 0; this.next()) {
      this.load();
      if (this.gteMin(r)) {
        if (this.lteMax(r)) return true;
        this.p = 0;
        return false;
      }
    }
    return false;
  }

  /** Position on the last element in range; false if none. */
  lastInRange(r: ScoreRange | LexRange): boolean {
    if (this.enc !== E_LISTPACK) {
      this.p = zslLastInRange(this.h, this.obj, r);
      this.rank = zslRangeRank();
      return this.p !== 0;
    }
    this.p = 0;
    if (!this.lpInRange(r)) return false;
    for (this.last(); this.p !== 0; this.prev()) {
      this.load();
      if (this.lteMax(r)) {
        if (this.gteMin(r)) return true;
        this.p = 0;
        return false;
      }
    }
    return false;
  }
}

const rangeIter = new ZIter();

/** Entries for ZSCAN: all of a listpack (cursor 0 next), or one hash step of a skiplist. */
export function zsetScan(h: Heap, enc: number, obj: number, cursor: number, count: number, members: Buffer[], scores: Buffer[]): number {
  if (enc === E_LISTPACK) {
    const v = new LpVal();
    for (let p = lpFirst(h, obj); p !== 0; p = lpNext(h, obj, p)) {
      const m = Buffer.from(lpValBytes(h, lpGet(h, obj, p, v)));
      p = lpNext(h, obj, p);
      members.push(m);
      scores.push(Buffer.from(lpValBytes(h, lpGet(h, obj, p, v))));
    }
    return 0;
  }
  const nodes: number[] = [];
  let maxIter = count * 10;
  do {
    cursor = zslScan(h, obj, cursor, nodes);
  } while (cursor !== 0 && maxIter-- > 0 && nodes.length < count);
  for (const n of nodes) {
    const mo = nodeMember(h, n);
    members.push(Buffer.from(h.u8.subarray(mo, mo + nodeMemberLen(h, n))));
    scores.push(Buffer.from(formatDouble(nodeScore(h, n)), 'latin1'));
  }
  return cursor;
}

// ---- registration (free, copy, check) ---------------------------------------------------------

function zsetCheck(h: Heap, obj: number, enc: number, problems: string[]): void {
  if (enc === E_LISTPACK) {
    const n = lpCheck(h, obj, problems, 'zset');
    if (n < 0) return;
    if (n % 2 !== 0) problems.push('zset listpack: odd element count');
    let prevScore = -Infinity;
    let prev: Buffer | null = null;
    const it = new ZIter().init(h, enc, obj);
    for (it.first(); it.p !== 0; it.next()) {
      it.load();
      if (Number.isNaN(it.score)) problems.push('zset listpack: score is not a number');
      const m = it.member();
      if (prev !== null && (it.score < prevScore || (it.score === prevScore && Buffer.compare(prev, m) >= 0))) {
        problems.push('zset listpack: elements out of order');
        break;
      }
      prev = m;
      prevScore = it.score;
    }
    void lpBytes;
    return;
  }
  if (enc !== E_SKIPLIST) {
    problems.push(`zset: bad encoding ${enc}`);
    return;
  }
  zslCheck(h, obj, problems);
}

registerObjectType(T_ZSET, {
  free(h: Heap, obj: number, enc: number): void {
    if (enc === E_LISTPACK) lpFree(h, obj);
    else zslFree(h, obj);
  },
  copy(h: Heap, obj: number, enc: number): number {
    return enc === E_LISTPACK ? lpDup(h, obj) : zslCopy(h, obj);
  },
  freeEffort(h: Heap, obj: number, enc: number): number {
    return enc === E_LISTPACK ? 1 : zslLength(h, obj);
  },
  check: zsetCheck,
});

export { nodeScore, nodeNext, nodeMember, nodeMemberLen, zslFind };

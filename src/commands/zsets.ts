// Sorted set commands (t_zset.c, Redis 7.0): ZADD and family, ranges, set operations, pops.
import type { CommandSpec } from './types';
import type { Client } from '../server/client';
import { def } from './def';
import { T_ZSET, T_SET, E_LISTPACK, E_INTSET } from '../store/keyspace';
import type { Store } from '../store/keyspace';
import type { Heap } from '../store/heap';
import { E_SYNTAX, E_WRONGTYPE, E_NOT_INT, E_NOT_FLOAT, is, parseI64, parseIntArg, parseFloatArg } from './args';
import {
  ZIter, ScoreRange, LexRange, ZsetLimits, zsetLength, zsetScore, zsetRank, zsetAdd, zsetDel, zsetCreateKey,
  zsetDeleteRankRange, zsetDeleteRange, zsetPop, popped, zsetFromSorted, zsetScan, zaddOut,
  ZADD_IN_INCR, ZADD_IN_NX, ZADD_IN_XX, ZADD_IN_GT, ZADD_IN_LT, ZADD_OUT_NOP, ZADD_OUT_ADDED, ZADD_OUT_UPDATED,
} from '../store/zset';
import { DICT_SET, DictIter, dictFind, dictKey } from '../store/dict';
import { intsetFind, intsetFormat, intsetLen } from '../store/intset';
import { parseScanCursor, parseScanOpts, scanMatches, replyCursor } from './sets';
import { blockForKeys, parseTimeout, type Waiter } from '../server/blocking';
import { notifyKeyspaceEvent, NOTIFY_GENERIC, NOTIFY_ZSET } from '../server/notify';
import { P_ZPOPMAX, P_ZPOPMIN, msArg } from './propagation';

const E_NAN = 'ERR resulting score is not a number (NaN)';
const E_MINMAX_FLOAT = 'ERR min or max is not a float';
const E_MINMAX_LEX = 'ERR min or max not valid string range item';

const lim: ZsetLimits = { maxEntries: 128, maxValue: 64 };
function limits(c: Client): ZsetLimits {
  const cfg = c.srv.config;
  lim.maxEntries = cfg.num('zset-max-listpack-entries');
  lim.maxValue = cfg.num('zset-max-listpack-value');
  return lim;
}

const it = new ZIter();

// ---- argument parsing ---------------------------------------------------------------------------

/** A plain decimal integer of at most 15 digits (optional sign) in b[i, end), else NaN. */
function plainInt(b: Uint8Array, i: number, end: number): number {
  let neg = false;
  if (i < end && (b[i] === 0x2d || b[i] === 0x2b)) neg = b[i++] === 0x2d;
  if (end - i <= 0 || end - i > 15) return NaN;
  let v = 0;
  for (; i < end; i++) {
    const d = b[i] - 0x30;
    if (d < 0 || d > 9) return NaN;
    v = v * 10 + d;
  }
  return neg ? -v : v;
}

/** getDoubleFromObject: strtod without spaces or junk, no NaN, no overflow/underflow to 0. */
export function parseDouble(b: Uint8Array): number | null {
  const fast = plainInt(b, 0, b.length);
  if (fast === fast) return fast;
  const v = parseFloatArg(b);
  if (v === null) return null;
  if (v === Infinity || v === -Infinity) {
    const s = Buffer.from(b).toString('latin1').toLowerCase().replace(/^[+-]/, '');
    if (s !== 'inf' && s !== 'infinity') return null;
  } else if (v === 0) {
    // strtod reports ERANGE when a non-zero mantissa underflows to 0.
    const s = Buffer.from(b).toString('latin1').toLowerCase();
    const mant = s.split('e')[0];
    if (!s.startsWith('0x') && /[1-9]/.test(mant)) return null;
  }
  return v;
}

/** strtod as zslParseRange uses it: leading spaces allowed, "" is 0, junk or NaN is an error. */
function strtodFull(b: Uint8Array, from: number): number | null {
  let end = b.length;
  for (let i = from; i < end; i++) if (b[i] === 0) end = i;
  if (end === from) return 0;
  let i = from;
  while (i < end && (b[i] === 0x20 || (b[i] >= 0x09 && b[i] <= 0x0d))) i++;
  if (i === end) return null;
  const fast = plainInt(b, i, end);
  if (fast === fast) return fast;
  const s = Buffer.from(b.subarray(i, end)).toString('latin1');
  const l = s.toLowerCase();
  if (l === 'inf' || l === '+inf' || l === 'infinity' || l === '+infinity') return Infinity;
  if (l === '-inf' || l === '-infinity') return -Infinity;
  if (/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(s)) return Number(s);
  if (/^[+-]?0x([0-9a-f]+\.?[0-9a-f]*|\.[0-9a-f]+)(p[+-]?\d+)?$/i.test(s)) {
    const v = parseFloatArg(Buffer.from(s, 'latin1'));
    return v;
  }
  return null;
}

const srange = new ScoreRange();
function parseScoreRange(min: Uint8Array, max: Uint8Array, r: ScoreRange): boolean {
  r.minex = min.length > 0 && min[0] === 0x28;
  r.maxex = max.length > 0 && max[0] === 0x28;
  const a = strtodFull(min, r.minex ? 1 : 0);
  const b = strtodFull(max, r.maxex ? 1 : 0);
  if (a === null || b === null) return false;
  r.min = a;
  r.max = b;
  return true;
}

const lrange = new LexRange();
function parseLexItem(b: Buffer, isMin: boolean, r: LexRange): boolean {
  if (b.length === 0) return false;
  let kind = 0;
  let ex = false;
  let val: Buffer = b;
  switch (b[0]) {
    case 0x2b: // +
      if (b.length !== 1) return false;
      kind = 1;
      ex = true;
      break;
    case 0x2d: // -
      if (b.length !== 1) return false;
      kind = -1;
      ex = true;
      break;
    case 0x28: // (
      ex = true;
      val = b.subarray(1);
      break;
    case 0x5b: // [
      val = b.subarray(1);
      break;
    default:
      return false;
  }
  if (isMin) {
    r.minKind = kind;
    r.minex = ex;
    r.min = val;
  } else {
    r.maxKind = kind;
    r.maxex = ex;
    r.max = val;
  }
  return true;
}
function parseLexRange(min: Buffer, max: Buffer, r: LexRange): boolean {
  return parseLexItem(min, true, r) && parseLexItem(max, false, r);
}

/** getLongFromObject: a signed 64-bit integer (as a number). */
function parseLong(b: Uint8Array): number | null {
  return parseIntArg(b);
}

// ---- lookups --------------------------------------------------------------------------------------

/** Entry of a zset key; 0 if missing; -1 after a WRONGTYPE reply. */
function lookup(c: Client, key: Uint8Array, read: boolean): number {
  const s = c.store;
  const e = read ? s.findRead(c.db, key) : s.find(c.db, key);
  if (e === 0) return 0;
  if (s.type(e) !== T_ZSET) {
    c.w.error(E_WRONGTYPE);
    return -1;
  }
  return e;
}

function modified(c: Client, key: Uint8Array): void {
  c.store.modified(c.db, key);
}

/** Delete the key if its zset is now empty; true if it was. */
function deleteIfEmpty(c: Client, e: number, key: Uint8Array): boolean {
  const s = c.store;
  if (zsetLength(s.heap, s.encoding(e), s.objPtr(e)) !== 0) return false;
  s.delete(c.db, key);
  return true;
}

function replyMember(c: Client, z: ZIter): void {
  c.w.bulkRange(z.buf, z.off, z.off + z.len);
}

// ---- ZADD / ZINCRBY ---------------------------------------------------------------------------------

const scoresScratch: number[] = [];

function zaddGeneric(c: Client, argv: Buffer[], inFlags: number): void {
  let flags = inFlags;
  let ch = false;
  let i = 2;
  for (; i < argv.length; i++) {
    const a = argv[i];
    if (is(a, 'nx')) flags |= ZADD_IN_NX;
    else if (is(a, 'xx')) flags |= ZADD_IN_XX;
    else if (is(a, 'ch')) ch = true;
    else if (is(a, 'incr')) flags |= ZADD_IN_INCR;
    else if (is(a, 'gt')) flags |= ZADD_IN_GT;
    else if (is(a, 'lt')) flags |= ZADD_IN_LT;
    else break;
  }
  const incr = (flags & ZADD_IN_INCR) !== 0;
  const nx = (flags & ZADD_IN_NX) !== 0;
  const xx = (flags & ZADD_IN_XX) !== 0;
  const gt = (flags & ZADD_IN_GT) !== 0;
  const lt = (flags & ZADD_IN_LT) !== 0;
  let elements = argv.length - i;
  if (elements % 2 !== 0 || elements === 0) return c.w.error(E_SYNTAX);
  elements /= 2;
  if (nx && xx) return c.w.error('ERR XX and NX options at the same time are not compatible');
  if ((gt && nx) || (lt && nx) || (gt && lt)) return c.w.error('ERR GT, LT, and/or NX options at the same time are not compatible');
  if (incr && elements > 1) return c.w.error('ERR INCR option supports a single increment-element pair');
  const scores = scoresScratch;
  scores.length = 0;
  for (let j = 0; j < elements; j++) {
    const v = parseDouble(argv[i + j * 2]);
    if (v === null) return c.w.error(E_NOT_FLOAT);
    scores.push(v);
  }
  const key = argv[1];
  const s = c.store;
  let e = lookup(c, key, false);
  if (e < 0) return;
  let added = 0;
  let updated = 0;
  let processed = 0;
  let score = 0;
  if (e === 0 && !xx) {
    e = zsetCreateKey(s, c.db, key, argv[i + 1].length, limits(c));
  }
  if (e !== 0) {
    const l = limits(c);
    for (let j = 0; j < elements; j++) {
      if (!zsetAdd(s, e, scores[j], argv[i + 1 + j * 2], flags, l)) {
        c.w.error(E_NAN);
        if (added || updated) {
          modified(c, key);
          notifyKeyspaceEvent(c, NOTIFY_ZSET, incr ? 'zincr' : 'zadd', key, c.db);
        }
        return;
      }
      const f = zaddOut.flags;
      if (f & ZADD_OUT_ADDED) added++;
      if (f & ZADD_OUT_UPDATED) updated++;
      if (!(f & ZADD_OUT_NOP)) processed++;
      score = zaddOut.newScore;
    }
  }
  if (added || updated) modified(c, key);
  if (incr) {
    if (processed) c.w.double(score);
    else c.w.nil();
  } else {
    c.w.int(ch ? added + updated : added);
  }
  if (added || updated) notifyKeyspaceEvent(c, NOTIFY_ZSET, incr ? 'zincr' : 'zadd', key, c.db);
}

function zadd(c: Client, argv: Buffer[]): void {
  zaddGeneric(c, argv, 0);
}

function zincrby(c: Client, argv: Buffer[]): void {
  zaddGeneric(c, argv, ZADD_IN_INCR);
}

// ---- simple reads and ZREM ----------------------------------------------------------------------

function zrem(c: Client, argv: Buffer[]): void {
  const s = c.store;
  const key = argv[1];
  const e = lookup(c, key, false);
  if (e < 0) return;
  if (e === 0) return c.w.int(0);
  let deleted = 0;
  let keyRemoved = false;
  for (let j = 2; j < argv.length; j++) {
    if (zsetDel(s, e, argv[j])) deleted++;
    if (zsetLength(s.heap, s.encoding(e), s.objPtr(e)) === 0) {
      s.delete(c.db, key);
      keyRemoved = true;
      break;
    }
  }
  if (deleted) {
    modified(c, key);
    notifyKeyspaceEvent(c, NOTIFY_ZSET, 'zrem', key, c.db);
    if (keyRemoved) notifyKeyspaceEvent(c, NOTIFY_GENERIC, 'del', key, c.db);
  }
  c.w.int(deleted);
}

function zcard(c: Client, argv: Buffer[]): void {
  const e = lookup(c, argv[1], true);
  if (e < 0) return;
  const s = c.store;
  c.w.int(e === 0 ? 0 : zsetLength(s.heap, s.encoding(e), s.objPtr(e)));
}

function zscore(c: Client, argv: Buffer[]): void {
  const e = lookup(c, argv[1], true);
  if (e < 0) return;
  if (e === 0) return c.w.nil();
  const s = c.store;
  const v = zsetScore(s.heap, s.encoding(e), s.objPtr(e), argv[2]);
  if (v === null) c.w.nil();
  else c.w.double(v);
}

function zmscore(c: Client, argv: Buffer[]): void {
  const e = lookup(c, argv[1], true);
  if (e < 0) return;
  const s = c.store;
  c.w.array(argv.length - 2);
  for (let j = 2; j < argv.length; j++) {
    const v = e === 0 ? null : zsetScore(s.heap, s.encoding(e), s.objPtr(e), argv[j]);
    if (v === null) c.w.nil();
    else c.w.double(v);
  }
}

function zrankGeneric(c: Client, argv: Buffer[], reverse: boolean): void {
  const e = lookup(c, argv[1], true);
  if (e < 0) return;
  if (e === 0) return c.w.nil();
  const s = c.store;
  const r = zsetRank(s.heap, s.encoding(e), s.objPtr(e), argv[2], reverse);
  if (r < 0) c.w.nil();
  else c.w.int(r);
}

function zcount(c: Client, argv: Buffer[]): void {
  if (!parseScoreRange(argv[2], argv[3], srange)) return c.w.error(E_MINMAX_FLOAT);
  countRange(c, argv, srange);
}

function zlexcount(c: Client, argv: Buffer[]): void {
  if (!parseLexRange(argv[2], argv[3], lrange)) return c.w.error(E_MINMAX_LEX);
  countRange(c, argv, lrange);
}

function countRange(c: Client, argv: Buffer[], r: ScoreRange | LexRange): void {
  const e = lookup(c, argv[1], true);
  if (e < 0) return;
  if (e === 0) return c.w.int(0);
  const s = c.store;
  const z = it.init(s.heap, s.encoding(e), s.objPtr(e));
  let n = 0;
  if (z.enc === E_LISTPACK) {
    if (z.firstInRange(r)) {
      for (; z.p !== 0; z.next()) {
        z.load();
        if (!z.lteMax(r)) break;
        n++;
      }
    }
  } else if (z.firstInRange(r)) {
    // Ranks come from the two descents themselves (as zslGetRank would, without the lookups).
    const first = z.rank;
    z.lastInRange(r);
    n = z.rank - first + 1;
  }
  c.w.int(n);
}

// ---- ZRANGE family ----------------------------------------------------------------------------

const RANK = 0;
const SCORE = 1;
const LEX = 2;
const AUTO = -1;
const FORWARD = 0;
const REVERSE = 1;

/** Where range results go: counted, written to the client, or collected for a STORE. */
class Sink {
  mode = 0; // 0 count, 1 client, 2 collect
  c!: Client;
  withScores = false;
  n = 0;
  members: Buffer[] = [];
  scores: number[] = [];
  reset(mode: number, c: Client, withScores: boolean): this {
    this.mode = mode;
    this.c = c;
    this.withScores = withScores;
    this.n = 0;
    this.members = [];
    this.scores = [];
    return this;
  }
  add(z: ZIter): void {
    this.n++;
    if (this.mode === 1) {
      const w = this.c.w;
      if (this.withScores && w.resp === 3) w.array(2);
      w.bulkRange(z.buf, z.off, z.off + z.len);
      if (this.withScores) w.double(z.score);
    } else if (this.mode === 2) {
      this.members.push(z.member());
      this.scores.push(z.score);
    }
  }
  header(n: number): void {
    if (this.mode !== 1) return;
    this.c.w.array(this.withScores && this.c.w.resp === 2 ? n * 2 : n);
  }
  /** The header for n elements, at a writer mark taken before they were added. */
  headerAt(mark: number, n: number): void {
    if (this.mode !== 1) return;
    this.c.w.arrayAt(mark, this.withScores && this.c.w.resp === 2 ? n * 2 : n);
  }
}
const sink = new Sink();

function zrangeGeneric(c: Client, argv: Buffer[], argStart: number, store: boolean, rangeType: number, direction: number): void {
  let minIdx = argStart + 1;
  let maxIdx = argStart + 2;
  let withScores = false;
  let offset = 0;
  let limit = -1;
  for (let j = argStart + 3; j < argv.length; j++) {
    const left = argv.length - j - 1;
    const a = argv[j];
    if (!store && is(a, 'withscores')) withScores = true;
    else if (is(a, 'limit') && left >= 2) {
      const o = parseLong(argv[j + 1]);
      if (o === null) return c.w.error(E_NOT_INT);
      const l = parseLong(argv[j + 2]);
      if (l === null) return c.w.error(E_NOT_INT);
      offset = o;
      limit = l;
      j += 2;
    } else if (direction === AUTO && is(a, 'rev')) direction = REVERSE;
    else if (rangeType === AUTO && is(a, 'bylex')) rangeType = LEX;
    else if (rangeType === AUTO && is(a, 'byscore')) rangeType = SCORE;
    else return c.w.error(E_SYNTAX);
  }
  if (direction === AUTO) direction = FORWARD;
  if (rangeType === AUTO) rangeType = RANK;
  if (limit !== -1 && rangeType === RANK) return c.w.error('ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX');
  if (withScores && rangeType === LEX) return c.w.error('ERR syntax error, WITHSCORES not supported in combination with BYLEX');
  const reverse = direction === REVERSE;
  if (reverse && rangeType !== RANK) {
    const t = maxIdx;
    maxIdx = minIdx;
    minIdx = t;
  }
  let start = 0;
  let end = 0;
  if (rangeType === RANK) {
    const a = parseLong(argv[minIdx]);
    if (a === null) return c.w.error(E_NOT_INT);
    const b = parseLong(argv[maxIdx]);
    if (b === null) return c.w.error(E_NOT_INT);
    start = a;
    end = b;
  } else if (rangeType === SCORE) {
    if (!parseScoreRange(argv[minIdx], argv[maxIdx], srange)) return c.w.error(E_MINMAX_FLOAT);
  } else if (!parseLexRange(argv[minIdx], argv[maxIdx], lrange)) {
    return c.w.error(E_MINMAX_LEX);
  }
  const s = c.store;
  const srcKey = argv[argStart];
  const e = lookup(c, srcKey, true);
  if (e < 0) return;
  if (e === 0) {
    if (store) return finishStore(c, argv[1], [], []);
    return c.w.array(0);
  }
  const z = it.init(s.heap, s.encoding(e), s.objPtr(e));
  const ws = withScores || store;
  if (rangeType === RANK) {
    const len = z.length();
    if (start < 0) start += len;
    if (end < 0) end += len;
    if (start < 0) start = 0;
    const out = sink.reset(store ? 2 : 1, c, ws);
    if (start > end || start >= len) {
      if (store) return finishStore(c, argv[1], [], []);
      return c.w.array(0);
    }
    if (end >= len) end = len - 1;
    const n = end - start + 1;
    out.header(n);
    z.seekRank(reverse ? len - 1 - start : start);
    for (let k = 0; k < n && z.p !== 0; k++) {
      z.load();
      out.add(z);
      if (reverse) z.prev();
      else z.next();
    }
    if (store) finishStore(c, argv[1], out.members, out.scores);
    return;
  }
  const r = rangeType === SCORE ? srange : lrange;
  if (store) {
    const out = sink.reset(2, c, true);
    walkRange(z, r, offset, limit, reverse, out);
    finishStore(c, argv[1], out.members, out.scores);
    return;
  }
  // One walk, the count patched in front afterwards (two descents cost twice on big sets).
  const out = sink.reset(1, c, ws);
  const mark = c.w.deferMark();
  out.headerAt(mark, walkRange(z, r, offset, limit, reverse, out));
}

/** genericZrangebyscore/lex: skip offset, emit up to limit (negative: all). Returns count. */
function walkRange(z: ZIter, r: ScoreRange | LexRange, offset: number, limit: number, reverse: boolean, out: Sink): number {
  if (offset > 0 && offset >= z.length()) return 0;
  if (offset < 0) return 0;
  const found = reverse ? z.lastInRange(r) : z.firstInRange(r);
  if (!found) return 0;
  while (z.p !== 0 && offset-- > 0) {
    if (reverse) z.prev();
    else z.next();
  }
  let n = 0;
  while (z.p !== 0 && limit-- !== 0) {
    z.load();
    if (reverse ? !z.gteMin(r) : !z.lteMax(r)) break;
    out.add(z);
    n++;
    if (reverse) z.prev();
    else z.next();
  }
  return n;
}

/** Store a sorted result at dst (or delete dst when empty) and reply its size. */
function finishStore(c: Client, dst: Buffer, members: Buffer[], scores: number[]): void {
  const s = c.store;
  if (members.length === 0) {
    c.w.int(0);
    if (s.delete(c.db, dst)) notifyKeyspaceEvent(c, NOTIFY_GENERIC, 'del', dst, c.db);
    return;
  }
  if (members.length > 1 && (scores[0] > scores[1] || (scores[0] === scores[1] && Buffer.compare(members[0], members[1]) > 0))) {
    members.reverse();
    scores.reverse();
  }
  const [enc, obj] = zsetFromSorted(s.heap, members, scores, limits(c));
  s.replaceWithObject(c.db, dst, T_ZSET, enc, obj);
  c.w.int(members.length);
  notifyKeyspaceEvent(c, NOTIFY_ZSET, 'zrangestore', dst, c.db);
}

function zrange(c: Client, argv: Buffer[]): void {
  zrangeGeneric(c, argv, 1, false, AUTO, AUTO);
}
function zrangestore(c: Client, argv: Buffer[]): void {
  zrangeGeneric(c, argv, 2, true, AUTO, AUTO);
}
function zrevrange(c: Client, argv: Buffer[]): void {
  zrangeGeneric(c, argv, 1, false, RANK, REVERSE);
}
function zrangebyscore(c: Client, argv: Buffer[]): void {
  zrangeGeneric(c, argv, 1, false, SCORE, FORWARD);
}
function zrevrangebyscore(c: Client, argv: Buffer[]): void {
  zrangeGeneric(c, argv, 1, false, SCORE, REVERSE);
}
function zrangebylex(c: Client, argv: Buffer[]): void {
  zrangeGeneric(c, argv, 1, false, LEX, FORWARD);
}
function zrevrangebylex(c: Client, argv: Buffer[]): void {
  zrangeGeneric(c, argv, 1, false, LEX, REVERSE);
}

// ---- ZREMRANGEBY* --------------------------------------------------------------------------------

function zremrangeGeneric(c: Client, argv: Buffer[], rangeType: number): void {
  let start = 0;
  let end = 0;
  if (rangeType === RANK) {
    const a = parseLong(argv[2]);
    if (a === null) return c.w.error(E_NOT_INT);
    const b = parseLong(argv[3]);
    if (b === null) return c.w.error(E_NOT_INT);
    start = a;
    end = b;
  } else if (rangeType === SCORE) {
    if (!parseScoreRange(argv[2], argv[3], srange)) return c.w.error(E_MINMAX_FLOAT);
  } else if (!parseLexRange(argv[2], argv[3], lrange)) {
    return c.w.error(E_MINMAX_LEX);
  }
  const key = argv[1];
  const s = c.store;
  const e = lookup(c, key, false);
  if (e < 0) return;
  if (e === 0) return c.w.int(0);
  let deleted: number;
  if (rangeType === RANK) {
    const len = zsetLength(s.heap, s.encoding(e), s.objPtr(e));
    if (start < 0) start += len;
    if (end < 0) end += len;
    if (start < 0) start = 0;
    if (start > end || start >= len) return c.w.int(0);
    if (end >= len) end = len - 1;
    deleted = zsetDeleteRankRange(s, e, start, end);
  } else {
    deleted = zsetDeleteRange(s, e, rangeType === SCORE ? srange : lrange);
  }
  if (deleted) {
    const keyRemoved = deleteIfEmpty(c, e, key);
    modified(c, key);
    notifyKeyspaceEvent(c, NOTIFY_ZSET, rangeType === RANK ? 'zremrangebyrank' : rangeType === SCORE ? 'zremrangebyscore' : 'zremrangebylex', key, c.db);
    if (keyRemoved) notifyKeyspaceEvent(c, NOTIFY_GENERIC, 'del', key, c.db);
  }
  c.w.int(deleted);
}

// ---- pops ---------------------------------------------------------------------------------------

/**
 * genericZpopCommand. count -1 means "no count given" (a single pop). Returns false when no key
 * had elements (nothing was written).
 */
function zpopGeneric(c: Client, keys: Buffer[], max: boolean, emitKey: boolean, count: number, nested: boolean, replyEmpty: boolean): boolean {
  const s = c.store;
  let e = 0;
  let key: Buffer | null = null;
  for (const k of keys) {
    const x = lookup(c, k, false);
    if (x < 0) return true;
    if (x === 0) continue;
    e = x;
    key = k;
    break;
  }
  if (e === 0 || key === null) {
    if (!replyEmpty) return false;
    if (nested && emitKey) c.w.nilArray();
    else c.w.array(0);
    return true;
  }
  if (count === 0) {
    // ZPOPMIN/ZPOPMAX key 0: checked for type first, as Redis does.
    c.w.array(0);
    return true;
  }
  const given = count !== -1;
  if (count === -1) count = 1;
  const len = zsetLength(s.heap, s.encoding(e), s.objPtr(e));
  let n = count > len ? len : count;
  // BZPOPMIN/MAX, ZMPOP and BZMPOP (at once or served later) propagate as ZPOPMIN/ZPOPMAX key
  // [count popped], as Redis does.
  const p = c.srv.prop;
  if (p.on()) p.propagateAs(given ? [max ? P_ZPOPMAX : P_ZPOPMIN, key, msArg(n)] : [max ? P_ZPOPMAX : P_ZPOPMIN, key]);
  const w = c.w;
  if (!nested && !emitKey) w.array(n * 2);
  else if (nested && !emitKey) w.array(n);
  else if (!nested && emitKey) {
    w.array(n * 2 + 1);
    w.bulk(key);
  } else {
    w.array(2);
    w.bulk(key);
    w.array(n);
  }
  let first = true;
  while (n-- > 0) {
    zsetPop(s, e, max);
    if (first) {
      // As genericZpopCommand: notified after the first pop, inside the reply.
      notifyKeyspaceEvent(c, NOTIFY_ZSET, max ? 'zpopmax' : 'zpopmin', key, c.db);
      first = false;
    }
    if (nested) w.array(2);
    w.bulk(popped.member);
    w.double(popped.score);
  }
  if (deleteIfEmpty(c, e, key)) notifyKeyspaceEvent(c, NOTIFY_GENERIC, 'del', key, c.db);
  modified(c, key);
  return true;
}

function zpopMinMax(c: Client, argv: Buffer[], max: boolean): void {
  if (argv.length > 3) return c.w.error(E_SYNTAX);
  let count = -1;
  if (argv.length === 3) {
    const v = parseLong(argv[2]);
    if (v === null || v < 0) return c.w.error('ERR value is out of range, must be positive');
    count = v;
  }
  zpopGeneric(c, [argv[1]], max, false, count, c.resp === 3 && argv.length === 3, true);
}

/** Parse ZMPOP-style arguments from numkeys at index ni; null after an error reply. */
function parseMpop(c: Client, argv: Buffer[], ni: number): { keys: Buffer[]; max: boolean; count: number } | null {
  const nk = parseLong(argv[ni]);
  if (nk === null || nk < 1) {
    c.w.error('ERR numkeys should be greater than 0');
    return null;
  }
  const whereIdx = ni + nk + 1;
  if (whereIdx >= argv.length) {
    c.w.error(E_SYNTAX);
    return null;
  }
  let max: boolean;
  if (is(argv[whereIdx], 'min')) max = false;
  else if (is(argv[whereIdx], 'max')) max = true;
  else {
    c.w.error(E_SYNTAX);
    return null;
  }
  let count = -1;
  for (let j = whereIdx + 1; j < argv.length; j++) {
    const more = argv.length - 1 - j;
    if (count === -1 && is(argv[j], 'count') && more > 0) {
      j++;
      const v = parseLong(argv[j]);
      if (v === null || v < 1) {
        c.w.error('ERR count should be greater than 0');
        return null;
      }
      count = v;
    } else {
      c.w.error(E_SYNTAX);
      return null;
    }
  }
  if (count === -1) count = 1;
  return { keys: argv.slice(ni + 1, ni + 1 + nk), max, count };
}

function zmpop(c: Client, argv: Buffer[]): void {
  const o = parseMpop(c, argv, 1);
  if (o === null) return;
  zpopGeneric(c, o.keys, o.max, true, o.count, true, true);
}

function mpopKeys(ni: number): (argv: Buffer[]) => number[] {
  return (argv) => {
    const n = parseIntArg(argv[ni] ?? Buffer.alloc(0));
    const out: number[] = [];
    if (n === null || n < 1) return out;
    for (let i = 0; i < n && ni + 1 + i < argv.length; i++) out.push(ni + 1 + i);
    return out;
  };
}

// ---- BZPOPMIN / BZPOPMAX / BZMPOP -------------------------------------------------------------------

function timeoutNilArray(w: Waiter): void {
  w.c.w.nilArray();
}

/** Serve a blocked BZPOP* / BZMPOP client from key (its slot lock is held). */
function serveBzpop(w: Waiter, key: Buffer): boolean {
  const c = w.c;
  const s = c.store;
  const e = s.find(w.db, key);
  if (e === 0 || s.type(e) !== T_ZSET) return false;
  const saved = c.db;
  c.db = w.db;
  try {
    // where: 1 max; count: -1 for BZPOPMIN/MAX (flat reply), else BZMPOP's count (nested).
    zpopGeneric(c, [key], w.where === 1, true, w.count, w.count !== -1, true);
  } finally {
    c.db = saved;
  }
  return true;
}

function bzpopMinMax(c: Client, argv: Buffer[], max: boolean): void {
  const timeout = parseTimeout(c, argv[argv.length - 1]);
  if (timeout < 0) return;
  const keys = argv.slice(1, argv.length - 1);
  if (zpopGeneric(c, keys, max, true, -1, false, false)) return;
  if (c.inExec) return c.w.nilArray();
  const w = blockForKeys(c, c.db, keys, timeout, serveBzpop, timeoutNilArray);
  w.where = max ? 1 : 0;
  w.count = -1;
}

function bzmpop(c: Client, argv: Buffer[]): void {
  const o = parseMpop(c, argv, 2);
  if (o === null) return;
  const timeout = parseTimeout(c, argv[1]);
  if (timeout < 0) return;
  if (zpopGeneric(c, o.keys, o.max, true, o.count, true, false)) return;
  if (c.inExec) return c.w.nilArray();
  const w = blockForKeys(c, c.db, o.keys, timeout, serveBzpop, timeoutNilArray);
  w.where = o.max ? 1 : 0;
  w.count = o.count;
}

// ---- ZRANDMEMBER --------------------------------------------------------------------------------

function zrandmember(c: Client, argv: Buffer[]): void {
  const s = c.store;
  const w = c.w;
  if (argv.length >= 3) {
    const l = parseLong(argv[2]);
    if (l === null) return w.error(E_NOT_INT);
    if (parseI64(argv[2]) === -9223372036854775808n) {
      return w.error('ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807');
    }
    let withScores = false;
    if (argv.length > 4 || (argv.length === 4 && !is(argv[3], 'withscores'))) return w.error(E_SYNTAX);
    if (argv.length === 4) {
      withScores = true;
      if (l < -4611686018427387903 || l > 4611686018427387903) return w.error('ERR value is out of range');
    }
    const e = lookup(c, argv[1], true);
    if (e < 0) return;
    if (e === 0) return w.array(0);
    const z = it.init(s.heap, s.encoding(e), s.objPtr(e));
    const size = z.length();
    const uniq = l >= 0;
    const count = Math.abs(l);
    if (count === 0) return w.array(0);
    const emit = (): void => {
      z.load();
      if (withScores && w.resp === 3) w.array(2);
      replyMember(c, z);
      if (withScores) w.double(z.score);
    };
    if (!uniq || count === 1) {
      w.array(withScores && w.resp === 2 ? count * 2 : count);
      // Stops once the client is over its output limit (it is being closed), as Redis does.
      for (let i = 0; i < count && !w.overLimit; i++) {
        z.seekRank(Math.floor(Math.random() * size));
        emit();
      }
      return;
    }
    if (count >= size) {
      // The whole zset, walked as zuiNext does: from the highest element down.
      w.array(withScores && w.resp === 2 ? size * 2 : size);
      for (z.last(); z.p !== 0; z.prev()) emit();
      return;
    }
    // A random subset of distinct ranks, replied in random order.
    const ranks = new Set<number>();
    while (ranks.size < count) ranks.add(Math.floor(Math.random() * size));
    w.array(withScores && w.resp === 2 ? count * 2 : count);
    for (const r of ranks) {
      z.seekRank(r);
      emit();
    }
    return;
  }
  const e = lookup(c, argv[1], true);
  if (e < 0) return;
  if (e === 0) return w.nil();
  const z = it.init(s.heap, s.encoding(e), s.objPtr(e));
  z.seekRank(Math.floor(Math.random() * z.length()));
  z.load();
  replyMember(c, z);
}

// ---- ZUNION / ZINTER / ZDIFF ----------------------------------------------------------------------

const OP_UNION = 0;
const OP_INTER = 1;
const OP_DIFF = 2;
const AGG_SUM = 0;
const AGG_MIN = 1;
const AGG_MAX = 2;

/** One input of a set operation: a zset, a plain set (scores 1), or missing (empty). */
interface Src {
  kind: number; // 0 missing, T_ZSET, T_SET
  enc: number;
  obj: number;
  weight: number;
  len: number;
}

function srcLength(h: Heap, kind: number, enc: number, obj: number): number {
  if (kind === T_ZSET) return zsetLength(h, enc, obj);
  if (kind === T_SET) return enc === E_INTSET ? intsetLen(h, obj) : dictSizeOf(h, obj);
  return 0;
}

function dictSizeOf(h: Heap, d: number): number {
  const w = d / 4;
  return h.u32[w + 2] + h.u32[w + 5];
}

const numBuf = new Uint8Array(24);
const dictIter = new DictIter();

/** Visit every (member bytes, score) of a source. */
function srcForEach(h: Heap, src: Src, fn: (m: Uint8Array, o: number, l: number, score: number) => void): void {
  if (src.kind === T_ZSET) {
    const z = new ZIter().init(h, src.enc, src.obj);
    for (z.first(); z.p !== 0; z.next()) {
      z.load();
      fn(z.buf, z.off, z.len, z.score);
    }
  } else if (src.kind === T_SET) {
    if (src.enc === E_INTSET) {
      const n = intsetLen(h, src.obj);
      for (let i = 0; i < n; i++) {
        const l = intsetFormat(h, src.obj, i, numBuf, 0);
        fn(numBuf, 0, l, 1);
      }
    } else {
      dictIter.init(h, src.obj);
      for (let de = dictIter.next(); de !== 0; de = dictIter.next()) {
        const k = dictKey(h, DICT_SET, de);
        fn(k, 0, k.length, 1);
      }
    }
  }
}

/** Score of member in a source, or null. */
function srcScore(h: Heap, src: Src, m: Uint8Array): number | null {
  if (src.kind === T_ZSET) return zsetScore(h, src.enc, src.obj, m);
  if (src.kind === T_SET) {
    if (src.enc === E_INTSET) {
      const v = parseI64(m);
      return v !== null && intsetFind(h, src.obj, v) ? 1 : null;
    }
    return dictFind(h, src.obj, m) !== 0 ? 1 : null;
  }
  return null;
}

function aggregate(target: number, val: number, agg: number): number {
  if (agg === AGG_SUM) {
    const r = target + val;
    return Number.isNaN(r) ? 0 : r;
  }
  if (agg === AGG_MIN) return val < target ? val : target;
  return val > target ? val : target;
}

function zsetOpGeneric(c: Client, argv: Buffer[], dst: Buffer | null, numkeysIdx: number, op: number, cardOnly: boolean, cmdName: string): void {
  const s = c.store;
  const h = s.heap;
  const setnum = parseLong(argv[numkeysIdx]);
  if (setnum === null) return c.w.error(E_NOT_INT);
  if (setnum < 1) return c.w.error(`ERR at least 1 input key is needed for '${cmdName}' command`);
  if (setnum > argv.length - (numkeysIdx + 1)) return c.w.error(E_SYNTAX);
  const srcs: Src[] = [];
  let j = numkeysIdx + 1;
  for (let i = 0; i < setnum; i++, j++) {
    const e = s.findRead(c.db, argv[j]);
    if (e === 0) {
      srcs.push({ kind: 0, enc: 0, obj: 0, weight: 1, len: 0 });
      continue;
    }
    const t = s.type(e);
    if (t !== T_ZSET && t !== T_SET) return c.w.error(E_WRONGTYPE);
    srcs.push({ kind: t, enc: s.encoding(e), obj: s.objPtr(e), weight: 1, len: 0 });
  }
  let agg = AGG_SUM;
  let withScores = false;
  let limit = 0;
  let remaining = argv.length - j;
  while (remaining > 0) {
    const a = argv[j];
    if (op !== OP_DIFF && !cardOnly && remaining >= setnum + 1 && is(a, 'weights')) {
      j++;
      remaining--;
      for (let i = 0; i < setnum; i++, j++, remaining--) {
        const v = parseDouble(argv[j]);
        if (v === null) return c.w.error('ERR weight value is not a float');
        srcs[i].weight = v;
      }
    } else if (op !== OP_DIFF && !cardOnly && remaining >= 2 && is(a, 'aggregate')) {
      j++;
      remaining--;
      const b = argv[j];
      if (is(b, 'sum')) agg = AGG_SUM;
      else if (is(b, 'min')) agg = AGG_MIN;
      else if (is(b, 'max')) agg = AGG_MAX;
      else return c.w.error(E_SYNTAX);
      j++;
      remaining--;
    } else if (remaining >= 1 && dst === null && !cardOnly && is(a, 'withscores')) {
      j++;
      remaining--;
      withScores = true;
    } else if (cardOnly && remaining >= 2 && is(a, 'limit')) {
      j++;
      remaining--;
      const v = parseLong(argv[j]);
      if (v === null) return c.w.error("ERR LIMIT can't be negative");
      if (v < 0) return c.w.error("ERR LIMIT can't be negative");
      limit = v;
      j++;
      remaining--;
    } else {
      return c.w.error(E_SYNTAX);
    }
  }
  for (const src of srcs) src.len = srcLength(h, src.kind, src.enc, src.obj);
  let order = srcs;
  if (op !== OP_DIFF) order = srcs.slice().sort((a, b) => a.len - b.len);

  const members: Buffer[] = [];
  const scores: number[] = [];
  let cardinality = 0;
  if (op === OP_INTER) {
    const first = order[0];
    if (first.len > 0) {
      // Snapshot the smallest input first: lookups in the others must not disturb its iterator.
      const ms: Buffer[] = [];
      const ss: number[] = [];
      srcForEach(h, first, (m, o, l, sc) => {
        ms.push(Buffer.from(m.subarray(o, o + l)));
        ss.push(sc);
      });
      for (let k = 0; k < ms.length; k++) {
        let score = first.weight * ss[k];
        if (Number.isNaN(score)) score = 0;
        let i = 1;
        for (; i < order.length; i++) {
          let v: number | null;
          if (order[i].kind === first.kind && order[i].obj === first.obj) v = ss[k];
          else v = srcScore(h, order[i], ms[k]);
          if (v === null) break;
          score = aggregate(score, v * order[i].weight, agg);
        }
        if (i !== order.length) continue;
        if (cardOnly) {
          cardinality++;
          if (limit && cardinality >= limit) break;
        } else {
          members.push(ms[k]);
          scores.push(score);
        }
      }
    }
  } else if (op === OP_UNION) {
    const acc = new Map<string, number>();
    const keyBytes = new Map<string, Buffer>();
    for (const src of order) {
      if (src.len === 0) continue;
      srcForEach(h, src, (m, o, l, sc) => {
        let score = src.weight * sc;
        if (Number.isNaN(score)) score = 0;
        const sub = m.subarray(o, o + l);
        const k = Buffer.from(sub).toString("latin1");
        const cur = acc.get(k);
        if (cur === undefined) {
          acc.set(k, score);
          keyBytes.set(k, Buffer.from(sub));
        } else {
          acc.set(k, aggregate(cur, score, agg));
        }
      });
    }
    for (const [k, v] of acc) {
      members.push(keyBytes.get(k) as Buffer);
      scores.push(v);
    }
  } else {
    const first = order[0];
    if (first.len > 0) {
      const ms: Buffer[] = [];
      const ss: number[] = [];
      srcForEach(h, first, (m, o, l, sc) => {
        ms.push(Buffer.from(m.subarray(o, o + l)));
        ss.push(sc);
      });
      for (let k = 0; k < ms.length; k++) {
        let found = false;
        for (let i = 1; i < order.length && !found; i++) {
          if (order[i].len === 0) continue;
          if (order[i].kind === first.kind && order[i].obj === first.obj) found = true;
          else if (srcScore(h, order[i], ms[k]) !== null) found = true;
        }
        if (!found) {
          members.push(ms[k]);
          scores.push(ss[k]);
        }
      }
    }
  }
  if (cardOnly) return c.w.int(cardinality);
  // Order by score, then member bytes, as the result skiplist would.
  const idx = new Array<number>(members.length);
  for (let k = 0; k < idx.length; k++) idx[k] = k;
  idx.sort((a, b) => (scores[a] < scores[b] ? -1 : scores[a] > scores[b] ? 1 : Buffer.compare(members[a], members[b])));
  const sm = idx.map((k) => members[k]);
  const ss = idx.map((k) => scores[k]);
  if (dst !== null) {
    if (sm.length === 0) {
      c.w.int(0);
      if (s.delete(c.db, dst)) notifyKeyspaceEvent(c, NOTIFY_GENERIC, 'del', dst, c.db);
      return;
    }
    const [enc, obj] = zsetFromSorted(h, sm, ss, limits(c));
    s.replaceWithObject(c.db, dst, T_ZSET, enc, obj);
    c.w.int(sm.length);
    // cmdName is zunionstore / zinterstore / zdiffstore: the event names.
    notifyKeyspaceEvent(c, NOTIFY_ZSET, cmdName, dst, c.db);
    return;
  }
  const w = c.w;
  w.array(withScores && w.resp === 2 ? sm.length * 2 : sm.length);
  for (let k = 0; k < sm.length; k++) {
    if (withScores && w.resp === 3) w.array(2);
    w.bulk(sm[k]);
    if (withScores) w.double(ss[k]);
  }
}

function numkeysKeys(ni: number, withDst: boolean): (argv: Buffer[]) => number[] {
  return (argv) => {
    const out: number[] = withDst ? [1] : [];
    const n = parseIntArg(argv[ni] ?? Buffer.alloc(0));
    if (n === null || n < 1) return out;
    for (let i = 0; i < n && ni + 1 + i < argv.length; i++) out.push(ni + 1 + i);
    return out;
  };
}

// ---- ZSCAN ----------------------------------------------------------------------------------------

function zscan(c: Client, argv: Buffer[]): void {
  const cursor = parseScanCursor(c, argv[2]);
  if (cursor < 0) return;
  const e = lookup(c, argv[1], true);
  if (e < 0) return;
  const w = c.w;
  if (e === 0) {
    w.array(2);
    w.bulkStr('0');
    w.array(0);
    return;
  }
  const o = parseScanOpts(c, argv, 3);
  if (o === null) return;
  const s = c.store;
  const members: Buffer[] = [];
  const scores: Buffer[] = [];
  const next = zsetScan(s.heap, s.encoding(e), s.objPtr(e), cursor, o.count, members, scores);
  let n = 0;
  for (const m of members) if (scanMatches(o.pattern, m)) n++;
  replyCursor(c, next);
  w.array(n * 2);
  for (let k = 0; k < members.length; k++) {
    if (!scanMatches(o.pattern, members[k])) continue;
    w.bulk(members[k]);
    w.bulk(scores[k]);
  }
}

// ---- table -------------------------------------------------------------------------------------------

const zacl = (...a: string[]): string[] => [...a, 'sortedset'];

export const commands: CommandSpec[] = [
  def('zadd', -4, 'write denyoom fast', [1, 1, 1], 'sorted_set', 'Add one or more members to a sorted set, or update its score if it already exists', zadd, { since: '1.2.0', acl: zacl('write', 'fast') }),
  def('zincrby', 4, 'write denyoom fast', [1, 1, 1], 'sorted_set', 'Increment the score of a member in a sorted set', zincrby, { since: '1.2.0', acl: zacl('write', 'fast') }),
  def('zrem', -3, 'write fast', [1, 1, 1], 'sorted_set', 'Remove one or more members from a sorted set', zrem, { since: '1.2.0', acl: zacl('write', 'fast') }),
  def('zcard', 2, 'readonly fast', [1, 1, 1], 'sorted_set', 'Get the number of members in a sorted set', zcard, { since: '1.2.0', acl: zacl('read', 'fast') }),
  def('zscore', 3, 'readonly fast', [1, 1, 1], 'sorted_set', 'Get the score associated with the given member in a sorted set', zscore, { since: '1.2.0', acl: zacl('read', 'fast') }),
  def('zmscore', -3, 'readonly fast', [1, 1, 1], 'sorted_set', 'Get the score associated with the given members in a sorted set', zmscore, { since: '6.2.0', acl: zacl('read', 'fast') }),
  def('zrank', 3, 'readonly fast', [1, 1, 1], 'sorted_set', 'Determine the index of a member in a sorted set', (c, a) => zrankGeneric(c, a, false), { since: '2.0.0', acl: zacl('read', 'fast') }),
  def('zrevrank', 3, 'readonly fast', [1, 1, 1], 'sorted_set', 'Determine the index of a member in a sorted set, with scores ordered from high to low', (c, a) => zrankGeneric(c, a, true), { since: '2.0.0', acl: zacl('read', 'fast') }),
  def('zcount', 4, 'readonly fast', [1, 1, 1], 'sorted_set', 'Count the members in a sorted set with scores within the given values', zcount, { since: '2.0.0', acl: zacl('read', 'fast') }),
  def('zlexcount', 4, 'readonly fast', [1, 1, 1], 'sorted_set', 'Count the number of members in a sorted set between a given lexicographical range', zlexcount, { since: '2.8.9', acl: zacl('read', 'fast') }),
  def('zrange', -4, 'readonly', [1, 1, 1], 'sorted_set', 'Return a range of members in a sorted set', zrange, { since: '1.2.0', acl: zacl('read', 'slow') }),
  def('zrangestore', -5, 'write denyoom', [1, 2, 1], 'sorted_set', 'Store a range of members from sorted set into another key', zrangestore, { since: '6.2.0', acl: zacl('write', 'slow') }),
  def('zrevrange', -4, 'readonly', [1, 1, 1], 'sorted_set', 'Return a range of members in a sorted set, by index, with scores ordered from high to low', zrevrange, { since: '1.2.0', acl: zacl('read', 'slow') }),
  def('zrangebyscore', -4, 'readonly', [1, 1, 1], 'sorted_set', 'Return a range of members in a sorted set, by score', zrangebyscore, { since: '1.0.5', acl: zacl('read', 'slow') }),
  def('zrevrangebyscore', -4, 'readonly', [1, 1, 1], 'sorted_set', 'Return a range of members in a sorted set, by score, with scores ordered from high to low', zrevrangebyscore, { since: '2.2.0', acl: zacl('read', 'slow') }),
  def('zrangebylex', -4, 'readonly', [1, 1, 1], 'sorted_set', 'Return a range of members in a sorted set, by lexicographical range', zrangebylex, { since: '2.8.9', acl: zacl('read', 'slow') }),
  def('zrevrangebylex', -4, 'readonly', [1, 1, 1], 'sorted_set', 'Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings.', zrevrangebylex, { since: '2.8.9', acl: zacl('read', 'slow') }),
  def('zremrangebyrank', 4, 'write', [1, 1, 1], 'sorted_set', 'Remove all members in a sorted set within the given indexes', (c, a) => zremrangeGeneric(c, a, RANK), { since: '2.0.0', acl: zacl('write', 'slow') }),
  def('zremrangebyscore', 4, 'write', [1, 1, 1], 'sorted_set', 'Remove all members in a sorted set within the given scores', (c, a) => zremrangeGeneric(c, a, SCORE), { since: '1.2.0', acl: zacl('write', 'slow') }),
  def('zremrangebylex', 4, 'write', [1, 1, 1], 'sorted_set', 'Remove all members in a sorted set between the given lexicographical range', (c, a) => zremrangeGeneric(c, a, LEX), { since: '2.8.9', acl: zacl('write', 'slow') }),
  def('zpopmin', -2, 'write fast', [1, 1, 1], 'sorted_set', 'Remove and return members with the lowest scores in a sorted set', (c, a) => zpopMinMax(c, a, false), { since: '5.0.0', acl: zacl('write', 'fast') }),
  def('zpopmax', -2, 'write fast', [1, 1, 1], 'sorted_set', 'Remove and return members with the highest scores in a sorted set', (c, a) => zpopMinMax(c, a, true), { since: '5.0.0', acl: zacl('write', 'fast') }),
  def('zmpop', -4, 'write movablekeys', [0, 0, 0], 'sorted_set', 'Remove and return members with scores in a sorted set', zmpop, { since: '7.0.0', keys: mpopKeys(1), acl: zacl('write', 'slow') }),
  def('bzpopmin', -3, 'write noscript blocking fast', [1, -2, 1], 'sorted_set', 'Remove and return the member with the lowest score from one or more sorted sets, or block until one is available', (c, a) => bzpopMinMax(c, a, false), { since: '5.0.0', acl: zacl('write', 'fast', 'blocking') }),
  def('bzpopmax', -3, 'write noscript blocking fast', [1, -2, 1], 'sorted_set', 'Remove and return the member with the highest score from one or more sorted sets, or block until one is available', (c, a) => bzpopMinMax(c, a, true), { since: '5.0.0', acl: zacl('write', 'fast', 'blocking') }),
  def('bzmpop', -5, 'write blocking movablekeys', [0, 0, 0], 'sorted_set', 'Remove and return members with scores in a sorted set or block until one is available', bzmpop, { since: '7.0.0', keys: mpopKeys(2), acl: zacl('write', 'slow', 'blocking') }),
  def('zrandmember', -2, 'readonly', [1, 1, 1], 'sorted_set', 'Get one or multiple random elements from a sorted set', zrandmember, { since: '6.2.0', acl: zacl('read', 'slow') }),
  def('zunion', -3, 'readonly movablekeys', [0, 0, 0], 'sorted_set', 'Add multiple sorted sets', (c, a) => zsetOpGeneric(c, a, null, 1, OP_UNION, false, 'zunion'), { since: '6.2.0', keys: numkeysKeys(1, false), acl: zacl('read', 'slow') }),
  def('zinter', -3, 'readonly movablekeys', [0, 0, 0], 'sorted_set', 'Intersect multiple sorted sets', (c, a) => zsetOpGeneric(c, a, null, 1, OP_INTER, false, 'zinter'), { since: '6.2.0', keys: numkeysKeys(1, false), acl: zacl('read', 'slow') }),
  def('zintercard', -3, 'readonly movablekeys', [0, 0, 0], 'sorted_set', 'Intersect multiple sorted sets and return the cardinality of the result', (c, a) => zsetOpGeneric(c, a, null, 1, OP_INTER, true, 'zintercard'), { since: '7.0.0', keys: numkeysKeys(1, false), acl: zacl('read', 'slow') }),
  def('zdiff', -3, 'readonly movablekeys', [0, 0, 0], 'sorted_set', 'Subtract multiple sorted sets', (c, a) => zsetOpGeneric(c, a, null, 1, OP_DIFF, false, 'zdiff'), { since: '6.2.0', keys: numkeysKeys(1, false), acl: zacl('read', 'slow') }),
  def('zunionstore', -4, 'write denyoom movablekeys', [1, 1, 1], 'sorted_set', 'Add multiple sorted sets and store the resulting sorted set in a new key', (c, a) => zsetOpGeneric(c, a, a[1], 2, OP_UNION, false, 'zunionstore'), { since: '2.0.0', keys: numkeysKeys(2, true), acl: zacl('write', 'slow') }),
  def('zinterstore', -4, 'write denyoom movablekeys', [1, 1, 1], 'sorted_set', 'Intersect multiple sorted sets and store the resulting sorted set in a new key', (c, a) => zsetOpGeneric(c, a, a[1], 2, OP_INTER, false, 'zinterstore'), { since: '2.0.0', keys: numkeysKeys(2, true), acl: zacl('write', 'slow') }),
  def('zdiffstore', -4, 'write denyoom movablekeys', [1, 1, 1], 'sorted_set', 'Subtract multiple sorted sets and store the resulting sorted set in a new key', (c, a) => zsetOpGeneric(c, a, a[1], 2, OP_DIFF, false, 'zdiffstore'), { since: '6.2.0', keys: numkeysKeys(2, true), acl: zacl('write', 'slow') }),
  def('zscan', -3, 'readonly', [1, 1, 1], 'sorted_set', 'Incrementally iterate sorted sets elements and associated scores', zscan, { since: '2.8.0', acl: zacl('read', 'slow') }),
];

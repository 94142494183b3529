// List commands (t_list.c, Redis 7.0). A list is always a quicklist of listpack nodes, as in
// Redis 7.0 (OBJECT ENCODING "quicklist" even for small lists; listpack lists came in 7.2).
// Blocking variants wait through src/server/blocking.ts.
import type { CommandSpec } from './types';
import type { Client } from '../server/client';
import { def } from './def';
import { T_LIST, E_QUICKLIST } from '../store/keyspace';
import type { Heap } from '../store/heap';
import { E_SYNTAX, E_WRONGTYPE, E_NOT_INT, E_NO_KEY, E_INDEX, is, parseI64, parseIntArg } from './args';
import { LpVal, intBytes, lpCompare } from '../store/listpack';
import {
  QlPos, qlNew, qlCount, qlPush, qlEnd, qlIndex, qlGet, qlNext, qlPrev, qlDelAt, qlPopEnd, qlReplaceAt,
  qlInsertAt, qlDelRange, qlFree, qlDup, qlCheck, qlPosLp,
} from '../store/quicklist';
import { blockForKeys, parseTimeout, type Waiter } from '../server/blocking';
import { notifyKeyspaceEvent, NOTIFY_GENERIC, NOTIFY_LIST } from '../server/notify';
import { P_LEFT, P_LMOVE, P_LPOP, P_RIGHT, P_RPOP, P_RPOPLPUSH, msArg } from './propagation';

const HEAD = 0;
const TAIL = 1;
const pos = new QlPos();
const val = new LpVal();
const E_POSITIVE = 'ERR value is out of range, must be positive';

// ---- helpers ------------------------------------------------------------------------------

/** The list entry of key, 0 if missing, -1 (after writing WRONGTYPE) if another type. */
function lookupList(c: Client, key: Buffer, read = false): number {
  const s = c.store;
  const e = read ? s.findRead(c.db, key) : s.find(c.db, key);
  if (e === 0) return 0;
  if (s.type(e) !== T_LIST) {
    c.w.error(E_WRONGTYPE);
    return -1;
  }
  return e;
}

function writeAt(c: Client, p: QlPos): void {
  const heap = c.store.heap;
  const v = qlGet(heap, p, val);
  if (v.isInt) c.w.bulk(intBytes(v.int, v.big));
  else c.w.bulkRange(heap.u8, v.off, v.off + v.len);
}

function copyAt(c: Client, p: QlPos): Buffer {
  const heap = c.store.heap;
  const v = qlGet(heap, p, val);
  if (v.isInt) return Buffer.from(intBytes(v.int, v.big));
  return Buffer.from(heap.u8.subarray(v.off, v.off + v.len));
}

function fill(c: Client): number {
  return c.srv.config.num('list-max-listpack-size');
}

/** Create an empty list at key (which must not exist) and tell blocked clients. */
function createList(c: Client, db: number, key: Buffer): number {
  const s = c.store;
  const ql = qlNew(s.heap, fill(c));
  return s.createObject(db, key, T_LIST, E_QUICKLIST, ql);
}

/**
 * After removing elements: notify `event`, then delete the key if the list is empty ("del"),
 * else mark it modified (listElementsRemoved).
 */
function afterRemove(c: Client, db: number, key: Buffer, ql: number, event: string): void {
  notifyKeyspaceEvent(c, NOTIFY_LIST, event, key, db);
  if (qlCount(c.store.heap, ql) === 0) {
    c.store.delete(db, key);
    notifyKeyspaceEvent(c, NOTIFY_GENERIC, 'del', key, db);
  } else c.store.modified(db, key);
}

function popEvent(where: number): string {
  return where === HEAD ? 'lpop' : 'rpop';
}

/** Pop one element of the list at e and write it as a bulk reply. */
function popOne(c: Client, db: number, key: Buffer, e: number, where: number): void {
  const s = c.store;
  const heap = s.heap;
  const ql = s.objPtr(e);
  qlEnd(heap, ql, where === HEAD, pos);
  writeAt(c, pos);
  qlPopEnd(heap, ql, where === HEAD, pos);
  afterRemove(c, db, key, ql, popEvent(where));
  // BLPOP/BRPOP (served at once or later) propagate as the LPOP/RPOP they did.
  const p = c.srv.prop;
  if (p.on()) p.propagateAs([where === HEAD ? P_LPOP : P_RPOP, key]);
}

/** Pop up to count elements and write them as an array. */
function popMany(c: Client, db: number, key: Buffer, e: number, where: number, count: number): void {
  const s = c.store;
  const heap = s.heap;
  const ql = s.objPtr(e);
  const n = Math.min(count, qlCount(heap, ql));
  c.w.array(n);
  for (let i = 0; i < n; i++) {
    qlEnd(heap, ql, where === HEAD, pos);
    writeAt(c, pos);
    qlPopEnd(heap, ql, where === HEAD, pos);
  }
  afterRemove(c, db, key, ql, popEvent(where));
  // LMPOP/BLMPOP propagate as [LR]POP key <count popped>.
  const p = c.srv.prop;
  if (p.on()) p.propagateAs([where === HEAD ? P_LPOP : P_RPOP, key, msArg(n)]);
}

function parseWhere(b: Buffer): number {
  if (is(b, 'left')) return HEAD;
  if (is(b, 'right')) return TAIL;
  return -1;
}

// ---- push ---------------------------------------------------------------------------------

function pushGeneric(c: Client, argv: Buffer[], where: number, onlyExisting: boolean): void {
  const s = c.store;
  let e = lookupList(c, argv[1]);
  if (e < 0) return;
  let created = false;
  if (e === 0) {
    if (onlyExisting) return c.w.int(0);
    e = createList(c, c.db, argv[1]);
    created = true;
  }
  const heap = s.heap;
  const ql = s.objPtr(e);
  for (let i = 2; i < argv.length; i++) qlPush(heap, ql, argv[i], where === HEAD);
  // One change per element (createList counted the first when it made the key).
  if (!created) s.modified(c.db, argv[1], argv.length - 2);
  else if (argv.length > 3) s.modified(c.db, argv[1], argv.length - 3);
  c.w.int(qlCount(heap, ql));
  notifyKeyspaceEvent(c, NOTIFY_LIST, where === HEAD ? 'lpush' : 'rpush', argv[1], c.db);
}

function lpush(c: Client, argv: Buffer[]): void {
  pushGeneric(c, argv, HEAD, false);
}
function rpush(c: Client, argv: Buffer[]): void {
  pushGeneric(c, argv, TAIL, false);
}
function lpushx(c: Client, argv: Buffer[]): void {
  pushGeneric(c, argv, HEAD, true);
}
function rpushx(c: Client, argv: Buffer[]): void {
  pushGeneric(c, argv, TAIL, true);
}

function linsert(c: Client, argv: Buffer[]): void {
  let after: boolean;
  if (is(argv[2], 'after')) after = true;
  else if (is(argv[2], 'before')) after = false;
  else return c.w.error(E_SYNTAX);
  const e = lookupList(c, argv[1]);
  if (e < 0) return;
  if (e === 0) return c.w.int(0);
  const s = c.store;
  const heap = s.heap;
  const ql = s.objPtr(e);
  const pivot = argv[3];
  let ok = qlEnd(heap, ql, true, pos);
  while (ok) {
    if (lpCompare(heap, qlPosLp(heap, pos), pos.p, pivot)) break;
    ok = qlNext(heap, pos);
  }
  if (!ok) return c.w.int(-1);
  qlInsertAt(heap, ql, pos, argv[4], after);
  s.modified(c.db, argv[1]);
  notifyKeyspaceEvent(c, NOTIFY_LIST, 'linsert', argv[1], c.db);
  c.w.int(qlCount(heap, ql));
}

// ---- pop ----------------------------------------------------------------------------------

function popGeneric(c: Client, argv: Buffer[], where: number): void {
  if (argv.length > 3) return c.w.error(`ERR wrong number of arguments for '${where === HEAD ? 'lpop' : 'rpop'}' command`);
  let count = -1;
  if (argv.length === 3) {
    const v = parseI64(argv[2]);
    if (v === null || v < 0) return c.w.error(E_POSITIVE);
    count = Number(v);
  }
  const e = lookupList(c, argv[1]);
  if (e < 0) return;
  if (e === 0) return count >= 0 ? c.w.nilArray() : c.w.nil();
  if (count === 0) return c.w.array(0);
  if (count < 0) popOne(c, c.db, argv[1], e, where);
  else popMany(c, c.db, argv[1], e, where, count);
}

function lpop(c: Client, argv: Buffer[]): void {
  popGeneric(c, argv, HEAD);
}
function rpop(c: Client, argv: Buffer[]): void {
  popGeneric(c, argv, TAIL);
}

// ---- read ---------------------------------------------------------------------------------

function llen(c: Client, argv: Buffer[]): void {
  const e = lookupList(c, argv[1], true);
  if (e < 0) return;
  c.w.int(e === 0 ? 0 : qlCount(c.store.heap, c.store.objPtr(e)));
}

function lindex(c: Client, argv: Buffer[]): void {
  const e = lookupList(c, argv[1], true);
  if (e < 0) return;
  if (e === 0) return c.w.nil();
  const index = parseIntArg(argv[2]);
  if (index === null) return c.w.error(E_NOT_INT);
  if (!qlIndex(c.store.heap, c.store.objPtr(e), index, pos)) return c.w.nil();
  writeAt(c, pos);
}

function lrange(c: Client, argv: Buffer[]): void {
  let start = parseIntArg(argv[2]);
  let end = parseIntArg(argv[3]);
  if (start === null || end === null) return c.w.error(E_NOT_INT);
  const e = lookupList(c, argv[1], true);
  if (e < 0) return;
  if (e === 0) return c.w.array(0);
  const heap = c.store.heap;
  const ql = c.store.objPtr(e);
  const len = qlCount(heap, ql);
  if (start < 0) start += len;
  if (end < 0) end += len;
  if (start < 0) start = 0;
  if (start > end || start >= len) return c.w.array(0);
  if (end >= len) end = len - 1;
  const n = end - start + 1;
  c.w.array(n);
  // qlIndex walks from the nearer end, so ranges near either end are cheap.
  qlIndex(heap, ql, start, pos);
  for (let i = 0; i < n; i++) {
    writeAt(c, pos);
    if (i + 1 < n) qlNext(heap, pos);
  }
}

function lset(c: Client, argv: Buffer[]): void {
  const e = lookupList(c, argv[1]);
  if (e < 0) return;
  if (e === 0) return c.w.error(E_NO_KEY);
  const index = parseIntArg(argv[2]);
  if (index === null) return c.w.error(E_NOT_INT);
  const s = c.store;
  const ql = s.objPtr(e);
  if (!qlIndex(s.heap, ql, index, pos)) return c.w.error(E_INDEX);
  qlReplaceAt(s.heap, ql, pos, argv[3]);
  s.modified(c.db, argv[1]);
  c.w.ok();
  notifyKeyspaceEvent(c, NOTIFY_LIST, 'lset', argv[1], c.db);
}

function lrem(c: Client, argv: Buffer[]): void {
  const count = parseIntArg(argv[2]);
  if (count === null) return c.w.error(E_NOT_INT);
  const e = lookupList(c, argv[1]);
  if (e < 0) return;
  if (e === 0) return c.w.int(0);
  const s = c.store;
  const heap = s.heap;
  const ql = s.objPtr(e);
  const fwd = count >= 0;
  const max = count === 0 ? Infinity : Math.abs(count);
  const target = argv[3];
  let removed = 0;
  let ok = qlEnd(heap, ql, fwd, pos);
  while (ok) {
    if (lpCompare(heap, qlPosLp(heap, pos), pos.p, target)) {
      ok = qlDelAt(heap, ql, pos, fwd);
      if (++removed >= max) break;
    } else {
      ok = fwd ? qlNext(heap, pos) : qlPrev(heap, pos);
    }
  }
  if (removed > 0) afterRemove(c, c.db, argv[1], ql, 'lrem');
  c.w.int(removed);
}

function ltrim(c: Client, argv: Buffer[]): void {
  let start = parseIntArg(argv[2]);
  let end = parseIntArg(argv[3]);
  if (start === null || end === null) return c.w.error(E_NOT_INT);
  const e = lookupList(c, argv[1]);
  if (e < 0) return;
  if (e === 0) return c.w.ok();
  const s = c.store;
  const heap = s.heap;
  const ql = s.objPtr(e);
  const len = qlCount(heap, ql);
  if (start < 0) start += len;
  if (end < 0) end += len;
  if (start < 0) start = 0;
  let ltrimN: number;
  let rtrimN: number;
  if (start > end || start >= len) {
    ltrimN = len;
    rtrimN = 0;
  } else {
    if (end >= len) end = len - 1;
    ltrimN = start;
    rtrimN = len - end - 1;
  }
  qlDelRange(heap, ql, 0, ltrimN);
  if (rtrimN > 0) qlDelRange(heap, ql, qlCount(heap, ql) - rtrimN, rtrimN);
  afterRemove(c, c.db, argv[1], ql, 'ltrim');
  c.w.ok();
}

function lpos(c: Client, argv: Buffer[]): void {
  let rank = 1;
  let count = -1;
  let maxlen = 0;
  for (let i = 3; i < argv.length; i++) {
    const more = i + 1 < argv.length;
    if (is(argv[i], 'rank') && more) {
      const v = parseI64(argv[++i]);
      if (v === null) return c.w.error(E_NOT_INT);
      if (v === 0) return c.w.error("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list");
      // LONG_MIN: Redis negates it into itself, and every match then passes the rank test.
      rank = typeof v === 'bigint' ? (v === -9223372036854775808n ? -1 : Number(v)) : v;
    } else if (is(argv[i], 'count') && more) {
      const v = parseI64(argv[++i]);
      if (v === null || v < 0) return c.w.error("ERR COUNT can't be negative");
      count = Number(v);
    } else if (is(argv[i], 'maxlen') && more) {
      const v = parseI64(argv[++i]);
      if (v === null || v < 0) return c.w.error("ERR MAXLEN can't be negative");
      maxlen = Number(v);
    } else {
      return c.w.error(E_SYNTAX);
    }
  }
  const e = lookupList(c, argv[1], true);
  if (e < 0) return;
  if (e === 0) return count >= 0 ? c.w.array(0) : c.w.nil();
  const heap = c.store.heap;
  const ql = c.store.objPtr(e);
  const len = qlCount(heap, ql);
  const fromTail = rank < 0;
  if (rank < 0) rank = -rank;
  const ele = argv[2];
  const found: number[] = [];
  let index = 0;
  let matches = 0;
  let ok = qlEnd(heap, ql, !fromTail, pos);
  while (ok && (maxlen === 0 || index < maxlen)) {
    if (lpCompare(heap, qlPosLp(heap, pos), pos.p, ele)) {
      matches++;
      if (matches >= rank) {
        found.push(fromTail ? len - index - 1 : index);
        if (count < 0) break;
        if (count > 0 && matches - rank + 1 >= count) break;
      }
    }
    index++;
    ok = fromTail ? qlPrev(heap, pos) : qlNext(heap, pos);
  }
  if (count < 0) {
    if (found.length === 0) c.w.nil();
    else c.w.int(found[0]);
    return;
  }
  c.w.array(found.length);
  for (const i of found) c.w.int(i);
}

// ---- move ---------------------------------------------------------------------------------

/**
 * Move one element from the list at srcE to dst. Writes the element (bulk) or WRONGTYPE when
 * dst holds another type; returns whether it moved (only then is there anything to propagate).
 */
function moveElement(c: Client, db: number, src: Buffer, srcE: number, dst: Buffer, from: number, to: number): boolean {
  const s = c.store;
  const heap = s.heap;
  let dstE = s.find(db, dst);
  if (dstE !== 0 && s.type(dstE) !== T_LIST) {
    c.w.error(E_WRONGTYPE);
    return false;
  }
  const sql = s.objPtr(srcE);
  qlEnd(heap, sql, from === HEAD, pos);
  const value = copyAt(c, pos);
  qlPopEnd(heap, sql, from === HEAD, pos);
  if (dstE === 0) dstE = createList(c, db, dst);
  else s.modified(db, dst);
  qlPush(heap, s.objPtr(dstE), value, to === HEAD);
  // lmoveHandlePush: the push event and the reply, then the pop side's events.
  notifyKeyspaceEvent(c, NOTIFY_LIST, to === HEAD ? 'lpush' : 'rpush', dst, db);
  c.w.bulk(value);
  if (dstE !== srcE) afterRemove(c, db, src, sql, popEvent(from));
  else notifyKeyspaceEvent(c, NOTIFY_LIST, popEvent(from), src, db);
  return true;
}

function lmoveGeneric(c: Client, argv: Buffer[], from: number, to: number): void {
  const e = lookupList(c, argv[1]);
  if (e < 0) return;
  if (e === 0) return c.w.nil();
  moveElement(c, c.db, argv[1], e, argv[2], from, to);
}

function rpoplpush(c: Client, argv: Buffer[]): void {
  lmoveGeneric(c, argv, TAIL, HEAD);
}

function lmove(c: Client, argv: Buffer[]): void {
  const from = parseWhere(argv[3]);
  const to = parseWhere(argv[4]);
  if (from < 0 || to < 0) return c.w.error(E_SYNTAX);
  lmoveGeneric(c, argv, from, to);
}

// ---- LMPOP --------------------------------------------------------------------------------

interface MpopArgs { numkeys: number; where: number; count: number }

function parseMpop(c: Client, argv: Buffer[], numIdx: number): MpopArgs | null {
  const nk = parseI64(argv[numIdx]);
  if (nk === null || nk < 1) {
    c.w.error('ERR numkeys should be greater than 0');
    return null;
  }
  const numkeys = Number(nk);
  const whereIdx = numIdx + numkeys + 1;
  if (whereIdx >= argv.length) {
    c.w.error(E_SYNTAX);
    return null;
  }
  const where = parseWhere(argv[whereIdx]);
  if (where < 0) {
    c.w.error(E_SYNTAX);
    return null;
  }
  let count = -1;
  for (let j = whereIdx + 1; j < argv.length; j++) {
    if (is(argv[j], 'count') && j + 1 < argv.length && count === -1) {
      const v = parseI64(argv[++j]);
      if (v === null || v < 1) {
        c.w.error('ERR count should be greater than 0');
        return null;
      }
      count = Number(v);
    } else {
      c.w.error(E_SYNTAX);
      return null;
    }
  }
  return { numkeys, where, count: count === -1 ? 1 : count };
}

function mpopKeys(numIdx: number): (argv: Buffer[]) => number[] {
  return (argv) => {
    const n = argv.length > numIdx ? parseIntArg(argv[numIdx]) : null;
    if (n === null || n < 1 || numIdx + 1 + n > argv.length) return [];
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(numIdx + 1 + i);
    return out;
  };
}

/** Pop from the first non-empty key; false if all are empty (nothing written). */
function mpopFirst(c: Client, argv: Buffer[], first: number, a: MpopArgs): boolean | null {
  for (let i = 0; i < a.numkeys; i++) {
    const key = argv[first + i];
    const e = lookupList(c, key);
    if (e < 0) return null;
    if (e === 0) continue;
    c.w.array(2);
    c.w.bulk(key);
    popMany(c, c.db, key, e, a.where, a.count);
    return true;
  }
  return false;
}

function lmpop(c: Client, argv: Buffer[]): void {
  const a = parseMpop(c, argv, 1);
  if (a === null) return;
  const r = mpopFirst(c, argv, 2, a);
  if (r === false) c.w.nilArray();
}

// ---- blocking -----------------------------------------------------------------------------

function timeoutNilArray(w: Waiter): void {
  w.c.w.nilArray();
}

function serveBpop(w: Waiter, key: Buffer): boolean {
  const c = w.c;
  const s = c.store;
  const e = s.find(w.db, key);
  if (e === 0 || s.type(e) !== T_LIST) return false;
  c.w.array(2);
  c.w.bulk(key);
  popOne(c, w.db, key, e, w.where);
  return true;
}

function serveBmove(w: Waiter, key: Buffer): boolean {
  const c = w.c;
  const s = c.store;
  const e = s.find(w.db, key);
  if (e === 0 || s.type(e) !== T_LIST) return false;
  // A wrong-typed destination answers WRONGTYPE and still unblocks the client, as Redis does.
  if (moveElement(c, w.db, key, e, w.lockAlso as Buffer, w.where, w.whereTo)) {
    propagateMove(c, key, w.lockAlso as Buffer, w.where, w.whereTo, w.count === 1);
  }
  return true;
}

/** A served or immediate BLMOVE/BRPOPLPUSH propagates as LMOVE/RPOPLPUSH. */
function propagateMove(c: Client, src: Buffer, dst: Buffer, from: number, to: number, rpoplpush: boolean): void {
  const p = c.srv.prop;
  if (!p.on()) return;
  if (rpoplpush) p.propagateAs([P_RPOPLPUSH, src, dst]);
  else p.propagateAs([P_LMOVE, src, dst, from === HEAD ? P_LEFT : P_RIGHT, to === HEAD ? P_LEFT : P_RIGHT]);
}

function serveBmpop(w: Waiter, key: Buffer): boolean {
  const c = w.c;
  const s = c.store;
  const e = s.find(w.db, key);
  if (e === 0 || s.type(e) !== T_LIST) return false;
  c.w.array(2);
  c.w.bulk(key);
  popMany(c, w.db, key, e, w.where, w.count);
  return true;
}

function bpopGeneric(c: Client, argv: Buffer[], where: number): void {
  const timeout = parseTimeout(c, argv[argv.length - 1]);
  if (timeout < 0) return;
  const last = argv.length - 1;
  for (let i = 1; i < last; i++) {
    const e = lookupList(c, argv[i]);
    if (e < 0) return;
    if (e === 0) continue;
    c.w.array(2);
    c.w.bulk(argv[i]);
    popOne(c, c.db, argv[i], e, where);
    return;
  }
  if (c.inExec) return c.w.nilArray();
  const w = blockForKeys(c, c.db, argv.slice(1, last), timeout, serveBpop, timeoutNilArray);
  w.where = where;
}

function blpop(c: Client, argv: Buffer[]): void {
  bpopGeneric(c, argv, HEAD);
}
function brpop(c: Client, argv: Buffer[]): void {
  bpopGeneric(c, argv, TAIL);
}

function bmoveGeneric(c: Client, argv: Buffer[], from: number, to: number, timeoutArg: Buffer): void {
  const timeout = parseTimeout(c, timeoutArg);
  if (timeout < 0) return;
  const e = lookupList(c, argv[1]);
  if (e < 0) return;
  const rpoplpush = argv.length === 4;
  if (e !== 0) {
    if (moveElement(c, c.db, argv[1], e, argv[2], from, to)) propagateMove(c, argv[1], argv[2], from, to, rpoplpush);
    return;
  }
  if (c.inExec) return c.w.nil();
  const w = blockForKeys(c, c.db, [argv[1]], timeout, serveBmove, timeoutNilArray);
  w.where = from;
  w.whereTo = to;
  // count is free for BLMOVE: 1 marks BRPOPLPUSH (propagated as RPOPLPUSH when served).
  w.count = rpoplpush ? 1 : 0;
  w.lockAlso = Buffer.from(argv[2]);
}

function brpoplpush(c: Client, argv: Buffer[]): void {
  bmoveGeneric(c, argv, TAIL, HEAD, argv[3]);
}

function blmove(c: Client, argv: Buffer[]): void {
  const from = parseWhere(argv[3]);
  const to = parseWhere(argv[4]);
  if (from < 0 || to < 0) return c.w.error(E_SYNTAX);
  bmoveGeneric(c, argv, from, to, argv[5]);
}

function blmpop(c: Client, argv: Buffer[]): void {
  const a = parseMpop(c, argv, 2);
  if (a === null) return;
  const timeout = parseTimeout(c, argv[1]);
  if (timeout < 0) return;
  const r = mpopFirst(c, argv, 3, a);
  if (r !== false) return;
  if (c.inExec) return c.w.nilArray();
  const w = blockForKeys(c, c.db, argv.slice(3, 3 + a.numkeys), timeout, serveBmpop, timeoutNilArray);
  w.where = a.where;
  w.count = a.count;
}

// ---- table --------------------------------------------------------------------------------

const W_FAST = ['write', 'list', 'fast'];
const W_SLOW = ['write', 'list', 'slow'];
const R_FAST = ['read', 'list', 'fast'];
const R_SLOW = ['read', 'list', 'slow'];
const W_BLOCK = ['write', 'list', 'slow', 'blocking'];

export const commands: CommandSpec[] = [
  def('lpush', -3, 'write denyoom fast', [1, 1, 1], 'list', 'Prepend one or multiple elements to a list', lpush, { complexity: 'O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.', acl: W_FAST }),
  def('rpush', -3, 'write denyoom fast', [1, 1, 1], 'list', 'Append one or multiple elements to a list', rpush, { complexity: 'O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.', acl: W_FAST }),
  def('lpushx', -3, 'write denyoom fast', [1, 1, 1], 'list', 'Prepend an element to a list, only if the list exists', lpushx, { since: '2.2.0', complexity: 'O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.', acl: W_FAST }),
  def('rpushx', -3, 'write denyoom fast', [1, 1, 1], 'list', 'Append an element to a list, only if the list exists', rpushx, { since: '2.2.0', complexity: 'O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.', acl: W_FAST }),
  def('lpop', -2, 'write fast', [1, 1, 1], 'list', 'Remove and get the first elements in a list', lpop, { complexity: 'O(N) where N is the number of elements returned', acl: W_FAST }),
  def('rpop', -2, 'write fast', [1, 1, 1], 'list', 'Remove and get the last elements in a list', rpop, { complexity: 'O(N) where N is the number of elements returned', acl: W_FAST }),
  def('llen', 2, 'readonly fast', [1, 1, 1], 'list', 'Get the length of a list', llen, { complexity: 'O(1)', acl: R_FAST }),
  def('lindex', 3, 'readonly', [1, 1, 1], 'list', 'Get an element from a list by its index', lindex, { complexity: 'O(N) where N is the number of elements to traverse to get to the element at index. This makes asking for the first or the last element of the list O(1).', acl: R_SLOW }),
  def('lrange', 4, 'readonly', [1, 1, 1], 'list', 'Get a range of elements from a list', lrange, { complexity: 'O(S+N) where S is the distance of start offset from HEAD for small lists, from nearest end (HEAD or TAIL) for large lists; and N is the number of elements in the specified range.', acl: R_SLOW }),
  def('lset', 4, 'write denyoom', [1, 1, 1], 'list', 'Set the value of an element in a list by its index', lset, { complexity: 'O(N) where N is the length of the list. Setting either the first or the last element of the list is O(1).', acl: W_SLOW }),
  def('linsert', 5, 'write denyoom', [1, 1, 1], 'list', 'Insert an element before or after another element in a list', linsert, { since: '2.2.0', complexity: 'O(N) where N is the number of elements to traverse before seeing the value pivot. This means that inserting somewhere on the left end on the list (head) can be considered O(1) and inserting somewhere on the right end (tail) is O(N).', acl: W_SLOW }),
  def('lrem', 4, 'write', [1, 1, 1], 'list', 'Remove elements from a list', lrem, { complexity: 'O(N+M) where N is the length of the list and M is the number of elements removed.', acl: W_SLOW }),
  def('ltrim', 4, 'write', [1, 1, 1], 'list', 'Trim a list to the specified range', ltrim, { complexity: 'O(N) where N is the number of elements to be removed by the operation.', acl: W_SLOW }),
  def('lpos', -3, 'readonly', [1, 1, 1], 'list', 'Return the index of matching elements on a list', lpos, { since: '6.0.6', complexity: 'O(N) where N is the number of elements in the list, for the average case. When searching for elements near the head or the tail of the list, or when the MAXLEN option is provided, the command may run in constant time.', acl: R_SLOW }),
  def('rpoplpush', 3, 'write denyoom', [1, 2, 1], 'list', 'Remove the last element in a list, prepend it to another list and return it', rpoplpush, { since: '1.2.0', complexity: 'O(1)', acl: W_SLOW }),
  def('lmove', 5, 'write denyoom', [1, 2, 1], 'list', 'Pop an element from a list, push it to another list and return it', lmove, { since: '6.2.0', complexity: 'O(1)', acl: W_SLOW }),
  def('lmpop', -4, 'write movablekeys', [0, 0, 0], 'list', 'Pop elements from a list', lmpop, { since: '7.0.0', complexity: 'O(N+M) where N is the number of provided keys and M is the number of elements returned.', keys: mpopKeys(1), acl: W_SLOW }),
  def('blpop', -3, 'write noscript blocking', [1, -2, 1], 'list', 'Remove and get the first element in a list, or block until one is available', blpop, { since: '2.0.0', complexity: 'O(N) where N is the number of provided keys.', acl: W_BLOCK }),
  def('brpop', -3, 'write noscript blocking', [1, -2, 1], 'list', 'Remove and get the last element in a list, or block until one is available', brpop, { since: '2.0.0', complexity: 'O(N) where N is the number of provided keys.', acl: W_BLOCK }),
  def('brpoplpush', 4, 'write denyoom noscript blocking', [1, 2, 1], 'list', 'Pop an element from a list, push it to another list and return it; or block until one is available', brpoplpush, { since: '2.2.0', complexity: 'O(1)', acl: W_BLOCK }),
  def('blmove', 6, 'write denyoom noscript blocking', [1, 2, 1], 'list', 'Pop an element from a list, push it to another list and return it; or block until one is available', blmove, { since: '6.2.0', complexity: 'O(1)', acl: W_BLOCK }),
  def('blmpop', -5, 'write blocking movablekeys', [0, 0, 0], 'list', 'Pop elements from a list, or block until one is available', blmpop, { since: '7.0.0', complexity: 'O(N+M) where N is the number of provided keys and M is the number of elements returned.', keys: mpopKeys(2), acl: W_BLOCK }),
];

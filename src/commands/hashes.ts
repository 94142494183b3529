// Hash commands (t_hash.c, Redis 7.0): a listpack of field, value, field, value... while there
// are at most hash-max-listpack-entries fields and no field or value is longer than
// hash-max-listpack-value bytes; then a hash table (src/store/dict.ts, DICT_HASH).
import type { CommandSpec } from './types';
import type { Client } from '../server/client';
import { parseLongDouble, addLD, formatLongDoubleHuman, type LongDouble } from './longdouble';
import { def } from './def';
import { T_HASH, E_LISTPACK, E_HASHTABLE } from '../store/keyspace';
import type { Store } from '../store/keyspace';
import type { Heap } from '../store/heap';
import { E_SYNTAX, E_WRONGTYPE, E_NOT_INT, E_OVERFLOW, I64_MAX, I64_MIN, is, parseI64 } from './args';
import {
  DICT_HASH, DictIter, dictKey, dictKeyLen,
  dictKeyOff, dictRandom, dictValLen, dictValOff,
} from '../store/dict';
import {
  LpVal, lpFirst, lpFree, lpGet, lpLength, lpNew, lpNext,
  lpSeek, lpValBytes,
} from '../store/listpack';
import { globMatch } from '../config/glob';
import { parseScanCursor, parseScanOpts, replyCursor, scanDict } from './sets';
import { notifyKeyspaceEvent, NOTIFY_GENERIC, NOTIFY_HASH } from '../server/notify';
import { P_HSET } from './propagation';
import { HashObj, foundBytes, hashConvert, hashDelete, hashFind, hashFound, hashLen, hashTypeSet } from '../store/hash';

// The hash type itself (hashType*) is src/store/hash.ts; this is scratch for the commands.
const ho = new HashObj();
const lv = new LpVal();
const iter = new DictIter();
const numBuf = Buffer.alloc(24);
const refs: number[] = [];

function maxEntries(c: Client): number {
  return c.srv.config.num('hash-max-listpack-entries');
}

function maxValue(c: Client): number {
  return c.srv.config.num('hash-max-listpack-value');
}

/** hashTypeTryConversion: any argument in argv[from..to] too long for a listpack converts. */
function tryConversion(c: Client, o: HashObj, argv: Buffer[], from: number, to: number): void {
  if (o.enc !== E_LISTPACK) return;
  const max = maxValue(c);
  for (let i = from; i <= to; i++) {
    if (argv[i].length > max) {
      hashConvert(c.store.heap, o);
      return;
    }
  }
}

/** Set field to value under the configured listpack limits; true when the field was created. */
function hashSet(c: Client, o: HashObj, field: Uint8Array, value: Uint8Array): boolean {
  return hashTypeSet(c.store.heap, o, field, value, maxEntries(c), maxValue(c));
}

function replyLpVal(c: Client, v: LpVal): void {
  if (v.isInt) c.w.bulk(lpValBytes(c.store.heap, v));
  else c.w.bulkRange(c.store.heap.u8, v.off, v.off + v.len);
}

function replyField(c: Client, e: number): void {
  const heap = c.store.heap;
  const off = dictKeyOff(DICT_HASH, e);
  c.w.bulkRange(heap.u8, off, off + dictKeyLen(heap, e));
}

function replyValue(c: Client, e: number): void {
  const heap = c.store.heap;
  const off = dictValOff(heap, e);
  c.w.bulkRange(heap.u8, off, off + dictValLen(heap, e));
}

function replyFound(c: Client, o: HashObj, r: number): void {
  if (o.enc === E_HASHTABLE) replyValue(c, r);
  else replyLpVal(c, hashFound);
}

/** Hash for reading: null when missing, undefined after replying WRONGTYPE. */
function lookupRead(c: Client, key: Uint8Array): HashObj | null | undefined {
  const s = c.store;
  const e = s.findRead(c.db, key);
  if (e === 0) return null;
  if (s.type(e) !== T_HASH) {
    c.w.error(E_WRONGTYPE);
    return undefined;
  }
  ho.e = e;
  ho.enc = s.encoding(e);
  ho.ptr = s.objPtr(e);
  return ho;
}

/** hashTypeLookupWriteOrCreate: an existing hash, or a fresh empty listpack one (e = 0). */
function lookupWriteOrCreate(c: Client, key: Uint8Array): HashObj | undefined {
  const s = c.store;
  const e = s.find(c.db, key);
  if (e !== 0) {
    if (s.type(e) !== T_HASH) {
      c.w.error(E_WRONGTYPE);
      return undefined;
    }
    ho.e = e;
    ho.enc = s.encoding(e);
    ho.ptr = s.objPtr(e);
    return ho;
  }
  ho.e = 0;
  ho.enc = E_LISTPACK;
  ho.ptr = lpNew(s.heap);
  return ho;
}

/** Write an existing key's (possibly moved or converted) hash back into its entry. */
function keep(s: Store, o: HashObj): void {
  if (o.e === 0) return;
  s.setObjPtr(o.e, o.ptr);
  s.setEncoding(o.e, o.enc);
}

/** Store the hash back into its key (creating the key if new). */
function commit(s: Store, db: number, key: Uint8Array, o: HashObj, changes = 1): void {
  if (o.e === 0) {
    s.createObject(db, key, T_HASH, o.enc, o.ptr);
    if (changes > 1) s.modified(db, key, changes - 1);
    return;
  }
  s.setObjPtr(o.e, o.ptr);
  s.setEncoding(o.e, o.enc);
  s.modified(db, key, changes);
}

// ---- commands -------------------------------------------------------------------------

function hset(c: Client, argv: Buffer[]): void {
  if (argv.length % 2 === 1) return c.w.error(`ERR wrong number of arguments for '${argv[0].length === 5 ? 'hmset' : 'hset'}' command`);
  const s = c.store;
  const o = lookupWriteOrCreate(c, argv[1]);
  if (o === undefined) return;
  let created = 0;
  try {
    tryConversion(c, o, argv, 2, argv.length - 1);
    for (let i = 2; i < argv.length; i += 2) if (hashSet(c, o, argv[i], argv[i + 1])) created++;
  } finally {
    keep(s, o); // even after an out-of-memory error: the hash may have moved
  }
  commit(s, c.db, argv[1], o, (argv.length - 2) / 2);
  if (argv[0].length === 5) c.w.ok();
  else c.w.int(created);
  notifyKeyspaceEvent(c, NOTIFY_HASH, 'hset', argv[1], c.db);
}

function hsetnx(c: Client, argv: Buffer[]): void {
  const s = c.store;
  const o = lookupWriteOrCreate(c, argv[1]);
  if (o === undefined) return;
  if (hashFind(s.heap, o, argv[2]) !== 0) {
    if (o.e === 0) lpFree(s.heap, o.ptr);
    return c.w.int(0);
  }
  try {
    tryConversion(c, o, argv, 2, 3);
    hashSet(c, o, argv[2], argv[3]);
  } finally {
    keep(s, o);
  }
  commit(s, c.db, argv[1], o);
  c.w.int(1);
  notifyKeyspaceEvent(c, NOTIFY_HASH, 'hset', argv[1], c.db);
}

function hget(c: Client, argv: Buffer[]): void {
  const o = lookupRead(c, argv[1]);
  if (o === undefined) return;
  if (o === null) return c.w.nil();
  const r = hashFind(c.store.heap, o, argv[2]);
  if (r === 0) return c.w.nil();
  replyFound(c, o, r);
}

function hmget(c: Client, argv: Buffer[]): void {
  const o = lookupRead(c, argv[1]);
  if (o === undefined) return;
  c.w.array(argv.length - 2);
  for (let i = 2; i < argv.length; i++) {
    const r = o === null ? 0 : hashFind(c.store.heap, o, argv[i]);
    if (r === 0) c.w.nil();
    else replyFound(c, o as HashObj, r);
  }
}

function hdel(c: Client, argv: Buffer[]): void {
  const s = c.store;
  const e = s.find(c.db, argv[1]);
  if (e === 0) return c.w.int(0);
  if (s.type(e) !== T_HASH) return c.w.error(E_WRONGTYPE);
  ho.e = e;
  ho.enc = s.encoding(e);
  ho.ptr = s.objPtr(e);
  let deleted = 0;
  let gone = false;
  try {
    for (let i = 2; i < argv.length; i++) {
      if (hashDelete(s.heap, ho, argv[i])) {
        deleted++;
        if (hashLen(s.heap, ho) === 0) {
          gone = true;
          break;
        }
      }
    }
  } finally {
    s.setObjPtr(e, ho.ptr);
  }
  if (gone) s.delete(c.db, argv[1]);
  if (deleted > 0) {
    s.modified(c.db, argv[1], deleted);
    notifyKeyspaceEvent(c, NOTIFY_HASH, 'hdel', argv[1], c.db);
    if (gone) notifyKeyspaceEvent(c, NOTIFY_GENERIC, 'del', argv[1], c.db);
  }
  c.w.int(deleted);
}

function hlen(c: Client, argv: Buffer[]): void {
  const o = lookupRead(c, argv[1]);
  if (o === undefined) return;
  c.w.int(o === null ? 0 : hashLen(c.store.heap, o));
}

function hstrlen(c: Client, argv: Buffer[]): void {
  const o = lookupRead(c, argv[1]);
  if (o === undefined) return;
  if (o === null) return c.w.int(0);
  const heap = c.store.heap;
  const r = hashFind(heap, o, argv[2]);
  if (r === 0) return c.w.int(0);
  c.w.int(o.enc === E_HASHTABLE ? dictValLen(heap, r) : hashFound.isInt ? lpValBytes(heap, hashFound).length : hashFound.len);
}

function hexists(c: Client, argv: Buffer[]): void {
  const o = lookupRead(c, argv[1]);
  if (o === undefined) return;
  c.w.int(o !== null && hashFind(c.store.heap, o, argv[2]) !== 0 ? 1 : 0);
}

const F_KEYS = 1;
const F_VALS = 2;

function getall(c: Client, argv: Buffer[], flags: number): void {
  const o = lookupRead(c, argv[1]);
  if (o === undefined) return;
  const both = flags === (F_KEYS | F_VALS);
  if (o === null) return both ? c.w.map(0) : c.w.array(0);
  const heap = c.store.heap;
  const n = hashLen(heap, o);
  if (both) c.w.map(n);
  else c.w.array(n);
  if (o.enc === E_LISTPACK) {
    const lp = o.ptr;
    let p = lpFirst(heap, lp);
    while (p !== 0) {
      if (flags & F_KEYS) replyLpVal(c, lpGet(heap, lp, p, lv));
      p = lpNext(heap, lp, p);
      if (flags & F_VALS) replyLpVal(c, lpGet(heap, lp, p, lv));
      p = lpNext(heap, lp, p);
    }
    return;
  }
  iter.init(heap, o.ptr);
  for (let e = iter.next(); e !== 0; e = iter.next()) {
    if (flags & F_KEYS) replyField(c, e);
    if (flags & F_VALS) replyValue(c, e);
  }
}

function hkeys(c: Client, argv: Buffer[]): void {
  getall(c, argv, F_KEYS);
}

function hvals(c: Client, argv: Buffer[]): void {
  getall(c, argv, F_VALS);
}

function hgetall(c: Client, argv: Buffer[]): void {
  getall(c, argv, F_KEYS | F_VALS);
}

/** Decimal digits of an int64 into numBuf; returns the view. */
function digitsOf(v: number | bigint): Uint8Array {
  const str = typeof v === 'number' ? String(v) : v.toString();
  const n = numBuf.latin1Write(str, 0);
  return numBuf.subarray(0, n);
}

function hincrby(c: Client, argv: Buffer[]): void {
  const incr = parseI64(argv[3]);
  if (incr === null) return c.w.error(E_NOT_INT);
  const s = c.store;
  const heap = s.heap;
  const o = lookupWriteOrCreate(c, argv[1]);
  if (o === undefined) return;
  let value: number | bigint = 0;
  const r = hashFind(heap, o, argv[2]);
  if (r !== 0) {
    if (o.enc === E_LISTPACK && hashFound.isInt) value = hashFound.big ?? hashFound.int;
    else {
      const v = parseI64(foundBytes(heap, o, r));
      if (v === null) return c.w.error('ERR hash value is not an integer');
      value = v;
    }
  }
  let result: number | bigint;
  if (typeof value === 'number' && typeof incr === 'number' && Number.isSafeInteger(value + incr)) {
    result = value + incr;
  } else {
    const big = BigInt(value) + BigInt(incr);
    if (big > I64_MAX || big < I64_MIN) {
      if (o.e === 0) lpFree(heap, o.ptr);
      return c.w.error(E_OVERFLOW);
    }
    result = big >= -9007199254740991n && big <= 9007199254740991n ? Number(big) : big;
  }
  try {
    hashSet(c, o, argv[2], digitsOf(result));
  } finally {
    keep(s, o);
  }
  commit(s, c.db, argv[1], o);
  if (typeof result === 'number') c.w.int(result);
  else c.w.raw(`:${result}\r\n`);
  notifyKeyspaceEvent(c, NOTIFY_HASH, 'hincrby', argv[1], c.db);
}

function hincrbyfloat(c: Client, argv: Buffer[]): void {
  const inc = parseLongDouble(argv[3]);
  if (inc === null) return c.w.error('ERR value is not a valid float');
  if (inc.inf) return c.w.error('ERR value is NaN or Infinity');
  const s = c.store;
  const heap = s.heap;
  const o = lookupWriteOrCreate(c, argv[1]);
  if (o === undefined) return;
  let cur: LongDouble = { neg: false, m: 0n, e: 0, inf: false };
  const r = hashFind(heap, o, argv[2]);
  if (r !== 0) {
    const v = parseLongDouble(foundBytes(heap, o, r));
    if (v === null) return c.w.error('ERR hash value is not a float');
    cur = v;
  }
  const sum = cur.inf ? cur : addLD(cur, inc);
  if (sum.inf) {
    if (o.e === 0) lpFree(heap, o.ptr);
    return c.w.error('ERR increment would produce NaN or Infinity');
  }
  const str = formatLongDoubleHuman(sum);
  const bytes = Buffer.from(str, 'latin1');
  try {
    hashSet(c, o, argv[2], bytes);
  } finally {
    keep(s, o);
  }
  commit(s, c.db, argv[1], o);
  c.w.bulk(bytes);
  // Propagated as HSET key field <result>: float formatting on a replica could differ.
  const p = c.srv.prop;
  if (p.on()) p.propagateAs([P_HSET, argv[1], argv[2], Buffer.from(bytes)]);
  notifyKeyspaceEvent(c, NOTIFY_HASH, 'hincrbyfloat', argv[1], c.db);
}

// ---- HRANDFIELD -------------------------------------------------------------------------

function replyPairAt(c: Client, o: HashObj, ref: number, withvalues: boolean): void {
  const heap = c.store.heap;
  if (withvalues && c.w.resp > 2) c.w.array(2);
  if (o.enc === E_HASHTABLE) {
    replyField(c, ref);
    if (withvalues) replyValue(c, ref);
    return;
  }
  // ref: position of the field in the listpack
  replyLpVal(c, lpGet(heap, o.ptr, ref, lv));
  if (withvalues) replyLpVal(c, lpGet(heap, o.ptr, lpNext(heap, o.ptr, ref), lv));
}

/** A random field reference (listpack position or dict entry). */
function randomRef(heap: Heap, o: HashObj): number {
  if (o.enc === E_HASHTABLE) return dictRandom(heap, o.ptr);
  const n = lpLength(heap, o.ptr) >>> 1;
  return lpSeek(heap, o.ptr, 2 * Math.floor(Math.random() * n));
}

function allRefs(heap: Heap, o: HashObj, out: number[]): void {
  out.length = 0;
  if (o.enc === E_HASHTABLE) {
    iter.init(heap, o.ptr);
    for (let e = iter.next(); e !== 0; e = iter.next()) out.push(e);
    return;
  }
  const lp = o.ptr;
  for (let p = lpFirst(heap, lp); p !== 0; p = lpNext(heap, lp, lpNext(heap, lp, p))) out.push(p);
}

function hrandfield(c: Client, argv: Buffer[]): void {
  const heap = c.store.heap;
  if (argv.length === 2) {
    const o = lookupRead(c, argv[1]);
    if (o === undefined) return;
    if (o === null) return c.w.nil();
    return replyPairAt(c, o, randomRef(heap, o), false);
  }
  const l = parseI64(argv[2]);
  if (l === null) return c.w.error(E_NOT_INT);
  if (l === I64_MIN) return c.w.error('ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807');
  if (argv.length > 4 || (argv.length === 4 && !is(argv[3], 'withvalues'))) return c.w.error(E_SYNTAX);
  const withvalues = argv.length === 4;
  if (withvalues && (l < -4611686018427387903n || l > 4611686018427387903n)) return c.w.error('ERR value is out of range');
  const o = lookupRead(c, argv[1]);
  if (o === undefined) return;
  if (o === null || l === 0) return c.w.array(0);
  const size = hashLen(heap, o);
  const resp2pairs = withvalues && c.w.resp === 2;
  if (l < 0 || l === 1) {
    const count = l < 0 ? -Number(l) : 1;
    c.w.array(resp2pairs ? count * 2 : count);
    // Stops once the client is over its output limit (it is being closed), as Redis does.
    for (let k = 0; k < count && !c.w.overLimit; k++) replyPairAt(c, o, randomRef(heap, o), withvalues);
    return;
  }
  const count = Number(l);
  const n = count < size ? count : size;
  c.w.array(resp2pairs ? n * 2 : n);
  allRefs(heap, o, refs);
  if (count < size) {
    for (let i = 0; i < count; i++) {
      const j = i + Math.floor(Math.random() * (size - i));
      const t = refs[i];
      refs[i] = refs[j];
      refs[j] = t;
    }
  }
  for (let i = 0; i < n; i++) replyPairAt(c, o, refs[i], withvalues);
}

// ---- HSCAN ----------------------------------------------------------------------------

function hscan(c: Client, argv: Buffer[]): void {
  const cursor = parseScanCursor(c, argv[2]);
  if (cursor < 0) return;
  const o = lookupRead(c, argv[1]);
  if (o === undefined) return;
  if (o === null) {
    c.w.array(2);
    c.w.bulkStr('0');
    c.w.array(0);
    return;
  }
  const opts = parseScanOpts(c, argv, 3);
  if (opts === null) return;
  const heap = c.store.heap;
  const pat = opts.pattern;
  if (o.enc === E_LISTPACK) {
    const lp = o.ptr;
    refs.length = 0;
    for (let p = lpFirst(heap, lp); p !== 0; p = lpNext(heap, lp, lpNext(heap, lp, p))) {
      if (pat === null || globMatch(pat, lpValBytes(heap, lpGet(heap, lp, p, lv)), false)) refs.push(p);
    }
    c.w.array(2);
    c.w.bulkStr('0');
    // Flat field/value list in both protocols (only HRANDFIELD nests pairs in RESP3).
    c.w.array(refs.length * 2);
    for (const p of refs) {
      replyLpVal(c, lpGet(heap, lp, p, lv));
      replyLpVal(c, lpGet(heap, lp, lpNext(heap, lp, p), lv));
    }
    return;
  }
  const next = scanDict(heap, o.ptr, cursor, opts.count, refs);
  let m = 0;
  for (let i = 0; i < refs.length; i++) {
    const e = refs[i];
    if (pat === null || globMatch(pat, dictKey(heap, DICT_HASH, e), false)) refs[m++] = e;
  }
  refs.length = m;
  replyCursor(c, next);
  c.w.array(m * 2);
  for (let i = 0; i < m; i++) {
    replyField(c, refs[i]);
    replyValue(c, refs[i]);
  }
}


const RF = { acl: ['read', 'hash', 'fast'] };
const RS = { acl: ['read', 'hash', 'slow'] };
const WF = { acl: ['write', 'hash', 'fast'] };

export const commands: CommandSpec[] = [
  def('hset', -4, 'write denyoom fast', [1, 1, 1], 'hash', 'Set the string value of a hash field', hset, { ...WF, since: '2.0.0' }),
  def('hsetnx', 4, 'write denyoom fast', [1, 1, 1], 'hash', 'Set the value of a hash field, only if the field does not exist', hsetnx, { ...WF, since: '2.0.0' }),
  def('hget', 3, 'readonly fast', [1, 1, 1], 'hash', 'Get the value of a hash field', hget, { ...RF, since: '2.0.0' }),
  def('hmget', -3, 'readonly fast', [1, 1, 1], 'hash', 'Get the values of all the given hash fields', hmget, { ...RF, since: '2.0.0' }),
  def('hmset', -4, 'write denyoom fast', [1, 1, 1], 'hash', 'Set multiple hash fields to multiple values', hset, { ...WF, since: '2.0.0' }),
  def('hdel', -3, 'write fast', [1, 1, 1], 'hash', 'Delete one or more hash fields', hdel, { ...WF, since: '2.0.0' }),
  def('hlen', 2, 'readonly fast', [1, 1, 1], 'hash', 'Get the number of fields in a hash', hlen, { ...RF, since: '2.0.0' }),
  def('hstrlen', 3, 'readonly fast', [1, 1, 1], 'hash', 'Get the length of the value of a hash field', hstrlen, { ...RF, since: '3.2.0' }),
  def('hexists', 3, 'readonly fast', [1, 1, 1], 'hash', 'Determine if a hash field exists', hexists, { ...RF, since: '2.0.0' }),
  def('hkeys', 2, 'readonly', [1, 1, 1], 'hash', 'Get all the fields in a hash', hkeys, { ...RS, since: '2.0.0' }),
  def('hvals', 2, 'readonly', [1, 1, 1], 'hash', 'Get all the values in a hash', hvals, { ...RS, since: '2.0.0' }),
  def('hgetall', 2, 'readonly', [1, 1, 1], 'hash', 'Get all the fields and values in a hash', hgetall, { ...RS, since: '2.0.0' }),
  def('hincrby', 4, 'write denyoom fast', [1, 1, 1], 'hash', 'Increment the integer value of a hash field by the given number', hincrby, { ...WF, since: '2.0.0' }),
  def('hincrbyfloat', 4, 'write denyoom fast', [1, 1, 1], 'hash', 'Increment the float value of a hash field by the given amount', hincrbyfloat, { ...WF, since: '2.6.0' }),
  def('hrandfield', -2, 'readonly', [1, 1, 1], 'hash', 'Get one or multiple random fields from a hash', hrandfield, { ...RS, since: '6.2.0' }),
  def('hscan', -3, 'readonly', [1, 1, 1], 'hash', 'Incrementally iterate hash fields and associated values', hscan, { ...RS, since: '2.8.0' }),
];

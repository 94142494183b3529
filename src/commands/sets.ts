// Set commands (t_set.c, Redis 7.0): intset while every member is an integer and there are at
// most set-max-intset-entries of them, else a hash table of members (src/store/dict.ts).
import type { CommandSpec } from './types';
import type { Client } from '../server/client';
import { def } from './def';
import { T_SET, E_INTSET, E_HASHTABLE } from '../store/keyspace';
import type { Store } from '../store/keyspace';
import type { Heap } from '../store/heap';
import { E_SYNTAX, E_WRONGTYPE, E_NOT_INT, is, parseI64 } from './args';
import {
  DICT_SET, DictIter, dictDelete, dictFind, dictFindHashed,
  dictKeyLen, dictKeyOff, dictRandom, dictScan, dictKey,
} from '../store/dict';
import {
  intsetChanged, intsetFind, intsetFormat, intsetGet, intsetLen,
  intsetRandomIndex, intsetRemove,
} from '../store/intset';
import { globMatch } from '../config/glob';
import { notifyKeyspaceEvent, NOTIFY_GENERIC, NOTIFY_SET } from '../server/notify';
import { P_DEL, P_SREM } from './propagation';
import {
  SetObj, createFor, freeObj, intBytes, newIntsetObj, setAdd, setAddInt, setIsMember, setRemove, setSize,
} from '../store/set';

// Scratch for replies and conversions (the set type itself is src/store/set.ts).
const numBuf = Buffer.alloc(24);
const numView = (n: number): Uint8Array => numBuf.subarray(0, n);
const scratch: number[] = [];
const iter = new DictIter();

function maxIntset(c: Client): number {
  const n = c.srv.config.num('set-max-intset-entries');
  return n > 1 << 30 ? 1 << 30 : n;
}

/** Load the set held by entry e into o. */
function load(s: Store, e: number, o: SetObj): SetObj {
  o.e = e;
  o.enc = s.encoding(e);
  o.ptr = s.objPtr(e);
  return o;
}

/** Write o's pointer and encoding back into its key entry. */
function save(s: Store, o: SetObj): void {
  s.setObjPtr(o.e, o.ptr);
  s.setEncoding(o.e, o.enc);
}

/** Reply with intset value i. */
function replyInt(c: Client, p: number, i: number): void {
  c.w.bulkRange(numBuf, 0, intsetFormat(c.store.heap, p, i, numBuf, 0));
}

/** Reply with the member of dict entry e. */
function replyEntry(c: Client, e: number): void {
  const heap = c.store.heap;
  const off = dictKeyOff(DICT_SET, e);
  c.w.bulkRange(heap.u8, off, off + dictKeyLen(heap, e));
}

/** Reply with every member (after the aggregate header was written). */
function replyAll(c: Client, o: SetObj): void {
  const heap = c.store.heap;
  if (o.enc === E_INTSET) {
    const n = intsetLen(heap, o.ptr);
    for (let i = 0; i < n; i++) replyInt(c, o.ptr, i);
  } else {
    iter.init(heap, o.ptr);
    for (let e = iter.next(); e !== 0; e = iter.next()) replyEntry(c, e);
  }
}

/** Reply with one random member. */
function replyRandom(c: Client, o: SetObj): void {
  const heap = c.store.heap;
  if (o.enc === E_INTSET) replyInt(c, o.ptr, intsetRandomIndex(heap, o.ptr));
  else replyEntry(c, dictRandom(heap, o.ptr));
}

/** The set at key for a read, or null (missing: caller replies) / undefined (WRONGTYPE sent). */
function lookupRead(c: Client, key: Uint8Array, o: SetObj): SetObj | null | undefined {
  const s = c.store;
  const e = s.findRead(c.db, key);
  if (e === 0) return null;
  if (s.type(e) !== T_SET) {
    c.w.error(E_WRONGTYPE);
    return undefined;
  }
  return load(s, e, o);
}

function lookupWrite(c: Client, key: Uint8Array, o: SetObj): SetObj | null | undefined {
  const s = c.store;
  const e = s.find(c.db, key);
  if (e === 0) return null;
  if (s.type(e) !== T_SET) {
    c.w.error(E_WRONGTYPE);
    return undefined;
  }
  return load(s, e, o);
}

/** Mark key modified with n changes (WATCH, dirty, listeners). */
function modified(s: Store, db: number, key: Uint8Array, n: number): void {
  s.modified(db, key, n);
}

function emptySet(c: Client): void {
  c.w.set(0);
}

const o1 = new SetObj();
const o2 = new SetObj();

// ---- commands -------------------------------------------------------------------------

function sadd(c: Client, argv: Buffer[]): void {
  const s = c.store;
  const heap = s.heap;
  const key = argv[1];
  const o = lookupWrite(c, key, o1);
  if (o === undefined) return;
  const max = maxIntset(c);
  let added = 0;
  if (o === null) {
    const n = createFor(heap, argv[2], o1);
    for (let j = 2; j < argv.length; j++) added += setAdd(heap, n, argv[j], max);
    s.createObject(c.db, key, T_SET, n.enc, n.ptr);
    if (added > 1) s.modified(c.db, key, added - 1);
  } else {
    try {
      for (let j = 2; j < argv.length; j++) added += setAdd(heap, o, argv[j], max);
    } finally {
      save(s, o); // even after an out-of-memory error: the set may have moved
    }
    if (added > 0) modified(s, c.db, key, added);
  }
  if (added > 0) notifyKeyspaceEvent(c, NOTIFY_SET, 'sadd', key, c.db);
  c.w.int(added);
}

function srem(c: Client, argv: Buffer[]): void {
  const s = c.store;
  const heap = s.heap;
  const key = argv[1];
  const o = lookupWrite(c, key, o1);
  if (o === undefined) return;
  if (o === null) return c.w.int(0);
  let deleted = 0;
  let gone = false;
  try {
    for (let j = 2; j < argv.length; j++) {
      if (setRemove(heap, o, argv[j])) {
        deleted++;
        if (setSize(heap, o) === 0) {
          gone = true;
          break;
        }
      }
    }
  } finally {
    save(s, o);
  }
  if (gone) s.delete(c.db, key);
  if (deleted > 0) {
    modified(s, c.db, key, deleted);
    notifyKeyspaceEvent(c, NOTIFY_SET, 'srem', key, c.db);
    if (gone) notifyKeyspaceEvent(c, NOTIFY_GENERIC, 'del', key, c.db);
  }
  c.w.int(deleted);
}

function smove(c: Client, argv: Buffer[]): void {
  const s = c.store;
  const heap = s.heap;
  const srcKey = argv[1];
  const dstKey = argv[2];
  const ele = argv[3];
  const se = s.find(c.db, srcKey);
  const de = s.find(c.db, dstKey);
  if (se === 0) return c.w.int(0);
  if (s.type(se) !== T_SET || (de !== 0 && s.type(de) !== T_SET)) return c.w.error(E_WRONGTYPE);
  const src = load(s, se, o1);
  if (se === de) return c.w.int(setIsMember(heap, src, ele) ? 1 : 0);
  if (!setRemove(heap, src, ele)) {
    save(s, src);
    return c.w.int(0);
  }
  save(s, src);
  notifyKeyspaceEvent(c, NOTIFY_SET, 'srem', srcKey, c.db);
  if (setSize(heap, src) === 0) {
    s.delete(c.db, srcKey);
    notifyKeyspaceEvent(c, NOTIFY_GENERIC, 'del', srcKey, c.db);
  }
  const max = maxIntset(c);
  s.modified(c.db, srcKey);
  if (de === 0) {
    const dst = createFor(heap, ele, o2);
    setAdd(heap, dst, ele, max);
    s.createObject(c.db, dstKey, T_SET, dst.enc, dst.ptr);
    s.modified(c.db, dstKey);
    notifyKeyspaceEvent(c, NOTIFY_SET, 'sadd', dstKey, c.db);
  } else {
    const dst = load(s, de, o2);
    let added = 0;
    try {
      added = setAdd(heap, dst, ele, max);
    } finally {
      save(s, dst);
    }
    // As Redis: the destination counts as modified (WATCH, dirty) only when ele was new there.
    if (added !== 0) {
      s.modified(c.db, dstKey);
      notifyKeyspaceEvent(c, NOTIFY_SET, 'sadd', dstKey, c.db);
    }
  }
  c.w.int(1);
}

function sismember(c: Client, argv: Buffer[]): void {
  const o = lookupRead(c, argv[1], o1);
  if (o === undefined) return;
  c.w.int(o !== null && setIsMember(c.store.heap, o, argv[2]) ? 1 : 0);
}

function smismember(c: Client, argv: Buffer[]): void {
  const o = lookupRead(c, argv[1], o1);
  if (o === undefined) return;
  c.w.array(argv.length - 2);
  for (let j = 2; j < argv.length; j++) c.w.int(o !== null && setIsMember(c.store.heap, o, argv[j]) ? 1 : 0);
}

function scard(c: Client, argv: Buffer[]): void {
  const o = lookupRead(c, argv[1], o1);
  if (o === undefined) return;
  c.w.int(o === null ? 0 : setSize(c.store.heap, o));
}

/** Parse a count like getLongFromObject: a number, or null after replying with an error. */
function parseLong(c: Client, b: Uint8Array, msg: string = E_NOT_INT): number | null {
  const v = parseI64(b);
  if (v === null) {
    c.w.error(msg);
    return null;
  }
  return typeof v === 'bigint' ? Number(v) : v;
}

function spop(c: Client, argv: Buffer[]): void {
  if (argv.length > 3) return c.w.error(E_SYNTAX);
  const s = c.store;
  const heap = s.heap;
  const key = argv[1];
  if (argv.length === 3) {
    const v = parseI64(argv[2]);
    if (v === null || v < 0) return c.w.error('ERR value is out of range, must be positive');
    const count = Number(v);
    const o = lookupWrite(c, key, o1);
    if (o === undefined) return;
    if (o === null || count === 0) return emptySet(c);
    const size = setSize(heap, o);
    notifyKeyspaceEvent(c, NOTIFY_SET, 'spop', key, c.db);
    if (count >= size) {
      c.w.set(size);
      replyAll(c, o);
      s.delete(c.db, key);
      notifyKeyspaceEvent(c, NOTIFY_GENERIC, 'del', key, c.db);
      if (size > 1) s.modified(c.db, key, size - 1);
      // The whole set went: propagated as DEL.
      const p = c.srv.prop;
      if (p.on()) p.propagateAs([P_DEL, key]);
      return;
    }
    c.w.set(count);
    // Propagated as one SREM per member popped (alsoPropagate), never as SPOP: random choices.
    const p = c.srv.prop;
    const popped = p.on() ? [] as Buffer[] : null;
    try {
      for (let k = 0; k < count; k++) popOne(c, o, popped);
    } finally {
      save(s, o);
    }
    modified(s, c.db, key, count);
    if (popped !== null) {
      for (const m of popped) p.alsoPropagate(c.db, [P_SREM, key, m]);
      p.preventPropagation();
    }
    return;
  }
  const o = lookupWrite(c, key, o1);
  if (o === undefined) return;
  if (o === null) return c.w.nil();
  // The member is removed and notified before the reply is written (a RESP3 client subscribed
  // to its own keys gets the event first, as in Redis).
  const ele = removeRandom(heap, o);
  save(s, o);
  notifyKeyspaceEvent(c, NOTIFY_SET, 'spop', key, c.db);
  c.w.bulk(ele);
  const p = c.srv.prop;
  if (p.on()) p.propagateAs([P_SREM, key, ele]);
  if (setSize(heap, o) === 0) {
    s.delete(c.db, key);
    notifyKeyspaceEvent(c, NOTIFY_GENERIC, 'del', key, c.db);
  } else s.modified(c.db, key);
}

/** Remove a random member; returns a copy of it. */
function removeRandom(heap: Heap, o: SetObj): Buffer {
  if (o.enc === E_INTSET) {
    const v = intsetGet(heap, o.ptr, intsetRandomIndex(heap, o.ptr));
    o.ptr = intsetRemove(heap, o.ptr, v);
    return Buffer.from(intBytes(v));
  }
  const e = dictRandom(heap, o.ptr);
  const m = Buffer.from(dictKey(heap, DICT_SET, e));
  dictDelete(heap, o.ptr, m);
  return m;
}

/** Remove a random member and reply with it (and push a copy on `popped` when given). */
function popOne(c: Client, o: SetObj, popped: Buffer[] | null): void {
  const heap = c.store.heap;
  if (o.enc === E_INTSET) {
    const i = intsetRandomIndex(heap, o.ptr);
    const v = intsetGet(heap, o.ptr, i);
    replyInt(c, o.ptr, i);
    if (popped !== null) popped.push(Buffer.from(intBytes(v)));
    o.ptr = intsetRemove(heap, o.ptr, v);
  } else {
    const e = dictRandom(heap, o.ptr);
    replyEntry(c, e);
    if (popped !== null) popped.push(Buffer.from(dictKey(heap, DICT_SET, e)));
    dictDelete(heap, o.ptr, dictKey(heap, DICT_SET, e));
  }
}

const LONG_RANGE_ERR = 'ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807';

function srandmember(c: Client, argv: Buffer[]): void {
  if (argv.length > 3) return c.w.error(E_SYNTAX);
  const heap = c.store.heap;
  if (argv.length === 2) {
    const o = lookupRead(c, argv[1], o1);
    if (o === undefined) return;
    if (o === null) return c.w.nil();
    return replyRandom(c, o);
  }
  const v = parseI64(argv[2]);
  if (v === null) return c.w.error(E_NOT_INT);
  if (v === -9223372036854775808n) return c.w.error(LONG_RANGE_ERR);
  const o = lookupRead(c, argv[1], o1);
  if (o === undefined) return;
  if (o === null || v === 0) return c.w.array(0);
  const size = setSize(heap, o);
  if (v < 0 || v === 1) {
    const count = v < 0 ? -Number(v) : 1;
    c.w.array(count);
    // Stops once the client is over its output limit (it is being closed), as Redis does.
    for (let k = 0; k < count && !c.w.overLimit; k++) replyRandom(c, o);
    return;
  }
  const count = Number(v);
  if (count >= size) {
    c.w.array(size);
    return replyAll(c, o);
  }
  replySample(c, o, size, count);
}

/** Reply with `count` distinct random members (count < size). */
export function sampleRefs(heap: Heap, o: SetObj, size: number, count: number, out: number[]): void {
  out.length = 0;
  if (count * 3 > size) {
    // Most of the set: take all, then a partial Fisher-Yates shuffle.
    if (o.enc === E_INTSET) for (let i = 0; i < size; i++) out.push(i);
    else {
      iter.init(heap, o.ptr);
      for (let e = iter.next(); e !== 0; e = iter.next()) out.push(e);
    }
    for (let i = 0; i < count; i++) {
      const j = i + Math.floor(Math.random() * (size - i));
      const t = out[i];
      out[i] = out[j];
      out[j] = t;
    }
    out.length = count;
    return;
  }
  const seen = new Set<number>();
  while (seen.size < count) {
    const r = o.enc === E_INTSET ? intsetRandomIndex(heap, o.ptr) : dictRandom(heap, o.ptr);
    if (!seen.has(r)) {
      seen.add(r);
      out.push(r);
    }
  }
}

function replySample(c: Client, o: SetObj, size: number, count: number): void {
  sampleRefs(c.store.heap, o, size, count, scratch);
  c.w.array(count);
  for (let i = 0; i < count; i++) {
    if (o.enc === E_INTSET) replyInt(c, o.ptr, scratch[i]);
    else replyEntry(c, scratch[i]);
  }
}

// ---- intersection, union, difference --------------------------------------------------

/** Load the sets at keys for SINTER & co; false after replying WRONGTYPE. Missing: null. */
function loadSets(c: Client, argv: Buffer[], from: number, to: number, out: (SetObj | null)[]): boolean {
  const s = c.store;
  out.length = 0;
  for (let j = from; j < to; j++) {
    const e = s.findRead(c.db, argv[j]);
    if (e === 0) {
      out.push(null);
      continue;
    }
    if (s.type(e) !== T_SET) {
      c.w.error(E_WRONGTYPE);
      return false;
    }
    out.push(load(s, e, new SetObj()));
  }
  return true;
}

/** Does set o hold the member of entry ref (from set `from`)? */
function holdsMemberOf(heap: Heap, o: SetObj, from: SetObj, ref: number, h: number): boolean {
  if (from.enc === E_INTSET) {
    const v = intsetGet(heap, from.ptr, ref);
    if (o.enc === E_INTSET) return intsetFind(heap, o.ptr, v);
    return dictFind(heap, o.ptr, intBytes(v)) !== 0;
  }
  const m = dictKey(heap, DICT_SET, ref);
  if (o.enc === E_INTSET) {
    const v = parseI64(m);
    return v !== null && intsetFind(heap, o.ptr, v);
  }
  return dictFindHashed(heap, o.ptr, m, h) !== 0;
}

/** Add member ref of set `from` to dst. */
function addMemberOf(heap: Heap, dst: SetObj, from: SetObj, ref: number, max: number): number {
  if (from.enc === E_INTSET) return setAddInt(heap, dst, intsetGet(heap, from.ptr, ref), max);
  return setAdd(heap, dst, dictKey(heap, DICT_SET, ref), max);
}

function removeMemberOf(heap: Heap, dst: SetObj, from: SetObj, ref: number): boolean {
  if (from.enc === E_INTSET) {
    const v = intsetGet(heap, from.ptr, ref);
    if (dst.enc === E_INTSET) {
      dst.ptr = intsetRemove(heap, dst.ptr, v);
      return intsetChanged;
    }
    return dictDelete(heap, dst.ptr, intBytes(v));
  }
  return setRemove(heap, dst, dictKey(heap, DICT_SET, ref));
}

/** Members of o as refs (intset indexes or dict entries), in iteration order. */
function refsOf(heap: Heap, o: SetObj, out: number[]): void {
  out.length = 0;
  if (o.enc === E_INTSET) {
    const n = intsetLen(heap, o.ptr);
    for (let i = 0; i < n; i++) out.push(i);
  } else {
    iter.init(heap, o.ptr);
    for (let e = iter.next(); e !== 0; e = iter.next()) out.push(e);
  }
}

const setsScratch: (SetObj | null)[] = [];

/** SINTER / SMEMBERS / SINTERSTORE / SINTERCARD. */
function sinterGeneric(c: Client, argv: Buffer[], from: number, to: number, dstKey: Buffer | null, cardOnly: boolean, limit: number): void {
  const s = c.store;
  const heap = s.heap;
  const sets = setsScratch;
  if (!loadSets(c, argv, from, to, sets)) return;
  if (sets.includes(null)) {
    if (dstKey !== null) {
      if (s.delete(c.db, dstKey)) notifyKeyspaceEvent(c, NOTIFY_GENERIC, 'del', dstKey, c.db);
      c.w.int(0);
    } else if (cardOnly) c.w.int(0);
    else emptySet(c);
    return;
  }
  const list = sets as SetObj[];
  const sizes = list.map((o) => setSize(heap, o));
  const order = list.map((_, i) => i).sort((a, b) => sizes[a] - sizes[b]);
  const sorted = order.map((i) => list[i]);
  const first = sorted[0];
  const refs: number[] = [];
  refsOf(heap, first, refs);
  const max = dstKey !== null ? maxIntset(c) : 0;
  const dst = dstKey !== null ? newIntsetObj(heap) : null;
  let card = 0;
  const out = scratch;
  out.length = 0;
  for (const ref of refs) {
    const h = first.enc === E_HASHTABLE ? dictHashOfEntry(heap, ref) : 0;
    let j = 1;
    for (; j < sorted.length; j++) {
      const o = sorted[j];
      if (o.ptr === first.ptr) continue;
      if (!holdsMemberOf(heap, o, first, ref, h)) break;
    }
    if (j !== sorted.length) continue;
    card++;
    if (cardOnly) {
      if (limit > 0 && card >= limit) break;
    } else if (dst !== null) addMemberOf(heap, dst, first, ref, max);
    else out.push(ref);
  }
  if (cardOnly) return c.w.int(card);
  if (dst !== null) {
    const n = setSize(heap, dst);
    if (n > 0) {
      s.replaceWithObject(c.db, dstKey as Buffer, T_SET, dst.enc, dst.ptr);
      c.w.int(n);
      notifyKeyspaceEvent(c, NOTIFY_SET, 'sinterstore', dstKey as Buffer, c.db);
      return;
    }
    freeObj(heap, dst);
    c.w.int(0);
    if (s.delete(c.db, dstKey as Buffer)) notifyKeyspaceEvent(c, NOTIFY_GENERIC, 'del', dstKey as Buffer, c.db);
    return;
  }
  c.w.set(out.length);
  for (const ref of out) {
    if (first.enc === E_INTSET) replyInt(c, first.ptr, ref);
    else replyEntry(c, ref);
  }
}

function dictHashOfEntry(heap: Heap, e: number): number {
  return heap.u32[e / 4 + 1];
}

const OP_UNION = 0;
const OP_DIFF = 1;

function sunionDiffGeneric(c: Client, argv: Buffer[], from: number, to: number, dstKey: Buffer | null, op: number): void {
  const s = c.store;
  const heap = s.heap;
  const sets = setsScratch;
  if (!loadSets(c, argv, from, to, sets)) return;
  let sameset = false;
  for (let j = 1; j < sets.length; j++) if (sets[j] !== null && sets[0] !== null && sets[j]!.ptr === sets[0]!.ptr) sameset = true;
  const max = maxIntset(c);
  const dst = newIntsetObj(heap);
  const refs: number[] = [];
  if (op === OP_UNION) {
    for (const o of sets) {
      if (o === null) continue;
      refsOf(heap, o, refs);
      for (const ref of refs) addMemberOf(heap, dst, o, ref, max);
    }
  } else if (sets[0] !== null && !sameset) {
    const first = sets[0];
    let one = 0, two = 0;
    for (const o of sets) {
      if (o === null) continue;
      one += setSize(heap, first);
      two += setSize(heap, o);
    }
    one = Math.floor(one / 2);
    if (one <= two) {
      // Algorithm 1: each member of the first set not in any other.
      const others = sets.slice(1).filter((o): o is SetObj => o !== null);
      others.sort((a, b) => setSize(heap, b) - setSize(heap, a));
      refsOf(heap, first, refs);
      for (const ref of refs) {
        const h = first.enc === E_HASHTABLE ? dictHashOfEntry(heap, ref) : 0;
        let found = false;
        for (const o of others) {
          if (holdsMemberOf(heap, o, first, ref, h)) {
            found = true;
            break;
          }
        }
        if (!found) addMemberOf(heap, dst, first, ref, max);
      }
    } else {
      // Algorithm 2: add the first set, remove every other.
      let card = 0;
      for (let j = 0; j < sets.length; j++) {
        const o = sets[j];
        if (o === null) continue;
        refsOf(heap, o, refs);
        for (const ref of refs) {
          if (j === 0) card += addMemberOf(heap, dst, o, ref, max);
          else if (removeMemberOf(heap, dst, o, ref)) card--;
        }
        if (card === 0) break;
      }
    }
  }
  const n = setSize(heap, dst);
  if (dstKey === null) {
    c.w.set(n);
    replyAll(c, dst);
    freeObj(heap, dst);
    return;
  }
  if (n > 0) {
    s.replaceWithObject(c.db, dstKey, T_SET, dst.enc, dst.ptr);
    c.w.int(n);
    notifyKeyspaceEvent(c, NOTIFY_SET, op === OP_UNION ? 'sunionstore' : 'sdiffstore', dstKey, c.db);
    return;
  }
  freeObj(heap, dst);
  c.w.int(0);
  if (s.delete(c.db, dstKey)) notifyKeyspaceEvent(c, NOTIFY_GENERIC, 'del', dstKey, c.db);
}

function sinter(c: Client, argv: Buffer[]): void {
  sinterGeneric(c, argv, 1, argv.length, null, false, 0);
}

function sinterstore(c: Client, argv: Buffer[]): void {
  sinterGeneric(c, argv, 2, argv.length, argv[1], false, 0);
}

function sintercard(c: Client, argv: Buffer[]): void {
  const nk = parseI64(argv[1]);
  if (nk === null || nk < 1) return c.w.error('ERR numkeys should be greater than 0');
  if (nk > argv.length - 2) return c.w.error("ERR Number of keys can't be greater than number of args");
  const numkeys = Number(nk);
  let limit = 0;
  for (let j = 2 + numkeys; j < argv.length; j++) {
    const more = argv.length - 1 - j;
    if (is(argv[j], 'limit') && more > 0) {
      j++;
      const l = parseI64(argv[j]);
      if (l === null || l < 0) return c.w.error("ERR LIMIT can't be negative");
      limit = Number(l);
    } else return c.w.error(E_SYNTAX);
  }
  sinterGeneric(c, argv, 2, 2 + numkeys, null, true, limit);
}

function sintercardKeys(argv: Buffer[]): number[] {
  const nk = parseI64(argv[1]);
  const out: number[] = [];
  if (nk === null || nk < 1 || nk > argv.length - 2) return out;
  for (let i = 0; i < Number(nk); i++) out.push(2 + i);
  return out;
}

function sunion(c: Client, argv: Buffer[]): void {
  sunionDiffGeneric(c, argv, 1, argv.length, null, OP_UNION);
}

function sunionstore(c: Client, argv: Buffer[]): void {
  sunionDiffGeneric(c, argv, 2, argv.length, argv[1], OP_UNION);
}

function sdiff(c: Client, argv: Buffer[]): void {
  sunionDiffGeneric(c, argv, 1, argv.length, null, OP_DIFF);
}

function sdiffstore(c: Client, argv: Buffer[]): void {
  sunionDiffGeneric(c, argv, 2, argv.length, argv[1], OP_DIFF);
}

// ---- SSCAN / HSCAN --------------------------------------------------------------------

/** strtoul-style cursor: returns the cursor's low 32 bits, or -1 (error replied). */
export function parseScanCursor(c: Client, b: Uint8Array): number {
  const n = b.length;
  let i = 0;
  let neg = false;
  if (n > 0 && (b[0] === 0x2b || b[0] === 0x2d)) {
    neg = b[0] === 0x2d;
    i = 1;
  }
  let ok = n === 0 || i < n;
  let v = 0n;
  for (let k = i; k < n && ok; k++) {
    const d = b[k] - 0x30;
    if (d < 0 || d > 9) ok = false;
    else v = v * 10n + BigInt(d);
  }
  if (!ok || v > 0xffffffffffffffffn) {
    c.w.error('ERR invalid cursor');
    return -1;
  }
  if (neg) v = (0x10000000000000000n - v) & 0xffffffffffffffffn;
  return Number(v & 0xffffffffn);
}

export interface ScanOpts {
  count: number;
  pattern: Uint8Array | null;
}

/** Parse COUNT / MATCH from argv[from..]; null after replying with an error. */
export function parseScanOpts(c: Client, argv: Buffer[], from: number): ScanOpts | null {
  const o: ScanOpts = { count: 10, pattern: null };
  for (let i = from; i < argv.length; ) {
    const left = argv.length - i;
    if (is(argv[i], 'count') && left >= 2) {
      const v = parseLong(c, argv[i + 1]);
      if (v === null) return null;
      if (v < 1) {
        c.w.error(E_SYNTAX);
        return null;
      }
      o.count = v;
      i += 2;
    } else if (is(argv[i], 'match') && left >= 2) {
      const p = argv[i + 1];
      o.pattern = p.length === 1 && p[0] === 0x2a ? null : p;
      i += 2;
    } else {
      c.w.error(E_SYNTAX);
      return null;
    }
  }
  return o;
}

export function scanMatches(pattern: Uint8Array | null, s: Uint8Array): boolean {
  return pattern === null || globMatch(pattern, s, false);
}

/** Scan a dict, collecting entries; returns the next cursor. */
export function scanDict(heap: Heap, d: number, cursor: number, count: number, out: number[]): number {
  out.length = 0;
  let maxIter = count * 10;
  do {
    cursor = dictScan(heap, d, cursor, out);
  } while (cursor !== 0 && maxIter-- > 0 && out.length < count);
  return cursor;
}

export function replyCursor(c: Client, cursor: number): void {
  c.w.array(2);
  const b = intBytes(cursor);
  c.w.bulkRange(b, 0, b.length);
}

function sscan(c: Client, argv: Buffer[]): void {
  const cursor = parseScanCursor(c, argv[2]);
  if (cursor < 0) return;
  const o = lookupRead(c, argv[1], o1);
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
  if (o.enc === E_INTSET) {
    const n = intsetLen(heap, o.ptr);
    const keep: number[] = scratch;
    keep.length = 0;
    for (let i = 0; i < n; i++) {
      if (pat === null || globMatch(pat, numView(intsetFormat(heap, o.ptr, i, numBuf, 0)), false)) keep.push(i);
    }
    c.w.array(2);
    c.w.bulkStr('0');
    c.w.array(keep.length);
    for (const i of keep) replyInt(c, o.ptr, i);
    return;
  }
  const next = scanDict(heap, o.ptr, cursor, opts.count, scratch);
  let m = 0;
  for (let i = 0; i < scratch.length; i++) {
    const e = scratch[i];
    if (pat === null || globMatch(pat, dictKey(heap, DICT_SET, e), false)) scratch[m++] = e;
  }
  scratch.length = m;
  replyCursor(c, next);
  c.w.array(m);
  for (let i = 0; i < m; i++) replyEntry(c, scratch[i]);
}

function smembers(c: Client, argv: Buffer[]): void {
  const o = lookupRead(c, argv[1], o1);
  if (o === undefined) return;
  if (o === null) return emptySet(c);
  c.w.set(setSize(c.store.heap, o));
  replyAll(c, o);
}

const R = { acl: ['read', 'set', 'slow'] };
const RF = { acl: ['read', 'set', 'fast'] };
const WF = { acl: ['write', 'set', 'fast'] };
const WS = { acl: ['write', 'set', 'slow'] };

export const commands: CommandSpec[] = [
  def('sadd', -3, 'write denyoom fast', [1, 1, 1], 'set', 'Add one or more members to a set', sadd, WF),
  def('srem', -3, 'write fast', [1, 1, 1], 'set', 'Remove one or more members from a set', srem, WF),
  def('sismember', 3, 'readonly fast', [1, 1, 1], 'set', 'Determine if a given value is a member of a set', sismember, RF),
  def('smismember', -3, 'readonly fast', [1, 1, 1], 'set', 'Returns the membership associated with the given elements for a set', smismember, { ...RF, since: '6.2.0' }),
  def('scard', 2, 'readonly fast', [1, 1, 1], 'set', 'Get the number of members in a set', scard, RF),
  def('smembers', 2, 'readonly', [1, 1, 1], 'set', 'Get all the members in a set', smembers, R),
  def('srandmember', -2, 'readonly', [1, 1, 1], 'set', 'Get one or multiple random members from a set', srandmember, R),
  def('spop', -2, 'write fast', [1, 1, 1], 'set', 'Remove and return one or multiple random members from a set', spop, WF),
  def('smove', 4, 'write fast', [1, 2, 1], 'set', 'Move a member from one set to another', smove, WF),
  def('sinter', -2, 'readonly', [1, -1, 1], 'set', 'Intersect multiple sets', sinter, R),
  def('sintercard', -3, 'readonly movablekeys', [0, 0, 0], 'set', 'Intersect multiple sets and return the cardinality of the result', sintercard, { ...R, since: '7.0.0', keys: sintercardKeys }),
  def('sinterstore', -3, 'write denyoom', [1, -1, 1], 'set', 'Intersect multiple sets and store the resulting set in a key', sinterstore, WS),
  def('sunion', -2, 'readonly', [1, -1, 1], 'set', 'Add multiple sets', sunion, R),
  def('sunionstore', -3, 'write denyoom', [1, -1, 1], 'set', 'Add multiple sets and store the resulting set in a key', sunionstore, WS),
  def('sdiff', -2, 'readonly', [1, -1, 1], 'set', 'Subtract multiple sets', sdiff, R),
  def('sdiffstore', -3, 'write denyoom', [1, -1, 1], 'set', 'Subtract multiple sets and store the resulting set in a key', sdiffstore, WS),
  def('sscan', -3, 'readonly', [1, 1, 1], 'set', 'Incrementally iterate Set elements', sscan, { ...R, since: '2.8.0' }),
];

void parseLong;

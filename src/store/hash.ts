// The hash type in the store (hashType* in t_hash.c): a listpack of field, value pairs while small,
// else a hash table (src/store/dict.ts, DICT_HASH). Its operations; what the keyspace needs to
// free, copy and check a hash; a hash built from pairs (RDB loading) and its pairs in encoding
// order (DEBUG DIGEST): all without the commands.
import { T_HASH, E_LISTPACK, E_HASHTABLE, registerObjectType } from './keyspace';
import type { Heap } from './heap';
import { DICT_HASH, DictIter, dictCheck, dictCopy, dictCreate, dictDelete, dictFind, dictFree, dictKey, dictSet, dictSize, dictVal } from './dict';
import {
  LpVal, lpAppend, lpCheck, lpDeleteRangeAt, lpDup, lpFind, lpFirst, lpFree, lpGet, lpInsertPair, lpLength, lpNew, lpNext, lpReplace, lpValBytes,
} from './listpack';

registerObjectType(T_HASH, {
  free(heap: Heap, obj: number, enc: number): void {
    if (enc === E_LISTPACK) lpFree(heap, obj);
    else dictFree(heap, obj);
  },
  copy(heap: Heap, obj: number, enc: number): number {
    return enc === E_LISTPACK ? lpDup(heap, obj) : dictCopy(heap, obj);
  },
  freeEffort(heap: Heap, obj: number, enc: number): number {
    return enc === E_LISTPACK ? 1 : dictSize(heap, obj);
  },
  check(heap: Heap, obj: number, enc: number, problems: string[]): void {
    if (enc === E_LISTPACK) {
      const n = lpCheck(heap, obj, problems, 'hash listpack');
      if (n >= 0 && (n & 1) !== 0) problems.push(`hash listpack: odd element count ${n}`);
    } else if (enc === E_HASHTABLE) dictCheck(heap, obj, problems, 'hash dict');
    else problems.push(`hash: bad encoding ${enc}`);
  },
});

/**
 * A hash object from flat field/value pairs, encoded as Redis's RDB loader does: a listpack when
 * there are at most maxEntries pairs and no field or value is longer than maxValue, else a hash
 * table. Later duplicates of a field replace earlier ones. Returns its encoding and pointer.
 */
export function createHashFrom(heap: Heap, pairs: Uint8Array[], maxEntries: number, maxValue: number): { enc: number; ptr: number } {
  let small = pairs.length / 2 <= maxEntries;
  for (let i = 0; small && i < pairs.length; i++) if (pairs[i].length > maxValue) small = false;
  if (!small) {
    const d = dictCreate(heap, DICT_HASH, pairs.length >>> 1);
    for (let i = 0; i + 1 < pairs.length; i += 2) dictSet(heap, d, pairs[i], pairs[i + 1]);
    return { enc: E_HASHTABLE, ptr: d };
  }
  let lp = lpNew(heap);
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    const vp = lpFindValue(heap, lp, pairs[i]);
    if (vp !== 0) lp = lpReplace(heap, lp, vp, pairs[i + 1]);
    else {
      lp = lpAppend(heap, lp, pairs[i]);
      lp = lpAppend(heap, lp, pairs[i + 1]);
    }
  }
  return { enc: E_LISTPACK, ptr: lp };
}

/** Position of field's value in a listpack hash, or 0. */
export function lpFindValue(heap: Heap, lp: number, field: Uint8Array): number {
  const f = lpFind(heap, lp, lpFirst(heap, lp), field, 1);
  return f === 0 ? 0 : lpNext(heap, lp, f);
}

const lv = new LpVal();

/** Copies of every field and value of a hash object, flat: field, value, field, value... */
export function hashPairsOf(heap: Heap, enc: number, ptr: number): Buffer[] {
  const out: Buffer[] = [];
  if (enc === E_LISTPACK) {
    for (let p = lpFirst(heap, ptr); p !== 0; p = lpNext(heap, ptr, p)) out.push(Buffer.from(lpValBytes(heap, lpGet(heap, ptr, p, lv))));
    return out;
  }
  const it = new DictIter().init(heap, ptr);
  for (let e = it.next(); e !== 0; e = it.next()) out.push(Buffer.from(dictKey(heap, DICT_HASH, e)), Buffer.from(dictVal(heap, e)));
  return out;
}

/** A hash value while a command works on it: its encoding and heap pointer, and its key entry. */
export class HashObj {
  enc = E_LISTPACK;
  ptr = 0;
  e = 0;
}

const lv2 = new LpVal();
const fieldBuf = Buffer.alloc(24);
/** hashFind's result for a listpack hash: the value it found. */
export const hashFound = new LpVal();

export function hashLen(heap: Heap, o: HashObj): number {
  return o.enc === E_LISTPACK ? lpLength(heap, o.ptr) >>> 1 : dictSize(heap, o.ptr);
}

/** hashTypeConvert: listpack to hash table. */
export function hashConvert(heap: Heap, o: HashObj): void {
  const lp = o.ptr;
  const d = dictCreate(heap, DICT_HASH, lpLength(heap, lp) >>> 1);
  let p = lpFirst(heap, lp);
  while (p !== 0) {
    lpGet(heap, lp, p, lv);
    let f = lpValBytes(heap, lv);
    if (lv.isInt) {
      fieldBuf.set(f);
      f = fieldBuf.subarray(0, f.length);
    }
    const vp = lpNext(heap, lp, p);
    lpGet(heap, lp, vp, lv2);
    dictSet(heap, d, f, lpValBytes(heap, lv2));
    p = lpNext(heap, lp, vp);
  }
  lpFree(heap, lp);
  o.ptr = d;
  o.enc = E_HASHTABLE;
}

/** Set field to value; true when the field was created (hashTypeSet). */
export function hashTypeSet(heap: Heap, o: HashObj, field: Uint8Array, value: Uint8Array, maxEntries: number, maxValue: number): boolean {
  if (o.enc === E_LISTPACK && (field.length > maxValue || value.length > maxValue)) hashConvert(heap, o);
  if (o.enc === E_LISTPACK) {
    let lp = o.ptr;
    const vp = lpFindValue(heap, lp, field);
    let created = false;
    if (vp !== 0) lp = lpReplace(heap, lp, vp, value);
    else {
      lp = lpInsertPair(heap, lp, field, value, 0);
      created = true;
    }
    o.ptr = lp;
    // As Redis: checked after updates too (the limit may have been lowered since).
    if (lpLength(heap, lp) >>> 1 > maxEntries) hashConvert(heap, o);
    return created;
  }
  return dictSet(heap, o.ptr, field, value);
}

export function hashDelete(heap: Heap, o: HashObj, field: Uint8Array): boolean {
  if (o.enc === E_HASHTABLE) return dictDelete(heap, o.ptr, field);
  const lp = o.ptr;
  const f = lpFind(heap, lp, lpFirst(heap, lp), field, 1);
  if (f === 0) return false;
  o.ptr = lpDeleteRangeAt(heap, lp, f, 2);
  return true;
}

/**
 * Look field up: for a listpack, the value is read into hashFound and 1 returned; for a hash
 * table, the entry is returned. 0 when missing.
 */
export function hashFind(heap: Heap, o: HashObj, field: Uint8Array): number {
  if (o.enc === E_HASHTABLE) return dictFind(heap, o.ptr, field);
  const vp = lpFindValue(heap, o.ptr, field);
  if (vp === 0) return 0;
  lpGet(heap, o.ptr, vp, hashFound);
  return 1;
}

/** The value found by hashFind as bytes (a heap view, or digits in a scratch buffer). */
export function foundBytes(heap: Heap, o: HashObj, r: number): Uint8Array {
  return o.enc === E_HASHTABLE ? dictVal(heap, r) : lpValBytes(heap, hashFound);
}

/** A copy of field's value in a hash object, or null (SORT BY/GET key->field). */
export function hashFieldValue(heap: Heap, enc: number, ptr: number, field: Uint8Array): Buffer | null {
  const o = new HashObj();
  o.enc = enc;
  o.ptr = ptr;
  const r = hashFind(heap, o, field);
  return r === 0 ? null : Buffer.from(foundBytes(heap, o, r));
}

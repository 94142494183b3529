// The set type in the store (setType* in t_set.c): an intset while every member is an integer and
// there are few, else a hash table of members (src/store/dict.ts, DICT_SET). Its operations, the
// iteration RDB, DEBUG DIGEST and SORT use, and what the keyspace needs to free, copy and check a
// set without the commands.
import { T_SET, E_INTSET, E_HASHTABLE, registerObjectType } from './keyspace';
import type { Heap } from './heap';
import { DICT_SET, DictIter, dictAdd, dictCheck, dictCopy, dictCreate, dictDelete, dictFind, dictFree, dictKey, dictSize } from './dict';
import { intsetAdd, intsetChanged, intsetCheck, intsetCopy, intsetFind, intsetFormat, intsetFree, intsetLen, intsetNew, intsetRemove } from './intset';
import { parseI64 } from './int64';

registerObjectType(T_SET, {
  free(heap: Heap, obj: number, enc: number): void {
    if (enc === E_INTSET) intsetFree(heap, obj);
    else dictFree(heap, obj);
  },
  copy(heap: Heap, obj: number, enc: number): number {
    return enc === E_INTSET ? intsetCopy(heap, obj) : dictCopy(heap, obj);
  },
  freeEffort(heap: Heap, obj: number, enc: number): number {
    return enc === E_INTSET ? 1 : dictSize(heap, obj);
  },
  check(heap: Heap, obj: number, enc: number, problems: string[]): void {
    if (enc === E_INTSET) intsetCheck(heap, obj, problems, 'set intset');
    else if (enc === E_HASHTABLE) dictCheck(heap, obj, problems, 'set dict');
    else problems.push(`set: bad encoding ${enc}`);
  },
});

/** A set value while a command works on it: its encoding and heap pointer. */
export class SetObj {
  enc = E_INTSET;
  ptr = 0;
  /** The key entry it came from (0 for a temporary set). */
  e = 0;
}

/** Decimal digits of integers being converted. */
const numBuf = Buffer.alloc(24);
const numView = (n: number): Uint8Array => numBuf.subarray(0, n);


/** A new empty set that can hold `first` (setTypeCreate). */
export function createFor(heap: Heap, first: Uint8Array, o: SetObj): SetObj {
  o.e = 0;
  if (parseI64(first) !== null) {
    o.enc = E_INTSET;
    o.ptr = intsetNew(heap);
  } else {
    o.enc = E_HASHTABLE;
    o.ptr = dictCreate(heap, DICT_SET);
  }
  return o;
}

export function newIntsetObj(heap: Heap): SetObj {
  const o = new SetObj();
  o.enc = E_INTSET;
  o.ptr = intsetNew(heap);
  return o;
}

export function setSize(heap: Heap, o: SetObj): number {
  return o.enc === E_INTSET ? intsetLen(heap, o.ptr) : dictSize(heap, o.ptr);
}

export function convertToDict(heap: Heap, o: SetObj): void {
  const p = o.ptr;
  const n = intsetLen(heap, p);
  const d = dictCreate(heap, DICT_SET, n);
  for (let i = 0; i < n; i++) dictAdd(heap, d, numView(intsetFormat(heap, p, i, numBuf, 0)));
  intsetFree(heap, p);
  o.ptr = d;
  o.enc = E_HASHTABLE;
}

/** Add a member; 1 if added. */
export function setAdd(heap: Heap, o: SetObj, m: Uint8Array, max: number): number {
  if (o.enc === E_HASHTABLE) return dictAdd(heap, o.ptr, m) !== 0 ? 1 : 0;
  const v = parseI64(m);
  if (v !== null) {
    o.ptr = intsetAdd(heap, o.ptr, v);
    if (!intsetChanged) return 0;
    if (intsetLen(heap, o.ptr) > max) convertToDict(heap, o);
    return 1;
  }
  convertToDict(heap, o);
  dictAdd(heap, o.ptr, m);
  return 1;
}

/** Add an integer member (from an intset). */
export function setAddInt(heap: Heap, o: SetObj, v: number | bigint, max: number): number {
  if (o.enc === E_INTSET) {
    o.ptr = intsetAdd(heap, o.ptr, v);
    if (!intsetChanged) return 0;
    if (intsetLen(heap, o.ptr) > max) convertToDict(heap, o);
    return 1;
  }
  return dictAdd(heap, o.ptr, intBytes(v)) !== 0 ? 1 : 0;
}

export function intBytes(v: number | bigint): Uint8Array {
  if (typeof v === 'number' && Number.isSafeInteger(v)) {
    let n = 0;
    const neg = v < 0;
    let x = neg ? -v : v;
    const tmp = numBuf;
    let k = 23;
    do {
      const q = Math.floor(x / 10);
      tmp[k--] = 0x30 + (x - q * 10);
      x = q;
      n++;
    } while (x > 0);
    if (neg) {
      tmp[k--] = 0x2d;
      n++;
    }
    tmp.copyWithin(0, k + 1, 24);
    return numView(n);
  }
  const s = v.toString();
  numBuf.latin1Write(s, 0);
  return numView(s.length);
}

export function setRemove(heap: Heap, o: SetObj, m: Uint8Array): boolean {
  if (o.enc === E_HASHTABLE) return dictDelete(heap, o.ptr, m);
  const v = parseI64(m);
  if (v === null) return false;
  o.ptr = intsetRemove(heap, o.ptr, v);
  return intsetChanged;
}

export function setIsMember(heap: Heap, o: SetObj, m: Uint8Array): boolean {
  if (o.enc === E_HASHTABLE) return dictFind(heap, o.ptr, m) !== 0;
  const v = parseI64(m);
  return v !== null && intsetFind(heap, o.ptr, v);
}

export function freeObj(heap: Heap, o: SetObj): void {
  if (o.enc === E_INTSET) intsetFree(heap, o.ptr);
  else dictFree(heap, o.ptr);
}


/** Copies of every member of a set object (iteration order). */
export function setMembersOf(heap: Heap, enc: number, ptr: number): Buffer[] {
  const out: Buffer[] = [];
  if (enc === E_INTSET) {
    const n = intsetLen(heap, ptr);
    for (let i = 0; i < n; i++) out.push(Buffer.from(numView(intsetFormat(heap, ptr, i, numBuf, 0))));
    return out;
  }
  const it = new DictIter().init(heap, ptr);
  for (let e = it.next(); e !== 0; e = it.next()) out.push(Buffer.from(dictKey(heap, DICT_SET, e)));
  return out;
}

/**
 * A set object holding these members, encoded as Redis would after adding them one by one to a
 * set created for the first (RDB loading, restore). Returns its encoding and pointer.
 */
export function createSetFrom(heap: Heap, members: Uint8Array[], maxIntsetEntries: number): { enc: number; ptr: number } {
  const o = new SetObj();
  if (members.length === 0) {
    o.enc = E_INTSET;
    o.ptr = intsetNew(heap);
    return { enc: o.enc, ptr: o.ptr };
  }
  createFor(heap, members[0], o);
  if (o.enc === E_INTSET && members.length > maxIntsetEntries) {
    intsetFree(heap, o.ptr);
    o.enc = E_HASHTABLE;
    o.ptr = dictCreate(heap, DICT_SET, members.length);
  }
  for (const m of members) setAdd(heap, o, m, maxIntsetEntries > 1 << 30 ? 1 << 30 : maxIntsetEntries);
  return { enc: o.enc, ptr: o.ptr };
}

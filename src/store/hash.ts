// The hash type in the store: a listpack of field, value pairs while small, else a hash table
// (src/store/dict.ts, DICT_HASH). Registers what the keyspace needs to free, copy and check a
// hash, builds one from pairs (RDB loading) and lists its pairs in encoding order (DEBUG DIGEST),
// without the commands.
import { T_HASH, E_LISTPACK, E_HASHTABLE, registerObjectType } from './keyspace';
import type { Heap } from './heap';
import { DICT_HASH, DictIter, dictCheck, dictCopy, dictCreate, dictFree, dictKey, dictSet, dictVal } from './dict';
import { LpVal, lpAppend, lpCheck, lpDup, lpFind, lpFirst, lpFree, lpGet, lpNew, lpNext, lpReplace, lpValBytes } from './listpack';

registerObjectType(T_HASH, {
  free(heap: Heap, obj: number, enc: number): void {
    if (enc === E_LISTPACK) lpFree(heap, obj);
    else dictFree(heap, obj);
  },
  copy(heap: Heap, obj: number, enc: number): number {
    return enc === E_LISTPACK ? lpDup(heap, obj) : dictCopy(heap, obj);
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

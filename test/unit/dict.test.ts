// The member dict's incremental rehash (src/store/dict.ts): a read (dictRandom, as Redis's
// dictGetRandomKey) moves a rehash on, so a set that shrank and is then only read finishes it and
// frees its old table; never while a snapshot writes the dict (pin word set).
import { describe, expect, it } from 'vitest';
import { Heap } from '../../src/store/heap';
import {
  DICT_SET, dictAdd, dictCheck, dictCreate, dictDelete, dictIsRehashing, dictKey, dictPolicyWord, dictRandom, dictSetPinWord, dictSize,
} from '../../src/store/dict';

/** A dict of 20000 members deleted from the front until a shrink starts; returns it and the first member left. */
function shrunk(heap: Heap): { d: number; from: number } {
  const d = dictCreate(heap, DICT_SET);
  const key = (i: number): Buffer => Buffer.from(`m:${i}`);
  for (let i = 0; i < 20000; i++) dictAdd(heap, d, key(i));
  // Finish the growth rehash with writes, then delete until a shrink starts.
  for (let i = 0; dictIsRehashing(heap, d); i++) {
    dictDelete(heap, d, key(i));
    dictAdd(heap, d, key(i));
  }
  let i = 0;
  while (!dictIsRehashing(heap, d)) dictDelete(heap, d, key(i++));
  return { d, from: i };
}

describe('dict rehash on reads', () => {
  it('dictRandom finishes a shrink rehash; every draw is a member; the structure checks', () => {
    const heap = new Heap(Heap.create(256 << 20), 1);
    const { d, from } = shrunk(heap);
    const members = new Set<string>();
    for (let i = from; i < 20000; i++) members.add(`m:${i}`);
    let draws = 0;
    while (dictIsRehashing(heap, d) && draws < 100000) {
      expect(members.has(Buffer.from(dictKey(heap, DICT_SET, dictRandom(heap, d))).toString())).toBe(true);
      draws++;
    }
    expect(dictIsRehashing(heap, d)).toBe(false);
    const problems: string[] = [];
    dictCheck(heap, d, problems);
    expect(problems).toEqual([]);
    expect(dictSize(heap, d)).toBe(members.size);
  });

  it('a pinned dict (a snapshot writing it) is not rehashed by reads', () => {
    const heap = new Heap(Heap.create(256 << 20), 1);
    const { d } = shrunk(heap);
    dictSetPinWord(heap, d, 1);
    for (let i = 0; i < 5000; i++) dictRandom(heap, d);
    expect(dictIsRehashing(heap, d)).toBe(true);
    dictSetPinWord(heap, d, 0);
  });

  it('while a save runs (Redis\'s DICT_RESIZE_AVOID): no shrink, growth only past 5 per bucket, a rehash only between tables 5 times apart', () => {
    const heap = new Heap(Heap.create(256 << 20), 1);
    const word = heap.calloc(8) / 4;
    dictPolicyWord(word);
    try {
      const key = (i: number): Buffer => Buffer.from(`m:${i}`);
      const buckets = (d: number): number => heap.u32[d / 4 + 1] + 1;
      // Growth: a 4-bucket dict fills to 6 per bucket before it grows.
      const g = dictCreate(heap, DICT_SET);
      heap.i32[word] = 1;
      let i = 0;
      while (!dictIsRehashing(heap, g) && i < 1000) dictAdd(heap, g, key(i++));
      expect(i).toBe(6 * 4 + 1);
      // That rehash is to a table 8 times bigger: it moves on even now.
      const from = buckets(g);
      while (dictIsRehashing(heap, g)) dictRandom(heap, g);
      expect(buckets(g)).toBeGreaterThanOrEqual(from * 5);
      // No shrink while the save runs, one at the first delete after it.
      heap.i32[word] = 0;
      const d = dictCreate(heap, DICT_SET);
      for (let k = 0; k < 4096; k++) dictAdd(heap, d, key(k));
      while (dictIsRehashing(heap, d)) dictRandom(heap, d);
      heap.i32[word] = 1;
      let k = 0;
      while (dictSize(heap, d) > 10) dictDelete(heap, d, key(k++));
      expect(dictIsRehashing(heap, d)).toBe(false);
      expect(buckets(d)).toBe(4096);
      heap.i32[word] = 0;
      dictDelete(heap, d, key(k++));
      expect(dictIsRehashing(heap, d)).toBe(true);
      // A rehash between tables close in size (2x) waits for the end of the save.
      const c = dictCreate(heap, DICT_SET);
      let n = 0;
      while (buckets(c) < 64) dictAdd(heap, c, key(n++));
      while (dictIsRehashing(heap, c)) dictRandom(heap, c);
      while (!dictIsRehashing(heap, c)) dictAdd(heap, c, key(n++));
      heap.i32[word] = 1;
      for (let r = 0; r < 1000; r++) dictRandom(heap, c);
      expect(dictIsRehashing(heap, c)).toBe(true);
      heap.i32[word] = 0;
      while (dictIsRehashing(heap, c)) dictRandom(heap, c);
      for (const x of [g, d, c]) {
        const problems: string[] = [];
        dictCheck(heap, x, problems);
        expect(problems).toEqual([]);
      }
    } finally {
      dictPolicyWord(-1);
    }
  });
});

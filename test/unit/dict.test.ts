// The member dict's incremental rehash (src/store/dict.ts): a read (dictRandom, as Redis's
// dictGetRandomKey) moves a rehash on, so a set that shrank and is then only read finishes it and
// frees its old table; never while a snapshot writes the dict (pin word set).
import { describe, expect, it } from 'vitest';
import { Heap } from '../../src/store/heap';
import {
  DICT_SET, dictAdd, dictCheck, dictCreate, dictDelete, dictIsRehashing, dictKey, dictRandom, dictSetPinWord, dictSize,
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
});

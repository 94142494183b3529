// The set type in the store: an intset while every member is an integer and there are few, else
// a hash table of members (src/store/dict.ts, DICT_SET). Registers what the keyspace needs to
// free, copy and check a set without the commands.
import { T_SET, E_INTSET, E_HASHTABLE, registerObjectType } from './keyspace';
import type { Heap } from './heap';
import { dictCheck, dictCopy, dictFree } from './dict';
import { intsetCheck, intsetCopy, intsetFree } from './intset';

registerObjectType(T_SET, {
  free(heap: Heap, obj: number, enc: number): void {
    if (enc === E_INTSET) intsetFree(heap, obj);
    else dictFree(heap, obj);
  },
  copy(heap: Heap, obj: number, enc: number): number {
    return enc === E_INTSET ? intsetCopy(heap, obj) : dictCopy(heap, obj);
  },
  check(heap: Heap, obj: number, enc: number, problems: string[]): void {
    if (enc === E_INTSET) intsetCheck(heap, obj, problems, 'set intset');
    else if (enc === E_HASHTABLE) dictCheck(heap, obj, problems, 'set dict');
    else problems.push(`set: bad encoding ${enc}`);
  },
});

// The list type in the store: a quicklist of listpack nodes (src/store/quicklist.ts), as Redis
// 7.0. Registers what the keyspace needs to free, copy and check a list without the commands.
import { T_LIST, E_QUICKLIST, registerObjectType } from './keyspace';
import type { Heap } from './heap';
import { qlFree, qlDup, qlCheck, qlNodes } from './quicklist';

registerObjectType(T_LIST, {
  free(heap: Heap, obj: number): void {
    qlFree(heap, obj);
  },
  copy(heap: Heap, obj: number): number {
    return qlDup(heap, obj);
  },
  freeEffort(heap: Heap, obj: number): number {
    return qlNodes(heap, obj);
  },
  check(heap: Heap, obj: number, enc: number, problems: string[]): void {
    if (enc !== E_QUICKLIST) problems.push(`list: bad encoding ${enc}`);
    else qlCheck(heap, obj, problems);
  },
});

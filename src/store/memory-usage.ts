// MEMORY USAGE's size of a value (object.c objectComputeSize): the structure's own bytes in the
// heap, with big collections sampled (SAMPLES n, default 5, 0 = all) and the average per element
// (per node for lists) multiplied by their number, as Redis estimates.
import type { Store } from './keyspace';
import { E_HASHTABLE, E_INTSET, E_LISTPACK, E_QUICKLIST, E_SKIPLIST, E_STREAM, T_STRING } from './keyspace';
import { streamIndexBytes, streamNodeCount, streamNodeListpack } from './stream';
import { classOf, classSize } from './heap';
import { lpBytes } from './listpack';
import { intsetBlobLen } from './intset';
import { qlFirstNode, qlMemory, qlNextNode, qlNodeListpack, qlNodes } from './quicklist';
import { DictIter, dictBytes, dictSize } from './dict';

/** A block's real size: its allocator size class. */
const block = (bytes: number): number => classSize[classOf(bytes)];

function listBytes(s: Store, ql: number, samples: number): number {
  const heap = s.heap;
  const nodes = qlNodes(heap, ql);
  if (nodes <= samples) return qlMemory(heap, ql);
  let sum = 0;
  let n = qlFirstNode(heap, ql);
  for (let i = 0; i < samples && n !== 0; i++, n = qlNextNode(heap, n)) sum += 24 + block(lpBytes(heap, qlNodeListpack(heap, n)));
  return 24 + (sum / samples) * nodes;
}

function dictSampled(s: Store, d: number, samples: number): number {
  const heap = s.heap;
  const size = dictSize(heap, d);
  if (size <= samples) return dictBytes(heap, d);
  const u32 = heap.u32;
  const w = d / 4;
  const tables = 40 + (u32[w + 1] + 1) * 4 + (u32[w + 3] !== 0 ? (u32[w + 4] + 1) * 4 : 0);
  const it = new DictIter().init(heap, d);
  let sum = 0;
  let k = 0;
  for (let e = it.next(); e !== 0 && k < samples; e = it.next(), k++) sum += classSize[u32[e / 4 + 3]];
  return tables + (sum / k) * size;
}

/** Skiplist zset: object, bucket arrays, nodes (28 bytes + 8 per level + member). */
function skiplistBytes(s: Store, zs: number, samples: number): number {
  const heap = s.heap;
  const u32 = heap.u32;
  const w = zs / 4;
  const len = u32[w + 2];
  let b = 40 + block(28 + 8 * 32) + (u32[w + 5] + 1) * 4 + (u32[w + 6] !== 0 ? (u32[w + 7] + 1) * 4 : 0);
  // Node links are stored in 8-byte units. The header's level-0 forward: the first node.
  let n = u32[(u32[w] * 8 + 28) / 4] * 8;
  let sum = 0;
  let k = 0;
  const limit = Math.min(samples, len);
  for (; n !== 0 && k < limit; k++) {
    sum += block(28 + 8 * u32[n / 4 + 6] + u32[n / 4 + 5]);
    n = u32[n / 4 + 7] * 8;
  }
  if (k > 0) b += (sum / k) * len;
  return b;
}

/**
 * Stream (objectComputeSize): header and index, then the first `samples` nodes' blocks averaged
 * over all but the last node, plus the last node's real size.
 */
function streamBytes(s: Store, st: number, samples: number): number {
  const heap = s.heap;
  const n = streamNodeCount(heap, st);
  let b = streamIndexBytes(heap, st);
  if (n === 0) return b;
  const k = samples === 0 ? n : Math.min(samples, n);
  let sum = 0;
  for (let i = 0; i < k; i++) sum += block(lpBytes(heap, streamNodeListpack(heap, st, i)));
  if (k === n) return b + sum;
  b += (sum / k) * (n - 1);
  return b + block(lpBytes(heap, streamNodeListpack(heap, st, n - 1)));
}

/** Bytes of the key's entry (key, header, inline string) and of its value's structure. */
export function keyMemoryUsage(s: Store, e: number, samples: number): number {
  const entry = classSize[s.u8[e + 18]];
  if (s.type(e) === T_STRING) return entry;
  const obj = s.objPtr(e);
  const heap = s.heap;
  switch (s.encoding(e)) {
    case E_LISTPACK:
      return entry + block(lpBytes(heap, obj));
    case E_INTSET:
      return entry + block(intsetBlobLen(heap, obj));
    case E_QUICKLIST:
      return entry + listBytes(s, obj, samples);
    case E_HASHTABLE:
      return entry + dictSampled(s, obj, samples);
    case E_SKIPLIST:
      return entry + skiplistBytes(s, obj, samples);
    case E_STREAM:
      return entry + streamBytes(s, obj, samples);
    default:
      return entry;
  }
}

// Small helpers shared by test files.
import { show, type Reply } from './resp';

/** A small deterministic PRNG (mulberry32), so randomized tests reproduce from their seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The elements of an array (or RESP3 set) reply of bulk strings. */
export function strings(r: Reply): string[] {
  if ((r.t !== 'array' && r.t !== 'set') || r.v === null) throw new Error(`not an array: ${show(r)}`);
  return r.v.map((x) => {
    if (x.t !== 'bulk' || x.v === null) throw new Error(`not a bulk: ${show(x)}`);
    return x.v.toString('latin1');
  });
}

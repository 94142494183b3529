// The allocator on its own: size classes over a page heap. Two Heap objects over one
// SharedArrayBuffer stand for two threads (private caches, frees of each other's blocks); the
// structure checker must stay clean through random workloads, block contents must survive, and
// memory freed by one size must serve any other (the heap's carved range does not grow).
import { describe, it, expect } from 'vitest';
import { Heap, OutOfMemoryError, classOf, classSize, PAGE, LARGE_CLASS, releasesMemory } from '../../src/store/heap';
import { rng } from '../helpers/util';
import { constants as bufferConstants } from 'node:buffer';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { buildSync } from 'esbuild';

const MiB = 1024 * 1024;

function checkClean(h: Heap, accounting = true): Float64Array {
  const problems: string[] = [];
  const free = h.check(problems, accounting);
  expect(problems).toEqual([]);
  return free;
}

/** Fill a block with a pattern derived from its offset and a tag; verify it later. */
function stamp(h: Heap, off: number, size: number, tag: number): void {
  const n = Math.min(size, 64);
  for (let i = 0; i < n; i++) h.u8[off + i] = (off + i * 7 + tag) & 255;
  if (size > 64) h.u8[off + size - 1] = tag & 255;
}
function intact(h: Heap, off: number, size: number, tag: number): boolean {
  const n = Math.min(size, 64);
  for (let i = 0; i < n; i++) if (h.u8[off + i] !== ((off + i * 7 + tag) & 255)) return false;
  return size <= 64 || h.u8[off + size - 1] === (tag & 255);
}

describe('heap allocator', () => {
  it('keeps blocks apart and the checker clean through random allocs and cross-thread frees', () => {
    randomWorkload(Heap.create(64 * MiB), 0);
  });

  // Node 22 and later make typed arrays past 4 GiB: the heap's data then starts at 4 GiB (high
  // mode), so every address needs 33 bits. Nothing may wrap: the stored links (slab free lists,
  // descriptor words) are in 8-byte units.
  it.skipIf(bufferConstants.MAX_LENGTH < 2 ** 33)('works the same with every address past 4 GiB (high mode)', () => {
    const sab = Heap.create(64 * MiB, { high: true });
    expect(sab.byteLength).toBeGreaterThan(2 ** 32 + 64 * MiB);
    const h = new Heap(sab, 1);
    expect(h.capacity).toBe(64 * MiB);
    const a = h.alloc(40);
    const big = h.alloc(100000);
    expect(a).toBeGreaterThan(2 ** 32);
    expect(big).toBeGreaterThan(2 ** 32);
    h.free(a, 40);
    h.free(big, 100000);
    randomWorkload(sab, 2 ** 32);
  });
});

function randomWorkload(sab: SharedArrayBuffer, above: number): void {
  {
    const hs = [new Heap(sab, 1), new Heap(sab, 2)];
    const r = rng(14);
    const live: Array<{ off: number; size: number; tag: number }> = [];
    const pick = (): number => {
      const x = r();
      if (x < 0.6) return 1 + Math.floor(r() * 200);
      if (x < 0.9) return 200 + Math.floor(r() * 8000);
      if (x < 0.98) return 8000 + Math.floor(r() * 60000);
      return 60000 + Math.floor(r() * 600000);
    };
    for (let step = 0; step < 60000; step++) {
      const h = hs[step & 1];
      if (live.length === 0 || r() < 0.55) {
        const size = pick();
        const off = h.alloc(size);
        expect(off % 8).toBe(0);
        expect(off).toBeGreaterThan(above);
        stamp(h, off, size, step);
        live.push({ off, size, tag: step });
      } else {
        // Free a random live block, from either thread.
        const i = Math.floor(r() * live.length);
        const b = live[i];
        live[i] = live[live.length - 1];
        live.pop();
        expect(intact(h, b.off, b.size, b.tag)).toBe(true);
        hs[Math.floor(r() * 2)].free(b.off, b.size);
      }
      if (step % 5000 === 4999) {
        for (const x of hs) {
          const free = checkClean(x);
          for (const b of live.slice(0, 2000)) expect(Heap.overlapsFree(free, b.off, classSize[classOf(b.size)])).toBe(false);
        }
      }
    }
    for (const b of live) expect(intact(hs[0], b.off, b.size, b.tag)).toBe(true);
    // Live blocks never overlap each other.
    const sorted = live.map((b) => [b.off, classSize[classOf(b.size)]]).sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < sorted.length; i++) expect(sorted[i - 1][0] + sorted[i - 1][1]).toBeLessThanOrEqual(sorted[i][0]);
    for (const b of live) hs[1].free(b.off, b.size);
    for (const x of hs) checkClean(x);
  }
}

describe('heap allocator: reuse and release', () => {
  it('serves any size from memory another size freed: the carved range does not grow', () => {
    const sab = Heap.create(64 * MiB);
    const h = new Heap(sab, 1);
    // 1 KB blocks, then all freed, then 100-byte and 16 KB blocks in the same bytes.
    const small: number[] = [];
    for (let i = 0; i < 20000; i++) small.push(h.alloc(1000));
    const top = h.topBytes();
    for (const b of small) h.free(b, 1000);
    checkClean(h);
    const a: number[] = [];
    for (let i = 0; i < 150000; i++) a.push(h.alloc(100));
    expect(h.topBytes()).toBeLessThanOrEqual(top + 64 * 1024);
    for (const b of a) h.free(b, 100);
    const big: number[] = [];
    for (let i = 0; i < 1000; i++) big.push(h.alloc(16000));
    expect(h.topBytes()).toBeLessThanOrEqual(top + 64 * 1024);
    checkClean(h);
    for (const b of big) h.free(b, 16000);
    // Everything freed: only the thread caches' slabs stay active.
    expect(h.topBytes() - h.u32[4] * 8).toBeLessThan(2 * MiB);
    checkClean(h);
  });

  it('after filling the heap with 1 KB blocks and freeing them, 16 KB blocks fill it again', () => {
    const cap = 32 * MiB;
    const sab = Heap.create(cap);
    const h = new Heap(sab, 1);
    const fill = (size: number): number[] => {
      const out: number[] = [];
      for (;;) {
        if (!h.hasRoom(size, 0)) break;
        try {
          out.push(h.alloc(size));
        } catch (e) {
          if (e instanceof OutOfMemoryError) break;
          throw e;
        }
      }
      return out;
    };
    const small = fill(1024);
    expect(small.length).toBeGreaterThan(20000);
    for (const b of small) h.free(b, 1024);
    const big = fill(16 * 1024);
    // As many 16 KB blocks as a fresh heap holds, within 5%.
    const fresh = new Heap(Heap.create(cap), 1);
    let n = 0;
    while (fresh.hasRoom(16 * 1024, 0)) {
      fresh.alloc(16 * 1024);
      n++;
    }
    expect(big.length).toBeGreaterThanOrEqual(Math.floor(n * 0.95));
    checkClean(h);
  });

  it('freed neighbours merge into one span that serves a bigger block', () => {
    const sab = Heap.create(64 * MiB);
    const h = new Heap(sab, 1);
    const bs: number[] = [];
    for (let i = 0; i < 64; i++) bs.push(h.alloc(100 * 1024));
    const top = h.topBytes();
    // Free every other block, then the rest: neighbours merge into one span.
    for (let i = 0; i < 64; i += 2) h.free(bs[i], 100 * 1024);
    checkClean(h);
    expect(h.freeSpanBytes()).toBe(32 * classSize[classOf(100 * 1024)]);
    for (let i = 1; i < 64; i += 2) h.free(bs[i], 100 * 1024);
    checkClean(h);
    expect(h.freeSpanBytes()).toBe(64 * classSize[classOf(100 * 1024)]);
    // One block of all of it fits without growing the carved range.
    const all = h.alloc(64 * classSize[classOf(100 * 1024)] - 8);
    expect(all).toBe(bs[0]);
    expect(h.topBytes()).toBe(top);
    checkClean(h);
  });

  it('the checker\'s accounting holds while another thread allocates and frees (no false alarm)', async () => {
    // Threads outside slot locks (blocking registry, tracking, latency) use the heap while DEBUG
    // CHECK runs: a free that waited for a lock the checker held, with its counters half
    // changed, once made a clean-clone run fail its stop-time check.
    const sab = Heap.create(64 * MiB);
    const main = new Heap(sab, 1);
    const flag = new SharedArrayBuffer(4);
    const code = buildSync({
      entryPoints: [path.resolve(__dirname, '../helpers/heap-churn.ts')],
      bundle: true, platform: 'node', format: 'cjs', write: false,
    }).outputFiles[0].text;
    const w = new Worker(code, { eval: true, workerData: { sab, flag } });
    const done = new Promise<number>((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
    const problems: string[] = [];
    let checks = 0;
    const until = Date.now() + 1500;
    while (Date.now() < until) {
      main.check(problems);
      checks++;
      await new Promise((r) => setImmediate(r));
    }
    Atomics.store(new Int32Array(flag), 0, 1);
    const ops = await done;
    await w.terminate();
    expect(problems.slice(0, 3)).toEqual([]);
    expect(checks).toBeGreaterThan(10);
    expect(ops).toBeGreaterThan(1000);
    main.check(problems);
    expect(problems).toEqual([]);
    expect(main.usedBytes()).toBe(0);
  });

  it('the checker sees a double free, a corrupted slab list and a lost block', () => {
    const sab = Heap.create(16 * MiB);
    const h = new Heap(sab, 1);
    const a = h.alloc(40);
    h.alloc(40);
    h.free(a, 40);
    h.free(a, 40); // the same block twice in the cache
    let problems: string[] = [];
    h.check(problems);
    expect(problems.join('\n')).toMatch(/overlap/);
    // A class's slab list pointing at a page that is no slab of it.
    const h2 = new Heap(Heap.create(16 * MiB), 1);
    const big = h2.alloc(classSize[LARGE_CLASS]);
    h2.alloc(40);
    h2.u32[16 + classOf(40)] = 0;
    problems = [];
    h2.check(problems);
    expect(problems.join('\n')).toMatch(/class \d+ lists 0 slabs, 1 have a free block/);
    h2.u32[16 + classOf(40)] = Math.floor(big / PAGE) + 1;
    problems = [];
    h2.check(problems);
    expect(problems.join('\n')).toMatch(/not its slab/);
  });

  it('gives the pages of freed memory back to the OS (native/madvise)', () => {
    if (!releasesMemory()) throw new Error('native/madvise is not built (npm run build builds it with cc)');
    const sab = Heap.create(512 * MiB);
    const h = new Heap(sab, 1);
    const rss0 = process.memoryUsage().rss;
    const bs: number[] = [];
    for (let i = 0; i < 200000; i++) {
      const b = h.alloc(1000);
      h.u8.fill(1, b, b + 1000);
      bs.push(b);
    }
    const grown = process.memoryUsage().rss - rss0;
    expect(grown).toBeGreaterThan(150 * MiB);
    for (const b of bs) h.free(b, 1000);
    // Past 64 MiB of resident free pages they went back at once; the rest on the next call
    // (the main thread's, once a second).
    h.releaseResident();
    const kept = process.memoryUsage().rss - rss0;
    expect(kept).toBeLessThan(16 * MiB);
    checkClean(h);
  });
});

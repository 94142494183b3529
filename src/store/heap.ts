// The shared-memory heap: one SharedArrayBuffer that every thread maps, carved into blocks by a
// size-class allocator. Nothing here lives on a V8 heap. References: in JavaScript a byte offset
// (8-aligned, a plain number up to 2^35); stored in heap memory, a u32 in 8-byte units
// (offset / 8, 0 = null), so a word reaches 32 GiB and per-key memory stays small. No 32-bit
// operator touches an offset (`off / 4` is the u32 index).
//
// Why one big fixed SharedArrayBuffer: growable SharedArrayBuffers exist, but typed arrays that
// track their length ran ~15x slower on Node 20. A fixed SAB is committed lazily by the OS
// (untouched pages cost no RSS), so reserving a large address range up front costs nothing
// until keys are written. Node 20's typed arrays stop at 4 GiB; Node 22 and later go far past.
//
// Capacity and reservation: the heap holds at most `capacity` bytes in use (SHARDIS_HEAP_BYTES,
// or 15/16 of the reservation), but its address range (the reservation, lazily committed) is
// larger. A command that may allocate is refused with OOM before it changes anything when the
// bytes in use plus its reserve (a fixed margin plus twice its argument bytes) would pass the
// capacity; once running, its allocations may go past the capacity into the rest of the
// reservation, so they do not fail halfway (Redis's way: malloc does not fail, maxmemory is
// checked before a denyoom command). An allocation fails (OutOfMemoryError) only at the end of the
// reservation, which the same check keeps a command's reserve away from.
//
// Allocation: size classes (16..64 by 8, then 4 classes per power of two) over a page heap
// (4 KiB pages), so memory freed by one size can serve any other, and goes back to the OS:
// - Pages: the carved range [data, top) is a sequence of spans (runs of pages): free, a large
//   block, or a slab. A side table (at the end of the reservation, 32 bytes per page) describes
//   each span on its first and last page (boundary tags), so a freed span merges with free
//   neighbours at once; free spans sit on doubly linked lists by length (1..127 pages, then one
//   best-fit list). Under one page lock; a span is taken first from the lists, then from top.
// - Large classes (16 KiB and up, whole pages): one span each, no cache.
// - Small classes: slabs (a span of 4+ pages cut into blocks of one class), each with its own
//   free list and count of blocks out. A class's slabs that have a free block are on its list
//   (under the class's lock). When a slab's last block comes back it returns to the page heap,
//   where any class or large block can take its pages.
// - Each thread keeps a private cache per small class (refilled and spilled half at a time), so
//   most alloc/free pairs touch no shared word. Frees may come from any thread: a block freed
//   elsewhere joins that thread's cache, and a spill finds the block's slab from its address.
// - Returning memory (native/madvise, MADV_DONTNEED): freed pages stay resident for reuse until
//   the main thread gives them back (once a second), or at once past 64 MiB of them. The page grid follows the OS's pages
//   (the SAB's memory starts 16 bytes into a page: page p starts at byte p*4096 - 16). Without
//   the addon, freed memory stays resident (reused only).

import { constants as bufferConstants } from 'node:buffer';
import * as os from 'node:os';
import { sysAddon } from './sysaddon';

export const NCLASS = 111;
const HEADER_BYTES = 64 * 1024;
// Addresses in header and descriptor words are in 8-byte units (address / 8), as every address the
// heap's users store: a u32 then reaches 32 GiB.
const W_TOP = 0;          // end of the carved range (units; on a page boundary once pages are carved)
const W_LIMIT = 1;        // hard limit: end of the usable reservation (units)
const W_CAPACITY = 3;     // bytes in use allowed (units)
const W_DATA = 4;         // start of the allocatable area, after the fixed tables (units)
const W_TABLE = 5;        // where the page descriptor table starts (units)
const W_PAGELOCK = 6;     // the page heap's lock
const W_FREEPAGES = 7;    // pages in free spans
const W_DIRTYPAGES = 8;   // pages of free spans that may still be resident (the spans' D_DIRTY)
const W_BASE = 10;        // high mode (tests): the untouched range below the data (units); else 0
const W_MIS = 9;          // where the SAB's memory starts in an OS page: page p starts at p*PAGE - mis
const W_THREADS = 11;     // 1 + the highest thread id that made a Heap: the used counters summed
const W_FREEHEAD = 16;    // NCLASS words: first slab (page number) with free blocks, per class
const W_CLASSLOCK = 16 + 128; // NCLASS words: one lock per class
// Per thread, one 64-byte line (no false sharing): f64 bytes in use (handed out minus freed by
// this thread), f64 bytes held in its private caches. Kept in shared memory as they change, so
// INFO and the checker read exact figures of threads between commands.
const W_USED = 512;
const USED_STRIDE = 8;    // f64s per thread
export const MAX_THREADS = 256;
/** Free span lists: [1..127] spans of exactly that many pages, [128] longer ones (best fit). */
const W_SPANHEAD = 8192;
const NSPANLIST = 129;
/** Where the store lays out its own fixed areas (directory, versions...): after the header. */
export const HEAP_DATA_START = HEADER_BYTES;
/** Largest usable end of the address range: a top of 2^35 would wrap to 0 in the u32 top word. */
const MAX_END = 2 ** 35 - 8;
/** The largest typed array this runtime makes (Node 20: 4 GiB; Node 22 and later: far more). */
const MAX_TYPED = Math.min(MAX_END, bufferConstants.MAX_LENGTH);
/** What a command may allocate beyond its argument bytes once it passed the capacity check. */
export const RESERVE_FIXED = 64 * 1024;

export const PAGE = 4096;
const PAGE_SHIFT = 12;
// Page descriptor: 8 u32 words per page in the table. Every span has KIND, START and LEN right on
// its first and last page (the boundary tags coalescing reads); a slab has KIND and START on every
// page (a block finds its slab from its address); the other words are the first page's.
const D_WORDS = 8;
const D_KIND = 0;   // K_* below, or K_SLAB + class
const D_START = 1;  // first page of the span
const D_LEN = 2;    // pages in the span
const D_NEXT = 3;   // list links (page numbers, 0 = none): free span lists, a class's slab list
const D_PREV = 4;
const D_FREE = 5;   // slab: first free block (units, linked through its first word; 0 = none)
const D_USED = 6;   // slab: blocks handed out (in use or in a thread's cache)
const D_DIRTY = 6;  // free span: of its pages, how many may still be resident (an upper bound)
const D_CARVE = 7;  // slab: first never-used block (units); blocks from there are free
const K_FREE = 1;
const K_LARGE = 3;
const K_SLAB = 16;
// Returning pages costs a syscall and the next use a page fault per page, so freed pages stay
// resident for reuse a while (as jemalloc's decay): the main thread gives every free span's
// resident pages back once a second (releaseResident), and at once when more than 64 MiB of
// them accumulate (a DEL of a big value). One madvise call per span.
const DIRTY_MAX_PAGES = 16384;

export const classSize = new Float64Array(NCLASS);
(function initClasses(): void {
  let i = 0;
  for (let s = 16; s <= 64; s += 8) classSize[i++] = s;
  for (let e = 6; i < NCLASS; e++) {
    const base = 2 ** e;
    for (let k = 1; k <= 4 && i < NCLASS; k++) classSize[i++] = base + k * (base / 4);
  }
})();

/** Size class index for a request of `size` bytes (a table up to 64 KiB: it is on every alloc). */
export function classOf(size: number): number {
  if (size <= SMALL_MAX) return smallClass[(size + 7) >>> 3];
  return classOfSlow(size);
}

function classOfSlow(size: number): number {
  if (size <= 64) return size <= 16 ? 0 : ((size + 7) >>> 3) - 2;
  const e = 31 - Math.clz32(size - 1); // 2^e < size <= 2^(e+1)
  const base = 2 ** e;
  const step = base / 4;
  const k = Math.ceil((size - base) / step);
  return 7 + (e - 6) * 4 + (k - 1);
}

const SMALL_MAX = 64 * 1024;
// Sizes round up to 8 within a class boundary (every class size is a multiple of 8).
const smallClass = new Uint8Array((SMALL_MAX >>> 3) + 1);
for (let i = 0; i <= SMALL_MAX >>> 3; i++) smallClass[i] = classOfSlow(Math.max(1, i * 8));

/** Classes from this one up are whole pages (16 KiB and up: multiples of 4 KiB): one span each. */
export const LARGE_CLASS = classOf(16384);
/** Pages of a slab per small class: 4 or more, at least 8 blocks, the least waste of 5 choices. */
const slabPages = new Int32Array(NCLASS);
/** Private cache slots per small class (even; refills and spills move half). */
const cacheMax = new Int32Array(NCLASS);
for (let c = 0; c < LARGE_CLASS; c++) {
  const s = classSize[c];
  const min = Math.max(4, Math.ceil((8 * s) / PAGE));
  let best = min;
  for (let n = min; n < min + 5; n++) if (((n * PAGE) % s) / n < ((best * PAGE) % s) / best) best = n;
  slabPages[c] = best;
  cacheMax[c] = s <= 1024 ? 64 : Math.max(8, Math.floor(65536 / s) & ~1);
}

export class OutOfMemoryError extends Error {}

/** The machine's memory, or the container's limit (cgroup) where lower. */
function machineMemory(): number {
  const limit = process.constrainedMemory();
  const total = os.totalmem();
  return limit > 0 && limit < total ? limit : total;
}

// native/madvise: gives free pages back to the OS. Optional: without it freed memory stays
// resident, for reuse only.
const releasePages = sysAddon?.release ?? null;
const misalign = sysAddon?.misalign ?? null;
/** Is the native page release available (INFO, tests)? */
export function releasesMemory(): boolean {
  return releasePages !== null;
}

const DEBUG = process.env.SHARDIS_DEBUG === '1';

export class Heap {
  readonly sab: SharedArrayBuffer;
  readonly u8: Uint8Array;
  readonly i32: Int32Array;
  readonly u32: Uint32Array;
  readonly f64: Float64Array;
  readonly size: number;
  private readonly threadId: number;
  /** Per small class, the blocks of this thread's private cache (byte offsets). */
  private readonly cache: Float64Array[] = [];
  private readonly cacheLen = new Int32Array(NCLASS);
  private usedSlot: number;
  /** This thread's line of counters: [0] bytes in use, [1] bytes in its private caches. */
  private readonly acct: Float64Array;
  /** A private word to sleep on (the checker's short waits). */
  private readonly pause = new Int32Array(new SharedArrayBuffer(4));
  readonly hardLimit: number;
  /** Bytes below the data never used (high mode, tests), else 0: not counted as in use. */
  readonly base: number;
  readonly capacity: number;
  /** u32 index of the page descriptor table. */
  private readonly tbl: number;
  /** Page p starts at byte offset p * PAGE - mis (the OS's page boundaries). */
  private readonly mis: number;
  /** Bytes in use at the last trimIdle() (no change since: the thread was idle). */
  private trimSeen = -1;
  /** Slabs emptied by a spill, given back to the page heap after the class lock is released. */
  private readonly emptied = new Int32Array(64);
  // Other threads' bytes in use as last read (hasRoom re-reads them at most once per ms).
  private othersUsed = 0;
  private othersAt = -1;
  // Fault injection (DEBUG OOM-INJECT, tests only). injectCountdown is 0 when off: one compare
  // per allocation. At the Nth allocation of the armed command the heap counts as full: in
  // 'reserve' mode the command goes on within its reserve (as past the capacity), in 'hard' mode
  // every allocation from there fails.
  private injectCountdown = 0;
  /** Armed injection for the next command (read by Client.call: one compare per command). */
  injectPending = 0;
  private injectHard = false;
  private injectBudget = 0;
  private injectSeen = 0;
  /** Allocations the last injected command made (DEBUG OOM-INJECT LAST). */
  lastInjectedAllocs = 0;

  /**
   * Reserve a heap (main thread, once). `capacity`: bytes in use allowed (SHARDIS_HEAP_BYTES);
   * the reservation is then twice it (at least capacity + 64 MiB). Without it the reservation
   * follows the machine's memory, or `maxmemory` where that is larger, and is at least 4 GiB; the
   * capacity is 15/16 of it. Either way it stops at what a typed array can span (Node 20: 4 GiB)
   * and at 32 GiB (u32 addresses in 8-byte units). Untouched pages cost no RSS. Its last 1/128
   * holds the page descriptor table. `high` (tests, SHARDIS_HEAP_HIGH=1): where typed
   * arrays pass 8 GiB, the heap's data starts past 4 GiB, so every address needs 33 bits and any
   * 32-bit operator left on one breaks at once.
   */
  static create(capacity?: number, opts: { maxmemory?: number; high?: boolean } = {}): SharedArrayBuffer {
    const skip = opts.high === true && MAX_TYPED >= 2 ** 33 ? 2 ** 32 : 0;
    const mm = opts.maxmemory ?? 0;
    const want = capacity !== undefined
      ? Math.max(2 * capacity, capacity + 64 * 1024 * 1024)
      : Math.max(2 ** 32, Math.ceil(machineMemory() / 2 ** 30) * 2 ** 30, mm > 0 ? Math.ceil(mm / 15) * 16 + 64 * 1024 * 1024 : 0);
    let size = Math.min(MAX_TYPED, skip + Math.ceil(want / PAGE) * PAGE);
    let sab: SharedArrayBuffer | null = null;
    // Where the OS refuses to reserve that much address space (strict overcommit, ulimit -v),
    // settle for less rather than not starting.
    while (sab === null) {
      try {
        sab = new SharedArrayBuffer(size);
      } catch (e) {
        if (size - skip <= 64 * 1024 * 1024) throw e;
        size = skip + Math.floor(((size - skip) * 3) / 4 / PAGE) * PAGE;
      }
    }
    // The descriptor table covers every page below it (32 bytes per 4 KiB page).
    const tableBytes = Math.ceil(Math.ceil(size / PAGE) * D_WORDS * 4 / PAGE) * PAGE;
    const end = Math.floor((size - tableBytes) / PAGE) * PAGE;
    const room = end - skip;
    let cap = capacity === undefined ? Math.floor(room / 16) * 15 : Math.min(capacity, room);
    // A reservation smaller than asked leaves a sixteenth of it for running commands' overshoot.
    if (room - cap < room / 16) cap = Math.floor(room / 16) * 15;
    const start = skip + HEADER_BYTES;
    const u32 = new Uint32Array(sab);
    u32[W_TOP] = start / 8;
    u32[W_DATA] = start / 8;
    u32[W_LIMIT] = end / 8;
    u32[W_TABLE] = end / 8;
    u32[W_CAPACITY] = Math.floor(cap / 8);
    u32[W_BASE] = skip / 8;
    // Shift the page grid onto the OS's pages (a multiple of 8 keeps blocks 8-aligned).
    const mis = misalign !== null ? misalign(new Uint8Array(sab, 0, 8)) : 0;
    u32[W_MIS] = mis > 0 && mis % 8 === 0 ? mis : 0;
    return sab;
  }

  constructor(sab: SharedArrayBuffer, threadId: number) {
    this.sab = sab;
    this.u8 = new Uint8Array(sab);
    this.i32 = new Int32Array(sab);
    this.u32 = new Uint32Array(sab);
    this.f64 = new Float64Array(sab);
    this.size = sab.byteLength;
    this.threadId = threadId;
    this.usedSlot = (W_USED >>> 1) + threadId * USED_STRIDE;
    // Sums of the per-thread counters stop at the highest thread id in use (eviction re-reads them
    // every round), not at MAX_THREADS.
    for (let t = Atomics.load(this.u32, W_THREADS); t < threadId + 1; t = Atomics.load(this.u32, W_THREADS)) {
      Atomics.compareExchange(this.u32, W_THREADS, t, threadId + 1);
    }
    this.acct = new Float64Array(sab, this.usedSlot * 8, 2);
    this.hardLimit = this.u32[W_LIMIT] * 8;
    this.base = this.u32[W_BASE] * 8;
    this.capacity = this.u32[W_CAPACITY] * 8;
    this.tbl = this.u32[W_TABLE] * 2;
    this.mis = this.u32[W_MIS];
    for (let c = 0; c < NCLASS; c++) this.cache.push(new Float64Array(c < LARGE_CLASS ? cacheMax[c] : 0));
  }

  /** The untouched range below the data (high mode), which no figure counts as in use. */
  static baseOf(sab: SharedArrayBuffer): number {
    return new Uint32Array(sab, 0, 16)[W_BASE] * 8;
  }

  /** Reserve `bytes` at the start of the data area at start-up, before any alloc (main thread). */
  static reserveFixed(sab: SharedArrayBuffer, bytes: number): number {
    const u32 = new Uint32Array(sab);
    const at = u32[W_TOP] * 8;
    u32[W_TOP] += Math.ceil(bytes / 8);
    u32[W_DATA] = u32[W_TOP];
    return at;
  }

  alloc(size: number): number {
    if (this.injectCountdown !== 0) this.injectTick(size);
    const c = classOf(size);
    const cache = this.cache[c];
    let n = this.cacheLen[c];
    if (n > 0) {
      this.acct[0] += classSize[c];
      this.acct[1] -= classSize[c];
      this.cacheLen[c] = --n;
      return cache[n];
    }
    if (cache.length === 0) return this.allocLarge(c);
    this.refill(c);
    this.acct[0] += classSize[c];
    this.acct[1] -= classSize[c];
    n = this.cacheLen[c] - 1;
    this.cacheLen[c] = n;
    return cache[n];
  }

  /** Allocate and zero. */
  calloc(size: number): number {
    const off = this.alloc(size);
    this.u8.fill(0, off, off + size);
    return off;
  }

  free(off: number, size: number): void {
    this.freeClass(off, classOf(size));
  }

  freeClass(off: number, c: number): void {
    if (DEBUG) this.checkBlock(off, c);
    // The counters change only after any lock this free needs (spill, page lock): a thread
    // waiting for a lock the checker holds must not leave them half changed.
    const cache = this.cache[c];
    const max = cache.length;
    if (max === 0) {
      this.freeLarge(off, c);
      this.acct[0] -= classSize[c];
      return;
    }
    let n = this.cacheLen[c];
    if (n === max) {
      this.spill(c, max >>> 1);
      n = max >>> 1;
    }
    this.acct[0] -= classSize[c];
    this.acct[1] += classSize[c];
    cache[n] = off;
    this.cacheLen[c] = n + 1;
  }

  /** Capacity in bytes of a block allocated for `size`. */
  static capacity(size: number): number {
    return classSize[classOf(size)];
  }

  /** Publish this thread's usage counter (called from time to time, e.g. cron and INFO). */
  publishUsed(): void {
    // The counters live in shared memory already (kept for callers that publish periodically).
  }

  /**
   * May a command that allocates up to `need` bytes start? No when the bytes in use (the fixed
   * tables included) plus `need` pass the capacity, or when its reserve would not fit in the free
   * pages and the rest of the reservation (fragmentation took the rest). `now` (ms) paces
   * re-reading the other threads' counters.
   */
  hasRoom(need: number, now: number): boolean {
    const own = this.acct[0];
    if (now !== this.othersAt) {
      this.othersUsed = this.usedBytes() - own;
      this.othersAt = now;
    }
    const u32 = this.u32;
    return u32[W_DATA] * 8 - this.base + this.othersUsed + own + need <= this.capacity &&
      Atomics.load(u32, W_TOP) * 8 - Atomics.load(u32, W_FREEPAGES) * PAGE + need + RESERVE_FIXED <= this.hardLimit;
  }

  /** How full the heap is: bytes in use (fixed tables included) over the capacity. */
  fullness(): number {
    return (this.u32[W_DATA] * 8 - this.base + this.usedBytes()) / this.capacity;
  }

  /** Arm fault injection for this thread's next command (DEBUG OOM-INJECT). */
  armInjection(n: number, hard: boolean): void {
    this.injectPending = n;
    this.injectHard = hard;
  }

  /** At the start of a command: start an armed injection. */
  startInjection(reserve: number): void {
    this.injectCountdown = this.injectPending;
    this.injectPending = 0;
    this.injectBudget = reserve;
    this.injectSeen = 0;
  }

  injecting(): boolean {
    return this.injectCountdown !== 0;
  }

  /** Ends the injection; returns how many allocations the command made meanwhile. */
  stopInjection(): number {
    this.injectCountdown = 0;
    this.lastInjectedAllocs = this.injectSeen;
    return this.injectSeen;
  }

  private injectTick(size: number): void {
    this.injectSeen++;
    if (this.injectCountdown > 1) {
      this.injectCountdown--;
      return;
    }
    if (this.injectHard) throw new OutOfMemoryError('out of shared memory (injected)');
    this.injectBudget -= classSize[classOf(size)];
    if (this.injectBudget < 0) throw new OutOfMemoryError('out of shared memory (reserve spent)');
  }

  /** Bytes this thread handed out minus what it freed (may be negative: frees of others' blocks). */
  localUsed(): number {
    return this.acct[0];
  }

  /** Bytes handed out and not freed, over all threads (as last published, plus ours now). */
  usedBytes(): number {
    return this.sumThreads(0);
  }

  /** Bytes held in threads' private caches (free, but only for their thread). */
  cachedBytes(): number {
    return this.sumThreads(1);
  }

  /** Field `k` of the per-thread counters (0 used, 1 cached), summed over the threads in use. */
  private sumThreads(k: number): number {
    let t = 0;
    const base = (W_USED >>> 1) + k;
    const n = Atomics.load(this.u32, W_THREADS);
    for (let i = 0; i < n; i++) t += this.f64[base + i * USED_STRIDE];
    return t;
  }

  /** Bytes of the carved range that are not in free spans (the allocator's active pages). */
  topBytes(): number {
    return Atomics.load(this.u32, W_TOP) * 8 - this.base - Atomics.load(this.u32, W_FREEPAGES) * PAGE;
  }

  /** Bytes in free spans (any class can take them), and of those, possibly resident. */
  freeSpanBytes(): number {
    return Atomics.load(this.u32, W_FREEPAGES) * PAGE;
  }

  // ---- small classes: slabs ----

  /** Fill this thread's empty cache of class c with half its slots, from the class's slabs. */
  private refill(c: number): void {
    const cache = this.cache[c];
    const want = cache.length >>> 1;
    const u32 = this.u32;
    let n = 0;
    lockWord(this.i32, W_CLASSLOCK + c);
    for (let s = u32[W_FREEHEAD + c]; s !== 0 && n < want; s = u32[W_FREEHEAD + c]) {
      n = this.take(s, c, n, want);
      if (this.exhausted(s, c)) this.unlinkSlab(c, s);
      else break;
    }
    if (n === 0) {
      // A fresh slab, under the class lock (class, then page: the checker's order), so the
      // checker never sees a slab that is carved but not yet listed.
      let s: number;
      try {
        s = this.newSlab(c);
      } catch (e) {
        unlockWord(this.i32, W_CLASSLOCK + c);
        throw e;
      }
      n = this.take(s, c, 0, want);
      if (!this.exhausted(s, c)) this.linkSlab(c, s);
    }
    this.cacheLen[c] = n;
    this.acct[1] += n * classSize[c];
    unlockWord(this.i32, W_CLASSLOCK + c);
  }

  /** Move blocks of slab s into cache[n..want); returns the new n. (Class lock held.) */
  private take(s: number, c: number, n: number, want: number): number {
    const u32 = this.u32;
    const cache = this.cache[c];
    const d = this.tbl + s * D_WORDS;
    const size = classSize[c];
    const end = (s + u32[d + D_LEN]) * PAGE - this.mis;
    let used = u32[d + D_USED];
    while (n < want) {
      let b = u32[d + D_FREE] * 8;
      if (b !== 0) u32[d + D_FREE] = u32[b / 4];
      else {
        b = u32[d + D_CARVE] * 8;
        if (b + size > end) break;
        u32[d + D_CARVE] = (b + size) / 8;
      }
      cache[n++] = b;
      used++;
    }
    u32[d + D_USED] = used;
    return n;
  }

  private exhausted(s: number, c: number): boolean {
    const d = this.tbl + s * D_WORDS;
    return this.u32[d + D_FREE] === 0 && this.u32[d + D_CARVE] * 8 + classSize[c] > (s + this.u32[d + D_LEN]) * PAGE - this.mis;
  }

  private linkSlab(c: number, s: number): void {
    const u32 = this.u32;
    const d = this.tbl + s * D_WORDS;
    const h = u32[W_FREEHEAD + c];
    u32[d + D_NEXT] = h;
    u32[d + D_PREV] = 0;
    if (h !== 0) u32[this.tbl + h * D_WORDS + D_PREV] = s;
    u32[W_FREEHEAD + c] = s;
  }

  private unlinkSlab(c: number, s: number): void {
    const u32 = this.u32;
    const d = this.tbl + s * D_WORDS;
    const next = u32[d + D_NEXT];
    const prev = u32[d + D_PREV];
    if (prev !== 0) u32[this.tbl + prev * D_WORDS + D_NEXT] = next;
    else u32[W_FREEHEAD + c] = next;
    if (next !== 0) u32[this.tbl + next * D_WORDS + D_PREV] = prev;
    u32[d + D_NEXT] = 0;
    u32[d + D_PREV] = 0;
  }

  /** Hand cache[from..] of class c back to the blocks' slabs. */
  private spill(c: number, from: number): void {
    const cache = this.cache[c];
    const max = this.cacheLen[c];
    const u32 = this.u32;
    const tbl = this.tbl;
    const emptied = this.emptied;
    let ne = 0;
    lockWord(this.i32, W_CLASSLOCK + c);
    for (let i = from; i < max; i++) {
      const b = cache[i];
      const s = u32[tbl + Math.floor((b + this.mis) / PAGE) * D_WORDS + D_START];
      const d = tbl + s * D_WORDS;
      const was = this.exhausted(s, c);
      u32[b / 4] = u32[d + D_FREE];
      u32[d + D_FREE] = b / 8;
      const used = u32[d + D_USED] - 1;
      u32[d + D_USED] = used;
      if (used === 0) {
        // Every block is back: the slab's pages go back to the page heap (after the lock).
        if (!was) this.unlinkSlab(c, s);
        emptied[ne++] = s;
      } else if (was) this.linkSlab(c, s);
    }
    // Counters and the emptied slabs' pages settle before the class lock goes (class, then page:
    // the checker's order), so the checker, holding every lock, never sees them half done.
    this.cacheLen[c] = from;
    this.acct[1] -= (max - from) * classSize[c];
    for (let i = 0; i < ne; i++) this.freePages(emptied[i], slabPages[c]);
    unlockWord(this.i32, W_CLASSLOCK + c);
  }

  /**
   * From a thread's timer (about once a second): when the thread allocated and freed nothing
   * since the last call, its private caches go back to their slabs, so the slabs they pin (after
   * a FLUSHALL, a cached block can keep a whole slab) can return to the page heap and the OS.
   */
  trimIdle(): void {
    const used = this.acct[0];
    if (used !== this.trimSeen || this.acct[1] === 0) {
      this.trimSeen = used;
      return;
    }
    for (let c = 0; c < LARGE_CLASS; c++) if (this.cacheLen[c] > 0) this.spill(c, 0);
  }

  /** A fresh slab of class c (its pages from the page heap), not yet on the class's list. */
  private newSlab(c: number): number {
    const n = slabPages[c];
    const s = this.allocPages(n, K_SLAB + c);
    const u32 = this.u32;
    const d = this.tbl + s * D_WORDS;
    // Every page names the slab (a block finds its slab from its address).
    for (let p = 1; p < n - 1; p++) {
      u32[d + p * D_WORDS + D_KIND] = K_SLAB + c;
      u32[d + p * D_WORDS + D_START] = s;
    }
    u32[d + D_FREE] = 0;
    u32[d + D_USED] = 0;
    u32[d + D_CARVE] = (s * PAGE - this.mis) / 8;
    u32[d + D_NEXT] = 0;
    u32[d + D_PREV] = 0;
    return s;
  }

  // ---- large classes: a span each ----

  private allocLarge(c: number): number {
    const s = this.allocPages(classSize[c] / PAGE, K_LARGE);
    this.acct[0] += classSize[c];
    return s * PAGE - this.mis;
  }

  private freeLarge(off: number, c: number): void {
    this.freePages((off + this.mis) / PAGE, classSize[c] / PAGE);
  }

  // ---- the page heap ----

  /**
   * Take n pages: the best-fitting free span (split), else from top. Sets the span's boundary
   * tags to `kind` under the page lock, so a neighbour being freed never sees it as free.
   */
  private allocPages(n: number, kind: number): number {
    const u32 = this.u32;
    const tbl = this.tbl;
    lockWord(this.i32, W_PAGELOCK);
    let s = 0;
    for (let i = Math.min(n, NSPANLIST - 1); i < NSPANLIST - 1; i++) {
      if (u32[W_SPANHEAD + i] !== 0) {
        s = u32[W_SPANHEAD + i];
        break;
      }
    }
    if (s === 0) {
      let bestLen = Infinity;
      for (let p = u32[W_SPANHEAD + NSPANLIST - 1]; p !== 0; p = u32[tbl + p * D_WORDS + D_NEXT]) {
        const len = u32[tbl + p * D_WORDS + D_LEN];
        if (len >= n && len < bestLen) {
          s = p;
          bestLen = len;
          if (len === n) break;
        }
      }
    }
    if (s !== 0) {
      const d = tbl + s * D_WORDS;
      const len = u32[d + D_LEN];
      const dirty = u32[d + D_DIRTY];
      this.unlinkSpan(s);
      u32[W_FREEPAGES] -= n;
      // Where in the span its resident pages are is not known: the rest keeps as many as it can
      // (an upper bound, so the sweep is never late).
      const rest = Math.min(dirty, len - n);
      u32[W_DIRTYPAGES] -= dirty - rest;
      if (len > n) {
        this.tagSpan(s + n, len - n, K_FREE);
        u32[tbl + (s + n) * D_WORDS + D_DIRTY] = rest;
        this.linkSpan(s + n);
      }
    } else {
      s = Math.ceil((Atomics.load(u32, W_TOP) * 8 + this.mis) / PAGE);
      const end = (s + n) * PAGE - this.mis;
      if (end > this.hardLimit) {
        unlockWord(this.i32, W_PAGELOCK);
        throw new OutOfMemoryError('out of shared memory');
      }
      Atomics.store(u32, W_TOP, end / 8);
    }
    this.tagSpan(s, n, kind);
    unlockWord(this.i32, W_PAGELOCK);
    return s;
  }

  /** Give back the n pages from page s: merged with free neighbours, released or kept resident. */
  private freePages(s: number, n: number): void {
    const u32 = this.u32;
    const tbl = this.tbl;
    lockWord(this.i32, W_PAGELOCK);
    const first = Math.ceil((u32[W_DATA] * 8 + this.mis) / PAGE);
    const topPage = (Atomics.load(u32, W_TOP) * 8 + this.mis) / PAGE;
    let start = s;
    let len = n;
    let dirty = 0;
    if (s > first) {
      const q = tbl + (s - 1) * D_WORDS;
      if (u32[q + D_KIND] === K_FREE) {
        start = u32[q + D_START];
        const d = tbl + start * D_WORDS;
        this.unlinkSpan(start);
        u32[W_FREEPAGES] -= u32[d + D_LEN];
        dirty += u32[d + D_DIRTY];
        len += u32[d + D_LEN];
      }
    }
    const r = s + n;
    if (r < topPage) {
      const d = tbl + r * D_WORDS;
      if (u32[d + D_KIND] === K_FREE) {
        this.unlinkSpan(r);
        u32[W_FREEPAGES] -= u32[d + D_LEN];
        dirty += u32[d + D_DIRTY];
        len += u32[d + D_LEN];
      }
    }
    if (releasePages !== null) {
      dirty += n;
      u32[W_DIRTYPAGES] += n;
    }
    this.tagSpan(start, len, K_FREE);
    u32[tbl + start * D_WORDS + D_DIRTY] = dirty;
    u32[W_FREEPAGES] += len;
    this.linkSpan(start);
    if (u32[W_DIRTYPAGES] > DIRTY_MAX_PAGES) this.releaseDirty();
    unlockWord(this.i32, W_PAGELOCK);
  }

  /** Give every free span's resident pages back to the OS (the main thread, once a second). */
  releaseResident(): void {
    if (Atomics.load(this.u32, W_DIRTYPAGES) === 0) return;
    lockWord(this.i32, W_PAGELOCK);
    this.releaseDirty();
    unlockWord(this.i32, W_PAGELOCK);
  }

  /** Give every free span's resident pages back to the OS. (Page lock held.) */
  private releaseDirty(): void {
    const u32 = this.u32;
    const tbl = this.tbl;
    const release = releasePages;
    if (release === null) return;
    for (let i = 1; i < NSPANLIST; i++) {
      for (let p = u32[W_SPANHEAD + i]; p !== 0; p = u32[tbl + p * D_WORDS + D_NEXT]) {
        const d = tbl + p * D_WORDS;
        if (u32[d + D_DIRTY] === 0) continue;
        release(this.u8, p * PAGE - this.mis, u32[d + D_LEN] * PAGE);
        u32[d + D_DIRTY] = 0;
      }
    }
    u32[W_DIRTYPAGES] = 0;
  }

  /** Boundary tags of the span [s, s+n): kind, start and length on its first and last page. */
  private tagSpan(s: number, n: number, kind: number): void {
    const u32 = this.u32;
    const a = this.tbl + s * D_WORDS;
    const b = this.tbl + (s + n - 1) * D_WORDS;
    u32[a + D_KIND] = kind;
    u32[a + D_START] = s;
    u32[a + D_LEN] = n;
    u32[b + D_KIND] = kind;
    u32[b + D_START] = s;
    u32[b + D_LEN] = n;
  }

  private linkSpan(s: number): void {
    const u32 = this.u32;
    const d = this.tbl + s * D_WORDS;
    const i = W_SPANHEAD + Math.min(u32[d + D_LEN], NSPANLIST - 1);
    const h = u32[i];
    u32[d + D_NEXT] = h;
    u32[d + D_PREV] = 0;
    if (h !== 0) u32[this.tbl + h * D_WORDS + D_PREV] = s;
    u32[i] = s;
  }

  private unlinkSpan(s: number): void {
    const u32 = this.u32;
    const d = this.tbl + s * D_WORDS;
    const next = u32[d + D_NEXT];
    const prev = u32[d + D_PREV];
    if (prev !== 0) u32[this.tbl + prev * D_WORDS + D_NEXT] = next;
    else u32[W_SPANHEAD + Math.min(u32[d + D_LEN], NSPANLIST - 1)] = next;
    if (next !== 0) u32[this.tbl + next * D_WORDS + D_PREV] = prev;
  }

  checkPtr(off: number): void {
    if (off < HEADER_BYTES || off >= Atomics.load(this.u32, W_TOP) * 8 || off % 8 !== 0) {
      throw new Error(`heap: bad pointer ${off}`);
    }
  }

  /** Debug builds: a block being freed lies where a block of its class can be. */
  private checkBlock(off: number, c: number): void {
    this.checkPtr(off);
    const u32 = this.u32;
    const p = (off + this.mis) / PAGE;
    const d = this.tbl + Math.floor(p) * D_WORDS;
    if (c >= LARGE_CLASS) {
      if (u32[d + D_KIND] !== K_LARGE || u32[d + D_START] !== p || u32[d + D_LEN] !== classSize[c] / PAGE) {
        throw new Error(`heap: free of ${off} as a large block of class ${c}, but its page is not one`);
      }
    } else {
      const s = u32[d + D_START];
      if (u32[d + D_KIND] !== K_SLAB + c || (off - (s * PAGE - this.mis)) % classSize[c] !== 0) {
        throw new Error(`heap: free of ${off} as class ${c}, but its page holds kind ${u32[d + D_KIND]}`);
      }
    }
  }

  /**
   * Structure check of the allocator (the caller holds every slot lock, so threads are between
   * commands; this takes every class lock and the page lock). The spans from data to top tile
   * the range with matching boundary tags; no two free spans touch (merged); every free span is
   * on the list of its length and every listed span is free; the slabs' free lists are chains of
   * distinct blocks of their slab, and free + never-used + handed-out blocks = the slab's blocks;
   * a class's list holds exactly its slabs with a free block; no two free blocks (this thread's
   * cache included) overlap; and the accounting adds up: bytes in use + bytes in private caches
   * = blocks handed out from slabs + large spans, and the free-page count is the free spans'.
   * Returns the free blocks (offset, size), sorted by offset, so the keyspace checker can see
   * that no live block is also free.
   */
  check(problems: string[], accounting = true): Float64Array {
    const u32 = this.u32;
    const tbl = this.tbl;
    for (let c = 0; c < NCLASS; c++) lockWord(this.i32, W_CLASSLOCK + c);
    lockWord(this.i32, W_PAGELOCK);
    const offs: number[] = [];
    const sizes: number[] = [];
    const top = Atomics.load(u32, W_TOP) * 8;
    const data = u32[W_DATA] * 8;
    const mis = this.mis;
    const first = Math.ceil((data + mis) / PAGE);
    let handedOut = 0;
    let freeSpanPages = 0;
    let freeSpans = 0;
    let dirtyPages = 0;
    const partial = new Int32Array(NCLASS);
    let prevFree = false;
    if (top > data) {
      if ((top + mis) % PAGE !== 0) problems.push(`heap: top ${top} is not on a page boundary`);
      const topPage = Math.floor((top + mis) / PAGE);
      for (let p = first; p < topPage;) {
        const d = tbl + p * D_WORDS;
        const k = u32[d + D_KIND];
        const len = u32[d + D_LEN];
        if (u32[d + D_START] !== p || len === 0 || p + len > topPage) {
          problems.push(`heap: no span starts at page ${p} (kind ${k}, start ${u32[d + D_START]}, ${len} pages)`);
          break;
        }
        const e = tbl + (p + len - 1) * D_WORDS;
        if (u32[e + D_KIND] !== k || u32[e + D_START] !== p || u32[e + D_LEN] !== len) {
          problems.push(`heap: span at page ${p} (${len} pages) has a wrong tag on its last page`);
        }
        if (k === K_FREE) {
          dirtyPages += u32[d + D_DIRTY];
          if (u32[d + D_DIRTY] > len) problems.push(`heap: free span at page ${p} has ${u32[d + D_DIRTY]} resident pages of ${len}`);
          if (prevFree) problems.push(`heap: free span at page ${p} touches the free span before it`);
          freeSpanPages += len;
          freeSpans++;
          offs.push(p * PAGE - mis);
          sizes.push(len * PAGE);
        } else if (k === K_LARGE) {
          handedOut += len * PAGE;
        } else if (k >= K_SLAB && k < K_SLAB + LARGE_CLASS) {
          const c = k - K_SLAB;
          const size = classSize[c];
          if (len !== slabPages[c]) problems.push(`heap: slab of class ${c} at page ${p} has ${len} pages, not ${slabPages[c]}`);
          for (let q = p + 1; q < p + len - 1; q++) {
            if (u32[tbl + q * D_WORDS + D_KIND] !== k || u32[tbl + q * D_WORDS + D_START] !== p) {
              problems.push(`heap: page ${q} of the slab at page ${p} does not name it`);
              break;
            }
          }
          const base = p * PAGE - mis;
          const carve = u32[d + D_CARVE] * 8;
          const nblocks = Math.floor((len * PAGE) / size);
          if (carve < base || carve > base + nblocks * size || (carve - base) % size !== 0) {
            problems.push(`heap: slab at page ${p} carves at a bad offset ${carve}`);
          }
          let nfree = 0;
          for (let b = u32[d + D_FREE] * 8; b !== 0; b = u32[b / 4] * 8) {
            if (b < base || b >= carve || (b - base) % size !== 0) {
              problems.push(`heap: slab at page ${p} (class ${c}) lists a bad free block ${b}`);
              break;
            }
            offs.push(b);
            sizes.push(size);
            if (++nfree > nblocks) {
              problems.push(`heap: slab at page ${p} free list cycles`);
              break;
            }
          }
          const uncarved = (base + nblocks * size - carve) / size;
          if (uncarved > 0) {
            offs.push(carve);
            sizes.push(uncarved * size);
          }
          const used = u32[d + D_USED];
          if (used + nfree + uncarved !== nblocks) {
            problems.push(`heap: slab at page ${p} (class ${c}): ${used} out + ${nfree} free + ${uncarved} never used != ${nblocks} blocks`);
          }
          if (used === 0) problems.push(`heap: slab at page ${p} (class ${c}) is empty but kept`);
          handedOut += used * size;
          if (!this.exhausted(p, c)) partial[c]++;
        } else {
          problems.push(`heap: span at page ${p} has an unknown kind ${k}`);
        }
        prevFree = k === K_FREE;
        p += len;
      }
    }
    // Each class's list: its slabs with a free block, each once.
    for (let c = 0; c < LARGE_CLASS; c++) {
      let n = 0;
      let prev = 0;
      for (let s = u32[W_FREEHEAD + c]; s !== 0; s = u32[tbl + s * D_WORDS + D_NEXT]) {
        const d = tbl + s * D_WORDS;
        if (u32[d + D_KIND] !== K_SLAB + c || u32[d + D_START] !== s || u32[d + D_PREV] !== prev) {
          problems.push(`heap: class ${c} lists page ${s}, which is not its slab (or a broken link)`);
          break;
        }
        if (this.exhausted(s, c)) problems.push(`heap: class ${c} lists the full slab at page ${s}`);
        if (++n > partial[c]) break;
        prev = s;
      }
      if (n !== partial[c]) problems.push(`heap: class ${c} lists ${n} slabs, ${partial[c]} have a free block`);
    }
    // The free span lists: every free span once, on the list of its length.
    let listed = 0;
    for (let i = 1; i < NSPANLIST; i++) {
      let prev = 0;
      for (let s = u32[W_SPANHEAD + i]; s !== 0; s = u32[tbl + s * D_WORDS + D_NEXT]) {
        const d = tbl + s * D_WORDS;
        const k = u32[d + D_KIND];
        if (k !== K_FREE || u32[d + D_START] !== s || Math.min(u32[d + D_LEN], NSPANLIST - 1) !== i || u32[d + D_PREV] !== prev) {
          problems.push(`heap: span list ${i} holds page ${s}, not a free span of that length (or a broken link)`);
          break;
        }
        if (++listed > freeSpans) break;
        prev = s;
      }
    }
    if (listed !== freeSpans) problems.push(`heap: ${listed} spans listed free, ${freeSpans} free spans`);
    if (dirtyPages !== u32[W_DIRTYPAGES]) problems.push(`heap: ${dirtyPages} resident pages in free spans, counted ${u32[W_DIRTYPAGES]}`);
    if (freeSpanPages !== u32[W_FREEPAGES]) problems.push(`heap: ${freeSpanPages} pages in free spans, counted ${u32[W_FREEPAGES]}`);
    // This thread's cache: blocks of their class's slabs (overlaps below catch a double free).
    for (let c = 0; c < LARGE_CLASS; c++) {
      const cache = this.cache[c];
      for (let i = 0; i < this.cacheLen[c]; i++) {
        const b = cache[i];
        const d = tbl + Math.floor((b + mis) / PAGE) * D_WORDS;
        if (b < first * PAGE - mis || b + classSize[c] > top || u32[d + D_KIND] !== K_SLAB + c) {
          problems.push(`heap: thread cache of class ${c} holds bad pointer ${b}`);
          continue;
        }
        offs.push(b);
        sizes.push(classSize[c]);
      }
    }
    // Threads outside slot locks (blocking registry, tracking, pub/sub, latency) may be between
    // the two counter updates of a cache alloc/free, which take no lock: re-read a while before
    // calling a difference a fault (no thread waits for a lock with its counters half changed).
    let accounted = this.usedBytes() + this.cachedBytes();
    for (let i = 0; accounting && accounted !== handedOut && i < 50; i++) {
      Atomics.wait(this.pause, 0, 0, 1);
      accounted = this.usedBytes() + this.cachedBytes();
    }
    unlockWord(this.i32, W_PAGELOCK);
    for (let c = NCLASS - 1; c >= 0; c--) unlockWord(this.i32, W_CLASSLOCK + c);
    const order = offs.map((_, i) => i).sort((a, b) => offs[a] - offs[b]);
    const out = new Float64Array(order.length * 2);
    for (let k = 0; k < order.length; k++) {
      out[2 * k] = offs[order[k]];
      out[2 * k + 1] = sizes[order[k]];
      if (k > 0 && out[2 * k - 2] + out[2 * k - 1] > out[2 * k]) {
        problems.push(`heap: free blocks overlap at ${out[2 * k - 2]} (+${out[2 * k - 1]}) and ${out[2 * k]}`);
      }
    }
    if (accounting && accounted !== handedOut) {
      problems.push(`heap: accounting: ${this.usedBytes()} in use + ${this.cachedBytes()} cached = ${accounted}, but ${handedOut} handed out of slabs and large spans`);
    }
    return out;
  }

  /** Is [off, off+size) inside one of the free blocks `free` (from check())? */
  static overlapsFree(free: Float64Array, off: number, size: number): boolean {
    let lo = 0;
    let hi = free.length / 2 - 1;
    // Last free block starting before off + size.
    let at = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (free[2 * mid] < off + size) {
        at = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return at >= 0 && free[2 * at] + free[2 * at + 1] > off;
  }
}

// A futex-style mutex on one Int32 word: 0 free, 1 held, 2 held with waiters.
// Spin briefly (critical sections are short), then sleep in Atomics.wait.
export function lockWord(i32: Int32Array, w: number): void {
  if (Atomics.compareExchange(i32, w, 0, 1) === 0) return;
  lockSlow(i32, w, -1);
}

/**
 * lockWord, but the wait gives up (false, nothing taken) once word `stop` of i32 is non-zero: a
 * command behind a slot that a script past busy-reply-threshold holds answers BUSY instead.
 */
export function lockWordUnless(i32: Int32Array, w: number, stop: number): boolean {
  return Atomics.compareExchange(i32, w, 0, 1) === 0 || lockSlow(i32, w, stop);
}

function lockSlow(i32: Int32Array, w: number, stop: number): boolean {
  for (let spin = 0; spin < 200; spin++) {
    if (Atomics.load(i32, w) === 0 && Atomics.compareExchange(i32, w, 0, 1) === 0) return true;
  }
  let c = Atomics.exchange(i32, w, 2);
  while (c !== 0) {
    if (stop >= 0 && Atomics.load(i32, stop) !== 0) return false;
    Atomics.wait(i32, w, 2, stop >= 0 ? 20 : 50);
    c = Atomics.exchange(i32, w, 2);
  }
  return true;
}

export function unlockWord(i32: Int32Array, w: number): void {
  if (Atomics.sub(i32, w, 1) !== 1) {
    Atomics.store(i32, w, 0);
    Atomics.notify(i32, w, 1);
  }
}

export function tryLockWord(i32: Int32Array, w: number): boolean {
  return Atomics.compareExchange(i32, w, 0, 1) === 0;
}

// The shared-memory heap: one SharedArrayBuffer that every thread maps, carved into blocks by a
// size-class allocator. Offsets (u32 byte offsets, 8-aligned) are the references; nothing here
// lives on a V8 heap.
//
// Why one big fixed SharedArrayBuffer: growable SharedArrayBuffers exist on Node 20, but typed
// arrays that track their length run ~15x slower there. A fixed SAB is committed lazily by the
// OS (untouched pages cost no RSS), so reserving the whole 4 GiB address range up front costs
// nothing until keys are written. 4 GiB is V8's typed-array limit: the heap's hard ceiling.
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
// Allocation: size classes (16..64 by 8, then 4 classes per power of two); each class has a
// global free list (linked through the first word of each free block) under its own lock, and
// each thread keeps a small private cache per class, so most allocs and frees touch no shared
// word. Frees may come from any thread: a block freed elsewhere just joins that thread's cache.

export const NCLASS = 111;
const HEADER_BYTES = 64 * 1024;
const W_TOP = 0;          // bump pointer (u32; the hard limit keeps it below 2^32)
const W_LIMIT = 1;        // hard limit: end of the usable reservation (u32, < 2^32)
const W_GROWLOCK = 2;
const W_CAPACITY = 3;     // bytes in use allowed (u32)
const W_DATA = 4;         // start of the allocatable area (after the fixed tables)
const W_FREEHEAD = 16;    // NCLASS words: free list heads
const W_CLASSLOCK = 16 + 128; // NCLASS words: one lock per class
// Per thread, one 64-byte line (no false sharing): f64 bytes in use (handed out minus freed by
// this thread), f64 bytes held in its private caches. Kept in shared memory as they change, so
// INFO and the checker read exact figures of threads between commands.
const W_USED = 512;
const USED_STRIDE = 8;    // f64s per thread
export const MAX_THREADS = 256;
/** Where the store lays out its own fixed areas (directory, versions...): after the header. */
export const HEAP_DATA_START = HEADER_BYTES;
/** Largest usable end of the address range: a top of 2^32 would wrap to 0 in the u32 bump word. */
const MAX_END = 2 ** 32 - 8;
/** What a command may allocate beyond its argument bytes once it passed the capacity check. */
export const RESERVE_FIXED = 64 * 1024;

const CACHE_MAX = 64;
const CACHE_REFILL = 32;
const CACHED_CLASS_MAX_BYTES = 64 * 1024;

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

export class OutOfMemoryError extends Error {}

// native/madvise (built next to the bundle by scripts/build.mjs): gives a freed large block's
// pages back to the OS. Optional: without it freed memory stays resident, for reuse only.
type Release = (view: Uint8Array, offset: number, length: number) => number;
let releasePages: Release | null = null;
try {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  releasePages = (require(require('path').join(__dirname, 'madvise.node')) as { release: Release }).release;
} catch {
  releasePages = null;
}
/** Freed blocks at least this big have their pages (all but the free-list link) released. */
const RELEASE_MIN = 64 * 1024;
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
  private readonly cache: Uint32Array[] = [];
  private readonly cacheLen = new Int32Array(NCLASS);
  private usedSlot: number;
  /** This thread's line of counters: [0] bytes in use, [1] bytes in its private caches. */
  private readonly acct: Float64Array;
  readonly hardLimit: number;
  readonly capacity: number;
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
   * Reserve a heap (main thread, once). `capacity`: bytes in use allowed (undefined: 15/16 of the
   * reservation). The reservation is twice the capacity (at least capacity + 64 MiB), up to what
   * a typed array can address with u32 offsets (4 GiB); untouched pages cost no RSS.
   */
  static create(capacity?: number): SharedArrayBuffer {
    const want = capacity === undefined ? 2 ** 32 : Math.min(2 ** 32, Math.max(2 * capacity, capacity + 64 * 1024 * 1024));
    let size = want;
    let sab: SharedArrayBuffer | null = null;
    // Where the OS refuses to reserve that much address space (strict overcommit, ulimit -v),
    // settle for less rather than not starting.
    while (sab === null) {
      try {
        sab = new SharedArrayBuffer(size);
      } catch (e) {
        if (size <= 64 * 1024 * 1024) throw e;
        size = Math.floor(size / 2);
      }
    }
    const end = Math.min(size, MAX_END);
    let cap = capacity === undefined ? Math.floor(end / 16) * 15 : Math.min(capacity, end);
    // A reservation smaller than asked leaves a sixteenth of it for running commands' overshoot.
    if (end - cap < end / 16) cap = Math.floor(end / 16) * 15;
    const u32 = new Uint32Array(sab);
    u32[W_TOP] = HEADER_BYTES;
    u32[W_DATA] = HEADER_BYTES;
    u32[W_LIMIT] = end;
    u32[W_CAPACITY] = cap & ~7;
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
    this.acct = new Float64Array(sab, this.usedSlot * 8, 2);
    this.hardLimit = this.u32[W_LIMIT];
    this.capacity = this.u32[W_CAPACITY];
    for (let c = 0; c < NCLASS; c++) this.cache.push(new Uint32Array(classSize[c] <= CACHED_CLASS_MAX_BYTES ? CACHE_MAX : 0));
  }

  /** Reserve `bytes` at the start of the data area at start-up, before any alloc (main thread). */
  static reserveFixed(sab: SharedArrayBuffer, bytes: number): number {
    const u32 = new Uint32Array(sab);
    const at = u32[W_TOP];
    u32[W_TOP] = at + ((bytes + 7) & ~7);
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
    if (DEBUG) this.checkPtr(off);
    this.acct[0] -= classSize[c];
    const cache = this.cache[c];
    if (cache.length === 0) {
      // A large block: its pages go back to the OS (the first word stays: the free-list link).
      if (releasePages !== null && classSize[c] >= RELEASE_MIN) releasePages(this.u8, off + 8, classSize[c] - 8);
      this.pushGlobal(c, off, off, 1);
      return;
    }
    let n = this.cacheLen[c];
    if (n === CACHE_MAX) {
      // Hand half back to the global list, linked into a chain first (one lock round trip).
      const u32 = this.u32;
      for (let i = CACHE_MAX - CACHE_REFILL; i < CACHE_MAX - 1; i++) u32[cache[i] >>> 2] = cache[i + 1];
      this.pushGlobal(c, cache[CACHE_MAX - CACHE_REFILL], cache[CACHE_MAX - 1], CACHE_REFILL);
      this.acct[1] -= CACHE_REFILL * classSize[c];
      n = CACHE_MAX - CACHE_REFILL;
    }
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
   * tables included) plus `need` pass the capacity, or when its reserve would not fit before the
   * end of the reservation (fragmentation took the rest). `now` (ms) paces re-reading the other
   * threads' counters.
   */
  hasRoom(need: number, now: number): boolean {
    const own = this.acct[0];
    if (now !== this.othersAt) {
      this.othersUsed = this.usedBytes() - own;
      this.othersAt = now;
    }
    const u32 = this.u32;
    return u32[W_DATA] + this.othersUsed + own + need <= this.capacity &&
      Atomics.load(u32, W_TOP) + need + RESERVE_FIXED <= this.hardLimit;
  }

  /** How full the heap is: bytes in use (fixed tables included) over the capacity. */
  fullness(): number {
    return (this.u32[W_DATA] + this.usedBytes()) / this.capacity;
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
    let t = 0;
    const base = W_USED >>> 1;
    for (let i = 0; i < MAX_THREADS; i++) t += this.f64[base + i * USED_STRIDE];
    return t;
  }

  /** Bytes held in threads' private caches (free, but only for their thread). */
  cachedBytes(): number {
    let t = 0;
    const base = (W_USED >>> 1) + 1;
    for (let i = 0; i < MAX_THREADS; i++) t += this.f64[base + i * USED_STRIDE];
    return t;
  }

  /** Bytes of the address range ever touched (what RSS can at most reflect). */
  topBytes(): number {
    return Atomics.load(this.u32, W_TOP);
  }

  private refill(c: number): void {
    const cache = this.cache[c];
    const u32 = this.u32;
    lockWord(this.i32, W_CLASSLOCK + c);
    let n = 0;
    let head = u32[W_FREEHEAD + c];
    while (head !== 0 && n < CACHE_REFILL) {
      cache[n++] = head;
      head = u32[head >>> 2];
    }
    u32[W_FREEHEAD + c] = head;
    unlockWord(this.i32, W_CLASSLOCK + c);
    if (n > 0) {
      this.cacheLen[c] = n;
      this.acct[1] += n * classSize[c];
      return;
    }
    // Carve a batch from fresh memory.
    const sz = classSize[c];
    const count = Math.max(1, Math.min(CACHE_REFILL, Math.floor(16384 / sz)));
    const at = this.bump(sz * count);
    for (let i = 0; i < count; i++) cache[i] = at + (count - 1 - i) * sz;
    this.cacheLen[c] = count;
    this.acct[1] += count * sz;
  }

  private allocLarge(c: number): number {
    const u32 = this.u32;
    lockWord(this.i32, W_CLASSLOCK + c);
    const head = u32[W_FREEHEAD + c];
    if (head !== 0) u32[W_FREEHEAD + c] = u32[head >>> 2];
    unlockWord(this.i32, W_CLASSLOCK + c);
    const at = head !== 0 ? head : this.bump(classSize[c]);
    this.acct[0] += classSize[c];
    return at;
  }

  private pushGlobal(c: number, first: number, last: number, _n: number): void {
    const u32 = this.u32;
    lockWord(this.i32, W_CLASSLOCK + c);
    u32[last >>> 2] = u32[W_FREEHEAD + c];
    u32[W_FREEHEAD + c] = first;
    unlockWord(this.i32, W_CLASSLOCK + c);
  }

  private bump(bytes: number): number {
    const u32 = this.u32;
    const limit = this.hardLimit;
    for (;;) {
      const top = Atomics.load(u32, W_TOP);
      const next = top + bytes;
      if (next > limit) throw new OutOfMemoryError('out of shared memory');
      // CAS on the signed view: the u32 bit pattern round-trips through |0.
      if (Atomics.compareExchange(this.i32, W_TOP, top | 0, next | 0) === (top | 0)) return top;
    }
  }

  checkPtr(off: number): void {
    if (off < HEADER_BYTES || off >= Atomics.load(this.u32, W_TOP) || (off & 7) !== 0) {
      throw new Error(`heap: bad pointer ${off}`);
    }
  }

  /**
   * Structure check of the allocator (the caller holds every slot lock, so threads are between
   * commands): every free list is a chain of distinct, in-range blocks; no two free blocks
   * overlap; and the carved area adds up: bytes in use + bytes in private caches + bytes on the
   * global free lists = the bumped range. Returns the free blocks (offset, size), sorted by offset,
   * so the keyspace checker can see that no live block is also free.
   */
  check(problems: string[], accounting = true): Float64Array {
    const top = Atomics.load(this.u32, W_TOP);
    const data = this.u32[W_DATA];
    const offs: number[] = [];
    const sizes: number[] = [];
    let globalFree = 0;
    const take = (p: number, c: number, where: string): boolean => {
      if (p < data || p + classSize[c] > top || (p & 7) !== 0) {
        problems.push(`heap: ${where} of class ${c} holds bad pointer ${p}`);
        return false;
      }
      offs.push(p);
      sizes.push(classSize[c]);
      return true;
    };
    for (let c = 0; c < NCLASS; c++) {
      lockWord(this.i32, W_CLASSLOCK + c);
      let p = this.u32[W_FREEHEAD + c];
      let n = 0;
      while (p !== 0) {
        if (!take(p, c, 'free list')) break;
        globalFree += classSize[c];
        if (++n > 1e8) {
          problems.push(`heap: class ${c} free list cycles`);
          break;
        }
        p = this.u32[p >>> 2];
      }
      unlockWord(this.i32, W_CLASSLOCK + c);
      const cache = this.cache[c];
      for (let i = 0; i < this.cacheLen[c]; i++) take(cache[i], c, 'thread cache');
    }
    const order = offs.map((_, i) => i).sort((a, b) => offs[a] - offs[b]);
    const out = new Float64Array(order.length * 2);
    for (let k = 0; k < order.length; k++) {
      out[2 * k] = offs[order[k]];
      out[2 * k + 1] = sizes[order[k]];
      if (k > 0 && out[2 * k - 2] + out[2 * k - 1] > out[2 * k]) {
        problems.push(`heap: free blocks overlap at ${out[2 * k - 2]} (+${out[2 * k - 1]}) and ${out[2 * k]}`);
      }
    }
    const accounted = this.usedBytes() + this.cachedBytes() + globalFree;
    if (accounting && accounted !== top - data) {
      problems.push(`heap: accounting: ${this.usedBytes()} in use + ${this.cachedBytes()} cached + ${globalFree} free = ${accounted}, but ${top - data} carved`);
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
  lockSlow(i32, w);
}

function lockSlow(i32: Int32Array, w: number): void {
  for (let spin = 0; spin < 200; spin++) {
    if (Atomics.load(i32, w) === 0 && Atomics.compareExchange(i32, w, 0, 1) === 0) return;
  }
  let c = Atomics.exchange(i32, w, 2);
  while (c !== 0) {
    Atomics.wait(i32, w, 2, 50);
    c = Atomics.exchange(i32, w, 2);
  }
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

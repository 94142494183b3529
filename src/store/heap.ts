// The shared-memory heap: one SharedArrayBuffer that every thread maps, carved into blocks by a
// size-class allocator. Offsets (u32 byte offsets, 8-aligned) are the references; nothing here
// lives on a V8 heap.
//
// Why one big fixed SharedArrayBuffer: growable SharedArrayBuffers exist on Node 20, but typed
// arrays that track their length run ~15x slower there. A fixed SAB is committed lazily by the
// OS (untouched pages cost no RSS), so reserving the whole 4 GiB address range up front costs
// nothing until keys are written. 4 GiB is V8's typed-array limit: the heap's hard ceiling.
//
// Allocation: size classes (16..64 by 8, then 4 classes per power of two); each class has a
// global free list (linked through the first word of each free block) under its own lock, and
// each thread keeps a small private cache per class, so most allocs and frees touch no shared
// word. Frees may come from any thread: a block freed elsewhere just joins that thread's cache.

export const NCLASS = 111;
const HEADER_BYTES = 64 * 1024;
const W_TOP = 0;          // bump pointer (u32)
const W_LIMIT = 1;        // heap size (u32, 0 means 2^32)
const W_GROWLOCK = 2;
const W_FREEHEAD = 16;    // NCLASS words: free list heads
const W_CLASSLOCK = 16 + 128; // NCLASS words: one lock per class
const W_USED = 512;       // f64 index base (per thread used bytes), 256 threads max
export const MAX_THREADS = 256;
/** Where the store lays out its own fixed areas (directory, versions...): after the header. */
export const HEAP_DATA_START = HEADER_BYTES;

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
  private usedLocal = 0;
  private usedSlot: number;

  /** Reserve a heap (main thread, once). */
  static create(bytes: number): SharedArrayBuffer {
    let size = Math.min(bytes, 2 ** 32);
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
    const u32 = new Uint32Array(sab);
    u32[W_TOP] = HEADER_BYTES;
    u32[W_LIMIT] = size === 2 ** 32 ? 0 : size;
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
    this.usedSlot = (W_USED >>> 1) + threadId;
    for (let c = 0; c < NCLASS; c++) this.cache.push(new Uint32Array(classSize[c] <= CACHED_CLASS_MAX_BYTES ? CACHE_MAX : 0));
  }

  /** Reserve `bytes` at the start of the data area at start-up, before any alloc (main thread). */
  static reserveFixed(sab: SharedArrayBuffer, bytes: number): number {
    const u32 = new Uint32Array(sab);
    const at = u32[W_TOP];
    u32[W_TOP] = at + ((bytes + 7) & ~7);
    return at;
  }

  alloc(size: number): number {
    const c = classOf(size);
    const cache = this.cache[c];
    let n = this.cacheLen[c];
    if (n > 0) {
      this.usedLocal += classSize[c];
      this.cacheLen[c] = --n;
      return cache[n];
    }
    if (cache.length === 0) return this.allocLarge(c);
    this.refill(c);
    this.usedLocal += classSize[c];
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
    this.usedLocal -= classSize[c];
    const cache = this.cache[c];
    if (cache.length === 0) {
      this.pushGlobal(c, off, off, 1);
      return;
    }
    let n = this.cacheLen[c];
    if (n === CACHE_MAX) {
      // Hand half back to the global list, linked into a chain first (one lock round trip).
      const u32 = this.u32;
      for (let i = CACHE_MAX - CACHE_REFILL; i < CACHE_MAX - 1; i++) u32[cache[i] >>> 2] = cache[i + 1];
      this.pushGlobal(c, cache[CACHE_MAX - CACHE_REFILL], cache[CACHE_MAX - 1], CACHE_REFILL);
      n = CACHE_MAX - CACHE_REFILL;
    }
    cache[n] = off;
    this.cacheLen[c] = n + 1;
  }

  /** Capacity in bytes of a block allocated for `size`. */
  static capacity(size: number): number {
    return classSize[classOf(size)];
  }

  /** Publish this thread's usage counter (called from time to time, e.g. cron and INFO). */
  publishUsed(): void {
    this.f64[this.usedSlot] = this.usedLocal;
  }

  /** Bytes this thread handed out minus what it freed (may be negative: frees of others' blocks). */
  localUsed(): number {
    return this.usedLocal;
  }

  /** Bytes handed out and not freed, over all threads (as last published, plus ours now). */
  usedBytes(): number {
    this.publishUsed();
    let t = 0;
    const base = W_USED >>> 1;
    for (let i = 0; i < MAX_THREADS; i++) t += this.f64[base + i];
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
      return;
    }
    // Carve a batch from fresh memory.
    const sz = classSize[c];
    const count = Math.max(1, Math.min(CACHE_REFILL, Math.floor(16384 / sz)));
    const at = this.bump(sz * count);
    for (let i = 0; i < count; i++) cache[i] = at + (count - 1 - i) * sz;
    this.cacheLen[c] = count;
  }

  private allocLarge(c: number): number {
    const u32 = this.u32;
    lockWord(this.i32, W_CLASSLOCK + c);
    const head = u32[W_FREEHEAD + c];
    if (head !== 0) u32[W_FREEHEAD + c] = u32[head >>> 2];
    unlockWord(this.i32, W_CLASSLOCK + c);
    const at = head !== 0 ? head : this.bump(classSize[c]);
    this.usedLocal += classSize[c];
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
    const limit = u32[W_LIMIT] === 0 ? 2 ** 32 : u32[W_LIMIT];
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

  /** Structure check of the allocator: every free list is a chain of valid, distinct blocks. */
  check(problems: string[]): void {
    const top = Atomics.load(this.u32, W_TOP);
    for (let c = 0; c < NCLASS; c++) {
      lockWord(this.i32, W_CLASSLOCK + c);
      let p = this.u32[W_FREEHEAD + c];
      let n = 0;
      while (p !== 0) {
        if (p < HEADER_BYTES || p >= top || (p & 7) !== 0) {
          problems.push(`heap: class ${c} free list holds bad pointer ${p}`);
          break;
        }
        if (++n > 1e8) {
          problems.push(`heap: class ${c} free list cycles`);
          break;
        }
        p = this.u32[p >>> 2];
      }
      unlockWord(this.i32, W_CLASSLOCK + c);
    }
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

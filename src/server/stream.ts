// The propagation stream: one ordered stream of RESP commands in shared memory, with a global byte
// offset (Redis's master_repl_offset), that every thread appends to and that readers on other
// threads (the AOF writer, replication links, the test capture) consume.
//
// Layout of the stream's SharedArrayBuffer:
//   Int32 header words (below), reader slots from W_READERS_AT: [active, consumed offset low 32],
//   a Float64 with the full write offset at F_OFFSET, then the ring (RING_AT .. end, a power of 2).
//
// Writers append a whole unit (a command's effects, MULTI...EXEC included) under the append lock
// (W_LOCK), so units never interleave; they do so while holding the unit's slot locks, which
// makes the stream a valid serial order of everything that ran on every thread. Readers publish
// how far they have consumed; a writer that would overwrite bytes a reader has not consumed
// waits (backpressure) on W_CONSUMED, holding its locks: readers must therefore never take slot
// locks or the append lock while they hold unconsumed data (they only copy bytes out).
// With no reader attached writers append nothing: one Atomics.load of W_READERS per write unit.
//
// What a unit costs with a reader attached is kept small (measured: the wake-ups were most of it):
// writers wake readers only when one is waiting (W_WAITERS), and a worker running sockets'
// batches of commands wakes them once at the end of its event-loop turn (holdWakes/releaseWakes,
// as Redis writes the AOF and feeds replicas before it sleeps), not once per unit; readers notify writers
// only when one waits for room (W_ROOM_WAITERS); the room left before the slowest reader is
// cached (F_LIMIT), so a unit does not scan the reader slots.
import { lockWord, unlockWord, tryLockWord } from '../store/heap';

const W_LOCK = 0;
/** Readers attached: 0 means writers skip propagation entirely. */
const W_READERS = 1;
/** Low 32 bits of the write offset, published after the bytes are in the ring (readers wait on it). */
const W_WRITTEN = 2;
/** Bumped and notified whenever a reader consumes (writers waiting for room wait on it). */
const W_CONSUMED = 3;
/** The db the stream's commands apply to now (-1: unknown, the next unit starts with SELECT). */
const W_DB = 4;
/** Readers blocked in wait()/waitAsync(): writers notify W_WRITTEN only when this is not 0. */
const W_WAITERS = 5;
/** Writers blocked for room: readers notify W_CONSUMED only when this is not 0. */
const W_ROOM_WAITERS = 6;
/**
 * The AOF writer asleep (counted apart from W_WAITERS): a worker whose turn hook wrote the AOF
 * itself (aof-inline.ts) does not wake it; every other publish does.
 */
const W_AOF_WAITERS = 7;
const W_READERS_AT = 8;
export const MAX_READERS = 16;
const F_OFFSET = 64 / 8 + 32; // Float64 index (byte 320), after the reader slots
/** Offset below which writers may write without looking at the readers (append lock held). */
const F_LIMIT = F_OFFSET + 1;
// Words after the Float64s (bytes 336..511).
/** Bytes of the main ring (a power of 2); the AOF side ring follows it. */
const W_RING_BYTES = 84;
/** The AOF writer's reader slot + 1 (0: no AOF attached). */
const W_AOF_READER = 85;
/** Side ring: bytes ever written (writers, append lock held) and ever freed (the AOF's consumer), mod 2^32. */
const W_SIDE_HEAD = 86;
const W_SIDE_TAIL = 87;
const RING_AT = 512;

/**
 * A stream of 2^k bytes of ring (default 8 MiB; SHARDIS_STREAM_BYTES overrides), and half as
 * much of AOF side ring after it (see putAofSide), lazily committed.
 */
export function createStreamBuffer(ringBytes = Number(process.env.SHARDIS_STREAM_BYTES ?? 8 * 1048576)): SharedArrayBuffer {
  let ring = 1 << 16;
  while (ring < ringBytes && ring < 1 << 30) ring *= 2;
  const sab = new SharedArrayBuffer(RING_AT + ring + ring / 2);
  const i32 = new Int32Array(sab);
  i32[W_DB] = -1;
  i32[W_RING_BYTES] = ring;
  return sab;
}

/** Side record header: payload length (u32), 0 (u32), at (f64), skipTo (f64). */
const SIDE_HDR = 24;
/** A length word that says: the record continues at the side ring's start. */
const SIDE_WRAP = 0xffffffff;

/** Bytes a side record of len payload bytes takes (8-byte aligned). */
function sideRecordBytes(len: number): number {
  return (SIDE_HDR + len + 7) & ~7;
}

/** One record of the AOF side ring, as the AOF's consumer reads it (sideAt). */
export interface AofSideRecord {
  /** Stream offset the payload goes before (a unit's start). */
  at: number;
  /** The AOF skips the stream's bytes [at, skipTo) (what only the replicas get). */
  skipTo: number;
  /** What only the AOF gets (a copy), possibly empty. */
  payload: Buffer;
  /** The side ring's tail past this record. */
  next: number;
}

/** Bytes of a RESP header (`*3\r\n`, `$11\r\n`). */
function headerLen(n: number): number {
  return n < 10 ? 4 : n < 100 ? 5 : String(n).length + 3;
}

/** Write a RESP header at p; returns the position after it. */
export function putHeader(b: Uint8Array, p: number, mark: number, n: number): number {
  b[p++] = mark;
  if (n < 10) b[p++] = 48 + n;
  else if (n < 100) {
    b[p++] = 48 + ((n / 10) | 0);
    b[p++] = 48 + (n % 10);
  } else {
    const d = String(n);
    for (let i = 0; i < d.length; i++) b[p++] = d.charCodeAt(i);
  }
  b[p++] = 13;
  b[p++] = 10;
  return p;
}

type WaitAsync = (a: Int32Array, i: number, v: number, t: number) => { async: boolean; value: Promise<unknown> | string };

export class Stream {
  readonly i32: Int32Array;
  readonly u32: Uint32Array;
  readonly f64: Float64Array;
  readonly ring: Uint8Array;
  readonly mask: number;
  readonly size: number;
  /** This thread's batch depth (holdWakes) and whether it appended during the batch. */
  private holding = 0;
  private wakeDue = false;
  private wakeQueued = false;
  /**
   * Run at the end of an event-loop turn in which this thread appended, before readers are woken
   * (a worker writes the AOF itself there when it can, as Redis's beforeSleep; aof-hold.ts).
   * True when it wrote everything published so far to the AOF: the AOF writer is not woken.
   */
  turnHook: (() => boolean) | null = null;

  /** The AOF side ring (after the main ring) and a view for its record headers. */
  private readonly side: Uint8Array;
  private readonly sideView: DataView;

  constructor(readonly sab: SharedArrayBuffer) {
    this.i32 = new Int32Array(sab);
    this.u32 = new Uint32Array(sab);
    this.f64 = new Float64Array(sab);
    const ring = this.i32[W_RING_BYTES];
    this.ring = new Uint8Array(sab, RING_AT, ring);
    this.size = this.ring.length;
    this.mask = this.size - 1;
    this.side = new Uint8Array(sab, RING_AT + ring);
    this.sideView = new DataView(sab, RING_AT + ring);
  }

  /** Is any reader attached? The one atomic load a write pays when nobody reads. */
  active(): boolean {
    return Atomics.load(this.i32, W_READERS) !== 0;
  }

  /** The global offset: bytes ever appended (as INFO's master_repl_offset). */
  offset(): number {
    lockWord(this.i32, W_LOCK);
    const o = this.f64[F_OFFSET];
    unlockWord(this.i32, W_LOCK);
    return o;
  }

  /**
   * The write offset read without the append lock: for the thread that just appended, at least
   * the end of what it appended (WAIT's offset of a client's last write); maybe newer.
   */
  lastOffset(): number {
    return this.f64[F_OFFSET];
  }

  // ---- writers --------------------------------------------------------------------------------

  /** Take the append lock (a unit is appended with put() calls, then endAppend()). */
  beginAppend(): void {
    lockWord(this.i32, W_LOCK);
  }

  /** The db the stream is in now (call between beginAppend and endAppend). */
  get db(): number {
    return this.i32[W_DB];
  }

  set db(v: number) {
    this.i32[W_DB] = v;
  }

  /** Append bytes (append lock held), waiting for readers when the ring is full. */
  put(src: Uint8Array, start: number, end: number): void {
    let off = this.f64[F_OFFSET];
    // Common case: the whole piece fits below the cached limit and does not wrap; small pieces
    // (a SET's few dozen bytes) by a loop, cheaper than a subarray and a set().
    const n0 = end - start;
    if (off + n0 <= this.f64[F_LIMIT]) {
      const at = this.ringAt(off);
      if (at + n0 <= this.size) {
        if (n0 <= 64) {
          const ring = this.ring;
          for (let i = 0; i < n0; i++) ring[at + i] = src[start + i];
        } else {
          this.ring.set(src.subarray(start, end), at);
        }
        this.f64[F_OFFSET] = off + n0;
        return;
      }
    }
    while (start < end) {
      const room = this.room(off);
      if (room === 0) {
        // Publish what is there so readers can make room, then wait for one to consume.
        Atomics.store(this.u32, W_WRITTEN, off % 4294967296);
        Atomics.notify(this.i32, W_WRITTEN);
        const at = off;
        this.waitForRoom(() => this.room(at) === 0 && this.active());
        continue;
      }
      const n = Math.min(room, end - start);
      const at = off % this.size;
      const first = Math.min(n, this.size - at);
      this.ring.set(src.subarray(start, start + first), at);
      if (first < n) this.ring.set(src.subarray(start + first, start + n), 0);
      start += n;
      off += n;
      this.f64[F_OFFSET] = off;
    }
  }

  /**
   * Sleep (up to 10 ms) until a reader makes room, unless `full()` no longer holds once this
   * writer counts as waiting (a reader that made room before that count did not notify).
   */
  private waitForRoom(full: () => boolean): void {
    Atomics.add(this.i32, W_ROOM_WAITERS, 1);
    const seen = Atomics.load(this.i32, W_CONSUMED);
    if (full()) Atomics.wait(this.i32, W_CONSUMED, seen, 10);
    Atomics.sub(this.i32, W_ROOM_WAITERS, 1);
  }

  /** A reader made room: count it, and wake writers waiting for it (only if any). */
  private roomMade(): void {
    Atomics.add(this.i32, W_CONSUMED, 1);
    // A writer counts itself in W_ROOM_WAITERS before it re-checks the room (seq-cst both ways).
    if (Atomics.load(this.i32, W_ROOM_WAITERS) !== 0) Atomics.notify(this.i32, W_CONSUMED);
  }

  /** Where global offset off lies in the ring: off % size, exact for a power of 2 and cheaper than a double's fmod. */
  private ringAt(off: number): number {
    return off - Math.floor(off / this.size) * this.size;
  }

  /**
   * Append one command, RESP-encoded from its arguments straight into the ring (append lock
   * held): the common unit, a single command, copied once instead of staged and copied again.
   * False (nothing written) when it does not fit in one piece (the ring wraps there, or readers
   * must make room first): the caller stages it and uses put().
   */
  putCommand(argv: readonly Uint8Array[]): boolean {
    const argc = argv.length;
    let n = headerLen(argc);
    for (let i = 0; i < argc; i++) n += headerLen(argv[i].length) + argv[i].length + 2;
    const off = this.f64[F_OFFSET];
    if (off + n > this.f64[F_LIMIT] && n > this.room(off)) return false;
    let p = this.ringAt(off);
    if (p + n > this.size) return false;
    const ring = this.ring;
    p = putHeader(ring, p, 0x2a, argc);
    for (let i = 0; i < argc; i++) {
      const a = argv[i];
      const len = a.length;
      p = putHeader(ring, p, 0x24, len);
      if (len <= 32) for (let j = 0; j < len; j++) ring[p + j] = a[j];
      else ring.set(a, p);
      p += len;
      ring[p++] = 13;
      ring[p++] = 10;
    }
    this.f64[F_OFFSET] = off + n;
    return true;
  }

  /**
   * Take the append lock if free (never waits: a thread that holds the AOF write lock must not
   * wait for writers, which may be waiting for the AOF to consume). lastOffset() is then a unit
   * boundary with every byte before it in the ring.
   */
  tryLockAppend(): boolean {
    return tryLockWord(this.i32, W_LOCK);
  }

  unlockAppend(): void {
    unlockWord(this.i32, W_LOCK);
  }

  /** Publish the unit and release the append lock. */
  endAppend(): void {
    const lo = this.f64[F_OFFSET] % 4294967296;
    const changed = Atomics.load(this.u32, W_WRITTEN) !== lo;
    if (changed) Atomics.store(this.u32, W_WRITTEN, lo);
    unlockWord(this.i32, W_LOCK);
    // After the store above (seq-cst): a reader that counted itself in W_WAITERS after this load
    // sees the new W_WRITTEN in its wait and does not sleep.
    if (changed) {
      if (this.holding > 0) this.wakeDue = true;
      else this.wake();
    }
  }

  /** Notify waiting readers (only if any: a notify takes a process-wide lock in V8). */
  private wake(aofCovered = false): void {
    if (Atomics.load(this.i32, W_WAITERS) !== 0 || (!aofCovered && Atomics.load(this.i32, W_AOF_WAITERS) !== 0)) Atomics.notify(this.i32, W_WRITTEN);
  }

  /**
   * Hold this thread's reader wake-ups (a worker around one socket batch): units are still
   * published at once (a reader that looks sees them), only the notify waits, until the end of
   * the event-loop turn after the last releaseWakes(). Nests; each holdWakes() needs its
   * releaseWakes(). Only on a thread with an event loop (setImmediate).
   */
  holdWakes(): void {
    this.holding++;
  }

  releaseWakes(): void {
    if (--this.holding > 0 || !this.wakeDue || this.wakeQueued) return;
    // No reader asleep now: nothing to notify for what is published (a reader that counts itself
    // in W_WAITERS later sees the new W_WRITTEN and does not sleep). Saves a setImmediate per
    // turn while readers are busy or napping.
    if (Atomics.load(this.i32, W_WAITERS) === 0 && Atomics.load(this.i32, W_AOF_WAITERS) === 0 && this.turnHook === null) {
      this.wakeDue = false;
      return;
    }
    // Once per event-loop turn (every socket read in it), as Redis's beforeSleep: a notify that
    // finds a reader asleep costs the writer a futex wake (measured ~10 us on a busy 2-core box).
    this.wakeQueued = true;
    setImmediate(this.wakeHeld);
  }

  private readonly wakeHeld = (): void => {
    this.wakeQueued = false;
    if (!this.wakeDue) return;
    this.wakeDue = false;
    this.wake(this.turnHook !== null && this.turnHook());
  };

  /**
   * Bytes that can be written before the slowest reader's unconsumed data (ring size when none);
   * caches the limit (append lock held). Stale is safe: readers only ever make more room.
   */
  private room(off: number): number {
    const lo = off % 4294967296;
    let used = 0;
    for (let r = 0; r < MAX_READERS; r++) {
      const w = W_READERS_AT + r * 2;
      if (Atomics.load(this.i32, w) === 0) continue;
      const u = (lo - Atomics.load(this.u32, w + 1)) >>> 0;
      if (u > used) used = u;
    }
    this.f64[F_LIMIT] = off + this.size - used;
    return this.size - used;
  }

  // ---- what only the AOF or only the replicas get (redis.set_repl) -----------------------------
  // The AOF and the replicas read one stream, whose offsets are the replication offsets, so bytes
  // only the AOF must get cannot be in it. A unit whose AOF part differs from its replicas' part
  // appends the replicas' part to the stream as usual and a side record to the side ring: "at
  // stream offset `at`, the AOF writes `payload` and skips the stream's bytes up to `skipTo`".
  // Records are written under the append lock (so in stream order) and read and freed only by
  // the AOF's consumer (aof-side.ts), which takes each when it reaches its offset.

  /** Is the AOF writer attached? */
  aofAttached(): boolean {
    return Atomics.load(this.i32, W_AOF_READER) !== 0;
  }

  /** Readers other than the AOF writer (the replication backlog, the test capture). */
  otherReaders(): number {
    return Atomics.load(this.i32, W_READERS) - (this.aofAttached() ? 1 : 0);
  }

  /** Does a side record of len payload bytes fit in the side ring (putAofSide)? */
  sideFits(len: number): boolean {
    return SIDE_HDR + len + 8 <= this.side.length / 2;
  }

  /**
   * Append a side record (append lock held; call before endAppend, after the unit's stream
   * bytes: skipTo is where they end); its size checked with sideFits. Waits for the AOF to make
   * room.
   */
  putAofSide(at: number, skipTo: number, payload: Uint8Array, len: number): void {
    const size = this.side.length;
    const need = sideRecordBytes(len);
    const head = this.i32[W_SIDE_HEAD] >>> 0; // only writers move it, under the append lock
    const pos = head & (size - 1);
    const contiguous = size - pos;
    const total = contiguous < need ? contiguous + need : need;
    const full = (): boolean => this.aofAttached() && ((head - this.sideTail()) >>> 0) + total > size;
    while (full()) this.waitForRoom(full);
    // Nobody to write it for: its AOF detached (and freed every record) while this waited.
    if (!this.aofAttached()) return;
    const v = this.sideView;
    let p = pos;
    if (contiguous < need) {
      v.setUint32(p, SIDE_WRAP, true);
      p = 0;
    }
    v.setUint32(p, len, true);
    v.setUint32(p + 4, 0, true);
    v.setFloat64(p + 8, at, true);
    v.setFloat64(p + 16, skipTo, true);
    this.side.set(payload.subarray(0, len), p + SIDE_HDR);
    Atomics.store(this.i32, W_SIDE_HEAD, (head + total) | 0);
  }

  /** The side ring's tail now (where the AOF's consumer starts reading records). */
  sideTail(): number {
    return Atomics.load(this.i32, W_SIDE_TAIL) >>> 0;
  }

  /** The record at side position `tail`, or null when none is there yet. */
  sideAt(tail: number): AofSideRecord | null {
    const size = this.side.length;
    const head = Atomics.load(this.i32, W_SIDE_HEAD) >>> 0;
    if (tail === head) return null;
    let pos = tail & (size - 1);
    let t = tail;
    const v = this.sideView;
    // A record that did not fit before the ring's end left a wrap mark there (always room for it:
    // records are 8-byte aligned).
    if (v.getUint32(pos, true) === SIDE_WRAP) {
      t = (t + (size - pos)) >>> 0;
      pos = 0;
    }
    const len = v.getUint32(pos, true);
    const at = v.getFloat64(pos + 8, true);
    const skipTo = v.getFloat64(pos + 16, true);
    const payload = Buffer.from(this.side.subarray(pos + SIDE_HDR, pos + SIDE_HDR + len));
    return { at, skipTo, payload, next: (t + sideRecordBytes(len)) >>> 0 };
  }

  /** The AOF's consumer is done with every record before side position `tail`. */
  sideFree(tail: number): void {
    Atomics.store(this.i32, W_SIDE_TAIL, tail | 0);
    this.roomMade();
  }

  // ---- readers --------------------------------------------------------------------------------

  /**
   * Attach a reader from this point on (any thread). The next unit appended starts with SELECT,
   * so what the reader sees is self-contained. Returns null when MAX_READERS are attached.
   */
  attach(aof = false): StreamReader | null {
    lockWord(this.i32, W_LOCK);
    try {
      for (let r = 0; r < MAX_READERS; r++) {
        const w = W_READERS_AT + r * 2;
        if (Atomics.load(this.i32, w) !== 0) continue;
        const off = this.f64[F_OFFSET];
        Atomics.store(this.u32, w + 1, off % 4294967296);
        Atomics.store(this.i32, w, 1);
        Atomics.add(this.i32, W_READERS, 1);
        if (aof) {
          // The AOF writer (one at a time): side records start from here.
          Atomics.store(this.i32, W_AOF_READER, r + 1);
          Atomics.store(this.i32, W_SIDE_TAIL, this.i32[W_SIDE_HEAD]);
        }
        this.i32[W_DB] = -1;
        // The new reader starts at the write offset, so any cached limit still holds; rescan anyway.
        this.f64[F_LIMIT] = 0;
        return new StreamReader(this, r, off);
      }
      return null;
    } finally {
      unlockWord(this.i32, W_LOCK);
    }
  }

  /** A reader by slot, attached by another thread (hand the slot and start offset over). */
  reader(slot: number, offset: number): StreamReader {
    return new StreamReader(this, slot, offset);
  }

  /** @internal */
  consumed(slot: number, offset: number): void {
    Atomics.store(this.u32, W_READERS_AT + slot * 2 + 1, offset % 4294967296);
    this.roomMade();
  }

  /** @internal */
  detach(slot: number): void {
    const w = W_READERS_AT + slot * 2;
    if (Atomics.exchange(this.i32, w, 0) === 0) return;
    if (Atomics.compareExchange(this.i32, W_AOF_READER, slot + 1, 0) === slot + 1) {
      // Nobody reads the side records now: free them (a writer waiting for side room goes on).
      Atomics.store(this.i32, W_SIDE_TAIL, Atomics.load(this.i32, W_SIDE_HEAD));
    }
    Atomics.sub(this.i32, W_READERS, 1);
    Atomics.add(this.i32, W_CONSUMED, 1);
    Atomics.notify(this.i32, W_CONSUMED);
  }

  /** @internal Low 32 bits of the published write offset. */
  written(): number {
    return Atomics.load(this.u32, W_WRITTEN);
  }

  /**
   * @internal Sleep while the published offset is lo. Counted in W_WAITERS first, so a writer
   * that publishes after that count notifies, and one that published before it changed W_WRITTEN
   * (the wait then returns at once).
   */
  waitWritten(lo: number, timeoutMs: number): void {
    Atomics.add(this.i32, W_WAITERS, 1);
    Atomics.wait(this.i32, W_WRITTEN, lo | 0, timeoutMs);
    Atomics.sub(this.i32, W_WAITERS, 1);
  }

  /** @internal */
  waitWrittenAsync(lo: number, timeoutMs: number, counter = W_WAITERS): Promise<unknown> {
    Atomics.add(this.i32, counter, 1);
    // Node 20 has Atomics.waitAsync; the TypeScript lib in use does not declare it yet.
    const r = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync(this.i32, W_WRITTEN, lo | 0, timeoutMs);
    if (typeof r.value === 'string') {
      Atomics.sub(this.i32, counter, 1);
      return Promise.resolve(r.value);
    }
    return r.value.then((v) => {
      Atomics.sub(this.i32, counter, 1);
      return v;
    });
  }
}

/**
 * One consumer of the stream. read() copies out what is available from its offset on; release()
 * says those bytes may be overwritten (until then writers wait for them). Close with detach().
 */
export class StreamReader {
  /** Global offset of the next byte this reader will read. */
  offset: number;
  private released: number;

  constructor(
    readonly stream: Stream,
    readonly slot: number,
    startOffset: number,
  ) {
    this.offset = startOffset;
    this.released = startOffset;
  }

  /** Bytes appended and not yet read by this reader. */
  available(): number {
    return (this.stream.written() - (this.offset % 4294967296)) >>> 0;
  }

  /** Copy up to max available bytes out (advancing offset), or null when there are none. */
  read(max = 1 << 20): Buffer | null {
    const n = Math.min(this.available(), max);
    if (n === 0) return null;
    return this.copyOut(Buffer.allocUnsafe(n), n);
  }

  /**
   * read() into the caller's buffer (up to its length): a view of `into`, or null. For a reader
   * that is done with the bytes before its next read: a fresh buffer per read of tens of KB grew
   * and trimmed the thread's malloc arena each time (an mprotect per read, whose TLB shootdown
   * interrupts the cores running the workers), a pooled one page-faulted its memory in anew.
   */
  readInto(into: Buffer): Buffer | null {
    const n = Math.min(this.available(), into.length);
    if (n === 0) return null;
    return this.copyOut(into, n);
  }

  private copyOut(out: Buffer, n: number): Buffer {
    const s = this.stream;
    const at = this.offset % s.size;
    const first = Math.min(n, s.size - at);
    out.set(s.ring.subarray(at, at + first), 0);
    if (first < n) out.set(s.ring.subarray(0, n - first), first);
    this.offset += n;
    return n === out.length ? out : out.subarray(0, n);
  }

  /** Another thread consumed (and released) up to `offset` for this reader (aof-inline.ts). */
  skipTo(offset: number): void {
    if (offset <= this.offset) return;
    this.offset = offset;
    this.released = offset;
  }

  /** Let writers reuse everything read so far. */
  release(): void {
    if (this.released === this.offset) return;
    this.released = this.offset;
    this.stream.consumed(this.slot, this.offset);
  }

  /** Block this thread until something is appended (or timeoutMs passes). */
  wait(timeoutMs: number): void {
    if (this.available() === 0) this.stream.waitWritten(this.offset % 4294967296, timeoutMs);
  }

  /**
   * Resolve when something is appended (or timeoutMs passes), without blocking the thread. The
   * AOF writer (aofWriter) is not woken by a worker that wrote the AOF itself (Stream.turnHook).
   */
  waitAsync(timeoutMs: number, aofWriter = false): Promise<unknown> {
    if (this.available() !== 0) return Promise.resolve('ok');
    return this.stream.waitWrittenAsync(this.offset % 4294967296, timeoutMs, aofWriter ? W_AOF_WAITERS : W_WAITERS);
  }

  detach(): void {
    this.stream.detach(this.slot);
  }
}

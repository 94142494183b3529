// AOF state shared by every thread (one small SharedArrayBuffer, created by the main thread and
// handed to the workers and the AOF writer thread): what INFO persistence shows, whether writes
// are refused (-MISCONF), and for `appendfsync always` the durable offset that releases replies.
//
// Int32 words (Atomics):
import { constants as osConstants } from 'os';
import { strerror } from '../config/directives';

export const A_HOLD = 0;            // 1: AOF on: replies wait for the write (always: the fsync)
export const A_DURABLE_LO = 1;      // low 32 bits of the stream offset known durable (always) / written
export const A_DURABLE_SEQ = 2;     // bumped and notified whenever A_DURABLE_LO moves
export const A_ENABLED = 3;         // aof_enabled: 0 off, 1 on, 2 waiting for the first rewrite
export const A_WRITE_ERR = 4;       // errno (positive) of the last failed write/fsync; 0 when ok
export const A_PENDING_FSYNC = 5;   // aof_pending_bio_fsync
export const A_REWRITE_IN_PROGRESS = 6;
export const A_REWRITE_SCHEDULED = 7;
export const A_SWITCH_SEQ = 8;      // bumped after F_SWITCH_AT is set: the writer opens a new INCR there
export const A_SWITCH_DONE = 9;     // the writer's last handled A_SWITCH_SEQ
export const A_LAST_BGREWRITE_OK = 10;
export const A_LOADING_AOF = 11;    // 1 while the AOF is loaded at start-up (INFO loading fields)
export const A_FLUSH_SLEEP_US = 12; // DEBUG AOF-FLUSH-SLEEP: microseconds to sleep before each write
export const A_TIMESTAMPS = 13;     // aof-timestamp-enabled (set by the main thread before CONFIG SET replies)
// The AOF write lock (aof-inline.ts): whoever holds it (the writer thread, or a worker at the end
// of its event-loop turn) is the one thread writing the stream's bytes into the file; the words
// below and F_AOF_OFF / F_FSYNCED_SIZE / F_LAST_INCR_SIZE / F_CURRENT_SIZE change under it.
export const A_WLOCK = 14;
export const A_INLINE_OK = 15;      // 1: the writer holds nothing pending, so a worker may write in its place
export const A_FD = 16;             // the INCR file's descriptor (process-wide)
export const A_READER_SLOT = 17;    // the writer's stream reader slot (a worker consumes for it)
export const A_POLICY = 18;         // appendfsync: 0 no, 1 everysec, 2 always
export const A_NO_FSYNC_ON_REWRITE = 19;
export const A_INLINE_FSYNC_ERR = 20; // errno of a worker's failed fsync under always: the writer exits on it
export const A_WLOCK_WORKER = 21;   // 1 while a worker holds A_WLOCK (it looks for more after unlocking)
// Float64 words (plain reads; written by one thread each):
export const F_SWITCH_AT = 0;
export const F_CURRENT_SIZE = 1;    // aof_current_size (writer)
export const F_BASE_SIZE = 2;       // aof_base_size
export const F_DELAYED_FSYNC = 3;   // aof_delayed_fsync
export const F_BUFFER_LENGTH = 4;   // aof_buffer_length: bytes read from the stream, not written yet
export const F_LAST_REWRITE_SECS = 5;
export const F_REWRITE_START = 6;   // ms, 0 when none
export const F_REWRITES = 7;
export const F_REWRITE_FAILURES = 8; // consecutive
export const F_LAST_INCR_SIZE = 9;
export const F_DURABLE = 10;        // full durable offset (writer)
export const F_LAST_COW = 11;
export const F_SWITCH_DB = 12;      // db the new INCR file starts in (a replica's master stream); -1: none
export const F_AOF_OFF = 13;        // stream offset up to which bytes are in the file (A_WLOCK held)
export const F_FSYNCED_SIZE = 14;   // INCR file bytes known fsynced (A_WLOCK held)

const I32_WORDS = 32;
const F64_AT = I32_WORDS * 4;

export class AofShared {
  readonly i32: Int32Array;
  readonly f64: Float64Array;
  constructor(readonly sab: SharedArrayBuffer) {
    this.i32 = new Int32Array(sab, 0, I32_WORDS);
    this.f64 = new Float64Array(sab, F64_AT, 32);
  }

  static create(): AofShared {
    const a = new AofShared(new SharedArrayBuffer(F64_AT + 32 * 8));
    Atomics.store(a.i32, A_LAST_BGREWRITE_OK, 1);
    a.f64[F_LAST_REWRITE_SECS] = -1;
    a.f64[F_SWITCH_DB] = -1;
    return a;
  }

  get(i: number): number {
    return Atomics.load(this.i32, i);
  }

  set(i: number, v: number): void {
    Atomics.store(this.i32, i, v);
  }

  /** The writer: bytes up to `offset` are durable (always) or written (otherwise). */
  publishDurable(offset: number): void {
    if (offset < this.f64[F_DURABLE]) return;
    this.f64[F_DURABLE] = offset;
    Atomics.store(this.i32, A_DURABLE_LO, offset % 4294967296);
    Atomics.add(this.i32, A_DURABLE_SEQ, 1);
    Atomics.notify(this.i32, A_DURABLE_SEQ);
  }

  /** Is the stream offset whose low 32 bits are `lo` past what is durable? */
  pending(lo: number): boolean {
    const d = (lo - Atomics.load(this.i32, A_DURABLE_LO)) >>> 0;
    return d !== 0 && d < 0x80000000;
  }
}

/** This thread's handle (null until the main thread created / handed it over). */
let shared: AofShared | null = null;

export function setAofShared(sab: SharedArrayBuffer): AofShared {
  shared = new AofShared(sab);
  return shared;
}

export function aofShared(): AofShared | null {
  return shared;
}

/** The strerror text of a positive errno recorded in the AOF state (A_WRITE_ERR, A_INLINE_FSYNC_ERR). */
export function errnoText(errno: number): string {
  const code = Object.entries(osConstants.errno).find(([, n]) => n === errno)?.[0];
  return strerror(code !== undefined ? Object.assign(new Error(code), { code }) : new Error(`errno ${errno}`));
}

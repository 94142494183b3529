// The keyspace: per database and hash slot, a chained hash table of entries in the shared heap.
// Every thread reads and writes it directly; a command holds the locks of its keys' slots
// (see locks in Store) while it calls into here. Incremental rehash as Redis's dict does it.
//
// Every heap address stored in these words (directory, table header, buckets, entry links, object
// pointers) is held in 8-byte units (address / 8; 0 = none), so that a u32 reaches 32 GiB.
//
// Entry layout (bytes from the entry offset):
//   0 next u32 (8-byte units) | 4 hash u32 | 8 expireAt f64 ms (0 = none) | 16 type u8, enc u8, class u8, flags u8
//   (flags: ENTRY_PINNED while a snapshot serializes the value in chunks)
//   20 lru u32 (seconds clock, or LFU data) | 24 keylen u32 | 28 vallen u32 (strings) or object pointer
//   (8-byte units) | 32 key bytes, then string bytes inline
// Table header (32 bytes): t0 buckets, t0 mask, t0 used, t1 buckets, t1 mask, t1 used, rehashIdx, volatile count
// (the bucket arrays' addresses and each bucket's chain head in 8-byte units).

import { Heap, classOf, classSize, HEAP_DATA_START, MAX_THREADS } from './heap';
import { keySlot, NSLOTS, CRC16_TABLE } from './crc16';
import { dictPolicyWord, rehash, rev32, startResize } from './dict';

export const T_STRING = 0;
export const T_LIST = 1;
export const T_SET = 2;
export const T_ZSET = 3;
export const T_HASH = 4;
/** OBJ_STREAM (5 is Redis's OBJ_MODULE, unused here): the number DEBUG DIGEST mixes in. */
export const T_STREAM = 6;
export const TYPE_NAMES = ['string', 'list', 'set', 'zset', 'hash', 'module', 'stream'];

// Encodings, named as OBJECT ENCODING prints them.
export const E_RAW = 0;
export const E_INT = 1;
export const E_EMBSTR = 2;
export const E_LISTPACK = 3;
export const E_QUICKLIST = 4;
export const E_INTSET = 5;
export const E_HASHTABLE = 6;
export const E_SKIPLIST = 7;
export const E_STREAM = 8;
export const ENCODING_NAMES = ['raw', 'int', 'embstr', 'listpack', 'quicklist', 'intset', 'hashtable', 'skiplist', 'stream'];

export const ENTRY_HDR = 32;
/** Entry flags byte (offset 19): a snapshot is serializing this value in chunks (Store.onPinned). */
export const ENTRY_PINNED = 1;

/**
 * What is about to happen to a pinned entry (Store.onPinned's `how`). FULL: anything else (a
 * conversion, a huge string changed): the snapshot writes the rest of the value first. LIGHT:
 * changed in place (tracked values stay pinned). GONE: the value is about to be freed (deleted,
 * overwritten, flushed): the snapshot may take the object instead (onPinned returns true; the
 * caller must then not free it). MOVED: the value is relinked to a new entry (RENAME, MOVE): the
 * pin may follow it (true). DEFER (locate only): the caller calls onPinned itself.
 */
export const PINNED_FULL = 0;
export const PINNED_LIGHT = 1;
export const PINNED_GONE = 2;
export const PINNED_MOVED = 3;
const PINNED_DEFER = -1;

/** Why a key left the keyspace (deleted listeners). */
export const DEL_USER = 0;
export const DEL_EXPIRED = 1;
export const DEL_EVICTED = 2;
export type KeyListener = (db: number, key: Uint8Array) => void;
export type DeleteListener = (db: number, key: Uint8Array, reason: number) => void;
/** key null: every key of db changed (db -1: of every db). */
export type ModifiedListener = (db: number, key: Uint8Array | null) => void;

/** Debug runs (SHARDIS_DEBUG=1, every test server): assert slot locks on every mutation. */
const CHECK_LOCKS = process.env.SHARDIS_DEBUG === '1';
const EMBSTR_MAX = 44;

/** Debug runs: an object pointer is stored in 8-byte units, so it must be 8-aligned (a block start). */
function assertBlock(p: number): void {
  if (p % 8 !== 0) throw new Error(`object pointer ${p} is not 8-aligned`);
}

/** What a type module provides so the keyspace can free, copy and check its objects. */
export interface ObjectType {
  free(heap: Heap, obj: number, enc: number): void;
  copy(heap: Heap, obj: number, enc: number): number;
  check(heap: Heap, obj: number, enc: number, problems: string[]): void;
  /** Allocations a free of it touches (lazyfreeGetFreeEffort): UNLINK hands it to the main
   *  thread only past LAZYFREE_THRESHOLD, smaller ones go at once as DEL does. */
  freeEffort(heap: Heap, obj: number, enc: number): number;
}
/** lazyfree.c's LAZYFREE_THRESHOLD. */
const LAZYFREE_THRESHOLD = 64;
const objectTypes: (ObjectType | undefined)[] = [];
export function registerObjectType(type: number, ops: ObjectType): void {
  objectTypes[type] = ops;
}

/** Free a collection object detached from its key (see Store.unlinkKey). */
export function freeObject(heap: Heap, type: number, enc: number, obj: number): void {
  const ops = objectTypes[type];
  if (ops !== undefined) ops.free(heap, obj, enc);
}

// Shared fixed areas, laid out once by the main thread right after the heap header.
const VERSION_BITS = 18;
const NTHREAD_STATS = 256;
export const STAT_FIELDS = 32;

/** Misc word (see Layout.misc) counting clients that WATCH keys, over all threads. */
/** A new key's LFU counter (so that it is not evicted before it had a chance to be used). */
const LFU_INIT_VAL = 5;

export const MISC_WATCHERS = 6;
/** Misc word: 1 once any client has WATCHed: the WATCH counters' pages are written from then on. */
export const MISC_WATCHED_EVER = 31;
const VERSIONS_BYTES = (1 << VERSION_BITS) * 4;
/**
 * Misc word: 0, or while a snapshot (BGSAVE/SAVE) runs, the heap address (in 8-byte units) of its
 * "reached" flags (src/persistence/snapshot.ts): a writer locking a slot the snapshot has not
 * reached yet serializes that slot into the snapshot first (copy-before-write).
 */
export const MISC_SNAPSHOT = 11;
/**
 * Misc word: 1 when FLUSHALL, under every slot lock, found a snapshot running: an RDB save or
 * transfer stops at its next check, as Redis's child killed by killRDBChild. Set by the flush
 * itself, not by a message after it: the flush copies every slot the save has not reached yet,
 * and a save that finished from those copies before a message arrived would write the flushed
 * data. Cleared by the snapshot at its start and end (both under every slot lock too).
 */
export const MISC_SNAPSHOT_KILL = 5;
/**
 * Misc word: heap the running snapshot holds that a fork's child would hold outside the parent's
 * used memory (its flags block, copies made before writes, and the objects and list nodes whose
 * keys went mid-save), in 64-byte units. Not counted for eviction (Redis's used_memory never sees
 * a child's copy-on-write pages), so a BGSAVE does not evict keys that Redis would keep.
 */
export const MISC_SNAPSHOT_HELD = 12;
/** Misc word: MIGRATE's cached connections over every worker's migrate thread (INFO migrate_cached_sockets). */
export const MISC_MIGRATE_SOCKETS = 28;
/** Misc word: non-zero while this server is a replica (REPLICAOF host port): src/replication. */
export const MISC_REPLICA = 56;
/** Misc word: thread id + 1 of the thread whose script passed busy-reply-threshold (0: none). */
export const MISC_BUSY_SCRIPT = 48;
/** Misc word: 1 while a replica's link with its master is up (repl_state CONNECTED). */
export const MISC_MASTER_LINK = 57;
/** f64 words of persistence state shared by the threads (src/persistence/state.ts). */
export const PERSIST_WORDS = 32;
/** Bytes of replication state (src/replication/state.ts imports this module only as a type). */
export const REPL_BYTES = 16384;

/** Words of the pub/sub registry: bucket heads, bucket locks, the pattern list head and lock. */
export const PUBSUB_BUCKETS = 4096;
export const PUBSUB_WORDS = PUBSUB_BUCKETS * 2 + 4;
/** Words of the tracking area: a chain head per slot, counters, a per-thread inbox head. */
export const TRACKING_WORDS = NSLOTS + 16 + 256 + 512;

/** Words of the arrival area (src/server/arrival.ts): a counter, a count, a word per thread id. */
export const ARRIVAL_WORDS = 2 + MAX_THREADS;

/** Words of a db's bitmap of slots that have a table: walkers skip 32 empty slots per word. */
const TABLE_MAP_WORDS = NSLOTS / 32;

export interface Layout {
  dbs: number;
  locks: number;     // i32 index of slot lock words (NSLOTS)
  dbmap: number;     // i32 index: logical db -> physical (dbs)
  dir: number;       // u32 index: physical db * NSLOTS + slot -> table header (8-byte units)
  tables: number;    // i32 index: physical db * TABLE_MAP_WORDS -> bitmap of the slots with a table
  keys: number;      // i32 index: physical db -> key count
  expires: number;   // i32 index: physical db -> volatile key count
  epochs: number;    // u32 index: physical db -> flush epoch (WATCH)
  versions: number;  // u32 index: 2^VERSION_BITS write counters (WATCH)
  stats: number;     // f64 index: per thread STAT_FIELDS counters
  misc: number;      // i32 index: 64 spare words for servers-wide flags
  pubsub: number;    // u32 index: pub/sub registry (see src/server/pubsub.ts)
  blocked: number;   // i32 index: blocked clients per slot (every db), then the slots' FIFO registries, then a ticket word (src/server/blocking.ts)
  pause: number;     // f64 index: end of a CLIENT PAUSE, wall-clock ms (src/server/pause.ts)
  persist: number;   // f64 index: persistence state, PERSIST_WORDS words (src/persistence/state.ts)
  tracking: number;  // u32 index: client-side caching table heads, counters, inboxes (src/server/tracking.ts)
  repl: number;      // BYTE offset: replication state, REPL_BYTES bytes (src/replication/state.ts)
  arrival: number;   // i32 index: blocking commands read and not yet run, per thread (src/server/arrival.ts)
  stamps: number;    // f64 index: when each thread read the chunk it is running, MAX_THREADS (src/server/arrival.ts)
  streamSlots: number; // i32 index: bitmap of slots where a stream was read by XREAD BLOCK or had a consumer group (sticky; see markStreamSlot)
  fixedBytes: number; // bytes of these fixed tables (INFO's used_memory_startup)
}

export function createLayout(sab: SharedArrayBuffer, dbs: number): Layout {
  const at = (bytes: number): number => Heap.reserveFixed(sab, bytes);
  const locks = at(NSLOTS * 4) / 4;
  const dbmap = at(dbs * 4) / 4;
  const dir = at(dbs * NSLOTS * 4) / 4;
  const tables = at(dbs * TABLE_MAP_WORDS * 4) / 4;
  const keys = at(dbs * 4) / 4;
  const expires = at(dbs * 4) / 4;
  const epochs = at(dbs * 4) / 4;
  const versions = at((1 << VERSION_BITS) * 4) / 4;
  const stats = at(NTHREAD_STATS * STAT_FIELDS * 8) / 8;
  const misc = at(64 * 4) / 4;
  const pubsub = at(PUBSUB_WORDS * 4) / 4;
  // Per slot, not per (db, slot): 128 KB instead of 2 MB of used_memory_startup with 16 dbs.
  const blocked = at((NSLOTS * 2 + 2) * 4) / 4;
  const pause = at(8) / 8;
  const persist = at(PERSIST_WORDS * 8) / 8;
  const tracking = at(TRACKING_WORDS * 4) / 4;
  const repl = at(REPL_BYTES);
  const arrival = at(ARRIVAL_WORDS * 4) / 4;
  const stamps = at(MAX_THREADS * 8) / 8;
  const streamSlots = at((NSLOTS / 32) * 4) / 4;
  const fixedBytes = at(0) - Heap.baseOf(sab); // high mode (tests): not the untouched range
  const i32 = new Int32Array(sab);
  for (let d = 0; d < dbs; d++) i32[dbmap + d] = d;
  return { dbs, locks, dbmap, dir, tables, keys, expires, epochs, versions, stats, misc, pubsub, blocked, pause, persist, tracking, repl, arrival, stamps, streamSlots, fixedBytes };
}
void HEAP_DATA_START;

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}

/** Parse a canonical signed 64-bit-range integer as Redis's string2ll would accept; NaN if not. */
export function parseCanonicalInt(b: Uint8Array, start = 0, end = b.length): number {
  const len = end - start;
  if (len === 0 || len > 20) return NaN;
  let i = start;
  let neg = false;
  if (b[i] === 0x2d) {
    neg = true;
    i++;
    if (i === end) return NaN;
  }
  if (b[i] === 0x30) return len === 1 ? 0 : NaN;
  let v = 0;
  for (; i < end; i++) {
    const c = b[i] - 0x30;
    if (c < 0 || c > 9) return NaN;
    v = v * 10 + c;
  }
  if (neg) v = -v;
  if (!Number.isSafeInteger(v)) return NaN; // exact only in the safe range; big ones are raw bytes
  return v;
}

export class Store {
  readonly heap: Heap;
  readonly L: Layout;
  readonly u8: Uint8Array;
  readonly u32: Uint32Array;
  readonly i32: Int32Array;
  readonly f64: Float64Array;
  readonly dbs: number;
  /** Cached command time (ms), set by the dispatcher before each command, as Redis caches mstime. */
  now = Date.now();
  /** Replicas do not delete expired keys on access: their master sends the DEL. */
  expireOnAccess = true;
  /** Set while a replica applies its master's stream: no key counts as expired (Redis's
   *  expireIfNeeded answers "live" to server.master), so the master's commands see what it saw. */
  noExpiry = false;
  /** Counts changes, like Redis's server.dirty: save rules, propagation, WATCH touch. */
  dirty = 0;
  // ---- keyspace listeners (per-write duties, as Redis's dbAdd/dbDelete/signalModifiedKey) ----
  // Every listener runs on the thread that made the change, synchronously, while that key's
  // slot lock is held (for flushes and SWAPDB: every slot lock), with the db and the key's bytes
  // (a view: copy it to keep it). Keys deleted by lazy or active expiry (the latter on the main
  // thread) and by eviction are reported like the rest. Add with listen(), remove with unlisten().
  /** A key was added to a db (dbAdd): SET of a new key, a push that creates a list, RENAME/MOVE/COPY's destination. */
  readonly newListeners: KeyListener[] = [];
  /** A key was deleted; reason DEL_USER (DEL, UNLINK, a pop that empties it...), DEL_EXPIRED or DEL_EVICTED. Flushes report `modified(db, null)` instead. */
  readonly deletedListeners: DeleteListener[] = [];
  /** A live key's value was replaced whole (SET over it, *STORE, SORT STORE): dbOverwrite. */
  readonly overwrittenListeners: KeyListener[] = [];
  /**
   * Any change to a key (signalModifiedKey): every write, and deletion for any reason; key null
   * means every key of db changed (FLUSHDB, SWAPDB of it), db -1 with null every db (FLUSHALL).
   * CLIENT TRACKING invalidation hangs here.
   */
  readonly modifiedListeners: ModifiedListener[] = [];
  /**
   * A list, sorted set or stream was added in a db/slot where clients are blocked (the shared counter at
   * Layout.blocked is not 0): the blocking service queues the key (signalKeyAsReady).
   */
  onReady: ((db: number, key: Uint8Array) => void) | null = null;
  /**
   * The fixed tables' bytes in used_memory. The WATCH counters (1 MB) count once a client has
   * watched: they are only written then, and until then their pages are untouched zeros that use
   * no memory (Redis allocates its watched_keys dict on the first WATCH as well).
   */
  fixedBytesInUse(): number {
    return Atomics.load(this.i32, this.L.misc + MISC_WATCHED_EVER) === 0 ? this.L.fixedBytes - VERSIONS_BYTES : this.L.fixedBytes;
  }
  /**
   * signalKeyAsReady for a write that adds to a key in place (XADD to an existing stream): one
   * atomic load of the slot's blocked count, nothing more when it is 0. Slot lock held.
   */
  signalReady(db: number, key: Uint8Array): void {
    // Waiters in another db on the same slot make a needless (harmless) call.
    if (this.onReady !== null && Atomics.load(this.i32, this.L.blocked + this.slotOf(key)) !== 0) this.onReady(db, key);
  }
  /**
   * The stream at key has a consumer group (XGROUP CREATE, XREADGROUP) or was read by XREAD
   * BLOCK. Sticky, per slot: a DEL or SET of a stream there is order-sensitive, since a blocking
   * read that reached the server before it (on another thread, not read yet) ends with "no longer
   * exists" or waits on in Redis, and answers NOGROUP or WRONGTYPE after it (coordinator.lockCommand
   * fences such writes). A load before the OR keeps the shared word's cache line clean on the hot
   * XREADGROUP path.
   */
  markStreamSlot(key: Uint8Array): void {
    const slot = this.slotOf(key);
    const w = this.L.streamSlots + (slot >>> 5);
    const bit = 1 << (slot & 31);
    if ((Atomics.load(this.i32, w) & bit) === 0) Atomics.or(this.i32, w, bit);
  }
  /** Has a stream in this slot been marked (markStreamSlot)? */
  streamSlot(slot: number): boolean {
    return (Atomics.load(this.i32, this.L.streamSlots + (slot >>> 5)) & (1 << (slot & 31))) !== 0;
  }
  /** Called when a read lookup misses (lookupKeyRead: the "keymiss" notification); null when off. */
  onKeyMiss: ((db: number, key: Uint8Array) => void) | null = null;
  /**
   * Called under the key's slot lock whenever a key is modified, deleted or expires (Redis's
   * signalModifiedKey, beside the WATCH bump): client-side caching invalidations.
   */
  onKeyModified: ((db: number, key: Uint8Array, expired: boolean) => void) | null = null;

  listen(kind: 'new' | 'overwritten', fn: KeyListener): void;
  listen(kind: 'deleted', fn: DeleteListener): void;
  listen(kind: 'modified', fn: ModifiedListener): void;
  listen(kind: 'new' | 'overwritten' | 'deleted' | 'modified', fn: KeyListener | DeleteListener | ModifiedListener): void {
    const list = this.listOf(kind) as unknown[];
    if (!list.includes(fn)) list.push(fn);
  }

  unlisten(kind: 'new' | 'overwritten' | 'deleted' | 'modified', fn: KeyListener | DeleteListener | ModifiedListener): void {
    const list = this.listOf(kind) as unknown[];
    const i = list.indexOf(fn);
    if (i >= 0) list.splice(i, 1);
  }

  private listOf(kind: string): unknown[] {
    return kind === 'new' ? this.newListeners : kind === 'deleted' ? this.deletedListeners : kind === 'overwritten' ? this.overwrittenListeners : this.modifiedListeners;
  }

  /** One change to key by a command: dirty, then signalModified(). */
  private changed(db: number, key: Uint8Array, h: number): void {
    this.dirty++;
    this.signalModified(db, key, h);
  }

  /** signalModifiedKey: the WATCH version (and onKeyModified) and the modified listeners. */
  private signalModified(db: number, key: Uint8Array, h: number, expired = false): void {
    this.touchVersion(db, h, key, expired);
    const l = this.modifiedListeners;
    if (l.length !== 0) for (let i = 0; i < l.length; i++) l[i](db, key);
  }

  /**
   * A key left the keyspace: signalModified() and the deleted listeners. Expiry and eviction do
   * not count in dirty (as in Redis: a command that only expired keys is not propagated as itself).
   */
  private removed(db: number, key: Uint8Array, h: number, reason: number): void {
    if (reason === DEL_EXPIRED) this.expiredKeys++;
    if (reason === DEL_USER) this.dirty++;
    this.signalModified(db, key, h, reason === DEL_EXPIRED);
    const l = this.deletedListeners;
    if (l.length !== 0) for (let i = 0; i < l.length; i++) l[i](db, key, reason);
  }

  /**
   * Every key of a db changed at once (db -1: every db): FLUSHDB/FLUSHALL/SWAPDB. Bumps dirty
   * by `dirty` and tells the modified listeners with a null key. The caller holds every slot.
   */
  changedAll(db: number, dirty: number): void {
    if (CHECK_LOCKS) this.assertAll();
    this.dirty += dirty;
    const l = this.modifiedListeners;
    for (let i = 0; i < l.length; i++) l[i](db, null);
  }
  expiredKeys = 0;
  keyspaceHits = 0;
  keyspaceMisses = 0;

  // Where the last locate() found the entry: the byte address of the u32 that points to it (a
  // bucket cell or the previous entry's next word).
  private linkAddr = 0;
  private foundTb = 0;
  private memoKey: Uint8Array | null = null;
  private memoSlot = 0;
  private memoHash = 0;

  constructor(heap: Heap, layout: Layout) {
    this.heap = heap;
    this.L = layout;
    this.u8 = heap.u8;
    this.u32 = heap.u32;
    this.i32 = heap.i32;
    this.f64 = heap.f64;
    this.dbs = layout.dbs;
    dictPolicyWord(layout.misc + MISC_SNAPSHOT);
  }

  // ---- slots and locks ----------------------------------------------------------------

  slotOf(key: Uint8Array): number {
    if (key !== this.memoKey) this.memoize(key);
    return this.memoSlot;
  }

  /** The table hash of a key (memoized with its slot: a command looks its key up several times). */
  private hashOf(key: Uint8Array): number {
    if (key !== this.memoKey) this.memoize(key);
    return this.memoHash;
  }

  // One pass over the key computes both the CRC16 slot and the table hash. Keys are argument
  // buffers, never rewritten while a command runs, so identity is a safe memo key.
  private memoize(key: Uint8Array): void {
    let crc = 0;
    let h = 0x811c9dc5;
    let brace = false;
    for (let i = 0; i < key.length; i++) {
      const b = key[i];
      crc = ((crc << 8) & 0xffff) ^ CRC16_TABLE[((crc >>> 8) ^ b) & 0xff];
      h = Math.imul(h ^ b, 0x01000193);
      if (b === 0x7b) brace = true;
    }
    this.memoKey = key;
    this.memoSlot = brace ? keySlot(key) : crc & (NSLOTS - 1);
    this.memoHash = fmix(h);
  }

  // Slot locks are taken only by the coordinator (src/server/coordinator.ts). In debug runs
  // (SHARDIS_DEBUG=1) it records the slots this thread holds in lockCheck, and every mutation
  // below asserts that its slot is among them.
  /** Slots this thread holds (debug runs only; null otherwise). */
  lockCheck: { held: Uint16Array; all: boolean } | null = null;

  /** Throw unless this thread holds the slot's lock (debug runs: a write bypassed the coordinator). */
  /** Throw unless this thread holds every slot (flushes, SWAPDB). */
  assertAll(): void {
    const lc = this.lockCheck;
    if (lc === null || lc.all) return;
    const msg = 'a whole-db change without every slot lock held by this thread';
    console.error(`LOCK ASSERTION: ${msg}\n${new Error(msg).stack}`);
    throw new Error(`LOCK ASSERTION: ${msg}`);
  }

  assertLocked(slot: number): void {
    const lc = this.lockCheck;
    if (lc === null || lc.all || lc.held[slot] > 0) return;
    const msg = `slot ${slot} changed without its lock held by this thread`;
    console.error(`LOCK ASSERTION: ${msg}\n${new Error(msg).stack}`);
    throw new Error(`LOCK ASSERTION: ${msg}`);
  }

  /**
   * The before-change hook (fork-less snapshots, src/persistence/snapshot.ts installs it on every
   * thread): called with a slot's lock held before anything in that slot (any db) may change,
   * while a snapshot runs (the MISC_SNAPSHOT word is not 0). The coordinator calls it for every
   * slot a command that is not read-only locks, before the command runs (lock-all: every slot);
   * the store calls it before deleting a key outside such a command (lazy expiry in a read,
   * active expiry, eviction, flush). It may run more than once per slot. With no snapshot
   * running the cost is one load and branch (changeHookActive).
   */
  beforeChange: ((slot: number) => void) | null = null;

  /**
   * The pinned-value hook (snapshots): a big collection a snapshot is serializing in chunks has
   * ENTRY_PINNED in its flags byte; before such an entry may change or go away (any lookup that is
   * not a read's, a deletion, a flush) this runs with the slot locked, and finishes the
   * snapshot's copy of that one value (and clears the flag). Other keys of the slot never wait
   * for it. `how` (PINNED_*): LIGHT (find() for a command that may change the value in place):
   * a value whose changes the snapshot tracks (lists, skiplist zsets, hashtable hashes and sets)
   * stays pinned and costs the writer only what it changes; GONE (deletion, overwrite, flush):
   * a tracked value is taken by the snapshot (true: the caller must not free the object, see
   * takePinned), which frees it once written; MOVED (RENAME, MOVE to entry `ne`): the pin follows
   * a tracked value to its new entry (true). Otherwise the rest of the value is written now.
   */
  onPinned: ((e: number, how: number, ne?: number) => boolean) | null = null;

  /**
   * A pinned entry's value is about to be freed: the snapshot takes a tracked collection instead
   * of finishing it (O(1) for the writer); the entry is then a bare string block, so freeing it
   * frees only the entry.
   */
  private takePinned(e: number): void {
    if (this.u8[e + 19] === 0 || this.onPinned === null) return;
    if (this.onPinned(e, PINNED_GONE)) {
      this.u8[e + 16] = T_STRING;
      this.u8[e + 17] = E_RAW;
      this.u32[e / 4 + 7] = 0;
    }
  }

  /**
   * A command that found entry e with a read lookup (Redis's lookupKeyRead: XREADGROUP, XACK,
   * XCLAIM, XAUTOCLAIM) is about to change its value: a snapshot writing it in pieces gets the
   * rest of it first, as for any other lookup that may change a value.
   */
  changingAfterRead(e: number): void {
    if (this.u8[e + 19] !== 0 && this.onPinned !== null) this.onPinned(e, PINNED_FULL);
  }

  /** Bytes the running snapshot holds in the heap (MISC_SNAPSHOT_HELD): not counted for eviction. */
  snapshotHeldBytes(): number {
    return Atomics.load(this.i32, this.L.misc + MISC_SNAPSHOT_HELD) * 64;
  }

  /** Must beforeChange run now (installed, and a snapshot is running)? */
  changeHookActive(): boolean {
    return this.beforeChange !== null && this.i32[this.L.misc + MISC_SNAPSHOT] !== 0;
  }

  // ---- tables ---------------------------------------------------------------------------

  private phys(db: number): number {
    return this.i32[this.L.dbmap + db];
  }

  private table(db: number, slot: number, create: boolean): number {
    const idx = this.L.dir + this.phys(db) * NSLOTS + slot;
    let t = this.u32[idx] * 8;
    if (t === 0 && create) {
      t = this.heap.calloc(32);
      const b = this.heap.calloc(16);
      const w = t / 4;
      this.u32[w] = b / 8;
      this.u32[w + 1] = 3;
      this.i32[w + 6] = -1;
      this.u32[idx] = t / 8;
      Atomics.or(this.i32, this.L.tables + this.phys(db) * TABLE_MAP_WORDS + (slot >>> 5), 1 << (slot & 31));
    }
    return t;
  }

  /** Move one bucket (and skip up to 10 empty ones) from t0 to t1, as dictRehash(d, 1). */
  private rehashStep(t: number): void {
    rehash(this.heap, t, 1);
  }

  private startResize(t: number, size: number): void {
    startResize(this.heap, t, size);
  }

  /**
   * Find key in table t; sets linkAddr. Returns entry or 0. Unless `read` (lookups that never
   * change the value), a pinned entry is released first (onPinned).
   */
  private locate(t: number, key: Uint8Array, h: number, read = false, how = PINNED_FULL): number {
    const u32 = this.u32;
    const u8 = this.u8;
    const w = t / 4;
    if (this.i32[w + 6] >= 0) this.rehashStep(t);
    const klen = key.length;
    for (let tb = 0; tb < 2; tb++) {
      const buckets = u32[w + tb * 3] * 8;
      if (buckets === 0) break;
      let link = buckets + (h & u32[w + tb * 3 + 1]) * 4;
      let e = u32[link / 4] * 8;
      while (e !== 0) {
        const ew = e / 4;
        if (u32[ew + 1] === h && u32[ew + 6] === klen) {
          const kb = e + ENTRY_HDR;
          let i = 0;
          while (i < klen && u8[kb + i] === key[i]) i++;
          if (i === klen) {
            if (u8[e + 19] !== 0 && !read && how !== PINNED_DEFER && this.onPinned !== null) this.onPinned(e, how);
            this.linkAddr = link;
            this.foundTb = tb;
            return e;
          }
        }
        link = e;
        e = u32[ew] * 8;
      }
      if (this.i32[w + 6] < 0) break;
    }
    return 0;
  }

  // ---- entries ------------------------------------------------------------------------

  /** Look a key up for reading or writing; expired keys are deleted (lazy expiry) and missing. */
  find(db: number, key: Uint8Array, read = false): number {
    const t = this.table(db, this.slotOf(key), false);
    if (t === 0) return 0;
    const h = this.hashOf(key);
    const e = this.locate(t, key, h, read, PINNED_LIGHT);
    if (e === 0) return 0;
    const exp = this.f64[e / 8 + 1];
    if (exp !== 0 && exp <= this.now && !this.noExpiry) {
      if (!this.expireOnAccess) return 0;
      this.unlinkAndFree(db, t, e);
      this.removed(db, key, h, DEL_EXPIRED);
      return 0;
    }
    this.touchLru(e);
    return e;
  }

  /** find() that also counts keyspace hits and misses (read commands). */
  findRead(db: number, key: Uint8Array): number {
    const e = this.find(db, key, true);
    if (e === 0) {
      this.keyspaceMisses++;
      if (this.onKeyMiss !== null) this.onKeyMiss(db, key);
    } else this.keyspaceHits++;
    return e;
  }

  /** Does the key exist without touching its LRU or deleting it when expired. */
  peek(db: number, key: Uint8Array): number {
    const t = this.table(db, this.slotOf(key), false);
    if (t === 0) return 0;
    const e = this.locate(t, key, this.hashOf(key), true);
    if (e === 0) return 0;
    const exp = this.f64[e / 8 + 1];
    return exp !== 0 && exp <= this.now && !this.noExpiry ? 0 : e;
  }

  type(e: number): number {
    return this.u8[e + 16];
  }

  encoding(e: number): number {
    return this.u8[e + 17];
  }

  setEncoding(e: number, enc: number): void {
    if (CHECK_LOCKS) this.assertLocked(keySlot(this.keyView(e)));
    this.u8[e + 17] = enc;
  }

  lru(e: number): number {
    return this.u32[e / 4 + 5];
  }

  // ---- LRU / LFU (the entry's lru word, as Redis's robj->lru) ----------------------------

  /** maxmemory-policy *-lfu: the lru word holds Redis's LFU data, minutes << 8 | log counter. */
  lfu = false;
  lfuLogFactor = 10;
  lfuDecayTime = 1;

  /** An access: the LRU clock (seconds), or under LFU the decayed, log-incremented counter (updateLFU). */
  private touchLru(e: number): void {
    const w = e / 4 + 5;
    if (!this.lfu) {
      this.u32[w] = (this.now / 1000) >>> 0;
      return;
    }
    let counter = this.lfuDecay(this.u32[w]);
    if (counter < 255) {
      // LFULogIncr: the higher the counter, the less likely one more access raises it.
      const base = counter > LFU_INIT_VAL ? counter - LFU_INIT_VAL : 0;
      if (Math.random() < 1 / (base * this.lfuLogFactor + 1)) counter++;
    }
    this.u32[w] = ((this.lfuMinutes() << 8) | counter) >>> 0;
  }

  private lfuMinutes(): number {
    return Math.floor(this.now / 60000) & 65535;
  }

  /** LFUDecrAndReturn: the counter, less one per lfu-decay-time minutes since the last access. */
  private lfuDecay(word: number): number {
    const ldt = word >>> 8;
    let counter = word & 255;
    const now = this.lfuMinutes();
    const elapsed = now >= ldt ? now - ldt : 65535 - ldt + now;
    const periods = this.lfuDecayTime > 0 ? Math.floor(elapsed / this.lfuDecayTime) : 0;
    if (periods > 0) counter = periods > counter ? 0 : counter - periods;
    return counter;
  }

  /** OBJECT FREQ: the entry's access frequency counter, decayed to now. */
  lfuFreq(e: number): number {
    return this.lfuDecay(this.u32[e / 4 + 5]);
  }

  keyView(e: number): Uint8Array {
    const klen = this.u32[e / 4 + 6];
    return this.u8.subarray(e + ENTRY_HDR, e + ENTRY_HDR + klen);
  }

  /** The key's length; its bytes are at e + ENTRY_HDR. */
  keyLen(e: number): number {
    return this.u32[e / 4 + 6];
  }

  keyCopy(e: number): Buffer {
    return Buffer.from(this.keyView(e));
  }

  expireAt(e: number): number {
    return this.f64[e / 8 + 1];
  }

  strLen(e: number): number {
    return this.u32[e / 4 + 7];
  }

  /** Offset of a string entry's value bytes in the heap. */
  strOffset(e: number): number {
    return e + ENTRY_HDR + this.u32[e / 4 + 6];
  }

  /** A view on a string value: valid only while the command holds the slot lock. */
  strView(e: number): Uint8Array {
    const at = this.strOffset(e);
    return this.u8.subarray(at, at + this.u32[e / 4 + 7]);
  }

  strCopy(e: number): Buffer {
    return Buffer.from(this.strView(e));
  }

  /** Bytes a string value may grow to in place. */
  strCapacity(e: number): number {
    return classSize[this.u8[e + 18]] - ENTRY_HDR - this.u32[e / 4 + 6];
  }

  objPtr(e: number): number {
    return this.u32[e / 4 + 7] * 8;
  }

  setObjPtr(e: number, p: number): void {
    if (CHECK_LOCKS) {
      this.assertLocked(keySlot(this.keyView(e)));
      assertBlock(p);
    }
    this.u32[e / 4 + 7] = p / 8;
  }

  /** Create a new key (it must not exist). Returns the entry with `room` bytes of room; vallen as insertAt's. */
  private insert(db: number, key: Uint8Array, type: number, enc: number, vallen: number, room: number): number {
    const t = this.table(db, this.slotOf(key), true);
    const h = this.hashOf(key);
    return this.insertAt(db, t, key, h, type, enc, vallen, room);
  }

  /** vallen: the word at 28 as stored: a string's length, or an object pointer in 8-byte units. */
  private insertAt(db: number, t: number, key: Uint8Array, h: number, type: number, enc: number, vallen: number, room: number): number {
    if (CHECK_LOCKS) this.assertLocked(this.slotOf(key));
    const u32 = this.u32;
    const w = t / 4;
    const rehashing = this.i32[w + 6] >= 0;
    if (!rehashing && u32[w + 2] >= u32[w + 1] + 1) this.startResize(t, (u32[w + 1] + 1) * 2);
    const size = ENTRY_HDR + key.length + room;
    const c = classOf(size);
    const e = this.heap.alloc(size);
    const ew = e / 4;
    u32[ew + 1] = h;
    this.f64[e / 8 + 1] = 0;
    this.u8[e + 16] = type;
    this.u8[e + 17] = enc;
    this.u8[e + 18] = c;
    this.u8[e + 19] = 0;
    u32[ew + 5] = this.lfu ? ((this.lfuMinutes() << 8) | LFU_INIT_VAL) >>> 0 : (this.now / 1000) >>> 0;
    u32[ew + 6] = key.length;
    u32[ew + 7] = vallen;
    this.u8.set(key, e + ENTRY_HDR);
    const tb = this.i32[w + 6] >= 0 ? 1 : 0;
    // The bucket array's address is in 8-byte units: its word index is units * 2.
    const cell = u32[w + tb * 3] * 2 + (h & u32[w + tb * 3 + 1]);
    u32[ew] = u32[cell];
    u32[cell] = e / 8;
    u32[w + tb * 3 + 2]++;
    Atomics.add(this.i32, this.L.keys + this.phys(db), 1);
    const l = this.newListeners;
    if (l.length !== 0) for (let i = 0; i < l.length; i++) l[i](db, key);
    // Only a list, a sorted set or a stream can serve a blocked client (signalKeyAsReady): one atomic load
    // of the slot's blocked-client count, nothing more when it is 0.
    if ((type === T_LIST || type === T_ZSET || type === T_STREAM) && this.onReady !== null) this.signalReady(db, key);
    return e;
  }

  private unlinkAndFree(db: number, t: number, e: number): void {
    if (CHECK_LOCKS) this.assertLocked(keySlot(this.keyView(e)));
    if (this.changeHookActive()) (this.beforeChange as (slot: number) => void)(keySlot(this.keyView(e)));
    this.takePinned(e);
    const u32 = this.u32;
    const w = t / 4;
    u32[this.linkAddr / 4] = u32[e / 4];
    u32[w + (this.foundTb === 1 ? 5 : 2)]--;
    if (this.f64[e / 8 + 1] !== 0) this.volatileDelta(db, t, -1);
    this.freeEntry(e);
    // The db's key count (DBSIZE reads it without locks) drops once the value is freed: a big
    // value is not seen gone while its free still runs, as in Redis, where nothing runs meanwhile.
    Atomics.sub(this.i32, this.L.keys + this.phys(db), 1);
    this.maybeShrink(t);
  }

  private maybeShrink(t: number): void {
    const u32 = this.u32;
    const w = t / 4;
    if (this.i32[w + 6] >= 0) return;
    const size = u32[w + 1] + 1;
    if (size > 4 && u32[w + 2] * 8 < size) {
      let ns = 4;
      while (ns < u32[w + 2]) ns *= 2;
      this.startResize(t, ns);
    }
  }

  private freeEntry(e: number): void {
    const type = this.u8[e + 16];
    if (type !== T_STRING) {
      const ops = objectTypes[type];
      if (ops !== undefined) ops.free(this.heap, this.u32[e / 4 + 7] * 8, this.u8[e + 17]);
    }
    this.heap.freeClass(e, this.u8[e + 18]);
  }

  private volatileDelta(db: number, t: number, d: number): void {
    this.u32[t / 4 + 7] += d;
    Atomics.add(this.i32, this.L.expires + this.phys(db), d);
  }

  /** Delete a key; true if it existed (expired keys count as missing). reason: DEL_USER or DEL_EVICTED. */
  delete(db: number, key: Uint8Array, reason = DEL_USER): boolean {
    return this.deleteKey(db, key, null, reason);
  }

  /**
   * Delete a key but hand a collection's object to `detached` instead of freeing it here, so a
   * big value can be freed off the command path (UNLINK). Strings are freed at once.
   */
  unlinkKey(db: number, key: Uint8Array, detached: (type: number, enc: number, obj: number) => void): boolean {
    return this.deleteKey(db, key, detached, DEL_USER);
  }

  private freeEffort(e: number, type: number): number {
    const ops = objectTypes[type];
    return ops === undefined ? 1 : ops.freeEffort(this.heap, this.u32[e / 4 + 7] * 8, this.u8[e + 17]);
  }

  private deleteKey(db: number, key: Uint8Array, detached: ((type: number, enc: number, obj: number) => void) | null, reason: number): boolean {
    const t = this.table(db, this.slotOf(key), false);
    if (t === 0) return false;
    const h = this.hashOf(key);
    const e = this.locate(t, key, h, false, PINNED_DEFER);
    if (e === 0) return false;
    // A value a snapshot is half way through: the snapshot takes it (before UNLINK would).
    if (this.changeHookActive()) (this.beforeChange as (slot: number) => void)(keySlot(this.keyView(e)));
    this.takePinned(e);
    const exp = this.f64[e / 8 + 1];
    let live = !(exp !== 0 && exp <= this.now && !this.noExpiry);
    // A replica does not expire keys by itself, but a DEL of a logically expired one deletes it
    // and counts it (delGenericCommand: expireIfNeeded leaves it, dbSyncDelete takes it).
    if (!live && !this.expireOnAccess) live = true;
    const type = this.u8[e + 16];
    if (detached !== null && type !== T_STRING && this.freeEffort(e, type) > LAZYFREE_THRESHOLD) {
      const enc = this.u8[e + 17];
      const obj = this.u32[e / 4 + 7] * 8;
      // The entry block is freed as a bare string; the object goes to the caller.
      this.u8[e + 16] = T_STRING;
      this.u32[e / 4 + 7] = 0;
      detached(type, enc, obj);
    }
    this.unlinkAndFree(db, t, e);
    this.removed(db, key, h, live ? reason : DEL_EXPIRED);
    return live;
  }

  /** Choose a string encoding the way Redis's tryObjectEncoding would for a fresh value. */
  static stringEncoding(val: Uint8Array): number {
    if (val.length <= 20 && !Number.isNaN(parseCanonicalInt(val))) return E_INT;
    if (val.length <= 20 && val.length > 0 && isBigCanonicalInt(val)) return E_INT;
    return val.length <= EMBSTR_MAX ? E_EMBSTR : E_RAW;
  }

  /**
   * Set a string value. keepTtl keeps an existing expiry; expireAt > 0 sets one, 0 clears it.
   * Returns the entry.
   */
  setString(db: number, key: Uint8Array, val: Uint8Array, enc: number, expireAt: number, keepTtl: boolean): number {
    const e = this.writeString(db, key, val.length, enc, expireAt, keepTtl, false);
    this.u8.set(val, this.strOffset(e));
    return e;
  }

  /**
   * Make key a string of `len` bytes and return the entry; the caller fills strOffset(e).
   * With preserve, the old bytes of an existing string stay in place (APPEND, SETRANGE).
   */
  /**
   * Give the live string entry e (just found for key) a new value of len bytes in place, keeping
   * its TTL, when its block has room (INCR's common case: no second lookup). False: use
   * writeString. The caller writes the bytes at strOffset(e).
   */
  resizeStringInPlace(db: number, key: Uint8Array, e: number, len: number, enc: number): boolean {
    if (this.u8[e + 16] !== T_STRING || ENTRY_HDR + key.length + len > classSize[this.u8[e + 18]]) return false;
    if (CHECK_LOCKS) this.assertLocked(this.slotOf(key));
    this.changed(db, key, this.hashOf(key));
    this.u8[e + 17] = enc;
    this.u32[e / 4 + 7] = len;
    this.touchLru(e);
    return true;
  }

  writeString(db: number, key: Uint8Array, len: number, enc: number, expireAt: number, keepTtl: boolean, preserve: boolean): number {
    const slot = this.slotOf(key);
    const t = this.table(db, slot, true);
    const h = this.hashOf(key);
    let e = this.locate(t, key, h, false, PINNED_DEFER);
    if (CHECK_LOCKS) this.assertLocked(slot);
    if (e !== 0) {
      const exp = this.f64[e / 8 + 1];
      if (exp !== 0 && exp <= this.now && !this.noExpiry) {
        this.unlinkAndFree(db, t, e);
        this.removed(db, key, h, DEL_EXPIRED);
        e = 0;
      } else if (this.u8[e + 19] !== 0 && this.onPinned !== null) {
        // A collection overwritten by a string goes to the snapshot; a huge string's rest is copied.
        if (this.u8[e + 16] !== T_STRING) this.takePinned(e);
        else this.onPinned(e, PINNED_FULL);
      }
    }
    this.changed(db, key, h);
    // SET over a live key replaces its value (dbOverwrite); APPEND/SETRANGE (preserve) modify it.
    if (e !== 0 && !preserve && this.overwrittenListeners.length !== 0) {
      const l = this.overwrittenListeners;
      for (let i = 0; i < l.length; i++) l[i](db, key);
    }
    if (e === 0) {
      // A new key is made exact, as Redis's APPEND/SETRANGE create it (sdsnewlen); growth room
      // comes with the first change of an existing value (sdsMakeRoomFor).
      const ne = this.insertAt(db, t, key, h, T_STRING, enc, len, len);
      if (expireAt > 0) this.setExpireRaw(db, t, ne, expireAt);
      return ne;
    }
    const oldExp = this.f64[e / 8 + 1];
    const newExp = keepTtl ? oldExp : expireAt;
    if (this.u8[e + 16] === T_STRING && ENTRY_HDR + key.length + len <= classSize[this.u8[e + 18]]) {
      // Fits in place (the common SET-over-SET case).
      this.u8[e + 17] = enc;
      this.u32[e / 4 + 7] = len;
      this.touchLru(e);
      if (newExp !== oldExp) this.setExpireRaw(db, t, e, newExp);
      return e;
    }
    // Reallocate: a fresh block, relinked where the old one was.
    const room = preserve ? len + (len >> 1) : len;
    const size = ENTRY_HDR + key.length + room;
    const ne = this.heap.alloc(size);
    const u32 = this.u32;
    const link = this.linkAddr;
    this.u8.copyWithin(ne, e, e + ENTRY_HDR + key.length + (preserve && this.u8[e + 16] === T_STRING ? Math.min(len, this.u32[e / 4 + 7]) : 0));
    this.u8[ne + 16] = T_STRING;
    this.u8[ne + 17] = enc;
    this.u8[ne + 18] = classOf(size);
    u32[ne / 4 + 7] = len;
    u32[link / 4] = ne / 8;
    if (this.u8[e + 16] !== T_STRING) {
      const ops = objectTypes[this.u8[e + 16]];
      if (ops !== undefined) ops.free(this.heap, u32[e / 4 + 7] * 8, this.u8[e + 17]);
    }
    this.heap.freeClass(e, this.u8[e + 18]);
    if (newExp !== oldExp) this.setExpireRaw(db, t, ne, newExp);
    return ne;
  }

  /** Create a key holding an object (the caller has checked it does not exist). */
  createObject(db: number, key: Uint8Array, type: number, enc: number, obj: number): number {
    if (CHECK_LOCKS) assertBlock(obj);
    const e = this.insert(db, key, type, enc, obj / 8, 0);
    this.changed(db, key, this.hashOf(key));
    return e;
  }

  /** Replace whatever key holds with an object (SORT STORE, *STORE commands), dropping any TTL. */
  replaceWithObject(db: number, key: Uint8Array, type: number, enc: number, obj: number): number {
    const t = this.table(db, this.slotOf(key), false);
    const old = t === 0 ? 0 : this.locate(t, key, this.hashOf(key), false, PINNED_DEFER);
    const live = old !== 0 && !(this.expireAt(old) !== 0 && this.expireAt(old) <= this.now && !this.noExpiry);
    if (!live) {
      if (old !== 0) this.delete(db, key); // a stale entry: lazy expiry
      return this.createObject(db, key, type, enc, obj);
    }
    // A live key is overwritten in place in Redis (dbOverwrite): no "new" or "deleted" event,
    // the overwritten listeners instead.
    const nl = this.newListeners.splice(0);
    const dl = this.deletedListeners.splice(0);
    let e: number;
    try {
      this.deleteKey(db, key, null, DEL_USER);
      e = this.createObject(db, key, type, enc, obj);
    } finally {
      this.newListeners.push(...nl);
      this.deletedListeners.push(...dl);
    }
    const l = this.overwrittenListeners;
    for (let i = 0; i < l.length; i++) l[i](db, key);
    return e;
  }

  // ---- expiry -------------------------------------------------------------------------

  private setExpireRaw(db: number, t: number, e: number, at: number): void {
    if (CHECK_LOCKS) this.assertLocked(keySlot(this.keyView(e)));
    const old = this.f64[e / 8 + 1];
    if (old === 0 && at !== 0) this.volatileDelta(db, t, 1);
    else if (old !== 0 && at === 0) this.volatileDelta(db, t, -1);
    this.f64[e / 8 + 1] = at;
  }

  /** Set (ms > 0) or remove (0) the expiry of an existing entry. */
  setExpire(db: number, key: Uint8Array, e: number, at: number): void {
    const t = this.table(db, this.slotOf(key), false);
    this.setExpireRaw(db, t, e, at);
    this.changed(db, key, this.hashOf(key));
  }

  /**
   * Active expiry for one slot: delete up to `max` expired keys in every db. Returns how many
   * were deleted. The caller holds the slot lock.
   */
  expireSlot(slot: number, max: number): number {
    let n = 0;
    for (let db = 0; db < this.dbs; db++) {
      const t = this.table(db, slot, false);
      if (t === 0 || this.u32[t / 4 + 7] === 0) continue;
      const victims: Buffer[] = [];
      this.forEachEntry(t, (e) => {
        const exp = this.f64[e / 8 + 1];
        if (exp !== 0 && exp <= this.now && !this.noExpiry && victims.length < max) victims.push(this.keyCopy(e));
      });
      for (const k of victims) if (!this.deleteIfExpired(db, k)) break;
      n += victims.length;
    }
    return n;
  }

  private deleteIfExpired(db: number, key: Uint8Array): boolean {
    const t = this.table(db, this.slotOf(key), false);
    const h = this.hashOf(key);
    const e = this.locate(t, key, h, false, PINNED_DEFER);
    if (e === 0) return true;
    this.unlinkAndFree(db, t, e);
    this.removed(db, key, h, DEL_EXPIRED);
    return true;
  }

  /** Does any db have volatile keys in this slot? */
  slotHasVolatile(slot: number): boolean {
    for (let db = 0; db < this.dbs; db++) {
      const t = this.u32[this.L.dir + db * NSLOTS + slot] * 8;
      if (t !== 0 && this.u32[t / 4 + 7] !== 0) return true;
    }
    return false;
  }

  // ---- WATCH versions -----------------------------------------------------------------

  private touchVersion(db: number, h: number, key: Uint8Array, expired = false): void {
    if (this.onKeyModified !== null) this.onKeyModified(db, key, expired);
    // Nobody WATCHes anything: skip the write (a random cache line per write otherwise). WATCH
    // raises the count under the key's slot lock before reading the version, so a writer that
    // holds the same lock afterwards always sees it.
    // A plain read: the slot lock this writer took (an atomic) orders it after WATCH's raise,
    // where Atomics.load is a builtin call per write.
    if (this.i32[this.L.misc + MISC_WATCHERS] === 0) return;
    Atomics.add(this.u32, this.L.versions + ((h ^ Math.imul(this.phys(db) + 1, 0x9e3779b1)) & ((1 << VERSION_BITS) - 1)), 1);
  }

  /** A number that changes whenever the key is written (or its db flushed or swapped). */
  version(db: number, key: Uint8Array): number {
    const h = this.hashOf(key);
    const p = this.phys(db);
    return (Atomics.load(this.u32, this.L.versions + ((h ^ Math.imul(p + 1, 0x9e3779b1)) & ((1 << VERSION_BITS) - 1))) + Atomics.load(this.u32, this.L.epochs + p) * 0x10001 + p * 7919) >>> 0;
  }

  /** The physical db behind a logical one (SWAPDB exchanges them). */
  physOf(db: number): number {
    return this.phys(db);
  }

  /** WATCH: the write counter of the key's version bucket in physical db p (no epoch). */
  bucketCounter(p: number, key: Uint8Array): number {
    return Atomics.load(this.u32, this.L.versions + ((this.hashOf(key) ^ Math.imul(p + 1, 0x9e3779b1)) & ((1 << VERSION_BITS) - 1)));
  }

  /** A key still in its table though its TTL has passed (Redis's keyIsExpired): no side effects. */
  isStale(db: number, key: Uint8Array): boolean {
    const t = this.table(db, this.slotOf(key), false);
    if (t === 0) return false;
    const e = this.locate(t, key, this.hashOf(key), true);
    if (e === 0) return false;
    const exp = this.f64[e / 8 + 1];
    return exp !== 0 && exp <= this.now && !this.noExpiry;
  }

  /**
   * A command changed key's value in place (a push, HSET, ZADD...): signalModifiedKey. `changes`
   * is what Redis adds to server.dirty (elements added/removed; 1 by default).
   */
  modified(db: number, key: Uint8Array, changes = 1): void {
    if (CHECK_LOCKS) this.assertLocked(this.slotOf(key));
    this.changed(db, key, this.hashOf(key));
    if (changes !== 1) this.dirty += changes - 1;
  }

  // ---- whole-db operations (callers hold every slot lock) ----------------------------

  dbSize(db: number): number {
    return Atomics.load(this.i32, this.L.keys + this.phys(db));
  }

  volatileCount(db: number): number {
    return Atomics.load(this.i32, this.L.expires + this.phys(db));
  }

  /** Empty one slot of one db (caller holds that slot's lock). Returns keys removed. */
  flushSlot(db: number, slot: number): number {
    const t = this.detachSlot(db, slot);
    return t === 0 ? 0 : this.freeDetachedTable(t);
  }

  /**
   * Take one slot's table of one db out of the keyspace without freeing it (FLUSHDB/FLUSHALL
   * ASYNC; caller holds the slot's lock): the slot is empty at once, freeDetachedTable() frees the
   * table later on any thread. Returns the table (0 if none) and counts its keys in `detachedKeys`.
   */
  detachSlot(db: number, slot: number): number {
    if (CHECK_LOCKS) this.assertLocked(slot);
    if (this.changeHookActive()) (this.beforeChange as (slot: number) => void)(slot);
    const idx = this.L.dir + this.phys(db) * NSLOTS + slot;
    const t = this.u32[idx] * 8;
    this.detachedKeys = 0;
    if (t === 0) return 0;
    const pinned = this.onPinned;
    if (pinned !== null && this.i32[this.L.misc + MISC_SNAPSHOT] !== 0) {
      this.forEachEntry(t, (e) => {
        if (this.u8[e + 19] !== 0 && pinned(e, PINNED_GONE)) {
          // Taken by the snapshot: freeing the table frees only the entry block.
          this.u8[e + 16] = T_STRING;
          this.u8[e + 17] = E_RAW;
          this.u32[e / 4 + 7] = 0;
        }
      });
    }
    const w = t / 4;
    const n = this.u32[w + 2] + this.u32[w + 5];
    Atomics.sub(this.i32, this.L.expires + this.phys(db), this.u32[w + 7]);
    Atomics.sub(this.i32, this.L.keys + this.phys(db), n);
    this.u32[idx] = 0;
    Atomics.and(this.i32, this.L.tables + this.phys(db) * TABLE_MAP_WORDS + (slot >>> 5), ~(1 << (slot & 31)));
    this.detachedKeys = n;
    return t;
  }

  /** Keys in the table detachSlot() last returned. */
  detachedKeys = 0;

  /** Free a table detachSlot() returned: its entries, values and buckets. Returns its entries. */
  freeDetachedTable(t: number): number {
    let n = 0;
    this.forEachEntry(t, (e) => {
      this.freeEntry(e);
      n++;
    });
    const w = t / 4;
    if (this.u32[w] !== 0) this.heap.free(this.u32[w] * 8, (this.u32[w + 1] + 1) * 4);
    if (this.u32[w + 3] !== 0) this.heap.free(this.u32[w + 3] * 8, (this.u32[w + 4] + 1) * 4);
    this.heap.free(t, 32);
    return n;
  }

  /** Bump a db's epoch: every WATCH on it is invalidated (FLUSHDB, SWAPDB). */
  bumpEpoch(db: number): void {
    Atomics.add(this.u32, this.L.epochs + this.phys(db), 1);
  }

  /** SWAPDB: the caller holds every slot lock. */
  swapDb(a: number, b: number): void {
    if (CHECK_LOCKS) this.assertAll();
    const pa = this.i32[this.L.dbmap + a];
    this.i32[this.L.dbmap + a] = this.i32[this.L.dbmap + b];
    this.i32[this.L.dbmap + b] = pa;
    this.bumpEpoch(a);
    this.bumpEpoch(b);
    this.dirty++;
    const l = this.modifiedListeners;
    for (let i = 0; i < l.length; i++) {
      l[i](a, null);
      l[i](b, null);
    }
  }

  // ---- iteration ------------------------------------------------------------------------

  /** Visit every entry of a table (including expired ones). fn must not modify the table. */
  forEachEntry(t: number, fn: (e: number) => void): void {
    const u32 = this.u32;
    const w = t / 4;
    for (let tb = 0; tb < 2; tb++) {
      const b = u32[w + tb * 3] * 8;
      if (b === 0) continue;
      const n = u32[w + tb * 3 + 1] + 1;
      for (let i = 0; i < n; i++) {
        let e = u32[b / 4 + i] * 8;
        while (e !== 0) {
          const next = u32[e / 4] * 8;
          fn(e);
          e = next;
        }
      }
    }
  }

  /** Visit every stored entry of one db and slot, logically expired ones too (DEBUG DIGEST). */
  forEachStoredInSlot(db: number, slot: number, fn: (e: number) => void): void {
    const t = this.table(db, slot, false);
    if (t !== 0) this.forEachEntry(t, fn);
  }

  /** Visit the live entries of one db and slot (caller holds the slot lock). */
  forEachInSlot(db: number, slot: number, fn: (e: number) => void): void {
    const t = this.table(db, slot, false);
    if (t === 0) return;
    const now = this.now;
    this.forEachEntry(t, (e) => {
      const exp = this.f64[e / 8 + 1];
      if (exp === 0 || exp > now) fn(e);
    });
  }

  slotKeyCount(db: number, slot: number): number {
    const t = this.table(db, slot, false);
    if (t === 0) return 0;
    return this.u32[t / 4 + 2] + this.u32[t / 4 + 5];
  }

  /**
   * One step of a SCAN over one slot's table, with Redis's reverse-binary cursor so that keys
   * present for the whole scan are returned even across a rehash. Returns the next cursor
   * (0 when the slot is done). Expired entries go to `expired` (if given) instead of `fn`.
   */
  scanSlot(db: number, slot: number, cursor: number, fn: (e: number) => void, expired?: (e: number) => void): number {
    const t = this.table(db, slot, false);
    if (t === 0) return 0;
    const u32 = this.u32;
    const w = t / 4;
    const now = this.now;
    const emit = (b: number, idx: number): void => {
      let e = u32[b / 4 + idx] * 8;
      while (e !== 0) {
        const exp = this.f64[e / 8 + 1];
        if (exp === 0 || exp > now) fn(e);
        else if (expired !== undefined) expired(e);
        e = u32[e / 4] * 8;
      }
    };
    let v = cursor >>> 0;
    if (this.i32[w + 6] < 0) {
      const m0 = u32[w + 1];
      emit(u32[w] * 8, v & m0);
      v |= ~m0;
      v = rev32(v);
      v = (v + 1) >>> 0;
      v = rev32(v);
    } else {
      let bs = u32[w] * 8, ms = u32[w + 1], bl = u32[w + 3] * 8, ml = u32[w + 4];
      if (ms > ml) { [bs, bl] = [bl, bs]; [ms, ml] = [ml, ms]; }
      emit(bs, v & ms);
      do {
        emit(bl, v & ml);
        v |= ~ml;
        v = rev32(v);
        v = (v + 1) >>> 0;
        v = rev32(v);
      } while ((v & (ms ^ ml)) !== 0);
    }
    return v >>> 0;
  }

  /** Keys with a TTL in one db's slot (its table's count; 0 without a table). */
  slotVolatileCount(db: number, slot: number): number {
    const t = this.table(db, slot, false);
    return t === 0 ? 0 : this.u32[t / 4 + 7];
  }

  /**
   * Up to `max` entries of one db's slot (expired ones too; with `ttlOnly`, keys with a TTL only)
   * from neighbouring buckets after a random one, into `out`; returns how many. As Redis's
   * dictGetSomeKeys for eviction: one table's consecutive buckets cost a few cache misses where
   * `max` random picks (or a walk of the table) cost several each. Caller holds the slot lock.
   */
  someInSlot(db: number, slot: number, max: number, out: number[], ttlOnly: boolean): number {
    const t = this.table(db, slot, false);
    if (t === 0) return 0;
    const u32 = this.u32;
    const w = t / 4;
    const c0 = u32[w + 2];
    const total = c0 + u32[w + 5];
    if (total === 0) return 0;
    const first = Math.random() * total < c0 ? 0 : 1;
    let got = 0;
    for (let k = 0; k < 2 && got < max; k++) {
      const tb = first ^ k;
      const b = u32[w + tb * 3] * 8;
      if (b === 0) continue;
      const mask = u32[w + tb * 3 + 1];
      const start = Math.floor(Math.random() * (mask + 1));
      for (let i = 0; i <= mask && got < max; i++) {
        for (let e = u32[b / 4 + ((start + i) & mask)] * 8; e !== 0 && got < max; e = u32[e / 4] * 8) {
          if (!ttlOnly || this.f64[e / 8 + 1] !== 0) out[got++] = e;
        }
      }
    }
    return got;
  }

  /** Are entry e's key bytes `key`? */
  keyIs(e: number, key: Uint8Array): boolean {
    const n = this.u32[e / 4 + 6];
    if (n !== key.length) return false;
    const u8 = this.u8;
    const at = e + ENTRY_HDR;
    for (let i = 0; i < n; i++) if (u8[at + i] !== key[i]) return false;
    return true;
  }

  /** A random live key of one db's slot, or 0 (RANDOMKEY; caller holds the slot lock). */
  randomInSlot(db: number, slot: number): number {
    const t = this.table(db, slot, false);
    if (t === 0) return 0;
    const u32 = this.u32;
    const w = t / 4;
    const total = u32[w + 2] + u32[w + 5];
    if (total === 0) return 0;
    const pick = Math.floor(Math.random() * total);
    let i = 0;
    let found = 0;
    const now = this.now;
    this.forEachEntry(t, (e) => {
      if (i++ === pick) found = e;
    });
    if (found === 0) return found;
    const exp = this.f64[found / 8 + 1];
    return exp !== 0 && exp <= now && !this.noExpiry ? 0 : found;
  }

  // ---- copying between keys ------------------------------------------------------------

  /** Copy entry e (value and expiry) to key in db, replacing nothing: the destination must not exist. */
  copyEntry(e: number, db: number, key: Uint8Array): number {
    const type = this.type(e);
    const exp = this.expireAt(e);
    let ne: number;
    if (type === T_STRING) {
      const len = this.strLen(e);
      ne = this.insert(db, key, T_STRING, this.encoding(e), len, len);
      this.u8.copyWithin(this.strOffset(ne), this.strOffset(e), this.strOffset(e) + len);
    } else {
      const ops = objectTypes[type];
      if (ops === undefined) throw new Error(`no object type ${type}`);
      ne = this.insert(db, key, type, this.encoding(e), ops.copy(this.heap, this.objPtr(e), this.encoding(e)) / 8, 0);
    }
    this.changed(db, key, this.hashOf(key));
    if (exp !== 0) {
      const t = this.table(db, this.slotOf(key), false);
      this.setExpireRaw(db, t, ne, exp);
    }
    return ne;
  }

  // ---- key-level operations (generic key commands) ----------------------------------------

  /**
   * find() without touching the LRU (TTL, TYPE, OBJECT: Redis's LOOKUP_NOTOUCH): expired keys
   * are deleted and missing; counts keyspace hits and misses.
   */
  findReadNoTouch(db: number, key: Uint8Array, noNotify = false): number {
    const e0 = this.peek(db, key);
    if (e0 === 0) {
      this.find(db, key); // lazy expiry of an expired entry
      this.keyspaceMisses++;
      // LOOKUP_NONOTIFY (OBJECT, DEBUG OBJECT): no "keymiss" event.
      if (this.onKeyMiss !== null && !noNotify) this.onKeyMiss(db, key);
      return 0;
    }
    this.keyspaceHits++;
    return e0;
  }

  /** Set an entry's LRU clock (seconds), e.g. to keep it across a move. */
  setLru(e: number, v: number): void {
    this.u32[e / 4 + 5] = v >>> 0;
  }

  /**
   * Move a live key's value and expiry to dstKey in dstDb in O(1) (RENAME, MOVE): the value is
   * relinked, not copied. dstKey must not exist in dstDb (the caller deletes it first) and the
   * caller holds both slots' locks. Returns the new entry, or 0 if key does not exist.
   */
  moveKey(db: number, key: Uint8Array, dstDb: number, dstKey: Uint8Array): number {
    if (CHECK_LOCKS) this.assertLocked(this.slotOf(key));
    const t = this.table(db, this.slotOf(key), false);
    if (t === 0) return 0;
    const h = this.hashOf(key);
    let e = this.locate(t, key, h, false, PINNED_DEFER);
    if (e === 0) return 0;
    const exp = this.f64[e / 8 + 1];
    if (exp !== 0 && exp <= this.now && !this.noExpiry) return 0;
    const u32 = this.u32;
    const type = this.u8[e + 16];
    const enc = this.u8[e + 17];
    const lru = u32[e / 4 + 5];
    // As stored: a string's length, or the object pointer in 8-byte units (insertAt takes it so).
    const val = u32[e / 4 + 7];
    const dt = this.table(dstDb, this.slotOf(dstKey), true);
    const dh = this.hashOf(dstKey);
    const ne = this.insertAt(dstDb, dt, dstKey, dh, type, enc, val, type === T_STRING ? val : 0);
    // A value a snapshot is half way through: its pin follows it (tracked values), or the rest
    // of it is written now (a huge string, whose bytes move).
    if (this.u8[e + 19] !== 0 && this.onPinned !== null) this.onPinned(e, PINNED_MOVED, ne);
    if (type === T_STRING) {
      const from = e + ENTRY_HDR + u32[e / 4 + 6];
      this.u8.copyWithin(this.strOffset(ne), from, from + val);
    }
    u32[ne / 4 + 5] = lru;
    if (exp !== 0) this.setExpireRaw(dstDb, dt, ne, exp);
    // Unlink the old entry (found again: the insert may have changed its chain) without
    // freeing the value, which the new entry now owns.
    e = this.locate(t, key, h, true);
    u32[this.linkAddr / 4] = u32[e / 4];
    u32[t / 4 + (this.foundTb === 1 ? 5 : 2)]--;
    Atomics.sub(this.i32, this.L.keys + this.phys(db), 1);
    if (exp !== 0) this.volatileDelta(db, t, -1);
    this.heap.freeClass(e, this.u8[e + 18]);
    this.maybeShrink(t);
    // As RENAME/MOVE in Redis: the source is deleted (signalModifiedKey), the destination added.
    this.signalModified(db, key, h);
    const dl = this.deletedListeners;
    for (let i = 0; i < dl.length; i++) dl[i](db, key, DEL_USER);
    this.changed(dstDb, dstKey, dh);
    return ne;
  }

  /** True when a db has no table in this slot (a cheap, lock-free hint for walkers). */
  /**
   * A hint read without the slot's lock (walkers skip empty slots, then lock the others and look
   * again): a plain load, as Atomics.load is a builtin call (~10 ns) and walks ask for all 16384.
   */
  slotIsEmpty(db: number, slot: number): boolean {
    return this.u32[this.L.dir + this.phys(db) * NSLOTS + slot] === 0;
  }

  /** The table header of one db's slot (byte address, 0 = none), for readers holding its lock (DEBUG HTSTATS). */
  slotTable(db: number, slot: number): number {
    return this.u32[this.L.dir + this.phys(db) * NSLOTS + slot] * 8;
  }

  /**
   * The first slot from `from` on that has a table (a hint, as slotIsEmpty); NSLOTS when none.
   * From the db's bitmap (32 slots a word): a walk of a small or sparse db costs ~512 loads
   * instead of 16384 (SCAN of a 3-key db: 126 -> 23 us with a tight loop over the directory).
   */
  nextTableSlot(db: number, from: number): number {
    if (from >= NSLOTS) return NSLOTS;
    const i32 = this.i32;
    const base = this.L.tables + this.phys(db) * TABLE_MAP_WORDS;
    let w = from >>> 5;
    let bits = i32[base + w] & (-1 << (from & 31));
    while (bits === 0) {
      if (++w >= TABLE_MAP_WORDS) return NSLOTS;
      bits = i32[base + w];
    }
    return (w << 5) + (31 - Math.clz32(bits & -bits));
  }

  // ---- structure checker ---------------------------------------------------------------

  /** Walk every table and entry; the caller holds every slot lock. */
  /** `accounting`: check the heap's byte counts too (not while another thread frees unlocked). */
  check(problems: string[], accounting = true): void {
    const free = this.heap.check(problems, accounting);
    const u32 = this.u32;
    for (let db = 0; db < this.dbs; db++) {
      let keys = 0;
      let vol = 0;
      for (let slot = 0; slot < NSLOTS; slot++) {
        const t = this.table(db, slot, false);
        const mapped = (this.i32[this.L.tables + this.phys(db) * TABLE_MAP_WORDS + (slot >>> 5)] >>> (slot & 31)) & 1;
        if (mapped !== (t === 0 ? 0 : 1)) problems.push(`db ${db} slot ${slot}: table bitmap says ${mapped}, table ${t}`);
        if (t === 0) continue;
        const w = t / 4;
        let tv = 0;
        for (let tb = 0; tb < 2; tb++) {
          const b = u32[w + tb * 3] * 8;
          if (b === 0) continue;
          const mask = u32[w + tb * 3 + 1];
          let n = 0;
          for (let i = 0; i <= mask; i++) {
            let e = u32[b / 4 + i] * 8;
            let guard = 0;
            while (e !== 0) {
              if (++guard > 1e7) { problems.push(`db ${db} slot ${slot}: chain cycles`); break; }
              const key = this.keyView(e);
              const h = this.hashOf(key);
              if (h !== u32[e / 4 + 1]) problems.push(`db ${db} slot ${slot}: entry hash mismatch`);
              if ((h & mask) !== i) problems.push(`db ${db} slot ${slot}: entry in wrong bucket`);
              if (keySlot(key) !== slot) problems.push(`db ${db}: key ${Buffer.from(key).toString()} in slot ${slot}, belongs in ${keySlot(key)}`);
              const type = this.type(e);
              if (type > T_STREAM || type === 5) problems.push(`db ${db}: bad type ${type}`);
              const need = ENTRY_HDR + key.length + (type === T_STRING ? this.strLen(e) : 0);
              if (need > classSize[this.u8[e + 18]]) problems.push(`db ${db}: entry overflows its block`);
              if (Heap.overlapsFree(free, e, classSize[this.u8[e + 18]])) problems.push(`db ${db}: entry ${Buffer.from(key).toString()} lies in a free block`);
              if (type !== T_STRING && Heap.overlapsFree(free, this.objPtr(e), 8)) problems.push(`db ${db}: value of ${Buffer.from(key).toString()} lies in a free block`);
              if (type !== T_STRING) {
                const ops = objectTypes[type];
                if (ops !== undefined) ops.check(this.heap, this.objPtr(e), this.encoding(e), problems);
              }
              if (this.expireAt(e) !== 0) tv++;
              n++;
              e = u32[e / 4] * 8;
            }
          }
          if (n !== u32[w + tb * 3 + 2]) problems.push(`db ${db} slot ${slot}: table ${tb} used ${u32[w + tb * 3 + 2]} but holds ${n}`);
          keys += n;
        }
        if (tv !== u32[w + 7]) problems.push(`db ${db} slot ${slot}: volatile count ${u32[w + 7]} but ${tv}`);
        vol += tv;
      }
      if (keys !== this.dbSize(db)) problems.push(`db ${db}: key count ${this.dbSize(db)} but tables hold ${keys}`);
      if (vol !== this.volatileCount(db)) problems.push(`db ${db}: volatile count ${this.volatileCount(db)} but ${vol}`);
    }
  }
}

const INT64_MAX = '9223372036854775807';
const INT64_MIN_ABS = '9223372036854775808';
/** Canonical integers beyond 2^53 but inside int64 (Redis still encodes them as int). */
function isBigCanonicalInt(b: Uint8Array): boolean {
  let i = 0;
  const neg = b[0] === 0x2d;
  if (neg) i = 1;
  if (i >= b.length || b[i] === 0x30) return false;
  for (let j = i; j < b.length; j++) if (b[j] < 0x30 || b[j] > 0x39) return false;
  const digits = b.length - i;
  const lim = neg ? INT64_MIN_ABS : INT64_MAX;
  if (digits < 19) return true;
  if (digits > 19) return false;
  for (let j = 0; j < 19; j++) {
    const c = b[i + j];
    const l = lim.charCodeAt(j);
    if (c !== l) return c < l;
  }
  return true;
}

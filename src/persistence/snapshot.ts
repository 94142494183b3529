// Point-in-time snapshots without fork(), and loading at start-up (runs on the main thread,
// which serves no clients: the file's writes and fsync never delay a client).
//
// A snapshot starts under every slot lock: it records each db's size and publishes a block of
// "reached" flags (MISC_SNAPSHOT). The walker then serializes db by db, slot by slot, each slot
// under its lock for as long as that slot's keys take. A command that may write and locks a slot
// the walker has not reached yet first serializes that slot's keys (every db) itself and posts
// the bytes here (the cow hook, installed on every worker): the file holds every key as it was
// when the snapshot began, while clients keep writing. Slots touched by writers are copied once;
// the copies wait here until the walker reaches their place (rdb_last_cow_size counts them).
//
// Big values (rdb.ts's isBigValue: collections and streams of 2048+ elements, strings of 1 MB+) are never serialized in one
// lock hold: whoever reaches their slot first (walker or writer) "pins" them instead: a record in
// the flags block, and ENTRY_PINNED on the entry. The walker then writes each pinned value in
// chunks of ~1 ms, releasing the slot in between (commands on other keys of the slot run), while
// the value is tracked (below) or frozen: a huge string's first lookup that may change it (any
// but a read's), deletion or rename runs Store.onPinned first, which copies the rest of that one
// value on the writer's thread and posts it here. The extra memory a save holds is the copies
// waiting for their place in the file (INFO current_cow_size; rdb_last_cow_size counts every
// byte copied).
//
// Collections are tracked: a write to a pinned one costs the writer only what it changes, as a
// fork's page copies would.
//  - Skiplist zsets and hashtable hashes/sets element by element (the object's pin word,
//    skiplist.ts's zslPin and dict.ts's dictPin hooks): before a member the walker has not
//    written yet is deleted or changed, the writer appends its old bytes to the pin's side buffer
//    (heap memory, drained by the walker into the value's bytes: pairs may come in any order) and
//    adds the node to the pin's skip set; one added (or moved) where the walker has yet to go
//    joins the skip set. A zset is walked from the tail, so "not written yet" is "sorts at or
//    before the cursor"; a dict by bucket (it does not rehash while pinned).
//  - Lists node by node (quicklist.ts's qlPin hooks): pinning records the node vector (the
//    point in time's nodes, in order: their count is written up front) and a map node -> index.
//    The walker writes vector entries in order. Before a node the walker has not reached changes
//    (push, pop, set, insert, split, trim), the writer copies its listpack into a block of its
//    own that the vector entry then names; a node it unlinks is not freed but left to the vector
//    (the walker frees it once written). Nodes made after the pin are in no vector. So LPUSH,
//    RPUSH, LSET, LINSERT, LPOP, LTRIM to a half-saved list copy at most the few nodes they
//    change (a listpack of <= list-max-listpack-size bytes each), and the file is byte for byte
//    the one an undisturbed save writes.
//  - Deleting, overwriting or flushing a pinned collection (DEL, UNLINK, SET, RENAME over it,
//    expiry, eviction, FLUSHDB/FLUSHALL) does not copy it: the snapshot takes the object (the key
//    goes, the object is left to the pin record, which the walker finishes and then frees). A
//    RENAME or MOVE of it moves the pin to the new entry (the walker locks the slot the value is
//    in now: the record's lock-slot word). Converting a zset to a listpack still finishes it.
//  - Big streams (2048+ entries) are chunked but not tracked: any change finishes the rest
//    first (group commands that look the stream up as a read call Store.changingAfterRead).
//
// Flags block: NSLOTS bytes (slot copied for every db), then dbs * NSLOTS bytes per (db, slot):
// 0 not reached, 1 reached (walker wrote it, or nothing to copy), 2 copied by a writer (bytes
// posted to the main thread), | 4 when it has pinned values; then the save options (compress,
// lru, lfu, -); then the pin table: a count word and PIN_MAX records of PIN_WORDS words
// (state, entry (0 once the snapshot owns the object), db, slot (its place in the file), 3
// cursor words, elements left (lists: nodes), side buffer ptr/cap/len, skip set ptr/cap/count,
// kind, the pinned object, its type | encoding << 8, the slot it is in now, owned, a list's node
// vector and node map ptr/cap).
//
// Every heap address kept in heap memory here (the MISC_SNAPSHOT word, a pin record's entry,
// object, zset cursor and buffer pointers, the skip set's nodes, a list vector's and map's nodes
// and saved copies) is in 8-byte units (address / 8): the heap may pass 4 GiB; 0 is still none.

import { trackingFlush } from '../server/tracking';
import * as fs from 'fs';
import * as fsp from 'fs/promises';
import * as path from 'path';
import * as os from 'os';
import type { Config } from '../config/config';
import { parseSaveRules } from '../config/directives';
import { NSLOTS } from '../store/crc16';
import {
  ENTRY_PINNED, E_HASHTABLE, E_SKIPLIST, MISC_SNAPSHOT, MISC_SNAPSHOT_HELD, MISC_SNAPSHOT_KILL, Store, T_HASH, T_LIST, T_SET, T_STREAM, T_STRING, T_ZSET, PINNED_FULL,
  PINNED_GONE, PINNED_LIGHT, freeObject,
} from '../store/keyspace';
import { keySlot } from '../store/crc16';
import { qlFirstNode, qlFreeNode, qlNextNode, qlNodeBytes, qlNodeListpack, qlNodes, qlPin, qlSetPinWord } from '../store/quicklist';
import { keyMemoryUsage } from '../store/memory-usage';
import { classOf, classSize } from '../store/heap';
import { lpBytes } from '../store/listpack';
import { DICT_HASH, dictKey, dictPin, dictSetPinWord, dictVal } from '../store/dict';
import { nodeMember, nodeMemberLen, nodePrev, nodeScore, zslCmpNodes, zslPin, zslSetPinWord } from '../store/skiplist';
import type { Heap } from '../store/heap';
import { log } from '../server/log';
import { latencyAddSampleIfNeeded } from '../server/latency';
import { Coordinator } from '../server/coordinator';
import {
  RdbError, RdbIn, RdbOut, SaveOptions, isBigValue, QUICKLIST_NODE_CONTAINER_PACKED, writeBigStart, writeString, writeKeyHeader, writeBigMore, writeAux, writeFunctions, readFunction, writeHeader, writeKeyValue, writeSelectDb, writeTrailer, readValue,
  buildObject, isEmptyCollection, LoadLimits, RDB_VERSION, OP_AUX, OP_EOF, OP_EXPIRETIME, OP_EXPIRETIME_MS,
  OP_FREQ, OP_FUNCTION, OP_FUNCTION2, OP_IDLE, OP_MODULE_AUX, OP_RESIZEDB, OP_SELECTDB,
} from './rdb';
import { checksumSkipped } from '../server/context';
import { Crc64 } from './crc64';
import { SaveChild } from './child';
import { lzfCompressRange } from './lzf';
import { libraryCodes, clearLibraries } from '../scripting/library-list';
import {
  pget, pset, P_BGSAVE_IN_PROGRESS, P_BGSAVE_START, P_DIRTY_AT_SAVE, P_KEYS_PROCESSED, P_KEYS_TOTAL, P_LAST_BGSAVE_OK,
  P_LAST_BGSAVE_TIME, P_LAST_COW, P_LAST_SAVE, P_LAST_SAVE_TRY, P_LOAD_EXPIRED, P_LOAD_LOADED, P_SAVES, P_COW_NOW,
  P_LOADING_START, P_LOADING_TOTAL, P_LOADING_LOADED, P_LOADING_KEYS, P_COW_HELD, P_COW_PEAK, P_FORKS, P_FORK_USEC,
} from './state';

const F_OPTS = (dbs: number): number => NSLOTS * (1 + dbs);
/** Byte offset of the pin table in the flags block. */
const F_PINS = (dbs: number): number => F_OPTS(dbs) + 4;
const PIN_MAX = 8192;
const PIN_WORDS = 24;
/**
 * Pin record words after the cursor: side buffer (ptr, capacity, length), skip set (ptr,
 * capacity, count), the tracked object's kind (TRACK_*) and the object.
 */
const W_SIDE = 8;
const W_SKIP = 11;
const W_KIND = 14;
const W_OBJ = 15;
/** The pinned object's type | encoding << 8 (to finish and free it once its key is gone). */
const W_TYPE = 16;
/** The slot the value is in now (a RENAME moves it; the walker locks this one). */
const W_LOCK = 17;
/** 1: the key is gone and the snapshot owns the object (it frees it once written). */
const W_OWNED = 18;
/** A list's node vector (2 words a node: node, saved) and node map (ptr, capacity: node, index pairs). */
const W_LV = 19;
const W_LMAP = 20;
const W_LMAPCAP = 21;
/** Bytes of a taken object (its key went mid-save) counted in MISC_SNAPSHOT_HELD, in 64-byte units. */
const W_HELD = 22;
const TRACK_ZSET = 1;
const TRACK_DICT = 2;
/** Not tracked: a huge string (W_KIND says so after the pin is over too). */
const PIN_STRING = 3;
const TRACK_LIST = 4;
/**
 * Not tracked: a big stream (2048+ entries), written a few nodes at a time; a writer changing it
 * writes the rest of it first (its deletion, overwrite or rename take or move it as the others').
 */
const PIN_STREAM = 5;
/** A node vector entry's saved word: the node was unlinked and left to the snapshot. */
const LIST_DETACHED = 1; // raw, in unit space: no real address / 8 is below 8192
/** A pinned string is compressed in independent LZF blocks of this size, and copied raw in pieces of RAW_PIECE. */
const LZF_BLOCK = 64 << 10;
const RAW_PIECE = 4 << 20;
const flagsBytesOf = (dbs: number): number => F_PINS(dbs) + 4 + PIN_MAX * PIN_WORDS * 4;
/** Record states: pinned (nothing written), the walker is part way, a writer finished it, done. */
const PIN_PINNED = 1;
const PIN_PARTIAL = 2;
const PIN_POSTED = 3;
const PIN_DONE = 4;
const SLOT_PINS = 4;
/** The copies map's key for pin record r's bytes (slot copies use db * NSLOTS + slot >= 0). */
const pinKey = (r: number): number => -1 - r;
/** How long the walker holds a slot for one chunk of a big value. */
const CHUNK_MS = 1;

export function saveOptionsOf(config: Config): SaveOptions {
  const policy = config.str('maxmemory-policy');
  return {
    compress: config.bool('rdbcompression'),
    lru: policy.endsWith('-lru'),
    lfu: policy.endsWith('-lfu'),
  };
}

export function loadLimitsOf(config: Config): LoadLimits {
  return {
    listFill: config.num('list-max-listpack-size'),
    setMaxIntset: config.num('set-max-intset-entries'),
    hashMaxEntries: config.num('hash-max-listpack-entries'),
    hashMaxValue: config.num('hash-max-listpack-value'),
    zset: { maxEntries: config.num('zset-max-listpack-entries'), maxValue: config.num('zset-max-listpack-value') },
  };
}

/** Is this pinned value tracked element by element (a write pays for its changes only)? */
function tracked(s: Store, e: number): number {
  const t = s.type(e);
  const enc = s.encoding(e);
  if (t === T_LIST) return TRACK_LIST;
  if (t === T_ZSET) return enc === E_SKIPLIST ? TRACK_ZSET : 0;
  return (t === T_SET || t === T_HASH) && enc === E_HASHTABLE ? TRACK_DICT : 0;
}

// ---- a pin's side buffer and skip set (heap memory; used under the value's slot lock) -------

/** The heap address an i32 word of the snapshot's records holds (stored in 8-byte units). */
const addrAt = (i32: Int32Array, w: number): number => (i32[w] >>> 0) * 8;

/** The store's MISC_SNAPSHOT_HELD word (set by installCowHook and Persistence: one store per thread). */
let heldWord = -1;

/**
 * Count heap the snapshot holds (+) or gives back (-) in MISC_SNAPSHOT_HELD: every block it
 * allocates or takes over, by the size asked for, the same both ways; counted as the heap counts
 * it (the block's size class), in 64-byte units rounded up.
 */
function heapHeld(i32: Int32Array, bytes: number, sign: 1 | -1): void {
  Atomics.add(i32, heldWord, sign * Math.ceil(classSize[classOf(bytes)] / 64));
}

/** A block of the snapshot's own (zeroed when `zero`), counted as held. */
function heldAlloc(h: Heap, i32: Int32Array, bytes: number, zero = false): number {
  const p = zero ? h.calloc(bytes) : h.alloc(bytes);
  heapHeld(i32, bytes, 1);
  return p;
}

/** Free a block heldAlloc gave (same size), no longer counted. */
function heldFree(h: Heap, i32: Int32Array, p: number, bytes: number): void {
  h.free(p, bytes);
  heapHeld(i32, bytes, -1);
}

function sideAppend(h: Heap, i32: Int32Array, w: number, b: Buffer): void {
  let ptr = addrAt(i32, w + W_SIDE);
  const cap = i32[w + W_SIDE + 1];
  const len = i32[w + W_SIDE + 2];
  if (len + b.length > cap) {
    const ncap = Math.max(cap * 2, len + b.length, 4096);
    const np = heldAlloc(h, i32, ncap);
    if (len > 0) h.u8.copyWithin(np, ptr, ptr + len);
    if (ptr !== 0) heldFree(h, i32, ptr, cap);
    ptr = np;
    i32[w + W_SIDE] = np / 8;
    i32[w + W_SIDE + 1] = ncap;
  }
  h.u8.set(b, ptr + len);
  i32[w + W_SIDE + 2] = len + b.length;
}

/** Move the side buffer's bytes to out. Returns how many. */
function sideDrain(h: Heap, i32: Int32Array, w: number, out: RdbOut): number {
  const len = i32[w + W_SIDE + 2];
  if (len === 0) return 0;
  const ptr = addrAt(i32, w + W_SIDE);
  out.bytes(h.u8, ptr, ptr + len);
  i32[w + W_SIDE + 2] = 0;
  return len;
}

/** The hash slot of a node given in 8-byte units (what the skip set and the list map hold). */
const skipSlot = (u: number, mask: number): number => Math.imul(u, 0x9e3779b1) >>> 0 & mask;

function skipHas(h: Heap, i32: Int32Array, w: number, n: number): boolean {
  if (i32[w + W_SKIP + 2] === 0) return false;
  const t = addrAt(i32, w + W_SKIP) / 4;
  const mask = i32[w + W_SKIP + 1] - 1;
  const u32 = h.u32;
  const nu = n / 8;
  for (let i = skipSlot(nu, mask); ; i = (i + 1) & mask) {
    const v = u32[t + i];
    if (v === nu) return true;
    if (v === 0) return false;
  }
}

function skipAdd(h: Heap, i32: Int32Array, w: number, n: number): void {
  let cap = i32[w + W_SKIP + 1];
  const count = i32[w + W_SKIP + 2];
  if ((count + 1) * 2 > cap) {
    // Grow (x4) and re-insert.
    const ncap = Math.max(64, cap * 4);
    const nt = heldAlloc(h, i32, ncap * 4, true);
    const old = addrAt(i32, w + W_SKIP);
    const u32 = h.u32;
    const nmask = ncap - 1;
    for (let i = 0; i < cap; i++) {
      const v = u32[old / 4 + i];
      if (v === 0) continue;
      let j = skipSlot(v, nmask);
      while (u32[nt / 4 + j] !== 0) j = (j + 1) & nmask;
      u32[nt / 4 + j] = v;
    }
    if (old !== 0) heldFree(h, i32, old, cap * 4);
    i32[w + W_SKIP] = nt / 8;
    i32[w + W_SKIP + 1] = ncap;
    cap = ncap;
  }
  const t = addrAt(i32, w + W_SKIP) / 4;
  const mask = cap - 1;
  const u32 = h.u32;
  const nu = n / 8;
  for (let i = skipSlot(nu, mask); ; i = (i + 1) & mask) {
    const v = u32[t + i];
    if (v === nu) return;
    if (v === 0) {
      u32[t + i] = nu;
      i32[w + W_SKIP + 2] = count + 1;
      return;
    }
  }
}

/** A pin is over (written, posted, or the snapshot ended): its buffers go, its zset is unmarked. */
function pinRelease(s: Store, i32: Int32Array, w: number): void {
  const h = s.heap;
  const obj = addrAt(i32, w + W_OBJ);
  if (obj !== 0) {
    const kind = i32[w + W_KIND];
    if (kind === TRACK_ZSET) zslSetPinWord(h, obj, 0);
    else if (kind === TRACK_LIST) qlSetPinWord(h, obj, 0);
    else if (kind === TRACK_DICT) dictSetPinWord(h, obj, 0);
  }
  i32[w + W_OBJ] = 0;
  listRelease(h, i32, w);
  if (i32[w + W_SIDE] !== 0) heldFree(h, i32, addrAt(i32, w + W_SIDE), i32[w + W_SIDE + 1]);
  if (i32[w + W_SKIP] !== 0) heldFree(h, i32, addrAt(i32, w + W_SKIP), i32[w + W_SKIP + 1] * 4);
  for (let i = W_SIDE; i < W_SIDE + 6; i++) i32[w + i] = 0;
  // A taken object is freed right after its pin is over (by whoever released it).
  Atomics.sub(i32, heldWord, i32[w + W_HELD]);
  i32[w + W_HELD] = 0;
}

// ---- a pinned list's node vector (heap memory; used under the list's slot lock) --------------

/** Record the list's nodes as at the point in time (in order) and the map node -> index. */
function listPin(h: Heap, i32: Int32Array, w: number, ql: number): void {
  const nodes = qlNodes(h, ql);
  const v = heldAlloc(h, i32, nodes * 8);
  let cap = 16;
  while (cap < nodes * 2) cap *= 2;
  const map = heldAlloc(h, i32, cap * 8, true);
  const u32 = h.u32;
  const mask = cap - 1;
  let i = 0;
  for (let n = qlFirstNode(h, ql); n !== 0; n = qlNextNode(h, n), i++) {
    const nu = n / 8;
    u32[v / 4 + 2 * i] = nu;
    u32[v / 4 + 2 * i + 1] = 0;
    let j = skipSlot(nu, mask);
    while (u32[map / 4 + 2 * j] !== 0) j = (j + 1) & mask;
    u32[map / 4 + 2 * j] = nu;
    u32[map / 4 + 2 * j + 1] = i;
  }
  i32[w + 4] = 0;
  i32[w + 7] = nodes;
  i32[w + W_LV] = v / 8;
  i32[w + W_LMAP] = map / 8;
  i32[w + W_LMAPCAP] = cap;
}

/**
 * The vector index of node n when the snapshot still needs it as it is now (a point-in-time node
 * the walker has not written, not saved or unlinked since), else -1. A freed node's address may
 * come back as a new node: its index is then behind the walker or its entry already saved.
 */
function listDue(h: Heap, i32: Int32Array, w: number, n: number): number {
  const map = addrAt(i32, w + W_LMAP) / 4;
  const mask = i32[w + W_LMAPCAP] - 1;
  const u32 = h.u32;
  const nu = n / 8;
  for (let j = skipSlot(nu, mask); ; j = (j + 1) & mask) {
    const x = u32[map + 2 * j];
    if (x === 0) return -1;
    if (x === nu) {
      const i = u32[map + 2 * j + 1];
      if (i < i32[w + 4]) return -1;
      return u32[addrAt(i32, w + W_LV) / 4 + 2 * i + 1] === 0 ? i : -1;
    }
  }
}

/** Bytes of saved nodes the last listMore calls wrote (copy-on-write bytes). */
let listSaved = 0;

/** Write a pinned list's next nodes (until `until`). True when every node is written. */
function listMore(out: RdbOut, h: Heap, i32: Int32Array, w: number, compress: boolean, until: number): boolean {
  const v = addrAt(i32, w + W_LV) / 4;
  const nodes = i32[w + 7];
  const u32 = h.u32;
  const u8 = h.u8;
  let i = i32[w + 4];
  while (i < nodes) {
    const n = u32[v + 2 * i] * 8;
    const saved = u32[v + 2 * i + 1];
    out.len(QUICKLIST_NODE_CONTAINER_PACKED);
    if (saved === 0 || saved === LIST_DETACHED) {
      const lp = qlNodeListpack(h, n);
      writeString(out, u8, lp, lp + lpBytes(h, lp), compress);
    } else {
      const b = saved * 8;
      const len = u32[b / 4];
      writeString(out, u8, b + 4, b + 4 + len, compress);
      listSaved += len;
    }
    freeLeft(h, i32, n, saved);
    u32[v + 2 * i + 1] = 0;
    i32[w + 4] = ++i;
    if (performance.now() > until) break;
  }
  return i >= nodes;
}

/**
 * What a node vector entry left to the snapshot goes: a detached node (given back as counted
 * when detached: it has not changed since) or a saved copy of its listpack. 0: nothing.
 */
function freeLeft(h: Heap, i32: Int32Array, n: number, saved: number): void {
  if (saved === LIST_DETACHED) {
    heapHeld(i32, qlNodeBytes(h, n), -1);
    qlFreeNode(h, n);
  } else if (saved !== 0) {
    heldFree(h, i32, saved * 8, h.u32[(saved * 8) / 4] + 4);
  }
}

/** A list pin is over: nodes and copies left to it (a save that stopped) go, then the vector and map. */
function listRelease(h: Heap, i32: Int32Array, w: number): void {
  const vp = addrAt(i32, w + W_LV);
  if (vp === 0) return;
  const v = vp / 4;
  const nodes = i32[w + 7];
  const u32 = h.u32;
  for (let i = i32[w + 4]; i < nodes; i++) freeLeft(h, i32, u32[v + 2 * i] * 8, u32[v + 2 * i + 1]);
  heldFree(h, i32, vp, nodes * 8);
  heldFree(h, i32, addrAt(i32, w + W_LMAP), i32[w + W_LMAPCAP] * 8);
  i32[w + W_LV] = 0;
  i32[w + W_LMAP] = 0;
  i32[w + W_LMAPCAP] = 0;
}

/** A big value's header and count (lists: the vector's node count; others also set the cursor). */
function bigStart(out: RdbOut, s: Store, e: number, o: SaveOptions, i32: Int32Array, w: number): void {
  if (i32[w + W_KIND] === TRACK_LIST) {
    writeKeyHeader(out, s, e, o);
    out.len(i32[w + 7]);
  } else {
    writeBigStart(out, s, e, o, i32, w + 4);
  }
}

/** More of a pinned collection, from its object (its key may be gone). True when complete. */
function bigMore(out: RdbOut, s: Store, i32: Int32Array, w: number, compress: boolean, until: number): boolean {
  if (i32[w + W_KIND] === TRACK_LIST) return listMore(out, s.heap, i32, w, compress, until);
  return writeBigMore(out, s, i32[w + W_TYPE] & 255, addrAt(i32, w + W_OBJ), compress, i32, w + 4, until, (x) => skipHas(s.heap, i32, w, x));
}

/** Lock the slot pinned value w is in now (a RENAME may move it meanwhile). */
function lockPinSlot(coord: Coordinator, i32: Int32Array, w: number): number {
  for (;;) {
    const slot = i32[w + W_LOCK];
    coord.lockWalk(slot);
    if (i32[w + W_LOCK] === slot) return slot;
    coord.unlockWalk(slot);
  }
}

/** writeSlot's entries of one slot (byte addresses, so f64: grows; one per thread). */
let slotEntries = new Float64Array(256);

/**
 * Serialize one (db, slot): every stored entry, except big values, which are pinned (their slot
 * gets SLOT_PINS) while the pin table has room. Returns the keys written.
 */
function writeSlot(out: RdbOut, s: Store, f: number, db: number, slot: number, o: SaveOptions): number {
  let n = 0;
  const i32 = s.i32;
  const pins = (f + F_PINS(s.dbs)) / 4;
  // Gather the entries first, then serialize them: each entry is a cold cache line (and TLB
  // entry) of a big keyspace, and a walk that only collects lets those misses overlap, where
  // serializing between them left one in flight at a time (the copy-before-write of a slot, on
  // a worker holding a command's lock, spent half its time on that load).
  let count = 0;
  s.forEachStoredInSlot(db, slot, (e) => {
    if (count === slotEntries.length) {
      const more = new Float64Array(count * 2);
      more.set(slotEntries);
      slotEntries = more;
    }
    slotEntries[count++] = e;
  });
  for (let k = 0; k < count; k++) {
    const e = slotEntries[k];
    if (isBigValue(s, e)) {
      const r = Atomics.add(i32, pins, 1);
      if (r < PIN_MAX) {
        const w = pins + 1 + r * PIN_WORDS;
        i32[w + 1] = e / 8;
        i32[w + 2] = db;
        i32[w + 3] = slot;
        for (let i = W_SIDE; i < PIN_WORDS; i++) i32[w + i] = 0;
        const kind = tracked(s, e);
        if (s.type(e) === T_STRING) i32[w + W_KIND] = PIN_STRING;
        if (s.type(e) === T_STREAM) {
          i32[w + W_KIND] = PIN_STREAM;
          i32[w + W_OBJ] = s.objPtr(e) / 8;
        }
        i32[w + W_TYPE] = s.type(e) | (s.encoding(e) << 8);
        i32[w + W_LOCK] = slot;
        if (kind !== 0) {
          const obj = s.objPtr(e);
          i32[w + W_OBJ] = obj / 8;
          i32[w + W_KIND] = kind;
          if (kind === TRACK_ZSET) zslSetPinWord(s.heap, obj, r + 1);
          else if (kind === TRACK_LIST) {
            listPin(s.heap, i32, w, obj);
            qlSetPinWord(s.heap, obj, r + 1);
          } else dictSetPinWord(s.heap, obj, r + 1);
        }
        i32[w] = PIN_PINNED;
        s.u8[e + 19] = ENTRY_PINNED;
        s.u8[f + NSLOTS + db * NSLOTS + slot] |= SLOT_PINS;
        continue;
      }
    }
    writeKeyValue(out, s, e, o);
    n++;
  }
  return n;
}

/** The pin records of (db, slot), in the order they were made. */
function pinsOf(s: Store, f: number, db: number, slot: number): number[] {
  const i32 = s.i32;
  const pins = (f + F_PINS(s.dbs)) / 4;
  const n = Math.min(Atomics.load(i32, pins), PIN_MAX);
  const out: number[] = [];
  for (let r = 0; r < n; r++) {
    const w = pins + 1 + r * PIN_WORDS;
    if (i32[w + 2] === db && i32[w + 3] === slot && i32[w] !== 0) out.push(r);
  }
  return out;
}

function saveOptionsAt(u8: Uint8Array, f: number, dbs: number): SaveOptions {
  const ob = f + F_OPTS(dbs);
  return { compress: u8[ob] !== 0, lru: u8[ob + 1] !== 0, lfu: u8[ob + 2] !== 0 };
}

/**
 * The copy-before-write hook for a thread's store: runs with `slot` locked by a command that
 * may write, while a snapshot is active. `deliver` hands the bytes of (db, slot) to the main thread.
 */
export function installCowHook(s: Store, deliver: (key: number, bytes: Buffer, logical: number) => void): void {
  heldWord = s.L.misc + MISC_SNAPSHOT_HELD;
  // One buffer for every slot copy of this thread, no checksum (the walker sums the file).
  const cow = new RdbOut(null, 1 << 16, false);
  s.beforeChange = (slot: number): void => {
    const f = addrAt(s.i32, s.L.misc + MISC_SNAPSHOT);
    const u8 = s.u8;
    if (f === 0 || u8[f + slot] !== 0) return;
    const dbs = s.dbs;
    const o = saveOptionsAt(u8, f, dbs);
    for (let db = 0; db < dbs; db++) {
      const at = f + NSLOTS + db * NSLOTS + slot;
      if (u8[at] !== 0) continue;
      if (s.slotKeyCount(db, slot) === 0) {
        u8[at] = 1;
        continue;
      }
      cow.reset();
      writeSlot(cow, s, f, db, slot, o);
      u8[at] = (u8[at] & SLOT_PINS) | 2;
      const saved = cow.lzfSaved;
      const b = cow.takeOwned();
      deliver(db * NSLOTS + slot, b, b.length + saved);
    }
    u8[f + slot] = 1;
  };
  const h = s.heap;
  const scratch = new RdbOut(null, 4096);
  const pinsWord = (f: number): number => (f + F_PINS(s.dbs)) / 4;
  /** A writer is first to change a pinned value: its header and count go to the side buffer. */
  const startInSide = (f: number, w: number): void => {
    bigStart(scratch, s, addrAt(s.i32, w + 1), saveOptionsAt(s.u8, f, s.dbs), s.i32, w);
    sideAppend(h, s.i32, w, scratch.take());
    s.i32[w] = PIN_PARTIAL;
  };
  /**
   * The pin record (its first word) of a tracked object about to change (its pin word holds the
   * record + 1), or -1 when none is due.
   */
  const recordOf = (obj: number, pinWord: number): number => {
    const f = addrAt(s.i32, s.L.misc + MISC_SNAPSHOT);
    if (f === 0) return -1;
    const i32 = s.i32;
    const w = pinsWord(f) + 1 + (h.u32[obj / 4 + pinWord] - 1) * PIN_WORDS;
    const st = i32[w];
    if ((st !== PIN_PINNED && st !== PIN_PARTIAL) || addrAt(i32, w + W_OBJ) !== obj) return -1;
    if (st === PIN_PINNED) startInSide(f, w);
    return w;
  };
  const compressing = (): boolean => s.u8[addrAt(s.i32, s.L.misc + MISC_SNAPSHOT) + F_OPTS(s.dbs)] !== 0;
  const zsetRecord = (zs: number): number => recordOf(zs, 9);
  // Dicts: the walker stops only between buckets and nothing moves between tables while pinned,
  // so an entry not written yet is one in a later table, or in a later bucket of the same.
  const dictUnwritten = (hp: Heap, d: number, w: number, x: number, tb: number): boolean => {
    const ctb = s.i32[w + 4];
    if (tb !== ctb) return tb > ctb;
    return (hp.u32[x / 4 + 1] & hp.u32[d / 4 + tb * 3 + 1]) > s.i32[w + 5];
  };
  dictPin.before = (hp: Heap, d: number, x: number, tb: number): void => {
    const w = recordOf(d, 8);
    if (w < 0) return;
    const i32 = s.i32;
    if (!dictUnwritten(hp, d, w, x, tb) || skipHas(hp, i32, w, x)) return;
    const kind = hp.u32[d / 4 + 7];
    const c = compressing();
    const k = dictKey(hp, kind, x);
    writeString(scratch, k, 0, k.length, c);
    if (kind === DICT_HASH) {
      const v = dictVal(hp, x);
      writeString(scratch, v, 0, v.length, c);
    }
    sideAppend(hp, i32, w, scratch.take());
    skipAdd(hp, i32, w, x);
  };
  dictPin.after = (hp: Heap, d: number, x: number, tb: number): void => {
    const w = recordOf(d, 8);
    if (w >= 0 && dictUnwritten(hp, d, w, x, tb)) skipAdd(hp, s.i32, w, x);
  };
  // A list node the walker has not written yet is about to change: its listpack is copied into a
  // block of its own, which the walker writes in its place.
  qlPin.before = (hp: Heap, ql: number, n: number): void => {
    const w = recordOf(ql, 5);
    if (w < 0) return;
    const i = listDue(hp, s.i32, w, n);
    if (i < 0) return;
    const lp = qlNodeListpack(hp, n);
    const len = lpBytes(hp, lp);
    const b = heldAlloc(hp, s.i32, len + 4);
    hp.u32[b / 4] = len;
    hp.u8.copyWithin(b + 4, lp, lp + len);
    hp.u32[addrAt(s.i32, w + W_LV) / 4 + 2 * i + 1] = b / 8;
  };
  // A node the walker has not written yet leaves the list: the walker gets it as it is (and frees it).
  qlPin.unlink = (hp: Heap, ql: number, n: number): boolean => {
    const w = recordOf(ql, 5);
    if (w < 0) return false;
    const i = listDue(hp, s.i32, w, n);
    if (i < 0) return false;
    hp.u32[addrAt(s.i32, w + W_LV) / 4 + 2 * i + 1] = LIST_DETACHED;
    heapHeld(s.i32, qlNodeBytes(hp, n), 1);
    return true;
  };
  // A member the walker has not written yet is about to go or move: its old pair goes to the
  // side buffer and the node is skipped by the walk (the cursor steps over it if it is there).
  zslPin.before = (hp: Heap, zs: number, x: number): void => {
    const w = zsetRecord(zs);
    if (w < 0) return;
    const i32 = s.i32;
    const cur = addrAt(i32, w + 4);
    if (cur === 0) return;
    if ((x === cur || zslCmpNodes(hp, x, cur) < 0) && !skipHas(hp, i32, w, x)) {
      const m = nodeMember(hp, x);
      writeString(scratch, hp.u8, m, m + nodeMemberLen(hp, x), compressing());
      scratch.double(nodeScore(hp, x));
      sideAppend(hp, i32, w, scratch.take());
      skipAdd(hp, i32, w, x);
    }
    if (x === cur) i32[w + 4] = nodePrev(hp, x) / 8;
  };
  // A node added or moved where the walker has yet to go: not part of the point in time.
  zslPin.after = (hp: Heap, zs: number, x: number): void => {
    const w = zsetRecord(zs);
    if (w < 0) return;
    const cur = addrAt(s.i32, w + 4);
    if (cur !== 0 && x !== cur && zslCmpNodes(hp, x, cur) < 0) skipAdd(hp, s.i32, w, x);
  };
  // A pinned big value is about to change, go or move (`how`, keyspace.ts's PINNED_*). A tracked
  // collection changed in place stays pinned; one deleted is taken (true: the caller leaves the
  // object to the snapshot); one moved to entry `ne` takes its pin along (true). Anything else
  // (a huge string, a conversion) has the rest of this one value written now.
  s.onPinned = (e: number, how: number, ne = 0): boolean => {
    const u8 = s.u8;
    const f = addrAt(s.i32, s.L.misc + MISC_SNAPSHOT);
    if (f === 0) {
      u8[e + 19] = 0;
      return false;
    }
    const i32 = s.i32;
    const pins = pinsWord(f);
    const n = Math.min(Atomics.load(i32, pins), PIN_MAX);
    for (let r = 0; r < n; r++) {
      const w = pins + 1 + r * PIN_WORDS;
      if (addrAt(i32, w + 1) !== e) continue;
      const st = i32[w];
      if (st !== PIN_PINNED && st !== PIN_PARTIAL) continue;
      const kind = i32[w + W_KIND];
      // A stream is not tracked: changed in place, it is finished now (below).
      const follows = kind === TRACK_ZSET || kind === TRACK_DICT || kind === TRACK_LIST || (kind === PIN_STREAM && how !== PINNED_LIGHT);
      if (how !== PINNED_FULL && follows) {
        // Its header (key, TTL, count) as at the point in time, before the command changes them.
        if (st === PIN_PINNED) startInSide(f, w);
        if (how === PINNED_LIGHT) return false;
        u8[e + 19] = 0;
        if (how === PINNED_GONE) {
          // What deleting it would have freed (MEMORY USAGE's estimate): the snapshot holds it now.
          const units = Math.ceil((keyMemoryUsage(s, e, 5) - classSize[u8[e + 18]]) / 64);
          i32[w + W_HELD] = units;
          Atomics.add(i32, heldWord, units);
          i32[w + 1] = 0;
          i32[w + W_OWNED] = 1;
          return true;
        }
        // Moved (RENAME, MOVE): the record follows the object to its new entry and slot.
        i32[w + 1] = ne / 8;
        u8[ne + 19] = ENTRY_PINNED;
        i32[w + W_LOCK] = keySlot(s.keyView(ne));
        return true;
      }
      u8[e + 19] = 0;
      const o = saveOptionsAt(u8, f, s.dbs);
      if (s.type(e) === T_STRING) {
        // A huge string: a copy of what the walker has not consumed yet (the point in time's),
        // preceded by its header when the walker has not written that yet; the main thread
        // finishes it from the copy outside any lock. The walker consumes whole LZF blocks that
        // refer to nothing before them, so the rest needs no earlier byte.
        if (st === PIN_PINNED) writeKeyHeader(scratch, s, e, o);
        const hdr = scratch.take();
        const hl = st === PIN_PINNED ? hdr.length : 0;
        const from = st === PIN_PINNED ? 0 : i32[w + 4] >>> 0;
        const len = s.strLen(e) - from;
        const at = s.strOffset(e) + from;
        const b = Buffer.allocUnsafeSlow(4 + hl + len);
        b.writeUInt32LE(hl, 0);
        if (hl > 0) hdr.copy(b, 4);
        b.set(u8.subarray(at, at + len), 4 + hl);
        i32[w] = PIN_POSTED;
        pinRelease(s, i32, w);
        deliver(pinKey(r), b, len);
        return false;
      }
      const out = new RdbOut(null, 1 << 20);
      if (st === PIN_PINNED) bigStart(out, s, e, o, i32, w);
      else sideDrain(h, i32, w, out);
      // Without LZF: the writer (and every other key of its slot) waits for this copy, which
      // costs then about a memcpy of the rest (a list's listpacks are copied as they are); the
      // file stays valid, those elements are just stored raw (as rdbcompression no would).
      bigMore(out, s, i32, w, false, Infinity);
      i32[w] = PIN_POSTED;
      pinRelease(s, i32, w);
      const b = out.take();
      deliver(pinKey(r), b, b.length + out.lzfSaved);
      return false;
    }
    u8[e + 19] = 0;
    return false;
  };
}

export type SaveKind = 'save' | 'bgsave' | 'shutdown';

/**
 * Where a snapshot goes and what runs at its point in time (AOF rewrites, replicas' full syncs).
 * Without a target a snapshot writes the configured RDB file (SAVE, BGSAVE, SHUTDOWN).
 */
export interface SnapshotTarget {
  /**
   * Runs under every slot lock at the snapshot's point in time: no write unit is in flight, so
   * `stream.offset()` read here is the exact offset the snapshot's contents correspond to.
   */
  onStart?: () => void;
  /** Write this file (temp file in the same directory, fsync, rename, directory fsync). */
  path?: string;
  /** Or hand the RDB to this sink chunk by chunk (awaited: backpressure), nothing on disk. */
  write?: (chunk: Buffer) => Promise<void>;
  /** Mark the RDB as an AOF base (aux aof-base 1), as Redis's RDB preamble. */
  aofBase?: boolean;
  /** Count it as a BGSAVE in INFO persistence / LASTSAVE (replication's syncs do, AOF rewrites do not). */
  stats?: boolean;
  /** Extra aux fields after Redis's own (a full sync's repl-stream-db, repl-id, repl-offset). */
  aux?: [string, string][];
  /**
   * Polled between slots (and during rdb-key-save-delay): true stops the snapshot, which then
   * removes its temp file and resolves false (an AOF rewrite killed, as Redis kills its child).
   */
  aborted?: () => boolean;
  /**
   * A diskless full sync (Redis's RDB child writing to the replicas' sockets): INFO shows it as a
   * BGSAVE in progress (rdb_bgsave_in_progress, rdb_current_bgsave_time_sec) and the log says
   * "Background RDB transfer ...", but it saves nothing (LASTSAVE, the status, dirty stay).
   */
  transfer?: boolean;
  /** The stand-in child the caller started (an AOF rewrite names its temp file by its pid); else run() starts one. */
  child?: SaveChild;
}

/** A snapshot stopped by its target's `aborted` (not an error to log). */
class SnapshotAborted extends Error {}

/** The main thread's side: snapshots, save rules, loading. */
export class Persistence {
  /** Copies posted by writers, by db * NSLOTS + slot, until the walker takes them. */
  private readonly copies = new Map<number, Buffer>();
  private waiting: { key: number; resolve: (b: Buffer) => void } | null = null;
  private running: Promise<boolean> | null = null;
  scheduled = false;

  constructor(
    private readonly store: Store,
    private readonly config: Config,
    /** Changes counted over every thread (Redis's server.dirty). */
    private readonly dirty: () => number,
  ) {
    heldWord = store.L.misc + MISC_SNAPSHOT_HELD;
  }

  /** An RDB save (SAVE, BGSAVE, a replica's sync with stats) is running. */
  get inProgress(): boolean {
    return this.running !== null && this.runningStats;
  }

  /**
   * Redis's RDB child is running: an RDB save (inProgress) or a diskless full sync, so BGSAVE,
   * SAVE, DEBUG RELOAD answer "already in progress" and BGREWRITEAOF is scheduled.
   */
  get rdbChild(): boolean {
    return this.running !== null && (this.runningStats || this.runningTarget?.transfer === true);
  }

  /** Any snapshot is running (an AOF rewrite's too). */
  get busy(): boolean {
    return this.running !== null;
  }

  /** killRDBChild was asked during the running snapshot. */
  private killRequested = false;

  /**
   * killRDBChild (FLUSHALL): the running RDB save or diskless transfer stops as Redis's child
   * killed with SIGUSR1 (not an error: the last status stands; its replicas are dropped and sync
   * again). An AOF rewrite is not an RDB child and goes on.
   */
  killRdbChild(): void {
    if (!this.rdbChild) return;
    this.killRequested = true;
    // As Redis: SIGUSR1 to the child. Its end also wakes a save waiting on a slow replica.
    const c = this.child;
    if (c !== null && c.pid !== process.pid) {
      try {
        process.kill(c.pid, 'SIGUSR1');
      } catch {
        /* gone already */
      }
    }
  }

  /** The running snapshot's stand-in child. */
  private child: SaveChild | null = null;

  private runningStats = false;

  /**
   * Aux fields a plain save (SAVE, BGSAVE, save rules, SHUTDOWN) writes at its point in time, run
   * under every slot lock: repl-stream-db, repl-id, repl-offset of a replica (rdbPopulateSaveInfo),
   * so that it can continue partially after a restart. Null: none.
   */
  replAux: (() => [string, string][] | null) | null = null;

  /** Bytes held in copies now, and the most held during this save (current_cow_size / _peak). */
  private held = 0;

  /**
   * A writer's copy arrived (the 'cow' message): of (db, slot) as db * NSLOTS + slot, or a
   * pinned value's rest. `logical` is its size before LZF, what copy-on-write counts (a fork's
   * child duplicates the pages of the data, not of its compressed form).
   */
  onCopy(key: number, bytes: Buffer, logical = bytes.length): void {
    pset(this.store, P_COW_NOW, pget(this.store, P_COW_NOW) + logical);
    if (this.waiting !== null && this.waiting.key === key) {
      const w = this.waiting;
      this.waiting = null;
      w.resolve(bytes);
    } else {
      this.copies.set(key, bytes);
      this.held += bytes.length;
      pset(this.store, P_COW_HELD, this.held);
      if (this.held > pget(this.store, P_COW_PEAK)) pset(this.store, P_COW_PEAK, this.held);
    }
  }

  private takeCopy(key: number): Promise<Buffer> | Buffer {
    const b = this.copies.get(key);
    if (b !== undefined) {
      this.copies.delete(key);
      this.held -= b.length;
      pset(this.store, P_COW_HELD, this.held);
      return b;
    }
    return new Promise((resolve) => {
      this.waiting = { key, resolve };
    });
  }

  filePath(): string {
    return path.resolve(this.config.str('dir'), this.config.str('dbfilename'));
  }

  /** Run a snapshot into the configured file (one at a time). True when the file is written. */
  save(kind: SaveKind): Promise<boolean> {
    // A save joins a running save (its file is as fresh); it waits for other snapshots.
    if (this.running !== null && this.runningStats && this.runningTarget === null) return this.running;
    return this.start(kind, null);
  }

  /**
   * A snapshot to a target of its own (see SnapshotTarget). Never joins a running snapshot:
   * it starts when the running one ends, so its onStart marks its own point in time.
   */
  snapshot(target: SnapshotTarget): Promise<boolean> {
    const kind: SaveKind = 'bgsave';
    if (this.running === null) return this.start(kind, target);
    const after = this.queued.then(() => this.start(kind, target));
    this.queued = after.catch(() => false);
    return after;
  }

  private queued: Promise<unknown> = Promise.resolve();
  private runningTarget: SnapshotTarget | null = null;

  private async start(kind: SaveKind, target: SnapshotTarget | null): Promise<boolean> {
    while (this.running !== null) await this.running.catch(() => false);
    mainThreadNice(SNAPSHOT_NICE);
    const p = this.run(kind, target).finally(() => {
      mainThreadNice(0);
      this.running = null;
      this.runningTarget = null;
    });
    this.running = p;
    this.runningTarget = target;
    this.runningStats = target === null || target.stats === true;
    return p;
  }

  private async run(kind: SaveKind, target: SnapshotTarget | null): Promise<boolean> {
    const s = this.store;
    const dbs = s.dbs;
    const start = Date.now();
    const stats = target === null || target.stats === true;
    const bg = kind === 'bgsave' && stats;
    const transfer = target?.transfer === true;
    // Where Redis forks, a stand-in for its child (child.ts): temp files and logs name its pid,
    // and killing it ends this save as killing Redis's child does.
    const child = kind !== 'bgsave' ? null
      : target?.child ?? SaveChild.start(target?.aofBase === true ? 'shardis-aof-rewrite' : transfer ? 'shardis-rdb-to-slaves' : 'shardis-rdb-bgsave');
    const pid = child?.pid ?? process.pid;
    this.child = child;
    this.killRequested = false;
    // FLUSHALL's kill of an RDB save or transfer (not an AOF rewrite's) is a shared word too.
    const killable = stats || transfer;
    const stop = (): boolean => (child !== null && child.status !== 0) || this.killRequested || target?.aborted?.() === true
      || (killable && Atomics.load(s.i32, s.L.misc + MISC_SNAPSHOT_KILL) !== 0);
    // 10 (SIGUSR1): stopped by the server (nobody needs it); else the signal that killed the child.
    let bySignal = 0;
    if (transfer) {
      pset(s, P_BGSAVE_IN_PROGRESS, 1);
      pset(s, P_BGSAVE_START, start);
      log('notice', `Background RDB transfer started by pid ${pid}`);
    }
    if (stats) {
      pset(s, P_LAST_SAVE_TRY, Math.floor(start / 1000));
      pset(s, P_BGSAVE_START, start);
      pset(s, P_COW_NOW, 0);
    }
    this.held = 0;
    pset(s, P_COW_HELD, 0);
    pset(s, P_COW_PEAK, 0);
    if (bg) {
      pset(s, P_BGSAVE_IN_PROGRESS, 1);
      log('notice', `Background saving started by pid ${pid}`);
    } else if (kind === 'shutdown') {
      log('notice', 'Saving the final RDB snapshot before exiting.');
    }
    const o = saveOptionsOf(this.config);
    const sink = target?.write ?? null;
    const file = sink !== null ? '' : target?.path !== undefined ? path.resolve(target.path) : this.filePath();
    const tmp = sink !== null ? '' : target?.path !== undefined
      ? path.join(path.dirname(file), `temp-${pid}-${path.basename(file)}`)
      : path.join(path.dirname(file), `temp-${pid}.rdb`);
    const flagsBytes = flagsBytesOf(dbs);
    const f = heldAlloc(s.heap, s.i32, flagsBytes, true);
    s.u8[f + F_OPTS(dbs)] = o.compress ? 1 : 0;
    s.u8[f + F_OPTS(dbs) + 1] = o.lru ? 1 : 0;
    s.u8[f + F_OPTS(dbs) + 2] = o.lfu ? 1 : 0;
    // The point in time: every slot locked while the flags go live and the sizes are read.
    const sizes: number[] = [];
    const expires: number[] = [];
    const coord = Coordinator.of(s);
    const pit0 = performance.now();
    coord.lockAll(false);
    let total = 0;
    for (let db = 0; db < dbs; db++) {
      sizes.push(s.dbSize(db));
      expires.push(s.volatileCount(db));
      total += sizes[db];
    }
    const dirtyAtStart = this.dirty();
    s.now = Date.now();
    Atomics.store(s.i32, s.L.misc + MISC_SNAPSHOT_KILL, 0);
    Atomics.store(s.i32, s.L.misc + MISC_SNAPSHOT, f / 8);
    // A plain save records the replication position of its point in time (rdbSaveInfo).
    let replAux: [string, string][] | null = null;
    // The function libraries of this point in time (they change only under every slot lock).
    const libraries = libraryCodes(s);
    try {
      target?.onStart?.();
      if (target === null && this.replAux !== null) replAux = this.replAux();
    } finally {
      coord.unlockAll();
    }
    if (kind === 'bgsave') {
      // Where Redis forks (BGSAVE, AOF rewrite, a replica's snapshot): total_forks, and
      // latest_fork_usec and the 'fork' latency event for the pause that stands for fork()'s.
      pset(s, P_FORKS, pget(s, P_FORKS) + 1);
      const us = Math.round((performance.now() - pit0) * 1000);
      pset(s, P_FORK_USEC, us);
      latencyAddSampleIfNeeded(s, 'fork', us / 1000);
    }
    pset(s, P_KEYS_TOTAL, total);
    pset(s, P_KEYS_PROCESSED, 0);

    let fh: fsp.FileHandle | null = null;
    let ok = false;
    try {
      if (sink === null) fh = await fsp.open(tmp, 'w');
      const pending: Buffer[] = [];
      let pendingBytes = 0;
      const out = new RdbOut((chunk) => {
        pending.push(chunk);
        pendingBytes += chunk.length;
      }, 1 << 20);
      const drain = async (): Promise<void> => {
        if (pending.length === 0) return;
        if (sink !== null) {
          const all = pending.length === 1 ? pending[0] : Buffer.concat(pending);
          pending.length = 0;
          pendingBytes = 0;
          // A sink stuck on a replica that reads nothing must not outlive a killed child.
          return child === null ? sink(all) : Promise.race([sink(all), child.ended.then(() => {
            throw new SnapshotAborted();
          })]);
        }
        // The file gets the chunks as they are (writev), without joining them first.
        let bufs = pending.splice(0);
        pendingBytes = 0;
        while (bufs.length > 0) {
          let n = (await (fh as fsp.FileHandle).writev(bufs)).bytesWritten;
          let i = 0;
          while (i < bufs.length && n >= bufs[i].length) n -= bufs[i++].length;
          bufs = bufs.slice(i);
          if (n > 0) bufs[0] = bufs[0].subarray(n);
        }
      };
      const drainSome = async (): Promise<void> => {
        if (pendingBytes >= 8 << 20) await drain();
      };
      writeHeader(out, s.heap.usedBytes(), target?.aofBase === true);
      for (const [k, v] of target?.aux ?? replAux ?? []) writeAux(out, k, v);
      writeFunctions(out, libraries, o.compress);
      const delayUs = this.config.num('rdb-key-save-delay');
      let processed = 0;
      let sinceYield = Date.now();
      for (let db = 0; db < dbs; db++) {
        if (sizes[db] === 0) continue;
        writeSelectDb(out, db, sizes[db], expires[db]);
        for (let slot = 0; slot < NSLOTS; slot++) {
          const at = f + NSLOTS + db * NSLOTS + slot;
          let n = 0;
          coord.lockWalk(slot);
          let st: number;
          try {
            st = s.u8[at];
            if (st === 0) {
              s.now = Date.now();
              n = writeSlot(out, s, f, db, slot, o);
              st = s.u8[at] |= 1;
              if (db === dbs - 1) s.u8[f + slot] = 1;
            } else if ((st & 3) === 2) {
              // A writer's copy: its keys count as processed and take rdb-key-save-delay too (about
              // as many as the slot holds now), as every key Redis's child saves.
              n = s.slotKeyCount(db, slot);
            }
          } finally {
            // A throw while writing (a value it cannot encode) must not leave the slot locked.
            coord.unlockWalk(slot);
          }
          if ((st & 3) === 2) {
            const b = this.takeCopy(db * NSLOTS + slot);
            out.bytes(b instanceof Buffer ? b : await b);
          }
          if ((st & SLOT_PINS) !== 0) {
            for (const r of pinsOf(s, f, db, slot)) {
              await this.writePinned(out, f, r, o, coord, drainSome, delayUs, stop);
              n++;
            }
          }
          if (n > 0) {
            processed += n;
            pset(s, P_KEYS_PROCESSED, processed);
            if (delayUs > 0) await abortableSleep((n * delayUs) / 1000, stop);
          }
          if (stop()) throw new SnapshotAborted();
          if (pendingBytes >= 8 << 20) await drain();
          else if (Date.now() - sinceYield > 20) {
            // Let the main thread relay requests and receive copies.
            await new Promise((r) => setImmediate(r));
            sinceYield = Date.now();
          }
        }
      }
      writeTrailer(out, this.config.bool('rdbchecksum'));
      await drain();
      // A kill that came while the last slots were taken from copies (FLUSHALL copies every slot
      // not reached yet before its kill reaches this thread) still stops it: not saved, not sent.
      if (stop()) throw new SnapshotAborted();
      if (fh !== null) {
        await fh.sync();
        await fh.close();
        fh = null;
        await fsp.rename(tmp, file);
        try {
          const d = await fsp.open(path.dirname(file), 'r');
          await d.sync().catch(() => undefined);
          await d.close();
        } catch {
          /* a directory that cannot be opened for fsync: the rename stands */
        }
      }
      ok = true;
      if (target === null) log('notice', 'DB saved on disk');
      // The most the save held in copies at once (Redis 6's child wording).
      if (bg) log('notice', `RDB: ${Math.round(pget(s, P_COW_PEAK) / 1048576)} MB of memory used by copy-on-write`);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (child !== null && child.status !== 0) {
        // The stand-in child was killed (or exited): as Redis's child dying mid-save.
        bySignal = child.signal;
      } else if (e instanceof SnapshotAborted) {
        // The target gave up on it (Redis kills its child with SIGUSR1: not an error).
        bySignal = 10;
      } else if (sink !== null) {
        log('warning', `Snapshot transfer failed: ${err.message}`);
      } else if (fh === null && err.syscall === 'open') {
        log('warning', `Failed opening the temp RDB file ${path.basename(tmp)} (in server root dir ${path.dirname(file)}) for saving: ${err.message}`);
      } else {
        log('warning', `Write error saving DB on disk: ${err.message}`);
      }
      if (fh !== null) await fh.close().catch(() => undefined);
      if (sink === null) await fsp.unlink(tmp).catch(() => undefined);
    } finally {
      // End of the snapshot: no writer may still read the flags once every lock was taken again.
      // A failed save may leave values pinned: their flags go (every pinned entry still exists:
      // nothing frees one without Store.onPinned).
      coord.lockAll(false);
      Atomics.store(s.i32, s.L.misc + MISC_SNAPSHOT, 0);
      Atomics.store(s.i32, s.L.misc + MISC_SNAPSHOT_KILL, 0);
      const pins = (f + F_PINS(dbs)) / 4;
      const np = Math.min(s.i32[pins], PIN_MAX);
      for (let r = 0; r < np; r++) {
        const w = pins + 1 + r * PIN_WORDS;
        const live = s.i32[w] === PIN_PINNED || s.i32[w] === PIN_PARTIAL;
        const owned = live && s.i32[w + W_OWNED] !== 0;
        const type = s.i32[w + W_TYPE];
        const obj = addrAt(s.i32, w + W_OBJ);
        if (live && !owned) s.u8[addrAt(s.i32, w + 1) + 19] = 0;
        pinRelease(s, s.i32, w);
        // A value whose key went mid-save and the save stopped before finishing it.
        if (owned) freeObject(s.heap, type & 255, (type >>> 8) & 255, obj);
      }
      coord.unlockAll();
      heldFree(s.heap, s.i32, f, flagsBytes);
      // Every block counted was given back (the same byte counts both ways). A leak would leave
      // eviction short by that much: it is reset, except in debug runs (SHARDIS_DEBUG=1, every
      // test server), where INFO's mem_not_counted_for_evict keeps showing it.
      const left = Atomics.load(s.i32, heldWord);
      if (left !== 0) {
        log('warning', `Snapshot accounting: ${left * 64} bytes still counted as held by the snapshot at its end`);
        if (process.env.SHARDIS_DEBUG !== '1') Atomics.sub(s.i32, heldWord, left);
      }
      this.copies.clear();
      this.waiting = null;
      this.held = 0;
      pset(s, P_COW_HELD, 0);
      // The "child" exits with the save.
      child?.stop();
      this.child = null;
    }
    const secs = Math.round((Date.now() - start) / 1000);
    pset(s, P_KEYS_TOTAL, 0);
    pset(s, P_KEYS_PROCESSED, 0);
    if (transfer) {
      // backgroundSaveDoneHandlerSocket
      pset(s, P_BGSAVE_START, 0);
      pset(s, P_BGSAVE_IN_PROGRESS, 0);
      pset(s, P_LAST_BGSAVE_TIME, secs);
      if (ok) log('notice', 'Background RDB transfer terminated with success');
      else if (bySignal !== 0) log('warning', `Background transfer terminated by signal ${bySignal}`);
      else log('warning', 'Background transfer error');
      this.runScheduled();
    }
    if (!stats) return ok;
    pset(s, P_LAST_COW, pget(s, P_COW_NOW));
    pset(s, P_BGSAVE_START, 0);
    pset(s, P_BGSAVE_IN_PROGRESS, 0);
    if (ok) {
      pset(s, P_LAST_SAVE, Math.floor(Date.now() / 1000));
      pset(s, P_DIRTY_AT_SAVE, dirtyAtStart);
      pset(s, P_SAVES, pget(s, P_SAVES) + 1);
    }
    if (bg) {
      pset(s, P_LAST_BGSAVE_TIME, secs);
      if (bySignal !== 0) {
        // Stopped because nobody needs it (SIGUSR1): the last status stands, no MISCONF. Any
        // other signal (the child killed): an error, as Redis's backgroundSaveDoneHandlerDisk.
        log('warning', `Background saving terminated by signal ${bySignal}`);
        if (bySignal !== 10) pset(s, P_LAST_BGSAVE_OK, 0);
      } else {
        pset(s, P_LAST_BGSAVE_OK, ok ? 1 : 0);
        if (ok) log('notice', 'Background saving terminated with success');
        else log('warning', 'Background saving error');
      }
    } else if (ok) {
      // rdbSave: a good foreground save (SAVE, SHUTDOWN, FLUSHALL's) clears an earlier failure;
      // a failed one leaves the status alone (no MISCONF for it, as redis-server).
      pset(s, P_LAST_BGSAVE_OK, 1);
    }
    if (ok) this.runScheduled();
    return ok;
  }

  /** A BGSAVE SCHEDULE that waited for this snapshot starts now. */
  private runScheduled(): void {
    if (!this.scheduled) return;
    this.scheduled = false;
    setImmediate(() => void this.save('bgsave'));
  }

  /**
   * Write pinned value r in chunks of ~CHUNK_MS, each under the slot lock, unless a writer
   * finished it first (then its bytes are taken from the copies). The lock is released between
   * chunks; when commands were waiting for it, the walker pauses 0.2 ms so one gets in.
   */
  private async writePinned(out: RdbOut, f: number, r: number, o: SaveOptions, coord: Coordinator, drainSome: () => Promise<void>, delayUs: number, aborted: (() => boolean) | undefined): Promise<void> {
    const s = this.store;
    const i32 = s.i32;
    const w = (f + F_PINS(s.dbs)) / 4 + 1 + r * PIN_WORDS;
    if (i32[w + W_KIND] === PIN_STRING) return this.writePinnedString(out, w, r, o, coord, drainSome, delayUs, aborted);
    for (;;) {
      const slot = lockPinSlot(coord, i32, w);
      const st = i32[w];
      let done = st === PIN_DONE;
      let ownedObj = 0;
      let ownedType = 0;
      if (st === PIN_PINNED || st === PIN_PARTIAL) {
        const e = addrAt(i32, w + 1);
        s.now = Date.now();
        if (st === PIN_PINNED) {
          bigStart(out, s, e, o, i32, w);
          i32[w] = PIN_PARTIAL;
        }
        // What writers copied since the last chunk (the header first, if a writer started it).
        listSaved = 0;
        const side = sideDrain(s.heap, i32, w, out);
        done = bigMore(out, s, i32, w, o.compress, performance.now() + CHUNK_MS);
        if (side + listSaved > 0) pset(s, P_COW_NOW, pget(s, P_COW_NOW) + side + listSaved);
        if (done) {
          i32[w] = PIN_DONE;
          if (i32[w + W_OWNED] !== 0) {
            ownedObj = addrAt(i32, w + W_OBJ);
            ownedType = i32[w + W_TYPE];
          } else {
            s.u8[e + 19] = 0;
          }
          pinRelease(s, i32, w);
        }
      }
      // Were commands waiting for the slot (the lock word says 2)? Let one in before the next chunk.
      const contended = Atomics.load(i32, s.L.locks + slot) === 2;
      coord.unlockWalk(slot);
      // The value's key went mid-save: the object was left to us, and nothing else refers to it.
      if (ownedObj !== 0) freeObject(s.heap, ownedType & 255, (ownedType >>> 8) & 255, ownedObj);
      if (st === PIN_POSTED) {
        const b = this.takeCopy(pinKey(r));
        out.bytes(b instanceof Buffer ? b : await b);
        return;
      }
      if (done) return;
      if (contended) Atomics.wait(pauseWord, 0, 0, 0.2);
      out.flush();
      await drainSome();
      // rdb-key-save-delay (tests) counts each chunk of a big value as a key, so a test can
      // change the value while it is half written.
      if (delayUs > 0) await abortableSleep(delayUs / 1000, aborted);
      else await new Promise((res) => setImmediate(res));
      if (aborted?.() === true) throw new SnapshotAborted();
    }
  }

  /**
   * Write pinned huge string r. Under the slot lock, ~CHUNK_MS at a time, its bytes are LZF
   * compressed in independent 64 KB blocks (LZF refers back at most 8 KB and a fresh block
   * refers to nothing before it, so the blocks joined are one valid LZF stream: Redis decodes
   * it as one string); the blocks wait here, as Redis's child holds its compressed buffer,
   * because the compressed length comes first. When it does not compress by 4 bytes, it is
   * copied raw instead (4 MB per lock hold). A writer changing the string first posts a copy of
   * the part not consumed yet (the cursor: pin words 4 and 5, bytes consumed and raw mode), with
   * the header if not written yet, and the rest is done from that copy, outside any lock; if that
   * copy lacks the start of the string, it stays LZF even when that saves nothing (a valid LZF
   * string all the same).
   */
  private async writePinnedString(out: RdbOut, w: number, r: number, o: SaveOptions, coord: Coordinator, drainSome: () => Promise<void>, delayUs: number, aborted: (() => boolean) | undefined): Promise<void> {
    const s = this.store;
    const i32 = s.i32;
    const slot = i32[w + 3];
    let len = -1;
    let pos = 0;
    let raw = !o.compress;
    const blocks: Buffer[] = [];
    let clen = 0;
    const tmp = Buffer.allocUnsafe(LZF_BLOCK + (LZF_BLOCK >>> 4) + 64);
    const compressFrom = (src: Uint8Array, at: number, until: number): void => {
      while (pos < len && performance.now() < until) {
        const n = Math.min(LZF_BLOCK, len - pos);
        const c = lzfCompressRange(src, at + pos, at + pos + n, tmp, tmp.length);
        blocks.push(Buffer.from(tmp.subarray(0, c)));
        clen += c;
        pos += n;
      }
    };
    // Not compressible by 4 bytes (rdbSaveLzfStringObject's rule): start over, raw.
    const toRaw = (): void => {
      raw = true;
      pos = 0;
      blocks.length = 0;
      out.len(len);
    };
    let src: Uint8Array | null = null;
    let srcFrom = 0;
    for (;;) {
      coord.lockWalk(slot);
      const st = i32[w];
      let done = false;
      if (st === PIN_PINNED || st === PIN_PARTIAL) {
        const e = addrAt(i32, w + 1);
        if (st === PIN_PINNED) {
          s.now = Date.now();
          writeKeyHeader(out, s, e, o);
          len = s.strLen(e);
          if (raw) out.len(len);
          i32[w] = PIN_PARTIAL;
        }
        const at = s.strOffset(e);
        if (raw) {
          const n = Math.min(RAW_PIECE, len - pos);
          out.bytes(s.u8, at + pos, at + pos + n);
          pos += n;
        } else {
          compressFrom(s.u8, at, performance.now() + CHUNK_MS);
          if (pos >= len && clen > len - 4) toRaw();
        }
        if (pos >= len) {
          done = true;
          i32[w] = PIN_DONE;
          s.u8[e + 19] = 0;
        }
        i32[w + 4] = pos | 0;
        i32[w + 5] = raw ? 1 : 0;
      }
      const contended = Atomics.load(i32, s.L.locks + slot) === 2;
      coord.unlockWalk(slot);
      if (st === PIN_POSTED) {
        const b0 = this.takeCopy(pinKey(r));
        const b = b0 instanceof Buffer ? b0 : await b0;
        const hl = b.readUInt32LE(0);
        src = b.subarray(4 + hl);
        if (hl > 0) {
          out.bytes(b, 4, 4 + hl);
          len = src.length;
          if (raw) out.len(len);
        }
        srcFrom = pos;
        break;
      }
      if (done) break;
      if (contended) Atomics.wait(pauseWord, 0, 0, 0.2);
      out.flush();
      await drainSome();
      if (delayUs > 0) await abortableSleep(delayUs / 1000, aborted);
      else await new Promise((res) => setImmediate(res));
      if (aborted?.() === true) throw new SnapshotAborted();
    }
    // The writer's copy (bytes srcFrom..len): the rest from it, yielding now and then.
    if (src !== null) {
      if (!raw) {
        while (pos < len) {
          compressFrom(src, -srcFrom, performance.now() + 20);
          await new Promise((res) => setImmediate(res));
          if (aborted?.() === true) throw new SnapshotAborted();
        }
        if (clen > len - 4 && srcFrom === 0) toRaw();
      }
      if (raw) out.bytes(src, pos - srcFrom, len - srcFrom);
    }
    if (!raw) {
      out.byte(0xc3);
      out.len(clen);
      out.len(len);
      for (const b of blocks) out.bytes(b);
      out.lzfSaved += len - clen;
    }
  }

  /** The RDB file was last written to feed replicas (RDBGeneratedByReplication). */
  rdbForReplication = false;

  /** No save rules and no AOF (allPersistenceDisabled). */
  allPersistenceDisabled(): boolean {
    return parseSaveRules(this.config.str('save')).length === 0 && !this.config.bool('appendonly');
  }

  /**
   * removeRDBUsedToSyncReplicas (replicationCron): with rdb-del-sync-files, a server without
   * persistence does not keep the RDB it wrote for replicas once none waits for or receives one
   * (`replicasSyncing` says whether one does).
   */
  removeSyncRdb(replicasSyncing: () => boolean): void {
    if (!this.config.bool('rdb-del-sync-files')) {
      this.rdbForReplication = false;
      return;
    }
    if (!this.rdbForReplication || !this.allPersistenceDisabled() || this.running !== null || replicasSyncing()) return;
    const file = this.filePath();
    if (!fs.existsSync(file)) return;
    this.rdbForReplication = false;
    log('notice', 'Removing the RDB file used to feed replicas in a persistence-less instance');
    void fsp.unlink(file).catch(() => undefined);
  }

  /** A replica loaded its master's snapshot from the RDB file: drop it when nothing persists (readSyncBulkPayload). */
  removeReceivedRdb(): void {
    if (!this.config.bool('rdb-del-sync-files') || !this.allPersistenceDisabled()) return;
    log('notice', 'Removing the RDB file obtained from the master. This replica has persistence disabled');
    void fsp.unlink(this.filePath()).catch(() => undefined);
  }

  /** Save rules (serverCron): a BGSAVE when some `save <secs> <changes>` rule is met. */
  cron(): void {
    if (this.running !== null) return;
    const s = this.store;
    if (this.scheduled) {
      this.scheduled = false;
      void this.save('bgsave');
      return;
    }
    const rules = parseSaveRules(this.config.str('save'));
    if (rules.length === 0) return;
    const now = Math.floor(Date.now() / 1000);
    const changes = this.dirty() - pget(s, P_DIRTY_AT_SAVE);
    const lastSave = pget(s, P_LAST_SAVE);
    const okOrRetry = pget(s, P_LAST_BGSAVE_OK) === 1 || now - pget(s, P_LAST_SAVE_TRY) > 5;
    for (const r of rules) {
      if (changes >= r.changes && now - lastSave > r.seconds && okOrRetry) {
        log('notice', `${changes} changes in ${r.seconds} seconds. Saving...`);
        void this.save('bgsave');
        return;
      }
    }
  }

  // ---- loading ----------------------------------------------------------------------------

  /**
   * Load the configured file at start-up (every slot locked per step; clients get -LOADING
   * meanwhile). A missing file is no error. Throws RdbError (the caller stops start-up).
   */
  async loadAtStartup(asReplica: boolean, expiredKeys: Array<[number, Buffer]> | null = null): Promise<Map<string, string> | null> {
    const file = this.filePath();
    let buf: Buffer;
    try {
      buf = fs.readFileSync(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new RdbError(0, `can't open the RDB file: ${(e as Error).message}`);
    }
    const t0 = Date.now();
    // A replica (replicaof in the config) keeps expired keys for its master's DELs (rdbLoad
    // drops them only when iAmMaster()).
    const aux = await this.loadBuffer(buf, true, asReplica, false, expiredKeys);
    log('notice', `DB loaded from disk: ${((Date.now() - t0) / 1000).toFixed(3)} seconds`);
    return aux;
  }

  /**
   * Load RDB bytes into the (empty) keyspace, yielding between steps when `yieldSteps`. A replica
   * loading its master's snapshot keeps expired keys (`keepExpired`: the master will send their
   * DELs, as rdbLoad does when !iAmMaster()). Returns the file's AUX fields.
   */
  async loadBuffer(buf: Buffer, yieldSteps: boolean, keepExpired = false, allowDup = false, expiredKeys: Array<[number, Buffer]> | null = null): Promise<Map<string, string>> {
    const s = this.store;
    pset(s, P_LOADING_START, Math.floor(Date.now() / 1000));
    pset(s, P_LOADING_TOTAL, buf.length);
    pset(s, P_LOADING_LOADED, 0);
    pset(s, P_LOADING_KEYS, 0);
    s.lfu = this.config.str('maxmemory-policy').endsWith('-lfu');
    const loader = new RdbLoader(buf, s, loadLimitsOf(this.config), this.config.bool('rdbchecksum') && !checksumSkipped(s));
    loader.keepExpired = keepExpired;
    loader.expiredKeys = expiredKeys;
    loader.allowDup = allowDup;
    // key-load-delay (tests): microseconds per key; the loader stops a step to let us sleep.
    loader.keyDelayUs = yieldSteps ? this.config.num('key-load-delay') : 0;
    const budget = Math.max(1024, this.config.num('loading-process-events-interval-bytes'));
    const coord = Coordinator.of(s);
    for (;;) {
      coord.lockAll(false);
      let done: boolean;
      try {
        done = loader.step(budget);
      } finally {
        coord.unlockAll();
      }
      pset(s, P_LOADING_LOADED, loader.inp.pos);
      pset(s, P_LOADING_KEYS, loader.loaded);
      if (done) break;
      if (loader.delayDueUs >= 1000) {
        const ms = Math.floor(loader.delayDueUs / 1000);
        loader.delayDueUs -= ms * 1000;
        await sleep(ms);
      } else if (yieldSteps) await new Promise((r) => setImmediate(r));
    }
    pset(s, P_LOAD_LOADED, loader.loaded);
    pset(s, P_LOAD_EXPIRED, loader.expired);
    loader.logDone();
    // Loading counts no changes to save (Redis resets dirty after a load).
    pset(s, P_DIRTY_AT_SAVE, this.dirty());
    return loader.aux;
  }

  /** Empty every db under all locks (emptyData), tracking clients told "invalidate nil". */
  emptyAll(): void {
    emptyKeyspace(this.store);
  }

  /** DEBUG RELOAD: save, empty the keyspace, load the file again (everything locked). */
  async reload(save: boolean, merge: boolean, noflush = merge): Promise<string | null> {
    if (save && !(await this.save('save'))) return 'Error trying to save the DB';
    let buf: Buffer;
    try {
      buf = fs.readFileSync(this.filePath());
    } catch (e) {
      return `Error trying to load the RDB dump: ${(e as Error).message}`;
    }
    // As Redis's emptyData: every tracking client hears "invalidate nil".
    if (!noflush) this.emptyAll();
    try {
      await this.loadBuffer(buf, false, false, merge);
    } catch (e) {
      if (e instanceof RdbError) return `Error trying to load the RDB dump, offset ${e.offset}: ${e.message}`;
      throw e;
    }
    log('notice', 'DB reloaded by DEBUG RELOAD');
    return null;
  }
}

/**
 * emptyData: every db emptied under all locks; every tracking client hears "invalidate nil".
 * With `detached` (EMPTYDB_ASYNC), each slot table is only taken out of the keyspace and handed
 * over with its key count, to be freed later (store.freeDetachedTable).
 */
export function emptyKeyspace(s: Store, detached?: (table: number, keys: number) => void): void {
  const coord = Coordinator.of(s);
  coord.lockAll(false);
  try {
    for (let db = 0; db < s.dbs; db++) {
      for (let slot = 0; slot < NSLOTS; slot++) {
        if (detached === undefined) {
          s.flushSlot(db, slot);
          continue;
        }
        const t = s.detachSlot(db, slot);
        if (t !== 0) detached(t, s.detachedKeys);
      }
      s.bumpEpoch(db);
    }
    // emptyData without EMPTYDB_NOFUNCTIONS: the function libraries go too.
    clearLibraries(s);
    trackingFlush();
  } finally {
    coord.unlockAll();
  }
}

/** rdb-key-save-delay's sleep, cut short when the snapshot is aborted (checked every 50 ms). */
async function abortableSleep(ms: number, aborted: (() => boolean) | undefined): Promise<void> {
  if (aborted === undefined) return sleep(ms);
  const end = Date.now() + ms;
  for (let left = ms; left > 0 && !aborted(); left = end - Date.now()) await sleep(Math.min(50, left));
}

/**
 * While a snapshot runs, the main thread (its walker) gives way to the threads that serve
 * clients: on a machine whose cores are all busy the save takes longer instead of raising the
 * clients' latency. Linux's nice is per thread, and setpriority(PRIO_PROCESS, 0) is the calling
 * thread. Going back to 0 needs CAP_SYS_NICE (root has it); without it the thread stays niced,
 * which only slows what the main thread does (saves, relays, the cron), never a client thread.
 */
const SNAPSHOT_NICE = 10;
function mainThreadNice(n: number): void {
  try {
    os.setPriority(n);
  } catch {
    /* not permitted: it stays as it is */
  }
}

/** A word nobody notifies: Atomics.wait on it is a short sleep that keeps the lock released. */
const pauseWord = new Int32Array(new SharedArrayBuffer(4));

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * The file loader (rdbLoadRio): header, opcodes, keys. step() parses until about `budget` bytes
 * were consumed, so the caller can release the locks and let the event loop run in between.
 */
export class RdbLoader {
  readonly inp: RdbIn;
  version = 0;
  loaded = 0;
  expired = 0;
  emptySkipped = 0;
  /** key-load-delay in microseconds per key (0: none), and the delay owed so far. */
  keyDelayUs = 0;
  delayDueUs = 0;
  /** Keep keys whose TTL has passed (a replica loading its master's snapshot). */
  keepExpired = false;
  /** Keys dropped as expired, by db (null: not kept), for the DELs a restarted master feeds its backlog. */
  expiredKeys: Array<[number, Buffer]> | null = null;
  /** The AUX fields read (repl-stream-db, repl-id, repl-offset...). */
  readonly aux = new Map<string, string>();
  /**
   * DEBUG RELOAD MERGE (RDBFLAGS_ALLOW_DUP): a key or library already there is replaced instead
   * of failing the load.
   */
  allowDup = false;
  /**
   * Where FUNCTION2 records go (set once by the main thread: compiles and adds the library to
   * the server's list, src/scripting/functions.ts). Null: skipped with a warning.
   */
  static functionSink: ((code: Buffer, allowDup: boolean) => string | null) | null = null;
  private db = 0;
  private started = false;
  private expireAt = -1;
  private idle = -1;
  private freq = -1;

  constructor(
    buf: Buffer,
    private readonly s: Store,
    private readonly lim: LoadLimits,
    private readonly verifyChecksum: boolean,
  ) {
    this.inp = new RdbIn(buf);
  }

  /** rdbLoad's closing line (a warning when empty keys were skipped, as Redis). */
  logDone(): void {
    if (this.emptySkipped > 0) {
      log('warning', `Done loading RDB, keys loaded: ${this.loaded}, keys expired: ${this.expired}, empty keys skipped: ${this.emptySkipped}.`);
    } else {
      log('notice', `Done loading RDB, keys loaded: ${this.loaded}, keys expired: ${this.expired}.`);
    }
  }

  private header(): void {
    const inp = this.inp;
    const magic = inp.take(9).toString('latin1');
    if (!magic.startsWith('REDIS')) inp.fail('Wrong signature trying to load DB from file');
    const v = Number(magic.slice(5));
    if (!Number.isInteger(v) || v < 1 || v > RDB_VERSION) inp.fail(`Can't handle RDB format version ${magic.slice(5)}`);
    this.version = v;
  }

  /** Parse up to about budget bytes. True at EOF. */
  step(budget: number): boolean {
    try {
      return this.steps(budget);
    } catch (e) {
      // What redis-check-rdb adds: the key and the type being read.
      if (e instanceof RdbError && this.curType >= 0) {
        e.key = this.curKey;
        e.rdbType = this.curType;
      }
      throw e;
    }
  }

  private curKey: Buffer | null = null;
  private curType = -1;

  private steps(budget: number): boolean {
    const inp = this.inp;
    const s = this.s;
    if (!this.started) {
      this.header();
      this.started = true;
    }
    const stop = inp.pos + budget;
    s.now = Date.now();
    while (inp.pos < stop) {
      const type = inp.u8();
      this.curType = -1;
      switch (type) {
        case OP_EXPIRETIME:
          this.expireAt = inp.secs() * 1000;
          continue;
        case OP_EXPIRETIME_MS:
          this.expireAt = inp.millis();
          continue;
        case OP_FREQ:
          this.freq = inp.u8();
          continue;
        case OP_IDLE:
          this.idle = inp.count();
          continue;
        case OP_EOF: {
          const end = inp.pos;
          if (this.version >= 5) {
            const sum = inp.take(8);
            const zero = sum.every((x) => x === 0);
            if (zero) log('warning', 'RDB file was saved with checksum disabled: no check performed.');
            else if (this.verifyChecksum) {
              const want = new Crc64().update(inp.b, 0, end).bytes();
              if (!want.equals(sum)) {
                log('warning', `Wrong RDB checksum expected: (${sum.readBigUInt64LE(0).toString(16)}) got (${want.readBigUInt64LE(0).toString(16)}). Aborting now.`);
                inp.pos = end;
                inp.fail('RDB CRC error');
              }
            }
          }
          return true;
        }
        case OP_SELECTDB: {
          const db = inp.count();
          if (db >= s.dbs) inp.fail(`FATAL: Data file was created with a Redis server configured to handle more than ${s.dbs} databases`);
          this.db = db;
          continue;
        }
        case OP_RESIZEDB:
          inp.count();
          inp.count();
          continue;
        case OP_AUX: {
          const k = inp.str().toString('latin1');
          const v = inp.str().toString('latin1');
          this.aux.set(k, v);
          if (k === 'redis-ver') log('notice', `Loading RDB produced by version ${v}`);
          else if (k === 'ctime') {
            let age = Math.floor(Date.now() / 1000) - Number(v);
            if (age < 0) age = 0;
            log('notice', `RDB age ${age} seconds`);
          } else if (k === 'used-mem') log('notice', `RDB memory usage when created ${(Number(v) / 1048576).toFixed(2)} Mb`);
          continue;
        }
        case OP_MODULE_AUX:
          inp.fail('module auxiliary data is not supported by shardis');
          break;
        case OP_FUNCTION2:
        case OP_FUNCTION: {
          // A function library (rdbFunctionLoad): checked and added by the sink, else the load fails.
          const at = inp.pos;
          const code = readFunction(inp, type);
          const sink = RdbLoader.functionSink;
          if (sink === null) {
            log('warning', 'RDB holds a function library; skipped (no Lua engine in this context)');
            continue;
          }
          const err = sink(code, this.allowDup);
          if (err !== null) {
            log('warning', `Failed loading library, ${err}`);
            inp.pos = at;
            inp.fail(`Failed loading library, ${err}`);
          }
          continue;
        }
      }
      // A key and its value.
      const at = inp.pos - 1;
      const key = Buffer.from(inp.str());
      this.curKey = key;
      this.curType = type;
      const d = readValue(inp, type);
      const exp = this.expireAt;
      const idle = this.idle;
      const freq = this.freq;
      this.expireAt = -1;
      this.idle = -1;
      this.freq = -1;
      if (isEmptyCollection(d)) {
        // Redis names the first ten.
        if (this.emptySkipped++ < 10) log('warning', `rdbLoadObject skipping empty key: ${key.toString('latin1')}`);
        continue;
      }
      if (exp !== -1 && exp < s.now && !this.keepExpired) {
        this.expired++;
        this.expiredKeys?.push([this.db, key]);
        continue;
      }
      if (this.allowDup && s.peek(this.db, key) !== 0) s.delete(this.db, key);
      if (s.peek(this.db, key) !== 0) {
        inp.pos = at;
        inp.fail(`RDB has duplicated key '${key.toString('latin1')}' in DB ${this.db}`);
      }
      let e: number;
      if (d.type === T_STRING) {
        const v = d.items[0];
        e = s.setString(this.db, key, v, Store.stringEncoding(v), exp > 0 ? exp : 0, false);
      } else {
        const [enc, obj] = buildObject(inp, s.heap, d, this.lim);
        e = s.createObject(this.db, key, d.type, enc, obj);
        if (exp > 0) s.setExpire(this.db, key, e, exp);
      }
      if (s.lfu && freq !== -1) s.setLru(e, ((Math.floor(s.now / 60000) & 65535) << 8) | freq);
      else if (!s.lfu && idle !== -1) s.setLru(e, Math.max(0, Math.floor(s.now / 1000) - idle));
      this.loaded++;
      if (this.keyDelayUs > 0) {
        this.delayDueUs += this.keyDelayUs;
        if (this.delayDueUs >= 1000) return false;
      }
    }
    return false;
  }
}

// The coordinator: the one owner of the keyspace's slot locks (one Int32 word per hash slot,
// shared by every db). Every path that reads or changes keys takes its locks here:
//   - a command (Client.call): the slots of its keys, from the command table's key positions,
//     each once, in ascending slot order (so two commands can never wait on each other), or
//     every slot for lock-all commands (SWAPDB, FLUSHALL, SORT with BY/GET patterns);
//   - EXEC: the union of its queued commands' and WATCHed keys' slots, or every slot when one of
//     them walks the keyspace or locks all; the queued commands then run without locking again;
//   - the blocked-client serve path (blocking.ts): the key's slot and its destination's;
//   - Lua scripts (src/scripting/engine.ts): their declared keys' slots (lockSlotsOf) or every
//     slot, and undeclared keys' slots with tryLockSlot (never waiting while holding others);
//   - walkers (KEYS, SCAN, RANDOMKEY, DBSIZE, active expiry, eviction sampling and deletion):
//     one slot at a time, or nothing when the caller already holds every slot.
// Nothing else touches the slot lock words.
//
// Held slots are kept in a stack of slot numbers (scratch) so that a nested locker (EXEC, a
// serve inside a command's aftermath) never clobbers an outer one's list.
//
// The before-change hook (Store.beforeChange, for fork-less snapshots): when a command that is
// not read-only (or a served blocked client, or EXEC of such commands) has taken its locks, the
// hook runs once per locked slot, before the command can change anything in it, with the lock
// held; lock-all ones run it for every slot. Deletions outside such commands (lazy expiry in a
// read, active expiry, eviction) call it from the store itself. With no snapshot running the
// cost is one load and branch (Store.changeHookActive).
//
// Debug check (SHARDIS_DEBUG=1, as every test server runs): the coordinator records which slots
// this thread holds, and the store asserts on every mutation that its slot is held by this
// thread (Store.assertLocked). A write path that bypasses the coordinator fails loudly.
import type { Store } from '../store/keyspace';
import type { CommandSpec } from '../commands/types';
import { F_BLOCKING, F_READONLY, F_WRITE, LOCK_ALL, LOCK_KEYS } from '../commands/flags';
import { NSLOTS } from '../store/crc16';
import { lockWord, lockWordUnless, unlockWord } from '../store/heap';
import { MISC_BUSY_SCRIPT, T_STREAM } from '../store/keyspace';
import { commandKeys } from '../commands/registry';
import { fenceUnread, unreadFenceOn } from './arrival';

const owners = new WeakMap<Store, Coordinator>();

/** What lockCommand took: n > 0 slots (pushed on the stack), LOCKED_ALL, or 0 nothing. */
export const LOCKED_ALL = -1;
/** lockCommand took nothing: a slot it waited for is held by a script past busy-reply-threshold. */
export const LOCK_BUSY = -2;

const CHECK_LOCKS = process.env.SHARDIS_DEBUG === '1';

export class Coordinator {
  private stack = new Int32Array(4096);
  private top = 0;
  /** This thread holds every slot (EXEC over a walker, a lock-all command). */
  allLocked = false;
  /** An enclosing unit (EXEC) holds the locks of everything the commands inside it touch. */
  private nested = 0;
  private readonly i32: Int32Array;
  private readonly base: number;
  /** The misc word naming a busy script's thread: a command's lock wait gives up when it is set. */
  private readonly busyWord: number;

  /** The one coordinator of a thread's store (its held-slot state must be unique per thread). */
  static of(store: Store): Coordinator {
    let c = owners.get(store);
    if (c === undefined) owners.set(store, (c = new Coordinator(store)));
    return c;
  }

  private constructor(readonly store: Store) {
    this.i32 = store.i32;
    this.base = store.L.locks;
    this.busyWord = store.L.misc + MISC_BUSY_SCRIPT;
    if (CHECK_LOCKS) store.lockCheck = { held: new Uint16Array(NSLOTS), all: false };
  }

  // ---- single slots (walkers, active expiry, eviction) -------------------------------------

  /** Lock one slot for a walker; false (and nothing taken) when every slot is held already. */
  lockWalk(slot: number): boolean {
    if (this.allLocked) return false;
    this.lock(slot);
    return true;
  }

  /**
   * Set by the thread's propagator: append what the walk staged (keys it found expired and
   * deleted) before the slot is released, so the stream keeps the order the slot lock gave.
   */
  beforeWalkUnlock: (() => void) | null = null;

  unlockWalk(slot: number): void {
    if (this.allLocked) return;
    if (this.beforeWalkUnlock !== null) this.beforeWalkUnlock();
    this.unlock(slot);
  }

  /** Run fn with one slot locked (unless every slot is held already). */
  withSlot<T>(slot: number, fn: () => T): T {
    if (this.allLocked) return fn();
    this.lock(slot);
    try {
      return fn();
    } finally {
      if (this.beforeWalkUnlock !== null) this.beforeWalkUnlock();
      this.unlock(slot);
    }
  }

  // ---- commands -----------------------------------------------------------------------------

  /**
   * Take the locks a command needs before it runs: its keys' slots, every slot, or none (keyless
   * commands, walkers, and everything inside EXEC, whose locks are held already). Returns what
   * was taken, for unlockCommand.
   */
  lockCommand(spec: CommandSpec, argv: Buffer[], db: number): number {
    if (this.nested > 0 || this.allLocked) return 0;
    const mode = spec.lockFor !== undefined ? (spec.lockFor(argv) === 'all' ? LOCK_ALL : LOCK_KEYS) : (spec.lockMode as number);
    const bits = spec.bits as number;
    const write = (bits & F_READONLY) === 0;
    const blocking = (bits & F_BLOCKING) !== 0;
    if (mode === LOCK_ALL) {
      // FLUSHALL, FLUSHDB, SWAPDB (rare, and each may end the wait of an XREADGROUP sent just
      // before it): fenced as a write to a sensitive slot is, below. Not scripts (lockFor).
      if ((bits & F_WRITE) !== 0 && spec.lockFor === undefined && unreadFenceOn()) fenceUnread(true);
      return this.lockAllOrBusy(write) ? LOCKED_ALL : LOCK_BUSY;
    }
    if (mode !== LOCK_KEYS) return 0;
    let n = this.lockKeysOf(spec, argv);
    // Stream commands (XADD, XACK, XCLAIM...) leave a waiting XREAD's outcome as it would be in
    // either order; a DEL, a SET, a RENAME... of the stream do not.
    if (n > 0 && (bits & F_WRITE) !== 0 && unreadFenceOn() && this.orderSensitive(n, !blocking && spec.group !== 'stream' ? db : -1, spec, argv)) {
      // This write may serve a client blocked on one of these keys, or end the wait of an
      // XREADGROUP that arrived first: input the kernel received before it, not yet run by
      // another thread (a WATCH, an EXEC, a blocking command), runs first (arrival.ts). Never
      // waiting with locks held: that input may need them.
      this.unlockSlots(n);
      fenceUnread(!blocking);
      n = this.lockKeysOf(spec, argv);
    }
    if (n > 0 && write && this.store.changeHookActive()) this.beforeChange(n);
    return n;
  }

  /**
   * Does one of the last n slots taken have blocked clients (Layout.blocked), or (db not -1) is
   * one of the command's keys a stream in db that XREAD BLOCK or XREADGROUP use (markStreamSlot)?
   * Not for XREADGROUP itself: were it to fence too, two fences at once go by read order, and the
   * DEL its thread read first would run first. Locks held: the keys can be looked at.
   */
  private orderSensitive(n: number, db: number, spec: CommandSpec, argv: Buffer[]): boolean {
    const st = this.store;
    const at = st.L.blocked;
    let streams = false;
    for (let i = this.top - n; i < this.top; i++) {
      const slot = this.stack[i];
      if (Atomics.load(st.i32, at + slot) !== 0) return true;
      if (db >= 0 && st.streamSlot(slot)) streams = true;
    }
    // Only the keys themselves: under load, a fence for every write that shares a slot with such
    // a stream stalled redis-benchmark SET -r (each waits out a busy thread's poll phase).
    if (!streams) return false;
    const idx = commandKeys(spec, argv);
    for (let i = 0; i < idx.length; i++) if (this.markedStream(db, argv[idx[i]])) return true;
    return false;
  }

  /** Is key a stream in db, in a marked slot (its slot locked)? */
  private markedStream(db: number, key: Buffer): boolean {
    const st = this.store;
    if (!st.streamSlot(st.slotOf(key))) return false;
    const e = st.peek(db, key);
    return e !== 0 && st.type(e) === T_STREAM;
  }

  /** Does this thread hold any slot lock (a command's, EXEC's, a script's)? */
  holdsLocks(): boolean {
    return this.top > 0 || this.allLocked || this.nested > 0;
  }

  /**
   * lockAll for a command or EXEC: a script past busy-reply-threshold holds slots for as long as
   * it runs, so the caller gives up (BUSY, nothing held) rather than sit in Atomics.wait, and its
   * thread keeps serving (SCRIPT KILL).
   */
  lockAllOrBusy(write: boolean): boolean {
    const i32 = this.i32;
    for (let s = 0; s < NSLOTS; s++) {
      if (!this.lockOrBusy(s, false)) {
        for (let t = s - 1; t >= 0; t--) unlockWord(i32, this.base + t);
        return false;
      }
    }
    this.lockedAll(write);
    return true;
  }

  /** Lock a slot for a command; false (nothing taken) when a busy script elsewhere holds it. */
  private lockOrBusy(slot: number, count = true): boolean {
    if (!lockWordUnless(this.i32, this.base + slot, this.busyWord)) return false;
    if (CHECK_LOCKS && count) (this.store.lockCheck as { held: Uint16Array }).held[slot]++;
    return true;
  }

  unlockCommand(taken: number): void {
    if (taken > 0) this.unlockSlots(taken);
    else if (taken === LOCKED_ALL) this.unlockAll();
  }

  private lockKeysOf(spec: CommandSpec, argv: Buffer[]): number {
    const store = this.store;
    if (spec.keys === undefined && spec.firstKey > 0 && spec.lastKey === spec.firstKey) {
      // The common single-key case: no sorting.
      if (argv.length <= spec.firstKey) return 0;
      const slot = store.slotOf(argv[spec.firstKey]);
      if (!this.lockOrBusy(slot)) return LOCK_BUSY;
      this.reserve(1);
      this.stack[this.top++] = slot;
      return 1;
    }
    if (spec.keys !== undefined) {
      const idx = spec.keys(argv);
      if (idx.length === 0) return 0;
      const keys: Buffer[] = new Array(idx.length);
      for (let i = 0; i < idx.length; i++) keys[i] = argv[idx[i]];
      return this.lockSlotsOf(keys, false, true);
    }
    if (spec.firstKey <= 0) return 0;
    const last = spec.lastKey < 0 ? argv.length + spec.lastKey : spec.lastKey;
    if (last < spec.firstKey) return 0;
    this.reserve(last - spec.firstKey + 1);
    const b = this.top;
    let m = 0;
    for (let i = spec.firstKey; i <= last && i < argv.length; i += spec.step) m = this.insertSlot(b, m, store.slotOf(argv[i]));
    if (!this.lockRun(b, m)) return LOCK_BUSY;
    this.top = b + m;
    return m;
  }

  // ---- sets of keys (EXEC, blocked-client serving) ---------------------------------------------

  /**
   * Lock the slots of these keys, ascending, each once. Returns the count, for unlockSlots. With
   * `write`, the before-change hook runs for each (a served blocked client pops, EXEC may write).
   */
  lockSlotsOf(keys: Uint8Array[], write: boolean, busyAware = false): number {
    const store = this.store;
    this.reserve(keys.length);
    const b = this.top;
    let m = 0;
    if (keys.length <= 64) {
      for (let i = 0; i < keys.length; i++) m = this.insertSlot(b, m, store.slotOf(keys[i]));
    } else {
      let n = 0;
      for (let i = 0; i < keys.length; i++) this.stack[b + n++] = store.slotOf(keys[i]);
      const sorted = this.stack.subarray(b, b + n).sort();
      for (let i = 0; i < n; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) this.stack[b + m++] = sorted[i];
    }
    if (busyAware) {
      if (!this.lockRun(b, m)) return LOCK_BUSY;
    } else {
      for (let i = 0; i < m; i++) this.lock(this.stack[b + i]);
    }
    this.top = b + m;
    if (write && m > 0 && store.changeHookActive()) this.beforeChange(m);
    return m;
  }

  /** Lock stack[b..b+m) in order for a command; on a busy script, release them and say false. */
  private lockRun(b: number, m: number): boolean {
    for (let i = 0; i < m; i++) {
      if (!this.lockOrBusy(this.stack[b + i])) {
        for (let j = i - 1; j >= 0; j--) this.unlock(this.stack[b + j]);
        return false;
      }
    }
    return true;
  }

  /** The i-th (ascending) of the last n slots taken, for a caller that tracks what it holds. */
  takenSlot(n: number, i: number): number {
    return this.stack[this.top - n + i];
  }

  /** Release the last n slots taken (lockSlotsOf, lockCommand), in reverse order. */
  unlockSlots(n: number): void {
    for (let i = 0; i < n; i++) this.unlock(this.stack[--this.top]);
  }

  /**
   * Take one slot only if it is free now, pushed on the stack like lockSlotsOf's (released by
   * unlockSlots). A Lua script touching a key it did not declare never waits while holding
   * others, so two scripts cannot deadlock. With `write`, the before-change hook runs for it.
   */
  tryLockSlot(slot: number, write: boolean): boolean {
    if (Atomics.compareExchange(this.i32, this.base + slot, 0, 1) !== 0) return false;
    if (CHECK_LOCKS) (this.store.lockCheck as { held: Uint16Array }).held[slot]++;
    this.reserve(1);
    this.stack[this.top++] = slot;
    if (write && this.store.changeHookActive()) (this.store.beforeChange as (slot: number) => void)(slot);
    return true;
  }

  // ---- every slot -----------------------------------------------------------------------------

  /** Lock every slot (in ascending order, as any other locker would). */
  lockAll(write: boolean): void {
    const i32 = this.i32;
    for (let s = 0; s < NSLOTS; s++) lockWord(i32, this.base + s);
    this.lockedAll(write);
  }

  /** Every slot is held: mark it, and run the before-change hook for a writer. */
  private lockedAll(write: boolean): void {
    this.allLocked = true;
    if (CHECK_LOCKS) (this.store.lockCheck as { all: boolean }).all = true;
    if (write && this.store.changeHookActive()) {
      const hook = this.store.beforeChange as (slot: number) => void;
      for (let s = 0; s < NSLOTS; s++) hook(s);
    }
  }

  /**
   * Lock every slot, but never wait while holding some: on a busy slot release what was taken,
   * wait for that slot holding nothing, and start again. For Lua scripts: another script that
   * already wrote may be try-locking a slot below one it holds (tryLockSlot), and a plain
   * ascending lockAll would hold that slot while waiting for the script's, so the script would
   * fail its call.
   */
  lockAllYielding(write: boolean): boolean {
    const i32 = this.i32;
    const base = this.base;
    for (;;) {
      let s = 0;
      while (s < NSLOTS && Atomics.compareExchange(i32, base + s, 0, 1) === 0) s++;
      if (s === NSLOTS) break;
      for (let t = s - 1; t >= 0; t--) unlockWord(i32, base + t);
      // Holding nothing here: a script past busy-reply-threshold makes this run give up (BUSY).
      if (!this.lockOrBusy(s, false)) return false;
      unlockWord(i32, base + s);
    }
    this.allLocked = true;
    if (CHECK_LOCKS) (this.store.lockCheck as { all: boolean }).all = true;
    if (write && this.store.changeHookActive()) {
      const hook = this.store.beforeChange as (slot: number) => void;
      for (let s = 0; s < NSLOTS; s++) hook(s);
    }
    return true;
  }

  unlockAll(): void {
    this.allLocked = false;
    if (CHECK_LOCKS) (this.store.lockCheck as { all: boolean }).all = false;
    const i32 = this.i32;
    for (let s = NSLOTS - 1; s >= 0; s--) unlockWord(i32, this.base + s);
  }

  // ---- transactions ------------------------------------------------------------------------

  /** EXEC holds its locks: the commands inside it lock nothing more until endNested(). */
  beginNested(): void {
    this.nested++;
  }

  endNested(): void {
    this.nested--;
  }

  // ---- internals ----------------------------------------------------------------------------

  private lock(slot: number): void {
    lockWord(this.i32, this.base + slot);
    if (CHECK_LOCKS) (this.store.lockCheck as { held: Uint16Array }).held[slot]++;
  }

  private unlock(slot: number): void {
    if (CHECK_LOCKS) (this.store.lockCheck as { held: Uint16Array }).held[slot]--;
    unlockWord(this.i32, this.base + slot);
  }

  private beforeChange(n: number): void {
    const hook = this.store.beforeChange as (slot: number) => void;
    for (let i = this.top - n; i < this.top; i++) hook(this.stack[i]);
  }

  private reserve(n: number): void {
    if (this.top + n <= this.stack.length) return;
    const next = new Int32Array(Math.max(this.stack.length * 2, this.top + n * 2));
    next.set(this.stack.subarray(0, this.top));
    this.stack = next;
  }

  /** Insert a slot into the sorted, distinct stack[b..b+m); returns the new count. */
  private insertSlot(b: number, m: number, slot: number): number {
    const st = this.stack;
    let j = m;
    while (j > 0 && st[b + j - 1] > slot) j--;
    if (j > 0 && st[b + j - 1] === slot) return m;
    for (let i = m; i > j; i--) st[b + i] = st[b + i - 1];
    st[b + j] = slot;
    return m + 1;
  }
}

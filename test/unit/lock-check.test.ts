// Every change to the keyspace happens with its slot lock held by the changing thread, taken by
// the coordinator. Debug runs (SHARDIS_DEBUG=1, which every test server uses) check it on each
// mutation: here the check itself is shown to fire on a write that bypasses the coordinator, and
// to stay quiet for writes made under the coordinator's locks.
import { describe, it, expect, beforeAll } from 'vitest';
import type { Store as StoreT } from '../../src/store/keyspace';
import type { Coordinator as CoordinatorT } from '../../src/server/coordinator';

let Store: typeof import('../../src/store/keyspace').Store;
let createLayout: typeof import('../../src/store/keyspace').createLayout;
let MISC_SNAPSHOT: number;
let Heap: typeof import('../../src/store/heap').Heap;
let Coordinator: typeof CoordinatorT;
let keySlot: (k: Uint8Array) => number;

beforeAll(async () => {
  // The check is decided when the modules load.
  process.env.SHARDIS_DEBUG = '1';
  ({ Store, createLayout, MISC_SNAPSHOT } = await import('../../src/store/keyspace'));
  ({ Heap } = await import('../../src/store/heap'));
  ({ Coordinator } = await import('../../src/server/coordinator'));
  ({ keySlot } = await import('../../src/store/crc16'));
});

function setup(): { s: StoreT; coord: CoordinatorT } {
  const sab = Heap.create(64 * 1024 * 1024);
  const s = new Store(new Heap(sab, 1), createLayout(sab, 4));
  return { s, coord: Coordinator.of(s) };
}

const b = (x: string): Buffer => Buffer.from(x);
const E_EMBSTR = 2;

describe('slot lock check (debug runs)', () => {
  it('refuses a write whose slot lock this thread does not hold', () => {
    const { s } = setup();
    expect(() => s.setString(0, b('k'), b('v'), E_EMBSTR, 0, false)).toThrow(/LOCK ASSERTION/);
  });

  it('refuses a write under another slot\'s lock, and a flush under one slot', () => {
    const { s, coord } = setup();
    const other = (keySlot(b('k')) + 1) % 16384;
    coord.lockWalk(other);
    try {
      expect(() => s.setString(0, b('k'), b('v'), E_EMBSTR, 0, false)).toThrow(/LOCK ASSERTION/);
      expect(() => s.changedAll(0, 1)).toThrow(/LOCK ASSERTION/);
    } finally {
      coord.unlockWalk(other);
    }
  });

  it('accepts writes under the coordinator: key locks, walker locks, lock-all', () => {
    const { s, coord } = setup();
    const n = coord.lockSlotsOf([b('k'), b('j')], true);
    s.setString(0, b('k'), b('v'), E_EMBSTR, 0, false);
    s.setString(0, b('j'), b('v'), E_EMBSTR, 0, false);
    coord.unlockSlots(n);
    expect(() => s.delete(0, b('k'))).toThrow(/LOCK ASSERTION/);
    coord.withSlot(keySlot(b('k')), () => expect(s.delete(0, b('k'))).toBe(true));
    coord.lockAll(true);
    try {
      expect(s.delete(0, b('j'))).toBe(true);
      s.changedAll(-1, 1);
    } finally {
      coord.unlockAll();
    }
  });

  it('runs the before-change hook for each slot a write locks, before anything changes', () => {
    const { s, coord } = setup();
    const seen: number[] = [];
    s.beforeChange = (slot) => seen.push(slot);
    s.i32[s.L.misc + MISC_SNAPSHOT] = 1; // a snapshot is running
    const n = coord.lockSlotsOf([b('a'), b('b'), b('a')], true);
    coord.unlockSlots(n);
    expect(seen).toEqual([keySlot(b('a')), keySlot(b('b'))].sort((x, y) => x - y));
    seen.length = 0;
    coord.lockSlotsOf([b('a')], false);
    coord.unlockSlots(1);
    expect(seen).toEqual([]);
  });
});

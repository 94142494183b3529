// The keyspace engine on its own (one thread): tables, rehash, expiry, scan and the checker.
import { describe, it, expect } from 'vitest';
import { Heap, classOf, classSize } from '../../src/store/heap';
import { Store, createLayout, T_STRING, E_INT, E_EMBSTR, E_RAW, MISC_WATCHERS } from '../../src/store/keyspace';
import { keySlot, NSLOTS } from '../../src/store/crc16';

function newStore(): Store {
  const sab = Heap.create(256 * 1024 * 1024);
  const layout = createLayout(sab, 16);
  return new Store(new Heap(sab, 1), layout);
}

function check(s: Store): void {
  const problems: string[] = [];
  s.check(problems);
  expect(problems).toEqual([]);
}

const b = (x: string): Buffer => Buffer.from(x);

describe('heap', () => {
  it('maps sizes to classes that fit', () => {
    for (let n = 1; n < 100000; n += 7) {
      const c = classOf(n);
      expect(classSize[c]).toBeGreaterThanOrEqual(n);
      if (c > 0) expect(classSize[c - 1]).toBeLessThan(n);
    }
  });

  it('reuses freed blocks', () => {
    const sab = Heap.create(16 * 1024 * 1024);
    const h = new Heap(sab, 1);
    const a = h.alloc(100);
    h.free(a, 100);
    expect(h.alloc(100)).toBe(a);
    const big = h.alloc(1 << 20);
    h.free(big, 1 << 20);
    expect(h.alloc(1 << 20)).toBe(big);
  });
});

describe('crc16 slots', () => {
  it('matches Redis Cluster key slots', () => {
    expect(keySlot(b('foo'))).toBe(12182);
    expect(keySlot(b('bar'))).toBe(5061);
    expect(keySlot(b('{user1000}.following'))).toBe(keySlot(b('{user1000}.followers')));
    // The Redis Cluster spec's examples: an empty {} hashes the whole key; the first {...} wins.
    expect(keySlot(b('foo{}{bar}'))).toBe(8363);
    expect(keySlot(b('foo{{bar}}zap'))).toBe(keySlot(b('{bar')));
    expect(keySlot(b('foo{{bar}}zap'))).toBe(4015);
    expect(keySlot(b('foo{bar}{zap}'))).toBe(5061);
    expect(keySlot(b('{}foo'))).not.toBe(keySlot(b('foo')));
    expect(keySlot(b('123456789'))).toBe(0x31c3 & (NSLOTS - 1));
  });
});

describe('keyspace', () => {
  it('sets, gets, overwrites and deletes many keys through rehashes', () => {
    const s = newStore();
    const n = 20000;
    for (let i = 0; i < n; i++) s.setString(0, b(`k${i}`), b(`v${i}`), E_EMBSTR, 0, false);
    expect(s.dbSize(0)).toBe(n);
    for (let i = 0; i < n; i += 97) {
      const e = s.find(0, b(`k${i}`));
      expect(e).not.toBe(0);
      expect(Buffer.from(s.strView(e)).toString()).toBe(`v${i}`);
      expect(s.type(e)).toBe(T_STRING);
    }
    // Grow values past their block: reallocation keeps the key findable.
    for (let i = 0; i < n; i += 3) s.setString(0, b(`k${i}`), Buffer.alloc(200, 65), E_RAW, 0, false);
    expect(s.strLen(s.find(0, b('k3')))).toBe(200);
    check(s);
    for (let i = 0; i < n; i += 2) expect(s.delete(0, b(`k${i}`))).toBe(true);
    expect(s.delete(0, b('k0'))).toBe(false);
    expect(s.dbSize(0)).toBe(n / 2);
    check(s);
  });

  it('keeps databases apart and swaps them', () => {
    const s = newStore();
    s.setString(0, b('a'), b('1'), E_INT, 0, false);
    s.setString(1, b('a'), b('2'), E_INT, 0, false);
    s.swapDb(0, 1);
    expect(Buffer.from(s.strView(s.find(0, b('a')))).toString()).toBe('2');
    expect(Buffer.from(s.strView(s.find(1, b('a')))).toString()).toBe('1');
    check(s);
  });

  it('expires lazily and actively', () => {
    const s = newStore();
    s.now = 1000;
    s.setString(0, b('x'), b('1'), E_INT, 1500, false);
    s.setString(0, b('y'), b('1'), E_INT, 1500, false);
    expect(s.volatileCount(0)).toBe(2);
    s.now = 1499;
    expect(s.find(0, b('x'))).not.toBe(0);
    s.now = 1500;
    expect(s.find(0, b('x'))).toBe(0);
    expect(s.dbSize(0)).toBe(1);
    const slot = keySlot(b('y'));
    expect(s.slotHasVolatile(slot)).toBe(true);
    expect(s.expireSlot(slot, 10)).toBe(1);
    expect(s.dbSize(0)).toBe(0);
    expect(s.volatileCount(0)).toBe(0);
    check(s);
  });

  it('scans every key of a slot exactly once without rehash in between', () => {
    const s = newStore();
    const keys: string[] = [];
    for (let i = 0; i < 5000; i++) {
      const k = `{tag}${i}`;
      keys.push(k);
      s.setString(0, b(k), b('v'), E_EMBSTR, 0, false);
    }
    const slot = keySlot(b('{tag}'));
    const seen = new Set<string>();
    let cursor = 0;
    do {
      cursor = s.scanSlot(0, slot, cursor, (e) => seen.add(Buffer.from(s.keyView(e)).toString()));
    } while (cursor !== 0);
    expect(seen.size).toBe(keys.length);
    check(s);
  });

  it('changes the WATCH version on writes only to that key, while anyone watches', () => {
    const s = newStore();
    // With no watcher at all, writes skip the version table.
    const idle = s.version(0, b('w'));
    s.setString(0, b('w'), b('0'), E_INT, 0, false);
    expect(s.version(0, b('w'))).toBe(idle);
    Atomics.store(s.i32, s.L.misc + MISC_WATCHERS, 1);
    const v0 = s.version(0, b('w'));
    s.setString(0, b('other'), b('1'), E_INT, 0, false);
    expect(s.version(0, b('w'))).toBe(v0);
    s.setString(0, b('w'), b('1'), E_INT, 0, false);
    expect(s.version(0, b('w'))).not.toBe(v0);
  });
});

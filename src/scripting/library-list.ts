// The server's function libraries as one list in shared memory (see functions.ts for why): the
// codes, a version bumped at every change, a spin lock. A leaf module: the snapshot writer and
// the loaders read and reset the list without pulling in the Lua engine.

// Misc words (funcs's range 42-47).
const M_FN_OFF = 42;  // the library list block's heap address in 8-byte units (0: no library)
const M_FN_LEN = 43;  // its length in bytes
const M_FN_VER = 44;  // bumped at every change of the list
const M_FN_LOCK = 45; // spin lock over the three words above and the block

export interface Shared {
  i32: Int32Array;
  u8: Uint8Array;
  L: { misc: number };
  heap: { alloc(n: number): number; free(off: number, n: number): void };
}

function lock(s: Shared): void {
  const w = s.L.misc + M_FN_LOCK;
  while (Atomics.compareExchange(s.i32, w, 0, 1) !== 0) Atomics.wait(s.i32, w, 1, 1);
}

function unlock(s: Shared): void {
  Atomics.store(s.i32, s.L.misc + M_FN_LOCK, 0);
  Atomics.notify(s.i32, s.L.misc + M_FN_LOCK, 1);
}

export function functionsVersion(s: Shared): number {
  return Atomics.load(s.i32, s.L.misc + M_FN_VER);
}

/** The library codes, as the list holds them ([u32 length][code] each), copied out. */
export function libraryCodes(s: Shared): Buffer[] {
  lock(s);
  let bytes: Buffer;
  try {
    const off = (Atomics.load(s.i32, s.L.misc + M_FN_OFF) >>> 0) * 8;
    const len = Atomics.load(s.i32, s.L.misc + M_FN_LEN);
    bytes = off === 0 ? Buffer.alloc(0) : Buffer.from(s.u8.subarray(off, off + len));
  } finally {
    unlock(s);
  }
  const out: Buffer[] = [];
  for (let p = 0; p + 4 <= bytes.length;) {
    const n = bytes.readUInt32LE(p);
    out.push(bytes.subarray(p + 4, p + 4 + n));
    p += 4 + n;
  }
  return out;
}

/** Replace the list (the caller holds every slot lock). */
export function setLibraryCodes(s: Shared, codes: Buffer[]): void {
  let len = 0;
  for (const c of codes) len += 4 + c.length;
  const off = len === 0 ? 0 : s.heap.alloc(len);
  let p = off;
  for (const c of codes) {
    s.u8[p] = c.length & 0xff;
    s.u8[p + 1] = (c.length >>> 8) & 0xff;
    s.u8[p + 2] = (c.length >>> 16) & 0xff;
    s.u8[p + 3] = c.length >>> 24;
    s.u8.set(c, p + 4);
    p += 4 + c.length;
  }
  lock(s);
  const oldOff = (Atomics.load(s.i32, s.L.misc + M_FN_OFF) >>> 0) * 8;
  const oldLen = Atomics.load(s.i32, s.L.misc + M_FN_LEN);
  Atomics.store(s.i32, s.L.misc + M_FN_OFF, off / 8);
  Atomics.store(s.i32, s.L.misc + M_FN_LEN, len);
  Atomics.add(s.i32, s.L.misc + M_FN_VER, 1);
  unlock(s);
  if (oldOff !== 0) s.heap.free(oldOff, oldLen);
}

/** Emptying the dataset (emptyData without EMPTYDB_NOFUNCTIONS) drops every library too. */
export function clearLibraries(s: Shared): void {
  if (Atomics.load(s.i32, s.L.misc + M_FN_OFF) === 0) return;
  setLibraryCodes(s, []);
}

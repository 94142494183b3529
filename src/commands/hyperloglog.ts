// HyperLogLog commands (Redis 7.0's hyperloglog.c): PFADD, PFCOUNT, PFMERGE, PFDEBUG, PFSELFTEST.
// An HLL is a plain string (src/store/hll.ts has the representation). Dense values are changed in
// place in the heap (their size is fixed); sparse ones are edited in a per-thread work buffer and
// written back, since they grow. Like Redis, a PFCOUNT that refreshes the cached cardinality
// changes the value (a readonly command that bumps dirty, so it is propagated: Redis 7.0 does).
import type { CommandSpec } from './types';
import type { Client } from '../server/client';
import { def } from './def';
import { T_STRING, E_RAW, E_EMBSTR } from '../store/keyspace';
import { E_WRONGTYPE, is } from './args';
import { notifyKeyspaceEvent, NOTIFY_STRING } from '../server/notify';
import {
  HLL_DENSE, HLL_DENSE_SIZE, HLL_HDR_SIZE, HLL_REGISTERS, HLL_REGISTER_MAX, HLL_SPARSE,
  E_HLL_INVALID, E_HLL_WRONGTYPE, HllWork, cachedCard, decodeSparse, denseAdd, denseGet, denseSet,
  denseSetRaw, hllCount, hllMerge, hllPatLen, isValidHll, patIndex, rawCount, setCachedCard, sparseSet, sparseToDense, workAdd,
} from '../store/hll';

const work = new HllWork();
const max = new Uint8Array(HLL_REGISTERS);

function sparseMax(c: Client): number {
  return c.srv.config.num('hll-sparse-max-bytes');
}

/** isHLLObjectOrReply for the live entry e: false after replying an error. */
function checkHll(c: Client, e: number): boolean {
  const s = c.store;
  if (s.type(e) !== T_STRING) {
    c.w.error(E_WRONGTYPE);
    return false;
  }
  if (!isValidHll(s.u8, s.strOffset(e), s.strLen(e))) {
    c.w.error(E_HLL_WRONGTYPE);
    return false;
  }
  return true;
}

/** Write the work value back as key's string (TTL kept); returns the entry. */
function storeWork(c: Client, key: Uint8Array): number {
  const s = c.store;
  // A sparse value keeps room to grow in place (as sdsMakeRoomFor); a dense one never grows, so
  // its block is its exact size (a 12 KB value with half again of slack would waste 6 KB).
  const ne = s.writeString(c.db, key, work.len, E_RAW, 0, true, work.len !== HLL_DENSE_SIZE);
  s.u8.set(work.view(), s.strOffset(ne));
  return ne;
}

function pfadd(c: Client, argv: Buffer[]): void {
  const s = c.store;
  const key = argv[1];
  const e = s.find(c.db, key);
  let updated = 0;
  if (e !== 0) {
    if (!checkHll(c, e)) return;
    const off = s.strOffset(e);
    if (s.u8[off + 4] === HLL_DENSE) {
      // Dense: registers change in place, the size never does.
      const regs = off + HLL_HDR_SIZE;
      for (let j = 2; j < argv.length; j++) updated += denseAdd(s.u8, regs, argv[j]);
      if (updated !== 0) {
        s.u8[off + 15] |= 0x80;
        s.setEncoding(e, E_RAW);
        s.modified(c.db, key, updated);
        notifyKeyspaceEvent(c, NOTIFY_STRING, 'pfadd', key, c.db);
      }
      return c.w.int(updated ? 1 : 0);
    }
    work.load(s.strView(e));
  } else {
    work.empty();
    updated++;
  }
  const maxBytes = sparseMax(c);
  for (let j = 2; j < argv.length; j++) {
    const r = workAdd(work, argv[j], maxBytes);
    // Decision: a corrupt sparse value is left as it was (Redis keeps the registers set by the
    // elements before the one that found the corruption, without propagating them).
    if (r < 0) return c.w.error(E_HLL_INVALID);
    updated += r;
  }
  if (updated !== 0) {
    work.b[15] |= 0x80;
    storeWork(c, key);
    if (updated > 1) s.dirty += updated - 1; // writeString counted one
    notifyKeyspaceEvent(c, NOTIFY_STRING, 'pfadd', key, c.db);
  } else if (s.encoding(e) === E_EMBSTR) s.setEncoding(e, E_RAW); // dbUnshareStringValue
  c.w.int(updated ? 1 : 0);
}

function pfcount(c: Client, argv: Buffer[]): void {
  const s = c.store;
  if (argv.length > 2) {
    // The cardinality of the union: registers as one byte each (HLL_RAW).
    max.fill(0);
    for (let j = 1; j < argv.length; j++) {
      const e = s.findRead(c.db, argv[j]);
      if (e === 0) continue;
      if (!checkHll(c, e)) return;
      if (!hllMerge(max, s.u8, s.strOffset(e), s.strLen(e))) return c.w.error(E_HLL_INVALID);
    }
    return c.w.int(rawCount(max));
  }
  const key = argv[1];
  const e = s.findRead(c.db, key);
  if (e === 0) return c.w.int(0);
  if (!checkHll(c, e)) return;
  if (s.encoding(e) === E_EMBSTR) s.setEncoding(e, E_RAW); // dbUnshareStringValue
  const off = s.strOffset(e);
  const cached = cachedCard(s.u8, off);
  if (cached >= 0) {
    if (Number.isSafeInteger(cached)) return c.w.int(cached);
    return c.w.bigint(Buffer.from(s.u8.subarray(off + 8, off + 16)).readBigUInt64LE(0));
  }
  const card = hllCount(s.u8, off, s.strLen(e));
  if (card < 0) return c.w.error(E_HLL_INVALID);
  // The cache is part of the value: a running snapshot must copy the slot first (PFCOUNT is
  // readonly, so the coordinator did not), and the change counts as a write (signalModifiedKey,
  // dirty++: Redis propagates this PFCOUNT).
  if (s.changeHookActive()) (s.beforeChange as (slot: number) => void)(s.slotOf(key));
  setCachedCard(s.u8, s.strOffset(e), card);
  s.modified(c.db, key, 1);
  c.w.int(card);
}

function pfmerge(c: Client, argv: Buffer[]): void {
  const s = c.store;
  max.fill(0);
  let useDense = false;
  for (let j = 1; j < argv.length; j++) {
    const e = s.findRead(c.db, argv[j]);
    if (e === 0) continue;
    if (!checkHll(c, e)) return;
    const off = s.strOffset(e);
    if (s.u8[off + 4] === HLL_DENSE) useDense = true;
    if (!hllMerge(max, s.u8, off, s.strLen(e))) return c.w.error(E_HLL_INVALID);
  }
  const key = argv[1];
  const e = s.find(c.db, key);
  if (e === 0) work.empty();
  else work.load(s.strView(e)); // checked above, as the first source
  if (useDense && !sparseToDense(work)) return c.w.error(E_HLL_INVALID);
  const maxBytes = sparseMax(c);
  for (let j = 0; j < HLL_REGISTERS; j++) {
    if (max[j] === 0) continue;
    if (work.b[4] === HLL_DENSE) denseSet(work.b, HLL_HDR_SIZE, j, max[j]);
    else sparseSet(work, j, max[j], maxBytes); // Redis ignores a corrupt destination here
  }
  work.b[15] |= 0x80;
  storeWork(c, key);
  // A PFADD event: in theory a merge is a mass-add of elements.
  notifyKeyspaceEvent(c, NOTIFY_STRING, 'pfadd', key, c.db);
  c.w.ok();
}

function pfdebug(c: Client, argv: Buffer[]): void {
  const s = c.store;
  const cmd = argv[1];
  const key = argv[2];
  const e = s.find(c.db, key);
  if (e === 0) return c.w.error('ERR The specified key does not exist');
  if (!checkHll(c, e)) return;
  if (s.encoding(e) === E_EMBSTR) s.setEncoding(e, E_RAW);
  const off = s.strOffset(e);
  const len = s.strLen(e);
  const sparse = s.u8[off + 4] === HLL_SPARSE;
  if (is(cmd, 'getreg')) {
    let src = s.u8;
    let p = off + HLL_HDR_SIZE;
    if (sparse) {
      work.load(s.strView(e));
      if (!sparseToDense(work)) return c.w.error(E_HLL_INVALID);
      storeWork(c, key); // the encoding change is propagated (server.dirty++)
      src = work.b;
      p = HLL_HDR_SIZE;
    }
    c.w.array(HLL_REGISTERS);
    for (let j = 0; j < HLL_REGISTERS; j++) c.w.int(denseGet(src, p, j));
  } else if (is(cmd, 'decode')) {
    if (!sparse) return c.w.error('ERR HLL encoding is not sparse');
    c.w.bulkStr(decodeSparse(s.u8, off, len));
  } else if (is(cmd, 'encoding')) {
    c.w.simple(sparse ? 'sparse' : 'dense');
  } else if (is(cmd, 'todense')) {
    if (sparse) {
      work.load(s.strView(e));
      if (!sparseToDense(work)) return c.w.error(E_HLL_INVALID);
      storeWork(c, key);
    }
    c.w.int(sparse ? 1 : 0);
  } else {
    c.w.error(`ERR Unknown PFDEBUG subcommand '${cmd.toString('latin1')}'`, true);
  }
}

// PFSELFTEST: Redis's own test of the registers and of the estimate's error bounds.
const TEST_CYCLES = 1000;

function pfselftest(c: Client): void {
  const dense = new Uint8Array(HLL_DENSE_SIZE + 1);
  const regs = HLL_HDR_SIZE;
  const bytecounters = new Uint8Array(HLL_REGISTERS);
  for (let j = 0; j < TEST_CYCLES; j++) {
    for (let i = 0; i < HLL_REGISTERS; i++) {
      const r = (Math.random() * 64) & HLL_REGISTER_MAX;
      bytecounters[i] = r;
      denseSetRaw(dense, regs, i, r);
    }
    for (let i = 0; i < HLL_REGISTERS; i++) {
      const val = denseGet(dense, regs, i);
      if (val !== bytecounters[i]) {
        return c.w.error(`TESTFAILED Register ${i} should be ${bytecounters[i]} but is ${val}`);
      }
    }
  }
  dense.fill(0);
  dense[4] = HLL_DENSE;
  const w = new HllWork();
  w.empty();
  const relerr = 1.04 / Math.sqrt(HLL_REGISTERS);
  let checkpoint = 1;
  const seedLo = (Math.random() * 4294967296) >>> 0;
  const seedHi = (Math.random() * 4294967296) >>> 0;
  const ele = new Uint8Array(8);
  const maxBytes = sparseMax(c);
  for (let j = 1; j <= 10000000; j++) {
    // ele = j ^ seed, as 8 little-endian bytes
    const lo = (j ^ seedLo) >>> 0;
    ele[0] = lo & 0xff;
    ele[1] = (lo >>> 8) & 0xff;
    ele[2] = (lo >>> 16) & 0xff;
    ele[3] = lo >>> 24;
    ele[4] = seedHi & 0xff;
    ele[5] = (seedHi >>> 8) & 0xff;
    ele[6] = (seedHi >>> 16) & 0xff;
    ele[7] = seedHi >>> 24;
    // One hash for both copies (Redis hashes twice; the registers set are the same).
    const count = hllPatLen(ele);
    const idx = patIndex;
    denseSet(dense, regs, idx, count);
    if (w.b[4] === HLL_DENSE) denseSet(w.b, HLL_HDR_SIZE, idx, count);
    else sparseSet(w, idx, count, maxBytes);
    if (j === checkpoint) {
      if (j < maxBytes / 2 && w.b[4] !== HLL_SPARSE) return c.w.error('TESTFAILED sparse encoding not used');
      const dc = hllCount(dense, 0, HLL_DENSE_SIZE);
      if (dc !== hllCount(w.b, 0, w.len)) return c.w.error('TESTFAILED dense/sparse disagree');
      const abserr = Math.abs(checkpoint - dc);
      let maxerr = Math.ceil(relerr * 6 * checkpoint);
      if (j === 10) maxerr = 1;
      if (abserr > maxerr) return c.w.error(`TESTFAILED Too big error. card:${checkpoint} abserr:${abserr}`);
      checkpoint *= 10;
    }
  }
  c.w.ok();
}

const HLL_WRITE = { acl: ['write', 'hyperloglog', 'slow'] };

export const commands: CommandSpec[] = [
  def('pfadd', -2, 'write denyoom fast', [1, 1, 1], 'hyperloglog', 'Adds the specified elements to the specified HyperLogLog.', pfadd, { acl: ['write', 'hyperloglog', 'fast'], since: '2.8.9', complexity: 'O(1) to add every element.' }),
  def('pfcount', -2, 'readonly may_replicate', [1, -1, 1], 'hyperloglog', 'Return the approximated cardinality of the set(s) observed by the HyperLogLog at key(s).', pfcount, { acl: ['read', 'hyperloglog', 'slow'], since: '2.8.9', complexity: 'O(1) with a very small average constant time when called with a single key. O(N) with N being the number of keys, and much bigger constant times, when called with multiple keys.' }),
  def('pfmerge', -2, 'write denyoom', [1, -1, 1], 'hyperloglog', 'Merge N different HyperLogLogs into a single one.', pfmerge, { ...HLL_WRITE, since: '2.8.9', complexity: 'O(N) to merge N HyperLogLogs, but with high constant times.' }),
  def('pfdebug', 3, 'write denyoom admin', [2, 2, 1], 'hyperloglog', 'Internal commands for debugging HyperLogLog values', pfdebug, { acl: ['write', 'hyperloglog', 'admin', 'slow', 'dangerous'], since: '2.8.9', complexity: 'N/A' }),
  def('pfselftest', 1, 'admin', [0, 0, 0], 'hyperloglog', 'An internal command for testing HyperLogLog values', (c) => pfselftest(c), { lock: 'none', acl: ['hyperloglog', 'admin', 'slow', 'dangerous'], since: '2.8.9', complexity: 'N/A' }),
];

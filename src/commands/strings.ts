// String and bitmap commands (t_string.c, bitops.c): GET, SET and the whole family, with
// Redis 7.0's replies, error texts and OBJECT ENCODING results.
import type { CommandSpec } from './types';
import type { Client } from '../server/client';
import { parseLongDouble, addLD, formatLongDoubleHuman, type LongDouble } from './longdouble';
import { def } from './def';
import { Store, T_STRING, E_INT, E_EMBSTR, E_RAW, parseCanonicalInt } from '../store/keyspace';
import { E_SYNTAX, E_WRONGTYPE, E_NOT_INT, E_OVERFLOW, I64_MAX, I64_MIN, is, parseI64 } from './args';
import { notifyKeyspaceEvent, NOTIFY_GENERIC, NOTIFY_STRING } from '../server/notify';
import { P_DEL, P_KEEPTTL, P_PERSIST, P_PEXPIREAT, P_PXAT, P_SET, P_UNLINK, msArg } from './propagation';
import { decimalLength, putDecimal } from '../protocol/writer';

const E_NOT_FLOAT = 'ERR value is not a valid float';
const E_TOO_BIG = 'ERR string exceeds maximum allowed size (proto-max-bulk-len)';
const E_BIT_OFFSET = 'ERR bit offset is not an integer or out of range';
const E_BIT_VALUE = 'ERR bit is not an integer or out of range';
const E_FLOAT_RESULT = 'ERR increment would produce NaN or Infinity';
const EMBSTR_MAX = 44;
const DEFAULT_MAX_BULK = 512 * 1024 * 1024;

/** proto-max-bulk-len (string size limit). */
function maxBulk(c: Client): number {
  try {
    const v = c.srv.config.num('proto-max-bulk-len');
    return typeof v === 'number' && v > 0 ? v : DEFAULT_MAX_BULK;
  } catch {
    return DEFAULT_MAX_BULK;
  }
}

// ---- GET / SET and the SET-style option parser ------------------------------------------

function get(c: Client, argv: Buffer[]): void {
  const s = c.store;
  const e = s.findRead(c.db, argv[1]);
  if (e === 0) return c.w.nil();
  if (s.type(e) !== T_STRING) return c.w.error(E_WRONGTYPE);
  const off = s.strOffset(e);
  c.w.bulkRange(s.u8, off, off + s.strLen(e));
}

export const F_NX = 1;
export const F_XX = 2;
export const F_GET = 4;
export const F_KEEPTTL = 8;
export const F_EX = 16;
export const F_PX = 32;
export const F_EXAT = 64;
export const F_PXAT = 128;
export const F_PERSIST = 256;
const F_ANY_EXPIRE = F_EX | F_PX | F_EXAT | F_PXAT;

/** Results of the last parseStringOptions / expireMillis call (no allocation per command). */
export let optFlags = 0;
export let optExpireIdx = 0;
export let optExpireAt = 0;

/**
 * Redis's parseExtendedStringArgumentsOrReply: SET (forSet) or GETEX options from argv[from..].
 * Sets optFlags and optExpireIdx (the index of the expire argument, 0 if none); returns an
 * error text or null. The expire value itself is validated later by expireMillis.
 */
export function parseStringOptions(argv: Buffer[], from: number, forSet: boolean): string | null {
  let flags = 0;
  let idx = 0;
  for (let j = from; j < argv.length; j++) {
    const a = argv[j];
    const hasNext = j + 1 < argv.length;
    if (forSet && is(a, 'nx') && !(flags & F_XX)) flags |= F_NX;
    else if (forSet && is(a, 'xx') && !(flags & F_NX)) flags |= F_XX;
    else if (forSet && is(a, 'get')) flags |= F_GET;
    else if (forSet && is(a, 'keepttl') && !(flags & (F_PERSIST | F_ANY_EXPIRE))) flags |= F_KEEPTTL;
    else if (!forSet && is(a, 'persist') && !(flags & (F_ANY_EXPIRE | F_KEEPTTL))) flags |= F_PERSIST;
    else if (is(a, 'ex') && !(flags & (F_KEEPTTL | F_PERSIST | F_EXAT | F_PX | F_PXAT)) && hasNext) {
      flags |= F_EX;
      idx = ++j;
    } else if (is(a, 'px') && !(flags & (F_KEEPTTL | F_PERSIST | F_EX | F_EXAT | F_PXAT)) && hasNext) {
      flags |= F_PX;
      idx = ++j;
    } else if (is(a, 'exat') && !(flags & (F_KEEPTTL | F_PERSIST | F_EX | F_PX | F_PXAT)) && hasNext) {
      flags |= F_EXAT;
      idx = ++j;
    } else if (is(a, 'pxat') && !(flags & (F_KEEPTTL | F_PERSIST | F_EX | F_EXAT | F_PX)) && hasNext) {
      flags |= F_PXAT;
      idx = ++j;
    } else {
      return E_SYNTAX;
    }
  }
  optFlags = flags;
  optExpireIdx = idx;
  return null;
}

const LLONG_MAX_DIV_1000 = I64_MAX / 1000n;

/**
 * Redis's getExpireMillisecondsOrReply: the absolute expiry (ms) of an EX/PX/EXAT/PXAT value
 * into optExpireAt; returns an error text or null.
 */
export function expireMillis(arg: Buffer, flags: number, now: number, cmd: string): string | null {
  const v = parseI64(arg);
  if (v === null) return E_NOT_INT;
  const seconds = (flags & (F_EX | F_EXAT)) !== 0;
  const relative = (flags & (F_EX | F_PX)) !== 0;
  if (typeof v === 'number') {
    if (v <= 0) return `ERR invalid expire time in '${cmd}' command`;
    let ms = seconds ? v * 1000 : v;
    if (relative) ms += now;
    if (ms > 9223372036854775807) return `ERR invalid expire time in '${cmd}' command`;
    optExpireAt = ms;
    return null;
  }
  if (v <= 0n || (seconds && v > LLONG_MAX_DIV_1000)) return `ERR invalid expire time in '${cmd}' command`;
  let ms = seconds ? v * 1000n : v;
  if (relative) ms += BigInt(now);
  if (ms > I64_MAX) return `ERR invalid expire time in '${cmd}' command`;
  optExpireAt = Number(ms);
  return null;
}

/**
 * setGenericCommand: flags from F_*, expiry already validated (expireAt 0 = none).
 * okReply/abortReply: 0 = +OK / nil, 1 = :1 / :0 (SETNX).
 */
function setGeneric(c: Client, key: Buffer, val: Buffer, flags: number, expireAt: number, intReplies: boolean): void {
  const s = c.store;
  if (flags & F_GET) {
    const g = s.findRead(c.db, key);
    if (g === 0) c.w.nil();
    else if (s.type(g) !== T_STRING) return c.w.error(E_WRONGTYPE);
    else {
      const off = s.strOffset(g);
      c.w.bulkRange(s.u8, off, off + s.strLen(g));
    }
  }
  // Only NX/XX need to know whether the key exists (setString handles an expired one itself).
  const found = (flags & (F_NX | F_XX)) !== 0 && s.find(c.db, key) !== 0;
  if ((flags & F_NX && found) || (flags & F_XX && !found)) {
    if (!(flags & F_GET)) {
      if (intReplies) c.w.int(0);
      else c.w.nil();
    }
    return;
  }
  s.setString(c.db, key, val, Store.stringEncoding(val), expireAt, (flags & F_KEEPTTL) !== 0);
  notifyKeyspaceEvent(c, NOTIFY_STRING, 'set', key, c.db);
  if (expireAt !== 0) {
    // Propagated as SET key value PXAT ms (SETEX, PSETEX and SET EX/PX/EXAT alike), as Redis 7.0.
    const p = c.srv.prop;
    if (p.on()) p.propagateAs([P_SET, key, val, P_PXAT, msArg(expireAt)]);
    notifyKeyspaceEvent(c, NOTIFY_GENERIC, 'expire', key, c.db);
  }
  if (!(flags & F_GET)) {
    if (intReplies) c.w.int(1);
    else c.w.ok();
  }
}

function set(c: Client, argv: Buffer[]): void {
  const err = parseStringOptions(argv, 3, true);
  if (err !== null) return c.w.error(err);
  const flags = optFlags;
  let at = 0;
  if (optExpireIdx !== 0) {
    const e2 = expireMillis(argv[optExpireIdx], flags, c.store.now, 'set');
    if (e2 !== null) return c.w.error(e2);
    at = optExpireAt;
  }
  setGeneric(c, argv[1], argv[2], flags, at, false);
}

function setnx(c: Client, argv: Buffer[]): void {
  setGeneric(c, argv[1], argv[2], F_NX, 0, true);
}

function setex(c: Client, argv: Buffer[]): void {
  const e = expireMillis(argv[2], F_EX, c.store.now, 'setex');
  if (e !== null) return c.w.error(e);
  setGeneric(c, argv[1], argv[3], 0, optExpireAt, false);
}

function psetex(c: Client, argv: Buffer[]): void {
  const e = expireMillis(argv[2], F_PX, c.store.now, 'psetex');
  if (e !== null) return c.w.error(e);
  setGeneric(c, argv[1], argv[3], 0, optExpireAt, false);
}

function getset(c: Client, argv: Buffer[]): void {
  const s = c.store;
  const e = s.findRead(c.db, argv[1]);
  if (e === 0) c.w.nil();
  else if (s.type(e) !== T_STRING) return c.w.error(E_WRONGTYPE);
  else {
    const off = s.strOffset(e);
    c.w.bulkRange(s.u8, off, off + s.strLen(e));
  }
  s.setString(c.db, argv[1], argv[2], Store.stringEncoding(argv[2]), 0, false);
  notifyKeyspaceEvent(c, NOTIFY_STRING, 'set', argv[1], c.db);
  const p = c.srv.prop;
  if (p.on()) p.propagateAs([P_SET, argv[1], argv[2]]);
}

function getdel(c: Client, argv: Buffer[]): void {
  const s = c.store;
  const e = s.findRead(c.db, argv[1]);
  if (e === 0) return c.w.nil();
  if (s.type(e) !== T_STRING) return c.w.error(E_WRONGTYPE);
  const off = s.strOffset(e);
  c.w.bulkRange(s.u8, off, off + s.strLen(e));
  if (s.delete(c.db, argv[1])) {
    const p = c.srv.prop;
    if (p.on()) p.propagateAs([c.srv.config.str('lazyfree-lazy-user-del') === 'yes' ? P_UNLINK : P_DEL, argv[1]]);
    notifyKeyspaceEvent(c, NOTIFY_GENERIC, 'del', argv[1], c.db);
  }
}

function getex(c: Client, argv: Buffer[]): void {
  const s = c.store;
  const err = parseStringOptions(argv, 2, false);
  if (err !== null) return c.w.error(err);
  const flags = optFlags;
  const expIdx = optExpireIdx;
  const key = argv[1];
  const e = s.findRead(c.db, key);
  if (e === 0) return c.w.nil();
  if (s.type(e) !== T_STRING) return c.w.error(E_WRONGTYPE);
  let at = 0;
  if (expIdx !== 0) {
    const e2 = expireMillis(argv[expIdx], flags, s.now, 'getex');
    if (e2 !== null) return c.w.error(e2);
    at = optExpireAt;
  }
  const off = s.strOffset(e);
  c.w.bulkRange(s.u8, off, off + s.strLen(e));
  // Never propagated as itself: as PEXPIREAT, DEL/UNLINK or PERSIST.
  const p = c.srv.prop;
  if ((flags & (F_EXAT | F_PXAT)) !== 0 && at <= s.now && s.expireOnAccess) {
    s.delete(c.db, key);
    if (p.on()) p.propagateAs([c.srv.config.str('lazyfree-lazy-expire') === 'yes' ? P_UNLINK : P_DEL, key]);
    notifyKeyspaceEvent(c, NOTIFY_GENERIC, 'del', key, c.db);
  } else if (expIdx !== 0) {
    s.setExpire(c.db, key, e, at);
    if (p.on()) p.propagateAs([P_PEXPIREAT, key, msArg(at)]);
    notifyKeyspaceEvent(c, NOTIFY_GENERIC, 'expire', key, c.db);
  } else if (flags & F_PERSIST) {
    if (s.expireAt(e) !== 0) {
      s.setExpire(c.db, key, e, 0);
      if (p.on()) p.propagateAs([P_PERSIST, key]);
      notifyKeyspaceEvent(c, NOTIFY_GENERIC, 'persist', key, c.db);
    }
  }
}

// ---- multi-key -------------------------------------------------------------------------

function mget(c: Client, argv: Buffer[]): void {
  const s = c.store;
  c.w.array(argv.length - 1);
  for (let i = 1; i < argv.length; i++) {
    const e = s.findRead(c.db, argv[i]);
    if (e === 0 || s.type(e) !== T_STRING) c.w.nil();
    else {
      const off = s.strOffset(e);
      c.w.bulkRange(s.u8, off, off + s.strLen(e));
    }
  }
}

function mset(c: Client, argv: Buffer[]): void {
  if (argv.length % 2 === 0) return c.w.error("ERR wrong number of arguments for 'mset' command");
  const s = c.store;
  for (let i = 1; i < argv.length; i += 2) {
    s.setString(c.db, argv[i], argv[i + 1], Store.stringEncoding(argv[i + 1]), 0, false);
    notifyKeyspaceEvent(c, NOTIFY_STRING, 'set', argv[i], c.db);
  }
  c.w.ok();
}

function msetnx(c: Client, argv: Buffer[]): void {
  if (argv.length % 2 === 0) return c.w.error("ERR wrong number of arguments for 'msetnx' command");
  const s = c.store;
  for (let i = 1; i < argv.length; i += 2) if (s.find(c.db, argv[i]) !== 0) return c.w.int(0);
  for (let i = 1; i < argv.length; i += 2) {
    s.setString(c.db, argv[i], argv[i + 1], Store.stringEncoding(argv[i + 1]), 0, false);
    notifyKeyspaceEvent(c, NOTIFY_STRING, 'set', argv[i], c.db);
  }
  c.w.int(1);
}

// ---- length, append, ranges --------------------------------------------------------------

function strlen(c: Client, argv: Buffer[]): void {
  const s = c.store;
  const e = s.findRead(c.db, argv[1]);
  if (e === 0) return c.w.int(0);
  if (s.type(e) !== T_STRING) return c.w.error(E_WRONGTYPE);
  c.w.int(s.strLen(e));
}

function append(c: Client, argv: Buffer[]): void {
  const s = c.store;
  const key = argv[1];
  const val = argv[2];
  const e = s.find(c.db, key);
  if (e === 0) {
    // A new key holds the argument as SET would encode it; room to grow in place.
    const ne = s.writeString(c.db, key, val.length, Store.stringEncoding(val), 0, false, true);
    s.u8.set(val, s.strOffset(ne));
    notifyKeyspaceEvent(c, NOTIFY_STRING, 'append', key, c.db);
    return c.w.int(val.length);
  }
  if (s.type(e) !== T_STRING) return c.w.error(E_WRONGTYPE);
  const old = s.strLen(e);
  const total = old + val.length;
  if (total > maxBulk(c)) return c.w.error(E_TOO_BIG);
  const ne = s.writeString(c.db, key, total, E_RAW, 0, true, true);
  s.u8.set(val, s.strOffset(ne) + old);
  notifyKeyspaceEvent(c, NOTIFY_STRING, 'append', key, c.db);
  c.w.int(total);
}

/** Clamp Redis-style start/end (inclusive, negatives from the end) for GETRANGE. */
function getrange(c: Client, argv: Buffer[]): void {
  const a = parseI64(argv[2]);
  if (a === null) return c.w.error(E_NOT_INT);
  const b = parseI64(argv[3]);
  if (b === null) return c.w.error(E_NOT_INT);
  let start = Number(a);
  let end = Number(b);
  const s = c.store;
  const e = s.findRead(c.db, argv[1]);
  if (e === 0) return c.w.bulkRange(s.u8, 0, 0);
  if (s.type(e) !== T_STRING) return c.w.error(E_WRONGTYPE);
  const len = s.strLen(e);
  if (start < 0 && end < 0 && start > end) return c.w.bulkRange(s.u8, 0, 0);
  if (start < 0) start = len + start;
  if (end < 0) end = len + end;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= len) end = len - 1;
  if (start > end || len === 0) return c.w.bulkRange(s.u8, 0, 0);
  const off = s.strOffset(e);
  c.w.bulkRange(s.u8, off + start, off + end + 1);
}

function setrange(c: Client, argv: Buffer[]): void {
  const o = parseI64(argv[2]);
  if (o === null) return c.w.error(E_NOT_INT);
  const offset = Number(o);
  if (offset < 0) return c.w.error('ERR offset is out of range');
  const s = c.store;
  const key = argv[1];
  const val = argv[3];
  const e = s.find(c.db, key);
  let old = 0;
  if (e === 0) {
    if (val.length === 0) return c.w.int(0);
    if (offset + val.length > maxBulk(c)) return c.w.error(E_TOO_BIG);
  } else {
    if (s.type(e) !== T_STRING) return c.w.error(E_WRONGTYPE);
    old = s.strLen(e);
    if (val.length === 0) return c.w.int(old);
    if (offset + val.length > maxBulk(c)) return c.w.error(E_TOO_BIG);
  }
  const total = Math.max(old, offset + val.length);
  const ne = s.writeString(c.db, key, total, E_RAW, 0, true, true);
  const base = s.strOffset(ne);
  if (offset > old) s.u8.fill(0, base + old, base + offset);
  s.u8.set(val, base + offset);
  notifyKeyspaceEvent(c, NOTIFY_STRING, 'setrange', key, c.db);
  c.w.int(total);
}

// ---- integer counters ----------------------------------------------------------------------

/** Store a safe integer as the key's value (int encoding, TTL kept) and reply with it. */
/** Store integer r at key; `found` is the key's live entry when the caller just looked it up (or 0). */
function storeSafeInt(c: Client, key: Buffer, r: number, found: number): void {
  const s = c.store;
  const neg = r < 0;
  const a = neg ? -r : r;
  const dl = decimalLength(a);
  const len = dl + (neg ? 1 : 0);
  const e = found !== 0 && s.resizeStringInPlace(c.db, key, found, len, E_INT) ? found : s.writeString(c.db, key, len, E_INT, 0, true, false);
  const u8 = s.u8;
  const off = s.strOffset(e);
  if (neg) u8[off] = 0x2d;
  putDecimal(u8, off + len - 1, a);
  notifyKeyspaceEvent(c, NOTIFY_STRING, 'incrby', key, c.db);
  c.w.int(r);
}

function storeBigInt(c: Client, key: Buffer, r: bigint): void {
  const s = c.store;
  const str = r.toString();
  const e = s.writeString(c.db, key, str.length, E_INT, 0, true, false);
  const off = s.strOffset(e);
  for (let i = 0; i < str.length; i++) s.u8[off + i] = str.charCodeAt(i);
  notifyKeyspaceEvent(c, NOTIFY_STRING, 'incrby', key, c.db);
  c.w.bigint(r);
}

function incrDecr(c: Client, key: Buffer, incr: number | bigint): void {
  const s = c.store;
  const e = s.find(c.db, key);
  let cur: number | bigint = 0;
  if (e !== 0) {
    if (s.type(e) !== T_STRING) return c.w.error(E_WRONGTYPE);
    const off = s.strOffset(e);
    const end = off + s.strLen(e);
    const v = parseCanonicalInt(s.u8, off, end);
    if (v === v) cur = v;
    else {
      const b = parseI64(s.u8.subarray(off, end));
      if (b === null) return c.w.error(E_NOT_INT);
      cur = b;
    }
  }
  if (typeof cur === 'number' && typeof incr === 'number') {
    const r = cur + incr;
    if (Number.isSafeInteger(r)) return storeSafeInt(c, key, r, e);
  }
  const r = BigInt(cur) + BigInt(incr);
  if (r > I64_MAX || r < I64_MIN) return c.w.error(E_OVERFLOW);
  if (r >= -9007199254740991n && r <= 9007199254740991n) return storeSafeInt(c, key, Number(r), e);
  storeBigInt(c, key, r);
}

function incr(c: Client, argv: Buffer[]): void {
  incrDecr(c, argv[1], 1);
}

function decr(c: Client, argv: Buffer[]): void {
  incrDecr(c, argv[1], -1);
}

function incrby(c: Client, argv: Buffer[]): void {
  const v = parseI64(argv[2]);
  if (v === null) return c.w.error(E_NOT_INT);
  incrDecr(c, argv[1], v);
}

function decrby(c: Client, argv: Buffer[]): void {
  const v = parseI64(argv[2]);
  if (v === null) return c.w.error(E_NOT_INT);
  if (v === I64_MIN) return c.w.error('ERR decrement would overflow');
  incrDecr(c, argv[1], typeof v === 'bigint' ? -v : -v || 0);
}

// ---- INCRBYFLOAT (long double arithmetic in longdouble.ts) --------------------------------

function incrbyfloat(c: Client, argv: Buffer[]): void {
  const s = c.store;
  const key = argv[1];
  const e = s.find(c.db, key);
  let cur: LongDouble | null = { neg: false, m: 0n, e: 0, inf: false };
  if (e !== 0) {
    if (s.type(e) !== T_STRING) return c.w.error(E_WRONGTYPE);
    cur = parseLongDouble(s.strView(e));
    if (cur === null) return c.w.error(E_NOT_FLOAT);
  }
  const inc = parseLongDouble(argv[2]);
  if (inc === null) return c.w.error(E_NOT_FLOAT);
  if (cur.inf || inc.inf) return c.w.error(E_FLOAT_RESULT);
  const sum = addLD(cur, inc);
  if (sum.inf) return c.w.error(E_FLOAT_RESULT);
  const str = formatLongDoubleHuman(sum);
  const ne = s.writeString(c.db, key, str.length, str.length <= EMBSTR_MAX ? E_EMBSTR : E_RAW, 0, true, false);
  const off = s.strOffset(ne);
  for (let i = 0; i < str.length; i++) s.u8[off + i] = str.charCodeAt(i);
  // Propagated as SET key <result> KEEPTTL: float formatting on a replica could differ.
  const p = c.srv.prop;
  if (p.on()) p.propagateAs([P_SET, key, Buffer.from(str, 'latin1'), P_KEEPTTL]);
  notifyKeyspaceEvent(c, NOTIFY_STRING, 'incrbyfloat', key, c.db);
  c.w.bulkRange(s.u8, off, off + str.length);
}

// ---- bits -----------------------------------------------------------------------------------

const POPCOUNT = new Uint8Array(256);
for (let i = 1; i < 256; i++) POPCOUNT[i] = (i & 1) + POPCOUNT[i >> 1];

/** Set bits in u8[from, to); aligned 32-bit words of the heap (u32) counted with SWAR. */
function popcount(u8: Uint8Array, u32: Uint32Array, from: number, to: number): number {
  let n = 0;
  let i = from;
  // Heap byte offsets may pass 2^32: alignment and word indices by arithmetic, not bit operators.
  while (i < to && i % 4 !== 0) n += POPCOUNT[u8[i++]];
  const wend = to - ((to - i) % 4);
  for (let w = i / 4, we = wend / 4; w < we; w++) {
    let v = u32[w];
    v = v - ((v >>> 1) & 0x55555555);
    v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
    n += (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
  }
  for (i = wend > i ? wend : i; i < to; i++) n += POPCOUNT[u8[i]];
  return n;
}

let bitOffsetOut = 0;

/** getBitOffsetFromArgument: the offset into bitOffsetOut, or an error text. */
function bitOffset(c: Client, arg: Buffer, hash: boolean, bits: number): string | null {
  const usehash = arg.length > 1 && arg[0] === 0x23 && hash && bits > 0;
  const v = parseI64(usehash ? arg.subarray(1) : arg);
  if (v === null) return E_BIT_OFFSET;
  let off = BigInt(v);
  if (usehash) off = BigInt.asIntN(64, off * BigInt(bits));
  if (off < 0n || off >> 3n >= BigInt(maxBulk(c))) return E_BIT_OFFSET;
  bitOffsetOut = Number(off);
  return null;
}

function getbit(c: Client, argv: Buffer[]): void {
  const err = bitOffset(c, argv[2], false, 0);
  if (err !== null) return c.w.error(err);
  const bit = bitOffsetOut;
  const s = c.store;
  const e = s.findRead(c.db, argv[1]);
  if (e === 0) return c.w.int(0);
  if (s.type(e) !== T_STRING) return c.w.error(E_WRONGTYPE);
  const byte = Math.floor(bit / 8);
  if (byte >= s.strLen(e)) return c.w.int(0);
  c.w.int((s.u8[s.strOffset(e) + byte] >> (7 - (bit & 7))) & 1);
}

/**
 * lookupStringForBitCommand: the key as a raw string at least `bytes` long (zero padded),
 * created if missing; TTL kept. Returns the entry, or 0 after replying WRONGTYPE.
 */
/** Set by stringForBits: the key was created or grown (Redis's `dirty` of lookupStringForBitCommand). */
let bitsGrown = false;

function stringForBits(c: Client, key: Buffer, bytes: number): number {
  const s = c.store;
  const e = s.find(c.db, key);
  let old = 0;
  if (e !== 0) {
    if (s.type(e) !== T_STRING) {
      c.w.error(E_WRONGTYPE);
      return 0;
    }
    old = s.strLen(e);
    if (old >= bytes) {
      // Unshared in place (raw encoding), not yet a change: the caller counts one only when a
      // bit really changes, so WATCH and the dirty counter see no-op writes as Redis does.
      bitsGrown = false;
      s.setEncoding(e, E_RAW);
      return e;
    }
  }
  bitsGrown = true;
  const len = Math.max(old, bytes);
  const ne = s.writeString(c.db, key, len, E_RAW, 0, true, true);
  if (len > old) {
    const base = s.strOffset(ne);
    s.u8.fill(0, base + old, base + len);
  }
  return ne;
}

function setbit(c: Client, argv: Buffer[]): void {
  const err = bitOffset(c, argv[2], false, 0);
  if (err !== null) return c.w.error(err);
  const bit = bitOffsetOut;
  const on = parseI64(argv[3]);
  if (on === null || (on !== 0 && on !== 1)) return c.w.error(E_BIT_VALUE);
  const byte = Math.floor(bit / 8);
  const e = stringForBits(c, argv[1], byte + 1);
  if (e === 0) return;
  const s = c.store;
  const at = s.strOffset(e) + byte;
  const shift = 7 - (bit & 7);
  const prev = (s.u8[at] >> shift) & 1;
  if (on === 1) s.u8[at] |= 1 << shift;
  else s.u8[at] &= ~(1 << shift) & 0xff;
  if (!bitsGrown && prev !== on) s.modified(c.db, argv[1]);
  if (bitsGrown || prev !== on) notifyKeyspaceEvent(c, NOTIFY_STRING, 'setbit', argv[1], c.db);
  c.w.int(prev);
}

function bitcount(c: Client, argv: Buffer[]): void {
  const s = c.store;
  const e = s.findRead(c.db, argv[1]);
  if (e === 0) return c.w.int(0);
  if (s.type(e) !== T_STRING) return c.w.error(E_WRONGTYPE);
  const len = s.strLen(e);
  const p = s.strOffset(e);
  const u8 = s.u8;
  let start = 0;
  let end = len - 1;
  let firstMask = 0;
  let lastMask = 0;
  if (argv.length === 4 || argv.length === 5) {
    let totlen = len;
    const a = parseI64(argv[2]);
    if (a === null) return c.w.error(E_NOT_INT);
    const b = parseI64(argv[3]);
    if (b === null) return c.w.error(E_NOT_INT);
    start = Number(a);
    end = Number(b);
    if (start < 0 && end < 0 && start > end) return c.w.int(0);
    let isbit = false;
    if (argv.length === 5) {
      if (is(argv[4], 'bit')) isbit = true;
      else if (!is(argv[4], 'byte')) return c.w.error(E_SYNTAX);
    }
    if (isbit) totlen *= 8;
    if (start < 0) start = totlen + start;
    if (end < 0) end = totlen + end;
    if (start < 0) start = 0;
    if (end < 0) end = 0;
    if (end >= totlen) end = totlen - 1;
    if (isbit && start <= end) {
      firstMask = ~((1 << (8 - (start & 7))) - 1) & 0xff;
      lastMask = (1 << (7 - (end & 7))) - 1;
      start = Math.floor(start / 8);
      end = Math.floor(end / 8);
    }
  } else if (argv.length !== 2) {
    return c.w.error(E_SYNTAX);
  }
  if (start > end) return c.w.int(0);
  let n = popcount(u8, s.u32, p + start, p + end + 1);
  if (firstMask !== 0) n -= POPCOUNT[u8[p + start] & firstMask];
  if (lastMask !== 0) n -= POPCOUNT[u8[p + end] & lastMask];
  c.w.int(n);
}

function bitpos(c: Client, argv: Buffer[]): void {
  const bv = parseI64(argv[2]);
  if (bv === null) return c.w.error(E_NOT_INT);
  if (bv !== 0 && bv !== 1) return c.w.error('ERR The bit argument must be 1 or 0.');
  const bit = bv;
  const s = c.store;
  const e = s.findRead(c.db, argv[1]);
  if (e === 0) return c.w.int(bit ? -1 : 0);
  if (s.type(e) !== T_STRING) return c.w.error(E_WRONGTYPE);
  const len = s.strLen(e);
  const p = s.strOffset(e);
  const u8 = s.u8;
  // The range in bits [sb, eb], inclusive.
  let sb = 0;
  let eb = len * 8 - 1;
  let endGiven = false;
  if (argv.length >= 4 && argv.length <= 6) {
    let totlen = len;
    const a = parseI64(argv[3]);
    if (a === null) return c.w.error(E_NOT_INT);
    let start = Number(a);
    let isbit = false;
    if (argv.length === 6) {
      if (is(argv[5], 'bit')) isbit = true;
      else if (!is(argv[5], 'byte')) return c.w.error(E_SYNTAX);
    }
    let end: number;
    if (argv.length >= 5) {
      const b = parseI64(argv[4]);
      if (b === null) return c.w.error(E_NOT_INT);
      end = Number(b);
      endGiven = true;
    } else end = isbit ? totlen * 8 + 7 : totlen - 1;
    if (isbit) totlen *= 8;
    if (start < 0) start = totlen + start;
    if (end < 0) end = totlen + end;
    if (start < 0) start = 0;
    if (end < 0) end = 0;
    if (end >= totlen) end = totlen - 1;
    if (start > end) return c.w.int(-1);
    if (isbit) {
      sb = start;
      eb = end;
    } else {
      sb = start * 8;
      eb = end * 8 + 7;
    }
  } else if (argv.length !== 3) {
    return c.w.error(E_SYNTAX);
  }
  if (sb > eb) return c.w.int(-1);
  const skip = bit === 1 ? 0x00 : 0xff;
  let i = sb;
  while (i <= eb) {
    if ((i & 7) === 0 && i + 7 <= eb) {
      const byte = u8[p + Math.floor(i / 8)];
      if (byte === skip) {
        i += 8;
        continue;
      }
    }
    if (((u8[p + Math.floor(i / 8)] >> (7 - (i & 7))) & 1) === bit) return c.w.int(i);
    i++;
  }
  if (bit === 1 || endGiven) return c.w.int(-1);
  c.w.int(eb + 1);
}

let scratch = Buffer.allocUnsafe(4096);

function bitop(c: Client, argv: Buffer[]): void {
  const opname = argv[1];
  let op: number;
  if (is(opname, 'and')) op = 0;
  else if (is(opname, 'or')) op = 1;
  else if (is(opname, 'xor')) op = 2;
  else if (is(opname, 'not')) op = 3;
  else return c.w.error(E_SYNTAX);
  if (op === 3 && argv.length !== 4) return c.w.error('ERR BITOP NOT must be called with a single source key.');
  const s = c.store;
  const n = argv.length - 3;
  const offs: number[] = [];
  const lens: number[] = [];
  let maxlen = 0;
  for (let j = 0; j < n; j++) {
    const e = s.findRead(c.db, argv[j + 3]);
    if (e === 0) {
      offs.push(0);
      lens.push(0);
      continue;
    }
    if (s.type(e) !== T_STRING) return c.w.error(E_WRONGTYPE);
    offs.push(s.strOffset(e));
    const l = s.strLen(e);
    lens.push(l);
    if (l > maxlen) maxlen = l;
  }
  const dest = argv[2];
  if (maxlen === 0) {
    if (s.delete(c.db, dest)) notifyKeyspaceEvent(c, NOTIFY_GENERIC, 'del', dest, c.db);
    return c.w.int(0);
  }
  if (scratch.length < maxlen || scratch.length > 1 << 20) scratch = Buffer.allocUnsafe(Math.max(4096, maxlen));
  const res = scratch;
  const u8 = s.u8;
  if (op === 3) {
    const o = offs[0];
    for (let i = 0; i < maxlen; i++) res[i] = ~u8[o + i] & 0xff;
  } else {
    {
      const o = offs[0];
      const l = lens[0];
      for (let i = 0; i < maxlen; i++) res[i] = i < l ? u8[o + i] : 0;
    }
    for (let j = 1; j < n; j++) {
      const o = offs[j];
      const l = lens[j];
      if (op === 0) {
        for (let i = 0; i < maxlen; i++) res[i] &= i < l ? u8[o + i] : 0;
      } else if (op === 1) {
        for (let i = 0; i < l; i++) res[i] |= u8[o + i];
      } else {
        for (let i = 0; i < l; i++) res[i] ^= u8[o + i];
      }
    }
  }
  s.setString(c.db, dest, res.subarray(0, maxlen), E_RAW, 0, false);
  notifyKeyspaceEvent(c, NOTIFY_STRING, 'set', dest, c.db);
  c.w.int(maxlen);
}

// ---- BITFIELD ---------------------------------------------------------------------------------

const E_BF_TYPE = 'ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.';
const OP_GET = 0;
const OP_SET = 1;
const OP_INCRBY = 2;
const OW_WRAP = 0;
const OW_SAT = 1;
const OW_FAIL = 2;

interface BitfieldOp {
  op: number;
  offset: number;
  bits: number;
  sign: boolean;
  value: bigint;
  ow: number;
}

/** Read `bits` bits at bit `offset` (MSB first) from [p, p+len) zero-padded, as an unsigned. */
function readBits(u8: Uint8Array, p: number, len: number, offset: number, bits: number): bigint {
  const first = Math.floor(offset / 8);
  const last = Math.floor((offset + bits - 1) / 8);
  let v = 0n;
  for (let i = first; i <= last; i++) v = (v << 8n) | BigInt(i < len ? u8[p + i] : 0);
  const tail = (last + 1) * 8 - (offset + bits);
  return (v >> BigInt(tail)) & ((1n << BigInt(bits)) - 1n);
}

function writeBits(u8: Uint8Array, p: number, offset: number, bits: number, value: bigint): void {
  const u = BigInt.asUintN(64, value);
  const hi = Number(u >> 32n);
  const lo = Number(u & 0xffffffffn);
  for (let j = 0; j < bits; j++) {
    const pos = bits - 1 - j;
    const bv = pos >= 32 ? (hi >>> (pos - 32)) & 1 : (lo >>> pos) & 1;
    const bit = offset + j;
    const at = p + Math.floor(bit / 8);
    const mask = 1 << (7 - (bit & 7));
    if (bv) u8[at] |= mask;
    else u8[at] &= ~mask & 0xff;
  }
}

let bfLimit = 0n;

/** checkUnsignedBitfieldOverflow: 0, 1 or -1; the wrapped/saturated value in bfLimit. */
function unsignedOverflow(value: bigint, incr: bigint, bits: number, ow: number): number {
  const max = (1n << BigInt(bits)) - 1n;
  const maxincr = BigInt.asIntN(64, max - value);
  const minincr = BigInt.asIntN(64, -value);
  if (value > max || (incr > 0n && incr > maxincr)) {
    if (ow === OW_WRAP) bfLimit = BigInt.asUintN(bits, value + incr);
    else if (ow === OW_SAT) bfLimit = max;
    return 1;
  }
  if (incr < 0n && incr < minincr) {
    if (ow === OW_WRAP) {
      bfLimit = BigInt.asUintN(bits, value + incr);
      return 1;
    }
    if (ow === OW_SAT) bfLimit = 0n;
    return -1;
  }
  return 0;
}

/** checkSignedBitfieldOverflow. */
function signedOverflow(value: bigint, incr: bigint, bits: number, ow: number): number {
  const max = bits === 64 ? I64_MAX : (1n << BigInt(bits - 1)) - 1n;
  const min = -max - 1n;
  const maxincr = BigInt.asIntN(64, max - value);
  const minincr = BigInt.asIntN(64, min - value);
  const wrap = (): bigint => BigInt.asIntN(bits, BigInt.asUintN(64, value + incr));
  if (value > max || (bits !== 64 && incr > maxincr) || (value >= 0n && incr > 0n && incr > maxincr)) {
    if (ow === OW_WRAP) bfLimit = wrap();
    else if (ow === OW_SAT) bfLimit = max;
    return 1;
  }
  if (value < min || (bits !== 64 && incr < minincr) || (value < 0n && incr < 0n && incr < minincr)) {
    if (ow === OW_WRAP) {
      bfLimit = wrap();
      return 1;
    }
    if (ow === OW_SAT) bfLimit = min;
    return -1;
  }
  return 0;
}

function replyBig(c: Client, v: bigint): void {
  if (v >= -9007199254740991n && v <= 9007199254740991n) c.w.int(Number(v));
  else c.w.bigint(v);
}

function bitfieldGeneric(c: Client, argv: Buffer[], ro: boolean): void {
  const ops: BitfieldOp[] = [];
  let ow = OW_WRAP;
  let readonly = true;
  let highest = -1;
  for (let j = 2; j < argv.length; j++) {
    const rem = argv.length - j - 1;
    const sub = argv[j];
    let op: number;
    if (is(sub, 'get') && rem >= 2) op = OP_GET;
    else if (is(sub, 'set') && rem >= 3) op = OP_SET;
    else if (is(sub, 'incrby') && rem >= 3) op = OP_INCRBY;
    else if (is(sub, 'overflow') && rem >= 1) {
      const t = argv[++j];
      if (is(t, 'wrap')) ow = OW_WRAP;
      else if (is(t, 'sat')) ow = OW_SAT;
      else if (is(t, 'fail')) ow = OW_FAIL;
      else return c.w.error('ERR Invalid OVERFLOW type specified');
      continue;
    } else return c.w.error(E_SYNTAX);
    const ta = argv[j + 1];
    let sign: boolean;
    if (ta.length > 0 && ta[0] === 0x69) sign = true;
    else if (ta.length > 0 && ta[0] === 0x75) sign = false;
    else return c.w.error(E_BF_TYPE);
    let tl = 1;
    while (tl < ta.length && ta[tl] !== 0) tl++; // strlen(p+1)
    const bv = parseI64(ta.subarray(1, tl));
    if (bv === null || bv < 1 || (sign && bv > 64) || (!sign && bv > 63)) return c.w.error(E_BF_TYPE);
    const bits = Number(bv);
    const err = bitOffset(c, argv[j + 2], true, bits);
    if (err !== null) return c.w.error(err);
    const offset = bitOffsetOut;
    let value = 0n;
    if (op !== OP_GET) {
      readonly = false;
      if (highest < offset + bits - 1) highest = offset + bits - 1;
      const v = parseI64(argv[j + 3]);
      if (v === null) return c.w.error(E_NOT_INT);
      value = BigInt(v);
    }
    ops.push({ op, offset, bits, sign, value, ow });
    j += op === OP_GET ? 2 : 3;
  }
  const s = c.store;
  let e: number;
  if (readonly) {
    e = s.findRead(c.db, argv[1]);
    if (e !== 0 && s.type(e) !== T_STRING) return c.w.error(E_WRONGTYPE);
  } else {
    if (ro) return c.w.error('ERR BITFIELD_RO only supports the GET subcommand');
    e = stringForBits(c, argv[1], Math.floor(highest / 8) + 1);
    if (e === 0) return;
  }
  c.w.array(ops.length);
  const u8 = s.u8;
  const p = e === 0 ? 0 : s.strOffset(e);
  const len = e === 0 ? 0 : s.strLen(e);
  let changes = 0;
  for (const o of ops) {
    const raw = readBits(u8, p, len, o.offset, o.bits);
    if (o.op === OP_GET) {
      replyBig(c, o.sign ? BigInt.asIntN(o.bits, raw) : raw);
      continue;
    }
    let oldval: bigint;
    let newval: bigint;
    let retval: bigint;
    let overflow: number;
    if (o.sign) {
      oldval = BigInt.asIntN(o.bits, raw);
      if (o.op === OP_INCRBY) {
        overflow = signedOverflow(oldval, o.value, o.bits, o.ow);
        newval = overflow !== 0 ? bfLimit : oldval + o.value;
        retval = newval;
      } else {
        newval = o.value;
        overflow = signedOverflow(newval, 0n, o.bits, o.ow);
        if (overflow !== 0) newval = bfLimit;
        retval = oldval;
      }
    } else {
      oldval = raw;
      if (o.op === OP_INCRBY) {
        newval = BigInt.asUintN(64, oldval + o.value);
        overflow = unsignedOverflow(oldval, o.value, o.bits, o.ow);
        if (overflow !== 0) newval = bfLimit;
        retval = newval;
      } else {
        newval = BigInt.asUintN(64, o.value);
        overflow = unsignedOverflow(newval, 0n, o.bits, o.ow);
        if (overflow !== 0) newval = bfLimit;
        retval = oldval;
      }
    }
    if (overflow !== 0 && o.ow === OW_FAIL) {
      c.w.nil();
      continue;
    }
    replyBig(c, o.sign ? retval : BigInt.asIntN(64, retval));
    writeBits(u8, p, o.offset, o.bits, newval);
    if (bitsGrown || BigInt.asUintN(o.bits, newval) !== raw) changes++;
  }
  // Redis adds one dirty per changing op (every op on a created or grown key); a grown key was
  // already counted once when it was written.
  if (readonly) return;
  if (changes > 0) notifyKeyspaceEvent(c, NOTIFY_STRING, 'setbit', argv[1], c.db);
  if (bitsGrown) {
    if (changes > 1) s.modified(c.db, argv[1], changes - 1);
  } else if (changes > 0) s.modified(c.db, argv[1], changes);
}

function bitfield(c: Client, argv: Buffer[]): void {
  bitfieldGeneric(c, argv, false);
}

function bitfieldRo(c: Client, argv: Buffer[]): void {
  bitfieldGeneric(c, argv, true);
}

// ---- LCS ---------------------------------------------------------------------------------------

function lcs(c: Client, argv: Buffer[]): void {
  const s = c.store;
  const ea = s.findRead(c.db, argv[1]);
  const eb = s.findRead(c.db, argv[2]);
  if ((ea !== 0 && s.type(ea) !== T_STRING) || (eb !== 0 && s.type(eb) !== T_STRING)) {
    return c.w.error('ERR The specified keys must contain string values');
  }
  let getlen = false;
  let getidx = false;
  let withmatchlen = false;
  let minmatchlen = 0;
  for (let j = 3; j < argv.length; j++) {
    const opt = argv[j];
    const more = argv.length - 1 - j;
    if (is(opt, 'idx')) getidx = true;
    else if (is(opt, 'len')) getlen = true;
    else if (is(opt, 'withmatchlen')) withmatchlen = true;
    else if (is(opt, 'minmatchlen') && more > 0) {
      const v = parseI64(argv[j + 1]);
      if (v === null) return c.w.error(E_NOT_INT);
      minmatchlen = v < 0 ? 0 : Number(v);
      j++;
    } else return c.w.error(E_SYNTAX);
  }
  if (getidx && getlen) return c.w.error('ERR If you want both the length and indexes, please just use IDX.');
  const u8 = s.u8;
  const pa = ea === 0 ? 0 : s.strOffset(ea);
  const alen = ea === 0 ? 0 : s.strLen(ea);
  const pb = eb === 0 ? 0 : s.strOffset(eb);
  const blen = eb === 0 ? 0 : s.strLen(eb);
  const cells = (alen + 1) * (blen + 1);
  if (cells * 4 > maxBulk(c)) return c.w.error('ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len');
  let table: Uint32Array;
  try {
    table = new Uint32Array(cells);
  } catch {
    return c.w.error('ERR Insufficient memory, failed allocating transient memory for LCS');
  }
  const W = blen + 1;
  for (let i = 1; i <= alen; i++) {
    const ca = u8[pa + i - 1];
    const row = i * W;
    const prev = row - W;
    for (let j = 1; j <= blen; j++) {
      if (ca === u8[pb + j - 1]) table[row + j] = table[prev + j - 1] + 1;
      else {
        const l1 = table[prev + j];
        const l2 = table[row + j - 1];
        table[row + j] = l1 > l2 ? l1 : l2;
      }
    }
  }
  let idx = table[alen * W + blen];
  const total = idx;
  const computelcs = getidx || !getlen;
  const result = computelcs ? Buffer.allocUnsafe(idx) : null;
  // Ranges are collected first: the reply needs their count up front.
  const ranges: number[] = [];
  let aStart = alen;
  let aEnd = 0;
  let bStart = 0;
  let bEnd = 0;
  let i = alen;
  let j = blen;
  while (computelcs && i > 0 && j > 0) {
    let emit = false;
    if (u8[pa + i - 1] === u8[pb + j - 1]) {
      (result as Buffer)[idx - 1] = u8[pa + i - 1];
      if (aStart === alen) {
        aStart = i - 1;
        aEnd = i - 1;
        bStart = j - 1;
        bEnd = j - 1;
      } else if (aStart === i && bStart === j) {
        aStart--;
        bStart--;
      } else emit = true;
      if (aStart === 0 || bStart === 0) emit = true;
      idx--;
      i--;
      j--;
    } else {
      const l1 = table[(i - 1) * W + j];
      const l2 = table[i * W + j - 1];
      if (l1 > l2) i--;
      else j--;
      if (aStart !== alen) emit = true;
    }
    const matchLen = aEnd - aStart + 1;
    if (emit) {
      if (getidx && (minmatchlen === 0 || matchLen >= minmatchlen)) ranges.push(aStart, aEnd, bStart, bEnd, matchLen);
      aStart = alen;
    }
  }
  if (getidx) {
    c.w.map(2);
    c.w.bulkStr('matches');
    const n = ranges.length / 5;
    c.w.array(n);
    for (let k = 0; k < n; k++) {
      c.w.array(withmatchlen ? 3 : 2);
      c.w.array(2);
      c.w.int(ranges[k * 5]);
      c.w.int(ranges[k * 5 + 1]);
      c.w.array(2);
      c.w.int(ranges[k * 5 + 2]);
      c.w.int(ranges[k * 5 + 3]);
      if (withmatchlen) c.w.int(ranges[k * 5 + 4]);
    }
    c.w.bulkStr('len');
    c.w.int(total);
  } else if (getlen) c.w.int(total);
  else c.w.bulk(result as Buffer);
}

// ---- table -------------------------------------------------------------------------------------

const RW_FAST = { acl: ['write', 'string', 'fast'] };
const RW_SLOW = { acl: ['write', 'string', 'slow'] };

export const commands: CommandSpec[] = [
  def('get', 2, 'readonly fast', [1, 1, 1], 'string', 'Get the value of a key', get, { acl: ['read', 'string', 'fast'], complexity: 'O(1)' }),
  def('set', -3, 'write denyoom', [1, 1, 1], 'string', 'Set the string value of a key', set, { ...RW_SLOW, complexity: 'O(1)' }),
  def('setnx', 3, 'write denyoom fast', [1, 1, 1], 'string', 'Set the value of a key, only if the key does not exist', setnx, { ...RW_FAST, complexity: 'O(1)' }),
  def('setex', 4, 'write denyoom', [1, 1, 1], 'string', 'Set the value and expiration of a key', setex, { ...RW_SLOW, since: '2.0.0', complexity: 'O(1)' }),
  def('psetex', 4, 'write denyoom', [1, 1, 1], 'string', 'Set the value and expiration in milliseconds of a key', psetex, { ...RW_SLOW, since: '2.6.0', complexity: 'O(1)' }),
  def('getset', 3, 'write denyoom fast', [1, 1, 1], 'string', 'Set the string value of a key and return its old value', getset, { ...RW_FAST, complexity: 'O(1)' }),
  def('getdel', 2, 'write fast', [1, 1, 1], 'string', 'Get the value of a key and delete the key', getdel, { ...RW_FAST, since: '6.2.0', complexity: 'O(1)' }),
  def('getex', -2, 'write fast', [1, 1, 1], 'string', 'Get the value of a key and optionally set its expiration', getex, { ...RW_FAST, since: '6.2.0', complexity: 'O(1)' }),
  def('mget', -2, 'readonly fast', [1, -1, 1], 'string', 'Get the values of all the given keys', mget, { acl: ['read', 'string', 'fast'], complexity: 'O(N) where N is the number of keys to retrieve.' }),
  def('mset', -3, 'write denyoom', [1, -1, 2], 'string', 'Set multiple keys to multiple values', mset, { ...RW_SLOW, since: '1.0.1', complexity: 'O(N) where N is the number of keys to set.' }),
  def('msetnx', -3, 'write denyoom', [1, -1, 2], 'string', 'Set multiple keys to multiple values, only if none of the keys exist', msetnx, { ...RW_SLOW, since: '1.0.1', complexity: 'O(N) where N is the number of keys to set.' }),
  def('strlen', 2, 'readonly fast', [1, 1, 1], 'string', 'Get the length of the value stored in a key', strlen, { acl: ['read', 'string', 'fast'], since: '2.2.0', complexity: 'O(1)' }),
  def('append', 3, 'write denyoom fast', [1, 1, 1], 'string', 'Append a value to a key', append, { ...RW_FAST, since: '2.0.0', complexity: 'O(1). The amortized time complexity is O(1) assuming the appended value is small and the already present value is of any size, since the dynamic string library used by Redis will double the free space available on every reallocation.' }),
  def('incr', 2, 'write denyoom fast', [1, 1, 1], 'string', 'Increment the integer value of a key by one', incr, { ...RW_FAST, complexity: 'O(1)' }),
  def('decr', 2, 'write denyoom fast', [1, 1, 1], 'string', 'Decrement the integer value of a key by one', decr, { ...RW_FAST, complexity: 'O(1)' }),
  def('incrby', 3, 'write denyoom fast', [1, 1, 1], 'string', 'Increment the integer value of a key by the given amount', incrby, { ...RW_FAST, complexity: 'O(1)' }),
  def('decrby', 3, 'write denyoom fast', [1, 1, 1], 'string', 'Decrement the integer value of a key by the given number', decrby, { ...RW_FAST, complexity: 'O(1)' }),
  def('incrbyfloat', 3, 'write denyoom fast', [1, 1, 1], 'string', 'Increment the float value of a key by the given amount', incrbyfloat, { ...RW_FAST, since: '2.6.0', complexity: 'O(1)' }),
  def('getrange', 4, 'readonly', [1, 1, 1], 'string', 'Get a substring of the string stored at a key', getrange, { acl: ['read', 'string', 'slow'], since: '2.4.0', complexity: 'O(N) where N is the length of the returned string. The complexity is ultimately determined by the returned length, but because creating a substring from an existing string is very cheap, it can be considered O(1) for small strings.' }),
  def('setrange', 4, 'write denyoom', [1, 1, 1], 'string', 'Overwrite part of a string at key starting at the specified offset', setrange, { ...RW_SLOW, since: '2.2.0', complexity: 'O(1), not counting the time taken to copy the new string in place. Usually, this string is very small so the amortized complexity is O(1). Otherwise, complexity is O(M) with M being the length of the value argument.' }),
  def('substr', 4, 'readonly', [1, 1, 1], 'string', 'Get a substring of the string stored at a key', getrange, { acl: ['read', 'string', 'slow'], complexity: 'O(N) where N is the length of the returned string. The complexity is ultimately determined by the returned length, but because creating a substring from an existing string is very cheap, it can be considered O(1) for small strings.' }),
  def('getbit', 3, 'readonly fast', [1, 1, 1], 'bitmap', 'Returns the bit value at offset in the string value stored at key', getbit, { acl: ['read', 'bitmap', 'fast'], since: '2.2.0', complexity: 'O(1)' }),
  def('setbit', 4, 'write denyoom', [1, 1, 1], 'bitmap', 'Sets or clears the bit at offset in the string value stored at key', setbit, { acl: ['write', 'bitmap', 'slow'], since: '2.2.0', complexity: 'O(1)' }),
  def('bitcount', -2, 'readonly', [1, 1, 1], 'bitmap', 'Count set bits in a string', bitcount, { acl: ['read', 'bitmap', 'slow'], since: '2.6.0', complexity: 'O(N)' }),
  def('bitpos', -3, 'readonly', [1, 1, 1], 'bitmap', 'Find first bit set or clear in a string', bitpos, { acl: ['read', 'bitmap', 'slow'], since: '2.8.7', complexity: 'O(N)' }),
  def('bitop', -4, 'write denyoom', [2, -1, 1], 'bitmap', 'Perform bitwise operations between strings', bitop, { acl: ['write', 'bitmap', 'slow'], since: '2.6.0', complexity: 'O(N)' }),
  def('bitfield', -2, 'write denyoom', [1, 1, 1], 'bitmap', 'Perform arbitrary bitfield integer operations on strings', bitfield, { acl: ['write', 'bitmap', 'slow'], since: '3.2.0', complexity: 'O(1) for each subcommand specified' }),
  def('bitfield_ro', -2, 'readonly fast', [1, 1, 1], 'bitmap', 'Perform arbitrary bitfield integer operations on strings. Read-only variant of BITFIELD', bitfieldRo, { acl: ['read', 'bitmap', 'fast'], since: '6.0.0', complexity: 'O(1) for each subcommand specified' }),
  def('lcs', -3, 'readonly', [1, 2, 1], 'string', 'Find longest common substring', lcs, { acl: ['read', 'string', 'slow'], since: '7.0.0', complexity: 'O(N*M) where N and M are the lengths of s1 and s2, respectively' }),
];

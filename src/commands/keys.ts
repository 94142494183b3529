// Generic key commands (db.c, expire.c, object.c): DEL, EXISTS, UNLINK, TYPE, RENAME, COPY, MOVE,
// SWAPDB, KEYS, SCAN, RANDOMKEY, TOUCH, DBSIZE, FLUSHDB/FLUSHALL, OBJECT, the EXPIRE family, TTL...
//
// Keyless walkers (KEYS, SCAN, RANDOMKEY) lock one slot at a time; FLUSHDB/FLUSHALL/SWAPDB lock
// every slot so they are atomic against every other command.
import { trackingFlush } from '../server/tracking';
import type { CommandSpec } from './types';
import type { Client } from '../server/client';
import type { Store } from '../store/keyspace';
import { signalSwappedDbs } from '../server/blocking';
import { M_LAZYFREE_PENDING } from '../server/context';
import { def } from './def';
import { replyLater } from './deferred';
import { E_DB_INDEX, E_NOT_INT, E_NO_KEY, E_SYNTAX, I64_MAX, is, parseI64, parseIntArg } from './args';
import { E_INT, ENCODING_NAMES, MISC_SNAPSHOT, MISC_SNAPSHOT_KILL, TYPE_NAMES, T_STRING, parseCanonicalInt } from '../store/keyspace';
import { NSLOTS } from '../store/crc16';
import { globMatch } from '../config/glob';
import { P_DEL, P_PEXPIREAT, P_UNLINK, msArg } from './propagation';
import { notifyKeyspaceEvent, NOTIFY_GENERIC } from '../server/notify';

const E_SAME_OBJECT = 'ERR source and destination objects are the same';
const INT_MAX = 2147483647;
const INT_MIN = -2147483648;

// ---- helpers ------------------------------------------------------------------------------


/** Redis's getIntFromObjectOrReply: a 32-bit signed integer, or null. */
function parseInt32(b: Buffer): number | null {
  const v = parseIntArg(b);
  if (v === null || v > INT_MAX || v < INT_MIN) return null;
  return v;
}

function maxmemoryPolicy(c: Client): string {
  return c.srv.config.str('maxmemory-policy');
}

function isLfuPolicy(c: Client): boolean {
  const p = maxmemoryPolicy(c);
  return p === 'allkeys-lfu' || p === 'volatile-lfu';
}

// ---- DEL, UNLINK, EXISTS, TYPE, TOUCH, DBSIZE ----------------------------------------------

function del(c: Client, argv: Buffer[]): void {
  let n = 0;
  for (let i = 1; i < argv.length; i++) {
    if (c.store.delete(c.db, argv[i])) {
      notifyKeyspaceEvent(c, NOTIFY_GENERIC, 'del', argv[i], c.db);
      n++;
    }
  }
  c.w.int(n);
}

/** UNLINK: keys go at once; collections are freed by the main thread, off every command path. */
function unlink(c: Client, argv: Buffer[]): void {
  let n = 0;
  const detached = (type: number, enc: number, obj: number): void => {
    Atomics.add(c.store.i32, c.store.L.misc + M_LAZYFREE_PENDING, 1);
    c.srv.toMain({ type: 'lazyfree', objType: type, enc, obj });
  };
  for (let i = 1; i < argv.length; i++) {
    if (c.store.unlinkKey(c.db, argv[i], detached)) {
      notifyKeyspaceEvent(c, NOTIFY_GENERIC, 'del', argv[i], c.db);
      n++;
    }
  }
  c.w.int(n);
}

function exists(c: Client, argv: Buffer[]): void {
  let n = 0;
  // LOOKUP_NOTOUCH, as Redis: EXISTS does not change a key's idle time.
  for (let i = 1; i < argv.length; i++) if (c.store.findReadNoTouch(c.db, argv[i]) !== 0) n++;
  c.w.int(n);
}

function touch(c: Client, argv: Buffer[]): void {
  let n = 0;
  for (let i = 1; i < argv.length; i++) if (c.store.findRead(c.db, argv[i]) !== 0) n++;
  c.w.int(n);
}

function type(c: Client, argv: Buffer[]): void {
  const s = c.store;
  const e = s.findReadNoTouch(c.db, argv[1]);
  c.w.simple(e === 0 ? 'none' : TYPE_NAMES[s.type(e)]);
}

function dbsize(c: Client): void {
  c.w.int(c.store.dbSize(c.db));
}

// ---- RENAME, RENAMENX, COPY, MOVE, SWAPDB --------------------------------------------------

function renameGeneric(c: Client, argv: Buffer[], nx: boolean): void {
  const s = c.store;
  const src = argv[1];
  const dst = argv[2];
  const e = s.find(c.db, src);
  if (e === 0) return c.w.error(E_NO_KEY);
  if (src.equals(dst)) {
    if (nx) c.w.int(0);
    else c.w.ok();
    return;
  }
  if (s.find(c.db, dst) !== 0) {
    if (nx) return c.w.int(0);
    s.delete(c.db, dst);
  }
  s.moveKey(c.db, src, c.db, dst);
  notifyKeyspaceEvent(c, NOTIFY_GENERIC, 'rename_from', src, c.db);
  notifyKeyspaceEvent(c, NOTIFY_GENERIC, 'rename_to', dst, c.db);
  if (nx) c.w.int(1);
  else c.w.ok();
}

function rename(c: Client, argv: Buffer[]): void {
  renameGeneric(c, argv, false);
}

function renamenx(c: Client, argv: Buffer[]): void {
  renameGeneric(c, argv, true);
}

function copy(c: Client, argv: Buffer[]): void {
  const s = c.store;
  let dstDb = c.db;
  let replace = false;
  for (let j = 3; j < argv.length; j++) {
    if (is(argv[j], 'replace')) replace = true;
    else if (is(argv[j], 'db') && j + 1 < argv.length) {
      const id = parseInt32(argv[j + 1]);
      if (id === null) return c.w.error(E_NOT_INT);
      if (id < 0 || id >= s.dbs) return c.w.error(E_DB_INDEX);
      dstDb = id;
      j++;
    } else return c.w.error(E_SYNTAX);
  }
  const key = argv[1];
  const newkey = argv[2];
  if (dstDb === c.db && key.equals(newkey)) return c.w.error(E_SAME_OBJECT);
  const e = s.findRead(c.db, key);
  if (e === 0) return c.w.int(0);
  if (s.find(dstDb, newkey) !== 0) {
    if (!replace) return c.w.int(0);
    s.delete(dstDb, newkey);
  }
  // The delete cannot have moved e: entries stay where they are until freed.
  s.copyEntry(e, dstDb, newkey);
  notifyKeyspaceEvent(c, NOTIFY_GENERIC, 'copy_to', newkey, dstDb);
  c.w.int(1);
}

function move(c: Client, argv: Buffer[]): void {
  const s = c.store;
  const id = parseInt32(argv[2]);
  if (id === null) return c.w.error(E_NOT_INT);
  if (id < 0 || id >= s.dbs) return c.w.error(E_DB_INDEX);
  if (id === c.db) return c.w.error(E_SAME_OBJECT);
  const key = argv[1];
  if (s.find(c.db, key) === 0) return c.w.int(0);
  if (s.find(id, key) !== 0) return c.w.int(0);
  s.moveKey(c.db, key, id, key);
  notifyKeyspaceEvent(c, NOTIFY_GENERIC, 'move_from', key, c.db);
  notifyKeyspaceEvent(c, NOTIFY_GENERIC, 'move_to', key, id);
  c.w.int(1);
}

function swapdb(c: Client, argv: Buffer[]): void {
  const s = c.store;
  const a = parseInt32(argv[1]);
  if (a === null) return c.w.error('ERR invalid first DB index');
  const b = parseInt32(argv[2]);
  if (b === null) return c.w.error('ERR invalid second DB index');
  if (a < 0 || a >= s.dbs || b < 0 || b >= s.dbs) return c.w.error(E_DB_INDEX);
  if (a !== b) {
    s.swapDb(a, b);
    signalSwappedDbs(c, a, b);
  }
  c.w.ok();
}

// ---- KEYS, SCAN, RANDOMKEY -----------------------------------------------------------------

function keys(c: Client, argv: Buffer[]): void {
  const s = c.store;
  const db = c.db;
  const pat = argv[1];
  const all = pat.length === 1 && pat[0] === 0x2a;
  const out: Buffer[] = [];
  const visit = (e: number): void => {
    const k = s.keyView(e);
    if (all || globMatch(pat, k)) out.push(Buffer.from(k));
  };
  for (let slot = s.nextTableSlot(db, 0); slot < NSLOTS; slot = s.nextTableSlot(db, slot + 1)) {
    c.srv.coord.lockWalk(slot);
    try {
      s.forEachInSlot(db, slot, visit);
    } finally {
      c.srv.coord.unlockWalk(slot);
    }
  }
  c.w.array(out.length);
  // Stops once the client is over its output limit (it is being closed), as Redis does.
  for (let i = 0; i < out.length && !c.w.overLimit; i++) c.w.bulk(out[i]);
}

const TWO64 = 1n << 64n;

/** Redis's parseScanCursorOrReply (strtoul): an unsigned 64-bit cursor, or null. */
function parseCursor(b: Buffer): bigint | null {
  const n = b.length;
  if (n === 0) return 0n;
  const c0 = b[0];
  if (c0 === 0x20 || (c0 >= 0x09 && c0 <= 0x0d)) return null;
  let i = 0;
  let neg = false;
  if (c0 === 0x2b || c0 === 0x2d) {
    neg = c0 === 0x2d;
    i = 1;
  }
  if (i === n) return null;
  let v = 0n;
  let small = 0;
  for (let j = i; j < n; j++) {
    const d = b[j] - 0x30;
    if (d < 0 || d > 9) return null;
    if (j - i < 15) small = small * 10 + d;
    else {
      if (j - i === 15) v = BigInt(small);
      v = v * 10n + BigInt(d);
    }
  }
  if (n - i <= 15) v = BigInt(small);
  if (v >= TWO64) return null;
  if (neg && v !== 0n) v = TWO64 - v;
  return v;
}

function scan(c: Client, argv: Buffer[]): void {
  const s = c.store;
  const cur = parseCursor(argv[1]);
  if (cur === null) return c.w.error('ERR invalid cursor');
  let count = 10;
  let pat: Buffer | null = null;
  let typeName: string | null = null;
  for (let i = 2; i < argv.length; ) {
    const left = argv.length - i;
    if (is(argv[i], 'count') && left >= 2) {
      const v = parseI64(argv[i + 1]);
      if (v === null) return c.w.error(E_NOT_INT);
      if (v < 1) return c.w.error(E_SYNTAX);
      count = typeof v === 'bigint' ? Number.MAX_SAFE_INTEGER : v;
      i += 2;
    } else if (is(argv[i], 'match') && left >= 2) {
      const p = argv[i + 1];
      pat = p.length === 1 && p[0] === 0x2a ? null : p;
      i += 2;
    } else if (is(argv[i], 'type') && left >= 2) {
      typeName = argv[i + 1].toString('latin1').toLowerCase();
      i += 2;
    } else return c.w.error(E_SYNTAX);
  }
  const db = c.db;
  let slot = Number(cur % BigInt(NSLOTS));
  let bc = Number((cur / BigInt(NSLOTS)) & 0xffffffffn);
  const out: Buffer[] = [];
  let visited = 0;
  const visit = (e: number): void => {
    visited++;
    const k = s.keyView(e);
    if (pat !== null && !globMatch(pat, k)) return;
    if (typeName !== null && TYPE_NAMES[s.type(e)] !== typeName) return;
    out.push(Buffer.from(k));
  };
  // Expired keys the scan passes are deleted (and their DEL propagated) as Redis's
  // scanGenericCommand does with expireIfNeeded, after the walk of their slot.
  const expired: Buffer[] = [];
  const onExpired = (e: number): void => {
    if (s.expireOnAccess) expired.push(Buffer.from(s.keyView(e)));
  };
  let iterations = count * 10;
  while (slot < NSLOTS) {
    if (s.slotIsEmpty(db, slot)) {
      slot = s.nextTableSlot(db, slot);
      bc = 0;
      continue;
    }
    c.srv.coord.lockWalk(slot);
    try {
      do {
        bc = s.scanSlot(db, slot, bc, visit, onExpired);
      } while (bc !== 0 && --iterations > 0 && visited < count);
      for (let i = 0; i < expired.length; i++) s.find(db, expired[i]);
      expired.length = 0;
    } finally {
      c.srv.coord.unlockWalk(slot);
    }
    if (bc === 0) slot++;
    if (visited >= count || iterations <= 0) break;
  }
  c.w.array(2);
  if (slot >= NSLOTS) c.w.bulkStr('0');
  else c.w.bulkStr(String(bc * NSLOTS + slot));
  c.w.array(out.length);
  for (let i = 0; i < out.length; i++) c.w.bulk(out[i]);
}

function randomkey(c: Client): void {
  const s = c.store;
  const db = c.db;
  for (let tries = 0; tries < 100; tries++) {
    const total = s.dbSize(db);
    if (total <= 0) break;
    // A random slot that holds keys, by probing (O(1) while a fair share of slots hold keys: at
    // 10k keys ~46% do, and walking the 16384 counts cost ~130 us); when few do, a slot weighted
    // by its key count, walking the slots that have a table (counts read without locks: a hint,
    // rechecked under the lock).
    let slot = -1;
    for (let r = 0; r < 64 && slot < 0 && total >= 2048; r++) {
      const i = Math.floor(Math.random() * NSLOTS);
      if (!s.slotIsEmpty(db, i) && s.slotKeyCount(db, i) > 0) slot = i;
    }
    let pick = Math.floor(Math.random() * total);
    let last = -1;
    for (let i = s.nextTableSlot(db, 0); i < NSLOTS && slot < 0; i = s.nextTableSlot(db, i + 1)) {
      const n = s.slotKeyCount(db, i);
      if (n === 0) continue;
      last = i;
      if (pick < n) {
        slot = i;
        break;
      }
      pick -= n;
    }
    if (slot < 0) slot = last;
    if (slot < 0) break;
    let key: Buffer | null = null;
    c.srv.coord.lockWalk(slot);
    try {
      const e = s.randomInSlot(db, slot);
      if (e !== 0) key = s.keyCopy(e);
      else if (s.expireOnAccess) s.expireSlot(slot, 20); // it picked an expired key: reclaim some
    } finally {
      c.srv.coord.unlockWalk(slot);
    }
    if (key !== null) return c.w.bulk(key);
  }
  c.w.nil();
}

// ---- FLUSHDB, FLUSHALL ----------------------------------------------------------------------

/**
 * ASYNC / SYNC / nothing (lazyfree-lazy-user-flush decides): 1 async, 0 sync, -1 after replying
 * with a syntax error.
 */
function flushMode(c: Client, argv: Buffer[]): number {
  if (argv.length === 1) return c.srv.config.bool('lazyfree-lazy-user-flush') ? 1 : 0;
  if (argv.length === 2 && is(argv[1], 'sync')) return 0;
  if (argv.length === 2 && is(argv[1], 'async')) return 1;
  c.w.error(E_SYNTAX);
  return -1;
}

/**
 * Empty one db; the caller holds every slot lock. Sync frees here; async takes each slot's table
 * out (pushed on `detached`) for the main thread to free, so a big flush returns at once.
 */
function flushDb(s: Store, db: number, detached: number[] | null): number {
  if (s.dbSize(db) === 0 && s.volatileCount(db) === 0) return 0;
  let n = 0;
  for (let slot = 0; slot < NSLOTS; slot++) {
    if (s.slotIsEmpty(db, slot)) continue;
    if (detached === null) {
      n += s.flushSlot(db, slot);
      continue;
    }
    const t = s.detachSlot(db, slot);
    if (t === 0) continue;
    detached.push(t);
    n += s.detachedKeys;
  }
  s.bumpEpoch(db);
  return n;
}

/** Hand the detached tables of an async flush to the main thread (lazyfree_pending_objects counts their keys). */
function freeDetached(c: Client, tables: number[], keys: number): void {
  if (tables.length === 0) return;
  Atomics.add(c.store.i32, c.store.L.misc + M_LAZYFREE_PENDING, keys);
  c.srv.toMain({ type: 'lazyfree-tables', tables, keys });
}

function flushdb(c: Client, argv: Buffer[]): void {
  const mode = flushMode(c, argv);
  if (mode < 0) return;
  const s = c.store;
  const detached = mode === 1 ? [] : null;
  const n = flushDb(s, c.db, detached);
  // Client-side caching keys are not per db: every tracking client hears "invalidate nil".
  trackingFlush();
  s.changedAll(c.db, n + 1);
  if (detached !== null) freeDetached(c, detached, n);
  // Blocked XREADGROUP readers of a flushed stream answer -UNBLOCKED (the others keep waiting).
  signalSwappedDbs(c, c.db, c.db);
  c.w.ok();
}

function flushall(c: Client, argv: Buffer[]): void {
  const mode = flushMode(c, argv);
  if (mode < 0) return;
  const s = c.store;
  const detached = mode === 1 ? [] : null;
  // A running RDB save or transfer is stopped by this flush itself (see MISC_SNAPSHOT_KILL).
  if (Atomics.load(s.i32, s.L.misc + MISC_SNAPSHOT) !== 0) Atomics.store(s.i32, s.L.misc + MISC_SNAPSHOT_KILL, 1);
  let n = 0;
  for (let db = 0; db < s.dbs; db++) n += flushDb(s, db, detached);
  trackingFlush();
  s.changedAll(-1, n + 1);
  if (detached !== null) freeDetached(c, detached, n);
  for (let db = 0; db < s.dbs; db += 2) signalSwappedDbs(c, db, Math.min(db + 1, s.dbs - 1));
  // With save rules, the emptied dataset is saved at once (flushAllDataAndResetRDB), so the
  // changes counter starts from zero; the reply follows the save (EXEC cannot wait for it).
  // A running RDB save or diskless sync was stopped above (its data is gone now), as Redis's killRDBChild.
  if (c.srv.config.str('save') !== '') {
    if (c.inExec) void c.srv.askMain('flushall-save', []);
    else return replyLater(c, c.srv.askMain('flushall-save', []).catch(() => null), (cl) => cl.w.ok());
  }
  c.w.ok();
}

// ---- OBJECT ---------------------------------------------------------------------------------

const OBJ_SHARED_INTEGERS = 10000;
const OBJ_SHARED_REFCOUNT = 2147483647;

function objectParent(c: Client): void {
  c.w.error("ERR wrong number of arguments for 'object' command");
}

function objectEncoding(c: Client, argv: Buffer[]): void {
  const s = c.store;
  const e = s.findReadNoTouch(c.db, argv[2], true);
  if (e === 0) return c.w.nil();
  c.w.bulkStr(ENCODING_NAMES[s.encoding(e)]);
}

function objectRefcount(c: Client, argv: Buffer[]): void {
  const s = c.store;
  const e = s.findReadNoTouch(c.db, argv[2], true);
  if (e === 0) return c.w.nil();
  // Small integers are Redis's shared objects (unless an LRU/LFU maxmemory policy forbids them).
  if (s.type(e) === T_STRING && s.encoding(e) === E_INT) {
    const p = maxmemoryPolicy(c);
    const noShared = c.srv.config.num('maxmemory') > 0 && (p.endsWith('-lru') || p.endsWith('-lfu'));
    const off = s.strOffset(e);
    const v = parseCanonicalInt(s.u8, off, off + s.strLen(e));
    if (!noShared && v >= 0 && v < OBJ_SHARED_INTEGERS) return c.w.int(OBJ_SHARED_REFCOUNT);
  }
  c.w.int(1);
}

function objectIdletime(c: Client, argv: Buffer[]): void {
  const s = c.store;
  const e = s.findReadNoTouch(c.db, argv[2], true);
  if (e === 0) return c.w.nil();
  if (isLfuPolicy(c)) {
    return c.w.error('ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.');
  }
  const idle = Math.floor(s.now / 1000) - s.lru(e);
  c.w.int(idle > 0 ? idle : 0);
}

function objectFreq(c: Client, argv: Buffer[]): void {
  const s = c.store;
  const e = s.findReadNoTouch(c.db, argv[2], true);
  if (e === 0) return c.w.nil();
  if (!isLfuPolicy(c)) {
    return c.w.error('ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.');
  }
  c.w.int(s.lfuFreq(e));
}

const OBJECT_HELP = [
  'OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'ENCODING <key>',
  '    Return the kind of internal representation used in order to store the value',
  '    associated with a <key>.',
  'FREQ <key>',
  '    Return the access frequency index of the <key>. The returned integer is',
  '    proportional to the logarithm of the recent access frequency of the key.',
  'IDLETIME <key>',
  '    Return the idle time of the <key>, that is the approximated number of',
  '    seconds elapsed since the last access to the key.',
  'REFCOUNT <key>',
  '    Return the number of references of the value associated with the specified',
  '    <key>.',
  'HELP',
  '    Prints this help.',
];

function objectHelp(c: Client): void {
  c.w.array(OBJECT_HELP.length);
  for (const line of OBJECT_HELP) c.w.simple(line);
}

// ---- EXPIRE family, TTL, PERSIST ------------------------------------------------------------

const EX_NX = 1;
const EX_XX = 2;
const EX_GT = 4;
const EX_LT = 8;
/** LLONG_MAX / 1000 (and -LLONG_MIN / 1000 truncated): exact only as a BigInt, beyond 2^53. */
const LL_MAX_DIV_1000 = 9223372036854775n;

/**
 * expireGenericCommand: basetime 0 (EXPIREAT, PEXPIREAT) or now; seconds or milliseconds.
 * `name` is the command name used in "invalid expire time in '...' command".
 */
function expireGeneric(c: Client, argv: Buffer[], relative: boolean, seconds: boolean, name: string): void {
  const s = c.store;
  let flags = 0;
  for (let j = 3; j < argv.length; j++) {
    const o = argv[j];
    if (is(o, 'nx')) flags |= EX_NX;
    else if (is(o, 'xx')) flags |= EX_XX;
    else if (is(o, 'gt')) flags |= EX_GT;
    else if (is(o, 'lt')) flags |= EX_LT;
    else return c.w.error(`ERR Unsupported option ${o.toString()}`);
  }
  if (flags & EX_NX && flags & (EX_XX | EX_GT | EX_LT)) {
    return c.w.error('ERR NX and XX, GT or LT options at the same time are not compatible');
  }
  if (flags & EX_GT && flags & EX_LT) return c.w.error('ERR GT and LT options at the same time are not compatible');
  const v = parseI64(argv[2]);
  if (v === null) return c.w.error(E_NOT_INT);
  const base = relative ? s.now : 0;
  let when: number;
  if (typeof v === 'number' && v <= 1e12 && v >= -1e12) {
    when = (seconds ? v * 1000 : v) + base;
  } else {
    // Exact 64-bit overflow checks, as Redis does them.
    let w = BigInt(v);
    if (seconds) {
      if (w > LL_MAX_DIV_1000 || w < -LL_MAX_DIV_1000) return c.w.error(`ERR invalid expire time in '${name}' command`);
      w *= 1000n;
    }
    const b = BigInt(base);
    if (w > I64_MAX - b) return c.w.error(`ERR invalid expire time in '${name}' command`);
    w += b;
    when = Number(w);
  }
  const key = argv[1];
  const e = s.find(c.db, key);
  if (e === 0) return c.w.int(0);
  if (flags !== 0) {
    const at = s.expireAt(e);
    const current = at === 0 ? -1 : at;
    if (flags & EX_NX && current !== -1) return c.w.int(0);
    if (flags & EX_XX && current === -1) return c.w.int(0);
    if (flags & EX_GT && (when <= current || current === -1)) return c.w.int(0);
    if (flags & EX_LT && current !== -1 && when >= current) return c.w.int(0);
  }
  const p = c.srv.prop;
  if (when <= s.now && s.expireOnAccess) {
    s.delete(c.db, key);
    // Propagated as DEL (UNLINK under lazyfree-lazy-expire): a replica must not keep it.
    if (p.on()) p.propagateAs([c.srv.config.str('lazyfree-lazy-expire') === 'yes' ? P_UNLINK : P_DEL, key]);
    notifyKeyspaceEvent(c, NOTIFY_GENERIC, 'del', key, c.db);
    return c.w.int(1);
  }
  s.setExpire(c.db, key, e, when === 0 ? -1 : when);
  // Propagated as PEXPIREAT key <absolute ms> [flags]: replayed later, it must mean the same time.
  if (p.on()) {
    const out = argv.slice();
    out[0] = P_PEXPIREAT;
    out[2] = msArg(when);
    p.propagateAs(out);
  }
  // Redis replies before it notifies here (a RESP3 self-subscriber sees the reply first).
  c.w.int(1);
  notifyKeyspaceEvent(c, NOTIFY_GENERIC, 'expire', key, c.db);
}

function expire(c: Client, argv: Buffer[]): void {
  expireGeneric(c, argv, true, true, 'expire');
}

function pexpire(c: Client, argv: Buffer[]): void {
  expireGeneric(c, argv, true, false, 'pexpire');
}

function expireat(c: Client, argv: Buffer[]): void {
  expireGeneric(c, argv, false, true, 'expireat');
}

function pexpireat(c: Client, argv: Buffer[]): void {
  expireGeneric(c, argv, false, false, 'pexpireat');
}

function ttlGeneric(c: Client, argv: Buffer[], ms: boolean, abs: boolean): void {
  const s = c.store;
  const e = s.findReadNoTouch(c.db, argv[1]);
  if (e === 0) return c.w.int(-2);
  const at = s.expireAt(e);
  if (at === 0) return c.w.int(-1);
  if (at > Number.MAX_SAFE_INTEGER) {
    // Beyond 2^53 ms the f64 holds the nearest double: its shortest decimal form is the integer
    // that was given (e.g. 9223372036854775000), so compute with that, exactly, as Redis does.
    let b = BigInt(String(at));
    if (b > I64_MAX) b = I64_MAX;
    if (!abs) b -= BigInt(s.now);
    return c.w.bigint(ms ? b : (b + 500n) / 1000n);
  }
  let t = abs ? at : at - s.now;
  if (t < 0) t = 0;
  c.w.int(ms ? t : Math.floor((t + 500) / 1000));
}

function ttl(c: Client, argv: Buffer[]): void {
  ttlGeneric(c, argv, false, false);
}

function pttl(c: Client, argv: Buffer[]): void {
  ttlGeneric(c, argv, true, false);
}

function expiretime(c: Client, argv: Buffer[]): void {
  ttlGeneric(c, argv, false, true);
}

function pexpiretime(c: Client, argv: Buffer[]): void {
  ttlGeneric(c, argv, true, true);
}

function persist(c: Client, argv: Buffer[]): void {
  const s = c.store;
  const e = s.find(c.db, argv[1]);
  if (e === 0 || s.expireAt(e) === 0) return c.w.int(0);
  s.setExpire(c.db, argv[1], e, 0);
  notifyKeyspaceEvent(c, NOTIFY_GENERIC, 'persist', argv[1], c.db);
  c.w.int(1);
}

// ---- table ----------------------------------------------------------------------------------

const KS_W_SLOW = ['keyspace', 'write', 'slow'];
const KS_W_FAST = ['keyspace', 'write', 'fast'];
const KS_R_FAST = ['keyspace', 'read', 'fast'];
const KS_R_SLOW = ['keyspace', 'read', 'slow'];

const objectSubcommands: CommandSpec[] = [
  def('encoding', 3, 'readonly', [2, 2, 1], 'generic', 'Inspect the internal encoding of a Redis object', objectEncoding, { since: '2.2.3', complexity: 'O(1)', acl: KS_R_SLOW }),
  def('idletime', 3, 'readonly', [2, 2, 1], 'generic', 'Get the time since a Redis object was last accessed', objectIdletime, { since: '2.2.3', complexity: 'O(1)', acl: KS_R_SLOW }),
  def('help', 2, 'loading stale', [0, 0, 0], 'generic', 'Show helpful text about the different subcommands', objectHelp, { since: '6.2.0', complexity: 'O(1)', lock: 'none', acl: ['keyspace', 'slow'] }),
  def('freq', 3, 'readonly', [2, 2, 1], 'generic', 'Get the logarithmic access frequency counter of a Redis object', objectFreq, { since: '4.0.0', complexity: 'O(1)', acl: KS_R_SLOW }),
  def('refcount', 3, 'readonly', [2, 2, 1], 'generic', 'Get the number of references to the value of the key', objectRefcount, { since: '2.2.3', complexity: 'O(1)', acl: KS_R_SLOW }),
];

export const commands: CommandSpec[] = [
  def('del', -2, 'write', [1, -1, 1], 'generic', 'Delete a key', del, { complexity: 'O(N) where N is the number of keys that will be removed. When a key to remove holds a value other than a string, the individual complexity for this key is O(M) where M is the number of elements in the list, set, sorted set or hash. Removing a single key that holds a string value is O(1).', acl: KS_W_SLOW }),
  def('unlink', -2, 'write fast', [1, -1, 1], 'generic', 'Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non blocking.', unlink, { complexity: 'O(1) for each key removed regardless of its size. Then the command does O(N) work in a different thread in order to reclaim memory, where N is the number of allocations the deleted objects where composed of.', since: '4.0.0', acl: KS_W_FAST }),
  def('exists', -2, 'readonly fast', [1, -1, 1], 'generic', 'Determine if a key exists', exists, { complexity: 'O(N) where N is the number of keys to check.', acl: KS_R_FAST }),
  def('type', 2, 'readonly fast', [1, 1, 1], 'generic', 'Determine the type stored at key', type, { complexity: 'O(1)', acl: KS_R_FAST }),
  def('touch', -2, 'readonly fast', [1, -1, 1], 'generic', 'Alters the last access time of a key(s). Returns the number of existing keys specified.', touch, { complexity: 'O(N) where N is the number of keys that will be touched.', since: '3.2.1', acl: KS_R_FAST }),
  def('rename', 3, 'write', [1, 2, 1], 'generic', 'Rename a key', rename, { complexity: 'O(1)', acl: KS_W_SLOW }),
  def('renamenx', 3, 'write fast', [1, 2, 1], 'generic', 'Rename a key, only if the new key does not exist', renamenx, { complexity: 'O(1)', acl: KS_W_FAST }),
  def('copy', -3, 'write denyoom', [1, 2, 1], 'generic', 'Copy a key', copy, { complexity: 'O(N) worst case for collections, where N is the number of nested items. O(1) for string values.', since: '6.2.0', acl: KS_W_SLOW }),
  def('move', 3, 'write fast', [1, 1, 1], 'generic', 'Move a key to another database', move, { complexity: 'O(1)', acl: KS_W_FAST }),
  def('swapdb', 3, 'write fast', [0, 0, 0], 'server', 'Swaps two Redis databases', swapdb, { complexity: 'O(N) where N is the count of clients watching or blocking on keys from both databases.', since: '4.0.0', lock: 'all', acl: ['keyspace', 'write', 'fast', 'dangerous'] }),
  def('keys', 2, 'readonly', [0, 0, 0], 'generic', 'Find all keys matching the given pattern', keys, { complexity: 'O(N) with N being the number of keys in the database, under the assumption that the key names in the database and the given pattern have limited length.', lock: 'none', walks: true, acl: ['keyspace', 'read', 'slow', 'dangerous'] }),
  def('scan', -2, 'readonly', [0, 0, 0], 'generic', 'Incrementally iterate the keys space', scan, { complexity: 'O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.', since: '2.8.0', lock: 'none', walks: true, acl: KS_R_SLOW }),
  def('randomkey', 1, 'readonly', [0, 0, 0], 'generic', 'Return a random key from the keyspace', randomkey, { complexity: 'O(1)', lock: 'none', walks: true, acl: KS_R_SLOW }),
  def('dbsize', 1, 'readonly fast', [0, 0, 0], 'server', 'Return the number of keys in the selected database', dbsize, { complexity: 'O(1)', lock: 'none', walks: true, acl: KS_R_FAST }),
  def('flushdb', -1, 'write', [0, 0, 0], 'server', 'Remove all keys from the current database', flushdb, { complexity: 'O(N) where N is the number of keys in the selected database', lock: 'all', acl: ['keyspace', 'write', 'slow', 'dangerous'] }),
  def('flushall', -1, 'write', [0, 0, 0], 'server', 'Remove all keys from all databases', flushall, { complexity: 'O(N) where N is the total number of keys in all databases', lock: 'all', acl: ['keyspace', 'write', 'slow', 'dangerous'] }),
  def('object', -2, '', [0, 0, 0], 'generic', 'A container for object introspection commands', objectParent, { since: '2.2.3', complexity: 'Depends on subcommand.', lock: 'none', acl: ['slow'], subcommands: objectSubcommands }),
  def('expire', -3, 'write fast', [1, 1, 1], 'generic', "Set a key's time to live in seconds", expire, { complexity: 'O(1)', acl: KS_W_FAST }),
  def('pexpire', -3, 'write fast', [1, 1, 1], 'generic', "Set a key's time to live in milliseconds", pexpire, { since: '2.6.0', complexity: 'O(1)', acl: KS_W_FAST }),
  def('expireat', -3, 'write fast', [1, 1, 1], 'generic', 'Set the expiration for a key as a UNIX timestamp', expireat, { since: '1.2.0', complexity: 'O(1)', acl: KS_W_FAST }),
  def('pexpireat', -3, 'write fast', [1, 1, 1], 'generic', 'Set the expiration for a key as a UNIX timestamp specified in milliseconds', pexpireat, { since: '2.6.0', complexity: 'O(1)', acl: KS_W_FAST }),
  def('ttl', 2, 'readonly fast', [1, 1, 1], 'generic', 'Get the time to live for a key in seconds', ttl, { complexity: 'O(1)', acl: KS_R_FAST }),
  def('pttl', 2, 'readonly fast', [1, 1, 1], 'generic', 'Get the time to live for a key in milliseconds', pttl, { since: '2.6.0', complexity: 'O(1)', acl: KS_R_FAST }),
  def('expiretime', 2, 'readonly fast', [1, 1, 1], 'generic', 'Get the expiration Unix timestamp for a key', expiretime, { since: '7.0.0', complexity: 'O(1)', acl: KS_R_FAST }),
  def('pexpiretime', 2, 'readonly fast', [1, 1, 1], 'generic', 'Get the expiration Unix timestamp for a key in milliseconds', pexpiretime, { since: '7.0.0', complexity: 'O(1)', acl: KS_R_FAST }),
  def('persist', 2, 'write fast', [1, 1, 1], 'generic', 'Remove the expiration from a key', persist, { since: '2.2.0', complexity: 'O(1)', acl: KS_W_FAST }),
];

// SORT and SORT_RO (sort.c, Redis 7.0): numeric or ALPHA, ASC/DESC, LIMIT, BY pattern (string keys
// and hash->field, or a constant for "nosort"), GET patterns (several, and #), STORE into a list.
// Keys named by patterns may live in any slot, so with BY/GET patterns the command locks every
// slot (lockFor) and stays atomic.
import type { CommandSpec } from './types';
import type { Client } from '../server/client';
import { def } from './def';
import { lookupCommand } from './registry';
import { T_STRING, T_LIST, T_SET, T_ZSET, T_HASH, E_LISTPACK, E_INTSET, E_SKIPLIST, E_QUICKLIST } from '../store/keyspace';
import type { Store } from '../store/keyspace';
import { E_SYNTAX, E_WRONGTYPE, E_NOT_INT, is, parseIntArg, parseFloatArg } from './args';
import { DICT_SET, DictIter, dictFind, dictKey, dictVal } from '../store/dict';
import { intsetFormat, intsetLen } from '../store/intset';
import { LpVal, lpFirst, lpFind, lpNext, lpGet, lpValBytes } from '../store/listpack';
import { QlPos, qlEnd, qlNext, qlGet, qlCount, qlNew, qlPush } from '../store/quicklist';
import { ZIter, zsetConvert } from '../store/zset';
import { notifyKeyspaceEvent, NOTIFY_GENERIC, NOTIFY_LIST } from '../server/notify';

interface SortItem {
  obj: Buffer;
  score: number;
  cmp: Buffer | null;
}

const E_SCORES = "ERR One or more scores can't be converted into double";

/** strtod over the whole string as SORT uses it: junk, NaN and ERANGE are errors. */
function sortScore(b: Uint8Array): number | null {
  let end = b.length;
  for (let i = 0; i < end; i++) if (b[i] === 0) end = i;
  if (end === 0) return 0;
  let i = 0;
  while (i < end && (b[i] === 0x20 || (b[i] >= 0x09 && b[i] <= 0x0d))) i++;
  if (i === end) return null;
  const s = Buffer.from(b.subarray(i, end)).toString('latin1');
  const l = s.toLowerCase();
  if (l === 'inf' || l === '+inf' || l === 'infinity' || l === '+infinity') return Infinity;
  if (l === '-inf' || l === '-infinity') return -Infinity;
  let v: number;
  if (/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(s)) v = Number(s);
  else if (/^[+-]?0x([0-9a-f]+\.?[0-9a-f]*|\.[0-9a-f]+)(p[+-]?\d+)?$/i.test(s)) {
    const h = parseFloatArg(Buffer.from(s, 'latin1'));
    if (h === null) return null;
    return Number.isFinite(h) ? h : null;
  } else return null;
  if (!Number.isFinite(v)) return null; // overflow: ERANGE
  if (v === 0 && /[1-9]/.test(l.split('e')[0])) return null; // underflow: ERANGE
  return v;
}

const lpv = new LpVal();

/** Read a string key or a hash field; null when missing or of another type. */
function readValue(s: Store, db: number, key: Uint8Array, field: Uint8Array | null): Buffer | null {
  const e = s.findRead(db, key);
  if (e === 0) return null;
  const t = s.type(e);
  if (field === null) {
    if (t !== T_STRING) return null;
    return s.strCopy(e);
  }
  if (t !== T_HASH) return null;
  const h = s.heap;
  const obj = s.objPtr(e);
  if (s.encoding(e) === E_LISTPACK) {
    const first = lpFirst(h, obj);
    if (first === 0) return null;
    const p = lpFind(h, obj, first, field, 1);
    if (p === 0) return null;
    return Buffer.from(lpValBytes(h, lpGet(h, obj, lpNext(h, obj, p), lpv)));
  }
  const de = dictFind(h, obj, field);
  if (de === 0) return null;
  return Buffer.from(dictVal(h, de));
}

/** lookupKeyByPattern: '#' is the element itself; '*' is replaced; "->field" reads a hash. */
function lookupByPattern(s: Store, db: number, pattern: Buffer, subst: Buffer): Buffer | null {
  if (pattern.length === 1 && pattern[0] === 0x23) return subst;
  let plen = pattern.indexOf(0);
  if (plen < 0) plen = pattern.length;
  const star = pattern.indexOf(0x2a);
  if (star < 0 || star >= plen) return null;
  let field: Buffer | null = null;
  let keyEnd = plen;
  const arrow = pattern.indexOf('->', star + 1);
  if (arrow >= 0 && arrow + 2 < plen) {
    field = pattern.subarray(arrow + 2, plen);
    keyEnd = arrow;
  }
  const key = Buffer.concat([pattern.subarray(0, star), subst, pattern.subarray(star + 1, keyEnd)]);
  return readValue(s, db, key, field);
}

function hasStar(b: Buffer): boolean {
  return b.indexOf(0x2a) >= 0;
}

function sortKeyAccess(c: Client, argv: Buffer[]): boolean {
  const spec = lookupCommand(argv[0]);
  return spec !== undefined && c.user.cmdWithUnrestrictedKeys(spec, argv, 1);
}

function sortGeneric(c: Client, argv: Buffer[], readonly: boolean): void {
  const s = c.store;
  const h = s.heap;
  let desc = false;
  let alpha = false;
  let limitStart = 0;
  let limitCount = -1;
  let dontsort = false;
  let sortby: Buffer | null = null;
  let storekey: Buffer | null = null;
  const gets: Buffer[] = [];
  // BY patterns and GET read keys the ACL check could not see: they need read access to every key.
  const fullKeyAccess = (): boolean => c.user.unrestricted || sortKeyAccess(c, argv);
  for (let j = 2; j < argv.length; j++) {
    const left = argv.length - j - 1;
    const a = argv[j];
    if (is(a, 'asc')) desc = false;
    else if (is(a, 'desc')) desc = true;
    else if (is(a, 'alpha')) alpha = true;
    else if (is(a, 'limit') && left >= 2) {
      const st = parseIntArg(argv[j + 1]);
      if (st === null) return c.w.error(E_NOT_INT);
      const cn = parseIntArg(argv[j + 2]);
      if (cn === null) return c.w.error(E_NOT_INT);
      limitStart = st;
      limitCount = cn;
      j += 2;
    } else if (!readonly && is(a, 'store') && left >= 1) {
      storekey = argv[++j];
    } else if (is(a, 'by') && left >= 1) {
      sortby = argv[++j];
      if (!hasStar(sortby)) dontsort = true;
      else if (!fullKeyAccess()) return c.w.error('ERR BY option of SORT denied due to insufficient ACL permissions.');
    } else if (is(a, 'get') && left >= 1) {
      if (!fullKeyAccess()) return c.w.error('ERR GET option of SORT denied due to insufficient ACL permissions.');
      gets.push(argv[++j]);
    } else {
      return c.w.error(E_SYNTAX);
    }
  }
  const e = s.findRead(c.db, argv[1]);
  let type = T_LIST;
  if (e !== 0) {
    type = s.type(e);
    if (type !== T_SET && type !== T_LIST && type !== T_ZSET) return c.w.error(E_WRONGTYPE);
  }
  // A set's order is not deterministic: scripts (and STORE) get it sorted, as Redis does.
  if (dontsort && type === T_SET && (storekey !== null || c.inScript)) {
    dontsort = false;
    alpha = true;
    sortby = null;
  }
  // Redis converts listpack sorted sets to skiplists for SORT (destructively).
  if (e !== 0 && type === T_ZSET && s.encoding(e) === E_LISTPACK) zsetConvert(s, e, E_SKIPLIST);

  const obj = e === 0 ? 0 : s.objPtr(e);
  const enc = e === 0 ? E_QUICKLIST : s.encoding(e);
  let vectorlen: number;
  if (e === 0) vectorlen = 0;
  else if (type === T_LIST) vectorlen = qlCount(h, obj);
  else if (type === T_SET) vectorlen = enc === E_INTSET ? intsetLen(h, obj) : dictSizeOf(h, obj);
  else vectorlen = new ZIter().init(h, enc, obj).length();

  let start = limitStart < 0 ? 0 : limitStart;
  let end = limitCount < 0 ? vectorlen - 1 : start + limitCount - 1;
  if (start >= vectorlen) {
    start = vectorlen - 1;
    end = vectorlen - 2;
  }
  if (end >= vectorlen) end = vectorlen - 1;
  if ((type === T_ZSET || type === T_LIST) && dontsort && (start !== 0 || end !== vectorlen - 1)) {
    vectorlen = end - start + 1;
  }

  const vector: SortItem[] = [];
  const push = (b: Uint8Array): void => {
    vector.push({ obj: Buffer.from(b), score: 0, cmp: null });
  };
  if (e !== 0 && type === T_LIST) {
    const all: Buffer[] = [];
    const pos = new QlPos();
    if (qlEnd(h, obj, true, pos)) {
      do all.push(Buffer.from(lpValBytes(h, qlGet(h, pos, lpv)))); while (qlNext(h, pos));
    }
    if (dontsort) {
      if (end >= start) {
        let idx = desc ? all.length - start - 1 : start;
        while (vector.length < vectorlen && idx >= 0 && idx < all.length) {
          vector.push({ obj: all[idx], score: 0, cmp: null });
          idx += desc ? -1 : 1;
        }
        end -= start;
        start = 0;
      }
    } else {
      for (const b of all) vector.push({ obj: b, score: 0, cmp: null });
    }
  } else if (e !== 0 && type === T_SET) {
    if (enc === E_INTSET) {
      const buf = new Uint8Array(24);
      const n = intsetLen(h, obj);
      for (let i = 0; i < n; i++) push(buf.subarray(0, intsetFormat(h, obj, i, buf, 0)));
    } else {
      const di = new DictIter().init(h, obj);
      for (let de = di.next(); de !== 0; de = di.next()) push(dictKey(h, DICT_SET, de));
    }
  } else if (e !== 0 && type === T_ZSET) {
    const z = new ZIter().init(h, s.encoding(e), s.objPtr(e));
    if (dontsort) {
      const zlen = z.length();
      if (desc) {
        z.last();
        if (start > 0) z.seekRank(zlen - start - 1);
      } else {
        z.first();
        if (start > 0) z.seekRank(start);
      }
      for (let k = 0; k < vectorlen && z.p !== 0; k++) {
        z.load();
        push(z.buf.subarray(z.off, z.off + z.len));
        if (desc) z.prev();
        else z.next();
      }
      end -= start;
      start = 0;
    } else {
      for (z.first(); z.p !== 0; z.next()) {
        z.load();
        push(z.buf.subarray(z.off, z.off + z.len));
      }
    }
  }

  let conversionError = false;
  if (!dontsort) {
    for (const item of vector) {
      let byval: Buffer | null;
      if (sortby !== null) {
        byval = lookupByPattern(s, c.db, sortby, item.obj);
        if (byval === null) continue;
      } else {
        byval = item.obj;
      }
      if (alpha) {
        if (sortby !== null) item.cmp = byval;
      } else {
        const v = sortScore(byval);
        if (v === null) conversionError = true;
        else item.score = v;
      }
    }
    const byPattern = sortby !== null;
    const toStore = storekey !== null;
    const sign = desc ? -1 : 1;
    vector.sort((a, b) => {
      let cmp: number;
      if (!alpha) {
        if (a.score > b.score) cmp = 1;
        else if (a.score < b.score) cmp = -1;
        else cmp = Buffer.compare(a.obj, b.obj);
      } else if (byPattern) {
        if (a.cmp === null || b.cmp === null) cmp = a.cmp === b.cmp ? 0 : a.cmp === null ? -1 : 1;
        else cmp = toStore ? Buffer.compare(a.cmp, b.cmp) : strcoll(a.cmp, b.cmp);
      } else {
        cmp = toStore ? Buffer.compare(a.obj, b.obj) : strcoll(a.obj, b.obj);
      }
      return cmp * sign;
    });
  }

  const count = end - start + 1;
  const outputlen = gets.length > 0 ? gets.length * count : count;
  if (conversionError) return c.w.error(E_SCORES);
  if (storekey === null) {
    const w = c.w;
    w.array(outputlen);
    for (let j = start; j <= end; j++) {
      const item = vector[j];
      if (gets.length === 0) w.bulk(item.obj);
      for (const g of gets) {
        const v = lookupByPattern(s, c.db, g, item.obj);
        if (v === null) w.nil();
        else w.bulk(v);
      }
    }
    return;
  }
  if (outputlen > 0) {
    const ql = qlNew(h, c.srv.config.num('list-max-listpack-size'));
    const empty = Buffer.alloc(0);
    for (let j = start; j <= end; j++) {
      const item = vector[j];
      if (gets.length === 0) qlPush(h, ql, item.obj, false);
      for (const g of gets) qlPush(h, ql, lookupByPattern(s, c.db, g, item.obj) ?? empty, false);
    }
    s.replaceWithObject(c.db, storekey, T_LIST, E_QUICKLIST, ql);
    notifyKeyspaceEvent(c, NOTIFY_LIST, 'sortstore', storekey, c.db);
  } else if (s.delete(c.db, storekey)) {
    notifyKeyspaceEvent(c, NOTIFY_GENERIC, 'del', storekey, c.db);
  }
  c.w.int(outputlen);
}

/** strcoll in the C locale: bytes up to the first NUL. */
function strcoll(a: Buffer, b: Buffer): number {
  let la = a.indexOf(0);
  if (la < 0) la = a.length;
  let lb = b.indexOf(0);
  if (lb < 0) lb = b.length;
  return Buffer.compare(a.subarray(0, la), b.subarray(0, lb));
}

function dictSizeOf(h: Store['heap'], d: number): number {
  const w = d / 4;
  return h.u32[w + 2] + h.u32[w + 5];
}

/** Walk the options the way the parser does: do BY/GET name keys through patterns? */
function needsAllSlots(argv: Buffer[]): boolean {
  for (let j = 2; j < argv.length; j++) {
    const left = argv.length - j - 1;
    const a = argv[j];
    if (is(a, 'limit') && left >= 2) j += 2;
    else if (is(a, 'store') && left >= 1) j++;
    else if (is(a, 'by') && left >= 1) {
      if (hasStar(argv[++j])) return true;
    } else if (is(a, 'get') && left >= 1) {
      const g = argv[++j];
      if (!(g.length === 1 && g[0] === 0x23) && hasStar(g)) return true;
    }
  }
  return false;
}

/** The sorted key and the STORE destination (what sortGetKeys reports). */
function sortKeys(argv: Buffer[]): number[] {
  // Only the last STORE counts, as in SORT itself (and Redis's sortGetKeys).
  let store = 0;
  for (let j = 2; j < argv.length; j++) {
    const left = argv.length - j - 1;
    const a = argv[j];
    if (is(a, 'limit') && left >= 2) j += 2;
    else if ((is(a, 'by') || is(a, 'get')) && left >= 1) j++;
    else if (is(a, 'store') && left >= 1) store = ++j;
  }
  return store === 0 ? [1] : [1, store];
}

function sortRoKeys(): number[] {
  return [1];
}

function lockFor(argv: Buffer[]): 'keys' | 'all' {
  return needsAllSlots(argv) ? 'all' : 'keys';
}

export const commands: CommandSpec[] = [
  def('sort', -2, 'write denyoom movablekeys', [1, 1, 1], 'generic', 'Sort the elements in a list, set or sorted set', (c, a) => sortGeneric(c, a, false), { keys: sortKeys, lockFor, acl: ['write', 'set', 'sortedset', 'list', 'slow', 'dangerous'] }),
  def('sort_ro', -2, 'readonly movablekeys', [1, 1, 1], 'generic', 'Sort the elements in a list, set or sorted set. Read-only variant of SORT.', (c, a) => sortGeneric(c, a, true), { since: '7.0.0', keys: sortRoKeys, lockFor, acl: ['read', 'set', 'sortedset', 'list', 'slow', 'dangerous'] }),
];

void T_STRING;

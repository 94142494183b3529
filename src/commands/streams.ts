// Stream commands (t_stream.c, Redis 7.0): XADD, XLEN, XRANGE, XREVRANGE, XDEL, XTRIM, XSETID,
// XREAD [BLOCK]. Consumer groups and XINFO are in stream-groups.ts. The store side is src/store/stream.ts.
import type { CommandSpec } from './types';
import type { Client } from '../server/client';
import { def } from './def';
import { T_STREAM, E_STREAM } from '../store/keyspace';
import type { Heap } from '../store/heap';
import { E_SYNTAX, E_WRONGTYPE, E_NOT_INT, E_NO_KEY, is, parseI64, cstr } from './args';
import {
  StreamID, StreamIter, TrimArgs, TRIM_NONE, TRIM_MAXLEN, TRIM_MINID, U64_MAX, APPEND_OK, APPEND_EDOM,
  idCmp, idStr, idIncr, idDecr, iterBytes, streamNew, streamFree, streamLength, streamLastId, streamSetLastId,
  streamFirstId, streamSetFirstId, streamMaxDeletedId, streamSetMaxDeletedId,
  streamSetEntriesAdded, streamAppendItem, streamTrim, streamDeleteItem, streamGetEdgeId,
} from '../store/stream';
import { notifyKeyspaceEvent } from '../server/notify';
import { NOTIFY_STREAM } from '../config/directives';
import { blockForKeys, type Waiter } from '../server/blocking';

export const E_INVALID_ID = 'ERR Invalid stream ID specified as stream command argument';

// ---- ID parsing (streamGenericParseIDOrReply) ---------------------------------------------------

/** string2ull: string2ll (non-negative), else strtoull's rules (spaces, sign, no overflow). */
function string2ull(s: string): bigint | null {
  if (s.length === 0) return null;
  const ll = parseI64(Buffer.from(s, 'latin1'));
  if (ll !== null) {
    if (ll < 0) return null;
    return BigInt(ll);
  }
  const m = /^[ \t\n\v\f\r]*([+-]?)([0-9]+)$/.exec(s);
  if (m === null) return null;
  let v = BigInt(m[2]);
  if (v > U64_MAX) return null;
  if (m[1] === '-') v = BigInt.asUintN(64, -v);
  return v;
}

/** Set by parseId when seqGiven is asked for: false for the <ms>-* form. */
let seqGiven = true;

export function parseId(b: Uint8Array, missingSeq: bigint, strict: boolean, allowStar: boolean): StreamID | null {
  if (b.length > 127) return null;
  let s = Buffer.from(b).toString('latin1');
  const nul = s.indexOf('\0');
  if (nul >= 0) s = s.slice(0, nul);
  if (strict && (s === '-' || s === '+')) return null;
  seqGiven = true;
  if (s === '-') return { ms: 0n, seq: 0n };
  if (s === '+') return { ms: U64_MAX, seq: U64_MAX };
  const dash = s.indexOf('-');
  const ms = string2ull(dash >= 0 ? s.slice(0, dash) : s);
  if (ms === null) return null;
  let seq: bigint | null;
  if (dash >= 0) {
    const rest = s.slice(dash + 1);
    if (allowStar && rest === '*') {
      seq = 0n;
      seqGiven = false;
    } else seq = string2ull(rest);
    if (seq === null) return null;
  } else seq = missingSeq;
  return { ms, seq };
}

export function parseIdOrReply(c: Client, b: Uint8Array, missingSeq: bigint, strict: boolean): StreamID | null {
  const id = parseId(b, missingSeq, strict, false);
  if (id === null) c.w.error(E_INVALID_ID);
  return id;
}

/** streamParseIntervalIDOrReply: "(" makes the bound exclusive (then strict). */
let exclude = false;
/** Whether the last parseIntervalOrReply bound was exclusive. */
export function lastExclude(): boolean {
  return exclude;
}
export function parseIntervalOrReply(c: Client, b: Uint8Array, missingSeq: bigint): StreamID | null {
  exclude = b.length > 1 && b[0] === 0x28;
  return parseIdOrReply(c, exclude ? b.subarray(1) : b, missingSeq, exclude);
}

export function llOrReply(c: Client, b: Uint8Array): number | null {
  const v = parseI64(b);
  if (v === null) {
    c.w.error(E_NOT_INT);
    return null;
  }
  return Number(v);
}

// ---- lookups and replies --------------------------------------------------------------------

/** The entry of a stream key, 0 when missing, -1 (replied WRONGTYPE) for another type. */
export function lookup(c: Client, key: Uint8Array, read: boolean): number {
  const s = c.store;
  const e = read ? s.findRead(c.db, key) : s.find(c.db, key);
  if (e === 0) return 0;
  if (s.type(e) !== T_STREAM) {
    c.w.error(E_WRONGTYPE);
    return -1;
  }
  return e;
}

export function replyId(c: Client, id: StreamID): void {
  c.w.bulkStr(idStr(id));
}

const it = new StreamIter();

/** One entry: [id, [field, value ...]] from the iterator's current entry. */
export function replyEntry(c: Client, h: Heap, si: StreamIter): void {
  c.w.array(2);
  replyId(c, si.id);
  c.w.array(si.numfields * 2);
  for (let f = 0; f < si.numfields; f++) {
    si.field();
    c.w.bulk(iterBytes(h, si.fv));
    c.w.bulk(iterBytes(h, si.vv));
  }
}

/** streamReplyWithRange (no group): returns the entries emitted. raw: no array header. */
export function replyRange(c: Client, h: Heap, s: number, start: StreamID | null, end: StreamID | null, count: number, rev: boolean, raw: boolean): number {
  const mark = raw ? 0 : c.w.deferMark();
  let n = 0;
  const si = it.start(h, s, start, end, rev);
  while (si.next()) {
    replyEntry(c, h, si);
    n++;
    if (count && count === n) break;
  }
  if (!raw) c.w.arrayAt(mark, n);
  return n;
}

const nodeLimits = { maxBytes: 4096, maxEntries: 100 };
function limits(c: Client): typeof nodeLimits {
  nodeLimits.maxBytes = c.srv.config.num('stream-node-max-bytes');
  nodeLimits.maxEntries = c.srv.config.num('stream-node-max-entries');
  return nodeLimits;
}

// ---- XADD / XTRIM argument parsing (streamParseAddOrTrimArgsOrReply) ------------------------

interface AddTrimArgs extends TrimArgs {
  id: StreamID;
  idGiven: boolean;
  seqGiven: boolean;
  noMkstream: boolean;
  argIdx: number;
  /** XADD: index of the ID argument; -1 after an error (replied). */
  pos: number;
}

function parseAddTrim(c: Client, argv: Buffer[], xadd: boolean): AddTrimArgs | null {
  const a: AddTrimArgs = {
    strategy: TRIM_NONE, approx: false, limit: 0, maxlen: 0, minid: { ms: 0n, seq: 0n },
    id: { ms: 0n, seq: 0n }, idGiven: false, seqGiven: true, noMkstream: false, argIdx: 0, pos: 0,
  };
  let i = 2;
  let limitGiven = false;
  const argc = argv.length;
  for (; i < argc; i++) {
    const more = argc - 1 - i;
    const opt = argv[i];
    if (xadd && opt.length === 1 && opt[0] === 0x2a) break;
    if (is(opt, 'maxlen') && more) {
      if (a.strategy !== TRIM_NONE) {
        c.w.error('ERR syntax error, MAXLEN and MINID options at the same time are not compatible');
        return null;
      }
      a.approx = false;
      const next = argv[i + 1];
      if (more >= 2 && next.length === 1 && next[0] === 0x7e) {
        a.approx = true;
        i++;
      } else if (more >= 2 && next.length === 1 && next[0] === 0x3d) i++;
      const v = llOrReply(c, argv[i + 1]);
      if (v === null) return null;
      if (v < 0) {
        c.w.error('ERR The MAXLEN argument must be >= 0.');
        return null;
      }
      a.maxlen = v;
      i++;
      a.strategy = TRIM_MAXLEN;
      a.argIdx = i;
    } else if (is(opt, 'minid') && more) {
      if (a.strategy !== TRIM_NONE) {
        c.w.error('ERR syntax error, MAXLEN and MINID options at the same time are not compatible');
        return null;
      }
      a.approx = false;
      const next = argv[i + 1];
      if (more >= 2 && next.length === 1 && next[0] === 0x7e) {
        a.approx = true;
        i++;
      } else if (more >= 2 && next.length === 1 && next[0] === 0x3d) i++;
      const id = parseIdOrReply(c, argv[i + 1], 0n, true);
      if (id === null) return null;
      a.minid = id;
      i++;
      a.strategy = TRIM_MINID;
      a.argIdx = i;
    } else if (is(opt, 'limit') && more) {
      const v = llOrReply(c, argv[i + 1]);
      if (v === null) return null;
      if (v < 0) {
        c.w.error('ERR The LIMIT argument must be >= 0.');
        return null;
      }
      a.limit = v;
      limitGiven = true;
      i++;
    } else if (xadd && is(opt, 'nomkstream')) {
      a.noMkstream = true;
    } else if (xadd) {
      const id = parseId(opt, 0n, true, true);
      if (id === null) {
        c.w.error(E_INVALID_ID);
        return null;
      }
      a.id = id;
      a.seqGiven = seqGiven;
      a.idGiven = true;
      break;
    } else {
      c.w.error(E_SYNTAX);
      return null;
    }
  }
  if (a.limit && a.strategy === TRIM_NONE) {
    c.w.error('ERR syntax error, LIMIT cannot be used without specifying a trimming strategy');
    return null;
  }
  if (!xadd && a.strategy === TRIM_NONE) {
    c.w.error('ERR syntax error, XTRIM must be called with a trimming strategy');
    return null;
  }
  if (c.masterHook !== null) {
    // mustObeyClient: the master's (or the AOF's) rewritten arguments are exact.
    a.limit = 0;
  } else if (limitGiven) {
    if (!a.approx) {
      c.w.error('ERR syntax error, LIMIT cannot be used without the special ~ option');
      return null;
    }
  } else if (a.approx) {
    let l = 100 * c.srv.config.num('stream-node-max-entries');
    if (l <= 0) l = 10000;
    if (l > 1000000) l = 1000000;
    a.limit = l;
  } else a.limit = 0;
  a.pos = i;
  return a;
}

const EQUALS = Buffer.from('=');

/** The propagated form after an approximate trim (streamRewriteApproxSpecifier + TrimArgument). */
function rewriteTrim(h: Heap, s: number, a: AddTrimArgs, out: Uint8Array[]): void {
  out[a.argIdx - 1] = EQUALS;
  if (a.strategy === TRIM_MAXLEN) out[a.argIdx] = Buffer.from(String(streamLength(h, s)));
  else out[a.argIdx] = Buffer.from(idStr(streamGetEdgeId(h, s, true, false)));
}

// ---- commands -------------------------------------------------------------------------------

const added: StreamID = { ms: 0n, seq: 0n };

function xadd(c: Client, argv: Buffer[]): void {
  const a = parseAddTrim(c, argv, true);
  if (a === null) return;
  const idpos = a.pos;
  const fieldPos = idpos + 1;
  if (argv.length - fieldPos < 2 || (argv.length - fieldPos) % 2 === 1) {
    return c.w.error("ERR wrong number of arguments for 'xadd' command");
  }
  if (a.idGiven && a.seqGiven && a.id.ms === 0n && a.id.seq === 0n) {
    return c.w.error('ERR The ID specified in XADD must be greater than 0-0');
  }
  const st = c.store;
  const h = st.heap;
  const key = argv[1];
  const e = lookup(c, key, false);
  if (e < 0) return;
  if (e === 0 && a.noMkstream) return c.w.nil();
  // A new stream gets its key only once its first entry is in (an allocation failure or a
  // refused ID then leaves nothing behind).
  const s = e !== 0 ? st.objPtr(e) : streamNew(h);
  const last = streamLastId(h, s);
  if (last.ms === U64_MAX && last.seq === U64_MAX) {
    return c.w.error('ERR The stream has exhausted the last possible ID, unable to add more items');
  }
  let r: number;
  try {
    r = streamAppendItem(h, s, argv, fieldPos, (argv.length - fieldPos) / 2, a.idGiven ? a.id : null, a.seqGiven, st.now, limits(c), added);
    if (r === APPEND_OK && e === 0) st.createObject(c.db, key, T_STREAM, E_STREAM, s);
  } catch (err) {
    if (e === 0) streamFree(h, s);
    throw err;
  }
  if (r !== APPEND_OK) {
    if (e === 0) streamFree(h, s);
    return c.w.error(r === APPEND_EDOM ? 'ERR The ID specified in XADD is equal or smaller than the target stream top item' : 'ERR Elements are too large to be stored');
  }
  const idText = idStr(added);
  c.w.bulkStr(idText);
  if (e !== 0) {
    st.modified(c.db, key, 1);
    // A new stream signals through dbAdd; one that grew wakes its XREAD BLOCK readers here.
    st.signalReady(c.db, key);
  }
  notifyKeyspaceEvent(c, NOTIFY_STREAM, 'xadd', key, c.db);
  let rewritten: Uint8Array[] | null = null;
  if (a.strategy !== TRIM_NONE) {
    if (streamTrim(h, s, a)) notifyKeyspaceEvent(c, NOTIFY_STREAM, 'xtrim', key, c.db);
    if (a.approx) {
      rewritten = argv.slice();
      rewriteTrim(h, s, a, rewritten);
    }
  }
  if (!a.idGiven || !a.seqGiven) {
    if (rewritten === null) rewritten = argv.slice();
    rewritten[idpos] = Buffer.from(idText, 'latin1');
  }
  const p = c.srv.prop;
  if (rewritten !== null && p.on()) p.propagateAs(rewritten);
}

function xtrim(c: Client, argv: Buffer[]): void {
  const a = parseAddTrim(c, argv, false);
  if (a === null) return;
  const key = argv[1];
  const e = lookup(c, key, false);
  if (e < 0) return;
  if (e === 0) return c.w.int(0);
  const st = c.store;
  const h = st.heap;
  const s = st.objPtr(e);
  const deleted = streamTrim(h, s, a);
  if (deleted) {
    notifyKeyspaceEvent(c, NOTIFY_STREAM, 'xtrim', key, c.db);
    if (a.approx) {
      const p = c.srv.prop;
      if (p.on()) {
        const out: Uint8Array[] = argv.slice();
        rewriteTrim(h, s, a, out);
        p.propagateAs(out);
      }
    }
    st.modified(c.db, key, deleted);
  }
  c.w.int(deleted);
}

function xlen(c: Client, argv: Buffer[]): void {
  const e = lookup(c, argv[1], true);
  if (e < 0) return;
  c.w.int(e === 0 ? 0 : streamLength(c.store.heap, c.store.objPtr(e)));
}

function xrangeGeneric(c: Client, argv: Buffer[], rev: boolean): void {
  const startArg = rev ? argv[3] : argv[2];
  const endArg = rev ? argv[2] : argv[3];
  const start = parseIntervalOrReply(c, startArg, 0n);
  if (start === null) return;
  if (exclude && !idIncr(start)) return c.w.error('ERR invalid start ID for the interval');
  const end = parseIntervalOrReply(c, endArg, U64_MAX);
  if (end === null) return;
  if (exclude && !idDecr(end)) return c.w.error('ERR invalid end ID for the interval');
  let count = -1;
  for (let j = 4; j < argv.length; j++) {
    const additional = argv.length - j - 1;
    if (is(argv[j], 'count') && additional >= 1) {
      const v = llOrReply(c, argv[j + 1]);
      if (v === null) return;
      count = v < 0 ? 0 : v;
      j++;
    } else return c.w.error(E_SYNTAX);
  }
  const e = lookup(c, argv[1], true);
  if (e < 0) return;
  if (e === 0) return c.w.array(0);
  if (count === 0) return c.w.nilArray();
  replyRange(c, c.store.heap, c.store.objPtr(e), start, end, count === -1 ? 0 : count, rev, false);
}

function xrange(c: Client, argv: Buffer[]): void {
  xrangeGeneric(c, argv, false);
}

function xrevrange(c: Client, argv: Buffer[]): void {
  xrangeGeneric(c, argv, true);
}

function xdel(c: Client, argv: Buffer[]): void {
  const key = argv[1];
  const e = lookup(c, key, false);
  if (e < 0) return;
  if (e === 0) return c.w.int(0);
  const ids: StreamID[] = [];
  for (let j = 2; j < argv.length; j++) {
    const id = parseIdOrReply(c, argv[j], 0n, true);
    if (id === null) return;
    ids.push(id);
  }
  const st = c.store;
  const h = st.heap;
  const s = st.objPtr(e);
  let deleted = 0;
  let firstEntry = false;
  for (const id of ids) {
    if (streamDeleteItem(h, s, id)) {
      if (idCmp(id, streamFirstId(h, s)) === 0) firstEntry = true;
      if (idCmp(id, streamMaxDeletedId(h, s)) > 0) streamSetMaxDeletedId(h, s, id);
      deleted++;
    }
  }
  if (deleted) {
    if (streamLength(h, s) === 0) streamSetFirstId(h, s, { ms: 0n, seq: 0n });
    else if (firstEntry) streamSetFirstId(h, s, streamGetEdgeId(h, s, true, true));
    st.modified(c.db, key, deleted);
    notifyKeyspaceEvent(c, NOTIFY_STREAM, 'xdel', key, c.db);
  }
  c.w.int(deleted);
}

function xsetid(c: Client, argv: Buffer[]): void {
  const id = parseIdOrReply(c, argv[2], 0n, true);
  if (id === null) return;
  let entriesAdded = -1;
  let maxXdel: StreamID = { ms: 0n, seq: 0n };
  let i = 3;
  while (i < argv.length) {
    const more = argv.length - 1 - i;
    if (is(argv[i], 'entriesadded') && more) {
      const v = llOrReply(c, argv[i + 1]);
      if (v === null) return;
      if (v < 0) return c.w.error('ERR entries_added must be positive');
      entriesAdded = v;
      i += 2;
    } else if (is(argv[i], 'maxdeletedid') && more) {
      const m = parseIdOrReply(c, argv[i + 1], 0n, true);
      if (m === null) return;
      if (idCmp(id, m) < 0) return c.w.error('ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id');
      maxXdel = m;
      i += 2;
    } else return c.w.error(E_SYNTAX);
  }
  const key = argv[1];
  const e = lookup(c, key, false);
  if (e < 0) return;
  if (e === 0) return c.w.error(E_NO_KEY);
  const st = c.store;
  const h = st.heap;
  const s = st.objPtr(e);
  const len = streamLength(h, s);
  if (len > 0) {
    const maxid = streamGetEdgeId(h, s, false, true);
    if (idCmp(id, maxid) < 0) return c.w.error('ERR The ID specified in XSETID is smaller than the target stream top item');
    if (entriesAdded !== -1 && len > entriesAdded) {
      return c.w.error('ERR The entries_added specified in XSETID is smaller than the target stream length');
    }
  }
  streamSetLastId(h, s, id);
  if (entriesAdded !== -1) streamSetEntriesAdded(h, s, entriesAdded);
  if (maxXdel.ms !== 0n || maxXdel.seq !== 0n) streamSetMaxDeletedId(h, s, maxXdel);
  c.w.ok();
  st.modified(c.db, key, 1);
  notifyKeyspaceEvent(c, NOTIFY_STREAM, 'xsetid', key, c.db);
}

// ---- XREAD --------------------------------------------------------------------------------

/** xreadGetKeys: the keys after STREAMS (half of what follows it). */
/** The keys of XREAD and XREADGROUP (one option grammar for both, as in Redis). */
export function xreadKeys(argv: Buffer[]): number[] {
  let pos = -1;
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i];
    if (is(a, 'block') || is(a, 'count')) i++;
    else if (is(a, 'group')) i += 2;
    else if (is(a, 'noack')) continue;
    else if (is(a, 'streams')) {
      pos = i;
      break;
    } else break;
  }
  const num = pos < 0 ? 0 : argv.length - pos - 1;
  if (pos < 0 || num === 0 || num % 2 !== 0) return [];
  const out: number[] = [];
  for (let i = pos + 1; i < argv.length - num / 2; i++) out.push(i);
  return out;
}

/** XREAD / XREADGROUP options (xreadCommand's one loop for both); null after an error reply. */
export interface XreadOptions {
  timeout: number;
  count: number;
  streamsArg: number;
  streamsCount: number;
  group: Buffer | null;
  consumer: Buffer | null;
  noack: boolean;
}

export function parseXreadOptions(c: Client, argv: Buffer[], xreadgroup: boolean): XreadOptions | null {
  const o: XreadOptions = { timeout: -1, count: 0, streamsArg: 0, streamsCount: 0, group: null, consumer: null, noack: false };
  for (let i = 1; i < argv.length; i++) {
    const more = argv.length - i - 1;
    const a = argv[i];
    if (is(a, 'block') && more) {
      if (c.inScript) {
        c.w.error(`ERR ${cstr(argv[0])} command is not allowed with BLOCK option from scripts`);
        return null;
      }
      i++;
      const v = parseI64(argv[i]);
      if (v === null) return errorNull(c, 'ERR timeout is not an integer or out of range');
      if (v < 0) return errorNull(c, 'ERR timeout is negative');
      o.timeout = Number(v);
    } else if (is(a, 'count') && more) {
      i++;
      const v = llOrReply(c, argv[i]);
      if (v === null) return null;
      o.count = v < 0 ? 0 : v;
    } else if (is(a, 'streams') && more) {
      o.streamsArg = i + 1;
      o.streamsCount = argv.length - o.streamsArg;
      if (o.streamsCount % 2 !== 0) {
        return errorNull(c, "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.");
      }
      o.streamsCount /= 2;
      break;
    } else if (is(a, 'group') && more >= 2) {
      if (!xreadgroup) return errorNull(c, 'ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.');
      o.group = argv[i + 1];
      o.consumer = argv[i + 2];
      i += 2;
    } else if (is(a, 'noack')) {
      if (!xreadgroup) return errorNull(c, 'ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.');
      o.noack = true;
    } else return errorNull(c, E_SYNTAX);
  }
  if (o.streamsArg === 0) return errorNull(c, E_SYNTAX);
  return o;
}

function errorNull(c: Client, err: string): null {
  c.w.error(err);
  return null;
}

function xread(c: Client, argv: Buffer[]): void {
  const opts = parseXreadOptions(c, argv, false);
  if (opts === null) return;
  const { timeout, count, streamsArg, streamsCount } = opts;
  const st = c.store;
  const h = st.heap;
  const ids: StreamID[] = [];
  for (let i = streamsArg + streamsCount; i < argv.length; i++) {
    const e = lookup(c, argv[i - streamsCount], true);
    if (e < 0) return;
    if (e !== 0 && timeout !== -1) st.markStreamSlot(argv[i - streamsCount]);
    const a = argv[i];
    if (a.length === 1 && a[0] === 0x24) {
      ids.push(e !== 0 ? streamLastId(h, st.objPtr(e)) : { ms: 0n, seq: 0n });
      continue;
    }
    if (a.length === 1 && a[0] === 0x3e) {
      return c.w.error('ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.');
    }
    const id = parseIdOrReply(c, a, 0n, true);
    if (id === null) return;
    ids.push(id);
  }
  let n = 0;
  let mark = 0;
  for (let i = 0; i < streamsCount; i++) {
    const e = st.peek(c.db, argv[streamsArg + i]);
    if (e === 0) continue;
    const s = st.objPtr(e);
    if (streamLength(h, s) === 0) continue;
    const gt = ids[i];
    if (idCmp(streamGetEdgeId(h, s, false, true), gt) <= 0) continue;
    if (++n === 1) mark = c.w.deferMark();
    const start = { ms: gt.ms, seq: gt.seq };
    idIncr(start);
    if (c.w.resp === 2) c.w.array(2);
    c.w.bulk(argv[streamsArg + i]);
    replyRange(c, h, s, start, null, count, false, false);
  }
  if (n > 0) {
    if (c.w.resp === 2) c.w.arrayAt(mark, n);
    else c.w.mapAt(mark, n);
    return;
  }
  // Inside MULTI (and scripts, refused above) BLOCK acts as an immediate timeout (CLIENT_DENY_BLOCKING).
  if (timeout === -1 || c.inExec || c.inScript) return c.w.nilArray();
  const keys = argv.slice(streamsArg, streamsArg + streamsCount);
  const w = blockForKeys(c, c.db, keys, timeout, serveXread, timeoutNilArray, true);
  // A key named twice waits for the ID given first (blockForKeys keeps its first occurrence).
  const wids: StreamID[] = [];
  for (const k of w.keys) {
    for (let i = 0; i < streamsCount; i++) {
      if (keys[i].equals(k)) {
        wids.push(ids[i]);
        break;
      }
    }
  }
  w.streamIds = wids;
  w.count = count;
}

function timeoutNilArray(w: Waiter): void {
  w.c.w.nilArray();
}

/** serveClientsBlockedOnStreamKey (no group): entries after the waiter's ID, once there are some. */
function serveXread(w: Waiter, key: Buffer): boolean {
  const c = w.c;
  const st = c.store;
  const e = st.find(w.db, key);
  if (e === 0 || st.type(e) !== T_STREAM) return false;
  const h = st.heap;
  const s = st.objPtr(e);
  const ki = w.keys.findIndex((k) => k.equals(key));
  const gt = (w.streamIds as StreamID[])[ki];
  if (idCmp(streamLastId(h, s), gt) <= 0) return false;
  const start = { ms: gt.ms, seq: gt.seq };
  idIncr(start);
  if (c.w.resp === 2) {
    c.w.array(1);
    c.w.array(2);
  } else c.w.map(1);
  c.w.bulk(key);
  replyRange(c, h, s, start, null, w.count, false, false);
  return true;
}

// ---- table ----------------------------------------------------------------------------------

const xacl = (...a: string[]): string[] => [...a, 'stream'];

export const commands: CommandSpec[] = [
  def('xadd', -5, 'write denyoom fast', [1, 1, 1], 'stream', 'Appends a new entry to a stream', xadd, { since: '5.0.0', complexity: 'O(1) when adding a new entry, O(N) when trimming where N being the number of entries evicted.', acl: xacl('write', 'fast') }),
  def('xtrim', -4, 'write', [1, 1, 1], 'stream', "Trims the stream to (approximately if '~' is passed) a certain size", xtrim, { since: '5.0.0', complexity: 'O(N), with N being the number of evicted entries. Constant times are very small however, since entries are organized in macro nodes containing multiple entries that can be released with a single deallocation.', acl: xacl('write', 'slow') }),
  def('xdel', -3, 'write fast', [1, 1, 1], 'stream', 'Removes the specified entries from the stream. Returns the number of items actually deleted, that may be different from the number of IDs passed in case certain IDs do not exist.', xdel, { since: '5.0.0', complexity: 'O(1) for each single item to delete in the stream, regardless of the stream size.', acl: xacl('write', 'fast') }),
  def('xlen', 2, 'readonly fast', [1, 1, 1], 'stream', 'Return the number of entries in a stream', xlen, { since: '5.0.0', complexity: 'O(1)', acl: xacl('read', 'fast') }),
  def('xrange', -4, 'readonly', [1, 1, 1], 'stream', 'Return a range of elements in a stream, with IDs matching the specified IDs interval', xrange, { since: '5.0.0', complexity: 'O(N) with N being the number of elements being returned. If N is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1).', acl: xacl('read', 'slow') }),
  def('xrevrange', -4, 'readonly', [1, 1, 1], 'stream', 'Return a range of elements in a stream, with IDs matching the specified IDs interval, in reverse order (from greater to smaller IDs) compared to XRANGE', xrevrange, { since: '5.0.0', complexity: 'O(N) with N being the number of elements returned. If N is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1).', acl: xacl('read', 'slow') }),
  def('xsetid', -3, 'write denyoom fast', [1, 1, 1], 'stream', 'An internal command for replicating stream values', xsetid, { since: '5.0.0', complexity: 'O(1)', acl: xacl('write', 'fast') }),
  def('xread', -4, 'readonly blocking', [0, 0, 0], 'stream', 'Return never seen elements in multiple streams, with IDs greater than the ones reported by the caller for each stream. Can block.', xread, { since: '5.0.0', complexity: 'For each stream mentioned: O(N) with N being the number of elements being returned, it means that XREAD-ing with a fixed COUNT is O(1). Note that when the BLOCK option is used, XADD will pay O(M) time in order to serve the M clients blocked on the stream getting new data.', keys: xreadKeys, acl: xacl('read', 'slow', 'blocking') }),
];

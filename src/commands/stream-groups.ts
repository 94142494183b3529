// Stream consumer-group commands (t_stream.c, Redis 7.0): XGROUP, XREADGROUP, XACK, XPENDING,
// XCLAIM, XAUTOCLAIM, and the group parts of XINFO. The store side is src/store/stream-groups.ts.
// Propagation as Redis: XREADGROUP / XCLAIM / XAUTOCLAIM never propagate themselves but the
// XCLAIM ... FORCE JUSTID LASTID / XGROUP SETID ... ENTRIESREAD / XGROUP CREATECONSUMER commands
// of streamPropagateXCLAIM / streamPropagateGroupID / streamPropagateConsumerCreation.
import type { CommandSpec } from './types';
import type { Client } from '../server/client';
import type { Heap } from '../store/heap';
import { def } from './def';
import { T_STREAM, E_STREAM } from '../store/keyspace';
import { E_SYNTAX, E_NOT_INT, is, parseI64, cstr } from './args';
import {
  StreamID, StreamIter, U64_MAX, idCmp, idStr, idIncr, streamNew, streamFree, streamNodeCount, streamRaxNodes, streamLength, streamLastId, streamFirstId,
  streamMaxDeletedId, streamEntriesAdded, streamGetEdgeId, streamRangeHasTombstones as rangeHasTombstones,
  streamEstimateDistance as estimateDistance,
} from '../store/stream';
import {
  SCG_INVALID_ENTRIES_READ, cgCount, cgAt, cgLookup, cgCreate, cgDestroy, cgName, cgLastId, cgSetLastId,
  cgEntriesRead, cgSetEntriesRead, pelCount, pelRec, pelFind, pelSeek, nackId, nackTime, nackCount, nackConsumer,
  nackSet, consCount, consAt, consName, consSeen, consSetSeen, consPelCount, consPelId, consPelSeek, consLookup,
  consCreate, consDelete, nackDeliver, nackCreateUnowned, nackAssign, nackRemove,
} from '../store/stream-groups';
import { parseId, parseIdOrReply, parseIntervalOrReply, parseXreadOptions, xreadKeys, lastExclude, llOrReply, lookup, replyId, replyEntry, replyRange } from './streams';
import { E_NO_KEY } from './args';
import { notifyKeyspaceEvent } from '../server/notify';
import { NOTIFY_STREAM } from '../config/directives';
import { writeHelp } from './connection';
import { blockForKeys, type Waiter } from '../server/blocking';

const B = (s: string): Buffer => Buffer.from(s, 'latin1');
const XCLAIM = B('XCLAIM');
const XGROUP = B('XGROUP');
const SETID = B('SETID');
const CREATECONSUMER = B('CREATECONSUMER');
const ENTRIESREAD = B('ENTRIESREAD');
const ZERO = B('0');
const TIME = B('TIME');
const RETRYCOUNT = B('RETRYCOUNT');
const FORCE = B('FORCE');
const JUSTID = B('JUSTID');
const LASTID = B('LASTID');

const it = new StreamIter();

function nameOf(b: Uint8Array): string {
  return cstr(b, 1 << 20);
}

function noGroup(c: Client, key: Uint8Array, group: Uint8Array, tail = ''): void {
  c.w.error(`NOGROUP No such key '${nameOf(key)}' or consumer group '${nameOf(group)}'${tail}`);
}

/** streamEntryExists. */
function entryExists(h: Heap, s: number, id: StreamID): boolean {
  return it.start(h, s, id, id, false).next();
}

/** Reply with the entry id (it exists: checked by the caller). */
function replyOne(c: Client, h: Heap, s: number, id: StreamID): void {
  const si = it.start(h, s, id, id, false);
  if (si.next()) replyEntry(c, h, si);
}

/** streamReplyWithCGLag. */
function replyLag(c: Client, h: Heap, s: number, g: number): void {
  const added = streamEntriesAdded(h, s);
  const er = cgEntriesRead(h, g);
  if (!added) return c.w.int(0);
  if (er !== SCG_INVALID_ENTRIES_READ && !rangeHasTombstones(h, s, cgLastId(h, g))) return c.w.int(added - er);
  const est = estimateDistance(h, s, cgLastId(h, g));
  if (est !== SCG_INVALID_ENTRIES_READ) return c.w.int(added - est);
  c.w.nil();
}

function replyEntriesRead(c: Client, h: Heap, g: number): void {
  const er = cgEntriesRead(h, g);
  if (er !== SCG_INVALID_ENTRIES_READ) c.w.int(er);
  else c.w.nil();
}

// ---- propagation ----------------------------------------------------------------------------

/** streamPropagateXCLAIM. */
function propagateXclaim(c: Client, key: Uint8Array, g: number, group: Uint8Array, id: Uint8Array, rec: number): void {
  const p = c.srv.prop;
  if (!p.on()) return;
  const h = c.store.heap;
  const cons = nackConsumer(h, rec);
  p.alsoPropagate(c.db, [
    XCLAIM, key, group, Buffer.from(consName(h, cons)), ZERO, id, TIME, B(String(nackTime(h, rec))),
    RETRYCOUNT, B(String(nackCount(h, rec))), FORCE, JUSTID, LASTID, B(idStr(cgLastId(h, g))),
  ]);
}

/** streamPropagateGroupID. */
function propagateGroupId(c: Client, key: Uint8Array, g: number, group: Uint8Array): void {
  const p = c.srv.prop;
  if (!p.on()) return;
  const h = c.store.heap;
  p.alsoPropagate(c.db, [XGROUP, SETID, key, group, B(idStr(cgLastId(h, g))), ENTRIESREAD, B(String(cgEntriesRead(h, g)))]);
}

/** streamPropagateConsumerCreation. */
function propagateConsumerCreation(c: Client, key: Uint8Array, group: Uint8Array, consumer: Uint8Array): void {
  const p = c.srv.prop;
  if (p.on()) p.alsoPropagate(c.db, [XGROUP, CREATECONSUMER, key, group, consumer]);
}

/** streamLookupConsumer (refreshing seen-time) or streamCreateConsumer (notify, dirty). */
function lookupOrCreateConsumer(c: Client, g: number, name: Uint8Array, key: Uint8Array): { cons: number; created: boolean } {
  const h = c.store.heap;
  const now = Date.now();
  let cons = consLookup(h, g, name);
  if (cons !== 0) {
    consSetSeen(h, cons, now);
    return { cons, created: false };
  }
  cons = consCreate(h, g, name, now);
  c.store.dirty++;
  notifyKeyspaceEvent(c, NOTIFY_STREAM, 'xgroup-createconsumer', key, c.db);
  return { cons, created: true };
}

// ---- XGROUP ---------------------------------------------------------------------------------

const XGROUP_HELP = [
  'XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'CREATE <key> <groupname> <id|$> [option]',
  '    Create a new consumer group. Options are:',
  '    * MKSTREAM',
  '      Create the empty stream if it does not exist.',
  '    * ENTRIESREAD entries_read',
  "      Set the group's entries_read counter (internal use).",
  'CREATECONSUMER <key> <groupname> <consumer>',
  '    Create a new consumer in the specified group.',
  'DELCONSUMER <key> <groupname> <consumer>',
  '    Remove the specified consumer.',
  'DESTROY <key> <groupname>',
  '    Remove the specified group.',
  'SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]',
  '    Set the current group ID and entries_read counter.',
  'HELP',
  '    Prints this help.',
];

function subSyntax(c: Client, argv: Buffer[]): void {
  c.w.error(`ERR unknown subcommand or wrong number of arguments for '${cstr(argv[1], 128)}'. Try ${cstr(argv[0]).toUpperCase()} HELP.`);
}

function xgroup(c: Client, argv: Buffer[]): void {
  const argc = argv.length;
  const opt = argv[1];
  const st = c.store;
  const h = st.heap;
  let mkstream = false;
  let entriesRead = SCG_INVALID_ENTRIES_READ;
  let e = 0;
  let s = 0;
  let g = 0;
  if (argc >= 4) {
    const create = is(opt, 'create');
    const setid = is(opt, 'setid');
    let i = 5;
    while (i < argc) {
      if (create && is(argv[i], 'mkstream')) {
        mkstream = true;
        i++;
      } else if ((create || setid) && is(argv[i], 'entriesread') && i + 1 < argc) {
        const v = parseI64(argv[i + 1]);
        if (v === null) return c.w.error(E_NOT_INT);
        if (v < 0 && v !== -1) return c.w.error('ERR value for ENTRIESREAD must be positive or -1');
        entriesRead = Number(v);
        i += 2;
      } else return subSyntax(c, argv);
    }
    e = lookup(c, argv[2], false);
    if (e < 0) return;
    if (e !== 0) s = st.objPtr(e);
  }
  if (argc >= 4 && !mkstream) {
    if (s === 0) {
      return c.w.error('ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.');
    }
    g = cgLookup(h, s, argv[3]);
    if (g === 0 && (is(opt, 'setid') || is(opt, 'createconsumer') || is(opt, 'delconsumer'))) {
      return c.w.error(`NOGROUP No such consumer group '${nameOf(argv[3])}' for key name '${nameOf(argv[2])}'`);
    }
  }
  const key = argv[2];
  if (argc === 2 && is(opt, 'help')) {
    writeHelp(c, XGROUP_HELP);
  } else if (is(opt, 'create') && argc >= 5 && argc <= 8) {
    let id: StreamID | null;
    const a = argv[4];
    if (a.length === 1 && a[0] === 0x24) id = s !== 0 ? streamLastId(h, s) : { ms: 0n, seq: 0n };
    else {
      id = parseIdOrReply(c, a, 0n, true);
      if (id === null) return;
    }
    if (s === 0) {
      // MKSTREAM: the key is added only with its group in (an allocation failure leaves nothing).
      const ns = streamNew(h);
      try {
        cgCreate(h, ns, argv[3], id, entriesRead);
        st.createObject(c.db, key, T_STREAM, E_STREAM, ns);
        st.markStreamSlot(key);
      } catch (err) {
        streamFree(h, ns);
        throw err;
      }
      c.w.ok();
      st.dirty++;
      notifyKeyspaceEvent(c, NOTIFY_STREAM, 'xgroup-create', key, c.db);
      return;
    }
    if (cgCreate(h, s, argv[3], id, entriesRead) !== 0) {
      st.markStreamSlot(key);
      c.w.ok();
      st.dirty++;
      notifyKeyspaceEvent(c, NOTIFY_STREAM, 'xgroup-create', key, c.db);
    } else c.w.error('BUSYGROUP Consumer Group name already exists');
  } else if (is(opt, 'setid') && (argc === 5 || argc === 7)) {
    let id: StreamID | null;
    const a = argv[4];
    if (a.length === 1 && a[0] === 0x24) id = streamLastId(h, s);
    else {
      id = parseIdOrReply(c, a, 0n, false);
      if (id === null) return;
    }
    cgSetLastId(h, g, id);
    cgSetEntriesRead(h, g, entriesRead);
    c.w.ok();
    st.dirty++;
    notifyKeyspaceEvent(c, NOTIFY_STREAM, 'xgroup-setid', key, c.db);
  } else if (is(opt, 'destroy') && argc === 4) {
    if (g !== 0) {
      cgDestroy(h, s, argv[3]);
      c.w.int(1);
      st.dirty++;
      notifyKeyspaceEvent(c, NOTIFY_STREAM, 'xgroup-destroy', key, c.db);
      // Blocked XREADGROUP readers of this group get -NOGROUP.
      st.signalReady(c.db, key);
    } else c.w.int(0);
  } else if (is(opt, 'createconsumer') && argc === 5) {
    if (consLookup(h, g, argv[4]) !== 0) return c.w.int(0);
    consCreate(h, g, argv[4], Date.now());
    c.w.int(1);
    st.dirty++;
    notifyKeyspaceEvent(c, NOTIFY_STREAM, 'xgroup-createconsumer', key, c.db);
  } else if (is(opt, 'delconsumer') && argc === 5) {
    let pending = 0;
    const cons = consLookup(h, g, argv[4]);
    if (cons !== 0) {
      pending = consPelCount(h, cons);
      consDelete(h, g, cons);
      st.dirty++;
      notifyKeyspaceEvent(c, NOTIFY_STREAM, 'xgroup-delconsumer', key, c.db);
    }
    c.w.int(pending);
  } else subSyntax(c, argv);
}


function xgroupParent(c: Client): void {
  c.w.error("ERR wrong number of arguments for 'xgroup' command");
}

// ---- XREADGROUP -----------------------------------------------------------------------------

const MAX_ID: StreamID = { ms: U64_MAX, seq: U64_MAX };

function xreadgroup(c: Client, argv: Buffer[]): void {
  const st = c.store;
  const h = st.heap;
  const p = c.srv.prop;
  // The command is propagated (as XCLAIM / XGROUP) by what it does, never as itself.
  p.preventPropagation();
  const opts = parseXreadOptions(c, argv, true);
  if (opts === null) return;
  const { timeout, count, streamsArg, streamsCount, noack } = opts;
  const groupname = opts.group;
  const consumername = opts.consumer;
  if (groupname === null || consumername === null) return c.w.error('ERR Missing GROUP option for XREADGROUP');
  const ids: StreamID[] = [];
  const groups: number[] = [];
  for (let i = streamsArg + streamsCount; i < argv.length; i++) {
    const key = argv[i - streamsCount];
    const e = lookup(c, key, true);
    if (e < 0) return;
    if (e !== 0) st.changingAfterRead(e);
    const g = e === 0 ? 0 : cgLookup(h, st.objPtr(e), groupname);
    if (g === 0) return noGroup(c, key, groupname, ' in XREADGROUP with GROUP option');
    st.markStreamSlot(key); // groups loaded from RDB or RESTORE are marked on first use
    groups.push(g);
    const a = argv[i];
    if (a.length === 1 && a[0] === 0x24) {
      return c.w.error('ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.');
    }
    if (a.length === 1 && a[0] === 0x3e) {
      ids.push({ ms: U64_MAX, seq: U64_MAX });
      continue;
    }
    const id = parseIdOrReply(c, a, 0n, true);
    if (id === null) return;
    ids.push(id);
  }
  let n = 0;
  let mark = 0;
  for (let i = 0; i < streamsCount; i++) {
    const key = argv[streamsArg + i];
    const e = st.peek(c.db, key);
    if (e === 0) continue;
    const s = st.objPtr(e);
    const g = groups[i];
    let gt = ids[i];
    let history = false;
    let serve = false;
    if (idCmp(gt, MAX_ID) !== 0) {
      serve = true;
      history = true;
    } else if (streamLength(h, s) > 0) {
      const last = cgLastId(h, g);
      if (idCmp(streamGetEdgeId(h, s, false, true), last) > 0) {
        serve = true;
        gt = last;
      }
    }
    if (!serve) continue;
    if (++n === 1) mark = c.w.deferMark();
    const start = { ms: gt.ms, seq: gt.seq };
    idIncr(start);
    if (c.w.resp === 2) c.w.array(2);
    c.w.bulk(key);
    const { cons, created } = lookupOrCreateConsumer(c, g, consumername, key);
    if (created && noack) propagateConsumerCreation(c, key, groupname, consumername);
    if (history) replyFromConsumerPel(c, h, s, g, cons, start, count);
    else replyNewEntries(c, h, s, g, cons, start, count, noack, key, groupname);
    st.dirty++;
  }
  if (n > 0) {
    if (c.w.resp === 2) c.w.arrayAt(mark, n);
    else c.w.mapAt(mark, n);
    return;
  }
  // Inside MULTI (and scripts, refused above) BLOCK acts as an immediate timeout.
  if (timeout === -1 || c.inExec || c.inScript) return c.w.nilArray();
  // Only '>' reads get here (history is always served at once): each key waits for entries
  // past its group's last ID, read when served. Every waiter is offered a ready key (shared),
  // in the order they blocked, as serveClientsBlockedOnStreamKey.
  const w = blockForKeys(c, c.db, argv.slice(streamsArg, streamsArg + streamsCount), timeout, serveXreadgroup, timeoutNilArray, true);
  // XREAD_BLOCKED_DEFAULT_COUNT: a blocked read without COUNT gets at most 1000 entries.
  w.count = count ? count : 1000;
  groupWaits.set(w, { group: groupname, consumer: consumername, noack });
}

interface GroupWait { group: Buffer; consumer: Buffer; noack: boolean }
const groupWaits = new WeakMap<Waiter, GroupWait>();

function timeoutNilArray(w: Waiter): void {
  w.c.w.nilArray();
}

/** serveClientsBlockedOnStreamKey with a group. */
function serveXreadgroup(w: Waiter, key: Buffer): boolean {
  const c = w.c;
  const st = c.store;
  const gw = groupWaits.get(w) as GroupWait;
  const e = st.find(w.db, key);
  if (e === 0 || st.type(e) !== T_STREAM) {
    // unblockDeletedStreamReadgroupClients: the group went with the key.
    c.w.error('UNBLOCKED the stream key no longer exists');
    return true;
  }
  const h = st.heap;
  const s = st.objPtr(e);
  const g = cgLookup(h, s, gw.group);
  if (g === 0) {
    c.w.error('NOGROUP the consumer group this client was blocked on no longer exists');
    return true;
  }
  const gt = cgLastId(h, g);
  if (idCmp(streamLastId(h, s), gt) <= 0) return false;
  const start = { ms: gt.ms, seq: gt.seq };
  idIncr(start);
  const { cons, created } = lookupOrCreateConsumer(c, g, gw.consumer, key);
  if (created && gw.noack) propagateConsumerCreation(c, key, gw.group, gw.consumer);
  if (c.w.resp === 2) {
    c.w.array(1);
    c.w.array(2);
  } else c.w.map(1);
  c.w.bulk(key);
  replyNewEntries(c, h, s, g, cons, start, w.count, gw.noack, key, gw.group);
  st.dirty++;
  return true;
}

/** streamReplyWithRange with a group: new entries, the group's last ID and the PEL updated. */
function replyNewEntries(
  c: Client, h: Heap, s: number, g: number, cons: number, start: StreamID, count: number, noack: boolean,
  key: Uint8Array, groupname: Uint8Array,
): void {
  const mark = c.w.deferMark();
  let n = 0;
  let propagateLast = false;
  const si = new StreamIter().start(h, s, start, null, false);
  const now = Date.now();
  while (si.next()) {
    const id = { ms: si.id.ms, seq: si.id.seq };
    if (idCmp(id, cgLastId(h, g)) > 0) {
      const er = cgEntriesRead(h, g);
      if (er !== SCG_INVALID_ENTRIES_READ && !rangeHasTombstones(h, s, id)) cgSetEntriesRead(h, g, er + 1);
      else if (streamEntriesAdded(h, s)) cgSetEntriesRead(h, g, estimateDistance(h, s, id));
      cgSetLastId(h, g, id);
      if (noack) propagateLast = true;
    }
    replyEntry(c, h, si);
    if (!noack) {
      const rec = nackDeliver(h, g, cons, id, now);
      propagateXclaim(c, key, g, groupname, B(idStr(id)), rec);
    }
    n++;
    if (count && count === n) break;
  }
  if (propagateLast) propagateGroupId(c, key, g, groupname);
  c.w.arrayAt(mark, n);
}

/** streamReplyWithRangeFromConsumerPEL: the consumer's own history from start. */
function replyFromConsumerPel(c: Client, h: Heap, s: number, g: number, cons: number, start: StreamID, count: number): void {
  const mark = c.w.deferMark();
  let n = 0;
  const now = Date.now();
  for (let j = consPelSeek(h, cons, start); j < consPelCount(h, cons) && (!count || n < count); j++) {
    const id = consPelId(h, cons, j);
    const si = it.start(h, s, id, id, false);
    if (!si.next()) {
      c.w.array(2);
      replyId(c, id);
      c.w.nilArray();
    } else {
      replyEntry(c, h, si);
      const rec = pelRec(h, g, pelFind(h, g, id));
      nackSet(h, rec, now, nackCount(h, rec) + 1);
    }
    n++;
  }
  c.w.arrayAt(mark, n);
}

// ---- XACK / XPENDING ------------------------------------------------------------------------

function xack(c: Client, argv: Buffer[]): void {
  const st = c.store;
  const h = st.heap;
  const e = lookup(c, argv[1], true);
  if (e < 0) return;
  if (e !== 0) st.changingAfterRead(e);
  const g = e === 0 ? 0 : cgLookup(h, st.objPtr(e), argv[2]);
  if (g === 0) return c.w.int(0);
  const ids: StreamID[] = [];
  for (let j = 3; j < argv.length; j++) {
    const id = parseIdOrReply(c, argv[j], 0n, true);
    if (id === null) return;
    ids.push(id);
  }
  let acked = 0;
  for (const id of ids) {
    if (nackRemove(h, g, id)) {
      acked++;
      st.dirty++;
    }
  }
  c.w.int(acked);
}

function xpending(c: Client, argv: Buffer[]): void {
  const argc = argv.length;
  const justinfo = argc === 3;
  let start: StreamID = { ms: 0n, seq: 0n };
  let end: StreamID = { ms: 0n, seq: 0n };
  let count = 0;
  let minidle = 0;
  let consumername: Buffer | null = null;
  if (argc !== 3 && (argc < 6 || argc > 9)) return c.w.error(E_SYNTAX);
  if (argc >= 6) {
    let startidx = 3;
    if (is(argv[3], 'idle')) {
      const v = llOrReply(c, argv[4]);
      if (v === null) return;
      minidle = v;
      if (argc < 8) return c.w.error(E_SYNTAX);
      startidx += 2;
    }
    const cv = llOrReply(c, argv[startidx + 2]);
    if (cv === null) return;
    count = cv < 0 ? 0 : cv;
    const sid = parseIntervalOrReply(c, argv[startidx], 0n);
    if (sid === null) return;
    if (lastExclude() && !idIncr(sid)) return c.w.error('ERR invalid start ID for the interval');
    const eid = parseIntervalOrReply(c, argv[startidx + 1], U64_MAX);
    if (eid === null) return;
    if (lastExclude() && !idDecrLocal(eid)) return c.w.error('ERR invalid end ID for the interval');
    start = sid;
    end = eid;
    if (startidx + 3 < argc) consumername = argv[startidx + 3];
  }
  const st = c.store;
  const h = st.heap;
  const e = lookup(c, argv[1], true);
  if (e < 0) return;
  const s = e === 0 ? 0 : st.objPtr(e);
  const g = s === 0 ? 0 : cgLookup(h, s, argv[2]);
  if (g === 0) return noGroup(c, argv[1], argv[2]);
  if (justinfo) {
    c.w.array(4);
    const pn = pelCount(h, g);
    c.w.int(pn);
    if (pn === 0) {
      c.w.nil();
      c.w.nil();
      c.w.nilArray();
      return;
    }
    replyId(c, nackId(h, pelRec(h, g, 0)));
    replyId(c, nackId(h, pelRec(h, g, pn - 1)));
    const mark = c.w.deferMark();
    let n = 0;
    const nc = consCount(h, g);
    for (let k = 0; k < nc; k++) {
      const cons = consAt(h, g, k);
      const cp = consPelCount(h, cons);
      if (cp === 0) continue;
      c.w.array(2);
      c.w.bulk(consName(h, cons));
      c.w.bulkStr(String(cp));
      n++;
    }
    c.w.arrayAt(mark, n);
    return;
  }
  let cons = 0;
  if (consumername !== null) {
    cons = consLookup(h, g, consumername);
    if (cons === 0) return c.w.array(0);
  }
  const now = Date.now();
  const mark = c.w.deferMark();
  let n = 0;
  const total = cons !== 0 ? consPelCount(h, cons) : pelCount(h, g);
  for (let j = cons !== 0 ? consPelSeek(h, cons, start) : pelSeek(h, g, start); count && j < total; j++) {
    const id = cons !== 0 ? consPelId(h, cons, j) : nackId(h, pelRec(h, g, j));
    if (idCmp(id, end) > 0) break;
    const rec = cons !== 0 ? pelRec(h, g, pelFind(h, g, id)) : pelRec(h, g, j);
    const t = nackTime(h, rec);
    if (minidle && now - t < minidle) continue;
    n++;
    count--;
    c.w.array(4);
    replyId(c, id);
    c.w.bulk(consName(h, nackConsumer(h, rec)));
    const elapsed = now - t;
    c.w.int(elapsed < 0 ? 0 : elapsed);
    c.w.int(nackCount(h, rec));
  }
  c.w.arrayAt(mark, n);
}

function idDecrLocal(id: StreamID): boolean {
  if (id.seq === 0n) {
    if (id.ms === 0n) {
      id.ms = U64_MAX;
      id.seq = U64_MAX;
      return false;
    }
    id.ms--;
    id.seq = U64_MAX;
  } else id.seq--;
  return true;
}

// ---- XCLAIM / XAUTOCLAIM --------------------------------------------------------------------

function llMsg(c: Client, b: Uint8Array, msg: string): number | null {
  const v = parseI64(b);
  if (v === null) {
    c.w.error(`ERR ${msg}`);
    return null;
  }
  return Number(v);
}

function xclaim(c: Client, argv: Buffer[]): void {
  const st = c.store;
  const h = st.heap;
  const key = argv[1];
  const groupname = argv[2];
  const e = lookup(c, key, true);
  if (e < 0) return;
  if (e !== 0) st.changingAfterRead(e);
  const s = e === 0 ? 0 : st.objPtr(e);
  const g = s === 0 ? 0 : cgLookup(h, s, groupname);
  if (g === 0) return noGroup(c, key, groupname);
  let minidle = llMsg(c, argv[4], 'Invalid min-idle-time argument for XCLAIM');
  if (minidle === null) return;
  if (minidle < 0) minidle = 0;
  const ids: StreamID[] = [];
  let j = 5;
  for (; j < argv.length; j++) {
    const id = parseId(argv[j], 0n, true, false);
    if (id === null) break;
    ids.push(id);
  }
  const lastIdArg = j - 1;
  const now = Date.now();
  let lastId: StreamID = { ms: 0n, seq: 0n };
  let deliverytime = -1;
  let retrycount = -1;
  let force = false;
  let justid = false;
  for (; j < argv.length; j++) {
    const more = argv.length - 1 - j;
    const o = argv[j];
    if (is(o, 'force')) force = true;
    else if (is(o, 'justid')) justid = true;
    else if (is(o, 'idle') && more) {
      j++;
      const v = llMsg(c, argv[j], 'Invalid IDLE option argument for XCLAIM');
      if (v === null) return;
      deliverytime = now - v;
    } else if (is(o, 'time') && more) {
      j++;
      const v = llMsg(c, argv[j], 'Invalid TIME option argument for XCLAIM');
      if (v === null) return;
      deliverytime = v;
    } else if (is(o, 'retrycount') && more) {
      j++;
      const v = llMsg(c, argv[j], 'Invalid RETRYCOUNT option argument for XCLAIM');
      if (v === null) return;
      retrycount = v;
    } else if (is(o, 'lastid') && more) {
      j++;
      const id = parseIdOrReply(c, argv[j], 0n, true);
      if (id === null) return;
      lastId = id;
    } else return c.w.error(`ERR Unrecognized XCLAIM option '${cstr(o, 1 << 20)}'`);
  }
  const p = c.srv.prop;
  p.preventPropagation();
  let propagateLast = false;
  if (idCmp(lastId, cgLastId(h, g)) > 0) {
    cgSetLastId(h, g, lastId);
    propagateLast = true;
  }
  if (deliverytime !== -1) {
    if (deliverytime < 0 || deliverytime > now) deliverytime = now;
  } else deliverytime = now;
  let cons = 0;
  const mark = c.w.deferMark();
  let n = 0;
  for (let k = 5; k <= lastIdArg; k++) {
    const id = ids[k - 5];
    let pi = pelFind(h, g, id);
    if (!entryExists(h, s, id)) {
      if (pi >= 0) {
        propagateXclaim(c, key, g, groupname, argv[k], pelRec(h, g, pi));
        propagateLast = false;
        st.dirty++;
        nackRemove(h, g, id);
      }
      continue;
    }
    if (force && pi < 0) {
      nackCreateUnowned(h, g, id, now);
      pi = pelFind(h, g, id);
    }
    if (pi < 0) continue;
    let rec = pelRec(h, g, pi);
    if (nackConsumer(h, rec) !== 0 && minidle) {
      if (now - nackTime(h, rec) < minidle) continue;
    }
    if (cons === 0) cons = lookupOrCreateConsumer(c, g, argv[3], key).cons;
    rec = nackAssign(h, g, cons, id);
    let dc = nackCount(h, rec);
    if (retrycount >= 0) dc = retrycount;
    else if (!justid) dc++;
    nackSet(h, rec, deliverytime, dc);
    if (justid) replyId(c, id);
    else replyOne(c, h, s, id);
    n++;
    propagateXclaim(c, key, g, groupname, argv[k], rec);
    propagateLast = false;
    st.dirty++;
  }
  if (propagateLast) {
    propagateGroupId(c, key, g, groupname);
    st.dirty++;
  }
  c.w.arrayAt(mark, n);
}

const AUTOCLAIM_MAX_COUNT = 9223372036854775807n / 16n;

function xautoclaim(c: Client, argv: Buffer[]): void {
  const st = c.store;
  const h = st.heap;
  const key = argv[1];
  const groupname = argv[2];
  let minidle = llMsg(c, argv[4], 'Invalid min-idle-time argument for XAUTOCLAIM');
  if (minidle === null) return;
  if (minidle < 0) minidle = 0;
  const start = parseIntervalOrReply(c, argv[5], 0n);
  if (start === null) return;
  if (lastExclude() && !idIncr(start)) return c.w.error('ERR invalid start ID for the interval');
  let count = 100;
  let justid = false;
  for (let j = 6; j < argv.length; j++) {
    const more = argv.length - 1 - j;
    if (is(argv[j], 'count') && more) {
      const v = parseI64(argv[j + 1]);
      if (v === null || v < 1 || BigInt(v) > AUTOCLAIM_MAX_COUNT) return c.w.error('ERR COUNT must be > 0');
      count = Number(v);
      j++;
    } else if (is(argv[j], 'justid')) justid = true;
    else return c.w.error(E_SYNTAX);
  }
  const e = lookup(c, key, true);
  if (e < 0) return;
  if (e !== 0) st.changingAfterRead(e);
  const s = e === 0 ? 0 : st.objPtr(e);
  const g = s === 0 ? 0 : cgLookup(h, s, groupname);
  if (g === 0) return noGroup(c, key, groupname);
  // Redis allocates count IDs for the deleted list up front (ztrymalloc): a count it cannot
  // allocate is refused before anything changes.
  if (count * 16 > 1 << 30) return c.w.error('ERR Insufficient memory, failed allocating transient memory, COUNT too high.');
  c.srv.prop.preventPropagation();
  let attempts = count * 10;
  let idx = pelSeek(h, g, start);
  const now = Date.now();
  let cons = 0;
  const claimed: StreamID[] = [];
  const deleted: StreamID[] = [];
  while (attempts > 0 && count > 0 && idx < pelCount(h, g)) {
    attempts--;
    let rec = pelRec(h, g, idx);
    const id = nackId(h, rec);
    if (!entryExists(h, s, id)) {
      propagateXclaim(c, key, g, groupname, B(idStr(id)), rec);
      st.dirty++;
      nackRemove(h, g, id);
      deleted.push(id);
      count--;
      continue;
    }
    if (minidle && now - nackTime(h, rec) < minidle) {
      idx++;
      continue;
    }
    if (cons === 0) cons = lookupOrCreateConsumer(c, g, argv[3], key).cons;
    rec = nackAssign(h, g, cons, id);
    nackSet(h, rec, now, justid ? nackCount(h, rec) : nackCount(h, rec) + 1);
    claimed.push(id);
    count--;
    propagateXclaim(c, key, g, groupname, B(idStr(id)), rec);
    st.dirty++;
    idx++;
  }
  const endId = idx < pelCount(h, g) ? nackId(h, pelRec(h, g, idx)) : { ms: 0n, seq: 0n };
  c.w.array(3);
  replyId(c, endId);
  c.w.array(claimed.length);
  for (const id of claimed) {
    if (justid) replyId(c, id);
    else replyOne(c, h, s, id);
  }
  c.w.array(deleted.length);
  for (const id of deleted) replyId(c, id);
}

// ---- XINFO parts ----------------------------------------------------------------------------

/** XINFO GROUPS. */
export function xinfoGroupsReply(c: Client, h: Heap, s: number): void {
  const n = cgCount(h, s);
  c.w.array(n);
  for (let i = 0; i < n; i++) {
    const g = cgAt(h, s, i);
    c.w.map(6);
    c.w.bulkStr('name');
    c.w.bulk(cgName(h, g));
    c.w.bulkStr('consumers');
    c.w.int(consCount(h, g));
    c.w.bulkStr('pending');
    c.w.int(pelCount(h, g));
    c.w.bulkStr('last-delivered-id');
    replyId(c, cgLastId(h, g));
    c.w.bulkStr('entries-read');
    replyEntriesRead(c, h, g);
    c.w.bulkStr('lag');
    replyLag(c, h, s, g);
  }
}

/** XINFO CONSUMERS. */
export function xinfoConsumersReply(c: Client, h: Heap, s: number, key: Uint8Array, group: Uint8Array): void {
  const g = cgLookup(h, s, group);
  if (g === 0) return c.w.error(`NOGROUP No such consumer group '${nameOf(group)}' for key name '${nameOf(key)}'`);
  const n = consCount(h, g);
  c.w.array(n);
  const now = Date.now();
  for (let k = 0; k < n; k++) {
    const cons = consAt(h, g, k);
    let idle = now - consSeen(h, cons);
    if (idle < 0) idle = 0;
    c.w.map(3);
    c.w.bulkStr('name');
    c.w.bulk(consName(h, cons));
    c.w.bulkStr('pending');
    c.w.int(consPelCount(h, cons));
    c.w.bulkStr('idle');
    c.w.int(idle);
  }
}

/** XINFO STREAM FULL's groups array. */
export function xinfoFullGroupsReply(c: Client, h: Heap, s: number, count: number): void {
  const n = cgCount(h, s);
  c.w.array(n);
  for (let i = 0; i < n; i++) {
    const g = cgAt(h, s, i);
    c.w.map(7);
    c.w.bulkStr('name');
    c.w.bulk(cgName(h, g));
    c.w.bulkStr('last-delivered-id');
    replyId(c, cgLastId(h, g));
    c.w.bulkStr('entries-read');
    replyEntriesRead(c, h, g);
    c.w.bulkStr('lag');
    replyLag(c, h, s, g);
    const pn = pelCount(h, g);
    c.w.bulkStr('pel-count');
    c.w.int(pn);
    c.w.bulkStr('pending');
    const pm = count ? Math.min(count, pn) : pn;
    c.w.array(pm);
    for (let j = 0; j < pm; j++) {
      const rec = pelRec(h, g, j);
      c.w.array(4);
      replyId(c, nackId(h, rec));
      c.w.bulk(consName(h, nackConsumer(h, rec)));
      c.w.int(nackTime(h, rec));
      c.w.int(nackCount(h, rec));
    }
    const nc = consCount(h, g);
    c.w.bulkStr('consumers');
    c.w.array(nc);
    for (let k = 0; k < nc; k++) {
      const cons = consAt(h, g, k);
      c.w.map(4);
      c.w.bulkStr('name');
      c.w.bulk(consName(h, cons));
      c.w.bulkStr('seen-time');
      c.w.int(consSeen(h, cons));
      const cp = consPelCount(h, cons);
      c.w.bulkStr('pel-count');
      c.w.int(cp);
      c.w.bulkStr('pending');
      const cm = count ? Math.min(count, cp) : cp;
      c.w.array(cm);
      for (let j = 0; j < cm; j++) {
        const id = consPelId(h, cons, j);
        const rec = pelRec(h, g, pelFind(h, g, id));
        c.w.array(3);
        replyId(c, id);
        c.w.int(nackTime(h, rec));
        c.w.int(nackCount(h, rec));
      }
    }
  }
}

// ---- XINFO ----------------------------------------------------------------------------------

const XINFO_HELP = [
  'XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'CONSUMERS <key> <groupname>',
  '    Show consumers of <groupname>.',
  'GROUPS <key>',
  '    Show the stream consumer groups.',
  'STREAM <key> [FULL [COUNT <count>]',
  '    Show information about the stream.',
  'HELP',
  '    Prints this help.',
];

function xinfoHelp(c: Client): void {
  writeHelp(c, XINFO_HELP);
}



/** lookupKeyReadOrReply(nokeyerr) + checkType for XINFO: the stream header, or 0 (replied). */
function xinfoLookup(c: Client, key: Uint8Array): number {
  const e = lookup(c, key, true);
  if (e < 0) return 0;
  if (e === 0) {
    c.w.error(E_NO_KEY);
    return 0;
  }
  return c.store.objPtr(e);
}

function xinfoStream(c: Client, argv: Buffer[]): void {
  const s = xinfoLookup(c, argv[2]);
  if (s === 0) return;
  const h = c.store.heap;
  let full = true;
  let count = 10;
  const optc = argv.length - 3;
  if (optc === 0) full = false;
  else {
    if (optc !== 1 && optc !== 3) return subSyntax(c, argv);
    if (!is(argv[3], 'full')) return subSyntax(c, argv);
    if (optc === 3) {
      if (!is(argv[4], 'count')) return subSyntax(c, argv);
      const v = llOrReply(c, argv[5]);
      if (v === null) return;
      count = v < 0 ? 10 : v;
    }
  }
  c.w.map(full ? 9 : 10);
  c.w.bulkStr('length');
  c.w.int(streamLength(h, s));
  c.w.bulkStr('radix-tree-keys');
  c.w.int(streamNodeCount(h, s));
  c.w.bulkStr('radix-tree-nodes');
  c.w.int(streamRaxNodes(h, s));
  c.w.bulkStr('last-generated-id');
  replyId(c, streamLastId(h, s));
  c.w.bulkStr('max-deleted-entry-id');
  replyId(c, streamMaxDeletedId(h, s));
  c.w.bulkStr('entries-added');
  c.w.int(streamEntriesAdded(h, s));
  c.w.bulkStr('recorded-first-entry-id');
  replyId(c, streamFirstId(h, s));
  if (!full) {
    c.w.bulkStr('groups');
    c.w.int(cgCount(h, s));
    const start = { ms: 0n, seq: 0n };
    const end = { ms: U64_MAX, seq: U64_MAX };
    c.w.bulkStr('first-entry');
    if (!replyRange(c, h, s, start, end, 1, false, true)) c.w.nil();
    c.w.bulkStr('last-entry');
    if (!replyRange(c, h, s, start, end, 1, true, true)) c.w.nil();
  } else {
    c.w.bulkStr('entries');
    replyRange(c, h, s, null, null, count, false, false);
    c.w.bulkStr('groups');
    xinfoFullGroupsReply(c, h, s, count);
  }
}

function xinfoGroups(c: Client, argv: Buffer[]): void {
  const s = xinfoLookup(c, argv[2]);
  if (s === 0) return;
  xinfoGroupsReply(c, c.store.heap, s);
}

function xinfoConsumers(c: Client, argv: Buffer[]): void {
  const s = xinfoLookup(c, argv[2]);
  if (s === 0) return;
  xinfoConsumersReply(c, c.store.heap, s, argv[2], argv[3]);
}

function xinfoParent(c: Client): void {
  c.w.error("ERR wrong number of arguments for 'xinfo' command");
}



// ---- table ----------------------------------------------------------------------------------

const xacl = (...a: string[]): string[] => [...a, 'stream'];

const xgroupSubcommands: CommandSpec[] = [
  def('create', -5, 'write denyoom', [2, 2, 1], 'stream', 'Create a consumer group.', xgroup, { since: '5.0.0', complexity: 'O(1)', acl: xacl('write', 'slow') }),
  def('createconsumer', 5, 'write denyoom', [2, 2, 1], 'stream', 'Create a consumer in a consumer group.', xgroup, { since: '6.2.0', complexity: 'O(1)', acl: xacl('write', 'slow') }),
  def('delconsumer', 5, 'write', [2, 2, 1], 'stream', 'Delete a consumer from a consumer group.', xgroup, { since: '5.0.0', complexity: 'O(1)', acl: xacl('write', 'slow') }),
  def('destroy', 4, 'write', [2, 2, 1], 'stream', 'Destroy a consumer group.', xgroup, { since: '5.0.0', complexity: "O(N) where N is the number of entries in the group's pending entries list (PEL).", acl: xacl('write', 'slow') }),
  def('help', 2, 'loading stale', [0, 0, 0], 'stream', 'Show helpful text about the different subcommands', xgroup, { since: '5.0.0', complexity: 'O(1)', lock: 'none', acl: xacl('slow') }),
  def('setid', -5, 'write', [2, 2, 1], 'stream', 'Set a consumer group to an arbitrary last delivered ID value.', xgroup, { since: '5.0.0', complexity: 'O(1)', acl: xacl('write', 'slow') }),
];

/** xreadgroup's keys: those after STREAMS (GROUP takes two arguments). */
const xinfoSubcommands: CommandSpec[] = [
  def('consumers', 4, 'readonly', [2, 2, 1], 'stream', 'List the consumers in a consumer group', xinfoConsumers, { since: '5.0.0', complexity: 'O(1)', acl: xacl('read', 'slow') }),
  def('groups', 3, 'readonly', [2, 2, 1], 'stream', 'List the consumer groups of a stream', xinfoGroups, { since: '5.0.0', complexity: 'O(1)', acl: xacl('read', 'slow') }),
  def('help', 2, 'loading stale', [0, 0, 0], 'stream', 'Show helpful text about the different subcommands', xinfoHelp, { since: '5.0.0', complexity: 'O(1)', lock: 'none', acl: xacl('slow') }),
  def('stream', -3, 'readonly', [2, 2, 1], 'stream', 'Get information about a stream', xinfoStream, { since: '5.0.0', complexity: 'O(1)', acl: xacl('read', 'slow') }),
];

export const groupCommands: CommandSpec[] = [
  def('xinfo', -2, '', [0, 0, 0], 'stream', 'A container for stream introspection commands', xinfoParent, { since: '5.0.0', complexity: 'Depends on subcommand.', lock: 'none', acl: ['slow'], subcommands: xinfoSubcommands }),
  def('xgroup', -2, '', [0, 0, 0], 'stream', 'A container for consumer groups commands', xgroupParent, { since: '5.0.0', complexity: 'Depends on subcommand.', lock: 'none', acl: ['slow'], subcommands: xgroupSubcommands }),
  def('xreadgroup', -7, 'write blocking', [0, 0, 0], 'stream', 'Return new entries from a stream using a consumer group, or access the history of the pending entries for a given consumer. Can block.', xreadgroup, { since: '5.0.0', complexity: 'For each stream mentioned: O(M) with M being the number of elements returned. If M is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1). On the other side when XREADGROUP blocks, XADD will pay the O(N) time in order to serve the N clients blocked on the stream getting new data.', keys: xreadKeys, acl: xacl('write', 'slow', 'blocking') }),
  def('xack', -4, 'write fast', [1, 1, 1], 'stream', 'Marks a pending message as correctly processed, effectively removing it from the pending entries list of the consumer group. Return value of the command is the number of messages successfully acknowledged, that is, the IDs we were actually able to resolve in the PEL.', xack, { since: '5.0.0', complexity: 'O(1) for each message ID processed.', acl: xacl('write', 'fast') }),
  def('xpending', -3, 'readonly', [1, 1, 1], 'stream', 'Return information and entries from a stream consumer group pending entries list, that are messages fetched but never acknowledged.', xpending, { since: '5.0.0', complexity: 'O(N) with N being the number of elements returned, so asking for a small fixed number of entries per call is O(1). O(M), where M is the total number of entries scanned when used with the IDLE filter. When the command returns just the summary and the list of consumers is small, it runs in O(1) time; otherwise, an additional O(N) time for iterating every consumer.', acl: xacl('read', 'slow') }),
  def('xclaim', -6, 'write fast', [1, 1, 1], 'stream', 'Changes (or acquires) ownership of a message in a consumer group, as if the message was delivered to the specified consumer.', xclaim, { since: '5.0.0', complexity: 'O(log N) with N being the number of messages in the PEL of the consumer group.', acl: xacl('write', 'fast') }),
  def('xautoclaim', -6, 'write fast', [1, 1, 1], 'stream', 'Changes (or acquires) ownership of messages in a consumer group, as if the messages were delivered to the specified consumer.', xautoclaim, { since: '6.2.0', complexity: 'O(1) if COUNT is small.', acl: xacl('write', 'fast') }),
];

// Transactions (multi.c): MULTI, EXEC, DISCARD, WATCH, UNWATCH.
// EXEC takes the slot locks of every queued command's keys and every WATCHed key at once, in
// ascending order, so the whole transaction is atomic across the keyspace and WATCH versions are
// checked under the same locks that writers take.
import { aclDeniedAtExec } from '../server/acl';
import type { CommandSpec } from './types';
import type { Client, WatchedKey } from '../server/client';
import { def } from './def';
import { commandKeys, lookupCommand } from './registry';
import { busyKind } from '../scripting/engine';
import { LOCK_BUSY } from '../server/coordinator';
import { F_WALKS, F_WRITE, LOCK_ALL, LOCK_KEYS } from './flags';
import { S_WATCHING } from '../server/context';
import { MISC_WATCHED_EVER, MISC_WATCHERS } from '../store/keyspace';
import { drainInbox } from '../server/tracking';
import { replyLater } from './deferred';


function multi(c: Client): void {
  if (c.inMulti) return c.w.error('ERR MULTI calls can not be nested');
  c.inMulti = true;
  c.multiError = false;
  c.multiQueue = [];
  c.w.ok();
}

function discard(c: Client): void {
  if (!c.inMulti) return c.w.error('ERR DISCARD without MULTI');
  resetMulti(c);
  unwatchAll(c);
  c.w.ok();
}

function resetMulti(c: Client): void {
  c.inMulti = false;
  c.multiError = false;
  c.multiQueue = [];
}

export function unwatchAll(c: Client): void {
  if (c.watched.length > 0) {
    c.srv.addStat(S_WATCHING, -1);
    Atomics.sub(c.store.i32, c.store.L.misc + MISC_WATCHERS, 1);
  }
  c.watched = [];
  c.watchedBytes = 0;
}

function watch(c: Client, argv: Buffer[]): void {
  if (c.inMulti) return c.w.error('ERR WATCH inside MULTI is not allowed');
  const s = c.store;
  s.now = Date.now();
  if (c.watched.length === 0) {
    c.srv.addStat(S_WATCHING, 1);
    Atomics.add(s.i32, s.L.misc + MISC_WATCHERS, 1);
    Atomics.store(s.i32, s.L.misc + MISC_WATCHED_EVER, 1);
    if (!c.onClose.includes(unwatchAll)) c.onClose.push(unwatchAll);
  }
  for (let i = 1; i < argv.length; i++) {
    const key = argv[i];
    if (c.watched.some((w) => w.db === c.db && w.key.equals(key))) continue;
    const counters = new Uint32Array(s.dbs);
    for (let p = 0; p < s.dbs; p++) counters[p] = s.bucketCounter(p, key);
    const state = s.peek(c.db, key) !== 0 ? 1 : s.isStale(c.db, key) ? 2 : 0;
    c.watched.push({ db: c.db, key: Buffer.from(key), version: s.version(c.db, key), expiredAt: state, phys: s.physOf(c.db), counters });
    // Redis counts a list node and a watchedKey per key (multiStateMemOverhead); the key copy
    // and the per-db counters are this client's own here.
    c.watchedBytes += 56 + key.length + counters.byteLength;
  }
  c.w.ok();
}

/**
 * Did a WATCHed key change logically (multi.c's touchWatchedKey / isWatchedKeyExpired)? A key
 * live at WATCH is changed by any touch, and by expiring. A key absent or stale at WATCH (an
 * expired key counts as absent) is changed only by real writes: not by FLUSHDB or SWAPDB leaving
 * it non-live, nor by the lazy or active deletion of the stale entry (one bump of its bucket).
 */
function watchedKeyChanged(s: Client['store'], w: WatchedKey): boolean {
  const liveNow = s.peek(w.db, w.key) !== 0;
  if (s.version(w.db, w.key) === w.version) return w.expiredAt === 1 && !liveNow;
  if (w.expiredAt === 1 || liveNow || w.counters === undefined || w.phys === undefined) return true;
  const p0 = w.phys;
  const p1 = s.physOf(w.db);
  let bumps = (s.bucketCounter(p0, w.key) - w.counters[p0]) >>> 0;
  if (p1 !== p0) bumps += (s.bucketCounter(p1, w.key) - w.counters[p1]) >>> 0;
  if (bumps === 0) return false;
  // One bump with the entry gone: the deletion of an entry that was stale when watched, or
  // that SWAPDB brought in stale. Redis clears its expired flag: no logical change.
  return !(bumps === 1 && (w.expiredAt === 2 || p1 !== p0) && !s.isStale(w.db, w.key));
}

function unwatch(c: Client): void {
  unwatchAll(c);
  c.w.ok();
}

function exec(c: Client): void {
  if (!c.inMulti) return c.w.error('ERR EXEC without MULTI');
  const queue = c.multiQueue;
  if (c.multiError) {
    resetMulti(c);
    unwatchAll(c);
    return c.w.error('EXECABORT Transaction discarded because of previous errors.');
  }
  const s = c.store;
  const coord = c.srv.coord;
  // Decide the locks: the union of all keys, or everything when a command walks the keyspace.
  let lockAll = false;
  let write = false;
  const keys: Buffer[] = [];
  for (const { spec, argv } of queue) {
    const bits = spec.bits as number;
    if ((bits & F_WRITE) !== 0) write = true;
    const mode = spec.lockFor !== undefined ? (spec.lockFor(argv) === 'all' ? LOCK_ALL : LOCK_KEYS) : (spec.lockMode as number);
    // A script (EVAL/FCALL) takes its locks itself, which EXEC's held ones would block: lock all.
    if (mode === LOCK_ALL || (bits & F_WALKS) !== 0 || spec.group === 'scripting') {
      lockAll = true;
      continue;
    }
    if (mode === LOCK_KEYS) for (const i of commandKeys(spec, argv)) keys.push(argv[i]);
  }
  for (const w of c.watched) keys.push(w.key);
  let nslots = 0;
  // Inside an enclosing lock-all (none today; scripts later) the locks are held already.
  const outer = coord.allLocked;
  if (outer) {
    // nothing to take
  } else {
    // A slot held by a script past busy-reply-threshold: EXEC gives up with BUSY (the script may
    // have just ended: then try again), as if it had arrived while the script was busy.
    for (;;) {
      if (lockAll ? coord.lockAllOrBusy(write) : keys.length === 0 || (nslots = coord.lockSlotsOf(keys, write, true)) !== LOCK_BUSY) break;
      nslots = 0;
      const kind = busyKind(c.srv);
      if (kind !== 0) return c.refuseBusy(lookupCommand(Buffer.from('exec')) ?? null, [Buffer.from('exec')], kind);
    }
  }
  // Invalidations posted under the locks just taken go before the transaction's reply.
  drainInbox();
  coord.beginNested();
  let execMark = -1;
  let across: Array<Promise<unknown>> | null = null;
  // While the queued commands run the client stays in MULTI, as in Redis: CLIENT LIST shows
  // flags=x, multi=<queued> and cmd=exec; blocking commands see inExec and do not block.
  c.inExec = true;
  try {
    s.now = Date.now();
    let dirty = false;
    for (const w of c.watched) {
      if (watchedKeyChanged(s, w)) {
        dirty = true;
        break;
      }
    }
    unwatchAll(c);
    if (dirty) {
      c.w.nilArray();
      return;
    }
    execMark = c.w.mark();
    if (!outer) c.execAcross = [];
    c.w.array(queue.length);
    for (let i = 0; i < queue.length; i++) {
      c.lastCommand = 'exec';
      // ACL rules may have changed since the command was queued (execCommand checks again).
      const denied = c.user.unrestricted ? null : aclDeniedAtExec(c, queue[i].spec, queue[i].argv);
      if (denied !== null) c.w.error(denied, true);
      else c.call(queue[i].spec, queue[i].argv);
    }
  } finally {
    c.inExec = false;
    across = c.execAcross;
    c.execAcross = null;
    resetMulti(c);
    // The transaction's effects go to the stream (one MULTI/EXEC) while its locks are held.
    c.srv.prop.flush();
    coord.endNested();
    if (outer) {
      // released by the owner
    } else if (lockAll) coord.unlockAll();
    else coord.unlockSlots(nslots);
  }
  // Requests a queued command posted to the other threads (CLIENT KILL, SCRIPT LOAD...): the
  // reply waits until they are handled there, as Redis's EXEC replies after their effects.
  if (across !== null && across.length > 0 && c.w.byteAt(execMark) === 0x2a) {
    const reply = Buffer.from(c.w.since(execMark));
    c.w.rewind(execMark);
    replyLater(c, Promise.all(across).then(noop, noop), (cl) => cl.w.rawBytes(reply));
  }
}

function noop(): void {}

export const commands: CommandSpec[] = [
  def('multi', 1, 'noscript loading stale fast allow_busy', [0, 0, 0], 'transactions', 'Mark the start of a transaction block', multi, { since: '1.2.0', lock: 'none', acl: ['fast', 'transaction'] }),
  def('exec', 1, 'noscript loading stale skip_slowlog', [0, 0, 0], 'transactions', 'Execute all commands issued after MULTI', exec, { since: '1.2.0', lock: 'none', propagate: false, acl: ['slow', 'transaction'] }),
  def('discard', 1, 'noscript loading stale fast allow_busy', [0, 0, 0], 'transactions', 'Discard all commands issued after MULTI', discard, { since: '2.0.0', lock: 'none', acl: ['fast', 'transaction'] }),
  def('watch', -2, 'noscript loading stale fast allow_busy', [1, -1, 1], 'transactions', 'Watch the given keys to determine execution of the MULTI/EXEC block', watch, { since: '2.2.0', lock: 'keys', acl: ['fast', 'transaction'] }),
  def('unwatch', 1, 'noscript loading stale fast allow_busy', [0, 0, 0], 'transactions', 'Forget about all watched keys', unwatch, { since: '2.2.0', lock: 'none', acl: ['fast', 'transaction'] }),
];

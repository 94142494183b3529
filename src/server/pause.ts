// CLIENT PAUSE / UNPAUSE (networking.c pauseClients): while a pause is on, every thread holds back
// the commands it covers (ALL: every command; WRITE: those that write or may replicate, and an
// EXEC of such a transaction) exactly where Redis's processCommand does, before MULTI queueing.
// A held client is blocked (INFO blocked_clients) and runs its command when the pause ends. Keys
// do not expire meanwhile, neither lazily (they read as missing but stay) nor actively, and
// nothing is evicted: the dataset does not change under a pause, as in Redis.
//
// Shared state: the pause type in a misc word (one atomic load per command when no pause is on)
// and its end, wall-clock ms, in an f64 of the layout. FAILOVER pauses writes with a bit of its
// own in the same word (Redis's PAUSE_DURING_FAILOVER purpose): CLIENT UNPAUSE leaves it, and it
// has no end time.
import type { Client } from './client';
import type { ThreadServer } from './context';
import { M_PAUSE_TYPE, S_BLOCKED } from './context';
import type { CommandSpec } from '../commands/types';
import type { Store } from '../store/keyspace';
import { F_MAY_REPLICATE, F_WRITE, SF_WRITE } from '../commands/flags';

export const PAUSE_OFF = 0;
export const PAUSE_WRITE = 1;
export const PAUSE_ALL = 2;
/** In the pause word: writes are paused by a FAILOVER in progress. */
const FAILOVER_BIT = 4;
/** In the pause word: writes are paused while a shutdown waits for lagging replicas (PAUSE_DURING_SHUTDOWN). */
const SHUTDOWN_BIT = 8;
const CLIENT_BITS = 3;
/** Pause purposes without an end time: CLIENT UNPAUSE leaves them. */
export const PURPOSE_BITS = FAILOVER_BIT | SHUTDOWN_BIT;

/** Is a pause on (possibly expired: see pauseType)? One atomic load. */
export function pauseOn(srv: ThreadServer): boolean {
  return Atomics.load(srv.store.i32, srv.store.L.misc + M_PAUSE_TYPE) !== PAUSE_OFF;
}

/** The pause in force now (an expired one is switched off here, by whichever thread sees it). */
export function pauseType(srv: ThreadServer): number {
  const s = srv.store;
  const word = Atomics.load(s.i32, s.L.misc + M_PAUSE_TYPE);
  if (word === PAUSE_OFF) return PAUSE_OFF;
  let type = word & CLIENT_BITS;
  if (type !== PAUSE_OFF && Date.now() >= s.f64[s.L.pause]) {
    Atomics.compareExchange(s.i32, s.L.misc + M_PAUSE_TYPE, word, word & PURPOSE_BITS);
    type = PAUSE_OFF;
  }
  return (word & PURPOSE_BITS) !== 0 ? Math.max(type, PAUSE_WRITE) : type;
}

/** Set or clear a pause purpose bit (FAILOVER's, a shutdown's): writes pause on every thread while it is set. */
function setPurpose(s: Pick<Store, 'i32' | 'L'>, bit: number, on: boolean): void {
  if (on) Atomics.or(s.i32, s.L.misc + M_PAUSE_TYPE, bit);
  else Atomics.and(s.i32, s.L.misc + M_PAUSE_TYPE, ~bit);
}

/** FAILOVER: writes pause on every thread until it ends (on) or is over (off). */
export function pauseForFailover(srv: ThreadServer, on: boolean): void {
  setPurpose(srv.store, FAILOVER_BIT, on);
}

/** A shutdown waiting for its replicas: writes pause on every thread until it exits or is cancelled. */
export function pauseForShutdown(s: Pick<Store, 'i32' | 'L'>, on: boolean): void {
  setPurpose(s, SHUTDOWN_BIT, on);
}

/** Is a CLIENT PAUSE on (areClientsPaused for the client purpose; an expired one counts until cleared)? */
export function clientPauseWord(s: Pick<Store, 'i32' | 'L'>): boolean {
  return (Atomics.load(s.i32, s.L.misc + M_PAUSE_TYPE) & CLIENT_BITS) !== 0;
}

/** CLIENT PAUSE: the stronger type and the later end of this and any pause in force. */
export function pauseClients(srv: ThreadServer, type: number, end: number): void {
  const s = srv.store;
  pauseType(srv); // an expired client pause is cleared first
  const w = s.L.misc + M_PAUSE_TYPE;
  const cur = Atomics.load(s.i32, w) & CLIENT_BITS;
  if (cur === PAUSE_OFF || end > s.f64[s.L.pause]) s.f64[s.L.pause] = end;
  Atomics.or(s.i32, w, Math.max(cur, type));
}

/** CLIENT UNPAUSE. */
export function unpauseClients(srv: ThreadServer): void {
  Atomics.and(srv.store.i32, srv.store.L.misc + M_PAUSE_TYPE, ~CLIENT_BITS);
}

/**
 * is_may_replicate_command: a write or may-replicate command (PUBLISH, PFCOUNT, EVAL...). A script
 * that declares flags is judged by them (scriptFlagsToCmdFlags: no-writes clears write, and the
 * may-replicate flag goes), as a queued one is when its EXEC comes.
 */
function writes(c: Client, spec: CommandSpec, argv: Buffer[]): boolean {
  if (spec.scriptFlags !== undefined) {
    const f = spec.scriptFlags(c, argv);
    if (f >= 0) return (f & SF_WRITE) !== 0;
  }
  return ((spec.bits as number) & (F_WRITE | F_MAY_REPLICATE)) !== 0;
}

/** Does the pause in force hold back this command of c? */
export function mustPostpone(c: Client, spec: CommandSpec, argv: Buffer[]): boolean {
  const type = pauseType(c.srv);
  c.store.expireOnAccess = type === PAUSE_OFF;
  if (type === PAUSE_OFF) return false;
  if (type === PAUSE_ALL) return true;
  if (writes(c, spec, argv)) return true;
  return spec.fullName === 'exec' && c.multiQueue.some((q) => writes(c, q.spec, q.argv));
}

// ---- held clients of this thread --------------------------------------------------------------

const held: Client[] = [];
/** The command spec of each held client's command, index for index with `held`. */
const heldSpecs: CommandSpec[] = [];
let timer: NodeJS.Timeout | null = null;

/** Hold c's command until the pause ends (the client is paused; its input waits behind it). */
export function postpone(c: Client, spec: CommandSpec, argv: Buffer[]): void {
  c.postponed = argv;
  c.pause();
  held.push(c);
  heldSpecs.push(spec);
  c.srv.addStat(S_BLOCKED, 1);
  if (timer === null) timer = setInterval(check, 10, c.srv);
}

/**
 * Every 10 ms while clients are held: what the pause no longer covers goes on, in the order it
 * came. Under a WRITE pause a held write stays held without being released and held again, so
 * INFO blocked_clients never dips while it waits.
 */
function check(srv: ThreadServer): void {
  const type = pauseType(srv);
  srv.store.expireOnAccess = type === PAUSE_OFF;
  if (type === PAUSE_ALL) return;
  const now: Client[] = [];
  let kept = 0;
  for (let i = 0; i < held.length; i++) {
    const c = held[i];
    const argv = c.postponed;
    if (!c.closed && argv !== null && type === PAUSE_WRITE && mustPostpone(c, heldSpecs[i], argv)) {
      held[kept] = c;
      heldSpecs[kept++] = heldSpecs[i];
    } else now.push(c);
  }
  held.length = kept;
  heldSpecs.length = kept;
  if (kept === 0 && timer !== null) {
    clearInterval(timer);
    timer = null;
  }
  for (const c of now) {
    srv.addStat(S_BLOCKED, -1);
    // resume() runs the held command first.
    if (c.closed) c.postponed = null;
    else c.resume();
  }
}

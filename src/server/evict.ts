// maxmemory and its eviction policies (evict.c). Before a command runs, a thread that finds
// used_memory over maxmemory evicts keys until it is under again; a command flagged denyoom is
// refused with Redis's OOM error when that fails (noeviction, or nothing left to evict).
//
// Victims are picked as Redis does, by sampling: maxmemory-samples keys from random slots of the
// non-empty dbs into a pool of the best candidates, best being idle longest (LRU), least often
// used (LFU: Redis's logarithmic counters with decay, kept in the entry's lru word while an LFU
// policy is set), closest to expiring (volatile-ttl), or any (random).
// Used memory is the keyspace heap (all threads) plus the fixed tables (INFO's used_memory) less
// what INFO's mem_not_counted_for_evict shows.
import type { Client } from './client';
import type { ThreadServer } from './context';
import { M_LAZYFREE_PENDING, S_EVICTED } from './context';
import { DEL_EVICTED, type Store } from '../store/keyspace';
import { NSLOTS } from '../store/crc16';
import { RESERVE_FIXED } from '../store/heap';
import { notifyKeyspaceEvent } from './notify';
import { NOTIFY_EVICTED } from '../config/directives';
import { performance } from 'perf_hooks';
import { PAUSE_OFF, pauseOn, pauseType } from './pause';
import { clientsMemory } from './client-mem';
import { inboxBytes } from './tracking';

const P_NOEVICTION = 0;
const P_LRU = 1;
const P_RANDOM = 2;
const P_TTL = 3;

let maxmemory = 0;
let policy = P_NOEVICTION;
let volatileOnly = false;
let samples = 5;

/** Read the settings into module numbers (at start and on every CONFIG SET of them). */
let thisServer: ThreadServer | null = null;

export function installEviction(srv: ThreadServer): void {
  thisServer = srv;
  const apply = (): void => {
    maxmemory = srv.config.num('maxmemory');
    // A maxmemory past the heap's capacity would never evict before the heap refuses writes:
    // evict at the capacity instead (less a margin for commands' reserves).
    if (maxmemory > 0) maxmemory = Math.min(maxmemory, srv.store.heap.capacity - 4 * RESERVE_FIXED);
    const p = srv.config.str('maxmemory-policy');
    volatileOnly = p.startsWith('volatile-');
    policy = p === 'noeviction' ? P_NOEVICTION : p.endsWith('-random') ? P_RANDOM : p === 'volatile-ttl' ? P_TTL : P_LRU;
    samples = Math.max(1, srv.config.num('maxmemory-samples'));
    const s = srv.store;
    s.lfu = p.endsWith('-lfu');
    s.lfuLogFactor = srv.config.num('lfu-log-factor');
    s.lfuDecayTime = srv.config.num('lfu-decay-time');
    poolScore.length = poolDb.length = poolKey.length = 0;
  };
  apply();
  srv.configListeners.push((name) => {
    if (!name.startsWith('maxmemory') && !name.startsWith('lfu-')) return;
    apply();
    // CONFIG SET maxmemory below the data evicts now (updateMaxmemory calls performEvictions),
    // not at the next write: a subscriber to evicted events hears of it without one.
    if (name === 'maxmemory' && overMaxmemory(srv.store)) evictSoon(srv);
  });
}

let othersAt = -1;
let others = 0;
let clients = 0;

/**
 * used_memory less mem_not_counted_for_evict; other threads' part is re-read at most once per
 * millisecond, or now (`fresh`: the eviction loop, where another thread may be evicting too and
 * a stale view of its frees would make both evict the same excess).
 */
function usedMemory(s: Store, fresh = false): number {
  const h = s.heap;
  if (s.now !== othersAt) {
    // Clients' buffers count too (re-read once per ms: they move slowly); replica links do not
    // (freeMemoryGetNotCountedMemory).
    clients = clientsNormal();
    othersAt = s.now;
    fresh = true;
  }
  // Nor what a running snapshot holds (a fork's child would hold it outside used_memory).
  if (fresh) others = h.usedBytes() - h.localUsed() - s.snapshotHeldBytes();
  // Nor invalidations in flight to another thread's clients (tracking.ts inboxBytes).
  return s.fixedBytesInUse() + others + clients + h.localUsed() - inboxBytes(s);
}

/** Every thread's normal clients' memory (client-mem.ts). */
function clientsNormal(): number {
  return thisServer === null ? 0 : clientsMemory(thisServer).normal;
}

/** Is maxmemory set and exceeded? (One number test when it is not set.) */
export function overMaxmemory(s: Store): boolean {
  return maxmemory > 0 && usedMemory(s) > maxmemory;
}

// The eviction pool (evictionPoolPopulate): the best candidates seen so far, kept between rounds
// and calls, worst first, so each eviction takes the best of many samples, not of the last few.
const POOL_SIZE = 16;
const poolScore: number[] = [];
const poolDb: number[] = [];
const poolKey: Buffer[] = [];

/** Entry e of db as a candidate: its key is copied only when it goes in (not there yet, and better than the worst of a full pool). */
function poolInsert(s: Store, score: number, db: number, e: number): void {
  if (poolKey.length === POOL_SIZE && score <= poolScore[0]) return;
  for (let i = 0; i < poolKey.length; i++) if (poolDb[i] === db && s.keyIs(e, poolKey[i])) return;
  const key = s.keyCopy(e);
  if (poolKey.length === POOL_SIZE) {
    poolScore.shift();
    poolDb.shift();
    poolKey.shift();
  }
  let i = 0;
  while (i < poolKey.length && poolScore[i] < score) i++;
  poolScore.splice(i, 0, score);
  poolDb.splice(i, 0, db);
  poolKey.splice(i, 0, key);
}

/** Does the slot hold keys the policy may take (counts read without the lock: a hint)? */
function candidates(s: Store, db: number, slot: number): boolean {
  return !s.slotIsEmpty(db, slot) && (volatileOnly ? s.slotVolatileCount(db, slot) : s.slotKeyCount(db, slot)) > 0;
}

const picked: number[] = [];

/**
 * Sample `want` keys of db into the pool: from one random non-empty slot's neighbouring buckets
 * (fewer when it holds fewer; then from another slot, at most `want` slots).
 */
function sampleSlot(srv: ThreadServer, db: number, now: number, want: number): void {
  const s = srv.store;
  let got = 0;
  for (let tries = 0; tries < want && got < want; tries++) {
    const slot = pickSlot(s, db);
    if (slot < 0) return;
    const coord = srv.coord;
    coord.lockWalk(slot);
    try {
      const n = s.someInSlot(db, slot, want - got, picked, volatileOnly);
      got += n;
      for (let k = 0; k < n; k++) {
        const e = picked[k];
        let score: number;
        const exp = s.expireAt(e);
        // An expired key still stored is the best victim: it is gone already, only its memory is not.
        if (exp !== 0 && exp <= now) score = Number.MAX_VALUE;
        else if (policy === P_TTL) score = Number.MAX_SAFE_INTEGER - exp;
        else if (policy === P_RANDOM) score = Math.random();
        else if (s.lfu) score = 255 - s.lfuFreq(e);
        else score = Math.max(0, Math.floor(now / 1000) - s.lru(e));
        poolInsert(s, score, db, e);
      }
    } finally {
      coord.unlockWalk(slot);
    }
  }
}

/** A random slot of db with keys the policy may take, or -1. */
function pickSlot(s: Store, db: number): number {
  for (let r = 0; r < 32; r++) {
    const i = Math.floor(Math.random() * NSLOTS);
    if (candidates(s, db, i)) return i;
  }
  // A sparse db: the first slot with keys after a random start.
  const start = Math.floor(Math.random() * NSLOTS);
  for (let k = 0; k < NSLOTS; k++) {
    const i = (start + k) % NSLOTS;
    if (candidates(s, db, i)) return i;
  }
  return -1;
}

/**
 * Evict until used memory is under maxmemory, for at most about a millisecond per call (Redis's
 * eviction tenacity); past that the rest goes on in the background on this thread, and commands
 * are not refused meanwhile. False only when nothing may be evicted (noeviction, or no key the
 * policy may take). `from`: the client whose command triggered it. Call with no slot lock held.
 */
export function performEvictions(srv: ThreadServer, from: Client | null): boolean {
  const s = srv.store;
  if (policy === P_NOEVICTION) return false;
  // CLIENT PAUSE: nothing changes the dataset meanwhile (the commands go on over the limit).
  if (pauseOn(srv) && pauseType(srv) !== PAUSE_OFF) return true;
  s.now = Date.now();
  const until = performance.now() + 1;
  let misses = 0;
  for (let round = 0; usedMemory(s, true) > maxmemory; round++) {
    if ((round & 15) === 15 && performance.now() > until) {
      evictSoon(srv);
      return true;
    }
    const per = policy === P_RANDOM ? 1 : samples;
    let sampled = false;
    for (let k = 0; k < s.dbs; k++) {
      // Random: the dbs take turns (Redis's next_db); the others sample every db.
      const db = policy === P_RANDOM ? (nextDb = (nextDb + 1) % s.dbs) : k;
      if ((volatileOnly ? s.volatileCount(db) : s.dbSize(db)) <= 0) continue;
      sampleSlot(srv, db, s.now, per);
      sampled = true;
      if (policy === P_RANDOM) break;
    }
    if (!sampled || poolKey.length === 0) {
      poolScore.length = poolDb.length = poolKey.length = 0;
      // A key found in an unlocked look may be gone once its slot is locked (another thread
      // evicted or deleted it, maybe taking the rest of the excess): sample again, re-checking
      // the limit, before calling it nothing to evict (which refuses the command with OOM).
      if (sampled && ++misses < 8) continue;
      // Memory handed to the main thread (UNLINK, FLUSHALL ASYNC) is about to come back: go on.
      return Atomics.load(s.i32, s.L.misc + M_LAZYFREE_PENDING) > 0;
    }
    // The best candidate; one deleted meanwhile (or already evicted) is just dropped.
    poolScore.pop();
    const db = poolDb.pop() as number;
    const key = poolKey.pop() as Buffer;
    const slot = s.slotOf(key);
    srv.coord.lockWalk(slot);
    let gone: boolean;
    try {
      // A volatile policy takes only a key that still has a TTL (it may have lost it since).
      const e = volatileOnly ? s.peek(db, key) : 1;
      gone = e !== 0 && (!volatileOnly || s.expireAt(e) !== 0) && s.delete(db, key, DEL_EVICTED);
    } finally {
      srv.coord.unlockWalk(slot);
    }
    if (!gone) continue;
    srv.addStat(S_EVICTED, 1);
    notifyKeyspaceEvent(from, NOTIFY_EVICTED, 'evicted', key, db);
    // Freed memory counts at once (the loop re-reads every thread's counters).
  }
  return true;
}

let background = false;
let nextDb = 0;

/** Go on evicting from a timer (once: a pending one covers later calls). */
function evictSoon(srv: ThreadServer): void {
  if (background) return;
  background = true;
  setTimeout(evictInBackground, 0, srv);
}

function evictInBackground(srv: ThreadServer): void {
  background = false;
  // Outside any command: no client to credit, and no slot lock held.
  if (overMaxmemory(srv.store)) performEvictions(srv, null);
}

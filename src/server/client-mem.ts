// Connections' memory (buffers, queued replies, MULTI queues) in used_memory, as Redis counts its
// clients' allocations: each thread keeps its clients' total in shared stats that INFO and
// eviction read. The cron (hz) recounts every client; a closed client's share leaves at once; and
// while maxmemory or maxmemory-clients is set, a client's share also follows it after each input
// batch and each pub/sub delivery (Redis's updateClientMemUsage), so eviction sees a buffer grow
// before the next cron. Replica links are reported but not counted for eviction
// (freeMemoryGetNotCountedMemory). maxmemory-clients closes the biggest clients past its limit
// (evictClients), except those with CLIENT NO-EVICT on, replicas and the master link; as in Redis,
// clients are evicted before keys.
import { M_CLIENT_EVICTING, M_CLIENT_LIMIT_GEN, S_CLIENT_GEN, S_CLIENT_MAX, S_CLIENT_MEM, S_EVICTED_CLIENTS, S_REPLICA_MEM, type ThreadServer } from './context';
import type { Client } from './client';
import { log } from './log';

/** Clients' shares follow them between crons: maxmemory or maxmemory-clients is set (per thread). */
export const clientMemLive = { on: false };

export function installClientMem(srv: ThreadServer): void {
  const apply = (): void => {
    clientMemLive.on = srv.config.num('maxmemory') > 0 || srv.config.num('maxmemory-clients') !== 0;
  };
  apply();
  srv.configListeners.push((name, _value, local) => {
    if (!name.startsWith('maxmemory')) return;
    apply();
    if (name !== 'maxmemory-clients' && name !== 'maxmemory') return;
    // A lower limit evicts (Redis's applyClientMaxMemoryUsage) once every thread has recounted its
    // clients: their largest, published by the cron up to 100 ms ago, may not show a client that
    // has grown since, and a thread trusting it would evict a smaller client of its own first.
    // The thread running CONFIG SET opens a new generation; each thread recounts for it as it
    // applies the value, and eviction waits until all have (see recountedEverywhere).
    const gen = local ? srv.miscAdd(M_CLIENT_LIMIT_GEN, 1) + 1 : srv.misc(M_CLIENT_LIMIT_GEN);
    recount(srv);
    srv.setStat(S_CLIENT_GEN, gen);
    // At the end of the turn: the thread running CONFIG SET may be inside EXEC, holding slot locks
    // a closing client needs. CONFIG SET itself then evicts across threads before its reply
    // (evictClientsEverywhere).
    evictLater(srv);
  });
  srv.requestHandlers.set('evict-clients', () => evictClients(srv));
}

export function accountClients(srv: ThreadServer): void {
  recount(srv);
  evictClients(srv);
}

/** Every client's share and the thread's totals, recounted. */
function recount(srv: ThreadServer): void {
  let normal = 0;
  let replicas = 0;
  let largest = 0;
  for (const c of srv.clients.values()) {
    if (c.closed) continue;
    // A client in the middle of its input (the one running CONFIG SET) keeps its share from its
    // last batch: the bytes of the command it runs count only while it runs, and another thread
    // evicting meanwhile would take them for a lasting excess.
    const m = c.queryBytes > 0 && c.memAccounted > 0 ? c.memAccounted : c.memoryBytes();
    c.memAccounted = m;
    c.memAccountedReplica = c.replica;
    if (c.replica) replicas += m;
    else normal += m;
    if (m > largest && !c.noEvict && !c.replica && c.masterHook === null) largest = m;
  }
  srv.setStat(S_CLIENT_MEM, normal);
  srv.setStat(S_REPLICA_MEM, replicas);
  srv.setStat(S_CLIENT_MAX, largest);
}

/** Move c's share in the thread's totals to what it holds now (0 once closed, or `gone`). */
export function noteClientMem(srv: ThreadServer, c: Client, gone = false): void {
  const m = gone || c.closed ? 0 : c.memoryBytes();
  // This thread's largest as other threads see it: up with a client that grew past it; a gone
  // one that was it leaves a lower bound of 0 until the next recount (others may evict theirs).
  const max = srv.stat(S_CLIENT_MAX);
  if (m > max && !c.noEvict && !c.replica && c.masterHook === null) srv.setStat(S_CLIENT_MAX, m);
  else if (m === 0 && c.memAccounted >= max) srv.setStat(S_CLIENT_MAX, 0);
  if (c.memAccounted !== 0) srv.addStat(c.memAccountedReplica ? S_REPLICA_MEM : S_CLIENT_MEM, -c.memAccounted);
  c.memAccounted = m;
  c.memAccountedReplica = c.replica;
  if (m !== 0) srv.addStat(c.replica ? S_REPLICA_MEM : S_CLIENT_MEM, m);
}

/** After c's input or output changed: its share, then client eviction when past the limit. */
export function clientMemChanged(srv: ThreadServer, c: Client): void {
  noteClientMem(srv, c);
  evictClients(srv);
}

/** maxmemory-clients in bytes (a percentage is of maxmemory), 0 when off. */
function clientsLimit(srv: ThreadServer): number {
  const v = srv.config.num('maxmemory-clients');
  if (v >= 0) return v;
  return Math.floor((srv.config.num('maxmemory') * -v) / 100);
}

let evictQueued = false;
let evictSrv: ThreadServer | null = null;

/**
 * Output was pushed to c where it cannot be closed now (under a slot lock, inside another
 * client's command): its share follows at once, eviction runs once this turn's work is done.
 */
export function clientMemChangedSoon(srv: ThreadServer, c: Client): void {
  noteClientMem(srv, c);
  pushedPending = true;
  evictLater(srv);
}

/** Output pushed to clients (clientMemChangedSoon) since the last eviction look. */
let pushedPending = false;

function evictLater(srv: ThreadServer): void {
  if (evictQueued) return;
  evictQueued = true;
  evictSrv = srv;
  setImmediate(runQueuedEviction);
}

function runQueuedEviction(): void {
  if (!evictQueued) return;
  evictQueued = false;
  pushedPending = false;
  if (evictSrv !== null) evictClients(evictSrv);
}

/**
 * Eviction that output pushed to other clients queued (clientMemChangedSoon) runs now, before
 * the reply of the command that pushed it is sent: a client that then asks (CLIENT LIST on any
 * thread) finds the redirected client already gone, as on Redis's one thread. Not the eviction a
 * lower limit queued (CONFIG SET): that waits for every thread to have applied it.
 */
export function evictPushedNow(): void {
  if (pushedPending) runQueuedEviction();
}

/** Clients this thread evicted: -1 when another thread was evicting (this one looks again later). */
function evictClients(srv: ThreadServer): number {
  const limit = clientsLimit(srv);
  if (limit <= 0) return 0;
  if (srv.sumStat(S_CLIENT_MEM) < limit) return 0;
  if (!recountedEverywhere(srv)) return 0;
  // One thread at a time (a try, never a wait: closing a client takes other locks): two threads
  // seeing the same excess would both evict for it. The other one looks again after this turn.
  const i32 = srv.store.i32;
  const word = srv.store.L.misc + M_CLIENT_EVICTING;
  if (Atomics.compareExchange(i32, word, 0, srv.threadId) !== 0) {
    evictLater(srv);
    return -1;
  }
  try {
    return evictLocked(srv, limit);
  } finally {
    Atomics.store(i32, word, 0);
  }
}

/** Every thread has recounted its clients since the last CONFIG SET of a limit. */
function recountedEverywhere(srv: ThreadServer): boolean {
  const gen = srv.misc(M_CLIENT_LIMIT_GEN);
  for (let t = 1; t <= srv.threads; t++) if (srv.statOf(t, S_CLIENT_GEN) < gen) return false;
  return true;
}

/**
 * CONFIG SET lowered the limit and every thread has applied it: evict now, the largest clients of
 * all threads first, before the reply (Redis evicts inside CONFIG SET). A round asks every thread
 * to evict what it may (its clients at least as large as the others' largest); rounds go on while
 * one of them evicted or waited for another.
 */
export async function evictClientsEverywhere(srv: ThreadServer): Promise<void> {
  for (let round = 0; round < 1000; round++) {
    const limit = clientsLimit(srv);
    if (limit <= 0 || srv.sumStat(S_CLIENT_MEM) < limit) return;
    const results = await srv.broadcast({ op: 'evict-clients', args: [] });
    if (results.every((r) => r === 0)) return;
  }
}

function evictLocked(srv: ThreadServer, limit: number): number {
  if (srv.sumStat(S_CLIENT_MEM) < limit) return 0;
  const candidates: Client[] = [];
  for (const c of srv.clients.values()) {
    if (c.closed || c.noEvict || c.replica || c.masterHook !== null) continue;
    noteClientMem(srv, c);
    candidates.push(c);
  }
  candidates.sort((a, b) => b.memAccounted - a.memAccounted);
  // The largest clients go first, whichever thread holds them (Redis's eviction pools): a client
  // here smaller than another thread's largest is left; that one goes at its thread's next input,
  // delivery or cron, where this rule lets it. Both are read again for each client: closing one
  // (its subscriptions, its blocked keys) takes time, in which other threads' clients grow.
  let i = 0;
  for (; i < candidates.length; i++) {
    const c = candidates[i];
    if (srv.sumStat(S_CLIENT_MEM) < limit || c.memAccounted < othersLargest(srv)) break;
    log('verbose', `Evicting client: id=${c.id} addr=${c.addr} tot-mem=${c.memAccounted}`);
    // close() takes its share out of the totals.
    c.close();
    srv.addStat(S_EVICTED_CLIENTS, 1);
  }
  srv.setStat(S_CLIENT_MAX, i < candidates.length ? candidates[i].memAccounted : 0);
  return i;
}

/** The largest evictable client any other thread published (at its last recount or eviction). */
function othersLargest(srv: ThreadServer): number {
  let max = 0;
  for (let t = 1; t <= srv.threads; t++) {
    if (t === srv.threadId) continue;
    const v = srv.statOf(t, S_CLIENT_MAX);
    if (v > max) max = v;
  }
  return max;
}

/** Memory of every thread's normal clients and replica links. */
export function clientsMemory(srv: ThreadServer): { normal: number; replicas: number } {
  return { normal: Math.max(0, srv.sumStat(S_CLIENT_MEM)), replicas: srv.sumStat(S_REPLICA_MEM) };
}

// Connections' memory (buffers, queued replies, MULTI queues) in used_memory, as Redis counts its
// clients' allocations: each thread keeps its clients' total in shared stats that INFO and
// eviction read. The cron (hz) recounts every client; a closed client's share leaves at once; and
// while maxmemory or maxmemory-clients is set, a client's share also follows it after each input
// batch and each pub/sub delivery (Redis's updateClientMemUsage), so eviction sees a buffer grow
// before the next cron. Replica links are reported but not counted for eviction
// (freeMemoryGetNotCountedMemory). maxmemory-clients closes the biggest clients past its limit
// (evictClients), except those with CLIENT NO-EVICT on, replicas and the master link; as in Redis,
// clients are evicted before keys.
import { S_CLIENT_MEM, S_EVICTED_CLIENTS, S_REPLICA_MEM, type ThreadServer } from './context';
import type { Client } from './client';
import { log } from './log';

/** Clients' shares follow them between crons: maxmemory or maxmemory-clients is set (per thread). */
export const clientMemLive = { on: false };

export function installClientMem(srv: ThreadServer): void {
  const apply = (): void => {
    clientMemLive.on = srv.config.num('maxmemory') > 0 || srv.config.num('maxmemory-clients') !== 0;
  };
  apply();
  srv.configListeners.push((name) => {
    if (name.startsWith('maxmemory')) apply();
  });
}

export function accountClients(srv: ThreadServer): void {
  let normal = 0;
  let replicas = 0;
  for (const c of srv.clients.values()) {
    if (c.closed) continue;
    const m = c.memoryBytes();
    c.memAccounted = m;
    c.memAccountedReplica = c.replica;
    if (c.replica) replicas += m;
    else normal += m;
  }
  srv.setStat(S_CLIENT_MEM, normal);
  srv.setStat(S_REPLICA_MEM, replicas);
  evictClients(srv);
}

/** Move c's share in the thread's totals to what it holds now (0 once closed, or `gone`). */
export function noteClientMem(srv: ThreadServer, c: Client, gone = false): void {
  const m = gone || c.closed ? 0 : c.memoryBytes();
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

function evictClients(srv: ThreadServer): void {
  const limit = clientsLimit(srv);
  if (limit <= 0) return;
  if (srv.sumStat(S_CLIENT_MEM) < limit) return;
  const candidates: Client[] = [];
  for (const c of srv.clients.values()) {
    if (c.closed || c.noEvict || c.replica || c.masterHook !== null) continue;
    noteClientMem(srv, c);
    candidates.push(c);
  }
  candidates.sort((a, b) => b.memAccounted - a.memAccounted);
  // Other threads evict their own clients at their next input or cron.
  for (const c of candidates) {
    if (srv.sumStat(S_CLIENT_MEM) < limit) break;
    log('verbose', `Evicting client: id=${c.id} addr=${c.addr} tot-mem=${c.memAccounted}`);
    // close() takes its share out of the totals.
    c.close();
    srv.addStat(S_EVICTED_CLIENTS, 1);
  }
}

/** Memory of every thread's normal clients and replica links. */
export function clientsMemory(srv: ThreadServer): { normal: number; replicas: number } {
  return { normal: Math.max(0, srv.sumStat(S_CLIENT_MEM)), replicas: srv.sumStat(S_REPLICA_MEM) };
}

// Connections' memory (buffers, queued replies, MULTI queues) in used_memory, as Redis counts its
// clients' allocations: each thread sums its clients at its cron (hz) into shared stats that INFO
// and eviction read. Replica links are reported but not counted for eviction
// (freeMemoryGetNotCountedMemory). maxmemory-clients closes the biggest clients past its limit
// (evictClients), except those with CLIENT NO-EVICT on, replicas and the master link.
import { S_CLIENT_MEM, S_EVICTED_CLIENTS, S_REPLICA_MEM, type ThreadServer } from './context';
import type { Client } from './client';
import { log } from './log';

export function accountClients(srv: ThreadServer): void {
  let normal = 0;
  let replicas = 0;
  for (const c of srv.clients.values()) {
    if (c.closed) continue;
    const m = c.memoryBytes();
    if (c.replica) replicas += m;
    else normal += m;
  }
  srv.setStat(S_CLIENT_MEM, normal);
  srv.setStat(S_REPLICA_MEM, replicas);
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
  let total = srv.sumStat(S_CLIENT_MEM);
  if (total < limit) return;
  const candidates: Array<[number, Client]> = [];
  for (const c of srv.clients.values()) {
    if (c.closed || c.noEvict || c.replica || c.masterHook !== null) continue;
    candidates.push([c.memoryBytes(), c]);
  }
  candidates.sort((a, b) => b[0] - a[0]);
  for (const [m, c] of candidates) {
    if (total < limit) break;
    log('verbose', `Evicting client: id=${c.id} addr=${c.addr} tot-mem=${m}`);
    c.close();
    total -= m;
    srv.addStat(S_CLIENT_MEM, -m);
    srv.addStat(S_EVICTED_CLIENTS, 1);
  }
}

/** Memory of every thread's normal clients and replica links. */
export function clientsMemory(srv: ThreadServer): { normal: number; replicas: number } {
  return { normal: Math.max(0, srv.sumStat(S_CLIENT_MEM)), replicas: srv.sumStat(S_REPLICA_MEM) };
}

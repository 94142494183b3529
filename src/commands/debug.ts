// DEBUG subcommands that tests and tools use beyond the structure checks (debug.c):
// HTSTATS, HTSTATS-KEY, QUICKLIST-PACKED-THRESHOLD, CHANGE-REPL-ID, SEGFAULT, PANIC. DEBUG itself is in
// server.ts; it is refused unless enable-debug-command allows it (Client.execute).
import type { Client } from '../server/client';
import { type Store, E_HASHTABLE, E_SKIPLIST, T_ZSET } from '../store/keyspace';
import { memtoull } from '../config/directives';
import { NSLOTS } from '../store/crc16';
import { E_NOT_INT, parseI64 } from './args';
import { log } from '../server/log';
import { changeReplicationId, clearReplicationId2 } from '../replication/state';

const STATS_VECTLEN = 50;

/** What _dictGetStatsHt() counts, summed over the tables it is given (dictCombineStats). */
interface HtStats {
  size: number;
  used: number;
  slots: number;
  maxchain: number;
  clvector: number[];
}

function newStats(): HtStats {
  return { size: 0, used: 0, slots: 0, maxchain: 0, clvector: new Array<number>(STATS_VECTLEN).fill(0) };
}

/**
 * Count one bucket array (at byte offset `buckets`) into `st`; `next` is the chain link's byte
 * offset in an entry. Bucket cells and chain links hold addresses in 8-byte units.
 */
function countTable(s: Store, st: HtStats, buckets: number, mask: number, next: number): void {
  const u32 = s.heap.u32;
  const size = mask + 1;
  st.size += size;
  for (let i = 0; i < size; i++) {
    let e = u32[buckets / 4 + i] * 8;
    if (e === 0) {
      st.clvector[0]++;
      continue;
    }
    st.slots++;
    let len = 0;
    while (e !== 0) {
      len++;
      e = u32[(e + next) / 4] * 8;
    }
    st.clvector[len < STATS_VECTLEN ? len : STATS_VECTLEN - 1]++;
    if (len > st.maxchain) st.maxchain = len;
    st.used += len;
  }
}

/** _dictGetStatsHt()'s text. */
function formatStats(idx: number, st: HtStats): string {
  const name = idx === 0 ? 'main hash table' : 'rehashing target';
  if (st.used === 0) return `Hash table ${idx} stats (${name}):\nNo stats available for empty dictionaries\n`;
  let out =
    `Hash table ${idx} stats (${name}):\n table size: ${st.size}\n number of elements: ${st.used}\n` +
    ` different slots: ${st.slots}\n max chain length: ${st.maxchain}\n` +
    ` avg chain length (counted): ${(st.used / st.slots).toFixed(2)}\n avg chain length (computed): ${(st.used / st.slots).toFixed(2)}\n` +
    ' Chain length distribution:\n';
  for (let i = 0; i < STATS_VECTLEN - 1; i++) {
    if (st.clvector[i] === 0) continue;
    out += `   ${i}: ${st.clvector[i]} (${((st.clvector[i] / st.size) * 100).toFixed(2)}%)\n`;
  }
  return out;
}

function tableStats(s: Store, idx: number, buckets: number, mask: number, next: number): string {
  const st = newStats();
  countTable(s, st, buckets, mask, next);
  return formatStats(idx, st);
}

/**
 * DEBUG HTSTATS dbid (every slot locked). The keyspace is one table per hash slot, so the figures
 * are those tables summed, as Redis 7.4 sums its per-slot dicts (kvstoreGetStats): table size is
 * the buckets of all of them. Expire times live in the key entries, not in a second table.
 */
export function debugHtstats(c: Client, argv: Buffer[]): void {
  const s = c.store;
  const dbid = parseI64(argv[2]);
  if (dbid === null) return c.w.error(E_NOT_INT);
  if (dbid < 0n || dbid >= BigInt(s.L.dbs)) return c.w.error('ERR Out of range database');
  const db = Number(dbid);
  const main = newStats();
  const target = newStats();
  let rehashing = false;
  const u32 = s.heap.u32;
  for (let slot = s.nextTableSlot(db, 0); slot < NSLOTS; slot = s.nextTableSlot(db, slot + 1)) {
    const w = s.slotTable(db, slot) / 4;
    if (w === 0) continue;
    // Table header: t0 buckets, mask, used | t1 buckets, mask, used | rehash index (keyspace.ts).
    countTable(s, main, u32[w] * 8, u32[w + 1], 0);
    if (s.heap.i32[w + 6] >= 0 && u32[w + 3] !== 0) {
      countTable(s, target, u32[w + 3] * 8, u32[w + 4], 0);
      rehashing = true;
    }
  }
  let out = '[Dictionary HT]\n' + formatStats(0, main);
  if (rehashing) out += formatStats(1, target);
  const volatile = s.volatileCount(db);
  out += '[Expires HT]\n';
  out += volatile === 0 ? 'Hash table 0 stats (main hash table):\nNo stats available for empty dictionaries\n'
    : `Keys with an expire: ${volatile} (kept in the keys' entries, no separate table)\n`;
  c.w.verbatim(out);
}

/** DEBUG HTSTATS-KEY key: the member hash table of a hashtable-encoded hash/set or a skiplist zset. */
export function debugHtstatsKey(c: Client, argv: Buffer[]): void {
  const s = c.store;
  const e = s.findReadNoTouch(c.db, argv[2], true);
  if (e === 0) return c.w.error('ERR no such key');
  const enc = s.encoding(e);
  const obj = s.objPtr(e);
  const u32 = s.heap.u32;
  const w = obj / 4;
  let out = '';
  if (enc === E_HASHTABLE && s.type(e) !== T_ZSET) {
    // dict.ts header: t0 buckets, mask | t1 buckets, mask | rehash index (buckets in units);
    // chain link at 0.
    out = tableStats(s, 0, u32[w] * 8, u32[w + 1], 0);
    if (s.heap.i32[w + 6] >= 0 && u32[w + 3] !== 0) out += tableStats(s, 1, u32[w + 3] * 8, u32[w + 4], 0);
  } else if (enc === E_SKIPLIST) {
    // skiplist.ts object: buckets +16, mask +20, new buckets +24, new mask +28 (buckets in
    // units); chain link at 8.
    out = tableStats(s, 0, u32[w + 4] * 8, u32[w + 5], 8);
    if (u32[w + 6] !== 0) out += tableStats(s, 1, u32[w + 6] * 8, u32[w + 7], 8);
  } else {
    return c.w.error('ERR The value stored at the specified key is not represented using an hash table');
  }
  c.w.verbatim(out);
}

/** Lists here are listpack nodes only (no plain nodes): the threshold is validated and kept. */
export let quicklistPackedThreshold = 1 << 30;
export function debugQuicklistPackedThreshold(c: Client, argv: Buffer[]): void {
  const sz = memtoull(argv[2].toString('latin1'));
  // quicklistisSetPackedThreshold: at most 4 GB - 1 MB; 0 restores the default (1 GB).
  if (sz === null || sz > 4294967296n - 1048576n) {
    return c.w.error('ERR argument must be a memory value bigger than 1 and smaller than 4gb');
  }
  quicklistPackedThreshold = sz === 0n ? 1 << 30 : Number(sz);
  c.w.ok();
}

export function debugChangeReplId(c: Client): void {
  log('warning', 'Changing replication IDs after receiving DEBUG change-repl-id');
  changeReplicationId(c.store);
  clearReplicationId2(c.store);
  c.w.ok();
}

/** DEBUG SEGFAULT: the process gets SIGSEGV (no reply), so the crash report is written as for a real one. */
export function debugSegfault(): void {
  process.kill(process.pid, 'SIGSEGV');
}

/** DEBUG PANIC: serverPanic() on the main thread (no reply). */
export function debugPanic(c: Client): void {
  const msg = `DEBUG PANIC called at Unix time ${Math.floor(Date.now() / 1000)}`;
  c.srv.toMain({ type: 'panic', message: msg, stack: new Error(msg).stack ?? msg });
  c.pause();
}

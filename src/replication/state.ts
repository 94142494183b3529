// Replication state every thread reads (INFO replication, ROLE, WAIT, HELLO, min-replicas-*) in
// shared memory (Layout.repl, REPL_BYTES bytes), as persistence/state.ts does for saves.
//
// API (keep it small; the master side is src/replication/master.ts, the replica side
// src/replication/replica.ts):
//   initReplicationState(s)           main thread, once at start: a random replid, replid2 cleared.
//   replId(s) / replId2(s)            the 40-hex ids; setReplId(s, id) (a replica adopting its
//                                     master's id), changeReplicationId(s), clearReplicationId2(s),
//                                     shiftReplicationId(s, stream) (Redis's, on promotion: replid
//                                     becomes replid2, valid up to the current offset).
//   replOffset(s, stream)             master_repl_offset = stream.offset() + base on a replica or
//                                     while a backlog exists, else where it stood (R_FROZEN: Redis's offset moves
//                                     only when feedReplicationBuffer has a backlog to feed; the
//                                     stream also moves for the AOF). The base (R_BASE) is what the
//                                     replica side sets after a full sync so that its offset equals
//                                     its master's (setReplBase(s, stream, offset)); a master's
//                                     backlog, when created, rebases it to go on from R_FROZEN.
//   rget(s, R_*) / rset(s, R_*, v)    plain f64 words: stats (sync_full...), backlog figures (the
//                                     replication thread publishes them) and the replica-side
//                                     fields, which replica.ts WRITES and this file renders.
//   masterHost(s) / setMasterHost(s, host)  the replica side's master_host ('' on a master; the
//                                     role is R_ROLE).
//   Replica table (a master's connected replicas, for INFO slaveN, ROLE, WAIT, min-replicas):
//     addReplica(s, clientId, thread, ip) -> row | -1, setReplicaField(s, row, F_*, v),
//     setReplicaIp(s, row, ip), removeReplica(s, row), replicas(s) -> ReplicaRow[],
//     replicaCount(s), ackedReplicas(s, offset), goodReplicas(s, maxLagSeconds, now).
//   infoReplication(srv, stream) / roleReply(c) / roleName(s)   INFO's section, ROLE, HELLO's role.
//
// Offsets: every offset here is a REPLICATION offset (Redis's master_repl_offset, what PSYNC and
// REPLCONF ACK carry); a stream offset plus R_BASE. Words are f64 (exact up to 2^53) written by
// one thread at a time per field; strings and table rows change under one lock word.
import { randomBytes } from 'crypto';
import type { Store } from '../store/keyspace';

/** What these functions need of a Store (the replication thread has the views, not a Store). */
export type ReplMem = Pick<Store, 'L' | 'u8' | 'i32' | 'f64'>;
import { lockWord, unlockWord } from '../store/heap';
import type { Stream } from '../server/stream';
import { log } from '../server/log';

import { REPL_BYTES } from '../store/keyspace';

// ---- f64 words (index from Layout.repl / 8) ---------------------------------------------------
export const R_ROLE = 0;               // 0 master, 1 replica (replica.ts sets it with the master_host)
export const R_BASE = 1;               // replication offset = stream.offset() + R_BASE
export const R_SECOND_OFFSET = 2;      // second_repl_offset (-1: none)
export const R_BACKLOG_ACTIVE = 3;     // repl_backlog_active (the replication thread publishes 3..5)
export const R_BACKLOG_FIRST = 4;      // repl_backlog_first_byte_offset (1-based, as Redis)
export const R_BACKLOG_HISTLEN = 5;    // repl_backlog_histlen
export const R_SYNC_FULL = 6;          // INFO stats sync_full
export const R_SYNC_PARTIAL_OK = 7;
export const R_SYNC_PARTIAL_ERR = 8;
export const R_GOOD_REPLICAS = 9;      // min_slaves_good_slaves (refreshed by the master cron)
export const R_NET_REPL_IN = 10;       // total_net_repl_input_bytes (replica side)
export const R_NET_REPL_OUT = 11;      // total_net_repl_output_bytes (master side)
export const R_FAILOVER_STATE = 12;    // 0 no-failover, 1 waiting-for-sync, 2 failover-in-progress
// Replica side: replica.ts writes these, INFO/ROLE render them.
export const R_MASTER_PORT = 16;
export const R_LINK_UP = 17;           // 1: master_link_status up
export const R_MASTER_LAST_IO = 18;    // unix ms of the master link's last interaction (0: no link)
export const R_SYNC_IN_PROGRESS = 19;  // 1 while the RDB is transferred (master_sync_in_progress)
export const R_READ_REPL_OFFSET = 20;  // slave_read_repl_offset
export const R_SLAVE_REPL_OFFSET = 21; // slave_repl_offset (processed)
export const R_LINK_DOWN_SINCE = 22;   // unix ms the link went down (0: never was up)
export const R_SYNC_TOTAL = 23;        // master_sync_total_bytes (-1 for an EOF-marked stream)
export const R_SYNC_READ = 24;         // master_sync_read_bytes
export const R_SYNC_LAST_IO = 25;      // unix ms of the transfer's last read
export const R_LINK_STATE = 26;        // ROLE's state: LINK_* below
export const R_MASTER_DB = 27;         // db the master's stream is in (repl-stream-db; -1: no master, cached or not)
export const R_FROZEN = 28;            // master_repl_offset while there is no backlog
// 29..63 free.

/** ROLE's replica states (slaveIsInHandshakeState() shows as 'handshake'). */
export const LINK_NONE = 0;
export const LINK_CONNECT = 1;
export const LINK_CONNECTING = 2;
export const LINK_HANDSHAKE = 3;
export const LINK_SYNC = 4;
export const LINK_CONNECTED = 5;
const LINK_NAMES = ['none', 'connect', 'connecting', 'handshake', 'sync', 'connected'];

// ---- byte layout ------------------------------------------------------------------------------
const LOCK_AT = 512;           // i32: lock word for the strings and the table
const COUNT_AT = 516;          // i32: replicas in the table
const REPLID_AT = 576;         // 40 bytes
const REPLID2_AT = 616;        // 40 bytes
const HOST_LEN_AT = 656;       // i32 length of master_host
const HOST_AT = 660;           // up to 255 bytes
const TABLE_AT = 1024;
const ROW_BYTES = 160;
/** Rows of the replica table (more replicas than this get -ERR at SYNC/PSYNC). */
export const MAX_REPLICAS = Math.floor((REPL_BYTES - TABLE_AT) / ROW_BYTES);
const IP_AT = 96;              // in a row: a length byte, then the address (IPv6 fits)
const IP_MAX = 63;

// Fields of a replica's row (f64 words from the row's start).
export const F_CLIENT = 0;     // client id (0: row free)
export const F_THREAD = 1;     // worker thread that holds its socket
export const F_STATE = 2;      // S_* below
export const F_PORT = 3;       // REPLCONF listening-port
export const F_ACK = 4;        // last REPLCONF ACK offset (repl_ack_off)
export const F_ACK_TIME = 5;   // unix ms of the last ACK (repl_ack_time)
export const F_CAPA = 6;       // capa bits: 1 eof, 2 psync2
export const F_RDB_ONLY = 7;   // REPLCONF rdb-only 1
export const F_PENDING = 8;    // stream bytes its link holds or its socket still queues (INFO mem_total_replication_buffers)
export const F_HELD_FROM = 9;  // STREAM offset of the oldest stream byte its link holds or queues (Infinity: none)

/** A replica's state (replstateToString). */
export const S_WAIT_BGSAVE = 1;
export const S_SEND_BULK = 2;
export const S_ONLINE = 3;
export const S_RDB_DONE = 4;   // rdb-only replica after its RDB (not listed, as Redis's "")
const STATE_NAMES = ['', 'wait_bgsave', 'send_bulk', 'online', ''];

/** replstateToString. */
export function replicaStateName(state: number): string {
  return STATE_NAMES[state] ?? '';
}

const GETACK = Buffer.from('*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n');

/** REPLCONF GETACK * into the stream, when a reader is on (replicationRequestAckFromSlaves). */
export function appendGetack(stream: Stream): void {
  if (!stream.active()) return;
  stream.beginAppend();
  stream.put(GETACK, 0, GETACK.length);
  stream.endAppend();
}

export interface ReplicaRow {
  row: number;
  clientId: number;
  thread: number;
  state: number;
  ip: string;
  port: number;
  ack: number;
  ackTime: number;
}

const base = (s: ReplMem): number => s.L.repl;

export function rget(s: ReplMem, i: number): number {
  return s.f64[base(s) / 8 + i];
}

export function rset(s: ReplMem, i: number, v: number): void {
  s.f64[base(s) / 8 + i] = v;
}

/** Add to a word (single writer per word expected; stats may race by a count at worst). */
export function radd(s: ReplMem, i: number, d: number): void {
  s.f64[base(s) / 8 + i] += d;
}

function lock(s: ReplMem): void {
  lockWord(s.i32, (base(s) + LOCK_AT) / 4);
}

function unlock(s: ReplMem): void {
  unlockWord(s.i32, (base(s) + LOCK_AT) / 4);
}

function readStr(s: ReplMem, at: number, len: number): string {
  return Buffer.from(s.u8.buffer, s.u8.byteOffset + base(s) + at, len).toString('latin1');
}

function writeStr(s: ReplMem, at: number, v: string, max: number): number {
  const b = Buffer.from(v, 'latin1');
  const n = Math.min(b.length, max);
  s.u8.set(b.subarray(0, n), base(s) + at);
  return n;
}

function randomId(): string {
  return randomBytes(20).toString('hex');
}

const ZERO_ID = '0000000000000000000000000000000000000000';

/** Main thread, before the workers start: fresh ids (Redis's changeReplicationId + clearReplicationId2 at start). */
export function initReplicationState(s: ReplMem): void {
  lock(s);
  writeStr(s, REPLID_AT, randomId(), 40);
  writeStr(s, REPLID2_AT, ZERO_ID, 40);
  unlock(s);
  rset(s, R_SECOND_OFFSET, -1);
  rset(s, R_ROLE, 0);
}

export function replId(s: ReplMem): string {
  lock(s);
  const v = readStr(s, REPLID_AT, 40);
  unlock(s);
  return v;
}

export function replId2(s: ReplMem): string {
  lock(s);
  const v = readStr(s, REPLID2_AT, 40);
  unlock(s);
  return v;
}

/** Both ids and second_repl_offset read together (PSYNC's decision). */
export function replIds(s: ReplMem): { id: string; id2: string; second: number } {
  lock(s);
  const id = readStr(s, REPLID_AT, 40);
  const id2 = readStr(s, REPLID2_AT, 40);
  const second = rget(s, R_SECOND_OFFSET);
  unlock(s);
  return { id, id2, second };
}

/** A replica takes its master's id (after +FULLRESYNC, or +CONTINUE with a new id). */
export function setReplId(s: ReplMem, id: string): void {
  lock(s);
  writeStr(s, REPLID_AT, id, 40);
  unlock(s);
}

/** A replica whose master's id changed at +CONTINUE: the old id stays valid below `second`. */
export function setReplId2(s: ReplMem, id: string, second: number): void {
  lock(s);
  writeStr(s, REPLID2_AT, id, 40);
  rset(s, R_SECOND_OFFSET, second);
  unlock(s);
}

/** changeReplicationId: a new random id (the history of the dataset starts over). */
export function changeReplicationId(s: ReplMem): void {
  setReplId(s, randomId());
}

/** clearReplicationId2. */
export function clearReplicationId2(s: ReplMem): void {
  lock(s);
  writeStr(s, REPLID2_AT, ZERO_ID, 40);
  rset(s, R_SECOND_OFFSET, -1);
  unlock(s);
}

/**
 * shiftReplicationId (a replica promoted, or switching masters): the old id stays valid as replid2
 * up to the current offset, so replicas of the old master can still PSYNC partially with us.
 */
export function shiftReplicationId(s: ReplMem, stream: Stream): void {
  const off = replOffset(s, stream);
  const nid = randomId();
  lock(s);
  const old = readStr(s, REPLID_AT, 40);
  writeStr(s, REPLID2_AT, old, 40);
  // +1: the offset we accept from replicas is the next byte they want (see Redis's comment).
  rset(s, R_SECOND_OFFSET, off + 1);
  writeStr(s, REPLID_AT, nid, 40);
  unlock(s);
  log('warning', `Setting secondary replication ID to ${old}, valid up to offset: ${off + 1}. New replication ID is ${nid}`);
}

/** master_repl_offset. */
export function replOffset(s: ReplMem, stream: Stream): number {
  // A replica's offset is what it applied, backlog or not (its backlog comes just after the sync).
  return rget(s, R_BACKLOG_ACTIVE) === 1 || rget(s, R_ROLE) === 1 ? stream.offset() + rget(s, R_BASE) : rget(s, R_FROZEN);
}

/** Make the replication offset equal `offset` now (a replica after loading its master's RDB). */
export function setReplBase(s: ReplMem, stream: Stream, offset: number): void {
  rset(s, R_FROZEN, offset);
  rset(s, R_BASE, offset - stream.offset());
}

export function masterHost(s: ReplMem): string {
  lock(s);
  const n = s.i32[(base(s) + HOST_LEN_AT) / 4];
  const v = readStr(s, HOST_AT, n);
  unlock(s);
  return v;
}

export function setMasterHost(s: ReplMem, host: string): void {
  lock(s);
  s.i32[(base(s) + HOST_LEN_AT) / 4] = writeStr(s, HOST_AT, host, 255);
  unlock(s);
}

export function isReplica(s: ReplMem): boolean {
  return rget(s, R_ROLE) === 1;
}

// ---- the replica table --------------------------------------------------------------------------

const rowF = (s: ReplMem, row: number): number => (base(s) + TABLE_AT + row * ROW_BYTES) / 8;

/** Register a replica (at SYNC/PSYNC): its row, or -1 when the table is full. */
export function addReplica(s: ReplMem, clientId: number, thread: number, ip: string): number {
  lock(s);
  try {
    for (let r = 0; r < MAX_REPLICAS; r++) {
      const f = rowF(s, r);
      if (s.f64[f + F_CLIENT] !== 0) continue;
      for (let i = 0; i < 12; i++) s.f64[f + i] = 0;
      s.f64[f + F_THREAD] = thread;
      s.f64[f + F_STATE] = S_WAIT_BGSAVE;
      s.f64[f + F_HELD_FROM] = Infinity;
      s.f64[f + F_CLIENT] = clientId;
      writeIp(s, r, ip);
      s.i32[(base(s) + COUNT_AT) / 4]++;
      return r;
    }
    return -1;
  } finally {
    unlock(s);
  }
}

function writeIp(s: ReplMem, row: number, ip: string): void {
  const at = TABLE_AT + row * ROW_BYTES + IP_AT;
  s.u8[base(s) + at] = writeStr(s, at + 1, ip, IP_MAX);
}

export function setReplicaIp(s: ReplMem, row: number, ip: string): void {
  lock(s);
  writeIp(s, row, ip);
  unlock(s);
}

export function setReplicaField(s: ReplMem, row: number, field: number, v: number): void {
  s.f64[rowF(s, row) + field] = v;
}

export function replicaField(s: ReplMem, row: number, field: number): number {
  return s.f64[rowF(s, row) + field];
}

/**
 * INFO mem_total_replication_buffers (Redis 7.0's repl_buffer_mem: the blocks the backlog or any
 * replica still needs, shared): what the backlog holds, or the most a replica's link is behind;
 * counted as the replication thread's next trim will leave it (a replica just gone frees what
 * only it held at once, as Redis's freeClient does).
 */
export function replicationBufferBytes(s: ReplMem, backlogSize: number): number {
  let most = rget(s, R_BACKLOG_HISTLEN);
  if (rget(s, R_BACKLOG_ACTIVE) === 1) {
    // Stream offsets: the backlog ends where the replication thread last read.
    const end = rget(s, R_BACKLOG_FIRST) - 1 - rget(s, R_BASE) + most;
    most = Math.min(most, end - backlogKeepFrom(s, end, backlogSize));
  }
  if (replicaCount(s) === 0) return most;
  for (let r = 0; r < MAX_REPLICAS; r++) {
    const f = rowF(s, r);
    if (s.f64[f + F_CLIENT] !== 0) most = Math.max(most, s.f64[f + F_PENDING]);
  }
  return most;
}

/**
 * The oldest stream offset a connected replica's link still holds or queues (Infinity: none):
 * the backlog keeps everything from there (Redis 7.0's shared replication buffer, whose blocks
 * a replica references keep the backlog from being trimmed).
 */
function replicasHeldFrom(s: ReplMem): number {
  let least = Infinity;
  if (replicaCount(s) === 0) return least;
  for (let r = 0; r < MAX_REPLICAS; r++) {
    const f = rowF(s, r);
    if (s.f64[f + F_CLIENT] !== 0 && s.f64[f + F_HELD_FROM] < least) least = s.f64[f + F_HELD_FROM];
  }
  return least;
}

/**
 * Where the backlog ending at stream offset `end` may be trimmed to: it keeps repl-backlog-size
 * bytes (16 KB at least, as Redis's minimum) and what a connected replica still holds.
 */
export function backlogKeepFrom(s: ReplMem, end: number, backlogSize: number): number {
  return Math.min(end - Math.max(16 * 1024, backlogSize), replicasHeldFrom(s));
}

export function removeReplica(s: ReplMem, row: number): void {
  lock(s);
  const f = rowF(s, row);
  if (s.f64[f + F_CLIENT] !== 0) {
    s.f64[f + F_CLIENT] = 0;
    s.i32[(base(s) + COUNT_AT) / 4]--;
  }
  unlock(s);
}

/** connected_slaves: replicas in any state. */
export function replicaCount(s: ReplMem): number {
  return Atomics.load(s.i32, (base(s) + COUNT_AT) / 4);
}

/** Every registered replica, in row order (INFO's slaveN numbering). */
export function replicas(s: ReplMem): ReplicaRow[] {
  const out: ReplicaRow[] = [];
  if (replicaCount(s) === 0) return out;
  lock(s);
  for (let r = 0; r < MAX_REPLICAS; r++) {
    const f = rowF(s, r);
    const id = s.f64[f + F_CLIENT];
    if (id === 0) continue;
    const at = TABLE_AT + r * ROW_BYTES + IP_AT;
    out.push({
      row: r, clientId: id, thread: s.f64[f + F_THREAD], state: s.f64[f + F_STATE],
      ip: readStr(s, at + 1, s.u8[base(s) + at]), port: s.f64[f + F_PORT], ack: s.f64[f + F_ACK], ackTime: s.f64[f + F_ACK_TIME],
    });
  }
  unlock(s);
  return out;
}

/** Online replicas that acknowledged at least `offset` (WAIT's count, replicationCountAcksByOffset). */
export function ackedReplicas(s: ReplMem, offset: number): number {
  let n = 0;
  for (const r of replicas(s)) if (r.state === S_ONLINE && r.ack >= offset) n++;
  return n;
}

/** Online replicas whose last ACK is at most maxLag seconds old (refreshGoodSlavesCount). */
export function goodReplicas(s: ReplMem, maxLag: number, now = Date.now()): number {
  let n = 0;
  for (const r of replicas(s)) if (r.state === S_ONLINE && Math.floor((now - r.ackTime) / 1000) <= maxLag) n++;
  return n;
}

// ---- rendering ----------------------------------------------------------------------------------

/** Minimal view of what rendering needs (a ThreadServer fits). */
export interface ReplView {
  store: Store;
  config: { num(name: string): number; bool(name: string): boolean };
}

/** HELLO's role / ROLE's first element. */
export function roleName(s: ReplMem): 'master' | 'replica' {
  return isReplica(s) ? 'replica' : 'master';
}

/** INFO's "# Replication" body, field by field as genRedisInfoString (7.0). */
export function infoReplication(srv: ReplView, stream: Stream): string {
  const s = srv.store;
  const cfg = srv.config;
  const now = Date.now();
  const nowSec = Math.floor(now / 1000);
  const L: Array<[string, string | number]> = [];
  const replica = isReplica(s);
  L.push(['role', replica ? 'slave' : 'master']);
  if (replica) {
    const up = rget(s, R_LINK_UP) === 1;
    const lastIo = rget(s, R_MASTER_LAST_IO);
    const syncing = rget(s, R_SYNC_IN_PROGRESS) === 1;
    L.push(
      ['master_host', masterHost(s)],
      ['master_port', rget(s, R_MASTER_PORT)],
      ['master_link_status', up ? 'up' : 'down'],
      ['master_last_io_seconds_ago', up && lastIo > 0 ? nowSec - Math.floor(lastIo / 1000) : -1],
      ['master_sync_in_progress', syncing ? 1 : 0],
      ['slave_read_repl_offset', rget(s, R_READ_REPL_OFFSET)],
      ['slave_repl_offset', rget(s, R_SLAVE_REPL_OFFSET)],
    );
    if (syncing) {
      const total = rget(s, R_SYNC_TOTAL);
      const read = rget(s, R_SYNC_READ);
      L.push(
        ['master_sync_total_bytes', total],
        ['master_sync_read_bytes', read],
        ['master_sync_left_bytes', total - read],
        ['master_sync_perc', (total > 0 ? (read / total) * 100 : 0).toFixed(2)],
        ['master_sync_last_io_seconds_ago', nowSec - Math.floor(rget(s, R_SYNC_LAST_IO) / 1000)],
      );
    }
    if (!up) {
      const since = rget(s, R_LINK_DOWN_SINCE);
      L.push(['master_link_down_since_seconds', since > 0 ? nowSec - Math.floor(since / 1000) : -1]);
    }
    L.push(
      ['slave_priority', cfg.num('replica-priority')],
      ['slave_read_only', cfg.bool('replica-read-only') ? 1 : 0],
      ['replica_announced', cfg.bool('replica-announced') ? 1 : 0],
    );
  }
  const rows = replicas(s);
  L.push(['connected_slaves', rows.length]);
  if (cfg.num('min-replicas-to-write') > 0 && cfg.num('min-replicas-max-lag') > 0) {
    L.push(['min_slaves_good_slaves', rget(s, R_GOOD_REPLICAS)]);
  }
  let id = 0;
  for (const r of rows) {
    const state = STATE_NAMES[r.state] ?? '';
    if (state === '') continue;
    const lag = r.state === S_ONLINE ? nowSec - Math.floor(r.ackTime / 1000) : 0;
    L.push([`slave${id}`, `ip=${r.ip},port=${r.port},state=${state},offset=${r.ack},lag=${lag}`]);
    id++;
  }
  const ids = replIds(s);
  const active = rget(s, R_BACKLOG_ACTIVE) === 1;
  L.push(
    ['master_failover_state', ['no-failover', 'waiting-for-sync', 'failover-in-progress'][rget(s, R_FAILOVER_STATE)] ?? 'no-failover'],
    ['master_replid', ids.id],
    ['master_replid2', ids.id2],
    ['master_repl_offset', replOffset(s, stream)],
    ['second_repl_offset', ids.second],
    ['repl_backlog_active', active ? 1 : 0],
    ['repl_backlog_size', cfg.num('repl-backlog-size')],
    ['repl_backlog_first_byte_offset', active ? rget(s, R_BACKLOG_FIRST) : 0],
    ['repl_backlog_histlen', active ? rget(s, R_BACKLOG_HISTLEN) : 0],
  );
  let out = '';
  for (const [k, v] of L) out += `${k}:${v}\r\n`;
  return out;
}

/** The minimal writer ROLE needs (the thread's ReplyWriter fits). */
export interface RoleWriter {
  array(n: number): void;
  bulkStr(s: string): void;
  int(n: number): void;
}

/** ROLE (roleCommand): master with its online replicas, or slave with its link state. */
export function roleReply(w: RoleWriter, s: ReplMem, stream: Stream): void {
  if (!isReplica(s)) {
    const online = replicas(s).filter((r) => r.state === S_ONLINE);
    w.array(3);
    w.bulkStr('master');
    w.int(replOffset(s, stream));
    w.array(online.length);
    for (const r of online) {
      w.array(3);
      w.bulkStr(r.ip);
      w.bulkStr(String(r.port));
      w.bulkStr(String(r.ack));
    }
    return;
  }
  w.array(5);
  w.bulkStr('slave');
  w.bulkStr(masterHost(s));
  w.int(rget(s, R_MASTER_PORT));
  w.bulkStr(LINK_NAMES[rget(s, R_LINK_STATE)] ?? 'unknown');
  w.int(rget(s, R_LINK_UP) === 1 ? rget(s, R_SLAVE_REPL_OFFSET) : -1);
}

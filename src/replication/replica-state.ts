// What the replica side reads and writes of the server's replication state: the ids and offsets
// (src/replication/state.ts, the shared module) and the replica fields INFO replication and ROLE
// render from it. The hot-path flags (MISC_REPLICA, MISC_MASTER_LINK: one atomic load per
// command) are kept beside them in the misc words.
import type { Store } from '../store/keyspace';
import { MISC_MASTER_LINK, MISC_REPLICA } from '../store/keyspace';
import type { Stream } from '../server/stream';
import {
  clearReplicationId2, radd, replId, replOffset, rget, rset, setMasterHost, setReplBase, setReplId, setReplId2,
  shiftReplicationId as shiftId,
  LINK_CONNECT, LINK_CONNECTED, LINK_CONNECTING, LINK_HANDSHAKE, LINK_NONE, LINK_SYNC,
  R_LINK_DOWN_SINCE, R_LINK_STATE, R_LINK_UP, R_MASTER_LAST_IO, R_MASTER_PORT, R_NET_REPL_IN, R_READ_REPL_OFFSET, R_ROLE,
  R_SLAVE_REPL_OFFSET, R_BACKLOG_ACTIVE, R_FROZEN, R_SYNC_IN_PROGRESS, R_MASTER_DB, R_SYNC_LAST_IO, R_SYNC_READ, R_SYNC_TOTAL,
} from './state';

export interface ReplicaFields {
  host: string;
  port: number;
  linkUp: boolean;
  lastIo: number;
  syncInProgress: boolean;
  transferSize: number;
  transferRead: number;
  transferLastIo: number;
  readReploff: number;
  reploff: number;
  downSince: number;
  /** replica.ts's Link state: None, Connect, Connecting, Handshake, Transfer, Loading, Connected. */
  replState: number;
  /** The db the master's stream is in (-1: no master, cached or not). */
  streamDb: number;
}

/** ROLE's names for replica.ts's link states (loading counts as sync, as REPL_STATE_TRANSFER). */
const LINK_OF = [LINK_NONE, LINK_CONNECT, LINK_CONNECTING, LINK_HANDSHAKE, LINK_SYNC, LINK_SYNC, LINK_CONNECTED];

let stream: Stream | null = null;

export function bindStream(s: Stream): void {
  stream = s;
}

/**
 * A replica from the start (the `replicaof` directive), set before any worker serves; and REPLICAOF
 * inside EXEC on a thread other than the link's, so that the commands after it in the same EXEC
 * see what Redis's synchronous replicationSetMaster shows (role slave, link down).
 */
export function markReplica(s: Store, host: string, port: number): void {
  Atomics.store(s.i32, s.L.misc + MISC_REPLICA, 1);
  Atomics.store(s.i32, s.L.misc + MISC_MASTER_LINK, 0);
  rset(s, R_LINK_UP, 0);
  becomeReplica(s);
  setMasterHost(s, host);
  rset(s, R_MASTER_PORT, port);
  rset(s, R_LINK_STATE, LINK_CONNECT);
  rset(s, R_MASTER_DB, -1);
}

/**
 * Role replica. A master without a backlog turning replica goes on from the offset it showed
 * (the stream may have moved for the AOF alone), which its PSYNC then offers, as Redis's
 * replicationCacheMasterUsingMyself offers master_repl_offset.
 */
function becomeReplica(s: Store): void {
  if (rget(s, R_ROLE) === 0 && rget(s, R_BACKLOG_ACTIVE) !== 1 && stream !== null) setReplBase(s, stream, rget(s, R_FROZEN));
  rset(s, R_ROLE, 1);
}

/** The master's stream changed db (SELECT): a save's repl-stream-db, exact per command. */
export function setStreamDb(s: Store, db: number): void {
  rset(s, R_MASTER_DB, db);
}

export function setReplicaFields(s: Store, f: ReplicaFields): void {
  const replica = f.host !== '';
  Atomics.store(s.i32, s.L.misc + MISC_REPLICA, replica ? 1 : 0);
  Atomics.store(s.i32, s.L.misc + MISC_MASTER_LINK, f.linkUp ? 1 : 0);
  if (replica) becomeReplica(s);
  else rset(s, R_ROLE, 0);
  setMasterHost(s, f.host);
  rset(s, R_MASTER_PORT, f.port);
  rset(s, R_LINK_UP, f.linkUp ? 1 : 0);
  rset(s, R_MASTER_LAST_IO, f.lastIo);
  rset(s, R_SYNC_IN_PROGRESS, f.syncInProgress ? 1 : 0);
  rset(s, R_SYNC_TOTAL, f.transferSize);
  rset(s, R_SYNC_READ, f.transferRead);
  rset(s, R_SYNC_LAST_IO, f.transferLastIo);
  rset(s, R_READ_REPL_OFFSET, f.readReploff);
  rset(s, R_SLAVE_REPL_OFFSET, f.reploff);
  rset(s, R_LINK_DOWN_SINCE, f.downSince);
  rset(s, R_LINK_STATE, LINK_OF[f.replState] ?? LINK_NONE);
  rset(s, R_MASTER_DB, f.streamDb);
}

/** The link's read and applied offsets after a batch from the master (and the bytes read). */
export function setReplicaOffsets(s: Store, read: number, applied: number, bytesIn: number): void {
  rset(s, R_READ_REPL_OFFSET, read);
  rset(s, R_SLAVE_REPL_OFFSET, applied);
  rset(s, R_MASTER_LAST_IO, Date.now());
  radd(s, R_NET_REPL_IN, bytesIn);
}

export function replid(s: Store): string {
  return replId(s);
}

/** master_repl_offset. */
export function offset(s: Store): number {
  return replOffset(s, stream as Stream);
}

/** Promotion (REPLICAOF NO ONE): replid becomes replid2, valid up to our offset. */
export function shiftReplicationId(s: Store): void {
  shiftId(s, stream as Stream);
}

/** +CONTINUE with a new id: the old one is valid up to `second` (exclusive). */
export function changeReplicationId(s: Store, newId: string, second: number): void {
  setReplId2(s, replId(s), second);
  setReplId(s, newId);
}

/** After a full sync: the master's id and offset are ours, no secondary id. */
export function adoptMaster(s: Store, masterReplid: string, masterOffset: number): void {
  setReplId(s, masterReplid);
  clearReplicationId2(s);
  setReplBase(s, stream as Stream, masterOffset);
}

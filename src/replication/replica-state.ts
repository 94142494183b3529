// What the replica side reads and writes of the server's replication state (replid, replid2,
// offsets, the replica fields INFO replication and ROLE show). The state itself belongs to
// src/replication/state.ts (the master side's module); this file only adapts the replica's calls
// to it. Until that module exists, the ids and the offset base live here, on the link thread.
import { randomBytes } from 'crypto';
import type { Store } from '../store/keyspace';
import type { ThreadServer } from '../server/context';
import type { Stream } from '../server/stream';

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
  replState: number;
}

let stream: Stream | null = null;
let id = randomBytes(20).toString('hex');
let id2 = '0000000000000000000000000000000000000000';
let secondOffset = -1;
let base = 0;

export function bindStream(s: Stream): void {
  stream = s;
}

export function setReplicaFields(_s: Store, _f: ReplicaFields): void {}

export function setReplicaOffsets(_s: Store, _read: number, _applied: number): void {}

export function replid(_s: Store): string {
  return id;
}

/** master_repl_offset: the stream's offset plus the base a full sync set. */
export function offset(_s: Store): number {
  return (stream as Stream).offset() + base;
}

export function shiftReplicationId(s: Store): void {
  id2 = id;
  secondOffset = offset(s) + 1;
  id = randomBytes(20).toString('hex');
}

export function changeReplicationId(_s: Store, newId: string, second: number): void {
  id2 = id;
  secondOffset = second;
  id = newId;
}

export function adoptMaster(_s: Store, masterReplid: string, masterOffset: number): void {
  id = masterReplid;
  id2 = '0000000000000000000000000000000000000000';
  secondOffset = -1;
  base = masterOffset - (stream as Stream).offset();
}

export function disconnectReplicas(_srv: ThreadServer): void {}

export function debugState(): string {
  return `${id} ${id2} ${secondOffset} ${base}`;
}

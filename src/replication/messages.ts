// What the master side's threads send each other (workers, main, the replication thread).
import type { MessagePort } from 'worker_threads';
import type { Layout } from '../store/keyspace';

export interface ReplThreadData {
  sab: SharedArrayBuffer;
  layout: Layout;
  stream: SharedArrayBuffer;
  /** One port per worker thread (index thread - 1). */
  ports: MessagePort[];
  settings: ReplSettings;
  loglevel: string;
  logfile: string;
}

export interface ReplSettings {
  backlogSize: number;
  backlogTtl: number;
  diskless: boolean;
  disklessDelay: number;
  disklessMax: number;
}

/** A worker's request: a client sent SYNC or PSYNC (see master.ts). */
export interface SyncRequest {
  op: 'sync';
  thread: number;
  clientId: number;
  /** PSYNC's replication id, or null for SYNC. */
  replid: string | null;
  /** PSYNC's offset (the next byte the replica wants, 1-based as Redis). */
  offset: number;
  /** Capabilities: CAPA_EOF | CAPA_PSYNC2. */
  capa: number;
  rdbOnly: boolean;
  /** REPLCONF rdb-filter-only: the RDB carries no keys, and the libraries only with `functions`. */
  filtered: boolean;
  functions: boolean;
  name: string;
}

export const CAPA_EOF = 1;
export const CAPA_PSYNC2 = 2;


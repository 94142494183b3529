// Per-thread copies of the client buffer limits (client-output-buffer-limit for the normal and
// pubsub classes, client-query-buffer-limit, proto-max-bulk-len), refreshed by CONFIG SET, so the
// per-batch checks read plain fields; and the cron that closes a client held over its soft limit
// for too long when no new output comes to notice it (Redis's clientsCron does the same).
import type { ThreadServer } from './context';
import type { ParserLimits } from '../protocol/parser';

export interface ThreadLimits extends ParserLimits {
  queryBufLimit: number;
  normalHard: number;
  normalSoft: number;
  normalSoftMs: number;
  pubsubHard: number;
  pubsubSoft: number;
  pubsubSoftMs: number;
  replicaHard: number;
  replicaSoft: number;
  replicaSoftMs: number;
  /** Any normal-class limit set: flush checks a normal client's output only then. */
  normalOn: boolean;
}

/**
 * Output an unauthenticated client may have pending (decision; Redis 7.0 has no such cap): it can
 * only get short error replies, so only a client that sends without ever reading meets it, and
 * without it such a client makes the server buffer without limit when the normal class has none.
 */
export const UNAUTH_OBUF_LIMIT = 1024 * 1024;

const CRON_MS = 250;

let owner: ThreadServer | null = null;
const limits: ThreadLimits = {
  protoMaxBulkLen: 512 * 1024 * 1024,
  queryBufLimit: 1024 * 1024 * 1024,
  normalHard: 0,
  normalSoft: 0,
  normalSoftMs: 0,
  pubsubHard: 0,
  pubsubSoft: 0,
  pubsubSoftMs: 0,
  replicaHard: 0,
  replicaSoft: 0,
  replicaSoftMs: 0,
  normalOn: false,
};

function refresh(srv: ThreadServer): void {
  const cfg = srv.config;
  limits.protoMaxBulkLen = cfg.num('proto-max-bulk-len');
  limits.queryBufLimit = cfg.num('client-query-buffer-limit');
  const o = cfg.clientOutputBufferLimits();
  limits.normalHard = o.normal.hard;
  limits.normalSoft = o.normal.soft;
  limits.normalSoftMs = o.normal.softSeconds * 1000;
  limits.pubsubHard = o.pubsub.hard;
  limits.pubsubSoft = o.pubsub.soft;
  limits.pubsubSoftMs = o.pubsub.softSeconds * 1000;
  // A replica's hard limit under repl-backlog-size counts as repl-backlog-size (Redis 7.0's
  // checkClientOutputBufferLimits): a partial resync the backlog allows must not be cut at once.
  const backlog = cfg.num('repl-backlog-size');
  limits.replicaHard = o.replica.hard > 0 && o.replica.hard < backlog ? backlog : o.replica.hard;
  limits.replicaSoft = o.replica.soft;
  limits.replicaSoftMs = o.replica.softSeconds * 1000;
  limits.normalOn = limits.normalHard > 0 || limits.normalSoft > 0;
}

/** This thread's limits (one ThreadServer per worker thread); the first call installs the cron. */
export function threadLimits(srv: ThreadServer): ThreadLimits {
  if (owner === srv) return limits;
  owner = srv;
  refresh(srv);
  srv.configListeners.push((name) => {
    if (name === 'proto-max-bulk-len' || name === 'client-query-buffer-limit' || name === 'client-output-buffer-limit' || name === 'repl-backlog-size') refresh(srv);
  });
  setInterval(() => {
    const now = Date.now();
    for (const c of srv.clients.values()) {
      if (c.softLimitSince !== 0 && !c.closed) c.checkOutputLimits(c.socket.writableLength, now);
    }
  }, CRON_MS).unref();
  return limits;
}

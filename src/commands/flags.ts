// Command flags as bits, parsed once when the table is built (table.ts), so the dispatcher, the
// coordinator and EXEC test a bit instead of searching the flag strings on every call.
import type { CommandSpec } from './types';

export const F_WRITE = 1 << 0;
export const F_READONLY = 1 << 1;
export const F_DENYOOM = 1 << 2;
export const F_ADMIN = 1 << 3;
export const F_PUBSUB = 1 << 4;
export const F_NOSCRIPT = 1 << 5;
export const F_BLOCKING = 1 << 6;
export const F_LOADING = 1 << 7;
export const F_STALE = 1 << 8;
/** A script's own flags as command flags (CommandSpec.scriptFlags). */
export const SF_WRITE = 1;
export const SF_DENYOOM = 2;
export const SF_STALE = 4;
export const F_FAST = 1 << 9;
export const F_NO_AUTH = 1 << 10;
export const F_MAY_REPLICATE = 1 << 11;
export const F_NO_MULTI = 1 << 12;
export const F_SKIP_SLOWLOG = 1 << 13;
export const F_ALLOW_BUSY = 1 << 14;
export const F_MOVABLEKEYS = 1 << 15;
/**
 * Not a Redis flag: the command reads or changes keys it cannot name up front (KEYS, SCAN,
 * RANDOMKEY, DBSIZE...). It locks slot by slot itself (or runs under lock-all in EXEC), so EXEC
 * must hold every slot when it queues one. Declared with `walks: true` in the table entry.
 */
export const F_WALKS = 1 << 16;
/** Redis's CMD_TOUCHES_ARBITRARY_KEYS: its lazy-expiry DELs are not wrapped in MULTI/EXEC. */
export const F_TOUCHES_ARBITRARY_KEYS = 1 << 17;
/** Never propagated as itself (EXEC: its commands are). Declared with `propagate: false`. */
export const F_NO_PROPAGATE = 1 << 18;
/** Refused with -LOADING while a replica loads asynchronously (CMD_NO_ASYNC_LOADING). */
export const F_NO_ASYNC_LOADING = 1 << 19;

const BY_NAME: Record<string, number> = {
  write: F_WRITE,
  readonly: F_READONLY,
  denyoom: F_DENYOOM,
  admin: F_ADMIN,
  pubsub: F_PUBSUB,
  noscript: F_NOSCRIPT,
  blocking: F_BLOCKING,
  loading: F_LOADING,
  stale: F_STALE,
  fast: F_FAST,
  no_auth: F_NO_AUTH,
  may_replicate: F_MAY_REPLICATE,
  no_multi: F_NO_MULTI,
  skip_slowlog: F_SKIP_SLOWLOG,
  allow_busy: F_ALLOW_BUSY,
  movablekeys: F_MOVABLEKEYS,
  no_async_loading: F_NO_ASYNC_LOADING,
};

// Lock modes (CommandSpec.lockMode), decided from `lock` once.
export const LOCK_KEYS = 0;
export const LOCK_ALL = 1;
export const LOCK_NONE = 2;

/** Fill spec.bits and spec.lockMode from its flag strings and lock option. */
export function compileFlags(spec: CommandSpec): void {
  let bits = 0;
  for (const f of spec.flags) bits |= BY_NAME[f] ?? 0;
  if (spec.walks === true) bits |= F_WALKS | F_TOUCHES_ARBITRARY_KEYS;
  if (spec.propagate === false) bits |= F_NO_PROPAGATE;
  spec.bits = bits;
  spec.lockMode = spec.lock === 'all' ? LOCK_ALL : spec.lock === 'none' ? LOCK_NONE : LOCK_KEYS;
  spec.denyoom = (bits & F_DENYOOM) !== 0;
  spec.readonly = (bits & F_READONLY) !== 0;
  spec.write = (bits & F_WRITE) !== 0;
  spec.loadingOk = (bits & F_LOADING) !== 0;
}

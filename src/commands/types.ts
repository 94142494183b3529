// The shape of a command table entry. The table drives arity errors, slot locking, COMMAND and
// INFO commandstats; the handler only sees the client context and its arguments.
import type { Client } from '../server/client';

export type Handler = (c: Client, argv: Buffer[]) => void;

export interface CommandSpec {
  /** Lower-case name as Redis shows it (subcommands: just the subcommand, e.g. "get"). */
  name: string;
  /** Redis arity: N exactly N args (name included), -N at least N. */
  arity: number;
  /** Redis command flags (write, readonly, denyoom, admin, pubsub, noscript, blocking, loading,
   *  stale, fast, no_auth, may_replicate, no_multi, allow_busy...), as COMMAND INFO prints them. */
  flags: string[];
  /** Key positions as COMMAND shows them: first, last (negative from the end), step. 0 = none. */
  firstKey: number;
  lastKey: number;
  step: number;
  /** Argument indexes of the keys, when first/last/step cannot describe them (numkeys...). */
  keys?: (argv: Buffer[]) => number[];
  /**
   * How the dispatcher locks: 'keys' (default) the slots of the keys in ascending order;
   * 'all' every slot (commands whose keys are found while running: SORT BY/GET, SWAPDB,
   * FLUSHALL); 'none' no lock (commands touching no key, or walkers that lock slot by slot
   * through the store's own iteration API).
   */
  lock?: 'keys' | 'all' | 'none';
  /** Decide the lock mode from the arguments (e.g. SORT only locks all with BY/GET patterns). */
  lockFor?: (argv: Buffer[]) => 'keys' | 'all';
  /**
   * EVAL/FCALL (getCommandFlags): the flags the script declared replace write, denyoom and stale
   * for processCommand's checks. SF_* bits (commands/flags.ts), or -1 to keep the spec's.
   */
  scriptFlags?: (c: Client, argv: Buffer[]) => number;
  handler: Handler;
  subcommands?: CommandSpec[];
  group: string;
  since: string;
  summary: string;
  complexity?: string;
  /** ACL categories for COMMAND INFO, without the '@'. */
  acl?: string[];
  /** Command tips for COMMAND INFO/DOCS (e.g. "request_policy:multi_shard", "nondeterministic_output"). */
  tips?: string[];
  /** Key-spec flags of the first key spec when they differ from the derived ones (e.g. ["RW", "access", "update", "variable_flags"]), and its notes. */
  keySpecFlags?: string[];
  keySpecNotes?: string;
  /** Index of this command in the commandstats area (assigned by the table). */
  statIndex?: number;
  /** Full name for errors and stats: "get", "config|get". */
  fullName?: string;
  /** Has the denyoom flag (set when the table is built): refused when over maxmemory. */
  denyoom?: boolean;
  /** Has the readonly flag (set by the table): never changes data, so snapshots need no copy. */
  readonly?: boolean;
  /** Has the write flag (set by the table): refused with MISCONF after a failed save. */
  write?: boolean;
  /** Has the loading flag (set by the table): allowed while the dataset loads. */
  loadingOk?: boolean;
  /** CMD_PROTECTED (DEBUG; MODULE LOAD, LOADEX, UNLOAD): allowed only as this option says.
   *  Redis 7.0's COMMAND INFO does not list this flag, so it is not among `flags`. */
  protectedBy?: 'enable-debug-command' | 'enable-module-command';
  /**
   * The command reads or changes keys it cannot name from its arguments and walks the keyspace
   * slot by slot (KEYS, SCAN, RANDOMKEY, DBSIZE). EXEC holds every slot when it queues one.
   */
  walks?: boolean;
  /** false: never propagated as itself (EXEC, whose commands are). */
  propagate?: boolean;
  /** The flags as bits (src/commands/flags.ts), set when the table is built. */
  bits?: number;
  /** `lock` as a number (LOCK_KEYS/LOCK_ALL/LOCK_NONE), set when the table is built. */
  lockMode?: number;
}

// Propagation (Redis's alsoPropagate/propagatePendingCommands): the effects of each unit of work
// (a command, an EXEC, a served blocked client, one expired or evicted key) are staged on this
// thread as RESP commands and appended to the shared stream (src/server/stream.ts) in one piece
// while the unit's slot locks are still held. More than one effect is wrapped in MULTI/EXEC
// (except for commands that touch arbitrary keys, and expiry/eviction outside a command); the
// stream inserts SELECT whenever the db changes.
//
// A command is propagated as itself when it changed the dataset (store.dirty moved), unless it
// rewrote what it propagates: commands call propagateAs() (rewriteClientCommandVector),
// alsoPropagate() plus preventPropagation() (SPOP as SREMs), all cheap no-ops unless on().
// Keys deleted by lazy or active expiry and by eviction are staged by a deleted-listener as DEL
// (UNLINK under lazyfree-lazy-expire / lazyfree-lazy-eviction), exactly once per key.
//
// With no reader attached, begin() is one atomic load and nothing else happens.
import { DEL_EVICTED, DEL_EXPIRED, MISC_REPLICA, type Store } from '../store/keyspace';
import { type Stream, putHeader } from './stream';
import { log } from './log';

const SELECT = Buffer.from('SELECT');
const MULTI = Buffer.from('*1\r\n$5\r\nMULTI\r\n');
const EXEC = Buffer.from('*1\r\n$4\r\nEXEC\r\n');
const DEL = Buffer.from('DEL');
const UNLINK = Buffer.from('UNLINK');
const PING = Buffer.from('*1\r\n$4\r\nPING\r\n');

/** Where an effect goes (redis.set_repl's REPL_AOF and REPL_REPLICA bits). */
export const T_AOF = 1;
export const T_REPLICAS = 2;
export const T_ALL = 3;

function selectBytes(db: number): Buffer {
  const d = String(db);
  return Buffer.from(`*2\r\n$6\r\n${SELECT.toString()}\r\n$${d.length}\r\n${d}\r\n`);
}

/** Where putView writes: the stream (its own db state), or a PartOut. */
interface ViewOut {
  db: number;
  put(src: Uint8Array, start: number, end: number): void;
}

/** The AOF's part of a unit, collected (it starts in no db: its first effect selects). */
class PartOut implements ViewOut {
  db = -1;
  readonly parts: Uint8Array[] = [];
  put(src: Uint8Array, start: number, end: number): void {
    this.parts.push(src.subarray(start, end));
  }
}

function putSelect(out: ViewOut, db: number): void {
  const hdr = selectBytes(db);
  out.put(hdr, 0, hdr.length);
  out.db = db;
}

let warned = false;
function warnOnce(msg: string): void {
  if (warned) return;
  warned = true;
  log('warning', msg);
}

/**
 * A list of numbers emptied by `length = 0` without freeing its storage (a JS array's backing
 * store is dropped and regrown on every unit: measured as a quarter of the append's cost in GC).
 */
class NumList {
  private a = new Float64Array(16);
  length = 0;

  push(v: number): void {
    if (this.length === this.a.length) {
      const b = new Float64Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.length++] = v;
  }

  at(i: number): number {
    return this.a[i];
  }
}

export class Propagator {
  /** A reader is attached and a unit is open: commands should stage their effects. */
  private enabled = false;
  private depth = 0;
  private buf = Buffer.allocUnsafe(64 * 1024);
  private pos = 0;
  /** Staged effects: db of each, and where its bytes end in buf. */
  private readonly dbs = new NumList();
  private readonly ends = new NumList();
  /**
   * Where each staged effect goes (redis.set_repl: T_AOF, T_REPLICAS or both), and whether any
   * of this unit's goes to only one of them.
   */
  private readonly targets = new NumList();
  private split = false;
  /** The current command's own propagation: rewritten argv, or prevented. */
  private rewritten: Uint8Array[] | null = null;
  private prevented = false;
  /** lazyfree-lazy-expire / lazyfree-lazy-eviction: expiry / eviction propagate UNLINK. */
  lazyExpire = false;
  lazyEviction = false;
  /**
   * On a replica (src/replication/replica.ts): the master's bytes for the unit now running. They
   * are appended as they are, instead of anything staged (Redis's
   * replicationFeedStreamFromMasterStream), so offsets stay equal along a chain.
   */
  proxy: Buffer | null = null;
  /** Shared word: non-zero while this server replicates from a master (its own units then
   *  propagate nothing: only the master's stream reaches its readers). */
  private readonly i32: Int32Array;
  private readonly replicaWord: number;

  constructor(
    readonly stream: Stream,
    store: Store,
  ) {
    store.listen('deleted', this.onDeleted);
    this.i32 = store.i32;
    this.replicaWord = store.L.misc + MISC_REPLICA;
  }

  /** Is this server a replica now? (Its own writes, expiries and evictions propagate nothing.) */
  private replica(): boolean {
    return Atomics.load(this.i32, this.replicaWord) !== 0;
  }

  /** Are effects being staged now? Commands test this before building a rewrite. */
  on(): boolean {
    return this.enabled;
  }

  /**
   * Open a unit (a top-level command, a served client). Nested units (commands inside EXEC) join
   * the outer one. Returns whether this call opened it: only the opener calls commit().
   */
  begin(): boolean {
    if (this.depth > 0) return false;
    this.depth = 1;
    // The common case (no reader): one atomic load, nothing else touched.
    if (!this.stream.active() || this.proxy !== null || this.replica()) return true;
    this.enabled = true;
    this.pos = 0;
    this.dbs.length = 0;
    this.ends.length = 0;
    this.targets.length = 0;
    this.split = false;
    return true;
  }

  /** Before a command's body: forget the previous command's rewrite. */
  beforeCommand(): void {
    this.rewritten = null;
    this.prevented = false;
  }

  /**
   * After a command's body: stage it (or what it rewrote itself to) if it changed the dataset.
   * A served blocked client passes its rewrite's db, no argv and changed = true.
   */
  afterCommand(db: number, argv: Uint8Array[] | null, changed: boolean, target = T_ALL): void {
    if (!changed || this.prevented || target === 0) return;
    if (this.rewritten !== null) this.stage(db, this.rewritten, target);
    else if (argv !== null) this.stage(db, argv, target);
  }

  /**
   * Close the unit: append what was staged to the stream (call with the unit's locks still
   * held). `noWrap`: several effects are not wrapped in MULTI/EXEC (commands that touch
   * arbitrary keys; active expiry and eviction).
   */
  commit(noWrap = false): void {
    this.depth = 0;
    if (this.proxy !== null) this.appendProxy();
    if (!this.enabled) return;
    this.flush(noWrap);
    this.enabled = false;
  }

  /**
   * afterCommand() then commit(), for the unit's opener (Client.call). When the command's own
   * argv (or its rewrite) is the unit's only effect, it is encoded straight into the stream (one
   * copy instead of two: most of what a reader costs a SET). Its arguments are read here, before
   * anything else can change the memory they may view.
   */
  finish(db: number, argv: Uint8Array[], changed: boolean, noWrap: boolean): void {
    if (!this.enabled || !changed || this.prevented || this.ends.length !== 0 || this.proxy !== null) {
      if (this.enabled) this.afterCommand(db, argv, changed);
      this.commit(noWrap);
      return;
    }
    const a = this.rewritten !== null ? this.rewritten : argv;
    this.depth = 0;
    this.enabled = false;
    const s = this.stream;
    s.beginAppend();
    try {
      if (db !== s.db) putSelect(s, db);
      if (!s.putCommand(a)) {
        this.pos = 0;
        this.stage(db, a);
        s.put(this.buf, 0, this.pos);
      }
    } finally {
      s.endAppend();
      this.pos = 0;
      this.dbs.length = 0;
      this.ends.length = 0;
      this.targets.length = 0;
    }
  }

  /**
   * Append what is staged now and keep the unit open (EXEC, before it releases its locks; the
   * call() around it then finds nothing left).
   */
  flush(noWrap = false): void {
    if (this.proxy !== null) this.appendProxy();
    const n = this.ends.length;
    if (!this.enabled || n === 0) return;
    const wrap = n > 1 && !noWrap;
    const s = this.stream;
    s.beginAppend();
    try {
      if (!this.split) this.putView(T_ALL, wrap);
      else this.putSplit(wrap);
    } finally {
      s.endAppend();
      this.pos = 0;
      this.dbs.length = 0;
      this.ends.length = 0;
      this.targets.length = 0;
      this.split = false;
    }
  }

  /**
   * Write the staged effects that go to `target` to `s` (the stream, append lock held, or the
   * AOF's part), with SELECT where its db changes. Wrapped in MULTI/EXEC by the unit's count of
   * effects, as Redis's propagatePendingCommands (so one target may get an empty transaction).
   */
  private putView(target: number, wrap: boolean, s: ViewOut = this.stream): void {
    const n = this.ends.length;
    let at = 0;
    for (let i = 0; i < n; i++) {
      const db = this.dbs.at(i);
      const end = this.ends.at(i);
      if (i === 0 && wrap) {
        if (db !== s.db) putSelect(s, db);
        s.put(MULTI, 0, MULTI.length);
      }
      if ((this.targets.at(i) & target) !== 0) {
        if (db !== s.db) putSelect(s, db);
        s.put(this.buf, at, end);
      }
      at = end;
    }
    if (wrap) s.put(EXEC, 0, EXEC.length);
  }

  /**
   * A unit whose AOF part differs from its replicas' part (append lock held). Whoever reads alone
   * gets its part in the stream; with both attached the stream gets the replicas' part and the
   * AOF a side record (stream.ts putAofSide) with its own.
   */
  private putSplit(wrap: boolean): void {
    const s = this.stream;
    if (!s.aofAttached()) {
      this.putView(T_REPLICAS, wrap);
      return;
    }
    if (s.otherReaders() === 0) {
      this.putView(T_AOF, wrap);
      return;
    }
    const aof = this.aofPart(wrap);
    if (!s.sideFits(aof.length)) {
      // Bigger than the side ring can hold: both get everything, as before redis.set_repl.
      warnOnce('redis.set_repl(): a unit of writes too big to split between the AOF and the replicas went to both');
      this.putView(T_ALL, wrap);
      return;
    }
    const at = s.lastOffset();
    this.putView(T_REPLICAS, wrap);
    // Never nothing in the stream: a reply held for the AOF (appendfsync always) waits for the
    // stream offset after its write, and the AOF takes a record when it reaches its offset. A
    // PING is what a master sends replicas anyway; the AOF skips it.
    if (s.lastOffset() === at) s.put(PING, 0, PING.length);
    s.putAofSide(at, s.lastOffset(), aof, aof.length);
    // The AOF's db after this unit may not be the stream's: the next unit selects again.
    s.db = -1;
  }

  /** The AOF's part of the staged effects as RESP, starting with SELECT (its own db state). */
  private aofPart(wrap: boolean): Buffer {
    const out = new PartOut();
    this.putView(T_AOF, wrap, out);
    return Buffer.concat(out.parts);
  }

  /**
   * Append the master's bytes set in `proxy` (once) and forget them. Appended even with no reader,
   * so that the stream's offset (the replication offset) follows the master's. The stream's db is
   * left unknown: the master's own SELECTs are in the bytes, and a unit of ours after a promotion
   * starts with SELECT.
   */
  appendProxy(): void {
    const b = this.proxy as Buffer;
    this.proxy = null;
    const s = this.stream;
    s.beginAppend();
    try {
      s.put(b, 0, b.length);
      s.db = -1;
    } finally {
      s.endAppend();
    }
  }

  /** The command propagates as this instead of itself (rewriteClientCommandVector). */
  propagateAs(argv: Uint8Array[]): void {
    this.rewritten = argv;
    this.prevented = false;
  }

  /** The command does not propagate itself (its effects were staged with alsoPropagate). */
  preventPropagation(): void {
    this.prevented = true;
  }

  /** Stage one more effect, in db (alsoPropagate). */
  alsoPropagate(db: number, argv: Uint8Array[]): void {
    if (this.enabled) this.stage(db, argv);
  }

  // Expired and evicted keys: staged with the unit they happen in (lazy expiry inside a command),
  // or appended at once on their own (active expiry, eviction before a command), under the
  // key's slot lock either way.
  private readonly onDeleted = (db: number, key: Uint8Array, reason: number): void => {
    if (reason !== DEL_EXPIRED && reason !== DEL_EVICTED) return;
    const lazy = reason === DEL_EXPIRED ? this.lazyExpire : this.lazyEviction;
    if (this.depth > 0) {
      if (this.enabled) this.stage(db, [lazy ? UNLINK : DEL, key]);
      return;
    }
    if (!this.stream.active() || this.replica()) return;
    this.begin();
    this.stage(db, [lazy ? UNLINK : DEL, key]);
    this.commit(true);
  };

  /**
   * A key a master found expired loading its RDB at start-up with its replication position
   * (rdbLoad's RDBFLAGS_FEED_REPL): its DEL (UNLINK under lazyfree-lazy-expire) goes to the new
   * backlog, so the replicas that continue partially drop the key too.
   */
  expiredAtLoad(db: number, key: Uint8Array): void {
    this.onDeleted(db, key, DEL_EXPIRED);
  }

  // ---- RESP encoding into the staging buffer -------------------------------------------------

  private stage(db: number, argv: Uint8Array[], target = T_ALL): void {
    this.header(0x2a, argv.length);
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i];
      this.header(0x24, a.length);
      this.room(a.length + 2);
      this.buf.set(a, this.pos);
      this.pos += a.length;
      this.buf[this.pos++] = 13;
      this.buf[this.pos++] = 10;
    }
    this.dbs.push(db);
    this.ends.push(this.pos);
    this.targets.push(target);
    if (target !== T_ALL) this.split = true;
  }

  private header(mark: number, n: number): void {
    this.room(24);
    this.pos = putHeader(this.buf, this.pos, mark, n);
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
}

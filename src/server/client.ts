// One client connection: socket -> parser -> command table -> slot locks -> handler -> writer.
import type { Socket } from 'net';
import { RequestParser, ProtocolError } from '../protocol/parser';
import type { ReplyWriter } from '../protocol/writer';
import type { Store } from '../store/keyspace';
import { OutOfMemoryError, RESERVE_FIXED } from '../store/heap';
import type { CommandSpec } from '../commands/types';
import { LOCK_BUSY } from './coordinator';
import { lookupCommand, resolveSubcommand, statBase, statBaseOf } from '../commands/table';
import { cstr } from '../commands/args';
import { F_ALLOW_BUSY, F_FAST, F_MAY_REPLICATE, F_NO_ASYNC_LOADING, F_NO_AUTH, F_NO_MULTI, F_NO_PROPAGATE, F_SKIP_SLOWLOG, F_STALE, F_TOUCHES_ARBITRARY_KEYS, F_READONLY, F_WRITE, SF_DENYOOM, SF_STALE, SF_WRITE } from '../commands/flags';
import { MISC_MASTER_LINK, MISC_REPLICA } from '../store/keyspace';
import { rememberLocalWrite } from '../replication/replica-expire';
import { ThreadServer, S_COMMANDS, S_NET_IN, S_NET_OUT, S_ERRORS, S_CLIENTS, M_CLIENTS, S_PROTO_ERRORS, S_DIRTY, M_LOADING, M_ASYNC_LOADING, M_STARTING, S_RUNNING_CMD, S_RUNNING_CLIENT } from './context';
import { diskWriteError } from '../persistence/disk-error';
import { log } from './log';
import { fdOf } from './listeners';
import { chainEnd, chainRestart, chainStart, cmdEnd, cmdStart, wallMs } from './clock';
import { readyPending, serveReadyNow } from './blocking';
import { announceBlocking, arrivalOrderOn, arrivalSeq, batchOpened, batchRan, blockingInFlight, chunkSeq, fenceEarlierInput, fenceOlderBlocking, keepArrivalOrder, stampRead, startsAnnounced, unreadFenceOn, unwatchSocket, withdrawBlocking } from './arrival';
import type { PubStage } from './pubsub';
import { unwatchAll } from '../commands/transactions';
import { slowlogState, slowlogPush, waitDebugSleep } from './services';
import { latencyAddSampleIfNeeded, latencyState, recordCommandLatency } from './latency';
import { setNotifyClient } from './notify';
import { overMaxmemory, performEvictions } from './evict';
import { clientMemChanged, clientMemLive, evictPushedNow, noteClientMem } from './client-mem';
import { feedMonitors, monitorsActive } from './monitor';
import { mustPostpone, pauseOn, postpone } from './pause';
import { T_CACHING, drainInbox, flushBroadcasts, flushPendingSelf, rememberKeys, trackCtx, trackInbox, trackKeysWord, trackMaxKeys, trackingLimitUsedSlots, type TrackState } from './tracking';
import { threadLimits, UNAUTH_OBUF_LIMIT, type ThreadLimits } from './obuf';
import { clientInfoLine } from '../commands/connection';
import { busyKind } from '../scripting/engine';
import { E_NOREPLICAS, replGate, tooFewReplicas } from '../replication/master';
import { hold as aofHold, mustHold as aofMustHold } from '../persistence/aof-hold';

import { E_OOM } from './errors';
import { aclDenied, defaultUserOpen } from './acl';
import type { AclUser } from './acl';
export { E_OOM };
/** processCommand's refusal of a protected command (DEBUG; MODULE LOAD, LOADEX, UNLOAD). */
function protectedRefusal(option: 'enable-debug-command' | 'enable-module-command'): string {
  return `ERR ${option === 'enable-debug-command' ? 'DEBUG' : 'MODULE'} command not allowed. If the ${option} option is set to "local", ` +
    'you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.';
}

// Commands a client may send while MULTI is open that are executed at once, not queued.
const NOT_QUEUED = new Set(['exec', 'discard', 'multi', 'watch', 'quit', 'reset']);
// Commands whose replies are pub/sub pushes, written even under CLIENT REPLY OFF/SKIP.
const PUSH_REPLIES = new Set(['subscribe', 'ssubscribe', 'psubscribe', 'unsubscribe', 'sunsubscribe', 'punsubscribe']);
// Commands allowed in RESP2 subscribed mode.
const PUBSUB_OK = new Set(['subscribe', 'ssubscribe', 'unsubscribe', 'sunsubscribe', 'psubscribe', 'punsubscribe', 'ping', 'quit', 'reset']);

/** expiredAt: 1 the key was live at WATCH, 2 present but already expired (stale), 0 absent.
 *  counters: the key's bucket write counters in every physical db at WATCH (see EXEC). */
export interface WatchedKey { db: number; key: Buffer; version: number; expiredAt: number; phys?: number; counters?: Uint32Array }

/** This thread's deadline for commands held while the server starts (0: none held yet). */
let startupHoldEnd = 0;

/**
 * Chunks this thread's poll phase has read, run together once it ends (setImmediate runs in the
 * check phase right after). libuv hands over readable sockets in its epoll order, which is not the
 * order their input arrived: when a batch holds a blocking command (or a (un)subscribe), the
 * chunks run in the kernel's arrival order (arrival.ts), so a BRPOPLPUSH sent before an LPUSH on
 * another connection of the same thread blocks before the LPUSH runs, as on Redis's one thread.
 */
let batchClients: Client[] = [];
let batchChunks: Buffer[] = [];
let batchOrdered = false;
let spareClients: Client[] = [];
let spareChunks: Buffer[] = [];
/** The batch runBatch is running now (a script may run inside it: claimBatched). */
let runningClients: Client[] = spareClients;
let runningChunks: Buffer[] = spareChunks;
const EMPTY = Buffer.alloc(0);

/**
 * The chunks of c set aside and not yet run, taken out of the batches (their places left empty):
 * a busy script's thread serves its other clients while the event loop cannot turn
 * (serveWhileBusy), and input libuv read before the script began is no longer in their sockets.
 */
function claimBatchedOf(c: Client): Buffer | null {
  if (c.batched === 0) return null;
  const got: Buffer[] = [];
  for (const [cs, ks] of [[runningClients, runningChunks], [batchClients, batchChunks]] as const) {
    for (let i = 0; i < cs.length; i++) {
      if (cs[i] !== c || ks[i].length === 0) continue;
      got.push(ks[i]);
      ks[i] = EMPTY;
      c.batched--;
    }
  }
  return got.length === 0 ? null : got.length === 1 ? got[0] : Buffer.concat(got);
}

function batchChunk(c: Client, chunk: Buffer): void {
  if (batchClients.length === 0) {
    setImmediate(runBatch);
    batchOpened();
  }
  batchClients.push(c);
  batchChunks.push(chunk);
  c.batched++;
  if (c.announcedChunk()) batchOrdered = true;
}

/**
 * Run what this poll phase set aside now (the peer's end came with its input: Redis runs what it
 * read before the end, and the client's 'end' would otherwise close it first).
 */
export function runPendingBatch(): void {
  if (batchClients.length > 0) runBatch();
}

/**
 * A client's input, read from its socket. A bug reached through one client's input must not take
 * the thread (and every other client on it) down: it is logged and that client dropped.
 */
export function inputOf(c: Client, chunk: Buffer, read = false): void {
  try {
    if (read) c.onData(chunk);
    else c.takeChunk(chunk);
  } catch (e) {
    log('warning', `Closing client id=${c.id} addr=${c.addr} after an internal error: ${(e as Error).stack}`);
    c.close();
    // Its half-written replies and output limits must not reach the next writer user.
    c.srv.w.discard();
    c.srv.w.take();
  }
}

function runBatch(): void {
  const cs = batchClients;
  const ks = batchChunks;
  const ordered = batchOrdered && cs.length > 1;
  // Chunks read while these run (none expected) make a batch of their own.
  batchClients = spareClients;
  batchChunks = spareChunks;
  batchOrdered = false;
  spareClients = cs;
  spareChunks = ks;
  runningClients = cs;
  runningChunks = ks;
  const n = cs.length;
  let order: number[] | null = null;
  if (ordered) {
    // Stable: one client's chunks keep their order (same socket, same number).
    const seqs = cs.map((c) => c.arrivalNumber());
    order = Array.from({ length: n }, (_, i) => i).sort((a, b) => ((seqs[a] - seqs[b]) | 0) || a - b);
  }
  for (let i = 0; i < n; i++) {
    const j = order === null ? i : order[i];
    const k = ks[j];
    if (k.length === 0) continue; // claimed (claimBatched)
    cs[j].batched--;
    inputOf(cs[j], k);
  }
  cs.length = 0;
  ks.length = 0;
  batchRan();
}

export class Client {
  readonly id: number;
  readonly store: Store;
  readonly w: ReplyWriter;
  db = 0;
  name = '';
  resp = 2;
  authenticated: boolean;
  /** The ACL user (server/acl.ts); replaced when any thread changes the users. */
  user: AclUser;
  readonly createdAt = Date.now();
  lastInteraction = Date.now();
  lastCommand = 'NULL';
  libName = '';
  libVer = '';
  readonly addr: string;
  /** The socket's descriptor as recorded for the unread-input fence (arrival.ts), or -1. */
  inputFd = -1;
  /** Chunks of this client set aside for the end of the poll phase (client.ts batchChunk). */
  batched = 0;
  readonly laddr: string;
  readonly parser: RequestParser;
  /** This thread's buffer limits (plain fields, refreshed by CONFIG SET). */
  readonly limits: ThreadLimits;
  closed = false;
  private closeAfterFlush = false;
  /** The peer closed its side while this client held input still to run. */
  peerEnded = false;
  /** Set while the client waits (blocking pop, cross-thread query): input is held back. */
  paused = false;
  // Transactions
  inMulti = false;
  inExec = false;
  /** Cross-thread requests the running EXEC posted (acrossThreads): its reply waits for them. */
  execAcross: Array<Promise<unknown>> | null = null;
  /** Set while a Lua script of this client runs (its redis.call()s see it, like CLIENT_SCRIPT). */
  inScript = false;
  /** SCRIPT DEBUG: 0 off, 1 YES, 2 SYNC; the next EVAL runs under the Lua debugger. */
  ldbMode = 0;
  /** The debugger's session of the EVAL running now: the socket it talks on, the script's source,
   *  a first line for its log, and whether the script ran (engine.ts). */
  ldbSession: { fd: number; src: Buffer; hint: string | null; ran: boolean } | null = null;
  multiError = false;
  multiQueue: QueuedCommand[] = [];
  watched: WatchedKey[] = [];
  /** What the WATCHed keys cost this client (tot-mem, client eviction). */
  watchedBytes = 0;
  // Pub/sub: counts kept by the pubsub family; here for the mode checks and CLIENT LIST.
  subscriptions = 0;
  psubscriptions = 0;
  ssubscriptions = 0;
  /** Cleanup hooks run when the connection closes (pub/sub, blocking, watches). */
  readonly onClose: Array<(c: Client) => void> = [];
  /** Client flags for CLIENT LIST that subsystems set (e.g. 'b' blocked, 'S' replica). */
  flagChars = '';
  /** While a blocking command waits: called on CLIENT UNBLOCK / shutdown. */
  /** Set while blocked: CLIENT UNBLOCK ('timeout'/'error') and a role change ('state') end the wait. */
  unblock: ((how: 'timeout' | 'error' | 'state') => void) | null = null;
  /** A command that blocked: it enters the slow log once served or timed out, as Redis logs it. */
  private blockedArgv: Buffer[] | null = null;
  totalCommands = 0;
  /** When the output buffer first passed the soft limit (0: it is below). */
  softLimitSince = 0;
  /** Its share in the thread's client-memory stat, and in which one (client-mem.ts). */
  memAccounted = 0;
  memAccountedReplica = false;
  /** A command held by CLIENT PAUSE: it runs first when the client resumes (src/server/pause.ts). */
  postponed: Buffer[] | null = null;
  /** Bytes of the input being run now (0 between batches: the parser's pending bytes count). */
  queryBytes = 0;
  /** Pub/sub messages held for this client until the end of the event-loop turn. */
  pubStage: PubStage | null = null;
  /** Runs first in flush(): pub/sub hands over messages it holds for this client, keeping order. */
  beforeFlush: ((c: Client) => void) | null = null;
  /** CLIENT REPLY: 0 on, 1 off, 2 skip the next command's reply, 3 skipping this one. */
  replyMode = 0;
  /** CLIENT TRACKING flags (src/server/tracking.ts; 0: off) and the rest of its state. */
  tracking = 0;
  trackState: TrackState | null = null;
  /** Nesting of call() for this client: >0 while a command handler runs. */
  callDepth = 0;
  /** Invalidation pushes made while CLIENT REPLY OFF/SKIP drops the reply: written after it. */
  quietPushes: Buffer[] | null = null;
  /**
   * The replica's link with its master (Redis's CLIENT_MASTER; src/replication/replica.ts): runs
   * each command of the master's stream, gets no replies, is never refused (OOM, MISCONF,
   * READONLY). Null for every other client.
   */
  masterHook: ((c: Client, argv: Buffer[]) => void) | null = null;
  /** A replica of this server (after SYNC/PSYNC): its output limits are the replica class's. */
  replica = false;
  /**
   * Output held for this connection outside its socket (a replica link's stream collected while
   * its RDB is under way): part of omem and tot-mem, as Redis's output buffer holds it.
   */
  heldOutput = 0;
  /** CLIENT NO-EVICT on: maxmemory-clients never closes it. */
  noEvict = false;
  /** Stream offset after this client's last propagated write (WAIT waits for it: c->woff). */
  woff = 0;
  /** Output entries waiting for the AOF's fsync (appendfsync always; src/persistence/aof-hold.ts). */
  aofHeld = 0;

  constructor(
    readonly srv: ThreadServer,
    readonly socket: Socket,
    /** The unixsocket path for a Unix-socket client (its addr and laddr are "path:0", as Redis). */
    readonly unixPath?: string,
  ) {
    this.id = srv.miscAdd(0, 1) + 1;
    this.store = srv.store;
    this.w = srv.w;
    this.user = srv.acl.defaultUser;
    this.authenticated = defaultUserOpen(srv);
    this.addr = unixPath !== undefined ? `${unixPath}:0` : `${formatHost(socket.remoteAddress)}:${socket.remotePort ?? 0}`;
    this.laddr = unixPath !== undefined ? `${unixPath}:0` : `${formatHost(socket.localAddress)}:${socket.localPort ?? 0}`;
    this.limits = threadLimits(srv);
    this.parser = new RequestParser(this.limits, () => this.authenticated);
  }

  /** The writer streams a big reply of this client's here while producing it (ReplyWriter.grow). */
  private readonly spill = (bytes: Buffer): void => {
    if (this.closed || this.masterHook !== null) return;
    this.srv.addStat(S_NET_OUT, bytes.length);
    if (aofMustHold(this, this.srv.prop.stream)) aofHold(this, bytes, false, this.srv.prop.stream);
    else this.socket.write(bytes);
  };

  /** client-output-buffer-limit hard limit of this client's class now (0: none). */
  private hardLimit(): number {
    const L = this.limits;
    if (this.replica) return L.replicaHard;
    let hard = this.subscriptions + this.psubscriptions + this.ssubscriptions > 0 ? L.pubsubHard : L.normalHard;
    if (!this.authenticated && (hard === 0 || hard > UNAUTH_OBUF_LIMIT)) hard = UNAUTH_OBUF_LIMIT;
    return hard;
  }

  /** Give the writer this client's output limits for the commands about to run. */
  private armOutput(): void {
    const w = this.w;
    const hard = this.hardLimit();
    w.room = hard > 0 ? hard - this.socket.writableLength : Infinity;
    w.sink = this.spill;
  }

  /**
   * client-output-buffer-limit for this client's class (normal or pubsub), with `pending` bytes of
   * output not yet taken by the kernel: over the hard limit, or over the soft limit for longer than
   * its seconds, the client is closed (checkClientOutputBufferLimits). Returns true if it was.
   */
  checkOutputLimits(pending: number, now: number): boolean {
    const L = this.limits;
    const pubsub = this.subscriptions + this.psubscriptions + this.ssubscriptions > 0;
    let hard = this.replica ? L.replicaHard : pubsub ? L.pubsubHard : L.normalHard;
    const soft = this.replica ? L.replicaSoft : pubsub ? L.pubsubSoft : L.normalSoft;
    const softMs = this.replica ? L.replicaSoftMs : pubsub ? L.pubsubSoftMs : L.normalSoftMs;
    if (!this.authenticated && (hard === 0 || hard > UNAUTH_OBUF_LIMIT)) hard = UNAUTH_OBUF_LIMIT;
    let close = hard > 0 && pending >= hard;
    if (!close && soft > 0 && pending >= soft) {
      if (this.softLimitSince === 0) this.softLimitSince = now;
      else close = now - this.softLimitSince > softMs;
    } else if (!close) {
      this.softLimitSince = 0;
    }
    if (close) this.closeOverLimit();
    return close;
  }

  /** Close a client over its output buffer limit, logged as Redis does (also used by pub/sub delivery). */
  closeOverLimit(): void {
    log('warning', `Client ${clientInfoLine(this, Date.now())} scheduled to be closed ASAP for overcoming of output buffer limits.`);
    this.close();
  }

  /** Feed bytes from the socket, run every complete command, write the replies in one go. */
  onData(chunk: Buffer): void {
    this.srv.addStat(S_NET_IN, chunk.length);
    const now = (this.lastInteraction = Date.now());
    if (this.srv.threads > 1) {
      this.noteArrival(chunk);
      // While blocking commands are in use, what one poll phase read runs at its end, in the
      // kernel's arrival order.
      if (this.masterHook === null && arrivalOrderOn(this.store, now)) return batchChunk(this, chunk);
    }
    this.takeChunk(chunk);
  }

  /** Run a chunk read from the socket now (or hold it while the client is paused). */
  takeChunk(chunk: Buffer): void {
    if (this.closed || this.paused) {
      // Its announcement (made when read) goes: the command does not run now.
      if (this.announced) this.withdraw();
      if (this.closed) return;
      this.parser.hold(chunk);
      this.checkQueryLimit();
      return;
    }
    this.runInput(chunk);
  }

  /** The arrival number of this chunk, taken now if not yet (for batch ordering). */
  arrivalNumber(): number {
    if (this.readSeq === 0) this.readSeq = chunkSeq(this.inputFd);
    return this.readSeq;
  }

  /**
   * This chunk's place in the arrival order (src/server/arrival.ts): its kernel arrival number,
   * taken when it is first needed (0 until then), or, without the native addon, the counter as it
   * was read.
   */
  private readSeq = 0;
  /** This chunk starts with a blocking command that this thread announced. */
  private announced = false;
  /** Its ticket (announceBlocking). */
  private ticket = 0;

  private noteArrival(chunk: Buffer): void {
    const kernel = unreadFenceOn();
    // A chunk of this client still waiting in the poll phase's batch keeps its place (this one
    // runs after it).
    if (this.batched === 0) this.readSeq = kernel ? 0 : arrivalSeq(this.store);
    if (!this.paused && !this.announced && this.masterHook === null && this.parser.atCommandStart() && startsAnnounced(chunk)) {
      if (kernel) {
        keepArrivalOrder(this.store);
        this.readSeq = chunkSeq(this.inputFd);
      }
      this.ticket = announceBlocking(this.store, this.srv.threadId, this.readSeq);
      this.announced = true;
    }
    // After the announcement: a fence that sees this newer stamp stops waiting for the thread's
    // older chunk, and must then find the blocking command announced (arrival.ts, fenceUnread).
    stampRead();
  }

  private fenceArrival(): void {
    const seq = this.arrivalNumber();
    // A blocking command first lets other threads read what came before it, then waits for the
    // blocking commands among those (and any announced earlier).
    if (this.announced) fenceEarlierInput(seq);
    fenceOlderBlocking(this.store, this.srv.threadId, this.srv.threads, seq);
  }

  /** This client's input set aside and not yet run, taken out of the batches (client.ts claimBatchedOf). */
  claimBatched(): Buffer | null {
    return claimBatchedOf(this);
  }

  /** Does the chunk just read start with a command this thread announced (arrival.ts)? */
  announcedChunk(): boolean {
    return this.announced;
  }

  /** The announced blocking command ran (or its chunk ended before it could). */
  private withdraw(): void {
    this.announced = false;
    withdrawBlocking(this.store, this.srv.threadId, this.ticket);
  }

  private runInput(chunk: Buffer | null): void {
    chainStart();
    // Stream readers (AOF, replicas) are woken once per event-loop turn, not per command.
    const stream = this.srv.prop.stream;
    stream.holdWakes();
    // This client's replies are in the thread's writer until the flush below (tracking pushes).
    const prevExecuting = trackCtx.executing;
    trackCtx.executing = this;
    // While this input runs, CLIENT LIST/INFO show it as the query buffer, as Redis does (its
    // querybuf holds everything read until the batch is done).
    this.queryBytes = this.parser.pendingBytes + (chunk === null ? 0 : chunk.length);
    this.armOutput();
    try {
      const held = this.postponed;
      this.postponed = null;
      // A command CLIENT PAUSE held goes first; if it stops the client again, the rest waits.
      if (held === null || this.onCommand(held)) {
        if (chunk === null) this.parser.resume(this.onCommand);
        else this.parser.feed(chunk, this.onCommand);
      }
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      // The message may quote a byte of the input (expected '$', got '%c'): written as that byte.
      this.w.error(`ERR ${e.message}`, true);
      this.srv.addStat(S_PROTO_ERRORS, 1);
      log('verbose', `Protocol error (${e.message}) from client: id=${this.id} addr=${this.addr}`);
      this.closeAfterFlush = true;
    } finally {
      chainEnd();
      if (this.announced) this.withdraw();
      this.queryBytes = 0;
      stream.releaseWakes();
    }
    this.checkQueryLimit();
    // The peer has ended its side: once nothing is held any more, the client goes (worker.ts).
    if (this.peerEnded && !this.paused) this.closeAfterFlush = true;
    if (clientMemLive.on) {
      // With a client memory limit, what this input pushed to other clients (BCAST invalidations,
      // sent per turn otherwise, as Redis's beforeSleep) is out and counted before its reply.
      flushBroadcasts();
      evictPushedNow();
    }
    this.flush();
    trackCtx.executing = prevExecuting;
    if (clientMemLive.on) clientMemChanged(this.srv, this);
  }

  /** -BUSY for a command while a script elsewhere is past busy-reply-threshold (kind 1 EVAL, 2 FCALL). */
  refuseBusy(spec: CommandSpec | null, argv: Buffer[], kind: number): void {
    // The master's stream waits the script out (processInputBuffer stops reading the master
    // under a busy script): refusing a command of the stream would make the replica diverge.
    if (this.masterHook !== null) return this.holdWhileBusy(argv);
    const msg = kind === 1 ? 'BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.' : 'BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.';
    if (spec !== null && spec.fullName === 'exec') return this.abortExec(msg);
    this.rejectCommand(msg);
  }

  /**
   * At start-up a command waits for the load (2 s at most from the first one held on this
   * thread): Redis reads no client while a small dataset loads, so clients never see -LOADING
   * for it. Past that, or for a load at run time (DEBUG RELOAD, a replica's sync), -LOADING.
   */
  private holdAtStartup(argv: Buffer[]): boolean {
    const i32 = this.store.i32;
    const starting = this.store.L.misc + M_STARTING;
    if (Atomics.load(i32, starting) === 0 || this.masterHook !== null) return false;
    const now = Date.now();
    if (startupHoldEnd === 0) startupHoldEnd = now + 2000;
    if (now >= startupHoldEnd) return false;
    this.holdUntil(argv, () => Atomics.load(i32, starting) === 0 || Date.now() >= startupHoldEnd, 10);
    return true;
  }

  /** Hold the master's command until no script is busy. */
  private holdWhileBusy(argv: Buffer[]): void {
    this.holdUntil(argv, () => busyKind(this.srv) === 0, 5);
  }

  /**
   * Hold argv (run first when the client resumes) until `ready()`, polled every `ms`. For rare
   * waits (start-up, busy scripts): a closure per hold is fine there.
   */
  private holdUntil(argv: Buffer[], ready: () => boolean, ms: number): void {
    this.postponed = argv;
    this.pause();
    const t = setInterval(() => {
      if (this.closed) clearInterval(t);
      else if (ready()) {
        clearInterval(t);
        this.resume();
      }
    }, ms);
  }

  private checkQueryLimit(): void {
    // The master's link is exempt (a big command of the replication stream is no abuse).
    if (this.parser.pendingBytes > this.limits.queryBufLimit && this.masterHook === null) {
      log('warning', `Closing client that reached max query buffer length: id=${this.id} addr=${this.addr}`);
      this.close();
    }
  }

  private readonly onCommand = (argv: Buffer[]): boolean => {
    if (this.masterHook !== null) this.masterHook(this, argv);
    else {
      // Commands that reached the server first, read by another thread, go first: they wait
      // here, before any lock (arrival.ts).
      if (blockingInFlight(this.store)) this.fenceArrival();
      waitDebugSleep(this.store);
      if (this.replyMode === 0) this.execute(argv);
      else this.executeQuiet(argv);
      if (this.announced) this.withdraw();
    }
    // CLIENT CACHING applies to the next command (or transaction) only, as Redis's resetClient.
    if ((this.tracking & T_CACHING) !== 0 && !this.inMulti && lookupCommand(argv[0])?.name !== 'client') this.tracking &= ~T_CACHING;
    return !this.paused && !this.closeAfterFlush && !this.closed;
  };

  /** Run a command while CLIENT REPLY OFF/SKIP drops its reply (CLIENT REPLY ON keeps its OK). */
  private executeQuiet(argv: Buffer[]): void {
    const before = this.replyMode;
    if (before === 2) this.replyMode = 3;
    // A reply about to be dropped must not stream out meanwhile.
    this.w.sink = null;
    const mark = this.w.mark();
    this.execute(argv);
    if (!this.closed) this.w.sink = this.spill;
    // (Un)subscribe confirmations are pushes (Redis's CLIENT_PUSHING): they bypass REPLY OFF/SKIP.
    const pushing = !this.inMulti && this.w.byteAt(mark) !== 0x2d && PUSH_REPLIES.has(lookupCommand(argv[0])?.name ?? '');
    if (this.replyMode !== 0 && !pushing) this.w.rewind(mark);
    if (this.replyMode === 3) this.replyMode = 0;
    const pushes = this.quietPushes;
    if (pushes !== null) {
      this.quietPushes = null;
      for (const p of pushes) this.w.rawBytes(p);
    }
  }

  /** Running a command sent on a replication link (executeAsReplica). */
  private asReplica = false;

  /**
   * A replica's link carries the stream to it and never replies: a command of a replica that
   * produced a reply (PING, an error) would land in the middle of the stream, so the reply is
   * dropped and the replica disconnected, as Redis's _addReplyToBufferOrList does.
   */
  private executeAsReplica(argv: Buffer[]): void {
    const mark = this.w.mark();
    this.asReplica = true;
    try {
      this.execute(argv);
    } finally {
      this.asReplica = false;
    }
    if (this.closed || this.w.pending() === mark) return;
    const spec = lookupCommand(argv[0]);
    const sub = spec?.subcommands !== undefined && argv.length >= 2 ? resolveSubcommand(spec, argv[1]) : spec;
    const name = sub?.fullName ?? '<unknown>';
    if (this.w.byteAt(mark) === 0x2d) {
      // afterErrorReply's warning for an error sent on a replication link.
      const b = this.w.since(mark);
      const err = b.latin1Slice(1, b.length).replace(/\r\n$/, '');
      log('warning', `== CRITICAL == This master is sending an error to its replica: '${err}' after processing the command '${name}'`);
    }
    this.w.rewind(mark);
    this.replicaReplied(name);
  }

  /** A reply was produced for this replica's link: dropped, and the replica disconnected. */
  replicaReplied(command: string): void {
    log('warning', `Replica generated a reply to command '${command}', disconnecting it: ${clientInfoLine(this, Date.now())}`);
    this.close();
  }

  /** Hand the replies written so far to the socket. */
  flush(): void {
    if (this.masterHook !== null) {
      // A master gets no replies (REPLCONF ACK goes straight to its socket).
      this.w.take();
      return;
    }
    if (this.beforeFlush !== null) this.beforeFlush(this);
    const over = this.w.overLimit;
    const out = this.w.take();
    if (over || ((this.limits.normalOn || !this.authenticated || this.softLimitSince !== 0) && !this.closed &&
        this.checkOutputLimits((out === null ? 0 : out.length) + this.socket.writableLength, Date.now()))) {
      // Nothing of what was pending goes out (Redis frees a client over its limit unsent).
      if (!this.closed) this.closeOverLimit();
      return;
    }
    // QUIT: release subscriptions, watches... before the last reply leaves, so that once the
    // client has its +OK no other thread still counts it (PUBSUB NUMSUB, PUBLISH receivers).
    const closing = this.closeAfterFlush && !this.closed;
    if (closing) this.cleanup();
    // appendfsync always: the replies wait for the fsync that covers what they may show.
    const stream = this.srv.prop.stream;
    if ((out !== null || closing) && !this.closed && aofMustHold(this, stream)) {
      if (out !== null) this.srv.addStat(S_NET_OUT, out.length);
      aofHold(this, out, closing, stream);
      if (closing) this.closed = true;
      return;
    }
    if (out !== null && !this.closed) {
      this.srv.addStat(S_NET_OUT, out.length);
      this.socket.write(out);
    }
    if (closing) {
      this.closed = true;
      // Close both ways once the reply is out (Redis's close()): a peer that keeps writing
      // (protocol desync) gets a reset instead of a half-open socket that swallows its input.
      this.socket.destroySoon();
    }
  }

  /** Write bytes to this client outside its own command flow (pub/sub messages, wake-ups). */
  deliver(bytes: Buffer): void {
    if (this.closed) return;
    if ((this.limits.normalOn || !this.authenticated || this.softLimitSince !== 0) &&
        this.checkOutputLimits(bytes.length + this.socket.writableLength, Date.now())) return;
    this.srv.addStat(S_NET_OUT, bytes.length);
    if (aofMustHold(this, this.srv.prop.stream)) aofHold(this, bytes, false, this.srv.prop.stream);
    else this.socket.write(bytes);
  }

  /** islocalClient(): a Unix socket, or TCP from exactly 127.0.0.1 / ::1 (enable-*-command local). */
  isLocal(): boolean {
    if (this.unixPath !== undefined) return true;
    const h = this.socket.remoteAddress;
    return h === '127.0.0.1' || h === '::1' || h === '::ffff:127.0.0.1';
  }

  /** Replies produced and not yet written to the socket (Redis's clientHasPendingReplies). */
  hasPendingReplies(): boolean {
    return this.w.pending() > 0 || (!this.closed && (this.socket.writableLength > 0 || this.heldOutput > 0));
  }

  /**
   * The socket's descriptor, for the Lua debugger's direct reads and writes (Redis's connBlock on
   * the client's connection). Replies still buffered here (an EXEC's header, a pipeline's) go out
   * after the session, as in Redis, where the debugger writes ahead of the client's buffer. -1
   * when the socket is gone or holds part of a reply (the debugger's bytes would land inside it).
   */
  debugFd(): number {
    if (this.closed || this.socket.writableLength > 0 || this.heldOutput > 0) return -1;
    return fdOf(this.socket);
  }

  /** Close after the pending replies are written (QUIT). */
  closeAfterReply(): void {
    this.closeAfterFlush = true;
  }

  /** Pause input (blocking commands, cross-thread queries); resume() continues the pipeline. */
  /** A command whose reply other threads complete: its latency is recorded then (see call()). */
  private latencyPending = -1;
  private latencyStart = 0;
  /** Its own run time (a blocked command's, without the wait). */
  private latencyUs = 0;

  /** The deferred reply was written: record the command's latency now. */
  recordDeferredLatency(): void {
    if (this.latencyPending < 0) return;
    if (latencyState.tracking) recordCommandLatency(this.store, this.srv.threadId, this.latencyPending, (cmdEnd() - this.latencyStart) * 1000);
    this.latencyPending = -1;
  }

  /**
   * A blocked command was served, timed out or unblocked (updateStatsOnUnblock): its latency is
   * its run time without the wait, and an error reply counts as a failed call.
   */
  recordUnblocked(failed: boolean): void {
    if (failed) this.srv.addStat(S_ERRORS, 1);
    const argv = this.blockedArgv;
    if (argv !== null) {
      this.blockedArgv = null;
      if (this.latencyUs >= slowlogState.threshold) slowlogPush(this, argv, this.latencyUs);
    }
    const idx = this.latencyPending;
    if (idx < 0) return;
    this.latencyPending = -1;
    if (latencyState.tracking) recordCommandLatency(this.store, this.srv.threadId, idx, this.latencyUs);
    if (failed) this.store.f64[statBaseOf(this.srv.threadId, idx) + 3] += 1;
  }

  pause(): void {
    this.paused = true;
  }

  /** Bytes of queued MULTI commands (CLIENT LIST multi-mem). */
  multiMemory(): number {
    let n = 0;
    for (const q of this.multiQueue) for (const a of q.argv) n += a.length + 16;
    return n;
  }

  /** Bytes of the arguments read so far of a command still arriving (CLIENT LIST argv-mem). */
  argvMemory(): number {
    return this.parser.partialArgBytes;
  }

  /** Bytes of unparsed input held for it (CLIENT LIST qbuf). */
  queryBufferBytes(): number {
    return this.queryBytes > 0 ? this.queryBytes : this.parser.pendingBytes;
  }

  /**
   * What this connection costs besides the dataset (CLIENT LIST tot-mem): its buffers, queued
   * replies not yet taken by the socket, its MULTI queue. Counted in used_memory, as Redis does.
   */
  memoryBytes(): number {
    // Subscriptions: Redis's pubsubMemOverhead (a dict entry and bucket per channel, a list node
    // per pattern); the names themselves live in the shared tables.
    const pubsub = (this.subscriptions + this.ssubscriptions) * 32 + this.psubscriptions * 24;
    const prefixes = this.trackState === null ? 0 : this.trackState.prefixBytes;
    return 1024 + this.queryBufferBytes() + this.parser.bulkSpareBytes() + this.parser.partialArgBytes + (this.closed ? 0 : this.socket.writableLength + this.heldOutput) + this.multiMemory() + this.watchedBytes + pubsub + prefixes;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    if (this.closed) return;
    this.runInput(null);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    this.cleanup();
  }

  cleanup(): void {
    if (!this.srv.clients.delete(this.id)) return;
    unwatchSocket(this.inputFd);
    this.srv.addStat(S_CLIENTS, -1);
    // Its buffers are gone: used_memory and client eviction see it now, not at the next cron
    // (also when it closes after a last reply, QUIT or the peer's end, still unflagged closed).
    noteClientMem(this.srv, this, true);
    this.srv.miscAdd(M_CLIENTS, -1);
    for (const fn of this.onClose) {
      try {
        fn(this);
      } catch (e) {
        log('warning', `close hook failed: ${(e as Error).message}`);
      }
    }
  }

  execute(argv: Buffer[]): void {
    if (this.replica && !this.asReplica) return this.executeAsReplica(argv);
    this.w.resp = this.resp;
    this.rejectSpec = null;
    let spec = lookupCommand(argv[0]);
    if (spec === undefined) {
      this.rejectCommand(unknownCommandError(argv), true);
      return;
    }
    if (spec.subcommands !== undefined && argv.length >= 2) {
      const sub = resolveSubcommand(spec, argv[1]);
      if (sub === undefined) {
        this.rejectCommand(`ERR unknown subcommand '${cstr(argv[1], 128, true)}'. Try ${spec.name.toUpperCase()} HELP.`, true);
        return;
      }
      spec = sub;
    }
    this.rejectSpec = spec;
    if ((spec.arity > 0 && argv.length !== spec.arity) || argv.length < -spec.arity) {
      const err = `ERR wrong number of arguments for '${spec.fullName}' command`;
      // Redis discards the transaction and names the reason.
      if (spec.fullName === 'exec') return this.abortExec(err.slice(4));
      this.rejectCommand(err);
      return;
    }
    if (spec.protectedBy !== undefined && !this.srv.config.protectedActionAllowed(spec.protectedBy, this.isLocal())) {
      this.rejectCommand(protectedRefusal(spec.protectedBy));
      return;
    }
    if (!this.authenticated && ((spec.bits as number) & F_NO_AUTH) === 0) {
      // authRequired(): the default user may have become nopass since this client connected.
      if (!defaultUserOpen(this.srv)) {
        this.rejectCommand('NOAUTH Authentication required.');
        return;
      }
      this.authenticated = true;
    }
    // A replica's link is not a client of the keyspace (processCommand: exempt from CLIENT PAUSE,
    // it must not read or write through it).
    if (this.replica && ((spec.bits as number) & (F_READONLY | F_WRITE | F_MAY_REPLICATE)) !== 0) {
      this.rejectCommand("ERR Replica can't interact with the keyspace");
      return;
    }
    // ACLs: one flag test for a user allowed everything (the default user, unless narrowed).
    if (!this.user.unrestricted) {
      if (this.inMulti && ((spec.bits as number) & F_NO_MULTI) !== 0 && !NOT_QUEUED.has(spec.fullName as string)) {
        this.rejectCommand('ERR Command not allowed inside a transaction');
        return;
      }
      const denied = aclDenied(this, spec, argv);
      if (denied !== null) {
        // A refused EXEC discards the transaction (rejectCommand -> execCommandAbort).
        if (spec.fullName === 'exec') return this.abortExec(denied);
        this.rejectCommand(denied);
        return;
      }
    }
    // A script past busy-reply-threshold on another thread: only allow_busy commands run
    // (processCommand's isInsideYieldingLongCommand check); this thread cannot get here meanwhile.
    const busy = busyKind(this.srv);
    if (busy !== 0 && ((spec.bits as number) & F_ALLOW_BUSY) === 0) return this.refuseBusy(spec, argv, busy);
    // EVAL/FCALL: the script's declared flags decide write / denyoom / stale (getCommandFlags).
    this.sflags = spec.scriptFlags === undefined ? -1 : spec.scriptFlags(this, argv);
    const misc = this.store.L.misc;
    // obey_client: the replica's master is never refused (mustObeyClient).
    const obey = this.masterHook !== null;
    const replica = Atomics.load(this.store.i32, misc + MISC_REPLICA) !== 0;
    // A replica ignores maxmemory by default (performEvictions returns at once).
    if (!obey && !(replica && this.srv.config.bool('replica-ignore-maxmemory')) && overMaxmemory(this.store)) {
      trackCtx.evicting = true;
      const freed = performEvictions(this.srv, this);
      trackCtx.evicting = false;
      if (!freed && this.refusedOnOom(spec)) return;
    }
    // A full heap refuses what may allocate before it changes anything (the command's reserve).
    if (!obey && this.heapShort(spec, argv) && this.refusedOnOom(spec)) return;
    // Client-side caching: keep the tracking table under tracking-table-max-keys (processCommand).
    if (Atomics.load(this.store.i32, trackKeysWord) > trackMaxKeys) trackingLimitUsedSlots();
    if (pauseOn(this.srv)) {
      if (mustPostpone(this, spec, argv)) return postpone(this, spec, argv);
    } else if (this.store.expireOnAccess === replica) {
      // A replica reports expired keys as missing but leaves them: its master sends the DELs.
      this.store.expireOnAccess = !replica;
    }
    if (!obey && (spec.write === true || spec.fullName === 'ping')) {
      const diskErr = diskWriteError(this.srv.store, this.srv.config);
      if (diskErr !== null) {
        this.rejectCommand(diskErr);
        return;
      }
    }
    // min-replicas-to-write: writes (and EXEC of queued writes) need enough good replicas.
    if (replGate.minToWrite !== 0 && (spec.write === true || (spec.fullName === 'exec' && this.multiQueue.some((q) => (cmdFlags(q.spec, q.sflags) & SF_WRITE) !== 0))) && tooFewReplicas(this.store)) {
      if (spec.fullName === 'exec') return this.abortExec(E_NOREPLICAS);
      this.rejectCommand(E_NOREPLICAS);
      return;
    }
    if (replica && !obey) {
      if (this.srv.config.bool('replica-read-only') && this.isWrite(spec)) {
        this.rejectCommand("READONLY You can't write against a read only replica.");
        return;
      }
      if (Atomics.load(this.store.i32, misc + MISC_MASTER_LINK) === 0 && !this.srv.config.bool('replica-serve-stale-data') && this.deniedWhenStale(spec)) {
        this.rejectCommand("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.");
        return;
      }
    }
    if (spec.loadingOk !== true && this.store.i32[this.store.L.misc + M_LOADING] !== 0) {
      if (this.holdAtStartup(argv)) return;
      this.rejectCommand('LOADING Redis is loading the dataset in memory');
      return;
    }
    // During async loading the old data answers, but not commands that would disturb the load.
    if (((spec.bits as number) & F_NO_ASYNC_LOADING) !== 0 && this.store.i32[this.store.L.misc + M_ASYNC_LOADING] !== 0) {
      this.rejectCommand('LOADING Redis is loading the dataset in memory');
      return;
    }
    if (this.inMulti && !NOT_QUEUED.has(spec.fullName as string)) {
      if (((spec.bits as number) & F_NO_MULTI) !== 0) {
        this.rejectCommand('ERR Command not allowed inside a transaction');
        return;
      }
      // Arguments are views of socket chunks, which Node never reuses: safe to keep as they are.
      // With its flags as queued (an EVAL's script flags): EXEC is judged by them (mstate.cmd_flags).
      this.multiQueue.push({ spec, argv, sflags: spec.scriptFlags === undefined ? -1 : this.sflags });
      this.w.simple('QUEUED');
      return;
    }
    if (this.resp === 2 && this.subscriptions + this.psubscriptions + this.ssubscriptions > 0 && !PUBSUB_OK.has(spec.fullName as string)) {
      this.rejectCommand(`ERR Can't execute '${spec.fullName}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context`);
      return;
    }
    // A writable replica expires what its own clients wrote (its master never will).
    if (replica && !obey && (spec.write === true || spec.fullName === 'exec')) rememberLocalWrite(this, spec, argv);
    this.call(spec, argv);
    this.rejectSpec = null;
    if (this.trackState !== null && this.trackState.pending !== null) flushPendingSelf(this);
    // Not under a script of this thread (a command served while it is busy, serveWhileBusy): its
    // locks are held, and the clients its writes unblock are served after it (Redis's
    // "Timedout scripts and unblocked command").
    if (readyPending() && !this.srv.coord.holdsLocks()) {
      serveReadyNow(this);
      chainRestart();
      // Waiters' replies were flushed in between: this client's limits apply again.
      if (!this.closed) this.armOutput();
    }
    if (this.store.heap.injecting()) this.store.heap.stopInjection();
  }

  /** processCommand's is_write_command: a write command, or EXEC of a transaction that queued one. */
  /** The running EVAL/FCALL's script flags as SF_* bits, -1 when the spec's own flags apply. */
  private sflags = -1;

  private isWrite(spec: CommandSpec): boolean {
    return this.queuedOrOwn(spec, SF_WRITE, true);
  }

  /** is_denystale_command: not flagged stale, or EXEC of a transaction that queued such a command. */
  private deniedWhenStale(spec: CommandSpec): boolean {
    return this.queuedOrOwn(spec, SF_STALE, false);
  }

  /**
   * Does this command, or (EXEC) one it queued, have flag `bit` (wanted) or lack it (!wanted)?
   * Judged by cmdFlags: an EVAL/FCALL by its script's declared flags (mstate.cmd_flags).
   */
  private queuedOrOwn(spec: CommandSpec, bit: number, wanted: boolean): boolean {
    if (((cmdFlags(spec, this.sflags) & bit) !== 0) === wanted) return true;
    return spec.fullName === 'exec' && this.multiQueue.some((q) => ((cmdFlags(q.spec, q.sflags) & bit) !== 0) === wanted);
  }

  /**
   * Over maxmemory and nothing more to evict: refuse what would use memory (processCommand): a
   * denyoom command, EXEC of a transaction that queued one, and anything queued in MULTI.
   */
  private refusedOnOom(spec: CommandSpec): boolean {
    const name = spec.fullName as string;
    if (name === 'exec') {
      if (!this.multiQueue.some((q) => (cmdFlags(q.spec, q.sflags) & SF_DENYOOM) !== 0)) return false;
      this.abortExec(E_OOM);
      return true;
    }
    const inTx = this.inMulti && name !== 'discard' && name !== 'quit' && name !== 'reset';
    const denyoom = (cmdFlags(spec, this.sflags) & SF_DENYOOM) !== 0;
    if (!denyoom && !inTx) return false;
    this.rejectCommand(E_OOM);
    return true;
  }

  /**
   * Would this command's reserve not fit in the heap? (Only asked of what refusedOnOom would
   * refuse.) Refusing here, before anything changed, is what keeps a command from running out of
   * memory halfway: once it runs, its allocations may use the room past the heap's capacity.
   */
  private heapShort(spec: CommandSpec, argv: Buffer[]): boolean {
    if (spec.denyoom !== true && !this.inMulti) return false;
    return !this.store.heap.hasRoom(this.reserveOf(spec, argv), this.store.now);
  }

  /** What a command may allocate beyond the capacity check: a margin plus twice its arguments. */
  private reserveOf(spec: CommandSpec, argv: Buffer[]): number {
    if (spec.fullName === 'exec') {
      let n = 0;
      for (const q of this.multiQueue) n += reserveOfArgs(q.argv);
      return n;
    }
    return reserveOfArgs(argv);
  }

  /** EXEC refused before it ran (execCommandAbort): the transaction is discarded, with the reason. */
  private abortExec(reason: string): void {
    this.inMulti = false;
    this.multiQueue = [];
    this.multiError = false;
    unwatchAll(this);
    this.rejectCommand(`EXECABORT Transaction discarded because of: ${reason}`);
  }

  /** latin1: err is a binary string echoing client bytes (see ReplyWriter.error). */
  private rejectCommand(err: string, latin1 = false): void {
    // rejectCommand on EXEC is execCommandAbort (READONLY, MASTERDOWN, MISCONF...): the
    // transaction is discarded and the reason wrapped in EXECABORT.
    if (this.inMulti && this.rejectSpec !== null && this.rejectSpec.fullName === 'exec') return this.abortExec(err);
    if (this.inMulti) this.multiError = true;
    this.w.error(err, latin1);
    this.srv.addStat(S_ERRORS, 1);
    // rejected_calls counts per command once the command is known (not for unknown commands or
    // subcommands), as processCommand's rejectCommand does.
    if (this.rejectSpec !== null) this.store.f64[statBase(this.srv.threadId, this.rejectSpec) + 2] += 1;
  }
  /** The command execute() is checking, for rejected_calls (null before it is known). */
  private rejectSpec: CommandSpec | null = null;

  /** Run one command with its slot locks held (taken by the coordinator); replies go to the writer. */
  call(spec: CommandSpec, argv: Buffer[]): void {
    const store = this.store;
    const t0 = cmdStart();
    store.now = wallMs(t0);
    const coord = this.srv.coord;
    let taken = coord.lockCommand(spec, argv, this.db);
    while (taken === LOCK_BUSY) {
      // A slot it waited for is held by a script past busy-reply-threshold (it may have ended).
      const kind = busyKind(this.srv);
      if (kind !== 0) return this.refuseBusy(spec, argv, kind);
      taken = coord.lockCommand(spec, argv, this.db);
    }
    // Invalidations other threads posted under locks this command now holds go before its reply.
    if (Atomics.load(store.u32, trackInbox) !== 0 && !this.inExec) drainInbox();
    const mark = this.w.mark();
    // Propagation: one atomic load when no stream reader is attached (see propagate.ts).
    const prop = this.srv.prop;
    const opened = prop.begin();
    prop.beforeCommand();
    const db = this.db;
    const dirty = store.dirty;
    // Keyspace events raised inside the store (lazy expiry, new keys, misses) belong to this client.
    setNotifyClient(this);
    // What this thread runs, for the watchdog's report (the outermost command: EXEC, EVAL...),
    // only while watchdog-period is set: nothing more per command otherwise.
    if (this.callDepth === 0 && this.srv.watched) {
      this.srv.setStat(S_RUNNING_CMD, (spec.statIndex as number) + 1);
      this.srv.setStat(S_RUNNING_CLIENT, this.id);
    }
    this.callDepth++;
    // An armed fault injection (tests) covers this command and the blocking serves it causes.
    if (store.heap.injectPending !== 0) store.heap.startInjection(this.reserveOf(spec, argv));
    const wasPaused = this.paused;
    // CLIENT LIST's cmd= while it runs (Redis sets lastcmd before the call): a script's CLIENT LIST
    // shows its caller as eval. Commands inside EXEC or a script leave it (EXEC's own).
    if (!this.inExec) this.lastCommand = spec.fullName as string;
    try {
      spec.handler(this, argv);
      // Client-side caching: remember the keys a read-only command served (its locks still held).
      if (this.tracking !== 0) rememberKeys(this, spec, argv);
    } catch (e) {
      this.w.rewind(mark);
      if (e instanceof OutOfMemoryError) this.w.error(E_OOM);
      else {
        log('warning', `command ${spec.fullName} failed: ${(e as Error).stack}`);
        this.w.error(`ERR ${(e as Error).message}`);
      }
    } finally {
      if (--this.callDepth === 0 && this.srv.watched) this.srv.setStat(S_RUNNING_CMD, 0);
      setNotifyClient(null);
      // Effects reach the stream before the locks are released: the stream's order is a valid
      // serial order of what ran on every thread.
      const propagating = prop.on();
      const changed = propagating && store.dirty !== dirty && ((spec.bits as number) & F_NO_PROPAGATE) === 0;
      if (opened) prop.finish(db, argv, changed, ((spec.bits as number) & F_TOUCHES_ARBITRARY_KEYS) !== 0);
      else if (propagating) prop.afterCommand(db, argv, changed);
      if (propagating && store.dirty !== dirty) this.woff = prop.stream.lastOffset();
      // Changes since the last save are read by the main thread (save rules, INFO) at any time.
      this.srv.setStat(S_DIRTY, store.dirty);
      coord.unlockCommand(taken);
    }
    if (monitorsActive(this.srv)) feedMonitors(this, spec, argv, this.db);
    const us = (cmdEnd() - t0) * 1000;
    if (us >= slowlogState.threshold && ((spec.bits as number) & F_SKIP_SLOWLOG) === 0) {
      // A command that blocked is logged when it is served (updateStatsOnUnblock), not now.
      if (this.unblock !== null && this.paused && !wasPaused && this.callDepth === 0) this.blockedArgv = argv;
      else slowlogPush(this, argv, us);
    }
    if (latencyState.threshold !== 0) latencyAddSampleIfNeeded(store, ((spec.bits as number) & F_FAST) !== 0 ? 'fast-command' : 'command', Math.floor(us) / 1000);
    // A command answered later (from other threads: INFO, LATENCY...; or once unblocked): its
    // histogram counts it once its reply is written, as Redis's show only finished commands.
    if (this.paused && !wasPaused) {
      this.latencyPending = spec.statIndex as number;
      this.latencyStart = t0;
      this.latencyUs = us;
    } else if (latencyState.tracking) recordCommandLatency(store, this.srv.threadId, spec.statIndex as number, us);
    const base = statBase(this.srv.threadId, spec);
    const f = store.f64;
    f[base] += 1;
    f[base + 1] += us;
    // An error reply written by the handler counts as a failed call.
    if (this.w.byteAt(mark) === 0x2d) {
      f[base + 3] += 1;
      this.srv.addStat(S_ERRORS, 1);
    }
    this.srv.addStat(S_COMMANDS, 1);
    this.totalCommands++;
    this.lastCommand = spec.fullName as string;
  }
}

/** A command queued in MULTI; sflags: an EVAL/FCALL's script flags as SF_* bits, else -1. */
export interface QueuedCommand { spec: CommandSpec; argv: Buffer[]; sflags: number }

/**
 * A command's SF_WRITE / SF_DENYOOM / SF_STALE as processCommand judges it (getCommandFlags): an
 * EVAL/FCALL's script flags (sflags >= 0), else its spec's own.
 */
function cmdFlags(spec: CommandSpec, sflags: number): number {
  if (sflags >= 0 && spec.scriptFlags !== undefined) return sflags;
  return (spec.write === true ? SF_WRITE : 0) | (spec.denyoom === true ? SF_DENYOOM : 0) | (((spec.bits as number) & F_STALE) !== 0 ? SF_STALE : 0);
}

function reserveOfArgs(argv: Buffer[]): number {
  let n = RESERVE_FIXED;
  for (let i = 0; i < argv.length; i++) n += 2 * argv[i].length;
  return n;
}

/** processCommand's text for an unknown command, as a binary string (ReplyWriter.error latin1). */
export function unknownCommandError(argv: Buffer[]): string {
  // Each arg printed with '%.*s' until the args string reaches 128 bytes.
  let args = '';
  for (let i = 1; i < argv.length && args.length < 128; i++) {
    args += `'${cstr(argv[i], 128 - args.length, true)}' `;
  }
  return `ERR unknown command '${cstr(argv[0], 128, true)}', with args beginning with: ${args}`;
}

function formatHost(h: string | undefined): string {
  if (h === undefined) return '?';
  if (h.startsWith('::ffff:')) return h.slice(7);
  return h;
}

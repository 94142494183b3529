// The master side on a worker thread: a replica is a Client of the worker that accepted it (its
// REPLCONF ACKs are commands like any other); SYNC/PSYNC make it a replica link. What it is sent:
//   - a partial resync: +CONTINUE and the backlog, from the replication thread (repl-thread.ts);
//   - a full resync: +FULLRESYNC <replid> <offset> and the RDB, from the main thread
//     (master-main.ts: a file descriptor for a disk-based sync, chunks for a diskless one),
//   - then the stream from the snapshot's offset: the replication thread posts every chunk it
//     reads to each worker holding replicas, and each link writes the part from its own offset.
// Until its RDB is through, a link collects the chunks (from the moment it asked to sync, so
// none of the bytes its stream needs can be missed); what it holds and what its socket has not
// taken count against client-output-buffer-limit replica, over which it is closed. Nothing here
// waits: a replica that does not read only costs this worker memory up to that limit.
//
// WAIT, REPLCONF, SYNC/PSYNC (src/commands/replication.ts) and min-replicas-to-write's check
// (Client.execute) call into this file.
import * as fs from 'fs';
import type { MessagePort } from 'worker_threads';
import type { Client } from '../server/client';
import type { ThreadServer } from '../server/context';
import type { Store } from '../store/keyspace';
import { log } from '../server/log';
import { clientMemLive, noteClientMem } from '../server/client-mem';
import { stateChanged } from '../server/blocking';
import { S_BLOCKED } from '../server/context';
import { cstr, is, parseI64, parseIntArg } from '../commands/args';
import {
  addReplica, ackedReplicas, goodReplicas, isReplica, radd, removeReplica, replicaField, replOffset, rget, rset, setReplicaField,
  F_ACK, F_ACK_TIME, F_CAPA, F_HELD_FROM, F_PENDING, F_PORT, F_RDB_ONLY, F_STATE, R_BASE, R_FAILOVER_STATE, R_GOOD_REPLICAS, R_LINK_UP, R_NET_REPL_OUT, S_ONLINE, S_SEND_BULK, S_WAIT_BGSAVE,
  S_RDB_DONE, setReplicaIp, appendGetack,
} from './state';
import { CAPA_EOF, CAPA_PSYNC2, type SyncRequest } from './messages';
import { asBuffer } from '../protocol/bufview';

/** REPLCONF settings a client gave before SYNC/PSYNC. */
interface ReplConf { port: number; ip: string; capa: number; rdbOnly: boolean; filtered: boolean; functions: boolean }

const confOf = new WeakMap<Client, ReplConf>();
/** This thread's replica links by client id. */
const links = new Map<number, ReplicaLink>();
let srvRef: ThreadServer | null = null;

/** A socket past this many bytes unsent makes the RDB sender wait for 'drain'. */
const SEND_HIGH_WATER = 4 * 1024 * 1024;

class ReplicaLink {
  state = S_WAIT_BGSAVE;
  /** Stream offset of the next stream byte to send (-1 until +FULLRESYNC / +CONTINUE). */
  nextOff = -1;
  /** Writing the live stream (false while the RDB is under way or before the first ACK). */
  streaming = false;
  /** Diskless: start the stream at the replica's first REPLCONF ACK (it is loading until then). */
  waitAck = false;
  /** The RDB's first byte is out: no more keep-alive newlines. */
  rdbStarted = false;
  /**
   * A diskless RDB under way: when the socket last took bytes (0: none under way), and how many
   * it had taken then (repl_last_partial_write: a replica that reads nothing for repl-timeout is
   * dropped, so it cannot hold the transfer for the others).
   */
  rdbProgressAt = 0;
  rdbTaken = 0;
  private collected: Array<{ off: number; buf: Buffer }> = [];
  private collectedBytes = 0;

  constructor(
    readonly c: Client,
    readonly row: number,
    readonly name: string,
    readonly capa: number,
    readonly rdbOnly: boolean,
    readonly preSync: boolean,
  ) {
    // What the socket drains no longer counts (INFO's replication buffers).
    c.socket.on('drain', () => {
      if (!c.closed) this.checkLimits();
    });
  }

  setState(st: number): void {
    this.state = st;
    setReplicaField(this.c.store, this.row, F_STATE, st);
  }

  /** A chunk of the stream at offset `off`. */
  feed(off: number, buf: Buffer): void {
    if (this.c.closed || this.rdbOnly) return;
    if (!this.streaming) {
      // Before the snapshot's offset is known everything is kept; after, only what it needs.
      if (this.nextOff >= 0 && off + buf.length <= this.nextOff) return;
      this.collected.push({ off, buf });
      this.collectedBytes += buf.length;
      this.c.heldOutput = this.collectedBytes;
      this.checkLimits();
      return;
    }
    this.writeStream(off, buf);
  }

  /** Stream bytes from before what was collected (a late attach's part from the backlog). */
  prepend(off: number, head: Uint8Array): void {
    const buf = asBuffer(head);
    this.collected.unshift({ off, buf });
    this.collectedBytes += buf.length;
  }

  /** The offset the stream starts at is known: drop what comes before it. */
  startAt(off: number): void {
    this.nextOff = off;
    const keep: Array<{ off: number; buf: Buffer }> = [];
    let bytes = 0;
    for (const ch of this.collected) {
      if (ch.off + ch.buf.length <= off) continue;
      keep.push(ch);
      bytes += ch.buf.length;
    }
    this.collected = keep;
    this.collectedBytes = bytes;
    this.c.heldOutput = bytes;
  }

  /** Start writing the stream: what was collected first, then live chunks. */
  startStreaming(): void {
    if (this.c.closed || this.streaming) return;
    this.streaming = true;
    const held = this.collected;
    this.collected = [];
    this.collectedBytes = 0;
    this.c.heldOutput = 0;
    for (const ch of held) this.writeStream(ch.off, ch.buf);
  }

  private writeStream(off: number, buf: Buffer): void {
    const endOff = off + buf.length;
    if (endOff <= this.nextOff) return;
    if (off > this.nextOff) {
      // Cannot happen while the fan-out is complete; a replica with a hole would diverge.
      log('warning', `Replica ${this.name} stream gap (${this.nextOff} .. ${off}): closing the link`);
      this.c.close();
      return;
    }
    const part = off === this.nextOff ? buf : buf.subarray(this.nextOff - off);
    this.nextOff = endOff;
    this.write(part);
    this.checkLimits();
    // mem_clients_slaves follows the link as it grows, not only at the cron: INFO read after
    // the writes that fed it shows what they cost (Redis's buffers grow in the command itself).
    if (clientMemLive.on) noteClientMem(this.c.srv, this.c);
  }

  write(b: Buffer | string): void {
    if (this.c.closed) return;
    const n = typeof b === 'string' ? Buffer.byteLength(b) : b.length;
    radd(this.c.store, R_NET_REPL_OUT, n);
    this.c.socket.write(b);
  }

  /** client-output-buffer-limit replica over what is held and what the socket still queues. */
  checkLimits(): void {
    const queued = this.streaming ? this.c.socket.writableLength : 0;
    const pending = this.collectedBytes + queued;
    setReplicaField(this.c.store, this.row, F_PENDING, pending);
    // What the backlog must keep for this link (the chunks are shared with it: see repl-thread.ts).
    const from = this.collected.length > 0 ? this.collected[0].off : queued > 0 ? this.nextOff - queued : Infinity;
    setReplicaField(this.c.store, this.row, F_HELD_FROM, from);
    this.c.checkOutputLimits(pending, Date.now());
  }

  putOnline(): void {
    if (this.rdbOnly) {
      this.setState(S_RDB_DONE);
      log('notice', `RDB transfer completed, rdb only replica (${this.name}) should be disconnected asap`);
      this.c.socket.end();
      return;
    }
    this.setState(S_ONLINE);
    setReplicaField(this.c.store, this.row, F_ACK_TIME, Date.now());
    refreshGood(this.c.srv);
    log('notice', `Synchronization with replica ${this.name} succeeded`);
  }
}

/** replicationGetSlaveName: "ip:port" of the replica's listening port. */
function replicaName(c: Client, conf: ReplConf): string {
  const ip = conf.ip !== '' ? conf.ip : peerIp(c);
  if (ip === '') return `client id #${c.id}`;
  if (conf.port !== 0) return ip.includes(':') ? `[${ip}]:${conf.port}` : `${ip}:${conf.port}`;
  return `${ip}:<unknown-replica-port>`;
}

function peerIp(c: Client): string {
  const a = c.socket.remoteAddress ?? '';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

function refreshGood(srv: ThreadServer): void {
  rset(srv.store, R_GOOD_REPLICAS, goodReplicas(srv.store, srv.config.num('min-replicas-max-lag')));
}

// ---- commands -----------------------------------------------------------------------------------

/** SYNC and PSYNC <replid> <offset> (syncCommand). */
export function syncCommand(c: Client, argv: Buffer[]): void {
  if (links.has(c.id)) return;
  const psync = is(argv[0], 'psync');
  const s = c.store;
  // Replicas do not sync with a master handing over (FAILOVER).
  if (rget(s, R_FAILOVER_STATE) !== 0) return c.w.error("NOMASTERLINK Can't SYNC while failing over");
  if (isReplica(s) && rget(s, R_LINK_UP) !== 1) return c.w.error("NOMASTERLINK Can't SYNC while not connected with my master");
  if (c.socket.writableLength > 0) return c.w.error('ERR SYNC and PSYNC are invalid with pending output');
  const conf = confOf.get(c) ?? { port: 0, ip: '', capa: 0, rdbOnly: false, filtered: false, functions: false };
  if (conf.filtered && (conf.capa & CAPA_EOF) === 0) return c.w.error('ERR Filtered replica requires EOF capability');
  const name = replicaName(c, conf);
  log('notice', `Replica ${name} asks for synchronization`);
  let offset = 0;
  if (psync) {
    const o = parseI64(argv[2]);
    if (o === null) {
      c.w.error('ERR value is not an integer or out of range');
      log('warning', `Replica ${name} asks for synchronization but with a wrong offset`);
      return;
    }
    offset = Number(o);
  }
  const row = addReplica(s, c.id, c.srv.threadId, conf.ip !== '' ? conf.ip : peerIp(c));
  if (row < 0) return c.w.error('ERR too many replicas');
  setReplicaField(s, row, F_PORT, conf.port);
  setReplicaField(s, row, F_CAPA, conf.capa);
  setReplicaField(s, row, F_RDB_ONLY, conf.rdbOnly ? 1 : 0);
  setReplicaField(s, row, F_ACK_TIME, Date.now());
  // Everything from here on is this replica's to receive: the backlog keeps it (repl-thread.ts)
  // before the first chunk reaches the link and says so itself (checkLimits).
  if (!conf.rdbOnly) setReplicaField(s, row, F_HELD_FROM, c.srv.prop.stream.lastOffset());
  const link = new ReplicaLink(c, row, name, conf.capa, conf.rdbOnly, !psync);
  links.set(c.id, link);
  c.parser.onEmptyLine = () => replicaNewline(c);
  c.replica = true;
  if (!c.flagChars.includes('S')) c.flagChars += 'S';
  c.onClose.push(onReplicaClose);
  const req: SyncRequest = {
    op: 'sync', thread: c.srv.threadId, clientId: c.id, replid: psync ? argv[1].toString('latin1') : null,
    offset, capa: conf.capa, rdbOnly: conf.rdbOnly, filtered: conf.filtered, functions: conf.functions, name,
  };
  c.srv.toMain({ type: 'repl', ...req });
}

function onReplicaClose(c: Client): void {
  const link = links.get(c.id);
  if (link === undefined) return;
  links.delete(c.id);
  removeReplica(c.store, link.row);
  refreshGood(c.srv);
  c.srv.toMain({ type: 'repl', op: 'gone', thread: c.srv.threadId, clientId: c.id });
  if (link.state !== S_RDB_DONE) log('warning', `Connection with replica ${link.name} lost.`);
}

/** REPLCONF <option> <value> ... (replconfCommand). */
export function replconfCommand(c: Client, argv: Buffer[]): void {
  if (argv.length % 2 === 0) return c.w.error('ERR syntax error');
  let conf = confOf.get(c);
  if (conf === undefined) {
    conf = { port: 0, ip: '', capa: 0, rdbOnly: false, filtered: false, functions: false };
    confOf.set(c, conf);
  }
  for (let j = 1; j < argv.length; j += 2) {
    const v = argv[j + 1];
    if (is(argv[j], 'listening-port')) {
      const p = parseIntArg(v);
      if (p === null) return c.w.error('ERR value is not an integer or out of range');
      conf.port = p;
      const link = links.get(c.id);
      if (link !== undefined) setReplicaField(c.store, link.row, F_PORT, p);
    } else if (is(argv[j], 'ip-address')) {
      if (v.length >= 256) return c.w.error(`ERR REPLCONF ip-address provided by replica instance is too long: ${v.length} bytes`);
      conf.ip = v.toString('latin1');
      const link = links.get(c.id);
      if (link !== undefined) setReplicaIp(c.store, link.row, conf.ip);
    } else if (is(argv[j], 'capa')) {
      if (is(v, 'eof')) conf.capa |= CAPA_EOF;
      else if (is(v, 'psync2')) conf.capa |= CAPA_PSYNC2;
    } else if (is(argv[j], 'ack')) {
      // No reply, ever (the replica does not read one).
      const link = links.get(c.id);
      if (link === undefined) return;
      const o = parseI64(v);
      if (o === null) return;
      const off = Number(o);
      if (off > replicaField(c.store, link.row, F_ACK)) setReplicaField(c.store, link.row, F_ACK, off);
      setReplicaField(c.store, link.row, F_ACK_TIME, Date.now());
      if (replGate.minToWrite !== 0) refreshGood(c.srv);
      if (link.waitAck && link.state === S_ONLINE) {
        link.waitAck = false;
        link.startStreaming();
      }
      if (waiters.length > 0) checkWaiters();
      return;
    } else if (is(argv[j], 'getack')) {
      // For a replica's link to its master (replica.ts answers it there); nothing to do here.
      getAckHook?.(c);
      return;
    } else if (is(argv[j], 'rdb-only')) {
      const n = parseIntArg(v);
      if (n === null || n < 0 || n > 1) return c.w.error(n === null ? 'ERR value is not an integer or out of range' : 'ERR value is out of range, must be between 0 and 1');
      conf.rdbOnly = n === 1;
    } else if (is(argv[j], 'rdb-filter-only')) {
      // Filters: "" (nothing) or "functions" (the function libraries): an RDB without keys.
      let functions = false;
      for (const f of v.toString('latin1').split(/\s+/)) {
        if (f !== '' && f.toLowerCase() !== 'functions') return c.w.error(`ERR Unsupported rdb-filter-only option: ${f}`);
        if (f !== '') functions = true;
      }
      conf.filtered = true;
      conf.functions = functions;
    } else {
      return c.w.error(`ERR Unrecognized REPLCONF option: ${cstr(argv[j])}`);
    }
  }
  c.w.ok();
}

/** The replica side may answer REPLCONF GETACK from its master here (replica.ts sets it). */
let getAckHook: ((c: Client) => void) | null = null;
export function setGetAckHook(fn: (c: Client) => void): void {
  getAckHook = fn;
}

/** DEBUG REPLICATE cmd [arg ...]: the command goes to the replicas only (not run here). */
export function debugReplicate(c: Client, argv: Buffer[]): void {
  const st = c.srv.prop.stream;
  if (st.active()) {
    const parts: Buffer[] = [Buffer.from(`*${argv.length - 2}\r\n`)];
    for (let i = 2; i < argv.length; i++) parts.push(Buffer.from(`$${argv[i].length}\r\n`), argv[i], Buffer.from('\r\n'));
    const b = Buffer.concat(parts);
    st.beginAppend();
    st.put(b, 0, b.length);
    st.endAppend();
    c.woff = st.lastOffset();
  }
  c.w.ok();
}

// ---- WAIT ---------------------------------------------------------------------------------------

interface Waiter { c: Client; offset: number; num: number; deadline: number }
const waiters: Waiter[] = [];
let waitTimer: NodeJS.Timeout | null = null;
let getAckQueued = false;

/** WAIT numreplicas timeout: replicas that acknowledged the client's last write (c->woff). */
export function waitCommand(c: Client, argv: Buffer[]): void {
  const s = c.store;
  if (isReplica(s)) {
    return c.w.error('ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.');
  }
  const num = parseIntArg(argv[1]);
  if (num === null) return c.w.error('ERR value is not an integer or out of range');
  const ms = parseIntArg(argv[2]);
  if (ms === null) return c.w.error('ERR timeout is not an integer or out of range');
  if (ms < 0) return c.w.error('ERR timeout is negative');
  const offset = c.woff + rget(s, R_BASE);
  const acked = ackedReplicas(s, offset);
  if (acked >= num || c.inMulti || c.inExec || c.inScript) return c.w.int(acked);
  c.pause();
  const wtr: Waiter = { c, offset, num, deadline: ms === 0 ? Infinity : Date.now() + ms };
  waiters.push(wtr);
  // A client in WAIT is blocked (INFO blocked_clients, flag b), as Redis's BLOCKED_WAIT.
  c.srv.addStat(S_BLOCKED, 1);
  if (!c.flagChars.includes('b')) c.flagChars += 'b';
  c.unblock = (how) => finishWait(wtr, how === 'state');
  c.onClose.push(() => {
    const i = waiters.indexOf(wtr);
    if (i >= 0) {
      waiters.splice(i, 1);
      c.srv.addStat(S_BLOCKED, -1);
    }
  });
  requestAcks(c.srv);
  if (waitTimer === null) waitTimer = setInterval(checkWaiters, 10);
}

/** replicationRequestAckFromSlaves: one REPLCONF GETACK * into the stream per event-loop turn. */
function requestAcks(srv: ThreadServer): void {
  if (getAckQueued) return;
  getAckQueued = true;
  setImmediate(() => {
    getAckQueued = false;
    appendGetack(srv.prop.stream);
  });
}

function finishWait(w: Waiter, stateChange = false): void {
  const i = waiters.indexOf(w);
  if (i < 0) return;
  waiters.splice(i, 1);
  const c = w.c;
  c.unblock = null;
  c.srv.addStat(S_BLOCKED, -1);
  c.flagChars = c.flagChars.replace('b', '');
  if (waiters.length === 0 && waitTimer !== null) {
    clearInterval(waitTimer);
    waitTimer = null;
  }
  if (c.closed) return;
  c.w.resp = c.resp;
  if (stateChange) stateChanged(c);
  else c.w.int(ackedReplicas(c.store, w.offset));
  c.flush();
  c.resume();
}

function checkWaiters(): void {
  const now = Date.now();
  for (const w of waiters.slice()) {
    if (w.c.closed) {
      finishWait(w);
      continue;
    }
    if (now >= w.deadline || ackedReplicas(w.c.store, w.offset) >= w.num) finishWait(w);
  }
}

// ---- min-replicas-to-write ------------------------------------------------------------------------

/** Per-thread copies of min-replicas-to-write / -max-lag (refreshed by CONFIG SET). */
export const replGate = { minToWrite: 0, maxLag: 10 };
export const E_NOREPLICAS = 'NOREPLICAS Not enough good replicas to write.';

/** checkGoodReplicasStatus failed: writes must be refused. */
export function tooFewReplicas(s: Store): boolean {
  return replGate.maxLag > 0 && !isReplica(s) && rget(s, R_GOOD_REPLICAS) < replGate.minToWrite;
}

// ---- messages --------------------------------------------------------------------------------------

/** Installed once per worker: the port from the replication thread, the cron. */
export function installMaster(srv: ThreadServer): void {
  srvRef = srv;
  const gate = (): void => {
    replGate.minToWrite = srv.config.num('min-replicas-to-write');
    replGate.maxLag = srv.config.num('min-replicas-max-lag');
  };
  gate();
  srv.configListeners.push((name) => {
    if (name.startsWith('min-replicas') || name.startsWith('min-slaves')) {
      gate();
      // As Redis's updateGoodSlaves: the count follows the new max lag at once.
      refreshGood(srv);
    }
  });
  setInterval(replCron, 1000).unref();
}

/**
 * A replica sent an empty line: Redis's "newline from slaves can be used to refresh the last ACK
 * time" (a replica loading a big RDB pings back so, rdbLoadProgressCallback).
 */
export function replicaNewline(c: Client): void {
  const link = links.get(c.id);
  if (link !== undefined) setReplicaField(c.store, link.row, F_ACK_TIME, Date.now());
}

/** Once a second: a newline to replicas waiting for their RDB (keeps them from timing out),
 *  soft output limits, and replicas that stopped acknowledging (repl-timeout). */
function replCron(): void {
  const srv = srvRef;
  if (srv === null || links.size === 0) return;
  const now = Date.now();
  const timeout = srv.config.num('repl-timeout') * 1000;
  for (const link of [...links.values()]) {
    if (link.c.closed) continue;
    // A newline keeps a replica that waits for its RDB from timing out (it reads it as a ping).
    if (link.state === S_WAIT_BGSAVE && !link.rdbStarted) link.write('\n');
    link.checkLimits();
    if (link.state === S_WAIT_BGSAVE && link.rdbProgressAt > 0) {
      // Bytes the kernel took: written minus what Node still queues (written or not yet).
      const sock = link.c.socket;
      const taken = sock.bytesWritten - sock.writableLength;
      if (taken !== link.rdbTaken || sock.writableLength === 0) {
        link.rdbTaken = taken;
        link.rdbProgressAt = now;
      } else if (now - link.rdbProgressAt > timeout) {
        log('warning', `Disconnecting timedout replica (full sync): ${link.name}`);
        link.c.close();
        continue;
      }
    }
    if (link.state === S_ONLINE && !link.preSync && now - replicaField(srv.store, link.row, F_ACK_TIME) > timeout) {
      log('warning', `Disconnecting timedout replica (streaming sync): ${link.name}`);
      link.c.close();
    }
  }
}

/** The port the replication thread posts stream chunks and +CONTINUE replies on. */
function onReplPort(port: MessagePort): void {
  port.on('message', (m: { type: string; off: number; buf: Uint8Array; clientId: number; replid: string }) => {
    if (m.type === 'data') {
      const buf = asBuffer(m.buf);
      for (const link of links.values()) link.feed(m.off, buf);
    } else if (m.type === 'continue') {
      const link = links.get(m.clientId);
      if (link === undefined || link.c.closed) return;
      link.startAt(m.off);
      link.write(link.capa & CAPA_PSYNC2 ? `+CONTINUE ${m.replid}\r\n` : '+CONTINUE\r\n');
      const buf = asBuffer(m.buf);
      link.write(buf);
      link.nextOff = m.off + buf.length;
      link.setState(S_ONLINE);
      setReplicaField(link.c.store, link.row, F_ACK_TIME, Date.now());
      refreshGood(link.c.srv);
      link.startStreaming();
    }
  });
  port.unref();
}

/** Messages from the main thread (worker.ts routes every 'repl-*' type here). */
export function onReplMessage(m: { type: string; [k: string]: unknown }): void {
  switch (m.type) {
    case 'repl-port':
      onReplPort(m.port as MessagePort);
      break;
    case 'repl-full': {
      for (const id of m.ids as number[]) {
        const link = links.get(id);
        if (link === undefined || link.c.closed) continue;
        // Attached to a running snapshot: the stream from its offset up to what the link
        // collected since it asked (from the backlog).
        if (m.head !== undefined) link.prepend(m.streamOff as number, m.head as Uint8Array);
        link.startAt(m.streamOff as number);
        if (!link.preSync) link.write(`+FULLRESYNC ${m.replid as string} ${m.offset as number}\r\n`);
        if (m.diskless === true) {
          link.rdbStarted = true;
          link.write(`$EOF:${m.mark as string}\r\n`);
          link.rdbProgressAt = Date.now();
          link.rdbTaken = 0;
        }
      }
      break;
    }
    case 'repl-chunk': {
      const buf = asBuffer(m.buf as Uint8Array);
      const targets: ReplicaLink[] = [];
      for (const id of m.ids as number[]) {
        const link = links.get(id);
        if (link === undefined || link.c.closed) continue;
        link.write(buf);
        targets.push(link);
      }
      whenDrained(targets, () => srvRef?.toMain({ type: 'repl', op: 'ack', id: m.id }));
      break;
    }
    case 'repl-end': {
      for (const id of m.ids as number[]) {
        const link = links.get(id);
        if (link === undefined || link.c.closed) continue;
        if (m.ok !== true) {
          log('warning', 'SYNC failed. BGSAVE child returned an error');
          link.c.close();
          continue;
        }
        link.write(m.mark as string);
        if (!link.rdbOnly) log('notice', `Streamed RDB transfer with replica ${link.name} succeeded (socket). Waiting for REPLCONF ACK from slave to enable streaming`);
        link.putOnline();
        link.waitAck = !link.rdbOnly;
      }
      break;
    }
    case 'repl-file':
      void sendFile(m.ids as number[], m.fd as number, m.size as number);
      break;
  }
}

/** Call fn once none of these sockets queues more than the high-water mark (or they closed). */
function whenDrained(targets: ReplicaLink[], fn: () => void): void {
  const busy = targets.filter((l) => !l.c.closed && l.c.socket.writableLength > SEND_HIGH_WATER);
  if (busy.length === 0) return fn();
  let left = busy.length;
  for (const l of busy) {
    let done = false;
    const one = (): void => {
      if (done) return;
      done = true;
      l.c.socket.off('drain', one);
      l.c.socket.off('close', one);
      if (--left === 0) fn();
    };
    l.c.socket.on('drain', one);
    l.c.socket.on('close', one);
  }
}

/** A disk-based sync: $<len> and the file, then the stream (sendBulkToSlave). */
async function sendFile(ids: number[], fd: number, size: number): Promise<void> {
  const targets = ids.map((id) => links.get(id)).filter((l): l is ReplicaLink => l !== undefined && !l.c.closed);
  if (fd < 0) {
    for (const l of targets) l.c.close();
    return;
  }
  if (targets.length === 0) {
    srvRef?.toMain({ type: 'repl', op: 'file-done', fd });
    return;
  }
  try {
    for (const l of targets) {
      l.rdbStarted = true;
      l.setState(S_SEND_BULK);
      l.write(`$${size}\r\n`);
    }
    const buf = Buffer.allocUnsafe(1 << 20);
    let pos = 0;
    while (pos < size) {
      const live = targets.filter((l) => !l.c.closed);
      if (live.length === 0) return;
      const n = await new Promise<number>((resolve, reject) => fs.read(fd, buf, 0, Math.min(buf.length, size - pos), pos, (e, r) => (e ? reject(e) : resolve(r))));
      if (n === 0) throw new Error('unexpected end of file');
      const chunk = Buffer.from(buf.subarray(0, n));
      for (const l of live) l.write(chunk);
      pos += n;
      await new Promise<void>((resolve) => whenDrained(live, resolve));
    }
    for (const l of targets) {
      if (l.c.closed) continue;
      l.putOnline();
      if (!l.rdbOnly) l.startStreaming();
    }
  } catch (e) {
    log('warning', `Read error sending DB to replica: ${(e as Error).message}`);
    for (const l of targets) l.c.close();
  } finally {
    // Opened by the main thread, which closes it (Node warns when a thread closes another's fd).
    srvRef?.toMain({ type: 'repl', op: 'file-done', fd });
  }
}

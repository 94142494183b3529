// The replica side of replication (Redis 7.0's replication.c, replica half): REPLICAOF, the
// link with the master (handshake, PSYNC, receiving the snapshot, applying the stream), the
// cached master for partial resynchronization, promotion with REPLICAOF NO ONE.
//
// Where it runs: the whole link lives on worker thread 1, a normal worker (it takes slot locks
// like any client), from the TCP connect to the master client: one socket, one thread, no
// hand-off. REPLICAOF on another thread reaches it as a relayed request. The snapshot is loaded
// by the main thread (it already loads RDB files under all locks in 2 MB steps while the workers
// answer -LOADING); the link waits for it with the socket paused, then applies the stream.
//
// The stream: the master's commands run as a client whose replies are dropped (Redis's
// CLIENT_MASTER; Client.masterHook). Nothing they change is staged for propagation: the bytes of
// each command as received are appended to this server's stream instead (Propagator.proxy), under
// the command's locks, so that this server's readers (its AOF, its own replicas) see the master's
// stream byte for byte and a chain keeps one offset. A MULTI ... EXEC block is applied as one
// transaction and appended as one unit. While this server is a replica its own writes (a writable
// replica), expiries and evictions propagate nothing (Redis feeds sub-replicas only the master's
// stream), keys do not expire by themselves (the master's DELs remove them), and the master's
// commands see expired keys as live (expireIfNeeded on a replica).
import { setOomScoreAdj } from '../server/oom';
import { SUPERUSER } from '../server/acl';
import * as net from 'net';
import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import type { ThreadServer } from '../server/context';
import { S_CLIENTS, M_CLIENTS, M_LOADING, M_ASYNC_LOADING } from '../server/context';
import { pset, P_LOADING_LOADED, P_LOADING_START, P_LOADING_TOTAL } from '../persistence/state';
import { Client } from '../server/client';
import { log } from '../server/log';
import { lookupCommand } from '../commands/registry';
import { MISC_MASTER_LINK, MISC_REPLICA } from '../store/keyspace';
import * as state from './replica-state';
import { bindStream } from './replica-state';
import { replId, rget, R_FAILOVER_STATE } from './state';
import { hold, mustHold } from '../persistence/aof-hold';

/** Redis's repl_state, as far as a replica goes. */
const enum Link {
  None = 0,
  Connect,
  Connecting,
  Handshake,
  Transfer,
  Loading,
  Connected,
}

/** What a partial resynchronization needs of a master we lost (Redis's cached_master). */
interface Cached {
  replid: string;
  /** Offset of the last byte applied. */
  reploff: number;
  db: number;
}

const CONFIG_RUN_ID_SIZE = 40;
const EMPTY: Buffer = Buffer.alloc(0);

/** A command as RESP multibulk: the bytes a Redis master sends for it. */
function encodeCommand(argv: Buffer[]): Buffer {
  let n = 1 + String(argv.length).length + 2;
  for (const a of argv) n += 1 + String(a.length).length + 2 + a.length + 2;
  const b = Buffer.allocUnsafe(n);
  let p = b.latin1Write(`*${argv.length}\r\n`, 0);
  for (const a of argv) {
    p += b.latin1Write(`$${a.length}\r\n`, p);
    p += a.copy(b, p);
    b[p++] = 13;
    b[p++] = 10;
  }
  return b;
}

function isCmd(a: Buffer, name: string): boolean {
  return a.length === name.length && a.toString('latin1').toLowerCase() === name;
}

class LinkError extends Error {}

/** Bytes read from the master while the link is not a client yet (handshake, snapshot). */
class Inbox {
  buf: Buffer = EMPTY;
  private waiter: (() => void) | null = null;
  closed: string | null = null;

  push(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    this.wake();
  }

  close(why: string): void {
    if (this.closed === null) this.closed = why;
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    if (w !== null) w();
  }

  /** Wait for more bytes (or the close). */
  more(): Promise<void> {
    if (this.closed !== null) return Promise.reject(new LinkError(this.closed));
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  /** One line, without its CRLF (syncReadLine). */
  async line(): Promise<string> {
    for (;;) {
      const i = this.buf.indexOf(10);
      if (i >= 0) {
        const l = this.buf.latin1Slice(0, i > 0 && this.buf[i - 1] === 13 ? i - 1 : i);
        this.buf = this.buf.subarray(i + 1);
        return l;
      }
      if (this.closed !== null) throw new LinkError(this.closed);
      await this.more();
    }
  }

  take(): Buffer {
    const b = this.buf;
    this.buf = EMPTY;
    return b;
  }
}

/** The replica's side of replication on the link thread. */
export class ReplicaLink {
  host = '';
  port = 0;
  state = Link.None;
  private sock: net.Socket | null = null;
  private inbox: Inbox | null = null;
  /** The master as a client (Redis's server.master), once the link is up. */
  master: Client | null = null;
  private cached: Cached | null = null;
  /** Applied and read offsets of the master's stream (master->reploff / read_reploff). */
  reploff = 0;
  readReploff = 0;
  private masterReplid = '';
  /** The master answered SYNC, not PSYNC (CLIENT_PRE_PSYNC): it gets no REPLCONF ACK. */
  private prePsync = false;
  /** Bytes of a MULTI ... block not yet applied (appended with its EXEC). */
  private multiBytes: Buffer[] = [];
  /** ms of the last byte from the master, of the handshake/transfer's last I/O, link down since. */
  lastIo = 0;
  transferLastIo = 0;
  downSince = 0;
  transferSize = -1;
  transferRead = 0;
  /** Bumped by every cancel: a handshake still awaiting something sees it is stale. */
  private gen = 0;
  private cron: NodeJS.Timeout | null = null;
  /** FAILOVER (failover.ts): told whether the target took our PSYNC ... FAILOVER. */
  onFailoverPsync: ((accepted: boolean) => void) | null = null;

  constructor(private readonly srv: ThreadServer) {}

  private misc(word: number, v: number): void {
    Atomics.store(this.srv.store.i32, this.srv.store.L.misc + word, v);
  }

  private publish(): void {
    state.setReplicaFields(this.srv.store, {
      host: this.host,
      port: this.port,
      linkUp: this.state === Link.Connected,
      lastIo: this.lastIo,
      syncInProgress: this.state === Link.Transfer || this.state === Link.Loading,
      transferSize: this.transferSize,
      transferRead: this.transferRead,
      transferLastIo: this.transferLastIo,
      readReploff: this.master !== null ? this.readReploff : this.cached !== null ? this.cached.reploff : 1,
      reploff: this.master !== null ? this.reploff : this.cached !== null ? this.cached.reploff : 1,
      downSince: this.downSince,
      replState: this.state,
      streamDb: this.master !== null ? this.master.db : this.cached !== null ? this.cached.db : -1,
    });
    this.misc(MISC_MASTER_LINK, this.state === Link.Connected ? 1 : 0);
  }

  start(): void {
    if (this.cron === null) {
      this.cron = setInterval(() => this.replicationCron(), 1000);
      this.cron.unref();
    }
  }

  // ---- REPLICAOF ------------------------------------------------------------------------------

  /** REPLICAOF host port (replicationSetMaster). Returns the reply's simple string. */
  setMaster(host: string, port: number, who: string | null, failover = false): string {
    if (this.host !== '' && this.host.toLowerCase() === host.toLowerCase() && this.port === port) {
      log('notice', 'REPLICAOF would result into synchronization with the master we are already connected with. No operation performed.');
      return 'OK Already connected to specified master';
    }
    const wasMaster = this.host === '';
    this.host = '';
    // Clients blocked here (BLPOP, WAIT...) get -UNBLOCKED and are closed (disconnectAllBlockedClients).
    void this.srv.broadcast({ op: 'unblock-all', args: [] });
    // Losing the current master caches it (a partial resync with the new one may be possible).
    if (this.master !== null) this.freeMaster();
    this.host = host;
    this.port = port;
    this.misc(MISC_REPLICA, 1);
    setOomScoreAdj(this.srv.store, this.srv.config);
    this.cancelHandshake();
    // At start-up (the `replicaof` directive) there is no history of our own to offer.
    if (wasMaster && who !== null) {
      this.discardCached();
      this.cacheMasterUsingMyself();
    }
    this.state = Link.Connect;
    this.publish();
    this.updateConfig();
    if (who !== null && !failover) log('notice', `REPLICAOF ${host}:${port} enabled (user request from '${who}')`);
    log('notice', `Connecting to MASTER ${host}:${port}`);
    this.start();
    this.connectWithMaster();
    return 'OK';
  }

  /** REPLICAOF NO ONE (replicationUnsetMaster); `why` names who asked in the log. */
  unsetMaster(who: string | null, why = 'user request'): void {
    if (this.host === '') return;
    this.host = '';
    this.port = 0;
    if (this.master !== null) this.freeMaster();
    this.discardCached();
    this.cancelHandshake();
    // A new history starts here: replicas of ours continue partially with the old id as replid2.
    state.shiftReplicationId(this.srv.store);
    disconnectReplicas(this.srv);
    this.state = Link.None;
    this.downSince = 0;
    this.misc(MISC_REPLICA, 0);
    setOomScoreAdj(this.srv.store, this.srv.config);
    this.publish();
    this.updateConfig();
    if (who !== null) log('notice', `MASTER MODE enabled (${why} from '${who}')`);
  }

  /** The `replicaof` config follows REPLICAOF (CONFIG GET / REWRITE), on every thread. */
  private updateConfig(): void {
    const value = this.host === '' ? '' : `${this.host} ${this.port}`;
    this.srv.config.set([['replicaof', this.host === '' ? 'no one' : value]], { force: true });
    this.srv.toMain({ type: 'config', name: 'replicaof', value: this.host === '' ? 'no one' : value });
  }

  // ---- cached master --------------------------------------------------------------------------

  /** The position an RDB file loaded at start-up recorded (loadDataFromDisk). */
  restoreCached(c: Cached | null): void {
    if (c === null) return;
    log('notice', 'Before turning into a replica, using my own master parameters to synthesize a cached master: I may be able to synchronize with the new master with just a partial transfer.');
    this.cached = c;
  }

  /** replicationCacheMasterUsingMyself: a former master may continue from its own history. */
  private cacheMasterUsingMyself(): void {
    const s = this.srv.store;
    log('notice', 'Before turning into a replica, using my own master parameters to synthesize a cached master: I may be able to synchronize with the new master with just a partial transfer.');
    this.cached = { replid: state.replid(s), reploff: state.offset(s), db: 0 };
  }

  private discardCached(): void {
    if (this.cached === null) return;
    log('notice', 'Discarding previously cached master state.');
    this.cached = null;
  }

  /** The master's link is gone: keep what a PSYNC needs (replicationCacheMaster). */
  private freeMaster(): void {
    const m = this.master as Client;
    this.master = null;
    log('warning', 'Connection with master lost.');
    log('notice', 'Caching the disconnected master state.');
    this.cached = { replid: this.masterReplid, reploff: this.reploff, db: m.db };
    // A MULTI block cut in the middle is dropped: the PSYNC offset is the last applied byte.
    this.multiBytes = [];
    m.masterHook = null;
    m.close();
    this.sock = null;
    this.state = this.host === '' ? Link.None : Link.Connect;
    this.downSince = Date.now();
    this.publish();
  }

  // ---- connecting and the handshake -----------------------------------------------------------

  private cancelHandshake(): void {
    this.gen++;
    if (this.state === Link.Connected) return;
    const sock = this.sock;
    this.sock = null;
    this.inbox = null;
    if (sock !== null) sock.destroy();
    if (this.state === Link.Transfer || this.state === Link.Loading) this.cleanupTransfer();
    this.transferSize = -1;
    this.transferRead = 0;
    if (this.host !== '') this.state = Link.Connect;
  }

  private tmpFile = '';
  private tmpFd = -1;

  private cleanupTransfer(): void {
    if (this.tmpFd >= 0) {
      try {
        fs.closeSync(this.tmpFd);
      } catch {
        /* closing only */
      }
      this.tmpFd = -1;
    }
    if (this.tmpFile !== '') {
      try {
        fs.unlinkSync(this.tmpFile);
      } catch {
        /* already renamed or gone */
      }
      this.tmpFile = '';
    }
  }

  /** Give up the attempt in progress and try again later (cancelReplicationHandshake + cron). */
  private fail(gen: number): void {
    if (gen !== this.gen) return;
    this.cancelHandshake();
    this.publish();
  }

  private connectWithMaster(): void {
    const gen = ++this.gen;
    const cfg = this.srv.config;
    // bind-source-addr: the address the master sees this replica connect from (Redis's connConnect).
    const src = cfg.str('bind-source-addr');
    const sock = net.connect(src !== '' ? { host: this.host, port: this.port, localAddress: src } : { host: this.host, port: this.port });
    const inbox = new Inbox();
    this.sock = sock;
    this.inbox = inbox;
    this.state = Link.Connecting;
    this.transferLastIo = Date.now();
    this.publish();
    sock.setNoDelay(!cfg.bool('repl-disable-tcp-nodelay'));
    sock.on('data', (chunk: Buffer) => {
      if (gen !== this.gen) return;
      this.transferLastIo = Date.now();
      inbox.push(chunk);
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      if (gen !== this.gen) return;
      if (this.state === Link.Connecting) {
        log('warning', `Error condition on socket for SYNC: ${e.code === 'ECONNREFUSED' ? 'Connection refused' : e.message}`);
        this.fail(gen);
      } else inbox.close(e.message);
    });
    sock.on('close', () => {
      if (gen !== this.gen) return;
      inbox.close('connection lost');
      if (this.state === Link.Connecting) this.fail(gen);
    });
    sock.once('connect', () => {
      if (gen !== this.gen) return;
      log('notice', 'Non blocking connect for SYNC fired the event.');
      this.state = Link.Handshake;
      this.publish();
      this.handshake(gen, sock, inbox).catch((e: Error) => {
        if (gen !== this.gen) return;
        if (e instanceof LinkError) log('warning', `Master did not respond to command during SYNC handshake`);
        else log('warning', `Replication handshake failed: ${e.stack}`);
        this.fail(gen);
      });
    });
    log('notice', 'MASTER <-> REPLICA sync started');
  }

  /** syncWithMaster: PING, AUTH, REPLCONF, PSYNC, then a snapshot or the stream. */
  private async handshake(gen: number, sock: net.Socket, inbox: Inbox): Promise<void> {
    const cfg = this.srv.config;
    const send = (...args: string[]): void => {
      sock.write(encodeCommand(args.map((a) => Buffer.from(a))));
    };
    send('PING');
    let r = await inbox.line();
    if (gen !== this.gen) return;
    // NOAUTH and NOPERM mean the master is alive: AUTH follows.
    if (r.startsWith('-') && !r.startsWith('-NOAUTH') && !r.startsWith('-NOPERM') && !r.startsWith('-ERR operation not permitted')) {
      log('warning', `Error reply to PING from master: '${r.slice(1)}'`);
      return this.fail(gen);
    }
    log('notice', 'Master replied to PING, replication can continue...');
    // The rest of the handshake is pipelined, as Redis does, and the replies read in order.
    const auth = cfg.str('masterauth');
    const user = cfg.str('masteruser');
    if (auth !== '') {
      if (user !== '') send('AUTH', user, auth);
      else send('AUTH', auth);
    }
    const announcePort = cfg.num('replica-announce-port');
    send('REPLCONF', 'listening-port', String(announcePort !== 0 ? announcePort : cfg.num('port')));
    const announceIp = cfg.str('replica-announce-ip');
    if (announceIp !== '') send('REPLCONF', 'ip-address', announceIp);
    send('REPLCONF', 'capa', 'eof', 'capa', 'psync2');
    if (auth !== '') {
      r = await inbox.line();
      if (gen !== this.gen) return;
      if (r.startsWith('-')) {
        log('warning', `Unable to AUTH to MASTER: ${r}`);
        return this.fail(gen);
      }
    }
    r = await inbox.line();
    if (gen !== this.gen) return;
    if (r.startsWith('-')) log('notice', `(Non critical) Master does not understand REPLCONF listening-port: ${r}`);
    if (announceIp !== '') {
      r = await inbox.line();
      if (gen !== this.gen) return;
      if (r.startsWith('-')) log('notice', `(Non critical) Master does not understand REPLCONF ip-address: ${r}`);
    }
    r = await inbox.line();
    if (gen !== this.gen) return;
    if (r.startsWith('-')) log('notice', `(Non critical) Master does not understand REPLCONF capa: ${r}`);

    // PSYNC (slaveTryPartialResynchronization). A master handing over (FAILOVER) adds FAILOVER:
    // the target promotes itself and continues our history.
    const cached = this.cached;
    const failover = rget(this.srv.store, R_FAILOVER_STATE) === 2 ? ['FAILOVER'] : [];
    if (cached !== null) {
      log('notice', `Trying a partial resynchronization (request ${cached.replid}:${cached.reploff + 1}).`);
      send('PSYNC', cached.replid, String(cached.reploff + 1), ...failover);
    } else {
      log('notice', 'Partial resynchronization not possible (no cached master)');
      send('PSYNC', '?', '-1', ...failover);
    }
    do {
      // A master preparing the snapshot sends newlines to keep the link alive.
      r = await inbox.line();
      if (gen !== this.gen) return;
    } while (r === '');
    if (failover.length > 0) this.onFailoverPsync?.(r.startsWith('+CONTINUE') || r.startsWith('+FULLRESYNC'));
    this.prePsync = false;
    if (gen !== this.gen) return;
    if (r.startsWith('+FULLRESYNC')) {
      const [, replid, off] = r.split(' ');
      if (replid === undefined || off === undefined || replid.length !== CONFIG_RUN_ID_SIZE) {
        log('warning', 'Master replied with wrong +FULLRESYNC syntax.');
        this.masterReplid = '';
        this.reploff = -1;
      } else {
        this.masterReplid = replid;
        this.reploff = Number(off);
      }
      log('notice', `Full resync from master: ${replid}:${off}`);
      // The cached master stays until the transferred RDB is loaded (replicationAttachToNewMaster,
      // below): a transfer that never completes (that master gone) leaves this server's history
      // and data as they were, so its old master can still continue it partially.
      return this.receiveSnapshot(gen, sock, inbox);
    }
    if (r.startsWith('+CONTINUE')) {
      if (cached === null) {
        log('warning', `Unexpected reply to PSYNC from master: ${r}`);
        return this.fail(gen);
      }
      log('notice', 'Successful partial resynchronization with master.');
      const newId = r.slice(9).trim();
      if (newId.length === CONFIG_RUN_ID_SIZE && newId !== cached.replid) {
        // The master's history forked from ours at this offset: keep the old id as replid2.
        state.changeReplicationId(this.srv.store, newId, cached.reploff + 1);
        log('warning', `Master replication ID changed to ${newId}`);
        cached.replid = newId;
        disconnectReplicas(this.srv);
      }
      log('notice', 'MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.');
      this.masterReplid = cached.replid;
      this.reploff = cached.reploff;
      this.readReploff = cached.reploff;
      const db = cached.db;
      this.cached = null;
      this.linkUp(sock, inbox.take(), db, false);
      return;
    }
    if (r.startsWith('-NOMASTERLINK') || r.startsWith('-LOADING')) {
      log('notice', `Master is currently unable to PSYNC but should be in the future: ${r}`);
      return this.fail(gen);
    }
    // PSYNC_NOT_SUPPORTED: a master from before PSYNC (or in error) gets SYNC, and its snapshot
    // starts a history of our own (a new replid at offset 0: it sends no id, takes no ACK).
    if (r.startsWith('-ERR')) log('notice', `Master does not support PSYNC or is in error state (reply: ${r})`);
    else log('warning', `Unexpected reply to PSYNC from master: ${r}`);
    this.discardCached();
    log('notice', 'Retrying with SYNC...');
    sock.write('SYNC\r\n');
    this.masterReplid = randomBytes(20).toString('hex');
    this.reploff = 0;
    this.prePsync = true;
    return this.receiveSnapshot(gen, sock, inbox);
  }

  // ---- the snapshot ---------------------------------------------------------------------------

  private async receiveSnapshot(gen: number, sock: net.Socket, inbox: Inbox): Promise<void> {
    // A diskless load of another history (the master's replid is not ours) is loading from its
    // first byte on, as Redis reads it straight into the emptied dataset: INFO loading:1 and
    // -LOADING for clients while it streams in, the old data back if the transfer fails. Of the
    // same history (swapdb) the old data keeps answering while it streams in: INFO async_loading:1
    // (Redis's async loading). The parse that follows holds the dataset (loading:1): Redis parses
    // into a second keyspace and swaps, which this server does not have.
    let early = 0;
    const st = this.srv.store;
    try {
      return await this.receiveSnapshotInner(gen, sock, inbox, (async: boolean) => {
        early = async ? M_ASYNC_LOADING : M_LOADING;
        pset(st, P_LOADING_START, Math.floor(Date.now() / 1000));
        pset(st, P_LOADING_TOTAL, 0);
        pset(st, P_LOADING_LOADED, 0);
        Atomics.store(st.i32, st.L.misc + early, 1);
      }, () => {
        // The main thread's load takes loading over (and clears it when done); async_loading
        // ends here, as the parse holds the dataset.
        if (early === M_ASYNC_LOADING) Atomics.store(st.i32, st.L.misc + early, 0);
        early = 0;
      });
    } finally {
      if (early !== 0) Atomics.store(st.i32, st.L.misc + early, 0);
    }
  }

  private async receiveSnapshotInner(gen: number, sock: net.Socket, inbox: Inbox, loadingNow: (async: boolean) => void, handOver: () => void): Promise<void> {
    const cfg = this.srv.config;
    // useDisklessLoad: swapdb always, on-empty-db only when we hold no key (then nothing is lost
    // if the transfer fails). swapdb loads like on-empty-db here: the old data is not served
    // during the load.
    const mode = cfg.str('repl-diskless-load');
    const diskless = mode === 'swapdb' || (mode === 'on-empty-db' && this.keyCount() === 0);
    this.state = Link.Transfer;
    this.transferSize = -1;
    this.transferRead = 0;
    this.transferLastIo = Date.now();
    this.publish();
    let r: string;
    do {
      r = await inbox.line();
      if (gen !== this.gen) return;
    } while (r === '');
    if (r.startsWith('-')) {
      log('warning', `MASTER aborted replication with an error: ${r.slice(1)}`);
      return this.fail(gen);
    }
    if (!r.startsWith('$')) {
      log('warning', `Bad protocol from MASTER, the first byte is not '$' (we received '${r}'), are you sure the host and port are right?`);
      return this.fail(gen);
    }
    let eofMark: Buffer | null = null;
    if (r.startsWith('$EOF:') && r.length - 5 >= CONFIG_RUN_ID_SIZE) {
      eofMark = Buffer.from(r.slice(5, 5 + CONFIG_RUN_ID_SIZE), 'latin1');
      this.transferSize = 0;
      log('notice', `MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF ${diskless ? 'to parser' : 'to disk'}`);
    } else {
      this.transferSize = parseInt(r.slice(1), 10);
      log('notice', `MASTER <-> REPLICA sync: receiving ${this.transferSize} bytes from master ${diskless ? 'to parser' : 'to disk'}`);
    }
    if (diskless) loadingNow(mode === 'swapdb' && this.masterReplid === replId(this.srv.store));
    // Redis parses a diskless transfer as it arrives: its load starts here.
    if (diskless) log('notice', 'MASTER <-> REPLICA sync: Loading DB in memory');
    this.publish();
    const chunks: Buffer[] = [];
    if (!diskless) {
      // temp-<unixtime>.<pid>.rdb in `dir` (the process works there).
      this.tmpFile = `temp-${Math.floor(Date.now() / 1000)}.${process.pid}.rdb`;
      try {
        this.tmpFd = fs.openSync(this.tmpFile, 'w', 0o644);
      } catch (e) {
        log('warning', `Opening the temp file needed for MASTER <-> REPLICA synchronization: ${(e as Error).message}`);
        return this.fail(gen);
      }
    }
    let tail: Buffer = EMPTY;
    let rest: Buffer = EMPTY;
    let got = 0;
    for (;;) {
      let data: Buffer = inbox.take();
      if (data.length === 0) {
        try {
          await inbox.more();
        } catch (e) {
          if (gen !== this.gen) return;
          if (diskless) {
            // What Redis's loader reading the socket reports on a cut transfer.
            log('warning', `Internal error in RDB reading offset ${got} of the MASTER's transfer -> Unexpected EOF reading RDB file`);
            log('warning', 'Failed trying to load the MASTER synchronization DB from socket, check server logs.');
          } else {
            log('warning', `I/O error trying to sync with MASTER: ${(e as Error).message}`);
          }
          return this.fail(gen);
        }
        if (gen !== this.gen) return;
        continue;
      }
      let done = false;
      if (eofMark === null) {
        const left = this.transferSize - got;
        if (data.length >= left) {
          rest = data.subarray(left);
          data = data.subarray(0, left);
          done = true;
        }
      } else {
        const t = tail.length + data.length <= 2 * CONFIG_RUN_ID_SIZE ? Buffer.concat([tail, data]) : Buffer.concat([tail, data.subarray(Math.max(0, data.length - CONFIG_RUN_ID_SIZE))]);
        tail = t.subarray(Math.max(0, t.length - CONFIG_RUN_ID_SIZE));
        if (tail.length === CONFIG_RUN_ID_SIZE && tail.equals(eofMark)) done = true;
      }
      got += data.length;
      this.transferRead = got;
      this.lastIo = Date.now();
      if (diskless) chunks.push(data);
      else {
        try {
          fs.writeSync(this.tmpFd, data);
        } catch (e) {
          log('warning', `Write error or short write writing to the DB dump file needed for MASTER <-> REPLICA synchronization: ${(e as Error).message}`);
          return this.fail(gen);
        }
      }
      if (done) break;
    }
    // Hold the stream that follows until the snapshot is loaded.
    sock.pause();
    let payload: Buffer | null = null;
    if (diskless) {
      payload = Buffer.concat(chunks);
      if (eofMark !== null) payload = payload.subarray(0, payload.length - CONFIG_RUN_ID_SIZE);
    } else {
      const file = path.resolve(cfg.str('dir'), cfg.str('dbfilename'));
      try {
        if (eofMark !== null) fs.ftruncateSync(this.tmpFd, got - CONFIG_RUN_ID_SIZE);
        fs.fsyncSync(this.tmpFd);
        fs.closeSync(this.tmpFd);
        this.tmpFd = -1;
      } catch (e) {
        log('warning', `Failed trying to sync the temp DB to disk in MASTER <-> REPLICA synchronization: ${(e as Error).message}`);
        return this.fail(gen);
      }
      try {
        fs.renameSync(this.tmpFile, file);
        this.tmpFile = '';
      } catch (e) {
        log('warning', `Failed trying to rename the temp DB into ${cfg.str('dbfilename')} in MASTER <-> REPLICA synchronization: ${(e as Error).message}`);
        return this.fail(gen);
      }
    }
    this.state = Link.Loading;
    this.publish();
    // Readers of our stream (sub-replicas) cannot continue across a new dataset.
    this.discardCached();
    disconnectReplicas(this.srv);
    handOver();
    // While it loads, a newline to the master once a second (Redis's rdbLoadProgressCallback),
    // which refreshes our ACK time there: a big load does not get the link timed out.
    const keepAlive = setInterval(() => {
      if (!sock.destroyed) sock.write('\n');
    }, 1000);
    let res: { ok: boolean; streamDb: number };
    try {
      res = (await this.srv.askMain('replica-load', [payload, diskless])) as { ok: boolean; streamDb: number };
    } finally {
      clearInterval(keepAlive);
    }
    if (gen !== this.gen) return;
    if (!res.ok) return this.fail(gen);
    // After a full resync our history is the master's: its replid, its offset.
    state.adoptMaster(this.srv.store, this.masterReplid, this.reploff);
    this.readReploff = this.reploff;
    this.linkUp(sock, rest.length > 0 ? Buffer.concat([rest, inbox.take()]) : inbox.take(), res.streamDb, true);
    log('notice', 'MASTER <-> REPLICA sync: Finished with success');
    // A diskless master waits for the first ACK before it streams (repl_put_online_on_ack).
    if (eofMark !== null) this.sendAck();
  }

  private keyCount(): number {
    const st = this.srv.store;
    let n = 0;
    for (let db = 0; db < st.dbs; db++) n += st.dbSize(db);
    return n;
  }

  // ---- the connected link: the master as a client ---------------------------------------------

  /** replicationCreateMasterClient / replicationResurrectCachedMaster. */
  private linkUp(sock: net.Socket, pending: Buffer, db: number, afterFull: boolean): void {
    const srv = this.srv;
    sock.removeAllListeners('data');
    sock.removeAllListeners('error');
    sock.removeAllListeners('close');
    this.inbox = null;
    const c = new Client(srv, sock);
    c.authenticated = true;
    // The master's link runs as no user (c->user NULL): no ACL checks.
    c.user = SUPERUSER;
    c.flagChars += 'M';
    c.db = db;
    c.masterHook = this.apply;
    srv.clients.set(c.id, c);
    srv.addStat(S_CLIENTS, 1);
    srv.miscAdd(M_CLIENTS, 1);
    this.master = c;
    this.multiBytes = [];
    this.state = Link.Connected;
    this.downSince = 0;
    this.lastIo = Date.now();
    this.publish();
    void afterFull;
    sock.on('data', (chunk: Buffer) => this.onData(c, chunk));
    sock.on('error', () => c.close());
    sock.on('close', () => {
      c.closed = true;
      c.cleanup();
      if (this.master === c) this.freeMaster();
    });
    c.onClose.push(() => {
      if (this.master === c) setImmediate(() => this.master === c && this.freeMaster());
    });
    // Replicas keep a backlog regardless of sub-replicas (createReplicationBacklog after a sync),
    // so that a replica of ours, or a peer after a failover, can PSYNC with us partially.
    srv.toMain({ type: 'repl', op: 'backlog' });
    sock.resume();
    if (pending.length > 0) this.onData(c, pending);
  }

  private onData(c: Client, chunk: Buffer): void {
    if (c.closed) return;
    this.lastIo = Date.now();
    this.readReploff += chunk.length;
    try {
      c.onData(chunk);
    } catch (e) {
      log('warning', `Closing the master link after an internal error: ${(e as Error).stack}`);
      c.close();
      this.srv.w.discard();
      this.srv.w.take();
    }
    state.setReplicaOffsets(this.srv.store, this.readReploff, this.reploff, chunk.length);
  }

  /** One command of the master's stream (Client.masterHook). */
  private readonly apply = (c: Client, argv: Buffer[]): void => {
    const bytes = encodeCommand(argv);
    const srv = this.srv;
    const prop = srv.prop;
    // REPLCONF GETACK: answered with the offset applied before it (replicationSendAck).
    if (argv.length >= 2 && isCmd(argv[0], 'replconf') && isCmd(argv[1], 'getack')) {
      this.sendAck();
      if (c.inMulti) this.multiBytes.push(bytes);
      else {
        prop.proxy = bytes;
        prop.appendProxy();
        this.reploff += bytes.length;
      }
      return;
    }
    if (c.inMulti || isCmd(argv[0], 'multi')) {
      const exec = c.inMulti && isCmd(argv[0], 'exec');
      const discard = c.inMulti && isCmd(argv[0], 'discard');
      this.multiBytes.push(bytes);
      if (!exec && !discard) {
        // Queued (or MULTI itself): applied and counted with the EXEC.
        c.execute(argv);
        // Held (CLIENT PAUSE, a busy script): it comes through here again when it resumes.
        if (c.postponed !== null) this.multiBytes.pop();
        return;
      }
      const parts = this.multiBytes;
      this.multiBytes = [];
      this.run(c, argv, Buffer.concat(parts));
      if (c.postponed !== null) {
        // The EXEC was held: the block waits whole for it to come through again.
        parts.pop();
        this.multiBytes = parts;
      }
      return;
    }
    this.run(c, argv, bytes);
  };

  private run(c: Client, argv: Buffer[], bytes: Buffer): void {
    const store = this.srv.store;
    const prop = this.srv.prop;
    // The master's SELECT: published before it runs (and is appended, without slot locks), so a
    // save's point in time never pairs the offset after it with the db before it. Publishing early
    // is harmless: the next bytes after the older offset are this SELECT.
    if (argv.length === 2 && isCmd(argv[0], 'select')) {
      const n = Number(argv[1].toString('latin1'));
      if (Number.isInteger(n) && n >= 0 && n < store.dbs) state.setStreamDb(store, n);
    }
    prop.proxy = bytes;
    store.noExpiry = true;
    try {
      const w = this.srv.w;
      const mark = w.mark();
      c.execute(argv);
      // A command of the master's stream that fails here (afterErrorReply): the data may diverge.
      if (w.byteAt(mark) === 0x2d) errorToMaster(w.since(mark), argv);
    } finally {
      store.noExpiry = false;
    }

    if (c.postponed !== null) {
      // Held by CLIENT PAUSE: it runs (and counts) when the pause ends.
      prop.proxy = null;
      return;
    }
    // A command refused before it ran still counts in the offset (and reaches our stream).
    if (prop.proxy !== null) prop.appendProxy();
    this.reploff += bytes.length;
  }

  /** REPLCONF ACK <offset> (every second, and on GETACK). */
  sendAck(): void {
    const c = this.master;
    if (c === null || c.closed || this.prePsync) return;
    const off = Buffer.from(String(this.reploff));
    const ack = Buffer.concat([Buffer.from(`*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n$${off.length}\r\n`), off, Buffer.from('\r\n')]);
    // With the AOF on, the ACK waits for the AOF write of what it acknowledges (Redis sends it
    // after beforeSleep's flushAppendOnlyFile), so an acknowledged write survives a kill -9.
    const st = this.srv.prop.stream;
    if (mustHold(c, st)) hold(c, ack, false, st);
    else c.socket.write(ack);
  }

  // ---- cron -----------------------------------------------------------------------------------

  /** replicationCron, the replica's part (once a second). */
  private replicationCron(): void {
    if (this.host === '') return;
    const now = Date.now();
    const timeout = this.srv.config.num('repl-timeout') * 1000;
    if ((this.state === Link.Connecting || this.state === Link.Handshake) && now - this.transferLastIo > timeout) {
      log('warning', 'Timeout connecting to the MASTER...');
      this.fail(this.gen);
    }
    if (this.state === Link.Transfer && now - this.transferLastIo > timeout) {
      log('warning', "Timeout receiving bulk data from MASTER... If the problem persists try to set the 'repl-timeout' parameter in redis.conf to a larger value.");
      this.fail(this.gen);
    }
    if (this.state === Link.Connected && this.master !== null && now - this.lastIo > timeout) {
      log('warning', 'MASTER timeout: no data nor PING received...');
      this.master.close();
      if (this.master !== null) this.freeMaster();
    }
    if (this.state === Link.Connect) {
      log('notice', `Connecting to MASTER ${this.host}:${this.port}`);
      this.connectWithMaster();
    }
    if (this.state === Link.Connected) this.sendAck();
    this.publish();
  }
}

let link: ReplicaLink | null = null;

/** afterErrorReply's log line for an error a replica sends (and its master drops). */
function errorToMaster(reply: Buffer, argv: Buffer[]): void {
  const end = reply.indexOf('\r\n');
  const msg = reply.latin1Slice(1, Math.min(end < 0 ? reply.length : end, 4097));
  const spec = lookupCommand(argv[0]);
  log('warning', `== CRITICAL == This replica is sending an error to its master: '${msg}' after processing the command '${spec === undefined ? '<unknown>' : spec.fullName}'`);
}

/**
 * Our own replicas must sync again (disconnectSlaves): after a full sync the dataset is another
 * history, and after a promotion or a new master id they continue with the new id.
 */
function disconnectReplicas(srv: ThreadServer): void {
  // CLIENT KILL TYPE replica on every thread (their sockets live on the workers that accepted them).
  void srv.broadcast({ op: 'client-kill', args: [{ id: 0, addr: null, laddr: null, type: 'replica', user: null, skip: 0, caller: 0 }] });
}

/** The link thread's replica state (worker 1), or null on other threads. */
export function replicaLink(): ReplicaLink | null {
  return link;
}

/**
 * Every worker: REPLICAOF requests relayed to the link thread (worker 1), which owns the link.
 * The main thread posts 'replica-start' to worker 1 once the local dataset is loaded.
 */
export function installReplica(srv: ThreadServer): void {
  if (srv.threadId === 1) link = new ReplicaLink(srv);
  if (link !== null) bindStream(srv.prop.stream);
  srv.requestHandlers.set('replicaof', (args) => {
    if (link === null) return null;
    const [host, port, who, why] = args as [string | null, number, string, string | undefined];
    if (host === null) {
      link.unsetMaster(who, why);
      return 'OK';
    }
    return link.setMaster(host, port, who);
  });
}

/**
 * Start replicating as the config says (`replicaof` at start-up), on worker 1; `cached` is the
 * position the RDB file loaded at start-up recorded (repl-id, repl-offset, repl-stream-db).
 */
export function startReplicaFromConfig(srv: ThreadServer, cached: Cached | null): void {
  if (link === null) return;
  const r = srv.config.replicaOf();
  if (r === null) return;
  link.restoreCached(cached);
  link.setMaster(r.host, r.port, null);
}

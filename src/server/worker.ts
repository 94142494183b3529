// A worker thread: accepts connections on the shared listening socket(s), parses, and executes
// every command itself against the shared keyspace. No hops to other threads on the common path.
import { setOomScoreAdj, setChildOomScoreAdj } from './oom';
import { onSaveChildStart } from '../persistence/child';
import { parentPort, receiveMessageOnPort, workerData } from 'worker_threads';
import * as net from 'net';
import { Heap } from '../store/heap';
import { Store, type Layout } from '../store/keyspace';
import '../store/types'; // every collection type's free/copy/check, registered with the keyspace
import { Config } from '../config/config';
import { applyRenames, commandStatCount, setCommandStatsArea } from '../commands/table';
import { configureHistograms } from './latency';
import { Client, inputOf, runPendingBatch } from './client';
import { installEviction } from './evict';
import { installClientMem } from './client-mem';
import { installBlocking, isBlocked } from './blocking';
import { Stream } from './stream';
import { onRemoteLines } from './monitor';
import { ThreadServer, S_CONNECTIONS, S_CLIENTS, S_REJECTED_CONN, M_CLIENTS, S_RUNNING_CMD, type CrossThreadRequest } from './context';
import { configureLog, log } from './log';
import { installWorkerServices } from './services';
import { installConnectionHandlers } from '../commands/connection';
import { installAclHandlers } from '../commands/acl';
import { pubsubDefaultFlags, type UserState } from './acl';
import { installScriptingHandlers } from '../commands/scripting';
import { PubSub, K_CHANNEL } from './pubsub';
import { configureNotify, type Publisher } from './notify';
import type { MessagePort } from 'worker_threads';
import { installCowHook } from '../persistence/snapshot';
import { setAofShared } from '../persistence/aof-state';
import { installAofTurn } from '../persistence/aof-hold';
import { installOutputGc } from './output-gc';
import { drainInboxAtDoorbell, installTracking, setTrackingMaxKeys } from './tracking';
import { installReplica, startReplicaFromConfig } from '../replication/replica';
import { installFailover } from '../replication/failover';
import { installMaster, onReplMessage } from '../replication/master';
import { closeListeners, startListeners, type ListenFds } from './listeners';
import { attachUnread, watchSocket } from './arrival';
export type { ListenFds };

export interface WorkerData {
  sab: SharedArrayBuffer;
  layout: Layout;
  commandStatsArea: number;
  /** The propagation stream (src/server/stream.ts). */
  stream: SharedArrayBuffer;
  config: Record<string, string>;
  threadId: number;
  threads: number;
  /** Listening sockets from the first worker (absent for the first worker, which binds). */
  fds?: ListenFds;
  /** The AOF's shared state (src/persistence/aof-state.ts). */
  aof?: SharedArrayBuffer;
  /** The ACL users the main thread loaded (requirepass, `user` directives, aclfile). */
  acl: UserState[];
  /** INFO process_supervised: how the main thread's start-up was supervised. */
  supervised: string;
  /** INFO executable: the absolute path shardis was started as. */
  executable: string;
}

const wd = workerData as WorkerData;
const port = parentPort as NonNullable<typeof parentPort>;
const config = Config.fromJSON(wd.config);
configureLog(config.str('loglevel'), config.str('logfile'));
setCommandStatsArea(wd.commandStatsArea);
configureHistograms(wd.threads + 8, commandStatCount);
applyRenames(config.renamedCommands());
const heap = new Heap(wd.sab, wd.threadId);
// Once a second: an idle thread's allocator caches go back to their slabs (memory to the OS).
setInterval(() => heap.trimIdle(), 1000).unref();
// Big replies' buffers, garbage once written, are collected after a burst (output-gc.ts).
installOutputGc();
const store = new Store(heap, wd.layout);
if (wd.aof !== undefined) setAofShared(wd.aof);
const srv = new ThreadServer(wd.threadId, wd.threads, store, config, new Stream(wd.stream));
if (wd.aof !== undefined) installAofTurn(srv.prop.stream);
srv.acl.pubsubDefault = pubsubDefaultFlags(config.str('acl-pubsub-default'));
srv.acl.adopt(wd.acl, 0);
srv.supervised = wd.supervised;
srv.executable = wd.executable;
srv.pubsub = new PubSub(srv);
installBlocking(srv);
// Commands ordered by input other threads have not read yet (arrival.ts).
attachUnread(store, wd.threadId, wd.threads);
installMaster(srv);
// oom-score-adj: applied by the thread that runs CONFIG SET, rolled back if the kernel refuses.
config.registerApply(['oom-score-adj', 'oom-score-adj-values'], () =>
  setOomScoreAdj(store, config) ? null : 'Failed to set current oom_score_adj. Check server logs.');
onSaveChildStart((pid) => setChildOomScoreAdj(store, srv.config, pid));

// Keyspace notifications: flags cached per thread, refreshed by CONFIG SET (on this thread too:
// CONFIG SET runs the listeners of the thread that executed it).
const publishEvent: Publisher = (from, channel, message) => {
  srv.pubsub.publish(from, K_CHANNEL, channel, message);
};
configureNotify(config.notifyKeyspaceEvents(), store, publishEvent);
srv.configListeners.push((name) => {
  if (name === 'notify-keyspace-events') configureNotify(srv.config.notifyKeyspaceEvents(), store, publishEvent);
  if (name === 'tracking-table-max-keys') setTrackingMaxKeys(srv.config.num('tracking-table-max-keys'));
});

// Client-side caching: invalidations for this thread's clients arrive in its shared inbox; the
// doorbell is a message on the direct port from the posting worker (or from the main thread).
installTracking(store, wd.threadId, wd.threads, srv.clients, (t) => {
  const p = srv.pubsub.peers.get(t);
  if (p !== undefined) p.postMessage({ type: 'track' });
  else port.postMessage({ type: 'track-ring', thread: t });
}, config.num('tracking-table-max-keys'));

// Cross-thread requests relayed by the main thread.
let nextReq = 1;
const pending = new Map<number, (results: unknown[]) => void>();
srv.broadcast = (req: CrossThreadRequest, includeLocal = true): Promise<unknown[]> => {
  const id = nextReq++;
  const local = includeLocal ? [handleRequest(req)] : [];
  return new Promise((resolve) => {
    pending.set(id, (results) => resolve([...local, ...results]));
    port.postMessage({ type: 'bcast', id, op: req.op, args: req.args });
  });
};
// The same, answered before it returns (a script cannot wait for an event: CLIENT LIST or INFO
// inside one). Asked over the direct ports between workers, not through the main thread (which
// may itself wait for a slot the script holds: a snapshot walking the keyspace). Other messages
// that come first on those ports are kept, in order, for the event loop; a thread that does not
// answer within maxMs (it waits for a slot lock the caller holds) is left out.
const sleepWord = new Int32Array(new SharedArrayBuffer(4));
const heldMessages: PeerMessage[] = [];
srv.broadcastSync = (req: CrossThreadRequest, maxMs: number): unknown[] => {
  const id = nextReq++;
  const results = [handleRequest(req)];
  const waiting = [...srv.pubsub.peers.values()];
  for (const p of waiting) p.postMessage({ type: 'sreq', id, op: req.op, args: req.args });
  const deadline = performance.now() + maxMs;
  while (waiting.length > 0) {
    let got = false;
    for (let i = 0; i < waiting.length; i++) {
      const r = receiveMessageOnPort(waiting[i]);
      if (r === undefined) continue;
      got = true;
      const m = r.message as PeerMessage;
      if (m.type === 'sresp' && m.id === id) {
        results.push(m.result);
        waiting.splice(i--, 1);
      } else if (m.type === 'sreq') {
        // Another script asking at the same time: answered now, or both would wait out maxMs.
        onPeerMessage(waiting[i], m);
      } else if (m.type !== 'sresp') {
        // (An answer to an earlier request that timed out is dropped.)
        if (heldMessages.push({ ...m, from: waiting[i] }) === 1) setImmediate(releaseHeld);
      }
    }
    if (got) continue;
    if (performance.now() >= deadline) break;
    Atomics.wait(sleepWord, 0, 0, 0.1);
  }
  return results;
};
function releaseHeld(): void {
  while (heldMessages.length > 0) {
    const m = heldMessages.shift() as PeerMessage;
    onPeerMessage(m.from as MessagePort, m);
  }
}
srv.toMain = (msg) => port.postMessage(msg);
const pendingMain = new Map<number, (result: unknown) => void>();
srv.askMain = (op, args) => {
  const id = nextReq++;
  return new Promise((resolve) => {
    pendingMain.set(id, resolve);
    port.postMessage({ type: 'persist', id, op, args });
  });
};
// A snapshot in progress: commands that may write copy the slots it has not reached yet.
// A copy that owns its whole ArrayBuffer (every slot copy, a huge string's) is moved to the main
// thread, not cloned (the hooks keep no reference to what they deliver).
installCowHook(store, (key, bytes, logical) => {
  const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
  port.postMessage({ type: 'cow', key, bytes, logical }, own ? [bytes.buffer as ArrayBuffer] : []);
});

function handleRequest(req: CrossThreadRequest): unknown {
  const h = srv.requestHandlers.get(req.op);
  if (h === undefined) return null;
  // For the watchdog's report: this thread serves another's command (DEBUG SLEEP, KEYS...).
  // (A broadcast runs this thread's share at once, inside the command: that stays the report.)
  if (!srv.watched || srv.stat(S_RUNNING_CMD) !== 0) return h(req.args);
  srv.setStat(S_RUNNING_CMD, -1);
  try {
    return h(req.args);
  } finally {
    srv.setStat(S_RUNNING_CMD, 0);
  }
}

/** A message on a direct port from another worker. */
interface PeerMessage { type: string; kind: number; channel: Uint8Array; message: Uint8Array; id: number; op: string; args: unknown[]; result: unknown; from?: MessagePort }

function onPeerMessage(from: MessagePort, msg: PeerMessage): void {
  if (msg.type === 'pub') srv.pubsub.onPeerMessage({ type: 'pub', kind: msg.kind, channel: msg.channel, message: msg.message });
  else if (msg.type === 'track') drainInboxAtDoorbell();
  else if (msg.type === 'sreq') from.postMessage({ type: 'sresp', id: msg.id, result: handleRequest({ op: msg.op, args: msg.args }) });
}

port.on('message', (m: { type: string; id: number; op: string; args: unknown[]; results: unknown[]; name: string; value: string; peer: number; port: MessagePort; kind: number; channel: Uint8Array; message: Uint8Array; lines: Uint8Array }) => {
  if (m.type === 'peer') {
    // A direct channel to another worker (pub/sub delivery: FIFO per publisher thread; requests
    // of broadcastSync).
    const peer = m.port;
    srv.pubsub.peers.set(m.peer, peer);
    peer.on('message', (msg: PeerMessage) => {
      // Messages a synchronous broadcast set aside came first.
      if (heldMessages.length > 0) releaseHeld();
      onPeerMessage(peer, msg);
    });
    peer.unref();
  } else if (m.type === 'pub') {
    // Keyspace events published by the main thread (active expiry), batched like a peer's.
    srv.pubsub.onPeerMessage({ type: 'pub', kind: m.kind, channel: m.channel, message: m.message });
  } else if (m.type === 'track') {
    drainInboxAtDoorbell();
  } else if (m.type === 'req') {
    port.postMessage({ type: 'resp', id: m.id, result: handleRequest({ op: m.op, args: m.args }) });
  } else if (m.type === 'persist-done') {
    const r = pendingMain.get(m.id);
    pendingMain.delete(m.id);
    if (r !== undefined) r(m.results);
  } else if (m.type === 'bcast-done') {
    const r = pending.get(m.id);
    pending.delete(m.id);
    if (r !== undefined) r(m.results);
  } else if (m.type === 'replica-start') {
    startReplicaFromConfig(srv, (m as unknown as { cached: { replid: string; reploff: number; db: number } | null }).cached);
  } else if (m.type === 'monitor') {
    onRemoteLines(m.lines);
  } else if (m.type.startsWith('repl-')) {
    onReplMessage(m as unknown as { type: string; [k: string]: unknown });
  } else if (m.type === 'close-listeners') {
    closeListeners();
    port.postMessage({ type: 'listeners-closed' });
  } else if (m.type === 'config') {
    // A CONFIG SET made on another thread (or the main thread): validated there already (force:
    // REPLICAOF updates the immutable `replicaof` this way).
    srv.config.set([[m.name, m.value]], { force: true });
    for (const l of srv.configListeners) l(m.name, m.value, false);
  }
});

/** A peer's reset or a write to a dead socket: never fatal (an 'error' with no listener would be). */
function ignoreSocketError(): void {}

const onUnixConnection = (socket: net.Socket): void => onConnection(socket, true);
const onTcpConnection = (socket: net.Socket): void => onConnection(socket, false);

function onConnection(socket: net.Socket, unix: boolean): void {
  // First thing, before any write: a refused connection reset by its peer raises 'error' too.
  socket.on('error', ignoreSocketError);
  srv.addStat(S_CONNECTIONS, 1);
  const max = srv.config.num('maxclients');
  if (srv.miscAdd(M_CLIENTS, 1) >= max) {
    srv.miscAdd(M_CLIENTS, -1);
    srv.addStat(S_REJECTED_CONN, 1);
    socket.end('-ERR max number of clients reached\r\n');
    return;
  }
  if (srv.config.bool('protected-mode') && srv.acl.defaultUser.nopass && !isLoopback(socket.remoteAddress)) {
    srv.miscAdd(M_CLIENTS, -1);
    srv.addStat(S_REJECTED_CONN, 1);
    socket.end(PROTECTED_MODE_DENIED);
    return;
  }
  socket.setNoDelay(true);
  const keepalive = srv.config.num('tcp-keepalive');
  if (keepalive > 0) socket.setKeepAlive(true, keepalive * 1000);
  const c = new Client(srv, socket, unix ? srv.config.str('unixsocket') : undefined);
  srv.clients.set(c.id, c);
  c.inputFd = watchSocket(socket);
  srv.addStat(S_CLIENTS, 1);
  socket.on('data', (chunk: Buffer) => inputOf(c, chunk, true));
  socket.on('error', () => c.close());
  socket.removeListener('error', ignoreSocketError);
  // The peer closed its side (the server socket is half-open: Node ends nothing by itself).
  // Redis frees a client when its read returns 0: subscriptions, blocked waits and its CLIENT
  // LIST entry go at once, while a PUBLISH on another thread could still count it if they waited
  // for 'close'. Replies already written drain first. A pipeline this thread holds (a pause, a
  // reply waiting on other threads) runs to its end before the client goes: Redis would have run
  // it before it read the end (after Node's automatic end() its replies were lost).
  socket.on('end', () => {
    if (c.closed) return;
    if (c.batched > 0) runPendingBatch();
    if (c.closed) return;
    if (c.paused && !isBlocked(c)) {
      c.peerEnded = true;
      return;
    }
    c.closeAfterReply();
    c.flush();
  });
  socket.on('close', () => {
    c.closed = true;
    c.cleanup();
  });
}

function isLoopback(addr: string | undefined): boolean {
  if (addr === undefined) return true; // unix sockets
  return addr === '::1' || addr.startsWith('127.') || addr.startsWith('::ffff:127.');
}

const PROTECTED_MODE_DENIED =
  '-DENIED Redis is running in protected mode because protected ' +
  'mode is enabled and no password is set for the default user. ' +
  'In this mode connections are only accepted from the loopback interface. ' +
  'If you want to connect from external computers to Redis you ' +
  'may adopt one of the following solutions: ' +
  '1) Just disable protected mode sending the command ' +
  "'CONFIG SET protected-mode no' from the loopback interface " +
  'by connecting to Redis from the same host the server is ' +
  'running, however MAKE SURE Redis is not publicly accessible ' +
  'from internet if you do so. Use CONFIG REWRITE to make this ' +
  'change permanent. ' +
  '2) Alternatively you can just disable the protected mode by ' +
  'editing the Redis configuration file, and setting the protected ' +
  "mode option to 'no', and then restarting the server. " +
  '3) If you started the server manually just for testing, restart ' +
  "it with the '--protected-mode no' option. " +
  '4) Setup a an authentication password for the default user. ' +
  'NOTE: You only need to do one of the above things in order for ' +
  'the server to start accepting connections from the outside.\r\n';

async function start(): Promise<void> {
  installConnectionHandlers(srv);
  installAclHandlers(srv);
  installScriptingHandlers(srv);
  installWorkerServices(srv);
  installReplica(srv);
  installFailover(srv);
  installEviction(srv);
  installClientMem(srv);
  try {
    const fds = await startListeners(srv, wd.fds, onTcpConnection, onUnixConnection);
    port.postMessage({ type: 'listening', fds });
  } catch (e) {
    port.postMessage({ type: 'fatal', message: (e as Error).message });
  }
}

start().catch((e: Error) => log('warning', `worker ${wd.threadId} failed: ${e.stack}`));

// Per-worker background duties (publishing statistics, closing idle clients), the slow log, and
// the handlers of the cross-thread requests that the server and connection commands send.
import { M_PAUSE_CRON, S_RUNNING_CMD, S_TICK_AT, type ThreadServer } from './context';
import type { Client } from './client';
import { countError, localInfo, resetLocalStats, sampleMetrics } from './info';
import { redactedArgs } from './redact';
import { latencyState } from './latency';
import { accountClients } from './client-mem';
import type { Store } from '../store/keyspace';

// ---------------------------------------------------------------------------------------------
// Slow log: each thread keeps the entries of its own commands; SLOWLOG GET merges them.

/** Misc word (shared Int32) holding the last slow log entry id, so ids are server-wide. */
export const M_SLOWLOG_ID = 60;

export interface SlowlogEntry {
  id: number;
  time: number;
  usec: number;
  args: string[];
  addr: string;
  name: string;
}

/** Read by the dispatcher after each command: commands at least this slow are logged. */
export const slowlogState = { threshold: 10000, maxLen: 128 };
const slowlog: SlowlogEntry[] = [];
const SLOWLOG_ENTRY_MAX_ARGC = 32;
const SLOWLOG_ENTRY_MAX_STRING = 128;

function applyLatencyConfig(srv: ThreadServer): void {
  latencyState.threshold = srv.config.num('latency-monitor-threshold');
  latencyState.tracking = srv.config.bool('latency-tracking');
}

function applySlowlogConfig(srv: ThreadServer): void {
  const t = srv.config.num('slowlog-log-slower-than');
  slowlogState.threshold = t < 0 ? Infinity : t;
  slowlogState.maxLen = Math.max(0, srv.config.num('slowlog-max-len'));
  if (slowlog.length > slowlogState.maxLen) slowlog.length = slowlogState.maxLen;
}

/** Log a command that took `usec` (called by the dispatcher when usec >= threshold). */
export function slowlogPush(c: Client, argv: Buffer[], usec: number): void {
  if (slowlogState.maxLen === 0) return;
  const argc = Math.min(argv.length, SLOWLOG_ENTRY_MAX_ARGC);
  const args: string[] = [];
  for (let i = 0; i < argc; i++) {
    if (argc !== argv.length && i === argc - 1) {
      args.push(`... (${argv.length - argc + 1} more arguments)`);
      break;
    }
    const a = argv[i];
    if (a.length > SLOWLOG_ENTRY_MAX_STRING) {
      args.push(`${a.subarray(0, SLOWLOG_ENTRY_MAX_STRING).toString('latin1')}... (${a.length - SLOWLOG_ENTRY_MAX_STRING} more bytes)`);
    } else {
      args.push(a.toString('latin1'));
    }
  }
  // Never keep passwords (redactClientCommandArgument).
  const hidden = redactedArgs(argv);
  if (hidden !== null) for (let i = 0; i < args.length; i++) if (hidden[i] && !(argc !== argv.length && i === argc - 1)) args[i] = '(redacted)';
  const id = Atomics.add(c.store.i32, c.store.L.misc + M_SLOWLOG_ID, 1);
  slowlog.unshift({ id, time: Math.floor(Date.now() / 1000), usec: Math.round(usec), args, addr: c.addr, name: c.name });
  if (slowlog.length > slowlogState.maxLen) slowlog.length = slowlogState.maxLen;
}

// ---------------------------------------------------------------------------------------------

/** The thread's own services (the connection and scripting commands' handlers are installed by the worker). */
export function installWorkerServices(srv: ThreadServer): void {
  srv.w.errorHook = countError;
  srv.requestHandlers.set('info', () => localInfo(srv));
  srv.requestHandlers.set('resetstat', () => {
    resetLocalStats(srv);
    return true;
  });
  srv.requestHandlers.set('slowlog-get', (args) => {
    const n = args[0] as number;
    return n < 0 ? slowlog.slice() : slowlog.slice(0, n);
  });
  srv.requestHandlers.set('slowlog-len', () => slowlog.length);
  // DEBUG SLEEP on another thread: this one stops serving until the same moment (Redis has one).
  // (Its misc word is set before the message is sent: waitDebugSleep waits for the same end.)
  srv.requestHandlers.set('debug-sleep', (args) => {
    if ((args[0] as number) !== srv.threadId) waitDebugSleep(srv.store);
    return null;
  });
  srv.requestHandlers.set('slowlog-reset', () => {
    slowlog.length = 0;
    return true;
  });
  applySlowlogConfig(srv);
  applyLatencyConfig(srv);
  srv.configListeners.push((name) => {
    if (name === 'slowlog-log-slower-than' || name === 'slowlog-max-len') applySlowlogConfig(srv);
    if (name === 'latency-monitor-threshold' || name === 'latency-tracking') applyLatencyConfig(srv);
  });

  srv.setStat(S_TICK_AT, Date.now());
  const watch = (): void => {
    srv.watched = srv.config.num('watchdog-period') > 0;
    srv.setStat(S_RUNNING_CMD, 0); // (a command that ran unwatched left nothing to trust)
  };
  watch();
  srv.configListeners.push((name) => {
    if (name === 'watchdog-period') watch();
  });
  let timer = setInterval(() => tick(srv), 1000 / clampHz(srv.config.num('hz')));
  timer.unref();
  srv.configListeners.push((name) => {
    if (name !== 'hz') return;
    clearInterval(timer);
    timer = setInterval(() => tick(srv), 1000 / clampHz(srv.config.num('hz')));
    timer.unref();
  });
}

function clampHz(hz: number): number {
  return Math.max(1, Math.min(500, hz));
}

function tick(srv: ThreadServer): void {
  // The watchdog's heartbeat (watchdog.ts): this thread's event loop is turning.
  srv.setStat(S_TICK_AT, Date.now());
  // DEBUG PAUSE-CRON 1: the threads' share of serverCron stops too (clientsCron's recount and
  // eviction, timeouts), as Redis's serverCron returns at once.
  if (srv.misc(M_PAUSE_CRON) !== 0) return;
  srv.publishStats();
  accountClients(srv);
  sampleMetrics(srv);
  const timeout = srv.config.num('timeout');
  if (timeout <= 0) return;
  const limit = Date.now() - timeout * 1000;
  for (const c of srv.clients.values()) {
    // Redis never times out blocked or subscribed clients, nor replicas or masters.
    if (c.lastInteraction >= limit || c.paused || c.closed) continue;
    if (c.subscriptions + c.psubscriptions + c.ssubscriptions > 0) continue;
    if (c.flagChars.includes('S') || c.flagChars.includes('M')) continue;
    c.close();
  }
}

const nap = new Int32Array(new SharedArrayBuffer(4));

/**
 * Misc word: when a DEBUG SLEEP ends (Date.now() in ms, wrapped to 32 bits; 0: none). The sleeping
 * thread also tells the others by message, but a command another thread reads first would run
 * before that message arrives: every command checks this word first (waitDebugSleep).
 */
export const M_DEBUG_SLEEP = 17;

/** DEBUG SLEEP: every thread stops running commands until `until` (Date.now() ms). */
export function debugSleepUntil(store: Store, until: number): void {
  Atomics.store(store.i32, store.L.misc + M_DEBUG_SLEEP, until | 0 || 1);
}

/** Before a command: wait out a DEBUG SLEEP another thread is in (one atomic load otherwise). */
export function waitDebugSleep(store: Store): void {
  const w = store.L.misc + M_DEBUG_SLEEP;
  const until = Atomics.load(store.i32, w);
  if (until === 0) return;
  for (let left = (until - (Date.now() | 0)) | 0; left > 0; left = (until - (Date.now() | 0)) | 0) Atomics.wait(nap, 0, 0, left);
  Atomics.compareExchange(store.i32, w, until, 0);
}

// INFO: Redis 7.0's sections and field names, with statistics summed over every worker thread
// (shared-memory counters) plus what each thread reports when asked (errorstats).
import { trackingClients, trackingTotalItems, trackingTotalKeys, trackingTotalPrefixes, inboxBytes } from './tracking';
import { scriptEngine } from '../scripting/engine';
import { syncLibraries } from '../scripting/functions';
import * as os from 'os';
import * as fs from 'fs';
import { createHash } from 'crypto';
import type { ThreadServer } from './context';
import { clientsMemory } from './client-mem';
import { unreadFenceOn, unreadFenceStats } from './arrival';
import {
  S_CONNECTIONS, S_COMMANDS, S_CLIENTS, S_NET_IN, S_NET_OUT, S_REJECTED_CONN, S_EXPIRED, S_HITS, S_MISSES,
  S_BLOCKED, S_PUBSUB_CHANNELS, S_PUBSUB_PATTERNS, S_ERRORS, S_EVICTED, S_DIRTY, S_WATCHING, S_PROTO_ERRORS, S_PEAK_MEMORY, S_EVICTED_CLIENTS, M_LOADING, M_ASYNC_LOADING, M_LAZYFREE_PENDING, M_LAZYFREED,
} from './context';
import { MISC_MIGRATE_SOCKETS, STAT_FIELDS } from '../store/keyspace';
import { allCommands, commandStats } from '../commands/registry';
import type { CommandSpec } from '../commands/types';
import { commandHistogram, valueAtPercentile } from './latency';
import {
  pget, P_BGSAVE_IN_PROGRESS, P_BGSAVE_START, P_DIRTY_AT_SAVE, P_KEYS_PROCESSED, P_KEYS_TOTAL, P_LAST_BGSAVE_OK,
  P_LAST_BGSAVE_TIME, P_LAST_COW, P_LAST_SAVE, P_LOAD_EXPIRED, P_LOAD_LOADED, P_SAVES, P_FORKS, P_FORK_USEC, P_SHUTDOWN_AT, P_LOADING_START, P_LOADING_TOTAL,
  P_LOADING_LOADED, P_COW_NOW,
} from '../persistence/state';
import { aofInfoLines } from '../persistence/aof-info';
import { SHARDIS_VERSION } from '../version';
import { infoReplication, replicaCount, replicationBufferBytes, rget, R_BACKLOG_ACTIVE, R_NET_REPL_IN, R_NET_REPL_OUT, R_SYNC_FULL, R_SYNC_PARTIAL_ERR, R_SYNC_PARTIAL_OK } from '../replication/state';

export const REDIS_VERSION = '7.0.15';

/** What each thread reports for INFO (sent between threads: plain data only). */
export interface ThreadInfo {
  threadId: number;
  errors: Array<[string, number]>;
  maxInput: number;
  maxOutput: number;
}

/** Error replies counted by their first word, for this thread (see countError). */
const errorCounts = new Map<string, number>();
const MAX_ERROR_CODES = 128;

/** Hook for ReplyWriter.errorHook: count an error reply by its code ("ERR", "WRONGTYPE"...). */
export function countError(s: string): void {
  const sp = s.indexOf(' ');
  const code = sp < 0 ? s : s.slice(0, sp);
  const n = errorCounts.get(code);
  if (n !== undefined) errorCounts.set(code, n + 1);
  else if (errorCounts.size < MAX_ERROR_CODES) errorCounts.set(code, 1);
}

/** This thread's part of INFO, answered to the 'info' cross-thread request. */
export function localInfo(srv: ThreadServer): ThreadInfo {
  srv.publishStats();
  let maxInput = 0;
  let maxOutput = 0;
  for (const c of srv.clients.values()) {
    if (c.parser.pendingBytes > maxInput) maxInput = c.parser.pendingBytes;
    const o = c.closed ? 0 : c.socket.writableLength;
    if (o > maxOutput) maxOutput = o;
  }
  return { threadId: srv.threadId, errors: [...errorCounts], maxInput, maxOutput };
}

/** CONFIG RESETSTAT on one thread: its counters and its share of the shared statistics. */
export function resetLocalStats(srv: ThreadServer): void {
  errorCounts.clear();
  const s = srv.store;
  s.expiredKeys = 0;
  s.keyspaceHits = 0;
  s.keyspaceMisses = 0;
  for (const f of [S_CONNECTIONS, S_COMMANDS, S_NET_IN, S_NET_OUT, S_REJECTED_CONN, S_EXPIRED, S_HITS, S_MISSES, S_ERRORS, S_EVICTED, S_PROTO_ERRORS, S_EVICTED_CLIENTS]) {
    srv.setStat(f, 0);
  }
  srv.setStat(S_PEAK_MEMORY, 0);
  // lazyfreed_objects is server-wide (lazyfreeResetStats).
  Atomics.store(s.i32, s.L.misc + M_LAZYFREED, 0);
}

/** Instantaneous rates, sampled by the worker timer (services.ts), as Redis's trackInstantaneousMetric. */
export const instMetrics = { ops: 0, inBytes: 0, outBytes: 0 };
const METRIC_SAMPLES = 16;
const metricRing: Float64Array[] = [new Float64Array(METRIC_SAMPLES), new Float64Array(METRIC_SAMPLES), new Float64Array(METRIC_SAMPLES)];
let metricIdx = 0;
let metricFill = 0;
let lastSample = { t: 0, ops: 0, inb: 0, outb: 0 };

/** Take one sample of the server-wide counters (at most every 100 ms). */
export function sampleMetrics(srv: ThreadServer): void {
  const t = performance.now();
  if (t - lastSample.t < 100) return;
  const ops = srv.sumStat(S_COMMANDS);
  const inb = srv.sumStat(S_NET_IN);
  const outb = srv.sumStat(S_NET_OUT);
  if (lastSample.t !== 0) {
    const dt = (t - lastSample.t) / 1000;
    metricRing[0][metricIdx] = Math.max(0, ops - lastSample.ops) / dt;
    metricRing[1][metricIdx] = Math.max(0, inb - lastSample.inb) / dt;
    metricRing[2][metricIdx] = Math.max(0, outb - lastSample.outb) / dt;
    metricIdx = (metricIdx + 1) % METRIC_SAMPLES;
    if (metricFill < METRIC_SAMPLES) metricFill++;
    const avg = (r: Float64Array): number => {
      let sum = 0;
      for (let i = 0; i < metricFill; i++) sum += r[i];
      return sum / metricFill;
    };
    instMetrics.ops = Math.round(avg(metricRing[0]));
    instMetrics.inBytes = avg(metricRing[1]);
    instMetrics.outBytes = avg(metricRing[2]);
  }
  lastSample = { t, ops, inb, outb };
  usedMemory(srv);
}

/** Sections other subsystems supply (persistence, replication): they replace the defaults here. */
export const infoSections = new Map<string, (srv: ThreadServer) => string>();


const DEFAULT_SECTIONS = ['server', 'clients', 'memory', 'persistence', 'stats', 'replication', 'cpu', 'modules', 'errorstats', 'cluster', 'keyspace'];
const ALL_SECTIONS = ['server', 'clients', 'memory', 'persistence', 'stats', 'replication', 'cpu', 'modules', 'commandstats', 'errorstats', 'latencystats', 'cluster', 'keyspace', 'threads'];
const TITLES: Record<string, string> = {
  server: 'Server', clients: 'Clients', memory: 'Memory', persistence: 'Persistence', stats: 'Stats',
  replication: 'Replication', cpu: 'CPU', modules: 'Modules', commandstats: 'Commandstats',
  errorstats: 'Errorstats', latencystats: 'Latencystats', cluster: 'Cluster', keyspace: 'Keyspace', threads: 'Threads',
};

/** Which sections an INFO call asks for, in Redis's output order. */
export function infoSectionsFor(args: string[]): string[] {
  const want = new Set<string>();
  if (args.length === 0) for (const s of DEFAULT_SECTIONS) want.add(s);
  for (const a of args) {
    const s = a.toLowerCase();
    if (s === 'default') for (const x of DEFAULT_SECTIONS) want.add(x);
    else if (s === 'all' || s === 'everything') for (const x of ALL_SECTIONS) want.add(x);
    else want.add(s);
  }
  return ALL_SECTIONS.filter((s) => want.has(s));
}

let runId = '';

function getRunId(): string {
  if (runId !== '') return runId;
  let start = '';
  try {
    start = String(fs.statSync('/proc/self').ctimeMs);
  } catch {
    start = String(Math.round(Date.now() / 1000 - process.uptime()));
  }
  runId = createHash('sha1').update(`${process.pid}:${start}`).digest('hex');
  return runId;
}

/** Redis's bytesToHuman. */
export function bytesToHuman(n: number): string {
  if (n < 1024) return `${n}B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(2)}K`;
  if (n < 1024 * 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(2)}M`;
  if (n < 1024 ** 4) return `${(n / 1024 ** 3).toFixed(2)}G`;
  if (n < 1024 ** 5) return `${(n / 1024 ** 4).toFixed(2)}T`;
  return `${(n / 1024 ** 5).toFixed(2)}P`;
}

function lines(fields: Array<[string, string | number]>): string {
  let s = '';
  for (const [k, v] of fields) s += `${k}:${v}\r\n`;
  return s;
}

/** Keyspace heap in use plus the fixed shared tables (slot directory, locks, WATCH counters...),
 *  which play the part of Redis's startup memory. */
export function usedMemory(srv: ThreadServer): number {
  const cm = clientsMemory(srv);
  const used = srv.store.fixedBytesInUse() + srv.store.heap.usedBytes() + cm.normal + cm.replicas;
  if (used > srv.stat(S_PEAK_MEMORY)) srv.setStat(S_PEAK_MEMORY, used);
  return used;
}

/** used_memory_peak: the most any thread saw, each sampling at its cron (hz) and at INFO, as
 *  Redis's serverCron and INFO update stat_peak_memory. Call after usedMemory(). */
export function peakMemory(srv: ThreadServer): number {
  let peak = 0;
  for (let t = 1; t <= srv.threads; t++) {
    const v = srv.statOf(t, S_PEAK_MEMORY);
    if (v > peak) peak = v;
  }
  return peak;
}

function sectionServer(srv: ThreadServer): string {
  const now = Date.now();
  const up = Math.floor((now - srv.startTime) / 1000);
  const arch = os.arch() === 'x64' ? 'x86_64' : os.arch() === 'arm64' ? 'aarch64' : os.arch();
  const shutdownAt = pget(srv.store, P_SHUTDOWN_AT);
  return lines([
    ['redis_version', REDIS_VERSION],
    ['shardis_version', SHARDIS_VERSION],
    ['redis_git_sha1', '00000000'],
    ['redis_git_dirty', 0],
    ['redis_build_id', '0'],
    ['redis_mode', 'standalone'],
    ['os', `${os.type()} ${os.release()} ${arch}`],
    ['arch_bits', 64],
    ['monotonic_clock', 'POSIX clock_gettime'],
    ['multiplexing_api', 'epoll'],
    ['atomicvar_api', 'c11-builtin'],
    ['gcc_version', '0.0.0'],
    ['process_id', process.pid],
    ['process_supervised', srv.supervised],
    ['run_id', getRunId()],
    ['tcp_port', srv.config.num('port')],
    ['server_time_usec', now * 1000],
    ['uptime_in_seconds', up],
    ['uptime_in_days', Math.floor(up / 86400)],
    ['hz', srv.config.num('hz')],
    ['configured_hz', srv.config.num('hz')],
    ['lru_clock', Math.floor(now / 1000) & 0xffffff],
    ['executable', srv.executable],
    ['config_file', configFile(srv)],
    ['io_threads_active', 0],
    // Only while a shutdown waits for lagging replicas.
    ...(shutdownAt !== 0 ? [['shutdown_in_milliseconds', Math.max(0, shutdownAt - now)] as [string, number]] : []),
  ]);
}

function configFile(srv: ThreadServer): string {
  return srv.config.configFile ?? '';
}

function sectionClients(srv: ThreadServer, infos: ThreadInfo[]): string {
  let maxIn = 0;
  let maxOut = 0;
  for (const t of infos) {
    maxIn = Math.max(maxIn, t.maxInput);
    maxOut = Math.max(maxOut, t.maxOutput);
  }
  return lines([
    // Replicas are not counted (listLength(server.clients) - listLength(server.slaves)).
    ['connected_clients', srv.sumStat(S_CLIENTS) - replicaCount(srv.store)],
    ['cluster_connections', 0],
    ['maxclients', srv.config.num('maxclients')],
    ['client_recent_max_input_buffer', maxIn],
    ['client_recent_max_output_buffer', maxOut],
    ['blocked_clients', srv.sumStat(S_BLOCKED)],
    ['tracking_clients', trackingClients(srv.store)],
    ['clients_in_timeout_table', 0],
  ]);
}

function ratio(a: number, b: number): string {
  return b === 0 ? '0.00' : (a / b).toFixed(2);
}

function sectionMemory(srv: ThreadServer): string {
  const used = usedMemory(srv);
  const peak = peakMemory(srv);
  const mem = process.memoryUsage();
  const rss = mem.rss;
  const maxmemory = srv.config.num('maxmemory');
  const startup = srv.store.fixedBytesInUse();
  const total = os.totalmem();
  // Scripting: this thread's Lua state (every thread has one) and the shared registry's bodies.
  const eng = scriptEngine(srv);
  // The server's libraries, which this thread may not have picked up yet (functions.ts).
  syncLibraries(srv);
  const luaMem = eng.memory();
  let scriptsMem = 0;
  for (const [sha, e] of eng.scripts) scriptsMem += sha.length + e.body.length + 64;
  let fnMem = 0;
  for (const l of eng.libraries.values()) fnMem += l.code.length + l.functions.length * 64;
  return lines([
    ['used_memory', used],
    ['used_memory_human', bytesToHuman(used)],
    ['used_memory_rss', rss],
    ['used_memory_rss_human', bytesToHuman(rss)],
    ['used_memory_peak', peak],
    ['used_memory_peak_human', bytesToHuman(peak)],
    ['used_memory_peak_perc', `${peak === 0 ? '100.00' : ((used / peak) * 100).toFixed(2)}%`],
    ['used_memory_overhead', startup],
    ['used_memory_startup', startup],
    ['used_memory_dataset', used - startup],
    // Of the net usage (used minus startup), all of which is keyspace here.
    ['used_memory_dataset_perc', used > startup ? '100.00%' : '0.00%'],
    ['allocator_allocated', used],
    ['allocator_active', srv.store.heap.topBytes()],
    ['allocator_resident', rss],
    ['total_system_memory', total],
    ['total_system_memory_human', bytesToHuman(total)],
    ['used_memory_lua', luaMem],
    ['used_memory_vm_eval', luaMem],
    ['used_memory_lua_human', bytesToHuman(luaMem)],
    ['used_memory_scripts_eval', scriptsMem],
    ['number_of_cached_scripts', eng.scripts.size],
    ['number_of_functions', eng.functions.size],
    ['number_of_libraries', eng.libraries.size],
    ['used_memory_vm_functions', 0],
    ['used_memory_vm_total', luaMem],
    ['used_memory_vm_total_human', bytesToHuman(luaMem)],
    ['used_memory_functions', fnMem],
    ['used_memory_scripts', scriptsMem + fnMem],
    ['used_memory_scripts_human', bytesToHuman(scriptsMem + fnMem)],
    ['maxmemory', maxmemory],
    ['maxmemory_human', bytesToHuman(maxmemory)],
    ['maxmemory_policy', srv.config.str('maxmemory-policy')],
    ['allocator_frag_ratio', ratio(srv.store.heap.topBytes(), used)],
    ['allocator_frag_bytes', Math.max(0, srv.store.heap.topBytes() - used)],
    ['allocator_rss_ratio', ratio(rss, srv.store.heap.topBytes())],
    ['allocator_rss_bytes', rss - srv.store.heap.topBytes()],
    ['rss_overhead_ratio', '1.00'],
    ['rss_overhead_bytes', 0],
    ['mem_fragmentation_ratio', ratio(rss, used)],
    ['mem_fragmentation_bytes', rss - used],
    ['mem_not_counted_for_evict', clientsMemory(srv).replicas + srv.store.snapshotHeldBytes() + inboxBytes(srv.store)],
    ['mem_replication_backlog', rget(srv.store, R_BACKLOG_ACTIVE) === 1 ? srv.config.num('repl-backlog-size') : 0],
    ['mem_total_replication_buffers', replicationBufferBytes(srv.store, srv.config.num('repl-backlog-size'))],
    ['mem_clients_slaves', clientsMemory(srv).replicas],
    ['mem_clients_normal', clientsMemory(srv).normal],
    ['mem_cluster_links', 0],
    ['mem_aof_buffer', 0],
    ['mem_allocator', 'shardis'],
    // How close the keyspace heap is to full: writes are refused (OOM) near heap_capacity, as
    // past maxmemory; heap_reserved is its address range (running commands may pass the capacity).
    ['heap_capacity', srv.store.heap.capacity],
    ['heap_capacity_human', bytesToHuman(srv.store.heap.capacity)],
    ['heap_reserved', srv.store.heap.hardLimit - srv.store.heap.base],
    ['heap_used_perc', `${(srv.store.heap.fullness() * 100).toFixed(2)}%`],
    ['active_defrag_running', 0],
    ['lazyfree_pending_objects', srv.misc(M_LAZYFREE_PENDING)],
    ['lazyfreed_objects', srv.misc(M_LAZYFREED)],
  ]);
}

function sectionPersistence(srv: ThreadServer): string {
  const st = srv.store;
  const loading = srv.misc(M_LOADING) !== 0;
  const asyncLoading = srv.misc(M_ASYNC_LOADING) !== 0;
  const bgStart = pget(st, P_BGSAVE_START);
  const saving = bgStart > 0;
  const loadingLines: Array<[string, string | number]> = [];
  if (loading || asyncLoading) {
    // rdbLoadProgress-style progress, as INFO shows while loading.
    const start = pget(st, P_LOADING_START);
    const total = pget(st, P_LOADING_TOTAL);
    const loaded = pget(st, P_LOADING_LOADED);
    const elapsed = Math.max(0, Math.floor(Date.now() / 1000) - start);
    const perc = total > 0 ? (loaded / total) * 100 : 0;
    const eta = loaded > 0 ? Math.floor(((total - loaded) / (loaded / Math.max(1, elapsed)))) : 1;
    loadingLines.push(
      ['loading_start_time', start], ['loading_total_bytes', total], ['loading_rdb_used_mem', 0],
      ['loading_loaded_bytes', loaded], ['loading_loaded_perc', perc.toFixed(2)], ['loading_eta_seconds', eta],
    );
  }
  return lines([
    ['loading', loading ? 1 : 0],
    ['async_loading', asyncLoading ? 1 : 0],
    // No fork: "copy on write" is what writers copied into the running snapshot so far (as a
    // fork child's private pages it only grows during a save; what is still held, waiting for
    // its place in the file, is at most that: its peak is logged when the save ends).
    ['current_cow_peak', saving ? pget(st, P_COW_NOW) : 0],
    ['current_cow_size', saving ? pget(st, P_COW_NOW) : 0],
    ['current_cow_size_age', 0],
    ['current_fork_perc', saving && pget(st, P_KEYS_TOTAL) > 0 ? ((pget(st, P_KEYS_PROCESSED) / pget(st, P_KEYS_TOTAL)) * 100).toFixed(2) : '0.00'],
    ['current_save_keys_processed', pget(st, P_KEYS_PROCESSED)],
    ['current_save_keys_total', pget(st, P_KEYS_TOTAL)],
    ['rdb_changes_since_last_save', Math.max(0, srv.sumStat(S_DIRTY) - pget(st, P_DIRTY_AT_SAVE))],
    ['rdb_bgsave_in_progress', pget(st, P_BGSAVE_IN_PROGRESS)],
    ['rdb_last_save_time', pget(st, P_LAST_SAVE)],
    ['rdb_last_bgsave_status', pget(st, P_LAST_BGSAVE_OK) === 1 ? 'ok' : 'err'],
    ['rdb_last_bgsave_time_sec', pget(st, P_LAST_BGSAVE_TIME)],
    ['rdb_current_bgsave_time_sec', bgStart > 0 && pget(st, P_BGSAVE_IN_PROGRESS) === 1 ? Math.floor((Date.now() - bgStart) / 1000) : -1],
    ['rdb_saves', pget(st, P_SAVES)],
    ['rdb_last_cow_size', pget(st, P_LAST_COW)],
    ['rdb_last_load_keys_expired', pget(st, P_LOAD_EXPIRED)],
    ['rdb_last_load_keys_loaded', pget(st, P_LOAD_LOADED)],
    ...aofInfoLines(srv),
    ['module_fork_in_progress', 0],
    ['module_fork_last_cow_size', 0],
    ...loadingLines,
  ]);
}

function sectionStats(srv: ThreadServer): string {
  return lines([
    ['total_connections_received', srv.sumStat(S_CONNECTIONS)],
    ['total_commands_processed', srv.sumStat(S_COMMANDS)],
    ['instantaneous_ops_per_sec', instMetrics.ops],
    ['total_net_input_bytes', srv.sumStat(S_NET_IN)],
    ['total_net_output_bytes', srv.sumStat(S_NET_OUT)],
    ['total_net_repl_input_bytes', rget(srv.store, R_NET_REPL_IN)],
    ['total_net_repl_output_bytes', rget(srv.store, R_NET_REPL_OUT)],
    ['instantaneous_input_kbps', (instMetrics.inBytes / 1024).toFixed(2)],
    ['instantaneous_output_kbps', (instMetrics.outBytes / 1024).toFixed(2)],
    ['instantaneous_input_repl_kbps', '0.00'],
    ['instantaneous_output_repl_kbps', '0.00'],
    ['rejected_connections', srv.sumStat(S_REJECTED_CONN)],
    ['sync_full', rget(srv.store, R_SYNC_FULL)],
    ['sync_partial_ok', rget(srv.store, R_SYNC_PARTIAL_OK)],
    ['sync_partial_err', rget(srv.store, R_SYNC_PARTIAL_ERR)],
    ['expired_keys', srv.sumStat(S_EXPIRED)],
    ['expired_stale_perc', '0.00'],
    ['expired_time_cap_reached_count', 0],
    ['expire_cycle_cpu_milliseconds', 0],
    ['evicted_keys', srv.sumStat(S_EVICTED)],
    ['evicted_clients', srv.sumStat(S_EVICTED_CLIENTS)],
    ['total_eviction_exceeded_time', 0],
    ['current_eviction_exceeded_time', 0],
    ['keyspace_hits', srv.sumStat(S_HITS)],
    ['keyspace_misses', srv.sumStat(S_MISSES)],
    ['pubsub_channels', srv.sumStat(S_PUBSUB_CHANNELS)],
    ['pubsub_patterns', srv.sumStat(S_PUBSUB_PATTERNS)],
    ['pubsubshard_channels', srv.pubsub.registry.shardChannels()],
    ['latest_fork_usec', pget(srv.store, P_FORK_USEC)],
    ['total_forks', pget(srv.store, P_FORKS)],
    ['migrate_cached_sockets', Atomics.load(srv.store.i32, srv.store.L.misc + MISC_MIGRATE_SOCKETS)],
    ['slave_expires_tracked_keys', 0],
    ['active_defrag_hits', 0],
    ['active_defrag_misses', 0],
    ['active_defrag_key_hits', 0],
    ['active_defrag_key_misses', 0],
    ['total_active_defrag_time', 0],
    ['current_active_defrag_time', 0],
    ['tracking_total_keys', trackingTotalKeys(srv.store)],
    ['tracking_total_items', trackingTotalItems(srv.store)],
    ['tracking_total_prefixes', trackingTotalPrefixes(srv.store)],
    ['unexpected_error_replies', 0],
    ['total_error_replies', srv.sumStat(S_ERRORS)],
    ['dump_payload_sanitizations', 0],
    ['total_reads_processed', srv.sumStat(S_COMMANDS)],
    ['total_writes_processed', srv.sumStat(S_COMMANDS)],
    ['io_threaded_reads_processed', 0],
    ['io_threaded_writes_processed', 0],
    ['reply_buffer_shrinks', 0],
    ['reply_buffer_expands', 0],
  ]);
}

function sectionReplication(srv: ThreadServer): string {
  return infoReplication(srv, srv.prop.stream);
}

function sectionCpu(): string {
  const u = process.cpuUsage();
  const sys = (u.system / 1e6).toFixed(6);
  const user = (u.user / 1e6).toFixed(6);
  return lines([
    ['used_cpu_sys', sys],
    ['used_cpu_user', user],
    ['used_cpu_sys_children', '0.000000'],
    ['used_cpu_user_children', '0.000000'],
    ['used_cpu_sys_main_thread', sys],
    ['used_cpu_user_main_thread', user],
  ]);
}

function sectionCommandstats(srv: ThreadServer): string {
  let s = '';
  for (const st of commandStats(srv.store.f64, srv.threads)) {
    const usec = Math.round(st.usec);
    const per = st.calls === 0 ? 0 : usec / st.calls;
    s += `cmdstat_${st.name}:calls=${st.calls},usec=${usec},usec_per_call=${per.toFixed(2)},rejected_calls=${st.rejected},failed_calls=${st.failed}\r\n`;
  }
  return s;
}

function sectionLatencystats(srv: ThreadServer): string {
  if (!srv.config.bool('latency-tracking')) return '';
  const percentiles = srv.config.str('latency-tracking-info-percentiles').split(' ').filter((p) => p !== '');
  let s = '';
  const visit = (spec: CommandSpec): void => {
    const h = commandHistogram(srv.store, spec.statIndex as number);
    if (h === null) return;
    s += `latency_percentiles_usec_${spec.fullName as string}:`;
    s += percentiles.map((p) => `p${p}=${(valueAtPercentile(h, Number(p)) / 1000).toFixed(3)}`).join(',');
    s += '\r\n';
  };
  for (const spec of allCommands) {
    visit(spec);
    for (const sub of spec.subcommands ?? []) visit(sub);
  }
  return s;
}

function sectionErrorstats(infos: ThreadInfo[]): string {
  const total = new Map<string, number>();
  for (const t of infos) for (const [code, n] of t.errors) total.set(code, (total.get(code) ?? 0) + n);
  let s = '';
  for (const [code, n] of total) s += `errorstat_${code}:count=${n}\r\n`;
  return s;
}

function sectionKeyspace(srv: ThreadServer): string {
  let s = '';
  for (let db = 0; db < srv.store.dbs; db++) {
    const keys = srv.store.dbSize(db);
    if (keys === 0) continue;
    s += `db${db}:keys=${keys},expires=${srv.store.volatileCount(db)},avg_ttl=0\r\n`;
  }
  return s;
}

function sectionThreads(srv: ThreadServer): string {
  // unread_fence: whether this thread sees input other threads have not read (arrival.ts); how
  // many of its commands waited for such input, how many of those waits the bound cut short, and
  // how many commands went unfenced because the thread had spent its fence time for that second,
  // and the time spent in it.
  const [waits, late, skipped, usec] = unreadFenceStats();
  let s = `threads:${srv.threads}\r\nthis_thread:${srv.threadId}\r\n` +
    `unread_fence:${unreadFenceOn() ? 1 : 0}\r\nunread_fence_waits:${waits}\r\nunread_fence_late:${late}\r\n` +
    `unread_fence_skipped:${skipped}\r\nunread_fence_usec:${usec}\r\n`;
  const f = srv.store.f64;
  const base = srv.store.L.stats;
  for (let t = 1; t <= srv.threads; t++) {
    const at = base + t * STAT_FIELDS;
    s +=
      `thread_${t}:clients=${f[at + S_CLIENTS]},commands=${f[at + S_COMMANDS]},connections=${f[at + S_CONNECTIONS]}` +
      `,net_input_bytes=${f[at + S_NET_IN]},net_output_bytes=${f[at + S_NET_OUT]},errors=${f[at + S_ERRORS]}` +
      `,blocked=${f[at + S_BLOCKED]},watching=${f[at + S_WATCHING]}\r\n`;
  }
  return s;
}

/** The INFO text for these sections, given every thread's ThreadInfo. */
export function genInfo(srv: ThreadServer, sections: string[], infos: ThreadInfo[]): string {
  srv.publishStats();
  let out = '';
  for (const name of sections) {
    let body: string;
    const custom = infoSections.get(name);
    if (custom !== undefined) body = custom(srv);
    else {
      switch (name) {
        case 'server': body = sectionServer(srv); break;
        case 'clients': body = sectionClients(srv, infos); break;
        case 'memory': body = sectionMemory(srv); break;
        case 'persistence': body = sectionPersistence(srv); break;
        case 'stats': body = sectionStats(srv); break;
        case 'replication': body = sectionReplication(srv); break;
        case 'cpu': body = sectionCpu(); break;
        case 'modules': body = ''; break;
        case 'commandstats': body = sectionCommandstats(srv); break;
        case 'errorstats': body = sectionErrorstats(infos); break;
        case 'latencystats': body = sectionLatencystats(srv); break;
        case 'cluster': body = 'cluster_enabled:0\r\n'; break;
        case 'keyspace': body = sectionKeyspace(srv); break;
        case 'threads': body = sectionThreads(srv); break;
        default: continue;
      }
    }
    if (out !== '') out += '\r\n';
    out += `# ${TITLES[name]}\r\n${body}`;
  }
  return out;
}

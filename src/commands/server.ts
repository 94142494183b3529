// Server commands: PING, ECHO, QUIT, SELECT, DEBUG, INFO, COMMAND, CONFIG, TIME, SHUTDOWN,
// LASTSAVE, SLOWLOG, MEMORY, ROLE. Connection commands (HELLO, AUTH, CLIENT...) are in connection.ts.
import { M_DISABLE_DENY_SCRIPTS } from '../scripting/engine';
import { startMonitor } from '../server/monitor';
import type { CommandSpec } from './types';
import type { Client } from '../server/client';
import { container, def } from './def';
import { E_DB_INDEX, E_SYNTAX, E_NOT_INT, is, parseIntArg, parseI64, cstr } from './args';
import { liveCommands, commandByName, commandKeys, resolveSubcommand, resetCommandStats } from './registry';
import { acrossThreads, writeHelp } from './connection';
import { replyLater } from './deferred';
import { genInfo, infoSectionsFor, bytesToHuman, peakMemory, usedMemory, type ThreadInfo } from '../server/info';
import { pget, pset, P_FORKS, P_FORK_USEC, P_LAST_SAVE, P_SAVES } from '../persistence/state';
import { viaMain } from './persist';
import type { SlowlogEntry } from '../server/services';
import { debugSleepUntil } from '../server/services';
import { globMatchStr } from '../config/glob';
import { COMMAND_META } from './command-meta';
import { aclCategories, hasKeys, keyFlagsAt, keySpecs, variableKeyFlags } from './spec-meta';
import { Store, T_STRING } from '../store/keyspace';
import { classSize } from '../store/heap';
import { M_ASYNC_LOADING, M_LAZYFREE_PENDING, M_LOADING, M_NO_ACTIVE_EXPIRE, M_PAUSE_CRON, M_SKIP_CHECKSUM, S_BLOCKED } from '../server/context';
import { aofShared, A_FLUSH_SLEEP_US, F_DELAYED_FSYNC, F_REWRITES, F_REWRITE_FAILURES } from '../persistence/aof-state';
import { log } from '../server/log';
import { canRebind, rebindTcp } from '../server/listeners';
import { evictClientsEverywhere } from '../server/client-mem';
import { performance as perf } from 'perf_hooks';
import { resetHistograms } from '../server/latency';
import { debugDigest, debugDigestValue, debugObject } from './digest';
import { keyMemoryUsage } from '../store/memory-usage';
import { roleReply, rset, R_NET_REPL_IN, R_NET_REPL_OUT, R_SYNC_FULL, R_SYNC_PARTIAL_ERR, R_SYNC_PARTIAL_OK } from '../replication/state';
import { debugReplicate } from '../replication/master';
import { debugChangeReplId, debugHtstats, debugHtstatsKey, debugPanic, debugQuicklistPackedThreshold, debugSegfault } from './debug';

function ping(c: Client, argv: Buffer[]): void {
  if (argv.length > 2) return c.w.error("ERR wrong number of arguments for 'ping' command");
  const sub = c.subscriptions + c.psubscriptions + c.ssubscriptions > 0 && c.resp === 2;
  if (sub) {
    c.w.array(2);
    c.w.bulkStr('pong');
    if (argv.length === 2) c.w.bulk(argv[1]);
    else c.w.bulkStr('');
    return;
  }
  if (argv.length === 2) c.w.bulk(argv[1]);
  else c.w.simple('PONG');
}

function echo(c: Client, argv: Buffer[]): void {
  c.w.bulk(argv[1]);
}

function quit(c: Client): void {
  c.w.ok();
  c.closeAfterReply();
}

function select(c: Client, argv: Buffer[]): void {
  const n = parseIntArg(argv[1]);
  if (n === null) return c.w.error('ERR value is not an integer or out of range');
  if (n < 0 || n >= c.store.dbs) return c.w.error(E_DB_INDEX);
  c.db = n;
  c.w.ok();
}

/** DEBUG CHECK walks every shared structure under all slot locks (tests run it after suites). */
function debug(c: Client, argv: Buffer[]): void {
  const sub = argv[1];
  if (is(sub, 'check')) {
    const problems: string[] = [];
    // The main thread frees what UNLINK and FLUSHALL ASYNC handed it without slot locks: while it
    // has some, the heap's byte counts cannot add up at one instant.
    c.store.check(problems, Atomics.load(c.store.i32, c.store.L.misc + M_LAZYFREE_PENDING) === 0);
    if (problems.length === 0) return c.w.ok();
    return c.w.error(`ERR structure check failed: ${problems.slice(0, 20).join('; ')}`);
  }
  // THREAD-SLEEP (shardis only, for tests that place clients on threads): this thread alone.
  if ((is(sub, 'sleep') || is(sub, 'thread-sleep')) && argv.length === 3) {
    const secs = Number(argv[2].toString());
    // The monotonic clock: Date.now()'s whole milliseconds could end the wait up to 1 ms short,
    // and Redis's usleep never sleeps less than asked (LATENCY samples of it are compared).
    const until = perf.now() + secs * 1000;
    // Redis stops serving altogether: every other thread sleeps too (tests time links out this way).
    if (secs > 0 && is(sub, 'sleep')) {
      debugSleepUntil(c.store, Date.now() + secs * 1000);
      void c.srv.broadcast({ op: 'debug-sleep', args: [c.srv.threadId] });
    }
    while (perf.now() < until) { /* DEBUG SLEEP blocks the thread, as in Redis */ }
    return c.w.ok();
  }
  if (is(sub, 'set-active-expire') && argv.length === 3) {
    // Like Redis's atoi: a leading integer, anything else is 0.
    const on = parseInt(argv[2].toString(), 10);
    Atomics.store(c.store.i32, c.store.L.misc + M_NO_ACTIVE_EXPIRE, on ? 0 : 1);
    return c.w.ok();
  }
  if (is(sub, 'pause-cron') && argv.length === 3) {
    Atomics.store(c.store.i32, c.store.L.misc + M_PAUSE_CRON, parseInt(argv[2].toString(), 10) ? 1 : 0);
    return c.w.ok();
  }
  if (is(sub, 'oom-inject') && argv.length === 3 && is(argv[2], 'last')) return c.w.int(c.store.heap.lastInjectedAllocs);
  if (is(sub, 'oom-inject') && (argv.length === 3 || argv.length === 4)) {
    // Tests: the next command's Nth allocation finds the heap full. RESERVE (default): it goes on
    // within its reserve, as past the heap's capacity; HARD: that allocation and every later one
    // of the command fail.
    const n = parseInt(argv[2].toString(), 10);
    const hard = argv.length === 4 && is(argv[3], 'hard');
    if (!(n >= 1) || (argv.length === 4 && !hard && !is(argv[3], 'reserve'))) return c.w.error(E_SYNTAX);
    c.store.heap.armInjection(n, hard);
    return c.w.ok();
  }
  if (is(sub, 'replybuffer') && argv.length === 4) {
    // Redis's arguments and errors. Replies are built in the thread's writer, not in a reply
    // buffer per client (rbs stays 1024): there is no peak to reset and nothing to resize.
    if (is(argv[2], 'peak-reset-time')) {
      if (!is(argv[3], 'never') && !is(argv[3], 'reset') && parseI64(argv[3]) === null) return c.w.error('ERR value is not an integer or out of range');
    } else if (!is(argv[2], 'resizing')) {
      return c.w.error(`ERR unknown subcommand or wrong number of arguments for '${cstr(sub)}'. Try DEBUG HELP.`);
    }
    return c.w.ok();
  }
  if (is(sub, 'set-skip-checksum-validation') && argv.length === 3) {
    Atomics.store(c.store.i32, c.store.L.misc + M_SKIP_CHECKSUM, parseInt(argv[2].toString(), 10) ? 1 : 0);
    return c.w.ok();
  }
  if (is(sub, 'set-disable-deny-scripts') && argv.length === 3) {
    // Lets scripts call commands flagged noscript (tests use it); server-wide.
    Atomics.store(c.store.i32, c.store.L.misc + M_DISABLE_DENY_SCRIPTS, parseInt(argv[2].toString(), 10) ? 1 : 0);
    return c.w.ok();
  }
  if (is(sub, 'error') && argv.length === 3) {
    // The argument is the whole error line, code included ("LOADING fake"), for clients' tests.
    // Written as it is (CR/LF as spaces): like Redis's addReplySds, not counted in errorstats.
    const e = Buffer.allocUnsafe(argv[2].length + 3);
    e[0] = 0x2d;
    for (let i = 0; i < argv[2].length; i++) e[i + 1] = argv[2][i] === 13 || argv[2][i] === 10 ? 0x20 : argv[2][i];
    e[e.length - 2] = 13;
    e[e.length - 1] = 10;
    return c.w.rawBytes(e);
  }
  if (is(sub, 'digest-value')) return debugDigestValue(c, argv);
  if (is(sub, 'digest') && argv.length === 2) return debugDigest(c);
  if (is(sub, 'object') && argv.length === 3) return debugObject(c, argv);
  if (is(sub, 'protocol') && argv.length === 3) return debugProtocol(c, argv[2]);
  if (is(sub, 'reload')) {
    // DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: save, empty, load again (on the main thread).
    let save = true;
    let merge = false;
    let noflush = false;
    for (let j = 2; j < argv.length; j++) {
      if (is(argv[j], 'merge')) merge = true;
      else if (is(argv[j], 'noflush')) noflush = true;
      else if (is(argv[j], 'nosave')) save = false;
      else return c.w.error('ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.');
    }
    return viaMain(c, 'reload', [save, merge, noflush], (c, r) => (r === null ? c.w.ok() : c.w.error(`ERR ${r as string}`)));
  }
  if (is(sub, 'aof-flush-sleep') && argv.length === 3) {
    // Microseconds the AOF writer sleeps before each write (a slow disk, for tests).
    aofShared()?.set(A_FLUSH_SLEEP_US, Math.max(0, parseInt(argv[2].toString(), 10) || 0));
    return c.w.ok();
  }
  if (is(sub, 'loadaof') && argv.length === 2) {
    // Flush the AOF, empty the dataset, load the AOF again (on the main thread; exits on failure).
    return viaMain(c, 'loadaof', [], (c) => c.w.ok());
  }
  if (is(sub, 'populate') && argv.length >= 3 && argv.length <= 5) return debugPopulate(c, argv);
  if (is(sub, 'htstats') && argv.length === 3) return debugHtstats(c, argv);
  if (is(sub, 'htstats-key') && argv.length === 3) return debugHtstatsKey(c, argv);
  if (is(sub, 'quicklist-packed-threshold') && argv.length === 3) return debugQuicklistPackedThreshold(c, argv);
  if (is(sub, 'change-repl-id') && argv.length === 2) return debugChangeReplId(c);
  if (is(sub, 'config-rewrite-force-all') && argv.length === 2) return debugConfigRewriteForceAll(c);
  if (is(sub, 'replicate') && argv.length >= 3) return debugReplicate(c, argv);
  if (is(sub, 'segfault')) return debugSegfault();
  if (is(sub, 'panic')) return debugPanic(c);
  if (is(sub, 'help') && argv.length === 2) return writeHelp(c, DEBUG_HELP);
  if (is(sub, 'log') && argv.length === 3) {
    log('warning', `DEBUG LOG: ${argv[2].toString()}`);
    return c.w.ok();
  }
  c.w.error(`ERR unknown subcommand or wrong number of arguments for '${cstr(sub)}'. Try DEBUG HELP.`);
}

/**
 * DEBUG POPULATE count [prefix] [size] (debug.c): keys prefix:0.. with values value:N (cut or
 * zero-padded to size), skipping keys that exist. Every slot is locked. Like Redis's dbAdd
 * here, it counts no changes for the save rules.
 */
function debugPopulate(c: Client, argv: Buffer[]): void {
  if (argv.length < 3 || argv.length > 5) return c.w.error(E_SYNTAX);
  const n = parseI64(argv[2]);
  if (n === null || n < 0n) return c.w.error('ERR value is out of range, must be positive');
  let size = 0;
  if (argv.length === 5) {
    const v = parseI64(argv[4]);
    if (v === null || v < 0n) return c.w.error('ERR value is out of range, must be positive');
    size = Number(v);
  }
  const prefix = argv.length >= 4 ? argv[3].toString('latin1') : 'key';
  const s = c.store;
  const dirty = s.dirty;
  for (let j = 0; j < Number(n); j++) {
    const key = Buffer.from(`${prefix}:${j}`, 'latin1');
    if (s.find(c.db, key) !== 0) continue;
    let val = Buffer.from(`value:${j}`, 'latin1');
    if (size > 0) {
      const v = Buffer.alloc(size);
      val.copy(v, 0, 0, Math.min(size, val.length));
      val = v;
    }
    s.setString(c.db, key, val, Store.stringEncoding(val), 0, false);
  }
  s.dirty = dirty;
  c.w.ok();
}

// Redis's text for the subcommands shardis has (CHECK is shardis's own).
const DEBUG_HELP = [
  'DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'AOF-FLUSH-SLEEP <microsec>',
  '    Server will sleep before flushing the AOF, this is used for testing.',
  'CHANGE-REPL-ID',
  '    Change the replication IDs of the instance.',
  '    Dangerous: should be used only for testing the replication subsystem.',
  'CONFIG-REWRITE-FORCE-ALL',
  '    Like CONFIG REWRITE but writes all configuration options, including',
  '    keywords not listed in original configuration file or default values.',
  'CHECK',
  '    Walk every shared structure and report inconsistencies (shardis).',
  'DIGEST',
  '    Output a hex signature representing the current DB content.',
  'DIGEST-VALUE <key> [<key> ...]',
  '    Output a hex signature of the values of all the specified keys.',
  'ERROR <string>',
  '    Return a Redis protocol error with <string> as message. Useful for clients',
  '    unit tests to simulate Redis errors.',
  'HTSTATS <dbid>',
  '    Return hash table statistics of the specified Redis database.',
  'HTSTATS-KEY <key>',
  '    Like HTSTATS but for the hash table stored at <key>\'s value.',
  'LOG <message>',
  '    Write <message> to the server log.',
  'LOADAOF',
  '    Flush the AOF buffers on disk and reload the AOF in memory.',
  'OBJECT <key>',
  '    Show low level info about the <key> and associated value.',
  'PANIC',
  '    Crash the server simulating a panic.',
  'POPULATE <count> [<prefix>] [<size>]',
  '    Create <count> string keys named key:<num>. If <prefix> is specified then',
  '    it is used instead of the \'key\' prefix. These are not propagated to',
  '    replicas. Cluster slots are not respected so keys not belonging to the',
  '    current node can be created in cluster mode.',
  'PROTOCOL <type>',
  '    Reply with a test value of the specified type. <type> can be: string,',
  '    integer, double, bignum, null, array, set, map, attrib, push, verbatim,',
  '    true, false.',
  'RELOAD [option ...]',
  '    Save the RDB on disk and reload it back to memory. Valid <option> values:',
  '    * MERGE: conflicting keys will be loaded from RDB.',
  '    * NOFLUSH: the existing database will not be removed before load, but',
  '      conflicting keys will generate an exception and kill the server.',
  '    * NOSAVE: the database will be loaded from an existing RDB file.',
  '    Examples:',
  '    * DEBUG RELOAD: verify that the server is able to persist, flush and reload',
  '      the database.',
  '    * DEBUG RELOAD NOSAVE: replace the current database with the contents of an',
  '      existing RDB file.',
  '    * DEBUG RELOAD NOSAVE NOFLUSH MERGE: add the contents of an existing RDB',
  '      file to the database.',
  'QUICKLIST-PACKED-THRESHOLD <size>',
  '    Sets the threshold for elements to be inserted as plain vs packed nodes',
  '    Default value is 1GB, allows values up to 4GB. Setting to 0 restores to default.',
  'PAUSE-CRON <0|1>',
  '    Stop periodic cron job processing.',
  'REPLYBUFFER PEAK-RESET-TIME <NEVER||RESET|time>',
  '    Sets the time (in milliseconds) to wait between client reply buffer peak resets.',
  '    In case NEVER is provided the last observed peak will never be reset',
  '    In case RESET is provided the peak reset time will be restored to the default value',
  'REPLYBUFFER RESIZING <0|1>',
  '    Enable or disable the reply buffer resize cron job',
  'REPLICATE <string>',
  '    Replicates the provided string to replicas, allowing data divergence.',
  'SEGFAULT',
  '    Crash the server with sigsegv.',
  'SET-ACTIVE-EXPIRE <0|1>',
  '    Setting it to 0 disables expiring keys in background when they are not',
  '    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the',
  '    default.',
  'SET-SKIP-CHECKSUM-VALIDATION <0|1>',
  "    Enables or disables checksum checks for RDB files and RESTORE's payload.",
  'SLEEP <seconds>',
  '    Stop the server for <seconds>. Decimals allowed.',
];

/** DEBUG PROTOCOL <type>: one reply of each RESP3 type, for client tests (debug.c). */
function debugProtocol(c: Client, type: Buffer): void {
  const w = c.w;
  const resp3 = c.resp === 3;
  if (is(type, 'string')) return w.bulkStr('Hello World');
  if (is(type, 'integer')) return w.int(12345);
  if (is(type, 'double')) return w.double(3.141);
  if (is(type, 'bignum')) {
    const n = '1234567999999999999999999999999999999';
    return resp3 ? w.raw(`(${n}\r\n`) : w.bulkStr(n);
  }
  if (is(type, 'null')) return w.nil();
  if (is(type, 'array') || is(type, 'set')) {
    if (is(type, 'array')) w.array(3);
    else w.set(3);
    for (let j = 0; j < 3; j++) w.int(j);
    return;
  }
  if (is(type, 'map')) {
    w.map(3);
    for (let j = 0; j < 3; j++) {
      w.int(j);
      w.bool(j === 1);
    }
    return;
  }
  if (is(type, 'attrib')) {
    // Attributes are not replies: a real one follows.
    if (resp3) {
      w.raw('|1\r\n');
      w.bulkStr('key-popularity');
      w.array(2);
      w.bulkStr('key:123');
      w.int(90);
    }
    return w.bulkStr('Some real reply following the attribute');
  }
  if (is(type, 'push')) {
    if (!resp3) return w.error('ERR RESP2 is not supported by this command');
    w.push(2);
    w.bulkStr('server-cpu-usage');
    w.int(42);
    return w.bulkStr('Some real reply following the push reply');
  }
  if (is(type, 'true')) return w.bool(true);
  if (is(type, 'false')) return w.bool(false);
  if (is(type, 'verbatim')) return w.verbatim('This is a verbatim\nstring');
  w.error('ERR Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false');
}

/** MONITOR: stream every command to this client (no reply if it already monitors, as Redis). */
function monitor(c: Client): void {
  // Inside MULTI a client expects one reply per command (Redis's DENY_BLOCKING).
  if (c.inExec) return c.w.error("ERR MONITOR isn't allowed for DENY BLOCKING client");
  if (startMonitor(c)) c.w.ok();
}

function debugLock(argv: Buffer[]): 'keys' | 'all' {
  if (argv.length < 2) return 'keys';
  const a = argv[1];
  // SLEEP stops the whole keyspace as Redis's does: a command on another thread that needs a key
  // waits for it, however late the other threads get the broadcast (MIGRATE timeout tests).
  return is(a, 'check') || is(a, 'digest') || is(a, 'digest-value') || is(a, 'object') || is(a, 'populate') || is(a, 'htstats') || is(a, 'htstats-key') || is(a, 'sleep') ? 'all' : 'keys';
}

// ---------------------------------------------------------------------------------------------
// INFO

function info(c: Client, argv: Buffer[]): void {
  const sections = infoSectionsFor(argv.slice(1).map((a) => a.toString('latin1')));
  acrossThreads(c, { op: 'info', args: [] }, (cl, results) => {
    const infos = results.filter((r): r is ThreadInfo => typeof r === 'object' && r !== null && 'errors' in r);
    cl.w.verbatim(genInfo(cl.srv, sections, infos));
  });
}

// ---------------------------------------------------------------------------------------------
// COMMAND

const FLAG_ORDER = [
  'write', 'readonly', 'denyoom', 'module', 'admin', 'pubsub', 'noscript', 'blocking', 'loading', 'stale',
  'skip_monitor', 'skip_slowlog', 'asking', 'fast', 'no_auth', 'may_replicate', 'sentinel', 'only_sentinel',
  'no_mandatory_keys', 'protected', 'module_no_cluster', 'no_async_loading', 'no_multi', 'movablekeys', 'allow_busy',
];
function commandFlags(spec: CommandSpec): string[] {
  const set = new Set(spec.flags);
  if (spec.keys !== undefined) set.add('movablekeys');
  // Redis 7.0 keeps may_replicate out of COMMAND's replies ("Hidden on purpose").
  set.delete('may_replicate');
  const out = FLAG_ORDER.filter((f) => set.has(f));
  for (const f of set) if (!out.includes(f)) out.push(f);
  return out;
}

function commandTips(spec: CommandSpec): string[] {
  return spec.tips ?? COMMAND_META[spec.fullName ?? spec.name]?.[0] ?? [];
}

function writeKeySpecs(c: Client, spec: CommandSpec): void {
  const w = c.w;
  const specs = keySpecs(spec);
  w.set(specs.length);
  for (const [notes, flags, b, f] of specs) {
    w.map(notes === null ? 3 : 4);
    if (notes !== null) {
      w.bulkStr('notes');
      w.bulkStr(notes);
    }
    w.bulkStr('flags');
    w.set(flags.length);
    for (const x of flags) w.simple(x);
    w.bulkStr('begin_search');
    w.map(2);
    w.bulkStr('type');
    if (b[0] === 'i') {
      w.bulkStr('index');
      w.bulkStr('spec');
      w.map(1);
      w.bulkStr('index');
      w.int(b[1]);
    } else if (b[0] === 'k') {
      w.bulkStr('keyword');
      w.bulkStr('spec');
      w.map(2);
      w.bulkStr('keyword');
      w.bulkStr(b[1]);
      w.bulkStr('startfrom');
      w.int(b[2]);
    } else {
      w.bulkStr('unknown');
      w.bulkStr('spec');
      w.map(0);
    }
    w.bulkStr('find_keys');
    w.map(2);
    w.bulkStr('type');
    if (f[0] === 'r') {
      w.bulkStr('range');
      w.bulkStr('spec');
      w.map(3);
      w.bulkStr('lastkey');
      w.int(f[1]);
      w.bulkStr('keystep');
      w.int(f[2]);
      w.bulkStr('limit');
      w.int(f[3]);
    } else if (f[0] === 'n') {
      w.bulkStr('keynum');
      w.bulkStr('spec');
      w.map(3);
      w.bulkStr('keynumidx');
      w.int(f[1]);
      w.bulkStr('firstkey');
      w.int(f[2]);
      w.bulkStr('keystep');
      w.int(f[3]);
    } else {
      w.bulkStr('unknown');
      w.bulkStr('spec');
      w.map(0);
    }
  }
}

function writeCommandInfo(c: Client, spec: CommandSpec): void {
  const w = c.w;
  w.array(10);
  w.bulkStr(spec.fullName ?? spec.name);
  w.int(spec.arity);
  const flags = commandFlags(spec);
  w.set(flags.length);
  for (const f of flags) w.simple(f);
  w.int(spec.firstKey);
  w.int(spec.lastKey);
  w.int(spec.step);
  const acl = aclCategories(spec);
  w.set(acl.length);
  for (const a of acl) w.simple(`@${a}`);
  const tips = commandTips(spec);
  w.set(tips.length);
  for (const t of tips) w.bulkStr(t);
  writeKeySpecs(c, spec);
  const subs = spec.subcommands ?? [];
  w.set(subs.length);
  for (const s of subs) writeCommandInfo(c, s);
}

function writeCommandDocs(c: Client, spec: CommandSpec): void {
  const w = c.w;
  const subs = spec.subcommands ?? [];
  w.map(3 + (spec.complexity !== undefined ? 1 : 0) + (subs.length > 0 ? 1 : 0));
  w.bulkStr('summary');
  w.bulkStr(spec.summary);
  w.bulkStr('since');
  w.bulkStr(spec.since);
  w.bulkStr('group');
  w.bulkStr(spec.group);
  if (spec.complexity !== undefined) {
    w.bulkStr('complexity');
    w.bulkStr(spec.complexity);
  }
  if (subs.length > 0) {
    w.bulkStr('subcommands');
    w.map(subs.length);
    for (const s of subs) {
      w.bulkStr(s.fullName ?? s.name);
      writeCommandDocs(c, s);
    }
  }
}

/** A command or "container|subcommand" by name. */
function lookupByFullName(name: string): CommandSpec | undefined {
  const bar = name.indexOf('|');
  if (bar < 0) return commandByName(name);
  const parent = commandByName(name.slice(0, bar));
  if (parent === undefined) return undefined;
  return resolveSubcommand(parent, Buffer.from(name.slice(bar + 1), 'latin1'));
}

function commandAll(c: Client): void {
  const all = liveCommands();
  c.w.array(all.length);
  for (const spec of all) writeCommandInfo(c, spec);
}

function commandContainer(c: Client, argv: Buffer[]): void {
  if (argv.length === 1) return commandAll(c);
  c.w.error(`ERR unknown subcommand '${cstr(argv[1])}'. Try COMMAND HELP.`);
}

function commandCount(c: Client): void {
  c.w.int(liveCommands().length);
}

function commandInfo(c: Client, argv: Buffer[]): void {
  if (argv.length === 2) return commandAll(c);
  c.w.array(argv.length - 2);
  for (let i = 2; i < argv.length; i++) {
    const spec = lookupByFullName(argv[i].toString('latin1'));
    if (spec === undefined) c.w.nil();
    else writeCommandInfo(c, spec);
  }
}

function commandDocs(c: Client, argv: Buffer[]): void {
  const specs: CommandSpec[] = [];
  if (argv.length === 2) specs.push(...liveCommands());
  else {
    for (let i = 2; i < argv.length; i++) {
      const spec = lookupByFullName(argv[i].toString('latin1'));
      if (spec !== undefined) specs.push(spec);
    }
  }
  c.w.map(specs.length);
  for (const spec of specs) {
    c.w.bulkStr(spec.fullName ?? spec.name);
    writeCommandDocs(c, spec);
  }
}

/** The keys of a full command line (argv[2..]), or an error text. */
function getKeys(argv: Buffer[]): { spec: CommandSpec; keys: number[] } | string {
  const cmd = argv.slice(2);
  let spec = lookupByFullName(cmd[0].toString('latin1'));
  if (spec !== undefined && spec.subcommands !== undefined && cmd.length >= 2) {
    spec = resolveSubcommand(spec, cmd[1]);
  }
  if (spec === undefined) return 'ERR Invalid command specified';
  if (!hasKeys(spec)) return 'ERR The command has no key arguments';
  if ((spec.arity > 0 && spec.arity !== cmd.length) || cmd.length < -spec.arity) return 'ERR Invalid number of arguments specified for command';
  const keys = commandKeys(spec, cmd);
  if (keys.length === 0 && !spec.flags.includes('no_mandatory_keys')) return 'ERR Invalid arguments specified for command';
  return { spec, keys };
}

function commandGetkeys(c: Client, argv: Buffer[]): void {
  const r = getKeys(argv);
  if (typeof r === 'string') return c.w.error(r);
  c.w.array(r.keys.length);
  for (const k of r.keys) c.w.bulk(argv[k + 2]);
}

function commandGetkeysandflags(c: Client, argv: Buffer[]): void {
  const r = getKeys(argv);
  if (typeof r === 'string') return c.w.error(r);
  const specs = keySpecs(r.spec);
  c.w.array(r.keys.length);
  for (const k of r.keys) {
    let flags = keyFlagsAt(specs, k);
    if (flags.includes('variable_flags')) flags = variableKeyFlags(r.spec.name, argv.slice(2));
    c.w.array(2);
    c.w.bulk(argv[k + 2]);
    c.w.set(flags.length);
    for (const f of flags) c.w.simple(f);
  }
}

function commandList(c: Client, argv: Buffer[]): void {
  let match: (spec: CommandSpec) => boolean = () => true;
  if (argv.length === 5 && is(argv[2], 'filterby')) {
    const v = argv[4].toString('latin1');
    if (is(argv[3], 'module')) match = () => false;
    else if (is(argv[3], 'aclcat')) {
      const cat = v.toLowerCase();
      match = (s) => aclCategories(s).includes(cat);
    } else if (is(argv[3], 'pattern')) match = (s) => globMatchStr(v, s.fullName ?? s.name, true);
    else return c.w.error(E_SYNTAX);
  } else if (argv.length !== 2) {
    return c.w.error(E_SYNTAX);
  }
  const names: string[] = [];
  for (const spec of liveCommands()) {
    if (match(spec)) names.push(spec.fullName ?? spec.name);
    for (const s of spec.subcommands ?? []) if (match(s)) names.push(s.fullName ?? s.name);
  }
  c.w.array(names.length);
  for (const n of names) c.w.bulkStr(n);
}

const COMMAND_HELP = [
  'COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  '(no subcommand)',
  '    Return details about all Redis commands.',
  'COUNT',
  '    Return the total number of commands in this Redis server.',
  'LIST',
  '    Return a list of all commands in this Redis server.',
  'INFO [<command-name> ...]',
  '    Return details about multiple Redis commands.',
  '    If no command names are given, documentation details for all',
  '    commands are returned.',
  'DOCS [<command-name> ...]',
  '    Return documentation details about multiple Redis commands.',
  '    If no command names are given, documentation details for all',
  '    commands are returned.',
  'GETKEYS <full-command>',
  '    Return the keys from a full Redis command.',
  'GETKEYSANDFLAGS <full-command>',
  '    Return the keys and the access flags from a full Redis command.',
  'HELP',
  '    Prints this help.',
];

// ---------------------------------------------------------------------------------------------
// CONFIG

function configGet(c: Client, argv: Buffer[]): void {
  const patterns: string[] = [];
  for (let i = 2; i < argv.length; i++) patterns.push(argv[i].toString('latin1'));
  const pairs = c.srv.config.getMatching(patterns);
  c.w.map(pairs.length);
  for (const [k, v] of pairs) {
    c.w.bulkStr(k);
    c.w.bulkStr(v);
  }
}

function configSet(c: Client, argv: Buffer[]): void {
  if ((argv.length - 2) % 2 !== 0) return c.w.error(E_SYNTAX);
  const pairs: Array<[string, string]> = [];
  for (let i = 2; i < argv.length; i += 2) pairs.push([argv[i].toString(), argv[i + 1].toString()]);
  const cfg = c.srv.config;
  const before = { port: cfg.str('port'), bind: cfg.str('bind') };
  const old = pairs.map(([n]): [string, string] => [n, cfg.getMatching([n.toLowerCase()])[0]?.[1] ?? '']);
  const err = cfg.set(pairs, { localClient: c.isLocal(), loading: c.srv.misc(M_LOADING) !== 0 || c.srv.misc(M_ASYNC_LOADING) !== 0 });
  if (err !== null) return c.w.error(err);
  // The reply waits until every thread has the new values (maxmemory, keyspace events...); the
  // main thread relays the config message before this (no-op) request, on the same ports.
  // CONFIG SET appendonly waits for the main thread to start or stop the AOF, even on one thread.
  const settle = c.srv.threads > 1 || pairs.some(([n]) => n.toLowerCase() === 'appendonly' || n.toLowerCase() === 'aof-disable-auto-gc');
  // port / bind changed: rebind the listeners before anyone sees the new values (Redis's
  // updatePort / applyBind), and roll the whole CONFIG SET back if they cannot be bound.
  const rebind = cfg.str('port') !== before.port ? 'port' : cfg.str('bind') !== before.bind ? 'bind' : '';
  // A lower client memory limit evicts before the reply, as Redis's CONFIG SET does, once every
  // thread has applied it (client-mem.ts): the largest clients of all threads go first.
  const limits = c.srv.threads > 1 && pairs.some(([n]) => /^maxmemory(-clients)?$/i.test(n));
  if (rebind === '') {
    announceConfig(c, pairs);
    if (!settle) return c.w.ok();
    if (!limits) return acrossThreads(c, { op: 'config-applied', args: [] }, (cl) => cl.w.ok());
    const evicted = c.srv.broadcast({ op: 'config-applied', args: [] }).then(() => evictClientsEverywhere(c.srv));
    if (c.inExec) {
      if (c.execAcross !== null) c.execAcross.push(evicted);
      return c.w.ok();
    }
    return replyLater(c, evicted, (cl) => cl.w.ok());
  }
  const named = pairs.find(([n]) => n.toLowerCase() === rebind)?.[0] ?? rebind;
  const failed = `ERR CONFIG SET failed (possibly related to argument '${named}') - ${
    rebind === 'port' ? 'Unable to listen on this port. Check server logs.' : 'Failed to bind to specified addresses.'
  }`;
  if (!canRebind()) {
    log('warning', 'Rebinding the listeners on more than one thread needs the native addon (native/madvise)');
    cfg.set(old, { force: true });
    return c.w.error(failed);
  }
  const work = (async (): Promise<boolean> => {
    if ((await rebindTcp()) !== null) {
      cfg.set(old, { force: true });
      const e = await rebindTcp();
      if (e !== null) log('warning', `Failed to restore the listeners of port ${before.port}: ${e}`);
      return false;
    }
    announceConfig(c, pairs);
    if (settle) await c.srv.broadcast({ op: 'config-applied', args: [] });
    if (limits) await evictClientsEverywhere(c.srv);
    return true;
  })();
  // EXEC cannot wait: it replies OK, and a failure rolls back (logged) when it comes.
  if (c.inExec) return c.w.ok();
  replyLater(c, work, (cl, ok) => (ok ? cl.w.ok() : cl.w.error(failed)));
}

/** Tell this thread's listeners and the other threads (through the main thread) the new values. */
function announceConfig(c: Client, pairs: Array<[string, string]>): void {
  for (const [typed, value] of pairs) {
    const name = typed.toLowerCase();
    for (const l of c.srv.configListeners) l(name, value, true);
    // inExec: CONFIG SET appendonly yes in a transaction schedules the rewrite (startAppendOnly).
    c.srv.toMain({ type: 'config', name, value, inExec: c.inExec });
  }
}

function configResetstat(c: Client): void {
  resetCommandStats(c.store.f64, c.srv.threads);
  resetHistograms(c.store);
  // The server-wide counters resetServerStats zeroes (each thread's own are reset by 'resetstat').
  pset(c.store, P_FORKS, 0);
  pset(c.store, P_FORK_USEC, 0);
  pset(c.store, P_SAVES, 0);
  for (const f of [R_SYNC_FULL, R_SYNC_PARTIAL_OK, R_SYNC_PARTIAL_ERR, R_NET_REPL_IN, R_NET_REPL_OUT]) rset(c.store, f, 0);
  const aof = aofShared();
  if (aof !== null) for (const f of [F_REWRITES, F_REWRITE_FAILURES, F_DELAYED_FSYNC]) aof.f64[f] = 0;
  acrossThreads(c, { op: 'resetstat', args: [] }, (cl) => cl.w.ok());
}

/** DEBUG CONFIG-REWRITE-FORCE-ALL: CONFIG REWRITE writing every option, defaults included. */
function debugConfigRewriteForceAll(c: Client): void {
  const err = c.srv.config.rewrite(aclUserLines(c), true);
  if (err !== null) return c.w.error(`ERR CONFIG-REWRITE-FORCE-ALL failed: ${err}`);
  c.w.ok();
}

/** The ACL users as ACL LIST shows them (rewriteConfigUserOption), unless an aclfile holds them. */
function aclUserLines(c: Client): string[] {
  return c.srv.acl.sorted().map((u) => `user ${u.name} ${u.describe()}`);
}

function configRewrite(c: Client): void {
  if (c.srv.config.configFile === undefined || c.srv.config.configFile === '') {
    return c.w.error('ERR The server is running without a config file');
  }
  const err = c.srv.config.rewrite(aclUserLines(c));
  if (err !== null) {
    log('warning', `CONFIG REWRITE failed: ${err}`);
    return c.w.error(`ERR Rewriting config file: ${err}`);
  }
  log('notice', 'CONFIG REWRITE executed with success.');
  c.w.ok();
}

const CONFIG_HELP = [
  'CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'GET <pattern>',
  '    Return parameters matching the glob-like <pattern> and their values.',
  'SET <directive> <value>',
  '    Set the configuration <directive> to <value>.',
  'RESETSTAT',
  '    Reset statistics reported by the INFO command.',
  'REWRITE',
  '    Rewrite the configuration file.',
  'HELP',
  '    Prints this help.',
];

// ---------------------------------------------------------------------------------------------
// TIME, LASTSAVE, ROLE, SHUTDOWN

function time(c: Client): void {
  const us = Math.floor((performance.timeOrigin + performance.now()) * 1000);
  const sec = Math.floor(us / 1e6);
  c.w.array(2);
  c.w.bulkStr(String(sec));
  c.w.bulkStr(String(us - sec * 1e6));
}

function lastsave(c: Client): void {
  c.w.int(pget(c.store, P_LAST_SAVE));
}

function role(c: Client): void {
  roleReply(c.w, c.store, c.srv.prop.stream);
}

function shutdown(c: Client, argv: Buffer[]): void {
  let nosave = false;
  let save = false;
  let abort = false;
  let now = false;
  let force = false;
  for (let i = 1; i < argv.length; i++) {
    if (is(argv[i], 'nosave')) nosave = true;
    else if (is(argv[i], 'save')) save = true;
    else if (is(argv[i], 'now')) now = true;
    else if (is(argv[i], 'force')) force = true;
    else if (is(argv[i], 'abort')) abort = true;
    else return c.w.error(E_SYNTAX);
  }
  if ((abort && argv.length !== 2) || (nosave && save)) return c.w.error(E_SYNTAX);
  if (abort) return viaMain(c, 'shutdown-abort', [], (c, r) => (r === null ? c.w.ok() : c.w.error(r as string)));
  // Like Redis, no reply when it works: the connection closes when the server exits. A failed
  // save (without FORCE) or a SHUTDOWN ABORT keeps the server up and answers an error. Until
  // then the client is blocked (BLOCKED_SHUTDOWN: INFO blocked_clients, flag b), possibly while
  // the shutdown waits for lagging replicas.
  c.srv.addStat(S_BLOCKED, 1);
  if (!c.flagChars.includes('b')) c.flagChars += 'b';
  const unblock = (): void => {
    c.srv.addStat(S_BLOCKED, -1);
    c.flagChars = c.flagChars.replace('b', '');
  };
  const work = c.srv.askMain('shutdown', [{ save, nosave, now, force }]).then(
    (r) => (r === null ? null : String(r)),
    (e: unknown) => `ERR ${(e as Error).message}`,
  );
  replyLater(c, work, (cl, err) => {
    unblock();
    if (err !== null) cl.w.error(err);
  }, unblock);
}

// ---------------------------------------------------------------------------------------------
// SLOWLOG

function slowlogGet(c: Client, argv: Buffer[]): void {
  let count = 10;
  if (argv.length === 3) {
    const n = parseIntArg(argv[2]);
    if (n === null || n < -1) return c.w.error('ERR count should be greater than or equal to -1');
    count = n;
  } else if (argv.length > 3) {
    return c.w.error(E_SYNTAX);
  }
  acrossThreads(c, { op: 'slowlog-get', args: [count] }, (cl, results) => {
    const all: SlowlogEntry[] = [];
    for (const r of results) if (Array.isArray(r)) all.push(...(r as SlowlogEntry[]));
    all.sort((a, b) => b.id - a.id);
    const n = count < 0 ? all.length : Math.min(count, all.length);
    const w = cl.w;
    w.array(n);
    for (let i = 0; i < n; i++) {
      const e = all[i];
      w.array(6);
      w.int(e.id);
      w.int(e.time);
      w.int(e.usec);
      w.array(e.args.length);
      for (const a of e.args) w.bulk(Buffer.from(a, 'latin1'));
      w.bulkStr(e.addr);
      w.bulkStr(e.name);
    }
  });
}

function slowlogLen(c: Client): void {
  acrossThreads(c, { op: 'slowlog-len', args: [] }, (cl, results) => {
    let n = 0;
    for (const r of results) if (typeof r === 'number') n += r;
    cl.w.int(n);
  });
}

function slowlogReset(c: Client): void {
  acrossThreads(c, { op: 'slowlog-reset', args: [] }, (cl) => cl.w.ok());
}

const SLOWLOG_HELP = [
  'SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'GET [<count>]',
  '    Return top <count> entries from the slowlog (default: 10, -1 mean all).',
  '    Entries are made of:',
  '    id, timestamp, time in microseconds, arguments array, client IP and port,',
  '    client name',
  'LEN',
  '    Return the length of the slowlog.',
  'RESET',
  '    Reset the slowlog.',
  'HELP',
  '    Prints this help.',
];

// ---------------------------------------------------------------------------------------------
// MEMORY

/** MEMORY USAGE key [SAMPLES count] (memoryCommand): its value's structure, sampled. */
function memoryUsage(c: Client, argv: Buffer[]): void {
  let samples = 5;
  for (let j = 3; j < argv.length; j++) {
    if (is(argv[j], 'samples') && j + 1 < argv.length) {
      const n = parseIntArg(argv[j + 1]);
      if (n === null) return c.w.error(E_NOT_INT);
      if (n < 0) return c.w.error(E_SYNTAX);
      samples = n === 0 ? Number.MAX_SAFE_INTEGER : n;
      j++;
    } else {
      return c.w.error(E_SYNTAX);
    }
  }
  const e = c.store.peek(c.db, argv[2]);
  if (e === 0) return c.w.nil();
  c.w.int(Math.round(keyMemoryUsage(c.store, e, samples)));
}

function memoryStats(c: Client): void {
  const heap = c.store.heap;
  // The same used_memory and peak as INFO memory (Redis: zmalloc_used_memory, stat_peak_memory).
  const used = usedMemory(c.srv);
  const peak = peakMemory(c.srv);
  const rss = process.memoryUsage().rss;
  const top = heap.topBytes();
  let keys = 0;
  const dbs: Array<[number, number]> = [];
  for (let db = 0; db < c.store.dbs; db++) {
    const n = c.store.dbSize(db);
    if (n > 0) dbs.push([db, n]);
    keys += n;
  }
  const w = c.w;
  w.map(27 + dbs.length);
  const int = (k: string, v: number): void => {
    w.bulkStr(k);
    w.int(Math.round(v));
  };
  const dbl = (k: string, v: number): void => {
    w.bulkStr(k);
    w.double(v);
  };
  int('peak.allocated', peak);
  int('total.allocated', used);
  int('startup.allocated', 0);
  int('replication.backlog', 0);
  int('clients.slaves', 0);
  int('clients.normal', 0);
  int('cluster.links', 0);
  int('aof.buffer', 0);
  int('lua.caches', 0);
  int('functions.caches', 0);
  for (const [db, n] of dbs) {
    w.bulkStr(`db.${db}`);
    w.map(3);
    int('overhead.hashtable.main', n * 8);
    int('overhead.hashtable.expires', c.store.volatileCount(db) * 8);
    int('overhead.hashtable.slot-to-keys', 0);
  }
  int('overhead.total', 0);
  int('keys.count', keys);
  int('keys.bytes-per-key', keys === 0 ? 0 : Math.floor(used / keys));
  int('dataset.bytes', used);
  dbl('dataset.percentage', 100);
  dbl('peak.percentage', peak === 0 ? 100 : (used * 100) / peak);
  int('allocator.allocated', used);
  int('allocator.active', top);
  int('allocator.resident', rss);
  dbl('allocator-fragmentation.ratio', used === 0 ? 1 : top / used);
  int('allocator-fragmentation.bytes', top - used);
  dbl('allocator-rss.ratio', top === 0 ? 1 : rss / top);
  int('allocator-rss.bytes', rss - top);
  dbl('rss-overhead.ratio', 1);
  int('rss-overhead.bytes', 0);
  dbl('fragmentation', used === 0 ? 1 : rss / used);
  int('fragmentation.bytes', rss - used);
}

function memoryDoctor(c: Client): void {
  const used = c.store.heap.usedBytes();
  if (used < 5 * 1024 * 1024) {
    return c.w.verbatim(
      "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.",
    );
  }
  c.w.verbatim(`Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base. (used memory: ${bytesToHuman(used)})`);
}

function memoryMallocStats(c: Client): void {
  c.w.verbatim('Stats not supported for the current allocator');
}

function memoryPurge(c: Client): void {
  c.w.ok();
}

const MEMORY_HELP = [
  'MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'DOCTOR',
  '    Return memory problems reports.',
  'MALLOC-STATS',
  '    Return internal statistics report from the memory allocator.',
  'PURGE',
  '    Attempt to purge dirty pages for reclamation by the allocator.',
  'STATS',
  '    Return information about the memory usage of the server.',
  'USAGE <key> [SAMPLES <count>]',
  '    Return memory in bytes used by <key> and its value. Nested values are',
  '    sampled up to <count> times (default: 5, 0 means sample all).',
  'HELP',
  '    Prints this help.',
];

// ---------------------------------------------------------------------------------------------

function help(lines: string[]): CommandSpec['handler'] {
  return (c: Client) => writeHelp(c, lines);
}

type SubOpts = Parameters<typeof def>[7];
const sub = (name: string, arity: number, flags: string, group: string, summary: string, handler: CommandSpec['handler'], opts: SubOpts): CommandSpec =>
  def(name, arity, flags, [0, 0, 0], group, summary, handler, { lock: 'none', ...opts });

const ADMIN = ['admin', 'slow', 'dangerous'];
const CMD_ACL = ['slow', 'connection'];

export const commands: CommandSpec[] = [
  def('ping', -1, 'fast', [0, 0, 0], 'connection', 'Ping the server', ping, { lock: 'none', acl: ['fast', 'connection'], complexity: 'O(1)' }),
  def('echo', 2, 'loading stale fast', [0, 0, 0], 'connection', 'Echo the given string', echo, { lock: 'none', acl: ['fast', 'connection'], complexity: 'O(1)' }),
  def('quit', -1, 'allow_busy noscript loading stale fast no_auth', [0, 0, 0], 'connection', 'Close the connection', quit, { lock: 'none', acl: ['fast', 'connection'], complexity: 'O(1)' }),
  def('select', 2, 'loading stale fast', [0, 0, 0], 'connection', 'Change the selected database for the current connection', select, { lock: 'none', acl: ['fast', 'connection'], complexity: 'O(1)' }),
  def('debug', -2, 'admin noscript loading stale', [0, 0, 0], 'server', 'A container for debugging commands', debug, { lockFor: debugLock, protectedBy: 'enable-debug-command', acl: ['admin', 'slow', 'dangerous'] }),
  def('info', -1, 'loading stale', [0, 0, 0], 'server', 'Get information and statistics about the server', info, {
    lock: 'none', acl: ['slow', 'dangerous'], complexity: 'O(1)',
  }),
  def('command', -1, 'loading stale', [0, 0, 0], 'server', 'Get array of Redis command details', commandContainer, {
    lock: 'none', since: '2.8.13', acl: CMD_ACL, complexity: 'O(N) where N is the total number of Redis commands',
    subcommands: [
      sub('docs', -2, 'loading stale', 'server', 'Get array of specific Redis command documentation', commandDocs, { acl: CMD_ACL, since: '7.0.0', complexity: 'O(N) where N is the number of commands to look up' }),
      sub('getkeys', -4, 'loading stale', 'server', 'Extract keys given a full Redis command', commandGetkeys, { acl: CMD_ACL, since: '2.8.13', complexity: 'O(N) where N is the number of arguments to the command' }),
      sub('info', -2, 'loading stale', 'server', 'Get array of specific Redis command details, or all when no argument is given.', commandInfo, { acl: CMD_ACL, since: '2.8.13', complexity: 'O(N) where N is the number of commands to look up' }),
      sub('count', 2, 'loading stale', 'server', 'Get total number of Redis commands', commandCount, { acl: CMD_ACL, since: '2.8.13', complexity: 'O(1)' }),
      sub('help', 2, 'loading stale', 'server', 'Show helpful text about the different subcommands', help(COMMAND_HELP), { acl: CMD_ACL, since: '5.0.0', complexity: 'O(1)' }),
      sub('getkeysandflags', -4, 'loading stale', 'server', 'Extract keys and access flags given a full Redis command', commandGetkeysandflags, { acl: CMD_ACL, since: '7.0.0', complexity: 'O(N) where N is the number of arguments to the command' }),
      sub('list', -2, 'loading stale', 'server', 'Get an array of Redis command names', commandList, { acl: CMD_ACL, since: '7.0.0', complexity: 'O(N) where N is the total number of Redis commands' }),
    ],
  }),
  def('config', -2, '', [0, 0, 0], 'server', 'A container for server configuration commands', container('config'), {
    lock: 'none', since: '2.0.0', acl: ['slow'], complexity: 'Depends on subcommand.',
    subcommands: [
      sub('resetstat', 2, 'admin noscript loading stale', 'server', 'Reset the stats returned by INFO', configResetstat, { acl: ADMIN, since: '2.0.0', complexity: 'O(1)' }),
      sub('get', -3, 'admin noscript loading stale', 'server', 'Get the values of configuration parameters', configGet, { acl: ADMIN, since: '2.0.0', complexity: 'O(N) when N is the number of configuration parameters provided' }),
      sub('rewrite', 2, 'admin noscript loading stale', 'server', 'Rewrite the configuration file with the in memory configuration', configRewrite, { acl: ADMIN, since: '2.8.0', complexity: 'O(1)' }),
      sub('help', 2, 'loading stale', 'server', 'Show helpful text about the different subcommands', help(CONFIG_HELP), { acl: ['slow'], since: '5.0.0', complexity: 'O(1)' }),
      sub('set', -4, 'admin noscript loading stale', 'server', 'Set configuration parameters to the given values', configSet, { acl: ADMIN, since: '2.0.0', complexity: 'O(N) when N is the number of configuration parameters provided' }),
    ],
  }),
  def('monitor', 1, 'admin noscript loading stale', [0, 0, 0], 'server', 'Listen for all requests received by the server in real time', monitor, { lock: 'none', since: '1.0.0', acl: ['admin', 'slow', 'dangerous'], complexity: undefined }),
  def('time', 1, 'loading stale fast', [0, 0, 0], 'server', 'Return the current server time', time, { lock: 'none', since: '2.6.0', acl: ['fast'], complexity: 'O(1)' }),
  def('lastsave', 1, 'loading stale fast', [0, 0, 0], 'server', 'Get the UNIX time stamp of the last successful save to disk', lastsave, {
    lock: 'none', acl: ['admin', 'fast', 'dangerous'], complexity: 'O(1)',
  }),
  def('role', 1, 'noscript loading stale fast', [0, 0, 0], 'server', 'Return the role of the instance in the context of replication', role, {
    lock: 'none', since: '2.8.12', acl: ['admin', 'fast', 'dangerous'], complexity: 'O(1)',
  }),
  def('shutdown', -1, 'admin noscript loading stale no_multi allow_busy', [0, 0, 0], 'server', 'Synchronously save the dataset to disk and then shut down the server', shutdown, {
    lock: 'none', acl: ADMIN, complexity: 'O(N) when saving, where N is the total number of keys in all databases when saving data, otherwise O(1)',
  }),
  def('slowlog', -2, '', [0, 0, 0], 'server', 'A container for slow log commands', container('slowlog'), {
    lock: 'none', since: '2.2.12', acl: ['slow'], complexity: 'Depends on subcommand.',
    subcommands: [
      sub('reset', 2, 'admin loading stale', 'server', 'Clear all entries from the slow log', slowlogReset, { acl: ADMIN, since: '2.2.12', complexity: 'O(N) where N is the number of entries in the slowlog' }),
      sub('len', 2, 'admin loading stale', 'server', 'Get the slow log\'s length', slowlogLen, { acl: ADMIN, since: '2.2.12', complexity: 'O(1)' }),
      sub('help', 2, 'loading stale', 'server', 'Show helpful text about the different subcommands', help(SLOWLOG_HELP), { acl: ['slow'], since: '6.2.0', complexity: 'O(1)' }),
      sub('get', -2, 'admin loading stale', 'server', 'Get the slow log\'s entries', slowlogGet, { acl: ADMIN, since: '2.2.12', complexity: 'O(N) where N is the number of entries returned' }),
    ],
  }),
  def('memory', -2, '', [0, 0, 0], 'server', 'A container for memory diagnostics commands', container('memory'), {
    lock: 'none', since: '4.0.0', acl: ['slow'], complexity: 'Depends on subcommand.',
    subcommands: [
      sub('doctor', 2, '', 'server', 'Outputs memory problems report', memoryDoctor, { acl: ['slow'], since: '4.0.0', complexity: 'O(1)' }),
      sub('stats', 2, '', 'server', 'Show memory usage details', memoryStats, { acl: ['slow'], since: '4.0.0', complexity: 'O(1)' }),
      sub('malloc-stats', 2, '', 'server', 'Show allocator internal stats', memoryMallocStats, { acl: ['slow'], since: '4.0.0', complexity: 'Depends on how much memory is allocated, could be slow' }),
      sub('help', 2, 'loading stale', 'server', 'Show helpful text about the different subcommands', help(MEMORY_HELP), { acl: ['slow'], since: '4.0.0', complexity: 'O(1)' }),
      def('usage', -3, 'readonly', [2, 2, 1], 'server', 'Estimate the memory usage of a key', memoryUsage, { since: '4.0.0', acl: ['read', 'slow'], complexity: 'O(N) where N is the number of samples.' }),
      sub('purge', 2, '', 'server', 'Ask the allocator to release memory', memoryPurge, { acl: ['slow'], since: '4.0.0', complexity: 'Depends on how much memory is allocated, could be slow' }),
    ],
  }),
];

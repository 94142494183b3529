// Scripting and functions (eval.c, functions.c): EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, SCRIPT,
// FUNCTION, FCALL, FCALL_RO. The engine (Lua 5.1 in native/lua) and how a script runs under slot
// locks are in src/scripting/engine.ts. Scripts and libraries are registered on every thread: the
// thread that adds one applies it at once and broadcasts it; commands that only register (SCRIPT
// LOAD, FUNCTION LOAD/DELETE/FLUSH/RESTORE, SCRIPT FLUSH) reply once every thread has it.
import type { CommandSpec } from './types';
import type { Client } from '../server/client';
import type { ThreadServer } from '../server/context';
import { checksumSkipped } from '../server/context';
import { container, def } from './def';
import { SF_DENYOOM, SF_STALE, SF_WRITE } from './flags';
import { is, parseI64, cstr } from './args';
import { writeHelp, acrossThreads } from './connection';
import { globMatch } from '../config/glob';
import { dumpFunctions, parseFunctions } from '../scripting/fdump';
import { verifyDumpPayload } from '../persistence/rdb';
import {
  splitArgs, libMetadata, validName, createLibrary, dropTag, dropAllLibraries, syncLibraries, publishLibraries, E_BAD_NAME,
} from '../scripting/functions';
import { overMaxmemory } from '../server/evict';
import { feedMonitorLine, monitorsActive } from '../server/monitor';
import { log } from '../server/log';
import { MISC_MASTER_LINK, MISC_REPLICA } from '../store/keyspace';
import {
  scriptEngine, sha1hex, requestKill, busyInfo, sendEndSession, NO_ENGINE, F_NO_WRITES, F_ALLOW_OOM, F_ALLOW_STALE, F_EVAL_COMPAT, FLAG_NAMES,
  type Library,
} from '../scripting/engine';
import { E_NOREPLICAS, replGate, tooFewReplicas } from '../replication/master';

const NOSCRIPT = 'NOSCRIPT No matching script. Please use EVAL.';

/** evalExtractShebangFlags: flags and the shebang length, or an error text. */
export function shebangFlags(body: Buffer): { flags: number; skip: number } | string {
  if (body.length < 2 || body[0] !== 0x23 || body[1] !== 0x21) return { flags: F_EVAL_COMPAT, skip: 0 };
  const nl = body.indexOf(10);
  if (nl < 0) return 'ERR Invalid script shebang';
  const parts = splitArgs(body.latin1Slice(0, nl));
  if (parts === null || parts.length === 0) return 'ERR Invalid engine in script shebang';
  if (parts[0] !== '#!lua') return `ERR Unexpected engine in script shebang: ${parts[0]}`;
  let flags = 0;
  for (let j = 1; j < parts.length; j++) {
    if (parts[j].startsWith('flags=')) {
      const list = parts[j].slice(6);
      if (list === '') continue;
      for (const f of list.split(',')) {
        const i = FLAG_NAMES.indexOf(f);
        if (i < 0) return `ERR Unexpected flag in script shebang: ${f}`;
        flags |= 1 << i;
      }
    } else {
      return `ERR Unknown lua shebang option: ${parts[j]}`;
    }
  }
  return { flags, skip: nl };
}

function numKeys(c: Client, argv: Buffer[], fcall: boolean): number | null {
  const n = parseI64(argv[2]);
  if (n === null || typeof n === 'bigint') {
    c.w.error(fcall ? 'ERR Bad number of keys provided' : 'ERR value is not an integer or out of range');
    return null;
  }
  if (n > argv.length - 3) {
    c.w.error("ERR Number of keys can't be greater than number of args");
    return null;
  }
  if (n < 0) {
    c.w.error("ERR Number of keys can't be negative");
    return null;
  }
  return n;
}

/** scriptPrepareForRun's checks for scripts that declared flags. */
function prepare(c: Client, flags: number, ro: boolean): boolean {
  const misc = c.store.L.misc;
  const replica = Atomics.load(c.store.i32, misc + MISC_REPLICA) !== 0;
  const obey = c.masterHook !== null;
  const stale = replica && Atomics.load(c.store.i32, misc + MISC_MASTER_LINK) === 0 && !c.srv.config.bool('replica-serve-stale-data');
  if (flags & F_EVAL_COMPAT) {
    if (!stale) return true;
    c.w.error("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.");
    return false;
  }
  if (stale && !(flags & F_ALLOW_STALE)) {
    c.w.error("MASTERDOWN Link with MASTER is down, replica-serve-stale-data is set to 'no' and 'allow-stale' flag is not set on the script.");
    return false;
  }
  if (!(flags & F_NO_WRITES) && replica && !obey && c.srv.config.bool('replica-read-only')) {
    c.w.error('READONLY Can not run script with write flag on readonly replica');
    return false;
  }
  if (!(flags & F_NO_WRITES) && ro) {
    c.w.error('ERR Can not execute a script with write flag using *_ro command.');
    return false;
  }
  // A script that may write needs min-replicas-to-write good replicas (checkGoodReplicasStatus).
  if (!(flags & F_NO_WRITES) && replGate.minToWrite !== 0 && tooFewReplicas(c.store)) {
    c.w.error(E_NOREPLICAS);
    return false;
  }
  if (!(flags & (F_ALLOW_OOM | F_NO_WRITES)) && overMaxmemory(c.store)) {
    c.w.error("OOM allow-oom flag is not set on the script, can not run it when used memory > 'maxmemory'");
    return false;
  }
  return true;
}

function broadcastScript(srv: ThreadServer, sha: string, body: Buffer, flags: number, skip: number): void {
  void srv.broadcast({ op: 'script-add', args: [srv.threadId, sha, body.latin1Slice(0, body.length), flags, skip] }).catch(() => {});
}

function evalGeneric(c: Client, argv: Buffer[], evalsha: boolean, ro: boolean): void {
  // Shown to MONITOR before the calls it makes (evalCommand, evalShaCommand).
  if (monitorsActive(c.srv)) feedMonitorLine(c, argv, c.db);
  if (c.ldbMode !== 0 && !c.inScript) {
    if (!evalsha) return evalDebug(c, argv, ro);
    if (argv[1].length !== 40) return c.w.error(NOSCRIPT);
    return c.w.error('ERR Please use EVAL instead of EVALSHA for debugging');
  }
  evalBody(c, argv, evalsha, ro);
}

const YES_HINT = '<hint> shardis cannot fork(): this session runs as SCRIPT DEBUG SYNC does. Dataset changes are retained, and other clients wait for the keys meanwhile.';

/**
 * EVAL under SCRIPT DEBUG (evalGenericCommandWithDebugging): the Lua debugger talks to the
 * client on its socket until the script ends, then the session's end mark, the EVAL's reply,
 * and the connection is closed, as Redis does.
 */
function evalDebug(c: Client, argv: Buffer[], ro: boolean): void {
  const yes = c.ldbMode === 1;
  c.ldbMode = 0;
  const fd = c.debugFd();
  if (fd < 0) {
    c.w.error("ERR can't start the debugging session: the connection has replies still waiting to be sent");
    c.closeAfterReply();
    return;
  }
  if (yes) log('warning', 'SCRIPT DEBUG YES: forked debugging sessions need fork(); this one runs in sync mode');
  log('warning', 'Redis synchronous debugging eval session started');
  const session = { fd, src: argv[1], hint: yes ? YES_HINT : null, ran: false };
  c.ldbSession = session;
  try {
    evalBody(c, argv, false, ro);
  } finally {
    c.ldbSession = null;
  }
  // Refused before it ran (numkeys, compile error, OOM...): the end mark still comes first, as
  // Redis writes it straight to the socket ahead of the buffered reply.
  if (!session.ran) sendEndSession(fd);
  log('warning', 'Redis synchronous debugging eval session ended');
  c.closeAfterReply();
}

function evalBody(c: Client, argv: Buffer[], evalsha: boolean, ro: boolean): void {
  const eng = scriptEngine(c.srv);
  if (!eng.available) return c.w.error(NO_ENGINE);
  const nk = numKeys(c, argv, false);
  if (nk === null) return;
  let sha: string;
  let entry;
  if (evalsha) {
    entry = eng.scriptBySha(argv[1]);
    if (entry === undefined) return c.w.error(NOSCRIPT);
    sha = entry.sha;
  } else {
    sha = sha1hex(argv[1]);
    entry = eng.scripts.get(sha);
    if (entry === undefined) {
      const sb = shebangFlags(argv[1]);
      if (typeof sb === 'string') return c.w.error(sb);
      const body = Buffer.from(argv[1]);
      entry = eng.addScript(sha, body, sb.flags, sb.skip);
      const err = eng.compile(sha, entry);
      if (err !== null) {
        eng.dropScript(sha);
        return c.w.error(`ERR Error compiling script (new function): ${err}`);
      }
      broadcastScript(c.srv, sha, body, sb.flags, sb.skip);
    }
  }
  if (!entry.compiled) {
    const err = eng.compile(sha, entry);
    if (err !== null) return c.w.error(`ERR Error compiling script (new function): ${err}`);
  }
  if (!prepare(c, entry.flags, ro)) return;
  eng.run(c, entry.key, argv, nk, true, sha, entry.flags, ro || (entry.flags & F_NO_WRITES) !== 0 && !(entry.flags & F_EVAL_COMPAT), entry);
}

/** SCRIPT DEBUG YES|SYNC|NO: the next EVAL of this client runs under the Lua debugger. */
function scriptDebug(c: Client, argv: Buffer[]): void {
  if (c.hasPendingReplies()) return c.w.error('ERR SCRIPT DEBUG must be called outside a pipeline');
  if (is(argv[2], 'no')) c.ldbMode = 0;
  else if (is(argv[2], 'yes')) c.ldbMode = 1;
  else if (is(argv[2], 'sync')) c.ldbMode = 2;
  else return c.w.error('ERR Use SCRIPT DEBUG YES/SYNC/NO');
  c.w.ok();
}

function scriptLoad(c: Client, argv: Buffer[]): void {
  const eng = scriptEngine(c.srv);
  if (!eng.available) return c.w.error(NO_ENGINE);
  const sha = sha1hex(argv[2]);
  if (eng.scripts.has(sha)) return c.w.bulkStr(sha);
  const sb = shebangFlags(argv[2]);
  if (typeof sb === 'string') return c.w.error(sb);
  const body = Buffer.from(argv[2]);
  const entry = eng.addScript(sha, body, sb.flags, sb.skip);
  const err = eng.compile(sha, entry);
  if (err !== null) {
    eng.dropScript(sha);
    return c.w.error(`ERR Error compiling script (new function): ${err}`);
  }
  acrossThreads(c, { op: 'script-add', args: [c.srv.threadId, sha, body.latin1Slice(0, body.length), sb.flags, sb.skip] }, (cl) => cl.w.bulkStr(sha));
}

function flushMode(argv: Buffer[]): boolean {
  return argv.length === 2 || (argv.length === 3 && (is(argv[2], 'sync') || is(argv[2], 'async')));
}

function scriptFlush(c: Client, argv: Buffer[]): void {
  if (!flushMode(argv)) return c.w.error('ERR SCRIPT FLUSH only support SYNC|ASYNC option');
  acrossThreads(c, { op: 'script-flush', args: [] }, (cl) => cl.w.ok());
}

function scriptExists(c: Client, argv: Buffer[]): void {
  const eng = scriptEngine(c.srv);
  c.w.array(argv.length - 2);
  for (let i = 2; i < argv.length; i++) c.w.int(eng.scripts.has(argv[i].latin1Slice(0, argv[i].length).toLowerCase()) ? 1 : 0);
}

function scriptKill(c: Client): void {
  const r = requestKill(c.srv, true);
  if (r === null) c.w.ok();
  else c.w.error(r);
}

function functionKill(c: Client): void {
  const r = requestKill(c.srv, false);
  if (r === null) c.w.ok();
  else c.w.error(r);
}

// ---- functions ---------------------------------------------------------------------------------

// FUNCTION LOAD / DELETE / FLUSH / RESTORE lock every slot: the server's library list changes
// (and the command reaches the stream) at one point in time for snapshots (src/scripting/functions.ts).
// They propagate as themselves (dirty), as Redis's do; other threads pick the change up lazily.

function functionLoad(c: Client, argv: Buffer[]): void {
  let replace = false;
  let i = 2;
  while (i < argv.length - 1) {
    const a = argv[i++];
    if (is(a, 'replace')) {
      replace = true;
      continue;
    }
    return c.w.error(`ERR Unknown option given: ${a.toString()}`);
  }
  if (i >= argv.length) return c.w.error('ERR Function code is missing');
  if (!scriptEngine(c.srv).available) return c.w.error(NO_ENGINE);
  syncLibraries(c.srv);
  const r = createLibrary(c.srv, argv[i], replace);
  if (r.startsWith('ERR ')) return c.w.error(r);
  publishLibraries(c.srv);
  c.store.dirty++;
  c.w.bulkStr(r);
}

function functionDelete(c: Client, argv: Buffer[]): void {
  const eng = scriptEngine(c.srv);
  syncLibraries(c.srv);
  const lib = eng.libraries.get(argv[2].toString());
  if (lib === undefined) return c.w.error('ERR Library not found');
  eng.dropLibrary(lib);
  publishLibraries(c.srv);
  c.store.dirty++;
  c.w.ok();
}

function functionFlush(c: Client, argv: Buffer[]): void {
  if (argv.length > 3) return c.w.error(`ERR unknown subcommand or wrong number of arguments for '${cstr(argv[1])}'. Try FUNCTION HELP.`);
  if (!flushMode(argv)) return c.w.error('ERR FUNCTION FLUSH only supports SYNC|ASYNC option');
  dropAllLibraries(c.srv);
  publishLibraries(c.srv);
  c.store.dirty++;
  c.w.ok();
}

function functionList(c: Client, argv: Buffer[]): void {
  let withCode = false;
  let pattern: Buffer | null = null;
  for (let i = 2; i < argv.length; i++) {
    if (!withCode && is(argv[i], 'withcode')) {
      withCode = true;
      continue;
    }
    if (pattern === null && is(argv[i], 'libraryname')) {
      if (i >= argv.length - 1) return c.w.error('ERR library name argument was not given');
      pattern = argv[++i];
      continue;
    }
    return c.w.error(`ERR Unknown argument ${cstr(argv[i], Infinity, true)}`, true);
  }
  const eng = scriptEngine(c.srv);
  syncLibraries(c.srv);
  const libs = [...eng.libraries.values()].filter((l) => pattern === null || globMatch(pattern, Buffer.from(l.name)));
  c.w.array(libs.length);
  for (const l of libs) {
    c.w.map(withCode ? 4 : 3);
    c.w.bulkStr('library_name');
    c.w.bulkStr(l.name);
    c.w.bulkStr('engine');
    c.w.bulkStr('LUA');
    c.w.bulkStr('functions');
    c.w.array(l.functions.length);
    for (const f of l.functions) {
      c.w.map(3);
      c.w.bulkStr('name');
      c.w.bulkStr(f.name);
      c.w.bulkStr('description');
      if (f.desc === null) c.w.nil();
      else c.w.bulkStr(f.desc);
      c.w.bulkStr('flags');
      const names = FLAG_NAMES.filter((_, i) => (f.flags & (1 << i)) !== 0);
      c.w.set(names.length);
      for (const n of names) c.w.simple(n);
    }
    if (withCode) {
      c.w.bulkStr('library_code');
      c.w.bulk(l.code);
    }
  }
}

function functionStats(c: Client): void {
  const eng = scriptEngine(c.srv);
  syncLibraries(c.srv);
  c.w.map(2);
  c.w.bulkStr('running_script');
  const busy = busyInfo(c.srv);
  if (busy === null) c.w.nil();
  else {
    c.w.map(3);
    c.w.bulkStr('name');
    c.w.bulkStr(busy.name);
    c.w.bulkStr('command');
    c.w.array(busy.command.length);
    for (const a of busy.command) c.w.bulk(Buffer.from(a, 'latin1'));
    c.w.bulkStr('duration_ms');
    c.w.int(Date.now() - busy.start);
  }
  c.w.bulkStr('engines');
  c.w.map(1);
  c.w.bulkStr('LUA');
  c.w.map(2);
  c.w.bulkStr('libraries_count');
  c.w.int(eng.libraries.size);
  c.w.bulkStr('functions_count');
  c.w.int(eng.functions.size);
}

function functionDump(c: Client): void {
  const eng = scriptEngine(c.srv);
  syncLibraries(c.srv);
  c.w.bulk(dumpFunctions([...eng.libraries.values()].map((l) => l.code)));
}

function functionRestore(c: Client, argv: Buffer[]): void {
  if (argv.length > 4) return c.w.error(`ERR unknown subcommand or wrong number of arguments for '${argv[1].toString()}'. Try FUNCTION HELP.`);
  let policy = 'append';
  if (argv.length === 4) {
    policy = argv[3].toString().toLowerCase();
    if (policy !== 'append' && policy !== 'replace' && policy !== 'flush') {
      return c.w.error('ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.');
    }
  }
  if (!verifyDumpPayload(argv[2], checksumSkipped(c.store))) return c.w.error('ERR DUMP payload version or checksum are wrong');
  const codes = parseFunctions(argv[2]);
  if (typeof codes === 'string') return c.w.error(`ERR ${codes}`);
  const eng = scriptEngine(c.srv);
  if (!eng.available) return c.w.error(NO_ENGINE);
  syncLibraries(c.srv);
  // Load every library aside (rdbFunctionLoad into a new context) to learn its functions.
  const names = new Map<string, string[]>();
  const fnNames = new Set<string>();
  let err: string | null = null;
  for (const code of codes) {
    const md = libMetadata(code);
    if (typeof md === 'string') {
      err = md;
      break;
    }
    if (!validName(md.name)) {
      err = E_BAD_NAME;
      break;
    }
    if (md.engine.toUpperCase() !== 'LUA') {
      err = `ERR Engine '${md.engine}' not found`;
      break;
    }
    if (names.has(md.name)) {
      err = `ERR Library '${md.name}' already exists`;
      break;
    }
    const r = eng.loadLibraryCode(code, md.code);
    if (typeof r === 'string') {
      err = `ERR ${r}`;
      break;
    }
    dropTag(eng, r.tag, r.fns);
    if (r.fns.length === 0) {
      err = 'ERR No functions registered';
      break;
    }
    const fl: string[] = [];
    for (const [f] of r.fns) {
      if (fnNames.has(f.toLowerCase())) err = `ERR Function ${f} already exists`;
      fnNames.add(f.toLowerCase());
      fl.push(f);
    }
    if (err !== null) break;
    names.set(md.name, fl);
  }
  if (err === null && policy !== 'flush') {
    for (const name of names.keys()) {
      if (eng.libraries.has(name) && policy === 'append') {
        err = `ERR Library ${name} already exists`;
        break;
      }
    }
    if (err === null) {
      for (const [name, fl] of names) {
        for (const f of fl) {
          const cur = eng.functions.get(f.toLowerCase());
          if (cur !== undefined && !(policy === 'replace' && names.has(cur.lib))) {
            err = `ERR Function ${f} already exists`;
            break;
          }
        }
        if (err !== null) break;
        void name;
      }
    }
  }
  if (err !== null) return c.w.error(err);
  if (policy === 'flush') dropAllLibraries(c.srv);
  for (const code of codes) createLibrary(c.srv, code, true);
  publishLibraries(c.srv);
  c.store.dirty++;
  c.w.ok();
}

function fcallGeneric(c: Client, argv: Buffer[], ro: boolean): void {
  if (monitorsActive(c.srv)) feedMonitorLine(c, argv, c.db);
  const eng = scriptEngine(c.srv);
  if (!eng.available) return c.w.error(NO_ENGINE);
  syncLibraries(c.srv);
  const f = eng.functions.get(argv[1].toString().toLowerCase());
  if (f === undefined) return c.w.error('ERR Function not found');
  const nk = numKeys(c, argv, true);
  if (nk === null) return;
  if (!prepare(c, f.flags, ro)) return;
  const lib = eng.libraries.get(f.lib) as Library;
  eng.run(c, `${lib.tag}:${f.name}`, argv, nk, false, f.name, f.flags, ro || (f.flags & F_NO_WRITES) !== 0, f);
}

/** Cross-thread handlers: every thread keeps the same scripts and libraries. */
export function installScriptingHandlers(srv: ThreadServer): void {
  srv.requestHandlers.set('script-add', (args) => {
    if (args[0] === srv.threadId) return true;
    const body = Buffer.from(args[2] as string, 'latin1');
    scriptEngine(srv).addScript(args[1] as string, body, args[3] as number, args[4] as number);
    return true;
  });
  srv.requestHandlers.set('script-flush', () => {
    scriptEngine(srv).flushScripts();
    return true;
  });
}

/** EVAL's keys: argv[3 .. 3+numkeys) (COMMAND GETKEYS, EXEC). */
function evalKeys(argv: Buffer[]): number[] {
  const n = argv.length > 2 ? parseI64(argv[2]) : null;
  if (n === null || typeof n === 'bigint' || n <= 0 || n > argv.length - 3) return [];
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(3 + i);
  return out;
}

const SCRIPT_HELP = [
  'SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'DEBUG (YES|SYNC|NO)',
  '    Set the debug mode for subsequent scripts executed.',
  'EXISTS <sha1> [<sha1> ...]',
  '    Return information about the existence of the scripts in the script cache.',
  'FLUSH [ASYNC|SYNC]',
  '    Flush the Lua scripts cache. Very dangerous on replicas.',
  '    When called without the optional mode argument, the behavior is determined by the',
  '    lazyfree-lazy-user-flush configuration directive. Valid modes are:',
  '    * ASYNC: Asynchronously flush the scripts cache.',
  '    * SYNC: Synchronously flush the scripts cache.',
  'KILL',
  '    Kill the currently executing Lua script.',
  'LOAD <script>',
  '    Load a script into the scripts cache without executing it.',
  'HELP',
  '    Prints this help.',
];

const FUNCTION_HELP = [
  'FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'LOAD [REPLACE] <FUNCTION CODE>',
  '    Create a new library with the given library name and code.',
  'DELETE <LIBRARY NAME>',
  '    Delete the given library.',
  'LIST [LIBRARYNAME PATTERN] [WITHCODE]',
  '    Return general information on all the libraries:',
  '    * Library name',
  '    * The engine used to run the Library',
  '    * Library description',
  '    * Functions list',
  '    * Library code (if WITHCODE is given)',
  '    It also possible to get only function that matches a pattern using LIBRARYNAME argument.',
  'STATS',
  '    Return information about the current function running:',
  '    * Function name',
  '    * Command used to run the function',
  '    * Duration in MS that the function is running',
  '    If no function is running, return nil',
  '    In addition, returns a list of available engines.',
  'KILL',
  '    Kill the current running function.',
  'FLUSH [ASYNC|SYNC]',
  '    Delete all the libraries.',
  '    When called without the optional mode argument, the behavior is determined by the',
  '    lazyfree-lazy-user-flush configuration directive. Valid modes are:',
  '    * ASYNC: Asynchronously flush the libraries.',
  '    * SYNC: Synchronously flush the libraries.',
  'DUMP',
  '    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command',
  'RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]',
  '    Restore the libraries represented by the given payload, it is possible to give a restore policy to',
  '    control how to handle existing libraries (default APPEND):',
  '    * FLUSH: delete all existing libraries.',
  '    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.',
  '    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old',
  '      libraries with the new libraries (notice that even on this case there is a chance of failure',
  '      in case of functions name collision with another library).',
  'HELP',
  '    Prints this help.',
];

const sub = (name: string, arity: number, flags: string, summary: string, handler: CommandSpec['handler'], opts: Parameters<typeof def>[7]): CommandSpec =>
  def(name, arity, flags, [0, 0, 0], 'scripting', summary, handler, { lock: 'none', ...opts });

/** scriptFlagsToCmdFlags: a script's declared flags as the command flags processCommand checks. */
function cmdFlagsOf(sf: number): number {
  if (sf & F_EVAL_COMPAT) return -1;
  let f = 0;
  if (!(sf & (F_ALLOW_OOM | F_NO_WRITES))) f |= SF_DENYOOM;
  if (!(sf & F_NO_WRITES)) f |= SF_WRITE;
  if (sf & F_ALLOW_STALE) f |= SF_STALE;
  return f;
}

/** evalGetCommandFlags / fcallGetCommandFlags: -1 when the script is unknown or has no shebang. */
function scriptCmdFlags(kind: 'eval' | 'evalsha' | 'fcall'): (c: Client, argv: Buffer[]) => number {
  if (kind === 'eval') {
    return (_c, argv) => {
      // The flags of a cached script are its shebang's: parse them (only bodies with one).
      if (argv[1].length < 2 || argv[1][0] !== 0x23 || argv[1][1] !== 0x21) return -1;
      const sb = shebangFlags(argv[1]);
      return typeof sb === 'string' ? -1 : cmdFlagsOf(sb.flags);
    };
  }
  if (kind === 'evalsha') {
    return (c, argv) => {
      const e = scriptEngine(c.srv).scriptBySha(argv[1]);
      return e === undefined ? -1 : cmdFlagsOf(e.flags);
    };
  }
  return (c, argv) => {
    const eng = scriptEngine(c.srv);
    if (!eng.available) return -1;
    syncLibraries(c.srv);
    const f = eng.functions.get(argv[1].toString().toLowerCase());
    return f === undefined ? -1 : cmdFlagsOf(f.flags);
  };
}

const scriptCmd = (name: string, flags: string, summary: string, handler: CommandSpec['handler'], since: string, acl: string[]): CommandSpec =>
  def(name, -3, flags, [0, 0, 0], 'scripting', summary, handler, {
    since, keys: evalKeys, lock: 'none', propagate: false, acl, complexity: 'Depends on the script that is executed.',
    scriptFlags: scriptCmdFlags(name.startsWith('fcall') ? 'fcall' : name.startsWith('evalsha') ? 'evalsha' : 'eval'),
  });

export const commands: CommandSpec[] = [
  scriptCmd('eval', 'noscript stale skip_monitor may_replicate no_mandatory_keys movablekeys', 'Execute a Lua script server side', (c, a) => evalGeneric(c, a, false, false), '2.6.0', ['slow', 'scripting']),
  scriptCmd('evalsha', 'noscript stale skip_monitor may_replicate no_mandatory_keys movablekeys', 'Execute a Lua script server side', (c, a) => evalGeneric(c, a, true, false), '2.6.0', ['slow', 'scripting']),
  scriptCmd('eval_ro', 'readonly noscript stale skip_monitor no_mandatory_keys movablekeys', 'Execute a read-only Lua script server side', (c, a) => evalGeneric(c, a, false, true), '7.0.0', ['slow', 'scripting']),
  scriptCmd('evalsha_ro', 'readonly noscript stale skip_monitor no_mandatory_keys movablekeys', 'Execute a read-only Lua script server side', (c, a) => evalGeneric(c, a, true, true), '7.0.0', ['slow', 'scripting']),
  scriptCmd('fcall', 'noscript stale skip_monitor may_replicate no_mandatory_keys movablekeys', 'Invoke a function', (c, a) => fcallGeneric(c, a, false), '7.0.0', ['slow', 'scripting']),
  scriptCmd('fcall_ro', 'readonly noscript stale skip_monitor no_mandatory_keys movablekeys', 'Invoke a read-only function', (c, a) => fcallGeneric(c, a, true), '7.0.0', ['slow', 'scripting']),
  def('script', -2, '', [0, 0, 0], 'scripting', 'A container for Lua scripts management commands', container('script'), {
    lock: 'none', since: '2.6.0', acl: ['slow'], complexity: 'Depends on subcommand.',
    subcommands: [
      sub('flush', -2, 'noscript', 'Remove all the scripts from the script cache.', scriptFlush, {
        since: '2.6.0', acl: ['slow', 'scripting'], complexity: 'O(N) with N being the number of scripts in cache',
        tips: ['request_policy:all_nodes', 'response_policy:all_succeeded'],
      }),
      sub('exists', -3, 'noscript', 'Check existence of scripts in the script cache.', scriptExists, {
        since: '2.6.0', acl: ['slow', 'scripting'], complexity: 'O(N) with N being the number of scripts to check (so checking a single script is an O(1) operation).',
        tips: ['request_policy:all_shards', 'response_policy:agg_logical_and'],
      }),
      sub('load', 3, 'noscript stale', 'Load the specified Lua script into the script cache.', scriptLoad, {
        since: '2.6.0', acl: ['slow', 'scripting'], complexity: 'O(N) with N being the length in bytes of the script body.',
        tips: ['request_policy:all_nodes', 'response_policy:all_succeeded'],
      }),
      sub('debug', 3, 'noscript', 'Set the debug mode for executed scripts.', scriptDebug, {
        since: '3.2.0', acl: ['slow', 'scripting'], complexity: 'O(1)',
      }),
      sub('kill', 2, 'noscript allow_busy', 'Kill the script currently in execution.', scriptKill, {
        since: '2.6.0', acl: ['slow', 'scripting'], complexity: 'O(1)', tips: ['request_policy:all_shards', 'response_policy:one_succeeded'],
      }),
      sub('help', 2, 'loading stale', 'Show helpful text about the different subcommands', (c) => writeHelp(c, SCRIPT_HELP), {
        since: '5.0.0', acl: ['slow', 'scripting'], complexity: 'O(1)',
      }),
    ],
  }),
  def('function', -2, '', [0, 0, 0], 'scripting', 'A container for function commands', container('function'), {
    lock: 'none', since: '7.0.0', acl: ['slow'], complexity: 'Depends on subcommand.',
    subcommands: [
      sub('load', -3, 'write denyoom noscript', 'Create a function with the given arguments (name, code, description)', functionLoad, {
        lock: 'all',
        since: '7.0.0', acl: ['write', 'slow', 'scripting'], complexity: 'O(1) (considering compilation time is redundant)',
        tips: ['request_policy:all_shards', 'response_policy:all_succeeded'],
      }),
      sub('delete', 3, 'write noscript', 'Delete a function by name', functionDelete, {
        lock: 'all',
        since: '7.0.0', acl: ['write', 'slow', 'scripting'], complexity: 'O(1)', tips: ['request_policy:all_shards', 'response_policy:all_succeeded'],
      }),
      sub('flush', -2, 'write noscript', 'Deleting all functions', functionFlush, {
        lock: 'all',
        since: '7.0.0', acl: ['write', 'slow', 'scripting'], complexity: 'O(N) where N is the number of functions deleted',
        tips: ['request_policy:all_shards', 'response_policy:all_succeeded'],
      }),
      sub('dump', 2, 'noscript', 'Dump all functions into a serialized binary payload', functionDump, {
        since: '7.0.0', acl: ['slow', 'scripting'], complexity: 'O(N) where N is the number of functions',
      }),
      sub('restore', -3, 'write denyoom noscript', 'Restore all the functions on the given payload', functionRestore, {
        lock: 'all',
        since: '7.0.0', acl: ['write', 'slow', 'scripting'], complexity: 'O(N) where N is the number of functions on the payload',
        tips: ['request_policy:all_shards', 'response_policy:all_succeeded'],
      }),
      sub('list', -2, 'noscript', 'List information about all the functions', functionList, {
        since: '7.0.0', acl: ['slow', 'scripting'], complexity: 'O(N) where N is the number of functions', tips: ['nondeterministic_output_order'],
      }),
      sub('stats', 2, 'noscript allow_busy', 'Return information about the function currently running (name, description, duration)', functionStats, {
        since: '7.0.0', acl: ['slow', 'scripting'], complexity: 'O(1)',
        tips: ['nondeterministic_output', 'request_policy:all_shards', 'response_policy:special'],
      }),
      sub('kill', 2, 'noscript allow_busy', 'Kill the function currently in execution.', functionKill, {
        since: '7.0.0', acl: ['slow', 'scripting'], complexity: 'O(1)', tips: ['request_policy:all_shards', 'response_policy:one_succeeded'],
      }),
      sub('help', 2, 'loading stale', 'Show helpful text about the different subcommands', (c) => writeHelp(c, FUNCTION_HELP), {
        since: '7.0.0', acl: ['slow', 'scripting'], complexity: 'O(1)',
      }),
    ],
  }),
];

// Connection commands: HELLO, AUTH, RESET and CLIENT. CLIENT LIST / KILL / UNBLOCK reach the
// clients of every worker thread through srv.broadcast (see installConnectionHandlers).
import { PAUSE_ALL, PAUSE_WRITE, pauseClients, unpauseClients } from '../server/pause';
import { stopMonitor } from '../server/monitor';
import type { CommandSpec } from './types';
import type { Client } from '../server/client';
import type { CrossThreadRequest, ThreadServer } from '../server/context';
import { def } from './def';
import { replyLater } from './deferred';
import { lookupCommand, resolveSubcommand, statBase } from './registry';
import { E_SYNTAX, E_NOT_INT, is, lower, parseIntArg, cstr } from './args';
import { unwatchAll } from './transactions';
import { roleName } from '../replication/state';
import type { PubSub } from '../server/pubsub';
import { T_BCAST, T_BROKEN, T_CACHING, T_NOLOOP, T_ON, T_OPTIN, T_OPTOUT, disableTracking, enableTracking, prefixCollision } from '../server/tracking';

import { E_WRONGPASS, authenticate, defaultUserOpen } from '../server/acl';
const E_NAME = 'ERR Client names cannot contain spaces, newlines or special characters.';

/**
 * Hooks other subsystems add so RESET can clear their per-connection state (transactions,
 * watched keys, pub/sub subscriptions, blocking, tracking). Each runs with the client to reset.
 */
export const resetHooks: Array<(c: Client) => void> = [];

// ---------------------------------------------------------------------------------------------
// Cross-thread requests

/** The longest a script waits for the other threads' share of CLIENT LIST, INFO... */
const SCRIPT_ACROSS_MS = 100;

/** Run a request on every thread; the client waits (paused) and `done` writes the reply. */
export function acrossThreads(c: Client, req: CrossThreadRequest, done: (c: Client, results: unknown[]) => void): void {
  if (c.inScript) {
    // A script cannot wait for an event: every thread answers now (bounded, SCRIPT_ACROSS_MS).
    done(c, c.srv.broadcastSync(req, SCRIPT_ACROSS_MS));
    return;
  }
  if (c.inExec) {
    // Inside EXEC the reply is written now, from this thread's answer; the other threads get the
    // request too, and EXEC's reply leaves once they have handled it (Sentinel's MULTI, SLAVEOF
    // NO ONE, CLIENT KILL TYPE normal, EXEC must reach every thread's clients before its reply).
    const h = c.srv.requestHandlers.get(req.op);
    done(c, [h === undefined ? null : h(req.args)]);
    const sent = c.srv.broadcast(req, false);
    if (c.execAcross !== null) c.execAcross.push(sent);
    return;
  }
  replyLater(c, c.srv.broadcast(req).catch((): unknown[] => []), done, () => selfKilled.delete(c));
}

/** Register this family's request handlers on a worker (called once per worker at start). */
export function installConnectionHandlers(srv: ThreadServer): void {
  srv.requestHandlers.set('client-list', (args) => listLocal(srv, args[0] as ListFilter));
  srv.requestHandlers.set('client-kill', (args) => killLocal(srv, args[0] as KillFilter));
  srv.requestHandlers.set('client-unblock', (args) => unblockLocal(srv, args[0] as number, args[1] as 'timeout' | 'error'));
  // CLIENT TRACKING REDIRECT: which thread holds this client id (0: none).
  srv.requestHandlers.set('client-thread', (args) => {
    const cl = srv.clients.get(args[0] as number);
    return cl !== undefined && !cl.closed ? srv.threadId : 0;
  });
}

// ---------------------------------------------------------------------------------------------
// Client descriptions (CLIENT LIST / CLIENT INFO)

function clientFd(c: Client): number {
  const h = (c.socket as unknown as { _handle?: { fd?: number } | null })._handle;
  return h?.fd ?? -1;
}

/** Client type as CLIENT KILL/LIST TYPE names it. */
function clientType(c: Client): string {
  if (c.flagChars.includes('M')) return 'master';
  if (c.flagChars.includes('S')) return 'replica';
  if (c.subscriptions + c.psubscriptions + c.ssubscriptions > 0) return 'pubsub';
  return 'normal';
}

function clientFlags(c: Client): string {
  let f = '';
  if (c.flagChars.includes('S')) f += 'S';
  if (c.flagChars.includes('M')) f += 'M';
  if (c.subscriptions + c.psubscriptions + c.ssubscriptions > 0) f += 'P';
  if (c.inMulti) f += 'x';
  for (const ch of c.flagChars) if (ch !== 'S' && ch !== 'M' && !f.includes(ch)) f += ch;
  if ((c.tracking & T_ON) !== 0) f += 't';
  if ((c.tracking & T_BROKEN) !== 0) f += 'R';
  if ((c.tracking & T_BCAST) !== 0) f += 'B';
  if (c.noEvict) f += 'e';
  return f === '' ? 'N' : f;
}

/** One CLIENT LIST line, without the trailing newline, fields as Redis 7.0. */
export function clientInfoLine(c: Client, now: number): string {
  const multiMem = c.multiMemory() + c.watchedBytes; // as multiStateMemOverhead, watched keys included
  const qbuf = c.queryBufferBytes();
  // The client running CLIENT LIST/INFO has its replies so far in the writer (Redis's obl).
  const obl = c.queryBytes > 0 ? c.w.pending() : 0;
  const omem = c.closed ? 0 : c.socket.writableLength + c.heldOutput;
  const totMem = c.memoryBytes();
  return (
    `id=${c.id} addr=${c.addr} laddr=${c.laddr} fd=${clientFd(c)} name=${c.name}` +
    ` age=${Math.floor((now - c.createdAt) / 1000)} idle=${Math.floor((now - c.lastInteraction) / 1000)}` +
    ` flags=${clientFlags(c)} db=${c.db} sub=${c.subscriptions} psub=${c.psubscriptions} ssub=${c.ssubscriptions}` +
    ` multi=${c.inMulti ? c.multiQueue.length : -1} qbuf=${qbuf} qbuf-free=${c.parser.bulkSpareBytes()} argv-mem=${c.argvMemory()} multi-mem=${multiMem}` +
    ` rbs=1024 rbp=0 obl=${obl} oll=0 omem=${omem} tot-mem=${totMem} events=${omem > 0 ? 'rw' : 'r'}` +
    ` cmd=${c.lastCommand} user=${c.user.name} redir=${redirOf(c)} resp=${c.resp}`
  );
}

interface ListFilter {
  type: string | null;
  ids: number[] | null;
}

interface ListEntry {
  id: number;
  line: string;
}

function listLocal(srv: ThreadServer, f: ListFilter): ListEntry[] {
  const now = Date.now();
  const out: ListEntry[] = [];
  for (const c of srv.clients.values()) {
    if (c.closed) continue;
    if (f.type !== null && clientType(c) !== f.type) continue;
    if (f.ids !== null && !f.ids.includes(c.id)) continue;
    out.push({ id: c.id, line: clientInfoLine(c, now) });
  }
  return out;
}

/** Redis's getClientTypeByName. */
function typeByName(b: Buffer): string | null {
  const n = lower(b);
  if (n === 'normal' || n === 'pubsub' || n === 'master') return n;
  if (n === 'replica' || n === 'slave') return 'replica';
  return null;
}

function clientList(c: Client, argv: Buffer[]): void {
  const f: ListFilter = { type: null, ids: null };
  if (argv.length === 4 && is(argv[2], 'type')) {
    f.type = typeByName(argv[3]);
    if (f.type === null) return c.w.error(`ERR Unknown client type '${cstr(argv[3], Infinity, true)}'`, true);
  } else if (argv.length >= 4 && is(argv[2], 'id')) {
    f.ids = [];
    for (let i = 3; i < argv.length; i++) {
      const id = parseIntArg(argv[i]);
      if (id === null) return c.w.error('ERR Invalid client ID');
      f.ids.push(id);
    }
  } else if (argv.length !== 2) {
    return c.w.error(E_SYNTAX);
  }
  acrossThreads(c, { op: 'client-list', args: [f] }, writeList);
}

function writeList(c: Client, results: unknown[]): void {
  const all: ListEntry[] = [];
  for (const r of results) if (Array.isArray(r)) for (const e of r as ListEntry[]) all.push(e);
  all.sort((a, b) => a.id - b.id);
  let s = '';
  for (const e of all) s += `${e.line}\n`;
  c.w.verbatim(s);
}

function clientInfo(c: Client): void {
  c.w.verbatim(`${clientInfoLine(c, Date.now())}\n`);
}

// ---------------------------------------------------------------------------------------------
// CLIENT KILL

interface KillFilter {
  id: number;
  addr: string | null;
  laddr: string | null;
  type: string | null;
  user: string | null;
  /** The caller's id when SKIPME yes (the default), else 0. */
  skip: number;
  /** The caller's id: killing it closes it after the reply. */
  caller: number;
}

function killLocal(srv: ThreadServer, f: KillFilter): number {
  let killed = 0;
  for (const c of [...srv.clients.values()]) {
    if (c.closed) continue;
    if (f.id !== 0 && c.id !== f.id) continue;
    if (f.addr !== null && c.addr !== f.addr) continue;
    if (f.laddr !== null && c.laddr !== f.laddr) continue;
    if (f.type !== null && clientType(c) !== f.type) continue;
    if (f.user !== null && c.user.name !== f.user) continue;
    if (f.skip !== 0 && c.id === f.skip) continue;
    // The caller still waits for the other threads' counts: it is closed once its reply is out.
    if (c.id === f.caller) selfKilled.add(c);
    else c.close();
    killed++;
  }
  return killed;
}

/** Callers that CLIENT KILL matched (SKIPME no, or their own address): closed after the reply. */
const selfKilled = new Set<Client>();

function killReply(cl: Client, write: () => void): void {
  write();
  if (selfKilled.delete(cl)) cl.closeAfterReply();
}

function clientKill(c: Client, argv: Buffer[]): void {
  const f: KillFilter = { id: 0, addr: null, laddr: null, type: null, user: null, skip: c.id, caller: c.id };
  if (argv.length === 3) {
    // Old form: CLIENT KILL ip:port (may kill the caller itself).
    f.addr = argv[2].toString();
    f.skip = 0;
    acrossThreads(c, { op: 'client-kill', args: [f] }, (cl, results) =>
      killReply(cl, () => {
        if (sumNumbers(results) === 0) cl.w.error('ERR No such client');
        else cl.w.ok();
      }),
    );
    return;
  }
  for (let i = 2; i < argv.length; i += 2) {
    const more = i + 1 < argv.length;
    const opt = argv[i];
    if (!more) return c.w.error(E_SYNTAX);
    const v = argv[i + 1];
    if (is(opt, 'id')) {
      const id = parseIntArg(v);
      if (id === null || id < 1) return c.w.error('ERR client-id should be greater than 0');
      f.id = id;
    } else if (is(opt, 'type')) {
      f.type = typeByName(v);
      if (f.type === null) return c.w.error(`ERR Unknown client type '${cstr(v, Infinity, true)}'`, true);
    } else if (is(opt, 'addr')) {
      f.addr = v.toString();
    } else if (is(opt, 'laddr')) {
      f.laddr = v.toString();
    } else if (is(opt, 'user')) {
      f.user = v.toString('latin1');
      if (c.srv.acl.get(f.user) === undefined) return c.w.error(`ERR No such user '${f.user}'`, true);
    } else if (is(opt, 'skipme')) {
      if (is(v, 'yes')) f.skip = c.id;
      else if (is(v, 'no')) f.skip = 0;
      else return c.w.error(E_SYNTAX);
    } else {
      return c.w.error(E_SYNTAX);
    }
  }
  acrossThreads(c, { op: 'client-kill', args: [f] }, (cl, results) => killReply(cl, () => cl.w.int(sumNumbers(results))));
}

function sumNumbers(results: unknown[]): number {
  let n = 0;
  for (const r of results) if (typeof r === 'number') n += r;
  return n;
}

// ---------------------------------------------------------------------------------------------
// CLIENT UNBLOCK

function unblockLocal(srv: ThreadServer, id: number, how: 'timeout' | 'error'): number {
  const c = srv.clients.get(id);
  if (c === undefined || c.closed || c.unblock === null) return 0;
  const fn = c.unblock;
  c.unblock = null;
  fn(how);
  return 1;
}

/** CLIENT PAUSE timeout [WRITE|ALL]: every thread holds back the commands the mode covers. */
function clientPause(c: Client, argv: Buffer[]): void {
  if (argv.length > 4) return c.w.error(`ERR unknown subcommand or wrong number of arguments for '${cstr(argv[1])}'. Try CLIENT HELP.`);
  let type = PAUSE_ALL;
  if (argv.length === 4) {
    if (is(argv[3], 'write')) type = PAUSE_WRITE;
    else if (is(argv[3], 'all')) type = PAUSE_ALL;
    else return c.w.error('ERR CLIENT PAUSE mode must be WRITE or ALL');
  }
  const ms = parseIntArg(argv[2]);
  if (ms === null) return c.w.error('ERR timeout is not an integer or out of range');
  if (ms < 0) return c.w.error('ERR timeout is negative');
  pauseClients(c.srv, type, Date.now() + ms);
  c.w.ok();
}

function clientUnpause(c: Client): void {
  unpauseClients(c.srv);
  c.w.ok();
}

function clientUnblock(c: Client, argv: Buffer[]): void {
  const id = parseIntArg(argv[2]);
  if (id === null) return c.w.error(E_NOT_INT);
  let how: 'timeout' | 'error' = 'timeout';
  if (argv.length === 4) {
    if (is(argv[3], 'timeout')) how = 'timeout';
    else if (is(argv[3], 'error')) how = 'error';
    else return c.w.error('ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR');
  } else if (argv.length > 4) {
    return c.w.error(E_SYNTAX);
  }
  // A client blocked on this thread is unblocked at once; others through the other threads.
  const local = c.srv.clients.get(id);
  if (local !== undefined) {
    const n = unblockLocal(c.srv, id, how);
    if (n > 0 && how === 'error') countUnblockFailed(c);
    c.w.int(n);
    return;
  }
  acrossThreads(c, { op: 'client-unblock', args: [id, how] }, (cl, results) => {
    const n = sumNumbers(results) > 0 ? 1 : 0;
    if (n > 0 && how === 'error') countUnblockFailed(cl);
    cl.w.int(n);
  });
}

/**
 * Redis counts the UNBLOCKED error reply against the command that was running when it was
 * written, CLIENT UNBLOCK itself (call()'s failed_calls check), besides the unblocked command.
 */
function countUnblockFailed(c: Client): void {
  const client = lookupCommand(Buffer.from('client'));
  const spec = client === undefined ? undefined : resolveSubcommand(client, Buffer.from('unblock'));
  if (spec !== undefined) c.store.f64[statBase(c.srv.threadId, spec) + 3] += 1;
}

// ---------------------------------------------------------------------------------------------
// Small CLIENT subcommands

function validName(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] < 0x21 || b[i] > 0x7e) return false;
  return true;
}

function clientId(c: Client): void {
  c.w.int(c.id);
}

function clientSetname(c: Client, argv: Buffer[]): void {
  if (!validName(argv[2])) return c.w.error(E_NAME);
  c.name = argv[2].toString('latin1');
  c.w.ok();
}

function clientGetname(c: Client): void {
  if (c.name === '') c.w.nil();
  else c.w.bulkStr(c.name);
}

function clientNoEvict(c: Client, argv: Buffer[]): void {
  if (is(argv[2], 'on')) c.noEvict = true;
  else if (is(argv[2], 'off')) c.noEvict = false;
  else return c.w.error(E_SYNTAX);
  c.w.ok();
}

/** CLIENT REPLY: the dispatcher (Client.replyMode) drops replies while OFF / for a SKIP. */
function clientReply(c: Client, argv: Buffer[]): void {
  if (is(argv[2], 'on')) {
    c.replyMode = 0;
    c.w.ok();
  } else if (is(argv[2], 'off')) {
    c.replyMode = 1;
  } else if (is(argv[2], 'skip')) {
    if (c.replyMode !== 1) c.replyMode = 2;
  } else {
    c.w.error(E_SYNTAX);
  }
}

/** The redirect id, or -1 when tracking is off (CLIENT GETREDIR, CLIENT LIST redir=). */
function redirOf(c: Client): number {
  return (c.tracking & T_ON) !== 0 ? c.trackState?.redirect ?? 0 : -1;
}

function clientGetredir(c: Client): void {
  c.w.int(redirOf(c));
}

function clientTrackinginfo(c: Client): void {
  const f = c.tracking;
  const flags = [(f & T_ON) !== 0 ? 'on' : 'off'];
  if ((f & T_BCAST) !== 0) flags.push('bcast');
  if ((f & T_OPTIN) !== 0) {
    flags.push('optin');
    if ((f & T_CACHING) !== 0) flags.push('caching-yes');
  }
  if ((f & T_OPTOUT) !== 0) {
    flags.push('optout');
    if ((f & T_CACHING) !== 0) flags.push('caching-no');
  }
  if ((f & T_NOLOOP) !== 0) flags.push('noloop');
  if ((f & T_BROKEN) !== 0) flags.push('broken_redirect');
  c.w.map(3);
  c.w.bulkStr('flags');
  c.w.set(flags.length);
  for (const x of flags) c.w.bulkStr(x);
  c.w.bulkStr('redirect');
  c.w.int(redirOf(c));
  c.w.bulkStr('prefixes');
  // In byte order, as Redis walks its radix tree of prefixes.
  const pfx = [...(c.trackState?.prefixes ?? [])].sort();
  c.w.array(pfx.length);
  for (const p of pfx) c.w.bulk(Buffer.from(p, 'latin1'));
}

/**
 * CLIENT TRACKING (ON|OFF) [REDIRECT id] [BCAST] [PREFIX p]... [OPTIN] [OPTOUT] [NOLOOP], as
 * networking.c checks it. A redirect id not on this thread is looked up on the others first
 * (the client waits), then the command runs again knowing where that client lives.
 */
function clientTracking(c: Client, argv: Buffer[], found?: Map<number, number>): void {
  let redir = 0;
  let redirThread = 0;
  let options = 0;
  const pfx: Buffer[] = [];
  for (let j = 3; j < argv.length; j++) {
    const more = argv.length - 1 - j;
    const a = argv[j];
    if (is(a, 'redirect') && more > 0) {
      j++;
      if (redir !== 0) return c.w.error('ERR A client can only redirect to a single other client');
      const id = parseIntArg(argv[j]);
      if (id === null) return c.w.error(E_NOT_INT);
      const local = c.srv.clients.get(id);
      if (local !== undefined && !local.closed) redirThread = c.srv.threadId;
      else if (found !== undefined && found.has(id)) redirThread = found.get(id) as number;
      else if (found === undefined && id > 0) {
        acrossThreads(c, { op: 'client-thread', args: [id] }, (cl, results) => {
          let t = 0;
          for (const r of results) if (typeof r === 'number' && r > 0) t = r;
          const m = new Map<number, number>();
          if (t > 0) m.set(id, t);
          clientTracking(cl, argv, m);
        });
        return;
      } else redirThread = 0;
      if (redirThread === 0) return c.w.error('ERR The client ID you want redirect to does not exist');
      redir = id;
    } else if (is(a, 'bcast')) options |= T_BCAST;
    else if (is(a, 'optin')) options |= T_OPTIN;
    else if (is(a, 'optout')) options |= T_OPTOUT;
    else if (is(a, 'noloop')) options |= T_NOLOOP;
    else if (is(a, 'prefix') && more > 0) {
      j++;
      pfx.push(argv[j]);
    } else return c.w.error(E_SYNTAX);
  }
  if (is(argv[2], 'on')) {
    if ((options & T_BCAST) === 0 && pfx.length > 0) return c.w.error('ERR PREFIX option requires BCAST mode to be enabled');
    if ((c.tracking & T_ON) !== 0 && (c.tracking & T_BCAST) !== (options & T_BCAST)) {
      return c.w.error("ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.");
    }
    if ((options & T_BCAST) !== 0 && (options & (T_OPTIN | T_OPTOUT)) !== 0) return c.w.error('ERR OPTIN and OPTOUT are not compatible with BCAST');
    if ((options & T_OPTIN) !== 0 && (options & T_OPTOUT) !== 0) return c.w.error("ERR You can't specify both OPTIN mode and OPTOUT mode");
    if (((options & T_OPTIN) !== 0 && (c.tracking & T_OPTOUT) !== 0) || ((options & T_OPTOUT) !== 0 && (c.tracking & T_OPTIN) !== 0)) {
      return c.w.error("ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.");
    }
    if ((options & T_BCAST) !== 0) {
      const err = prefixCollision(c, pfx);
      if (err !== null) return c.w.error(err);
    }
    enableTracking(c, redir, redirThread, options, pfx);
  } else if (is(argv[2], 'off')) {
    disableTracking(c);
  } else {
    return c.w.error(E_SYNTAX);
  }
  c.w.ok();
}

function clientCaching(c: Client, argv: Buffer[]): void {
  if ((c.tracking & T_ON) === 0) {
    return c.w.error('ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled');
  }
  if (is(argv[2], 'yes')) {
    if ((c.tracking & T_OPTIN) === 0) return c.w.error('ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.');
  } else if (is(argv[2], 'no')) {
    if ((c.tracking & T_OPTOUT) === 0) return c.w.error('ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.');
  } else {
    return c.w.error(E_SYNTAX);
  }
  c.tracking |= T_CACHING;
  c.w.ok();
}

const CLIENT_HELP = [
  'CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'CACHING (YES|NO)',
  '    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.',
  'GETREDIR',
  '    Return the client ID we are redirecting to when tracking is enabled.',
  'GETNAME',
  '    Return the name of the current connection.',
  'ID',
  '    Return the ID of the current connection.',
  'INFO',
  '    Return information about the current client connection.',
  'KILL <ip:port>',
  '    Kill connection made from <ip:port>.',
  'KILL <option> <value> [<option> <value> [...]]',
  '    Kill connections. Options are:',
  '    * ADDR (<ip:port>|<unixsocket>:0)',
  '      Kill connections made from the specified address',
  '    * LADDR (<ip:port>|<unixsocket>:0)',
  '      Kill connections made to specified local address',
  '    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)',
  '      Kill connections by type.',
  '    * USER <username>',
  '      Kill connections authenticated by <username>.',
  '    * SKIPME (YES|NO)',
  '      Skip killing current connection (default: yes).',
  'LIST [options ...]',
  '    Return information about client connections. Options:',
  '    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)',
  '      Return clients of specified type.',
  'UNPAUSE',
  '    Stop the current client pause, resuming traffic.',
  'PAUSE <timeout> [WRITE|ALL]',
  '    Suspend all, or just write, clients for <timeout> milliseconds.',
  'REPLY (ON|OFF|SKIP)',
  '    Control the replies sent to the current connection.',
  'SETNAME <name>',
  '    Assign the name <name> to the current connection.',
  'UNBLOCK <clientid> [TIMEOUT|ERROR]',
  '    Unblock the specified blocked client.',
  'TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]',
  '         [OPTIN] [OPTOUT] [NOLOOP]',
  '    Control server assisted client side caching.',
  'TRACKINGINFO',
  '    Report tracking status for the current connection.',
  'NO-EVICT (ON|OFF)',
  '    Protect current client connection from eviction.',
  'HELP',
  '    Prints this help.',
];

/** Write a HELP reply (array of simple strings, as Redis's addReplyHelp). */
export function writeHelp(c: Client, lines: string[]): void {
  c.w.array(lines.length);
  for (const l of lines) c.w.simple(l);
}

function clientHelp(c: Client): void {
  writeHelp(c, CLIENT_HELP);
}

function clientContainer(c: Client): void {
  c.w.error("ERR wrong number of arguments for 'client' command");
}

// ---------------------------------------------------------------------------------------------
// HELLO / AUTH / RESET


function hello(c: Client, argv: Buffer[]): void {
  let ver = 0;
  let next = 1;
  if (argv.length >= 2) {
    const v = parseIntArg(argv[next++]);
    if (v === null) return c.w.error('ERR Protocol version is not an integer or out of range');
    if (v < 2 || v > 3) return c.w.error('NOPROTO unsupported protocol version');
    ver = v;
  }
  let user: Buffer | null = null;
  let pass: Buffer | null = null;
  let name: Buffer | null = null;
  for (let j = next; j < argv.length; j++) {
    const more = argv.length - 1 - j;
    if (is(argv[j], 'auth') && more >= 2) {
      user = argv[j + 1];
      pass = argv[j + 2];
      j += 2;
    } else if (is(argv[j], 'setname') && more >= 1) {
      name = argv[j + 1];
      if (!validName(name)) return c.w.error(E_NAME);
      j++;
    } else {
      return c.w.error(`ERR Syntax error in HELLO option '${cstr(argv[j], Infinity, true)}'`, true);
    }
  }
  if (user !== null && pass !== null && !authenticate(c, user, pass, argv)) return c.w.error(E_WRONGPASS);
  if (!c.authenticated) {
    return c.w.error(
      'NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time',
    );
  }
  if (name !== null) c.name = name.toString('latin1');
  if (ver !== 0) {
    c.resp = ver;
    c.w.resp = ver;
  }
  const w = c.w;
  w.map(7);
  w.bulkStr('server');
  w.bulkStr('redis');
  w.bulkStr('version');
  w.bulkStr('7.0.15');
  w.bulkStr('proto');
  w.int(c.resp);
  w.bulkStr('id');
  w.int(c.id);
  w.bulkStr('mode');
  w.bulkStr('standalone');
  w.bulkStr('role');
  w.bulkStr(roleName(c.store));
  w.bulkStr('modules');
  w.array(0);
}

function auth(c: Client, argv: Buffer[]): void {
  if (argv.length > 3) return c.w.error(E_SYNTAX);
  if (argv.length === 2) {
    if (c.srv.acl.defaultUser.nopass) {
      return c.w.error('ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?');
    }
    if (!authenticate(c, Buffer.from('default'), argv[1], argv)) return c.w.error(E_WRONGPASS);
    return c.w.ok();
  }
  if (!authenticate(c, argv[1], argv[2], argv)) return c.w.error(E_WRONGPASS);
  c.w.ok();
}

function reset(c: Client): void {
  for (const h of resetHooks) h(c);
  disableTracking(c);
  // Transaction state and watched keys, pub/sub subscriptions (without notifications).
  c.inMulti = false;
  c.multiError = false;
  c.multiQueue = [];
  unwatchAll(c);
  stopMonitor(c);
  const ps = c.srv.pubsub as PubSub | undefined;
  if (ps !== undefined) {
    for (let kind = 0; kind < 3; kind++) ps.unsubscribeAll(c, kind);
  }
  c.db = 0;
  c.resp = 2;
  c.w.resp = 2;
  c.name = '';
  c.replyMode = 0;
  c.noEvict = false;
  // clearClientConnectionState: back to the default user, authenticated if it needs no password.
  c.user = c.srv.acl.defaultUser;
  c.authenticated = defaultUserOpen(c.srv);
  c.w.simple('RESET');
}

// ---------------------------------------------------------------------------------------------

const sub = (name: string, arity: number, flags: string, summary: string, handler: CommandSpec['handler'], acl: string[], since = '2.4.0'): CommandSpec =>
  def(name, arity, flags, [0, 0, 0], 'connection', summary, handler, { lock: 'none', acl, since });

const ADMIN = ['admin', 'slow', 'dangerous', 'connection'];
const CONN = ['slow', 'connection'];

export const commands: CommandSpec[] = [
  def('hello', -1, 'noscript loading stale fast no_auth allow_busy', [0, 0, 0], 'connection', 'Handshake with Redis', hello, {
    lock: 'none',
    since: '6.0.0',
    acl: ['fast', 'connection'],
    complexity: 'O(1)',
  }),
  def('auth', -2, 'noscript loading stale fast no_auth allow_busy', [0, 0, 0], 'connection', 'Authenticate to the server', auth, {
    lock: 'none',
    acl: ['fast', 'connection'],
    complexity: 'O(N) where N is the number of passwords defined for the user',
  }),
  def('reset', 1, 'noscript loading stale fast no_auth allow_busy', [0, 0, 0], 'connection', 'Reset the connection', reset, {
    lock: 'none',
    since: '6.2.0',
    acl: ['fast', 'connection'],
    complexity: 'O(1)',
  }),
  def('client', -2, '', [0, 0, 0], 'connection', 'A container for client connection commands', clientContainer, {
    lock: 'none',
    acl: ['slow'],
    complexity: 'Depends on subcommand.',
    subcommands: [
      sub('list', -2, 'admin noscript loading stale', 'Get the list of client connections', clientList, ADMIN),
      sub('setname', 3, 'noscript loading stale', 'Set the current connection name', clientSetname, CONN, '2.6.9'),
      sub('reply', 3, 'noscript loading stale', 'Instruct the server whether to reply to commands', clientReply, CONN, '3.2.0'),
      sub('info', 2, 'noscript loading stale', 'Returns information about the current client connection.', clientInfo, CONN, '6.2.0'),
      sub('no-evict', 3, 'admin noscript loading stale', 'Set client eviction mode for the current connection', clientNoEvict, ADMIN, '7.0.0'),
      sub('pause', -3, 'admin noscript loading stale', 'Stop processing commands from clients for some time', clientPause, ADMIN, '3.0.0'),
      sub('unpause', 2, 'admin noscript loading stale', 'Resume processing of clients that were paused', clientUnpause, ADMIN, '6.2.0'),
      sub('unblock', -3, 'admin noscript loading stale', 'Unblock a client blocked in a blocking command from a different connection', clientUnblock, ADMIN, '5.0.0'),
      sub('tracking', -3, 'noscript loading stale', 'Enable or disable server assisted client side caching support', (c, argv) => clientTracking(c, argv), CONN, '6.0.0'),
      sub('caching', 3, 'noscript loading stale', 'Instruct the server about tracking or not keys in the next request', clientCaching, CONN, '6.0.0'),
      sub('getredir', 2, 'noscript loading stale', 'Get tracking notifications redirection client ID if any', clientGetredir, CONN, '6.0.0'),
      sub('getname', 2, 'noscript loading stale', 'Get the current connection name', clientGetname, CONN, '2.6.9'),
      sub('help', 2, 'loading stale', 'Show helpful text about the different subcommands', clientHelp, CONN, '5.0.0'),
      sub('trackinginfo', 2, 'noscript loading stale', 'Return information about server assisted client side caching for the current connection', clientTrackinginfo, CONN, '6.2.0'),
      sub('kill', -3, 'admin noscript loading stale', 'Kill the connection of a client', clientKill, ADMIN),
      sub('id', 2, 'noscript loading stale', 'Returns the client ID for the current connection', clientId, CONN, '5.0.0'),
    ],
  }),
];

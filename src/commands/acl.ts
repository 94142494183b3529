// ACL: users and permissions (Redis 7.0's aclCommand), plus what the dispatcher, AUTH and scripts
// call when a command is denied. The users live in every thread (srv.acl, server/acl.ts); a
// change is validated here, then its whole serialized state goes to every thread with a version
// taken from a shared word ('acl-state'), and the reply leaves once every thread adopted it: the
// next command on any thread sees the change. Concurrent changes on two threads: the higher
// version wins everywhere (one of the two is lost, never a mix of them).
import * as fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { CommandSpec } from './types';
import type { Client } from '../server/client';
import type { ThreadServer } from '../server/context';
import { def } from './def';
import { replyLater } from './deferred';
import { acrossThreads, clientInfoLine, writeHelp } from './connection';
import { lookupCommand, resolveSubcommand } from './registry';
import { E_NOT_INT, cstr, is, parseIntArg } from './args';
import {
  ACL_OK, AclUser, DENIED_CMD, DENIED_KEY, Users, aclFileLines, categoryNames, commandsInCategory, deniedIdx, setClientInfo,
  type AclLogEntry, type UserState,
} from '../server/acl';

// ACL LOG's client-info is a CLIENT LIST line.
setClientInfo(clientInfoLine);

/** Shared misc word holding the last ACL state version (acl's words are 20-23). */
export const M_ACL_VERSION = 20;


// ---------------------------------------------------------------------------------------------
// Cross-thread state

/** Apply a new set of users everywhere; `done` writes the reply once every thread has it. */
function publish(c: Client, users: Users | UserState[], opts: { killAll?: boolean }, done: (c: Client) => void): void {
  const state = users instanceof Users ? users.toState() : users;
  const version = Atomics.add(c.store.i32, c.store.L.misc + M_ACL_VERSION, 1) + 1;
  acrossThreads(c, { op: 'acl-state', args: [version, state, opts.killAll === true, c.srv.threadId, c.id] }, (cl) => {
    done(cl);
    // A client whose own user went away gets its reply, then is closed (CLIENT_CLOSE_AFTER_COMMAND).
    if (closeSelf.delete(cl)) cl.closeAfterReply();
  });
}

/** Clients that ran the change that removed their own user: closed once their reply is out. */
const closeSelf = new Set<Client>();

/** Adopt a state broadcast by any thread (this one included) and move this thread's clients to it. */
export function adoptAclState(srv: ThreadServer, version: number, state: UserState[], killAll: boolean, originThread: number, originId: number): void {
  const acl = srv.acl;
  if (version <= acl.version) return;
  acl.adopt(state, version);
  for (const cl of srv.clients.values()) {
    const old = cl.user;
    if (old.internal || cl.closed) continue;
    const nu = acl.get(old.name);
    const self = originThread === srv.threadId && originId === cl.id;
    if (nu === undefined || (killAll && old.name !== 'default')) {
      // ACLFreeUserAndKillClients: the default user, unauthenticated, then closed.
      cl.user = acl.defaultUser;
      cl.authenticated = false;
      if (self) closeSelf.add(cl);
      else cl.close();
      continue;
    }
    cl.user = nu;
    // ACLKillPubsubClientsIfNeeded: subscribers to what the user may no longer subscribe to.
    if (cl.subscriptions + cl.psubscriptions + cl.ssubscriptions > 0 && !pubsubStillAllowed(srv, cl, nu)) {
      if (self) closeSelf.add(cl);
      else cl.close();
    }
  }
}

function pubsubStillAllowed(srv: ThreadServer, cl: Client, u: AclUser): boolean {
  const ps = srv.pubsub;
  if (ps === undefined) return true;
  for (let kind = 0; kind < 3; kind++) {
    for (const name of ps.names(cl, kind)) {
      if (!u.channelAllowed(Buffer.from(name, 'latin1'), kind === 2)) return false;
    }
  }
  return true;
}

/** Register the ACL's cross-thread handler on a worker. */
export function installAclHandlers(srv: ThreadServer): void {
  srv.requestHandlers.set('acl-sync', () => null);
  srv.requestHandlers.set('acl-state', (args) => {
    adoptAclState(srv, args[0] as number, args[1] as UserState[], args[2] as boolean, args[3] as number, args[4] as number);
    return null;
  });
  // requirepass sets the default user's password (ACLUpdateDefaultUserPassword) on every thread.
  srv.configListeners.push((name, value) => {
    if (name !== 'requirepass') return;
    const d = srv.acl.defaultUser;
    d.apply('resetpass', srv.acl.pubsubDefault);
    d.apply(value === '' ? 'nopass' : `>${value}`, srv.acl.pubsubDefault);
    d.refresh();
  });
  srv.configListeners.push((name, value) => {
    if (name === 'acl-pubsub-default') srv.acl.pubsubDefault = value === 'allchannels' ? 4 : 0;
  });
}

// ---------------------------------------------------------------------------------------------
// ACL subcommands

function hasSpaces(s: string): boolean {
  return /[\s\0]/.test(s);
}

function aclSetuser(c: Client, argv: Buffer[]): void {
  const name = argv[2].toString('latin1');
  if (hasSpaces(name)) return c.w.error("ERR Usernames can't contain spaces or null characters");
  const r = c.srv.acl.setUser(name, argv.slice(3).map((a) => a.toString('latin1')));
  if (typeof r === 'string') return c.w.error(`ERR ${r}`, true);
  const state = c.srv.acl.toState().filter((u) => u.name !== name);
  state.push(r.toState());
  publish(c, state, {}, (cl) => cl.w.ok());
}

function aclDeluser(c: Client, argv: Buffer[]): void {
  const names = argv.slice(2).map((a) => a.toString('latin1'));
  if (names.includes('default')) return c.w.error("ERR The 'default' user cannot be removed");
  const gone = new Set(names.filter((n) => c.srv.acl.get(n) !== undefined));
  if (gone.size === 0) return c.w.int(0);
  const state = c.srv.acl.toState().filter((u) => !gone.has(u.name));
  publish(c, state, {}, (cl) => cl.w.int(gone.size));
}

function writeSelector(c: Client, s: AclUser['selectors'][number]): void {
  const w = c.w;
  w.bulkStr('commands');
  w.bulkStr(s.describeCommands());
  w.bulkStr('keys');
  w.bulk(Buffer.from(s.keysDescription(), 'latin1'));
  w.bulkStr('channels');
  w.bulk(Buffer.from(s.channelsDescription(), 'latin1'));
}

function aclGetuser(c: Client, argv: Buffer[]): void {
  const u = c.srv.acl.get(argv[2].toString('latin1'));
  const w = c.w;
  if (u === undefined) return w.nil();
  w.map(6);
  w.bulkStr('flags');
  const flags = u.flagNames();
  w.set(flags.length);
  for (const f of flags) w.bulkStr(f);
  w.bulkStr('passwords');
  w.array(u.passwords.length);
  for (const p of u.passwords) w.bulkStr(p);
  writeSelector(c, u.root);
  w.bulkStr('selectors');
  w.array(u.selectors.length - 1);
  for (let i = 1; i < u.selectors.length; i++) {
    w.map(3);
    writeSelector(c, u.selectors[i]);
  }
}

function aclList(c: Client): void {
  const users = c.srv.acl.sorted();
  c.w.array(users.length);
  for (const u of users) c.w.bulk(Buffer.from(`user ${u.name} ${u.describe()}`, 'latin1'));
}

function aclUsers(c: Client): void {
  const users = c.srv.acl.sorted();
  c.w.array(users.length);
  for (const u of users) c.w.bulk(Buffer.from(u.name, 'latin1'));
}

function aclWhoami(c: Client): void {
  c.w.bulk(Buffer.from(c.user.name, 'latin1'));
}

const E_NO_ACLFILE =
  'ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.';

function aclLoad(c: Client): void {
  const file = c.srv.config.str('aclfile');
  if (file === '') return c.w.error(E_NO_ACLFILE);
  const r = loadAclFile(file, c.srv.acl.pubsubDefault);
  if (typeof r === 'string') return c.w.error(`ERR ${r}`, true);
  publish(c, [...r.values()].map((u) => u.toState()), { killAll: true }, (cl) => cl.w.ok());
}

/** ACLLoadFromFile: the users, or the error text. */
export function loadAclFile(file: string, pubsubDefault: number): Map<string, AclUser> | string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'latin1');
  } catch (e) {
    return `Error loading ACLs, opening file '${file}': ${strerror(e)}`;
  }
  const r = Users.load(aclFileLines(text), file, pubsubDefault, true);
  if ('error' in r) return `${r.error}WARNING: ACL errors detected, no change to the previously active ACL rules was performed`;
  return r.users;
}

function strerror(e: unknown): string {
  const code = (e as { code?: string }).code;
  if (code === 'ENOENT') return 'No such file or directory';
  if (code === 'EACCES') return 'Permission denied';
  if (code === 'EISDIR') return 'Is a directory';
  return (e as Error).message;
}

function aclSave(c: Client): void {
  const file = c.srv.config.str('aclfile');
  if (file === '') return c.w.error(E_NO_ACLFILE);
  let text = '';
  for (const u of c.srv.acl.sorted()) text += `user ${u.name} ${u.describe()}\n`;
  const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
  try {
    fs.writeFileSync(tmp, Buffer.from(text, 'latin1'), { mode: 0o644 });
    fs.renameSync(tmp, file);
  } catch {
    try {
      fs.unlinkSync(tmp);
    } catch {
      // nothing to remove
    }
    return c.w.error('ERR There was an error trying to save the ACLs. Please check the server logs for more information');
  }
  c.w.ok();
}

function aclCat(c: Client, argv: Buffer[]): void {
  if (argv.length === 2) {
    const names = categoryNames();
    c.w.array(names.length);
    for (const n of names) c.w.bulkStr(n);
    return;
  }
  if (argv.length !== 3) return subcommandSyntax(c, argv);
  const list = commandsInCategory(argv[2].toString('latin1'));
  if (list === undefined) return c.w.error(`ERR Unknown category '${cstr(argv[2], 128)}'`, true);
  c.w.array(list.length);
  for (const n of list) c.w.bulkStr(n);
}

function aclGenpass(c: Client, argv: Buffer[]): void {
  let bits = 256;
  if (argv.length === 3) {
    const v = parseIntArg(argv[2]);
    if (v === null) return c.w.error(E_NOT_INT);
    bits = v;
  } else if (argv.length > 3) return subcommandSyntax(c, argv);
  if (bits <= 0 || bits > 4096) return c.w.error('ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096');
  const chars = Math.floor((bits + 3) / 4);
  c.w.bulkStr(randomBytes(Math.ceil(chars / 2)).toString('hex').slice(0, chars));
}

const REASONS = ['unknown', 'command', 'key', 'auth', 'channel'];
const CONTEXTS = ['toplevel', 'lua', 'multi', 'module'];

/**
 * Entries other threads logged before this command reached the main thread first: a round trip
 * through every thread (each answers on the port its entries went out on, in order).
 */
function logSettled(srv: ThreadServer): Promise<unknown> {
  return srv.threads > 1 ? srv.broadcast({ op: 'acl-sync', args: [] }, false).catch(() => null) : Promise.resolve(null);
}

function aclLog(c: Client, argv: Buffer[]): void {
  if (argv.length > 3) return subcommandSyntax(c, argv);
  let count = 10;
  if (argv.length === 3) {
    if (is(argv[2], 'reset')) {
      replyLater(c, logSettled(c.srv).then(() => c.srv.askMain('acl-log-reset', [])), (cl) => cl.w.ok());
      return;
    }
    const v = parseIntArg(argv[2]);
    if (v === null) return c.w.error(E_NOT_INT);
    count = Math.max(0, v);
  }
  replyLater(c, logSettled(c.srv).then(() => c.srv.askMain('acl-log', [count])), (cl, res) => {
    const entries = (Array.isArray(res) ? res : []) as AclLogEntry[];
    const now = Date.now();
    const w = cl.w;
    w.array(entries.length);
    for (const le of entries) {
      w.map(7);
      w.bulkStr('count');
      w.int(le.count);
      w.bulkStr('reason');
      w.bulkStr(REASONS[le.reason] ?? 'unknown');
      w.bulkStr('context');
      w.bulkStr(CONTEXTS[le.context] ?? 'unknown');
      w.bulkStr('object');
      w.bulk(Buffer.from(le.object, 'latin1'));
      w.bulkStr('username');
      w.bulk(Buffer.from(le.username, 'latin1'));
      w.bulkStr('age-seconds');
      w.double((now - le.ctime) / 1000);
      w.bulkStr('client-info');
      w.bulk(Buffer.from(le.cinfo, 'latin1'));
    }
  });
}

function aclDryrun(c: Client, argv: Buffer[]): void {
  const u = c.srv.acl.get(argv[2].toString('latin1'));
  if (u === undefined) return c.w.error(`ERR User '${argv[2].toString('latin1')}' not found`, true);
  const cmdArgv = argv.slice(3);
  let spec = lookupCommand(cmdArgv[0]);
  if (spec !== undefined && spec.subcommands !== undefined && cmdArgv.length >= 2) spec = resolveSubcommand(spec, cmdArgv[1]);
  if (spec === undefined) return c.w.error(`ERR Command '${argv[3].toString('latin1')}' not found`, true);
  if ((spec.arity > 0 && spec.arity !== cmdArgv.length) || cmdArgv.length < -spec.arity) {
    return c.w.error(`ERR wrong number of arguments for '${spec.fullName as string}' command`);
  }
  const r = u.check(spec, cmdArgv);
  if (r === ACL_OK) return c.w.ok();
  let text: string;
  if (r === DENIED_CMD) text = `This user has no permissions to run the '${spec.fullName as string}' command`;
  else if (r === DENIED_KEY) text = `This user has no permissions to access the '${cmdArgv[deniedIdx].toString('latin1')}' key`;
  else text = `This user has no permissions to access the '${cmdArgv[deniedIdx].toString('latin1')}' channel`;
  c.w.bulk(Buffer.from(text, 'latin1'));
}

const ACL_HELP = [
  'ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'CAT [<category>]',
  '    List all commands that belong to <category>, or all command categories',
  '    when no category is specified.',
  'DELUSER <username> [<username> ...]',
  '    Delete a list of users.',
  'DRYRUN <username> <command> [<arg> ...]',
  '    Returns whether the user can execute the given command without executing the command.',
  'GETUSER <username>',
  "    Get the user's details.",
  'GENPASS [<bits>]',
  '    Generate a secure 256-bit user password. The optional `bits` argument can',
  '    be used to specify a different size.',
  'LIST',
  '    Show users details in config file format.',
  'LOAD',
  '    Reload users from the ACL file.',
  'LOG [<count> | RESET]',
  '    Show the ACL log entries.',
  'SAVE',
  '    Save the current config to the ACL file.',
  'SETUSER <username> <attribute> [<attribute> ...]',
  '    Create or modify a user with the specified attributes.',
  'USERS',
  '    List all the registered usernames.',
  'WHOAMI',
  '    Return the current connection username.',
  'HELP',
  '    Prints this help.',
];

function subcommandSyntax(c: Client, argv: Buffer[]): void {
  c.w.error(`ERR unknown subcommand or wrong number of arguments for '${cstr(argv[1])}'. Try ACL HELP.`, true);
}

function aclContainer(c: Client): void {
  c.w.error("ERR wrong number of arguments for 'acl' command");
}

// ---------------------------------------------------------------------------------------------

const ADMIN = ['admin', 'slow', 'dangerous'];
const SLOW = ['slow'];
const sub = (name: string, arity: number, flags: string, summary: string, handler: CommandSpec['handler'], acl: string[], complexity: string, since = '6.0.0'): CommandSpec =>
  def(name, arity, flags, [0, 0, 0], 'server', summary, handler, { lock: 'none', acl, since, complexity });
const ANS = 'admin noscript loading stale';
const NS = 'noscript loading stale';

export const commands: CommandSpec[] = [
  def('acl', -2, '', [0, 0, 0], 'server', 'A container for Access List Control commands', aclContainer, {
    lock: 'none',
    since: '6.0.0',
    acl: ['slow'],
    complexity: 'Depends on subcommand.',
    subcommands: [
      sub('cat', -2, NS, 'List the ACL categories or the commands inside a category', aclCat, SLOW, 'O(1) since the categories and commands are a fixed set.'),
      sub('deluser', -3, ANS, 'Remove the specified ACL users and the associated rules', aclDeluser, ADMIN, 'O(1) amortized time considering the typical user.'),
      sub('getuser', 3, ANS, 'Get the rules for a specific ACL user', aclGetuser, ADMIN, 'O(N). Where N is the number of password, command and pattern rules that the user has.'),
      sub('load', 2, ANS, 'Reload the ACLs from the configured ACL file', aclLoad, ADMIN, 'O(N). Where N is the number of configured users.'),
      sub('log', -2, ANS, 'List latest events denied because of ACLs in place', aclLog, ADMIN, 'O(N) with N being the number of entries shown.'),
      sub('whoami', 2, NS, 'Return the name of the user associated to the current connection', aclWhoami, SLOW, 'O(1)'),
      sub('list', 2, ANS, 'List the current ACL rules in ACL config file format', aclList, ADMIN, 'O(N). Where N is the number of configured users.'),
      sub('users', 2, ANS, 'List the username of all the configured ACL rules', aclUsers, ADMIN, 'O(N). Where N is the number of configured users.'),
      sub('help', 2, 'loading stale', 'Show helpful text about the different subcommands', (c) => writeHelp(c, ACL_HELP), SLOW, 'O(1)'),
      sub('genpass', -2, NS, 'Generate a pseudorandom secure password to use for ACL users', aclGenpass, SLOW, 'O(1)'),
      sub('dryrun', -4, ANS, 'Returns whether the user can execute the given command without executing the command.', aclDryrun, ADMIN, 'O(1).', '7.0.0'),
      sub('setuser', -3, ANS, 'Modify or create the rules for a specific ACL user', aclSetuser, ADMIN, 'O(N). Where N is the number of rules provided.'),
      sub('save', 2, ANS, 'Save the current ACL rules in the configured ACL file', aclSave, ADMIN, 'O(N). Where N is the number of configured users.'),
    ],
  }),
];


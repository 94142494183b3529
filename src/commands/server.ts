// Connection and server commands: PING, ECHO, QUIT, SELECT, DEBUG...
import type { CommandSpec } from './types';
import type { Client } from '../server/client';
import { def } from './def';
import { E_DB_INDEX, is, parseIntArg } from './args';
import { NSLOTS } from '../store/crc16';

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
    c.store.check(problems);
    if (problems.length === 0) return c.w.ok();
    return c.w.error(`ERR structure check failed: ${problems.slice(0, 20).join('; ')}`);
  }
  if (is(sub, 'sleep') && argv.length === 3) {
    const secs = Number(argv[2].toString());
    const until = Date.now() + secs * 1000;
    while (Date.now() < until) { /* DEBUG SLEEP blocks the thread, as in Redis */ }
    return c.w.ok();
  }
  c.w.error(`ERR unknown subcommand '${sub.toString()}'. Try DEBUG HELP.`);
}

function debugLock(argv: Buffer[]): 'keys' | 'all' {
  return argv.length > 1 && is(argv[1], 'check') ? 'all' : 'keys';
}

export const commands: CommandSpec[] = [
  def('ping', -1, 'fast', [0, 0, 0], 'connection', 'Ping the server', ping, { lock: 'none', acl: ['fast', 'connection'] }),
  def('echo', 2, 'fast', [0, 0, 0], 'connection', 'Echo the given string', echo, { lock: 'none', acl: ['fast', 'connection'] }),
  def('quit', -1, 'allow_busy noscript loading stale fast no_auth', [0, 0, 0], 'connection', 'Close the connection', quit, { lock: 'none', acl: ['fast', 'connection'] }),
  def('select', 2, 'loading stale fast', [0, 0, 0], 'connection', 'Change the selected database for the current connection', select, { lock: 'none', acl: ['fast', 'connection'] }),
  def('debug', -2, 'admin noscript loading stale', [0, 0, 0], 'server', 'A container for debugging commands', debug, { lockFor: debugLock, acl: ['admin', 'slow', 'dangerous'] }),
];
void NSLOTS;

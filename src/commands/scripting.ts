// Scripting and functions: shardis has no Lua engine, so the script cache and the function
// library registry are always empty. The administrative subcommands that are meaningful on an
// empty registry (SCRIPT FLUSH/EXISTS/KILL, FUNCTION FLUSH/LIST/KILL/STATS) answer exactly as
// Redis 7.0 does with nothing loaded, so tools and test suites that reset them work.
import type { CommandSpec } from './types';
import type { Client } from '../server/client';
import { def } from './def';
import { is, cstr } from './args';
import { writeHelp } from './connection';

function flushMode(argv: Buffer[]): boolean {
  return argv.length === 2 || (argv.length === 3 && (is(argv[2], 'sync') || is(argv[2], 'async')));
}

function scriptFlush(c: Client, argv: Buffer[]): void {
  if (!flushMode(argv)) return c.w.error('ERR SCRIPT FLUSH only support SYNC|ASYNC option');
  c.w.ok();
}

function scriptExists(c: Client, argv: Buffer[]): void {
  c.w.array(argv.length - 2);
  for (let i = 2; i < argv.length; i++) c.w.int(0);
}

function notBusy(c: Client): void {
  c.w.error('NOTBUSY No scripts in execution right now.');
}

function functionFlush(c: Client, argv: Buffer[]): void {
  if (argv.length > 3) return c.w.error(`ERR unknown subcommand or wrong number of arguments for '${cstr(argv[1])}'. Try FUNCTION HELP.`);
  if (!flushMode(argv)) return c.w.error('ERR FUNCTION FLUSH only supports SYNC|ASYNC option');
  c.store.dirty++;
  c.w.ok();
}

function functionList(c: Client, argv: Buffer[]): void {
  let withCode = false;
  let libName = false;
  for (let i = 2; i < argv.length; i++) {
    if (!withCode && is(argv[i], 'withcode')) {
      withCode = true;
      continue;
    }
    if (!libName && is(argv[i], 'libraryname')) {
      if (i >= argv.length - 1) return c.w.error('ERR library name argument was not given');
      libName = true;
      i++;
      continue;
    }
    return c.w.error(`ERR Unknown argument ${argv[i].toString()}`);
  }
  c.w.array(0);
}

function functionStats(c: Client): void {
  c.w.map(2);
  c.w.bulkStr('running_script');
  c.w.nil();
  c.w.bulkStr('engines');
  c.w.map(1);
  c.w.bulkStr('LUA');
  c.w.map(2);
  c.w.bulkStr('libraries_count');
  c.w.int(0);
  c.w.bulkStr('functions_count');
  c.w.int(0);
}

function container(name: string): CommandSpec['handler'] {
  return (c: Client) => c.w.error(`ERR wrong number of arguments for '${name}' command`);
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

export const commands: CommandSpec[] = [
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
      sub('kill', 2, 'noscript allow_busy', 'Kill the script currently in execution.', notBusy, {
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
      sub('flush', -2, 'write noscript', 'Deleting all functions', functionFlush, {
        since: '7.0.0', acl: ['write', 'slow', 'scripting'], complexity: 'O(N) where N is the number of functions deleted',
        tips: ['request_policy:all_shards', 'response_policy:all_succeeded'],
      }),
      sub('list', -2, 'noscript', 'List information about all the functions', functionList, {
        since: '7.0.0', acl: ['slow', 'scripting'], complexity: 'O(N) where N is the number of functions', tips: ['nondeterministic_output_order'],
      }),
      sub('stats', 2, 'noscript allow_busy', 'Return information about the function currently running (name, description, duration)', functionStats, {
        since: '7.0.0', acl: ['slow', 'scripting'], complexity: 'O(1)',
        tips: ['nondeterministic_output', 'request_policy:all_shards', 'response_policy:special'],
      }),
      sub('kill', 2, 'noscript allow_busy', 'Kill the function currently in execution.', notBusy, {
        since: '7.0.0', acl: ['slow', 'scripting'], complexity: 'O(1)', tips: ['request_policy:all_shards', 'response_policy:one_succeeded'],
      }),
      sub('help', 2, 'loading stale', 'Show helpful text about the different subcommands', (c) => writeHelp(c, FUNCTION_HELP), {
        since: '7.0.0', acl: ['slow', 'scripting'], complexity: 'O(1)',
      }),
    ],
  }),
];

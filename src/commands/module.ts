// MODULE (Redis's module.c moduleCommand). shardis cannot load Redis modules (C shared objects
// written against redis-server's module API), so none is ever loaded: LIST is empty, LOAD and
// LOADEX fail as Redis's do when the load fails (the reason in the log), UNLOAD finds no module.
// LOAD, LOADEX and UNLOAD are protected commands (enable-module-command, default no).
import type { Client } from '../server/client';
import type { CommandSpec } from './types';
import { container, def } from './def';
import { is } from './args';
import { writeHelp } from './connection';
import { log } from '../server/log';
import { moduleLoadFailure } from '../config/modules';

const MODULE_HELP = [
  'MODULE <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'LIST',
  '    Return a list of loaded modules.',
  'LOAD <path> [<arg> ...]',
  '    Load a module library from <path>, passing to it any optional arguments.',
  'LOADEX <path> [[CONFIG NAME VALUE] [CONFIG NAME VALUE]] [ARGS ...]',
  '    Load a module library from <path>, while passing it module configurations and optional arguments.',
  'UNLOAD <name>',
  '    Unload a module.',
  'HELP',
  '    Prints this help.',
];

const E_LOAD = 'ERR Error loading the extension. Please check the server logs.';

function moduleLoad(c: Client, argv: Buffer[]): void {
  log('warning', moduleLoadFailure(argv[2].toString()));
  c.w.error(E_LOAD);
}

/** parseLoadexArguments(): a malformed CONFIG / ARGS list fails before the load is tried. */
function moduleLoadex(c: Client, argv: Buffer[]): void {
  for (let i = 3; i < argv.length; i++) {
    if (is(argv[i], 'config')) {
      if (i + 2 >= argv.length) {
        log('notice', 'CONFIG specified without name value pair');
        return c.w.error(E_LOAD);
      }
      i += 2;
    } else if (is(argv[i], 'args')) {
      break;
    } else {
      log('notice', `Syntax Error from arguments to loadex around ${argv[i].toString()}.`);
      return c.w.error(E_LOAD);
    }
  }
  moduleLoad(c, argv);
}

type SubOpts = Parameters<typeof def>[7];
const sub = (name: string, arity: number, flags: string, summary: string, handler: CommandSpec['handler'], opts: SubOpts): CommandSpec =>
  def(name, arity, flags, [0, 0, 0], 'server', summary, handler, { lock: 'none', complexity: 'O(1)', ...opts });
const ADMIN = ['admin', 'slow', 'dangerous'];
const LOADING = { acl: ADMIN, since: '4.0.0', protectedBy: 'enable-module-command' as const };

export const commands: CommandSpec[] = [
  def('module', -2, '', [0, 0, 0], 'server', 'A container for module commands',
    container('module'), {
      lock: 'none', since: '4.0.0', acl: ['slow'], complexity: 'Depends on subcommand.',
      subcommands: [
        sub('help', 2, 'loading stale', 'Show helpful text about the different subcommands', (c: Client) => writeHelp(c, MODULE_HELP), { acl: ['slow'], since: '5.0.0' }),
        sub('list', 2, 'admin noscript', 'List all modules loaded by the server', (c: Client) => c.w.array(0), {
          acl: ADMIN, since: '4.0.0', complexity: 'O(N) where N is the number of loaded modules.',
        }),
        sub('load', -3, 'no_async_loading admin noscript', 'Load a module', moduleLoad, LOADING),
        sub('loadex', -3, 'no_async_loading admin noscript', 'Load a module with extended parameters', moduleLoadex, { ...LOADING, since: '7.0.0' }),
        sub('unload', 3, 'no_async_loading admin noscript', 'Unload a module',
          (c: Client) => c.w.error('ERR Error unloading module: no such module with that name'), LOADING),
      ],
    }),
];

// A compact way for family files to declare table entries.
import type { CommandSpec, Handler } from './types';

export interface DefOptions extends Partial<Omit<CommandSpec, 'name' | 'arity' | 'flags' | 'handler'>> {}

/** A container command's own handler (CONFIG, LATENCY, MODULE...): the reply without a subcommand. */
export function container(name: string): Handler {
  return (c) => c.w.error(`ERR wrong number of arguments for '${name}' command`);
}

/**
 * def('get', 2, 'readonly fast', [1, 1, 1], 'string', 'Get the value of a key', handler)
 * keys: [first, last, step] as COMMAND prints them ([0, 0, 0] for none).
 */
export function def(
  name: string,
  arity: number,
  flags: string,
  keys: [number, number, number],
  group: string,
  summary: string,
  handler: Handler,
  opts: DefOptions = {},
): CommandSpec {
  return {
    name,
    arity,
    flags: flags === '' ? [] : flags.split(' '),
    firstKey: keys[0],
    lastKey: keys[1],
    step: keys[2],
    group,
    since: opts.since ?? '1.0.0',
    summary,
    handler,
    ...opts,
  };
}

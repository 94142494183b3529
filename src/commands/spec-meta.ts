// What Redis derives for a command spec beyond the table: its ACL categories and key specs.
// Shared by COMMAND (server.ts) and the ACL checks (server/acl.ts).
import type { CommandSpec } from './types';
import { COMMAND_META, type KeySpecMeta } from './command-meta';
import { is } from './args';

export const ACL_ORDER = [
  'keyspace', 'read', 'write', 'set', 'sortedset', 'list', 'hash', 'string', 'bitmap', 'hyperloglog', 'geo', 'stream',
  'pubsub', 'admin', 'fast', 'slow', 'blocking', 'dangerous', 'connection', 'transaction', 'scripting',
];
const GROUP_ACL: Record<string, string> = {
  generic: 'keyspace', string: 'string', list: 'list', set: 'set', sorted_set: 'sortedset', hash: 'hash',
  pubsub: 'pubsub', transactions: 'transaction', connection: 'connection', scripting: 'scripting',
  hyperloglog: 'hyperloglog', geo: 'geo', stream: 'stream', bitmap: 'bitmap',
};
/** ACL categories: the declared ones plus those Redis derives from the flags, in Redis's order. */
export function aclCategories(spec: CommandSpec): string[] {
  const set = new Set<string>(spec.acl ?? []);
  if (spec.acl === undefined && GROUP_ACL[spec.group] !== undefined && spec.subcommands === undefined) set.add(GROUP_ACL[spec.group]);
  const f = spec.flags;
  if (f.includes('write')) set.add('write');
  if (f.includes('readonly') && !set.has('scripting')) set.add('read');
  if (f.includes('admin')) {
    set.add('admin');
    set.add('dangerous');
  }
  if (f.includes('pubsub')) set.add('pubsub');
  if (f.includes('fast')) set.add('fast');
  if (f.includes('blocking')) set.add('blocking');
  if (!set.has('fast')) set.add('slow');
  return ACL_ORDER.filter((a) => set.has(a));
}

/** Key specs: Redis 7.0's own where known, else derived from first/last/step and the flags. */
export function keySpecs(spec: CommandSpec): KeySpecMeta[] {
  const meta = COMMAND_META[spec.fullName ?? spec.name];
  if (meta !== undefined) return meta[1];
  if (!hasKeys(spec)) return [];
  const flags = spec.keySpecFlags ?? (spec.flags.includes('write') ? ['RW', 'update'] : ['RO', 'access']);
  const notes = spec.keySpecNotes ?? null;
  if (spec.firstKey <= 0) return [[notes, flags, ['u'], ['u']]];
  return [[notes, flags, ['i', spec.firstKey], ['r', spec.lastKey < 0 ? spec.lastKey : spec.lastKey - spec.firstKey, spec.step, 0]]];
}

/** The flags of the key spec that covers argument i (GETKEYSANDFLAGS). */
export function keyFlagsAt(specs: KeySpecMeta[], i: number): string[] {
  for (const ks of specs) {
    const b = ks[2];
    const f = ks[3];
    if (b[0] !== 'i' || f[0] !== 'r') continue;
    if (i < b[1]) continue;
    if (f[1] >= 0 && i > b[1] + f[1]) continue;
    return ks[1];
  }
  return specs.length > 0 ? specs[specs.length - 1][1] : [];
}

export function hasKeys(spec: CommandSpec): boolean {
  return spec.keys !== undefined || spec.firstKey > 0;
}


/** Key flags of a command whose key spec says VARIABLE_FLAGS, from its arguments (setGetKeys, bitfieldGetKeys). */
export function variableKeyFlags(name: string, args: Buffer[]): string[] {
  if (name === 'set') {
    for (let i = 3; i < args.length; i++) if (is(args[i], 'get')) return ['RW', 'access', 'update'];
    return ['OW', 'update'];
  }
  // bitfield: read-only unless a SET / INCRBY (or anything unparsable) comes.
  for (let i = 2; i < args.length; i++) {
    const rest = args.length - i - 1;
    if (is(args[i], 'get') && rest >= 2) i += 2;
    else if (is(args[i], 'overflow') && rest >= 1) i += 1;
    else return ['RW', 'access', 'update'];
  }
  return ['RO', 'access'];
}


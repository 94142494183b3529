// Generic key commands (db.c, expire.c): DEL, EXISTS and family.
import type { CommandSpec } from './types';
import type { Client } from '../server/client';
import { def } from './def';

function del(c: Client, argv: Buffer[]): void {
  let n = 0;
  for (let i = 1; i < argv.length; i++) if (c.store.delete(c.db, argv[i])) n++;
  c.w.int(n);
}

function exists(c: Client, argv: Buffer[]): void {
  let n = 0;
  for (let i = 1; i < argv.length; i++) if (c.store.findRead(c.db, argv[i]) !== 0) n++;
  c.w.int(n);
}

export const commands: CommandSpec[] = [
  def('del', -2, 'write', [1, -1, 1], 'generic', 'Delete a key', del, { acl: ['keyspace', 'write', 'slow'] }),
  def('exists', -2, 'readonly fast', [1, -1, 1], 'generic', 'Determine if a key exists', exists, { since: '1.0.0', acl: ['keyspace', 'read', 'fast'] }),
];

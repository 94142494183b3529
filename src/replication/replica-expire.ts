// Keys written on a writable replica (replica-read-only no) expire on the replica itself (Redis's
// slaveKeysWithExpire / expireSlaveKeys): its master never sends their DELs, and a replica runs
// no active expiry of its own. Each worker remembers the keys its clients' writes touched and,
// once a second, deletes those whose TTL has passed (under the key's slot lock) and forgets
// those that are gone or have no TTL.
import type { Client } from '../server/client';
import type { ThreadServer } from '../server/context';
import type { CommandSpec } from '../commands/types';
import { commandKeys } from '../commands/registry';
import { MISC_REPLICA } from '../store/keyspace';

const tracked = new Map<string, { db: number; key: Buffer }>();
let timer: NodeJS.Timeout | null = null;

/** A write by a client (not the master) on a writable replica: remember its keys. */
export function rememberLocalWrite(c: Client, spec: CommandSpec, argv: Buffer[]): void {
  const add = (s: CommandSpec, a: Buffer[]): void => {
    if (s.write !== true) return;
    for (const i of commandKeys(s, a)) {
      const key = Buffer.from(a[i]);
      tracked.set(`${c.db}:${key.toString('latin1')}`, { db: c.db, key });
    }
  };
  if (spec.fullName === 'exec') for (const q of c.multiQueue) add(q.spec, q.argv);
  else add(spec, argv);
  if (timer === null && tracked.size > 0) {
    const srv = c.srv;
    timer = setInterval(() => expireLocalKeys(srv), 1000);
    timer.unref();
  }
}

function expireLocalKeys(srv: ThreadServer): void {
  const s = srv.store;
  if (Atomics.load(s.i32, s.L.misc + MISC_REPLICA) === 0 || tracked.size === 0) {
    // A master expires every key itself.
    tracked.clear();
    if (timer !== null) clearInterval(timer);
    timer = null;
    return;
  }
  for (const [name, { db, key }] of [...tracked]) {
    srv.coord.withSlot(s.slotOf(key), () => {
      s.now = Date.now();
      if (s.isStale(db, key)) {
        const prev = s.expireOnAccess;
        s.expireOnAccess = true;
        s.delete(db, key);
        s.expireOnAccess = prev;
        tracked.delete(name);
        return;
      }
      const e = s.peek(db, key);
      if (e === 0 || s.expireAt(e) === 0) tracked.delete(name);
    });
  }
}

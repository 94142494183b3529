// Persistence commands: SAVE, BGSAVE, LASTSAVE, DUMP, RESTORE (rdb.c / cluster.c, Redis 7.0).
// Saves run on the main thread (src/persistence/snapshot.ts); the client waits, paused, for
// SAVE's result. DUMP and RESTORE serialize and load one value in place, under the key's lock.
import type { CommandSpec } from './types';
import type { Client } from '../server/client';
import { def } from './def';
import { replyLater } from './deferred';
import { E_SYNTAX, is, parseI64 } from './args';
import { Store, T_STRING, freeObject } from '../store/keyspace';
import { dumpPayload, readValue, buildObject, RdbIn, RdbError, isEmptyCollection, verifyDumpPayload } from '../persistence/rdb';
import { loadLimitsOf } from '../persistence/snapshot';
import { checksumSkipped } from '../server/context';
import { log } from '../server/log';
import { notifyKeyspaceEvent, NOTIFY_GENERIC } from '../server/notify';

/** Run a main-thread persistence operation; `done` writes the reply when it finishes. */
export function viaMain(c: Client, op: string, args: unknown[], done: (c: Client, result: unknown) => void): void {
  const work = c.srv.askMain(op, args).then(
    (r) => ({ r, err: null }),
    (e: unknown) => ({ r: null, err: `ERR ${(e as Error).message}` }),
  );
  replyLater(c, work, (cl, v) => (v.err !== null ? cl.w.error(v.err) : done(cl, v.r)));
}

function save(c: Client): void {
  viaMain(c, 'save', [], (c, r) => (r === null ? c.w.ok() : c.w.error(r as string)));
}

function bgsave(c: Client, argv: Buffer[]): void {
  let schedule = false;
  if (argv.length > 1) {
    if (argv.length === 2 && is(argv[1], 'schedule')) schedule = true;
    else return c.w.error(E_SYNTAX);
  }
  if (c.inExec) {
    // Inside EXEC the reply is due now: ask without waiting (the save starts right after).
    void c.srv.askMain('bgsave', [true]);
    return c.w.simple('Background saving started');
  }
  viaMain(c, 'bgsave', [schedule], (c, r) => {
    if (r === 'started') c.w.simple('Background saving started');
    else if (r === 'scheduled') c.w.simple('Background saving scheduled');
    else c.w.error(r as string);
  });
}

function bgrewriteaof(c: Client): void {
  // Inside EXEC the reply is due now: the rewrite is scheduled (bgrewriteaofCommand's in_exec).
  if (c.inExec) {
    void c.srv.askMain('bgrewriteaof', [true]);
    return c.w.simple('Background append only file rewriting scheduled');
  }
  viaMain(c, 'bgrewriteaof', [false], (c, r) => {
    const t = r as string;
    if (t.startsWith('ERR ')) c.w.error(t);
    else c.w.simple(t);
  });
}

function dump(c: Client, argv: Buffer[]): void {
  const s = c.store;
  const e = s.findRead(c.db, argv[1]);
  if (e === 0) return c.w.nil();
  c.w.bulk(dumpPayload(s, e, c.srv.config.bool('rdbcompression')));
}

/** A payload refused: the reason goes to the log at verbose, as Redis's rdbReportError in RESTORE. */
function badPayload(c: Client, e: RdbError): void {
  log('verbose', `Internal error in RDB reading offset ${e.offset} -> ${e.message}`);
  c.w.error('ERR Bad data format');
}

function restore(c: Client, argv: Buffer[]): void {
  const s = c.store;
  let replace = false;
  let absttl = false;
  let idle = -1;
  let freq = -1;
  for (let j = 4; j < argv.length; j++) {
    const more = argv.length - j - 1;
    if (is(argv[j], 'replace')) replace = true;
    else if (is(argv[j], 'absttl')) absttl = true;
    else if (is(argv[j], 'idletime') && more >= 1 && freq === -1) {
      const v = parseI64(argv[j + 1]);
      if (v === null) return c.w.error('ERR value is not an integer or out of range');
      if (v < 0) return c.w.error('ERR Invalid IDLETIME value, must be >= 0');
      idle = Number(v);
      j++;
    } else if (is(argv[j], 'freq') && more >= 1 && idle === -1) {
      const v = parseI64(argv[j + 1]);
      if (v === null) return c.w.error('ERR value is not an integer or out of range');
      if (v < 0 || v > 255) return c.w.error('ERR Invalid FREQ value, must be >= 0 and <= 255');
      freq = Number(v);
      j++;
    } else return c.w.error(E_SYNTAX);
  }
  const key = argv[1];
  if (!replace && s.find(c.db, key) !== 0) return c.w.error('BUSYKEY Target key name already exists.');
  const ttlv = parseI64(argv[2]);
  if (ttlv === null) return c.w.error('ERR value is not an integer or out of range');
  let ttl = Number(ttlv);
  if (ttl < 0) return c.w.error('ERR Invalid TTL value, must be >= 0');
  const payload = argv[3];
  if (!verifyDumpPayload(payload, checksumSkipped(s))) return c.w.error('ERR DUMP payload version or checksum are wrong');
  // Decode fully (validated) before touching the keyspace: a bad payload changes nothing.
  const inp = new RdbIn(payload.subarray(0, payload.length - 10));
  let d;
  try {
    d = readValue(inp, inp.u8());
    if (isEmptyCollection(d)) throw new RdbError(inp.pos, 'empty collection');
  } catch (e) {
    if (e instanceof RdbError) return badPayload(c, e);
    throw e;
  }
  let enc = 0;
  let obj = 0;
  if (d.type !== T_STRING) {
    try {
      [enc, obj] = buildObject(inp, s.heap, d, loadLimitsOf(c.srv.config));
    } catch (e) {
      if (e instanceof RdbError) return badPayload(c, e);
      throw e;
    }
  }
  let deleted = false;
  if (replace) deleted = s.delete(c.db, key);
  if (ttl !== 0 && !absttl) ttl += s.now;
  if (ttl !== 0 && ttl <= s.now && s.expireOnAccess) {
    // Already expired: nothing is created (the old value, if replaced, is gone).
    if (d.type !== T_STRING) freeObject(s.heap, d.type, enc, obj);
    if (deleted) {
      notifyKeyspaceEvent(c, NOTIFY_GENERIC, 'del', key, c.db);
      // What happened is the old value's deletion (restoreCommand's rewriteClientCommandVector).
      const p = c.srv.prop;
      if (p.on()) p.propagateAs([Buffer.from(c.srv.config.bool('lazyfree-lazy-server-del') ? 'UNLINK' : 'DEL'), key]);
    }
    return c.w.ok();
  }
  let e: number;
  if (d.type === T_STRING) {
    const v = d.items[0];
    e = s.setString(c.db, key, v, Store.stringEncoding(v), 0, false);
  } else {
    e = s.createObject(c.db, key, d.type, enc, obj);
  }
  if (ttl !== 0) {
    s.setExpire(c.db, key, e, ttl);
    // A relative TTL propagates as the absolute time it became, with ABSTTL (as Redis 7.0).
    const p = c.srv.prop;
    if (!absttl && p.on()) p.propagateAs([...argv.slice(0, 2), Buffer.from(String(ttl)), ...argv.slice(3), Buffer.from('ABSTTL')]);
  }
  if (s.lfu) {
    if (freq >= 0) s.setLru(e, ((Math.floor(s.now / 60000) & 65535) << 8) | freq);
  } else if (idle >= 0) {
    s.setLru(e, Math.max(0, Math.floor(s.now / 1000) - idle));
  }
  notifyKeyspaceEvent(c, NOTIFY_GENERIC, 'restore', key, c.db);
  c.w.ok();
}

const KS = ['keyspace'];
export const commands: CommandSpec[] = [
  def('save', 1, 'admin noscript no_async_loading no_multi', [0, 0, 0], 'server', 'Synchronously save the dataset to disk', save, {
    complexity: 'O(N) where N is the total number of keys in all databases', acl: ['admin', 'slow', 'dangerous'], lock: 'none',
  }),
  def('bgsave', -1, 'admin noscript no_async_loading', [0, 0, 0], 'server', 'Asynchronously save the dataset to disk', bgsave, {
    complexity: 'O(1)', acl: ['admin', 'slow', 'dangerous'], lock: 'none',
  }),
  def('bgrewriteaof', 1, 'admin noscript no_async_loading', [0, 0, 0], 'server', 'Asynchronously rewrite the append-only file', bgrewriteaof, {
    complexity: 'O(1)', acl: ['admin', 'slow', 'dangerous'], lock: 'none',
  }),
  def('dump', 2, 'readonly', [1, 1, 1], 'generic', 'Return a serialized version of the value stored at the specified key.', dump, {
    since: '2.6.0', acl: [...KS, 'read', 'slow'], tips: ['nondeterministic_output'],
    complexity: 'O(1) to access the key and additional O(N*M) to serialize it, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1).',
  }),
  def('restore', -4, 'write denyoom', [1, 1, 1], 'generic', 'Create a key using the provided serialized value, previously obtained using DUMP.', restore, {
    since: '2.6.0', acl: [...KS, 'write', 'slow', 'dangerous'],
    complexity: 'O(1) to create the new key and additional O(N*M) to reconstruct the serialized value, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1). However for sorted set values the complexity is O(N*M*log(N)) because inserting values into sorted sets is O(log(N)).',
  }),
  // What MIGRATE sends to a cluster node (the ASKING flag only matters in cluster mode).
  def('restore-asking', -4, 'write denyoom asking', [1, 1, 1], 'server', 'An internal command for migrating keys in a cluster', restore, {
    since: '3.0.0', acl: [...KS, 'write', 'slow', 'dangerous'],
    complexity: 'O(1) to create the new key and additional O(N*M) to reconstruct the serialized value, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1). However for sorted set values the complexity is O(N*M*log(N)) because inserting values into sorted sets is O(log(N)).',
  }),
];

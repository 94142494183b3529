// MIGRATE (Redis 7.0's migrateCommand, cluster.c): DUMP payloads sent as RESTORE to another
// server, the local keys deleted once the target acknowledged them (unless COPY), propagated as
// DEL of exactly those keys. As in Redis the command is synchronous: the worker waits, holding
// the keys' slot locks, while its migrate thread (src/server/migrate-io.ts: cached connections,
// timeouts, the one retry) talks to the target. Nothing else on this worker runs meanwhile, as
// nothing else runs in Redis; other workers go on serving other slots.
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { CommandSpec } from './types';
import type { Client } from '../server/client';
import { def } from './def';
import { E_NOT_INT, E_SYNTAX, is, parseI64 } from './args';
import { MISC_MIGRATE_SOCKETS } from '../store/keyspace';
import { dumpPayload } from '../persistence/rdb';
import { notifyKeyspaceEvent, NOTIFY_GENERIC } from '../server/notify';
import { P_DEL } from './propagation';

let io: Worker | null = null;

function ioThread(c: Client): Worker {
  if (io === null) {
    const s = c.store;
    io = new Worker(path.join(__dirname, 'migrate-io.js'), {
      workerData: { sab: s.i32.buffer, counter: s.L.misc + MISC_MIGRATE_SOCKETS },
    });
    io.unref();
    io.on('error', () => {
      io = null;
    });
  }
  return io;
}

/** The argument indexes of MIGRATE's keys (migrateGetKeys): argv[3], or those after KEYS. */
export function migrateKeys(argv: Buffer[]): number[] {
  if (argv.length > 6) {
    for (let i = 6; i < argv.length; i++) {
      if (is(argv[i], 'keys')) {
        // KEYS with a key in argv[3] is a syntax error MIGRATE reports: no keys then.
        if (argv[3].length > 0) return [];
        const out: number[] = [];
        for (let j = i + 1; j < argv.length; j++) out.push(j);
        return out;
      }
      // AUTH's password and AUTH2's user and password are not keywords (skip_keywords).
      if (is(argv[i], 'auth')) i += 1;
      else if (is(argv[i], 'auth2')) i += 2;
    }
  }
  return argv.length > 3 ? [3] : [];
}

function bulk(parts: Buffer[], b: Uint8Array | string): void {
  const v = typeof b === 'string' ? Buffer.from(b, 'latin1') : b;
  parts.push(Buffer.from(`$${v.length}\r\n`, 'latin1'), Buffer.from(v), Buffer.from('\r\n', 'latin1'));
}

function migrate(c: Client, argv: Buffer[]): void {
  let copy = false;
  let replace = false;
  let username: Buffer | null = null;
  let password: Buffer | null = null;
  let firstKey = 3;
  let numKeys = 1;
  for (let j = 6; j < argv.length; j++) {
    const more = argv.length - 1 - j;
    if (is(argv[j], 'copy')) copy = true;
    else if (is(argv[j], 'replace')) replace = true;
    else if (is(argv[j], 'auth')) {
      if (more === 0) return c.w.error(E_SYNTAX);
      password = argv[++j];
    } else if (is(argv[j], 'auth2')) {
      if (more < 2) return c.w.error(E_SYNTAX);
      username = argv[++j];
      password = argv[++j];
    } else if (is(argv[j], 'keys')) {
      if (argv[3].length !== 0) return c.w.error('ERR When using MIGRATE KEYS option, the key argument must be set to the empty string');
      firstKey = j + 1;
      numKeys = argv.length - j - 1;
      break;
    } else return c.w.error(E_SYNTAX);
  }
  const tv = parseI64(argv[5]);
  if (tv === null) return c.w.error(E_NOT_INT);
  const dv = parseI64(argv[4]);
  if (dv === null) return c.w.error(E_NOT_INT);
  let timeout = Number(tv);
  const dbid = Number(dv);
  if (timeout <= 0) timeout = 1000;

  const s = c.store;
  const keys: Buffer[] = [];
  for (let j = 0; j < numKeys; j++) if (s.findRead(c.db, argv[firstKey + j]) !== 0) keys.push(argv[firstKey + j]);
  if (keys.length === 0) return c.w.simple('NOKEY');

  // The RESTORE commands (keys whose TTL ran out meanwhile are left out, as Redis does).
  const compress = c.srv.config.bool('rdbcompression');
  const parts: Buffer[] = [];
  const sent: Buffer[] = [];
  for (const key of keys) {
    const e = s.peek(c.db, key);
    if (e === 0) continue;
    let ttl = 0;
    const at = s.expireAt(e);
    if (at !== 0) {
      ttl = at - Date.now();
      if (ttl < 0) continue;
      if (ttl < 1) ttl = 1;
    }
    sent.push(key);
    parts.push(Buffer.from(replace ? '*5\r\n' : '*4\r\n', 'latin1'));
    bulk(parts, 'RESTORE');
    bulk(parts, key);
    bulk(parts, String(Math.floor(ttl)));
    bulk(parts, dumpPayload(s, e, compress));
    if (replace) bulk(parts, 'REPLACE');
  }
  let auth: Buffer | null = null;
  if (password !== null) {
    const a: Buffer[] = [Buffer.from(username !== null ? '*3\r\n' : '*2\r\n', 'latin1')];
    bulk(a, 'AUTH');
    if (username !== null) bulk(a, username);
    bulk(a, password);
    auth = Buffer.concat(a);
  }

  const n = sent.length;
  const res = new SharedArrayBuffer(16 + n + 2048);
  const ctl = new Int32Array(res, 0, 4);
  const host = argv[1].toString('latin1');
  const port = argv[2].toString('latin1');
  ioThread(c).postMessage({
    name: `${host}:${port}`, host, port: Number.parseInt(port, 10) || 0, timeout, dbid, auth,
    restores: Buffer.concat(parts), n, res,
  });
  // Wait for the target (the thread gives up within a few timeouts: connect, write, each read,
  // and one retry); the bound here only guards against a thread that died.
  const cap = Date.now() + (n + 4) * timeout * 2 + 5000;
  while (Atomics.load(ctl, 0) === 0 && Date.now() < cap) Atomics.wait(ctl, 0, 0, 100);
  if (Atomics.load(ctl, 0) === 0) return c.w.error('IOERR error or timeout reading to target instance');
  const acks = new Uint8Array(res, 16, n);
  const reply = Buffer.from(new Uint8Array(res, 16 + n, ctl[1])).toString('latin1');

  if (!copy) {
    // Delete what the target acknowledged; replicas and the AOF get DEL of exactly those keys.
    const deleted: Uint8Array[] = [P_DEL];
    s.now = Date.now();
    for (let j = 0; j < n; j++) {
      if (acks[j] !== 1) continue;
      if (s.delete(c.db, sent[j])) notifyKeyspaceEvent(c, NOTIFY_GENERIC, 'del', sent[j], c.db);
      deleted.push(sent[j]);
    }
    const p = c.srv.prop;
    if (deleted.length > 1 && p.on()) p.propagateAs(deleted);
  }
  if (reply === '') return c.w.ok();
  c.w.error(reply.startsWith('-') ? reply.slice(1) : reply);
}

export const commands: CommandSpec[] = [
  def('migrate', -6, 'write movablekeys', [3, 3, 1], 'generic', 'Atomically transfer a key from a Redis instance to another one.', migrate, {
    since: '2.6.0', keys: migrateKeys, acl: ['keyspace', 'write', 'slow', 'dangerous'], tips: ['nondeterministic_output'],
    complexity: 'This command actually executes a DUMP+DEL in the source instance, and a RESTORE in the target instance. See the pages of these commands for time complexity. Also an O(N) data transfer between the two instances is performed.',
  }),
];

// The MIGRATE connection thread (one per worker, started on its first MIGRATE). Redis's MIGRATE
// is synchronous: the server does nothing else until the target has answered, and the key is
// deleted only after its RESTORE was acknowledged. A worker gets the same atomicity by asking
// this thread to do the network part while it waits (Atomics.wait) holding the keys' slot
// locks; the thread never takes a lock. It keeps Redis's cached connections (one per
// host:port, at most 64, closed after 10 s unused) and runs migrateCommand's I/O steps with the
// same retry rule: a socket error before the first RESTORE reply retries once on a fresh
// connection unless it was a timeout.
//
// Request (postMessage): { name, host, port, timeout (ms), dbid, auth: AUTH command bytes or
// null, restores: the RESTORE commands' bytes, n: how many, res: SharedArrayBuffer }.
// Result in res: i32[0] = 1 when done; i32[1] = bytes of the reply text at byte 16 + n; bytes
// 16..16+n: 1 where that RESTORE was acknowledged (the caller deletes those keys); reply text:
// "" for +OK, else the error line to send.
import { parentPort, workerData } from 'node:worker_threads';
import * as net from 'node:net';

const SOCKET_CACHE_ITEMS = 64;
const SOCKET_CACHE_TTL_MS = 10_000;

/** Shared words: cached sockets over every worker's thread (INFO migrate_cached_sockets). */
const counter = new Int32Array(workerData.sab as SharedArrayBuffer);
const counterAt = workerData.counter as number;

interface Cached {
  sock: net.Socket;
  lastDb: number;
  lastUse: number;
  inbuf: Buffer;
  dead: boolean;
  wake: (() => void) | null;
}

const cache = new Map<string, Cached>();

class IoError extends Error {
  constructor(readonly timedOut: boolean) {
    super(timedOut ? 'timeout' : 'io error');
  }
}

function closeCached(name: string): void {
  const cs = cache.get(name);
  if (cs === undefined) return;
  cache.delete(name);
  Atomics.sub(counter, counterAt, 1);
  cs.dead = true;
  cs.sock.destroy();
}

function connect(host: string, port: number, timeout: number): Promise<net.Socket | null> {
  return new Promise((resolve) => {
    const sock = net.createConnection({ host, port });
    const t = setTimeout(() => {
      sock.destroy();
      resolve(null);
    }, timeout);
    sock.once('connect', () => {
      clearTimeout(t);
      sock.setNoDelay(true);
      resolve(sock);
    });
    sock.once('error', () => {
      clearTimeout(t);
      sock.destroy();
      resolve(null);
    });
  });
}

/** migrateGetSocket: the cached connection, or a new one (null: could not connect in time). */
async function getSocket(name: string, host: string, port: number, timeout: number): Promise<Cached | null> {
  const old = cache.get(name);
  if (old !== undefined && !old.dead) {
    old.lastUse = Date.now();
    return old;
  }
  if (old !== undefined) closeCached(name);
  if (cache.size >= SOCKET_CACHE_ITEMS) {
    // Too many: drop one at random, as Redis.
    const names = [...cache.keys()];
    closeCached(names[Math.floor(Math.random() * names.length)]);
  }
  const sock = await connect(host, port, timeout);
  if (sock === null) return null;
  const cs: Cached = { sock, lastDb: -1, lastUse: Date.now(), inbuf: Buffer.alloc(0), dead: false, wake: null };
  sock.on('data', (d: Buffer) => {
    cs.inbuf = cs.inbuf.length === 0 ? d : Buffer.concat([cs.inbuf, d]);
    if (cs.wake !== null) cs.wake();
  });
  const gone = (): void => {
    cs.dead = true;
    if (cs.wake !== null) cs.wake();
  };
  sock.on('error', gone);
  sock.on('close', gone);
  cache.set(name, cs);
  Atomics.add(counter, counterAt, 1);
  return cs;
}

/** connSyncWrite: all of it within `timeout` ms. */
function writeAll(cs: Cached, data: Buffer, timeout: number): Promise<void> {
  return new Promise((resolve, reject) => {
    if (cs.dead) return reject(new IoError(false));
    const t = setTimeout(() => reject(new IoError(true)), timeout);
    cs.sock.write(data, (err) => {
      clearTimeout(t);
      if (err) reject(new IoError(false));
      else resolve();
    });
  });
}

/** connSyncReadLine: one line (without CRLF) within `timeout` ms. */
async function readLine(cs: Cached, timeout: number): Promise<string> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const nl = cs.inbuf.indexOf(10);
    if (nl >= 0) {
      const line = cs.inbuf.subarray(0, nl > 0 && cs.inbuf[nl - 1] === 13 ? nl - 1 : nl).toString('latin1');
      cs.inbuf = cs.inbuf.subarray(nl + 1);
      return line.length > 1023 ? line.slice(0, 1023) : line;
    }
    if (cs.dead) throw new IoError(false);
    const left = deadline - Date.now();
    if (left <= 0) throw new IoError(true);
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        cs.wake = null;
        resolve();
      }, left);
      cs.wake = () => {
        clearTimeout(t);
        cs.wake = null;
        resolve();
      };
    });
  }
}

interface Request {
  name: string;
  host: string;
  port: number;
  timeout: number;
  dbid: number;
  auth: Uint8Array | null;
  restores: Uint8Array;
  n: number;
  res: SharedArrayBuffer;
}

/** migrateCommand's network part. Returns the reply text ("" for +OK) and fills acks. */
async function migrate(q: Request, acks: Uint8Array): Promise<string> {
  let mayRetry = true;
  for (;;) {
    let writeError = false;
    let timedOut = false;
    const cs = await getSocket(q.name, q.host, q.port, q.timeout);
    if (cs === null) return '-IOERR error or timeout connecting to the client';
    const select = cs.lastDb !== q.dbid;
    const parts: Buffer[] = [];
    if (q.auth !== null) parts.push(Buffer.from(q.auth));
    if (select) {
      const db = String(q.dbid);
      parts.push(Buffer.from(`*2\r\n$6\r\nSELECT\r\n$${db.length}\r\n${db}\r\n`));
    }
    parts.push(Buffer.from(q.restores));
    let socketError = false;
    let errorFromTarget = false;
    let reply = '';
    let j = 0;
    try {
      try {
        await writeAll(cs, Buffer.concat(parts), q.timeout);
      } catch (e) {
        writeError = true;
        throw e;
      }
      const authReply = q.auth !== null ? await readLine(cs, q.timeout) : '';
      const selectReply = select ? await readLine(cs, q.timeout) : '';
      for (j = 0; j < q.n; j++) {
        let line: string;
        try {
          line = await readLine(cs, q.timeout);
        } catch (e) {
          socketError = true;
          timedOut = (e as IoError).timedOut;
          break;
        }
        if ((q.auth !== null && authReply[0] === '-') || (select && selectReply[0] === '-') || line[0] === '-') {
          if (!errorFromTarget) {
            cs.lastDb = -1;
            const err = q.auth !== null && authReply[0] === '-' ? authReply : select && selectReply[0] === '-' ? selectReply : line;
            errorFromTarget = true;
            reply = `-ERR Target instance replied with error: ${err.slice(1)}`;
          }
        } else acks[j] = 1;
      }
      if (!errorFromTarget && socketError && j === 0 && mayRetry && !timedOut) throw new IoError(false);
      if (socketError) closeCached(q.name);
      if (!errorFromTarget && socketError) {
        mayRetry = false;
        throw new IoError(timedOut);
      }
      if (!errorFromTarget) cs.lastDb = q.dbid;
      return reply;
    } catch (e) {
      // socket_err: close the cached socket; retry once unless it was a timeout.
      timedOut = timedOut || (e as IoError).timedOut === true;
      closeCached(q.name);
      if (!timedOut && mayRetry) {
        mayRetry = false;
        acks.fill(0);
        continue;
      }
      return `-IOERR error or timeout ${writeError ? 'writing' : 'reading'} to target instance`;
    }
  }
}

let queue: Promise<void> = Promise.resolve();
(parentPort as NonNullable<typeof parentPort>).on('message', (q: Request) => {
  queue = queue.then(async () => {
    const i32 = new Int32Array(q.res, 0, 4);
    const acks = new Uint8Array(q.res, 16, q.n);
    let reply: string;
    try {
      reply = await migrate(q, acks);
    } catch (e) {
      reply = `-ERR ${(e as Error).message}`;
    }
    const text = Buffer.from(reply, 'latin1');
    const room = q.res.byteLength - 16 - q.n;
    new Uint8Array(q.res, 16 + q.n, Math.min(room, text.length)).set(text.subarray(0, room));
    i32[1] = Math.min(room, text.length);
    Atomics.store(i32, 0, 1);
    Atomics.notify(i32, 0);
  });
});

// migrateCloseTimedoutSockets (serverCron): cached sockets unused for 10 s are closed.
setInterval(() => {
  const now = Date.now();
  for (const [name, cs] of cache) if (now - cs.lastUse > SOCKET_CACHE_TTL_MS) closeCached(name);
}, 1000).unref();

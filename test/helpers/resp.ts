// Raw RESP2/RESP3 client for tests: keeps reply types exactly as sent on the wire.
import * as net from 'node:net';

export type Reply =
  | { t: 'simple'; v: string }
  | { t: 'error'; v: string }
  /** RESP3 blob error (`!`). */
  | { t: 'blob_error'; v: string }
  | { t: 'int'; v: bigint }
  | { t: 'bulk'; v: Buffer | null }
  | { t: 'array'; v: Reply[] | null }
  | { t: 'map'; v: [Reply, Reply][] }
  | { t: 'set'; v: Reply[] }
  /** Raw text of the double as sent (e.g. "1.5", "inf", "-nan"). */
  | { t: 'double'; v: string }
  | { t: 'null' }
  | { t: 'bool'; v: boolean }
  | { t: 'push'; v: Reply[] }
  | { t: 'verbatim'; format: string; v: Buffer }
  | { t: 'bignum'; v: bigint }
  /** RESP3 attribute (`|`) followed by the reply it annotates. */
  | { t: 'attr'; v: [Reply, Reply][]; reply: Reply };

export type Arg = string | Buffer | number | bigint;

const CRLF = Buffer.from('\r\n');

/** Encode a command as a RESP array of bulk strings. */
export function encodeCommand(args: Arg[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = Buffer.isBuffer(a) ? a : Buffer.from(String(a), 'utf8');
    parts.push(Buffer.from(`$${b.length}\r\n`), b, CRLF);
  }
  return Buffer.concat(parts);
}

/** Re-encode a decoded reply as RESP bytes (exact inverse of the parser). */
export function encodeReply(r: Reply): Buffer {
  const out: Buffer[] = [];
  const w = (s: string): void => {
    out.push(Buffer.from(s, 'utf8'));
  };
  const rec = (r: Reply): void => {
    switch (r.t) {
      case 'simple': return w(`+${r.v}\r\n`);
      case 'error': return w(`-${r.v}\r\n`);
      case 'blob_error': {
        const b = Buffer.from(r.v, 'utf8');
        w(`!${b.length}\r\n`); out.push(b, CRLF); return;
      }
      case 'int': return w(`:${r.v}\r\n`);
      case 'bulk':
        if (r.v === null) return w('$-1\r\n');
        w(`$${r.v.length}\r\n`); out.push(r.v, CRLF); return;
      case 'array':
        if (r.v === null) return w('*-1\r\n');
        w(`*${r.v.length}\r\n`); r.v.forEach(rec); return;
      case 'map': w(`%${r.v.length}\r\n`); r.v.forEach(([k, v]) => { rec(k); rec(v); }); return;
      case 'set': w(`~${r.v.length}\r\n`); r.v.forEach(rec); return;
      case 'push': w(`>${r.v.length}\r\n`); r.v.forEach(rec); return;
      case 'double': return w(`,${r.v}\r\n`);
      case 'null': return w('_\r\n');
      case 'bool': return w(`#${r.v ? 't' : 'f'}\r\n`);
      case 'verbatim': {
        const body = Buffer.concat([Buffer.from(`${r.format}:`), r.v]);
        w(`=${body.length}\r\n`); out.push(body, CRLF); return;
      }
      case 'bignum': return w(`(${r.v}\r\n`);
      case 'attr': w(`|${r.v.length}\r\n`); r.v.forEach(([k, v]) => { rec(k); rec(v); }); rec(r.reply); return;
    }
  };
  rec(r);
  return Buffer.concat(out);
}

class Incomplete {
  constructor(public need: number) {}
}

export class ProtocolParseError extends Error {}

function readLine(buf: Buffer, pos: number): [string, number] {
  const i = buf.indexOf(CRLF, pos);
  if (i < 0) throw new Incomplete(buf.length + 1);
  return [buf.toString('utf8', pos, i), i + 2];
}

function parseLen(s: string, what: string): number {
  if (!/^-?\d+$/.test(s)) throw new ProtocolParseError(`bad ${what} length: ${JSON.stringify(s)}`);
  return Number(s);
}

/** Parse one reply at pos; throws Incomplete(need) when more bytes are needed. */
function parseReply(buf: Buffer, pos: number): [Reply, number] {
  if (pos >= buf.length) throw new Incomplete(pos + 1);
  const type = String.fromCharCode(buf[pos]);
  const [line, next] = readLine(buf, pos + 1);
  const blob = (n: number): [Buffer, number] => {
    const end = next + n;
    if (buf.length < end + 2) throw new Incomplete(end + 2);
    if (buf[end] !== 13 || buf[end + 1] !== 10) throw new ProtocolParseError('bulk not terminated by CRLF');
    return [Buffer.from(buf.subarray(next, end)), end + 2];
  };
  const many = (n: number): [Reply[], number] => {
    const items: Reply[] = [];
    let p = next;
    for (let i = 0; i < n; i++) {
      const [r, q] = parseReply(buf, p);
      items.push(r);
      p = q;
    }
    return [items, p];
  };
  const pairs = (n: number): [[Reply, Reply][], number] => {
    const [items, p] = many(2 * n);
    const out: [Reply, Reply][] = [];
    for (let i = 0; i < items.length; i += 2) out.push([items[i], items[i + 1]]);
    return [out, p];
  };
  switch (type) {
    case '+': return [{ t: 'simple', v: line }, next];
    case '-': return [{ t: 'error', v: line }, next];
    case ':': return [{ t: 'int', v: BigInt(line) }, next];
    case ',': return [{ t: 'double', v: line }, next];
    case '_': return [{ t: 'null' }, next];
    case '#': return [{ t: 'bool', v: line === 't' }, next];
    case '(': return [{ t: 'bignum', v: BigInt(line) }, next];
    case '$': {
      const n = parseLen(line, 'bulk');
      if (n < 0) return [{ t: 'bulk', v: null }, next];
      const [b, p] = blob(n);
      return [{ t: 'bulk', v: b }, p];
    }
    case '!': {
      const [b, p] = blob(parseLen(line, 'blob error'));
      return [{ t: 'blob_error', v: b.toString('utf8') }, p];
    }
    case '=': {
      const [b, p] = blob(parseLen(line, 'verbatim'));
      return [{ t: 'verbatim', format: b.subarray(0, 3).toString('latin1'), v: Buffer.from(b.subarray(4)) }, p];
    }
    case '*': {
      const n = parseLen(line, 'array');
      if (n < 0) return [{ t: 'array', v: null }, next];
      const [items, p] = many(n);
      return [{ t: 'array', v: items }, p];
    }
    case '~': { const [items, p] = many(parseLen(line, 'set')); return [{ t: 'set', v: items }, p]; }
    case '>': { const [items, p] = many(parseLen(line, 'push')); return [{ t: 'push', v: items }, p]; }
    case '%': { const [ps, p] = pairs(parseLen(line, 'map')); return [{ t: 'map', v: ps }, p]; }
    case '|': {
      const [ps, p] = pairs(parseLen(line, 'attribute'));
      const [r, q] = parseReply(buf, p);
      return [{ t: 'attr', v: ps, reply: r }, q];
    }
    default:
      throw new ProtocolParseError(`unknown RESP type byte 0x${buf[pos].toString(16)} (${JSON.stringify(type)})`);
  }
}

/** Decode every complete reply in a buffer (throws if trailing bytes are incomplete). */
export function decodeAll(buf: Buffer): Reply[] {
  const out: Reply[] = [];
  let pos = 0;
  while (pos < buf.length) {
    try {
      const [r, p] = parseReply(buf, pos);
      out.push(r);
      pos = p;
    } catch (e) {
      if (e instanceof Incomplete) throw new ProtocolParseError(`incomplete reply at byte ${pos}`);
      throw e;
    }
  }
  return out;
}

interface Waiter {
  resolve: (r: Reply) => void;
  reject: (e: Error) => void;
}

export class RawClient {
  private chunks: Buffer[] = [];
  private total = 0;
  /** Don't try to parse until this many bytes are buffered. */
  private need = 0;
  private waiters: Waiter[] = [];
  private rawWaiter: { check: () => void } | null = null;
  private isClosed = false;
  private closedPromise: Promise<void>;
  /** Last socket error (e.g. ECONNRESET), if any. */
  public lastError: Error | null = null;

  private constructor(public readonly socket: net.Socket) {
    socket.setNoDelay(true);
    this.closedPromise = new Promise((resolve) => {
      socket.on('close', () => {
        this.isClosed = true;
        this.pump();
        const err = new Error(`connection closed${this.lastError ? ` (${this.lastError.message})` : ''}`);
        for (const w of this.waiters.splice(0)) w.reject(err);
        this.rawWaiter?.check();
        resolve();
      });
    });
    socket.on('error', (e) => {
      this.lastError = e;
    });
    socket.on('data', (d: Buffer) => {
      this.chunks.push(d);
      this.total += d.length;
      this.pump();
      this.rawWaiter?.check();
    });
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const sock = net.connect({ port, host });
      const onErr = (e: Error) => reject(e);
      sock.once('error', onErr);
      sock.once('connect', () => {
        sock.off('error', onErr);
        resolve(new RawClient(sock));
      });
    });
  }

  /** Over a Unix socket (unixsocket). */
  /** One command on a connection of its own, closed after the reply. */
  static async once(port: number, ...args: Arg[]): Promise<Reply> {
    const c = await RawClient.connect(port);
    try {
      return await c.call(...args);
    } finally {
      await c.close();
    }
  }

  static connectPath(socketPath: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const sock = net.connect({ path: socketPath });
      const onErr = (e: Error) => reject(e);
      sock.once('error', onErr);
      sock.once('connect', () => {
        sock.off('error', onErr);
        resolve(new RawClient(sock));
      });
    });
  }

  get isOpen(): boolean {
    return !this.isClosed;
  }

  /** Send a command and wait for the next reply (replies are matched in order). */
  call(...args: Arg[]): Promise<Reply> {
    this.send(...args);
    return this.read();
  }

  /** Send a command without waiting for its reply. */
  send(...args: Arg[]): void {
    if (this.isClosed) throw new Error('connection closed');
    this.socket.write(encodeCommand(args));
  }

  /** Write raw bytes; resolves when handed to the kernel. */
  writeRaw(bytes: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.isClosed) return reject(new Error('connection closed'));
      this.socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes, (err) =>
        err ? reject(err) : resolve(),
      );
    });
  }

  /** Next reply from the stream. Rejects if the connection closes first. */
  read(): Promise<Reply> {
    if (this.rawWaiter) return Promise.reject(new Error('read() while readRaw() is pending'));
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.pump();
      if (this.isClosed && this.waiters.length) {
        const err = new Error('connection closed');
        for (const w of this.waiters.splice(0)) w.reject(err);
      }
    });
  }

  /**
   * Collect raw (unparsed) bytes for up to `ms` milliseconds and return them.
   * Resolves early when the connection is closed, or when `until` is met:
   * a byte count, or a predicate on the bytes collected so far.
   */
  readRaw(ms: number, until?: number | ((b: Buffer) => boolean)): Promise<Buffer> {
    if (this.waiters.length) return Promise.reject(new Error('readRaw() while read() is pending'));
    if (this.rawWaiter) return Promise.reject(new Error('readRaw() already pending'));
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const finish = () => {
        if (timer) clearTimeout(timer);
        this.rawWaiter = null;
        const b = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
        this.chunks = [];
        this.total = 0;
        this.need = 0;
        resolve(b);
      };
      const check = () => {
        if (this.isClosed) return finish();
        if (until === undefined) return;
        if (typeof until === 'number') {
          if (this.total >= until) finish();
        } else {
          const b = Buffer.concat(this.chunks);
          this.chunks = [b];
          if (until(b)) finish();
        }
      };
      this.rawWaiter = { check };
      timer = setTimeout(finish, ms);
      check();
    });
  }

  /** Resolves when the connection has been closed (by either side). */
  closed(): Promise<void> {
    return this.closedPromise;
  }

  /** Close our side and wait for the socket to go away. */
  close(): Promise<void> {
    if (!this.isClosed) {
      this.socket.end();
      const t = setTimeout(() => this.socket.destroy(), 1000);
      t.unref();
    }
    return this.closedPromise;
  }

  private pump(): void {
    while (this.waiters.length && this.total > 0 && this.total >= this.need) {
      const buf = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
      this.chunks = [buf];
      let r: Reply;
      let end: number;
      try {
        [r, end] = parseReply(buf, 0);
      } catch (e) {
        if (e instanceof Incomplete) {
          this.need = e.need;
          return;
        }
        const w = this.waiters.shift()!;
        w.reject(e as Error);
        this.socket.destroy();
        return;
      }
      this.need = 0;
      const rest = buf.subarray(end);
      this.chunks = rest.length ? [rest] : [];
      this.total = rest.length;
      this.waiters.shift()!.resolve(r);
    }
  }
}

// ---------------------------------------------------------------------------
// Rendering

/** Quote a string like redis-cli / sdscatrepr does. */
export function repr(b: Buffer | string): string {
  const buf = typeof b === 'string' ? Buffer.from(b, 'utf8') : b;
  let s = '"';
  for (const c of buf) {
    switch (c) {
      case 0x5c: s += '\\\\'; break;
      case 0x22: s += '\\"'; break;
      case 0x0a: s += '\\n'; break;
      case 0x0d: s += '\\r'; break;
      case 0x09: s += '\\t'; break;
      case 0x07: s += '\\a'; break;
      case 0x08: s += '\\b'; break;
      default:
        s += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : '\\x' + c.toString(16).padStart(2, '0');
    }
  }
  return s + '"';
}

function formatTTY(r: Reply, prefix: string): string {
  switch (r.t) {
    case 'simple': return r.v + '\n';
    case 'error': return `(error) ${r.v}\n`;
    case 'blob_error': return `(error) ${r.v}\n`;
    case 'int': return `(integer) ${r.v}\n`;
    case 'double': return `(double) ${r.v}\n`;
    case 'bignum': return `(big number) ${r.v}\n`;
    case 'null': return '(nil)\n';
    case 'bool': return r.v ? '(true)\n' : '(false)\n';
    case 'bulk': return r.v === null ? '(nil)\n' : repr(r.v) + '\n';
    case 'verbatim': return `${r.format}:${r.v.toString('utf8')}\n`;
    case 'attr': return `(attribute) ${formatTTY({ t: 'map', v: r.v }, prefix)}${prefix}${formatTTY(r.reply, prefix)}`;
    case 'array':
    case 'set':
    case 'push':
    case 'map': {
      if (r.v === null) return '(nil)\n';
      const isMap = r.t === 'map';
      const items: Reply[] = isMap ? (r.v as [Reply, Reply][]).flat() : (r.v as Reply[]);
      const count = isMap ? items.length / 2 : items.length;
      if (count === 0) {
        return { array: '(empty array)\n', set: '(empty set)\n', push: '(empty push)\n', map: '(empty hash)\n' }[r.t];
      }
      const idxlen = String(count).length;
      const sub = prefix + ' '.repeat(idxlen + 2);
      const sep = r.t === 'set' ? '~' : isMap ? '#' : ')';
      let out = r.t === 'push' ? '(push) ' : '';
      for (let i = 0; i < items.length; i++) {
        const human = (isMap ? i / 2 : i) + 1;
        out += `${i === 0 ? '' : prefix}${String(human).padStart(idxlen)}${sep} `;
        out += formatTTY(items[i], sub);
        if (isMap) {
          i++;
          out = out.slice(0, -1) + ' => ' + formatTTY(items[i], sub);
        }
      }
      return out;
    }
  }
}

/** Render a reply the way redis-cli prints it (type-preserving: simple `OK` vs bulk `"OK"`). */
export function show(r: Reply): string {
  return formatTTY(r, '').replace(/\n$/, '');
}

/** Exact, comparable rendering: the reply re-encoded as RESP text. */
export function canon(r: Reply): string {
  return encodeReply(r).toString('latin1');
}

/**
 * The text of a scalar reply (simple, error, bulk, verbatim, integer, double...), for assertions
 * that match on it; throws on a null or aggregate reply, so such a test fails saying what came.
 */
export function text(r: Reply): string {
  if (r.t === 'null' || r.t === 'array' || r.t === 'map' || r.t === 'set' || r.t === 'push' || r.t === 'attr' || r.v === null) {
    throw new Error(`expected a scalar reply, got ${show(r)}`);
  }
  return String(r.v);
}

/** The elements of an array, set or push reply; throws on anything else (a null array too). */
export function items(r: Reply): Reply[] {
  if ((r.t === 'array' || r.t === 'set' || r.t === 'push') && r.v !== null) return r.v;
  throw new Error(`expected an array reply, got ${show(r)}`);
}

// Small conveniences for assertions.
export const simple = (v: string): Reply => ({ t: 'simple', v });
export const err = (v: string): Reply => ({ t: 'error', v });
export const int = (v: number | bigint): Reply => ({ t: 'int', v: BigInt(v) });
export const bulk = (v: string | Buffer | null): Reply => ({
  t: 'bulk',
  v: v === null ? null : Buffer.isBuffer(v) ? v : Buffer.from(v),
});
export const arr = (v: Reply[] | null): Reply => ({ t: 'array', v });

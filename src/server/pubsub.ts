// Pub/sub across threads. Each thread keeps its own subscribers (channel -> clients); a registry
// in shared memory records, per channel and per pattern, how many subscribers each thread has.
// PUBLISH counts receivers exactly from the registry, delivers to its own subscribers at once and
// posts the message only to the threads that have a receiver: a channel nobody listens to wakes
// no thread. Messages from one publisher to one thread travel on one FIFO port: order is kept.
import type { MessagePort } from 'worker_threads';
import type { Store } from '../store/keyspace';
import { PUBSUB_BUCKETS } from '../store/keyspace';
import { lockWord, unlockWord } from '../store/heap';
import { globMatch } from '../config/glob';
import type { Client } from './client';
import type { ThreadServer } from './context';
import { S_PUBSUB_CHANNELS, S_PUBSUB_PATTERNS } from './context';

export const K_CHANNEL = 0;
export const K_SHARD = 1;
export const K_PATTERN = 2;

const ENTRY_HDR = 24; // next, hash, kind|thread<<8, count, len, pad

function hashBytes(b: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i], 0x01000193);
  return h >>> 0;
}

/** The shared registry: chained buckets for channels and shard channels, one list for patterns. */
export class PubSubRegistry {
  private readonly heads: number;
  private readonly locks: number;
  private readonly patHead: number;
  private readonly patLock: number;

  constructor(private readonly store: Store) {
    const base = store.L.pubsub;
    this.heads = base;
    this.locks = base + PUBSUB_BUCKETS;
    this.patHead = base + PUBSUB_BUCKETS * 2;
    this.patLock = this.patHead + 1;
  }

  private same(e: number, kind: number, thread: number, name: Uint8Array): boolean {
    const u32 = this.store.u32;
    const w = e >>> 2;
    if (u32[w + 2] !== ((kind | (thread << 8)) >>> 0) || u32[w + 4] !== name.length) return false;
    const u8 = this.store.u8;
    for (let i = 0; i < name.length; i++) if (u8[e + ENTRY_HDR + i] !== name[i]) return false;
    return true;
  }

  private nameEquals(e: number, name: Uint8Array): boolean {
    const u8 = this.store.u8;
    if (this.store.u32[(e >>> 2) + 4] !== name.length) return false;
    for (let i = 0; i < name.length; i++) if (u8[e + ENTRY_HDR + i] !== name[i]) return false;
    return true;
  }

  /** Add delta to this thread's subscriber count for (kind, name). */
  add(kind: number, name: Uint8Array, thread: number, delta: number): void {
    const s = this.store;
    const u32 = s.u32;
    const h = hashBytes(name);
    const headW = kind === K_PATTERN ? this.patHead : this.heads + (h % PUBSUB_BUCKETS);
    const lockW = kind === K_PATTERN ? this.patLock : this.locks + (h % PUBSUB_BUCKETS);
    lockWord(s.i32, lockW);
    try {
      let link = headW * 4;
      let e = u32[headW];
      while (e !== 0) {
        if (u32[(e >>> 2) + 1] === h && this.same(e, kind, thread, name)) {
          const n = u32[(e >>> 2) + 3] + delta;
          if (n <= 0) {
            u32[link >>> 2] = u32[e >>> 2];
            s.heap.free(e, ENTRY_HDR + name.length);
          } else {
            u32[(e >>> 2) + 3] = n;
          }
          return;
        }
        link = e;
        e = u32[e >>> 2];
      }
      if (delta <= 0) return;
      const ne = s.heap.alloc(ENTRY_HDR + name.length);
      const w = ne >>> 2;
      u32[w] = u32[headW];
      u32[w + 1] = h;
      u32[w + 2] = (kind | (thread << 8)) >>> 0;
      u32[w + 3] = delta;
      u32[w + 4] = name.length;
      s.u8.set(name, ne + ENTRY_HDR);
      u32[headW] = ne;
    } finally {
      unlockWord(s.i32, lockW);
    }
  }

  /**
   * Receivers of a message on (channel kind, name) per thread: counts[thread] += subscribers,
   * including pattern subscribers when kind is K_CHANNEL. Returns the total.
   */
  receivers(kind: number, name: Uint8Array, counts: Int32Array): number {
    const s = this.store;
    const u32 = s.u32;
    const h = hashBytes(name);
    let total = 0;
    const b = h % PUBSUB_BUCKETS;
    if (u32[this.heads + b] !== 0) {
      lockWord(s.i32, this.locks + b);
      for (let e = u32[this.heads + b]; e !== 0; e = u32[e >>> 2]) {
        const w = e >>> 2;
        if (u32[w + 1] !== h || (u32[w + 2] & 0xff) !== kind || !this.nameEquals(e, name)) continue;
        const t = u32[w + 2] >>> 8;
        counts[t] += u32[w + 3];
        total += u32[w + 3];
      }
      unlockWord(s.i32, this.locks + b);
    }
    if (kind === K_CHANNEL && u32[this.patHead] !== 0) {
      lockWord(s.i32, this.patLock);
      for (let e = u32[this.patHead]; e !== 0; e = u32[e >>> 2]) {
        const w = e >>> 2;
        const len = u32[w + 4];
        if (globMatch(s.u8.subarray(e + ENTRY_HDR, e + ENTRY_HDR + len), name)) {
          const t = u32[w + 2] >>> 8;
          counts[t] += u32[w + 3];
          total += u32[w + 3];
        }
      }
      unlockWord(s.i32, this.patLock);
    }
    return total;
  }

  /** Every (name, total subscribers) of a kind, for PUBSUB CHANNELS / NUMSUB / NUMPAT. */
  all(kind: number): Map<string, number> {
    const s = this.store;
    const u32 = s.u32;
    const out = new Map<string, number>();
    const visit = (e: number): void => {
      const w = e >>> 2;
      if ((u32[w + 2] & 0xff) !== kind) return;
      const name = Buffer.from(s.u8.subarray(e + ENTRY_HDR, e + ENTRY_HDR + u32[w + 4])).toString('latin1');
      out.set(name, (out.get(name) ?? 0) + u32[w + 3]);
    };
    if (kind === K_PATTERN) {
      lockWord(s.i32, this.patLock);
      for (let e = u32[this.patHead]; e !== 0; e = u32[e >>> 2]) visit(e);
      unlockWord(s.i32, this.patLock);
      return out;
    }
    for (let b = 0; b < PUBSUB_BUCKETS; b++) {
      if (u32[this.heads + b] === 0) continue;
      lockWord(s.i32, this.locks + b);
      for (let e = u32[this.heads + b]; e !== 0; e = u32[e >>> 2]) visit(e);
      unlockWord(s.i32, this.locks + b);
    }
    return out;
  }
}

interface PubMessage { type: 'pub'; kind: number; channel: Uint8Array; message: Uint8Array }

/** This thread's subscribers and the delivery of messages to them. */
export class PubSub {
  readonly registry: PubSubRegistry;
  /** kind -> name (latin1) -> clients, in subscription order. */
  private readonly subs: Array<Map<string, Set<Client>>> = [new Map(), new Map(), new Map()];
  /** Per client: its channels of each kind (names as latin1 strings, insertion ordered). */
  private readonly byClient = new Map<Client, Array<Set<string>>>();
  private readonly counts: Int32Array;
  peers = new Map<number, MessagePort>();

  constructor(private readonly srv: ThreadServer) {
    this.registry = new PubSubRegistry(srv.store);
    this.counts = new Int32Array(srv.threads + 2);
  }

  clientSets(c: Client): Array<Set<string>> {
    let s = this.byClient.get(c);
    if (s === undefined) {
      s = [new Set(), new Set(), new Set()];
      this.byClient.set(c, s);
      c.onClose.push(this.onClientClose);
    }
    return s;
  }

  private readonly onClientClose = (c: Client): void => {
    const sets = this.byClient.get(c);
    if (sets === undefined) return;
    for (let kind = 0; kind < 3; kind++) for (const name of [...sets[kind]]) this.unsubscribe(c, kind, name);
    this.byClient.delete(c);
  };

  /** Returns false if the client already had it. */
  subscribe(c: Client, kind: number, name: string): boolean {
    const sets = this.clientSets(c);
    if (sets[kind].has(name)) return false;
    sets[kind].add(name);
    let m = this.subs[kind].get(name);
    if (m === undefined) {
      m = new Set();
      this.subs[kind].set(name, m);
    }
    m.add(c);
    this.registry.add(kind, Buffer.from(name, 'latin1'), this.srv.threadId, 1);
    this.bump(c, kind, 1);
    return true;
  }

  unsubscribe(c: Client, kind: number, name: string): boolean {
    const sets = this.byClient.get(c);
    if (sets === undefined || !sets[kind].delete(name)) return false;
    const m = this.subs[kind].get(name);
    if (m !== undefined) {
      m.delete(c);
      if (m.size === 0) this.subs[kind].delete(name);
    }
    this.registry.add(kind, Buffer.from(name, 'latin1'), this.srv.threadId, -1);
    this.bump(c, kind, -1);
    return true;
  }

  names(c: Client, kind: number): string[] {
    const sets = this.byClient.get(c);
    return sets === undefined ? [] : [...sets[kind]];
  }

  private bump(c: Client, kind: number, d: number): void {
    if (kind === K_CHANNEL) {
      c.subscriptions += d;
      this.srv.addStat(S_PUBSUB_CHANNELS, d);
    } else if (kind === K_PATTERN) {
      c.psubscriptions += d;
      this.srv.addStat(S_PUBSUB_PATTERNS, d);
    } else {
      c.ssubscriptions += d;
    }
  }

  /** PUBLISH / SPUBLISH: deliver here and to the threads with receivers; returns receivers. */
  publish(from: Client, kind: number, channel: Buffer, message: Buffer): number {
    const counts = this.counts;
    counts.fill(0);
    const total = this.registry.receivers(kind, channel, counts);
    if (total === 0) return 0;
    const me = this.srv.threadId;
    if (counts[me] > 0) this.deliverLocal(from, kind, channel, message);
    for (let t = 0; t < counts.length; t++) {
      if (t === me || counts[t] === 0) continue;
      const p = this.peers.get(t);
      if (p !== undefined) p.postMessage({ type: 'pub', kind, channel, message } satisfies PubMessage);
    }
    return total;
  }

  /** A message posted by another thread. */
  onPeerMessage(m: PubMessage): void {
    this.deliverLocal(null, m.kind, Buffer.from(m.channel.buffer, m.channel.byteOffset, m.channel.byteLength), Buffer.from(m.message.buffer, m.message.byteOffset, m.message.byteLength));
  }

  private deliverLocal(from: Client | null, kind: number, channel: Buffer, message: Buffer): void {
    const key = channel.toString('latin1');
    const direct = this.subs[kind].get(key);
    if (direct !== undefined) {
      const what = kind === K_SHARD ? 'smessage' : 'message';
      const resp2 = encodeMessage(2, what, null, channel, message);
      let resp3: Buffer | null = null;
      for (const c of direct) {
        if (c.resp === 3) resp3 ??= encodeMessage(3, what, null, channel, message);
        this.send(from, c, c.resp === 3 ? (resp3 as Buffer) : resp2);
      }
    }
    if (kind !== K_CHANNEL) return;
    for (const [pat, clients] of this.subs[K_PATTERN]) {
      const pb = Buffer.from(pat, 'latin1');
      if (!globMatch(pb, channel)) continue;
      const r2 = encodeMessage(2, 'pmessage', pb, channel, message);
      let r3: Buffer | null = null;
      for (const c of clients) {
        if (c.resp === 3) r3 ??= encodeMessage(3, 'pmessage', pb, channel, message);
        this.send(from, c, c.resp === 3 ? (r3 as Buffer) : r2);
      }
    }
  }

  private send(from: Client | null, c: Client, bytes: Buffer): void {
    // The publisher itself (RESP3) is mid-command: its push goes before its PUBLISH reply.
    if (c === from) c.w.rawBytes(bytes);
    else {
      c.deliver(bytes);
      checkOutputLimit(this.srv, c);
    }
  }
}

/** client-output-buffer-limit for pub/sub clients: hard limit closes at once, soft after seconds. */
function checkOutputLimit(srv: ThreadServer, c: Client): void {
  const pending = c.socket.writableLength;
  const lim = srv.config.clientOutputBufferLimits().pubsub;
  if (lim.hard > 0 && pending >= lim.hard) {
    c.close();
    return;
  }
  if (lim.soft > 0 && pending >= lim.soft) {
    const now = Date.now();
    if (c.softLimitSince === 0) c.softLimitSince = now;
    else if (now - c.softLimitSince >= lim.softSeconds * 1000) c.close();
  } else {
    c.softLimitSince = 0;
  }
}

function bulkHeader(n: number): string {
  return `$${n}\r\n`;
}

export function encodeMessage(resp: number, what: string, pattern: Buffer | null, channel: Buffer, message: Buffer): Buffer {
  const n = pattern === null ? 3 : 4;
  const parts: Buffer[] = [Buffer.from(`${resp === 3 ? '>' : '*'}${n}\r\n${bulkHeader(what.length)}${what}\r\n`)];
  if (pattern !== null) parts.push(Buffer.from(bulkHeader(pattern.length)), pattern, CRLF);
  parts.push(Buffer.from(bulkHeader(channel.length)), channel, CRLF, Buffer.from(bulkHeader(message.length)), message, CRLF);
  return Buffer.concat(parts);
}

const CRLF = Buffer.from('\r\n');

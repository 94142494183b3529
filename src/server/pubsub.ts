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
import { clientMemChanged, clientMemLive } from './client-mem';
import type { ThreadServer } from './context';
import { S_PUBSUB_CHANNELS, S_PUBSUB_PATTERNS } from './context';
import { asBuffer } from '../protocol/bufview';
import { Coordinator } from './coordinator';
import { fenceUnread, unreadFenceOn } from './arrival';

export const K_CHANNEL = 0;
export const K_SHARD = 1;
export const K_PATTERN = 2;

// next (heap address in 8-byte units, 0 = end), hash, kind|thread<<8, count, len, pad. The bucket
// and pattern heads hold heap addresses in 8-byte units too.
const ENTRY_HDR = 24;

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
  /** i32 word: distinct shard channels (channels and patterns are per-thread stats). */
  private readonly shardCount: number;

  constructor(private readonly store: Store) {
    const base = store.L.pubsub;
    this.heads = base;
    this.locks = base + PUBSUB_BUCKETS;
    this.patHead = base + PUBSUB_BUCKETS * 2;
    this.patLock = this.patHead + 1;
    this.shardCount = this.patHead + 2;
  }

  private same(e: number, kind: number, thread: number, name: Uint8Array): boolean {
    const u32 = this.store.u32;
    const w = e / 4;
    if (u32[w + 2] !== ((kind | (thread << 8)) >>> 0) || u32[w + 4] !== name.length) return false;
    const u8 = this.store.u8;
    for (let i = 0; i < name.length; i++) if (u8[e + ENTRY_HDR + i] !== name[i]) return false;
    return true;
  }

  private nameEquals(e: number, name: Uint8Array): boolean {
    const u8 = this.store.u8;
    if (this.store.u32[e / 4 + 4] !== name.length) return false;
    for (let i = 0; i < name.length; i++) if (u8[e + ENTRY_HDR + i] !== name[i]) return false;
    return true;
  }

  /** Another thread's entry for the same (kind, name) in the chain starting at e (lock held). */
  private hasOther(e: number, kind: number, thread: number, h: number, name: Uint8Array): boolean {
    const u32 = this.store.u32;
    for (; e !== 0; e = u32[e / 4] * 8) {
      const w = e / 4;
      if (u32[w + 1] !== h || (u32[w + 2] & 0xff) !== kind || u32[w + 2] >>> 8 === thread) continue;
      if (this.nameEquals(e, name)) return true;
    }
    return false;
  }

  /**
   * Add delta to this thread's subscriber count for (kind, name). Returns +1 when the name got
   * its first subscriber on any thread, -1 when it lost its last one, else 0 (for the INFO counts
   * of distinct channels and patterns, which Redis reports as dict sizes).
   */
  add(kind: number, name: Uint8Array, thread: number, delta: number): number {
    const s = this.store;
    const u32 = s.u32;
    const h = hashBytes(name);
    const headW = kind === K_PATTERN ? this.patHead : this.heads + (h % PUBSUB_BUCKETS);
    const lockW = kind === K_PATTERN ? this.patLock : this.locks + (h % PUBSUB_BUCKETS);
    lockWord(s.i32, lockW);
    try {
      // The word that links to e: the head word, then the previous entry's next (both unit values).
      let linkW = headW;
      let e = u32[headW] * 8;
      while (e !== 0) {
        if (u32[e / 4 + 1] === h && this.same(e, kind, thread, name)) {
          const n = u32[e / 4 + 3] + delta;
          if (n <= 0) {
            u32[linkW] = u32[e / 4];
            s.heap.free(e, ENTRY_HDR + name.length);
            return this.hasOther(u32[headW] * 8, kind, thread, h, name) ? 0 : this.unique(kind, -1);
          }
          u32[e / 4 + 3] = n;
          return 0;
        }
        linkW = e / 4;
        e = u32[e / 4] * 8;
      }
      if (delta <= 0) return 0;
      const first = !this.hasOther(u32[headW] * 8, kind, thread, h, name);
      const ne = s.heap.alloc(ENTRY_HDR + name.length);
      const w = ne / 4;
      u32[w] = u32[headW];
      u32[w + 1] = h;
      u32[w + 2] = (kind | (thread << 8)) >>> 0;
      u32[w + 3] = delta;
      u32[w + 4] = name.length;
      s.u8.set(name, ne + ENTRY_HDR);
      u32[headW] = ne / 8;
      return first ? this.unique(kind, 1) : 0;
    } finally {
      unlockWord(s.i32, lockW);
    }
  }

  /**
   * Take one subscriber of `thread` away from each of these patterns in one walk of the pattern
   * list (a client with many patterns closes, or PUNSUBSCRIBEs them all): one walk per pattern
   * made closing a client with 6,000 patterns take ~300 ms of its thread. Returns how many of the
   * names lost their last subscriber on every thread.
   */
  dropPatterns(thread: number, names: ReadonlySet<string>): number {
    const s = this.store;
    const u32 = s.u32;
    const removed: string[] = [];
    const others = new Set<string>();
    lockWord(s.i32, this.patLock);
    try {
      // The word that links to e: the head word, then the previous entry's next.
      let linkW = this.patHead;
      let e = u32[linkW] * 8;
      while (e !== 0) {
        const w = e / 4;
        const next = u32[w] * 8;
        const len = u32[w + 4];
        const name = Buffer.from(s.u8.subarray(e + ENTRY_HDR, e + ENTRY_HDR + len)).toString('latin1');
        if (u32[w + 2] >>> 8 !== thread) {
          others.add(name);
        } else if (names.has(name)) {
          if (u32[w + 3] <= 1) {
            u32[linkW] = u32[w];
            s.heap.free(e, ENTRY_HDR + len);
            removed.push(name);
            e = next;
            continue;
          }
          u32[w + 3]--;
        }
        linkW = w;
        e = next;
      }
    } finally {
      unlockWord(s.i32, this.patLock);
    }
    let gone = 0;
    for (const n of removed) if (!others.has(n)) gone++;
    return gone;
  }

  private unique(kind: number, d: number): number {
    if (kind === K_SHARD) Atomics.add(this.store.i32, this.shardCount, d);
    return d;
  }

  /** Distinct shard channels with subscribers, over all threads (INFO pubsubshard_channels). */
  shardChannels(): number {
    return Atomics.load(this.store.i32, this.shardCount);
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
      for (let e = u32[this.heads + b] * 8; e !== 0; e = u32[e / 4] * 8) {
        const w = e / 4;
        if (u32[w + 1] !== h || (u32[w + 2] & 0xff) !== kind || !this.nameEquals(e, name)) continue;
        const t = u32[w + 2] >>> 8;
        counts[t] += u32[w + 3];
        total += u32[w + 3];
      }
      unlockWord(s.i32, this.locks + b);
    }
    if (kind === K_CHANNEL && u32[this.patHead] !== 0) {
      lockWord(s.i32, this.patLock);
      for (let e = u32[this.patHead] * 8; e !== 0; e = u32[e / 4] * 8) {
        const w = e / 4;
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
      const w = e / 4;
      if ((u32[w + 2] & 0xff) !== kind) return;
      const name = Buffer.from(s.u8.subarray(e + ENTRY_HDR, e + ENTRY_HDR + u32[w + 4])).toString('latin1');
      out.set(name, (out.get(name) ?? 0) + u32[w + 3]);
    };
    if (kind === K_PATTERN) {
      lockWord(s.i32, this.patLock);
      for (let e = u32[this.patHead] * 8; e !== 0; e = u32[e / 4] * 8) visit(e);
      unlockWord(s.i32, this.patLock);
      return out;
    }
    for (let b = 0; b < PUBSUB_BUCKETS; b++) {
      if (u32[this.heads + b] === 0) continue;
      lockWord(s.i32, this.locks + b);
      for (let e = u32[this.heads + b] * 8; e !== 0; e = u32[e / 4] * 8) visit(e);
      unlockWord(s.i32, this.locks + b);
    }
    return out;
  }
}

/** What a peer thread posts: one message, or (kind K_BATCH) many packed into `channel`. */
export interface PubMessage { type: 'pub'; kind: number; channel: Uint8Array; message: Uint8Array }

/** Batch marker: `channel` holds records [kind u8][channel len u32][message len u32][channel][message]. */
const K_BATCH = 255;
const REC_HDR = 9;
const EMPTY = new Uint8Array(0);
/** A subscriber's held output is handed to the socket at once past this many bytes. */
const EAGER_BYTES = 64 * 1024;

/**
 * A subscriber's messages of this turn. A message for one subscriber is copied into `cur`; one
 * for many is encoded once and each subscriber keeps a reference in `parts` (the bytes between
 * are sealed into `parts` as a view of `cur`, keeping the order). Written in one go at the end.
 */
export class PubStage {
  parts: Buffer[] = [];
  cur: Buffer | null = null;
  /** cur[curStart, curLen) is written and not yet sealed into parts. */
  curStart = 0;
  curLen = 0;
  /** Every staged byte (parts + the unsealed part of cur). */
  len = 0;
  /** On the flush list of this turn. */
  queued = false;
  /** Size of the next cur: what the last turn needed. */
  hint = 1024;

  seal(): void {
    if (this.curLen > this.curStart) {
      this.parts.push((this.cur as Buffer).subarray(this.curStart, this.curLen));
      this.curStart = this.curLen;
    }
  }
}

interface Topic {
  name: Buffer;
  clients: Set<Client>;
}

/** Messages waiting to go to one peer thread (sent as one transfer after the current batch). */
class Outbox {
  buf = new Uint8Array(16384);
  dv = new DataView(this.buf.buffer);
  len = 0;

  push(kind: number, channel: Uint8Array, message: Uint8Array): void {
    const need = this.len + REC_HDR + channel.length + message.length;
    if (need > this.buf.length) {
      const nb = new Uint8Array(Math.max(need, this.buf.length * 2));
      nb.set(this.buf.subarray(0, this.len));
      this.buf = nb;
      this.dv = new DataView(nb.buffer);
    }
    let p = this.len;
    this.buf[p] = kind;
    this.dv.setUint32(p + 1, channel.length, true);
    this.dv.setUint32(p + 5, message.length, true);
    p += REC_HDR;
    this.buf.set(channel, p);
    p += channel.length;
    this.buf.set(message, p);
    this.len = p + message.length;
  }

  /** The packed bytes (a fresh buffer that may be transferred); the outbox starts over. */
  take(): Uint8Array {
    const out = this.buf.subarray(0, this.len);
    this.buf = new Uint8Array(Math.min(Math.max(16384, this.len), 1 << 20));
    this.dv = new DataView(this.buf.buffer);
    this.len = 0;
    return out;
  }
}

/** This thread's subscribers and the delivery of messages to them. */
export class PubSub {
  readonly registry: PubSubRegistry;
  /** kind -> name (latin1) -> topic with its clients, in subscription order. */
  private readonly subs: Array<Map<string, Topic>> = [new Map(), new Map(), new Map()];
  /** Per client: its channels of each kind (names as latin1 strings, insertion ordered). */
  private readonly byClient = new Map<Client, Array<Set<string>>>();
  private readonly counts: Int32Array;
  peers = new Map<number, MessagePort>();
  /** Per peer thread: messages for it published during the current batch. */
  private readonly outboxes: Array<Outbox | undefined> = [];
  private readonly pendingPeers: number[] = [];
  /** Subscribers with messages held until the end of this event-loop turn (Client.pubStage). */
  private readonly stagedNow: Client[] = [];
  /** Last topic found per kind, valid until this thread's subscriptions change (one channel
   *  published over and over needs no string key or map lookup per message). */
  private readonly lastName: Array<Buffer | null> = [null, null, null];
  private readonly lastTopic: Array<Topic | undefined> = [undefined, undefined, undefined];
  private flushQueued = false;
  // client-output-buffer-limit pubsub, parsed when the setting changes.
  private limitsText = '';
  private hard = 0;
  private soft = 0;
  private softMs = 0;

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
    for (let kind = 0; kind < 3; kind++) this.unsubscribeAll(c, kind);
    this.byClient.delete(c);
    c.pubStage = null;
  };

  /** Returns false if the client already had it. */
  subscribe(c: Client, kind: number, name: string): boolean {
    const sets = this.clientSets(c);
    if (sets[kind].has(name)) return false;
    sets[kind].add(name);
    let t = this.subs[kind].get(name);
    if (t === undefined) {
      t = { name: Buffer.from(name, 'latin1'), clients: new Set() };
      this.subs[kind].set(name, t);
    }
    t.clients.add(c);
    this.lastName[kind] = null;
    this.uniqueStat(kind, this.registry.add(kind, t.name, this.srv.threadId, 1));
    this.bump(c, kind, 1);
    return true;
  }

  unsubscribe(c: Client, kind: number, name: string): boolean {
    const sets = this.byClient.get(c);
    if (sets === undefined || !sets[kind].delete(name)) return false;
    this.leave(c, kind, name);
    this.lastName[kind] = null;
    this.uniqueStat(kind, this.registry.add(kind, Buffer.from(name, 'latin1'), this.srv.threadId, -1));
    this.bump(c, kind, -1);
    return true;
  }

  /**
   * Every name of a kind the client has, dropped (UNSUBSCRIBE without arguments, a closing
   * client); returns them in subscription order. Patterns share one registry list: many of them
   * go in one walk of it.
   */
  unsubscribeAll(c: Client, kind: number): string[] {
    const sets = this.byClient.get(c);
    if (sets === undefined || sets[kind].size === 0) return [];
    const names = [...sets[kind]];
    if (kind !== K_PATTERN || names.length < 8) {
      for (const n of names) this.unsubscribe(c, kind, n);
      return names;
    }
    for (const name of names) this.leave(c, kind, name);
    sets[kind].clear();
    this.lastName[kind] = null;
    this.uniqueStat(kind, -this.registry.dropPatterns(this.srv.threadId, new Set(names)));
    this.bump(c, kind, -names.length);
    return names;
  }

  /** c leaves this thread's subscribers of (kind, name); the name goes with its last one. */
  private leave(c: Client, kind: number, name: string): void {
    const t = this.subs[kind].get(name);
    if (t === undefined) return;
    t.clients.delete(c);
    if (t.clients.size === 0) this.subs[kind].delete(name);
  }

  names(c: Client, kind: number): string[] {
    const sets = this.byClient.get(c);
    return sets === undefined ? [] : [...sets[kind]];
  }

  private bump(c: Client, kind: number, d: number): void {
    if (kind === K_CHANNEL) c.subscriptions += d;
    else if (kind === K_PATTERN) c.psubscriptions += d;
    else c.ssubscriptions += d;
  }

  /** INFO pubsub_channels / pubsub_patterns count distinct names over all threads (Redis's dict sizes). */
  private uniqueStat(kind: number, d: number): void {
    if (d === 0) return;
    if (kind === K_CHANNEL) this.srv.addStat(S_PUBSUB_CHANNELS, d);
    else if (kind === K_PATTERN) this.srv.addStat(S_PUBSUB_PATTERNS, d);
  }

  /** PUBLISH / SPUBLISH: deliver here and to the threads with receivers; returns receivers. */
  publish(from: Client | null, kind: number, channel: Buffer, message: Buffer): number {
    const counts = this.counts;
    for (let i = 0; i < counts.length; i++) counts[i] = 0;
    let total = this.registry.receivers(kind, channel, counts);
    if (total === 0) return 0;
    const me = this.srv.threadId;
    if (total > counts[me] && from !== null && unreadFenceOn() && !Coordinator.of(this.srv.store).holdsLocks()) {
      // Receivers on other threads: an UNSUBSCRIBE they were sent before this PUBLISH and have
      // not run yet goes first (arrival.ts), also one read after it (announced, as the blocking
      // commands a write waits for); then they are counted again.
      fenceUnread(true);
      for (let i = 0; i < counts.length; i++) counts[i] = 0;
      total = this.registry.receivers(kind, channel, counts);
      if (total === 0) return 0;
    }
    if (counts[me] > 0) this.deliverLocal(from, kind, channel, message);
    for (let t = 0; t < counts.length; t++) {
      if (t === me || counts[t] === 0) continue;
      let box = this.outboxes[t];
      if (box === undefined) box = this.outboxes[t] = new Outbox();
      if (box.len === 0) {
        this.pendingPeers.push(t);
        this.queueFlush();
      }
      box.push(kind, channel, message);
    }
    return total;
  }

  /** Messages posted by another thread, in that thread's publish order. */
  onPeerMessage(m: PubMessage): void {
    if (m.kind !== K_BATCH) {
      this.deliverLocal(null, m.kind, asBuffer(m.channel), asBuffer(m.message));
      return;
    }
    const b = asBuffer(m.channel);
    let p = 0;
    while (p + REC_HDR <= b.length) {
      const kind = b[p];
      const cl = b.readUInt32LE(p + 1);
      const ml = b.readUInt32LE(p + 5);
      p += REC_HDR;
      const ch = b.subarray(p, p + cl);
      p += cl;
      const msg = b.subarray(p, p + ml);
      p += ml;
      this.deliverLocal(null, kind, ch, msg);
    }
  }

  private topic(kind: number, channel: Buffer): Topic | undefined {
    const last = this.lastName[kind];
    if (last !== null && bytesEqual(last, channel)) return this.lastTopic[kind];
    const t = this.subs[kind].get(channel.latin1Slice(0, channel.length));
    this.lastName[kind] = t === undefined ? null : t.name;
    this.lastTopic[kind] = t;
    return t;
  }

  private deliverLocal(from: Client | null, kind: number, channel: Buffer, message: Buffer): void {
    const direct = this.topic(kind, channel);
    if (direct !== undefined) this.sendAll(from, direct.clients, kind === K_SHARD ? 1 : 0, null, channel, message);
    if (kind !== K_CHANNEL || this.subs[K_PATTERN].size === 0) return;
    for (const t of this.subs[K_PATTERN].values()) {
      if (globMatch(t.name, channel)) this.sendAll(from, t.clients, 2, t.name, channel, message);
    }
  }

  /** Stage the message for every client: copied for one, encoded once and shared for many. */
  private sendAll(from: Client | null, clients: Set<Client>, what: number, pattern: Uint8Array | null, channel: Uint8Array, message: Uint8Array): void {
    this.refreshLimits();
    const size = messageSize(what, pattern, channel, message);
    if (clients.size === 1) {
      for (const c of clients) this.sendOne(from, c, what, pattern, channel, message, size);
      return;
    }
    let enc2: Buffer | null = null;
    let enc3: Buffer | null = null;
    for (const c of clients) {
      let bytes: Buffer;
      if (c.resp === 3) {
        if (enc3 === null) writeMessage((enc3 = Buffer.allocUnsafe(size)), 0, 3, what, pattern, channel, message);
        bytes = enc3;
      } else {
        if (enc2 === null) writeMessage((enc2 = Buffer.allocUnsafe(size)), 0, 2, what, pattern, channel, message);
        bytes = enc2;
      }
      if (c === from) {
        // The publisher itself (RESP3) is mid-command: its push goes before its PUBLISH reply.
        c.w.rawBytes(bytes);
        continue;
      }
      if (c.closed) continue;
      const st = this.stage(c);
      st.seal();
      st.parts.push(bytes);
      this.staged(c, st, size);
    }
  }

  private sendOne(from: Client | null, c: Client, what: number, pattern: Uint8Array | null, channel: Uint8Array, message: Uint8Array, size: number): void {
    if (c === from) {
      c.w.rawBytes(encodeMessage(c.resp, what, pattern, channel, message));
      return;
    }
    if (c.closed) return;
    const st = this.stage(c);
    let cur = st.cur;
    if (cur === null || st.curLen + size > cur.length) {
      st.seal();
      // A big message gets a buffer of its own size: the socket may hold it for long (a slow
      // reader), and what it holds is what client-output-buffer-limit counts.
      cur = st.cur = Buffer.allocUnsafe(size >= EAGER_BYTES ? size : Math.max(st.hint, size));
      st.curStart = st.curLen = 0;
    }
    st.curLen = writeMessage(cur, st.curLen, c.resp, what, pattern, channel, message);
    this.staged(c, st, size);
  }

  // Messages to one subscriber during one turn of the event loop (all the PUBLISHes read from
  // every socket that was ready, a peer's batch) go out in one write, as Redis writes its
  // clients' buffers before it sleeps: held until the I/O phase ends (setImmediate), the client's
  // own replies are flushed (beforeFlush keeps the order), or EAGER_BYTES is reached.
  private stage(c: Client): PubStage {
    let st = c.pubStage;
    if (st === null) st = c.pubStage = new PubStage();
    if (!st.queued) {
      st.queued = true;
      this.stagedNow.push(c);
      c.beforeFlush = this.writeStagedFor;
      this.queueFlush();
    }
    return st;
  }

  private staged(c: Client, st: PubStage, size: number): void {
    st.len += size;
    if (st.len >= EAGER_BYTES) this.writeStaged(c, st);
    if (this.hard !== 0 || this.soft !== 0) this.checkOutputLimit(c, st.len);
  }

  private writeStaged(c: Client, st: PubStage): void {
    if (st.len === 0) return;
    let out: Buffer;
    if (st.parts.length === 0) {
      // Only copies in cur: hand over that view; the socket keeps it, later messages need a new cur.
      out = (st.cur as Buffer).subarray(st.curStart, st.curLen);
      st.hint = Math.min(Math.max(1024, st.len + (st.len >>> 2)), EAGER_BYTES * 2);
      st.cur = null;
      st.curStart = st.curLen = 0;
    } else {
      st.seal();
      // One shared message (a big one goes out at once): no copy per subscriber.
      out = st.parts.length === 1 ? st.parts[0] : Buffer.concat(st.parts, st.len);
      st.parts.length = 0;
      // Copied out: cur may be written again from its start.
      st.curStart = st.curLen = 0;
    }
    st.len = 0;
    c.deliver(out);
    if (clientMemLive.on) clientMemChanged(this.srv, c);
  }

  private readonly writeStagedFor = (c: Client): void => {
    const st = c.pubStage;
    if (st !== null) this.writeStaged(c, st);
  };

  private queueFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    setImmediate(this.flush);
  }

  /** End of an event-loop turn: post the peer outboxes, write what subscribers have waiting. */
  private readonly flush = (): void => {
    this.flushQueued = false;
    const peers = this.pendingPeers;
    for (let i = 0; i < peers.length; i++) {
      const box = this.outboxes[peers[i]] as Outbox;
      const port = this.peers.get(peers[i]);
      const bytes = box.take();
      if (port === undefined || bytes.length === 0) continue;
      port.postMessage({ type: 'pub', kind: K_BATCH, channel: bytes, message: EMPTY } satisfies PubMessage, [bytes.buffer as ArrayBuffer]);
    }
    peers.length = 0;
    const now = this.stagedNow;
    for (let i = 0; i < now.length; i++) {
      const c = now[i];
      const st = c.pubStage;
      if (st !== null) {
        this.writeStaged(c, st);
        st.queued = false;
      }
      c.beforeFlush = null;
    }
    now.length = 0;
  };

  /**
   * client-output-buffer-limit pubsub: past the hard limit the subscriber is closed at once; past
   * the soft limit for longer than its seconds too. Pending output is what this process still
   * holds for the socket (messages held for this turn and Node's queue); what the kernel took is
   * not ours.
   */
  private refreshLimits(): void {
    const text = this.srv.config.str('client-output-buffer-limit');
    if (text !== this.limitsText) {
      const lim = this.srv.config.clientOutputBufferLimits().pubsub;
      this.limitsText = text;
      this.hard = lim.hard;
      this.soft = lim.soft;
      this.softMs = lim.softSeconds * 1000;
    }
  }

  private checkOutputLimit(c: Client, held: number): void {
    const pending = c.socket.writableLength + held;
    let close = this.hard > 0 && pending >= this.hard;
    if (!close && this.soft > 0 && pending >= this.soft) {
      const now = Date.now();
      if (c.softLimitSince === 0) c.softLimitSince = now;
      else close = now - c.softLimitSince > this.softMs;
    } else if (!close) {
      c.softLimitSince = 0;
    }
    if (close) {
      c.closeOverLimit();
    }
  }
}

/**
 * Publishing from the main thread, which has no subscribers (keyspace events of active expiry):
 * receivers are counted in the shared registry, and the messages of one cron tick go to each
 * worker that has a receiver as one batch on its worker port (PubSub.onPeerMessage delivers).
 */
export class MainPublisher {
  private readonly registry: PubSubRegistry;
  private readonly counts: Int32Array;
  private readonly outboxes: Array<Outbox | undefined> = [];
  private readonly pendingThreads: number[] = [];

  constructor(
    store: Store,
    threads: number,
    private readonly post: (thread: number, m: PubMessage, transfer: ArrayBuffer[]) => void,
  ) {
    this.registry = new PubSubRegistry(store);
    this.counts = new Int32Array(threads + 2);
  }

  publish(channel: Buffer, message: Buffer): number {
    const counts = this.counts;
    for (let i = 0; i < counts.length; i++) counts[i] = 0;
    const total = this.registry.receivers(K_CHANNEL, channel, counts);
    if (total === 0) return 0;
    for (let t = 1; t < counts.length; t++) {
      if (counts[t] === 0) continue;
      let box = this.outboxes[t];
      if (box === undefined) box = this.outboxes[t] = new Outbox();
      if (box.len === 0) this.pendingThreads.push(t);
      box.push(K_CHANNEL, channel, message);
    }
    return total;
  }

  /** Post what this tick published (call after each batch of work). */
  flush(): void {
    const ts = this.pendingThreads;
    for (let i = 0; i < ts.length; i++) {
      const bytes = (this.outboxes[ts[i]] as Outbox).take();
      this.post(ts[i], { type: 'pub', kind: K_BATCH, channel: bytes, message: EMPTY }, [bytes.buffer as ArrayBuffer]);
    }
    ts.length = 0;
  }
}

// Message headers by [resp 2|3][message | smessage | pmessage].
const HEADS = [
  ['*3\r\n$7\r\nmessage\r\n', '*3\r\n$8\r\nsmessage\r\n', '*4\r\n$8\r\npmessage\r\n'].map((s) => Buffer.from(s, 'latin1')),
  ['>3\r\n$7\r\nmessage\r\n', '>3\r\n$8\r\nsmessage\r\n', '>4\r\n$8\r\npmessage\r\n'].map((s) => Buffer.from(s, 'latin1')),
];

function digits(n: number): number {
  let d = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    d++;
  }
  return d;
}

/** Copy b into out at p (a loop for the short names and payloads of most messages: cheaper
 *  than the builtin copy's call). Returns the position after it. */
function put(out: Buffer, p: number, b: Uint8Array): number {
  const n = b.length;
  if (n > 64) {
    out.set(b, p);
    return p + n;
  }
  for (let i = 0; i < n; i++) out[p + i] = b[i];
  return p + n;
}

/** Write `$<len>\r\n<bytes>\r\n` at p; returns the new position. */
function putBulk(out: Buffer, p: number, b: Uint8Array): number {
  out[p++] = 0x24;
  const d = digits(b.length);
  let n = b.length;
  for (let i = d - 1; i >= 0; i--) {
    out[p + i] = 0x30 + (n % 10);
    n = Math.floor(n / 10);
  }
  p += d;
  out[p++] = 13;
  out[p++] = 10;
  p = put(out, p, b);
  out[p++] = 13;
  out[p++] = 10;
  return p;
}

function bulkSize(b: Uint8Array): number {
  return 1 + digits(b.length) + 2 + b.length + 2;
}

/** Bytes of one message push (the same in RESP2 and RESP3). */
function messageSize(what: number, pattern: Uint8Array | null, channel: Uint8Array, message: Uint8Array): number {
  return HEADS[0][what].length + (pattern === null ? 0 : bulkSize(pattern)) + bulkSize(channel) + bulkSize(message);
}

/** Encode one message push at out[p]; returns the position after it. */
function writeMessage(out: Buffer, p: number, resp: number, what: number, pattern: Uint8Array | null, channel: Uint8Array, message: Uint8Array): number {
  p = put(out, p, HEADS[resp === 3 ? 1 : 0][what]);
  if (pattern !== null) p = putBulk(out, p, pattern);
  p = putBulk(out, p, channel);
  return putBulk(out, p, message);
}

/** One message push: what 0 message, 1 smessage, 2 pmessage (pattern given). */
export function encodeMessage(resp: number, what: number, pattern: Uint8Array | null, channel: Uint8Array, message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(messageSize(what, pattern, channel, message));
  writeMessage(out, 0, resp, what, pattern, channel, message);
  return out;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  const n = a.length;
  if (n !== b.length) return false;
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

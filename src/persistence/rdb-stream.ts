// Streams in RDB files (rdb.c, Redis 7.0): RDB_TYPE_STREAM_LISTPACKS_2 (19) written, 19 and the
// older RDB_TYPE_STREAM_LISTPACKS (15) read. Also used by DUMP/RESTORE (the same value bytes) and
// by the plain AOF rewrite (aof-plain.ts: rewriteStreamObject's commands from a decoded stream).
//
// Value layout: len(nodes), then per node the master ID as a 16-byte big-endian string (the rax
// key) and the node's listpack as a string; len(length), last_id (len ms, len seq); type 19 only:
// first_id, max_deleted_entry_id, len(entries_added); then the consumer groups: len(count) and
// per group name, last_id, [19: entries_read], the global PEL (len, per entry the raw 16-byte ID,
// delivery time ms (8 bytes LE), len(delivery count)), the consumers (len, per consumer name,
// seen time ms, len(PEL size), raw IDs). Stream IDs are uint64 pairs: lengths are read as bigint.
//
// Consumer groups live under the stream header's groups word (stream.ts H_CGROUPS); their part of
// the value is written and loaded by the codec stream-groups-rdb.ts (StreamGroupsCodec, default
// here, replaceable with setStreamGroupsCodec).
//
// Nodes are written as they are (shardis's stream nodes are Redis's listpacks byte for byte); a
// loaded node is validated as streamValidateListpackIntegrity's deep mode does (listpack, master
// entry, every entry's shape and lp-count) and then adopted as it is.

import type { Heap } from '../store/heap';
import type { RdbIn, RdbOut } from './rdb';
import { streamGroupsRdb } from './stream-groups-rdb';
import {
  StreamID, H_CGROUPS, STREAM_ITEM_FLAG_DELETED, STREAM_ITEM_FLAG_SAMEFIELDS, U64_MAX, idCmp, idStr,
  streamNew, streamFree, streamAdoptNode, streamSetLength, streamSetLastId, streamSetFirstId, streamSetMaxDeletedId,
  streamSetEntriesAdded, streamLength, streamLastId, streamFirstId, streamMaxDeletedId, streamEntriesAdded,
  streamNodeCount, streamNodeMaster, streamNodeListpack,
} from '../store/stream';
import { lpBytes } from '../store/listpack';

/** rdb.ts's writeString (rdbSaveRawString), passed in so this module needs rdb.ts's types only. */
export type WriteStr = (out: RdbOut, s: Uint8Array, start: number, end: number, compress: boolean) => void;
/** rdb.ts's listpackElements (validated elements of a listpack blob; integers as their digits). */
export type LpElements = (inp: RdbIn, blob: Buffer) => Buffer[];

export interface DecodedPending {
  id: StreamID;
  deliveryTime: number;
  deliveryCount: number;
}
export interface DecodedConsumer {
  name: Buffer;
  seenTime: number;
  /** IDs of its pending entries (each in the group's PEL). */
  pel: StreamID[];
}
export interface DecodedGroup {
  name: Buffer;
  lastId: StreamID;
  /** entries_read (-1: SCG_INVALID_ENTRIES_READ). */
  entriesRead: number;
  /** A type 15 file has none: the loader estimates it (streamEstimateDistanceFromFirstEverEntry). */
  estimate: boolean;
  pel: DecodedPending[];
  consumers: DecodedConsumer[];
}
export interface DecodedNode {
  master: StreamID;
  lp: Buffer;
  /** The listpack's elements (validated), integers as their digits. */
  els: Buffer[];
}
export interface DecodedStream {
  nodes: DecodedNode[];
  length: number;
  lastId: StreamID;
  firstId: StreamID;
  maxDeletedId: StreamID;
  entriesAdded: number;
  groups: DecodedGroup[];
}

/** The groups store's side of the value (stream.ts's reserved groups word). */
export interface StreamGroupsCodec {
  /** Write len(count) and every group of stream s. */
  write(out: RdbOut, h: Heap, s: number, compress: boolean, writeStr: WriteStr): void;
  /** Give the stream s the decoded groups (throws to refuse them; s is then freed). */
  load(h: Heap, s: number, groups: DecodedGroup[], t: number): void;
}
let groupsCodec: StreamGroupsCodec | null = streamGroupsRdb;
export function setStreamGroupsCodec(c: StreamGroupsCodec): void {
  groupsCodec = c;
}

// ---- writing ----------------------------------------------------------------------------------

const nodeKey = Buffer.alloc(16);

/** rdbSaveObject for a stream (the caller holds the key's slot lock). */
export function writeStreamValue(out: RdbOut, h: Heap, s: number, compress: boolean, writeStr: WriteStr): void {
  const n = streamNodeCount(h, s);
  out.len(n);
  writeStreamNodes(out, h, s, 0, Infinity, compress, writeStr);
  writeStreamTail(out, h, s, compress, writeStr);
}

/**
 * Nodes from index `from` on (a snapshot writes a big stream in pieces) until performance.now()
 * passes `until`. Returns the index of the next node to write (the node count when done).
 */
export function writeStreamNodes(out: RdbOut, h: Heap, s: number, from: number, until: number, compress: boolean, writeStr: WriteStr): number {
  const n = streamNodeCount(h, s);
  let i = from;
  while (i < n) {
    const m = streamNodeMaster(h, s, i);
    nodeKey.writeBigUInt64BE(m.ms, 0);
    nodeKey.writeBigUInt64BE(m.seq, 8);
    writeStr(out, nodeKey, 0, 16, compress);
    const lp = streamNodeListpack(h, s, i);
    writeStr(out, h.u8, lp, lp + lpBytes(h, lp), compress);
    i++;
    if ((i & 15) === 0 && performance.now() > until) break;
  }
  return i;
}

/** What follows the nodes: length, IDs, entries added, the consumer groups. */
export function writeStreamTail(out: RdbOut, h: Heap, s: number, compress: boolean, writeStr: WriteStr): void {
  out.len(streamLength(h, s));
  writeId(out, streamLastId(h, s));
  writeId(out, streamFirstId(h, s));
  writeId(out, streamMaxDeletedId(h, s));
  out.len(streamEntriesAdded(h, s));
  // Never throw here: the snapshot walker holds a slot lock around this. A groups store that
  // sets the groups word registers its codec (setStreamGroupsCodec) before any group exists.
  if (h.u32[(s + H_CGROUPS) / 4] !== 0 && groupsCodec !== null) groupsCodec.write(out, h, s, compress, writeStr);
  else out.len(0);
}

/** rdbSaveLen of a uint64 (above 2^53 too). */
export function writeLen64(out: RdbOut, v: bigint): void {
  if (v <= 0xffffffffn) {
    out.len(Number(v));
    return;
  }
  out.byte(0x81);
  const b = Buffer.allocUnsafe(8);
  b.writeBigUInt64BE(v, 0);
  out.bytes(b);
}

function writeId(out: RdbOut, id: StreamID): void {
  writeLen64(out, id.ms);
  writeLen64(out, id.seq);
}

// ---- reading ----------------------------------------------------------------------------------

/** rdbLoadLen as a uint64 (no string encodings). */
export function readLen64(inp: RdbIn): bigint {
  const first = inp.u8();
  const t = (first & 0xc0) >> 6;
  if (t === 0) return BigInt(first & 0x3f);
  if (t === 1) return BigInt(((first & 0x3f) << 8) | inp.u8());
  if (first === 0x80) return BigInt(inp.take(4).readUInt32BE(0));
  if (first === 0x81) return inp.take(8).readBigUInt64BE(0);
  return inp.fail(`unexpected length encoding ${first}`);
}

function readNum(inp: RdbIn): number {
  const v = readLen64(inp);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) inp.fail('stream length out of range');
  return Number(v);
}

function readId(inp: RdbIn): StreamID {
  const ms = readLen64(inp);
  return { ms, seq: readLen64(inp) };
}

function rawId(inp: RdbIn): StreamID {
  const b = inp.take(16);
  return { ms: b.readBigUInt64BE(0), seq: b.readBigUInt64BE(8) };
}

/** lpGetIntegerIfValid on an element's digits: int64 or null. */
function elInt(b: Buffer): bigint | null {
  const s = b.toString('latin1');
  if (!/^-?[0-9]{1,19}$/.test(s) || (s.length > 1 && (s[0] === '0' || s.startsWith('-0')))) return null;
  const v = BigInt(s);
  if (v < -(1n << 63n) || v >= 1n << 63n) return null;
  return v;
}

/** rdbLoadObject for RDB_TYPE_STREAM_LISTPACKS(_2): decoded and validated, nothing allocated. */
export function readStreamValue(inp: RdbIn, t: number, lpElements: LpElements): DecodedStream {
  const v2 = t === 19;
  const count = readNum(inp);
  const nodes: DecodedNode[] = [];
  for (let i = 0; i < count; i++) {
    const key = inp.str();
    if (key.length !== 16) inp.fail('Stream node key entry is not the size of a stream ID');
    const master = { ms: key.readBigUInt64BE(0), seq: key.readBigUInt64BE(8) };
    const lp = Buffer.from(inp.str());
    const els = lpElements(inp, lp);
    if (els.length === 0) inp.fail('Empty listpack inside stream');
    nodes.push({ master, lp, els });
  }
  // A rax keeps its keys sorted whatever order they came in; a repeated key is refused.
  nodes.sort((a, b) => idCmp(a.master, b.master));
  for (let i = 1; i < nodes.length; i++) {
    if (idCmp(nodes[i - 1].master, nodes[i].master) === 0) inp.fail('Listpack re-added with existing key');
  }
  const length = readNum(inp);
  const lastId = readId(inp);
  let firstId: StreamID;
  let maxDeletedId: StreamID = { ms: 0n, seq: 0n };
  let entriesAdded: number;
  let live = 0;
  let firstLive: StreamID | null = null;
  for (const n of nodes) {
    const r = validateNode(inp, n);
    live += r.live;
    if (firstLive === null && r.firstLive !== null) firstLive = r.firstLive;
  }
  if (live !== length) inp.fail('Stream length inconsistent with its listpacks');
  if (v2) {
    firstId = readId(inp);
    maxDeletedId = readId(inp);
    entriesAdded = readNum(inp);
  } else {
    entriesAdded = length;
    firstId = firstLive ?? { ms: U64_MAX, seq: U64_MAX };
  }
  const groups: DecodedGroup[] = [];
  const ng = readNum(inp);
  for (let g = 0; g < ng; g++) {
    const name = Buffer.from(inp.str());
    if (groups.some((x) => x.name.equals(name))) inp.fail(`Duplicated consumer group name ${name.toString('latin1')}`);
    const gl = readId(inp);
    // entries_read is saved as a uint64: -1 (SCG_INVALID_ENTRIES_READ) as 2^64-1.
    const entriesRead = v2 ? Number(BigInt.asIntN(64, readLen64(inp))) : -1;
    const pel: DecodedPending[] = [];
    // PEL ids -> owned by a consumer yet (sets, not scans: a PEL may hold millions).
    const owner = new Map<string, boolean>();
    const np = readNum(inp);
    for (let i = 0; i < np; i++) {
      const id = rawId(inp);
      const deliveryTime = inp.millis();
      const deliveryCount = readNum(inp);
      const k = `${id.ms}-${id.seq}`;
      if (owner.has(k)) inp.fail('Duplicated global PEL entry loading stream consumer group');
      owner.set(k, false);
      pel.push({ id, deliveryTime, deliveryCount });
    }
    const consumers: DecodedConsumer[] = [];
    const names = new Set<string>();
    const nc = readNum(inp);
    for (let i = 0; i < nc; i++) {
      const cname = Buffer.from(inp.str());
      if (names.has(cname.toString('latin1'))) inp.fail('Duplicate stream consumer detected.');
      names.add(cname.toString('latin1'));
      const seenTime = inp.millis();
      const ids: StreamID[] = [];
      const n = readNum(inp);
      for (let j = 0; j < n; j++) {
        const id = rawId(inp);
        const k = `${id.ms}-${id.seq}`;
        const owned = owner.get(k);
        if (owned === undefined) inp.fail('Consumer entry not found in group global PEL');
        // A second owner, this consumer or another (Redis: the NACK already has a consumer).
        if (owned === true) inp.fail('Duplicated consumer PEL entry  loading a stream consumer group');
        owner.set(k, true);
        ids.push(id);
      }
      consumers.push({ name: cname, seenTime, pel: ids });
    }
    for (const owned of owner.values()) if (!owned) inp.fail('Stream CG PEL entry without consumer');
    groups.push({ name, lastId: gl, entriesRead, estimate: !v2, pel, consumers });
  }
  return { nodes, length, lastId, firstId, maxDeletedId, entriesAdded, groups };
}

interface NodeCheck {
  live: number;
  firstLive: StreamID | null;
}

/** streamValidateListpackIntegrity (deep), plus the counts against what the node holds. */
function validateNode(inp: RdbIn, n: DecodedNode): NodeCheck {
  const els = n.els;
  const bad = (): never => inp.fail('Stream listpack integrity check failed.');
  let p = 0;
  const int = (): bigint => {
    if (p >= els.length) bad();
    const v = elInt(els[p++]);
    if (v === null) return bad();
    return v;
  };
  const skip = (k: bigint): void => {
    if (k < 0n || BigInt(p) + k > BigInt(els.length)) bad();
    p += Number(k);
  };
  const count = int();
  const deleted = int();
  const mf = int();
  skip(mf);
  if (int() !== 0n) bad();
  let live = 0;
  let dead = 0;
  let firstLive: StreamID | null = null;
  for (let total = count + deleted; total > 0n; total--) {
    const start = p;
    const flags = int();
    const msd = int();
    const seqd = int();
    let fields = mf;
    let extra = 3n;
    if (!(flags & BigInt(STREAM_ITEM_FLAG_SAMEFIELDS))) {
      fields = int();
      skip(fields);
      extra += fields + 1n;
    }
    skip(fields);
    const lpCount = int();
    if (lpCount !== fields + extra || BigInt(p - start - 1) !== lpCount) bad();
    if (flags & BigInt(STREAM_ITEM_FLAG_DELETED)) dead++;
    else {
      live++;
      if (firstLive === null) firstLive = { ms: BigInt.asUintN(64, n.master.ms + msd), seq: BigInt.asUintN(64, n.master.seq + seqd) };
    }
  }
  if (p !== els.length) bad();
  if (BigInt(live) !== count || BigInt(dead) !== deleted) bad();
  return { live, firstLive };
}

/** The stream of a decoded value in the heap (streamAdoptNode per node, then the header). */
export function buildStream(inp: RdbIn, h: Heap, d: DecodedStream, t: number): number {
  if (d.groups.length > 0 && groupsCodec === null) inp.fail('stream consumer groups are not supported yet');
  const s = streamNew(h);
  try {
    for (const n of d.nodes) {
      const lp = h.alloc(n.lp.length);
      h.u8.set(n.lp, lp);
      streamAdoptNode(h, s, n.master, lp);
    }
    streamSetLength(h, s, d.length);
    streamSetLastId(h, s, d.lastId);
    streamSetFirstId(h, s, d.firstId);
    streamSetMaxDeletedId(h, s, d.maxDeletedId);
    streamSetEntriesAdded(h, s, d.entriesAdded);
    if (d.groups.length > 0) (groupsCodec as StreamGroupsCodec).load(h, s, d.groups, t);
  } catch (e) {
    streamFree(h, s);
    throw e;
  }
  return s;
}

// ---- the plain AOF rewrite (rewriteStreamObject) -----------------------------------------------

const B = (s: string): Buffer => Buffer.from(s, 'latin1');
const idBuf = (id: StreamID): Buffer => B(idStr(id));

/**
 * The commands that rebuild a decoded stream: XADD per live entry (or XADD MAXLEN 0 0-1 x y for
 * an empty stream), XSETID with ENTRIESADDED and MAXDELETEDID, then per group XGROUP CREATE ...
 * ENTRIESREAD, XCLAIM ... FORCE per pending entry of each consumer, XGROUP CREATECONSUMER for a
 * consumer with none.
 */
export function streamRewrite(key: Buffer, d: DecodedStream, cmd: (argv: Buffer[]) => void): void {
  if (d.length > 0) {
    for (const n of d.nodes) {
      const els = n.els;
      const mf = Number(elInt(els[2]));
      const fieldsAt = 3;
      let p = 3 + mf + 1;
      while (p < els.length) {
        const flags = Number(elInt(els[p]));
        const id = { ms: BigInt.asUintN(64, n.master.ms + (elInt(els[p + 1]) as bigint)), seq: BigInt.asUintN(64, n.master.seq + (elInt(els[p + 2]) as bigint)) };
        p += 3;
        const argv: Buffer[] = [B('XADD'), key, idBuf(id)];
        if (flags & STREAM_ITEM_FLAG_SAMEFIELDS) {
          for (let i = 0; i < mf; i++) argv.push(els[fieldsAt + i], els[p + i]);
          p += mf;
        } else {
          const nf = Number(elInt(els[p]));
          p++;
          for (let i = 0; i < nf * 2; i++) argv.push(els[p + i]);
          p += nf * 2;
        }
        p++; // lp-count
        if (!(flags & STREAM_ITEM_FLAG_DELETED)) cmd(argv);
      }
    }
  } else {
    cmd([B('XADD'), key, B('MAXLEN'), B('0'), B('0-1'), B('x'), B('y')]);
  }
  cmd([B('XSETID'), key, idBuf(d.lastId), B('ENTRIESADDED'), B(String(d.entriesAdded)), B('MAXDELETEDID'), idBuf(d.maxDeletedId)]);
  for (const g of d.groups) {
    cmd([B('XGROUP'), B('CREATE'), key, g.name, idBuf(g.lastId), B('ENTRIESREAD'), B(String(g.entriesRead))]);
    for (const c of g.consumers) {
      if (c.pel.length === 0) {
        cmd([B('XGROUP'), B('CREATECONSUMER'), key, g.name, c.name]);
        continue;
      }
      for (const id of c.pel) {
        const nack = g.pel.find((x) => idCmp(x.id, id) === 0) as DecodedPending;
        cmd([B('XCLAIM'), key, g.name, c.name, B('0'), idBuf(id), B('TIME'), B(String(nack.deliveryTime)), B('RETRYCOUNT'), B(String(nack.deliveryCount)), B('JUSTID'), B('FORCE')]);
      }
    }
  }
}

// Redis's RDB format (rdb.c, version 10 as Redis 7.0 writes it): the value serializer shared by
// SAVE/BGSAVE files and DUMP payloads, and the loader for every type and encoding redis-server
// 7.0 loads (RDB versions 1..10, legacy zipmap/ziplist/quicklist v1 encodings included).
//
// Saving: listpack and intset values are written from the bytes already in the shared heap;
// strings get Redis's integer and LZF encodings. Loading: a value is decoded and validated into
// plain byte arrays first and only then built in the heap, in the encoding Redis 7.0 would
// choose under the current *-max-* settings, so a corrupt payload can only fail, never leave a
// broken object in shared memory (what sanitize-dump-payload buys Redis).

import type { Heap } from '../store/heap';
import {
  Store, ENTRY_HDR, T_STRING, T_LIST, T_SET, T_ZSET, T_HASH, T_STREAM, E_INT, E_LISTPACK, E_INTSET, E_HASHTABLE, E_SKIPLIST, E_STREAM,
} from '../store/keyspace';
import { type DecodedStream, writeStreamValue, writeStreamNodes, writeStreamTail, readStreamValue, buildStream } from './rdb-stream';
import { lpBytes, lpFirst, lpNext, lpGet, lpValBytes, LpVal } from '../store/listpack';
import { qlCount, qlFirstNode, qlNextNode, qlNodeListpack, qlNew, qlPush } from '../store/quicklist';
import { intsetBlob, intsetLen } from '../store/intset';
import { DictIter, DICT_SET, DICT_HASH, dictKey, dictVal, dictSize } from '../store/dict';
import { zslLength, zslTail, nodePrev, nodeMember, nodeMemberLen, nodeScore } from '../store/skiplist';
import { zsetFromSorted, type ZsetLimits } from '../store/zset';
import { streamLength, streamNodeCount } from '../store/stream';
import { createHashFrom } from '../store/hash';
import { createSetFrom } from '../store/set';
import { Crc64 } from './crc64';
import { lzfCompressRange, lzfDecompress, LzfError } from './lzf';

export const RDB_VERSION = 10;

export const RDB_TYPE_STRING = 0;
export const RDB_TYPE_LIST = 1;
export const RDB_TYPE_SET = 2;
export const RDB_TYPE_ZSET = 3;
export const RDB_TYPE_HASH = 4;
export const RDB_TYPE_ZSET_2 = 5;
export const RDB_TYPE_MODULE = 6;
export const RDB_TYPE_MODULE_2 = 7;
export const RDB_TYPE_HASH_ZIPMAP = 9;
export const RDB_TYPE_LIST_ZIPLIST = 10;
export const RDB_TYPE_SET_INTSET = 11;
export const RDB_TYPE_ZSET_ZIPLIST = 12;
export const RDB_TYPE_HASH_ZIPLIST = 13;
export const RDB_TYPE_LIST_QUICKLIST = 14;
export const RDB_TYPE_STREAM_LISTPACKS = 15;
export const RDB_TYPE_HASH_LISTPACK = 16;
export const RDB_TYPE_ZSET_LISTPACK = 17;
export const RDB_TYPE_LIST_QUICKLIST_2 = 18;
export const RDB_TYPE_STREAM_LISTPACKS_2 = 19;

export const OP_FUNCTION2 = 245;
export const OP_FUNCTION = 246;
export const OP_MODULE_AUX = 247;
export const OP_IDLE = 248;
export const OP_FREQ = 249;
export const OP_AUX = 250;
export const OP_RESIZEDB = 251;
export const OP_EXPIRETIME_MS = 252;
export const OP_EXPIRETIME = 253;
export const OP_SELECTDB = 254;
export const OP_EOF = 255;

const QUICKLIST_NODE_CONTAINER_PLAIN = 1;
export const QUICKLIST_NODE_CONTAINER_PACKED = 2;

// ---------------------------------------------------------------------------------------------
// Output

/**
 * Bytes being serialized: a reusable buffer whose full chunks go to `sink` (a file writer, or a
 * list for DUMP), with the running CRC-64 of everything emitted.
 */
export class RdbOut {
  buf: Buffer;
  pos = 0;
  total = 0;
  /** Bytes LZF saved: length + lzfSaved is the data's size before compression. */
  lzfSaved = 0;
  readonly crc = new Crc64();
  private readonly chunks: Buffer[] = [];

  constructor(
    private readonly sink: ((chunk: Buffer) => void) | null = null,
    size = 1 << 16,
    /** Off for bytes that are not a file's (a snapshot's copies: the file's writer sums them). */
    private readonly crcOn = true,
  ) {
    this.buf = Buffer.allocUnsafe(size);
  }

  /** Empty again, to be reused (with takeOwned). */
  reset(): void {
    this.pos = 0;
    this.total = 0;
    this.lzfSaved = 0;
    this.chunks.length = 0;
  }

  /**
   * Everything emitted, in a Buffer that is its whole ArrayBuffer (so it can be transferred to
   * another thread, not cloned); the buffer stays for the next use.
   */
  takeOwned(): Buffer {
    const out = Buffer.allocUnsafeSlow(this.total + this.pos);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    out.set(this.buf.subarray(0, this.pos), at);
    if (this.crcOn) this.crc.update(this.buf, 0, this.pos);
    this.total += this.pos;
    this.pos = 0;
    this.chunks.length = 0;
    return out;
  }

  /** Bytes emitted so far (flushed and pending). */
  get length(): number {
    return this.total + this.pos;
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.flush();
    if (n > this.buf.length) this.buf = Buffer.allocUnsafe(Math.max(n, this.buf.length * 2));
  }

  /**
   * Hand the pending bytes to the sink (or keep them for take()). A nearly full buffer is handed
   * over as it is and replaced (no copy); a small remainder is copied out.
   */
  flush(): void {
    if (this.pos === 0) return;
    if (this.crcOn) this.crc.update(this.buf, 0, this.pos);
    let chunk: Buffer;
    if (this.pos >= this.buf.length >>> 1) {
      chunk = this.buf.subarray(0, this.pos);
      this.buf = Buffer.allocUnsafeSlow(this.buf.length);
    } else chunk = Buffer.from(this.buf.subarray(0, this.pos));
    this.total += this.pos;
    this.pos = 0;
    if (this.sink !== null) this.sink(chunk);
    else this.chunks.push(chunk);
  }

  /** Everything emitted, in one buffer (no sink: DUMP, tests). */
  take(): Buffer {
    this.flush();
    const b = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    this.chunks.length = 0;
    return b;
  }

  byte(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  bytes(b: Uint8Array, start = 0, end = b.length): void {
    const n = end - start;
    if (n > 1 << 20) {
      // A big value: pass it through without growing the buffer to its size.
      this.flush();
      if (this.crcOn) this.crc.update(b, start, end);
      this.total += n;
      const chunk = Buffer.from(b.subarray(start, end));
      if (this.sink !== null) this.sink(chunk);
      else this.chunks.push(chunk);
      return;
    }
    this.ensure(n);
    if (n <= 32) {
      // Short strings (members, fields): a loop beats making a subarray view for set().
      const buf = this.buf;
      let p = this.pos;
      for (let i = start; i < end; i++) buf[p++] = b[i];
      this.pos = p;
      return;
    }
    this.buf.set(b.subarray(start, end), this.pos);
    this.pos += n;
  }

  /** rdbSaveLen. */
  len(n: number): void {
    this.ensure(9);
    const b = this.buf;
    if (n < 1 << 6) b[this.pos++] = n;
    else if (n < 1 << 14) {
      b[this.pos++] = 0x40 | (n >>> 8);
      b[this.pos++] = n & 0xff;
    } else if (n <= 0xffffffff) {
      b[this.pos++] = 0x80;
      b.writeUInt32BE(n, this.pos);
      this.pos += 4;
    } else {
      b[this.pos++] = 0x81;
      b.writeBigUInt64BE(BigInt(n), this.pos);
      this.pos += 8;
    }
  }

  /** rdbSaveMillisecondTime: 8 bytes little endian. */
  millis(ms: number): void {
    this.ensure(8);
    this.buf.writeBigInt64LE(BigInt(Math.trunc(ms)), this.pos);
    this.pos += 8;
  }

  /** rdbSaveBinaryDoubleValue. */
  double(d: number): void {
    this.ensure(8);
    f64Scratch[0] = d;
    const buf = this.buf;
    const p = this.pos;
    for (let i = 0; i < 8; i++) buf[p + i] = f64Bytes[i];
    this.pos = p + 8;
  }
}

let lzfScratch = Buffer.allocUnsafe(1 << 16);
// Little-endian hosts only (as the rest of the heap code): the f64's bytes are its LE encoding.
const f64Scratch = new Float64Array(1);
const f64Bytes = new Uint8Array(f64Scratch.buffer);

/** Integer value of s if it is the canonical form of an int32 (rdbTryIntegerEncoding). */
function int32Of(s: Uint8Array, start: number, end: number): number | null {
  const len = end - start;
  if (len === 0 || len > 11) return null;
  let i = start;
  let neg = false;
  if (s[i] === 0x2d) {
    neg = true;
    i++;
    if (i === end) return null;
  }
  if (s[i] === 0x30 && end - i > 1) return null;
  if (neg && s[i] === 0x30) return null; // "-0" is not canonical
  let v = 0;
  for (; i < end; i++) {
    const c = s[i] - 0x30;
    if (c < 0 || c > 9) return null;
    v = v * 10 + c;
  }
  if (neg) v = -v;
  if (v < -2147483648 || v > 2147483647) return null;
  return v;
}

/** rdbSaveRawString: integer encoding when it fits, LZF over 20 bytes when it saves, else raw. */
export function writeString(out: RdbOut, s: Uint8Array, start: number, end: number, compress: boolean): void {
  const len = end - start;
  if (len <= 11) {
    const v = int32Of(s, start, end);
    if (v !== null) {
      out.ensure(5);
      const b = out.buf;
      if (v >= -128 && v <= 127) {
        b[out.pos++] = 0xc0;
        b[out.pos++] = v & 0xff;
      } else if (v >= -32768 && v <= 32767) {
        b[out.pos++] = 0xc1;
        b.writeInt16LE(v, out.pos);
        out.pos += 2;
      } else {
        b[out.pos++] = 0xc2;
        b.writeInt32LE(v, out.pos);
        out.pos += 4;
      }
      return;
    }
  }
  if (compress && len > 20) {
    if (lzfScratch.length < len) lzfScratch = Buffer.allocUnsafe(len);
    const clen = lzfCompressRange(s, start, end, lzfScratch, len - 4);
    if (clen > 0) {
      out.lzfSaved += len - clen;
      out.byte(0xc3);
      out.len(clen);
      out.len(len);
      out.bytes(lzfScratch, 0, clen);
      return;
    }
  }
  out.len(len);
  out.bytes(s, start, end);
}

/** What the serializer needs from the configuration. */
export interface SaveOptions {
  compress: boolean;
  /** maxmemory-policy has the LRU flag: write IDLE; the LFU flag: write FREQ. */
  lru: boolean;
  lfu: boolean;
}

const lv = new LpVal();
const dictIter = new DictIter();

/** The RDB type byte of an entry's value (rdbSaveObjectType). */
export function rdbTypeOf(s: Store, e: number): number {
  const type = s.type(e);
  const enc = s.encoding(e);
  switch (type) {
    case T_STRING:
      return RDB_TYPE_STRING;
    case T_LIST:
      return RDB_TYPE_LIST_QUICKLIST_2;
    case T_SET:
      return enc === E_INTSET ? RDB_TYPE_SET_INTSET : RDB_TYPE_SET;
    case T_ZSET:
      return enc === E_LISTPACK ? RDB_TYPE_ZSET_LISTPACK : RDB_TYPE_ZSET_2;
    case T_HASH:
      return enc === E_LISTPACK ? RDB_TYPE_HASH_LISTPACK : RDB_TYPE_HASH;
    case T_STREAM:
      return RDB_TYPE_STREAM_LISTPACKS_2;
  }
  throw new Error(`unknown type ${type}`);
}

/** rdbSaveObject: the value of entry e (without its type byte). The caller holds the slot lock. */
export function writeValue(out: RdbOut, s: Store, e: number, compress: boolean): void {
  const h = s.heap;
  const u8 = h.u8;
  const type = s.type(e);
  const enc = s.encoding(e);
  if (type === T_STRING) {
    const at = s.strOffset(e);
    writeString(out, u8, at, at + s.strLen(e), compress && enc !== E_INT);
    return;
  }
  const obj = s.objPtr(e);
  if (type === T_STREAM) {
    // One lock hold for the whole stream (not a "big value" for snapshots yet).
    writeStreamValue(out, h, obj, compress, writeString);
  } else if (type === T_LIST) {
    let nodes = 0;
    for (let n = qlFirstNode(h, obj); n !== 0; n = qlNextNode(h, n)) nodes++;
    out.len(nodes);
    for (let n = qlFirstNode(h, obj); n !== 0; n = qlNextNode(h, n)) {
      out.len(QUICKLIST_NODE_CONTAINER_PACKED);
      const lp = qlNodeListpack(h, n);
      writeString(out, u8, lp, lp + lpBytes(h, lp), compress);
    }
  } else if (type === T_SET) {
    if (enc === E_INTSET) {
      const blob = intsetBlob(h, obj);
      writeString(out, blob, 0, blob.length, compress);
    } else {
      out.len(dictSize(h, obj));
      dictIter.init(h, obj);
      for (let d = dictIter.next(); d !== 0; d = dictIter.next()) {
        const k = dictKey(h, DICT_SET, d);
        writeString(out, k, 0, k.length, compress);
      }
    }
  } else if (type === T_ZSET) {
    if (enc === E_LISTPACK) {
      writeString(out, u8, obj, obj + lpBytes(h, obj), compress);
    } else {
      // Redis walks from the tail, so a loader inserting at the head rebuilds in order cheaply.
      out.len(zslLength(h, obj));
      for (let n = zslTail(h, obj); n !== 0; n = nodePrev(h, n)) {
        const m = nodeMember(h, n);
        writeString(out, u8, m, m + nodeMemberLen(h, n), compress);
        out.double(nodeScore(h, n));
      }
    }
  } else if (type === T_HASH) {
    if (enc === E_LISTPACK) {
      writeString(out, u8, obj, obj + lpBytes(h, obj), compress);
    } else {
      out.len(dictSize(h, obj));
      dictIter.init(h, obj);
      for (let d = dictIter.next(); d !== 0; d = dictIter.next()) {
        const k = dictKey(h, DICT_HASH, d);
        writeString(out, k, 0, k.length, compress);
        const v = dictVal(h, d);
        writeString(out, v, 0, v.length, compress);
      }
    }
  }
}

/** rdbSaveKeyValuePair: expiry, IDLE/FREQ, type, key, value. */
export function writeKeyValue(out: RdbOut, s: Store, e: number, o: SaveOptions): void {
  writeKeyHeader(out, s, e, o);
  writeValue(out, s, e, o.compress);
}

// ---- big values in chunks (snapshots) --------------------------------------------------------
//
// A snapshot must not hold a slot lock for the time a huge collection takes to serialize (a
// 5M-member zset is ~1 s of work). Such values are written in pieces: a cursor in shared memory
// (3 words + a count) remembers where the walk stopped, and the slot is released in between.
// Writers that change the value meanwhile first save what the walk still needs (snapshot.ts's
// pinned records and element/node tracking), and reads never change a collection's structure.
// Lists are written node by node by snapshot.ts itself (its node vector).

/** Collections with at least this many elements are serialized in chunks by snapshots. */
export const BIG_VALUE_ELEMENTS = 2048;
/**
 * Strings this long are compressed in chunks by snapshots (snapshot.ts's pinned strings): LZF of
 * a 512 MB string is seconds of work, never done in one lock hold.
 */
export const BIG_STRING_BYTES = 1 << 20;

/** Is entry e a value big enough to be written in chunks? */
export function isBigValue(s: Store, e: number): boolean {
  const type = s.type(e);
  if (type === T_STRING) return s.strLen(e) >= BIG_STRING_BYTES;
  const h = s.heap;
  const obj = s.objPtr(e);
  const enc = s.encoding(e);
  if (type === T_LIST) return qlCount(h, obj) >= BIG_VALUE_ELEMENTS;
  if (type === T_SET) return enc !== E_INTSET && dictSize(h, obj) >= BIG_VALUE_ELEMENTS;
  if (type === T_HASH) return enc !== E_LISTPACK && dictSize(h, obj) >= BIG_VALUE_ELEMENTS;
  if (type === T_ZSET) return enc !== E_LISTPACK && zslLength(h, obj) >= BIG_VALUE_ELEMENTS;
  if (type === T_STREAM) return streamLength(h, obj) >= BIG_VALUE_ELEMENTS;
  return false;
}

/**
 * Start a big zset, hash or set: the key's header and the element count, and the cursor at
 * i32[cur..cur+4) (position words, then elements left). The cursor is heap memory (a snapshot's
 * pin record): a zset's next node is kept in 8-byte units.
 */
export function writeBigStart(out: RdbOut, s: Store, e: number, o: SaveOptions, i32: Int32Array, cur: number): void {
  writeKeyHeader(out, s, e, o);
  const h = s.heap;
  const obj = s.objPtr(e);
  const type = s.type(e);
  if (type === T_STREAM) {
    out.len(streamNodeCount(h, obj));
    i32[cur] = 0;
    i32[cur + 3] = streamNodeCount(h, obj);
  } else if (type === T_ZSET) {
    out.len(zslLength(h, obj));
    i32[cur] = zslTail(h, obj) / 8;
    i32[cur + 3] = zslLength(h, obj);
  } else {
    out.len(dictSize(h, obj));
    dictIter.init(h, obj).saveTo(i32, cur);
    i32[cur + 3] = dictSize(h, obj);
  }
}

/**
 * Write more of a big zset, hash or set (object obj of type `type`: its key may be gone, the
 * snapshot owning the object) from its cursor until performance.now() passes `until`
 * (Infinity: to the end). True when the value is complete. `skip` (values a snapshot tracks
 * element by element): nodes or entries not to write, added or already copied since the point
 * in time.
 */
export function writeBigMore(out: RdbOut, s: Store, type: number, obj: number, compress: boolean, i32: Int32Array, cur: number, until: number, skip: ((n: number) => boolean) | null = null): boolean {
  const h = s.heap;
  const u8 = h.u8;
  let left = i32[cur + 3];
  let done = false;
  if (type === T_STREAM) {
    // Untracked: a writer changing a pinned stream writes the rest of it first, so it is as at
    // the point in time until then. The tail (length, IDs, groups) goes with the last nodes.
    const n = writeStreamNodes(out, h, obj, i32[cur], until, compress, writeString);
    left -= n - i32[cur];
    i32[cur] = n;
    done = n >= streamNodeCount(h, obj);
    if (done) writeStreamTail(out, h, obj, compress, writeString);
  } else if (type === T_ZSET) {
    let n = (i32[cur] >>> 0) * 8;
    let k = 0;
    while (n !== 0) {
      if (skip === null || !skip(n)) {
        const m = nodeMember(h, n);
        writeString(out, u8, m, m + nodeMemberLen(h, n), compress);
        out.double(nodeScore(h, n));
      }
      n = nodePrev(h, n);
      left--;
      if ((++k & 127) === 0 && performance.now() > until) break;
    }
    i32[cur] = n / 8;
    done = n === 0;
  } else {
    const kind = type === T_SET ? DICT_SET : DICT_HASH;
    dictIter.resumeFrom(h, obj, i32, cur);
    let k = 0;
    for (;;) {
      const d = dictIter.next();
      if (d === 0) {
        done = true;
        break;
      }
      if (skip === null || !skip(d)) {
        const key = dictKey(h, kind, d);
        writeString(out, key, 0, key.length, compress);
        if (kind === DICT_HASH) {
          const v = dictVal(h, d);
          writeString(out, v, 0, v.length, compress);
        }
      }
      left--;
      // Stop only between buckets: a writer tells written entries from the rest by bucket.
      if (++k >= 128 && dictIter.atBucketEnd()) {
        k = 0;
        if (performance.now() > until) break;
      }
    }
    dictIter.saveTo(i32, cur);
  }
  i32[cur + 3] = left;
  return done;
}

/** The part of rdbSaveKeyValuePair before the value: expiry, IDLE/FREQ, type, key. */
export function writeKeyHeader(out: RdbOut, s: Store, e: number, o: SaveOptions): void {
  const exp = s.expireAt(e);
  if (exp !== 0) {
    out.byte(OP_EXPIRETIME_MS);
    out.millis(exp);
  }
  if (o.lru) {
    out.byte(OP_IDLE);
    out.len(Math.max(0, Math.floor(s.now / 1000) - s.lru(e)));
  } else if (o.lfu) {
    out.byte(OP_FREQ);
    out.byte(s.lfuFreq(e));
  }
  out.byte(rdbTypeOf(s, e));
  const k = e + ENTRY_HDR;
  writeString(out, s.u8, k, k + s.keyLen(e), o.compress);
}

/** An AUX field (rdbSaveAuxField). */
export function writeAux(out: RdbOut, key: string, val: string): void {
  out.byte(OP_AUX);
  const k = Buffer.from(key, 'latin1');
  const v = Buffer.from(val, 'latin1');
  writeString(out, k, 0, k.length, false);
  writeString(out, v, 0, v.length, false);
}

/** The function libraries (rdbSaveFunctions): FUNCTION2 and the library's code, each. */
export function writeFunctions(out: RdbOut, codes: Buffer[], compress: boolean): void {
  for (const c of codes) {
    out.byte(OP_FUNCTION2);
    writeString(out, c, 0, c.length, compress);
  }
}

/**
 * rdbFunctionLoad's record (after the opcode): the library code. RDB_OPCODE_FUNCTION (Redis 7.0
 * release candidates) held name, engine, an optional description and the body apart: they are
 * joined into the code 7.0 keeps ("#!<engine> name=<name>\n<body>").
 */
export function readFunction(inp: RdbIn, type: number): Buffer {
  if (type === OP_FUNCTION2) return Buffer.from(inp.str());
  const name = Buffer.from(inp.str());
  const engine = Buffer.from(inp.str());
  if (inp.count() !== 0) inp.str();
  const body = inp.str();
  return Buffer.concat([Buffer.from('#!'), engine, Buffer.from(' name='), name, Buffer.from('\n'), body]);
}

export function writeHeader(out: RdbOut, usedMem: number, aofBase = false): void {
  out.bytes(Buffer.from(`REDIS${String(RDB_VERSION).padStart(4, '0')}`, 'latin1'));
  writeAux(out, 'redis-ver', '7.0.15');
  writeAux(out, 'redis-bits', '64');
  writeAux(out, 'ctime', String(Math.floor(Date.now() / 1000)));
  writeAux(out, 'used-mem', String(usedMem));
  writeAux(out, 'aof-base', aofBase ? '1' : '0');
}

export function writeSelectDb(out: RdbOut, db: number, size: number, expires: number): void {
  out.byte(OP_SELECTDB);
  out.len(db);
  out.byte(OP_RESIZEDB);
  out.len(size);
  out.len(expires);
}

/** EOF and the checksum (zeros when rdbchecksum is off, which loaders take as "not computed"). */
export function writeTrailer(out: RdbOut, checksum: boolean): void {
  out.byte(OP_EOF);
  out.flush();
  const sum = checksum ? out.crc.bytes() : Buffer.alloc(8);
  out.bytes(sum);
  out.flush();
}

/** DUMP's payload: type, value, RDB version (2 bytes LE), CRC-64 of all that (8 bytes LE). */
export function dumpPayload(s: Store, e: number, compress: boolean): Buffer {
  const out = new RdbOut(null, 256);
  out.byte(rdbTypeOf(s, e));
  writeValue(out, s, e, compress);
  out.byte(RDB_VERSION & 0xff);
  out.byte(RDB_VERSION >>> 8);
  const body = out.take();
  const crc = new Crc64().update(body).bytes();
  return Buffer.concat([body, crc]);
}

// ---------------------------------------------------------------------------------------------
// Input

/**
 * verifyDumpPayload (DUMP, FUNCTION DUMP): at least the version and CRC, a version we read, and
 * the CRC-64 of everything before it right (unless DEBUG SET-SKIP-CHECKSUM-VALIDATION is on).
 */
export function verifyDumpPayload(p: Buffer, skipChecksum: boolean): boolean {
  if (p.length < 10) return false;
  const footer = p.length - 10;
  const ver = p[footer] | (p[footer + 1] << 8);
  if (ver > RDB_VERSION) return false;
  if (skipChecksum) return true;
  return new Crc64().update(p, 0, p.length - 8).bytes().equals(p.subarray(p.length - 8));
}

export class RdbError extends Error {
  /** The key and RDB type being read when it failed (a file's load), as redis-check-rdb reports. */
  key: Buffer | null = null;
  rdbType = -1;
  constructor(
    readonly offset: number,
    what: string,
  ) {
    super(what);
  }
}

/** redis-check-rdb's names of the RDB value types (rdb_type_string). */
export const RDB_TYPE_NAMES = [
  'string', 'list-linked', 'set-hashtable', 'zset-v1', 'hash-hashtable', 'zset-v2', 'module-value', '', '',
  'hash-zipmap', 'list-ziplist', 'set-intset', 'zset-ziplist', 'hash-ziplist', 'quicklist', 'stream', 'hash-listpack', 'zset-listpack',
  'quicklist-v2', 'stream-v2',
];

/** A cursor over RDB bytes; every read checks the bounds. */
export class RdbIn {
  pos = 0;
  constructor(
    readonly b: Buffer,
    readonly base = 0,
  ) {}

  fail(what: string): never {
    throw new RdbError(this.base + this.pos, what);
  }

  need(n: number): void {
    if (this.pos + n > this.b.length) this.fail('unexpected end of file');
  }

  u8(): number {
    this.need(1);
    return this.b[this.pos++];
  }

  take(n: number): Buffer {
    this.need(n);
    const v = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** rdbLoadLenByRef: the length, with `encoded` set when it is a special string encoding. */
  encoded = false;
  len(): number {
    this.encoded = false;
    const first = this.u8();
    const t = (first & 0xc0) >> 6;
    if (t === 3) {
      this.encoded = true;
      return first & 0x3f;
    }
    if (t === 0) return first & 0x3f;
    if (t === 1) return ((first & 0x3f) << 8) | this.u8();
    if (first === 0x80) {
      this.need(4);
      const v = this.b.readUInt32BE(this.pos);
      this.pos += 4;
      return v;
    }
    if (first === 0x81) {
      this.need(8);
      const v = this.b.readBigUInt64BE(this.pos);
      this.pos += 8;
      if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail('length out of range');
      return Number(v);
    }
    return this.fail(`unknown length encoding ${first}`);
  }

  /** A plain length (no string encoding allowed). */
  count(): number {
    const n = this.len();
    if (this.encoded) this.fail('unexpected encoded length');
    return n;
  }

  /** rdbGenericLoadStringObject: bytes (a view into the input unless decompressed). */
  str(): Buffer {
    const n = this.len();
    if (!this.encoded) return this.take(n);
    switch (n) {
      case 0:
        return Buffer.from(String((this.take(1).readInt8(0))), 'latin1');
      case 1:
        return Buffer.from(String(this.take(2).readInt16LE(0)), 'latin1');
      case 2:
        return Buffer.from(String(this.take(4).readInt32LE(0)), 'latin1');
      case 3: {
        const clen = this.count();
        const len = this.count();
        const at = this.pos;
        const c = this.take(clen);
        try {
          return lzfDecompress(c, len);
        } catch (e) {
          if (e instanceof LzfError) throw new RdbError(this.base + at, `invalid LZF compressed string: ${e.message}`);
          throw e;
        }
      }
    }
    return this.fail(`unknown string encoding ${n}`);
  }

  /** rdbLoadDoubleValue: the ASCII score of RDB_TYPE_ZSET. */
  asciiDouble(): number {
    const n = this.u8();
    if (n === 253) return NaN;
    if (n === 254) return Infinity;
    if (n === 255) return -Infinity;
    const s = this.take(n).toString('latin1');
    const v = Number(s);
    if (Number.isNaN(v) && !/^\s*[+-]?nan/i.test(s)) {
      const l = s.toLowerCase();
      if (l === 'inf' || l === '+inf') return Infinity;
      if (l === '-inf') return -Infinity;
      this.fail('invalid double value');
    }
    return v;
  }

  binaryDouble(): number {
    this.need(8);
    const v = this.b.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  millis(): number {
    this.need(8);
    const v = this.b.readBigInt64LE(this.pos);
    this.pos += 8;
    return Number(v);
  }

  secs(): number {
    this.need(4);
    const v = this.b.readInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
}

// ---- decoding of the packed encodings (validated; values are copies or input views) ----------

function intString(v: number | bigint): Buffer {
  return Buffer.from(String(v), 'latin1');
}

/** Elements of a listpack blob (listpack.c's format), validated. */
export function listpackElements(inp: RdbIn, blob: Buffer): Buffer[] {
  const bad = (what: string): never => inp.fail(`listpack: ${what}`);
  if (blob.length < 7) bad('too short');
  const total = blob.readUInt32LE(0);
  if (total !== blob.length) bad('total bytes mismatch');
  const count = blob.readUInt16LE(4);
  const out: Buffer[] = [];
  let p = 6;
  for (;;) {
    if (p >= blob.length) bad('missing terminator');
    const c = blob[p];
    if (c === 0xff) {
      if (p !== blob.length - 1) bad('bytes after the terminator');
      break;
    }
    let entry: Buffer;
    let encLen: number;
    if ((c & 0x80) === 0) {
      entry = intString(c & 0x7f);
      encLen = 1;
    } else if ((c & 0xc0) === 0x80) {
      const l = c & 0x3f;
      encLen = 1 + l;
      if (p + encLen > blob.length) bad('string past the end');
      entry = blob.subarray(p + 1, p + 1 + l);
    } else if ((c & 0xe0) === 0xc0) {
      if (p + 2 > blob.length) bad('int past the end');
      let v = ((c & 0x1f) << 8) | blob[p + 1];
      if (v >= 1 << 12) v -= 1 << 13;
      entry = intString(v);
      encLen = 2;
    } else if ((c & 0xf0) === 0xe0) {
      if (p + 2 > blob.length) bad('string past the end');
      const l = ((c & 0x0f) << 8) | blob[p + 1];
      encLen = 2 + l;
      if (p + encLen > blob.length) bad('string past the end');
      entry = blob.subarray(p + 2, p + 2 + l);
    } else if (c === 0xf0) {
      if (p + 5 > blob.length) bad('string past the end');
      const l = blob.readUInt32LE(p + 1);
      encLen = 5 + l;
      if (p + encLen > blob.length) bad('string past the end');
      entry = blob.subarray(p + 5, p + 5 + l);
    } else if (c === 0xf1) {
      if (p + 3 > blob.length) bad('int past the end');
      entry = intString(blob.readInt16LE(p + 1));
      encLen = 3;
    } else if (c === 0xf2) {
      if (p + 4 > blob.length) bad('int past the end');
      entry = intString(blob.readIntLE(p + 1, 3));
      encLen = 4;
    } else if (c === 0xf3) {
      if (p + 5 > blob.length) bad('int past the end');
      entry = intString(blob.readInt32LE(p + 1));
      encLen = 5;
    } else if (c === 0xf4) {
      if (p + 9 > blob.length) bad('int past the end');
      entry = intString(blob.readBigInt64LE(p + 1));
      encLen = 9;
    } else {
      return bad(`invalid encoding byte ${c}`);
    }
    // backlen: encLen in 7-bit groups, most significant first (read from its end, as
    // lpDecodeBacklen: the last byte holds the lowest 7 bits).
    const bl = encLen < 128 ? 1 : encLen < 16384 ? 2 : encLen < 2097152 ? 3 : encLen < 268435456 ? 4 : 5;
    if (p + encLen + bl > blob.length) bad('backlen past the end');
    let back = 0;
    for (let i = 0; i < bl; i++) {
      const byte = blob[p + encLen + bl - 1 - i];
      back += (byte & 0x7f) * 128 ** i;
    }
    if (back !== encLen) bad('backlen mismatch');
    out.push(entry);
    p += encLen + bl;
  }
  if (count !== 65535 && count !== out.length) bad('element count mismatch');
  return out;
}

/** Elements of a ziplist blob (ziplist.c, RDB < 10), validated. */
export function ziplistElements(inp: RdbIn, blob: Buffer): Buffer[] {
  const bad = (what: string): never => inp.fail(`ziplist: ${what}`);
  if (blob.length < 11) bad('too short');
  if (blob.readUInt32LE(0) !== blob.length) bad('total bytes mismatch');
  const tail = blob.readUInt32LE(4);
  const count = blob.readUInt16LE(8);
  const out: Buffer[] = [];
  let p = 10;
  let prevLen = 0;
  let last = 10;
  for (;;) {
    if (p >= blob.length) bad('missing terminator');
    if (blob[p] === 0xff) {
      if (p !== blob.length - 1) bad('bytes after the terminator');
      break;
    }
    const start = p;
    last = start;
    let prev: number;
    if (blob[p] < 254) {
      prev = blob[p];
      p += 1;
    } else {
      if (p + 5 > blob.length) bad('prevlen past the end');
      prev = blob.readUInt32LE(p + 1);
      p += 5;
    }
    if (prev !== prevLen) bad('prevlen mismatch');
    if (p >= blob.length) bad('entry past the end');
    const c = blob[p];
    let entry: Buffer;
    const t = c >> 6;
    if (t === 0) {
      const l = c & 0x3f;
      if (p + 1 + l > blob.length) bad('string past the end');
      entry = blob.subarray(p + 1, p + 1 + l);
      p += 1 + l;
    } else if (t === 1) {
      if (p + 2 > blob.length) bad('string past the end');
      const l = ((c & 0x3f) << 8) | blob[p + 1];
      if (p + 2 + l > blob.length) bad('string past the end');
      entry = blob.subarray(p + 2, p + 2 + l);
      p += 2 + l;
    } else if (t === 2) {
      if (p + 5 > blob.length) bad('string past the end');
      const l = blob.readUInt32BE(p + 1);
      if (p + 5 + l > blob.length) bad('string past the end');
      entry = blob.subarray(p + 5, p + 5 + l);
      p += 5 + l;
    } else {
      const need = (n: number): void => {
        if (p + 1 + n > blob.length) bad('int past the end');
      };
      if (c === 0xc0) {
        need(2);
        entry = intString(blob.readInt16LE(p + 1));
        p += 3;
      } else if (c === 0xd0) {
        need(4);
        entry = intString(blob.readInt32LE(p + 1));
        p += 5;
      } else if (c === 0xe0) {
        need(8);
        entry = intString(blob.readBigInt64LE(p + 1));
        p += 9;
      } else if (c === 0xf0) {
        need(3);
        entry = intString(blob.readIntLE(p + 1, 3));
        p += 4;
      } else if (c === 0xfe) {
        need(1);
        entry = intString(blob.readInt8(p + 1));
        p += 2;
      } else if (c >= 0xf1 && c <= 0xfd) {
        entry = intString((c & 0x0f) - 1);
        p += 1;
      } else {
        return bad(`invalid encoding byte ${c}`);
      }
    }
    prevLen = p - start;
    out.push(entry);
  }
  if (count !== 65535 && count !== out.length) bad('element count mismatch');
  // The tail offset names the last entry (the header's end when empty), as ziplistValidateIntegrity.
  if (tail !== last) bad('tail offset mismatch');
  return out;
}

/** Field/value pairs of a zipmap blob (Redis < 2.6 small hashes), validated. */
export function zipmapPairs(inp: RdbIn, blob: Buffer): Buffer[] {
  const bad = (what: string): never => inp.fail(`zipmap: ${what}`);
  if (blob.length < 2) bad('too short');
  const out: Buffer[] = [];
  let p = 1;
  const readLen = (): number => {
    if (p >= blob.length) bad('length past the end');
    const b = blob[p];
    if (b < 254) {
      p += 1;
      return b;
    }
    if (b === 254) {
      if (p + 5 > blob.length) bad('length past the end');
      const l = blob.readUInt32LE(p + 1);
      p += 5;
      return l;
    }
    return -1;
  };
  for (;;) {
    const kl = readLen();
    if (kl < 0) break;
    if (p + kl > blob.length) bad('key past the end');
    const k = blob.subarray(p, p + kl);
    p += kl;
    const vl = readLen();
    if (vl < 0) bad('value missing');
    if (p >= blob.length) bad('free byte past the end');
    const free = blob[p++];
    if (p + vl + free > blob.length) bad('value past the end');
    out.push(k, blob.subarray(p, p + vl));
    p += vl + free;
  }
  if (p !== blob.length - 1) bad('bytes after the terminator');
  if (out.length === 0) bad('empty');
  return out;
}

/** Members of an intset blob, validated (encoding, length, strictly ascending). */
export function intsetMembers(inp: RdbIn, blob: Buffer): Buffer[] {
  const bad = (what: string): never => inp.fail(`intset: ${what}`);
  if (blob.length < 8) bad('too short');
  const enc = blob.readUInt32LE(0);
  const n = blob.readUInt32LE(4);
  if (enc !== 2 && enc !== 4 && enc !== 8) bad(`invalid encoding ${enc}`);
  if (blob.length !== 8 + n * enc) bad('length mismatch');
  const out: Buffer[] = [];
  let prev: bigint | null = null;
  for (let i = 0; i < n; i++) {
    const at = 8 + i * enc;
    const v = enc === 2 ? BigInt(blob.readInt16LE(at)) : enc === 4 ? BigInt(blob.readInt32LE(at)) : blob.readBigInt64LE(at);
    if (prev !== null && v <= prev) bad('not strictly ascending');
    prev = v;
    out.push(intString(v));
  }
  return out;
}

// ---- building objects ---------------------------------------------------------------------------

/** The *-max-* settings that choose encodings on load. */
export interface LoadLimits {
  listFill: number;
  setMaxIntset: number;
  hashMaxEntries: number;
  hashMaxValue: number;
  zset: ZsetLimits;
}

/** A decoded value, before it is built in the heap. */
export interface Decoded {
  type: number;
  /** string: [value]; list/set: elements; hash: field, value...; zset: members (scores apart). */
  items: Buffer[];
  scores: number[] | null;
  /** Came as a listpack/ziplist: Redis converts such hashes and zsets on their length alone. */
  packed?: boolean;
  /** A stream (type T_STREAM, items empty): rdb-stream.ts's decoded value and its RDB type. */
  stream?: DecodedStream;
  rdbType?: number;
}

/**
 * Decode a packed blob, failing with Redis's text for that type (rdbLoadObject's
 * rdbReportCorruptRDB), the decoder's own reason after it.
 */
function integrity(inp: RdbIn, text: string, decode: (inp: RdbIn, blob: Buffer) => Buffer[], blob: Buffer): Buffer[] {
  try {
    return decode(inp, blob);
  } catch (e) {
    if (e instanceof RdbError) throw new RdbError(e.offset, `${text} ${e.message}`);
    throw e;
  }
}

function streamListpack(inp: RdbIn, blob: Buffer): Buffer[] {
  return integrity(inp, 'Stream listpack integrity check failed.', listpackElements, blob);
}

/** rdbLoadObject: decode a value of RDB type t (validated, nothing allocated in the heap). */
export function readValue(inp: RdbIn, t: number): Decoded {
  const items: Buffer[] = [];
  switch (t) {
    case RDB_TYPE_STRING:
      return { type: T_STRING, items: [inp.str()], scores: null };
    case RDB_TYPE_LIST: {
      const n = inp.count();
      for (let i = 0; i < n; i++) items.push(inp.str());
      return { type: T_LIST, items, scores: null };
    }
    case RDB_TYPE_SET: {
      const n = inp.count();
      for (let i = 0; i < n; i++) items.push(inp.str());
      return { type: T_SET, items, scores: null };
    }
    case RDB_TYPE_ZSET:
    case RDB_TYPE_ZSET_2: {
      const n = inp.count();
      const scores: number[] = [];
      for (let i = 0; i < n; i++) {
        items.push(inp.str());
        const sc = t === RDB_TYPE_ZSET ? inp.asciiDouble() : inp.binaryDouble();
        if (Number.isNaN(sc)) inp.fail('zset score is NaN');
        scores.push(sc);
      }
      return { type: T_ZSET, items, scores };
    }
    case RDB_TYPE_HASH: {
      const n = inp.count();
      for (let i = 0; i < n; i++) items.push(inp.str(), inp.str());
      return { type: T_HASH, items, scores: null };
    }
    case RDB_TYPE_HASH_ZIPMAP:
      return { type: T_HASH, items: integrity(inp, 'Zipmap integrity check failed.', zipmapPairs, inp.str()), scores: null };
    case RDB_TYPE_LIST_ZIPLIST:
      return { type: T_LIST, items: integrity(inp, 'List ziplist integrity check failed.', ziplistElements, inp.str()), scores: null };
    case RDB_TYPE_SET_INTSET:
      return { type: T_SET, items: integrity(inp, 'Intset integrity check failed.', intsetMembers, inp.str()), scores: null };
    case RDB_TYPE_ZSET_ZIPLIST:
    case RDB_TYPE_ZSET_LISTPACK: {
      const blob = inp.str();
      const els =
        t === RDB_TYPE_ZSET_ZIPLIST
          ? integrity(inp, 'Zset ziplist integrity check failed.', ziplistElements, blob)
          : integrity(inp, 'Zset listpack integrity check failed.', listpackElements, blob);
      if (els.length & 1) inp.fail(`Zset ${t === RDB_TYPE_ZSET_ZIPLIST ? 'ziplist' : 'listpack'} integrity check failed. odd number of elements`);
      if (hasDuplicates(els, 2)) inp.fail(`Zset ${t === RDB_TYPE_ZSET_ZIPLIST ? 'ziplist' : 'listpack'} integrity check failed. duplicate members`);
      const scores: number[] = [];
      for (let i = 0; i < els.length; i += 2) {
        items.push(els[i]);
        const s = els[i + 1].toString('latin1');
        const v = parseScore(s);
        if (Number.isNaN(v)) inp.fail('zset score is not a number');
        scores.push(v);
      }
      return { type: T_ZSET, items, scores, packed: true };
    }
    case RDB_TYPE_HASH_ZIPLIST:
    case RDB_TYPE_HASH_LISTPACK: {
      const blob = inp.str();
      const els =
        t === RDB_TYPE_HASH_ZIPLIST
          ? integrity(inp, 'Hash ziplist integrity check failed.', ziplistElements, blob)
          : integrity(inp, 'Hash listpack integrity check failed.', listpackElements, blob);
      // Redis's validation with deduplication (sanitize-dump-payload; shardis always validates).
      if (els.length & 1 || hasDuplicates(els, 2)) {
        inp.fail(`Hash ${t === RDB_TYPE_HASH_ZIPLIST ? 'ziplist' : 'listpack'} integrity check failed. ${els.length & 1 ? 'odd number of elements' : 'duplicate fields'}`);
      }
      return { type: T_HASH, items: els, scores: null, packed: true };
    }
    case RDB_TYPE_LIST_QUICKLIST:
    case RDB_TYPE_LIST_QUICKLIST_2: {
      const n = inp.count();
      for (let i = 0; i < n; i++) {
        let container = QUICKLIST_NODE_CONTAINER_PACKED;
        if (t === RDB_TYPE_LIST_QUICKLIST_2) {
          container = inp.count();
          if (container !== QUICKLIST_NODE_CONTAINER_PACKED && container !== QUICKLIST_NODE_CONTAINER_PLAIN) {
            inp.fail(`Quicklist integrity check failed. unknown container ${container}`);
          }
        }
        const blob = inp.str();
        // Redis refuses a node of no bytes whatever its container.
        if (blob.length === 0) inp.fail('Quicklist integrity check failed. empty node');
        if (container === QUICKLIST_NODE_CONTAINER_PLAIN) {
          items.push(blob);
          continue;
        }
        const els =
          t === RDB_TYPE_LIST_QUICKLIST
            ? integrity(inp, 'Ziplist integrity check failed.', ziplistElements, blob)
            : integrity(inp, 'Listpack integrity check failed.', listpackElements, blob);
        for (const x of els) items.push(x);
      }
      return { type: T_LIST, items, scores: null };
    }
    case RDB_TYPE_STREAM_LISTPACKS:
    case RDB_TYPE_STREAM_LISTPACKS_2:
      return { type: T_STREAM, items, scores: null, stream: readStreamValue(inp, t, streamListpack), rdbType: t };
    case RDB_TYPE_MODULE:
    case RDB_TYPE_MODULE_2:
      return inp.fail('module values are not supported by shardis');
  }
  return inp.fail(`unknown RDB value type ${t}`);
}

function parseScore(s: string): number {
  const l = s.toLowerCase();
  if (l === 'inf' || l === '+inf') return Infinity;
  if (l === '-inf') return -Infinity;
  if (s.length === 0 || /\s/.test(s)) return NaN;
  return Number(s);
}

/** True when the decoded collection has duplicates (Redis refuses such payloads). */
function hasDuplicates(items: Buffer[], step: number): boolean {
  if (items.length / step < 2) return false;
  const seen = new Set<string>();
  for (let i = 0; i < items.length; i += step) {
    const k = items[i].toString('latin1');
    if (seen.has(k)) return true;
    seen.add(k);
  }
  return false;
}

/**
 * Build a decoded collection in the heap in the encoding Redis 7.0 would choose; returns
 * [enc, obj]. Duplicate members and empty collections are refused (null) as Redis refuses them.
 */
export function buildObject(inp: RdbIn, h: Heap, d: Decoded, lim: LoadLimits): [number, number] {
  const items = d.items;
  switch (d.type) {
    case T_LIST: {
      const ql = qlNew(h, lim.listFill);
      for (const x of items) qlPush(h, ql, x, false);
      return [4 /* E_QUICKLIST */, ql];
    }
    case T_SET: {
      if (hasDuplicates(items, 1)) inp.fail('Duplicate set members detected');
      const r = createSetFrom(h, items, lim.setMaxIntset);
      return [r.enc, r.ptr];
    }
    case T_HASH: {
      if (hasDuplicates(items, 2)) inp.fail('Duplicate hash fields detected');
      const r = createHashFrom(h, items, lim.hashMaxEntries, d.packed === true ? Infinity : lim.hashMaxValue);
      return [r.enc, r.ptr];
    }
    case T_ZSET: {
      if (hasDuplicates(items, 1)) inp.fail('Duplicate zset fields detected');
      const scores = d.scores as number[];
      const idx = items.map((_, i) => i);
      idx.sort((a, b) => scores[a] - scores[b] || Buffer.compare(items[a], items[b]));
      const zl = d.packed === true ? { maxEntries: lim.zset.maxEntries, maxValue: Infinity } : lim.zset;
      const [enc, obj] = zsetFromSorted(h, idx.map((i) => items[i]), idx.map((i) => scores[i]), zl);
      return [enc, obj];
    }
    case T_STREAM:
      return [E_STREAM, buildStream(inp, h, d.stream as DecodedStream, d.rdbType as number)];
  }
  return inp.fail('not a collection');
}

/** Zero-length collections are skipped on load (Redis: "empty keys skipped"); an empty stream is a value. */
export function isEmptyCollection(d: Decoded): boolean {
  return d.type !== T_STRING && d.type !== T_STREAM && d.items.length === 0;
}

void E_HASHTABLE;
void E_SKIPLIST;
void intsetLen;
void lpFirst;
void lpNext;
void lpGet;
void lpValBytes;
void lv;

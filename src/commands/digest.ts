// DEBUG DIGEST-VALUE and DEBUG OBJECT (debug.c): what Redis's test suite uses to compare values
// (COPY, type conversions) and to look at a key's encoding. Called from DEBUG in server.ts with
// every slot locked. Rare debugging commands: they may allocate.
import type { Client } from '../server/client';
import { ENCODING_NAMES, E_INT, E_INTSET, T_HASH, T_LIST, T_SET, T_STREAM, T_STRING, T_ZSET } from '../store/keyspace';
import { StreamIter } from '../store/stream';
import { LpVal, lpBytes, lpValBytes } from '../store/listpack';
import { QlPos, qlCount, qlEnd, qlFirstNode, qlGet, qlNext, qlNextNode, qlNodeListpack, qlNodes } from '../store/quicklist';
import { ZIter } from '../store/zset';
import { formatDouble } from '../protocol/writer';
import { NSLOTS } from '../store/crc16';
import { hashPairsOf } from '../store/hash';
import { setMembersOf } from '../store/set';
import { sha1Into } from './sha1';

const h = new Uint8Array(20);
const typeWord = new Uint8Array(4);

/** xorDigest: digest ^= SHA1(b). */
function xorDigest(digest: Uint8Array, b: Uint8Array): void {
  sha1Into(b, h);
  for (let j = 0; j < 20; j++) digest[j] ^= h[j];
}

/** mixDigest: digest = SHA1(digest ^ SHA1(b)), order-dependent. */
function mixDigest(digest: Uint8Array, b: Uint8Array): void {
  xorDigest(digest, b);
  sha1Into(digest, digest);
}

const latin1 = (s: string): Buffer => Buffer.from(s, 'latin1');

/** xorObjectDigest for the value of entry e (in db, under key). */
function objectDigest(c: Client, e: number, digest: Uint8Array): void {
  const s = c.store;
  const h = s.heap;
  const type = s.type(e);
  typeWord[3] = type; // big-endian u32: the types are < 256
  mixDigest(digest, typeWord);
  if (type === T_STRING) {
    mixDigest(digest, s.strView(e));
  } else if (type === T_LIST) {
    const pos = new QlPos();
    const v = new LpVal();
    const ql = s.objPtr(e);
    if (qlEnd(h, ql, true, pos)) {
      do mixDigest(digest, lpValBytes(h, qlGet(h, pos, v))); while (qlNext(h, pos));
    }
  } else if (type === T_SET) {
    for (const m of setMembersOf(h, s.encoding(e), s.objPtr(e))) xorDigest(digest, m);
  } else if (type === T_ZSET) {
    const z = new ZIter().init(h, s.encoding(e), s.objPtr(e));
    const ele = new Uint8Array(20);
    for (z.first(); z.p !== 0; z.next()) {
      z.load();
      ele.fill(0);
      mixDigest(ele, z.buf.subarray(z.off, z.off + z.len));
      mixDigest(ele, latin1(formatDouble(z.score)));
      xorDigest(digest, ele);
    }
  } else if (type === T_HASH) {
    const pairs = hashPairsOf(h, s.encoding(e), s.objPtr(e));
    const ele = new Uint8Array(20);
    for (let i = 0; i + 1 < pairs.length; i += 2) {
      ele.fill(0);
      mixDigest(ele, pairs[i]);
      mixDigest(ele, pairs[i + 1]);
      xorDigest(digest, ele);
    }
  } else if (type === T_STREAM) {
    // debug.c: "<ms>.<seq>" then each field and value, in order, into the key's own digest.
    const si = new StreamIter().start(h, s.objPtr(e), null, null, false);
    while (si.next()) {
      mixDigest(digest, latin1(`${si.id.ms}.${si.id.seq}`));
      for (let f = 0; f < si.numfields; f++) {
        si.field();
        mixDigest(digest, lpValBytes(h, si.fv));
        mixDigest(digest, lpValBytes(h, si.vv));
      }
    }
  }
  if (s.expireAt(e) !== 0) xorDigest(digest, latin1('!!expire!!'));
}

/**
 * DEBUG DIGEST (computeDatasetDigest): every non-empty db mixes in its number, then XORs in the
 * SHA1 of one digest per key (its name, then its value and TTL flag): key order does not matter. Logically
 * expired keys still stored count, as in Redis. 40 zeros for an empty dataset. All slots locked.
 */
export function debugDigest(c: Client): void {
  const s = c.store;
  const final = new Uint8Array(20);
  const acc = new Uint8Array(20);
  const one = new Uint8Array(20);
  const aux = Buffer.alloc(4);
  for (let db = 0; db < s.dbs; db++) {
    acc.fill(0);
    let n = 0;
    for (let slot = 0; slot < NSLOTS; slot++) {
      s.forEachStoredInSlot(db, slot, (e) => {
        one.fill(0);
        mixDigest(one, s.keyView(e));
        objectDigest(c, e, one);
        xorDigest(acc, one);
        n++;
      });
    }
    if (n === 0) continue;
    aux.writeUInt32BE(db, 0);
    mixDigest(final, aux);
    for (let j = 0; j < 20; j++) final[j] ^= acc[j];
  }
  c.w.simple(Buffer.from(final).toString('hex'));
}

/** DEBUG DIGEST-VALUE key [key ...]: one 40-hex-digit status per key (all zeros for a missing key). */
export function debugDigestValue(c: Client, argv: Buffer[]): void {
  c.w.array(argv.length - 2);
  for (let j = 2; j < argv.length; j++) {
    const digest = new Uint8Array(20);
    // As Redis: logically expired keys still count (no lazy expiry here).
    const e = c.store.peek(c.db, argv[j]);
    if (e !== 0) objectDigest(c, e, digest);
    c.w.simple(Buffer.from(digest).toString('hex'));
  }
}

/** DEBUG OBJECT key, in Redis's shape (serializedlength is an estimate: there is no RDB writer). */
export function debugObject(c: Client, argv: Buffer[]): void {
  const s = c.store;
  // A raw lookup as Redis's (dictFind): a key past its TTL that nothing expired yet is still
  // there (tests use it to see that), and looking does not expire it.
  const saved = s.noExpiry;
  s.noExpiry = true;
  let e: number;
  try {
    e = s.findReadNoTouch(c.db, argv[2], true);
  } finally {
    s.noExpiry = saved;
  }
  if (e === 0) return c.w.error('ERR no such key');
  const type = s.type(e);
  const enc = s.encoding(e);
  let refcount = 1;
  let at = e;
  let serialized = 0;
  let extra = '';
  if (type === T_STRING) {
    const v = s.strView(e);
    serialized = v.length + 1;
    if (enc === E_INT) {
      const n = Number(Buffer.from(v).toString('latin1'));
      if (n >= 0 && n < 10000) refcount = 2147483647;
      serialized = n >= -128 && n <= 127 ? 2 : n >= -32768 && n <= 32767 ? 3 : 5;
    }
  } else {
    at = s.objPtr(e);
    if (type === T_LIST) {
      const ql = s.objPtr(e);
      const nodes = qlNodes(s.heap, ql);
      const count = qlCount(s.heap, ql);
      let bytes = 0;
      for (let n = qlFirstNode(s.heap, ql); n !== 0; n = qlNextNode(s.heap, n)) {
        const lp = qlNodeListpack(s.heap, n);
        if (lp !== 0) bytes += lpBytes(s.heap, lp);
      }
      serialized = bytes + 1 + nodes * 2;
      const cfg = c.srv.config;
      extra =
        ` ql_nodes:${nodes} ql_avg_node:${(nodes === 0 ? 0 : count / nodes).toFixed(2)}` +
        ` ql_listpack_max:${cfg.num('list-max-listpack-size')} ql_compressed:${cfg.num('list-compress-depth') !== 0 ? 1 : 0}` +
        ` ql_uncompressed_size:${bytes}`;
    } else if (type === T_SET && enc === E_INTSET) {
      serialized = setMembersOf(s.heap, enc, s.objPtr(e)).length * 8;
    } else {
      serialized = 16;
    }
  }
  const lru = s.lru(e) & 0xffffff;
  const idle = Math.max(0, Math.floor(s.now / 1000) - s.lru(e));
  c.w.simple(
    `Value at:0x${at.toString(16)} refcount:${refcount} encoding:${ENCODING_NAMES[enc]} serializedlength:${serialized} lru:${lru} lru_seconds_idle:${idle}${extra}`,
  );
}

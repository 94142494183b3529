// FUNCTION DUMP / RESTORE payloads, as Redis writes them: for each library the RDB FUNCTION2
// opcode and the library code as an RDB string, then the RDB version (2 bytes, little endian)
// and a CRC64 (Jones, reflected, little endian) of everything before it. Strings are written
// uncompressed; LZF-compressed and integer-encoded strings (as Redis may write) are read.

import { crc64 } from '../persistence/crc64';
import { RDB_VERSION } from '../persistence/rdb';
import { LzfError, lzfDecompress } from '../persistence/lzf';

const RDB_OPCODE_FUNCTION2 = 245;

/** An RDB length in its 6-, 14- or 32-bit form. */
export function lenBytes(n: number): Buffer {
  if (n < 64) return Buffer.from([n]);
  if (n < 16384) return Buffer.from([0x40 | (n >> 8), n & 0xff]);
  const b = Buffer.alloc(5);
  b[0] = 0x80;
  b.writeUInt32BE(n, 1);
  return b;
}

export function dumpFunctions(codes: Buffer[]): Buffer {
  const parts: Buffer[] = [];
  for (const c of codes) parts.push(Buffer.from([RDB_OPCODE_FUNCTION2]), lenBytes(c.length), c);
  parts.push(Buffer.from([RDB_VERSION & 0xff, RDB_VERSION >> 8]));
  const body = Buffer.concat(parts);
  return Buffer.concat([body, crc64(body).bytes()]);
}

/** The library codes of a verified payload, or an error text (without ERR). */
export function parseFunctions(p: Buffer): Buffer[] | string {
  const end = p.length - 10;
  let pos = 0;
  const out: Buffer[] = [];
  const readLen = (): { len: number; enc: number } | null => {
    if (pos >= end) return null;
    const b = p[pos++];
    const t = b >> 6;
    if (t === 0) return { len: b & 0x3f, enc: -1 };
    if (t === 1) {
      if (pos >= end) return null;
      return { len: ((b & 0x3f) << 8) | p[pos++], enc: -1 };
    }
    if (t === 3) return { len: 0, enc: b & 0x3f };
    if (b === 0x80) {
      if (pos + 4 > end) return null;
      const v = p.readUInt32BE(pos);
      pos += 4;
      return { len: v, enc: -1 };
    }
    if (b === 0x81) {
      if (pos + 8 > end) return null;
      const v = Number(p.readBigUInt64BE(pos));
      pos += 8;
      return { len: v, enc: -1 };
    }
    return null;
  };
  const readString = (): Buffer | null => {
    const l = readLen();
    if (l === null) return null;
    if (l.enc === -1) {
      if (pos + l.len > end) return null;
      const s = p.subarray(pos, pos + l.len);
      pos += l.len;
      return Buffer.from(s);
    }
    if (l.enc <= 2) {
      const n = 1 << l.enc;
      if (pos + n > end) return null;
      const v = n === 1 ? p.readInt8(pos) : n === 2 ? p.readInt16LE(pos) : p.readInt32LE(pos);
      pos += n;
      return Buffer.from(String(v));
    }
    if (l.enc === 3) {
      const clen = readLen();
      const ulen = readLen();
      if (clen === null || ulen === null || pos + clen.len > end) return null;
      let r: Buffer | null = null;
      try {
        r = lzfDecompress(p.subarray(pos, pos + clen.len), ulen.len);
      } catch (e) {
        if (!(e instanceof LzfError)) throw e;
      }
      pos += clen.len;
      return r;
    }
    return null;
  };
  while (end - pos > 0) {
    const type = p[pos++];
    if (type !== RDB_OPCODE_FUNCTION2) return type === undefined ? 'can not read data type' : 'given type is not a function';
    const code = readString();
    if (code === null) return 'failed loading the given functions payload';
    out.push(code);
  }
  return out;
}

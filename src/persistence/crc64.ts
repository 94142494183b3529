// CRC-64 as Redis's crc64.c computes it (Jones polynomial 0xad93d23594c935a9, reflected input and
// output, init 0, no final xor): the RDB trailer and the DUMP payload checksum. Two u32 tables
// (high and low halves) keep it in small integers instead of BigInt.

const POLY_REFLECTED_HI = 0x95ac9329;
const POLY_REFLECTED_LO = 0xac4bc9b5;
const TLO = new Uint32Array(256);
const THI = new Uint32Array(256);
for (let i = 0; i < 256; i++) {
  let lo = i;
  let hi = 0;
  for (let k = 0; k < 8; k++) {
    const bit = lo & 1;
    lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
    hi = hi >>> 1;
    if (bit !== 0) {
      lo = (lo ^ POLY_REFLECTED_LO) >>> 0;
      hi = (hi ^ POLY_REFLECTED_HI) >>> 0;
    }
  }
  TLO[i] = lo;
  THI[i] = hi;
}

// Slice-by-8 tables (as Redis's crcspeed): table k advances a byte's CRC through k more zero bytes.
const SL = new Uint32Array(8 * 256);
const SH = new Uint32Array(8 * 256);
SL.set(TLO);
SH.set(THI);
for (let k = 1; k < 8; k++) {
  for (let i = 0; i < 256; i++) {
    const lo = SL[(k - 1) * 256 + i];
    const hi = SH[(k - 1) * 256 + i];
    const idx = lo & 0xff;
    SL[k * 256 + i] = (((lo >>> 8) | (hi << 24)) ^ TLO[idx]) >>> 0;
    SH[k * 256 + i] = ((hi >>> 8) ^ THI[idx]) >>> 0;
  }
}

/** A running CRC-64: update() over consecutive pieces, then the 8 bytes Redis writes (little endian). */
export class Crc64 {
  lo = 0;
  hi = 0;

  update(b: Uint8Array, start = 0, end = b.length): this {
    let lo = this.lo;
    let hi = this.hi;
    let i = start;
    // Eight bytes at a time (slice-by-8), then the tail byte by byte.
    for (; i + 8 <= end; i += 8) {
      lo ^= b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24);
      hi ^= b[i + 4] | (b[i + 5] << 8) | (b[i + 6] << 16) | (b[i + 7] << 24);
      const a0 = 7 * 256 + (lo & 0xff);
      const a1 = 6 * 256 + ((lo >>> 8) & 0xff);
      const a2 = 5 * 256 + ((lo >>> 16) & 0xff);
      const a3 = 4 * 256 + (lo >>> 24);
      const a4 = 3 * 256 + (hi & 0xff);
      const a5 = 2 * 256 + ((hi >>> 8) & 0xff);
      const a6 = 256 + ((hi >>> 16) & 0xff);
      const a7 = hi >>> 24;
      lo = SL[a0] ^ SL[a1] ^ SL[a2] ^ SL[a3] ^ SL[a4] ^ SL[a5] ^ SL[a6] ^ SL[a7];
      hi = SH[a0] ^ SH[a1] ^ SH[a2] ^ SH[a3] ^ SH[a4] ^ SH[a5] ^ SH[a6] ^ SH[a7];
    }
    for (; i < end; i++) {
      const idx = (lo ^ b[i]) & 0xff;
      lo = ((lo >>> 8) | (hi << 24)) ^ TLO[idx];
      hi = (hi >>> 8) ^ THI[idx];
    }
    this.lo = lo >>> 0;
    this.hi = hi >>> 0;
    return this;
  }

  /** The checksum as Redis stores it after the data (memrev64ifbe: little endian). */
  bytes(): Buffer {
    const out = Buffer.alloc(8);
    out.writeUInt32LE(this.lo >>> 0, 0);
    out.writeUInt32LE(this.hi >>> 0, 4);
    return out;
  }

  value(): bigint {
    return (BigInt(this.hi >>> 0) << 32n) | BigInt(this.lo >>> 0);
  }
}

export function crc64(b: Uint8Array, start = 0, end = b.length): Crc64 {
  return new Crc64().update(b, start, end);
}

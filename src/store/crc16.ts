// CRC16-CCITT (XMODEM) as Redis Cluster uses it: slot = crc16(key or its {hashtag}) mod 16384.
export const NSLOTS = 16384;

/** The CRC16 byte table (the keyspace fuses it with its hash pass). */
export const CRC16_TABLE = new Uint16Array(256);
const TABLE = CRC16_TABLE;
for (let i = 0; i < 256; i++) {
  let c = i << 8;
  for (let j = 0; j < 8; j++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
  TABLE[i] = c;
}

function crc16(buf: Uint8Array, start: number, end: number): number {
  let crc = 0;
  for (let i = start; i < end; i++) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >>> 8) ^ buf[i]) & 0xff];
  return crc;
}

/** Hash slot of a key, honouring the first non-empty {hashtag}. */
export function keySlot(key: Uint8Array, start = 0, end = key.length): number {
  let open = -1;
  for (let i = start; i < end; i++) {
    if (key[i] === 0x7b) { open = i; break; }
  }
  if (open >= 0) {
    for (let j = open + 1; j < end; j++) {
      if (key[j] === 0x7d) {
        if (j > open + 1) return crc16(key, open + 1, j) & (NSLOTS - 1);
        break;
      }
    }
  }
  return crc16(key, start, end) & (NSLOTS - 1);
}

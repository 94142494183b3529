// SHA1 of small inputs without allocating, for DEBUG DIGEST (digest.ts): it hashes every key,
// value, element and score several times, and node:crypto's createHash costs a few microseconds
// of object set-up per call, which made DEBUG DIGEST ~30 us per key (redis-server: ~1) while it
// holds every slot lock. Inputs past BIG go to node:crypto, which is faster per byte.
import { createHash } from 'node:crypto';

const BIG = 4096;
const W = new Int32Array(80);
const H = new Int32Array(5);
const tail = new Uint8Array(128);

function compress(b: Uint8Array, o: number): void {
  for (let i = 0; i < 16; i++) {
    const p = o + i * 4;
    W[i] = (b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3];
  }
  for (let i = 16; i < 80; i++) {
    const x = W[i - 3] ^ W[i - 8] ^ W[i - 14] ^ W[i - 16];
    W[i] = (x << 1) | (x >>> 31);
  }
  let a = H[0];
  let bb = H[1];
  let c = H[2];
  let d = H[3];
  let e = H[4];
  for (let i = 0; i < 80; i++) {
    let f: number;
    let k: number;
    if (i < 20) {
      f = (bb & c) | (~bb & d);
      k = 0x5a827999;
    } else if (i < 40) {
      f = bb ^ c ^ d;
      k = 0x6ed9eba1;
    } else if (i < 60) {
      f = (bb & c) | (bb & d) | (c & d);
      k = 0x8f1bbcdc | 0;
    } else {
      f = bb ^ c ^ d;
      k = 0xca62c1d6 | 0;
    }
    const t = (((a << 5) | (a >>> 27)) + f + e + k + W[i]) | 0;
    e = d;
    d = c;
    c = (bb << 30) | (bb >>> 2);
    bb = a;
    a = t;
  }
  H[0] = (H[0] + a) | 0;
  H[1] = (H[1] + bb) | 0;
  H[2] = (H[2] + c) | 0;
  H[3] = (H[3] + d) | 0;
  H[4] = (H[4] + e) | 0;
}

/** out[0..20) = SHA1(data). `out` may be `data` (the input is read in full first). */
export function sha1Into(data: Uint8Array, out: Uint8Array): void {
  const n = data.length;
  if (n > BIG) {
    out.set(createHash('sha1').update(data).digest());
    return;
  }
  H[0] = 0x67452301;
  H[1] = 0xefcdab89 | 0;
  H[2] = 0x98badcfe | 0;
  H[3] = 0x10325476;
  H[4] = 0xc3d2e1f0 | 0;
  let off = 0;
  for (; off + 64 <= n; off += 64) compress(data, off);
  // The rest, 0x80, zeros and the length in bits (big-endian): one block or two.
  const rest = n - off;
  tail.fill(0);
  for (let i = 0; i < rest; i++) tail[i] = data[off + i];
  tail[rest] = 0x80;
  const end = rest < 56 ? 64 : 128;
  const bits = n * 8;
  const hi = Math.floor(bits / 4294967296);
  const lo = bits >>> 0;
  tail[end - 8] = hi >>> 24;
  tail[end - 7] = (hi >>> 16) & 0xff;
  tail[end - 6] = (hi >>> 8) & 0xff;
  tail[end - 5] = hi & 0xff;
  tail[end - 4] = lo >>> 24;
  tail[end - 3] = (lo >>> 16) & 0xff;
  tail[end - 2] = (lo >>> 8) & 0xff;
  tail[end - 1] = lo & 0xff;
  compress(tail, 0);
  if (end === 128) compress(tail, 64);
  for (let i = 0; i < 5; i++) {
    const h = H[i];
    out[i * 4] = h >>> 24;
    out[i * 4 + 1] = (h >>> 16) & 0xff;
    out[i * 4 + 2] = (h >>> 8) & 0xff;
    out[i * 4 + 3] = h & 0xff;
  }
}

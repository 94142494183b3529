// LZF (liblzf 3.6, as Redis bundles it): RDB strings longer than 20 bytes are stored compressed
// when rdbcompression is on and compression saves at least 4 bytes. Decompression validates
// every back reference: a corrupt payload throws instead of reading outside its buffers.

const HLOG = 16;
const HSIZE = 1 << HLOG;
const MAX_LIT = 1 << 5;
const MAX_OFF = 1 << 13;
const MAX_REF = (1 << 8) + (1 << 3);

const htab = new Int32Array(HSIZE).fill(-1);
// Positions are stored as ip + hbase, and hbase moves past each input: entries of earlier calls
// read as negative (no match), so the 256 KB table is not cleared per call (RDB strings are
// mostly short: clearing it cost ~8 us a string).
let hbase = 0;

/**
 * Compress src into out (out.length is the limit). Returns the compressed length, or 0 when it
 * does not fit (the caller then stores the string raw, as lzf_compress's 0 tells Redis).
 */
export function lzfCompress(src: Uint8Array, out: Uint8Array): number {
  return lzfCompressRange(src, 0, src.length, out, out.length);
}

/** lzfCompress of src[from, to) into out[0, outEnd), without making views of either. */
export function lzfCompressRange(whole: Uint8Array, from: number, to: number, out: Uint8Array, outEnd: number): number {
  const inLen = to - from;
  if (inLen === 0 || outEnd === 0) return 0;
  if (hbase > 0x3fffffff - inLen) {
    htab.fill(-1);
    hbase = 0;
  }
  const base = hbase;
  hbase += inLen + 1;
  let ip = 0;
  let lit = 0;
  let op = 1; // start a literal run: its length byte goes at op - lit - 1
  let hval = inLen > 1 ? (whole[from + 0] << 8) | whole[from + 1] : 0;
  while (ip < inLen - 2) {
    hval = ((hval << 8) | whole[from + ip + 2]) & 0xffffff;
    let slot = ((hval >>> (24 - HLOG)) - hval * 5) & (HSIZE - 1);
    const ref = htab[slot] - base;
    htab[slot] = ip + base;
    const off = ip - ref - 1;
    if (ref > 0 && off < MAX_OFF && whole[from + ref + 2] === whole[from + ip + 2] && whole[from + ref] === whole[from + ip] && whole[from + ref + 1] === whole[from + ip + 1]) {
      let len = 2;
      let maxlen = inLen - ip - len;
      if (maxlen > MAX_REF) maxlen = MAX_REF;
      if (op + 3 + 1 >= outEnd && op - (lit === 0 ? 1 : 0) + 3 + 1 >= outEnd) return 0;
      out[op - lit - 1] = lit - 1; // stop the run
      if (lit === 0) op--; // an empty run: undo its length byte
      do len++; while (len < maxlen && whole[from + ref + len] === whole[from + ip + len]);
      len -= 2; // now the match length - 1 as LZF stores it
      ip++;
      if (len < 7) {
        out[op++] = (off >>> 8) + (len << 5);
      } else {
        out[op++] = (off >>> 8) + (7 << 5);
        out[op++] = len - 7;
      }
      out[op++] = off & 0xff;
      lit = 0;
      op++; // start a run
      ip += len + 1;
      if (ip >= inLen - 2) break;
      // Hash the two positions the match covered last (liblzf's VERY_FAST mode).
      ip -= 2;
      hval = (whole[from + ip] << 8) | whole[from + ip + 1];
      for (let k = 0; k < 2; k++) {
        hval = ((hval << 8) | whole[from + ip + 2]) & 0xffffff;
        slot = ((hval >>> (24 - HLOG)) - hval * 5) & (HSIZE - 1);
        htab[slot] = ip + base;
        ip++;
      }
    } else {
      if (op >= outEnd) return 0;
      lit++;
      out[op++] = whole[from + ip++];
      if (lit === MAX_LIT) {
        out[op - lit - 1] = lit - 1;
        lit = 0;
        op++;
      }
    }
  }
  if (op + 3 > outEnd) return 0;
  while (ip < inLen) {
    lit++;
    out[op++] = whole[from + ip++];
    if (lit === MAX_LIT) {
      if (op >= outEnd) return 0;
      out[op - lit - 1] = lit - 1;
      lit = 0;
      op++;
    }
  }
  out[op - lit - 1] = lit - 1;
  if (lit === 0) op--;
  return op;
}

export class LzfError extends Error {}

/** Decompress exactly outLen bytes; throws LzfError on any inconsistency. */
export function lzfDecompress(src: Uint8Array, outLen: number): Buffer {
  const out = Buffer.allocUnsafe(outLen);
  let ip = 0;
  let op = 0;
  const inLen = src.length;
  while (ip < inLen) {
    let ctrl = src[ip++];
    if (ctrl < 1 << 5) {
      ctrl++;
      if (op + ctrl > outLen) throw new LzfError('LZF output overflow');
      if (ip + ctrl > inLen) throw new LzfError('LZF input truncated');
      for (let k = 0; k < ctrl; k++) out[op++] = src[ip++];
    } else {
      let len = ctrl >>> 5;
      let ref = op - ((ctrl & 0x1f) << 8) - 1;
      if (ip >= inLen) throw new LzfError('LZF input truncated');
      if (len === 7) {
        len += src[ip++];
        if (ip >= inLen) throw new LzfError('LZF input truncated');
      }
      ref -= src[ip++];
      len += 2;
      if (op + len > outLen) throw new LzfError('LZF output overflow');
      if (ref < 0) throw new LzfError('LZF back reference before the start');
      for (let k = 0; k < len; k++) out[op++] = out[ref++];
    }
  }
  if (op !== outLen) throw new LzfError('LZF output shorter than announced');
  return out;
}

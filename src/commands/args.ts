// Argument parsing shared by command families, with Redis's exact error texts.

export const E_SYNTAX = 'ERR syntax error';
export const E_WRONGTYPE = 'WRONGTYPE Operation against a key holding the wrong kind of value';
export const E_NOT_INT = 'ERR value is not an integer or out of range';
export const E_NOT_FLOAT = 'ERR value is not a valid float';
export const E_OVERFLOW = 'ERR increment or decrement would overflow';
export const E_NO_KEY = 'ERR no such key';
export const E_INDEX = 'ERR index out of range';
export const E_DB_INDEX = 'ERR DB index is out of range';

export { I64_MAX, I64_MIN, parseI64 } from '../store/int64';
import { parseI64 } from '../store/int64';

/**
 * An argument as Redis's "%.128s" prints it in an error: at most max bytes, and only up to a NUL.
 * latin1: as a binary string (one char per byte), for errors written with ReplyWriter.error(s, true).
 */
export function cstr(b: Uint8Array, max = 128, latin1 = false): string {
  let n = b.indexOf(0);
  if (n < 0) n = b.length;
  return Buffer.from(b.buffer, b.byteOffset, Math.min(n, max)).toString(latin1 ? 'latin1' : 'utf8');
}

/** Lower-case ASCII of a short argument (option names). */
export function lower(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    s += String.fromCharCode(c >= 65 && c <= 90 ? c + 32 : c);
  }
  return s;
}

/** Case-insensitive compare of an argument with a lower-case ASCII word. */
export function is(b: Uint8Array, word: string): boolean {
  if (b.length !== word.length) return false;
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    if ((c >= 65 && c <= 90 ? c + 32 : c) !== word.charCodeAt(i)) return false;
  }
  return true;
}

/** parseI64 narrowed to a JS number (exact in ±2^53; larger values lose precision). */
export function parseIntArg(b: Uint8Array): number | null {
  const v = parseI64(b);
  if (v === null) return null;
  return typeof v === 'bigint' ? Number(v) : v;
}

/**
 * Redis's strtold-based float parsing for scores and INCRBYFLOAT: no spaces, no trailing junk;
 * accepts inf/-inf/+inf/infinity. Returns null if invalid (NaN is invalid).
 */
export function parseFloatArg(b: Uint8Array): number | null {
  const n = b.length;
  if (n === 0 || n > 5000) return null;
  const s = Buffer.from(b).toString('latin1');
  const c0 = s.charCodeAt(0);
  if (c0 === 32 || c0 === 9 || c0 === 10 || c0 === 13 || c0 === 11 || c0 === 12) return null;
  const ls = s.toLowerCase();
  if (ls === 'inf' || ls === '+inf' || ls === 'infinity' || ls === '+infinity') return Infinity;
  if (ls === '-inf' || ls === '-infinity') return -Infinity;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(s)) {
    if (/^[+-]?0x[0-9a-f]+(\.[0-9a-f]*)?(p[+-]?\d+)?$/i.test(s)) {
      return parseHexFloat(s);
    }
    return null;
  }
  const v = Number(s);
  return Number.isNaN(v) ? null : v;
}

function parseHexFloat(s: string): number {
  const m = /^([+-]?)0x([0-9a-f]*)(?:\.([0-9a-f]*))?(?:p([+-]?\d+))?$/i.exec(s);
  if (m === null) return NaN;
  let v = parseInt(m[2] || '0', 16);
  const frac = m[3] ?? '';
  for (let i = 0; i < frac.length; i++) v += parseInt(frac[i], 16) / Math.pow(16, i + 1);
  if (m[4] !== undefined) v *= Math.pow(2, parseInt(m[4], 10));
  return m[1] === '-' ? -v : v;
}

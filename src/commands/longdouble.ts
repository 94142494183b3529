// x87 80-bit long double arithmetic, emulated exactly, for INCRBYFLOAT and HINCRBYFLOAT.
// Redis parses both operands with strtold, adds them in long double (64-bit significand,
// 15-bit exponent) and prints the sum with "%.17Lf", trailing zeros removed. A finite long
// double is m * 2^e with m < 2^64; the sum of two is exact as a bigint before rounding, so
// every step is computed exactly and rounded to nearest-even like the FPU and glibc do.

export interface LongDouble {
  neg: boolean;
  m: bigint; // 0 for zero
  e: number;
  inf: boolean;
}

const LD_MIN_EXP = -16445; // exponent of the least significant bit of the smallest subnormal
const LD_MAX_BITS = 16384; // values must stay below 2^16384
const TWO64 = 1n << 64n;
const TWO63 = 1n << 63n;

function bitLen(b: bigint): number {
  return b === 0n ? 0 : b.toString(2).length;
}

/** Round (num / den) * 2^exp2 to a long double (num >= 0, den > 0). */
function roundLD(neg: boolean, num: bigint, den: bigint, exp2: number): LongDouble {
  if (num === 0n) return { neg, m: 0n, e: 0, inf: false };
  let k = 64 - (bitLen(num) - bitLen(den));
  let q = 0n;
  let r = 0n;
  let d = den;
  const divide = (): void => {
    let n = num;
    d = den;
    if (k >= 0) n <<= BigInt(k);
    else d <<= BigInt(-k);
    q = n / d;
    r = n - q * d;
  };
  divide();
  if (q >= TWO64) {
    k--;
    divide();
  } else if (q < TWO63) {
    k++;
    divide();
  }
  let e = exp2 - k;
  if (e < LD_MIN_EXP) {
    k = exp2 - LD_MIN_EXP;
    divide();
    e = LD_MIN_EXP;
  }
  const twice = r * 2n;
  if (twice > d || (twice === d && (q & 1n) === 1n)) q++;
  if (q === TWO64) {
    q = TWO63;
    e++;
  }
  if (q === 0n) return { neg, m: 0n, e: 0, inf: false };
  if (bitLen(q) + e > LD_MAX_BITS) return { neg, m: 0n, e: 0, inf: true };
  return { neg, m: q, e, inf: false };
}

const RE_DEC = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;
const RE_HEX = /^([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?(?:[pP]([+-]?\d+))?$/;
const RE_INF = /^([+-]?)(?:inf|infinity)$/i;

/** Redis's string2ld (strtold, whole string, no leading space, no ERANGE): null if invalid. */
export function parseLongDouble(b: Uint8Array): LongDouble | null {
  if (b.length === 0 || b.length >= 5 * 1024) return null;
  const c0 = b[0];
  if (c0 === 32 || (c0 >= 9 && c0 <= 13)) return null;
  const str = Buffer.from(b.buffer, b.byteOffset, b.length).latin1Slice(0, b.length);
  // strtold stops at a NUL, short of the length: string2ld rejects that (eptr-buf != slen).
  if (str.indexOf('\0') >= 0) return null;
  let m = RE_INF.exec(str);
  if (m !== null) return { neg: m[1] === '-', m: 0n, e: 0, inf: true };
  m = RE_HEX.exec(str);
  if (m !== null) {
    const ip = m[2];
    const fp = m[3] ?? '';
    if (ip.length + fp.length === 0) return null;
    const neg = m[1] === '-';
    const h = BigInt('0x' + (ip + fp || '0'));
    if (h === 0n) return { neg, m: 0n, e: 0, inf: false };
    const p = m[4] === undefined ? 0 : Number(m[4]);
    const exp2 = p - 4 * fp.length;
    const mag = bitLen(h) + exp2;
    if (mag > LD_MAX_BITS + 8) return null;
    if (mag < LD_MIN_EXP - 8) return null;
    const r = roundLD(neg, h, 1n, exp2);
    return r.inf || r.m === 0n ? null : r;
  }
  m = RE_DEC.exec(str);
  if (m === null) return null;
  const ip = m[2];
  const fp = m[3] ?? '';
  if (ip.length + fp.length === 0) return null;
  const neg = m[1] === '-';
  let digits = ip + fp;
  let lead = 0;
  while (lead < digits.length && digits.charCodeAt(lead) === 0x30) lead++;
  if (lead === digits.length) return { neg, m: 0n, e: 0, inf: false };
  digits = digits.slice(lead);
  const exp10 = (m[4] === undefined ? 0 : Number(m[4])) - fp.length;
  const log10 = digits.length + exp10 - 1; // floor(log10(value))
  if (log10 > 4932) return null; // overflows (max ~1.19e4932)
  if (log10 < -4952) return null; // underflows to zero
  const dv = BigInt(digits);
  const r = exp10 >= 0 ? roundLD(neg, dv * 10n ** BigInt(exp10), 1n, 0) : roundLD(neg, dv, 10n ** BigInt(-exp10), 0);
  return r.inf || r.m === 0n ? null : r;
}

export function addLD(a: LongDouble, b: LongDouble): LongDouble {
  if (a.m === 0n) return b.m === 0n ? { neg: a.neg && b.neg, m: 0n, e: 0, inf: false } : b;
  if (b.m === 0n) return a;
  const emin = Math.min(a.e, b.e);
  const sa = a.m << BigInt(a.e - emin);
  const sb = b.m << BigInt(b.e - emin);
  const sum = (a.neg ? -sa : sa) + (b.neg ? -sb : sb);
  if (sum === 0n) return { neg: false, m: 0n, e: 0, inf: false };
  return sum < 0n ? roundLD(true, -sum, 1n, emin) : roundLD(false, sum, 1n, emin);
}

const TEN17 = 10n ** 17n;

/** ld2string(LD_STR_HUMAN): "%.17Lf" with trailing zeros (and a bare '.') removed, "-0" -> "0". */
export function formatLongDoubleHuman(v: LongDouble): string {
  let q: bigint;
  if (v.e >= 0) q = (v.m << BigInt(v.e)) * TEN17;
  else {
    const sh = BigInt(-v.e);
    const num = v.m * TEN17;
    q = num >> sh;
    const r = num - (q << sh);
    const half = 1n << (sh - 1n);
    if (r > half || (r === half && (q & 1n) === 1n)) q++;
  }
  let ds = q.toString();
  if (ds.length < 18) ds = '0'.repeat(18 - ds.length) + ds;
  const ip = ds.slice(0, ds.length - 17);
  let fe = ds.length;
  while (fe > ds.length - 17 && ds.charCodeAt(fe - 1) === 0x30) fe--;
  const out = fe > ds.length - 17 ? `${ip}.${ds.slice(ds.length - 17, fe)}` : ip;
  return v.neg && out !== '0' ? `-${out}` : out;
}

// Integers as Redis reads them from strings (string2ll): shared by the store's types and the
// commands' argument parsing.

export const I64_MAX = 9223372036854775807n;
export const I64_MIN = -9223372036854775808n;

/**
 * Redis's string2ll: a canonical signed 64-bit integer (no leading zeros, no '+', no spaces).
 * Returns a number when it is exactly representable, a bigint otherwise, null if invalid.
 */
export function parseI64(b: Uint8Array): number | bigint | null {
  const n = b.length;
  if (n === 0 || n > 20) return null;
  let i = 0;
  let neg = false;
  if (b[0] === 0x2d) {
    neg = true;
    i = 1;
    if (n === 1) return null;
  }
  if (b[i] === 0x30) return n === 1 ? 0 : null;
  if (b[i] < 0x31 || b[i] > 0x39) return null;
  let v = 0;
  for (; i < n; i++) {
    const c = b[i] - 0x30;
    if (c < 0 || c > 9) return null;
    v = v * 10 + c;
  }
  if (v <= Number.MAX_SAFE_INTEGER) return neg ? -v : v;
  const big = BigInt(Buffer.from(b).toString('latin1'));
  if (big > I64_MAX || big < I64_MIN) return null;
  return big;
}

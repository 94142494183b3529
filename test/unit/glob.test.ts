import { describe, expect, it } from 'vitest';
import { globMatch, globMatchStr } from '../../src/config/glob';

// A literal, recursive transliteration of Redis 7.0's stringmatchlen_impl()
// (util.c), reads past the end returning 0 like a NUL-terminated C string.
// globMatch() is iterative; it must agree with this on every input.
function reference(pattern: Uint8Array, str: Uint8Array, nocase: boolean): boolean {
  const P = (i: number): number => (i < pattern.length ? pattern[i] : 0);
  const S = (i: number): number => (i < str.length ? str[i] : 0);
  const sc = (c: number): number => (c << 24) >> 24;
  const low = (c: number): number => (c >= 65 && c <= 90 ? c + 32 : c);
  const skip = { v: false };
  const impl = (p: number, plen: number, s: number, slen: number): boolean => {
    while (plen && slen) {
      switch (P(p)) {
        case 42: // *
          while (plen && P(p + 1) === 42) {
            p++;
            plen--;
          }
          if (plen === 1) return true;
          while (slen) {
            if (impl(p + 1, plen - 1, s, slen)) return true;
            if (skip.v) return false;
            s++;
            slen--;
          }
          skip.v = true;
          return false;
        case 63: // ?
          s++;
          slen--;
          break;
        case 91: { // [
          p++;
          plen--;
          const not = P(p) === 94;
          if (not) {
            p++;
            plen--;
          }
          let match = false;
          for (;;) {
            if (P(p) === 92 && plen >= 2) {
              p++;
              plen--;
              if (P(p) === S(s)) match = true;
            } else if (P(p) === 93) {
              break;
            } else if (plen === 0) {
              p--;
              plen++;
              break;
            } else if (plen >= 3 && P(p + 1) === 45) {
              let start = sc(P(p));
              let end = sc(P(p + 2));
              let c = sc(S(s));
              if (start > end) [start, end] = [end, start];
              if (nocase) {
                start = low(start);
                end = low(end);
                c = low(c);
              }
              p += 2;
              plen -= 2;
              if (c >= start && c <= end) match = true;
            } else if (!nocase ? P(p) === S(s) : low(P(p)) === low(S(s))) {
              match = true;
            }
            p++;
            plen--;
          }
          if (not) match = !match;
          if (!match) return false;
          s++;
          slen--;
          break;
        }
        default:
          if (P(p) === 92 && plen >= 2) {
            p++;
            plen--;
          }
          if (!nocase ? P(p) !== S(s) : low(P(p)) !== low(S(s))) return false;
          s++;
          slen--;
          break;
      }
      p++;
      plen--;
      if (slen === 0) {
        while (P(p) === 42) {
          p++;
          plen--;
        }
        break;
      }
    }
    return plen === 0 && slen === 0;
  };
  return impl(0, pattern.length, 0, str.length);
}

const m = (p: string, s: string, nocase = false): boolean => globMatchStr(p, s, nocase);
const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);

describe('globMatch', () => {
  it('literals, ? and *', () => {
    expect(m('hello', 'hello')).toBe(true);
    expect(m('hello', 'hellO')).toBe(false);
    expect(m('hello', 'hello!')).toBe(false);
    expect(m('h?llo', 'hallo')).toBe(true);
    expect(m('h?llo', 'hllo')).toBe(false);
    expect(m('h*llo', 'hllo')).toBe(true);
    expect(m('h*llo', 'heeeello')).toBe(true);
    expect(m('*', 'anything')).toBe(true);
    expect(m('**', 'x')).toBe(true);
    expect(m('a*', 'a')).toBe(true);
    expect(m('a**', 'a')).toBe(true);
    expect(m('*a', 'a')).toBe(true);
    expect(m('*a*b*c', 'xxaxxbxxc')).toBe(true);
    expect(m('*a*b*c', 'xxaxxbxxcx')).toBe(false);
    expect(m('user:*:name', 'user:1000:name')).toBe(true);
    expect(m('user:*:name', 'user:1000:email')).toBe(false);
    expect(m('', '')).toBe(true);
    expect(m('', 'a')).toBe(false);
    expect(m('a', '')).toBe(false);
  });

  it('a lone * does not match the empty string (KEYS/SCAN special-case it)', () => {
    expect(m('*', '')).toBe(false);
    expect(m('?', '')).toBe(false);
  });

  it('character classes', () => {
    expect(m('h[ae]llo', 'hello')).toBe(true);
    expect(m('h[ae]llo', 'hallo')).toBe(true);
    expect(m('h[ae]llo', 'hillo')).toBe(false);
    expect(m('h[^e]llo', 'hallo')).toBe(true);
    expect(m('h[^e]llo', 'hello')).toBe(false);
    expect(m('h[a-b]llo', 'hbllo')).toBe(true);
    expect(m('h[a-b]llo', 'hcllo')).toBe(false);
    expect(m('h[b-a]llo', 'hallo')).toBe(true); // reversed range
    expect(m('[0-9][0-9]', '42')).toBe(true);
    expect(m('[^0-9]*', '4abc')).toBe(false);
    expect(m('[]]', ']')).toBe(false); // ']' closes an empty class immediately
    expect(m('[]', 'x')).toBe(false);
    expect(m('[a-]', '-')).toBe(false); // "a-]" is the range ']'..'a' (reversed)
    expect(m('[a-]', '_')).toBe(true);
    expect(m('[-a]', '-')).toBe(true);
    expect(m('x[abc', 'xa')).toBe(true); // unterminated class
    expect(m('x[abc', 'xd')).toBe(false);
    expect(m('[', 'x')).toBe(false);
    expect(m('[^', 'x')).toBe(true);
  });

  it('escapes', () => {
    expect(m('\\*', '*')).toBe(true);
    expect(m('\\*', 'a')).toBe(false);
    expect(m('a\\?b', 'a?b')).toBe(true);
    expect(m('a\\?b', 'axb')).toBe(false);
    expect(m('\\[a]', '[a]')).toBe(true);
    expect(m('[\\]]', ']')).toBe(true);
    expect(m('[\\^a]', '^')).toBe(true);
    expect(m('[\\-]', '-')).toBe(true);
    expect(m('a\\', 'a\\')).toBe(true); // trailing backslash is literal
    expect(m('\\\\', '\\')).toBe(true);
  });

  it('nocase', () => {
    expect(m('HeLLo', 'hello', true)).toBe(true);
    expect(m('h[A-Z]llo', 'hello', true)).toBe(true);
    expect(m('h[A-Z]llo', 'hello', false)).toBe(false);
    expect(m('h[E]llo', 'hello', true)).toBe(true);
    expect(m('*PORT*', 'cluster-announce-port', true)).toBe(true);
    expect(m('\\P', 'p', true)).toBe(true);
  });

  it('binary and signed-char ranges like C', () => {
    expect(globMatch(bytes(0x61, 0x00, 0x2a), bytes(0x61, 0x00, 0x62))).toBe(true);
    expect(globMatch(bytes(0x3f), bytes(0xff))).toBe(true);
    // [\x00-\xff] is [-1..0] with signed chars: 0x80 is -128, not inside.
    expect(globMatch(bytes(0x5b, 0x00, 0x2d, 0xff, 0x5d), bytes(0x80))).toBe(false);
    expect(globMatch(bytes(0x5b, 0x80, 0x2d, 0x7f, 0x5d), bytes(0x41))).toBe(true);
    expect(m('caf?', 'café')).toBe(false); // é is two bytes
    expect(m('caf??', 'café')).toBe(true);
  });

  it('does not blow up on many stars', () => {
    const p = 'a*'.repeat(60) + 'b';
    const s = 'a'.repeat(3000);
    const t = Date.now();
    expect(m(p, s)).toBe(false);
    expect(m('*'.repeat(100000) + 'x', 'y'.repeat(1000) + 'x')).toBe(true);
    expect(Date.now() - t).toBeLessThan(2000);
  });

  it('agrees with a literal port of stringmatchlen on random inputs', () => {
    const PA = [0x61, 0x62, 0x41, 0x2a, 0x2a, 0x3f, 0x5b, 0x5d, 0x5e, 0x2d, 0x5c, 0x80, 0xff, 0x7a];
    const SA = [0x61, 0x62, 0x41, 0x2d, 0x5d, 0x80, 0xff, 0x2a, 0x5c];
    let seed = 42;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    let matches = 0;
    for (let i = 0; i < 30000; i++) {
      const p = Uint8Array.from({ length: rnd(9) }, () => PA[rnd(PA.length)]);
      const s = Uint8Array.from({ length: rnd(9) }, () => SA[rnd(SA.length)]);
      const nocase = rnd(2) === 1;
      const want = reference(p, s, nocase);
      if (want) matches++;
      if (globMatch(p, s, nocase) !== want) {
        throw new Error(`mismatch: pattern ${Buffer.from(p).toString('hex')} string ${Buffer.from(s).toString('hex')} nocase ${nocase}`);
      }
    }
    expect(matches).toBeGreaterThan(500);
  });
});

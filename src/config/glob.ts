// Glob matching: a port of Redis 7.0's stringmatchlen() (util.c).
//
// Supported syntax: `*`, `?`, `[abc]`, `[^abc]`, `[a-z]` (reversed ranges such
// as `[z-a]` work too), `\x` escapes (also inside brackets), optional nocase.
//
// Redis's version is recursive on `*` with a `skipLongerMatches` flag: once the
// rest of the pattern after some `*` failed to match at every remaining string
// position, no earlier `*` can help either, so everything returns "no match".
// A consequence is that after a nested `*` is reached, the enclosing `*` is
// never advanced again: only the innermost `*` ever backtracks. That makes the
// whole recursion equivalent to the loop below, which remembers just the last
// `*` (no recursion, O(pattern * string) worst case, no stack growth).
//
// Byte-level quirks kept from C:
//  - reads past the end of the pattern see 0 (Redis strings are NUL-terminated);
//  - range bounds and the tested byte are compared as *signed* chars, so bytes
//    >= 0x80 sort below ASCII inside `[x-y]`;
//  - tolower() is the C-locale one (only A-Z change);
//  - `*` never matches an empty string on its own: stringmatchlen("*", "") is 0.
//    KEYS and SCAN special-case a lone "*" pattern before calling the matcher;
//    callers porting those commands must do the same.

const STAR = 0x2a; // *
const QMARK = 0x3f; // ?
const LBRACK = 0x5b; // [
const RBRACK = 0x5d; // ]
const BSLASH = 0x5c; // \
const CARET = 0x5e; // ^
const DASH = 0x2d; // -

function lower(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c + 32 : c;
}

function signed(c: number): number {
  return (c << 24) >> 24;
}

export function globMatch(pattern: Uint8Array, str: Uint8Array, nocase = false): boolean {
  const plen = pattern.length;
  const slen = str.length;
  // Byte of the pattern at i, 0 past the end (the C NUL terminator).
  const pat = (i: number): number => (i < plen ? pattern[i] : 0);

  let p = 0; // pattern index; patternLen in C is plen - p
  let s = 0; // string index;  stringLen in C is slen - s
  let starP = -1; // pattern index just after the innermost active '*'
  let starS = 0; // string index that '*' is currently tried at

  for (;;) {
    // One "call" of stringmatchlen_impl from (p, s). `failed` = returned 0
    // without the skipLongerMatches flag.
    let failed = false;
    while (p < plen && s < slen) {
      const c = pattern[p];
      if (c === STAR) {
        while (p < plen && pat(p + 1) === STAR) p++;
        if (plen - p === 1) return true; // trailing '*' matches the rest
        // Start trying the rest of the pattern at every string position.
        starP = p + 1;
        starS = s;
        p = starP;
        continue;
      } else if (c === QMARK) {
        s++;
      } else if (c === LBRACK) {
        p++;
        const not = pat(p) === CARET;
        if (not) p++;
        let match = false;
        const sc = str[s];
        for (;;) {
          if (pat(p) === BSLASH && plen - p >= 2) {
            p++;
            if (pattern[p] === sc) match = true;
          } else if (pat(p) === RBRACK) {
            break;
          } else if (p >= plen) {
            p--; // unterminated class: back up so the p++ below lands at the end
            break;
          } else if (plen - p >= 3 && pattern[p + 1] === DASH) {
            let start = signed(pattern[p]);
            let end = signed(pattern[p + 2]);
            let ch = signed(sc);
            if (start > end) {
              const t = start;
              start = end;
              end = t;
            }
            if (nocase) {
              start = lower(start);
              end = lower(end);
              ch = lower(ch);
            }
            p += 2;
            if (ch >= start && ch <= end) match = true;
          } else if (!nocase) {
            if (pattern[p] === sc) match = true;
          } else if (lower(pattern[p]) === lower(sc)) {
            match = true;
          }
          p++;
        }
        if (not) match = !match;
        if (!match) {
          failed = true;
          break;
        }
        s++;
      } else {
        if (c === BSLASH && plen - p >= 2) p++;
        const pc = pattern[p];
        const sc = str[s];
        if (nocase ? lower(pc) !== lower(sc) : pc !== sc) {
          failed = true;
          break;
        }
        s++;
      }
      p++;
      if (s === slen) {
        while (pat(p) === STAR) p++;
        break;
      }
    }
    if (!failed && p >= plen && s === slen) return true;
    // No match from here: advance the innermost '*' by one byte, if any.
    if (starP < 0) return false;
    starS++;
    if (starS >= slen) return false; // '*' exhausted: skipLongerMatches
    p = starP;
    s = starS;
  }
}

const enc = new TextEncoder();

/** Convenience wrapper over globMatch for JS strings (compared as UTF-8 bytes). */
export function globMatchStr(pattern: string, s: string, nocase = false): boolean {
  return globMatch(enc.encode(pattern), enc.encode(s), nocase);
}

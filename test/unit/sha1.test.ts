// The allocation-free SHA1 that DEBUG DIGEST uses, against node:crypto: every length around the
// block and padding edges, random bytes, the input as its own output, and the large-input path.
import { describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { sha1Into } from '../../src/commands/sha1';

const ref = (b: Uint8Array): string => createHash('sha1').update(b).digest('hex');

describe('sha1Into', () => {
  it('matches node:crypto for every length 0..300 and some large ones', () => {
    const out = new Uint8Array(20);
    for (let n = 0; n <= 300; n++) {
      const b = randomBytes(n);
      sha1Into(b, out);
      expect(Buffer.from(out).toString('hex')).toBe(ref(b));
    }
    for (const n of [1000, 4095, 4096, 4097, 70_000]) {
      const b = randomBytes(n);
      sha1Into(b, out);
      expect(Buffer.from(out).toString('hex')).toBe(ref(b));
    }
    sha1Into(Buffer.from('abc'), out);
    expect(Buffer.from(out).toString('hex')).toBe('a9993e364706816aba3e25717850c26c9cd0d89d');
  });

  it('may write over its input', () => {
    const d = new Uint8Array(randomBytes(20));
    const want = ref(d);
    sha1Into(d, d);
    expect(Buffer.from(d).toString('hex')).toBe(want);
  });
});

// Differential tests (redis-server vs shardis) for the stream commands of phase 1: XADD, XLEN,
// XRANGE, XREVRANGE, XDEL, XTRIM, XSETID, XINFO; TYPE, OBJECT ENCODING, DEBUG DIGEST(-VALUE),
// COPY / RENAME / MOVE; and a randomized mix compared reply by reply and by digest.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { script, startPair, type Pair, type Step } from '../helpers/diff';

let d: Pair;
beforeAll(async () => {
  d = await startPair();
});
afterAll(async () => {
  await d?.stop();
});

const same = (text: string, opts?: { resp3?: boolean }) => d.expectSame(script(text), opts);

describe('XADD', () => {
  it('explicit IDs, <ms>-*, ID errors', () =>
    same(`
      XADD s 1-1 a 1 b 2
      XADD s 1-2 a 3 b 4
      XADD s 1-* a 5 c 6
      XADD s 1-* a 5
      XADD s 5 x y
      XADD s 5-0 x y
      XADD s 4-* x y
      XADD s 0-0 x y
      XADD s 0 x y
      XADD s 0-* x y
      XADD s2 0-* x y
      XADD s 1-1-1 x y
      XADD s abc x y
      XADD s -1 x y
      XADD s - x y
      XADD s + x y
      XADD s 18446744073709551616 x y
      XADD s 10-18446744073709551616 x y
      XADD s 10 x
      XADD s 10 x y z
      XADD s 10
      XADD s
      XLEN s
      XLEN s2
      XLEN nokey
      XRANGE s - +
      DEBUG DIGEST-VALUE s s2
      DEBUG DIGEST
    `));

  it('the last possible ID', () =>
    same(`
      XADD big 18446744073709551615-18446744073709551615 a b
      XADD big * a b
      XADD big 18446744073709551615-* a b
      XADD big2 18446744073709551615-18446744073709551614 a b
      XADD big2 18446744073709551615-* a b
      XADD big2 18446744073709551615-* a b
      XADD big3 18446744073709551615-0 a b
      XADD big3 18446744073709551615-18446744073709551615 c d
      XRANGE big2 - +
      XRANGE big3 - +
      XREVRANGE big3 + - COUNT 1
      XINFO STREAM big3
      DEBUG DIGEST
    `));

  it('NOMKSTREAM, auto IDs, wrong type', () =>
    same(`
      XADD nos NOMKSTREAM * x y
      EXISTS nos
      [shape] XADD a * f v
      [shape] XADD a * f v
      XLEN a
      XADD a NOMKSTREAM 1-1 f v
      SET str v
      XADD str * f v
      XLEN str
      XRANGE str - +
      XDEL str 1-1
      XTRIM str MAXLEN 1
      XSETID str 1-1
      XINFO STREAM str
      TYPE a
      OBJECT ENCODING a
    `));

  it('MAXLEN / MINID / LIMIT options and their errors', () =>
    same(`
      CONFIG SET stream-node-max-entries 3
      XADD s 1 f v
      XADD s 2 f v
      XADD s 3 f v
      XADD s 4 f v
      XADD s 5 f v
      XADD s 6 f v
      XADD s 7 f v
      XADD s MAXLEN 5 8 f v
      XLEN s
      XADD s MAXLEN = 4 9 f v
      XLEN s
      XADD s MAXLEN ~ 2 10 f v
      XLEN s
      XADD s MINID 8 11 f v
      XRANGE s - +
      XADD s MINID ~ 10 12 f v
      XADD s MAXLEN ~ 1 LIMIT 5 13 f v
      XLEN s
      XADD s MAXLEN 1 LIMIT 5 14 f v
      XADD s MAXLEN 1 MINID 5 15 f v
      XADD s MINID 1 MAXLEN 5 15 f v
      XADD s MAXLEN -1 15 f v
      XADD s MAXLEN abc 15 f v
      XADD s LIMIT 5 15 f v
      XADD s LIMIT -1 15 f v
      XADD s MINID - 15 f v
      XADD s MINID abc 15 f v
      XADD s MAXLEN 0 16 f v
      XLEN s
      EXISTS s
      XINFO STREAM s
      CONFIG SET stream-node-max-entries 100
    `, { resp3: false }));
});

describe('XRANGE / XREVRANGE', () => {
  it('bounds, exclusive ranges, incomplete IDs, COUNT', () =>
    same(`
      XADD s 1-0 a 1
      XADD s 1-1 a 2
      XADD s 2-0 a 3 b 4
      XADD s 2-5 b 5
      XADD s 3-0 a 1
      XRANGE s - +
      XREVRANGE s + -
      XRANGE s 1 1
      XRANGE s 2 3
      XRANGE s (1 +
      XRANGE s (1-0 (2-5
      XREVRANGE s (3-0 (1-0
      XRANGE s - + COUNT 2
      XRANGE s - + COUNT 0
      XRANGE s - + COUNT -1
      XREVRANGE s + - COUNT 1
      XRANGE s - + COUNT
      XRANGE s - + COUNT x
      XRANGE s - + FOO 1
      XRANGE s (- +
      XRANGE s - (+
      XRANGE s ( +
      XRANGE s (18446744073709551615-18446744073709551615 +
      XRANGE s - (0-0
      XRANGE s 5 1
      XRANGE s abc +
      XRANGE nokey - +
      XREVRANGE nokey + -
      XRANGE s -
    `));
});

describe('XDEL / XTRIM / XSETID / XINFO', () => {
  it('XDEL', () =>
    same(`
      CONFIG SET stream-node-max-entries 2
      XADD s 1 a 1
      XADD s 2 a 2
      XADD s 3 a 3
      XADD s 4 b 4
      XADD s 5 a 5
      XDEL s 1-0 9-9
      XDEL s 3-0 4-0 3-0
      XRANGE s - +
      XINFO STREAM s
      XDEL s abc
      XDEL s 2-0 abc
      XDEL s -
      XDEL nokey abc
      XDEL s 2-0 5-0
      XLEN s
      EXISTS s
      XINFO STREAM s
      XADD s 6 a 6
      XINFO STREAM s
      DEBUG DIGEST
      CONFIG SET stream-node-max-entries 100
    `, { resp3: false }));

  it('XTRIM', () =>
    same(`
      CONFIG SET stream-node-max-entries 4
      XADD s 1 a 1
      XADD s 2 a 2
      XADD s 3 a 3
      XADD s 4 a 4
      XADD s 5 a 5
      XADD s 6 a 6
      XADD s 7 a 7
      XADD s 8 a 8
      XADD s 9 a 9
      XTRIM s MAXLEN ~ 7
      XTRIM s MAXLEN ~ 4
      XRANGE s - +
      XTRIM s MINID 7
      XRANGE s - +
      XTRIM s MINID ~ 9
      XTRIM s MAXLEN 0
      XTRIM s MAXLEN 0
      XTRIM nokey MAXLEN 0
      XTRIM s
      XTRIM s LIMIT 1
      XTRIM s FOO 1
      XTRIM s MAXLEN ~ 1 LIMIT 1
      XTRIM s MAXLEN 1 LIMIT 1
      XTRIM s MAXLEN
      XINFO STREAM s
      EXISTS s
      CONFIG SET stream-node-max-entries 100
    `, { resp3: false }));

  it('XSETID with ENTRIESADDED / MAXDELETEDID', () =>
    same(`
      XSETID nokey 1-1
      XADD s 5-0 a 1
      XADD s 6-0 a 1
      XSETID s 4-0
      XSETID s 6-0
      XSETID s 10-0
      XINFO STREAM s
      XADD s 9 a 1
      XSETID s 20 ENTRIESADDED 1
      XSETID s 20 ENTRIESADDED -1
      XSETID s 20 ENTRIESADDED x
      XSETID s 20 MAXDELETEDID 30
      XSETID s 20 MAXDELETEDID -
      XSETID s 20 ENTRIESADDED 100 MAXDELETEDID 15-3
      XSETID s 20 FOO 1
      XSETID s 20 ENTRIESADDED
      XSETID s -
      XSETID s abc
      XINFO STREAM s
      XDEL s 5-0 6-0
      XSETID s 1-0
      XSETID s 0-0
      XINFO STREAM s
      DEBUG DIGEST
    `));

  it('XINFO STREAM / GROUPS / CONSUMERS / HELP', () =>
    same(`
      XINFO HELP
      XINFO HELP extra
      XINFO
      XINFO FOO s
      XINFO STREAM nokey
      XADD s 1-1 name alice age 30
      XADD s 1-2 name bob
      XADD s 2-0 name carol age 31
      XINFO STREAM s
      XINFO STREAM s FULL
      XINFO STREAM s FULL COUNT 1
      XINFO STREAM s FULL COUNT 0
      XINFO STREAM s FULL COUNT -5
      XINFO STREAM s FULL COUNT x
      XINFO STREAM s FOO
      XINFO STREAM s FULL COUNT
      XINFO GROUPS s
      XINFO CONSUMERS s g
      XINFO GROUPS nokey
      XINFO STREAM
    `));
});

describe('XREAD (non-blocking)', () => {
  it('COUNT, $, several streams, errors', () =>
    same(`
      XADD a 1-1 f 1
      XADD a 1-2 f 2
      XADD b 2-0 g 1
      XREAD STREAMS a 0
      XREAD COUNT 1 STREAMS a b 0 0
      XREAD STREAMS a b 1-1 1-9
      XREAD STREAMS a b $ $
      XREAD STREAMS nokey 0
      XREAD STREAMS a nokey 0 0
      XREAD COUNT -1 STREAMS a 0
      XREAD COUNT 0 STREAMS a 0
      XREAD STREAMS a 18446744073709551615-18446744073709551615
      XREAD BLOCK 10 STREAMS a 0
      XREAD STREAMS a
      XREAD STREAMS a b 0
      XREAD STREAMS a -
      XREAD STREAMS a >
      XREAD GROUP g c STREAMS a 0
      XREAD NOACK STREAMS a 0
      XREAD FOO STREAMS a 0
      XREAD COUNT x STREAMS a 0
      XREAD BLOCK -1 STREAMS a 0
      XREAD BLOCK x STREAMS a 0
      XREAD COUNT 1
      SET str v
      XREAD STREAMS a str 0 0
      MULTI
      XREAD BLOCK 0 STREAMS a $
      EXEC
    `));
});

describe('generic commands on streams', () => {
  it('TYPE, OBJECT ENCODING, COPY, RENAME, MOVE, DEL, SCAN TYPE', () =>
    same(`
      XADD s 1 a 1
      XADD s 2 b 2 c 3
      TYPE s
      OBJECT ENCODING s
      COPY s c
      XRANGE c - +
      XINFO STREAM c
      XADD c 3 x y
      XLEN s
      XLEN c
      DEBUG DIGEST-VALUE s c
      RENAME c r
      XRANGE r - +
      MOVE r 1
      SELECT 1
      XRANGE r - +
      SELECT 0
      [unordered] SCAN 0 TYPE stream
      DEL s
      EXISTS s
      DEBUG DIGEST
    `, { resp3: false }));
});

// ---- randomized mixes ------------------------------------------------------------------------

function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}

function randomScript(seed: number, n: number): Step[] {
  const r = rng(seed);
  const pick = <T>(a: T[]): T => a[Math.floor(r() * a.length)];
  const steps: Step[] = [];
  const nodeEntries = pick([2, 3, 5, 100]);
  const nodeBytes = pick([0, 60, 4096]);
  steps.push(['CONFIG', 'SET', 'stream-node-max-entries', String(nodeEntries)]);
  steps.push(['CONFIG', 'SET', 'stream-node-max-bytes', String(nodeBytes)]);
  let ms = 1;
  let seq = 0;
  const keys = ['s1', 's2', '{s1}x'];
  const fieldSets = [['a'], ['a', 'b'], ['b', 'a'], ['x', 'y', 'z'], ['12', '-5']];
  const val = () => pick(['v', '1', '-42', '123456789012', 'some longer value with spaces', '', '3.14', 'x'.repeat(Math.floor(r() * 80))]);
  const id = () => `${Math.floor(r() * (ms + 2))}-${Math.floor(r() * 4)}`;
  for (let i = 0; i < n; i++) {
    const k = pick(keys);
    const x = r();
    if (x < 0.45) {
      if (r() < 0.7) {
        ms += Math.floor(r() * 3);
        seq = r() < 0.5 ? seq + 1 : 0;
      }
      const fs = pick(fieldSets);
      const args = ['XADD', k];
      const t = r();
      if (t < 0.08) args.push('MAXLEN', '~', String(Math.floor(r() * 12)));
      else if (t < 0.14) args.push('MAXLEN', String(Math.floor(r() * 12)));
      else if (t < 0.18) args.push('MINID', '~', id());
      else if (t < 0.2) args.push('MINID', id());
      else if (t < 0.22) args.push('MAXLEN', '~', String(Math.floor(r() * 12)), 'LIMIT', String(Math.floor(r() * 6)));
      args.push(r() < 0.2 ? `${ms}-*` : `${ms}-${seq}`);
      for (const f of fs) args.push(f, val());
      steps.push(args);
    } else if (x < 0.6) {
      const args = ['XDEL', k];
      const m = 1 + Math.floor(r() * 3);
      for (let j = 0; j < m; j++) args.push(id());
      steps.push(args);
    } else if (x < 0.68) {
      const args = ['XTRIM', k, pick(['MAXLEN', 'MINID'])];
      if (r() < 0.5) args.push(pick(['~', '=']));
      args.push(args[2] === 'MAXLEN' ? String(Math.floor(r() * 15)) : id());
      if (args[3] === '~' && r() < 0.3) args.push('LIMIT', String(Math.floor(r() * 8)));
      steps.push(args);
    } else if (x < 0.8) {
      const rev = r() < 0.4;
      const lo = r() < 0.2 ? '-' : (r() < 0.3 ? '(' : '') + (r() < 0.5 ? String(Math.floor(r() * (ms + 1))) : id());
      const hi = r() < 0.2 ? '+' : (r() < 0.3 ? '(' : '') + (r() < 0.5 ? String(Math.floor(r() * (ms + 2))) : id());
      const args = rev ? ['XREVRANGE', k, hi, lo] : ['XRANGE', k, lo, hi];
      if (r() < 0.4) args.push('COUNT', String(Math.floor(r() * 5)));
      steps.push(args);
    } else if (x < 0.86) {
      steps.push(['XINFO', 'STREAM', k]);
    } else if (x < 0.9) {
      steps.push(['XLEN', k]);
    } else if (x < 0.93) {
      steps.push(['XSETID', k, `${ms + Math.floor(r() * 3)}-${Math.floor(r() * 3)}`]);
    } else if (x < 0.95) {
      steps.push(['XINFO', 'STREAM', k, 'FULL', 'COUNT', String(Math.floor(r() * 4))]);
    } else {
      steps.push(['DEBUG', 'DIGEST-VALUE', ...keys]);
    }
  }
  steps.push(['DEBUG', 'DIGEST']);
  steps.push(['CONFIG', 'SET', 'stream-node-max-entries', '100']);
  steps.push(['CONFIG', 'SET', 'stream-node-max-bytes', '4096']);
  return steps;
}

describe('randomized XADD / XDEL / XTRIM / XRANGE mixes', () => {
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    it(`seed ${seed}`, async () => {
      const res = await d.expectSame(randomScript(seed * 7919, 400), { resp3: seed % 2 === 0 });
      const last = res.shardis[res.shardis.length - 3];
      expect(last).toBeDefined();
    });
  }
});

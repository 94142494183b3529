// Differential tests (redis-server vs shardis) for stream consumer groups: XGROUP, XREADGROUP,
// XACK, XPENDING, XCLAIM, XAUTOCLAIM, XINFO GROUPS/CONSUMERS/STREAM FULL, their errors, COPY /
// RENAME of a stream with groups, DEBUG DIGEST; and a randomized mix of group operations.
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
/** Replies holding times (idle ms, delivery / seen times): integers within 1.5 s. */
const timed = (...cmd: string[]): Step => ({ cmd, shape: true });

describe('XGROUP', () => {
  it('CREATE / SETID / DESTROY / CREATECONSUMER / DELCONSUMER / HELP and errors', () =>
    same(`
      XADD s 1-0 a 1
      XADD s 2-0 b 2
      XGROUP CREATE s g 0
      XGROUP CREATE s g 0
      XGROUP CREATE s g2 $ ENTRIESREAD 2
      XGROUP CREATE s g3 - ENTRIESREAD -2
      XGROUP CREATE s g3 + 
      XGROUP CREATE s g3 1-0 MKSTREAM ENTRIESREAD x
      XGROUP CREATE nokey g 0
      XGROUP CREATE nokey g $ MKSTREAM
      XGROUP CREATE s g4 0 FOO
      XGROUP SETID s g 1-0
      XGROUP SETID s g - ENTRIESREAD 0
      XGROUP SETID s nog 0
      XGROUP SETID s g 0 MKSTREAM
      XGROUP CREATECONSUMER s g alice
      XGROUP CREATECONSUMER s g alice
      XGROUP CREATECONSUMER s nog alice
      XGROUP DELCONSUMER s g alice
      XGROUP DELCONSUMER s g bob
      XGROUP DESTROY s g2
      XGROUP DESTROY s g2
      XGROUP DESTROY nokey2 g
      XGROUP HELP
      XGROUP HELP x
      XGROUP FOO s g
      XGROUP
      SET str x
      XGROUP CREATE str g 0
      XINFO GROUPS s
      XINFO GROUPS nokey
      XINFO STREAM s
      DEBUG DIGEST
    `));
});

describe('XREADGROUP / XACK / XPENDING', () => {
  it('new entries, history, NOACK, deleted entries, errors', () =>
    same(`
      XADD s 1-0 a 1
      XADD s 2-0 b 2
      XADD s 3-0 c 3
      XGROUP CREATE s g 0
      XREADGROUP GROUP g alice COUNT 2 STREAMS s >
      XREADGROUP GROUP g bob STREAMS s >
      XREADGROUP GROUP g bob STREAMS s >
      XREADGROUP GROUP g alice STREAMS s 0
      XREADGROUP GROUP g alice COUNT 1 STREAMS s 1-0
      XPENDING s g
      XDEL s 2-0
      XREADGROUP GROUP g alice STREAMS s 0
      XACK s g 1-0 9-9
      XACK s g 1-0
      XACK s g x
      XACK s nog 1-0
      XACK nokey g 1-0
      XADD s 4-0 d 4
      XREADGROUP GROUP g carol NOACK STREAMS s >
      XPENDING s g
      XPENDING s g - + 0
      XPENDING s g IDLE 3600000 (1-0 + 10 alice
      XPENDING s g - + 10 nobody
      XPENDING s g - + x
      XPENDING s g - +
      XPENDING s nog
      XPENDING nokey g
      XREADGROUP GROUP g alice STREAMS s $
      XREADGROUP GROUP nog alice STREAMS s >
      XREADGROUP GROUP g alice STREAMS nokey >
      XREADGROUP STREAMS s >
      XREADGROUP GROUP g alice STREAMS s
      XREADGROUP GROUP g alice STREAMS s 0 1
      XREAD GROUP g alice STREAMS s >
      XREAD NOACK STREAMS s 0
      XREAD STREAMS s >
      XINFO GROUPS s
      XINFO STREAM s
      DEBUG DIGEST
    `));

  it('lag and entries-read as 7.0 tracks them', () =>
    same(`
      XADD s 1-0 a 1
      XADD s 2-0 a 2
      XADD s 3-0 a 3
      XADD s 4-0 a 4
      XGROUP CREATE s g 0
      XGROUP CREATE s g2 0
      XINFO GROUPS s
      XREADGROUP GROUP g c COUNT 1 STREAMS s >
      XINFO GROUPS s
      XDEL s 3-0
      XINFO GROUPS s
      XREADGROUP GROUP g c STREAMS s >
      XINFO GROUPS s
      XGROUP SETID s g2 2-0
      XINFO GROUPS s
      XGROUP SETID s g2 0 ENTRIESREAD 0
      XTRIM s MAXLEN 1
      XINFO GROUPS s
      XADD s 5-0 a 5
      XREADGROUP GROUP g2 c STREAMS s >
      XINFO GROUPS s
    `));
});

describe('XCLAIM / XAUTOCLAIM', () => {
  it('options, deleted entries, errors', () =>
    same(`
      XADD s 1-0 a 1
      XADD s 2-0 b 2
      XADD s 3-0 c 3
      XADD s 4-0 d 4
      XGROUP CREATE s g 0
      XREADGROUP GROUP g alice STREAMS s >
      XCLAIM s g bob 0 1-0
      XCLAIM s g bob 0 2-0 JUSTID
      XCLAIM s g bob 0 3-0 RETRYCOUNT 7 IDLE 0
      XCLAIM s g bob 3600000 4-0
      XCLAIM s g bob 0 9-0 FORCE
      XDEL s 4-0
      XCLAIM s g bob 0 4-0
      XADD s 5-0 e 5
      XCLAIM s g carol 0 5-0 FORCE JUSTID LASTID 5-0
      XCLAIM s g carol 0 1-0 TIME 1 LASTID 9-0
      XCLAIM s g carol x 1-0
      XCLAIM s g carol 0 1-0 FOO
      XCLAIM s g carol 0 1-0 IDLE x
      XCLAIM s g carol 0 1-0 LASTID x
      XCLAIM s nog carol 0 1-0
      XPENDING s g
      XADD s 6-0 f 6
      XREADGROUP GROUP g alice STREAMS s >
      XDEL s 6-0
      XAUTOCLAIM s g dave 0 0 COUNT 2
      XAUTOCLAIM s g dave 0 0 COUNT 10 JUSTID
      XAUTOCLAIM s g dave 0 (1-0
      XAUTOCLAIM s g dave 0 0 COUNT 0
      XAUTOCLAIM s g dave 0 0 COUNT x
      XAUTOCLAIM s g dave 0 0 FOO
      XAUTOCLAIM s g dave x 0
      XAUTOCLAIM s nog dave 0 0
      XAUTOCLAIM s g dave 3600000 0
      XPENDING s g
      XINFO GROUPS s
      DEBUG DIGEST
    `));
});

describe('XINFO and whole-key operations', () => {
  it('XINFO CONSUMERS / STREAM FULL, COPY, RENAME, DEL of a stream with groups', async () => {
    await d.expectSame([
      ...script(`
        XADD s 1-0 a 1
        XADD s 2-0 b 2
        XADD s 3-0 c 3
        XGROUP CREATE s g 0
        XGROUP CREATE s a 0
        XGROUP CREATECONSUMER s g zed
        XREADGROUP GROUP g alice COUNT 2 STREAMS s >
        XREADGROUP GROUP g bob STREAMS s >
        COPY s t
        XACK s g 1-0
        XPENDING t g
        XPENDING s g
        RENAME t u
        XPENDING u g
        DEBUG DIGEST-VALUE s u
      `),
      timed('XINFO', 'CONSUMERS', 's', 'g'),
      timed('XINFO', 'STREAM', 's', 'FULL'),
      timed('XINFO', 'STREAM', 'u', 'FULL', 'COUNT', '1'),
      timed('XPENDING', 's', 'g', '-', '+', '10'),
      timed('XPENDING', 's', 'g', 'IDLE', '0', '-', '+', '10', 'bob'),
      ...script(`
        XINFO CONSUMERS s nog
        DEL s u
        DEBUG DIGEST
      `),
    ]);
  });
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
  let ms = 1;
  const keys = ['s1', 's2'];
  const groups = ['g1', 'g2', 'g10'];
  const consumers = ['a', 'b', 'c', 'ab'];
  const id = () => `${Math.floor(r() * (ms + 2))}-0`;
  for (let i = 0; i < n; i++) {
    const k = pick(keys);
    const g = pick(groups);
    const x = r();
    if (x < 0.25) {
      ms += 1 + Math.floor(r() * 2);
      steps.push(['XADD', k, `${ms}-0`, 'f', String(i)]);
    } else if (x < 0.3) {
      steps.push(['XGROUP', 'CREATE', k, g, pick(['0', '$', id()]), ...(r() < 0.3 ? ['MKSTREAM'] : [])]);
    } else if (x < 0.45) {
      const args = ['XREADGROUP', 'GROUP', g, pick(consumers)];
      if (r() < 0.5) args.push('COUNT', String(1 + Math.floor(r() * 3)));
      if (r() < 0.15) args.push('NOACK');
      args.push('STREAMS', k, r() < 0.8 ? '>' : pick(['0', id()]));
      steps.push(args);
    } else if (x < 0.55) {
      steps.push(['XACK', k, g, id(), id()]);
    } else if (x < 0.62) {
      steps.push(['XCLAIM', k, g, pick(consumers), '0', id(), id(), ...(r() < 0.3 ? ['JUSTID'] : []), ...(r() < 0.2 ? ['FORCE'] : [])]);
    } else if (x < 0.67) {
      steps.push(['XAUTOCLAIM', k, g, pick(consumers), '0', pick(['0', id()]), 'COUNT', String(1 + Math.floor(r() * 4)), ...(r() < 0.3 ? ['JUSTID'] : [])]);
    } else if (x < 0.72) {
      steps.push(['XDEL', k, id()]);
    } else if (x < 0.75) {
      steps.push(['XTRIM', k, 'MAXLEN', String(Math.floor(r() * 6))]);
    } else if (x < 0.8) {
      steps.push(['XPENDING', k, g]);
    } else if (x < 0.85) {
      steps.push(['XINFO', 'GROUPS', k]);
    } else if (x < 0.88) {
      steps.push(['XGROUP', 'SETID', k, g, pick(['0', '$', id()])]);
    } else if (x < 0.9) {
      steps.push(['XGROUP', 'DELCONSUMER', k, g, pick(consumers)]);
    } else if (x < 0.92) {
      steps.push(['XGROUP', 'CREATECONSUMER', k, g, pick(consumers)]);
    } else if (x < 0.93) {
      steps.push(['XGROUP', 'DESTROY', k, g]);
    } else if (x < 0.96) {
      steps.push(['XPENDING', k, g, '-', '+', '5', ...(r() < 0.5 ? [pick(consumers)] : [])].map(String).length ? { cmd: ['XPENDING', k, g, '-', '+', '5'], shape: true } : ['PING']);
    } else {
      steps.push(['DEBUG', 'DIGEST-VALUE', ...keys]);
    }
  }
  steps.push(['DEBUG', 'DIGEST']);
  return steps;
}

describe('randomized group operation mixes', () => {
  for (const seed of [1, 2, 3, 4]) {
    it(`seed ${seed}`, async () => {
      const res = await d.expectSame(randomScript(seed * 104729, 300), { resp3: seed % 2 === 0 });
      expect(res.steps.length).toBeGreaterThan(300);
    });
  }
});

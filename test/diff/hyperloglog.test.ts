// Differential tests (redis-server vs shardis) for HyperLogLog: replies, errors and the raw bytes
// of the HLL strings (GET), which must be the same byte for byte (sparse and dense encodings,
// the cached cardinality and its invalid bit), plus DUMP/RESTORE round trips in both directions.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { script, startPair, type Pair, type Script } from '../helpers/diff';
import { RawClient, show, type Reply } from '../helpers/resp';
import { rng } from '../helpers/util';

let d: Pair;
beforeAll(async () => {
  d = await startPair();
});
afterAll(async () => {
  await d?.stop();
});

const same = (text: string, opts?: { resp3?: boolean }) => d.expectSame(script(text), opts);

describe('PFADD / PFCOUNT / PFMERGE', () => {
  it('basics, the cache bytes and the encodings', () =>
    same(`
      PFADD h
      EXISTS h
      GET h
      PFCOUNT h
      PFADD h a b c
      GETRANGE h 15 15
      PFCOUNT h
      GETRANGE h 15 15
      GET h
      PFADD h a b c
      PFADD h ""
      PFADD h ""
      PFCOUNT h
      PFCOUNT missing
      PFCOUNT missing h missing2
      PFDEBUG ENCODING h
      PFDEBUG DECODE h
      OBJECT ENCODING h
      PFADD h2 x y z a
      PFMERGE dst h h2
      GET dst
      PFCOUNT dst
      PFMERGE dst
      PFCOUNT dst
      PFMERGE newdst
      GET newdst
      PFMERGE h h2
      GET h
      PFCOUNT h h2 dst
      PFDEBUG TODENSE h
      PFDEBUG TODENSE h
      PFDEBUG ENCODING h
      PFDEBUG DECODE h
      PFADD h more elements here
      PFCOUNT h
      GETRANGE h 0 40
      PFMERGE dst h
      PFDEBUG ENCODING dst
      PFCOUNT dst
      STRLEN dst
      PFDEBUG GETREG h2
      PFDEBUG ENCODING h2
      PFDEBUG GETREG missing
      PFDEBUG FOO h
      PFDEBUG
      PFADD
      PFCOUNT
      PFMERGE
    `));

  it('type errors and corrupt values', () =>
    same(`
      SET str "not an hll"
      LPUSH list a
      PFADD str a
      PFCOUNT str
      PFCOUNT list
      PFADD list a
      PFMERGE list
      PFMERGE dst str
      PFMERGE str list
      PFCOUNT h str
      EXISTS dst
      SET s "HYLL"
      PFCOUNT s
      PFADD h a b c
      APPEND h hello
      PFCOUNT h
      PFADD h x
      PFMERGE o h
      PFDEBUG GETREG h
      PFDEBUG DECODE h
      PFADD h2 a b c
      SETRANGE h2 0 0
      PFCOUNT h2
      SET h3 "HYLL\\x02\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00"
      PFCOUNT h3
      PFADD h4 a b c
      PFDEBUG TODENSE h4
      APPEND h4 x
      PFCOUNT h4
      SET h5 "HYLL\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x40"
      PFCOUNT h5
      PFADD h5 a
      PFCOUNT h5 h5
      SET h6 "HYLL\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\xff\\xff\\xff"
      PFCOUNT h6
      PFCOUNT h6 h6
      PFADD h6 a
      PFDEBUG DECODE h6
    `));

  it('cached cardinality that is valid is trusted (even when it lies)', () =>
    same(`
      SET h "HYLL\\x01\\x00\\x00\\x00\\x07\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x7f\\xff"
      PFCOUNT h
      OBJECT ENCODING h
      SET big "HYLL\\x01\\x00\\x00\\x00\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\x7f\\x7f\\xff"
      PFCOUNT big
    `));

  it('promotion to dense at hll-sparse-max-bytes, and big registers', async () => {
    const steps: Script = [['CONFIG', 'SET', 'hll-sparse-max-bytes', '200']];
    for (let i = 0; i < 60; i++) {
      steps.push(['PFADD', 'h', `e${i}`, `f${i * 7}`]);
      if (i % 10 === 0) steps.push(['PFDEBUG', 'ENCODING', 'h'], ['GET', 'h']);
    }
    steps.push(['PFCOUNT', 'h'], ['GET', 'h'], ['PFDEBUG', 'ENCODING', 'h']);
    steps.push(['CONFIG', 'SET', 'hll-sparse-max-bytes', '3000']);
    // An element whose run of zeroes is longer than 32 forces dense at once.
    steps.push(['PFADD', 'big', 'x'], ['GET', 'big'], ['PFDEBUG', 'ENCODING', 'big']);
    await d.expectSame(steps, { resp3: false });
  });

  it('randomized PFADD / PFMERGE / PFCOUNT: replies and raw bytes match', async () => {
    for (const seed of [1, 2, 3]) {
      const r = rng(seed);
      const int = (n: number) => Math.floor(r() * n);
      const keys = ['a', 'b', 'c', 'd'];
      const pick = () => keys[int(keys.length)];
      const ele = (): Buffer => {
        const n = int(12);
        const b = Buffer.alloc(n);
        for (let i = 0; i < n; i++) b[i] = r() < 0.7 ? 97 + int(26) : int(256);
        return b;
      };
      const steps: Script = [['CONFIG', 'SET', 'hll-sparse-max-bytes', String([3000, 500, 100][seed - 1])]];
      for (let i = 0; i < 400; i++) {
        const x = r();
        if (x < 0.6) {
          const cmd: (string | Buffer)[] = ['PFADD', pick()];
          const n = int(r() < 0.1 ? 200 : 8);
          for (let j = 0; j < n; j++) cmd.push(r() < 0.5 ? `${int(100000)}` : ele());
          steps.push(cmd);
        } else if (x < 0.75) {
          const cmd = ['PFMERGE', pick()];
          for (let j = int(3); j >= 0; j--) cmd.push(pick());
          steps.push(cmd);
        } else if (x < 0.9) {
          const cmd = ['PFCOUNT', pick()];
          for (let j = int(3) - 1; j >= 0; j--) cmd.push(pick());
          steps.push(cmd);
        } else {
          steps.push(['GET', pick()]);
        }
      }
      for (const k of keys) steps.push(['GET', k], ['PFCOUNT', k], ['GET', k], ['PFDEBUG', 'ENCODING', k]);
      await d.expectSame(steps, { resp3: false, label: `seed ${seed}` });
    }
  });

  it('COMMAND INFO', () => same(`COMMAND INFO pfadd pfcount pfmerge pfdebug pfselftest`));

  it('RESP3', () => same(`PFADD h a b\nPFCOUNT h\nPFDEBUG ENCODING h\nPFDEBUG DECODE h\nPFMERGE h`, { resp3: true }));
});

describe('DUMP / RESTORE round trips with redis-server', () => {
  const call = async (port: number, ...args: (string | Buffer)[]): Promise<Reply> => {
    const c = await RawClient.connect(port);
    try {
      return await c.call(...args);
    } finally {
      await c.close();
    }
  };
  const bytes = (r: Reply): Buffer => {
    if (r.t !== 'bulk' || r.v === null) throw new Error(`not a bulk: ${show(r)}`);
    return r.v as Buffer;
  };

  it('an HLL built on redis-server counts the same on shardis, and back', async () => {
    const R = d.redis.port;
    const S = d.shardis.port;
    await call(R, 'FLUSHALL');
    await call(S, 'FLUSHALL');
    const small: string[] = [];
    const many: string[] = [];
    for (let i = 0; i < 50; i++) small.push(`s${i}`);
    for (let i = 0; i < 5000; i++) many.push(`m${i}`);
    await call(R, 'PFADD', 'sparse', ...small);
    await call(R, 'PFADD', 'dense', ...many);
    expect(show(await call(R, 'PFDEBUG', 'ENCODING', 'dense'))).toBe(show({ t: 'simple', v: 'dense' }));
    for (const k of ['sparse', 'dense']) {
      const dump = bytes(await call(R, 'DUMP', k));
      expect(show(await call(S, 'RESTORE', k, '0', dump))).toBe('OK');
      expect(show(await call(S, 'PFCOUNT', k))).toBe(show(await call(R, 'PFCOUNT', k)));
      expect(bytes(await call(S, 'GET', k)).equals(bytes(await call(R, 'GET', k)))).toBe(true);
      // Grow both the same way, then move shardis's back to redis-server under another name.
      await call(R, 'PFADD', k, 'more1', 'more2', 'more3');
      await call(S, 'PFADD', k, 'more1', 'more2', 'more3');
      const back = bytes(await call(S, 'DUMP', k));
      expect(show(await call(R, 'RESTORE', `${k}-back`, '0', back))).toBe('OK');
      expect(bytes(await call(R, 'GET', `${k}-back`)).equals(bytes(await call(R, 'GET', k)))).toBe(true);
      expect(show(await call(R, 'PFCOUNT', `${k}-back`))).toBe(show(await call(S, 'PFCOUNT', k)));
      expect(show(await call(R, 'PFCOUNT', `${k}-back`, 'sparse'))).toBe(show(await call(S, 'PFCOUNT', k, 'sparse')));
    }
  });
});

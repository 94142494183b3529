// Differential tests (redis-server vs shardis) for connection-level commands.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, script, startPair, type Pair } from '../helpers/diff';
import { show } from '../helpers/resp';

let d: Pair;
beforeAll(async () => {
  d = await startPair();
});
afterAll(async () => {
  await d?.stop();
});

const same = (text: string, opts?: { resp3?: boolean }) => d.expectSame(script(text), opts);

describe('PING / ECHO', () => {
  it('PING', () =>
    same(`
      PING
      ping
      PING hello
      PING ""
      PING "with space"
      PING a b
    `));

  it('ECHO', () =>
    same(`
      ECHO hello
      ECHO ""
      ECHO "\\x00\\xff binary"
      echo 123
      ECHO
      ECHO a b
    `));

  it('PING / ECHO in RESP3', () =>
    same(
      `
      PING
      PING hello
      ECHO hi
    `,
      { resp3: true },
    ));
});

describe('SELECT', () => {
  it('switches dbs and validates the index', () =>
    same(`
      SELECT 1
      SET k one
      SELECT 0
      GET k
      SELECT 1
      GET k
      SELECT 16
      GET k
      SELECT -1
      SELECT x
      SELECT
    `));
});

describe('TIME', () => {
  it('has the right shape and a sane value', async () => {
    await d.expectSame(script(`[shape] TIME`));
    const res = await d.run(script(`TIME`));
    for (const r of [res.redis[0], res.shardis[0]]) {
      expect(r.t).toBe('array');
      if (r.t !== 'array' || !r.v) return;
      const [secs, usecs] = r.v.map((x) => (x.t === 'bulk' && x.v ? x.v.toString() : show(x)));
      expect(secs).toMatch(/^\d+$/);
      expect(usecs).toMatch(/^\d+$/);
      expect(Math.abs(Number(secs) - Date.now() / 1000)).toBeLessThan(5);
      expect(Number(usecs)).toBeLessThan(1_000_000);
    }
    await same(`
      TIME extra
    `);
  });
});

describe('CLIENT INFO / LIST', () => {
  it('show the running command in qbuf, as Redis does', async () => {
    const r = await d.each(async (c) => {
      const fields = (x: unknown) => {
        const line = (x as { v: Buffer }).v.toString();
        return ['qbuf', 'multi', 'flags', 'cmd', 'events', 'obl', 'omem'].map((k) => new RegExp(` ${k}=(\\S*)`).exec(line)?.[0]);
      };
      const info = fields(await c.call('CLIENT', 'INFO'));
      await c.call('MULTI');
      await c.call('PING');
      c.send('CLIENT', 'INFO');
      await c.read();
      const exec = await c.call('EXEC');
      const inMulti = fields((exec as { v: unknown[] }).v[1]);
      return [info, inMulti];
    });
    expect(r.shardis).toEqual(r.redis);
    expect(r.shardis[0]).toContain(' qbuf=26');
  });
});

describe('COMMAND', () => {
  it('COMMAND INFO', () =>
    same(`
      COMMAND INFO get set mget
      COMMAND INFO GET
      COMMAND INFO nosuchcommand
      COMMAND INFO get nosuchcommand
    `));

  it('COMMAND INFO in RESP3', () =>
    same(
      `
      COMMAND INFO get set mget
      COMMAND INFO nosuchcommand
    `,
      { resp3: true },
    ));

  it('COMMAND COUNT is an integer', () => same(`[shape] COMMAND COUNT`));

  it('COMMAND GETKEYS', () =>
    same(`
      COMMAND GETKEYS set a b
      COMMAND GETKEYS SET a b EX 10
      COMMAND GETKEYS get k
      COMMAND GETKEYS mget a b c
      COMMAND GETKEYS mset a 1 b 2
      COMMAND GETKEYS msetnx a 1 b 2
      COMMAND GETKEYS del a b c
      COMMAND GETKEYS exists a a
      COMMAND GETKEYS rename a b
      COMMAND GETKEYS copy a b DB 1
      COMMAND GETKEYS bitop and dest a b
      COMMAND GETKEYS lcs a b
      COMMAND GETKEYS expire k 10
      COMMAND GETKEYS object encoding k
      COMMAND GETKEYS get
      COMMAND GETKEYS mset a
      COMMAND GETKEYS nosuchcommand a
      COMMAND GETKEYS ping
      COMMAND GETKEYS
    `));

  it('COMMAND GETKEYSANDFLAGS, variable flags (SET, BITFIELD) from the arguments', () =>
    same(`
      COMMAND GETKEYSANDFLAGS set k1 v1
      COMMAND GETKEYSANDFLAGS set k1 v1 get
      COMMAND GETKEYSANDFLAGS set k1 v1 EX 10 GET
      COMMAND GETKEYSANDFLAGS bitfield k get u8 0
      COMMAND GETKEYSANDFLAGS bitfield k get u8 0 overflow wrap get i4 2
      COMMAND GETKEYSANDFLAGS bitfield k get u8 0 set u8 0 1
      COMMAND GETKEYSANDFLAGS bitfield k incrby u8 0 1
      COMMAND GETKEYSANDFLAGS bitfield k bogus
      COMMAND GETKEYSANDFLAGS bitfield_ro k get u8 0
      COMMAND GETKEYSANDFLAGS lmove a b left right
      COMMAND GETKEYSANDFLAGS sort k by w* store dst
      COMMAND GETKEYSANDFLAGS mset a 1 b 2
    `, { resp3: true }));
});

describe('unknown commands', () => {
  const long = 'x'.repeat(200);
  it('error text quotes the command and its first args', () =>
    same(`
      FOO
      FOO a b
      foo "a b" c
      NOSUCH ${long}
      NOSUCH a b c d e f g h i j k l m n o p q r s t u v w x y z aa bb cc dd ee ff gg hh ii jj kk ll mm nn oo pp qq rr ss tt uu vv ww xx yy
      ${long} arg
      ""
      "with space"
      PING
    `));

  it('unknown subcommands', () =>
    same(`
      OBJECT NOPE
      COMMAND NOPE
    `));
});

describe('QUIT', () => {
  it('replies +OK and closes the connection', async () => {
    await d.expectSame(script(`
      SET k v
      QUIT
      PING
    `));
    const res = await d.each(async (c) => {
      const r = await c.call('QUIT');
      await c.closed();
      return show(r);
    });
    expect(res.shardis).toBe(res.redis);
  });

  it('QUIT with extra args', () => same(`QUIT extra`));
});

describe('redis-cli', () => {
  it('talks to both servers the same way', async () => {
    const run = async (port: number) => {
      await cli(port, ['FLUSHALL']);
      const a = await cli(port, ['SET', 'k', 'hello world']);
      const b = await cli(port, ['GET', 'k']);
      const c = await cli(port, [], 'INCR n\nINCRBY n 10\nGET k\nMGET k n missing\nNOSUCH x\n');
      return [a, b, c].join('---\n');
    };
    const [r, s] = [await run(d.redis.port), await run(d.shardis.port)];
    expect(s).toBe(r);
  });
});

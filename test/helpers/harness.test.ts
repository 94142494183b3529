// Self-tests for the test harness (no shardis needed).
import { describe, expect, it } from 'vitest';
import { compareForm, script, splitArgs, type StepOptions } from './diff';
import { RawClient, canon, decodeAll, encodeReply, show, type Reply } from './resp';
import { startRedis } from './server';

const b = (s: string): Reply => ({ t: 'bulk', v: Buffer.from(s) });
const i = (n: number): Reply => ({ t: 'int', v: BigInt(n) });

describe('RESP parser / encoder', () => {
  it('round-trips every RESP2 and RESP3 type', () => {
    const wire =
      '+OK\r\n-ERR bad\r\n:-12\r\n$3\r\na\r\n\r\n$-1\r\n*-1\r\n*0\r\n' +
      '*2\r\n$1\r\nx\r\n*1\r\n:1\r\n%1\r\n+k\r\n,1.5\r\n~2\r\n:1\r\n:2\r\n_\r\n#t\r\n#f\r\n' +
      '>2\r\n$7\r\nmessage\r\n$2\r\nhi\r\n=8\r\ntxt:some\r\n(123456789012345678901234567890\r\n!5\r\nERR x\r\n' +
      '|1\r\n+a\r\n+b\r\n:7\r\n';
    const replies = decodeAll(Buffer.from(wire, 'latin1'));
    expect(replies.length).toBe(18);
    expect(Buffer.concat(replies.map(encodeReply)).toString('latin1')).toBe(wire);
    expect(replies[3]).toEqual({ t: 'bulk', v: Buffer.from('a\r\n') });
    expect(replies[10]).toEqual({ t: 'null' });
  });

  it('renders like redis-cli', () => {
    expect(show({ t: 'simple', v: 'OK' })).toBe('OK');
    expect(show(b('OK'))).toBe('"OK"');
    expect(show({ t: 'bulk', v: Buffer.from([0, 0xff, 10, 34]) })).toBe('"\\x00\\xff\\n\\""');
    expect(show({ t: 'error', v: 'ERR x' })).toBe('(error) ERR x');
    expect(show({ t: 'array', v: [] })).toBe('(empty array)');
    expect(show({ t: 'array', v: null })).toBe('(nil)');
    expect(show({ t: 'array', v: [b('a'), { t: 'array', v: [i(1), i(2)] }] })).toBe(
      '1) "a"\n2) 1) (integer) 1\n   2) (integer) 2',
    );
    expect(show({ t: 'map', v: [[b('k'), i(1)]] })).toBe('1# "k" => (integer) 1');
    // show() can't tell null kinds apart, canon() can.
    expect(canon({ t: 'bulk', v: null })).not.toBe(canon({ t: 'array', v: null }));
  });

  it('RawClient parses replies split across reads', async () => {
    const srv = await startRedis();
    try {
      const c = await RawClient.connect(srv.port);
      const big = Buffer.alloc(300_000, 'z');
      expect(show(await c.call('SET', 'k', big))).toBe('OK');
      c.send('GET', 'k');
      c.send('PING');
      const g = await c.read();
      expect(g.t === 'bulk' && g.v?.equals(big)).toBe(true);
      expect(show(await c.read())).toBe('PONG');
      await c.writeRaw('PING\r\n');
      expect((await c.readRaw(2000, 7)).toString()).toBe('+PONG\r\n');
      c.send('QUIT');
      await c.closed();
      expect(show(await c.read())).toBe('OK'); // buffered before the close
      await expect(c.read()).rejects.toThrow(/closed/);
    } finally {
      await srv.stop();
    }
    expect(() => process.kill(srv.pid, 0)).toThrow();
  });
});

describe('script helpers', () => {
  it('splits arguments like redis-cli', () => {
    expect(splitArgs(`SET k "a b\\x41" 'it\\'s' ""`)).toEqual(['SET', 'k', 'a bA', "it's", '']);
    expect(splitArgs(`SET k "\\xff\\x00"`)[2]).toEqual(Buffer.from([0xff, 0]));
    expect(() => splitArgs('SET k "abc')).toThrow(/unbalanced/);
  });

  it('parses modifiers and sleeps', () => {
    expect(script(`
      # comment
      [unordered] KEYS *
      [approx=5] [ignore] TTL k
      [sleep 10]
      GET k
    `)).toEqual([
      { cmd: ['KEYS', '*'], unordered: true },
      { cmd: ['TTL', 'k'], approx: 5, ignore: true },
      { sleep: 10 },
      { cmd: ['GET', 'k'] },
    ]);
  });

  it('compare modes', () => {
    const st = (o: Partial<StepOptions>): StepOptions => ({ cmd: ['X'], ...o });
    const eq = (s: StepOptions, x: Reply, y: Reply) => {
      const [p, q] = compareForm(s, x, y);
      return p === q;
    };
    const arr = (...v: Reply[]): Reply => ({ t: 'array', v });
    expect(eq(st({}), b('a'), b('a'))).toBe(true);
    expect(eq(st({}), b('a'), { t: 'simple', v: 'a' })).toBe(false);
    expect(eq(st({}), { t: 'bulk', v: null }, { t: 'array', v: null })).toBe(false);
    expect(eq(st({ unordered: true }), arr(b('a'), b('b')), arr(b('b'), b('a')))).toBe(true);
    expect(eq(st({ unordered: true }), arr(b('a'), b('a')), arr(b('a'), b('b')))).toBe(false);
    expect(eq(st({ unordered: true }), arr(b('0'), arr(b('x'), b('y'))), arr(b('0'), arr(b('y'), b('x'))))).toBe(true);
    expect(eq(st({ cmd: ['TTL'], approx: true }), i(100), i(98))).toBe(true);
    expect(eq(st({ cmd: ['TTL'], approx: true }), i(100), i(97))).toBe(false);
    expect(eq(st({ cmd: ['PTTL'], approx: true }), i(100000), i(98500))).toBe(true);
    expect(eq(st({ cmd: ['TTL'], approx: true }), i(-1), i(-2))).toBe(false);
    expect(eq(st({ shape: true }), arr(b('1'), b('2')), arr(b('3'), b('4')))).toBe(true);
    expect(eq(st({ shape: true }), arr(b('1'), b('2')), arr(b('3')))).toBe(false);
    expect(eq(st({ ignore: true }), b('x'), i(1))).toBe(true);
  });
});

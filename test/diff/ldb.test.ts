// The Lua debugger (SCRIPT DEBUG SYNC, as redis-cli --ldb-sync-mode drives it) compared with
// redis-server byte for byte: each debugger command's log, the session's end mark, the EVAL's
// reply, and the connection closed after it.
import { describe, it, beforeAll, afterAll, expect } from 'vitest';
import { startPair, type Pair } from '../helpers/diff';
import { canon, type RawClient } from '../helpers/resp';

let d: Pair;
beforeAll(async () => {
  d = await startPair({ threads: 2 });
});
afterAll(async () => {
  await d?.stop();
});

type Cmd = (string | Buffer)[];

/**
 * Run one session: setup commands, SCRIPT DEBUG SYNC, the EVAL, then debugger commands. Every
 * reply is recorded (RESP bytes; Lua values' addresses masked); then whatever else arrives until
 * the server closes the connection, which it must.
 */
async function session(c: RawClient, setup: Cmd[], evalCmd: Cmd, steps: Cmd[]): Promise<string[]> {
  const out: string[] = [];
  for (const s of setup) out.push(canon(await c.call(...s)));
  out.push(canon(await c.call('SCRIPT', 'DEBUG', 'SYNC')));
  out.push(canon(await c.call(...evalCmd)));
  for (const s of steps) out.push(canon(await c.call(...s)));
  for (;;) {
    try {
      out.push(canon(await c.read()));
    } catch {
      out.push('(closed)');
      break;
    }
  }
  return out.map((s) => s.replace(/@0x[0-9a-f]+/g, '@ADDR'));
}

async function same(setup: Cmd[], evalCmd: Cmd, steps: Cmd[], resp3 = false): Promise<string[]> {
  const r = await d.each((c) => session(c, setup, evalCmd, steps), { resp3 });
  expect(r.shardis).toEqual(r.redis);
  return r.shardis;
}

const SCRIPT = [
  'local a = 1',
  "local t = {1,2,'x',{k='v'}}",
  "redis.debug('hi', a, t)",
  "redis.call('set','k','v')",
  "local r = redis.call('get','k')",
  'redis.breakpoint()',
  "local z = redis.pcall('nosuch')",
  "local w = redis.pcall('hgetall', 'k')",
  'return r',
  '',
].join('\n');

describe('SCRIPT DEBUG SYNC matches redis-server', () => {
  it('steps, prints, lists, breakpoints, eval, redis, maxlen, help, to the end of the script', async () => {
    const out = await same([], ['EVAL', SCRIPT, '1', 'k', 'argv1'], [
      ['help'], ['s'], ['p'], ['p', 't'], ['p', 'KEYS'], ['print', 'ARGV'], ['p', 'nope'],
      ['b', '6'], ['b'], ['break', '-6'], ['b', '99'], ['b', 'x'], ['b', '-3'], ['b', '0'],
      ['l'], ['list', '2', '1'], ['l', '9'], ['w'], ['t'],
      ['e', '1+1'], ['eval', 'a'], ['e', 'bad', 'code', 'here'], ['e', "redis.call('set','e','1')"],
      ['m', '10'], ['m', '0'], ['m'], ['maxlen', '100'],
      ['r', 'set', 'x', '1'], ['redis', 'incr', 'x'], ['r', 'hgetall', 'x'], ['r', 'hset', 'h', 'a', '1'],
      ['r', 'hgetall', 'h'], ['r', 'nosuch'], ['r'], ['zz'], ['r', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l'],
      ['s'], ['s'], ['n'], ['next'], ['c'], ['step'], ['s'], ['s'],
    ]);
    // The session really ran: the stops, the script's reply after the end mark, then the close.
    expect(out.some((s) => s.includes('* Stopped at 7, stop reason = redis.breakpoint() called'))).toBe(true);
    expect(out.slice(-3)).toEqual(['*1\r\n+<endsession>\r\n', '$1\r\nv\r\n', '(closed)']);
  });

  it('long values are trimmed at maxlen, with a hint once', async () => {
    const big = 'x'.repeat(300);
    await same([], ['EVAL', "local s = string.rep('y', 300)\nlocal t = {}\nfor i=1,100 do t[i]=i end\nreturn 1", '0'], [
      ['s'], ['s'], ['s'], ['s'], ['p'], ['p', 's'], ['e', 't'], ['r', 'set', 'big', big], ['r', 'get', 'big'], ['r', 'get', 'big'],
      ['m', '0'], ['r', 'get', 'big'], ['c'],
    ]);
  });

  it('functions: trace inside a call, locals of the frame', async () => {
    await same([], ['EVAL', 'local function f(x)\n  local y = x * 2\n  return y + 1\nend\nlocal v = f(1)\nreturn v', '0'], [
      ['s'], ['s'], ['s'], ['t'], ['p'], ['s'], ['t'], ['p'], ['s'],
    ]);
  });

  it('errors: abort, a Lua error, and a script refused before it runs', async () => {
    await same([], ['EVAL', 'local x = 1\nreturn x', '0'], [['s'], ['abort']]);
    await same([], ['EVAL', "local x = 1\nreturn redis.call('nosuch')", '0'], [['s'], ['s']]);
    // Refused before the script runs: the end mark, then the error, then the close.
    await same([], ['EVAL', 'return 1', 'notanumber'], []);
    await same([], ['EVAL', 'return +', '0'], []);
  });

  it('the debugger protocol: binary names, a deep redis call, an error, a break', async () => {
    const args = Array.from({ length: 100 }, () => 'test');
    await same([], ['EVAL', "return 'hello'", '0'], [
      [Buffer.from('hello\0world')], [Buffer.from('\0hello')], ['script', 'debug', 'sync'], ['eval', "return 'hello'", '0'],
      ['redis', ...args], ['c'],
    ]);
  });

  it('RESP3 replies logged in human form', async () => {
    const types = ['map', 'set', 'null', 'true', 'false', 'double', 'bignum', 'verbatim', 'attrib'];
    await same([['DEBUG', 'SET-DISABLE-DENY-SCRIPTS', '1'], ['HSET', 'h', 'f', 'v'], ['ZADD', 'z', '1.5', 'm']],
      ['EVAL', 'redis.setresp(3)\nreturn 1', '0'],
      [['s'], ...types.map((t) => ['r', 'debug', 'protocol', t]), ['r', 'hgetall', 'h'], ['r', 'zrange', 'z', '0', '-1', 'withscores'], ['r', 'zscore', 'z', 'm'], ['c']],
      true);
  });

  it('inside EXEC: the session first, then the transaction\'s reply', async () => {
    const r = await d.each(async (c) => {
      const out: string[] = [];
      for (const cmd of [['SCRIPT', 'DEBUG', 'SYNC'], ['MULTI'], ['EVAL', 'return 1', '0'], ['EXEC'], ['c']]) out.push(canon(await c.call(...cmd)));
      out.push(canon(await c.read()));
      await c.closed();
      return out;
    });
    expect(r.shardis).toEqual(r.redis);
    expect(r.shardis.slice(-2)).toEqual(['*1\r\n+<endsession>\r\n', '*1\r\n:1\r\n']);
  });

  it('SCRIPT DEBUG arguments, NO, EVALSHA while debugging, a pipeline', async () => {
    await d.expectSame([
      ['SCRIPT', 'DEBUG', 'MAYBE'],
      ['SCRIPT', 'DEBUG'],
      ['SCRIPT', 'DEBUG', 'SYNC', 'x'],
      ['SCRIPT', 'DEBUG', 'NO'],
      ['EVAL', 'return 1', '0'],
      ['SCRIPT', 'DEBUG', 'SYNC'],
      ['EVALSHA', 'abc', '0'],
      ['EVALSHA', 'e0e1f9fabfc9d4800c877a703b823ac0578ff8db', '0'],
      ['EVALSHA_RO', 'e0e1f9fabfc9d4800c877a703b823ac0578ff8db', '0'],
      ['SCRIPT', 'DEBUG', 'NO'],
      ['EVAL', 'return 2', '0'],
    ]);
    // SCRIPT DEBUG behind another command's unsent reply.
    const r = await d.each(async (c) => {
      await c.writeRaw('*1\r\n$4\r\nPING\r\n*3\r\n$6\r\nSCRIPT\r\n$5\r\nDEBUG\r\n$4\r\nSYNC\r\n');
      return [canon(await c.read()), canon(await c.read())];
    });
    expect(r.shardis).toEqual(r.redis);
    expect(r.shardis[1]).toBe('-ERR SCRIPT DEBUG must be called outside a pipeline\r\n');
  });
});

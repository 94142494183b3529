// Lua scripting and functions compared with redis-server reply by reply: conversions both ways in
// RESP2 and RESP3 (tables, nil, booleans, doubles, big numbers, maps, sets, verbatim), error texts
// (with their @user_script line info), the sandbox, shebang flags, SCRIPT and FUNCTION commands.
import { describe, it, beforeAll, afterAll, expect } from 'vitest';
import { startPair, type Pair, type Script } from '../helpers/diff';
import { RawClient, canon } from '../helpers/resp';

let d: Pair;
beforeAll(async () => {
  d = await startPair({ threads: 2 });
});
afterAll(async () => {
  await d?.stop();
});

const ev = (body: string, ...rest: string[]): string[] => ['EVAL', body, ...rest];

// Lua values returned to the client, and Redis replies seen by Lua, in both protocols.
const conversions: Script = [
  ev('return 1'),
  ev('return 3.99'),
  ev("return 'hello'"),
  ev('return true'),
  ev('return false'),
  ev('return nil'),
  ev('return {1,2,3,"ciao",{1,2}}'),
  ev('return {1,2,nil,4}'),
  ev("return {ok='fine'}"),
  ev("return {err='My Error'}"),
  ev("return redis.error_reply('My Error')"),
  ev("return redis.error_reply('-CUSTOM my error')"),
  ev("return redis.status_reply('STATUS')"),
  ev('return {double=3.14}'),
  ev("return {big_number='1234567890123456789012345678901234567890'}"),
  ev("return {map={a=1}}"),
  ev("return {set={a=true}}"),
  ev("return {verbatim_string={format='txt', string='hello'}}"),
  ev('return _G'),
  ev("redis.call('set','k','v'); return redis.call('get','k')"),
  ev("return redis.call('get','nokey')"),
  ev("redis.call('rpush','l','a','b'); return redis.call('lrange','l',0,-1)"),
  ev("return redis.call('set','k','v')"),
  ev("return type(redis.call('get','nokey'))"),
  ev("return redis.call('incr','n')"),
  ev("redis.setresp(3); return redis.call('hgetall','nokey')"),
  ev("redis.call('hset','h','f','v'); redis.setresp(3); return redis.call('hgetall','h')"),
  ev("redis.call('sadd','s','m'); redis.setresp(3); return redis.call('smembers','s')"),
  ev("redis.setresp(3); return redis.call('get','nokey')"),
  ev("redis.setresp(3); local r = redis.call('hgetall','h'); return r['map']['f']"),
  ev("redis.call('zadd','z',1.5,'m'); redis.setresp(3); return redis.call('zscore','z','m')"),
  ev("redis.setresp(3); return type(redis.call('zscore','z','m'))"),
  ev("redis.setresp(3); return redis.call('zscore','z','m')['double']"),
  ev('redis.setresp(3); return true'),
  ev('redis.setresp(3); return false'),
  ev('return KEYS[1]..ARGV[1]', '1', 'a', 'b'),
  ev('return #KEYS + #ARGV', '2', 'a', 'b', 'c'),
];

describe('Lua <-> RESP conversions match redis-server', () => {
  it('in RESP2', async () => {
    await d.expectSame(conversions);
  });
  it('in RESP3', async () => {
    await d.expectSame(conversions, { resp3: true });
  });
});

describe('script errors match redis-server', () => {
  it('gives the same error texts', async () => {
    await d.expectSame([
      ev("return redis.call('nosuchcommand')"),
      ev("return redis.call('get')"),
      ev("return redis.call('multi')"),
      ev('return redis.call()'),
      ev("return redis.call('get', {})"),
      ev("redis.call('set','x','y'); return redis.call('lpush','x','a')"),
      ev("return redis.pcall('lpush','x','a')"),
      ev("local t = redis.pcall('lpush','x','a'); return t['err']"),
      ev("local ok, e = pcall(redis.call, 'get'); return e"),
      ev("error('boom')"),
      ev("error({err='CUSTOM boom'})"),
      ev('return nosuchvariable'),
      ev('x = 5'),
      ev('redis.call = nil'),
      ev("cjson.encode = nil"),
      ev('setmetatable(_G, {})'),
      ev('return loadfile'),
      ev("return print('x')"),
      ev('this is not lua'),
      ev('return 1', 'notanumber'),
      ev('return 1', '-1'),
      ev('return 1', '2', 'a'),
      ['EVALSHA', 'ffffffffffffffffffffffffffffffffffffffff', '0'],
      ['EVALSHA', 'short', '0'],
      ['EVAL_RO', "return redis.call('set','a','b')", '1', 'a'],
      ['EVAL_RO', "return redis.call('get','a')", '1', 'a'],
      ev("redis.log(redis.LOG_WARNING, 'from a test')"),
      ev('redis.log(99, "x")'),
      ev('redis.setresp(4)'),
      ev('redis.set_repl(99)'),
      ev("return redis.call('select', 99)"),
      ev('return redis.sha1hex()'),
    ]);
  });

  it('shebang flags and their errors', async () => {
    await d.expectSame([
      ev("#!lua flags=no-writes\nreturn redis.call('get','a')", '1', 'a'),
      ev("#!lua flags=no-writes\nreturn redis.call('set','a','b')", '1', 'a'),
      ev("#!lua\nreturn redis.call('set','a','b')", '1', 'a'),
      ['EVAL_RO', "#!lua\nreturn 1", '0'],
      ev('#!lua flags=bad-flag\nreturn 1'),
      ev('#!lua bad=1\nreturn 1'),
      ev('#!python\nreturn 1'),
      ev('#!lua'),
      ev("#!lua name=x\nreturn 1"),
    ]);
  });
});

describe('libraries and helpers match redis-server', () => {
  it('cjson, cmsgpack, bit, sha1hex and math.random seeding', async () => {
    await d.expectSame([
      ev("return cjson.encode({1,2,'x',{a=1}})"),
      ev("return cjson.decode('[1,2,3,{\"a\":5}]')[4].a"),
      ev("local e = cmsgpack.pack({1,2,3}, 'hello', -1099511627776, 0.1) local h = '' for i = 1, #e do h = h .. string.format('%02x', string.byte(e, i)) end return h"),
      ev("return {cmsgpack.unpack(cmsgpack.pack({a=1}, 'x', 300))}"),
      ev('return bit.band(0xff, 0x0f) + bit.bor(1, 2) + bit.lshift(1, 4)'),
      ev("return redis.sha1hex('hello')"),
      ev('math.randomseed(42); return {math.random(100), math.random(100), math.random(1, 6)}'),
      ev('return redis.REDIS_VERSION_NUM > 0'),
    ]);
  });

  it('SCRIPT LOAD / EXISTS / FLUSH and EVALSHA', async () => {
    await d.expectSame([
      ['SCRIPT', 'LOAD', "return 'loaded'"],
      ['EVALSHA', 'b534286061d4b9e4026607613b95c06c06015ae8', '0'],
      ['EVALSHA', 'B534286061D4B9E4026607613B95C06C06015AE8', '0'],
      ['SCRIPT', 'EXISTS', 'b534286061d4b9e4026607613b95c06c06015ae8', 'ffffffffffffffffffffffffffffffffffffffff'],
      ['SCRIPT', 'LOAD', 'syntax error here'],
      ['SCRIPT', 'FLUSH', 'bad'],
      ['SCRIPT', 'FLUSH'],
      ['SCRIPT', 'EXISTS', 'b534286061d4b9e4026607613b95c06c06015ae8'],
      ['SCRIPT', 'KILL'],
      ['FUNCTION', 'KILL'],
    ]);
  });

  it('FUNCTION LOAD / LIST / FCALL / DUMP / RESTORE / DELETE', async () => {
    const lib = "#!lua name=mylib\nredis.register_function('myget', function(keys, args) return redis.call('get', keys[1]) end)\n" +
      "redis.register_function{function_name='myro', callback=function(keys, args) return args[1] end, flags={'no-writes'}, description='ro'}";
    await d.expectSame([
      ['FUNCTION', 'FLUSH'],
      ['FUNCTION', 'LOAD', lib],
      ['FUNCTION', 'LOAD', lib],
      ['SET', 'k', 'v'],
      ['FCALL', 'myget', '1', 'k'],
      ['FCALL', 'MYGET', '1', 'k'],
      ['FCALL_RO', 'myro', '0', 'arg'],
      ['FCALL_RO', 'myget', '1', 'k'],
      ['FCALL', 'nosuch', '0'],
      ['FCALL', 'myget', 'x'],
      ['FUNCTION', 'LOAD', "#!lua name=one\nredis.register_function{function_name='f1', callback=function() return 1 end, flags={'no-writes', 'allow-oom'}, description='d'}"],
      ['FUNCTION', 'LIST', 'WITHCODE', 'LIBRARYNAME', 'on*'],
      ['FUNCTION', 'DELETE', 'one'],
      ['FUNCTION', 'LIST', 'LIBRARYNAME'],
      ['FUNCTION', 'STATS'],
      ['FUNCTION', 'LOAD', "#!lua name=other\nredis.register_function('myget', function() return 1 end)"],
      ['FUNCTION', 'LOAD', '#!lua name=bad\nreturn 1'],
      ['FUNCTION', 'LOAD', '#!lua name=bad\nredis.call("ping")'],
      ['FUNCTION', 'LOAD', "#!lua name=bad\nredis.register_function('f', 'notafunction')"],
      ['FUNCTION', 'LOAD', 'no shebang'],
      ['FUNCTION', 'LOAD', '#!lua\nreturn 1'],
      ['FUNCTION', 'LOAD', '#!lua name=a name=b\nreturn 1'],
      ['FUNCTION', 'LOAD', '#!nope name=x\nreturn 1'],
      ['FUNCTION', 'DELETE', 'nosuch'],
      ['FUNCTION', 'RESTORE', 'garbage'],
      ['FUNCTION', 'RESTORE', 'x', 'BADPOLICY'],
    ]);
    // A payload dumped by redis-server (LZF-compressed code) restores into shardis and the other
    // way round; the policies collide as Redis's do.
    const dumps = await d.each(async (c) => {
      await c.call('FUNCTION', 'FLUSH');
      await c.call('FUNCTION', 'LOAD', lib);
      const r = await c.call('FUNCTION', 'DUMP');
      if (r.t !== 'bulk' || r.v === null) throw new Error('FUNCTION DUMP failed');
      return r.v;
    });
    const other = { redis: dumps.shardis, shardis: dumps.redis };
    const restored = await d.each(async (c, side) => {
      const out = [await c.call('FUNCTION', 'RESTORE', other[side])];
      out.push(await c.call('FUNCTION', 'RESTORE', other[side], 'REPLACE'));
      await c.call('FUNCTION', 'FLUSH');
      out.push(await c.call('FUNCTION', 'RESTORE', other[side]));
      out.push(await c.call('FCALL_RO', 'myro', '0', 'restored'));
      out.push(await c.call('FUNCTION', 'RESTORE', other[side], 'FLUSH'));
      return out;
    }, { flush: false });
    expect(restored.shardis).toEqual(restored.redis);
    expect(restored.shardis[3]).toEqual({ t: 'bulk', v: Buffer.from('restored') });
  });

  it('COMMAND GETKEYS for scripts', async () => {
    await d.expectSame([
      ['COMMAND', 'GETKEYS', 'EVAL', 'return 1', '2', 'a', 'b', 'c'],
      ['COMMAND', 'GETKEYS', 'FCALL', 'f', '1', 'a', 'b'],
      ['COMMAND', 'INFO', 'EVAL', 'FCALL_RO'],
    ]);
  });
});

describe('EXEC and the scripts it queued', () => {
  it('is judged by their declared flags (a write script makes EXEC a write: EXECABORT without enough replicas)', async () => {
    const r = await d.each(async (c, _side, port) => {
      const other = await RawClient.connect(port);
      const out: string[] = [];
      const step = async (...a: string[]): Promise<void> => {
        out.push(canon(await c.call(...a)));
      };
      await step('MULTI');
      await step('EVAL', '#!lua\nreturn 1', '0');
      await step('EVAL', '#!lua flags=no-writes\nreturn 2', '0');
      await other.call('CONFIG', 'SET', 'min-replicas-to-write', '1');
      await step('EXEC');
      await step('MULTI');
      await step('EVAL', '#!lua flags=no-writes\nreturn 2', '0');
      await step('EVAL', 'return 3', '0');
      await step('EXEC');
      await other.call('CONFIG', 'SET', 'min-replicas-to-write', '0');
      await other.close();
      return out;
    });
    expect(r.shardis).toEqual(r.redis);
    expect(r.shardis[3]).toMatch(/^-EXECABORT Transaction discarded because of: NOREPLICAS /);
  });
});

describe('scripts across threads', () => {
  it('a script loaded on one connection runs on every other', async () => {
    const port = d.shardis.port;
    const a = await RawClient.connect(port);
    const sha = await a.call('SCRIPT', 'LOAD', "return redis.call('incr', KEYS[1])");
    if (sha.t !== 'bulk' || sha.v === null) throw new Error('SCRIPT LOAD failed');
    const hash = sha.v.toString();
    // Connections spread over the two worker threads: every one finds the script.
    const clients = await Promise.all(Array.from({ length: 8 }, () => RawClient.connect(port)));
    const replies = await Promise.all(clients.map((c) => c.call('EVALSHA', hash, '1', 'counter')));
    for (const r of replies) expect(r.t).toBe('int');
    expect(await a.call('GET', 'counter')).toEqual({ t: 'bulk', v: Buffer.from('8') });
    await Promise.all([a, ...clients].map((c) => c.close()));
  });
});

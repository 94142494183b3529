// The `struct` Lua library (struct.pack / unpack / size, native/lua/src/lua_struct.c) compared with
// redis-server's EVAL: packed bytes, unpacked values (as Lua prints them, so doubles compare
// exactly), next positions and error texts, over hand-picked formats and a seeded random sweep of
// formats and values.
import { describe, it, beforeAll, afterAll, expect } from 'vitest';
import { startPair, type Pair } from '../helpers/diff';

let d: Pair;
beforeAll(async () => {
  d = await startPair({ threads: 2 });
});
afterAll(async () => {
  await d?.stop();
});

// ARGV[1] a format, ARGV[2..] values ("n:<number>" or "s:<string>"): pack them, show the bytes in
// hex, unpack them again and show every result with tostring; size too. Errors as pcall gives them.
const ROUND_TRIP = `
local fmt = ARGV[1]
local vals = {}
for i = 2, #ARGV do
  local v = ARGV[i]
  if string.sub(v, 1, 2) == 'n:' then vals[#vals + 1] = tonumber(string.sub(v, 3)) else vals[#vals + 1] = string.sub(v, 3) end
end
local out = {}
local ok, packed = pcall(struct.pack, fmt, unpack(vals))
if not ok then out[#out + 1] = 'pack error: ' .. tostring(packed) return out end
out[#out + 1] = 'hex:' .. string.gsub(packed, '.', function(c) return string.format('%02x', string.byte(c)) end)
local res = {pcall(struct.unpack, fmt, packed)}
if not res[1] then out[#out + 1] = 'unpack error: ' .. tostring(res[2]) else
  for i = 2, #res do out[#out + 1] = type(res[i]) .. ':' .. tostring(res[i]) end
end
local ok2, sz = pcall(struct.size, fmt)
out[#out + 1] = 'size:' .. tostring(sz)
return out`;

const cases: Array<[string, ...string[]]> = [
  ['b', 'n:-1'], ['B', 'n:255'], ['B', 'n:256'], ['b', 'n:127'], ['b', 'n:-128'], ['h', 'n:-2'], ['H', 'n:65535'],
  ['>h', 'n:258'], ['<h', 'n:258'], ['l', 'n:-1'], ['L', 'n:18446744073709551615'], ['>L', 'n:4294967296'],
  ['T', 'n:12345'], ['i', 'n:-7'], ['I', 'n:4294967295'], ['i1', 'n:-1'], ['I3', 'n:70000'], ['>i3', 'n:-70000'],
  ['i8', 'n:-1'], ['I16', 'n:1'], ['>I16', 'n:1'], ['i16', 'n:-1'], ['I32', 'n:9007199254740993'],
  ['f', 'n:3.14'], ['d', 'n:3.14'], ['>d', 'n:-0.0'], ['<f', 'n:1e39'], ['d', 'n:1e308'], ['>f', 'n:0.1'],
  ['c5', 's:hello'], ['c3', 's:hello'], ['c0', 's:whole string'], ['c9', 's:short'], ['s', 's:zero'], ['ss', 's:a', 's:bc'],
  ['Bc0', 'n:3', 's:abc'], ['>Hc0', 'n:5', 's:hello'], ['xbx', 'n:1'], ['  b  b ', 'n:1', 'n:2'],
  ['!4bi', 'n:1', 'n:2'], ['!bd', 'n:1', 'n:2'], ['!2bdh', 'n:1', 'n:2', 'n:3'], ['!8bhid', 'n:1', 'n:2', 'n:3', 'n:4'],
  ['!4bi3', 'n:1', 'n:2'], ['!16bI5', 'n:1', 'n:2'], ['!4c3i', 's:abc', 'n:9'], ['!3b', 'n:1'], ['!0b', 'n:1'],
  ['!b', 'n:1'], ['!99999999999b', 'n:1'], ['i33', 'n:1'], ['i0', 'n:1'], ['z', 'n:1'], ['=b', 'n:1'], ['b'],
  ['b', 's:notanumber'], ['c', 's:x'], ['c', 's:'], ['b', 'n:1e30'], ['i', 'n:-1e30'], ['I', 'n:-1'], ['', 'n:1'],
  ['>!4hxxi', 'n:1', 'n:2'], ['<!4hxxi', 'n:1', 'n:2'], ['h<h>h', 'n:1', 'n:1', 'n:1'], ['bs', 'n:0', 's:'],
];

// Unpacking data it did not pack: offsets, short data, c0, unfinished strings, huge lengths.
const UNPACK = `
local res = {pcall(struct.unpack, ARGV[1], ARGV[2], ARGV[3] and tonumber(ARGV[3]) or nil)}
local out = {}
for i = 1, #res do out[#out + 1] = type(res[i]) .. ':' .. tostring(res[i]) end
return out`;

const unpacks: Array<[string, string, string?]> = [
  ['b', 'abc', '2'], ['b', 'abc', '3'], ['b', 'abc', '4'], ['b', 'abc', '0'], ['b', 'abc', '-1'], ['bb', 'a'], ['s', 'abc'],
  ['s', 'ab\0cd'], ['ss', 'ab\0cd\0'], ['c0', 'abc'], ['bc0', '\x05abc'], ['bc0', '\x02abc'], ['xc2', 'abc'],
  ['>I2c0', '\x00\x03abcdef'], ['!4bi', 'a\0\0\0bbbb'], ['!4bi', 'a\0\0\0bbb'], ['d', '12345678'], ['i', ''],
  ['>', ''], ['  ', 'x', '5'], ['c3', 'abc', '2'], ['bbbbbbbbbb', 'abcdefghij'],
];

describe('struct library (differential with redis-server)', () => {
  it('pack / unpack / size round trips and errors', async () => {
    await d.expectSame(cases.map((c) => ['EVAL', ROUND_TRIP, '0', ...c]), { flush: false });
  });

  it('unpack of foreign data, offsets and errors', async () => {
    await d.expectSame(unpacks.map((u) => ['EVAL', UNPACK, '0', ...u.filter((x): x is string => x !== undefined)]), { flush: false });
  });

  it('a seeded random sweep of formats and values', async () => {
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const opts = ['b', 'B', 'h', 'H', 'l', 'L', 'T', 'i', 'I', 'f', 'd', 'x', 'c', 's', '<', '>', '!', ' '];
    const nums = ['0', '1', '-1', '127', '-128', '255', '65535', '-32769', '2147483647', '-2147483648', '4294967295', '1e15', '-1e15', '0.5', '-2.75', '1e300', '3.4e38'];
    const script: string[][] = [];
    for (let t = 0; t < 120; t++) {
      let fmt = '';
      const args: string[] = [];
      const n = 1 + rnd(6);
      for (let k = 0; k < n; k++) {
        const o = opts[rnd(opts.length)];
        fmt += o;
        if ('iIc!'.includes(o) && rnd(2) === 0) fmt += String(o === '!' ? [1, 2, 4, 8, 16][rnd(5)] : 1 + rnd(o === 'c' ? 6 : 12));
        if ('bBhHlLTiIfd'.includes(o)) args.push(`n:${nums[rnd(nums.length)]}`);
        else if (o === 'c' || o === 's') args.push(`s:${'abcdefgh'.slice(0, rnd(8))}`);
      }
      script.push(['EVAL', ROUND_TRIP, '0', fmt, ...args]);
    }
    const r = await d.expectSame(script, { flush: false });
    expect(r).toBeDefined();
  });

  it('struct is read-only like the other libraries', async () => {
    await d.expectSame([
      ['EVAL', 'struct.pack = nil return 1', '0'],
      ['EVAL', "return type(struct.pack) .. type(struct.unpack) .. type(struct.size)", '0'],
    ], { flush: false });
  });
});

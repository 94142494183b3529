// Forms of the propagated stream Redis 7.0 gives for commands whose effect is not their text
// (issue 9's rewrites), read from the captured stream: RESTORE with a relative TTL becomes the
// absolute time with ABSTTL; a RESTORE REPLACE of an already expired TTL is the old value's DEL;
// expired keys a SCAN passes are deleted one DEL each, not wrapped in MULTI/EXEC.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startShardis, type Server } from '../helpers/server';
import { RawClient, decodeAll, type Reply } from '../helpers/resp';

/** Typed views of replies (the test knows their shapes). */
const items = (r: Reply): Reply[] => (r as { v: Reply[] }).v;
const bytes = (r: Reply): Buffer => (r as { v: Buffer }).v;
const simple = (r: Reply): unknown => (r as { v: unknown }).v;

let srv: Server;
let dir: string;
let capture: string;
let c: RawClient;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shardis-forms-'));
  capture = path.join(dir, 'stream.resp');
  srv = await startShardis({ threads: 2, env: { SHARDIS_CAPTURE_STREAM: capture } });
  c = await RawClient.connect(srv.port);
});
afterAll(async () => {
  await c?.close();
  await srv?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The commands captured after `from` bytes, up to and including a marker SET; next offset. */
async function commandsSince(from: number): Promise<[string[][], number]> {
  const marker = `m${Date.now()}${Math.random()}`;
  await c.call('SET', 'marker', marker);
  for (let t = 0; t < 200; t++) {
    const data = fs.existsSync(capture) ? fs.readFileSync(capture) : Buffer.alloc(0);
    const needle = Buffer.from(`$${marker.length}\r\n${marker}\r\n`);
    const at = data.indexOf(needle, from);
    if (at >= 0) {
      const end = at + needle.length;
      const cmds = decodeAll(data.subarray(from, end)).map((r: Reply) => items(r).map((a) => bytes(a).toString('latin1')));
      return [cmds.filter((x) => x[0].toUpperCase() !== 'SELECT' && !(x[0] === 'SET' && x[1] === 'marker')), end];
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('marker never captured');
}

describe('propagated forms', () => {
  it('RESTORE with a relative TTL propagates the absolute time and ABSTTL', async () => {
    let [, at] = await commandsSince(0);
    await c.call('SET', 'src', 'value');
    const dump = bytes(await c.call('DUMP', 'src'));
    const before = Date.now();
    expect(simple(await c.call('RESTORE', 'dst', '100000', dump))).toBe('OK');
    let cmds: string[][];
    [cmds, at] = await commandsSince(at);
    const r = cmds.find((x) => x[0].toUpperCase() === 'RESTORE') as string[];
    expect(r[1]).toBe('dst');
    expect(Number(r[2])).toBeGreaterThanOrEqual(before + 100000);
    expect(Number(r[2])).toBeLessThan(Date.now() + 100000 + 1);
    expect(r[3]).toBe(dump.toString('latin1'));
    expect(r[r.length - 1]).toBe('ABSTTL');
    // An absolute TTL already in the past with REPLACE: only the old value's deletion happened.
    expect(simple(await c.call('RESTORE', 'dst', '1', dump, 'REPLACE', 'ABSTTL'))).toBe('OK');
    [cmds] = await commandsSince(at);
    expect(cmds.filter((x) => x[0].toUpperCase() !== 'SET')).toEqual([['DEL', 'dst']]);
  });

  it('redis.set_repl(): REPL_NONE keeps a script\'s effects out of the stream, REPL_AOF too with no AOF; REPL_ALL and REPL_REPLICA in it', async () => {
    let [, at] = await commandsSince(0);
    const script = `redis.call('set', 'sr:a', '1')
      redis.set_repl(redis.REPL_NONE)
      redis.call('set', 'sr:b', '2')
      redis.set_repl(redis.REPL_ALL)
      redis.call('set', 'sr:d', '4')
      return 1`;
    expect(simple(await c.call('EVAL', script, '0'))).toBe(1n);
    let cmds: string[][];
    [cmds, at] = await commandsSince(at);
    expect(cmds).toEqual([['MULTI'], ['set', 'sr:a', '1'], ['set', 'sr:d', '4'], ['EXEC']]);
    // The flags are the run's: the next script starts at REPL_ALL.
    expect(simple(await c.call('EVAL', "redis.call('set', 'sr:e', '5') return 1", '0'))).toBe(1n);
    [cmds, at] = await commandsSince(at);
    expect(cmds).toEqual([['set', 'sr:e', '5']]);
    // Only REPL_NONE: nothing of the run propagates.
    expect(simple(await c.call('EVAL', "redis.set_repl(redis.REPL_NONE) redis.call('set', 'sr:f', '6') return 1", '0'))).toBe(1n);
    [cmds, at] = await commandsSince(at);
    expect(cmds).toEqual([]);
    // With no AOF, the stream is the replicas': REPL_REPLICA in it, REPL_AOF not (still wrapped by
    // the run's count of effects, as Redis's propagatePendingCommands).
    expect(simple(await c.call('EVAL', "redis.set_repl(redis.REPL_REPLICA) redis.call('set', 'sr:g', '7') redis.set_repl(redis.REPL_AOF) redis.call('set', 'sr:h', '8') return 1", '0'))).toBe(1n);
    [cmds, at] = await commandsSince(at);
    expect(cmds).toEqual([['MULTI'], ['set', 'sr:g', '7'], ['EXEC']]);
    // The master keeps every write.
    expect(items(await c.call('MGET', 'sr:a', 'sr:b', 'sr:d', 'sr:e', 'sr:f', 'sr:g', 'sr:h')).map((r) => bytes(r).toString())).toEqual(['1', '2', '4', '5', '6', '7', '8']);
  });

  it('SCAN deletes the expired keys it passes, one DEL each, outside MULTI/EXEC', async () => {
    expect(simple(await c.call('DEBUG', 'SET-ACTIVE-EXPIRE', '0'))).toBe('OK');
    try {
      await c.call('FLUSHALL');
      await c.call('SET', 'foo1', 'bar', 'PX', '1');
      await c.call('SET', 'foo2', 'bar', 'PX', '1');
      await new Promise((r) => setTimeout(r, 5));
      let [, at] = await commandsSince(0);
      at = fs.statSync(capture).size;
      const reply = await c.call('SCAN', '0', 'COUNT', '1000');
      expect(items(items(reply)[1]).map((x) => bytes(x).toString()).filter((k) => k.startsWith('foo'))).toEqual([]);
      const [cmds] = await commandsSince(at);
      expect(cmds.map((x) => x.join(' ')).sort()).toEqual(['DEL foo1', 'DEL foo2']);
      expect(Number(simple(await c.call('DBSIZE')))).toBe(1); // the marker
    } finally {
      await c.call('DEBUG', 'SET-ACTIVE-EXPIRE', '1');
    }
  });
});

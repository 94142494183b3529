// The Lua debugger where shardis differs from redis-server (whose replies test/diff/ldb.test.ts
// compares): SCRIPT DEBUG YES runs as SYNC and says so first; a session blocks its own thread and
// the keys, not the server; a client that goes away, or a shutdown, ends the session's wait.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startShardis, type Server } from '../helpers/server';
import { RawClient, canon } from '../helpers/resp';
import { connectOnThreads } from '../helpers/threads';
import { until } from '../helpers/replication';

let srv: Server;
beforeAll(async () => {
  srv = await startShardis({ threads: 2 });
});
afterAll(async () => {
  await srv?.stop();
});

describe('SCRIPT DEBUG', () => {
  it('YES runs the session in sync mode, with a hint before anything runs', async () => {
    const c = await RawClient.connect(srv.port);
    expect(await c.call('SCRIPT', 'DEBUG', 'YES')).toEqual({ t: 'simple', v: 'OK' });
    const first = canon(await c.call('EVAL', "redis.call('set','yes-key','1')\nreturn 1", '0'));
    expect(first).toMatch(/^\*3\r\n\+<hint> shardis cannot fork\(\): this session runs as SCRIPT DEBUG SYNC does\. Dataset changes are retained/);
    expect(first).toContain('+* Stopped at 1, stop reason = step over\r\n');
    expect(canon(await c.call('c'))).toBe('*1\r\n+<endsession>\r\n');
    expect(await c.read()).toEqual({ t: 'int', v: 1n });
    await c.closed();
    const d = await RawClient.connect(srv.port);
    // Retained, as the hint said.
    expect(await d.call('GET', 'yes-key')).toEqual({ t: 'bulk', v: Buffer.from('1') });
    await d.close();
  });

  it('a session blocks the keys, not the server; a client that leaves ends it', async () => {
    const { on, all } = await connectOnThreads(srv.port, [2, 2]);
    const [dbg, sameThread] = on[0];
    const [other, reader] = on[1];
    await other.call('CONFIG', 'SET', 'busy-reply-threshold', '300');
    await other.call('SET', 'held', 'before');
    expect(await dbg.call('SCRIPT', 'DEBUG', 'SYNC')).toEqual({ t: 'simple', v: 'OK' });
    const stop = canon(await dbg.call('EVAL', "redis.call('set', KEYS[1], 'during')\nwhile true do end", '1', 'held'));
    expect(stop).toContain('* Stopped at 1');
    // Another thread answers what needs no key at once; a read of the script's key waits.
    expect(await other.call('PING')).toEqual({ t: 'simple', v: 'PONG' });
    const read = reader.call('GET', 'held');
    let readDone = false;
    void read.then(() => (readDone = true));
    await new Promise((r) => setTimeout(r, 200));
    expect(readDone).toBe(false);
    // The debugging client goes: the script runs on, and its loop is stopped once it has run
    // busy-reply-threshold without a client to stop at.
    await dbg.close();
    expect(await read).toEqual({ t: 'bulk', v: Buffer.from('during') });
    // The session's own thread serves again.
    expect(await sameThread.call('PING')).toEqual({ t: 'simple', v: 'PONG' });
    await other.call('CONFIG', 'SET', 'busy-reply-threshold', '5000');
    await Promise.all(all.map((c) => c.close()));
  });

  it('a shutdown (SIGTERM) does not wait for the debugging client', async () => {
    const s = await startShardis({ threads: 2 });
    const c = await RawClient.connect(s.port);
    await c.call('SCRIPT', 'DEBUG', 'SYNC');
    expect(canon(await c.call('EVAL', 'local x = 1\nreturn x', '0'))).toContain('* Stopped at 1');
    const t0 = Date.now();
    process.kill(s.pid, 'SIGTERM');
    // The session stops waiting (the script runs to its end, its end mark sent), then the
    // server exits cleanly. (The EVAL's own reply may be cut by the exit, as any reply in flight.)
    const rest = await c.readRaw(10_000, () => false);
    expect(rest.toString()).toMatch(/^\*1\r\n\+<endsession>\r\n/);
    await until('the server to exit', async () => {
      try {
        process.kill(s.pid, 0);
        return false;
      } catch {
        return true;
      }
    }, 10_000);
    expect(Date.now() - t0).toBeLessThan(8000);
    await c.close();
    await expect(s.stop()).rejects.toThrow(/had already exited \(code 0,/);
  });

  it('after a shutdown that failed, a new session waits for its client again', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shardis-ldb-'));
    const s = await startShardis({ threads: 1, args: ['--dir', dir, '--save', ''] });
    try {
      const c = await RawClient.connect(s.port);
      // The save SHUTDOWN asks for cannot open its file: the shutdown is cancelled.
      fs.rmSync(dir, { recursive: true });
      const r = await c.call('SHUTDOWN', 'SAVE');
      expect(r).toEqual({ t: 'error', v: 'ERR Errors trying to SHUTDOWN. Check logs.' });
      await c.call('SCRIPT', 'DEBUG', 'SYNC');
      expect(canon(await c.call('EVAL', 'local x = 1\nreturn x', '0'))).toContain('* Stopped at 1');
      // The session waits for a debugger command (it did not end at once, as during the shutdown).
      expect((await c.readRaw(300, () => false)).length).toBe(0);
      expect(canon(await c.call('c'))).toBe('*1\r\n+<endsession>\r\n');
      expect(await c.read()).toEqual({ t: 'int', v: 1n });
      await c.closed();
    } finally {
      await s.stop();
    }
  });
});

// Scripts across threads: atomic under concurrency (declared keys, undeclared keys, lock-all),
// never deadlocking; a busy script answers BUSY to everyone else and SCRIPT KILL stops it from
// any connection, whichever thread it lives on.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startShardis, type Server } from '../helpers/server';
import { RawClient, type Reply } from '../helpers/resp';
import { connectOnThreads } from '../helpers/threads';
import { info, until } from '../helpers/replication';
import { keySlot } from '../../src/store/crc16';

let srv: Server;
beforeAll(async () => {
  srv = await startShardis({ threads: 2 });
});
afterAll(async () => {
  await srv?.stop();
});

function int(r: Reply): number {
  if (r.t === 'int') return Number(r.v);
  if (r.t === 'bulk' && r.v !== null) return Number(r.v.toString());
  throw new Error(`not a number: ${JSON.stringify(r)}`);
}

// Read-modify-write in two steps: only atomic if the script is.
const INCR_BY_GET_SET = "local v = tonumber(redis.call('get', KEYS[1]) or '0'); redis.call('set', KEYS[1], v + 1); return v + 1";
const UNDECLARED = "local v = tonumber(redis.call('get', ARGV[1]) or '0'); redis.call('set', ARGV[1], v + 1); return v + 1";
// Moves one unit between two keys (one declared, one not): the sum must stay 0.
const TRANSFER = "redis.call('decr', KEYS[1]); redis.call('incr', ARGV[1]); return 1";

async function hammer(clients: RawClient[], rounds: number, cmd: (i: number) => string[]): Promise<void> {
  await Promise.all(clients.map(async (c, ci) => {
    for (let i = 0; i < rounds; i++) {
      const batch: Promise<Reply>[] = [];
      for (let j = 0; j < 20; j++) batch.push(c.call(...cmd(ci * 100000 + i * 20 + j)));
      for (const r of await Promise.all(batch)) if (r.t === 'error') throw new Error(r.v);
    }
  }));
}

describe('scripts are atomic across threads', () => {
  it('declared, undeclared and keyless scripts on shared keys lose no update and never deadlock', async () => {
    const clients = await Promise.all(Array.from({ length: 8 }, () => RawClient.connect(srv.port)));
    await clients[0].call('FLUSHALL');
    await hammer(clients, 10, (i) => {
      switch (i % 4) {
        case 0: return ['EVAL', INCR_BY_GET_SET, '1', 'counter'];
        case 1: return ['EVAL', UNDECLARED, '1', `{x}${i % 7}`, 'counter'];
        case 2: return ['EVAL', UNDECLARED, '0', 'counter'];
        default: return ['EVAL', TRANSFER, '1', `a${i % 5}`, `b${i % 3}`];
      }
    });
    // 8 clients x 10 rounds x 20 commands, a quarter of each kind touches counter.
    expect(int(await clients[0].call('GET', 'counter'))).toBe(8 * 10 * 20 * 3 / 4);
    let sum = 0;
    for (let k = 0; k < 5; k++) sum += int(await clients[0].call('EVAL', "return tonumber(redis.call('get', KEYS[1]) or '0')", '1', `a${k}`));
    for (let k = 0; k < 3; k++) sum += int(await clients[0].call('EVAL', "return tonumber(redis.call('get', KEYS[1]) or '0')", '1', `b${k}`));
    expect(sum).toBe(0);
    await Promise.all(clients.map((c) => c.close()));
  });

  // Scripts that declare no keys start holding no slot; one seen touching a single slot takes it
  // when it first needs it, one touching two runs with every slot locked. Either way atomic.
  it('keyless scripts (keys from ARGV) on one slot and on two stay atomic on both threads', async () => {
    const { on, all } = await connectOnThreads(srv.port, [3, 3]);
    await all[0].call('FLUSHALL');
    await all[0].call('SET', 'kl:a', '1000');
    await all[0].call('SET', 'kl:b', '0');
    expect(keySlot(Buffer.from('kl:a'))).not.toBe(keySlot(Buffer.from('kl:b')));
    const MOVE = "redis.call('decr', ARGV[1]); redis.call('incr', ARGV[2]); return 1";
    const SUM = "return tonumber(redis.call('get', ARGV[1])) + tonumber(redis.call('get', ARGV[2]))";
    const sums: number[] = [];
    const movers = [on[0][0], on[1][0]];
    const counters = [on[0][1], on[1][1]];
    const observers = [on[0][2], on[1][2]];
    await Promise.all([
      hammer(movers, 10, () => ['EVAL', MOVE, '0', 'kl:a', 'kl:b']),
      hammer(counters, 10, () => ['EVAL', UNDECLARED, '0', 'kl:n']),
      Promise.all(observers.map(async (c) => {
        for (let i = 0; i < 100; i++) sums.push(int(await c.call('EVAL', SUM, '0', 'kl:a', 'kl:b')));
      })),
    ]);
    expect(int(await all[0].call('GET', 'kl:n'))).toBe(2 * 10 * 20);
    expect(int(await all[0].call('GET', 'kl:b'))).toBe(2 * 10 * 20);
    expect(sums.length).toBe(200);
    expect(sums.every((s) => s === 1000)).toBe(true);
    await Promise.all(all.map((c) => c.close()));
  });

  it('a keyless script that publishes and then writes publishes once', async () => {
    const { on, all } = await connectOnThreads(srv.port, [1, 1]);
    const [[sub], [pub]] = on;
    expect(await sub.call('SUBSCRIBE', 'kl:ch')).toEqual(expect.objectContaining({ t: 'array' }));
    const script = "redis.call('publish', 'kl:ch', ARGV[2]); return redis.call('incr', ARGV[1])";
    for (let i = 0; i < 5; i++) expect(int(await pub.call('EVAL', script, '0', `kl:p${i}`, `m${i}`))).toBe(1);
    await pub.call('PING');
    const got: string[] = [];
    for (let i = 0; i < 5; i++) {
      const m = await sub.read();
      if (m.t !== 'array') throw new Error(`not a message: ${JSON.stringify(m)}`);
      got.push(String(((m.v as Reply[])[2] as { v: Buffer }).v));
    }
    expect(got).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    // Nothing more arrives: a re-run would have published a second copy.
    expect(await sub.call('PING')).toEqual(expect.objectContaining({ t: 'array' }));
    await Promise.all(all.map((c) => c.close()));
  });
});

describe('busy scripts', () => {
  it('answer BUSY to other clients and stop on SCRIPT KILL, from any connection', async () => {
    const admin = await RawClient.connect(srv.port);
    await admin.call('CONFIG', 'SET', 'busy-reply-threshold', '50');
    const runner = await RawClient.connect(srv.port);
    const running = runner.call('EVAL', 'local i = 0 while true do i = i + 1 end', '0');
    // Several connections: some share the script's thread, some do not; all must answer.
    const others = await Promise.all(Array.from({ length: 4 }, () => RawClient.connect(srv.port).catch(() => null)));
    for (let i = 0; i < 100; i++) {
      const p = await admin.call('PING');
      if (p.t === 'error') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    for (const o of others) {
      if (o === null) continue;
      const r = await o.call('PING');
      expect(r.t).toBe('error');
      if (r.t === 'error') expect(r.v).toMatch(/^BUSY Redis is busy running a script/);
    }
    const stats = await admin.call('FUNCTION', 'STATS');
    // running_script names the script and its command
    expect(stats.t).toBe('array');
    if (stats.t === 'array') expect(stats.v?.[1].t).toBe('array');
    expect(await admin.call('FUNCTION', 'KILL')).toEqual({ t: 'error', v: 'BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.' });
    expect(await admin.call('SCRIPT', 'KILL')).toEqual({ t: 'simple', v: 'OK' });
    const r = await running;
    expect(r.t).toBe('error');
    if (r.t === 'error') expect(r.v).toMatch(/^ERR Script killed by user with SCRIPT KILL\.\.\./);
    expect(await runner.call('PING')).toEqual({ t: 'simple', v: 'PONG' });
    for (const o of others) if (o !== null) expect(await o.call('PING')).toEqual({ t: 'simple', v: 'PONG' });
    expect(await admin.call('SCRIPT', 'KILL')).toEqual({ t: 'error', v: 'NOTBUSY No scripts in execution right now.' });
    await admin.call('CONFIG', 'SET', 'busy-reply-threshold', '5000');
    await Promise.all([admin, runner, ...others.filter((o): o is RawClient => o !== null)].map((c) => c.close()));
  });

  it('commands already waiting for the script\'s slot answer BUSY once it passes the threshold', async () => {
    // Clients of the other thread ask for the script's key before the threshold: GET, EVAL and
    // EXEC wait for its slot, then give up with BUSY, and their thread serves SCRIPT KILL.
    const admin = await RawClient.connect(srv.port);
    await admin.call('CONFIG', 'SET', 'busy-reply-threshold', '300');
    const { on, all: conns } = await connectOnThreads(srv.port, [1, 2]);
    const [[runner], [w, killer]] = on;
    // One waiter at a time: it is the first thing its thread does (a second would queue behind it).
    const waiters: (() => Promise<Reply>)[] = [
      () => w.call('GET', 'busy:k'),
      () => w.call('EVAL', "return redis.call('get', KEYS[1])", '1', 'busy:k'),
      async () => {
        await w.call('MULTI');
        await w.call('GET', 'busy:k');
        return w.call('EXEC');
      },
    ];
    for (const wait of waiters) {
      const running = runner.call('EVAL', 'local i = 0 while true do i = i + 1 end', '1', 'busy:k');
      await new Promise((r) => setTimeout(r, 50));
      const r = await wait();
      expect(r.t).toBe('error');
      if (r.t === 'error') expect(r.v).toMatch(/^(EXECABORT Transaction discarded because of: )?BUSY Redis is busy running a script/);
      expect(await killer.call('SCRIPT', 'KILL')).toEqual({ t: 'simple', v: 'OK' });
      expect((await running).t).toBe('error');
    }
    expect(await w.call('GET', 'busy:k')).toEqual({ t: 'bulk', v: null });
    await admin.call('CONFIG', 'SET', 'busy-reply-threshold', '5000');
    await Promise.all([admin, ...conns].map((c) => c.close()));
  });

  it('a busy script that wrote cannot be killed', async () => {
    const admin = await RawClient.connect(srv.port);
    await admin.call('CONFIG', 'SET', 'busy-reply-threshold', '50');
    const runner = await RawClient.connect(srv.port);
    const running = runner.call('EVAL', "redis.call('set', 'w', 1); local i = 0; while i < 3e7 do i = i + 1 end return 'done'", '0');
    // Wait until it is past the threshold (a loaded machine may take a while to get there).
    let k: Reply = { t: 'simple', v: '' };
    for (let i = 0; i < 100; i++) {
      await new Promise((r) => setTimeout(r, 50));
      k = await admin.call('SCRIPT', 'KILL');
      if (!(k.t === 'error' && k.v.startsWith('NOTBUSY'))) break;
    }
    expect(k.t).toBe('error');
    if (k.t === 'error') expect(k.v).toMatch(/^UNKILLABLE /);
    expect(await running).toEqual({ t: 'bulk', v: Buffer.from('done') });
    await admin.call('CONFIG', 'SET', 'busy-reply-threshold', '5000');
    await Promise.all([admin.close(), runner.close()]);
  });

  it('SHUTDOWN NOSAVE ends the server under a busy script that wrote and loops for ever', async () => {
    // Its thread never leaves Lua by itself: terminating it waited for ever, and the process
    // stayed up, listening, after "ready to exit" (Redis's scripting.tcl then timed out).
    const own = await startShardis({ threads: 2 });
    try {
      const admin = await RawClient.connect(own.port);
      await admin.call('CONFIG', 'SET', 'busy-reply-threshold', '10');
      const runner = await RawClient.connect(own.port);
      void runner.call('EVAL', "redis.call('set', 'w', 1); while true do end", '0').catch(() => undefined);
      let k: Reply = { t: 'simple', v: '' };
      for (let i = 0; i < 100; i++) {
        await new Promise((r) => setTimeout(r, 50));
        k = await admin.call('SCRIPT', 'KILL');
        if (!(k.t === 'error' && k.v.startsWith('NOTBUSY'))) break;
      }
      expect(k.t === 'error' && k.v.startsWith('UNKILLABLE')).toBe(true);
      void admin.call('SHUTDOWN', 'NOSAVE').catch(() => undefined);
      let alive = true;
      for (let i = 0; i < 100 && alive; i++) {
        await new Promise((r) => setTimeout(r, 50));
        try {
          process.kill(own.pid, 0);
        } catch {
          alive = false;
        }
      }
      expect(alive).toBe(false);
      await expect(RawClient.connect(own.port)).rejects.toThrow();
      admin.socket.destroy();
      runner.socket.destroy();
    } finally {
      await own.stop().catch(() => undefined);
    }
  });
});

describe('SHUTDOWN NOSAVE under a busy script of another thread', () => {
  it('a client that reconnects once its connection dropped is refused (every thread stops accepting first)', async () => {
    const own = await startShardis({ threads: 2 });
    try {
      const { on, all } = await connectOnThreads(own.port, [1, 1]);
      const [runner, admin] = [on[0][0], on[1][0]];
      await admin.call('CONFIG', 'SET', 'busy-reply-threshold', '10');
      void runner.call('EVAL', 'while true do end', '0').catch(() => undefined);
      for (let i = 0; i < 100; i++) {
        await new Promise((r) => setTimeout(r, 20));
        const k = await admin.call('PING');
        if (k.t === 'error' && k.v.startsWith('BUSY')) break;
      }
      void admin.call('SHUTDOWN', 'NOSAVE').catch(() => undefined);
      await admin.closed();
      // As scripting.tcl: right after, a new connection is refused, not served by a thread that
      // has not stopped yet.
      await expect(RawClient.connect(own.port)).rejects.toThrow(/ECONNREFUSED/);
      for (const c of all) c.socket.destroy();
    } finally {
      await own.stop().catch(() => undefined);
    }
  });
});

describe('tables the engine reads outside Lua', () => {
  // The C side read fields of returned and raised tables with metamethods: on a fresh server the
  // globals guard of _G raised outside any pcall and Lua's panic aborted the process.
  it('a fresh server returns _G and guarded tables without dying', async () => {
    const fresh = await startShardis({ threads: 2 });
    const c = await RawClient.connect(fresh.port);
    try {
      expect(await c.call('EVAL', 'return _G', '0')).toEqual({ t: 'array', v: [] });
      const guarded = await c.call('EVAL', "return setmetatable({1,2}, {__index=function() error('boom') end})", '0');
      expect(guarded.t).toBe('array');
      const raised = await c.call('EVAL', "error(setmetatable({}, {__index=function() error('boom') end}))", '0');
      expect(raised.t).toBe('error');
      expect(await c.call('PING')).toEqual({ t: 'simple', v: 'PONG' });
    } finally {
      await c.close();
      await fresh.stop();
    }
  });
});

describe('a script sees every thread', () => {
  // A script cannot wait for the other threads' answers as a command does: CLIENT LIST and INFO
  // inside one saw only the caller's thread, so Redis's "Timedout scripts and unblocked command"
  // (a script looping on CLIENT LIST until a client on another thread renames itself) never ended.
  it('CLIENT LIST and INFO inside a script include the other threads, even while the script is busy', async () => {
    const { on, all } = await connectOnThreads(srv.port, [2, 2]);
    const [[runner, watcher], [other, renamer]] = on;
    try {
      await other.call('CLIENT', 'SETNAME', 'onthread2');
      expect(await runner.call('DEBUG', 'SET-DISABLE-DENY-SCRIPTS', '1')).toEqual({ t: 'simple', v: 'OK' });
      const runnerId = await runner.call('CLIENT', 'ID');
      const list = await runner.call('EVAL', "return redis.call('client', 'list')", '0');
      expect(list.t).toBe('bulk');
      const lines = String((list as { v: Buffer }).v).split('\n');
      expect(lines.some((l) => l.includes(' name=onthread2 '))).toBe(true);
      // The caller shows the command it is running (Redis sets lastcmd before the call).
      expect(lines.find((l) => l.startsWith(`id=${runnerId.t === 'int' ? runnerId.v : -1} `))).toMatch(/ cmd=eval /);
      const connected = await runner.call('EVAL', "return redis.call('info', 'clients')", '0');
      expect(String((connected as { v: Buffer }).v)).toMatch(new RegExp(`connected_clients:${all.length}\\r\\n`));
      // Busy past lua-time-limit: a client on the other thread renames itself and ends the loop.
      await watcher.call('CONFIG', 'SET', 'lua-time-limit', '10');
      const looping = runner.call('EVAL', "while true do if string.find(redis.call('client','list'), 'abortscript') then return 1 end end", '0');
      await new Promise((r) => setTimeout(r, 200));
      expect(await watcher.call('PING')).toEqual(expect.objectContaining({ t: 'error', v: expect.stringMatching(/^BUSY/) as unknown }));
      expect(await renamer.call('HELLO', '2', 'SETNAME', 'abortscript')).toEqual(expect.objectContaining({ t: 'array' }));
      expect(await looping).toEqual({ t: 'int', v: 1n });
    } finally {
      await runner.call('DEBUG', 'SET-DISABLE-DENY-SCRIPTS', '0').catch(() => undefined);
      await runner.call('CONFIG', 'SET', 'lua-time-limit', '5000');
      for (const c of all) await c.close();
    }
  });
});

describe('a loop of slow calls', () => {
  // The busy threshold was looked at every 100000 Lua instructions only: a loop whose every
  // redis.call takes milliseconds (KEYS over many keys) ran for minutes before anyone got BUSY or
  // could SCRIPT KILL it.
  it('is busy past lua-time-limit and SCRIPT KILL stops it', async () => {
    const [runner, admin] = await Promise.all([RawClient.connect(srv.port), RawClient.connect(srv.port)]);
    try {
      await admin.call('FLUSHALL');
      await admin.call('DEBUG', 'POPULATE', '100000', 'slowloop:');
      await admin.call('CONFIG', 'SET', 'lua-time-limit', '50');
      const looping = runner.call('EVAL', "while true do redis.call('keys', 'nomatch*') end", '0');
      let busy: Reply = { t: 'simple', v: '' };
      const start = Date.now();
      while (Date.now() - start < 3000) {
        busy = await admin.call('PING');
        if (busy.t === 'error') break;
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(busy).toEqual({ t: 'error', v: 'BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.' });
      expect(await admin.call('SCRIPT', 'KILL')).toEqual({ t: 'simple', v: 'OK' });
      expect(await looping).toEqual(expect.objectContaining({ t: 'error', v: expect.stringMatching(/^ERR Script killed by user with SCRIPT KILL\.\.\. script: [0-9a-f]{40}, on @user_script:1\.$/) as unknown }));
      expect(Date.now() - start).toBeLessThan(5000);
      expect(await admin.call('PING')).toEqual({ t: 'simple', v: 'PONG' });
    } finally {
      await admin.call('CONFIG', 'SET', 'lua-time-limit', '5000');
      await admin.call('FLUSHALL');
      await runner.close();
      await admin.close();
    }
  });
});

describe('commands served while a script is busy', () => {
  // While blocking commands are in use, what one poll phase read runs at its end (arrival.ts):
  // a command read with the script's EVAL, behind it, is no longer in its socket when the script
  // serves the thread's other clients. It is served from where it was set aside.
  it('serve a command read in the same poll phase as the script, behind it', async () => {
    const { on, all } = await connectOnThreads(srv.port, [3]);
    const [runner, admin, sleeper] = on[0];
    try {
      await admin.call('CONFIG', 'SET', 'busy-reply-threshold', '50');
      // A blocking command turns arrival ordering on.
      await admin.call('BLPOP', 'nolist-arrival', '0.01');
      // The thread is kept busy while both arrive, so that one poll phase reads the two.
      const slept = sleeper.call('DEBUG', 'THREAD-SLEEP', '0.3');
      await new Promise((r) => setTimeout(r, 100));
      const looping = runner.call('EVAL', "local t = redis.call('time')[1] + 0; while redis.call('time')[1] + 0 < t + 1 do end return 1", '0');
      const got = await Promise.race([admin.call('PING'), new Promise<null>((r) => setTimeout(r, 5000, null))]);
      await slept;
      expect(await looping).toEqual({ t: 'int', v: 1n });
      expect(got).toEqual({ t: 'error', v: 'BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.' });
    } finally {
      await admin.call('CONFIG', 'SET', 'busy-reply-threshold', '5000');
      for (const c of all) await c.close();
    }
  }, 60_000);

  // Redis's "Timedout scripts and unblocked command": a command allowed while a script is busy
  // (HELLO), from a client of the script's own thread, served blocked clients that the script's
  // LPUSH had made ready: that needs the slot the script holds, so the thread waited for itself
  // for ever. Now the served client gets what the whole script left, after it.
  it('do not serve clients the script unblocked, on its own thread', async () => {
    const { on, all } = await connectOnThreads(srv.port, [4, 1]);
    const [runner, blocked, renamer, admin] = on[0];
    try {
      await admin.call('DEL', 'sbx');
      blocked.send('BLPOP', 'sbx', '0');
      await until('the BLPOP to block', async () => (await info(admin, 'clients')).blocked_clients === '1', 5000);
      await admin.call('DEBUG', 'SET-DISABLE-DENY-SCRIPTS', '1');
      await admin.call('CONFIG', 'SET', 'lua-time-limit', '10');
      const script = "redis.call('lpush', KEYS[1], 'y'); while not string.find(redis.call('client', 'list'), 'abortscript') do end; redis.call('lpush', KEYS[1], 'z'); return 1";
      const looping = runner.call('EVAL', script, '1', 'sbx');
      await new Promise((r) => setTimeout(r, 100));
      expect(await renamer.call('HELLO', '2', 'SETNAME', 'abortscript')).toEqual(expect.objectContaining({ t: 'array' }));
      expect(await looping).toEqual({ t: 'int', v: 1n });
      const popped = await blocked.read();
      expect(popped).toEqual({ t: 'array', v: [{ t: 'bulk', v: Buffer.from('sbx') }, { t: 'bulk', v: Buffer.from('z') }] });
    } finally {
      await admin.call('DEBUG', 'SET-DISABLE-DENY-SCRIPTS', '0').catch(() => undefined);
      await admin.call('CONFIG', 'SET', 'lua-time-limit', '5000').catch(() => undefined);
      for (const c of all) await c.close();
    }
  });
});

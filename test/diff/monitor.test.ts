// MONITOR against redis-server: the same lines (timestamps and client addresses aside) for
// commands from connections on every thread, secrets redacted, admin commands hidden, escapes as
// sdscatrepr writes them; RESET leaves monitor mode.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startPair, type Pair } from '../helpers/diff';
import { RawClient, show, items, text } from '../helpers/resp';

let d: Pair;
beforeAll(async () => {
  d = await startPair({ threads: 2 });
});
afterAll(async () => {
  await d?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The monitor's next n lines (or what came in 3 s), with the time and address masked. */
async function lines(mon: RawClient, n: number): Promise<string[]> {
  const raw = await mon.readRaw(3000, (b) => b.toString('latin1').split('\r\n').length > n);
  return raw
    .toString('latin1')
    .split('\r\n')
    .filter((l) => l !== '')
    .map((l) => l.replace(/^\+\d+\.\d{6} \[(\d+) (lua|[^\]]+)\]/, (_m, db: string, from: string) => `+T [${db} ${from === 'lua' ? 'lua' : 'ADDR'}]`));
}

describe('MONITOR', () => {
  it('shows every thread\'s commands as Redis does', async () => {
    const r = await d.each(async (_c, _side, port) => {
      const mon = await RawClient.connect(port);
      const cs = await Promise.all([0, 1, 2, 3].map(() => RawClient.connect(port)));
      try {
        const out = [show(await mon.call('MONITOR'))];
        // One at a time, each waiting for its reply: the lines come in this order on both servers.
        await cs[0].call('SET', 'k x', 'va"l\n\\');
        await cs[1].call('SELECT', '3');
        await cs[1].call('INCR', 'ctr');
        await cs[2].call('GET', Buffer.from([1, 0xff, 0x7f]));
        await cs[3].call('AUTH', 'user', 'secret');
        await cs[3].call('HELLO', '2', 'AUTH', 'default', 'secret');
        await cs[0].call('CONFIG', 'GET', 'maxmemory');
        await cs[0].call('DEBUG', 'SET-ACTIVE-EXPIRE', '1');
        await cs[2].call('MULTI');
        await cs[2].call('LPUSH', 'l', 'a');
        await cs[2].call('MONITOR');
        await cs[2].call('EXEC');
        await cs[1].call('ECHO', 'the end');
        // Lines of commands run on different threads may interleave differently than they ran
        // (they reach the monitor's thread by different paths): compared as a set.
        out.push(...(await lines(mon, 10)).sort());
        // Monitoring already: no second reply. RESET leaves monitor mode.
        mon.send('MONITOR');
        out.push(show(await mon.call('RESET')));
        await cs[0].call('SET', 'after', 'reset');
        out.push(show(await mon.call('PING')));
        return out;
      } finally {
        await Promise.all([mon, ...cs].map((x) => x.close()));
      }
    });
    expect(r.shardis).toEqual(r.redis);
    expect(r.shardis).toContain('+T [3 ADDR] "INCR" "ctr"');
    expect(r.shardis).toContain('+T [0 ADDR] "GET" "\\x01\\xff\\x7f"');
  });

  it('shows EVAL, EVALSHA and FCALL before the calls of their script, as [db lua]', async () => {
    const r = await d.each(async (_c, _side, port) => {
      const mon = await RawClient.connect(port);
      const c = await RawClient.connect(port);
      try {
        await c.call('FUNCTION', 'LOAD', 'REPLACE', "#!lua name=mon\nredis.register_function('monf', function(keys) return redis.call('incr', keys[1]) end)");
        const out = [show(await mon.call('MONITOR'))];
        await c.call('EVAL', "redis.call('set', KEYS[1], ARGV[1]); redis.call('select', 3); return redis.call('ping')", '1', 'mk', 'v');
        await c.call('EVALSHA', '0000000000000000000000000000000000000000', '0');
        await c.call('FCALL', 'monf', '1', 'mctr');
        await c.call('EVAL_RO', "return redis.call('get', KEYS[1])", '1', 'mk');
        await c.call('EVAL', "return redis.call('config', 'get', 'maxmemory')", '0');
        // The calls of one connection's scripts come in order: compared as they come.
        out.push(...(await lines(mon, 10)).map((l, i) => `${i} ${l}`));
        return out;
      } finally {
        await c.call('FUNCTION', 'DELETE', 'mon');
        await Promise.all([mon, c].map((x) => x.close()));
      }
    });
    expect(r.shardis).toEqual(r.redis);
    expect(r.shardis).toContain('2 +T [3 lua] "select" "3"');
    expect(r.shardis.length).toBe(11);
  });

  it('hides secrets in MONITOR and SLOWLOG as Redis does (AUTH, HELLO AUTH, MIGRATE AUTH/AUTH2, ACL SETUSER, CONFIG SET)', async () => {
    const r = await d.each(async (c, _side, port) => {
      const mon = await RawClient.connect(port);
      const x = await RawClient.connect(port);
      try {
        const slower = await c.call('CONFIG', 'GET', 'slowlog-log-slower-than');
        await c.call('CONFIG', 'SET', 'slowlog-log-slower-than', '0');
        await c.call('SLOWLOG', 'RESET');
        const out = [show(await mon.call('MONITOR'))];
        const cmds: string[][] = [
          ['MIGRATE', '127.0.0.1', '1', 'nokey', '9', '5000'],
          ['MIGRATE', '127.0.0.1', '1', 'nokey', '9', '5000', 'AUTH', 'pw1'],
          ['MIGRATE', '127.0.0.1', '1', 'nokey', '9', '5000', 'COPY', 'AUTH2', 'u2', 'pw2'],
          ['AUTH', 'not-real'],
          ['AUTH', 'not-real', 'not-a-password'],
          ['AUTH', 'a', 'b', 'c'],
          ['HELLO', '2', 'SETNAME', 'nm', 'AUTH', 'u3', 'pw3'],
          ['HELLO', '4', 'AUTH', 'u4', 'pw4'],
          ['ACL', 'SETUSER', 'redactme', 'on', '>pw5'],
          ['CONFIG', 'SET', 'masteruser', 'mu', 'maxmemory-samples', '5'],
          ['CONFIG', 'SET', 'masteruser'],
        ];
        for (const cmd of cmds) await x.call(...cmd);
        await x.call('CONFIG', 'SET', 'masteruser', '');
        await x.call('ACL', 'DELUSER', 'redactme');
        // One connection, one thread: the lines come in order. CONFIG and ACL are admin: not shown.
        out.push(...(await lines(mon, 8)).map((l, i) => `${i} ${l}`));
        const log = await c.call('SLOWLOG', 'GET', '100');
        await c.call('CONFIG', 'SET', 'slowlog-log-slower-than', text(items(slower)[1]));
        // Entries: id, time, duration, args, addr, name. Newest first; only the arguments compared.
        for (const e of items(log).reverse()) out.push(items(items(e)[3]).map(text).join(' '));
        return out;
      } finally {
        await Promise.all([mon, x].map((y) => y.close()));
      }
    });
    expect(r.shardis).toEqual(r.redis);
    expect(r.shardis).toContain('CONFIG SET masteruser (redacted) maxmemory-samples 5');
    expect(r.shardis).toContain('2 +T [0 ADDR] "MIGRATE" "127.0.0.1" "1" "nokey" "9" "5000" "COPY" "AUTH2" "(redacted)" "(redacted)"');
  });

  it('counts monitors across threads: none left after they go, CLIENT LIST flag O', async () => {
    const port = d.shardis.port;
    const mons = await Promise.all([0, 1, 2].map(() => RawClient.connect(port)));
    const c = await RawClient.connect(port);
    try {
      for (const m of mons) expect(show(await m.call('MONITOR'))).toBe(show({ t: 'simple', v: 'OK' }));
      const list = (await c.call('CLIENT', 'LIST')) as { v: Buffer };
      expect(list.v.toString().split('\n').filter((l) => / flags=O /.test(l)).length).toBe(3);
      await c.call('SET', 'seen', 'by all');
      for (const m of mons) expect((await lines(m, 1)).some((l) => l.endsWith('"SET" "seen" "by all"'))).toBe(true);
      await Promise.all(mons.map((m) => m.close()));
      await sleep(100);
      const info = (await c.call('CLIENT', 'LIST')) as { v: Buffer };
      expect(info.v.toString()).not.toContain('flags=O');
    } finally {
      await c.close();
    }
  });
});

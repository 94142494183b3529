// Connections' memory counts in used_memory (mem_clients_normal), and maxmemory-clients closes a
// client whose unread replies pass the limit (evicted_clients), as Redis 7.0's client eviction.
import { afterAll, describe, expect, it } from 'vitest';
import { startShardis, type Server } from '../helpers/server';
import { RawClient, text } from '../helpers/resp';
import { connectOnThreads } from '../helpers/threads';

const servers: Server[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

async function field(c: RawClient, section: string, name: string): Promise<number> {
  return Number(new RegExp(`${name}:(\\d+)`).exec(text(await c.call('INFO', section)))?.[1]);
}

describe('client memory', () => {
  it('unread replies count in mem_clients_normal; maxmemory-clients evicts the client', async () => {
    const s = await startShardis({ threads: 2, args: ['--save', '', '--maxmemory-clients', '4mb'] });
    servers.push(s);
    const admin = await RawClient.connect(s.port);
    await admin.call('SET', 'big', Buffer.alloc(100_000, 120));
    const base = await field(admin, 'memory', 'mem_clients_normal');
    const hog = await RawClient.connect(s.port);
    hog.socket.pause(); // never reads
    let closed = false;
    hog.socket.on('close', () => (closed = true));
    for (let i = 0; i < 400 && !closed; i++) {
      hog.send('GET', 'big');
      if (i % 20 === 19) await new Promise((r) => setTimeout(r, 50));
    }
    for (let i = 0; i < 100 && (await field(admin, 'stats', 'evicted_clients')) === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await field(admin, 'stats', 'evicted_clients')).toBe(1);
    expect(await field(admin, 'memory', 'mem_clients_normal')).toBeLessThan(base + 1024 * 1024);
    expect(text(await admin.call('PING'))).toBe('PONG');
    await admin.close();
    hog.socket.destroy();
  }, 60_000);

  it('a closed client leaves the totals at once, not at the next cron', async () => {
    // hz 1: the cron recounts once a second, the check below comes well before.
    const s = await startShardis({ threads: 2, args: ['--save', '', '--hz', '1'] });
    servers.push(s);
    const admin = await RawClient.connect(s.port);
    await admin.call('SET', 'big', Buffer.alloc(200_000, 120));
    const hog = await RawClient.connect(s.port);
    hog.socket.pause();
    for (let i = 0; i < 100; i++) hog.send('GET', 'big');
    let grown = 0;
    for (let i = 0; i < 100 && grown < 5_000_000; i++) {
      await new Promise((r) => setTimeout(r, 50));
      grown = await field(admin, 'memory', 'mem_clients_normal');
    }
    expect(grown).toBeGreaterThan(5_000_000);
    const closed = new Promise((r) => hog.socket.once('close', r));
    hog.socket.destroy();
    await closed;
    let after = grown;
    const t0 = Date.now();
    while (after > 1_000_000 && Date.now() - t0 < 2000) {
      await new Promise((r) => setTimeout(r, 20));
      after = await field(admin, 'memory', 'mem_clients_normal');
    }
    expect(after).toBeLessThan(1_000_000);
    expect(Date.now() - t0).toBeLessThan(700);
    await admin.close();
  }, 60_000);

  it('the arguments of an unfinished multibulk count (argv-mem); such a client is evicted before any key', async () => {
    const s = await startShardis({ threads: 2, args: ['--save', '', '--maxmemory', '64mb', '--maxmemory-policy', 'allkeys-lru', '--maxmemory-clients', '2mb'] });
    servers.push(s);
    const admin = await RawClient.connect(s.port);
    await admin.call('CLIENT', 'NO-EVICT', 'on');
    for (let i = 0; i < 50; i++) await admin.call('SETRANGE', `k${i}`, '100000', 'x');
    const dead: RawClient[] = [];
    const arg = Buffer.from(`$1000\r\n${'x'.repeat(1000)}\r\n`);
    for (let j = 0; j < 4; j++) {
      const c = await RawClient.connect(s.port);
      await c.call('CLIENT', 'SETNAME', `dead${j}`);
      dead.push(c);
      c.socket.write('*1000\r\n');
      for (let k = 0; k < 999; k++) c.socket.write(arg);
    }
    // One dead client alone: argv-mem shows its arguments, tot-mem counts them.
    await new Promise((r) => setTimeout(r, 300));
    let evicted = await field(admin, 'stats', 'evicted_clients');
    for (let i = 0; i < 100 && evicted === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      evicted = await field(admin, 'stats', 'evicted_clients');
    }
    expect(evicted).toBeGreaterThan(0);
    expect(await field(admin, 'stats', 'evicted_keys')).toBe(0);
    expect(Number(text(await admin.call('DBSIZE')))).toBe(50);
    const survivors = text(await admin.call('CLIENT', 'LIST')).split('\n').filter((l) => / name=dead/.test(l));
    // 4 clients of ~1 MB against a 2 MB limit: some go, at least one stays.
    expect(survivors.length).toBeGreaterThan(0);
    expect(survivors.length).toBeLessThan(4);
    for (const line of survivors) {
      const argvMem = Number(/argv-mem=(\d+)/.exec(line)?.[1]);
      expect(argvMem).toBeGreaterThan(900_000);
      expect(Number(/tot-mem=(\d+)/.exec(line)?.[1])).toBeGreaterThan(argvMem);
    }
    for (const c of dead) c.socket.destroy();
    await admin.close();
  }, 60_000);
  it('a big argument counts whole once its length is read (qbuf-free): a command over maxmemory-clients is evicted before it runs', async () => {
    const s = await startShardis({ threads: 2, args: ['--save', '', '--maxmemory-clients', '3000000'] });
    servers.push(s);
    const admin = await RawClient.connect(s.port);
    // Half of an argument of 1 MB: the rest of it is allocated already.
    const half = await RawClient.connect(s.port);
    await half.call('CLIENT', 'SETNAME', 'half');
    half.socket.write(`*2\r\n$3\r\nGET\r\n$1000000\r\n${'v'.repeat(500_000)}`);
    let line = '';
    for (let i = 0; i < 100 && !/qbuf=500000 /.test(line); i++) {
      await new Promise((r) => setTimeout(r, 20));
      line = text(await admin.call('CLIENT', 'LIST')).split('\n').find((l) => / name=half /.test(l)) ?? '';
    }
    expect(line).toMatch(/ qbuf=500000 qbuf-free=500002 /);
    expect(Number(/tot-mem=(\d+)/.exec(line)?.[1])).toBeGreaterThan(1_000_000);
    half.socket.destroy();
    // As Redis's "client evicted due to large argv": 1 MB fits, 3 MB does not.
    const c = await RawClient.connect(s.port);
    await c.call('CLIENT', 'SETNAME', 'big');
    expect(text(await c.call('MSET', 'k', 'v', 'k2', 'v'.repeat(1_000_000)))).toBe('OK');
    let closed = false;
    c.socket.on('close', () => (closed = true));
    c.socket.on('error', () => {});
    c.socket.write(`*5\r\n$4\r\nMSET\r\n$1\r\nk\r\n$1\r\nx\r\n$2\r\nk2\r\n$3000000\r\n${'v'.repeat(3_000_000)}\r\n`);
    for (let i = 0; i < 100 && !closed; i++) await new Promise((r) => setTimeout(r, 20));
    expect(closed).toBe(true);
    expect(await field(admin, 'stats', 'evicted_clients')).toBe(1);
    expect(text(await admin.call('CLIENT', 'LIST'))).not.toMatch(/ name=big /);
    // The command never ran.
    expect(text(await admin.call('GET', 'k'))).toBe('v');
    await admin.close();
  }, 60_000);
  it('WATCHed keys, subscriptions and BCAST prefixes count in tot-mem: a client adding them past maxmemory-clients is evicted', async () => {
    const s = await startShardis({ threads: 2, args: ['--save', '', '--maxmemory-clients', '200000'] });
    servers.push(s);
    const admin = await RawClient.connect(s.port);
    await admin.call('CLIENT', 'NO-EVICT', 'on');
    const adders: Array<(n: number) => string[]> = [
      ...['WATCH', 'SUBSCRIBE', 'PSUBSCRIBE', 'SSUBSCRIBE'].map((cmd) => (n: number) => [cmd, `${cmd.toLowerCase()}:${n}`]),
      (n: number) => ['CLIENT', 'TRACKING', 'on', 'PREFIX', String(n).padStart(12, '0'), 'BCAST'],
    ];
    for (const add of adders) {
      const c = await RawClient.connect(s.port);
      let closed = false;
      c.socket.on('close', () => (closed = true));
      c.socket.on('error', () => {});
      let n = 0;
      // One at a time, as Redis's test: ~200 KB at 56+ bytes a key, 24-44 a subscription or prefix.
      for (; n < 20_000 && !closed; n++) await c.call(...add(n)).catch(() => undefined);
      expect(closed).toBe(true);
      expect(n).toBeGreaterThan(1000);
      await c.close().catch(() => undefined);
    }
    expect(await field(admin, 'stats', 'evicted_clients')).toBe(5);
    await admin.close();
  }, 120_000);

  it('a client redirected BCAST invalidations past maxmemory-clients is gone before the write that grew it is answered', async () => {
    // Redis's "client evicted due to tracking redirection": no CLIENT LIST may show the client over
    // the limit. All three on one thread, where the pushes went out after the write's reply and the
    // eviction they called for waited for the next turn, after a CLIENT LIST read meanwhile.
    const limit = 3_000_000;
    const s = await startShardis({ threads: 2, args: ['--save', '', '--maxmemory-clients', String(limit), '--enable-debug-command', 'yes'] });
    servers.push(s);
    const { on, all } = await connectOnThreads(s.port, [3]);
    const [writer, admin, redirected] = on[0];
    await admin.call('CLIENT', 'NO-EVICT', 'on');
    await redirected.call('CLIENT', 'SETNAME', 'redirected_client');
    const id = text(await redirected.call('CLIENT', 'ID'));
    await redirected.call('SUBSCRIBE', '__redis__:invalidate');
    redirected.socket.pause(); // never reads: the pushes pile up in its output
    redirected.socket.on('error', () => {});
    expect(text(await writer.call('CLIENT', 'TRACKING', 'on', 'REDIRECT', id, 'BCAST'))).toBe('OK');
    // As Redis's test: a script dirties the long key; the cron cannot evict meanwhile.
    const sha = text(await writer.call('SCRIPT', 'LOAD', `redis.call('incr', '${'k'.repeat(200 * 1024)}')`));
    await admin.call('DEBUG', 'PAUSE-CRON', '1');
    let gone = false;
    let writes = 0;
    for (; writes < 200 && !gone; writes++) {
      const list = text(await admin.call('CLIENT', 'LIST'));
      const line = list.split('\n').find((l) => l.includes('name=redirected_client '));
      if (line === undefined) gone = true;
      else {
        expect(Number(/tot-mem=(\d+)/.exec(line)?.[1])).toBeLessThan(limit);
        await writer.call('EVALSHA', sha, '0');
      }
    }
    expect(gone).toBe(true);
    expect(writes).toBeGreaterThan(5);
    expect(await field(admin, 'stats', 'evicted_clients')).toBe(1);
    await admin.call('DEBUG', 'PAUSE-CRON', '0');
    for (const c of all) if (c !== redirected) await c.close().catch(() => undefined);
    redirected.socket.destroy();
  }, 60_000);

  it("client eviction takes the largest client first, whichever thread holds it", async () => {
    const s = await startShardis({ threads: 2, args: ['--save', '', '--enable-debug-command', 'yes'] });
    servers.push(s);
    const admin = await RawClient.connect(s.port);
    await admin.call('CLIENT', 'NO-EVICT', 'on');
    /** A connection that answers while `busy`'s thread sleeps: on the other thread. */
    const beside = async (busy: RawClient): Promise<RawClient> => {
      for (let attempt = 0; attempt < 20; attempt++) {
        const sleeping = busy.call('DEBUG', 'THREAD-SLEEP', '0.3');
        await new Promise((r) => setTimeout(r, 50));
        const c = await RawClient.connect(s.port);
        const first = await Promise.race([c.call('PING').then(() => true), sleeping.then(() => false)]);
        await sleeping;
        if (first) return c;
        await c.close();
      }
      throw new Error('could not place a client on the other thread');
    };
    const big = await beside(admin);
    const stall = await beside(admin);
    const smalls: RawClient[] = [];
    for (let i = 0; i < 4; i++) smalls.push(await beside(big));
    const partial = (c: RawClient, name: string, n: number): Promise<unknown> =>
      c.call('CLIENT', 'SETNAME', name).then(() => c.socket.write(`*2\r\n$3\r\nGET\r\n$${n}\r\n${'v'.repeat(n >> 1)}`));
    await partial(big, 'big', 1_000_000);
    for (let i = 0; i < smalls.length; i++) await partial(smalls[i], `small${i}`, 200_000);
    const list = async (): Promise<string[]> => text(await admin.call('CLIENT', 'LIST')).split('\n').filter((l) => / name=(big|small)/.test(l));
    for (let i = 0; i < 100 && (await list()).some((l) => / qbuf=0 /.test(l)); i++) await new Promise((r) => setTimeout(r, 20));
    const total = (await list()).reduce((n, l) => n + Number(/tot-mem=(\d+)/.exec(l)?.[1]), 0) + Number(/tot-mem=(\d+)/.exec(text(await admin.call('CLIENT', 'INFO')))?.[1]);
    // Under the total by less than the big client holds: evicting it alone is enough. The
    // smaller ones share the admin's thread, which applies the limit first; the big one's thread
    // is stalled meanwhile, so that one decides alone for a while (its cron included).
    const stalled = stall.call('DEBUG', 'THREAD-SLEEP', '0.5');
    await new Promise((r) => setTimeout(r, 50));
    await admin.call('CONFIG', 'SET', 'maxmemory-clients', String(total - 300_000));
    await stalled;
    for (let i = 0; i < 100 && (await list()).some((l) => / name=big /.test(l)); i++) await new Promise((r) => setTimeout(r, 20));
    const left = (await list()).map((l) => / name=(\w+)/.exec(l)?.[1]).sort();
    expect(left).toEqual(['small0', 'small1', 'small2', 'small3']);
    expect(await field(admin, 'stats', 'evicted_clients')).toBe(1);
    for (const c of [big, ...smalls]) c.socket.destroy();
    await stall.close();
    await admin.close();
  }, 60_000);

  it('CONFIG SET of lower limits evicts, before each reply, the largest clients of both threads and no others (10 trials)', async () => {
    // Redis's "evict clients in right order (large to small)": three clients each of 128 KB, 1 MB
    // and 3 MB (unfinished arguments), then limits that leave room for the smaller sizes only,
    // read back at once. It failed about 1 trial in 5 here when the admin's thread evicted before
    // the other thread had recounted its clients, or counted the CONFIG SET's own bytes.
    const s = await startShardis({ threads: 2, args: ['--save', ''] });
    servers.push(s);
    const sizes = [128 * 1024, 1024 * 1024, 3 * 1024 * 1024];
    const wrong: string[] = [];
    for (let trial = 0; trial < 10; trial++) {
      const admin = await RawClient.connect(s.port);
      await admin.call('CLIENT', 'SETNAME', 'control');
      await admin.call('CLIENT', 'NO-EVICT', 'on');
      await admin.call('CONFIG', 'SET', 'maxmemory-clients', '0');
      const lines = async (): Promise<string[]> => text(await admin.call('CLIENT', 'LIST')).split('\n');
      const totMem = (l: string | undefined): number => Number(/tot-mem=(\d+)/.exec(l ?? '')?.[1]);
      const clients: RawClient[] = [];
      const measured: number[] = [];
      for (let i = 0; i < sizes.length; i++) {
        for (let j = 0; j < 3; j++) {
          const c = await RawClient.connect(s.port);
          clients.push(c);
          await c.call('CLIENT', 'SETNAME', `client-${i}`);
          await new Promise<void>((r) => c.socket.write(`*2\r\n$${sizes[i]}\r\n${'v'.repeat(sizes[i])}`, () => r()));
        }
        let m = 0;
        for (let k = 0; k < 200 && m < sizes[i]; k++) {
          m = totMem((await lines()).find((l) => l.includes(` name=client-${i} `)));
          if (m < sizes[i]) await new Promise((r) => setTimeout(r, 5));
        }
        measured.push(m);
      }
      let total = measured.reduce((n, m) => n + 3 * m, 0);
      for (let i = sizes.length - 1; i >= 0; i--) {
        const control = totMem((await lines()).find((l) => l.includes(' name=control ')));
        total -= 3 * measured[i];
        await admin.call('CONFIG', 'SET', 'maxmemory-clients', String(total + control));
        const now = await lines();
        for (let k = 0; k < sizes.length; k++) {
          const n = now.filter((l) => l.includes(` name=client-${k} `)).length;
          if (n !== (k < i ? 3 : 0)) wrong.push(`trial ${trial}, limit for sizes below ${i}: ${n} of client-${k}`);
        }
      }
      await admin.call('CONFIG', 'SET', 'maxmemory-clients', '0');
      for (const c of clients) c.socket.destroy();
      await admin.close();
    }
    expect(wrong).toEqual([]);
  }, 120_000);
});

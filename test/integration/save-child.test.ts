// The stand-in for a save's fork child (src/persistence/child.ts). Operators and Redis's own tests
// act on Redis's child: they find it as the server's child process, see temp files named by its
// pid, kill -9 it to stop a save, and count on it going away with the server. Here, against a real
// shardis: a killed child ends BGSAVE and BGREWRITEAOF as Redis's does (status err, temp file
// gone, nothing stored lost, the next save works), a finished save leaves no child behind, and
// kill -9 of the server takes the child with it.
import { afterEach, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Redis from 'ioredis';
import { startShardis, againstRedis, type Server } from '../helpers/server';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const client = (port: number): Redis => new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0, retryStrategy: () => null });

/** Live (not zombie) child processes of pid, from /proc (no procps needed). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const st = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
      if (Number(f[1]) === pid && f[0] !== 'Z') out.push(Number(e));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return st.slice(st.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

const info = async (r: Redis, field: string): Promise<string> =>
  new RegExp(`^${field}:(.*)\\r?$`, 'm').exec(String(await r.info('persistence')))?.[1]?.trim() ?? '';

describe.skipIf(againstRedis())('a save\'s stand-in child', () => {
  let srv: Server | null = null;
  let r: Redis | null = null;
  let dir = '';
  afterEach(async () => {
    r?.disconnect();
    r = null;
    await srv?.stop();
    srv = null;
    if (dir !== '') fs.rmSync(dir, { recursive: true, force: true });
    dir = '';
  });

  async function start(extra: string[] = []): Promise<Redis> {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shardis-child-'));
    srv = await startShardis({ threads: 2, args: ['--dir', dir, '--save', '', '--logfile', 'log', ...extra] });
    r = client(srv.port);
    return r;
  }
  const log = (): string => fs.readFileSync(path.join(dir, 'log'), 'utf8');

  /** A BGSAVE of 2000 keys held up by rdb-key-save-delay (us a key), and its child's pid. */
  async function slowBgsave(delayUs: number): Promise<{ c: Redis; s: Server; pid: number }> {
    const c = await start();
    const s = srv as Server;
    await c.call('DEBUG', 'POPULATE', '2000');
    await c.config('SET', 'rdb-key-save-delay', String(delayUs));
    expect(await c.bgsave()).toBe('Background saving started');
    await until('the child', () => childrenOf(s.pid).length === 1);
    return { c, s, pid: childrenOf(s.pid)[0] };
  }

  it('BGSAVE: kill -9 of its child fails the save as Redis does, and nothing is lost', async () => {
    // A save rule, so a failed BGSAVE refuses writes (stop-writes-on-bgsave-error) as Redis's.
    const c = await start(['--save', '3600 1']);
    const s = srv as Server;
    await c.call('DEBUG', 'POPULATE', '2000');
    await c.save();
    const before = fs.readFileSync(path.join(dir, 'dump.rdb'));
    await c.set('after', 'v');
    await c.config('SET', 'rdb-key-save-delay', '2000');
    expect(await c.bgsave()).toBe('Background saving started');
    await until('the child', () => childrenOf(s.pid).length === 1);
    const [pid] = childrenOf(s.pid);
    expect(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]).toBe('shardis-rdb-bgsave');
    // The temp file is named by the child's pid, as Redis's child names it.
    await until('temp file', () => fs.existsSync(path.join(dir, `temp-${pid}.rdb`)));
    expect(log()).toContain(`Background saving started by pid ${pid}`);
    process.kill(pid, 'SIGKILL');
    await until('the save to end', async () => (await info(c, 'rdb_bgsave_in_progress')) === '0');
    expect(await info(c, 'rdb_last_bgsave_status')).toBe('err');
    expect(log()).toContain('Background saving terminated by signal 9');
    expect(fs.existsSync(path.join(dir, `temp-${pid}.rdb`))).toBe(false);
    // The last good file stands; the data is all there; writes are refused as after a failed
    // BGSAVE (stop-writes-on-bgsave-error) until a save succeeds.
    expect(fs.readFileSync(path.join(dir, 'dump.rdb')).equals(before)).toBe(true);
    expect(await c.dbsize()).toBe(2001);
    await expect(c.set('x', '1')).rejects.toThrow(/^MISCONF/);
    // Scripts too, at their write redis.call (scriptVerifyWriteCommandAllow); reads still go.
    await expect(c.eval("return redis.call('set', KEYS[1], '1')", 1, 'x')).rejects.toThrow(/^MISCONF/);
    expect(await c.eval("return redis.call('get', KEYS[1])", 1, 'after')).toBe('v');
    await c.config('SET', 'rdb-key-save-delay', '0');
    await c.bgsave();
    await until('the second save', async () => (await info(c, 'rdb_last_bgsave_status')) === 'ok' && (await info(c, 'rdb_bgsave_in_progress')) === '0');
    // A finished save's child is gone (stopped and reaped: no zombie either).
    await until('no child', () => childrenOf(s.pid).length === 0 && !fs.existsSync(`/proc/${pid}`));
    expect(await c.set('x', '1')).toBe('OK');
  });

  it('BGREWRITEAOF: kill -9 of its child fails the rewrite, its temp files go, the AOF still loads', async () => {
    const c = await start(['--appendonly', 'yes']);
    const s = srv as Server;
    // Written by commands (DEBUG POPULATE is not propagated to the AOF, in Redis either).
    const p = c.pipeline();
    for (let i = 0; i < 2000; i++) p.set(`key:${i}`, `value:${i}`);
    await p.exec();
    await c.config('SET', 'rdb-key-save-delay', '2000');
    await c.bgrewriteaof();
    await until('the child', () => childrenOf(s.pid).length === 1);
    const [pid] = childrenOf(s.pid);
    expect(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]).toBe('shardis-aof-rewrite');
    expect(log()).toContain(`Background append only file rewriting started by pid ${pid}`);
    await c.set('during', 'v');
    process.kill(pid, 'SIGKILL');
    await until('the rewrite to end', async () => (await info(c, 'aof_rewrite_in_progress')) === '0');
    expect(await info(c, 'aof_last_bgrewrite_status')).toBe('err');
    expect(log()).toContain('Background AOF rewrite terminated by signal 9');
    const temps = [...fs.readdirSync(dir), ...fs.readdirSync(path.join(dir, 'appendonlydir'))].filter((f) => f.startsWith('temp-'));
    expect(temps).toEqual([]);
    // A failed rewrite leaves the INCR file it opened in the manifest, as Redis's (which opens it
    // before it forks), even when its child is killed at once.
    const manifest = (): string => fs.readFileSync(path.join(dir, 'appendonlydir', 'appendonly.aof.manifest'), 'utf8');
    expect(manifest()).toContain('file appendonly.aof.2.incr.aof seq 2 type i');
    await c.bgrewriteaof();
    await until('the second child', () => childrenOf(s.pid).length === 1);
    process.kill(childrenOf(s.pid)[0], 'SIGKILL');
    await until('the second rewrite to end', async () => (await info(c, 'aof_rewrite_in_progress')) === '0');
    expect(manifest()).toContain('file appendonly.aof.3.incr.aof seq 3 type i');
    // What was acknowledged is in the AOF: a reload from it gives the same dataset.
    const digest = await c.call('DEBUG', 'DIGEST');
    expect(await c.call('DEBUG', 'LOADAOF')).toBe('OK');
    expect(await c.call('DEBUG', 'DIGEST')).toBe(digest);
    expect(await c.get('during')).toBe('v');
    await c.config('SET', 'rdb-key-save-delay', '0');
    await c.bgrewriteaof();
    await until('a good rewrite', async () => (await info(c, 'aof_last_bgrewrite_status')) === 'ok' && (await info(c, 'aof_rewrite_in_progress')) === '0');
    await until('no child', () => childrenOf(s.pid).length === 0);
  });

  it('FLUSHALL kills a running BGSAVE as Redis\'s killRDBChild (signal 10: not an error, no file)', async () => {
    const { c, s } = await slowBgsave(2000);
    expect(await c.flushall()).toBe('OK');
    await until('the save to end', async () => (await info(c, 'rdb_bgsave_in_progress')) === '0');
    expect(log()).toContain('Background saving terminated by signal 10');
    expect(await info(c, 'rdb_last_bgsave_status')).toBe('ok');
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.rdb'))).toEqual([]);
    await until('no child', () => childrenOf(s.pid).length === 0);
  });

  it('SHUTDOWN kills a running BGSAVE (its temp file goes) and saves afresh, as prepareForShutdown', async () => {
    // 100 ms a key: this BGSAVE alone would take minutes.
    const { c, s, pid } = await slowBgsave(100000);
    await until('its temp file', () => fs.existsSync(path.join(dir, `temp-${pid}.rdb`)));
    await c.config('SET', 'rdb-key-save-delay', '0');
    await c.call('SHUTDOWN', 'SAVE').catch(() => undefined);
    await until('the server to exit', () => !alive(s.pid), 15_000);
    srv = null;
    await s.stop().catch(() => undefined);
    expect(log()).toContain('There is a child saving an .rdb. Killing it!');
    expect(alive(pid)).toBe(false);
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('temp-'))).toEqual([]);
    expect(fs.existsSync(path.join(dir, 'dump.rdb'))).toBe(true);
  });

  it('the child exits when the server is killed', async () => {
    const { s, pid } = await slowBgsave(100000);
    process.kill(s.pid, 'SIGKILL');
    await until('the child to exit', () => !alive(pid));
    srv = null;
    // Already dead: the helper's stop only cleans up (and reports the death as an error).
    await s.stop().catch(() => undefined);
  });
});

// Sentinel (issue 12): three stock sentinels (redis-server --sentinel) watch a shardis master with
// two shardis replicas. The master is killed with -9 under a write load; the sentinels promote a
// replica, the other follows it, every write acknowledged by WAIT 1 is on the new master, clients
// that ask sentinel find it (ioredis), and the old master, restarted, is turned into its replica.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Redis from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, SHARDIS_CLI, startShardis, type Server } from '../helpers/server';
import { RawClient, type Reply } from '../helpers/resp';
import { text, until } from '../helpers/replication';

const REDIS_SERVER = process.env.REDIS_SERVER || 'redis-server';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shardis-sentinel-'));
const servers: Server[] = [];
const children: ChildProcess[] = [];
const clients: RawClient[] = [];

afterAll(async () => {
  for (const c of clients) await c.close().catch(() => {});
  for (const ch of children) ch.kill('SIGKILL');
  for (const s of servers) await s.stop().catch(() => {});
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A sentinel watching `mymaster` at 127.0.0.1:masterPort (quorum 2, down after 1 s). */
async function startSentinel(masterPort: number): Promise<number> {
  // A port free a moment ago can be taken by another test file's server before the sentinel binds
  // it: the sentinel then exits, and that server would answer in its place. Only a port where
  // INFO names this child's pid is taken as the sentinel's.
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const conf = path.join(dir, `sentinel-${port}.conf`);
    fs.writeFileSync(conf, [
      `port ${port}`, 'bind 127.0.0.1', `dir ${dir}`,
      `sentinel monitor mymaster 127.0.0.1 ${masterPort} 2`,
      'sentinel down-after-milliseconds mymaster 1000',
      'sentinel failover-timeout mymaster 10000',
      'sentinel parallel-syncs mymaster 2', '',
    ].join('\n'));
    const ch = spawn(REDIS_SERVER, [conf, '--sentinel', '--logfile', path.join(dir, `sentinel-${port}.log`)], { stdio: 'ignore' });
    children.push(ch);
    let exited = false;
    ch.once('exit', () => (exited = true));
    await until(`sentinel on ${port}`, async () => {
      if (exited) return true;
      try {
        return text(await ask(port, 'INFO', 'server')).includes(`\r\nprocess_id:${ch.pid}\r\n`);
      } catch {
        return false;
      }
    });
    if (!exited) return port;
    if (attempt >= 3) throw new Error(`the sentinel on ${port} exited (port taken?)`);
  }
}

const int = (r: Reply): number => (r.t === 'int' ? Number(r.v) : -1);

/** One command on a fresh connection: sentinels send CLIENT KILL TYPE normal at each role change. */
async function ask(port: number, ...args: string[]): Promise<Reply> {
  // Sentinel ends a promotion with CLIENT KILL TYPE normal, which may come after the role reads
  // master: a connection it closes is asked again (the commands here only read).
  for (let attempt = 0; ; attempt++) {
    const c = await RawClient.connect(port);
    try {
      return await c.call(...args);
    } catch (e) {
      if (attempt >= 3 || !/connection closed/.test((e as Error).message)) throw e;
    } finally {
      await c.close().catch(() => {});
    }
  }
}

/** INFO replication as fields, asked as ask() does (a sentinel's CLIENT KILL may close it). */
async function replication(port: number): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const l of text(await ask(port, 'INFO', 'replication')).split('\r\n')) {
    const i = l.indexOf(':');
    if (i > 0) out[l.slice(0, i)] = l.slice(i + 1);
  }
  return out;
}

describe('redis-sentinel with shardis', () => {
  it('fails over when the master is killed under load, keeping every write WAIT acknowledged', async () => {
    const opts = ['--save', '', '--repl-diskless-sync-delay', '0'];
    const master = await startShardis({ threads: 2, args: opts });
    servers.push(master);
    for (let i = 0; i < 2; i++) {
      servers.push(await startShardis({ threads: 2, args: [...opts, '--replicaof', '127.0.0.1', String(master.port)] }));
    }
    const sentinels = [await startSentinel(master.port), await startSentinel(master.port), await startSentinel(master.port)];
    const s0 = await RawClient.connect(sentinels[0]);
    clients.push(s0);
    await until('the sentinels to see two replicas and each other', async () => {
      const r = await s0.call('SENTINEL', 'MASTER', 'mymaster');
      if (r.t !== 'array' || !r.v) return false;
      const f = new Map<string, string>();
      for (let i = 0; i + 1 < r.v.length; i += 2) f.set(text(r.v[i]), text(r.v[i + 1]));
      return f.get('num-slaves') === '2' && f.get('num-other-sentinels') === '2';
    }, 30000);

    // Load: four writers INCR their counter; every 20th write waits for one replica (WAIT 1) and
    // remembers the value so acknowledged. Killing the master ends them.
    const waited = [0, 0, 0, 0];
    let writes = 0;
    const writers = waited.map(async (_, k) => {
      const c = await RawClient.connect(master.port);
      try {
        for (let i = 1; ; i++) {
          const v = int(await c.call('INCR', `count:{${k}}`));
          await c.call('RPUSH', `seq:{${k}}`, String(v));
          writes++;
          if (i % 20 === 0 && int(await c.call('WAIT', '1', '1000')) >= 1) waited[k] = v;
        }
      } catch {
        /* the master is gone */
      } finally {
        c.close().catch(() => {});
      }
    });
    await until('some acknowledged writes', async () => waited.every((v) => v >= 40));
    process.kill(master.pid, 'SIGKILL');
    await Promise.all(writers);
    expect(writes).toBeGreaterThan(160);

    let newPort = master.port;
    await until('the sentinels to name a new master', async () => {
      const r = await s0.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', 'mymaster');
      if (r.t === 'array' && r.v) newPort = Number(text(r.v[1]));
      return newPort !== master.port;
    }, 30000).catch((e: Error) => {
      // What the sentinels saw, for the failure's report.
      const logs = fs.readdirSync(dir).filter((f) => f.endsWith('.log')).map((f) => `${f}:\n${fs.readFileSync(path.join(dir, f), 'utf8').split('\n').slice(-25).join('\n')}`);
      throw new Error(`${e.message}\n${logs.join('\n')}`);
    });
    const promoted = servers.find((s) => s.port === newPort);
    expect(promoted).toBeDefined();
    const other = servers.find((s) => s !== master && s !== promoted)!;
    // Sentinel's promotion ends with CLIENT KILL TYPE normal: an INFO connection open at that moment is closed.
    await until('the promoted replica to be a master', async () => {
      try {
        return (await replication(newPort)).role === 'master';
      } catch {
        return false;
      }
    });
    for (let k = 0; k < 4; k++) {
      const v = Number(text(await ask(newPort, 'GET', `count:{${k}}`)));
      expect(v).toBeGreaterThanOrEqual(waited[k]);
      // The kill may fall between a writer's INCR and its RPUSH: the list is 1..len, len v or v-1.
      const len = int(await ask(newPort, 'LLEN', `seq:{${k}}`));
      expect(len).toBeGreaterThanOrEqual(waited[k]);
      expect(v - len).toBeLessThanOrEqual(1);
      expect(text(await ask(newPort, 'LINDEX', `seq:{${k}}`, '-1'))).toBe(String(len));
    }
    // From here on the sentinels may fail over a second time: on a loaded machine a sentinel can
    // miss the new master's PINGs for down-after-milliseconds (1 s here) right after the switch
    // (seen: +sdown of the new master 1.05 s after +switch-master, and a second promotion). So
    // the master is the one the sentinels name now, and the two others must follow it.
    const masterNow = async (): Promise<number> => {
      const r = await s0.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', 'mymaster');
      return r.t === 'array' && r.v ? Number(text(r.v[1])) : -1;
    };
    const ports = servers.map((s) => s.port); // the old master's port is reused below
    let seen: Record<string, string> = {};
    let current = -1;
    /** The sentinels' master is a master and every other server replicates from it, link up. */
    const settled = async (): Promise<boolean> => {
      current = await masterNow();
      for (const port of ports) {
        try {
          seen = { port: String(port), ...(await replication(port)) };
        } catch (e) {
          seen = { port: String(port), error: (e as Error).message }; // the old master: not listening yet
          return false;
        }
        const ok = port === current ? seen.role === 'master'
          : seen.role === 'slave' && seen.master_port === String(current) && seen.master_link_status === 'up';
        if (!ok) return false;
      }
      return true;
    };
    await until('the other replica to follow the new master', async () => {
      const i = await replication(other.port);
      if (i.master_port === String(newPort) && i.master_link_status === 'up') return true;
      return (await masterNow()) !== newPort; // failed over again: settled() below decides
    }, 30000);

    // A client that asks sentinel writes to the new master.
    const viaSentinel = new Redis({ sentinels: sentinels.map((port) => ({ host: '127.0.0.1', port })), name: 'mymaster', lazyConnect: true });
    try {
      await viaSentinel.connect();
      expect(await viaSentinel.set('after', 'failover')).toBe('OK');
    } finally {
      viaSentinel.disconnect();
    }
    expect(text(await ask(await masterNow(), 'GET', 'after'))).toBe('failover');

    // The old master comes back on its port: the sentinels make it a replica of the new one.
    const backLog = path.join(dir, 'old-master.log');
    const back = spawn(process.execPath, [SHARDIS_CLI, '--port', String(master.port), '--threads', '2',
      '--enable-debug-command', 'yes', '--logfile', backLog, ...opts], { cwd: dir, stdio: 'ignore', env: { ...process.env, SHARDIS_DEBUG: '1' } });
    children.push(back);
    try {
      await until('the old master to become a replica of the new one', settled, 60000);
    } catch (e) {
      // What the old master went through, what the last server asked said, what the sentinels did.
      const tail = fs.existsSync(backLog) ? fs.readFileSync(backLog, 'utf8').split('\n').slice(-40).join('\n') : '(no log)';
      const sentinelLogs = fs.readdirSync(dir).filter((f) => f.startsWith('sentinel-') && f.endsWith('.log'))
        .map((f) => `${f}:\n${fs.readFileSync(path.join(dir, f), 'utf8').split('\n').slice(-15).join('\n')}`);
      throw new Error(`${(e as Error).message} (first new master ${newPort}, sentinels' master now ${current}, old master ${master.port}); last INFO replication: ${JSON.stringify(seen)}; the old master's log ends:\n${tail}\n${sentinelLogs.join('\n')}`);
    }
    // At least the master's offset now: the sentinels' hello PUBLISHes (every 2 s) reach the
    // replicas too and move every offset on, so an exact match can be passed over and never seen.
    const off = Number((await replication(current)).master_repl_offset);
    const replicas = ports.filter((p) => p !== current);
    for (const port of replicas) {
      await until('the replicas to catch up', async () => Number((await replication(port)).master_repl_offset) >= off);
    }
    const d = text(await ask(current, 'DEBUG', 'DIGEST'));
    for (const port of replicas) expect(text(await ask(port, 'DEBUG', 'DIGEST'))).toBe(d);
    expect(text(await ask(master.port, 'DEBUG', 'CHECK'))).toBe('OK');
  }, 120000);
});

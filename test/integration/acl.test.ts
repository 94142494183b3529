// ACL users end to end: real clients authenticating as users (ioredis `username`/`password`,
// node-redis, HELLO 3 AUTH), `user` directives, an aclfile with ACL LOAD / ACL SAVE, requirepass,
// acl-pubsub-default, and a change on one thread seen by the next command on every thread.
// Replies are compared with redis-server 7.0.15 started the same way where they can differ.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Redis from 'ioredis6';
import { createClient } from 'redis';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { SHARDIS_CLI, freePort, startRedis, startShardis, type Server } from '../helpers/server';
import { RawClient, show } from '../helpers/resp';

const servers: Server[] = [];
const procs: ChildProcess[] = [];
afterAll(async () => {
  for (const p of procs) p.kill('SIGKILL');
  await Promise.allSettled(servers.map((s) => s.stop()));
});

/** shardis with a config file (first argument, as redis-server); resolves once it answers. */
async function launchWithConf(conf: string): Promise<{ port: number; proc: ChildProcess }> {
  const port = await freePort();
  const proc = spawn(process.execPath, [SHARDIS_CLI, conf, '--port', String(port), '--threads', '2', '--save', ''], { stdio: 'ignore', cwd: path.dirname(conf) });
  procs.push(proc);
  for (let i = 0; i < 400; i++) {
    if (proc.exitCode !== null) throw new Error(`shardis exited (${proc.exitCode})`);
    try {
      const c = await RawClient.connect(port);
      await c.call('PING');
      await c.close();
      return { port, proc };
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error('shardis did not start');
}

async function both(args: string[] = [], threads = 2): Promise<{ redis: Server; shardis: Server }> {
  const [redis, shardis] = await Promise.all([startRedis({ args }), startShardis({ threads, args: ['--save', '', '--appendonly', 'no', ...args] })]);
  servers.push(redis, shardis);
  return { redis, shardis };
}

describe('clients authenticating as ACL users', () => {
  let s: { redis: Server; shardis: Server };
  beforeAll(async () => {
    s = await both();
    for (const srv of [s.redis, s.shardis]) {
      const c = await RawClient.connect(srv.port);
      await c.call('ACL', 'SETUSER', 'app', 'on', '>apppass', '~app:*', '&app:*', '+@all', '-@dangerous');
      await c.call('ACL', 'SETUSER', 'ro', 'on', '>ropass', '%R~*', '+@read', '+@connection', '+acl|whoami', '+info');
      await c.close();
    }
  });

  it('ioredis with username/password (RESP2 and RESP3)', async () => {
    const out: unknown[] = [];
    for (const srv of [s.redis, s.shardis]) {
      const r = new Redis({ port: srv.port, host: '127.0.0.1', username: 'app', password: 'apppass', maxRetriesPerRequest: 0, lazyConnect: true, enableReadyCheck: false });
      await r.connect();
      const got: unknown[] = [];
      got.push(await r.call('ACL', 'WHOAMI'));
      got.push(await r.set('app:1', 'v'));
      got.push(await r.get('app:1'));
      got.push(await r.set('other', 'v').catch((e: Error) => e.message));
      got.push(await r.flushall().catch((e: Error) => e.message));
      got.push(await r.publish('app:news', 'x'));
      got.push(await r.publish('news', 'x').catch((e: Error) => e.message));
      got.push(await r.multi().set('app:2', 'a').get('app:2').exec());
      got.push(await r.eval("return redis.call('get', KEYS[1])", 1, 'app:1'));
      got.push(await r.eval("return redis.call('get', 'other')", 0).catch((e: Error) => e.message));
      r.disconnect();
      const bad = new Redis({ port: srv.port, host: '127.0.0.1', username: 'app', password: 'nope', maxRetriesPerRequest: 0, lazyConnect: true, enableReadyCheck: false, retryStrategy: () => null });
      bad.on('error', () => {});
      got.push(await bad.connect().then(() => 'connected', (e: Error) => e.message));
      bad.disconnect();
      out.push(got);
    }
    expect(out[1]).toEqual(out[0]);
    expect((out[1] as unknown[])[0]).toBe('app');
  });

  it('node-redis with username/password, RESP2 and RESP3 (HELLO 3 AUTH)', async () => {
    for (const RESP of [2, 3] as const) {
      const out: unknown[] = [];
      for (const srv of [s.redis, s.shardis]) {
        const c = createClient({ socket: { port: srv.port, host: '127.0.0.1', reconnectStrategy: false }, username: 'ro', password: 'ropass', RESP });
        await c.connect();
        const got: unknown[] = [];
        got.push(await c.sendCommand(['ACL', 'WHOAMI']));
        got.push(await c.sendCommand(['GET', 'app:1']));
        got.push(await c.sendCommand(['SET', 'x', 'y']).catch((e: Error) => e.message));
        got.push(await c.sendCommand(['ACL', 'LIST']).catch((e: Error) => e.message));
        await c.quit();
        out.push(got);
      }
      expect(out[1]).toEqual(out[0]);
    }
  });
});

describe('one keyspace of users across threads', () => {
  it('a change on one connection is seen by the next command of every other connection', async () => {
    const shardis = await startShardis({ threads: 4 });
    servers.push(shardis);
    // Enough connections that every thread holds some (connections are spread over the threads).
    const conns = await Promise.all(Array.from({ length: 16 }, () => RawClient.connect(shardis.port)));
    const admin = conns[0];
    for (let round = 0; round < 5; round++) {
      const pass = `p${round}`;
      expect(show(await admin.call('ACL', 'SETUSER', 'shared', 'on', 'resetpass', `>${pass}`, '~*', '+@all'))).toBe('OK');
      for (const c of conns.slice(1)) {
        expect(show(await c.call('AUTH', 'shared', pass))).toBe('OK');
        expect(show(await c.call('ACL', 'WHOAMI'))).toBe('"shared"');
      }
      // Narrow the user: every connection authenticated as it is refused at once.
      expect(show(await admin.call('ACL', 'SETUSER', 'shared', '-get'))).toBe('OK');
      for (const c of conns.slice(1)) {
        expect(show(await c.call('GET', 'k'))).toBe("(error) NOPERM this user has no permissions to run the 'get' command");
        await c.call('AUTH', 'default', 'x');
      }
    }
    // ACL DELUSER closes that user's connections on every thread.
    await admin.call('ACL', 'SETUSER', 'shared', '+get');
    for (const c of conns.slice(1)) await c.call('AUTH', 'shared', 'p4');
    expect(show(await admin.call('ACL', 'DELUSER', 'shared'))).toBe('(integer) 1');
    for (const c of conns.slice(1)) {
      await c.closed();
      expect(c.isOpen).toBe(false);
    }
    // The ACL LOG holds entries denied on every thread.
    const log = await admin.call('ACL', 'LOG', '1');
    expect(show(log)).toContain('"get"');
    await admin.close();
  });
});

describe('users from the config file, the aclfile, requirepass', () => {
  it('user directives, CONFIG REWRITE keeps them', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shardis-acl-'));
    const conf = path.join(dir, 'redis.conf');
    fs.writeFileSync(conf, 'user default on nopass ~* &* +@all -flushdb\nuser worker on >wp ~jobs:* +@list +@connection\n');
    const { port, proc } = await launchWithConf(conf);
    const c = await RawClient.connect(port);
    const wp = createHash('sha256').update('wp').digest('hex');
    expect(show(await c.call('FLUSHDB'))).toBe("(error) NOPERM this user has no permissions to run the 'flushdb' command");
    expect(show(await c.call('ACL', 'LIST'))).toBe(
      `1) "user default on nopass sanitize-payload ~* &* +@all -flushdb"\n2) "user worker on #${wp} ~jobs:* resetchannels -@all +@connection +@list"`,
    );
    expect(show(await c.call('AUTH', 'worker', 'wp'))).toBe('OK');
    expect(show(await c.call('LPUSH', 'jobs:1', 'a'))).toBe('(integer) 1');
    expect(show(await c.call('AUTH', 'default', 'x'))).toBe('OK');
    expect(show(await c.call('CONFIG', 'REWRITE'))).toBe('OK');
    const text = fs.readFileSync(conf, 'utf8');
    expect(text).toContain('user default on nopass sanitize-payload ~* &* +@all -flushdb');
    expect(text).toContain('user worker on #');
    await c.close();
    proc.kill('SIGKILL');
    // Restarted from the rewritten file: the same users.
    const again = await launchWithConf(conf);
    const c2 = await RawClient.connect(again.port);
    expect(show(await c2.call('FLUSHDB'))).toContain('NOPERM');
    expect(show(await c2.call('AUTH', 'worker', 'wp'))).toBe('OK');
    await c2.close();
    again.proc.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a bad user directive stops the start, as redis-server', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shardis-acl-'));
    const conf = path.join(dir, 'redis.conf');
    fs.writeFileSync(conf, 'user bob on +nosuchcommand\n');
    await expect(launchWithConf(conf)).rejects.toThrow(/exited \(1\)/);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('aclfile: loaded at start, ACL SAVE writes it, ACL LOAD reads it back and drops the clients of replaced users', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shardis-acl-'));
    const file = path.join(dir, 'users.acl');
    fs.writeFileSync(file, 'user alice on >alice ~* &* +@all\nuser bob on nopass ~bob:* -@all +get\n');
    const s = await both(['--aclfile', file], 2);
    const out: string[][] = [];
    for (const srv of [s.redis, s.shardis]) {
      fs.writeFileSync(file, 'user alice on >alice ~* &* +@all\nuser bob on nopass ~bob:* -@all +get\n');
      const got: string[] = [];
      const c = await RawClient.connect(srv.port);
      const other = await RawClient.connect(srv.port);
      got.push(show(await c.call('ACL', 'LIST')));
      got.push(show(await other.call('AUTH', 'bob', 'x')));
      got.push(show(await other.call('GET', 'bob:1')));
      got.push(show(await c.call('ACL', 'SETUSER', 'carol', 'on', '>c', '+@read', '~c*')));
      got.push(show(await c.call('ACL', 'SAVE')));
      got.push(fs.readFileSync(file, 'latin1'));
      fs.appendFileSync(file, 'user dave on nopass +nosuch\n');
      got.push(show(await c.call('ACL', 'LOAD')));
      fs.writeFileSync(file, 'user alice on >alice ~* &* +@all\nuser bob on nopass ~* +@all\nbad line\n');
      got.push(show(await c.call('ACL', 'LOAD')));
      fs.writeFileSync(file, 'user alice on >alice ~* &* +@all\nuser bob on nopass ~* +@all\n');
      got.push(show(await c.call('ACL', 'LOAD')));
      await other.closed();
      got.push(String(other.isOpen));
      got.push(show(await c.call('ACL', 'LIST')));
      await c.close();
      out.push(got.map((g) => g.replaceAll(file, 'FILE')));
    }
    expect(out[1]).toEqual(out[0]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('requirepass in the config file protects the default user from the start', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shardis-acl-'));
    const conf = path.join(dir, 'redis.conf');
    fs.writeFileSync(conf, 'requirepass sekret\n');
    const { port, proc } = await launchWithConf(conf);
    const c = await RawClient.connect(port);
    expect(show(await c.call('GET', 'x'))).toBe('(error) NOAUTH Authentication required.');
    expect(show(await c.call('AUTH', 'default', 'bad'))).toBe('(error) WRONGPASS invalid username-password pair or user is disabled.');
    expect(show(await c.call('HELLO', '3', 'AUTH', 'default', 'sekret'))).toContain('"proto"');
    expect(show(await c.call('ACL', 'WHOAMI'))).toBe('"default"');
    await c.close();
    proc.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('CONFIG SET requirepass and acl-pubsub-default', async () => {
    const s = await both(['--acl-pubsub-default', 'allchannels'], 2);
    const out: string[][] = [];
    for (const srv of [s.redis, s.shardis]) {
      const setter = await RawClient.connect(srv.port);
      await setter.call('CONFIG', 'SET', 'requirepass', 'sekret');
      await setter.close();
      const c = await RawClient.connect(srv.port);
      const got: string[] = [];
      got.push(show(await c.call('GET', 'x')));
      got.push(show(await c.call('AUTH', 'wrong')));
      got.push(show(await c.call('AUTH', 'sekret')));
      got.push(show(await c.call('ACL', 'SETUSER', 'psub', 'on', 'nopass')));
      got.push(show(await c.call('ACL', 'GETUSER', 'psub')));
      got.push(show(await c.call('CONFIG', 'SET', 'acl-pubsub-default', 'resetchannels')));
      got.push(show(await c.call('ACL', 'SETUSER', 'psub2', 'on', 'nopass')));
      got.push(show(await c.call('ACL', 'LIST')));
      // Leave the server open for the harness's DEBUG CHECK at stop.
      got.push(show(await c.call('CONFIG', 'SET', 'requirepass', '')));
      await c.close();
      out.push(got);
    }
    expect(out[1]).toEqual(out[0]);
  });
});

// What operators lock away or rely on at start-up: enable-debug-command (no / yes / local),
// rename-command (config file and command line), SIGHUP ignored. Differential against a
// redis-server started with the same directives wherever the replies matter.
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startRedis, startShardis, SHARDIS_CLI, type Server } from '../helpers/server';
import { RawClient, show, text, type Reply } from '../helpers/resp';

const servers: Server[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

async function both(shardisArgs: string[], redisArgs = shardisArgs, debug = false): Promise<[Server, Server]> {
  const [s, r] = await Promise.all([startShardis({ threads: 2, debug, args: shardisArgs }), startRedis({ args: redisArgs })]);
  servers.push(s, r);
  return [s, r];
}

async function call(port: number, ...args: string[]): Promise<Reply> {
  const c = await RawClient.connect(port);
  try {
    return await c.call(...args);
  } finally {
    c.close();
  }
}

/** The same command on both servers gives the same reply. */
async function same(s: Server, r: Server, ...args: string[]): Promise<Reply> {
  const [a, b] = await Promise.all([call(s.port, ...args), call(r.port, ...args)]);
  expect(show(a), args.join(' ')).toBe(show(b));
  return a;
}

/** A non-loopback IPv4 address of this machine, if it has one. */
function externalAddress(): string | undefined {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return undefined;
}

describe('enable-debug-command', () => {
  it('defaults to no: DEBUG is refused with Redis 7.0 text, as redis-server refuses it', async () => {
    const [s, r] = await both(['--save', '']);
    const reply = await same(s, r, 'DEBUG', 'SLEEP', '0');
    expect(reply.t).toBe('error');
    expect(text(reply)).toContain('DEBUG command not allowed. If the enable-debug-command option is set to "local"');
    expect(show(await call(s.port, 'CONFIG', 'GET', 'enable-debug-command'))).toBe(show(await call(r.port, 'CONFIG', 'GET', 'enable-debug-command')));
    // Arity comes first, as in processCommand.
    await same(s, r, 'DEBUG');
    // Redis 7.0's COMMAND INFO does not show the protected flag.
    await same(s, r, 'COMMAND', 'INFO', 'debug');
  });

  it('yes allows DEBUG', async () => {
    const [s, r] = await both(['--save', '', '--enable-debug-command', 'yes']);
    await same(s, r, 'DEBUG', 'SLEEP', '0');
  });

  it('local allows DEBUG from 127.0.0.1 and refuses it from another address', async () => {
    const ext = externalAddress();
    const args = ['--save', '', '--enable-debug-command', 'local', ...(ext ? ['--bind', '127.0.0.1', ext, '--protected-mode', 'no'] : [])];
    const [s, r] = await both(args);
    await same(s, r, 'DEBUG', 'SLEEP', '0');
    if (ext === undefined) return; // no second address to come from on this machine
    const remote = async (port: number): Promise<Reply> => {
      const c = await RawClient.connect(port, ext);
      try {
        return await c.call('DEBUG', 'SLEEP', '0');
      } finally {
        c.close();
      }
    };
    const [a, b] = await Promise.all([remote(s.port), remote(r.port)]);
    expect(a.t).toBe('error');
    expect(show(a)).toBe(show(b));
  });
});

describe('rename-command', () => {
  it('on the command line: "" removes a command, a new name runs it', async () => {
    const args = ['--save', '', '--rename-command', 'CONFIG', '', '--rename-command', 'flushall', 'wipe-it', '--rename-command', 'get', 'fetch'];
    const [s, r] = await both(args);
    const cfg = await same(s, r, 'CONFIG', 'GET', 'port');
    expect(cfg.t).toBe('error');
    expect(text(cfg)).toMatch(/^ERR unknown command 'CONFIG'/);
    await same(s, r, 'SET', 'k', 'v');
    expect((await same(s, r, 'FLUSHALL')).t).toBe('error');
    expect((await same(s, r, 'GET', 'k')).t).toBe('error');
    expect(show(await same(s, r, 'FETCH', 'k'))).toBe(show({ t: 'bulk', v: Buffer.from('v') }));
    await same(s, r, 'WIPE-IT');
    await same(s, r, 'fetch', 'k');
    // COMMAND INFO finds the command under its new name only, and shows its own name.
    await same(s, r, 'COMMAND', 'INFO', 'fetch', 'get', 'config');
    await same(s, r, 'COMMAND', 'LIST', 'FILTERBY', 'PATTERN', 'config*');
    await same(s, r, 'COMMAND', 'LIST', 'FILTERBY', 'PATTERN', 'get');
  });

  it('in a config file (included), and applied on every thread', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shardis-rename-'));
    const conf = path.join(dir, 'r.conf');
    fs.writeFileSync(conf, 'rename-command DEBUG ""\nrename-command flushdb nukedb\n');
    try {
      const s = await startShardis({ threads: 3, debug: false, args: ['--include', conf, '--save', ''] });
      servers.push(s);
      // Several connections land on different threads: each sees the renamed table.
      for (let i = 0; i < 6; i++) {
        const c = await RawClient.connect(s.port);
        const d = await c.call('DEBUG', 'SLEEP', '0');
        expect(d.t).toBe('error');
        expect(text(d)).toMatch(/^ERR unknown command 'DEBUG'/);
        expect((await c.call('FLUSHDB')).t).toBe('error');
        expect(show(await c.call('NUKEDB'))).toBe('OK');
        c.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses an unknown command or a taken name at start-up, with redis-server\'s text', () => {
    for (const args of [['--rename-command', 'nosuch', 'x'], ['--rename-command', 'get', 'set']]) {
      const mine = spawnSync(process.execPath, [SHARDIS_CLI, '--port', '0', ...args], { encoding: 'utf8', timeout: 10_000 });
      const real = spawnSync('redis-server', ['--port', '0', ...args], { encoding: 'utf8', timeout: 10_000 });
      expect(real.error, 'redis-server must be installed').toBeUndefined();
      expect(mine.status).toBe(1);
      expect(mine.stderr.replace(/Redis [\d.]+/, 'Redis V')).toBe(real.stderr.replace(/Redis [\d.]+/, 'Redis V'));
    }
  });
});

describe('signals', () => {
  it('SIGHUP does not stop the server', async () => {
    const s = await startShardis({ threads: 2, args: ['--save', ''] });
    servers.push(s);
    process.kill(s.pid, 'SIGHUP');
    await new Promise((r) => setTimeout(r, 200));
    expect(show(await call(s.port, 'PING'))).toBe('PONG');
  });
});

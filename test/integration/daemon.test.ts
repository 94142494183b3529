// daemonize, pidfile, unixsocket(+perm), the process title, and the start-up warnings for what
// is accepted but not built yet: real server processes, redis-cli and redis-benchmark.
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort, REPO_ROOT, startShardis, SHARDIS_CLI, type Server } from '../helpers/server';
import { RawClient, show } from '../helpers/resp';
import { until } from '../helpers/replication';

const dirs: string[] = [];
const servers: Server[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'shardis-daemon-'));
  dirs.push(d);
  return d;
}

function cli(args: string[]): string {
  return execFileSync('redis-cli', args, { encoding: 'utf8', timeout: 20_000 }).trim();
}

/** Run `shardis args` to its exit: the daemonizing parent. */
function runParent(args: string[]): Promise<{ code: number | null; stderr: string; ms: number }> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const p = spawn(process.execPath, [SHARDIS_CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('exit', (code) => resolve({ code, stderr, ms: Date.now() - t0 }));
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitGone(pid: number): Promise<void> {
  for (let i = 0; i < 200 && alive(pid); i++) await new Promise((r) => setTimeout(r, 50));
}

describe('daemonize yes', () => {
  it('detaches, returns 0 once listening, writes the pid file; SHUTDOWN removes pid file and socket', async () => {
    const d = tmp();
    const port = await freePort();
    const sock = path.join(d, 's.sock');
    const pidfile = path.join(d, 's.pid');
    const logfile = path.join(d, 's.log');
    const parent = await runParent(['--port', String(port), '--threads', '2', '--daemonize', 'yes', '--pidfile', pidfile,
      '--logfile', logfile, '--unixsocket', sock, '--save', '']);
    expect(parent.code, parent.stderr).toBe(0);
    // Listening already: no wait.
    expect(cli(['-s', sock, 'ping'])).toBe('PONG');
    expect(cli(['-p', String(port), 'ping'])).toBe('PONG');
    const pid = Number(fs.readFileSync(pidfile, 'utf8').trim());
    expect(cli(['-p', String(port), 'info', 'server']).match(/process_id:(\d+)/)?.[1]).toBe(String(pid));
    // A session leader of its own (setsid), its parent gone.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    expect(Number(fields[3])).toBe(pid); // session id
    expect(Number(fields[1])).not.toBe(process.pid);
    try {
      cli(['-p', String(port), 'shutdown', 'nosave']);
    } catch {
      /* the connection closes as the server exits */
    }
    await waitGone(pid);
    expect(alive(pid)).toBe(false);
    expect(fs.existsSync(pidfile)).toBe(false);
    expect(fs.existsSync(sock)).toBe(false);
    const log = fs.readFileSync(logfile, 'utf8');
    expect(log).toContain('Removing the pid file.');
    expect(log).toContain('Removing the unix socket file.');
  });

  it('exits 1 when the daemon cannot start (port in use)', async () => {
    const d = tmp();
    const s = await startShardis({ threads: 1 });
    servers.push(s);
    const parent = await runParent(['--port', String(s.port), '--daemonize', 'yes', '--logfile', path.join(d, 'l.log'),
      '--pidfile', path.join(d, 'p.pid'), '--save', '']);
    expect(parent.code).toBe(1);
    expect(fs.readFileSync(path.join(d, 'l.log'), 'utf8')).toContain('Address already in use');
  });
});

describe('unixsocket', () => {
  it('every thread accepts on it; unixsocketperm; redis-cli -s; CLIENT LIST shows path:0', async () => {
    const d = tmp();
    const sock = path.join(d, 'u.sock');
    const s = await startShardis({ threads: 3, args: ['--save', '', '--unixsocket', sock, '--unixsocketperm', '700'] });
    servers.push(s);
    expect(fs.statSync(sock).mode & 0o777).toBe(0o700);
    expect(fs.statSync(sock).isSocket()).toBe(true);
    const clients = await Promise.all(Array.from({ length: 9 }, () => RawClient.connectPath(sock)));
    for (let i = 0; i < clients.length; i++) expect(show(await clients[i].call('SET', `k${i}`, String(i)))).toBe('OK');
    const list = cli(['-s', sock, 'client', 'list']);
    expect(list).toContain(`addr=${sock}:0 laddr=${sock}:0`);
    expect(cli(['-s', sock, 'get', 'k8'])).toBe('8');
    // A Unix-socket client is local: DEBUG under "local" would be allowed (checked in operator.test).
    for (const c of clients) c.close();
  });

  it('redis-benchmark -s runs against it', () => {
    const d = tmp();
    return (async () => {
      const sock = path.join(d, 'b.sock');
      const s = await startShardis({ threads: 2, args: ['--save', '', '--unixsocket', sock] });
      servers.push(s);
      const out = execFileSync('redis-benchmark', ['-s', sock, '-t', 'set,get', '-n', '2000', '-P', '16', '-q'], { encoding: 'utf8', timeout: 60_000 });
      expect(out).toMatch(/SET: [\d.]+ requests per second/);
      expect(out).toMatch(/GET: [\d.]+ requests per second/);
      expect(cli(['-s', sock, 'dbsize'])).toBe('1');
    })();
  });

  it('a path that cannot be bound stops start-up with Redis\'s message', async () => {
    const port = await freePort();
    const r = execFileSyncStatus(process.execPath, [SHARDIS_CLI, '--port', String(port), '--unixsocket', '/nonexistent-shardis-dir/x.sock', '--save', '']);
    expect(r.status).toBe(1);
    expect(r.out).toContain('Failed opening Unix socket: bind: No such file or directory');
  });

  it('port 0 with a unixsocket listens on the socket only; with neither it refuses to start', async () => {
    const d = tmp();
    const sock = path.join(d, 'p0.sock');
    const r0 = execFileSyncStatus(process.execPath, [SHARDIS_CLI, '--port', '0', '--save', '']);
    expect(r0.status).toBe(1);
    expect(r0.out).toContain('Configured to not listen anywhere, exiting.');
    const p = spawn(process.execPath, [SHARDIS_CLI, '--port', '0', '--unixsocket', sock, '--save', '', '--threads', '1'], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 200 && !fs.existsSync(sock); i++) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 100));
      expect(cli(['-s', sock, 'ping'])).toBe('PONG');
      expect(cli(['-s', sock, 'config', 'get', 'port'])).toBe('port\n0');
    } finally {
      p.kill('SIGKILL');
    }
  });
});

function execFileSyncStatus(cmd: string, args: string[]): { status: number | null; out: string } {
  try {
    const out = execFileSync(cmd, args, { encoding: 'utf8', timeout: 20_000, stdio: ['ignore', 'pipe', 'pipe'] });
    return { status: 0, out };
  } catch (e) {
    const x = e as { status: number | null; stdout: string; stderr: string };
    return { status: x.status, out: `${x.stdout}${x.stderr}` };
  }
}

describe('start-up warnings and the process title', () => {
  it('appendonly yes and save rules log no WARNING (both are built); INFO shows aof_enabled:1', async () => {
    const d = tmp();
    const logfile = path.join(d, 'w.log');
    const s = await startShardis({ threads: 1, args: ['--appendonly', 'yes', '--save', '900 1', '--logfile', logfile,
      '--proc-title-template', '{title} {listen-addr} {port} test-title'] });
    servers.push(s);
    const log = fs.readFileSync(logfile, 'utf8');
    expect(log).not.toMatch(/WARNING (appendonly|save rules)/);
    expect(log).toContain('Creating AOF incr file appendonly.aof.1.incr.aof on server start');
    expect(cli(['-p', String(s.port), 'info', 'persistence'])).toContain('aof_enabled:1');
    expect(cli(['-p', String(s.port), 'config', 'get', 'appendonly'])).toBe('appendonly\nyes');
    // set-proc-title (default yes): ps shows the expanded template.
    const title = fs.readFileSync(`/proc/${s.pid}/cmdline`, 'utf8').replace(/\0+$/, '').split('\0').join(' ');
    expect(title).toBe(`shardis *:${s.port} ${s.port} test-title`);
    // CONFIG SET proc-title-template retitles the process, as Redis.
    cli(['-p', String(s.port), 'config', 'set', 'proc-title-template', '{title} {port} again']);
    await new Promise((r) => setTimeout(r, 100));
    expect(fs.readFileSync(`/proc/${s.pid}/cmdline`, 'utf8').replace(/\0+$/, '').split('\0').join(' ')).toBe(`shardis ${s.port} again`);
    // Longer than the command line it started with: shown whole (setproctitle's use of the
    // environment's room, whose strings were moved first: a BGSAVE's stand-in child still gets them).
    const long = `{title} {port} {config-file} ${'long-'.repeat(80)}end`;
    cli(['-p', String(s.port), 'config', 'set', 'proc-title-template', long]);
    await new Promise((r) => setTimeout(r, 100));
    expect(fs.readFileSync(`/proc/${s.pid}/cmdline`, 'utf8').replace(/\0+$/, '')).toBe(`shardis ${s.port} - ${'long-'.repeat(80)}end`);
    expect(cli(['-p', String(s.port), 'bgsave'])).toBe('Background saving started');
    await until('the BGSAVE', async () => cli(['-p', String(s.port), 'info', 'persistence']).includes('rdb_bgsave_in_progress:0'));
    expect(cli(['-p', String(s.port), 'info', 'persistence'])).toContain('rdb_last_bgsave_status:ok');
  });

  it('run as bin/shardis, {title} and INFO executable are the path it was run as (redis-server: its argv[0])', async () => {
    const port = await freePort();
    const bin = path.join(REPO_ROOT, 'bin', 'shardis');
    const p = spawn(bin, ['--port', String(port), '--save', '', '--threads', '1'], { cwd: tmp(), stdio: 'ignore' });
    try {
      let title = '';
      for (let i = 0; i < 200 && !title.includes(`:${port}`); i++) {
        await new Promise((r) => setTimeout(r, 50));
        title = fs.readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').replace(/\0+$/, '').split('\0').join(' ');
      }
      expect(title).toBe(`${bin} *:${port}`);
      // Not the worker thread's script (dist/worker.js), which INFO once showed.
      expect(cli(['-p', String(port), 'info', 'server'])).toContain(`executable:${bin}\r\n`);
    } finally {
      p.kill('SIGKILL');
    }
  });

  it('replicaof connects to the master (no WARNING any more); --save "" with appendonly no logs none', async () => {
    const d = tmp();
    const logfile = path.join(d, 'r.log');
    const s = await startShardis({ threads: 1, args: ['--save', '', '--replicaof', '127.0.0.1', '1', '--logfile', logfile] });
    servers.push(s);
    // The link starts on a worker right after start-up: give its first line a moment.
    for (let i = 0; i < 100 && !fs.readFileSync(logfile, 'utf8').includes('Connecting to MASTER'); i++) await new Promise((r) => setTimeout(r, 50));
    const log = fs.readFileSync(logfile, 'utf8');
    expect(log).not.toMatch(/WARNING replicaof/);
    expect(log).toContain('Connecting to MASTER 127.0.0.1:1');
    expect(log).not.toMatch(/WARNING (save rules|appendonly)/);
    expect(log).toContain('Ready to accept connections');
  });

  it('directives accepted but without effect warn when set away from their default (start-up and CONFIG SET)', async () => {
    const d = tmp();
    const logfile = path.join(d, 'i.log');
    const s = await startShardis({ threads: 2, args: ['--save', '', '--logfile', logfile, '--syslog-enabled', 'yes',
      '--io-threads', '4', '--supervised', 'no', '--maxmemory-eviction-tenacity', '10'] });
    servers.push(s);
    let log = fs.readFileSync(logfile, 'utf8');
    expect(log).toContain("WARNING 'syslog-enabled yes' is accepted for compatibility but has no effect in shardis: the log goes to the logfile or stdout only.");
    expect(log).toContain("WARNING 'io-threads 4' is accepted for compatibility but has no effect in shardis");
    // At their defaults: nothing.
    expect(log).not.toMatch(/WARNING '(supervised|maxmemory-eviction-tenacity)/);
    expect(cli(['-p', String(s.port), 'config', 'set', 'maxmemory-eviction-tenacity', '50'])).toBe('OK');
    for (let i = 0; i < 100 && !(log = fs.readFileSync(logfile, 'utf8')).includes("'maxmemory-eviction-tenacity 50'"); i++) await new Promise((r) => setTimeout(r, 20));
    expect(log).toContain("WARNING 'maxmemory-eviction-tenacity 50' is accepted for compatibility but has no effect in shardis");
  });
});

describe('supervised (systemd, upstart)', () => {
  /** A NOTIFY_SOCKET listener (Node has no Unix datagram sockets: python3, which CI installs). */
  async function notifySocket(at: string): Promise<{ messages: string[]; close: () => void }> {
    const py = [
      'import socket, sys',
      'a = sys.argv[1]',
      's = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)',
      "s.bind('\\0' + a[1:] if a.startswith('@') else a)",
      "print('listening', flush=True)",
      'while True: print(repr(s.recv(4096).decode()), flush=True)',
    ].join('\n');
    const p = spawn('python3', ['-c', py, at], { stdio: ['ignore', 'pipe', 'inherit'] });
    const messages: string[] = [];
    let buf = '';
    await new Promise<void>((resolve, reject) => {
      p.on('error', reject);
      p.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (line === 'listening') resolve();
          else messages.push(line);
        }
      });
    });
    return { messages, close: () => p.kill('SIGKILL') };
  }

  it('systemd (auto-detected from NOTIFY_SOCKET, abstract or path): loading, READY=1, STOPPING=1; stays in the foreground despite daemonize yes', async () => {
    for (const at of [`@shardis-test-${process.pid}-${Date.now()}`, path.join(tmp(), 'notify.sock')]) {
      const sd = await notifySocket(at);
      try {
        const port = await freePort();
        const p = spawn(process.execPath, [SHARDIS_CLI, '--port', String(port), '--save', '', '--threads', '2', '--daemonize', 'yes',
          '--supervised', 'auto'], { stdio: 'ignore', env: { ...process.env, NOTIFY_SOCKET: at } });
        const exited = new Promise<number | null>((r) => p.on('exit', (code) => r(code)));
        await until('READY=1', async () => sd.messages.includes(String.raw`'READY=1\n'`), 10_000);
        expect(sd.messages).toEqual([String.raw`'STATUS=shardis is loading...\n'`, String.raw`'STATUS=Ready to accept connections\n'`, String.raw`'READY=1\n'`]);
        // Not daemonized: the process systemd started is the server (Type=notify tracks its pid).
        expect(cli(['-p', String(port), 'info', 'server'])).toContain(`process_id:${p.pid}`);
        expect(cli(['-p', String(port), 'info', 'server'])).toContain('process_supervised:systemd');
        expect(cli(['-p', String(port), 'config', 'get', 'supervised'])).toBe('supervised\nsystemd');
        cli(['-p', String(port), 'shutdown']);
        expect(await exited).toBe(0);
        expect(sd.messages[3]).toBe(String.raw`'STOPPING=1\n'`);
      } finally {
        sd.close();
      }
    }
  });

  it('systemd asked for without NOTIFY_SOCKET, and auto with nothing to detect: unsupervised, with Redis\'s warning', async () => {
    const d = tmp();
    const env = { NOTIFY_SOCKET: '', UPSTART_JOB: '' }; // (empty: unset, for shardis)
    const a = await startShardis({ threads: 1, env, args: ['--save', '', '--supervised', 'systemd', '--logfile', path.join(d, 'a.log')] });
    servers.push(a);
    expect(fs.readFileSync(path.join(d, 'a.log'), 'utf8')).toContain('systemd supervision error: NOTIFY_SOCKET not found!');
    expect(cli(['-p', String(a.port), 'info', 'server'])).toContain('process_supervised:no');
    const b = await startShardis({ threads: 1, env, args: ['--save', '', '--supervised', 'auto'] });
    servers.push(b);
    expect(cli(['-p', String(b.port), 'info', 'server'])).toContain('process_supervised:no');
    expect(cli(['-p', String(b.port), 'config', 'get', 'supervised'])).toBe('supervised\nauto');
  });

  it('upstart (UPSTART_JOB): the process stops itself to signal it started, then serves once continued', async () => {
    const port = await freePort();
    const p = spawn(process.execPath, [SHARDIS_CLI, '--port', String(port), '--save', '', '--threads', '1', '--supervised', 'auto'],
      { stdio: 'ignore', env: { ...process.env, UPSTART_JOB: 'shardis-test' } });
    try {
      const state = (): string => / \) ?(\w) /.exec(fs.readFileSync(`/proc/${p.pid}/stat`, 'utf8').replace(/\(.*\)/, ')'))?.[1] ?? '?';
      await until('stopped (T)', async () => state() === 'T', 10_000);
      process.kill(p.pid!, 'SIGCONT');
      let served = '';
      for (let i = 0; i < 200 && served !== 'PONG'; i++) {
        await new Promise((r) => setTimeout(r, 50));
        try {
          served = cli(['-p', String(port), 'ping']);
        } catch {
          /* not listening yet */
        }
      }
      expect(served).toBe('PONG');
      expect(cli(['-p', String(port), 'info', 'server'])).toContain('process_supervised:upstart');
    } finally {
      p.kill('SIGKILL');
    }
  });
});

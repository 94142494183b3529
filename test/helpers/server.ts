// Test harness: start/stop shardis (dist/cli.js) and redis-server processes.
//
// Environment knobs (all optional):
//   SHARDIS_TEST_AGAINST_REDIS=1  startShardis() launches redis-server instead of
//                                 shardis (validates the tests redis-vs-redis).
//   SHARDIS_TEST_THREADS=N        default --threads for startShardis (else 1).
//   REDIS_SERVER=/path            redis-server binary (default: redis-server on PATH).
//   SHARDIS_CLI=/path/cli.js      shardis entry point (default: <repo>/dist/cli.js), e.g. a
//                                 snapshot copy of dist/ while others rebuild it.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export interface Server {
  port: number;
  pid: number;
  /** shardis: DEBUG CHECK must reply +OK, else throws. redis: no-op. */
  check(): Promise<void>;
  /** shardis: runs check() first when the process is alive; then kills and waits. */
  stop(): Promise<void>;
}

export interface ShardisOptions {
  threads?: number;
  /** Pass `--enable-debug-command yes` (default true: tests use DEBUG CHECK and friends; like
   *  Redis 7.0, shardis refuses DEBUG without it). */
  debug?: boolean;
  /** Replaces the default `--save "" --appendonly no`. */
  args?: string[];
  /** Extra environment for the child (SHARDIS_DEBUG=1 is set by default). */
  env?: Record<string, string>;
}

export interface RedisOptions {
  /** Extra directives appended after the defaults (`--save "" --appendonly no`). */
  args?: string[];
}

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const SHARDIS_CLI = process.env.SHARDIS_CLI || path.join(REPO_ROOT, 'dist', 'cli.js');
const REDIS_SERVER = process.env.REDIS_SERVER || 'redis-server';
const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 10_000;
const DEFAULT_ARGS = ['--save', '', '--appendonly', 'no'];
const DEBUG_ARGS = ['--enable-debug-command', 'yes'];

export function againstRedis(): boolean {
  return process.env.SHARDIS_TEST_AGAINST_REDIS === '1';
}

/** Children still alive; killed synchronously if the test process exits. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const c of live) {
      try {
        c.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    }
  });
}

/** A port that was free a moment ago (bind to port 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * One PING over a fresh connection; resolves true on +PONG. With `pid`, also INFO server: true only
 * when process_id is that pid. A server that lost the port race to another test's server logs
 * "Address already in use" only once it binds, and until then the other server answers PONG.
 */
function pingOnce(port: number, timeoutMs = 1000, pid?: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host: '127.0.0.1' });
    let buf = '';
    let done = false;
    const finish = (ok: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    sock.on('connect', () => sock.write(pid === undefined ? '*1\r\n$4\r\nPING\r\n' : '*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n'));
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      const eol = buf.indexOf('\r\n');
      if (eol < 0) return;
      if (!buf.startsWith('+PONG') || pid === undefined) return finish(buf.startsWith('+PONG'));
      const rest = buf.slice(eol + 2);
      // INFO refused (never expected here): the PONG is all there is to go by.
      if (rest.startsWith('-')) return void (rest.includes('\r\n') && finish(true));
      const m = /\r\nprocess_id:(\d+)\r\n/.exec(rest);
      if (m !== null) finish(Number(m[1]) === pid);
    });
    sock.on('error', () => finish(false));
    sock.on('close', () => finish(false));
  });
}

/** Send one command on a fresh connection and return the first reply line (type char included). */
function commandLine(port: number, args: string[], timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ port, host: '127.0.0.1' });
    let buf = '';
    let done = false;
    const finish = (err: Error | null, line?: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(line!);
    };
    const timer = setTimeout(
      () => finish(new Error(`${args.join(' ')}: no reply within ${timeoutMs} ms`)),
      timeoutMs,
    );
    sock.on('connect', () => {
      let out = `*${args.length}\r\n`;
      for (const a of args) out += `$${Buffer.byteLength(a)}\r\n${a}\r\n`;
      sock.write(out);
    });
    sock.on('data', (d) => {
      buf += d.toString('utf8');
      const i = buf.indexOf('\r\n');
      if (i >= 0) finish(null, buf.slice(0, i));
    });
    sock.on('error', (e) => finish(e));
    sock.on('close', () => finish(new Error(`${args.join(' ')}: connection closed without a reply`)));
  });
}

interface Spawned {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  isAlive: () => boolean;
}

function spawnLogged(cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Spawned {
  installExitHook();
  const child = spawn(cmd, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let out = '';
  const keep = (d: Buffer) => {
    out += d.toString('utf8');
    if (out.length > 64 * 1024) out = out.slice(-64 * 1024);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let alive = true;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      alive = false;
      live.delete(child);
      resolve({ code, signal });
    });
    child.on('error', (err) => {
      keep(Buffer.from(`spawn error: ${err.message}\n`));
      alive = false;
      live.delete(child);
      resolve({ code: -1, signal: null });
    });
  });
  return { child, output: () => out, exited, isAlive: () => alive };
}

async function waitReady(port: number, sp: Spawned, what: string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (!sp.isAlive()) {
      const { code, signal } = await sp.exited;
      throw new Error(
        `${what} exited during startup (code ${code}, signal ${signal}) on port ${port}:\n${sp.output()}`,
      );
    }
    if (await pingOnce(port, 500, sp.child.pid)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  sp.child.kill('SIGKILL');
  await sp.exited;
  throw new Error(`${what} did not answer PING on port ${port} within ${START_TIMEOUT_MS} ms:\n${sp.output()}`);
}

async function killAndWait(sp: Spawned): Promise<void> {
  if (!sp.isAlive()) return;
  sp.child.kill('SIGTERM');
  const t = setTimeout(() => {
    if (sp.isAlive()) sp.child.kill('SIGKILL');
  }, STOP_TIMEOUT_MS);
  await sp.exited;
  clearTimeout(t);
}

function looksLikePortClash(output: string): boolean {
  return /EADDRINUSE|address already in use/i.test(output);
}

/** Spawn with a fresh free port; retry a few times if the port was taken meanwhile. */
async function launch(
  what: string,
  build: (port: number) => { cmd: string; args: string[]; env: NodeJS.ProcessEnv; cwd: string },
): Promise<{ port: number; sp: Spawned }> {
  let lastErr: unknown;
  for (let attempt = 0; attempt < 4; attempt++) {
    const port = await freePort();
    const { cmd, args, env, cwd } = build(port);
    const sp = spawnLogged(cmd, args, env, cwd);
    try {
      await waitReady(port, sp, what);
      return { port, sp };
    } catch (e) {
      lastErr = e;
      await killAndWait(sp);
      if (!looksLikePortClash(sp.output())) throw e;
    }
  }
  throw lastErr;
}

function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

function rmDir(dir: string): void {
  try {
    fs.rmSync(dir, { recursive: true, force: true });
  } catch {
    /* ignore */
  }
}

export async function startRedis(opts: RedisOptions = {}): Promise<Server> {
  const dir = tmpDir('shardis-test-redis-');
  const { port, sp } = await launch('redis-server', (p) => ({
    cmd: REDIS_SERVER,
    args: [
      '--port', String(p),
      '--bind', '127.0.0.1',
      '--dir', dir,
      '--daemonize', 'no',
      ...DEFAULT_ARGS,
      ...(opts.args ?? []),
    ],
    env: process.env,
    cwd: dir,
  }));
  return {
    port,
    pid: sp.child.pid!,
    check: async () => {},
    stop: async () => {
      await killAndWait(sp);
      rmDir(dir);
    },
  };
}

export async function startShardis(opts: ShardisOptions = {}): Promise<Server> {
  if (againstRedis()) {
    // Validation mode: the "shardis" side is a second redis-server (threads ignored).
    return startRedis({ args: [...(opts.debug === false ? [] : DEBUG_ARGS), ...(opts.args ?? [])] });
  }
  if (!fs.existsSync(SHARDIS_CLI)) {
    throw new Error(`${SHARDIS_CLI} does not exist: run \`npm run build\` first`);
  }
  const threads = opts.threads ?? defaultThreads();
  const dir = tmpDir('shardis-test-');
  const { port, sp } = await launch('shardis', (p) => ({
    cmd: process.execPath,
    args: [
      SHARDIS_CLI, '--port', String(p), '--threads', String(threads),
      ...(opts.debug === false ? [] : DEBUG_ARGS), ...(opts.args ?? DEFAULT_ARGS),
    ],
    env: { ...process.env, SHARDIS_DEBUG: '1', ...(opts.env ?? {}) },
    cwd: dir,
  }));
  const check = async (): Promise<void> => {
    if (opts.debug === false) return; // DEBUG is refused: nothing to check with
    const line = await commandLine(port, ['DEBUG', 'CHECK']);
    if (line !== '+OK') throw new Error(`shardis DEBUG CHECK failed (port ${port}): ${line}`);
  };
  return {
    port,
    pid: sp.child.pid!,
    check,
    stop: async () => {
      let checkErr: unknown;
      if (sp.isAlive()) {
        try {
          await check();
        } catch (e) {
          checkErr = e;
        }
      }
      const wasAlive = sp.isAlive();
      await killAndWait(sp);
      rmDir(dir);
      if (checkErr) {
        throw new Error(`${(checkErr as Error).message}\n--- shardis output ---\n${sp.output()}`);
      }
      if (!wasAlive) {
        const { code, signal } = await sp.exited;
        throw new Error(`shardis had already exited (code ${code}, signal ${signal}):\n${sp.output()}`);
      }
    },
  };
}

function defaultThreads(): number {
  const n = Number(process.env.SHARDIS_TEST_THREADS);
  return Number.isInteger(n) && n > 0 ? n : 1;
}

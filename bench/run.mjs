// Side-by-side benchmark: redis-server and shardis in the same run, redis-benchmark against each,
// printed as ratios; then memory (RSS) after loading 1M small keys into each.
// usage: npm run bench [-- --threads N --requests N --tests set,get --clients 50 --unix 1]
// --unix 1: both servers also listen on a Unix socket; each test runs over TCP and over it.
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// Servers start in an empty folder: a dump.rdb or appendonlydir left where the bench runs would
// be loaded (and a loaded file's replication info starts a backlog that feeds on every write).
const benchDir = () => mkdtempSync(join(tmpdir(), 'shardis-bench-'));
const args = Object.fromEntries(process.argv.slice(2).reduce((a, v, i, all) => (v.startsWith('--') ? [...a, [v.slice(2), all[i + 1]]] : a), []));
const threads = Number(args.threads ?? 1);
const requests = Number(args.requests ?? 200000);
const clients = Number(args.clients ?? 50);
const tests = (args.tests ?? 'set,get,incr,mset').split(',');
const pipelines = (args.pipeline ?? '1,16').split(',').map(Number);
const memKeys = Number(args.keys ?? 1000000);
const extra = args.benchargs ? args.benchargs.split(' ') : [];
const unix = args.unix === '1';
const sockDir = unix ? mkdtempSync(join(tmpdir(), 'shardis-sock-')) : '';

function ping(port) {
  return new Promise((resolve) => {
    const s = createConnection(port, '127.0.0.1');
    s.on('error', () => resolve(false));
    s.on('connect', () => s.write('PING\r\n'));
    s.on('data', () => { s.destroy(); resolve(true); });
  });
}

async function start(name, cmd, argv, port) {
  const p = spawn(cmd, argv, { stdio: ['ignore', 'ignore', 'inherit'], detached: false, cwd: benchDir() });
  for (let i = 0; i < 100; i++) {
    if (await ping(port)) return p;
    await new Promise((r) => setTimeout(r, 100));
  }
  p.kill('SIGKILL');
  throw new Error(`${name} did not start`);
}

function stop(p) {
  return new Promise((resolve) => { p.once('exit', resolve); p.kill('SIGKILL'); });
}

function bench(port, test, P, sock = '') {
  const to = sock !== '' ? ['-s', sock] : ['-p', String(port)];
  const out = execFileSync('redis-benchmark', [...to, '-t', test, '-n', String(requests), '-c', String(clients), '-P', String(P), '-r', '1000000', '-q', ...extra], { encoding: 'utf8' });
  const m = /([\d.]+) requests per second/.exec(out.replace(/\r/g, '\n').split('\n').filter((l) => l.includes('requests per second')).pop() ?? '');
  return m ? Number(m[1]) : NaN;
}

function rssBytes(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

function load(port, n) {
  const dir = mkdtempSync(join(tmpdir(), 'shardis-bench-'));
  const f = join(dir, 'load.txt');
  const lines = [];
  for (let i = 0; i < n; i++) {
    const k = `key:${String(i).padStart(12, '0')}`;
    lines.push(`*3\r\n$3\r\nSET\r\n$${k.length}\r\n${k}\r\n$3\r\nxxx\r\n`);
  }
  writeFileSync(f, lines.join(''));
  execFileSync('bash', ['-c', `redis-cli -p ${port} --pipe < ${f} > /dev/null`]);
  rmSync(dir, { recursive: true });
}

const rport = 16379 + Math.floor(Math.random() * 1000);
const sport = rport + 1000;
const results = [];
const rsock = unix ? join(sockDir, 'redis.sock') : '';
const ssock = unix ? join(sockDir, 'shardis.sock') : '';
const sockArgs = (p) => (p !== '' ? ['--unixsocket', p] : []);
const redis = await start('redis-server', 'redis-server', ['--port', String(rport), '--save', '', '--appendonly', 'no', ...sockArgs(rsock)], rport);
const shardis = await start('shardis', 'node', [join(root, 'dist/cli.js'), '--port', String(sport), '--threads', String(threads), '--save', '', '--appendonly', 'no', '--loglevel', 'warning', ...sockArgs(ssock)], sport);
try {
  for (const P of pipelines) {
    for (const t of tests) {
      const r = bench(rport, t, P);
      const s = bench(sport, t, P);
      results.push({ test: t, P, redis: r, shardis: s, ratio: s / r });
      console.log(`${t.padEnd(12)} P=${String(P).padEnd(3)} redis ${r.toFixed(0).padStart(9)}  shardis ${s.toFixed(0).padStart(9)}  ratio ${(s / r).toFixed(2)}`);
      if (!unix) continue;
      const ru = bench(rport, t, P, rsock);
      const su = bench(sport, t, P, ssock);
      console.log(`${(t + ' unix').padEnd(12)} P=${String(P).padEnd(3)} redis ${ru.toFixed(0).padStart(9)}  shardis ${su.toFixed(0).padStart(9)}  ratio ${(su / ru).toFixed(2)}  (shardis unix/tcp ${(su / s).toFixed(2)}, redis unix/tcp ${(ru / r).toFixed(2)})`);
    }
  }
} finally {
  await stop(redis);
  await stop(shardis);
}

// Memory on fresh servers (a benchmark above leaves freed blocks behind that RSS still counts).
if (memKeys > 0) {
  const r = await start('redis-server', 'redis-server', ['--port', String(rport), '--save', '', '--appendonly', 'no'], rport);
  const s = await start('shardis', 'node', [join(root, 'dist/cli.js'), '--port', String(sport), '--threads', String(threads), '--save', '', '--appendonly', 'no', '--loglevel', 'warning'], sport);
  try {
    const r0 = rssBytes(r.pid);
    const s0 = rssBytes(s.pid);
    load(rport, memKeys);
    load(sport, memKeys);
    await new Promise((res) => setTimeout(res, 500));
    const r1 = rssBytes(r.pid);
    const s1 = rssBytes(s.pid);
    const dbr = execFileSync('redis-cli', ['-p', String(rport), 'DBSIZE'], { encoding: 'utf8' }).trim();
    const dbs = execFileSync('redis-cli', ['-p', String(sport), 'DBSIZE'], { encoding: 'utf8' }).trim();
    console.log(`memory, ${memKeys} keys (dbsize redis ${dbr}, shardis ${dbs}): RSS redis ${(r0 / 1048576).toFixed(1)} -> ${(r1 / 1048576).toFixed(1)} MB (+${((r1 - r0) / memKeys).toFixed(1)} B/key), shardis ${(s0 / 1048576).toFixed(1)} -> ${(s1 / 1048576).toFixed(1)} MB (+${((s1 - s0) / memKeys).toFixed(1)} B/key), RSS ratio ${(s1 / r1).toFixed(2)}`);
  } finally {
    await stop(r);
    await stop(s);
  }
}
if (unix) rmSync(sockDir, { recursive: true, force: true });

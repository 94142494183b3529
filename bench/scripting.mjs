// Lua scripting: EVALSHA of a 1-GET script and of a 10-INCR script (10 declared keys), redis-server
// and shardis (1 and 2 threads) in the same run, redis-benchmark as the load generator; each
// server warmed by a discarded run of each test first.
// usage: node bench/scripting.mjs [--requests 200000] [--clients 50] [--pipeline 16] [--threads 1,2] [--rounds 3] [--pin 1]
// --pin 1: redis-server and shardis --threads 1 run on CPU 0 and redis-benchmark on CPU 1 (taskset),
// so that on a 2-core machine the client does not take the server's core by turns (unpinned,
// redis-server's own 10-INCR figure moved between 84k and 148k within one run); --threads 2 and up
// stay unpinned.
import { spawn, execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// Servers start in an empty folder: a dump.rdb or appendonlydir left where the bench runs would
// be loaded (and a loaded file's replication info starts a backlog that feeds on every write).
const benchDir = () => mkdtempSync(join(tmpdir(), 'shardis-bench-'));
const args = Object.fromEntries(process.argv.slice(2).reduce((a, v, i, all) => (v.startsWith('--') ? [...a, [v.slice(2), all[i + 1]]] : a), []));
const requests = Number(args.requests ?? 200000);
const clients = Number(args.clients ?? 50);
const pipeline = Number(args.pipeline ?? 16);
const threadCounts = String(args.threads ?? '1,2').split(',').map(Number);
const rounds = Number(args.rounds ?? 3);
const pin = args.pin === '1';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const GET1 = "return redis.call('get', KEYS[1])";
const INCR10 = "for i = 1, 10 do redis.call('incr', KEYS[i]) end return 10";

function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function cli(port, ...a) {
  return execFileSync('redis-cli', ['-p', String(port), ...a], { encoding: 'utf8' }).trim();
}

async function start(command, argv, port, pinned) {
  const p = pinned ? spawn('taskset', ['-c', '0', command, ...argv], { stdio: ['ignore', 'ignore', 'inherit'], cwd: benchDir() })
    : spawn(command, argv, { stdio: ['ignore', 'ignore', 'inherit'], cwd: benchDir() });
  for (let i = 0; i < 300; i++) {
    try {
      if (cli(port, 'PING') === 'PONG') return p;
    } catch { /* not yet */ }
    await sleep(50);
  }
  p.kill('SIGKILL');
  throw new Error(`${command} did not start`);
}

function stop(p) {
  return new Promise((resolve) => {
    if (p.exitCode !== null) return resolve();
    p.once('exit', resolve);
    p.kill('SIGKILL');
  });
}

function bench(port, cmdArgs, pinned) {
  const tool = ['redis-benchmark', '-p', String(port), '-c', String(clients), '-n', String(requests), '-P', String(pipeline), '-r', '100000', '-q', ...cmdArgs];
  const out = pinned ? execFileSync('taskset', ['-c', '1', ...tool], { encoding: 'utf8' }) : execFileSync(tool[0], tool.slice(1), { encoding: 'utf8' });
  const m = /([\d.]+) requests per second/.exec(out.split('\r').pop() ?? out) ?? /([\d.]+) requests per second/.exec(out);
  return m ? Number(m[1]) : NaN;
}

async function measure(name, command, argv, port, pinned) {
  const p = await start(command, argv, port, pinned);
  try {
    const sha1 = cli(port, 'SCRIPT', 'LOAD', GET1);
    const sha10 = cli(port, 'SCRIPT', 'LOAD', INCR10);
    const keys10 = Array.from({ length: 10 }, () => 'key:__rand_int__');
    // Warm (the JIT compiles the path in the first second or so; redis-server has nothing to
    // warm): a discarded run of each first.
    bench(port, ['EVALSHA', sha1, '1', 'key:__rand_int__'], pinned);
    bench(port, ['EVALSHA', sha10, '10', ...keys10], pinned);
    const get = bench(port, ['EVALSHA', sha1, '1', 'key:__rand_int__'], pinned);
    const incr = bench(port, ['EVALSHA', sha10, '10', ...keys10], pinned);
    return { name, get, incr };
  } finally {
    await stop(p);
  }
}

// Rounds alternate the servers (redis-server, then each shardis), each on a fresh process, so
// that a slow spell of the machine (a VM's neighbours: redis-server's own figure moved between
// 270k and 420k from one run to the next here) hits every server; the median of each is kept.
const configs = [
  { name: 'redis-server', pinned: pin, command: 'redis-server', argv: (port) => ['--port', String(port), '--save', '', '--appendonly', 'no'] },
  ...threadCounts.map((t) => ({ name: `shardis --threads ${t}${pin && t === 1 ? ' (pinned)' : ''}`, pinned: pin && t === 1, command: process.execPath, argv: (port) => [join(root, 'dist', 'cli.js'), '--port', String(port), '--threads', String(t), '--save', ''] })),
];
const runs = configs.map(() => ({ get: [], incr: [] }));
for (let r = 0; r < rounds; r++) {
  for (let i = 0; i < configs.length; i++) {
    const port = await freePort();
    const m = await measure(configs[i].name, configs[i].command, configs[i].argv(port), port, configs[i].pinned);
    runs[i].get.push(m.get);
    runs[i].incr.push(m.incr);
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows = configs.map((c, i) => ({ name: c.name, get: median(runs[i].get), incr: median(runs[i].incr), runs: runs[i] }));
const base = rows[0];
console.log(`EVALSHA, ${clients} clients, -P ${pipeline}, ${requests} requests (requests/s, median of ${rounds} alternating rounds)${pin ? '; redis-server and --threads 1 pinned: server on CPU 0, client on CPU 1' : ''}`);
console.log(`${'server'.padEnd(30)}${'1 GET'.padStart(12)}${'ratio'.padStart(8)}${'10 INCR'.padStart(12)}${'ratio'.padStart(8)}   runs (1 GET; 10 INCR)`);
for (const r of rows) {
  console.log(`${r.name.padEnd(30)}${r.get.toFixed(0).padStart(12)}${(r.get / base.get).toFixed(2).padStart(8)}${r.incr.toFixed(0).padStart(12)}${(r.incr / base.incr).toFixed(2).padStart(8)}   ${r.runs.get.map((x) => x.toFixed(0)).join(' ')}; ${r.runs.incr.map((x) => x.toFixed(0)).join(' ')}`);
}

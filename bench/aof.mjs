// AOF cost, side by side with redis-server in one run (issue 11): SET at -P 16 with
// `appendfsync everysec` against the same server without AOF (bar: shardis >= 0.8x of itself
// without AOF), and SET at -P 1 -c 50 with `appendfsync always` (fsync-bound: group commit across
// threads) against redis-server's always, beside the same ratio without AOF.
// usage: npm run bench:aof [-- --threads 1,2 --requests N --always-requests N --clients 50]
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = Object.fromEntries(process.argv.slice(2).reduce((a, v, i, all) => (v.startsWith('--') ? [...a, [v.slice(2), all[i + 1]]] : a), []));
const threadsList = (args.threads ?? '1,2').split(',').map(Number);
const requests = Number(args.requests ?? 400000);
const alwaysRequests = Number(args['always-requests'] ?? 30000);
const clients = Number(args.clients ?? 50);

function ping(port) {
  return new Promise((resolve) => {
    const s = createConnection(port, '127.0.0.1');
    s.on('error', () => resolve(false));
    s.on('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => { s.destroy(); resolve(d.toString().startsWith('+PONG')); });
  });
}

let nextPort = 17379 + Math.floor(Math.random() * 1000);

async function start(kind, aof, threads) {
  const port = nextPort++;
  const dir = mkdtempSync(join(tmpdir(), `shardis-bench-aof-${kind}-`));
  const common = ['--port', String(port), '--save', '', '--dir', dir, ...(aof === 'off' ? ['--appendonly', 'no'] : ['--appendonly', 'yes', '--appendfsync', aof])];
  const p = kind === 'redis'
    ? spawn('redis-server', common, { stdio: ['ignore', 'ignore', 'inherit'] })
    : spawn('node', [join(root, 'dist/cli.js'), ...common, '--threads', String(threads), '--loglevel', 'warning'], { stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; i < 200; i++) {
    if (await ping(port)) return { p, port, dir };
    await new Promise((r) => setTimeout(r, 100));
  }
  p.kill('SIGKILL');
  throw new Error(`${kind} did not start`);
}

function stop(s) {
  return new Promise((resolve) => {
    s.p.once('exit', () => {
      rmSync(s.dir, { recursive: true, force: true });
      resolve();
    });
    s.p.kill('SIGKILL');
  });
}

function bench(port, P, n) {
  const out = execFileSync('redis-benchmark', ['-p', String(port), '-t', 'set', '-n', String(n), '-c', String(clients), '-P', String(P), '-r', '1000000', '-q'], { encoding: 'utf8' });
  const m = /([\d.]+) requests per second/.exec(out.replace(/\r/g, '\n').split('\n').filter((l) => l.includes('requests per second')).pop() ?? '');
  return m ? Number(m[1]) : NaN;
}

async function measure(kind, aof, threads, P, n) {
  const s = await start(kind, aof, threads);
  try {
    return bench(s.port, P, n);
  } finally {
    await stop(s);
  }
}

const f = (x) => x.toFixed(0).padStart(9);
for (const threads of threadsList) {
  // everysec at -P 16
  const rOff = await measure('redis', 'off', threads, 16, requests);
  const rEs = await measure('redis', 'everysec', threads, 16, requests);
  const sOff = await measure('shardis', 'off', threads, 16, requests);
  const sEs = await measure('shardis', 'everysec', threads, 16, requests);
  console.log(`threads=${threads} SET P=16 c=${clients}: redis off ${f(rOff)} everysec ${f(rEs)} (${(rEs / rOff).toFixed(2)}x) | shardis off ${f(sOff)} everysec ${f(sEs)} (${(sEs / sOff).toFixed(2)}x of itself, bar 0.80) | everysec shardis/redis ${(sEs / rEs).toFixed(2)}`);
  // always at -P 1
  const rOff1 = await measure('redis', 'off', threads, 1, alwaysRequests * 4);
  const sOff1 = await measure('shardis', 'off', threads, 1, alwaysRequests * 4);
  const rAl = await measure('redis', 'always', threads, 1, alwaysRequests);
  const sAl = await measure('shardis', 'always', threads, 1, alwaysRequests);
  console.log(`threads=${threads} SET P=1 c=${clients}: no AOF shardis/redis ${(sOff1 / rOff1).toFixed(2)} (${f(sOff1)} / ${f(rOff1)}) | always shardis/redis ${(sAl / rAl).toFixed(2)} (${f(sAl)} / ${f(rAl)})`);
}

// AOF cost, side by side with redis-server in one run (issue 11): SET at -P 16 with
// `appendfsync everysec` against the same server without AOF (bar: shardis >= 0.8x of itself
// without AOF), and SET at -P 1 -c 50 with `appendfsync always` (fsync-bound: group commit across
// threads) against redis-server's always, beside the same ratio without AOF. And BGREWRITEAOF of
// 1M keys under redis-benchmark load (SET over the same keys, -c 50): p99 during the rewrite
// against p99 without one (bar: <= 2x), redis-server (which forks) beside.
// usage: npm run bench:aof [-- --threads 1,2 --requests N --always-requests N --clients 50
//                             --parts everysec,always,rewrite --keys 1000000]
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
const parts = (args.parts ?? 'everysec,always,rewrite').split(',');
const rewriteKeys = Number(args.keys ?? 1000000);

function ping(port) {
  return new Promise((resolve) => {
    const s = createConnection(port, '127.0.0.1');
    s.on('error', () => resolve(false));
    s.on('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => { s.destroy(); resolve(d.toString().startsWith('+PONG')); });
  });
}

let nextPort = 17379 + Math.floor(Math.random() * 1000);

async function start(kind, aof, threads, extra = []) {
  const port = nextPort++;
  const dir = mkdtempSync(join(tmpdir(), `shardis-bench-aof-${kind}-`));
  const common = ['--port', String(port), '--save', '', '--dir', dir, ...(aof === 'off' ? ['--appendonly', 'no'] : ['--appendonly', 'yes', '--appendfsync', aof]), ...extra];
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
const uptime = () => execFileSync('uptime', { encoding: 'utf8' }).trim();

function cli(port, ...a) {
  return execFileSync('redis-cli', ['-p', String(port), ...a], { encoding: 'utf8' }).trim();
}

function infoField(port, field) {
  return new RegExp(`^${field}:(.*)$`, 'm').exec(cli(port, 'INFO', 'persistence'))?.[1]?.trim() ?? '';
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** redis-benchmark SET over the populated keys; resolves { rps, p50, p99, max, secs } (its CSV). */
function latencyRun(port, n) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const p = spawn('redis-benchmark', ['-p', String(port), '-t', 'set', '-n', String(n), '-c', String(clients), '-P', '1', '-r', String(rewriteKeys), '-d', '16', '--csv'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.on('error', reject);
    p.on('exit', () => {
      const line = out.split('\n').find((l) => l.startsWith('"SET"'));
      if (line === undefined) return reject(new Error(`redis-benchmark: ${out}`));
      const v = line.split(',').map((x) => Number(x.replace(/"/g, '')));
      resolve({ rps: v[1], p50: v[4], p99: v[6], max: v[7], secs: (Date.now() - t0) / 1000 });
    });
  });
}

async function waitRewrite(port) {
  while (infoField(port, 'aof_rewrite_in_progress') !== '0' || infoField(port, 'aof_rewrite_scheduled') !== '0') await sleep(20);
}

/**
 * BGREWRITEAOF of `rewriteKeys` keys: its time alone, then a SET load (-c clients, over the same
 * keys) in short redis-benchmark runs (~0.4 s each): runs without a rewrite, then runs started
 * while a rewrite is in progress, keeping those that also ended before it did (a run's p99 is then
 * all "during"). Reported: the median p99 of each set and their ratio (bar <= 2x).
 */
async function rewriteLatency(kind, threads) {
  const s = await start(kind, 'everysec', threads, ['--enable-debug-command', 'yes', '--auto-aof-rewrite-percentage', '0']);
  try {
    cli(s.port, 'DEBUG', 'POPULATE', String(rewriteKeys), 'key', '16');
    // The first rewrite puts the keys in a base; the second is timed alone.
    cli(s.port, 'BGREWRITEAOF');
    await waitRewrite(s.port);
    let t = Date.now();
    cli(s.port, 'BGREWRITEAOF');
    await waitRewrite(s.port);
    const alone = (Date.now() - t) / 1000;
    const warm = await latencyRun(s.port, 20000);
    const chunk = Math.max(2000, Math.round(warm.rps * 0.4));
    const base = [];
    const during = [];
    let discarded = 0;
    let rewriteSecs = 0;
    // Rounds of runs without, then runs inside a rewrite: the machine's other load changes
    // over time, and this spreads it over both sets.
    const rounds = 3;
    for (let k = 0; k < rounds; k++) {
      for (let i = 0; i < 2; i++) base.push(await latencyRun(s.port, chunk));
      t = Date.now();
      cli(s.port, 'BGREWRITEAOF');
      for (;;) {
        if (infoField(s.port, 'aof_rewrite_in_progress') === '0') break;
        const r = await latencyRun(s.port, chunk);
        if (infoField(s.port, 'aof_rewrite_in_progress') === '1') during.push(r);
        else discarded++;
      }
      await waitRewrite(s.port);
      rewriteSecs += (Date.now() - t) / 1000 / rounds;
    }
    return { alone, base, during, discarded, rewriteSecs };
  } finally {
    await stop(s);
  }
}

const median = (a) => {
  const v = [...a].sort((x, y) => x - y);
  return v.length === 0 ? NaN : v[Math.floor((v.length - 1) / 2)];
};

for (const threads of threadsList) {
  if (parts.includes('everysec')) {
    // everysec at -P 16
    const rOff = await measure('redis', 'off', threads, 16, requests);
    const rEs = await measure('redis', 'everysec', threads, 16, requests);
    const sOff = await measure('shardis', 'off', threads, 16, requests);
    const sEs = await measure('shardis', 'everysec', threads, 16, requests);
    console.log(`threads=${threads} SET P=16 c=${clients}: redis off ${f(rOff)} everysec ${f(rEs)} (${(rEs / rOff).toFixed(2)}x) | shardis off ${f(sOff)} everysec ${f(sEs)} (${(sEs / sOff).toFixed(2)}x of itself, bar 0.80) | everysec shardis/redis ${(sEs / rEs).toFixed(2)}  [${uptime()}]`);
  }
  if (parts.includes('always')) {
    // always at -P 1
    const rOff1 = await measure('redis', 'off', threads, 1, alwaysRequests * 4);
    const sOff1 = await measure('shardis', 'off', threads, 1, alwaysRequests * 4);
    const rAl = await measure('redis', 'always', threads, 1, alwaysRequests);
    const sAl = await measure('shardis', 'always', threads, 1, alwaysRequests);
    console.log(`threads=${threads} SET P=1 c=${clients}: no AOF shardis/redis ${(sOff1 / rOff1).toFixed(2)} (${f(sOff1)} / ${f(rOff1)}) | always shardis/redis ${(sAl / rAl).toFixed(2)} (${f(sAl)} / ${f(rAl)})  [${uptime()}]`);
  }
  if (parts.includes('rewrite')) {
    for (const kind of ['redis', 'shardis']) {
      if (kind === 'redis' && threads !== threadsList[0]) continue;
      const r = await rewriteLatency(kind, threads);
      const b99 = median(r.base.map((x) => x.p99));
      const d99 = median(r.during.map((x) => x.p99));
      const bRps = median(r.base.map((x) => x.rps));
      const dRps = median(r.during.map((x) => x.rps));
      console.log(`${kind}${kind === 'shardis' ? ` threads=${threads}` : ''} BGREWRITEAOF of ${rewriteKeys} keys: alone ${r.alone.toFixed(2)} s, under load ${r.rewriteSecs.toFixed(2)} s | SET c=${clients} p99 (median of runs) without ${b99.toFixed(2)} ms (${r.base.length} runs, ${f(bRps)}/s), during ${d99.toFixed(2)} ms (${r.during.length} runs inside a rewrite, ${r.discarded} dropped, ${f(dRps)}/s) | p99 ratio ${(d99 / b99).toFixed(2)} (bar 2.00); worst run p99 ${Math.max(...r.base.map((x) => x.p99)).toFixed(1)} -> ${Math.max(...r.during.map((x) => x.p99)).toFixed(1)} ms  [${uptime()}]`);
    }
  }
}

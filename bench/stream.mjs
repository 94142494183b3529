// Propagation stream benchmark (issue 9): SET at -P 16 on shardis with and without a stream reader
// attached, in the same run, printed as a ratio (the issue's bar: >= 0.9). The reader is the test
// capture (SHARDIS_CAPTURE_STREAM, src/server/stream-capture.ts), a thread that only consumes:
// it copies what is appended to a file (/dev/null by default), as the AOF writer or a replication
// link would. Runs alternate without/with on fresh servers; the median of --rounds is reported.
// usage: npm run bench:stream [-- --threads 1,2 --requests 300000 --clients 50 --pipeline 16
//                                 --rounds 3 --tests set --capture /dev/null --shardisargs '...'
//                                 --pin 1]
import { spawn, execFileSync } from 'node:child_process';
import { createConnection } from 'node:net';
import { readFileSync, readdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// Servers start in an empty folder: a dump.rdb or appendonlydir left where the bench runs would
// be loaded (and a loaded file's replication info starts a backlog that feeds on every write).
const benchDir = () => mkdtempSync(join(tmpdir(), 'shardis-bench-'));
const args = Object.fromEntries(process.argv.slice(2).reduce((a, v, i, all) => (v.startsWith('--') ? [...a, [v.slice(2), all[i + 1]]] : a), []));
const threadList = (args.threads ?? '1,2').split(',').map(Number);
const requests = Number(args.requests ?? 300000);
const clients = Number(args.clients ?? 50);
const P = Number(args.pipeline ?? 16);
const rounds = Number(args.rounds ?? 3);
const tests = (args.tests ?? 'set').split(',');
const capture = args.capture ?? '/dev/null';
const shardisExtra = args.shardisargs ? args.shardisargs.split(' ') : [];
const port = 18000 + Math.floor(Math.random() * 900);
// --pin 1: at --threads 1 the server (its worker, the reader thread, the main thread) runs on
// CPU 0 and redis-benchmark on CPU 1, so the client does not take the worker's core by turns on
// a 2-core machine; the reader then shares the worker's core (it has its own on a bigger one).
const pin = args.pin === '1';

const children = new Set();
process.on('exit', () => { for (const p of children) p.kill('SIGKILL'); });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

function ping() {
  return new Promise((resolve) => {
    const s = createConnection(port, '127.0.0.1');
    s.on('error', () => resolve(false));
    s.on('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => { s.destroy(); resolve(d.toString().startsWith('+PONG')); }); // not -LOADING
  });
}

async function start(threads, reader) {
  const env = { ...process.env };
  delete env.SHARDIS_CAPTURE_STREAM;
  if (reader) env.SHARDIS_CAPTURE_STREAM = capture;
  const argv = [join(root, 'dist/cli.js'), '--port', String(port), '--threads', String(threads), '--save', '', '--appendonly', 'no', '--loglevel', 'warning', ...shardisExtra];
  const pinned = pin && threads === 1;
  const p = pinned ? spawn('taskset', ['-c', '0', 'node', ...argv], { stdio: ['ignore', 'ignore', 'inherit'], env, cwd: benchDir() })
    : spawn('node', argv, { stdio: ['ignore', 'ignore', 'inherit'], env, cwd: benchDir() });
  p.pinned = pinned;
  children.add(p);
  for (let i = 0; i < 100; i++) {
    if (await ping()) return p;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('shardis did not start');
}

function stop(p) {
  return new Promise((resolve) => { p.once('exit', () => { children.delete(p); resolve(); }); p.kill('SIGKILL'); });
}

function bench(test, n, pinned) {
  const tool = ['redis-benchmark', '-p', String(port), '-t', test, '-n', String(n), '-c', String(clients), '-P', String(P), '-r', '1000000', '-q'];
  const out = pinned ? execFileSync('taskset', ['-c', '1', ...tool], { encoding: 'utf8' }) : execFileSync(tool[0], tool.slice(1), { encoding: 'utf8' });
  const m = /([\d.]+) requests per second/.exec(out.replace(/\r/g, '\n').split('\n').filter((l) => l.includes('requests per second')).pop() ?? '');
  return m ? Number(m[1]) : NaN;
}

// CPU seconds (user + system) of each thread of a process, by thread id.
function cpuByThread(pid) {
  const out = new Map();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const f = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ');
      out.set(tid, (Number(f[11]) + Number(f[12])) / 100);
    } catch { /* thread gone */ }
  }
  return out;
}
// CPU microseconds per request spent by the server's threads over a run (the busiest few listed).
function cpuDelta(before, after, n) {
  const d = [];
  for (const [tid, t] of after) d.push(t - (before.get(tid) ?? 0));
  d.sort((x, y) => y - x);
  const total = d.reduce((a, x) => a + x, 0);
  return { total: (total * 1e6) / n, top: d.slice(0, 4).map((x) => ((x * 1e6) / n).toFixed(2)) };
}

const median = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };

for (const threads of threadList) {
  for (const test of tests) {
    const res = { without: [], with: [] };
    const cpu = { without: [], with: [] };
    for (let r = 0; r < rounds; r++) {
      for (const reader of r % 2 === 0 ? [false, true] : [true, false]) {
        const p = await start(threads, reader);
        try {
          bench(test, Math.round(requests / 4), p.pinned); // warm-up (JIT, young generation), discarded
          const c0 = cpuByThread(p.pid);
          res[reader ? 'with' : 'without'].push(bench(test, requests, p.pinned));
          cpu[reader ? 'with' : 'without'].push(cpuDelta(c0, cpuByThread(p.pid), requests));
        } finally {
          await stop(p);
        }
      }
    }
    const a = median(res.without);
    const b = median(res.with);
    console.log(`${test} P=${P} threads=${threads}${pin && threads === 1 ? ' (pinned)' : ''}: without reader ${a.toFixed(0).padStart(8)}  with reader ${b.toFixed(0).padStart(8)}  ratio ${(b / a).toFixed(2)}  (runs: without ${res.without.map((x) => x.toFixed(0)).join(' ')}; with ${res.with.map((x) => x.toFixed(0)).join(' ')})`);
    for (const k of ['without', 'with']) console.log(`  server CPU us/request ${k.padEnd(7)}: ${cpu[k].map((c) => `${c.total.toFixed(2)} [${c.top.join(' ')}]`).join('; ')}`);
  }
}

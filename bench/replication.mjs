// Replication, master side: SET at -P 16 on a master without a replica and with one stock
// redis-server replica attached (shardis and redis-server masters in the same run), and the
// replica's lag (master_repl_offset - slave_repl_offset) sampled while the load runs.
// usage: node bench/replication.mjs [--requests 1000000] [--clients 50] [--pipeline 16] [--threads 2] [--rounds 2]
import { spawn, execFile, execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = Object.fromEntries(process.argv.slice(2).reduce((a, v, i, all) => (v.startsWith('--') ? [...a, [v.slice(2), all[i + 1]]] : a), []));
const requests = Number(args.requests ?? 1000000);
const clients = Number(args.clients ?? 50);
const pipeline = Number(args.pipeline ?? 16);
const threads = Number(args.threads ?? 2);
const rounds = Number(args.rounds ?? 2);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

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

function field(port, section, name) {
  const m = new RegExp(`^${name}:(.*)$`, 'm').exec(cli(port, 'INFO', section));
  return m ? m[1].trim() : '';
}

async function start(command, argv, port, cwd) {
  const p = spawn(command, argv, { stdio: ['ignore', 'ignore', 'inherit'], cwd });
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

/** SET at -P pipeline; while it runs, sample the replica's lag every 100 ms (when there is one). */
async function setLoad(port, replicaPort) {
  const lags = [];
  let done = false;
  const run = new Promise((resolve, reject) => {
    execFile('redis-benchmark', ['-p', String(port), '-c', String(clients), '-n', String(requests), '-P', String(pipeline), '-r', '1000000', '-q', '-t', 'set'], { encoding: 'utf8' }, (e, out) => {
      done = true;
      if (e) return reject(e);
      const m = /([\d.]+) requests per second/.exec(out.split('\r').pop() ?? out) ?? /([\d.]+) requests per second/.exec(out);
      resolve(m ? Number(m[1]) : NaN);
    });
  });
  if (replicaPort !== null) {
    while (!done) {
      await sleep(100);
      try {
        const ro = Number(field(replicaPort, 'replication', 'slave_repl_offset'));
        const mo = Number(field(port, 'replication', 'master_repl_offset'));
        if (mo > 0 && ro > 0) lags.push(mo - ro);
      } catch { /* a sample lost */ }
    }
  }
  const rps = await run;
  lags.sort((a, b) => a - b);
  return { rps, lagMed: lags.length ? lags[lags.length >> 1] : NaN, lagMax: lags.length ? lags[lags.length - 1] : NaN };
}

async function measure(name, command, argvOf) {
  const dir = mkdtempSync(join(tmpdir(), 'shardis-bench-repl-'));
  const port = await freePort();
  const m = await start(command, argvOf(port), port, dir);
  let r = null;
  try {
    const alone = [];
    for (let i = 0; i < rounds; i++) alone.push((await setLoad(port, null)).rps);
    const rport = await freePort();
    r = await start('redis-server', ['--port', String(rport), '--save', '', '--appendonly', 'no', '--enable-debug-command', 'yes', '--dir', dir, '--replicaof', '127.0.0.1', String(port)], rport, dir);
    for (let i = 0; i < 400 && field(rport, 'replication', 'master_link_status') !== 'up'; i++) await sleep(50);
    const withReplica = [];
    for (let i = 0; i < rounds; i++) withReplica.push(await setLoad(port, rport));
    // The replica has everything once the load stops: the digests agree.
    for (let i = 0; i < 200 && Number(field(rport, 'replication', 'slave_repl_offset')) < Number(field(port, 'replication', 'master_repl_offset')); i++) await sleep(50);
    const same = cli(port, 'DEBUG', 'DIGEST') === cli(rport, 'DEBUG', 'DIGEST');
    const best = (a) => Math.max(...a);
    const bestW = withReplica.reduce((x, y) => (y.rps > x.rps ? y : x));
    return { name, alone: best(alone), withReplica: bestW.rps, lagMed: bestW.lagMed, lagMax: bestW.lagMax, same };
  } finally {
    if (r !== null) await stop(r);
    await stop(m);
    rmSync(dir, { recursive: true, force: true });
  }
}

const rows = [];
rows.push(await measure('redis-server', 'redis-server', (p) => ['--port', String(p), '--save', '', '--appendonly', 'no', '--enable-debug-command', 'yes']));
rows.push(await measure(`shardis --threads ${threads}`, process.execPath, (p) => [process.env.SHARDIS_CLI ?? join(root, 'dist', 'cli.js'), '--port', String(p), '--threads', String(threads), '--save', '', '--enable-debug-command', 'yes']));
console.log(`SET, ${clients} clients, -P ${pipeline}, ${requests} requests, best of ${rounds} (requests/s); replica lag in bytes (median, max) sampled every 100 ms`);
console.log(`${'master'.padEnd(22)}${'alone'.padStart(10)}${'1 replica'.padStart(11)}${'ratio'.padStart(7)}${'lag med'.padStart(10)}${'lag max'.padStart(11)}  digest`);
for (const r of rows) {
  console.log(`${r.name.padEnd(22)}${r.alone.toFixed(0).padStart(10)}${r.withReplica.toFixed(0).padStart(11)}${(r.withReplica / r.alone).toFixed(2).padStart(7)}${String(r.lagMed).padStart(10)}${String(r.lagMax).padStart(11)}  ${r.same ? 'same' : 'DIFFERENT'}`);
}

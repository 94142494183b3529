// Transactions and pub/sub, redis-server and shardis in the same run, same load generator.
//   multi5     MULTI + 5 commands + EXEC per transaction (requests/s counts the 7 commands)
//   publish/1  PUBLISH to a channel with 1 subscriber
//   publish/50 PUBLISH to a channel with 50 subscribers (raw sockets reading everything)
// The generator: raw sockets, pre-encoded requests, every connection keeps `pipeline` requests
// (transactions) in flight; replies are counted by their exact byte length (all replies of a
// test have fixed sizes), so the client does almost no work per reply.
// usage: node bench/transactions-pubsub.mjs [--threads 1] [--clients 50] [--pipeline 1,16] [--seconds 2]
import { spawn } from 'node:child_process';
import { createConnection, createServer } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// Servers start in an empty folder: a dump.rdb or appendonlydir left where the bench runs would
// be loaded (and a loaded file's replication info starts a backlog that feeds on every write).
const benchDir = () => mkdtempSync(join(tmpdir(), 'shardis-bench-'));
const args = Object.fromEntries(process.argv.slice(2).reduce((a, v, i, all) => (v.startsWith('--') ? [...a, [v.slice(2), all[i + 1]]] : a), []));
const threads = Number(args.threads ?? 1);
const clients = Number(args.clients ?? 50);
const pipelines = String(args.pipeline ?? '1,16').split(',').map(Number);
const seconds = Number(args.seconds ?? 2);
const tests = String(args.tests ?? 'multi5,publish1,publish50').split(',');

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

function cmd(...a) {
  return Buffer.from(`*${a.length}\r\n${a.map((x) => `$${Buffer.byteLength(x)}\r\n${x}\r\n`).join('')}`, 'latin1');
}

function connect(port) {
  return new Promise((resolve, reject) => {
    const s = createConnection({ port, host: '127.0.0.1' }, () => {
      s.setNoDelay(true);
      resolve(s);
    });
    s.once('error', reject);
  });
}

async function ping(port) {
  try {
    const s = await connect(port);
    return await new Promise((resolve) => {
      s.once('data', () => {
        s.destroy();
        resolve(true);
      });
      s.write(cmd('PING'));
    });
  } catch {
    return false;
  }
}

async function start(name, command, argv, port) {
  const p = spawn(command, argv, { stdio: ['ignore', 'ignore', 'inherit'], cwd: benchDir() });
  for (let i = 0; i < 200; i++) {
    if (await ping(port)) return p;
    await sleep(50);
  }
  p.kill('SIGKILL');
  throw new Error(`${name} did not start`);
}

function stop(p) {
  return new Promise((resolve) => {
    if (p.exitCode !== null) return resolve();
    p.once('exit', resolve);
    p.kill('SIGKILL');
  });
}

/** One command on a fresh connection; resolves with the raw reply text. */
async function once(port, ...a) {
  const s = await connect(port);
  return new Promise((resolve) => {
    let b = '';
    s.on('data', (d) => {
      b += d.toString('latin1');
      if (b.endsWith('\r\n')) {
        s.destroy();
        resolve(b);
      }
    });
    s.write(cmd(...a));
  });
}

/**
 * Closed-loop load: each of `clients` connections keeps `pipeline` units in flight; a unit is
 * `request` (bytes) answered by exactly `replyLen` bytes. Returns units per second.
 */
async function load(port, request, replyLen, pipeline) {
  const socks = await Promise.all(Array.from({ length: clients }, () => connect(port)));
  let units = 0;
  let counting = false;
  let running = true;
  const batch = Buffer.concat(Array.from({ length: pipeline }, () => request));
  for (const s of socks) {
    let pending = 0; // bytes of replies received towards the current batch
    s.on('data', (d) => {
      pending += d.length;
      const done = Math.floor(pending / replyLen);
      if (done === 0) return;
      pending -= done * replyLen;
      if (counting) units += done;
      if (!running) return;
      // Refill what came back, a whole batch at a time when possible.
      if (done === pipeline) s.write(batch);
      else for (let i = 0; i < done; i++) s.write(request);
    });
    s.on('error', () => {});
    s.write(batch);
  }
  await sleep(300); // warm-up
  counting = true;
  const t0 = performance.now();
  await sleep(seconds * 1000);
  counting = false;
  const dt = (performance.now() - t0) / 1000;
  running = false;
  await sleep(100);
  for (const s of socks) s.destroy();
  return units / dt;
}

/** Subscribers that read (and count) everything; resolves once all are subscribed. */
async function subscribers(port, channel, n, message) {
  const ack = `*3\r\n$9\r\nsubscribe\r\n$${channel.length}\r\n${channel}\r\n:1\r\n`.length;
  const msgLen = `*3\r\n$7\r\nmessage\r\n$${channel.length}\r\n${channel}\r\n$${message.length}\r\n${message}\r\n`.length;
  const socks = await Promise.all(Array.from({ length: n }, () => connect(port)));
  const got = new Array(n).fill(0);
  let closed = 0;
  await Promise.all(
    socks.map(
      (s, i) =>
        new Promise((resolve) => {
          let bytes = -ack;
          s.on('data', (d) => {
            bytes += d.length;
            got[i] = Math.floor(Math.max(0, bytes) / msgLen);
            if (bytes >= 0) resolve();
          });
          s.on('close', () => closed++);
          s.on('error', () => {});
          s.write(cmd('SUBSCRIBE', channel));
        }),
    ),
  );
  return {
    received: () => got.reduce((a, b) => a + b, 0),
    closed: () => closed,
    stop: () => socks.forEach((s) => s.destroy()),
  };
}

async function multi5(port, pipeline) {
  const tx = Buffer.concat([
    cmd('MULTI'),
    cmd('SET', 'b5:a', 'v'),
    cmd('GET', 'b5:a'),
    cmd('SET', 'b5:b', 'w'),
    cmd('GET', 'b5:b'),
    cmd('EXISTS', 'b5:a'),
    cmd('EXEC'),
  ]);
  const reply = '+OK\r\n' + '+QUEUED\r\n'.repeat(5) + '*5\r\n+OK\r\n$1\r\nv\r\n+OK\r\n$1\r\nw\r\n:1\r\n';
  const txs = await load(port, tx, reply.length, pipeline);
  return { rps: txs * 7, note: `${Math.round(txs)} tx/s` };
}

async function publishTo(port, n, pipeline) {
  const channel = `bench:ch${n}`;
  const message = 'hello-subscribers';
  const subs = await subscribers(port, channel, n, message);
  const before = subs.received();
  const t0 = performance.now();
  const rps = await load(port, cmd('PUBLISH', channel, message), `:${n}\r\n`.length, pipeline);
  // Let the subscribers drain what is on its way, then check nothing was lost.
  let last = -1;
  for (let i = 0; i < 100 && subs.received() !== last; i++) {
    last = subs.received();
    await sleep(50);
  }
  const dt = (performance.now() - t0) / 1000;
  const delivered = subs.received() - before;
  const closed = subs.closed();
  subs.stop();
  return { rps, note: `${Math.round(delivered / dt)} msgs/s delivered${closed ? `, ${closed} subscribers CLOSED` : ''}` };
}

const TESTS = {
  multi5: (port, P) => multi5(port, P),
  publish1: (port, P) => publishTo(port, 1, P),
  publish50: (port, P) => publishTo(port, 50, P),
};

const [rport, sport] = [await freePort(), await freePort()];
const servers = [];
try {
  const redis = await start('redis-server', 'redis-server', ['--port', String(rport), '--save', '', '--appendonly', 'no'], rport);
  servers.push(redis);
  const shardis = await start('shardis', process.execPath, [join(root, 'dist', 'cli.js'), '--port', String(sport), '--threads', String(threads), '--save', '', '--appendonly', 'no'], sport);
  servers.push(shardis);
  // Readers keep up here; no limit so a momentary lag cuts nobody off on either server.
  for (const port of [rport, sport]) await once(port, 'CONFIG', 'SET', 'client-output-buffer-limit', 'pubsub 0 0 0');
  console.log(`clients=${clients} seconds=${seconds} shardis --threads ${threads}`);
  console.log(['test'.padEnd(16), 'redis req/s'.padStart(12), 'shardis req/s'.padStart(14), 'ratio'.padStart(7), '  notes (redis | shardis)'].join(''));
  for (const name of tests) {
    for (const P of pipelines) {
      const r = await TESTS[name](rport, P);
      const s = await TESTS[name](sport, P);
      console.log(
        [`${name} P=${P}`.padEnd(16), Math.round(r.rps).toString().padStart(12), Math.round(s.rps).toString().padStart(14), (s.rps / r.rps).toFixed(2).padStart(7), `  ${r.note} | ${s.note}`].join(''),
      );
    }
  }
} finally {
  for (const p of servers) await stop(p);
}

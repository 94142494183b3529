// RDB benchmark (issue 10), redis-server and shardis side by side:
//  1. SAVE of N string keys: seconds, file MB, MB/s.
//  2. redis-benchmark SET/GET p99 without a save, then while a BGSAVE of the same keys runs
//     (redis-server forks; shardis walks slots with copy-before-write): p99, save duration,
//     peak extra RSS of the server (shardis; redis-server: parent and fork child) and rdb_last_cow_size.
//  3. The same with one big sorted set (--zset members) instead of many keys.
//  4. probe: during a BGSAVE of the big sorted set alone, one client SETs a key in the zset's slot
//     and another a key in another slot, back to back: the worst latency of each (how long one
//     huge value can hold a slot lock), and a ZADD to the zset itself mid-save.
//  5. string: the same probe with one huge string (--string MB of text) instead of the zset, and
//     a SETRANGE to it mid-save.
//  6. list: one list of --list elements (~36 bytes each); for each of LPUSH, RPUSH, LSET (middle),
//     LINSERT, LPOP, RPOP, LTRIM, DEL, RENAME, SET over it: a BGSAVE (rdb-key-save-delay 1000 so
//     that the list is half written), then that one command timed while the save is in
//     progress (a fork costs it nothing; shardis copies at most the nodes it changes).
//  7. stream: the probe of 4 with one stream of --stream-entries entries (and an XADD to it mid-save).
// usage: npm run bench:rdb [-- --keys 1000000 --zset 5000000 --string 512 --list 3000000 --stream-entries 1000000 --threads 2 --requests 200000 --clients 50 --parts save,bgsave,zset,probe,string,list --port 18000]
import { spawn, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync, statSync, mkdtempSync, rmSync, readdirSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join, dirname } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = Object.fromEntries(process.argv.slice(2).reduce((a, v, i, all) => (v.startsWith('--') ? [...a, [v.slice(2), all[i + 1]]] : a), []));
const nkeys = Number(args.keys ?? 1000000);
const zsetN = Number(args.zset ?? 5000000);
const stringMb = Number(args.string ?? 512);
const listN = Number(args.list ?? 3000000);
const streamN = Number(args['stream-entries'] ?? 1000000);
const threads = Number(args.threads ?? 2);
const requests = Number(args.requests ?? 200000);
const clients = Number(args.clients ?? 50);
const parts = new Set((args.parts ?? 'save,bgsave,zset,probe').split(','));
const kinds = (args.servers ?? 'redis,shardis').split(',');
const cli = args.cli ?? join(root, 'dist/cli.js');
const run = promisify(execFile);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const children = new Set();
process.on('exit', () => { for (const p of children) p.kill('SIGKILL'); });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

function ping(port) {
  return new Promise((resolve) => {
    const s = createConnection(port, '127.0.0.1');
    s.on('error', () => resolve(false));
    s.on('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => { s.destroy(); resolve(d.toString().startsWith('+PONG')); });
  });
}

async function start(kind, port, dir) {
  const p = kind === 'redis'
    ? spawn('redis-server', ['--port', String(port), '--dir', dir, '--save', '', '--appendonly', 'no', '--loglevel', 'warning'], { stdio: ['ignore', 'ignore', 'inherit'] })
    : spawn('node', [cli, '--port', String(port), '--dir', dir, '--threads', String(threads), '--save', '', '--appendonly', 'no', '--loglevel', 'warning'], { stdio: ['ignore', 'ignore', 'inherit'] });
  children.add(p);
  p.once('exit', () => children.delete(p));
  for (let i = 0; i < 600; i++) {
    if (await ping(port)) return p;
    await sleep(100);
  }
  throw new Error(`${kind} did not start`);
}

async function stop(p, port) {
  try { await run('redis-cli', ['-p', String(port), 'shutdown', 'nosave']); } catch { /* exits */ }
  for (let i = 0; i < 100 && children.has(p); i++) await sleep(100);
  if (children.has(p)) p.kill('SIGKILL');
}

async function rc(port, ...a) {
  const { stdout } = await run('redis-cli', ['-p', String(port), ...a], { maxBuffer: 64 << 20 });
  return stdout.trim();
}

async function info(port, field) {
  const out = await rc(port, 'info', 'persistence');
  const m = new RegExp(`^${field}:(.*)$`, 'm').exec(out);
  return m ? m[1].trim() : '';
}

/** Feed RESP commands through redis-cli --pipe. */
function pipe(port, gen) {
  return new Promise((resolve, reject) => {
    const p = spawn('redis-cli', ['-p', String(port), '--pipe'], { stdio: ['pipe', 'ignore', 'inherit'] });
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`redis-cli --pipe exited ${code}`))));
    const resp = (parts) => `*${parts.length}\r\n${parts.map((x) => `$${Buffer.byteLength(x)}\r\n${x}\r\n`).join('')}`;
    let buf = '';
    (async () => {
      for (const cmd of gen()) {
        buf += resp(cmd);
        if (buf.length > 1 << 20) {
          if (!p.stdin.write(buf)) await new Promise((r) => p.stdin.once('drain', r));
          buf = '';
        }
      }
      p.stdin.end(buf);
    })();
  });
}

function* stringKeys() {
  for (let i = 0; i < nkeys; i++) yield ['SET', `key:${i}`, `value:${i}:${'x'.repeat(20)}`];
}
function* bigString() {
  const words = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta'];
  for (let m = 0; m < stringMb; m++) {
    const a = [];
    for (let i = 0, len = 0; len < 1 << 20; i++) {
      const w = `${words[(i * 7 + m) % 6]}${(i * 31 + m * 17) % 100000} `;
      a.push(w);
      len += w.length;
    }
    yield ['APPEND', 'bigs', a.join('').slice(0, 1 << 20)];
  }
}
function* bigZset() {
  const batch = 1000;
  for (let i = 0; i < zsetN; i += batch) {
    const cmd = ['ZADD', 'bigz'];
    for (let j = i; j < Math.min(zsetN, i + batch); j++) cmd.push(String((j * 7919) % 1000003), `member:${j}`);
    yield cmd;
  }
}

/** p99 (ms) of SET and GET from redis-benchmark --csv. */
async function benchP99(port) {
  const { stdout } = await run('redis-benchmark', ['-p', String(port), '-t', 'set,get', '-n', String(requests), '-c', String(clients), '-r', String(nkeys), '--csv'], { maxBuffer: 16 << 20 });
  const out = {};
  for (const line of stdout.split('\n')) {
    const f = line.split('","').map((x) => x.replace(/"/g, ''));
    if (f[0] === 'SET' || f[0] === 'GET') out[f[0]] = { rps: Number(f[1]), p99: Number(f[6]) };
  }
  return out;
}

function rssOf(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch { return 0; }
}
/** RSS of a process and its children (redis-server's fork child). */
function treeRss(pid) {
  let total = rssOf(pid);
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const st = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) total += rssOf(Number(d));
    } catch { /* gone */ }
  }
  return total;
}

async function bgsaveUnderLoad(port, pid) {
  const base = treeRss(pid);
  let peak = base;
  const t0 = Date.now();
  await rc(port, 'bgsave');
  let saving = true;
  let duration = 0;
  const watcher = (async () => {
    while (saving) {
      peak = Math.max(peak, treeRss(pid));
      if ((await info(port, 'rdb_bgsave_in_progress')) === '0') {
        duration = (Date.now() - t0) / 1000;
        saving = false;
        break;
      }
      await sleep(20);
    }
  })();
  const during = await benchP99(port);
  const benchEnd = (Date.now() - t0) / 1000;
  await watcher;
  return { during, duration, benchEnd, extraRss: peak - base, cow: Number(await info(port, 'rdb_last_cow_size')), status: await info(port, 'rdb_last_bgsave_status') };
}

const mb = (b) => (b / 1048576).toFixed(1);
const results = {};
let port = args.port !== undefined ? Number(args.port) : 18000 + Math.floor(Math.random() * 900);
/** One connection sending `cmd` back to back until stop(): the worst and the p99 round trip (ms). */
function prober(port, cmd) {
  const s = createConnection(port, '127.0.0.1');
  const req = `*${cmd.length}\r\n${cmd.map((x) => `$${Buffer.byteLength(x)}\r\n${x}\r\n`).join('')}`;
  const lat = [];
  let running = true;
  let t0 = 0n;
  let done;
  const finished = new Promise((r) => (done = r));
  const send = () => {
    t0 = process.hrtime.bigint();
    s.write(req);
  };
  s.on('connect', send);
  s.on('data', () => {
    lat.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (running) send();
    else {
      s.destroy();
      done();
    }
  });
  return {
    async stop() {
      running = false;
      await finished;
      lat.sort((a, b) => a - b);
      return { n: lat.length, max: lat[lat.length - 1] ?? 0, p99: lat[Math.floor(lat.length * 0.99)] ?? 0 };
    },
  };
}

/** Worst latencies on the big value's slot and another slot while a BGSAVE of it runs. */
async function probe(port, big = 'bigz', write = ['zadd', 'bigz', '1', 'added-during-save']) {
  const near = `{${big}}:near`;
  await rc(port, 'set', near, 'x');
  // Baseline: the same probes for a second without a save.
  let a = prober(port, ['SET', near, 'y']);
  let b = prober(port, ['SET', 'far', 'y']);
  await sleep(1000);
  const idle = { near: await a.stop(), far: await b.stop() };
  a = prober(port, ['SET', near, 'y']);
  b = prober(port, ['SET', 'far', 'y']);
  const t0 = Date.now();
  await rc(port, 'bgsave');
  await sleep(50);
  while ((await info(port, 'rdb_bgsave_in_progress')) !== '0') await sleep(10);
  const secs = (Date.now() - t0) / 1000;
  const during = { near: await a.stop(), far: await b.stop() };
  // A writer changing the huge value itself mid-save (it pays for the rest of the copy).
  const t1 = Date.now();
  await rc(port, 'bgsave');
  await sleep(Math.max(20, secs * 300));
  const z0 = process.hrtime.bigint();
  await rc(port, ...write);
  const zaddMs = Number(process.hrtime.bigint() - z0) / 1e6;
  while ((await info(port, 'rdb_bgsave_in_progress')) !== '0') await sleep(10);
  return { idle, during, secs, zaddMs, secs2: (Date.now() - t1) / 1000, cow: Number(await info(port, 'rdb_last_cow_size')) };
}

function* bigStream() {
  for (let i = 1; i <= streamN; i++) yield ['XADD', 'bigx', `${i}-1`, 'field', `value:${i}`, 'other', String(i * 7)];
}

function* bigList() {
  for (let i = 0; i < listN; i += 1000) {
    const cmd = ['RPUSH', 'bigl'];
    for (let j = i; j < Math.min(listN, i + 1000); j++) cmd.push(`element:${j}:${'y'.repeat(20)}`);
    yield cmd;
  }
}

/** One command's round trip (ms) on a connection opened beforehand (no redis-cli start-up in it). */
async function timed(port, cmd) {
  const s = createConnection(port, '127.0.0.1');
  await new Promise((r) => s.once('connect', r));
  const req = `*${cmd.length}\r\n${cmd.map((x) => `$${Buffer.byteLength(x)}\r\n${x}\r\n`).join('')}`;
  const reply = new Promise((r) => s.once('data', r));
  const t0 = process.hrtime.bigint();
  s.write(req);
  await reply;
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  s.destroy();
  return ms;
}

/** Each list write timed alone while a BGSAVE is half way through the list (ms). */
async function listOps(port) {
  const mid = String(Math.floor(listN / 2));
  const ops = [
    ['lpush', 'bigl', 'pushed'], ['rpush', 'bigl', 'pushed'], ['lset', 'bigl', mid, 'changed'],
    ['linsert', 'bigl', 'before', 'element:100:' + 'y'.repeat(20), 'inserted'], ['lpop', 'bigl'], ['rpop', 'bigl'],
    ['ltrim', 'bigl', '1', '-2'], ['del', 'bigl'], ['rename', 'bigl', 'bigl2'], ['set', 'bigl', 'a string'],
  ];
  await rc(port, 'config', 'set', 'rdb-key-save-delay', '1000');
  const out = {};
  for (const op of ops) {
    if ((await rc(port, 'exists', 'bigl')) !== '1') {
      await rc(port, 'del', 'bigl2');
      await pipe(port, bigList);
    }
    await rc(port, 'bgsave');
    await sleep(150);
    const before = await info(port, 'rdb_bgsave_in_progress');
    const ms = await timed(port, op);
    const after = await info(port, 'rdb_bgsave_in_progress');
    while ((await info(port, 'rdb_bgsave_in_progress')) !== '0') await sleep(20);
    out[op[0]] = { ms, midSave: before === '1' && after === '1', cow: Number(await info(port, 'rdb_last_cow_size')) };
  }
  await rc(port, 'config', 'set', 'rdb-key-save-delay', '0');
  return out;
}

for (const kind of kinds) {
  const r = (results[kind] = {});
  if (parts.has('save') || parts.has('bgsave')) {
    const dir = mkdtempSync(join(tmpdir(), `bench-rdb-${kind}-`));
    port++;
    const p = await start(kind, port, dir);
    await pipe(port, stringKeys);
    r.keys = Number(await rc(port, 'dbsize'));
    if (parts.has('save')) {
      const t0 = process.hrtime.bigint();
      await rc(port, 'save');
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      const size = statSync(join(dir, 'dump.rdb')).size;
      r.save = { secs, mb: size / 1048576, mbps: size / 1048576 / secs };
    }
    if (parts.has('bgsave')) {
      r.without = await benchP99(port);
      r.bg = await bgsaveUnderLoad(port, p.pid);
    }
    await stop(p, port);
    rmSync(dir, { recursive: true, force: true });
  }
  if (parts.has('zset') || parts.has('probe')) {
    const dir = mkdtempSync(join(tmpdir(), `bench-rdb-${kind}-z-`));
    port++;
    const p = await start(kind, port, dir);
    await pipe(port, bigZset);
    r.zcard = Number(await rc(port, 'zcard', 'bigz'));
    if (parts.has('zset')) {
      r.zwithout = await benchP99(port);
      r.zbg = await bgsaveUnderLoad(port, p.pid);
    }
    if (parts.has('probe')) r.probe = await probe(port);
    await stop(p, port);
    rmSync(dir, { recursive: true, force: true });
  }
  if (parts.has('string')) {
    const dir = mkdtempSync(join(tmpdir(), `bench-rdb-${kind}-s-`));
    port++;
    const p = await start(kind, port, dir);
    await pipe(port, bigString);
    r.strlen = Number(await rc(port, 'strlen', 'bigs'));
    r.sprobe = await probe(port, 'bigs', ['setrange', 'bigs', '1000', 'changed-during-save']);
    await stop(p, port);
    rmSync(dir, { recursive: true, force: true });
  }
  if (parts.has('stream')) {
    const dir = mkdtempSync(join(tmpdir(), `bench-rdb-${kind}-x-`));
    port++;
    const p = await start(kind, port, dir);
    await pipe(port, bigStream);
    r.xlen = Number(await rc(port, 'xlen', 'bigx'));
    r.xprobe = await probe(port, 'bigx', ['xadd', 'bigx', '*', 'added', 'during-save']);
    await stop(p, port);
    rmSync(dir, { recursive: true, force: true });
  }
  if (parts.has('list')) {
    const dir = mkdtempSync(join(tmpdir(), `bench-rdb-${kind}-l-`));
    port++;
    const p = await start(kind, port, dir);
    await pipe(port, bigList);
    r.llen = Number(await rc(port, 'llen', 'bigl'));
    r.lops = await listOps(port);
    await stop(p, port);
    rmSync(dir, { recursive: true, force: true });
  }
}

const cell = (f, r) => { try { return r === undefined ? '-' : String(f(r)); } catch { return '-'; } };
const line = (name, f) => console.log(`${name.padEnd(44)} ${cell(f, results.redis).padStart(14)} ${cell(f, results.shardis).padStart(14)}`);
console.log(`uptime: ${(await run('uptime')).stdout.trim()}`);
console.log(`\nRDB bench: ${nkeys} keys, zset of ${zsetN}, shardis --threads ${threads}, redis-benchmark -n ${requests} -c ${clients}`);
console.log(`${''.padEnd(44)} ${'redis-server'.padStart(14)} ${'shardis'.padStart(14)}`);
if (parts.has('save')) {
  line('SAVE seconds', (r) => r.save.secs.toFixed(2));
  line('SAVE file MB', (r) => r.save.mb.toFixed(1));
  line('SAVE MB/s', (r) => r.save.mbps.toFixed(1));
}
if (parts.has('bgsave')) {
  for (const t of ['SET', 'GET']) {
    line(`${t} p99 ms without save`, (r) => r.without[t]?.p99);
    line(`${t} p99 ms during BGSAVE`, (r) => r.bg.during[t]?.p99);
    line(`${t} rps without / during`, (r) => `${Math.round(r.without[t]?.rps)}/${Math.round(r.bg.during[t]?.rps)}`);
  }
  line('BGSAVE seconds (bench ran for)', (r) => `${r.bg.duration.toFixed(1)} (${r.bg.benchEnd.toFixed(1)})`);
  line('BGSAVE peak extra RSS MB', (r) => mb(r.bg.extraRss));
  line('rdb_last_cow_size MB', (r) => mb(r.bg.cow));
  line('bgsave status', (r) => r.bg.status);
}
if (parts.has('zset')) {
  for (const t of ['SET', 'GET']) {
    line(`zset: ${t} p99 ms without save`, (r) => r.zwithout[t]?.p99);
    line(`zset: ${t} p99 ms during BGSAVE`, (r) => r.zbg.during[t]?.p99);
  }
  line('zset: BGSAVE seconds', (r) => r.zbg.duration.toFixed(1));
  line('zset: BGSAVE peak extra RSS MB', (r) => mb(r.zbg.extraRss));
  line('zset: rdb_last_cow_size MB', (r) => mb(r.zbg.cow));
}
if (parts.has('probe')) {
  line('probe: BGSAVE of the zset alone, seconds', (r) => r.probe.secs.toFixed(2));
  line('probe: same-slot SET max ms (idle)', (r) => r.probe.idle.near.max.toFixed(2));
  line('probe: same-slot SET max / p99 ms (BGSAVE)', (r) => `${r.probe.during.near.max.toFixed(1)}/${r.probe.during.near.p99.toFixed(2)}`);
  line('probe: other-slot SET max ms (idle)', (r) => r.probe.idle.far.max.toFixed(2));
  line('probe: other-slot SET max / p99 ms (BGSAVE)', (r) => `${r.probe.during.far.max.toFixed(1)}/${r.probe.during.far.p99.toFixed(2)}`);
  line('probe: ZADD to the zset mid-save ms', (r) => r.probe.zaddMs.toFixed(1));
  line('probe: rdb_last_cow_size MB (ZADD save)', (r) => mb(r.probe.cow));
}
if (parts.has('string')) {
  line('string: MB', (r) => mb(r.strlen));
  line('string: BGSAVE seconds', (r) => r.sprobe.secs.toFixed(2));
  line('string: same-slot SET max ms (idle)', (r) => r.sprobe.idle.near.max.toFixed(2));
  line('string: same-slot SET max / p99 ms (BGSAVE)', (r) => `${r.sprobe.during.near.max.toFixed(1)}/${r.sprobe.during.near.p99.toFixed(2)}`);
  line('string: other-slot SET max / p99 ms (BGSAVE)', (r) => `${r.sprobe.during.far.max.toFixed(1)}/${r.sprobe.during.far.p99.toFixed(2)}`);
  line('string: SETRANGE to it mid-save ms', (r) => r.sprobe.zaddMs.toFixed(1));
  line('string: rdb_last_cow_size MB (SETRANGE save)', (r) => mb(r.sprobe.cow));
}
if (parts.has('stream')) {
  line('stream: entries', (r) => r.xlen);
  line('stream: BGSAVE seconds', (r) => r.xprobe.secs.toFixed(2));
  line('stream: same-slot SET max ms (idle)', (r) => r.xprobe.idle.near.max.toFixed(2));
  line('stream: same-slot SET max / p99 ms (BGSAVE)', (r) => `${r.xprobe.during.near.max.toFixed(1)}/${r.xprobe.during.near.p99.toFixed(2)}`);
  line('stream: other-slot SET max / p99 ms (BGSAVE)', (r) => `${r.xprobe.during.far.max.toFixed(1)}/${r.xprobe.during.far.p99.toFixed(2)}`);
  line('stream: XADD to it mid-save ms', (r) => r.xprobe.zaddMs.toFixed(1));
}
if (parts.has('list')) {
  line('list: elements', (r) => r.llen);
  for (const op of Object.keys(results.shardis?.lops ?? results.redis?.lops ?? {})) {
    line(`list: ${op.toUpperCase()} mid-save ms (cow KB)`, (r) => `${r.lops[op].midSave ? '' : '!'}${r.lops[op].ms.toFixed(1)} (${Math.round(r.lops[op].cow / 1024)})`);
  }
  console.log('(! = the save was not in progress around the command)');
}
process.exit(0);

// Memory benchmark (issue 14, item 2), redis-server and shardis side by side:
//  reuse   a heap capped at --cap MB (shardis SHARDIS_HEAP_BYTES, redis maxmemory + noeviction):
//          1 KB values until refused, FLUSHALL, then 16 KB values until refused: how many stored.
//  lru     maxmemory --lru MB, allkeys-lru (shardis heap capped at --cap MB): 200k 1 KB values,
//          then 30,000 16 KB values: how many refused.
//  keys    --keys small keys (key:N value:N): RSS growth, and what stays after FLUSHALL (3 s later).
//  big     one 512 MB string (SETRANGE) then DEL; 512 x 1 MB APPEND then DEL: RSS at each step.
//  scale   (not in the default parts) --scale-from then --scale keys (redis-benchmark's names,
//          key:<12 digits>, values value:N): at each size, RSS growth and redis-benchmark GET and
//          SET -P 16 over those keys; during the GETs at the larger size a probe connection sends
//          a PING every ms: its longest round trip is the longest pause a client saw (an event
//          loop busy elsewhere), beside LATENCY LATEST's 'command' maximum (threshold 1 ms).
// usage: npm run bench:memory [-- --threads 2 --cap 256 --lru 200 --keys 1000000 --parts reuse,lru,keys,big]
//        npm run bench:memory -- --parts scale [--scale-from 1000000 --scale 10000000 --requests 2000000]
import { spawn, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync, mkdtempSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// Servers start in an empty folder: a dump.rdb or appendonlydir left where the bench runs would
// be loaded (and a loaded file's replication info starts a backlog that feeds on every write).
const benchDir = () => mkdtempSync(join(tmpdir(), 'shardis-bench-'));
const args = Object.fromEntries(process.argv.slice(2).reduce((a, v, i, all) => (v.startsWith('--') ? [...a, [v.slice(2), all[i + 1]]] : a), []));
const threads = Number(args.threads ?? 2);
const capMB = Number(args.cap ?? 256);
const lruMB = Number(args.lru ?? 200);
const nkeys = Number(args.keys ?? 1000000);
const parts = new Set((args.parts ?? 'reuse,lru,keys,big').split(','));
const scaleSizes = [Number(args['scale-from'] ?? 1000000), Number(args.scale ?? 10000000)];
const benchRequests = Number(args.requests ?? 2000000);
const cli = args.cli ?? join(root, 'dist/cli.js');
const run = promisify(execFile);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const MB = 1024 * 1024;

const children = new Set();
process.on('exit', () => { for (const p of children) p.kill('SIGKILL'); });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

/** A pipelining client that only needs status, error and integer replies. */
class Conn {
  constructor(port) {
    this.sock = createConnection(port, '127.0.0.1');
    this.buf = '';
    this.waiting = [];
    this.replies = [];
    this.sock.setEncoding('latin1');
    this.sock.on('data', (d) => {
      this.buf += d;
      let i;
      while ((i = this.buf.indexOf('\r\n')) >= 0) {
        this.replies.push(this.buf.slice(0, i));
        this.buf = this.buf.slice(i + 2);
      }
      while (this.waiting.length > 0 && this.replies.length >= this.waiting[0].n) {
        const w = this.waiting.shift();
        w.resolve(this.replies.splice(0, w.n));
      }
    });
  }
  ready() { return new Promise((r, j) => { this.sock.once('connect', r); this.sock.once('error', j); }); }
  send(parts) {
    let s = `*${parts.length}\r\n`;
    for (const p of parts) s += `$${Buffer.byteLength(p)}\r\n${p}\r\n`;
    this.sock.write(s);
  }
  read(n) { return new Promise((resolve) => { this.waiting.push({ n, resolve }); this.sock.emit('data', ''); }); }
  close() { this.sock.destroy(); }
}

function ping(port) {
  return new Promise((resolve) => {
    const s = createConnection(port, '127.0.0.1');
    s.on('error', () => resolve(false));
    s.on('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => { s.destroy(); resolve(d.toString().startsWith('+PONG')); });
  });
}

async function start(kind, port, extra = [], env = {}) {
  const p = kind === 'redis'
    ? spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no', '--loglevel', 'warning', ...extra], { stdio: ['ignore', 'ignore', 'inherit'], cwd: benchDir() })
    : spawn('node', [cli, '--port', String(port), '--threads', String(threads), '--save', '', '--appendonly', 'no', '--loglevel', 'warning', ...extra], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, ...env }, cwd: benchDir() });
  children.add(p);
  p.once('exit', () => children.delete(p));
  for (let i = 0; i < 600; i++) {
    if (await ping(port)) {
      const c = new Conn(port);
      await c.ready();
      return { p, c, port };
    }
    await sleep(100);
  }
  throw new Error(`${kind} did not start`);
}

async function stop(s) {
  s.c.close();
  try { await run('redis-cli', ['-p', String(s.port), 'shutdown', 'nosave']); } catch { /* exits */ }
  for (let i = 0; i < 100 && children.has(s.p); i++) await sleep(100);
  if (children.has(s.p)) s.p.kill('SIGKILL');
}

const rss = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;
const mb = (b) => `${(b / MB).toFixed(0)} MB`;

/** SETs of `size`-byte values in batches of 256; stops after a batch wholly refused (untilFull). */
async function fill(c, prefix, size, max, untilFull) {
  const v = 'x'.repeat(size);
  let stored = 0;
  let refused = 0;
  for (let base = 0; base < max; base += 256) {
    const n = Math.min(256, max - base);
    for (let i = 0; i < n; i++) c.send(['SET', `${prefix}${base + i}`, v]);
    const r = await c.read(n);
    const ok = r.filter((x) => x === '+OK').length;
    stored += ok;
    refused += n - ok;
    if (untilFull && ok === 0) break;
  }
  return { stored, refused };
}

async function one(c, ...cmd) {
  c.send(cmd);
  return (await c.read(1))[0];
}

/** Keys [from, to) as redis-benchmark names them (key:%012d), values value:N, by MSETs of 100. */
async function fillKeys(c, from, to) {
  for (let base = from; base < to; base += 10000) {
    const end = Math.min(to, base + 10000);
    for (let i = base; i < end; i += 100) {
      const a = ['MSET'];
      for (let k = i; k < Math.min(end, i + 100); k++) a.push(`key:${String(k).padStart(12, '0')}`, `value:${k}`);
      c.send(a);
    }
    await c.read(Math.ceil((end - base) / 100));
  }
}

/** redis-benchmark -P 16 of one test over `keys` random keys: requests per second. */
async function benchRps(port, test, keys) {
  const { stdout } = await run('redis-benchmark', ['-p', String(port), '-P', '16', '-c', '50', '-n', String(benchRequests), '-r', String(keys), '-t', test, '--csv'], { maxBuffer: 1 << 24 });
  const row = stdout.split('\n').find((l) => l.startsWith(`"${test.toUpperCase()}"`));
  return Number(JSON.parse(`[${row}]`)[1]);
}

/** PING every ms on its own connection until stop() is called: the longest and p99 round trip (ms). */
function probe(port) {
  const c = new Conn(port);
  const rtts = [];
  let going = true;
  const done = (async () => {
    await c.ready();
    while (going) {
      const t = process.hrtime.bigint();
      c.send(['PING']);
      await c.read(1);
      rtts.push(Number(process.hrtime.bigint() - t) / 1e6);
      await sleep(1);
    }
    c.close();
  })();
  return async () => {
    going = false;
    await done;
    rtts.sort((a, b) => a - b);
    return { max: rtts[rtts.length - 1], p99: rtts[Math.floor(rtts.length * 0.99)], n: rtts.length };
  };
}

let port = 31900;
const out = [];
for (const kind of ['redis', 'shardis']) {
  if (parts.has('reuse')) {
    const s = await start(kind, ++port, kind === 'redis' ? ['--maxmemory', `${capMB}mb`, '--maxmemory-policy', 'noeviction'] : [], { SHARDIS_HEAP_BYTES: String(capMB * MB) });
    const small = await fill(s.c, 'a:', 1000, 1e7, true);
    await one(s.c, 'FLUSHALL');
    const large = await fill(s.c, 'b:', 16000, 1e7, true);
    out.push(`reuse ${kind}: cap ${capMB} MB: ${small.stored} x 1 KB, FLUSHALL, then ${large.stored} x 16 KB stored`);
    await stop(s);
  }
  if (parts.has('lru')) {
    const s = await start(kind, ++port, ['--maxmemory', `${lruMB}mb`, '--maxmemory-policy', 'allkeys-lru'], { SHARDIS_HEAP_BYTES: String(capMB * MB) });
    const small = await fill(s.c, 'a:', 1000, 200000, false);
    const large = await fill(s.c, 'b:', 16000, 30000, false);
    out.push(`lru ${kind}: maxmemory ${lruMB} MB allkeys-lru: 200k x 1 KB (${small.refused} refused), then 30000 x 16 KB: ${large.stored} stored, ${large.refused} refused; RSS ${mb(rss(s.p.pid))}`);
    await stop(s);
  }
  if (parts.has('keys')) {
    const s = await start(kind, ++port);
    await sleep(500);
    const r0 = rss(s.p.pid);
    for (let base = 0; base < nkeys; base += 10000) {
      for (let i = base; i < Math.min(nkeys, base + 10000); i += 100) {
        const a = ['MSET'];
        for (let k = i; k < Math.min(nkeys, i + 100); k++) a.push(`key:${k}`, `value:${k}`);
        s.c.send(a);
      }
      await s.c.read(Math.ceil((Math.min(nkeys, base + 10000) - base) / 100));
    }
    const r1 = rss(s.p.pid);
    await one(s.c, 'FLUSHALL');
    await sleep(3000);
    const r2 = rss(s.p.pid);
    out.push(`keys ${kind}: ${nkeys} keys: RSS ${mb(r0)} at start, +${mb(r1 - r0)} with the keys, +${mb(r2 - r0)} 3 s after FLUSHALL`);
    await stop(s);
  }
  if (parts.has('scale')) {
    const s = await start(kind, ++port, ['--latency-monitor-threshold', '1']);
    await sleep(500);
    const r0 = rss(s.p.pid);
    let have = 0;
    for (const n of scaleSizes) {
      const t0 = Date.now();
      await fillKeys(s.c, have, n);
      const fillS = (Date.now() - t0) / 1000;
      have = n;
      const grown = rss(s.p.pid) - r0;
      const last = n === scaleSizes[scaleSizes.length - 1];
      if (last) await one(s.c, 'LATENCY', 'RESET');
      const stopProbe = last ? probe(s.port) : null;
      const get = await benchRps(s.port, 'get', n);
      const pr = stopProbe ? await stopProbe() : null;
      const set = await benchRps(s.port, 'set', n);
      let lat = '';
      if (last) {
        s.c.send(['LATENCY', 'LATEST']);
        const lines = await s.c.read(1);
        const rows = Number(lines[0].slice(1));
        // Each row: *4, $len, event name, :time, :latest, :max.
        const flat = rows > 0 ? await s.c.read(rows * 6) : [];
        for (let i = 0; i < flat.length; i += 6) lat += `, LATENCY ${flat[i + 2]} max ${flat[i + 5].slice(1)} ms`;
        if (lat === '') lat = ', LATENCY LATEST: no event over 1 ms';
      }
      out.push(`scale ${kind}: ${n} keys (filled in ${fillS.toFixed(1)} s): RSS +${mb(grown)}; GET -P 16 ${Math.round(get)}/s, SET -P 16 ${Math.round(set)}/s` +
        (pr ? `; PING probe during GET: max ${pr.max.toFixed(1)} ms, p99 ${pr.p99.toFixed(2)} ms (${pr.n} pings)${lat}` : ''));
    }
    await stop(s);
  }
  if (parts.has('big')) {
    const s = await start(kind, ++port);
    await sleep(500);
    const r0 = rss(s.p.pid);
    await one(s.c, 'SETRANGE', 'big', String(512 * MB - 1), 'x');
    const r1 = rss(s.p.pid);
    await one(s.c, 'DEL', 'big');
    await sleep(1000);
    const r2 = rss(s.p.pid);
    const chunk = 'y'.repeat(MB);
    for (let i = 0; i < 512; i++) {
      s.c.send(['APPEND', 'a', chunk]);
      if ((i & 15) === 15) await s.c.read(16);
    }
    const r3 = rss(s.p.pid);
    await one(s.c, 'DEL', 'a');
    await sleep(1000);
    const r4 = rss(s.p.pid);
    out.push(`big ${kind}: RSS ${mb(r0)} at start; 512 MB SETRANGE +${mb(r1 - r0)}, after DEL +${mb(r2 - r0)}; 512 x 1 MB APPEND +${mb(r3 - r0)}, after DEL +${mb(r4 - r0)}`);
    await stop(s);
  }
}
for (const l of out) console.log(l);

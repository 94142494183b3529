// Memory benchmark (issue 14, item 2), redis-server and shardis side by side:
//  reuse   a heap capped at --cap MB (shardis SHARDIS_HEAP_BYTES, redis maxmemory + noeviction):
//          1 KB values until refused, FLUSHALL, then 16 KB values until refused: how many stored.
//  lru     maxmemory --lru MB, allkeys-lru (shardis heap capped at --cap MB): 200k 1 KB values,
//          then 30,000 16 KB values: how many refused.
//  keys    --keys small keys (key:N value:N): RSS growth, and what stays after FLUSHALL (3 s later).
//  big     one 512 MB string (SETRANGE) then DEL; 512 x 1 MB APPEND then DEL: RSS at each step.
// usage: npm run bench:memory [-- --threads 2 --cap 256 --lru 200 --keys 1000000 --parts reuse,lru,keys,big]
import { spawn, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = Object.fromEntries(process.argv.slice(2).reduce((a, v, i, all) => (v.startsWith('--') ? [...a, [v.slice(2), all[i + 1]]] : a), []));
const threads = Number(args.threads ?? 2);
const capMB = Number(args.cap ?? 256);
const lruMB = Number(args.lru ?? 200);
const nkeys = Number(args.keys ?? 1000000);
const parts = new Set((args.parts ?? 'reuse,lru,keys,big').split(','));
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
    ? spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no', '--loglevel', 'warning', ...extra], { stdio: ['ignore', 'ignore', 'inherit'] })
    : spawn('node', [cli, '--port', String(port), '--threads', String(threads), '--save', '', '--appendonly', 'no', '--loglevel', 'warning', ...extra], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, ...env } });
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

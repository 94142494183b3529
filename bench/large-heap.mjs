// A heap past 4 GiB (issue 14, item 3; opt-in, long): on Node 22 or later, shardis stores more
// than --gib GiB (default 5.5), reads it back and passes the structure checker. The data goes in
// as 1 MiB strings, and in the middle (so that they live past 4 GiB) lists, hashes, sorted sets,
// sets and streams of every encoding; then every key is checked (lengths, elements at both ends,
// bytes at both ends of each string), DEBUG CHECK must say OK, and INFO memory is printed.
// usage: PATH=<node 24 bin>:$PATH npm run bench:large [-- --gib 5.5 --threads 2]
// Needs about gib + 1 GiB of free memory.
import { spawn, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { constants } from 'node:buffer';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = Object.fromEntries(process.argv.slice(2).reduce((a, v, i, all) => (v.startsWith('--') ? [...a, [v.slice(2), all[i + 1]]] : a), []));
const gib = Number(args.gib ?? 5.5);
const threads = Number(args.threads ?? 2);
const port = Number(args.port ?? 7391);
const cli = args.cli ?? join(root, 'dist/cli.js');
const run = promisify(execFile);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const MiB = 1024 * 1024;
if (constants.MAX_LENGTH < 2 ** 33) {
  console.log(`Node ${process.version} makes typed arrays of at most 4 GiB: run this on Node 22 or later.`);
  process.exit(1);
}

/** RESP replies, parsed whole (bulk strings as latin1 strings), in order. */
class Conn {
  constructor() {
    this.sock = createConnection(port, '127.0.0.1');
    this.chunks = [];
    this.buf = Buffer.alloc(0);
    this.waiting = [];
    this.sock.on('data', (d) => {
      this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
      for (;;) {
        const r = parse(this.buf, 0);
        if (r === null) break;
        this.buf = this.buf.subarray(r[1]);
        this.waiting.shift()(r[0]);
      }
    });
  }
  ready() { return new Promise((r, j) => { this.sock.once('connect', r); this.sock.once('error', j); }); }
  /** Send a command; its reply comes back through the returned promise (pipelined). */
  cmd(...parts) {
    const head = [`*${parts.length}\r\n`];
    const bufs = [];
    for (const p of parts) {
      const b = Buffer.isBuffer(p) ? p : Buffer.from(String(p), 'latin1');
      bufs.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
    }
    this.sock.write(Buffer.concat([Buffer.from(head.join('')), ...bufs]));
    return new Promise((resolve) => this.waiting.push(resolve));
  }
  close() { this.sock.destroy(); }
}

function parse(b, at) {
  const nl = b.indexOf('\r\n', at);
  if (nl < 0) return null;
  const t = String.fromCharCode(b[at]);
  const line = b.toString('latin1', at + 1, nl);
  if (t === '+' || t === ':') return [t === ':' ? Number(line) : line, nl + 2];
  if (t === '-') return [new Error(line), nl + 2];
  if (t === '$') {
    const n = Number(line);
    if (n < 0) return [null, nl + 2];
    if (b.length < nl + 2 + n + 2) return null;
    return [b.toString('latin1', nl + 2, nl + 2 + n), nl + 2 + n + 2];
  }
  if (t === '*') {
    const n = Number(line);
    const out = [];
    let p = nl + 2;
    for (let i = 0; i < n; i++) {
      const r = parse(b, p);
      if (r === null) return null;
      out.push(r[0]);
      p = r[1];
    }
    return [out, p];
  }
  throw new Error(`unexpected reply type ${t}`);
}

const fails = [];
const expectEq = (what, got, want) => {
  if (got !== want && fails.length < 20) fails.push(`${what}: got ${JSON.stringify(got)?.slice(0, 80)}, want ${JSON.stringify(want)?.slice(0, 80)}`);
};
/** The 1 MiB value of big:i: a byte pattern of i, with i's digits at both ends. */
function bigValue(i) {
  const v = Buffer.alloc(MiB, 97 + (i % 26));
  v.write(`<${i}>`, 0, 'latin1');
  v.write(`[${i}]`, MiB - 16, 'latin1');
  return v;
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'shardis-bench-'));
  const p = spawn('node', [cli, '--port', String(port), '--threads', String(threads), '--save', '', '--appendonly', 'no', '--loglevel', 'warning', '--enable-debug-command', 'yes'], { stdio: ['ignore', 'ignore', 'inherit'], cwd: dir });
  process.on('exit', () => p.kill('SIGKILL'));
  let c;
  for (let i = 0; i < 300 && c === undefined; i++) {
    await sleep(100);
    try {
      const x = new Conn();
      await x.ready();
      c = x;
    } catch { /* not up yet */ }
  }
  const t0 = Date.now();
  const strings = Math.ceil((gib * 1024));
  const half = Math.floor(strings * 0.8);
  const putStrings = async (from, to) => {
    for (let i = from; i < to; i += 64) {
      const ps = [];
      for (let j = i; j < Math.min(to, i + 64); j++) ps.push(c.cmd('SET', `big:${j}`, bigValue(j)));
      for (const r of await Promise.all(ps)) expectEq('SET', r, 'OK');
    }
  };
  await putStrings(0, half);
  console.log(`${half} MiB of strings stored (${((Date.now() - t0) / 1000).toFixed(1)} s); INFO heap_used_perc ${(await c.cmd('INFO', 'memory')).match(/heap_used_perc:(\S+)/)?.[1]}`);
  // Structures in the middle: past 4 GiB. Small ones (listpacks, intsets) and big ones
  // (quicklists, dicts, skiplists, stream nodes and groups).
  const N = 2000;
  const ps = [];
  for (let k = 0; k < N; k++) {
    const n = k % 2 === 0 ? 10 : 300;
    const els = Array.from({ length: n }, (_, j) => `e${k}:${j}`);
    ps.push(c.cmd('RPUSH', `l:${k}`, ...els));
    ps.push(c.cmd('HSET', `h:${k}`, ...els.flatMap((e, j) => [e, `v${j}`])));
    ps.push(c.cmd('ZADD', `z:${k}`, ...els.flatMap((e, j) => [String(j), e])));
    ps.push(c.cmd('SADD', `s:${k}`, ...els));
    ps.push(c.cmd('SADD', `i:${k}`, ...els.map((_, j) => String(j * 7))));
    for (let j = 0; j < (k % 2 === 0 ? 3 : 150); j++) ps.push(c.cmd('XADD', `x:${k}`, `${j + 1}-0`, 'f', els[j % n]));
    ps.push(c.cmd('XGROUP', 'CREATE', `x:${k}`, 'g', '0'));
    ps.push(c.cmd('XREADGROUP', 'GROUP', 'g', 'alice', 'COUNT', '2', 'STREAMS', `x:${k}`, '>'));
    if (ps.length > 4000) for (const r of await Promise.all(ps.splice(0))) if (r instanceof Error) expectEq('write', r.message, 'no error');
  }
  for (const r of await Promise.all(ps.splice(0))) if (r instanceof Error) expectEq('write', r.message, 'no error');
  await putStrings(half, strings);
  const info = await c.cmd('INFO', 'memory');
  console.log(`stored ${strings} MiB of strings and ${N} keys of each of 6 kinds in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  for (const f of ['used_memory_human', 'used_memory_rss_human', 'heap_capacity_human', 'heap_used_perc']) console.log(`  ${f}: ${info.match(new RegExp(`${f}:(\\S+)`))?.[1]}`);

  // Read everything back.
  const t1 = Date.now();
  for (let i = 0; i < strings; i += 256) {
    const rs = [];
    for (let j = i; j < Math.min(strings, i + 256); j++) {
      rs.push(c.cmd('STRLEN', `big:${j}`).then((r) => expectEq(`STRLEN big:${j}`, r, MiB)));
      rs.push(c.cmd('GETRANGE', `big:${j}`, 0, 15).then((r) => expectEq(`head big:${j}`, r, bigValue(j).toString('latin1', 0, 16))));
      rs.push(c.cmd('GETRANGE', `big:${j}`, MiB - 16, MiB - 1).then((r) => expectEq(`tail big:${j}`, r, bigValue(j).toString('latin1', MiB - 16))));
    }
    await Promise.all(rs);
  }
  for (const j of [0, half - 1, half, strings - 1]) expectEq(`GET big:${j}`, await c.cmd('GET', `big:${j}`), bigValue(j).toString('latin1'));
  for (let k = 0; k < N; k += 1) {
    const n = k % 2 === 0 ? 10 : 300;
    const xn = k % 2 === 0 ? 3 : 150;
    const rs = [
      c.cmd('LLEN', `l:${k}`).then((r) => expectEq(`LLEN l:${k}`, r, n)),
      c.cmd('LINDEX', `l:${k}`, -1).then((r) => expectEq(`LINDEX l:${k}`, r, `e${k}:${n - 1}`)),
      c.cmd('HGET', `h:${k}`, `e${k}:${n - 1}`).then((r) => expectEq(`HGET h:${k}`, r, `v${n - 1}`)),
      c.cmd('HLEN', `h:${k}`).then((r) => expectEq(`HLEN h:${k}`, r, n)),
      c.cmd('ZSCORE', `z:${k}`, `e${k}:${n - 1}`).then((r) => expectEq(`ZSCORE z:${k}`, r, String(n - 1))),
      c.cmd('ZRANGE', `z:${k}`, -1, -1).then((r) => expectEq(`ZRANGE z:${k}`, r?.[0], `e${k}:${n - 1}`)),
      c.cmd('SCARD', `s:${k}`).then((r) => expectEq(`SCARD s:${k}`, r, n)),
      c.cmd('SISMEMBER', `s:${k}`, `e${k}:${n - 1}`).then((r) => expectEq(`SISMEMBER s:${k}`, r, 1)),
      c.cmd('SISMEMBER', `i:${k}`, String((n - 1) * 7)).then((r) => expectEq(`SISMEMBER i:${k}`, r, 1)),
      c.cmd('XLEN', `x:${k}`).then((r) => expectEq(`XLEN x:${k}`, r, xn)),
      c.cmd('XPENDING', `x:${k}`, 'g').then((r) => expectEq(`XPENDING x:${k}`, r?.[0], 2)),
      c.cmd('XRANGE', `x:${k}`, '-', '+', 'COUNT', 1).then((r) => expectEq(`XRANGE x:${k}`, r?.[0]?.[1]?.[1], `e${k}:0`)),
    ];
    if (k % 100 === 99 || k === N - 1) await Promise.all(rs);
  }
  console.log(`read back in ${((Date.now() - t1) / 1000).toFixed(1)} s`);
  const t2 = Date.now();
  const check = await c.cmd('DEBUG', 'CHECK');
  console.log(`DEBUG CHECK: ${check instanceof Error ? check.message : check} (${((Date.now() - t2) / 1000).toFixed(1)} s)`);
  expectEq('DEBUG CHECK', check instanceof Error ? check.message : check, 'OK');
  expectEq('DBSIZE', await c.cmd('DBSIZE'), strings + 6 * N);
  c.close();
  try { await run('redis-cli', ['-p', String(port), 'shutdown', 'nosave']); } catch { /* exits */ }
  rmSync(dir, { recursive: true, force: true });
  if (fails.length > 0) {
    console.log(`FAILED:\n  ${fails.join('\n  ')}`);
    process.exit(1);
  }
  console.log(`OK: ${((strings * MiB) / 2 ** 30).toFixed(2)} GiB of strings and ${6 * N} collections read back, structure checker clean`);
  process.exit(0);
}
main().catch((e) => { console.error(e); process.exit(1); });

// Collections benchmark (issues 3 and 4): redis-server and shardis side by side.
//  1. redis-benchmark -t lpush,rpush,lpop,rpop,sadd,hset,spop,zadd,zpopmin,lrange_100,lrange_600 at -P 16 and -P 1
//  2. ZRANGE / ZRANK / ZRANGEBYSCORE on a 1M-member sorted set (redis-benchmark with explicit commands)
//  3. per-operation cost at 1k / 10k / 100k / 1M elements (raw socket, deep pipeline): should be flat
//  4. memory: RSS growth after building a 1M-element list, hash, set, sorted set (fresh servers per type)
// usage: npm run bench:collections [-- --threads 1 --cli path/to/dist/cli.js --requests 200000 --warmup 50000 --parts tests,big,perop,mem
//                                      --pipeline 16,1 --tests lpush,zadd --sizes 1000,1000000 --ops 100000 --reps 3]
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
const threads = Number(args.threads ?? 1);
const requests = Number(args.requests ?? 200000);
const clients = Number(args.clients ?? 50);
const tests = (args.tests ?? 'lpush,rpush,lpop,rpop,sadd,hset,spop,zadd,zpopmin,lrange_100,lrange_600').split(',');
const pipelines = (args.pipeline ?? '16,1').split(',').map(Number);
const parts = new Set((args.parts ?? 'tests,big,perop,mem').split(','));
const sizes = (args.sizes ?? '1000,10000,100000,1000000').split(',').map(Number);
const opsPerSize = Number(args.ops ?? 100000);
const reps = Number(args.reps ?? 3);
const bigN = Number(args.big ?? 1000000);
const memN = Number(args.mem ?? 1000000);
const shardisExtra = args.shardisargs ? args.shardisargs.split(' ') : [];
const nodeFlags = args.nodeflags ? args.nodeflags.split(' ') : [];
const warmup = Number(args.warmup ?? Math.round(requests / 4)); // requests per test of the discarded warm-up pass; 0: none
const cli = args.cli ?? join(root, 'dist/cli.js'); // another build to compare with (e.g. an older commit's dist/cli.js)

const rport = 17000 + Math.floor(Math.random() * 900);
const sport = rport + 1000;

// ---------------------------------------------------------------- servers
const children = new Set();
process.on('exit', () => { for (const p of children) p.kill('SIGKILL'); });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));
function ping(port) {
  return new Promise((resolve) => {
    const s = createConnection(port, '127.0.0.1');
    s.on('error', () => resolve(false));
    s.on('connect', () => s.write('PING\r\n'));
    s.on('data', () => { s.destroy(); resolve(true); });
  });
}
async function start(name, cmd, argv, port) {
  const p = spawn(cmd, argv, { stdio: ['ignore', 'ignore', 'inherit'], cwd: benchDir() });
  children.add(p);
  p.once('exit', () => children.delete(p));
  for (let i = 0; i < 150; i++) {
    if (await ping(port)) return p;
    await sleep(100);
  }
  p.kill('SIGKILL');
  throw new Error(`${name} did not start`);
}
const startRedis = () => start('redis-server', 'redis-server', ['--port', String(rport), '--save', '', '--appendonly', 'no'], rport);
const startShardis = () => start('shardis', 'node', [...nodeFlags, cli, '--port', String(sport), '--threads', String(threads), '--save', '', '--appendonly', 'no', '--loglevel', 'warning', ...shardisExtra], sport);
function stop(p) {
  return new Promise((resolve) => {
    if (p.exitCode !== null || p.signalCode !== null) return resolve();
    p.once('exit', resolve);
    p.kill(nodeFlags.length ? 'SIGINT' : 'SIGKILL'); // SIGINT lets --cpu-prof write its profiles
  });
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
function rssBytes(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}
const fmt = (n) => (Number.isFinite(n) ? n.toFixed(0) : 'n/a').padStart(9);
const ratio = (s, r) => (s / r).toFixed(2);

// ---------------------------------------------------------------- raw pipelined client
// Encodes commands into one Buffer, sends them in chunks keeping at most `window` replies
// outstanding, counts replies (flat replies and arrays of flat elements, which is all we use).
function encode(cmds) {
  const parts = [];
  for (const c of cmds) {
    let s = `*${c.length}\r\n`;
    for (const a of c) s += `$${Buffer.byteLength(a)}\r\n${a}\r\n`;
    parts.push(s);
  }
  return parts;
}
class Conn {
  constructor(port) { this.port = port; }
  open() {
    return new Promise((resolve, reject) => {
      this.s = createConnection(this.port, '127.0.0.1');
      this.s.setNoDelay(true);
      this.s.once('error', reject);
      this.s.once('connect', resolve);
      this.pending = Buffer.alloc(0);
      this.got = 0; this.errors = 0; this.firstError = null;
      this.s.on('data', (d) => this.onData(d));
    });
  }
  close() { this.s.destroy(); }
  // returns the offset after one reply starting at i, or -1 if incomplete
  skip(b, i) {
    const nl = b.indexOf(13, i);
    if (nl < 0 || nl + 1 >= b.length) return -1;
    const t = b[i];
    if (t === 43 || t === 58 || t === 45) {
      if (t === 45) { this.errors++; if (!this.firstError) this.firstError = b.toString('latin1', i, nl); }
      return nl + 2;
    }
    const n = Number(b.toString('latin1', i + 1, nl));
    if (t === 36) {
      if (n < 0) return nl + 2;
      const end = nl + 2 + n + 2;
      return end <= b.length ? end : -1;
    }
    if (t === 42) {
      let j = nl + 2;
      for (let k = 0; k < n; k++) {
        if (j >= b.length) return -1;
        j = this.skip(b, j);
        if (j < 0) return -1;
      }
      return j;
    }
    throw new Error(`unexpected reply byte ${String.fromCharCode(t)}`);
  }
  onData(d) {
    const b = this.pending.length ? Buffer.concat([this.pending, d]) : d;
    let i = 0;
    for (;;) {
      if (i >= b.length) break;
      const j = this.skip(b, i);
      if (j < 0) break;
      i = j;
      this.got++;
    }
    this.pending = i < b.length ? b.subarray(i) : Buffer.alloc(0);
    if (this.wake) this.wake();
  }
  // send pre-encoded commands (array of strings), window-limited; resolves when all replies are in
  run(encoded, window = 2000, chunk = 200) {
    const bufs = [];
    for (let i = 0; i < encoded.length; i += chunk) bufs.push(Buffer.from(encoded.slice(i, i + chunk).join('')));
    const total = encoded.length;
    const base = this.got;
    return new Promise((resolve) => {
      let sent = 0; let bi = 0;
      const pump = () => {
        while (bi < bufs.length && sent - (this.got - base) < window) {
          this.s.write(bufs[bi]);
          sent += Math.min(chunk, total - bi * chunk);
          bi++;
        }
        if (this.got - base >= total) { this.wake = null; resolve(); }
      };
      this.wake = pump;
      pump();
    });
  }
}
async function timed(conn, encoded) {
  const t0 = process.hrtime.bigint();
  await conn.run(encoded);
  return Number(process.hrtime.bigint() - t0) / 1e3; // µs
}

const pad12 = (i) => String(i).padStart(12, '0');
const member = (i) => `member:${pad12(i)}`;
// load `n` elements of `type` into `key` with variadic commands of 1000 elements each
function loadCmds(type, key, n, from = 0) {
  const cmds = [];
  for (let i = from; i < from + n; i += 1000) {
    const c = type === 'list' ? ['RPUSH', key] : type === 'set' ? ['SADD', key] : type === 'hash' ? ['HSET', key] : ['ZADD', key];
    for (let j = i; j < Math.min(i + 1000, from + n); j++) {
      if (type === 'hash') c.push(member(j), String(j));
      else if (type === 'zset') c.push(String(j), member(j));
      else c.push(member(j));
    }
    cmds.push(c);
  }
  return encode(cmds);
}

// ---------------------------------------------------------------- 1. redis-benchmark -t
// async (not execFileSync) so that SIGINT/SIGTERM are handled and the servers killed mid-run
const run = promisify(execFile);
async function benchTests(port, testList, P) {
  const { stdout: out } = await run('redis-benchmark', ['-p', String(port), '-t', testList.join(','), '-n', String(requests), '-c', String(clients), '-P', String(P), '-r', '1000000', '--csv'], { encoding: 'utf8', maxBuffer: 1 << 24 });
  const res = {};
  for (const line of out.split('\n')) {
    const m = /^"([^"]+)","([\d.]+)"/.exec(line);
    if (m) res[m[1]] = Number(m[2]);
  }
  return res;
}
async function benchCmd(port, cmd, P, n = requests) {
  const { stdout: out } = await run('redis-benchmark', ['-p', String(port), '-n', String(n), '-c', String(clients), '-P', String(P), '-r', String(bigN), '--csv', ...cmd], { encoding: 'utf8', maxBuffer: 1 << 24 });
  const m = /^"[^"]*","([\d.]+)"/m.exec(out);
  return m ? Number(m[1]) : NaN;
}

const summary = [];
if (parts.has('tests') || parts.has('big') || parts.has('perop')) {
  const redis = await startRedis();
  const shardis = await startShardis();
  try {
    if (parts.has('tests')) {
      if (warmup > 0) {
        // A server runs for days: measure it warm. Both first run every test once (V8 compiles
        // shardis's hot paths during its first ~100k commands, which would otherwise land in the
        // first test), then everything is flushed so the measured runs start from empty.
        console.log(`\nwarm-up: every test once at -n ${warmup} against both servers, then FLUSHALL (--warmup 0 to skip)`);
        for (const port of [rport, sport]) {
          await run('redis-benchmark', ['-p', String(port), '-t', tests.join(','), '-n', String(warmup), '-c', String(clients), '-P', String(pipelines[0]), '-r', '1000000', '-q'], { encoding: 'utf8', maxBuffer: 1 << 24 });
          await run('redis-cli', ['-p', String(port), 'FLUSHALL']);
        }
      }
      for (const P of pipelines) {
        console.log(`\n## redis-benchmark -t ... -P ${P} -c ${clients} -n ${requests} -r 1000000 (requests/s)`);
        console.log(`${'test'.padEnd(22)} ${'redis'.padStart(9)} ${'shardis'.padStart(9)}  ratio`);
        for (const t of tests) {
          // one test at a time, alternating servers, so neither always runs on a warmer/colder machine
          const r = await benchTests(rport, [t], P);
          const s = await benchTests(sport, [t], P);
          for (const name of Object.keys(r)) {
            // lrange_* first run an LPUSH test of their own: name it after the test it feeds
            const label = name.startsWith('LPUSH (needed') ? `LPUSH (for ${t})` : name.replace(/ \(first \d+ elements\)/, '');
            console.log(`${label.padEnd(22)} ${fmt(r[name])} ${fmt(s[name])}  ${ratio(s[name], r[name])}`);
            summary.push({ part: 'tests', P, test: label, redis: r[name], shardis: s[name] });
          }
        }
      }
    }
    if (parts.has('big')) {
      console.log(`\n## sorted set of ${bigN} members (zbig), redis-benchmark -r ${bigN} (requests/s)`);
      for (const port of [rport, sport]) {
        const c = new Conn(port); await c.open();
        await c.run(encode([['DEL', 'zbig']]));
        await c.run(loadCmds('zset', 'zbig', bigN), 20, 1);
        c.close();
      }
      const cmds = [
        ['ZRANK', 'zbig', 'member:__rand_int__'],
        ['ZSCORE', 'zbig', 'member:__rand_int__'],
        ['ZRANGE', 'zbig', '__rand_int__', '+inf', 'BYSCORE', 'LIMIT', '0', '10'],
        ['ZRANGEBYSCORE', 'zbig', '__rand_int__', '+inf', 'LIMIT', '0', '10'],
        ['ZRANGE', 'zbig', String(bigN >> 1), String((bigN >> 1) + 9)],
        ['ZRANGE', 'zbig', '-10', '-1', 'WITHSCORES'],
        ['ZCOUNT', 'zbig', '__rand_int__', '+inf'],
      ];
      for (const P of pipelines) {
        console.log(`-P ${P}`);
        console.log(`${'command'.padEnd(50)} ${'redis'.padStart(9)} ${'shardis'.padStart(9)}  ratio`);
        for (const cmd of cmds) {
          const r = await benchCmd(rport, cmd, P, requests / 2);
          const s = await benchCmd(sport, cmd, P, requests / 2);
          console.log(`${cmd.join(' ').slice(0, 50).padEnd(50)} ${fmt(r)} ${fmt(s)}  ${ratio(s, r)}`);
          summary.push({ part: 'big', P, test: cmd.join(' '), redis: r, shardis: s });
        }
      }
    }
    if (parts.has('perop')) {
      console.log(`\n## per-operation cost (µs/op, ${opsPerSize} ops per size, best of ${reps}, pipeline window 2000, 1 connection)`);
      const kinds = [
        { name: 'LPUSH/LPOP', type: 'list' },
        { name: 'SADD/SISMEMBER/SREM', type: 'set' },
        { name: 'HSET/HGET', type: 'hash' },
        { name: 'ZADD/ZRANK', type: 'zset' },
      ];
      console.log(`${'ops'.padEnd(22)} ${'size'.padStart(8)} ${'redis'.padStart(8)} ${'shardis'.padStart(8)}  ratio(s/r)`);
      let seed = 12345;
      const rnd = (n) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
      for (const k of kinds) {
        for (const size of sizes) {
          const key = `po:${k.type}:${size}`;
          const ops = [];
          for (let i = 0; ops.length < opsPerSize; i++) {
            const m = rnd(size);
            if (k.type === 'list') { ops.push(['LPUSH', key, member(m)], ['LPOP', key]); }
            else if (k.type === 'set') { ops.push(['SADD', key, `new:${i}`], ['SISMEMBER', key, member(m)], ['SREM', key, `new:${i}`]); }
            else if (k.type === 'hash') { ops.push(['HSET', key, member(m), String(i)], ['HGET', key, member(rnd(size))]); }
            else { ops.push(['ZADD', key, String(rnd(size * 4)), member(m)], ['ZRANK', key, member(rnd(size))]); }
          }
          const enc = encode(ops);
          const us = {};
          for (const [name, port] of [['redis', rport], ['shardis', sport]]) {
            const c = new Conn(port); await c.open();
            await c.run(loadCmds(k.type, key, size), 20, 1);
            // best of `reps` passes: the machine is shared, the minimum is the cost
            let t = Infinity;
            for (let rep = 0; rep < reps; rep++) t = Math.min(t, await timed(c, enc));
            if (c.errors) console.log(`  ${name}: ${c.errors} errors, first: ${c.firstError}`);
            await c.run(encode([['DEL', key]]));
            c.close();
            us[name] = t / enc.length;
          }
          console.log(`${k.name.padEnd(22)} ${String(size).padStart(8)} ${us.redis.toFixed(3).padStart(8)} ${us.shardis.toFixed(3).padStart(8)}  ${(us.shardis / us.redis).toFixed(2)}`);
          summary.push({ part: 'perop', test: k.name, size, redis: us.redis, shardis: us.shardis });
        }
      }
    }
  } finally {
    await stop(redis);
    await stop(shardis);
  }
}

// ---------------------------------------------------------------- 4. memory
// cold: RSS growth from a fresh, idle server. warm: fresh server that first parsed the same
// volume of traffic without storing anything (SMISMEMBER on a missing key, same argument shapes),
// so the growth counts the data and not the runtime's one-time warm-up (V8's young generation
// and parser buffers reach their working size on the first megabytes of input).
function warmCmds(type, n) {
  const cmds = [];
  for (let i = 0; i < n; i += 1000) {
    const c = ['SMISMEMBER', 'nokey:warmup'];
    for (let j = i; j < Math.min(i + 1000, n); j++) {
      if (type === 'hash' || type === 'zset') c.push(String(j));
      c.push(member(j));
    }
    cmds.push(c);
  }
  return encode(cmds);
}
async function usedMemory(port) {
  const { stdout } = await run('redis-cli', ['-p', String(port), 'INFO', 'memory'], { encoding: 'utf8' });
  const m = /used_memory:(\d+)/.exec(stdout);
  return m ? Number(m[1]) : NaN;
}
if (parts.has('mem')) {
  console.log(`\n## memory: RSS growth after building one ${memN}-element key (fresh servers per type and mode)`);
  console.log('(RSS growth is what the bar measures; used_memory growth is what each allocator says the data takes)');
  console.log(`${'type'.padEnd(6)} ${'mode'.padEnd(5)} ${'redis MB'.padStart(9)} ${'shardis MB'.padStart(10)} ${'redis B/el'.padStart(10)} ${'shardis B/el'.padStart(12)}  ratio  used_memory MB r/s  ratio  load s (r/s)`);
  for (const type of ['list', 'hash', 'set', 'zset']) {
    for (const mode of ['cold', 'warm']) {
      const r = await startRedis();
      const s = await startShardis();
      try {
        await sleep(300);
        const row = {};
        for (const [name, port, p] of [['redis', rport, r], ['shardis', sport, s]]) {
          const c = new Conn(port); await c.open();
          if (mode === 'warm') { await c.run(warmCmds(type, memN), 20, 1); await sleep(700); }
          const before = rssBytes(p.pid);
          const used0 = await usedMemory(port);
          const t0 = Date.now();
          await c.run(loadCmds(type, 'big', memN), 20, 1);
          const secs = (Date.now() - t0) / 1000;
          c.close();
          await sleep(700);
          row[name] = { grow: rssBytes(p.pid) - before, used: (await usedMemory(port)) - used0, secs };
        }
        const mb = (x) => (x / 1048576).toFixed(1);
        console.log(`${type.padEnd(6)} ${mode.padEnd(5)} ${mb(row.redis.grow).padStart(9)} ${mb(row.shardis.grow).padStart(10)} ${(row.redis.grow / memN).toFixed(1).padStart(10)} ${(row.shardis.grow / memN).toFixed(1).padStart(12)}  ${ratio(row.shardis.grow, row.redis.grow).padStart(5)}  ${`${mb(row.redis.used)}/${mb(row.shardis.used)}`.padStart(17)}  ${ratio(row.shardis.used, row.redis.used).padStart(5)}  ${row.redis.secs.toFixed(2)}/${row.shardis.secs.toFixed(2)}`);
        summary.push({ part: 'mem', test: `${type} ${mode}`, redis: row.redis.grow, shardis: row.shardis.grow, redisUsed: row.redis.used, shardisUsed: row.shardis.used });
      } finally {
        await stop(r);
        await stop(s);
      }
    }
  }
}
if (args.json) console.log(JSON.stringify(summary));

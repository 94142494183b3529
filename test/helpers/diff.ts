// Differential runner: the same commands against redis-server and shardis, replies compared.
import { spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { afterAll, beforeAll, expect } from 'vitest';
import { RawClient, canon, repr, show, type Reply } from './resp';
import { startRedis, startShardis, type Server } from './server';

export interface StepOptions {
  /** Command and arguments (Buffers for binary arguments). */
  cmd: (string | Buffer)[];
  /** Compare arrays as multisets (recursively; only arrays of scalars get sorted). */
  unordered?: boolean;
  /** Send to both, don't compare. */
  ignore?: boolean;
  /**
   * Integers compared with a tolerance: `true` means ±2000 for commands starting
   * with P (PTTL, PEXPIRETIME) and ±2 otherwise; a number is an explicit tolerance.
   * Negative integers (-1/-2 "no ttl"/"no key") must always match exactly.
   */
  approx?: boolean | number;
  /** Compare only the reply's type structure (types, aggregate lengths), not values. */
  shape?: boolean;
}
export type Step = (string | Buffer)[] | StepOptions | { sleep: number };
export type Script = Step[];

/** A reply, or a marker for a connection that was closed / a reply that never came. */
export type StepReply = Reply | { t: 'closed' } | { t: 'timeout' };

export interface RunOptions {
  /** FLUSHALL before the script (default true). */
  flush?: boolean;
  /**
   * Protocol of the connection: true = RESP3 (HELLO 3 first), false = RESP2 only. For
   * expectSame, undefined runs the script twice, RESP2 then RESP3 (unless flush is false: a
   * script that builds on earlier state runs once, in RESP2). run/each: undefined = RESP2.
   */
  resp3?: boolean;
  /** Per-command timeout in ms (default 10000). */
  timeoutMs?: number;
}

export interface RunResult {
  /** The command steps, in order (sleep steps omitted). */
  steps: StepOptions[];
  redis: StepReply[];
  shardis: StepReply[];
}

export interface Pair {
  redis: Server;
  shardis: Server;
  /** Run a script on both servers (fresh connection each, FLUSHALL first). */
  run(script: Script, opts?: RunOptions): Promise<RunResult>;
  /** Run and assert every compared reply is the same (in RESP2 and RESP3: see RunOptions.resp3). */
  expectSame(script: Script, opts?: RunOptions & { label?: string }): Promise<RunResult>;
  /** Run custom logic against both servers on a fresh connection each (FLUSHALL first unless flush: false). */
  each<T>(fn: (c: RawClient, side: 'redis' | 'shardis', port: number) => Promise<T>, opts?: RunOptions): Promise<{ redis: T; shardis: T }>;
  /** Stop both (shardis runs DEBUG CHECK as part of stop). */
  stop(): Promise<void>;
}

export interface PairOptions {
  threads?: number;
  shardisArgs?: string[];
  redisArgs?: string[];
  env?: Record<string, string>;
  /** Run shardis DEBUG CHECK after every script (default: env SHARDIS_CHECK_EACH=1). */
  checkEach?: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function normStep(s: Step): StepOptions | { sleep: number } {
  if (Array.isArray(s)) return { cmd: s };
  return s;
}

export async function startPair(opts: PairOptions = {}): Promise<Pair> {
  const [redis, shardis] = await Promise.allSettled([
    startRedis({ args: ['--enable-debug-command', 'yes', ...(opts.redisArgs ?? [])] }),
    startShardis({ threads: opts.threads, args: opts.shardisArgs, env: opts.env }),
  ]);
  if (redis.status === 'rejected' || shardis.status === 'rejected') {
    if (redis.status === 'fulfilled') await redis.value.stop().catch(() => {});
    if (shardis.status === 'fulfilled') await shardis.value.stop().catch(() => {});
    throw redis.status === 'rejected' ? redis.reason : (shardis as PromiseRejectedResult).reason;
  }
  const r = redis.value;
  const s = shardis.value;
  const checkEach = opts.checkEach ?? process.env.SHARDIS_CHECK_EACH === '1';

  const open = async (server: Server, o: RunOptions): Promise<RawClient> => {
    const c = await RawClient.connect(server.port);
    if (o.resp3) {
      const h = await c.call('HELLO', '3');
      if (h.t === 'error') throw new Error(`HELLO 3 failed on port ${server.port}: ${h.v}`);
    }
    if (o.flush !== false) {
      const f = await c.call('FLUSHALL');
      if (f.t !== 'simple') throw new Error(`FLUSHALL failed on port ${server.port}: ${show(f)}`);
    }
    return c;
  };

  const exec = async (c: RawClient, cmd: (string | Buffer)[], timeoutMs: number): Promise<StepReply> => {
    if (!c.isOpen) return { t: 'closed' };
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        c.call(...cmd),
        new Promise<StepReply>((resolve) => {
          timer = setTimeout(() => resolve({ t: 'timeout' }), timeoutMs);
        }),
      ]);
    } catch {
      return { t: 'closed' };
    } finally {
      clearTimeout(timer);
    }
  };

  const pair: Pair = {
    redis: r,
    shardis: s,
    async run(script, o = {}) {
      const [rc, sc] = await Promise.all([open(r, o), open(s, o)]);
      const timeoutMs = o.timeoutMs ?? 10_000;
      const out: RunResult = { steps: [], redis: [], shardis: [] };
      const dump = process.env.SHARDIS_DIFF_DUMP; // file to append a transcript of redis's replies to
      try {
        for (const raw of script) {
          const step = normStep(raw);
          if ('sleep' in step) {
            await sleep(step.sleep);
            continue;
          }
          const [a, b] = await Promise.all([exec(rc, step.cmd, timeoutMs), exec(sc, step.cmd, timeoutMs)]);
          if (b.t === 'timeout') sc.socket.destroy(); // replies would be misaligned from now on
          if (a.t === 'timeout') rc.socket.destroy();
          out.steps.push(step);
          out.redis.push(a);
          out.shardis.push(b);
          if (dump) appendFileSync(dump, `> ${fmtCmd(step.cmd)}\n${showStep(a)}\n`);
        }
      } finally {
        await Promise.all([rc.close(), sc.close()]);
      }
      if (checkEach) await s.check();
      return out;
    },
    async expectSame(script, o = {}) {
      if (o.resp3 === undefined && o.flush !== false) {
        await pair.expectSame(script, { ...o, resp3: false });
        return pair.expectSame(script, { ...o, resp3: true });
      }
      const res = await pair.run(script, o);
      const a: string[] = [];
      const b: string[] = [];
      const mismatches: string[] = [];
      res.steps.forEach((step, i) => {
        const [x, y] = compareForm(step, res.redis[i], res.shardis[i]);
        const line = `> ${fmtCmd(step.cmd)}`;
        a.push(line, x);
        b.push(line, y);
        if (x !== y) {
          mismatches.push(`${line}\n  redis:   ${indent(x)}\n  shardis: ${indent(y)}`);
        }
      });
      const label = `${o.label ? `[${o.label}] ` : ''}${o.resp3 ? '[RESP3] ' : ''}`;
      expect(
        b.join('\n'),
        `${label}${mismatches.length} command(s) replied differently:\n${mismatches.join('\n')}\n`,
      ).toBe(a.join('\n'));
      return res;
    },
    async each(fn, o = {}) {
      const [rc, sc] = await Promise.all([open(r, o), open(s, o)]);
      try {
        const [x, y] = await Promise.all([fn(rc, 'redis', r.port), fn(sc, 'shardis', s.port)]);
        return { redis: x, shardis: y };
      } finally {
        await Promise.all([rc.close(), sc.close()]);
      }
    },
    async stop() {
      const results = await Promise.allSettled([r.stop(), s.stop()]);
      for (const x of results) if (x.status === 'rejected') throw x.reason;
    },
  };
  return pair;
}

function indent(s: string): string {
  return s.replace(/\n/g, '\n           ');
}

/** Printable command line, long args abbreviated. */
export function fmtCmd(cmd: (string | Buffer)[]): string {
  return cmd
    .map((a) => {
      const b = Buffer.isBuffer(a) ? a : Buffer.from(a, 'utf8');
      if (b.length > 60) return `${repr(b.subarray(0, 40))}…(${b.length} bytes)`;
      const s = b.toString('latin1');
      return /^[\x21-\x7e]+$/.test(s) && !/["'\\]/.test(s) ? s : repr(b);
    })
    .join(' ');
}

export function showStep(r: StepReply): string {
  if (r.t === 'closed') return '(connection closed)';
  if (r.t === 'timeout') return '(no reply: timed out)';
  return show(r);
}

function isAggregate(r: Reply): boolean {
  return r.t === 'array' || r.t === 'set' || r.t === 'map' || r.t === 'push' || r.t === 'attr';
}

/** Sort arrays/sets of scalars (recursively into nested aggregates, whose order is kept). */
export function sortUnordered(r: Reply): Reply {
  if ((r.t === 'array' && r.v) || r.t === 'set' || r.t === 'push') {
    const items = r.v as Reply[];
    if (items.every((x) => !isAggregate(x))) {
      return { ...r, v: [...items].sort((p, q) => (canon(p) < canon(q) ? -1 : canon(p) > canon(q) ? 1 : 0)) } as Reply;
    }
    return { ...r, v: items.map(sortUnordered) } as Reply;
  }
  if (r.t === 'map') {
    // A map's entries are unordered too (HGETALL, CONFIG GET in RESP3): sort whole pairs.
    const pairs = r.v.map(([k, v]): [Reply, Reply] => [sortUnordered(k), sortUnordered(v)]);
    const key = (p: [Reply, Reply]) => canon(p[0]) + canon(p[1]);
    return { t: 'map', v: pairs.sort((p, q) => (key(p) < key(q) ? -1 : key(p) > key(q) ? 1 : 0)) };
  }
  return r;
}

/** A type-only description of a reply. */
export function shapeOf(r: StepReply): string {
  switch (r.t) {
    case 'closed':
    case 'timeout':
      return showStep(r);
    case 'array':
      return r.v === null ? 'array(nil)' : `array[${r.v.length}](${r.v.map(shapeOf).join(', ')})`;
    case 'set':
    case 'push':
      return `${r.t}[${r.v.length}](${r.v.map(shapeOf).join(', ')})`;
    case 'map':
      return `map[${r.v.length}](${r.v.map(([k, v]) => `${shapeOf(k)}: ${shapeOf(v)}`).join(', ')})`;
    case 'bulk':
      return r.v === null ? 'bulk(nil)' : 'bulk';
    case 'attr':
      return `attr ${shapeOf(r.reply)}`;
    default:
      return r.t;
  }
}

/** Replace shardis's integers with redis's where they are within tolerance. */
function approxAlign(a: Reply, b: Reply, tol: number): Reply {
  if (a.t === 'int' && b.t === 'int') {
    if (a.v < 0n || b.v < 0n) return b;
    const d = a.v > b.v ? a.v - b.v : b.v - a.v;
    return d <= BigInt(tol) ? a : b;
  }
  if (a.t === 'array' && b.t === 'array' && a.v && b.v && a.v.length === b.v.length) {
    const av = a.v;
    return { t: 'array', v: b.v.map((x, i) => approxAlign(av[i], x, tol)) };
  }
  return b;
}

/** The two strings that get compared for one step: [redis, shardis]. */
export function compareForm(step: StepOptions, a: StepReply, b: StepReply): [string, string] {
  if (step.ignore) return ['(ignored)', '(ignored)'];
  if (a.t === 'closed' || a.t === 'timeout' || b.t === 'closed' || b.t === 'timeout') {
    return [showStep(a), showStep(b)];
  }
  if (step.shape) return [shapeOf(a), shapeOf(b)];
  let x: Reply = a;
  let y: Reply = b;
  if (step.approx) {
    const tol =
      typeof step.approx === 'number' ? step.approx : /^p/i.test(String(step.cmd[0] ?? '')) ? 2000 : 2;
    y = approxAlign(x, y, tol);
  }
  if (step.unordered) {
    x = sortUnordered(x);
    y = sortUnordered(y);
  }
  const sx = show(x);
  const sy = show(y);
  const cx = canon(x);
  const cy = canon(y);
  if (cx === cy) return [sx, sx];
  if (sx !== sy) return [sx, sy];
  // Same rendering but different wire form (e.g. $-1 vs *-1): show the raw RESP too.
  return [`${sx}  [raw ${JSON.stringify(cx)}]`, `${sy}  [raw ${JSON.stringify(cy)}]`];
}

/** Run `redis-cli -p port ...args` (stdin optional) and return its stdout. */
export function cli(port: number, args: string[], stdin?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('redis-cli', ['-p', String(port), ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let errOut = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.stdout.on('data', (d) => (out += d.toString('utf8')));
    child.stderr.on('data', (d) => (errOut += d.toString('utf8')));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (signal) reject(new Error(`redis-cli killed by ${signal}: ${errOut}`));
      else resolve(out);
    });
    // redis-cli given a command does not read stdin and may exit first: EPIPE here is no error.
    child.stdin.on('error', () => undefined);
    child.stdin.end(stdin ?? '');
  });
}

/**
 * Split one line into arguments the way redis-cli does (sdssplitargs): "double
 * quotes" with \n \r \t \b \a \\ \" \xHH escapes, 'single quotes' with \'.
 * An argument containing bytes >= 0x80 from \xHH escapes becomes a Buffer.
 */
export function splitArgs(line: string): (string | Buffer)[] {
  const out: (string | Buffer)[] = [];
  let i = 0;
  const n = line.length;
  while (true) {
    while (i < n && /\s/.test(line[i])) i++;
    if (i >= n) return out;
    const bytes: number[] = [];
    const pushText = (t: string) => bytes.push(...Buffer.from(t, 'utf8'));
    let inDq = false;
    let inSq = false;
    let done = false;
    while (!done) {
      if (inDq) {
        if (i >= n) throw new Error(`unbalanced quotes in script line: ${line}`);
        const c = line[i];
        if (c === '\\' && line[i + 1] === 'x' && /^[0-9a-fA-F]{2}$/.test(line.slice(i + 2, i + 4))) {
          bytes.push(parseInt(line.slice(i + 2, i + 4), 16));
          i += 3;
        } else if (c === '\\' && i + 1 < n) {
          i++;
          const m: Record<string, string> = { n: '\n', r: '\r', t: '\t', b: '\b', a: '\x07' };
          pushText(m[line[i]] ?? line[i]);
        } else if (c === '"') {
          if (i + 1 < n && !/\s/.test(line[i + 1])) throw new Error(`closing quote must be followed by a space: ${line}`);
          done = true;
        } else pushText(c);
      } else if (inSq) {
        if (i >= n) throw new Error(`unbalanced quotes in script line: ${line}`);
        const c = line[i];
        if (c === '\\' && line[i + 1] === "'") {
          i++;
          pushText("'");
        } else if (c === "'") {
          if (i + 1 < n && !/\s/.test(line[i + 1])) throw new Error(`closing quote must be followed by a space: ${line}`);
          done = true;
        } else pushText(c);
      } else {
        const c = line[i];
        if (i >= n || /\s/.test(c)) done = true;
        else if (c === '"') inDq = true;
        else if (c === "'") inSq = true;
        else pushText(c);
      }
      if (i < n) i++;
    }
    const buf = Buffer.from(bytes);
    out.push(bytes.some((b) => b >= 0x80) && !isUtf8(buf) ? buf : buf.toString('utf8'));
  }
}

function isUtf8(b: Buffer): boolean {
  return Buffer.from(b.toString('utf8'), 'utf8').equals(b);
}

/**
 * Build a script from text, one command per line (redis-cli quoting). Blank lines
 * and lines starting with `#` are skipped. A line may start with modifiers:
 * `[unordered]`, `[approx]`, `[approx=N]`, `[ignore]`, `[shape]`; `[sleep N]` alone
 * on a line sleeps N ms.
 */
export function script(text: string): Step[] {
  const steps: Step[] = [];
  for (let raw of text.split('\n')) {
    raw = raw.trim();
    if (!raw || raw.startsWith('#')) continue;
    const sl = /^\[sleep (\d+)\]$/.exec(raw);
    if (sl) {
      steps.push({ sleep: Number(sl[1]) });
      continue;
    }
    const step: StepOptions = { cmd: [] };
    let m: RegExpExecArray | null;
    while ((m = /^\[(unordered|approx(?:=\d+)?|ignore|shape)\]\s*/.exec(raw))) {
      const f = m[1];
      if (f === 'unordered') step.unordered = true;
      else if (f === 'ignore') step.ignore = true;
      else if (f === 'shape') step.shape = true;
      else step.approx = f.includes('=') ? Number(f.split('=')[1]) : true;
      raw = raw.slice(m[0].length);
    }
    step.cmd = splitArgs(raw);
    steps.push(step);
  }
  return steps;
}

/**
 * A pair for one test file: started before its tests and stopped after them. `same(text)` runs a
 * script (script()'s syntax) on both servers and expects the same replies.
 */
export function diffSuite(opts: PairOptions = {}): { pair: () => Pair; same: (text: string, o?: RunOptions) => Promise<RunResult> } {
  let d: Pair | undefined;
  beforeAll(async () => {
    d = await startPair(opts);
  });
  afterAll(async () => {
    await d?.stop();
  });
  const pair = (): Pair => {
    if (d === undefined) throw new Error('the pair did not start');
    return d;
  };
  return { pair, same: (text, o) => pair().expectSame(script(text), o) };
}

// The Docker image without a Docker daemon: the Dockerfile's steps are replayed into a directory
// that stands for the image's root (COPY from the build context as .dockerignore filters it, RUN
// with the same commands, WORKDIR), then the image's ENTRYPOINT runs from there, in its WORKDIR,
// as `docker run` would run it, and the behaviours users rely on are checked: the config file as
// first argument, /data as working directory, extra options not turning protected mode back on,
// the open-files limit raised, no test or bench files, a non-root user.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort, REPO_ROOT } from '../helpers/server';
import { RawClient, show, type Reply } from '../helpers/resp';

interface Instr { op: string; args: string }

function parseDockerfile(text: string): Instr[] {
  const out: Instr[] = [];
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  for (const l of lines) {
    const t = l.trim();
    if (t === '' || t.startsWith('#')) continue;
    const sp = t.indexOf(' ');
    out.push({ op: t.slice(0, sp).toUpperCase(), args: t.slice(sp + 1).trim() });
  }
  return out;
}

/** .dockerignore patterns (no negations used): a path is out if it or a parent matches one. */
function ignored(rel: string, patterns: string[]): boolean {
  const parts = rel.split('/');
  for (let i = 1; i <= parts.length; i++) {
    const p = parts.slice(0, i).join('/');
    for (const pat of patterns) {
      const re = new RegExp(`^${pat.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '.')}$`);
      if (re.test(p)) return true;
    }
  }
  return false;
}

/** Files of the build context: tracked and untracked-not-ignored files, minus .dockerignore's. */
function contextFiles(): string[] {
  const patterns = fs
    .readFileSync(path.join(REPO_ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.replace(/^\/+|\/+$/g, ''));
  const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: REPO_ROOT, encoding: 'utf8' })
    .split('\n')
    .filter((f) => f !== '' && fs.existsSync(path.join(REPO_ROOT, f)));
  return files.filter((f) => !ignored(f, patterns));
}

const instrs = parseDockerfile(fs.readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8'));
let root = '';
let workdir = '/';
let entrypoint: string[] = [];
let cmd: string[] = [];
const procs: ChildProcess[] = [];

/** A container path inside the stand-in root. */
const inRoot = (p: string): string => path.join(root, p);

beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'shardis-image-'));
  const ctx = contextFiles();
  for (const ins of instrs) {
    if (ins.op === 'FROM' || ins.op === 'EXPOSE' || ins.op === 'VOLUME' || ins.op === 'USER') continue;
    if (ins.op === 'WORKDIR') {
      workdir = path.posix.resolve(workdir, ins.args);
      fs.mkdirSync(inRoot(workdir), { recursive: true });
    } else if (ins.op === 'COPY') {
      const parts = ins.args.split(/\s+/);
      const dest = path.posix.resolve(workdir, parts.pop() as string);
      for (const src of parts) {
        const files = src === '.' ? ctx : ctx.filter((f) => f === src);
        expect(files.length, `COPY ${src}: in the build context`).toBeGreaterThan(0);
        for (const f of files) {
          const to = src === '.' ? path.join(inRoot(dest), f) : path.join(inRoot(dest), path.basename(f));
          fs.mkdirSync(path.dirname(to), { recursive: true });
          fs.copyFileSync(path.join(REPO_ROOT, f), to);
          fs.chmodSync(to, fs.statSync(path.join(REPO_ROOT, f)).mode);
        }
      }
    } else if (ins.op === 'RUN') {
      // The same command, in the stand-in root: container paths of the image (/data, /app) are
      // the root's, and the image's `node` user is whoever runs the test (no chroot here).
      const uid = `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`;
      const c = ins.args.replace(/(^|[\s=])\/(data|app)\b/g, `$1${root}/$2`).replace(/\bnode:node\b/g, uid);
      // npm is told to use its cache only: the test must not depend on the network (CI ran npm ci).
      execFileSync('sh', ['-c', c], { cwd: inRoot(workdir), env: { ...process.env, npm_config_offline: 'true' }, stdio: 'pipe', timeout: 600_000 });
    } else if (ins.op === 'ENTRYPOINT') {
      entrypoint = JSON.parse(ins.args) as string[];
    } else if (ins.op === 'CMD') {
      cmd = JSON.parse(ins.args) as string[];
    } else {
      throw new Error(`Dockerfile instruction the test does not replay: ${ins.op}`);
    }
  }
}, 900_000);

afterAll(() => {
  for (const p of procs) p.kill('SIGKILL');
  if (root !== '') fs.rmSync(root, { recursive: true, force: true });
});

async function call(port: number, ...args: string[]): Promise<Reply> {
  const c = await RawClient.connect(port);
  try {
    return await c.call(...args);
  } finally {
    c.close();
  }
}

/** `docker run image [args]`: the entrypoint with args (or CMD), in the image's WORKDIR. */
async function run(args: string[], port: number): Promise<ChildProcess> {
  const ep = entrypoint.map((a) => (a.startsWith('/') ? inRoot(a) : a));
  const p = spawn(ep[0], [...ep.slice(1), ...(args.length > 0 ? args : cmd)], { cwd: inRoot(workdir), stdio: 'ignore' });
  procs.push(p);
  for (let i = 0; i < 400; i++) {
    try {
      if (show(await call(port, 'PING')) === 'PONG') return p;
    } catch {
      /* not up yet */
    }
    if (p.exitCode !== null) throw new Error(`the container's process exited (${p.exitCode})`);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the server did not answer');
}

const cfg = async (port: number, name: string): Promise<string> => {
  const r = await call(port, 'CONFIG', 'GET', name);
  return r.t === 'array' && r.v !== null && r.v[1].t === 'bulk' ? String(r.v[1].v) : show(r);
};

describe('Docker image (replayed without a daemon)', () => {
  it('the image: /data volume and working dir, a non-root user, no test/bench files', () => {
    expect(instrs.find((i) => i.op === 'VOLUME')?.args).toMatch(/\/data/);
    expect(workdir).toBe('/data');
    const user = instrs.filter((i) => i.op === 'USER').pop()?.args;
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user);
    for (const d of ['test', 'bench', '.git']) expect(fs.existsSync(inRoot(`/app/${d}`)), d).toBe(false);
    expect(fs.existsSync(inRoot('/app/dist/cli.js'))).toBe(true);
    expect(fs.existsSync(inRoot('/app/node_modules/vitest'))).toBe(false); // dev dependencies pruned
  });

  it('default command and extra options: protected mode stays off, options apply, dir is /data', async () => {
    const port = await freePort();
    const p = await run(['--port', String(port), '--maxmemory', '100mb', '--save', ''], port);
    expect(await cfg(port, 'protected-mode')).toBe('no');
    expect(await cfg(port, 'maxmemory')).toBe('104857600');
    expect(await cfg(port, 'dir')).toBe(fs.realpathSync(inRoot('/data')));
    // bin/shardis raised the open-files limit where the hard limit allows it.
    const limits = fs.readFileSync(`/proc/${p.pid}/limits`, 'utf8');
    const soft = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(limits)!;
    const hard = soft[2] === 'unlimited' ? Infinity : Number(soft[2]);
    if (hard >= 10032) expect(soft[1] === 'unlimited' || Number(soft[1]) >= 10032).toBe(true);
    p.kill('SIGTERM');
  });

  it('a config file as the first argument; its own protected-mode is respected', async () => {
    const port = await freePort();
    const conf = inRoot('/usr/local/etc/redis/redis.conf');
    fs.mkdirSync(path.dirname(conf), { recursive: true });
    fs.writeFileSync(conf, `port ${port}\nsave ""\nhz 20\n`);
    const p = await run([conf, '--maxmemory', '1mb'], port);
    expect(await cfg(port, 'hz')).toBe('20');
    expect(await cfg(port, 'protected-mode')).toBe('no');
    expect(await cfg(port, 'maxmemory')).toBe('1048576');
    p.kill('SIGTERM');

    const port2 = await freePort();
    fs.writeFileSync(conf, `port ${port2}\nsave ""\nprotected-mode yes\n`);
    const p2 = await run([conf], port2);
    expect(await cfg(port2, 'protected-mode')).toBe('yes');
    p2.kill('SIGTERM');

    const port3 = await freePort();
    const p3 = await run(['--port', String(port3), '--protected-mode', 'yes', '--save', ''], port3);
    expect(await cfg(port3, 'protected-mode')).toBe('yes');
    p3.kill('SIGTERM');
  });

  it('another command runs as it is', () => {
    const ep = entrypoint.map((a) => (a.startsWith('/') ? inRoot(a) : a));
    const out = execFileSync(ep[0], [...ep.slice(1), 'sh', '-c', 'pwd; echo hello'], { cwd: inRoot(workdir), encoding: 'utf8' });
    expect(out).toBe(`${inRoot('/data')}\nhello\n`);
  });
});

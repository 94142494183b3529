// The write path's randomized replay workloads (test/helpers/workload.ts) written through the
// AOF on --threads 3, with a BGREWRITEAOF in the middle of them: redis-check-aof accepts the
// appendonlydir, and redis-server 7.0 loading it has the same DEBUG DIGEST as shardis had (so
// does shardis restarted after kill -9).
// SHARDIS_AOF_REPLAY_SEEDS (default 4) and SHARDIS_AOF_REPLAY_MS (per seed, default 500) run more.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { againstRedis, startRedis, startShardis, type Server } from '../helpers/server';
import { RawClient, show } from '../helpers/resp';
import { CONNS, runSeed } from '../helpers/workload';

const SEEDS = Number(process.env.SHARDIS_AOF_REPLAY_SEEDS ?? 4);
const WORK_MS = Number(process.env.SHARDIS_AOF_REPLAY_MS ?? 500);
const REDIS_CHECK_AOF = process.env.REDIS_CHECK_AOF || 'redis-check-aof';

async function info(c: RawClient, field: string): Promise<string> {
  const r = await c.call('INFO', 'persistence');
  const text = r.t === 'bulk' && r.v !== null ? r.v.toString() : '';
  return new RegExp(`^${field}:(.*)\r?$`, 'm').exec(text)?.[1]?.trim() ?? '';
}

describe('AOF replay', () => {
  it.skipIf(againstRedis())(`${SEEDS} random workloads on 3 threads through the AOF, a BGREWRITEAOF among them: redis-server loads the same DEBUG DIGEST`, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shardis-aof-replay-'));
    let sh: Server | null = null;
    let rs: Server | null = null;
    const conns: RawClient[] = [];
    try {
      sh = await startShardis({ threads: 3, args: ['--dir', dir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'everysec'] });
      for (let i = 0; i < CONNS; i++) conns.push(await RawClient.connect(sh.port));
      const admin = await RawClient.connect(sh.port);
      conns.push(admin);
      const baseUsed = Number(/used_memory:(\d+)/.exec(String((await admin.call('INFO', 'memory') as { v: Buffer }).v))![1]);
      const mid = Math.floor(SEEDS / 2);
      for (let seed = 0; seed < SEEDS; seed++) {
        // The rewrite's snapshot runs while this seed's clients write (and every one after it
        // lands in the new INCR file, or the one before the switch).
        if (seed === mid) expect(show(await admin.call('BGREWRITEAOF'))).toMatch(/rewriting started/);
        await runSeed(901 + seed, conns.slice(0, CONNS), admin, baseUsed, WORK_MS, { streams: true });
      }
      for (let t = 0; t < 400 && (await info(admin, 'aof_rewrite_in_progress')) !== '0'; t++) await new Promise((r) => setTimeout(r, 25));
      expect(await info(admin, 'aof_rewrites')).toBe('1');
      expect(await info(admin, 'aof_last_bgrewrite_status')).toBe('ok');
      const digest = show(await admin.call('DEBUG', 'DIGEST'));
      expect(digest).not.toMatch(/0{40}/);
      for (const c of conns) await c.close();
      conns.length = 0;
      // Every reply was held until its writes were in the file: kill -9 loses none of them.
      process.kill(sh.pid, 'SIGKILL');
      await sh.stop().catch(() => undefined);
      sh = null;
      const manifest = fs.readFileSync(path.join(dir, 'appendonlydir', 'appendonly.aof.manifest'), 'utf8');
      expect(manifest).toMatch(/seq 2 type b/);
      expect(execFileSync(REDIS_CHECK_AOF, [path.join(dir, 'appendonlydir', 'appendonly.aof.manifest')], { encoding: 'utf8' }))
        .toMatch(/All AOF files and manifest are valid/);
      // redis-server on a copy (its start-up may rewrite nothing, but keep ours as written).
      const rdir = fs.mkdtempSync(path.join(os.tmpdir(), 'shardis-aof-replay-redis-'));
      fs.cpSync(path.join(dir, 'appendonlydir'), path.join(rdir, 'appendonlydir'), { recursive: true });
      rs = await startRedis({ args: ['--dir', rdir, '--appendonly', 'yes', '--enable-debug-command', 'yes'] });
      const r = await RawClient.connect(rs.port);
      expect(show(await r.call('DEBUG', 'DIGEST'))).toBe(digest);
      await r.close();
      await rs.stop();
      rs = null;
      fs.rmSync(rdir, { recursive: true, force: true });
      sh = await startShardis({ threads: 3, args: ['--dir', dir, '--save', '', '--appendonly', 'yes'] });
      const s2 = await RawClient.connect(sh.port);
      expect(show(await s2.call('DEBUG', 'DIGEST'))).toBe(digest);
      await s2.close();
    } finally {
      for (const c of conns) await c.close().catch(() => undefined);
      await sh?.stop().catch(() => undefined);
      await rs?.stop().catch(() => undefined);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000 + SEEDS * (WORK_MS + 3000));
});

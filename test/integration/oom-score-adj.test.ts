// oom-score-adj: the process's /proc/<pid>/oom_score_adj follows oom-score-adj-values for its class
// (master, replica; a save's child process the third), relative to the score found when shardis
// took control or absolute, and goes back to that score when the setting returns to no.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as fs from 'node:fs';
import { startShardis, type Server } from '../helpers/server';
import { RawClient, show, text } from '../helpers/resp';

let srv: Server;
let c: RawClient;
beforeAll(async () => {
  srv = await startShardis({ threads: 2 });
  c = await RawClient.connect(srv.port);
});
afterAll(async () => {
  await c?.close();
  await srv?.stop();
});

const score = (pid: number): number => Number(fs.readFileSync(`/proc/${pid}/oom_score_adj`, 'latin1').trim());
/** A process whose parent is pid (from /proc/<n>/stat), or 0. */
function childOf(pid: number): number {
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const st = fs.readFileSync(`/proc/${d}/stat`, 'latin1');
      // pid (comm) state ppid ...: comm may hold spaces, so read after its closing parenthesis.
      if (Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]) === pid) return Number(d);
    } catch {
      /* gone meanwhile */
    }
  }
  return 0;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.runIf(process.platform === 'linux')('oom-score-adj', () => {
  it('follows the class and the mode, and restores the score it found', async () => {
    const pid = srv.pid;
    expect(show(await c.call('CONFIG', 'SET', 'oom-score-adj', 'no'))).toBe('OK');
    // Changed from outside while shardis leaves it alone: that is the base it keeps.
    fs.writeFileSync(`/proc/${pid}/oom_score_adj`, '22\n');
    await c.call('CONFIG', 'SET', 'oom-score-adj-values', '5 6 7');
    expect(score(pid)).toBe(22);
    expect(show(await c.call('CONFIG', 'SET', 'oom-score-adj-values', '10 20 30', 'oom-score-adj', 'yes'))).toBe('OK');
    expect(score(pid)).toBe(32);
    await c.call('CONFIG', 'SET', 'oom-score-adj-values', '15 20 30');
    expect(score(pid)).toBe(37);
    // A replica's class, and back.
    expect(show(await c.call('REPLICAOF', '127.0.0.1', '1'))).toBe('OK');
    expect(score(pid)).toBe(42);
    await c.call('REPLICAOF', 'NO', 'ONE');
    expect(score(pid)).toBe(37);
    await c.call('CONFIG', 'SET', 'oom-score-adj', 'absolute');
    expect(score(pid)).toBe(15);
    // Out of the kernel's range: clamped, as Redis.
    await c.call('CONFIG', 'SET', 'oom-score-adj-values', '2000 20 30');
    expect(score(pid)).toBe(1000);
    await c.call('CONFIG', 'SET', 'oom-score-adj-values', '15 20 30', 'oom-score-adj', 'yes');
    // A save's child process gets the third value.
    await c.call('SET', 'k', 'v');
    await c.call('CONFIG', 'SET', 'rdb-key-save-delay', '1000000');
    expect(text(await c.call('BGSAVE'))).toContain('Background saving started');
    let child = 0;
    for (let i = 0; i < 100 && child === 0; i++) {
      child = childOf(pid);
      if (child === 0) await sleep(20);
    }
    expect(child).toBeGreaterThan(0);
    expect(score(child)).toBe(52);
    await c.call('CONFIG', 'SET', 'rdb-key-save-delay', '0');
    process.kill(child, 'SIGKILL');
    // Given back: the score it found.
    await c.call('CONFIG', 'SET', 'oom-score-adj', 'no');
    expect(score(pid)).toBe(22);
    expect(show(await c.call('CONFIG', 'GET', 'oom-score-adj'))).toContain('no');
  });
});

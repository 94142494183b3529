// oom-score-adj (Redis's setOOMScoreAdj): the kernel's OOM-killer bias for this process follows
// its class, master or replica, from oom-score-adj-values; a save's child process gets the third
// value. /proc/self/oom_score_adj is one value for the whole process, so the thread that runs
// CONFIG SET or REPLICAOF writes it; whether shardis has changed it, and the value it found before
// (restored when oom-score-adj goes back to no), are shared words, as Redis's two statics.
import * as fs from 'fs';
import type { Store } from '../store/keyspace';
import type { Config } from '../config/config';
import { MISC_REPLICA } from '../store/keyspace';
import { log } from './log';

/** Misc words: shardis has adjusted the score (0/1); the score found before it did. */
export const M_OOM_ADJUSTED = 61;
export const M_OOM_BASE = 62;

// Positions in oom-score-adj-values.
const OOM_MASTER = 0;
const OOM_REPLICA = 1;
const OOM_BGCHILD = 2;

/** The value for a class under the current config, or null when shardis leaves the score alone. */
function classValue(store: Store, config: Config, cls: number): number | null {
  const mode = config.str('oom-score-adj');
  if (mode === 'no') return null;
  let v = Number(config.str('oom-score-adj-values').split(' ')[cls]);
  if (mode !== 'absolute') v += Atomics.load(store.i32, store.L.misc + M_OOM_BASE);
  return Math.max(-1000, Math.min(1000, v));
}

/** Apply the current config to this process, master or replica as it is now. False if it failed (logged). */
export function setOomScoreAdj(store: Store, config: Config): boolean {
  const cls = Atomics.load(store.i32, store.L.misc + MISC_REPLICA) !== 0 ? OOM_REPLICA : OOM_MASTER;
  const adjusted = store.L.misc + M_OOM_ADJUSTED;
  let val: number;
  if (config.str('oom-score-adj') !== 'no') {
    if (Atomics.load(store.i32, adjusted) === 0) {
      // The score before shardis takes control, restored when it gives it back.
      let base: number;
      try {
        base = parseInt(fs.readFileSync('/proc/self/oom_score_adj', 'latin1'), 10) || 0;
      } catch (e) {
        log('warning', `Unable to read oom_score_adj: ${(e as Error).message}`);
        return false;
      }
      Atomics.store(store.i32, store.L.misc + M_OOM_BASE, base);
      Atomics.store(store.i32, adjusted, 1);
    }
    val = classValue(store, config, cls) as number;
  } else if (Atomics.compareExchange(store.i32, adjusted, 1, 0) === 1) {
    val = Atomics.load(store.i32, store.L.misc + M_OOM_BASE);
  } else return true;
  return writeScore('self', val);
}

/** A save's child process: the bgchild value, when shardis manages the score. */
export function setChildOomScoreAdj(store: Store, config: Config, pid: number): void {
  if (pid === process.pid || Atomics.load(store.i32, store.L.misc + M_OOM_ADJUSTED) === 0) return;
  const v = classValue(store, config, OOM_BGCHILD);
  if (v !== null) writeScore(String(pid), v);
}

function writeScore(pid: string, val: number): boolean {
  try {
    fs.writeFileSync(`/proc/${pid}/oom_score_adj`, `${val}\n`);
    return true;
  } catch (e) {
    log('warning', `Unable to write oom_score_adj: ${(e as Error).message}`);
    return false;
  }
}

// Persistence state every thread reads (INFO persistence, LASTSAVE, MISCONF) and the main thread
// writes (it runs every save and load): f64 words in shared memory (Layout.persist).
import type { Store } from '../store/keyspace';

export const P_LAST_SAVE = 0;          // unix seconds of the last successful save
export const P_BGSAVE_IN_PROGRESS = 1;
export const P_LAST_BGSAVE_OK = 2;     // 1 ok, 0 err (rdb_last_bgsave_status; MISCONF)
export const P_LAST_BGSAVE_TIME = 3;   // seconds, -1 before the first
export const P_BGSAVE_START = 4;       // ms of the running save's start, 0 when none
export const P_SAVES = 5;              // rdb_saves
export const P_LAST_COW = 6;           // bytes copied before writes during the last save
export const P_LOAD_EXPIRED = 7;
export const P_LOAD_LOADED = 8;
export const P_DIRTY_AT_SAVE = 9;      // changes counted (all threads) when the last good save began
export const P_KEYS_PROCESSED = 10;
export const P_KEYS_TOTAL = 11;
export const P_LOADING_START = 12;     // unix seconds
export const P_LOADING_TOTAL = 13;     // bytes
export const P_LOADING_LOADED = 14;
export const P_BGSAVE_SCHEDULED = 15;
export const P_LOADING_KEYS = 16;
export const P_LAST_SAVE_TRY = 17;     // unix seconds of the last save attempt (retry delay after errors)
export const P_COW_NOW = 18;           // bytes copied so far by the running save
export const P_COW_HELD = 19;          // bytes of copies the running save holds now (waiting for their place)
export const P_COW_PEAK = 20;          // the most it held during the running save
export const P_FORKS = 21;             // total_forks: background snapshots started (Redis forks a child for each)
export const P_FORK_USEC = 22;         // latest_fork_usec: the last background snapshot's point in time (every slot locked), in us
export const P_SHUTDOWN_AT = 23;       // ms the shutdown waiting for lagging replicas gives up at (0: none; INFO shutdown_in_milliseconds)

export function pget(s: Store, i: number): number {
  return s.f64[s.L.persist + i];
}

export function pset(s: Store, i: number, v: number): void {
  s.f64[s.L.persist + i] = v;
}

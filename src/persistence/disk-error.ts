// writeCommandsDeniedByDiskError + writeCommandsGetDiskErrorMessage: the MISCONF error a write
// gets while the server cannot persist. Client.call checks it for every write command (and PING),
// the script engine for each write redis.call makes.
import type { Config } from '../config/config';
import type { Store } from '../store/keyspace';
import { P_LAST_BGSAVE_OK } from './state';
import { aofWriteError } from './aof-hold';

const E_MISCONF =
  "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";

/**
 * The error text (no leading '-') when writes are refused: the last BGSAVE failed with save rules
 * set and stop-writes-on-bgsave-error on, or the last AOF write failed. Null: writes may go.
 */
export function diskWriteError(store: Store, config: Config): string | null {
  if (store.f64[store.L.persist + P_LAST_BGSAVE_OK] === 0 && config.bool('stop-writes-on-bgsave-error') && config.str('save').trim() !== '') {
    return E_MISCONF;
  }
  const aofErr = aofWriteError();
  return aofErr !== null ? `MISCONF Errors writing to the AOF file: ${aofErr}` : null;
}

// INFO persistence's AOF lines (genRedisInfoString), from the shared AOF state (aof-state.ts).
import type { ThreadServer } from '../server/context';
import {
  aofShared, A_ENABLED, A_REWRITE_IN_PROGRESS, A_REWRITE_SCHEDULED, A_LAST_BGREWRITE_OK, A_WRITE_ERR, A_PENDING_FSYNC,
  F_LAST_REWRITE_SECS, F_REWRITE_START, F_REWRITES, F_REWRITE_FAILURES, F_CURRENT_SIZE, F_BASE_SIZE, F_BUFFER_LENGTH,
  F_DELAYED_FSYNC, F_LAST_COW,
} from './aof-state';

export function aofInfoLines(srv: ThreadServer): Array<[string, string | number]> {
  const a = aofShared();
  const on = a !== null && a.get(A_ENABLED) !== 0;
  const start = a === null ? 0 : a.f64[F_REWRITE_START];
  const lines: Array<[string, string | number]> = [
    ['aof_enabled', on ? 1 : 0],
    ['aof_rewrite_in_progress', a !== null && a.get(A_REWRITE_IN_PROGRESS) !== 0 ? 1 : 0],
    ['aof_rewrite_scheduled', a !== null && a.get(A_REWRITE_SCHEDULED) !== 0 ? 1 : 0],
    ['aof_last_rewrite_time_sec', a === null ? -1 : a.f64[F_LAST_REWRITE_SECS]],
    ['aof_current_rewrite_time_sec', start > 0 ? Math.floor((Date.now() - start) / 1000) : -1],
    ['aof_last_bgrewrite_status', a === null || a.get(A_LAST_BGREWRITE_OK) !== 0 ? 'ok' : 'err'],
    ['aof_rewrites', a === null ? 0 : a.f64[F_REWRITES]],
    ['aof_rewrites_consecutive_failures', a === null ? 0 : a.f64[F_REWRITE_FAILURES]],
    ['aof_last_write_status', a === null || a.get(A_WRITE_ERR) === 0 ? 'ok' : 'err'],
    ['aof_last_cow_size', a === null ? 0 : a.f64[F_LAST_COW]],
  ];
  // server.aof_enabled is the appendonly directive.
  if (a !== null && srv.config.bool('appendonly')) {
    lines.push(
      ['aof_current_size', a.f64[F_CURRENT_SIZE]],
      ['aof_base_size', a.f64[F_BASE_SIZE]],
      ['aof_pending_rewrite', a.get(A_REWRITE_SCHEDULED) !== 0 ? 1 : 0],
      ['aof_buffer_length', a.f64[F_BUFFER_LENGTH]],
      ['aof_pending_bio_fsync', a.get(A_PENDING_FSYNC)],
      ['aof_delayed_fsync', a.f64[F_DELAYED_FSYNC]],
    );
  }
  return lines;
}

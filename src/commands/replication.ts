// Replication commands of the master side: SYNC, PSYNC, REPLCONF, WAIT (src/replication/master.ts).
import { def } from './def';
import type { CommandSpec } from './types';
import { replconfCommand, syncCommand, waitCommand } from '../replication/master';

const ADMIN = ['admin', 'slow', 'dangerous'];

export const commands: CommandSpec[] = [
  def('sync', 1, 'admin noscript no_async_loading no_multi', [0, 0, 0], 'server', 'Internal command used for replication', syncCommand, {
    lock: 'none', since: '1.0.0', acl: ADMIN,
  }),
  def('psync', -3, 'admin noscript no_async_loading no_multi', [0, 0, 0], 'server', 'Internal command used for replication', syncCommand, {
    lock: 'none', since: '2.8.0', acl: ADMIN,
  }),
  def('replconf', -1, 'admin noscript loading stale allow_busy', [0, 0, 0], 'server', 'An internal command for configuring the replication stream', replconfCommand, {
    lock: 'none', since: '3.0.0', acl: ADMIN, complexity: 'O(1)',
  }),
  def('wait', 3, 'noscript', [0, 0, 0], 'generic', 'Wait for the synchronous replication of all the write commands sent in the context of the current connection', waitCommand, {
    lock: 'none', since: '3.0.0', acl: ['slow', 'connection'], complexity: 'O(1)', tips: ['request_policy:all_shards', 'response_policy:agg_min'],
  }),
];

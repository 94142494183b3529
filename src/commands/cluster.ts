// Cluster commands (cluster.c) on a standalone server: shardis is not a Redis Cluster node, so as
// redis-server with cluster-enabled no, CLUSTER (every subcommand), READONLY, READWRITE and ASKING
// exist in the table (COMMAND, ACL categories, scripts' flags such as CLUSTER RESET's noscript) and
// answer that cluster support is disabled. Clients probe them (ioredis's cluster mode, redis-cli
// --cluster) and get Redis's error.
import type { CommandSpec } from './types';
import type { Client } from '../server/client';
import { def } from './def';

function disabled(c: Client): void {
  c.w.error('ERR This instance has cluster support disabled');
}

function clusterParent(c: Client): void {
  c.w.error("ERR wrong number of arguments for 'cluster' command");
}

// redis-server lists them in its dict's order, which changes with each start's hash seed.
const clusterSubcommands: CommandSpec[] = [
  def('addslots', -3, 'admin stale no_async_loading', [0, 0, 0], 'cluster', 'Assign new hash slots to receiving node', disabled, { lock: 'none', since: '3.0.0', complexity: 'O(N) where N is the total number of hash slot arguments', acl: ['admin', 'slow', 'dangerous'] }),
  def('addslotsrange', -4, 'admin stale no_async_loading', [0, 0, 0], 'cluster', 'Assign new hash slots to receiving node', disabled, { lock: 'none', since: '7.0.0', complexity: 'O(N) where N is the total number of the slots between the start slot and end slot arguments.', acl: ['admin', 'slow', 'dangerous'] }),
  def('bumpepoch', 2, 'admin stale no_async_loading', [0, 0, 0], 'cluster', 'Advance the cluster config epoch', disabled, { lock: 'none', since: '3.0.0', complexity: 'O(1)', acl: ['admin', 'slow', 'dangerous'] }),
  def('count-failure-reports', 3, 'admin stale', [0, 0, 0], 'cluster', 'Return the number of failure reports active for a given node', disabled, { lock: 'none', since: '3.0.0', complexity: 'O(N) where N is the number of failure reports', acl: ['admin', 'slow', 'dangerous'] }),
  def('countkeysinslot', 3, 'stale', [0, 0, 0], 'cluster', 'Return the number of local keys in the specified hash slot', disabled, { lock: 'none', since: '3.0.0', complexity: 'O(1)', acl: ['slow'] }),
  def('delslots', -3, 'admin stale no_async_loading', [0, 0, 0], 'cluster', 'Set hash slots as unbound in receiving node', disabled, { lock: 'none', since: '3.0.0', complexity: 'O(N) where N is the total number of hash slot arguments', acl: ['admin', 'slow', 'dangerous'] }),
  def('delslotsrange', -4, 'admin stale no_async_loading', [0, 0, 0], 'cluster', 'Set hash slots as unbound in receiving node', disabled, { lock: 'none', since: '7.0.0', complexity: 'O(N) where N is the total number of the slots between the start slot and end slot arguments.', acl: ['admin', 'slow', 'dangerous'] }),
  def('failover', -2, 'admin stale no_async_loading', [0, 0, 0], 'cluster', 'Forces a replica to perform a manual failover of its master.', disabled, { lock: 'none', since: '3.0.0', complexity: 'O(1)', acl: ['admin', 'slow', 'dangerous'] }),
  def('flushslots', 2, 'admin stale no_async_loading', [0, 0, 0], 'cluster', 'Delete a node\'s own slots information', disabled, { lock: 'none', since: '3.0.0', complexity: 'O(1)', acl: ['admin', 'slow', 'dangerous'] }),
  def('forget', 3, 'admin stale no_async_loading', [0, 0, 0], 'cluster', 'Remove a node from the nodes table', disabled, { lock: 'none', since: '3.0.0', complexity: 'O(1)', acl: ['admin', 'slow', 'dangerous'] }),
  def('getkeysinslot', 4, 'stale', [0, 0, 0], 'cluster', 'Return local key names in the specified hash slot', disabled, { lock: 'none', since: '3.0.0', complexity: 'O(log(N)) where N is the number of requested keys', acl: ['slow'] }),
  def('help', 2, 'loading stale', [0, 0, 0], 'cluster', 'Show helpful text about the different subcommands', disabled, { lock: 'none', since: '5.0.0', complexity: 'O(1)', acl: ['slow'] }),
  def('info', 2, 'stale', [0, 0, 0], 'cluster', 'Provides info about Redis Cluster node state', disabled, { lock: 'none', since: '3.0.0', complexity: 'O(1)', acl: ['slow'] }),
  def('keyslot', 3, 'stale', [0, 0, 0], 'cluster', 'Returns the hash slot of the specified key', disabled, { lock: 'none', since: '3.0.0', complexity: 'O(N) where N is the number of bytes in the key', acl: ['slow'] }),
  def('links', 2, 'stale', [0, 0, 0], 'cluster', 'Returns a list of all TCP links to and from peer nodes in cluster', disabled, { lock: 'none', since: '7.0.0', complexity: 'O(N) where N is the total number of Cluster nodes', acl: ['slow'] }),
  def('meet', -4, 'admin stale no_async_loading', [0, 0, 0], 'cluster', 'Force a node cluster to handshake with another node', disabled, { lock: 'none', since: '3.0.0', complexity: 'O(1)', acl: ['admin', 'slow', 'dangerous'] }),
  def('myid', 2, 'stale', [0, 0, 0], 'cluster', 'Return the node id', disabled, { lock: 'none', since: '3.0.0', complexity: 'O(1)', acl: ['slow'] }),
  def('nodes', 2, 'stale', [0, 0, 0], 'cluster', 'Get Cluster config for the node', disabled, { lock: 'none', since: '3.0.0', complexity: 'O(N) where N is the total number of Cluster nodes', acl: ['slow'] }),
  def('replicas', 3, 'admin stale', [0, 0, 0], 'cluster', 'List replica nodes of the specified master node', disabled, { lock: 'none', since: '5.0.0', complexity: 'O(1)', acl: ['admin', 'slow', 'dangerous'] }),
  def('replicate', 3, 'admin stale no_async_loading', [0, 0, 0], 'cluster', 'Reconfigure a node as a replica of the specified master node', disabled, { lock: 'none', since: '3.0.0', complexity: 'O(1)', acl: ['admin', 'slow', 'dangerous'] }),
  def('reset', -2, 'admin noscript stale', [0, 0, 0], 'cluster', 'Reset a Redis Cluster node', disabled, { lock: 'none', since: '3.0.0', complexity: 'O(N) where N is the number of known nodes. The command may execute a FLUSHALL as a side effect.', acl: ['admin', 'slow', 'dangerous'] }),
  def('saveconfig', 2, 'admin stale no_async_loading', [0, 0, 0], 'cluster', 'Forces the node to save cluster state on disk', disabled, { lock: 'none', since: '3.0.0', complexity: 'O(1)', acl: ['admin', 'slow', 'dangerous'] }),
  def('set-config-epoch', 3, 'admin stale no_async_loading', [0, 0, 0], 'cluster', 'Set the configuration epoch in a new node', disabled, { lock: 'none', since: '3.0.0', complexity: 'O(1)', acl: ['admin', 'slow', 'dangerous'] }),
  def('setslot', -4, 'admin stale no_async_loading', [0, 0, 0], 'cluster', 'Bind a hash slot to a specific node', disabled, { lock: 'none', since: '3.0.0', complexity: 'O(1)', acl: ['admin', 'slow', 'dangerous'] }),
  def('shards', 2, 'stale', [0, 0, 0], 'cluster', 'Get array of cluster slots to node mappings', disabled, { lock: 'none', since: '7.0.0', complexity: 'O(N) where N is the total number of cluster nodes', acl: ['slow'] }),
  def('slaves', 3, 'admin stale', [0, 0, 0], 'cluster', 'List replica nodes of the specified master node', disabled, { lock: 'none', since: '3.0.0', complexity: 'O(1)', acl: ['admin', 'slow', 'dangerous'] }),
  def('slots', 2, 'stale', [0, 0, 0], 'cluster', 'Get array of Cluster slot to node mappings', disabled, { lock: 'none', since: '3.0.0', complexity: 'O(N) where N is the total number of Cluster nodes', acl: ['slow'] }),
];

export const commands: CommandSpec[] = [
  def('cluster', -2, '', [0, 0, 0], 'cluster', 'A container for cluster commands', clusterParent, { lock: 'none', since: '3.0.0', complexity: 'Depends on subcommand.', acl: ['slow'], subcommands: clusterSubcommands }),
  def('readonly', 1, 'loading stale fast', [0, 0, 0], 'cluster', 'Enables read queries for a connection to a cluster replica node', disabled, { lock: 'none', since: '3.0.0', complexity: 'O(1)', acl: ['fast', 'connection'] }),
  def('readwrite', 1, 'loading stale fast', [0, 0, 0], 'cluster', 'Disables read queries for a connection to a cluster replica node', disabled, { lock: 'none', since: '3.0.0', complexity: 'O(1)', acl: ['fast', 'connection'] }),
  def('asking', 1, 'fast', [0, 0, 0], 'cluster', 'Sent by cluster clients after an -ASK redirect', disabled, { lock: 'none', since: '3.0.0', complexity: 'O(1)', acl: ['fast', 'connection'] }),
];

// The one command table: every family file exports its specs, and this registers them with the
// registry (src/commands/registry.ts: lookup, key positions, commandstats), which it re-exports.
// Only the runtime (main, worker, client) imports this file; services and command bodies that
// need a lookup import the registry, so no command family is reached back from below.
import { registerCommands } from './registry';
import { commands as strings } from './strings';
import { commands as keys } from './keys';
import { commands as server } from './server';
import { commands as connection } from './connection';
import { commands as lists } from './lists';
import { commands as hashes } from './hashes';
import { commands as sets } from './sets';
import { commands as zsets } from './zsets';
import { commands as streams } from './streams';
import { groupCommands as streamGroups } from './stream-groups';
import { commands as sort } from './sort';
import { commands as transactions } from './transactions';
import { commands as pubsub } from './pubsub';
import { commands as scripting } from './scripting';
import { commands as persist } from './persist';
import { commands as migrate } from './migrate';
import { commands as latency } from './latency';
import { commands as replicaof } from './replicaof';
import { commands as replication } from './replication';
import { commands as hyperloglog } from './hyperloglog';
import { commands as geo } from './geo';
import { commands as cluster } from './cluster';
import { commands as acl } from './acl';
import { commands as module } from './module';
import { commands as lolwut } from './lolwut';

registerCommands([
  ...strings, ...keys, ...server, ...connection, ...lists, ...hashes, ...sets, ...zsets, ...streams, ...streamGroups, ...sort, ...transactions, ...pubsub, ...scripting, ...persist, ...migrate, ...latency, ...replicaof, ...replication, ...hyperloglog, ...geo, ...cluster, ...acl, ...module, ...lolwut,
]);

export * from './registry';

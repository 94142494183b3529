// Every collection type's store module, for their registrations with the keyspace (free, copy,
// check). Imported by each thread's entry (main, worker), so any thread can free, copy and check
// every type without importing src/commands.
import './list';
import './hash';
import './set';
import './zset';
import './stream';

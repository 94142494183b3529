// Pub/sub commands (pubsub.c). Delivery across threads lives in src/server/pubsub.ts.
import { cstr } from './args';
import type { CommandSpec } from './types';
import type { Client } from '../server/client';
import { def } from './def';
import { K_CHANNEL, K_PATTERN, K_SHARD } from '../server/pubsub';
import { globMatch } from '../config/glob';
import { isReplica, rget, R_BACKLOG_ACTIVE } from '../replication/state';

const SUB_NAMES = ['subscribe', 'ssubscribe', 'psubscribe'];
const UNSUB_NAMES = ['unsubscribe', 'sunsubscribe', 'punsubscribe'];

function count(c: Client, kind: number): number {
  return kind === K_SHARD ? c.ssubscriptions : c.subscriptions + c.psubscriptions;
}

function ack(c: Client, what: string, name: Buffer | null, n: number): void {
  c.w.push(3);
  c.w.bulkStr(what);
  if (name === null) c.w.nil();
  else c.w.bulk(name);
  c.w.int(n);
}

function subscribeKind(kind: number) {
  return (c: Client, argv: Buffer[]): void => {
    const ps = c.srv.pubsub;
    for (let i = 1; i < argv.length; i++) {
      ps.subscribe(c, kind, argv[i].toString('latin1'));
      ack(c, SUB_NAMES[kind], argv[i], count(c, kind));
    }
  };
}

function unsubscribeKind(kind: number) {
  return (c: Client, argv: Buffer[]): void => {
    const ps = c.srv.pubsub;
    if (argv.length === 1) {
      const before = count(c, kind);
      const names = ps.unsubscribeAll(c, kind);
      if (names.length === 0) return ack(c, UNSUB_NAMES[kind], null, count(c, kind));
      // Each reply counts what is left after that name, as if they went one by one.
      for (let i = 0; i < names.length; i++) ack(c, UNSUB_NAMES[kind], Buffer.from(names[i], 'latin1'), before - i - 1);
      return;
    }
    for (let i = 1; i < argv.length; i++) {
      ps.unsubscribe(c, kind, argv[i].toString('latin1'));
      ack(c, UNSUB_NAMES[kind], argv[i], count(c, kind));
    }
  };
}

// PUBLISH and SPUBLISH change no data but reach replicas (forceCommandPropagation with
// PROPAGATE_REPL), so that their subscribers get the messages; the AOF writer drops them. As
// Redis's shouldPropagate(PROPAGATE_REPL): only on a master with a replication backlog, so that
// without one they neither move the replication offset nor make an EXEC's single write a
// MULTI/EXEC in the AOF.
function propagatePublish(c: Client, argv: Buffer[]): void {
  const p = c.srv.prop;
  const s = c.store;
  if (p.on() && rget(s, R_BACKLOG_ACTIVE) === 1 && !isReplica(s)) p.alsoPropagate(c.db, argv);
}

function publish(c: Client, argv: Buffer[]): void {
  c.w.int(c.srv.pubsub.publish(c, K_CHANNEL, argv[1], argv[2]));
  propagatePublish(c, argv);
}

function spublish(c: Client, argv: Buffer[]): void {
  c.w.int(c.srv.pubsub.publish(c, K_SHARD, argv[1], argv[2]));
  propagatePublish(c, argv);
}

function channelsOf(kind: number) {
  return (c: Client, argv: Buffer[]): void => {
    if (argv.length > 3) return c.w.error(`ERR wrong number of arguments for 'pubsub|${kind === K_SHARD ? 'shardchannels' : 'channels'}' command`);
    const all = c.srv.pubsub.registry.all(kind);
    const out: Buffer[] = [];
    for (const name of all.keys()) {
      const b = Buffer.from(name, 'latin1');
      if (argv.length === 3 && !globMatch(argv[2], b)) continue;
      out.push(b);
    }
    c.w.array(out.length);
    for (const b of out) c.w.bulk(b);
  };
}

function numsubOf(kind: number) {
  return (c: Client, argv: Buffer[]): void => {
    const all = c.srv.pubsub.registry.all(kind);
    c.w.array((argv.length - 2) * 2);
    for (let i = 2; i < argv.length; i++) {
      c.w.bulk(argv[i]);
      c.w.int(all.get(argv[i].toString('latin1')) ?? 0);
    }
  };
}

function numpat(c: Client): void {
  c.w.int(c.srv.pubsub.registry.all(K_PATTERN).size);
}

function pubsubHelp(c: Client): void {
  const lines = [
    'PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
    'CHANNELS [<pattern>]',
    "    Return the currently active channels matching a <pattern> (default: '*').",
    'NUMPAT',
    '    Return number of subscriptions to patterns.',
    'NUMSUB [<channel> ...]',
    '    Return the number of subscribers for the specified channels, excluding',
    '    pattern subscriptions(default: no channels).',
    'SHARDCHANNELS [<pattern>]',
    '    Return the currently active shard level channels matching a <pattern> (default: \'*\').',
    'SHARDNUMSUB [<shardchannel> ...]',
    '    Return the number of subscribers for the specified shard level channel(s)',
    'HELP',
    '    Prints this help.',
  ];
  c.w.array(lines.length);
  for (const l of lines) c.w.simple(l);
}

function container(c: Client, argv: Buffer[]): void {
  c.w.error(`ERR unknown subcommand '${argv[1] === undefined ? '' : cstr(argv[1])}'. Try PUBSUB HELP.`);
}

const PS = 'pubsub noscript loading stale';
export const commands: CommandSpec[] = [
  def('subscribe', -2, PS, [0, 0, 0], 'pubsub', 'Listen for messages published to the given channels', subscribeKind(K_CHANNEL), { since: '2.0.0', lock: 'none', acl: ['pubsub', 'slow'] }),
  def('unsubscribe', -1, PS, [0, 0, 0], 'pubsub', 'Stop listening for messages posted to the given channels', unsubscribeKind(K_CHANNEL), { since: '2.0.0', lock: 'none', acl: ['pubsub', 'slow'] }),
  def('psubscribe', -2, PS, [0, 0, 0], 'pubsub', 'Listen for messages published to channels matching the given patterns', subscribeKind(K_PATTERN), { since: '2.0.0', lock: 'none', acl: ['pubsub', 'slow'] }),
  def('punsubscribe', -1, PS, [0, 0, 0], 'pubsub', 'Stop listening for messages posted to channels matching the given patterns', unsubscribeKind(K_PATTERN), { since: '2.0.0', lock: 'none', acl: ['pubsub', 'slow'] }),
  def('ssubscribe', -2, PS, [1, -1, 1], 'pubsub', 'Listen for messages published to the given shard channels', subscribeKind(K_SHARD), { since: '7.0.0', lock: 'none', acl: ['pubsub', 'slow'] }),
  def('sunsubscribe', -1, PS, [1, -1, 1], 'pubsub', 'Stop listening for messages posted to the given shard channels', unsubscribeKind(K_SHARD), { since: '7.0.0', lock: 'none', acl: ['pubsub', 'slow'] }),
  def('publish', 3, 'pubsub loading stale fast may_replicate', [0, 0, 0], 'pubsub', 'Post a message to a channel', publish, { since: '2.0.0', lock: 'none', acl: ['pubsub', 'fast'] }),
  def('spublish', 3, 'pubsub loading stale fast may_replicate', [1, 1, 1], 'pubsub', 'Post a message to a shard channel', spublish, { since: '7.0.0', lock: 'none', acl: ['pubsub', 'fast'] }),
  def('pubsub', -2, '', [0, 0, 0], 'pubsub', 'A container for Pub/Sub commands', container, {
    since: '2.8.0',
    lock: 'none',
    acl: ['slow'],
    subcommands: [
      def('channels', -2, 'pubsub loading stale', [0, 0, 0], 'pubsub', 'List active channels', channelsOf(K_CHANNEL), { since: '2.8.0', lock: 'none', acl: ['pubsub', 'slow'] }),
      def('numsub', -2, 'pubsub loading stale', [0, 0, 0], 'pubsub', 'Get the count of subscribers for channels', numsubOf(K_CHANNEL), { since: '2.8.0', lock: 'none', acl: ['pubsub', 'slow'] }),
      def('numpat', 2, 'pubsub loading stale', [0, 0, 0], 'pubsub', 'Get the count of unique patterns pattern subscriptions', numpat, { since: '2.8.0', lock: 'none', acl: ['pubsub', 'slow'] }),
      def('shardchannels', -2, 'pubsub loading stale', [0, 0, 0], 'pubsub', 'List active shard channels', channelsOf(K_SHARD), { since: '7.0.0', lock: 'none', acl: ['pubsub', 'slow'] }),
      def('shardnumsub', -2, 'pubsub loading stale', [0, 0, 0], 'pubsub', 'Get the count of subscribers for shard channels', numsubOf(K_SHARD), { since: '7.0.0', lock: 'none', acl: ['pubsub', 'slow'] }),
      def('help', 2, 'loading stale', [0, 0, 0], 'pubsub', 'Show helpful text about the different subcommands', pubsubHelp, { since: '6.2.0', lock: 'none', acl: ['slow'] }),
    ],
  }),
];

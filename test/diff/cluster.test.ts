// Differential tests (redis-server vs shardis) for the cluster commands of a standalone server:
// both are non-cluster servers, so every CLUSTER subcommand, READONLY, READWRITE and ASKING
// answer that cluster support is disabled, after the same arity and subcommand checks.
import { describe, it } from 'vitest';
import { diffSuite } from '../helpers/diff';

const { same } = diffSuite();

describe('CLUSTER on a standalone server', () => {
  it('every subcommand, arity and unknown subcommands', () =>
    same(`
      CLUSTER
      CLUSTER HELP
      CLUSTER INFO
      CLUSTER SLOTS
      CLUSTER SHARDS
      CLUSTER NODES
      CLUSTER MYID
      CLUSTER KEYSLOT
      CLUSTER KEYSLOT foo
      CLUSTER COUNTKEYSINSLOT 1
      CLUSTER GETKEYSINSLOT 1 10
      CLUSTER RESET HARD
      CLUSTER ADDSLOTS 1
      CLUSTER ADDSLOTSRANGE 1
      CLUSTER SETSLOT 1 NODE x
      CLUSTER FOO
      cluster info extra
    `));

  it('READONLY, READWRITE, ASKING and the command table', () =>
    same(`
      READONLY
      READWRITE
      ASKING
      READONLY x
      COMMAND INFO readonly readwrite asking cluster|reset cluster|keyslot cluster|info cluster|help
      COMMAND GETKEYS cluster info
    `));

  it('scripts may not call CLUSTER RESET (noscript), and CLUSTER INFO answers the error inside them', () =>
    same(`
      EVAL "return redis.pcall('cluster','reset')" 0
      EVAL "return redis.pcall('cluster','info')" 0
      EVAL "return redis.pcall('readonly')" 0
    `));

  it('in RESP3', () =>
    same(
      `
      CLUSTER INFO
      READONLY
    `,
      { resp3: true },
    ));
});

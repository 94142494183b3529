// Differential tests (redis-server vs shardis) for ACL users: ACL SETUSER rules and their errors,
// GETUSER / LIST / USERS / CAT / DRYRUN replies, AUTH / HELLO AUTH, -NOPERM texts on commands, keys
// and channels, MULTI/EXEC, scripts, and ACL LOG's fields. Users persist across scripts (FLUSHALL
// does not touch them), so each test names its own users.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { script, startPair, type Pair } from '../helpers/diff';
import { RawClient, show, type Reply } from '../helpers/resp';

let d: Pair;
beforeAll(async () => {
  // Two threads: the users must be the same on every thread of shardis.
  d = await startPair({ threads: 2 });
});
afterAll(async () => {
  await d?.stop();
});

const same = (text: string, opts?: { resp3?: boolean; flush?: boolean }) => d.expectSame(script(text), opts);

/**
 * Redis lists single-command rules (+get +set ...) in its command dict's order, which is seeded
 * at random per process: runs of such rules are sorted before comparing. Everything else (the
 * +@all/-@all start, the categories chosen, flags, passwords, patterns) is compared as it is.
 */
function normRules(text: string): string {
  const out: string[] = [];
  let run: string[] = [];
  const flush = (): void => {
    out.push(...run.sort());
    run = [];
  };
  for (const tok of text.split(' ')) {
    if (/^[+-][a-z_|-]+(\|[^ ]+)?$/.test(tok) && !tok.includes('@')) run.push(tok);
    else {
      flush();
      out.push(tok);
    }
  }
  flush();
  return out.join(' ');
}

/** Run commands on both servers, one connection each, replies shown with rules normalized. */
async function sameNormalized(text: string): Promise<void> {
  const r = await d.each(async (c) => {
    const out: string[] = [];
    for (const step of script(text)) {
      if (!('cmd' in step)) continue;
      const shown = show(await c.call(...step.cmd)).replace(/"([^"]*)"/g, (_m, inner: string) => `"${normRules(inner)}"`);
      out.push(`> ${step.cmd.join(' ')}`, shown);
    }
    expect(out.length).toBeGreaterThan(10);
    return out.join('\n');
  }, { flush: false });
  expect(r.shardis).toBe(r.redis);
}

describe('ACL SETUSER / GETUSER / LIST', () => {
  it('creates users and describes them as Redis does', () =>
    sameNormalized(`
      ACL SETUSER u1
      ACL GETUSER u1
      ACL SETUSER u1 on >p1 >p2 <p1 ~k* %R~r* %W~w* %RW~b* &ch* +get
      ACL GETUSER u1
      ACL SETUSER u2 reset on nopass allkeys allchannels +@all -@dangerous
      ACL GETUSER u2
      ACL SETUSER u3 on #5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8 -@all +@read +@hash
      ACL GETUSER u3
      ACL SETUSER u4 on nopass ~a (+set ~b*) (+get %R~c* &x)
      ACL GETUSER u4
      ACL SETUSER u4 clearselectors
      ACL GETUSER u4
      ACL SETUSER u5 on nopass +config|get +client|list -@all +select|0 +select|1
      ACL GETUSER u5
      ACL SETUSER u6 skip-sanitize-payload resetpass
      ACL GETUSER u6
      ACL GETUSER nosuchuser
      ACL DELUSER u1 u2 u3 u4 u5 u6 nosuchuser
      ACL USERS
      ACL LIST
    `));

  it('GETUSER in RESP3 (maps and sets)', () =>
    same(
      `
      ACL SETUSER r3 on nopass ~a* &b* -@all +get (+set %W~w*)
      ACL GETUSER r3
      ACL DELUSER r3
    `,
      { resp3: true },
    ));

  it('refuses bad rules with Redis errors, changing nothing', () =>
    same(`
      ACL SETUSER bad1 on nosuchrule
      ACL SETUSER bad1 +nosuchcommand
      ACL SETUSER bad1 +@nosuchcategory
      ACL SETUSER bad1 #abc
      ACL SETUSER bad1 !abc
      ACL SETUSER bad1 <notthere
      ACL SETUSER bad1 allkeys ~foo
      ACL SETUSER bad1 allchannels &foo
      ACL SETUSER bad1 +config|get|x
      ACL SETUSER bad1 +debug|
      ACL SETUSER bad1 %X~foo
      ACL SETUSER bad1 (+get ~a
      ACL SETUSER "bad user" on
      ACL GETUSER bad1
      ACL DELUSER default
      ACL SETUSER
      ACL GETUSER
      ACL NOSUCH
    `));

  it('ACL CAT, GENPASS, WHOAMI, HELP, DRYRUN', () =>
    same(`
      ACL CAT
      [unordered] ACL CAT geo
      [unordered] ACL CAT hyperloglog
      [unordered] ACL CAT admin
      [unordered] ACL CAT dangerous
      [unordered] ACL CAT fast
      [unordered] ACL CAT read
      ACL CAT nosuch
      [shape] ACL GENPASS
      [shape] ACL GENPASS 5
      ACL GENPASS 0
      ACL GENPASS 5000
      ACL GENPASS x
      ACL WHOAMI
      ACL HELP
      ACL SETUSER dry on nopass -@all +set +get ~k* &c*
      ACL DRYRUN dry set k1 v
      ACL DRYRUN dry set x1 v
      ACL DRYRUN dry incr k1
      ACL DRYRUN dry publish c1 m
      ACL DRYRUN nosuch get k
      ACL DRYRUN dry nosuchcmd k
      ACL DRYRUN dry get
      ACL DELUSER dry
    `));

  it('ACL LOAD / SAVE without an aclfile', () =>
    same(`
      ACL LOAD
      ACL SAVE
    `));
});

describe('AUTH, HELLO AUTH and permission checks', () => {
  it('authenticates users and refuses commands, keys and channels with -NOPERM', () =>
    sameNormalized(`
      ACL SETUSER alice on >pw ~k* %R~ro* &news* -@all +get +set +publish +subscribe +psubscribe +multi +exec +eval +acl|whoami
      AUTH alice wrong
      AUTH nosuch pw
      AUTH pw
      AUTH alice pw
      ACL WHOAMI
      SET k1 v
      GET k1
      SET x1 v
      GET ro1
      SET ro1 v
      INCR k1
      CONFIG GET maxmemory
      PUBLISH news1 m
      PUBLISH other m
      MULTI
      SET k2 v
      INCR k2
      SET zz v
      EXEC
      MULTI
      SET k3 v
      GET k3
      EXEC
      EVAL "return redis.call('get', KEYS[1])" 1 k1
      EVAL "return redis.call('incr', KEYS[1])" 1 k1
      EVAL "return redis.pcall('set', 'nope', 1)" 0
      AUTH a b c
    `));

  it('HELLO AUTH', () =>
    same(
      `
      ACL SETUSER hal on >hp +@all ~*
      HELLO 2 AUTH hal wrong
      [shape] HELLO 2 AUTH hal hp
      ACL WHOAMI
      HELLO 3 AUTH nosuch x
    `,
      { resp3: false },
    ));

  it('disabled users cannot authenticate; DELUSER closes their connections', async () => {
    await same(`
      ACL SETUSER offuser off >x +@all ~*
      AUTH offuser x
    `);
    await d.each(async (c, _side, port) => {
      await c.call('ACL', 'SETUSER', 'gone', 'on', '>g', '+@all', '~*');
      const other = await RawClient.connect(port);
      expect(show(await other.call('AUTH', 'gone', 'g'))).toBe('OK');
      expect(show(await c.call('ACL', 'DELUSER', 'gone'))).toBe('(integer) 1');
      await other.closed();
      expect(other.isOpen).toBe(false);
    });
  });

  it('a user deleting itself gets the reply, then the connection closes', async () => {
    const r = await d.each(async (c) => {
      await c.call('ACL', 'SETUSER', 'selfdel', 'on', '>s', '+acl', '~*');
      await c.call('AUTH', 'selfdel', 's');
      const reply = show(await c.call('ACL', 'DELUSER', 'selfdel'));
      await c.closed();
      return reply;
    });
    expect(r.shardis).toBe(r.redis);
  });
});

describe('ACL LOG', () => {
  /** The fields that do not depend on the connection (client-info and age are checked for shape). */
  const fields = (r: Reply): string[] => {
    if (r.t !== 'array' || r.v === null) return [show(r)];
    return r.v.map((e) => {
      if ((e.t !== 'array' && e.t !== 'map') || e.v === null) return show(e);
      const flat = e.t === 'map' ? e.v.flatMap(([k, v]) => [k, v]) : e.v;
      const out: string[] = [];
      for (let i = 0; i < flat.length; i += 2) {
        const k = show(flat[i]);
        const v = flat[i + 1];
        if (k.includes('age-seconds')) out.push(`${k}=${v.t}`);
        else if (k.includes('client-info')) out.push(`${k}=${/ cmd=(\S+) user=(\S+) /.exec(show(v))?.slice(1).join(',')}`);
        else out.push(`${k}=${show(v)}`);
      }
      return out.join(' ');
    });
  };

  it('logs denied commands, keys, channels and AUTH failures with Redis fields', async () => {
    const r = await d.each(async (c) => {
      await c.call('ACL', 'LOG', 'RESET');
      await c.call('ACL', 'SETUSER', 'logu', 'on', '>lp', '~k*', '&c*', '-@all', '+get', '+publish', '+multi', '+eval');
      await c.call('AUTH', 'logu', 'bad');
      await c.call('AUTH', 'logu', 'lp');
      await c.call('SET', 'k', 'v');
      await c.call('SET', 'k', 'v');
      await c.call('GET', 'x');
      await c.call('PUBLISH', 'other', 'm');
      await c.call('MULTI');
      await c.call('GET', 'y');
      await c.call('EXEC');
      await c.call('EVAL', "return redis.pcall('get', 'z')", '0');
      await c.call('MULTI');
      await c.call('SET', 'k', 'v');
      await c.call('AUTH', 'default', 'x');
      const log = await c.call('ACL', 'LOG');
      const two = await c.call('ACL', 'LOG', '2');
      await c.call('ACL', 'LOG', 'RESET');
      const empty = await c.call('ACL', 'LOG');
      return [fields(log), fields(two), show(empty), show(await c.call('ACL', 'LOG', 'x'))];
    });
    expect(r.shardis).toEqual(r.redis);
  });
});

describe('requirepass and the default user', () => {
  it('CONFIG SET requirepass sets the default user password', () =>
    same(
      `
      CONFIG SET requirepass secret
      ACL GETUSER default
      AUTH secret
      AUTH default secret
      CONFIG SET requirepass ""
      ACL GETUSER default
      AUTH x
    `,
      { flush: false },
    ));
});

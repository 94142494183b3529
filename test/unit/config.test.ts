import { execFile, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Config, ConfigError } from '../../src/config/config';
import { isSensitiveConfig, memtoull } from '../../src/config/directives';
import { MAX_THREADS } from '../../src/store/heap';
import { startRedis, type Server } from '../helpers/server';

const REDIS_SERVER = process.env.REDIS_SERVER || 'redis-server';
// The comparisons with the real server need redis-server 7.0.x on PATH.
const HAVE_REDIS = /v=7\.0\./.test(spawnSync(REDIS_SERVER, ['--version'], { encoding: 'utf8' }).stdout ?? '');
const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'shardis-config-test-')));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const p = path.join(tmp, name);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, text);
  return p;
}

/** Config.load's error (message and viaLog), or null when it loads. */
function loadError(argv: string[], commandExists?: (n: string) => boolean): { text: string; viaLog: boolean } | null {
  try {
    Config.load(argv, { commandExists });
    return null;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return { text: e.message, viaLog: e.viaLog };
  }
}

/** Run redis-server with argv (expected to fail at start-up). */
function runRedis(argv: string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(REDIS_SERVER, argv, { cwd: tmp, timeout: 30_000 }, (_err, stdout, stderr) => resolve({ stdout, stderr }));
  });
}

const COMMANDS = new Set(['get', 'set', 'config', 'flushall', 'keys', 'debug']);
const commandExists = (n: string): boolean => COMMANDS.has(n.toLowerCase());

describe.skipIf(!HAVE_REDIS)('start-up errors match redis-server 7.0.15', () => {
  const cases: string[][] = [
    ['--port', 'abc'],
    ['--port'],
    ['--port', '1', '2'],
    ['--port 1 2'],
    ['--foo', 'bar', 'baz'],
    ['--save', '1'],
    ['--save', '0', '1'],
    ['--save', '--port', 'x'],
    ['--save', '10 x'],
    ['--port', '--maxmemory'],
    ['--maxmemory', '1x'],
    ['--maxmemory', '-1'],
    ['--maxmemory', '1kbb'],
    ['--loglevel', 'foo'],
    ['--appendfsync', 'x'],
    ['--maxmemory-policy', 'lru'],
    ['--hash-max-ziplist-value', '-1'],
    ['--port', '70000'],
    ['--hz', '1.5'],
    ['--timeout', '01'],
    ['--slowlog-log-slower-than', '-2'],
    ['--maxclients', '-1'],
    ['--client-output-buffer-limit', 'foo', '1', '2', '3'],
    ['--client-output-buffer-limit', 'master', '1', '2', '3'],
    ['--client-output-buffer-limit', 'normal', '1', '2'],
    ['--client-output-buffer-limit', 'normal 1 2 x'],
    ['--client-output-buffer-limit', 'normal 1 2 -5'],
    ['--notify-keyspace-events', 'Q'],
    ['--replicaof', 'a', 'b'],
    ['--replicaof', 'a'],
    ['--replicaof', 'a', '70000'],
    ['--daemonize', 'maybe'],
    ['--dbfilename', 'a/b'],
    ['--appendfilename', ''],
    ['--appenddirname', 'x\\y'],
    ['--dir', '/nonexistent-shardis-dir'],
    ['--logfile', '/nonexistent-shardis-dir/x.log'],
    ['--unixsocketperm', '1000'],
    ['--unixsocketperm', '9'],
    ['--oom-score-adj-values', '1', '2'],
    ['--oom-score-adj-values', '1', '2', '3000'],
    ['--maxmemory-clients', '101%'],
    ['--maxmemory-clients', 'x'],
    ['--latency-tracking-info-percentiles', '101'],
    ['--latency-tracking-info-percentiles', '50', 'abc'],
    ['--shutdown-on-sigint', 'save', 'nosave'],
    ['--shutdown-on-sigterm', 'later'],
    ['--enable-debug-command', 'maybe'],
    ['--activedefrag', 'yes'],
    ['--proc-title-template', '{nope}'],
    ['--cluster-announce-hostname', 'a_b'],
    ['--bind', ...Array.from({ length: 17 }, (_, i) => `127.0.0.${i + 1}`)],
    ['--list-max-ziplist-entries', '5', '--port', 'abc'],
    ['--list-max-ziplist-entries', '5', '6'],
    ['--lua-time-limit', 'x'],
    ['--slaveof', 'h', 'p'],
    ['--user'],
    ['--include'],
    ['--rename-command', 'FOO', 'BAR'],
    ['--rename-command', 'GET', 'SET'],
    ['--rename-command', 'GET', 'FETCH', '--rename-command', 'GET', 'X'],
    ['--a.b'],
    ['--port', 'héllo\t"\\'],
    ['--requirepass', 'pa ss', '--port', 'x'],
    ['--include', '/nonexistent-shardis-dir/x.conf'],
    ['/nonexistent-shardis-dir/redis.conf'],
  ];

  it('for command-line arguments', async () => {
    const real = await Promise.all(cases.map(runRedis));
    cases.forEach((argv, i) => {
      const mine = loadError(argv, commandExists);
      const label = JSON.stringify(argv);
      expect(mine, label).not.toBeNull();
      if (mine!.viaLog) {
        // Logged as "pid:C date # <message>" on stdout.
        expect(real[i].stdout.trim().endsWith(`# ${mine!.text}`), `${label}: ${real[i].stdout}`).toBe(true);
      } else {
        expect(mine!.text, label).toBe(real[i].stderr);
      }
    });
  });

  it('for config files and includes', async () => {
    write('inc/ok.conf', 'maxmemory 1mb\n');
    write('inc/bad.conf', '# comment\n\n  port    "abc"  \r\n');
    const files: Array<[string, string[]]> = [
      ['f1.conf', ['port 7000', 'port "abc"']],
      ['f2.conf', ['port "abc']],
      ['f3.conf', ['port "1"x']],
      ['f4.conf', ["requirepass 'abc"]],
      ['f5.conf', ['', '# c', '\tport\t1\t2 ', 'x']],
      ['f6.conf', ['include ' + path.join(tmp, 'inc/ok.conf'), 'include ' + path.join(tmp, 'inc/bad.conf')]],
      ['f7.conf', ['include ' + path.join(tmp, 'inc/nomatch*.conf'), 'port x']],
      ['f8.conf', ['include ' + path.join(tmp, 'inc/*.conf')]],
      ['f9.conf', ['sentinel monitor x']],
      ['f10.conf', ['a.b']],
      ['f11.conf', ['dbfilename "a\\x2fb"']],
      ['f12.conf', ['save "900 1 300"']],
      ['f13.conf', ['save 900 1', 'save ""', 'save 0 0']],
      ['f14.conf', ['"port" abc']],
      ['f15.conf', ['PORT abc']],
      ['f16.conf', ['bind "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17"']],
      ['f17.conf', ['loglevel notice', 'loadmodule']],
      ['f18.conf', ['port 1\r', 'databases 0']],
    ];
    const argvs = files.map(([name, lines]) => [write(name, lines.join('\n') + '\n')]);
    argvs.push([path.join(tmp, 'f1.conf'), '--port', '5']);
    argvs.push([path.join(tmp, 'inc/ok.conf'), '--port', 'x']);
    const real = await Promise.all(argvs.map(runRedis));
    argvs.forEach((argv, i) => {
      const mine = loadError(argv, commandExists);
      const label = JSON.stringify(argv);
      expect(mine, label).not.toBeNull();
      if (mine!.viaLog) expect(real[i].stdout.trim().endsWith(`# ${mine!.text}`), label).toBe(true);
      else expect(mine!.text, label).toBe(real[i].stderr);
    });
  });
});

describe.skipIf(!HAVE_REDIS)('CONFIG GET / CONFIG SET match a running redis-server', () => {
  let server: Server;
  let client: Redis;
  const cfg = Config.defaults();

  beforeAll(async () => {
    server = await startRedis();
    client = new Redis({ port: server.port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 });
    await client.connect();
    // Bring ours to the same start state as startRedis()'s arguments.
    expect(cfg.set([['save', ''], ['appendonly', 'no']])).toBeNull();
  });
  afterAll(async () => {
    client?.disconnect();
    await server?.stop();
  });

  const SKIP = (name: string): boolean => /^tls-/i.test(name) || ['port', 'dir', 'bind'].includes(name.toLowerCase());
  const pairs = (flat: unknown): Array<[string, string]> => {
    const a = flat as string[];
    const out: Array<[string, string]> = [];
    for (let i = 0; i < a.length; i += 2) out.push([a[i], a[i + 1]]);
    return out;
  };
  const sorted = (p: Array<[string, string]>): Array<[string, string]> =>
    p.filter(([k]) => !SKIP(k)).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const configSet = async (args: string[]): Promise<string | null> => {
    try {
      await client.call('config', 'set', ...args);
      return null;
    } catch (e) {
      return (e as Error).message;
    }
  };
  const toPairs = (args: string[]): Array<[string, string]> => {
    const out: Array<[string, string]> = [];
    for (let i = 0; i < args.length; i += 2) out.push([args[i], args[i + 1]]);
    return out;
  };

  it('CONFIG GET * (defaults, aliases, hidden ones left out)', async () => {
    const real = pairs(await client.call('config', 'get', '*'));
    const mine = cfg.getMatching(['*']);
    expect(sorted(mine)).toEqual(sorted(real));
    expect(mine.length).toBe(real.filter(([k]) => !k.startsWith('tls-')).length);
    // The three skipped above, at their true defaults.
    const d = Config.defaults();
    expect(d.get('port')).toBe('6379');
    expect(d.get('bind')).toBe('* -::*');
    expect(d.get('save')).toBe('3600 1 300 100 60 10000');
    expect(d.get('dir')).toBe(fs.realpathSync(process.cwd()));
  });

  it('CONFIG GET patterns and exact names', async () => {
    const queries = [
      ['*max*'], ['PO*'], ['port', 'PORT'], ['PORT', 'po*'], ['po*', 'PORT'], ['*slave*', 'slaveof'], ['SLAVEOF'],
      ['rdb-key-save-delay'], ['rdb-key*'], ['[a-c]*'], ['*-?ax*'], ['nonexistent'], ['maxmemory*', 'maxmemory'],
      ['*[^a-z-]*'], ['lua-time-limit', 'busy-reply-threshold'], ['\\*'], ['save', 'appendonly'],
    ];
    for (const q of queries) {
      const real = pairs(await client.call('config', 'get', ...q));
      expect(sorted(cfg.getMatching(q)), JSON.stringify(q)).toEqual(sorted(real));
    }
  });

  it('CONFIG SET errors', async () => {
    const bind17 = Array.from({ length: 17 }, (_, i) => `127.0.0.${i + 1}`).join(' ');
    const cases: string[][] = [
      ['foo', 'bar'], ['foo', 'bar', 'port', 'x'], ['port', 'x', 'foo', 'bar'], ['port', 'abc'], ['port', '70000'],
      ['loglevel', 'foo'], ['databases', '2'], ['databases', '1', 'foo', 'bar'], ['port', '1', 'port', '1'],
      ['PORT', '1', 'Port', '1'], ['timeout', '1', 'slaveof', 'x'], ['maxmemory', '10mb', 'maxmemory-policy', 'bad'],
      ['save', '1 2 3'], ['save', '10 1  20 2'], ['save', '  '], ['save', '0 1'], ['save', '1 x'], ['save', '1 -1'],
      ['dir', '/tmp'], ['dbfilename', 'x.rdb'], ['slaveof', 'a 1'], ['replicaof', 'no one'], ['lua-time-limit', 'abc'],
      ['list-max-ziplist-entries', '1'], ['bind', bind17], ['latency-tracking-info-percentiles', '50 x'],
      ['latency-tracking-info-percentiles', '101'], ['latency-tracking-info-percentiles', 'nan'],
      ['latency-tracking-info-percentiles', '1e-400'], ['oom-score-adj-values', '1 2'],
      ['oom-score-adj-values', '1 2 3000'], ['repl-backlog-size', '0'], ['proto-max-bulk-len', '1'],
      ['proto-max-bulk-len', '18446744073709551615'], ['maxmemory-clients', '101%'], ['maxmemory-clients', 'x'],
      ['maxmemory-clients', '-1%'], ['maxclients', '0'], ['maxclients', '-1'], ['activedefrag', 'yes'],
      ['proc-title-template', '{foo}'], ['proc-title-template', '{title}'], ['proc-title-template', '{title'],
      ['cluster-announce-hostname', 'a_b'], ['cluster-announce-hostname', 'a'.repeat(256)],
      ['shutdown-on-sigint', 'save nosave'], ['shutdown-on-sigint', ''], ['shutdown-on-sigint', 'save  now'],
      ['notify-keyspace-events', 'Q'], ['client-output-buffer-limit', 'master 1 2 3'],
      ['client-output-buffer-limit', 'normal 1 2'], ['client-output-buffer-limit', 'normal 1 2 -1'],
      ['client-output-buffer-limit', 'normal 1x 2 3'], ['hash-max-ziplist-value', '-1'], ['maxmemory', '-1'],
      ['maxmemory', '1kbb'], ['maxmemory', ' 1'], ['slowlog-max-len', '-1'], ['set-max-intset-entries', '-1'],
      ['unixsocketperm', '1'], ['appendfsync', 'sometimes'], ['daemonize', 'yes'], ['protected-mode', 'maybe'],
      ['io-threads', '2'], ['timeout', '1.5'], ['timeout', '+1'], ['timeout', ' 1'], ['timeout', '01'],
      ['timeout', '-0'], ['hz', '99999999999999999999'], ['hz', '-1'], ['list-max-listpack-size', '2147483648'],
      ['appendfilename', 'x'], ['cluster-enabled', 'no'], ['enable-debug-command', 'yes'], ['logfile', ''],
      ['pidfile', 'x'], ['supervised', 'no'], ['tcp-backlog', '1'], ['always-show-logo', 'yes'],
      ['sanitize-dump-payload', 'sometimes'], ['repl-diskless-load', 'x'], ['oom-score-adj', 'maybe'],
      ['acl-pubsub-default', 'x'], ['cluster-preferred-endpoint-type', 'x'], ['propagation-error-behavior', 'x'],
    ];
    for (const c of cases) {
      const real = await configSet(c);
      expect(real, JSON.stringify(c)).not.toBeNull();
      expect(cfg.set(toPairs(c)), JSON.stringify(c)).toBe(real);
    }
    // Nothing changed on either side.
    expect(sorted(cfg.getMatching(['*']))).toEqual(sorted(pairs(await client.call('config', 'get', '*'))));
  });

  it('CONFIG SET successes, then CONFIG GET', async () => {
    const steps: string[][] = [
      ['maxmemory', '1k'], ['maxmemory', '1GB'], ['maxmemory', ''], ['maxmemory', 'k'], ['maxmemory', '18446744073709551615'],
      ['maxmemory', '18446744073709551616'], ['maxmemory', '20000000000gb'], ['maxmemory', '0'],
      ['hz', '1000'], ['hz', '0'], ['hz', '10'],
      ['notify-keyspace-events', 'KEA'], ['notify-keyspace-events', 'gx$KEm'], ['notify-keyspace-events', 'AAn'],
      ['notify-keyspace-events', 'Ex'], ['notify-keyspace-events', ''],
      ['client-output-buffer-limit', 'replica 1 2 3'], ['client-output-buffer-limit', 'pubsub 1mb 2kb 0 normal 1 1 1'],
      ['client-output-buffer-limit', 'normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60'],
      ['shutdown-on-sigint', 'save now'], ['shutdown-on-sigint', 'DEFAULT save'], ['shutdown-on-sigint', 'force now save'],
      ['shutdown-on-sigint', 'default'],
      ['maxmemory-clients', '10%'], ['maxmemory-clients', '0%'], ['maxmemory-clients', '1mb'], ['maxmemory-clients', '0'],
      ['save', '10 1 20 2'], ['save', '+5 0'], ['save', '1 4294967297'], ['save', ''],
      ['latency-tracking-info-percentiles', '50.5 99.00 100'], ['latency-tracking-info-percentiles', '0x10 1e1 .5 -0'],
      ['latency-tracking-info-percentiles', ''], ['latency-tracking-info-percentiles', '50 99 99.9'],
      ['oom-score-adj', 'relative'], ['oom-score-adj', 'no'],
      ['loglevel', 'WARNING'], ['loglevel', 'notice'],
      ['lua-time-limit', '10'], ['busy-reply-threshold', '5000'],
      ['list-max-ziplist-size', '-1'], ['list-max-listpack-size', '-2'],
      ['slowlog-log-slower-than', '-1', 'slowlog-max-len', '5'], ['slowlog-log-slower-than', '10000', 'slowlog-max-len', '128'],
      ['masterauth', 'x y'], ['masterauth', ''], ['masteruser', 'u'], ['masteruser', ''],
      ['maxmemory', '10mb', 'maxmemory-policy', 'allkeys-lru'], ['maxmemory', '0', 'maxmemory-policy', 'noeviction'],
      ['hash-max-ziplist-entries', '100', 'zset-max-ziplist-value', '1kb'], ['hash-max-listpack-entries', '512', 'zset-max-listpack-value', '64'],
      ['activedefrag', 'no'], ['appendfsync', 'ALWAYS'], ['appendfsync', 'everysec'], ['stop-writes-on-bgsave-error', 'NO'],
      ['stop-writes-on-bgsave-error', 'yes'], ['replica-read-only', 'no'], ['slave-read-only', 'yes'],
      ['repl-backlog-size', '2mb'], ['repl-backlog-size', '1mb'], ['auto-aof-rewrite-min-size', '1g'],
      ['auto-aof-rewrite-min-size', '64mb'], ['proto-max-bulk-len', '1mb'], ['proto-max-bulk-len', '512mb'],
      ['client-query-buffer-limit', '2mb'], ['client-query-buffer-limit', '1gb'],
      ['proc-title-template', '{title} {port}'], ['proc-title-template', '{title} {listen-addr} {server-mode}'],
      ['cluster-announce-hostname', 'a-b.c'], ['cluster-announce-hostname', ''],
      ['min-replicas-to-write', '1'], ['min-slaves-to-write', '0'], ['latency-monitor-threshold', '100'],
      ['latency-monitor-threshold', '0'], ['maxclients', '5000'], ['maxclients', '10000'],
    ];
    for (const c of steps) {
      const real = await configSet(c);
      expect(real, JSON.stringify(c)).toBeNull();
      expect(cfg.set(toPairs(c)), JSON.stringify(c)).toBeNull();
      const names = c.filter((_, i) => i % 2 === 0);
      expect(sorted(cfg.getMatching(names)), JSON.stringify(c)).toEqual(sorted(pairs(await client.call('config', 'get', ...names))));
    }
    expect(sorted(cfg.getMatching(['*']))).toEqual(sorted(pairs(await client.call('config', 'get', '*'))));
  });
});

describe('config file parsing', () => {
  it('quoting, escapes, comments, CRLF, case', () => {
    const c = Config.defaults();
    c.applyText(
      [
        '# a comment',
        '   ',
        'REQUIREPASS "a\\x41\\n\\t\\"b\\\\"\r',
        "masterauth 'it\\'s'",
        '\tmasteruser   "x y"   ',
        'bind "127.0.0.1 ::1"',
        'logLevel WARNING',
        'dbfilename "caf\\xc3\\xa9.rdb"',
        'pidfile ""',
        'list-max-ziplist-entries 10',
        'sentinel',
      ].join('\n'),
    );
    expect(c.get('requirepass')).toBe('aA\n\t"b\\');
    expect(c.get('masterauth')).toBe("it's");
    expect(c.get('masteruser')).toBe('x y');
    expect(c.get('bind')).toBe('127.0.0.1 ::1');
    expect(c.bindAddresses()).toEqual(['127.0.0.1', '::1']);
    expect(c.get('loglevel')).toBe('warning');
    expect(c.num('loglevel')).toBe(3);
    expect(c.get('dbfilename')).toBe('café.rdb');
    expect(c.get('pidfile')).toBe('');
  });

  it('save: the first line in a file replaces the defaults, later ones append', () => {
    const c = Config.defaults();
    c.applyText('save 10 1\nsave "20 2"\nsave 30 3 40 4');
    expect(c.get('save')).toBe('10 1 20 2 30 3 40 4');
    expect(c.saveRules()).toEqual([
      { seconds: 10, changes: 1 }, { seconds: 20, changes: 2 }, { seconds: 30, changes: 3 }, { seconds: 40, changes: 4 },
    ]);
    c.applyText('save ""\nsave 50 5');
    expect(c.get('save')).toBe('50 5');
    // Redis quirk: after an include, the file is no longer "being read", so
    // each later save line replaces (verified with redis-server 7.0.15).
    const inc = write('empty.conf', 'port 7394\n');
    const f = write('q.conf', `save 10 1\ninclude ${inc}\nsave 20 2\nsave 30 3\n`);
    expect(Config.load([f, '--save', '40', '4']).get('save')).toBe('40 4');
    const h = write('q3.conf', `save 10 1\ninclude ${path.join(tmp, 'nomatch*.conf')}\nsave 20 2\n`);
    expect(Config.load([h]).get('save')).toBe('20 2');
    const g = write('q2.conf', 'save 10 1\nsave 20 2\n');
    expect(Config.load([g, '--save', '30', '3']).get('save')).toBe('10 1 20 2 30 3');
    expect(Config.load(['--save', '']).saveRules()).toEqual([]);
    expect(Config.load(['--save']).saveRules()).toEqual([]);
    expect(Config.load(['--save', '--port', '1']).get('save')).toBe('');
  });

  it('command-line options', () => {
    const c = Config.load(['--port', '6380', '--maxmemory 1gb', '--bind', '127.0.0.1', '::1', '--replicaof', 'h', '06379']);
    expect(c.num('port')).toBe(6380);
    expect(c.num('maxmemory')).toBe(1073741824);
    expect(c.get('bind')).toBe('127.0.0.1 ::1');
    expect(c.get('replicaof')).toBe('h 6379');
    expect(c.replicaOf()).toEqual({ host: 'h', port: 6379 });
    expect(c.configFile).toBeUndefined();
    expect(Config.load([]).get('port')).toBe('6379');
    const f = write('base.conf', 'port 7000\nmaxmemory 100mb\n');
    const d = Config.load([f, '--port', '7001']);
    expect(d.configFile).toBe(f);
    expect(d.num('port')).toBe(7001);
    expect(d.get('maxmemory')).toBe('104857600');
  });

  it('stdin config with "-"', () => {
    const c = Config.load(['-', '--port', '7002'], { readStdin: () => 'port 7001\nhz 20\n' });
    expect(c.num('port')).toBe(7002);
    expect(c.num('hz')).toBe(20);
  });

  it('include: relative to dir, glob, no-match glob', () => {
    write('conf.d/b.conf', 'maxmemory 2mb\n');
    write('conf.d/a.conf', 'maxmemory 1mb\nport 7100\n');
    write('conf.d/.hidden.conf', 'port 1\n');
    write('rel.conf', 'hz 33\n');
    const c = Config.defaults();
    c.applyText(`dir ${tmp}\ninclude rel.conf\ninclude conf.d/*.conf\ninclude conf.d/none*.conf`);
    expect(c.get('dir')).toBe(tmp);
    expect(c.num('hz')).toBe(33);
    expect(c.get('maxmemory')).toBe('2097152'); // a.conf then b.conf
    expect(c.num('port')).toBe(7100);
    const e = loadError(['--include', 'no-such-file.conf']);
    expect(e).toEqual({ text: "Fatal error, can't open config file 'no-such-file.conf': No such file or directory", viaLog: true });
  });

  it('hz is clamped after loading', () => {
    expect(Config.load(['--hz', '0']).num('hz')).toBe(1);
    expect(Config.load(['--hz', '100000']).num('hz')).toBe(500);
  });

  it('logfile must be openable (and is created)', () => {
    const lf = path.join(tmp, 'server.log');
    expect(Config.load(['--logfile', lf]).get('logfile')).toBe(lf);
    expect(fs.existsSync(lf)).toBe(true);
  });

  it('rename-command, user, loadmodule', () => {
    const c = Config.load(['--rename-command', 'CONFIG', '', '--rename-command', 'get', 'fetch', '--user', 'alice', 'on', '>pw'], { commandExists });
    expect(c.renamedCommands()).toEqual([['CONFIG', ''], ['get', 'fetch']]);
    expect(c.userDirectives()).toEqual([['alice', 'on', '>pw']]);
    expect(loadError(['--rename-command', 'get', 'fetch', '--rename-command', 'fetch', 'x'], commandExists)).toBeNull();
    expect(loadError(['--rename-command', 'get', 'fetch', '--rename-command', 'get', 'x'], commandExists)?.text).toContain('No such command in rename-command');
    expect(loadError(['--loadmodule', '/x.so'])?.viaLog).toBe(true);
    // moduleLoad()'s log line: dlopen()'s error for a missing file.
    expect(loadError(['--loadmodule', '/nonexistent/x.so'])?.text).toBe('Module /nonexistent/x.so failed to load: /nonexistent/x.so: cannot open shared object file: No such file or directory');
    expect(loadError(['--foo.bar', '1'])?.text).toBe('Module Configuration detected without loadmodule directive or no ApplyConfig call: aborting');
  });

  it('shardis differences: cluster-enabled, threads, set-max-listpack-*', () => {
    expect(loadError(['--cluster-enabled', 'yes'])?.text).toContain('cluster mode is not supported');
    expect(Config.load(['--cluster-enabled', 'no']).bool('cluster-enabled')).toBe(false);
    const c = Config.load(['--threads', '4', '--set-max-listpack-entries', '100']);
    expect(c.num('threads')).toBe(4);
    expect(Config.defaults().num('threads')).toBe(0);
    expect(c.num('set-max-listpack-entries')).toBe(100);
    expect(c.set([['threads', '2']])).toBe("ERR CONFIG SET failed (possibly related to argument 'threads') - can't set immutable config");
    expect(c.getMatching(['*']).some(([k]) => k === 'threads' || k.startsWith('set-max-listpack'))).toBe(false);
    expect(c.getMatching(['threads', 'set-max-listpack-value'])).toEqual([['threads', '4'], ['set-max-listpack-value', '64']]);
    expect(loadError(['--threads', '-1'])?.text).toContain('argument must be between 0 and 255 inclusive');
    // Past the heap's per-thread areas a worker would write into the next area (ids 1..MAX_THREADS - 1).
    expect(MAX_THREADS - 1).toBe(255);
    expect(Config.load(['--threads', '255']).num('threads')).toBe(255);
    expect(loadError(['--threads', '256'])?.text).toContain('argument must be between 0 and 255 inclusive');
  });
});

describe('Config API', () => {
  it('typed reads', () => {
    const c = Config.defaults();
    expect(c.num('maxmemory')).toBe(0);
    expect(c.num('databases')).toBe(16);
    expect(c.bool('appendonly')).toBe(false);
    expect(c.num('appendonly')).toBe(0);
    expect(c.bool('protected-mode')).toBe(true);
    expect(c.str('maxmemory-policy')).toBe('noeviction');
    expect(c.num('list-max-ziplist-size')).toBe(-2);
    expect(c.saveRules()).toEqual([{ seconds: 3600, changes: 1 }, { seconds: 300, changes: 100 }, { seconds: 60, changes: 10000 }]);
    expect(c.clientOutputBufferLimits()).toEqual({
      normal: { hard: 0, soft: 0, softSeconds: 0 },
      replica: { hard: 268435456, soft: 67108864, softSeconds: 60 },
      pubsub: { hard: 33554432, soft: 8388608, softSeconds: 60 },
    });
    expect(c.set([['maxmemory-clients', '5%'], ['notify-keyspace-events', 'Ex']])).toBeNull();
    expect(c.num('maxmemory-clients')).toBe(-5);
    expect(c.notifyKeyspaceEvents()).toBe((1 << 1) | (1 << 8));
    expect(c.replicaOf()).toBeNull();
    expect(c.get('nope')).toBeUndefined();
    expect(() => c.num('nope')).toThrow();
    expect(() => c.bool('port')).toThrow();
  });

  it('memtoull', () => {
    expect(memtoull('1gb')).toBe(1073741824n);
    expect(memtoull('1G')).toBe(1000000000n);
    expect(memtoull('100mb')).toBe(104857600n);
    expect(memtoull('1k')).toBe(1000n);
    expect(memtoull('1KB')).toBe(1024n);
    expect(memtoull('12b')).toBe(12n);
    expect(memtoull('')).toBe(0n);
    expect(memtoull('-1')).toBeNull();
    expect(memtoull('1.5gb')).toBeNull();
  });

  it('protected configs, loading, force', () => {
    const c = Config.defaults();
    expect(c.set([['dir', tmp]])).toBe("ERR CONFIG SET failed (possibly related to argument 'dir') - can't set protected config");
    const local = Config.load(['--enable-protected-configs', 'local']);
    expect(local.set([['dir', tmp]])).not.toBeNull();
    expect(local.set([['dir', tmp]], { localClient: true })).toBeNull();
    expect(local.get('dir')).toBe(tmp);
    expect(local.set([['dir', 'nope-nope']], { localClient: true })).toBe(
      "ERR CONFIG SET failed (possibly related to argument 'dir') - No such file or directory",
    );
    const yes = Config.load(['--enable-protected-configs', 'yes']);
    expect(yes.set([['dbfilename', 'x.rdb']])).toBeNull();
    expect(yes.set([['appendonly', 'yes']], { loading: true })).toBe('LOADING Redis is loading the dataset in memory');
    expect(c.set([['replicaof', 'localhost 6380']], { force: true })).toBeNull();
    expect(c.replicaOf()).toEqual({ host: 'localhost', port: 6380 });
    expect(c.set([['replicaof', 'no one']], { force: true })).toBeNull();
    expect(c.get('replicaof')).toBe('');
    expect(c.protectedActionAllowed('enable-debug-command', true)).toBe(false);
    expect(Config.load(['--enable-debug-command', 'local']).protectedActionAllowed('enable-debug-command', true)).toBe(true);
  });

  it('onChange and registerApply (with rollback)', () => {
    const c = Config.defaults();
    const seen: Array<[string, string]> = [];
    c.onChange((n, v) => seen.push([n, v]));
    expect(c.set([['maxmemory', '1mb'], ['slave-read-only', 'no'], ['timeout', '0']])).toBeNull();
    expect(seen).toEqual([['maxmemory', '1048576'], ['replica-read-only', 'no']]);
    let ports = 0;
    c.registerApply(['port'], () => (++ports === 1 ? 'Unable to listen on this port. Check server logs.' : null));
    expect(c.set([['maxmemory', '2mb'], ['port', '7777']])).toBe(
      "ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen on this port. Check server logs.",
    );
    expect(c.get('maxmemory')).toBe('1048576');
    expect(c.get('port')).toBe('6379');
    expect(c.set([['port', '7777']])).toBeNull();
    expect(c.num('port')).toBe(7777);
  });

  it('toJSON / fromJSON round trip', () => {
    const c = Config.load(['--port', '7003', '--rename-command', 'get', 'g', '--user', 'bob', 'on'], { commandExists });
    const j = JSON.parse(JSON.stringify(c.toJSON())) as Record<string, string>;
    const d = Config.fromJSON(j);
    expect(d.getMatching(['*'])).toEqual(c.getMatching(['*']));
    expect(d.num('port')).toBe(7003);
    expect(d.renamedCommands()).toEqual([['get', 'g']]);
    expect(d.userDirectives()).toEqual([['bob', 'on']]);
  });

  it("notify-keyspace-events flags keep 'n' next to 'A' (CONFIG GET does not show it, as Redis)", () => {
    const c = Config.load(['--notify-keyspace-events', 'KEAn'], { commandExists });
    expect(c.get('notify-keyspace-events')).toBe('AKE');
    const nNew = 1 << 14;
    expect(c.notifyKeyspaceEvents() & nNew).toBe(nNew);
    expect(Config.fromJSON(JSON.parse(JSON.stringify(c.toJSON())) as Record<string, string>).notifyKeyspaceEvents()).toBe(c.notifyKeyspaceEvents());
    expect(c.set([['notify-keyspace-events', 'Em']])).toBeNull();
    expect(c.notifyKeyspaceEvents()).toBe((1 << 1) | (1 << 11));
    // A failed CONFIG SET leaves the flags as they were.
    expect(c.set([['notify-keyspace-events', 'KA'], ['port', 'x']])).not.toBeNull();
    expect(c.notifyKeyspaceEvents()).toBe((1 << 1) | (1 << 11));
  });

  it('sensitive configs', () => {
    expect(isSensitiveConfig('requirepass')).toBe(true);
    expect(isSensitiveConfig('MASTERAUTH')).toBe(true);
    expect(isSensitiveConfig('port')).toBe(false);
  });
});

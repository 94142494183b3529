// Wire-protocol tests: the same bytes go to redis-server and shardis, the raw bytes
// that come back are compared.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient, canon, decodeAll, encodeCommand, show, type Reply } from '../helpers/resp';
import { startRedis, startShardis, type Server } from '../helpers/server';

let redis: Server;
let shardis: Server;
beforeAll(async () => {
  [redis, shardis] = await Promise.all([startRedis(), startShardis()]);
});
afterAll(async () => {
  const res = await Promise.allSettled([redis?.stop(), shardis?.stop()]);
  for (const r of res) if (r.status === 'rejected') throw r.reason;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SENTINEL = encodeCommand(['ECHO', '__END__']);
const SENTINEL_REPLY = '$7\r\n__END__\r\n';

interface Exchange {
  out: string;
  closed: boolean;
}

/**
 * Connect, write `input` (then an ECHO sentinel unless the server is expected to
 * close the connection), and collect the raw reply bytes.
 */
async function exchange(
  port: number,
  input: string | Buffer,
  o: { expectClose?: boolean; byteDelayMs?: number; timeoutMs?: number } = {},
): Promise<Exchange> {
  const c = await RawClient.connect(port);
  try {
    const data = typeof input === 'string' ? Buffer.from(input, 'latin1') : input;
    const full = o.expectClose ? data : Buffer.concat([data, SENTINEL]);
    const reading = c.readRaw(
      o.timeoutMs ?? 10_000,
      o.expectClose ? undefined : (b) => b.toString('latin1').endsWith(SENTINEL_REPLY),
    );
    try {
      if (o.byteDelayMs !== undefined) {
        for (let i = 0; i < full.length; i++) {
          await c.writeRaw(full.subarray(i, i + 1));
          await sleep(o.byteDelayMs);
        }
      } else {
        await c.writeRaw(full);
      }
    } catch {
      // The server may close while we are still writing (protocol errors).
    }
    const out = await reading;
    if (!o.expectClose && c.isOpen) await sleep(0);
    return { out: out.toString('latin1'), closed: !c.isOpen };
  } finally {
    await c.close();
  }
}

/** Run the same exchange against both servers; assert identical bytes and close state. */
async function sameBytes(
  input: string | Buffer,
  o: { expectClose?: boolean; byteDelayMs?: number; timeoutMs?: number } = {},
): Promise<Exchange> {
  const [r, s] = await Promise.all([exchange(redis.port, input, o), exchange(shardis.port, input, o)]);
  const what = JSON.stringify(typeof input === 'string' ? input.slice(0, 80) : `<${input.length} bytes>`);
  expect(s.out, `reply bytes for ${what}`).toBe(r.out);
  expect(s.closed, `connection closed after ${what}`).toBe(r.closed);
  return r;
}

describe('inline commands', () => {
  it('PING and SET/GET', async () => {
    const r = await sameBytes('PING\r\n');
    expect(r.out).toBe('+PONG\r\n' + SENTINEL_REPLY);
    await sameBytes('SET a b\r\nGET a\r\n');
    await sameBytes('ping\nGET a\n');
    await sameBytes('   GET    a   \r\n');
    await sameBytes('SET n 10\r\nINCR n\r\nINCRBY n -20\r\nGET n\r\n');
  });

  it('quoted arguments', async () => {
    const r = await sameBytes('SET k "a b\\x41"\r\nGET k\r\n');
    expect(r.out).toBe('+OK\r\n$4\r\na bA\r\n' + SENTINEL_REPLY);
    await sameBytes(`SET k 'single \\' quoted'\r\nGET k\r\n`);
    await sameBytes('SET k "tab\\there\\nnewline \\"q\\" \\\\"\r\nGET k\r\n');
    await sameBytes('SET k ""\r\nSTRLEN k\r\nGET k\r\n');
    await sameBytes('ECHO "\\xff\\x00\\x7f"\r\n');
    await sameBytes('SET "spaced key" "spaced value"\r\nGET "spaced key"\r\n');
  });

  it('unbalanced quotes: protocol error, connection closed', async () => {
    const r = await sameBytes('SET k "abc\r\n', { expectClose: true });
    expect(r.out).toBe('-ERR Protocol error: unbalanced quotes in request\r\n');
    expect(r.closed).toBe(true);
    await sameBytes("SET k 'abc\r\n", { expectClose: true });
    await sameBytes('SET k "abc"def\r\n', { expectClose: true });
    await sameBytes('PING\r\nECHO "open\r\nPING\r\n', { expectClose: true });
  });

  it('empty lines and *0 are ignored', async () => {
    const r = await sameBytes('\r\n\r\n\n*0\r\nPING\r\n*0\r\n\r\n');
    expect(r.out).toBe('+PONG\r\n' + SENTINEL_REPLY);
    await sameBytes('*-1\r\n*1\r\n$4\r\nPING\r\n');
    await sameBytes('   \r\nPING\r\n');
  });
});

describe('fragmented and pipelined requests', () => {
  it('requests split byte by byte', async () => {
    const input =
      '*3\r\n$3\r\nSET\r\n$3\r\nfoo\r\n$5\r\nhello\r\n' +
      '*2\r\n$3\r\nGET\r\n$3\r\nfoo\r\n' +
      'PING\r\n' +
      'APPEND foo " world"\r\n';
    const r = await sameBytes(input, { byteDelayMs: 2 });
    expect(r.out).toBe('+OK\r\n$5\r\nhello\r\n+PONG\r\n:11\r\n' + SENTINEL_REPLY);
  });

  it('10k pipelined commands in one write: all replies, in order', async () => {
    const parts: Buffer[] = [];
    for (let i = 0; i < 10_000; i++) {
      switch (i % 4) {
        case 0: parts.push(encodeCommand(['SET', `key:${i}`, `value:${i}`])); break;
        case 1: parts.push(encodeCommand(['INCR', 'counter'])); break;
        case 2: parts.push(encodeCommand(['GET', `key:${i - 2}`])); break;
        default: parts.push(Buffer.from(`ECHO e${i}\r\n`)); break;
      }
    }
    const input = Buffer.concat([Buffer.from('*1\r\n$8\r\nFLUSHALL\r\n'), ...parts]);
    const r = await sameBytes(input, { timeoutMs: 20_000 });
    const replies = decodeAll(Buffer.from(r.out, 'latin1'));
    expect(replies.length).toBe(10_002); // FLUSHALL + 10k + sentinel
    expect(show(replies[2])).toBe('(integer) 1');
    expect(show(replies[10_000 - 2])).toBe('(integer) 2500');
  });
});

describe('large values', () => {
  it('1 MB value round-trips through SET/GET', async () => {
    const value = randomBytes(1024 * 1024);
    for (const srv of [redis, shardis]) {
      const c = await RawClient.connect(srv.port);
      try {
        expect(show(await c.call('SET', 'big1m', value))).toBe('OK');
        expect(show(await c.call('STRLEN', 'big1m'))).toBe('(integer) 1048576');
        const g = await c.call('GET', 'big1m');
        expect(g.t).toBe('bulk');
        expect(g.t === 'bulk' && g.v !== null && g.v.equals(value)).toBe(true);
        expect(show(await c.call('DEL', 'big1m'))).toBe('(integer) 1');
      } finally {
        await c.close();
      }
    }
  });

  it('100 MB value round-trips through SET/GET (shardis only)', async () => {
    const value = Buffer.alloc(100 * 1024 * 1024);
    const chunk = randomBytes(1 << 16);
    for (let off = 0; off < value.length; off += chunk.length) chunk.copy(value, off);
    value.writeUInt32BE(0xdeadbeef, value.length - 4);
    const c = await RawClient.connect(shardis.port);
    try {
      expect(show(await c.call('SET', 'big100m', value))).toBe('OK');
      expect(show(await c.call('STRLEN', 'big100m'))).toBe(`(integer) ${value.length}`);
      const g = await c.call('GET', 'big100m');
      expect(g.t).toBe('bulk');
      if (g.t === 'bulk') {
        expect(g.v?.length).toBe(value.length);
        expect(g.v !== null && g.v.equals(value)).toBe(true);
      }
      const tail = await c.call('GETRANGE', 'big100m', -4, -1);
      expect(tail.t === 'bulk' && tail.v?.toString('hex')).toBe('deadbeef');
      expect(show(await c.call('DEL', 'big100m'))).toBe('(integer) 1');
    } finally {
      await c.close();
    }
  }, 120_000);
});

describe('malformed input', () => {
  const cases: [string, string | Buffer][] = [
    ['invalid multibulk length', '*abc\r\n'],
    ['invalid bulk length', '*1\r\n$abc\r\n'],
    ["expected '$'", '*1\r\n+foo\r\n'],
    ['bulk length > proto-max-bulk-len', '*1\r\n$600000000\r\n'],
    ['negative bulk length', '*1\r\n$-1\r\n'],
    ['multibulk length too large', '*3000000000\r\n'],
    ['valid command before the bad one', 'PING\r\n*2\r\n$4\r\nECHO\r\n:12\r\n'],
    ['too big inline request', Buffer.alloc(66_000, 'a')],
    ['too big mbulk count string', Buffer.concat([Buffer.from('*'), Buffer.alloc(66_000, '1')])],
    ['too big bulk count string', Buffer.concat([Buffer.from('*1\r\n$'), Buffer.alloc(66_000, '1')])],
  ];

  it.each(cases)('%s: exact error, connection closed, other client unaffected', async (_name, input) => {
    const results = await Promise.all(
      [redis, shardis].map(async (srv) => {
        const other = await RawClient.connect(srv.port);
        try {
          const key = `bystander:${_name}`;
          expect(show(await other.call('SET', key, 'intact'))).toBe('OK');
          // Leave a partial command pending on the bystander connection, too.
          await other.writeRaw('*2\r\n$3\r\nGET\r\n');
          const ex = await exchange(srv.port, input, { expectClose: true, timeoutMs: 5000 });
          await other.writeRaw(`$${Buffer.byteLength(key)}\r\n${key}\r\n`);
          const got = await other.read();
          other.send('PING');
          other.send('INCR', `${key}:n`);
          const after = [await other.read(), await other.read()];
          return { ex, bystander: [got, ...after].map(show) };
        } finally {
          await other.close();
        }
      }),
    );
    const [r, s] = results;
    expect(r.ex.out).toMatch(/-ERR Protocol error: /);
    expect(r.ex.closed).toBe(true);
    expect(s.ex.out, 'reply bytes').toBe(r.ex.out);
    expect(s.ex.closed, 'connection closed').toBe(true);
    expect(r.bystander).toEqual(['"intact"', 'PONG', '(integer) 1']);
    expect(s.bystander, 'bystander client').toEqual(r.bystander);
  });
});

describe('RESP3', () => {
  /** HELLO's map with version/id values blanked out (those legitimately differ). */
  function helloForm(r: Reply): string {
    if (r.t === 'map') {
      return show({
        t: 'map',
        v: r.v.map(([k, v]) => {
          const name = k.t === 'bulk' && k.v ? k.v.toString() : '';
          return [k, name === 'version' || name === 'id' ? { t: 'simple', v: `<${v.t}>` } : v] as [Reply, Reply];
        }),
      });
    }
    if (r.t === 'array' && r.v) {
      const v = r.v.map((x, i) => {
        const prev = i > 0 ? r.v![i - 1] : null;
        const name = prev && prev.t === 'bulk' && prev.v ? prev.v.toString() : '';
        return i % 2 === 1 && (name === 'version' || name === 'id') ? ({ t: 'simple', v: `<${x.t}>` } as Reply) : x;
      });
      return show({ t: 'array', v });
    }
    return show(r);
  }

  it('HELLO 3 reply shape, then RESP3 replies byte for byte', async () => {
    const steps: { cmd: string[]; hello?: boolean }[] = [
      { cmd: ['HELLO', '3'], hello: true },
      { cmd: ['PING'] },
      { cmd: ['PING', 'x'] },
      { cmd: ['GET', 'missing'] },
      { cmd: ['SET', 'k', 'v'] },
      { cmd: ['GET', 'k'] },
      { cmd: ['MGET', 'k', 'missing'] },
      { cmd: ['SET', 'nk', 'v', 'GET'] },
      { cmd: ['GETDEL', 'missing'] },
      { cmd: ['OBJECT', 'ENCODING', 'missing'] },
      { cmd: ['COMMAND', 'INFO', 'nosuchcommand'] },
      { cmd: ['INCRBYFLOAT', 'f', '1.5'] },
      { cmd: ['EXISTS', 'k'] },
      { cmd: ['DEL', 'f', 'nk'] },
      { cmd: ['RANDOMKEY'] },
      { cmd: ['NOSUCHCMD'] },
      { cmd: ['HELLO'], hello: true },
      { cmd: ['HELLO', '4'] },
      { cmd: ['HELLO', 'abc'] },
      { cmd: ['HELLO', '2'], hello: true },
      { cmd: ['GET', 'missing'] },
      { cmd: ['MGET', 'missing'] },
      { cmd: ['HELLO', '3', 'SETNAME', 'myname'], hello: true },
      { cmd: ['GET', 'missing'] },
    ];
    const run = async (srv: Server) => {
      const c = await RawClient.connect(srv.port);
      try {
        await c.call('FLUSHALL');
        const out: string[] = [];
        for (const s of steps) {
          const r = await c.call(...s.cmd);
          out.push(`> ${s.cmd.join(' ')}\n${s.hello ? helloForm(r) : JSON.stringify(canon(r))}`);
        }
        return out;
      } finally {
        await c.close();
      }
    };
    const [r, s] = await Promise.all([run(redis), run(shardis)]);
    expect(r[0]).toContain('1# "server" => "redis"');
    expect(r[0]).toContain('"proto" => (integer) 3');
    expect(r[3]).toBe('> GET missing\n"_\\r\\n"');
    expect(s.join('\n')).toBe(r.join('\n'));
  });

  it('HELLO 3 raw shape: a 7-entry map with the same keys and value types', async () => {
    const get = async (srv: Server) => {
      const c = await RawClient.connect(srv.port);
      try {
        const raw = await (async () => {
          await c.writeRaw('HELLO 3\r\n');
          return c.readRaw(5000, (b) => {
            try {
              return decodeAll(b).length > 0;
            } catch {
              return false;
            }
          });
        })();
        const [r] = decodeAll(raw);
        expect(raw.toString('latin1').startsWith('%7\r\n')).toBe(true);
        if (r.t !== 'map') throw new Error(`not a map: ${show(r)}`);
        return r.v.map(([k, v]) => `${k.t === 'bulk' ? k.v?.toString() : show(k)}:${v.t}`);
      } finally {
        await c.close();
      }
    };
    const [r, s] = await Promise.all([get(redis), get(shardis)]);
    expect(s).toEqual(r);
  });
});

// Redis's processMultibulkBuffer / string2ll rules: a header line ends at the first CR and the
// byte after it is skipped unread; lengths with leading zeros, "-0", a '+' or spaces are refused;
// a NUL stops the header search (strchr). Each case: the same bytes back from both servers (an
// ECHO sentinel follows, so cases that are accepted or still waiting are compared too).
describe('parser strictness (vs redis-server)', () => {
  const cases: [string, string][] = [
    ['*01', '*01\r\n$4\r\nPING\r\n'],
    ['$04', '*1\r\n$04\r\nPING\r\n'],
    ['*-0', '*-0\r\n'],
    ['$-0', '*1\r\n$-0\r\n'],
    ['*+1', '*+1\r\n$4\r\nPING\r\n'],
    ['$+4', '*1\r\n$+4\r\nPING\r\n'],
    ['* 1', '* 1\r\n$4\r\nPING\r\n'],
    ['*1 trailing space', '*1 \r\n$4\r\nPING\r\n'],
    ['empty count', '*\r\n$4\r\nPING\r\n'],
    ['empty bulk length', '*1\r\n$\r\nPING\r\n'],
    ['*00', '*00\r\nPING\r\n'],
    ['*0', '*0\r\nPING\r\n'],
    ['CR not followed by LF after the count', '*1\rX$4\r\nPING\r\n'],
    ['CR not followed by LF after the bulk length', '*1\r\n$4\rXPING\r\n'],
    ['bulk not followed by CRLF', '*1\r\n$4\r\nPINGxy'],
    ['count line ended by LF only', '*1\n$4\r\nPING\r\n'],
    ['bulk header ended by LF only', '*1\r\n$4\nPING\r\n'],
    ['CR where the bulk header should be', '*1\r\n\r\n'],
    ['byte 0xff where the bulk header should be', '*1\r\n\xff\r\n'],
    ['NUL where the bulk header should be', '*1\r\n\x00\r\n'],
    ['NUL inside the count', '*1\x00\r\n$4\r\nPING\r\n'],
    ['NUL in an inline command', 'PI\x00NG\r\n'],
    ['INT_MAX + 1 arguments', '*2147483648\r\n'],
    ['LLONG_MIN arguments (ignored)', '*-9223372036854775808\r\n'],
    ['LLONG_MIN - 1', '*-9223372036854775809\r\n'],
    ['LLONG_MAX', '*9223372036854775807\r\n'],
    ['20 digits', '*12345678901234567890\r\n'],
    ['21 characters', '*-12345678901234567890\r\n'],
    ['bulk length past LLONG_MAX', '*1\r\n$18446744073709551616\r\n'],
    ['a bulk length of 2^53 + 1', '*1\r\n$9007199254740993\r\n'],
  ];
  it.each(cases)('%s', async (_name, input) => {
    await sameBytes(input, { timeoutMs: 1500 });
  });
});

// Errors that echo client input never break framing: CR and LF become spaces (addReplyErrorFormat),
// an argument is printed up to a NUL and at most 128 bytes, other bytes as they came.
describe('error replies echoing client input (vs redis-server)', () => {
  const cases: [string, string][] = [
    ['unknown command, CRLF in an argument', '*2\r\n$3\r\nfoo\r\n$5\r\na\r\nbc\r\n'],
    ['unknown command, CR and LF in its name', '*1\r\n$5\r\nf\ro\no\r\n'],
    ['unknown command, NUL in an argument', '*3\r\n$3\r\nfoo\r\n$3\r\na\x00b\r\n$1\r\nc\r\n'],
    ['unknown command, binary bytes', '*2\r\n$3\r\nfoo\r\n$3\r\n\xff\xfe\x80\r\n'],
    ['unknown command, long arguments', `*4\r\n$3\r\nfoo\r\n$100\r\n${'a'.repeat(100)}\r\n$100\r\n${'b'.repeat(100)}\r\n$3\r\nccc\r\n`],
    ['unknown command, long name', `*1\r\n$200\r\n${'n'.repeat(200)}\r\n`],
    ['unknown subcommand, CRLF', '*2\r\n$6\r\nCONFIG\r\n$4\r\na\r\nb\r\n'],
    ['unknown subcommand, NUL and binary', '*2\r\n$6\r\nOBJECT\r\n$4\r\na\x00\xffb\r\n'],
    ['unknown subcommand of CLIENT', '*2\r\n$6\r\nCLIENT\r\n$4\r\nx\ny\r\r\n'],
    ['CONFIG SET of a value with CRLF', '*4\r\n$6\r\nCONFIG\r\n$3\r\nSET\r\n$16\r\nmaxmemory-policy\r\n$4\r\na\r\nb\r\n'],
    ['CONFIG SET of an unknown name with CRLF', '*4\r\n$6\r\nCONFIG\r\n$3\r\nSET\r\n$4\r\na\r\nb\r\n$1\r\nx\r\n'],
    ['inline unknown command with an escaped CRLF', 'foo "a\\r\\nb"\r\n'],
    ['CLIENT KILL TYPE, NUL and binary, long', `*4\r\n$6\r\nCLIENT\r\n$4\r\nKILL\r\n$4\r\nTYPE\r\n$204\r\n${'t'.repeat(200)}\xff\x00zz\r\n`],
    ['CLIENT KILL TYPE, CRLF', '*4\r\n$6\r\nCLIENT\r\n$4\r\nKILL\r\n$4\r\nTYPE\r\n$4\r\na\r\nb\r\n'],
    ['CLIENT LIST TYPE, NUL', '*4\r\n$6\r\nCLIENT\r\n$4\r\nLIST\r\n$4\r\nTYPE\r\n$3\r\na\x00b\r\n'],
    ['HELLO option, NUL and binary, long', `*3\r\n$5\r\nHELLO\r\n$1\r\n2\r\n$203\r\n${'o'.repeat(200)}\xfe\x00z\r\n`],
    ['FUNCTION FLUSH/RESTORE unknown argument, NUL', '*4\r\n$8\r\nFUNCTION\r\n$7\r\nRESTORE\r\n$1\r\nx\r\n$3\r\na\x00b\r\n'],
  ];
  it.each(cases)('%s', async (_name, input) => {
    const r = await sameBytes(input, { timeoutMs: 3000 });
    expect(r.out.startsWith('-')).toBe(true);
  });

  it('the issue 8 case, exactly', async () => {
    const r = await sameBytes('*2\r\n$3\r\nfoo\r\n$5\r\na\r\nbc\r\n');
    expect(r.out).toBe("-ERR unknown command 'foo', with args beginning with: 'a  bc' \r\n" + SENTINEL_REPLY);
  });
});

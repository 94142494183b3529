// Differential tests (redis-server vs shardis) for the string commands.
import { afterAll, beforeAll, describe, it } from 'vitest';
import { script, startPair, type Pair } from '../helpers/diff';

let d: Pair;
beforeAll(async () => {
  d = await startPair();
});
afterAll(async () => {
  await d?.stop();
});

const nowS = () => Math.floor(Date.now() / 1000);
const same = (text: string, opts?: { resp3?: boolean }) => d.expectSame(script(text), opts);

describe('GET / SET', () => {
  it('basics', () =>
    same(`
      GET missing
      SET k v
      GET k
      SET k ""
      GET k
      STRLEN k
      SET "" emptykey
      GET ""
      SET k "with space and \\x00 nul \\xff\\xfe"
      GET k
      STRLEN k
      SET k 12345
      GET k
      SET k -0
      GET k
      set lower case
      GET lower
      SET k v extra
      SET k v ex
      GET
      GET a b
      SET k
      SET
    `));

  it('EX / PX / EXAT / PXAT / KEEPTTL', () => {
    const t = nowS();
    return same(`
      SET k v EX 100
      [approx] TTL k
      [approx] PTTL k
      SET k v PX 100000
      [approx] PTTL k
      SET k v ex 50
      [approx] TTL k
      SET k v EXAT ${t + 200}
      EXPIRETIME k
      SET k v PXAT ${t * 1000 + 300123}
      PEXPIRETIME k
      [approx] TTL k
      SET k v2
      TTL k
      SET k v EX 100
      SET k v3 KEEPTTL
      [approx] TTL k
      GET k
      SET k v4 KEEPTTL GET
      [approx] TTL k
      SET k v
      SET k v KEEPTTL
      TTL k
      SET gone v EXAT 1
      GET gone
      EXISTS gone
      SET gone v PXAT 1000
      EXISTS gone
      SET k v EX 1 PX 100
      SET k v PX 100 EX 1
      SET k v EX 10 EX 10
      SET k v EX 10 KEEPTTL
      SET k v KEEPTTL PX 10
      SET k v EXAT 10 PXAT 10
      SET k v EX 0
      SET k v EX -1
      SET k v PX 0
      SET k v PX -100
      SET k v EXAT 0
      SET k v PXAT -1
      SET k v EX abc
      SET k v EX 1.5
      SET k v EX ""
      SET k v PX 9223372036854775807
      SET k v EX 9999999999999999
      SET k v EX 9223372036854775808
      SET k v EXAT 9223372036854775807
      SET k v EX
      SET k v PX
      SET k v FOO
      SET k v EX 10 FOO
      GET k
    `);
  });

  it('NX / XX / GET', () =>
    same(`
      SET k v NX
      SET k w NX
      GET k
      SET n v XX
      GET n
      SET k w XX
      GET k
      SET k v NX XX
      SET k v XX NX
      SET k x GET
      SET missing x GET
      GET missing
      SET k y NX GET
      GET k
      SET other y NX GET
      GET other
      SET k z XX GET
      SET nokey z XX GET
      EXISTS nokey
      SET k v GET GET
      SET k v EX 100 GET
      [approx] TTL k
      SET k v nx
      SET k v xx get
      SET k v NX EX 100
      SET fresh v NX PX 100000
      [approx] PTTL fresh
    `));
});

describe('SETNX / SETEX / PSETEX / GETSET / GETDEL', () => {
  it('SETNX', () =>
    same(`
      SETNX a 1
      SETNX a 2
      GET a
      SETNX a
      SETNX a 1 2
    `));

  it('SETEX / PSETEX', () =>
    same(`
      SETEX s 100 v
      GET s
      [approx] TTL s
      SETEX s 0 v
      SETEX s -5 v
      SETEX s abc v
      SETEX s 1.5 v
      SETEX s 9223372036854775807 v
      SETEX s 10
      SETEX s 10 v extra
      PSETEX p 100000 v
      GET p
      [approx] PTTL p
      PSETEX p 0 v
      PSETEX p -1 v
      PSETEX p abc v
      PSETEX p 9223372036854775807 v
      PSETEX p 10
      GET p
    `));

  it('GETSET / GETDEL', () =>
    same(`
      GETSET g 1
      GETSET g 2
      GET g
      SET g v EX 100
      GETSET g w
      TTL g
      GETSET g
      GETSET g a b
      GETDEL g
      GETDEL g
      EXISTS g
      SET g 123
      GETDEL g
      GETDEL
      GETDEL a b
    `));

  it('GETEX', () => {
    const t = nowS();
    return same(`
      SET k v
      GETEX k
      TTL k
      GETEX k EX 100
      [approx] TTL k
      GETEX k PX 200000
      [approx] PTTL k
      GETEX k EXAT ${t + 300}
      EXPIRETIME k
      GETEX k PXAT ${t * 1000 + 400567}
      PEXPIRETIME k
      GETEX k PERSIST
      TTL k
      GETEX k persist
      GETEX missing
      GETEX missing EX 10
      GETEX missing PERSIST
      GETEX k EX 0
      GETEX k EX -1
      GETEX k PX 0
      GETEX k EXAT 0
      GETEX k PXAT -5
      GETEX k EX abc
      GETEX k EX 9223372036854775807
      GETEX k PERSIST EX 10
      GETEX k EX 10 PERSIST
      GETEX k EX 10 PX 100
      GETEX k EX 10 EX 10
      GETEX k FOO
      GETEX k EX
      GETEX k KEEPTTL
      TTL k
      GETEX
      GETEX k EXAT 1
      GET k
      EXISTS k
    `);
  });
});

describe('MGET / MSET / MSETNX', () => {
  it('MSET / MGET', () =>
    same(`
      MSET a 1 b 2 c 3
      MGET a b c missing
      MGET missing
      MGET a a a
      MSET a x a y
      GET a
      SET t v EX 100
      MSET t w
      TTL t
      MSET a
      MSET a 1 b
      MSET
      MGET
    `));

  it('MSETNX', () =>
    same(`
      SET a 1
      MSETNX a 1 x 2
      EXISTS x
      MSETNX x 1 y 2
      MGET x y
      MSETNX x 9 z 9
      GET z
      MSETNX p 1 p 2
      GET p
      MSETNX q
      MSETNX q 1 r
      MSETNX
    `));
});

describe('STRLEN / APPEND', () => {
  it('works', () =>
    same(`
      APPEND k hello
      APPEND k " world"
      GET k
      STRLEN k
      STRLEN missing
      APPEND k ""
      GET k
      SET n 10
      APPEND n 5
      GET n
      STRLEN n
      SET n 12345
      STRLEN n
      SET n -123
      STRLEN n
      APPEND e ""
      EXISTS e
      GET e
      SET t v EX 100
      APPEND t w
      [approx] TTL t
      APPEND k
      APPEND k a b
      STRLEN
      STRLEN a b
    `));
});

describe('INCR / DECR / INCRBY / DECRBY', () => {
  it('arithmetic', () =>
    same(`
      INCR c
      INCR c
      DECR c
      INCRBY c 10
      DECRBY c 5
      INCRBY c -3
      DECRBY c -3
      GET c
      DECR neg
      DECRBY neg2 10
      INCRBY zero 0
      GET zero
      SET c 10
      INCR c
      GET c
      SET c -5
      INCR c
      INCRBY c 9223372036854775807
      SET c 1 EX 100
      INCR c
      [approx] TTL c
      SET g 9
      INCRBY g 999999999999
      GET g
      OBJECT ENCODING g
      SET w 5
      WATCH w
      INCR w
      MULTI
      GET w
      EXEC
      WATCH nw
      INCR nw
      MULTI
      GET nw
      EXEC
    `));

  it('overflow and invalid values', () =>
    same(`
      SET c 9223372036854775807
      INCR c
      INCRBY c 1
      DECRBY c -1
      GET c
      DECR c
      SET c -9223372036854775808
      DECR c
      DECRBY c 1
      INCRBY c -1
      SET c 0
      INCRBY c 9223372036854775808
      INCRBY c -9223372036854775809
      DECRBY c -9223372036854775808
      INCRBY c -9223372036854775808
      DECRBY c 9223372036854775807
      SET s abc
      INCR s
      DECR s
      SET s " 1"
      INCR s
      SET s "1 "
      INCR s
      SET s 01
      INCR s
      SET s +1
      INCR s
      SET s -0
      INCR s
      SET s 1.5
      INCR s
      SET s ""
      INCR s
      SET s 99999999999999999999
      INCR s
      GET s
      INCRBY c abc
      INCRBY c 1.5
      INCRBY c ""
      INCRBY c " 1"
      DECRBY c abc
      INCR c extra
      INCR
      DECR
      INCRBY c
      INCRBY c 1 2
      DECRBY c
    `));

  it('INCRBYFLOAT', () =>
    same(`
      INCRBYFLOAT f 10.5
      INCRBYFLOAT f 0.1
      INCRBYFLOAT f -5
      GET f
      SET f 3
      INCRBYFLOAT f 1.5
      SET f 3.0e3
      INCRBYFLOAT f 200
      INCRBYFLOAT f -3200
      INCRBYFLOAT f 5.0e3
      INCRBYFLOAT f 1e-5
      INCRBYFLOAT f -5000.00001
      SET f 1
      INCRBYFLOAT f 0.5
      INCRBYFLOAT f 0.25
      INCRBYFLOAT f 1e10
      INCRBYFLOAT f -1e10
      INCRBYFLOAT f 1E2
      INCRBYFLOAT f .5
      INCRBYFLOAT f 5.
      INCRBYFLOAT f -0
      INCRBYFLOAT f +1
      GET f
      SET f 10
      INCRBYFLOAT f 3
      INCRBYFLOAT f inf
      INCRBYFLOAT f -inf
      INCRBYFLOAT f +inf
      INCRBYFLOAT f nan
      INCRBYFLOAT f abc
      INCRBYFLOAT f ""
      INCRBYFLOAT f "1.5 "
      INCRBYFLOAT f " 1.5"
      INCRBYFLOAT f 1.5x
      GET f
      SET f inf
      INCRBYFLOAT f 1
      SET f abc
      INCRBYFLOAT f 1
      SET f " 1"
      INCRBYFLOAT f 1
      SET f 1 EX 100
      INCRBYFLOAT f 1
      [approx] TTL f
      INCRBYFLOAT f
      INCRBYFLOAT f 1 2
      INCRBYFLOAT
    `));

  it('INCRBYFLOAT beyond double range (Redis uses long double)', () =>
    same(`
      SET f 1e308
      INCRBYFLOAT f 1e308
      SET f 1.7976931348623157e308
      INCRBYFLOAT f 1e308
      SET f 1e4932
      INCRBYFLOAT f 1e4932
      SET f 1
      INCRBYFLOAT f 1.2e4932
    `));
});

describe('GETRANGE / SETRANGE / SUBSTR', () => {
  it('GETRANGE / SUBSTR', () =>
    same(`
      SET s "Hello World"
      GETRANGE s 0 4
      GETRANGE s 6 -1
      GETRANGE s -5 -1
      GETRANGE s -100 100
      GETRANGE s 5 2
      GETRANGE s 100 200
      GETRANGE s 0 -100
      GETRANGE s -1 -1
      GETRANGE s 0 0
      GETRANGE s -3 2
      GETRANGE s 0 9223372036854775807
      GETRANGE s -9223372036854775808 9223372036854775807
      GETRANGE missing 0 10
      GETRANGE s a b
      GETRANGE s 0 b
      GETRANGE s 0
      GETRANGE s 0 1 2
      SUBSTR s 0 4
      SUBSTR s -3 -1
      SUBSTR missing 0 1
      SUBSTR s a 1
      SUBSTR s 0
      SET n 12345
      GETRANGE n 1 3
      GETRANGE n -2 -1
      SET e ""
      GETRANGE e 0 -1
      GETRANGE e 0 0
    `));

  it('SETRANGE', () =>
    same(`
      SET s "Hello World"
      SETRANGE s 6 Redis
      GET s
      SETRANGE s 0 J
      GET s
      SETRANGE s 11 "!!"
      GET s
      SETRANGE s 20 x
      GET s
      STRLEN s
      SETRANGE pad 5 x
      GET pad
      SETRANGE empty 0 ""
      EXISTS empty
      SETRANGE empty 10 ""
      EXISTS empty
      SETRANGE s 100 ""
      GET s
      SETRANGE s -1 x
      SETRANGE s -1 ""
      SETRANGE s abc x
      SETRANGE s 1.5 x
      SETRANGE s 536870912 x
      SETRANGE s 536870911 xx
      SETRANGE s 536870912 ""
      SETRANGE missing2 536870912 ""
      SETRANGE missing2 536870912 x
      EXISTS missing2
      SET n 12345
      SETRANGE n 1 9
      GET n
      SET t v EX 100
      SETRANGE t 0 w
      [approx] TTL t
      SETRANGE s 0
      SETRANGE s
      SETRANGE s 0 a b
    `));
});

describe('GETBIT / SETBIT', () => {
  it('works', () =>
    same(`
      SETBIT b 7 1
      GET b
      GETBIT b 7
      GETBIT b 6
      GETBIT b 100
      SETBIT b 7 0
      SETBIT b 100 1
      STRLEN b
      GET b
      GETBIT b 100
      SETBIT b 0 1
      GET b
      GETBIT missing 0
      GETBIT missing 99999
      SET n 5
      GETBIT n 5
      GETBIT n 7
      SETBIT n 0 1
      GET n
      SETBIT b 0 2
      SETBIT b 0 -1
      SETBIT b 0 a
      SETBIT b -1 1
      SETBIT b 4294967296 1
      SETBIT b abc 1
      SETBIT b 1.5 1
      GETBIT b -1
      GETBIT b abc
      GETBIT b 4294967296
      SETBIT b 0
      SETBIT b 0 1 2
      GETBIT b
      GETBIT b 0 1
      SETBIT empty 0 0
      GET empty
    `));
});

describe('BITCOUNT / BITPOS', () => {
  it('BITCOUNT', () =>
    same(`
      SET mykey foobar
      BITCOUNT mykey
      BITCOUNT mykey 0 0
      BITCOUNT mykey 1 1
      BITCOUNT mykey 1 1 BYTE
      BITCOUNT mykey 1 1 byte
      BITCOUNT mykey 5 30 BIT
      BITCOUNT mykey 5 30 bit
      BITCOUNT mykey 0 -1 BIT
      BITCOUNT mykey -2 -1
      BITCOUNT mykey -2 -1 BIT
      BITCOUNT mykey 3 1
      BITCOUNT mykey -100 100
      BITCOUNT mykey 100 200
      BITCOUNT mykey 0 -100
      BITCOUNT mykey 0 9223372036854775807
      BITCOUNT mykey 0 9223372036854775807 BIT
      BITCOUNT mykey 0
      BITCOUNT mykey 0 1 FOO
      BITCOUNT mykey 0 1 BIT extra
      BITCOUNT mykey a b
      BITCOUNT mykey 0 b
      BITCOUNT missing
      BITCOUNT missing 0 1
      BITCOUNT missing 0 1 BIT
      SET n 12345
      BITCOUNT n
      BITCOUNT
    `));

  it('BITPOS', () =>
    same(`
      SET mykey "\\xff\\xf0\\x00"
      BITPOS mykey 0
      BITPOS mykey 1
      SET mykey "\\x00\\xff\\xf0"
      BITPOS mykey 1 0
      BITPOS mykey 1 2
      BITPOS mykey 1 2 -1 BYTE
      BITPOS mykey 1 7 15 BIT
      BITPOS mykey 1 7 -3 BIT
      BITPOS mykey 0 8 -1 BIT
      BITPOS mykey 1 -1
      BITPOS mykey 1 -100 100
      BITPOS mykey 1 5 2
      BITPOS mykey 1 100
      SET mykey "\\x00\\x00\\x00"
      BITPOS mykey 1
      BITPOS mykey 0
      SET mykey "\\xff\\xff\\xff"
      BITPOS mykey 0
      BITPOS mykey 0 0
      BITPOS mykey 0 0 -1
      BITPOS mykey 0 0 -1 BIT
      BITPOS mykey 0 1
      BITPOS mykey 1
      BITPOS missing 0
      BITPOS missing 1
      BITPOS missing 0 5 10
      SET e ""
      BITPOS e 0
      BITPOS e 1
      BITPOS mykey 2
      BITPOS mykey -1
      BITPOS mykey a
      BITPOS mykey 1 0 1 FOO
      BITPOS mykey 1 a
      BITPOS mykey 1 0 a
      BITPOS mykey 1 0 1 BIT extra
      BITPOS mykey
      BITPOS
    `));
});

describe('BITOP', () => {
  it('works', () =>
    same(`
      SET k1 foobar
      SET k2 abcdef
      BITOP AND dest k1 k2
      GET dest
      BITOP OR dest k1 k2
      GET dest
      BITOP XOR dest k1 k2
      GET dest
      BITOP NOT dest k1
      GET dest
      BITOP and dest k1 k2
      BITOP not dest k2
      GET dest
      SET a "\\xff"
      SET b "\\x0f\\x0f"
      BITOP AND d a b
      GET d
      BITOP OR d a b
      GET d
      BITOP XOR d a b
      GET d
      BITOP OR d a missing
      GET d
      BITOP AND d a missing
      GET d
      BITOP AND d a
      GET d
      BITOP AND dest missing1 missing2
      EXISTS dest
      BITOP NOT dest missing
      EXISTS dest
      SET n 12
      BITOP NOT d n
      GET d
      SET t v EX 100
      BITOP OR t k1
      TTL t
      BITOP NOT dest k1 k2
      BITOP NOT dest
      BITOP FOO dest k1
      BITOP AND dest
      BITOP AND
      BITOP
    `));
});

describe('LCS', () => {
  const lcs = `
    MSET key1 ohmytext key2 mynewtext
    LCS key1 key2
    LCS key1 key2 LEN
    LCS key1 key2 IDX
    LCS key1 key2 IDX MINMATCHLEN 4
    LCS key1 key2 IDX MINMATCHLEN 4 WITHMATCHLEN
    LCS key1 key2 IDX WITHMATCHLEN
    LCS key1 key2 idx withmatchlen minmatchlen 2
    LCS key1 key2 MINMATCHLEN 4
    LCS key1 key2 IDX MINMATCHLEN -1
    LCS key1 key2 IDX MINMATCHLEN 0
    LCS key1 key2 LEN IDX
    LCS key1 key2 FOO
    LCS key1 key2 MINMATCHLEN
    LCS key1 key2 MINMATCHLEN abc
    LCS key1 key1
    LCS key1 key1 IDX WITHMATCHLEN
    LCS key1 missing
    LCS key1 missing IDX
    LCS missing1 missing2 LEN
    MSET a ABCBDAB b BDCABA
    LCS a b
    LCS a b LEN
    LCS a b IDX WITHMATCHLEN
    MSET x 12345 y 2345
    LCS x y
    LCS key1
    LCS
  `;
  it('RESP2', () => same(lcs));
  it('RESP3', () => same(lcs, { resp3: true }));
});

describe('wrong arity', () => {
  it('every string command', () =>
    same(`
      GET
      SET k
      SETNX k
      SETEX k 10
      PSETEX k 10
      GETSET k
      GETDEL
      GETEX
      MGET
      MSET k
      MSETNX k
      STRLEN
      APPEND k
      INCR
      DECR
      INCRBY k
      DECRBY k
      INCRBYFLOAT k
      GETRANGE k 0
      SETRANGE k 0
      SUBSTR k 0
      GETBIT k
      SETBIT k 0
      BITCOUNT
      BITPOS k
      BITOP AND d
      LCS k
      get
      Set k
      GET a b
      STRLEN a b
      INCR a b
      DECR a b
      INCRBY a 1 2
      DECRBY a 1 2
      INCRBYFLOAT a 1 2
      GETRANGE a 1 2 3
      SETRANGE a 1 2 3
      SUBSTR a 1 2 3
      GETBIT a 1 2
      SETBIT a 1 1 1
      SETEX a 1 1 1
      PSETEX a 1 1 1
      GETSET a 1 2
      GETDEL a b
      APPEND a b c
      SETNX a b c
    `));
});

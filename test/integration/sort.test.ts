// SORT / SORT_RO: differential tests against redis-server 7.0 on lists, sets and sorted sets,
// with BY / GET patterns (string keys and hash fields), LIMIT, ALPHA, DESC and STORE.
import { afterAll, beforeAll, describe, it } from 'vitest';
import { script, startPair, type Pair } from '../helpers/diff';

let d: Pair;
beforeAll(async () => {
  d = await startPair({ threads: 2 });
});
afterAll(async () => {
  await d?.stop();
});

const same = (text: string, opts?: { resp3?: boolean }) => d.expectSame(script(text), opts);

const DATA = `
  SADD s 3 1 2 10 -5
  SADD sa b a c aa ""
  SADD sa2 b a c bb
  ZADD z 5 a 1 b 3 c 3 bb
  MSET w_3 1 w_1 3 w_2 2 w_10 0 w_-5 9 w_a 2 w_b 1 w_c 3 w_bb 4
  HSET h_1 f 5 g x
  HSET h_3 f 1 g y
  HSET h_a f 10
`;

describe('SORT', () => {
  it('numeric and ALPHA, ASC/DESC, LIMIT', () =>
    same(`
      ${DATA}
      SORT s
      SORT s ASC
      SORT s DESC
      SORT s LIMIT 1 2
      SORT s LIMIT 0 0
      SORT s LIMIT 10 10
      SORT s LIMIT -1 2
      SORT s LIMIT 2 -1
      SORT s DESC LIMIT 1 3
      SORT s ALPHA
      SORT s ALPHA DESC
      SORT sa
      SORT sa ALPHA
      SORT sa ALPHA DESC LIMIT 1 2
      SORT z
      SORT z ALPHA
      SORT z ALPHA DESC
      SORT nokey
      SORT nokey ALPHA LIMIT 0 1
      SORT s LIMIT a b
      SORT s LIMIT 0
      SORT s foo
      SORT s ALPHA ASC DESC ASC
      SET str x
      SORT str
      SORT_RO str
      SADD sf 1.5 0.1 1e3 -inf inf 0x10 " 2"
      SORT sf
      SADD sbad 1 2 abc
      SORT sbad
      SORT sbad ALPHA
      SADD snan 1 nan
      SORT snan
      SADD shuge 1 1e400
      SORT shuge
    `));

  it('BY and GET patterns', () =>
    same(`
      ${DATA}
      SORT s BY w_*
      SORT s BY w_* DESC
      SORT s BY w_* GET #
      SORT s BY w_* GET # GET w_*
      SORT s BY w_* GET w_* GET nothere_* GET h_*->f
      SORT s BY missing_*
      SORT s BY missing_* DESC
      SORT s BY h_*->f
      SORT s BY h_*->f GET h_*->g GET #
      SORT s BY h_*-> GET h_*->
      SORT s BY h_*->nofield
      SORT s GET nostar
      SORT s GET # GET #
      SORT sa2 BY w_* ALPHA
      SORT sa2 BY w_* ALPHA GET # GET w_*
      SORT sa2 BY w_* ALPHA DESC LIMIT 1 2
      SORT z BY w_*
      SORT z BY w_* DESC LIMIT 1 2 GET #
      SORT s BY w_* LIMIT 1 2
      SORT s BY str
      SET w_10 notanumber
      SORT s BY w_*
      SORT s BY w_* ALPHA
      SORT s BY w_* GET w_*
      LPUSH w_3 list
      SORT s BY w_*
      SORT s BY w_* GET w_*
      SORT_RO s BY h_*->f GET #
      SORT s BY
      SORT s GET
    `));

  it('BY nosort keeps the native order of lists and sorted sets', () =>
    same(`
      ${DATA}
      RPUSH l 3 1 2 10 -5 a
      SORT l BY nosort
      SORT l BY nosort DESC
      SORT l BY nosort LIMIT 1 2
      SORT l BY nosort DESC LIMIT 1 2
      SORT l BY nosort LIMIT 4 10
      SORT l BY nosort LIMIT 10 10
      SORT l BY nosort GET w_*
      SORT z BY nosort
      SORT z BY nosort DESC
      SORT z BY nosort LIMIT 1 2
      SORT z BY nosort DESC LIMIT 1 2
      SORT z BY nosort DESC LIMIT 3 10
      SORT z BY nosort GET w_* GET #
      SADD si 5 3 9 1
      SORT si BY nosort
      SORT si BY nosort STORE dst
      LRANGE dst 0 -1
      OBJECT ENCODING z
      SORT l
      SORT l ALPHA
      SORT l ALPHA DESC LIMIT 0 3
      LPUSH ln 3 1 2
      SORT ln
      SORT ln BY w_* GET #
    `));

  it('STORE', () =>
    same(`
      ${DATA}
      SORT s STORE dst
      LRANGE dst 0 -1
      TYPE dst
      OBJECT ENCODING dst
      SORT s BY w_* GET # GET w_* GET nothere_* STORE dst
      LRANGE dst 0 -1
      SORT sa ALPHA DESC STORE dst
      LRANGE dst 0 -1
      SORT sa BY nosort STORE dst
      LRANGE dst 0 -1
      SORT s LIMIT 0 0 STORE dst
      EXISTS dst
      SET dst x
      SORT nokey STORE dst
      EXISTS dst
      SET dst x
      SORT z ALPHA STORE dst
      LRANGE dst 0 -1
      SORT s STORE s
      TYPE s
      LRANGE s 0 -1
      SORT_RO z STORE dst2
      EXISTS dst2
      SORT sbad STORE dst3
      SADD sbad x y
      SORT sbad STORE dst3
      EXISTS dst3
      SORT z STORE
    `));

  it('RESP3', () =>
    same(`
      ${DATA}
      SORT s BY w_* GET # GET nothere_*
      SORT z ALPHA
    `, { resp3: true }));
});

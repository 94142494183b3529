// Differential tests (redis-server vs shardis) for server commands clients' own test suites use:
// DEBUG ERROR (redis-py injects LOADING / READONLY / OOM errors with it), MODULE (no module is
// ever loaded: LIST empty, LOAD fails as a failed load fails on Redis) and LOLWUT.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { script, startPair, type Pair } from '../helpers/diff';
import type { Reply } from '../helpers/resp';

let d: Pair;
let modules: Pair;
beforeAll(async () => {
  [d, modules] = await Promise.all([
    startPair(),
    startPair({ redisArgs: ['--enable-module-command', 'yes'], shardisArgs: ['--enable-module-command', 'yes'] }),
  ]);
});
afterAll(async () => {
  await Promise.all([d?.stop(), modules?.stop()]);
});

describe('DEBUG ERROR', () => {
  it('replies its argument as the error line, CR/LF as spaces, uncounted in errorstats', () =>
    d.expectSame(script(`
      CONFIG RESETSTAT
      DEBUG ERROR "LOADING fake message"
      DEBUG ERROR "READONLY You can't write against a read only replica."
      DEBUG ERROR "OOM command not allowed"
      DEBUG ERROR "no code"
      DEBUG ERROR "a\\r\\nb"
      DEBUG ERROR ""
      DEBUG ERROR
      DEBUG ERROR a b
      INFO errorstats
    `)));
});

describe('MODULE', () => {
  it('LIST is empty; HELP; LOAD, LOADEX and UNLOAD are protected by enable-module-command (default no)', () =>
    d.expectSame(script(`
      MODULE LIST
      MODULE HELP
      MODULE LOAD /nonexistent/module.so
      MODULE LOADEX /nonexistent/module.so CONFIG a b
      MODULE UNLOAD foo
      MODULE
      MODULE foo
      MODULE LIST x
      MODULE LOAD
      COMMAND INFO module|list module|load module|loadex module|unload module|help
    `)));

  it('with enable-module-command yes: a failed load and an unknown module, as Redis answers them', () =>
    modules.expectSame(script(`
      MODULE LOAD /nonexistent/module.so
      MODULE LOAD /nonexistent/module.so arg1 arg2
      MODULE LOADEX /nonexistent/module.so CONFIG name value ARGS a b
      MODULE LOADEX /nonexistent/module.so CONFIG name
      MODULE LOADEX /nonexistent/module.so bogus
      MODULE LOADEX /nonexistent/module.so ARGS
      MODULE UNLOAD foo
      MODULE UNLOAD
      MODULE LIST
    `)));
});

describe('LOLWUT', () => {
  it('without VERSION (or another one) only the version; argument errors', () =>
    d.expectSame(script(`
      LOLWUT
      LOLWUT 5 6 7 8
      LOLWUT VERSION
      LOLWUT VERSION 7
      LOLWUT VERSION 4
      LOLWUT VERSION x
      LOLWUT VERSION 5 x
      LOLWUT VERSION 6 10 x
      COMMAND INFO lolwut
    `)));

  // Schotter's first two rows of squares are not randomized: with two rows the art is exact.
  it('VERSION 5 (Schotter) with two rows of squares, and its size limits', () =>
    d.expectSame(script(`
      LOLWUT VERSION 5 20 4 2
      LOLWUT VERSION 5 1 1 1
      LOLWUT VERSION 5 0 -5 0
      LOLWUT VERSION 4294967301 10 3 2
    `)));

  it('VERSION 5 and 6 are random: the same size, frame and caption as redis-server', async () => {
    const text = (r: Reply): string => (r.t === 'bulk' || r.t === 'verbatim' ? String(r.v) : `not text: ${r.t}`);
    const r = await d.each(async (c) => {
      const five = text(await c.call('LOLWUT', 'VERSION', '5', '30', '6', '9')).split('\n');
      const six = text(await c.call('LOLWUT', 'VERSION', '6', '40', '12')).split('\n');
      return {
        five: { lines: five.length, widths: five.slice(0, -3).map((l) => [...l].length), tail: five.slice(-2) },
        six: { lines: six.length, pixels: six.slice(0, 12).map((l) => l.split('\x1b[0m').length - 1), tail: six.slice(-3) },
        // Every pixel of 6 is one of the four grays.
        grays: six.slice(0, 12).every((l) => /^(\x1b\[0;(30;40|90;100|37;47|97;107)m \x1b\[0m)+$/.test(l)),
      };
    });
    expect(r.shardis).toEqual(r.redis);
    expect(r.shardis.grays).toBe(true);
  });
});
